//! DUMP and RESTORE against a real redis-server 7.0: payloads cross both ways (a value DUMPed by
//! Redis restores in cachet with the same contents and encoding, and the other way round), the
//! payloads of order-determined values are the same bytes, and every error is Redis's.

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use differential::Differential;

/// The bytes of a bulk-string reply.
fn bulk_payload(reply: &[u8]) -> Vec<u8> {
    assert_eq!(reply[0], b'$', "{}", String::from_utf8_lossy(reply));
    let header_end = reply.windows(2).position(|w| w == b"\r\n").unwrap();
    reply[header_end + 2..reply.len() - 2].to_vec()
}

/// Reads that show a value whatever its internal order: every member asked for in a fixed order.
fn reads(kind: &str, key: &str, members: &[String]) -> Vec<Vec<String>> {
    let mut out = vec![
        vec!["type".into(), key.into()],
        vec!["object".into(), "encoding".into(), key.into()],
    ];
    let with = |cmd: &[&str]| -> Vec<String> {
        cmd.iter()
            .map(|s| s.to_string())
            .chain(members.iter().cloned())
            .collect()
    };
    match kind {
        "string" => out.push(vec!["get".into(), key.into()]),
        "list" => out.push(vec!["lrange".into(), key.into(), "0".into(), "-1".into()]),
        "zset" => out.push(vec![
            "zrange".into(),
            key.into(),
            "0".into(),
            "-1".into(),
            "withscores".into(),
        ]),
        "set" => {
            out.push(vec!["scard".into(), key.into()]);
            out.push(with(&["smismember", key]));
        }
        "hash" => {
            out.push(vec!["hlen".into(), key.into()]);
            out.push(with(&["hmget", key]));
        }
        _ => unreachable!(),
    }
    out
}

struct Case {
    key: &'static str,
    kind: &'static str,
    setup: Vec<Vec<String>>,
    members: Vec<String>,
    /// Whether the payloads are the same bytes: the value laid out in the same order, and LZF
    /// (the `lzf` crate, a rewrite of Redis's liblzf) choosing the same matches, which it does
    /// except, at times, in the last bytes of a long input.
    same_bytes: bool,
}

fn words(n: usize, prefix: &str) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn cases() -> Vec<Case> {
    let cmd = |parts: &[&str], rest: &[String]| -> Vec<String> {
        parts
            .iter()
            .map(|s| s.to_string())
            .chain(rest.iter().cloned())
            .collect()
    };
    let pairs = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .enumerate()
            .flat_map(|(i, n)| [n.clone(), format!("{}", i * 7)])
            .collect()
    };
    let scored = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .enumerate()
            .flat_map(|(i, n)| [format!("{}", i as f64 / 4.0 - 3.0), n.clone()])
            .collect()
    };
    let long = "x".repeat(70);
    vec![
        Case {
            key: "s-short",
            kind: "string",
            setup: vec![cmd(&["set", "s-short", "hello"], &[])],
            members: vec![],
            same_bytes: true,
        },
        Case {
            key: "s-int",
            kind: "string",
            setup: vec![cmd(&["set", "s-int", "-123456"], &[])],
            members: vec![],
            same_bytes: true,
        },
        Case {
            key: "s-big-int",
            kind: "string",
            setup: vec![cmd(&["set", "s-big-int", "9223372036854775807"], &[])],
            members: vec![],
            same_bytes: true,
        },
        Case {
            key: "s-long",
            kind: "string",
            setup: vec![cmd(&["set", "s-long", &"abcdefgh".repeat(40)], &[])],
            members: vec![],
            same_bytes: true,
        },
        Case {
            key: "s-hll",
            kind: "string",
            setup: vec![cmd(&["pfadd", "s-hll"], &words(50, "e"))],
            members: vec![],
            same_bytes: false,
        },
        Case {
            key: "l-small",
            kind: "list",
            setup: vec![cmd(
                &["rpush", "l-small", "a", "1", "-5000", "70000", "", &long],
                &[],
            )],
            members: vec![],
            same_bytes: true,
        },
        Case {
            key: "l-big",
            kind: "list",
            setup: vec![cmd(&["rpush", "l-big"], &words(3000, "element-"))],
            members: vec![],
            same_bytes: false,
        },
        Case {
            key: "set-ints",
            kind: "set",
            setup: vec![cmd(&["sadd", "set-ints", "5", "-3", "100000", "7"], &[])],
            members: vec!["5".into(), "-3".into(), "100000".into(), "8".into()],
            same_bytes: true,
        },
        Case {
            key: "set-words",
            kind: "set",
            setup: vec![cmd(&["sadd", "set-words"], &words(40, "w"))],
            members: words(41, "w"),
            same_bytes: false,
        },
        Case {
            key: "z-small",
            kind: "zset",
            setup: vec![cmd(&["zadd", "z-small"], &scored(&words(10, "m")))],
            members: vec![],
            same_bytes: true,
        },
        Case {
            key: "z-big",
            kind: "zset",
            setup: vec![cmd(&["zadd", "z-big"], &scored(&words(500, "m")))],
            members: vec![],
            same_bytes: false,
        },
        Case {
            key: "h-small",
            kind: "hash",
            setup: vec![cmd(&["hset", "h-small"], &pairs(&words(10, "f")))],
            members: words(11, "f"),
            same_bytes: true,
        },
        Case {
            key: "h-big",
            kind: "hash",
            setup: vec![cmd(&["hset", "h-big"], &pairs(&words(300, "f")))],
            members: words(301, "f"),
            same_bytes: false,
        },
    ]
}

fn str_args(args: &[String]) -> Vec<&[u8]> {
    args.iter().map(|a| a.as_bytes()).collect()
}

#[test]
fn payloads_cross_both_ways() {
    let mut diff = Differential::start();
    for case in cases() {
        for request in &case.setup {
            diff.check(&str_args(request));
        }
        let (ours, theirs) = diff.both(&[b"dump", case.key.as_bytes()]);
        let (ours, theirs) = (bulk_payload(&ours), bulk_payload(&theirs));
        if case.same_bytes {
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "DUMP {}",
                case.key
            );
        }
        for (payload, copy) in [(&theirs, "from-redis"), (&ours, "from-cachet")] {
            let target = format!("{}-{copy}", case.key);
            diff.check(&[b"restore", target.as_bytes(), b"0", payload]);
            for read in reads(case.kind, &target, &case.members) {
                diff.check(&str_args(&read));
            }
        }
    }
    assert!(diff.compared > 100);
}

#[test]
fn errors_are_redis_errors() {
    let mut diff = Differential::start();
    diff.check_str(&["rpush", "l", "a", "b", "c"]);
    let (_, payload) = diff.both(&[b"dump", b"l"]);
    let payload = bulk_payload(&payload);
    let restore = |extra: &[&[u8]], key: &[u8], ttl: &[u8], payload: &[u8]| -> Vec<Vec<u8>> {
        let mut args = vec![
            b"restore".to_vec(),
            key.to_vec(),
            ttl.to_vec(),
            payload.to_vec(),
        ];
        args.extend(extra.iter().map(|a| a.to_vec()));
        args
    };
    // Damaged bodies under a correct version and checksum reach the value parser.
    let resealed = |mut body: Vec<u8>| -> Vec<u8> {
        let crc = crc::Crc::<u64>::new(&crc::CRC_64_REDIS).checksum(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        body
    };
    let body = &payload[..payload.len() - 10];
    let mut truncated = body[..body.len() - 1].to_vec();
    truncated.extend_from_slice(&10u16.to_le_bytes());
    let truncated_body = resealed(truncated);
    let mut unknown = body.to_vec();
    unknown[0] = 99;
    unknown.extend_from_slice(&10u16.to_le_bytes());
    let unknown_type = resealed(unknown);
    let mut later_version = payload.clone();
    let n = later_version.len();
    later_version[n - 10] = 11;
    let requests = [
        restore(&[], b"l", b"0", &payload),
        restore(&[], b"n", b"abc", &payload),
        restore(&[], b"n", b"-1", &payload),
        restore(&[b"idletime", b"-1"], b"n", b"0", &payload),
        restore(&[b"freq", b"256"], b"n", b"0", &payload),
        restore(&[b"freq", b"-1"], b"n", b"0", &payload),
        restore(&[b"idletime", b"1", b"freq", b"1"], b"n", b"0", &payload),
        restore(&[b"freq", b"1", b"idletime", b"1"], b"n", b"0", &payload),
        restore(&[b"idletime"], b"n", b"0", &payload),
        restore(&[b"bogus"], b"n", b"0", &payload),
        restore(&[], b"n", b"0", b"garbage"),
        restore(&[], b"n", b"0", b""),
        restore(&[], b"n", b"0", &later_version),
        restore(&[], b"n", b"0", &truncated_body),
        restore(&[], b"n", b"0", &unknown_type),
        restore(&[b"replace"], b"l", b"-1", b"garbage"),
        vec![b"exists".to_vec(), b"n".to_vec()],
        vec![b"dump".to_vec(), b"missing".to_vec()],
        vec![b"dump".to_vec()],
        vec![b"restore".to_vec(), b"a".to_vec(), b"0".to_vec()],
    ];
    for request in &requests {
        let args: Vec<&[u8]> = request.iter().map(|a| a.as_slice()).collect();
        diff.check(&args);
    }
}

#[test]
fn ttl_replace_and_access_options() {
    let mut diff = Differential::start();
    diff.check_str(&["set", "src", "value"]);
    diff.check_str(&["set", "old", "before"]);
    let (_, payload) = diff.both(&[b"dump", b"src"]);
    let payload = bulk_payload(&payload);
    let p = payload.as_slice();
    for request in [
        &[&b"restore"[..], b"old", b"0", p, b"replace"][..],
        &[b"get", b"old"],
        &[b"ttl", b"old"],
        // An absolute time in the past: OK, nothing stored, and REPLACE has deleted the old key.
        &[b"restore", b"old", b"1000", p, b"replace", b"absttl"],
        &[b"exists", b"old"],
        &[b"restore", b"gone", b"1", p, b"absttl"],
        &[b"exists", b"gone"],
        &[b"restore", b"later", b"4102444800000", p, b"absttl"],
        &[b"pexpiretime", b"later"],
        &[b"restore", b"idle", b"0", p, b"idletime", b"1000"],
        &[b"restore", b"freq", b"0", p, b"freq", b"100"],
        &[
            b"restore", b"twice", b"0", p, b"replace", b"replace", b"absttl", b"absttl",
        ],
    ] {
        diff.check(request);
    }
    let (ours, _) = diff.both(&[b"object", b"idletime", b"idle"]);
    let idle: i64 = String::from_utf8_lossy(&ours[1..ours.len() - 2])
        .parse()
        .unwrap();
    assert!((1000..1100).contains(&idle), "idletime {idle}");
    let (ours, _) = diff.both(&[b"restore", b"ttl", b"100000", p]);
    assert_eq!(ours, b"+OK\r\n");
    let (ours, _) = diff.both(&[b"pttl", b"ttl"]);
    let pttl: i64 = String::from_utf8_lossy(&ours[1..ours.len() - 2])
        .parse()
        .unwrap();
    assert!(pttl > 0 && pttl <= 100000, "pttl {pttl}");
}

/// cachet's own RESTORE options (what MIGRATE sends between cachet cluster nodes): the key gets
/// the priority, cost and tags; Redis refuses them as a syntax error. RESTORE-ASKING outside
/// cluster mode is RESTORE on both.
#[test]
fn cachet_metadata_options_and_restore_asking() {
    let mut diff = Differential::start();
    diff.check_str(&["set", "src", "value"]);
    let (_, payload) = diff.both(&[b"dump", b"src"]);
    let payload = bulk_payload(&payload);
    let p = payload.as_slice();
    diff.check(&[b"restore-asking", b"asked", b"0", p]);
    diff.check(&[b"get", b"asked"]);
    let (ours, theirs) = diff.both(&[
        b"restore",
        b"meta",
        b"0",
        p,
        b"PRIORITY",
        b"critical",
        b"COST",
        b"9",
        b"TAGS",
        b"2",
        b"a",
        b"b",
        b"replace",
    ]);
    assert_eq!(ours, b"+OK\r\n");
    assert_eq!(theirs, b"-ERR syntax error\r\n");
    let (inspect, _) = diff.both(&[b"cache.inspect", b"meta"]);
    let inspect = String::from_utf8_lossy(&inspect).into_owned();
    for part in [
        "$8\r\ncritical\r\n",
        "$4\r\ncost\r\n:9\r\n",
        "$1\r\na\r\n$1\r\nb\r\n",
    ] {
        assert!(inspect.contains(part), "{part:?} not in {inspect:?}");
    }
    let (tagged, _) = diff.both(&[b"tag.keys", b"b"]);
    assert_eq!(tagged, b"*1\r\n$4\r\nmeta\r\n");
    for (request, error) in [
        (
            &[&b"priority"[..], b"bogus"][..],
            &b"-ERR invalid priority, must be one of low, normal, high, critical\r\n"[..],
        ),
        (
            &[b"cost", b"-1"],
            b"-ERR value is not an integer or out of range\r\n",
        ),
        (&[b"tags", b"0", b"a"], b"-ERR syntax error\r\n"),
        (&[b"tags", b"3", b"a"], b"-ERR syntax error\r\n"),
        (
            &[b"tags", b"x", b"a"],
            b"-ERR value is not an integer or out of range\r\n",
        ),
        (&[b"tags"], b"-ERR syntax error\r\n"),
    ] {
        let mut args: Vec<&[u8]> = vec![b"restore", b"bad", b"0", p];
        args.extend_from_slice(request);
        let (ours, _) = diff.both(&args);
        assert_eq!(
            ours,
            error,
            "{:?}",
            String::from_utf8_lossy(&request.concat())
        );
    }
    diff.check(&[b"exists", b"bad"]);
}

/// Streams with what a payload carries besides entries: several nodes, entries with the master's
/// fields and without, deleted entries, a trimmed front, groups with pending entries spread over
/// consumers (one with none), a group with nothing read, and an empty stream that keeps a group.
fn stream_setup(diff: &mut Differential) {
    diff.check_str(&["config", "set", "stream-node-max-entries", "4"]);
    for i in 1..=30 {
        let id = format!("{i}-{}", i % 3);
        if i % 5 == 0 {
            diff.check_str(&["xadd", "s", &id, "other", &i.to_string()]);
        } else {
            let big = "v".repeat(i * 7);
            diff.check_str(&["xadd", "s", &id, "a", &i.to_string(), "b", &big]);
        }
    }
    diff.check_str(&["xdel", "s", "3-0", "7-1", "8-2", "9-0"]);
    diff.check_str(&["xtrim", "s", "maxlen", "22"]);
    diff.check_str(&["xgroup", "create", "s", "g", "0"]);
    diff.check_str(&[
        "xreadgroup",
        "group",
        "g",
        "alice",
        "count",
        "5",
        "streams",
        "s",
        ">",
    ]);
    diff.check_str(&[
        "xreadgroup",
        "group",
        "g",
        "bob",
        "count",
        "3",
        "streams",
        "s",
        ">",
    ]);
    diff.check_str(&["xack", "s", "g", "12-0", "14-2"]);
    diff.check_str(&["xgroup", "createconsumer", "s", "g", "carol"]);
    diff.check_str(&["xgroup", "create", "s", "later", "$"]);
    diff.check_str(&["xadd", "plain", "1-1", "f", "v"]);
    diff.check_str(&["xadd", "plain", "1-2", "f", "w", "g", "12345678901"]);
    diff.check_str(&["xadd", "e", "5-5", "f", "v"]);
    diff.check_str(&["xdel", "e", "5-5"]);
    diff.check_str(&["xgroup", "create", "e", "g", "0"]);
    diff.check_str(&["config", "set", "stream-node-max-entries", "100"]);
}

fn stream_reads(key: &str) -> Vec<Vec<String>> {
    [
        &["type", key][..],
        &["object", "encoding", key],
        &["xlen", key],
        &["xrange", key, "-", "+"],
        &["xrevrange", key, "+", "-", "count", "3"],
        &["xinfo", "stream", key, "full"],
        &["xinfo", "groups", key],
        &["xpending", key, "g"],
        &["xpending", key, "g", "-", "+", "100"],
        &["xinfo", "consumers", key, "g"],
    ]
    .iter()
    .map(|r| r.iter().map(|s| s.to_string()).collect())
    .collect()
}

#[test]
fn stream_payloads_cross_both_ways() {
    let mut diff = Differential::start();
    stream_setup(&mut diff);
    for key in ["s", "plain", "e"] {
        let (ours, theirs) = diff.both(&[b"dump", key.as_bytes()]);
        let (ours, theirs) = (bulk_payload(&ours), bulk_payload(&theirs));
        if key == "plain" {
            // No group, so no times: the same nodes and counters are the same bytes.
            assert_eq!(ours, theirs, "DUMP {key}");
        }
        for (payload, copy) in [(&theirs, "from-redis"), (&ours, "from-cachet")] {
            let target = format!("{key}-{copy}");
            diff.check(&[b"restore", target.as_bytes(), b"0", payload]);
            for read in stream_reads(&target) {
                diff.check_idle(&read.iter().map(String::as_str).collect::<Vec<_>>());
            }
            // The restored stream keeps working as a stream: appends, reads, acks, deletes.
            for request in [
                &["xadd", &target, "*", "a", "1", "b", "2"][..],
                &[
                    "xreadgroup",
                    "group",
                    "g",
                    "bob",
                    "count",
                    "2",
                    "streams",
                    &target,
                    "0",
                ],
                &["xack", &target, "g", "1-1", "2-2", "4-1"],
                &["xdel", &target, "10-1", "11-2"],
                &["xtrim", &target, "maxlen", "10"],
                &["xlen", &target],
                &["xinfo", "groups", &target],
            ] {
                if request[0] == "xadd" {
                    diff.both(&str_args(
                        &request.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    ));
                } else {
                    diff.check_str(request);
                }
            }
        }
    }
    assert!(diff.compared > 100);
}

/// Every byte of a stream payload damaged in turn, resealed with a right checksum: cachet answers
/// OK or Redis's "Bad data format", never panics, and what it accepts reads back as a stream.
/// (redis-server is not asked: with `sanitize-dump-payload no`, its default, a damaged stream may
/// crash it.)
#[test]
fn damaged_stream_payloads_are_bad_data_never_a_panic() {
    let mut diff = Differential::start();
    stream_setup(&mut diff);
    let (_, theirs) = diff.both(&[b"dump", b"s"]);
    let payload = bulk_payload(&theirs);
    let body = &payload[..payload.len() - 8];
    let mut conn = differential::Conn::connect(diff.cachet.port());
    let (mut accepted, mut refused) = (0, 0);
    for at in 0..body.len() - 2 {
        for change in [0x01u8, 0x80, 0xFF] {
            let mut damaged = body.to_vec();
            damaged[at] ^= change;
            let crc = crc::Crc::<u64>::new(&crc::CRC_64_REDIS).checksum(&damaged);
            damaged.extend_from_slice(&crc.to_le_bytes());
            let reply = conn.call(&[b"restore", b"d", b"0", &damaged, b"replace"]);
            match &reply[..] {
                b"+OK\r\n" => {
                    accepted += 1;
                    for read in stream_reads("d") {
                        let reply = conn.call(&str_args(&read));
                        assert!(!reply.is_empty());
                    }
                    conn.call(&[b"xadd", b"d", b"*", b"f", b"v"]);
                    conn.call(&[b"xtrim", b"d", b"maxlen", b"3"]);
                }
                b"-ERR Bad data format\r\n" => refused += 1,
                other => panic!("byte {at}: {}", String::from_utf8_lossy(other)),
            }
        }
    }
    assert_eq!(conn.call(&[b"ping"]), b"+PONG\r\n");
    assert!(refused > accepted, "refused {refused}, accepted {accepted}");
}
