//! A label's key hashes (8 bytes per key): one inline, up to `FEW_MAX` in a boxed slice of exactly
//! their length, more in a boxed hash set. Two keys of one label with the same hash are swept
//! together, and the sweep only deletes entries that carry the label.
//!
//! The slice is there for the common small tag (a page's fragments, a user's few objects): 10
//! hashes cost 80 bytes in it against 192 in the smallest hash set that holds them (its box, 16
//! buckets and their control bytes), which was most of the index's bytes per tagged key. Each
//! insert or removal copies the slice, at most `FEW_MAX` words, as cheap as hashing into a set.

use hashbrown::HashTable;

use super::slots;
use crate::engine::memory::alloc_size;

/// Most keys a slice holds; a set from one more, back to a slice at half of it.
const FEW_MAX: usize = 16;

#[derive(Default)]
pub(super) enum Keys {
    #[default]
    Empty,
    One(u64),
    Few(Box<[u64]>),
    Many(Box<HashTable<u64>>),
}

impl Keys {
    pub(super) fn len(&self) -> usize {
        match self {
            Keys::Empty => 0,
            Keys::One(_) => 1,
            Keys::Few(few) => few.len(),
            Keys::Many(set) => set.len(),
        }
    }

    pub(super) fn contains(&self, hash: u64) -> bool {
        match self {
            Keys::Empty => false,
            Keys::One(h) => *h == hash,
            Keys::Few(few) => few.contains(&hash),
            Keys::Many(set) => set.find(hash, |&h| h == hash).is_some(),
        }
    }

    /// Adds the hash; false if it was there.
    pub(super) fn insert(&mut self, hash: u64) -> bool {
        if self.contains(hash) {
            return false;
        }
        match self {
            Keys::Empty => *self = Keys::One(hash),
            Keys::One(h) => *self = Keys::Few(Box::new([*h, hash])),
            Keys::Few(few) if few.len() < FEW_MAX => {
                *self = Keys::Few(few.iter().copied().chain([hash]).collect());
            }
            Keys::Few(few) => {
                let mut set = HashTable::with_capacity(few.len() + 1);
                for &h in few.iter().chain([&hash]) {
                    set.insert_unique(h, h, |&h| h);
                }
                *self = Keys::Many(Box::new(set));
            }
            Keys::Many(set) => _ = set.insert_unique(hash, hash, |&h| h),
        }
        true
    }

    /// Removes the hash; false if it was not there. A set goes back to a slice at half of
    /// `FEW_MAX` keys (not at `FEW_MAX`, so a tag at the boundary does not convert on every
    /// write), and one that shrank to a quarter of its table gives the rest back.
    pub(super) fn remove(&mut self, hash: u64) -> bool {
        match self {
            Keys::Empty => false,
            Keys::One(h) => {
                let found = *h == hash;
                if found {
                    *self = Keys::Empty;
                }
                found
            }
            Keys::Few(few) => {
                if !few.contains(&hash) {
                    return false;
                }
                let left: Box<[u64]> = few.iter().copied().filter(|&h| h != hash).collect();
                *self = match *left {
                    [one] => Keys::One(one),
                    _ => Keys::Few(left),
                };
                true
            }
            Keys::Many(set) => {
                let Ok(found) = set.find_entry(hash, |&h| h == hash) else {
                    return false;
                };
                found.remove();
                match set.len() {
                    len if len <= FEW_MAX / 2 => *self = Keys::Few(set.iter().copied().collect()),
                    len if len * 4 < set.capacity() => set.shrink_to_fit(|&h| h),
                    _ => {}
                }
                true
            }
        }
    }

    /// Visits the hashes from `cursor` (a bucket of the set), at least `count` of them, and
    /// returns the next cursor or `None` at the end. A slice is visited whole, as Redis's SSCAN
    /// returns a small set's encoding whole: removals shift it, so a cursor into it could skip.
    pub(super) fn walk(
        &self,
        cursor: usize,
        count: usize,
        mut f: impl FnMut(u64),
    ) -> Option<usize> {
        let set = match self {
            Keys::Empty => return None,
            Keys::One(h) => {
                f(*h);
                return None;
            }
            Keys::Few(few) => {
                few.iter().for_each(|&h| f(h));
                return None;
            }
            Keys::Many(set) => set,
        };
        let buckets = set.num_buckets();
        let (mut index, mut seen) = (cursor, 0);
        while index < buckets && seen < count {
            if let Some(&hash) = set.get_bucket(index) {
                f(hash);
                seen += 1;
            }
            index += 1;
        }
        (index < buckets).then_some(index)
    }

    /// Buckets a cursor walks: a set's, 1 for the forms visited whole.
    pub(super) fn buckets(&self) -> usize {
        match self {
            Keys::Many(set) => set.num_buckets(),
            _ => 1,
        }
    }

    pub(super) fn memory(&self) -> usize {
        match self {
            Keys::Empty | Keys::One(_) => 0,
            Keys::Few(few) => alloc_size(std::mem::size_of_val(&**few)),
            Keys::Many(set) => alloc_size(std::mem::size_of::<HashTable<u64>>()) + slots(set, 8),
        }
    }

    pub(super) fn drain_into(self, out: &mut Vec<u64>) {
        match self {
            Keys::Empty => {}
            Keys::One(h) => out.push(h),
            Keys::Few(few) => out.extend_from_slice(&few),
            Keys::Many(set) => out.extend(*set),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_form_with_their_count_and_keep_every_hash() {
        let mut keys = Keys::default();
        for h in 0..40u64 {
            assert!(keys.insert(h * 7) && !keys.insert(h * 7));
            assert_eq!(keys.len(), h as usize + 1);
            let form = (matches!(keys, Keys::One(_)), matches!(keys, Keys::Few(_)));
            assert_eq!(form, (h == 0, (1..FEW_MAX as u64).contains(&h)));
        }
        let mut seen = Vec::new();
        let mut cursor = Some(0);
        while let Some(at) = cursor {
            cursor = keys.walk(at, 5, |h| seen.push(h));
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..40u64).map(|h| h * 7).collect::<Vec<_>>());
        for h in 0..40u64 {
            assert!(keys.remove(h * 7) && !keys.remove(h * 7));
            assert_eq!(keys.len(), 39 - h as usize);
            assert!(!keys.contains(h * 7) && (h == 39 || keys.contains(39 * 7)));
            if keys.len() <= FEW_MAX / 2 && keys.len() > 1 {
                assert!(matches!(keys, Keys::Few(_)));
            }
        }
        assert!(matches!(keys, Keys::Empty) && keys.memory() == 0);
        keys.insert(1);
        keys.insert(2);
        assert_eq!(keys.memory(), alloc_size(16));
    }
}
