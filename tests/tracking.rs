//! Client-side caching: CLIENT TRACKING and its invalidation messages. Expected bytes were
//! recorded from redis-server 7.0.15 (all but the TAG extension, which is cachet's own).

mod common;
use common::{RawClient, TestServer};

use std::time::Duration;

fn client(server: &TestServer, resp3: bool) -> RawClient {
    let mut c = server.raw();
    c.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    if resp3 {
        let hello = c.call(&[b"HELLO", b"3"]);
        assert!(hello.starts_with(b"%"));
    }
    c
}

fn id_of(c: &mut RawClient) -> String {
    let reply = c.call(&[b"CLIENT", b"ID"]);
    String::from_utf8_lossy(&reply[1..reply.len() - 2]).into_owned()
}

const INVALIDATE_K: &[u8] = b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n";

#[test]
fn resp3_push_on_another_clients_write_then_not_again_until_read() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    let mut w = client(&server, false);
    assert_eq!(t.call(&[b"CLIENT", b"TRACKING", b"on"]), b"+OK\r\n");
    assert_eq!(t.call(&[b"GET", b"k"]), b"_\r\n");
    assert_eq!(w.call(&[b"SET", b"k", b"1"]), b"+OK\r\n");
    assert_eq!(t.read_reply(), INVALIDATE_K);
    // Not remembered any more: a second write sends nothing until the key is read again.
    assert_eq!(w.call(&[b"SET", b"k", b"2"]), b"+OK\r\n");
    assert_eq!(t.call(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(t.call(&[b"GET", b"k"]), b"$1\r\n2\r\n");
    assert_eq!(w.call(&[b"DEL", b"k"]), b":1\r\n");
    assert_eq!(t.read_reply(), INVALIDATE_K);
}

/// A script's reads track the keys it declared, not the keys it read, and only when it reads:
/// Redis 7.0 remembers the script caller's keys (its tracking.tcl). EVAL_RO tracks nothing of
/// its own.
#[test]
fn scripts_track_their_declared_keys_when_they_read() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    let mut w = client(&server, false);
    let invalidate = |key: &str| format!(">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\n{key}\r\n");
    assert_eq!(t.call(&[b"CLIENT", b"TRACKING", b"on"]), b"+OK\r\n");
    let write_both = |w: &mut RawClient| {
        assert_eq!(w.call(&[b"MSET", b"k2", b"1", b"k1", b"1"]), b"+OK\r\n");
    };
    // No read: nothing tracked.
    t.call(&[b"EVAL", b"redis.call('set','k3','bar')", b"2", b"k1", b"k2"]);
    write_both(&mut w);
    // A read of another key tracks the declared ones, not k3.
    t.call(&[b"EVAL", b"redis.call('get','k3')", b"2", b"k1", b"k2"]);
    write_both(&mut w);
    assert_eq!(t.read_reply(), invalidate("k2").as_bytes());
    assert_eq!(t.read_reply(), invalidate("k1").as_bytes());
    assert_eq!(w.call(&[b"SET", b"k3", b"x"]), b"+OK\r\n");
    // EVAL_RO that reads nothing tracks nothing; one that reads tracks the declared keys.
    t.call(&[b"EVAL_RO", b"redis.call('ping')", b"2", b"k1", b"k2"]);
    write_both(&mut w);
    t.call(&[b"EVAL_RO", b"redis.call('get','k1')", b"2", b"k1", b"k2"]);
    write_both(&mut w);
    assert_eq!(t.read_reply(), invalidate("k2").as_bytes());
    assert_eq!(t.read_reply(), invalidate("k1").as_bytes());
    assert_eq!(t.call(&[b"PING"]), b"+PONG\r\n");
}

/// Keys counted by numkeys (ZUNION, SINTERCARD...) are remembered like any other read's.
#[test]
fn reads_with_numkeys_are_tracked() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    let mut w = client(&server, false);
    assert_eq!(t.call(&[b"CLIENT", b"TRACKING", b"on"]), b"+OK\r\n");
    assert_eq!(t.call(&[b"ZUNION", b"2", b"z", b"k"]), b"*0\r\n");
    assert_eq!(w.call(&[b"SET", b"k", b"1"]), b"+OK\r\n");
    assert_eq!(t.read_reply(), INVALIDATE_K);
    assert_eq!(
        t.call(&[b"SINTERCARD", b"1", b"k"]),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(w.call(&[b"DEL", b"k"]), b":1\r\n");
    assert_eq!(t.read_reply(), INVALIDATE_K);
}

#[test]
fn own_write_invalidation_follows_the_reply() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    t.call(&[b"CLIENT", b"TRACKING", b"on"]);
    t.call(&[b"GET", b"k"]);
    assert_eq!(t.call(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    assert_eq!(t.read_reply(), INVALIDATE_K);
    assert_eq!(
        t.call(&[b"CLIENT", b"TRACKINGINFO"]),
        b"%3\r\n$5\r\nflags\r\n~1\r\n$2\r\non\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n"
    );
    assert_eq!(t.call(&[b"CLIENT", b"GETREDIR"]), b":0\r\n");
    t.call(&[b"GET", b"k"]);
    assert_eq!(t.call(&[b"FLUSHALL"]), b"+OK\r\n");
    assert_eq!(t.read_reply(), b">2\r\n$10\r\ninvalidate\r\n_\r\n");
}

#[test]
fn expiry_and_flush_invalidate() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    let mut w = client(&server, false);
    w.call(&[b"SET", b"k", b"v", b"PX", b"5"]);
    t.call(&[b"CLIENT", b"TRACKING", b"on"]);
    t.call(&[b"GET", b"k"]);
    // The active expiry cycle removes it without anyone touching it.
    assert_eq!(t.read_reply(), INVALIDATE_K);
    assert_eq!(w.call(&[b"FLUSHDB"]), b"+OK\r\n");
    assert_eq!(t.read_reply(), b">2\r\n$10\r\ninvalidate\r\n_\r\n");
}

#[test]
fn resp2_redirect_to_a_subscriber_of_redis_invalidate() {
    let server = TestServer::start();
    let mut r = client(&server, false);
    let mut t = client(&server, false);
    let mut w = client(&server, false);
    let rid = id_of(&mut r);
    assert_eq!(
        r.call(&[b"SUBSCRIBE", b"__redis__:invalidate"]),
        b"*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n"
    );
    assert_eq!(
        t.call(&[b"CLIENT", b"TRACKING", b"on", b"REDIRECT", rid.as_bytes()]),
        b"+OK\r\n"
    );
    assert_eq!(
        t.call(&[b"CLIENT", b"GETREDIR"]),
        format!(":{rid}\r\n").as_bytes()
    );
    assert_eq!(t.call(&[b"GET", b"k"]), b"$-1\r\n");
    w.call(&[b"SET", b"k", b"1"]);
    assert_eq!(
        r.read_reply(),
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n"
    );
    t.call(&[b"FLUSHALL"]);
    assert_eq!(
        r.read_reply(),
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"
    );
    let list = t.call(&[b"CLIENT", b"INFO"]);
    let text = String::from_utf8_lossy(&list);
    assert!(text.contains(" flags=t "), "{text}");
    assert!(text.contains(&format!(" redir={rid} ")), "{text}");
}

#[test]
fn bcast_prefixes_send_every_matching_change() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    let mut w = client(&server, false);
    assert_eq!(
        t.call(&[b"CLIENT", b"TRACKING", b"on", b"BCAST", b"PREFIX", b"a", b"PREFIX", b"ab"]),
        b"-ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a single client must not overlap.\r\n"
    );
    assert_eq!(
        t.call(&[b"CLIENT", b"TRACKING", b"on", b"BCAST", b"PREFIX", b"a"]),
        b"+OK\r\n"
    );
    assert_eq!(
        t.call(&[b"CLIENT", b"TRACKING", b"on", b"BCAST", b"PREFIX", b"ab"]),
        b"-ERR Prefix 'ab' overlaps with an existing prefix 'a'. Prefixes for a single client must not overlap.\r\n"
    );
    w.call(&[b"SET", b"bx", b"1"]);
    w.call(&[b"SET", b"abc", b"1"]);
    assert_eq!(
        t.read_reply(),
        b">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nabc\r\n"
    );
    assert_eq!(
        t.call(&[b"CLIENT", b"TRACKINGINFO"]),
        b"%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*1\r\n$1\r\na\r\n"
    );
    let info = t.call(&[b"CLIENT", b"INFO"]);
    assert!(String::from_utf8_lossy(&info).contains(" flags=tB "));
    let stats = String::from_utf8_lossy(&w.call(&[b"INFO"])).into_owned();
    assert!(stats.contains("tracking_clients:1\r\n"), "{stats}");
    assert!(stats.contains("tracking_total_prefixes:1\r\n"), "{stats}");
}

#[test]
fn optin_and_optout_follow_client_caching() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    let mut w = client(&server, false);
    t.call(&[b"CLIENT", b"TRACKING", b"on", b"OPTIN"]);
    t.call(&[b"GET", b"a"]);
    assert_eq!(t.call(&[b"CLIENT", b"CACHING", b"yes"]), b"+OK\r\n");
    t.call(&[b"GET", b"k"]);
    w.call(&[b"SET", b"a", b"1"]);
    w.call(&[b"SET", b"k", b"1"]);
    assert_eq!(t.read_reply(), INVALIDATE_K);
    assert_eq!(
        t.call(&[b"CLIENT", b"CACHING", b"no"]),
        b"-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n"
    );
    t.call(&[b"CLIENT", b"TRACKING", b"off"]);
    t.call(&[b"CLIENT", b"TRACKING", b"on", b"OPTOUT"]);
    assert_eq!(t.call(&[b"CLIENT", b"CACHING", b"no"]), b"+OK\r\n");
    t.call(&[b"GET", b"a"]);
    t.call(&[b"GET", b"k"]);
    w.call(&[b"SET", b"a", b"2"]);
    w.call(&[b"SET", b"k", b"2"]);
    assert_eq!(t.read_reply(), INVALIDATE_K);
}

#[test]
fn noloop_skips_the_clients_own_writes() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    let mut w = client(&server, false);
    t.call(&[b"CLIENT", b"TRACKING", b"on", b"NOLOOP"]);
    t.call(&[b"GET", b"a"]);
    t.call(&[b"GET", b"k"]);
    assert_eq!(t.call(&[b"SET", b"a", b"1"]), b"+OK\r\n");
    w.call(&[b"SET", b"k", b"1"]);
    assert_eq!(t.read_reply(), INVALIDATE_K);
}

#[test]
fn errors_as_redis() {
    let server = TestServer::start();
    let mut c = client(&server, false);
    let cases: &[(&[&[u8]], &[u8])] = &[
        (&[b"CLIENT", b"TRACKING", b"on", b"PREFIX", b"a"], b"-ERR PREFIX option requires BCAST mode to be enabled\r\n"),
        (&[b"CLIENT", b"TRACKING", b"on", b"OPTIN", b"OPTOUT"], b"-ERR You can't specify both OPTIN mode and OPTOUT mode\r\n"),
        (&[b"CLIENT", b"TRACKING", b"on", b"REDIRECT", b"9999"], b"-ERR The client ID you want redirect to does not exist\r\n"),
        (&[b"CLIENT", b"CACHING", b"yes"], b"-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n"),
        (&[b"CLIENT", b"TRACKING", b"on", b"BCAST", b"OPTIN"], b"-ERR OPTIN and OPTOUT are not compatible with BCAST\r\n"),
        (&[b"CLIENT", b"TRACKING", b"maybe"], b"-ERR syntax error\r\n"),
        (&[b"CLIENT", b"TRACKING", b"on", b"FOO"], b"-ERR syntax error\r\n"),
        (&[b"CLIENT", b"TRACKING", b"on", b"REDIRECT"], b"-ERR syntax error\r\n"),
        (&[b"CLIENT", b"TRACKING", b"on", b"REDIRECT", b"abc"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"CLIENT", b"GETREDIR"], b":-1\r\n"),
        (&[b"CLIENT", b"TRACKINGINFO"], b"*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n"),
        (&[b"CLIENT", b"TRACKING", b"on", b"OPTIN"], b"+OK\r\n"),
        (&[b"CLIENT", b"CACHING", b"maybe"], b"-ERR syntax error\r\n"),
        (&[b"CLIENT", b"TRACKING", b"on", b"OPTOUT"], b"-ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.\r\n"),
        (&[b"CLIENT", b"TRACKING", b"on", b"BCAST", b"PREFIX", b"a"], b"-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.\r\n"),
        (&[b"CLIENT", b"TRACKING", b"off"], b"+OK\r\n"),
        (&[b"CLIENT", b"TRACKING", b"on", b"TAG", b"t"], b"-ERR TAG option requires BCAST mode to be enabled\r\n"),
    ];
    for (args, expected) in cases {
        assert_eq!(
            String::from_utf8_lossy(&c.call(args)),
            String::from_utf8_lossy(expected),
            "{args:?}"
        );
    }
}

#[test]
fn tracking_table_max_keys_invalidates_to_make_room() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    t.call(&[b"CONFIG", b"SET", b"tracking-table-max-keys", b"1"]);
    t.call(&[b"CLIENT", b"TRACKING", b"on"]);
    t.call(&[b"GET", b"k"]);
    assert_eq!(t.call(&[b"GET", b"other"]), b"_\r\n");
    let push = t.read_reply();
    assert!(
        push.starts_with(b">2\r\n$10\r\ninvalidate\r\n*1\r\n"),
        "{push:?}"
    );
    let info = String::from_utf8_lossy(&t.call(&[b"INFO", b"stats"])).into_owned();
    assert!(info.contains("tracking_total_keys:1\r\n"), "{info}");
}

/// Lowering `tracking-table-max-keys` under the table's size invalidates at once, without
/// waiting for the next read to be remembered (Redis's cron does it; its tracking.tcl waits).
#[test]
fn lowering_tracking_table_max_keys_invalidates_now() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    let mut admin = client(&server, false);
    t.call(&[b"CLIENT", b"TRACKING", b"on"]);
    t.call(&[b"MGET", b"k1", b"k2"]);
    assert_eq!(
        admin.call(&[b"CONFIG", b"SET", b"tracking-table-max-keys", b"1"]),
        b"+OK\r\n"
    );
    let push = t.read_reply();
    assert!(
        push.starts_with(b">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk"),
        "{push:?}"
    );
    let info = String::from_utf8_lossy(&admin.call(&[b"INFO", b"stats"])).into_owned();
    assert!(info.contains("tracking_total_keys:1\r\n"), "{info}");
}

/// Keys read by a client that has since turned tracking off stay in the table until written or
/// flushed, as in Redis, with no client tracking at all: FLUSHALL and a write still drop them
/// (tracking.tcl's "Tracking info is correct" counts the table after such a client).
#[test]
fn keys_of_a_client_no_longer_tracking_are_dropped_by_flush_and_writes() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    let mut admin = client(&server, false);
    let keys = |admin: &mut RawClient| {
        let info = String::from_utf8_lossy(&admin.call(&[b"INFO", b"stats"])).into_owned();
        info.lines()
            .find_map(|l| l.strip_prefix("tracking_total_keys:"))
            .unwrap()
            .to_string()
    };
    t.call(&[b"CLIENT", b"TRACKING", b"on"]);
    t.call(&[b"MGET", b"k1", b"k2"]);
    t.call(&[b"CLIENT", b"TRACKING", b"off"]);
    assert_eq!(keys(&mut admin), "2");
    admin.call(&[b"SET", b"k1", b"v"]);
    assert_eq!(keys(&mut admin), "1");
    admin.call(&[b"FLUSHALL"]);
    assert_eq!(keys(&mut admin), "0");
    // Nothing was sent to the client that stopped tracking.
    assert_eq!(t.call(&[b"PING"]), b"+PONG\r\n");
}

/// cachet's extension: `CLIENT TRACKING on BCAST TAG t` gets one `>2 invalidate-tag [t]` frame per
/// TAG.INVALIDATE of `t`.
#[test]
fn tag_subscription_gets_one_push_per_tag_invalidation() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    let mut w = client(&server, false);
    assert_eq!(
        t.call(&[b"CLIENT", b"TRACKING", b"on", b"BCAST", b"TAG", b"user:42"]),
        b"+OK\r\n"
    );
    for key in [&b"u1"[..], b"u2"] {
        w.call(&[b"CACHE.SET", key, b"v", b"TAGS", b"1", b"user:42"]);
    }
    assert_eq!(w.call(&[b"TAG.INVALIDATE", b"user:42"]), b":2\r\n");
    assert_eq!(
        t.read_reply(),
        b">2\r\n$14\r\ninvalidate-tag\r\n*1\r\n$7\r\nuser:42\r\n"
    );
    assert_eq!(t.call(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn bcast_sends_one_message_per_prefix_with_the_commands_keys() {
    let server = TestServer::start();
    let mut t = client(&server, true);
    let mut w = client(&server, false);
    t.call(&[
        b"CLIENT",
        b"TRACKING",
        b"on",
        b"BCAST",
        b"PREFIX",
        b"a",
        b"PREFIX",
        b"b",
    ]);
    w.call(&[b"MSET", b"a2", b"1", b"a1", b"1", b"b1", b"1"]);
    assert_eq!(
        t.read_reply(),
        b">2\r\n$10\r\ninvalidate\r\n*2\r\n$2\r\na1\r\n$2\r\na2\r\n"
    );
    assert_eq!(
        t.read_reply(),
        b">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nb1\r\n"
    );
}

#[test]
fn a_redirect_that_went_away_is_reported() {
    let server = TestServer::start();
    let mut r = client(&server, false);
    let mut t = client(&server, true);
    let mut w = client(&server, false);
    let rid = id_of(&mut r);
    t.call(&[b"CLIENT", b"TRACKING", b"on", b"REDIRECT", rid.as_bytes()]);
    t.call(&[b"GET", b"k"]);
    drop(r);
    // CLIENT LIST stops showing it once its connection is gone.
    while String::from_utf8_lossy(&w.call(&[b"CLIENT", b"LIST"])).contains(&format!("id={rid} ")) {
        std::thread::sleep(Duration::from_millis(5));
    }
    w.call(&[b"SET", b"k", b"1"]);
    assert_eq!(
        t.read_reply(),
        format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{rid}\r\n").as_bytes()
    );
    assert_eq!(
        t.call(&[b"CLIENT", b"TRACKINGINFO"]),
        format!("%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$15\r\nbroken_redirect\r\n$8\r\nredirect\r\n:{rid}\r\n$8\r\nprefixes\r\n*0\r\n").as_bytes()
    );
    let info = String::from_utf8_lossy(&t.call(&[b"CLIENT", b"INFO"])).into_owned();
    assert!(info.contains(" flags=tR "), "{info}");
}
