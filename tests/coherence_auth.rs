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
use std::io::Read;

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

/// HMAC-SHA256 of `parts` concatenated, lowercase hex: the wire format's `hmac` trailer and the
/// handshake's proofs, computed here independently of the daemon's code.
fn hmac_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn signed(secret: &[u8], message: &str) -> String {
    format!("{message} hmac {}", hmac_hex(secret, &[message.as_bytes()]))
}

const SECRET: &[u8] = b"fleet s3cret";

/// With `coherence-secret`, a bus anyone reaches carries signed messages only: unsigned, badly
/// signed or altered ones are dropped and counted; a correctly signed one is applied.
#[test]
fn with_a_secret_only_signed_messages_are_applied() {
    let redis = RedisServer::start();
    let secret = |c: &mut ConfigValues| c.coherence_secret = SECRET.to_vec();
    let a = on_bus(redis.port, "node-a", secret);
    let b = on_bus(redis.port, "node-b", secret);
    let mut cons = [a.client(), b.client()];
    for con in cons.iter_mut() {
        wait_until("link to the bus up", || counter(con, "peers_up") == 1);
        assert_eq!(info_field(con, "message_signing"), "hmac-sha256");
    }
    // What A publishes is signed as documented (watched on the bus).
    let mut bus = connect(redis.port).expect("connect to the bus");
    let mut watcher = bus.as_pubsub();
    watcher.subscribe("__cachet__:invalidations").unwrap();
    let _: () = cons[0].set("from-a", "1").unwrap();
    let payload: Vec<u8> = watcher.get_message().unwrap().get_payload().unwrap();
    let text = String::from_utf8(payload).unwrap();
    let (message, tag) = text.split_once(" hmac ").expect("a signed message");
    assert!(message.starts_with("cachet1 node-a ") && message.ends_with(" key 0 6:from-a"));
    assert_eq!(tag, hmac_hex(SECRET, &[message.as_bytes()]));
    drop(watcher);

    let _: () = cons[1]
        .mset(&[("k1", "1"), ("k2", "1"), ("keep", "1")])
        .unwrap();
    settle_bus(&mut cons, 0);
    let recoveries = counter(&mut cons[1], "recoveries");
    let now = now_ms();
    let plain = format!("cachet1 tester 1 1 {now} key 0 2:k1");
    let altered = signed(SECRET, &plain).replace("2:k1", "2:k2");
    let injected = [
        plain.clone(),
        signed(b"wrong secret", &plain),
        altered,
        format!("{plain} hmac 1234"),
        // The one that is what it says.
        signed(SECRET, &plain),
    ];
    let mut bus = connect(redis.port).expect("connect to the bus");
    for (n, text) in injected.iter().enumerate() {
        let _: i64 = bus.publish("__cachet__:invalidations", text).unwrap();
        settle_bus(&mut cons, n as u64 + 1);
        let on_b = &mut cons[1];
        if n + 1 < injected.len() {
            assert!(exists(on_b, "k1") && exists(on_b, "k2"), "{text} applied");
        }
    }
    let on_b = &mut cons[1];
    assert!(!exists(on_b, "k1"));
    assert!(exists(on_b, "k2") && exists(on_b, "keep"));
    // The trailer of 4 hex digits does not parse; the other three are signed wrongly or not at all.
    assert_eq!(counter(on_b, "malformed_messages"), 1);
    assert_eq!(counter(on_b, "unauthenticated_messages"), 3);
    assert_eq!(counter(on_b, "recoveries"), recoveries);

    // A's messages, signed, still apply.
    let _: () = cons[0].set("k2", "new").unwrap();
    wait_until("A's write applied on B", || !exists(&mut cons[1], "k2"));
    assert!(exists(&mut cons[1], "keep"));
    assert_eq!(counter(&mut cons[1], "unauthenticated_messages"), 3);
}

/// `CACHE.PEER CHALLENGE` / `AUTH` as documented, done by hand: the proofs both ways, then what the
/// connection may do (run commands under requirepass, publish on the reserved channels).
fn authenticate_as_peer(raw: &mut common::RawClient, secret: &[u8]) -> Vec<u8> {
    let reply = raw.call(&[b"CACHE.PEER", b"CHALLENGE"]);
    let text = String::from_utf8(reply).unwrap();
    let challenge = text
        .split("\r\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no nonce: {text:?}"))
        .to_string();
    let nonce = "0123456789abcdef";
    let proof = hmac_hex(
        secret,
        &[
            b"cachet-peer-auth client ",
            challenge.as_bytes(),
            b" ",
            nonce.as_bytes(),
        ],
    );
    let reply = raw.call(&[b"CACHE.PEER", b"AUTH", nonce.as_bytes(), proof.as_bytes()]);
    let expected = hmac_hex(
        secret,
        &[
            b"cachet-peer-auth server ",
            challenge.as_bytes(),
            b" ",
            nonce.as_bytes(),
        ],
    );
    if reply.starts_with(b"$") {
        assert_eq!(reply, format!("$64\r\n{expected}\r\n").into_bytes());
    }
    reply
}

/// A daemon with requirepass lets in the links of peers that share its coherence-secret (and
/// only those), as Redis's masterauth lets a replica in.
#[test]
fn peers_sharing_the_secret_get_through_requirepass() {
    let a = TestServer::start_with(|c| {
        c.coherence = true;
        c.node_id = "node-a".into();
        c.requirepass = b"pw".to_vec();
        c.coherence_secret = SECRET.to_vec();
    });
    let peer_a = vec![format!("127.0.0.1:{}", a.port())];
    let follower = |secret: &'static [u8]| {
        let peers = peer_a.clone();
        TestServer::start_with(move |c| {
            c.coherence = true;
            c.peers = peers;
            c.coherence_secret = secret.to_vec();
        })
    };
    let b = follower(SECRET);
    let wrong = follower(b"another secret");
    let mut on_b = b.client();
    wait_until("B's link up", || counter(&mut on_b, "peers_up") == 1);
    let mut on_a = a.client();
    let _: () = redis::cmd("AUTH").arg("pw").query(&mut on_a).unwrap();
    wait_until("the wrong secret refused", || {
        counter(&mut on_a, "peer_auth_failures") >= 1
    });
    let _: () = on_b.set("k", "old").unwrap();
    let _: () = on_a.set("k", "new").unwrap();
    wait_until("A's write applied on B", || !exists(&mut on_b, "k"));
    // The wrong secret never links (it cannot: A refuses every attempt).
    let mut on_wrong = wrong.client();
    assert_eq!(counter(&mut on_wrong, "peers_up"), 0);

    // By hand: a wrong proof is refused and counted, a right one authenticates the connection.
    let mut raw = a.raw();
    assert_eq!(
        raw.call(&[b"GET", b"k"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        raw.call(&[b"CACHE.PEER", b"AUTH", b"n", b"00"]),
        b"-ERR CACHE.PEER AUTH must follow CACHE.PEER CHALLENGE\r\n"
    );
    let failures = counter(&mut on_a, "peer_auth_failures");
    assert_eq!(
        authenticate_as_peer(&mut raw, b"not it"),
        b"-WRONGPASS the proof does not match this daemon's coherence-secret\r\n"
    );
    assert_eq!(counter(&mut on_a, "peer_auth_failures"), failures + 1);
    assert_eq!(
        raw.call(&[b"GET", b"k"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert!(authenticate_as_peer(&mut raw, SECRET).starts_with(b"$64\r\n"));
    assert_eq!(raw.call(&[b"GET", b"k"]), b"$3\r\nnew\r\n");
    // A peer may publish on the reserved channels (a cachet used as the bus needs it).
    assert_eq!(
        raw.call(&[b"PUBLISH", b"__cachet__:other", b"x"]),
        b":0\r\n"
    );
    // Without a secret there is nothing to prove.
    let plain = TestServer::start();
    assert_eq!(
        plain.raw().call(&[b"CACHE.PEER", b"CHALLENGE"]),
        b"-ERR coherence-secret is not set on this daemon\r\n"
    );
}

/// A cachet used as the bus: the daemons' forwarders prove the secret, so it lets them publish on
/// `__cachet__:invalidations`.
#[test]
fn a_cachet_bus_takes_the_messages_of_peers_that_prove_the_secret() {
    let hub = TestServer::start_with(|c| c.coherence_secret = SECRET.to_vec());
    let hub_port = hub.port();
    let node = |name: &str| on_bus(hub_port, name, |c| c.coherence_secret = SECRET.to_vec());
    let (a, b) = (node("node-a"), node("node-b"));
    let (mut on_a, mut on_b) = (a.client(), b.client());
    for con in [&mut on_a, &mut on_b] {
        wait_until("link to the bus up", || counter(con, "peers_up") == 1);
    }
    let _: () = on_b.set("k", "old").unwrap();
    let _: () = on_a.set("k", "new").unwrap();
    wait_until("A's write applied on B", || !exists(&mut on_b, "k"));
    let mut on_hub = hub.client();
    // A counts a publish once the bus has replied, which may come after B applied the message.
    wait_until("A's publish counted", || {
        counter(&mut on_a, "bus_publishes") >= 1
    });
    let nodes: Vec<String> = on_hub.hkeys("__cachet__:nodes").unwrap();
    assert_eq!(nodes.len(), 2);
}

/// `peer` listed while coherence is off is not silently ignored: INFO says how many links are
/// not followed, and the daemon warns at start.
#[test]
fn peers_listed_while_coherence_is_off_are_reported() {
    let server = TestServer::start_with(|c| {
        c.peers = vec!["127.0.0.1:1".into(), "127.0.0.1:2".into()];
    });
    let mut con = server.client();
    assert_eq!(counter(&mut con, "peers_ignored"), 2);
    assert_eq!(counter(&mut con, "peers"), 0);
    let on = TestServer::start_with(|c| c.coherence = true);
    assert_eq!(counter(&mut on.client(), "peers_ignored"), 0);

    // The warning, from the real binary (killed by PID, also if the test fails).
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let port = fleet::free_port();
    let mut child = Killed(
        std::process::Command::new(env!("CARGO_BIN_EXE_cachet"))
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--peer", "127.0.0.1:1", "--loglevel", "warning"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn cachet"),
    );
    wait_until("cachet up", || connect(port).is_ok());
    let mut con = connect(port).unwrap();
    assert_eq!(counter(&mut con, "peers_ignored"), 1);
    drop(con);
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut output = String::new();
    for pipe in [
        child
            .0
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read>),
        child
            .0
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut pipe = pipe;
        let _ = pipe.read_to_string(&mut output);
    }
    assert!(
        output.contains("peer or coherence-bus is set but coherence is off"),
        "{output}"
    );
}
