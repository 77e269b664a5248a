//! Differential testing against the specification: the same requests to an in-process cachet and
//! to a real `redis-server` child (killed by PID when dropped, also when a test fails), replies
//! compared byte for byte. Include after `mod common;` and `#[path = "common/fleet.rs"] mod
//! fleet;` with `#[path = "common/differential.rs"] mod differential;`.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::TestServer;
use crate::fleet::RedisServer;

/// Requests shown when replies differ.
const HISTORY: usize = 30;

/// A connection that reads whole replies through a buffer (values of several KiB are common).
pub struct Conn {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn connect(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        // Generous: the machine is shared; this only keeps a lost reply from hanging the test.
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        Conn {
            writer: stream.try_clone().expect("clone"),
            reader: BufReader::new(stream),
        }
    }

    /// Sends `args` as a multibulk request and returns the raw reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg);
            request.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&request).expect("write");
        let mut reply = Vec::new();
        self.read_value(&mut reply);
        reply
    }

    fn read_value(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        let read = self.reader.read_until(b'\n', out).expect("read reply");
        assert!(read > 0, "connection closed");
        let line = String::from_utf8_lossy(&out[start + 1..out.len() - 2]).into_owned();
        let count = || line.parse::<i64>().expect("length");
        match out[start] {
            b'$' | b'=' | b'!' if count() >= 0 => {
                let len = count() as usize + 2;
                let at = out.len();
                out.resize(at + len, 0);
                self.reader.read_exact(&mut out[at..]).expect("read bulk");
            }
            b'*' | b'~' | b'>' => (0..count().max(0)).for_each(|_| self.read_value(out)),
            b'%' | b'|' => (0..count().max(0) * 2).for_each(|_| self.read_value(out)),
            _ => {}
        }
    }
}

/// cachet and redis-server side by side.
pub struct Differential {
    pub cachet: TestServer,
    pub redis: RedisServer,
    ours: Conn,
    theirs: Conn,
    history: VecDeque<String>,
    /// Requests whose replies were compared.
    pub compared: usize,
}

fn show(args: &[&[u8]]) -> String {
    args.iter()
        .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shorten(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    if text.len() > 400 {
        format!(
            "{}... ({} bytes)",
            String::from_utf8_lossy(&reply[..400]),
            reply.len()
        )
    } else {
        text.into_owned()
    }
}

impl Differential {
    pub fn start() -> Differential {
        Differential::start_with(&[], |_| {})
    }

    /// `start`, with `redis_args` added to redis-server's command line and cachet's configuration
    /// changed by `configure`.
    pub fn start_with(
        redis_args: &[&str],
        configure: impl FnOnce(&mut cachet::ConfigValues),
    ) -> Differential {
        let redis = RedisServer::start_with_args(redis_args);
        let cachet = TestServer::start_with(configure);
        let ours = Conn::connect(cachet.port());
        let theirs = Conn::connect(redis.port);
        Differential {
            cachet,
            redis,
            ours,
            theirs,
            history: VecDeque::new(),
            compared: 0,
        }
    }

    /// Sends `args` to both and returns both replies, unchecked (HELLO, INFO...).
    pub fn both(&mut self, args: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        (self.ours.call(args), self.theirs.call(args))
    }

    /// Sends `args` to both and asserts the replies are the same bytes; returns the reply.
    pub fn check(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let (ours, theirs) = self.both(args);
        self.remember(args);
        if ours != theirs {
            self.differ(args, &ours, &theirs);
        }
        self.compared += 1;
        ours
    }

    /// `check` for replies that carry idle times (XINFO CONSUMERS, XPENDING's extended form): the
    /// two servers answer a few milliseconds apart, so an idle time may differ by up to
    /// `IDLE_SLACK_MS`; every other part of the reply must be the same bytes.
    pub fn check_idle(&mut self, args: &[&str]) -> Vec<u8> {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let (ours, theirs) = self.both(&bytes);
        self.remember(&bytes);
        let same = match (Reply::parse(&ours), Reply::parse(&theirs)) {
            (Some(a), Some(b)) => a.same_but_idle(&b),
            _ => false,
        };
        if !same {
            self.differ(&bytes, &ours, &theirs);
        }
        self.compared += 1;
        ours
    }

    fn remember(&mut self, args: &[&[u8]]) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(show(args));
    }

    fn differ(&self, args: &[&[u8]], ours: &[u8], theirs: &[u8]) -> ! {
        let recent: Vec<_> = self.history.iter().cloned().collect();
        panic!(
            "replies differ after {} equal ones\nrequest: {}\n  redis:  {}\n  cachet: {}\nlast requests:\n  {}",
            self.compared,
            show(args),
            shorten(theirs),
            shorten(ours),
            recent.join("\n  ")
        );
    }

    /// `check` for string arguments.
    pub fn check_str(&mut self, args: &[&str]) -> Vec<u8> {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.check(&bytes)
    }
}

/// How far apart two idle times read a few milliseconds apart may be.
const IDLE_SLACK_MS: i64 = 1000;

/// A reply as a tree, for comparisons that are not byte for byte.
#[derive(Debug)]
enum Reply {
    Integer(i64),
    Aggregate(Vec<Reply>),
    /// Any other reply, as its bytes.
    Other(Vec<u8>),
}

impl Reply {
    fn parse(bytes: &[u8]) -> Option<Reply> {
        let (reply, rest) = Reply::parse_one(bytes)?;
        rest.is_empty().then_some(reply)
    }

    fn parse_one(bytes: &[u8]) -> Option<(Reply, &[u8])> {
        let end = bytes.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&bytes[1..end]).ok()?;
        let rest = &bytes[end + 2..];
        match bytes[0] {
            b':' => Some((Reply::Integer(line.parse().ok()?), rest)),
            b'$' | b'=' | b'!' if line.parse::<i64>().ok()? >= 0 => {
                let len: usize = line.parse().ok()?;
                let body = rest.get(..len)?.to_vec();
                Some((Reply::Other(body), rest.get(len + 2..)?))
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let count: i64 = line.parse().ok()?;
                let count = if matches!(bytes[0], b'%' | b'|') {
                    count * 2
                } else {
                    count
                };
                let mut items = Vec::new();
                let mut rest = rest;
                for _ in 0..count.max(0) {
                    let (item, after) = Reply::parse_one(rest)?;
                    items.push(item);
                    rest = after;
                }
                Some((Reply::Aggregate(items), rest))
            }
            _ => Some((Reply::Other(bytes[..end].to_vec()), rest)),
        }
    }

    /// Equal, except that the integer after an `idle` name, and the third of an XPENDING row
    /// (ID, owner, idle, count), may differ by `IDLE_SLACK_MS`.
    fn same_but_idle(&self, other: &Reply) -> bool {
        match (self, other) {
            (Reply::Integer(a), Reply::Integer(b)) => a == b,
            (Reply::Other(a), Reply::Other(b)) => a == b,
            (Reply::Aggregate(a), Reply::Aggregate(b)) if a.len() == b.len() => {
                let pending_row = a.len() == 4
                    && matches!(
                        (&a[0], &a[1], &a[2], &a[3]),
                        (
                            Reply::Other(_),
                            Reply::Other(_),
                            Reply::Integer(_),
                            Reply::Integer(_)
                        )
                    );
                a.iter().zip(b).enumerate().all(|(at, (x, y))| {
                    let is_idle = (pending_row && at == 2)
                        || (at > 0 && matches!(&a[at - 1], Reply::Other(name) if name == b"idle"));
                    match (x, y) {
                        (Reply::Integer(x), Reply::Integer(y)) if is_idle => {
                            (x - y).abs() <= IDLE_SLACK_MS
                        }
                        _ => x.same_but_idle(y),
                    }
                })
            }
            _ => false,
        }
    }
}
