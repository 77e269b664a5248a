//! Generic key commands against a real server. Expected replies are those of redis-server 7.0
//! for the same requests; raw bytes are compared wherever the reply type matters.

mod common;

use std::collections::BTreeSet;

use common::{RawClient, TestServer};

fn int(reply: &[u8]) -> i64 {
    let text = std::str::from_utf8(reply).expect("utf8 reply");
    assert!(
        text.starts_with(':') && text.ends_with("\r\n"),
        "not an integer reply: {text:?}"
    );
    text[1..text.len() - 2].parse().expect("integer")
}

fn set(raw: &mut RawClient, key: &str, value: &str) {
    assert_eq!(
        raw.call(&[b"SET", key.as_bytes(), value.as_bytes()]),
        b"+OK\r\n"
    );
}

/// Runs a whole SCAN iteration with `options` and returns every key returned, with repetitions.
fn scan_all(con: &mut redis::Connection, options: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    for _ in 0..100_000 {
        let (next, batch): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg(options)
            .query(con)
            .expect("scan");
        keys.extend(batch);
        if next == "0" {
            return keys;
        }
        cursor = next;
    }
    panic!("SCAN never returned cursor 0");
}

#[test]
fn missing_keys() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(raw.call(&[b"DEL", b"nokey"]), b":0\r\n");
    assert_eq!(raw.call(&[b"UNLINK", b"nokey", b"other"]), b":0\r\n");
    assert_eq!(raw.call(&[b"EXISTS", b"nokey"]), b":0\r\n");
    assert_eq!(raw.call(&[b"TYPE", b"nokey"]), b"+none\r\n");
    assert_eq!(raw.call(&[b"TTL", b"nokey"]), b":-2\r\n");
    assert_eq!(raw.call(&[b"PTTL", b"nokey"]), b":-2\r\n");
    assert_eq!(raw.call(&[b"EXPIRETIME", b"nokey"]), b":-2\r\n");
    assert_eq!(raw.call(&[b"PEXPIRETIME", b"nokey"]), b":-2\r\n");
    assert_eq!(raw.call(&[b"PERSIST", b"nokey"]), b":0\r\n");
    assert_eq!(raw.call(&[b"EXPIRE", b"nokey", b"100"]), b":0\r\n");
    assert_eq!(raw.call(&[b"PEXPIREAT", b"nokey", b"0"]), b":0\r\n");
    assert_eq!(raw.call(&[b"TOUCH", b"nokey"]), b":0\r\n");
    assert_eq!(
        raw.call(&[b"RENAME", b"nokey", b"x"]),
        b"-ERR no such key\r\n"
    );
    assert_eq!(
        raw.call(&[b"RENAMENX", b"nokey", b"x"]),
        b"-ERR no such key\r\n"
    );
    assert_eq!(
        raw.call(&[b"RENAME", b"nokey", b"nokey"]),
        b"-ERR no such key\r\n"
    );
    assert_eq!(
        raw.call(&[b"RENAMENX", b"nokey", b"nokey"]),
        b"-ERR no such key\r\n"
    );
    assert_eq!(raw.call(&[b"COPY", b"nokey", b"x"]), b":0\r\n");
    assert_eq!(raw.call(&[b"MOVE", b"nokey", b"1"]), b":0\r\n");
    assert_eq!(raw.call(&[b"OBJECT", b"ENCODING", b"nokey"]), b"$-1\r\n");
    assert_eq!(raw.call(&[b"OBJECT", b"FREQ", b"nokey"]), b"$-1\r\n");
    assert_eq!(raw.call(&[b"OBJECT", b"IDLETIME", b"nokey"]), b"$-1\r\n");
    assert_eq!(raw.call(&[b"OBJECT", b"REFCOUNT", b"nokey"]), b"$-1\r\n");
    assert_eq!(raw.call(&[b"MEMORY", b"USAGE", b"nokey"]), b"$-1\r\n");
    assert_eq!(raw.call(&[b"RANDOMKEY"]), b"$-1\r\n");
    assert_eq!(raw.call(&[b"KEYS", b"*"]), b"*0\r\n");
    assert_eq!(raw.call(&[b"SCAN", b"0"]), b"*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(raw.call(&[b"DBSIZE"]), b":0\r\n");
}

#[test]
fn del_exists_touch_count_per_argument() {
    let server = TestServer::start();
    let mut raw = server.raw();
    set(&mut raw, "a", "1");
    set(&mut raw, "b", "2");
    assert_eq!(
        raw.call(&[b"EXISTS", b"a", b"a", b"nokey", b"b"]),
        b":3\r\n"
    );
    assert_eq!(raw.call(&[b"TOUCH", b"a", b"a", b"nokey"]), b":2\r\n");
    assert_eq!(raw.call(&[b"TYPE", b"a"]), b"+string\r\n");
    assert_eq!(raw.call(&[b"DBSIZE"]), b":2\r\n");
    // A key named twice is deleted once.
    assert_eq!(raw.call(&[b"DEL", b"a", b"a", b"nokey"]), b":1\r\n");
    assert_eq!(raw.call(&[b"UNLINK", b"b", b"a"]), b":1\r\n");
    assert_eq!(raw.call(&[b"EXISTS", b"a", b"b"]), b":0\r\n");
    assert_eq!(
        raw.call(&[b"DEL"]),
        b"-ERR wrong number of arguments for 'del' command\r\n"
    );
    assert_eq!(
        raw.call(&[b"EXISTS"]),
        b"-ERR wrong number of arguments for 'exists' command\r\n"
    );
    assert_eq!(raw.call(&[b"DBSIZE"]), b":0\r\n");
}

#[test]
fn binary_keys() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let key: &[u8] = b"bin\x00\xff\r\nkey";
    assert_eq!(raw.call(&[b"SET", key, b"v"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"EXISTS", key]), b":1\r\n");
    assert_eq!(
        raw.call(&[b"KEYS", b"bin*"]),
        [&b"*1\r\n$10\r\n"[..], key, b"\r\n"].concat()
    );
    assert_eq!(
        raw.call(&[b"RANDOMKEY"]),
        [&b"$10\r\n"[..], key, b"\r\n"].concat()
    );
    assert_eq!(raw.call(&[b"RENAME", key, b"k\x002"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"GET", b"k\x002"]), b"$1\r\nv\r\n");
}

#[test]
fn ttl_replies() {
    let server = TestServer::start();
    let mut raw = server.raw();
    set(&mut raw, "k", "v");
    assert_eq!(raw.call(&[b"TTL", b"k"]), b":-1\r\n");
    assert_eq!(raw.call(&[b"PTTL", b"k"]), b":-1\r\n");
    assert_eq!(raw.call(&[b"EXPIRETIME", b"k"]), b":-1\r\n");
    assert_eq!(raw.call(&[b"PEXPIRETIME", b"k"]), b":-1\r\n");
    assert_eq!(raw.call(&[b"EXPIRE", b"k", b"100"]), b":1\r\n");
    assert_eq!(raw.call(&[b"TTL", b"k"]), b":100\r\n");
    let pttl = int(&raw.call(&[b"PTTL", b"k"]));
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    assert_eq!(raw.call(&[b"EXPIREAT", b"k", b"99999999999"]), b":1\r\n");
    assert_eq!(raw.call(&[b"EXPIRETIME", b"k"]), b":99999999999\r\n");
    assert_eq!(raw.call(&[b"PEXPIRETIME", b"k"]), b":99999999999000\r\n");
    assert_eq!(
        raw.call(&[b"PEXPIREAT", b"k", b"99999999999123"]),
        b":1\r\n"
    );
    assert_eq!(raw.call(&[b"PEXPIRETIME", b"k"]), b":99999999999123\r\n");
    // EXPIRETIME rounds to the nearest second.
    assert_eq!(raw.call(&[b"EXPIRETIME", b"k"]), b":99999999999\r\n");
    assert_eq!(
        raw.call(&[b"PEXPIREAT", b"k", b"99999999999500"]),
        b":1\r\n"
    );
    assert_eq!(raw.call(&[b"EXPIRETIME", b"k"]), b":100000000000\r\n");
    assert_eq!(raw.call(&[b"PERSIST", b"k"]), b":1\r\n");
    assert_eq!(raw.call(&[b"PERSIST", b"k"]), b":0\r\n");
    assert_eq!(raw.call(&[b"TTL", b"k"]), b":-1\r\n");
    // The largest millisecond time is valid for PEXPIREAT.
    assert_eq!(
        raw.call(&[b"PEXPIREAT", b"k", b"9223372036854775807"]),
        b":1\r\n"
    );
    assert_eq!(
        raw.call(&[b"PEXPIRETIME", b"k"]),
        b":9223372036854775807\r\n"
    );
    assert_eq!(raw.call(&[b"TTL", b"k"]).first(), Some(&b':'));
}

#[test]
fn expiry_is_observed() {
    let server = TestServer::start();
    let mut raw = server.raw();
    set(&mut raw, "short", "v");
    set(&mut raw, "long", "v");
    assert_eq!(raw.call(&[b"PEXPIRE", b"short", b"50"]), b":1\r\n");
    assert_eq!(raw.call(&[b"EXPIRE", b"long", b"100"]), b":1\r\n");
    std::thread::sleep(std::time::Duration::from_millis(80));
    assert_eq!(raw.call(&[b"EXISTS", b"short"]), b":0\r\n");
    assert_eq!(raw.call(&[b"TTL", b"short"]), b":-2\r\n");
    assert_eq!(raw.call(&[b"GET", b"short"]), b"$-1\r\n");
    assert_eq!(raw.call(&[b"KEYS", b"*"]), b"*1\r\n$4\r\nlong\r\n");
    assert_eq!(
        raw.call(&[b"SCAN", b"0", b"COUNT", b"100"]),
        b"*2\r\n$1\r\n0\r\n*1\r\n$4\r\nlong\r\n"
    );
    assert_eq!(raw.call(&[b"TYPE", b"short"]), b"+none\r\n");
    assert_eq!(raw.call(&[b"PERSIST", b"short"]), b":0\r\n");
    assert_eq!(raw.call(&[b"EXISTS", b"long"]), b":1\r\n");
    assert_eq!(raw.call(&[b"DBSIZE"]), b":1\r\n");
}

#[test]
fn past_times_delete() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (cmd, time) in [
        ("EXPIRE", "0"),
        ("EXPIRE", "-1"),
        ("PEXPIRE", "-100"),
        ("EXPIREAT", "1"),
        ("PEXPIREAT", "0"),
        ("PEXPIRE", "-9223372036854775808"),
    ] {
        set(&mut raw, "k", "v");
        assert_eq!(
            raw.call(&[cmd.as_bytes(), b"k", time.as_bytes()]),
            b":1\r\n",
            "{cmd} {time}"
        );
        assert_eq!(raw.call(&[b"EXISTS", b"k"]), b":0\r\n", "{cmd} {time}");
    }
}

#[test]
fn expire_options_and_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    set(&mut raw, "k", "v");
    let nx_err: &[u8] = b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
    let gtlt_err: &[u8] = b"-ERR GT and LT options at the same time are not compatible\r\n";
    assert_eq!(raw.call(&[b"EXPIRE", b"k", b"100", b"NX", b"XX"]), nx_err);
    assert_eq!(raw.call(&[b"EXPIRE", b"k", b"100", b"nx", b"gt"]), nx_err);
    assert_eq!(raw.call(&[b"EXPIRE", b"k", b"100", b"NX", b"LT"]), nx_err);
    assert_eq!(
        raw.call(&[b"EXPIRE", b"nokey", b"100", b"NX", b"XX"]),
        nx_err
    );
    assert_eq!(
        raw.call(&[b"PEXPIRE", b"k", b"100", b"GT", b"LT"]),
        gtlt_err
    );
    assert_eq!(
        raw.call(&[b"EXPIRE", b"k", b"100", b"foo"]),
        b"-ERR Unsupported option foo\r\n"
    );
    // Options are read before the time.
    assert_eq!(
        raw.call(&[b"EXPIRE", b"k", b"abc", b"foo"]),
        b"-ERR Unsupported option foo\r\n"
    );
    assert_eq!(
        raw.call(&[b"EXPIRE", b"k", b"abc"]),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"EXPIRE", b"k", b"1.5"]),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"EXPIRE", b"k", b"9223372036854775807"]),
        b"-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(
        raw.call(&[b"EXPIRE", b"k", b"9223372036854775"]),
        b"-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(
        raw.call(&[b"EXPIRE", b"k", b"-9223372036854775808"]),
        b"-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(
        raw.call(&[b"PEXPIRE", b"k", b"9223372036854775807"]),
        b"-ERR invalid expire time in 'pexpire' command\r\n"
    );
    assert_eq!(
        raw.call(&[b"EXPIREAT", b"k", b"9223372036854775807"]),
        b"-ERR invalid expire time in 'expireat' command\r\n"
    );
    // Overflow is reported even for a missing key.
    assert_eq!(
        raw.call(&[b"EXPIRE", b"nokey", b"9223372036854775807"]),
        b"-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(
        raw.call(&[b"EXPIRE", b"k"]),
        b"-ERR wrong number of arguments for 'expire' command\r\n"
    );
    // Repeating an option is fine.
    assert_eq!(
        raw.call(&[b"EXPIRE", b"k", b"100", b"nx", b"NX"]),
        b":1\r\n"
    );
    assert_eq!(raw.call(&[b"TTL", b"k"]), b":100\r\n");
}

#[test]
fn nx_xx_gt_lt_matrix() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // Absolute times, so that the milliseconds between requests cannot tip a comparison:
    // (current expiry or None, options, new expiry, expected reply, expiry afterwards or -1),
    // all in seconds after BASE.
    const BASE: i64 = 99_999_999_000;
    type Case = (Option<i64>, &'static [&'static str], i64, i64, i64);
    let cases: &[Case] = &[
        (None, &["NX"], 100, 1, 100),
        (Some(50), &["NX"], 100, 0, 50),
        (None, &["XX"], 100, 0, -1),
        (Some(50), &["XX"], 100, 1, 100),
        (None, &["GT"], 100, 0, -1),
        (Some(50), &["GT"], 100, 1, 100),
        (Some(50), &["GT"], 50, 0, 50),
        (Some(50), &["GT"], 10, 0, 50),
        (None, &["LT"], 100, 1, 100),
        (Some(50), &["LT"], 10, 1, 10),
        (Some(50), &["LT"], 50, 0, 50),
        (Some(50), &["LT"], 100, 0, 50),
        (None, &["XX", "GT"], 100, 0, -1),
        (Some(50), &["XX", "GT"], 100, 1, 100),
        (Some(50), &["XX", "LT"], 100, 0, 50),
        (None, &["XX", "LT"], 10, 0, -1),
        (Some(50), &["xx", "lt"], 10, 1, 10),
    ];
    for (current, options, new, expected, after) in cases {
        set(&mut raw, "k", "v");
        if let Some(current) = current {
            assert_eq!(
                raw.call(&[b"EXPIREAT", b"k", (BASE + current).to_string().as_bytes()]),
                b":1\r\n"
            );
        }
        let new_text = (BASE + new).to_string();
        let mut request: Vec<&[u8]> = vec![b"EXPIREAT", b"k", new_text.as_bytes()];
        request.extend(options.iter().map(|o| o.as_bytes()));
        assert_eq!(
            int(&raw.call(&request)),
            *expected,
            "{current:?} {options:?} {new}"
        );
        let expected_time = if *after == -1 { -1 } else { BASE + after };
        assert_eq!(
            int(&raw.call(&[b"EXPIRETIME", b"k"])),
            expected_time,
            "{current:?} {options:?} {new}"
        );
    }
    // LT on a persistent key with a time in the past deletes it; GT on it does nothing.
    set(&mut raw, "k", "v");
    assert_eq!(raw.call(&[b"EXPIRE", b"k", b"-1", b"GT"]), b":0\r\n");
    assert_eq!(raw.call(&[b"EXISTS", b"k"]), b":1\r\n");
    assert_eq!(raw.call(&[b"EXPIRE", b"k", b"-1", b"LT"]), b":1\r\n");
    assert_eq!(raw.call(&[b"EXISTS", b"k"]), b":0\r\n");
    // PEXPIRE conditions compare in milliseconds.
    set(&mut raw, "k", "v");
    assert_eq!(raw.call(&[b"PEXPIRE", b"k", b"1000", b"LT"]), b":1\r\n");
    assert_eq!(raw.call(&[b"PEXPIRE", b"k", b"2000", b"LT"]), b":0\r\n");
    assert_eq!(raw.call(&[b"PEXPIRE", b"k", b"2000", b"GT"]), b":1\r\n");
    assert_eq!(
        raw.call(&[b"PEXPIREAT", b"k", b"99999999999000", b"XX", b"GT"]),
        b":1\r\n"
    );
    assert_eq!(
        raw.call(&[b"EXPIREAT", b"k", b"99999999999", b"GT"]),
        b":0\r\n"
    );
    assert_eq!(
        raw.call(&[b"EXPIREAT", b"k", b"99999999998", b"LT"]),
        b":1\r\n"
    );
    assert_eq!(raw.call(&[b"EXPIRETIME", b"k"]), b":99999999998\r\n");
}

#[test]
fn rename_and_renamenx() {
    let server = TestServer::start();
    let mut raw = server.raw();
    set(&mut raw, "src", "hello");
    // Onto itself: nothing happens, RENAME answers OK and RENAMENX 0.
    assert_eq!(raw.call(&[b"RENAME", b"src", b"src"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"RENAMENX", b"src", b"src"]), b":0\r\n");
    assert_eq!(raw.call(&[b"GET", b"src"]), b"$5\r\nhello\r\n");

    assert_eq!(raw.call(&[b"EXPIRE", b"src", b"100"]), b":1\r\n");
    assert_eq!(raw.call(&[b"RENAME", b"src", b"dst"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"EXISTS", b"src"]), b":0\r\n");
    assert_eq!(raw.call(&[b"GET", b"dst"]), b"$5\r\nhello\r\n");
    assert_eq!(raw.call(&[b"TTL", b"dst"]), b":100\r\n");

    // RENAME overwrites the destination, including its TTL state.
    set(&mut raw, "other", "12");
    assert_eq!(raw.call(&[b"RENAME", b"other", b"dst"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"GET", b"dst"]), b"$2\r\n12\r\n");
    assert_eq!(raw.call(&[b"TTL", b"dst"]), b":-1\r\n");
    assert_eq!(
        raw.call(&[b"OBJECT", b"ENCODING", b"dst"]),
        b"$3\r\nint\r\n"
    );

    set(&mut raw, "x", "1");
    assert_eq!(raw.call(&[b"RENAMENX", b"x", b"dst"]), b":0\r\n");
    assert_eq!(raw.call(&[b"GET", b"x"]), b"$1\r\n1\r\n");
    assert_eq!(raw.call(&[b"RENAMENX", b"x", b"fresh"]), b":1\r\n");
    assert_eq!(raw.call(&[b"EXISTS", b"x", b"fresh"]), b":1\r\n");

    // Many pairs, so that sources and destinations land in different shards.
    for i in 0..50 {
        set(&mut raw, &format!("a{i}"), &format!("v{i}"));
        assert_eq!(
            raw.call(&[
                b"RENAME",
                format!("a{i}").as_bytes(),
                format!("b{i}").as_bytes()
            ]),
            b"+OK\r\n"
        );
    }
    for i in 0..50 {
        assert_eq!(
            raw.call(&[b"GET", format!("b{i}").as_bytes()]),
            format!("${}\r\nv{i}\r\n", format!("v{i}").len()).into_bytes()
        );
    }
    assert_eq!(raw.call(&[b"DBSIZE"]), b":52\r\n");
}

#[test]
fn copy_command() {
    let server = TestServer::start();
    let mut raw = server.raw();
    set(&mut raw, "s", "hello");
    assert_eq!(
        raw.call(&[b"COPY", b"s", b"s"]),
        b"-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        raw.call(&[b"COPY", b"s", b"s", b"DB", b"0", b"REPLACE"]),
        b"-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        raw.call(&[b"COPY", b"s", b"t", b"DB", b"99"]),
        b"-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"COPY", b"s", b"t", b"DB", b"-1"]),
        b"-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"COPY", b"s", b"t", b"DB", b"x"]),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"COPY", b"s", b"t", b"DB"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"COPY", b"s", b"t", b"foo"]),
        b"-ERR syntax error\r\n"
    );

    assert_eq!(raw.call(&[b"EXPIRE", b"s", b"100"]), b":1\r\n");
    assert_eq!(raw.call(&[b"COPY", b"s", b"t"]), b":1\r\n");
    assert_eq!(raw.call(&[b"GET", b"t"]), b"$5\r\nhello\r\n");
    assert_eq!(raw.call(&[b"TTL", b"t"]), b":100\r\n");
    assert_eq!(raw.call(&[b"GET", b"s"]), b"$5\r\nhello\r\n");

    set(&mut raw, "u", "old");
    assert_eq!(raw.call(&[b"COPY", b"s", b"u"]), b":0\r\n");
    assert_eq!(raw.call(&[b"GET", b"u"]), b"$3\r\nold\r\n");
    assert_eq!(raw.call(&[b"COPY", b"s", b"u", b"replace"]), b":1\r\n");
    assert_eq!(raw.call(&[b"GET", b"u"]), b"$5\r\nhello\r\n");

    // The copy is independent of its source.
    assert_eq!(raw.call(&[b"DEL", b"s"]), b":1\r\n");
    assert_eq!(raw.call(&[b"GET", b"t"]), b"$5\r\nhello\r\n");

    // To another database, onto the same name: visible there (MOVE declines because the key
    // exists in db 1) and not here.
    assert_eq!(raw.call(&[b"COPY", b"t", b"t", b"DB", b"1"]), b":1\r\n");
    assert_eq!(raw.call(&[b"COPY", b"t", b"t", b"DB", b"1"]), b":0\r\n");
    assert_eq!(
        raw.call(&[b"COPY", b"t", b"t", b"db", b"1", b"REPLACE"]),
        b":1\r\n"
    );
    assert_eq!(raw.call(&[b"MOVE", b"t", b"1"]), b":0\r\n");
    assert_eq!(raw.call(&[b"COPY", b"t", b"w", b"DB", b"1"]), b":1\r\n");
    assert_eq!(raw.call(&[b"EXISTS", b"w"]), b":0\r\n");
    set(&mut raw, "w", "0");
    assert_eq!(raw.call(&[b"MOVE", b"w", b"1"]), b":0\r\n");
    assert_eq!(raw.call(&[b"DBSIZE"]), b":3\r\n");
}

#[test]
fn move_command() {
    let server = TestServer::start();
    let mut raw = server.raw();
    set(&mut raw, "k", "v");
    assert_eq!(
        raw.call(&[b"MOVE", b"k", b"0"]),
        b"-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        raw.call(&[b"MOVE", b"nokey", b"0"]),
        b"-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        raw.call(&[b"MOVE", b"k", b"16"]),
        b"-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"MOVE", b"k", b"-1"]),
        b"-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"MOVE", b"k", b"abc"]),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"MOVE", b"k", b"4294967296"]),
        &b"-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"[..]
    );
    assert_eq!(
        raw.call(&[b"COPY", b"k", b"k2", b"DB", b"-9223372036854775808"]),
        &b"-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"[..]
    );
    assert_eq!(
        raw.call(&[b"MOVE", b"k"]),
        b"-ERR wrong number of arguments for 'move' command\r\n"
    );

    assert_eq!(raw.call(&[b"MOVE", b"k", b"1"]), b":1\r\n");
    assert_eq!(raw.call(&[b"EXISTS", b"k"]), b":0\r\n");
    assert_eq!(raw.call(&[b"DBSIZE"]), b":0\r\n");
    // Now present in db 1: a second key of that name cannot follow it.
    set(&mut raw, "k", "again");
    assert_eq!(raw.call(&[b"MOVE", b"k", b"1"]), b":0\r\n");
    assert_eq!(raw.call(&[b"GET", b"k"]), b"$5\r\nagain\r\n");
    assert_eq!(raw.call(&[b"MOVE", b"k", b"2"]), b":1\r\n");
}

#[test]
fn keys_glob_patterns() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut con = server.client();
    for key in [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "user:1", "user:2", "user:10",
        "other",
    ] {
        set(&mut raw, key, "v");
    }
    let keys = |con: &mut redis::Connection, pattern: &str| -> BTreeSet<String> {
        let list: Vec<String> = redis::cmd("KEYS").arg(pattern).query(con).expect("keys");
        let set: BTreeSet<String> = list.iter().cloned().collect();
        assert_eq!(set.len(), list.len(), "KEYS repeated a key");
        set
    };
    let expect = |list: &[&str]| {
        list.iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<String>>()
    };
    assert_eq!(keys(&mut con, "*").len(), 10);
    assert_eq!(
        keys(&mut con, "h?llo"),
        expect(&["hello", "hallo", "hxllo", "h*llo"])
    );
    assert_eq!(
        keys(&mut con, "h*llo"),
        expect(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo"])
    );
    assert_eq!(keys(&mut con, "h[ae]llo"), expect(&["hello", "hallo"]));
    assert_eq!(
        keys(&mut con, "h[^e]llo"),
        expect(&["hallo", "hxllo", "h*llo"])
    );
    assert_eq!(keys(&mut con, "h[a-e]llo"), expect(&["hello", "hallo"]));
    assert_eq!(keys(&mut con, "h\\*llo"), expect(&["h*llo"]));
    assert_eq!(keys(&mut con, "user:?"), expect(&["user:1", "user:2"]));
    assert_eq!(
        keys(&mut con, "user:*"),
        expect(&["user:1", "user:2", "user:10"])
    );
    assert_eq!(keys(&mut con, "USER:*"), expect(&[]));
    assert_eq!(keys(&mut con, "other"), expect(&["other"]));
    assert_eq!(keys(&mut con, "nothing*"), expect(&[]));
    assert_eq!(raw.call(&[b"KEYS", b"oth*"]), b"*1\r\n$5\r\nother\r\n");
}

#[test]
fn scan_full_iteration() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut con = server.client();
    for i in 0..500 {
        set(&mut raw, &format!("user:{i}"), "v");
        if i % 5 == 0 {
            set(&mut raw, &format!("item:{i}"), "v");
        }
    }
    let all: BTreeSet<String> = (0..500)
        .map(|i| format!("user:{i}"))
        .chain((0..500).step_by(5).map(|i| format!("item:{i}")))
        .collect();
    for count in ["1", "7", "10", "1000", "100000"] {
        let seen = scan_all(&mut con, &["COUNT", count]);
        assert_eq!(
            seen.iter().cloned().collect::<BTreeSet<_>>(),
            all,
            "COUNT {count}"
        );
    }
    let seen: BTreeSet<String> = scan_all(&mut con, &[]).into_iter().collect();
    assert_eq!(seen, all);
    let items: BTreeSet<String> = scan_all(&mut con, &["MATCH", "item:*", "COUNT", "13"])
        .into_iter()
        .collect();
    assert_eq!(
        items,
        all.iter()
            .filter(|k| k.starts_with("item:"))
            .cloned()
            .collect()
    );
    let typed: BTreeSet<String> = scan_all(&mut con, &["TYPE", "STRING", "MATCH", "user:1?"])
        .into_iter()
        .collect();
    assert_eq!(typed, (10..20).map(|i| format!("user:{i}")).collect());
    assert!(scan_all(&mut con, &["TYPE", "list"]).is_empty());
    assert!(scan_all(&mut con, &["TYPE", "foo", "COUNT", "50"]).is_empty());

    // A small COUNT returns small batches and a non-zero cursor while work remains.
    let (cursor, batch): (String, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("COUNT")
        .arg(5)
        .query(&mut con)
        .expect("scan");
    assert_ne!(cursor, "0");
    assert!(batch.len() <= 5 * 2, "{}", batch.len());
}

#[test]
fn scan_survives_table_growth() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut con = server.client();
    for i in 0..200 {
        set(&mut raw, &format!("old:{i}"), "v");
    }
    // Bursts of keys added in the middle of the iteration make every table grow (200 keys become
    // 3,200), including the one being walked; every key present throughout must still come back.
    let mut cursor = "0".to_string();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut calls = 0;
    let mut added = 0;
    loop {
        let (next, batch): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("COUNT")
            .arg(10)
            .query(&mut con)
            .expect("scan");
        seen.extend(batch);
        calls += 1;
        if calls == 3 || calls == 12 {
            for _ in 0..1500 {
                set(&mut raw, &format!("new:{added}"), "v");
                added += 1;
            }
        }
        if next == "0" {
            break;
        }
        cursor = next;
        assert!(calls < 10_000, "SCAN does not terminate");
    }
    assert_eq!(added, 3000, "the iteration ended before the second burst");
    for i in 0..200 {
        assert!(seen.contains(&format!("old:{i}")), "old:{i} missed");
    }
}

#[test]
fn scan_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    set(&mut raw, "k", "v");
    let invalid: &[u8] = b"-ERR invalid cursor\r\n";
    assert_eq!(raw.call(&[b"SCAN", b"abc"]), invalid);
    assert_eq!(raw.call(&[b"SCAN", b" 0"]), invalid);
    assert_eq!(raw.call(&[b"SCAN", b"0 "]), invalid);
    assert_eq!(raw.call(&[b"SCAN", b"18446744073709551616"]), invalid);
    assert_eq!(raw.call(&[b"SCAN", b"1.5"]), invalid);
    assert_eq!(
        raw.call(&[b"SCAN", b"0", b"COUNT", b"0"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"SCAN", b"0", b"COUNT", b"-1"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"SCAN", b"0", b"COUNT", b"x"]),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"SCAN", b"0", b"MATCH"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"SCAN", b"0", b"foo", b"bar"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"SCAN"]),
        b"-ERR wrong number of arguments for 'scan' command\r\n"
    );
    // As strtoul: a sign is accepted and any 64-bit value is a cursor.
    assert_eq!(
        raw.call(&[b"SCAN", b"+0", b"COUNT", b"100"]),
        b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
    );
    for cursor in [&b"-1"[..], b"18446744073709551615", b"123456789"] {
        let reply = raw.call(&[b"SCAN", cursor]);
        assert!(
            reply.starts_with(b"*2\r\n$"),
            "{:?}",
            String::from_utf8_lossy(&reply)
        );
    }
}

#[test]
fn randomkey_and_dbsize() {
    let server = TestServer::start();
    let mut raw = server.raw();
    set(&mut raw, "only", "v");
    assert_eq!(raw.call(&[b"RANDOMKEY"]), b"$4\r\nonly\r\n");
    for i in 0..20 {
        set(&mut raw, &format!("k{i}"), "v");
    }
    assert_eq!(raw.call(&[b"DBSIZE"]), b":21\r\n");
    let mut con = server.client();
    let mut distinct = BTreeSet::new();
    for _ in 0..200 {
        let key: String = redis::cmd("RANDOMKEY").query(&mut con).expect("randomkey");
        assert!(key == "only" || key.starts_with('k'), "{key}");
        distinct.insert(key);
    }
    assert!(
        distinct.len() > 5,
        "RANDOMKEY is hardly random: {distinct:?}"
    );
    assert_eq!(
        raw.call(&[b"RANDOMKEY", b"x"]),
        b"-ERR wrong number of arguments for 'randomkey' command\r\n"
    );
}

#[test]
fn object_subcommands() {
    let server = TestServer::start();
    let mut raw = server.raw();
    set(&mut raw, "int", "100");
    set(&mut raw, "bigint", "10000");
    set(&mut raw, "short", "hello");
    set(&mut raw, "long", &"x".repeat(45));
    assert_eq!(
        raw.call(&[b"OBJECT", b"ENCODING", b"int"]),
        b"$3\r\nint\r\n"
    );
    assert_eq!(
        raw.call(&[b"object", b"encoding", b"short"]),
        b"$6\r\nembstr\r\n"
    );
    assert_eq!(
        raw.call(&[b"OBJECT", b"ENCODING", b"long"]),
        b"$3\r\nraw\r\n"
    );
    assert_eq!(
        raw.call(&[b"OBJECT", b"REFCOUNT", b"int"]),
        b":2147483647\r\n"
    );
    assert_eq!(raw.call(&[b"OBJECT", b"REFCOUNT", b"bigint"]), b":1\r\n");
    assert_eq!(raw.call(&[b"OBJECT", b"REFCOUNT", b"short"]), b":1\r\n");
    assert_eq!(raw.call(&[b"OBJECT", b"IDLETIME", b"short"]), b":0\r\n");
    // allkeys-cachet (the default) keeps both the access time and the LFU counter.
    assert_eq!(raw.call(&[b"OBJECT", b"FREQ", b"short"]), b":5\r\n");
    assert_eq!(
        raw.call(&[b"CONFIG", b"SET", b"maxmemory-policy", b"allkeys-lru"]),
        b"+OK\r\n"
    );
    assert_eq!(
        raw.call(&[b"OBJECT", b"FREQ", b"short"]),
        &b"-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"[..]
    );
    assert_eq!(
        raw.call(&[b"CONFIG", b"SET", b"maxmemory-policy", b"allkeys-lfu"]),
        b"+OK\r\n"
    );
    assert_eq!(
        raw.call(&[b"OBJECT", b"IDLETIME", b"short"]),
        &b"-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"[..]
    );
    assert_eq!(raw.call(&[b"OBJECT", b"FREQ", b"missing"]), b"$-1\r\n");
    assert_eq!(
        raw.call(&[b"OBJECT", b"foo", b"short"]),
        b"-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"
    );
    assert_eq!(
        raw.call(&[b"OBJECT"]),
        b"-ERR wrong number of arguments for 'object' command\r\n"
    );
    assert_eq!(
        raw.call(&[b"OBJECT", b"ENCODING"]),
        b"-ERR wrong number of arguments for 'object|encoding' command\r\n"
    );
    assert_eq!(
        raw.call(&[b"OBJECT", b"HELP", b"extra"]),
        b"-ERR wrong number of arguments for 'object|help' command\r\n"
    );
    let help = raw.call(&[b"OBJECT", b"HELP"]);
    assert!(help.starts_with(b"*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n"), "{}", String::from_utf8_lossy(&help));
    assert!(help.ends_with(b"+HELP\r\n+    Prints this help.\r\n"));
}

#[test]
fn memory_usage() {
    let server = TestServer::start();
    let mut raw = server.raw();
    set(&mut raw, "small", "v");
    set(&mut raw, "medium", &"m".repeat(100));
    set(&mut raw, "large", &"l".repeat(10_000));
    let small = int(&raw.call(&[b"MEMORY", b"USAGE", b"small"]));
    let medium = int(&raw.call(&[b"MEMORY", b"USAGE", b"medium"]));
    let large = int(&raw.call(&[b"MEMORY", b"USAGE", b"large"]));
    assert!(
        small > 0 && small < medium && medium < large,
        "{small} {medium} {large}"
    );
    assert!(large >= 10_000, "{large}");
    assert_eq!(
        int(&raw.call(&[b"MEMORY", b"USAGE", b"large", b"SAMPLES", b"0"])),
        large
    );
    assert_eq!(
        int(&raw.call(&[b"MEMORY", b"USAGE", b"large", b"samples", b"0", b"SAMPLES", b"5"])),
        large
    );
    assert_eq!(
        raw.call(&[b"MEMORY", b"USAGE", b"small", b"SAMPLES", b"-1"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"MEMORY", b"USAGE", b"small", b"SAMPLES", b"x"]),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"MEMORY", b"USAGE", b"small", b"SAMPLES"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"MEMORY", b"USAGE", b"small", b"foo"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"MEMORY", b"USAGE"]),
        b"-ERR wrong number of arguments for 'memory|usage' command\r\n"
    );
    assert_eq!(
        raw.call(&[b"MEMORY", b"foo"]),
        b"-ERR unknown subcommand 'foo'. Try MEMORY HELP.\r\n"
    );
    let help = raw.call(&[b"MEMORY", b"HELP"]);
    assert!(help.starts_with(b"*14\r\n+MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+DOCTOR\r\n"), "{}", String::from_utf8_lossy(&help));
    assert!(
        help.ends_with(b"+USAGE <key> [SAMPLES <count>]\r\n+    Return memory in bytes used by <key> and its value. Nested values are\r\n+    sampled up to <count> times (default: 5, 0 means sample all).\r\n+HELP\r\n+    Prints this help.\r\n"),
        "{}",
        String::from_utf8_lossy(&help)
    );
}

#[test]
fn resp3_nulls() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let hello = raw.call(&[b"HELLO", b"3"]);
    if !hello.starts_with(b"%") {
        // HELLO belongs to another family; without it there is nothing to check here.
        return;
    }
    assert_eq!(raw.call(&[b"RANDOMKEY"]), b"_\r\n");
    assert_eq!(raw.call(&[b"OBJECT", b"ENCODING", b"nokey"]), b"_\r\n");
    assert_eq!(raw.call(&[b"MEMORY", b"USAGE", b"nokey"]), b"_\r\n");
}
