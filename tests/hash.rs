//! The hash command family against the real server, reply bytes compared with what Redis 7.0
//! answers to the same requests (recorded from redis-server 7.0.15).

mod common;

use std::collections::{HashMap, HashSet};

use common::{bulk, call, int, RawClient, TestServer};

const NIL: &[u8] = b"$-1\r\n";
const OK: &[u8] = b"+OK\r\n";
const EMPTY_ARRAY: &[u8] = b"*0\r\n";
const SYNTAX: &[u8] = b"-ERR syntax error\r\n";
const NOT_INT: &[u8] = b"-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &[u8] = b"-ERR value is not a valid float\r\n";
const OVERFLOW: &[u8] = b"-ERR increment or decrement would overflow\r\n";
const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const EMPTY_SCAN: &[u8] = b"*2\r\n$1\r\n0\r\n*0\r\n";

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

fn resp3(server: &TestServer) -> RawClient {
    let mut raw = server.raw();
    let hello = call(&mut raw, &["HELLO", "3"]);
    assert!(hello.starts_with(b"%"), "{}", text(&hello));
    raw
}

fn encoding(raw: &mut RawClient, key: &str) -> String {
    let reply = call(raw, &["OBJECT", "ENCODING", key]);
    text(&reply).lines().nth(1).unwrap_or_default().to_string()
}

/// The bulk strings of a flat array reply, in order.
fn bulks(reply: &[u8]) -> Vec<String> {
    let body = text(reply);
    let lines: Vec<&str> = body.split("\r\n").collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with('$') && lines[i] != "$-1" {
            out.push(lines[i + 1].to_string());
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn missing_keys_answer_empty() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["HGET", "h", "f"]), NIL);
    assert_eq!(
        call(&mut raw, &["HMGET", "h", "a", "b"]),
        b"*2\r\n$-1\r\n$-1\r\n"
    );
    assert_eq!(call(&mut raw, &["HLEN", "h"]), int(0));
    assert_eq!(call(&mut raw, &["HSTRLEN", "h", "f"]), int(0));
    assert_eq!(call(&mut raw, &["HEXISTS", "h", "f"]), int(0));
    for cmd in ["HKEYS", "HVALS", "HGETALL"] {
        assert_eq!(call(&mut raw, &[cmd, "h"]), EMPTY_ARRAY, "{cmd}");
    }
    assert_eq!(call(&mut raw, &["HDEL", "h", "f"]), int(0));
    assert_eq!(call(&mut raw, &["HRANDFIELD", "h"]), NIL);
    assert_eq!(call(&mut raw, &["HRANDFIELD", "h", "3"]), EMPTY_ARRAY);
    assert_eq!(
        call(&mut raw, &["HRANDFIELD", "h", "-3", "WITHVALUES"]),
        EMPTY_ARRAY
    );
    assert_eq!(call(&mut raw, &["HSCAN", "h", "0"]), EMPTY_SCAN);
    // Options are read only once a hash was found, as Redis does.
    assert_eq!(
        call(&mut raw, &["HSCAN", "h", "0", "COUNT", "0"]),
        EMPTY_SCAN
    );
    assert_eq!(call(&mut raw, &["EXISTS", "h"]), int(0));

    let mut raw3 = resp3(&server);
    assert_eq!(call(&mut raw3, &["HGETALL", "h"]), b"%0\r\n");
    assert_eq!(call(&mut raw3, &["HGET", "h", "f"]), b"_\r\n");
    assert_eq!(call(&mut raw3, &["HRANDFIELD", "h"]), b"_\r\n");
    assert_eq!(
        call(&mut raw3, &["HRANDFIELD", "h", "2", "WITHVALUES"]),
        EMPTY_ARRAY
    );
    assert_eq!(call(&mut raw3, &["HMGET", "h", "a"]), b"*1\r\n_\r\n");
}

#[test]
fn arity_and_argument_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let arity = |name: &str| format!("-ERR wrong number of arguments for '{name}' command\r\n");
    for (args, name) in [
        (&["HSET", "h"][..], "hset"),
        (&["HSET", "h", "a"], "hset"),
        (&["HSET", "h", "a", "1", "b"], "hset"),
        (&["HMSET", "h", "a"], "hmset"),
        (&["HMSET", "h", "a", "1", "b"], "hmset"),
        (&["HSETNX", "h", "a"], "hsetnx"),
        (&["HGET", "h"], "hget"),
        (&["HMGET", "h"], "hmget"),
        (&["HDEL", "h"], "hdel"),
        (&["HLEN"], "hlen"),
        (&["HINCRBY", "h", "f"], "hincrby"),
        (&["HRANDFIELD"], "hrandfield"),
        (&["HSCAN", "h"], "hscan"),
    ] {
        assert_eq!(text(&call(&mut raw, args)), arity(name), "{args:?}");
    }
    assert_eq!(call(&mut raw, &["HSET", "h", "a", "1"]), int(1));
    assert_eq!(
        call(&mut raw, &["HRANDFIELD", "h", "1", "WITHVALUE"]),
        SYNTAX
    );
    assert_eq!(
        call(&mut raw, &["HRANDFIELD", "h", "1", "WITHVALUES", "x"]),
        SYNTAX
    );
    // The count is read before the syntax is checked (redis-server 7.0.15).
    assert_eq!(call(&mut raw, &["HRANDFIELD", "h", "x", "y"]), NOT_INT);
    assert_eq!(call(&mut raw, &["HRANDFIELD", "h", "x"]), NOT_INT);
    assert_eq!(
        text(&call(&mut raw, &["HRANDFIELD", "h", "-9223372036854775808"])),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(
        call(
            &mut raw,
            &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"]
        ),
        b"-ERR value is out of range\r\n"
    );
    assert_eq!(
        call(
            &mut raw,
            &["HRANDFIELD", "h", "9223372036854775807", "WITHVALUES"]
        ),
        b"-ERR value is out of range\r\n"
    );
    assert_eq!(
        call(&mut raw, &["HSCAN", "h", "x"]),
        b"-ERR invalid cursor\r\n"
    );
    assert_eq!(call(&mut raw, &["HSCAN", "h", "0", "COUNT", "0"]), SYNTAX);
    assert_eq!(call(&mut raw, &["HSCAN", "h", "0", "COUNT", "x"]), NOT_INT);
    assert_eq!(call(&mut raw, &["HSCAN", "h", "0", "MATCH"]), SYNTAX);
    assert_eq!(
        call(&mut raw, &["HSCAN", "h", "0", "TYPE", "string"]),
        SYNTAX
    );
}

#[test]
fn wrong_type_for_every_command() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["SET", "s", "x"]), OK);
    for args in [
        &["HSET", "s", "a", "1"][..],
        &["HMSET", "s", "a", "1"],
        &["HSETNX", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HDEL", "s", "a"],
        &["HEXISTS", "s", "a"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "a"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2"],
        &["HSCAN", "s", "0"],
        &["HSCAN", "s", "0", "COUNT", "0"],
    ] {
        assert_eq!(call(&mut raw, args), WRONGTYPE, "{args:?}");
    }
    // Arguments are checked before the key's type.
    assert_eq!(call(&mut raw, &["HINCRBY", "s", "a", "x"]), NOT_INT);
    assert_eq!(call(&mut raw, &["HINCRBYFLOAT", "s", "a", "x"]), NOT_FLOAT);
    assert_eq!(
        call(&mut raw, &["HSCAN", "s", "x"]),
        b"-ERR invalid cursor\r\n"
    );
    assert_eq!(call(&mut raw, &["GET", "s"]), bulk("x"));
    assert_eq!(call(&mut raw, &["HSET", "h", "a", "1"]), int(1));
    assert_eq!(call(&mut raw, &["GET", "h"]), WRONGTYPE);
    assert_eq!(call(&mut raw, &["TYPE", "h"]), b"+hash\r\n");
}

#[test]
fn set_get_delete() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["HSET", "h", "a", "1", "b", "2"]), int(2));
    assert_eq!(call(&mut raw, &["HSET", "h", "a", "3", "c", "4"]), int(1));
    // A field given twice counts once.
    assert_eq!(call(&mut raw, &["HSET", "h", "d", "1", "d", "2"]), int(1));
    assert_eq!(call(&mut raw, &["HGET", "h", "d"]), bulk("2"));
    assert_eq!(call(&mut raw, &["HSETNX", "h", "a", "9"]), int(0));
    assert_eq!(call(&mut raw, &["HSETNX", "h", "e", ""]), int(1));
    assert_eq!(call(&mut raw, &["HMSET", "h", "f", "6"]), OK);
    assert_eq!(call(&mut raw, &["HGET", "h", "a"]), bulk("3"));
    assert_eq!(call(&mut raw, &["HGET", "h", "e"]), bulk(""));
    assert_eq!(call(&mut raw, &["HGET", "h", "zz"]), NIL);
    assert_eq!(
        call(&mut raw, &["HMGET", "h", "a", "zz", "b"]),
        b"*3\r\n$1\r\n3\r\n$-1\r\n$1\r\n2\r\n"
    );
    assert_eq!(call(&mut raw, &["HLEN", "h"]), int(6));
    assert_eq!(call(&mut raw, &["HSTRLEN", "h", "a"]), int(1));
    assert_eq!(call(&mut raw, &["HSTRLEN", "h", "e"]), int(0));
    assert_eq!(call(&mut raw, &["HEXISTS", "h", "e"]), int(1));
    // A listpack keeps insertion order.
    assert_eq!(
        bulks(&call(&mut raw, &["HKEYS", "h"])),
        ["a", "b", "c", "d", "e", "f"]
    );
    assert_eq!(
        bulks(&call(&mut raw, &["HVALS", "h"])),
        ["3", "2", "4", "2", "", "6"]
    );
    assert_eq!(
        call(&mut raw, &["HGETALL", "h"]),
        b"*12\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n4\r\n$1\r\nd\r\n$1\r\n2\r\n$1\r\ne\r\n$0\r\n\r\n$1\r\nf\r\n$1\r\n6\r\n"
    );
    let mut raw3 = resp3(&server);
    assert!(call(&mut raw3, &["HGETALL", "h"]).starts_with(b"%6\r\n$1\r\na\r\n$1\r\n3\r\n"));

    assert_eq!(call(&mut raw, &["HDEL", "h", "a", "a", "zz", "b"]), int(2));
    assert_eq!(call(&mut raw, &["HDEL", "h", "c", "d", "e"]), int(3));
    assert_eq!(call(&mut raw, &["EXISTS", "h"]), int(1));
    assert_eq!(call(&mut raw, &["HDEL", "h", "f"]), int(1));
    // The last field gone, the key is gone.
    assert_eq!(call(&mut raw, &["EXISTS", "h"]), int(0));
    assert_eq!(call(&mut raw, &["TYPE", "h"]), b"+none\r\n");
}

#[test]
fn binary_fields_and_values() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let field: &[u8] = b"f\x00\r\n\xff";
    let value: &[u8] = b"\x00\x01\r\n";
    assert_eq!(raw.call(&[b"HSET", b"h", field, value]), int(1));
    assert_eq!(raw.call(&[b"HGET", b"h", field]), b"$4\r\n\x00\x01\r\n\r\n");
    assert_eq!(raw.call(&[b"HGET", b"h", b"f"]), NIL);
    assert_eq!(raw.call(&[b"HSET", b"h", b"", b""]), int(1));
    assert_eq!(raw.call(&[b"HGET", b"h", b""]), b"$0\r\n\r\n");
    assert_eq!(raw.call(&[b"HLEN", b"h"]), int(2));
}

#[test]
fn hincrby_edges() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["HINCRBY", "h", "n", "5"]), int(5));
    assert_eq!(call(&mut raw, &["HINCRBY", "h", "n", "-7"]), int(-2));
    assert_eq!(call(&mut raw, &["HINCRBY", "h", "n", "x"]), NOT_INT);
    assert_eq!(
        call(&mut raw, &["HINCRBY", "h", "n", "99999999999999999999"]),
        NOT_INT
    );
    assert_eq!(call(&mut raw, &["HINCRBY", "h", "n", "+1"]), NOT_INT);
    assert_eq!(
        call(&mut raw, &["HINCRBY", "h", "n", "9223372036854775807"]),
        int(9223372036854775805)
    );
    assert_eq!(call(&mut raw, &["HINCRBY", "h", "n", "3"]), OVERFLOW);
    assert_eq!(
        call(&mut raw, &["HINCRBY", "h", "m", "-9223372036854775808"]),
        int(i64::MIN)
    );
    assert_eq!(call(&mut raw, &["HINCRBY", "h", "m", "-1"]), OVERFLOW);
    let not_integer = b"-ERR hash value is not an integer\r\n";
    for value in ["abc", " 1", "1.5", "01", ""] {
        call(&mut raw, &["HSET", "h", "v", value]);
        assert_eq!(
            call(&mut raw, &["HINCRBY", "h", "v", "1"]),
            not_integer,
            "{value:?}"
        );
    }
    assert_eq!(
        call(&mut raw, &["HGET", "h", "m"]),
        bulk("-9223372036854775808")
    );
}

#[test]
fn hincrbyfloat_edges() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["HSET", "h", "a", "1"]), int(1));
    assert_eq!(
        call(&mut raw, &["HINCRBYFLOAT", "h", "a", "1.5"]),
        bulk("2.5")
    );
    assert_eq!(
        call(&mut raw, &["HINCRBYFLOAT", "h", "ld", "1.1"]),
        bulk("1.1")
    );
    assert_eq!(
        call(&mut raw, &["HINCRBYFLOAT", "h", "ld", "5.0e3"]),
        bulk("5001.10000000000000009")
    );
    assert_eq!(
        call(&mut raw, &["HINCRBYFLOAT", "h", "hex", "0x10"]),
        bulk("16")
    );
    assert_eq!(
        call(&mut raw, &["HINCRBYFLOAT", "h", "a", "nan"]),
        NOT_FLOAT
    );
    assert_eq!(
        call(&mut raw, &["HINCRBYFLOAT", "h", "a", "abc"]),
        NOT_FLOAT
    );
    assert_eq!(
        call(&mut raw, &["HINCRBYFLOAT", "h", "a", "inf"]),
        b"-ERR value is NaN or Infinity\r\n"
    );
    // Within `long double`'s range once, beyond it twice.
    let huge = call(&mut raw, &["HINCRBYFLOAT", "h", "z", "1e4932"]);
    assert!(huge.starts_with(b"$4933\r\n10000"), "{}", text(&huge[..20]));
    assert_eq!(
        text(&call(&mut raw, &["HINCRBYFLOAT", "h", "z", "1e4932"])),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
    assert_eq!(call(&mut raw, &["HSTRLEN", "h", "z"]), int(4933));
    assert_eq!(call(&mut raw, &["HSET", "h", "s", " 1"]), int(1));
    assert_eq!(
        call(&mut raw, &["HINCRBYFLOAT", "h", "s", "1"]),
        b"-ERR hash value is not a float\r\n"
    );
    assert_eq!(call(&mut raw, &["HGET", "h", "a"]), bulk("2.5"));
    // A RESP3 client gets the same bulk string, not a double.
    let mut raw3 = resp3(&server);
    assert_eq!(
        call(&mut raw3, &["HINCRBYFLOAT", "h", "a", "1"]),
        bulk("3.5")
    );
}

#[test]
fn encoding_converts_by_entries_and_never_back() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        text(&call(&mut raw, &["CONFIG", "GET", "hash-max-listpack-*"])),
        "*4\r\n$25\r\nhash-max-listpack-entries\r\n$3\r\n512\r\n$23\r\nhash-max-listpack-value\r\n$2\r\n64\r\n"
    );
    assert_eq!(
        call(
            &mut raw,
            &["CONFIG", "SET", "hash-max-listpack-entries", "4"]
        ),
        OK
    );
    assert_eq!(
        call(
            &mut raw,
            &["HSET", "h", "1", "a", "2", "b", "3", "c", "4", "d"]
        ),
        int(4)
    );
    assert_eq!(encoding(&mut raw, "h"), "listpack");
    assert_eq!(call(&mut raw, &["HSET", "h", "5", "e"]), int(1));
    assert_eq!(encoding(&mut raw, "h"), "hashtable");
    assert_eq!(call(&mut raw, &["HDEL", "h", "1", "2", "3", "4"]), int(4));
    assert_eq!(encoding(&mut raw, "h"), "hashtable");
    assert_eq!(
        call(&mut raw, &["HGETALL", "h"]),
        b"*2\r\n$1\r\n5\r\n$1\r\ne\r\n"
    );
    // The old name is an alias.
    assert_eq!(
        call(
            &mut raw,
            &["CONFIG", "SET", "hash-max-ziplist-entries", "0"]
        ),
        OK
    );
    assert_eq!(
        call(&mut raw, &["CONFIG", "GET", "hash-max-listpack-entries"]),
        b"*2\r\n$25\r\nhash-max-listpack-entries\r\n$1\r\n0\r\n"
    );
    assert_eq!(call(&mut raw, &["HSET", "zero", "a", "1"]), int(1));
    assert_eq!(encoding(&mut raw, "zero"), "hashtable");
}

#[test]
fn encoding_converts_by_length() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let at_limit = "x".repeat(64);
    let over = "x".repeat(65);
    assert_eq!(call(&mut raw, &["HSET", "a", &at_limit, &at_limit]), int(1));
    assert_eq!(encoding(&mut raw, "a"), "listpack");
    assert_eq!(call(&mut raw, &["HSET", "b", "f", &over]), int(1));
    assert_eq!(encoding(&mut raw, "b"), "hashtable");
    assert_eq!(call(&mut raw, &["HSET", "c", &over, "v"]), int(1));
    assert_eq!(encoding(&mut raw, "c"), "hashtable");
    // HINCRBY and HINCRBYFLOAT convert for a long field too (Redis's `hashTypeSet`).
    assert_eq!(call(&mut raw, &["HINCRBY", "d", &over, "1"]), int(1));
    assert_eq!(encoding(&mut raw, "d"), "hashtable");
    assert_eq!(
        call(&mut raw, &["HINCRBYFLOAT", "e", &over, "1"]),
        bulk("1")
    );
    assert_eq!(encoding(&mut raw, "e"), "hashtable");
    // HSETNX on a field that exists writes nothing and so converts nothing.
    assert_eq!(call(&mut raw, &["HSET", "f", "a", "1"]), int(1));
    assert_eq!(call(&mut raw, &["HSETNX", "f", "a", &over]), int(0));
    assert_eq!(encoding(&mut raw, "f"), "listpack");
    assert_eq!(call(&mut raw, &["HSETNX", "f", "b", &over]), int(1));
    assert_eq!(encoding(&mut raw, "f"), "hashtable");
    assert_eq!(call(&mut raw, &["HGET", "f", "b"]), bulk(&over));
}

#[test]
fn big_hash_reads_like_a_map() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut model = HashMap::new();
    for i in 0..1000 {
        let (f, v) = (format!("field:{i}"), format!("value:{}", i * 7));
        let _: i64 = redis::cmd("HSET")
            .arg("big")
            .arg(&f)
            .arg(&v)
            .query(&mut con)
            .unwrap();
        model.insert(f, v);
    }
    let all: HashMap<String, String> = redis::cmd("HGETALL").arg("big").query(&mut con).unwrap();
    assert_eq!(all, model);
    let len: usize = redis::cmd("HLEN").arg("big").query(&mut con).unwrap();
    assert_eq!(len, 1000);
    let keys: HashSet<String> = redis::cmd("HKEYS").arg("big").query(&mut con).unwrap();
    assert_eq!(keys, model.keys().cloned().collect());
    for i in (0..1000).step_by(2) {
        let removed: i64 = redis::cmd("HDEL")
            .arg("big")
            .arg(format!("field:{i}"))
            .query(&mut con)
            .unwrap();
        assert_eq!(removed, 1);
        model.remove(&format!("field:{i}"));
    }
    let all: HashMap<String, String> = redis::cmd("HGETALL").arg("big").query(&mut con).unwrap();
    assert_eq!(all, model);
    let usage: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg("big")
        .query(&mut con)
        .unwrap();
    assert!(usage > 500 * 16, "{usage}");
}

/// Every HSCAN call over a hash table, following the cursor to 0.
fn full_scan(
    con: &mut redis::Connection,
    key: &str,
    extra: &[&str],
    mut between: impl FnMut(&mut redis::Connection),
) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut fields = Vec::new();
    let mut calls = 0;
    loop {
        let (next, items): (String, Vec<String>) = redis::cmd("HSCAN")
            .arg(key)
            .arg(&cursor)
            .arg(extra)
            .query(con)
            .unwrap();
        calls += 1;
        assert_eq!(items.len() % 2, 0);
        fields.extend(items.chunks(2).map(|pair| pair[0].clone()));
        between(con);
        if next == "0" {
            return (fields, calls);
        }
        cursor = next;
    }
}

#[test]
fn hscan_listpack_answers_in_one_call() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        call(&mut raw, &["HSET", "h", "a", "1", "b", "2", "ab", "3"]),
        int(3)
    );
    // Whatever the cursor and COUNT, a listpack comes whole with cursor 0.
    assert_eq!(
        call(&mut raw, &["HSCAN", "h", "5", "COUNT", "1"]),
        b"*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nab\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        call(&mut raw, &["HSCAN", "h", "0", "MATCH", "a*"]),
        b"*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n3\r\n"
    );
    let mut raw3 = resp3(&server);
    assert_eq!(
        call(&mut raw3, &["HSCAN", "h", "0", "match", "b"]),
        b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
}

#[test]
fn hscan_table_sees_every_field_even_while_it_grows_and_shrinks() {
    let server = TestServer::start();
    let mut con = server.client();
    for i in 0..2000 {
        let _: i64 = redis::cmd("HSET")
            .arg("h")
            .arg(format!("f{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    let (fields, calls) = full_scan(&mut con, "h", &[], |_| {});
    let seen: HashSet<String> = fields.iter().cloned().collect();
    assert_eq!(seen.len(), 2000);
    assert!(calls > 100, "COUNT 10 by default: {calls} calls");

    let (fields, _) = full_scan(&mut con, "h", &["MATCH", "f1?", "COUNT", "100"], |_| {});
    let seen: HashSet<String> = fields.into_iter().collect();
    assert_eq!(seen, (10..20).map(|i| format!("f{i}")).collect());

    // Fields present for the whole scan are all returned while others come and go.
    let mut step = 0;
    let (fields, _) = full_scan(&mut con, "h", &[], |con| {
        step += 1;
        if step == 10 {
            for i in 0..10000 {
                let _: i64 = redis::cmd("HSET")
                    .arg("h")
                    .arg(format!("extra{i}"))
                    .arg(i)
                    .query(con)
                    .unwrap();
            }
        }
        if step == 300 {
            for i in 0..10000 {
                let _: i64 = redis::cmd("HDEL")
                    .arg("h")
                    .arg(format!("extra{i}"))
                    .query(con)
                    .unwrap();
            }
        }
    });
    let seen: HashSet<String> = fields.into_iter().collect();
    for i in 0..2000 {
        assert!(seen.contains(&format!("f{i}")), "missed f{i}");
    }
}

#[test]
fn hrandfield_shapes_and_counts() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        call(&mut raw, &["HSET", "h", "a", "1", "b", "2", "c", "3"]),
        int(3)
    );
    let fields = ["a", "b", "c"];
    let single = bulks(&call(&mut raw, &["HRANDFIELD", "h"]));
    assert!(fields.contains(&single[0].as_str()));
    assert_eq!(call(&mut raw, &["HRANDFIELD", "h", "0"]), EMPTY_ARRAY);
    assert_eq!(
        call(&mut raw, &["HRANDFIELD", "h", "0", "WITHVALUES"]),
        EMPTY_ARRAY
    );
    // A count at least the size is the whole hash, in order.
    assert_eq!(
        call(&mut raw, &["HRANDFIELD", "h", "10", "WITHVALUES"]),
        b"*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    for _ in 0..20 {
        let two = bulks(&call(&mut raw, &["HRANDFIELD", "h", "2"]));
        assert_eq!(two.len(), 2);
        assert_ne!(two[0], two[1]);
        let many = bulks(&call(&mut raw, &["HRANDFIELD", "h", "-10", "WITHVALUES"]));
        assert_eq!(many.len(), 20);
        for pair in many.chunks(2) {
            let index = fields.iter().position(|f| *f == pair[0]).unwrap();
            assert_eq!(pair[1], (index + 1).to_string());
        }
    }
    // The count is read before the WITHVALUES word is checked (redis-server 7.0.15's replies).
    assert_eq!(
        call(&mut raw, &["HRANDFIELD", "h", "-9223372036854775808", "foo"]),
        &b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"[..]
    );
    assert_eq!(
        call(&mut raw, &["HRANDFIELD", "h", "1", "foo"]),
        b"-ERR syntax error\r\n"
    );
    let mut raw3 = resp3(&server);
    let reply = call(&mut raw3, &["HRANDFIELD", "h", "-2", "WITHVALUES"]);
    assert!(reply.starts_with(b"*2\r\n*2\r\n$1\r\n"), "{}", text(&reply));
    assert_eq!(
        call(&mut raw3, &["HRANDFIELD", "h", "3", "WITHVALUES"]),
        b"*3\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        call(&mut raw3, &["HRANDFIELD", "h", "-1"]).len(),
        b"*1\r\n$1\r\na\r\n".len()
    );
}

#[test]
fn hrandfield_on_a_table_draws_distinct_fields() {
    let server = TestServer::start();
    let mut con = server.client();
    for i in 0..1000 {
        let _: i64 = redis::cmd("HSET")
            .arg("h")
            .arg(format!("f{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    // 10 of 1000 (drawn), 900 of 1000 (dropped from a copy), and with repetition.
    for count in [10usize, 900] {
        let got: Vec<String> = redis::cmd("HRANDFIELD")
            .arg("h")
            .arg(count)
            .query(&mut con)
            .unwrap();
        assert_eq!(got.len(), count);
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), count);
    }
    let got: Vec<String> = redis::cmd("HRANDFIELD")
        .arg("h")
        .arg(-3000)
        .query(&mut con)
        .unwrap();
    assert_eq!(got.len(), 3000);
    let pairs: Vec<String> = redis::cmd("HRANDFIELD")
        .arg("h")
        .arg(5)
        .arg("WITHVALUES")
        .query(&mut con)
        .unwrap();
    for pair in pairs.chunks(2) {
        assert_eq!(pair[0], format!("f{}", pair[1]));
    }
}

#[test]
fn copy_rename_and_memory_usage() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["HSET", "h", "a", "1"]), int(1));
    assert_eq!(call(&mut raw, &["COPY", "h", "c"]), int(1));
    assert_eq!(call(&mut raw, &["HSET", "c", "b", "2"]), int(1));
    assert_eq!(call(&mut raw, &["HLEN", "h"]), int(1));
    assert_eq!(call(&mut raw, &["RENAME", "c", "d"]), OK);
    assert_eq!(call(&mut raw, &["HGET", "d", "b"]), bulk("2"));
    let usage = |raw: &mut RawClient| -> i64 {
        text(&call(raw, &["MEMORY", "USAGE", "d"]))[1..]
            .trim()
            .parse()
            .unwrap()
    };
    let before = usage(&mut raw);
    assert_eq!(
        call(&mut raw, &["HSET", "d", "long", &"x".repeat(40)]),
        int(1)
    );
    assert!(usage(&mut raw) > before);
}

fn used_memory(raw: &mut RawClient) -> u64 {
    let info = text(&call(raw, &["INFO", "memory"]));
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[test]
fn byte_accounting_returns_to_where_it_was() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // The shard's table keeps its slots once it has some: make them exist before measuring.
    assert_eq!(call(&mut raw, &["HSET", "h", "a", "1"]), int(1));
    assert_eq!(call(&mut raw, &["DEL", "h"]), int(1));
    let before = used_memory(&mut raw);
    for i in 0..700 {
        let field = format!("f{i}");
        call(&mut raw, &["HSET", "h", &field, &"v".repeat(i % 90)]);
        call(&mut raw, &["HINCRBY", "h", "counter", "12345"]);
        if i % 3 == 0 {
            call(&mut raw, &["HDEL", "h", &format!("f{}", i / 2)]);
        }
    }
    assert_eq!(encoding(&mut raw, "h"), "hashtable");
    assert!(used_memory(&mut raw) > before + 20_000);
    assert_eq!(call(&mut raw, &["DEL", "h"]), int(1));
    assert_eq!(used_memory(&mut raw), before);
    // Emptied by HDEL rather than DEL.
    assert_eq!(call(&mut raw, &["HSET", "h", "a", "1", "b", "2"]), int(2));
    assert_eq!(call(&mut raw, &["HDEL", "h", "a", "b"]), int(2));
    assert_eq!(used_memory(&mut raw), before);
}
