//! Hash field expiration (Redis 7.4's HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT, HTTL, HPTTL,
//! HEXPIRETIME, HPEXPIRETIME, HPERSIST): errors and their order, the per-field codes, what other
//! hash commands do to a field's TTL, expired fields being invisible and reaped (on access and by
//! the cron), the key going with its last field, notices, WATCH, RENAME and COPY. Redis 7.0 has
//! none of this, so replies are the ones 7.4's `t_hash.c` gives. No timing is asserted: times in the
//! past (HPEXPIREAT 1), far in the future, or 1 ms followed by polling until it happened.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::time::{Duration, Instant};

use common::{bulk, call, int, RawClient, TestServer};

const NIL: &[u8] = b"$-1\r\n";
const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
/// A time far in the future (2100-01-01, in ms): never reached while a test runs.
const FAR_MS: u64 = 4_102_444_800_000;

fn codes(codes: &[i64]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", codes.len()).into_bytes();
    for code in codes {
        out.extend_from_slice(&int(*code));
    }
    out
}

fn error(text: &str) -> Vec<u8> {
    format!("-ERR {text}\r\n").into_bytes()
}

fn hash(raw: &mut RawClient, key: &str, fields: &[&str]) {
    call(raw, &["DEL", key]);
    let mut args = vec!["HSET", key];
    for field in fields {
        args.push(field);
        args.push("v");
    }
    call(raw, &args);
}

#[test]
fn errors_in_redis_74_order() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "SET str x");
    hash(&mut raw, "h", &["a"]);
    // The key's type first, whatever the arguments.
    assert_eq!(call(&mut raw, "HEXPIRE str x FIELDS 1 a"), WRONGTYPE);
    assert_eq!(call(&mut raw, "HTTL str FIELDS 0 a"), WRONGTYPE);
    assert_eq!(call(&mut raw, "HPERSIST str FIELDS 0 a"), WRONGTYPE);
    assert_eq!(
        call(&mut raw, "HEXPIRE h x FIELDS 1 a"),
        error("value is not an integer or out of range")
    );
    assert_eq!(
        call(&mut raw, "HEXPIRE h -1 FIELDS 1 a"),
        error("invalid expire time, must be >= 0")
    );
    // 7.4's limit: (2^48 - 1) >> 2 ms.
    assert_eq!(
        call(&mut raw, "HEXPIREAT h 70368744178 FIELDS 1 a"),
        error("invalid expire time in 'hexpireat' command")
    );
    assert_eq!(
        call(&mut raw, "HPEXPIREAT h 70368744177664 FIELDS 1 a"),
        error("invalid expire time in 'hpexpireat' command")
    );
    assert_eq!(
        call(&mut raw, "HPEXPIRE h 70368744177663 FIELDS 1 a"),
        error("invalid expire time in 'hpexpire' command")
    );
    assert_eq!(
        call(&mut raw, "HEXPIRE h 10 FOO 1 a"),
        error("Mandatory argument FIELDS is missing or not at the right position")
    );
    assert_eq!(
        call(&mut raw, "HEXPIRE h 10 NX 1 a x"),
        error("Mandatory argument FIELDS is missing or not at the right position")
    );
    for bad in ["0", "-1", "x", "1.5"] {
        assert_eq!(
            call(&mut raw, format!("HEXPIRE h 10 FIELDS {bad} a").as_str()),
            error("Parameter `numFields` should be greater than 0")
        );
        assert_eq!(
            call(&mut raw, format!("HTTL h FIELDS {bad} a").as_str()),
            error("Number of fields must be a positive integer")
        );
        assert_eq!(
            call(&mut raw, format!("HPERSIST h FIELDS {bad} a").as_str()),
            error("Number of fields must be a positive integer")
        );
    }
    for request in [
        "HEXPIRE h 10 FIELDS 2 a",
        "HEXPIRE h 10 GT FIELDS 1 a b",
        "HPTTL h FIELDS 3 a b",
        "HPERSIST h FIELDS 1 a b",
    ] {
        assert_eq!(
            call(&mut raw, request),
            error("The `numfields` parameter must match the number of arguments"),
            "{request}"
        );
    }
    assert_eq!(
        call(&mut raw, "HEXPIRE h 10 FIELDS 1"),
        error("wrong number of arguments for 'hexpire' command")
    );
    assert_eq!(
        call(&mut raw, "HTTL h FIELDS 1"),
        error("wrong number of arguments for 'httl' command")
    );
    // Nothing above changed the field.
    assert_eq!(call(&mut raw, "HTTL h FIELDS 1 a"), codes(&[-1]));
}

#[test]
fn codes_per_field() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // A missing key: -2 for every field.
    assert_eq!(
        call(&mut raw, "HEXPIRE nokey 10 FIELDS 2 a b"),
        codes(&[-2, -2])
    );
    assert_eq!(call(&mut raw, "HTTL nokey FIELDS 1 a"), codes(&[-2]));
    assert_eq!(call(&mut raw, "HPERSIST nokey FIELDS 1 a"), codes(&[-2]));
    assert_eq!(call(&mut raw, "EXISTS nokey"), int(0));
    hash(&mut raw, "h", &["a", "b", "c"]);
    let far = FAR_MS.to_string();
    let later = (FAR_MS + 1000).to_string();
    let sooner = (FAR_MS - 1000).to_string();
    // XX and GT refuse a field without a TTL; NX and LT accept it. Then GT and LT against the
    // TTL each step leaves: (time, condition, fields, codes).
    let steps: [(&str, &str, &[&str], &[i64]); 9] = [
        (&far, "XX", &["a"], &[0]),
        (&far, "GT", &["a"], &[0]),
        (&far, "LT", &["a"], &[1]),
        (&far, "nx", &["a", "b", "zz"], &[0, 1, -2]),
        (&sooner, "GT", &["a"], &[0]),
        (&far, "GT", &["a"], &[0]),
        (&later, "GT", &["a"], &[1]),
        (&later, "LT", &["a"], &[0]),
        (&far, "XX", &["a"], &[1]),
    ];
    for (time, condition, fields, expected) in steps {
        let count = fields.len().to_string();
        let mut request = vec!["HPEXPIREAT", "h", time, condition, "FIELDS", &count];
        request.extend_from_slice(fields);
        assert_eq!(call(&mut raw, &request[..]), codes(expected), "{request:?}");
    }
    // The times, in each unit: seconds round up.
    assert_eq!(
        call(&mut raw, "HPEXPIRETIME h FIELDS 3 a c zz"),
        codes(&[FAR_MS as i64, -1, -2])
    );
    assert_eq!(
        call(&mut raw, "HEXPIRETIME h FIELDS 1 a"),
        codes(&[(FAR_MS / 1000) as i64])
    );
    call(
        &mut raw,
        &[
            "HPEXPIREAT",
            "h",
            &(FAR_MS + 1).to_string(),
            "FIELDS",
            "1",
            "b",
        ],
    );
    assert_eq!(
        call(&mut raw, "HEXPIRETIME h FIELDS 1 b"),
        codes(&[(FAR_MS / 1000 + 1) as i64])
    );
    call(&mut raw, "HEXPIRE h 100 FIELDS 1 c");
    let ttl = call(&mut raw, "HTTL h FIELDS 1 c");
    assert!(
        ttl == codes(&[100]) || ttl == codes(&[99]),
        "{}",
        String::from_utf8_lossy(&ttl)
    );
    let pttl = call(&mut raw, "HPTTL h FIELDS 1 c");
    let left: i64 = String::from_utf8_lossy(&pttl[5..pttl.len() - 2])
        .parse()
        .unwrap();
    assert!(left > 0 && left <= 100_000, "{left}");
    // HPERSIST: 1 for a TTL removed, -1 without one, -2 for no field.
    assert_eq!(
        call(&mut raw, "HPERSIST h FIELDS 3 a a zz"),
        codes(&[1, -1, -2])
    );
    assert_eq!(call(&mut raw, "HTTL h FIELDS 1 a"), codes(&[-1]));
    // A time not after now deletes the field (2); a field named twice is gone the second time.
    assert_eq!(
        call(&mut raw, "HPEXPIREAT h 1 FIELDS 2 a a"),
        codes(&[2, -2])
    );
    assert_eq!(call(&mut raw, "HEXPIRE h 0 FIELDS 1 b"), codes(&[2]));
    assert_eq!(call(&mut raw, "HGETALL h"), b"*2\r\n$1\r\nc\r\n$1\r\nv\r\n");
    // The last field gone deletes the key.
    assert_eq!(call(&mut raw, "HPEXPIREAT h 1 FIELDS 1 c"), codes(&[2]));
    assert_eq!(call(&mut raw, "EXISTS h"), int(0));
    let mut con = server.client();
    assert_eq!(common::info_u64(&mut con, "stats", "expired_subkeys"), 3);
}

#[test]
fn other_hash_commands_keep_or_drop_the_ttl_as_74() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let far = FAR_MS.to_string();
    hash(&mut raw, "h", &["a", "n", "f", "s"]);
    call(&mut raw, "HSET h n 5 f 1.5");
    call(
        &mut raw,
        &["HPEXPIREAT", "h", &far, "FIELDS", "4", "a", "n", "f", "s"],
    );
    assert_eq!(call(&mut raw, "HINCRBY h n 2"), int(7));
    assert_eq!(call(&mut raw, "HINCRBYFLOAT h f 1"), bulk("2.5"));
    assert_eq!(call(&mut raw, "HSETNX h s other"), int(0));
    assert_eq!(
        call(&mut raw, "HPEXPIRETIME h FIELDS 3 n f s"),
        codes(&[FAR_MS as i64, FAR_MS as i64, FAR_MS as i64])
    );
    // HSET (and HMSET) overwrite the field and its TTL.
    assert_eq!(call(&mut raw, "HSET h a w"), int(0));
    call(&mut raw, "HMSET h s w");
    assert_eq!(call(&mut raw, "HTTL h FIELDS 2 a s"), codes(&[-1, -1]));
    // HDEL drops the TTL with the field.
    call(&mut raw, "HDEL h n");
    call(&mut raw, "HSET h n 1");
    assert_eq!(call(&mut raw, "HTTL h FIELDS 1 n"), codes(&[-1]));
    // A small hash given a TTL leaves the listpack (7.4 says `listpackex`).
    hash(&mut raw, "small", &["a"]);
    assert_eq!(call(&mut raw, "OBJECT ENCODING small"), bulk("listpack"));
    call(&mut raw, &["HPEXPIREAT", "small", &far, "FIELDS", "1", "a"]);
    assert_eq!(call(&mut raw, "OBJECT ENCODING small"), bulk("hashtable"));
}

/// Sets a 1 ms TTL on `fields` of `key`, and waits until HPTTL (which reaps nothing) says their
/// time has passed.
fn expire_soon(raw: &mut RawClient, key: &str, fields: &[&str]) {
    let count = fields.len().to_string();
    let mut args = vec!["HPEXPIRE", key, "1", "FIELDS", &count];
    args.extend_from_slice(fields);
    call(raw, &args);
    let mut ask = vec!["HPTTL", key, "FIELDS", &count];
    ask.extend_from_slice(fields);
    let gone = codes(&vec![-2; fields.len()]);
    fleet::wait_until("the fields' time to pass", || call(raw, &ask) == gone);
}

#[test]
fn expired_fields_are_invisible_and_reaped() {
    let server = TestServer::start();
    let mut raw = server.raw();
    hash(&mut raw, "h", &["a", "b", "c"]);
    expire_soon(&mut raw, "h", &["a", "b"]);
    assert_eq!(call(&mut raw, "HGET h a"), NIL);
    assert_eq!(call(&mut raw, "HEXISTS h b"), int(0));
    assert_eq!(
        call(&mut raw, "HMGET h a b c"),
        b"*3\r\n$-1\r\n$-1\r\n$1\r\nv\r\n"
    );
    assert_eq!(call(&mut raw, "HLEN h"), int(1));
    assert_eq!(call(&mut raw, "HKEYS h"), b"*1\r\n$1\r\nc\r\n");
    assert_eq!(call(&mut raw, "HSTRLEN h a"), int(0));
    // An expired field is a new one for HSETNX and HINCRBY.
    hash(&mut raw, "h", &["a", "n"]);
    call(&mut raw, "HSET h n 40");
    expire_soon(&mut raw, "h", &["a", "n"]);
    assert_eq!(call(&mut raw, "HINCRBY h n 2"), int(2));
    assert_eq!(call(&mut raw, "HSETNX h a new"), int(1));
    assert_eq!(
        call(&mut raw, "HGETALL h"),
        b"*4\r\n$1\r\nn\r\n$1\r\n2\r\n$1\r\na\r\n$3\r\nnew\r\n"
    );
    assert_eq!(call(&mut raw, "HTTL h FIELDS 2 a n"), codes(&[-1, -1]));
    // Every field expired: the first hash read deletes the key.
    hash(&mut raw, "h", &["a", "b"]);
    expire_soon(&mut raw, "h", &["a", "b"]);
    assert_eq!(call(&mut raw, "HGETALL h"), b"*0\r\n");
    assert_eq!(call(&mut raw, "EXISTS h"), int(0));
    // SORT's hash patterns do not see an expired field either.
    call(&mut raw, "RPUSH l 1 2");
    call(&mut raw, "HSET w_1 f 10");
    call(&mut raw, "HSET w_2 f 5 g 1");
    assert_eq!(
        call(&mut raw, "SORT l BY w_*->f"),
        b"*2\r\n$1\r\n2\r\n$1\r\n1\r\n"
    );
    expire_soon(&mut raw, "w_2", &["f"]);
    assert_eq!(
        call(&mut raw, "SORT l BY w_*->f"),
        b"*2\r\n$1\r\n2\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        call(&mut raw, "SORT l GET w_*->f"),
        b"*2\r\n$2\r\n10\r\n$-1\r\n"
    );
}

#[test]
fn the_cron_reaps_fields_nobody_reads() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // Many hashes, so that the cron's round-robin has to come back to them.
    for i in 0..50 {
        hash(&mut raw, &format!("h{i}"), &["a", "b"]);
        call(&mut raw, format!("HPEXPIRE h{i} 1 FIELDS 1 a").as_str());
    }
    hash(&mut raw, "gone", &["a", "b"]);
    call(&mut raw, "HPEXPIRE gone 1 FIELDS 2 a b");
    // HLEN counts fields not yet reaped, and reaps nothing itself.
    fleet::wait_until("the cron to reap every expired field", || {
        (0..50).all(|i| call(&mut raw, format!("HLEN h{i}").as_str()) == int(1))
    });
    fleet::wait_until("the cron to delete the emptied hash", || {
        call(&mut raw, "EXISTS gone") == int(0)
    });
    assert_eq!(
        call(&mut raw, "HGETALL h7"),
        b"*2\r\n$1\r\nb\r\n$1\r\nv\r\n"
    );
}

/// Events of `__keyevent@0__:*` (with their keys) published while `script` runs.
fn events(server: &TestServer, script: &[&str], wait_for: &str) -> Vec<(String, String)> {
    let mut con = server.client();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("KEA")
        .query(&mut con)
        .unwrap();
    let mut sub_con = server.client();
    let mut pubsub = sub_con.as_pubsub();
    pubsub.psubscribe("__keyevent@0__:*").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut raw = server.raw();
    for line in script {
        call(&mut raw, *line);
    }
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline
        && !seen
            .iter()
            .any(|(event, _): &(String, String)| event == wait_for)
    {
        if let Ok(msg) = pubsub.get_message() {
            let payload: String = msg.get_payload().unwrap();
            let channel = msg.get_channel_name().to_string();
            let event = channel.rsplit(':').next().unwrap_or_default().to_string();
            seen.push((event, payload));
        }
    }
    seen
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn notices_as_74() {
    let server = TestServer::start();
    let far = FAR_MS.to_string();
    let set_far = format!("HPEXPIREAT h {far} FIELDS 2 a b");
    let seen = events(
        &server,
        &[
            "HSET h a 1 b 2 c 3",
            &set_far,
            // Nothing changes: no event.
            "HPEXPIREAT h 5 NX FIELDS 1 a",
            "HPERSIST h FIELDS 1 a",
            "HPERSIST h FIELDS 1 a",
            "HPEXPIREAT h 1 FIELDS 1 a",
            "HPEXPIREAT h 1 FIELDS 2 b c",
            "SET end 1",
        ],
        "set",
    );
    assert_eq!(
        seen,
        pairs(&[
            ("hset", "h"),
            ("hexpire", "h"),
            ("hpersist", "h"),
            ("hdel", "h"),
            ("hdel", "h"),
            ("del", "h"),
            ("set", "end"),
        ])
    );
    // A reaped field is `hexpired`, and the hash's last one also `del`.
    let mut raw = server.raw();
    call(&mut raw, "HSET r a 1 b 2");
    expire_soon(&mut raw, "r", &["a"]);
    let seen = events(&server, &["HGET r a", "HPEXPIRE r 1 FIELDS 1 b"], "del");
    assert_eq!(seen[0], ("hexpired".to_string(), "r".to_string()));
    assert_eq!(seen[1], ("hexpire".to_string(), "r".to_string()));
    assert_eq!(seen.last(), Some(&("del".to_string(), "r".to_string())));
    assert_eq!(call(&mut raw, "EXISTS r"), int(0));
}

#[test]
fn watch_sees_a_field_expire() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut watcher = server.raw();
    call(&mut raw, "HSET h a 1 b 2");
    call(&mut watcher, "WATCH h");
    expire_soon(&mut raw, "h", &["a"]);
    // Reaped by another client's read.
    assert_eq!(call(&mut raw, "HGET h a"), NIL);
    call(&mut watcher, "MULTI");
    call(&mut watcher, "HGET h b");
    assert_eq!(call(&mut watcher, "EXEC"), b"*-1\r\n");
    // Setting and removing a TTL are writes too.
    call(&mut watcher, "WATCH h");
    call(&mut raw, "HEXPIRE h 100 FIELDS 1 b");
    call(&mut watcher, "MULTI");
    assert_eq!(call(&mut watcher, "EXEC"), b"*-1\r\n");
}

/// A request's reply on a tracking connection, skipping the invalidation pushes before it.
fn reply_past_pushes(tracker: &mut RawClient, request: &str) -> Vec<u8> {
    let words: Vec<&str> = request.split(' ').collect();
    let mut bytes = format!("*{}\r\n", words.len()).into_bytes();
    for word in words {
        bytes.extend_from_slice(format!("${}\r\n{word}\r\n", word.len()).as_bytes());
    }
    tracker.send(&bytes);
    loop {
        let reply = tracker.read_reply();
        if !reply.starts_with(b">") {
            return reply;
        }
    }
}

/// Waits for the invalidation of `key`, skipping those of other keys.
fn invalidation_of(tracker: &mut RawClient, key: &str) {
    let wanted = format!(
        ">2\r\n$10\r\ninvalidate\r\n*1\r\n${}\r\n{key}\r\n",
        key.len()
    );
    while tracker.read_reply() != wanted.as_bytes() {}
}

#[test]
fn tracking_sees_a_field_reaped_by_the_cron() {
    let server = TestServer::start();
    let mut tracker = server.raw();
    tracker
        .stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    assert!(call(&mut tracker, "HELLO 3").starts_with(b"%"));
    call(&mut tracker, "CLIENT TRACKING on");
    let mut raw = server.raw();
    // The TTL is set by another client (one invalidation), then the hash is read again; if the
    // field is still due in the future after that read, the next invalidation can only come from
    // the cron reaping it. On a slow machine the read may come too late: a new key, a longer TTL.
    for ttl in [500, 2000, 8000] {
        let key = format!("h{ttl}");
        call(&mut raw, format!("HSET {key} a 1 b 2").as_str());
        assert_eq!(
            reply_past_pushes(&mut tracker, &format!("HGET {key} b")),
            bulk("2")
        );
        call(
            &mut raw,
            format!("HPEXPIRE {key} {ttl} FIELDS 1 a").as_str(),
        );
        invalidation_of(&mut tracker, &key);
        assert_eq!(
            reply_past_pushes(&mut tracker, &format!("HGET {key} b")),
            bulk("2")
        );
        let left = call(&mut raw, format!("HPTTL {key} FIELDS 1 a").as_str());
        if left.starts_with(b"*1\r\n:-") {
            continue;
        }
        invalidation_of(&mut tracker, &key);
        assert_eq!(call(&mut raw, format!("HLEN {key}").as_str()), int(1));
        return;
    }
    panic!("the hash could not be read before its field expired");
}

#[test]
fn rename_and_copy_keep_field_ttls() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let far = FAR_MS.to_string();
    call(&mut raw, "HSET h a 1 b 2");
    call(&mut raw, &["HPEXPIREAT", "h", &far, "FIELDS", "1", "a"]);
    assert_eq!(call(&mut raw, "RENAME h h2"), b"+OK\r\n");
    assert_eq!(
        call(&mut raw, "HPEXPIRETIME h2 FIELDS 2 a b"),
        codes(&[FAR_MS as i64, -1])
    );
    assert_eq!(call(&mut raw, "COPY h2 h3"), int(1));
    assert_eq!(
        call(&mut raw, "HPEXPIRETIME h3 FIELDS 2 a b"),
        codes(&[FAR_MS as i64, -1])
    );
    // The copy's TTLs are its own.
    call(&mut raw, "HPERSIST h3 FIELDS 1 a");
    assert_eq!(
        call(&mut raw, "HPEXPIRETIME h2 FIELDS 1 a"),
        codes(&[FAR_MS as i64])
    );
    // And the cron reaps a renamed hash's fields.
    call(&mut raw, "HPEXPIRE h2 1 FIELDS 1 a");
    call(&mut raw, "RENAME h2 h4");
    fleet::wait_until("the cron to reap the renamed hash's field", || {
        call(&mut raw, "HLEN h4") == int(1)
    });
}

#[test]
fn memory_returns_when_fields_and_ttls_go() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut raw = server.raw();
    let far = FAR_MS.to_string();
    // The same keys written and deleted, without and then with field TTLs: the table's own slots
    // grow the first time and stay, so the count after each round must be the same.
    let mut round = |raw: &mut RawClient, ttls: bool| {
        for i in 0..20 {
            let key = format!("h{i}");
            call(raw, &["HSET", &key, "a", "1", "b", "2", "c", "3"]);
            if ttls {
                call(raw, &["HPEXPIREAT", &key, &far, "FIELDS", "2", "a", "b"]);
                call(raw, &["HPERSIST", &key, "FIELDS", "1", "a"]);
                call(raw, &["HPEXPIREAT", &key, "1", "FIELDS", "1", "c"]);
                call(raw, &["HINCRBY", &key, "b", "1"]);
            }
        }
        let full = common::info_u64(&mut con, "memory", "used_memory_dataset");
        for i in 0..20 {
            call(raw, &["DEL", &format!("h{i}")]);
        }
        (
            full,
            common::info_u64(&mut con, "memory", "used_memory_dataset"),
        )
    };
    let (plain, base) = round(&mut raw, false);
    let (with_ttls, after) = round(&mut raw, true);
    assert!(with_ttls > plain, "{with_ttls} <= {plain}");
    assert_eq!(after, base);
}

#[test]
fn dump_leaves_expired_fields_and_ttls_out() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let far = FAR_MS.to_string();
    call(&mut raw, "HSET h a 1 b 2 c 3");
    call(&mut raw, &["HPEXPIREAT", "h", &far, "FIELDS", "1", "b"]);
    expire_soon(&mut raw, "h", &["a"]);
    let payload = call(&mut raw, "DUMP h");
    assert!(payload.starts_with(b"$"));
    let start = payload.iter().position(|&b| b == b'\n').unwrap() + 1;
    let body = &payload[start..payload.len() - 2];
    assert_eq!(raw.call(&[b"RESTORE", b"h2", b"0", body]), b"+OK\r\n");
    assert_eq!(call(&mut raw, "HLEN h2"), int(2));
    assert_eq!(
        call(&mut raw, "HMGET h2 b c"),
        b"*2\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert_eq!(call(&mut raw, "HTTL h2 FIELDS 2 b c"), codes(&[-1, -1]));
}
