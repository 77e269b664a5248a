//! Group invalidation under load: cachet's `TAG.INVALIDATE` against the Redis way (a SET of member
//! keys per tag, invalidated by a Lua script that reads the set and UNLINKs the members in chunks),
//! while 50 clients run GETs. Prints GET latency before and during the invalidation, how long the
//! invalidation took and how many keys/s that is, side by side with ratios cachet/redis.
//!
//! Run: `scripts/bench-invalidate.sh [options]`, or `cargo bench --bench invalidate -- [options]`
//! after `cargo build --release` (for target/release/cachet). `--help` lists the options.
//!
//! Method, in one place:
//! - Scenario A: 1,000,000 keys under one tag, invalidated by one command. Scenario B: 100,000
//!   tags of 10 keys each; every tag is invalidated, one command per tag (100,000 commands,
//!   1,000,000 keys), sent pipelined `--inv-pipeline` (100) commands per round trip from one
//!   connection, as an application flushing many small groups would.
//! - Each (round, scenario, server) gets a fresh server on a free loopback port (no maxmemory,
//!   no persistence), loaded with pipelined writes: `--others` (100,000) untagged keys plus the
//!   scenario's keys, values of `--value-size` (100) bytes. cachet: `CACHE.SET k v TAGS 1 tag`;
//!   Redis: `SET k v` + `SADD tag k`.
//! - Then `--clients` (50) connections GET in a closed loop (one request in flight each): 90% of
//!   GETs on the untagged keys, `--tagged-frac` (10%) on the keys being invalidated, uniformly.
//!   After `--warmup` (1 s), the baseline window (`--baseline` 3 s), then the invalidation starts.
//! - Windows: baseline = GETs sent and answered inside it; during = GETs whose [send, reply]
//!   overlaps [first invalidation command sent, invalidation finished]. Finished is, for cachet,
//!   when `INFO cachet` shows `invalidation_backlog:0` (polled every `--poll-ms` ms: memory of the
//!   invalidated keys reclaimed); for Redis, the last EVALSHA reply (Redis runs scripts to the end
//!   before serving anyone else, so that is how long it blocked).
//! - `stale hits`: GETs of invalidated keys sent after the last invalidation reply that still hit.
//!   Must be 0 for both (cachet promises readers miss at once).
//! - Servers on CPU 1, every client thread of this program on CPU 0 (when the machine has two).
//!   Rounds alternate which server goes first; the table shows medians over rounds and the median
//!   of per-round ratios.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;

#[allow(dead_code)]
#[path = "invalidate/getters.rs"]
mod getters;
#[allow(dead_code)]
#[path = "hit_ratio/resp.rs"]
mod resp;
#[allow(dead_code)]
#[path = "hit_ratio/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "hit_ratio/trace.rs"]
mod trace;

use getters::{key, Getters, KeySpace, Sample};
use resp::{encode, Conn, Reply};
use server::{Server, Spec};

#[derive(Parser, Debug)]
#[command(about = "TAG.INVALIDATE vs Redis SET+Lua invalidation under GET load")]
struct Args {
    /// Rounds (each a fresh server per scenario and server).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Comma-separated subset of: a (one big tag), b (many small tags).
    #[arg(long, default_value = "a,b")]
    scenarios: String,
    /// Scenario A: keys under the one tag.
    #[arg(long, default_value_t = 1_000_000)]
    keys: u32,
    /// Scenario B: tags, and keys per tag.
    #[arg(long, default_value_t = 100_000)]
    tags: u32,
    #[arg(long, default_value_t = 10)]
    per_tag: u32,
    /// Scenario B: how many of the tags to invalidate (0: all).
    #[arg(long, default_value_t = 0)]
    invalidate_tags: u32,
    /// Scenario B: invalidation commands per pipelined round trip.
    #[arg(long, default_value_t = 100)]
    inv_pipeline: usize,
    /// Untagged keys the GET clients read.
    #[arg(long, default_value_t = 100_000)]
    others: u32,
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Share of GETs on the keys being invalidated (the rest on the untagged keys).
    #[arg(long, default_value_t = 0.1)]
    tagged_frac: f64,
    /// Seconds of GET load before the baseline window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seconds of the baseline window.
    #[arg(long, default_value_t = 3.0)]
    baseline: f64,
    /// Seconds of GET load after the invalidation finished.
    #[arg(long, default_value_t = 0.5)]
    tail: f64,
    /// Interval of cachet's `INFO cachet` backlog polling, in milliseconds.
    #[arg(long, default_value_t = 1.0)]
    poll_ms: f64,
    /// Commands per pipelined round trip while loading.
    #[arg(long, default_value_t = 1000)]
    load_pipeline: usize,
    #[arg(long, default_value = "target/release/cachet")]
    cachet_bin: PathBuf,
    #[arg(long, default_value = "redis-server")]
    redis_bin: PathBuf,
    #[arg(long, default_value_t = 1)]
    server_cpu: usize,
    #[arg(long, default_value_t = 0)]
    client_cpu: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

const LUA_INVALIDATE: &str = "\
local members = redis.call('SMEMBERS', KEYS[1])
local removed = 0
for i = 1, #members, 1000 do
  removed = removed + redis.call('UNLINK', unpack(members, i, math.min(i + 999, #members)))
end
redis.call('UNLINK', KEYS[1])
return removed";

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    OneBigTag,
    ManySmallTags,
}

impl Scenario {
    fn prefix(self) -> &'static str {
        match self {
            Scenario::OneBigTag => "a:",
            Scenario::ManySmallTags => "b:",
        }
    }
}

/// The shape of one scenario's data and invalidation.
struct Plan {
    scenario: Scenario,
    keys: u32,
    per_tag: u32,
    /// Tags invalidated: the first `invalidated_tags` tags.
    invalidated_tags: u32,
}

impl Plan {
    fn tag_of(&self, id: u32) -> Vec<u8> {
        match self.scenario {
            Scenario::OneBigTag => b"tag:all".to_vec(),
            Scenario::ManySmallTags => format!("tag:{:06}", id / self.per_tag).into_bytes(),
        }
    }
    fn tag(&self, index: u32) -> Vec<u8> {
        self.tag_of(index * self.per_tag)
    }
    fn invalidated_keys(&self) -> u32 {
        (self.invalidated_tags * self.per_tag).min(self.keys)
    }
    fn describe(&self) -> String {
        match self.scenario {
            Scenario::OneBigTag => format!("A: {} keys under one tag, one command", self.keys),
            Scenario::ManySmallTags => format!(
                "B: {} tags x {} keys; {} tags invalidated ({} keys), one command per tag",
                self.keys / self.per_tag,
                self.per_tag,
                self.invalidated_tags,
                self.invalidated_keys()
            ),
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Latency {
    count: usize,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
}

fn latency(mut us: Vec<u32>) -> Latency {
    if us.is_empty() {
        return Latency::default();
    }
    us.sort_unstable();
    let at = |q: f64| f64::from(us[((q * us.len() as f64).ceil() as usize).clamp(1, us.len()) - 1]);
    Latency {
        count: us.len(),
        p50_us: at(0.50),
        p99_us: at(0.99),
        max_us: at(1.0),
    }
}

#[derive(Clone, Default)]
struct Run {
    load_s: f64,
    base: Latency,
    during: Latency,
    reply_us: f64,
    finished_us: f64,
    removed: i64,
    stale_hits: u64,
    base_tagged_hit: f64,
    freed_bytes: f64,
    /// Redis: server time spent in EVALSHA (INFO commandstats).
    busy_us: Option<f64>,
}

fn info(conn: &mut Conn, section: &str) -> Result<String, String> {
    match conn.command(&[b"INFO", section.as_bytes()]) {
        Ok(Reply::Bulk(text)) => Ok(String::from_utf8_lossy(&text).into_owned()),
        Ok(other) => Err(format!("INFO {section}: {}", other.text())),
        Err(e) => Err(format!("INFO {section}: {e}")),
    }
}

fn info_field(text: &str, field: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
}

/// `usec=` of `cmdstat_evalsha` (0 before the first call).
fn evalsha_usec(text: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:"))
        .and_then(|v| v.split(',').find_map(|kv| kv.strip_prefix("usec=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Sends `commands` in pipelines of `batch`, failing on the first error reply; returns the sum of
/// the integer replies.
fn pipeline(
    conn: &mut Conn,
    commands: impl Iterator<Item = Vec<Vec<u8>>>,
    batch: usize,
) -> Result<i64, String> {
    let mut buf = Vec::with_capacity(1 << 20);
    let (mut pending, mut sum) = (0, 0i64);
    let mut flush = |buf: &mut Vec<u8>, pending: &mut usize| -> Result<(), String> {
        conn.send(buf).map_err(|e| e.to_string())?;
        for _ in 0..*pending {
            match conn.read_reply().map_err(|e| e.to_string())? {
                Reply::Error(e) => return Err(e),
                Reply::Int(n) => sum += n,
                _ => {}
            }
        }
        buf.clear();
        *pending = 0;
        Ok(())
    };
    for command in commands {
        let args: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
        encode(&mut buf, &args);
        pending += 1;
        if pending >= batch.max(1) {
            flush(&mut buf, &mut pending)?;
        }
    }
    if pending > 0 {
        flush(&mut buf, &mut pending)?;
    }
    Ok(sum)
}

fn load(conn: &mut Conn, redis: bool, plan: &Plan, args: &Args) -> Result<(), String> {
    let value = vec![b'v'; args.value_size];
    let others = (0..args.others).map(|id| vec![b"SET".to_vec(), key("other:", id), value.clone()]);
    pipeline(conn, others, args.load_pipeline)?;
    if redis {
        let commands = (0..plan.keys).flat_map(|id| {
            let k = key(plan.scenario.prefix(), id);
            [
                vec![b"SET".to_vec(), k.clone(), value.clone()],
                vec![b"SADD".to_vec(), plan.tag_of(id), k],
            ]
        });
        pipeline(conn, commands, args.load_pipeline)?;
    } else {
        let commands = (0..plan.keys).map(|id| {
            vec![
                b"CACHE.SET".to_vec(),
                key(plan.scenario.prefix(), id),
                value.clone(),
                b"TAGS".to_vec(),
                b"1".to_vec(),
                plan.tag_of(id),
            ]
        });
        pipeline(conn, commands, args.load_pipeline)?;
    }
    Ok(())
}

fn run_one(spec: &Spec, plan: &Plan, args: &Args, opts: &server::Options) -> Result<Run, String> {
    let redis = spec.is_redis();
    let server = Server::start(spec, 0, opts)?;
    let mut conn = server.connect()?;
    let io = |e: std::io::Error| format!("{}: {e}", spec.label);
    let mut sha = Vec::new();
    if redis {
        match conn
            .command(&[b"SCRIPT", b"LOAD", LUA_INVALIDATE.as_bytes()])
            .map_err(io)?
        {
            Reply::Bulk(s) => sha = s,
            other => return Err(format!("SCRIPT LOAD: {}", other.text())),
        }
    }
    let started = Instant::now();
    load(&mut conn, redis, plan, args).map_err(|e| format!("{} load: {e}", spec.label))?;
    let load_s = started.elapsed().as_secs_f64();
    let expected = i64::from(args.others)
        + i64::from(plan.keys)
        + if redis {
            i64::from(plan.keys.div_ceil(plan.per_tag))
        } else {
            0
        };
    match conn.command(&[b"DBSIZE"]).map_err(io)? {
        Reply::Int(n) if n == expected => {}
        other => {
            return Err(format!(
                "{}: DBSIZE {} after load, expected {expected}",
                spec.label,
                other.text()
            ))
        }
    }
    let used = |conn: &mut Conn| -> Result<f64, String> {
        info_field(&info(conn, "memory")?, "used_memory").ok_or_else(|| "no used_memory".into())
    };
    let busy_before = if redis {
        evalsha_usec(&info(&mut conn, "commandstats")?)
    } else {
        0.0
    };

    let epoch = Instant::now();
    let since = |t: Instant| t.duration_since(epoch).as_secs_f64() * 1e6;
    let client_cpu = opts.server_cpu.map(|_| args.client_cpu);
    let getters = Getters::start(
        server.port,
        args.clients,
        client_cpu,
        KeySpace {
            others: args.others,
            tagged_prefix: plan.scenario.prefix(),
            tagged: plan.invalidated_keys(),
            tagged_frac: args.tagged_frac,
        },
        epoch,
    );
    std::thread::sleep(Duration::from_secs_f64(args.warmup));
    let base_from = since(Instant::now());
    std::thread::sleep(Duration::from_secs_f64(args.baseline));
    let base_to = since(Instant::now());
    let mem_before = used(&mut conn)?;

    let inv_start = since(Instant::now());
    let commands = (0..plan.invalidated_tags).map(|t| {
        if redis {
            vec![b"EVALSHA".to_vec(), sha.clone(), b"1".to_vec(), plan.tag(t)]
        } else {
            vec![b"TAG.INVALIDATE".to_vec(), plan.tag(t)]
        }
    });
    let removed = pipeline(&mut conn, commands, args.inv_pipeline);
    let reply = since(Instant::now());
    let removed = match removed {
        Ok(n) => n,
        Err(e) => {
            let _ = getters.stop();
            return Err(format!("{} invalidation: {e}", spec.label));
        }
    };
    let mut finished = reply;
    if !redis {
        let poll = Duration::from_secs_f64(args.poll_ms / 1000.0);
        loop {
            let now = since(Instant::now());
            let text = info(&mut conn, "cachet")?;
            match info_field(&text, "invalidation_backlog") {
                Some(b) if b <= 0.0 => {
                    finished = now;
                    break;
                }
                Some(_) => std::thread::sleep(poll),
                None => return Err("INFO cachet has no invalidation_backlog".into()),
            }
        }
    }
    std::thread::sleep(Duration::from_secs_f64(args.tail));
    let mem_after = used(&mut conn)?;
    let busy_us = if redis {
        Some(evalsha_usec(&info(&mut conn, "commandstats")?) - busy_before)
    } else {
        None
    };
    let samples = getters.stop()?;
    drop(conn);
    drop(server);

    let ends = |s: &Sample| s.sent_us as f64 + f64::from(s.latency_us);
    let base: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.sent_us as f64 >= base_from && ends(s) <= base_to)
        .collect();
    let base_tagged = base.iter().filter(|s| s.tagged).count();
    let base_tagged_hits = base.iter().filter(|s| s.tagged && s.hit).count();
    let during: Vec<u32> = samples
        .iter()
        .filter(|s| (s.sent_us as f64) <= finished && ends(s) >= inv_start)
        .map(|s| s.latency_us)
        .collect();
    let stale_hits = samples
        .iter()
        .filter(|s| s.tagged && s.hit && s.sent_us as f64 >= reply)
        .count() as u64;
    Ok(Run {
        load_s,
        base: latency(base.iter().map(|s| s.latency_us).collect()),
        during: latency(during),
        reply_us: reply - inv_start,
        finished_us: finished - inv_start,
        removed,
        stale_hits,
        base_tagged_hit: base_tagged_hits as f64 / base_tagged.max(1) as f64,
        freed_bytes: mem_before - mem_after,
        busy_us,
    })
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

type Metric = (&'static str, fn(&Run, &Plan) -> f64, fn(f64) -> String);

fn ms(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v < 10.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.1}")
    }
}
fn count(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{v:.0}")
    }
}
fn rate(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{:.2}M", v / 1e6)
    }
}
fn plain(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{v:.2}")
    }
}

const METRICS: &[Metric] = &[
    ("load (s)", |r, _| r.load_s, plain),
    ("GET p50 baseline (ms)", |r, _| r.base.p50_us / 1e3, ms),
    ("GET p99 baseline (ms)", |r, _| r.base.p99_us / 1e3, ms),
    ("GET max baseline (ms)", |r, _| r.base.max_us / 1e3, ms),
    ("GET p50 during (ms)", |r, _| r.during.p50_us / 1e3, ms),
    ("GET p99 during (ms)", |r, _| r.during.p99_us / 1e3, ms),
    ("GET max during (ms)", |r, _| r.during.max_us / 1e3, ms),
    (
        "p99 during / baseline",
        |r, _| r.during.p99_us / r.base.p99_us,
        plain,
    ),
    ("GETs in baseline window", |r, _| r.base.count as f64, count),
    ("GETs in during window", |r, _| r.during.count as f64, count),
    ("invalidation replies (ms)", |r, _| r.reply_us / 1e3, ms),
    ("until backlog 0 (ms)", |r, _| r.finished_us / 1e3, ms),
    (
        "keys/s by replies",
        |r, p| f64::from(p.invalidated_keys()) / (r.reply_us / 1e6),
        rate,
    ),
    (
        "keys/s until reclaimed",
        |r, p| f64::from(p.invalidated_keys()) / (r.finished_us / 1e6),
        rate,
    ),
    (
        "Redis EVALSHA busy (ms)",
        |r, _| r.busy_us.map_or(f64::NAN, |u| u / 1e3),
        ms,
    ),
    ("keys removed (replies)", |r, _| r.removed as f64, count),
    (
        "used_memory freed (MB)",
        |r, _| r.freed_bytes / (1 << 20) as f64,
        plain,
    ),
    (
        "tagged GET hit ratio baseline",
        |r, _| r.base_tagged_hit,
        plain,
    ),
    ("stale hits after reply", |r, _| r.stale_hits as f64, count),
];

fn print_table(plan: &Plan, rounds: &[(Option<Run>, Option<Run>)]) {
    println!();
    println!(
        "Scenario {} — median of {} round(s)",
        plan.describe(),
        rounds.len()
    );
    println!(
        "{:<30} {:>12} {:>12} {:>13}",
        "metric", "redis", "cachet", "cachet/redis"
    );
    for (name, get, fmt) in METRICS {
        let r = median(
            rounds
                .iter()
                .filter_map(|(r, _)| r.as_ref().map(|r| get(r, plan)))
                .collect(),
        );
        let c = median(
            rounds
                .iter()
                .filter_map(|(_, c)| c.as_ref().map(|c| get(c, plan)))
                .collect(),
        );
        let ratio = median(
            rounds
                .iter()
                .filter_map(|(r, c)| Some(get(c.as_ref()?, plan) / get(r.as_ref()?, plan)))
                .collect(),
        );
        println!(
            "{name:<30} {:>12} {:>12} {:>13}",
            fmt(r),
            fmt(c),
            plain(ratio)
        );
    }
    let cachet: Vec<&Run> = rounds.iter().filter_map(|(_, c)| c.as_ref()).collect();
    if cachet.is_empty() {
        return;
    }
    let p99 = median(cachet.iter().map(|r| r.during.p99_us / 1e3).collect());
    let rel = median(
        cachet
            .iter()
            .map(|r| r.during.p99_us / r.base.p99_us)
            .collect(),
    );
    let keys = f64::from(plan.invalidated_keys());
    let by_reply = median(cachet.iter().map(|r| keys / (r.reply_us / 1e6)).collect());
    let by_reclaim = median(
        cachet
            .iter()
            .map(|r| keys / (r.finished_us / 1e6))
            .collect(),
    );
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!("targets (cachet, medians):");
    println!(
        "  GET p99 during <= 2 ms              {:>10} ms  {}",
        ms(p99),
        verdict(p99 <= 2.0)
    );
    println!(
        "  GET p99 during <= 2x baseline       {:>10}x    {}",
        plain(rel),
        verdict(rel <= 2.0)
    );
    println!(
        "  >= 1M keys/s (by replies)           {:>10}/s   {}",
        rate(by_reply),
        verdict(by_reply >= 1e6)
    );
    println!(
        "  >= 1M keys/s (until reclaimed)      {:>10}/s   {}",
        rate(by_reclaim),
        verdict(by_reclaim >= 1e6)
    );
}

fn run_line(label: &str, r: &Run) -> String {
    format!(
        "{label:<7} load {:.1}s | GET p99 base {} ms, during {} ms (max {} ms, {} GETs) | replies {} ms, backlog 0 at {} ms | removed {} | stale hits {}",
        r.load_s,
        ms(r.base.p99_us / 1e3),
        ms(r.during.p99_us / 1e3),
        ms(r.during.max_us / 1e3),
        r.during.count,
        ms(r.reply_us / 1e3),
        ms(r.finished_us / 1e3),
        r.removed,
        r.stale_hits
    )
}

/// The servers' logs and working directory; removed on return and on a panic.
fn main() {
    let args = Args::parse();
    let mut plans = Vec::new();
    for name in args.scenarios.split(',').map(str::trim) {
        match name {
            "a" | "A" => plans.push(Plan {
                scenario: Scenario::OneBigTag,
                keys: args.keys,
                per_tag: args.keys.max(1),
                invalidated_tags: 1,
            }),
            "b" | "B" => {
                let per_tag = args.per_tag.max(1);
                let keys = args.tags * per_tag;
                let tags = if args.invalidate_tags == 0 {
                    args.tags
                } else {
                    args.invalidate_tags.min(args.tags)
                };
                plans.push(Plan {
                    scenario: Scenario::ManySmallTags,
                    keys,
                    per_tag,
                    invalidated_tags: tags,
                })
            }
            other => {
                eprintln!("unknown scenario {other:?} (a, b)");
                std::process::exit(2);
            }
        }
    }
    let (two_cpus, _scratch) = server::prepare(
        "bench-invalidate",
        &args.cachet_bin,
        true,
        args.server_cpu,
        args.client_cpu,
    );
    let dir = _scratch.0.clone();
    let opts = server::Options {
        redis_bin: args.redis_bin.clone(),
        cachet_bin: args.cachet_bin.clone(),
        cachet_flags: Vec::new(),
        cachet_no_limit: true,
        server_cpu: two_cpus.then_some(args.server_cpu),
        dir,
    };
    let redis = Spec {
        label: "redis".into(),
        kind: server::Kind::Redis {
            policy: "noeviction".into(),
        },
    };
    let cachet = Spec {
        label: "cachet".into(),
        kind: server::Kind::Cachet { policy: None },
    };
    println!(
        "invalidation under GET load: {} clients ({:.0}% of GETs on the invalidated keys), {} untagged keys, {}-byte values, {} round(s), servers on CPU {}, clients on CPU {}{}",
        args.clients,
        args.tagged_frac * 100.0,
        args.others,
        args.value_size,
        args.rounds,
        args.server_cpu,
        args.client_cpu,
        if two_cpus { "" } else { " (not pinned: fewer than two CPUs)" }
    );
    let started = Instant::now();
    let mut results: Vec<Vec<(Option<Run>, Option<Run>)>> = vec![Vec::new(); plans.len()];
    let mut failed = false;
    for round in 0..args.rounds.max(1) {
        for (p, plan) in plans.iter().enumerate() {
            println!("round {} scenario {}", round + 1, plan.describe());
            let order = if round % 2 == 0 {
                [&redis, &cachet]
            } else {
                [&cachet, &redis]
            };
            let mut pair = (None, None);
            for spec in order {
                match run_one(spec, plan, &args, &opts) {
                    Ok(run) => {
                        println!("  {}", run_line(&spec.label, &run));
                        if spec.is_redis() {
                            pair.0 = Some(run);
                        } else {
                            pair.1 = Some(run);
                        }
                    }
                    Err(e) => {
                        println!("  {}: FAILED: {e}", spec.label);
                        failed = true;
                    }
                }
            }
            results[p].push(pair);
        }
    }
    for (plan, rounds) in plans.iter().zip(&results) {
        print_table(plan, rounds);
    }
    println!();
    println!(
        "(ratios: median of per-round cachet/redis; windows and method in benches/invalidate.rs; {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    if failed {
        std::process::exit(1);
    }
}
