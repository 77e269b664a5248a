//! The keyspace: `N` shards (a power of two), each owning, for every database, a hashbrown table of
//! entries. A key lives in the shard its hash's upper 32 bits pick (`shard_of_hash`) whatever its database, so commands that move a
//! key between databases (MOVE, SWAPDB) stay within a shard. Commands lock the shards they touch;
//! multi-key commands lock theirs in ascending order, so two of them never deadlock.

pub mod analytics;
pub mod backlog;
pub mod compress;
pub mod dictionary;
pub mod dump;
pub mod entry;
pub mod evict;
pub mod expire;
pub mod export;
pub mod glob;
pub mod invalidate;
pub mod labels;
pub mod listpack;
pub mod memory;
pub mod notice;
pub mod policy;
pub mod region;
pub mod shard;
pub mod sketch;
pub mod snapshot;
pub mod types;

use crate::engine::labels::LabelKind;
use crate::sync::LockExt;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

pub use entry::{CacheMeta, Entry, Prepared, Priority, StringValue, Value};
pub use labels::Name;
pub use policy::{EvictionSettings, Policy};
pub use shard::{DbShard, Shard, ShardStats, Table};

/// The fixed-seed hasher every table and the shard selection share. The seed is per process, so
/// clients cannot choose colliding keys ahead of time.
static HASH_SEED: std::sync::OnceLock<foldhash::fast::FixedState> = std::sync::OnceLock::new();

pub fn hash_key(key: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    HASH_SEED
        .get_or_init(|| foldhash::fast::FixedState::with_seed(fastrand::u64(..)))
        .hash_one(key)
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Seconds since the Unix epoch folded into 24 bits, as Redis's LRU clock.
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

thread_local! {
    /// Set while a CLIENT NO-TOUCH client's command runs on this thread: its reads leave the
    /// access time and the LFU counter as they were.
    static NO_TOUCH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the command about to run on this thread as one whose reads do not touch the keys (true)
/// or as an ordinary one (false).
pub fn set_no_touch(no_touch: bool) {
    NO_TOUCH.with(|flag| flag.set(no_touch));
}

fn no_touch() -> bool {
    NO_TOUCH.with(|flag| flag.get())
}

pub fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) as u32) & LRU_CLOCK_MAX
}

/// Seconds elapsed since an entry's `lru` stamp, wrapping like Redis's `estimateObjectIdleTime`.
pub fn idle_seconds(lru: u32, now_ms: u64) -> u64 {
    let clock = lru_clock(now_ms);
    if clock >= lru {
        (clock - lru) as u64
    } else {
        (clock + (LRU_CLOCK_MAX - lru)) as u64
    }
}

/// Keyspace-wide totals, kept by every write path (see `DbShard::sync_totals`), so that the memory
/// and key limits are checked in O(1).
#[derive(Default)]
pub struct Totals {
    pub bytes: AtomicUsize,
    pub keys: AtomicUsize,
    /// Keys of each priority (low, normal, high, critical).
    pub by_priority: [AtomicUsize; 4],
}

/// What one table contributes to the totals: bytes, keys, keys per priority.
pub type Contribution = (usize, usize, [usize; 4]);

impl Totals {
    fn apply(&self, before: Contribution, now: Contribution) {
        // An evictor that sees a key counted must see its priority too, or with the only low key
        // just written it finds the floor higher and takes a high key: priorities go up before the
        // counts (Release, read with Acquire by `over`) and come down after them.
        let adjust = |counter: &AtomicUsize, old: usize, new: usize| {
            if new > old {
                counter.fetch_add(new - old, Ordering::AcqRel);
            } else if old > new {
                counter.fetch_sub(old - new, Ordering::AcqRel);
            }
        };
        let priorities = || self.by_priority.iter().zip(before.2.into_iter().zip(now.2));
        for (counter, (old, new)) in priorities().filter(|(_, (old, new))| new > old) {
            adjust(counter, old, new);
        }
        adjust(&self.bytes, before.0, now.0);
        adjust(&self.keys, before.1, now.1);
        for (counter, (old, new)) in priorities().filter(|(_, (old, new))| new < old) {
            adjust(counter, old, new);
        }
    }

    /// A change of bytes that belong to no table (a shard's admission sketch).
    pub fn adjust_bytes(&self, before: usize, now: usize) {
        if now > before {
            self.bytes.fetch_add(now - before, Ordering::AcqRel);
        } else if before > now {
            self.bytes.fetch_sub(before - now, Ordering::AcqRel);
        }
    }

    /// The lowest priority any key has, or `None` for an empty keyspace.
    pub fn lowest_priority(&self) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| self.by_priority[*p as usize].load(Ordering::Acquire) > 0)
    }
}

/// The eviction settings in a form every thread reads without a lock.
#[derive(Default)]
struct SharedSettings {
    maxmemory: AtomicUsize,
    maxmemory_keys: AtomicUsize,
    policy: AtomicU8,
    samples: AtomicUsize,
    lfu_log_factor: AtomicU32,
    lfu_decay_time: AtomicU32,
    priority_idle_demote: AtomicU64,
    /// Unix ms until which keys neither expire nor are evicted (CLIENT PAUSE), 0 when not paused.
    changes_paused_until: AtomicU64,
    compression_level: AtomicU8,
    compression_min_size: AtomicUsize,
    compression_backlog: AtomicUsize,
}

pub struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    shard_mask: usize,
    databases: usize,
    pub totals: Totals,
    /// What the process holds besides the data (measured at startup), counted in `used_memory`
    /// and so against `maxmemory`, as Redis counts its own.
    pub baseline: AtomicUsize,
    settings: SharedSettings,
    pub evictions: evict::EvictionState,
    /// Where every change to a key is announced (see `notice`).
    pub notices: notice::Notices,
    /// Keys invalidated but not deleted yet (see `invalidate`).
    pub sweeper: invalidate::Sweeper,
    /// Prefixes with budgets of their own (see `region`).
    pub regions: region::Regions,
    /// Per-prefix compression dictionaries (see `dictionary`).
    pub dictionaries: dictionary::Dictionaries,
    /// Strings stored raw for the background compressor (see `backlog`): its totals and thread.
    pub compressor: backlog::Compressor,
}

impl Keyspace {
    /// `shards` is rounded up to a power of two.
    pub fn new(shards: usize, databases: usize) -> Self {
        let count = shards.max(1).next_power_of_two();
        let keyspace = Keyspace {
            shards: (0..count)
                .map(|_| Mutex::new(Shard::new(databases)))
                .collect(),
            shard_mask: count - 1,
            databases,
            totals: Totals::default(),
            baseline: AtomicUsize::new(0),
            settings: SharedSettings::default(),
            evictions: evict::EvictionState::default(),
            notices: notice::Notices::new(count, databases),
            sweeper: invalidate::Sweeper::default(),
            regions: region::Regions::default(),
            dictionaries: dictionary::Dictionaries::default(),
            compressor: backlog::Compressor::default(),
        };
        keyspace.set_eviction_settings(EvictionSettings::default());
        keyspace.set_compression(compress::Settings::default());
        let sketches = count * sketch::Sketch::default().bytes();
        keyspace.totals.bytes.store(sketches, Ordering::Relaxed);
        keyspace
    }

    pub fn eviction_settings(&self) -> EvictionSettings {
        let s = &self.settings;
        EvictionSettings {
            maxmemory: s.maxmemory.load(Ordering::Relaxed),
            maxmemory_keys: s.maxmemory_keys.load(Ordering::Relaxed),
            policy: Policy::from_u8(s.policy.load(Ordering::Relaxed)),
            samples: s.samples.load(Ordering::Relaxed),
            lfu_log_factor: s.lfu_log_factor.load(Ordering::Relaxed),
            lfu_decay_time: s.lfu_decay_time.load(Ordering::Relaxed),
            priority_idle_demote: s.priority_idle_demote.load(Ordering::Relaxed),
            window_percent: EvictionSettings::default().window_percent,
        }
    }

    pub fn set_eviction_settings(&self, settings: EvictionSettings) {
        let s = &self.settings;
        s.maxmemory.store(settings.maxmemory, Ordering::Relaxed);
        s.maxmemory_keys
            .store(settings.maxmemory_keys, Ordering::Relaxed);
        s.policy.store(settings.policy as u8, Ordering::Relaxed);
        s.samples.store(settings.samples, Ordering::Relaxed);
        s.lfu_log_factor
            .store(settings.lfu_log_factor, Ordering::Relaxed);
        s.lfu_decay_time
            .store(settings.lfu_decay_time, Ordering::Relaxed);
        s.priority_idle_demote
            .store(settings.priority_idle_demote, Ordering::Relaxed);
    }

    pub fn compression(&self) -> compress::Settings {
        let s = &self.settings;
        compress::Settings {
            level: compress::Level::from_u8(s.compression_level.load(Ordering::Relaxed)),
            min_size: s.compression_min_size.load(Ordering::Relaxed),
            backlog: s.compression_backlog.load(Ordering::Relaxed),
        }
    }

    pub fn set_compression(&self, settings: compress::Settings) {
        let s = &self.settings;
        s.compression_level
            .store(settings.level as u8, Ordering::Relaxed);
        s.compression_min_size
            .store(settings.min_size, Ordering::Relaxed);
        s.compression_backlog
            .store(settings.backlog, Ordering::Relaxed);
    }

    /// The compressed strings of every database (INFO's compression section).
    pub fn compression_footprint(&self) -> compress::Footprint {
        let mut total = compress::Footprint::default();
        self.for_each_shard(|_, shard| {
            for table in shard.dbs.iter() {
                total.merge(&table.compressed);
            }
        });
        total
    }

    /// Keeps the dataset still until `until_ms` (Unix ms; 0 ends it at once), as Redis does while
    /// clients are paused: expired keys read as missing but are not deleted, nothing is evicted,
    /// so a failover sees the data the paused writers left.
    pub fn pause_changes_until(&self, until_ms: u64) {
        self.settings
            .changes_paused_until
            .store(until_ms, Ordering::Relaxed);
    }

    pub fn changes_paused(&self, now_ms: u64) -> bool {
        now_ms < self.settings.changes_paused_until.load(Ordering::Relaxed)
    }

    /// The view of database `db` in a locked shard, for code that locked the shard itself.
    pub fn view<'s>(&'s self, shard: &'s mut Shard, db: usize, now_ms: u64) -> DbShard<'s> {
        DbShard {
            table: &mut shard.dbs[db],
            shard_keys: &mut shard.keys,
            stats: &mut shard.stats,
            sketch: &mut shard.sketch,
            window: &mut shard.window,
            admission: &mut shard.admission,
            analytics: &mut shard.analytics,
            backlog: &mut shard.backlog,
            db,
            totals: &self.totals,
            regions: &self.regions,
            dictionaries: &self.dictionaries,
            compressor: &self.compressor,
            notices: &self.notices,
            settings: self.eviction_settings(),
            compression: self.compression(),
            now_ms,
            lru_clock: lru_clock(now_ms),
            changes_paused: self.changes_paused(now_ms),
        }
    }

    /// Empties database `db` (every database when `None`) in every shard, atomically for other
    /// clients, and returns the tables so the caller decides where to free them.
    pub fn take_tables(&self, db: Option<usize>) -> Vec<Table> {
        let mut taken = Vec::new();
        let mut locked = self.lock_all();
        // Every shard is held: the running totals must equal a recount, to the byte.
        #[cfg(debug_assertions)]
        {
            let (bytes, keys) = locked.recount();
            assert_eq!(
                (
                    self.totals.bytes.load(Ordering::Relaxed),
                    self.totals.keys.load(Ordering::Relaxed)
                ),
                (bytes, keys),
                "running totals (bytes, keys) differ from a recount"
            );
        }
        let now = now_ms();
        self.notices
            .labels
            .clear(&self.notices.names, &self.notices.dependencies, db);
        locked.for_each(|shard| {
            let range = match db {
                Some(db) => db..db + 1,
                None => 0..shard.dbs.len(),
            };
            for index in range {
                // One table per (shard, database) flushed, in order, even where there is none
                // (an empty one allocates nothing): WATCH finds a key's table by position.
                if shard.dbs.exists(index) {
                    taken.push(self.view(shard, index, now).take_all());
                } else if index < shard.dbs.len() {
                    taken.push(Table::default());
                }
            }
            if shard.keys == 0 {
                let (before, now) = shard.forget_accesses();
                self.totals.adjust_bytes(before, now);
            }
        });
        // Announced before the shards are released, so no write can slip in between.
        self.notices.emit(&notice::Notice {
            db: db.unwrap_or(0),
            target: match db {
                Some(_) => notice::Target::Db,
                None => notice::Target::All,
            },
            class: notice::class::GENERIC,
            event: if db.is_some() { "flushdb" } else { "flushall" },
        });
        drop(locked);
        taken
    }

    pub fn databases(&self) -> usize {
        self.databases
    }

    /// Gives back memory the data no longer needs, one shard locked at a time: the slots of
    /// tables that deletions left sparse, and sketches sized for keys that are gone (the cron
    /// calls it; deletions alone never shrink either).
    pub fn shrink_to_fit(&self) {
        let now = now_ms();
        self.for_each_shard(|_, shard| {
            for db in 0..shard.dbs.len() {
                if shard.dbs.exists(db) {
                    self.view(shard, db, now).shrink_if_sparse();
                }
            }
            if shard.sketch.is_grown() {
                self.view(shard, 0, now).fit_sketch();
            }
        });
    }

    /// Called when the keyspace is over its memory limit with nothing left to evict. With keys
    /// left, that is the policy's answer (`noeviction`, a volatile policy and no volatile key)
    /// and the write is refused, as Redis does. With none, what is counted must be what an empty
    /// keyspace holds once sparse tables and grown sketches are given back: more is a defect of
    /// the accounting, logged as an error and repaired from a recount, rather than every write
    /// refused from then on. Returns whether the keyspace is now within its limits.
    pub fn settle_empty(&self) -> bool {
        if self.totals.keys.load(Ordering::Acquire) > 0 {
            return false;
        }
        self.shrink_to_fit();
        let mut locked = self.lock_all();
        let now = now_ms();
        // A table whose count missed a change is brought in line with what it holds...
        locked.for_each(|shard| {
            for db in 0..shard.dbs.len() {
                if shard.dbs.exists(db) {
                    self.view(shard, db, now).sync_totals();
                }
            }
        });
        // ...and bytes counted outside any table are set to what the shards hold.
        let (bytes, keys) = locked.recount();
        let counted = self.totals.bytes.load(Ordering::Acquire);
        if counted != bytes || self.totals.keys.load(Ordering::Acquire) != keys {
            tracing::error!(
                counted,
                recounted = bytes,
                keys,
                "memory accounting was wrong: the keyspace counted more than it holds; \
                 repaired from a recount (please report this)"
            );
            self.totals.bytes.store(bytes, Ordering::Release);
            self.totals.keys.store(keys, Ordering::Release);
        }
        drop(locked);
        let within = !self.over_limit();
        if !within {
            warn_limit_below_empty(self.used_memory(), self.eviction_settings().maxmemory);
        }
        within
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The shard of a key. Uses the hash's upper half, because the tables take their bucket index
    /// from the low bits and their tag from the top seven.
    pub fn shard_of_hash(&self, hash: u64) -> usize {
        shard_of_hash(hash, self.shard_mask)
    }

    pub fn lock_shard(&self, index: usize) -> MutexGuard<'_, Shard> {
        // A panic while a shard was held cannot leave a table half-updated in a way we could
        // detect better than by carrying on; Redis would have crashed instead.
        self.shards[index & self.shard_mask].lock_or_recover()
    }

    /// Runs `f` on the key's shard of database `db` with the shard locked.
    pub fn with_key<R>(
        &self,
        db: usize,
        key: &[u8],
        now_ms: u64,
        f: impl FnOnce(&mut DbShard<'_>, u64) -> R,
    ) -> R {
        let hash = hash_key(key);
        let mut shard = self.lock_shard(self.shard_of_hash(hash));
        let mut view = self.view(&mut shard, db, now_ms);
        f(&mut view, hash)
    }

    /// Locks the shards of all `keys` in ascending order for a command that must see or change them
    /// atomically (MSET, MSETNX, RENAME, COPY).
    pub fn lock_keys<'a, K: AsRef<[u8]>>(
        &'a self,
        keys: impl IntoIterator<Item = K>,
    ) -> Locked<'a> {
        let mut indexes: Vec<usize> = keys
            .into_iter()
            .map(|k| self.shard_of_hash(hash_key(k.as_ref())))
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        Locked {
            keyspace: self,
            guards: indexes
                .into_iter()
                .map(|i| (i, self.lock_shard(i)))
                .collect(),
        }
    }

    /// Locks the shards given in ascending order, without duplicates.
    pub fn lock_shards(&self, indexes: &[usize]) -> Locked<'_> {
        Locked {
            keyspace: self,
            guards: indexes.iter().map(|&i| (i, self.lock_shard(i))).collect(),
        }
    }

    /// Locks every shard in ascending order (SWAPDB, FLUSHALL).
    pub fn lock_all(&self) -> Locked<'_> {
        Locked {
            keyspace: self,
            guards: (0..self.shards.len())
                .map(|i| (i, self.lock_shard(i)))
                .collect(),
        }
    }

    /// Runs `f` on every shard in turn, each locked only for its own call.
    pub fn for_each_shard(&self, mut f: impl FnMut(usize, &mut Shard)) {
        for index in 0..self.shards.len() {
            let mut shard = self.lock_shard(index);
            f(index, &mut shard);
        }
    }

    pub fn stats(&self) -> ShardStats {
        let mut total = ShardStats::default();
        self.for_each_shard(|_, shard| {
            total.hits += shard.stats.hits;
            total.misses += shard.stats.misses;
            total.expired += shard.stats.expired;
            total.expired_fields += shard.stats.expired_fields;
            total.expire_sampled += shard.stats.expire_sampled;
            total.invalidated += shard.stats.invalidated;
        });
        total
    }

    /// Size of the label index (INFO cachet): tags of every database.
    pub fn label_stats(&self) -> LabelStats {
        let labels = &self.notices.labels;
        LabelStats {
            tags: labels.count(LabelKind::Tag),
            tag_bytes: labels.memory_of(LabelKind::Tag),
            dependency_bytes: labels.memory_of(LabelKind::Parent),
        }
    }

    /// Per tag of database `db`: (keys, bytes of their entries, reads that hit them), for the
    /// tags named, or for every tag when `names` is `None`.
    pub fn tag_stats(&self, db: usize, names: Option<&[&[u8]]>) -> Vec<(Box<[u8]>, TagStats)> {
        let mut merged: std::collections::BTreeMap<Box<[u8]>, TagStats> = Default::default();
        if let Some(names) = names {
            for name in names {
                merged.entry((*name).into()).or_default();
            }
        }
        let mut add = |label: &labels::Label| {
            let stats = merged.entry((*label.name).into()).or_default();
            stats.keys += label.len();
            stats.bytes += label.entry_bytes;
            stats.hits += label.hits;
        };
        let index = &self.notices.labels;
        match names {
            Some(names) => names.iter().for_each(|n| {
                index.with(LabelKind::Tag, db, n, &mut add);
            }),
            None => index.for_each(LabelKind::Tag, db, &mut add),
        }
        merged.into_iter().collect()
    }

    pub fn reset_stats(&self) {
        self.for_each_shard(|_, shard| shard.stats = ShardStats::default());
    }

    /// Bytes held by the data: entries and table slots of every database, the eviction
    /// sketches, and the compression dictionaries with their samples.
    pub fn memory(&self) -> usize {
        self.totals.bytes.load(Ordering::Relaxed)
            + self.notices.names.memory()
            + self.notices.labels.memory()
            + self.dictionaries.memory()
    }

    /// `used_memory`: the data plus the baseline. This is what `maxmemory` limits.
    pub fn used_memory(&self) -> usize {
        self.memory() + self.baseline.load(Ordering::Relaxed)
    }

    /// (keys, keys with an expiry) for each database.
    pub fn db_sizes(&self) -> Vec<(usize, usize)> {
        let mut sizes = vec![(0, 0); self.databases];
        self.for_each_shard(|_, shard| {
            for (size, table) in sizes.iter_mut().zip(shard.dbs.iter()) {
                size.0 += table.map.len();
                size.1 += table.volatile;
            }
        });
        sizes
    }

    pub fn dbsize(&self, db: usize) -> usize {
        let mut total = 0;
        self.for_each_shard(|_, shard| total += shard.dbs[db].map.len());
        total
    }
}

/// An empty keyspace over `maxmemory` that the accounting explains: the limit is below what the
/// process needs to start. Writes are refused, as Redis refuses them; said at most every 10 s.
fn warn_limit_below_empty(used: usize, maxmemory: usize) {
    static LAST_WARNING_MS: AtomicU64 = AtomicU64::new(0);
    let now = now_ms();
    let last = LAST_WARNING_MS.load(Ordering::Relaxed);
    if now.saturating_sub(last) >= 10_000
        && LAST_WARNING_MS
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(
            used_memory = used,
            maxmemory,
            "maxmemory is below what an empty keyspace needs: writes are refused"
        );
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TagStats {
    pub keys: usize,
    pub bytes: usize,
    pub hits: u64,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct LabelStats {
    pub tags: usize,
    pub tag_bytes: usize,
    pub dependency_bytes: usize,
}

/// The shard of a key hash among `mask + 1` shards (`Keyspace::shard_of_hash`).
pub fn shard_of_hash(hash: u64, mask: usize) -> usize {
    ((hash >> 32) as usize) & mask
}

/// A set of shards locked together, in ascending shard order.
pub struct Locked<'a> {
    keyspace: &'a Keyspace,
    guards: Vec<(usize, MutexGuard<'a, Shard>)>,
}

impl<'a> Locked<'a> {
    /// The view of `key`'s shard in database `db`, with the key's hash. The shard must be one of
    /// those locked (it is, for every key passed to `lock_keys`).
    pub fn view(&mut self, db: usize, key: &[u8], now_ms: u64) -> Option<(DbShard<'_>, u64)> {
        let hash = hash_key(key);
        let index = self.keyspace.shard_of_hash(hash);
        // The guards are in ascending shard order (SORT's pattern lookups hold all of them).
        let at = self.guards.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        let slot = self.guards.get_mut(at)?;
        Some((self.keyspace.view(&mut slot.1, db, now_ms), hash))
    }

    /// The view of database `db` in the shard of the key hash `hash`, if that shard is locked.
    pub fn view_of_hash(&mut self, db: usize, hash: u64, now_ms: u64) -> Option<DbShard<'_>> {
        let index = self.keyspace.shard_of_hash(hash);
        let at = self.guards.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        let slot = self.guards.get_mut(at)?;
        Some(self.keyspace.view(&mut slot.1, db, now_ms))
    }

    /// The entry of `key` in database `db` without expiring it or counting an access, for a
    /// command that reads several keys' values at once (SINTER, SUNION...) after looking each one
    /// up through `view` (which applies expiry and statistics). `None` when the key is absent or
    /// its shard is not among those locked.
    pub fn entry(&self, db: usize, key: &[u8]) -> Option<&Entry> {
        let hash = hash_key(key);
        let index = self.keyspace.shard_of_hash(hash);
        let (_, guard) = self.guards.iter().find(|(i, _)| *i == index)?;
        let table = guard.dbs.get(db)?;
        table.map.find(hash, |e| e.key() == key)
    }

    /// (bytes, keys) the locked shards hold, counted afresh.
    pub fn recount(&self) -> (usize, usize) {
        self.guards
            .iter()
            .fold((0, 0), |(bytes, keys), (_, shard)| {
                let shard_keys: usize = shard.dbs.iter().map(|t| t.map.len()).sum();
                (bytes + shard.memory(), keys + shard_keys)
            })
    }

    /// As `for_each`, reading only.
    pub fn for_each_ref(&self, mut f: impl FnMut(&Shard)) {
        for (_, guard) in self.guards.iter() {
            f(guard);
        }
    }

    pub fn for_each(&mut self, mut f: impl FnMut(&mut Shard)) {
        self.for_each_indexed(|_, shard| f(shard));
    }

    /// As `for_each`, with each shard's index.
    pub fn for_each_indexed(&mut self, mut f: impl FnMut(usize, &mut Shard)) {
        for (index, guard) in self.guards.iter_mut() {
            f(*index, guard);
        }
    }
}
