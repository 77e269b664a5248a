//! CLUSTER MEET without a bus: the node's id is asked of the node itself (CLUSTER MYID over a
//! short-lived connection), so that the table holds the id clients will see in its replies.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long MEET waits for the other node: it runs on a worker thread (`off_worker`).
const MEET_TIMEOUT: Duration = Duration::from_secs(2);
/// `$40\r\n` + 40 hex digits + CRLF, or an error line; more is not a node id.
const MOST_REPLY_BYTES: usize = 512;

pub fn node_id(ip: &str, port: u16) -> Result<String, String> {
    let addr: SocketAddr = format!("{ip}:{port}")
        .parse()
        .or_else(|_| format!("[{ip}]:{port}").parse())
        .map_err(|_| format!("invalid address {ip}:{port}"))?;
    let mut stream = TcpStream::connect_timeout(&addr, MEET_TIMEOUT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(MEET_TIMEOUT))
        .and_then(|_| stream.set_write_timeout(Some(MEET_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"*2\r\n$7\r\nCLUSTER\r\n$4\r\nMYID\r\n")
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    let mut buf = [0u8; MOST_REPLY_BYTES];
    while reply.len() < MOST_REPLY_BYTES {
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        if reply.starts_with(b"-") && reply.ends_with(b"\r\n") {
            break;
        }
        if reply.starts_with(b"$40\r\n") && reply.len() >= 47 {
            break;
        }
    }
    if let Some(error) = reply.strip_prefix(b"-") {
        return Err(String::from_utf8_lossy(error).trim_end().to_string());
    }
    match reply.strip_prefix(b"$40\r\n") {
        Some(rest) if rest.len() >= 42 && &rest[40..42] == b"\r\n" => {
            let id = String::from_utf8_lossy(&rest[..40]).to_ascii_lowercase();
            if crate::state::cluster::valid_node_id(&id) {
                Ok(id)
            } else {
                Err("the node answered an invalid id".to_string())
            }
        }
        _ => Err("the node did not answer CLUSTER MYID with an id".to_string()),
    }
}
