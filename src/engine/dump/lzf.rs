//! LZF compression as liblzf writes it (Redis's `lzf_c.c`: VERY_FAST, `HLOG` 16), the same bytes
//! as the `lzf` crate's `compress`, which allocates its 512 KiB hash table zeroed on every call:
//! for a small value most of the time went to faulting in and giving back those pages (a snapshot
//! of 20,000 hashes took 15 s). Here each thread keeps one table, and a stamp per slot stands for
//! the zeroing: a slot written by an earlier call reads as empty, so the output is unchanged.

use std::cell::RefCell;

const HLOG: usize = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);
const MAX_LIT: usize = 1 << 5;

struct Table {
    stamp: u32,
    /// (stamp of the call that wrote it, input offset).
    slots: Vec<(u32, u32)>,
}

impl Table {
    /// Starts a call: every slot now reads as 0, as in a freshly zeroed table.
    fn next_call(&mut self) {
        if self.slots.is_empty() {
            self.slots = vec![(0, 0); HSIZE];
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.slots.fill((0, 0));
            self.stamp = 1;
        }
    }

    fn get(&self, slot: usize) -> usize {
        let (stamp, offset) = self.slots[slot];
        if stamp == self.stamp {
            offset as usize
        } else {
            0
        }
    }

    fn set(&mut self, slot: usize, offset: usize) {
        self.slots[slot] = (self.stamp, offset as u32);
    }
}

thread_local! {
    static TABLE: RefCell<Table> = const { RefCell::new(Table { stamp: 0, slots: Vec::new() }) };
}

fn first(p: &[u8], off: usize) -> u32 {
    ((p[off] as u32) << 8) | p[off + 1] as u32
}

fn next(v: u32, p: &[u8], off: usize) -> u32 {
    (v << 8) | p[off + 2] as u32
}

fn idx(h: u32) -> usize {
    let h = h as u64;
    ((h.wrapping_shr(8).wrapping_sub(h * 5)) & (HSIZE - 1) as u64) as usize
}

/// `data` compressed, or `None` when that would not be shorter than `data` (as liblzf returns 0).
pub fn compress(data: &[u8]) -> Option<Vec<u8>> {
    // Offsets are kept in 32 bits; a longer value takes the crate's path.
    if u32::try_from(data.len()).is_err() {
        return ::lzf::compress(data).ok();
    }
    TABLE.with(|table| {
        let mut table = table.borrow_mut();
        table.next_call();
        compress_with(data, &mut table)
    })
}

fn compress_with(data: &[u8], htab: &mut Table) -> Option<Vec<u8>> {
    let in_len = data.len();
    if in_len < 2 {
        return None;
    }
    let out_cap = in_len;
    let mut out = vec![0u8; out_cap];
    let mut out_len: usize = 1; // a literal run starts
    let mut lit: usize = 0;
    let mut ip = 0usize;
    let mut hval = first(data, ip);
    while ip < in_len - 2 {
        hval = next(hval, data, ip);
        let slot = idx(hval);
        let rf = htab.get(slot);
        htab.set(slot, ip);
        let off = ip.wrapping_sub(rf).wrapping_sub(1);
        if off < MAX_OFF
            && ip + 4 < in_len
            && rf > 0
            && rf < in_len - 2
            && data[rf] == data[ip]
            && data[rf + 1] == data[ip + 1]
            && data[rf + 2] == data[ip + 2]
        {
            let mut len = 2;
            let maxlen = (in_len - ip - len).min(MAX_REF);
            // The literal run ends (and is undone when empty).
            out[out_len - lit - 1] = (lit as u8).wrapping_sub(1);
            if lit == 0 {
                out_len -= 1;
            }
            if out_len + 3 + 1 >= out_cap {
                return None;
            }
            len += 1;
            while len < maxlen && data[rf + len] == data[ip + len] {
                len += 1;
            }
            len -= 2; // octets - 1
            ip += 1;
            if len < 7 {
                out[out_len] = (off >> 8) as u8 + (len << 5) as u8;
                out_len += 1;
            } else {
                out[out_len] = (off >> 8) as u8 + (7 << 5);
                out[out_len + 1] = (len as u8).wrapping_sub(7);
                out_len += 2;
            }
            out[out_len] = off as u8;
            out_len += 2; // the back reference's last byte, and a new literal run
            lit = 0;
            ip += len - 1;
            if ip >= in_len {
                break;
            }
            hval = first(data, ip);
            hval = next(hval, data, ip);
            htab.set(idx(hval), ip);
            ip += 1;
            hval = next(hval, data, ip);
            htab.set(idx(hval), ip);
            ip += 1;
        } else {
            if out_len >= out_cap {
                return None;
            }
            lit += 1;
            out[out_len] = data[ip];
            out_len += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[out_len - lit - 1] = (lit as u8).wrapping_sub(1);
                lit = 0;
                out_len += 1;
            }
        }
    }
    if out_len + 3 > out_cap {
        return None;
    }
    while ip < in_len {
        lit += 1;
        out[out_len] = data[ip];
        out_len += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[out_len - lit - 1] = (lit as u8).wrapping_sub(1);
            lit = 0;
            out_len += 1;
        }
    }
    out[out_len - lit - 1] = (lit as u8).wrapping_sub(1);
    if lit == 0 {
        out_len -= 1;
    }
    out.truncate(out_len);
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    fn crate_compress(data: &[u8]) -> Option<Vec<u8>> {
        ::lzf::compress(data).ok()
    }

    #[test]
    fn edge_inputs_match_the_crate() {
        let mut inputs: Vec<Vec<u8>> = vec![
            vec![],
            vec![1],
            b"ab".to_vec(),
            b"aaa".to_vec(),
            vec![b'a'; 21],
            vec![b'a'; 300],
            vec![0; 70_000],
            b"abcabcabcabcabcabcabcabcabcabcabc".to_vec(),
        ];
        inputs.push((0..100_000u32).map(|i| (i % 251) as u8).collect());
        inputs.push((0..5000u32).map(|i| (i * 7919 % 256) as u8).collect());
        for input in &inputs {
            assert_eq!(super::compress(input), crate_compress(input), "{input:?}");
        }
        // Again, with the table full of the previous calls' offsets.
        for input in inputs.iter().rev() {
            assert_eq!(super::compress(input), crate_compress(input));
        }
    }

    #[test]
    fn stamp_wrap_clears_the_table() {
        let data = b"xyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyz";
        super::TABLE.with(|t| t.borrow_mut().stamp = u32::MAX - 1);
        for _ in 0..3 {
            assert_eq!(super::compress(data), crate_compress(data));
        }
        super::TABLE.with(|t| assert_eq!(t.borrow().stamp, 2));
    }

    proptest! {
        #[test]
        fn same_bytes_as_the_crate(
            calls in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..600),
                1..6,
            )
        ) {
            for data in &calls {
                let ours = super::compress(data);
                prop_assert_eq!(&ours, &crate_compress(data));
                if let Some(packed) = ours {
                    prop_assert_eq!(::lzf::decompress(&packed, data.len()).unwrap(), data.clone());
                }
            }
        }
    }
}
