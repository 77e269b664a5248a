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
        let redis = RedisServer::start();
        let cachet = TestServer::start();
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
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(show(args));
        if ours != theirs {
            let recent: Vec<_> = self.history.iter().cloned().collect();
            panic!(
                "replies differ after {} equal ones\nrequest: {}\n  redis:  {}\n  cachet: {}\nlast requests:\n  {}",
                self.compared,
                show(args),
                shorten(&theirs),
                shorten(&ours),
                recent.join("\n  ")
            );
        }
        self.compared += 1;
        ours
    }

    /// `check` for string arguments.
    pub fn check_str(&mut self, args: &[&str]) -> Vec<u8> {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.check(&bytes)
    }
}
