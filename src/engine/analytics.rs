//! Cache analytics kept by the read path, cheap enough to be always on: per shard, a Space-Saving
//! top-k of the most read keys and the hits/misses of the configured key prefixes
//! (`stats-prefixes`). `CACHE.TOPKEYS`, `CACHE.STATS` and `INFO cachet` read them.
//!
//! **Top keys.** Each shard keeps `TOP_KEYS_PER_SHARD` slots of (database, key hash, count), fed
//! by `DbShard::read` (hits and misses: a read is demand whether or not the key is there). A read
//! of a tracked key adds to its count; a read of another key takes the slot with the smallest
//! count and adds to it (Space-Saving: a count overestimates by at most the count it inherited,
//! and any key read more than 1/64 of its shard's reads is guaranteed a slot). A key lives in one
//! shard, so the union of the shards' slots is the keyspace's summary, with no merging error.
//! Slots hold the key's hash, not its bytes: the read path never allocates or copies, and the
//! memory is fixed (1.25 KiB per shard). `CACHE.TOPKEYS` finds each key by its hash in the table,
//! so a key deleted or expired since is not listed (its slot stays until a hotter key takes it).
//! Only one read in `SAMPLE_EVERY` (on average, at random intervals so no access pattern aliases
//! with it) updates the slots, counted `SAMPLE_EVERY` times: see `SAMPLE_EVERY` for the cost.
//!
//! **Prefixes.** Each shard holds the configured prefixes with its own hit and miss counts (no
//! shared atomics on the read path); a read counts for every prefix its key starts with, so
//! nested prefixes (`user:` and `user:vip:`) both see it. With none configured the read path
//! tests one length of a vector the shard already holds under its lock.

use crate::engine::{hash_key, Keyspace};

/// Slots of the top-k sketch per shard (64 shards by default: 2048 keys tracked). Every shard
/// holds its slots from startup, which counts against `maxmemory`: 64 per shard cost ~80 KB and
/// twice the scan per sampled read.
pub const TOP_KEYS_PER_SHARD: usize = 32;
/// Reads per top-k update, on average. Measured with `scripts/bench-vs-redis.sh` (GET, 1M random
/// keys, the worst case: every update replaces a slot): see ARCHITECTURE.md ("Analytics").
pub const SAMPLE_EVERY: u32 = 8;
/// Most prefixes `stats-prefixes` accepts: each costs a comparison on every read.
pub const MAX_STATS_PREFIXES: usize = 64;

/// A Space-Saving summary of the most read keys of one shard.
#[derive(Clone)]
pub struct TopKeys {
    hashes: [u64; TOP_KEYS_PER_SHARD],
    dbs: [u32; TOP_KEYS_PER_SHARD],
    counts: [u64; TOP_KEYS_PER_SHARD],
    len: usize,
}

impl Default for TopKeys {
    fn default() -> Self {
        TopKeys {
            hashes: [0; TOP_KEYS_PER_SHARD],
            dbs: [0; TOP_KEYS_PER_SHARD],
            counts: [0; TOP_KEYS_PER_SHARD],
            len: 0,
        }
    }
}

impl TopKeys {
    /// Counts `weight` reads of the key with this hash in database `db`.
    pub fn record(&mut self, db: usize, hash: u64, weight: u64) {
        let db = db as u32;
        let len = self.len;
        if let Some(slot) = (0..len).find(|&i| self.hashes[i] == hash && self.dbs[i] == db) {
            self.counts[slot] += weight;
            return;
        }
        let slot = if len < TOP_KEYS_PER_SHARD {
            self.len += 1;
            len
        } else {
            // The least counted slot; its count stays as the newcomer's possible overestimate.
            let mut min = 0;
            for i in 1..TOP_KEYS_PER_SHARD {
                if self.counts[i] < self.counts[min] {
                    min = i;
                }
            }
            min
        };
        self.hashes[slot] = hash;
        self.dbs[slot] = db;
        self.counts[slot] += weight;
    }

    /// (database, hash, estimated reads) of every tracked key, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (usize, u64, u64)> + '_ {
        (0..self.len).map(|i| (self.dbs[i] as usize, self.hashes[i], self.counts[i]))
    }

    pub fn clear(&mut self) {
        *self = TopKeys::default();
    }
}

/// Hits and misses of the reads whose key starts with `prefix`, and the compression of the
/// writes of such keys (`engine::compress`): values tried, their bytes before and after (a value
/// kept raw counts the same on both sides) and the CPU spent compressing them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrefixCount {
    pub prefix: Box<[u8]>,
    pub hits: u64,
    pub misses: u64,
    pub compressed_values: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub compress_nanos: u64,
}

impl PrefixCount {
    fn add(&mut self, other: &PrefixCount) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.compressed_values += other.compressed_values;
        self.bytes_before += other.bytes_before;
        self.bytes_after += other.bytes_after;
        self.compress_nanos += other.compress_nanos;
    }
}

/// Every compression attempt of one shard's writes, whatever the key (INFO `compression`):
/// this server's own, where a process-wide count would mix the servers a test process runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompressionWork {
    /// Values stored compressed.
    pub compressed: u64,
    /// Values that did not shrink by an eighth and were stored raw.
    pub skipped: u64,
    pub nanos: u64,
}

/// What one shard keeps for the analytics.
pub struct ShardAnalytics {
    pub top_keys: TopKeys,
    /// Not cleared by `reset`: like the other compression figures, counted since the start.
    pub compression: CompressionWork,
    /// The configured prefixes, in configuration order, with this shard's counts.
    pub prefixes: Vec<PrefixCount>,
    /// Reads left before the next top-k update.
    countdown: u32,
}

impl Default for ShardAnalytics {
    fn default() -> Self {
        ShardAnalytics {
            top_keys: TopKeys::default(),
            compression: CompressionWork::default(),
            prefixes: Vec::new(),
            countdown: 1,
        }
    }
}

impl ShardAnalytics {
    /// One read of `key` (a hit or a miss), from `DbShard::read`.
    #[inline]
    pub fn record_read(&mut self, db: usize, hash: u64, key: &[u8], hit: bool) {
        if !self.prefixes.is_empty() {
            self.count_prefixes(key, hit);
        }
        self.countdown -= 1;
        if self.countdown == 0 {
            // Uniform in 1..2×SAMPLE_EVERY: SAMPLE_EVERY on average, never in step with a cycle.
            self.countdown = fastrand::u32(1..2 * SAMPLE_EVERY);
            self.top_keys.record(db, hash, SAMPLE_EVERY as u64);
        }
    }

    fn count_prefixes(&mut self, key: &[u8], hit: bool) {
        for counter in self.prefixes.iter_mut() {
            if key.starts_with(&counter.prefix) {
                if hit {
                    counter.hits += 1;
                } else {
                    counter.misses += 1;
                }
            }
        }
    }

    /// A write's compression attempt (`DbShard::compress`), counted like reads: for every
    /// configured prefix the key starts with.
    pub fn record_compression(&mut self, key: &[u8], work: crate::engine::compress::Work) {
        // A frame is always shorter than its value (it saved an eighth); a value kept raw is
        // counted with its own length.
        match work.stored < work.original {
            true => self.compression.compressed += 1,
            false => self.compression.skipped += 1,
        }
        self.compression.nanos += work.nanos;
        for counter in self.prefixes.iter_mut() {
            if key.starts_with(&counter.prefix) {
                counter.compressed_values += 1;
                counter.bytes_before += work.original as u64;
                counter.bytes_after += work.stored as u64;
                counter.compress_nanos += work.nanos;
            }
        }
    }

    /// Replaces the prefix list, keeping the counts of the prefixes that stay.
    fn set_prefixes(&mut self, prefixes: &[Box<[u8]>]) {
        let old = std::mem::take(&mut self.prefixes);
        self.prefixes = prefixes
            .iter()
            .map(|prefix| {
                old.iter()
                    .find(|c| c.prefix == *prefix)
                    .cloned()
                    .unwrap_or_else(|| PrefixCount {
                        prefix: prefix.clone(),
                        ..PrefixCount::default()
                    })
            })
            .collect();
    }

    pub fn reset(&mut self) {
        self.top_keys.clear();
        for counter in self.prefixes.iter_mut() {
            *counter = PrefixCount {
                prefix: std::mem::take(&mut counter.prefix),
                ..PrefixCount::default()
            };
        }
    }
}

/// The `stats-prefixes` value as a list: words split on whitespace, duplicates dropped.
pub fn parse_prefixes(words: &[&str]) -> Result<Vec<String>, String> {
    let mut prefixes: Vec<String> = Vec::new();
    for word in words.iter().flat_map(|w| w.split_whitespace()) {
        if !prefixes.iter().any(|p| p == word) {
            prefixes.push(word.to_string());
        }
    }
    if prefixes.len() > MAX_STATS_PREFIXES {
        return Err(format!("at most {MAX_STATS_PREFIXES} prefixes"));
    }
    Ok(prefixes)
}

impl Keyspace {
    /// Installs the configured prefixes in every shard (after `CONFIG SET`); counts of prefixes
    /// that stay configured are kept, new ones start at zero.
    pub fn set_stats_prefixes(&self, prefixes: &[String]) {
        let prefixes: Vec<Box<[u8]>> = prefixes.iter().map(|p| p.as_bytes().into()).collect();
        self.for_each_shard(|_, shard| {
            let current = &shard.analytics.prefixes;
            let same = current.len() == prefixes.len()
                && current.iter().zip(&prefixes).all(|(c, p)| c.prefix == *p);
            if !same {
                shard.analytics.set_prefixes(&prefixes);
            }
        });
    }

    /// Every configured prefix with its counts, summed over the shards, in
    /// configuration order.
    pub fn prefix_stats(&self) -> Vec<PrefixCount> {
        let mut total: Vec<PrefixCount> = Vec::new();
        self.for_each_shard(|_, shard| {
            for counter in &shard.analytics.prefixes {
                match total.iter_mut().find(|t| t.prefix == counter.prefix) {
                    Some(t) => t.add(counter),
                    None => total.push(counter.clone()),
                }
            }
        });
        total
    }

    /// The compression attempts of every shard's writes, summed.
    pub fn compression_work(&self) -> CompressionWork {
        let mut total = CompressionWork::default();
        self.for_each_shard(|_, shard| {
            let work = &shard.analytics.compression;
            total.compressed += work.compressed;
            total.skipped += work.skipped;
            total.nanos += work.nanos;
        });
        total
    }

    /// The `n` most read keys of database `db` that exist now, with their estimated reads, the
    /// most read first (ties by key).
    pub fn top_keys(&self, db: usize, now_ms: u64, n: usize) -> Vec<(Vec<u8>, u64)> {
        let mut found = Vec::new();
        if n == 0 || db >= self.databases() {
            return found;
        }
        self.for_each_shard(|_, shard| {
            let table = &shard.dbs[db];
            for (_, hash, count) in shard.analytics.top_keys.entries().filter(|e| e.0 == db) {
                let entry = table.map.find(hash, |e| hash_key(e.key()) == hash);
                if let Some(entry) = entry.filter(|e| !e.is_expired(now_ms)) {
                    found.push((entry.key().to_vec(), count));
                }
            }
        });
        found.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        found.truncate(n);
        found
    }

    /// Forgets the top keys and zeroes the prefix counts (`CACHE.STATS RESET`).
    pub fn reset_analytics(&self) {
        self.for_each_shard(|_, shard| shard.analytics.reset());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic Zipf(1.0) stream over `keys` ranks (rank 0 the most frequent).
    fn zipf_stream(keys: usize, reads: usize, seed: u64) -> Vec<usize> {
        let weights: Vec<f64> = (1..=keys).map(|r| 1.0 / r as f64).collect();
        let total: f64 = weights.iter().sum();
        let mut cumulative = Vec::with_capacity(keys);
        let mut sum = 0.0;
        for w in &weights {
            sum += w / total;
            cumulative.push(sum);
        }
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..reads)
            .map(|_| {
                let x = rng.f64();
                cumulative.partition_point(|&c| c < x).min(keys - 1)
            })
            .collect()
    }

    fn top(topk: &TopKeys, n: usize) -> Vec<u64> {
        let mut entries: Vec<(usize, u64, u64)> = topk.entries().collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.2));
        entries.into_iter().take(n).map(|e| e.1).collect()
    }

    /// One shard's share of the traffic: 5,000 keys is a 320k-key keyspace over 64 shards.
    #[test]
    fn zipf_stream_reports_the_true_top_five() {
        let keys = 5_000;
        let stream = zipf_stream(keys, 500_000, 7);
        let hash_of_rank = |rank: usize| hash_key(format!("key:{rank}").as_bytes());
        let mut exact = TopKeys::default();
        for &rank in &stream {
            exact.record(0, hash_of_rank(rank), 1);
        }
        let expected: Vec<u64> = (0..5).map(hash_of_rank).collect();
        // Exact counts: every key above N / slots reads is guaranteed a slot.
        assert_reports(&exact, &expected[..3]);

        // Sampled as the read path does it.
        let mut shard = ShardAnalytics::default();
        for &rank in &stream {
            shard.record_read(0, hash_of_rank(rank), b"", true);
        }
        // Sampled 1 in 8 (at random) the guarantee is statistical: keep a wide margin.
        assert_reports(&shard.top_keys, &expected[..2]);
    }

    /// What Space-Saving promises on a skewed stream, whatever the hash seed and the sampling:
    /// keys read more than N / slots times are all tracked, and the hottest, read more than the
    /// next one plus any overestimate, comes first. (Below that a newcomer's inherited count may
    /// pass a true key's.)
    fn assert_reports(topk: &TopKeys, expected: &[u64]) {
        let tracked: Vec<u64> = topk.entries().map(|e| e.1).collect();
        assert!(expected.iter().all(|h| tracked.contains(h)), "{tracked:?}");
        assert_eq!(top(topk, 1), expected[..1]);
    }

    #[test]
    fn counts_are_per_database_and_bounded() {
        let mut topk = TopKeys::default();
        for i in 0..10_000u64 {
            topk.record(0, i, 1);
        }
        for _ in 0..500 {
            topk.record(0, 42_000, 1);
            topk.record(3, 42_000, 2);
        }
        assert_eq!(topk.entries().count(), TOP_KEYS_PER_SHARD);
        let hot: Vec<_> = topk.entries().filter(|e| e.1 == 42_000).collect();
        assert_eq!(hot.len(), 2);
        assert!(hot.contains(&(3, 42_000, hot.iter().find(|e| e.0 == 3).unwrap().2)));
        let db3 = hot.iter().find(|e| e.0 == 3).unwrap().2;
        let db0 = hot.iter().find(|e| e.0 == 0).unwrap().2;
        // Space-Saving: at least the true count, at most true count plus the inherited minimum.
        assert!((1000..1000 + 10_000 / TOP_KEYS_PER_SHARD as u64 + 200).contains(&db3));
        assert!((500..500 + 10_000 / TOP_KEYS_PER_SHARD as u64 + 200).contains(&db0));
        topk.clear();
        assert_eq!(topk.entries().count(), 0);
    }

    #[test]
    fn prefixes_count_every_match_and_keep_counts_across_changes() {
        let mut shard = ShardAnalytics::default();
        let list = |words: &[&str]| -> Vec<Box<[u8]>> {
            words.iter().map(|w| w.as_bytes().into()).collect()
        };
        shard.set_prefixes(&list(&["user:", "user:vip:", "product:"]));
        shard.record_read(0, 1, b"user:1", true);
        shard.record_read(0, 2, b"user:vip:2", false);
        shard.record_read(0, 3, b"other", true);
        let counts: Vec<(u64, u64)> = shard.prefixes.iter().map(|c| (c.hits, c.misses)).collect();
        assert_eq!(counts, [(1, 1), (0, 1), (0, 0)]);
        shard.set_prefixes(&list(&["product:", "user:"]));
        let counts: Vec<(u64, u64)> = shard.prefixes.iter().map(|c| (c.hits, c.misses)).collect();
        assert_eq!(counts, [(0, 0), (1, 1)]);
        shard.reset();
        assert!(shard.prefixes.iter().all(|c| c.hits == 0 && c.misses == 0));
    }

    /// Nanoseconds per `record_read` on uniformly random keys (the worst case: almost every
    /// top-k update replaces a slot), sampled as shipped and with every read updating the slots.
    /// `cargo test --release --lib -- --ignored read_path_cost --nocapture` (figures in ARCHITECTURE.md).
    #[test]
    #[ignore]
    fn read_path_cost() {
        const READS: usize = 4_000_000;
        let hashes: Vec<u64> = (0..READS).map(|_| fastrand::u64(..)).collect();
        let key = b"user:12345";
        // Thread CPU time: on a shared machine wall time counts other processes' turns.
        let cpu_ns = crate::os::thread_cpu_ns;
        let time = |f: &mut dyn FnMut(u64)| {
            let start = cpu_ns();
            for &h in &hashes {
                f(std::hint::black_box(h));
            }
            (cpu_ns() - start) / READS as f64
        };
        let mut shard = ShardAnalytics::default();
        let sampled = time(&mut |h| shard.record_read(0, h, key, true));
        let mut topk = TopKeys::default();
        let every = time(&mut |h| topk.record(0, h, 1));
        let mut shard = ShardAnalytics::default();
        let list: Vec<Box<[u8]>> = ["user:", "product:", "cart:"]
            .iter()
            .map(|p| p.as_bytes().into())
            .collect();
        shard.set_prefixes(&list);
        let with_prefixes = time(&mut |h| shard.record_read(0, h, key, true));
        println!(
            "ns per read: sampled 1/{SAMPLE_EVERY} {sampled:.1}, every read {every:.1}, \
             sampled + 3 prefixes {with_prefixes:.1}"
        );
        std::hint::black_box((shard.top_keys.len, topk.len));
    }

    #[test]
    fn prefix_list_parsing() {
        assert_eq!(parse_prefixes(&[""]).unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_prefixes(&["user: product:  user:"]).unwrap(),
            ["user:", "product:"]
        );
        let many: Vec<String> = (0..=MAX_STATS_PREFIXES).map(|i| format!("p{i}")).collect();
        assert!(parse_prefixes(&[&many.join(" ")]).is_err());
    }
}
