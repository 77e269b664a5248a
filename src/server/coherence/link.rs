//! Links to peers: one task per configured peer connects over plain RESP, subscribes to the
//! peer's `__cachet__:invalidations` and applies what arrives, reconnecting with backoff. The
//! supervisor starts and stops links as `peer` and `coherence` change.
//!
//! Trust: a link that is not subscribed misses messages, so each time its subscription becomes
//! active, and each time the sequence of an origin does not follow (a gap, or a restart: not
//! increasing) or a message does not parse, the local data is dropped (a FLUSHALL applied as
//! remote, so not re-broadcast) and counted in `recoveries`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::resp::{self, Frame};
use super::wire::{self, Item, Message};
use super::{as_remote, CHANNEL};
use crate::engine::labels::LabelKind;
use crate::engine::notice::class;
use crate::engine::now_ms;
use crate::server::Server;

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Origins remembered per link (a bus carries many; a mesh link one): beyond, forget them all.
const MAX_ORIGINS: usize = 1024;

pub const CONNECTING: u8 = 0;
pub const UP: u8 = 1;
pub const DOWN: u8 = 2;

pub struct LinkState {
    pub addr: String,
    pub state: AtomicU8,
    pub messages: AtomicU64,
    pub connects: AtomicU64,
    /// Last sequence seen per origin since the subscription became active.
    origins: Mutex<HashMap<Bytes, u64>>,
}

impl LinkState {
    fn new(addr: String) -> Self {
        LinkState {
            addr,
            state: AtomicU8::new(CONNECTING),
            messages: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            origins: Mutex::default(),
        }
    }

    pub fn state_name(&self) -> &'static str {
        match self.state.load(Ordering::Relaxed) {
            UP => "up",
            DOWN => "down",
            _ => "connecting",
        }
    }
}

/// Keeps one link per wanted peer while coherence is on; stops them all at shutdown.
pub async fn supervise(server: Arc<Server>) {
    let mut desired = server.coherence.desired.subscribe();
    let mut stopping = server.shutdown_receiver();
    let mut running: Vec<(Arc<LinkState>, JoinHandle<()>)> = Vec::new();
    loop {
        let (enabled, peers) = desired.borrow_and_update().clone();
        let wanted: Vec<String> = if enabled { peers } else { Vec::new() };
        running.retain(|(link, task)| {
            let keep = wanted.contains(&link.addr);
            if !keep {
                task.abort();
            }
            keep
        });
        for addr in wanted {
            if !running.iter().any(|(link, _)| link.addr == addr) {
                let link = Arc::new(LinkState::new(addr));
                let task = tokio::spawn(run_link(server.clone(), link.clone()));
                running.push((link, task));
            }
        }
        if let Ok(mut links) = server.coherence.links.lock() {
            *links = running.iter().map(|(link, _)| link.clone()).collect();
        }
        tokio::select! {
            changed = desired.changed() => if changed.is_err() { break },
            _ = stopping.wait_for(|stop| *stop) => break,
        }
    }
    for (_, task) in running {
        task.abort();
    }
}

async fn run_link(server: Arc<Server>, link: Arc<LinkState>) {
    let mut backoff = MIN_BACKOFF;
    loop {
        link.state.store(CONNECTING, Ordering::Relaxed);
        let result = follow(&server, &link).await;
        if link.state.swap(DOWN, Ordering::Relaxed) == UP {
            server
                .coherence
                .stats
                .link_losses
                .fetch_add(1, Ordering::Relaxed);
            backoff = MIN_BACKOFF;
        }
        if let Err(err) = result {
            tracing::debug!(peer = %link.addr, %err, "coherence link down");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn io_error(text: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, text.to_string())
}

/// One connection: subscribes and applies messages until the connection fails.
async fn follow(server: &Server, link: &LinkState) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(&link.addr).await?;
    let _ = stream.set_nodelay(true);
    let mut command = format!("*2\r\n$9\r\nSUBSCRIBE\r\n${}\r\n", CHANNEL.len()).into_bytes();
    command.extend_from_slice(CHANNEL);
    command.extend_from_slice(b"\r\n");
    stream.write_all(&command).await?;
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        while let Some(frame) = resp::parse(&mut buf).map_err(|_| io_error("bad RESP"))? {
            handle_frame(server, link, frame)?;
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(io_error("closed by peer"));
        }
    }
}

fn handle_frame(server: &Server, link: &LinkState, frame: Frame) -> std::io::Result<()> {
    let Frame::Array(parts) = frame else {
        if let Frame::Error(text) = frame {
            return Err(io_error(&String::from_utf8_lossy(&text)));
        }
        return Ok(());
    };
    let bulk = |i: usize| match parts.get(i) {
        Some(Frame::Bulk(Some(bytes))) => Some(bytes.clone()),
        _ => None,
    };
    match bulk(0).as_deref() {
        Some(b"subscribe") => {
            if let Ok(mut origins) = link.origins.lock() {
                origins.clear();
            }
            link.connects.fetch_add(1, Ordering::Relaxed);
            recover(server);
            link.state.store(UP, Ordering::Relaxed);
        }
        Some(b"message") if bulk(1).as_deref() == Some(CHANNEL) => {
            if let Some(payload) = bulk(2) {
                receive(server, link, &payload);
            }
        }
        _ => {}
    }
    Ok(())
}

fn receive(server: &Server, link: &LinkState, payload: &[u8]) {
    let coherence = &server.coherence;
    let stats = &coherence.stats;
    stats.messages_received.fetch_add(1, Ordering::Relaxed);
    link.messages.fetch_add(1, Ordering::Relaxed);
    let Some(message) = wire::decode(payload) else {
        stats.malformed.fetch_add(1, Ordering::Relaxed);
        // Whose sequence it broke is unknown: after the flush, every origin starts afresh.
        if let Ok(mut origins) = link.origins.lock() {
            origins.clear();
        }
        recover(server);
        return;
    };
    if message.origin == coherence.node_id {
        return;
    }
    let previous = link.origins.lock().ok().and_then(|mut origins| {
        if origins.len() >= MAX_ORIGINS && !origins.contains_key(&message.origin) {
            origins.clear();
        }
        origins.insert(message.origin.clone(), message.seq)
    });
    match previous {
        Some(last) if message.seq == last.wrapping_add(1) => {}
        Some(last) => {
            let counter = if message.seq <= last {
                &stats.origin_restarts
            } else {
                &stats.gaps
            };
            counter.fetch_add(1, Ordering::Relaxed);
            recover(server);
        }
        None => {}
    }
    apply(server, &message);
}

/// Drops everything this daemon can no longer trust: all of its data.
fn recover(server: &Server) {
    server
        .coherence
        .stats
        .recoveries
        .fetch_add(1, Ordering::Relaxed);
    flush(server, None);
}

fn flush(server: &Server, db: Option<usize>) {
    let tables = {
        let _shared = server.exec_gate.shared();
        let tables = as_remote(|| server.keyspace.take_tables(db));
        crate::commands::multi::touch_flushed(server, db, &tables);
        tables
    };
    if tables.iter().any(|t| !t.map.is_empty()) {
        // Freeing millions of entries takes a while and needs no lock.
        let spawned = std::thread::Builder::new()
            .name("cachet-lazyfree".into())
            .spawn(move || drop(tables));
        if let Err(err) = spawned {
            tracing::warn!(%err, "could not start a thread to free flushed keys");
        }
    }
}

fn apply(server: &Server, message: &Message) {
    let keyspace = &server.keyspace;
    let databases = keyspace.databases();
    for item in &message.items {
        match item {
            Item::FlushAll => flush(server, None),
            Item::FlushDb { db } if *db < databases => flush(server, Some(*db)),
            Item::Key { db, key } if *db < databases => {
                let _shared = server.exec_gate.shared();
                as_remote(|| {
                    keyspace.with_key(*db, key, now_ms(), |view, hash| {
                        if view.remove(hash, key).is_some() {
                            view.notify(key, class::GENERIC, "del");
                        }
                    })
                });
            }
            Item::Tag { db, name } if *db < databases => {
                let _shared = server.exec_gate.shared();
                as_remote(|| keyspace.invalidate_labels(*db, LabelKind::Tag, &[name]));
            }
            Item::Pattern { db, pattern } if *db < databases => {
                let _shared = server.exec_gate.shared();
                as_remote(|| keyspace.invalidate_pattern(*db, pattern));
            }
            _ => {}
        }
    }
    {
        let _shared = server.exec_gate.shared();
        as_remote(|| keyspace.invalidate_dependents());
    }
    server
        .coherence
        .stats
        .items_applied
        .fetch_add(message.items.len() as u64, Ordering::Relaxed);
}
