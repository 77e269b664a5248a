//! Deterministic key-access traces and the per-key attributes (value size, recreation cost) the
//! replay needs. Everything here is a pure function of the seed and the scale, so every server sees
//! the very same requests, and a run can be repeated bit for bit.

/// Fixed key width (`key:` + 8 digits) so every key costs the same bytes in every server.
pub const KEY_LEN: usize = 12;
/// Estimated Redis 7 bytes per key beyond key and value (dictEntry 24, robj 16, two sds headers,
/// hash-table slot, jemalloc rounding). Measured: 100k keys of 200 B took 299 B each in
/// `used_memory`, i.e. 87 B over key + value. Only used to size caches, never to score.
pub const PER_KEY_OVERHEAD: u64 = 90;
/// Allowance for each server's fixed memory (Redis 7 starts at ~0.9 MB `used_memory`), added to
/// every maxmemory so the data budget is not eaten by the process's own structures.
pub const BASE_MEMORY: u64 = 1 << 20;
pub const MIN_VALUE: u32 = 100;
pub const MAX_VALUE: u32 = 10 * 1024;
/// Value size of the fixed-size workloads.
pub const FIXED_VALUE: u32 = 200;
/// Value size of the memtier-like mix.
const MIX_VALUE: u32 = 500;
/// The loop walks this many times the keys the Redis estimate says the cache holds. cachet holds
/// more of them (~245 B a key of this size against the estimate's 302): at 1.2 all of the loop
/// fit in cachet once its start-up baseline fell, and it tested nothing; at 1.6 the loop is ~1.3×
/// what cachet holds, so every server evicts, with room for leaner entries.
const LOOP_FACTOR: f64 = 1.6;

/// SplitMix64: tiny, fast, and its output is fixed forever, unlike a crate's default RNG.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in [0, 1) from a key id, independent of the request stream.
fn key_unit(seed: u64, id: u32, salt: u64) -> f64 {
    (mix(seed ^ salt ^ (u64::from(id) << 1).wrapping_mul(0xD6E8_FEB8_6659_FD93)) >> 11) as f64
        * (1.0 / (1u64 << 53) as f64)
}

/// Zipf(α) over ranks 0..n by inverse CDF (binary search in a precomputed table).
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub fn new(n: u32, alpha: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n as usize);
        let mut sum = 0.0;
        for rank in 1..=n {
            sum += 1.0 / f64::from(rank).powf(alpha);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }
    pub fn sample(&self, rng: &mut Rng) -> u32 {
        let u = rng.unit();
        let rank = self.cdf.partition_point(|&c| c <= u);
        rank.min(self.cdf.len() - 1) as u32
    }
}

pub enum Sizing {
    Fixed(u32),
    /// Log-uniform in [MIN_VALUE, MAX_VALUE], drawn once per key from its id.
    LogUniform,
    /// Each key's value is its JSON document (`json_doc`); the lengths are computed once.
    Json(Vec<u32>),
}

pub struct Workload {
    pub name: String,
    pub about: String,
    /// Key ids in request order.
    pub trace: Vec<u32>,
    /// Empty for a cache-aside replay (GET, and SET on a miss). Otherwise one flag per request:
    /// `true` is a SET, `false` a GET whose miss is left unfilled (memtier's mix).
    pub writes: Vec<bool>,
    pub sizing: Sizing,
    /// Whether keys carry a recreation cost (otherwise every key costs 1).
    pub costs: bool,
    pub maxmemory: u64,
    pub seed: u64,
}

impl Workload {
    pub fn size(&self, id: u32) -> u32 {
        match &self.sizing {
            Sizing::Fixed(n) => *n,
            Sizing::LogUniform => log_size(self.seed, id),
            Sizing::Json(sizes) => sizes[id as usize],
        }
    }

    /// The bytes a miss stores for `id`: `filler` cut to the key's size, or its JSON document.
    pub fn value<'a>(&self, id: u32, filler: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        match self.sizing {
            Sizing::Json(_) => json_doc(self.seed, id).into(),
            _ => filler[..self.size(id) as usize].into(),
        }
    }

    /// Recreation cost 1..=100. Mildly correlated with size on purpose (bigger objects tend to
    /// cost more to rebuild, but not reliably): 75% an independent uniform draw, 25% the key's
    /// position on the log-size scale, which gives a Pearson correlation of about 0.3 between cost
    /// and log(size).
    pub fn cost(&self, id: u32) -> u32 {
        if !self.costs {
            return 1;
        }
        let t = (f64::from(log_size(self.seed, id)) / f64::from(MIN_VALUE)).ln()
            / (f64::from(MAX_VALUE) / f64::from(MIN_VALUE)).ln();
        let mixed = 0.75 * key_unit(self.seed, id, 0xC057) + 0.25 * t.clamp(0.0, 1.0);
        1 + ((99.0 * mixed).round() as u32).min(99)
    }
}

fn log_size(seed: u64, id: u32) -> u32 {
    let (lo, hi) = (f64::from(MIN_VALUE).ln(), f64::from(MAX_VALUE).ln());
    (lo + key_unit(seed, id, 0x512E) * (hi - lo)).exp().round() as u32
}

const WORDS: [&str; 16] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa",
];

/// A product page's JSON of 1-8 KB for a key, the shape of `scripts/bench-memory.sh`'s documents
/// (nested objects, the same field names in every item, words and numbers from small sets): what
/// compression is for. A pure function of (seed, id), so a re-SET after an eviction stores the
/// same bytes.
pub fn json_doc(seed: u64, id: u32) -> Vec<u8> {
    let mut rng = Rng::new(mix(seed ^ 0x150A ^ u64::from(id)));
    let target = 1000 + rng.below(7000) as usize;
    let word = |rng: &mut Rng| WORDS[rng.below(16) as usize];
    let mut doc = format!(
        r#"{{"id":{},"category":"{}","items":["#,
        rng.below(1 << 32),
        word(&mut rng)
    );
    let mut first = true;
    while doc.len() + 2 < target {
        if !first {
            doc.push(',');
        }
        first = false;
        let (a, b, c) = (word(&mut rng), word(&mut rng), word(&mut rng));
        doc.push_str(&format!(
            r#"{{"sku":"{}-{:05}","name":"{a} {b} {c}","price":{}.{:02},"stock":{{"warehouse":"{}","count":{},"updated":{}}},"tags":["{}","{}","{}"],"active":{}}}"#,
            word(&mut rng),
            rng.below(100_000),
            1 + rng.below(999),
            rng.below(100),
            WORDS[rng.below(4) as usize],
            rng.below(500),
            1_700_000_000 + rng.below(10_000_000),
            word(&mut rng),
            word(&mut rng),
            word(&mut rng),
            rng.below(10) < 8,
        ));
    }
    doc.push_str("]}");
    doc.into_bytes()
}

/// Workloads run only when named (not part of `all`): JSON documents take the client ~5 KB of
/// work per miss and the servers gigabytes at the default scale.
pub const BY_NAME: &[&str] = &["zipf-json"];

pub const ALL: &[&str] = &[
    "zipf-0.8",
    "zipf-1.0",
    "zipf-scan",
    "shifting",
    "loop",
    "mixed-size",
    "mix",
];

pub struct Params {
    pub requests: usize,
    /// Key-universe size of the fixed-size Zipf workloads (mixed-size uses a quarter of it).
    pub keys: u32,
    /// Fraction of the key universe's estimated footprint given as maxmemory.
    pub cache_frac: f64,
    pub seed: u64,
}

fn entry_bytes(value: u32) -> u64 {
    KEY_LEN as u64 + u64::from(value) + PER_KEY_OVERHEAD
}

fn fixed_budget(p: &Params, n: u32) -> u64 {
    BASE_MEMORY + (p.cache_frac * (u64::from(n) * entry_bytes(FIXED_VALUE)) as f64) as u64
}

fn zipf_trace(p: &Params, rng: &mut Rng, alpha: f64) -> Vec<u32> {
    let zipf = Zipf::new(p.keys, alpha);
    (0..p.requests).map(|_| zipf.sample(rng)).collect()
}

pub fn build(name: &str, p: &Params) -> Option<Workload> {
    // Each workload gets its own stream, so selecting a subset does not change the others.
    let seed = p.seed
        ^ mix(name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b))));
    let mut rng = Rng::new(seed);
    let n = p.keys;
    let pct = (p.cache_frac * 100.0).round();
    let fixed = |name: &str, about: String, trace| Workload {
        name: name.to_string(),
        about,
        trace,
        writes: Vec::new(),
        sizing: Sizing::Fixed(FIXED_VALUE),
        costs: false,
        maxmemory: fixed_budget(p, n),
        seed,
    };
    Some(match name {
        "zipf-0.8" => fixed(
            "zipf-0.8",
            format!("Zipf a=0.8 over {n} keys of {FIXED_VALUE} B, cache ~{pct}% of them"),
            zipf_trace(p, &mut rng, 0.8),
        ),
        "zipf-1.0" => fixed(
            "zipf-1.0",
            format!("Zipf a=1.0 over {n} keys of {FIXED_VALUE} B, cache ~{pct}% of them"),
            zipf_trace(p, &mut rng, 1.0),
        ),
        "zipf-scan" => {
            // Cycles of 80% Zipf requests then a burst of never-repeated keys (20% of requests),
            // each burst about half the cache, so recency-only policies lose half their content.
            let cache_keys =
                ((fixed_budget(p, n) - BASE_MEMORY) / entry_bytes(FIXED_VALUE)) as usize;
            let burst = (cache_keys / 2).max(1);
            let cycle = burst * 5;
            let zipf = Zipf::new(n, 1.0);
            let mut next_scan_id = n;
            let trace = (0..p.requests)
                .map(|i| {
                    if i % cycle >= cycle - burst {
                        next_scan_id += 1;
                        next_scan_id - 1
                    } else {
                        zipf.sample(&mut rng)
                    }
                })
                .collect();
            fixed(
                "zipf-scan",
                format!("Zipf a=1.0 over {n} keys; every {cycle} requests a burst of {burst} one-time keys (20%)"),
                trace,
            )
        }
        "shifting" => {
            // Zipf ranks are mapped onto keys with an offset that jumps to a random place every 5%
            // of the trace: yesterday's hot keys go cold at once, and frequency counts mislead.
            let zipf = Zipf::new(n, 1.0);
            let phase = (p.requests / 20).max(1);
            let mut offset = 0u32;
            let trace = (0..p.requests)
                .map(|i| {
                    if i % phase == 0 {
                        offset = rng.below(u64::from(n)) as u32;
                    }
                    ((u64::from(zipf.sample(&mut rng)) + u64::from(offset)) % u64::from(n)) as u32
                })
                .collect();
            fixed(
                "shifting",
                format!("Zipf a=1.0 over {n} keys, hot set moves to a random place every 5% of requests"),
                trace,
            )
        }
        "loop" => {
            // The key set is LOOP_FACTOR times what the cache holds (by the Redis estimate), so
            // LRU always evicts the key needed next; the optimum keeps a fixed subset (what fits
            // over the loop: ~62% by the estimate, ~77% at cachet's ~245 B a key).
            let cache_keys = (fixed_budget(p, n) - BASE_MEMORY) / entry_bytes(FIXED_VALUE);
            let loop_keys = ((cache_keys as f64 * LOOP_FACTOR) as u32).max(2);
            let trace = (0..p.requests)
                .map(|i| (i % loop_keys as usize) as u32)
                .collect();
            fixed(
                "loop",
                format!("cyclic walk over {loop_keys} keys of {FIXED_VALUE} B, {LOOP_FACTOR}x what fits"),
                trace,
            )
        }
        "mixed-size" => {
            let n = (n / 4).max(16);
            let zipf = Zipf::new(n, 0.9);
            let trace = (0..p.requests).map(|_| zipf.sample(&mut rng)).collect();
            let mut w = Workload {
                name: "mixed-size".into(),
                about: String::new(),
                trace,
                writes: Vec::new(),
                sizing: Sizing::LogUniform,
                costs: true,
                maxmemory: 0,
                seed,
            };
            let footprint: u64 = (0..n).map(|id| entry_bytes(w.size(id))).sum();
            w.maxmemory = BASE_MEMORY + (p.cache_frac * footprint as f64) as u64;
            w.about = format!(
                "Zipf a=0.9 over {n} keys, values log-uniform {MIN_VALUE} B-{} KiB, cost 1-100, cache ~{pct}% of bytes",
                MAX_VALUE / 1024
            );
            w
        }
        "mix" => {
            // memtier's default mix at the limit, as `MIX=1 scripts/bench-vs-redis.sh` runs it:
            // 1 SET to 10 GETs, keys Gaussian over the universe (mean in the middle, sigma = n/6),
            // misses left unfilled, 500 B values, the universe ~3x what fits. Like that script,
            // the trace opens with SETs alone worth twice the cache (in the unscored warm-up when
            // the trace is long enough), so every server is evicting before the mix starts.
            let maxmemory = BASE_MEMORY + u64::from(n) * entry_bytes(MIX_VALUE) / 3;
            let cache_keys = (maxmemory - BASE_MEMORY) / entry_bytes(MIX_VALUE);
            let fill = (2 * cache_keys) as usize;
            let mut gauss = || {
                // Box-Muller; clamped to the universe as the script does.
                let (u, v) = (1.0 - rng.unit(), rng.unit());
                let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                (f64::from(n) / 2.0 + z * f64::from(n) / 6.0).clamp(0.0, f64::from(n - 1)) as u32
            };
            let trace: Vec<u32> = (0..fill + p.requests).map(|_| gauss()).collect();
            let writes = (0..fill + p.requests)
                .map(|i| i < fill || (i - fill).is_multiple_of(11))
                .collect();
            Workload {
                name: "mix".into(),
                about: format!(
                    "memtier mix: 1 SET : 10 GET (misses not filled), Gaussian over {n} keys of {MIX_VALUE} B, cache ~1/3 of them, {fill} SETs first"
                ),
                trace,
                writes,
                sizing: Sizing::Fixed(MIX_VALUE),
                costs: false,
                maxmemory,
                seed,
            }
        }
        "zipf-json" => {
            // A quarter of the keys, as mixed-size: the documents average ~4.5 KB.
            let n = (n / 4).max(16);
            let zipf = Zipf::new(n, 0.9);
            let trace = (0..p.requests).map(|_| zipf.sample(&mut rng)).collect();
            let sizes: Vec<u32> = (0..n).map(|id| json_doc(seed, id).len() as u32).collect();
            let footprint: u64 = sizes.iter().map(|&s| entry_bytes(s)).sum();
            Workload {
                name: "zipf-json".into(),
                about: format!(
                    "Zipf a=0.9 over {n} keys, JSON documents of 1-8 KB, cache ~{pct}% of their bytes uncompressed"
                ),
                trace,
                writes: Vec::new(),
                sizing: Sizing::Json(sizes),
                costs: false,
                maxmemory: BASE_MEMORY + (p.cache_frac * footprint as f64) as u64,
                seed,
            }
        }
        _ => return None,
    })
}

/// A recorded trace (`scripts/trace-keys.py` writes one: a key per line, an unsigned integer as the
/// first field), at most `p.requests` of its requests, keys renumbered densely by first
/// appearance. Every key gets FIXED_VALUE bytes (the recorded sizes are not replayed); the cache
/// is `p.cache_frac` of the distinct keys' footprint, as for the synthetic workloads.
pub fn from_file(path: &std::path::Path, p: &Params) -> Result<Workload, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut ids = std::collections::HashMap::new();
    let mut trace = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(field) = line.split_whitespace().next() else {
            continue;
        };
        let key: u64 = field
            .parse()
            .map_err(|_| format!("{}:{}: not a key: {field:?}", path.display(), n + 1))?;
        let next = ids.len() as u32;
        trace.push(*ids.entry(key).or_insert(next));
        if trace.len() == p.requests {
            break;
        }
    }
    let keys = ids.len() as u32;
    if keys > 99_999_999 {
        return Err(format!("{}: more keys than key names hold", path.display()));
    }
    let name = path
        .file_stem()
        .map_or_else(|| "trace".into(), |s| s.to_string_lossy().into_owned());
    let about = format!(
        "{} requests of {keys} keys recorded in {}, {FIXED_VALUE} B each, cache ~{:.0}% of them",
        trace.len(),
        path.display(),
        p.cache_frac * 100.0
    );
    Ok(Workload {
        maxmemory: fixed_budget(p, keys),
        name,
        about,
        trace,
        writes: Vec::new(),
        sizing: Sizing::Fixed(FIXED_VALUE),
        costs: false,
        seed: p.seed,
    })
}
