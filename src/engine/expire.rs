//! Active expiry, after Redis's `expire.c` slow cycle: `hz` times a second, every shard's tables are
//! sampled for keys whose time has passed; a table is sampled again while more than 10% of the
//! sampled keys were stale, and the whole cycle stops when its CPU budget (25% of the tick) is spent.
//! Lazy expiry on access (see `DbShard`) makes correctness independent of this cycle; it only
//! reclaims memory of keys nobody reads.
//!
//! Hash fields with a TTL (Redis 7.4) are reclaimed in the same cycle: each table lists its hashes
//! that have some (`HashesWithTtls`), and every round takes a few of them in turn and deletes a
//! bounded number of their expired fields; a hash that still has TTLs goes back to the end.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::engine::Keyspace;

/// Keys with a TTL examined per table per round, as Redis's `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`.
const KEYS_PER_LOOP: usize = 20;
/// Sample again while more than this percentage of sampled keys had expired.
const ACCEPTABLE_STALE_PERCENT: usize = 10;
/// Hashes with field TTLs visited per table per round, and expired fields deleted per hash.
const HASHES_PER_LOOP: usize = 20;
const FIELDS_PER_HASH: usize = 100;
/// Share of each tick the cycle may use, as Redis's `ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC`.
pub const CYCLE_TIME_PERCENT: u32 = 25;

/// Runs one cycle at time `now` (Unix ms) within `budget`. Returns the number of keys it expired.
pub fn active_expire_cycle(keyspace: &Keyspace, now: u64, budget: Duration) -> usize {
    let started = Instant::now();
    let mut expired_total = 0;
    keyspace.for_each_shard(|_, shard| {
        if started.elapsed() >= budget {
            return;
        }
        for db in 0..shard.dbs.len() {
            if !shard.dbs.exists(db) {
                continue;
            }
            let mut view = keyspace.view(shard, db, now);
            expired_total += view.field_expire_step(HASHES_PER_LOOP, FIELDS_PER_HASH);
            loop {
                let (sampled, expired) = view.expire_step(KEYS_PER_LOOP);
                expired_total += expired;
                if sampled == 0
                    || expired * 100 <= sampled * ACCEPTABLE_STALE_PERCENT
                    || started.elapsed() >= budget
                {
                    break;
                }
            }
        }
    });
    expired_total
}

/// The keys of a table's hashes that have field TTLs, in the order the cycle visits them. A key
/// may linger after its hash lost its TTLs or was deleted: the cycle drops it when it comes up.
#[derive(Debug, Default)]
pub struct HashesWithTtls {
    order: VecDeque<Box<[u8]>>,
    queued: HashSet<Box<[u8]>>,
}

impl HashesWithTtls {
    pub fn add(&mut self, key: &[u8]) {
        if !self.queued.contains(key) {
            self.queued.insert(key.into());
            self.order.push_back(key.into());
        }
    }

    pub fn pop(&mut self) -> Option<Box<[u8]>> {
        let key = self.order.pop_front()?;
        self.queued.remove(&key);
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{now_ms, Entry};

    #[test]
    fn cycle_removes_stale_keys_only() {
        let keyspace = Keyspace::new(4, 1);
        let now = now_ms();
        for i in 0..1000u32 {
            let key = format!("k{i}");
            keyspace.with_key(0, key.as_bytes(), now, |view, hash| {
                let mut entry = Entry::new_string(key.as_bytes(), b"v", 0);
                entry.set_expire_at(if i % 2 == 0 { now - 1 } else { now + 60_000 });
                view.insert(hash, entry);
            });
        }
        let mut rounds = 0;
        while keyspace.dbsize(0) > 500 && rounds < 100 {
            active_expire_cycle(&keyspace, now_ms(), Duration::from_millis(25));
            rounds += 1;
        }
        assert_eq!(keyspace.dbsize(0), 500);
        assert_eq!(keyspace.db_sizes()[0], (500, 500));
    }
}
