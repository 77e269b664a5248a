//! The clients in MONITOR mode and the feed they read (Redis's `replicationFeedMonitors`): every
//! command run, once it ran, as one status line `+<unix time with µs> [<db> <client addr>] "arg"
//! ...`, arguments quoted as Redis's `sdscatrepr`.
//!
//! A monitor receives the lines through its pub/sub inbox (`state::pubsub`), so a monitor that
//! does not read falls under `client-output-buffer-limit` like any receiver and is disconnected
//! at its class's limit instead of holding memory without bound. With no monitor the hot path
//! pays one atomic load.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::pubsub::{Message, PubSub, Subscriber};
use crate::sync::LockExt;

#[derive(Default)]
pub struct Monitors {
    count: AtomicUsize,
    subscribers: Mutex<Vec<Arc<Subscriber>>>,
}

impl Monitors {
    /// Whether any client monitors: the only cost of MONITOR for everybody else.
    #[inline]
    pub fn any(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    pub fn add(&self, subscriber: Arc<Subscriber>) {
        let mut subscribers = self.subscribers.lock_or_recover();
        if subscribers.iter().all(|s| s.info.id != subscriber.info.id) {
            subscribers.push(subscriber);
            self.count.store(subscribers.len(), Ordering::Relaxed);
        }
    }

    /// A monitor left (RESET, or its connection closed).
    pub fn remove(&self, id: u64) {
        let mut subscribers = self.subscribers.lock_or_recover();
        subscribers.retain(|s| s.info.id != id);
        self.count.store(subscribers.len(), Ordering::Relaxed);
    }

    /// Queues `line` (a complete status reply) for every monitor but `sender`, whose connection
    /// writes it after its reply.
    pub fn feed(&self, pubsub: &PubSub, line: &Bytes, sender: u64) {
        let subscribers = self.subscribers.lock_or_recover().clone();
        let message = Message::raw(line.clone());
        for subscriber in subscribers.iter().filter(|s| s.info.id != sender) {
            pubsub.push(subscriber, message.clone());
        }
    }
}

/// Appends `arg` quoted as Redis's `sdscatrepr`: in double quotes, `\\` `\"` `\n` `\r` `\t` `\a`
/// `\b` escaped, other bytes that are not printable ASCII as `\xhh`.
pub fn push_repr(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'"');
    for &byte in arg {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            b' '..=b'~' => out.push(byte),
            _ => out.extend_from_slice(format!("\\x{byte:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// One MONITOR line: `+1700000000.123456 [0 127.0.0.1:5555] "SET" "k" "v"\r\n`; `origin` is the
/// client's address.
pub fn line(unix_micros: u128, db: usize, origin: &str, args: &[Bytes]) -> Bytes {
    let mut out = Vec::with_capacity(48 + args.iter().map(|a| a.len() + 3).sum::<usize>());
    out.extend_from_slice(
        format!(
            "+{}.{:06} [{db} {origin}] ",
            unix_micros / 1_000_000,
            unix_micros % 1_000_000
        )
        .as_bytes(),
    );
    for (index, arg) in args.iter().enumerate() {
        if index > 0 {
            out.push(b' ');
        }
        push_repr(&mut out, arg);
    }
    out.extend_from_slice(b"\r\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_as_sdscatrepr() {
        let mut out = Vec::new();
        push_repr(&mut out, b"a \"b\"\\\n\r\t\x07\x08\x00\xff~");
        assert_eq!(
            out,
            b"\"a \\\"b\\\"\\\\\\n\\r\\t\\a\\b\\x00\\xff~\"".to_vec()
        );
    }

    #[test]
    fn line_format() {
        let args = [Bytes::from("SET"), Bytes::from("k"), Bytes::from("")];
        assert_eq!(
            &line(1_700_000_000_000_042, 3, "127.0.0.1:5555", &args)[..],
            b"+1700000000.000042 [3 127.0.0.1:5555] \"SET\" \"k\" \"\"\r\n"
        );
    }
}
