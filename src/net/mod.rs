//! The network layer: listening sockets, the accept loop with `maxclients`, one task per
//! connection (`connection`), the background tasks (`cron`: active expiry, eviction after a
//! lowered limit, the invalidation sweeper; `coherence`: the publisher, links and bus), and
//! graceful shutdown: on the signal the listener stops accepting, every connection finishes the
//! batch it is executing, and `run` returns once all have closed.

pub mod admin;
mod cluster_probe;
mod cluster_replica;
pub mod coherence;
pub mod connection;
mod cron;
pub mod portable;
mod warm;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::engine::dump::rdb_file::{self, LoadOptions, LoadStats, RdbFileError};
use crate::engine::dump::RestoreLimits;
use crate::engine::types::hash::HashLimits;
use crate::engine::types::zset::ZSetLimits;
use crate::state::config::ConfigValues;
use crate::state::listeners::Rebind;
use crate::state::{persistence, Server, CACHET_VERSION};

pub use crate::state::listeners::{host_port, listen};

/// The sockets `serve` accepts clients on: plaintext (`port`) and TLS (`tls-port`), one of each
/// per `bind` address.
#[derive(Default)]
pub struct Listeners {
    pub plain: Vec<TcpListener>,
    pub tls: Vec<TcpListener>,
}

impl From<Vec<TcpListener>> for Listeners {
    fn from(plain: Vec<TcpListener>) -> Self {
        Listeners {
            plain,
            tls: Vec::new(),
        }
    }
}

/// How long a TLS client has to finish its handshake before it is closed.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the server did not start serving.
#[derive(Debug)]
pub enum StartError {
    /// The ACL file or the users of the configuration do not load.
    Acl(String),
    /// `--import-rdb`: the file named could not be loaded.
    ImportRdb(std::path::PathBuf, RdbFileError),
    /// The snapshot in `dir` does not load and `snapshot-load-failure` is `refuse`.
    Snapshot(String),
    /// The TLS contexts do not build (a missing or bad file): the reason.
    Tls(String),
    /// The `region` lines do not fit together or under `maxmemory`: the reason.
    Region(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Acl(e) => write!(f, "Aborting startup because of ACL errors: {e}"),
            StartError::ImportRdb(path, e) => write!(f, "importing {}: {e}", path.display()),
            StartError::Snapshot(e) => write!(f, "{e}"),
            StartError::Tls(e) => write!(f, "Failed to configure TLS: {e}"),
            StartError::Region(e) => write!(f, "Bad region configuration: {e}"),
        }
    }
}

/// Serves clients on every listener (one per `bind` address) until `shutdown` completes or a client
/// runs SHUTDOWN. Returns once every connection has finished its current batch and closed.
///
/// The listeners accept at once and the snapshot in `dir` loads meanwhile (a client connected
/// during the load gets `-LOADING`, as from Redis); `Err` when it cannot be loaded and
/// `snapshot-load-failure` is `refuse`, or an `--import-rdb` file does not load (the clients
/// connected meanwhile are closed), and when the ACL users do not load (before any is accepted). When `shutdown` completes (SIGTERM, SIGINT), the final
/// snapshot is written if a `save` schedule is set, as Redis does.
pub async fn run(
    listeners: impl Into<Listeners>,
    values: ConfigValues,
    config_file: Option<std::path::PathBuf>,
    shutdown: impl Future,
) -> Result<(), StartError> {
    let admin = if values.admin_port == 0 {
        None
    } else {
        let addr = host_port(&values.admin_bind, values.admin_port);
        match listen(&addr, values.tcp_backlog) {
            Ok(listener) => Some(listener),
            Err(err) => {
                tracing::warn!(%addr, %err, "could not listen on the admin port");
                None
            }
        }
    };
    serve(listeners, admin, values, config_file, shutdown).await
}

/// `run` with the admin port's listener bound by the caller (tests bind `127.0.0.1:0`; the binary
/// fails at start when the port cannot be had).
pub async fn serve(
    listeners: impl Into<Listeners>,
    admin: Option<TcpListener>,
    mut values: ConfigValues,
    config_file: Option<std::path::PathBuf>,
    shutdown: impl Future,
) -> Result<(), StartError> {
    let listeners: Listeners = listeners.into();
    let local_addr = listeners
        .plain
        .first()
        .or(listeners.tls.first())
        .and_then(|l| l.local_addr().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    if values.node_id.is_empty() {
        // The same node to the coherence peers as before the restart.
        if let Some(id) = persistence::saved_node_id(&values.dir, &values.dbfilename) {
            values.node_id = id;
        }
    }
    let import = values.import_rdb.clone();
    crate::engine::region::check(&values.regions, values.maxmemory).map_err(StartError::Region)?;
    let regions = values.regions.clone();
    let server = Server::new(values, config_file, local_addr);
    // Before the snapshot loads, so its keys are counted into their regions as they come in.
    server.keyspace.set_regions(regions);
    // As Redis, ACL errors at startup stop the server before it serves anyone.
    if let Err(err) = crate::commands::acl::load_at_startup(&server) {
        return Err(StartError::Acl(err.to_string()));
    }
    // As Redis, TLS files that do not load stop the server before it serves anyone.
    if let Err(reason) = server.tls.configure(&server.config.read()) {
        return Err(StartError::Tls(reason));
    }
    if !listeners.tls.is_empty() && server.tls.server_config().is_none() {
        return Err(StartError::Tls(
            "TLS listeners given but tls-port is 0".into(),
        ));
    }
    // The admin port serves from here on: a liveness probe must not fail (and the pod be
    // restarted) while a large snapshot loads; /ready says 503 until the listeners accept.
    let admin = admin.map(|listener| {
        let mut stopping = server.shutdown_receiver();
        tokio::spawn(admin::serve(server.clone(), listener, async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        }))
    });
    let stop_admin = |admin: Option<tokio::task::JoinHandle<()>>| {
        server.shutdown();
        async move {
            if let Some(admin) = admin {
                let _ = admin.await;
            }
        }
    };
    let mut shutdown_rx = server.shutdown_receiver();
    // Every accept and connection task holds a clone of `done_tx`; `recv` returns None once the last
    // of them has ended.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let all = (listeners.plain.into_iter().map(|l| (l, false)))
        .chain(listeners.tls.into_iter().map(|l| (l, true)));
    // Followed before the first accept: a CONFIG SET port served at once must find it.
    let rebinds = server.ports.follow();
    let mut accepting = Vec::new();
    // As Redis, clients are accepted before the dataset loads: until `server.loaded` they get
    // `-LOADING` for every command not flagged `loading` (PING, INFO, CONFIG GET... answer),
    // instead of waiting in the listen queue without a word.
    for (listener, tls) in all {
        let addr = listener.local_addr().ok();
        if let Some(addr) = addr {
            tracing::info!(%addr, tls, version = CACHET_VERSION, "cachet ready to accept connections");
        }
        let task = tokio::spawn(accept_loop(server.clone(), listener, tls, done_tx.clone()));
        accepting.push(Accepting { tls, addr, task });
    }
    tokio::spawn(follow_ports(
        server.clone(),
        rebinds,
        accepting,
        done_tx.clone(),
    ));
    if let Err(err) = load_dataset(&server, import).await {
        // As Redis, a dataset that does not load stops the process: the clients connected
        // meanwhile are closed.
        stop_admin(admin).await;
        drop(done_tx);
        let _ = done_rx.recv().await;
        return Err(err);
    }
    server.loaded.store(true, Ordering::Release);
    let cron = tokio::spawn(cron::cron(server.clone()));
    let sweeper = tokio::spawn(cron::sweeper(server.clone()));
    let probe = tokio::spawn(cluster_probe::probe(server.clone()));
    let replica = tokio::spawn(cluster_replica::follow(server.clone()));
    let refetch = tokio::spawn(cluster_replica::refetch(server.clone()));
    let publisher = tokio::spawn(coherence::publisher(server.clone()));
    let links = tokio::spawn(coherence::link::supervise(server.clone()));
    let warm = tokio::spawn(warm::supervise(server.clone()));
    let compressor = cron::start_compressor(server.clone());
    // systemd's Type=notify: the snapshot is loaded and the listeners are up. Without
    // NOTIFY_SOCKET this does nothing.
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let signalled = tokio::select! {
        _ = shutdown => true,
        _ = async { let _ = shutdown_rx.wait_for(|stopping| *stopping).await; } => false,
    };
    if signalled {
        // SHUTDOWN saved in its handler; a signal saves here, as Redis's default
        // `shutdown-on-sigterm`. A failed save is logged and the daemon stops all the same.
        let saver = server.clone();
        let saved = tokio::task::spawn_blocking(move || {
            persistence::save_for_shutdown(&saver, false, false)
        })
        .await;
        if !matches!(saved, Ok(Ok(()))) {
            tracing::error!("Error trying to save the DB, stopping without the final snapshot");
        }
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    server.shutdown();
    drop(done_tx);
    let _ = done_rx.recv().await;
    cron.abort();
    sweeper.abort();
    probe.abort();
    replica.abort();
    refetch.abort();
    publisher.abort();
    let _ = links.await;
    let _ = warm.await;
    // Awaited, not only aborted: after this nothing changes the keyspace or publishes, which is
    // what the final step's run marker must be able to say.
    let _ = cron.await;
    let _ = sweeper.await;
    let _ = publisher.await;
    server.keyspace.compressor.stop();
    if let Some(compressor) = compressor {
        let _ = tokio::task::spawn_blocking(move || compressor.join()).await;
    }
    let finishing = server.clone();
    let _ = tokio::task::spawn_blocking(move || persistence::finish_shutdown(&finishing)).await;
    if let Some(admin) = admin {
        let _ = admin.await;
    }
    tracing::info!("cachet is now ready to exit, bye bye...");
    Ok(())
}

/// The load at start, with `loading:1` until the caller sets `server.loaded`: the snapshot in
/// `dir`, then the `--import-rdb` file, then (cluster mode) the slot index of what they loaded.
async fn load_dataset(
    server: &Arc<Server>,
    import: Option<std::path::PathBuf>,
) -> Result<(), StartError> {
    persistence::begin_loading(server);
    {
        let server = server.clone();
        tokio::task::spawn_blocking(move || persistence::load_at_start(&server))
            .await
            .map_err(|e| StartError::Snapshot(e.to_string()))
            .and_then(|result| result.map_err(|refused| StartError::Snapshot(refused.0)))?;
    }
    if let Some(path) = import {
        let loading = server.clone();
        let result = tokio::task::spawn_blocking(move || {
            let outcome = import_rdb(&loading, &path);
            (path, outcome)
        })
        .await;
        match result {
            Ok((_, Ok(_))) => {}
            Ok((path, Err(e))) => return Err(StartError::ImportRdb(path, e)),
            Err(panicked) => std::panic::resume_unwind(panicked.into_panic()),
        }
    }
    if let Some(keys) = server.cluster.keys.clone() {
        // The loads above insert without notices: the slot index learns their keys in one walk.
        let loaded = server.clone();
        tokio::task::spawn_blocking(move || {
            keys.rebuild(&loaded.keyspace, crate::engine::now_ms())
        })
        .await
        .map_err(|e| StartError::Snapshot(e.to_string()))?;
    }
    Ok(())
}

/// Loads a Redis RDB file into an empty server, with the encodings its configuration asks for and
/// its memory limit enforced as keys arrive (`engine::dump::rdb_file`).
pub fn import_rdb(server: &Server, path: &std::path::Path) -> Result<LoadStats, RdbFileError> {
    let options = {
        let config = server.config.read();
        LoadOptions {
            limits: RestoreLimits {
                hash: HashLimits {
                    max_listpack_entries: config.hash_max_listpack_entries,
                    max_listpack_value: config.hash_max_listpack_value,
                },
                zset: ZSetLimits {
                    max_listpack_entries: config.zset_max_listpack_entries,
                    max_listpack_value: config.zset_max_listpack_value,
                },
                max_intset_entries: config.set_max_intset_entries,
            },
            now_ms: crate::engine::now_ms(),
        }
    };
    tracing::info!("Importing the RDB file {}", path.display());
    let started = std::time::Instant::now();
    let stats = rdb_file::load_file(path, &server.keyspace, options)?;
    stats.log(started.elapsed());
    Ok(stats)
}

/// An accept loop, with the socket it accepts on.
struct Accepting {
    tls: bool,
    addr: Option<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
}

/// CONFIG SET port / tls-port / bind: the port's accept loops stop (their connections stay) but
/// those on the addresses kept, and the new sockets' start.
async fn follow_ports(
    server: Arc<Server>,
    mut rebinds: mpsc::UnboundedReceiver<Rebind>,
    mut accepting: Vec<Accepting>,
    done: mpsc::Sender<()>,
) {
    let mut stopping = server.shutdown_receiver();
    loop {
        let rebind = tokio::select! {
            _ = stopping.wait_for(|stop| *stop) => return,
            rebind = rebinds.recv() => match rebind {
                Some(rebind) => rebind,
                None => return,
            },
        };
        accepting.retain(|loop_| {
            let stays = loop_.tls != rebind.tls
                || loop_.addr.is_some_and(|addr| rebind.keep.contains(&addr));
            if !stays {
                loop_.task.abort();
            }
            stays
        });
        for listener in rebind.listeners {
            let addr = listener.local_addr().ok();
            if let Some(addr) = addr {
                tracing::info!(%addr, tls = rebind.tls, "accepting connections on a new socket");
            }
            let task = tokio::spawn(accept_loop(
                server.clone(),
                listener,
                rebind.tls,
                done.clone(),
            ));
            accepting.push(Accepting {
                tls: rebind.tls,
                addr,
                task,
            });
        }
    }
}

async fn accept_loop(
    server: Arc<Server>,
    listener: TcpListener,
    tls: bool,
    done: mpsc::Sender<()>,
) {
    let mut stopping = server.shutdown_receiver();
    let stop = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => accept(&server, stream, addr, tls, done.clone()),
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

/// Redis 7's protected mode: while it is on and the default user needs no password, only
/// clients from the loopback address (exactly 127.0.0.1 or ::1, as Redis's `islocalClient`) are
/// served; the others get the DENIED error and are closed.
fn refused_by_protected_mode(server: &Server, peer: SocketAddr) -> bool {
    server.config.read().protected_mode
        && server.acl.default_user().nopass
        && !crate::state::config::ProtectedAction::Local.allows(peer)
}

/// A new connection: counted, socket options set, then (TLS) the handshake in a task of its
/// own, then `admit`.
fn accept(
    server: &Arc<Server>,
    stream: TcpStream,
    addr: SocketAddr,
    tls: bool,
    done: mpsc::Sender<()>,
) {
    server
        .stats
        .connections_received
        .fetch_add(1, Ordering::Relaxed);
    let laddr = stream.local_addr().unwrap_or(server.local_addr);
    let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let _ = stream.set_nodelay(true);
    let keepalive = server.config.read().tcp_keepalive;
    if keepalive > 0 {
        let interval = Duration::from_secs(keepalive);
        let options = socket2::TcpKeepalive::new()
            .with_time(interval)
            .with_interval(interval / 3);
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&options);
    }
    let peer = Peer { addr, laddr, fd };
    if !tls {
        admit(server, stream, peer, None, done);
        return;
    }
    // The context current now: a CONFIG SET that reloads the certificate reaches the next
    // handshakes, not this one.
    let Some(config) = server.tls.server_config() else {
        return;
    };
    let server = server.clone();
    tokio::spawn(async move {
        let mut stopping = server.shutdown_receiver();
        let handshake = tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            tokio_rustls::TlsAcceptor::from(config).accept(stream),
        );
        let stream = tokio::select! {
            _ = stopping.wait_for(|stop| *stop) => return,
            result = handshake => match result {
                Ok(Ok(stream)) => stream,
                // As Redis logs it at the verbose level.
                Ok(Err(err)) => {
                    tracing::info!(%addr, "Error accepting a client connection: {err}");
                    return;
                }
                Err(_) => {
                    tracing::info!(%addr, "Error accepting a client connection: TLS handshake timed out");
                    return;
                }
            },
        };
        let user = certificate_user(&server, stream.get_ref().1);
        admit(&server, stream, peer, user, done);
    });
}

/// Where a connection comes from, read before its socket is wrapped.
#[derive(Clone, Copy)]
struct Peer {
    addr: SocketAddr,
    laddr: SocketAddr,
    fd: std::os::fd::RawFd,
}

/// `tls-auth-clients-user CN`: the enabled ACL user the client certificate's Common Name names.
fn certificate_user(
    server: &Server,
    connection: &rustls::ServerConnection,
) -> Option<Arc<crate::state::acl::User>> {
    use crate::state::tls::config::ClientsUser;
    if server.config.read().tls.clients_user != ClientsUser::Cn {
        return None;
    }
    let certificate = connection.peer_certificates()?.first()?;
    let name = crate::state::tls::common_name(certificate)?;
    let user = server.acl.get(name.as_bytes())?;
    if !user.enabled {
        tracing::info!(user = %name, "TLS client certificate names a disabled user: not authenticated");
        return None;
    }
    Some(user)
}

/// Registers the client (within `maxclients`, past protected mode) and serves it in its task.
fn admit<S>(
    server: &Arc<Server>,
    mut stream: S,
    peer: Peer,
    user: Option<Arc<crate::state::acl::User>>,
    done: mpsc::Sender<()>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let max = server.config.read().maxclients;
    let server = server.clone();
    let Some(info) = server.clients.register(peer.addr, peer.laddr, max) else {
        server
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let mut reply = crate::protocol::ReplyBuf::new(crate::protocol::Protocol::Resp2);
        reply.error_bytes(&crate::error::CmdError::MaxClients.message_bytes());
        let reply = reply.to_vec();
        tokio::spawn(async move {
            let _ = stream.write_all(&reply).await;
            let _ = stream.shutdown().await;
            drop(done);
        });
        return;
    };
    // A client a certificate authenticated is not the password-less default user.
    if user.is_none() && refused_by_protected_mode(&server, peer.addr) {
        server
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let mut reply = crate::protocol::ReplyBuf::new(crate::protocol::Protocol::Resp2);
        reply.error_bytes(&crate::error::CmdError::ProtectedMode.message_bytes());
        let reply = reply.to_vec();
        tokio::spawn(async move {
            let _ = stream.write_all(&reply).await;
            let _ = stream.shutdown().await;
            server.clients.unregister(info.id);
            drop(done);
        });
        return;
    }
    info.details().fd = peer.fd;
    tokio::spawn(async move {
        connection::serve(&server, stream, info, user).await;
        drop(done);
    });
}
