//! The list command family against the real server: reply bytes compared with what Redis 7.0
//! answered to the same requests (the tables were recorded from redis-server 7.0.15), then the
//! encodings, memory accounting and RESP3 replies.

mod common;

use common::{call, RawClient, TestServer};

/// Runs each request on a fresh server's connection and compares the exact reply bytes.
fn check(steps: &[(&[&str], &[u8])]) {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (args, expected) in steps {
        let reply = call(&mut raw, args);
        assert_eq!(
            String::from_utf8_lossy(&reply),
            String::from_utf8_lossy(expected),
            "{args:?}"
        );
    }
}

fn encoding(raw: &mut RawClient, key: &str) -> String {
    let reply = call(raw, &["object", "encoding", key]);
    String::from_utf8_lossy(&reply)
        .trim()
        .trim_start_matches('$')
        .to_string()
}

#[test]
fn missing_keys_and_wrong_type_answer_as_redis() {
    check(&[
        (&["set", "s", "x"][..], &b"+OK\r\n"[..]),
        (&["llen", "nokey"][..], &b":0\r\n"[..]),
        (&["lrange", "nokey", "0", "-1"][..], &b"*0\r\n"[..]),
        (&["lindex", "nokey", "0"][..], &b"$-1\r\n"[..]),
        // The key is looked up before the index is read.
        (&["lindex", "nokey", "x"][..], &b"$-1\r\n"[..]),
        (&["lpop", "nokey"][..], &b"$-1\r\n"[..]),
        (&["lpop", "nokey", "0"][..], &b"*-1\r\n"[..]),
        (&["lpop", "nokey", "3"][..], &b"*-1\r\n"[..]),
        (&["rpop", "nokey"][..], &b"$-1\r\n"[..]),
        (&["lpushx", "nokey", "a"][..], &b":0\r\n"[..]),
        (&["rpushx", "nokey", "a"][..], &b":0\r\n"[..]),
        (&["exists", "nokey"][..], &b":0\r\n"[..]),
        (
            &["lset", "nokey", "0", "x"][..],
            &b"-ERR no such key\r\n"[..],
        ),
        (
            &["lset", "nokey", "notanint", "x"][..],
            &b"-ERR no such key\r\n"[..],
        ),
        (
            &["linsert", "nokey", "before", "a", "b"][..],
            &b":0\r\n"[..],
        ),
        (&["lrem", "nokey", "0", "a"][..], &b":0\r\n"[..]),
        (&["ltrim", "nokey", "0", "1"][..], &b"+OK\r\n"[..]),
        (&["lpos", "nokey", "a"][..], &b"$-1\r\n"[..]),
        (&["lpos", "nokey", "a", "count", "1"][..], &b"*0\r\n"[..]),
        (
            &["lmove", "nokey", "dst", "left", "left"][..],
            &b"$-1\r\n"[..],
        ),
        (&["rpoplpush", "nokey", "dst"][..], &b"$-1\r\n"[..]),
        (
            &["lmpop", "2", "nokey", "nokey2", "left"][..],
            &b"*-1\r\n"[..],
        ),
        (
            &["llen", "s"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["lrange", "s", "0", "-1"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["lindex", "s", "0"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["lindex", "s", "x"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["lpush", "s", "a"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["rpushx", "s", "a"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["lpop", "s"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["lpop", "s", "0"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["lset", "s", "0", "x"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["linsert", "s", "before", "a", "b"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["lrem", "s", "0", "a"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["ltrim", "s", "0", "1"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["lpos", "s", "a"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["lmove", "s", "dst", "left", "left"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (&["rpush", "l", "a"][..], &b":1\r\n"[..]),
        (
            &["lmove", "l", "s", "left", "left"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (&["lrange", "l", "0", "-1"][..], &b"*1\r\n$1\r\na\r\n"[..]),
        (
            &["lmpop", "2", "nokey", "s", "left"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["lmpop", "2", "l", "s", "left"][..],
            &b"*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n"[..],
        ),
    ]);
}

#[test]
fn pushes_and_pops_at_both_ends() {
    check(&[
        (&["rpush", "l", "a", "b", "c"][..], &b":3\r\n"[..]),
        (&["lpush", "l", "z", "y"][..], &b":5\r\n"[..]),
        (&["lpushx", "l", "x"][..], &b":6\r\n"[..]),
        (&["rpushx", "l", "d", "e"][..], &b":8\r\n"[..]),
        (&["lrange", "l", "0", "-1"][..], &b"*8\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..]),
        (&["lpop", "l"][..], &b"$1\r\nx\r\n"[..]),
        (&["rpop", "l"][..], &b"$1\r\ne\r\n"[..]),
        (&["lpop", "l", "2"][..], &b"*2\r\n$1\r\ny\r\n$1\r\nz\r\n"[..]),
        (&["rpop", "l", "2"][..], &b"*2\r\n$1\r\nd\r\n$1\r\nc\r\n"[..]),
        (&["lpop", "l", "0"][..], &b"*0\r\n"[..]),
        (&["lrange", "l", "0", "-1"][..], &b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"[..]),
        (&["lpop", "l", "100"][..], &b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"[..]),
        (&["exists", "l"][..], &b":0\r\n"[..]),
        (&["rpush", "n", "1", "-1", "12345678901234567890", ""][..], &b":4\r\n"[..]),
        (&["lrange", "n", "0", "-1"][..], &b"*4\r\n$1\r\n1\r\n$2\r\n-1\r\n$20\r\n12345678901234567890\r\n$0\r\n\r\n"[..]),
    ]);
}

#[test]
fn pop_count_errors() {
    check(&[
        (&["rpush", "l", "a", "b"][..], &b":2\r\n"[..]),
        (
            &["lpop", "l", "-1"][..],
            &b"-ERR value is out of range, must be positive\r\n"[..],
        ),
        (
            &["lpop", "l", "x"][..],
            &b"-ERR value is out of range, must be positive\r\n"[..],
        ),
        (
            &["rpop", "l", "-1"][..],
            &b"-ERR value is out of range, must be positive\r\n"[..],
        ),
        (
            &["lpop", "l", "1", "2"][..],
            &b"-ERR wrong number of arguments for 'lpop' command\r\n"[..],
        ),
        (
            &["lpop", "l", "9223372036854775807"][..],
            &b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"[..],
        ),
    ]);
}

#[test]
fn ranges_and_indexes_clamp_like_redis() {
    check(&[
        (&["rpush", "l", "a", "b", "c", "d", "e"][..], &b":5\r\n"[..]),
        (
            &["lrange", "l", "0", "-1"][..],
            &b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..],
        ),
        (
            &["lrange", "l", "-3", "-1"][..],
            &b"*3\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..],
        ),
        (&["lrange", "l", "3", "1"][..], &b"*0\r\n"[..]),
        (
            &["lrange", "l", "-100", "100"][..],
            &b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..],
        ),
        (&["lrange", "l", "5", "10"][..], &b"*0\r\n"[..]),
        (&["lrange", "l", "-1", "-2"][..], &b"*0\r\n"[..]),
        (
            &["lrange", "l", "0", "-9223372036854775808"][..],
            &b"*0\r\n"[..],
        ),
        (
            &["lrange", "l", "-9223372036854775808", "9223372036854775807"][..],
            &b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..],
        ),
        (
            &["lrange", "l", "x", "1"][..],
            &b"-ERR value is not an integer or out of range\r\n"[..],
        ),
        (
            &["lrange", "l", "0", "y"][..],
            &b"-ERR value is not an integer or out of range\r\n"[..],
        ),
        (&["lindex", "l", "0"][..], &b"$1\r\na\r\n"[..]),
        (&["lindex", "l", "-1"][..], &b"$1\r\ne\r\n"[..]),
        (&["lindex", "l", "5"][..], &b"$-1\r\n"[..]),
        (&["lindex", "l", "-6"][..], &b"$-1\r\n"[..]),
        (
            &["lindex", "l", "x"][..],
            &b"-ERR value is not an integer or out of range\r\n"[..],
        ),
        (&["lindex", "l", "9223372036854775807"][..], &b"$-1\r\n"[..]),
        (
            &["lindex", "l", "-9223372036854775808"][..],
            &b"$-1\r\n"[..],
        ),
    ]);
}

#[test]
fn lset_linsert_lrem_ltrim() {
    check(&[
        (&["rpush", "l", "a", "b", "c", "a", "b", "c", "a"][..], &b":7\r\n"[..]),
        (&["lset", "l", "0", "A"][..], &b"+OK\r\n"[..]),
        (&["lset", "l", "-1", "Z"][..], &b"+OK\r\n"[..]),
        (&["lset", "l", "7", "x"][..], &b"-ERR index out of range\r\n"[..]),
        (&["lset", "l", "-8", "x"][..], &b"-ERR index out of range\r\n"[..]),
        (&["lset", "l", "x", "x"][..], &b"-ERR value is not an integer or out of range\r\n"[..]),
        (&["lrange", "l", "0", "-1"][..], &b"*7\r\n$1\r\nA\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nZ\r\n"[..]),
        (&["linsert", "l", "before", "b", "B"][..], &b":8\r\n"[..]),
        (&["linsert", "l", "AFTER", "c", "C"][..], &b":9\r\n"[..]),
        (&["linsert", "l", "after", "nope", "x"][..], &b":-1\r\n"[..]),
        (&["linsert", "l", "middle", "b", "x"][..], &b"-ERR syntax error\r\n"[..]),
        (&["lrange", "l", "0", "-1"][..], &b"*9\r\n$1\r\nA\r\n$1\r\nB\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nC\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nZ\r\n"[..]),
        (&["lrem", "l", "1", "b"][..], &b":1\r\n"[..]),
        (&["lrem", "l", "-1", "c"][..], &b":1\r\n"[..]),
        (&["lrem", "l", "0", "a"][..], &b":1\r\n"[..]),
        (&["lrem", "l", "x", "a"][..], &b"-ERR value is not an integer or out of range\r\n"[..]),
        (&["lrem", "l", "0", "nope"][..], &b":0\r\n"[..]),
        (&["lrange", "l", "0", "-1"][..], &b"*6\r\n$1\r\nA\r\n$1\r\nB\r\n$1\r\nc\r\n$1\r\nC\r\n$1\r\nb\r\n$1\r\nZ\r\n"[..]),
        (&["lrem", "l", "-9223372036854775808", "Z"][..], &b":1\r\n"[..]),
        (&["lrange", "l", "0", "-1"][..], &b"*5\r\n$1\r\nA\r\n$1\r\nB\r\n$1\r\nc\r\n$1\r\nC\r\n$1\r\nb\r\n"[..]),
        (&["rpush", "m", "1", "2", "3", "4", "5", "6", "7", "8", "9"][..], &b":9\r\n"[..]),
        (&["ltrim", "m", "2", "-3"][..], &b"+OK\r\n"[..]),
        (&["lrange", "m", "0", "-1"][..], &b"*5\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n$1\r\n7\r\n"[..]),
        (&["ltrim", "m", "-2", "100"][..], &b"+OK\r\n"[..]),
        (&["lrange", "m", "0", "-1"][..], &b"*2\r\n$1\r\n6\r\n$1\r\n7\r\n"[..]),
        (&["ltrim", "m", "x", "1"][..], &b"-ERR value is not an integer or out of range\r\n"[..]),
        (&["ltrim", "m", "5", "2"][..], &b"+OK\r\n"[..]),
        (&["exists", "m"][..], &b":0\r\n"[..]),
        (&["rpush", "r", "a", "a", "a"][..], &b":3\r\n"[..]),
        (&["lrem", "r", "0", "a"][..], &b":3\r\n"[..]),
        (&["exists", "r"][..], &b":0\r\n"[..]),
    ]);
}

#[test]
fn lpos_options() {
    check(&[
        (&["rpush", "p", "a", "b", "c", "a", "b", "c", "a"][..], &b":7\r\n"[..]),
        (&["lpos", "p", "a"][..], &b":0\r\n"[..]),
        (&["lpos", "p", "c"][..], &b":2\r\n"[..]),
        (&["lpos", "p", "z"][..], &b"$-1\r\n"[..]),
        (&["lpos", "p", "a", "rank", "2"][..], &b":3\r\n"[..]),
        (&["lpos", "p", "a", "rank", "-1"][..], &b":6\r\n"[..]),
        (&["lpos", "p", "a", "rank", "-2"][..], &b":3\r\n"[..]),
        (&["lpos", "p", "a", "rank", "4"][..], &b"$-1\r\n"[..]),
        (&["lpos", "p", "a", "count", "0"][..], &b"*3\r\n:0\r\n:3\r\n:6\r\n"[..]),
        (&["lpos", "p", "a", "count", "2"][..], &b"*2\r\n:0\r\n:3\r\n"[..]),
        (&["lpos", "p", "a", "rank", "2", "count", "0"][..], &b"*2\r\n:3\r\n:6\r\n"[..]),
        (&["lpos", "p", "a", "rank", "-1", "count", "2"][..], &b"*2\r\n:6\r\n:3\r\n"[..]),
        (&["lpos", "p", "a", "maxlen", "2", "count", "0"][..], &b"*1\r\n:0\r\n"[..]),
        (&["lpos", "p", "a", "rank", "-1", "maxlen", "2", "count", "0"][..], &b"*1\r\n:6\r\n"[..]),
        (&["lpos", "p", "z", "count", "1"][..], &b"*0\r\n"[..]),
        (&["lpos", "p", "a", "RANK", "1", "COUNT", "1", "MAXLEN", "1"][..], &b"*1\r\n:0\r\n"[..]),
        (&["lpos", "p", "a", "rank", "0"][..], &b"-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"[..]),
        (&["lpos", "p", "a", "rank", "x"][..], &b"-ERR value is not an integer or out of range\r\n"[..]),
        (&["lpos", "p", "a", "count", "-1"][..], &b"-ERR COUNT can't be negative\r\n"[..]),
        (&["lpos", "p", "a", "count", "x"][..], &b"-ERR COUNT can't be negative\r\n"[..]),
        (&["lpos", "p", "a", "maxlen", "-1"][..], &b"-ERR MAXLEN can't be negative\r\n"[..]),
        (&["lpos", "p", "a", "count"][..], &b"-ERR syntax error\r\n"[..]),
        (&["lpos", "p", "a", "bogus", "1"][..], &b"-ERR syntax error\r\n"[..]),
        (&["lpos", "p", "a", "rank", "-9223372036854775808"][..], &b":6\r\n"[..]),
        (&["lpos", "p", "a", "rank", "-9223372036854775808", "count", "2"][..], &b"*3\r\n:6\r\n:3\r\n:0\r\n"[..]),
        (&["lpos", "p", "c", "rank", "9223372036854775807"][..], &b"$-1\r\n"[..]),
    ]);
}

#[test]
fn lmove_and_rpoplpush() {
    check(&[
        (&["rpush", "src", "a", "b", "c"][..], &b":3\r\n"[..]),
        (
            &["lmove", "src", "dst", "left", "right"][..],
            &b"$1\r\na\r\n"[..],
        ),
        (
            &["lmove", "src", "dst", "right", "left"][..],
            &b"$1\r\nc\r\n"[..],
        ),
        (
            &["lrange", "dst", "0", "-1"][..],
            &b"*2\r\n$1\r\nc\r\n$1\r\na\r\n"[..],
        ),
        (
            &["lmove", "src", "src", "left", "right"][..],
            &b"$1\r\nb\r\n"[..],
        ),
        (&["lrange", "src", "0", "-1"][..], &b"*1\r\n$1\r\nb\r\n"[..]),
        (
            &["lmove", "src", "dst", "left", "middle"][..],
            &b"-ERR syntax error\r\n"[..],
        ),
        (
            &["lmove", "src", "dst", "up", "left"][..],
            &b"-ERR syntax error\r\n"[..],
        ),
        (&["rpoplpush", "src", "dst"][..], &b"$1\r\nb\r\n"[..]),
        (&["rpoplpush", "src", "dst"][..], &b"$-1\r\n"[..]),
        (&["exists", "src"][..], &b":0\r\n"[..]),
        (
            &["lrange", "dst", "0", "-1"][..],
            &b"*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n"[..],
        ),
        (&["rpush", "one", "x"][..], &b":1\r\n"[..]),
        (
            &["lmove", "one", "one", "left", "left"][..],
            &b"$1\r\nx\r\n"[..],
        ),
        (&["lrange", "one", "0", "-1"][..], &b"*1\r\n$1\r\nx\r\n"[..]),
    ]);
}

#[test]
fn lmpop_parsing_and_replies() {
    check(&[
        (&["rpush", "q1", "a", "b", "c"][..], &b":3\r\n"[..]),
        (&["rpush", "q2", "d", "e"][..], &b":2\r\n"[..]),
        (
            &["lmpop", "2", "nokey", "q1", "left"][..],
            &b"*2\r\n$2\r\nq1\r\n*1\r\n$1\r\na\r\n"[..],
        ),
        (
            &["lmpop", "2", "nokey", "q1", "right", "count", "5"][..],
            &b"*2\r\n$2\r\nq1\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n"[..],
        ),
        (&["exists", "q1"][..], &b":0\r\n"[..]),
        (
            &["lmpop", "2", "nokey", "q1", "right", "count", "5"][..],
            &b"*-1\r\n"[..],
        ),
        (
            &["lmpop", "0", "q2", "left"][..],
            &b"-ERR numkeys should be greater than 0\r\n"[..],
        ),
        (
            &["lmpop", "-1", "q2", "left"][..],
            &b"-ERR numkeys should be greater than 0\r\n"[..],
        ),
        (
            &["lmpop", "x", "q2", "left"][..],
            &b"-ERR numkeys should be greater than 0\r\n"[..],
        ),
        (
            &["lmpop", "3", "q2", "left"][..],
            &b"-ERR syntax error\r\n"[..],
        ),
        (
            &["lmpop", "1", "q2", "middle"][..],
            &b"-ERR syntax error\r\n"[..],
        ),
        (
            &["lmpop", "1", "q2", "left", "count", "0"][..],
            &b"-ERR count should be greater than 0\r\n"[..],
        ),
        (
            &["lmpop", "1", "q2", "left", "count", "-2"][..],
            &b"-ERR count should be greater than 0\r\n"[..],
        ),
        (
            &["lmpop", "1", "q2", "left", "count", "x"][..],
            &b"-ERR count should be greater than 0\r\n"[..],
        ),
        (
            &["lmpop", "1", "q2", "left", "count", "1", "count", "1"][..],
            &b"-ERR syntax error\r\n"[..],
        ),
        (
            &["lmpop", "1", "q2", "left", "foo"][..],
            &b"-ERR syntax error\r\n"[..],
        ),
        (
            &["lmpop", "1", "q2", "left", "count"][..],
            &b"-ERR syntax error\r\n"[..],
        ),
        (
            &["lmpop", "1", "q2", "LEFT", "COUNT", "1"][..],
            &b"*2\r\n$2\r\nq2\r\n*1\r\n$1\r\nd\r\n"[..],
        ),
    ]);
}

#[test]
fn blocking_argument_errors() {
    check(&[
        (&["set", "s", "x"][..], &b"+OK\r\n"[..]),
        (&["rpush", "q", "a", "b", "c"][..], &b":3\r\n"[..]),
        (
            &["blpop", "q", "x"][..],
            &b"-ERR timeout is not a float or out of range\r\n"[..],
        ),
        (
            &["blpop", "q", "-1"][..],
            &b"-ERR timeout is negative\r\n"[..],
        ),
        (
            &["blpop", "q", "inf"][..],
            &b"-ERR timeout is negative\r\n"[..],
        ),
        (
            &["blpop", "q", "1e100"][..],
            &b"-ERR timeout is negative\r\n"[..],
        ),
        (
            &["blpop", "q", "-0.0001x"][..],
            &b"-ERR timeout is not a float or out of range\r\n"[..],
        ),
        (
            &["blpop", "s", "1"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["blpop", "nokey", "s", "1"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["blpop", "q", "1"][..],
            &b"*2\r\n$1\r\nq\r\n$1\r\na\r\n"[..],
        ),
        (
            &["brpop", "q", "1"][..],
            &b"*2\r\n$1\r\nq\r\n$1\r\nc\r\n"[..],
        ),
        (
            &["blmove", "q", "dst", "left", "left", "x"][..],
            &b"-ERR timeout is not a float or out of range\r\n"[..],
        ),
        (
            &["blmove", "q", "dst", "middle", "left", "1"][..],
            &b"-ERR syntax error\r\n"[..],
        ),
        (
            &["blmove", "s", "dst", "left", "left", "1"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["blmove", "q", "s", "left", "left", "1"][..],
            &b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..],
        ),
        (
            &["brpoplpush", "q", "dst", "x"][..],
            &b"-ERR timeout is not a float or out of range\r\n"[..],
        ),
        (
            &["blmpop", "x", "1", "q", "left"][..],
            &b"-ERR timeout is not a float or out of range\r\n"[..],
        ),
        (
            &["blmpop", "0", "0", "q", "left"][..],
            &b"-ERR numkeys should be greater than 0\r\n"[..],
        ),
        (
            &["blmpop", "-1", "1", "q", "left"][..],
            &b"-ERR timeout is negative\r\n"[..],
        ),
        (
            &["blmpop", "0", "1", "q"][..],
            &b"-ERR wrong number of arguments for 'blmpop' command\r\n"[..],
        ),
        (
            &["blmpop", "0", "1", "q", "left", "count", "0"][..],
            &b"-ERR count should be greater than 0\r\n"[..],
        ),
        (
            &["blmpop", "0", "2", "nokey", "q", "right", "count", "5"][..],
            &b"*2\r\n$1\r\nq\r\n*1\r\n$1\r\nb\r\n"[..],
        ),
        (&["exists", "q"][..], &b":0\r\n"[..]),
    ]);
}

#[test]
fn wrong_arity() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (args, name) in [
        (&["lpush", "k"][..], "lpush"),
        (&["rpushx", "k"], "rpushx"),
        (&["lpop"], "lpop"),
        (&["rpop", "k", "1", "2"], "rpop"),
        (&["llen"], "llen"),
        (&["lrange", "k", "0"], "lrange"),
        (&["lindex", "k"], "lindex"),
        (&["lset", "k", "0"], "lset"),
        (&["linsert", "k", "before", "a"], "linsert"),
        (&["lrem", "k", "0"], "lrem"),
        (&["ltrim", "k", "0"], "ltrim"),
        (&["lpos", "k"], "lpos"),
        (&["lmove", "a", "b", "left"], "lmove"),
        (&["rpoplpush", "a"], "rpoplpush"),
        (&["lmpop", "1", "k"], "lmpop"),
        (&["blpop", "k"], "blpop"),
        (&["brpop", "k"], "brpop"),
        (&["blmove", "a", "b", "left", "left"], "blmove"),
        (&["brpoplpush", "a", "b"], "brpoplpush"),
        (&["blmpop", "0", "1", "k"], "blmpop"),
    ] {
        let expected = format!("-ERR wrong number of arguments for '{name}' command\r\n");
        assert_eq!(
            String::from_utf8_lossy(&call(&mut raw, args)),
            expected,
            "{args:?}"
        );
    }
}

#[test]
fn resp3_nulls() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, &["hello", "3"]);
    for args in [
        &["lpop", "nokey"][..],
        &["lpop", "nokey", "2"],
        &["lindex", "nokey", "0"],
        &["lpos", "nokey", "a"],
        &["lmpop", "1", "nokey", "left"],
        &["lmove", "nokey", "d", "left", "left"],
        &["blpop", "nokey", "0.01"],
        &["blmove", "nokey", "d", "left", "left", "0.01"],
        &["blmpop", "0.01", "1", "nokey", "left"],
    ] {
        assert_eq!(call(&mut raw, args), b"_\r\n", "{args:?}");
    }
}

/// Redis 7.0 reports `quicklist` for every list whatever its size and `list-max-listpack-size`
/// (Redis's own `unit/type/list.tcl` asserts it); 7.2's small `listpack` form is not 7.0's.
#[test]
fn every_list_is_a_quicklist_as_in_redis_7_0() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        call(&mut raw, &["config", "get", "list-max-listpack-size"]),
        b"*2\r\n$22\r\nlist-max-listpack-size\r\n$2\r\n-2\r\n"
    );
    call(&mut raw, &["rpush", "small", "a"]);
    assert_eq!(encoding(&mut raw, "small"), "9\r\nquicklist");
    let big = "x".repeat(9000);
    call(&mut raw, &["rpush", "big", "a", &big]);
    assert_eq!(encoding(&mut raw, "big"), "9\r\nquicklist");
    call(&mut raw, &["rpop", "big"]);
    assert_eq!(encoding(&mut raw, "big"), "9\r\nquicklist");
    assert_eq!(
        call(&mut raw, &["config", "set", "list-max-listpack-size", "4"]),
        b"+OK\r\n"
    );
    call(&mut raw, &["lpush", "counted", "1", "2", "3", "4", "5"]);
    assert_eq!(encoding(&mut raw, "counted"), "9\r\nquicklist");
    call(&mut raw, &["ltrim", "counted", "0", "0"]);
    assert_eq!(encoding(&mut raw, "counted"), "9\r\nquicklist");
}

#[test]
fn memory_usage_grows_with_elements_and_returns_when_popped() {
    let server = TestServer::start();
    let mut client = server.client();
    let usage = |client: &mut redis::Connection| -> i64 {
        redis::cmd("memory")
            .arg("usage")
            .arg("l")
            .query(client)
            .unwrap_or(0)
    };
    let _: i64 = redis::cmd("rpush")
        .arg("l")
        .arg("seed")
        .query(&mut client)
        .unwrap();
    let small = usage(&mut client);
    let items: Vec<String> = (0..1000).map(|i| format!("element-{i}")).collect();
    let _: i64 = redis::cmd("rpush")
        .arg("l")
        .arg(&items)
        .query(&mut client)
        .unwrap();
    let large = usage(&mut client);
    // About the payload (10-12 bytes an element) plus two length bytes, as a listpack.
    assert!(
        large > small + 1000 * 10 && large < small + 1000 * 20,
        "{small} -> {large}"
    );
    let _: Vec<String> = redis::cmd("lpop")
        .arg("l")
        .arg(1000)
        .query(&mut client)
        .unwrap();
    assert!(usage(&mut client) < large / 4);
}

#[test]
fn binary_safe_elements() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let value: &[u8] = b"a\x00b\r\n\xff";
    assert_eq!(raw.call(&[b"rpush", b"k\x00", value]), b":1\r\n");
    assert_eq!(raw.call(&[b"lpos", b"k\x00", value]), b":0\r\n");
    let mut expected = b"*1\r\n$6\r\n".to_vec();
    expected.extend_from_slice(value);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(raw.call(&[b"lrange", b"k\x00", b"0", b"-1"]), expected);
}
