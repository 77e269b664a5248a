//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: errors, the sandbox and the Lua ↔ RESP
//! conversions compared byte for byte with redis-server; BUSY, SCRIPT KILL and UNKILLABLE;
//! a script's writes reaching WATCH, keyspace notifications and tags; real clients (redis-py's
//! `Lock` and `register_script`, `redis-cli --eval`).

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use std::time::{Duration, Instant};

use common::{bulk, call, config_set, info_field, int, RawClient, TestServer};
use differential::Differential;

fn eval(diff: &mut Differential, script: &str, rest: &[&str]) -> Vec<u8> {
    let mut args = vec!["EVAL", script];
    args.extend_from_slice(rest);
    diff.check_str(&args)
}

/// A Lua function that prints any value with its types and sorted keys, so that a reply's
/// conversion into Lua can be compared as one string.
const DUMP: &str = r#"
local function dump(v)
  local t = type(v)
  if t == 'table' then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. '=' .. dump(v[k]) end
    return '{' .. table.concat(parts, ',') .. '}'
  end
  return t .. ':' .. tostring(v)
end
"#;

#[test]
fn errors_and_edge_cases_answer_as_redis() {
    let mut diff = Differential::start();
    // numkeys
    eval(&mut diff, "return 1", &["-1"]);
    eval(&mut diff, "return 1", &["2", "a"]);
    eval(&mut diff, "return 1", &["x"]);
    eval(&mut diff, "return 1", &["99999999999999999999"]);
    diff.check_str(&["EVAL", "return 1"]);
    // compile errors, shebangs
    eval(&mut diff, "return (", &["0"]);
    eval(&mut diff, "#!lua flags=bad\nreturn 1", &["0"]);
    eval(&mut diff, "#!lua name=x\nreturn 1", &["0"]);
    eval(&mut diff, "#!luax\nreturn 1", &["0"]);
    eval(&mut diff, "#! lua\nreturn 1", &["0"]);
    eval(&mut diff, "#!lua\nreturn 1", &["0"]);
    eval(&mut diff, "#!lua", &["0"]);
    eval(
        &mut diff,
        "#!lua flags=no-writes,allow-oom\nreturn 2",
        &["0"],
    );
    // The shebang is split as Redis's `sdssplitargs` splits it: quotes and escapes.
    for script in [
        "#!lua flags=\"no-writes\"\nreturn 1",
        "#!lua flags='no-writes,allow-oom'\nreturn 2",
        "#!lua flags=\"no-writes\nreturn 1",
        "#!\"lua\"\nreturn 3",
        "#!lua \"flags=no-writes\"\nreturn redis.call('set','x','1')",
        "#!lua flags=no-writes\"\nreturn 1",
    ] {
        eval(&mut diff, script, &["0"]);
    }
    // Reads may not block from a script: Redis keeps an error for it (stream-cgroups.tcl).
    diff.check_str(&["XADD", "s", "1-1", "f", "v"]);
    diff.check_str(&["XGROUP", "CREATE", "s", "g", "$"]);
    for call in [
        "return redis.pcall('xread','BLOCK',0,'STREAMS','s','$')",
        "return redis.pcall('XREADGROUP','GROUP','g','c','BLOCK',0,'STREAMS','s','>')",
        "return redis.pcall('xread','COUNT',1,'STREAMS','s','0')",
    ] {
        eval(&mut diff, call, &["1", "s"]);
    }
    // errors raised by the script, with Redis's "script: ..., on ..." context
    for script in [
        "return a",
        "a = 1",
        "error('x')",
        "error({err='MY x'})",
        "error(12)",
        "error()",
        "error(true)",
        "local t = nil; return t.x",
        "return redis.call('nope')",
        "return redis.call()",
        "return redis.call('get','a','b')",
        "redis.call('incr')",
        "return redis.call('get', {})",
        "return redis.call('multi')",
        "return redis.call('eval', 'return 1', '0')",
        "return redis.call('subscribe', 'c')",
        "redis.call('set', 'str', 'x') return redis.call('incr', 'str')",
        "return redis.sha1hex()",
        "return redis.setresp(4)",
        "return redis.setresp()",
        "return redis.log()",
        "return redis.log('x', 'y')",
        "return redis.log(9, 'y')",
        "return redis.set_repl(9)",
        "return redis.set_repl()",
        "return redis.acl_check_cmd('nope')",
        "string.x = 1",
        "redis.call = 1",
        "rawset(_G, 'x', 1)",
        "setmetatable(_G, {})",
        "return debug",
        "return os",
        "return io",
        "return loadfile",
        "return dofile",
        "return print",
        "return setfenv",
        "return loadstring('x = 1')()",
    ] {
        eval(&mut diff, script, &["0"]);
    }
    // error and status replies built by the script
    for script in [
        "return redis.error_reply('My Error')",
        "return redis.error_reply('-My Error')",
        "return redis.error_reply('x')",
        "return redis.error_reply(1)",
        "return redis.status_reply('FINE')",
        "return redis.status_reply('a\\r\\nb')",
        "return redis.status_reply()",
        "return {err='a\\nb'}",
        "return {ok='fine', err='bad'}",
        "return redis.pcall('nope')",
        "return redis.pcall('incr')",
        "return {redis.pcall('incr', 'nokey', 'x')}",
        "local ok, e = pcall(redis.call, 'nope') return {tostring(ok), type(e), e}",
        "local ok, e = pcall(function() redis.call('nope') end) return e",
        "local ok, e = pcall(function() error('x') end) return e",
        "local ok, e = pcall(function() error({err='T x'}) end) return type(e)",
        "return redis.sha1hex('')",
        "return redis.sha1hex(12)",
        "return redis.acl_check_cmd('get')",
        "return {redis.replicate_commands(), redis.breakpoint()}",
        "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
        "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}",
        "return redis.log(redis.LOG_WARNING, 'from a script', 1)",
        "return redis.set_repl(redis.REPL_ALL)",
        "return _G.string.len('abc')",
        "return rawget(_G, 'redis') ~= nil",
        "local n = 0 for k in pairs(string) do n = n + 1 end return n > 10",
        "return loadstring('return 1 + 1')()",
        "return {type(cjson), type(bit), type(coroutine), type(cjson.null)}",
        "return {bit.tobit(0xffffffff), bit.tohex(255), bit.tohex(-1, -4), bit.band(7, 3), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.lshift(1, 40), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(1, 33), bit.ror(1, 1), bit.bswap(1), bit.bnot(0)}",
        "return cjson.encode({1, 2, 'a', {x=1}, true, false})",
        "return cjson.encode({a='/\\n\"\\1'})",
        "return cjson.encode({})",
        "return cjson.encode(3.14159265358979)",
        "return cjson.encode({1e20, -0.5, 100})",
        "return cjson.encode({[1]=1, [20]=2})",
        "return cjson.encode({[1]=1, [3]=2})",
        "return cjson.encode(function() end)",
        "return cjson.encode({[true]=1})",
        "return cjson.encode(cjson.null)",
        "return cjson.decode('[1,2,{\"a\":null}]')[3].a == cjson.null",
        "return tostring(cjson.decode('{\"a\":[1,2.5,\"x\\u00e9\"]}').a[2])",
        "return cjson.decode('{\"a\":[1,2.5,\"x\\u00e9\"]}').a[3]",
        "return cjson.decode('[1,')",
        "return cjson.decode('nope')",
        "return cjson.decode('[1] x')",
        "return cjson.decode('{1:2}')",
        "local ok, e = pcall(cjson.decode, '[') return e",
        "cjson.x = 1",
        "redis.call('set', 'n', 3.14) return redis.call('get', 'n')",
        "redis.call('set', 'n', 1e20) return redis.call('get', 'n')",
        "redis.call('set', 'n', -0.5) return redis.call('get', 'n')",
        "return redis.call('select', 2)",
        "return redis.call('blpop', 'nolist', 0)",
        "return {math.floor(1.5), string.rep('x', 3), table.concat({1, 2}, '-')}",
    ] {
        eval(&mut diff, script, &["0"]);
    }
    // SELECT inside a script does not move the caller.
    diff.check_str(&["SET", "here", "0"]);
    eval(
        &mut diff,
        "redis.call('select', 1) return redis.call('get', 'here')",
        &["0"],
    );
    diff.check_str(&["GET", "here"]);
    // KEYS and ARGV
    eval(
        &mut diff,
        "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}",
        &["2", "a", "b", "c", "d"],
    );
    eval(&mut diff, "return {#KEYS, #ARGV}", &["0"]);
    // read-only scripts
    eval(
        &mut diff,
        "#!lua flags=no-writes\nreturn redis.call('set','a','b')",
        &["0"],
    );
    diff.check_str(&["EVAL_RO", "return redis.call('set','a','b')", "0"]);
    diff.check_str(&["EVAL_RO", "return redis.call('get','a')", "0"]);
    diff.check_str(&["EVAL_RO", "#!lua\nreturn 1", "0"]);
    diff.check_str(&["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"]);
    diff.check_str(&["EVAL_RO", "return redis.call('publish','c','m')", "0"]);
    diff.check_str(&["GET", "a"]);
}

#[test]
fn conversions_both_ways_in_resp2_and_resp3() {
    let mut diff = Differential::start();
    for setup in [
        &["SET", "s", "hello"][..],
        &["RPUSH", "l", "a", "b", "c"],
        &["HSET", "h", "f1", "v1", "f2", "v2"],
        // One member: the order of a set's members differs between the servers.
        &["SADD", "set", "x"],
        &["ZADD", "z", "1.5", "m1", "2", "m2"],
        &["SET", "n", "10"],
    ] {
        diff.check_str(setup);
    }
    // Lua → reply
    let returns = [
        "return 'str'",
        "return 42",
        "return 3.99",
        "return -3.99",
        "return 1e30",
        "return -1e30",
        "return true",
        "return false",
        "return nil",
        "return {}",
        "return {1, 2, 3}",
        "return {1, nil, 3}",
        "return {1, 'two', {3, {4}}, true, false}",
        "return {ok='status'}",
        "return {err='ERR custom'}",
        "return {1, {err='ERR inner'}, {ok='inner'}}",
        "return {double=3.5}",
        "return {double='x'}",
        "return {big_number='123456789012345678901234567890'}",
        "return {map={a=1}}",
        "return {map={}}",
        "return {set={x=true}}",
        "return {set={}}",
        "return {verbatim_string={format='txt', string='hi'}}",
        "return {verbatim_string={format='txt'}}",
        "return {x=1, y=2}",
        "return {1, 2, x=3}",
        "local t = {} t[1] = t return 1",
    ];
    // What commands reply, read into Lua and printed.
    let calls = [
        "return dump(redis.call('get', 's'))",
        "return dump(redis.call('get', 'missing'))",
        "return dump(redis.call('lrange', 'l', 0, -1))",
        "return dump(redis.call('hgetall', 'h'))",
        "return dump(redis.call('hgetall', 'missing'))",
        "return dump(redis.call('smembers', 'set'))",
        "return dump(redis.call('zrange', 'z', 0, -1, 'withscores'))",
        "return dump(redis.call('zscore', 'z', 'm1'))",
        "return dump(redis.call('incr', 'n'))",
        "return dump(redis.call('set', 'k', 'v'))",
        "return dump(redis.call('ping'))",
        "return dump(redis.pcall('incr', 's'))",
        "return dump(redis.call('exists', 's'))",
        "return dump(redis.call('blpop', 'nolist', 0))",
        "return dump(redis.call('lpop', 'missing'))",
        "return dump(redis.call('lpop', 'missing', 2))",
        "return dump(redis.call('hrandfield', 'h', -1, 'withvalues') ~= nil)",
        "return dump(redis.call('type', 'h'))",
    ];
    for protocol in ["2", "3"] {
        diff.both(&[b"HELLO", protocol.as_bytes()]);
        for resp in ["2", "3"] {
            for script in returns {
                let full = format!("redis.setresp({resp}) {script}");
                eval(&mut diff, &full, &["0"]);
            }
            for script in calls {
                let full = format!("{DUMP} redis.setresp({resp}) {script}");
                eval(&mut diff, &full, &["0"]);
            }
        }
    }
    assert!(diff.compared > 180, "compared {}", diff.compared);
}

#[test]
fn script_cache_answers_as_redis() {
    let mut diff = Differential::start();
    let sha = diff.check_str(&["SCRIPT", "LOAD", "return 'cached'"]);
    let sha = String::from_utf8_lossy(&sha[5..45]).into_owned();
    diff.check_str(&["EVALSHA", &sha, "0"]);
    diff.check_str(&["EVALSHA", &sha.to_uppercase(), "0"]);
    diff.check_str(&["EVALSHA_RO", &sha, "0"]);
    diff.check_str(&["EVALSHA", "abc", "0"]);
    diff.check_str(&["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"]);
    diff.check_str(&["EVALSHA", &sha, "-1"]);
    // A name that cannot be a SHA1 is NOSCRIPT whatever numkeys says; a 40-byte one is not.
    for numkeys in ["x", "-1", "5"] {
        diff.check_str(&["EVALSHA", "abc", numkeys, "k"]);
        diff.check_str(&["EVALSHA_RO", "abc", numkeys, "k"]);
        diff.check_str(&[
            "EVALSHA",
            "ffffffffffffffffffffffffffffffffffffffff",
            numkeys,
            "k",
        ]);
    }
    diff.check_str(&["SCRIPT", "EXISTS", &sha, &sha.to_uppercase(), "nope"]);
    diff.check_str(&["SCRIPT", "LOAD", "return ("]);
    diff.check_str(&["SCRIPT", "LOAD", "#!lua flags=nope\nreturn 1"]);
    diff.check_str(&["SCRIPT", "FLUSH", "BAD"]);
    diff.check_str(&["SCRIPT", "FLUSH", "SYNC", "ASYNC"]);
    diff.check_str(&["SCRIPT", "FLUSH", "ASYNC"]);
    diff.check_str(&["SCRIPT", "EXISTS", &sha]);
    diff.check_str(&["EVALSHA", &sha, "0"]);
    // EVAL caches what it runs.
    diff.check_str(&["EVAL", "return 'cached'", "0"]);
    diff.check_str(&["SCRIPT", "EXISTS", &sha]);
    diff.check_str(&["SCRIPT", "FLUSH"]);
    diff.check_str(&["SCRIPT", "KILL"]);
    diff.check_str(&["SCRIPT", "HELP"]);
    diff.check_str(&["SCRIPT", "DEBUG", "NO"]);
    diff.check_str(&["SCRIPT", "DEBUG", "maybe"]);
    diff.check_str(&["SCRIPT", "NOPE"]);
    diff.check_str(&["SCRIPT"]);
    diff.check_str(&["COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "c"]);
    diff.check_str(&["COMMAND", "GETKEYS", "EVALSHA_RO", &sha, "1", "a"]);
    diff.check_str(&["COMMAND", "GETKEYS", "FCALL", "f", "3", "a", "b", "c", "d"]);
    // Queued in MULTI, run by EXEC.
    diff.check_str(&["MULTI"]);
    diff.check_str(&["EVAL", "return redis.call('incr', KEYS[1])", "1", "ctr"]);
    diff.check_str(&["EVAL", "return redis.call('incr', KEYS[1])", "1", "ctr"]);
    diff.check_str(&["EXEC"]);
}

/// Reads until a reply arrives on `raw` (a script's caller).
fn reply_within(raw: &mut RawClient) -> Vec<u8> {
    raw.read_reply()
}

/// Sends EVAL of `script` without waiting for its reply.
fn send_eval(raw: &mut RawClient, script: &str) {
    let mut request = b"*3\r\n$4\r\nEVAL\r\n".to_vec();
    request.extend_from_slice(format!("${}\r\n{script}\r\n$1\r\n0\r\n", script.len()).as_bytes());
    raw.send(&request);
}

/// Polls with PING until the server answers BUSY (the script passed the threshold).
fn wait_busy(raw: &mut RawClient) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = raw.call(&[b"PING"]);
        if reply.starts_with(b"-BUSY") {
            return reply;
        }
        assert!(
            Instant::now() < deadline,
            "never BUSY: {:?}",
            String::from_utf8_lossy(&reply)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A server with one worker thread (the default on one CPU): the script past the threshold gives
/// that worker up, so the others are answered BUSY and SCRIPT KILL stops an endless script, where
/// a single-threaded scheduler left the whole server spinning in it.
#[test]
fn one_worker_thread_still_answers_busy_and_script_kill() {
    let node = fleet::ProcessNode::start(
        fleet::free_port(),
        ["--threads", "1", "--busy-reply-threshold", "50"]
            .map(String::from)
            .to_vec(),
    );
    let connect = || {
        let stream = std::net::TcpStream::connect(("127.0.0.1", node.port)).expect("connect");
        // A server stuck in the script would leave a read waiting forever.
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        RawClient { stream }
    };
    let mut runner = connect();
    let mut other = connect();
    send_eval(&mut runner, "while 1 do end");
    wait_busy(&mut other);
    assert_eq!(call(&mut other, &["SCRIPT", "KILL"]), b"+OK\r\n");
    assert!(reply_within(&mut runner).starts_with(b"-ERR Script killed by user"));
    assert_eq!(call(&mut runner, &["PING"]), b"+PONG\r\n");
}

#[test]
fn busy_script_kill_and_unkillable() {
    let server = TestServer::start();
    let mut con = server.client();
    config_set(&mut con, "busy-reply-threshold", "50");
    let mut runner = server.raw();
    let mut other = server.raw();
    // Nothing runs: NOTBUSY.
    assert_eq!(
        call(&mut other, &["SCRIPT", "KILL"]),
        b"-NOTBUSY No scripts in execution right now.\r\n"
    );
    assert_eq!(
        call(&mut other, &["FUNCTION", "KILL"]),
        b"-NOTBUSY No scripts in execution right now.\r\n"
    );
    // A read-only script that loops: others are answered BUSY, SCRIPT KILL stops it.
    send_eval(&mut runner, "local i=0 while 1 do end");
    let busy = wait_busy(&mut other);
    assert_eq!(
        busy,
        b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    // FUNCTION STATS answers while a function runs, not while an EVAL script does.
    assert!(call(&mut other, &["FUNCTION", "STATS"]).starts_with(b"-BUSY"));
    assert_eq!(
        call(&mut other, &["FUNCTION", "KILL"]),
        b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    // Refused while busy: a transaction is flagged and EXEC discards it.
    let mut tx = server.raw();
    assert_eq!(call(&mut tx, &["MULTI"]), b"+OK\r\n");
    assert!(call(&mut tx, &["SET", "k", "v"]).starts_with(b"-BUSY"));
    assert_eq!(call(&mut other, &["SCRIPT", "KILL"]), b"+OK\r\n");
    let killed = reply_within(&mut runner);
    assert!(
        killed.starts_with(b"-ERR Script killed by user with SCRIPT KILL... script: "),
        "{}",
        String::from_utf8_lossy(&killed)
    );
    assert!(call(&mut tx, &["EXEC"]).starts_with(b"-EXECABORT"));
    assert_eq!(call(&mut other, &["PING"]), b"+PONG\r\n");
    // pcall cannot swallow the kill.
    send_eval(
        &mut runner,
        "while 1 do pcall(function() while 1 do end end) end",
    );
    wait_busy(&mut other);
    assert_eq!(call(&mut other, &["SCRIPT", "KILL"]), b"+OK\r\n");
    assert!(reply_within(&mut runner).starts_with(b"-ERR Script killed by user"));
    // A script that wrote cannot be killed; SHUTDOWN NOSAVE stops it and the server.
    send_eval(&mut runner, "redis.call('set','w','1') while true do end");
    wait_busy(&mut other);
    assert_eq!(
        call(&mut other, &["SCRIPT", "KILL"]),
        b"-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n"
    );
    assert!(call(&mut other, &["SHUTDOWN"]).starts_with(b"-BUSY"));
    other.send(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n");
    let deadline = Instant::now() + Duration::from_secs(60);
    // The killed script answers, then the listener closes.
    assert!(reply_within(&mut runner).starts_with(b"-ERR Script killed by user"));
    while std::net::TcpStream::connect(("127.0.0.1", server.port())).is_ok() {
        assert!(
            Instant::now() < deadline,
            "SHUTDOWN NOSAVE did not stop the server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn script_writes_reach_watch_notifications_and_tags() {
    let server = TestServer::start();
    let mut con = server.client();
    // WATCH is dirtied by a script's write.
    let mut watcher = server.raw();
    assert_eq!(call(&mut watcher, &["WATCH", "w"]), b"+OK\r\n");
    let _: () = redis::cmd("EVAL")
        .arg("redis.call('set', KEYS[1], 'x')")
        .arg(1)
        .arg("w")
        .query(&mut con)
        .unwrap();
    assert_eq!(call(&mut watcher, &["MULTI"]), b"+OK\r\n");
    assert_eq!(call(&mut watcher, &["GET", "w"]), b"+QUEUED\r\n");
    assert_eq!(call(&mut watcher, &["EXEC"]), b"*-1\r\n");
    // A keyspace notification for a script's write.
    config_set(&mut con, "notify-keyspace-events", "KA");
    let mut subscriber = server.raw();
    call(&mut subscriber, &["SUBSCRIBE", "__keyspace@0__:note"]);
    let _: () = redis::cmd("EVAL")
        .arg("redis.call('lpush', KEYS[1], 'x')")
        .arg(1)
        .arg("note")
        .query(&mut con)
        .unwrap();
    let message = subscriber.read_reply();
    assert!(
        String::from_utf8_lossy(&message).contains("lpush"),
        "{}",
        String::from_utf8_lossy(&message)
    );
    // A script writes a tagged key and another invalidates the tag.
    let tagged: i64 = redis::cmd("EVAL")
        .arg("redis.call('cache.set', KEYS[1], ARGV[1], 'TAGS', 1, 'team') return redis.call('tag.card', 'team')")
        .arg(1)
        .arg("t:1")
        .arg("v")
        .query(&mut con)
        .unwrap();
    assert_eq!(tagged, 1);
    let removed: i64 = redis::cmd("EVAL")
        .arg("return redis.call('tag.invalidate', 'team')")
        .arg(0)
        .query(&mut con)
        .unwrap();
    assert_eq!(removed, 1);
    let gone: Option<String> = redis::cmd("GET").arg("t:1").query(&mut con).unwrap();
    assert_eq!(gone, None);
}

#[test]
fn out_of_memory_refuses_writing_scripts() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: () = redis::cmd("SET")
        .arg("fill")
        .arg("x".repeat(4096))
        .query(&mut con)
        .unwrap();
    config_set(&mut con, "maxmemory", "1");
    let mut raw = server.raw();
    // Compatibility mode: the first write is refused inside the script.
    let reply = call(
        &mut raw,
        &["EVAL", "return redis.call('set', 'a', 'b')", "0"],
    );
    assert!(
        reply.starts_with(b"-OOM command not allowed when used memory > 'maxmemory'. script: "),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    // A shebang script that may write is refused before it runs.
    assert_eq!(
        call(&mut raw, &["EVAL", "#!lua\nreturn 1", "0"]),
        b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
    );
    assert_eq!(
        call(&mut raw, &["EVAL", "#!lua flags=no-writes\nreturn 1", "0"]),
        int(1)
    );
    assert_eq!(
        call(&mut raw, &["EVAL", "#!lua flags=allow-oom\nreturn 1", "0"]),
        int(1)
    );
    assert_eq!(
        call(
            &mut raw,
            &["EVAL", "return redis.call('get', 'nothing')", "0"]
        ),
        b"$-1\r\n"
    );
}

#[test]
fn info_counts_scripts() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg("return 1")
        .query(&mut con)
        .unwrap();
    let _: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg("return 2")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        info_field(&mut con, "memory", "number_of_cached_scripts"),
        "2"
    );
    assert_eq!(
        info_field(&mut con, "memory", "used_memory_scripts_eval"),
        "16"
    );
    assert_ne!(info_field(&mut con, "memory", "used_memory_lua"), "0");
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut con).unwrap();
    assert_eq!(
        info_field(&mut con, "memory", "number_of_cached_scripts"),
        "0"
    );
    assert_eq!(info_field(&mut con, "memory", "used_memory_lua"), "0");
}

#[test]
fn redis_cli_eval_runs_a_file() {
    let server = TestServer::start();
    let dir = common::TempDir::new("eval");
    let file = dir.join("incrby.lua");
    std::fs::write(&file, "return redis.call('incrby', KEYS[1], ARGV[1])").unwrap();
    let output = std::process::Command::new("redis-cli")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &server.port().to_string(),
            "--eval",
        ])
        .arg(&file)
        .args(["counter", ",", "5"])
        .output()
        .expect("redis-cli");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "5");
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["GET", "counter"]), bulk("5"));
}

/// redis-py's `Lock` (acquire, extend, release: its own Lua scripts through EVALSHA) and
/// `register_script` (CI installs python3-redis: `.ci/run`).
#[test]
fn redis_py_lock_and_register_script() {
    let server = TestServer::start();
    let program = format!(
        r#"
import redis
r = redis.Redis(host='127.0.0.1', port={port})
lock = r.lock('resource', timeout=10)
assert lock.acquire(blocking=False)
assert not r.lock('resource', timeout=10).acquire(blocking=False)
assert lock.extend(5)
assert r.pttl('resource') > 10000
lock.release()
assert r.get('resource') is None
try:
    lock.release()
    raise SystemExit('released twice')
except redis.exceptions.LockError:
    pass
incr = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
assert incr(keys=['n'], args=[2]) == 2
r.script_flush()
assert incr(keys=['n'], args=[3]) == 5
print('ok')
"#,
        port = server.port()
    );
    let output = common::python_with("redis")
        .args(["-c", &program])
        .output()
        .expect("python3");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
