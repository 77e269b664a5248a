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
//!    microseconds, and clears `pending` when done. A shard's share of at most a few dozen keys
//!    is swept by the invalidation itself, under the lock step 1 holds (`invalidate`).
//!
//! Keys are indexed by their 64-bit hash (8 bytes per key and label): two keys of one label with
//! the same hash are swept together, and the sweep only deletes entries that carry the label. A
//! label with one key holds its hash inline, so the many labels a shard holds for one key each
//! (10 keys of a tag spread over 64 shards) cost no set of their own.
//!
//! Label names are interned once per process (`Names`): an entry and every shard's label hold a
//! `Name`, an 8-byte pointer to one shared copy, instead of a copy each.

use crate::sync::LockExt;
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hashbrown::HashTable;

use crate::engine::hash_key;
use crate::engine::memory::{alloc_size, table_size};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    Tag,
    Parent,
}

/// A label name: a thin pointer to one shared copy (8 bytes where a `Box<[u8]>` takes 16 and a
/// copy of its own). `Names` keeps one per distinct name while any shard's index lists it.
#[derive(Clone, PartialEq, Eq)]
pub struct Name(Arc<Box<[u8]>>);

impl Name {
    pub fn new(bytes: &[u8]) -> Name {
        Name(Arc::new(bytes.into()))
    }

    fn same(&self, other: &Name) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The shared copy's allocations: the `Arc`'s (two counts and the box) and the bytes.
    fn memory(&self) -> usize {
        alloc_size(std::mem::size_of::<usize>() * 2 + std::mem::size_of::<Box<[u8]>>())
            + alloc_size(self.len())
    }
}

impl Deref for Name {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

impl From<&[u8]> for Name {
    fn from(bytes: &[u8]) -> Name {
        Name::new(bytes)
    }
}

impl From<Box<[u8]>> for Name {
    fn from(bytes: Box<[u8]>) -> Name {
        Name(Arc::new(bytes))
    }
}

impl From<Vec<u8>> for Name {
    fn from(bytes: Vec<u8>) -> Name {
        Name(Arc::new(bytes.into_boxed_slice()))
    }
}

/// Stripes of the interner, picked by name hash, so shards creating labels of different names
/// rarely wait on each other.
const NAME_STRIPES: usize = 16;

/// One interned name and how many label indexes (a shard's tags or parents in one database) list
/// a label of that name.
struct Interned {
    name: Name,
    labels: u32,
}

/// The process's label names, each stored once. Taken (one stripe, a leaf lock) only when a
/// shard's index gains or loses a label, never on a write to a label that exists; the name's
/// bytes are counted here once (`memory`, part of the keyspace's) rather than in every shard.
pub struct Names {
    stripes: Box<[Mutex<HashTable<Interned>>]>,
    bytes: AtomicUsize,
}

impl Default for Names {
    fn default() -> Self {
        Names {
            stripes: (0..NAME_STRIPES).map(|_| Mutex::default()).collect(),
            bytes: AtomicUsize::new(0),
        }
    }
}

impl Names {
    fn stripe(&self, hash: u64) -> &Mutex<HashTable<Interned>> {
        &self.stripes[(hash >> 32) as usize % NAME_STRIPES]
    }

    /// The shared copy of `name` for a new label, interned if it is the first.
    pub fn acquire(&self, name: &[u8]) -> Name {
        let hash = label_hash(name);
        let mut table = self.stripe(hash).lock_or_recover();
        let slots_before = slots(&table, std::mem::size_of::<Interned>());
        let entry = table.entry(hash, |i| *i.name == *name, |i| label_hash(&i.name));
        let mut added = 0;
        let mut occupied = entry.or_insert_with(|| {
            let name = Name::new(name);
            added = name.memory();
            Interned { name, labels: 0 }
        });
        let interned = occupied.get_mut();
        interned.labels += 1;
        let name = interned.name.clone();
        let slots_after = slots(&table, std::mem::size_of::<Interned>());
        self.bytes
            .fetch_add(added + slots_after - slots_before, Ordering::Relaxed);
        name
    }

    /// A label of this name left an index; the last one frees the name. (An entry still holding
    /// a pointer, on its way out, keeps the bytes until it is dropped.)
    pub fn release(&self, name: &Name) {
        let hash = label_hash(name);
        let mut table = self.stripe(hash).lock_or_recover();
        let slots_before = slots(&table, std::mem::size_of::<Interned>());
        let Ok(mut found) = table.find_entry(hash, |i| i.name.same(name)) else {
            return;
        };
        let interned = found.get_mut();
        interned.labels -= 1;
        if interned.labels > 0 {
            return;
        }
        let (interned, _) = found.remove();
        if table.len() * 4 < table.capacity() {
            table.shrink_to_fit(|i| label_hash(&i.name));
        }
        let slots_after = slots(&table, std::mem::size_of::<Interned>());
        self.bytes.fetch_sub(
            interned.name.memory() + slots_before - slots_after,
            Ordering::Relaxed,
        );
    }

    /// Bytes the interned names hold: each name's one copy and its slot.
    pub fn memory(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        self.stripes.iter().map(|s| s.lock_or_recover().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Recount of `memory()`, for tests.
    pub fn recount(&self) -> usize {
        self.stripes
            .iter()
            .map(|s| {
                let table = s.lock_or_recover();
                table.iter().map(|i| i.name.memory()).sum::<usize>()
                    + slots(&table, std::mem::size_of::<Interned>())
            })
            .sum()
    }

    /// How many label indexes list a label of this name (0 when it is not interned).
    pub fn holders(&self, name: &[u8]) -> u32 {
        let hash = label_hash(name);
        let table = self.stripe(hash).lock_or_recover();
        table
            .find(hash, |i| *i.name == *name)
            .map_or(0, |i| i.labels)
    }
}

/// A label's key hashes: one inline (the usual case for a tag of a few keys spread over the
/// shards), more in a boxed set.
#[derive(Default)]
enum Keys {
    #[default]
    Empty,
    One(u64),
    Many(Box<HashTable<u64>>),
}

impl Keys {
    fn len(&self) -> usize {
        match self {
            Keys::Empty => 0,
            Keys::One(_) => 1,
            Keys::Many(set) => set.len(),
        }
    }

    fn contains(&self, hash: u64) -> bool {
        match self {
            Keys::Empty => false,
            Keys::One(h) => *h == hash,
            Keys::Many(set) => set.find(hash, |&h| h == hash).is_some(),
        }
    }

    /// Adds the hash; false if it was there.
    fn insert(&mut self, hash: u64) -> bool {
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
    fn remove(&mut self, hash: u64) -> bool {
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

    fn buckets(&self) -> usize {
        match self {
            Keys::Empty => 0,
            Keys::One(_) => 1,
            Keys::Many(set) => set.num_buckets(),
        }
    }

    fn bucket(&self, index: usize) -> Option<u64> {
        match self {
            Keys::Empty => None,
            Keys::One(h) => (index == 0).then_some(*h),
            Keys::Many(set) => set.get_bucket(index).copied(),
        }
    }

    fn memory(&self) -> usize {
        match self {
            Keys::Many(set) => alloc_size(std::mem::size_of::<HashTable<u64>>()) + slots(set, 8),
            _ => 0,
        }
    }

    fn drain_into(self, out: &mut Vec<u64>) {
        match self {
            Keys::Empty => {}
            Keys::One(h) => out.push(h),
            Keys::Many(set) => out.extend(*set),
        }
    }
}

pub struct Label {
    pub name: Name,
    keys: Keys,
    /// Invalidations whose sweep has not finished.
    pending: u32,
    /// Bytes of the entries carrying the label (CACHE.STATS), kept by the shard.
    pub entry_bytes: usize,
    /// Reads that hit an entry carrying the label.
    pub hits: u64,
}

impl Label {
    fn new(name: Name) -> Self {
        Label {
            name,
            keys: Keys::Empty,
            pending: 0,
            entry_bytes: 0,
            hits: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.len() == 0
    }

    /// Buckets of the key set (TAG.SCAN's cursor records it, as SCAN's does the table's).
    pub fn buckets(&self) -> usize {
        self.keys.buckets()
    }

    /// Whether `key_hash` is in the set (a key written since the last invalidation).
    fn contains(&self, key_hash: u64) -> bool {
        self.keys.contains(key_hash)
    }

    /// Visits the set in bucket order from `cursor`; returns the next cursor or `None` at the end.
    pub fn walk(&self, cursor: usize, count: usize, mut f: impl FnMut(u64)) -> Option<usize> {
        let buckets = self.keys.buckets();
        let (mut index, mut seen) = (cursor, 0);
        while index < buckets && seen < count {
            if let Some(hash) = self.keys.bucket(index) {
                f(hash);
                seen += 1;
            }
            index += 1;
        }
        (index < buckets).then_some(index)
    }

    /// The name's bytes are the interner's (`Names`); the label holds a pointer to them.
    fn memory(&self) -> usize {
        self.keys.memory()
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
    set: Keys,
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
        std::mem::take(&mut self.set).drain_into(&mut self.keys);
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
        self.table().find(label_hash(name), |l| *l.name == *name)
    }

    pub fn get_mut(&mut self, name: &[u8]) -> Option<&mut Label> {
        self.labels
            .as_deref_mut()?
            .find_mut(label_hash(name), |l| *l.name == *name)
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

    /// Runs `f` on the label (created if absent, its name from `names`) and keeps the byte
    /// count; drops the label when it is left empty with no sweep pending.
    fn update<R>(&mut self, names: &Names, name: &[u8], f: impl FnOnce(&mut Label) -> R) -> R {
        let hash = label_hash(name);
        let existed = self.get(name).is_some();
        let slots_before = self.slots_memory();
        let labels = self.labels.get_or_insert_with(Box::default);
        let entry = labels.entry(hash, |l| *l.name == *name, |l| label_hash(&l.name));
        let mut occupied = entry.or_insert_with(|| Label::new(names.acquire(name)));
        let label = occupied.get_mut();
        let before = if existed { label.memory() } else { 0 };
        let result = f(label);
        let after = label.memory();
        let drop_label = label.is_empty() && label.pending == 0;
        let kept = if drop_label {
            let (label, _) = occupied.remove();
            names.release(&label.name);
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

    /// Lists the key under the label. Returns whether it was not listed already, whether the
    /// label had no key before (its shard now holds it: `TagShards`), and the label's shared
    /// name, for the entry to hold instead of its own copy.
    pub fn add(
        &mut self,
        names: &Names,
        name: &[u8],
        key_hash: u64,
        entry_bytes: usize,
    ) -> (bool, bool, Name) {
        self.update(names, name, |label| {
            label.entry_bytes += entry_bytes;
            let first = label.is_empty();
            let added = label.keys.insert(key_hash);
            (added, added && first, label.name.clone())
        })
    }

    /// Unlists the key. Returns whether it was listed (it may have been taken by an
    /// invalidation), and whether that left the label without keys.
    pub fn remove(
        &mut self,
        names: &Names,
        name: &[u8],
        key_hash: u64,
        entry_bytes: usize,
    ) -> (bool, bool) {
        if self.get(name).is_none() {
            return (false, false);
        }
        self.update(names, name, |label| {
            label.entry_bytes = label.entry_bytes.saturating_sub(entry_bytes);
            let removed = label.keys.remove(key_hash);
            (removed, removed && label.is_empty())
        })
    }

    /// Whether a label whose name hashes to `hash` has keys: one name's emptied set does not
    /// unlist the shard while a colliding name still has keys there.
    pub fn holds_hash(&self, hash: u64) -> bool {
        self.table().find(hash, |l| !l.is_empty()).is_some()
    }

    /// Empties the index (FLUSHDB), returning each label's name and key count.
    pub fn names_and_counts(&self) -> Vec<(Box<[u8]>, usize)> {
        self.iter()
            .map(|l| ((*l.name).into(), l.keys.len()))
            .collect()
    }

    /// Gives every label's name back to `names` (the index is being dropped whole: FLUSHDB).
    pub fn release_names(&self, names: &Names) {
        for label in self.iter() {
            names.release(&label.name);
        }
    }

    /// An entry's size changed by a write (the per-label byte totals follow it).
    pub fn resize(&mut self, name: &[u8], before: usize, after: usize) {
        if let Some(label) = self.get_mut(name) {
            label.entry_bytes = (label.entry_bytes + after).saturating_sub(before);
        }
    }

    /// Step 1 of an invalidation: the label's keys leave the index and the label is pending.
    /// `None` when no key carries the label.
    pub fn take(&mut self, names: &Names, kind: LabelKind, name: &[u8]) -> Option<Taken> {
        if self.get(name).is_none_or(Label::is_empty) {
            return None;
        }
        let set = self.update(names, name, |label| {
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
    pub fn sweep_done(&mut self, names: &Names, name: &[u8]) {
        if self.get(name).is_none() {
            return;
        }
        self.update(names, name, |label| {
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
mod tests;
