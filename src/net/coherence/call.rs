//! Connections a link opens: one command on a fresh connection for what the links ask beside
//! their subscription (an origin's position and replays, the bus's directory of nodes), and the
//! connections themselves, authenticated both ways when a `coherence-secret` is set (`auth`).
//! Bounded in time: a peer that does not answer counts as unreachable. Over TLS when `peer-tls`
//! is on (peers) or the bus is `rediss://`, with the client context of `state::tls`; a bus URL's
//! credentials are sent with AUTH first.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::resp::{self, Frame};
use crate::state::coherence::auth::{self, Key};
use crate::state::Server;

const TIMEOUT: Duration = Duration::from_secs(2);

pub fn invalid(text: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, text.to_string())
}

/// A link's connection: a `TcpStream`, or a TLS stream over one. Links carry batches, not a
/// client's every command, so one indirection per read costs nothing measurable.
pub trait LinkIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> LinkIo for T {}
pub type Stream = Box<dyn LinkIo>;

/// How a connection is opened: over TLS or not, logged in with AUTH or not, and what it proves.
#[derive(Clone)]
pub struct Dial<'a> {
    pub proof: Auth<'a>,
    /// The client context when the connection goes over TLS.
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Whether TLS is asked for (`tls` is `None` only when the contexts are not built).
    wants_tls: bool,
    /// `AUTH [user] password` sent first (a `rediss://user:pass@` bus).
    login: Option<(String, String)>,
}

impl<'a> Dial<'a> {
    /// To a peer daemon (its position and replays, the mesh's links).
    pub fn peer(server: &Server, key: Option<&'a Key>) -> Self {
        let wants_tls = server.config.read().peer_tls;
        Dial {
            proof: Auth::peer(key),
            tls: wants_tls.then(|| server.tls.client_config()).flatten(),
            wants_tls,
            login: None,
        }
    }

    /// To the bus.
    pub fn bus(server: &Server, key: Option<&'a Key>) -> Self {
        let config = server.config.read();
        let wants_tls = config.coherence_bus_tls;
        Dial {
            proof: Auth::bus(key),
            tls: wants_tls.then(|| server.tls.client_config()).flatten(),
            wants_tls,
            login: config.coherence_bus_login.clone(),
        }
    }
}

impl Dial<'static> {
    /// To another node of the cluster (the failure detector's probes): over TLS under
    /// `tls-cluster yes`, as MIGRATE and Redis's cluster links are, and nothing to prove.
    pub fn cluster(server: &Server) -> Self {
        let wants_tls = server.config.read().tls.cluster;
        Dial {
            proof: Auth::Plain,
            tls: wants_tls.then(|| server.tls.client_config()).flatten(),
            wants_tls,
            login: None,
        }
    }
}

/// What a connection proves before its first command.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// No secret: nothing.
    Plain,
    /// To a daemon of the fleet: both sides prove the secret, or the connection fails.
    Peer(&'a Key),
    /// To the bus: a cachet there is proved the secret to (it then lets this daemon publish on
    /// `__cachet__:`, and in under `requirepass`); a server that does not know the handshake
    /// (Redis, Valkey) is used as it is.
    Bus(&'a Key),
}

impl<'a> Auth<'a> {
    pub fn peer(key: Option<&'a Key>) -> Self {
        key.map_or(Auth::Plain, Auth::Peer)
    }

    pub fn bus(key: Option<&'a Key>) -> Self {
        key.map_or(Auth::Plain, Auth::Bus)
    }
}

/// A command in RESP's request form.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "peer did not answer")
}

/// Connects to `addr` as `dial` says (TLS, AUTH, then the proofs), within the timeout; what the
/// other side sent beyond that stays in `buf`.
pub async fn connect(addr: &str, dial: &Dial<'_>, buf: &mut BytesMut) -> std::io::Result<Stream> {
    let opening = async {
        let tcp = TcpStream::connect(addr).await?;
        let _ = tcp.set_nodelay(true);
        let mut stream: Stream = match (&dial.tls, dial.wants_tls) {
            (Some(config), _) => Box::new(tls_connect(addr, config.clone(), tcp).await?),
            (None, true) => return Err(invalid("TLS is asked for but not configured")),
            (None, false) => Box::new(tcp),
        };
        if let Some((user, password)) = &dial.login {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if !user.is_empty() {
                args.push(user.as_bytes());
            }
            args.push(password.as_bytes());
            stream.write_all(&encode_command(&args)).await?;
            if let Frame::Error(text) = read_frame(&mut stream, buf).await? {
                return Err(invalid(&String::from_utf8_lossy(&text)));
            }
        }
        handshake(&mut stream, buf, dial.proof).await?;
        Ok(stream)
    };
    tokio::time::timeout(TIMEOUT, opening)
        .await
        .map_err(|_| timed_out())?
}

/// `CACHE.PEER CHALLENGE`, then `CACHE.PEER AUTH <nonce> <proof>`, then the check of the other
/// side's proof (see `auth`).
async fn handshake(stream: &mut Stream, buf: &mut BytesMut, auth: Auth<'_>) -> std::io::Result<()> {
    let (key, required) = match auth {
        Auth::Plain => return Ok(()),
        Auth::Peer(key) => (key, true),
        Auth::Bus(key) => (key, false),
    };
    stream
        .write_all(&encode_command(&[b"CACHE.PEER", b"CHALLENGE"]))
        .await?;
    let challenge: Bytes = match read_frame(stream, buf).await? {
        Frame::Bulk(Some(nonce)) => nonce,
        Frame::Error(text) if !required && text.starts_with(b"ERR unknown command") => {
            return Ok(())
        }
        Frame::Error(text) => return Err(invalid(&String::from_utf8_lossy(&text))),
        _ => return Err(invalid("CACHE.PEER CHALLENGE did not reply a nonce")),
    };
    let nonce = auth::nonce();
    let proof = auth::client_proof(key, &challenge, nonce.as_bytes());
    stream
        .write_all(&encode_command(&[
            b"CACHE.PEER",
            b"AUTH",
            nonce.as_bytes(),
            &proof,
        ]))
        .await?;
    match read_frame(stream, buf).await? {
        Frame::Bulk(Some(theirs))
            if auth::verify_server_proof(key, &challenge, nonce.as_bytes(), &theirs) =>
        {
            Ok(())
        }
        Frame::Error(text) => Err(invalid(&String::from_utf8_lossy(&text))),
        _ => Err(invalid(
            "the daemon's proof does not match this daemon's coherence-secret",
        )),
    }
}

/// Sends `args` to `addr` and returns the reply (an error reply is `Frame::Error`).
pub async fn call(addr: &str, dial: &Dial<'_>, args: &[&[u8]]) -> std::io::Result<Frame> {
    let exchange = async {
        let mut buf = BytesMut::with_capacity(16 * 1024);
        let mut stream = connect(addr, dial, &mut buf).await?;
        stream.write_all(&encode_command(args)).await?;
        read_frame(&mut stream, &mut buf).await
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| timed_out())?
}

/// Reads one frame, keeping what follows it in `buf`.
pub async fn read_frame<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> std::io::Result<Frame> {
    loop {
        if let Some(frame) = resp::parse(buf).map_err(|_| invalid("bad RESP"))? {
            return Ok(frame);
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(invalid("closed by peer"));
        }
    }
}

/// The TLS handshake with the server at `addr` (`host:port`), whose certificate must name `host`
/// (a DNS name or an IP address) and be signed by a trusted CA.
async fn tls_connect(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
    tcp: TcpStream,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls_pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| invalid("not a TLS server name"))?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
}
