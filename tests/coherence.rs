//! Peer coherence: three daemons in one process, linked in a full mesh with CONFIG SET.
//! No timing assertions: every wait polls with a generous deadline.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::time::{Duration, Instant};

use cachet::state::config::ProtectedAction;
use cachet::ConfigValues;
use common::TestServer;
use redis::{Commands, Connection};

const DEADLINE: Duration = Duration::from_secs(10);

fn info_field(con: &mut Connection, name: &str) -> String {
    let text: String = redis::cmd("INFO")
        .arg("coherence")
        .query(con)
        .expect("INFO");
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .unwrap_or_default()
        .to_string()
}

fn counter(con: &mut Connection, name: &str) -> u64 {
    info_field(con, name).parse().unwrap_or(0)
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Coherence on, and `CONFIG SET peer` allowed (the tests link daemons at run time).
fn linkable(c: &mut ConfigValues) {
    c.coherence = true;
    c.enable_protected_configs = ProtectedAction::Yes;
}

fn peers_of(servers: &[&TestServer], me: usize) -> String {
    servers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != me)
        .map(|(_, s)| format!("127.0.0.1:{}", s.port()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn set_peers(con: &mut Connection, peers: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("peer")
        .arg(peers)
        .query(con)
        .expect("CONFIG SET peer");
}

/// Starts three daemons with coherence on, links them in a full mesh and waits for every link.
fn mesh() -> (Vec<TestServer>, Vec<Connection>) {
    let servers: Vec<TestServer> = (0..3).map(|_| TestServer::start_with(linkable)).collect();
    let refs: Vec<&TestServer> = servers.iter().collect();
    let mut cons: Vec<Connection> = servers.iter().map(|s| s.client()).collect();
    for (i, con) in cons.iter_mut().enumerate() {
        set_peers(con, &peers_of(&refs, i));
    }
    for con in cons.iter_mut() {
        wait_until("links up", || counter(con, "peers_up") == 2);
    }
    (servers, cons)
}

/// Waits until every message sent has reached the two other nodes of the mesh.
fn settle(cons: &mut [Connection]) {
    wait_until("mesh settled", || {
        let sent: u64 = cons.iter_mut().map(|c| counter(c, "messages_sent")).sum();
        let pending: u64 = cons.iter_mut().map(|c| counter(c, "pending_items")).sum();
        let received: u64 = cons
            .iter_mut()
            .map(|c| counter(c, "messages_received"))
            .sum();
        pending == 0 && received == 2 * sent
    });
}

fn exists(con: &mut Connection, key: &str) -> bool {
    con.exists(key).expect("EXISTS")
}

#[test]
fn config_directives() {
    let server = TestServer::start_with(|c| {
        c.node_id = "node-a".into();
        c.enable_protected_configs = ProtectedAction::Yes;
    });
    let mut con = server.client();
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("node-id")
        .query(&mut con)
        .unwrap();
    assert_eq!(got, vec!["node-id", "node-a"]);
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("coherence")
        .query(&mut con)
        .unwrap();
    assert_eq!(got, vec!["coherence", "off"]);
    assert!(redis::cmd("CONFIG")
        .arg("SET")
        .arg("peer")
        .arg("nohost")
        .query::<()>(&mut con)
        .is_err());
    assert!(redis::cmd("CONFIG")
        .arg("SET")
        .arg("node-id")
        .arg("x")
        .query::<()>(&mut con)
        .is_err());
    set_peers(&mut con, "127.0.0.1:1 127.0.0.1:2 127.0.0.1:1");
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("peer")
        .query(&mut con)
        .unwrap();
    assert_eq!(got, vec!["peer", "127.0.0.1:1 127.0.0.1:2"]);
    // Coherence off: no link is started.
    assert_eq!(counter(&mut con, "peers"), 0);
    assert_eq!(info_field(&mut con, "node_id"), "node-a");

    let random = TestServer::start();
    let mut con = random.client();
    assert_eq!(info_field(&mut con, "node_id").len(), 40);
}

#[test]
fn messages_are_readable_by_a_plain_subscriber() {
    let server = TestServer::start_with(|c| {
        c.coherence = true;
        c.node_id = "n1".into();
    });
    let mut raw = server.raw();
    raw.send(b"SUBSCRIBE __cachet__:invalidations\r\n");
    raw.read_reply();
    let mut con = server.client();
    let _: () = con.set("a b", "1").unwrap();
    // `cachet1 <node-id> <run> <seq> <time> <items>`
    let payload = |reply: Vec<u8>| -> Vec<String> {
        let text = String::from_utf8(reply).unwrap();
        let payload = text.trim_end().rsplit("\r\n").next().unwrap().to_string();
        payload.split(' ').map(str::to_string).collect()
    };
    let message = raw.read_reply();
    assert!(message.starts_with(b"*3\r\n$7\r\nmessage\r\n$24\r\n__cachet__:invalidations\r\n"));
    let words = payload(message);
    assert_eq!(&words[..2], ["cachet1", "n1"]);
    let run: u64 = words[2].parse().unwrap();
    assert_eq!(words[3], "1");
    assert!(words[4].parse::<u64>().unwrap() >= run);
    assert_eq!(&words[5..], ["key", "0", "3:a", "b"]);
    // A delete is published; an expiry is not (the next message is the DEL's).
    let _: () = con.set_ex("short", "1", 1).unwrap();
    let _: () = redis::cmd("PEXPIRE")
        .arg("short")
        .arg(1)
        .query(&mut con)
        .unwrap();
    let words = payload(raw.read_reply());
    assert_eq!((&words[2], &words[3]), (&run.to_string(), &"2".to_string()));
    assert_eq!(&words[5..], ["key", "0", "5:short"]);
    std::thread::sleep(Duration::from_millis(5));
    let _: Option<String> = con.get("short").unwrap();
    let _: i64 = con.del("a b").unwrap();
    let words = payload(raw.read_reply());
    assert_eq!(words[3], "3");
    assert_eq!(&words[5..], ["key", "0", "3:a", "b"]);
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    let words = payload(raw.read_reply());
    assert_eq!(words[3], "4");
    assert_eq!(&words[5..], ["flushall"]);
}

#[test]
fn a_write_on_one_removes_the_copies_of_the_others() {
    let (_servers, mut cons) = mesh();
    for con in cons.iter_mut() {
        let _: () = con.set("user:1", "old").unwrap();
    }
    // (Otherwise B's own write could reach A after A's and delete it there too: a miss, safe.)
    settle(&mut cons);
    let _: () = cons[0].set("user:1", "new").unwrap();
    for i in [1, 2] {
        wait_until("copies removed", || !exists(&mut cons[i], "user:1"));
    }
    let value: String = cons[0].get("user:1").unwrap();
    assert_eq!(value, "new");
}

/// Daemons filling the same key after a miss do not invalidate each other's fills.
#[test]
fn a_fill_is_not_an_invalidation() {
    let (_servers, mut cons) = mesh();
    for con in cons.iter_mut() {
        let _: () = redis::cmd("CACHE.SET")
            .arg("user:1")
            .arg("from-db")
            .arg("FILL")
            .arg("EX")
            .arg(60)
            .query(con)
            .unwrap();
    }
    // A plain write after the fills is published, and only it.
    let _: () = cons[0].set("marker", "1").unwrap();
    for i in [1, 2] {
        wait_until("marker heard", || {
            counter(&mut cons[i], "items_applied") >= 1
        });
    }
    settle(&mut cons);
    for con in cons.iter_mut() {
        let value: String = con.get("user:1").unwrap();
        assert_eq!(value, "from-db");
    }
    assert_eq!(counter(&mut cons[0], "items_sent"), 1);
    assert_eq!(counter(&mut cons[1], "items_sent"), 0);
    // A real write still invalidates the fills.
    let _: () = cons[2].set("user:1", "changed").unwrap();
    for i in [0, 1] {
        wait_until("fill invalidated", || !exists(&mut cons[i], "user:1"));
    }
}

#[test]
fn a_tag_invalidation_travels_as_one_message() {
    let (_servers, mut cons) = mesh();
    // Keys of their own on B and C (a write on one node removes the others' copies, so each node
    // holds what it wrote last); A holds none and invalidates the tag.
    for i in [1, 2] {
        for k in 0..50 {
            let _: () = redis::cmd("CACHE.SET")
                .arg(format!("k{i}:{k}"))
                .arg("v")
                .arg("TAGS")
                .arg(1)
                .arg("user:42")
                .query(&mut cons[i])
                .unwrap();
        }
    }
    settle(&mut cons);
    let sent_before = counter(&mut cons[0], "messages_sent");
    let items_before = counter(&mut cons[0], "items_sent");
    for i in [1, 2] {
        assert!((0..50).all(|k| exists(&mut cons[i], &format!("k{i}:{k}"))));
    }
    let _: i64 = redis::cmd("TAG.INVALIDATE")
        .arg("user:42")
        .query(&mut cons[0])
        .unwrap();
    for i in [1, 2] {
        wait_until("tag applied", || {
            (0..50).all(|k| !exists(&mut cons[i], &format!("k{i}:{k}")))
        });
    }
    assert_eq!(counter(&mut cons[0], "messages_sent"), sent_before + 1);
    assert_eq!(counter(&mut cons[0], "items_sent"), items_before + 1);
}

#[test]
fn no_loops_in_a_full_mesh() {
    let (_servers, mut cons) = mesh();
    for round in 0..20 {
        for (i, con) in cons.iter_mut().enumerate() {
            let _: () = con.set(format!("k{round}"), i).unwrap();
        }
    }
    let sent = |cons: &mut Vec<Connection>| -> u64 {
        cons.iter_mut().map(|c| counter(c, "messages_sent")).sum()
    };
    let received = |cons: &mut Vec<Connection>| -> u64 {
        cons.iter_mut()
            .map(|c| counter(c, "messages_received"))
            .sum()
    };
    // Every message reaches the two other nodes once, and nothing else is sent.
    wait_until("all delivered", || {
        received(&mut cons) == 2 * sent(&mut cons)
    });
    let settled = sent(&mut cons);
    assert!(settled <= 60, "{settled} messages for 60 writes");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sent(&mut cons), settled);
    assert_eq!(received(&mut cons), 2 * settled);
    for con in cons.iter_mut() {
        assert_eq!(counter(con, "gaps"), 0);
    }
}

#[test]
fn a_cut_link_leaves_no_stale_key_after_it_is_restored() {
    let (servers, mut cons) = mesh();
    let refs: Vec<&TestServer> = servers.iter().collect();
    let _: () = cons[1].set("k", "old").unwrap();
    settle(&mut cons);
    // Cut B's link to A, write on A, restore the link.
    set_peers(&mut cons[1], &format!("127.0.0.1:{}", servers[2].port()));
    wait_until("link removed", || counter(&mut cons[1], "peers") == 1);
    let _: () = cons[0].set("k", "new").unwrap();
    wait_until("A published", || {
        counter(&mut cons[0], "pending_items") == 0
    });
    let recoveries = counter(&mut cons[1], "recoveries");
    set_peers(&mut cons[1], &peers_of(&refs, 1));
    wait_until("link restored", || {
        counter(&mut cons[1], "peers_up") == 2 && counter(&mut cons[1], "recoveries") > recoveries
    });
    assert!(!exists(&mut cons[1], "k"));
    // The recovery flush is local: C keeps its data.
    let _: () = cons[2].set("c-own", "1").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(exists(&mut cons[2], "c-own"));

    // A dropped connection (the origin killed its subscribers), written on meanwhile: the same.
    let heard = counter(&mut cons[0], "messages_received");
    let _: () = cons[1].set("k", "old again").unwrap();
    wait_until("B's write heard on A", || {
        counter(&mut cons[0], "messages_received") > heard
    });
    let losses = counter(&mut cons[1], "link_losses");
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query(&mut cons[0])
        .unwrap();
    let _: () = cons[0].set("k", "newest").unwrap();
    wait_until("link lost and back", || {
        counter(&mut cons[1], "link_losses") > losses && counter(&mut cons[1], "peers_up") == 2
    });
    wait_until("recovered", || !exists(&mut cons[1], "k"));
    // Coherence still works on the restored link.
    let heard = counter(&mut cons[0], "messages_received");
    let _: () = cons[1].set("after", "old").unwrap();
    wait_until("B's write heard on A", || {
        counter(&mut cons[0], "messages_received") > heard
    });
    let _: () = cons[0].set("after", "new").unwrap();
    wait_until("after applied", || !exists(&mut cons[1], "after"));
}

/// A message B's link lost is replayed from A's backlog when the link is back: B keeps the rest
/// of its data. (A pub/sub output limit of one byte on A makes the loss certain.)
#[test]
fn a_lost_message_is_replayed_not_flushed() {
    let (_servers, mut cons) = mesh();
    let _: () = cons[1].mset(&[("k", "old"), ("keep", "1")]).unwrap();
    settle(&mut cons);
    let recoveries = counter(&mut cons[1], "recoveries");
    let replays = counter(&mut cons[1], "replays");
    let set_limit = |con: &mut Connection, limit: &str| {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("client-output-buffer-limit")
            .arg(limit)
            .query(con)
            .unwrap();
    };
    let losses = counter(&mut cons[1], "link_losses");
    set_limit(&mut cons[0], "pubsub 1 1 0");
    let _: () = cons[0].set("k", "new").unwrap();
    wait_until("B's link cut", || {
        counter(&mut cons[1], "link_losses") > losses
    });
    set_limit(&mut cons[0], "pubsub 32mb 8mb 60");
    wait_until("replayed", || counter(&mut cons[1], "replays") > replays);
    wait_until("links back", || counter(&mut cons[1], "peers_up") == 2);
    assert!(!exists(&mut cons[1], "k"));
    let kept: String = cons[1].get("keep").unwrap();
    assert_eq!(kept, "1");
    assert_eq!(counter(&mut cons[1], "recoveries"), recoveries);
    assert!(counter(&mut cons[1], "replayed_messages") >= 1);
    assert!(counter(&mut cons[0], "replays_served") >= 1);
}

/// POSITION and REPLAY as a link uses them, and the NOREPLAY errors.
#[test]
fn position_and_replay_commands() {
    let a = TestServer::start_with(|c| {
        c.coherence = true;
        c.node_id = "origin-a".into();
    });
    let mut con = a.client();
    for i in 0..3 {
        let _: () = con.set(format!("k{i}"), i).unwrap();
        wait_until("published", || counter(&mut con, "last_sequence") == i + 1);
    }
    let position: Vec<redis::Value> = redis::cmd("CACHE.PEER")
        .arg("POSITION")
        .query(&mut con)
        .unwrap();
    assert_eq!(position.len(), 6);
    assert_eq!(position[1], redis::Value::BulkString(b"origin-a".to_vec()));
    let redis::Value::Int(run) = position[3] else {
        panic!("run is an integer: {position:?}")
    };
    assert_eq!(position[5], redis::Value::Int(3));
    let replay = |con: &mut Connection, node: &str, run: i64, after: &str| {
        redis::cmd("CACHE.PEER")
            .arg("REPLAY")
            .arg(node)
            .arg(run)
            .arg(after)
            .query::<Vec<String>>(con)
    };
    let messages = replay(&mut con, "origin-a", run, "1").unwrap();
    assert_eq!(messages.len(), 2);
    assert!(messages[0].starts_with(&format!("cachet1 origin-a {run} 2 ")));
    assert!(messages[1].ends_with(" key 0 2:k2"));
    assert!(replay(&mut con, "origin-a", run, "3").unwrap().is_empty());
    let error = |result: redis::RedisResult<Vec<String>>| result.unwrap_err().to_string();
    assert!(error(replay(&mut con, "other", run, "0")).contains("NOREPLAY"));
    assert!(error(replay(&mut con, "origin-a", run + 1, "0")).contains("NOREPLAY"));
    assert!(error(replay(&mut con, "origin-a", run, "4")).contains("NOREPLAY"));
    assert!(error(replay(&mut con, "origin-a", run, "x")).contains("not an integer"));
    // A backlog of one byte keeps only the newest message.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("coherence-backlog-size")
        .arg("1")
        .query(&mut con)
        .unwrap();
    assert_eq!(counter(&mut con, "backlog_messages"), 1);
    assert_eq!(replay(&mut con, "origin-a", run, "2").unwrap().len(), 1);
    let trimmed = error(replay(&mut con, "origin-a", run, "1"));
    assert!(
        trimmed.contains("NOREPLAY")
            && trimmed.contains("the backlog starts at sequence 3, after 1"),
        "{trimmed}"
    );
}

#[test]
fn cache_peer_add_remove_list() {
    let a = TestServer::start_with(linkable);
    let b = TestServer::start_with(linkable);
    let mut con = b.client();
    let peer_a = format!("127.0.0.1:{}", a.port());
    let count: i64 = redis::cmd("CACHE.PEER")
        .arg("ADD")
        .arg(&peer_a)
        .arg(&peer_a)
        .query(&mut con)
        .unwrap();
    assert_eq!(count, 1);
    assert!(redis::cmd("CACHE.PEER")
        .arg("ADD")
        .arg("nope")
        .query::<i64>(&mut con)
        .is_err());
    wait_until("link up", || {
        let list: Vec<Vec<redis::Value>> = redis::cmd("CACHE.PEER")
            .arg("LIST")
            .query(&mut con)
            .unwrap();
        list.len() == 1 && list[0].get(3) == Some(&redis::Value::BulkString(b"up".to_vec()))
    });
    let mut on_a = a.client();
    let _: () = con.set("k", "old").unwrap();
    let _: () = on_a.set("k", "new").unwrap();
    wait_until("applied", || !exists(&mut con, "k"));
    let count: i64 = redis::cmd("CACHE.PEER")
        .arg("REMOVE")
        .arg(&peer_a)
        .query(&mut con)
        .unwrap();
    assert_eq!(count, 0);
    wait_until("link closed", || counter(&mut con, "peers") == 0);
    let list: Vec<redis::Value> = redis::cmd("CACHE.PEER")
        .arg("LIST")
        .query(&mut con)
        .unwrap();
    assert!(list.is_empty());
    let mut raw = b.raw();
    assert_eq!(
        raw.call(&[b"CACHE.PEER", b"NOPE"]),
        b"-ERR unknown subcommand 'NOPE'. Try CACHE.PEER HELP.\r\n"
    );
}

/// Messages injected on a bus (a redis-server, where anyone may publish) by an origin that is not
/// announced there, so cannot be asked: B follows each origin's sequence by the old rules.
#[test]
fn gaps_and_restarts_of_an_origin_that_cannot_be_asked() {
    let redis = fleet::RedisServer::start();
    let b = TestServer::start_with(|c| {
        c.coherence = true;
        c.node_id = "b".into();
        c.coherence_bus = format!("127.0.0.1:{}", redis.port);
    });
    let mut on_b = b.client();
    wait_until("link up", || counter(&mut on_b, "peers_up") == 1);
    let mut bus = fleet::connect(redis.port).expect("connect to redis-server");
    // B hears its own messages back from the bus: it has heard everything once it received what
    // it sent plus what was injected.
    let mut injected = 0;
    let settle = |on_b: &mut Connection, injected: u64| {
        wait_until("B heard everything", || {
            counter(on_b, "pending_items") == 0
                && counter(on_b, "messages_received") == counter(on_b, "messages_sent") + injected
        });
    };
    let mut inject = |on_b: &mut Connection, text: &[u8]| {
        let _: i64 = bus.publish("__cachet__:invalidations", text).unwrap();
        injected += 1;
        settle(on_b, injected);
    };

    // In order: only the named key goes.
    let _: () = on_b.mset(&[("k", "1"), ("keep", "1")]).unwrap();
    inject(&mut on_b, b"cachet1 fake 7 1 0 key 0 1:k");
    inject(&mut on_b, b"cachet1 fake 7 2 0 key 0 1:x");
    assert!(!exists(&mut on_b, "k"));
    assert!(exists(&mut on_b, "keep"));
    assert_eq!(counter(&mut on_b, "gaps"), 0);

    // A gap nobody can fill ("fake" is not announced on the bus): everything goes.
    inject(&mut on_b, b"cachet1 fake 7 5 0 key 0 1:x");
    assert_eq!(counter(&mut on_b, "gaps"), 1);
    assert!(!exists(&mut on_b, "keep"));

    // A restart (another run): the same.
    let _: () = on_b.set("keep", "1").unwrap();
    inject(&mut on_b, b"cachet1 fake 8 1 0 key 0 1:x");
    assert_eq!(counter(&mut on_b, "origin_restarts"), 1);
    assert!(!exists(&mut on_b, "keep"));
    // Garbage is dropped and counted, and costs nothing.
    let _: () = on_b.set("keep", "1").unwrap();
    inject(&mut on_b, b"cachet1 fake 8 2 0 key 0 99:x");
    assert_eq!(counter(&mut on_b, "malformed_messages"), 1);
    assert!(exists(&mut on_b, "keep"));

    // Its own messages (on a bus, or a peer list naming itself) are ignored.
    inject(&mut on_b, b"cachet1 b 1 1 0 flushall");
    assert!(exists(&mut on_b, "keep"));
    // (Of another run: another daemon uses B's node id.)
    assert_eq!(counter(&mut on_b, "node_id_conflicts"), 1);
    // Flushes, patterns and databases out of range.
    let _: () = on_b.set("p:1", "1").unwrap();
    inject(
        &mut on_b,
        b"cachet1 fake 8 2 0 pattern 0 2:p* flushdb 99 key 99 1:k",
    );
    assert!(!exists(&mut on_b, "p:1"));
    assert!(exists(&mut on_b, "keep"));
    inject(&mut on_b, b"cachet1 fake 8 3 0 flushdb 0");
    assert!(!exists(&mut on_b, "keep"));
    assert_eq!(counter(&mut on_b, "gaps"), 1);
    assert_eq!(counter(&mut on_b, "forged_messages"), 0);
}
