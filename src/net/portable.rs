//! `cachet export` and `cachet import`: JSON lines (`engine::export`) out of and into a running
//! daemon, over RESP. Export pages through CACHE.EXPORT's cursor, writing each page as it comes,
//! so memory stays one page whatever the keyspace. Import sends one CACHE.IMPORT per line,
//! pipelined `PIPELINE` lines at a time; a line the daemon refuses is reported with its number and
//! the reason, and the others go on (each line is applied whole or not at all by the daemon).

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;

use super::coherence::resp::{self, Frame};
use crate::engine::export::line_key;

/// Lines in flight at once during an import.
const PIPELINE: usize = 128;
/// Keys visited per CACHE.EXPORT call.
const PAGE: &str = "256";
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the daemon is and how to log in.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub db: usize,
    pub user: Option<String>,
    pub password: Option<String>,
}

/// A blocking RESP connection (also CACHE.WARM's, to its source).
pub(crate) struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

pub(crate) fn encode(args: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn error_text(frame: &Frame) -> Option<String> {
    match frame {
        Frame::Error(text) => Some(String::from_utf8_lossy(text).into_owned()),
        _ => None,
    }
}

impl Conn {
    pub(crate) fn open(target: &Target, timeout: Duration) -> Result<Conn, String> {
        let addr = format!("{}:{}", target.host, target.port);
        let stream = std::net::ToSocketAddrs::to_socket_addrs(&(target.host.as_str(), target.port))
            .map_err(|e| format!("cannot resolve {addr}: {e}"))?
            .find_map(|a| TcpStream::connect_timeout(&a, timeout).ok())
            .ok_or_else(|| format!("cannot connect to {addr}"))?;
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .map_err(|e| format!("{addr}: {e}"))?;
        let mut conn = Conn {
            stream,
            buf: BytesMut::with_capacity(64 * 1024),
        };
        if let Some(password) = &target.password {
            let reply = match &target.user {
                Some(user) => conn.call(&[b"AUTH", user.as_bytes(), password.as_bytes()])?,
                None => conn.call(&[b"AUTH", password.as_bytes()])?,
            };
            if let Some(error) = error_text(&reply) {
                return Err(format!("AUTH: {error}"));
            }
        }
        let db = target.db.to_string();
        if let Some(error) = error_text(&conn.call(&[b"SELECT", db.as_bytes()])?) {
            return Err(format!("SELECT {db}: {error}"));
        }
        Ok(conn)
    }

    pub(crate) fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("writing to the daemon: {e}"))
    }

    pub(crate) fn read(&mut self) -> Result<Frame, String> {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if let Some(frame) =
                resp::parse(&mut self.buf).map_err(|_| "a malformed or too large reply")?
            {
                return Ok(frame);
            }
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| format!("reading from the daemon: {e}"))?;
            if n == 0 {
                return Err("the daemon closed the connection".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub(crate) fn call(&mut self, args: &[&[u8]]) -> Result<Frame, String> {
        let mut out = Vec::new();
        encode(args, &mut out);
        self.send(&out)?;
        self.read()
    }
}

/// Writes every key of `target.db` (those matching `pattern`, if given) to `out`, one JSON line
/// each; returns how many.
pub fn export(target: &Target, pattern: Option<&str>, out: &mut impl Write) -> Result<u64, String> {
    let mut conn = Conn::open(target, IO_TIMEOUT)?;
    let mut cursor = b"0".to_vec();
    let mut written = 0;
    loop {
        let mut args: Vec<&[u8]> = vec![b"CACHE.EXPORT", &cursor, b"COUNT", PAGE.as_bytes()];
        if let Some(pattern) = pattern {
            args.extend([b"MATCH".as_slice(), pattern.as_bytes()]);
        }
        let reply = conn.call(&args)?;
        if let Some(error) = error_text(&reply) {
            return Err(format!("CACHE.EXPORT: {error}"));
        }
        let Frame::Array(mut parts) = reply else {
            return Err("CACHE.EXPORT: an unexpected reply".into());
        };
        let (Some(Frame::Array(lines)), Some(Frame::Bulk(Some(next)))) = (parts.pop(), parts.pop())
        else {
            return Err("CACHE.EXPORT: an unexpected reply".into());
        };
        for line in lines {
            if let Frame::Bulk(Some(line)) = line {
                out.write_all(&line)
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(|e| format!("writing the export: {e}"))?;
                written += 1;
            }
        }
        if &next[..] == b"0" {
            break;
        }
        cursor = next.to_vec();
    }
    out.flush()
        .map_err(|e| format!("writing the export: {e}"))?;
    Ok(written)
}

/// What an import came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub stored: u64,
    /// Lines whose `expire_at` had passed: nothing stored.
    pub expired: u64,
    /// (line number from 1, why), in order.
    pub failed: Vec<(usize, String)>,
}

/// Sends every line of `input` to `target.db` as CACHE.IMPORT (with REPLACE if `replace`); blank
/// lines are skipped.
pub fn import(
    target: &Target,
    input: impl BufRead,
    replace: bool,
) -> Result<ImportSummary, String> {
    let mut conn = Conn::open(target, IO_TIMEOUT)?;
    let mut summary = ImportSummary::default();
    let mut batch: Vec<u8> = Vec::new();
    let mut in_flight: Vec<usize> = Vec::new();
    let mut lines = input.split(b'\n').enumerate();
    loop {
        let next = lines.next();
        let done = next.is_none();
        if let Some((index, line)) = next {
            let number = index + 1;
            let line = line.map_err(|e| format!("reading line {number}: {e}"))?;
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match line_key(line) {
                Ok(key) => {
                    let mut args: Vec<&[u8]> = vec![b"CACHE.IMPORT", &key, line];
                    if replace {
                        args.push(b"REPLACE");
                    }
                    encode(&args, &mut batch);
                    in_flight.push(number);
                }
                Err(reason) => summary
                    .failed
                    .push((number, format!("ERR invalid import line: {reason}"))),
            }
        }
        if in_flight.len() >= PIPELINE || (done && !in_flight.is_empty()) {
            conn.send(&batch)?;
            batch.clear();
            for number in in_flight.drain(..) {
                match conn.read()? {
                    Frame::Integer(1) => summary.stored += 1,
                    Frame::Integer(_) => summary.expired += 1,
                    Frame::Error(text) => summary
                        .failed
                        .push((number, String::from_utf8_lossy(&text).into_owned())),
                    other => summary
                        .failed
                        .push((number, format!("an unexpected reply {other:?}"))),
                }
            }
        }
        if done {
            break;
        }
    }
    summary.failed.sort_by_key(|(number, _)| *number);
    Ok(summary)
}
