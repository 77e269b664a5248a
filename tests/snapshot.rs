//! Snapshots: SAVE, BGSAVE, LASTSAVE, SHUTDOWN SAVE, INFO persistence, and the load at start, on
//! the real server restarted on the same `dir` (in-process, and the real binary where a process
//! must die: kill -9 in the middle of a BGSAVE, a refused start). Bad files and a full disk give
//! the documented behaviour; the shapes of the replies are redis-server's.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cachet::engine::Policy;
use common::{feed_fifo, info_field, scratch_dir, snapshot_fifo, RawClient, TestServer, Unblock};
use redis::Value;

fn start_in(dir: &Path) -> TestServer {
    let dir = dir.to_string_lossy().into_owned();
    TestServer::start_with(move |v| v.dir = dir)
}

fn call(raw: &mut RawClient, args: &[&str]) -> Vec<u8> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    raw.call(&args)
}

fn text(reply: Vec<u8>) -> String {
    String::from_utf8_lossy(&reply).into_owned()
}

fn wait_bgsave_done(con: &mut redis::Connection) {
    fleet::wait_until("the background save to end", || {
        info_field(con, "persistence", "rdb_bgsave_in_progress") == "0"
    });
}

/// Every reply that describes a key and must be the same after a restart.
fn describe(con: &mut redis::Connection, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for cmd in ["TYPE", "OBJECT ENCODING", "PEXPIRETIME", "DUMP"] {
        let mut c = redis::Cmd::new();
        for word in cmd.split(' ') {
            c.arg(word);
        }
        let value: Value = c.arg(key).query(con).unwrap();
        out.push(format!("{cmd}: {value:?}"));
    }
    // A hash table's order is its insertion history's, which a reload does not keep (nor does
    // Redis's): its DUMP may list the members in another order, so they are compared as a set.
    match key {
        "hash" => {
            out.pop();
            let mut all: Vec<(String, String)> = redis::cmd("HGETALL").arg(key).query(con).unwrap();
            all.sort();
            out.push(format!("HGETALL: {all:?}"));
        }
        "words" => {
            out.pop();
            let mut all: Vec<String> = redis::cmd("SMEMBERS").arg(key).query(con).unwrap();
            all.sort();
            out.push(format!("SMEMBERS: {all:?}"));
        }
        _ => {}
    }
    // CACHE.INSPECT but its clock-driven fields (ttl counts down, idle up).
    let inspect: Vec<Value> = redis::cmd("CACHE.INSPECT").arg(key).query(con).unwrap();
    for pair in inspect.chunks(2) {
        let name = format!("{:?}", pair[0]);
        if !name.contains("ttl") && !name.contains("idle") {
            out.push(format!("{name} = {:?}", pair[1]));
        }
    }
    out
}

/// Reads that leave the access time and the counter alone, so that describing a key twice gives
/// the same answer.
fn no_touch(mut con: redis::Connection) -> redis::Connection {
    redis::cmd("CLIENT")
        .arg("NO-TOUCH")
        .arg("ON")
        .query::<()>(&mut con)
        .unwrap();
    con
}

fn populate(raw: &mut RawClient, now_ms: u64) {
    let far = (now_ms + 3_600_000).to_string();
    let soon = (now_ms + 1_500).to_string();
    let steps: Vec<Vec<&str>> = vec![
        vec!["SET", "str", "hello"],
        vec!["SET", "int", "12345"],
        vec!["SET", "raw", "x"],
        vec!["APPEND", "raw", "yz"],
        vec!["SET", "ttl", "v", "PXAT", &far],
        vec!["SET", "soon", "v", "PXAT", &soon],
        vec!["RPUSH", "list", "a", "b", "c", "1"],
        vec!["SADD", "ints", "1", "2", "3"],
        vec!["SADD", "words", "x", "y"],
        vec!["ZADD", "zset", "1.5", "a", "-2", "b"],
        vec!["HSET", "hash", "f1", "v1", "f2", "v2"],
        vec!["HPEXPIREAT", "hash", &far, "FIELDS", "1", "f2"],
        vec!["PFADD", "hll", "a", "b", "c"],
        vec!["XADD", "stream", "1-1", "f", "v"],
        vec!["XADD", "stream", "2-1", "f", "w", "g", "h"],
        vec!["XGROUP", "CREATE", "stream", "grp", "0"],
        vec![
            "XREADGROUP",
            "GROUP",
            "grp",
            "alice",
            "COUNT",
            "1",
            "STREAMS",
            "stream",
            ">",
        ],
        vec![
            "CACHE.SET",
            "meta",
            "v",
            "PRIORITY",
            "high",
            "COST",
            "7",
            "TAGS",
            "2",
            "t1",
            "t2",
        ],
        vec!["CACHE.DEPEND", "meta", "str"],
        vec!["SELECT", "3"],
        vec!["SET", "db3", "three"],
        vec!["SELECT", "0"],
    ];
    for step in steps {
        let reply = call(raw, &step);
        assert!(!reply.starts_with(b"-"), "{step:?}: {}", text(reply));
    }
    // RESTORE sets the learned state directly: a counter and an idle time to find again.
    let payload: Vec<u8> = {
        let mut con_reply = call(raw, &["DUMP", "str"]);
        // `$<len>\r\n<payload>\r\n`
        let start = con_reply.iter().position(|&b| b == b'\n').unwrap() + 1;
        con_reply.truncate(con_reply.len() - 2);
        con_reply.split_off(start)
    };
    let restore = |raw: &mut RawClient, key: &str, option: &str, n: &str| {
        let args: Vec<&[u8]> = vec![
            b"RESTORE",
            key.as_bytes(),
            b"0",
            &payload,
            option.as_bytes(),
            n.as_bytes(),
        ];
        assert_eq!(raw.call(&args), b"+OK\r\n");
    };
    restore(raw, "hot", "FREQ", "50");
    restore(raw, "cold", "IDLETIME", "1000");
}

const KEYS: &[&str] = &[
    "str", "int", "raw", "ttl", "list", "ints", "words", "zset", "hash", "hll", "stream", "meta",
    "hot", "cold",
];

#[test]
fn a_restart_brings_back_every_type_and_the_cache_metadata() {
    let dir = scratch_dir();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let (before, stream_info, field_ttl, lastsave) = {
        let server = start_in(&dir);
        let mut raw = server.raw();
        populate(&mut raw, now);
        let mut con = no_touch(server.client());
        let before: Vec<Vec<String>> = KEYS.iter().map(|k| describe(&mut con, k)).collect();
        let stream_info: Value = redis::cmd("XINFO")
            .arg("STREAM")
            .arg("stream")
            .arg("FULL")
            .query(&mut con)
            .unwrap();
        let field_ttl: Value = redis::cmd("HPEXPIRETIME")
            .arg("hash")
            .arg("FIELDS")
            .arg(2)
            .arg("f1")
            .arg("f2")
            .query(&mut con)
            .unwrap();
        assert_eq!(call(&mut raw, &["SHUTDOWN", "SAVE"]), b"");
        let lastsave = std::fs::metadata(dir.join("dump.cachet")).expect("the snapshot");
        (before, stream_info, field_ttl, lastsave.len())
    };
    assert!(lastsave > 0);
    // `soon` expires while the daemon is down: it is not loaded.
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        <= now + 1_500
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let server = start_in(&dir);
    let mut con = no_touch(server.client());
    let after: Vec<Vec<String>> = KEYS.iter().map(|k| describe(&mut con, k)).collect();
    for ((key, b), a) in KEYS.iter().zip(&before).zip(&after) {
        assert_eq!(a, b, "key {key}");
    }
    let exists: i64 = redis::cmd("EXISTS").arg("soon").query(&mut con).unwrap();
    assert_eq!(exists, 0);
    assert_eq!(
        info_field(&mut con, "persistence", "rdb_last_load_keys_expired"),
        "1"
    );
    assert_eq!(
        info_field(&mut con, "persistence", "rdb_last_load_keys_loaded"),
        (KEYS.len() + 1).to_string()
    );
    let stream_after: Value = redis::cmd("XINFO")
        .arg("STREAM")
        .arg("stream")
        .arg("FULL")
        .query(&mut con)
        .unwrap();
    assert_eq!(stream_after, stream_info);
    let field_ttl_after: Value = redis::cmd("HPEXPIRETIME")
        .arg("hash")
        .arg("FIELDS")
        .arg(2)
        .arg("f1")
        .arg("f2")
        .query(&mut con)
        .unwrap();
    assert_eq!(field_ttl_after, field_ttl);
    let db3: String = redis::cmd("SELECT")
        .arg(3)
        .query::<String>(&mut con)
        .and_then(|_| redis::cmd("GET").arg("db3").query(&mut con))
        .unwrap();
    assert_eq!(db3, "three");
    redis::cmd("SELECT").arg(0).query::<()>(&mut con).unwrap();
    // The learned state: the counter RESTORE set, and an idle time that went on from 1000 s.
    let freq: i64 = redis::cmd("OBJECT")
        .arg("FREQ")
        .arg("hot")
        .query(&mut con)
        .unwrap();
    assert_eq!(freq, 50);
    let idle: i64 = redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("cold")
        .query(&mut con)
        .unwrap();
    assert!((1000..1000 + 600).contains(&idle), "idle {idle}");
    // The indexes are rebuilt: the tag finds the key, and a change of the parent invalidates it.
    let tagged: Vec<String> = redis::cmd("TAG.KEYS").arg("t1").query(&mut con).unwrap();
    assert_eq!(tagged, vec!["meta".to_string()]);
    redis::cmd("SET")
        .arg("str")
        .arg("changed")
        .query::<()>(&mut con)
        .unwrap();
    fleet::wait_until("the dependent to go", || {
        redis::cmd("EXISTS")
            .arg("meta")
            .query::<i64>(&mut con)
            .unwrap()
            == 0
    });
    // FLUSHALL checks, in a debug build, that the running byte count equals a recount.
    redis::cmd("FLUSHALL").query::<()>(&mut con).unwrap();
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn save_lastsave_and_info_persistence_as_redis_answers_them() {
    // redis-server in a directory of its own (`dir` is a protected config in Redis 7).
    let redis_dir = scratch_dir();
    let redis_port = fleet::free_port();
    let redis = Killed(
        Command::new("redis-server")
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&redis_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed"),
    );
    let mut theirs = connect_when_up(redis_port);
    let server = TestServer::start();
    let mut ours = server.client();
    let field_names = |con: &mut redis::Connection| -> Vec<String> {
        let text: String = redis::cmd("INFO").arg("persistence").query(con).unwrap();
        text.lines()
            .filter_map(|l| l.split_once(':').map(|(name, _)| name.to_string()))
            .collect()
    };
    assert_eq!(field_names(&mut ours), field_names(&mut theirs));
    for con in [&mut ours, &mut theirs] {
        let saves: u64 = info_field(con, "persistence", "rdb_saves").parse().unwrap();
        redis::cmd("SET")
            .arg("a")
            .arg("1")
            .query::<()>(con)
            .unwrap();
        redis::cmd("INCR").arg("a").query::<i64>(con).unwrap();
        assert_eq!(
            info_field(con, "persistence", "rdb_changes_since_last_save"),
            "2"
        );
        let ok: String = redis::cmd("SAVE").query(con).unwrap();
        assert_eq!(ok, "OK");
        assert_eq!(
            info_field(con, "persistence", "rdb_changes_since_last_save"),
            "0"
        );
        assert_eq!(
            info_field(con, "persistence", "rdb_saves"),
            (saves + 1).to_string()
        );
        let lastsave: i64 = redis::cmd("LASTSAVE").query(con).unwrap();
        assert_eq!(
            info_field(con, "persistence", "rdb_last_save_time"),
            lastsave.to_string()
        );
        let started: String = redis::cmd("BGSAVE").query(con).unwrap();
        assert_eq!(started, "Background saving started");
        wait_bgsave_done(con);
        assert_eq!(
            info_field(con, "persistence", "rdb_last_bgsave_status"),
            "ok"
        );
        let err = redis::cmd("BGSAVE")
            .arg("NOW")
            .query::<String>(con)
            .unwrap_err();
        assert!(err.to_string().contains("syntax error"), "{err}");
    }
    let mut raw = server.raw();
    assert_eq!(
        call(&mut raw, &["SAVE", "x"]),
        b"-ERR wrong number of arguments for 'save' command\r\n"
    );
    drop(redis);
    let _ = std::fs::remove_dir_all(redis_dir);
}

#[test]
fn save_points_bgsave_schedule_and_the_node_id_across_a_restart() {
    let dir = scratch_dir();
    let saves = |con: &mut redis::Connection| -> u64 {
        info_field(con, "persistence", "rdb_saves").parse().unwrap()
    };
    let node_id = {
        let server = start_in(&dir);
        let mut con = server.client();
        let node_id = info_field(&mut con, "coherence", "node_id");
        assert!(!node_id.is_empty());
        // A save point: one change, and a second since the last save, start a BGSAVE.
        common::config_set(&mut con, "save", "1 1");
        redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query::<()>(&mut con)
            .unwrap();
        fleet::wait_until("the save point's BGSAVE", || {
            info_field(&mut con, "persistence", "rdb_changes_since_last_save") == "0"
                && info_field(&mut con, "persistence", "rdb_bgsave_in_progress") == "0"
        });
        assert_eq!(
            info_field(&mut con, "persistence", "rdb_last_bgsave_status"),
            "ok"
        );
        assert!(dir.join("dump.cachet").exists());
        common::config_set(&mut con, "save", "");
        // SCHEDULE while a save runs: the next one starts when it ends. The first may end before
        // the second command arrives, which then starts at once: either way two saves are made.
        let before = saves(&mut con);
        let first: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
        assert_eq!(first, "Background saving started");
        let second: String = redis::cmd("BGSAVE")
            .arg("SCHEDULE")
            .query(&mut con)
            .unwrap();
        assert!(
            ["Background saving scheduled", "Background saving started"].contains(&second.as_str()),
            "{second}"
        );
        fleet::wait_until("both saves", || {
            saves(&mut con) == before + 2
                && info_field(&mut con, "persistence", "rdb_bgsave_in_progress") == "0"
        });
        node_id
    };
    // Restarted without a node id of its own: it is the same node to its coherence peers.
    let server = start_in(&dir);
    let mut con = server.client();
    assert_eq!(info_field(&mut con, "coherence", "node_id"), node_id);
    let value: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(value, "v");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

fn start_binary(port: u16, dir: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cachet"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--shards", "4", "--save", "", "--dir"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cachet")
}

/// The exit status and output of a daemon that must stop by itself.
fn refused(port: u16, dir: &Path, extra: &[&str]) -> (bool, String) {
    let mut child = start_binary(port, dir, extra);
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            return (status.success(), text);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the daemon started on a bad snapshot");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A good snapshot of two keys, as bytes.
fn good_snapshot() -> Vec<u8> {
    let dir = scratch_dir();
    let server = start_in(&dir);
    let mut raw = server.raw();
    call(&mut raw, &["SET", "a", "1"]);
    call(&mut raw, &["SET", "b", "2"]);
    assert_eq!(call(&mut raw, &["SAVE"]), b"+OK\r\n");
    let bytes = std::fs::read(dir.join("dump.cachet")).unwrap();
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
    bytes
}

#[test]
fn bad_files_refuse_the_start_by_default_and_start_empty_when_asked() {
    let good = good_snapshot();
    let mut future = good.clone();
    future[8] = 0xFF;
    let mut flipped = good.clone();
    let len = flipped.len();
    flipped[len - 20] ^= 0x01;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("zero length", Vec::new(), "zero length"),
        ("wrong magic", b"REDIS0010\xfe\x00".to_vec(), "wrong magic"),
        ("future version", future, "newer than this cachet reads"),
        ("truncated", good[..good.len() - 5].to_vec(), "truncated"),
        ("checksum", flipped, "checksum mismatch"),
    ];
    for (what, bytes, message) in cases {
        let dir = scratch_dir();
        std::fs::write(dir.join("dump.cachet"), &bytes).unwrap();
        let (ok, output) = refused(fleet::free_port(), &dir, &[]);
        assert!(!ok, "{what}: the daemon must exit with an error");
        assert!(output.contains(message), "{what}: {output}");
        // `empty`: the daemon serves, with nothing, and the file is left for inspection.
        let path = dir.to_string_lossy().into_owned();
        let server = TestServer::start_with(move |v| {
            v.dir = path;
            v.snapshot_load_failure_empty = true;
        });
        let mut con = server.client();
        let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(size, 0, "{what}");
        assert_eq!(
            std::fs::read(dir.join("dump.cachet")).unwrap(),
            bytes,
            "{what}"
        );
        drop(server);
        let _ = std::fs::remove_dir_all(dir);
    }
    // A directory that cannot be read as one: `dir` names a file.
    let dir = scratch_dir();
    std::fs::write(dir.join("file"), b"x").unwrap();
    let (ok, output) = refused(fleet::free_port(), &dir.join("file"), &[]);
    assert!(!ok);
    assert!(output.contains("Can't load the snapshot"), "{output}");
    let _ = std::fs::remove_dir_all(dir);
}

fn connect_when_up(port: u16) -> redis::Connection {
    let mut con = None;
    fleet::wait_until("cachet up", || {
        con = fleet::connect(port).ok();
        // DBSIZE, not PING: PING is answered while the snapshot still loads.
        con.as_mut()
            .is_some_and(|c| redis::cmd("DBSIZE").query::<i64>(c).is_ok())
    });
    con.unwrap()
}

fn mset_range(con: &mut redis::Connection, from: usize, to: usize) {
    let value = "v".repeat(100);
    for chunk in (from..to).collect::<Vec<_>>().chunks(1000) {
        let mut mset = redis::cmd("MSET");
        for i in chunk {
            mset.arg(format!("key:{i}")).arg(&value);
        }
        mset.query::<()>(con).unwrap();
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn kill_9_in_the_middle_of_a_bgsave_leaves_the_previous_snapshot_loadable() {
    let dir = scratch_dir();
    let port = fleet::free_port();
    let mut daemon = Killed(start_binary(port, &dir, &[]));
    let mut con = connect_when_up(port);
    mset_range(&mut con, 0, 50_000);
    let ok: String = redis::cmd("SAVE").query(&mut con).unwrap();
    assert_eq!(ok, "OK");
    mset_range(&mut con, 50_000, 200_000);
    let started: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
    assert_eq!(started, "Background saving started");
    daemon.0.kill().unwrap();
    daemon.0.wait().unwrap();
    drop(daemon);
    let _daemon = Killed(start_binary(port, &dir, &[]));
    let mut con = connect_when_up(port);
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    // The old snapshot, or the new one if it was renamed in place before the kill: never a mix.
    assert!(size == 50_000 || size == 200_000, "{size} keys");
    drop(_daemon);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn shutdown_during_a_bgsave_stops_it_and_saves_every_key() {
    let dir = scratch_dir();
    let port = fleet::free_port();
    let mut daemon = Killed(start_binary(port, &dir, &[]));
    let mut con = connect_when_up(port);
    mset_range(&mut con, 0, 200_000);
    let started: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
    assert_eq!(started, "Background saving started");
    // Stopped if still running (or already over): the shutdown's own save has every key.
    let mut raw = RawClient::connect(("127.0.0.1", port));
    assert_eq!(call(&mut raw, &["SHUTDOWN", "SAVE"]), b"");
    let status = daemon.0.wait().unwrap();
    assert!(status.success(), "{status}");
    drop(daemon);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("temp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _daemon = Killed(start_binary(port, &dir, &[]));
    let mut con = connect_when_up(port);
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 200_000);
    drop(_daemon);
    let _ = std::fs::remove_dir_all(dir);
}

/// A tmpfs of 1 MiB mounted on a scratch dir (root only), unmounted when dropped.
struct Tmpfs(common::TempDir);

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        let dir = scratch_dir();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // The directory itself goes with the guard, once unmounted.
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_the_save_keeps_the_old_snapshot_and_refuses_writes() {
    let Some(disk) = Tmpfs::mount() else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let server = start_in(&disk.0);
    let mut con = server.client();
    redis::cmd("SET")
        .arg("small")
        .arg("1")
        .query::<()>(&mut con)
        .unwrap();
    let ok: String = redis::cmd("SAVE").query(&mut con).unwrap();
    assert_eq!(ok, "OK");
    let old = std::fs::read(disk.0.join("dump.cachet")).unwrap();
    // Incompressible values, well past the 1 MiB of the disk.
    for i in 0..40 {
        let value: Vec<u8> = (0..100_000).map(|_| fastrand_byte()).collect();
        redis::cmd("SET")
            .arg(format!("big:{i}"))
            .arg(value)
            .query::<()>(&mut con)
            .unwrap();
    }
    let err = redis::cmd("SAVE").query::<String>(&mut con).unwrap_err();
    assert_eq!(err.code(), Some("ERR"), "{err}");
    let started: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
    assert_eq!(started, "Background saving started");
    wait_bgsave_done(&mut con);
    assert_eq!(
        info_field(&mut con, "persistence", "rdb_last_bgsave_status"),
        "err"
    );
    assert_eq!(std::fs::read(disk.0.join("dump.cachet")).unwrap(), old);
    let leftovers: Vec<_> = std::fs::read_dir(&disk.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("dump.cachet")]);
    // No schedule: writes go on. With one, they are refused as Redis refuses them, PING too.
    redis::cmd("SET")
        .arg("x")
        .arg("1")
        .query::<()>(&mut con)
        .unwrap();
    common::config_set(&mut con, "save", "3600 1");
    let mut raw = server.raw();
    let misconf = b"-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.\r\n";
    assert_eq!(call(&mut raw, &["SET", "x", "2"]), misconf);
    assert_eq!(call(&mut raw, &["PING"]), misconf);
    assert_eq!(call(&mut raw, &["GET", "x"]), b"$1\r\n1\r\n");
    common::config_set(&mut con, "stop-writes-on-bgsave-error", "no");
    assert_eq!(call(&mut raw, &["SET", "x", "2"]), b"+OK\r\n");
    common::config_set(&mut con, "save", "");
    drop(server);
}

fn fastrand_byte() -> u8 {
    use std::cell::Cell;
    thread_local!(static STATE: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) });
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 24) as u8
    })
}

/// `maxmemory` holds while a snapshot loads: an evicting policy evicts as keys come in, and the
/// daemon starts within its limit with part of the keys; `noeviction` leaves the rest out.
#[test]
fn the_memory_limit_holds_while_loading() {
    let dir = scratch_dir();
    let used = {
        let server = start_in(&dir);
        let mut raw = server.raw();
        let value = "v".repeat(1000);
        for i in 0..3000 {
            assert_eq!(
                call(&mut raw, &["SET", &format!("k:{i}"), &value]),
                b"+OK\r\n"
            );
        }
        assert_eq!(call(&mut raw, &["SAVE"]), b"+OK\r\n");
        let mut con = server.client();
        info_field(&mut con, "memory", "used_memory")
            .parse::<usize>()
            .unwrap()
    };
    for policy in [
        Policy::NoEviction,
        Policy::AllKeysLru,
        Policy::AllKeysCachet,
    ] {
        let path = dir.to_string_lossy().into_owned();
        let limit = used / 2;
        let server = TestServer::start_with(move |v| {
            v.dir = path;
            v.maxmemory = limit;
            v.maxmemory_policy = policy;
        });
        let mut con = server.client();
        let now: usize = info_field(&mut con, "memory", "used_memory")
            .parse()
            .unwrap();
        assert!(
            now <= limit,
            "{policy:?}: used_memory {now} over maxmemory {limit}"
        );
        let keys: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert!((500..3000).contains(&keys), "{policy:?}: {keys} keys");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The load at start logs its progress at most once a second (keys, file bytes, percent of the
/// file, elapsed time) and ends with Redis's facts: "Done loading RDB, keys loaded: N, keys
/// expired: M." becomes "Done loading the snapshot, keys loaded: N, keys expired: M.", then "DB
/// loaded from disk: S seconds". `key-load-delay` (Redis's, 5 ms a key) makes the load of 400
/// keys last over 2 s, so at least one progress line is due; a key whose TTL passed while the
/// daemon was down is the one expired.
#[test]
fn the_load_logs_its_progress_and_what_it_loaded() {
    const KEYS: usize = 400;
    let dir = scratch_dir();
    let expires_by = {
        let server = start_in(&dir);
        let mut raw = server.raw();
        for i in 0..KEYS {
            let key = format!("k:{i}");
            assert_eq!(call(&mut raw, &["SET", &key, &key]), b"+OK\r\n");
        }
        assert_eq!(
            call(&mut raw, &["SET", "gone", "v", "PX", "2000"]),
            b"+OK\r\n"
        );
        assert_eq!(call(&mut raw, &["SAVE"]), b"+OK\r\n");
        // Still there once SAVE answered: the snapshot holds it.
        let mut con = server.client();
        let ttl: i64 = redis::cmd("PTTL").arg("gone").query(&mut con).unwrap();
        assert!(ttl > 0, "PTTL {ttl}");
        Instant::now() + Duration::from_millis(ttl as u64 + 1)
    };
    fleet::wait_until("the volatile key's time to pass", || {
        Instant::now() > expires_by
    });
    let file_bytes = std::fs::metadata(dir.join("dump.cachet")).unwrap().len();
    let log = dir.join("cachet.log");
    let port = fleet::free_port();
    let daemon = Killed(start_binary(
        port,
        &dir,
        &[
            "--logfile",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "--loglevel",
            "notice",
            "--key-load-delay",
            "5000",
        ],
    ));
    let mut con = connect_when_up(port);
    let size: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, KEYS);
    drop(con);
    drop(daemon);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let fields = |message: &str| -> Vec<&serde_json::Value> {
        lines
            .iter()
            .map(|line| &line["fields"])
            .filter(|f| {
                f["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(message))
            })
            .collect()
    };
    let progress: Vec<_> = fields("Loading the snapshot")
        .into_iter()
        .filter(|f| f.get("keys").is_some())
        .collect();
    assert!(!progress.is_empty(), "no progress line in {lines:?}");
    let mut last = (0, 0, 0.0, 0);
    for line in &progress {
        let keys = line["keys"].as_u64().unwrap();
        let bytes = line["bytes"].as_u64().unwrap();
        let percent: f64 = line["percent"].as_str().unwrap().parse().unwrap();
        let elapsed = line["elapsed_ms"].as_u64().unwrap();
        assert!((1..=KEYS as u64).contains(&keys), "{line}");
        assert!((1..=file_bytes).contains(&bytes), "{line}");
        let expected = bytes as f64 * 100.0 / file_bytes as f64;
        assert!(
            (percent - expected).abs() <= 0.051,
            "{line}: {expected:.1}%"
        );
        // Logged once a second has passed since the last line (or the start).
        assert!(elapsed >= last.3 + 1000, "{line} after {last:?}");
        assert!(
            keys >= last.0 && bytes > last.1 && percent >= last.2,
            "{line}"
        );
        last = (keys, bytes, percent, elapsed);
    }
    let done = fields("Done loading the snapshot");
    assert_eq!(done.len(), 1, "{lines:?}");
    assert_eq!(
        done[0]["message"],
        format!("Done loading the snapshot, keys loaded: {KEYS}, keys expired: 1.")
    );
    assert_eq!(done[0]["keys"], KEYS as u64);
    assert_eq!(done[0]["expired"], 1);
    let loaded = fields("DB loaded from disk: ");
    assert_eq!(loaded.len(), 1, "{lines:?}");
    let seconds: f64 = loaded[0]["message"].as_str().unwrap()["DB loaded from disk: ".len()..]
        .trim_end_matches(" seconds")
        .parse()
        .unwrap();
    // Every key slept 5 ms: the load took at least 2 s, and at least as long as its last
    // progress line says.
    assert!(seconds >= 2.0, "{seconds} s");
    assert!(
        seconds * 1000.0 >= last.3 as f64,
        "{seconds} s, last progress {last:?}"
    );
    // The same duration twice: whole milliseconds cut short, seconds rounded to three decimals,
    // so they may differ by up to 1.5 ms (2042 ms and 2.043 s did).
    let elapsed = loaded[0]["elapsed_ms"].as_u64().unwrap() as f64;
    assert!(
        (elapsed - seconds * 1000.0).abs() <= 1.5,
        "{elapsed} ms, {seconds} s"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// As Redis: clients are accepted while the snapshot loads, and get `-LOADING` for every command
/// not flagged `loading` (PING too; inside MULTI too, which dooms the transaction) while INFO and
/// CONFIG GET answer; INFO shows the load's progress, and once it ends the data is served. The
/// snapshot is a FIFO the test feeds, which holds the load as long as the test wants.
#[test]
fn clients_connected_during_the_load_get_loading_errors_then_the_data() {
    let source = scratch_dir();
    let bytes = {
        let server = start_in(&source);
        let mut raw = server.raw();
        for i in 0..200 {
            let key = format!("k:{i}");
            assert_eq!(call(&mut raw, &["SET", &key, &key]), b"+OK\r\n");
        }
        assert_eq!(call(&mut raw, &["SAVE"]), b"+OK\r\n");
        std::fs::read(source.join("dump.cachet")).unwrap()
    };
    let dir = scratch_dir();
    let fifo = dir.join("dump.cachet");
    snapshot_fifo(&fifo);
    // A node id of its own: without one the daemon would first read the snapshot's header for it.
    let server = TestServer::start_with_loading({
        let dir = dir.to_string_lossy().into_owned();
        move |v| {
            v.dir = dir;
            v.node_id = "loading-node".into();
        }
    });
    let _unblock = Unblock(fifo.clone());
    let loading = b"-LOADING Redis is loading the dataset in memory\r\n".to_vec();
    let mut raw = server.raw();
    // Each reply is redis-server 7.0's during a load (`key-load-delay`): PING is not flagged
    // `loading` in 7.0, CONFIG RESETSTAT is.
    assert_eq!(call(&mut raw, &["PING"]), loading);
    assert_eq!(call(&mut raw, &["GET", "k:1"]), loading);
    assert_eq!(call(&mut raw, &["DBSIZE"]), loading);
    assert_eq!(call(&mut raw, &["SET", "new", "v"]), loading);
    assert_eq!(call(&mut raw, &["SAVE"]), loading);
    assert_eq!(call(&mut raw, &["CONFIG", "RESETSTAT"]), b"+OK\r\n");
    assert_eq!(
        call(&mut raw, &["CONFIG", "GET", "dbfilename"]),
        b"*2\r\n$10\r\ndbfilename\r\n$11\r\ndump.cachet\r\n"
    );
    assert_eq!(call(&mut raw, &["MULTI"]), b"+OK\r\n");
    assert_eq!(call(&mut raw, &["GET", "k:1"]), loading);
    assert_eq!(
        call(&mut raw, &["EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    let mut con = server.client();
    assert_eq!(info_field(&mut con, "persistence", "loading"), "1");
    // Everything but the last byte: every section loads, the end record waits.
    let mut writer = feed_fifo(&fifo);
    std::io::Write::write_all(&mut writer, &bytes[..bytes.len() - 1]).unwrap();
    fleet::wait_until("the sections loaded", || {
        info_field(&mut con, "persistence", "loading_loaded_bytes")
            .parse::<u64>()
            .is_ok_and(|b| b > 0)
    });
    for field in [
        "loading_start_time",
        "loading_loaded_perc",
        "loading_eta_seconds",
    ] {
        assert!(
            !info_field(&mut con, "persistence", field).is_empty(),
            "{field}"
        );
    }
    assert_eq!(call(&mut raw, &["GET", "k:1"]), loading);
    std::io::Write::write_all(&mut writer, &bytes[bytes.len() - 1..]).unwrap();
    drop(writer);
    fleet::wait_until("the load ended", || {
        info_field(&mut con, "persistence", "loading") == "0"
    });
    assert_eq!(call(&mut raw, &["GET", "k:1"]), b"$3\r\nk:1\r\n");
    assert_eq!(call(&mut raw, &["DBSIZE"]), b":200\r\n");
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(&mut con)
        .unwrap();
    assert!(
        !info.contains("loading_loaded_bytes"),
        "the loading_* fields go once loaded, as Redis's: {info}"
    );
    drop(con);
    drop(raw);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(source);
}
