//! Labels: tags (`CACHE.SET ... TAGS`, `CACHE.SETTAGS`) and parents (`CACHE.DEPEND child
//! parent`: the child carries its parent's name) share one mechanism. `index.rs` keeps, once per
//! process, label → the keys carrying it; the shards update it in the same critical section as
//! the entry on every path that adds or removes an entry, so it never lists a key that does not
//! carry the label.
//!
//! Invalidating a label must not stall the server however many keys carry it, yet readers must
//! miss at once. So invalidation is two steps:
//! 1. With the shards of the label's keys locked, its key set is taken out of the index (O(1))
//!    and the label is marked `pending`. From then on an entry that carries the label but is
//!    absent from the label's (new, empty) set was written before the invalidation: lookups
//!    treat it as gone and delete it on the spot, as they do an expired key. A key written with
//!    the label after the invalidation is in the new set, so it stays.
//! 2. A sweeper deletes the taken keys in small batches, each under its shard's lock for a few
//!    microseconds, and clears `pending` when done. A set of at most a few dozen keys is swept
//!    by the invalidation itself, under the locks step 1 holds (`invalidate`).
//!
//! Label names are interned once per process (`Names`): an entry and the index's record hold a
//! `Name`, an 8-byte pointer to one shared copy, instead of a copy each.

use crate::sync::LockExt;
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hashbrown::HashTable;

mod index;
mod keys;

pub use index::{Label, LabelIndex, Taken, LISTED_MAX_KEYS};

use crate::engine::hash_key;
use crate::engine::memory::{alloc_size, table_size};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    Tag,
    Parent,
}

/// A label name: a thin pointer to one shared copy (8 bytes where a `Box<[u8]>` takes 16 and a
/// copy of its own). `Names` keeps one per distinct name while a label record holds it.
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

/// One interned name and how many label records (a database's tag or parent of that name) hold
/// it.
struct Interned {
    name: Name,
    labels: u32,
}

/// The process's label names, each stored once. Taken (one stripe, a leaf lock, inside the
/// index's stripe) only when the index gains or loses a record, never on a write to a label that
/// exists; the name's bytes are counted here once (`memory`, part of the keyspace's).
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

    /// A record of this name left the index; the last one frees the name. (An entry still holding
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

    /// How many label records hold this name (0 when it is not interned).
    pub fn holders(&self, name: &[u8]) -> u32 {
        let hash = label_hash(name);
        let table = self.stripe(hash).lock_or_recover();
        table
            .find(hash, |i| *i.name == *name)
            .map_or(0, |i| i.labels)
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

pub fn label_hash(name: &[u8]) -> u64 {
    hash_key(name)
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
