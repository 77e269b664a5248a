//! The bitmap family (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO) against the real
//! server: edge cases first, answered byte for byte as redis-server 7.0.15 answered the same
//! requests (recorded), then notices, limits and the memory limit, and last a differential run of
//! several thousand pseudo-random requests (errors and odd arguments included) against a
//! `redis-server` process started beside it.

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use std::time::{Duration, Instant};

use common::{call, RawClient, TestServer};
use differential::Differential;

type Exchange = (&'static [&'static [u8]], &'static [u8]);

/// Requests in order (one database, flushed first) and redis-server 7.0.15's replies.
const EDGES: &[Exchange] = &[
        // SETBIT / GETBIT: offsets, values, order of checks
        (&[b"setbit", b"b", b"7", b"1"], b":0\r\n"),
        (&[b"setbit", b"b", b"7", b"1"], b":1\r\n"),
        (&[b"setbit", b"b", b"7", b"0"], b":1\r\n"),
        (&[b"setbit", b"b", b"100", b"1"], b":0\r\n"),
        (&[b"get", b"b"], b"$13\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\r\n"),
        (&[b"getbit", b"b", b"100"], b":1\r\n"),
        (&[b"getbit", b"b", b"101"], b":0\r\n"),
        (&[b"getbit", b"b", b"4294967295"], b":0\r\n"),
        (&[b"getbit", b"nokey", b"0"], b":0\r\n"),
        (&[b"setbit", b"b", b"-1", b"1"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"setbit", b"b", b"4294967296", b"1"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"setbit", b"b", b"+1", b"1"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"setbit", b"b", b"01", b"1"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"setbit", b"b", b"#1", b"1"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"setbit", b"b", b"x", b"1"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"setbit", b"b", b"1", b"2"], b"-ERR bit is not an integer or out of range\r\n"),
        (&[b"setbit", b"b", b"1", b"-1"], b"-ERR bit is not an integer or out of range\r\n"),
        (&[b"setbit", b"b", b"1", b"x"], b"-ERR bit is not an integer or out of range\r\n"),
        (&[b"setbit", b"b", b"-1", b"x"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"getbit", b"b", b"-1"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"getbit", b"b", b"x"], b"-ERR bit offset is not an integer or out of range\r\n"),
        // an integer value is read and written as its digits, and ends raw
        (&[b"set", b"n", b"12"], b"+OK\r\n"),
        (&[b"getbit", b"n", b"2"], b":1\r\n"),
        (&[b"getbit", b"n", b"3"], b":1\r\n"),
        (&[b"setbit", b"n", b"7", b"0"], b":1\r\n"),
        (&[b"object", b"encoding", b"n"], b"$3\r\nraw\r\n"),
        (&[b"get", b"n"], b"$2\r\n02\r\n"),
        (&[b"lpush", b"l", b"x"], b":1\r\n"),
        (&[b"setbit", b"l", b"0", b"1"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&[b"getbit", b"l", b"0"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&[b"setbit", b"l", b"x", b"1"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"getbit", b"l", b"x"], b"-ERR bit offset is not an integer or out of range\r\n"),
        // BITCOUNT: 7.0 looks the key up before it reads the arguments
        (&[b"set", b"s", b"foobar"], b"+OK\r\n"),
        (&[b"bitcount", b"s"], b":26\r\n"),
        (&[b"bitcount", b"s", b"0", b"0"], b":4\r\n"),
        (&[b"bitcount", b"s", b"1", b"1"], b":6\r\n"),
        (&[b"bitcount", b"s", b"1", b"1", b"BIT"], b":1\r\n"),
        (&[b"bitcount", b"s", b"5", b"30", b"bit"], b":17\r\n"),
        (&[b"bitcount", b"s", b"-2", b"-1"], b":7\r\n"),
        (&[b"bitcount", b"s", b"-1", b"-2"], b":0\r\n"),
        (&[b"bitcount", b"s", b"-1", b"-2", b"foo"], b":0\r\n"),
        (&[b"bitcount", b"s", b"0", b"-1", b"foo"], b"-ERR syntax error\r\n"),
        (&[b"bitcount", b"s", b"0", b"-1", b"bit\x00x"], b":26\r\n"),
        (&[b"bitcount", b"s", b"100", b"200"], b":0\r\n"),
        (&[b"bitcount", b"s", b"-100", b"-50"], b":4\r\n"),
        (&[b"bitcount", b"s", b"0"], b"-ERR syntax error\r\n"),
        (&[b"bitcount", b"s", b"0", b"1", b"bit", b"x"], b"-ERR syntax error\r\n"),
        (&[b"bitcount", b"s", b"a", b"1"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"bitcount", b"s", b"1", b"a"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"bitcount", b"nokey"], b":0\r\n"),
        (&[b"bitcount", b"nokey", b"a", b"b", b"c", b"d"], b":0\r\n"),
        (&[b"bitcount", b"l"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&[b"bitcount", b"n"], b":5\r\n"),
        (&[b"set", b"e", b"\"\""], b"+OK\r\n"),
        (&[b"bitcount", b"e"], b":4\r\n"),
        (&[b"bitcount", b"e", b"0", b"-1", b"bit"], b":4\r\n"),
        // BITPOS: the bit first, then the key, then start, unit, end
        (&[b"bitpos", b"s", b"1"], b":1\r\n"),
        (&[b"bitpos", b"s", b"0"], b":0\r\n"),
        (&[b"bitpos", b"s", b"2"], b"-ERR The bit argument must be 1 or 0.\r\n"),
        (&[b"bitpos", b"s", b"-1"], b"-ERR The bit argument must be 1 or 0.\r\n"),
        (&[b"bitpos", b"s", b"x"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"bitpos", b"nokey", b"1"], b":-1\r\n"),
        (&[b"bitpos", b"nokey", b"0"], b":0\r\n"),
        (&[b"bitpos", b"nokey", b"0", b"a", b"b", b"c", b"d", b"e"], b":0\r\n"),
        (&[b"bitpos", b"e", b"0"], b":0\r\n"),
        (&[b"bitpos", b"e", b"1"], b":2\r\n"),
        (&[b"bitpos", b"s", b"1", b"2"], b":17\r\n"),
        (&[b"bitpos", b"s", b"0", b"-1"], b":40\r\n"),
        (&[b"bitpos", b"s", b"1", b"2", b"-1", b"bit"], b":2\r\n"),
        (&[b"bitpos", b"s", b"1", b"7", b"15", b"bit"], b":9\r\n"),
        (&[b"bitpos", b"s", b"0", b"3", b"3", b"bit"], b":3\r\n"),
        (&[b"bitpos", b"s", b"1", b"a"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"bitpos", b"s", b"1", b"0", b"a"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"bitpos", b"s", b"1", b"0", b"a", b"foo"], b"-ERR syntax error\r\n"),
        (&[b"bitpos", b"s", b"1", b"0", b"1", b"foo"], b"-ERR syntax error\r\n"),
        (&[b"bitpos", b"s", b"1", b"0", b"1", b"2", b"3"], b"-ERR syntax error\r\n"),
        (&[b"bitpos", b"l", b"1"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&[b"set", b"ff", b"\xff\xff\xff"], b"+OK\r\n"),
        (&[b"bitpos", b"ff", b"0"], b":24\r\n"),
        (&[b"bitpos", b"ff", b"0", b"0"], b":24\r\n"),
        (&[b"bitpos", b"ff", b"0", b"0", b"-1"], b":-1\r\n"),
        (&[b"bitpos", b"ff", b"0", b"0", b"-1", b"bit"], b":-1\r\n"),
        (&[b"bitpos", b"ff", b"0", b"4", b"5", b"bit"], b":-1\r\n"),
        (&[b"set", b"fz", b"\x00\xff\xf0"], b"+OK\r\n"),
        (&[b"bitpos", b"fz", b"1", b"0"], b":8\r\n"),
        (&[b"bitpos", b"fz", b"1", b"2"], b":16\r\n"),
        (&[b"bitpos", b"fz", b"0", b"1", b"-1", b"bit"], b":1\r\n"),
        (&[b"bitpos", b"fz", b"1", b"9", b"8", b"bit"], b":-1\r\n"),
        // BITOP
        (&[b"bitop", b"and", b"d", b"s", b"ff"], b":6\r\n"),
        (&[b"get", b"d"], b"$6\r\nfoo\x00\x00\x00\r\n"),
        (&[b"bitop", b"or", b"d", b"s", b"nokey"], b":6\r\n"),
        (&[b"get", b"d"], b"$6\r\nfoobar\r\n"),
        (&[b"bitop", b"xor", b"d", b"s", b"s"], b":6\r\n"),
        (&[b"get", b"d"], b"$6\r\n\x00\x00\x00\x00\x00\x00\r\n"),
        (&[b"bitop", b"not", b"d", b"s"], b":6\r\n"),
        (&[b"get", b"d"], b"$6\r\n\x99\x90\x90\x9d\x9e\x8d\r\n"),
        (&[b"bitop", b"not", b"d", b"s", b"ff"], b"-ERR BITOP NOT must be called with a single source key.\r\n"),
        (&[b"bitop", b"not", b"d"], b"-ERR wrong number of arguments for 'bitop' command\r\n"),
        (&[b"bitop", b"nand", b"d", b"s"], b"-ERR syntax error\r\n"),
        (&[b"bitop", b"AND", b"d", b"nokey", b"nokey2"], b":0\r\n"),
        (&[b"exists", b"d"], b":0\r\n"),
        (&[b"bitop", b"or", b"d", b"nokey"], b":0\r\n"),
        (&[b"bitop", b"or", b"d", b"s", b"l"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&[b"bitop", b"or", b"d", b"l"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&[b"bitop", b"and", b"d", b"n", b"s"], b":6\r\n"),
        (&[b"get", b"d"], b"$6\r\n \"\x00\x00\x00\x00\r\n"),
        (&[b"object", b"encoding", b"d"], b"$3\r\nraw\r\n"),
        (&[b"bitop", b"xor\x00x", b"d", b"s"], b":6\r\n"),
        (&[b"set", b"d", b"abc"], b"+OK\r\n"),
        (&[b"expire", b"d", b"100"], b":1\r\n"),
        (&[b"bitop", b"or", b"d", b"s"], b":6\r\n"),
        (&[b"ttl", b"d"], b":-1\r\n"),
        (&[b"set", b"d2", b"x"], b"+OK\r\n"),
        (&[b"bitop", b"and", b"d2", b"e"], b":2\r\n"),
        (&[b"exists", b"d2"], b":1\r\n"),
        // BITFIELD
        (&[b"bitfield", b"bf", b"set", b"u8", b"0", b"255", b"get", b"u8", b"0", b"incrby", b"u8", b"0", b"10", b"overflow", b"sat", b"incrby", b"u8", b"0", b"300", b"overflow", b"fail", b"incrby", b"u8", b"0", b"-1000", b"get", b"i8", b"#1"], b"*6\r\n:0\r\n:255\r\n:9\r\n:255\r\n$-1\r\n:0\r\n"),
        (&[b"get", b"bf"], b"$1\r\n\xff\r\n"),
        (&[b"bitfield", b"bf", b"get", b"u64", b"0"], b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n"),
        (&[b"bitfield", b"bf", b"get", b"i65", b"0"], b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n"),
        (&[b"bitfield", b"bf", b"get", b"i0", b"0"], b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n"),
        (&[b"bitfield", b"bf", b"get", b"I8", b"0"], b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n"),
        (&[b"bitfield", b"bf", b"get", b"u", b"0"], b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n"),
        (&[b"bitfield", b"bf", b"get", b"i8\x00z", b"0"], b"*1\r\n:-1\r\n"),
        (&[b"bitfield", b"bf", b"overflow", b"foo", b"get", b"u8", b"0"], b"-ERR Invalid OVERFLOW type specified\r\n"),
        (&[b"bitfield", b"bf", b"overflow"], b"-ERR syntax error\r\n"),
        (&[b"bitfield", b"bf", b"incrby", b"u8", b"0"], b"-ERR syntax error\r\n"),
        (&[b"bitfield", b"bf", b"set", b"u8", b"0"], b"-ERR syntax error\r\n"),
        (&[b"bitfield", b"bf", b"get", b"u8"], b"-ERR syntax error\r\n"),
        (&[b"bitfield", b"bf", b"get", b"u8", b"-1"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"bitfield", b"bf", b"get", b"u8", b"#-1"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"bitfield", b"bf", b"get", b"u8", b"#"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"bitfield", b"bf", b"get", b"u8", b"4294967296"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"bitfield", b"bf", b"set", b"u8", b"4294967290", b"1", b"get", b"u8", b"x"], b"-ERR bit offset is not an integer or out of range\r\n"),
        (&[b"bitfield", b"bf", b"set", b"u8", b"0", b"x"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"bitfield", b"bf", b"foo", b"u8", b"0"], b"-ERR syntax error\r\n"),
        (&[b"bitfield", b"bf"], b"*0\r\n"),
        (&[b"bitfield", b"bf", b"overflow", b"wrap"], b"*0\r\n"),
        (&[b"bitfield", b"nokey", b"get", b"u8", b"0", b"get", b"i64", b"100"], b"*2\r\n:0\r\n:0\r\n"),
        (&[b"exists", b"nokey"], b":0\r\n"),
        (&[b"bitfield", b"l", b"get", b"u8", b"0"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&[b"bitfield", b"l", b"set", b"u8", b"0", b"1"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&[b"bitfield_ro", b"bf", b"get", b"u8", b"0", b"set", b"u8", b"0", b"1"], b"-ERR BITFIELD_RO only supports the GET subcommand\r\n"),
        (&[b"bitfield_ro", b"bf", b"get", b"u8", b"0", b"get", b"i64", b"3", b"get", b"u1", b"#7"], b"*3\r\n:255\r\n:-576460752303423488\r\n:1\r\n"),
        (&[b"bitfield_ro", b"bf"], b"*0\r\n"),
        (&[b"bitfield_ro", b"bf", b"set", b"u8", b"0", b"1", b"get", b"u99", b"0"], b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n"),
        (&[b"bitfield", b"nf", b"overflow", b"fail", b"incrby", b"u2", b"0", b"5"], b"*1\r\n$-1\r\n"),
        (&[b"exists", b"nf"], b":1\r\n"),
        (&[b"get", b"nf"], b"$1\r\n\x00\r\n"),
        (&[b"bitfield", b"sg", b"set", b"i8", b"0", b"-100", b"incrby", b"i8", b"0", b"-100", b"overflow", b"sat", b"incrby", b"i8", b"0", b"-100", b"overflow", b"wrap", b"set", b"i8", b"0", b"200", b"get", b"i8", b"0", b"get", b"u8", b"0"], b"*6\r\n:0\r\n:56\r\n:-44\r\n:-44\r\n:-56\r\n:200\r\n"),
        (&[b"bitfield", b"sg", b"overflow", b"sat", b"set", b"u8", b"0", b"-1", b"get", b"u8", b"0", b"set", b"i62", b"8", b"-6917529027641081857", b"get", b"i62", b"8"], b"*4\r\n:200\r\n:255\r\n:0\r\n:2305843009213693951\r\n"),
        (&[b"bitfield", b"big", b"set", b"i64", b"0", b"-9223372036854775808", b"incrby", b"i64", b"0", b"-1", b"overflow", b"sat", b"incrby", b"i64", b"0", b"-1", b"get", b"i64", b"0", b"get", b"u63", b"1"], b"*5\r\n:0\r\n:9223372036854775807\r\n:9223372036854775806\r\n:9223372036854775806\r\n:9223372036854775806\r\n"),
        (&[b"bitfield", b"big", b"overflow", b"fail", b"incrby", b"i64", b"0", b"9223372036854775807", b"incrby", b"u63", b"1", b"9223372036854775807", b"get", b"u63", b"1"], b"*3\r\n$-1\r\n$-1\r\n:9223372036854775806\r\n"),
        (&[b"bitfield", b"hash", b"set", b"u4", b"#3", b"9", b"get", b"u4", b"#3", b"get", b"u4", b"12", b"get", b"u16", b"#0"], b"*4\r\n:0\r\n:9\r\n:9\r\n:9\r\n"),
        (&[b"bitfield", b"n", b"get", b"u8", b"0"], b"*1\r\n:48\r\n"),
        (&[b"bitfield", b"n", b"set", b"u8", b"0", b"51"], b"*1\r\n:48\r\n"),
        (&[b"get", b"n"], b"$2\r\n32\r\n"),
];

fn run_script(raw: &mut RawClient, script: &[Exchange]) {
    for (i, (args, want)) in script.iter().enumerate() {
        let got = raw.call(args);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "request {i}: {:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn edge_cases_answer_as_redis() {
    let server = TestServer::start();
    run_script(&mut server.raw(), EDGES);
}

#[test]
fn offsets_are_bounded_by_proto_max_bulk_len() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        call(&mut raw, &["CONFIG", "SET", "proto-max-bulk-len", "1mb"]),
        b"+OK\r\n"
    );
    let last = (1u64 << 23) - 1;
    assert_eq!(
        call(&mut raw, &["SETBIT", "b", &last.to_string(), "1"]),
        b":0\r\n"
    );
    assert_eq!(call(&mut raw, &["STRLEN", "b"]), b":1048576\r\n");
    let err = b"-ERR bit offset is not an integer or out of range\r\n";
    assert_eq!(
        call(&mut raw, &["SETBIT", "b", &(last + 1).to_string(), "1"]),
        err
    );
    assert_eq!(
        call(&mut raw, &["GETBIT", "b", &(last + 1).to_string()]),
        err
    );
    assert_eq!(
        call(
            &mut raw,
            &["BITFIELD", "b", "GET", "u8", &(last + 1).to_string()]
        ),
        err
    );
    // A field starting on the last allowed bit may reach past it: the string grows to cover it.
    assert_eq!(
        call(
            &mut raw,
            &["BITFIELD", "c", "SET", "u16", &last.to_string(), "65535"]
        ),
        b"*1\r\n:0\r\n"
    );
    assert_eq!(call(&mut raw, &["STRLEN", "c"]), b":1048578\r\n");
    assert_eq!(call(&mut raw, &["BITCOUNT", "c"]), b":16\r\n");
    assert_eq!(
        call(&mut raw, &["BITPOS", "c", "1"]),
        format!(":{last}\r\n").as_bytes()
    );
    // #n counts in fields of the type's width (all checked against redis-server 7.0.15).
    assert_eq!(
        call(&mut raw, &["BITFIELD", "c", "GET", "u8", "#1048576"]),
        err
    );
    assert_eq!(
        call(&mut raw, &["BITFIELD", "c", "GET", "u8", "#1048575"]),
        b"*1\r\n:1\r\n"
    );
}

#[test]
fn writes_are_refused_over_maxmemory_and_reads_served() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let oom = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    call(
        &mut raw,
        &["CONFIG", "SET", "maxmemory-policy", "noeviction"],
    );
    call(&mut raw, &["SETBIT", "b", "100", "1"]);
    call(&mut raw, &["CONFIG", "SET", "maxmemory", "1"]);
    for write in [
        &["SETBIT", "b", "1", "1"][..],
        &["SETBIT", "b", "100", "1"],
        &["BITOP", "NOT", "d", "b"],
        &["BITFIELD", "b", "SET", "u8", "0", "1"],
        // Redis refuses BITFIELD whatever its subcommands: the flag is the command's.
        &["BITFIELD", "b", "GET", "u8", "0"],
    ] {
        assert_eq!(call(&mut raw, write), oom, "{write:?}");
    }
    assert_eq!(call(&mut raw, &["GETBIT", "b", "100"]), b":1\r\n");
    assert_eq!(call(&mut raw, &["BITCOUNT", "b"]), b":1\r\n");
    assert_eq!(call(&mut raw, &["BITPOS", "b", "1"]), b":100\r\n");
    assert_eq!(
        call(&mut raw, &["BITFIELD_RO", "b", "GET", "u8", "96"]),
        b"*1\r\n:8\r\n"
    );
}

/// Redis's `__keyevent@*__` stream for the same requests (recorded from redis-server 7.0.15 with
/// `notify-keyspace-events KEA`): a write that changes nothing announces nothing, BITFIELD
/// announces `setbit`, and a BITFIELD whose only write failed creates its key silently.
#[test]
fn notices_as_redis() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("KEA")
        .query(&mut con)
        .unwrap();
    let mut sub_con = server.client();
    let mut pubsub = sub_con.as_pubsub();
    pubsub.psubscribe("__keyevent@*__:*").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut raw = server.raw();
    for line in [
        "SETBIT b 7 1",
        "SETBIT b 7 1",
        "SETBIT b 7 0",
        "SETBIT b 0 0",
        "SETBIT b 100 0",
        "BITFIELD b GET u8 0",
        "BITFIELD b SET u8 0 0",
        "BITFIELD b SET u8 0 1",
        "BITFIELD nf OVERFLOW FAIL INCRBY u2 0 5",
        "BITFIELD b2 SET u8 0 0",
        "BITOP OR d b",
        "BITOP AND d nokey",
        "BITOP AND d nokey",
        "DEL nf",
    ] {
        let args: Vec<&str> = line.split(' ').collect();
        let reply = call(&mut raw, &args);
        assert!(
            !reply.starts_with(b"-"),
            "{line}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
    let expected = [
        ("setbit", "b"),
        ("setbit", "b"),
        ("setbit", "b"),
        ("setbit", "b"),
        ("setbit", "b2"),
        ("set", "d"),
        ("del", "d"),
        ("del", "nf"),
    ];
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < expected.len() && Instant::now() < deadline {
        if let Ok(msg) = pubsub.get_message() {
            let event = msg
                .get_channel_name()
                .rsplit(':')
                .next()
                .unwrap()
                .to_string();
            seen.push((event, msg.get_payload::<String>().unwrap()));
        }
    }
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(e, k)| (e.to_string(), k.to_string()))
        .collect();
    assert_eq!(seen, expected);
}

/// WATCH sees exactly the writes that changed something, as in Redis.
#[test]
fn watch_sees_only_real_changes() {
    let server = TestServer::start();
    let (mut a, mut b) = (server.raw(), server.raw());
    call(&mut a, &["SETBIT", "k", "3", "1"]);
    let exec_after = |a: &mut RawClient, b: &mut RawClient, write: &[&str]| {
        call(a, &["WATCH", "k"]);
        call(b, write);
        call(a, &["MULTI"]);
        call(a, &["GET", "x"]);
        call(a, &["EXEC"])
    };
    let aborted = b"*-1\r\n".to_vec();
    assert_ne!(
        exec_after(&mut a, &mut b, &["SETBIT", "k", "3", "1"]),
        aborted
    );
    assert_ne!(
        exec_after(&mut a, &mut b, &["BITFIELD", "k", "SET", "u4", "0", "1"]),
        aborted
    );
    assert_eq!(
        exec_after(&mut a, &mut b, &["SETBIT", "k", "3", "0"]),
        aborted
    );
    assert_eq!(
        exec_after(&mut a, &mut b, &["BITFIELD", "k", "INCRBY", "u4", "0", "1"]),
        aborted
    );
    assert_eq!(
        exec_after(&mut a, &mut b, &["SETBIT", "k", "100", "0"]),
        aborted
    );
    assert_eq!(
        exec_after(&mut a, &mut b, &["BITOP", "NOT", "k", "k"]),
        aborted
    );
}

/// SETBIT and BITFIELD change a value in place: its TTL and cache metadata stay; BITOP replaces
/// its destination, which loses both.
#[test]
fn in_place_writes_keep_ttl_and_tags() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for key in ["a", "d"] {
        let reply = call(
            &mut raw,
            &["CACHE.SET", key, "x", "EX", "100", "TAGS", "1", "t"],
        );
        assert_eq!(reply, b"+OK\r\n");
    }
    call(&mut raw, &["SETBIT", "a", "100", "1"]);
    call(&mut raw, &["BITFIELD", "a", "INCRBY", "u8", "0", "1"]);
    call(&mut raw, &["BITOP", "NOT", "d", "a"]);
    assert_eq!(call(&mut raw, &["TTL", "a"]), b":100\r\n");
    assert_eq!(call(&mut raw, &["TTL", "d"]), b":-1\r\n");
    assert_eq!(call(&mut raw, &["TAG.CARD", "t"]), b":1\r\n");
    assert_eq!(call(&mut raw, &["TAG.INVALIDATE", "t"]), b":1\r\n");
    assert_eq!(call(&mut raw, &["EXISTS", "a", "d"]), b":1\r\n");
}

/// A model of the bits the last BITFIELD/SETBIT writes left, checked through GET.
#[test]
fn bitfield_and_setbit_match_a_bit_vector_through_the_server() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut rng = fastrand::Rng::with_seed(11);
    let mut model: Vec<bool> = Vec::new();
    for _ in 0..400 {
        let offset = rng.u64(0..300);
        if rng.bool() {
            let on = rng.bool();
            call(
                &mut raw,
                &[
                    "SETBIT",
                    "m",
                    &offset.to_string(),
                    if on { "1" } else { "0" },
                ],
            );
            if model.len() <= offset as usize {
                model.resize((offset as usize / 8 + 1) * 8, false);
            }
            model[offset as usize] = on;
        } else {
            let bits = rng.u32(1..=63);
            let value = rng.u64(..) >> (64 - bits);
            let reply = call(
                &mut raw,
                &[
                    "BITFIELD",
                    "m",
                    "SET",
                    &format!("u{bits}"),
                    &offset.to_string(),
                    &value.to_string(),
                ],
            );
            assert!(
                reply.starts_with(b"*1\r\n:"),
                "{}",
                String::from_utf8_lossy(&reply)
            );
            let end = offset as usize + bits as usize;
            if model.len() < end {
                model.resize(end.div_ceil(8) * 8, false);
            }
            for i in 0..bits as usize {
                model[offset as usize + i] = value >> (bits as usize - 1 - i) & 1 == 1;
            }
        }
    }
    let bytes: Vec<u8> = model
        .chunks(8)
        .map(|bits| bits.iter().fold(0u8, |b, &on| b << 1 | on as u8))
        .collect();
    let mut want = format!("${}\r\n", bytes.len()).into_bytes();
    want.extend_from_slice(&bytes);
    want.extend_from_slice(b"\r\n");
    assert_eq!(call(&mut raw, &["GET", "m"]), want);
}

// ---- Differential run against redis-server ----

const KEYS: &[&str] = &["b0", "b1", "b2", "b3", "str", "int", "list", "missing"];
const TYPES: &[&str] = &[
    "u1", "u7", "u8", "u16", "u31", "u63", "i1", "i5", "i8", "i32", "i63", "i64",
];
const BAD_TYPES: &[&str] = &[
    "u64", "i65", "i0", "u", "x8", "I8", "u-3", "i08", "i8\x00x", "",
];

struct Gen {
    rng: fastrand::Rng,
}

impl Gen {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.usize(..items.len())]
    }

    fn key(&mut self) -> String {
        self.pick(KEYS).to_string()
    }

    fn bit_key(&mut self) -> String {
        if self.rng.u8(..10) < 8 {
            format!("b{}", self.rng.u8(..4))
        } else {
            self.key()
        }
    }

    fn offset(&mut self) -> String {
        match self.rng.u8(..40) {
            0 => "-1".into(),
            1 => "4294967296".into(),
            2 => "x".into(),
            3 => String::new(),
            4 => "01".into(),
            5 => "#2".into(),
            6 => "99999999999999999999".into(),
            7..=14 => self.rng.u32(0..4000).to_string(),
            _ => self.rng.u32(0..120).to_string(),
        }
    }

    /// Mostly valid: a BITFIELD with one bad offset answers nothing else.
    fn field_offset(&mut self) -> String {
        match self.rng.u8(..30) {
            0..=8 => format!("#{}", self.rng.u32(0..50)),
            9 => "#-1".into(),
            10 => "#".into(),
            11 => self.offset(),
            _ => self.rng.u32(0..600).to_string(),
        }
    }

    fn index(&mut self) -> String {
        match self.rng.u8(..30) {
            0 => "x".into(),
            1 => i64::MIN.to_string(),
            2 => i64::MAX.to_string(),
            3 => "1.5".into(),
            _ => self.rng.i32(-40..40).to_string(),
        }
    }

    fn value(&mut self) -> String {
        match self.rng.u8(..20) {
            0 => i64::MIN.to_string(),
            1 => i64::MAX.to_string(),
            2 => self.rng.i64(..).to_string(),
            3 => "x".into(),
            4 => ((1i64 << self.rng.u32(1..63)) + self.rng.i64(-1..=1)).to_string(),
            5 => (-(1i64 << self.rng.u32(1..63)) + self.rng.i64(-1..=1)).to_string(),
            _ => self.rng.i32(-300..300).to_string(),
        }
    }

    fn unit(&mut self) -> String {
        self.pick(&["bit", "BIT", "byte", "Byte", "foo", "bit\0x", ""])
            .to_string()
    }

    fn field_type(&mut self) -> String {
        if self.rng.u8(..25) == 0 {
            self.pick(BAD_TYPES).to_string()
        } else {
            self.pick(TYPES).to_string()
        }
    }

    fn bytes(&mut self) -> String {
        let len = self.rng.usize(0..12);
        (0..len).map(|_| self.rng.u8(..) as char).collect()
    }

    fn bitfield(&mut self, read_only: bool) -> Vec<String> {
        let mut args = vec![
            if read_only { "BITFIELD_RO" } else { "BITFIELD" }.to_string(),
            self.bit_key(),
        ];
        for _ in 0..self.rng.usize(0..6) {
            match self.rng.u8(..20) {
                0..=6 => args.extend(["GET".into(), self.field_type(), self.field_offset()]),
                7..=10 if !read_only || self.rng.u8(..4) == 0 => args.extend([
                    "SET".into(),
                    self.field_type(),
                    self.field_offset(),
                    self.value(),
                ]),
                11..=15 if !read_only || self.rng.u8(..4) == 0 => args.extend([
                    "INCRBY".into(),
                    self.field_type(),
                    self.field_offset(),
                    self.value(),
                ]),
                16..=18 => {
                    args.push("OVERFLOW".into());
                    args.push(self.pick(&["WRAP", "sat", "FAIL", "fail", "bad"]).into());
                }
                _ if self.rng.u8(..3) == 0 => args.push(
                    self.pick(&["get", "set", "incrby", "overflow", "nope", "get\0x"])
                        .into(),
                ),
                _ => args.extend(["get\0x".into(), self.field_type(), self.field_offset()]),
            }
        }
        args
    }

    /// One request of the family, or a string write that mixes other values in.
    fn request(&mut self) -> Vec<String> {
        let mut args: Vec<String> = match self.rng.u8(..100) {
            0..=19 => {
                let value = match self.rng.u8(..12) {
                    0 => "2".into(),
                    1 => "-1".into(),
                    2 => "x".into(),
                    n => (n % 2).to_string(),
                };
                vec!["SETBIT".into(), self.bit_key(), self.offset(), value]
            }
            20..=29 => vec!["GETBIT".into(), self.bit_key(), self.offset()],
            30..=39 => {
                let mut args = vec!["BITCOUNT".into(), self.bit_key()];
                let extra = [0, 0, 1, 2, 2, 2, 3, 3, 4][self.rng.usize(..9)];
                for i in 0..extra {
                    args.push(if i == 2 { self.unit() } else { self.index() });
                }
                args
            }
            40..=49 => {
                let bit = match self.rng.u8(..12) {
                    0 => "2".into(),
                    1 => "x".into(),
                    n => (n % 2).to_string(),
                };
                let mut args = vec!["BITPOS".into(), self.bit_key(), bit];
                let extra = [0, 1, 1, 2, 2, 3, 3, 3, 4][self.rng.usize(..9)];
                for i in 0..extra {
                    args.push(if i == 2 { self.unit() } else { self.index() });
                }
                args
            }
            50..=59 => {
                let op = self.pick(&["AND", "or", "XOR", "not", "NOT", "nand", "and\0x"]);
                let mut args = vec!["BITOP".into(), op.into(), self.bit_key()];
                for _ in 0..self.rng.usize(0..4) {
                    args.push(self.bit_key());
                }
                args
            }
            60..=74 => self.bitfield(false),
            75..=79 => self.bitfield(true),
            80..=87 => vec!["GET".into(), self.bit_key()],
            88..=89 => vec!["OBJECT".into(), "ENCODING".into(), self.bit_key()],
            90 => vec!["SET".into(), self.bit_key(), self.bytes()],
            91 => vec![
                "SET".into(),
                self.bit_key(),
                self.rng.i64(-1000..100000).to_string(),
            ],
            92 => vec!["APPEND".into(), self.bit_key(), self.bytes()],
            93 => vec![
                "SETRANGE".into(),
                self.bit_key(),
                self.rng.u8(0..20).to_string(),
                self.bytes(),
            ],
            94 => vec!["DEL".into(), self.bit_key()],
            95 => vec!["STRLEN".into(), self.bit_key()],
            96 => vec!["EXPIRE".into(), self.bit_key(), "1000".into()],
            97 => vec!["TTL".into(), self.bit_key()],
            _ => vec!["TYPE".into(), self.bit_key()],
        };
        // Now and then a request one argument short or long.
        if self.rng.u8(..40) == 0 {
            if self.rng.bool() {
                args.pop();
            } else {
                args.push(self.index());
            }
        }
        args
    }
}

fn check(diff: &mut Differential, args: &[String]) {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    diff.check(&bytes);
}

#[test]
fn differential_against_redis_server() {
    let mut diff = Differential::start();
    diff.check_str(&["FLUSHALL"]);
    diff.check_str(&["SET", "str", "foobar"]);
    diff.check_str(&["SET", "int", "1234"]);
    diff.check_str(&["RPUSH", "list", "a", "b"]);
    let mut gen = Gen {
        rng: fastrand::Rng::with_seed(0x6269_7473),
    };
    for round in 0..8000 {
        // The second half speaks RESP3 (nulls of OVERFLOW FAIL differ).
        if round == 4000 {
            diff.both(&[b"HELLO", b"3"]);
        }
        let args = gen.request();
        check(&mut diff, &args);
    }
    for key in KEYS {
        check(&mut diff, &["GET".into(), key.to_string()]);
    }
    assert!(diff.compared > 8000);
    eprintln!(
        "bitmap differential: {} replies compared, all equal",
        diff.compared
    );
}
