//! The admin port's accept loop and connections. axum's own `serve` sets no read timeout and no
//! connection cap: a client that opens connections and sends half a request (slowloris) would
//! hold each one for ever. Here every connection is served by hyper's HTTP/1 builder with
//! `admin-timeout` as its header read timeout (which also closes a keep-alive connection idle that
//! long between requests), the body of a `/v1` request is read under the same deadline
//! (`mod.rs`, `read_body`), a response the client stops reading is dropped once no byte of it has
//! been written for `admin-timeout` (`WriteDeadline`), and at most `admin-maxclients` connections
//! are open at once. Both settings are read at each accept, so CONFIG SET applies to the next
//! connection.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Sleep;
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
        let stream = WriteDeadline {
            stream,
            timeout,
            stalled: None,
            server: slot.0.clone(),
        };
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

/// The connection's socket with `admin-timeout` applied to writes. hyper has no write timeout: a
/// client that asks for a large answer (a streamed `/v1/export`, a big `/metrics`) and then stops
/// reading would keep its task, its slot under `admin-maxclients` and the export's batches for
/// ever. A write that has made no progress for `admin-timeout` fails instead, which ends the
/// connection; any byte written restarts the clock, so a slow reader that keeps reading is served.
struct WriteDeadline {
    stream: TcpStream,
    timeout: Duration,
    /// Armed at the first write that cannot proceed, dropped at the next that does.
    stalled: Option<Pin<Box<Sleep>>>,
    server: Arc<Server>,
}

impl WriteDeadline {
    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let timeout = self.timeout;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if stalled.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.server.admin.timeouts.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("admin port: response not read within admin-timeout");
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client read nothing of the response within admin-timeout",
        )))
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.progress(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.progress(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
