//! The list value: a ring buffer (`VecDeque`) of boxed byte strings, so both ends push and pop in
//! O(1) and an index is one step from either end.
//!
//! Memory: one 16-byte slot per element plus the element's own allocation, both counted with
//! jemalloc's size classes in `element_bytes` (updated by every mutation) so `memory()` is O(1).
//! A chunked layout (listpack-like buffers) would save the slot and the rounding for very small
//! elements, at the cost of O(chunk) inserts and an index walk; the ring buffer keeps every command
//! at Redis's complexity or better.
//!
//! Encoding name: Redis 7.2+ keeps a small list as one `listpack` and converts it to a `quicklist`
//! when the listpack would exceed `list-max-listpack-size` (negative: a byte budget of 4/8/16/32/64
//! KiB; positive: an entry count, with an 8 KiB safety cap), and back when a shrinking command
//! leaves it within half the limit. We track the listpack's byte size as Redis would encode it
//! (`lp_bytes`) to take the same decisions. Redis converts back only when the quicklist has a
//! single node; we test the totals, which agree whenever the remaining elements fit one node.
//! (Redis 7.0 reports `quicklist` for every list; 7.2 introduced the listpack form.)

use std::collections::VecDeque;

use crate::engine::memory::alloc_size;

/// Byte budgets of negative `list-max-listpack-size` values (-1 … -5), as Redis's
/// `optimization_level`.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// With a count limit, a listpack still never grows past this (Redis's `SIZE_SAFETY_LIMIT`).
const SIZE_SAFETY_LIMIT: usize = 8192;
/// An empty listpack: 4-byte total size, 2-byte count, end marker.
const LISTPACK_EMPTY: usize = 7;
const SLOT: usize = std::mem::size_of::<Box<[u8]>>();

#[derive(Debug, Clone, Default)]
pub struct ListValue {
    items: VecDeque<Box<[u8]>>,
    /// Allocator bytes of the elements (not the ring buffer, whose capacity we read directly).
    element_bytes: usize,
    /// Sum of the listpack encodings of the elements (without the listpack header).
    lp_entries: usize,
    quicklist: bool,
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

fn exceeds(fill: i64, bytes: usize, count: usize) -> bool {
    let (size_limit, count_limit) = limits(fill);
    if size_limit != usize::MAX {
        bytes > size_limit
    } else {
        bytes > SIZE_SAFETY_LIMIT || count > count_limit
    }
}

/// Bytes Redis's listpack spends on `element`: the encoding (an integer in the smallest of its
/// integer forms, or a length-prefixed string) and the back-length that follows it.
pub fn listpack_entry_size(element: &[u8]) -> usize {
    let encoded = match integer_value(element) {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..=4095).contains(&v) => 2,
        Some(v) if (-32768..=32767).contains(&v) => 3,
        Some(v) if (-8_388_608..=8_388_607).contains(&v) => 4,
        Some(v) if (i32::MIN as i64..=i32::MAX as i64).contains(&v) => 5,
        Some(_) => 9,
        None if element.len() < 64 => 1 + element.len(),
        None if element.len() < 4096 => 2 + element.len(),
        None => 5 + element.len(),
    };
    let back_len = match encoded {
        0..=127 => 1,
        128..=16383 => 2,
        16384..=2_097_151 => 3,
        2_097_152..=268_435_455 => 4,
        _ => 5,
    };
    encoded + back_len
}

/// The integer an element is stored as by a listpack (Redis's `string2ll` rules: canonical
/// decimal, no sign on zero, no leading zeros or spaces).
fn integer_value(element: &[u8]) -> Option<i64> {
    if element.is_empty() || element.len() > 20 {
        return None;
    }
    crate::engine::entry::as_canonical_int(element)
}

fn element_cost(element: &[u8]) -> usize {
    alloc_size(element.len())
}

impl ListValue {
    pub fn new() -> Self {
        ListValue::default()
    }

    pub fn encoding(&self) -> &'static str {
        if self.quicklist {
            "quicklist"
        } else {
            "listpack"
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes held besides the struct itself; kept as a running count so this is O(1).
    pub fn memory(&self) -> usize {
        alloc_size(self.items.capacity() * SLOT) + self.element_bytes
    }

    /// The memory a recount finds (tests check the running count against it).
    pub fn recount_memory(&self) -> usize {
        alloc_size(self.items.capacity() * SLOT)
            + self.items.iter().map(|e| element_cost(e)).sum::<usize>()
    }

    fn listpack_bytes(&self) -> usize {
        LISTPACK_EMPTY + self.lp_entries
    }

    /// Before adding elements whose raw lengths total `add_bytes`: converts to a quicklist if the
    /// listpack would outgrow `fill` (Redis's `listTypeTryConvertListpack`, which also adds raw
    /// lengths rather than encoded sizes).
    pub fn prepare_growth(&mut self, fill: i64, add_bytes: usize, add_count: usize) {
        if !self.quicklist
            && exceeds(
                fill,
                self.listpack_bytes() + add_bytes,
                self.len() + add_count,
            )
        {
            self.quicklist = true;
        }
    }

    /// Before pushing `elements`: `prepare_growth` for them.
    pub fn prepare_push<T: AsRef<[u8]>>(&mut self, fill: i64, elements: &[T]) {
        let bytes = elements.iter().map(|e| e.as_ref().len()).sum();
        self.prepare_growth(fill, bytes, elements.len());
    }

    /// After removing elements: back to a listpack when within half the limit (Redis's
    /// `listTypeTryConvertQuicklist` with `shrinking`).
    pub fn after_shrink(&mut self, fill: i64) {
        if !self.quicklist {
            return;
        }
        let (size_limit, count_limit) = limits(fill);
        let size_limit = if size_limit == usize::MAX {
            size_limit
        } else {
            size_limit / 2
        };
        let count_limit = if count_limit == usize::MAX {
            count_limit
        } else {
            count_limit / 2
        };
        if self.listpack_bytes() <= size_limit && self.len() <= count_limit {
            self.quicklist = false;
        }
    }

    fn added(&mut self, element: &[u8]) {
        self.element_bytes += element_cost(element);
        self.lp_entries += listpack_entry_size(element);
    }

    fn removed(&mut self, element: &[u8]) {
        self.element_bytes -= element_cost(element);
        self.lp_entries -= listpack_entry_size(element);
    }

    pub fn push_front(&mut self, element: &[u8]) {
        self.added(element);
        self.items.push_front(element.into());
    }

    pub fn push_back(&mut self, element: &[u8]) {
        self.added(element);
        self.items.push_back(element.into());
    }

    pub fn pop_front(&mut self) -> Option<Box<[u8]>> {
        let element = self.items.pop_front()?;
        self.removed(&element);
        self.shrink_buffer();
        Some(element)
    }

    pub fn pop_back(&mut self) -> Option<Box<[u8]>> {
        let element = self.items.pop_back()?;
        self.removed(&element);
        self.shrink_buffer();
        Some(element)
    }

    /// Gives back ring-buffer capacity once the list is a quarter of it, so a drained queue does
    /// not keep its peak size (amortized O(1): a shrink follows at least `capacity / 4` pops).
    fn shrink_buffer(&mut self) {
        let capacity = self.items.capacity();
        if capacity > 64 && self.items.len() < capacity / 4 {
            self.items.shrink_to(self.items.len() * 2);
        }
    }

    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.items.get(index).map(|e| &e[..])
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(|e| &e[..])
    }

    /// Elements `start..=end` (already clamped by the caller).
    pub fn range(&self, start: usize, end: usize) -> impl ExactSizeIterator<Item = &[u8]> {
        self.items.range(start..=end).map(|e| &e[..])
    }

    /// Replaces the element at `index`; false when out of range.
    pub fn set(&mut self, index: usize, element: &[u8]) -> bool {
        let Some(old) = self.items.get(index) else {
            return false;
        };
        let (old_cost, old_lp) = (element_cost(old), listpack_entry_size(old));
        self.element_bytes = self.element_bytes - old_cost + element_cost(element);
        self.lp_entries = self.lp_entries - old_lp + listpack_entry_size(element);
        if let Some(slot) = self.items.get_mut(index) {
            *slot = element.into();
        }
        true
    }

    /// Inserts at `index` (0..=len).
    pub fn insert(&mut self, index: usize, element: &[u8]) {
        self.added(element);
        self.items.insert(index, element.into());
    }

    /// Removes the element at `index`.
    pub fn remove(&mut self, index: usize) -> Option<Box<[u8]>> {
        let element = self.items.remove(index)?;
        self.removed(&element);
        Some(element)
    }

    /// Keeps `start..=end` (or nothing when `start > end`), dropping the rest.
    pub fn trim(&mut self, start: usize, end: usize) {
        if start > end || start >= self.items.len() {
            self.items.clear();
            self.element_bytes = 0;
            self.lp_entries = 0;
            self.shrink_buffer();
            return;
        }
        let end = end.min(self.items.len() - 1);
        for element in self.items.drain(end + 1..) {
            self.element_bytes -= element_cost(&element);
            self.lp_entries -= listpack_entry_size(&element);
        }
        for element in self.items.drain(..start) {
            self.element_bytes -= element_cost(&element);
            self.lp_entries -= listpack_entry_size(&element);
        }
        self.shrink_buffer();
    }

    /// Removes up to `limit` elements equal to `element` (0 = all), from the head when
    /// `from_head`, else from the tail. Returns how many went. O(N): one pass that keeps the rest.
    pub fn remove_matching(&mut self, element: &[u8], limit: usize, from_head: bool) -> usize {
        let len = self.items.len();
        let mut removed = 0;
        let mut keep = vec![true; len];
        let order: Box<dyn Iterator<Item = usize>> = if from_head {
            Box::new(0..len)
        } else {
            Box::new((0..len).rev())
        };
        for index in order {
            if limit != 0 && removed == limit {
                break;
            }
            if self.items.get(index).is_some_and(|e| &e[..] == element) {
                keep[index] = false;
                removed += 1;
            }
        }
        if removed == 0 {
            return 0;
        }
        let mut index = 0;
        let mut element_bytes = self.element_bytes;
        let mut lp_entries = self.lp_entries;
        self.items.retain(|e| {
            let kept = keep.get(index).copied().unwrap_or(true);
            index += 1;
            if !kept {
                element_bytes -= element_cost(e);
                lp_entries -= listpack_entry_size(e);
            }
            kept
        });
        self.element_bytes = element_bytes;
        self.lp_entries = lp_entries;
        self.shrink_buffer();
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_sizes_follow_redis_encodings() {
        assert_eq!(listpack_entry_size(b"5"), 2);
        assert_eq!(listpack_entry_size(b"-1"), 3);
        assert_eq!(listpack_entry_size(b"1000000"), 5);
        assert_eq!(listpack_entry_size(b"abc"), 5);
        assert_eq!(listpack_entry_size(b"007"), 5);
        assert_eq!(listpack_entry_size(&[b'x'; 100]), 103);
    }

    #[test]
    fn converts_by_count_and_back_at_half() {
        let mut list = ListValue::new();
        for i in 0..4 {
            list.prepare_push(4, &[b"x"]);
            list.push_back(format!("e{i}").as_bytes());
        }
        assert_eq!(list.encoding(), "listpack");
        list.prepare_push(4, &[b"x"]);
        list.push_back(b"x");
        assert_eq!(list.encoding(), "quicklist");
        list.pop_back();
        list.after_shrink(4);
        assert_eq!(list.encoding(), "quicklist");
        list.pop_back();
        list.pop_back();
        list.after_shrink(4);
        assert_eq!(list.encoding(), "listpack");
        assert_eq!(list.memory(), list.recount_memory());
    }

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
        }

        fn element() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                prop::collection::vec(b'a'..=b'c', 0..3),
                (-5000i64..5000).prop_map(|n| n.to_string().into_bytes()),
                prop::collection::vec(any::<u8>(), 0..200),
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
            ]
        }

        proptest! {
            #[test]
            fn behaves_like_a_vecdeque(ops in prop::collection::vec(op(), 0..200), fill in -3i64..6) {
                let mut list = ListValue::new();
                let mut model: VecDeque<Vec<u8>> = VecDeque::new();
                for op in ops {
                    match op {
                        Op::PushFront(e) => {
                            list.prepare_push(fill, &[&e]);
                            list.push_front(&e);
                            model.push_front(e);
                        }
                        Op::PushBack(e) => {
                            list.prepare_push(fill, &[&e]);
                            list.push_back(&e);
                            model.push_back(e);
                        }
                        Op::PopFront => {
                            prop_assert_eq!(list.pop_front().map(|e| e.to_vec()), model.pop_front());
                            list.after_shrink(fill);
                        }
                        Op::PopBack => {
                            prop_assert_eq!(list.pop_back().map(|e| e.to_vec()), model.pop_back());
                            list.after_shrink(fill);
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
                            list.after_shrink(fill);
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
                    }
                    prop_assert_eq!(list.len(), model.len());
                    prop_assert!(list.iter().eq(model.iter().map(|e| &e[..])));
                    prop_assert_eq!(list.memory(), list.recount_memory());
                    let lp: usize = model.iter().map(|e| listpack_entry_size(e)).sum();
                    prop_assert_eq!(list.lp_entries, lp);
                }
            }
        }
    }
}
