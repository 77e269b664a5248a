//! One command on a fresh connection, for what the links ask beside their subscription: an
//! origin's position and replays, the bus's directory of nodes. Bounded in time: a peer that
//! does not answer counts as unreachable.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::resp::{self, Frame};

const TIMEOUT: Duration = Duration::from_secs(2);

pub fn invalid(text: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, text.to_string())
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

/// Sends `args` to `addr` and returns the reply (an error reply is `Frame::Error`).
pub async fn call(addr: &str, args: &[&[u8]]) -> std::io::Result<Frame> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let _ = stream.set_nodelay(true);
        stream.write_all(&encode_command(args)).await?;
        read_frame(&mut stream, &mut BytesMut::with_capacity(16 * 1024)).await
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "peer did not answer"))?
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
