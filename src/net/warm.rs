//! The CACHE.WARM task: waits for a request (`state::warm`), then on a blocking thread asks the
//! source for its hottest keys (CACHE.TOPKEYS; a cluster replica's fill: every key, SCAN;
//! filtered by MATCH here), their lines
//! (CACHE.EXPORTKEY, a peek that leaves the source's access statistics alone, `BATCH` pipelined
//! at a time) and stores each one absent here (`Keyspace::store_imported` without replace, one
//! shard-locked step: a key written locally meanwhile wins). The copies are not published to the
//! coherence peers: they are the source's values, and an invalidation would evict the very keys
//! copied from the source; a copy a peer's invalidation may have overtaken is dropped
//! (`state::warm`'s guard). `maxmemory` holds: the policy evicts to make room, and under
//! `noeviction` the keys past the limit are skipped. Expiry times are absolute (the two hosts'
//! clocks are assumed to agree, as coherence assumes).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::coherence::resp::Frame;
use super::portable::{encode, Conn, Target};
use crate::engine::export::{import_line, Stored};
use crate::engine::glob::glob_match;
use crate::engine::snapshot::LoadLimits;
use crate::state::coherence::as_remote;
use crate::state::persistence::load_limits;
use crate::state::warm::{Batch, WarmRequest, WarmState};
use crate::state::Server;

/// Keys asked for per round trip.
const BATCH: usize = 64;
/// Connect, read and write timeout towards the source.
const TIMEOUT: Duration = Duration::from_secs(5);

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub async fn supervise(server: Arc<Server>) {
    let mut stopping = server.shutdown_receiver();
    loop {
        tokio::select! {
            _ = server.warm.wake.notified() => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
        let Some(request) = server.warm.take_request() else {
            continue;
        };
        let worker = server.clone();
        let job = tokio::task::spawn_blocking(move || run(&worker, request));
        tokio::select! {
            _ = job => {}
            _ = stopping.wait_for(|stop| *stop) => {
                server.warm.abort();
                return;
            }
        }
    }
}

fn run(server: &Server, request: WarmRequest) {
    let source = format!("{}:{}", request.host, request.port);
    tracing::info!(%source, top = request.top, "warm-up started");
    let result = pull(server, &request);
    server.warm.close(Batch::Warm);
    let aborted = server.warm.aborted();
    server.warm.update(|status| {
        status.finished_ms = unix_ms();
        status.state = match &result {
            Err(why) => {
                status.last_error = why.clone();
                WarmState::Failed
            }
            Ok(()) if aborted => WarmState::Aborted,
            Ok(()) => WarmState::Done,
        };
        tracing::info!(
            %source,
            state = status.state.name(),
            done = status.done,
            skipped = status.skipped,
            errors = status.errors,
            "warm-up ended"
        );
    });
}

/// The source's hottest keys (CACHE.TOPKEYS).
fn top_keys(conn: &mut Conn, top: usize) -> Result<Vec<Bytes>, String> {
    let top = top.to_string();
    match conn.call(&[b"CACHE.TOPKEYS", top.as_bytes()])? {
        Frame::Array(rows) => Ok(rows
            .into_iter()
            .filter_map(|row| match row {
                Frame::Array(mut pair) if pair.len() == 2 => match pair.swap_remove(0) {
                    Frame::Bulk(Some(key)) => Some(key),
                    _ => None,
                },
                _ => None,
            })
            .collect()),
        Frame::Error(why) => Err(format!("CACHE.TOPKEYS: {}", String::from_utf8_lossy(&why))),
        _ => Err("CACHE.TOPKEYS: an unexpected reply".into()),
    }
}

/// Every key of the source's database (SCAN to the end; a key added meanwhile may be missed, one
/// deleted may be listed and is then skipped).
fn every_key(server: &Server, conn: &mut Conn) -> Result<Vec<Bytes>, String> {
    let mut keys = Vec::new();
    let mut cursor = Bytes::from_static(b"0");
    loop {
        if server.warm.aborted() {
            return Ok(keys);
        }
        let page = conn.call(&[b"SCAN", &cursor[..], b"COUNT", b"1000"])?;
        let Frame::Array(mut parts) = page else {
            return Err(match page {
                Frame::Error(why) => format!("SCAN: {}", String::from_utf8_lossy(&why)),
                _ => "SCAN: an unexpected reply".into(),
            });
        };
        let (Some(Frame::Array(page)), Some(Frame::Bulk(Some(next)))) = (parts.pop(), parts.pop())
        else {
            return Err("SCAN: an unexpected reply".into());
        };
        keys.extend(page.into_iter().filter_map(|key| match key {
            Frame::Bulk(Some(key)) => Some(key),
            _ => None,
        }));
        if &next[..] == b"0" {
            return Ok(keys);
        }
        cursor = next;
    }
}

fn pull(server: &Server, request: &WarmRequest) -> Result<(), String> {
    let target = Target {
        host: request.host.clone(),
        port: request.port,
        db: request.db,
        user: request.user.clone(),
        password: request.password.clone(),
    };
    let mut conn = Conn::open(&target, TIMEOUT)?;
    let keys = if request.all {
        every_key(server, &mut conn)?
    } else {
        top_keys(&mut conn, request.top)?
    };
    let keys: Vec<Bytes> = keys
        .into_iter()
        .filter(|key| {
            request
                .pattern
                .as_ref()
                .is_none_or(|p| glob_match(p, key, false))
        })
        .collect();
    server
        .warm
        .update(|status| status.planned = keys.len() as u64);
    let limits = load_limits(server);
    for batch in keys.chunks(BATCH) {
        if server.warm.aborted() {
            return Ok(());
        }
        let mut out = Vec::new();
        for key in batch {
            encode(&[b"CACHE.EXPORTKEY", key], &mut out);
        }
        server.warm.open_batch(Batch::Warm);
        conn.send(&out)?;
        let (mut done, mut skipped, mut errors, mut last_error) = (0, 0, 0, None);
        for key in batch {
            let line = match conn.read()? {
                Frame::Bulk(Some(line)) => line,
                Frame::Error(why) => {
                    errors += 1;
                    last_error = Some(String::from_utf8_lossy(&why).into_owned());
                    continue;
                }
                // Gone at the source since it was ranked.
                _ => {
                    skipped += 1;
                    continue;
                }
            };
            match store_copy(server, Batch::Warm, request.db, key, &line, limits) {
                Ok(true) => done += 1,
                Ok(false) => skipped += 1,
                Err(why) => {
                    errors += 1;
                    last_error = Some(why);
                }
            }
        }
        server.warm.update(|status| {
            status.done += done;
            status.skipped += skipped;
            status.errors += errors;
            if let Some(why) = last_error {
                status.last_error = why;
            }
        });
    }
    Ok(())
}

/// Stores a copy (a CACHE.EXPORTKEY line) of `key` unless present here, as a command would (the
/// exec gate shared, room made under the policy first) and unless `batch`'s guard saw it
/// invalidated since the batch was asked for: `Ok(false)` when left alone.
pub(super) fn store_copy(
    server: &Server,
    batch: Batch,
    db: usize,
    key: &[u8],
    line: &[u8],
    limits: LoadLimits,
) -> Result<bool, String> {
    let now = unix_ms();
    let imported = import_line(line, limits, now)
        .map_err(|why| format!("{}: {why}", String::from_utf8_lossy(key)))?;
    let keyspace = &server.keyspace;
    let _shared = server.exec_gate.shared();
    if keyspace.over_limit() && keyspace.evict_to_limit(now).is_err() {
        return Ok(false);
    }
    let store = || as_remote(|| keyspace.store_imported(db, imported, false, now));
    // Invalidated by a peer since it was asked for (None): it may be the value replaced.
    Ok(matches!(
        server.warm.store_unless_invalidated(batch, db, key, store),
        Some(Stored::Created | Stored::Replaced)
    ))
}
