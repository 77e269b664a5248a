//! A cluster replica kept warm and coherent without replication proper. Every tenth of a second,
//! in `cluster-enabled yes`, this task hands the coherence links what the topology asks
//! (`Server::coherence_settings`: a replica follows its master's invalidations as a peer's, a
//! master with replicas publishes its own), then, on a replica whose link to its master is up,
//! fills the replica from the master: every key with its metadata and TTL, as CACHE.WARM copies
//! them (`net::warm`, SCAN then CACHE.EXPORTKEY, a key stored only if absent). The fill starts
//! only once the link is up, since a link's first subscription drops local data, and again after
//! each time coherence drops it (the master's FLUSHALL, a link that could not catch up).
//!
//! What the replica serves is never older than what the master has invalidated and published:
//! a write on the master reaches the replica as an invalidation, which removes the key here. The
//! stream carries no values, so `refetch` then asks the master for each key its stream named
//! (queued once after the removal, `state::warm::Warm::invalidated`, in batches of CACHE.EXPORTKEY
//! on one kept connection): a READONLY client misses the key only until the copy lands. A copy
//! asked for before an invalidation of its key arrived is not stored (`state::warm`'s guard, one
//! record for the fill and one for refetches), and the key is queued again by that invalidation.
//! Not refetched: keys named by a tag, a pattern or a flush (not known here; they come back with
//! the next fill or write), keys past `REFETCH_QUEUE`, and a batch whose connection failed.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::coherence::resp::Frame;
use super::portable::{encode, Conn, Target};
use super::warm::store_copy;
use crate::engine::now_ms;
use crate::state::cluster::Mode;
use crate::state::coherence::links::UP;
use crate::state::persistence::load_limits;
use crate::state::warm::{Batch, WarmRequest};
use crate::state::Server;
use crate::sync::LockExt;

const PERIOD: Duration = Duration::from_millis(100);
/// Keys asked of the master per round trip, and round trips per wake-up (the task then yields to
/// its shutdown check; the wake-up left by the queue brings it back).
const REFETCH_BATCH: usize = 64;
const REFETCH_ROUNDS: usize = 64;
/// Connect, read and write timeout towards the master.
const TIMEOUT: Duration = Duration::from_secs(5);

/// `host:port` as host and port.
fn split(addr: &str) -> Option<(String, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?))
}

/// The login towards the master (`masteruser`/`masterauth`).
fn login(server: &Server) -> (Option<String>, Option<String>) {
    let config = server.config.read();
    let login = |s: &str| (!s.is_empty()).then(|| s.to_string());
    (login(&config.masteruser), login(&config.masterauth))
}

pub async fn follow(server: Arc<Server>) {
    if server.cluster.mode != Mode::Yes {
        return;
    }
    let mut shutdown = server.shutdown_receiver();
    // The master filled from last, and the count of data drops then.
    let mut filled: Option<(String, u64)> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(PERIOD) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        // Also done by the commands that change the topology; here for the rest (a start, a
        // CONFIG SET of the coherence directives is done by apply_config too).
        server.follow_topology();
        let bus = server.config.read().coherence_bus.clone();
        let Some(master) = server.cluster.coherence_role().0 else {
            filled = None;
            server.warm.set_refetching(false);
            continue;
        };
        // With a bus, the master's invalidations come through it.
        let followed = if bus.is_empty() { &master } else { &bus };
        let up = server
            .coherence
            .links
            .lock_or_recover()
            .iter()
            .any(|link| &link.addr == followed && link.state.load(Ordering::Relaxed) == UP);
        server.warm.set_refetching(up);
        let drops = server.warm.drops();
        if filled.as_ref() == Some(&(master.clone(), drops)) {
            continue;
        }
        let Some((host, port)) = split(&master) else {
            continue;
        };
        if !up {
            continue;
        }
        let (user, password) = login(&server);
        let request = WarmRequest {
            host,
            port,
            db: 0,
            top: 0,
            all: true,
            pattern: None,
            user,
            password,
        };
        // One warm-up at a time: a CACHE.WARM running delays the fill to a later turn.
        if server.warm.start(request, now_ms()) {
            tracing::info!(%master, "replica filling from its master");
            filled = Some((master, drops));
        }
    }
}

/// Fetches again from the master the keys its stream invalidated here (`Warm::invalidated`).
pub async fn refetch(server: Arc<Server>) {
    if server.cluster.mode != Mode::Yes {
        return;
    }
    let mut shutdown = server.shutdown_receiver();
    // The connection to the master, kept between wake-ups while the master stays the same.
    let mut kept: Option<(String, Conn)> = None;
    loop {
        tokio::select! {
            _ = server.warm.refetch_wake.notified() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let worker = server.clone();
        let held = kept.take();
        kept = tokio::task::spawn_blocking(move || drain(&worker, held))
            .await
            .unwrap_or(None);
    }
}

/// Up to `REFETCH_ROUNDS` batches of the queue; the connection back if it is still good.
fn drain(server: &Server, held: Option<(String, Conn)>) -> Option<(String, Conn)> {
    let master = server.cluster.coherence_role().0?;
    let mut conn = match held {
        Some((addr, conn)) if addr == master => conn,
        _ => {
            let (host, port) = split(&master)?;
            let (user, password) = login(server);
            let target = Target {
                host,
                port,
                db: 0,
                user,
                password,
            };
            match Conn::open(&target, TIMEOUT) {
                Ok(conn) => conn,
                Err(why) => {
                    tracing::warn!(%master, "replica cannot refetch from its master: {why}");
                    // The taken keys stay misses; the queue is kept for the next wake-up.
                    return None;
                }
            }
        }
    };
    for _ in 0..REFETCH_ROUNDS {
        let keys = server.warm.take_refetch(REFETCH_BATCH);
        if keys.is_empty() {
            break;
        }
        let fetched = fetch(server, &mut conn, &keys);
        server.warm.close(Batch::Refetch);
        if let Err(why) = fetched {
            tracing::warn!(%master, "replica's refetch from its master failed: {why}");
            return None;
        }
    }
    if server.warm.refetch_figures().0 > 0 {
        // More than this turn took: come back after the shutdown check.
        server.warm.refetch_wake.notify_one();
    }
    Some((master, conn))
}

/// One batch: CACHE.EXPORTKEY of each key pipelined, each copy stored unless present or named
/// by an invalidation since the batch was asked for.
fn fetch(server: &Server, conn: &mut Conn, keys: &[(usize, Bytes)]) -> Result<(), String> {
    let mut out = Vec::new();
    for (_, key) in keys {
        encode(&[b"CACHE.EXPORTKEY", key], &mut out);
    }
    let limits = load_limits(server);
    server.warm.open_batch(Batch::Refetch);
    conn.send(&out)?;
    let mut stored = 0;
    for (db, key) in keys {
        // Nil: deleted at the master since; an error: that key is left a miss.
        if let Frame::Bulk(Some(line)) = conn.read()? {
            if *db == 0 && store_copy(server, Batch::Refetch, *db, key, &line, limits) == Ok(true) {
                stored += 1;
            }
        }
    }
    server.warm.refetch_stored(stored);
    Ok(())
}
