//! A shard: for every database, the hash table of the keys that hash to this shard, plus the
//! counters the shard keeps. All access happens under the shard's lock, in short critical sections.

use std::collections::VecDeque;

use hashbrown::HashTable;

use crate::engine::analytics::ShardAnalytics;
use crate::engine::backlog::{Backlog, Compressor};
use crate::engine::compress::{self, Footprint};
use crate::engine::entry::{Entry, Prepared, Priority, TagList};
use crate::engine::expire::HashesWithTtls;
use crate::engine::labels::Name;
use crate::engine::labels::{LabelKind, Taken};
use crate::engine::memory::table_size;
use crate::engine::notice::{class, Notices};
use crate::engine::policy::{lfu_access, EvictionSettings, Policy};
use crate::engine::region::Regions;
use crate::engine::sketch::Sketch;
use crate::engine::Totals;
use std::sync::atomic::Ordering::Relaxed;

/// One database's keys within a shard.
#[derive(Default)]
pub struct Table {
    /// Entries inline in the slots: one allocation per key (see `Entry`).
    pub map: HashTable<Entry>,
    /// Keys with an expiry set.
    pub volatile: usize,
    /// Bytes held by entries (boxes, keys, values); the table's own slots are counted on demand.
    pub entry_bytes: usize,
    /// Keys of each priority (low, normal, high, critical), so eviction knows which classes exist.
    pub by_priority: [usize; 4],
    /// Position of the active expiry cycle in `map`'s buckets.
    pub expire_cursor: usize,
    /// What this table last added to the keyspace totals (bytes, keys, critical keys).
    accounted: crate::engine::Contribution,
    /// Hashes with field TTLs, for the active expiry of fields (`None` until the first).
    pub hashes_with_ttls: Option<Box<HashesWithTtls>>,
    /// Strings stored compressed (INFO's compression figures).
    pub compressed: Footprint,
    /// Set while a snapshot copies this table in pieces (`engine::snapshot`): what changed
    /// since its copy began, so those keys are copied again at its end.
    pub save_log: Option<Box<SaveLog>>,
}

/// The writes a table saw while a snapshot copied it a piece at a time, releasing the shard lock
/// between pieces. Its last piece copies again, under that piece's lock, every key listed here,
/// which makes the table's copy what the table held at that moment: a key not listed was not
/// written since its piece was copied, and sits in the same bucket (entries move only when the
/// slots are laid out anew, which sets `moved`).
#[derive(Debug, Default)]
pub struct SaveLog {
    /// Hashes of the keys inserted, removed or changed (duplicates allowed).
    pub written: Vec<u64>,
    /// The slots were laid out anew (a resize, a shrink): the buckets copied so far mean nothing.
    pub moved: bool,
    /// An invalidation took a label: keys copied since may have gone stale without a write.
    pub invalidated: bool,
}

impl Table {
    /// A database nobody wrote to in this shard, shared by all of them.
    const EMPTY: Table = Table {
        map: HashTable::new(),
        volatile: 0,
        entry_bytes: 0,
        by_priority: [0; 4],
        expire_cursor: 0,
        accounted: (0, 0, [0; 4]),
        hashes_with_ttls: None,
        compressed: Footprint::ZERO,
        save_log: None,
    };

    /// Notes a write of the key hashing to `hash` for a snapshot copying this table.
    fn log_write(&mut self, hash: u64) {
        if let Some(log) = &mut self.save_log {
            log.written.push(hash);
        }
    }

    /// Notes that the slots are about to be laid out anew, for a snapshot copying this table.
    fn log_moved(&mut self) {
        if let Some(log) = &mut self.save_log {
            log.moved = true;
        }
    }

    pub fn memory(&self) -> usize {
        self.entry_bytes + self.slots_memory()
    }

    /// The slots; a table with none allocated (hashbrown's empty singleton reports one bucket)
    /// costs nothing.
    fn slots_memory(&self) -> usize {
        match self.map.capacity() {
            0 => 0,
            _ => table_size(self.map.num_buckets(), std::mem::size_of::<Entry>()),
        }
    }
}

#[derive(Default, Debug, Clone, Copy)]
pub struct ShardStats {
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
    /// Keys deleted because an invalidation (tag, pattern, dependency) made them stale.
    pub invalidated: u64,
    /// Keys examined by the active expiry cycle.
    pub expire_sampled: u64,
    /// Hash fields deleted because their time passed (Redis 7.4's `expired_subkeys`).
    pub expired_fields: u64,
}

/// A shard's tables, one per database, created on a database's first write: with 16 databases
/// and 64 shards, tables built up front cost ~170 KB that `maxmemory` counts (startup memory)
/// and most deployments never use. Reading a database that has none sees an empty table.
pub struct Tables(Vec<Option<Box<Table>>>);

static EMPTY_TABLE: Table = Table::EMPTY;

impl Tables {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, db: usize) -> Option<&Table> {
        self.0.get(db).map(|t| t.as_deref().unwrap_or(&EMPTY_TABLE))
    }

    /// The database's table, created if it has none.
    pub fn get_mut(&mut self, db: usize) -> Option<&mut Table> {
        Some(self.0.get_mut(db)?.get_or_insert_with(Box::default))
    }

    /// The database's table, `None` if it has none (nothing is created).
    pub fn get_existing_mut(&mut self, db: usize) -> Option<&mut Table> {
        self.0.get_mut(db)?.as_deref_mut()
    }

    /// Drops every table's `SaveLog`: a snapshot's copy of the shard restarts or has ended.
    pub fn clear_save_logs(&mut self) {
        for table in self.0.iter_mut().flatten() {
            table.save_log = None;
        }
    }

    /// Whether the database has a table (was ever written in this shard).
    pub fn exists(&self, db: usize) -> bool {
        self.0.get(db).is_some_and(Option::is_some)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Table> {
        self.0.iter().map(|t| t.as_deref().unwrap_or(&EMPTY_TABLE))
    }

    pub fn swap(&mut self, a: usize, b: usize) {
        self.0.swap(a, b);
    }
}

impl std::ops::Index<usize> for Tables {
    type Output = Table;
    fn index(&self, db: usize) -> &Table {
        self.0[db].as_deref().unwrap_or(&EMPTY_TABLE)
    }
}

impl std::ops::IndexMut<usize> for Tables {
    fn index_mut(&mut self, db: usize) -> &mut Table {
        self.0[db].get_or_insert_with(Box::default)
    }
}

pub struct Shard {
    pub dbs: Tables,
    /// Keys in all of the shard's databases (kept by `DbShard::sync_totals`): the admission
    /// sketch is shared by the databases and sized by it.
    pub keys: usize,
    pub stats: ShardStats,
    /// Access frequencies for `allkeys-cachet`, shared by the shard's databases.
    pub sketch: Sketch,
    /// The admission window (W-TinyLFU): the newest keys, oldest first. A key in it is not
    /// sampled for eviction; when it leaves, it is weighed once against sampled residents.
    pub window: VecDeque<Newcomer>,
    /// Keys that just left the window, waiting for that admission test.
    pub admission: Vec<Newcomer>,
    /// Top keys and per-prefix hits/misses (see `engine::analytics`).
    pub analytics: ShardAnalytics,
    /// Strings stored raw, waiting for the background compressor (see `engine::backlog`).
    pub backlog: Backlog,
}

/// A key read from a snapshot, its entry built before its shard is locked
/// (`DbShard::insert_loaded_batch`).
pub struct LoadedKey {
    pub hash: u64,
    pub entry: Entry,
    /// Its access time as saved, on this process's LRU clock.
    pub lru: u32,
    /// The admission sketch's estimate for the key when saved.
    pub sketch: u8,
}

/// A key in the admission window or waiting for the admission test.
#[derive(Debug, Clone, Copy)]
pub struct Newcomer {
    pub db: usize,
    pub hash: u64,
    /// Its entry's `Entry::identity` when it came in.
    pub identity: usize,
}

impl Table {
    /// The bucket of the entry whose key hashes to `hash`, known by its `identity`: found by the
    /// slot's block address first, which reads no block and hashes no key; by rehashing the keys
    /// of the bucket's probe sequence only when the entry was laid out anew since.
    pub fn find_known(&self, hash: u64, identity: usize) -> Option<usize> {
        self.map
            .find_bucket_index(hash, |e| e.identity() == identity)
            .or_else(|| self.map.find_bucket_index(hash, |e| hash_of(e) == hash))
    }
}

/// A table is shrunk when its keys fill less than this percentage of its slots (Redis's
/// `HASHTABLE_MIN_FILL`).
const MIN_FILL_PERCENT: usize = 10;
/// The window never holds fewer keys than this per shard.
const MIN_WINDOW: usize = 2;
/// Keys kept waiting for the admission test per shard. While evicting, a handful wait between two
/// evictions; with no limit, or below it, nothing drains the list, so only the newest are kept: a
/// key that left the window long ago is an ordinary resident that sampling finds. Unbounded, the
/// list grew by one entry per new key forever and the first eviction weighed them all at once.
const MAX_ADMISSION: usize = 64;

impl Shard {
    pub fn new(databases: usize) -> Self {
        Shard {
            dbs: Tables((0..databases).map(|_| None).collect()),
            keys: 0,
            stats: ShardStats::default(),
            sketch: Sketch::default(),
            window: VecDeque::new(),
            admission: Vec::new(),
            analytics: ShardAnalytics::default(),
            backlog: Backlog::default(),
        }
    }

    /// What the shard's tables and sketch hold, counted afresh (the running totals must agree).
    pub fn memory(&self) -> usize {
        self.dbs.iter().map(Table::memory).sum::<usize>() + self.sketch.bytes()
    }

    /// Forgets what the eviction policy learned of keys that are all gone (after a flush left
    /// the shard empty): the sketch returns to its first size, the window and admission list
    /// to nothing. Returns the sketch's bytes before and after, for the totals.
    pub fn forget_accesses(&mut self) -> (usize, usize) {
        let before = self.sketch.bytes();
        self.sketch = Sketch::default();
        self.window = VecDeque::new();
        self.admission = Vec::new();
        (before, self.sketch.bytes())
    }
}

/// What a command sees of one database in one locked shard. Every lookup goes through here so that
/// lazy expiry, access times, hit/miss counts and byte accounting are applied in one place.
pub struct DbShard<'a> {
    pub table: &'a mut Table,
    /// The shard's `keys`.
    pub shard_keys: &'a mut usize,
    pub stats: &'a mut ShardStats,
    pub sketch: &'a mut Sketch,
    pub window: &'a mut VecDeque<Newcomer>,
    pub admission: &'a mut Vec<Newcomer>,
    pub analytics: &'a mut ShardAnalytics,
    pub backlog: &'a mut Backlog,
    pub db: usize,
    pub totals: &'a Totals,
    pub regions: &'a Regions,
    pub dictionaries: &'a crate::engine::dictionary::Dictionaries,
    pub compressor: &'a Compressor,
    pub notices: &'a Notices,
    pub settings: EvictionSettings,
    /// What a string written without `COMPRESS` is compressed with.
    pub compression: compress::Settings,
    pub now_ms: u64,
    pub lru_clock: u32,
    /// CLIENT PAUSE: expired keys read as missing but stay (`Keyspace::pause_changes_until`).
    pub changes_paused: bool,
}

fn has_field_ttls(entry: &Entry) -> bool {
    entry.hash().is_some_and(|h| h.has_field_ttls())
}

/// The rehash callback of the table.
fn hash_of(entry: &Entry) -> u64 {
    hash_of_entry(entry)
}

fn hash_of_entry(entry: &Entry) -> u64 {
    crate::engine::hash_key(entry.key())
}

/// The class of a removal made by an invalidation (tag, pattern, dependency): a `del` to
/// keyspace notifications, marked so peers do not re-broadcast it key by key.
pub const INVALIDATED: u16 = class::GENERIC | class::INVALIDATE;

impl DbShard<'_> {
    fn find_index(&self, hash: u64, key: &[u8]) -> Option<usize> {
        self.table.map.find_bucket_index(hash, |e| e.key() == key)
    }

    /// Removes the key if its time has passed or an invalidation made it stale. Returns its
    /// bucket when it is (still) present afterwards.
    fn expire_if_needed(&mut self, hash: u64, key: &[u8]) -> Option<usize> {
        let index = self.find_index(hash, key)?;
        self.live_at(index)
    }

    /// `expire_if_needed` for an entry already found at bucket `index`.
    fn live_at(&mut self, index: usize) -> Option<usize> {
        let entry = self.table.map.get_bucket(index)?;
        if entry.is_expired(self.now_ms) {
            if self.changes_paused {
                return None;
            }
            let entry = self.remove_at(index)?;
            self.stats.expired += 1;
            self.notices
                .key(self.db, entry.key(), class::EXPIRED, "expired");
            return None;
        }
        if self.notices.labels.is_stale(self.db, entry) {
            let entry = self.remove_at(index)?;
            self.stats.invalidated += 1;
            self.notices.key(self.db, entry.key(), INVALIDATED, "del");
            return None;
        }
        Some(index)
    }

    fn remove_at(&mut self, index: usize) -> Option<Entry> {
        let occupied = self.table.map.get_bucket_entry(index).ok()?;
        let (entry, _) = occupied.remove();
        if self.table.save_log.is_some() {
            self.table.log_write(hash_of_entry(&entry));
        }
        self.table.entry_bytes -= entry.memory();
        self.regions
            .account(entry.key(), -(entry.memory() as isize), -1);
        self.table.compressed.apply(entry.compressed_sizes(), false);
        if entry.has_labels() {
            self.unindex(&entry);
        }
        if entry.has_expiry() {
            self.table.volatile -= 1;
        }
        self.table.by_priority[entry.priority() as usize] -= 1;
        self.sync_totals();
        Some(entry)
    }

    /// Lists the entry under its labels, and points its names at the interned copies (an
    /// entry's own copies, parsed from the command, go: the entry's bytes count pointers only).
    fn index(&mut self, entry: &mut Entry) {
        index_entry(self.notices, self.db, entry);
    }

    fn unindex(&mut self, entry: &Entry) {
        let (hash, bytes) = (hash_of_entry(entry), entry.memory());
        self.unindex_labels(entry.tags(), entry.parents(), hash, bytes);
    }

    fn unindex_labels(&mut self, tags: &[Name], parents: &[Name], hash: u64, bytes: usize) {
        let (labels, names, db) = (&self.notices.labels, &self.notices.names, self.db);
        for tag in tags {
            labels.remove(names, LabelKind::Tag, db, tag, hash, bytes);
        }
        for parent in parents {
            if labels.remove(names, LabelKind::Parent, db, parent, hash, bytes) {
                self.notices.dependencies.register(parent, -1);
            }
        }
    }

    /// Replaces the key's tags or parents, keeping the index in step. `None` if the key is absent.
    pub fn set_labels(
        &mut self,
        hash: u64,
        key: &[u8],
        kind: LabelKind,
        names: TagList,
    ) -> Option<()> {
        let index = self.expire_if_needed(hash, key)?;
        let entry = self.table.map.get_bucket(index)?;
        let before = entry.memory();
        let (tags, parents) = (entry.tags().to_vec(), entry.parents().to_vec());
        self.unindex_labels(&tags, &parents, hash, before);
        let table = &mut *self.table;
        table.log_write(hash);
        let entry = table.map.get_bucket_mut(index)?;
        match kind {
            LabelKind::Tag => entry.replace_tags(names),
            LabelKind::Parent => entry.replace_parents(names),
        }
        let after = entry.memory();
        index_entry(self.notices, self.db, entry);
        table.entry_bytes = table.entry_bytes + after - before;
        self.regions
            .account(key, after as isize - before as isize, 0);
        self.sync_totals();
        Some(())
    }

    /// Brings the keyspace-wide totals in line with this table after a change, so the memory
    /// limit can be checked without visiting every shard.
    pub fn sync_totals(&mut self) {
        let now = (
            self.table.memory(),
            self.table.map.len(),
            self.table.by_priority,
        );
        let before = std::mem::replace(&mut self.table.accounted, now);
        *self.shard_keys = *self.shard_keys + now.1 - before.1;
        self.totals.apply(before, now);
    }

    /// Bookkeeping of one access: access time, the LFU counter, and the admission sketch.
    fn touch(&mut self, index: usize) {
        if super::no_touch() {
            return;
        }
        let (settings, now, clock) = (self.settings, self.now_ms, self.lru_clock);
        if let Some(entry) = self.table.map.get_bucket_mut(index) {
            // A compressed value's counter is kept under every policy: it is how a read finds
            // it hot and stores it raw (`engine::backlog`); `OBJECT FREQ` still answers only
            // under an LFU policy.
            if settings.policy.uses_lfu() || entry.is_compressed() {
                lfu_access(entry, &settings, now);
            }
            entry.set_lru(clock);
        }
    }

    /// Sizes the admission sketch to the shard's keys (see `Sketch::fit`); without admission, a
    /// sketch grown earlier is dropped. Its bytes count against `maxmemory` like data.
    pub fn fit_sketch(&mut self) {
        let before = self.sketch.bytes();
        if self.admission_active() {
            self.sketch.fit(*self.shard_keys + 1);
        } else if self.sketch.is_grown() {
            *self.sketch = Sketch::default();
        }
        self.totals.adjust_bytes(before, self.sketch.bytes());
    }

    /// Gives back every slot the table's keys do not need: after a key that grew the table was
    /// removed again (a load that stopped at `maxmemory`), so that the table costs no more than
    /// before that key. O(keys) under the shard lock when it shrinks.
    pub fn shrink_slots_to_fit(&mut self) {
        self.table.log_moved();
        self.table.map.shrink_to(self.table.map.len(), hash_of);
        self.table.expire_cursor = 0;
        self.sync_totals();
    }

    /// Gives back the slots of a table whose keys fell below a tenth of them, as Redis's
    /// `tryResizeHashTables` (deletions never shrink a hashbrown table by themselves). O(keys)
    /// under the shard lock, once per table each time it empties that far. Returns whether it
    /// shrank.
    pub fn shrink_if_sparse(&mut self) -> bool {
        let buckets = self.table.map.num_buckets();
        if self.table.map.capacity() == 0
            || self.table.map.len() * 100 >= buckets * MIN_FILL_PERCENT
        {
            return false;
        }
        self.table.log_moved();
        self.table.map.shrink_to(self.table.map.len(), hash_of);
        self.table.expire_cursor = 0;
        self.sync_totals();
        true
    }

    fn count_access(&mut self, hash: u64) {
        if self.admission_active() {
            self.sketch.increment(hash);
        }
    }

    /// The sketch, window and admission test serve `allkeys-cachet` under a limit only: without
    /// one nothing is evicted, and their cost (CPU per read, memory per key) would buy nothing.
    fn admission_active(&self) -> bool {
        self.settings.policy == Policy::AllKeysCachet && self.settings.has_limit()
    }

    /// Lookup for a read command: counts a hit or a miss and refreshes the access time.
    pub fn read(&mut self, hash: u64, key: &[u8]) -> Option<&Entry> {
        self.count_access(hash);
        match self.expire_if_needed(hash, key) {
            Some(index) => {
                self.stats.hits += 1;
                self.regions.with(key, |r| r.hits.fetch_add(1, Relaxed));
                self.analytics.record_read(self.db, hash, key, true);
                self.touch(index);
                let entry = self.table.map.get_bucket(index)?;
                for tag in entry.tags() {
                    self.notices.labels.hit(self.db, tag);
                }
                Some(entry)
            }
            None => {
                self.stats.misses += 1;
                self.notices.key_miss(self.db, key);
                self.regions.with(key, |r| r.misses.fetch_add(1, Relaxed));
                self.analytics.record_read(self.db, hash, key, false);
                None
            }
        }
    }

    /// Lookup without touching statistics or access time (TYPE, TTL, OBJECT, EXISTS...).
    pub fn peek(&mut self, hash: u64, key: &[u8]) -> Option<&Entry> {
        let index = self.expire_if_needed(hash, key)?;
        self.table.map.get_bucket(index)
    }

    /// Lookup for a write command. Changes made through `f` are accounted for: the closure may
    /// change the value and expiry freely. Returns `None` without calling `f` when the key is absent.
    pub fn modify<R>(
        &mut self,
        hash: u64,
        key: &[u8],
        f: impl FnOnce(&mut Entry) -> R,
    ) -> Option<R> {
        self.modify_with(hash, key, true, f)
    }

    /// `modify` for a change that is not an access (SORT converting a sorted set to the
    /// `skiplist` encoding after reading it, as Redis's `zsetConvert`): the access time, LFU
    /// counter and admission sketch are left alone; the bytes are accounted as by `modify`.
    pub fn rewrite<R>(
        &mut self,
        hash: u64,
        key: &[u8],
        f: impl FnOnce(&mut Entry) -> R,
    ) -> Option<R> {
        self.modify_with(hash, key, false, f)
    }

    fn modify_with<R>(
        &mut self,
        hash: u64,
        key: &[u8],
        access: bool,
        f: impl FnOnce(&mut Entry) -> R,
    ) -> Option<R> {
        let index = self.expire_if_needed(hash, key)?;
        if access {
            self.count_access(hash);
            self.touch(index);
        }
        self.table.log_write(hash);
        let entry = self.table.map.get_bucket_mut(index)?;
        let before_bytes = entry.memory();
        let before_compressed = entry.compressed_sizes();
        let had_expiry = entry.has_expiry();
        let old_priority = entry.priority();
        let result = f(entry);
        let after_bytes = entry.memory();
        self.table.compressed.apply(before_compressed, false);
        self.table.compressed.apply(entry.compressed_sizes(), true);
        if after_bytes != before_bytes && entry.has_labels() {
            for tag in entry.tags() {
                self.notices
                    .labels
                    .resize(self.db, tag, before_bytes, after_bytes);
            }
        }
        let has_expiry = entry.has_expiry();
        let new_priority = entry.priority();
        let field_ttls = has_field_ttls(entry);
        self.table.entry_bytes = self.table.entry_bytes + after_bytes - before_bytes;
        if after_bytes != before_bytes {
            self.regions
                .account(key, after_bytes as isize - before_bytes as isize, 0);
        }
        if field_ttls {
            self.table.hashes_with_ttls.get_or_insert_default().add(key);
        }
        match (had_expiry, has_expiry) {
            (false, true) => self.table.volatile += 1,
            (true, false) => self.table.volatile -= 1,
            _ => {}
        }
        self.table.by_priority[old_priority as usize] -= 1;
        self.table.by_priority[new_priority as usize] += 1;
        // Redis never keeps an empty collection: the write that removed the last element
        // deletes the key (the command emits the `del` notice, as Redis's commands do).
        if entry.is_empty_collection() {
            self.remove_at(index);
        } else {
            self.sync_totals();
        }
        Some(result)
    }

    pub fn contains(&mut self, hash: u64, key: &[u8]) -> bool {
        self.expire_if_needed(hash, key).is_some()
    }

    /// Inserts or replaces the entry for its key. Returns the entry it replaced, if any. A plain
    /// string is compressed here or noted for the background compressor (`compression-level`,
    /// `compression-backlog`), so that no write path can miss it.
    pub fn insert(&mut self, hash: u64, entry: Entry) -> Option<Entry> {
        self.insert_deciding(hash, entry, true)
    }

    /// `insert` of a string built before the lock (`Entry::prepare_string`: SET's hot path),
    /// whose compression was decided there, so zstd does not run under the lock, unless it was
    /// built raw for this shard to decide (`Entry::prepare_raw`).
    pub fn insert_prepared(&mut self, hash: u64, prepared: Prepared) -> Option<Entry> {
        let (entry, work, undecided) = prepared.into_parts();
        if let Some(work) = work {
            self.analytics.record_compression(entry.key(), work);
        }
        self.insert_deciding(hash, entry, undecided)
    }

    fn insert_deciding(&mut self, hash: u64, mut entry: Entry, decide: bool) -> Option<Entry> {
        self.region_defaults(&mut entry);
        if decide {
            self.compress_or_defer(hash, &mut entry);
        }
        let old = self
            .expire_if_needed(hash, entry.key())
            .and_then(|index| self.remove_at(index));
        self.insert_replacing(hash, entry, old)
    }

    /// Inserts a key the caller has just found absent in this same locked view (the miss path
    /// of INCR and friends), sparing a second lookup.
    pub fn insert_absent(&mut self, hash: u64, mut entry: Entry) {
        self.region_defaults(&mut entry);
        self.compress_or_defer(hash, &mut entry);
        self.insert_replacing(hash, entry, None);
    }

    /// A write's compression: the shard's backlog notes a string it would compress while the
    /// backlog has room (the background compressor swaps the frame in soon after, `backlog`),
    /// else the write compresses it now, as with `compression-backlog 0` (back-pressure: the
    /// raw bytes waiting stay bounded). The entry is about to be placed, unchanged but for its
    /// access state, so its `identity` is what the backlog finds it by.
    fn compress_or_defer(&mut self, hash: u64, entry: &mut Entry) {
        let settings = self.compression;
        let waiting = entry
            .plain_str()
            .filter(|v| compress::eligible(v, settings));
        if let Some(value) = waiting {
            if self.compressor.reserve(value.len(), settings.backlog) {
                self.backlog
                    .push(self.db, hash, entry.identity(), value.len());
                return;
            }
        }
        self.compress(entry, settings);
    }

    /// A client's write into a region: without a TTL it gets the region's `default-ttl`, with
    /// the default priority the region's `priority`. (Loaded, imported and warmed keys keep what
    /// they came with: they do not pass here.)
    fn region_defaults(&self, entry: &mut Entry) {
        let Some((ttl, priority)) = self
            .regions
            .with(entry.key(), |r| (r.spec.default_ttl, r.spec.priority))
        else {
            return;
        };
        if ttl > 0 && !entry.has_expiry() {
            entry.set_expire_at(self.now_ms.saturating_add(ttl.saturating_mul(1000)));
        }
        if let Some(priority) = priority.filter(|_| entry.priority() == Priority::Normal) {
            let mut meta = entry.meta();
            meta.priority = priority;
            entry.set_meta(meta);
        }
    }

    /// Every write's compression, counted for the `stats-prefixes` its key starts with.
    /// With `compression-dict on`, the value is offered as a sample of its key's prefix and
    /// compressed with the prefix's dictionary, when it has one.
    fn compress(&mut self, entry: &mut Entry, settings: compress::Settings) {
        let dictionary = self
            .dictionaries
            .for_write(entry.key(), entry.plain_str(), settings);
        if let Some(work) = entry.compress_with(settings, dictionary.as_deref()) {
            if let Some(dictionary) = &dictionary {
                dictionary.record(&work);
            }
            self.analytics.record_compression(entry.key(), work);
        }
    }

    fn insert_replacing(&mut self, hash: u64, entry: Entry, old: Option<Entry>) -> Option<Entry> {
        self.insert_accessed(hash, entry, old, self.lru_clock)
    }

    /// Inserts `entry` last accessed at `lru` in place of `old` (already taken out).
    fn insert_accessed(
        &mut self,
        hash: u64,
        mut entry: Entry,
        old: Option<Entry>,
        lru: u32,
    ) -> Option<Entry> {
        entry.set_lru(lru);
        // A write is not demand for the key: cache-aside writes follow the read that missed (and
        // was counted), so counting them too would rank every newcomer above the residents.
        self.fit_sketch();
        // As Redis's dbSetValue: an overwritten key keeps its access frequency.
        if let Some(old) = &old {
            if self.settings.policy.uses_lfu() {
                entry.set_lfu(old.lfu());
            }
        }
        if old.is_none() {
            self.notices.new_key(self.db, entry.key());
        }
        self.place(hash, entry, old.is_none());
        self.sync_totals();
        old
    }

    /// Counts `entry` in its table (bytes, region, compression, expiry, priority, labels) and
    /// puts it in a free slot (the caller knows its key is absent); a new key enters the
    /// admission window. The keyspace totals are left to the caller's `sync_totals`.
    fn place(&mut self, hash: u64, mut entry: Entry, new_key: bool) {
        self.table.entry_bytes += entry.memory();
        self.regions
            .account(entry.key(), entry.memory() as isize, 1);
        self.table.compressed.apply(entry.compressed_sizes(), true);
        if entry.has_expiry() {
            self.table.volatile += 1;
        }
        if has_field_ttls(&entry) {
            self.track_field_ttls(entry.key());
        }
        self.table.by_priority[entry.priority() as usize] += 1;
        if entry.has_labels() {
            self.index(&mut entry);
        }
        let enters_window = new_key && self.admission_active();
        entry.set_in_window(enters_window);
        let identity = entry.identity();
        // No room left: this insert may resize the table (or rehash it in place).
        if self.table.map.len() == self.table.map.capacity() {
            self.table.log_moved();
        }
        self.table.log_write(hash);
        self.table.map.insert_unique(hash, entry, hash_of);
        if enters_window {
            self.window.push_back(Newcomer {
                db: self.db,
                hash,
                identity,
            });
            let size = (self.table.map.len() * self.settings.window_percent / 100).max(MIN_WINDOW);
            while self.window.len() > size {
                let Some(leaving) = self.window.pop_front() else {
                    break;
                };
                if leaving.db == self.db {
                    let bucket = self.table.find_known(leaving.hash, leaving.identity);
                    if let Some(entry) = bucket.and_then(|b| self.table.map.get_bucket_mut(b)) {
                        entry.set_in_window(false);
                    }
                }
                self.admission.push(leaving);
            }
            if self.admission.len() > 2 * MAX_ADMISSION {
                let excess = self.admission.len() - MAX_ADMISSION;
                self.admission.drain(..excess);
            }
        }
    }

    /// Inserts an entry read from a snapshot or an export with the access state it had when
    /// saved, replacing a key already here (see `insert_loaded_batch`).
    pub fn insert_loaded(&mut self, hash: u64, entry: Entry, lru: u32, sketch: u8) {
        let key = LoadedKey {
            hash,
            entry,
            lru,
            sketch,
        };
        // Not `fresh`: a key already here is replaced, never refused.
        let _ = self.insert_loaded_batch(std::iter::once(key), false);
    }

    /// Inserts keys read from a snapshot, each with the access state it had when saved: its
    /// access time, and the sketch taught the key's saved estimate (the sketch's hashes differ
    /// from one process to the next, so its counters cannot be copied). The keyspace totals are
    /// brought in line once, after the batch: a load inserts a shard's keys under one lock, and
    /// the limit is checked between batches (one key each when there is a limit).
    ///
    /// A key already in the table is replaced keeping nothing of it (not even its LFU counter,
    /// as an overwrite would): the record's access state is the one to restore. But when the
    /// load began `fresh` (on an empty keyspace, as at start) a key found here came from the
    /// same file: a file holding a key twice is damaged, as Redis's loader holds ("Duplicated
    /// key found in RDB file"), and the key is returned without inserting the rest. The lookup
    /// that finds it costs little: it probes the slots the insert probes next.
    pub fn insert_loaded_batch(
        &mut self,
        keys: impl IntoIterator<Item = LoadedKey>,
        fresh: bool,
    ) -> Result<(), Vec<u8>> {
        self.fit_sketch();
        let mut result = Ok(());
        for LoadedKey {
            hash,
            mut entry,
            lru,
            sketch,
        } in keys
        {
            // Loaded, imported and warmed strings are compressed as any other write is. Checked
            // here first: most values are not eligible (compression off, or shorter than its
            // minimum), and `compress` reads the key's prefix and the block's header to learn it.
            if entry
                .plain_str()
                .is_some_and(|value| compress::eligible(value, self.compression))
            {
                self.compress(&mut entry, self.compression);
            }
            if let Some(index) = self.find_index(hash, entry.key()) {
                if fresh {
                    result = Err(entry.key().to_vec());
                    break;
                }
                if let Some(index) = self.live_at(index) {
                    self.remove_at(index);
                }
            }
            entry.set_lru(lru);
            self.place(hash, entry, true);
            for _ in 0..sketch {
                self.sketch.increment(hash);
            }
        }
        self.sync_totals();
        result
    }

    /// Makes room in the table for `additional` more keys at once (see `Keyspace::reserve_keys`).
    /// A size the allocator refuses is not an error: the table grows as keys come instead.
    pub fn reserve(&mut self, additional: usize) {
        if self.table.map.capacity() - self.table.map.len() < additional {
            self.table.log_moved();
        }
        if self.table.map.try_reserve(additional, hash_of).is_ok() {
            self.sync_totals();
        }
    }

    pub fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry> {
        let index = self.expire_if_needed(hash, key)?;
        self.remove_at(index)
    }

    fn track_field_ttls(&mut self, key: &[u8]) {
        self.table.hashes_with_ttls.get_or_insert_default().add(key);
    }

    /// Deletes up to `limit` fields of the hash at `key` whose time has passed, announcing
    /// `hexpired`, and the key (`del`) when none is left, as Redis 7.4 does on access and in its
    /// active expiry. Returns how many fields went. A hash command calls it before reading fields
    /// (HLEN and HTTL do not: 7.4 counts and reports such fields as they are).
    pub fn reap_fields(&mut self, hash: u64, key: &[u8], limit: usize) -> usize {
        let now = self.now_ms;
        let due = self
            .peek(hash, key)
            .and_then(Entry::hash)
            .is_some_and(|h| h.fields_due(now));
        if !due {
            return 0;
        }
        let removed = self
            .rewrite(hash, key, |entry| {
                entry.hash_mut().map_or(0, |h| h.remove_expired(now, limit))
            })
            .unwrap_or(0);
        if removed > 0 {
            self.stats.expired_fields += removed as u64;
            self.notify(key, class::HASH, "hexpired");
            if !self.contains(hash, key) {
                self.notify(key, class::GENERIC, "del");
            }
        }
        removed
    }

    /// One round of the active expiry of hash fields: up to `keys` hashes, in turn, each losing
    /// up to `fields` expired fields. Returns the fields removed.
    pub fn field_expire_step(&mut self, keys: usize, fields: usize) -> usize {
        let mut removed = 0;
        for _ in 0..keys {
            let Some(key) = self.table.hashes_with_ttls.as_mut().and_then(|q| q.pop()) else {
                break;
            };
            let hash = crate::engine::hash_key(&key);
            removed += self.reap_fields(hash, &key, fields);
            let still = self.peek(hash, &key).is_some_and(has_field_ttls);
            if still {
                self.track_field_ttls(&key);
            }
        }
        removed
    }

    /// Announces a change to `key` in this view's database (see `engine::notice`).
    pub fn notify(&self, key: &[u8], class: u16, event: &'static str) {
        self.notices.key(self.db, key, class, event);
    }

    /// Calls `f` on the live entry of this key hash carrying the label, if there is one; an
    /// expired or invalidated one is deleted, as SCAN does (TAG.KEYS, TAG.SCAN).
    pub fn labelled(&mut self, hash: u64, kind: LabelKind, name: &[u8], f: impl FnOnce(&Entry)) {
        let Some(index) = self
            .table
            .map
            .find_bucket_index(hash, |e| carries(e, hash, kind, name))
        else {
            return;
        };
        if let Some(index) = self.live_at(index) {
            if let Some(entry) = self.table.map.get_bucket(index) {
                f(entry);
            }
        }
    }

    /// An invalidation took a label with keys in this table: a snapshot copying it must look
    /// again at the keys it copied, which may have gone stale without a write.
    pub fn note_invalidation(&mut self) {
        if let Some(log) = &mut self.table.save_log {
            log.invalidated = true;
        }
    }

    /// Deletes the entry with this key hash if it carries the taken label and the invalidation
    /// made it stale (it may have been deleted, or written anew, since).
    pub fn sweep_key(&mut self, hash: u64, taken: &Taken) -> bool {
        if !self.notices.labels.is_stale_key(taken, hash) {
            return false;
        }
        let (kind, name) = (taken.kind, &taken.name[..]);
        let found = self
            .table
            .map
            .find_bucket_index(hash, |e| carries(e, hash, kind, name));
        let Some(entry) = found.and_then(|index| self.remove_at(index)) else {
            return false;
        };
        self.stats.invalidated += 1;
        self.notices.key(self.db, entry.key(), INVALIDATED, "del");
        true
    }

    /// Whether the entry is neither expired nor invalidated.
    pub fn is_live(&self, entry: &Entry) -> bool {
        self.notices.labels.is_live(self.db, entry, self.now_ms)
    }

    /// Removes the entry at bucket `index` to make room, with its `evicted` notice; `None` (and
    /// the entry deleted as `live_at` does) when it had expired or was invalidated. Eviction finds
    /// its victims by bucket: neither the key nor its hash is needed to delete one.
    pub fn evict_at(&mut self, index: usize) -> Option<Entry> {
        let index = self.live_at(index)?;
        let entry = self.remove_at(index)?;
        self.regions.with(entry.key(), |r| {
            r.evicted_keys.fetch_add(1, Relaxed);
            r.evicted_bytes.fetch_add(entry.memory() as u64, Relaxed);
        });
        self.notices
            .key(self.db, entry.key(), class::EVICTED, "evicted");
        Some(entry)
    }

    /// Removes every key (FLUSHDB) and returns the table so the caller may free it elsewhere.
    pub fn take_all(&mut self) -> Table {
        let mut taken = std::mem::take(self.table);
        if self.regions.is_active() {
            for entry in taken.map.iter() {
                self.regions
                    .account(entry.key(), -(entry.memory() as isize), -1);
            }
        }
        let accounted = std::mem::take(&mut taken.accounted);
        *self.shard_keys -= accounted.1;
        self.totals.apply(accounted, (0, 0, [0; 4]));
        taken
    }

    pub fn len(&self) -> usize {
        self.table.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.map.is_empty()
    }

    /// One pass of the active expiry cycle: examines up to `budget` entries from the cycle's cursor
    /// and deletes those whose time has passed. Returns (entries with a TTL examined, expired).
    pub fn expire_step(&mut self, budget: usize) -> (usize, usize) {
        let buckets = self.table.map.num_buckets();
        if self.table.volatile == 0 || buckets == 0 || self.changes_paused {
            return (0, 0);
        }
        let (mut sampled, mut expired, mut visited) = (0, 0, 0);
        let mut index = self.table.expire_cursor % buckets;
        while sampled < budget && visited < buckets && visited < budget * 16 {
            let is_volatile = self
                .table
                .map
                .get_bucket(index)
                .map(|e| (e.has_expiry(), e.is_expired(self.now_ms)));
            if let Some((true, is_expired)) = is_volatile {
                sampled += 1;
                if is_expired {
                    if let Some(entry) = self.remove_at(index) {
                        expired += 1;
                        self.notices
                            .key(self.db, entry.key(), class::EXPIRED, "expired");
                    }
                }
            }
            index = (index + 1) % buckets;
            visited += 1;
        }
        self.table.expire_cursor = index;
        self.stats.expired += expired as u64;
        self.stats.expire_sampled += sampled as u64;
        (sampled, expired)
    }

    /// Visits entries in bucket order starting at bucket `cursor`, calling `f` on each live entry,
    /// until at least `count` entries were visited or the table ends. Returns the next bucket to
    /// visit, or `None` when the table has been walked to its end (SCAN, KEYS).
    /// Reads only, so that the visitor may read the rest of the view (CACHE.EXPORT: the sketch).
    pub fn walk(&self, cursor: usize, count: usize, mut f: impl FnMut(&Entry)) -> Option<usize> {
        let buckets = self.table.map.num_buckets();
        let mut index = cursor;
        let mut seen = 0;
        while index < buckets && seen < count {
            if let Some(entry) = self.table.map.get_bucket(index) {
                if self.is_live(entry) {
                    f(entry);
                    seen += 1;
                }
            }
            index += 1;
        }
        (index < buckets).then_some(index)
    }

    /// A uniformly chosen bucket holding a live entry, if the table has any (RANDOMKEY).
    pub fn random_entry(&mut self) -> Option<&Entry> {
        let buckets = self.table.map.num_buckets();
        if self.table.map.is_empty() {
            return None;
        }
        for _ in 0..buckets.max(64) * 4 {
            let index = fastrand::usize(..buckets);
            if self
                .table
                .map
                .get_bucket(index)
                .is_some_and(|e| self.is_live(e))
            {
                return self.table.map.get_bucket(index);
            }
        }
        self.table.map.iter().find(|e| self.is_live(e))
    }
}

/// Lists the entry under its labels, and points its names at the interned copies: the entry's
/// own copies (parsed from the command or a file) go, so the entry's bytes count pointers only.
fn index_entry(notices: &Notices, db: usize, entry: &mut Entry) {
    let (hash, bytes) = (hash_of_entry(entry), entry.memory());
    let (labels, names) = (&notices.labels, &notices.names);
    let (entry_tags, entry_parents) = entry.labels_mut();
    for tag in entry_tags {
        if let Some((_, shared)) = labels.add(names, LabelKind::Tag, db, tag, hash, bytes) {
            *tag = shared;
        }
    }
    for parent in entry_parents {
        if let Some((added, shared)) = labels.add(names, LabelKind::Parent, db, parent, hash, bytes)
        {
            if added {
                notices.dependencies.register(parent, 1);
            }
            *parent = shared;
        }
    }
}

/// Whether the entry is the key of this hash and carries the label.
fn carries(entry: &Entry, hash: u64, kind: LabelKind, name: &[u8]) -> bool {
    let labels = match kind {
        LabelKind::Tag => entry.tags(),
        LabelKind::Parent => entry.parents(),
    };
    hash_of_entry(entry) == hash && labels.iter().any(|l| **l == *name)
}
