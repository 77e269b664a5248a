//! Hit ratio under a memory limit: replays deterministic key-access traces cache-aside (GET k; on a
//! miss SET k to a value of k's size) against redis-server (allkeys-lru, allkeys-lfu) and cachet at
//! the same `maxmemory` in bytes, and prints object, byte and cost-weighted hit ratios side by side.
//!
//! Run: `scripts/hit-ratio.sh [options]`, or `cargo bench --bench hit_ratio -- [options]` after
//! `cargo build --release` (for target/release/cachet). `--help` lists the options.
//!
//! Method, in one place:
//! - Traces are generated in-process from `--seed` (SplitMix64, inverse-CDF Zipf): the same bytes
//!   for every server and every run. See `hit_ratio/trace.rs` for each workload.
//! - maxmemory per workload = 1 MiB (each server's own fixed structures) + `--cache-frac` (10%) of
//!   the key universe's footprint estimated for Redis (key + value + 90 B per key); the loop's key
//!   set is 1.6x what that budget holds (~1.3x what cachet holds: see `LOOP_FACTOR`). Both servers get exactly the same number of bytes; how
//!   many keys each fits in it is part of the result (see the DBSIZE table).
//! - Each (workload, server) gets a fresh server process, FLUSHALL, then the replay. The first
//!   `--warmup` (20%) of requests are replayed but not scored.
//! - Pipelining: `--batch` (32) GETs are sent at once, then one SET per distinct key that missed in
//!   the batch. So a key requested twice within one batch after a miss misses twice, and a batch's
//!   SETs follow all its GETs; this small reordering is the same trace for every server.
//! - Servers run on CPU 1, this client on CPU 0 (as `taskset -c`), when the machine has two CPUs.
//! - Reference columns, computed in-process on the same batched trace: `inf` (unbounded cache: the
//!   ceiling) and `exact-lru` (true LRU at the Redis-estimated capacity). cachet run with
//!   `--cachet-no-limit` must match `inf` exactly: a check of the replay itself.
//!
//! Reading the results:
//! - Redis's LRU clock ticks once a second and eviction samples 5 keys, so at replay speed (~0.5M
//!   requests/s, a 20k-key cache turns over in well under a second) most keys look equally old and
//!   allkeys-lru behaves close to random eviction: ~70% on the loop where exact LRU gets 0%. Pacing
//!   shows it is the clock: on the quick loop, 77% unpaced, 44% at `--rate 2000`, 33% at 500.
//!   Likewise LFU's counters decay per minute (`lfu-decay-time`), never within a run.
//! - Redis picks eviction samples at random: per-workload hit ratios move by up to ~0.5 points run
//!   to run (less for LFU); use `--rounds` before reading small differences.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

#[path = "hit_ratio/report.rs"]
mod report;
#[path = "hit_ratio/resp.rs"]
mod resp;
#[path = "hit_ratio/server.rs"]
mod server;
#[path = "hit_ratio/sim.rs"]
mod sim;
#[path = "hit_ratio/trace.rs"]
mod trace;

use report::{Col, Role, Row, Run};
use resp::{Reply, SetMode};
use server::{Kind, Server, Spec};

#[derive(Parser, Debug)]
#[command(about = "Hit ratio of cachet vs Redis LRU/LFU at the same maxmemory")]
struct Args {
    /// Comma-separated: redis-lru, redis-lfu, redis:POLICY, cachet, cachet:POLICY.
    #[arg(long, default_value = "redis-lru,redis-lfu,cachet")]
    servers: String,
    /// Comma-separated subset of: zipf-0.8, zipf-1.0, zipf-scan, shifting, loop, mixed-size, mix,
    /// and zipf-json (JSON documents of 1-8 KB, for compression; only when named).
    /// With --trace-file and no --workloads, only the trace files.
    #[arg(long)]
    workloads: Option<String>,
    /// A recorded trace to replay as one more workload (repeatable): a key per line, as
    /// scripts/trace-keys.py writes them; at most --requests of it.
    #[arg(long)]
    trace_file: Vec<PathBuf>,
    /// Requests per workload.
    #[arg(long, default_value_t = 500_000)]
    requests: usize,
    /// Key universe of the fixed-size Zipf workloads (mixed-size uses a quarter).
    #[arg(long, default_value_t = 200_000)]
    keys: u32,
    /// Shrink requests and keys together by this factor (cache sizes follow).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Same as --scale 0.2: for development.
    #[arg(long)]
    quick: bool,
    /// Fraction of the key universe's estimated footprint given as maxmemory (plus 1 MiB).
    #[arg(long, default_value_t = 0.10)]
    cache_frac: f64,
    /// Fraction of each trace replayed before scoring starts.
    #[arg(long, default_value_t = 0.2)]
    warmup: f64,
    /// GETs pipelined per round trip.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Cap the replay at this many requests per second (0: as fast as possible). Redis's LRU clock
    /// ticks once a second, so a cache that turns over faster than that sees recency as ties.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Extra cachet arguments, whitespace-separated (also from the CACHET_FLAGS environment variable).
    #[arg(long, allow_hyphen_values = true)]
    cachet_flags: Option<String>,
    /// Insert with `CACHE.SET k v COST c` on workloads with costs (falls back to SET if unknown).
    #[arg(long)]
    cachet_cost: bool,
    /// Start cachet without --maxmemory (sanity check: ~100% hits after warm-up).
    #[arg(long)]
    cachet_no_limit: bool,
    #[arg(long, default_value = "target/release/cachet")]
    cachet_bin: PathBuf,
    #[arg(long, default_value = "redis-server")]
    redis_bin: PathBuf,
    /// Write one CSV row per (workload, server) here.
    #[arg(long)]
    csv: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    server_cpu: usize,
    #[arg(long, default_value_t = 0)]
    client_cpu: usize,
    /// Leave out the in-process reference columns (inf = unbounded cache, exact-lru).
    #[arg(long)]
    no_sim: bool,
    /// Replay each (workload, server) this many times, each on a fresh server, and pool the
    /// counts. Redis samples keys at random, so its LRU moves by up to ~0.5 points run to run.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Restart each cachet in the middle of the replay (SHUTDOWN SAVE, then a new process on the
    /// same dir, which loads the snapshot) and report the hit ratio of the window of requests
    /// before the restart against the window after, and the same two windows of a run without a
    /// restart. Redis servers are replayed as usual.
    #[arg(long)]
    restart: bool,
    /// Where the restart falls, as a fraction of the trace (rounded down to a batch).
    #[arg(long, default_value_t = 0.6)]
    restart_at: f64,
    /// Each window's length, as a fraction of the trace.
    #[arg(long, default_value_t = 0.1)]
    restart_window: f64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The servers' logs and working directory; removed on return and on a panic (e.g. stdout closed).
fn info_field(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
}

fn used_memory(conn: &mut resp::Conn) -> std::io::Result<Option<u64>> {
    Ok(match conn.command(&[b"INFO", b"memory"])? {
        Reply::Bulk(text) => info_field(&String::from_utf8_lossy(&text), "used_memory"),
        _ => None,
    })
}

/// Whether the server knows `CACHE.SET ... COST`; probed on a scratch key before FLUSHALL.
fn probe_cache_set(conn: &mut resp::Conn) -> Result<(), String> {
    match conn.command(&[b"CACHE.SET", b"hit-ratio:probe", b"v", b"COST", b"1"]) {
        Ok(Reply::Status(_)) => Ok(()),
        Ok(other) => Err(other.text()),
        Err(e) => Err(e.to_string()),
    }
}

fn run_one(
    spec: &Spec,
    w: &trace::Workload,
    args: &Args,
    opts: &server::Options,
    warned: &mut bool,
) -> Result<Run, String> {
    let server = Server::start(spec, w.maxmemory, opts)?;
    let mut conn = server.connect()?;
    let mut mode = SetMode::Set;
    if args.cachet_cost && w.costs && matches!(spec.kind, Kind::Cachet { .. }) {
        match probe_cache_set(&mut conn) {
            Ok(()) => mode = SetMode::CacheSetCost,
            Err(e) => {
                if !*warned {
                    println!(
                        "  note: {} answered CACHE.SET with {e:?}; using plain SET instead",
                        spec.label
                    );
                    *warned = true;
                }
            }
        }
    }
    let io = |e: std::io::Error| format!("{}: {e}", spec.label);
    match conn.command(&[b"FLUSHALL"]).map_err(io)? {
        Reply::Status(_) => {}
        other => {
            return Err(format!(
                "{}: FLUSHALL answered {}",
                spec.label,
                other.text()
            ))
        }
    }
    let used_memory_empty = used_memory(&mut conn).map_err(io)?;
    let len = w.trace.len();
    let warmup = (len as f64 * args.warmup) as usize;
    let replay = |conn: &mut resp::Conn, requests, scored| {
        resp::replay(conn, w, args.batch, requests, scored, mode, args.rate).map_err(io)
    };
    let restart = args.restart && !spec.is_redis();
    let (stats, server, mut conn) = if restart {
        let windows = RestartWindows::of(args, len);
        let before = replay(&mut conn, 0..windows.at, windows.before.clone())?;
        // The daemon saves and exits; the connection closes without a reply.
        let _ = conn.command(&[b"SHUTDOWN", b"SAVE"]);
        server.wait_exit()?;
        let server = Server::start(spec, w.maxmemory, opts)?;
        let mut conn = server.connect()?;
        let loaded = info_field_of(&mut conn, "persistence", "rdb_last_load_keys_loaded");
        // Loaded: the next server started in this dir must not find it.
        let _ = std::fs::remove_file(opts.dir.join("dump.cachet"));
        let after = replay(&mut conn, windows.at..len, windows.after.clone())?;
        let mut pooled = before.clone();
        pooled.merge(&after);
        println!(
            "  {:<14} restart at request {} ({} keys loaded): hits {:6.2}% in [{}, {}) before, {:6.2}% in [{}, {}) after",
            spec.label,
            windows.at,
            loaded.map_or("?".into(), |n| n.to_string()),
            before.object() * 100.0,
            windows.before.start,
            windows.before.end,
            after.object() * 100.0,
            windows.after.start,
            windows.after.end,
        );
        (pooled, server, conn)
    } else {
        (replay(&mut conn, 0..len, warmup..len)?, server, conn)
    };
    let dbsize = match conn.command(&[b"DBSIZE"]).map_err(io)? {
        Reply::Int(n) => Some(n),
        _ => None,
    };
    let used_memory = used_memory(&mut conn).map_err(io)?;
    drop(server);
    Ok(Run {
        stats,
        dbsize,
        used_memory,
        used_memory_empty,
    })
}

/// `--restart`'s request windows: `before` ends where the restart falls (`at`, a whole number of
/// batches), `after` starts there.
struct RestartWindows {
    at: usize,
    before: std::ops::Range<usize>,
    after: std::ops::Range<usize>,
}

impl RestartWindows {
    fn of(args: &Args, len: usize) -> RestartWindows {
        let batch = args.batch.max(1);
        let at = ((len as f64 * args.restart_at) as usize / batch * batch).min(len);
        let window = (len as f64 * args.restart_window) as usize;
        RestartWindows {
            at,
            before: at.saturating_sub(window)..at,
            after: at..(at + window).min(len),
        }
    }
}

fn info_field_of(conn: &mut resp::Conn, section: &str, field: &str) -> Option<u64> {
    match conn.command(&[b"INFO", section.as_bytes()]).ok()? {
        Reply::Bulk(text) => info_field(&String::from_utf8_lossy(&text), field),
        _ => None,
    }
}

/// The control of `--restart`: the same two windows scored in one uninterrupted run.
fn run_control(
    spec: &Spec,
    w: &trace::Workload,
    args: &Args,
    opts: &server::Options,
) -> Result<(resp::Stats, resp::Stats), String> {
    let server = Server::start(spec, w.maxmemory, opts)?;
    let mut conn = server.connect()?;
    let io = |e: std::io::Error| format!("{}: {e}", spec.label);
    conn.command(&[b"FLUSHALL"]).map_err(io)?;
    let windows = RestartWindows::of(args, w.trace.len());
    let replay = |conn: &mut resp::Conn, requests, scored| {
        resp::replay(
            conn,
            w,
            args.batch,
            requests,
            scored,
            SetMode::Set,
            args.rate,
        )
        .map_err(io)
    };
    let before = replay(&mut conn, 0..windows.at, windows.before.clone())?;
    let after = replay(&mut conn, windows.at..w.trace.len(), windows.after.clone())?;
    Ok((before, after))
}

/// `--rounds` runs pooled; the spread is the object hit ratio's min-max over rounds, as text.
fn run_rounds(
    spec: &Spec,
    w: &trace::Workload,
    args: &Args,
    opts: &server::Options,
    warned: &mut bool,
) -> Result<(Run, String), String> {
    let mut pooled = run_one(spec, w, args, opts, warned)?;
    let (mut lo, mut hi) = (pooled.stats.object(), pooled.stats.object());
    for _ in 1..args.rounds {
        let run = run_one(spec, w, args, opts, warned)?;
        lo = lo.min(run.stats.object());
        hi = hi.max(run.stats.object());
        pooled.stats.merge(&run.stats);
        pooled.dbsize = run.dbsize;
        pooled.used_memory = run.used_memory;
        pooled.used_memory_empty = run.used_memory_empty;
    }
    let spread = if args.rounds > 1 {
        format!(" ({:.2}-{:.2})", lo * 100.0, hi * 100.0)
    } else {
        String::new()
    };
    Ok((pooled, spread))
}

fn main() {
    let mut args = Args::parse();
    if args.quick {
        args.scale = 0.2;
    }
    let specs: Vec<Spec> = match args
        .servers
        .split(',')
        .map(|s| Spec::parse(s.trim()))
        .collect()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let names: Vec<&str> = match args.workloads.as_deref() {
        None if !args.trace_file.is_empty() => Vec::new(),
        None | Some("all") => trace::ALL.to_vec(),
        Some(list) => list.split(',').map(str::trim).collect(),
    };
    let params = trace::Params {
        requests: ((args.requests as f64 * args.scale) as usize).max(1000),
        keys: ((f64::from(args.keys) * args.scale) as u32).max(1000),
        cache_frac: args.cache_frac,
        seed: args.seed,
    };
    let cachet_flags: Vec<String> = args
        .cachet_flags
        .clone()
        .or_else(|| std::env::var("CACHET_FLAGS").ok())
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let (two_cpus, scratch) = server::prepare(
        "hit-ratio",
        &args.cachet_bin,
        specs.iter().any(|s| !s.is_redis()),
        args.server_cpu,
        args.client_cpu,
    );
    let dir = scratch.0.clone();
    let opts = server::Options {
        redis_bin: args.redis_bin.clone(),
        cachet_bin: args.cachet_bin.clone(),
        cachet_flags: cachet_flags.clone(),
        cachet_no_limit: args.cachet_no_limit,
        server_cpu: two_cpus.then_some(args.server_cpu),
        dir: dir.clone(),
    };
    println!(
        "hit ratio: {} requests/workload x {} round(s), warm-up {:.0}% not scored, GET batch {}, seed {}, servers {}{}",
        params.requests,
        args.rounds.max(1),
        args.warmup * 100.0,
        args.batch,
        args.seed,
        args.servers,
        if cachet_flags.is_empty() { String::new() } else { format!(", cachet flags {cachet_flags:?}") }
    );
    if args.cachet_no_limit {
        println!("cachet runs WITHOUT --maxmemory (sanity check)");
    }
    let mut cols: Vec<Col> = specs
        .iter()
        .map(|s| Col {
            label: s.label.clone(),
            role: if s.is_redis() {
                Role::Redis
            } else {
                Role::Cachet
            },
        })
        .collect();
    if !args.no_sim {
        cols.extend(sim::LABELS.iter().map(|l| Col {
            label: l.to_string(),
            role: Role::Reference,
        }));
    }
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut failed = vec![false; specs.len()];
    let mut warned = false;
    let workloads = names
        .iter()
        .map(|name| {
            trace::build(name, &params).ok_or_else(|| {
                format!(
                    "unknown workload {name:?}; known: {}, {}",
                    trace::ALL.join(", "),
                    trace::BY_NAME.join(", ")
                )
            })
        })
        .chain(
            args.trace_file
                .iter()
                .map(|path| trace::from_file(path, &params)),
        );
    for w in workloads {
        let w = w.unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(2);
        });
        println!("{:<11} maxmemory {} B: {}", w.name, w.maxmemory, w.about);
        let mut runs = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            if failed[i] {
                runs.push(None);
                continue;
            }
            if args.restart && !spec.is_redis() {
                match run_control(spec, &w, &args, &opts) {
                    Ok((before, after)) => println!(
                        "  {:<14} without a restart:  hits {:6.2}% before, {:6.2}% after (same windows)",
                        spec.label,
                        before.object() * 100.0,
                        after.object() * 100.0
                    ),
                    Err(e) => eprintln!("  !! control run: {e}"),
                }
            }
            match run_rounds(spec, &w, &args, &opts, &mut warned) {
                Ok((run, spread)) => {
                    let s = &run.stats;
                    println!(
                        "  {:<14} hits {:6.2}%{spread}  bytes {:6.2}%  cost {:6.2}%  keys {:>7}  {:.1}s{}",
                        spec.label,
                        s.object() * 100.0,
                        s.byte() * 100.0,
                        s.cost() * 100.0,
                        run.dbsize.map_or("?".into(), |k| k.to_string()),
                        s.seconds,
                        match &s.first_error {
                            Some(e) => format!(
                                "  errors get {} set {} (first: {e})",
                                s.get_errors, s.set_errors
                            ),
                            None => String::new(),
                        }
                    );
                    if s.wrong_len > 0 {
                        println!(
                            "  !! {} hits returned a value of the wrong length",
                            s.wrong_len
                        );
                    }
                    runs.push(Some(run));
                }
                Err(e) => {
                    eprintln!(
                        "  !! {e}\n  !! {} is left out of the remaining workloads",
                        spec.label
                    );
                    failed[i] = true;
                    runs.push(None);
                }
            }
        }
        if !args.no_sim {
            let warmup = (w.trace.len() as f64 * args.warmup) as usize;
            for which in 0..sim::LABELS.len() {
                let (stats, keys) = sim::run(which, &w, args.batch, warmup);
                println!("  {:<14} hits {:6.2}%  bytes {:6.2}%  cost {:6.2}%  keys {keys:>7}  (in-process reference)",
                    sim::LABELS[which], stats.object() * 100.0, stats.byte() * 100.0, stats.cost() * 100.0);
                runs.push(Some(Run {
                    stats,
                    dbsize: Some(keys as i64),
                    used_memory: None,
                    used_memory_empty: None,
                }));
            }
        }
        rows.push(Row {
            workload: w.name.clone(),
            maxmemory: w.maxmemory,
            requests: w.trace.len(),
            runs,
        });
    }
    print!(
        "{}",
        report::table("Object hit ratio", &cols, &rows, resp::Stats::object)
    );
    print!(
        "{}",
        report::table(
            "Byte hit ratio (bytes served from hits / bytes requested)",
            &cols,
            &rows,
            resp::Stats::byte
        )
    );
    print!(
        "{}",
        report::table(
            "Cost-weighted hit ratio (only mixed-size has costs; elsewhere = object)",
            &cols,
            &rows,
            resp::Stats::cost
        )
    );
    print!("{}", report::memory_table(&cols, &rows));
    println!("\ntotal {:.1}s", started.elapsed().as_secs_f64());
    if let Some(path) = &args.csv {
        if let Err(e) = std::fs::write(path, report::csv(&cols, &rows)) {
            eprintln!("{}: {e}", path.display());
        }
    }
    drop(scratch);
    if failed.iter().any(|&f| f) {
        std::process::exit(1);
    }
}
