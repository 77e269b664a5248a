//! CACHE.EXPORT / CACHE.IMPORT and `cachet export|import`: every type and every metadata field
//! survives export → FLUSHALL → import (DUMP bytes, TTLs, CACHE.INSPECT, the tag and dependency
//! indexes); pages are bounded by COUNT; a bad line is refused whole with a reason naming the
//! field, and the import tool names its line number and goes on.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::io::Cursor;

use cachet::net::portable::{self, ImportSummary, Target};
use common::{call, int, RawClient, TestServer};
use redis::Value;

fn text(reply: Vec<u8>) -> String {
    String::from_utf8_lossy(&reply).into_owned()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn target(server: &TestServer, db: usize) -> Target {
    Target {
        host: "127.0.0.1".into(),
        port: server.port(),
        db,
        user: None,
        password: None,
    }
}

fn ok(raw: &mut RawClient, args: &[&[u8]]) {
    let reply = raw.call(args);
    assert!(
        !reply.starts_with(b"-"),
        "{:?}: {}",
        args.iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>(),
        text(reply)
    );
}

/// A keyspace of every type and encoding, with metadata on each kind of value.
fn populate(raw: &mut RawClient) {
    let far = (now_ms() + 3_600_000).to_string();
    let far = far.as_bytes();
    let big: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let mut sadd: Vec<&[u8]> = vec![b"SADD", b"bigset"];
    sadd.extend(big.iter().map(|m| m.as_bytes()));
    let long_list: Vec<String> = (0..1000).map(|i| format!("element-{i}")).collect();
    let mut rpush: Vec<&[u8]> = vec![b"RPUSH", b"biglist"];
    rpush.extend(long_list.iter().map(|m| m.as_bytes()));
    let steps: Vec<Vec<&[u8]>> = vec![
        vec![b"SET", b"str", b"hello"],
        vec![b"SET", b"int", b"12345"],
        vec![b"SET", b"raw", b"x"],
        vec![b"APPEND", b"raw", b"yz"],
        vec![b"SET", b"bin\xff\x00key", b"\x00\x01\xfe\xff"],
        vec![b"SET", b"ttl", b"v", b"PXAT", far],
        vec![b"RPUSH", b"list", b"a", b"b", b"c", b"1"],
        rpush,
        vec![b"SADD", b"ints", b"1", b"2", b"3"],
        vec![b"SADD", b"words", b"x", b"y", b"\xff"],
        sadd,
        vec![
            b"ZADD", b"zset", b"1.5", b"a", b"-2", b"b", b"inf", b"top", b"-inf", b"bottom",
        ],
        vec![b"ZADD", b"zset", b"0.1", b"tenth"],
        vec![b"HSET", b"hash", b"f2", b"v2", b"f1", b"v1", b"f3", b"v3"],
        vec![b"HPEXPIREAT", b"hash", far, b"FIELDS", b"1", b"f2"],
        vec![b"HSET", b"binhash", b"\xfffield", b"\x00v", b"plain", b"p"],
        vec![b"PFADD", b"hll", b"a", b"b", b"c"],
        vec![b"SETBIT", b"bits", b"100", b"1"],
        vec![b"XADD", b"stream", b"1-1", b"f", b"v"],
        vec![b"XADD", b"stream", b"2-1", b"f", b"w", b"g", b"h"],
        vec![b"XADD", b"stream", b"3-1", b"f", b"gone"],
        vec![b"XDEL", b"stream", b"3-1"],
        vec![b"XGROUP", b"CREATE", b"stream", b"grp", b"0"],
        vec![b"XGROUP", b"CREATECONSUMER", b"stream", b"grp", b"idle"],
        vec![
            b"XREADGROUP",
            b"GROUP",
            b"grp",
            b"alice",
            b"COUNT",
            b"1",
            b"STREAMS",
            b"stream",
            b">",
        ],
        vec![
            b"CACHE.SET",
            b"meta",
            b"v",
            b"PRIORITY",
            b"high",
            b"COST",
            b"7",
            b"TAGS",
            b"2",
            b"t1",
            b"t2",
        ],
        vec![b"CACHE.DEPEND", b"meta", b"str"],
        vec![b"CACHE.SETTAGS", b"hash", b"t1"],
        vec![b"CACHE.DEPEND", b"list", b"str", b"int"],
        vec![b"CACHE.SETTAGS", b"stream", b"t2", b"\xfftag"],
    ];
    for step in steps {
        ok(raw, &step);
    }
    // Priority and cost on a collection: only an import sets them.
    let line = br#"{"key":"costly","type":"zset","value":[["a",1],["b",2]],"priority":"critical","cost":4000000000,"tags":["t1"]}"#;
    assert_eq!(raw.call(&[b"CACHE.IMPORT", b"costly", line]), int(1));
}

const KEYS: &[&[u8]] = &[
    b"str",
    b"int",
    b"raw",
    b"bin\xff\x00key",
    b"ttl",
    b"list",
    b"biglist",
    b"ints",
    b"words",
    b"bigset",
    b"zset",
    b"hash",
    b"binhash",
    b"hll",
    b"bits",
    b"stream",
    b"meta",
    b"costly",
];

/// What must be the same after the round trip: type, encoding, absolute expiry, DUMP bytes (the
/// members of a hash table compared as a set: its order is its seed's and history's), field TTLs,
/// the stream's full description, and CACHE.INSPECT but for what the clock and reads change.
fn describe(con: &mut redis::Connection, key: &[u8]) -> Vec<String> {
    // A string comes back as SET would store it (`embstr` or `int`, whatever it was: RESTORE
    // does the same in Redis), so its encoding and size are left out.
    let kind: String = redis::cmd("TYPE").arg(key).query(con).unwrap();
    assert_ne!(kind, "none", "{} is missing", String::from_utf8_lossy(key));
    let string = kind == "string";
    let mut out = Vec::new();
    for cmd in ["TYPE", "OBJECT ENCODING", "PEXPIRETIME", "DUMP"] {
        if string && cmd == "OBJECT ENCODING" {
            continue;
        }
        let mut c = redis::Cmd::new();
        for word in cmd.split(' ') {
            c.arg(word);
        }
        let value: Value = c.arg(key).query(con).unwrap();
        out.push(format!("{cmd}: {value:?}"));
    }
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(con)
        .unwrap();
    if kind == "set" && encoding == "hashtable" {
        out.pop();
        let mut all: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(key).query(con).unwrap();
        all.sort();
        out.push(format!("SMEMBERS: {all:?}"));
    }
    if kind == "hash" && encoding == "hashtable" {
        out.pop();
        let mut all: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL").arg(key).query(con).unwrap();
        all.sort();
        out.push(format!("HGETALL: {all:?}"));
    }
    if key == b"hash" {
        let ttl: Value = redis::cmd("HPEXPIRETIME")
            .arg(key)
            .arg("FIELDS")
            .arg(3)
            .arg("f1")
            .arg("f2")
            .arg("f3")
            .query(con)
            .unwrap();
        out.push(format!("HPEXPIRETIME: {ttl:?}"));
    }
    if key == b"stream" {
        // Rebuilt by appending its live entries, a stream's nodes lose the tombstones of deleted
        // entries (as after a snapshot load): its DUMP differs, XINFO FULL must not.
        out.pop();
        let info: Value = redis::cmd("XINFO")
            .arg("STREAM")
            .arg(key)
            .arg("FULL")
            .query(con)
            .unwrap();
        out.push(format!("XINFO: {info:?}"));
    }
    let inspect: Vec<Value> = redis::cmd("CACHE.INSPECT").arg(key).query(con).unwrap();
    for pair in inspect.chunks(2) {
        let name = format!("{:?}", pair[0]);
        let clock = ["ttl", "idle", "frequency"]
            .iter()
            .any(|f| name.contains(f));
        let encoding = string && (name.contains("encoding") || name.contains("size"));
        if !clock && !encoding {
            out.push(format!("{name} = {:?}", pair[1]));
        }
    }
    out
}

fn no_touch(mut con: redis::Connection) -> redis::Connection {
    redis::cmd("CLIENT")
        .arg("NO-TOUCH")
        .arg("ON")
        .query::<()>(&mut con)
        .unwrap();
    con
}

fn export(server: &TestServer, db: usize, pattern: Option<&str>) -> String {
    let mut out = Vec::new();
    let count = portable::export(&target(server, db), pattern, &mut out).expect("export");
    let text = String::from_utf8(out).expect("JSON lines are UTF-8");
    assert_eq!(text.lines().count() as u64, count);
    text
}

fn import(server: &TestServer, lines: &str, replace: bool) -> ImportSummary {
    portable::import(&target(server, 0), Cursor::new(lines.as_bytes()), replace).expect("import")
}

#[test]
fn every_type_and_its_metadata_survive_export_flushall_import() {
    let server = TestServer::start();
    let mut raw = server.raw();
    populate(&mut raw);
    let mut con = no_touch(server.client());
    let before: Vec<Vec<String>> = KEYS.iter().map(|k| describe(&mut con, k)).collect();
    let lines = export(&server, 0, None);
    assert_eq!(lines.lines().count(), KEYS.len(), "{lines}");

    // Natural shapes, and base64 where the bytes are not UTF-8.
    let find = |key: &str| -> serde_json::Value {
        lines
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v["key"] == key)
            .unwrap_or_else(|| panic!("no line for {key}"))
    };
    assert_eq!(find("str")["value"], "hello");
    assert_eq!(
        find("list")["value"],
        serde_json::json!(["a", "b", "c", "1"])
    );
    assert_eq!(find("hash")["value"]["f1"], "v1");
    assert_eq!(find("hash")["tags"], serde_json::json!(["t1"]));
    assert_eq!(find("meta")["priority"], "high");
    assert_eq!(find("meta")["cost"], 7);
    assert_eq!(find("meta")["parents"], serde_json::json!(["str"]));
    assert!(find("ttl")["expire_at"].as_u64().unwrap() > now_ms());
    assert!(find("str").get("expire_at").is_none());
    let zset = find("zset");
    assert_eq!(zset["value"][0], serde_json::json!(["bottom", "-inf"]));
    assert_eq!(zset["value"][4], serde_json::json!(["top", "inf"]));
    assert_eq!(
        find("stream")["value"]["groups"][0]["pending"][0]["consumer"],
        "alice"
    );
    let binary = lines
        .lines()
        .find(|l| l.contains("\"base64\":\"Ymlu/wBrZXk=\""))
        .expect("the binary key in base64");
    assert!(
        binary.contains("\"value\":{\"base64\":\"AAH+/w==\"}"),
        "{binary}"
    );

    assert_eq!(call(&mut raw, &["FLUSHALL"]), b"+OK\r\n");
    let summary = import(&server, &lines, false);
    assert_eq!(
        summary,
        ImportSummary {
            stored: KEYS.len() as u64,
            expired: 0,
            failed: vec![],
        }
    );
    let after: Vec<Vec<String>> = KEYS.iter().map(|k| describe(&mut con, k)).collect();
    for ((key, before), after) in KEYS.iter().zip(&before).zip(&after) {
        assert_eq!(before, after, "{}", String::from_utf8_lossy(key));
    }
    // The indexes were rebuilt: a tag finds its keys, and a parent's change reaches dependents.
    let mut tagged: Vec<String> = redis::cmd("TAG.KEYS").arg("t1").query(&mut con).unwrap();
    tagged.sort();
    assert_eq!(tagged, ["costly", "hash", "meta"]);
    assert_eq!(call(&mut raw, &["SET", "str", "changed"]), b"+OK\r\n");
    fleet::wait_until("the dependents of str to go", || {
        call(&mut raw, &["EXISTS", "meta", "list"]) == int(0)
    });
    // Importing again without REPLACE: the two invalidated keys come back, every other line is
    // refused with BUSYKEY.
    let again = import(&server, &lines, false);
    assert_eq!(again.stored, 2);
    assert_eq!(again.failed.len(), KEYS.len() - 2);
    assert!(again
        .failed
        .iter()
        .all(|(_, why)| why == "BUSYKEY Target key name already exists."));
    let replaced = import(&server, &lines, true);
    assert_eq!(replaced.stored, KEYS.len() as u64);
    assert!(replaced.failed.is_empty());
}

#[test]
fn export_pages_are_bounded_and_filtered() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for i in 0..500 {
        ok(&mut raw, &[b"SET", format!("k:{i}").as_bytes(), b"v"]);
    }
    ok(&mut raw, &[b"RPUSH", b"other", b"x"]);
    ok(&mut raw, &[b"SELECT", b"2"]);
    ok(&mut raw, &[b"SET", b"in2", b"two"]);
    ok(&mut raw, &[b"SELECT", b"0"]);
    let mut con = server.client();
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    let mut pages = 0;
    loop {
        let (next, lines): (String, Vec<String>) = redis::cmd("CACHE.EXPORT")
            .arg(&cursor)
            .arg("COUNT")
            .arg(50)
            .query(&mut con)
            .unwrap();
        assert!(lines.len() <= 50, "a page of {}", lines.len());
        for line in lines {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            keys.push(v["key"].as_str().unwrap().to_string());
        }
        pages += 1;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 501);
    assert!(pages >= 10, "{pages} pages");

    assert_eq!(export(&server, 0, Some("k:1?")).lines().count(), 10);
    let lists: (String, Vec<String>) = redis::cmd("CACHE.EXPORT")
        .arg(0)
        .arg("TYPE")
        .arg("list")
        .arg("COUNT")
        .arg(10_000)
        .query(&mut con)
        .unwrap();
    assert_eq!(lists.1.len(), 1);
    let db2 = export(&server, 2, None);
    assert!(db2.contains("\"in2\"") && db2.lines().count() == 1, "{db2}");
    let in_db2: (String, Vec<String>) = redis::cmd("CACHE.EXPORT")
        .arg(0)
        .arg("DB")
        .arg(2)
        .query(&mut con)
        .unwrap();
    assert_eq!(in_db2.1.len(), 1);

    for (args, error) in [
        (vec!["CACHE.EXPORT", "x"], "-ERR invalid cursor\r\n"),
        (
            vec!["CACHE.EXPORT", "0", "COUNT", "0"],
            "-ERR syntax error\r\n",
        ),
        (vec!["CACHE.EXPORT", "0", "COUNT"], "-ERR syntax error\r\n"),
        (
            vec!["CACHE.EXPORT", "0", "BOGUS", "1"],
            "-ERR syntax error\r\n",
        ),
        (
            vec!["CACHE.EXPORT", "0", "DB", "16"],
            "-ERR DB index is out of range\r\n",
        ),
        (
            vec!["CACHE.EXPORT", "0", "DB", "x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            vec!["CACHE.EXPORT"],
            "-ERR wrong number of arguments for 'cache.export' command\r\n",
        ),
    ] {
        assert_eq!(text(call(&mut raw, &args)), error, "{args:?}");
    }
}

#[test]
fn a_bad_line_is_refused_whole_with_its_reason() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let cases: &[(&str, &str)] = &[
        ("{\"key\":\"k\",", "not JSON"),
        ("[1,2]", "the line must be an object"),
        (r#"{"key":"k","type":"list"}"#, "the line: missing 'value'"),
        (
            r#"{"key":"k","type":"list","value":{"a":1}}"#,
            "value must be an array",
        ),
        (
            r#"{"key":"k","type":"list","value":[]}"#,
            "value: an empty collection",
        ),
        (
            r#"{"key":"k","type":"list","value":["a",{"base64":"!!"}]}"#,
            "value: invalid base64",
        ),
        (
            r#"{"key":"k","type":"set","value":["a","a"]}"#,
            "value: a set member twice",
        ),
        (
            r#"{"key":"k","type":"zset","value":[["a","x"]]}"#,
            "a score must be a number",
        ),
        (
            r#"{"key":"k","type":"zset","value":[["a"]]}"#,
            "[2-element] array",
        ),
        (
            r#"{"key":"k","type":"hash","value":"s"}"#,
            "value of a hash must be",
        ),
        (
            r#"{"key":"k","type":"blob","value":"s"}"#,
            "type 'blob' is not one of",
        ),
        (
            r#"{"key":"k","type":"string","value":"s","cost":-1}"#,
            "cost must be a non-negative",
        ),
        (
            r#"{"key":"k","type":"string","value":"s","cost":4294967296}"#,
            "cost must be at most",
        ),
        (
            r#"{"key":"k","type":"string","value":"s","priority":"top"}"#,
            "priority must be one of",
        ),
        (
            r#"{"key":"k","type":"string","value":"s","lfu":256}"#,
            "lfu must be at most 255",
        ),
        (
            r#"{"key":"k","type":"string","value":"s","sketch":-1}"#,
            "sketch must be a non-negative",
        ),
        (
            r#"{"key":"k","type":"string","value":"s","idle":"long"}"#,
            "idle must be a non-negative",
        ),
        (
            r#"{"key":"k","type":"string","value":"s","tags":"t"}"#,
            "tags must be an array",
        ),
        (
            r#"{"key":"k","type":"string","value":"s","parents":["k"]}"#,
            "depend on itself",
        ),
        (
            r#"{"key":"k","type":"string","value":"s","extra":1}"#,
            "unknown field 'extra'",
        ),
        (
            r#"{"key":"k","key":"k","type":"string","value":"s"}"#,
            "field 'key' given twice",
        ),
        (
            r#"{"key":"k","type":"string","value":"s","expire_at":1,"pttl":1}"#,
            "not both",
        ),
        (
            r#"{"key":"k","type":"string","value":"s","field_expire_at":[]}"#,
            "for hashes only",
        ),
        (
            r#"{"key":"k","type":"hash","value":{"a":"1"},"field_expire_at":[["b",99999999999999]]}"#,
            "a field the hash does not have",
        ),
        (
            r#"{"key":"k","type":"stream","value":{"entries":[{"id":"2-1","fields":["f","v"]},{"id":"1-1","fields":["f","v"]}]}}"#,
            "value: stream entries out of order",
        ),
        (
            r#"{"key":"k","type":"stream","value":{"entries":[],"groups":[{"name":"g","last_id":"0-0","pending":[{"id":"1-1","consumer":"nobody"}]}]}}"#,
            "consumers or pending entries",
        ),
        (
            r#"{"key":"k","type":"stream","value":{"entries":[{"id":"x","fields":[]}]}}"#,
            "must be an ID",
        ),
    ];
    for (line, reason) in cases {
        let reply = text(raw.call(&[b"CACHE.IMPORT", b"k", line.as_bytes()]));
        assert!(
            reply.starts_with("-ERR invalid import line: ") && reply.contains(reason),
            "{line}: {reply}"
        );
        assert_eq!(call(&mut raw, &["EXISTS", "k"]), int(0), "{line}");
    }
    // A refused line leaves an existing key as it was, even with REPLACE.
    ok(&mut raw, &[b"SET", b"k", b"old"]);
    let bad = br#"{"key":"k","type":"set","value":["a","a"]}"#;
    assert!(raw
        .call(&[b"CACHE.IMPORT", b"k", bad, b"REPLACE"])
        .starts_with(b"-ERR invalid"));
    assert_eq!(call(&mut raw, &["GET", "k"]), common::bulk("old"));
    let good = br#"{"key":"k","type":"string","value":"new","pttl":100000}"#;
    assert_eq!(
        text(raw.call(&[b"CACHE.IMPORT", b"k", good])),
        "-BUSYKEY Target key name already exists.\r\n"
    );
    assert_eq!(
        text(raw.call(&[b"CACHE.IMPORT", b"other", good])),
        "-ERR the key argument is not the line's key\r\n"
    );
    assert_eq!(
        text(raw.call(&[b"CACHE.IMPORT", b"k", good, b"NX"])),
        "-ERR syntax error\r\n"
    );
    assert_eq!(raw.call(&[b"CACHE.IMPORT", b"k", good, b"REPLACE"]), int(1));
    assert_eq!(call(&mut raw, &["GET", "k"]), common::bulk("new"));
    let pttl = text(call(&mut raw, &["PTTL", "k"]));
    let pttl: u64 = pttl.trim_start_matches(':').trim().parse().unwrap();
    assert!(pttl > 0 && pttl <= 100_000, "{pttl}");
    // A line whose time has passed stores nothing and removes what REPLACE would replace.
    let past = br#"{"key":"k","type":"string","value":"v","expire_at":1}"#;
    assert_eq!(raw.call(&[b"CACHE.IMPORT", b"k", past, b"REPLACE"]), int(0));
    assert_eq!(call(&mut raw, &["EXISTS", "k"]), int(0));

    // The tool: good lines stored, bad ones named by their number, blank lines skipped.
    let file = [
        r#"{"key":"a","type":"string","value":"1"}"#,
        r#"{"key":"b","type":"list","value":"not a list"}"#,
        "",
        "not json at all",
        r#"{"key":"c","type":"set","value":["x"],"priority":"low","cost":3}"#,
        r#"{"key":"gone","type":"string","value":"v","expire_at":1}"#,
    ]
    .join("\n");
    let summary = import(&server, &file, false);
    assert_eq!(summary.stored, 2);
    assert_eq!(summary.expired, 1);
    let numbers: Vec<usize> = summary.failed.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [2, 4]);
    assert_eq!(
        summary.failed[0].1,
        "ERR invalid import line: value must be an array"
    );
    assert!(summary.failed[1]
        .1
        .starts_with("ERR invalid import line: not JSON"));
    assert_eq!(call(&mut raw, &["EXISTS", "a", "b", "c", "gone"]), int(2));
}

#[test]
fn the_binary_exports_and_imports_between_two_daemons() {
    let from = TestServer::start();
    let to = TestServer::start();
    let mut raw = from.raw();
    populate(&mut raw);
    let dir = common::scratch_dir();
    let file = dir.join("keys.jsonl");
    let bin = env!("CARGO_BIN_EXE_cachet");
    let exported = std::process::Command::new(bin)
        .args(["export", "--host", "127.0.0.1", "--port"])
        .arg(from.port().to_string())
        .arg("--file")
        .arg(&file)
        .output()
        .unwrap();
    assert!(exported.status.success(), "{exported:?}");
    assert_eq!(
        String::from_utf8_lossy(&exported.stderr).trim(),
        format!("exported {} keys", KEYS.len())
    );
    let imported = std::process::Command::new(bin)
        .args(["import", "--port"])
        .arg(to.port().to_string())
        .arg("--file")
        .arg(&file)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    let mut a = no_touch(from.client());
    let mut b = no_touch(to.client());
    for key in KEYS {
        assert_eq!(
            describe(&mut a, key),
            describe(&mut b, key),
            "{}",
            String::from_utf8_lossy(key)
        );
    }
    // A refused line: exit 1, its number on standard error, the rest imported.
    std::fs::write(
        &file,
        "{\"key\":\"x\",\"type\":\"string\",\"value\":\"1\"}\n{\"key\":\"y\"}\n",
    )
    .unwrap();
    let partial = std::process::Command::new(bin)
        .args(["import", "--port"])
        .arg(to.port().to_string())
        .arg("--file")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(partial.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&partial.stderr);
    assert!(
        stderr.contains("line 2: ERR invalid import line: the line: missing 'type'"),
        "{stderr}"
    );
    assert_eq!(call(&mut to.raw(), &["EXISTS", "x"]), int(1));
    let unreachable = std::process::Command::new(bin)
        .args(["export", "--port", "1"])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("cannot connect"));
    let _ = std::fs::remove_dir_all(dir);
}
