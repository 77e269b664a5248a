//! Memory limit and eviction against the real server: `maxmemory`, `maxmemory-keys`, the nine
//! policies, CACHE.SET priorities, the background cycle after a runtime shrink, and the counters.
//!
//! Key limits (`maxmemory-keys`) are used wherever a test needs exact counts: `maxmemory` bounds
//! `used_memory`, which includes a startup baseline and table overhead, so it is only used where
//! memory itself is the point, and then relative to what INFO reports.
//!
//! The priority rules are exact, not statistical: `evict.rs` never takes a candidate above the
//! lowest priority present (the "floor"), and falls back to a walk when sampling finds nothing
//! admissible, so a single low key is always chosen over any number of high ones.

mod common;

use std::time::{Duration, Instant};

use common::{call, config_set, info_field, info_u64, TestServer};

const OK: &[u8] = b"+OK\r\n";
/// Redis 7.0's reply to a `denyoom` command over the limit under `noeviction`, byte for byte.
const OOM: &[u8] = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n";

fn dbsize(con: &mut redis::Connection) -> usize {
    redis::cmd("DBSIZE").query(con).unwrap()
}

fn exists(con: &mut redis::Connection, key: &str) -> bool {
    redis::cmd("EXISTS").arg(key).query::<i64>(con).unwrap() == 1
}

fn cache_set(con: &mut redis::Connection, key: &str, priority: &str) {
    let () = redis::cmd("CACHE.SET")
        .arg(key)
        .arg("v")
        .arg("PRIORITY")
        .arg(priority)
        .query(con)
        .unwrap();
}

fn set(con: &mut redis::Connection, key: &str, value: &str) {
    let () = redis::cmd("SET").arg(key).arg(value).query(con).unwrap();
}

/// Polls `done` every 50 ms for up to 5 s; for effects of the background cycle only.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn noeviction_refuses_writes_over_maxmemory_but_serves_reads_and_del() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut raw = server.raw();
    config_set(&mut con, "maxmemory-policy", "noeviction");
    set(&mut con, "a", "1");
    set(&mut con, "b", "2");
    set(&mut con, "big", &"x".repeat(100_000));
    // used_memory only changes with the data, so this limit is exactly "less than now, more than
    // without `big`".
    let used = info_u64(&mut con, "memory", "used_memory");
    config_set(&mut con, "maxmemory", &(used - 50_000).to_string());

    assert_eq!(call(&mut raw, &["SET", "c", "3"]), OOM);
    assert_eq!(call(&mut raw, &["SET", "a", "x"]), OOM);
    assert_eq!(call(&mut raw, &["INCR", "n"]), OOM);
    assert_eq!(
        call(&mut raw, &["CACHE.SET", "c", "3", "PRIORITY", "critical"]),
        OOM
    );
    assert_eq!(call(&mut raw, &["GET", "a"]), b"$1\r\n1\r\n");
    assert_eq!(call(&mut raw, &["GET", "nope"]), b"$-1\r\n");
    assert_eq!(call(&mut raw, &["EXISTS", "big"]), b":1\r\n");
    assert_eq!(call(&mut raw, &["DBSIZE"]), b":3\r\n");
    // DEL is a write but not `denyoom`: allowed over the limit. A small one does not make room.
    assert_eq!(call(&mut raw, &["DEL", "a"]), b":1\r\n");
    assert_eq!(call(&mut raw, &["GET", "a"]), b"$-1\r\n");
    assert_eq!(call(&mut raw, &["SET", "c", "3"]), OOM);
    assert_eq!(call(&mut raw, &["DEL", "big"]), b":1\r\n");
    assert_eq!(call(&mut raw, &["SET", "c", "3"]), OK);
    assert_eq!(call(&mut raw, &["GET", "c"]), b"$1\r\n3\r\n");
    assert_eq!(call(&mut raw, &["GET", "b"]), b"$1\r\n2\r\n");
    // Nothing was ever evicted.
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 0);

    // Any data at all is over one byte, as after `CONFIG SET maxmemory 1` in Redis.
    config_set(&mut con, "maxmemory", "1");
    assert_eq!(call(&mut raw, &["SET", "d", "4"]), OOM);
    assert_eq!(call(&mut raw, &["GET", "b"]), b"$1\r\n2\r\n");
}

#[test]
fn noeviction_key_limit_and_del_makes_room() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut raw = server.raw();
    config_set(&mut con, "maxmemory-policy", "noeviction");
    config_set(&mut con, "maxmemory-keys", "10");
    for i in 0..10 {
        assert_eq!(call(&mut raw, &["SET", &format!("k{i}"), "v"]), OK);
    }
    // As in Redis the limit is checked before a command: the write that reaches it is let through,
    // the next one is refused.
    assert_eq!(call(&mut raw, &["SET", "k10", "v"]), OK);
    assert_eq!(call(&mut raw, &["SET", "k11", "v"]), OOM);
    assert_eq!(call(&mut raw, &["SET", "k0", "overwrite"]), OOM);
    assert_eq!(call(&mut raw, &["INCR", "counter"]), OOM);
    assert_eq!(call(&mut raw, &["DBSIZE"]), b":11\r\n");
    assert_eq!(call(&mut raw, &["GET", "k0"]), b"$1\r\nv\r\n");
    assert_eq!(call(&mut raw, &["DEL", "k0", "k1"]), b":2\r\n");
    assert_eq!(call(&mut raw, &["SET", "k11", "v"]), OK);
    assert_eq!(call(&mut raw, &["DBSIZE"]), b":10\r\n");
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 0);
}

#[test]
fn low_priority_writes_never_evict_high_priority_keys() {
    const N: usize = 100;
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(
        info_field(&mut con, "cachet", "eviction_policy"),
        "allkeys-cachet"
    );
    config_set(&mut con, "maxmemory-keys", &N.to_string());
    for i in 0..N {
        cache_set(&mut con, &format!("high:{i}"), "high");
    }
    for i in 0..1000 {
        cache_set(&mut con, &format!("low:{i}"), "low");
        assert!(dbsize(&mut con) <= N);
    }
    // Exact, not "at least 95%": a high key is above the floor while any low key exists.
    let survivors = (0..N)
        .filter(|i| exists(&mut con, &format!("high:{i}")))
        .count();
    assert_eq!(survivors, N);
    assert_eq!(dbsize(&mut con), N);
    assert_eq!(info_u64(&mut con, "cachet", "evicted_high"), 0);
    assert_eq!(info_u64(&mut con, "cachet", "evicted_low"), 1000);
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 1000);
}

#[test]
fn priorities_go_in_order_low_normal_high() {
    let server = TestServer::start();
    let mut con = server.client();
    config_set(&mut con, "maxmemory-keys", "30");
    for i in 0..10 {
        cache_set(&mut con, &format!("low:{i}"), "low");
        cache_set(&mut con, &format!("normal:{i}"), "normal");
        cache_set(&mut con, &format!("high:{i}"), "high");
    }
    let count = |con: &mut redis::Connection, prefix: &str| {
        (0..10)
            .filter(|i| exists(con, &format!("{prefix}:{i}")))
            .count()
    };
    // 15 critical writes push out the 10 low keys, then 5 normal ones, and no high key.
    for i in 0..15 {
        cache_set(&mut con, &format!("critical:{i}"), "critical");
    }
    assert_eq!(count(&mut con, "low"), 0);
    assert_eq!(count(&mut con, "normal"), 5);
    assert_eq!(count(&mut con, "high"), 10);
    assert_eq!(info_u64(&mut con, "cachet", "evicted_low"), 10);
    assert_eq!(info_u64(&mut con, "cachet", "evicted_normal"), 5);
    assert_eq!(info_u64(&mut con, "cachet", "evicted_high"), 0);
}

fn critical_keys_survive(policy: &str) {
    let server = TestServer::start();
    let mut con = server.client();
    config_set(&mut con, "maxmemory-policy", policy);
    config_set(&mut con, "maxmemory-keys", "50");
    for i in 0..20 {
        cache_set(&mut con, &format!("critical:{i}"), "critical");
    }
    for i in 0..500 {
        let priority = ["low", "normal", "high"][i % 3];
        cache_set(&mut con, &format!("k:{i}"), priority);
        set(&mut con, &format!("plain:{i}"), "v");
        assert!(dbsize(&mut con) <= 50, "{policy}: key limit exceeded");
    }
    for i in 0..20 {
        assert!(
            exists(&mut con, &format!("critical:{i}")),
            "{policy}: critical:{i} was evicted"
        );
    }
    assert_eq!(
        info_u64(&mut con, "cachet", "evicted_critical"),
        0,
        "{policy}"
    );
    assert_eq!(
        info_u64(&mut con, "stats", "evicted_keys"),
        20 + 1000 - 50,
        "{policy}"
    );
}

#[test]
fn critical_keys_survive_allkeys_cachet() {
    critical_keys_survive("allkeys-cachet");
}

#[test]
fn critical_keys_survive_allkeys_lru() {
    critical_keys_survive("allkeys-lru");
}

#[test]
fn critical_keys_survive_allkeys_random() {
    critical_keys_survive("allkeys-random");
}

#[test]
fn critical_keys_go_only_when_nothing_else_is_left() {
    let server = TestServer::start();
    let mut con = server.client();
    config_set(&mut con, "maxmemory-keys", "10");
    for i in 0..10 {
        cache_set(&mut con, &format!("critical:{i}"), "critical");
    }
    // The keyspace holds only critical keys: the new one (critical too) makes one of them go.
    cache_set(&mut con, "critical:10", "critical");
    assert_eq!(dbsize(&mut con), 10);
    assert_eq!(info_u64(&mut con, "cachet", "evicted_critical"), 1);
}

#[test]
fn config_set_maxmemory_shrink_is_enforced_in_the_background() {
    let server = TestServer::start();
    let mut con = server.client();
    let value = "x".repeat(1000);
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("SET").arg(format!("key:{i}")).arg(&value).ignore();
    }
    let () = pipe.query(&mut con).unwrap();
    let used = info_u64(&mut con, "memory", "used_memory");
    assert!(used > 2_000_000, "used_memory {used}");
    let limit = used / 2;
    config_set(&mut con, "maxmemory", &limit.to_string());
    assert_eq!(info_u64(&mut con, "memory", "maxmemory"), limit);

    // No writes from here on. As in Redis, every command also evicts a little before it runs while
    // over the limit (a bounded step for commands that cannot grow memory, such as INFO and PING),
    // so this checks the outcome and that clients keep being served, not which path did the work.
    let mut pinger = server.raw();
    let shrunk = eventually(|| {
        assert_eq!(call(&mut pinger, &["PING"]), b"+PONG\r\n");
        info_u64(&mut con, "memory", "used_memory") <= limit
    });
    assert!(
        shrunk,
        "used_memory {} still above {limit} after 5 s",
        info_u64(&mut con, "memory", "used_memory")
    );
    let left = dbsize(&mut con);
    assert!(left > 0 && left < 2000, "{left} keys left");
    assert_eq!(
        info_u64(&mut con, "stats", "evicted_keys"),
        2000 - left as u64
    );
    assert!(server.alive());
}

#[test]
fn config_set_maxmemory_keys_shrink_is_enforced_in_the_background() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.cmd("SET").arg(format!("key:{i}")).arg("v").ignore();
    }
    let () = pipe.query(&mut con).unwrap();
    config_set(&mut con, "maxmemory-keys", "100");
    let mut pinger = server.raw();
    let shrunk = eventually(|| {
        assert_eq!(call(&mut pinger, &["PING"]), b"+PONG\r\n");
        dbsize(&mut con) <= 100
    });
    assert!(shrunk, "DBSIZE {} after 5 s", dbsize(&mut con));
    // The cron and the commands evict concurrently, one key at a time each under the same lock, so
    // together they stop exactly at the limit.
    assert_eq!(dbsize(&mut con), 100);
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 900);
}

fn volatile_policy_spares_persistent_keys(policy: &str) {
    let server = TestServer::start();
    let mut con = server.client();
    let mut raw = server.raw();
    config_set(&mut con, "maxmemory-policy", policy);
    config_set(&mut con, "maxmemory-keys", "20");
    for i in 0..10 {
        set(&mut con, &format!("persistent:{i}"), "v");
    }
    for i in 0..30 {
        assert_eq!(
            call(
                &mut raw,
                &["SET", &format!("volatile:{i}"), "v", "EX", "1000"]
            ),
            OK
        );
        assert!(dbsize(&mut con) <= 20);
    }
    // Persistent writes now take the room of the 10 volatile keys left, one each.
    for i in 10..20 {
        assert_eq!(
            call(&mut raw, &["SET", &format!("persistent:{i}"), "v"]),
            OK,
            "{policy}"
        );
        assert_eq!(dbsize(&mut con), 20, "{policy}");
    }
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 30, "{policy}");
    // No volatile key is left: the write that reaches past the limit is let through (the limit is
    // checked before a command), the next one has nothing it may evict.
    assert_eq!(
        call(&mut raw, &["SET", "persistent:20", "v"]),
        OK,
        "{policy}"
    );
    assert_eq!(
        call(&mut raw, &["SET", "persistent:21", "v"]),
        OOM,
        "{policy}"
    );
    assert_eq!(
        call(&mut raw, &["SET", "volatile:new", "v", "EX", "1000"]),
        OOM,
        "{policy}"
    );
    for i in 0..21 {
        assert!(
            exists(&mut con, &format!("persistent:{i}")),
            "{policy}: persistent:{i} was evicted"
        );
    }
    assert_eq!(dbsize(&mut con), 21);
    // Reads and DEL still work, and DEL makes room again.
    assert_eq!(call(&mut raw, &["GET", "persistent:0"]), b"$1\r\nv\r\n");
    assert_eq!(
        call(&mut raw, &["DEL", "persistent:0", "persistent:1"]),
        b":2\r\n"
    );
    assert_eq!(
        call(&mut raw, &["SET", "persistent:21", "v"]),
        OK,
        "{policy}"
    );
}

#[test]
fn volatile_lru_evicts_only_keys_with_ttl() {
    volatile_policy_spares_persistent_keys("volatile-lru");
}

#[test]
fn volatile_random_evicts_only_keys_with_ttl() {
    volatile_policy_spares_persistent_keys("volatile-random");
}

#[test]
fn volatile_ttl_evicts_only_keys_with_ttl() {
    volatile_policy_spares_persistent_keys("volatile-ttl");
}

#[test]
fn volatile_lfu_evicts_only_keys_with_ttl() {
    volatile_policy_spares_persistent_keys("volatile-lfu");
}

#[test]
fn volatile_ttl_evicts_the_soonest_expiring_first() {
    // One shard and many samples, so that each eviction sees (nearly) every volatile key: Redis's
    // volatile-ttl is a sampled approximation too, and this keeps the test free of luck.
    let server = TestServer::start_with(|values| values.shards = 1);
    let mut con = server.client();
    config_set(&mut con, "maxmemory-policy", "volatile-ttl");
    config_set(&mut con, "maxmemory-samples", "32");
    config_set(&mut con, "maxmemory-keys", "20");
    for i in 0..10 {
        set(&mut con, &format!("persistent:{i}"), "v");
    }
    let () = redis::cmd("SET")
        .arg("long")
        .arg("v")
        .arg("EX")
        .arg(1_000_000)
        .query(&mut con)
        .unwrap();
    for i in 0..100 {
        let () = redis::cmd("SET")
            .arg(format!("short:{i}"))
            .arg("v")
            .arg("EX")
            .arg(100 + i)
            .query(&mut con)
            .unwrap();
        assert!(dbsize(&mut con) <= 20);
    }
    assert!(
        exists(&mut con, "long"),
        "the key with the longest TTL was evicted"
    );
    for i in 0..10 {
        assert!(exists(&mut con, &format!("persistent:{i}")));
    }
    // Each eviction took the soonest-expiring key it saw: the 9 latest shorts are left.
    let shorts: Vec<usize> = (0..100)
        .filter(|i| exists(&mut con, &format!("short:{i}")))
        .collect();
    assert_eq!(shorts.len(), 9);
    assert!(
        shorts.iter().filter(|&&i| i >= 80).count() >= 8,
        "left: {shorts:?}"
    );
}

#[test]
fn eviction_counters_move_and_resetstat_zeroes_them() {
    let server = TestServer::start();
    let mut con = server.client();
    config_set(&mut con, "maxmemory-keys", "10");
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 0);
    for i in 0..30 {
        set(&mut con, &format!("normal:{i}"), "v");
    }
    for i in 0..5 {
        cache_set(&mut con, &format!("low:{i}"), "low");
    }
    // 35 writes into 10 slots; the low ones are the first to go once they exist.
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 25);
    assert_eq!(info_u64(&mut con, "cachet", "evicted_normal"), 20);
    assert_eq!(info_u64(&mut con, "cachet", "evicted_low"), 5);
    assert_eq!(info_u64(&mut con, "cachet", "evicted_high"), 0);
    assert_eq!(info_u64(&mut con, "cachet", "evicted_critical"), 0);
    assert!(info_u64(&mut con, "cachet", "evicted_bytes") > 0);

    let () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 0);
    for field in [
        "evicted_bytes",
        "evicted_low",
        "evicted_normal",
        "evicted_high",
        "evicted_critical",
    ] {
        assert_eq!(info_u64(&mut con, "cachet", field), 0, "{field}");
    }
    // The data is untouched and counting starts again.
    assert_eq!(dbsize(&mut con), 10);
    set(&mut con, "after", "v");
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 1);
}

#[test]
fn key_limit_holds_after_every_write() {
    for policy in [
        "allkeys-cachet",
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
    ] {
        let server = TestServer::start();
        let mut con = server.client();
        config_set(&mut con, "maxmemory-policy", policy);
        config_set(&mut con, "maxmemory-keys", "100");
        for i in 0..500 {
            set(&mut con, &format!("key:{i}"), "v");
            let size = dbsize(&mut con);
            assert!(size <= 100, "{policy}: DBSIZE {size} after write {i}");
        }
        assert_eq!(dbsize(&mut con), 100, "{policy}");
        assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 400, "{policy}");
    }
}

#[test]
fn maxmemory_directives_round_trip_and_reject_like_redis() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        call(&mut raw, &["CONFIG", "GET", "maxmemory-policy"]),
        b"*2\r\n$16\r\nmaxmemory-policy\r\n$14\r\nallkeys-cachet\r\n"
    );
    for policy in [
        "noeviction",
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
        "allkeys-cachet",
    ] {
        // Case-insensitive, reported in lower case, as Redis does.
        assert_eq!(
            call(
                &mut raw,
                &["CONFIG", "SET", "maxmemory-policy", &policy.to_uppercase()]
            ),
            OK
        );
        let expected = format!(
            "*2\r\n$16\r\nmaxmemory-policy\r\n${}\r\n{policy}\r\n",
            policy.len()
        );
        assert_eq!(
            call(&mut raw, &["CONFIG", "GET", "maxmemory-policy"]),
            expected.as_bytes()
        );
    }
    // Redis 7's errors; the policy list is Redis's, with allkeys-cachet at the end.
    assert_eq!(
        call(&mut raw, &["CONFIG", "SET", "maxmemory-policy", "foo"]),
        &b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of \
the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, \
noeviction, allkeys-cachet\r\n"[..]
    );
    assert_eq!(
        call(&mut raw, &["CONFIG", "SET", "maxmemory-samples", "0"]),
        &b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and \
2147483647 inclusive\r\n"[..]
    );
    assert_eq!(
        call(&mut raw, &["CONFIG", "SET", "maxmemory", "-1"]),
        &b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"[..]
    );
    assert_eq!(call(&mut raw, &["CONFIG", "SET", "maxmemory", "2mb"]), OK);
    assert_eq!(
        call(&mut raw, &["CONFIG", "GET", "maxmemory"]),
        b"*2\r\n$9\r\nmaxmemory\r\n$7\r\n2097152\r\n"
    );
    assert_eq!(
        call(&mut raw, &["CONFIG", "SET", "maxmemory-keys", "5"]),
        OK
    );
    assert_eq!(
        call(&mut raw, &["CONFIG", "GET", "maxmemory-keys"]),
        b"*2\r\n$14\r\nmaxmemory-keys\r\n$1\r\n5\r\n"
    );
    let mut con = server.client();
    assert_eq!(info_field(&mut con, "memory", "maxmemory"), "2097152");
    assert_eq!(
        info_field(&mut con, "memory", "maxmemory_policy"),
        "allkeys-cachet"
    );
    assert_eq!(info_field(&mut con, "cachet", "maxmemory_keys"), "5");
}

#[test]
fn lifting_the_key_limit_stops_eviction() {
    let server = TestServer::start();
    let mut con = server.client();
    config_set(&mut con, "maxmemory-keys", "10");
    for i in 0..20 {
        set(&mut con, &format!("a:{i}"), "v");
    }
    assert_eq!(dbsize(&mut con), 10);
    config_set(&mut con, "maxmemory-keys", "0");
    for i in 0..20 {
        set(&mut con, &format!("b:{i}"), "v");
    }
    assert_eq!(dbsize(&mut con), 30);
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 10);
}

#[test]
fn allkeys_lfu_keeps_frequently_read_keys() {
    // One shard and ten samples: a frequently read key is taken only when every candidate in the
    // pool is one, which with 10 of 100 keys hot does not happen in practice (~1e-10 per eviction).
    let server = TestServer::start_with(|values| values.shards = 1);
    let mut con = server.client();
    config_set(&mut con, "maxmemory-policy", "allkeys-lfu");
    config_set(&mut con, "maxmemory-samples", "10");
    config_set(&mut con, "maxmemory-keys", "100");
    for i in 0..100 {
        set(&mut con, &format!("key:{i}"), "v");
    }
    let mut pipe = redis::pipe();
    for _ in 0..100 {
        for i in 0..10 {
            pipe.cmd("GET").arg(format!("key:{i}")).ignore();
        }
    }
    let () = pipe.query(&mut con).unwrap();
    for i in 0..10 {
        let freq: i64 = redis::cmd("OBJECT")
            .arg("FREQ")
            .arg(format!("key:{i}"))
            .query(&mut con)
            .unwrap();
        assert!(freq > 5, "key:{i} freq {freq}");
    }
    for i in 0..300 {
        set(&mut con, &format!("new:{i}"), "v");
    }
    let hot_left = (0..10)
        .filter(|i| exists(&mut con, &format!("key:{i}")))
        .count();
    assert_eq!(hot_left, 10);
    assert_eq!(dbsize(&mut con), 100);
}

#[test]
fn allkeys_cachet_prefers_to_keep_costly_keys() {
    // One shard, so that every eviction weighs the key leaving the admission window (with several
    // shards a shard's window is drained only when that shard is sampled, and ~84% survive).
    let server = TestServer::start_with(|values| values.shards = 1);
    let mut con = server.client();
    config_set(&mut con, "maxmemory-keys", "100");
    for i in 0..100 {
        let () = redis::cmd("CACHE.SET")
            .arg(format!("costly:{i}"))
            .arg("v")
            .arg("COST")
            .arg(1000)
            .query(&mut con)
            .unwrap();
    }
    for i in 0..300 {
        let () = redis::cmd("CACHE.SET")
            .arg(format!("cheap:{i}"))
            .arg("v")
            .arg("COST")
            .arg(1)
            .query(&mut con)
            .unwrap();
    }
    // The first cheap keys fill the admission window (5% of the keys), where they are never
    // candidates, so 5 costly keys go meanwhile; from then on each cheap key is weighed against the
    // residents when it leaves the window, and loses.
    let costly_left = (0..100)
        .filter(|i| exists(&mut con, &format!("costly:{i}")))
        .count();
    assert_eq!(costly_left, 95);
    assert_eq!(dbsize(&mut con), 100);
}

#[test]
fn evicting_policy_below_the_baseline_empties_then_refuses() {
    // As Redis 7 with `maxmemory 1` and allkeys-lru: the next command (a read too) evicts everything,
    // and a write, with nothing left to evict, is refused.
    for policy in ["allkeys-lru", "allkeys-cachet"] {
        let server = TestServer::start();
        let mut con = server.client();
        let mut raw = server.raw();
        set(&mut con, "a", "1");
        set(&mut con, "b", "2");
        config_set(&mut con, "maxmemory-policy", policy);
        config_set(&mut con, "maxmemory", "1");
        assert_eq!(call(&mut raw, &["GET", "a"]), b"$-1\r\n", "{policy}");
        assert_eq!(call(&mut raw, &["DBSIZE"]), b":0\r\n", "{policy}");
        assert_eq!(call(&mut raw, &["SET", "c", "1"]), OOM, "{policy}");
        assert_eq!(call(&mut raw, &["DBSIZE"]), b":0\r\n", "{policy}");
        assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 2, "{policy}");
        assert!(server.alive());
    }
}

#[test]
fn volatile_policy_never_takes_critical_keys_with_ttl_while_others_exist() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut raw = server.raw();
    config_set(&mut con, "maxmemory-policy", "volatile-lru");
    config_set(&mut con, "maxmemory-keys", "10");
    for i in 0..5 {
        set(&mut con, &format!("persistent:{i}"), "v");
        let reply = call(
            &mut raw,
            &[
                "CACHE.SET",
                &format!("critical:{i}"),
                "v",
                "EX",
                "1000",
                "PRIORITY",
                "critical",
            ],
        );
        assert_eq!(reply, OK);
    }
    // The only volatile key that is not critical is the one just written: it goes.
    assert_eq!(call(&mut raw, &["SET", "volatile", "v", "EX", "1000"]), OK);
    assert_eq!(call(&mut raw, &["EXISTS", "volatile"]), b":0\r\n");
    assert_eq!(call(&mut raw, &["DBSIZE"]), b":10\r\n");
    // Then nothing may go: critical keys are above the floor while normal ones exist.
    assert_eq!(call(&mut raw, &["SET", "persistent:5", "v"]), OK);
    assert_eq!(call(&mut raw, &["SET", "persistent:6", "v"]), OOM);
    for i in 0..5 {
        assert!(
            exists(&mut con, &format!("critical:{i}")),
            "critical:{i} was evicted"
        );
    }
    assert_eq!(info_u64(&mut con, "cachet", "evicted_critical"), 0);
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 1);
}

#[test]
fn limits_and_priorities_span_databases() {
    let server = TestServer::start();
    let mut db0 = server.client();
    let mut db1 = server.client();
    let () = redis::cmd("SELECT").arg(1).query(&mut db1).unwrap();
    config_set(&mut db0, "maxmemory-keys", "20");
    for i in 0..20 {
        cache_set(&mut db0, &format!("high:{i}"), "high");
    }
    for i in 0..50 {
        cache_set(&mut db1, &format!("low:{i}"), "low");
        assert_eq!(dbsize(&mut db0) + dbsize(&mut db1), 20);
    }
    // The floor is the lowest priority in any database, so the low keys of db 1 went first.
    assert_eq!(dbsize(&mut db0), 20);
    assert_eq!(dbsize(&mut db1), 0);
    for i in 0..30 {
        set(&mut db1, &format!("normal:{i}"), "v");
    }
    assert_eq!(dbsize(&mut db0) + dbsize(&mut db1), 20);
    assert_eq!(dbsize(&mut db0), 20);
    assert_eq!(info_u64(&mut db0, "cachet", "evicted_high"), 0);
}

#[test]
fn concurrent_writers_evict_exactly_the_excess() {
    // Several connections and the cron evict at once; each key of excess must be evicted once, or
    // a second evictor would take a key above the floor (here a high one) once the low one is gone.
    const N: usize = 100;
    let server = TestServer::start();
    let mut con = server.client();
    config_set(&mut con, "maxmemory-keys", &N.to_string());
    for i in 0..N {
        cache_set(&mut con, &format!("high:{i}"), "high");
    }
    std::thread::scope(|scope| {
        for t in 0..4 {
            let server = &server;
            scope.spawn(move || {
                let mut con = server.client();
                for i in 0..500 {
                    cache_set(&mut con, &format!("low:{t}:{i}"), "low");
                }
            });
        }
    });
    let survivors = (0..N)
        .filter(|i| exists(&mut con, &format!("high:{i}")))
        .count();
    assert_eq!(survivors, N);
    assert_eq!(dbsize(&mut con), N);
    assert_eq!(info_u64(&mut con, "cachet", "evicted_high"), 0);
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 2000);
}

#[test]
fn allkeys_lru_keeps_recently_read_keys() {
    // The LRU clock counts seconds, as Redis's: the only way to make keys idle is to wait one.
    let server = TestServer::start_with(|values| values.shards = 1);
    let mut con = server.client();
    config_set(&mut con, "maxmemory-policy", "allkeys-lru");
    config_set(&mut con, "maxmemory-samples", "10");
    config_set(&mut con, "maxmemory-keys", "100");
    for i in 0..100 {
        set(&mut con, &format!("old:{i}"), "v");
    }
    std::thread::sleep(Duration::from_millis(1100));
    for i in 0..10 {
        let _: Option<String> = redis::cmd("GET")
            .arg(format!("old:{i}"))
            .query(&mut con)
            .unwrap();
    }
    // 40 new keys push out 40 of the 90 idle ones, never a recently read one: each eviction weighs
    // at least 10 candidates, and half the keys stay idle to the end.
    for i in 0..40 {
        set(&mut con, &format!("new:{i}"), "v");
    }
    let read_left = (0..10)
        .filter(|i| exists(&mut con, &format!("old:{i}")))
        .count();
    let new_left = (0..40)
        .filter(|i| exists(&mut con, &format!("new:{i}")))
        .count();
    assert_eq!((read_left, new_left), (10, 40));
    assert_eq!(dbsize(&mut con), 100);
}

// ---- Regions (`region` directive, CACHE.REGION) ----

fn region(con: &mut redis::Connection, name: &str) -> std::collections::HashMap<String, String> {
    redis::cmd("CACHE.REGION")
        .arg("INFO")
        .arg(name)
        .query(con)
        .expect("CACHE.REGION INFO")
}

fn region_u64(con: &mut redis::Connection, name: &str, field: &str) -> u64 {
    region(con, name)[field].parse().expect("a number")
}

fn region_set(con: &mut redis::Connection, words: &str) {
    let () = redis::cmd("CACHE.REGION")
        .arg("SET")
        .arg(words.split(' ').collect::<Vec<_>>())
        .query(con)
        .expect("CACHE.REGION SET");
}

#[test]
fn a_flood_into_one_region_stays_within_its_budgets_and_spares_the_others() {
    let server = TestServer::start();
    let mut con = server.client();
    region_set(
        &mut con,
        "sessions PREFIX sess: MAXMEMORY-KEYS 50 POLICY allkeys-lru",
    );
    region_set(
        &mut con,
        "pages PREFIX page: MAXMEMORY 20000 POLICY allkeys-cachet",
    );
    for i in 0..100 {
        set(&mut con, &format!("page:{i}"), "p");
        set(&mut con, &format!("other:{i}"), "o");
    }
    let pages_before = region_u64(&mut con, "pages", "keys");
    assert_eq!(pages_before, 100);
    // The flood: every write is checked against the budget once it has been answered.
    for i in 0..500 {
        set(&mut con, &format!("sess:{i}"), &"s".repeat(100));
        assert!(
            region_u64(&mut con, "sessions", "keys") <= 50,
            "after write {i}"
        );
    }
    assert_eq!(region_u64(&mut con, "sessions", "keys"), 50);
    assert_eq!(region_u64(&mut con, "sessions", "evicted_keys"), 450);
    // The others kept every key: nothing outside the region was evicted.
    assert_eq!(region_u64(&mut con, "pages", "keys"), 100);
    assert_eq!(region_u64(&mut con, "pages", "evicted_keys"), 0);
    assert_eq!(dbsize(&mut con), 250);
    assert!((0..100).all(|i| exists(&mut con, &format!("other:{i}"))));
    // Now a byte budget: 1 KB values into a 20 000-byte region.
    for i in 0..100 {
        set(&mut con, &format!("page:big:{i}"), &"x".repeat(1000));
        let used = region_u64(&mut con, "pages", "used_memory");
        assert!(used <= 20_000, "{used} bytes after write {i}");
    }
    assert!(region_u64(&mut con, "pages", "evicted_keys") > 0);
    assert_eq!(region_u64(&mut con, "sessions", "keys"), 50);
    assert!((0..100).all(|i| exists(&mut con, &format!("other:{i}"))));
    let evicted = info_u64(&mut con, "stats", "evicted_keys");
    assert_eq!(
        evicted,
        region_u64(&mut con, "sessions", "evicted_keys")
            + region_u64(&mut con, "pages", "evicted_keys")
    );
}

#[test]
fn region_default_ttl_priority_and_hits() {
    let server = TestServer::start();
    let mut con = server.client();
    region_set(
        &mut con,
        "sessions PREFIX sess: DEFAULT-TTL 100 PRIORITY low",
    );
    set(&mut con, "sess:a", "1");
    let () = redis::cmd("HSET")
        .arg("sess:h")
        .arg("f")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let ttl = |con: &mut redis::Connection, key: &str| -> i64 {
        redis::cmd("TTL").arg(key).query(con).unwrap()
    };
    assert!((99..=100).contains(&ttl(&mut con, "sess:a")));
    assert!((99..=100).contains(&ttl(&mut con, "sess:h")));
    // An explicit TTL wins; keys outside the region get none.
    let () = redis::cmd("SET")
        .arg("sess:b")
        .arg("1")
        .arg("EX")
        .arg(5)
        .query(&mut con)
        .unwrap();
    assert!(ttl(&mut con, "sess:b") <= 5);
    set(&mut con, "other", "1");
    assert_eq!(ttl(&mut con, "other"), -1);
    let inspect: std::collections::HashMap<String, redis::Value> = redis::cmd("CACHE.INSPECT")
        .arg("sess:a")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        inspect["priority"],
        redis::Value::BulkString(b"low".to_vec())
    );
    let _: Option<String> = redis::cmd("GET").arg("sess:a").query(&mut con).unwrap();
    let _: Option<String> = redis::cmd("GET").arg("sess:none").query(&mut con).unwrap();
    let _: Option<String> = redis::cmd("GET").arg("other").query(&mut con).unwrap();
    assert_eq!(region_u64(&mut con, "sessions", "hits"), 1);
    assert_eq!(region_u64(&mut con, "sessions", "misses"), 1);
    let info: String = redis::cmd("INFO").arg("regions").query(&mut con).unwrap();
    assert!(
        info.contains("# Regions\r\nregions:1\r\nregion_sessions:keys=3,"),
        "{info}"
    );
    assert!(info.contains(",hits=1,misses=1,"), "{info}");
    let stats: std::collections::HashMap<String, redis::Value> =
        redis::cmd("CACHE.STATS").query(&mut con).unwrap();
    let redis::Value::Array(regions) = &stats["regions"] else {
        panic!("regions in CACHE.STATS: {stats:?}");
    };
    assert_eq!(regions[0], redis::Value::BulkString(b"sessions".to_vec()));
}

#[test]
fn region_changes_move_the_keys_accounting_and_the_longest_prefix_wins() {
    let server = TestServer::start();
    let mut con = server.client();
    for key in [
        "user:1",
        "user:2",
        "user:session:1",
        "user:session:2",
        "user:session:3",
        "x",
    ] {
        set(&mut con, key, "v");
    }
    region_set(&mut con, "users PREFIX user:");
    assert_eq!(region_u64(&mut con, "users", "keys"), 5);
    let all_bytes = region_u64(&mut con, "users", "used_memory");
    assert!(all_bytes > 0);
    // A longer prefix takes its keys from the shorter one's region, with their bytes.
    region_set(&mut con, "sessions PREFIX user:session:");
    assert_eq!(region_u64(&mut con, "users", "keys"), 2);
    assert_eq!(region_u64(&mut con, "sessions", "keys"), 3);
    assert_eq!(
        region_u64(&mut con, "users", "used_memory")
            + region_u64(&mut con, "sessions", "used_memory"),
        all_bytes
    );
    // Writes, overwrites and deletes after the change land in the right region.
    set(&mut con, "user:session:4", "v");
    let _: i64 = redis::cmd("DEL").arg("user:1").query(&mut con).unwrap();
    assert_eq!(region_u64(&mut con, "users", "keys"), 1);
    assert_eq!(region_u64(&mut con, "sessions", "keys"), 4);
    // Removing the longer one gives its keys back.
    let () = redis::cmd("CACHE.REGION")
        .arg("DEL")
        .arg("sessions")
        .query(&mut con)
        .unwrap();
    assert_eq!(region_u64(&mut con, "users", "keys"), 5);
    let list: Vec<Vec<String>> = redis::cmd("CACHE.REGION")
        .arg("LIST")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        list,
        [["users", "prefix", "user:", "policy", "allkeys-cachet"]]
    );
    // Replacing a region with a lower budget: the cron brings it down.
    region_set(&mut con, "users PREFIX user: MAXMEMORY-KEYS 2");
    assert!(eventually(|| region_u64(&mut con, "users", "keys") == 2));
    assert!(exists(&mut con, "x"));
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    assert_eq!(region_u64(&mut con, "users", "keys"), 0);
    assert_eq!(region_u64(&mut con, "users", "used_memory"), 0);
}

#[test]
fn region_noeviction_refuses_writes_into_it_only() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut raw = server.raw();
    region_set(
        &mut con,
        "fixed PREFIX f: MAXMEMORY-KEYS 2 POLICY noeviction",
    );
    set(&mut con, "f:1", "v");
    set(&mut con, "f:2", "v");
    set(&mut con, "f:3", "v");
    // Over its budget by the write that crossed it (as maxmemory is checked before a write).
    assert_eq!(call(&mut raw, &["SET", "f:4", "v"]), OOM);
    assert_eq!(call(&mut raw, &["SET", "g:4", "v"]), OK);
    assert_eq!(call(&mut raw, &["GET", "f:1"]), b"$1\r\nv\r\n");
    assert_eq!(call(&mut raw, &["DEL", "f:1", "f:2"]), b":2\r\n");
    assert_eq!(call(&mut raw, &["SET", "f:4", "v"]), OK);
}

#[test]
fn region_bad_input_is_refused_with_a_reason() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut raw = server.raw();
    let err =
        |raw: &mut common::RawClient, words: &[&str]| String::from_utf8(call(raw, words)).unwrap();
    assert_eq!(
        err(&mut raw, &["CACHE.REGION", "SET", "a", "PREFIX", "a:", "POLICY", "lru"]),
        "-ERR invalid region: unknown policy 'lru' (one of noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-cachet)\r\n"
    );
    assert_eq!(
        err(&mut raw, &["CACHE.REGION", "SET", "a", "MAXMEMORY", "10"]),
        "-ERR invalid region: a region needs a prefix (prefix <p>)\r\n"
    );
    config_set(&mut con, "maxmemory", "1mb");
    assert_eq!(
        err(
            &mut raw,
            &[
                "CACHE.REGION",
                "SET",
                "a",
                "PREFIX",
                "a:",
                "MAXMEMORY",
                "2mb"
            ]
        ),
        "-ERR invalid region: region 'a' maxmemory 2097152 is larger than maxmemory 1048576\r\n"
    );
    region_set(&mut con, "a PREFIX a: MAXMEMORY 512kb");
    assert_eq!(
        err(&mut raw, &["CACHE.REGION", "SET", "b", "PREFIX", "a:"]),
        "-ERR invalid region: regions 'a' and 'b' have the same prefix\r\n"
    );
    // Lowering maxmemory under a region's budget is refused too.
    let refused = err(&mut raw, &["CONFIG", "SET", "maxmemory", "100kb"]);
    assert!(refused.contains("is larger than maxmemory"), "{refused}");
    assert_eq!(
        err(&mut raw, &["CACHE.REGION", "DEL", "nope"]),
        "-ERR no such region\r\n"
    );
    assert_eq!(
        err(&mut raw, &["CACHE.REGION", "INFO", "nope"]),
        "-ERR no such region\r\n"
    );
    // Nothing refused changed anything.
    let list: Vec<Vec<String>> = redis::cmd("CACHE.REGION")
        .arg("LIST")
        .query(&mut con)
        .unwrap();
    assert_eq!(list.len(), 1);
}

#[test]
fn regions_from_the_conf_file_survive_config_rewrite() {
    let dir = common::TempDir::new("regions-conf");
    let path = dir.0.join("cachet.conf");
    std::fs::write(
        &path,
        format!(
            "dir {}\nregion sessions prefix sess: maxmemory-keys 10 policy allkeys-lru default-ttl 60\n",
            dir.0.display()
        ),
    )
    .unwrap();
    let server = TestServer::start_with_file(&path);
    let mut con = server.client();
    assert_eq!(region(&mut con, "sessions")["policy"], "allkeys-lru");
    region_set(&mut con, "pages PREFIX page: PRIORITY high");
    let () = redis::cmd("CONFIG").arg("REWRITE").query(&mut con).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(
            "region sessions prefix sess: maxmemory-keys 10 policy allkeys-lru default-ttl 60\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("region pages prefix page: policy allkeys-cachet priority high\n"),
        "{text}"
    );
    assert_eq!(text.matches("region ").count(), 2, "{text}");
    // A file whose region does not parse names the line.
    let mut values = cachet::ConfigValues::default();
    let refused =
        cachet::state::config::apply_conf_text(&mut values, "region a prefix a: policy lru\n");
    assert!(refused.unwrap_err().contains("line 1"));
}
