//! `/v1/...`: the JSON API. Every read and write is a command run through the command layer
//! (`client.rs`), so the API changes the data exactly as the equivalent RESP command would:
//! keyspace notifications, WATCH, client-side caching, coherence and tags all see it. Keys are
//! taken from the raw request path and percent-decoded as bytes, so any key can be named.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{StatusCode, Uri};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::client::{bytes_json, pairs_json, to_json, unhex, ApiClient};
use super::ApiError;
use crate::net::coherence::resp::Frame;
use crate::state::Server;

type ApiResult = Result<Json<Value>, ApiError>;

/// Most top keys `/v1/analytics` lists (CACHE.TOPKEYS is capped by what the sketch tracks).
const MAX_TOP: usize = 1000;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DbQuery {
    #[serde(default)]
    pub db: usize,
    pub count: Option<usize>,
    pub pattern: Option<String>,
    pub section: Option<String>,
}

fn body_json<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body =
        body.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
    serde_json::from_slice(&body).map_err(|err| ApiError::bad_request(format!("bad JSON: {err}")))
}

pub(super) fn query(
    query: Result<Query<DbQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<DbQuery, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

/// The key of `/v1/keys/{key}`, percent-decoded as bytes from the raw path.
fn key_of(uri: &Uri) -> Result<Vec<u8>, ApiError> {
    let raw = uri
        .path()
        .strip_prefix("/v1/keys/")
        .ok_or_else(|| ApiError::bad_request("no key"))?;
    let key: Vec<u8> = percent_encoding::percent_decode_str(raw).collect();
    if key.is_empty() {
        return Err(ApiError::bad_request("empty key"));
    }
    Ok(key)
}

pub async fn stats(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    q: Result<Query<DbQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let mut client = ApiClient::new(&server, peer, q.db)?;
    Ok(Json(pairs_json(&client.call(&[b"CACHE.STATS"])?, true)))
}

pub async fn memory(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> ApiResult {
    let mut client = ApiClient::new(&server, peer, 0)?;
    Ok(Json(pairs_json(
        &client.call(&[b"MEMORY", b"STATS"])?,
        true,
    )))
}

/// Top keys of a database, and the top tags and per-prefix figures CACHE.STATS computes.
pub async fn analytics(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    q: Result<Query<DbQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let count = q.count.unwrap_or(10).min(MAX_TOP).to_string();
    let mut client = ApiClient::new(&server, peer, q.db)?;
    let top = client.call(&[b"CACHE.TOPKEYS", count.as_bytes()])?;
    let top_keys: Vec<Value> = match &top {
        Frame::Array(pairs) => pairs
            .iter()
            .filter_map(|pair| match pair {
                Frame::Array(kv) if kv.len() == 2 => {
                    Some(json!({"key": to_json(&kv[0]), "reads": to_json(&kv[1])}))
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let stats = pairs_json(&client.call(&[b"CACHE.STATS"])?, true);
    Ok(Json(json!({
        "db": q.db,
        "top_keys": top_keys,
        "top_tags": stats.get("top_tags").cloned().unwrap_or(Value::Null),
        "prefixes": stats.get("prefixes").cloned().unwrap_or(Value::Null),
        "hit_ratio": stats.get("hit_ratio").cloned().unwrap_or(Value::Null),
    })))
}

/// INFO as `{section: {field: value}}` (`?section=` as INFO's argument; default: everything).
pub async fn info(
    State(server): State<Arc<Server>>,
    q: Result<Query<DbQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let section = q.section.unwrap_or_else(|| "everything".to_string());
    let text = crate::commands::server::info::info_text(&server, &[Bytes::from(section)]);
    let mut sections = Map::new();
    let mut current = Map::new();
    let mut title = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("# ") {
            if !title.is_empty() {
                sections.insert(
                    std::mem::take(&mut title),
                    Value::Object(std::mem::take(&mut current)),
                );
            }
            title = name.to_ascii_lowercase();
        } else if let Some((name, value)) = line.split_once(':') {
            current.insert(name.to_string(), Value::String(value.to_string()));
        }
    }
    if !title.is_empty() {
        sections.insert(title, Value::Object(current));
    }
    Ok(Json(Value::Object(sections)))
}

/// CONFIG GET (`?pattern=`, default `*`) as an object of strings.
pub async fn config_get(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    q: Result<Query<DbQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let pattern = q.pattern.unwrap_or_else(|| "*".to_string());
    let mut client = ApiClient::new(&server, peer, 0)?;
    Ok(Json(pairs_json(
        &client.call(&[b"CONFIG", b"GET", pattern.as_bytes()])?,
        false,
    )))
}

/// CONFIG SET of every `name: value` of the body, atomically as CONFIG SET applies them.
pub async fn config_set(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let changes: HashMap<String, Value> = body_json(body)?;
    if changes.is_empty() {
        return Err(ApiError::bad_request("no directive to set"));
    }
    let mut args: Vec<Vec<u8>> = vec![b"CONFIG".to_vec(), b"SET".to_vec()];
    for (name, value) in &changes {
        let value = match value {
            Value::String(text) => text.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{name}: a string, number or boolean is expected"
                )))
            }
        };
        args.push(name.as_bytes().to_vec());
        args.push(value.into_bytes());
    }
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let mut client = ApiClient::new(&server, peer, 0)?;
    client.call(&args)?;
    let names: Vec<&String> = changes.keys().collect();
    Ok(Json(json!({"status": "ok", "set": names})))
}

/// A key's value (strings; other types give their type and no value) and CACHE.INSPECT's
/// metadata; 404 when it does not exist.
pub async fn key_get(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    q: Result<Query<DbQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let key = key_of(&uri)?;
    let mut client = ApiClient::new(&server, peer, q.db)?;
    let meta = client.call(&[b"CACHE.INSPECT", &key])?;
    if meta == Frame::Bulk(None) || meta == Frame::Array(Vec::new()) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such key"));
    }
    let meta = pairs_json(&meta, true);
    let value = if meta.get("type").and_then(Value::as_str) == Some("string") {
        to_json(&client.call(&[b"GET", &key])?)
    } else {
        Value::Null
    };
    Ok(Json(json!({
        "key": bytes_json(&key),
        "db": q.db,
        "value": value,
        "meta": meta,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutKey {
    value: Option<String>,
    /// The value's bytes in hexadecimal, for values that are not UTF-8.
    value_hex: Option<String>,
    /// Seconds to live; none: no expiry.
    ttl: Option<u64>,
    priority: Option<String>,
    cost: Option<u64>,
    #[serde(default)]
    tags: Vec<String>,
}

/// CACHE.SET key value [EX ttl] [PRIORITY p] [COST c] [TAGS n tag ...].
pub async fn key_put(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    q: Result<Query<DbQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let q = query(q)?;
    let key = key_of(&uri)?;
    let put: PutKey = body_json(body)?;
    let value = match (put.value, put.value_hex) {
        (Some(text), None) => text.into_bytes(),
        (None, Some(hex)) => {
            unhex(&hex).ok_or_else(|| ApiError::bad_request("value_hex is not hexadecimal"))?
        }
        _ => {
            return Err(ApiError::bad_request(
                "exactly one of value and value_hex is required",
            ))
        }
    };
    let mut args: Vec<Vec<u8>> = vec![b"CACHE.SET".to_vec(), key.clone(), value];
    if let Some(ttl) = put.ttl {
        args.extend([b"EX".to_vec(), ttl.to_string().into_bytes()]);
    }
    if let Some(priority) = put.priority {
        args.extend([b"PRIORITY".to_vec(), priority.into_bytes()]);
    }
    if let Some(cost) = put.cost {
        args.extend([b"COST".to_vec(), cost.to_string().into_bytes()]);
    }
    if !put.tags.is_empty() {
        args.extend([b"TAGS".to_vec(), put.tags.len().to_string().into_bytes()]);
        args.extend(put.tags.into_iter().map(String::into_bytes));
    }
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let mut client = ApiClient::new(&server, peer, q.db)?;
    client.call(&args)?;
    Ok(Json(json!({"status": "ok", "key": bytes_json(&key)})))
}

pub async fn key_delete(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    q: Result<Query<DbQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let key = key_of(&uri)?;
    let mut client = ApiClient::new(&server, peer, q.db)?;
    let deleted = client.call(&[b"DEL", &key])?;
    if deleted == Frame::Integer(0) {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no such key"));
    }
    Ok(Json(json!({"deleted": to_json(&deleted)})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invalidate {
    #[serde(default)]
    tags: Vec<String>,
    pattern: Option<String>,
    #[serde(default)]
    db: usize,
}

/// TAG.INVALIDATE of the tags and CACHE.INVALIDATE of the pattern (in the database given).
pub async fn invalidate(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let request: Invalidate = body_json(body)?;
    if request.tags.is_empty() && request.pattern.is_none() {
        return Err(ApiError::bad_request("tags or pattern is required"));
    }
    let mut client = ApiClient::new(&server, peer, request.db)?;
    let mut answer = Map::new();
    if !request.tags.is_empty() {
        let mut args: Vec<&[u8]> = vec![b"TAG.INVALIDATE"];
        args.extend(request.tags.iter().map(|t| t.as_bytes()));
        answer.insert("tagged_keys".into(), to_json(&client.call(&args)?));
    }
    if let Some(pattern) = &request.pattern {
        let removed = client.call(&[b"CACHE.INVALIDATE", pattern.as_bytes()])?;
        answer.insert("pattern_keys".into(), to_json(&removed));
    }
    Ok(Json(Value::Object(answer)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Flush {
    /// One database; none: all of them.
    db: Option<usize>,
}

/// FLUSHDB of `db`, or FLUSHALL. An empty body flushes everything.
pub async fn flush(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let empty = body.as_ref().is_ok_and(|b| b.is_empty());
    let request: Flush = if empty {
        Flush::default()
    } else {
        body_json(body)?
    };
    let mut client = ApiClient::new(&server, peer, request.db.unwrap_or(0))?;
    match request.db {
        Some(_) => client.call(&[b"FLUSHDB"])?,
        None => client.call(&[b"FLUSHALL"])?,
    };
    Ok(Json(json!({"status": "ok", "db": request.db})))
}
