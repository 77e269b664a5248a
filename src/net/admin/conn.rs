//! The admin port's accept loop and connections. axum's own `serve` sets no read timeout and no
//! connection cap: a client that opens connections and sends half a request (slowloris) would
//! hold each one for ever. Here every connection is served by hyper's HTTP/1 builder with
//! `admin-timeout` as its header read timeout (which also closes a keep-alive connection idle that
//! long between requests), the body of a `/v1` request is read under the same deadline
//! (`mod.rs`, `read_body`), and at most `admin-maxclients` connections are open at once. Both
//! settings are read at each accept, so CONFIG SET applies to the next connection.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower_service::Service;

use crate::state::Server;

/// The answer to a connection past `admin-maxclients`, written before anything is read (as Redis
/// answers `-ERR max number of clients reached`): reading the request first would let the
/// connections over the limit hold a task each for up to `admin-timeout`.
const REFUSED_BODY: &str = r#"{"error":"max number of admin clients reached","status":503}"#;

/// Serves `router` on `listener` until `shutdown` completes, then waits for the open connections
/// to finish the request they are serving.
pub async fn serve(
    server: Arc<Server>,
    router: Router,
    listener: TcpListener,
    shutdown: impl Future + Send + 'static,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone of `done_tx`: `recv` returns None once the last ended.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors and the like: pause rather than spin on the error.
                    tracing::warn!(%err, "admin port: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (limit, timeout) = {
            let config = server.config.read();
            (config.admin_maxclients, config.admin_timeout)
        };
        let stats = &server.admin;
        stats.connections_received.fetch_add(1, Ordering::Relaxed);
        if stats.connections.load(Ordering::Relaxed) >= limit as u64 {
            stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(refuse(stream));
            continue;
        }
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let connection = Connection {
            slot: Slot(server.clone()),
            router: router.clone(),
            peer,
            timeout: Duration::from_secs(timeout),
            _done: done_tx.clone(),
        };
        tokio::spawn(connection.run(stream, stop_rx.clone()));
    }
    let _ = stop_tx.send(true);
    drop(done_tx);
    let _ = done_rx.recv().await;
}

/// Writes the refusal and closes. A fresh socket's send buffer is empty, so the write does not
/// wait on the client; fixed bytes, so no HTTP stack is needed to send them.
async fn refuse(mut stream: TcpStream) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{REFUSED_BODY}",
        REFUSED_BODY.len()
    );
    let _ = stream.try_write(answer.as_bytes());
    let _ = stream.shutdown().await;
}

/// One open connection in `AdminStats::connections`, given back when its task ends, however.
struct Slot(Arc<Server>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.admin.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Connection {
    slot: Slot,
    router: Router,
    peer: SocketAddr,
    timeout: Duration,
    _done: mpsc::Sender<()>,
}

impl Connection {
    async fn run(self, stream: TcpStream, mut stop: watch::Receiver<bool>) {
        let _ = stream.set_nodelay(true);
        let Connection {
            slot,
            router,
            peer,
            timeout,
            _done,
        } = self;
        // The handlers' `ConnectInfo` (the API's internal client reports the peer's address).
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().call(request)
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(timeout);
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let stopping = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = stopping => {
                // Finishes the request in progress, then closes (at once when idle).
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(err) = result {
            if err.is_timeout() {
                slot.0.admin.timeouts.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%peer, "admin port: request headers not received in time");
            }
        }
    }
}
