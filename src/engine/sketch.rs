//! A count-min sketch of recent key accesses (TinyLFU's frequency filter): four rows of 8-bit
//! counters indexed by four hashes derived from the key's 64-bit hash. Every `60 × keys` increments
//! (keys: what the shard holds) all counters are halved, so the sketch forgets old popularity and follows a shifting workload.
//! Counting misses too lets it remember keys that are requested while absent (evicted or new).

const ROWS: usize = 4;
/// Smallest width (1 KiB of counters a shard, 64 KiB for 64 shards, all counted in `maxmemory`).
/// It was 1024, whatever the shard held: on a 1.5-2.5 MB cache the 64 shards' sketches took
/// 256 KiB, 10-20% of the limit, and the keys they displaced cost more hits than the sketch's
/// accuracy won. Narrower than 256 collisions cost more than the keys gained: a floor of 16 read
/// 0.3-1.7 points lower on Zipf and scans (scripts/hit-ratio.sh, docs/notes.md).
const MIN_WIDTH: usize = 256;
/// Up to this width, a shard's sketch gets `COLUMNS_PER_KEY` columns per key it holds; past it,
/// one column per key (the shard's keys, rounded up to a power of two). Two per key at small
/// sizes measured best: one lost up to 1.8 points on a trace, four cost keys for no gain.
const SMALL_WIDTH: usize = 1024;
const COLUMNS_PER_KEY: usize = 2;
/// Largest width a shard's sketch grows to (4 × 1 MiB of counters).
const MAX_WIDTH: usize = 1 << 20;
/// A sketch shrinks when the keys it tracks fall to 1/SHRINK_FACTOR of its width.
const SHRINK_FACTOR: usize = 4;
/// Increments per tracked key between two agings. TinyLFU's paper uses 10; on our traces 10 cost
/// 3-5 points of hit ratio on Zipf workloads against 60 (scripts/hit-ratio.sh), for a gain on none.
const AGING_PERIOD_PER_KEY: usize = 60;
/// The aging period never drops below `AGING_PERIOD_PER_KEY` increments per this many keys.
const MIN_PERIOD_KEYS: usize = 64;

/// `Clone` for a snapshot: a shard's sketch is copied whole under its lock (a memcpy of the
/// counters) and each key's estimate read from the copy after the lock is released.
#[derive(Clone)]
pub struct Sketch {
    counters: Vec<u8>,
    mask: usize,
    increments: usize,
    /// Increments between two agings: `AGING_PERIOD_PER_KEY` per key tracked.
    period: usize,
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch::with_width(MIN_WIDTH)
    }
}

impl Sketch {
    fn with_width(width: usize) -> Self {
        let width = width.clamp(MIN_WIDTH, MAX_WIDTH).next_power_of_two();
        Sketch {
            counters: vec![0; width * ROWS],
            mask: width - 1,
            increments: 0,
            period: AGING_PERIOD_PER_KEY * MIN_WIDTH,
        }
    }

    fn slots(&self, hash: u64) -> [usize; ROWS] {
        let width = self.mask + 1;
        let mut slots = [0; ROWS];
        let (a, b) = (hash as u32 as u64, hash >> 32);
        for (row, slot) in slots.iter_mut().enumerate() {
            let h = a
                .wrapping_add((row as u64 + 1).wrapping_mul(b))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
            *slot = row * width + ((h >> 32) as usize & self.mask);
        }
        slots
    }

    pub fn increment(&mut self, hash: u64) {
        let slots = self.slots(hash);
        let min = slots.iter().map(|&s| self.counters[s]).min().unwrap_or(0);
        // Conservative update: only the counters at the minimum grow, which halves overestimation.
        for s in slots {
            if self.counters[s] == min && min < u8::MAX {
                self.counters[s] += 1;
            }
        }
        self.increments += 1;
        if self.increments >= self.period {
            self.age();
        }
    }

    pub fn estimate(&self, hash: u64) -> u32 {
        self.slots(hash)
            .iter()
            .map(|&s| self.counters[s] as u32)
            .min()
            .unwrap_or(0)
    }

    fn age(&mut self) {
        for counter in self.counters.iter_mut() {
            *counter >>= 1;
        }
        self.increments /= 2;
    }

    /// Sizes the sketch to track about `keys` keys: it grows with the shard, and shrinks once the
    /// shard holds a quarter of what its width was made for (a lowered limit, a flush, mass
    /// deletes), so its bytes, which `maxmemory` counts, never outlive the keys they served.
    /// Growing keeps the counts (a shard crossing a power of two while full would otherwise forget
    /// what it learned: that cost up to 1.2 points on a quick Zipf run with scans); shrinking
    /// starts afresh. The factor of 4 between the two thresholds keeps a shard hovering around
    /// one size from resizing back and forth.
    pub fn fit(&mut self, keys: usize) {
        let small = (keys * COLUMNS_PER_KEY).min(SMALL_WIDTH);
        let wanted = keys
            .max(small)
            .clamp(MIN_WIDTH, MAX_WIDTH)
            .next_power_of_two();
        let width = self.mask + 1;
        if wanted > width {
            self.grow(wanted);
        } else if wanted * SHRINK_FACTOR <= width {
            *self = Sketch::with_width(wanted);
        }
        self.period = AGING_PERIOD_PER_KEY * keys.max(MIN_PERIOD_KEYS);
    }

    /// Widens the sketch keeping every estimate: a key's column in a row is its hash masked to the
    /// width, so each new column starts with the count of the old column it masks down to.
    fn grow(&mut self, width: usize) {
        let old_width = self.mask + 1;
        let mut counters = vec![0; width * ROWS];
        for (row, new) in counters.chunks_exact_mut(width).enumerate() {
            let old = &self.counters[row * old_width..(row + 1) * old_width];
            for (column, counter) in new.iter_mut().enumerate() {
                *counter = old[column & self.mask];
            }
        }
        self.counters = counters;
        self.mask = width - 1;
    }

    /// Whether the sketch is larger than a new one (so worth dropping when nothing needs it).
    pub fn is_grown(&self) -> bool {
        self.mask + 1 > MIN_WIDTH
    }

    pub fn bytes(&self) -> usize {
        self.counters.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_ages() {
        let mut sketch = Sketch::default();
        for _ in 0..20 {
            sketch.increment(42);
        }
        sketch.increment(7);
        assert!(sketch.estimate(42) >= 20);
        assert!(sketch.estimate(7) >= 1 && sketch.estimate(7) < 20);
        assert_eq!(sketch.estimate(99_999), 0);
        // One other key counted until the sketch ages: 42's count is halved.
        for _ in 0..(AGING_PERIOD_PER_KEY * MIN_WIDTH) {
            sketch.increment(1_000_000);
        }
        assert!(sketch.estimate(42) <= 11, "aged: {}", sketch.estimate(42));
    }

    #[test]
    fn grows_with_the_keys_and_shrinks_when_they_are_gone() {
        let mut sketch = Sketch::default();
        sketch.fit(100_000);
        assert_eq!(sketch.bytes(), ROWS * 131_072);
        // Down to half the keys: same width (no back-and-forth around one size).
        sketch.fit(40_000);
        assert_eq!(sketch.bytes(), ROWS * 131_072);
        sketch.fit(30_000);
        assert_eq!(sketch.bytes(), ROWS * 32_768);
        sketch.fit(0);
        assert_eq!(sketch.bytes(), Sketch::default().bytes());
        assert!(!sketch.is_grown());
    }

    #[test]
    fn small_shards_get_two_columns_a_key_up_to_the_small_width() {
        let mut sketch = Sketch::default();
        assert_eq!(sketch.bytes(), ROWS * MIN_WIDTH);
        sketch.fit(100);
        assert_eq!(sketch.bytes(), ROWS * MIN_WIDTH);
        sketch.fit(200);
        assert_eq!(sketch.bytes(), ROWS * 512);
        sketch.fit(700);
        assert_eq!(sketch.bytes(), ROWS * SMALL_WIDTH);
        sketch.fit(1500);
        assert_eq!(sketch.bytes(), ROWS * 2048);
    }

    #[test]
    fn growing_keeps_every_estimate() {
        let mut sketch = Sketch::default();
        let keys: Vec<u64> = (0..500u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i << 7))
            .collect();
        for (i, &key) in keys.iter().enumerate() {
            for _ in 0..(i % 13) {
                sketch.increment(key);
            }
        }
        let before: Vec<u32> = keys.iter().map(|&k| sketch.estimate(k)).collect();
        sketch.fit(5000);
        assert_eq!(sketch.bytes(), ROWS * 8192);
        let after: Vec<u32> = keys.iter().map(|&k| sketch.estimate(k)).collect();
        assert_eq!(before, after);
        assert!(after.iter().any(|&e| e >= 12));
    }
}
