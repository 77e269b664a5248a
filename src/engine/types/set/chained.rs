//! The `hashtable` encoding: a chained hash table with a power-of-two bucket array, as Redis's
//! dict. Chaining is what makes SSCAN's guarantee possible: a member always sits in the bucket
//! its hash's low bits name, so Redis's reverse-binary cursor returns every member present for
//! the whole scan, across any number of resizes between calls, and the scan always ends. An
//! open-addressing table (hashbrown) moves members on rehash and cannot promise both.
//!
//! The table grows at one member per bucket and shrinks below a tenth, as Redis's sets do.
//! Its byte count (bucket array plus one node and one member buffer per member) is kept as the
//! members come and go, so `memory()` is O(1).

use crate::engine::hash_key;
use crate::engine::memory::alloc_size;

#[derive(Debug, Clone)]
struct Node {
    member: Box<[u8]>,
    next: Option<Box<Node>>,
    /// The member's `hash_key`: a probe compares it before the bytes, so the other members of
    /// the chain are not read (a cache miss each), and a resize moves nodes without reading any
    /// member. Free in memory: the node without it (24 bytes) takes a 32-byte allocation anyway.
    hash: u64,
}

/// Below this many buckets a table never shrinks.
const MIN_BUCKETS: usize = 4;
/// A table shrinks when fewer than this percentage of its buckets' worth of members remain.
const MIN_FILL_PERCENT: usize = 10;
/// Members gathered for one random draw, as Redis's `dictGetFairRandomKey`: a run of neighbouring
/// buckets is gathered and one of its members chosen, so a member that shares its bucket is not
/// half as likely as one alone (the bias of choosing a bucket, then a member of its chain). A
/// small set is gathered whole, and its draw is exactly uniform.
const FAIR_SAMPLE: usize = 15;

#[derive(Debug, Clone, Default)]
pub struct ChainedTable {
    buckets: Vec<Option<Box<Node>>>,
    len: usize,
    /// Bytes of the nodes and member buffers.
    node_bytes: usize,
}

fn node_cost(member_len: usize) -> usize {
    alloc_size(std::mem::size_of::<Node>()) + alloc_size(member_len)
}

impl ChainedTable {
    pub fn with_capacity(capacity: usize) -> Self {
        let mut table = ChainedTable::default();
        if capacity > 0 {
            table.resize(capacity.next_power_of_two().max(MIN_BUCKETS));
        }
        table
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn memory(&self) -> usize {
        alloc_size(self.buckets.capacity() * std::mem::size_of::<Option<Box<Node>>>())
            + self.node_bytes
    }

    /// `memory()` recounted from the nodes (for tests of the running count).
    pub fn recount_memory(&self) -> usize {
        alloc_size(self.buckets.capacity() * std::mem::size_of::<Option<Box<Node>>>())
            + self.iter().map(|m| node_cost(m.len())).sum::<usize>()
    }

    fn index(&self, hash: u64) -> usize {
        hash as usize & (self.buckets.len() - 1)
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.contains_hashed(member, hash_key(member))
    }

    fn contains_hashed(&self, member: &[u8], hash: u64) -> bool {
        if self.buckets.is_empty() {
            return false;
        }
        let mut node = self.buckets[self.index(hash)].as_deref();
        while let Some(current) = node {
            if current.hash == hash && &current.member[..] == member {
                return true;
            }
            node = current.next.as_deref();
        }
        false
    }

    /// Adds `member`; false when it was already there.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        let hash = hash_key(member);
        if self.contains_hashed(member, hash) {
            return false;
        }
        if self.len >= self.buckets.len() {
            self.resize((self.buckets.len() * 2).max(MIN_BUCKETS));
        }
        let index = self.index(hash);
        let next = self.buckets[index].take();
        self.buckets[index] = Some(Box::new(Node {
            member: member.into(),
            next,
            hash,
        }));
        self.len += 1;
        self.node_bytes += node_cost(member.len());
        true
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        if self.buckets.is_empty() {
            return false;
        }
        let hash = hash_key(member);
        let index = self.index(hash);
        let mut link = &mut self.buckets[index];
        loop {
            match link.as_deref() {
                None => return false,
                Some(node) if node.hash == hash && &node.member[..] == member => break,
                Some(_) => {}
            }
            link = match link {
                Some(node) => &mut node.next,
                None => return false,
            };
        }
        let Some(mut removed) = link.take() else {
            return false;
        };
        *link = removed.next.take();
        self.node_bytes -= node_cost(removed.member.len());
        self.len -= 1;
        let buckets = self.buckets.len();
        if buckets > MIN_BUCKETS && self.len * 100 < buckets * MIN_FILL_PERCENT {
            self.resize(self.len.next_power_of_two().max(MIN_BUCKETS));
        }
        true
    }

    /// Moves every node into a new bucket array of `size` (a power of two) buckets.
    fn resize(&mut self, size: usize) {
        let old = std::mem::take(&mut self.buckets);
        self.buckets = (0..size).map(|_| None).collect();
        for mut chain in old {
            while let Some(mut node) = chain {
                chain = node.next.take();
                let index = node.hash as usize & (size - 1);
                node.next = self.buckets[index].take();
                self.buckets[index] = Some(node);
            }
        }
    }

    fn chain(&self, index: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let mut node = self.buckets.get(index).and_then(|b| b.as_deref());
        std::iter::from_fn(move || {
            let current = node?;
            node = current.next.as_deref();
            Some(&current.member[..])
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.buckets.len()).flat_map(move |index| self.chain(index))
    }

    /// A randomly chosen member, one of up to `FAIR_SAMPLE` gathered from a random bucket on.
    pub fn random(&self) -> Option<&[u8]> {
        if self.is_empty() {
            return None;
        }
        let buckets = self.buckets.len();
        let start = fastrand::usize(..buckets);
        let mut sample: [&[u8]; FAIR_SAMPLE] = [&[]; FAIR_SAMPLE];
        let mut taken = 0;
        'walk: for step in 0..buckets {
            for member in self.chain((start + step) % buckets) {
                if taken == FAIR_SAMPLE {
                    break 'walk;
                }
                sample[taken] = member;
                taken += 1;
            }
        }
        Some(sample[fastrand::usize(..taken)])
    }

    /// One SSCAN step from `cursor` with Redis's reverse-binary cursor: visits buckets until
    /// `count` members were seen or `count * 10` buckets visited. Returns the next cursor, 0 at
    /// the end.
    pub fn scan<'s>(&'s self, cursor: u64, count: usize, mut f: impl FnMut(&'s [u8])) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        let max_visits = count.saturating_mul(10);
        let (mut cursor, mut seen, mut visited) = (cursor, 0, 0);
        loop {
            for member in self.chain((cursor & mask) as usize) {
                f(member);
                seen += 1;
            }
            visited += 1;
            // Increment the cursor's bits above the mask's, from the high end down.
            cursor |= !mask;
            cursor = cursor.reverse_bits().wrapping_add(1).reverse_bits();
            if cursor == 0 || seen >= count || visited >= max_visits {
                return cursor;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_hash_costs_no_memory() {
        assert_eq!(alloc_size(std::mem::size_of::<Node>()), 32);
        assert_eq!(node_cost(5), 32 + 8);
    }

    #[test]
    fn grows_shrinks_and_counts() {
        let mut table = ChainedTable::default();
        for n in 0..1000 {
            assert!(table.insert(format!("m{n}").as_bytes()));
            assert_eq!(table.memory(), table.recount_memory());
        }
        assert!(!table.insert(b"m5"));
        assert_eq!(table.buckets.len(), 1024);
        for n in 0..995 {
            assert!(table.remove(format!("m{n}").as_bytes()));
            assert_eq!(table.memory(), table.recount_memory());
        }
        assert!(!table.remove(b"m0"));
        assert_eq!(table.len(), 5);
        assert!(table.buckets.len() <= 64);
        assert!(table.contains(b"m999"));
        let copy = table.clone();
        assert_eq!(copy.memory(), copy.recount_memory());
    }

    #[test]
    fn scan_survives_resizes_between_steps() {
        let mut table = ChainedTable::default();
        for n in 0..500 {
            table.insert(format!("m{n}").as_bytes());
        }
        let mut seen = std::collections::HashSet::new();
        let (mut cursor, mut round) = (0, 0);
        loop {
            cursor = table.scan(cursor, 5, |m| {
                seen.insert(m.to_vec());
            });
            round += 1;
            // Grow a lot, then shrink back: the bucket count changes under the cursor.
            for k in 0..if round % 2 == 0 { 2000 } else { 20 } {
                table.insert(format!("new{round}-{k}").as_bytes());
            }
            for k in 0..2000 {
                table.remove(format!("new{round}-{k}").as_bytes());
            }
            if cursor == 0 {
                break;
            }
            assert!(round < 100_000);
        }
        for n in 0..500 {
            assert!(seen.contains(format!("m{n}").as_bytes()), "m{n} missed");
        }
    }
}
