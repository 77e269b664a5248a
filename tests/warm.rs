//! CACHE.WARM between two real daemons: the source's hottest keys (CACHE.TOPKEYS order) come over
//! with values, TTLs and metadata; a key present here is never overwritten; MATCH and TOP narrow
//! the copy; progress in CACHE.WARM STATUS and INFO; a source that cannot be reached or refuses
//! the login ends the warm-up as failed with the reason.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use common::{call, info_field, int, RawClient, TestServer};
use redis::Value;

fn text(reply: Vec<u8>) -> String {
    String::from_utf8_lossy(&reply).into_owned()
}

fn status(con: &mut redis::Connection) -> Vec<(String, String)> {
    let reply: Vec<Value> = redis::cmd("CACHE.WARM").arg("STATUS").query(con).unwrap();
    reply
        .chunks(2)
        .map(|pair| {
            let name: String = redis::from_redis_value(&pair[0]).unwrap();
            let value = match &pair[1] {
                Value::Int(n) => n.to_string(),
                other => redis::from_redis_value::<String>(other).unwrap(),
            };
            (name, value)
        })
        .collect()
}

fn field(status: &[(String, String)], name: &str) -> String {
    status
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} in {status:?}"))
}

/// Waits for the warm-up to end and returns its status.
fn finished(con: &mut redis::Connection) -> Vec<(String, String)> {
    fleet::wait_until("the warm-up to end", || {
        field(&status(con), "state") != "running"
    });
    status(con)
}

fn warm(raw: &mut RawClient, args: &[&str]) -> String {
    let mut request = vec!["CACHE.WARM", "FROM"];
    request.extend_from_slice(args);
    text(call(raw, &request))
}

/// Reads every key and `hot:hash` `times` times, so the source's CACHE.TOPKEYS ranks them: it samples one read
/// in 8, so 200 reads leave a key unseen with a probability of (7/8)^200 < 1e-11.
fn read(con: &mut redis::Connection, keys: &[String], times: usize) {
    let mut pipe = redis::pipe();
    for _ in 0..times {
        for key in keys {
            pipe.cmd("GET").arg(key).ignore();
        }
        pipe.cmd("HGET").arg("hot:hash").arg("f").ignore();
    }
    pipe.query::<()>(con).unwrap();
}

fn inspect(con: &mut redis::Connection, key: &str) -> Vec<String> {
    let reply: Vec<Value> = redis::cmd("CACHE.INSPECT").arg(key).query(con).unwrap();
    reply
        .chunks(2)
        .filter(|pair| {
            let name = format!("{:?}", pair[0]);
            ["priority", "cost", "tags", "depends_on", "type"]
                .iter()
                .any(|f| name.contains(f))
        })
        .map(|pair| format!("{:?} = {:?}", pair[0], pair[1]))
        .collect()
}

#[test]
fn the_hottest_keys_come_over_with_their_metadata_and_local_keys_win() {
    let source = TestServer::start();
    let here = TestServer::start();
    let mut src = source.raw();
    let hot: Vec<String> = (0..40).map(|i| format!("hot:{i}")).collect();
    for (i, key) in hot.iter().enumerate() {
        let priority = ["low", "normal", "high", "critical"][i % 4];
        let cost = (i + 1).to_string();
        let reply = call(
            &mut src,
            &[
                "CACHE.SET",
                key,
                "value",
                "EX",
                "3600",
                "PRIORITY",
                priority,
                "COST",
                &cost,
                "TAGS",
                "1",
                "hot",
            ],
        );
        assert_eq!(reply, b"+OK\r\n");
    }
    for i in 0..100 {
        assert_eq!(
            call(&mut src, &["SET", &format!("cold:{i}"), "v"]),
            b"+OK\r\n"
        );
    }
    assert_eq!(call(&mut src, &["HSET", "hot:hash", "f", "v"]), int(1));
    assert_eq!(call(&mut src, &["CACHE.SETTAGS", "hot:hash", "h"]), int(1));
    let mut src_con = source.client();
    read(&mut src_con, &hot, 200);
    let before: Vec<Vec<String>> = hot.iter().map(|k| inspect(&mut src_con, k)).collect();

    let mut raw = here.raw();
    assert_eq!(call(&mut raw, &["SET", "hot:3", "mine"]), b"+OK\r\n");
    let mut con = here.client();
    assert_eq!(field(&status(&mut con), "state"), "idle");
    let addr = format!("127.0.0.1:{}", source.port());
    assert_eq!(warm(&mut raw, &[&addr, "TOP", "41"]), "+OK\r\n");
    let done = finished(&mut con);
    assert_eq!(field(&done, "state"), "done", "{done:?}");
    assert_eq!(field(&done, "source"), addr);
    assert_eq!(field(&done, "keys_planned"), "41");
    assert_eq!(field(&done, "keys_done"), "40");
    assert_eq!(field(&done, "keys_skipped"), "1");
    assert_eq!(field(&done, "errors"), "0");
    assert_eq!(info_field(&mut con, "cachet", "warm_state"), "done");
    assert_eq!(info_field(&mut con, "cachet", "warm_keys_done"), "40");
    assert_eq!(info_field(&mut con, "cachet", "warm_keys_skipped"), "1");

    // The local key won; every other hot key came with its value, metadata and expiry time.
    assert_eq!(call(&mut raw, &["GET", "hot:3"]), common::bulk("mine"));
    for (key, before) in hot.iter().zip(&before) {
        if key == "hot:3" {
            continue;
        }
        assert_eq!(&inspect(&mut con, key), before, "{key}");
        let theirs: i64 = redis::cmd("PEXPIRETIME")
            .arg(key)
            .query(&mut src_con)
            .unwrap();
        let ours: i64 = redis::cmd("PEXPIRETIME").arg(key).query(&mut con).unwrap();
        assert_eq!(theirs, ours, "{key}");
    }
    assert_eq!(
        call(&mut raw, &["HGET", "hot:hash", "f"]),
        common::bulk("v")
    );
    let tagged: Vec<String> = redis::cmd("TAG.KEYS").arg("h").query(&mut con).unwrap();
    assert_eq!(tagged, ["hot:hash"]);
    // Cold keys, never read at the source, were not asked for.
    assert_eq!(call(&mut raw, &["EXISTS", "cold:1", "cold:2"]), int(0));
    // The source's own data is untouched.
    assert_eq!(call(&mut src, &["GET", "hot:3"]), common::bulk("value"));

    // MATCH narrows the copy; a second run skips what is here already.
    assert_eq!(call(&mut raw, &["FLUSHALL"]), b"+OK\r\n");
    assert_eq!(warm(&mut raw, &[&addr, "MATCH", "hot:1*"]), "+OK\r\n");
    let matched = finished(&mut con);
    assert_eq!(field(&matched, "keys_planned"), "11", "{matched:?}");
    assert_eq!(field(&matched, "keys_done"), "11");
    assert_eq!(call(&mut raw, &["DBSIZE"]), int(11));
    assert_eq!(warm(&mut raw, &[&addr, "MATCH", "hot:1*"]), "+OK\r\n");
    let again = finished(&mut con);
    assert_eq!(field(&again, "keys_done"), "0");
    assert_eq!(field(&again, "keys_skipped"), "11");
}

#[test]
fn bad_requests_and_unreachable_sources() {
    let here = TestServer::start();
    let mut raw = here.raw();
    let mut con = here.client();
    for (args, error) in [
        (
            vec!["host"],
            "-ERR invalid source address, expected host:port\r\n",
        ),
        (
            vec!["h:0"],
            "-ERR invalid source address, expected host:port\r\n",
        ),
        (
            vec!["127.0.0.1:1", "TOP", "0"],
            "-ERR value is out of range, must be positive\r\n",
        ),
        (vec!["127.0.0.1:1", "TOP"], "-ERR syntax error\r\n"),
        (vec!["127.0.0.1:1", "AUTH", "u"], "-ERR syntax error\r\n"),
        (vec!["127.0.0.1:1", "BOGUS"], "-ERR syntax error\r\n"),
    ] {
        assert_eq!(warm(&mut raw, &args), error, "{args:?}");
    }
    assert_eq!(field(&status(&mut con), "state"), "idle");
    assert_eq!(call(&mut raw, &["CACHE.WARM", "ABORT"]), int(0));
    assert_eq!(warm(&mut raw, &["127.0.0.1:1"]), "+OK\r\n");
    let failed = finished(&mut con);
    assert_eq!(field(&failed, "state"), "failed");
    assert!(
        field(&failed, "last_error").contains("cannot connect to 127.0.0.1:1"),
        "{failed:?}"
    );

    // A source under requirepass: refused without AUTH, copied with it.
    let source = TestServer::start_with(|v| v.requirepass = b"secret".to_vec());
    let mut src = source.raw();
    assert_eq!(call(&mut src, &["AUTH", "secret"]), b"+OK\r\n");
    assert_eq!(call(&mut src, &["SET", "k", "v"]), b"+OK\r\n");
    assert_eq!(text(call(&mut src, &["GET", "k"])), "$1\r\nv\r\n");
    let addr = format!("127.0.0.1:{}", source.port());
    assert_eq!(warm(&mut raw, &[&addr]), "+OK\r\n");
    let refused = finished(&mut con);
    assert_eq!(field(&refused, "state"), "failed");
    assert!(
        field(&refused, "last_error").contains("NOAUTH"),
        "{refused:?}"
    );
    assert_eq!(
        warm(&mut raw, &[&addr, "AUTH", "default", "secret"]),
        "+OK\r\n"
    );
    let copied = finished(&mut con);
    assert_eq!(field(&copied, "state"), "done", "{copied:?}");
    assert_eq!(call(&mut raw, &["GET", "k"]), common::bulk("v"));
    let help = text(call(&mut raw, &["CACHE.WARM", "HELP"]));
    assert!(help.contains("FROM <host:port>"), "{help}");
}

fn export_field(con: &mut redis::Connection, key: &str, name: &str) -> u64 {
    let line: String = redis::cmd("CACHE.EXPORTKEY").arg(key).query(con).unwrap();
    let json: serde_json::Value = serde_json::from_str(&line).unwrap();
    json[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

/// What the policy learned of a key comes over with it: its sketch estimate (`allkeys-cachet`,
/// under a limit) and its LFU counter (OBJECT FREQ under `allkeys-lfu`); and an imported line's
/// idle time is the key's OBJECT IDLETIME.
#[test]
fn a_warmed_key_is_as_hot_as_at_the_source() {
    let source = TestServer::start();
    let here = TestServer::start();
    let mut src = source.client();
    let mut con = here.client();
    let mut raw = here.raw();
    let addr = format!("127.0.0.1:{}", source.port());
    for c in [&mut src, &mut con] {
        common::config_set(c, "maxmemory", "100mb");
    }
    let _: () = redis::cmd("SET")
        .arg("hot")
        .arg("v")
        .query(&mut src)
        .unwrap();
    read(&mut src, &["hot".to_string()], 300);
    let sketch = export_field(&mut src, "hot", "sketch");
    assert!(sketch > 0, "no sketch estimate at the source");
    assert_eq!(warm(&mut raw, &[&addr, "TOP", "1"]), "+OK\r\n");
    assert_eq!(field(&finished(&mut con), "keys_done"), "1");
    assert_eq!(export_field(&mut con, "hot", "sketch"), sketch);

    for c in [&mut src, &mut con] {
        common::config_set(c, "maxmemory-policy", "allkeys-lfu");
    }
    read(&mut src, &["hot".to_string()], 300);
    let freq = |c: &mut redis::Connection| -> i64 {
        redis::cmd("OBJECT")
            .arg("FREQ")
            .arg("hot")
            .query(c)
            .unwrap()
    };
    let theirs = freq(&mut src);
    // A new key starts at 5 (LFU_INIT_VAL); 300 reads raise it.
    assert!(theirs > 5, "OBJECT FREQ {theirs} at the source");
    assert_eq!(call(&mut raw, &["DEL", "hot"]), int(1));
    assert_eq!(warm(&mut raw, &[&addr, "TOP", "1"]), "+OK\r\n");
    assert_eq!(field(&finished(&mut con), "keys_done"), "1");
    assert_eq!(freq(&mut con), theirs);
    assert_eq!(freq(&mut src), theirs, "the warm-up heated the source");

    common::config_set(&mut con, "maxmemory-policy", "allkeys-lru");
    let line = r#"{"key":"old","type":"string","value":"v","idle":5000}"#;
    assert_eq!(call(&mut raw, &["CACHE.IMPORT", "old", line]), int(1));
    let idle: i64 = redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("old")
        .query(&mut con)
        .unwrap();
    // The clock has a resolution of a second, and the test may be slow: a few seconds more.
    assert!((5000..5010).contains(&idle), "OBJECT IDLETIME {idle}");
}
