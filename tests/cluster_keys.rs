//! The per-slot key index behind CLUSTER COUNTKEYSINSLOT and GETKEYSINSLOT: after a mixed
//! workload (writes, deletes, lists emptied, RENAME, RESTORE, expiry, tag and pattern
//! invalidation, eviction, FLUSHALL, a snapshot loaded at restart) every slot's count and key
//! list equal a recount of the keys the node holds. MOVE, SWAPDB and COPY to another database
//! are refused in cluster mode with Redis 7.0's texts (checked against redis-server 7.0.15).

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::collections::{BTreeMap, BTreeSet};

use cachet::state::cluster::{key_slot, Mode};
use common::{info_u64, TempDir, TestServer};
use fleet::wait_until;
use redis::Connection;

const SLOTS: usize = 16384;

/// One node owning every slot, its snapshot and nodes.conf in `dir`.
fn start(dir: &TempDir) -> TestServer {
    let path = dir.0.display().to_string();
    TestServer::start_with(move |c| {
        c.cluster_enabled = Mode::Yes;
        c.cluster_config_file = "nodes.conf".into();
        c.dir = path;
    })
}

/// The keys the node holds, by slot, from KEYS.
fn recount(con: &mut Connection) -> BTreeMap<u16, BTreeSet<Vec<u8>>> {
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(con).unwrap();
    let mut by_slot: BTreeMap<u16, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for key in keys {
        by_slot.entry(key_slot(&key)).or_default().insert(key);
    }
    by_slot
}

/// Every slot's COUNTKEYSINSLOT, and GETKEYSINSLOT of every slot holding keys, against KEYS.
fn assert_index_exact(con: &mut Connection, when: &str) {
    let expected = recount(con);
    let mut pipe = redis::pipe();
    for slot in 0..SLOTS {
        pipe.cmd("CLUSTER").arg("COUNTKEYSINSLOT").arg(slot);
    }
    let counts: Vec<usize> = pipe.query(con).unwrap();
    for (slot, &count) in counts.iter().enumerate() {
        let want = expected.get(&(slot as u16)).map_or(0, BTreeSet::len);
        assert_eq!(count, want, "{when}: COUNTKEYSINSLOT {slot}");
    }
    for (slot, keys) in &expected {
        let listed: Vec<Vec<u8>> = redis::cmd("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(*slot)
            .arg(keys.len() + 10)
            .query(con)
            .unwrap();
        let listed: BTreeSet<Vec<u8>> = listed.into_iter().collect();
        assert_eq!(&listed, keys, "{when}: GETKEYSINSLOT {slot}");
        let one: Vec<Vec<u8>> = redis::cmd("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(*slot)
            .arg(1)
            .query(con)
            .unwrap();
        assert_eq!(one.len(), 1, "{when}: GETKEYSINSLOT {slot} 1");
    }
}

fn query<T: redis::FromRedisValue>(con: &mut Connection, args: &[&str]) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(con)
}

fn ok(con: &mut Connection, args: &[&str]) {
    let _: redis::Value = query(con, args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

fn error_text(con: &mut Connection, args: &[&str]) -> String {
    let err = query::<redis::Value>(con, args).expect_err("an error");
    format!(
        "{} {}",
        err.code().unwrap_or_default(),
        err.detail().unwrap_or_default()
    )
}

#[test]
fn slot_counts_stay_exact_through_a_mixed_workload_and_a_restart() {
    let dir = TempDir::new("mixed");
    let server = start(&dir);
    let mut con = server.client();
    ok(&mut con, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);

    // Edge cases first: an empty node, and the arguments Redis refuses.
    assert_index_exact(&mut con, "empty");
    assert_eq!(
        error_text(&mut con, &["CLUSTER", "COUNTKEYSINSLOT", "16384"]),
        "ERR Invalid slot"
    );
    assert_eq!(
        error_text(&mut con, &["CLUSTER", "GETKEYSINSLOT", "0", "-1"]),
        "ERR Invalid slot or number of keys"
    );
    let none: Vec<Vec<u8>> = query(&mut con, &["CLUSTER", "GETKEYSINSLOT", "0", "0"]).unwrap();
    assert!(none.is_empty());

    // Strings under 200 hash tags (many keys per slot) and untagged ones.
    let mut pipe = redis::pipe();
    for i in 0..3000 {
        pipe.cmd("SET")
            .arg(format!("k:{{t{}}}:{i}", i % 200))
            .arg(i);
        pipe.cmd("SET").arg(format!("plain{i}")).arg(i);
    }
    let _: () = pipe.query(&mut con).unwrap();
    assert_index_exact(&mut con, "after the writes");

    // Deletes of every kind, a list emptied, RENAME within a slot, RESTORE.
    let mut pipe = redis::pipe();
    for i in 0..300 {
        pipe.cmd("DEL").arg(format!("plain{i}"));
        pipe.cmd("UNLINK").arg(format!("plain{}", 300 + i));
        pipe.cmd("GETDEL").arg(format!("plain{}", 600 + i));
        pipe.cmd("RPUSH").arg(format!("list{i}")).arg("a").arg("b");
        pipe.cmd("LPOP").arg(format!("list{i}")).arg(2);
        pipe.cmd("RPUSH").arg(format!("kept{i}")).arg("a");
        pipe.cmd("RENAME")
            .arg(format!("k:{{t{}}}:{i}", i % 200))
            .arg(format!("{{t{}}}renamed{i}", i % 200));
    }
    let _: () = pipe.query(&mut con).unwrap();
    for i in 0..50 {
        let payload: Vec<u8> = redis::cmd("DUMP")
            .arg(format!("plain{}", 1000 + i))
            .query(&mut con)
            .unwrap();
        ok(&mut con, &["DEL", &format!("plain{}", 1000 + i)]);
        let _: () = redis::cmd("RESTORE")
            .arg(format!("restored{i}"))
            .arg(0)
            .arg(payload)
            .query(&mut con)
            .unwrap();
    }
    assert_index_exact(&mut con, "after deletes, RENAME and RESTORE");

    // Refused in cluster mode, as Redis: nothing leaves db 0 behind the index's back.
    assert_eq!(
        error_text(&mut con, &["MOVE", "plain2000", "1"]),
        "ERR MOVE is not allowed in cluster mode"
    );
    assert_eq!(
        error_text(&mut con, &["SWAPDB", "0", "1"]),
        "ERR SWAPDB is not allowed in cluster mode"
    );
    assert_eq!(
        error_text(&mut con, &["COPY", "plain2000", "{plain2000}x", "DB", "1"]),
        "ERR Copying to another database is not allowed in cluster mode"
    );
    ok(&mut con, &["COPY", "plain2000", "{plain2000}x"]);

    // Expiry: lazily (a read of half of them) and by the active cycle (the other half).
    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("SET")
            .arg(format!("short{{t{}}}{i}", i % 50))
            .arg(i)
            .arg("PX")
            .arg(30);
    }
    let _: () = pipe.query(&mut con).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(60));
    for i in 0..100 {
        let _: Option<String> =
            query(&mut con, &["GET", &format!("short{{t{}}}{i}", i % 50)]).unwrap();
    }
    wait_until("the active expiry cycle to take the rest", || {
        info_u64(&mut con, "stats", "expired_keys") == 200
    });
    assert_index_exact(&mut con, "after expiry");

    // Tag invalidation (keys go stale at once, the sweeper deletes them later) and pattern
    // invalidation: counted exactly before and after the sweep.
    for i in 0..300 {
        ok(
            &mut con,
            &[
                "CACHE.SET",
                &format!("tagged{{t{}}}{i}", i % 70),
                "v",
                "TAGS",
                "1",
                "grp",
            ],
        );
        ok(&mut con, &["SET", &format!("pat:{i}"), "v"]);
    }
    assert_index_exact(&mut con, "after the tagged writes");
    ok(&mut con, &["TAG.INVALIDATE", "grp"]);
    ok(&mut con, &["CACHE.INVALIDATE", "pat:*"]);
    assert_index_exact(&mut con, "right after the invalidations");
    wait_until("the sweeper", || {
        info_u64(&mut con, "cachet", "invalidation_backlog") == 0
    });
    assert_index_exact(&mut con, "after the sweep");

    // Eviction: a limit below what is held, then more writes.
    let used = info_u64(&mut con, "memory", "used_memory");
    ok(
        &mut con,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-random"],
    );
    ok(
        &mut con,
        &["CONFIG", "SET", "maxmemory", &(used * 9 / 10).to_string()],
    );
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("SET")
            .arg(format!("late{{t{}}}{i}", i % 90))
            .arg("x".repeat(64));
    }
    let _: redis::Value = pipe.query(&mut con).unwrap();
    assert!(info_u64(&mut con, "stats", "evicted_keys") > 0);
    ok(&mut con, &["CONFIG", "SET", "maxmemory", "0"]);
    assert_index_exact(&mut con, "after eviction");

    // FLUSHALL empties every slot; writes after it are counted again.
    ok(&mut con, &["FLUSHALL"]);
    assert_index_exact(&mut con, "after FLUSHALL");
    let mut pipe = redis::pipe();
    for i in 0..1500 {
        pipe.cmd("SET")
            .arg(format!("again{{t{}}}{i}", i % 40))
            .arg(i);
        pipe.cmd("HSET").arg(format!("h{i}")).arg("f").arg(i);
    }
    let _: () = pipe.query(&mut con).unwrap();
    assert_index_exact(&mut con, "after FLUSHALL and new writes");

    // A snapshot loaded at start: the index is rebuilt from it.
    let before = recount(&mut con);
    ok(&mut con, &["SAVE"]);
    drop(con);
    drop(server);
    let server = start(&dir);
    let mut con = server.client();
    assert_eq!(recount(&mut con), before);
    assert_index_exact(&mut con, "after the restart");
}
