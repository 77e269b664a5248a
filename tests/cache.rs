//! CACHE.SET and CACHE.INSPECT against the real server. The SET half of CACHE.SET is compared with
//! what Redis 7 answers to the same SET requests; the metadata half with the rules in the README
//! ("Cache commands"): writes that replace a value reset priority/cost/tags, in-place changes keep them.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{bulk, call, RawClient, TestServer};
use redis::Value;

const NIL: &[u8] = b"$-1\r\n";
const OK: &[u8] = b"+OK\r\n";
const SYNTAX: &[u8] = b"-ERR syntax error\r\n";
const NOT_INT: &[u8] = b"-ERR value is not an integer or out of range\r\n";
const BAD_PRIORITY: &[u8] =
    b"-ERR invalid priority, must be one of low, normal, high, critical\r\n";
const INVALID_EXPIRE: &[u8] = b"-ERR invalid expire time in 'cache.set' command\r\n";

/// CACHE.INSPECT as field → value, through the RESP2 flat array.
fn inspect(con: &mut redis::Connection, key: &[u8]) -> HashMap<String, Value> {
    let flat: Vec<Value> = redis::cmd("CACHE.INSPECT").arg(key).query(con).unwrap();
    assert_eq!(flat.len(), 20, "{flat:?}");
    flat.chunks(2)
        .map(|pair| match &pair[0] {
            Value::BulkString(name) => (String::from_utf8(name.clone()).unwrap(), pair[1].clone()),
            other => panic!("field name {other:?}"),
        })
        .collect()
}

fn text(value: &Value) -> Vec<u8> {
    match value {
        Value::BulkString(b) => b.clone(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

fn int(value: &Value) -> i64 {
    match value {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

/// (priority, cost, tags) of a key.
fn meta(con: &mut redis::Connection, key: &str) -> (String, i64, Vec<Vec<u8>>) {
    let fields = inspect(con, key.as_bytes());
    let tags = match &fields["tags"] {
        Value::Array(items) => items.iter().map(text).collect(),
        other => panic!("tags {other:?}"),
    };
    (
        String::from_utf8(text(&fields["priority"])).unwrap(),
        int(&fields["cost"]),
        tags,
    )
}

fn defaults() -> (String, i64, Vec<Vec<u8>>) {
    ("normal".into(), 1, vec![])
}

fn tagged() -> (String, i64, Vec<Vec<u8>>) {
    ("high".into(), 7, vec![b"t1".to_vec(), b"t2".to_vec()])
}

const TAGGED: &[&str] = &["PRIORITY", "high", "COST", "7", "TAGS", "2", "t1", "t2"];

fn cache_set(raw: &mut RawClient, key: &str, value: &str, options: &[&str]) -> Vec<u8> {
    let mut args = vec!["CACHE.SET", key, value];
    args.extend_from_slice(options);
    call(raw, &args)
}

#[test]
fn syntax_errors_come_before_value_errors_and_write_nothing() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        call(&mut raw, &["CACHE.SET", "k"]),
        b"-ERR wrong number of arguments for 'cache.set' command\r\n"
    );
    for bad in [
        &["NX", "XX"][..],
        &["XX", "NX"],
        &["EX"],
        &["EX", "10", "PX", "10"],
        &["KEEPTTL", "EX", "1"],
        &["EX", "1", "KEEPTTL"],
        &["PERSIST"],
        &["FOO"],
        &["PRIORITY"],
        &["COST"],
        &["TAGS"],
        &["TAGS", "0"],
        &["TAGS", "-1", "a"],
        &["TAGS", "x", "a"],
        &["TAGS", "3", "a", "b"],
        &["TAGS", "1", "a", "b"],
        &["TAGS", "9223372036854775807", "a"],
        &["KEEPMETA", "1"],
        // The value errors below wait for the whole line to parse, as SET's expiry does.
        &["EX", "0", "FOO"],
        &["PRIORITY", "bogus", "FOO"],
        &["COST", "-1", "FOO"],
    ] {
        assert_eq!(cache_set(&mut raw, "k", "v", bad), SYNTAX, "{bad:?}");
    }
    assert_eq!(cache_set(&mut raw, "k", "v", &["EX", "0"]), INVALID_EXPIRE);
    assert_eq!(cache_set(&mut raw, "k", "v", &["PX", "-5"]), INVALID_EXPIRE);
    assert_eq!(
        cache_set(&mut raw, "k", "v", &["EX", "9223372036854776"]),
        INVALID_EXPIRE
    );
    assert_eq!(cache_set(&mut raw, "k", "v", &["EX", "abc"]), NOT_INT);
    assert_eq!(
        cache_set(&mut raw, "k", "v", &["PRIORITY", "bogus"]),
        BAD_PRIORITY
    );
    assert_eq!(
        cache_set(&mut raw, "k", "v", &["PRIORITY", ""]),
        BAD_PRIORITY
    );
    assert_eq!(
        cache_set(&mut raw, "k", "v", &["PRIORITY", "norm"]),
        BAD_PRIORITY
    );
    for cost in [
        "-1",
        "4294967296",
        "abc",
        "1.5",
        "",
        " 1",
        "99999999999999999999",
    ] {
        assert_eq!(
            cache_set(&mut raw, "k", "v", &["COST", cost]),
            NOT_INT,
            "{cost:?}"
        );
    }
    // Expiry is checked before priority and cost.
    assert_eq!(
        cache_set(
            &mut raw,
            "k",
            "v",
            &["PRIORITY", "x", "COST", "x", "EX", "0"]
        ),
        INVALID_EXPIRE
    );
    assert_eq!(
        cache_set(&mut raw, "k", "v", &["COST", "x", "PRIORITY", "x"]),
        BAD_PRIORITY
    );
    assert_eq!(call(&mut raw, &["EXISTS", "k"]), b":0\r\n");
}

#[test]
fn options_are_case_insensitive_and_may_repeat() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut con = server.client();
    assert_eq!(
        cache_set(
            &mut raw,
            "k",
            "v",
            &[
                "priority", "LOW", "Priority", "CrItIcAl", "cost", "3", "COST", "0", "tags", "1",
                "a", "TAGS", "1", "b", "nx", "NX"
            ]
        ),
        OK
    );
    assert_eq!(
        meta(&mut con, "k"),
        ("critical".into(), 0, vec![b"b".to_vec()])
    );
    assert_eq!(
        cache_set(
            &mut raw,
            "k",
            "v",
            &["COST", "4294967295", "TAGS", "3", "x", "y", "x"]
        ),
        OK
    );
    // A tag given twice is kept once, in first-seen order.
    assert_eq!(
        meta(&mut con, "k"),
        (
            "normal".into(),
            4294967295,
            vec![b"x".to_vec(), b"y".to_vec()]
        )
    );
    // A tag named like an option is a tag: the count decides.
    assert_eq!(
        cache_set(&mut raw, "k", "v", &["TAGS", "2", "NX", "EX", "XX"]),
        OK
    );
    assert_eq!(meta(&mut con, "k").2, vec![b"NX".to_vec(), b"EX".to_vec()]);
}

#[test]
fn set_options_behave_as_set() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(cache_set(&mut raw, "k", "v", &["NX", "GET"]), NIL);
    assert_eq!(cache_set(&mut raw, "k", "v2", &["NX", "GET"]), bulk("v"));
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("v"));
    assert_eq!(cache_set(&mut raw, "k", "v2", &["NX"]), NIL);
    assert_eq!(cache_set(&mut raw, "k", "v3", &["XX", "GET"]), bulk("v"));
    assert_eq!(cache_set(&mut raw, "m", "v", &["XX", "GET"]), NIL);
    assert_eq!(cache_set(&mut raw, "m", "v", &["XX"]), NIL);
    assert_eq!(call(&mut raw, &["EXISTS", "m"]), b":0\r\n");
    assert_eq!(cache_set(&mut raw, "k", "v4", &["XX"]), OK);
    assert_eq!(cache_set(&mut raw, "k", "v", &["PX", "100000"]), OK);
    assert_eq!(
        cache_set(&mut raw, "k", "v2", &["KEEPTTL", "GET"]),
        bulk("v")
    );
    let pttl: i64 = redis::cmd("PTTL")
        .arg("k")
        .query(&mut server.client())
        .unwrap();
    assert!(pttl > 90_000 && pttl <= 100_000, "{pttl}");
    // Without KEEPTTL a new value drops the TTL, as SET does.
    assert_eq!(cache_set(&mut raw, "k", "v3", &["PRIORITY", "high"]), OK);
    assert_eq!(call(&mut raw, &["PTTL", "k"]), b":-1\r\n");
    assert_eq!(cache_set(&mut raw, "k", "v", &["EXAT", "1"]), OK);
    assert_eq!(call(&mut raw, &["EXISTS", "k"]), b":0\r\n");
    assert_eq!(
        cache_set(&mut raw, "k", "v", &["PXAT", "99999999999999"]),
        OK
    );
    assert_eq!(
        call(&mut raw, &["PEXPIRETIME", "k"]),
        b":99999999999999\r\n"
    );
    // Binary-safe key and value; the integer encoding as SET picks it.
    let key: &[u8] = b"bin\x00\r\nkey";
    assert_eq!(raw.call(&[b"CACHE.SET", key, b"\x00\xff\r\n", b"GET"]), NIL);
    assert_eq!(raw.call(&[b"GET", key]), b"$4\r\n\x00\xff\r\n\r\n");
    assert_eq!(cache_set(&mut raw, "n", "12", &[]), OK);
    assert_eq!(call(&mut raw, &["OBJECT", "ENCODING", "n"]), bulk("int"));
    assert_eq!(call(&mut raw, &["INCR", "n"]), b":13\r\n");
}

#[test]
fn expiry_set_by_cache_set_is_observed() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        cache_set(&mut raw, "k", "v", &["PX", "50", "PRIORITY", "critical"]),
        OK
    );
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(call(&mut raw, &["CACHE.INSPECT", "k"]), NIL);
    assert_eq!(call(&mut raw, &["GET", "k"]), NIL);
}

#[test]
fn metadata_round_trips_through_inspect() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut con = server.client();
    assert_eq!(cache_set(&mut raw, "plain", "v", &[]), OK);
    assert_eq!(meta(&mut con, "plain"), defaults());
    assert_eq!(cache_set(&mut raw, "k", "hello", TAGGED), OK);
    assert_eq!(meta(&mut con, "k"), tagged());
    let fields = inspect(&mut con, b"k");
    assert_eq!(fields.len(), 10);
    assert_eq!(int(&fields["ttl"]), -1);
    assert_eq!(text(&fields["type"]), b"string");
    assert_eq!(text(&fields["encoding"]), b"embstr");
    assert!(int(&fields["size"]) > int(&inspect(&mut con, b"plain")["size"]));
    assert!(int(&fields["idle"]) >= 0);
    // Binary tags.
    let tag: &[u8] = b"\x00t\r\n";
    assert_eq!(
        raw.call(&[b"CACHE.SET", b"b", b"v", b"TAGS", b"1", tag, b"EX", b"100"]),
        OK
    );
    let fields = inspect(&mut con, b"b");
    assert_eq!(
        fields["tags"],
        Value::Array(vec![Value::BulkString(tag.to_vec())])
    );
    let ttl = int(&fields["ttl"]);
    assert!(ttl > 90_000 && ttl <= 100_000, "{ttl}");
    assert_eq!(cache_set(&mut raw, "n", "123", &["PRIORITY", "low"]), OK);
    assert_eq!(text(&inspect(&mut con, b"n")["encoding"]), b"int");
    assert_eq!(call(&mut raw, &["APPEND", "n", "4"]), b":4\r\n");
    assert_eq!(text(&inspect(&mut con, b"n")["encoding"]), b"raw");
}

#[test]
fn inspect_is_not_an_access() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut con = server.client();
    assert_eq!(cache_set(&mut raw, "k", "v", &[]), OK);
    let stats = |raw: &mut RawClient| {
        let info = call(raw, &["INFO", "stats"]);
        let info = String::from_utf8(info).unwrap();
        info.lines()
            .filter(|l| l.starts_with("keyspace_hits:") || l.starts_with("keyspace_misses:"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let before = stats(&mut raw);
    // A new key starts at LFU_INIT_VAL (5); only real accesses raise it.
    let freq = int(&inspect(&mut con, b"k")["frequency"]);
    for _ in 0..20 {
        assert_eq!(int(&inspect(&mut con, b"k")["frequency"]), freq);
    }
    assert_eq!(call(&mut raw, &["CACHE.INSPECT", "missing"]), NIL);
    assert_eq!(stats(&mut raw), before);
    // The first access from the initial counter always increments (probability 1).
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("v"));
    assert_eq!(int(&inspect(&mut con, b"k")["frequency"]), freq + 1);
}

#[test]
fn inspect_replies_nil_and_maps_per_protocol() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["CACHE.INSPECT", "missing"]), NIL);
    assert_eq!(
        call(&mut raw, &["CACHE.INSPECT"]),
        b"-ERR wrong number of arguments for 'cache.inspect' command\r\n"
    );
    assert_eq!(
        call(&mut raw, &["CACHE.INSPECT", "a", "b"]),
        b"-ERR wrong number of arguments for 'cache.inspect' command\r\n"
    );
    assert_eq!(
        cache_set(&mut raw, "k", "12", &["COST", "3", "TAGS", "1", "x"]),
        OK
    );
    let resp2 = call(&mut raw, &["CACHE.INSPECT", "k"]);
    assert!(
        resp2.starts_with(
            b"*20\r\n$8\r\npriority\r\n$6\r\nnormal\r\n$4\r\ncost\r\n:3\r\n$4\r\nsize\r\n:"
        ),
        "{}",
        String::from_utf8_lossy(&resp2)
    );
    call(&mut raw, &["HELLO", "3"]);
    assert_eq!(call(&mut raw, &["CACHE.INSPECT", "missing"]), b"_\r\n");
    let resp3 = String::from_utf8(call(&mut raw, &["CACHE.INSPECT", "k"])).unwrap();
    assert!(
        resp3.starts_with("%10\r\n$8\r\npriority\r\n$6\r\nnormal\r\n$4\r\ncost\r\n:3\r\n"),
        "{resp3}"
    );
    assert!(
        resp3.contains("$4\r\ntags\r\n*1\r\n$1\r\nx\r\n$10\r\ndepends_on\r\n*0\r\n$3\r\nttl\r\n:-1\r\n$9\r\nfrequency\r\n:"),
        "{resp3}"
    );
    assert!(
        resp3.ends_with("$4\r\ntype\r\n$6\r\nstring\r\n$8\r\nencoding\r\n$3\r\nint\r\n"),
        "{resp3}"
    );
}

#[test]
fn keepmeta_keeps_what_is_not_given() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut con = server.client();
    // On a missing key KEEPMETA has nothing to keep.
    assert_eq!(cache_set(&mut raw, "k", "v", &["KEEPMETA"]), OK);
    assert_eq!(meta(&mut con, "k"), defaults());
    assert_eq!(cache_set(&mut raw, "k", "v", TAGGED), OK);
    assert_eq!(
        cache_set(&mut raw, "k", "v2", &["KEEPMETA", "GET"]),
        bulk("v")
    );
    assert_eq!(meta(&mut con, "k"), tagged());
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("v2"));
    // Explicit options win over kept ones, in any order.
    assert_eq!(
        cache_set(&mut raw, "k", "v3", &["COST", "9", "KEEPMETA"]),
        OK
    );
    assert_eq!(
        meta(&mut con, "k"),
        ("high".into(), 9, vec![b"t1".to_vec(), b"t2".to_vec()])
    );
    assert_eq!(
        cache_set(
            &mut raw,
            "k",
            "v3",
            &["KEEPMETA", "TAGS", "1", "z", "PRIORITY", "low"]
        ),
        OK
    );
    assert_eq!(meta(&mut con, "k"), ("low".into(), 9, vec![b"z".to_vec()]));
    // NX declines: nothing changes, metadata included.
    assert_eq!(
        cache_set(&mut raw, "k", "v4", &["NX", "PRIORITY", "critical"]),
        NIL
    );
    assert_eq!(meta(&mut con, "k"), ("low".into(), 9, vec![b"z".to_vec()]));
    // KEEPMETA keeps metadata, not the TTL: that is KEEPTTL's job.
    assert_eq!(
        cache_set(&mut raw, "k", "v5", &["EX", "100", "KEEPMETA"]),
        OK
    );
    assert_eq!(cache_set(&mut raw, "k", "v6", &["KEEPMETA"]), OK);
    assert_eq!(call(&mut raw, &["TTL", "k"]), b":-1\r\n");
    assert_eq!(meta(&mut con, "k"), ("low".into(), 9, vec![b"z".to_vec()]));
    // Without KEEPMETA, CACHE.SET starts from the defaults like SET.
    assert_eq!(cache_set(&mut raw, "k", "v7", &["XX"]), OK);
    assert_eq!(meta(&mut con, "k"), defaults());
}

#[test]
fn writes_that_replace_the_value_reset_metadata() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut con = server.client();
    let replacing: &[&[&str]] = &[
        &["SET", "k", "x"],
        &["SET", "k", "x", "KEEPTTL"],
        &["SET", "k", "x", "XX", "GET"],
        &["SETEX", "k", "100", "x"],
        &["PSETEX", "k", "100000", "x"],
        &["GETSET", "k", "x"],
        &["MSET", "other", "1", "k", "x"],
        &["CACHE.SET", "k", "x"],
    ];
    for write in replacing {
        assert_eq!(cache_set(&mut raw, "k", "v", TAGGED), OK);
        assert_eq!(meta(&mut con, "k"), tagged());
        call(&mut raw, write);
        assert_eq!(call(&mut raw, &["GET", "k"]), bulk("x"), "{write:?}");
        assert_eq!(meta(&mut con, "k"), defaults(), "{write:?}");
    }
    // Writes that decline leave the entry as it was.
    assert_eq!(cache_set(&mut raw, "k", "v", TAGGED), OK);
    assert_eq!(call(&mut raw, &["SETNX", "k", "x"]), b":0\r\n");
    assert_eq!(call(&mut raw, &["MSETNX", "k", "x", "new", "y"]), b":0\r\n");
    assert_eq!(call(&mut raw, &["SET", "k", "x", "NX"]), NIL);
    assert_eq!(meta(&mut con, "k"), tagged());
    // A key deleted and written again starts over.
    call(&mut raw, &["DEL", "k"]);
    assert_eq!(call(&mut raw, &["SETNX", "k", "x"]), b":1\r\n");
    assert_eq!(meta(&mut con, "k"), defaults());
}

#[test]
fn in_place_changes_keep_metadata() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut con = server.client();
    let in_place: &[(&str, &[&str])] = &[
        ("s", &["APPEND", "s", "x"]),
        ("s", &["SETRANGE", "s", "1", "zz"]),
        ("n", &["INCR", "n"]),
        ("n", &["DECR", "n"]),
        ("n", &["INCRBY", "n", "5"]),
        ("n", &["DECRBY", "n", "5"]),
        ("n", &["INCRBYFLOAT", "n", "1.5"]),
        ("s", &["EXPIRE", "s", "100"]),
        ("s", &["PEXPIRE", "s", "100000"]),
        ("s", &["EXPIREAT", "s", "99999999999"]),
        ("s", &["PERSIST", "s"]),
        ("s", &["GETEX", "s", "EX", "100"]),
        ("s", &["GETEX", "s", "PERSIST"]),
        ("s", &["GET", "s"]),
    ];
    for (key, write) in in_place {
        call(&mut raw, &["DEL", key]);
        let value = if *key == "n" { "10" } else { "value" };
        assert_eq!(cache_set(&mut raw, key, value, TAGGED), OK);
        if *write == ["PERSIST", "s"] || *write == ["GETEX", "s", "PERSIST"] {
            call(&mut raw, &["EXPIRE", key, "100"]);
        }
        let reply = call(&mut raw, write);
        assert!(!reply.starts_with(b"-"), "{write:?}: {reply:?}");
        assert_eq!(meta(&mut con, key), tagged(), "{write:?}");
    }
}

#[test]
fn rename_copy_and_move_keep_metadata() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut con = server.client();
    assert_eq!(cache_set(&mut raw, "a", "v", TAGGED), OK);
    assert_eq!(call(&mut raw, &["RENAME", "a", "b"]), OK);
    assert_eq!(meta(&mut con, "b"), tagged());
    assert_eq!(call(&mut raw, &["RENAMENX", "b", "c"]), b":1\r\n");
    assert_eq!(meta(&mut con, "c"), tagged());
    assert_eq!(call(&mut raw, &["COPY", "c", "d"]), b":1\r\n");
    assert_eq!(meta(&mut con, "c"), tagged());
    assert_eq!(meta(&mut con, "d"), tagged());
    // COPY REPLACE over a key with other metadata takes the source's.
    assert_eq!(cache_set(&mut raw, "e", "w", &["PRIORITY", "critical"]), OK);
    assert_eq!(call(&mut raw, &["COPY", "d", "e", "REPLACE"]), b":1\r\n");
    assert_eq!(meta(&mut con, "e"), tagged());
    assert_eq!(call(&mut raw, &["MOVE", "e", "1"]), b":1\r\n");
    assert_eq!(call(&mut raw, &["SELECT", "1"]), OK);
    assert_eq!(
        call(&mut raw, &["CACHE.INSPECT", "e"]),
        call(&mut raw, &["CACHE.INSPECT", "e"])
    );
    let fields = call(&mut raw, &["CACHE.INSPECT", "e"]);
    assert!(
        fields.starts_with(b"*20\r\n$8\r\npriority\r\n$4\r\nhigh\r\n$4\r\ncost\r\n:7\r\n"),
        "{fields:?}"
    );
}

#[test]
fn command_table_describes_the_commands() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let info = String::from_utf8(call(
        &mut raw,
        &["COMMAND", "INFO", "cache.set", "CACHE.INSPECT"],
    ))
    .unwrap();
    assert!(
        info.starts_with(
            "*2\r\n*10\r\n$9\r\ncache.set\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n"
        ),
        "{info}"
    );
    assert!(
        info.contains(
            "$13\r\ncache.inspect\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        ),
        "{info}"
    );
    let keys = call(
        &mut raw,
        &[
            "COMMAND",
            "GETKEYS",
            "CACHE.SET",
            "key",
            "v",
            "TAGS",
            "1",
            "t",
        ],
    );
    assert_eq!(keys, b"*1\r\n$3\r\nkey\r\n");
}
