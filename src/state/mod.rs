//! The server's shared state, the layer between the command handlers and the engine: `Server`
//! (the keyspace, configuration, clients, statistics), pub/sub, client tracking, the blocking
//! registry, transactions and WATCH, coherence state, the exec gate, and the command table's
//! types (`command`). Sockets and background tasks live above, in `net`.

pub mod blocking;
pub mod clients;
pub mod cluster;
#[macro_use]
pub mod command;
// After `command`, whose `flags!`/`acl!` macros its tests use.
pub mod acl;
pub mod coherence;
pub mod config;
pub mod exec_gate;
pub mod latency;
pub mod listeners;
pub mod metrics;
pub mod migrate;
pub mod monitor;
pub mod multi;
pub mod pause;
pub mod persistence;
pub mod pubsub;
pub mod scripting;
pub mod slowlog;
pub mod stats;
pub mod tls;
pub mod tracking;
pub mod warm;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::engine::notice::NoticeSink;
use crate::engine::{now_ms, Keyspace};
use clients::ClientRegistry;
use config::{Config, ConfigValues};

/// The version we answer as in `HELLO` and `INFO`: clients enable features by it.
pub const REDIS_COMPAT_VERSION: &str = "7.4.0";
pub const CACHET_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Default)]
pub struct ServerStats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    /// Reads and writes of client sockets (`total_reads_processed`, `total_writes_processed`).
    pub reads_processed: AtomicU64,
    pub writes_processed: AtomicU64,
    /// Wall time the active expiry cycles took (`expire_cycle_cpu_milliseconds`, as Redis
    /// measures it).
    pub expire_cycle_micros: AtomicU64,
    pub expired_by_cycle: AtomicU64,
    /// Rates of the counters above, sampled by `cron` for INFO's `instantaneous_*` fields.
    pub ops_per_sec: stats::RateSampler,
    pub input_bytes_per_sec: stats::RateSampler,
    pub output_bytes_per_sec: stats::RateSampler,
    /// Highest `used_memory` seen by the cron or an INFO.
    pub memory_peak: AtomicU64,
}

impl ServerStats {
    /// CONFIG RESETSTAT: the counters and rates go back to zero; the memory figures stay.
    pub fn reset(&self) {
        for counter in [
            &self.connections_received,
            &self.rejected_connections,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.reads_processed,
            &self.writes_processed,
            &self.expire_cycle_micros,
            &self.expired_by_cycle,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.ops_per_sec.reset();
        self.input_bytes_per_sec.reset();
        self.output_bytes_per_sec.reset();
    }

    /// `processed`: `total_commands_processed`, which `metrics` keeps per thread.
    pub fn sample_rates(&self, now_ms: u64, processed: u64) {
        self.ops_per_sec.sample(now_ms, processed);
        self.input_bytes_per_sec
            .sample(now_ms, self.net_input_bytes.load(Ordering::Relaxed));
        self.output_bytes_per_sec
            .sample(now_ms, self.net_output_bytes.load(Ordering::Relaxed));
    }
}

/// The admin HTTP port's connections (`net::admin::conn`), for `/metrics`. Kept apart from
/// `ServerStats`: CONFIG RESETSTAT is about the RESP clients and leaves these alone.
#[derive(Default)]
pub struct AdminStats {
    /// Connections open now (the figure `admin-maxclients` caps).
    pub connections: AtomicU64,
    pub connections_received: AtomicU64,
    /// Connections refused at `admin-maxclients`.
    pub rejected_connections: AtomicU64,
    /// Connections closed because a request's headers or body took longer than `admin-timeout`.
    pub timeouts: AtomicU64,
}

pub struct Server {
    pub config: Config,
    /// ACL users and the ACL log.
    pub acl: acl::Acl,
    pub keyspace: Keyspace,
    pub clients: ClientRegistry,
    pub stats: ServerStats,
    pub admin: AdminStats,
    pub started: Instant,
    pub started_unix_ms: u64,
    pub run_id: String,
    pub local_addr: SocketAddr,
    /// Unix seconds of the last successful save (LASTSAVE); the start time until one happens.
    pub last_save: AtomicU64,
    /// Set once the snapshot and any `--import-rdb` file are loaded. Until then INFO says
    /// `loading:1`, the RESP ports (accepting from the start, as Redis's) answer `-LOADING` to
    /// every command not flagged `loading`, and the admin port answers `/ready` and `/v1` with a
    /// 503.
    pub loaded: AtomicBool,
    /// Held shared by every command and the cron, exclusively by EXEC (`exec_gate`).
    pub exec_gate: exec_gate::ExecGate,
    /// Who WATCHes which key; a sink of the keyspace notices.
    pub watches: Arc<multi::WatchRegistry>,
    /// Clients blocked on keys (BLPOP and friends); also a keyspace-notice sink.
    pub blocking: Arc<blocking::Blocking>,
    /// Channel registry and message delivery; also the keyspace notifications sink.
    pub pubsub: Arc<pubsub::PubSub>,
    /// Invalidations published to and received from peer daemons; a keyspace-notice sink.
    pub coherence: Arc<coherence::Coherence>,
    /// Client-side caching (CLIENT TRACKING); a keyspace-notice sink.
    pub tracking: Arc<tracking::Tracking>,
    /// Lua VMs, the script cache, function libraries, and the script running now.
    pub scripting: scripting::Scripting,
    /// CLIENT PAUSE: which commands are held, and the clients waiting.
    pub pause: pause::ClientPause,
    /// Per-command counters and histograms, error replies (INFO commandstats, errorstats,
    /// latencystats).
    pub metrics: metrics::Metrics,
    pub slowlog: slowlog::Slowlog,
    /// The latency monitor's events (LATENCY LATEST/HISTORY...).
    pub latency: latency::LatencyMonitor,
    /// Clients in MONITOR mode.
    pub monitors: monitor::Monitors,
    /// Cluster mode: the topology, slot owners, where it is saved.
    pub cluster: cluster::Cluster,
    /// MIGRATE's connections to other servers, kept for the next MIGRATE.
    pub migrate_sockets: migrate::MigrateSockets,
    /// CONFIG SET port / tls-port: new sockets to the accept loops.
    pub ports: listeners::Ports,
    /// Snapshots: changes since the last save, the save running, the load at start.
    pub persistence: Arc<persistence::Persistence>,
    /// The TLS contexts of the TLS listener and of the links opened over TLS.
    pub tls: tls::Tls,
    /// CACHE.WARM: the warm-up asked for and its progress.
    pub warm: warm::Warm,
    shutdown: watch::Sender<bool>,
}

impl Server {
    /// Asks the server to stop: the accept loop ends and connections close after their batch.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Pushes the settings other parts read without the config lock (eviction) after a change.
    pub fn apply_config(&self) {
        let (settings, receiver_limits, keyspace_events, prefixes, coherence) = {
            let config = self.config.read();
            (
                config.eviction(),
                pubsub::ReceiverLimits {
                    normal: config.client_output_buffer_limit[0],
                    pubsub: config.client_output_buffer_limit[2],
                },
                config.notify_keyspace_events,
                config.stats_prefixes.clone(),
                self.coherence_settings(&config),
            )
        };
        self.coherence
            .set_secret(&self.config.read().coherence_secret);
        self.coherence.configure(coherence);
        self.keyspace.set_eviction_settings(settings);
        {
            let config = self.config.read();
            self.keyspace.set_compression(config.compression());
            self.keyspace.dictionaries.configure(
                config.compression_dict,
                config.compression_dict_prefix_delimiter.as_bytes(),
                config.compression_dict_size,
            );
        }
        self.tracking
            .set_max_keys(self.config.read().tracking_table_max_keys);
        self.keyspace.set_stats_prefixes(&prefixes);
        self.pubsub.set_limits(receiver_limits);
        self.pubsub
            .keyspace_events
            .store(keyspace_events, Ordering::Relaxed);
        let notices = &self.keyspace.notices;
        notices.announce_new_keys(keyspace_events & crate::engine::notice::class::NEW != 0);
        notices.announce_key_misses(keyspace_events & crate::engine::notice::class::KEY_MISS != 0);
        let config = self.config.read();
        self.acl.apply_requirepass(&config.requirepass);
        self.acl.log.trim(config.acllog_max_len);
        self.cluster
            .announce(cluster::announced(&config, self.local_addr));
        self.slowlog
            .configure(config.slowlog_log_slower_than, config.slowlog_max_len);
        self.latency.set_threshold(config.latency_monitor_threshold);
        self.metrics
            .tracking
            .store(config.latency_tracking, Ordering::Relaxed);
        if let Err(e) = crate::engine::memory::set_background_purge(config.jemalloc_bg_thread) {
            tracing::warn!("jemalloc-bg-thread: {e}");
        }
    }

    /// What coherence should do: the directives, and in cluster mode what the topology asks. A
    /// replica follows its master's invalidations (a link to it, as to a peer), and a master with
    /// replicas publishes its own, whether `coherence` is on or not (`net::cluster_replica`).
    pub fn coherence_settings(&self, config: &config::ConfigValues) -> coherence::Settings {
        let (master, has_replicas) = self.cluster.coherence_role();
        let mut peers = config.peers.clone();
        if let Some(master) = &master {
            if !peers.contains(master) {
                peers.push(master.clone());
            }
        }
        coherence::Settings {
            enabled: config.coherence || master.is_some() || has_replicas,
            peers,
            bus: config.coherence_bus.clone(),
            announce: if config.coherence_announce.is_empty() {
                coherence::config::default_announce(self.local_addr)
            } else {
                config.coherence_announce.clone()
            },
            backlog_size: config.coherence_backlog_size,
            transport: coherence::Transport {
                peer_tls: config.peer_tls,
                bus_tls: config.coherence_bus_tls,
                bus_login: config.coherence_bus_login.clone(),
            },
        }
    }

    /// After a topology change: coherence follows it at once (a master that now has replicas
    /// publishes the writes acknowledged after the change), not at `net::cluster_replica`'s
    /// next turn.
    pub fn follow_topology(&self) {
        let settings = self.coherence_settings(&self.config.read());
        self.coherence.configure(settings);
    }

    /// Every consumer of the keyspace notices, installed together when the server is built: each
    /// feature that listens adds its sink here.
    fn notice_sinks(&self) -> Vec<Arc<dyn NoticeSink>> {
        let mut sinks: Vec<Arc<dyn NoticeSink>> = vec![
            self.pubsub.clone(),
            self.blocking.clone(),
            self.watches.clone(),
            self.coherence.clone(),
            self.tracking.clone(),
            self.persistence.clone(),
        ];
        // Outside cluster mode nothing indexes keys by slot: a plain daemon's writes pay nothing.
        if let Some(keys) = &self.cluster.keys {
            sinks.push(keys.clone());
        }
        sinks
    }

    pub fn shutdown_receiver(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Empties `db` (all databases when `None`) in every shard, atomically for other clients
    /// (FLUSHDB, FLUSHALL, a peer's flush). The caller holds the exec gate. WATCH is told while
    /// the emptied tables can still say which watched keys existed.
    pub fn flush_databases(&self, db: Option<usize>, asynchronous: bool) {
        let taken = self.keyspace.take_tables(db);
        multi::touch_flushed(self, db, &taken);
        free_tables(taken, asynchronous);
    }

    /// INFO's `used_memory`: the keyspace's byte accounting plus the start-up baseline. The data
    /// accounting is the figure that matters (it is what a memory limit will be checked against);
    /// the baseline only makes the total comparable with Redis's. Updates the peak.
    pub fn used_memory(&self) -> u64 {
        let used = self.keyspace.used_memory() as u64;
        self.stats.memory_peak.fetch_max(used, Ordering::Relaxed);
        used
    }
}

impl Server {
    /// Builds the shared state from the configuration: every notice sink installed, the settings
    /// pushed to the parts that read them without the config lock, and the memory baseline taken
    /// (everything allocated before the first client but the keyspace's own accounted bytes).
    pub fn new(
        mut values: ConfigValues,
        config_file: Option<std::path::PathBuf>,
        local_addr: SocketAddr,
    ) -> Arc<Server> {
        let (shutdown, _) = watch::channel(false);
        // Calibrated once per process, before the first command is timed.
        crate::os::ticks::init();
        let now = now_ms();
        if values.node_id.is_empty() {
            values.node_id = coherence::random_node_id();
        }
        let coherence = Arc::new(coherence::Coherence::new(&values.node_id, now));
        let cluster = cluster::Cluster::start(
            values.cluster_enabled,
            cluster::config_file(&values),
            &values.cluster_node_id,
            cluster::announced(&values, local_addr),
        )
        .unwrap_or_else(|err| {
            // `main` checks the file first; a server built anyway keeps the broken file as it is.
            tracing::error!("cluster configuration: {err}");
            cluster::Cluster::unsaved(values.cluster_enabled)
        });
        let pubsub: Arc<pubsub::PubSub> = Arc::default();
        let server = Arc::new(Server {
            keyspace: Keyspace::new(values.shards, values.databases),
            config: Config::new(values, config_file),
            acl: Default::default(),
            clients: ClientRegistry::default(),
            stats: ServerStats::default(),
            admin: AdminStats::default(),
            started: Instant::now(),
            started_unix_ms: now,
            run_id: random_run_id(),
            local_addr,
            last_save: AtomicU64::new(now / 1000),
            loaded: AtomicBool::new(false),
            exec_gate: exec_gate::ExecGate::default(),
            watches: Default::default(),
            blocking: Arc::default(),
            pubsub: pubsub.clone(),
            coherence,
            tracking: Arc::new(tracking::Tracking::new(pubsub)),
            scripting: Default::default(),
            pause: Default::default(),
            metrics: Default::default(),
            slowlog: Default::default(),
            latency: Default::default(),
            monitors: Default::default(),
            cluster,
            migrate_sockets: Default::default(),
            ports: Default::default(),
            tls: Default::default(),
            warm: Default::default(),
            persistence: Arc::default(),
            shutdown,
        });
        server.keyspace.notices.install(server.notice_sinks());
        let _ = server.persistence.server.set(Arc::downgrade(&server));
        server.apply_config();
        if let (_, Some(warning)) = coherence::config::ignored_links(&server.config.read()) {
            tracing::warn!("{warning}");
        }
        // What the threads' allocator caches hold is left out: it depends on what start-up
        // happened to allocate first (reading a snapshot's header for the node id filled the
        // 8 KiB class's cache: 80 KiB more, and 80 KiB less room for data, with a snapshot).
        let allocated = crate::engine::memory::allocator_stats().0;
        let in_use = allocated.saturating_sub(crate::os::allocator_thread_cached());
        server.keyspace.baseline.store(
            in_use.saturating_sub(server.keyspace.memory()),
            Ordering::Relaxed,
        );
        server
    }
}

fn random_run_id() -> String {
    (0..40)
        .map(|_| fastrand::alphanumeric().to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_digit() || ('a'..='f').contains(&c) {
                c
            } else {
                fastrand::char('a'..='f')
            }
        })
        .collect()
}

/// Frees tables taken out of the keyspace: on a thread of its own for ASYNC (dropping millions of
/// entries takes a while and needs no lock), here otherwise.
fn free_tables(tables: Vec<crate::engine::Table>, asynchronous: bool) {
    if tables.iter().all(|t| t.map.is_empty()) {
        return;
    }
    if asynchronous {
        let spawned = std::thread::Builder::new()
            .name("cachet-lazyfree".into())
            .spawn(move || drop(tables));
        if let Err(err) = spawned {
            tracing::warn!(%err, "could not start a thread to free flushed keys; freeing them inline");
        }
    } else {
        drop(tables);
    }
}
