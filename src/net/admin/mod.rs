//! The admin port: an HTTP front end (axum on the server's own tokio runtime) beside the RESP
//! one. `/metrics` (Prometheus), `/health` and `/ready` (probes) are open; `/v1/...` (the JSON
//! API, `api.rs`) reveal or change data and need `admin-token` as a bearer token when one is set.
//! Every answer is JSON except `/metrics`; a bad request gets a JSON error and a 4xx, never a
//! panic. Handlers hold no lock across an `.await`: each command they run (`client.rs`) is one
//! synchronous dispatch, as on a RESP connection, and the export streams in small batches.

mod api;
mod client;
mod conn;
mod export;
pub mod metrics;
pub mod table;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde_json::json;
use tokio::net::TcpListener;

use crate::state::Server;

/// Largest request body accepted (a PUT of a value, a PATCH of the configuration).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An error answer: `{"error": message, "status": code}` with that status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.message, "status": self.status.as_u16()});
        (self.status, Json(body)).into_response()
    }
}

/// Every route of the router, as (method, path) in axum's syntax: the OpenAPI file is checked
/// against this list, and `router` is built from the same paths.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/metrics"),
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/v1/stats"),
    ("get", "/v1/memory"),
    ("get", "/v1/analytics"),
    ("get", "/v1/info"),
    ("get", "/v1/config"),
    ("patch", "/v1/config"),
    ("get", "/v1/keys/{*key}"),
    ("put", "/v1/keys/{*key}"),
    ("delete", "/v1/keys/{*key}"),
    ("post", "/v1/invalidate"),
    ("post", "/v1/flush"),
    ("get", "/v1/export"),
];

pub fn router(server: Arc<Server>) -> Router {
    let v1 = Router::new()
        .route("/v1/stats", get(api::stats))
        .route("/v1/memory", get(api::memory))
        .route("/v1/analytics", get(api::analytics))
        .route("/v1/info", get(api::info))
        .route("/v1/config", get(api::config_get).patch(api::config_set))
        .route(
            "/v1/keys/{*key}",
            get(api::key_get).put(api::key_put).delete(api::key_delete),
        )
        .route("/v1/invalidate", axum::routing::post(api::invalidate))
        .route("/v1/flush", axum::routing::post(api::flush))
        .route("/v1/export", get(export::export))
        // Layers run outermost last-added: the token is checked before any body is read.
        .route_layer(middleware::from_fn_with_state(server.clone(), read_body))
        .route_layer(middleware::from_fn_with_state(server.clone(), loaded))
        .route_layer(middleware::from_fn_with_state(server.clone(), authorize));
    Router::new()
        .route("/metrics", get(metrics_endpoint))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .merge(v1)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(server)
}

/// Serves the admin port on `listener` until `shutdown` completes (`conn.rs`: the connection cap
/// and the read timeouts).
pub async fn serve(
    server: Arc<Server>,
    listener: TcpListener,
    shutdown: impl Future + Send + 'static,
) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "admin port ready");
    }
    conn::serve(server.clone(), router(server), listener, shutdown).await;
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this endpoint",
    )
}

/// Compares through SHA-256 digests, byte by byte without an early exit: neither the token's
/// length nor where a guess goes wrong shows in the time taken.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

async fn authorize(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let token = server.config.read().admin_token.clone();
    if !token.is_empty() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
            .unwrap_or_default();
        if !same_secret(given, &token) {
            let mut response =
                ApiError::new(StatusCode::UNAUTHORIZED, "a valid bearer token is required")
                    .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return response;
        }
    }
    next.run(request).await
}

/// The API waits for the dataset, as RESP clients do (Redis answers them `-LOADING`): a command
/// run while the snapshot loads would race the load.
async fn loaded(State(server): State<Arc<Server>>, request: Request, next: Next) -> Response {
    if server.loaded.load(Ordering::Acquire) {
        next.run(request).await
    } else {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "LOADING the dataset is loading in memory",
        )
        .into_response()
    }
}

/// Reads a `/v1` request's whole body within `admin-timeout` and at most `MAX_BODY_BYTES`, before
/// the handler runs: a client that declares a body and sends it slowly, or not at all, is answered
/// 408 and its connection closed, instead of holding a handler for ever (hyper's timeout covers
/// the headers only).
async fn read_body(State(server): State<Arc<Server>>, request: Request, next: Next) -> Response {
    let timeout = Duration::from_secs(server.config.read().admin_timeout);
    let (parts, body) = request.into_parts();
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        )
        .into_response()
    };
    // A declared Content-Length over the limit is refused before a byte of it is read.
    if body.size_hint().lower() > MAX_BODY_BYTES as u64 {
        return too_large();
    }
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    let body = match tokio::time::timeout(timeout, limited.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => return too_large(),
        Ok(Err(err)) => {
            return ApiError::bad_request(format!("could not read the request body: {err}"))
                .into_response()
        }
        Err(_) => {
            server.admin.timeouts.fetch_add(1, Ordering::Relaxed);
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive within admin-timeout",
            )
            .into_response();
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            return response;
        }
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}

async fn metrics_endpoint(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let request = match metrics::Request::parse(uri.query()) {
        Ok(request) => request,
        Err(message) => return ApiError::bad_request(message).into_response(),
    };
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/openmetrics-text"));
    let (body, content_type) = metrics::render(&server, &request, openmetrics);
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Liveness: the process serves HTTP. Reads nothing shared, takes no lock.
async fn health(State(server): State<Arc<Server>>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "uptime_seconds": server.started.elapsed().as_secs(),
    }))
}

/// Readiness: the dataset loaded, not shutting down and, when `admin-ready-requires-peers` is on
/// and coherence is, every coherence link up.
async fn ready(State(server): State<Arc<Server>>) -> Response {
    let mut reasons = Vec::new();
    let loaded = server.loaded.load(Ordering::Acquire);
    if !loaded {
        reasons.push("loading the dataset".to_string());
    }
    if *server.shutdown_receiver().borrow() {
        reasons.push("shutting down".to_string());
    }
    let requires_peers = server.config.read().admin_ready_requires_peers;
    let (peers, peers_up) = server.coherence.link_counts();
    if requires_peers && server.coherence.enabled() && peers_up < peers {
        reasons.push(format!("{peers_up} of {peers} coherence links up"));
    }
    let status = if reasons.is_empty() {
        "ready"
    } else {
        "not ready"
    };
    let code = if reasons.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": status,
        "reasons": reasons,
        "loading": !loaded,
        "connected_clients": server.clients.len(),
        "coherence": {"enabled": server.coherence.enabled(), "peers": peers, "peers_up": peers_up},
        "keys": server.keyspace.totals.keys.load(Ordering::Relaxed),
    });
    (code, Json(body)).into_response()
}
