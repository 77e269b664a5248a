//! The client ports' listening sockets and their change at run time. `CONFIG SET port` /
//! `tls-port` / `bind` binds the new sockets (one per `bind` address) before the change is
//! published, so a port or address that cannot be had refuses it with Redis's text and changes
//! nothing; the sockets then go to `net`, which stops accepting on the old ones and accepts on
//! these. A `bind` change keeps the sockets of the addresses that stay (binding them again would
//! find them taken). Connections already made stay, as in Redis (`changeListenPort`,
//! `changeBindAddr`).

use std::sync::Mutex;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::config::ConfigValues;
use crate::sync::LockExt;

/// CONFIG SET's reason when a port cannot be listened on, as Redis words it.
pub const UNABLE_TO_LISTEN: &str = "Unable to listen on this port. Check server logs.";
/// CONFIG SET's reason when a `bind` address cannot be listened on, as Redis words it.
pub const UNABLE_TO_BIND: &str = "Failed to bind to specified addresses.";

/// A listening socket on `addr` (`host:port`, brackets around an IPv6 host) whose kernel queue of
/// connections not yet accepted holds `backlog` (`tcp-backlog`), as Redis's `listen(fd, backlog)`:
/// tokio's own `bind` fixes it at 1024 whatever the configuration says. Inside a tokio runtime.
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

/// `host:port`, with brackets around an IPv6 host.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The addresses `values` binds (no address, a configuration built in code and not read: the
/// directive's default).
fn hosts(values: &ConfigValues) -> Vec<String> {
    match values.bind.is_empty() {
        true => vec!["127.0.0.1".to_string()],
        false => values.bind.clone(),
    }
}

/// The sockets of `port` on every bind address of `values` (none for port 0); all or none.
pub fn bind_port(values: &ConfigValues, port: u16, tls: bool) -> std::io::Result<Vec<TcpListener>> {
    bind_hosts(values, &hosts(values), port, tls)
}

/// A `bind` change from `old` to `new` on `port`: the sockets of the addresses only `new` has
/// (all or none), and the addresses both have, whose sockets stay.
pub fn rebind_hosts(
    old: &ConfigValues,
    new: &ConfigValues,
    port: u16,
    tls: bool,
) -> std::io::Result<Rebind> {
    use std::net::ToSocketAddrs;
    let resolve = |host: &String| -> Option<std::net::SocketAddr> {
        host_port(host, port).to_socket_addrs().ok()?.next()
    };
    let before: Vec<_> = hosts(old).iter().filter_map(resolve).collect();
    let (kept, added): (Vec<String>, Vec<String>) = hosts(new)
        .into_iter()
        .partition(|host| resolve(host).is_some_and(|addr| before.contains(&addr)));
    Ok(Rebind {
        tls,
        listeners: bind_hosts(new, &added, port, tls)?,
        keep: kept.iter().filter_map(resolve).collect(),
    })
}

fn bind_hosts(
    values: &ConfigValues,
    hosts: &[String],
    port: u16,
    tls: bool,
) -> std::io::Result<Vec<TcpListener>> {
    if port == 0 {
        return Ok(Vec::new());
    }
    hosts
        .iter()
        .map(|host| {
            let addr = host_port(host, port);
            listen(&addr, values.tcp_backlog).inspect_err(|e| {
                let kind = if tls { " (TLS)" } else { "" };
                tracing::warn!("Could not create server TCP listening socket {addr}{kind}: {e}");
            })
        })
        .collect()
}

/// New sockets for the plaintext (`tls: false`) or the TLS port, replacing that port's but those
/// on the addresses in `keep`.
pub struct Rebind {
    pub tls: bool,
    pub listeners: Vec<TcpListener>,
    pub keep: Vec<std::net::SocketAddr>,
}

/// The way from CONFIG SET to the accept loops.
#[derive(Default)]
pub struct Ports {
    sender: Mutex<Option<mpsc::UnboundedSender<Rebind>>>,
}

impl Ports {
    /// Called once by `net` when it starts accepting: the rebinds it follows from then on.
    pub fn follow(&self) -> mpsc::UnboundedReceiver<Rebind> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.sender.lock_or_recover() = Some(tx);
        rx
    }

    /// Hands new sockets to the accept loops (dropped, so closed, when nothing accepts).
    pub fn rebind(&self, rebind: Rebind) {
        if let Some(sender) = self.sender.lock_or_recover().as_ref() {
            let _ = sender.send(rebind);
        }
    }
}
