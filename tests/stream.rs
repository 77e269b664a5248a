//! Streams (XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID) against a real redis-server 7.0:
//! first the edge cases, each sent to both servers and the replies compared byte for byte (IDs at
//! 0-0 and u64::MAX, `<ms>-*`, exclusive ranges, trimming with `~` across node boundaries set by
//! `stream-node-max-entries`/`-bytes`, errors in Redis's order), then the keyspace events, then a
//! pseudo-random differential run. `*` IDs come from the clock, so they are checked on cachet
//! alone.

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/streams.rs"]
mod streams;

use std::net::TcpStream;

use common::{call, RawClient, TestServer};
use differential::Differential;
use streams::{blocked_count, same, send};

#[test]
fn xadd_ids_and_errors_as_redis() {
    let mut d = Differential::start();
    same(
        &mut d,
        &[
            // IDs: explicit, incomplete, `<ms>-*`, and the ends of the ID space.
            "xadd s 0-0 f v",
            "xadd s 0 f v",
            "xadd s 0-* f v",
            "exists s",
            "xadd s 0-1 f v",
            "xadd s 0-1 f v",
            "xadd s 0-* f v",
            "xadd s 5-* a 1",
            "xadd s 5-* a 2 b 3",
            "xadd s 5 a 1",
            "xadd s 4-* a 1",
            "xadd s 6-18446744073709551615 a 1",
            "xadd s 6-* a 1",
            "xadd s 18446744073709551615-* a 1",
            "xadd s 18446744073709551615-18446744073709551614 a 1",
            "xadd s 18446744073709551615-* a 1",
            "xadd s 18446744073709551615-* a 1",
            "xadd s * a 1",
            "xadd s 18446744073709551615-18446744073709551615 a 1",
            "xlen s",
            "xrange s - +",
            "xrevrange s + - count 3",
            // Bad IDs and how Redis reads them.
            "xadd t - f v",
            "xadd t + f v",
            "xadd t 1-2-3 f v",
            "xadd t abc f v",
            "xadd t 18446744073709551616 f v",
            "xadd t -1 f v",
            "xadd t 1--1 f v",
            "xadd t 1-*x f v",
            "xadd t +7 f v",
            "xadd t 007-0 f v",
            "xrange t - +",
            // Arity and options.
            "xadd t 9 f",
            "xadd t 9 f v g",
            "xadd t nomkstream",
            "xadd t maxlen 5",
            "xadd t nomkstream maxlen 1 10 f v",
            "xadd missing nomkstream * f v",
            "exists missing",
            "xadd t maxlen -1 11 f v",
            "xadd t maxlen x 11 f v",
            "xadd t maxlen 1 minid 5 11 f v",
            "xadd t minid 5 maxlen 1 11 f v",
            "xadd t minid - 11 f v",
            "xadd t minid + 11 f v",
            "xadd t limit 5 11 f v",
            "xadd t limit 0 11 f v",
            "xadd t maxlen 5 limit 5 11 f v",
            "xadd t maxlen ~ 5 limit -1 11 f v",
            "xadd t maxlen ~ 5 limit x 11 f v",
            "xadd t maxlen = 5 limit 5 11 f v",
            "xadd t maxlen ~ 5 limit 5 11 f v",
            "xadd t maxlen = 1 12 f v",
            "xadd t MAXLEN ~ 1 13 f v",
            "xadd t MiNiD = 13 14 f v",
            "xadd t minid ~ 14 15 f v",
            "xadd t limit 10 maxlen ~ 1 16 f v",
            "xadd t maxlen 0 17 f v",
            "xlen t",
            "xrange t - +",
            // Another type at the key: options are read first, then the type.
            "set str x",
            "xadd str 0-0 f v",
            "xadd str bad f v",
            "xadd str 1 f v",
            "xadd str nomkstream 1 f v",
            "type s",
            "object encoding s",
            "xlen str",
            "xlen missing",
            // Values stored as integers come back as the same text.
            "xadd ints 1 0 -1 12345678901234567 9223372036854775807 -9223372036854775808 x 007 18446744073709551616",
            "xadd ints 2 0 -1 12345678901234567 9223372036854775807 -9223372036854775808 x 007 18446744073709551616",
            "xadd ints 3 a b",
            "xrange ints - +",
            "dump ints",
            "dump s",
        ],
    );
    // Binary and empty fields.
    d.check(&[b"xadd", b"bin", b"1", b"", b"\x00\xff", b"f\r\n", b""]);
    d.check(&[b"xrange", b"bin", b"-", b"+"]);
}

#[test]
fn ranges_as_redis() {
    let mut d = Differential::start();
    let mut lines = Vec::new();
    for ms in 1..=6 {
        for seq in 0..3 {
            lines.push(format!("xadd s {ms}-{seq} f {ms}.{seq}"));
        }
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    same(&mut d, &lines);
    same(
        &mut d,
        &[
            "xrange s - +",
            "xrange s 2 4",
            "xrange s 2-1 4-1",
            "xrange s (2-1 (4-1",
            "xrange s (2 (4",
            "xrevrange s (4-1 (2-1",
            "xrevrange s 4 2",
            "xrange s 4 2",
            "xrevrange s 2 4",
            "xrange s ( +",
            "xrange s (- +",
            "xrange s - (+",
            "xrange s (18446744073709551615-18446744073709551615 +",
            "xrange s - (0-0",
            "xrange s - (0",
            "xrange s (0-0 (2",
            "xrange s 18446744073709551615 +",
            "xrange s - + count 0",
            "xrange s - + count -5",
            "xrange s - + count 2",
            "xrevrange s + - count 2",
            "xrange s - + COUNT 2 count 4",
            "xrange s - + count",
            "xrange s - + count x",
            "xrange s - + limit 2",
            "xrange s x +",
            "xrange s - x",
            "xrange s 1-2-3 +",
            "xrange missing - + count 0",
            "xrange missing x +",
            "set str x",
            "xrange str - +",
            "xrange str x +",
            "xrevrange str + - count 0",
        ],
    );
    // RESP3 gives the same arrays.
    d.both(&[b"hello", b"3"]);
    same(
        &mut d,
        &[
            "xrange s - + count 2",
            "xrange s - + count 0",
            "xadd s nomkstream 9 f v",
            "xadd missing nomkstream 9 f v",
        ],
    );
}

#[test]
fn deletes_trims_and_setid_as_redis() {
    let mut d = Differential::start();
    same(&mut d, &["config set stream-node-max-entries 4"]);
    let mut lines = Vec::new();
    for ms in 1..=30 {
        lines.push(format!("xadd s {ms} f v{ms}"));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    same(&mut d, &lines);
    same(
        &mut d,
        &[
            // XDEL: the key is looked up before the IDs are read.
            "xdel missing bad",
            "set str x",
            "xdel str bad",
            "xdel s bad",
            "xdel s 1 +",
            "xdel s 1 2 2 99",
            "xdel s 1",
            "xdel s 3-0 4",
            "xlen s",
            "xinfo stream s",
            "dump s",
            "xrange s - + count 3",
            // XTRIM: options first; `~` drops whole nodes only.
            "xtrim s",
            "xtrim s maxlen",
            "xtrim s nomkstream maxlen 1",
            "xtrim s maxlen 1 minid 2",
            "xtrim s limit 2",
            "xtrim s maxlen 10 limit 2",
            "xtrim missing maxlen 0",
            "xtrim str maxlen 0",
            "xtrim str bad 0",
            "xtrim s maxlen ~ 24",
            "xlen s",
            "xtrim s maxlen ~ 20",
            "xlen s",
            "xtrim s maxlen ~ 10 limit 4",
            "xlen s",
            "xtrim s maxlen ~ 10 limit 3",
            "xlen s",
            "xtrim s maxlen = 18",
            "xrange s - + count 2",
            "xtrim s minid ~ 22",
            "xtrim s minid 22",
            "xrange s - + count 2",
            "xtrim s minid 0",
            "xinfo stream s",
            "xinfo stream s full",
            "xinfo stream s full count 2",
            "xtrim s maxlen 100",
            // XSETID: options first, then the key, then the stream's own bounds.
            "xsetid s 1-*",
            "xsetid s +",
            "xsetid s 99 entriesadded -1",
            "xsetid s 99 entriesadded x",
            "xsetid s 99 maxdeletedid 100",
            "xsetid s 99 maxdeletedid x",
            "xsetid s 99 bogus 1",
            "xsetid s 99 entriesadded",
            "xsetid missing 5",
            "xsetid str 5",
            "xsetid s 29",
            "xsetid s 30 entriesadded 2",
            "xsetid s 30-5 entriesadded 40 maxdeletedid 30-1",
            "dump s",
            "xadd s 30-5 f v",
            "xadd s 30-* f v",
            "xsetid s 18446744073709551615-18446744073709551615",
            "xadd s * f v",
            "xtrim s maxlen 0",
            "xlen s",
            "exists s",
            "xsetid s 5",
            "xadd s 6 f v",
            "xdel s 6",
            "exists s",
            "xrange s - +",
        ],
    );
}

/// Node boundaries decide what `~` removes: with small nodes, by entries and by bytes, both
/// servers keep the same entries after every approximate trim.
#[test]
fn approximate_trimming_follows_node_limits() {
    let mut d = Differential::start();
    for (bytes, entries) in [
        ("4096", "100"),
        ("0", "3"),
        ("100", "0"),
        ("64", "2"),
        ("0", "0"),
    ] {
        same(
            &mut d,
            &[
                "del s",
                &format!("config set stream-node-max-bytes {bytes}"),
                &format!("config set stream-node-max-entries {entries}"),
            ],
        );
        for i in 1..=40 {
            let value = "x".repeat(i % 7 * 5);
            d.check_str(&[
                "xadd",
                "s",
                "maxlen",
                "~",
                "25",
                &i.to_string(),
                "f",
                &value,
                "n",
                &i.to_string(),
            ]);
            if i % 5 == 0 {
                d.check_str(&["xlen", "s"]);
            }
        }
        same(
            &mut d,
            &[
                "xtrim s maxlen ~ 10",
                "xlen s",
                "xtrim s minid ~ 35",
                "xrange s - + count 1",
                "xtrim s maxlen ~ 0 limit 1",
                "xlen s",
                "dump s",
            ],
        );
    }
    same(
        &mut d,
        &[
            "config get stream-node-max-bytes",
            "config get stream-node-max-entries",
            "config set stream-node-max-entries -1",
            "config set stream-node-max-bytes 1k",
            "config get stream-node-max-bytes",
        ],
    );
}

/// Reads pushed messages until the `sentinel` channel's.
fn events_until_sentinel(subscriber: &mut RawClient) -> Vec<Vec<u8>> {
    let mut events = Vec::new();
    loop {
        let event = subscriber.read_reply();
        assert!(!event.is_empty(), "subscriber closed");
        if event.windows(8).any(|w| w == b"sentinel") {
            return events;
        }
        events.push(event);
    }
}

#[test]
fn keyspace_events_as_redis() {
    let mut d = Differential::start();
    same(&mut d, &["config set notify-keyspace-events KEA"]);
    let mut subscribers: Vec<RawClient> = [d.redis.port, d.cachet.port()]
        .iter()
        .map(|&port| RawClient {
            stream: TcpStream::connect(("127.0.0.1", port)).expect("connect"),
        })
        .collect();
    for subscriber in &mut subscribers {
        call(
            subscriber,
            "psubscribe __keyevent@0__:* __keyspace@0__:* sentinel",
        );
        subscriber.read_reply();
        subscriber.read_reply();
    }
    same(
        &mut d,
        &[
            "xadd s 1 f v",
            "xadd s 2 f v",
            "xadd s maxlen 1 3 f v",
            "xadd s maxlen 5 4 f v",
            "xdel s 99",
            "xdel s 3",
            "xtrim s maxlen 5",
            "xtrim s maxlen 0",
            "xsetid s 10",
            "xadd s nomkstream 11 f v",
            "xadd other nomkstream 11 f v",
            "xadd s 0-1 f v",
            "publish sentinel done",
        ],
    );
    let redis = events_until_sentinel(&mut subscribers[0]);
    let ours = events_until_sentinel(&mut subscribers[1]);
    let show = |events: &[Vec<u8>]| {
        events
            .iter()
            .map(|e| String::from_utf8_lossy(e).replace("\r\n", " "))
            .collect::<Vec<_>>()
    };
    assert!(redis.len() >= 16, "{:?}", show(&redis));
    assert_eq!(show(&ours), show(&redis));
}

/// `*` takes the clock's milliseconds, never going back: after XSETID into the future it counts
/// sequences in the last millisecond instead.
#[test]
fn star_ids_follow_the_clock() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    };
    let id_of = |reply: &[u8]| -> (u64, u64) {
        let text = String::from_utf8_lossy(reply);
        let id = text.lines().nth(1).expect("bulk").to_string();
        let (ms, seq) = id.split_once('-').expect("ms-seq");
        (ms.parse().unwrap(), seq.parse().unwrap())
    };
    let before = now_ms();
    let first = id_of(&call(&mut raw, "xadd s * f v"));
    let after = now_ms();
    assert!(
        first.0 >= before && first.0 <= after,
        "{first:?} not in {before}..={after}"
    );
    let mut last = first;
    for _ in 0..200 {
        let id = id_of(&call(&mut raw, "xadd s * f v"));
        assert!(id > last, "{id:?} after {last:?}");
        last = id;
    }
    let future = now_ms() + 3_600_000;
    call(&mut raw, format!("xsetid s {future}-7").as_str());
    assert_eq!(id_of(&call(&mut raw, "xadd s * f v")), (future, 8));
    assert_eq!(
        id_of(&call(&mut raw, format!("xadd s {future}-* f v").as_str())),
        (future, 9)
    );
}

/// A small deterministic generator (xorshift), so a failing run can be replayed by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// An ID near the stream's recent ones: sometimes incomplete, `-`/`+`, exclusive, or invalid.
fn some_id(rng: &mut Rng, top: u64, range: bool) -> String {
    let ms = rng.below(top + 3);
    let base = match rng.below(10) {
        0 => ms.to_string(),
        1 if range => "-".to_string(),
        2 if range => "+".to_string(),
        3 if rng.chance(10) => "bad".to_string(),
        4 if rng.chance(5) => "18446744073709551615-18446744073709551615".to_string(),
        _ => format!("{ms}-{}", rng.below(3)),
    };
    if range && rng.chance(20) {
        format!("({base}")
    } else {
        base
    }
}

fn trim_options(rng: &mut Rng, top: u64, args: &mut Vec<String>) {
    if rng.chance(50) {
        args.push("maxlen".into());
    } else {
        args.push("minid".into());
    }
    let is_maxlen = args.last().is_some_and(|a| a == "maxlen");
    match rng.below(3) {
        0 => args.push("~".into()),
        1 => args.push("=".into()),
        _ => {}
    }
    args.push(if is_maxlen {
        rng.below(40).to_string()
    } else {
        some_id(rng, top, false)
    });
    if rng.chance(20) {
        args.push("limit".into());
        args.push(rng.below(30).to_string());
    }
}

#[test]
fn random_sequences_match_redis() {
    let seed: u64 = std::env::var("STREAM_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let total: usize = std::env::var("STREAM_DIFF_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6_000);
    let mut d = Differential::start();
    let mut rng = Rng(seed | 1);
    let mut top = 1;
    for sent in 0..total {
        if sent % 500 == 0 {
            let entries = ["0", "1", "3", "10", "100"][rng.below(5) as usize];
            let bytes = ["0", "50", "200", "4096"][rng.below(4) as usize];
            d.check_str(&["config", "set", "stream-node-max-entries", entries]);
            d.check_str(&["config", "set", "stream-node-max-bytes", bytes]);
        }
        let key = format!("s{}", rng.below(3));
        let mut args: Vec<String> = Vec::new();
        match rng.below(20) {
            0..=7 => {
                args.extend(["xadd".into(), key]);
                if rng.chance(5) {
                    args.push("nomkstream".into());
                }
                if rng.chance(30) {
                    trim_options(&mut rng, top, &mut args);
                }
                if rng.chance(70) {
                    top += rng.below(3);
                }
                args.push(match rng.below(4) {
                    0 => format!("{top}-*"),
                    _ => some_id(&mut rng, top, false),
                });
                for f in 0..1 + rng.below(3) {
                    args.push(["f", "g", "h"][f as usize].into());
                    args.push(match rng.below(3) {
                        0 => rng.below(1000).to_string(),
                        1 => "x".repeat(rng.below(40) as usize),
                        _ => format!("v{}", rng.below(10)),
                    });
                }
            }
            8..=9 => {
                args.extend(["xdel".into(), key]);
                for _ in 0..1 + rng.below(4) {
                    args.push(some_id(&mut rng, top, false));
                }
            }
            10..=11 => {
                args.extend(["xtrim".into(), key]);
                trim_options(&mut rng, top, &mut args);
            }
            12..=15 => {
                let rev = rng.chance(50);
                args.extend([if rev { "xrevrange" } else { "xrange" }.into(), key]);
                args.push(some_id(&mut rng, top, true));
                args.push(some_id(&mut rng, top, true));
                if rng.chance(40) {
                    args.push("count".into());
                    args.push((rng.below(8) as i64 - 1).to_string());
                }
            }
            16 => args.extend(["xlen".into(), key]),
            17 => {
                args.extend(["xsetid".into(), key]);
                args.push(some_id(&mut rng, top + 2, false));
                if rng.chance(30) {
                    args.push("entriesadded".into());
                    args.push(rng.below(60).to_string());
                }
                if rng.chance(30) {
                    args.push("maxdeletedid".into());
                    args.push(some_id(&mut rng, top, false));
                }
            }
            18 if rng.chance(50) => args.extend(["del".into(), key]),
            18 => {
                args.extend(["xinfo".into(), "stream".into(), key]);
                if rng.chance(30) {
                    args.extend(["full".into(), "count".into(), rng.below(4).to_string()]);
                }
            }
            _ => args.extend(["type".into(), key]),
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        d.check_str(&args);
    }
    assert!(d.compared >= total);
}

#[test]
fn xread_as_redis() {
    let mut d = Differential::start();
    same(
        &mut d,
        &[
            "xadd a 1 f 1",
            "xadd a 2 f 2",
            "xadd a 3 f 3",
            "xadd b 5 g 5",
            "set str x",
            // Errors, in Redis's order.
            "xread streams a",
            "xread streams a b 0",
            "xread count 1 a 0",
            "xread count x streams a 0",
            "xread block x streams a 0",
            "xread block -1 streams a 0",
            "xread block 1.5 streams a 0",
            "xread group g c streams a 0",
            "xread noack streams a 0",
            "xread count 1",
            "xread streams a >",
            "xread streams a +",
            "xread streams a -",
            "xread streams a bad",
            "xread streams str a bad 0",
            "xread streams a str 0 bad",
            "xread streams a str 0 0",
            // Reads.
            "xread streams a 0",
            "xread count 2 streams a 0",
            "xread count 0 streams a 1",
            "xread count -3 streams a b 1 0",
            "xread streams a b missing 3 4 0",
            "xread streams a b $ $",
            "xread streams a 3",
            "xread streams a (1",
            "xread streams a 18446744073709551615-18446744073709551615",
            "xread STREAMS a 1-1 streams 0",
            "xread block 10 streams a 1",
            "xread count 1 block 0 streams a b 0 0",
            "multi",
            "xread block 0 streams a $",
            "xread block 0 streams a 0",
            "exec",
            "xdel a 3",
            "xread streams a 2",
        ],
    );
    d.both(&[b"hello", b"3"]);
    same(
        &mut d,
        &[
            "xread streams a b 0 0",
            "xread streams a 9",
            "xread count 1 streams a 0",
        ],
    );
}

/// A client blocked by `request` on each server, then `wake` run on each, the blocked clients'
/// replies compared.
fn blocked_then_woken(setup: &[&str], request: &str, wake: &[&str], resp3: bool) {
    let mut d = Differential::start();
    same(&mut d, setup);
    let ports = [d.redis.port, d.cachet.port()];
    let mut replies = Vec::new();
    for port in ports {
        let connect = || RawClient {
            stream: TcpStream::connect(("127.0.0.1", port)).expect("connect"),
        };
        let (mut waiter, mut other) = (connect(), connect());
        if resp3 {
            call(&mut waiter, "hello 3");
        }
        send(&mut waiter, request);
        fleet::wait_until("the client to block", || blocked_count(&mut other) == 1);
        for line in wake {
            call(&mut other, *line);
        }
        replies.push(String::from_utf8_lossy(&waiter.read_reply()).into_owned());
    }
    assert_eq!(replies[1], replies[0], "{request} woken by {wake:?}");
}

#[test]
fn blocked_xread_served_as_redis() {
    blocked_then_woken(
        &["xadd s 1 f v"],
        "xread block 0 streams s $",
        &["xadd s 2 f v"],
        false,
    );
    blocked_then_woken(
        &["xadd s 1 f v"],
        "xread block 0 streams s $",
        &["xadd s 2 f v"],
        true,
    );
    // Only the stream that got entries is in the reply, at most COUNT of them.
    blocked_then_woken(
        &["xadd s 1 f v", "xadd t 1 f v"],
        "xread count 2 block 0 streams s t $ $",
        &[
            "multi",
            "xadd t 2 a 1",
            "xadd t 3 b 2",
            "xadd t 4 c 3",
            "xadd s 9 x y",
            "exec",
        ],
        false,
    );
    // A missing stream waits from 0-0; a deleted then re-typed key keeps the client waiting.
    blocked_then_woken(
        &["xadd s 5 f v"],
        "xread block 0 streams missing s 0 $",
        &["del s", "set s x", "del s", "xadd missing 1-1 f v"],
        false,
    );
    // XSETID alone wakes nobody; the next entry does.
    blocked_then_woken(
        &["xadd s 1 f v"],
        "xread block 0 streams s $",
        &["xsetid s 10", "xadd s 11 f v"],
        false,
    );
}

#[test]
fn blocked_xread_timeouts_unblock_and_many_waiters() {
    let server = TestServer::start();
    let mut other = server.raw();
    call(&mut other, "xadd s 1 f v");
    // A timeout answers the null array.
    let mut waiter = server.raw();
    assert_eq!(call(&mut waiter, "xread block 20 streams s $"), b"*-1\r\n");
    // CLIENT UNBLOCK: as a timeout, or with the UNBLOCKED error.
    let id = String::from_utf8_lossy(&call(&mut waiter, "client id"))
        .trim_start_matches(':')
        .trim()
        .to_string();
    for (how, expected) in [
        ("timeout", &b"*-1\r\n"[..]),
        (
            "error",
            &b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"[..],
        ),
    ] {
        send(&mut waiter, "xread block 0 streams s $");
        fleet::wait_until("the client to block", || blocked_count(&mut other) == 1);
        assert_eq!(
            call(&mut other, format!("client unblock {id} {how}").as_str()),
            b":1\r\n"
        );
        assert_eq!(waiter.read_reply(), expected, "{how}");
    }
    // Many waiters on one stream are all served by one entry (XREAD does not consume).
    let mut waiters: Vec<RawClient> = (0..5).map(|_| server.raw()).collect();
    for w in &mut waiters {
        send(w, "xread block 0 streams s $");
    }
    fleet::wait_until("five clients to block", || blocked_count(&mut other) == 5);
    call(&mut other, "xadd s 2 f v");
    let expected = b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n";
    for w in &mut waiters {
        assert_eq!(
            String::from_utf8_lossy(&w.read_reply()),
            String::from_utf8_lossy(expected)
        );
    }
    assert_eq!(blocked_count(&mut other), 0);
}
