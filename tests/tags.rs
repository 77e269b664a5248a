//! Tags, pattern and dependency invalidation against the real server.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::TestServer;
use redis::{Commands, Connection, Value};

fn cache_set(con: &mut Connection, key: &str, value: &str, tags: &[&str]) {
    let mut cmd = redis::cmd("CACHE.SET");
    cmd.arg(key).arg(value).arg("TAGS").arg(tags.len());
    for tag in tags {
        cmd.arg(*tag);
    }
    let _: () = cmd.query(con).expect("CACHE.SET");
}

fn tag_keys(con: &mut Connection, tag: &str) -> BTreeSet<String> {
    redis::cmd("TAG.KEYS")
        .arg(tag)
        .query(con)
        .expect("TAG.KEYS")
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn info_field(con: &mut Connection, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("cachet").query(con).expect("INFO");
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO cachet"))
}

/// Waits (bounded) until the background sweep has deleted every invalidated key.
fn wait_swept(con: &mut Connection) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(con, "invalidation_backlog") > 0 {
        assert!(Instant::now() < deadline, "sweep never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn index_follows_every_write_path() {
    let server = TestServer::start();
    let mut con = server.client();
    cache_set(&mut con, "u:1", "a", &["user:1", "all"]);
    cache_set(&mut con, "u:2", "b", &["all"]);
    cache_set(&mut con, "u:3", "c", &["user:1", "user:1"]);
    assert_eq!(tag_keys(&mut con, "user:1"), set_of(&["u:1", "u:3"]));
    assert_eq!(tag_keys(&mut con, "all"), set_of(&["u:1", "u:2"]));
    let card: i64 = redis::cmd("TAG.CARD").arg("all").query(&mut con).unwrap();
    assert_eq!(card, 2);
    let tags: Vec<String> = redis::cmd("CACHE.TAGS").arg("u:3").query(&mut con).unwrap();
    assert_eq!(tags, vec!["user:1"]);

    // Overwrite with SET drops the tags; DEL, RENAME and expiry follow too.
    let _: () = con.set("u:2", "plain").unwrap();
    assert_eq!(tag_keys(&mut con, "all"), set_of(&["u:1"]));
    let _: () = redis::cmd("RENAME")
        .arg("u:1")
        .arg("v:1")
        .query(&mut con)
        .unwrap();
    assert_eq!(tag_keys(&mut con, "all"), set_of(&["v:1"]));
    let _: () = con.del("u:3").unwrap();
    assert_eq!(tag_keys(&mut con, "user:1"), set_of(&["v:1"]));
    let _: () = redis::cmd("PEXPIRE")
        .arg("v:1")
        .arg(20)
        .query(&mut con)
        .unwrap();
    std::thread::sleep(Duration::from_millis(40));
    assert!(tag_keys(&mut con, "all").is_empty());
    let list: Vec<(String, i64)> = redis::cmd("TAG.LIST").query(&mut con).unwrap();
    assert!(list.is_empty(), "{list:?}");
    assert_eq!(info_field(&mut con, "tag_index_bytes"), 0);

    // MOVE takes the key's tags to the other database's index.
    cache_set(&mut con, "m", "1", &["moved"]);
    let _: () = redis::cmd("MOVE").arg("m").arg(1).query(&mut con).unwrap();
    assert!(tag_keys(&mut con, "moved").is_empty());
    let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
    assert_eq!(tag_keys(&mut con, "moved"), set_of(&["m"]));
}

#[test]
fn invalidate_removes_at_once_and_spares_later_writes() {
    let server = TestServer::start();
    let mut con = server.client();
    for i in 0..500 {
        cache_set(&mut con, &format!("k:{i}"), "v", &["group"]);
    }
    cache_set(&mut con, "other", "v", &["other"]);
    let removed: i64 = redis::cmd("TAG.INVALIDATE")
        .arg("group")
        .arg("missing")
        .query(&mut con)
        .unwrap();
    assert_eq!(removed, 500);
    // Readers miss at once, whether or not the sweep reached the key yet.
    let got: Option<String> = con.get("k:499").unwrap();
    assert_eq!(got, None);
    cache_set(&mut con, "k:1", "new", &["group"]);
    wait_swept(&mut con);
    assert_eq!(tag_keys(&mut con, "group"), set_of(&["k:1"]));
    let got: Option<String> = con.get("k:1").unwrap();
    assert_eq!(got.as_deref(), Some("new"));
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 2);
    let nothing: i64 = redis::cmd("TAG.INVALIDATE")
        .arg("nope")
        .query(&mut con)
        .unwrap();
    assert_eq!(nothing, 0);
    assert_eq!(info_field(&mut con, "invalidated_keys"), 500);
}

/// A tag with a few keys per shard is deleted by the command itself (its memory is back when the
/// reply comes); one with many per shard is left to the sweeper, readers missing at once either way.
#[test]
fn small_tags_are_deleted_by_the_command_large_ones_by_the_sweeper() {
    let server = TestServer::start();
    let mut con = server.client();
    for i in 0..10 {
        cache_set(&mut con, &format!("small:{i}"), "v", &["small"]);
    }
    let removed: i64 = redis::cmd("TAG.INVALIDATE")
        .arg("small")
        .query(&mut con)
        .unwrap();
    assert_eq!(removed, 10);
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(
        size, 0,
        "the stale entries are gone before the reply, not swept later"
    );
    assert_eq!(info_field(&mut con, "invalidation_backlog"), 0);
    assert_eq!(info_field(&mut con, "invalidated_keys"), 10);

    // 64 shards: 20,000 keys put hundreds in every shard, past what a command deletes itself.
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        pipe.cmd("CACHE.SET")
            .arg(format!("large:{i}"))
            .arg("v")
            .arg("TAGS")
            .arg(1)
            .arg("large")
            .ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let removed: i64 = redis::cmd("TAG.INVALIDATE")
        .arg("large")
        .query(&mut con)
        .unwrap();
    assert_eq!(removed, 20_000);
    let got: Option<String> = con.get("large:19999").unwrap();
    assert_eq!(got, None);
    wait_swept(&mut con);
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 0);
    assert_eq!(info_field(&mut con, "invalidated_keys"), 20_010);
}

#[test]
fn tag_scan_walks_every_key_once_per_pass() {
    let server = TestServer::start();
    let mut con = server.client();
    for i in 0..300 {
        cache_set(&mut con, &format!("s:{i}"), "v", &["scan"]);
    }
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    loop {
        let (next, keys): (String, Vec<String>) = redis::cmd("TAG.SCAN")
            .arg("scan")
            .arg(&cursor)
            .arg("COUNT")
            .arg(25)
            .query(&mut con)
            .unwrap();
        seen.extend(keys);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 300);
    let err = redis::cmd("TAG.SCAN")
        .arg("scan")
        .arg("0")
        .arg("COUNT")
        .arg(0)
        .query::<Value>(&mut con)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "An error was signalled by the server - ResponseError: syntax error"
    );
}

#[test]
fn settags_adds_removes_and_replaces() {
    let server = TestServer::start();
    let mut con = server.client();
    let missing: Option<i64> = redis::cmd("CACHE.SETTAGS")
        .arg("nokey")
        .arg("a")
        .query(&mut con)
        .unwrap();
    assert_eq!(missing, None);
    let _: () = con.set("k", "v").unwrap();
    let n: i64 = redis::cmd("CACHE.SETTAGS")
        .arg("k")
        .arg("ADD")
        .arg("a")
        .arg("b")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 2);
    let n: i64 = redis::cmd("CACHE.SETTAGS")
        .arg("k")
        .arg("REMOVE")
        .arg("a")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 1);
    assert!(tag_keys(&mut con, "a").is_empty());
    assert_eq!(tag_keys(&mut con, "b"), set_of(&["k"]));
    let n: i64 = redis::cmd("CACHE.SETTAGS")
        .arg("k")
        .arg("c")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 1);
    assert!(tag_keys(&mut con, "b").is_empty());
    assert_eq!(tag_keys(&mut con, "c"), set_of(&["k"]));
    // The value and TTL are untouched.
    let got: String = con.get("k").unwrap();
    assert_eq!(got, "v");
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[b"CACHE.SETTAGS", b"k", b"ADD"]),
        b"-ERR wrong number of arguments for 'cache.settags' command\r\n"
    );
}

#[test]
fn pattern_invalidation() {
    let server = TestServer::start();
    let mut con = server.client();
    for i in 0..200 {
        let _: () = con.set(format!("user:{i}"), i).unwrap();
        let _: () = con.set(format!("product:{i}"), i).unwrap();
    }
    let removed: i64 = redis::cmd("CACHE.INVALIDATE")
        .arg("user:1*")
        .query(&mut con)
        .unwrap();
    assert_eq!(removed, 111); // user:1, user:10-19, user:100-199
    let removed: i64 = redis::cmd("CACHE.INVALIDATE")
        .arg("user:*")
        .query(&mut con)
        .unwrap();
    assert_eq!(removed, 89);
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 200);
}

#[test]
fn dependents_follow_their_parents_transitively() {
    let server = TestServer::start();
    let mut con = server.client();
    for key in ["a", "b", "c", "d"] {
        let _: () = con.set(key, key).unwrap();
    }
    // c depends on b, which depends on a; d depends on a too.
    let n: i64 = redis::cmd("CACHE.DEPEND")
        .arg("b")
        .arg("a")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 1);
    let _: () = redis::cmd("CACHE.DEPEND")
        .arg("c")
        .arg("b")
        .query(&mut con)
        .unwrap();
    let inspect: Vec<Value> = redis::cmd("CACHE.INSPECT")
        .arg("c")
        .query(&mut con)
        .unwrap();
    let depends = inspect
        .chunks(2)
        .find(|pair| pair[0] == Value::BulkString(b"depends_on".to_vec()))
        .map(|pair| pair[1].clone());
    assert_eq!(
        depends,
        Some(Value::Array(vec![Value::BulkString(b"b".to_vec())]))
    );
    let _: () = redis::cmd("CACHE.DEPEND")
        .arg("d")
        .arg("a")
        .arg("a")
        .query(&mut con)
        .unwrap();
    let missing: Option<i64> = redis::cmd("CACHE.DEPEND")
        .arg("zz")
        .arg("a")
        .query(&mut con)
        .unwrap();
    assert_eq!(missing, None);
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[b"CACHE.DEPEND", b"a", b"a"]),
        b"-ERR a key cannot depend on itself\r\n"
    );
    // A TTL change is not a change of value.
    let _: () = redis::cmd("EXPIRE")
        .arg("a")
        .arg(100)
        .query(&mut con)
        .unwrap();
    let exists: i64 = con.exists(&["b", "c", "d"][..]).unwrap();
    assert_eq!(exists, 3);
    let _: () = con.set("a", "new").unwrap();
    wait_swept(&mut con);
    let exists: i64 = con.exists(&["b", "c", "d"][..]).unwrap();
    assert_eq!(exists, 0);
    let got: String = con.get("a").unwrap();
    assert_eq!(got, "new");
}

#[test]
fn dependency_cycles_end() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: () = con.set("x", 1).unwrap();
    let _: () = con.set("y", 2).unwrap();
    let _: () = redis::cmd("CACHE.DEPEND")
        .arg("x")
        .arg("y")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("CACHE.DEPEND")
        .arg("y")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let _: () = con.del("x").unwrap();
    wait_swept(&mut con);
    let exists: i64 = con.exists(&["x", "y"][..]).unwrap();
    assert_eq!(exists, 0);
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn expired_parent_invalidates_children() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: () = redis::cmd("SET")
        .arg("p")
        .arg(1)
        .arg("PX")
        .arg(30)
        .query(&mut con)
        .unwrap();
    let _: () = con.set("child", 2).unwrap();
    let _: () = redis::cmd("CACHE.DEPEND")
        .arg("child")
        .arg("p")
        .query(&mut con)
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let got: Option<String> = con.get("p").unwrap();
    assert_eq!(got, None);
    wait_swept(&mut con);
    let got: Option<String> = con.get("child").unwrap();
    assert_eq!(got, None);
}

/// Writers keep writing tagged keys while another client invalidates the tag. Each writer's
/// values count up and it publishes the last one acknowledged; a key found after an invalidation
/// holding a value acknowledged before the invalidation was sent escaped it.
#[test]
fn invalidation_races_with_writers() {
    race_invalidations_with_writers(50);
}

/// One key per writer: the tag keeps moving into shards that held none of its keys, which an
/// invalidation (locking only the tag's shards) must see as it does the others.
#[test]
fn small_tag_invalidation_races_with_writers_moving_between_shards() {
    race_invalidations_with_writers(1);
}

/// Every key a writer had acknowledged before a `TAG.INVALIDATE` is gone after it, unless written
/// again since (its value is then higher).
fn race_invalidations_with_writers(slots: i64) {
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    use std::sync::Arc;
    const WRITERS: usize = 4;
    let server = TestServer::start();
    let acked: Arc<Vec<AtomicI64>> = Arc::new((0..WRITERS).map(|_| AtomicI64::new(-1)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let mut con = server.client();
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let mut cmd = redis::cmd("CACHE.SET");
                    cmd.arg(format!("race:{w}:{}", i % slots))
                        .arg(i)
                        .arg("TAGS")
                        .arg(1)
                        .arg("race");
                    let _: () = cmd.query(&mut con).unwrap();
                    acked[w].store(i, Ordering::Release);
                    i += 1;
                }
            })
        })
        .collect();
    let mut con = server.client();
    let mut checked = 0;
    for _ in 0..30 {
        let before: Vec<i64> = acked.iter().map(|a| a.load(Ordering::Acquire)).collect();
        let _: i64 = redis::cmd("TAG.INVALIDATE")
            .arg("race")
            .query(&mut con)
            .unwrap();
        for (w, &acked_before) in before.iter().enumerate() {
            let keys: Vec<String> = (0..slots).map(|slot| format!("race:{w}:{slot}")).collect();
            let values: Vec<Option<i64>> = con.mget(&keys).unwrap();
            for (key, value) in keys.iter().zip(values) {
                if let Some(value) = value {
                    assert!(
                        value > acked_before,
                        "{key}={value} escaped (acked {acked_before} before)"
                    );
                    checked += 1;
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    assert!(
        checked > 0,
        "the writers never got a write in between invalidations"
    );
    let _: i64 = redis::cmd("TAG.INVALIDATE")
        .arg("race")
        .query(&mut con)
        .unwrap();
    wait_swept(&mut con);
    assert_eq!(
        redis::cmd("TAG.CARD")
            .arg("race")
            .query::<i64>(&mut con)
            .unwrap(),
        0
    );
    assert_eq!(info_field(&mut con, "tag_index_bytes"), 0);
}

/// TAG.INVALIDATE locks only the shards listed for a tag: the listing follows SWAPDB, survives a
/// FLUSHDB that dropped the tables under it, and a tag whose keys were all deleted is unlisted.
#[test]
fn tag_shard_listing_follows_swapdb_flushdb_and_deletes() {
    let server = TestServer::start();
    let mut con = server.client();
    let invalidate = |con: &mut Connection, tag: &str| -> i64 {
        redis::cmd("TAG.INVALIDATE").arg(tag).query(con).unwrap()
    };
    for i in 0..40 {
        cache_set(&mut con, &format!("s:{i}"), "v", &["t"]);
    }
    let _: () = redis::cmd("SWAPDB").arg(0).arg(1).query(&mut con).unwrap();
    assert_eq!(invalidate(&mut con, "t"), 0);
    let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
    assert_eq!(invalidate(&mut con, "t"), 40);
    let got: Option<String> = con.get("s:7").unwrap();
    assert_eq!(got, None);

    // Keys written after a FLUSHDB into shards listed before it.
    for i in 0..40 {
        cache_set(&mut con, &format!("s:{i}"), "v", &["t"]);
    }
    let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
    assert_eq!(invalidate(&mut con, "t"), 0);
    for i in 0..40 {
        cache_set(&mut con, &format!("f:{i}"), "v", &["t"]);
    }
    assert_eq!(invalidate(&mut con, "t"), 40);

    // Deleted one by one, then written again elsewhere.
    for i in 0..10 {
        cache_set(&mut con, &format!("d:{i}"), "v", &["gone"]);
    }
    for i in 0..10 {
        let _: () = con.del(format!("d:{i}")).unwrap();
    }
    assert_eq!(invalidate(&mut con, "gone"), 0);
    for i in 10..30 {
        cache_set(&mut con, &format!("d:{i}"), "v", &["gone"]);
    }
    assert_eq!(invalidate(&mut con, "gone"), 20);
    wait_swept(&mut con);
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 0);
}

/// The Laravel failure: tagged keys that expire must not leave their tag index behind.
#[test]
fn index_memory_returns_to_baseline_after_expiry() {
    let server = TestServer::start_with(|c| c.hz = 100);
    let mut con = server.client();
    let baseline = info_field(&mut con, "tag_index_bytes");
    const KEYS: usize = 1_000_000;
    const BATCH: usize = 10_000;
    let mut peak = 0;
    for start in (0..KEYS).step_by(BATCH) {
        peak = peak.max(info_field(&mut con, "tag_index_bytes"));
        let mut pipe = redis::pipe();
        for i in start..start + BATCH {
            pipe.cmd("CACHE.SET")
                .arg(format!("t:{i}"))
                .arg("v")
                .arg("PX")
                .arg(1000)
                .arg("TAGS")
                .arg(2)
                .arg(format!("tag:{}", i % 1000))
                .arg("all")
                .ignore();
        }
        let _: () = pipe.query(&mut con).unwrap();
    }
    // Keys expire while the others are written: at least a good part were indexed at once.
    assert!(peak > baseline + 2_000_000, "peak {peak}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let size: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
        if size == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{size} keys still there");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(info_field(&mut con, "tag_index_bytes"), baseline);
}

#[test]
fn per_tag_statistics() {
    let server = TestServer::start();
    let mut con = server.client();
    cache_set(&mut con, "a", &"x".repeat(1000), &["big", "all"]);
    cache_set(&mut con, "b", "y", &["small", "all"]);
    for _ in 0..3 {
        let _: Option<String> = con.get("a").unwrap();
    }
    let _: Option<String> = con.get("b").unwrap();
    let reply: Value = redis::cmd("CACHE.STATS")
        .arg("TAGS")
        .arg("big")
        .arg("nosuch")
        .query(&mut con)
        .unwrap();
    let Value::Array(fields) = reply else {
        panic!("{reply:?}")
    };
    let find = |name: &str| {
        fields
            .chunks(2)
            .find(|pair| pair[0] == Value::BulkString(name.as_bytes().to_vec()))
            .map(|pair| pair[1].clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let int = |v: &Value| match v {
        Value::Int(n) => *n,
        other => panic!("{other:?}"),
    };
    let figures = |v: &Value, tag: &str| -> (i64, i64, i64) {
        let Value::Array(items) = v else {
            panic!("{v:?}")
        };
        let at = items
            .chunks(2)
            .find(|pair| pair[0] == Value::BulkString(tag.as_bytes().to_vec()))
            .map(|pair| pair[1].clone())
            .unwrap_or_else(|| panic!("no tag {tag} in {items:?}"));
        let Value::Array(f) = at else {
            panic!("{at:?}")
        };
        (int(&f[1]), int(&f[3]), int(&f[5]))
    };
    let tags = find("tags");
    let (keys, bytes, hits) = figures(&tags, "big");
    assert_eq!((keys, hits), (1, 3));
    assert!(bytes > 1000, "{bytes}");
    assert_eq!(figures(&tags, "nosuch"), (0, 0, 0));
    // The largest tags first: `all` (both keys) before `big` before `small`.
    let top = find("top_tags");
    let Value::Array(items) = &top else {
        panic!("{top:?}")
    };
    let names: Vec<Value> = items.iter().step_by(2).cloned().collect();
    let expected: Vec<Value> = ["all", "big", "small"]
        .iter()
        .map(|t| Value::BulkString(t.as_bytes().to_vec()))
        .collect();
    assert_eq!(names, expected);
    assert_eq!(figures(&top, "all").2, 4);
}
