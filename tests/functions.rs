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
