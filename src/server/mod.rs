//! The running server: shared state (`Server`), the accept loop with `maxclients`, background
//! tasks (active expiry), and graceful shutdown: on the signal the listener stops accepting, every
//! connection finishes the batch it is executing, and `run` returns once all have closed.

pub mod blocking;
pub mod clients;
pub mod coherence;
pub mod config;
pub mod connection;
pub mod exec_gate;
pub mod pubsub;
pub mod stats;
pub mod tracking;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::engine::expire::{active_expire_cycle, CYCLE_TIME_PERCENT};
use crate::engine::invalidate::SWEEP_BATCH;
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
    pub commands_processed: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
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
            &self.commands_processed,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.expired_by_cycle,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.ops_per_sec.reset();
        self.input_bytes_per_sec.reset();
        self.output_bytes_per_sec.reset();
    }

    fn sample_rates(&self, now_ms: u64) {
        self.ops_per_sec
            .sample(now_ms, self.commands_processed.load(Ordering::Relaxed));
        self.input_bytes_per_sec
            .sample(now_ms, self.net_input_bytes.load(Ordering::Relaxed));
        self.output_bytes_per_sec
            .sample(now_ms, self.net_output_bytes.load(Ordering::Relaxed));
    }
}

pub struct Server {
    pub config: Config,
    pub keyspace: Keyspace,
    pub clients: ClientRegistry,
    pub stats: ServerStats,
    pub started: Instant,
    pub started_unix_ms: u64,
    pub run_id: String,
    pub local_addr: SocketAddr,
    /// Unix seconds of the last successful save (LASTSAVE); the start time until one happens.
    pub last_save: AtomicU64,
    /// Held shared by every command and the cron, exclusively by EXEC (`exec_gate`).
    pub exec_gate: exec_gate::ExecGate,
    /// Who WATCHes which key; a sink of the keyspace notices.
    pub watches: Arc<crate::commands::multi::WatchRegistry>,
    /// Clients blocked on keys (BLPOP and friends); also a keyspace-notice sink.
    pub blocking: Arc<blocking::Blocking>,
    /// Channel registry and message delivery; also the keyspace notifications sink.
    pub pubsub: Arc<pubsub::PubSub>,
    /// Invalidations published to and received from peer daemons; a keyspace-notice sink.
    pub coherence: Arc<coherence::Coherence>,
    /// Client-side caching (CLIENT TRACKING); a keyspace-notice sink.
    pub tracking: Arc<tracking::Tracking>,
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
                coherence::Settings {
                    enabled: config.coherence,
                    peers: config.peers.clone(),
                    bus: config.coherence_bus.clone(),
                    announce: if config.coherence_announce.is_empty() {
                        coherence::bus::default_announce(self.local_addr)
                    } else {
                        config.coherence_announce.clone()
                    },
                    backlog_size: config.coherence_backlog_size,
                },
            )
        };
        self.coherence
            .set_secret(&self.config.read().coherence_secret);
        self.coherence.configure(coherence);
        self.keyspace.set_eviction_settings(settings);
        self.tracking.max_keys.store(
            self.config.read().tracking_table_max_keys,
            Ordering::Relaxed,
        );
        self.keyspace.set_stats_prefixes(&prefixes);
        self.pubsub.set_limits(receiver_limits);
        self.pubsub
            .keyspace_events
            .store(keyspace_events, Ordering::Relaxed);
    }

    /// Every consumer of the keyspace notices, installed together when the server is built: each
    /// feature that listens adds its sink here.
    fn notice_sinks(&self) -> Vec<Arc<dyn NoticeSink>> {
        vec![
            self.pubsub.clone(),
            self.blocking.clone(),
            self.watches.clone(),
            self.coherence.clone(),
            self.tracking.clone(),
        ]
    }

    pub fn shutdown_receiver(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
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

/// A listening socket on `addr` (`host:port`, brackets around an IPv6 host) whose kernel queue of
/// connections not yet accepted holds `backlog` (`tcp-backlog`), as Redis's `listen(fd, backlog)`:
/// tokio's own `bind` fixes it at 1024 whatever the configuration says.
pub fn listen(addr: &str, backlog: u32) -> std::io::Result<TcpListener> {
    use std::net::ToSocketAddrs;
    let address = addr.to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to bind")
    })?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok());
    if let Some(somaxconn) = somaxconn.filter(|&max| max < backlog) {
        tracing::warn!(
            "The TCP backlog setting of {backlog} cannot be enforced because \
             /proc/sys/net/core/somaxconn is set to the lower value of {somaxconn}."
        );
    }
    socket.listen(backlog.min(i32::MAX as u32) as i32)?;
    TcpListener::from_std(socket.into())
}

/// Serves clients on every listener (one per `bind` address) until `shutdown` completes or a client
/// runs SHUTDOWN. Returns once every connection has finished its current batch and closed.
pub async fn run(
    listeners: Vec<TcpListener>,
    mut values: ConfigValues,
    config_file: Option<std::path::PathBuf>,
    shutdown: impl Future,
) {
    let local_addr = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let (shutdown_tx, mut shutdown_rx) = watch::channel(false);
    let now = now_ms();
    if values.node_id.is_empty() {
        values.node_id = coherence::random_node_id();
    }
    let coherence = Arc::new(coherence::Coherence::new(&values.node_id, now));
    let pubsub: Arc<pubsub::PubSub> = Arc::default();
    let server = Arc::new(Server {
        keyspace: Keyspace::new(values.shards, values.databases),
        config: Config::new(values, config_file),
        clients: ClientRegistry::default(),
        stats: ServerStats::default(),
        started: Instant::now(),
        started_unix_ms: now,
        run_id: random_run_id(),
        local_addr,
        last_save: AtomicU64::new(now / 1000),
        exec_gate: exec_gate::ExecGate::default(),
        watches: Default::default(),
        blocking: Arc::default(),
        pubsub: pubsub.clone(),
        coherence,
        tracking: Arc::new(tracking::Tracking::new(pubsub)),
        shutdown: shutdown_tx,
    });
    server.keyspace.notices.install(server.notice_sinks());
    server.apply_config();
    if let (_, Some(warning)) = coherence::config::ignored_links(&server.config.read()) {
        tracing::warn!("{warning}");
    }
    // Everything allocated before the first client but the keyspace's own accounted bytes.
    let allocated = crate::engine::memory::allocator_stats().0;
    server.keyspace.baseline.store(
        allocated.saturating_sub(server.keyspace.memory()),
        Ordering::Relaxed,
    );

    // Every accept and connection task holds a clone of `done_tx`; `recv` returns None once the last
    // of them has ended.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    for listener in listeners {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, version = CACHET_VERSION, "cachet ready to accept connections");
        }
        tokio::spawn(accept_loop(server.clone(), listener, done_tx.clone()));
    }
    let cron = tokio::spawn(cron(server.clone()));
    let sweeper = tokio::spawn(sweeper(server.clone()));
    let publisher = tokio::spawn(coherence::publisher(server.clone()));
    let links = tokio::spawn(coherence::link::supervise(server.clone()));
    tokio::select! {
        _ = shutdown => {}
        _ = async { let _ = shutdown_rx.wait_for(|stopping| *stopping).await; } => {}
    }
    server.shutdown();
    drop(done_tx);
    let _ = done_rx.recv().await;
    cron.abort();
    sweeper.abort();
    publisher.abort();
    let _ = links.await;
    tracing::info!("cachet is now ready to exit, bye bye...");
}

async fn accept_loop(server: Arc<Server>, listener: TcpListener, done: mpsc::Sender<()>) {
    let mut stopping = server.shutdown_receiver();
    let stop = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => accept(&server, stream, addr, done.clone()),
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

fn accept(server: &Arc<Server>, stream: TcpStream, addr: SocketAddr, done: mpsc::Sender<()>) {
    server
        .stats
        .connections_received
        .fetch_add(1, Ordering::Relaxed);
    let laddr = stream.local_addr().unwrap_or(server.local_addr);
    let (max, keepalive) = {
        let config = server.config.read();
        (config.maxclients, config.tcp_keepalive)
    };
    let server = server.clone();
    let Some(info) = server.clients.register(addr, laddr, max) else {
        server
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let mut reply = crate::protocol::ReplyBuf::new(crate::protocol::Protocol::Resp2);
        reply.error_bytes(&crate::error::CmdError::MaxClients.message_bytes());
        let reply = reply.to_vec();
        tokio::spawn(async move {
            let mut stream = stream;
            let _ = stream.write_all(&reply).await;
            drop(done);
        });
        return;
    };
    let _ = stream.set_nodelay(true);
    if keepalive > 0 {
        let interval = Duration::from_secs(keepalive);
        let options = socket2::TcpKeepalive::new()
            .with_time(interval)
            .with_interval(interval / 3);
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&options);
    }
    tokio::spawn(async move {
        connection::serve(&server, stream, info.clone()).await;
        server.clients.unregister(info.id);
        drop(done);
    });
}

/// Background work `hz` times a second: the active expiry cycle within its CPU budget, and the
/// samples behind INFO's rates and memory peak.
async fn cron(server: Arc<Server>) {
    loop {
        let hz = server.config.read().hz.max(1);
        let period = Duration::from_millis(1000 / hz as u64);
        tokio::time::sleep(period).await;
        server.stats.sample_rates(now_ms());
        server.used_memory();
        let budget = period * CYCLE_TIME_PERCENT / 100;
        let server = server.clone();
        let _ = tokio::task::spawn_blocking(move || {
            // Never between the commands of an EXEC.
            let _shared = server.exec_gate.shared();
            evict_in_background(&server.keyspace, budget);
            active_expire_cycle(&server.keyspace, now_ms(), budget);
            server.keyspace.shrink_to_fit();
            // Keys the cycle expired or evicted may have dependents.
            server.keyspace.invalidate_dependents();
        })
        .await;
    }
}

/// Deletes the keys invalidations made stale, a batch per shard lock, yielding between batches so
/// that the worker it runs on keeps serving its clients.
/// How long the sweeper works between two yields to the clients of its worker thread.
const SWEEP_SLICE: Duration = Duration::from_micros(500);

async fn sweeper(server: Arc<Server>) {
    loop {
        server.keyspace.sweeper.wakeup.notified().await;
        loop {
            // Batches for up to SWEEP_SLICE, then a yield: per batch, the yield itself cost more
            // than the batch under client load (0.1M keys/s freed with 50 busy clients,
            // benches/invalidate.rs), while a slice this short delays a client by no more.
            // Never between the commands of an EXEC; the gate is released at every yield.
            let started = Instant::now();
            let mut swept = 0;
            {
                let _shared = server.exec_gate.shared();
                while started.elapsed() < SWEEP_SLICE {
                    let step = server.keyspace.sweep_step(SWEEP_BATCH);
                    server.keyspace.invalidate_dependents();
                    swept += step;
                    if step == 0 {
                        break;
                    }
                }
            }
            if swept == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
}

/// Brings the keyspace under a limit that was lowered at run time (CONFIG SET maxmemory), in small
/// steps within `budget`, so that clients keep being served meanwhile; writes also evict inline.
fn evict_in_background(keyspace: &Keyspace, budget: Duration) {
    const STEP: usize = 64;
    let started = Instant::now();
    while started.elapsed() < budget && keyspace.over_limit() {
        if keyspace.evict_some(now_ms(), STEP) == 0 {
            break;
        }
    }
}
