//! The string command family against the real server, reply bytes compared with what Redis 7
//! answers to the same requests.

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use std::time::Duration;

use common::{bulk, call, int, TestServer};

const NIL: &[u8] = b"$-1\r\n";
const OK: &[u8] = b"+OK\r\n";
const EMPTY: &[u8] = b"$0\r\n\r\n";
const SYNTAX: &[u8] = b"-ERR syntax error\r\n";
const NOT_INT: &[u8] = b"-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &[u8] = b"-ERR value is not a valid float\r\n";
const OVERFLOW: &[u8] = b"-ERR increment or decrement would overflow\r\n";

fn invalid_expire(command: &str) -> Vec<u8> {
    format!("-ERR invalid expire time in '{command}' command\r\n").into_bytes()
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[test]
fn wrong_arity_is_reported_by_dispatch() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (args, name) in [
        (&["GET"][..], "get"),
        (&["GET", "a", "b"], "get"),
        (&["SET", "k"], "set"),
        (&["SETNX", "k"], "setnx"),
        (&["SETEX", "k", "10"], "setex"),
        (&["PSETEX", "k", "10"], "psetex"),
        (&["GETSET", "k"], "getset"),
        (&["GETDEL"], "getdel"),
        (&["GETEX"], "getex"),
        (&["MGET"], "mget"),
        (&["MSET", "k"], "mset"),
        (&["MSET", "a", "1", "b"], "mset"),
        (&["MSETNX", "a", "1", "b"], "msetnx"),
        (&["INCR"], "incr"),
        (&["DECR", "a", "b"], "decr"),
        (&["INCRBY", "k"], "incrby"),
        (&["DECRBY", "k"], "decrby"),
        (&["INCRBYFLOAT", "k"], "incrbyfloat"),
        (&["APPEND", "k"], "append"),
        (&["STRLEN"], "strlen"),
        (&["GETRANGE", "k", "0"], "getrange"),
        (&["SETRANGE", "k", "0"], "setrange"),
        (&["SUBSTR", "k", "0"], "substr"),
        (&["LCS", "a"], "lcs"),
    ] {
        let expected = format!("-ERR wrong number of arguments for '{name}' command\r\n");
        assert_eq!(call(&mut raw, args), expected.as_bytes(), "{args:?}");
    }
    assert_eq!(call(&mut raw, &["MGET", "a"]), b"*1\r\n$-1\r\n");
}

#[test]
fn get_missing_empty_and_binary_values() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["GET", "missing"]), NIL);
    assert_eq!(raw.call(&[b"SET", b"empty", b""]), OK);
    assert_eq!(call(&mut raw, &["GET", "empty"]), EMPTY);
    assert_eq!(raw.call(&[b"SET", b"bin\0key", b"a\r\n\0b"]), OK);
    assert_eq!(raw.call(&[b"GET", b"bin\0key"]), b"$5\r\na\r\n\0b\r\n");
    assert_eq!(call(&mut raw, &["SET", "n", "0123"]), OK);
    assert_eq!(call(&mut raw, &["GET", "n"]), bulk("0123"));
    assert_eq!(call(&mut raw, &["SET", "n", "-42"]), OK);
    assert_eq!(call(&mut raw, &["GET", "n"]), bulk("-42"));
}

#[test]
fn set_nx_xx_and_get() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["SET", "k", "v", "XX"]), NIL);
    assert_eq!(call(&mut raw, &["GET", "k"]), NIL);
    assert_eq!(call(&mut raw, &["SET", "k", "v", "NX"]), OK);
    assert_eq!(call(&mut raw, &["SET", "k", "w", "nx"]), NIL);
    assert_eq!(call(&mut raw, &["SET", "k", "w", "XX"]), OK);
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("w"));
    // GET replies with the old value whether or not NX/XX let the write happen.
    assert_eq!(call(&mut raw, &["SET", "k2", "v", "XX", "GET"]), NIL);
    assert_eq!(call(&mut raw, &["GET", "k2"]), NIL);
    assert_eq!(call(&mut raw, &["SET", "k2", "v", "NX", "GET"]), NIL);
    assert_eq!(call(&mut raw, &["SET", "k2", "v2", "NX", "GET"]), bulk("v"));
    assert_eq!(call(&mut raw, &["GET", "k2"]), bulk("v"));
    assert_eq!(
        call(&mut raw, &["SET", "k2", "v3", "GET", "GET"]),
        bulk("v")
    );
    assert_eq!(call(&mut raw, &["GET", "k2"]), bulk("v3"));
    // Repeating the same flag is allowed, as in Redis.
    assert_eq!(call(&mut raw, &["SET", "k3", "v", "nx", "NX"]), OK);
}

#[test]
fn set_option_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for opts in [
        &["NX", "XX"][..],
        &["XX", "NX"],
        &["EX", "10", "KEEPTTL"],
        &["KEEPTTL", "PX", "5"],
        &["EX", "10", "PX", "10"],
        &["EX"],
        &["foo"],
        &["PERSIST"],
        &["EXAT", "10", "PXAT", "10"],
    ] {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(opts);
        assert_eq!(call(&mut raw, &args), SYNTAX, "{opts:?}");
    }
    for opts in [
        &["EX", "0"][..],
        &["EX", "-1"],
        &["PX", "0"],
        &["PX", "9223372036854775807"],
        &["EX", "9223372036854775807"],
        &["EX", "9223372036854775"],
        &["EXAT", "0"],
        &["EXAT", "9223372036854775807"],
        &["PX", "9223372036854775806"],
    ] {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(opts);
        assert_eq!(call(&mut raw, &args), invalid_expire("set"), "{opts:?}");
    }
    assert_eq!(call(&mut raw, &["SET", "k", "v", "EX", "abc"]), NOT_INT);
    assert_eq!(call(&mut raw, &["SET", "k", "v", "EX", "1.5"]), NOT_INT);
    assert_eq!(
        call(&mut raw, &["GET", "k"]),
        NIL,
        "a rejected SET writes nothing"
    );
    // The largest values that do not overflow are accepted.
    assert_eq!(
        call(&mut raw, &["SET", "k", "v", "EX", "9223372036854"]),
        OK
    );
    assert_eq!(
        call(&mut raw, &["SET", "k", "v", "PXAT", "9223372036854775807"]),
        OK
    );
    assert_eq!(
        call(&mut raw, &["SET", "k", "v", "EXAT", "9223372036854775"]),
        OK
    );
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("v"));
}

#[test]
fn set_expiry_options_and_keepttl() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["SET", "px", "v", "PX", "100"]), OK);
    assert_eq!(call(&mut raw, &["SET", "ex", "v", "EX", "100"]), OK);
    assert_eq!(call(&mut raw, &["SET", "keep", "v", "PX", "100"]), OK);
    assert_eq!(call(&mut raw, &["SET", "keep", "v2", "KEEPTTL"]), OK);
    assert_eq!(call(&mut raw, &["SET", "cleared", "v", "PX", "100"]), OK);
    assert_eq!(call(&mut raw, &["SET", "cleared", "v2"]), OK);
    // A time already past: the key is set and immediately gone.
    assert_eq!(call(&mut raw, &["SET", "past", "v", "PXAT", "1"]), OK);
    assert_eq!(call(&mut raw, &["GET", "past"]), NIL);
    assert_eq!(call(&mut raw, &["SET", "past", "v", "EXAT", "1"]), OK);
    assert_eq!(call(&mut raw, &["GET", "past"]), NIL);
    sleep_ms(150);
    assert_eq!(call(&mut raw, &["GET", "px"]), NIL);
    assert_eq!(
        call(&mut raw, &["GET", "keep"]),
        NIL,
        "KEEPTTL kept the 100ms TTL"
    );
    assert_eq!(
        call(&mut raw, &["GET", "cleared"]),
        bulk("v2"),
        "SET without KEEPTTL clears the TTL"
    );
    assert_eq!(call(&mut raw, &["GET", "ex"]), bulk("v"));
}

#[test]
fn setnx_setex_psetex() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["SETNX", "a", "1"]), int(1));
    assert_eq!(call(&mut raw, &["SETNX", "a", "2"]), int(0));
    assert_eq!(call(&mut raw, &["GET", "a"]), bulk("1"));
    for t in ["0", "-1", "9223372036854775"] {
        assert_eq!(
            call(&mut raw, &["SETEX", "b", t, "v"]),
            invalid_expire("setex"),
            "{t}"
        );
    }
    for t in ["0", "-5", "9223372036854775807"] {
        assert_eq!(
            call(&mut raw, &["PSETEX", "c", t, "v"]),
            invalid_expire("psetex"),
            "{t}"
        );
    }
    assert_eq!(call(&mut raw, &["SETEX", "b", "abc", "v"]), NOT_INT);
    assert_eq!(call(&mut raw, &["PSETEX", "c", "1.0", "v"]), NOT_INT);
    assert_eq!(call(&mut raw, &["GET", "b"]), NIL);
    assert_eq!(call(&mut raw, &["SETEX", "b", "100", "v"]), OK);
    assert_eq!(call(&mut raw, &["PSETEX", "c", "100", "v"]), OK);
    assert_eq!(call(&mut raw, &["GET", "c"]), bulk("v"));
    sleep_ms(150);
    assert_eq!(call(&mut raw, &["GET", "c"]), NIL);
    assert_eq!(call(&mut raw, &["GET", "b"]), bulk("v"));
}

#[test]
fn getset_replies_old_value_and_clears_ttl() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["GETSET", "k", "v"]), NIL);
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("v"));
    assert_eq!(call(&mut raw, &["PSETEX", "k", "100", "old"]), OK);
    assert_eq!(call(&mut raw, &["GETSET", "k", "new"]), bulk("old"));
    sleep_ms(150);
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("new"));
    assert_eq!(raw.call(&[b"GETSET", b"k", b""]), bulk("new"));
    assert_eq!(call(&mut raw, &["GET", "k"]), EMPTY);
}

#[test]
fn getdel() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["GETDEL", "k"]), NIL);
    assert_eq!(call(&mut raw, &["SET", "k", "42"]), OK);
    assert_eq!(call(&mut raw, &["GETDEL", "k"]), bulk("42"));
    assert_eq!(call(&mut raw, &["GETDEL", "k"]), NIL);
    assert_eq!(call(&mut raw, &["GET", "k"]), NIL);
}

#[test]
fn getex_errors_and_missing_keys() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // Syntax is checked before the key; the expiry value only once the key is found.
    assert_eq!(call(&mut raw, &["GETEX", "missing", "FOO"]), SYNTAX);
    assert_eq!(call(&mut raw, &["GETEX", "missing", "EX", "abc"]), NIL);
    assert_eq!(call(&mut raw, &["GETEX", "missing", "EX", "0"]), NIL);
    assert_eq!(call(&mut raw, &["GETEX", "missing"]), NIL);
    assert_eq!(call(&mut raw, &["SET", "k", "v"]), OK);
    for opts in [
        &["PERSIST", "EX", "10"][..],
        &["EX", "10", "PERSIST"],
        &["NX"],
        &["XX"],
        &["KEEPTTL"],
        &["GET"],
        &["EX"],
        &["EX", "1", "PX", "1"],
    ] {
        let mut args = vec!["GETEX", "k"];
        args.extend_from_slice(opts);
        assert_eq!(call(&mut raw, &args), SYNTAX, "{opts:?}");
    }
    assert_eq!(call(&mut raw, &["GETEX", "k", "EX", "abc"]), NOT_INT);
    for opts in [
        &["EX", "0"][..],
        &["PX", "-1"],
        &["EXAT", "0"],
        &["PX", "9223372036854775807"],
    ] {
        let mut args = vec!["GETEX", "k"];
        args.extend_from_slice(opts);
        assert_eq!(call(&mut raw, &args), invalid_expire("getex"), "{opts:?}");
    }
    assert_eq!(call(&mut raw, &["GETEX", "k"]), bulk("v"));
}

#[test]
fn getex_sets_and_removes_ttl() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["SET", "a", "1"]), OK);
    assert_eq!(call(&mut raw, &["GETEX", "a", "PX", "100"]), bulk("1"));
    assert_eq!(call(&mut raw, &["SET", "b", "2", "PX", "100"]), OK);
    assert_eq!(
        call(&mut raw, &["GETEX", "b", "PERSIST", "PERSIST"]),
        bulk("2")
    );
    assert_eq!(call(&mut raw, &["SET", "c", "3", "PX", "100"]), OK);
    assert_eq!(
        call(&mut raw, &["GETEX", "c"]),
        bulk("3"),
        "no option leaves the TTL alone"
    );
    assert_eq!(call(&mut raw, &["SET", "d", "4"]), OK);
    assert_eq!(
        call(&mut raw, &["GETEX", "d", "EX", "10", "ex", "100"]),
        bulk("4")
    );
    // An absolute time already past deletes the key after replying with it.
    assert_eq!(call(&mut raw, &["SET", "e", "5"]), OK);
    assert_eq!(call(&mut raw, &["GETEX", "e", "PXAT", "1"]), bulk("5"));
    assert_eq!(call(&mut raw, &["GET", "e"]), NIL);
    assert_eq!(call(&mut raw, &["SET", "f", "6"]), OK);
    assert_eq!(call(&mut raw, &["GETEX", "f", "EXAT", "1"]), bulk("6"));
    assert_eq!(call(&mut raw, &["GET", "f"]), NIL);
    sleep_ms(150);
    assert_eq!(call(&mut raw, &["GET", "a"]), NIL);
    assert_eq!(call(&mut raw, &["GET", "b"]), bulk("2"));
    assert_eq!(call(&mut raw, &["GET", "c"]), NIL);
    assert_eq!(call(&mut raw, &["GET", "d"]), bulk("4"));
}

#[test]
fn mget_mset_msetnx() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["MSET", "a", "1", "b", "", "a", "2"]), OK);
    assert_eq!(
        call(&mut raw, &["MGET", "a", "b", "missing", "a"]),
        b"*4\r\n$1\r\n2\r\n$0\r\n\r\n$-1\r\n$1\r\n2\r\n"
    );
    assert_eq!(call(&mut raw, &["MSETNX", "a", "1", "c", "3"]), int(0));
    assert_eq!(
        call(&mut raw, &["GET", "c"]),
        NIL,
        "MSETNX sets none when one exists"
    );
    assert_eq!(
        call(&mut raw, &["MSETNX", "c", "3", "d", "4", "c", "5"]),
        int(1)
    );
    assert_eq!(
        call(&mut raw, &["MGET", "c", "d"]),
        b"*2\r\n$1\r\n5\r\n$1\r\n4\r\n"
    );
    // An expired key counts as absent for MSETNX.
    assert_eq!(call(&mut raw, &["SET", "gone", "x", "PXAT", "1"]), OK);
    assert_eq!(call(&mut raw, &["MSETNX", "gone", "y"]), int(1));
    assert_eq!(call(&mut raw, &["GET", "gone"]), bulk("y"));
    // MSET clears TTLs like SET.
    assert_eq!(call(&mut raw, &["PSETEX", "t", "100", "x"]), OK);
    assert_eq!(call(&mut raw, &["MSET", "t", "y"]), OK);
    sleep_ms(150);
    assert_eq!(call(&mut raw, &["GET", "t"]), bulk("y"));
}

#[test]
fn mset_is_atomic_across_shards() {
    let server = TestServer::start();
    let keys: Vec<String> = (0..16).map(|i| format!("key:{i}")).collect();
    let writer = {
        let mut raw = server.raw();
        let keys = keys.clone();
        std::thread::spawn(move || {
            for round in 0..200 {
                let value = round.to_string();
                let mut args: Vec<&str> = vec!["MSET"];
                for key in &keys {
                    args.push(key);
                    args.push(&value);
                }
                assert_eq!(call(&mut raw, &args), OK);
            }
        })
    };
    let mut raw = server.raw();
    let mut args: Vec<&str> = vec!["MGET"];
    args.extend(keys.iter().map(String::as_str));
    for _ in 0..200 {
        let reply = call(&mut raw, &args);
        let text = String::from_utf8_lossy(&reply);
        let values: Vec<&str> = text
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.starts_with('$') && !l.is_empty())
            .collect();
        assert!(
            values.windows(2).all(|w| w[0] == w[1]),
            "MGET saw a half-applied MSET: {text}"
        );
    }
    writer.join().unwrap();
}

#[test]
fn incr_decr_family() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["INCR", "n"]), int(1));
    assert_eq!(call(&mut raw, &["INCRBY", "n", "10"]), int(11));
    assert_eq!(call(&mut raw, &["DECR", "n"]), int(10));
    assert_eq!(call(&mut raw, &["DECRBY", "n", "-5"]), int(15));
    assert_eq!(call(&mut raw, &["DECRBY", "missing", "5"]), int(-5));
    assert_eq!(call(&mut raw, &["DECR", "missing2"]), int(-1));
    assert_eq!(call(&mut raw, &["GET", "n"]), bulk("15"));
    // The value is bulk text, and a counter keeps its TTL.
    assert_eq!(call(&mut raw, &["SET", "t", "5", "PX", "100"]), OK);
    assert_eq!(call(&mut raw, &["INCR", "t"]), int(6));
    sleep_ms(150);
    assert_eq!(call(&mut raw, &["GET", "t"]), NIL);
}

#[test]
fn incr_rejects_non_integers_and_overflow() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for value in [
        "abc",
        "",
        " 1",
        "1 ",
        "+1",
        "012",
        "-0",
        "1.5",
        "99999999999999999999",
    ] {
        assert_eq!(raw.call(&[b"SET", b"s", value.as_bytes()]), OK);
        assert_eq!(call(&mut raw, &["INCR", "s"]), NOT_INT, "{value:?}");
        assert_eq!(
            raw.call(&[b"GET", b"s"]),
            bulk(value),
            "{value:?} unchanged"
        );
    }
    assert_eq!(call(&mut raw, &["INCRBY", "n", "abc"]), NOT_INT);
    assert_eq!(
        call(&mut raw, &["INCRBY", "n", "9223372036854775808"]),
        NOT_INT
    );
    assert_eq!(call(&mut raw, &["SET", "max", "9223372036854775807"]), OK);
    assert_eq!(call(&mut raw, &["INCR", "max"]), OVERFLOW);
    assert_eq!(call(&mut raw, &["DECRBY", "max", "-1"]), OVERFLOW);
    assert_eq!(call(&mut raw, &["SET", "min", "-9223372036854775808"]), OK);
    assert_eq!(call(&mut raw, &["DECR", "min"]), OVERFLOW);
    assert_eq!(call(&mut raw, &["INCRBY", "min", "-1"]), OVERFLOW);
    assert_eq!(
        call(&mut raw, &["INCRBY", "min", "1"]),
        int(-9223372036854775807)
    );
    assert_eq!(
        call(&mut raw, &["DECRBY", "min", "-9223372036854775808"]),
        b"-ERR decrement would overflow\r\n"
    );
    assert_eq!(
        call(&mut raw, &["DECRBY", "none", "-9223372036854775808"]),
        b"-ERR decrement would overflow\r\n"
    );
    assert_eq!(
        call(&mut raw, &["INCRBY", "big", "9223372036854775807"]),
        int(i64::MAX)
    );
    assert_eq!(call(&mut raw, &["INCR", "big"]), OVERFLOW);
    assert_eq!(call(&mut raw, &["GET", "big"]), bulk("9223372036854775807"));
}

#[test]
fn incrbyfloat_formats_like_long_double() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["INCRBYFLOAT", "f", "0.1"]), bulk("0.1"));
    assert_eq!(call(&mut raw, &["SET", "f", "10.50"]), OK);
    assert_eq!(call(&mut raw, &["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
    assert_eq!(call(&mut raw, &["INCRBYFLOAT", "f", "-5"]), bulk("5.6"));
    assert_eq!(
        call(&mut raw, &["INCRBYFLOAT", "f", "5000"]),
        bulk("5005.60000000000000009")
    );
    assert_eq!(call(&mut raw, &["SET", "g", "5.0e3"]), OK);
    assert_eq!(call(&mut raw, &["INCRBYFLOAT", "g", "2.0e2"]), bulk("5200"));
    assert_eq!(call(&mut raw, &["GET", "g"]), bulk("5200"));
    assert_eq!(call(&mut raw, &["SET", "h", "1000"]), OK);
    assert_eq!(
        call(&mut raw, &["INCRBYFLOAT", "h", "0.1"]),
        bulk("1000.09999999999999998")
    );
    assert_eq!(call(&mut raw, &["INCRBYFLOAT", "i", "-1e-30"]), bulk("0"));
    assert_eq!(call(&mut raw, &["INCRBYFLOAT", "j", "0x1p3"]), bulk("8"));
    assert_eq!(call(&mut raw, &["INCRBYFLOAT", "j", "+1.5"]), bulk("9.5"));
    assert_eq!(call(&mut raw, &["INCRBYFLOAT", "k", "3"]), bulk("3"));
    assert_eq!(
        call(&mut raw, &["INCR", "k"]),
        int(4),
        "an integral result is an integer again"
    );
    // The TTL is kept.
    assert_eq!(call(&mut raw, &["SET", "t", "1.5", "PX", "100"]), OK);
    assert_eq!(call(&mut raw, &["INCRBYFLOAT", "t", "1"]), bulk("2.5"));
    sleep_ms(150);
    assert_eq!(call(&mut raw, &["GET", "t"]), NIL);
}

#[test]
fn incrbyfloat_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for incr in [" 1", "1 ", "abc", "nan", "1e5000", "1e-5000", "", "1,5"] {
        assert_eq!(
            raw.call(&[b"INCRBYFLOAT", b"f", incr.as_bytes()]),
            NOT_FLOAT,
            "{incr:?}"
        );
    }
    assert_eq!(call(&mut raw, &["GET", "f"]), NIL);
    assert_eq!(
        call(&mut raw, &["INCRBYFLOAT", "f", "inf"]),
        b"-ERR increment would produce NaN or Infinity\r\n"
    );
    assert_eq!(call(&mut raw, &["SET", "huge", "1e4932"]), OK);
    assert_eq!(
        call(&mut raw, &["INCRBYFLOAT", "huge", "1e4932"]),
        b"-ERR increment would produce NaN or Infinity\r\n"
    );
    assert_eq!(call(&mut raw, &["SET", "s", " 2"]), OK);
    assert_eq!(call(&mut raw, &["INCRBYFLOAT", "s", "1"]), NOT_FLOAT);
    assert_eq!(call(&mut raw, &["GET", "s"]), bulk(" 2"));
}

#[test]
fn append_and_strlen() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["STRLEN", "k"]), int(0));
    assert_eq!(raw.call(&[b"APPEND", b"k", b""]), int(0));
    assert_eq!(
        call(&mut raw, &["GET", "k"]),
        EMPTY,
        "APPEND of nothing still creates the key"
    );
    assert_eq!(call(&mut raw, &["APPEND", "k", "Hello"]), int(5));
    assert_eq!(call(&mut raw, &["APPEND", "k", " World"]), int(11));
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("Hello World"));
    assert_eq!(call(&mut raw, &["STRLEN", "k"]), int(11));
    assert_eq!(call(&mut raw, &["SET", "n", "12"]), OK);
    assert_eq!(call(&mut raw, &["STRLEN", "n"]), int(2));
    assert_eq!(call(&mut raw, &["APPEND", "n", "3"]), int(3));
    assert_eq!(call(&mut raw, &["INCR", "n"]), int(124));
    assert_eq!(call(&mut raw, &["PSETEX", "t", "100", "a"]), OK);
    assert_eq!(call(&mut raw, &["APPEND", "t", "b"]), int(2));
    sleep_ms(150);
    assert_eq!(call(&mut raw, &["GET", "t"]), NIL, "APPEND keeps the TTL");
}

#[test]
fn append_and_setrange_respect_proto_max_bulk_len() {
    let server = TestServer::start_with(|values| values.proto_max_bulk_len = 16);
    let mut raw = server.raw();
    let too_long = b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    assert_eq!(call(&mut raw, &["APPEND", "k", "0123456789"]), int(10));
    assert_eq!(call(&mut raw, &["APPEND", "k", "012345"]), int(16));
    assert_eq!(call(&mut raw, &["APPEND", "k", "x"]), too_long);
    assert_eq!(call(&mut raw, &["SETRANGE", "k", "15", "y"]), int(16));
    assert_eq!(call(&mut raw, &["SETRANGE", "k", "16", "y"]), too_long);
    assert_eq!(call(&mut raw, &["SETRANGE", "new", "16", "y"]), too_long);
    assert_eq!(call(&mut raw, &["SETRANGE", "new", "99", "y"]), too_long);
    assert_eq!(
        raw.call(&[b"SETRANGE", b"new", b"100", b""]),
        int(0),
        "writing nothing is never too long"
    );
    assert_eq!(call(&mut raw, &["STRLEN", "k"]), int(16));
}

#[test]
fn getrange_and_substr() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["GETRANGE", "missing", "0", "-1"]), EMPTY);
    assert_eq!(call(&mut raw, &["GETRANGE", "missing", "a", "0"]), NOT_INT);
    assert_eq!(call(&mut raw, &["SET", "k", "Hello"]), OK);
    for (start, end, expected) in [
        ("0", "-1", "Hello"),
        ("-3", "-1", "llo"),
        ("0", "100", "Hello"),
        ("3", "1", ""),
        ("-100", "-50", "H"),
        ("-100", "0", "H"),
        ("5", "10", ""),
        ("-1", "-5", ""),
        ("4", "4", "o"),
        ("9223372036854775807", "-9223372036854775808", ""),
        ("-9223372036854775808", "9223372036854775807", "Hello"),
    ] {
        assert_eq!(
            call(&mut raw, &["GETRANGE", "k", start, end]),
            bulk(expected),
            "{start} {end}"
        );
        assert_eq!(
            call(&mut raw, &["SUBSTR", "k", start, end]),
            bulk(expected),
            "{start} {end}"
        );
    }
    assert_eq!(call(&mut raw, &["GETRANGE", "k", "0", "abc"]), NOT_INT);
    assert_eq!(call(&mut raw, &["SET", "n", "12345"]), OK);
    assert_eq!(call(&mut raw, &["GETRANGE", "n", "1", "2"]), bulk("23"));
    assert_eq!(raw.call(&[b"SET", b"e", b""]), OK);
    assert_eq!(call(&mut raw, &["GETRANGE", "e", "0", "0"]), EMPTY);
}

#[test]
fn setrange() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(raw.call(&[b"SETRANGE", b"k", b"5", b""]), int(0));
    assert_eq!(
        call(&mut raw, &["GET", "k"]),
        NIL,
        "writing nothing does not create the key"
    );
    assert_eq!(
        call(&mut raw, &["SETRANGE", "k", "-1", "x"]),
        b"-ERR offset is out of range\r\n"
    );
    assert_eq!(call(&mut raw, &["SETRANGE", "k", "abc", "x"]), NOT_INT);
    assert_eq!(call(&mut raw, &["SETRANGE", "k", "3", "ab"]), int(5));
    assert_eq!(call(&mut raw, &["GET", "k"]), b"$5\r\n\0\0\0ab\r\n");
    assert_eq!(call(&mut raw, &["SET", "h", "Hello World"]), OK);
    assert_eq!(call(&mut raw, &["SETRANGE", "h", "6", "Redis"]), int(11));
    assert_eq!(call(&mut raw, &["GET", "h"]), bulk("Hello Redis"));
    assert_eq!(raw.call(&[b"SETRANGE", b"h", b"100", b""]), int(11));
    assert_eq!(call(&mut raw, &["SETRANGE", "h", "13", "!"]), int(14));
    assert_eq!(
        call(&mut raw, &["GET", "h"]),
        b"$14\r\nHello Redis\0\0!\r\n"
    );
    assert_eq!(call(&mut raw, &["SET", "n", "123"]), OK);
    assert_eq!(call(&mut raw, &["SETRANGE", "n", "1", "9"]), int(3));
    assert_eq!(call(&mut raw, &["INCR", "n"]), int(194));
}

#[test]
fn lcs_plain_len_and_idx() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        call(&mut raw, &["MSET", "key1", "ohmytext", "key2", "mynewtext"]),
        OK
    );
    assert_eq!(call(&mut raw, &["LCS", "key1", "key2"]), bulk("mytext"));
    assert_eq!(call(&mut raw, &["LCS", "key1", "key2", "LEN"]), int(6));
    assert_eq!(
        call(&mut raw, &["LCS", "key1", "key2", "WITHMATCHLEN"]),
        bulk("mytext")
    );
    assert_eq!(
        call(&mut raw, &["LCS", "key1", "key2", "IDX"]),
        b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        call(&mut raw, &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
        b"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        call(
            &mut raw,
            &["LCS", "key1", "key2", "MINMATCHLEN", "-5", "IDX"]
        ),
        call(&mut raw, &["LCS", "key1", "key2", "IDX"])
    );
    // Missing keys are empty strings.
    assert_eq!(call(&mut raw, &["LCS", "a", "b"]), EMPTY);
    assert_eq!(call(&mut raw, &["LCS", "a", "key1", "LEN"]), int(0));
    assert_eq!(
        call(&mut raw, &["LCS", "a", "b", "IDX"]),
        b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"
    );
}

#[test]
fn lcs_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["MSET", "a", "abc", "b", "abd"]), OK);
    assert_eq!(
        call(&mut raw, &["LCS", "a", "b", "IDX", "LEN"]),
        b"-ERR If you want both the length and indexes, please just use IDX.\r\n"
    );
    assert_eq!(
        call(&mut raw, &["LCS", "a", "b", "LEN", "IDX", "foo"]),
        SYNTAX
    );
    assert_eq!(call(&mut raw, &["LCS", "a", "b", "MINMATCHLEN"]), SYNTAX);
    assert_eq!(
        call(&mut raw, &["LCS", "a", "b", "MINMATCHLEN", "x"]),
        NOT_INT
    );
    let small = TestServer::start_with(|values| values.proto_max_bulk_len = 1024 * 1024);
    let mut raw = small.raw();
    let long_a = "x".repeat(701);
    let long_b = "y".repeat(701);
    assert_eq!(call(&mut raw, &["MSET", "a", &long_a, "b", &long_b]), OK);
    assert_eq!(
        call(&mut raw, &["LCS", "a", "b", "LEN"]),
        b"-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n"
    );
}

/// Valkey 8.1's `SET ... IFEQ comparison-value`: set only over an equal string.
#[test]
fn set_ifeq_as_valkey() {
    let server = TestServer::start();
    let mut raw = server.raw();
    const WRONGTYPE: &[u8] =
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    // A missing key is not equal to anything: nothing is created.
    assert_eq!(call(&mut raw, &["SET", "k", "v", "IFEQ", "v"]), NIL);
    assert_eq!(call(&mut raw, &["EXISTS", "k"]), int(0));
    assert_eq!(call(&mut raw, &["SET", "k", "v", "IFEQ", ""]), NIL);
    call(&mut raw, &["SET", "k", "v1", "EX", "100"]);
    assert_eq!(call(&mut raw, &["SET", "k", "v2", "IFEQ", "V1"]), NIL);
    assert_eq!(call(&mut raw, &["SET", "k", "v2", "ifeq", "v1"]), OK);
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("v2"));
    // A set value drops the TTL unless KEEPTTL, as any SET.
    assert_eq!(call(&mut raw, &["TTL", "k"]), int(-1));
    call(&mut raw, &["EXPIRE", "k", "100"]);
    assert_eq!(
        call(&mut raw, &["SET", "k", "v3", "IFEQ", "v2", "KEEPTTL"]),
        OK
    );
    assert_ne!(call(&mut raw, &["TTL", "k"]), int(-1));
    assert_eq!(
        call(&mut raw, &["SET", "k", "v4", "IFEQ", "v3", "PX", "5000"]),
        OK
    );
    // With GET: the old value whatever the comparison decided, nil for a missing key.
    assert_eq!(
        call(&mut raw, &["SET", "k", "v5", "IFEQ", "no", "GET"]),
        bulk("v4")
    );
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("v4"));
    assert_eq!(
        call(&mut raw, &["SET", "k", "v5", "GET", "IFEQ", "v4"]),
        bulk("v4")
    );
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("v5"));
    assert_eq!(
        call(&mut raw, &["SET", "nokey", "v", "IFEQ", "v", "GET"]),
        NIL
    );
    // Integer-encoded values compare as their digits; binary values byte for byte.
    call(&mut raw, &["SET", "n", "123"]);
    assert_eq!(call(&mut raw, &["SET", "n", "x", "IFEQ", "0123"]), NIL);
    assert_eq!(call(&mut raw, &["SET", "n", "x", "IFEQ", "123"]), OK);
    raw.call(&[b"SET", b"b", b"a\x00b"]);
    assert_eq!(raw.call(&[b"SET", b"b", b"y", b"IFEQ", b"a\x00c"]), NIL);
    assert_eq!(raw.call(&[b"SET", b"b", b"y", b"IFEQ", b"a\x00b"]), OK);
    // Another type: WRONGTYPE, with or without GET, and the key is left alone.
    call(&mut raw, &["RPUSH", "l", "v"]);
    assert_eq!(call(&mut raw, &["SET", "l", "v", "IFEQ", "v"]), WRONGTYPE);
    assert_eq!(
        call(&mut raw, &["SET", "l", "v", "IFEQ", "v", "GET"]),
        WRONGTYPE
    );
    assert_eq!(call(&mut raw, &["TYPE", "l"]), b"+list\r\n");
    // IFEQ conflicts with NX, XX and itself; it needs its value.
    for bad in [
        &["SET", "k", "v", "IFEQ", "v5", "NX"][..],
        &["SET", "k", "v", "NX", "IFEQ", "v5"],
        &["SET", "k", "v", "XX", "IFEQ", "v5"],
        &["SET", "k", "v", "IFEQ", "v5", "XX"],
        &["SET", "k", "v", "IFEQ", "v5", "IFEQ", "v5"],
        &["SET", "k", "v", "IFEQ"],
        &["SETEX", "k", "10", "v", "IFEQ"],
        &["GETEX", "k", "IFEQ", "v5"],
    ] {
        let reply = call(&mut raw, bad);
        assert!(
            reply.starts_with(b"-ERR"),
            "{bad:?}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
    assert_eq!(call(&mut raw, &["GET", "k"]), bulk("v5"));
}

#[test]
fn delifeq_as_valkey() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["DELIFEQ", "k", "v"]), int(0));
    call(&mut raw, &["SET", "k", "v", "EX", "100"]);
    assert_eq!(call(&mut raw, &["DELIFEQ", "k", "V"]), int(0));
    assert_eq!(call(&mut raw, &["DELIFEQ", "k", "v "]), int(0));
    assert_eq!(call(&mut raw, &["EXISTS", "k"]), int(1));
    assert_eq!(call(&mut raw, &["DELIFEQ", "k", "v"]), int(1));
    assert_eq!(call(&mut raw, &["EXISTS", "k"]), int(0));
    assert_eq!(call(&mut raw, &["DELIFEQ", "k", "v"]), int(0));
    call(&mut raw, &["SET", "n", "-5"]);
    assert_eq!(call(&mut raw, &["DELIFEQ", "n", "-5"]), int(1));
    call(&mut raw, &["SADD", "s", "v"]);
    assert_eq!(
        call(&mut raw, &["DELIFEQ", "s", "v"]),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        call(&mut raw, &["DELIFEQ", "s"]),
        b"-ERR wrong number of arguments for 'delifeq' command\r\n"
    );
    assert_eq!(
        call(&mut raw, &["COMMAND", "GETKEYS", "DELIFEQ", "a", "b"]),
        b"*1\r\n$1\r\na\r\n"
    );
    // Only a real deletion dirties a WATCH.
    let mut watcher = server.raw();
    call(&mut raw, &["SET", "w", "mine"]);
    call(&mut watcher, &["WATCH", "w"]);
    assert_eq!(call(&mut raw, &["DELIFEQ", "w", "theirs"]), int(0));
    call(&mut watcher, &["MULTI"]);
    call(&mut watcher, &["PING"]);
    assert_eq!(call(&mut watcher, &["EXEC"]), b"*1\r\n+PONG\r\n");
    call(&mut watcher, &["WATCH", "w"]);
    assert_eq!(call(&mut raw, &["DELIFEQ", "w", "mine"]), int(1));
    call(&mut watcher, &["MULTI"]);
    call(&mut watcher, &["PING"]);
    assert_eq!(call(&mut watcher, &["EXEC"]), b"*-1\r\n");
}

/// INCRBYFLOAT stores its result as Redis's `createStringObjectFromLongDouble` does: an
/// `embstr`/`raw` string even when the number is whole, where SET and INCR would pick `int`.
#[test]
fn incrbyfloat_results_keep_the_string_encoding() {
    let mut both = differential::Differential::start();
    for args in [
        &["incrbyfloat", "fresh", "1"][..],
        &["object", "encoding", "fresh"],
        &["set", "n", "10"],
        &["object", "encoding", "n"],
        &["incrbyfloat", "n", "5"],
        &["object", "encoding", "n"],
        &["incrbyfloat", "n", "0.5"],
        &["object", "encoding", "n"],
        &["incr", "fresh"],
        &["object", "encoding", "fresh"],
        &["incrbyfloat", "big", "1e40"],
        &["object", "encoding", "big"],
        &["get", "big"],
        &["incrbyfloat", "big", "1e40"],
        &["strlen", "big"],
    ] {
        both.check_str(args);
    }
}
