//! A strict RESP2/RESP3 reader for tests that must tell a malformed reply from an incomplete one
//! (`common::complete_reply_len` cannot), over a buffered raw connection that reads in chunks (large
//! replies) and reports end of stream and timeouts as outcomes rather than panics.
//! Include with `#[path = "common/resp.rs"] mod resp;`.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Deeper nesting than any reply of ours has: a parser that recurses must stop somewhere.
const MAX_DEPTH: usize = 32;

/// What reading one reply gave.
#[derive(Debug)]
pub enum Read1 {
    /// The raw bytes of one complete, well-formed reply.
    Reply(Vec<u8>),
    /// Bytes that are no RESP reply (what was wrong, and the bytes from the reply's start).
    Malformed(String, Vec<u8>),
    /// The peer closed the connection (bytes of a partial reply, if any).
    Closed(Vec<u8>),
    /// Nothing complete arrived within the read timeout.
    Timeout(Vec<u8>),
}

/// A raw connection with its own read buffer.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    /// Writes every request (each a list of arguments) as multibulks, in one write.
    pub fn send(&mut self, requests: &[Vec<Vec<u8>>]) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        for request in requests {
            encode(&mut bytes, request);
        }
        self.stream.write_all(&bytes)
    }

    /// Reads the next reply.
    pub fn read(&mut self) -> Read1 {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match parse(&self.buf, 0, 0) {
                Ok(Some(end)) => {
                    let reply = self.buf.drain(..end).collect();
                    return Read1::Reply(reply);
                }
                Ok(None) => {}
                Err(problem) => return Read1::Malformed(problem, std::mem::take(&mut self.buf)),
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Read1::Closed(std::mem::take(&mut self.buf)),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Read1::Timeout(std::mem::take(&mut self.buf))
                }
                Err(_) => return Read1::Closed(std::mem::take(&mut self.buf)),
            }
        }
    }

    /// Sends one request and reads one reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Read1 {
        let request: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        if self.send(&[request]).is_err() {
            return Read1::Closed(Vec::new());
        }
        self.read()
    }
}

/// Appends `args` as a RESP multibulk.
pub fn encode(out: &mut Vec<u8>, args: &[Vec<u8>]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// The end of the reply starting at `at`: `Ok(None)` while incomplete, `Err` when the bytes can
/// be no RESP2/RESP3 reply. Errors must be Redis-style: an upper-case code word, a space, a message.
pub fn parse(buf: &[u8], at: usize, depth: usize) -> Result<Option<usize>, String> {
    if depth > MAX_DEPTH {
        return Err("nested deeper than any reply".into());
    }
    let Some(&kind) = buf.get(at) else {
        return Ok(None);
    };
    let Some(line_end) = find_crlf(buf, at + 1) else {
        // A line can only be incomplete if no stray CR/LF already broke it.
        return match buf[at + 1..].iter().position(|&b| b == b'\n') {
            Some(_) => Err(format!("a bare LF in a {:?} line", kind as char)),
            None => Ok(None),
        };
    };
    let line = &buf[at + 1..line_end];
    let next = line_end + 2;
    if line.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(format!("CR or LF inside a {:?} line", kind as char));
    }
    let text = std::str::from_utf8(line).map_err(|_| "non-UTF-8 header".to_string());
    match kind {
        b'+' => Ok(Some(next)),
        b'-' => {
            check_error(line)?;
            Ok(Some(next))
        }
        b':' => {
            text?
                .parse::<i64>()
                .map_err(|_| format!("bad integer {:?}", String::from_utf8_lossy(line)))?;
            Ok(Some(next))
        }
        b'_' => {
            if !line.is_empty() {
                return Err("null with a payload".into());
            }
            Ok(Some(next))
        }
        b'#' => match line {
            b"t" | b"f" => Ok(Some(next)),
            _ => Err("bad boolean".into()),
        },
        b',' => {
            let text = text?;
            let ok = matches!(text, "inf" | "-inf" | "nan") || text.parse::<f64>().is_ok();
            if !ok {
                return Err(format!("bad double {text:?}"));
            }
            Ok(Some(next))
        }
        b'(' => {
            let text = text?;
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("bad big number {text:?}"));
            }
            Ok(Some(next))
        }
        b'$' | b'=' | b'!' => {
            let n = length(text?, kind == b'$')?;
            if n < 0 {
                return Ok(Some(next));
            }
            let end = next + n as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(format!("{:?} payload not followed by CRLF", kind as char));
            }
            let payload = &buf[next..end];
            if kind == b'!' {
                check_error(payload)?;
            }
            if kind == b'=' && (payload.len() < 4 || payload[3] != b':') {
                return Err("verbatim string without a format".into());
            }
            Ok(Some(end + 2))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = length(text?, kind == b'*')?;
            let items = match kind {
                b'%' | b'|' => n.max(0) * 2,
                _ => n.max(0),
            };
            let mut pos = next;
            for _ in 0..items {
                match parse(buf, pos, depth + 1)? {
                    Some(end) => pos = end,
                    None => return Ok(None),
                }
            }
            if kind == b'|' {
                // An attribute precedes the reply it describes.
                return parse(buf, pos, depth + 1);
            }
            Ok(Some(pos))
        }
        other => Err(format!("unknown reply type byte {other:#04x}")),
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

/// A length header: non-negative, or -1 for RESP2's nulls (`$-1`, `*-1`).
fn length(text: &str, null_allowed: bool) -> Result<i64, String> {
    let n: i64 = text.parse().map_err(|_| format!("bad length {text:?}"))?;
    if n < -1 || (n == -1 && !null_allowed) {
        return Err(format!("bad length {n}"));
    }
    Ok(n)
}

/// `CODE message`, the code in upper case as every Redis error (`ERR`, `WRONGTYPE`, ...).
fn check_error(message: &[u8]) -> Result<(), String> {
    let code_len = message
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(message.len());
    let code = &message[..code_len];
    let well_formed = !code.is_empty()
        && code[0].is_ascii_uppercase()
        && code
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && message.len() > code_len + 1;
    if !well_formed {
        return Err(format!(
            "error without an upper-case code word and a message: {:?}",
            String::from_utf8_lossy(&message[..message.len().min(80)])
        ));
    }
    Ok(())
}

/// Whether a complete reply is an error (simple or blob).
pub fn is_error(reply: &[u8]) -> bool {
    matches!(reply.first(), Some(b'-' | b'!'))
}

/// A short printable form of bytes: escapes, and long runs abbreviated.
pub fn show(bytes: &[u8]) -> String {
    const SHOWN: usize = 120;
    let shown = &bytes[..bytes.len().min(SHOWN)];
    let mut text: String = shown.escape_ascii().to_string();
    if bytes.len() > SHOWN {
        text.push_str(&format!("…({} bytes)", bytes.len()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn strict_parse() {
        let whole = |b: &[u8]| parse(b, 0, 0);
        assert_eq!(whole(b"+OK\r\n"), Ok(Some(5)));
        assert_eq!(whole(b"$3\r\nabc\r\n"), Ok(Some(9)));
        assert_eq!(whole(b"$3\r\nab"), Ok(None));
        assert!(whole(b"$3\r\nabcd\r\n").is_err());
        assert!(whole(b"-err lower\r\n").is_err());
        assert!(whole(b"-ERR a\nb\r\n").is_err());
        assert_eq!(whole(b"*2\r\n:1\r\n_\r\n"), Ok(Some(11)));
        assert_eq!(whole(b"*2\r\n:1\r\n"), Ok(None));
        assert!(whole(b"x\r\n").is_err());
    }
}
