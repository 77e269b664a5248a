//! The list value: a sequence of packed chunks (each a byte buffer of up to `CHUNK_BYTES` holding
//! its elements back to back, as Redis's quicklist of listpacks). An element costs its bytes plus
//! a length before and after it (1 byte each below 128 bytes), so a list of small elements takes
//! about what Redis's listpack takes, where a ring buffer of boxed strings took 32 bytes per
//! element for 12 bytes of payload (measured: 1M × 12-byte elements, 32.8 MB boxed against Redis's
//! 14.1 MB; 100k lists of 10 short elements, 500 bytes each boxed against Redis's 176).
//!
//! Costs: both ends push and pop in O(chunk) (a push or pop at the head moves the rest of the
//! first chunk, at most `CHUNK_BYTES`, as Redis's listpack does); an index walks chunk counts from
//! the nearer end, then one chunk. `memory()` is O(1): `chunk_bytes` is updated by every mutation
//! with the chunks' real capacities, which are kept at jemalloc size classes.
//!
//! Encoding name: `quicklist` for every list, as Redis 7.0 reports (7.2 added a single-`listpack`
//! form for small lists). `list-max-listpack-size` sizes the quicklist nodes DUMP writes.

mod chunk;

use std::collections::VecDeque;

use crate::engine::memory::alloc_size;
use chunk::{decode_at, decode_before, packed_len, Chunk, CHUNK_BYTES};

/// Byte budgets of negative `list-max-listpack-size` values (-1 … -5), as Redis's
/// `optimization_level`.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// With a count limit, a listpack still never grows past this (Redis's `SIZE_SAFETY_LIMIT`).
const SIZE_SAFETY_LIMIT: usize = 8192;
#[derive(Debug, Default)]
pub struct ListValue {
    chunks: VecDeque<Chunk>,
    len: usize,
    /// Allocator bytes of the chunk buffers (the chunk array's own slots are read from its
    /// capacity).
    chunk_bytes: usize,
}

impl Clone for ListValue {
    /// A copy whose buffers are sized to their contents (COPY), with its byte count recounted.
    fn clone(&self) -> Self {
        let chunks: VecDeque<Chunk> = self
            .chunks
            .iter()
            .map(|chunk| {
                let mut buf = Vec::with_capacity(alloc_size(chunk.buf.len()));
                buf.extend_from_slice(&chunk.buf);
                Chunk {
                    buf,
                    count: chunk.count,
                }
            })
            .collect();
        let chunk_bytes = chunks.iter().map(|c| alloc_size(c.buf.capacity())).sum();
        ListValue {
            chunks,
            len: self.len,
            chunk_bytes,
        }
    }
}

/// A `list-max-listpack-size` value's limits: (bytes, entries).
fn limits(fill: i64) -> (usize, usize) {
    if fill >= 0 {
        (usize::MAX, (fill as usize).max(1))
    } else {
        let level = ((-(fill + 1)) as usize).min(SIZE_LEVELS.len() - 1);
        (SIZE_LEVELS[level], usize::MAX)
    }
}

/// Whether a listpack of `bytes` holding `count` elements is past what `fill`
/// (`list-max-listpack-size`) allows one quicklist node.
pub fn exceeds_node(fill: i64, bytes: usize, count: usize) -> bool {
    let (size_limit, count_limit) = limits(fill);
    if size_limit != usize::MAX {
        bytes > size_limit
    } else {
        bytes > SIZE_SAFETY_LIMIT || count > count_limit
    }
}

const CHUNK_SLOT: usize = std::mem::size_of::<Chunk>();

impl ListValue {
    pub fn new() -> Self {
        ListValue::default()
    }

    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held besides the struct itself; kept as a running count so this is O(1).
    pub fn memory(&self) -> usize {
        alloc_size(self.chunks.capacity() * CHUNK_SLOT) + self.chunk_bytes
    }

    /// The memory a recount finds (tests check the running count against it).
    pub fn recount_memory(&self) -> usize {
        alloc_size(self.chunks.capacity() * CHUNK_SLOT)
            + self
                .chunks
                .iter()
                .map(|c| alloc_size(c.buf.capacity()))
                .sum::<usize>()
    }

    /// Runs `f` on chunk `index`, accounting for any change of its buffer's capacity.
    fn edit<R>(&mut self, index: usize, f: impl FnOnce(&mut Chunk) -> R) -> Option<R> {
        let chunk = self.chunks.get_mut(index)?;
        let before = alloc_size(chunk.buf.capacity());
        let result = f(chunk);
        let after = alloc_size(chunk.buf.capacity());
        self.chunk_bytes = self.chunk_bytes + after - before;
        Some(result)
    }

    /// Small lists keep a one-slot chunk array; larger ones grow it as usual (amortized).
    fn reserve_chunk_slot(&mut self) {
        if self.chunks.len() == self.chunks.capacity() && self.chunks.len() < 4 {
            self.chunks.reserve_exact(1);
        }
    }

    fn remove_chunk(&mut self, index: usize) {
        if let Some(chunk) = self.chunks.remove(index) {
            self.chunk_bytes -= alloc_size(chunk.buf.capacity());
        }
        let capacity = self.chunks.capacity();
        if capacity > 8 && self.chunks.len() < capacity / 4 {
            self.chunks.shrink_to(self.chunks.len() * 2);
        }
        if self.chunks.is_empty() {
            self.chunks = VecDeque::new();
        }
    }

    /// Splits chunk `index` when an insertion made it too large.
    fn split_if_large(&mut self, index: usize) {
        let large = self
            .chunks
            .get(index)
            .is_some_and(|c| c.buf.len() > CHUNK_BYTES && c.count > 1);
        if !large {
            return;
        }
        if let Some(tail) = self.edit(index, Chunk::split_off) {
            self.chunk_bytes += alloc_size(tail.buf.capacity());
            self.reserve_chunk_slot();
            self.chunks.insert(index + 1, tail);
        }
    }

    /// (chunk, index within it) of element `index < len`, walking from the nearer end.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        if index * 2 <= self.len {
            let mut rest = index;
            for (ci, chunk) in self.chunks.iter().enumerate() {
                let count = chunk.count as usize;
                if rest < count {
                    return Some((ci, rest));
                }
                rest -= count;
            }
        } else {
            let mut from_end = self.len - index;
            for (ci, chunk) in self.chunks.iter().enumerate().rev() {
                let count = chunk.count as usize;
                if from_end <= count {
                    return Some((ci, count - from_end));
                }
                from_end -= count;
            }
        }
        None
    }

    pub fn push_front(&mut self, element: &[u8]) {
        let full = self
            .chunks
            .front()
            .is_none_or(|c| c.count > 0 && c.buf.len() + packed_len(element) > CHUNK_BYTES);
        if full {
            self.reserve_chunk_slot();
            self.chunks.push_front(Chunk::default());
        }
        self.edit(0, |c| c.insert_at(0, element));
        self.len += 1;
    }

    pub fn push_back(&mut self, element: &[u8]) {
        let full = self
            .chunks
            .back()
            .is_none_or(|c| c.count > 0 && c.buf.len() + packed_len(element) > CHUNK_BYTES);
        if full {
            self.reserve_chunk_slot();
            self.chunks.push_back(Chunk::default());
        }
        let last = self.chunks.len() - 1;
        self.edit(last, |c| {
            let end = c.buf.len();
            c.insert_at(end, element)
        });
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Box<[u8]>> {
        self.remove(0)
    }

    pub fn pop_back(&mut self) -> Option<Box<[u8]>> {
        self.remove(self.len.checked_sub(1)?)
    }

    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let (ci, within) = self.locate(index)?;
        Some(self.chunks.get(ci)?.get(within))
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            chunks: &self.chunks,
            front_chunk: 0,
            front_at: 0,
            back_chunk: self.chunks.len().saturating_sub(1),
            back_at: self.chunks.back().map_or(0, |c| c.buf.len()),
            remaining: self.len,
        }
    }

    /// Elements `start..=end` (already clamped by the caller).
    pub fn range(&self, start: usize, end: usize) -> impl ExactSizeIterator<Item = &[u8]> {
        let take = (end + 1).saturating_sub(start);
        let mut iter = self.iter();
        if let Some((ci, within)) = self.locate(start) {
            iter.front_chunk = ci;
            iter.front_at = self.chunks.get(ci).map_or(0, |c| c.offset_of(within));
            iter.remaining = self.len - start;
        } else {
            iter.remaining = 0;
        }
        iter.take(take)
    }

    /// Replaces the element at `index`; false when out of range.
    pub fn set(&mut self, index: usize, element: &[u8]) -> bool {
        let Some((ci, within)) = self.locate(index) else {
            return false;
        };
        self.edit(ci, |c| {
            let at = c.offset_of(within);
            c.remove_at(at);
            c.insert_at(at, element);
        });
        self.split_if_large(ci);
        true
    }

    /// Inserts at `index` (0..=len).
    pub fn insert(&mut self, index: usize, element: &[u8]) {
        if index == 0 {
            return self.push_front(element);
        }
        if index >= self.len {
            return self.push_back(element);
        }
        let Some((ci, within)) = self.locate(index) else {
            return;
        };
        self.edit(ci, |c| {
            let at = c.offset_of(within);
            c.insert_at(at, element)
        });
        self.len += 1;
        self.split_if_large(ci);
    }

    /// Removes the element at `index`.
    pub fn remove(&mut self, index: usize) -> Option<Box<[u8]>> {
        let (ci, within) = self.locate(index)?;
        let element = self.edit(ci, |c| {
            let at = c.offset_of(within);
            c.remove_at(at)
        })?;
        if self.chunks.get(ci).is_some_and(|c| c.count == 0) {
            self.remove_chunk(ci);
        }
        self.len -= 1;
        Some(element)
    }

    /// Keeps `start..=end` (or nothing when `start > end`), dropping the rest. O(removed).
    pub fn trim(&mut self, start: usize, end: usize) {
        if start > end || start >= self.len {
            *self = ListValue::default();
            return;
        }
        let end = end.min(self.len - 1);
        self.drop_back(self.len - 1 - end);
        self.drop_front(start);
    }

    fn drop_front(&mut self, mut n: usize) {
        while n > 0 {
            let Some(first) = self.chunks.front() else {
                return;
            };
            if (first.count as usize) <= n {
                n -= first.count as usize;
                self.len -= first.count as usize;
                self.remove_chunk(0);
            } else {
                for _ in 0..n {
                    self.pop_front();
                }
                return;
            }
        }
    }

    fn drop_back(&mut self, mut n: usize) {
        while n > 0 {
            let Some(last) = self.chunks.back() else {
                return;
            };
            if (last.count as usize) <= n {
                n -= last.count as usize;
                self.len -= last.count as usize;
                self.remove_chunk(self.chunks.len() - 1);
            } else {
                for _ in 0..n {
                    self.pop_back();
                }
                return;
            }
        }
    }

    /// Removes up to `limit` elements equal to `element` (0 = all), from the head when
    /// `from_head`, else from the tail. Returns how many went. O(N): one pass that marks, and a
    /// rebuild of the list from the survivors when any went.
    pub fn remove_matching(&mut self, element: &[u8], limit: usize, from_head: bool) -> usize {
        let mut drop = vec![false; self.len];
        let mut removed = 0;
        let mut mark = |index: usize, candidate: &[u8]| {
            if limit != 0 && removed == limit {
                return false;
            }
            if candidate == element {
                if let Some(flag) = drop.get_mut(index) {
                    *flag = true;
                }
                removed += 1;
            }
            true
        };
        if from_head {
            for (index, candidate) in self.iter().enumerate() {
                if !mark(index, candidate) {
                    break;
                }
            }
        } else {
            let last = self.len.saturating_sub(1);
            for (back, candidate) in self.iter().rev().enumerate() {
                if !mark(last - back, candidate) {
                    break;
                }
            }
        }
        if removed == 0 {
            return 0;
        }
        let mut kept = ListValue::default();
        for (candidate, dropped) in self.iter().zip(drop) {
            if !dropped {
                kept.push_back(candidate);
            }
        }
        *self = kept;
        removed
    }
}

/// The elements of a list, from either end.
pub struct Iter<'a> {
    chunks: &'a VecDeque<Chunk>,
    front_chunk: usize,
    front_at: usize,
    back_chunk: usize,
    /// Offset just past the next element from the back, in `back_chunk`.
    back_at: usize,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            let chunk = self.chunks.get(self.front_chunk)?;
            if self.front_at < chunk.buf.len() {
                let (range, next) = decode_at(&chunk.buf, self.front_at);
                self.front_at = next;
                self.remaining -= 1;
                return chunk.buf.get(range);
            }
            self.front_chunk += 1;
            self.front_at = 0;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            let chunk = self.chunks.get(self.back_chunk)?;
            if self.back_at > 0 {
                let (range, start) = decode_before(&chunk.buf, self.back_at);
                self.back_at = start;
                self.remaining -= 1;
                return chunk.buf.get(range);
            }
            self.back_chunk = self.back_chunk.checked_sub(1)?;
            self.back_at = self.chunks.get(self.back_chunk)?.buf.len();
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    mod model {
        use super::super::*;
        use proptest::prelude::*;
        use std::collections::VecDeque;

        #[derive(Debug, Clone)]
        enum Op {
            PushFront(Vec<u8>),
            PushBack(Vec<u8>),
            PopFront,
            PopBack,
            Set(usize, Vec<u8>),
            Insert(usize, Vec<u8>),
            Remove(usize),
            Trim(usize, usize),
            RemoveMatching(Vec<u8>, usize, bool),
            Read(usize, usize),
        }

        fn element() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                prop::collection::vec(b'a'..=b'c', 0..3),
                (-5000i64..5000).prop_map(|n| n.to_string().into_bytes()),
                prop::collection::vec(any::<u8>(), 0..300),
                prop::collection::vec(any::<u8>(), 3000..5000),
            ]
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                element().prop_map(Op::PushFront),
                element().prop_map(Op::PushBack),
                Just(Op::PopFront),
                Just(Op::PopBack),
                (0..40usize, element()).prop_map(|(i, e)| Op::Set(i, e)),
                (0..40usize, element()).prop_map(|(i, e)| Op::Insert(i, e)),
                (0..40usize).prop_map(Op::Remove),
                (0..40usize, 0..40usize).prop_map(|(a, b)| Op::Trim(a, b)),
                (element(), 0..3usize, any::<bool>())
                    .prop_map(|(e, n, head)| Op::RemoveMatching(e, n, head)),
                (0..60usize, 0..60usize).prop_map(|(a, b)| Op::Read(a, b)),
            ]
        }

        proptest! {
            #[test]
            fn behaves_like_a_vecdeque(ops in prop::collection::vec(op(), 0..300)) {
                let mut list = ListValue::new();
                let mut model: VecDeque<Vec<u8>> = VecDeque::new();
                for op in ops {
                    match op {
                        Op::PushFront(e) => {
                            list.push_front(&e);
                            model.push_front(e);
                        }
                        Op::PushBack(e) => {
                            list.push_back(&e);
                            model.push_back(e);
                        }
                        Op::PopFront => {
                            prop_assert_eq!(list.pop_front().map(|e| e.to_vec()), model.pop_front());
                        }
                        Op::PopBack => {
                            prop_assert_eq!(list.pop_back().map(|e| e.to_vec()), model.pop_back());
                        }
                        Op::Set(i, e) => {
                            let in_range = i < model.len();
                            prop_assert_eq!(list.set(i, &e), in_range);
                            if in_range {
                                model[i] = e;
                            }
                        }
                        Op::Insert(i, e) => {
                            let i = i.min(model.len());
                            list.insert(i, &e);
                            model.insert(i, e);
                        }
                        Op::Remove(i) => {
                            prop_assert_eq!(list.remove(i).map(|e| e.to_vec()), model.remove(i));
                        }
                        Op::Trim(a, b) => {
                            list.trim(a, b);
                            if a > b || a >= model.len() {
                                model.clear();
                            } else {
                                model.truncate(b + 1);
                                model.drain(..a);
                            }
                        }
                        Op::RemoveMatching(e, limit, from_head) => {
                            let mut removed = 0;
                            let mut keep: Vec<bool> = vec![true; model.len()];
                            let order: Vec<usize> = if from_head {
                                (0..model.len()).collect()
                            } else {
                                (0..model.len()).rev().collect()
                            };
                            for i in order {
                                if limit != 0 && removed == limit {
                                    break;
                                }
                                if model[i] == e {
                                    keep[i] = false;
                                    removed += 1;
                                }
                            }
                            let mut flags = keep.into_iter();
                            model.retain(|_| flags.next().unwrap_or(true));
                            prop_assert_eq!(list.remove_matching(&e, limit, from_head), removed);
                        }
                        Op::Read(a, b) => {
                            prop_assert_eq!(list.get(a), model.get(a).map(|e| &e[..]));
                            if a <= b && a < model.len() {
                                let b = b.min(model.len() - 1);
                                let got: Vec<&[u8]> = list.range(a, b).collect();
                                prop_assert_eq!(list.range(a, b).len(), b - a + 1);
                                let want: Vec<&[u8]> = model.range(a..=b).map(|e| &e[..]).collect();
                                prop_assert_eq!(got, want);
                            }
                            prop_assert!(list.iter().rev().eq(model.iter().rev().map(|e| &e[..])));
                            let copy = list.clone();
                            prop_assert_eq!(copy.memory(), copy.recount_memory());
                            prop_assert!(copy.iter().eq(list.iter()));
                        }
                    }
                    prop_assert_eq!(list.len(), model.len());
                    prop_assert!(list.iter().eq(model.iter().map(|e| &e[..])));
                    prop_assert_eq!(list.memory(), list.recount_memory());
                }
            }
        }
    }
}
