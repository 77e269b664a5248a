//! Invalidation of groups of keys: by tag (`TAG.INVALIDATE`), by parent (`CACHE.DEPEND`), by glob
//! pattern (`CACHE.INVALIDATE`). Label invalidation is atomic and O(shards) for the caller; the
//! keys it made stale are deleted afterwards by the sweeper in small batches (see `labels`).

use crate::sync::LockExt;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::engine::glob::glob_match;
use crate::engine::labels::{label_hash, LabelKind, Taken};
use crate::engine::notice::{class, Notice, Target};
use crate::engine::shard::INVALIDATED;
use crate::engine::{now_ms, Keyspace};

/// Keys a sweep deletes per shard lock: a few microseconds of work, so a reader waiting on the
/// lock barely notices.
pub const SWEEP_BATCH: usize = 256;
/// A shard's share of a label up to this many keys is deleted by the invalidation itself, under
/// the lock its take already holds, rather than queued for the sweeper: the label and its keys are
/// then still in cache, where the sweeper, running later, met every one of them again as a cache
/// miss (`LabelIndex::get` took 46% of the CPU of 100,000 invalidations of 10-key tags, whose share
/// per shard is a key or two). The command stays O(shards): each shard's share is bounded.
const INLINE_SWEEP: usize = 32;
/// Buckets a pattern invalidation visits per shard lock.
const PATTERN_BATCH: usize = 1024;

struct SweepJob {
    shard: usize,
    db: usize,
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
    /// clients (the shards holding the labels' keys, or for parents every shard, are locked
    /// while the key sets are taken, a few microseconds for the lot), after which readers miss
    /// those keys. Returns how many keys that was.
    pub fn invalidate_labels(&self, db: usize, kind: LabelKind, names: &[&[u8]]) -> usize {
        if db >= self.databases() || names.is_empty() {
            return 0;
        }
        let now = now_ms();
        let mut jobs = Vec::new();
        let mut swept_at_once = 0;
        let mut locked = match kind {
            LabelKind::Tag => self.lock_tag_shards(db, names),
            LabelKind::Parent => self.lock_all(),
        };
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
        locked.for_each_indexed(|index, shard| {
            let mut view = self.view(shard, db, now);
            for name in names {
                if let Some(mut taken) = view.take_label(kind, name) {
                    if taken.len() <= INLINE_SWEEP {
                        swept_at_once += taken.len();
                        taken.flatten();
                        for &hash in &taken.keys {
                            view.sweep_key(hash, kind, name);
                        }
                        view.sweep_done(kind, name);
                    } else {
                        jobs.push(SweepJob {
                            shard: index,
                            db,
                            taken,
                            next: 0,
                        });
                    }
                }
                // Also drops a listing left by a FLUSHDB, whose tables went without unlisting.
                let hash = label_hash(name);
                if kind == LabelKind::Tag && !view.table.tags.holds_hash(hash) {
                    self.notices.tag_shards.unlist(db, hash, index);
                }
            }
        });
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

    /// Locks the shards listed for the tags (`TagShards`). The listing read before locking may be
    /// stale: it is read again under the locks, and while it names a shard not locked, the lot is
    /// released and taken again with it. Once it names none, no other shard can hold a key of
    /// the tags until these locks are released. With no shard listed, shard 0 is locked so that
    /// the listing is read under a lock, as SWAPDB's swap of it needs.
    fn lock_tag_shards(&self, db: usize, names: &[&[u8]]) -> crate::engine::Locked<'_> {
        let hashes: Vec<u64> = names.iter().map(|name| label_hash(name)).collect();
        let listed = |out: &mut Vec<usize>| {
            out.clear();
            for &hash in &hashes {
                self.notices.tag_shards.shards(db, hash, out);
            }
            out.sort_unstable();
            out.dedup();
        };
        let (mut want, mut now) = (Vec::new(), Vec::new());
        listed(&mut want);
        loop {
            let locked = if want.is_empty() {
                self.lock_shards(&[0])
            } else {
                self.lock_shards(&want)
            };
            listed(&mut now);
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

    /// Up to `budget` keys of the first waiting job, under its shard's lock.
    fn sweep_job(&self, budget: usize) -> usize {
        let job = self.sweeper.jobs.lock_or_recover().pop_front();
        let Some(mut job) = job else {
            return 0;
        };
        // Listing the taken set costs O(keys): done here, by the sweeper, with no lock held, so
        // that TAG.INVALIDATE answers in O(shards) whatever the size of the tag.
        job.taken.flatten();
        let mut shard = self.lock_shard(job.shard);
        let mut view = self.view(&mut shard, job.db, now_ms());
        let end = (job.next + budget.max(1)).min(job.taken.keys.len());
        let (kind, name) = (job.taken.kind, &job.taken.name);
        for &hash in job.taken.keys.get(job.next..end).unwrap_or(&[]) {
            view.sweep_key(hash, kind, name);
        }
        let looked = end - job.next;
        job.next = end;
        if end >= job.taken.keys.len() {
            view.sweep_done(kind, name);
        }
        drop(shard);
        self.sweeper
            .backlog
            .fetch_sub(looked as u64, Ordering::Relaxed);
        if job.next < job.taken.keys.len() {
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
