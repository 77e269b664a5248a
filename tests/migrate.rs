//! MIGRATE between cachet and a real redis-server 7.0, both ways, and between two cachets: the
//! keys arrive with their values and TTLs and leave the source (unless COPY); argument errors,
//! NOKEY, IOERR and the target's BUSYKEY are Redis's bytes; AUTH, AUTH2 and the destination
//! database; the cached connection is reused, survives the target closing it (one retry), and is
//! closed after 10 idle seconds.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use common::{RawClient, TestServer};
use fleet::{connect, free_port, RedisServer};
use redis::Connection;

fn raw_to(port: u16) -> RawClient {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    RawClient { stream }
}

fn call(raw: &mut RawClient, args: &[&str]) -> Vec<u8> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    raw.call(&args)
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn argument_errors_and_nokey_are_redis_bytes() {
    let redis = RedisServer::start();
    let cachet = TestServer::start();
    let closed = free_port().to_string();
    let mut theirs = raw_to(redis.port);
    let mut ours = cachet.raw();
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "MIGRATE",
            "127.0.0.1",
            &closed,
            "",
            "0",
            "100",
            "KEYS",
            "a",
            "b",
        ],
        vec!["MIGRATE", "127.0.0.1", &closed, "", "0", "100", "KEYS"],
        vec!["MIGRATE", "127.0.0.1", &closed, "absent", "0", "100"],
        vec![
            "MIGRATE",
            "127.0.0.1",
            &closed,
            "k",
            "0",
            "100",
            "KEYS",
            "a",
        ],
        vec!["MIGRATE", "127.0.0.1", &closed, "", "x", "100", "KEYS", "a"],
        vec!["MIGRATE", "127.0.0.1", &closed, "", "0", "1.5", "KEYS", "a"],
        vec!["MIGRATE", "127.0.0.1", &closed, "k", "0", "100", "AUTH"],
        vec![
            "MIGRATE",
            "127.0.0.1",
            &closed,
            "k",
            "0",
            "100",
            "AUTH2",
            "user",
        ],
        vec!["MIGRATE", "127.0.0.1", &closed, "k", "0", "100", "BOGUS"],
        vec![
            "MIGRATE",
            "127.0.0.1",
            &closed,
            "k",
            "0",
            "100",
            "COPY",
            "REPLACE",
            "AUTH",
        ],
        vec!["MIGRATE", "127.0.0.1", &closed, "k", "0"],
        // The key exists: the connection to a closed port fails.
        vec!["SET", "present", "v"],
        vec!["MIGRATE", "127.0.0.1", &closed, "present", "0", "1000"],
        vec![
            "MIGRATE",
            "127.0.0.1",
            &closed,
            "",
            "0",
            "1000",
            "COPY",
            "KEYS",
            "absent",
            "present",
        ],
        vec!["MIGRATE", "127.0.0.1", "notaport", "present", "0", "1000"],
        vec!["EXISTS", "present"],
    ];
    for case in cases {
        assert_eq!(
            text(call(&mut ours, &case)),
            text(call(&mut theirs, &case)),
            "{case:?}"
        );
    }
}

fn pttl(con: &mut Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(con).unwrap()
}

fn exists(con: &mut Connection, key: &str) -> bool {
    redis::cmd("EXISTS").arg(key).query::<i64>(con).unwrap() == 1
}

fn fill(con: &mut Connection) {
    let () = redis::cmd("SET").arg("s").arg("v").query(con).unwrap();
    let () = redis::cmd("SET")
        .arg("ttl")
        .arg("v")
        .arg("PX")
        .arg(900_000)
        .query(con)
        .unwrap();
    let _: i64 = redis::cmd("RPUSH")
        .arg("l")
        .arg(&["a", "b", "c"])
        .query(con)
        .unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg("h")
        .arg(&["f", "1", "g", "2"])
        .query(con)
        .unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg("z")
        .arg(&["1", "m", "2", "n"])
        .query(con)
        .unwrap();
    let _: i64 = redis::cmd("SADD")
        .arg("set")
        .arg(&["1", "2", "x"])
        .query(con)
        .unwrap();
}

/// The values `fill` wrote, read from `con` (SMEMBERS sorted).
fn values(con: &mut Connection) -> (String, Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let s: String = redis::cmd("GET").arg("s").query(con).unwrap();
    let l: Vec<String> = redis::cmd("LRANGE")
        .arg("l")
        .arg(0)
        .arg(-1)
        .query(con)
        .unwrap();
    let h: Vec<String> = redis::cmd("HMGET")
        .arg("h")
        .arg(&["f", "g"])
        .query(con)
        .unwrap();
    let z: Vec<String> = redis::cmd("ZRANGE")
        .arg("z")
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(con)
        .unwrap();
    let mut set: Vec<String> = redis::cmd("SMEMBERS").arg("set").query(con).unwrap();
    set.sort();
    (s, l, h, z, set)
}

const KEYS: [&str; 6] = ["s", "ttl", "l", "h", "z", "set"];

/// MIGRATE every key of `fill` from `source` to `target_port` db `db`, then checks both sides.
fn migrate_all(
    source: &mut Connection,
    target: &mut Connection,
    target_port: u16,
    db: i64,
    auth: &[&str],
) {
    let expected = values(source);
    let reply: String = redis::cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(target_port)
        .arg("")
        .arg(db)
        .arg(5000)
        .arg(auth)
        .arg("KEYS")
        .arg(&KEYS)
        .query(source)
        .unwrap();
    assert_eq!(reply, "OK");
    for key in KEYS {
        assert!(!exists(source, key), "{key} left the source");
    }
    let () = redis::cmd("SELECT").arg(db).query(target).unwrap();
    assert_eq!(values(target), expected);
    let ttl = pttl(target, "ttl");
    assert!(ttl > 800_000 && ttl <= 900_000, "{ttl}");
    assert_eq!(pttl(target, "s"), -1);
}

#[test]
fn cachet_to_redis_and_back() {
    let redis = RedisServer::start();
    let cachet = TestServer::start();
    let mut ours = cachet.client();
    let mut theirs = connect(redis.port).unwrap();
    fill(&mut ours);
    migrate_all(&mut ours, &mut theirs, redis.port, 2, &[]);
    // And back, from redis-server's MIGRATE into cachet's database 5.
    migrate_all(&mut theirs, &mut ours, cachet.port(), 5, &[]);
}

#[test]
fn copy_replace_and_the_targets_busykey() {
    let redis = RedisServer::start();
    let cachet = TestServer::start();
    let mut ours = cachet.client();
    let mut theirs = connect(redis.port).unwrap();
    let () = redis::cmd("SET")
        .arg("k")
        .arg("new")
        .query(&mut ours)
        .unwrap();
    let () = redis::cmd("SET")
        .arg("k")
        .arg("old")
        .query(&mut theirs)
        .unwrap();
    let mut raw = cachet.raw();
    let port = redis.port.to_string();
    assert_eq!(
        text(call(
            &mut raw,
            &["MIGRATE", "127.0.0.1", &port, "k", "0", "5000"]
        )),
        "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    );
    assert!(exists(&mut ours, "k"), "a key the target refused stays");
    assert_eq!(
        text(call(
            &mut raw,
            &[
                "MIGRATE",
                "127.0.0.1",
                &port,
                "k",
                "0",
                "5000",
                "COPY",
                "REPLACE"
            ]
        )),
        "+OK\r\n"
    );
    let got: String = redis::cmd("GET").arg("k").query(&mut theirs).unwrap();
    assert_eq!(got, "new");
    assert!(exists(&mut ours, "k"), "COPY keeps the key");
    // One key refused among several: the others move, the reply is the target's error.
    let () = redis::cmd("SET")
        .arg("free")
        .arg("v")
        .query(&mut ours)
        .unwrap();
    let reply = text(call(
        &mut raw,
        &[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "",
            "0",
            "5000",
            "KEYS",
            "k",
            "free",
        ],
    ));
    assert!(
        reply.starts_with("-ERR Target instance replied with error: BUSYKEY"),
        "{reply}"
    );
    assert!(exists(&mut ours, "k"));
    assert!(!exists(&mut ours, "free"));
    assert!(exists(&mut theirs, "free"));
}

#[test]
fn cachet_to_cachet_with_auth_and_auth2() {
    let source = TestServer::start();
    let target = TestServer::start_with(|v| v.requirepass = b"secret".to_vec());
    let mut ours = source.client();
    let client = redis::Client::open(format!("redis://:secret@{}/", target.addr)).unwrap();
    let mut theirs = client.get_connection().unwrap();
    fill(&mut ours);
    migrate_all(
        &mut ours,
        &mut theirs,
        target.port(),
        3,
        &["AUTH", "secret"],
    );
    fill(&mut ours);
    let () = redis::cmd("FLUSHALL").query(&mut theirs).unwrap();
    migrate_all(
        &mut ours,
        &mut theirs,
        target.port(),
        0,
        &["AUTH2", "default", "secret"],
    );
    // A wrong password: the target's error, the key stays.
    let () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut ours)
        .unwrap();
    let mut raw = source.raw();
    let reply = text(call(
        &mut raw,
        &[
            "MIGRATE",
            "127.0.0.1",
            &target.port().to_string(),
            "k",
            "0",
            "5000",
            "AUTH",
            "wrong",
        ],
    ));
    assert!(
        reply.starts_with("-ERR Target instance replied with error: WRONGPASS"),
        "{reply}"
    );
    assert!(exists(&mut ours, "k"));
}

fn connections_received(con: &mut Connection) -> u64 {
    common::info_u64(con, "stats", "total_connections_received")
}

#[test]
fn the_connection_is_cached_reopened_and_closed_when_idle() {
    let source = TestServer::start();
    let redis = RedisServer::start();
    let mut ours = source.client();
    let mut theirs = connect(redis.port).unwrap();
    let mut raw = source.raw();
    let port = redis.port.to_string();
    let before = connections_received(&mut theirs);
    for i in 0..3 {
        let key = format!("k{i}");
        let () = redis::cmd("SET")
            .arg(&key)
            .arg("v")
            .query(&mut ours)
            .unwrap();
        assert_eq!(
            text(call(
                &mut raw,
                &["MIGRATE", "127.0.0.1", &port, &key, "0", "5000"]
            )),
            "+OK\r\n"
        );
    }
    assert_eq!(
        connections_received(&mut theirs),
        before + 1,
        "one connection for three MIGRATEs"
    );
    // The target closes it: the next MIGRATE finds it closed and retries on a new one.
    let killed: i64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"])
        .query(&mut theirs)
        .unwrap();
    assert_eq!(killed, 1);
    let () = redis::cmd("SET")
        .arg("after")
        .arg("v")
        .query(&mut ours)
        .unwrap();
    assert_eq!(
        text(call(
            &mut raw,
            &["MIGRATE", "127.0.0.1", &port, "after", "0", "5000"]
        )),
        "+OK\r\n"
    );
    assert!(exists(&mut theirs, "after"));
    // Idle for 10 seconds, the cached connection is closed.
    let clients = |con: &mut Connection| common::info_u64(con, "clients", "connected_clients");
    let cached = |con: &mut Connection| common::info_u64(con, "stats", "migrate_cached_sockets");
    assert_eq!(clients(&mut theirs), 2);
    assert_eq!(cached(&mut ours), 1);
    wait_until_long("the idle MIGRATE connection closed", || {
        clients(&mut theirs) == 1
    });
    assert_eq!(cached(&mut ours), 0);
}

/// `wait_until` with room for the 10 s idle time.
fn wait_until_long(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
