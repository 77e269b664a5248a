//! Transactions against a real server. Expected replies are those of redis-server 7.0 for the
//! same requests, compared as raw bytes.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{call, RawClient, TestServer};

fn ok(raw: &mut RawClient, command: &str) {
    assert_eq!(call(raw, command), b"+OK\r\n", "{command}");
}

fn queued(raw: &mut RawClient, command: &str) {
    assert_eq!(call(raw, command), b"+QUEUED\r\n", "{command}");
}

const EXECABORT: &[u8] = b"-EXECABORT Transaction discarded because of previous errors.\r\n";

/// WATCH `key` on `watcher`, run `other_commands` on another client, then a one-PING transaction:
/// the EXEC reply tells whether the watch was dirtied.
fn exec_after(server: &TestServer, setup: &[&str], key: &str, other_commands: &[&str]) -> Vec<u8> {
    let mut watcher = server.raw();
    let mut other = server.raw();
    for command in setup {
        call(&mut other, command);
    }
    ok(&mut watcher, &format!("WATCH {key}"));
    for command in other_commands {
        call(&mut other, command);
    }
    ok(&mut watcher, "MULTI");
    queued(&mut watcher, "PING");
    call(&mut watcher, "EXEC")
}

const RAN: &[u8] = b"*1\r\n+PONG\r\n";
const DIRTY: &[u8] = b"*-1\r\n";

#[test]
fn exec_and_discard_without_multi_and_nested_multi() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, "EXEC"), b"-ERR EXEC without MULTI\r\n");
    assert_eq!(call(&mut raw, "DISCARD"), b"-ERR DISCARD without MULTI\r\n");
    ok(&mut raw, "MULTI");
    assert_eq!(call(&mut raw, "EXEC"), b"*0\r\n");
    // Neither a nested MULTI nor WATCH inside MULTI aborts the transaction.
    ok(&mut raw, "MULTI");
    assert_eq!(
        call(&mut raw, "MULTI"),
        b"-ERR MULTI calls can not be nested\r\n"
    );
    assert_eq!(
        call(&mut raw, "WATCH x"),
        b"-ERR WATCH inside MULTI is not allowed\r\n"
    );
    queued(&mut raw, "SET x 1");
    queued(&mut raw, "GET x");
    assert_eq!(call(&mut raw, "EXEC"), b"*2\r\n+OK\r\n$1\r\n1\r\n");
    assert_eq!(call(&mut raw, "EXEC"), b"-ERR EXEC without MULTI\r\n");
    // DISCARD drops the queue.
    ok(&mut raw, "MULTI");
    queued(&mut raw, "SET x 2");
    ok(&mut raw, "DISCARD");
    assert_eq!(call(&mut raw, "GET x"), b"$1\r\n1\r\n");
    assert_eq!(call(&mut raw, "DISCARD"), b"-ERR DISCARD without MULTI\r\n");
    // RESET leaves the transaction too.
    ok(&mut raw, "MULTI");
    queued(&mut raw, "SET x 3");
    assert_eq!(call(&mut raw, "RESET"), b"+RESET\r\n");
    assert_eq!(call(&mut raw, "EXEC"), b"-ERR EXEC without MULTI\r\n");
    assert_eq!(call(&mut raw, "GET x"), b"$1\r\n1\r\n");
}

#[test]
fn errors_while_queueing_abort_the_exec() {
    let server = TestServer::start();
    let mut raw = server.raw();
    ok(&mut raw, "MULTI");
    assert_eq!(
        call(&mut raw, "SET x"),
        b"-ERR wrong number of arguments for 'set' command\r\n"
    );
    queued(&mut raw, "SET x 1");
    assert_eq!(call(&mut raw, "EXEC"), EXECABORT);
    assert_eq!(call(&mut raw, "GET x"), b"$-1\r\n");

    ok(&mut raw, "MULTI");
    assert_eq!(
        call(&mut raw, "NOSUCH"),
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    );
    assert_eq!(call(&mut raw, "EXEC"), EXECABORT);

    ok(&mut raw, "MULTI");
    assert_eq!(
        call(&mut raw, "SHUTDOWN"),
        b"-ERR Command not allowed inside a transaction\r\n"
    );
    assert_eq!(call(&mut raw, "EXEC"), EXECABORT);
    assert!(server.alive());

    // Outside MULTI the same errors flag nothing.
    call(&mut raw, "NOSUCH");
    ok(&mut raw, "MULTI");
    assert_eq!(call(&mut raw, "EXEC"), b"*0\r\n");
}

/// Redis's `rejectCommand`: an EXEC refused before it runs discards the transaction (if any) and
/// answers EXECABORT with the reason, even outside MULTI (replies of redis-server 7.0.15).
#[test]
fn an_exec_refused_before_it_runs_is_an_execabort() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let arity: &[u8] =
        b"-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n";
    assert_eq!(call(&mut raw, "EXEC LEN"), arity);
    ok(&mut raw, "MULTI");
    queued(&mut raw, "SET x 1");
    assert_eq!(call(&mut raw, "EXEC LEN"), arity);
    assert_eq!(call(&mut raw, "EXEC"), b"-ERR EXEC without MULTI\r\n");
    assert_eq!(call(&mut raw, "GET x"), b"$-1\r\n");

    assert_eq!(
        call(&mut raw, "SUBSCRIBE a"),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    );
    assert_eq!(
        call(&mut raw, "EXEC"),
        &b"-EXECABORT Transaction discarded because of: Can't execute 'exec': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"[..]
    );
    assert_eq!(
        call(&mut raw, "DISCARD"),
        &b"-ERR Can't execute 'discard': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"[..]
    );

    let locked = TestServer::start_with(|c| c.requirepass = b"pw".to_vec());
    let mut raw = locked.raw();
    assert_eq!(
        call(&mut raw, "EXEC"),
        b"-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"
    );
    assert_eq!(call(&mut raw, "EXEC x"), arity);
}

/// SSUBSCRIBE inside EXEC is refused (DENY BLOCKING), SUBSCRIBE and PSUBSCRIBE run; bytes of
/// redis-server 7.0.15.
#[test]
fn ssubscribe_is_refused_inside_exec() {
    let server = TestServer::start();
    let mut raw = server.raw();
    ok(&mut raw, "MULTI");
    queued(&mut raw, "SSUBSCRIBE a b");
    queued(&mut raw, "SUBSCRIBE c");
    queued(&mut raw, "PSUBSCRIBE d*");
    queued(&mut raw, "SUNSUBSCRIBE a");
    assert_eq!(
        call(&mut raw, "EXEC"),
        &b"*4\r\n-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$2\r\nd*\r\n:2\r\n*3\r\n$12\r\nsunsubscribe\r\n$1\r\na\r\n:0\r\n"[..]
    );
}

#[test]
fn runtime_errors_are_replies_inside_the_exec_array() {
    let server = TestServer::start();
    let mut raw = server.raw();
    ok(&mut raw, "SET s abc");
    ok(&mut raw, "MULTI");
    queued(&mut raw, "INCR s");
    queued(&mut raw, "SET t 1");
    queued(&mut raw, "INCR t");
    queued(&mut raw, "SET t 1 EX 0");
    assert_eq!(
        call(&mut raw, "EXEC"),
        b"*4\r\n-ERR value is not an integer or out of range\r\n+OK\r\n:2\r\n-ERR invalid expire time in 'set' command\r\n"
            .as_slice()
    );
    assert_eq!(call(&mut raw, "GET t"), b"$1\r\n2\r\n");
}

#[test]
fn resp3_replies() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut other = server.raw();
    assert!(call(&mut raw, "HELLO 3").starts_with(b"%"));
    ok(&mut raw, "WATCH x");
    ok(&mut other, "SET x 1");
    ok(&mut raw, "MULTI");
    queued(&mut raw, "GET x");
    assert_eq!(call(&mut raw, "EXEC"), b"_\r\n");
    ok(&mut raw, "MULTI");
    queued(&mut raw, "GET nothing");
    queued(&mut raw, "GET x");
    assert_eq!(call(&mut raw, "EXEC"), b"*2\r\n_\r\n$1\r\n1\r\n");
}

#[test]
fn watch_is_dirtied_by_another_clients_write() {
    let server = TestServer::start();
    assert_eq!(exec_after(&server, &[], "x", &["SET x 1"]), DIRTY);
    assert_eq!(exec_after(&server, &["SET x 1"], "x", &["SET x 1"]), DIRTY);
    assert_eq!(exec_after(&server, &["SET x 1"], "x", &["DEL x"]), DIRTY);
    assert_eq!(
        exec_after(&server, &["SET x 1"], "x", &["EXPIRE x 100"]),
        DIRTY
    );
    assert_eq!(exec_after(&server, &["SET x 1"], "x", &["INCR x"]), DIRTY);
    // Reads, writes to other keys or other databases, and deleting nothing change nothing.
    assert_eq!(
        exec_after(
            &server,
            &["FLUSHALL", "SET x 1"],
            "x",
            &["GET x", "SET y 1"]
        ),
        RAN
    );
    assert_eq!(
        exec_after(&server, &["FLUSHALL"], "x", &["SELECT 1", "SET x 1"]),
        RAN
    );
    assert_eq!(exec_after(&server, &["FLUSHALL"], "x", &["DEL x"]), RAN);
}

#[test]
fn own_writes_before_multi_dirty_the_watch_too() {
    let server = TestServer::start();
    let mut raw = server.raw();
    ok(&mut raw, "WATCH x");
    ok(&mut raw, "SET x 1");
    ok(&mut raw, "MULTI");
    queued(&mut raw, "SET x 2");
    assert_eq!(call(&mut raw, "EXEC"), DIRTY);
    assert_eq!(call(&mut raw, "GET x"), b"$1\r\n1\r\n");
}

#[test]
fn unwatch_exec_and_discard_forget_the_watches() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut other = server.raw();
    ok(&mut raw, "WATCH x");
    ok(&mut raw, "UNWATCH");
    ok(&mut other, "SET x 1");
    ok(&mut raw, "MULTI");
    assert_eq!(call(&mut raw, "EXEC"), b"*0\r\n");

    // UNWATCH after the change clears the dirty flag too.
    ok(&mut raw, "WATCH x");
    ok(&mut other, "SET x 2");
    ok(&mut raw, "UNWATCH");
    ok(&mut raw, "MULTI");
    assert_eq!(call(&mut raw, "EXEC"), b"*0\r\n");

    for end in ["EXEC", "DISCARD"] {
        ok(&mut raw, "WATCH x");
        ok(&mut raw, "MULTI");
        call(&mut raw, end);
        ok(&mut other, "SET x 3");
        ok(&mut raw, "MULTI");
        assert_eq!(call(&mut raw, "EXEC"), b"*0\r\n", "after {end}");
    }

    // A failed EXEC forgets them as well.
    ok(&mut raw, "WATCH x");
    ok(&mut other, "SET x 4");
    ok(&mut raw, "MULTI");
    assert_eq!(call(&mut raw, "EXEC"), DIRTY);
    ok(&mut raw, "MULTI");
    assert_eq!(call(&mut raw, "EXEC"), b"*0\r\n");
}

#[test]
fn flushes_dirty_only_watchers_of_existing_keys() {
    let server = TestServer::start();
    assert_eq!(exec_after(&server, &["FLUSHALL"], "x", &["FLUSHDB"]), RAN);
    assert_eq!(
        exec_after(&server, &["FLUSHALL", "SET x 1"], "x", &["FLUSHDB"]),
        DIRTY
    );
    assert_eq!(
        exec_after(&server, &["FLUSHALL", "SET x 1"], "x", &["FLUSHALL"]),
        DIRTY
    );
    assert_eq!(
        exec_after(&server, &["FLUSHALL", "SET x 1"], "x", &["FLUSHALL ASYNC"]),
        DIRTY
    );
    // FLUSHDB of another database, FLUSHALL with the key only elsewhere.
    assert_eq!(
        exec_after(
            &server,
            &["FLUSHALL", "SET x 1"],
            "x",
            &["SELECT 1", "FLUSHDB"]
        ),
        RAN
    );
    assert_eq!(
        exec_after(
            &server,
            &["FLUSHALL", "SELECT 2", "SET x 1", "SELECT 0"],
            "x",
            &["FLUSHALL"]
        ),
        RAN
    );
}

#[test]
fn swapdb_dirties_watchers_when_the_key_exists_in_either_database() {
    let server = TestServer::start();
    assert_eq!(
        exec_after(&server, &["FLUSHALL", "SET x 1"], "x", &["SWAPDB 0 1"]),
        DIRTY
    );
    assert_eq!(
        exec_after(
            &server,
            &["FLUSHALL", "SELECT 1", "SET x 1"],
            "x",
            &["SWAPDB 0 1"]
        ),
        DIRTY
    );
    assert_eq!(
        exec_after(&server, &["FLUSHALL"], "x", &["SWAPDB 0 1"]),
        RAN
    );
    assert_eq!(
        exec_after(
            &server,
            &["FLUSHALL", "SELECT 2", "SET x 1"],
            "x",
            &["SWAPDB 1 2"]
        ),
        RAN
    );
}

#[test]
fn a_watched_key_that_expires_before_exec_fails_it() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // Alive when watched (checked), expired by EXEC whether or not anything deleted it.
    ok(&mut raw, "SET x 1 PX 300");
    ok(&mut raw, "WATCH x");
    let pttl = call(&mut raw, "PTTL x");
    std::thread::sleep(Duration::from_millis(400));
    ok(&mut raw, "MULTI");
    queued(&mut raw, "PING");
    if pttl.starts_with(b":-") {
        return; // the machine was too slow to watch it alive
    }
    assert_eq!(call(&mut raw, "EXEC"), DIRTY);
}

#[test]
fn a_key_already_expired_when_watched_is_no_change() {
    let server = TestServer::start();
    let mut raw = server.raw();
    ok(&mut raw, "SET x 1 PX 1");
    std::thread::sleep(Duration::from_millis(20));
    ok(&mut raw, "WATCH x");
    std::thread::sleep(Duration::from_millis(150));
    ok(&mut raw, "MULTI");
    queued(&mut raw, "PING");
    assert_eq!(call(&mut raw, "EXEC"), RAN);
    // Written again after it went away: that is a change.
    ok(&mut raw, "SET y 1 PX 1");
    std::thread::sleep(Duration::from_millis(20));
    ok(&mut raw, "WATCH y");
    let mut other = server.raw();
    ok(&mut other, "SET y 2");
    ok(&mut raw, "MULTI");
    queued(&mut raw, "PING");
    assert_eq!(call(&mut raw, "EXEC"), DIRTY);
}

fn client_list_field(raw: &mut RawClient, field: &str) -> String {
    let reply = call(raw, "CLIENT INFO");
    let text = String::from_utf8_lossy(&reply).into_owned();
    text.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{field}=")))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

#[test]
fn client_list_shows_multi_and_dirty_flags() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut other = server.raw();
    assert_eq!(client_list_field(&mut raw, "flags"), "N");
    assert_eq!(client_list_field(&mut raw, "multi"), "-1");
    ok(&mut raw, "WATCH x");
    ok(&mut other, "SET x 1");
    assert_eq!(client_list_field(&mut raw, "flags"), "d");
    ok(&mut raw, "MULTI");
    queued(&mut raw, "SET y 1");
    queued(&mut raw, "SET y 2");
    let list = String::from_utf8_lossy(&call(&mut other, "CLIENT LIST")).into_owned();
    let line = list
        .lines()
        .find(|l| l.contains("flags=xd"))
        .unwrap_or_default();
    assert!(line.contains(" multi=2 "), "{list}");
    assert_eq!(call(&mut raw, "EXEC"), DIRTY);
    assert_eq!(client_list_field(&mut raw, "flags"), "N");
    assert_eq!(client_list_field(&mut raw, "multi"), "-1");
}

#[test]
fn memory_limit_is_checked_when_queueing_and_at_exec() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut admin = server.raw();
    ok(&mut raw, "MULTI");
    queued(&mut raw, "SET k v");
    ok(&mut admin, "CONFIG SET maxmemory 1");
    assert_eq!(
        call(&mut raw, "EXEC"),
        b"-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n"
    );
    assert_eq!(call(&mut raw, "EXEC"), b"-ERR EXEC without MULTI\r\n");
    // Over the limit, anything queued is refused, even a read; EXEC without writes runs.
    ok(&mut raw, "MULTI");
    assert_eq!(
        call(&mut raw, "GET k"),
        b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
    );
    assert_eq!(call(&mut raw, "EXEC"), EXECABORT);
    ok(&mut raw, "MULTI");
    assert_eq!(call(&mut raw, "EXEC"), b"*0\r\n");
    ok(&mut raw, "MULTI");
    ok(&mut raw, "DISCARD");
    ok(&mut admin, "CONFIG SET maxmemory 0");
    // Read-only transactions queued under the limit still run after it is crossed.
    ok(&mut raw, "MULTI");
    queued(&mut raw, "GET k");
    ok(&mut admin, "CONFIG SET maxmemory 1");
    assert_eq!(call(&mut raw, "EXEC"), b"*1\r\n$-1\r\n");
    ok(&mut admin, "CONFIG SET maxmemory 0");
}

#[test]
fn a_closed_connection_leaves_no_watch_behind() {
    let server = TestServer::start();
    for _ in 0..3 {
        let mut raw = server.raw();
        ok(&mut raw, "WATCH x y z");
        ok(&mut raw, "MULTI");
        queued(&mut raw, "SET x 1");
    }
    // Nothing to observe but that the server keeps serving writes to those keys.
    let mut raw = server.raw();
    ok(&mut raw, "SET x 2");
    assert_eq!(exec_after(&server, &[], "x", &[]), RAN);
}

/// One client increments two keys in every transaction while others read both at once: with the
/// exec gate no reader ever sees one incremented without the other, whatever their shards.
#[test]
fn exec_is_atomic_across_shards() {
    let server = TestServer::start_with(|values| values.shards = 16);
    let keys: Vec<String> = (0..32).map(|i| format!("k{i}")).collect();
    let mget = format!("MGET {}", keys.join(" "));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let mut raw = server.raw();
            let stop = stop.clone();
            let mget = mget.clone();
            std::thread::spawn(move || {
                let mut reads = 0;
                while !stop.load(Ordering::Relaxed) {
                    let reply = call(&mut raw, &mget);
                    let text = String::from_utf8_lossy(&reply).into_owned();
                    let values: Vec<&str> = text
                        .split("\r\n")
                        .filter(|l| !l.starts_with('*') && !l.starts_with('$') && !l.is_empty())
                        .collect();
                    let nulls = text.matches("$-1").count();
                    assert!(
                        nulls == 32 || (nulls == 0 && values.windows(2).all(|w| w[0] == w[1])),
                        "torn read: {text:?}"
                    );
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let mut writer = server.raw();
    for round in 1..=500 {
        ok(&mut writer, "MULTI");
        for key in &keys {
            queued(&mut writer, &format!("INCR {key}"));
        }
        let expected = format!("*32\r\n{}", format!(":{round}\r\n").repeat(32));
        assert_eq!(call(&mut writer, "EXEC"), expected.as_bytes());
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap_or(0) > 0);
    }
}

/// Subcommands named like the commands MULTI runs at once (RESET) are queued like any other.
#[test]
fn subcommands_named_reset_are_queued() {
    let server = TestServer::start();
    let mut raw = server.raw();
    ok(&mut raw, "MULTI");
    queued(&mut raw, "SLOWLOG RESET");
    queued(&mut raw, "LATENCY RESET");
    queued(&mut raw, "CLUSTER RESET");
    assert_eq!(
        call(&mut raw, "EXEC"),
        b"*3\r\n+OK\r\n:0\r\n-ERR This instance has cluster support disabled\r\n"
    );
    // RESET itself still runs at once, ending the transaction.
    ok(&mut raw, "MULTI");
    assert_eq!(call(&mut raw, "RESET"), b"+RESET\r\n");
    assert_eq!(call(&mut raw, "EXEC"), b"-ERR EXEC without MULTI\r\n");
}
