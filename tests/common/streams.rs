//! What the stream tests share (`stream.rs`, `stream_groups.rs`): requests to cachet and
//! redis-server side by side, DUMP payloads checked through redis-server, blocked clients. Include
//! after `mod common;`, `mod fleet;` and `mod differential;` with `#[path = "common/streams.rs"]
//! mod streams;`.
#![allow(dead_code)]

use std::net::TcpStream;

use crate::common::{call, RawClient};
use crate::differential::Differential;

/// Sends each line (split at spaces) to both servers; replies must be the same bytes. `dump
/// <key>` is checked through redis-server instead (`dump_restores_as_redis_dumps`).
pub fn same(d: &mut Differential, lines: &[&str]) {
    for line in lines {
        if let Some(key) = line.strip_prefix("dump ") {
            dump_restores_as_redis_dumps(d, key);
            continue;
        }
        let args: Vec<&str> = line.split(' ').collect();
        d.check_str(&args);
    }
}

/// cachet's DUMP of `key`, RESTOREd into redis-server, is the value redis-server holds at `key`:
/// redis-server DUMPs both the same. (The payloads themselves may differ where LZF compresses:
/// two compressors may encode the same bytes differently.) Pending entries and consumers carry
/// times, so the keys compared must have none (or equal ones).
pub fn dump_restores_as_redis_dumps(d: &mut Differential, key: &str) {
    let connect = |port: u16| RawClient {
        stream: TcpStream::connect(("127.0.0.1", port)).expect("connect"),
    };
    let (mut ours, mut theirs) = (connect(d.cachet.port()), connect(d.redis.port));
    let reply = ours.call(&[b"dump", key.as_bytes()]);
    let start = reply.iter().position(|&b| b == b'\n').expect("bulk") + 1;
    let payload = &reply[start..reply.len() - 2];
    let restored = theirs.call(&[b"restore", b"dump-copy", b"0", payload, b"replace"]);
    assert_eq!(
        String::from_utf8_lossy(&restored),
        "+OK\r\n",
        "RESTORE of cachet's DUMP {key}"
    );
    assert_eq!(
        theirs.call(&[b"dump", b"dump-copy"]),
        theirs.call(&[b"dump", key.as_bytes()]),
        "DUMP {key}"
    );
    theirs.call(&[b"del", b"dump-copy"]);
}

/// Sends one request (split at spaces) without reading its reply.
pub fn send(raw: &mut RawClient, request: &str) {
    let args: Vec<&str> = request.split(' ').collect();
    let mut frame = format!("*{}\r\n", args.len()).into_bytes();
    for arg in &args {
        frame.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    raw.send(&frame);
}

/// INFO's `blocked_clients`.
pub fn blocked_count(raw: &mut RawClient) -> usize {
    let info = String::from_utf8_lossy(&call(raw, "info clients")).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("blocked_clients")
}
