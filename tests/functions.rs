//! FUNCTION and FCALL: loading, listing, deleting, errors compared byte for byte with
//! redis-server; FUNCTION STATS and FUNCTION KILL while a function runs.

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use std::time::{Duration, Instant};

use common::{call, config_set, info_field, TestServer};
use differential::Differential;

// One function per library: the order FUNCTION LIST gives libraries and functions is unspecified.
const LIBRARY: &str = "#!lua name=mylib
redis.register_function{function_name='fail', callback=function() error('boom') end, flags={'no-writes', 'allow-oom'}, description='fails'}";
const ECHO: &str = "#!lua name=echolib
redis.register_function('echo_key', function(keys, args) return keys[1] end)";

#[test]
fn load_errors_answer_as_redis() {
    let mut diff = Differential::start();
    for code in [
        "return 1",
        "#!lua\nreturn 1",
        "#!lua name=a-b\nreturn 1",
        "#!lua name=\nreturn 1",
        "#!lua name=lib foo=bar\nreturn 1",
        "#!lua name=lib name=other\nreturn 1",
        "#!lua name=lib",
        "#!nope name=lib\nreturn 1",
        "#!lua name=lib\nreturn 1",
        "#!lua name=lib\nreturn (",
        "#!lua name=lib\nlocal x = nope",
        "#!lua name=lib\nredis.call('ping')",
        "#!lua name=lib\nredis.register_function('x')",
        "#!lua name=lib\nredis.register_function('x', 1)",
        "#!lua name=lib\nredis.register_function(1, function() end)",
        "#!lua name=lib\nredis.register_function('x', function() end, 3)",
        "#!lua name=lib\nredis.register_function{function_name='x', callback=function() end, flags={'bad'}}",
        "#!lua name=lib\nredis.register_function{function_name='x', callback=function() end, flags='no-writes'}",
        "#!lua name=lib\nredis.register_function{function_name='x', callback=function() end, other=1}",
        "#!lua name=lib\nredis.register_function{callback=function() end}",
        "#!lua name=lib\nredis.register_function{function_name='x'}",
        "#!lua name=lib\nredis.register_function{function_name=1, callback=function() end}",
        "#!lua name=lib\nredis.register_function{function_name='x', callback=1}",
        "#!lua name=lib\nredis.register_function{function_name='x', callback=function() end, description=1}",
        "#!lua name=lib\nredis.register_function('1-x', function() end)",
        "#!lua name=lib\nredis.register_function('f', function() end) redis.register_function('f', function() end)",
        // The metadata is split as Redis's `sdssplitargs` splits it: quotes and escapes.
        "#!lua name=\"lib\"\nredis.register_function('f1', function() return 1 end)",
        "#!lua name='lib'\nredis.register_function('f2', function() return 1 end)",
        "#!lua name=\"a b\"\nreturn 1",
        "#!lua name=\"x\nreturn 1",
        "#!lua \"name=lib\"\nredis.register_function('f3', function() return 1 end)",
        "#!lua name=\"q\"x\nreturn 1",
        "#!\"lua\" name=lib\nredis.register_function('f4', function() return 1 end)",
        "#!lua name=\\x41\nreturn 1",
        "#!lua name=\"\\x6cib\"\nredis.register_function('f6', function() return 1 end)",
    ] {
        diff.check_str(&["FUNCTION", "LOAD", code]);
    }
    // Leaves one library: FUNCTION LIST's order of libraries is unspecified.
    diff.check_str(&["FUNCTION", "DELETE", "lib"]);
    diff.check_str(&["FUNCTION", "LOAD", "REPLACE"]);
    diff.check_str(&["FUNCTION", "LOAD", "BAD", "#!lua name=lib\nreturn 1"]);
    diff.check_str(&["FUNCTION", "LOAD", LIBRARY]);
    diff.check_str(&["FUNCTION", "LOAD", LIBRARY]);
    diff.check_str(&["FUNCTION", "LOAD", "REPLACE", LIBRARY]);
    diff.check_str(&["FUNCTION", "LIST"]);
    diff.check_str(&["FUNCTION", "LIST", "WITHCODE"]);
    diff.check_str(&["FUNCTION", "LOAD", ECHO]);
    diff.check_str(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=other\nredis.register_function('echo_key', function() end)",
    ]);
    diff.check_str(&["FUNCTION", "LIST", "LIBRARYNAME", "my*"]);
    diff.check_str(&["FUNCTION", "LIST", "LIBRARYNAME", "echo*", "WITHCODE"]);
    diff.check_str(&["FUNCTION", "LIST", "LIBRARYNAME", "nomatch*"]);
    diff.check_str(&["FUNCTION", "LIST", "LIBRARYNAME"]);
    diff.check_str(&["FUNCTION", "LIST", "BAD"]);
    // The unknown argument is quoted as a C string: cut at a NUL, a trailing CR/LF trimmed.
    diff.check(&[b"FUNCTION", b"LIST", b"\x00\r\n\x00bin\xff\xfe\r\nEND"]);
    diff.check(&[b"FUNCTION", b"LIST", b"ab\r\ncd\r\n"]);
    diff.check(&[b"FUNCTION", b"LOAD", b"\r\n", b"x"]);
    diff.check(&[b"FUNCTION", b"LOAD", b"a\x00b", b"x"]);
    diff.check_str(&["FUNCTION", "LIST", "WITHCODE", "WITHCODE"]);
    diff.check_str(&["FUNCTION", "STATS"]);
    diff.check_str(&["FUNCTION", "KILL"]);
    diff.check_str(&["FUNCTION", "HELP"]);
    diff.check_str(&["FUNCTION", "FLUSH", "BAD"]);
    diff.check_str(&["FUNCTION", "FLUSH", "SYNC", "ASYNC"]);
    diff.check_str(&["FUNCTION", "DELETE", "nope"]);
    for protocol in ["3", "2"] {
        diff.both(&[b"HELLO", protocol.as_bytes()]);
        diff.check_str(&["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "mylib"]);
        diff.check_str(&["FUNCTION", "STATS"]);
        diff.check_str(&["FCALL", "echo_key", "1", "k1", "a"]);
    }
    // FCALL
    diff.check_str(&["FCALL", "echo_key", "0"]);
    // The load-time `redis` has no setresp, and a register_function kept past the load refuses
    // (Redis's functions.tcl).
    diff.check_str(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=lib2\nreturn redis.setresp(3)",
    ]);
    diff.check_str(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=keeper\nlocal lib = redis\nlib.register_function('late', function() lib.register_function('x', function() return 1 end) end)",
    ]);
    diff.check_str(&["FCALL", "late", "0"]);
    // Function names compare without case across libraries (Redis's functions.tcl), not within.
    diff.check_str(&["FCALL", "ECHO_KEY", "1", "k1"]);
    diff.check_str(&["FCALL_RO", "Echo_Key", "1", "k1"]);
    diff.check_str(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=other\nredis.register_function('ECHO_KEY', function() return 1 end)",
    ]);
    diff.check_str(&["FCALL", "echo_key", "2", "only"]);
    diff.check_str(&["FCALL", "echo_key", "-1"]);
    diff.check_str(&["FCALL", "echo_key", "x"]);
    diff.check_str(&["FCALL", "nope", "-1"]);
    diff.check_str(&["FCALL", "fail", "0"]);
    diff.check_str(&["FCALL_RO", "fail", "0"]);
    diff.check_str(&["FCALL_RO", "echo_key", "1", "k"]);
    diff.check_str(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=writer\nredis.register_function('w', function(keys, args) return redis.call('set', keys[1], args[1]) end)\nredis.register_function{function_name='ro', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}",
    ]);
    diff.check_str(&["FCALL", "w", "1", "fk", "fv"]);
    diff.check_str(&["GET", "fk"]);
    diff.check_str(&["FCALL", "ro", "1", "fk"]);
    diff.check_str(&["FUNCTION", "DELETE", "writer"]);
    diff.check_str(&["FCALL", "w", "1", "fk", "fv"]);
    diff.check_str(&["FUNCTION", "FLUSH"]);
    diff.check_str(&["FUNCTION", "LIST"]);
    diff.check_str(&["FCALL", "echo_key", "1", "k"]);
}

#[test]
fn stats_and_kill_while_a_function_runs() {
    let server = TestServer::start();
    let mut con = server.client();
    config_set(&mut con, "busy-reply-threshold", "50");
    let name: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg("#!lua name=spin\nredis.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}")
        .query(&mut con)
        .unwrap();
    assert_eq!(name, "spin");
    assert_eq!(info_field(&mut con, "memory", "number_of_functions"), "1");
    assert_eq!(info_field(&mut con, "memory", "number_of_libraries"), "1");
    let mut runner = server.raw();
    let mut other = server.raw();
    runner.send(b"*3\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n0\r\n");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = call(&mut other, &["PING"]);
        if reply.starts_with(b"-BUSY") {
            assert_eq!(
                reply,
                b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never BUSY");
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = String::from_utf8_lossy(&call(&mut other, &["FUNCTION", "STATS"])).into_owned();
    assert!(
        stats.contains("$4\r\nspin\r\n$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n"),
        "{stats}"
    );
    assert!(call(&mut other, &["SCRIPT", "KILL"]).starts_with(b"-BUSY"));
    assert_eq!(call(&mut other, &["FUNCTION", "KILL"]), b"+OK\r\n");
    let killed = runner.read_reply();
    assert!(
        killed.starts_with(
            b"-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."
        ),
        "{}",
        String::from_utf8_lossy(&killed)
    );
    assert_eq!(call(&mut other, &["PING"]), b"+PONG\r\n");
}

/// A library whose code is long enough for the payload to LZF-compress it.
const LONG: &str = "#!lua name=longlib
local padding = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
redis.register_function('long_len', function(keys, args) return #padding end)";

#[test]
fn dump_and_restore_answer_as_redis_and_move_libraries_both_ways() {
    let mut diff = Differential::start();
    // Nothing loaded: the payload is the footer alone.
    diff.check_str(&["FUNCTION", "DUMP"]);
    diff.check_str(&["FUNCTION", "LOAD", ECHO]);
    let one = diff.check_str(&["FUNCTION", "DUMP"]);
    diff.check_str(&["FUNCTION", "FLUSH"]);
    diff.check_str(&["FUNCTION", "LOAD", LONG]);
    let long = diff.check_str(&["FUNCTION", "DUMP"]);
    let payload = |reply: &[u8]| {
        let start = reply.iter().position(|&b| b == b'\n').unwrap() + 1;
        reply[start..reply.len() - 2].to_vec()
    };
    let (one, long) = (payload(&one), payload(&long));
    let restore = |diff: &mut Differential, payload: &[u8], policy: Option<&str>| {
        let mut args: Vec<&[u8]> = vec![b"FUNCTION", b"RESTORE", payload];
        if let Some(policy) = policy {
            args.push(policy.as_bytes());
        }
        diff.check(&args)
    };
    // APPEND (the default) refuses a library that exists; REPLACE and FLUSH take it.
    restore(&mut diff, &long, None);
    restore(&mut diff, &long, Some("append"));
    restore(&mut diff, &long, Some("REPLACE"));
    restore(&mut diff, &one, None);
    diff.check_str(&["FCALL", "echo_key", "1", "k"]);
    diff.check_str(&["FCALL", "long_len", "0"]);
    restore(&mut diff, &one, Some("FLUSH"));
    diff.check_str(&["FCALL", "long_len", "0"]);
    diff.check_str(&["FUNCTION", "LIST", "WITHCODE"]);
    // A function name another library holds.
    diff.check_str(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=other\nredis.register_function('long_len', function() return 0 end)",
    ]);
    restore(&mut diff, &long, None);
    restore(&mut diff, &long, Some("REPLACE"));
    diff.check_str(&["FUNCTION", "DELETE", "other"]);
    // Errors: policy, arity, version, checksum, records.
    restore(&mut diff, &one, Some("nope"));
    diff.check_str(&["FUNCTION", "RESTORE", "x", "APPEND", "more"]);
    diff.check_str(&["FUNCTION", "RESTORE"]);
    diff.check_str(&["FUNCTION", "RESTORE", ""]);
    diff.check_str(&["FUNCTION", "RESTORE", "short"]);
    let mut bad_crc = one.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 1;
    restore(&mut diff, &bad_crc, None);
    let mut later = one.clone();
    let at = later.len() - 10;
    later[at] = 11;
    restore(&mut diff, &later, None);
    for body in [
        &b""[..],
        &[0u8, 1, b'x'][..],
        &[245u8, 0x3f, b'x'][..],
        &[245u8][..],
        &[246u8, 1, b'n', 3, b'l', b'u', b'a', 1, 1, b'd', 60][..],
        &[246u8, 1, b'n'][..],
    ] {
        restore(&mut diff, &sealed(body), Some("FLUSH"));
    }
    // Libraries whose code fails to load, or that repeat a name within the payload.
    for codes in [
        vec!["#!lua name=bad\nreturn ("],
        vec!["return 1"],
        vec!["#!lua name=nofn\nlocal x = 1"],
        vec![ECHO, ECHO],
        vec![
            ECHO,
            "#!lua name=twin\nredis.register_function('echo_key', function() return 1 end)",
        ],
    ] {
        let mut body = Vec::new();
        for code in codes {
            body.push(245u8);
            put_rdb_string(&mut body, code.as_bytes());
        }
        restore(&mut diff, &sealed(&body), Some("FLUSH"));
    }
    // 7.0-rc records (name, engine, description, code) load as a library.
    let mut old = vec![246u8];
    for part in ["oldlib", "LUA"] {
        put_rdb_string(&mut old, part.as_bytes());
    }
    old.push(1);
    put_rdb_string(&mut old, b"a description");
    put_rdb_string(
        &mut old,
        b"redis.register_function('old_fn', function() return 'old' end)",
    );
    restore(&mut diff, &sealed(&old), Some("FLUSH"));
    diff.check_str(&["FCALL", "old_fn", "0"]);
    diff.check_str(&["FUNCTION", "LIST", "WITHCODE"]);

    // A payload from each restores in the other: several libraries, one LZF-compressed.
    diff.check_str(&["FUNCTION", "FLUSH"]);
    let connect = |port: u16| common::RawClient {
        stream: std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"),
    };
    let mut redis = connect(diff.redis.port);
    let mut cachet = connect(diff.cachet.port());
    for code in [LIBRARY, ECHO, LONG] {
        cachet.call(&[b"FUNCTION", b"LOAD", code.as_bytes()]);
    }
    redis.call(&[
        b"FUNCTION",
        b"LOAD",
        b"#!lua name=fromredis\nredis.register_function('from_redis', function() return 'r' end)",
    ]);
    let ours = payload(&cachet.call(&[b"FUNCTION", b"DUMP"]));
    let theirs = payload(&redis.call(&[b"FUNCTION", b"DUMP"]));
    assert_eq!(redis.call(&[b"FUNCTION", b"RESTORE", &ours]), b"+OK\r\n");
    assert_eq!(cachet.call(&[b"FUNCTION", b"RESTORE", &theirs]), b"+OK\r\n");
    diff.check_str(&["FCALL", "from_redis", "0"]);
    diff.check_str(&["FCALL", "long_len", "0"]);
    diff.check_str(&["FCALL", "echo_key", "1", "k"]);
    diff.check_str(&["FCALL", "fail", "0"]);
    diff.check_str(&["FUNCTION", "STATS"]);
}

/// RDB's plain string (lengths below 16384 only).
fn put_rdb_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if len < 64 {
        out.push(len as u8);
    } else {
        out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(bytes);
}

/// `body` with the RDB version and CRC64 footer, as a valid payload.
fn sealed(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend_from_slice(&10u16.to_le_bytes());
    let crc = crc::Crc::<u64>::new(&crc::CRC_64_REDIS).checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[test]
fn a_load_that_runs_too_long_stops_at_its_limit() {
    let mut diff = Differential::start();
    for code in [
        "#!lua name=slow\nwhile true do end",
        // Only `redis` is a global at load: no pcall to catch the timeout with.
        "#!lua name=slow\nlocal ok = pcall(function() while true do end end) redis.register_function('f', function() return 1 end)",
        "#!lua name=slow\nlocal s = string.rep('a', 2) redis.register_function('f', function() return 1 end)",
        "#!lua name=slow\nlocal i = 0 repeat i = i + 1 until false",
        // Under the limit: a few million instructions load.
        "#!lua name=quick\nlocal i = 0 while i < 3000000 do i = i + 1 end redis.register_function('quick', function() return i end)",
    ] {
        diff.check_str(&["FUNCTION", "LOAD", code]);
    }
    diff.check_str(&["FCALL", "quick", "0"]);
    diff.check_str(&["FUNCTION", "LIST", "LIBRARYNAME", "slow"]);
    // Nothing runs once a load has stopped: no kill to answer.
    diff.check_str(&["FUNCTION", "KILL"]);
    diff.check_str(&["SCRIPT", "KILL"]);
}
