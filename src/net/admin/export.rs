//! `GET /v1/export`: every key of a database (`?db=`, default 0; `?pattern=` as SCAN's MATCH) as
//! JSON lines, streamed: `{"key": ..., "type": ..., "pttl": ..., "dump_hex": ...}` per key, where
//! `dump_hex` is the key's DUMP payload (Redis 7.0's serialization, which RESTORE takes back, in
//! cachet or in Redis). One SCAN batch is read per step, each command a short dispatch, and the
//! stream yields between batches: a large export never holds a shard for long.
//!
//! DUMP payloads rather than CACHE.EXPORT's natural shapes (`engine::export`, what `cachet
//! export` writes): this endpoint feeds tools that speak RESTORE.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api::DbQuery;
use super::client::{bytes_json, hex, ApiClient};
use super::ApiError;
use crate::net::coherence::resp::Frame;
use crate::state::Server;

/// Keys asked of SCAN per step.
const BATCH: &str = "256";

struct Cursor {
    server: Arc<Server>,
    peer: SocketAddr,
    db: usize,
    pattern: Option<String>,
    cursor: Option<Vec<u8>>,
}

/// One SCAN step: its keys' lines, and the next cursor (none when the scan is over).
fn step(state: &Cursor) -> Result<(String, Option<Vec<u8>>), ApiError> {
    let Some(cursor) = &state.cursor else {
        return Ok((String::new(), None));
    };
    let mut client = ApiClient::new(&state.server, state.peer, state.db)?;
    let mut args: Vec<&[u8]> = vec![b"SCAN", cursor, b"COUNT", BATCH.as_bytes()];
    if let Some(pattern) = &state.pattern {
        args.extend([b"MATCH".as_slice(), pattern.as_bytes()]);
    }
    let Frame::Array(reply) = client.call(&args)? else {
        return Ok((String::new(), None));
    };
    let next = match reply.first() {
        Some(Frame::Bulk(Some(next))) if &next[..] != b"0" => Some(next.to_vec()),
        _ => None,
    };
    let mut lines = String::new();
    if let Some(Frame::Array(keys)) = reply.get(1) {
        for key in keys {
            let Frame::Bulk(Some(key)) = key else {
                continue;
            };
            let dump = client.call(&[b"DUMP", key])?;
            // Deleted between SCAN and DUMP: nothing to export.
            let Frame::Bulk(Some(payload)) = dump else {
                continue;
            };
            let pttl = match client.call(&[b"PTTL", key])? {
                Frame::Integer(ms) => ms,
                _ => -1,
            };
            let kind = match client.call(&[b"TYPE", key])? {
                Frame::Simple(kind) => String::from_utf8_lossy(&kind).into_owned(),
                _ => String::new(),
            };
            let line = json!({
                "db": state.db,
                "key": bytes_json(key),
                "type": kind,
                "pttl": pttl,
                "dump_hex": hex(&payload),
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
    }
    Ok((lines, next))
}

pub async fn export(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    query: Result<Query<DbQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let query = super::api::query(query)?;
    // Refuse a bad database now, while the status can still say so.
    drop(ApiClient::new(&server, peer, query.db)?);
    let start = Cursor {
        server,
        peer,
        db: query.db,
        pattern: query.pattern,
        cursor: Some(b"0".to_vec()),
    };
    let stream = futures_util::stream::unfold(start, |mut state| async move {
        state.cursor.as_ref()?;
        // Let the other tasks of this worker run between batches.
        tokio::task::yield_now().await;
        match step(&state) {
            Ok((lines, next)) => {
                state.cursor = next;
                Some((Ok::<_, std::io::Error>(lines), state))
            }
            Err(err) => {
                state.cursor = None;
                Some((Err(std::io::Error::other(format!("{err:?}"))), state))
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}
