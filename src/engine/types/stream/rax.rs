//! How many nodes Redis's radix tree (`rax.c`) has for a set of stream node keys, for XINFO
//! STREAM's `radix-tree-nodes`. For keys of one length (16 bytes, no key a prefix of another) the
//! tree Redis keeps — after insertions and after deletions, which re-compress what they leave — is
//! the compressed trie: a branching node where keys diverge, one compressed node for each run of
//! bytes they share below it, a leaf node after each key, and the root (empty when there is no key).
//! Counted from the sorted keys in O(keys × 16).

pub fn node_count(keys: &[[u8; 16]]) -> usize {
    if keys.is_empty() {
        return 1;
    }
    count(keys, 0)
}

fn count(keys: &[[u8; 16]], depth: usize) -> usize {
    if depth == 16 {
        return 1;
    }
    if keys.len() == 1 {
        return 2;
    }
    let (first, last) = (&keys[0], &keys[keys.len() - 1]);
    let shared = (depth..16).take_while(|&i| first[i] == last[i]).count();
    if shared > 0 {
        return 1 + count(keys, depth + shared);
    }
    let mut total = 1;
    let mut start = 0;
    while start < keys.len() {
        let byte = keys[start][depth];
        let end = start + keys[start..].partition_point(|k| k[depth] == byte);
        total += count(&keys[start..end], depth + 1);
        start = end;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &[u8]) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[16 - text.len()..].copy_from_slice(text);
        k
    }

    #[test]
    fn counts_the_compressed_trie() {
        assert_eq!(node_count(&[]), 1);
        assert_eq!(node_count(&[key(b"a")]), 2);
        // Shared prefix (compressed), a branch, two leaves.
        assert_eq!(node_count(&[key(b"ab"), key(b"ac")]), 4);
        // A branch at the last byte: compressed, branch, three leaves.
        assert_eq!(node_count(&[key(b"a"), key(b"b"), key(b"c")]), 5);
    }
}
