//! Cache analytics against the real server: CACHE.TOPKEYS (most read keys from the per-shard
//! sketch), `stats-prefixes` hits/misses, CACHE.STATS and its RESET, and the prefix lines of
//! `INFO cachet`. These are cachet's own commands: the expectations follow the README, not Redis.

mod common;

use std::collections::HashMap;

use common::{call, TestServer};
use redis::Value;

const OK: &[u8] = b"+OK\r\n";
const SYNTAX: &[u8] = b"-ERR syntax error\r\n";

fn get(con: &mut redis::Connection, key: &str) {
    let _: Option<Vec<u8>> = redis::cmd("GET").arg(key).query(con).unwrap();
}

/// A RESP2 flat [name, value, ...] array as name → value.
fn fields(value: &Value) -> HashMap<String, Value> {
    match value {
        Value::Array(flat) => flat
            .chunks(2)
            .map(|pair| match &pair[0] {
                Value::BulkString(name) => {
                    (String::from_utf8(name.clone()).unwrap(), pair[1].clone())
                }
                other => panic!("field name {other:?}"),
            })
            .collect(),
        other => panic!("not a map: {other:?}"),
    }
}

fn stats(con: &mut redis::Connection) -> HashMap<String, Value> {
    fields(&redis::cmd("CACHE.STATS").query::<Value>(con).unwrap())
}

fn int(value: &Value) -> i64 {
    match value {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

/// (hits, misses, hit_ratio) of each configured prefix, in configuration order.
fn prefixes(con: &mut redis::Connection) -> Vec<(String, i64, i64, String)> {
    let Value::Array(flat) = &stats(con)["prefixes"] else {
        panic!("prefixes is not a map");
    };
    flat.chunks(2)
        .map(|pair| {
            let counts = fields(&pair[1]);
            (
                text(&pair[0]),
                int(&counts["hits"]),
                int(&counts["misses"]),
                text(&counts["hit_ratio"]),
            )
        })
        .collect()
}

fn top_keys(con: &mut redis::Connection, n: i64) -> Vec<(String, i64)> {
    let pairs: Vec<(String, i64)> = redis::cmd("CACHE.TOPKEYS").arg(n).query(con).unwrap();
    pairs
}

#[test]
fn topkeys_argument_errors_and_empty_replies() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        call(&mut raw, &["CACHE.TOPKEYS"]),
        b"-ERR wrong number of arguments for 'cache.topkeys' command\r\n"
    );
    assert_eq!(
        call(&mut raw, &["CACHE.TOPKEYS", "x"]),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        call(&mut raw, &["CACHE.TOPKEYS", "-1"]),
        b"-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(call(&mut raw, &["CACHE.TOPKEYS", "10"]), b"*0\r\n");
    // Reads of keys that do not exist are counted but not listed.
    call(&mut raw, &["GET", "missing"]);
    assert_eq!(call(&mut raw, &["CACHE.TOPKEYS", "10"]), b"*0\r\n");
    call(&mut raw, &["SET", "k", "v"]);
    for _ in 0..20 {
        call(&mut raw, &["GET", "k"]);
    }
    assert_eq!(call(&mut raw, &["CACHE.TOPKEYS", "0"]), b"*0\r\n");
    let reply = call(&mut raw, &["CACHE.TOPKEYS", "9223372036854775807"]);
    assert!(reply.starts_with(b"*1\r\n*2\r\n$1\r\nk\r\n:"), "{reply:?}");
    call(&mut raw, &["HELLO", "3"]);
    let reply = call(&mut raw, &["CACHE.TOPKEYS", "1"]);
    assert!(reply.starts_with(b"*1\r\n*2\r\n$1\r\nk\r\n:"), "{reply:?}");
}

#[test]
fn topkeys_ranks_the_hot_key_first_and_forgets_deleted_keys() {
    let server = TestServer::start();
    let mut con = server.client();
    for i in 0..50 {
        let _: () = redis::cmd("SET")
            .arg(format!("cold:{i}"))
            .arg("v")
            .query(&mut con)
            .unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("hot")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("warm")
        .arg("v")
        .query(&mut con)
        .unwrap();
    for round in 0..400 {
        get(&mut con, "hot");
        if round % 4 == 0 {
            get(&mut con, "warm");
        }
        if round % 8 == 0 {
            get(&mut con, &format!("cold:{}", round % 50));
        }
    }
    let top = top_keys(&mut con, 3);
    assert_eq!(top.len(), 3, "{top:?}");
    assert_eq!(top[0].0, "hot", "{top:?}");
    assert_eq!(top[1].0, "warm", "{top:?}");
    assert!(top[0].1 > top[1].1 && top[1].1 > top[2].1, "{top:?}");
    // Sampled: the estimate is near the true count, not exact.
    assert!((200..=800).contains(&top[0].1), "{top:?}");

    // Another database has its own ranking.
    let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
    assert!(top_keys(&mut con, 10).is_empty());
    let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();

    let _: i64 = redis::cmd("DEL").arg("hot").query(&mut con).unwrap();
    let top = top_keys(&mut con, 1);
    assert_eq!(top[0].0, "warm", "{top:?}");
}

#[test]
fn prefix_hits_and_misses_are_exact_and_configurable_at_run_time() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut raw = server.raw();
    assert_eq!(
        call(&mut raw, &["CONFIG", "GET", "stats-prefixes"]),
        b"*2\r\n$14\r\nstats-prefixes\r\n$0\r\n\r\n"
    );
    for key in ["user:1", "user:vip:1", "product:1", "other"] {
        let _: () = redis::cmd("SET").arg(key).arg("v").query(&mut con).unwrap();
    }
    // Not counted: no prefix configured yet.
    get(&mut con, "user:1");
    assert!(prefixes(&mut con).is_empty());

    assert_eq!(
        call(
            &mut raw,
            &[
                "CONFIG",
                "SET",
                "stats-prefixes",
                "user: user:vip:  product: user:"
            ]
        ),
        OK
    );
    assert_eq!(
        call(&mut raw, &["CONFIG", "GET", "stats-prefixes"]),
        b"*2\r\n$14\r\nstats-prefixes\r\n$24\r\nuser: user:vip: product:\r\n"
    );
    for key in [
        "user:1",
        "user:2",
        "user:vip:1",
        "user:vip:1",
        "product:9",
        "other",
        "x",
    ] {
        get(&mut con, key);
    }
    let _: Vec<Option<String>> = redis::cmd("MGET")
        .arg("user:1")
        .arg("user:3")
        .query(&mut con)
        .unwrap();
    // Reads that are not lookups for a value do not count.
    let _: i64 = redis::cmd("EXISTS").arg("user:1").query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg("user:4")
        .arg("v")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        prefixes(&mut con),
        [
            ("user:".into(), 4, 2, "0.66666666666666663".into()),
            ("user:vip:".into(), 2, 0, "1".into()),
            ("product:".into(), 0, 1, "0".into()),
        ]
    );

    // A prefix that stays keeps its counts; a new one starts at zero; removed ones vanish.
    assert_eq!(
        call(
            &mut raw,
            &["CONFIG", "SET", "stats-prefixes", "product: cart:"]
        ),
        OK
    );
    get(&mut con, "cart:1");
    assert_eq!(
        prefixes(&mut con),
        [
            ("product:".into(), 0, 1, "0".into()),
            ("cart:".into(), 0, 1, "0".into()),
        ]
    );
    let info: String = redis::cmd("INFO").arg("cachet").query(&mut con).unwrap();
    assert!(
        info.contains("\r\nprefix0:prefix=product:,hits=0,misses=1,hit_ratio=0.0000\r\n"),
        "{info}"
    );
    assert!(
        info.contains("\r\nprefix1:prefix=cart:,hits=0,misses=1,hit_ratio=0.0000\r\n"),
        "{info}"
    );

    assert_eq!(call(&mut raw, &["CONFIG", "SET", "stats-prefixes", ""]), OK);
    assert!(prefixes(&mut con).is_empty());
    let info: String = redis::cmd("INFO").arg("cachet").query(&mut con).unwrap();
    assert!(!info.contains("prefix0:"), "{info}");

    let too_many: Vec<String> = (0..65).map(|i| format!("p{i}:")).collect();
    let reply = call(
        &mut raw,
        &["CONFIG", "SET", "stats-prefixes", &too_many.join(" ")],
    );
    assert!(reply.starts_with(b"-ERR CONFIG SET failed"), "{reply:?}");
}

#[test]
fn stats_fields_reply_types_and_reset() {
    let server = TestServer::start_with(|c| c.stats_prefixes = vec!["a:".into()]);
    let mut con = server.client();
    let mut raw = server.raw();
    let fresh = stats(&mut con);
    let names: Vec<&str> = {
        let mut names: Vec<&str> = fresh.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    };
    assert_eq!(
        names,
        [
            "compression_dictionaries",
            "evicted_keys",
            "expired_keys",
            "hit_ratio",
            "hits",
            "keys",
            "misses",
            "prefixes",
            "regions",
            "top_tags",
            "used_memory"
        ]
    );
    assert_eq!(text(&fresh["hit_ratio"]), "0");
    assert!(int(&fresh["used_memory"]) > 0);

    for key in ["a:1", "a:2", "b:1"] {
        let _: () = redis::cmd("SET").arg(key).arg("v").query(&mut con).unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("gone")
        .arg("v")
        .arg("PX")
        .arg(1)
        .query(&mut con)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    for key in ["a:1", "a:1", "a:2", "b:1", "a:9", "gone"] {
        get(&mut con, key);
    }
    let s = stats(&mut con);
    assert_eq!((int(&s["hits"]), int(&s["misses"])), (4, 2));
    assert_eq!(text(&s["hit_ratio"]), "0.66666666666666663");
    assert_eq!(int(&s["keys"]), 3);
    assert_eq!(int(&s["expired_keys"]), 1);
    assert_eq!(int(&s["evicted_keys"]), 0);
    assert_eq!(prefixes(&mut con), [("a:".into(), 3, 1, "0.75".into())]);

    // RESP3: a map, the ratio a double.
    call(&mut raw, &["HELLO", "3"]);
    let reply = call(&mut raw, &["CACHE.STATS"]);
    let expected_start = b"%11\r\n$4\r\nhits\r\n:4\r\n$6\r\nmisses\r\n:2\r\n$9\r\nhit_ratio\r\n,0.66666666666666663\r\n$4\r\nkeys\r\n:3\r\n";
    assert!(
        reply.starts_with(expected_start),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    let expected_end = b"$8\r\nprefixes\r\n%1\r\n$2\r\na:\r\n%3\r\n$4\r\nhits\r\n:3\r\n$6\r\nmisses\r\n:1\r\n$9\r\nhit_ratio\r\n,0.75\r\n$7\r\nregions\r\n%0\r\n$24\r\ncompression_dictionaries\r\n%3\r\n$12\r\ndictionaries\r\n:0\r\n$6\r\nmemory\r\n:0\r\n$8\r\nprefixes\r\n%0\r\n$8\r\ntop_tags\r\n%0\r\n";
    assert!(
        reply.ends_with(expected_end),
        "{}",
        String::from_utf8_lossy(&reply)
    );

    for bad in [
        &["CACHE.STATS", "NOSUCH"][..],
        &["CACHE.STATS", "RESET", "RESET"],
        &["CACHE.STATS", "TAGS"],
    ] {
        assert_eq!(call(&mut raw, bad), SYNTAX, "{bad:?}");
    }

    assert_eq!(call(&mut raw, &["CACHE.STATS", "reset"]), OK);
    let s = stats(&mut con);
    assert_eq!((int(&s["hits"]), int(&s["misses"])), (0, 0));
    assert_eq!(int(&s["expired_keys"]), 0);
    assert_eq!(int(&s["keys"]), 3);
    assert_eq!(prefixes(&mut con), [("a:".into(), 0, 0, "0".into())]);
    assert!(top_keys(&mut con, 10).is_empty());
    let info: String = redis::cmd("INFO").arg("stats").query(&mut con).unwrap();
    assert!(info.contains("\r\nkeyspace_hits:0\r\n"), "{info}");
}
