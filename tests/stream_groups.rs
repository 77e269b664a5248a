//! Consumer groups (XGROUP, XACK, XREADGROUP) against a real redis-server 7.0: edge cases first
//! (errors in Redis's order, `$` and `-`/`+` IDs, MKSTREAM, ENTRIESREAD, history of deleted
//! entries, pending entries of deleted consumers, NOACK), then blocked XREADGROUP (served from the
//! group's last ID, NOGROUP after DESTROY, UNBLOCKED when the key goes, XREAD waiting on), then
//! a pseudo-random run. Replies compared byte for byte; DUMP payloads through redis-server's
//! RESTORE.

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/streams.rs"]
mod streams;

use std::net::TcpStream;

use common::{call, RawClient};
use differential::Differential;
use streams::{blocked_count, same, send};

#[test]
fn xgroup_as_redis() {
    let mut d = Differential::start();
    same(
        &mut d,
        &[
            "set str x",
            "xgroup",
            "xgroup help",
            "xgroup help x",
            "xgroup bogus s g",
            "xgroup create s",
            "xgroup create s g $",
            "xgroup create s g $ bogus",
            "xgroup create s g $ entriesread",
            "xgroup create s g $ entriesread x",
            "xgroup create s g $ entriesread -2",
            "xgroup create str g $",
            "xgroup create str g $ mkstream",
            "xgroup create s g bad mkstream",
            "xgroup create s g + mkstream",
            "xgroup create s g $ mkstream",
            "exists s",
            "type s",
            "xlen s",
            "xgroup create s g $",
            "xgroup create s g2 0 mkstream",
            "xgroup create s g3 5-5 entriesread 3 mkstream mkstream",
            "xgroup create s g4 5 entriesread -1 mkstream entriesread 7 x",
            "xgroup setid s nogroup 0",
            "xgroup setid missing g 0",
            "xgroup setid s g bad",
            "xgroup setid s g -",
            "xgroup setid s g +",
            "xgroup setid s g $ entriesread 5",
            "xgroup setid s g 0 mkstream",
            "xgroup setid s g 0 entriesread 1 x",
            "xgroup createconsumer s g c1",
            "xgroup createconsumer s g c1",
            "xgroup createconsumer s nogroup c1",
            "xgroup createconsumer missing g c1",
            "xgroup createconsumer str g c1",
            "xgroup delconsumer s g c1",
            "xgroup delconsumer s g c1",
            "xgroup delconsumer s nogroup c1",
            "xgroup destroy s g2",
            "xgroup destroy s g2",
            "xgroup destroy missing g2",
            "xgroup destroy str g2",
            "xack missing g 0",
            "xack str g 0",
            "xack s nogroup bad",
            "xack s g bad",
            "xack s g 1 2",
            "dump s",
        ],
    );
}

#[test]
fn xreadgroup_as_redis() {
    let mut d = Differential::start();
    let mut lines: Vec<String> = (1..=6).map(|i| format!("xadd s {i} f v{i}")).collect();
    lines.push("xadd t 1 a b".into());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    same(&mut d, &lines);
    same(
        &mut d,
        &[
            "set str x",
            "xgroup create s g 0",
            "xgroup create t g $",
            // Errors, in Redis's order.
            "xreadgroup streams s >",
            "xreadgroup group g c streams s",
            "xreadgroup group g c count x streams s >",
            "xreadgroup group g c block -1 streams s >",
            "xreadgroup group g c bogus streams s >",
            "xreadgroup group g c streams s $",
            "xreadgroup group g c streams s bad",
            "xreadgroup group g c streams s +",
            "xreadgroup group nogroup c streams s >",
            "xreadgroup group g c streams missing >",
            "xreadgroup group g c streams str >",
            "xreadgroup group g c streams s str > >",
            // New entries, then the consumer's history.
            "xreadgroup group g alice count 2 streams s >",
            "xreadgroup group g bob count 1 streams s >",
            "xreadgroup group g alice streams s 0",
            "xreadgroup group g bob streams s 0",
            "xreadgroup group g carol streams s 0",
            "xreadgroup group g alice count 1 streams s 1",
            "xreadgroup group g alice streams s 18446744073709551615-18446744073709551615",
            "xreadgroup group g alice streams s t > >",
            "xreadgroup group g alice streams s >",
            "xadd t 2 c d",
            "xreadgroup group g alice noack streams s t > >",
            "xreadgroup group g alice streams t 0",
            // Deleted entries stay pending, read back as an ID and a null.
            "xdel s 1 4",
            "xreadgroup group g alice streams s 0",
            "xreadgroup group g bob streams s 0",
            "xack s g 1 3 99",
            "xack s g 1",
            "xreadgroup group g alice streams s 0",
            // A deleted consumer's pending entries go with it.
            "xgroup delconsumer s g alice",
            "xreadgroup group g alice streams s 0",
            "xgroup createconsumer s g alice",
            // SETID back: entries are delivered again, taken from their previous owner.
            "xgroup setid s g 0",
            "xreadgroup group g carol count 2 streams s >",
            "xreadgroup group g bob streams s 0",
            "xreadgroup group g carol streams s 0",
            "xgroup setid s g 18446744073709551615-18446744073709551615",
            "xreadgroup group g carol streams s >",
            "multi",
            "xreadgroup group g carol block 0 streams s >",
            "exec",
        ],
    );
    d.both(&[b"hello", b"3"]);
    same(
        &mut d,
        &[
            "xgroup setid s g 0",
            "xreadgroup group g dave count 1 streams s t > 0",
            "xreadgroup group g dave streams s >",
        ],
    );
}

/// Clients blocked by `requests` (in order) on each server, then `wake` run on each; every blocked
/// client's reply compared, in order.
fn blocked_then_woken(setup: &[&str], requests: &[&str], wake: &[&str]) {
    let mut d = Differential::start();
    same(&mut d, setup);
    let mut replies = Vec::new();
    for port in [d.redis.port, d.cachet.port()] {
        let connect = || RawClient {
            stream: TcpStream::connect(("127.0.0.1", port)).expect("connect"),
        };
        let mut other = connect();
        let mut waiters: Vec<RawClient> = requests.iter().map(|_| connect()).collect();
        for (n, (waiter, request)) in waiters.iter_mut().zip(requests).enumerate() {
            send(waiter, request);
            fleet::wait_until("the client to block", || blocked_count(&mut other) == n + 1);
        }
        for line in wake {
            match line.strip_prefix("wait-gone ") {
                // Until expiry (active, or lazy on this lookup) has taken the key.
                Some(key) => fleet::wait_until("the key to expire", || {
                    call(&mut other, &format!("exists {key}")) == b":0\r\n"
                }),
                None => {
                    call(&mut other, *line);
                }
            }
        }
        let got: Vec<String> = waiters
            .iter_mut()
            .map(|w| String::from_utf8_lossy(&w.read_reply()).into_owned())
            .collect();
        replies.push(got);
    }
    assert_eq!(replies[1], replies[0], "{requests:?} woken by {wake:?}");
}

#[test]
fn blocked_xreadgroup_as_redis() {
    let setup = ["xadd s 1 f v", "xgroup create s g $"];
    // Many consumers of one group: each entry goes to one of them, in the order they blocked.
    blocked_then_woken(
        &setup,
        &[
            "xreadgroup group g a block 0 streams s >",
            "xreadgroup group g b block 0 streams s >",
            "xreadgroup group g c count 1 block 0 streams s >",
        ],
        &[
            "xadd s 2 f v",
            "multi",
            "xadd s 3 f v",
            "xadd s 4 f v",
            "exec",
            "xadd s 5 f v",
        ],
    );
    blocked_then_woken(
        &setup,
        &["xreadgroup group g a block 0 streams s >"],
        &["xgroup destroy s g"],
    );
    blocked_then_woken(
        &setup,
        &["xreadgroup group g a block 0 streams s >"],
        &["del s"],
    );
    blocked_then_woken(
        &setup,
        &["xreadgroup group g a block 0 streams s >"],
        &["set s x"],
    );
    // An entry added and deleted again leaves the stream's last ID past the group's, yet there
    // is nothing to deliver: Redis blocks (its own stream-cgroups.tcl, issue #5299), and once
    // woken serves what the next XADD brings, or an empty reply when that entry went too.
    let ran_dry = [
        "xgroup create s g $ mkstream",
        "xadd s 666 f v",
        "xdel s 666",
    ];
    blocked_then_woken(
        &ran_dry,
        &["xreadgroup group g a block 0 streams s >"],
        &["xadd s 667 f v"],
    );
    let delivered_then_deleted = [
        "xgroup create s g $ mkstream",
        "xadd s 666 f v",
        "xreadgroup group g a streams s >",
        "xadd s 667 f v",
        "xdel s 667",
    ];
    blocked_then_woken(
        &delivered_then_deleted,
        &["xreadgroup group g a block 0 streams s >"],
        &["multi", "xadd s 668 f v", "xdel s 668", "exec"],
    );
    blocked_then_woken(
        &setup,
        &[
            "xreadgroup group g a noack block 0 streams s >",
            "xreadgroup group g b block 0 streams s >",
        ],
        &["xadd s 2 f v", "xadd s 3 f v"],
    );
}

/// A blocked XREADGROUP answered NOGROUP when its group is destroyed counts as one failed call,
/// as Redis's `updateStatsOnUnblock` counts it, besides the error reply.
#[test]
fn a_blocked_read_answered_an_error_is_a_failed_call() {
    let d = Differential::start();
    let mut stats = Vec::new();
    for port in [d.redis.port, d.cachet.port()] {
        let connect = || RawClient {
            stream: TcpStream::connect(("127.0.0.1", port)).expect("connect"),
        };
        let mut other = connect();
        call(&mut other, "xgroup create s g $ mkstream");
        call(&mut other, "config resetstat");
        let mut waiter = connect();
        send(&mut waiter, "xreadgroup group g a block 0 streams s >");
        fleet::wait_until("the client to block", || blocked_count(&mut other) == 1);
        call(&mut other, "xgroup destroy s g");
        assert!(waiter.read_reply().starts_with(b"-NOGROUP"));
        let info = String::from_utf8_lossy(&call(&mut other, "info all")).into_owned();
        let line = |prefix: &str| {
            info.lines()
                .find(|l| l.starts_with(prefix))
                .map(|l| {
                    l.split(",usec=").next().unwrap_or(l).to_string()
                        + &l[l.find(",rejected").unwrap_or(l.len())..]
                })
                .unwrap_or_default()
        };
        stats.push([
            line("cmdstat_xreadgroup:"),
            line("errorstat_NOGROUP:"),
            line("total_error_replies:"),
        ]);
    }
    assert_eq!(
        stats[0][0],
        "cmdstat_xreadgroup:calls=1,rejected_calls=0,failed_calls=1"
    );
    assert_eq!(stats[1], stats[0]);
}

/// What Redis 7.0 does when the key of a blocked read goes (checked against redis-server): a
/// blocked XREADGROUP is answered `UNBLOCKED the stream key no longer exists` whether the key is
/// deleted, expires, is evicted, flushed, renamed away or re-typed, and `NOGROUP` when its group is
/// destroyed; a blocked XREAD keeps waiting through all of that and is served by the next entry of
/// a stream under its key.
#[test]
fn blocked_reads_when_the_key_goes() {
    let setup = ["xadd s 1 f v", "xgroup create s g $"];
    let group_read = ["xreadgroup group g a block 0 streams s >"];
    for wake in [
        &["pexpire s 30", "wait-gone s"][..],
        &["flushall"],
        &["rename s t"],
        &[
            "config set maxmemory-policy allkeys-random",
            "config set maxmemory 1",
            "set x y",
        ],
        &["xgroup destroy s g", "xgroup create s g $", "xadd s 2 f v"],
    ] {
        blocked_then_woken(&setup, &group_read, wake);
    }
    let read = ["xread block 0 streams s $"];
    for wake in [
        &["del s", "xadd s 2 f v"][..],
        &["pexpire s 30", "wait-gone s", "xadd s 2 f v"],
        &["set s x", "del s", "xadd s 2 f v"],
        &["rename s t", "xadd t 2 f v", "xadd s 3 f v"],
        &["flushall", "xadd s 2 f v"],
    ] {
        blocked_then_woken(&setup, &read, wake);
    }
}

#[test]
fn xpending_as_redis() {
    let mut d = Differential::start();
    let mut lines: Vec<String> = (1..=6).map(|i| format!("xadd s {i} f v{i}")).collect();
    lines.extend(
        [
            "set str x",
            "xgroup create s g 0",
            "xgroup create s empty $",
            "xgroup createconsumer s g idle",
            "xreadgroup group g alice count 2 streams s >",
            "xreadgroup group g bob count 3 streams s >",
            "xreadgroup group g alice streams s 0",
            // Errors: the range first, then the key and group.
            "xpending s",
            "xpending s g 1",
            "xpending s g - +",
            "xpending s g - + 1 c extra extra extra",
            "xpending s g idle 5 - +",
            "xpending s g idle x - + 1",
            "xpending s g - + x",
            "xpending s g x + 1",
            "xpending s g - x 1",
            "xpending s g (18446744073709551615-18446744073709551615 + 1",
            "xpending s g - (0-0 1",
            "xpending s g (- + 1",
            "xpending missing g",
            "xpending missing g - + 1",
            "xpending str g",
            "xpending s nogroup",
            "xpending s nogroup x + 1",
            // The summary; entries filtered out by IDLE, COUNT or consumer.
            "xpending s g",
            "xpending s empty",
            "xpending s g idle 100000000 - + 10",
            "xpending s g - + 0",
            "xpending s g - + -1",
            "xpending s g - + 10 nobody",
            "xpending s g (5 + 10",
            "xack s g 1 2 3",
            "xgroup delconsumer s g bob",
            "xpending s g",
        ]
        .map(String::from),
    );
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    same(&mut d, &lines);
}

/// The extended form's idle times depend on the clock, so its rows are checked on cachet: ID,
/// owner, idle time since the last delivery, delivery count, in ID order.
#[test]
fn xpending_entries_with_idle_times() {
    let server = common::TestServer::start();
    let mut raw = server.raw();
    for line in [
        "xadd s 1 f v",
        "xadd s 2 f v",
        "xadd s 3 f v",
        "xgroup create s g 0",
        "xreadgroup group g alice count 2 streams s >",
        "xreadgroup group g bob streams s >",
        "xreadgroup group g alice streams s 0",
    ] {
        call(&mut raw, line);
    }
    let text = String::from_utf8_lossy(&call(&mut raw, "xpending s g - + 10")).into_owned();
    let lines: Vec<&str> = text.split("\r\n").collect();
    // *3, then per row: *4 $3 id $n owner :idle :count.
    assert_eq!(lines[0], "*3", "{text}");
    let rows: Vec<(&str, &str, i64, &str)> = (0..3)
        .map(|r| {
            let at = 1 + r * 7;
            let idle: i64 = lines[at + 5][1..].parse().unwrap();
            (lines[at + 2], lines[at + 4], idle, lines[at + 6])
        })
        .collect();
    assert_eq!(
        rows.iter().map(|r| (r.0, r.1, r.3)).collect::<Vec<_>>(),
        vec![
            ("1-0", "alice", ":2"),
            ("2-0", "alice", ":2"),
            ("3-0", "bob", ":1")
        ]
    );
    assert!(rows.iter().all(|r| (0..60_000).contains(&r.2)), "{rows:?}");
    assert_eq!(
        call(&mut raw, "xpending s g idle 3600000 - + 10"),
        b"*0\r\n"
    );
    let bob = String::from_utf8_lossy(&call(&mut raw, "xpending s g - + 10 bob")).into_owned();
    assert!(
        bob.starts_with("*1\r\n*4\r\n$3\r\n3-0\r\n$3\r\nbob\r\n"),
        "{bob}"
    );
}

#[test]
fn xinfo_as_redis() {
    let mut d = Differential::start();
    let mut lines: Vec<String> = (1..=8).map(|i| format!("xadd s {i} f v{i}")).collect();
    lines.extend(
        [
            "set str x",
            "xinfo",
            "xinfo help",
            "xinfo help x",
            "xinfo bogus s",
            "xinfo stream",
            "xinfo stream missing",
            "xinfo stream str",
            "xinfo stream s full count",
            "xinfo stream s bogus",
            "xinfo stream s full bogus 1",
            "xinfo stream s full count x",
            "xinfo groups missing",
            "xinfo groups str",
            "xinfo consumers s nogroup",
            "xinfo consumers missing g",
            "xinfo stream s",
            "xinfo groups s",
            "xgroup create s g 0",
            "xgroup create s later $",
            "xgroup create s known 3 entriesread 3",
            "xinfo consumers s g",
            "xinfo groups s",
            "xinfo stream s",
            "xinfo stream s full",
            "xinfo stream s full count 0",
            "xinfo stream s full count -1",
            // Lag: unknown after a deletion past the group's last ID, known again once read past it.
            "xdel s 5",
            "xinfo groups s",
            "xadd s 9 f v",
            "xinfo groups s",
            "xreadgroup group g c noack count 6 streams s >",
            "xinfo groups s",
            "xreadgroup group g c noack streams s >",
            "xinfo groups s",
            "xgroup setid s later 0 entriesread 0",
            "xinfo groups s",
            "xtrim s maxlen 2",
            "xinfo groups s",
            "xinfo stream s",
            "xtrim s maxlen 0",
            "xinfo stream s",
            "xinfo groups s",
        ]
        .map(String::from),
    );
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    same(&mut d, &lines);
    d.both(&[b"hello", b"3"]);
    same(&mut d, &["xinfo stream s", "xinfo groups s"]);
}

#[test]
fn xclaim_and_xautoclaim_as_redis() {
    let mut d = Differential::start();
    let mut lines: Vec<String> = (1..=8).map(|i| format!("xadd s {i} f v{i}")).collect();
    lines.extend(
        [
            "set str x",
            "xgroup create s g 0",
            "xreadgroup group g alice count 6 streams s >",
            // XCLAIM: the key and group first, then min-idle, the IDs and the options.
            "xclaim missing g c 0 1",
            "xclaim str g c 0 1",
            "xclaim s nogroup c x 1",
            "xclaim s g c x 1",
            "xclaim s g c 0 bogus",
            "xclaim s g c 0 1 bogus",
            "xclaim s g c 0 1 idle x",
            "xclaim s g c 0 1 time x",
            "xclaim s g c 0 1 retrycount x",
            "xclaim s g c 0 1 lastid x",
            "xclaim s g c 0 1 lastid",
            "xclaim s g bob 0 1 2",
            "xclaim s g bob 0 1 justid",
            "xclaim s g bob 3600000 3",
            "xclaim s g bob -5 7",
            "xclaim s g bob 0 7 force justid",
            "xclaim s g bob 0 99 force",
            "xdel s 3",
            "xclaim s g bob 0 3 4",
            "xpending s g",
            "xclaim s g carol 0 4 lastid 10 justid",
            "xinfo groups s",
            "xclaim s g carol 0 4 retrycount 5 justid",
            "xclaim s g carol 0 4 time 1 justid",
            "xclaim s g carol 0 4 idle -5 time 99999999999999 justid",
            "xpending s g",
            // XAUTOCLAIM: min-idle, start, options, then the key and group.
            "xautoclaim missing g c x 0",
            "xautoclaim missing g c 0 x",
            "xautoclaim s g c 0 (18446744073709551615-18446744073709551615",
            "xautoclaim s g c 0 0 count 0",
            "xautoclaim s g c 0 0 count x",
            "xautoclaim s g c 0 0 count 576460752303423488",
            "xautoclaim s g c 0 0 bogus",
            "xautoclaim missing g c 0 0",
            "xautoclaim str g c 0 0",
            "xautoclaim s nogroup c 0 0",
            "xautoclaim s g dave 0 0 count 1",
            "xautoclaim s g dave 0 0 count 2 justid",
            "xautoclaim s g dave 3600000 0",
            "xautoclaim s g dave 0 (5",
            "xdel s 2 6",
            "xautoclaim s g eve 0 0 count 2",
            "xautoclaim s g eve 0 0",
            "xautoclaim s g eve 0 0",
            "xpending s g",
            "xinfo consumers s nogroup",
        ]
        .map(String::from),
    );
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    same(&mut d, &lines);
}
