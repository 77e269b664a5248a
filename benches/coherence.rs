//! Peer coherence under write load (issue 6's benchmark): three cachet daemons A, B, C linked in a
//! full mesh; how long an invalidation takes to travel from A to B, how A batches it, and what
//! coherence costs A in SET throughput, with redis-server's SET throughput in the same run.
//!
//! Run: `scripts/bench-coherence.sh [options]`, or `cargo bench --bench coherence -- [options]`
//! after `cargo build --release`. `--help` lists the options.
//!
//! Method, in one place:
//! - Latency (part `latency`), per round and mode, a fresh mesh (`--coherence yes`, then
//!   `CACHE.PEER ADD` of the two others on each; ready when `INFO coherence` shows `peers_up:2`
//!   everywhere). B is preloaded with the `--keys` (100,000) data keys and one `probe:<n>` key per
//!   probe (B pushes an invalidation only for a key it holds and drops). Then `--writers` (50)
//!   connections SET random data keys on A and `--readers` (10) GET them on B; mode `full`: as fast
//!   as they can; mode `paced`: `--rate` (50,000) writes/s and `--read-rate` (50,000) reads/s in
//!   total. After `--warmup` (1 s), the probe (`coherence/probe.rs`) runs for `--duration` (10 s):
//!   every `--probe-ms` (1 ms) it SETs the next `probe:<n>` on A and times A's `+OK` → B's
//!   `invalidate` push for that key, on one thread. Percentiles are over all probes of all rounds;
//!   a probe whose push never comes (within `--grace-ms`) is counted as lost, never averaged in.
//!   Mode `idle` runs the probe with no other load: the floor of this machine (scheduling of
//!   three daemons on one CPU, loopback), against which the loaded modes read.
//! - Batching: `messages_sent`, `items_sent` of A's `INFO coherence` around the probe window:
//!   messages/s per link (each message goes to every subscribed link) and items per message.
//! - Throughput (part `throughput`): `redis-benchmark -t set -c 50 -P 1` then `-P 16`, `-r` keys,
//!   against A of a mesh with coherence on (B, C linked and applying), against A of three daemons
//!   with coherence off, and against a redis-server; the order rotates round by round. Cost =
//!   1 − median of per-round on/off ratios. Also A's CPU time per SET (utime+stime from
//!   /proc/PID/stat), which leaves out B's and C's work on the shared server CPU.
//! - With `--coherence-secret S`, the throughput part also runs A of a mesh sharing that secret
//!   (messages signed and checked) and prints the signing cost: its ops/s and CPU per SET against
//!   the unsigned mesh's, in the same round.
//! - Servers on CPU `--server-cpu` (1), every client (this program, redis-benchmark) on
//!   `--client-cpu` (0), when the machine has two.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;

#[path = "coherence/load.rs"]
mod load;
#[path = "coherence/probe.rs"]
mod probe;
#[allow(dead_code)]
#[path = "hit_ratio/resp.rs"]
mod resp;
#[allow(dead_code)]
#[path = "hit_ratio/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "hit_ratio/trace.rs"]
mod trace;

use resp::{encode, Conn, Reply};
use server::{Server, Spec};

#[derive(Parser, Debug, Clone)]
#[command(about = "Peer coherence: propagation latency A→B, batching, throughput cost on A")]
struct Args {
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Shorter windows and fewer requests (a smoke run, not a measurement).
    #[arg(long)]
    quick: bool,
    /// Comma-separated subset of: latency, throughput.
    #[arg(long, default_value = "latency,throughput")]
    parts: String,
    /// Comma-separated subset of the latency modes: idle (the probe alone), full, paced.
    #[arg(long, default_value = "idle,full,paced")]
    modes: String,
    /// Seconds of the probe window.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before the probe window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    #[arg(long, default_value_t = 50)]
    writers: usize,
    #[arg(long, default_value_t = 10)]
    readers: usize,
    /// Paced mode: writes/s on A.
    #[arg(long, default_value_t = 50_000.0)]
    rate: f64,
    /// Paced mode: reads/s on B.
    #[arg(long, default_value_t = 50_000.0)]
    read_rate: f64,
    /// Data keys (`key:NNNNNNNN`), preloaded on B, written on A at random.
    #[arg(long, default_value_t = 100_000)]
    keys: u32,
    #[arg(long, default_value_t = 3)]
    value_size: usize,
    /// Interval between probes, milliseconds.
    #[arg(long, default_value_t = 1.0)]
    probe_ms: f64,
    /// How long to wait for the last pushes after the window, milliseconds.
    #[arg(long, default_value_t = 1000)]
    grace_ms: u64,
    /// redis-benchmark -n for -P 1 and -P 16.
    #[arg(long, default_value_t = 400_000)]
    p1_requests: u64,
    #[arg(long, default_value_t = 3_000_000)]
    p16_requests: u64,
    #[arg(long, default_value = "target/release/cachet")]
    cachet_bin: PathBuf,
    #[arg(long, default_value = "redis-server")]
    redis_bin: PathBuf,
    #[arg(long, default_value = "redis-benchmark")]
    redis_benchmark_bin: PathBuf,
    #[arg(long, default_value_t = 1)]
    server_cpu: usize,
    #[arg(long, default_value_t = 0)]
    client_cpu: usize,
    /// Latency part: move B and C to this CPU after they start (default: the server CPU). To see
    /// what sharing one CPU with A costs B: `--peers-cpu 0` puts them beside the load generator.
    #[arg(long)]
    peers_cpu: Option<usize>,
    /// Throughput part: also measure A of a mesh whose daemons share this `coherence-secret`
    /// (every message HMAC-SHA256 signed by A and checked by B and C), a fourth target.
    #[arg(long)]
    coherence_secret: Option<String>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn info(conn: &mut Conn, section: &str) -> Result<String, String> {
    match conn.command(&[b"INFO", section.as_bytes()]) {
        Ok(Reply::Bulk(text)) => Ok(String::from_utf8_lossy(&text).into_owned()),
        Ok(other) => Err(format!("INFO {section}: {}", other.text())),
        Err(e) => Err(format!("INFO {section}: {e}")),
    }
}

fn info_field(text: &str, field: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// Three cachet daemons, A first; with `coherence` each links to the two others.
fn start_trio(opts_on: &server::Options, coherence: bool) -> Result<Vec<Server>, String> {
    let mut servers = Vec::new();
    for name in ["A", "B", "C"] {
        let spec = Spec {
            label: name.into(),
            kind: server::Kind::Cachet { policy: None },
        };
        servers.push(Server::start(&spec, 0, opts_on)?);
    }
    if !coherence {
        return Ok(servers);
    }
    for (i, s) in servers.iter().enumerate() {
        let mut conn = s.connect()?;
        for (j, peer) in servers.iter().enumerate() {
            if i != j {
                let addr = format!("127.0.0.1:{}", peer.port);
                match conn.command(&[b"CACHE.PEER", b"ADD", addr.as_bytes()]) {
                    Ok(Reply::Error(e)) => return Err(format!("CACHE.PEER ADD: {e}")),
                    Err(e) => return Err(format!("CACHE.PEER ADD: {e}")),
                    Ok(_) => {}
                }
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for s in &servers {
        let mut conn = s.connect()?;
        while info_field(&info(&mut conn, "coherence")?, "peers_up") != 2.0 {
            if Instant::now() > deadline {
                return Err(format!("port {}: links not up within 10 s", s.port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(servers)
}

fn preload(conn: &mut Conn, keys: impl Iterator<Item = Vec<u8>>) -> Result<(), String> {
    let mut buf = Vec::with_capacity(1 << 20);
    let mut pending = 0;
    let mut keys = keys.peekable();
    while keys.peek().is_some() {
        for key in keys.by_ref().take(1000) {
            encode(&mut buf, &[b"SET", &key, b"v"]);
            pending += 1;
        }
        conn.send(&buf).map_err(|e| e.to_string())?;
        for _ in 0..pending {
            if let Reply::Error(e) = conn.read_reply().map_err(|e| e.to_string())? {
                return Err(e);
            }
        }
        buf.clear();
        pending = 0;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    /// The probe alone: this machine's floor.
    Idle,
    Full,
    Paced,
}

#[derive(Default)]
struct LatencyRun {
    latency_ns: Vec<i64>,
    ack_ns: Vec<i64>,
    sent: usize,
    lost: usize,
    flush_pushes: usize,
    writes_per_s: f64,
    reads_per_s: f64,
    hit_ratio: f64,
    messages_per_s: f64,
    items_per_message: f64,
    /// B's gaps + recoveries + A's send overflows during the window (should all be 0).
    trouble: f64,
    realtime: bool,
    sched_a: Sched,
    sched_b: Sched,
}

fn run_latency(mode: Mode, args: &Args, opts: &server::Options) -> Result<LatencyRun, String> {
    let servers = start_trio(opts, true)?;
    if let Some(cpu) = args.peers_cpu {
        for peer in &servers[1..] {
            pin_process(peer.pid(), cpu);
        }
    }
    let (a, b) = (&servers[0], &servers[1]);
    let max_probes = (args.duration * 1000.0 / args.probe_ms.max(0.01)) as u32 + 100;
    let mut bconn = b.connect()?;
    preload(&mut bconn, (0..args.keys).map(load::data_key))?;
    preload(&mut bconn, (0..max_probes).map(probe::probe_key))?;
    let mut aconn = a.connect()?;
    let paced = mode == Mode::Paced;
    let idle = mode == Mode::Idle;
    let two_cpus = opts.server_cpu.is_some();
    let load = load::Load::start(load::Spec {
        a_port: a.port,
        b_port: b.port,
        writers: if idle { 0 } else { args.writers },
        readers: if idle { 0 } else { args.readers },
        write_rate: paced.then_some(args.rate),
        read_rate: paced.then_some(args.read_rate),
        keys: args.keys,
        value_size: args.value_size,
        cpu: two_cpus.then_some(args.client_cpu),
    });
    std::thread::sleep(Duration::from_secs_f64(args.warmup));
    let counters = load.counters.clone();
    let snap = |conn: &mut Conn| -> Result<String, String> { info(conn, "coherence") };
    let (a0, b0) = (snap(&mut aconn)?, snap(&mut bconn)?);
    let (sa0, sb0) = (schedstat(a.pid()), schedstat(b.pid()));
    let c0 = (
        counters.writes.load(std::sync::atomic::Ordering::Relaxed),
        counters.reads.load(std::sync::atomic::Ordering::Relaxed),
        counters.hits.load(std::sync::atomic::Ordering::Relaxed),
    );
    let t0 = Instant::now();
    let (a_port, b_port) = (a.port, b.port);
    let interval = Duration::from_secs_f64(args.probe_ms / 1000.0);
    let duration = Duration::from_secs_f64(args.duration);
    let grace = Duration::from_millis(args.grace_ms);
    let client_cpu = two_cpus.then_some(args.client_cpu);
    let prober = std::thread::spawn(move || {
        if let Some(cpu) = client_cpu {
            server::pin_self(cpu);
        }
        probe::run(a_port, b_port, 0, max_probes, interval, duration, grace)
    });
    std::thread::sleep(duration);
    let elapsed = t0.elapsed().as_secs_f64();
    let (a1, b1) = (snap(&mut aconn)?, snap(&mut bconn)?);
    let (sa1, sb1) = (schedstat(a.pid()), schedstat(b.pid()));
    let c1 = (
        counters.writes.load(std::sync::atomic::Ordering::Relaxed),
        counters.reads.load(std::sync::atomic::Ordering::Relaxed),
        counters.hits.load(std::sync::atomic::Ordering::Relaxed),
    );
    let outcome = prober
        .join()
        .map_err(|_| "probe thread panicked".to_string())??;
    load.stop()?;
    drop(servers);
    let delta = |t1: &str, t0: &str, f: &str| info_field(t1, f) - info_field(t0, f);
    let messages = delta(&a1, &a0, "messages_sent");
    let items = delta(&a1, &a0, "items_sent");
    let reads = (c1.1 - c0.1) as f64;
    Ok(LatencyRun {
        writes_per_s: (c1.0 - c0.0) as f64 / elapsed,
        reads_per_s: reads / elapsed,
        hit_ratio: (c1.2 - c0.2) as f64 / reads.max(1.0),
        messages_per_s: messages / elapsed,
        items_per_message: items / messages.max(1.0),
        trouble: delta(&b1, &b0, "gaps")
            + delta(&b1, &b0, "recoveries")
            + delta(&a1, &a0, "send_overflows"),
        latency_ns: outcome.latency_ns,
        ack_ns: outcome.ack_ns,
        sent: outcome.sent,
        lost: outcome.lost,
        flush_pushes: outcome.flush_pushes,
        realtime: outcome.realtime,
        sched_a: sched_delta(sa0, sa1, elapsed),
        sched_b: sched_delta(sb0, sb1, elapsed),
    })
}

/// Nearest-rank percentile of sorted nanoseconds, in microseconds.
fn pct_us(sorted: &[i64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Target {
    Redis,
    CachetOff,
    CachetOn,
    /// `CachetOn` with `--coherence-secret`: messages signed.
    CachetSigned,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Redis => "redis-server",
            Target::CachetOff => "cachet, coherence off",
            Target::CachetOn => "cachet A, mesh of 3",
            Target::CachetSigned => "cachet A, mesh, signed",
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Throughput {
    ops: f64,
    /// A's CPU time per SET, microseconds (cachet only).
    cpu_us: f64,
    messages_per_s: f64,
    items_per_message: f64,
    /// CPU share B and C (the peers) took on the server CPU during the run.
    peers_busy: f64,
}

/// The main thread's (the runtime's, a daemon pinned to one CPU runs one) scheduler stats from
/// /proc/PID/schedstat: nanoseconds on CPU, nanoseconds waiting on a run queue, time slices.
fn schedstat(pid: u32) -> [f64; 3] {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap_or_default();
    let mut out = [f64::NAN; 3];
    for (slot, field) in out.iter_mut().zip(text.split_whitespace()) {
        *slot = field.parse().unwrap_or(f64::NAN);
    }
    out
}

/// Over a window: share of the window on CPU, mean run-queue wait per time slice (µs).
#[derive(Clone, Copy, Default)]
struct Sched {
    busy: f64,
    wait_us: f64,
}

fn sched_delta(before: [f64; 3], after: [f64; 3], seconds: f64) -> Sched {
    Sched {
        busy: (after[0] - before[0]) / 1e9 / seconds,
        wait_us: (after[1] - before[1]) / 1e3 / (after[2] - before[2]).max(1.0),
    }
}

/// Moves every thread of a process to one CPU.
fn pin_process(pid: u32, cpu: usize) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: plain syscall on a zeroed, locally owned cpu_set_t.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
}

/// utime + stime of a process, seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => (u + s) / hz,
        _ => f64::NAN,
    }
}

fn redis_benchmark(args: &Args, port: u16, pipeline: u32, two_cpus: bool) -> Result<f64, String> {
    let requests = if pipeline > 1 {
        args.p16_requests
    } else {
        args.p1_requests
    };
    let mut cmd = Command::new(&args.redis_benchmark_bin);
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-t",
        "set",
        "-c",
        "50",
    ])
    .args(["-P", &pipeline.to_string(), "-r", &args.keys.to_string()])
    .args([
        "-d",
        &args.value_size.to_string(),
        "-n",
        &requests.to_string(),
    ])
    .args(["--csv"])
    .stdin(Stdio::null())
    .stderr(Stdio::null());
    if two_cpus {
        let cpu = args.client_cpu;
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe syscalls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                Ok(())
            });
        }
    }
    let out = cmd
        .output()
        .map_err(|e| format!("{}: {e}", args.redis_benchmark_bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("\"SET\",\""))
        .and_then(|rest| rest.split('"').next())
        .and_then(|rps| rps.parse().ok())
        .ok_or_else(|| format!("redis-benchmark printed no SET line: {text:?}"))
}

/// One target, -P 1 then -P 16, on fresh servers.
fn run_throughput(
    target: Target,
    args: &Args,
    opts: &server::Options,
) -> Result<[Throughput; 2], String> {
    let two_cpus = opts.server_cpu.is_some();
    let servers = match target {
        Target::Redis => {
            let spec = Spec {
                label: "redis".into(),
                kind: server::Kind::Redis {
                    policy: "noeviction".into(),
                },
            };
            vec![Server::start(&spec, 0, opts)?]
        }
        Target::CachetOff => start_trio(opts, false)?,
        Target::CachetOn | Target::CachetSigned => start_trio(opts, true)?,
    };
    let a = &servers[0];
    let mut conn = a.connect()?;
    let mut out = [Throughput::default(); 2];
    for (slot, pipeline) in out.iter_mut().zip([1, 16]) {
        let peers_cpu = || {
            servers[1..]
                .iter()
                .map(|s| cpu_seconds(s.pid()))
                .sum::<f64>()
        };
        let peers_before = peers_cpu();
        let before = (
            cpu_seconds(a.pid()),
            info(&mut conn, "coherence").unwrap_or_default(),
        );
        let started = Instant::now();
        let ops = redis_benchmark(args, a.port, pipeline, two_cpus)?;
        let elapsed = started.elapsed().as_secs_f64();
        let after = (
            cpu_seconds(a.pid()),
            info(&mut conn, "coherence").unwrap_or_default(),
        );
        let requests = if pipeline > 1 {
            args.p16_requests
        } else {
            args.p1_requests
        } as f64;
        let messages =
            info_field(&after.1, "messages_sent") - info_field(&before.1, "messages_sent");
        let items = info_field(&after.1, "items_sent") - info_field(&before.1, "items_sent");
        *slot = Throughput {
            ops,
            cpu_us: if target == Target::Redis {
                f64::NAN
            } else {
                (after.0 - before.0) * 1e6 / requests
            },
            messages_per_s: messages / elapsed,
            items_per_message: items / messages.max(1.0),
            peers_busy: (peers_cpu() - peers_before) / elapsed,
        };
    }
    Ok(out)
}

fn fmt(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "-".into()
    }
}

fn print_latency(mode: Mode, args: &Args, runs: &[LatencyRun]) {
    if runs.is_empty() {
        return;
    }
    let mut all: Vec<i64> = runs
        .iter()
        .flat_map(|r| r.latency_ns.iter().copied())
        .collect();
    all.sort_unstable();
    let mut acks: Vec<i64> = runs.iter().flat_map(|r| r.ack_ns.iter().copied()).collect();
    acks.sort_unstable();
    let med = |f: &dyn Fn(&LatencyRun) -> f64| median(runs.iter().map(f).collect());
    let sent: usize = runs.iter().map(|r| r.sent).sum();
    let lost: usize = runs.iter().map(|r| r.lost).sum();
    let negative = all.iter().filter(|&&x| x < 0).count();
    let load = match mode {
        Mode::Idle => "no load: the probe alone, one write per probe interval".to_string(),
        Mode::Full => format!(
            "{} writers on A, {} readers on B, full speed",
            args.writers, args.readers
        ),
        Mode::Paced => format!(
            "{} writers on A paced to {:.0}/s, {} readers on B paced to {:.0}/s",
            args.writers, args.rate, args.readers, args.read_rate
        ),
    };
    println!();
    println!("propagation A→B, {mode:?} ({load}):");
    println!(
        "  write ack on A → invalidate push on B (µs, {} probes of {} rounds): p50 {}  p99 {}  p99.9 {}  max {}",
        all.len(),
        runs.len(),
        fmt(pct_us(&all, 0.50), 0),
        fmt(pct_us(&all, 0.99), 0),
        fmt(pct_us(&all, 0.999), 0),
        fmt(pct_us(&all, 1.0), 0),
    );
    println!(
        "  probe SET on A, send → ack (µs): p50 {}  p99 {}   probes sent {sent}, lost {lost}, push read before ack {negative}",
        fmt(pct_us(&acks, 0.50), 0),
        fmt(pct_us(&acks, 0.99), 0),
    );
    println!(
        "  A writes/s {}  B reads/s {} (hits {}%)  messages/s per link {}  items/message {}  (medians over rounds)",
        fmt(med(&|r| r.writes_per_s), 0),
        fmt(med(&|r| r.reads_per_s), 0),
        fmt(med(&|r| r.hit_ratio) * 100.0, 0),
        fmt(med(&|r| r.messages_per_s), 0),
        fmt(med(&|r| r.items_per_message), 1),
    );
    println!(
        "  server CPU: A busy {}%, waits {} µs per slice on the run queue; B busy {}%, waits {} µs (medians; /proc/PID/schedstat)",
        fmt(med(&|r| r.sched_a.busy) * 100.0, 0),
        fmt(med(&|r| r.sched_a.wait_us), 0),
        fmt(med(&|r| r.sched_b.busy) * 100.0, 0),
        fmt(med(&|r| r.sched_b.wait_us), 0),
    );
    let trouble: f64 = runs.iter().map(|r| r.trouble).sum();
    let flushes: usize = runs.iter().map(|r| r.flush_pushes).sum();
    if trouble > 0.0 || flushes > 0 {
        println!("  WARNING: {trouble} gaps/recoveries/overflows, {flushes} flush pushes on B during the windows");
    }
    if runs.iter().any(|r| !r.realtime) {
        println!(
            "  (probe thread without SCHED_FIFO: its reads may wait behind the load generator)"
        );
    }
}

/// The compact table: one line per latency mode, then the cost, each against its target.
fn print_summary(
    args: &Args,
    latency: &[(Mode, Vec<LatencyRun>)],
    throughput: &[Vec<(Target, [Throughput; 2])>],
) {
    println!();
    println!(
        "{:<8} {:>9} {:>7} {:>7} {:>8} {:>8} {:>10} {:>12} {:>10}",
        "summary",
        "writes/s",
        "p50 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs",
        "lost",
        "msgs/s/link",
        "items/msg"
    );
    for (mode, runs) in latency.iter().filter(|(_, r)| !r.is_empty()) {
        let mut all: Vec<i64> = runs
            .iter()
            .flat_map(|r| r.latency_ns.iter().copied())
            .collect();
        all.sort_unstable();
        let med = |f: &dyn Fn(&LatencyRun) -> f64| median(runs.iter().map(f).collect());
        let p99 = pct_us(&all, 0.99);
        let verdict = match mode {
            Mode::Paced => format!(
                "  target p99 ≤ 1000 µs at {:.0}/s: {}",
                args.rate,
                if p99 <= 1000.0 { "met" } else { "MISSED" }
            ),
            _ => String::new(),
        };
        println!(
            "{:<8} {:>9} {:>7} {:>7} {:>8} {:>8} {:>10} {:>12} {:>10}{verdict}",
            format!("{mode:?}").to_lowercase(),
            fmt(med(&|r| r.writes_per_s), 0),
            fmt(pct_us(&all, 0.50), 0),
            fmt(p99, 0),
            fmt(pct_us(&all, 0.999), 0),
            fmt(pct_us(&all, 1.0), 0),
            format!(
                "{}/{}",
                runs.iter().map(|r| r.lost).sum::<usize>(),
                runs.iter().map(|r| r.sent).sum::<usize>()
            ),
            fmt(med(&|r| r.messages_per_s), 0),
            fmt(med(&|r| r.items_per_message), 1),
        );
    }
    if throughput.is_empty() {
        return;
    }
    for (p, name) in [(0, "-P 1"), (1, "-P 16")] {
        let ratio = |f: &dyn Fn(Throughput) -> f64| {
            median(
                throughput
                    .iter()
                    .filter_map(|r| {
                        let get = |t: Target| r.iter().find(|(x, _)| *x == t).map(|(_, v)| v[p]);
                        Some(f(get(Target::CachetOn)?) / f(get(Target::CachetOff)?))
                    })
                    .collect(),
            )
        };
        let cost = 1.0 - ratio(&|x| x.ops);
        println!(
            "cost {name:<6} SET ops/s on A, coherence on vs off: {}% (A CPU per SET {}%)  target ≤ 10%: {}",
            fmt(cost * 100.0, 1),
            fmt((ratio(&|x| x.cpu_us) - 1.0) * 100.0, 1),
            if cost <= 0.10 { "met" } else { "MISSED" }
        );
    }
}

fn print_throughput(rounds: &[Vec<(Target, [Throughput; 2])>]) {
    if rounds.is_empty() {
        return;
    }
    let get = |round: &Vec<(Target, [Throughput; 2])>, t: Target, p: usize| {
        round.iter().find(|(x, _)| *x == t).map(|(_, r)| r[p])
    };
    println!();
    println!(
        "SET throughput (redis-benchmark -t set -c 50 -r N), medians over {} rounds:",
        rounds.len()
    );
    println!(
        "  {:<24} {:>12} {:>12} {:>16} {:>16} {:>15}",
        "", "-P 1 ops/s", "-P 16 ops/s", "A µs CPU/SET P1", "A µs CPU/SET P16", "B+C CPU P1/P16"
    );
    let signed = rounds
        .iter()
        .any(|r| r.iter().any(|(t, _)| *t == Target::CachetSigned));
    let targets = [
        Target::Redis,
        Target::CachetOff,
        Target::CachetOn,
        Target::CachetSigned,
    ];
    for t in targets
        .into_iter()
        .filter(|t| signed || *t != Target::CachetSigned)
    {
        let col = |p: usize, f: &dyn Fn(Throughput) -> f64| {
            median(rounds.iter().filter_map(|r| get(r, t, p)).map(f).collect())
        };
        let peers = if t == Target::Redis {
            "-".to_string()
        } else {
            format!(
                "{}%/{}%",
                fmt(col(0, &|x| x.peers_busy) * 100.0, 0),
                fmt(col(1, &|x| x.peers_busy) * 100.0, 0)
            )
        };
        println!(
            "  {:<24} {:>12} {:>12} {:>16} {:>16} {:>15}",
            t.label(),
            fmt(col(0, &|x| x.ops), 0),
            fmt(col(1, &|x| x.ops), 0),
            fmt(col(0, &|x| x.cpu_us), 2),
            fmt(col(1, &|x| x.cpu_us), 2),
            peers,
        );
    }
    let ratio = |num: Target, den: Target, p: usize, f: &dyn Fn(Throughput) -> f64| {
        median(
            rounds
                .iter()
                .filter_map(|r| Some(f(get(r, num, p)?) / f(get(r, den, p)?)))
                .collect(),
        )
    };
    for (p, name) in [(0, "-P 1"), (1, "-P 16")] {
        let ops = ratio(Target::CachetOn, Target::CachetOff, p, &|x| x.ops);
        let cpu = ratio(Target::CachetOn, Target::CachetOff, p, &|x| x.cpu_us);
        let on = median(
            rounds
                .iter()
                .filter_map(|r| get(r, Target::CachetOn, p))
                .map(|x| x.messages_per_s)
                .collect(),
        );
        let ipm = median(
            rounds
                .iter()
                .filter_map(|r| get(r, Target::CachetOn, p))
                .map(|x| x.items_per_message)
                .collect(),
        );
        println!(
            "  {name}: coherence cost {}% of ops/s (on/off {}), A CPU per SET on/off {}; on/redis {}, off/redis {}; A sent {} messages/s per link, {} items/message",
            fmt((1.0 - ops) * 100.0, 1),
            fmt(ops, 3),
            fmt(cpu, 3),
            fmt(ratio(Target::CachetOn, Target::Redis, p, &|x| x.ops), 3),
            fmt(ratio(Target::CachetOff, Target::Redis, p, &|x| x.ops), 3),
            fmt(on, 0),
            fmt(ipm, 1),
        );
        if signed {
            let ops = ratio(Target::CachetSigned, Target::CachetOn, p, &|x| x.ops);
            let cpu = ratio(Target::CachetSigned, Target::CachetOn, p, &|x| x.cpu_us);
            println!(
                "  {name}: signing cost {}% of ops/s (signed/unsigned {}), A CPU per SET signed/unsigned {}",
                fmt((1.0 - ops) * 100.0, 1),
                fmt(ops, 3),
                fmt(cpu, 3),
            );
        }
    }
}

fn main() {
    let mut args = Args::parse();
    if args.quick {
        args.duration = args.duration.min(3.0);
        args.warmup = args.warmup.min(0.5);
        args.p1_requests = args.p1_requests.min(100_000);
        args.p16_requests = args.p16_requests.min(600_000);
    }
    let parts: Vec<&str> = args.parts.split(',').map(str::trim).collect();
    let mut modes = Vec::new();
    for m in args.modes.split(',').map(str::trim) {
        match m {
            "idle" => modes.push(Mode::Idle),
            "full" => modes.push(Mode::Full),
            "paced" => modes.push(Mode::Paced),
            other => {
                eprintln!("unknown mode {other:?} (idle, full, paced)");
                std::process::exit(2);
            }
        }
    }
    let (two_cpus, _scratch) = server::prepare(
        "bench-coherence",
        &args.cachet_bin,
        true,
        args.server_cpu,
        args.client_cpu,
    );
    let dir = _scratch.0.clone();
    let opts = |coherence: &str, secret: Option<&str>| server::Options {
        redis_bin: args.redis_bin.clone(),
        cachet_bin: args.cachet_bin.clone(),
        // The mesh is linked at run time with CACHE.PEER ADD, from this machine.
        cachet_flags: [
            "--coherence",
            coherence,
            "--enable-protected-configs",
            "local",
        ]
        .into_iter()
        .chain(
            secret
                .map(|s| ["--coherence-secret", s])
                .into_iter()
                .flatten(),
        )
        .map(String::from)
        .collect(),
        cachet_no_limit: true,
        server_cpu: two_cpus.then_some(args.server_cpu),
        dir: dir.clone(),
    };
    let (opts_on, opts_off) = (opts("yes", None), opts("no", None));
    let opts_signed = opts("yes", args.coherence_secret.as_deref());
    println!(
        "coherence: 3 cachet daemons (mesh), {} round(s), {} data keys, {}-byte values, servers on CPU {}, clients on CPU {}{}",
        args.rounds,
        args.keys,
        args.value_size,
        args.server_cpu,
        args.client_cpu,
        if two_cpus { "" } else { " (not pinned: fewer than two CPUs)" }
    );
    let started = Instant::now();
    let mut failed = false;
    let mut latency: Vec<(Mode, Vec<LatencyRun>)> =
        modes.iter().map(|&m| (m, Vec::new())).collect();
    let mut throughput: Vec<Vec<(Target, [Throughput; 2])>> = Vec::new();
    for round in 0..args.rounds.max(1) {
        if parts.contains(&"latency") {
            let mut order: Vec<usize> = (0..latency.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let mode = latency[i].0;
                match run_latency(mode, &args, &opts_on) {
                    Ok(run) => {
                        let mut sorted = run.latency_ns.clone();
                        sorted.sort_unstable();
                        println!(
                            "round {} latency {mode:?}: p50 {} p99 {} max {} µs, {} probes ({} lost), A {:.0} writes/s, {:.0} messages/s, {:.1} items/message",
                            round + 1,
                            fmt(pct_us(&sorted, 0.5), 0),
                            fmt(pct_us(&sorted, 0.99), 0),
                            fmt(pct_us(&sorted, 1.0), 0),
                            run.sent,
                            run.lost,
                            run.writes_per_s,
                            run.messages_per_s,
                            run.items_per_message
                        );
                        latency[i].1.push(run);
                    }
                    Err(e) => {
                        println!("round {} latency {mode:?}: FAILED: {e}", round + 1);
                        failed = true;
                    }
                }
            }
        }
        if parts.contains(&"throughput") {
            let mut targets = vec![Target::Redis, Target::CachetOff, Target::CachetOn];
            if args.coherence_secret.is_some() {
                targets.push(Target::CachetSigned);
            }
            let count = targets.len();
            targets.rotate_left(round % count);
            let mut results = Vec::new();
            for t in targets {
                let opts = match t {
                    Target::CachetOn => &opts_on,
                    Target::CachetSigned => &opts_signed,
                    _ => &opts_off,
                };
                match run_throughput(t, &args, opts) {
                    Ok(r) => {
                        println!(
                            "round {} throughput {}: -P 1 {:.0} ops/s, -P 16 {:.0} ops/s",
                            round + 1,
                            t.label(),
                            r[0].ops,
                            r[1].ops
                        );
                        results.push((t, r));
                    }
                    Err(e) => {
                        println!("round {} throughput {}: FAILED: {e}", round + 1, t.label());
                        failed = true;
                    }
                }
            }
            throughput.push(results);
        }
    }
    for (mode, runs) in &latency {
        print_latency(*mode, &args, runs);
    }
    print_throughput(&throughput);
    print_summary(&args, &latency, &throughput);
    println!(
        "(percentiles over all probes of all rounds; ratios: median of per-round ratios. Method: benches/coherence.rs; {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    if failed {
        std::process::exit(1);
    }
}
