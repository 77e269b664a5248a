//! The sorted set family against the real server: encodings, sampling, expiry and the table of
//! exact replies Redis 7.0 gave to the same requests (RESP2 unless a test says `hello 3`; ZRANK's
//! WITHSCORE is Redis 7.2's extension). Ranges, pops and algebra: `zset_ranges.rs`.

mod common;

use common::{call, RawClient, TestServer};

fn encoding(raw: &mut RawClient, key: &str) -> Vec<u8> {
    call(raw, &format!("object encoding {key}"))
}

const LISTPACK: &[u8] = b"$8\r\nlistpack\r\n";
const SKIPLIST: &[u8] = b"$8\r\nskiplist\r\n";

/// Members of a flat RESP2 array of bulk strings, in order.
fn bulks(reply: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(reply).into_owned();
    let lines: Vec<&str> = text.split("\r\n").collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with('$'))
        .filter_map(|(i, _)| lines.get(i + 1).map(|s| s.to_string()))
        .collect()
}

#[test]
fn encoding_converts_at_the_thresholds() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let members: Vec<String> = (0..128).map(|i| format!("{i} m{i}")).collect();
    call(&mut raw, &format!("zadd z {}", members.join(" ")));
    assert_eq!(encoding(&mut raw, "z"), LISTPACK);
    call(&mut raw, "zadd z 1 m128");
    assert_eq!(encoding(&mut raw, "z"), SKIPLIST);
    // Removals never convert back, as in Redis.
    call(&mut raw, "zremrangebyrank z 0 100");
    assert_eq!(encoding(&mut raw, "z"), SKIPLIST);
    // A store picks the encoding of its result.
    call(&mut raw, "zunionstore u 1 z");
    assert_eq!(encoding(&mut raw, "u"), LISTPACK);

    let long = "x".repeat(65);
    call(&mut raw, "zadd v 1 a");
    call(&mut raw, &format!("zadd v 1 {}", "y".repeat(64)));
    assert_eq!(encoding(&mut raw, "v"), LISTPACK);
    call(&mut raw, &format!("zadd v 1 {long}"));
    assert_eq!(encoding(&mut raw, "v"), SKIPLIST);
    call(&mut raw, &format!("zadd w 1 {long}"));
    assert_eq!(encoding(&mut raw, "w"), SKIPLIST);
    // Repeated members count once.
    let repeated: Vec<String> = (0..200).map(|i| format!("1 m{}", i % 5)).collect();
    call(&mut raw, &format!("zadd r {}", repeated.join(" ")));
    assert_eq!(encoding(&mut raw, "r"), LISTPACK);
    assert_eq!(call(&mut raw, "type r"), b"+zset\r\n");

    assert_eq!(
        call(&mut raw, "config set zset-max-listpack-entries 0"),
        b"+OK\r\n"
    );
    call(&mut raw, "zadd zero 1 a");
    assert_eq!(encoding(&mut raw, "zero"), SKIPLIST);
    assert_eq!(
        call(&mut raw, "config set zset-max-ziplist-entries 2"),
        b"+OK\r\n"
    );
    assert_eq!(
        call(&mut raw, "config get zset-max-listpack-entries"),
        b"*2\r\n$25\r\nzset-max-listpack-entries\r\n$1\r\n2\r\n"
    );
    call(&mut raw, "zadd two 1 a 2 b");
    assert_eq!(encoding(&mut raw, "two"), LISTPACK);
    call(&mut raw, "zadd two 3 c");
    assert_eq!(encoding(&mut raw, "two"), SKIPLIST);
    assert_eq!(
        call(&mut raw, "config set zset-max-listpack-value 1kb"),
        b"+OK\r\n"
    );
    assert_eq!(
        call(&mut raw, "config get zset-max-listpack-value"),
        b"*2\r\n$23\r\nzset-max-listpack-value\r\n$4\r\n1024\r\n"
    );
    assert_eq!(
        call(&mut raw, "config set zset-max-listpack-entries -1"),
        &b"-ERR CONFIG SET failed (possibly related to argument 'zset-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive\r\n"[..]
    );
}

#[test]
fn skiplist_sets_rank_range_and_pop_like_listpack_ones() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // 1000 members with few distinct scores: rank order mixes score and member order.
    let pairs: Vec<String> = (0..1000).map(|i| format!("{} m{i:04}", i % 7)).collect();
    assert_eq!(
        call(&mut raw, &format!("zadd big {}", pairs.join(" "))),
        b":1000\r\n"
    );
    assert_eq!(encoding(&mut raw, "big"), SKIPLIST);
    let mut model: Vec<(i64, String)> = (0..1000).map(|i| (i % 7, format!("m{i:04}"))).collect();
    model.sort();
    let all = bulks(&call(&mut raw, "zrange big 0 -1"));
    assert_eq!(
        all,
        model.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        call(&mut raw, "zrank big m0007"),
        format!(
            ":{}\r\n",
            model.iter().position(|(_, m)| m == "m0007").unwrap()
        )
        .into_bytes()
    );
    let slice = bulks(&call(&mut raw, "zrange big 500 504"));
    assert_eq!(
        slice,
        model[500..505]
            .iter()
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>()
    );
    let rev = bulks(&call(&mut raw, "zrange big 0 2 rev"));
    assert_eq!(
        rev,
        model[997..]
            .iter()
            .rev()
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>()
    );
    let scored = bulks(&call(&mut raw, "zrangebyscore big (5 6 limit 3 2"));
    let sixes: Vec<String> = model
        .iter()
        .filter(|(s, _)| *s == 6)
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(scored, sixes[3..5].to_vec());
    assert_eq!(
        call(&mut raw, "zcount big 2 (4"),
        format!(
            ":{}\r\n",
            model.iter().filter(|(s, _)| (2..4).contains(s)).count()
        )
        .into_bytes()
    );
    assert_eq!(
        call(&mut raw, "zremrangebyscore big 0 0"),
        format!(":{}\r\n", model.iter().filter(|(s, _)| *s == 0).count()).into_bytes()
    );
    model.retain(|(s, _)| *s != 0);
    let popped = bulks(&call(&mut raw, "zpopmin big 2"));
    assert_eq!(
        popped,
        vec![
            model[0].1.clone(),
            "1".into(),
            model[1].1.clone(),
            "1".into()
        ]
    );
    model.drain(..2);
    assert_eq!(
        call(&mut raw, "zcard big"),
        format!(":{}\r\n", model.len()).into_bytes()
    );
    assert_eq!(call(&mut raw, "zscore big m0006"), b"$1\r\n6\r\n");
}

#[test]
fn zscan_of_a_skiplist_set_visits_every_member() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let pairs: Vec<String> = (0..300).map(|i| format!("{i} m{i}")).collect();
    call(&mut raw, &format!("zadd big {}", pairs.join(" ")));
    let mut seen = std::collections::HashMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let reply = call(&mut raw, &format!("zscan big {cursor} count 20"));
        let items = bulks(&reply);
        cursor = items[0].clone();
        for pair in items[1..].chunks(2) {
            seen.insert(pair[0].clone(), pair[1].clone());
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
        assert!(calls < 1000, "zscan does not end");
    }
    assert!(calls > 1, "a skiplist set is scanned in steps");
    assert_eq!(seen.len(), 300);
    assert_eq!(seen["m17"], "17");
    let matched = bulks(&call(&mut raw, "zscan big 0 match m29* count 1000"));
    assert_eq!(matched.len(), 1 + 2 * 11);
}

#[test]
fn zrandmember_samples_members() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "zadd z 1 a 2 b 3 c 4 d 5 e");
    for _ in 0..20 {
        let distinct = bulks(&call(&mut raw, "zrandmember z 3"));
        assert_eq!(distinct.len(), 3);
        let unique: std::collections::HashSet<_> = distinct.iter().collect();
        assert_eq!(unique.len(), 3);
        let repeated = bulks(&call(&mut raw, "zrandmember z -8"));
        assert_eq!(repeated.len(), 8);
        assert!(repeated
            .iter()
            .all(|m| ["a", "b", "c", "d", "e"].contains(&m.as_str())));
        let one = bulks(&call(&mut raw, "zrandmember z"));
        assert_eq!(one.len(), 1);
    }
    let scored = bulks(&call(&mut raw, "zrandmember z -3 withscores"));
    assert_eq!(scored.len(), 6);
    for pair in scored.chunks(2) {
        let expected = (pair[0].as_bytes()[0] - b'a' + 1).to_string();
        assert_eq!(pair[1], expected);
    }
}

#[test]
fn expired_sets_are_gone_and_memory_is_reported() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "zadd z 1 a 2 b");
    assert_eq!(call(&mut raw, "pexpire z 1"), b":1\r\n");
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(call(&mut raw, "zcard z"), b":0\r\n");
    assert_eq!(call(&mut raw, "zadd z 1 a"), b":1\r\n");
    let usage = call(&mut raw, "memory usage z");
    assert!(usage.starts_with(b":"), "{usage:?}");
    assert_eq!(call(&mut raw, "copy z z2"), b":1\r\n");
    assert_eq!(call(&mut raw, "zadd z2 2 b"), b":1\r\n");
    assert_eq!(call(&mut raw, "zcard z"), b":1\r\n");
    assert_eq!(call(&mut raw, "rename z2 z3"), b"+OK\r\n");
    assert_eq!(
        call(&mut raw, "zrange z3 0 -1"),
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
}

#[test]
fn arity_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, name) in [
        ("zadd z 1", "zadd"),
        ("zincrby z 1", "zincrby"),
        ("zrem z", "zrem"),
        ("zscore z", "zscore"),
        ("zcard", "zcard"),
        ("zrange z 0", "zrange"),
        ("zrangestore d z 0", "zrangestore"),
        ("zpopmin", "zpopmin"),
        ("zmpop 1 z", "zmpop"),
        ("zunion 1", "zunion"),
        ("zunionstore d 1", "zunionstore"),
        ("zintercard 1", "zintercard"),
        ("zscan z", "zscan"),
        ("zremrangebyrank z 0", "zremrangebyrank"),
    ] {
        assert_eq!(
            call(&mut raw, request),
            format!("-ERR wrong number of arguments for '{name}' command\r\n").into_bytes(),
            "{request}"
        );
    }
}

#[test]
fn missing_keys_answer_empty() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zscore nokey a", Some(&b"$-1\r\n"[..])),
        ("zmscore nokey a b", Some(&b"*2\r\n$-1\r\n$-1\r\n"[..])),
        ("zcard nokey", Some(&b":0\r\n"[..])),
        ("zrank nokey a", Some(&b"$-1\r\n"[..])),
        ("zrevrank nokey a", Some(&b"$-1\r\n"[..])),
        ("zcount nokey -inf +inf", Some(&b":0\r\n"[..])),
        ("zlexcount nokey - +", Some(&b":0\r\n"[..])),
        ("zrange nokey 0 -1", Some(&b"*0\r\n"[..])),
        ("zrangebyscore nokey -inf +inf", Some(&b"*0\r\n"[..])),
        ("zrangebylex nokey - +", Some(&b"*0\r\n"[..])),
        ("zrem nokey a", Some(&b":0\r\n"[..])),
        ("zremrangebyrank nokey 0 -1", Some(&b":0\r\n"[..])),
        ("zremrangebyscore nokey -inf +inf", Some(&b":0\r\n"[..])),
        ("zremrangebylex nokey - +", Some(&b":0\r\n"[..])),
        ("zpopmin nokey", Some(&b"*0\r\n"[..])),
        ("zpopmax nokey 3", Some(&b"*0\r\n"[..])),
        ("zmpop 1 nokey min", Some(&b"*-1\r\n"[..])),
        ("zrandmember nokey", Some(&b"$-1\r\n"[..])),
        ("zrandmember nokey 3", Some(&b"*0\r\n"[..])),
        ("zscan nokey 0", Some(&b"*2\r\n$1\r\n0\r\n*0\r\n"[..])),
        // The key is answered for before the options are read.
        (
            "zscan nokey 0 count 0",
            Some(&b"*2\r\n$1\r\n0\r\n*0\r\n"[..]),
        ),
        ("zunion 1 nokey", Some(&b"*0\r\n"[..])),
        ("zinter 2 nokey nokey2", Some(&b"*0\r\n"[..])),
        ("zdiff 1 nokey", Some(&b"*0\r\n"[..])),
        ("zintercard 1 nokey", Some(&b":0\r\n"[..])),
        ("zunionstore dst 1 nokey", Some(&b":0\r\n"[..])),
        ("zrangestore dst nokey 0 -1", Some(&b":0\r\n"[..])),
        ("exists dst", Some(&b":0\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn wrongtype_everywhere() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("set s v", Some(&b"+OK\r\n"[..])),
        (
            "zadd s 1 a",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zincrby s 1 a",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zrem s a",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zscore s a",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zmscore s a",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zcard s",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zrank s a",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zcount s 0 1",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zlexcount s - +",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zrange s 0 -1",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zrangebyscore s 0 1",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zrevrangebylex s + -",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zremrangebyrank s 0 1",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zremrangebyscore s 0 1",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zremrangebylex s - +",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zpopmin s",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zpopmax s 0",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zmpop 2 nokey s min",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zrandmember s",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zrandmember s 2",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zscan s 0",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zscan s 0 count 0",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zunion 2 nokey s",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zinter 1 s",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zdiff 2 nokey s",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zintercard 1 s",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zunionstore d 1 s",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (
            "zrangestore d s 0 -1",
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        ("zadd z 1 a", Some(&b":1\r\n"[..])),
        ("zunionstore s 1 z", Some(&b":1\r\n"[..])),
        ("type s", Some(&b"+zset\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn zadd_options_and_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zadd z 1", Some(&b"-ERR wrong number of arguments for 'zadd' command\r\n"[..])),
        ("zadd z 1 a 2", Some(&b"-ERR syntax error\r\n"[..])),
        ("zadd z nx xx 1 a", Some(&b"-ERR XX and NX options at the same time are not compatible\r\n"[..])),
        ("zadd z gt lt 1 a", Some(&b"-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"[..])),
        ("zadd z nx gt 1 a", Some(&b"-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"[..])),
        ("zadd z incr 1 a 2 b", Some(&b"-ERR INCR option supports a single increment-element pair\r\n"[..])),
        ("zadd z abc a", Some(&b"-ERR value is not a valid float\r\n"[..])),
        ("zadd z nan a", Some(&b"-ERR value is not a valid float\r\n"[..])),
        ("zadd z 1e400 a", Some(&b"-ERR value is not a valid float\r\n"[..])),
        ("zadd z 1e-400 a", Some(&b"-ERR value is not a valid float\r\n"[..])),
        ("zadd z 1.5x a", Some(&b"-ERR value is not a valid float\r\n"[..])),
        ("exists z", Some(&b":0\r\n"[..])),
        ("zadd z 1 a 2 b 3 c", Some(&b":3\r\n"[..])),
        ("zadd z 1 a 2 b 3 c", Some(&b":0\r\n"[..])),
        ("zadd z ch 1 a 5 b 4 d", Some(&b":2\r\n"[..])),
        ("zadd z nx 10 a 6 e", Some(&b":1\r\n"[..])),
        ("zadd z xx ch 10 a 7 nope", Some(&b":1\r\n"[..])),
        ("zadd z gt ch 1 a 20 b", Some(&b":1\r\n"[..])),
        ("zadd z lt ch 1 a 30 b", Some(&b":1\r\n"[..])),
        ("zadd z xx gt ch 100 c", Some(&b":1\r\n"[..])),
        ("zadd z 0x10 hex", Some(&b":1\r\n"[..])),
        ("zadd z -inf ninf +inf pinf", Some(&b":2\r\n"[..])),
        ("zrange z 0 -1 withscores", Some(&b"*16\r\n$4\r\nninf\r\n$4\r\n-inf\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n6\r\n$3\r\nhex\r\n$2\r\n16\r\n$1\r\nb\r\n$2\r\n20\r\n$1\r\nc\r\n$3\r\n100\r\n$4\r\npinf\r\n$3\r\ninf\r\n"[..])),
        ("zadd z incr 2.5 a", Some(&b"$3\r\n3.5\r\n"[..])),
        ("zadd z incr nx 1 a", Some(&b"$-1\r\n"[..])),
        ("zadd z incr xx 1 nope", Some(&b"$-1\r\n"[..])),
        ("zadd z incr gt -5 a", Some(&b"$-1\r\n"[..])),
        ("zadd z incr lt -5 a", Some(&b"$4\r\n-1.5\r\n"[..])),
        ("zincrby z 1 newmember", Some(&b"$1\r\n1\r\n"[..])),
        ("zincrby z -inf pinf", Some(&b"-ERR resulting score is not a number (NaN)\r\n"[..])),
        ("zincrby z +inf ninf", Some(&b"-ERR resulting score is not a number (NaN)\r\n"[..])),
        ("zincrby z abc a", Some(&b"-ERR value is not a valid float\r\n"[..])),
        ("zincrby z nx 1", Some(&b"-ERR syntax error\r\n"[..])),
        ("zscore z pinf", Some(&b"$3\r\ninf\r\n"[..])),
        ("zadd z 1 a", Some(&b":0\r\n"[..])),
        ("zincrby z 0.1 a", Some(&b"$18\r\n1.1000000000000001\r\n"[..])),
        ("zincrby z 0.2 a", Some(&b"$3\r\n1.3\r\n"[..])),
        ("zadd z -0 negzero", Some(&b":1\r\n"[..])),
        ("zscore z negzero", Some(&b"$1\r\n0\r\n"[..])),
        ("zincrby z -0 other", Some(&b"$2\r\n-0\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn point_lookups() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zadd z 1 a 2 b 3 c 2 bb", Some(&b":4\r\n"[..])),
        ("zscore z b", Some(&b"$1\r\n2\r\n"[..])),
        ("zscore z nope", Some(&b"$-1\r\n"[..])),
        (
            "zmscore z a nope c",
            Some(&b"*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n"[..]),
        ),
        ("zcard z", Some(&b":4\r\n"[..])),
        ("zrank z a", Some(&b":0\r\n"[..])),
        ("zrank z bb", Some(&b":2\r\n"[..])),
        ("zrevrank z a", Some(&b":3\r\n"[..])),
        ("zrevrank z c", Some(&b":0\r\n"[..])),
        ("zrank z nope", Some(&b"$-1\r\n"[..])),
        ("zrank z a withscore", Some(&b"*2\r\n:0\r\n$1\r\n1\r\n"[..])),
        (
            "zrevrank z a withscore",
            Some(&b"*2\r\n:3\r\n$1\r\n1\r\n"[..]),
        ),
        ("zrank z nope withscore", Some(&b"*-1\r\n"[..])),
        ("zrank z a withscores", Some(&b"-ERR syntax error\r\n"[..])),
        (
            "zrank z a withscore extra",
            Some(&b"-ERR wrong number of arguments for 'zrank' command\r\n"[..]),
        ),
        ("zrem z a nope bb", Some(&b":2\r\n"[..])),
        ("zrem z nope", Some(&b":0\r\n"[..])),
        ("zcard z", Some(&b":2\r\n"[..])),
        ("zrem z b c", Some(&b":2\r\n"[..])),
        ("exists z", Some(&b":0\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

/// Plain sets take part in the set algebra with every score 1 (replies from redis-server 7.0.15).
#[test]
fn plain_sets_count_as_scores_of_one() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "SADD s 1 2 x");
    call(&mut raw, "ZADD z 5 x 3 y");
    assert_eq!(
        call(&mut raw, "ZUNION 2 s z WITHSCORES"),
        b"*8\r\n$1\r\n1\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n3\r\n$1\r\nx\r\n$1\r\n6\r\n"
    );
    assert_eq!(
        call(&mut raw, "ZINTER 2 s z WITHSCORES"),
        b"*2\r\n$1\r\nx\r\n$1\r\n6\r\n"
    );
    assert_eq!(call(&mut raw, "ZINTERCARD 2 s z"), b":1\r\n");
    assert_eq!(call(&mut raw, "ZUNIONSTORE d 2 s z WEIGHTS 2 1"), b":4\r\n");
    call(&mut raw, "SET str v");
    assert_eq!(
        call(&mut raw, "ZUNION 2 s str"),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
}
