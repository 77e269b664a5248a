//! Who may speak on the coherence channels (issue 11, defect 3): the reserved `__cachet__:`
//! channels, messages their origin did not publish, `coherence-secret` (signed messages, peers
//! authenticating to a daemon with `requirepass`), and `peer` set while coherence is off.
//! In-process daemons and a real redis-server as the bus, where anyone may publish. No timing
//! assertions: every wait polls with a deadline.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use cachet::ConfigValues;
use common::TestServer;
use fleet::{connect, counter, info_field, wait_until, RedisServer};
use redis::{Commands, Connection};

const REFUSED: &[u8] = b"-ERR channels starting with '__cachet__:' are reserved for peer coherence: only the daemon itself (or a peer authenticated with CACHE.PEER AUTH) publishes there\r\n";

fn exists(con: &mut Connection, key: &str) -> bool {
    con.exists(key).expect("EXISTS")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A daemon on the bus at `redis_port`, coherence on, named `node_id`.
fn on_bus(redis_port: u16, node_id: &str, more: impl FnOnce(&mut ConfigValues)) -> TestServer {
    let node_id = node_id.to_string();
    TestServer::start_with(move |c| {
        c.coherence = true;
        c.node_id = node_id;
        c.coherence_bus = format!("127.0.0.1:{redis_port}");
        more(c);
    })
}

/// Waits until every daemon on a bus heard every message: each receives all of them, its own
/// included, plus what the test injected on the bus.
fn settle_bus(cons: &mut [Connection], injected: u64) {
    wait_until("every message heard", || {
        let mut sent = 0;
        for con in cons.iter_mut() {
            if counter(con, "pending_items") != 0 {
                return false;
            }
            sent += counter(con, "messages_sent");
        }
        cons.iter_mut()
            .all(|con| counter(con, "messages_received") == sent + injected)
    });
}

/// `redis-cli -p <A's port> PUBLISH __cachet__:invalidations garbage` used to make B drop all its
/// data: now A refuses it, and B hears only A's own messages.
#[test]
fn a_client_cannot_publish_on_the_reserved_channels() {
    let a = TestServer::start_with(|c| {
        c.coherence = true;
        c.node_id = "node-a".into();
    });
    let a_port = a.port();
    let b = TestServer::start_with(move |c| {
        c.coherence = true;
        c.node_id = "node-b".into();
        c.peers = vec![format!("127.0.0.1:{a_port}")];
    });
    let (mut on_a, mut on_b) = (a.client(), b.client());
    wait_until("B's link up", || counter(&mut on_b, "peers_up") == 1);
    let _: () = on_b.set("keep", "1").unwrap();
    let recoveries = counter(&mut on_b, "recoveries");
    let run = info_field(&mut on_a, "run");
    let forged = format!("cachet1 node-a {run} 999999 0 flushall");

    let mut raw = a.raw();
    for args in [
        &[&b"PUBLISH"[..], b"__cachet__:invalidations", b"garbage"][..],
        &[b"PUBLISH", b"__cachet__:invalidations", forged.as_bytes()],
        &[b"publish", b"__cachet__:", b"x"],
        &[b"SPUBLISH", b"__cachet__:invalidations", b"garbage"],
    ] {
        assert_eq!(
            String::from_utf8_lossy(&raw.call(args)),
            String::from_utf8_lossy(REFUSED),
            "{args:?}"
        );
    }
    // Only the prefix is reserved.
    assert_eq!(
        raw.call(&[b"PUBLISH", b"__cachet_:invalidations", b"x"]),
        b":0\r\n"
    );
    // Inside MULTI the refusal comes when the command is queued, as for a channel a Redis ACL user
    // may not use: the transaction is aborted.
    assert_eq!(raw.call(&[b"MULTI"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"SET", b"t", b"1"]), b"+QUEUED\r\n");
    assert_eq!(
        raw.call(&[b"PUBLISH", b"__cachet__:invalidations", b"garbage"]),
        REFUSED
    );
    assert_eq!(
        raw.call(&[b"EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(raw.call(&[b"GET", b"t"]), b"$-1\r\n");

    // Anyone may still watch the stream.
    let mut watcher = a.raw();
    watcher.send(b"SUBSCRIBE __cachet__:invalidations\r\n");
    assert_eq!(
        watcher.read_reply(),
        b"*3\r\n$9\r\nsubscribe\r\n$24\r\n__cachet__:invalidations\r\n:1\r\n"
    );
    let _: () = on_a.set("from-a", "1").unwrap();
    let message = watcher.read_reply();
    assert!(
        message.ends_with(b" key 0 6:from-a\r\n"),
        "{}",
        String::from_utf8_lossy(&message)
    );

    // B heard A's one genuine message, and nothing else.
    wait_until("A's write heard", || {
        counter(&mut on_b, "messages_received") == 1
    });
    assert!(exists(&mut on_b, "keep"));
    assert_eq!(counter(&mut on_b, "recoveries"), recoveries);
    assert_eq!(counter(&mut on_b, "malformed_messages"), 0);
}

/// On a bus anyone reaching it may publish. Garbage, and a well-formed message claiming to be A's
/// that A never published (a sequence beyond A's, another run), cost B nothing.
#[test]
fn forged_and_garbage_messages_on_the_bus_cost_no_data() {
    let redis = RedisServer::start();
    let a = on_bus(redis.port, "node-a", |_| {});
    let b = on_bus(redis.port, "node-b", |_| {});
    let mut cons = [a.client(), b.client()];
    for con in cons.iter_mut() {
        wait_until("link to the bus up", || counter(con, "peers_up") == 1);
    }
    let _: () = cons[0].set("from-a", "1").unwrap();
    let _: () = cons[1].mset(&[("keep", "1"), ("k", "old")]).unwrap();
    settle_bus(&mut cons, 0);
    let recoveries = counter(&mut cons[1], "recoveries");
    let run: u64 = info_field(&mut cons[0], "run").parse().unwrap();
    let now = now_ms();
    let mut bus = connect(redis.port).expect("connect to the bus");
    let messages = [
        "garbage".to_string(),
        format!("cachet1 node-a {run} 999999 {now} flushall"),
        // A restart A did not make, and an old run of A's.
        format!("cachet1 node-a {} 1 {now} flushall", run + 1),
        format!("cachet1 node-a {} 3 {now} flushall", run - 1000),
    ];
    for (injected, text) in messages.iter().enumerate() {
        let _: i64 = bus.publish("__cachet__:invalidations", text).unwrap();
        settle_bus(&mut cons, injected as u64 + 1);
    }
    let on_b = &mut cons[1];
    assert!(exists(on_b, "keep"));
    assert_eq!(counter(on_b, "recoveries"), recoveries);
    assert_eq!(counter(on_b, "malformed_messages"), 1);
    assert_eq!(counter(on_b, "forged_messages"), 3);
    assert_eq!(counter(on_b, "origin_restarts"), 0);
    assert_eq!(counter(on_b, "gaps"), 0);

    // A's genuine messages still apply, in order.
    let _: () = cons[0].set("k", "new").unwrap();
    wait_until("A's write applied on B", || !exists(&mut cons[1], "k"));
    assert!(exists(&mut cons[1], "keep"));
    assert_eq!(counter(&mut cons[1], "gaps"), 0);
}
