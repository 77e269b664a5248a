//! The CI-sized differential check: a fixed corpus of requests (`diff_vs_redis/corpus.txt`, written
//! by `scripts/diff-vs-redis.py --emit-corpus` from commands both servers answered alike) is sent
//! to a real `redis-server` 7.0 and to cachet, and every reply must be the same bytes. The script
//! is the exploration (random sequences, normalised differences); this test keeps what agrees from
//! regressing. `redis-server` runs as a child process on a free port, killed when the test ends,
//! also on failure.

mod common;
#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/resp.rs"]
mod resp;

use std::time::Duration;

use cachet::engine::policy::Policy;
use common::TestServer;
use fleet::RedisServer;
use resp::{show, Conn, Read1};

const CORPUS: &str = include_str!("diff_vs_redis/corpus.txt");
const SENTINEL: &[u8] = b"diff-sentinel";
const TIMEOUT: Duration = Duration::from_secs(5);

/// The keys of every type and encoding, as `prepare()` in the script (keep them the same).
fn prepare() -> Vec<Vec<Vec<u8>>> {
    let long = vec![b'v'; 100];
    let chunk = vec![b'l'; 9000];
    let words = |items: &[&[u8]]| items.iter().map(|a| a.to_vec()).collect::<Vec<_>>();
    vec![
        words(&[b"RESET"]),
        words(&[b"FLUSHALL"]),
        words(&[b"SET", b"safety:str", b"hello"]),
        words(&[b"SET", b"safety:int", b"12345"]),
        words(&[b"SET", b"safety:raw", &long]),
        words(&[b"HSET", b"safety:hash", b"f1", b"v1", b"f2", b"2"]),
        words(&[b"HSET", b"safety:hashbig", b"f1", &long, b"f2", b"2"]),
        words(&[b"RPUSH", b"safety:list", b"a", b"b", b"1", b"2"]),
        words(&[b"RPUSH", b"safety:listbig", &chunk, b"b", b"1"]),
        words(&[b"SADD", b"safety:intset", b"1", b"2", b"3"]),
        words(&[b"SADD", b"safety:set", b"a", b"b", b"1"]),
        words(&[b"ZADD", b"safety:zset", b"1", b"a", b"2", b"b", b"3", b"c"]),
        words(&[b"ZADD", b"safety:zsetbig", b"1", &long, b"2", b"b"]),
        words(&[b"SET", b"safety:volatile", b"v", b"EX", b"1000"]),
        words(&[b"XADD", b"safety:stream", b"1-1", b"f", b"v"]),
        words(&[b"XADD", b"safety:stream", b"2-1", b"f", b"v", b"g", b"w"]),
        words(&[b"XGROUP", b"CREATE", b"safety:stream", b"g", b"0"]),
    ]
}

/// One corpus argument: `%` alone is empty, `%XX` a byte.
fn decode(word: &str) -> Vec<u8> {
    if word == "%" {
        return Vec::new();
    }
    let bytes = word.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
            out.push(u8::from_str_radix(hex, 16).expect("hex byte"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// The replies to one request, up to the sentinel PING sent after it (several for SUBSCRIBE-like
/// commands), or what went wrong instead.
fn replies(conn: &mut Conn, request: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, String> {
    let sentinel = vec![b"PING".to_vec(), SENTINEL.to_vec()];
    conn.send(&[request.to_vec(), sentinel])
        .map_err(|e| format!("send: {e}"))?;
    let plain = format!(
        "${}\r\n{}\r\n",
        SENTINEL.len(),
        String::from_utf8_lossy(SENTINEL)
    );
    let subscribed = format!("*2\r\n$4\r\npong\r\n{plain}");
    let mut out = Vec::new();
    loop {
        match conn.read() {
            Read1::Reply(r) if r == plain.as_bytes() || r == subscribed.as_bytes() => {
                return Ok(out)
            }
            Read1::Reply(r) => out.push(r),
            Read1::Malformed(why, bytes) => {
                return Err(format!("malformed ({why}): {}", show(&bytes)))
            }
            Read1::Closed(_) => return Err("closed".into()),
            Read1::Timeout(_) => return Err("no reply".into()),
        }
    }
}

#[test]
fn corpus_answers_as_redis_does() {
    let redis = RedisServer::start();
    let cachet = TestServer::start_with(|c| c.maxmemory_policy = Policy::NoEviction);
    let redis_addr = format!("127.0.0.1:{}", redis.port)
        .parse()
        .expect("address");
    let mut theirs = Conn::connect(redis_addr, TIMEOUT).expect("connect to redis-server");
    let mut ours = Conn::connect(cachet.addr, TIMEOUT).expect("connect to cachet");
    let mut differences = Vec::new();
    let mut compared = 0;
    for (number, line) in CORPUS.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (requests, compare) = match line.strip_prefix("! ") {
            _ if line == "@prepare" => (prepare(), false),
            Some(rest) => (vec![rest.split(' ').map(decode).collect()], false),
            None => (vec![line.split(' ').map(decode).collect()], true),
        };
        for request in &requests {
            let (a, b) = (replies(&mut theirs, request), replies(&mut ours, request));
            if compare {
                compared += 1;
                if a != b {
                    let shown = |r: &Result<Vec<Vec<u8>>, String>| match r {
                        Ok(list) => list.iter().map(|x| show(x)).collect::<Vec<_>>().join(" | "),
                        Err(e) => e.clone(),
                    };
                    differences.push(format!(
                        "line {}: {line}\n  redis:  {}\n  cachet: {}",
                        number + 1,
                        shown(&a),
                        shown(&b)
                    ));
                }
            }
            // A closed or stuck connection is made again on both sides, in the same state.
            if a.is_err() || b.is_err() {
                theirs = Conn::connect(redis_addr, TIMEOUT).expect("reconnect to redis-server");
                ours = Conn::connect(cachet.addr, TIMEOUT).expect("reconnect to cachet");
            }
        }
    }
    eprintln!("{compared} requests compared");
    assert!(compared > 100, "only {compared} requests compared");
    assert!(
        differences.is_empty(),
        "{} of {compared} requests answered differently:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
