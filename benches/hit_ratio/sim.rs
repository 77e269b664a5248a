//! Reference columns computed in-process on the same trace with the same batching, no server:
//! - `inf`: an unbounded cache, so only first requests miss: the ceiling any policy can reach.
//! - `exact-lru`: true LRU holding what the same maxmemory holds by the Redis estimate
//!   (maxmemory − 1 MiB, each key costing key + value + 90 B). It shows what the trace does to
//!   recency when the clock is exact; Redis's LRU samples keys and ticks once a second, so at
//!   replay speed it sees most keys as equally old.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::resp::Stats;
use super::trace::{Workload, BASE_MEMORY, KEY_LEN, PER_KEY_OVERHEAD};

trait Cache {
    /// Looks up and, on a hit, records the access.
    fn get(&mut self, id: u32) -> bool;
    fn insert(&mut self, id: u32, bytes: u64);
    fn len(&self) -> usize;
}

struct Unbounded(HashSet<u32>);

impl Cache for Unbounded {
    fn get(&mut self, id: u32) -> bool {
        self.0.contains(&id)
    }
    fn insert(&mut self, id: u32, _: u64) {
        self.0.insert(id);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

struct Lru {
    stamp: u64,
    by_age: BTreeMap<u64, u32>,
    entries: HashMap<u32, (u64, u64)>,
    used: u64,
    capacity: u64,
}

impl Cache for Lru {
    fn get(&mut self, id: u32) -> bool {
        let Some(entry) = self.entries.get_mut(&id) else {
            return false;
        };
        self.by_age.remove(&entry.0);
        self.stamp += 1;
        entry.0 = self.stamp;
        self.by_age.insert(self.stamp, id);
        true
    }
    fn insert(&mut self, id: u32, bytes: u64) {
        while self.used + bytes > self.capacity {
            let Some((_, old)) = self.by_age.pop_first() else {
                return;
            };
            if let Some((_, b)) = self.entries.remove(&old) {
                self.used -= b;
            }
        }
        self.stamp += 1;
        self.by_age.insert(self.stamp, id);
        self.entries.insert(id, (self.stamp, bytes));
        self.used += bytes;
    }
    fn len(&self) -> usize {
        self.entries.len()
    }
}

pub const LABELS: &[&str] = &["inf", "exact-lru"];

/// Runs reference `which` (an index into LABELS); returns the stats and the keys held at the end.
pub fn run(which: usize, w: &Workload, batch: usize, warmup: usize) -> (Stats, usize) {
    let mut cache: Box<dyn Cache> = match which {
        0 => Box::new(Unbounded(HashSet::new())),
        _ => Box::new(Lru {
            stamp: 0,
            by_age: BTreeMap::new(),
            entries: HashMap::new(),
            used: 0,
            capacity: w.maxmemory.saturating_sub(BASE_MEMORY),
        }),
    };
    let mut stats = Stats::default();
    let mut missed = Vec::with_capacity(batch);
    for (b, chunk) in w.trace.chunks(batch.max(1)).enumerate() {
        missed.clear();
        for (i, &id) in chunk.iter().enumerate() {
            let bytes = KEY_LEN as u64 + u64::from(w.size(id)) + PER_KEY_OVERHEAD;
            if w.writes.get(b * batch.max(1) + i) == Some(&true) {
                stats.sets += 1;
                if !cache.get(id) {
                    cache.insert(id, bytes);
                }
                continue;
            }
            let hit = cache.get(id);
            if b * batch.max(1) + i >= warmup {
                let (size, cost) = (u64::from(w.size(id)), u64::from(w.cost(id)));
                stats.measured += 1;
                stats.bytes += size;
                stats.cost += cost;
                if hit {
                    stats.hits += 1;
                    stats.hit_bytes += size;
                    stats.hit_cost += cost;
                }
            }
            if !hit && w.writes.is_empty() && !missed.contains(&id) {
                missed.push(id);
            }
        }
        for &id in &missed {
            stats.sets += 1;
            cache.insert(
                id,
                KEY_LEN as u64 + u64::from(w.size(id)) + PER_KEY_OVERHEAD,
            );
        }
    }
    (stats, cache.len())
}
