//! Pub/sub, keyspace notifications and output buffer limits, against replies taken from Redis 7.0.

mod common;

use common::{bulk, RawClient, TestServer};

fn push3(kind: &str, a: &[u8], n: i64) -> Vec<u8> {
    let mut out = format!("*3\r\n${}\r\n{kind}\r\n${}\r\n", kind.len(), a.len()).into_bytes();
    out.extend_from_slice(a);
    out.extend_from_slice(format!("\r\n:{n}\r\n").as_bytes());
    out
}

fn message(channel: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = b"*3\r\n$7\r\nmessage\r\n".to_vec();
    out.extend(bulk(channel));
    out.extend(bulk(payload));
    out
}

fn pmessage(pattern: &[u8], channel: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = b"*4\r\n$8\r\npmessage\r\n".to_vec();
    out.extend(bulk(pattern));
    out.extend(bulk(channel));
    out.extend(bulk(payload));
    out
}

fn hello3(raw: &mut RawClient) {
    let reply = raw.call(&[b"HELLO", b"3"]);
    assert!(reply.starts_with(b"%7\r\n"), "{reply:?}");
}

/// Reads replies until one equals `wanted`, failing after `limit` others.
fn wait_for(raw: &mut RawClient, wanted: &[u8], limit: usize) {
    for _ in 0..limit {
        let reply = raw.read_reply();
        assert!(!reply.is_empty(), "connection closed");
        if reply == wanted {
            return;
        }
    }
    panic!("{:?} not seen", String::from_utf8_lossy(wanted));
}

const CONTEXT_ERROR: &str =
    "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";

#[test]
fn unsubscribe_from_nothing_replies_with_a_null_name() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[b"UNSUBSCRIBE"]),
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        raw.call(&[b"PUNSUBSCRIBE"]),
        b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        raw.call(&[b"SUNSUBSCRIBE"]),
        b"*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n"
    );
    // Naming channels it never subscribed to: one reply each, count unchanged.
    raw.send(b"UNSUBSCRIBE x y\r\n");
    assert_eq!(raw.read_reply(), push3("unsubscribe", b"x", 0));
    assert_eq!(raw.read_reply(), push3("unsubscribe", b"y", 0));
    // Not subscribed: any command runs.
    assert_eq!(raw.call(&[b"PING"]), b"+PONG\r\n");
    hello3(&mut raw);
    assert_eq!(
        raw.call(&[b"UNSUBSCRIBE"]),
        b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n"
    );
}

#[test]
fn subscription_counts_and_unsubscribe_all() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.send(b"SUBSCRIBE a b a\r\n");
    assert_eq!(raw.read_reply(), push3("subscribe", b"a", 1));
    assert_eq!(raw.read_reply(), push3("subscribe", b"b", 2));
    assert_eq!(raw.read_reply(), push3("subscribe", b"a", 2));
    // Patterns count with channels; shard channels apart.
    assert_eq!(
        raw.call(&[b"PSUBSCRIBE", b"p*"]),
        push3("psubscribe", b"p*", 3)
    );
    assert_eq!(
        raw.call(&[b"SSUBSCRIBE", b"s"]),
        push3("ssubscribe", b"s", 1)
    );
    raw.send(b"UNSUBSCRIBE\r\n");
    // Either order (Redis walks a dict), the count going down one at a time.
    let (first, second) = (raw.read_reply(), raw.read_reply());
    assert!(
        (first == push3("unsubscribe", b"a", 2) && second == push3("unsubscribe", b"b", 1))
            || (first == push3("unsubscribe", b"b", 2) && second == push3("unsubscribe", b"a", 1)),
        "{first:?} {second:?}"
    );
    assert_eq!(
        raw.call(&[b"PUNSUBSCRIBE"]),
        push3("punsubscribe", b"p*", 0)
    );
    // Still subscribed to a shard channel: still in subscribed mode.
    assert_eq!(raw.call(&[b"PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(raw.call(&[b"SUNSUBSCRIBE"]), push3("sunsubscribe", b"s", 0));
    assert_eq!(raw.call(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn subscribed_resp2_client_may_only_run_subscription_commands() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&[b"SUBSCRIBE", b"a"]);
    for (args, name) in [
        (&[&b"GET"[..], b"x"][..], "get"),
        (&[b"CLIENT", b"INFO"], "client|info"),
        (&[b"CONFIG", b"GET", b"x"], "config|get"),
        (&[b"HELLO", b"3"], "hello"),
        (&[b"PUBLISH", b"a", b"b"], "publish"),
    ] {
        assert_eq!(
            raw.call(args),
            format!("-ERR Can't execute '{name}': {CONTEXT_ERROR}\r\n").as_bytes()
        );
    }
    // Unknown commands and arity errors come first, as in Redis.
    assert_eq!(
        raw.call(&[b"foo"]),
        b"-ERR unknown command 'foo', with args beginning with: \r\n"
    );
    assert_eq!(
        raw.call(&[b"GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(raw.call(&[b"PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(
        raw.call(&[b"PING", b"hi"]),
        b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        raw.call(&[b"PING", b"a", b"b"]),
        b"-ERR wrong number of arguments for 'ping' command\r\n"
    );
    // RESET leaves subscribed mode and drops the subscriptions.
    assert_eq!(raw.call(&[b"RESET"]), b"+RESET\r\n");
    assert_eq!(raw.call(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(
        raw.call(&[b"PUBSUB", b"NUMSUB", b"a"]),
        b"*2\r\n$1\r\na\r\n:0\r\n"
    );
    // QUIT is allowed.
    raw.call(&[b"SUBSCRIBE", b"a"]);
    assert_eq!(raw.call(&[b"QUIT"]), b"+OK\r\n");
    assert!(raw.is_closed());
}

#[test]
fn resp3_subscriber_gets_push_frames_and_runs_any_command() {
    let server = TestServer::start();
    let mut raw = server.raw();
    hello3(&mut raw);
    assert_eq!(
        raw.call(&[b"SUBSCRIBE", b"a"]),
        b">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    );
    assert_eq!(raw.call(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(raw.call(&[b"GET", b"x"]), b"_\r\n");
    assert_eq!(
        raw.call(&[b"PSUBSCRIBE", b"*"]),
        b">3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:2\r\n"
    );
    // Its own messages come before the count, as Redis writes them.
    raw.send(b"PUBLISH a me\r\n");
    assert_eq!(
        raw.read_reply(),
        b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nme\r\n"
    );
    assert_eq!(
        raw.read_reply(),
        b">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$1\r\na\r\n$2\r\nme\r\n"
    );
    assert_eq!(raw.read_reply(), b":2\r\n");
    let mut publisher = server.raw();
    assert_eq!(publisher.call(&[b"PUBLISH", b"b", b"x"]), b":1\r\n");
    assert_eq!(
        raw.read_reply(),
        b">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$1\r\nb\r\n$1\r\nx\r\n"
    );
    // Back to RESP2 while subscribed: the restrictions apply again.
    assert!(raw.call(&[b"HELLO", b"2"]).starts_with(b"*14\r\n"));
    assert_eq!(
        raw.call(&[b"GET", b"x"]),
        format!("-ERR Can't execute 'get': {CONTEXT_ERROR}\r\n").as_bytes()
    );
}

#[test]
fn published_messages_reach_idle_subscribers_by_channel_and_pattern() {
    let server = TestServer::start();
    let mut subscriber = server.raw();
    subscriber.send(b"SUBSCRIBE news\r\nPSUBSCRIBE n?ws h[a-c]llo \\*star esc\\?\r\n");
    for _ in 0..5 {
        subscriber.read_reply();
    }
    let mut publisher = server.raw();
    assert_eq!(publisher.call(&[b"PUBLISH", b"news", b"one"]), b":2\r\n");
    assert_eq!(subscriber.read_reply(), message(b"news", b"one"));
    assert_eq!(subscriber.read_reply(), pmessage(b"n?ws", b"news", b"one"));
    assert_eq!(publisher.call(&[b"PUBLISH", b"hbllo", b"two"]), b":1\r\n");
    assert_eq!(
        subscriber.read_reply(),
        pmessage(b"h[a-c]llo", b"hbllo", b"two")
    );
    assert_eq!(publisher.call(&[b"PUBLISH", b"hdllo", b"x"]), b":0\r\n");
    assert_eq!(publisher.call(&[b"PUBLISH", b"*star", b"3"]), b":1\r\n");
    assert_eq!(
        subscriber.read_reply(),
        pmessage(b"\\*star", b"*star", b"3")
    );
    assert_eq!(publisher.call(&[b"PUBLISH", b"xstar", b"x"]), b":0\r\n");
    assert_eq!(publisher.call(&[b"PUBLISH", b"esc?", b"4"]), b":1\r\n");
    assert_eq!(subscriber.read_reply(), pmessage(b"esc\\?", b"esc?", b"4"));
    assert_eq!(publisher.call(&[b"PUBLISH", b"escx", b"x"]), b":0\r\n");
    // Binary-safe payloads and channels.
    subscriber.call(&[b"SUBSCRIBE", b"bin\0ch"]);
    assert_eq!(
        publisher.call(&[b"PUBLISH", b"bin\0ch", b"\0\r\n"]),
        b":1\r\n"
    );
    assert_eq!(subscriber.read_reply(), message(b"bin\0ch", b"\0\r\n"));
    // Shard channels are their own namespace; patterns never see them.
    subscriber.send(b"SSUBSCRIBE news\r\n");
    assert_eq!(subscriber.read_reply(), push3("ssubscribe", b"news", 1));
    assert_eq!(publisher.call(&[b"SPUBLISH", b"news", b"s"]), b":1\r\n");
    assert_eq!(
        subscriber.read_reply(),
        b"*3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$1\r\ns\r\n"
    );
    // A closed subscriber is forgotten.
    drop(subscriber);
    let mut gone = false;
    for _ in 0..1000 {
        if publisher.call(&[b"PUBSUB", b"NUMPAT"]) == b":0\r\n" {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(gone);
    assert_eq!(publisher.call(&[b"PUBLISH", b"news", b"x"]), b":0\r\n");
}

#[test]
fn pubsub_introspection() {
    let server = TestServer::start();
    let mut client = server.raw();
    assert_eq!(client.call(&[b"PUBSUB", b"CHANNELS"]), b"*0\r\n");
    assert_eq!(client.call(&[b"PUBSUB", b"NUMSUB"]), b"*0\r\n");
    assert_eq!(client.call(&[b"PUBSUB", b"NUMPAT"]), b":0\r\n");
    let mut one = server.raw();
    one.send(b"SUBSCRIBE alpha beta\r\nPSUBSCRIBE a* b*\r\nSSUBSCRIBE shard\r\n");
    let mut two = server.raw();
    two.send(b"SUBSCRIBE alpha\r\nPSUBSCRIBE a*\r\n");
    for _ in 0..5 {
        one.read_reply();
    }
    for _ in 0..2 {
        two.read_reply();
    }
    let mut channels = client.call(&[b"PUBSUB", b"CHANNELS"]);
    assert!(channels.starts_with(b"*2\r\n"), "{channels:?}");
    channels.sort();
    let mut expected = b"*2\r\n$5\r\nalpha\r\n$4\r\nbeta\r\n".to_vec();
    expected.sort();
    assert_eq!(channels, expected);
    assert_eq!(
        client.call(&[b"PUBSUB", b"CHANNELS", b"a*"]),
        b"*1\r\n$5\r\nalpha\r\n"
    );
    assert_eq!(
        client.call(&[b"PUBSUB", b"NUMSUB", b"alpha", b"beta", b"none"]),
        b"*6\r\n$5\r\nalpha\r\n:2\r\n$4\r\nbeta\r\n:1\r\n$4\r\nnone\r\n:0\r\n"
    );
    // Distinct patterns, not subscriptions.
    assert_eq!(client.call(&[b"PUBSUB", b"NUMPAT"]), b":2\r\n");
    assert_eq!(
        client.call(&[b"PUBSUB", b"SHARDCHANNELS"]),
        b"*1\r\n$5\r\nshard\r\n"
    );
    assert_eq!(
        client.call(&[b"PUBSUB", b"SHARDNUMSUB", b"shard", b"alpha"]),
        b"*4\r\n$5\r\nshard\r\n:1\r\n$5\r\nalpha\r\n:0\r\n"
    );
    let info = client.call(&[b"INFO", b"stats"]);
    let info = String::from_utf8_lossy(&info);
    for field in [
        "pubsub_channels:2",
        "pubsub_patterns:2",
        "pubsubshard_channels:1",
    ] {
        assert!(info.contains(field), "{field} in {info}");
    }
    // PUBLISH counts channel and pattern receivers.
    assert_eq!(client.call(&[b"PUBLISH", b"alpha", b"x"]), b":4\r\n");
    assert_eq!(
        client.call(&[b"PUBSUB", b"CHANNELS", b"a", b"b"]),
        b"-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        client.call(&[b"PUBSUB", b"NUMPAT", b"x"]),
        b"-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
    );
    assert_eq!(
        client.call(&[b"PUBSUB", b"foo"]),
        b"-ERR unknown subcommand 'foo'. Try PUBSUB HELP.\r\n"
    );
    assert!(client.call(&[b"PUBSUB", b"HELP"]).starts_with(
        b"*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
    ));
    // CLIENT LIST shows the subscriptions and the P flag; TYPE pubsub selects them.
    let list = client.call(&[b"CLIENT", b"LIST"]);
    let list = String::from_utf8_lossy(&list);
    assert!(list.contains("flags=P db=0 sub=2 psub=2 ssub=1"), "{list}");
    assert!(list.contains("flags=P db=0 sub=1 psub=1 ssub=0"), "{list}");
    assert!(list.contains("flags=N db=0 sub=0 psub=0 ssub=0"), "{list}");
    let pubsub_clients = client.call(&[b"CLIENT", b"LIST", b"TYPE", b"pubsub"]);
    assert_eq!(
        String::from_utf8_lossy(&pubsub_clients)
            .matches("flags=P")
            .count(),
        2
    );
}

#[test]
fn keyspace_events_config_uses_redis_letters() {
    let server = TestServer::start();
    let mut client = server.raw();
    let get = |client: &mut RawClient| client.call(&[b"CONFIG", b"GET", b"notify-keyspace-events"]);
    assert_eq!(
        get(&mut client),
        b"*2\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n"
    );
    for (set, shown) in [
        ("KEA", "AKE"),
        ("gx", "gx"),
        ("AKEmn", "AKEm"),
        ("gd$K", "g$dK"),
        ("g$lshzxetd", "A"),
        ("", ""),
    ] {
        assert_eq!(
            client.call(&[b"CONFIG", b"SET", b"notify-keyspace-events", set.as_bytes()]),
            b"+OK\r\n"
        );
        let mut expected = b"*2\r\n$22\r\nnotify-keyspace-events\r\n".to_vec();
        expected.extend(bulk(shown.as_bytes()));
        assert_eq!(get(&mut client), expected, "{set}");
    }
    assert_eq!(
        client.call(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"Kq"]),
        b"-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n"
    );
}

#[test]
fn keyspace_notifications_for_set_del_expired_evicted() {
    let server = TestServer::start();
    let mut client = server.raw();
    let mut subscriber = server.raw();
    subscriber.call(&[b"PSUBSCRIBE", b"__key*__:*"]);
    // Off by default: nothing is published.
    client.call(&[b"SET", b"k", b"v"]);
    assert_eq!(
        subscriber.call(&[b"PING"]),
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    );

    client.call(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"]);
    let pattern = b"__key*__:*";
    client.call(&[b"SET", b"k", b"v"]);
    assert_eq!(
        subscriber.read_reply(),
        pmessage(pattern, b"__keyspace@0__:k", b"set")
    );
    assert_eq!(
        subscriber.read_reply(),
        pmessage(pattern, b"__keyevent@0__:set", b"k")
    );
    client.call(&[b"SELECT", b"3"]);
    client.call(&[b"SET", b"other", b"v"]);
    client.call(&[b"DEL", b"other"]);
    wait_for(
        &mut subscriber,
        &pmessage(pattern, b"__keyspace@3__:other", b"del"),
        4,
    );
    assert_eq!(
        subscriber.read_reply(),
        pmessage(pattern, b"__keyevent@3__:del", b"other")
    );
    // Only the keyevent channel, only expired events.
    client.call(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"Ex"]);
    client.call(&[b"SET", b"short", b"v", b"PX", b"1"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(client.call(&[b"GET", b"short"]), b"$-1\r\n");
    assert_eq!(
        subscriber.read_reply(),
        pmessage(pattern, b"__keyevent@3__:expired", b"short")
    );
    // Evictions by the key limit.
    client.call(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"Ke"]);
    client.call(&[b"FLUSHALL"]);
    client.call(&[b"CONFIG", b"SET", b"maxmemory-policy", b"allkeys-lru"]);
    client.call(&[b"CONFIG", b"SET", b"maxmemory-keys", b"1"]);
    client.call(&[b"SET", b"first", b"v"]);
    client.call(&[b"SET", b"second", b"v"]);
    // Which of the two goes is the policy's choice.
    let evicted = subscriber.read_reply();
    assert!(
        evicted == pmessage(pattern, b"__keyspace@3__:first", b"evicted")
            || evicted == pmessage(pattern, b"__keyspace@3__:second", b"evicted"),
        "{}",
        String::from_utf8_lossy(&evicted)
    );
}

#[test]
fn slow_subscriber_is_disconnected_at_its_output_limit() {
    let server = TestServer::start();
    let mut client = server.raw();
    assert_eq!(
        client.call(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit",
            b"pubsub 256kb 64kb 60"
        ]),
        b"+OK\r\n"
    );
    let mut subscriber = server.raw();
    subscriber.call(&[b"SUBSCRIBE", b"flood"]);
    let subscriber_id = {
        let list = client.call(&[b"CLIENT", b"LIST", b"TYPE", b"pubsub"]);
        String::from_utf8_lossy(&list)
            .split("id=")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .map(str::to_string)
            .expect("subscriber listed")
    };
    // The subscriber never reads: whatever the socket buffers cannot hold queues in the server,
    // up to the limit, and then the subscriber is dropped.
    let payload = vec![b'x'; 4096];
    let limit = 256 * 1024 + 8192;
    let mut receivers_left = true;
    let mut largest_seen = 0usize;
    for round in 0..100_000 {
        let reply = client.call(&[b"PUBLISH", b"flood", &payload]);
        if reply == b":0\r\n" {
            receivers_left = false;
            break;
        }
        assert_eq!(reply, b":1\r\n");
        if round % 64 == 0 {
            let line = client.call(&[b"CLIENT", b"LIST", b"ID", subscriber_id.as_bytes()]);
            let line = String::from_utf8_lossy(&line);
            if let Some(omem) = line
                .split("omem=")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse::<usize>().ok())
            {
                largest_seen = largest_seen.max(omem);
            }
        }
    }
    assert!(!receivers_left, "the slow subscriber was never dropped");
    assert!(largest_seen <= limit, "{largest_seen} queued");
    assert_eq!(
        client.call(&[b"CLIENT", b"LIST", b"TYPE", b"pubsub"]),
        b"$0\r\n\r\n"
    );
    assert!(server.alive());
    // The subscriber finds its connection closed once it reads what had been sent.
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(&mut subscriber.stream, &mut buf) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(err) => panic!("{err}"),
        }
    }
}

#[test]
fn normal_client_over_its_hard_limit_is_closed() {
    let server = TestServer::start();
    let mut client = server.raw();
    let big = vec![b'a'; 200_000];
    client.call(&[b"SET", b"big", &big]);
    client.call(&[
        b"CONFIG",
        b"SET",
        b"client-output-buffer-limit",
        b"normal 100kb 0 0",
    ]);
    let mut reader = server.raw();
    reader.send(b"GET big\r\n");
    assert!(reader.is_closed());
    client.call(&[
        b"CONFIG",
        b"SET",
        b"client-output-buffer-limit",
        b"normal 0 0 0",
    ]);
    let mut reader = server.raw();
    assert_eq!(reader.call(&[b"STRLEN", b"big"]), b":200000\r\n");
}

#[test]
fn output_buffer_limit_config_as_redis() {
    let server = TestServer::start();
    let mut client = server.raw();
    let get =
        |client: &mut RawClient| client.call(&[b"CONFIG", b"GET", b"client-output-buffer-limit"]);
    let shown = |value: &str| {
        let mut expected = b"*2\r\n$26\r\nclient-output-buffer-limit\r\n".to_vec();
        expected.extend(bulk(value.as_bytes()));
        expected
    };
    assert_eq!(
        get(&mut client),
        shown("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
    );
    let set = |client: &mut RawClient, value: &str| {
        client.call(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit",
            value.as_bytes(),
        ])
    };
    assert_eq!(set(&mut client, "pubsub 1mb 512kb 10"), b"+OK\r\n");
    assert_eq!(
        set(&mut client, "normal 1kb 2k 3 replica 1 2 3"),
        b"+OK\r\n"
    );
    assert_eq!(
        get(&mut client),
        shown("normal 1024 2000 3 slave 1 2 3 pubsub 1048576 524288 10")
    );
    let failed = |reason: &str| {
        format!("-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - {reason}\r\n").into_bytes()
    };
    assert_eq!(
        set(&mut client, "pubsub 1mb 512kb"),
        failed("Wrong number of arguments in buffer limit configuration.")
    );
    for value in ["foo 1 1 1", "master 1 1 1", "normal 0 0 0 master 1 1 1"] {
        assert_eq!(
            set(&mut client, value),
            failed("Invalid client class specified in buffer limit configuration.")
        );
    }
    for value in ["normal x 1 1", "normal -1 0 0", "normal 0 0 -3"] {
        assert_eq!(
            set(&mut client, value),
            failed("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        );
    }
    // Nothing of a refused value was applied.
    assert_eq!(
        get(&mut client),
        shown("normal 1024 2000 3 slave 1 2 3 pubsub 1048576 524288 10")
    );
}

#[test]
fn own_keyspace_notification_comes_before_the_reply_in_resp3() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"]);
    hello3(&mut raw);
    raw.call(&[b"SUBSCRIBE", b"__keyevent@0__:set"]);
    raw.send(b"SET k v\r\nGET k\r\n");
    assert_eq!(
        raw.read_reply(),
        b">3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n"
    );
    assert_eq!(raw.read_reply(), b"+OK\r\n");
    assert_eq!(raw.read_reply(), b"$1\r\nv\r\n");
}

#[test]
fn idle_timeout_spares_subscribers() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut subscriber = server.raw();
    subscriber.call(&[b"SUBSCRIBE", b"a"]);
    let mut idle = server.raw();
    assert_eq!(idle.call(&[b"PING"]), b"+PONG\r\n");
    admin.call(&[b"CONFIG", b"SET", b"timeout", b"1"]);
    // Wakes both idle connections so that they pick up the new timeout.
    assert_eq!(admin.call(&[b"PUBLISH", b"a", b"x"]), b":1\r\n");
    assert_eq!(subscriber.read_reply(), message(b"a", b"x"));
    assert_eq!(idle.call(&[b"PING"]), b"+PONG\r\n");
    assert!(idle.is_closed());
    assert_eq!(
        subscriber.call(&[b"PING"]),
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    );
}
