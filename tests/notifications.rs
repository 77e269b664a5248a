//! Keyspace notifications across the command families: the `__keyevent@<db>__:<event>` stream a
//! mixed script produces equals, event for event and in order, what redis-server 7.0.15 published
//! for the same script (recorded with `notify-keyspace-events KEA` and `PSUBSCRIBE __key*__:*`).

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::time::Duration;

use common::TestServer;

const SCRIPT: &[&str] = &[
    "SET a 1",
    "SET a 2 EX 100",
    "INCR a",
    "APPEND s xx",
    "SETRANGE s 0 y",
    "GETDEL s",
    "HSET h f v g w",
    "HINCRBY h n 3",
    "HINCRBYFLOAT h x 1.5",
    "HDEL h f g n x",
    "LPUSH l a b c",
    "RPUSH l d",
    "LPOP l",
    "RPOP l 2",
    "LSET l 0 z",
    "LINSERT l BEFORE z q",
    "LREM l 0 q",
    "LTRIM l 0 0",
    "LMOVE l l2 LEFT RIGHT",
    "RPOPLPUSH l2 l3",
    "SADD s1 a b c",
    "SREM s1 a",
    "SMOVE s1 s2 c",
    "SADD s9 only",
    "SPOP s9",
    "SADD s3 x y",
    "SINTERSTORE d1 s3 s3",
    "SUNIONSTORE d2 s3 s2",
    "SDIFFSTORE d3 s3 s3",
    "ZADD z 1 a 2 b 3 c",
    "ZINCRBY z 5 a",
    "ZREM z b",
    "ZPOPMIN z",
    "ZREMRANGEBYSCORE z 0 100",
    "ZADD z2 1 a 2 b",
    "ZUNIONSTORE z3 1 z2",
    "ZRANGESTORE z4 z2 0 -1",
    "ZREMRANGEBYRANK z2 0 0",
    "ZADD z5 0 a 0 b",
    "ZREMRANGEBYLEX z5 - +",
    "EXPIRE z2 100",
    "PERSIST z2",
    "RENAME z2 z6",
    "COPY z6 z7",
    "MOVE z7 1",
    "DEL z6 z3 z4",
];

const EXPECTED: &[(&str, &str)] = &[
    ("__keyevent@0__:set", "a"),
    ("__keyevent@0__:set", "a"),
    ("__keyevent@0__:expire", "a"),
    ("__keyevent@0__:incrby", "a"),
    ("__keyevent@0__:append", "s"),
    ("__keyevent@0__:setrange", "s"),
    ("__keyevent@0__:del", "s"),
    ("__keyevent@0__:hset", "h"),
    ("__keyevent@0__:hincrby", "h"),
    ("__keyevent@0__:hincrbyfloat", "h"),
    ("__keyevent@0__:hdel", "h"),
    ("__keyevent@0__:del", "h"),
    ("__keyevent@0__:lpush", "l"),
    ("__keyevent@0__:rpush", "l"),
    ("__keyevent@0__:lpop", "l"),
    ("__keyevent@0__:rpop", "l"),
    ("__keyevent@0__:lset", "l"),
    ("__keyevent@0__:linsert", "l"),
    ("__keyevent@0__:lrem", "l"),
    ("__keyevent@0__:ltrim", "l"),
    ("__keyevent@0__:rpush", "l2"),
    ("__keyevent@0__:lpop", "l"),
    ("__keyevent@0__:del", "l"),
    ("__keyevent@0__:lpush", "l3"),
    ("__keyevent@0__:rpop", "l2"),
    ("__keyevent@0__:del", "l2"),
    ("__keyevent@0__:sadd", "s1"),
    ("__keyevent@0__:srem", "s1"),
    ("__keyevent@0__:srem", "s1"),
    ("__keyevent@0__:sadd", "s2"),
    ("__keyevent@0__:sadd", "s9"),
    ("__keyevent@0__:spop", "s9"),
    ("__keyevent@0__:del", "s9"),
    ("__keyevent@0__:sadd", "s3"),
    ("__keyevent@0__:sinterstore", "d1"),
    ("__keyevent@0__:sunionstore", "d2"),
    ("__keyevent@0__:zadd", "z"),
    ("__keyevent@0__:zincr", "z"),
    ("__keyevent@0__:zrem", "z"),
    ("__keyevent@0__:zpopmin", "z"),
    ("__keyevent@0__:zremrangebyscore", "z"),
    ("__keyevent@0__:del", "z"),
    ("__keyevent@0__:zadd", "z2"),
    ("__keyevent@0__:zunionstore", "z3"),
    ("__keyevent@0__:zrangestore", "z4"),
    ("__keyevent@0__:zremrangebyrank", "z2"),
    ("__keyevent@0__:zadd", "z5"),
    ("__keyevent@0__:zremrangebylex", "z5"),
    ("__keyevent@0__:del", "z5"),
    ("__keyevent@0__:expire", "z2"),
    ("__keyevent@0__:persist", "z2"),
    ("__keyevent@0__:rename_from", "z2"),
    ("__keyevent@0__:rename_to", "z6"),
    ("__keyevent@0__:copy_to", "z7"),
    ("__keyevent@0__:move_from", "z7"),
    ("__keyevent@1__:move_to", "z7"),
    ("__keyevent@0__:del", "z6"),
    ("__keyevent@0__:del", "z3"),
    ("__keyevent@0__:del", "z4"),
];

/// The events `SCRIPT` publishes under `flags` on the server at `port` on the channels matching
/// `pattern`, until none comes for a second (the script has run by then: only delivery is left).
fn events_of_script(
    port: u16,
    flags: &str,
    pattern: &str,
    script: &[&str],
) -> Vec<(String, String)> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg(flags)
        .query(&mut con)
        .unwrap();
    let mut sub_con = client.get_connection().unwrap();
    let mut pubsub = sub_con.as_pubsub();
    pubsub.psubscribe(pattern).unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    for line in script {
        let mut cmd = redis::cmd(line.split(' ').next().unwrap());
        for arg in line.split(' ').skip(1) {
            cmd.arg(arg);
        }
        // Type errors are part of the scripts: Redis announces a miss before it checks a type.
        let _: redis::RedisResult<redis::Value> = cmd.query(&mut con);
    }
    let mut seen = Vec::new();
    while let Ok(msg) = pubsub.get_message() {
        let payload: String = msg.get_payload().unwrap();
        seen.push((msg.get_channel_name().to_string(), payload));
    }
    seen
}

/// `n` (not part of `A`): a `new` event for every key a command creates, before the command's own
/// event, as redis-server publishes them for the same script; none from `A` alone.
#[test]
fn new_key_events_match_redis() {
    let redis = fleet::RedisServer::start();
    let cachet = TestServer::start();
    for flags in ["KEn", "KEAn"] {
        let want = events_of_script(redis.port, flags, "__key*__:*", SCRIPT);
        assert!(want
            .iter()
            .any(|(channel, _)| channel == "__keyevent@0__:new"));
        let _: () = redis::cmd("FLUSHALL").query(&mut cachet.client()).unwrap();
        assert_eq!(
            events_of_script(cachet.port(), flags, "__key*__:*", SCRIPT),
            want,
            "{flags}"
        );
        let mut redis_con = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
            .unwrap()
            .get_connection()
            .unwrap();
        let _: () = redis::cmd("FLUSHALL").query(&mut redis_con).unwrap();
    }
    // A creation is not a change of its own: the dirty count moves once per write.
    let mut con = cachet.client();
    let dirty = |con: &mut redis::Connection| {
        common::info_u64(con, "persistence", "rdb_changes_since_last_save")
    };
    let before = dirty(&mut con);
    let _: () = redis::cmd("SET")
        .arg("fresh")
        .arg("1")
        .query(&mut con)
        .unwrap();
    assert_eq!(dirty(&mut con), before + 1);
}

/// Reads of absent keys, among writes that create keys: every lookup that counts in
/// `keyspace_misses` (EXISTS, TYPE and TTL too, not OBJECT), inside MGET, SORT and scripts.
const MISS_SCRIPT: &[&str] = &[
    "SET a 1",
    "GET nokey",
    "EXISTS a nokey",
    "TYPE nokey",
    "TTL nokey",
    "PEXPIRETIME nokey",
    "OBJECT ENCODING nokey",
    "STRLEN nokey",
    "GETRANGE nokey 0 1",
    "DUMP nokey",
    "MEMORY USAGE nokey",
    "TOUCH nokey",
    "HGETALL nokey",
    "HEXISTS nokey f",
    "LRANGE nokey 0 1",
    "LINDEX nokey 0",
    "SISMEMBER nokey a",
    "SMEMBERS nokey",
    "ZSCORE nokey a",
    "ZRANGE nokey 0 1",
    "XRANGE nokey - +",
    "PFCOUNT nokey",
    "BITCOUNT nokey",
    "GEOPOS nokey a",
    "MGET nokey a other",
    "GETDEL nokey",
    "GETEX nokey",
    "SORT nokey",
    "SUNION nokey a",
    "LCS nokey a",
    "LPOP nokey",
    "INCR ctr",
    "COPY nokey b",
    "ZUNIONSTORE dst 1 nokey",
    "SMOVE nokey s3 a",
    "EVAL return(redis.call('get','inscript')) 0",
    "FLUSHALL",
];

/// `m` (not part of `A`): a `keymiss` event for every read lookup that misses, as redis-server
/// publishes them for the same script, among the other events; none from `A` alone, and a miss
/// is no change (the dirty count stays).
#[test]
fn key_miss_events_match_redis() {
    let redis = fleet::RedisServer::start();
    let cachet = TestServer::start();
    for flags in ["KEm", "KEAm", "KEA"] {
        let want = events_of_script(redis.port, flags, "__key*__:*", MISS_SCRIPT);
        assert_eq!(
            want.iter()
                .any(|(channel, _)| channel == "__keyevent@0__:keymiss"),
            flags.contains('m'),
            "{flags}: {want:?}"
        );
        assert_eq!(
            events_of_script(cachet.port(), flags, "__key*__:*", MISS_SCRIPT),
            want,
            "{flags}"
        );
    }
    let mut con = cachet.client();
    let dirty = |con: &mut redis::Connection| {
        common::info_u64(con, "persistence", "rdb_changes_since_last_save")
    };
    let before = dirty(&mut con);
    let _: Option<String> = redis::cmd("GET").arg("absent").query(&mut con).unwrap();
    assert_eq!(dirty(&mut con), before);
}

#[test]
fn keyevent_stream_matches_redis() {
    let server = TestServer::start();
    let seen = events_of_script(server.port(), "KEA", "__keyevent@*__:*", SCRIPT);
    let expected: Vec<(String, String)> = EXPECTED
        .iter()
        .map(|(c, k)| (c.to_string(), k.to_string()))
        .collect();
    assert_eq!(seen, expected);
}
