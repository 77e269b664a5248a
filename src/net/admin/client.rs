//! The API's commands run through the command layer as a RESP client's would (`dispatch`: the
//! exec gate, memory limit, keyspace notifications, tracking, coherence, tags), as a client
//! registered for the request's duration so CLIENT LIST shows who is acting. The reply is read
//! back with the peer links' RESP reader.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use serde_json::{Map, Value};

use super::ApiError;
use crate::commands::dispatch;
use crate::engine::now_ms;
use crate::net::coherence::resp::{self, Frame};
use crate::protocol::{Protocol, ReplyBuf};
use crate::state::clients::{Action, ClientState};
use crate::state::command::Ctx;
use crate::state::Server;

/// A client for one API request: registered on creation, gone when dropped.
pub struct ApiClient<'a> {
    server: &'a Server,
    state: ClientState,
}

impl<'a> ApiClient<'a> {
    /// `db` is checked here: the SELECT a RESP client would send has the same bounds.
    pub fn new(server: &'a Arc<Server>, peer: SocketAddr, db: usize) -> Result<Self, ApiError> {
        if db >= server.keyspace.databases() {
            return Err(ApiError::bad_request("DB index is out of range"));
        }
        let info = server
            .clients
            .register(peer, server.local_addr, usize::MAX)
            .ok_or_else(|| {
                ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "no room for a client",
                )
            })?;
        info.details().name = Some(Bytes::from_static(b"admin-api"));
        // As the `default` user: the token admits the operator, and ACL rules the operator set on
        // `default` apply to what the API runs (its commands reach ACL LOG like any client's).
        let mut state = ClientState::new(info, server.acl.default_user(), true);
        state.select(db);
        Ok(ApiClient { server, state })
    }

    /// Runs one command; an error reply becomes `Err` with its text.
    pub fn call(&mut self, args: &[&[u8]]) -> Result<Frame, ApiError> {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut out = ReplyBuf::new(Protocol::Resp2);
        let mut ctx = Ctx {
            server: self.server,
            client: &mut self.state,
            out: &mut out,
            now_ms: now_ms(),
        };
        dispatch(&mut ctx, &args);
        // The one action a command of the API may leave: the rest of a cluster-wide invalidation.
        if let Some(Action::ClusterWide(wide)) = self.state.action.take() {
            match crate::commands::cluster::invalidate::finish(self.server, &wide) {
                Ok(total) => out.int(total),
                Err(err) => out.error_bytes(&err.message_bytes()),
            }
        }
        crate::state::blocking::serve_ready(self.server);
        let mut bytes = BytesMut::from(&out.to_vec()[..]);
        match resp::parse(&mut bytes) {
            Ok(Some(Frame::Error(text))) => Err(command_error(&text)),
            Ok(Some(frame)) => Ok(frame),
            _ => Err(ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "unreadable reply",
            )),
        }
    }
}

impl Drop for ApiClient<'_> {
    fn drop(&mut self) {
        self.server.clients.unregister(self.state.id);
    }
}

/// A command's error reply: the client's fault (400), except for the server's own states.
fn command_error(text: &[u8]) -> ApiError {
    let text = String::from_utf8_lossy(text).into_owned();
    let status =
        if text.starts_with("OOM") || text.starts_with("BUSY") || text.starts_with("LOADING") {
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        } else {
            axum::http::StatusCode::BAD_REQUEST
        };
    ApiError::new(status, text)
}

/// Bytes as JSON: a string when they are UTF-8, else `{"hex": "..."}`.
pub fn bytes_json(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_string()),
        Err(_) => serde_json::json!({ "hex": hex(bytes) }),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A reply as JSON: integers as numbers, strings as `bytes_json`, nil as null, arrays as arrays.
pub fn to_json(frame: &Frame) -> Value {
    match frame {
        Frame::Simple(text) | Frame::Error(text) => bytes_json(text),
        Frame::Integer(n) => Value::from(*n),
        Frame::Bulk(None) => Value::Null,
        Frame::Bulk(Some(bytes)) => bytes_json(bytes),
        Frame::Array(items) => Value::Array(items.iter().map(to_json).collect()),
    }
}

/// A flat `name value name value` reply (CONFIG GET, MEMORY STATS, CACHE.STATS) as an object;
/// with `numbers`, numbers in bulk strings (RESP2's doubles) become numbers.
pub fn pairs_json(frame: &Frame, numbers: bool) -> Value {
    let Frame::Array(items) = frame else {
        return to_json(frame);
    };
    let mut object = Map::new();
    for pair in items.chunks(2) {
        let [name, value] = pair else { continue };
        let name = match to_json(name) {
            Value::String(text) => text,
            other => other.to_string(),
        };
        let value = match value {
            // A nested map (MEMORY STATS's `db.0`, CACHE.STATS's `prefixes`) has names at even
            // places and some value that is not a string; an array of strings (CACHE.INSPECT's
            // `tags`) stays an array.
            Frame::Array(inner)
                if inner.len() % 2 == 0
                    && inner
                        .iter()
                        .step_by(2)
                        .all(|n| matches!(n, Frame::Bulk(Some(_)) | Frame::Simple(_)))
                    && inner
                        .iter()
                        .skip(1)
                        .step_by(2)
                        .any(|v| !matches!(v, Frame::Bulk(Some(_)) | Frame::Simple(_))) =>
            {
                pairs_json(value, numbers)
            }
            Frame::Bulk(Some(bytes)) if numbers => number_or_text(bytes),
            other => to_json(other),
        };
        object.insert(name, value);
    }
    Value::Object(object)
}

fn number_or_text(bytes: &[u8]) -> Value {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse::<f64>().ok().filter(|n| n.is_finite()))
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| bytes_json(bytes), Value::Number)
}
