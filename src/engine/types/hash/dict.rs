//! The `hashtable` encoding of a hash: a chained table of power-of-two size, as Redis's `dict`.
//! We keep chaining (rather than hashbrown's open addressing) for HSCAN: an element's bucket is a
//! function of its hash and the table size alone, so Redis's reverse-binary cursor works
//! unchanged and returns every element present for the whole scan, across any resize between
//! calls. A node holds the field and the value in one allocation.
//!
//! Sizing follows Redis: 4 buckets at first, doubled when the element count reaches the bucket
//! count, shrunk to fit after a delete leaves it under 10% full. A resize moves the nodes, never
//! reallocates them.

use super::ttl::FieldTtls;
use crate::engine::hash_key;
use crate::engine::memory::alloc_size;

/// Elements gathered for one random draw, as Redis's `dictGetFairRandomKey`: a run of neighbouring
/// buckets is gathered and one of its elements chosen, so an element that shares its bucket is
/// not half as likely as one alone (the bias of choosing a bucket, then an element of its chain).
/// A small table is gathered whole, and its draw is exactly uniform.
const FAIR_SAMPLE: usize = 15;

const INITIAL_BUCKETS: usize = 4;
/// A table less full than this (in percent) is shrunk after a delete (Redis's `HASHTABLE_MIN_FILL`).
const MIN_FILL_PERCENT: usize = 10;

#[derive(Debug, Clone)]
struct Node {
    next: Option<Box<Node>>,
    /// The field's bytes followed by the value's.
    data: Box<[u8]>,
    /// The field's length in the low `LEN_BITS` bits (a slice longer than 2^48 bytes cannot be
    /// addressed), the top 16 bits of its `hash_key` above them: a probe compares those before
    /// the bytes, so the chain's other fields are not read (a cache miss each). Packed so that
    /// the node stays 32 bytes, one allocation of jemalloc's 32-byte class.
    meta: u64,
}

const LEN_BITS: u32 = 48;

fn meta(field_len: usize, hash: u64) -> u64 {
    field_len as u64 | (hash >> LEN_BITS << LEN_BITS)
}

fn same_tag(meta: u64, hash: u64) -> bool {
    meta >> LEN_BITS == hash >> LEN_BITS
}

impl Node {
    fn field_len(&self) -> usize {
        (self.meta & ((1 << LEN_BITS) - 1)) as usize
    }

    fn field(&self) -> &[u8] {
        self.data.get(..self.field_len()).unwrap_or(&[])
    }

    fn value(&self) -> &[u8] {
        self.data.get(self.field_len()..).unwrap_or(&[])
    }

    fn is(&self, field: &[u8], hash: u64) -> bool {
        same_tag(self.meta, hash) && self.field() == field
    }

    fn memory(&self) -> usize {
        alloc_size(std::mem::size_of::<Node>()) + alloc_size(self.data.len())
    }
}

fn join(field: &[u8], value: &[u8]) -> Box<[u8]> {
    let mut data = Vec::with_capacity(field.len() + value.len());
    data.extend_from_slice(field);
    data.extend_from_slice(value);
    data.into_boxed_slice()
}

#[derive(Debug, Clone)]
pub struct Dict {
    buckets: Box<[Option<Box<Node>>]>,
    len: usize,
    /// Bytes of the nodes and their data (the bucket array is counted from its length).
    node_bytes: usize,
    /// The fields with a TTL (Redis 7.4's hash field expiration), if any.
    pub ttls: Option<Box<FieldTtls>>,
}

impl Default for Dict {
    fn default() -> Self {
        Dict::with_buckets(INITIAL_BUCKETS)
    }
}

impl Dict {
    fn with_buckets(count: usize) -> Dict {
        Dict {
            buckets: (0..count).map(|_| None).collect(),
            len: 0,
            node_bytes: 0,
            ttls: None,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes held besides the `Dict` itself.
    pub fn memory(&self) -> usize {
        alloc_size(self.buckets.len() * std::mem::size_of::<Option<Box<Node>>>())
            + self.node_bytes
            + self.ttls.as_ref().map_or(0, |t| t.memory())
    }

    fn bucket_of(&self, hash: u64) -> usize {
        (hash as usize) & (self.buckets.len() - 1)
    }

    fn find(&self, field: &[u8]) -> Option<&Node> {
        let hash = hash_key(field);
        let mut node = self.buckets.get(self.bucket_of(hash))?.as_deref();
        while let Some(n) = node {
            if n.is(field, hash) {
                return Some(n);
            }
            node = n.next.as_deref();
        }
        None
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field).map(Node::value)
    }

    /// Sets `field` to `value`; true when the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        let hash = hash_key(field);
        let bucket = self.bucket_of(hash);
        let mut node = self.buckets.get_mut(bucket).and_then(|h| h.as_deref_mut());
        while let Some(n) = node {
            if n.is(field, hash) {
                // Counters (HINCRBY) mostly keep their length: overwrite without reallocating.
                if n.value().len() == value.len() {
                    if let Some(slot) = n.data.get_mut(field.len()..) {
                        slot.copy_from_slice(value);
                        return false;
                    }
                }
                self.node_bytes -= alloc_size(n.data.len());
                n.data = join(field, value);
                self.node_bytes += alloc_size(n.data.len());
                return false;
            }
            node = n.next.as_deref_mut();
        }
        if self.len >= self.buckets.len() {
            self.resize((self.len + 1).next_power_of_two());
        }
        let bucket = self.bucket_of(hash);
        let Some(head) = self.buckets.get_mut(bucket) else {
            return false;
        };
        let node = Box::new(Node {
            next: head.take(),
            data: join(field, value),
            meta: meta(field.len(), hash),
        });
        self.node_bytes += node.memory();
        *head = Some(node);
        self.len += 1;
        true
    }

    /// Removes `field`; true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let hash = hash_key(field);
        let bucket = self.bucket_of(hash);
        let Some(mut link) = self.buckets.get_mut(bucket) else {
            return false;
        };
        loop {
            match link {
                None => return false,
                Some(node) if node.is(field, hash) => {
                    let next = node.next.take();
                    self.node_bytes -= node.memory();
                    *link = next;
                    self.len -= 1;
                    break;
                }
                Some(node) => link = &mut node.next,
            }
        }
        let size = self.buckets.len();
        if size > INITIAL_BUCKETS && self.len * 100 / size < MIN_FILL_PERCENT {
            self.resize(self.len.max(INITIAL_BUCKETS).next_power_of_two());
        }
        true
    }

    fn resize(&mut self, count: usize) {
        let old = std::mem::replace(&mut self.buckets, (0..count).map(|_| None).collect());
        for mut chain in old.into_vec() {
            while let Some(mut node) = chain {
                chain = node.next.take();
                let bucket = self.bucket_of(hash_key(node.field()));
                if let Some(head) = self.buckets.get_mut(bucket) {
                    node.next = head.take();
                    *head = Some(node);
                }
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.buckets.iter().flat_map(|head| {
            std::iter::successors(head.as_deref(), |n| n.next.as_deref())
                .map(|n| (n.field(), n.value()))
        })
    }

    /// Visits one bucket named by `cursor` and returns the next cursor (0 when the scan is
    /// complete), as Redis's `dictScan`: the cursor is incremented from its high bits down, so
    /// the buckets already visited stay visited when the table doubles or halves in between.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let mask = (self.buckets.len() - 1) as u64;
        if let Some(head) = self.buckets.get((cursor & mask) as usize) {
            for node in std::iter::successors(head.as_deref(), |n| n.next.as_deref()) {
                f(node.field(), node.value());
            }
        }
        let unmasked = cursor | !mask;
        unmasked.reverse_bits().wrapping_add(1).reverse_bits()
    }

    /// One of up to `FAIR_SAMPLE` elements gathered from a random bucket on. The table is at
    /// least 10% full (see `remove`), so the walk is short.
    pub fn random(&self) -> Option<(&[u8], &[u8])> {
        if self.len == 0 {
            return None;
        }
        let buckets = self.buckets.len();
        let start = fastrand::usize(..buckets);
        let mut sample: [(&[u8], &[u8]); FAIR_SAMPLE] = [(&[], &[]); FAIR_SAMPLE];
        let mut taken = 0;
        'walk: for step in 0..buckets {
            let head = self.buckets[(start + step) % buckets].as_deref();
            for node in std::iter::successors(head, |n| n.next.as_deref()) {
                if taken == FAIR_SAMPLE {
                    break 'walk;
                }
                sample[taken] = (node.field(), node.value());
                taken += 1;
            }
        }
        Some(sample[fastrand::usize(..taken)])
    }

    /// What `memory()` should say, counted from scratch (tests).
    #[cfg(test)]
    pub fn recount(&self) -> usize {
        let nodes: usize = self
            .buckets
            .iter()
            .flat_map(|h| std::iter::successors(h.as_deref(), |n| n.next.as_deref()))
            .map(Node::memory)
            .sum();
        alloc_size(self.buckets.len() * std::mem::size_of::<Option<Box<Node>>>())
            + nodes
            + self.ttls.as_ref().map_or(0, |t| t.recount())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_hash_tag_costs_no_memory_and_keeps_the_length_whole() {
        assert_eq!(std::mem::size_of::<Node>(), 32);
        let longest = (1usize << LEN_BITS) - 1;
        let node = Node {
            next: None,
            data: Box::new([]),
            meta: meta(longest, u64::MAX),
        };
        assert_eq!(node.field_len(), longest);
        assert!(same_tag(node.meta, u64::MAX));
        assert!(!same_tag(node.meta, u64::MAX >> 1));
    }

    #[test]
    fn grows_shrinks_and_counts() {
        let mut dict = Dict::default();
        for i in 0..1000u32 {
            assert!(dict.insert(&i.to_le_bytes(), b"v"));
        }
        assert!(!dict.insert(&7u32.to_le_bytes(), b"longer value"));
        assert_eq!(dict.len(), 1000);
        assert_eq!(dict.get(&7u32.to_le_bytes()), Some(&b"longer value"[..]));
        assert_eq!(dict.memory(), dict.recount());
        for i in 0..995u32 {
            assert!(dict.remove(&i.to_le_bytes()));
        }
        assert!(!dict.remove(&1u32.to_le_bytes()));
        assert_eq!(dict.len(), 5);
        assert_eq!(dict.buckets.len(), 16);
        assert_eq!(dict.memory(), dict.recount());
    }

    #[test]
    fn scan_sees_every_element_across_resizes() {
        let mut dict = Dict::default();
        for i in 0..200u32 {
            dict.insert(&i.to_le_bytes(), b"");
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut steps = 0;
        loop {
            cursor = dict.scan(cursor, |f, _| {
                seen.insert(f.to_vec());
            });
            steps += 1;
            // Grow, then shrink, in the middle of the scan.
            if steps == 20 {
                for i in 1000..3000u32 {
                    dict.insert(&i.to_le_bytes(), b"");
                }
            }
            if steps == 200 {
                for i in 1000..3000u32 {
                    dict.remove(&i.to_le_bytes());
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..200u32 {
            assert!(seen.contains(i.to_le_bytes().as_slice()), "missed {i}");
        }
    }
}
