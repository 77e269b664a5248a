//! The set command family against the real server. Reply bytes are compared with what Redis 7.0.15
//! answers to the same requests (RESP2 and RESP3); random replies are checked for what they must
//! hold (membership, distinctness, sizes) since their content cannot be compared.

mod common;

use std::collections::BTreeSet;

use common::{bulk, call, int, RawClient, TestServer};

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &[u8] = b"-ERR syntax error\r\n";
const NOT_INT: &[u8] = b"-ERR value is not an integer or out of range\r\n";
const POSITIVE: &[u8] = b"-ERR value is out of range, must be positive\r\n";
const NIL: &[u8] = b"$-1\r\n";
const EMPTY_ARRAY: &[u8] = b"*0\r\n";
const EMPTY_SCAN: &[u8] = b"*2\r\n$1\r\n0\r\n*0\r\n";

fn resp3(server: &TestServer) -> RawClient {
    let mut raw = server.raw();
    call(&mut raw, &["HELLO", "3"]);
    raw
}

/// A parsed reply: enough of RESP for what sets answer.
#[derive(Debug)]
enum Value {
    Bulk(Vec<u8>),
    Aggregate(u8, Vec<Value>),
    Other,
}

fn parse_value(reply: &[u8], at: &mut usize) -> Value {
    let end = reply[*at..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("line end")
        + *at;
    let kind = reply[*at];
    let header = reply[*at + 1..end].to_vec();
    *at = end + 2;
    let number = || -> usize {
        std::str::from_utf8(&header)
            .expect("utf8")
            .parse()
            .expect("length")
    };
    match kind {
        b'$' => {
            let len = number();
            let bytes = reply[*at..*at + len].to_vec();
            *at += len + 2;
            Value::Bulk(bytes)
        }
        b'*' | b'~' => {
            let items = (0..number()).map(|_| parse_value(reply, at)).collect();
            Value::Aggregate(kind, items)
        }
        _ => Value::Other,
    }
}

fn parse(reply: &[u8]) -> Value {
    let mut at = 0;
    let value = parse_value(reply, &mut at);
    assert_eq!(at, reply.len(), "trailing bytes in {reply:?}");
    value
}

fn bulks_of(value: Value) -> (u8, Vec<Vec<u8>>) {
    match value {
        Value::Aggregate(kind, items) => (
            kind,
            items
                .into_iter()
                .map(|item| match item {
                    Value::Bulk(bytes) => bytes,
                    other => panic!("bulk expected, got {other:?}"),
                })
                .collect(),
        ),
        other => panic!("aggregate expected, got {other:?}"),
    }
}

/// The bulk strings of a flat aggregate reply (`*`, `~`), and its type byte.
fn parse_bulks(reply: &[u8]) -> (u8, Vec<Vec<u8>>) {
    bulks_of(parse(reply))
}

/// An SSCAN reply: the next cursor and the members.
fn parse_scan(reply: &[u8]) -> (String, Vec<Vec<u8>>) {
    match parse(reply) {
        Value::Aggregate(b'*', mut parts) if parts.len() == 2 => {
            let members = bulks_of(parts.pop().expect("members")).1;
            match parts.pop() {
                Some(Value::Bulk(cursor)) => (String::from_utf8(cursor).expect("utf8"), members),
                other => panic!("cursor expected, got {other:?}"),
            }
        }
        other => panic!("scan reply expected, got {other:?}"),
    }
}

fn members(raw: &mut RawClient, key: &str) -> BTreeSet<String> {
    let (_, items) = parse_bulks(&call(raw, &["SMEMBERS", key]));
    items
        .into_iter()
        .map(|m| String::from_utf8(m).expect("utf8"))
        .collect()
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn sadd(raw: &mut RawClient, key: &str, items: &[String]) {
    let mut args = vec!["SADD", key];
    args.extend(items.iter().map(String::as_str));
    call(raw, &args);
}

fn encoding(raw: &mut RawClient, key: &str) -> Vec<u8> {
    call(raw, &["OBJECT", "ENCODING", key])
}

fn numbers(range: std::ops::RangeInclusive<i64>) -> Vec<String> {
    range.map(|n| n.to_string()).collect()
}

#[test]
fn wrong_arity() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (args, name) in [
        (&["SADD", "s"][..], "sadd"),
        (&["SREM", "s"], "srem"),
        (&["SISMEMBER", "s"], "sismember"),
        (&["SISMEMBER", "s", "a", "b"], "sismember"),
        (&["SMISMEMBER", "s"], "smismember"),
        (&["SMEMBERS"], "smembers"),
        (&["SMEMBERS", "a", "b"], "smembers"),
        (&["SCARD"], "scard"),
        (&["SPOP"], "spop"),
        (&["SRANDMEMBER"], "srandmember"),
        (&["SMOVE", "a", "b"], "smove"),
        (&["SINTER"], "sinter"),
        (&["SINTERCARD", "1"], "sintercard"),
        (&["SINTERSTORE", "d"], "sinterstore"),
        (&["SUNION"], "sunion"),
        (&["SUNIONSTORE", "d"], "sunionstore"),
        (&["SDIFF"], "sdiff"),
        (&["SDIFFSTORE", "d"], "sdiffstore"),
        (&["SSCAN", "s"], "sscan"),
    ] {
        assert_eq!(
            call(&mut raw, args),
            format!("-ERR wrong number of arguments for '{name}' command\r\n").into_bytes()
        );
    }
}

#[test]
fn missing_keys_in_resp2() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (args, reply) in [
        (&["SREM", "none", "a"][..], &b":0\r\n"[..]),
        (&["SISMEMBER", "none", "a"], b":0\r\n"),
        (&["SMISMEMBER", "none", "a", "b"], b"*2\r\n:0\r\n:0\r\n"),
        (&["SMEMBERS", "none"], EMPTY_ARRAY),
        (&["SCARD", "none"], b":0\r\n"),
        (&["SPOP", "none"], NIL),
        (&["SPOP", "none", "2"], EMPTY_ARRAY),
        (&["SRANDMEMBER", "none"], NIL),
        (&["SRANDMEMBER", "none", "3"], EMPTY_ARRAY),
        (&["SRANDMEMBER", "none", "-3"], EMPTY_ARRAY),
        (&["SMOVE", "none", "other", "a"], b":0\r\n"),
        (&["SINTER", "none", "none2"], EMPTY_ARRAY),
        (&["SINTERCARD", "1", "none"], b":0\r\n"),
        (&["SINTERSTORE", "dst", "none"], b":0\r\n"),
        (&["SUNION", "none"], EMPTY_ARRAY),
        (&["SUNIONSTORE", "dst", "none"], b":0\r\n"),
        (&["SDIFF", "none", "none2"], EMPTY_ARRAY),
        (&["SDIFFSTORE", "dst", "none"], b":0\r\n"),
        (&["SSCAN", "none", "0"], EMPTY_SCAN),
        // A missing key is answered before the options are read.
        (&["SSCAN", "none", "0", "COUNT", "0"], EMPTY_SCAN),
        (&["SSCAN", "none", "0", "BOGUS"], EMPTY_SCAN),
        (&["EXISTS", "dst", "other"], b":0\r\n"),
    ] {
        assert_eq!(call(&mut raw, args), reply, "{args:?}");
    }
}

#[test]
fn missing_keys_and_shapes_in_resp3() {
    let server = TestServer::start();
    let mut raw = resp3(&server);
    for (args, reply) in [
        (&["SMEMBERS", "none"][..], &b"~0\r\n"[..]),
        (&["SPOP", "none"], b"_\r\n"),
        (&["SPOP", "none", "2"], b"~0\r\n"),
        (&["SRANDMEMBER", "none"], b"_\r\n"),
        (&["SRANDMEMBER", "none", "3"], b"*0\r\n"),
        (&["SINTER", "none"], b"~0\r\n"),
        (&["SUNION", "none"], b"~0\r\n"),
        (&["SDIFF", "none"], b"~0\r\n"),
        (&["SSCAN", "none", "0"], EMPTY_SCAN),
        (&["SADD", "s", "1", "2", "3"], b":3\r\n"),
        (
            &["SMEMBERS", "s"],
            b"~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
        ),
        (&["SINTER", "s"], b"~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"),
        (
            &["SUNION", "s", "none"],
            b"~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
        ),
        (
            &["SDIFF", "s", "none"],
            b"~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
        ),
        (&["SDIFF", "s", "s"], b"~0\r\n"),
        (&["SINTERCARD", "1", "s"], b":3\r\n"),
        (&["SMISMEMBER", "s", "1", "5"], b"*2\r\n:1\r\n:0\r\n"),
        (&["SISMEMBER", "s", "1"], b":1\r\n"),
        (
            &["SSCAN", "s", "0"],
            b"*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
        ),
        // SRANDMEMBER with a count is an array, even for the whole set; SPOP's is a set.
        (
            &["SRANDMEMBER", "s", "5"],
            b"*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
        ),
        (&["SRANDMEMBER", "s", "0"], b"*0\r\n"),
        (&["SPOP", "s", "0"], b"~0\r\n"),
        (
            &["SPOP", "s", "5"],
            b"~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
        ),
        (&["EXISTS", "s"], b":0\r\n"),
    ] {
        assert_eq!(call(&mut raw, args), reply, "{args:?}");
    }
    call(&mut raw, &["SADD", "s", "1", "2", "3"]);
    assert_eq!(
        parse_bulks(&call(&mut raw, &["SRANDMEMBER", "s", "-5"])).0,
        b'*'
    );
    assert_eq!(parse_bulks(&call(&mut raw, &["SPOP", "s", "1"])).0, b'~');
}

#[test]
fn wrongtype_on_any_source() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, &["SET", "str", "x"]);
    call(&mut raw, &["SADD", "s", "1"]);
    for args in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SMEMBERS", "str"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "0"],
        &["SRANDMEMBER", "str", "-1"],
        &["SMOVE", "str", "none", "a"],
        &["SMOVE", "s", "str", "1"],
        &["SMOVE", "str", "str", "1"],
        // Every source is checked, even after a missing one.
        &["SINTER", "none", "str"],
        &["SINTER", "str", "none"],
        &["SINTERCARD", "2", "none", "str"],
        &["SINTERSTORE", "dst", "none", "str"],
        &["SUNION", "none", "str"],
        &["SUNIONSTORE", "dst", "s", "str"],
        &["SDIFF", "none", "str"],
        &["SDIFF", "s", "str"],
        &["SDIFFSTORE", "dst", "none", "str"],
        &["SSCAN", "str", "0"],
        &["SSCAN", "str", "0", "COUNT", "0"],
    ] {
        assert_eq!(call(&mut raw, args), WRONGTYPE, "{args:?}");
    }
    // A missing source of SMOVE answers 0 before the destination's type is looked at.
    assert_eq!(call(&mut raw, &["SMOVE", "none", "str", "a"]), int(0));
    assert_eq!(call(&mut raw, &["EXISTS", "dst"]), int(0));
    // A STORE overwrites a destination of any type.
    assert_eq!(call(&mut raw, &["SINTERSTORE", "str", "s"]), int(1));
    assert_eq!(call(&mut raw, &["TYPE", "str"]), b"+set\r\n");
}

#[test]
fn count_argument_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, &["SADD", "s", "1", "2", "3"]);
    call(&mut raw, &["SET", "str", "x"]);
    for (args, reply) in [
        (&["SPOP", "s", "-1"][..], POSITIVE),
        (&["SPOP", "s", "abc"], POSITIVE),
        (&["SPOP", "none", "-1"], POSITIVE),
        (&["SPOP", "str", "-1"], POSITIVE),
        (&["SPOP", "s", "1", "2"], SYNTAX),
        (&["SRANDMEMBER", "s", "abc"], NOT_INT),
        (&["SRANDMEMBER", "str", "abc"], NOT_INT),
        (&["SRANDMEMBER", "s", "1", "2"], SYNTAX),
        (
            &["SRANDMEMBER", "s", "-9223372036854775808"],
            b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
        ),
        (&["SCARD", "s"], b":3\r\n"),
    ] {
        assert_eq!(call(&mut raw, args), reply, "{args:?}");
    }
}

#[test]
fn sintercard_arguments() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, &["SADD", "s", "1", "2", "3"]);
    const NUMKEYS: &[u8] = b"-ERR numkeys should be greater than 0\r\n";
    const TOO_MANY: &[u8] = b"-ERR Number of keys can't be greater than number of args\r\n";
    const LIMIT: &[u8] = b"-ERR LIMIT can't be negative\r\n";
    for (args, reply) in [
        (&["SINTERCARD", "0", "s"][..], NUMKEYS),
        (&["SINTERCARD", "abc", "s"], NUMKEYS),
        (&["SINTERCARD", "-1", "s"], NUMKEYS),
        (&["SINTERCARD", "9223372036854775808", "s"], NUMKEYS),
        (&["SINTERCARD", "2", "s"], TOO_MANY),
        (&["SINTERCARD", "3", "s"], TOO_MANY),
        (&["SINTERCARD", "1", "s", "LIMIT"], SYNTAX),
        (&["SINTERCARD", "1", "s", "foo"], SYNTAX),
        (&["SINTERCARD", "1", "s", "LIMIT", "5", "foo"], SYNTAX),
        (&["SINTERCARD", "1", "s", "LIMIT", "-1"], LIMIT),
        (&["SINTERCARD", "1", "s", "limit", "abc"], LIMIT),
        (&["SINTERCARD", "1", "s", "LIMIT", "0"], b":3\r\n"),
        (&["SINTERCARD", "1", "s", "LIMIT", "2"], b":2\r\n"),
        (
            &["SINTERCARD", "1", "s", "LIMIT", "1", "LIMIT", "0"],
            b":3\r\n",
        ),
        (&["SINTERCARD", "2", "s", "s"], b":3\r\n"),
    ] {
        assert_eq!(call(&mut raw, args), reply, "{args:?}");
    }
}

#[test]
fn sscan_arguments() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, &["SADD", "s", "1", "2", "3"]);
    call(&mut raw, &["SET", "str", "x"]);
    const INVALID: &[u8] = b"-ERR invalid cursor\r\n";
    for (args, reply) in [
        // The cursor is read before the key is looked up.
        (&["SSCAN", "s", "abc"][..], INVALID),
        (&["SSCAN", "str", "abc"], INVALID),
        (&["SSCAN", "none", "abc"], INVALID),
        (&["SSCAN", "s", "0", "COUNT", "0"], SYNTAX),
        (&["SSCAN", "s", "0", "COUNT", "-1"], SYNTAX),
        (&["SSCAN", "s", "0", "COUNT", "abc"], NOT_INT),
        (&["SSCAN", "s", "0", "TYPE", "string"], SYNTAX),
        (&["SSCAN", "s", "0", "MATCH"], SYNTAX),
        // Redis 7.4 (the version cachet reports) names HSCAN; 7.0 said syntax error.
        (
            &["SSCAN", "s", "0", "NOVALUES"],
            b"-ERR NOVALUES option can only be used in HSCAN\r\n",
        ),
        (
            &["SSCAN", "s", "0", "MATCH", "3"],
            b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\n3\r\n",
        ),
        // An intset is returned whole whatever the cursor.
        (
            &["SSCAN", "s", "-1", "MATCH", "[12]"],
            b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n",
        ),
        (
            &["SSCAN", "s", "0", "COUNT", "9223372036854775807"],
            b"*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
        ),
    ] {
        assert_eq!(call(&mut raw, args), reply, "{args:?}");
    }
}

#[test]
fn sadd_srem_count_and_delete_the_emptied_key() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["SADD", "s", "a", "b", "a"]), int(2));
    assert_eq!(call(&mut raw, &["SADD", "s", "a"]), int(0));
    assert_eq!(call(&mut raw, &["SADD", "s", "1", "1", "c"]), int(2));
    assert_eq!(call(&mut raw, &["SCARD", "s"]), int(4));
    assert_eq!(call(&mut raw, &["SREM", "s", "x", "a", "a"]), int(1));
    assert_eq!(
        call(&mut raw, &["SMISMEMBER", "s", "a", "b", "1"]),
        b"*3\r\n:0\r\n:1\r\n:1\r\n"
    );
    assert_eq!(call(&mut raw, &["SREM", "s", "b", "1", "c"]), int(3));
    assert_eq!(call(&mut raw, &["EXISTS", "s"]), int(0));
    assert_eq!(call(&mut raw, &["TYPE", "s"]), b"+none\r\n");
}

#[test]
fn members_are_binary_safe() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let odd: &[u8] = b"a\0b\r\nc";
    assert_eq!(raw.call(&[b"SADD", b"s", odd, b""]), int(2));
    assert_eq!(raw.call(&[b"SISMEMBER", b"s", odd]), int(1));
    assert_eq!(raw.call(&[b"SISMEMBER", b"s", b""]), int(1));
    assert_eq!(raw.call(&[b"SISMEMBER", b"s", b"a"]), int(0));
    let (_, items) = parse_bulks(&raw.call(&[b"SMEMBERS", b"s"]));
    let items: BTreeSet<Vec<u8>> = items.into_iter().collect();
    assert_eq!(items, [odd.to_vec(), Vec::new()].into_iter().collect());
    assert_eq!(raw.call(&[b"SREM", b"s", odd]), int(1));
}

#[test]
fn intset_encoding_thresholds() {
    let server = TestServer::start();
    let mut raw = server.raw();
    const INTSET: &[u8] = b"$6\r\nintset\r\n";
    const HASHTABLE: &[u8] = b"$9\r\nhashtable\r\n";
    sadd(&mut raw, "ints", &numbers(1..=512));
    assert_eq!(encoding(&mut raw, "ints"), INTSET);
    assert_eq!(call(&mut raw, &["SADD", "ints", "513"]), int(1));
    assert_eq!(encoding(&mut raw, "ints"), HASHTABLE);
    // Never converted back.
    call(&mut raw, &["SREM", "ints", "513"]);
    assert_eq!(encoding(&mut raw, "ints"), HASHTABLE);
    for member in [
        "01",
        "-0",
        "+1",
        " 1",
        "1.5",
        "9223372036854775808",
        "",
        "x",
    ] {
        call(&mut raw, &["DEL", "k"]);
        call(&mut raw, &["SADD", "k", member]);
        assert_eq!(encoding(&mut raw, "k"), HASHTABLE, "{member:?}");
    }
    call(
        &mut raw,
        &[
            "SADD",
            "limits",
            "9223372036854775807",
            "-9223372036854775808",
        ],
    );
    assert_eq!(encoding(&mut raw, "limits"), INTSET);
    assert_eq!(
        call(&mut raw, &["SISMEMBER", "limits", "-9223372036854775808"]),
        int(1)
    );

    assert_eq!(
        call(&mut raw, &["CONFIG", "SET", "set-max-intset-entries", "0"]),
        b"+OK\r\n"
    );
    call(&mut raw, &["SADD", "zero", "1"]);
    assert_eq!(encoding(&mut raw, "zero"), HASHTABLE);
    call(&mut raw, &["CONFIG", "SET", "set-max-intset-entries", "3"]);
    call(&mut raw, &["SADD", "three", "1", "2", "3"]);
    assert_eq!(encoding(&mut raw, "three"), INTSET);
    call(&mut raw, &["SADD", "three", "4"]);
    assert_eq!(encoding(&mut raw, "three"), HASHTABLE);
    assert_eq!(
        call(&mut raw, &["CONFIG", "GET", "set-max-intset-entries"]),
        b"*2\r\n$22\r\nset-max-intset-entries\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        call(&mut raw, &["CONFIG", "SET", "set-max-intset-entries", "-1"]),
        b"-ERR CONFIG SET failed (possibly related to argument 'set-max-intset-entries') - argument must be between 0 and 9223372036854775807 inclusive\r\n"
    );
}

#[test]
fn stored_results_are_encoded_by_their_members() {
    let server = TestServer::start();
    let mut raw = server.raw();
    const INTSET: &[u8] = b"$6\r\nintset\r\n";
    const HASHTABLE: &[u8] = b"$9\r\nhashtable\r\n";
    call(&mut raw, &["SADD", "k1", "1", "2", "x"]);
    call(&mut raw, &["SADD", "k2", "1", "2", "y"]);
    assert_eq!(
        call(&mut raw, &["SINTERSTORE", "inter", "k1", "k2"]),
        int(2)
    );
    assert_eq!(encoding(&mut raw, "inter"), INTSET);
    assert_eq!(
        call(&mut raw, &["SUNIONSTORE", "union", "k1", "k2"]),
        int(4)
    );
    assert_eq!(encoding(&mut raw, "union"), HASHTABLE);
    assert_eq!(call(&mut raw, &["SDIFFSTORE", "diff", "k1", "k2"]), int(1));
    assert_eq!(encoding(&mut raw, "diff"), HASHTABLE);
    // SMOVE creates the destination from the member it moves.
    assert_eq!(call(&mut raw, &["SMOVE", "k1", "moved", "1"]), int(1));
    assert_eq!(encoding(&mut raw, "moved"), INTSET);

    // SDIFF's second algorithm starts from the whole first set: its result keeps the
    // hashtable a removed string member forced, as in Redis.
    sadd(&mut raw, "m", &[numbers(1..=10), vec!["x".into()]].concat());
    call(&mut raw, &["SADD", "n", "x"]);
    call(&mut raw, &["SADD", "o", "y"]);
    assert_eq!(call(&mut raw, &["SDIFFSTORE", "p", "m", "n", "o"]), int(10));
    assert_eq!(encoding(&mut raw, "p"), HASHTABLE);
    call(&mut raw, &["SADD", "q", "1", "x"]);
    assert_eq!(call(&mut raw, &["SDIFFSTORE", "r", "q", "n"]), int(1));
    assert_eq!(encoding(&mut raw, "r"), INTSET);
}

#[test]
fn spop_with_count_pops_distinct_members_and_reencodes_what_is_left() {
    let server = TestServer::start();
    let mut raw = server.raw();
    const INTSET: &[u8] = b"$6\r\nintset\r\n";
    const HASHTABLE: &[u8] = b"$9\r\nhashtable\r\n";
    // Popping most of a set rebuilds it from the members kept.
    sadd(&mut raw, "g", &numbers(1..=600));
    assert_eq!(encoding(&mut raw, "g"), HASHTABLE);
    let (_, popped) = parse_bulks(&call(&mut raw, &["SPOP", "g", "590"]));
    let popped: BTreeSet<Vec<u8>> = popped.into_iter().collect();
    assert_eq!(popped.len(), 590);
    assert_eq!(call(&mut raw, &["SCARD", "g"]), int(10));
    assert_eq!(encoding(&mut raw, "g"), INTSET);
    let left = members(&mut raw, "g");
    assert!(left.iter().all(|m| !popped.contains(m.as_bytes())));
    // Popping a few keeps the encoding.
    sadd(&mut raw, "h", &numbers(1..=600));
    assert_eq!(
        parse_bulks(&call(&mut raw, &["SPOP", "h", "100"])).1.len(),
        100
    );
    assert_eq!(encoding(&mut raw, "h"), HASHTABLE);
    assert_eq!(call(&mut raw, &["SCARD", "h"]), int(500));
    sadd(&mut raw, "i", &[numbers(1..=20), vec!["x".into()]].concat());
    call(&mut raw, &["SREM", "i", "x"]);
    call(&mut raw, &["SPOP", "i", "10"]);
    assert_eq!(encoding(&mut raw, "i"), HASHTABLE);
    // Single pops until the key is gone.
    call(&mut raw, &["SADD", "two", "a", "b"]);
    let first = call(&mut raw, &["SPOP", "two"]);
    let second = call(&mut raw, &["SPOP", "two"]);
    let mut both = [first, second];
    both.sort();
    assert_eq!(both, [bulk("a"), bulk("b")]);
    assert_eq!(call(&mut raw, &["SPOP", "two"]), NIL);
    assert_eq!(call(&mut raw, &["EXISTS", "two"]), int(0));
    // A count of the size or more takes everything and deletes the key.
    call(&mut raw, &["SADD", "all", "a", "b", "c"]);
    let (_, everything) = parse_bulks(&call(&mut raw, &["SPOP", "all", "9223372036854775807"]));
    assert_eq!(everything.len(), 3);
    assert_eq!(call(&mut raw, &["EXISTS", "all"]), int(0));
}

#[test]
fn srandmember_counts() {
    let server = TestServer::start();
    let mut raw = server.raw();
    sadd(&mut raw, "s", &numbers(1..=50));
    call(&mut raw, &["SADD", "t", "a", "b", "c"]);
    let all = members(&mut raw, "s");
    for count in [1usize, 10, 20, 40, 49, 50] {
        let (kind, picked) =
            parse_bulks(&call(&mut raw, &["SRANDMEMBER", "s", &count.to_string()]));
        assert_eq!(kind, b'*');
        let distinct: BTreeSet<String> = picked
            .into_iter()
            .map(|m| String::from_utf8(m).expect("utf8"))
            .collect();
        assert_eq!(distinct.len(), count);
        assert!(distinct.is_subset(&all));
    }
    let (_, whole) = parse_bulks(&call(&mut raw, &["SRANDMEMBER", "t", "100"]));
    assert_eq!(whole.len(), 3);
    let (_, repeated) = parse_bulks(&call(&mut raw, &["SRANDMEMBER", "t", "-100"]));
    assert_eq!(repeated.len(), 100);
    assert!(repeated
        .iter()
        .all(|m| [&b"a"[..], b"b", b"c"].contains(&&m[..])));
    let one = call(&mut raw, &["SRANDMEMBER", "t"]);
    assert!([bulk("a"), bulk("b"), bulk("c")].contains(&one));
    assert_eq!(call(&mut raw, &["SCARD", "t"]), int(3));
}

#[test]
fn smove_between_sets() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, &["SADD", "s", "1", "2", "3"]);
    call(&mut raw, &["SADD", "h", "a", "b", "1"]);
    // The same key: a membership test, no change.
    assert_eq!(call(&mut raw, &["SMOVE", "s", "s", "1"]), int(1));
    assert_eq!(call(&mut raw, &["SMOVE", "s", "s", "9"]), int(0));
    assert_eq!(call(&mut raw, &["SMOVE", "s", "h", "9"]), int(0));
    // Already in the destination: removed from the source only.
    assert_eq!(call(&mut raw, &["SMOVE", "s", "h", "1"]), int(1));
    assert_eq!(members(&mut raw, "s"), set_of(&["2", "3"]));
    assert_eq!(members(&mut raw, "h"), set_of(&["a", "b", "1"]));
    assert_eq!(call(&mut raw, &["SMOVE", "s", "new", "2"]), int(1));
    assert_eq!(call(&mut raw, &["TYPE", "new"]), b"+set\r\n");
    assert_eq!(call(&mut raw, &["SMOVE", "h", "new", "a"]), int(1));
    assert_eq!(encoding(&mut raw, "new"), b"$9\r\nhashtable\r\n");
    // Moving the last member deletes the source.
    assert_eq!(call(&mut raw, &["SMOVE", "s", "new", "3"]), int(1));
    assert_eq!(call(&mut raw, &["EXISTS", "s"]), int(0));
    assert_eq!(members(&mut raw, "new"), set_of(&["2", "3", "a"]));
}

#[test]
fn algebra_results() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, &["SADD", "a", "1", "2", "3", "x"]);
    call(&mut raw, &["SADD", "b", "2", "3", "4", "x", "y"]);
    call(&mut raw, &["SADD", "c", "3", "x", "z"]);
    let list = |raw: &mut RawClient, args: &[&str]| -> BTreeSet<String> {
        parse_bulks(&call(raw, args))
            .1
            .into_iter()
            .map(|m| String::from_utf8(m).expect("utf8"))
            .collect()
    };
    assert_eq!(
        list(&mut raw, &["SINTER", "a", "b", "c"]),
        set_of(&["3", "x"])
    );
    assert_eq!(
        list(&mut raw, &["SINTER", "a", "a"]),
        set_of(&["1", "2", "3", "x"])
    );
    assert_eq!(list(&mut raw, &["SINTER", "a", "b", "none"]), set_of(&[]));
    assert_eq!(
        list(&mut raw, &["SUNION", "a", "none", "c"]),
        set_of(&["1", "2", "3", "x", "z"])
    );
    assert_eq!(list(&mut raw, &["SDIFF", "a", "b"]), set_of(&["1"]));
    assert_eq!(
        list(&mut raw, &["SDIFF", "b", "a", "c"]),
        set_of(&["4", "y"])
    );
    assert_eq!(
        list(&mut raw, &["SDIFF", "a", "none"]),
        set_of(&["1", "2", "3", "x"])
    );
    assert_eq!(list(&mut raw, &["SDIFF", "a", "b", "a"]), set_of(&[]));
    assert_eq!(call(&mut raw, &["SINTERCARD", "3", "a", "b", "c"]), int(2));
    assert_eq!(
        call(&mut raw, &["SINTERCARD", "2", "a", "b", "LIMIT", "1"]),
        int(1)
    );
    assert_eq!(
        call(&mut raw, &["SINTERCARD", "2", "a", "b", "LIMIT", "10"]),
        int(3)
    );

    // STORE replaces the destination, drops its TTL, and may read it as a source.
    call(&mut raw, &["SET", "dst", "old", "EX", "100"]);
    assert_eq!(call(&mut raw, &["SUNIONSTORE", "dst", "a", "c"]), int(5));
    assert_eq!(call(&mut raw, &["TTL", "dst"]), int(-1));
    assert_eq!(call(&mut raw, &["SINTERSTORE", "dst", "dst", "b"]), int(3));
    assert_eq!(members(&mut raw, "dst"), set_of(&["2", "3", "x"]));
    assert_eq!(call(&mut raw, &["SDIFFSTORE", "dst", "dst", "c"]), int(1));
    assert_eq!(members(&mut raw, "dst"), set_of(&["2"]));
    // An empty result deletes the destination.
    assert_eq!(call(&mut raw, &["SDIFFSTORE", "dst", "a", "a"]), int(0));
    assert_eq!(call(&mut raw, &["EXISTS", "dst"]), int(0));
    call(&mut raw, &["SET", "dst", "old"]);
    assert_eq!(call(&mut raw, &["SINTERSTORE", "dst", "a", "none"]), int(0));
    assert_eq!(call(&mut raw, &["EXISTS", "dst"]), int(0));
    call(&mut raw, &["SET", "dst", "old"]);
    assert_eq!(call(&mut raw, &["SUNIONSTORE", "dst", "none"]), int(0));
    assert_eq!(call(&mut raw, &["EXISTS", "dst"]), int(0));
}

#[test]
fn sscan_over_a_hashtable_never_misses_a_member() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let stable: Vec<String> = (0..1000).map(|n| format!("m{n}")).collect();
    sadd(&mut raw, "s", &stable);
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let (next, items) = parse_scan(&call(&mut raw, &["SSCAN", "s", &cursor, "COUNT", "25"]));
        cursor = next;
        seen.extend(
            items
                .into_iter()
                .map(|m| String::from_utf8(m).expect("utf8")),
        );
        // Churn between calls: growth (resizes), and removals of what was just added.
        round += 1;
        let added: Vec<String> = (0..60).map(|k| format!("new{round}-{k}")).collect();
        sadd(&mut raw, "s", &added);
        let mut srem = vec!["SREM", "s"];
        srem.extend(added.iter().take(50).map(String::as_str));
        call(&mut raw, &srem);
        if cursor == "0" {
            break;
        }
        assert!(round < 10_000, "scan does not end");
    }
    for member in &stable {
        assert!(seen.contains(member), "{member} missed");
    }
    // MATCH filters what the step visited.
    let (next, matched) = parse_scan(&call(
        &mut raw,
        &["SSCAN", "s", "0", "MATCH", "m99*", "COUNT", "100000"],
    ));
    assert_eq!(next, "0");
    let matched: BTreeSet<String> = matched
        .into_iter()
        .map(|m| String::from_utf8(m).expect("utf8"))
        .collect();
    assert_eq!(
        matched,
        ["m99", "m990", "m991", "m992", "m993", "m994", "m995", "m996", "m997", "m998", "m999"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}

#[test]
fn expiry_and_introspection() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, &["SADD", "s", "a"]);
    call(&mut raw, &["PEXPIRE", "s", "100000"]);
    // Adding keeps the TTL.
    call(&mut raw, &["SADD", "s", "b"]);
    assert_eq!(call(&mut raw, &["TTL", "s"]), int(100));
    call(&mut raw, &["PEXPIRE", "s", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(call(&mut raw, &["SCARD", "s"]), int(0));
    assert_eq!(call(&mut raw, &["SADD", "s", "c"]), int(1));
    assert_eq!(members(&mut raw, "s"), set_of(&["c"]));
    assert_eq!(call(&mut raw, &["TTL", "s"]), int(-1));
    // MEMORY USAGE grows with the members.
    let usage = |raw: &mut RawClient| -> i64 {
        let reply = call(raw, &["MEMORY", "USAGE", "s"]);
        std::str::from_utf8(&reply[1..reply.len() - 2])
            .expect("utf8")
            .parse()
            .expect("int")
    };
    let small = usage(&mut raw);
    sadd(
        &mut raw,
        "s",
        &(0..1000).map(|n| format!("member:{n}")).collect::<Vec<_>>(),
    );
    assert!(usage(&mut raw) > small + 10_000);
    // COPY clones the set; RENAME moves it.
    assert_eq!(call(&mut raw, &["COPY", "s", "t"]), int(1));
    assert_eq!(call(&mut raw, &["SREM", "t", "c"]), int(1));
    assert_eq!(call(&mut raw, &["SCARD", "s"]), int(1001));
    assert_eq!(call(&mut raw, &["SCARD", "t"]), int(1000));
    assert_eq!(call(&mut raw, &["RENAME", "t", "u"]), b"+OK\r\n");
    assert_eq!(call(&mut raw, &["SISMEMBER", "u", "member:7"]), int(1));
}
