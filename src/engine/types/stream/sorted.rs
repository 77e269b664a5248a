//! A sorted map for the stream's ordered structures (its nodes by first ID, a group's pending
//! entries, a consumer's, consumers and groups by name), standing where Redis has a radix tree.
//!
//! Items are kept in order in chunks of at most `CHUNK_MAX`: a two-level B-tree without interior
//! nodes. A key is found by a binary search over the chunks' last keys, then inside one chunk
//! (O(log n)); an insert or removal moves at most one chunk's items. Appends at the end (new stream
//! nodes, new pending entries) fill chunks completely; inserts elsewhere split a full chunk in two.
//! Every allocation is a `Vec` whose capacity is known, so `heap()` — a running count — is exact
//! to the allocator's size classes, which a `BTreeMap` (opaque node allocations) could not give.

use std::borrow::Borrow;

use crate::engine::memory::alloc_size;

const CHUNK_MAX: usize = 64;

#[derive(Debug)]
pub struct SortedMap<K, V> {
    chunks: Vec<Vec<(K, V)>>,
    len: usize,
    /// Allocator bytes of `chunks` and of every chunk.
    heap: usize,
}

/// A position: chunk and index in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    chunk: usize,
    item: usize,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap {
            chunks: Vec::new(),
            len: 0,
            heap: 0,
        }
    }
}

fn chunk_bytes<T>(chunk: &Vec<T>) -> usize {
    alloc_size(chunk.capacity() * std::mem::size_of::<T>())
}

impl<K: Ord, V> SortedMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes allocated for the items and the chunk list (not what items own themselves).
    pub fn heap(&self) -> usize {
        self.heap
    }

    fn outer_bytes(&self) -> usize {
        alloc_size(self.chunks.capacity() * std::mem::size_of::<Vec<(K, V)>>())
    }

    /// The chunk that holds `key` or would: the first whose last key is not below it (the last
    /// chunk when every key is below).
    fn chunk_for<Q: Ord + ?Sized>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
    {
        let at = self
            .chunks
            .partition_point(|c| c.last().is_some_and(|(k, _)| k.borrow() < key));
        at.min(self.chunks.len().saturating_sub(1))
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<Pos, Pos>
    where
        K: Borrow<Q>,
    {
        if self.chunks.is_empty() {
            return Err(Pos { chunk: 0, item: 0 });
        }
        let chunk = self.chunk_for(key);
        match self.chunks[chunk].binary_search_by(|(k, _)| k.borrow().cmp(key)) {
            Ok(item) => Ok(Pos { chunk, item }),
            Err(item) => Err(Pos { chunk, item }),
        }
    }

    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let pos = self.find(key).ok()?;
        Some(&self.chunks[pos.chunk][pos.item].1)
    }

    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let pos = self.find(key).ok()?;
        Some(&mut self.chunks[pos.chunk][pos.item].1)
    }

    pub fn contains<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let pos = match self.find(&key) {
            Ok(pos) => {
                return Some(std::mem::replace(
                    &mut self.chunks[pos.chunk][pos.item].1,
                    value,
                ))
            }
            Err(pos) => pos,
        };
        let outer_before = self.outer_bytes();
        if self.chunks.is_empty() {
            self.chunks.push(Vec::new());
        }
        let Pos { mut chunk, item } = pos;
        let last_chunk = chunk + 1 == self.chunks.len();
        if self.chunks[chunk].len() >= CHUNK_MAX {
            if last_chunk && item == self.chunks[chunk].len() {
                // An append: a new chunk, leaving this one full.
                self.chunks.push(Vec::new());
                chunk += 1;
                let before = chunk_bytes(&self.chunks[chunk]);
                self.chunks[chunk].push((key, value));
                self.heap = self.heap + chunk_bytes(&self.chunks[chunk]) - before;
            } else {
                let before = chunk_bytes(&self.chunks[chunk]);
                let tail = self.chunks[chunk].split_off(CHUNK_MAX / 2);
                self.chunks[chunk].shrink_to(CHUNK_MAX);
                self.heap = self.heap + chunk_bytes(&self.chunks[chunk]) - before;
                self.heap += chunk_bytes(&tail);
                self.chunks.insert(chunk + 1, tail);
                let (target, index) = if item > CHUNK_MAX / 2 {
                    (chunk + 1, item - CHUNK_MAX / 2)
                } else {
                    (chunk, item)
                };
                let before = chunk_bytes(&self.chunks[target]);
                self.chunks[target].insert(index, (key, value));
                self.heap = self.heap + chunk_bytes(&self.chunks[target]) - before;
            }
        } else {
            let before = chunk_bytes(&self.chunks[chunk]);
            self.chunks[chunk].insert(item, (key, value));
            self.heap = self.heap + chunk_bytes(&self.chunks[chunk]) - before;
        }
        self.heap = self.heap + self.outer_bytes() - outer_before;
        self.len += 1;
        None
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let pos = self.find(key).ok()?;
        Some(self.remove_at(pos).1)
    }

    /// Removes the item at `pos` (a position this map gave).
    pub fn remove_at(&mut self, pos: Pos) -> (K, V) {
        let outer_before = self.outer_bytes();
        let chunk = &mut self.chunks[pos.chunk];
        let before = chunk_bytes(chunk);
        let removed = chunk.remove(pos.item);
        if chunk.is_empty() {
            self.heap -= before;
            self.chunks.remove(pos.chunk);
            if self.chunks.len() * 4 < self.chunks.capacity() {
                self.chunks.shrink_to(self.chunks.len() * 2);
            }
        } else {
            if chunk.len() * 4 < chunk.capacity() {
                chunk.shrink_to(chunk.len() * 2);
            }
            self.heap = self.heap + chunk_bytes(chunk) - before;
        }
        self.heap = self.heap + self.outer_bytes() - outer_before;
        self.len -= 1;
        removed
    }

    pub fn first_pos(&self) -> Option<Pos> {
        (!self.is_empty()).then_some(Pos { chunk: 0, item: 0 })
    }

    pub fn last_pos(&self) -> Option<Pos> {
        let chunk = self.chunks.len().checked_sub(1)?;
        let item = self.chunks[chunk].len().checked_sub(1)?;
        Some(Pos { chunk, item })
    }

    /// The first position whose key is at least `key`.
    pub fn seek_ge<Q: Ord + ?Sized>(&self, key: &Q) -> Option<Pos>
    where
        K: Borrow<Q>,
    {
        match self.find(key) {
            Ok(pos) => Some(pos),
            Err(pos) if self.chunks.get(pos.chunk)?.len() > pos.item => Some(pos),
            Err(pos) => self
                .next(Pos {
                    chunk: pos.chunk,
                    item: pos.item.saturating_sub(1),
                })
                .filter(|_| pos.item > 0),
        }
    }

    /// The last position whose key is at most `key`.
    pub fn seek_le<Q: Ord + ?Sized>(&self, key: &Q) -> Option<Pos>
    where
        K: Borrow<Q>,
    {
        match self.find(key) {
            Ok(pos) => Some(pos),
            Err(pos) if pos.item > 0 => Some(Pos {
                chunk: pos.chunk,
                item: pos.item - 1,
            }),
            Err(pos) => self.prev(pos),
        }
    }

    pub fn next(&self, pos: Pos) -> Option<Pos> {
        if pos.item + 1 < self.chunks.get(pos.chunk)?.len() {
            return Some(Pos {
                chunk: pos.chunk,
                item: pos.item + 1,
            });
        }
        (pos.chunk + 1 < self.chunks.len()).then_some(Pos {
            chunk: pos.chunk + 1,
            item: 0,
        })
    }

    pub fn prev(&self, pos: Pos) -> Option<Pos> {
        if pos.item > 0 {
            return Some(Pos {
                chunk: pos.chunk,
                item: pos.item - 1,
            });
        }
        let chunk = pos.chunk.checked_sub(1)?;
        Some(Pos {
            chunk,
            item: self.chunks[chunk].len() - 1,
        })
    }

    pub fn at(&self, pos: Pos) -> (&K, &V) {
        let (k, v) = &self.chunks[pos.chunk][pos.item];
        (k, v)
    }

    pub fn at_mut(&mut self, pos: Pos) -> &mut V {
        &mut self.chunks[pos.chunk][pos.item].1
    }

    pub fn first(&self) -> Option<(&K, &V)> {
        self.first_pos().map(|p| self.at(p))
    }

    pub fn last(&self) -> Option<(&K, &V)> {
        self.last_pos().map(|p| self.at(p))
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.chunks.iter().flatten().map(|(k, v)| (k, v))
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.chunks.iter_mut().flatten().map(|(_, v)| v)
    }

    /// Items from the first key at least `key`, in order.
    pub fn iter_from<'a, Q: Ord + ?Sized>(
        &'a self,
        key: &Q,
    ) -> impl Iterator<Item = (&'a K, &'a V)> + 'a
    where
        K: Borrow<Q>,
    {
        let mut pos = self.seek_ge(key);
        std::iter::from_fn(move || {
            let here = pos?;
            pos = self.next(here);
            Some(self.at(here))
        })
    }

    /// The same items in fresh chunks sized to their contents (COPY), the byte count recounted.
    pub fn clone_with(&self, mut f: impl FnMut(&K, &V) -> (K, V)) -> Self {
        let mut chunks = Vec::with_capacity(self.chunks.len());
        for chunk in &self.chunks {
            let mut copy = Vec::with_capacity(chunk.len());
            copy.extend(chunk.iter().map(|(k, v)| f(k, v)));
            chunks.push(copy);
        }
        let mut map = SortedMap {
            chunks,
            len: self.len,
            heap: 0,
        };
        map.heap = map.outer_bytes() + map.chunks.iter().map(chunk_bytes).sum::<usize>();
        map
    }

    /// The byte count recomputed from the allocations (tests).
    #[cfg(test)]
    pub fn recount(&self) -> usize {
        self.outer_bytes() + self.chunks.iter().map(chunk_bytes).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn agrees_with_a_btreemap_and_counts_its_bytes() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut map = SortedMap::new();
        let mut model = BTreeMap::new();
        for round in 0..20_000 {
            let key = if round % 3 == 0 {
                round as u64
            } else {
                rng.u64(..5000)
            };
            if rng.u8(..10) < 6 {
                assert_eq!(map.insert(key, round), model.insert(key, round));
            } else {
                assert_eq!(map.remove(&key), model.remove(&key));
            }
            assert_eq!(map.len(), model.len());
            assert_eq!(map.heap(), map.recount());
        }
        let ours: Vec<_> = map.iter().map(|(k, v)| (*k, *v)).collect();
        let theirs: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(ours, theirs);
        for probe in [0u64, 1, 2499, 4999, 5000, 19_998, 30_000] {
            let ge = map.seek_ge(&probe).map(|p| *map.at(p).0);
            assert_eq!(
                ge,
                model.range(probe..).next().map(|(k, _)| *k),
                "ge {probe}"
            );
            let le = map.seek_le(&probe).map(|p| *map.at(p).0);
            assert_eq!(
                le,
                model.range(..=probe).next_back().map(|(k, _)| *k),
                "le {probe}"
            );
        }
        let from: Vec<_> = map.iter_from(&2500).map(|(k, _)| *k).collect();
        let expect: Vec<_> = model.range(2500..).map(|(k, _)| *k).collect();
        assert_eq!(from, expect);
        let keys: Vec<u64> = model.keys().copied().collect();
        for key in keys {
            map.remove(&key);
        }
        assert!(map.is_empty());
        assert_eq!(map.heap(), map.recount());
    }
}
