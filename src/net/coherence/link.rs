//! Links: how a daemon follows the others' invalidations. One task per link subscribes to
//! `__cachet__:invalidations` (on a peer, in a mesh, or on the bus) and applies what arrives,
//! reconnecting with backoff. The supervisor starts and stops links as the configuration changes.
//!
//! What a receiver trusts, per origin (node-id, run, last sequence applied), kept across the
//! reconnections of a link:
//! - A message that does not parse (or, with `coherence-secret`, is unsigned or badly signed) is
//!   dropped and counted, never a reason to drop data: nothing in it can be trusted, not even whose
//!   sequence it would break, and the next genuine message of its origin shows any gap.
//! - A message whose sequence follows is applied; one already applied is skipped (a replay
//!   overlapped the subscription, or the bus forwarder re-sent after a reconnection).
//! - Anything else (an origin not followed yet, another run, a gap) would change what the link
//!   trusts, so the origin is asked first (`CACHE.PEER POSITION`; mesh: the peer itself; bus: the
//!   address the origin announced). If it answers that it did not publish that message (another
//!   run, a last sequence lower than the message's, or, in a mesh, the peer is another node), the
//!   message is a forgery or an old run's message sent again: dropped and counted
//!   (`forged_messages`), nothing else changes. If it confirms, or cannot be asked, the next rules
//!   apply. (Without a secret, a forged message that claims exactly the next sequence of a known
//!   run is not checked: that check would cost a round trip per message. Its channel is the
//!   protection: in a mesh only the daemon publishes there; a bus needs the secret.)
//! - A gap, or the first message of an origin never seen that is not its run's first: the link asks
//!   the origin for what it missed (`CACHE.PEER REPLAY`) and applies it in order before the
//!   message.
//! - Whenever a subscription becomes active again, the link asks every origin it can find (mesh:
//!   the peer; bus: every daemon in the bus's directory) for its position and replays what it
//!   missed; an origin it never saw is replayed from the start of its run.
//!   A daemon that answers `-LOADING` has not taken up its run yet: the link subscribes again
//!   later rather than take it as gone.
//! - Local data is dropped, all of it (a FLUSHALL applied as remote, so not re-broadcast; counted in
//!   `recoveries`), when that cannot work: the first subscription of a link (whatever the daemon
//!   holds may predate it), an origin that restarted (another run, which the origin confirms, shows
//!   while denying a message, or cannot be asked about: what its last run did not publish before
//!   it stopped is unknowable), a replay that fails (the origin's backlog no longer holds the
//!   sequence, or it does not answer), an origin followed before that is no longer found. After a
//!   drop, positions taken before it are the new baseline.
//! - A restart is not a first subscription when the snapshot loaded at start recorded where each
//!   origin was followed to (`Coherence::resume_from`, saved in the snapshot's header): an origin
//!   still in that run is replayed from there, and data is dropped only when that fails.
//! - An origin that stopped cleanly and came back with its snapshot is still in its run
//!   (`persistence::finish_shutdown` leaves a run marker, `Coherence::resume_run` takes it up with
//!   its backlog): to its followers that is a reconnection, replayed like any other. After a crash
//!   it starts a new run, and they drop their data.

use crate::sync::LockExt;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::task::JoinHandle;

use super::bus;
use super::call::{self, encode_command, invalid, Dial};
use super::resp::Frame;
use crate::engine::hash_key;
use crate::engine::labels::LabelKind;
use crate::engine::notice::class;
use crate::engine::now_ms;
use crate::state::coherence::auth::Key;
use crate::state::coherence::links::{LinkState, CONNECTING, DOWN, UP};
use crate::state::coherence::wire::{self, Item, Message};
use crate::state::coherence::{as_remote, CHANNEL};
use crate::state::Server;

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Origins remembered per link (a bus carries many; a mesh link one): beyond, forget them all.
const MAX_ORIGINS: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Position {
    run: u64,
    seq: u64,
}

/// What a link knows of the origins it follows.
#[derive(Default)]
struct Origins {
    known: HashMap<Bytes, Position>,
    /// Where each origin answered last: a bus that restarted has lost its directory until the
    /// daemons announce themselves again, and the link can ask them meanwhile.
    addrs: HashMap<Bytes, String>,
    /// Whether an origin not in `known` is taken from its next message: true since local data
    /// was last dropped while subscribed (whatever it published before no longer matters), false
    /// after a catch-up that kept the data (it may have published while the link was down).
    take_unknown: bool,
}

impl Origins {
    /// Drops all local data (see the module's rules for when).
    fn drop_local_data(&mut self, server: &Server) {
        recover(server);
        self.take_unknown = true;
    }

    /// Drops all local data and what was known of every origin: each starts afresh.
    fn start_afresh(&mut self, server: &Server) {
        self.known.clear();
        self.drop_local_data(server);
    }
}

/// Keeps one link per wanted peer (or one to the bus, with the forwarder) while coherence is
/// on; stops them all at shutdown.
pub async fn supervise(server: Arc<Server>) {
    let mut desired = server.coherence.watch_settings();
    let mut stopping = server.shutdown_receiver();
    let mut running: Vec<(Arc<LinkState>, JoinHandle<()>)> = Vec::new();
    let mut forwarder: Option<((String, String), JoinHandle<()>)> = None;
    let mut transport = None;
    loop {
        let settings = desired.borrow_and_update().clone();
        let wanted = settings.wanted_links();
        // TLS switched on or off, or the bus's credentials changed: every link reconnects.
        let reconnect = transport
            .replace(settings.transport.clone())
            .is_some_and(|before| before != settings.transport);
        if reconnect {
            if let Some((_, task)) = forwarder.take() {
                task.abort();
            }
        }
        running.retain(|(link, task)| {
            let keep = !reconnect && wanted.contains(&(link.addr.clone(), link.bus));
            if !keep {
                task.abort();
            }
            keep
        });
        for (addr, is_bus) in wanted {
            if !running
                .iter()
                .any(|(l, _)| l.addr == addr && l.bus == is_bus)
            {
                let link = Arc::new(LinkState::new(addr, is_bus));
                let task = tokio::spawn(run_link(server.clone(), link.clone()));
                running.push((link, task));
            }
        }
        let bus_wanted = (settings.enabled && !settings.bus.is_empty())
            .then(|| (settings.bus.clone(), settings.announce.clone()));
        if forwarder.as_ref().map(|(target, _)| target) != bus_wanted.as_ref() {
            if let Some((_, task)) = forwarder.take() {
                task.abort();
            }
            forwarder = bus_wanted.map(|target| {
                let task = tokio::spawn(bus::forward(
                    server.clone(),
                    target.0.clone(),
                    target.1.clone(),
                ));
                (target, task)
            });
        }
        *server.coherence.links.lock_or_recover() =
            running.iter().map(|(link, _)| link.clone()).collect();
        tokio::select! {
            changed = desired.changed() => if changed.is_err() { break },
            _ = stopping.wait_for(|stop| *stop) => break,
        }
    }
    for (_, task) in running {
        task.abort();
    }
    if let Some(((bus, _), task)) = forwarder {
        task.abort();
        // A clean stop leaves the directory; a crash leaves an entry the links skip (the address
        // stops answering, or answers with another node id).
        let node = server.coherence.node_id.clone();
        let key = server.coherence.key();
        let hdel: [&[u8]; 3] = [b"HDEL", bus::NODES_KEY, &node];
        let _ = call::call(&bus, &Dial::bus(&server, key.as_ref()), &hdel).await;
    }
}

async fn run_link(server: Arc<Server>, link: Arc<LinkState>) {
    let mut origins = Origins::default();
    let mut backoff = MIN_BACKOFF;
    let mut warned = false;
    loop {
        link.state.store(CONNECTING, Ordering::Relaxed);
        let result = follow(&server, &link, &mut origins).await;
        if link.state.swap(DOWN, Ordering::Relaxed) == UP {
            link.losses.fetch_add(1, Ordering::Relaxed);
            server
                .coherence
                .stats
                .link_losses
                .fetch_add(1, Ordering::Relaxed);
            backoff = MIN_BACKOFF;
        }
        match result {
            // An answer, not a lost connection (NOAUTH, a secret that does not match): say so
            // once, it will not mend by itself.
            Err(err) if err.kind() == std::io::ErrorKind::InvalidData && !warned => {
                warned = true;
                tracing::warn!(peer = %link.addr, %err, "coherence link refused");
            }
            Err(err) => tracing::debug!(peer = %link.addr, %err, "coherence link down"),
            Ok(()) => {}
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: subscribes and applies messages until the connection fails.
async fn follow(server: &Server, link: &LinkState, origins: &mut Origins) -> std::io::Result<()> {
    let key = server.coherence.key();
    let dial = if link.bus {
        Dial::bus(server, key.as_ref())
    } else {
        Dial::peer(server, key.as_ref())
    };
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut stream = call::connect(&link.addr, &dial, &mut buf).await?;
    stream
        .write_all(&encode_command(&[b"SUBSCRIBE", CHANNEL]))
        .await?;
    loop {
        let parts = match call::read_frame(&mut stream, &mut buf).await? {
            Frame::Array(parts) => parts,
            // SUBSCRIBE refused (NOAUTH: the peer has requirepass and this daemon no secret).
            Frame::Error(text) => return Err(invalid(&String::from_utf8_lossy(&text))),
            _ => continue,
        };
        let bulk = |i: usize| match parts.get(i) {
            Some(Frame::Bulk(Some(bytes))) => Some(bytes.clone()),
            _ => None,
        };
        match bulk(0).as_deref() {
            Some(b"subscribe") => {
                // Messages published meanwhile wait in the socket, applied after the catch-up.
                catch_up(server, link, origins).await?;
                link.connects.fetch_add(1, Ordering::Relaxed);
                link.state.store(UP, Ordering::Relaxed);
            }
            Some(b"message") if bulk(1).as_deref() == Some(CHANNEL) => {
                if let Some(payload) = bulk(2) {
                    receive(server, link, origins, &payload).await;
                }
            }
            _ => {}
        }
    }
}

/// The position of the daemon at `addr`: (node-id, run, last sequence published). With a secret,
/// the daemon has proved it first (`call::Auth::Peer`).
async fn position(addr: &str, dial: &Dial<'_>) -> std::io::Result<(Bytes, Position)> {
    let args: [&[u8]; 2] = [b"CACHE.PEER", b"POSITION"];
    let parts = match call::call(addr, dial, &args).await? {
        Frame::Array(parts) => parts,
        Frame::Error(text) if text.starts_with(b"LOADING") => return Err(peer_loading()),
        _ => return Err(invalid("CACHE.PEER POSITION did not reply an array")),
    };
    let (mut node, mut run, mut seq) = (None, None, None);
    for pair in parts.chunks(2) {
        match pair {
            [Frame::Bulk(Some(name)), Frame::Bulk(Some(id))] if name[..] == b"node-id"[..] => {
                node = Some(id.clone())
            }
            [Frame::Bulk(Some(name)), Frame::Integer(n)] if name[..] == b"run"[..] => {
                run = u64::try_from(*n).ok()
            }
            [Frame::Bulk(Some(name)), Frame::Integer(n)] if name[..] == b"seq"[..] => {
                seq = u64::try_from(*n).ok()
            }
            _ => {}
        }
    }
    match (node, run, seq) {
        (Some(node), Some(run), Some(seq)) => Ok((node, Position { run, seq })),
        _ => Err(invalid("CACHE.PEER POSITION reply incomplete")),
    }
}

/// The daemons this link can ask for replays: (address, node-id, position); `None` when the
/// peer itself (mesh) or the bus's directory does not answer.
async fn directory(
    server: &Server,
    link: &LinkState,
    origins: &mut Origins,
) -> std::io::Result<Option<Vec<(String, Bytes, Position)>>> {
    let key = server.coherence.key();
    let addrs: Vec<String> = if link.bus {
        let Ok(nodes) = bus::nodes(&link.addr, &Dial::bus(server, key.as_ref())).await else {
            return Ok(None);
        };
        let mut addrs: Vec<String> = nodes
            .into_iter()
            .map(|(_, addr)| addr)
            .chain(origins.addrs.values().cloned())
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs
    } else {
        vec![link.addr.clone()]
    };
    let mut found: Vec<(String, Bytes, Position)> = Vec::new();
    for addr in addrs {
        match position(&addr, &Dial::peer(server, key.as_ref())).await {
            Ok((node, at)) => {
                if node != server.coherence.node_id && !found.iter().any(|(_, n, _)| *n == node) {
                    origins.addrs.insert(node.clone(), addr.clone());
                    found.push((addr, node, at));
                }
            }
            Err(err) if is_peer_loading(&err) => return Err(err),
            // A peer we are subscribed to must answer; a daemon announced on a bus but gone is
            // simply not found.
            Err(_) if !link.bus => return Ok(None),
            Err(_) => {}
        }
    }
    Ok(Some(found))
}

/// A daemon asked for its position while it loads its snapshot: the link subscribes again later
/// (its backoff) instead of taking the daemon as gone, which would drop the local data.
fn peer_loading() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ResourceBusy,
        "the peer is loading its dataset",
    )
}

fn is_peer_loading(err: &std::io::Error) -> bool {
    err.kind() == std::io::ErrorKind::ResourceBusy
}

/// Runs when the subscription becomes active: replays what each origin published while this
/// link was not subscribed, or drops local data when it cannot (see the module's rules).
async fn catch_up(server: &Server, link: &LinkState, origins: &mut Origins) -> std::io::Result<()> {
    let found = directory(server, link, origins).await?;
    let first = link.connects.load(Ordering::Relaxed) == 0;
    // A first subscription drops local data, unless the snapshot loaded at start says where each
    // origin found here was followed to, in the run it is still in: then it is a reconnection,
    // replayed from there.
    let mut resumed = false;
    for (_, node, at) in found.iter().flatten() {
        if let Some((run, seq)) = first.then(|| server.coherence.take_resumed(node)).flatten() {
            if run == at.run && seq <= at.seq {
                origins.known.insert(node.clone(), Position { run, seq });
                resumed = true;
            }
        }
    }
    let mut trusted = found.is_some() && (!first || resumed);
    let found = found.unwrap_or_default();
    trusted = trusted
        && origins.known.iter().all(|(node, known)| {
            found
                .iter()
                .any(|(_, n, at)| n == node && at.run == known.run)
        });
    if trusted {
        for (addr, node, at) in &found {
            let after = origins.known.get(node).map_or(0, |known| known.seq);
            if after < at.seq {
                if !replay(server, origins, addr, node, *at, after).await {
                    trusted = false;
                    break;
                }
                link.replays.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    if trusted {
        origins.take_unknown = false;
    } else {
        origins.start_afresh(server);
    }
    for (_, node, at) in found {
        let known = origins.known.entry(node.clone()).or_insert(at);
        known.seq = known.seq.max(at.seq);
        server
            .coherence
            .record_position(&node, known.run, known.seq);
    }
    Ok(())
}

/// Asks the daemon at `addr` for the messages of `node`'s run `run` after `after` (at least
/// through `through`, which the caller knows was published) and applies them in order; false when
/// that is impossible (the caller then drops local data).
async fn replay(
    server: &Server,
    origins: &mut Origins,
    addr: &str,
    node: &Bytes,
    at: Position,
    after: u64,
) -> bool {
    let Position { run, seq: through } = at;
    let (run_text, after_text) = (run.to_string(), after.to_string());
    let args: [&[u8]; 5] = [
        b"CACHE.PEER",
        b"REPLAY",
        node,
        run_text.as_bytes(),
        after_text.as_bytes(),
    ];
    let key = server.coherence.key();
    let dial = Dial::peer(server, key.as_ref());
    let Ok(Frame::Array(payloads)) = call::call(addr, &dial, &args).await else {
        return false;
    };
    let stats = &server.coherence.stats;
    let mut expected = after + 1;
    for payload in &payloads {
        let Frame::Bulk(Some(payload)) = payload else {
            return false;
        };
        // The messages as they were published: signed, when there is a secret.
        match wire::decode(payload) {
            Some(message)
                if message.origin == *node
                    && message.run == run
                    && message.seq == expected
                    && key
                        .as_ref()
                        .is_none_or(|key| message.signed_by(key, payload)) =>
            {
                apply(server, &message);
                origins
                    .known
                    .insert(node.clone(), Position { run, seq: expected });
                expected += 1;
            }
            _ => return false,
        }
    }
    if expected <= through {
        return false;
    }
    stats.replays.fetch_add(1, Ordering::Relaxed);
    stats
        .replayed_messages
        .fetch_add(payloads.len() as u64, Ordering::Relaxed);
    true
}

/// What the origin of a message says of it, asked before the message may change what a link
/// trusts (an origin not followed yet, another run, a gap).
enum Verdict {
    /// It answered (at this address) and has published the message's run at least through its
    /// sequence: the message may be what it claims.
    Confirms(String),
    /// It answered and has not published such a message (another run, or not that far yet), or,
    /// in a mesh, the peer is another node: a forgery, or an old run's message sent again. With
    /// where the origin stands, when it was the one answering.
    Denies(Option<Position>),
    /// It cannot be asked (not announced, not answering, another node at its bus address): the
    /// message is taken at its word, as the rules say (with where to ask for a replay, if known).
    Silent(Option<String>),
}

async fn ask_origin(
    server: &Server,
    link: &LinkState,
    origins: &mut Origins,
    message: &Message,
    key: Option<&Key>,
) -> Verdict {
    let addr = if link.bus {
        match bus::node_addr(&link.addr, &Dial::bus(server, key), &message.origin).await {
            Ok(addr) => Some(addr),
            Err(_) => origins.addrs.get(&message.origin).cloned(),
        }
    } else {
        Some(link.addr.clone())
    };
    let Some(addr) = addr else {
        return Verdict::Silent(None);
    };
    match position(&addr, &Dial::peer(server, key)).await {
        Ok((node, at)) if node == message.origin => {
            if at.run == message.run && at.seq >= message.seq {
                origins.addrs.insert(node, addr.clone());
                Verdict::Confirms(addr)
            } else {
                Verdict::Denies(Some(at))
            }
        }
        // A peer publishes only its own messages on its channel.
        Ok(_) if !link.bus => Verdict::Denies(None),
        _ => Verdict::Silent(Some(addr)),
    }
}

/// Handles one message, then counts it: a message counted in `messages_received` has had all its
/// effects (what tests and settling fleets wait for).
async fn receive(server: &Server, link: &LinkState, origins: &mut Origins, payload: &Bytes) {
    handle(server, link, origins, payload).await;
    let stats = &server.coherence.stats;
    stats.messages_received.fetch_add(1, Ordering::Relaxed);
    link.messages.fetch_add(1, Ordering::Relaxed);
}

async fn handle(server: &Server, link: &LinkState, origins: &mut Origins, payload: &Bytes) {
    let coherence = &server.coherence;
    let stats = &coherence.stats;
    // Neither is a reason to drop anything: the next genuine message of its origin shows any gap.
    let Some(message) = wire::decode(payload) else {
        stats.malformed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let key = coherence.key();
    if let Some(key) = &key {
        if !message.signed_by(key, payload) {
            if stats.unauthenticated.fetch_add(1, Ordering::Relaxed) == 0 {
                tracing::warn!(
                    link = %link.addr,
                    "dropped an invalidation message not signed with this daemon's coherence-secret"
                );
            }
            return;
        }
    }
    if message.origin == coherence.node_id {
        // Our own message back from a bus; another run means another daemon uses our node id,
        // and each would ignore the other's invalidations.
        if message.run != coherence.run()
            && stats.node_id_conflicts.fetch_add(1, Ordering::Relaxed) == 0
        {
            tracing::warn!(
                node_id = %String::from_utf8_lossy(&coherence.node_id),
                "another daemon publishes with this daemon's node-id: set a distinct node-id on each"
            );
        }
        return;
    }
    if origins.known.len() >= MAX_ORIGINS && !origins.known.contains_key(&message.origin) {
        origins.start_afresh(server);
    }
    let known = origins.known.get(&message.origin).copied();
    match known {
        Some(at) if at.run == message.run && message.seq <= at.seq => return,
        Some(at) if at.run == message.run && message.seq == at.seq + 1 => {}
        _ => {
            let addr = match ask_origin(server, link, origins, &message, key.as_ref()).await {
                Verdict::Denies(origin_at) => {
                    if stats.forged.fetch_add(1, Ordering::Relaxed) == 0 {
                        tracing::warn!(
                            link = %link.addr,
                            origin = %String::from_utf8_lossy(&message.origin),
                            "dropped an invalidation message its origin did not publish (forged, or an old run's sent again)"
                        );
                    }
                    // Whatever the message was, the origin answered from another run than the
                    // one followed here: it restarted (the restart rule), as its next message
                    // would show, if it ever sends one.
                    if let (Some(known), Some(at)) = (known, origin_at) {
                        if known.run != at.run {
                            stats.origin_restarts.fetch_add(1, Ordering::Relaxed);
                            origins.drop_local_data(server);
                            origins.known.insert(message.origin.clone(), at);
                        }
                    }
                    return;
                }
                Verdict::Confirms(addr) => Some(addr),
                Verdict::Silent(addr) => addr,
            };
            match known {
                None if message.seq == 1 || origins.take_unknown => {}
                Some(at) if at.run != message.run => {
                    stats.origin_restarts.fetch_add(1, Ordering::Relaxed);
                    origins.drop_local_data(server);
                }
                _ => {
                    if known.is_some() {
                        stats.gaps.fetch_add(1, Ordering::Relaxed);
                        link.gaps.fetch_add(1, Ordering::Relaxed);
                    }
                    let after = known.map_or(0, |at| at.seq);
                    let replayed = match addr {
                        Some(addr) => {
                            let through = Position {
                                run: message.run,
                                seq: message.seq.saturating_sub(1),
                            };
                            replay(server, origins, &addr, &message.origin, through, after).await
                        }
                        None => false,
                    };
                    if replayed {
                        link.replays.fetch_add(1, Ordering::Relaxed);
                    } else {
                        origins.drop_local_data(server);
                    }
                }
            }
        }
    }
    link.lag_ms
        .store(now_ms().saturating_sub(message.time_ms), Ordering::Relaxed);
    let done = origins
        .known
        .get(&message.origin)
        .is_some_and(|at| at.run == message.run && at.seq >= message.seq);
    if !done {
        apply(server, &message);
        origins.known.insert(
            message.origin.clone(),
            Position {
                run: message.run,
                seq: message.seq,
            },
        );
        // After the apply: a snapshot taken in between holds the change and an older position
        // (replayed again after a restart, harmless), never the reverse.
        server
            .coherence
            .record_position(&message.origin, message.run, message.seq);
    }
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

/// Drops `db` (all databases when `None`) as FLUSHALL ASYNC would, without publishing it.
fn flush(server: &Server, db: Option<usize>) {
    server.warm.dropping_data();
    let _shared = server.exec_gate.shared();
    as_remote(|| server.flush_databases(db, true));
}

/// Applies a message's items in order. A run of keys (what a write load publishes: hundreds per
/// message) is applied under one exec gate and one clock reading (`remove_keys`): per key, they
/// cost the peer more than the removal itself.
fn apply(server: &Server, message: &Message) {
    // Before anything is removed: a warm-up's copy asked for meanwhile must not land after.
    server.warm.invalidating(&message.items);
    let keyspace = &server.keyspace;
    let databases = keyspace.databases();
    let mut keys: Vec<(usize, &Bytes)> = Vec::new();
    for item in &message.items {
        if let Item::Key { db, key } = item {
            if *db < databases {
                keys.push((*db, key));
            }
            continue;
        }
        remove_keys(server, &mut keys);
        match item {
            Item::FlushAll => flush(server, None),
            Item::FlushDb { db } if *db < databases => flush(server, Some(*db)),
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
    remove_keys(server, &mut keys);
    {
        let _shared = server.exec_gate.shared();
        as_remote(|| keyspace.invalidate_dependents());
    }
    server
        .coherence
        .stats
        .items_applied
        .fetch_add(message.items.len() as u64, Ordering::Relaxed);
    server.warm.invalidated(&message.items);
}

/// Removes `keys` (taken: the list is left empty) in their order, which B's tracking clients see
/// as A's: consecutive keys of one shard share one lock. A key not held here still changed on its
/// origin: the keys that depend on it go too.
fn remove_keys(server: &Server, keys: &mut Vec<(usize, &Bytes)>) {
    if keys.is_empty() {
        return;
    }
    let keyspace = &server.keyspace;
    let by_shard: Vec<(usize, usize, u64, &Bytes)> = keys
        .drain(..)
        .map(|(db, key)| {
            let hash = hash_key(key);
            (keyspace.shard_of_hash(hash), db, hash, key)
        })
        .collect();
    let now = now_ms();
    let mut absent = Vec::new();
    let _shared = server.exec_gate.shared();
    as_remote(|| {
        for group in by_shard.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            let (index, db) = (group[0].0, group[0].1);
            let mut shard = keyspace.lock_shard(index);
            let mut view = keyspace.view(&mut shard, db, now);
            for &(_, _, hash, key) in group {
                if view.remove(hash, key).is_some() {
                    view.notify(key, class::GENERIC, "del");
                } else {
                    absent.push((db, key));
                }
            }
        }
        for (db, key) in absent {
            keyspace.notices.dependencies.key_changed(db, key);
        }
    });
}
