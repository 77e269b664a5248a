//! Label indexes: for each database of a shard, label → the keys carrying it. Two kinds of label
//! share the mechanism: tags (`CACHE.SET ... TAGS`, `CACHE.SETTAGS`) and parents
//! (`CACHE.DEPEND child parent`: the child carries its parent's name). The shard updates the index
//! in the same critical section as the entry on every path that adds or removes an entry, so the
//! index never lists a key that does not carry the label.
//!
//! Invalidating a label must not stall the server however many keys carry it, yet readers must
//! miss at once. So invalidation is two steps:
//! 1. Under the shard's lock, the label's key set is taken out of the index (O(1)) and the label
//!    is marked `pending`. From then on an entry that carries the label but is absent from the
//!    label's (new, empty) set was written before the invalidation: lookups treat it as gone
//!    and delete it on the spot, as they do an expired key. A key written with the label after
//!    the invalidation is in the new set, so it stays.
//! 2. A sweeper deletes the taken keys in small batches, each under the shard's lock for a few
//!    microseconds, and clears `pending` when done.
//!
//! Keys are indexed by their 64-bit hash (8 bytes per key and label): two keys of one label with
//! the same hash are swept together, and the sweep only deletes entries that carry the label.

use crate::sync::LockExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use hashbrown::HashTable;

use crate::engine::hash_key;
use crate::engine::memory::{alloc_size, table_size};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    Tag,
    Parent,
}

pub struct Label {
    pub name: Box<[u8]>,
    keys: HashTable<u64>,
    /// Invalidations whose sweep has not finished.
    pending: u32,
    /// Bytes of the entries carrying the label (CACHE.STATS), kept by the shard.
    pub entry_bytes: usize,
    /// Reads that hit an entry carrying the label.
    pub hits: u64,
}

impl Label {
    fn new(name: &[u8]) -> Self {
        Label {
            name: name.into(),
            keys: HashTable::new(),
            pending: 0,
            entry_bytes: 0,
            hits: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Buckets of the key set (TAG.SCAN's cursor records it, as SCAN's does the table's).
    pub fn buckets(&self) -> usize {
        self.keys.num_buckets()
    }

    /// Whether `key_hash` is in the set (a key written since the last invalidation).
    fn contains(&self, key_hash: u64) -> bool {
        self.keys.find(key_hash, |&h| h == key_hash).is_some()
    }

    /// Visits the set in bucket order from `cursor`; returns the next cursor or `None` at the end.
    pub fn walk(&self, cursor: usize, count: usize, mut f: impl FnMut(u64)) -> Option<usize> {
        let buckets = self.keys.num_buckets();
        let (mut index, mut seen) = (cursor, 0);
        while index < buckets && seen < count {
            if let Some(&hash) = self.keys.get_bucket(index) {
                f(hash);
                seen += 1;
            }
            index += 1;
        }
        (index < buckets).then_some(index)
    }

    fn memory(&self) -> usize {
        alloc_size(self.name.len()) + slots(&self.keys, 8)
    }
}

/// What a table's slots cost; an empty table has allocated nothing (hashbrown reports one bucket
/// for its shared empty singleton).
fn slots<T>(table: &HashTable<T>, slot: usize) -> usize {
    if table.capacity() == 0 {
        0
    } else {
        table_size(table.num_buckets(), slot)
    }
}

/// A label's key set taken out by an invalidation, for the sweeper. The set is moved out of the
/// index as it is (O(1) under the shard locks) and turned into a list only after they are
/// released (`flatten`).
pub struct Taken {
    pub kind: LabelKind,
    pub name: Box<[u8]>,
    set: HashTable<u64>,
    pub keys: Vec<u64>,
}

impl Taken {
    pub fn len(&self) -> usize {
        self.set.len() + self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves the taken set into `keys`; costs O(keys), so call it with no lock held.
    pub fn flatten(&mut self) {
        let set = std::mem::take(&mut self.set);
        self.keys.extend(set);
    }
}

/// Boxed and created on first use: every table of every shard has two indexes, most of them
/// never used, and 16 bytes each (rather than 40) is what startup memory can afford.
#[derive(Default)]
pub struct LabelIndex {
    labels: Option<Box<HashTable<Label>>>,
    /// Bytes the index holds (label names, key sets, slots, the box), counted against `maxmemory`.
    bytes: usize,
}

static NO_LABELS: HashTable<Label> = HashTable::new();

impl LabelIndex {
    pub const EMPTY: LabelIndex = LabelIndex {
        labels: None,
        bytes: 0,
    };
}

pub fn label_hash(name: &[u8]) -> u64 {
    hash_key(name)
}

impl LabelIndex {
    pub fn memory(&self) -> usize {
        self.bytes
    }

    fn table(&self) -> &HashTable<Label> {
        self.labels.as_deref().unwrap_or(&NO_LABELS)
    }

    /// The table's slots and its box.
    fn slots_memory(&self) -> usize {
        self.labels.as_deref().map_or(0, |labels| {
            alloc_size(std::mem::size_of::<HashTable<Label>>())
                + slots(labels, std::mem::size_of::<Label>())
        })
    }

    pub fn get(&self, name: &[u8]) -> Option<&Label> {
        self.table().find(label_hash(name), |l| &*l.name == name)
    }

    pub fn get_mut(&mut self, name: &[u8]) -> Option<&mut Label> {
        self.labels
            .as_deref_mut()?
            .find_mut(label_hash(name), |l| &*l.name == name)
    }

    pub fn len(&self) -> usize {
        self.table().len()
    }

    pub fn is_empty(&self) -> bool {
        self.table().is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.table().iter()
    }

    /// Runs `f` on the label (created if absent) and keeps the byte count; drops the label when
    /// it is left empty with no sweep pending.
    fn update<R>(&mut self, name: &[u8], f: impl FnOnce(&mut Label) -> R) -> R {
        let hash = label_hash(name);
        let existed = self.get(name).is_some();
        let slots_before = self.slots_memory();
        let labels = self.labels.get_or_insert_with(Box::default);
        let entry = labels.entry(hash, |l| &*l.name == name, |l| label_hash(&l.name));
        let mut occupied = entry.or_insert_with(|| Label::new(name));
        let label = occupied.get_mut();
        let before = if existed { label.memory() } else { 0 };
        let result = f(label);
        // A set that shrank to a quarter of its table gives the rest back, so the index of a tag
        // whose keys expired returns to its baseline.
        if label.keys.len() * 4 < label.keys.capacity() {
            label.keys.shrink_to_fit(|&h| h);
        }
        let after = label.memory();
        let drop_label = label.keys.is_empty() && label.pending == 0;
        let kept = if drop_label {
            occupied.remove();
            0
        } else {
            after
        };
        if drop_label && labels.is_empty() {
            self.labels = None;
        } else if drop_label && labels.len() * 4 < labels.capacity() {
            labels.shrink_to_fit(|l| label_hash(&l.name));
        }
        self.bytes =
            (self.bytes + kept + self.slots_memory()).saturating_sub(before + slots_before);
        result
    }

    /// Lists the key under the label. Returns whether it was not listed already, and whether the
    /// label had no key before (its shard now holds it: `TagShards`).
    pub fn add(&mut self, name: &[u8], key_hash: u64, entry_bytes: usize) -> (bool, bool) {
        self.update(name, |label| {
            label.entry_bytes += entry_bytes;
            if label.contains(key_hash) {
                return (false, false);
            }
            let first = label.keys.is_empty();
            label.keys.insert_unique(key_hash, key_hash, |&h| h);
            (true, first)
        })
    }

    /// Unlists the key. Returns whether it was listed (it may have been taken by an
    /// invalidation), and whether that left the label without keys.
    pub fn remove(&mut self, name: &[u8], key_hash: u64, entry_bytes: usize) -> (bool, bool) {
        if self.get(name).is_none() {
            return (false, false);
        }
        self.update(name, |label| {
            label.entry_bytes = label.entry_bytes.saturating_sub(entry_bytes);
            match label.keys.find_entry(key_hash, |&h| h == key_hash) {
                Ok(found) => {
                    found.remove();
                    (true, label.keys.is_empty())
                }
                Err(_) => (false, false),
            }
        })
    }

    /// Whether a label whose name hashes to `hash` has keys: one name's emptied set does not
    /// unlist the shard while a colliding name still has keys there.
    pub fn holds_hash(&self, hash: u64) -> bool {
        self.table().find(hash, |l| !l.keys.is_empty()).is_some()
    }

    /// Empties the index (FLUSHDB), returning each label's name and key count.
    pub fn names_and_counts(&self) -> Vec<(Box<[u8]>, usize)> {
        self.iter()
            .map(|l| (l.name.clone(), l.keys.len()))
            .collect()
    }

    /// An entry's size changed by a write (the per-label byte totals follow it).
    pub fn resize(&mut self, name: &[u8], before: usize, after: usize) {
        if let Some(label) = self.get_mut(name) {
            label.entry_bytes = (label.entry_bytes + after).saturating_sub(before);
        }
    }

    /// Step 1 of an invalidation: the label's keys leave the index and the label is pending.
    /// `None` when no key carries the label.
    pub fn take(&mut self, kind: LabelKind, name: &[u8]) -> Option<Taken> {
        if self.get(name).is_none_or(Label::is_empty) {
            return None;
        }
        let set = self.update(name, |label| {
            label.pending += 1;
            label.entry_bytes = 0;
            std::mem::take(&mut label.keys)
        });
        Some(Taken {
            kind,
            name: name.into(),
            set,
            keys: Vec::new(),
        })
    }

    /// Step 2 done: the sweep of one taken set finished.
    pub fn sweep_done(&mut self, name: &[u8]) {
        if self.get(name).is_none() {
            return;
        }
        self.update(name, |label| {
            label.pending = label.pending.saturating_sub(1)
        });
    }

    /// Whether an entry carrying `name` with this key hash was written before an invalidation of
    /// the label that has not been swept yet.
    pub fn is_stale(&self, name: &[u8], key_hash: u64) -> bool {
        self.get(name)
            .is_some_and(|label| label.pending > 0 && !label.contains(key_hash))
    }

    /// Recount of the bytes held, for tests (must equal `memory()`).
    pub fn recount(&self) -> usize {
        self.iter().map(Label::memory).sum::<usize>() + self.slots_memory()
    }
}

/// Which keys have dependents, across shards, so that a change to any key can be checked in O(1)
/// for whether it invalidates others; and the parents changed since the last drain. Keyed by name
/// only (not database): SWAPDB moves tables between databases, and a parent named in another
/// database merely costs a no-op invalidation.
#[derive(Default)]
pub struct Dependencies {
    parents: Mutex<HashMap<Box<[u8]>, usize>>,
    registered: AtomicUsize,
    changed: Mutex<Vec<(usize, Box<[u8]>)>>,
    any_changed: AtomicBool,
}

impl Dependencies {
    /// `delta` registrations of children under `parent` (negative when they go).
    pub fn register(&self, parent: &[u8], delta: isize) {
        if delta == 0 {
            return;
        }
        let mut parents = self.parents.lock_or_recover();
        let count = parents.entry(parent.into()).or_insert(0);
        *count = count.saturating_add_signed(delta);
        if *count == 0 {
            parents.remove(parent);
        }
        if delta > 0 {
            self.registered
                .fetch_add(delta.unsigned_abs(), Ordering::Relaxed);
        } else {
            self.registered
                .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }

    /// Called for every notice about a key: queues it when other keys depend on it.
    pub fn key_changed(&self, db: usize, key: &[u8]) {
        if self.registered.load(Ordering::Relaxed) == 0 {
            return;
        }
        let is_parent = self.parents.lock_or_recover().contains_key(key);
        if is_parent {
            self.changed.lock_or_recover().push((db, key.into()));
            self.any_changed.store(true, Ordering::Release);
        }
    }

    /// The parents changed since the last call.
    pub fn take_changed(&self) -> Vec<(usize, Box<[u8]>)> {
        // Loaded before swapped: this runs after every command, and a swap would make every
        // worker thread write the same cache line.
        if !self.any_changed.load(Ordering::Relaxed)
            || !self.any_changed.swap(false, Ordering::Acquire)
        {
            return Vec::new();
        }
        self.changed
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_remove_and_memory_return_to_zero() {
        let mut index = LabelIndex::default();
        for key in 0..1000u64 {
            index.add(b"user:1", key, 100);
            index.add(b"all", key, 100);
        }
        assert_eq!(index.get(b"user:1").map(Label::len), Some(1000));
        assert_eq!(index.get(b"all").map(|l| l.entry_bytes), Some(100_000));
        assert_eq!(index.memory(), index.recount());
        for key in 0..1000u64 {
            index.remove(b"user:1", key, 100);
            index.remove(b"all", key, 100);
            assert_eq!(index.memory(), index.recount());
        }
        assert!(index.is_empty());
        assert_eq!(index.memory(), 0);
    }

    #[test]
    fn invalidation_makes_old_members_stale_until_swept() {
        let mut index = LabelIndex::default();
        index.add(b"t", 1, 10);
        index.add(b"t", 2, 10);
        let taken = index.take(LabelKind::Tag, b"t").map(|t| t.len());
        assert_eq!(taken, Some(2));
        assert!(index.is_stale(b"t", 1) && index.is_stale(b"t", 2));
        // Written again after the invalidation: live.
        index.add(b"t", 2, 10);
        assert!(!index.is_stale(b"t", 2));
        assert!(index.take(LabelKind::Tag, b"absent").is_none());
        index.remove(b"t", 2, 10);
        index.sweep_done(b"t");
        assert!(!index.is_stale(b"t", 1));
        assert!(index.is_empty());
        assert_eq!(index.memory(), index.recount());
    }
}
