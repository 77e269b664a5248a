//! Connections a link opens: one command on a fresh connection for what the links ask beside
//! their subscription (an origin's position and replays, the bus's directory of nodes), and the
//! connections themselves, authenticated both ways when a `coherence-secret` is set (`auth`).
//! Bounded in time: a peer that does not answer counts as unreachable.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::resp::{self, Frame};
use crate::state::coherence::auth::{self, Key};

const TIMEOUT: Duration = Duration::from_secs(2);

pub fn invalid(text: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, text.to_string())
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

/// Connects to `addr` and makes the handshake `auth` asks for (within the timeout); what the
/// other side sent beyond it stays in `buf`.
pub async fn connect(addr: &str, auth: Auth<'_>, buf: &mut BytesMut) -> std::io::Result<TcpStream> {
    let opening = async {
        let mut stream = TcpStream::connect(addr).await?;
        let _ = stream.set_nodelay(true);
        handshake(&mut stream, buf, auth).await?;
        Ok(stream)
    };
    tokio::time::timeout(TIMEOUT, opening)
        .await
        .map_err(|_| timed_out())?
}

/// `CACHE.PEER CHALLENGE`, then `CACHE.PEER AUTH <nonce> <proof>`, then the check of the other
/// side's proof (see `auth`).
async fn handshake(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    auth: Auth<'_>,
) -> std::io::Result<()> {
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
pub async fn call(addr: &str, auth: Auth<'_>, args: &[&[u8]]) -> std::io::Result<Frame> {
    let exchange = async {
        let mut buf = BytesMut::with_capacity(16 * 1024);
        let mut stream = connect(addr, auth, &mut buf).await?;
        stream.write_all(&encode_command(args)).await?;
        read_frame(&mut stream, &mut buf).await
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| timed_out())?
}

/// Reads one frame, keeping what follows it in `buf`.
pub async fn read_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> std::io::Result<Frame> {
    loop {
        if let Some(frame) = resp::parse(buf).map_err(|_| invalid("bad RESP"))? {
            return Ok(frame);
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(invalid("closed by peer"));
        }
    }
}
