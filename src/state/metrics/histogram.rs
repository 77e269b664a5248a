//! A latency histogram with HdrHistogram's bucket layout as Redis configures it for its
//! per-command latencies (`hdr_init(1, 1_000_000_000, 2)`: nanoseconds from 1 to 1 s, two
//! significant figures), so that percentiles (`INFO latencystats`) and the buckets of
//! `LATENCY HISTOGRAM` come out as Redis's do: `p50=1.003` is the highest value of the 8 ns wide
//! bucket that holds 1000 ns, and the histogram keys are 1, 2, 4, 8, 16, 33, 66... µs.
//!
//! Layout: bucket 0 holds 0..256 one nanosecond apart; bucket `b` ≥ 1 holds 128·2^b..256·2^b in
//! 128 steps of 2^b. 23 buckets reach past 1 s: 3,072 counts, 24 KiB.
//!
//! Counts are atomics written by one thread (the owner records with a plain load and store, no
//! locked instruction) and read by any: a reader may see a count one behind, never a torn one.

use std::sync::atomic::{AtomicU64, Ordering};

/// Redis's `LATENCY_HISTOGRAM_MIN_VALUE` and `_MAX_VALUE`, nanoseconds.
pub const MIN_VALUE: u64 = 1;
pub const MAX_VALUE: u64 = 1_000_000_000;
/// `sub_bucket_count` for two significant figures: 2·10² rounded up to a power of two.
const SUB_BUCKET_COUNT_MAGNITUDE: u32 = 8;
const SUB_BUCKET_COUNT: u64 = 1 << SUB_BUCKET_COUNT_MAGNITUDE;
const SUB_BUCKET_HALF_COUNT_MAGNITUDE: u32 = SUB_BUCKET_COUNT_MAGNITUDE - 1;
const SUB_BUCKET_HALF_COUNT: u64 = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
const SUB_BUCKET_MASK: u64 = SUB_BUCKET_COUNT - 1;
/// Buckets until `SUB_BUCKET_COUNT << (buckets - 1)` passes `MAX_VALUE`.
const BUCKET_COUNT: usize = 23;
pub const COUNTS_LEN: usize = (BUCKET_COUNT + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE;

fn bucket_index(value: u64) -> u32 {
    let pow2ceiling = 64 - (value | SUB_BUCKET_MASK).leading_zeros();
    pow2ceiling - (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1)
}

fn sub_bucket_index(value: u64, bucket: u32) -> u64 {
    value >> bucket
}

fn counts_index_for(value: u64) -> usize {
    let bucket = bucket_index(value);
    let sub = sub_bucket_index(value, bucket);
    (((bucket as u64 + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + sub - SUB_BUCKET_HALF_COUNT)
        as usize
}

/// The lowest value counted at `index`.
fn value_at_index(index: usize) -> u64 {
    let mut bucket = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) as i64 - 1;
    let mut sub = (index as u64 & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if bucket < 0 {
        sub -= SUB_BUCKET_HALF_COUNT;
        bucket = 0;
    }
    sub << bucket
}

/// Width of the range of values counted with `value`.
fn equivalent_range(value: u64) -> u64 {
    let bucket = bucket_index(value);
    let sub = sub_bucket_index(value, bucket);
    let adjusted = if sub >= SUB_BUCKET_COUNT {
        bucket + 1
    } else {
        bucket
    };
    1 << adjusted
}

fn lowest_equivalent(value: u64) -> u64 {
    let bucket = bucket_index(value);
    sub_bucket_index(value, bucket) << bucket
}

/// The highest value counted with `value`: what HdrHistogram reports for a bucket.
pub fn highest_equivalent(value: u64) -> u64 {
    lowest_equivalent(value) + equivalent_range(value) - 1
}

/// One command's histogram as recorded by one thread.
pub struct Histogram {
    counts: Box<[AtomicU64]>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..COUNTS_LEN).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Histogram {
    /// Records `nanos`, clamped to 1 ns..1 s as Redis's `updateCommandLatencyHistogram`. Only the
    /// owning thread records.
    pub fn record(&self, nanos: u64) {
        let slot = &self.counts[counts_index_for(nanos.clamp(MIN_VALUE, MAX_VALUE))];
        slot.store(slot.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Back to no sample (`CONFIG RESETSTAT`), by the owning thread.
    pub fn clear(&self) {
        for count in self.counts.iter() {
            count.store(0, Ordering::Relaxed);
        }
    }

    /// Adds this histogram's counts into `into`.
    pub fn add_to(&self, into: &mut Snapshot) {
        for (total, count) in into.counts.iter_mut().zip(self.counts.iter()) {
            let count = count.load(Ordering::Relaxed);
            *total += count;
            into.total += count;
        }
    }
}

/// The sum of several threads' histograms of one command, read for a reply.
pub struct Snapshot {
    counts: Vec<u64>,
    pub total: u64,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            counts: vec![0; COUNTS_LEN],
            total: 0,
        }
    }
}

impl Snapshot {
    /// HdrHistogram's `hdr_value_at_percentile`: the highest value of the bucket where the count
    /// reaches `percentile` of the total (rounded half up), the lowest for the 0th percentile.
    pub fn value_at_percentile(&self, percentile: f64) -> u64 {
        let requested = percentile.min(100.0);
        let wanted = ((requested / 100.0) * self.total as f64 + 0.5) as u64;
        let wanted = wanted.max(1);
        let mut seen = 0;
        let mut value = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                value = value_at_index(index);
                break;
            }
        }
        if percentile == 0.0 {
            lowest_equivalent(value)
        } else {
            highest_equivalent(value)
        }
    }

    /// Samples at most `nanos` (those whose bucket's values all are): a Prometheus bucket's count.
    pub fn count_at_most(&self, nanos: u64) -> u64 {
        self.counts
            .iter()
            .enumerate()
            .take_while(|(index, _)| highest_equivalent(value_at_index(*index)) <= nanos)
            .map(|(_, count)| count)
            .sum()
    }

    /// `LATENCY HISTOGRAM`'s buckets, as Redis's `fillCommandCDF` walks HdrHistogram's log
    /// iterator (first level 1024 ns, each next one twice as far): (µs, cumulative count) pairs,
    /// one per level where the cumulative count grew.
    pub fn log_buckets(&self) -> Vec<(u64, u64)> {
        let mut walk = Walk {
            counts: &self.counts,
            index: -1,
            cumulative: 0,
            value: 0,
            highest: 0,
        };
        let mut level: u64 = 1024;
        let mut level_lowest = lowest_equivalent(level);
        let (mut buckets, mut previous) = (Vec::new(), 0);
        // `log_iter_next`, until it has nothing more to report.
        while walk.cumulative < self.total || walk.next_value_beyond(level_lowest) {
            while walk.value < level_lowest {
                if !walk.move_next() {
                    break;
                }
            }
            if walk.value >= level_lowest {
                level *= 2;
                level_lowest = lowest_equivalent(level);
            }
            if walk.cumulative > previous {
                buckets.push((walk.highest / 1000, walk.cumulative));
            }
            previous = walk.cumulative;
        }
        buckets
    }
}

/// HdrHistogram's `hdr_iter` over a snapshot's counts.
struct Walk<'a> {
    counts: &'a [u64],
    index: isize,
    cumulative: u64,
    /// The lowest and highest values of the bucket at `index`.
    value: u64,
    highest: u64,
}

impl Walk<'_> {
    /// One bucket further; false past the last (the values stay those of the last bucket).
    fn move_next(&mut self) -> bool {
        self.index += 1;
        let Some(&count) = self.counts.get(self.index as usize) else {
            return false;
        };
        self.cumulative += count;
        self.value = value_at_index(self.index as usize);
        self.highest = highest_equivalent(self.value);
        true
    }

    /// `next_value_greater_than_reporting_level_upper_bound`.
    fn next_value_beyond(&self, level_lowest: u64) -> bool {
        self.index < self.counts.len() as isize
            && value_at_index((self.index + 1) as usize) > level_lowest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(values: &[u64]) -> Snapshot {
        let histogram = Histogram::default();
        for &v in values {
            histogram.record(v);
        }
        let mut snapshot = Snapshot::default();
        histogram.add_to(&mut snapshot);
        snapshot
    }

    #[test]
    fn layout_matches_hdr_with_two_significant_figures() {
        assert_eq!(COUNTS_LEN, 3072);
        assert_eq!(highest_equivalent(1000), 1003);
        assert_eq!(highest_equivalent(255), 255);
        assert_eq!(highest_equivalent(256), 257);
        assert_eq!(highest_equivalent(32768), 33023);
        assert!(counts_index_for(MAX_VALUE) < COUNTS_LEN);
        for value in [1, 2, 200, 256, 511, 1024, 99_999, 123_456_789, MAX_VALUE] {
            let index = counts_index_for(value);
            assert!(value_at_index(index) <= value && value <= highest_equivalent(value));
        }
    }

    #[test]
    fn percentiles_report_the_highest_value_of_their_bucket() {
        let s = snapshot(&[1000; 10]);
        assert_eq!(s.value_at_percentile(50.0), 1003);
        let mut values = vec![1000; 99];
        values.push(11_000);
        let s = snapshot(&values);
        assert_eq!(s.value_at_percentile(50.0), 1003);
        assert_eq!(s.value_at_percentile(99.0), 1003);
        assert_eq!(s.value_at_percentile(99.9), 11_007);
        assert_eq!(s.value_at_percentile(100.0), 11_007);
        assert_eq!(snapshot(&[]).value_at_percentile(50.0), 0);
    }

    #[test]
    fn count_at_most_counts_whole_buckets() {
        // 1000 ns falls in the bucket 1000..=1003: counted from 1003 on, not at 1002.
        let s = snapshot(&[10, 1000, 1000, 11_000]);
        assert_eq!(s.count_at_most(9), 0);
        assert_eq!(s.count_at_most(10), 1);
        assert_eq!(s.count_at_most(1002), 1);
        assert_eq!(s.count_at_most(1003), 3);
        assert_eq!(s.count_at_most(11_006), 3);
        assert_eq!(s.count_at_most(u64::MAX), 4);
    }

    #[test]
    fn log_buckets_as_redis_fill_command_cdf() {
        // Samples at 5 µs show under the 8 µs level; Redis's keys: 1 2 4 8 16 33 66 ...
        assert_eq!(snapshot(&[5000, 5000]).log_buckets(), vec![(8, 2)]);
        assert_eq!(snapshot(&[500]).log_buckets(), vec![(1, 1)]);
        assert_eq!(
            snapshot(&[500, 1500, 40_000]).log_buckets(),
            vec![(1, 1), (2, 2), (66, 3)]
        );
        assert!(snapshot(&[]).log_buckets().is_empty());
        let big = snapshot(&[2_000_000_000]);
        assert_eq!(big.log_buckets().last().map(|b| b.1), Some(1));
    }
}
