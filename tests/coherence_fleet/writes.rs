//! Which writes reach the peers: every command that creates or replaces a key, keys of any
//! bytes in any database, flushes, and (known to fail) deletes of keys the origin does not hold.

use std::time::{Duration, Instant};

use redis::{Commands, Connection};

use super::fleet::{self, settle_exact, wait_until, Fleet, Kind, Topology};
use super::{get_any, set, A, B};

/// Writes on A that create or replace key `K` (`K` is substituted by the key under test), with
/// what A needs beforehand; `; ` separates commands sent in turn on one connection. Each must remove B's copy of the key.
const CREATING_WRITES: &[(&str, &str)] = &[
    ("", "SET K v"),
    ("", "SETNX K v"),
    ("", "SETEX K 100 v"),
    ("", "PSETEX K 100000 v"),
    ("", "GETSET K v"),
    ("", "MSET K v"),
    ("", "MSETNX K v"),
    ("", "INCR K"),
    ("", "DECR K"),
    ("", "INCRBY K 2"),
    ("", "DECRBY K 2"),
    ("", "INCRBYFLOAT K 1.5"),
    ("", "APPEND K x"),
    ("", "SETRANGE K 0 x"),
    ("", "CACHE.SET K v"),
    ("", "HSET K f v"),
    ("", "HSETNX K f v"),
    ("", "HMSET K f v"),
    ("", "HINCRBY K f 1"),
    ("", "HINCRBYFLOAT K f 1.5"),
    ("", "LPUSH K x"),
    ("", "RPUSH K x"),
    ("", "SADD K x"),
    ("", "ZADD K 1 x"),
    ("SET src:K v", "RENAME src:K K"),
    ("SET src:K v", "COPY src:K K"),
    ("RPUSH src:K x", "LMOVE src:K K LEFT RIGHT"),
    ("RPUSH src:K x", "RPOPLPUSH src:K K"),
    ("SADD src:K x", "SMOVE src:K K x"),
    ("SADD src:K x", "SUNIONSTORE K src:K"),
    ("SADD src:K x", "SINTERSTORE K src:K"),
    ("SADD src:K x", "SDIFFSTORE K src:K"),
    ("ZADD src:K 1 x", "ZUNIONSTORE K 1 src:K"),
    ("ZADD src:K 1 x", "ZINTERSTORE K 1 src:K"),
    ("ZADD src:K 1 x", "ZDIFFSTORE K 1 src:K"),
    ("ZADD src:K 1 x", "ZRANGESTORE K src:K 0 -1"),
    ("RPUSH src:K x", "BLMOVE src:K K LEFT RIGHT 0"),
    ("SELECT 1; SET K v", "MOVE K 0; SELECT 0"),
    ("", "MULTI; SET K v; EXEC"),
];

/// Deletes on A of a key A does not hold. The cache-aside pattern ("update the database, then
/// DEL the key on the local daemon") relies on these reaching the daemons that do hold it.
const DELETES_OF_ABSENT_KEYS: &[&str] = &["DEL K", "UNLINK K", "GETDEL K"];

/// Runs the `; `-separated commands of `line`, with `K` standing for `key`; returns the last reply.
pub fn run_words(con: &mut Connection, line: &str, key: &str) -> redis::RedisResult<redis::Value> {
    let mut reply = redis::Value::Nil;
    for command in line.split("; ") {
        let mut cmd = redis::Cmd::new();
        for word in command.split(' ') {
            match word {
                "K" => cmd.arg(key),
                "src:K" => cmd.arg(format!("src:{key}")),
                _ => cmd.arg(word),
            };
        }
        reply = cmd.query(con)?;
    }
    Ok(reply)
}

/// Runs each of `lines` on A against a key that only B holds, and returns the lines after which
/// B still holds it once the fleet has settled (polled up to the deadline).
pub fn writes_leaving_copies(topology: Topology, lines: &[(&str, &str)]) -> Vec<String> {
    let fleet = Fleet::start(topology, &[Kind::Local, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    let key = |i: usize| format!("w{i}");
    for i in 0..lines.len() {
        set(&mut cons[B], &key(i), "b");
    }
    settle_exact(topology, &mut cons);
    for (i, (before, line)) in lines.iter().enumerate() {
        if !before.is_empty() {
            run_words(&mut cons[A], before, &key(i)).expect(before);
        }
        run_words(&mut cons[A], line, &key(i)).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    settle_exact(topology, &mut cons);
    let mut left = Vec::new();
    let _ = wait_until_ok(|| {
        left = (0..lines.len())
            .filter(|i| get_any(&mut cons[B], &key(*i)))
            .map(|i| lines[i].1.to_string())
            .collect();
        left.is_empty()
    });
    left
}

/// Polls `done` up to the deadline; false if it never held.
pub fn wait_until_ok(mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > fleet::DEADLINE {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Property: every write on A that creates or replaces a key removes B's copy of it.
pub fn every_creating_write_removes_the_copies(topology: Topology) {
    let left = writes_leaving_copies(topology, CREATING_WRITES);
    assert!(left.is_empty(), "B keeps its copy after A's {left:?}");
}

/// Property (expected by the cache-aside pattern, fails today): a delete on A of a key A does
/// not hold removes B's copy.
pub fn deletes_of_absent_keys_remove_the_copies(topology: Topology) {
    let lines: Vec<(&str, &str)> = DELETES_OF_ABSENT_KEYS.iter().map(|l| ("", *l)).collect();
    let left = writes_leaving_copies(topology, &lines);
    assert!(left.is_empty(), "B keeps its copy after A's {left:?}");
}

/// Property: keys of any bytes (spaces, CR LF, NUL, invalid UTF-8, empty, 10 KiB) and in any
/// database are invalidated on the peers exactly: the same key in another database stays.
pub fn any_key_in_any_db_propagates(topology: Topology) {
    let fleet = Fleet::start(topology, &[Kind::Local, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    let long = vec![b'x'; 10 * 1024];
    let keys: Vec<&[u8]> = vec![
        b"a b",
        b"line\r\nbreak",
        b"\0\xff\xfe",
        b"",
        b"3:abc",
        &long,
    ];
    let in_db = |con: &mut Connection, db: u8, cmd: &mut redis::Cmd| {
        let _: () = redis::cmd("SELECT").arg(db).query(con).expect("SELECT");
        let _: redis::Value = cmd.query(con).expect("command");
    };
    for key in &keys {
        for db in [0, 3] {
            in_db(&mut cons[B], db, redis::cmd("SET").arg(*key).arg("b"));
        }
    }
    settle_exact(topology, &mut cons);
    for key in &keys {
        in_db(&mut cons[A], 3, redis::cmd("SET").arg(*key).arg("a"));
    }
    for key in &keys {
        wait_until("db 3 copy removed", || {
            let _: () = redis::cmd("SELECT")
                .arg(3)
                .query(&mut cons[B])
                .expect("SELECT");
            !get_any_bytes(&mut cons[B], key)
        });
    }
    settle_exact(topology, &mut cons);
    let _: () = redis::cmd("SELECT")
        .arg(0)
        .query(&mut cons[B])
        .expect("SELECT");
    for key in &keys {
        let value: Option<Vec<u8>> = cons[B].get(*key).expect("GET");
        assert_eq!(value.as_deref(), Some(&b"b"[..]), "db 0 copy of {key:?}");
    }
}

pub fn get_any_bytes(con: &mut Connection, key: &[u8]) -> bool {
    con.exists(key).expect("EXISTS")
}

/// Property: FLUSHALL, FLUSHDB, SWAPDB, a pattern and a tag invalidation on A, with nothing in
/// A, remove B's copies.
pub fn flushes_and_invalidations_reach_the_peers(topology: Topology) {
    let fleet = Fleet::start(topology, &[Kind::Local, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    let lines = [
        "FLUSHALL",
        "FLUSHDB",
        "SWAPDB 0 1",
        "CACHE.INVALIDATE f*",
        "TAG.INVALIDATE t",
    ];
    for line in lines {
        run_words(&mut cons[B], "CACHE.SET f b TAGS 1 t", "f").expect("CACHE.SET");
        settle_exact(topology, &mut cons);
        run_words(&mut cons[A], line, "f").unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(
            wait_until_ok(|| !get_any(&mut cons[B], "f")),
            "B keeps its copy after A's {line}"
        );
    }
}

/// Property: a write of a parent on A removes B's dependents of that parent (`CACHE.DEPEND`)
/// when B holds the parent too.
pub fn remote_parent_writes_remove_dependents(topology: Topology) {
    dependents_after_remote_parent_write(topology, true);
}

/// Property (fails today): the same when B does not hold the parent, as a write of the parent on
/// B itself would (checked first, for reference). B applies A's `key parent` item by deleting the
/// parent only if present, and only a deletion marks the parent changed for the dependents.
pub fn remote_parent_writes_remove_dependents_of_absent_parents(topology: Topology) {
    dependents_after_remote_parent_write(topology, false);
}

fn dependents_after_remote_parent_write(topology: Topology, b_holds_parent: bool) {
    let fleet = Fleet::start(topology, &[Kind::Local, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    let depend = |con: &mut Connection, child: &str, parent: &str| {
        let _: i64 = redis::cmd("CACHE.DEPEND")
            .arg(child)
            .arg(parent)
            .query(con)
            .expect("CACHE.DEPEND");
    };
    // Locally: writing a parent removes its dependent, whether the parent existed or not.
    if b_holds_parent {
        set(&mut cons[B], "local-parent", "v");
    }
    set(&mut cons[B], "local-child", "v");
    depend(&mut cons[B], "local-child", "local-parent");
    set(&mut cons[B], "local-parent", "v2");
    assert!(!get_any(&mut cons[B], "local-child"));

    if b_holds_parent {
        set(&mut cons[B], "parent", "b");
    }
    set(&mut cons[B], "child", "b");
    depend(&mut cons[B], "child", "parent");
    settle_exact(topology, &mut cons);
    set(&mut cons[A], "parent", "a");
    settle_exact(topology, &mut cons);
    assert!(
        wait_until_ok(|| !get_any(&mut cons[B], "child")),
        "B keeps the child after A wrote its parent (B holds the parent: {b_holds_parent})"
    );
}
