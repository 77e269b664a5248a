//! Server commands: TIME, FLUSHDB/FLUSHALL, LASTSAVE, DEBUG, SHUTDOWN, and the maxclients limit.

mod common;

use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{RawClient, TestServer};

/// Waits until `done` holds, polling; panics after a generous bound so a bug cannot hang the run.
fn wait_for(mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("condition not reached");
}

fn bulk_strings(reply: &[u8]) -> Vec<String> {
    let text = String::from_utf8(reply.to_vec()).unwrap();
    let mut lines = text.split("\r\n");
    let count: usize = lines
        .next()
        .unwrap()
        .strip_prefix('*')
        .unwrap()
        .parse()
        .unwrap();
    (0..count)
        .map(|_| {
            let header = lines.next().unwrap();
            assert!(header.starts_with('$'), "{text:?}");
            lines.next().unwrap().to_string()
        })
        .collect()
}

#[test]
fn time_is_seconds_and_microseconds() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let parts = bulk_strings(&raw.call(&[b"TIME"]));
    assert_eq!(parts.len(), 2);
    let seconds: u64 = parts[0].parse().unwrap();
    let micros: u64 = parts[1].parse().unwrap();
    assert!(micros < 1_000_000);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        seconds.abs_diff(now) <= 60,
        "TIME {seconds} far from the system clock {now}"
    );
    assert_eq!(
        raw.call(&[b"TIME", b"x"]),
        b"-ERR wrong number of arguments for 'time' command\r\n"
    );
}

fn set(raw: &mut RawClient, key: &[u8]) {
    assert_eq!(raw.call(&[b"SET", key, b"v"]), b"+OK\r\n");
}

fn exists(raw: &mut RawClient, key: &[u8]) -> bool {
    raw.call(&[b"GET", key]) == b"$1\r\nv\r\n"
}

#[test]
fn flushdb_empties_one_database_and_flushall_all() {
    let server = TestServer::start();
    let mut db0 = server.raw();
    let mut db1 = server.raw();
    assert_eq!(db1.call(&[b"SELECT", b"1"]), b"+OK\r\n");
    let keys: Vec<Vec<u8>> = (0..50).map(|i| format!("key:{i}").into_bytes()).collect();
    for key in &keys {
        set(&mut db0, key);
        set(&mut db1, key);
    }
    assert_eq!(db0.call(&[b"FLUSHDB"]), b"+OK\r\n");
    assert!(keys.iter().all(|k| !exists(&mut db0, k)));
    assert!(keys.iter().all(|k| exists(&mut db1, k)));

    set(&mut db0, b"again");
    assert_eq!(db0.call(&[b"FLUSHDB", b"ASYNC"]), b"+OK\r\n");
    assert!(!exists(&mut db0, b"again"));
    assert!(keys.iter().all(|k| exists(&mut db1, k)));

    set(&mut db0, b"again");
    assert_eq!(db0.call(&[b"FLUSHALL", b"async"]), b"+OK\r\n");
    assert!(!exists(&mut db0, b"again"));
    assert!(keys.iter().all(|k| !exists(&mut db1, k)));
    set(&mut db1, b"after");
    assert_eq!(db0.call(&[b"FLUSHALL", b"SYNC"]), b"+OK\r\n");
    assert!(!exists(&mut db1, b"after"));
    // Flushed databases keep working.
    set(&mut db1, b"after");
    assert!(exists(&mut db1, b"after"));

    assert_eq!(db0.call(&[b"FLUSHDB", b"x"]), b"-ERR syntax error\r\n");
    assert_eq!(
        db0.call(&[b"FLUSHDB", b"ASYNC", b"SYNC"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        db0.call(&[b"FLUSHALL", b"a", b"b"]),
        b"-ERR syntax error\r\n"
    );
}

#[test]
fn lastsave_is_a_unix_time() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let reply = String::from_utf8(raw.call(&[b"LASTSAVE"])).unwrap();
    let seconds: u64 = reply.strip_prefix(':').unwrap().trim_end().parse().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(seconds <= now && now - seconds < 3600);
}

#[test]
fn debug_sleep_holds_only_its_connection() {
    let server = TestServer::start();
    let mut sleeper = server.raw();
    let mut other = server.raw();
    assert_eq!(sleeper.call(&[b"DEBUG", b"SLEEP", b"0"]), b"+OK\r\n");
    assert_eq!(sleeper.call(&[b"DEBUG", b"SLEEP", b"abc"]), b"+OK\r\n");
    assert_eq!(sleeper.call(&[b"DEBUG", b"SLEEP", b"-1"]), b"+OK\r\n");
    // As Redis: a pause beyond a 64-bit count of microseconds is none (the read timeout is 5 s).
    for absurd in [&b"1e300"[..], b"inf", b"nan", b"-inf", b"9.3e12"] {
        assert_eq!(sleeper.call(&[b"DEBUG", b"SLEEP", absurd]), b"+OK\r\n");
    }
    sleeper.send(b"DEBUG SLEEP 0.3\r\nPING\r\n");
    assert_eq!(other.call(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(sleeper.read_reply(), b"+OK\r\n");
    assert_eq!(sleeper.read_reply(), b"+PONG\r\n");

    assert_eq!(
        sleeper.call(&[b"DEBUG", b"SLEEP"]),
        &b"-ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.\r\n"[..]
    );
    assert_eq!(
        sleeper.call(&[b"DEBUG", b"foo"]),
        &b"-ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.\r\n"[..]
    );
    assert_eq!(
        sleeper.call(&[b"DEBUG"]),
        b"-ERR wrong number of arguments for 'debug' command\r\n"
    );
    let help = String::from_utf8(sleeper.call(&[b"DEBUG", b"HELP"])).unwrap();
    assert!(help.starts_with("*5\r\n+DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+SLEEP <seconds>\r\n"), "{help}");
}

#[test]
fn shutdown_argument_errors() {
    // A `dir` that does not exist: every save fails.
    let server = TestServer::start_with(|v| v.dir = "/nonexistent/cachet".into());
    let mut raw = server.raw();
    assert_eq!(raw.call(&[b"SHUTDOWN", b"FOO"]), b"-ERR syntax error\r\n");
    assert_eq!(
        raw.call(&[b"SHUTDOWN", b"SAVE", b"NOSAVE"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"SHUTDOWN", b"ABORT", b"NOW"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"SHUTDOWN", b"ABORT"]),
        b"-ERR No shutdown in progress.\r\n"
    );
    // A save that fails fails the SHUTDOWN, whether SAVE asks for it or a schedule implies it.
    assert_eq!(
        raw.call(&[b"SHUTDOWN", b"SAVE"]),
        b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert_eq!(raw.call(&[b"CONFIG", b"SET", b"save", b"60 1"]), b"+OK\r\n");
    assert_eq!(
        raw.call(&[b"SHUTDOWN"]),
        b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert_eq!(raw.call(&[b"CONFIG", b"SET", b"save", b""]), b"+OK\r\n");
    assert!(server.alive());
}

#[test]
fn shutdown_stops_the_server_after_in_flight_commands() {
    let server = TestServer::start();
    let mut busy = server.raw();
    let mut admin = server.raw();
    assert_eq!(busy.call(&[b"CLIENT", b"SETNAME", b"busy"]), b"+OK\r\n");
    busy.send(b"DEBUG SLEEP 0.3\r\n");
    // Wait until the sleep is under way, so SHUTDOWN arrives while it is in flight.
    wait_for(|| {
        let list = String::from_utf8(admin.call(&[b"CLIENT", b"LIST"])).unwrap();
        list.lines()
            .any(|line| line.contains("name=busy") && line.contains("cmd=debug"))
    });
    admin.send(b"SHUTDOWN NOW\r\n");
    assert!(admin.is_closed(), "SHUTDOWN answers nothing and closes");
    assert_eq!(busy.read_reply(), b"+OK\r\n");
    assert!(busy.is_closed());
    wait_for(|| TcpStream::connect(server.addr).is_err());
    // Dropping the server after SHUTDOWN must still return.
    drop(server);
}

#[test]
fn shutdown_with_options() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.send(b"SHUTDOWN SAVE FORCE\r\n");
    assert!(raw.is_closed());
    wait_for(|| TcpStream::connect(server.addr).is_err());
}

#[test]
fn maxclients_rejects_extra_connections() {
    let server = TestServer::start_with(|values| values.maxclients = 2);
    let mut first = server.raw();
    assert_eq!(first.call(&[b"PING"]), b"+PONG\r\n");
    let mut second = server.raw();
    assert_eq!(second.call(&[b"PING"]), b"+PONG\r\n");
    let mut third = server.raw();
    assert_eq!(
        third.read_reply(),
        b"-ERR max number of clients reached\r\n"
    );
    assert!(third.is_closed());
    // A client's slot is free by the time it reads its connection's end.
    assert_eq!(first.call(&[b"QUIT"]), b"+OK\r\n");
    assert!(first.is_closed());
    let mut next = server.raw();
    assert_eq!(next.call(&[b"PING"]), b"+PONG\r\n");
}

/// `tcp-backlog` reaches the kernel: `ss` reports a listening socket's queue size as its Send-Q.
#[test]
fn listen_backlog_is_tcp_backlog() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    for backlog in [77u32, 511] {
        let listener = cachet::net::listen("127.0.0.1:0", backlog).expect("listen");
        let port = listener.local_addr().unwrap().port();
        let out = std::process::Command::new("ss")
            .args(["-ltnH", &format!("sport = :{port}")])
            .output()
            .expect("ss (iproute2) is installed by .ci/run");
        let text = String::from_utf8_lossy(&out.stdout);
        let send_q: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(send_q.get(2), Some(&backlog.to_string().as_str()), "{text}");
    }
    let server = TestServer::start();
    let mut client = server.raw();
    assert_eq!(
        client.call(&[b"CONFIG", b"GET", b"tcp-backlog"]),
        b"*2\r\n$11\r\ntcp-backlog\r\n$3\r\n511\r\n"
    );
}
