//! Eviction policies and the per-access bookkeeping they need.
//!
//! The Redis policies keep Redis's semantics: sampled LRU on the 24-bit seconds clock, sampled LFU on
//! an 8-bit logarithmic counter that decays by `lfu-decay-time` minutes of idleness, random, and
//! `volatile-*` variants that only consider keys with a TTL.
//!
//! `allkeys-cachet` (the default) ranks entries by expected benefit of keeping them:
//!
//! ```text
//!   class  = priority (low 0, normal 1, high 2), demoted one class per `priority-idle-demote`
//!            seconds the entry went unused; critical entries are only taken when nothing else is left
//!   value  = (frequency + 1) × cost / size      frequency = what the admission sketch counts of the key's
//!                                         reads (misses included, aged every 60 × keys reads), plus
//!                                         ½ when the entry was hit since it came in
//! ```
//! The victim is the candidate of the lowest class, and within it the lowest value. The sketch
//! (count-min, aged by halving) remembers keys that were requested while absent, so a popular key
//! that gets evicted comes back with its popularity, while one-time keys of a scan stay at ~1.
//!
//! Admission (W-TinyLFU): a new key first sits in a small window (5% of its shard's keys, FIFO)
//! where it is never sampled, so a burst of hits can reach it; when it leaves the window it is put
//! among the next eviction's candidates once, i.e. weighed against sampled residents. A key seen
//! less often than the residents goes, so scans and loops larger than the cache do not flush it;
//! a resident that was hit outranks a newcomer seen as often. The window size trades loops and
//! scans (small window) against a moving hot set (large window); 5% is measured in
//! `scripts/hit-ratio.sh`.

use crate::engine::entry::{Entry, Priority, LFU_INIT_VAL};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Policy {
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllKeysCachet,
}

impl Policy {
    pub const ALL: [Policy; 9] = [
        Policy::NoEviction,
        Policy::AllKeysLru,
        Policy::AllKeysLfu,
        Policy::AllKeysRandom,
        Policy::VolatileLru,
        Policy::VolatileLfu,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
        Policy::AllKeysCachet,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Policy::NoEviction => "noeviction",
            Policy::AllKeysLru => "allkeys-lru",
            Policy::AllKeysLfu => "allkeys-lfu",
            Policy::AllKeysRandom => "allkeys-random",
            Policy::VolatileLru => "volatile-lru",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
            Policy::AllKeysCachet => "allkeys-cachet",
        }
    }

    pub fn parse(text: &str) -> Option<Policy> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(text))
    }

    pub fn from_u8(n: u8) -> Policy {
        Policy::ALL
            .get(n as usize)
            .copied()
            .unwrap_or(Policy::AllKeysCachet)
    }

    /// Only keys with a TTL may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    /// Whether accesses maintain the LFU counter (`OBJECT FREQ` answers only then, as in Redis).
    pub fn uses_lfu(self) -> bool {
        matches!(
            self,
            Policy::AllKeysLfu | Policy::VolatileLfu | Policy::AllKeysCachet
        )
    }
}

/// The settings accesses and evictions read, copied out of the configuration.
#[derive(Debug, Clone, Copy)]
pub struct EvictionSettings {
    pub maxmemory: usize,
    pub maxmemory_keys: usize,
    pub policy: Policy,
    pub samples: usize,
    pub lfu_log_factor: u32,
    pub lfu_decay_time: u32,
    pub priority_idle_demote: u64,
    /// allkeys-cachet's admission window, in percent of each shard's keys.
    pub window_percent: usize,
}

impl EvictionSettings {
    /// Whether a memory or key limit is set (without one nothing is ever evicted).
    pub fn has_limit(&self) -> bool {
        self.maxmemory > 0 || self.maxmemory_keys > 0
    }
}

impl Default for EvictionSettings {
    fn default() -> Self {
        EvictionSettings {
            maxmemory: 0,
            maxmemory_keys: 0,
            policy: Policy::AllKeysCachet,
            samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            priority_idle_demote: 600,
            // Measured with scripts/hit-ratio.sh: 1% wins most on loops and scans but loses 4
            // points to LRU on a moving hot set; 10% the reverse; 5% is the compromise.
            window_percent: 5,
        }
    }
}

/// Minutes of the 16-bit LFU clock derived from the entry's seconds clock.
fn idle_minutes(lru: u32, now_ms: u64) -> u64 {
    crate::engine::idle_seconds(lru, now_ms) / 60
}

/// The counter after idle decay, as Redis's `LFUDecrAndReturn`: minus one per `decay_time` minutes.
pub fn lfu_decayed(entry: &Entry, settings: &EvictionSettings, now_ms: u64) -> u8 {
    if settings.lfu_decay_time == 0 {
        return entry.lfu();
    }
    let periods = idle_minutes(entry.lru(), now_ms) / settings.lfu_decay_time as u64;
    entry.lfu().saturating_sub(periods.min(255) as u8)
}

/// One access: decay then a logarithmic increment, as Redis's `updateLFU`/`LFULogIncr`.
pub fn lfu_access(entry: &mut Entry, settings: &EvictionSettings, now_ms: u64) {
    let counter = lfu_decayed(entry, settings, now_ms);
    entry.set_lfu(if counter == 255 {
        255
    } else {
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        let p = 1.0 / (base * settings.lfu_log_factor as f64 + 1.0);
        if fastrand::f64() < p {
            counter + 1
        } else {
            counter
        }
    });
}

/// How much a candidate deserves eviction: the higher `class`, then the higher `value`, goes first.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Score {
    pub class: u8,
    pub value: f64,
}

impl Score {
    pub fn evicts_before(&self, other: &Score) -> bool {
        (self.class, self.value) > (other.class, other.value)
    }
}

/// Class given to critical entries under every policy: below anything else.
pub const CRITICAL_CLASS: u8 = 0;

/// The eviction score of `entry` under `settings.policy`; `sketch_frequency` is what the admission
/// sketch estimates for the key (used by `allkeys-cachet` only).
pub fn score(
    entry: &Entry,
    settings: &EvictionSettings,
    now_ms: u64,
    sketch_frequency: u32,
) -> Score {
    if entry.priority() == Priority::Critical {
        return Score {
            class: CRITICAL_CLASS,
            value: 0.0,
        };
    }
    let idle_ms = crate::engine::idle_seconds(entry.lru(), now_ms) as f64 * 1000.0;
    let value = match settings.policy {
        Policy::AllKeysLru | Policy::VolatileLru | Policy::NoEviction => idle_ms,
        Policy::AllKeysLfu | Policy::VolatileLfu => {
            255.0 - lfu_decayed(entry, settings, now_ms) as f64
        }
        Policy::AllKeysRandom | Policy::VolatileRandom => fastrand::f64(),
        Policy::VolatileTtl => -(entry.expire_at() as f64),
        Policy::AllKeysCachet => return cachet_score(entry, settings, now_ms, sketch_frequency),
    };
    Score { class: 1, value }
}

fn cachet_score(
    entry: &Entry,
    settings: &EvictionSettings,
    now_ms: u64,
    sketch_frequency: u32,
) -> Score {
    let idle = crate::engine::idle_seconds(entry.lru(), now_ms);
    let demotions = idle.checked_div(settings.priority_idle_demote).unwrap_or(0);
    let class = (entry.priority() as u64).saturating_sub(demotions);
    // The sketch ages with the traffic, so it follows a moving hot set within seconds, where the
    // LFU counter decays by minutes; a hit since the entry came in breaks ties in favour of
    // residents, which keeps a loop slightly larger than the cache from thrashing.
    let hit_since_insert = if entry.lfu() > LFU_INIT_VAL { 0.5 } else { 0.0 };
    let frequency = sketch_frequency as f64 + hit_since_insert;
    // +1: an entry nobody read yet still weighs its cost and size against the others'.
    let benefit = (frequency + 1.0) * entry.cost().max(1) as f64 / entry.memory().max(1) as f64;
    // Classes count down from 3 (low) so that a larger class is evicted first; 0 is critical.
    Score {
        class: 3 - class.min(2) as u8,
        value: -benefit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::entry::CacheMeta;
    use crate::engine::{lru_clock, now_ms};

    fn entry(priority: Priority, cost: u32, size: usize, idle_secs: u64, now: u64) -> Entry {
        let mut e = Entry::new_string(b"k", &vec![b'x'; size], lru_clock(now - idle_secs * 1000));
        e.set_meta(CacheMeta {
            priority,
            cost,
            tags: None,
        });
        e
    }

    #[test]
    fn cachet_orders_by_priority_then_benefit() {
        let now = now_ms();
        let s = EvictionSettings::default();
        let low = score(&entry(Priority::Low, 1, 100, 0, now), &s, now, 0);
        let normal = score(&entry(Priority::Normal, 1, 100, 0, now), &s, now, 0);
        let high = score(&entry(Priority::High, 1, 100, 0, now), &s, now, 0);
        let critical = score(&entry(Priority::Critical, 1, 100, 0, now), &s, now, 0);
        assert!(
            low.evicts_before(&normal)
                && normal.evicts_before(&high)
                && high.evicts_before(&critical)
        );
        // Among equals: cheaper to recreate, bigger, or less frequent goes first.
        let cheap = score(&entry(Priority::Normal, 1, 100, 0, now), &s, now, 0);
        let costly = score(&entry(Priority::Normal, 50, 100, 0, now), &s, now, 0);
        assert!(cheap.evicts_before(&costly));
        let big = score(&entry(Priority::Normal, 1, 5000, 0, now), &s, now, 0);
        assert!(big.evicts_before(&cheap));
        let popular = score(&entry(Priority::Normal, 1, 100, 0, now), &s, now, 10);
        let mut resident = entry(Priority::Normal, 1, 100, 0, now);
        resident.set_lfu(LFU_INIT_VAL + 1);
        let newcomer = score(&entry(Priority::Normal, 1, 100, 0, now), &s, now, 3);
        assert!(newcomer.evicts_before(&score(&resident, &s, now, 3)));
        assert!(cheap.evicts_before(&popular));
    }

    #[test]
    fn long_unused_high_priority_is_demoted() {
        let now = now_ms();
        let s = EvictionSettings::default();
        let fresh_normal = score(&entry(Priority::Normal, 1, 100, 0, now), &s, now, 0);
        let stale_high = score(&entry(Priority::High, 1, 100, 2 * 600 + 5, now), &s, now, 0);
        assert!(stale_high.evicts_before(&fresh_normal));
        let stale_critical = score(&entry(Priority::Critical, 1, 100, 100_000, now), &s, now, 0);
        assert!(fresh_normal.evicts_before(&stale_critical));
    }

    #[test]
    fn redis_policies_keep_their_orders() {
        let now = now_ms();
        let lru = EvictionSettings {
            policy: Policy::AllKeysLru,
            ..Default::default()
        };
        let old = score(&entry(Priority::High, 99, 10, 100, now), &lru, now, 0);
        let recent = score(&entry(Priority::Low, 1, 10, 1, now), &lru, now, 0);
        assert!(old.evicts_before(&recent));
        let mut frequent = entry(Priority::Normal, 1, 10, 0, now);
        frequent.set_lfu(50);
        let lfu = EvictionSettings {
            policy: Policy::AllKeysLfu,
            ..Default::default()
        };
        assert!(score(&entry(Priority::Normal, 1, 10, 0, now), &lfu, now, 0)
            .evicts_before(&score(&frequent, &lfu, now, 0)));
        assert_eq!(Policy::parse("ALLKEYS-LRU"), Some(Policy::AllKeysLru));
    }

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays() {
        let now = now_ms();
        let s = EvictionSettings {
            policy: Policy::AllKeysLfu,
            ..Default::default()
        };
        let mut e = entry(Priority::Normal, 1, 10, 0, now);
        for _ in 0..1000 {
            lfu_access(&mut e, &s, now);
        }
        assert!(
            e.lfu() > LFU_INIT_VAL + 3 && e.lfu() < 60,
            "counter {}",
            e.lfu()
        );
        let counter = e.lfu();
        e.set_lru(lru_clock(now - 10 * 60 * 1000));
        assert_eq!(lfu_decayed(&e, &s, now), counter - 10);
    }
}
