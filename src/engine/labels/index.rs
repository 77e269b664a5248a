//! The process's label index: for each kind (tags, parents) one record per (database, label),
//! found with one lookup by name hash, holding the label's name, the hashes of its keys (in every
//! shard: a key's shard follows from its hash), the invalidations pending and the figures
//! CACHE.STATS reports. One index rather than one per shard because the shards are what split a
//! small label: a tag of 10 keys has about one key in each of 10 of the 64 shards, so per shard
//! it cost 10 records of 48 bytes in 10 half-empty tables, and 10 lookups per invalidation.
//!
//! Locking: 64 stripes per kind, by name hash; a stripe is a leaf lock taken inside a shard's
//! critical section (every write path updates the index under the shard lock of the entry, in
//! the same critical section as the entry), never across two shards' work.
//!
//! Why an invalidation is atomic although the index is not under the shards' locks
//! (`Keyspace::invalidate_labels`): it reads the label's keys' shards from the record, locks
//! those shards, and reads them again under the locks; if a key was added meanwhile in a shard
//! it does not hold, it releases everything and locks the union. Once the record's keys all lie
//! in held shards it takes the key set and marks the label pending, under the stripe lock and
//! with those shards held. Every key listed at that moment is in a held shard, so no reader
//! sees any of them between the take and their deletion or lazy staleness: they go at once for
//! every reader. A write that adds a key of the label in another shard does so under that
//! shard's lock, and adds its hash under the stripe lock: either before the take (then the
//! re-read saw its shard, which is held) or after it (then the key is in the new set, was
//! written after the invalidation, and stays). A label of more than `LISTED_MAX_KEYS` keys locks
//! every shard instead, so listing the shards costs at most that many hashes.
//!
//! FLUSHDB and FLUSHALL drop the database's records under every shard lock and bump its
//! generation, so that a sweep queued before them (which checks the generation under a shard
//! lock) neither deletes nor ends the pending state of a label created after. SWAPDB swaps the
//! database ids the records are filed under, also under every shard lock.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

use hashbrown::HashTable;

use super::keys::Keys;
use super::{label_hash, slots, Dependencies, LabelKind, Name, Names};
use crate::engine::entry::Entry;
use crate::engine::{hash_key, shard_of_hash};
use crate::sync::LockExt;

/// Stripes per kind, picked by name hash: writes of different labels rarely wait on each other.
const STRIPES: usize = 64;
/// A label with more keys than this is invalidated under every shard's lock: listing its keys'
/// shards would cost a walk of its set.
pub const LISTED_MAX_KEYS: usize = 64;

pub struct Label {
    pub name: Name,
    keys: Keys,
    /// The database id (`LabelIndex::ids`) the label is filed under.
    id: u32,
    /// Invalidations whose sweep has not finished.
    pending: u32,
    /// Bytes of the entries carrying the label (CACHE.STATS), kept by the shards.
    pub entry_bytes: usize,
    /// Reads that hit an entry carrying the label.
    pub hits: u64,
}

impl Label {
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

    /// Visits the set from `cursor` (a bucket of its table; a small set is visited whole);
    /// returns the next cursor or `None` at the end.
    pub fn walk(&self, cursor: usize, count: usize, f: impl FnMut(u64)) -> Option<usize> {
        self.keys.walk(cursor, count, f)
    }

    /// The name's bytes are the interner's (`Names`); the record holds a pointer to them.
    fn memory(&self) -> usize {
        self.keys.memory()
    }
}

/// A label's key set taken out by an invalidation, for the sweeper. The set is moved out of the
/// index as it is (O(1) under the locks) and turned into a list only after they are released
/// (`flatten`).
pub struct Taken {
    pub kind: LabelKind,
    pub name: Name,
    id: u32,
    generation: u32,
    set: Keys,
    /// The keys, in shard order once flattened.
    pub keys: Vec<u64>,
}

impl Taken {
    pub fn len(&self) -> usize {
        self.set.len() + self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves the taken set into `keys`, grouped by shard; costs O(keys), so call it with no lock
    /// held.
    pub fn flatten(&mut self, shard_mask: usize) {
        if self.set.len() > 0 {
            std::mem::take(&mut self.set).drain_into(&mut self.keys);
            self.keys
                .sort_unstable_by_key(|&h| shard_of_hash(h, shard_mask));
        }
    }
}

type Stripe = Mutex<HashTable<Label>>;

/// The records of one kind, and the bytes they hold (their slots and key sets).
#[derive(Default)]
struct Records {
    stripes: Box<[Stripe]>,
    bytes: AtomicUsize,
}

impl Records {
    fn stripe(&self, name_hash: u64) -> &Stripe {
        &self.stripes[(name_hash >> 48) as usize % STRIPES]
    }
}

/// A record's hash: the name's, told apart per database.
fn record_hash(id: u32, name_hash: u64) -> u64 {
    name_hash ^ u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn rehash(label: &Label) -> u64 {
    record_hash(label.id, label_hash(&label.name))
}

fn table_memory(table: &HashTable<Label>) -> usize {
    slots(table, std::mem::size_of::<Label>())
}

pub struct LabelIndex {
    kinds: [Records; 2],
    /// Logical database → the id its records are filed under. SWAPDB swaps two while it holds
    /// every shard, and every reader holds at least one shard lock.
    ids: Box<[AtomicU32]>,
    /// Per database id, bumped by each flush of it (see the module's header).
    generations: Box<[AtomicU32]>,
    /// Labels with an invalidation pending: while 0, no entry is stale and lookups skip the index.
    pending: AtomicUsize,
    shard_mask: usize,
}

impl LabelIndex {
    /// `shards` is the keyspace's (a power of two).
    pub fn new(shards: usize, databases: usize) -> Self {
        let records = || Records {
            stripes: (0..STRIPES).map(|_| Mutex::default()).collect(),
            bytes: AtomicUsize::new(0),
        };
        LabelIndex {
            kinds: [records(), records()],
            ids: (0..databases as u32).map(AtomicU32::new).collect(),
            generations: (0..databases).map(|_| AtomicU32::new(0)).collect(),
            pending: AtomicUsize::new(0),
            shard_mask: shards.max(1) - 1,
        }
    }

    fn records(&self, kind: LabelKind) -> &Records {
        &self.kinds[kind as usize]
    }

    fn id(&self, db: usize) -> Option<u32> {
        Some(self.ids.get(db)?.load(Relaxed))
    }

    /// Runs `f` on the record, created if absent and `create`, and keeps the byte counts; drops
    /// the record when it is left empty with no sweep pending. `None` when there is none.
    fn update<R>(
        &self,
        names: &Names,
        kind: LabelKind,
        id: u32,
        name: &[u8],
        create: bool,
        f: impl FnOnce(&mut Label) -> R,
    ) -> Option<R> {
        let records = self.records(kind);
        let name_hash = label_hash(name);
        let hash = record_hash(id, name_hash);
        let mut table = records.stripe(name_hash).lock_or_recover();
        let slots_before = table_memory(&table);
        let matches = |l: &Label| l.id == id && *l.name == *name;
        let (mut occupied, before, was_pending) = match table.find_entry(hash, matches) {
            Ok(found) => {
                let (memory, pending) = (found.get().memory(), found.get().pending > 0);
                (found, memory, pending)
            }
            Err(_) if !create => return None,
            Err(absent) => {
                let table = absent.into_table();
                let label = Label {
                    name: names.acquire(name),
                    keys: Keys::Empty,
                    id,
                    pending: 0,
                    entry_bytes: 0,
                    hits: 0,
                };
                (table.insert_unique(hash, label, rehash), 0, false)
            }
        };
        let label = occupied.get_mut();
        let result = f(label);
        let is_pending = label.pending > 0;
        let kept = if label.is_empty() && !is_pending {
            let (label, _) = occupied.remove();
            names.release(&label.name);
            if table.len() * 4 < table.capacity() {
                table.shrink_to_fit(rehash);
            }
            0
        } else {
            occupied.get().memory()
        };
        match (was_pending, is_pending) {
            (false, true) => _ = self.pending.fetch_add(1, Relaxed),
            (true, false) => _ = self.pending.fetch_sub(1, Relaxed),
            _ => {}
        }
        let after = kept + table_memory(&table);
        drop(table);
        adjust(&records.bytes, before + slots_before, after);
        Some(result)
    }

    /// Runs `f` on the record, which must not change its key set (counters only).
    fn with_mut<R>(
        &self,
        kind: LabelKind,
        db: usize,
        name: &[u8],
        f: impl FnOnce(&mut Label) -> R,
    ) -> Option<R> {
        let id = self.id(db)?;
        let name_hash = label_hash(name);
        let mut table = self.records(kind).stripe(name_hash).lock_or_recover();
        let label = table.find_mut(record_hash(id, name_hash), |l| {
            l.id == id && *l.name == *name
        })?;
        Some(f(label))
    }

    /// Runs `f` on the label of database `db`, if there is one.
    pub fn with<R>(
        &self,
        kind: LabelKind,
        db: usize,
        name: &[u8],
        f: impl FnOnce(&Label) -> R,
    ) -> Option<R> {
        self.with_mut(kind, db, name, |label| f(label))
    }

    /// Lists the key under the label. Returns whether it was not listed already, and the label's
    /// shared name, for the entry to hold instead of its own copy (`None`: no such database).
    pub fn add(
        &self,
        names: &Names,
        kind: LabelKind,
        db: usize,
        name: &[u8],
        key_hash: u64,
        entry_bytes: usize,
    ) -> Option<(bool, Name)> {
        let id = self.id(db)?;
        self.update(names, kind, id, name, true, |label| {
            label.entry_bytes += entry_bytes;
            (label.keys.insert(key_hash), label.name.clone())
        })
    }

    /// Unlists the key. Returns whether it was listed (it may have been taken by an
    /// invalidation).
    pub fn remove(
        &self,
        names: &Names,
        kind: LabelKind,
        db: usize,
        name: &[u8],
        key_hash: u64,
        entry_bytes: usize,
    ) -> bool {
        let Some(id) = self.id(db) else {
            return false;
        };
        self.update(names, kind, id, name, false, |label| {
            label.entry_bytes = label.entry_bytes.saturating_sub(entry_bytes);
            label.keys.remove(key_hash)
        })
        .unwrap_or(false)
    }

    /// An entry carrying the tag changed size by a write.
    pub fn resize(&self, db: usize, name: &[u8], before: usize, after: usize) {
        self.with_mut(LabelKind::Tag, db, name, |label| {
            label.entry_bytes = (label.entry_bytes + after).saturating_sub(before);
        });
    }

    /// A read hit an entry carrying the tag.
    pub fn hit(&self, db: usize, name: &[u8]) {
        self.with_mut(LabelKind::Tag, db, name, |label| label.hits += 1);
    }

    /// Whether an invalidation of one of the entry's labels has made it stale: it carries the
    /// label but is not in its set, and the label's sweep has not finished (see `labels`).
    pub fn is_stale(&self, db: usize, entry: &Entry) -> bool {
        if self.pending.load(Relaxed) == 0 || !entry.has_labels() {
            return false;
        }
        let Some(id) = self.id(db) else {
            return false;
        };
        let hash = hash_key(entry.key());
        let stale =
            |kind, names: &[Name]| names.iter().any(|name| self.stale_in(kind, id, name, hash));
        stale(LabelKind::Tag, entry.tags()) || stale(LabelKind::Parent, entry.parents())
    }

    /// Neither expired nor invalidated.
    pub fn is_live(&self, db: usize, entry: &Entry, now_ms: u64) -> bool {
        !entry.is_expired(now_ms) && !self.is_stale(db, entry)
    }

    fn stale_in(&self, kind: LabelKind, id: u32, name: &[u8], key_hash: u64) -> bool {
        let name_hash = label_hash(name);
        let table = self.records(kind).stripe(name_hash).lock_or_recover();
        table
            .find(record_hash(id, name_hash), |l| {
                l.id == id && *l.name == *name
            })
            .is_some_and(|l| l.pending > 0 && !l.keys.contains(key_hash))
    }

    /// Appends the shards holding keys of the labels to `out` (unsorted, repeated). False when a
    /// label has more than `LISTED_MAX_KEYS` keys: then every shard must be locked.
    pub fn shards(
        &self,
        kind: LabelKind,
        db: usize,
        names: &[&[u8]],
        out: &mut Vec<usize>,
    ) -> bool {
        for name in names {
            let listed = self.with(kind, db, name, |label| {
                if label.len() > LISTED_MAX_KEYS {
                    return false;
                }
                label.walk(0, usize::MAX, |h| {
                    out.push(shard_of_hash(h, self.shard_mask))
                });
                true
            });
            if listed == Some(false) {
                return false;
            }
        }
        true
    }

    /// Step 1 of an invalidation: the label's keys leave the index and the label is pending.
    /// `None` when no key carries the label. The caller holds the shards of its keys.
    pub fn take(&self, names: &Names, kind: LabelKind, db: usize, name: &[u8]) -> Option<Taken> {
        let id = self.id(db)?;
        let set = self.update(names, kind, id, name, false, |label| {
            if label.is_empty() {
                return None;
            }
            label.pending += 1;
            label.entry_bytes = 0;
            Some(std::mem::take(&mut label.keys))
        })??;
        Some(Taken {
            kind,
            name: Name::new(name),
            id,
            generation: self.generations[id as usize].load(Relaxed),
            set,
            keys: Vec::new(),
        })
    }

    /// The logical database the taken set's label is in now, or `None` when a flush dropped the
    /// label since (then its sweep has nothing to do). Call it holding a shard lock.
    pub fn db_of(&self, taken: &Taken) -> Option<usize> {
        if self.generations.get(taken.id as usize)?.load(Relaxed) != taken.generation {
            return None;
        }
        self.ids.iter().position(|id| id.load(Relaxed) == taken.id)
    }

    /// Whether the key of this hash is stale by the taken set's invalidation.
    pub fn is_stale_key(&self, taken: &Taken, key_hash: u64) -> bool {
        self.stale_in(taken.kind, taken.id, &taken.name, key_hash)
    }

    /// Step 2 done: the sweep of one taken set finished. Call it holding a shard lock, after
    /// `db_of` said the label is still there.
    pub fn sweep_done(&self, names: &Names, taken: &Taken) {
        self.update(names, taken.kind, taken.id, &taken.name, false, |label| {
            label.pending = label.pending.saturating_sub(1)
        });
    }

    /// SWAPDB: the two databases' labels trade places. The caller holds every shard.
    pub fn swap_dbs(&self, first: usize, second: usize) {
        if let (Some(a), Some(b)) = (self.ids.get(first), self.ids.get(second)) {
            let id = a.load(Relaxed);
            a.store(b.load(Relaxed), Relaxed);
            b.store(id, Relaxed);
        }
    }

    /// FLUSHDB (`Some(db)`) or FLUSHALL: drops the labels of the database(s), their names and
    /// their dependency registrations. The caller holds every shard.
    pub fn clear(&self, names: &Names, dependencies: &Dependencies, db: Option<usize>) {
        let ids: Vec<u32> = match db {
            Some(db) => self.id(db).into_iter().collect(),
            None => (0..self.ids.len() as u32).collect(),
        };
        for &id in &ids {
            self.generations[id as usize].fetch_add(1, Relaxed);
        }
        for kind in [LabelKind::Tag, LabelKind::Parent] {
            let records = self.records(kind);
            for stripe in records.stripes.iter() {
                let mut table = stripe.lock_or_recover();
                let before = table_memory(&table) + table.iter().map(Label::memory).sum::<usize>();
                table.retain(|label| {
                    if !ids.contains(&label.id) {
                        return true;
                    }
                    names.release(&label.name);
                    if label.pending > 0 {
                        self.pending.fetch_sub(1, Relaxed);
                    }
                    if kind == LabelKind::Parent {
                        dependencies.register(&label.name, -(label.len() as isize));
                    }
                    false
                });
                if table.len() * 4 < table.capacity() {
                    table.shrink_to_fit(rehash);
                }
                let after = table_memory(&table) + table.iter().map(Label::memory).sum::<usize>();
                drop(table);
                adjust(&records.bytes, before, after);
            }
        }
    }

    /// Runs `f` on every label of the kind in database `db` (one stripe locked at a time).
    pub fn for_each(&self, kind: LabelKind, db: usize, mut f: impl FnMut(&Label)) {
        let Some(id) = self.id(db) else {
            return;
        };
        for stripe in self.records(kind).stripes.iter() {
            for label in stripe.lock_or_recover().iter().filter(|l| l.id == id) {
                f(label);
            }
        }
    }

    /// Labels of the kind, in every database.
    pub fn count(&self, kind: LabelKind) -> usize {
        let stripes = self.records(kind).stripes.iter();
        stripes.map(|s| s.lock_or_recover().len()).sum()
    }

    /// Bytes the kind's records hold (slots and key sets; the names are `Names`'s).
    pub fn memory_of(&self, kind: LabelKind) -> usize {
        self.records(kind).bytes.load(Relaxed)
    }

    /// Bytes the index holds, counted in `used_memory`.
    pub fn memory(&self) -> usize {
        self.memory_of(LabelKind::Tag) + self.memory_of(LabelKind::Parent)
    }

    /// Recount of `memory()`, for tests.
    pub fn recount(&self) -> usize {
        self.kinds
            .iter()
            .flat_map(|r| r.stripes.iter())
            .map(|s| {
                let table = s.lock_or_recover();
                table_memory(&table) + table.iter().map(Label::memory).sum::<usize>()
            })
            .sum()
    }

    /// How many records (database × kind) are named `name`, for tests: each holds the name once.
    pub fn records_named(&self, name: &[u8]) -> usize {
        let name_hash = label_hash(name);
        self.kinds
            .iter()
            .map(|r| {
                let table = r.stripe(name_hash).lock_or_recover();
                table.iter().filter(|l| *l.name == *name).count()
            })
            .sum()
    }

    /// Labels with an invalidation pending, for tests.
    pub fn pending(&self) -> usize {
        self.pending.load(Relaxed)
    }
}

fn adjust(counter: &AtomicUsize, before: usize, after: usize) {
    if after >= before {
        counter.fetch_add(after - before, Relaxed);
    } else {
        counter.fetch_sub(before - after, Relaxed);
    }
}
