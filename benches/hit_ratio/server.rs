//! Starting and always stopping the servers under test. Each one is a child process on a free
//! loopback port, pinned to the server CPU and killed by the kernel if this program dies
//! (PR_SET_PDEATHSIG), and killed by PID when its `Server` is dropped, on every exit path.

use std::fs::File;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::resp::{Conn, Reply};

const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Long enough for FLUSHALL of a large keyspace; a server that stalls longer is broken.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub enum Kind {
    Redis {
        policy: String,
    },
    /// `policy` None: cachet's default policy (no `--maxmemory-policy` flag).
    Cachet {
        policy: Option<String>,
    },
}

#[derive(Clone)]
pub struct Spec {
    pub label: String,
    pub kind: Kind,
}

impl Spec {
    pub fn parse(text: &str) -> Result<Spec, String> {
        let kind = match text {
            "redis-lru" => Kind::Redis { policy: "allkeys-lru".into() },
            "redis-lfu" => Kind::Redis { policy: "allkeys-lfu".into() },
            "cachet" => Kind::Cachet { policy: None },
            _ => match text.strip_prefix("redis:").or_else(|| text.strip_prefix("redis-")) {
                Some(policy) if !policy.is_empty() => Kind::Redis { policy: policy.into() },
                _ => match text.strip_prefix("cachet:") {
                    Some(policy) if !policy.is_empty() => Kind::Cachet { policy: Some(policy.into()) },
                    _ => return Err(format!("unknown server {text:?} (redis-lru, redis-lfu, redis:POLICY, cachet, cachet:POLICY)")),
                },
            },
        };
        Ok(Spec {
            label: text.to_string(),
            kind,
        })
    }
    pub fn is_redis(&self) -> bool {
        matches!(self.kind, Kind::Redis { .. })
    }
}

pub struct Options {
    pub redis_bin: PathBuf,
    pub cachet_bin: PathBuf,
    /// Extra cachet arguments, whitespace-separated (CACHET_FLAGS / --cachet-flags).
    pub cachet_flags: Vec<String>,
    /// Start cachet without --maxmemory (sanity check: expect ~100% hits after warm-up).
    pub cachet_no_limit: bool,
    pub server_cpu: Option<usize>,
    pub dir: PathBuf,
}

pub struct Server {
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(8)..].join("\n    ")
}

impl Server {
    pub fn start(spec: &Spec, maxmemory: u64, opts: &Options) -> Result<Server, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let log = opts
            .dir
            .join(format!("{}-{port}.log", spec.label.replace(':', "_")));
        let mut cmd;
        match &spec.kind {
            Kind::Redis { policy } => {
                cmd = Command::new(&opts.redis_bin);
                cmd.args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .args([
                    "--maxmemory",
                    &maxmemory.to_string(),
                    "--maxmemory-policy",
                    policy,
                ])
                .arg("--dir")
                .arg(&opts.dir)
                .arg("--logfile")
                .arg(&log);
            }
            Kind::Cachet { policy } => {
                cmd = Command::new(&opts.cachet_bin);
                // No snapshot schedule, and the scratch dir as `dir`: a bench never writes
                // dump.cachet where it was started (the repository).
                cmd.args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--loglevel",
                    "warning",
                    "--save",
                    "",
                ])
                .arg("--dir")
                .arg(&opts.dir);
                if !opts.cachet_no_limit {
                    cmd.args(["--maxmemory", &maxmemory.to_string()]);
                }
                if let Some(policy) = policy {
                    cmd.args(["--maxmemory-policy", policy]);
                }
                cmd.args(&opts.cachet_flags);
            }
        }
        let out = File::create(
            opts.dir
                .join(format!("{}-{port}.out", spec.label.replace(':', "_"))),
        )
        .map_err(|e| format!("log file: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("log file: {e}"))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let cpu = opts.server_cpu;
        // SAFETY: only async-signal-safe syscalls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if let Some(cpu) = cpu {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    libc::CPU_SET(cpu, &mut set);
                    libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                }
                Ok(())
            });
        }
        let program = format!("{:?}", cmd.get_program());
        let child = cmd
            .spawn()
            .map_err(|e| format!("{}: cannot start {program}: {e}", spec.label))?;
        let mut server = Server { port, child, log };
        server.wait_ready(spec)?;
        Ok(server)
    }

    fn wait_ready(&mut self, spec: &Spec) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let out = self.log.with_extension("out");
                let hint = match spec.kind {
                    Kind::Cachet { .. } => {
                        "\n  (a cachet without the maxmemory directives rejects --maxmemory; \
                         try --servers redis-lru,redis-lfu or --cachet-no-limit)"
                    }
                    Kind::Redis { .. } => "",
                };
                return Err(format!(
                    "{} exited at start ({status}):\n    {}\n    {}{hint}",
                    spec.label,
                    tail(&out),
                    tail(&self.log)
                ));
            }
            // DBSIZE, not PING: both servers answer PING while the dataset still loads.
            if let Ok(mut conn) = Conn::connect(self.port, Duration::from_secs(2)) {
                if let Ok(Reply::Int(_)) = conn.command(&[b"DBSIZE"]) {
                    return Ok(());
                }
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "{} did not answer DBSIZE on port {} within {START_TIMEOUT:?}",
                    spec.label, self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the child to exit on its own (after SHUTDOWN), up to `REPLY_TIMEOUT`.
    #[allow(dead_code, reason = "only the hit-ratio bench restarts a server")]
    pub fn wait_exit(mut self) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < REPLY_TIMEOUT {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "the server on port {} did not exit after SHUTDOWN",
            self.port
        ))
    }

    /// The child's process id (the coherence bench reads its CPU time in /proc).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn connect(&self) -> Result<Conn, String> {
        Conn::connect(self.port, REPLY_TIMEOUT)
            .map_err(|e| format!("connect to port {}: {e}", self.port))
    }
}

/// Pins the calling thread (the replay client) to one CPU.
pub fn pin_self(cpu: usize) {
    // SAFETY: plain syscall on a zeroed, locally owned cpu_set_t.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// A run's scratch directory, removed when the run ends.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What every bench does before starting servers: checks the cachet binary (when it needs one),
/// pins itself to `client_cpu` when there are two CPUs, and makes a scratch directory named after
/// the bench. Returns whether the servers get `server_cpu` of their own, and the directory.
pub fn prepare(
    bench: &str,
    cachet_bin: &Path,
    needs_cachet: bool,
    server_cpu: usize,
    client_cpu: usize,
) -> (bool, Scratch) {
    if needs_cachet && !cachet_bin.exists() {
        eprintln!(
            "{} not found: run `cargo build --release` first (or pass --cachet-bin)",
            cachet_bin.display()
        );
        std::process::exit(2);
    }
    let two_cpus =
        std::thread::available_parallelism().map_or(1, |n| n.get()) > server_cpu.max(client_cpu);
    if two_cpus {
        pin_self(client_cpu);
    }
    let dir = std::env::temp_dir().join(format!("{bench}-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        std::process::exit(2);
    }
    (two_cpus, Scratch(dir))
}
