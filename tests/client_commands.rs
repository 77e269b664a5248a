//! Client and server commands against the real server: CLIENT PAUSE/UNPAUSE (held commands, their
//! order, the still dataset), CLIENT NO-TOUCH, SETINFO, KILL MAXAGE, CLIENT LIST's fields, CLIENT
//! REPLY OFF with pub/sub, WAIT, WAITAOF, ROLE, REPLICAOF, MODULE, LOLWUT, MEMORY, OBJECT FREQ,
//! HSCAN NOVALUES, SRANDMEMBER/HRANDFIELD distributions, FLUSHALL under WATCH. Errors first, each
//! compared with redis-server 7.0 where 7.0 has the command, else with Redis 7.2/7.4's text.

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{bulk, call, int, RawClient, TestServer};
use differential::Differential;
use fleet::wait_until;

/// The text of a bulk or verbatim string reply.
fn text(reply: &[u8]) -> String {
    let text = String::from_utf8(reply.to_vec()).unwrap();
    let (header, body) = text.split_once("\r\n").unwrap();
    assert!(header.starts_with('$'), "not a bulk string: {text:?}");
    body.strip_suffix("\r\n").unwrap().to_string()
}

/// CLIENT LIST as one map of fields per client id.
fn clients(raw: &mut RawClient) -> HashMap<String, HashMap<String, String>> {
    text(&call(raw, "CLIENT LIST"))
        .lines()
        .map(|line| {
            let fields: HashMap<String, String> = line
                .split(' ')
                .map(|f| {
                    let (k, v) = f.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect();
            (fields["id"].clone(), fields)
        })
        .collect()
}

fn client_id(raw: &mut RawClient) -> String {
    let reply = call(raw, "CLIENT ID");
    String::from_utf8(reply[1..reply.len() - 2].to_vec()).unwrap()
}

/// Sends a request without waiting for its reply.
fn send(raw: &mut RawClient, request: &str) {
    let args: Vec<&str> = request.split(' ').collect();
    let mut bytes = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        bytes.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    raw.send(&bytes);
}

/// Waits until CLIENT LIST shows client `id` held (flag `b`) in `command`.
fn wait_held(observer: &mut RawClient, id: &str, command: &str) {
    wait_until(&format!("client {id} held in {command}"), || {
        clients(observer)
            .get(id)
            .is_some_and(|c| c["flags"].contains('b') && c["cmd"] == command)
    });
}

#[test]
fn errors_as_redis() {
    let mut diff = Differential::start();
    for request in [
        "CLIENT PAUSE abc",
        "CLIENT PAUSE -1",
        "CLIENT PAUSE 10 foo",
        "CLIENT PAUSE abc foo",
        "CLIENT PAUSE 10 write extra",
        "CLIENT PAUSE 99999999999999999999",
        "CLIENT UNPAUSE x",
        "CLIENT UNPAUSE",
        "CLIENT KILL ID abc",
        "CLIENT KILL foo bar",
        "CLIENT KILL 1.2.3.4:5",
        "WAIT",
        "WAIT 0",
        "WAIT 0 0",
        "WAIT x 0",
        "WAIT 0 x",
        "WAIT 0 -1",
        "WAIT -1 0",
        "WAIT 0 99999999999999999999",
        "ROLE",
        "ROLE x",
        "REPLICAOF no one",
        "REPLICAOF NO ONE",
        "SLAVEOF no one",
        "REPLICAOF no",
        "REPLICAOF a b",
        "REPLICAOF 127.0.0.1 x",
        "MODULE LIST",
        "MODULE LIST x",
        "MODULE LOAD /x",
        "MODULE LOADEX /x",
        "MODULE UNLOAD x",
        "MODULE foo",
        "MODULE HELP",
        "MODULE",
        "LOLWUT VERSION x",
        "MEMORY HELP",
        "MEMORY PURGE",
        "MEMORY foo",
        "MEMORY STATS x",
        "MEMORY DOCTOR x",
        "OBJECT FREQ missing",
        "SET k v",
        // cachet's default policy, allkeys-cachet, keeps frequencies; Redis's default does not.
        "CONFIG SET maxmemory-policy noeviction",
        "OBJECT FREQ k",
        "CONFIG SET maxmemory-policy allkeys-lru",
        "OBJECT FREQ k",
        "CONFIG SET maxmemory-policy allkeys-lfu",
        "SET k2 v",
        "OBJECT FREQ k2",
        "HSET h f v",
        "SSCAN missing 0 NOVALUES",
    ] {
        diff.check_str(&request.split(' ').collect::<Vec<_>>());
    }
    // Inside MULTI, WAIT is queued and answers 0 at EXEC.
    for request in ["MULTI", "WAIT 0 0", "WAIT 1 0", "EXEC"] {
        diff.check_str(&request.split(' ').collect::<Vec<_>>());
    }
    // A forbidden MODULE LOAD is refused before it is queued (the EXEC aborts), and before the
    // subscribed context's own refusal, as Redis checks its protected commands first.
    for request in [
        "MULTI",
        "MODULE LOAD /x",
        "MODULE LIST",
        "EXEC",
        "MULTI",
        "MODULE UNLOAD x",
        "DISCARD",
        "SUBSCRIBE c",
        "MODULE LOADEX /x",
        "MODULE LIST",
        "UNSUBSCRIBE c",
    ] {
        diff.check_str(&request.split(' ').collect::<Vec<_>>());
    }
}

/// What Redis 7.0 does not have, against the text of the Redis version that added it.
#[test]
fn newer_commands_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "HSET h f v");
    for (request, expected) in [
        ("CLIENT NO-TOUCH maybe", &b"-ERR syntax error\r\n"[..]),
        ("CLIENT NO-TOUCH", b"-ERR wrong number of arguments for 'client|no-touch' command\r\n"),
        ("CLIENT SETINFO lib-name", b"-ERR wrong number of arguments for 'client|setinfo' command\r\n"),
        ("CLIENT SETINFO lib-foo x", b"-ERR Unrecognized option 'lib-foo'\r\n"),
        ("CLIENT SETINFO LIB-NAME a\nb", b"-ERR LIB-NAME cannot contain spaces, newlines or special characters.\r\n"),
        ("CLIENT KILL MAXAGE abc", b"-ERR maxage is not an integer or out of range\r\n"),
        ("CLIENT KILL MAXAGE 0", b"-ERR maxage should be greater than 0\r\n"),
        ("CLIENT KILL MAXAGE -5", b"-ERR maxage should be greater than 0\r\n"),
        // Three arguments are the old form, CLIENT KILL addr.
        ("CLIENT KILL MAXAGE", b"-ERR No such client\r\n"),
        ("CLIENT KILL MAXAGE 5 SKIPME", b"-ERR syntax error\r\n"),
        ("WAITAOF 1 0 0", b"-ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.\r\n"),
        ("WAITAOF x 0 0", b"-ERR value is not an integer or out of range\r\n"),
        ("WAITAOF 0 x 0", b"-ERR value is not an integer or out of range\r\n"),
        ("WAITAOF 0 0 x", b"-ERR timeout is not an integer or out of range\r\n"),
        ("WAITAOF 0 0 -1", b"-ERR timeout is negative\r\n"),
        ("WAITAOF 0 0", b"-ERR wrong number of arguments for 'waitaof' command\r\n"),
        ("WAITAOF 0 0 0", b"*2\r\n:0\r\n:0\r\n"),
        ("WAITAOF 0 5 100", b"*2\r\n:0\r\n:0\r\n"),
        ("REPLICAOF 127.0.0.1 6379", b"-ERR REPLICAOF is not supported: cachet has no replication and is always a master\r\n"),
        ("SLAVEOF localhost 0", b"-ERR REPLICAOF is not supported: cachet has no replication and is always a master\r\n"),
        ("REPLICAOF 127.0.0.1 65536", b"-ERR Invalid master port\r\n"),
        ("REPLICAOF 127.0.0.1 -1", b"-ERR Invalid master port\r\n"),
        ("HSCAN h 0 NOVALUES COUNT x", b"-ERR value is not an integer or out of range\r\n"),
        ("ZSCAN missing 0 NOVALUES", b"*2\r\n$1\r\n0\r\n*0\r\n"),
    ] {
        // A newline inside an argument: sent as one bulk.
        let args: Vec<&str> = if request.contains('\n') {
            let (head, value) = request.rsplit_once(' ').unwrap();
            head.split(' ').chain([value]).collect()
        } else {
            request.split(' ').collect()
        };
        assert_eq!(
            String::from_utf8_lossy(&call(&mut raw, &args)),
            String::from_utf8_lossy(expected),
            "{request}"
        );
    }
    // NOVALUES on a set or sorted set that exists.
    call(&mut raw, "SADD s a");
    call(&mut raw, "ZADD z 1 a");
    for request in [
        "SSCAN s 0 NOVALUES",
        "ZSCAN z 0 NOVALUES",
        "SCAN 0 NOVALUES",
    ] {
        assert_eq!(
            call(&mut raw, request),
            b"-ERR NOVALUES option can only be used in HSCAN\r\n",
            "{request}"
        );
    }
}

#[test]
fn lolwut_answers_the_version_line() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let line = format!("Redis ver. {}\n", cachet::state::REDIS_COMPAT_VERSION);
    for request in [
        "LOLWUT",
        "LOLWUT VERSION 9 1 2",
        "LOLWUT foo",
        "LOLWUT VERSION 7 x",
    ] {
        assert_eq!(call(&mut raw, request), bulk(&line), "{request}");
    }
    call(&mut raw, "HELLO 3");
    assert_eq!(
        call(&mut raw, "LOLWUT"),
        format!("={}\r\ntxt:{line}\r\n", line.len() + 4).into_bytes()
    );
}

#[test]
fn client_list_fields_in_redis_order() {
    let diff = Differential::start();
    let mut ours = diff.cachet.raw();
    let mut theirs = RawClient {
        stream: std::net::TcpStream::connect(("127.0.0.1", diff.redis.port)).unwrap(),
    };
    let names = |line: &str| -> Vec<String> {
        line.trim_end()
            .split(' ')
            .map(|f| f.split_once('=').unwrap().0.to_string())
            .collect()
    };
    let ours_info = text(&call(&mut ours, "CLIENT INFO"));
    let theirs_info = text(&call(&mut theirs, "CLIENT INFO"));
    // Redis 7.2's fields: 7.0's, then lib-name and lib-ver.
    let mut expected = names(&theirs_info);
    expected.extend(["lib-name".to_string(), "lib-ver".to_string()]);
    assert_eq!(names(&ours_info), expected);
    assert!(
        ours_info.ends_with(" resp=2 lib-name= lib-ver=\n"),
        "{ours_info}"
    );
    assert_eq!(
        names(
            text(&call(&mut ours, "CLIENT LIST"))
                .lines()
                .next()
                .unwrap()
        ),
        expected
    );
}

#[test]
fn setinfo_no_touch_and_flags_show_in_client_list() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    let id = client_id(&mut a);
    assert_eq!(call(&mut a, "CLIENT SETINFO lib-name redis-py"), b"+OK\r\n");
    assert_eq!(call(&mut a, "CLIENT SETINFO LIB-VER 5.0.1"), b"+OK\r\n");
    assert_eq!(call(&mut a, "CLIENT NO-TOUCH on"), b"+OK\r\n");
    assert_eq!(call(&mut a, "CLIENT NO-EVICT on"), b"+OK\r\n");
    let list = clients(&mut b);
    assert_eq!(list[&id]["lib-name"], "redis-py");
    assert_eq!(list[&id]["lib-ver"], "5.0.1");
    assert_eq!(list[&id]["flags"], "eT");
    // An empty value clears; RESET clears NO-TOUCH and NO-EVICT but not the library.
    assert_eq!(
        call(&mut a, &["CLIENT", "SETINFO", "lib-ver", ""]),
        b"+OK\r\n"
    );
    assert_eq!(call(&mut a, "RESET"), b"+RESET\r\n");
    let list = clients(&mut b);
    assert_eq!(list[&id]["lib-ver"], "");
    assert_eq!(list[&id]["lib-name"], "redis-py");
    assert_eq!(list[&id]["flags"], "N");
}

#[test]
fn no_touch_reads_leave_the_lfu_counter() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "CONFIG SET maxmemory-policy allkeys-lfu");
    call(&mut raw, "SET k v");
    // A new key's counter is 5 (LFU_INIT_VAL); the first access from there always counts.
    assert_eq!(call(&mut raw, "OBJECT FREQ k"), int(5));
    assert_eq!(call(&mut raw, "CLIENT NO-TOUCH on"), b"+OK\r\n");
    for _ in 0..20 {
        assert_eq!(call(&mut raw, "GET k"), bulk("v"));
    }
    call(&mut raw, "MULTI");
    call(&mut raw, "GET k");
    assert_eq!(call(&mut raw, "EXEC"), b"*1\r\n$1\r\nv\r\n");
    assert_eq!(call(&mut raw, "OBJECT FREQ k"), int(5));
    // TOUCH still touches.
    assert_eq!(call(&mut raw, "TOUCH k"), int(1));
    assert_eq!(call(&mut raw, "OBJECT FREQ k"), int(6));
    assert_eq!(call(&mut raw, "CLIENT NO-TOUCH off"), b"+OK\r\n");
    call(&mut raw, "CONFIG SET lfu-log-factor 0");
    call(&mut raw, "GET k");
    assert_eq!(call(&mut raw, "OBJECT FREQ k"), int(7));
}

#[test]
fn kill_maxage_kills_only_older_clients() {
    let server = TestServer::start();
    let mut killer = server.raw();
    let mut old = server.raw();
    assert_eq!(call(&mut old, "PING"), b"+PONG\r\n");
    assert_eq!(call(&mut killer, "CLIENT KILL MAXAGE 100000"), int(0));
    std::thread::sleep(Duration::from_millis(2100));
    let mut young = server.raw();
    assert_eq!(call(&mut young, "PING"), b"+PONG\r\n");
    // The caller is as old as `old` but skipped (SKIPME yes by default); `young` is too young.
    assert_eq!(call(&mut killer, "CLIENT KILL MAXAGE 1"), int(1));
    assert!(old.is_closed());
    assert_eq!(call(&mut young, "PING"), b"+PONG\r\n");
    assert_eq!(call(&mut killer, "CLIENT KILL MAXAGE 1 SKIPME no"), int(1));
    assert!(killer.is_closed());
}

#[test]
fn blocked_client_shows_its_blocking_command() {
    let server = TestServer::start();
    let mut blocked = server.raw();
    let mut observer = server.raw();
    let id = client_id(&mut blocked);
    send(&mut blocked, "BLPOP list 0");
    wait_held(&mut observer, &id, "blpop");
    call(&mut observer, "RPUSH list x");
    assert_eq!(blocked.read_reply(), b"*2\r\n$4\r\nlist\r\n$1\r\nx\r\n");
}

#[test]
fn reply_off_still_delivers_pushes() {
    let server = TestServer::start();
    let mut sub = server.raw();
    let mut publisher = server.raw();
    send(&mut sub, "CLIENT REPLY OFF");
    send(&mut sub, "PING");
    send(&mut sub, "SUBSCRIBE ch");
    assert_eq!(
        sub.read_reply(),
        b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(call(&mut publisher, "PUBLISH ch hello"), int(1));
    assert_eq!(
        sub.read_reply(),
        b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
    );
    // SKIP: the next reply is skipped, not the confirmation.
    let mut skip = server.raw();
    send(&mut skip, "CLIENT REPLY SKIP");
    send(&mut skip, "SUBSCRIBE other");
    assert_eq!(
        skip.read_reply(),
        b"*3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:1\r\n"
    );
    // A client publishing to itself with replies off gets its message, not the count.
    let mut own = server.raw();
    send(&mut own, "HELLO 3");
    own.read_reply();
    send(&mut own, "SUBSCRIBE self");
    assert_eq!(
        own.read_reply(),
        b">3\r\n$9\r\nsubscribe\r\n$4\r\nself\r\n:1\r\n"
    );
    send(&mut own, "CLIENT REPLY OFF");
    send(&mut own, "PUBLISH self hi");
    send(&mut own, "CLIENT REPLY ON");
    assert_eq!(
        own.read_reply(),
        b">3\r\n$7\r\nmessage\r\n$4\r\nself\r\n$2\r\nhi\r\n"
    );
    assert_eq!(own.read_reply(), b"+OK\r\n");
    // Tracking invalidations too.
    let mut tracker = server.raw();
    send(&mut tracker, "HELLO 3");
    tracker.read_reply();
    assert_eq!(call(&mut tracker, "CLIENT TRACKING on"), b"+OK\r\n");
    let tracker_id = client_id(&mut tracker);
    send(&mut tracker, "CLIENT REPLY OFF");
    send(&mut tracker, "GET tracked");
    wait_until("the tracker's GET ran", || {
        clients(&mut publisher)
            .get(&tracker_id)
            .is_some_and(|c| c["cmd"] == "get")
    });
    assert_eq!(call(&mut publisher, "SET tracked 1"), b"+OK\r\n");
    assert_eq!(
        tracker.read_reply(),
        b">2\r\n$10\r\ninvalidate\r\n*1\r\n$7\r\ntracked\r\n"
    );
}

#[test]
fn pause_write_holds_writes_until_unpause() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut writer = server.raw();
    let mut reader = server.raw();
    let writer_id = client_id(&mut writer);
    assert_eq!(call(&mut admin, "CLIENT PAUSE 100000 WRITE"), b"+OK\r\n");
    send(&mut writer, "SET k v");
    wait_held(&mut reader, &writer_id, "set");
    // Held clients count as blocked ones, as Redis counts its postponed clients (pause.tcl).
    let blocked = |reader: &mut RawClient| {
        let info = String::from_utf8_lossy(&call(reader, "INFO clients")).into_owned();
        info.lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .map(|n| n.trim().to_string())
    };
    assert_eq!(blocked(&mut reader).as_deref(), Some("1"));
    // Reads go on; the write has not happened.
    assert_eq!(call(&mut reader, "GET k"), b"$-1\r\n");
    // Commands that may write are held too: PUBLISH, PFCOUNT, EXEC of a write.
    let mut publisher = server.raw();
    let publisher_id = client_id(&mut publisher);
    send(&mut publisher, "PUBLISH ch m");
    wait_held(&mut reader, &publisher_id, "publish");
    let mut counter = server.raw();
    let counter_id = client_id(&mut counter);
    send(&mut counter, "PFCOUNT h");
    wait_held(&mut reader, &counter_id, "pfcount");
    let mut tx = server.raw();
    let tx_id = client_id(&mut tx);
    assert_eq!(call(&mut tx, "MULTI"), b"+OK\r\n");
    // Queued writes are held at queueing time, as in Redis.
    send(&mut tx, "INCR n");
    wait_held(&mut reader, &tx_id, "incr");
    // A transaction of reads runs.
    assert_eq!(call(&mut reader, "MULTI"), b"+OK\r\n");
    assert_eq!(call(&mut reader, "GET k"), b"+QUEUED\r\n");
    assert_eq!(call(&mut reader, "EXEC"), b"*1\r\n$-1\r\n");
    // Unknown commands and wrong arities are answered, not held.
    assert_eq!(
        call(&mut reader, "SET k"),
        b"-ERR wrong number of arguments for 'set' command\r\n"
    );
    // EXEC of a transaction queued before the pause, with a write in it, is held.
    let mut queued_tx = server.raw();
    let queued_tx_id = client_id(&mut queued_tx);
    assert_eq!(call(&mut queued_tx, "MULTI"), b"+OK\r\n");
    assert_eq!(call(&mut queued_tx, "GET k"), b"+QUEUED\r\n");
    call(&mut admin, "CLIENT UNPAUSE");
    assert_eq!(call(&mut queued_tx, "SET k2 v"), b"+QUEUED\r\n");
    call(&mut admin, "CLIENT PAUSE 100000 WRITE");
    send(&mut queued_tx, "EXEC");
    wait_held(&mut reader, &queued_tx_id, "exec");
    assert_eq!(call(&mut reader, "CLIENT UNPAUSE"), b"+OK\r\n");
    assert_eq!(writer.read_reply(), b"+OK\r\n");
    assert_eq!(publisher.read_reply(), int(0));
    assert_eq!(counter.read_reply(), int(0));
    assert_eq!(tx.read_reply(), b"+QUEUED\r\n");
    // The writer was held first, so its SET ran before this EXEC.
    assert_eq!(queued_tx.read_reply(), b"*2\r\n$1\r\nv\r\n+OK\r\n");
    assert_eq!(call(&mut tx, "EXEC"), b"*1\r\n:1\r\n");
    assert_eq!(call(&mut reader, "GET k"), bulk("v"));
    assert_eq!(blocked(&mut reader).as_deref(), Some("0"));
    let list = clients(&mut reader);
    assert_eq!(list[&writer_id]["flags"], "N");
    assert_eq!(list[&writer_id]["cmd"], "set");
}

/// Sends one request of any bytes (`send` splits on spaces) without waiting for its reply.
fn send_args(raw: &mut RawClient, args: &[&str]) {
    let mut bytes = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        bytes.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    raw.send(&bytes);
}

/// What CLIENT PAUSE WRITE does with each way of running a script on the server at `port`: per
/// request, whether it was held, then its reply once the pause ends.
fn scripts_under_pause_write(port: u16) -> Vec<(Vec<String>, bool, String)> {
    let connect = || RawClient::connect(("127.0.0.1", port));
    let mut admin = connect();
    let load = |admin: &mut RawClient, args: &[&str]| {
        send_args(admin, args);
        String::from_utf8_lossy(&admin.read_reply()).into_owned()
    };
    load(&mut admin, &["FUNCTION", "FLUSH"]);
    let library = "#!lua name=lib\n\
        redis.register_function('w', function(k) return redis.call('set', k[1], 1) end)\n\
        redis.register_function{function_name='r', callback=function() return 1 end, flags={'no-writes'}}";
    assert_eq!(
        load(&mut admin, &["FUNCTION", "LOAD", library]),
        "$3\r\nlib\r\n"
    );
    let (reads, writes) = ("#!lua flags=no-writes\nreturn 1", "#!lua\nreturn 1");
    let sha = |admin: &mut RawClient, body: &str| {
        let reply = load(admin, &["SCRIPT", "LOAD", body]);
        reply.lines().nth(1).unwrap().to_string()
    };
    let (reads_sha, writes_sha) = (sha(&mut admin, reads), sha(&mut admin, writes));
    let zeros = "0".repeat(40);
    let cases: Vec<Vec<&str>> = vec![
        vec!["EVAL", "return 1", "0"],
        vec!["EVAL", reads, "0"],
        vec!["EVAL", writes, "0"],
        vec!["EVAL_RO", "return 1", "0"],
        vec!["EVAL_RO", writes, "0"],
        vec!["EVALSHA", &reads_sha, "0"],
        vec!["EVALSHA", &writes_sha, "0"],
        vec!["EVALSHA", &zeros, "0"],
        vec!["EVALSHA_RO", &reads_sha, "0"],
        vec!["FCALL", "w", "1", "x"],
        vec!["FCALL", "R", "0"],
        vec!["FCALL_RO", "r", "0"],
        vec!["FCALL", "nosuch", "0"],
    ];
    assert_eq!(call(&mut admin, "CLIENT PAUSE 100000 WRITE"), b"+OK\r\n");
    let mut sent = Vec::new();
    for case in &cases {
        let mut raw = connect();
        let id = client_id(&mut raw);
        send_args(&mut raw, case);
        sent.push((id, raw));
    }
    // Every request has reached its command, held (flag `b`) or answered.
    let mut observer = connect();
    wait_until("every script request seen", || {
        let list = clients(&mut observer);
        sent.iter()
            .zip(&cases)
            .all(|((id, _), case)| list[id]["cmd"] == case[0].to_ascii_lowercase())
    });
    let list = clients(&mut observer);
    let held: Vec<bool> = sent
        .iter()
        .map(|(id, _)| list[id]["flags"].contains('b'))
        .collect();
    assert_eq!(call(&mut admin, "CLIENT UNPAUSE"), b"+OK\r\n");
    cases
        .iter()
        .zip(held)
        .zip(sent.iter_mut())
        .map(|((case, held), (_, raw))| {
            let args = case.iter().map(|a| a.to_string()).collect();
            (
                args,
                held,
                String::from_utf8_lossy(&raw.read_reply()).into_owned(),
            )
        })
        .collect()
}

/// CLIENT PAUSE WRITE holds a script that may write as Redis 7.0 decides it before running it:
/// by the flags the script or function declared, else (no shebang, not found) by its command's.
#[test]
fn pause_write_holds_scripts_that_may_write_as_redis() {
    let redis = fleet::RedisServer::start();
    let cachet = TestServer::start();
    let want = scripts_under_pause_write(redis.port);
    let held = |outcomes: &[(Vec<String>, bool, String)], first: &str, second: &str| {
        outcomes
            .iter()
            .find(|(args, _, _)| args[0] == first && args[1] == second)
            .map(|(_, held, _)| *held)
            .unwrap()
    };
    // What the comparison rests on: a script without flags is held, one with `no-writes` not.
    assert!(held(&want, "EVAL", "return 1"));
    assert!(!held(&want, "EVAL_RO", "return 1"));
    assert!(!held(&want, "FCALL_RO", "r"));
    assert!(held(&want, "FCALL", "w"));
    assert_eq!(scripts_under_pause_write(cachet.port()), want);
}

#[test]
fn pause_all_holds_every_command_until_its_end() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut other = server.raw();
    let start = Instant::now();
    assert_eq!(call(&mut admin, "CLIENT PAUSE 300 ALL"), b"+OK\r\n");
    // Even PING and CLIENT UNPAUSE wait, as in Redis; they run when the pause ends.
    assert_eq!(call(&mut other, "PING"), b"+PONG\r\n");
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(call(&mut admin, "CLIENT UNPAUSE"), b"+OK\r\n");
    assert_eq!(call(&mut admin, "SET k v"), b"+OK\r\n");
}

#[test]
fn held_clients_resume_in_order_and_pauses_only_extend() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut observer = server.raw();
    assert_eq!(call(&mut admin, "CLIENT PAUSE 100000 WRITE"), b"+OK\r\n");
    // A shorter and narrower pause does not shorten this one.
    assert_eq!(call(&mut admin, "CLIENT PAUSE 1 WRITE"), b"+OK\r\n");
    let mut held = Vec::new();
    for i in 0..5 {
        let mut raw = server.raw();
        let id = client_id(&mut raw);
        send(&mut raw, &format!("RPUSH list {i}"));
        wait_held(&mut observer, &id, "rpush");
        held.push(raw);
    }
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(call(&mut observer, "EXISTS list"), int(0));
    // One held client leaves: the others are not held up by it.
    let mut gone = held.remove(2);
    let gone_id = client_id_of(&mut observer, 3);
    assert_eq!(
        call(&mut observer, &format!("CLIENT KILL ID {gone_id}")),
        int(1)
    );
    assert!(gone.is_closed());
    assert_eq!(call(&mut admin, "CLIENT UNPAUSE"), b"+OK\r\n");
    for (n, raw) in held.iter_mut().enumerate() {
        assert_eq!(raw.read_reply(), int(n as i64 + 1));
    }
    assert_eq!(
        call(&mut observer, "LRANGE list 0 -1"),
        b"*4\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n"
    );
}

/// The id of the `nth` (1-based) client held in RPUSH, by age.
fn client_id_of(observer: &mut RawClient, nth: usize) -> String {
    let mut ids: Vec<u64> = clients(observer)
        .values()
        .filter(|c| c["cmd"] == "rpush")
        .map(|c| c["id"].parse().unwrap())
        .collect();
    ids.sort();
    ids[nth - 1].to_string()
}

#[test]
fn keys_do_not_expire_while_paused() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut con = server.client();
    assert_eq!(call(&mut raw, "SET k v PX 30"), b"+OK\r\n");
    assert_eq!(call(&mut raw, "CLIENT PAUSE 100000 WRITE"), b"+OK\r\n");
    std::thread::sleep(Duration::from_millis(200));
    // Logically gone, yet still stored: neither a read nor the cron deleted it.
    assert_eq!(call(&mut raw, "GET k"), b"$-1\r\n");
    assert_eq!(call(&mut raw, "DBSIZE"), int(1));
    assert_eq!(common::info_u64(&mut con, "stats", "expired_keys"), 0);
    assert_eq!(call(&mut raw, "CLIENT UNPAUSE"), b"+OK\r\n");
    assert_eq!(call(&mut raw, "GET k"), b"$-1\r\n");
    assert_eq!(call(&mut raw, "DBSIZE"), int(0));
    assert_eq!(common::info_u64(&mut con, "stats", "expired_keys"), 1);
}

#[test]
fn nothing_is_evicted_while_paused() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "CONFIG SET maxmemory-policy allkeys-random");
    for i in 0..100 {
        call(&mut raw, &format!("SET key{i} {}", "x".repeat(100)));
    }
    assert_eq!(call(&mut raw, "CLIENT PAUSE 100000 WRITE"), b"+OK\r\n");
    call(&mut raw, "CONFIG SET maxmemory 1");
    std::thread::sleep(Duration::from_millis(200));
    // Neither the cron nor a read evicted anything.
    assert_eq!(call(&mut raw, "GET key1"), bulk("x".repeat(100)));
    assert_eq!(call(&mut raw, "DBSIZE"), int(100));
    assert_eq!(call(&mut raw, "CLIENT UNPAUSE"), b"+OK\r\n");
    wait_until("eviction after the pause", || {
        call(&mut raw, "DBSIZE") == int(0)
    });
    call(&mut raw, "CONFIG SET maxmemory 0");
}

#[test]
fn role_wait_and_memory_stats_shapes() {
    let mut diff = Differential::start();
    diff.check_str(&["SET", "k", "v"]);
    // MEMORY STATS: the same field names in the same order (values are each server's own).
    let (ours, theirs) = diff.both(&[b"MEMORY", b"STATS"]);
    let keys = |reply: &[u8]| -> Vec<String> {
        let text = String::from_utf8_lossy(reply).into_owned();
        let lines: Vec<&str> = text.split("\r\n").collect();
        let mut names = Vec::new();
        map_names(&lines, &mut 0, &mut names);
        names
    };
    assert_eq!(keys(&ours), keys(&theirs));
    assert!(keys(&ours).contains(&"db.0".to_string()));
    let doctor = String::from_utf8_lossy(&diff.both(&[b"MEMORY", b"DOCTOR"]).0).into_owned();
    assert!(doctor.contains("Hi Sam"), "{doctor}");
    let (stats, _) = diff.both(&[b"MEMORY", b"MALLOC-STATS"]);
    assert!(
        String::from_utf8_lossy(&stats).contains("Begin jemalloc statistics"),
        "{}",
        String::from_utf8_lossy(&stats)
    );
}

/// The names of a RESP2 map (a flat array of name/value pairs), nested maps' names included,
/// from `lines[*at]`; leaves `*at` after it.
fn map_names(lines: &[&str], at: &mut usize, names: &mut Vec<String>) {
    let pairs: usize = lines[*at][1..].parse::<usize>().unwrap() / 2;
    *at += 1;
    for _ in 0..pairs {
        names.push(lines[*at + 1].to_string());
        *at += 2;
        match lines[*at].as_bytes()[0] {
            b'*' => map_names(lines, at, names),
            b'$' => *at += 2,
            _ => *at += 1,
        }
    }
}

#[test]
fn memory_stats_counts_keys() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "SELECT 3");
    for i in 0..10 {
        call(&mut raw, &format!("SET k{i} v"));
    }
    let reply = String::from_utf8(call(&mut raw, "MEMORY STATS")).unwrap();
    assert!(reply.contains("$4\r\ndb.3\r\n*6\r\n"), "{reply}");
    assert!(!reply.contains("db.0"), "{reply}");
    assert!(reply.contains("$10\r\nkeys.count\r\n:10\r\n"), "{reply}");
    call(&mut raw, "HELLO 3");
    let reply = String::from_utf8(call(&mut raw, "MEMORY STATS")).unwrap();
    assert!(reply.starts_with("%28\r\n"), "{reply}");
    assert!(reply.contains("$18\r\ndataset.percentage\r\n,"), "{reply}");
}

#[test]
fn flushall_fails_the_exec_of_a_client_watching_several_keys() {
    let diff = Differential::start();
    for port in [diff.cachet.port(), diff.redis.port] {
        let connect = || RawClient {
            stream: std::net::TcpStream::connect(("127.0.0.1", port)).unwrap(),
        };
        let (mut watcher, mut other) = (connect(), connect());
        call(&mut other, "MSET a 1 b 2 c 3");
        assert_eq!(call(&mut watcher, "WATCH a b c"), b"+OK\r\n");
        assert_eq!(call(&mut other, "FLUSHALL"), b"+OK\r\n");
        call(&mut watcher, "MULTI");
        call(&mut watcher, "SET a 9");
        assert_eq!(call(&mut watcher, "EXEC"), b"*-1\r\n", "port {port}");
        // Keys that did not exist are not touched by a flush.
        assert_eq!(call(&mut watcher, "WATCH x y"), b"+OK\r\n");
        assert_eq!(call(&mut other, "FLUSHALL"), b"+OK\r\n");
        call(&mut watcher, "MULTI");
        call(&mut watcher, "SET a 9");
        assert_eq!(call(&mut watcher, "EXEC"), b"*1\r\n+OK\r\n", "port {port}");
    }
}

#[test]
fn hscan_novalues() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "HSET small f1 v1 f2 v2");
    assert_eq!(
        call(&mut raw, "HSCAN small 0 NOVALUES"),
        b"*2\r\n$1\r\n0\r\n*2\r\n$2\r\nf1\r\n$2\r\nf2\r\n"
    );
    assert_eq!(
        call(&mut raw, "HSCAN small 0 MATCH *2 NOVALUES"),
        b"*2\r\n$1\r\n0\r\n*1\r\n$2\r\nf2\r\n"
    );
    for i in 0..300 {
        call(&mut raw, &format!("HSET big f{i} v{i}"));
    }
    let mut cursor = "0".to_string();
    let mut fields = Vec::new();
    loop {
        let reply = String::from_utf8(call(
            &mut raw,
            &format!("HSCAN big {cursor} NOVALUES COUNT 50"),
        ))
        .unwrap();
        let lines: Vec<&str> = reply.split("\r\n").collect();
        cursor = lines[2].to_string();
        fields.extend(
            lines[4..]
                .iter()
                .filter(|l| l.starts_with('f'))
                .map(|l| l.to_string()),
        );
        if cursor == "0" {
            break;
        }
    }
    fields.sort();
    fields.dedup();
    assert_eq!(fields.len(), 300);
}

/// Pearson's chi-square of how often each of the members came up, against a uniform draw.
fn chi_square(counts: &HashMap<String, usize>, members: usize) -> f64 {
    let total: usize = counts.values().sum();
    let expected = total as f64 / members as f64;
    assert_eq!(counts.len(), members, "every member comes up: {counts:?}");
    counts
        .values()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// The elements of a flat array reply of bulk strings.
fn elements(reply: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(reply)
        .split("\r\n")
        .skip(1)
        .collect::<Vec<_>>()
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| pair[1].to_string())
        .collect()
}

/// SRANDMEMBER and HRANDFIELD draw uniformly, with and without repetitions, in every encoding:
/// Redis's own test (10 members, df = 9, chi-square below 40: a one in 100,000 chance to fail by
/// luck).
#[test]
fn random_members_are_uniform() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (setup, key, command) in [
        ("", "ints", "SRANDMEMBER"),
        ("", "words", "SRANDMEMBER"),
        (
            "CONFIG SET set-max-intset-entries 0",
            "table",
            "SRANDMEMBER",
        ),
        ("", "hash", "HRANDFIELD"),
        (
            "CONFIG SET hash-max-listpack-entries 0",
            "bighash",
            "HRANDFIELD",
        ),
    ] {
        if !setup.is_empty() {
            assert_eq!(call(&mut raw, setup), b"+OK\r\n");
        }
        for i in 0..10 {
            let member = if key == "ints" || key == "table" {
                format!("{i}")
            } else {
                format!("m{i}")
            };
            if command == "SRANDMEMBER" {
                call(&mut raw, &format!("SADD {key} {member}"));
            } else {
                call(&mut raw, &format!("HSET {key} {member} v"));
            }
        }
        let mut counts = HashMap::new();
        for member in elements(&call(&mut raw, &format!("{command} {key} -1000"))) {
            *counts.entry(member).or_insert(0) += 1;
        }
        assert!(
            chi_square(&counts, 10) < 40.0,
            "{command} {key} -1000: {counts:?}"
        );
        for size in [8, 2] {
            let mut counts = HashMap::new();
            for _ in 0..1000 / size {
                for member in elements(&call(&mut raw, &format!("{command} {key} {size}"))) {
                    *counts.entry(member).or_insert(0) += 1;
                }
            }
            assert!(
                chi_square(&counts, 10) < 40.0,
                "{command} {key} {size}: {counts:?}"
            );
        }
    }
    let encodings: Vec<String> = ["ints", "words", "table", "hash", "bighash"]
        .iter()
        .map(|k| text(&call(&mut raw, &format!("OBJECT ENCODING {k}"))))
        .collect();
    assert_eq!(
        encodings,
        ["intset", "hashtable", "hashtable", "listpack", "hashtable"]
    );
}

/// WAIT asking for replicas blocks until its timeout on a server without replicas, then answers
/// 0; CLIENT UNBLOCK ends the wait with the same 0 (or UNBLOCKED); the blocked client shows in
/// CLIENT LIST and INFO. Each step is run against redis-server too, and the replies compared.
#[test]
fn wait_blocks_like_redis_without_replicas() {
    let diff = Differential::start();
    let connect = |port: u16| RawClient {
        stream: std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"),
    };
    for port in [diff.redis.port, diff.cachet.port()] {
        let mut waiter = connect(port);
        let mut observer = connect(port);
        let id = client_id(&mut waiter);
        // A timeout: the reply comes after it, with no replica counted.
        assert_eq!(call(&mut waiter, "WAIT 1 50"), int(0), "port {port}");
        assert_eq!(call(&mut waiter, "WAIT 0 0"), int(0));
        assert_eq!(call(&mut waiter, "WAIT -3 0"), int(0));
        // 0 waits until CLIENT UNBLOCK, which answers as the timeout would.
        send(&mut waiter, "WAIT 2 0");
        wait_held(&mut observer, &id, "wait");
        assert_eq!(
            info_line(&mut observer, "blocked_clients"),
            "blocked_clients:1"
        );
        assert_eq!(call(&mut observer, &format!("CLIENT UNBLOCK {id}")), int(1));
        assert_eq!(waiter.read_reply(), int(0));
        send(&mut waiter, "WAIT 1 100000");
        wait_held(&mut observer, &id, "wait");
        assert_eq!(
            call(&mut observer, &format!("CLIENT UNBLOCK {id} ERROR")),
            int(1)
        );
        assert_eq!(
            waiter.read_reply(),
            b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
        );
        assert_eq!(call(&mut observer, &format!("CLIENT UNBLOCK {id}")), int(0));
        // Inside MULTI it answers at once.
        for (request, reply) in [
            ("MULTI", &b"+OK\r\n"[..]),
            ("WAIT 5 0", b"+QUEUED\r\n"),
            ("EXEC", b"*1\r\n:0\r\n"),
        ] {
            assert_eq!(call(&mut waiter, request), reply);
        }
        // A blocked client that goes away leaves nothing blocked.
        send(&mut waiter, "WAIT 1 0");
        wait_held(&mut observer, &id, "wait");
        drop(waiter);
        wait_until("the waiter's registration is gone", || {
            info_line(&mut observer, "blocked_clients") == "blocked_clients:0"
        });
    }
}

/// WAITAOF (Redis 7.2, not in redis-server 7.0) asking replicas blocks the same way.
#[test]
fn waitaof_asking_replicas_blocks_until_unblocked() {
    let server = TestServer::start();
    let mut waiter = server.raw();
    let mut observer = server.raw();
    let id = client_id(&mut waiter);
    send(&mut waiter, "WAITAOF 0 1 0");
    wait_held(&mut observer, &id, "waitaof");
    assert_eq!(call(&mut observer, &format!("CLIENT UNBLOCK {id}")), int(1));
    assert_eq!(waiter.read_reply(), b"*2\r\n:0\r\n:0\r\n");
    assert_eq!(call(&mut waiter, "WAITAOF 0 1 20"), b"*2\r\n:0\r\n:0\r\n");
}

fn info_line(raw: &mut RawClient, field: &str) -> String {
    text(&call(raw, "INFO clients"))
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_default()
        .to_string()
}

/// LOLWUT's text with the version in its footer left out (each server names its own).
fn lolwut_text(reply: &[u8]) -> String {
    let text = String::from_utf8(reply.to_vec()).unwrap();
    // The bulk header's length counts the version too.
    let text = text
        .split_once("\r\n")
        .map_or(text.clone(), |(_, body)| body.to_string());
    match text.find("Redis ver. ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// LOLWUT's drawings: what Redis draws without randomness (Schotter's first two rows) is the same
/// bytes; the random ones have the same lines, widths and footer; errors and clamps as Redis's.
#[test]
fn lolwut_draws_as_redis() {
    let mut diff = Differential::start();
    for request in [
        "LOLWUT VERSION 5 x",
        "LOLWUT VERSION 5 10 x",
        "LOLWUT VERSION 5 10 2 x",
        "LOLWUT VERSION 6 10 x",
        "LOLWUT VERSION x",
    ] {
        diff.check_str(&request.split(' ').collect::<Vec<_>>());
    }
    for (request, random) in [
        ("LOLWUT VERSION 5 4 1 1", false),
        ("LOLWUT VERSION 5 1 1 1", false),
        ("LOLWUT VERSION 5 66 8 2", false),
        ("LOLWUT VERSION 5 0 -5 0", false),
        ("LOLWUT VERSION 5 2000 300 2", false),
        ("LOLWUT VERSION 4", false),
        ("LOLWUT VERSION 7", false),
        ("LOLWUT VERSION 59", false),
        ("LOLWUT VERSION -1", false),
        ("LOLWUT", false),
        ("LOLWUT VERSION 5", true),
        ("LOLWUT VERSION 5 30 5 9", true),
        ("LOLWUT VERSION 6", true),
        ("LOLWUT VERSION 6 30 10", true),
        ("LOLWUT VERSION 6 0 0", true),
        ("LOLWUT VERSION 6 5000 3", true),
    ] {
        let args: Vec<&str> = request.split(' ').collect();
        let (ours, theirs) = diff.both(&args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
        let (ours, theirs) = (lolwut_text(&ours), lolwut_text(&theirs));
        if !random {
            assert_eq!(ours, theirs, "{request}");
            continue;
        }
        // Characters per line; a skyline's pixel is one space between color escapes.
        let shape = |text: &str| -> Vec<usize> {
            text.split('\n')
                .map(|l| match l.matches("\x1b[0m").count() {
                    0 => l.chars().count(),
                    pixels => pixels,
                })
                .collect()
        };
        assert_eq!(shape(&ours), shape(&theirs), "{request}");
        let footer = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| {
                    ["Georg", "Dedicated", "Original"]
                        .iter()
                        .any(|w| l.starts_with(w))
                })
                .map(str::to_string)
                .collect()
        };
        assert!(!footer(&ours).is_empty(), "{request}");
        assert_eq!(footer(&ours), footer(&theirs), "{request}");
    }
}
