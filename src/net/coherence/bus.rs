//! `coherence-bus redis://host:port`: a Redis-compatible server as the fleet's pub/sub broker, so
//! each daemon keeps two connections to the bus instead of a link to every other daemon.
//!
//! Sending: `forward` re-publishes this daemon's messages on the bus from the backlog, in order,
//! and after a lost connection resumes after the last one the bus acknowledged (the receivers skip
//! what they already applied); it also announces, in the hash `__cachet__:nodes` (node-id →
//! host:port), where this daemon answers replays. Receiving is an ordinary link subscribed to the
//! bus (`link`), which finds the origins to ask for replays in that hash.
//!
//! A bus other clients can reach is theirs to write on too (messages, the directory): only
//! `coherence-secret` makes what arrives there trustworthy. With a secret, every connection to the
//! bus first offers the handshake (`call::Auth::Bus`), which a cachet used as the bus needs before
//! it lets this daemon publish on `__cachet__:invalidations`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::call::{self, encode_command, invalid, Dial, Stream};
use super::resp::Frame;
use crate::state::coherence::CHANNEL;
use crate::state::Server;

/// The bus's directory of daemons: node-id → host:port for replays.
pub const NODES_KEY: &[u8] = b"__cachet__:nodes";
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Messages sent to the bus before waiting for their acknowledgements.
const MAX_IN_FLIGHT: usize = 256;

/// Keeps this daemon's messages flowing to the bus; runs until aborted.
pub async fn forward(server: Arc<Server>, bus: String, announce: String) {
    let mut acknowledged = 0;
    let mut backoff = MIN_BACKOFF;
    let mut warned = false;
    loop {
        match forward_on(&server, &bus, &announce, &mut acknowledged).await {
            Ok(()) => backoff = MIN_BACKOFF,
            // An answer, not a lost connection: the bus refuses this daemon (a cachet without
            // this daemon's secret, a password): say so once, it will not mend by itself.
            Err(err) if err.kind() == std::io::ErrorKind::InvalidData && !warned => {
                warned = true;
                tracing::warn!(%bus, %err, "the coherence bus refuses this daemon's messages");
            }
            Err(err) => tracing::debug!(%bus, %err, "coherence bus connection lost"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn expect_reply(stream: &mut Stream, buf: &mut BytesMut) -> std::io::Result<Frame> {
    match call::read_frame(stream, buf).await? {
        Frame::Error(text) => Err(invalid(&String::from_utf8_lossy(&text))),
        frame => Ok(frame),
    }
}

async fn forward_on(
    server: &Server,
    bus: &str,
    announce: &str,
    acknowledged: &mut u64,
) -> std::io::Result<()> {
    let coherence = &server.coherence;
    let mut buf = BytesMut::with_capacity(4096);
    let key = coherence.key();
    let mut stream = call::connect(bus, &Dial::bus(server, key.as_ref()), &mut buf).await?;
    stream
        .write_all(&encode_command(&[
            b"HSET",
            NODES_KEY,
            &coherence.node_id,
            announce.as_bytes(),
        ]))
        .await?;
    expect_reply(&mut stream, &mut buf).await?;
    loop {
        let batch: Vec<(u64, Bytes)> = {
            let backlog = coherence.lock_backlog();
            // What was trimmed before the bus took it is lost: the receivers see the gap.
            let after = (*acknowledged).max(backlog.first_seq().saturating_sub(1));
            backlog
                .since(after)
                .unwrap_or_default()
                .into_iter()
                .take(MAX_IN_FLIGHT)
                .collect()
        };
        let Some(&(last, _)) = batch.last() else {
            // Idle: notice a lost bus now, not at the next message, to announce again soon.
            tokio::select! {
                _ = coherence.published.notified() => {}
                read = stream.read_buf(&mut buf) => if read? == 0 {
                    return Err(invalid("closed by the bus"));
                },
            }
            continue;
        };
        let mut out = Vec::new();
        for (_, payload) in &batch {
            out.extend_from_slice(&encode_command(&[b"PUBLISH", CHANNEL, payload]));
        }
        stream.write_all(&out).await?;
        for _ in &batch {
            expect_reply(&mut stream, &mut buf).await?;
        }
        *acknowledged = last;
        coherence
            .stats
            .bus_publishes
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
    }
}

/// The bus's directory: (node-id, host:port) of every daemon announced there.
pub async fn nodes(bus: &str, dial: &Dial<'_>) -> std::io::Result<Vec<(Bytes, String)>> {
    let Frame::Array(parts) = call::call(bus, dial, &[b"HGETALL", NODES_KEY]).await? else {
        return Err(invalid("HGETALL did not reply an array"));
    };
    let mut nodes = Vec::new();
    for pair in parts.chunks(2) {
        if let [Frame::Bulk(Some(node)), Frame::Bulk(Some(addr))] = pair {
            nodes.push((node.clone(), String::from_utf8_lossy(addr).into_owned()));
        }
    }
    Ok(nodes)
}

/// Where the daemon `node` answers replays, from the bus's directory.
pub async fn node_addr(bus: &str, dial: &Dial<'_>, node: &[u8]) -> std::io::Result<String> {
    match call::call(bus, dial, &[b"HGET", NODES_KEY, node]).await? {
        Frame::Bulk(Some(addr)) => Ok(String::from_utf8_lossy(&addr).into_owned()),
        _ => Err(invalid("node not announced on the bus")),
    }
}
