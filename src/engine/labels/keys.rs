//! A label's key hashes (8 bytes per key): one inline, more in a boxed set. Two keys of one label
//! with the same hash are swept together, and the sweep only deletes entries that carry the label.

use hashbrown::HashTable;

use super::slots;
use crate::engine::memory::alloc_size;

/// A label's key hashes: one inline (the usual case for a tag of a few keys spread over the
/// shards), more in a boxed set.
#[derive(Default)]
pub(super) enum Keys {
    #[default]
    Empty,
    One(u64),
    Many(Box<HashTable<u64>>),
}

impl Keys {
    pub(super) fn len(&self) -> usize {
        match self {
            Keys::Empty => 0,
            Keys::One(_) => 1,
            Keys::Many(set) => set.len(),
        }
    }

    pub(super) fn contains(&self, hash: u64) -> bool {
        match self {
            Keys::Empty => false,
            Keys::One(h) => *h == hash,
            Keys::Many(set) => set.find(hash, |&h| h == hash).is_some(),
        }
    }

    /// Adds the hash; false if it was there.
    pub(super) fn insert(&mut self, hash: u64) -> bool {
        match self {
            Keys::Empty => *self = Keys::One(hash),
            Keys::One(h) if *h == hash => return false,
            Keys::One(h) => {
                let mut set = HashTable::with_capacity(2);
                set.insert_unique(*h, *h, |&h| h);
                set.insert_unique(hash, hash, |&h| h);
                *self = Keys::Many(Box::new(set));
            }
            Keys::Many(set) => {
                if set.find(hash, |&h| h == hash).is_some() {
                    return false;
                }
                set.insert_unique(hash, hash, |&h| h);
            }
        }
        true
    }

    /// Removes the hash; false if it was not there. A set left with one hash goes back inline,
    /// and one that shrank to a quarter of its table gives the rest back.
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
            Keys::Many(set) => {
                let Ok(found) = set.find_entry(hash, |&h| h == hash) else {
                    return false;
                };
                found.remove();
                match set.len() {
                    0 => *self = Keys::Empty,
                    1 => *self = Keys::One(set.iter().copied().next().unwrap_or_default()),
                    len if len * 4 < set.capacity() => set.shrink_to_fit(|&h| h),
                    _ => {}
                }
                true
            }
        }
    }

    pub(super) fn buckets(&self) -> usize {
        match self {
            Keys::Empty => 0,
            Keys::One(_) => 1,
            Keys::Many(set) => set.num_buckets(),
        }
    }

    pub(super) fn bucket(&self, index: usize) -> Option<u64> {
        match self {
            Keys::Empty => None,
            Keys::One(h) => (index == 0).then_some(*h),
            Keys::Many(set) => set.get_bucket(index).copied(),
        }
    }

    pub(super) fn memory(&self) -> usize {
        match self {
            Keys::Many(set) => alloc_size(std::mem::size_of::<HashTable<u64>>()) + slots(set, 8),
            _ => 0,
        }
    }

    pub(super) fn drain_into(self, out: &mut Vec<u64>) {
        match self {
            Keys::Empty => {}
            Keys::One(h) => out.push(h),
            Keys::Many(set) => out.extend(*set),
        }
    }
}

