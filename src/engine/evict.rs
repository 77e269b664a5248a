//! Enforcing `maxmemory` and `maxmemory-keys`, after Redis's `evict.c`: while the keyspace is over
//! a limit, sample `maxmemory-samples` entries from a random shard, merge them into a pool of the 16
//! best candidates kept across calls, and delete the best one that still exists. Each step locks one
//! shard at a time and never while holding another, so eviction cannot deadlock with commands; the
//! cost per evicted key is a few sampled buckets, whatever the size of the keyspace.
//!
//! Values waiting for the background compressor are compressed before anything is evicted
//! (`Keyspace::compress_for_room`, `engine::backlog`).
//!
//! Critical entries are taken only when the keyspace holds nothing else. For `allkeys-cachet` the
//! chosen candidate is scored again before it is deleted, because an entry that was hit since it
//! entered the pool may no longer be the best victim.

use crate::sync::LockExt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::engine::entry::{Entry, Priority};
use crate::engine::policy::{score, EvictionSettings, Policy, Score, CRITICAL_CLASS};
use crate::engine::region::{Region, RegionTable};
use crate::engine::{hash_key, Keyspace, Shard};

/// Candidates kept between evictions, as Redis's `EVPOOL_SIZE`.
const POOL_SIZE: usize = 16;
/// Random buckets probed per sample before giving up on a sparse table.
const PROBES_PER_SAMPLE: usize = 64;
/// Sampling rounds that may find only critical entries before a walk looks for anything else.
const ROUNDS_BEFORE_WALK: usize = 8;

/// A sampled entry, known without its key: by its key's hash (its shard, and the sketch's
/// estimate), the bucket it was found in and its `Entry::identity`, so that deleting it reads the
/// slot it was sampled from and neither copies, compares nor rehashes a key.
#[derive(Clone)]
struct Candidate {
    score: Score,
    db: usize,
    hash: u64,
    bucket: usize,
    identity: usize,
}

#[derive(Default)]
pub struct EvictionState {
    pool: Mutex<Vec<Candidate>>,
    /// Held while deciding to evict one key and evicting it: without it the cron and a command
    /// (or two commands) could both see the same single key of excess and evict two, the second
    /// one above the floor once the first took the only low-priority key.
    one_at_a_time: Mutex<()>,
    pub evicted_keys: AtomicU64,
    pub evicted_bytes: AtomicU64,
    /// Evictions by priority (low, normal, high, critical).
    pub evicted_by_priority: [AtomicU64; 4],
    /// Bytes evicted by priority, for the admin port's per-priority figures.
    pub evicted_bytes_by_priority: [AtomicU64; 4],
    /// Where the fallback walk for an admissible entry resumes.
    walk_shard: AtomicUsize,
    /// Evictions that had to walk because sampling found no admissible candidate.
    pub walks: AtomicU64,
}

/// Why a write could not be given room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictError {
    /// `noeviction`, or nothing the policy may evict is left.
    NothingToEvict,
}

impl Keyspace {
    pub fn over_limit(&self) -> bool {
        let settings = self.eviction_settings();
        over(&settings, self)
    }

    /// Evicts until the keyspace is within its limits. Errors when it cannot get there.
    pub fn evict_to_limit(&self, now_ms: u64) -> Result<usize, EvictError> {
        // While clients are paused the dataset stays as it is, and the limit counts as met (Redis's
        // `performEvictions` answers EVICT_OK): writes are held back by the pause anyway.
        if self.changes_paused(now_ms) {
            return Ok(0);
        }
        let mut evicted = 0;
        loop {
            let _turn = self.evictions.one_at_a_time.lock_or_recover();
            let settings = self.eviction_settings();
            if !over(&settings, self) {
                return Ok(evicted);
            }
            if over_memory(&settings, self) && self.compress_for_room(now_ms) {
                continue;
            }
            if settings.policy == Policy::NoEviction || !self.evict_one(&settings, now_ms) {
                return match self.settle_empty() {
                    true => Ok(evicted),
                    false => Err(EvictError::NothingToEvict),
                };
            }
            evicted += 1;
        }
    }

    /// Evicts at most `max` entries while over the limits; for the background task that brings a
    /// lowered `maxmemory` down in small steps. Returns how many it evicted.
    pub fn evict_some(&self, now_ms: u64, max: usize) -> usize {
        if self.changes_paused(now_ms) {
            return 0;
        }
        let (mut evicted, mut compressed) = (0, 0);
        while evicted + compressed < max {
            let _turn = self.evictions.one_at_a_time.lock_or_recover();
            let settings = self.eviction_settings();
            if !over(&settings, self) {
                break;
            }
            if over_memory(&settings, self) && self.compress_for_room(now_ms) {
                compressed += 1;
                continue;
            }
            if settings.policy == Policy::NoEviction || !self.evict_one(&settings, now_ms) {
                break;
            }
            evicted += 1;
        }
        evicted
    }

    fn evict_one(&self, settings: &EvictionSettings, now_ms: u64) -> bool {
        // The lowest priority present anywhere: a candidate above it is not taken while it exists.
        let floor = || self.totals.lowest_priority().unwrap_or(Priority::Critical);
        for _ in 0..ROUNDS_BEFORE_WALK {
            let mut fresh = Vec::with_capacity(settings.samples);
            let shard_index = fastrand::usize(..self.shard_count());
            {
                let mut shard = self.lock_shard(shard_index);
                sample(&mut shard, settings, now_ms, &mut fresh);
            }
            self.evictions.pool.lock_or_recover().extend_sorted(fresh);
            // Try the pool's best candidates in turn: some are gone, some were used since they were
            // sampled and go back with their new score. Each pass removes or rescores one, so this
            // ends after at most two passes over the pool.
            for _ in 0..2 * POOL_SIZE {
                let best = {
                    let mut pool = self.evictions.pool.lock_or_recover();
                    take_best(&mut pool, settings, floor())
                };
                let Some(candidate) = best else { break };
                match self.evict_candidate(candidate, settings, now_ms) {
                    Outcome::Evicted => return true,
                    Outcome::Gone | Outcome::Rescored => {}
                }
            }
        }
        // Sampling keeps finding entries above the floor (or nothing): walk for an admissible one.
        self.evictions.walks.fetch_add(1, Ordering::Relaxed);
        self.evict_by_walk(settings, now_ms, floor())
    }

    /// Deletes the candidate if it still exists and still deserves it.
    fn evict_candidate(
        &self,
        candidate: Candidate,
        settings: &EvictionSettings,
        now_ms: u64,
    ) -> Outcome {
        let hash = candidate.hash;
        let mut shard = self.lock_shard(self.shard_of_hash(hash));
        let Some(table) = shard.dbs.get(candidate.db) else {
            return Outcome::Gone;
        };
        let same = |e: &Entry| e.identity() == candidate.identity;
        let bucket = match table.map.get_bucket(candidate.bucket) {
            Some(e) if same(e) => candidate.bucket,
            // The table was resized since the sample, which moved its entries.
            _ => match table.map.find_bucket_index(hash, same) {
                Some(bucket) => bucket,
                None => return Outcome::Gone,
            },
        };
        // An address is unique among live entries only: one freed since the sample may hold
        // another key now. What the Redis policies' pool decided from the sampled entry must
        // still hold of this one (allkeys-cachet scores it again below).
        let still_fits = table.map.get_bucket(bucket).is_some_and(|e| {
            (e.priority() != Priority::Critical || candidate.score.class == CRITICAL_CLASS)
                && (!settings.policy.volatile_only() || e.has_expiry())
        });
        if !still_fits {
            return Outcome::Gone;
        }
        if settings.policy == Policy::AllKeysCachet {
            let rescored = {
                let frequency = shard.sketch.estimate(hash);
                let Some(entry) = table.map.get_bucket(bucket) else {
                    return Outcome::Gone;
                };
                score(entry, settings, now_ms, frequency)
            };
            let mut pool = self.evictions.pool.lock_or_recover();
            if rescored != candidate.score
                && pool
                    .first()
                    .is_some_and(|next| next.score.evicts_before(&rescored))
            {
                // It was used since it was sampled: back in the pool with its new score.
                pool.extend_sorted(vec![Candidate {
                    score: rescored,
                    bucket,
                    ..candidate
                }]);
                return Outcome::Rescored;
            }
        }
        let mut view = self.view(&mut shard, candidate.db, now_ms);
        match view.evict_at(bucket) {
            Some(entry) => {
                self.record_eviction(entry.memory(), entry.priority());
                Outcome::Evicted
            }
            None => Outcome::Gone,
        }
    }

    fn evict_by_walk(&self, settings: &EvictionSettings, now_ms: u64, floor: Priority) -> bool {
        let shards = self.shard_count();
        let start = self.evictions.walk_shard.fetch_add(1, Ordering::Relaxed);
        for offset in 0..shards {
            let index = (start + offset) % shards;
            let mut shard = self.lock_shard(index);
            for db in 0..shard.dbs.len() {
                // Without this, every write refused for want of a volatile key walked the keyspace.
                if settings.policy.volatile_only() && shard.dbs[db].volatile == 0 {
                    continue;
                }
                let map = &shard.dbs[db].map;
                let victim = (0..map.num_buckets()).find(|&bucket| {
                    map.get_bucket(bucket).is_some_and(|e| {
                        admissible(e.priority(), settings, floor)
                            && (!settings.policy.volatile_only() || e.has_expiry())
                    })
                });
                let Some(bucket) = victim else {
                    continue;
                };
                let mut view = self.view(&mut shard, db, now_ms);
                if let Some(entry) = view.evict_at(bucket) {
                    self.record_eviction(entry.memory(), entry.priority());
                    return true;
                }
            }
        }
        false
    }

    fn record_eviction(&self, bytes: usize, priority: Priority) {
        let stats = &self.evictions;
        stats.evicted_keys.fetch_add(1, Ordering::Relaxed);
        stats
            .evicted_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        stats.evicted_by_priority[priority as usize].fetch_add(1, Ordering::Relaxed);
        stats.evicted_bytes_by_priority[priority as usize]
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Candidates waiting in the eviction pool (INFO cachet).
    pub fn eviction_pool_len(&self) -> usize {
        self.evictions.pool.lock_or_recover().len()
    }

    pub fn reset_eviction_stats(&self) {
        let stats = &self.evictions;
        stats.evicted_keys.store(0, Ordering::Relaxed);
        stats.evicted_bytes.store(0, Ordering::Relaxed);
        for counter in stats
            .evicted_by_priority
            .iter()
            .chain(&stats.evicted_bytes_by_priority)
        {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

/// Rounds of sampling for a region's victim before walking the shards for one.
const REGION_ROUNDS: usize = 8;

impl Keyspace {
    /// Evicts from the region named `name` until it is within its budget, with its own policy;
    /// the rest of the keyspace is not touched. Errors when it cannot get there (`noeviction`,
    /// or nothing its policy may take: critical keys are never taken for a region's budget).
    /// The region is looked up again each turn: CACHE.REGION may replace it meanwhile. At most
    /// `max` keys go (the cron's small steps after a budget was lowered).
    pub fn evict_region(&self, name: &str, now_ms: u64, max: usize) -> Result<usize, EvictError> {
        if self.changes_paused(now_ms) {
            return Ok(0);
        }
        let mut evicted = 0;
        while evicted < max {
            let _turn = self.evictions.one_at_a_time.lock_or_recover();
            let table = self.regions.table();
            let Some(region) = table.by_name(name) else {
                return Ok(evicted);
            };
            if !region.over_budget() {
                return Ok(evicted);
            }
            let settings = EvictionSettings {
                policy: region.spec.policy,
                ..self.eviction_settings()
            };
            if settings.policy == Policy::NoEviction
                || !self.evict_one_in_region(&table, region, &settings, now_ms)
            {
                return Err(EvictError::NothingToEvict);
            }
            evicted += 1;
        }
        Ok(evicted)
    }

    /// Evicts up to `max` keys of each region over its budget toward it (the cron, after
    /// CACHE.REGION lowered one). Regions that cannot get there are left as they are: their
    /// next write is refused (`Keyspace::region_refuses`).
    pub fn evict_regions(&self, now_ms: u64, max: usize) -> usize {
        if !self.regions.is_active() {
            return 0;
        }
        let table = self.regions.table();
        table
            .iter()
            .filter(|r| r.over_budget())
            .map(|r| self.evict_region(&r.spec.name, now_ms, max).unwrap_or(0))
            .sum()
    }

    /// Brings the region of `key` back within its budget, if it has one and is over it.
    pub fn evict_region_of(&self, key: &[u8], now_ms: u64) {
        let over = self
            .regions
            .with(key, |r| r.over_budget().then(|| r.spec.name.clone()));
        if let Some(Some(name)) = over {
            let _ = self.evict_region(&name, now_ms, usize::MAX);
        }
    }

    /// Whether a write to `key` must be refused: its region is over budget and evicting within
    /// it cannot bring it back (as `maxmemory` with `noeviction` refuses writes).
    pub fn region_refuses(&self, key: &[u8], now_ms: u64) -> bool {
        let Some(name) = self
            .regions
            .with(key, |r| r.over_budget().then(|| r.spec.name.clone()))
            .flatten()
        else {
            return false;
        };
        self.evict_region(&name, now_ms, usize::MAX).is_err()
    }

    /// Per-region sampling: draws from random buckets of a random shard, keeps only the
    /// region's own keys (rejection: bounded probes, so a region holding a small share of the
    /// keyspace is found by the walk instead), and evicts the best by the region's policy.
    fn evict_one_in_region(
        &self,
        table: &RegionTable,
        region: &Arc<Region>,
        settings: &EvictionSettings,
        now_ms: u64,
    ) -> bool {
        let belongs = |e: &Entry| {
            table.find(e.key()).is_some_and(|r| Arc::ptr_eq(r, region))
                && e.priority() != Priority::Critical
                && (!settings.policy.volatile_only() || e.has_expiry())
        };
        for _ in 0..REGION_ROUNDS {
            let mut shard = self.lock_shard(fastrand::usize(..self.shard_count()));
            let dbs: Vec<usize> = (0..shard.dbs.len())
                .filter(|&db| !shard.dbs[db].map.is_empty())
                .collect();
            if dbs.is_empty() {
                continue;
            }
            let mut best: Option<(Score, usize, usize)> = None;
            for _ in 0..settings.samples.max(1) {
                let db = dbs[fastrand::usize(..dbs.len())];
                let map = &shard.dbs[db].map;
                for _ in 0..PROBES_PER_SAMPLE {
                    let bucket = fastrand::usize(..map.num_buckets());
                    let Some(entry) = map.get_bucket(bucket).filter(|e| belongs(e)) else {
                        continue;
                    };
                    let frequency = match settings.policy {
                        Policy::AllKeysCachet => shard.sketch.estimate(hash_key(entry.key())),
                        _ => 0,
                    };
                    let score = score(entry, settings, now_ms, frequency);
                    if best.as_ref().is_none_or(|b| score.evicts_before(&b.0)) {
                        best = Some((score, db, bucket));
                    }
                    break;
                }
            }
            if let Some((_, db, bucket)) = best {
                let mut view = self.view(&mut shard, db, now_ms);
                if let Some(entry) = view.evict_at(bucket) {
                    self.record_eviction(entry.memory(), entry.priority());
                    return true;
                }
            }
        }
        self.evictions.walks.fetch_add(1, Ordering::Relaxed);
        let shards = self.shard_count();
        let start = self.evictions.walk_shard.fetch_add(1, Ordering::Relaxed);
        for offset in 0..shards {
            let mut shard = self.lock_shard((start + offset) % shards);
            for db in 0..shard.dbs.len() {
                let map = &shard.dbs[db].map;
                let Some(bucket) =
                    (0..map.num_buckets()).find(|&b| map.get_bucket(b).is_some_and(&belongs))
                else {
                    continue;
                };
                let mut view = self.view(&mut shard, db, now_ms);
                if let Some(entry) = view.evict_at(bucket) {
                    self.record_eviction(entry.memory(), entry.priority());
                    return true;
                }
            }
        }
        false
    }
}

fn over(settings: &EvictionSettings, keyspace: &Keyspace) -> bool {
    over_memory(settings, keyspace)
        || (settings.maxmemory_keys > 0
            && keyspace.totals.keys.load(Ordering::Acquire) > settings.maxmemory_keys)
}

/// Over `maxmemory` (compressing helps; for `maxmemory-keys` only evicting does).
fn over_memory(settings: &EvictionSettings, keyspace: &Keyspace) -> bool {
    settings.maxmemory > 0 && keyspace.used_memory() > settings.maxmemory
}

/// Draws `settings.samples` live entries from random buckets of the shard's non-empty databases.
/// Each sample probes until it finds an entry of the lowest class the table holds (for
/// `allkeys-cachet` the lowest priority present; for the Redis policies anything not critical), so
/// that rare low-priority keys are found before common higher ones; past the probe budget it takes
/// the lowest-class entry it saw.
///
/// A probe's cost is its cache misses (control byte, slot, the block's header): the samples probe
/// in rounds, one bucket each per round, and every round first loads all its probes' headers in
/// a loop of independent loads that the CPU overlaps, then weighs them from the cache.
fn sample(shard: &mut Shard, settings: &EvictionSettings, now_ms: u64, out: &mut Vec<Candidate>) {
    let volatile_only = settings.policy.volatile_only();
    let dbs: Vec<usize> = (0..shard.dbs.len())
        .filter(|&db| {
            let table = &shard.dbs[db];
            !table.map.is_empty() && (!volatile_only || table.volatile > 0)
        })
        .collect();
    if dbs.is_empty() {
        return;
    }
    let cachet = settings.policy == Policy::AllKeysCachet;
    if cachet {
        // Every key leaving the admission window is weighed once against the residents sampled
        // with it. (A key whose window entry belongs to another database clears its flag here.)
        for newcomer in std::mem::take(&mut shard.admission) {
            let Some(table) = shard.dbs.get_mut(newcomer.db) else {
                continue;
            };
            let Some(bucket) = table.find_known(newcomer.hash, newcomer.identity) else {
                continue;
            };
            let Some(entry) = table.map.get_bucket_mut(bucket) else {
                continue;
            };
            entry.set_in_window(false);
            let entry = &*entry;
            let frequency = shard.sketch.estimate(newcomer.hash);
            out.push(Candidate {
                score: score(entry, settings, now_ms, frequency),
                db: newcomer.db,
                hash: newcomer.hash,
                bucket,
                identity: entry.identity(),
            });
        }
    }
    let mut draws: Vec<Draw> = (0..settings.samples.max(1))
        .map(|_| {
            let db = dbs[fastrand::usize(..dbs.len())];
            let table = &shard.dbs[db];
            let lowest_present = Priority::ALL
                .into_iter()
                .find(|p| table.by_priority[*p as usize] > 0)
                .unwrap_or(Priority::Critical);
            let wanted = if cachet {
                lowest_present
            } else {
                lowest_present.max(Priority::Normal).min(Priority::High)
            };
            Draw {
                db,
                wanted,
                bucket: 0,
                eligible: false,
                done: false,
                best: None,
            }
        })
        .collect();
    for _ in 0..PROBES_PER_SAMPLE {
        let mut probing = false;
        for draw in draws.iter_mut().filter(|d| !d.done) {
            let map = &shard.dbs[draw.db].map;
            draw.bucket = fastrand::usize(..map.num_buckets());
            draw.eligible = map
                .get_bucket(draw.bucket)
                .is_some_and(|e| (!volatile_only || e.has_expiry()) && !e.in_window());
            probing = true;
        }
        if !probing {
            break;
        }
        for draw in draws.iter_mut().filter(|d| !d.done && d.eligible) {
            let Some(entry) = shard.dbs[draw.db].map.get_bucket(draw.bucket) else {
                continue;
            };
            // The key is hashed where the policy reads the sketch; for the others, once per
            // sample, for the best probe only.
            let hash = cachet.then(|| hash_key(entry.key()));
            let frequency = hash.map_or(0, |hash| shard.sketch.estimate(hash));
            let score = score(entry, settings, now_ms, frequency);
            let effective = if cachet {
                effective_priority(&score)
            } else {
                entry.priority().min(Priority::High)
            };
            if draw.best.as_ref().is_none_or(|b| score.class > b.0.class) {
                draw.best = Some((score, draw.bucket, hash));
            }
            draw.done = effective <= draw.wanted;
        }
    }
    for draw in draws {
        let Some((score, bucket, hash)) = draw.best else {
            continue;
        };
        if let Some(entry) = shard.dbs[draw.db].map.get_bucket(bucket) {
            out.push(Candidate {
                score,
                db: draw.db,
                hash: hash.unwrap_or_else(|| hash_key(entry.key())),
                bucket,
                identity: entry.identity(),
            });
        }
    }
}

/// One sample being drawn: the bucket of its current probe, and the best probe so far.
struct Draw {
    db: usize,
    /// The class that ends the sample (see `sample`).
    wanted: Priority,
    bucket: usize,
    /// The current probe holds an entry the policy may consider (not in the window; with a TTL
    /// under a volatile policy).
    eligible: bool,
    done: bool,
    /// (score, bucket, the key's hash when the policy computed it).
    best: Option<(Score, usize, Option<u64>)>,
}

/// The priority a cachet score's class stands for (classes count down from low = 3 to critical = 0).
fn effective_priority(score: &Score) -> Priority {
    match score.class {
        3 => Priority::Low,
        2 => Priority::Normal,
        1 => Priority::High,
        _ => Priority::Critical,
    }
}

enum Outcome {
    Evicted,
    /// Deleted or expired since it was sampled.
    Gone,
    /// Used since it was sampled: back in the pool with its current score.
    Rescored,
}

trait Pool {
    fn extend_sorted(&mut self, fresh: Vec<Candidate>);
}

impl Pool for Vec<Candidate> {
    /// Adds candidates, best first, keeping at most `POOL_SIZE` and one per key. (Truncating per
    /// candidate keeps this linear in `fresh`: the pool never grows past `POOL_SIZE + 1`.)
    fn extend_sorted(&mut self, fresh: Vec<Candidate>) {
        for candidate in fresh {
            self.retain(|c| c.identity != candidate.identity);
            let at = self
                .iter()
                .position(|c| candidate.score.evicts_before(&c.score))
                .unwrap_or(self.len());
            self.insert(at, candidate);
            self.truncate(POOL_SIZE);
        }
    }
}

/// Whether an entry of (effective) `priority` may be evicted while `floor` is the lowest priority
/// present: under `allkeys-cachet` nothing above the floor; under the Redis policies anything but
/// critical, and critical only when nothing else is left.
fn admissible(priority: Priority, settings: &EvictionSettings, floor: Priority) -> bool {
    if settings.policy == Policy::AllKeysCachet {
        priority <= floor
    } else {
        priority != Priority::Critical || floor == Priority::Critical
    }
}

/// The best candidate that is admissible under the current floor.
fn take_best(
    pool: &mut Vec<Candidate>,
    settings: &EvictionSettings,
    floor: Priority,
) -> Option<Candidate> {
    let at = pool
        .iter()
        .position(|c| admissible(candidate_priority(c, settings), settings, floor))?;
    Some(pool.remove(at))
}

fn candidate_priority(candidate: &Candidate, settings: &EvictionSettings) -> Priority {
    if settings.policy == Policy::AllKeysCachet {
        effective_priority(&candidate.score)
    } else if candidate.score.class == CRITICAL_CLASS {
        Priority::Critical
    } else {
        Priority::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::entry::{CacheMeta, Entry};
    use crate::engine::now_ms;

    fn keyspace(policy: Policy, maxmemory_keys: usize) -> Keyspace {
        let keyspace = Keyspace::new(4, 2);
        keyspace.set_eviction_settings(EvictionSettings {
            policy,
            maxmemory_keys,
            ..Default::default()
        });
        keyspace
    }

    fn put(keyspace: &Keyspace, db: usize, key: &str, priority: Priority, ttl: bool) {
        let now = now_ms();
        keyspace.with_key(db, key.as_bytes(), now, |view, hash| {
            let mut entry = Entry::new_string(key.as_bytes(), b"value", 0);
            entry.set_meta(CacheMeta {
                priority,
                ..Default::default()
            });
            if ttl {
                entry.set_expire_at(now + 60_000);
            }
            view.insert(hash, entry);
        });
    }

    fn exists(keyspace: &Keyspace, db: usize, key: &str) -> bool {
        keyspace.with_key(db, key.as_bytes(), now_ms(), |view, hash| {
            view.contains(hash, key.as_bytes())
        })
    }

    #[test]
    fn key_limit_holds_and_critical_survives() {
        let keyspace = keyspace(Policy::AllKeysCachet, 50);
        for i in 0..10 {
            put(
                &keyspace,
                0,
                &format!("critical:{i}"),
                Priority::Critical,
                false,
            );
        }
        for i in 0..500 {
            put(&keyspace, i % 2, &format!("k:{i}"), Priority::Normal, false);
            assert!(keyspace.evict_to_limit(now_ms()).is_ok());
            assert!(keyspace.totals.keys.load(Ordering::Relaxed) <= 50);
        }
        for i in 0..10 {
            assert!(
                exists(&keyspace, 0, &format!("critical:{i}")),
                "critical:{i} was evicted"
            );
        }
        assert_eq!(
            keyspace.evictions.evicted_by_priority[Priority::Critical as usize]
                .load(Ordering::Relaxed),
            0
        );
        assert_eq!(keyspace.evictions.evicted_keys.load(Ordering::Relaxed), 460);
    }

    #[test]
    fn low_priority_goes_before_high() {
        let keyspace = keyspace(Policy::AllKeysCachet, 100);
        for i in 0..100 {
            put(&keyspace, 0, &format!("high:{i}"), Priority::High, false);
        }
        for i in 0..100 {
            put(&keyspace, 0, &format!("low:{i}"), Priority::Low, false);
            assert!(keyspace.evict_to_limit(now_ms()).is_ok());
        }
        let high_left = (0..100)
            .filter(|i| exists(&keyspace, 0, &format!("high:{i}")))
            .count();
        assert!(
            high_left >= 95,
            "only {high_left} high-priority keys survived low-priority pressure"
        );
    }

    #[test]
    fn volatile_policies_touch_only_keys_with_ttl() {
        let keyspace = keyspace(Policy::VolatileLru, 20);
        for i in 0..15 {
            put(
                &keyspace,
                0,
                &format!("persistent:{i}"),
                Priority::Normal,
                false,
            );
        }
        for i in 0..15 {
            put(
                &keyspace,
                0,
                &format!("volatile:{i}"),
                Priority::Normal,
                true,
            );
        }
        assert!(keyspace.evict_to_limit(now_ms()).is_ok());
        assert!((0..15).all(|i| exists(&keyspace, 0, &format!("persistent:{i}"))));
        for i in 15..30 {
            put(
                &keyspace,
                0,
                &format!("persistent:{i}"),
                Priority::Normal,
                false,
            );
        }
        assert_eq!(
            keyspace.evict_to_limit(now_ms()),
            Err(EvictError::NothingToEvict)
        );
    }

    #[test]
    fn admission_list_stays_bounded_without_a_limit() {
        // Nothing evicts without a limit, so nothing drains the keys leaving the window.
        let keyspace = keyspace(Policy::AllKeysCachet, 0);
        for i in 0..20_000 {
            put(&keyspace, 0, &format!("k:{i}"), Priority::Normal, false);
        }
        for index in 0..keyspace.shard_count() {
            let waiting = keyspace.lock_shard(index).admission.len();
            assert!(
                waiting <= 128,
                "shard {index}: {waiting} keys waiting for admission"
            );
        }
        // Turning a limit on afterwards evicts down to it, weighing only the newest.
        keyspace.set_eviction_settings(EvictionSettings {
            maxmemory_keys: 100,
            ..Default::default()
        });
        assert_eq!(keyspace.evict_to_limit(now_ms()), Ok(19_900));
        assert_eq!(keyspace.totals.keys.load(Ordering::Relaxed), 100);
    }

    /// Pooled candidates are known by their block's address, which the allocator hands to the
    /// next key once the block is freed: a critical successor must not be taken for a normal
    /// candidate deleted since.
    #[test]
    fn a_candidate_deleted_since_is_not_mistaken_for_its_successor() {
        let keyspace = keyspace(Policy::AllKeysLru, 100);
        for i in 0..=100 {
            put(&keyspace, 0, &format!("k:{i}"), Priority::Normal, false);
        }
        assert_eq!(keyspace.evict_to_limit(now_ms()), Ok(1));
        assert!(keyspace.eviction_pool_len() > 0);
        for i in 0..=100 {
            let key = format!("k:{i}");
            keyspace.with_key(0, key.as_bytes(), now_ms(), |view, hash| {
                view.remove(hash, key.as_bytes())
            });
            put(&keyspace, 0, &format!("c:{i}"), Priority::Critical, false);
        }
        put(&keyspace, 0, "normal", Priority::Normal, false);
        assert_eq!(keyspace.evict_to_limit(now_ms()), Ok(2));
        assert!(!exists(&keyspace, 0, "normal"));
        assert_eq!(
            keyspace.evictions.evicted_by_priority[Priority::Critical as usize]
                .load(Ordering::Relaxed),
            1
        );
    }

    #[test]
    fn noeviction_refuses() {
        let keyspace = keyspace(Policy::NoEviction, 1);
        put(&keyspace, 0, "a", Priority::Normal, false);
        put(&keyspace, 0, "b", Priority::Normal, false);
        assert_eq!(
            keyspace.evict_to_limit(now_ms()),
            Err(EvictError::NothingToEvict)
        );
        assert!(exists(&keyspace, 0, "a") && exists(&keyspace, 0, "b"));
    }

    /// Over the limit with no key left: a count that the data does not explain is repaired
    /// (and the write allowed), a limit below what an empty keyspace needs is refused.
    #[test]
    fn empty_keyspace_over_the_limit() {
        let keyspace = keyspace(Policy::AllKeysCachet, 0);
        let empty = keyspace.used_memory();
        put(&keyspace, 0, "a", Priority::Normal, false);
        keyspace.with_key(0, b"a", now_ms(), |view, hash| view.remove(hash, b"a"));
        keyspace.totals.bytes.fetch_add(1 << 20, Ordering::Relaxed);
        let limit = |maxmemory| {
            keyspace.set_eviction_settings(EvictionSettings {
                maxmemory,
                ..Default::default()
            })
        };
        limit(empty + 1024);
        assert_eq!(keyspace.evict_to_limit(now_ms()), Ok(0));
        assert_eq!(keyspace.used_memory(), empty);
        limit(empty - 1);
        assert_eq!(
            keyspace.evict_to_limit(now_ms()),
            Err(EvictError::NothingToEvict)
        );
    }
}
