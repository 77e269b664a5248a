//! The `cachet` binary: flags and conf file in, `cachet::run` out (or `cachet export|import`, the
//! JSON-lines tools of `net::portable`). Exits 0 after SIGINT/SIGTERM
//! once in-flight commands have finished, 1 when it cannot start (a bad `--import-rdb` file).

#![deny(unsafe_code)]

use std::path::PathBuf;

use clap::Parser;
use tikv_jemallocator::Jemalloc;

#[global_allocator]
static GLOBAL: Jemalloc = Jemalloc;

/// A Redis-protocol-compatible cache daemon. Any directive of conf/cachet.conf may also be given
/// as `--name value`, as with redis-server.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    after_help = "Also: `cachet export --help` and `cachet import --help` (JSON lines out of and into a running daemon)."
)]
struct Cli {
    /// Conf file in redis.conf syntax (also accepted as the first positional argument).
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    port: Option<u16>,
    #[arg(long)]
    bind: Option<String>,
    /// Keyspace shards (rounded up to a power of two).
    #[arg(long)]
    shards: Option<usize>,
    #[arg(long)]
    maxclients: Option<usize>,
    /// debug, verbose, notice or warning.
    #[arg(long)]
    loglevel: Option<String>,
    /// A Redis RDB file (versions 1 to 11: Redis up to 7.2) loaded into the keyspace before
    /// clients are served; a file that cannot be loaded stops the server with exit code 1.
    #[arg(long, value_name = "FILE")]
    import_rdb: Option<PathBuf>,
    /// Conf file, as `redis-server /path/to/redis.conf`.
    file: Option<PathBuf>,
}

/// `cachet export` / `cachet import`: JSON lines out of or into a running daemon.
#[derive(Parser, Debug)]
#[command(name = "cachet", version)]
enum Tool {
    /// Writes every key of a database as JSON lines (key, type, value, expire_at, priority,
    /// cost, tags, parents), read with CACHE.EXPORT page by page.
    Export {
        #[command(flatten)]
        daemon: Daemon,
        /// Where the lines go; `-` is standard output.
        #[arg(long, default_value = "-")]
        file: PathBuf,
        /// Only keys matching this glob pattern (SCAN's MATCH).
        #[arg(long = "match", value_name = "PATTERN")]
        pattern: Option<String>,
    },
    /// Reads JSON lines (as `cachet export` writes them) into a database with CACHE.IMPORT; a
    /// line refused is reported with its number and the others are still imported. Exits 1 when
    /// any line was refused.
    Import {
        #[command(flatten)]
        daemon: Daemon,
        /// Where the lines come from; `-` is standard input.
        #[arg(long, default_value = "-")]
        file: PathBuf,
        /// Replace keys that exist (without it they are refused with BUSYKEY).
        #[arg(long)]
        replace: bool,
    },
}

#[derive(clap::Args, Debug)]
struct Daemon {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 6379)]
    port: u16,
    #[arg(long, default_value_t = 0)]
    db: usize,
    /// ACL user for AUTH (with --pass).
    #[arg(long)]
    user: Option<String>,
    /// Password for AUTH.
    #[arg(long)]
    pass: Option<String>,
}

impl Daemon {
    fn target(self) -> cachet::net::portable::Target {
        cachet::net::portable::Target {
            host: self.host,
            port: self.port,
            db: self.db,
            user: self.user,
            password: self.pass,
        }
    }
}

fn run_tool(tool: Tool) -> ! {
    use std::io::{BufReader, BufWriter};
    let outcome = match tool {
        Tool::Export {
            daemon,
            file,
            pattern,
        } => {
            let target = daemon.target();
            let written = if file.as_os_str() == "-" {
                let mut out = BufWriter::new(std::io::stdout().lock());
                cachet::net::portable::export(&target, pattern.as_deref(), &mut out)
            } else {
                std::fs::File::create(&file)
                    .map_err(|e| format!("{}: {e}", file.display()))
                    .and_then(|f| {
                        let mut out = BufWriter::new(f);
                        cachet::net::portable::export(&target, pattern.as_deref(), &mut out)
                    })
            };
            written.map(|keys| {
                eprintln!("exported {keys} keys");
                true
            })
        }
        Tool::Import {
            daemon,
            file,
            replace,
        } => {
            let target = daemon.target();
            let summary = if file.as_os_str() == "-" {
                cachet::net::portable::import(&target, std::io::stdin().lock(), replace)
            } else {
                std::fs::File::open(&file)
                    .map_err(|e| format!("{}: {e}", file.display()))
                    .and_then(|f| {
                        cachet::net::portable::import(&target, BufReader::new(f), replace)
                    })
            };
            summary.map(|summary| {
                for (line, reason) in &summary.failed {
                    eprintln!("line {line}: {reason}");
                }
                eprintln!(
                    "imported {} keys, {} already expired, {} lines refused",
                    summary.stored,
                    summary.expired,
                    summary.failed.len()
                );
                summary.failed.is_empty()
            })
        }
    };
    match outcome {
        Ok(true) => std::process::exit(0),
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("cachet: {e}");
            std::process::exit(1);
        }
    }
}

const CLAP_FLAGS: &[&str] = &[
    "config",
    "port",
    "bind",
    "shards",
    "maxclients",
    "loglevel",
    "import-rdb",
    "help",
    "version",
];

/// Splits argv into what clap parses and `--directive value...` pairs applied after the file.
fn split_directives(argv: Vec<String>) -> (Vec<String>, Vec<(String, Vec<String>)>) {
    let mut clap_args = Vec::new();
    let mut directives: Vec<(String, Vec<String>)> = Vec::new();
    let mut iter = argv.into_iter().peekable();
    if let Some(program) = iter.next() {
        clap_args.push(program);
    }
    while let Some(arg) = iter.next() {
        let flag = arg
            .strip_prefix("--")
            .map(|f| f.split('=').next().unwrap_or(f).to_string());
        match flag {
            Some(name) if !CLAP_FLAGS.contains(&name.as_str()) && !name.is_empty() => {
                let mut values = Vec::new();
                while let Some(next) = iter.peek() {
                    if next.starts_with("--") {
                        break;
                    }
                    values.extend(iter.next());
                }
                directives.push((name, values));
            }
            _ => clap_args.push(arg),
        }
    }
    (clap_args, directives)
}

fn fatal(message: &str) -> ! {
    eprintln!("\n*** FATAL CONFIG ERROR ***\n{message}");
    std::process::exit(1);
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if matches!(argv.get(1).map(String::as_str), Some("export" | "import")) {
        run_tool(Tool::parse_from(argv));
    }
    let (clap_args, directives) = split_directives(argv);
    let cli = Cli::parse_from(clap_args);
    let mut values = cachet::ConfigValues::default();
    let file = cli.config.or(cli.file);
    if let Some(path) = &file {
        let text = std::fs::read(path).unwrap_or_else(|e| {
            fatal(&format!("Can't open config file '{}': {e}", path.display()))
        });
        if let Err(e) = cachet::state::config::apply_conf_bytes(&mut values, &text) {
            fatal(&format!("Reading {}: {e}", path.display()));
        }
    }
    let flags = [
        ("port", cli.port.map(|v| v.to_string())),
        ("bind", cli.bind),
        ("shards", cli.shards.map(|v| v.to_string())),
        ("maxclients", cli.maxclients.map(|v| v.to_string())),
        ("loglevel", cli.loglevel),
    ];
    let all = flags
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name.to_string(), vec![v])))
        .chain(directives);
    for (name, args) in all {
        if let Err(e) = cachet::state::config::apply_directive(&mut values, &name, &args) {
            fatal(&format!("--{name} {}: {e}", args.join(" ")));
        }
    }
    if let Err(e) = cachet::state::cluster::check_file(&values) {
        fatal(&format!(
            "Unrecoverable error: corrupted cluster config file: {e}"
        ));
    }
    values.import_rdb = cli.import_rdb;
    let filter = match values.loglevel.as_str() {
        "debug" => "debug",
        "verbose" => "info",
        "notice" => "info",
        "warning" => "warn",
        _ => "off",
    };
    init_logs(&values, filter);

    let threads = match values.threads {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        n => n,
    };
    // Multi-threaded even with one worker: a script past `busy-reply-threshold` hands its worker
    // to a fresh thread (`block_in_place`), which the single-threaded scheduler cannot, so the
    // others are answered BUSY and SCRIPT KILL reaches an endless script on one CPU too.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fatal(&format!("runtime: {e}")));
    runtime.block_on(async move {
        // `port 0` is no plaintext listener, as in Redis: with a tls-port, TLS only.
        let mut listeners = cachet::net::Listeners::default();
        for (port, tls) in [(values.port, false), (values.tls_port, true)] {
            if port == 0 {
                continue;
            }
            for host in &values.bind {
                let addr = cachet::net::host_port(host, port);
                let listener = cachet::net::listen(&addr, values.tcp_backlog).unwrap_or_else(|e| {
                    let kind = if tls { " (TLS)" } else { "" };
                    fatal(&format!(
                        "Could not create server TCP listening socket {addr}{kind}: {e}"
                    ))
                });
                match tls {
                    false => listeners.plain.push(listener),
                    true => listeners.tls.push(listener),
                }
            }
        }
        if listeners.plain.is_empty() && listeners.tls.is_empty() {
            fatal("Configured to not listen anywhere, exiting.");
        }
        let admin = (values.admin_port != 0).then(|| {
            let addr = cachet::net::host_port(&values.admin_bind, values.admin_port);
            cachet::net::listen(&addr, values.tcp_backlog).unwrap_or_else(|e| {
                fatal(&format!("Could not listen on the admin port {addr}: {e}"))
            })
        });
        let served = cachet::net::serve(
            listeners,
            admin,
            values,
            file.map(|f| f.canonicalize().unwrap_or(f)),
            shutdown_signal(),
        )
        .await;
        if let Err(e) = served {
            tracing::error!("{e}");
            eprintln!("cachet: {e}");
            std::process::exit(1);
        }
    });
}

/// Logs to standard output or `logfile`, as plain lines or (`log-format json`) one JSON object per
/// line: `timestamp`, `level`, `target`, `fields` (`message` and the event's own fields).
fn init_logs(values: &cachet::ConfigValues, filter: &str) {
    let subscriber =
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter));
    let file = (!values.logfile.is_empty()).then(|| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&values.logfile)
            .unwrap_or_else(|e| fatal(&format!("Can't open the log file {}: {e}", values.logfile)))
    });
    match (values.log_json, file) {
        (true, None) => subscriber.json().init(),
        (true, Some(file)) => subscriber
            .json()
            .with_writer(std::sync::Mutex::new(file))
            .init(),
        (false, None) => subscriber
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init(),
        (false, Some(file)) => subscriber
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init(),
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("Received signal, scheduling shutdown...");
}
