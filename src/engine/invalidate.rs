//! Invalidation of groups of keys: by tag (`TAG.INVALIDATE`), by parent (`CACHE.DEPEND`), by glob
//! pattern (`CACHE.INVALIDATE`). Label invalidation is atomic and O(shards) for the caller; the
//! keys it made stale are deleted afterwards by the sweeper in small batches (see `labels`), a
//! shard at a time.

use crate::sync::LockExt;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::engine::glob::glob_match;
use crate::engine::labels::{LabelKind, Taken};
use crate::engine::notice::{class, Notice, Target};
use crate::engine::shard::INVALIDATED;
use crate::engine::{now_ms, Entry, Keyspace};

/// Keys a sweep deletes per shard lock: a few microseconds of work, so a reader waiting on the
/// lock barely notices.
pub const SWEEP_BATCH: usize = 256;
/// A label of up to this many keys is deleted by the invalidation itself, under the locks its
/// take already holds, rather than queued for the sweeper: the keys are then still in cache,
/// where the sweeper, running later, met every one of them again as a cache miss. The command
/// stays bounded: at most this many deletions per label.
const INLINE_SWEEP: usize = 64;
/// Buckets a pattern invalidation visits per shard lock.
const PATTERN_BATCH: usize = 1024;

/// A taken set on its way through the sweeper: `taken.keys` in shard order, `next` the first not
/// yet looked at.
struct SweepJob {
    taken: Taken,
    next: usize,
}

#[derive(Default)]
pub struct Sweeper {
    jobs: Mutex<VecDeque<SweepJob>>,
    /// Signalled when jobs are queued; the server's sweeper task waits on it.
    pub wakeup: tokio::sync::Notify,
    /// Keys waiting to be swept.
    pub backlog: AtomicU64,
}

impl Keyspace {
    /// Invalidates every key of database `db` carrying one of the labels: atomically for other
    /// clients (the shards holding the labels' keys are locked while the key sets are taken, a
    /// few microseconds for the lot; see `labels::index` for why that suffices), after which
    /// readers miss those keys. Returns how many keys that was.
    pub fn invalidate_labels(&self, db: usize, kind: LabelKind, names: &[&[u8]]) -> usize {
        if db >= self.databases() || names.is_empty() {
            return 0;
        }
        let now = now_ms();
        let labels = &self.notices.labels;
        let mut jobs = Vec::new();
        let mut swept_at_once = 0;
        let mut locked = self.lock_label_shards(db, kind, names);
        // Announced before any key goes, so that the tag's notice precedes its keys' as it does
        // when the sweeper deletes them.
        if kind == LabelKind::Tag {
            for name in names {
                self.notices.emit(&Notice {
                    db,
                    target: Target::Tag(name),
                    class: class::INVALIDATE,
                    event: "tag.invalidate",
                });
            }
        }
        for name in names {
            let Some(mut taken) = labels.take(&self.notices.names, kind, db, name) else {
                continue;
            };
            locked.for_each(|shard| self.view(shard, db, now).note_invalidation());
            if kind == LabelKind::Parent {
                let children = -(taken.len() as isize);
                self.notices.dependencies.register(name, children);
            }
            if taken.len() > INLINE_SWEEP {
                jobs.push(SweepJob { taken, next: 0 });
                continue;
            }
            swept_at_once += taken.len();
            taken.flatten(self.shard_count() - 1);
            for &hash in &taken.keys {
                if let Some(mut view) = locked.view_of_hash(db, hash, now) {
                    view.sweep_key(hash, &taken);
                }
            }
            labels.sweep_done(&self.notices.names, &taken);
        }
        drop(locked);
        let queued: usize = jobs.iter().map(|j| j.taken.len()).sum();
        if !jobs.is_empty() {
            self.sweeper
                .backlog
                .fetch_add(queued as u64, Ordering::Relaxed);
            self.sweeper.jobs.lock_or_recover().extend(jobs);
            self.sweeper.wakeup.notify_one();
        }
        swept_at_once + queued
    }

    /// Visits the live keys listed under a label from bucket `cursor` of its key set, for at
    /// most `count` listed keys, each shard locked once; expired or invalidated ones it meets are
    /// deleted, as SCAN does. Returns (the set's buckets, the next bucket or `None` at the end).
    pub fn label_keys(
        &self,
        db: usize,
        (kind, name): (LabelKind, &[u8]),
        cursor: usize,
        count: usize,
        now_ms: u64,
        mut f: impl FnMut(&Entry),
    ) -> (usize, Option<usize>) {
        let mut hashes = Vec::new();
        let walked = self.notices.labels.with(kind, db, name, |label| {
            let next = label.walk(cursor, count, |h| hashes.push(h));
            (label.buckets(), next)
        });
        hashes.sort_unstable_by_key(|&h| self.shard_of_hash(h));
        for group in hashes.chunk_by(|&a, &b| self.shard_of_hash(a) == self.shard_of_hash(b)) {
            let mut shard = self.lock_shard(self.shard_of_hash(group[0]));
            let mut view = self.view(&mut shard, db, now_ms);
            for &hash in group {
                view.labelled(hash, kind, name, &mut f);
            }
        }
        walked.unwrap_or((0, None))
    }

    /// Locks the shards holding the labels' keys (every shard for a label too big to list
    /// them). The shards read before locking may be stale: they are read again under the locks,
    /// and while they name a shard not locked, the lot is released and taken again with it.
    /// Once they name none, no key of the labels outside these shards can be taken before the
    /// locks are released. With no key at all, shard 0 is locked so that the index is read
    /// under a lock, as SWAPDB's swap of its database ids needs.
    fn lock_label_shards(
        &self,
        db: usize,
        kind: LabelKind,
        names: &[&[u8]],
    ) -> crate::engine::Locked<'_> {
        let labels = &self.notices.labels;
        let listed = |out: &mut Vec<usize>| {
            out.clear();
            let fits = labels.shards(kind, db, names, out);
            out.sort_unstable();
            out.dedup();
            fits
        };
        let (mut want, mut now) = (Vec::new(), Vec::new());
        if !listed(&mut want) {
            return self.lock_all();
        }
        loop {
            let locked = if want.is_empty() {
                self.lock_shards(&[0])
            } else {
                self.lock_shards(&want)
            };
            if !listed(&mut now) {
                drop(locked);
                return self.lock_all();
            }
            if now.iter().all(|s| want.binary_search(s).is_ok()) {
                return locked;
            }
            drop(locked);
            want.append(&mut now);
            want.sort_unstable();
            want.dedup();
        }
    }

    /// Deletes up to `budget` keys made stale by invalidations, each job's share under its own
    /// shard lock. Returns how many keys it looked at (0 when nothing is waiting).
    ///
    /// Goes on to the next job while the budget lasts: a small tag spread over the shards leaves
    /// one job of a key or two per shard, and the server's sweeper task yields to the clients
    /// after every step, so one job per step swept 100,000 tags of 10 keys at one key per
    /// scheduler turn (~40k keys/s under GET load, measured with benches/invalidate.rs).
    pub fn sweep_step(&self, budget: usize) -> usize {
        let budget = budget.max(1);
        let mut looked = 0;
        while looked < budget {
            let swept = self.sweep_job(budget - looked);
            if swept == 0 {
                break;
            }
            looked += swept;
        }
        looked
    }

    /// Up to `budget` keys of the first waiting job that lie in one shard, under its lock.
    fn sweep_job(&self, budget: usize) -> usize {
        let job = self.sweeper.jobs.lock_or_recover().pop_front();
        let Some(mut job) = job else {
            return 0;
        };
        // Listing the taken set costs O(keys): done here, by the sweeper, with no lock held, so
        // that TAG.INVALIDATE answers in bounded time whatever the size of the label.
        job.taken.flatten(self.shard_count() - 1);
        let keys = &job.taken.keys;
        let Some(&first) = keys.get(job.next) else {
            return 0;
        };
        let index = self.shard_of_hash(first);
        let mut shard = self.lock_shard(index);
        let labels = &self.notices.labels;
        // A flush since the take dropped the label: nothing of it is left to sweep.
        let Some(db) = labels.db_of(&job.taken) else {
            drop(shard);
            let left = keys.len() - job.next;
            self.sweeper
                .backlog
                .fetch_sub(left as u64, Ordering::Relaxed);
            return left;
        };
        let mut view = self.view(&mut shard, db, now_ms());
        let start = job.next;
        let end = (start + budget.max(1)).min(keys.len());
        while job.next < end && self.shard_of_hash(keys[job.next]) == index {
            view.sweep_key(keys[job.next], &job.taken);
            job.next += 1;
        }
        let looked = job.next - start;
        let done = job.next >= keys.len();
        if done {
            labels.sweep_done(&self.notices.names, &job.taken);
        }
        drop(shard);
        self.sweeper
            .backlog
            .fetch_sub(looked as u64, Ordering::Relaxed);
        if !done {
            self.sweeper.jobs.lock_or_recover().push_front(job);
        }
        looked
    }

    /// Sweeps until nothing is waiting (tests, and shutdown).
    pub fn sweep_all(&self) {
        while self.sweep_step(SWEEP_BATCH) > 0 {
            self.invalidate_dependents();
        }
        self.invalidate_dependents();
    }

    /// Invalidates the dependents of every key changed since the last call (`CACHE.DEPEND`).
    /// Cheap when nothing changed: one atomic load. Runs after each command and sweep step, so
    /// chains of dependencies resolve as their links are deleted; a cycle ends because a deleted
    /// key is not deleted (nor announced) twice.
    pub fn invalidate_dependents(&self) {
        loop {
            let changed = self.notices.dependencies.take_changed();
            if changed.is_empty() {
                return;
            }
            for db in 0..self.databases() {
                let names: Vec<&[u8]> = changed
                    .iter()
                    .filter(|(d, _)| *d == db)
                    .map(|(_, name)| &name[..])
                    .collect();
                self.invalidate_labels(db, LabelKind::Parent, &names);
            }
        }
    }

    /// Deletes every key of `db` matching the glob `pattern`, a batch of buckets per shard lock,
    /// so other clients keep running. Keys written while it runs may or may not be deleted.
    /// Returns how many keys it deleted.
    pub fn invalidate_pattern(&self, db: usize, pattern: &[u8]) -> usize {
        if db >= self.databases() {
            return 0;
        }
        self.notices.emit(&Notice {
            db,
            target: Target::Pattern(pattern),
            class: class::INVALIDATE,
            event: "cache.invalidate",
        });
        let mut deleted = 0;
        for index in 0..self.shard_count() {
            let mut cursor = Some(0);
            let mut buckets = None;
            while let Some(mut at) = cursor {
                let mut shard = self.lock_shard(index);
                let mut view = self.view(&mut shard, db, now_ms());
                // The table grew between two batches: its buckets moved, so start it over
                // (deleting is idempotent) rather than miss keys.
                let now_buckets = view.table.map.num_buckets();
                if buckets.is_some_and(|b| b != now_buckets) {
                    at = 0;
                }
                buckets = Some(now_buckets);
                let mut matching = Vec::new();
                cursor = view.walk(at, PATTERN_BATCH, |entry| {
                    if glob_match(pattern, entry.key(), false) {
                        matching.push(entry.key().to_vec());
                    }
                });
                for key in matching {
                    if view.remove(crate::engine::hash_key(&key), &key).is_some() {
                        view.stats.invalidated += 1;
                        view.notify(&key, INVALIDATED, "del");
                        deleted += 1;
                    }
                }
            }
        }
        self.invalidate_dependents();
        deleted
    }
}
