//! SORT and SORT_RO against a real `redis-server`: edge cases first (options, errors, patterns,
//! STORE, ties, encodings), each reply compared byte for byte; then what STORE announces and
//! dirties; last a differential run of pseudo-random lists, sets and sorted sets sorted with
//! pseudo-random options.

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use std::time::{Duration, Instant};

use common::{call, int, RawClient, TestServer};
use differential::Differential;

/// Keys every edge case starts from (one database, flushed first).
const SETUP: &[&str] = &[
    "RPUSH l 3 1 2 10 -1.5 1e2 0x10 inf",
    "RPUSH words banana Apple cherry apple 10 9",
    "RPUSH bad 1 2 x",
    "RPUSH nan 1 nan",
    "RPUSH big 1 1e400",
    "RPUSH space 1 \" 2\"",
    "RPUSH ties b a c a b",
    "SADD s 5 3 9 1",
    "SADD sw pear fig kiwi",
    "ZADD z 3 c 1 a 2 b 2 bb",
    "SET str x",
    "HSET h a 1",
    "MSET w_3 30 w_1 10 w_2 20 w_10 -5",
    "HSET o_1 f 9 name one",
    "HSET o_2 f 7 name two",
    "HSET o_3 name three",
    "SET n_1 x",
    "SET n_2 y",
];

const EDGES: &[&str] = &[
    // Plain, ASC/DESC, ALPHA, ties broken by the element's bytes.
    "SORT l",
    "SORT l DESC",
    "SORT l ASC DESC ASC",
    "SORT words",
    "SORT words ALPHA",
    "SORT words ALPHA DESC",
    "SORT ties ALPHA",
    "SORT s",
    "SORT sw ALPHA",
    "SORT z",
    "SORT z ALPHA",
    "SORT missing",
    "SORT missing STORE dst",
    "EXISTS dst",
    // Errors, and their order: options first, then the key.
    "SORT bad",
    "SORT nan",
    "SORT space",
    "SORT str",
    "SORT h",
    "SORT str LIMIT 0 x",
    "SORT str foo",
    "SORT l LIMIT 0",
    "SORT l LIMIT a 1",
    "SORT l LIMIT 0 1 foo",
    "SORT l BY",
    "SORT l GET",
    "SORT l STORE",
    "SORT",
    "SORT_RO",
    "SORT_RO l STORE dst",
    "SORT_RO str",
    // LIMIT clamping.
    "SORT l LIMIT 0 0",
    "SORT l LIMIT 2 3",
    "SORT l LIMIT -5 2",
    "SORT l LIMIT 6 100",
    "SORT l LIMIT 100 1",
    "SORT l LIMIT 1 -1",
    "SORT l DESC LIMIT 1 2",
    "SORT l LIMIT 9223372036854775807 9223372036854775807",
    "SORT l LIMIT -9223372036854775808 -9223372036854775808",
    // BY: keys, missing keys weigh 0, nosort keeps the order, hash fields.
    "SORT s BY w_*",
    "SORT s BY w_* DESC",
    "SORT s BY w_* ALPHA",
    "SORT s BY w_*->f",
    "SORT s BY o_*->f",
    "SORT s BY o_*->name ALPHA",
    "SORT s BY o_*->f LIMIT 0 2",
    "SORT l BY nosort",
    "SORT l BY nosort DESC",
    "SORT l BY nosort LIMIT 1 3",
    "SORT l BY nosort DESC LIMIT 1 3",
    "SORT z BY nosort",
    "SORT z BY nosort DESC",
    "SORT z BY nosort LIMIT 1 2",
    "SORT z BY nosort DESC LIMIT 1 2",
    "SORT z BY nosort LIMIT 5 2",
    "SORT words BY nosort ALPHA",
    "SORT words BY n_* ALPHA",
    "SORT words BY str",
    "SORT l BY h",
    "SORT l BY w_* BY nosort",
    "SORT l BY nosort BY w_*",
    // GET: several, #, hash fields, missing keys and fields are nil.
    "SORT s GET #",
    "SORT s GET w_*",
    "SORT s GET # GET w_* GET o_*->name GET o_*->missing",
    "SORT s GET nostar",
    "SORT s GET h",
    "SORT s BY w_* GET # GET o_*->f LIMIT 1 2",
    "SORT s GET str",
    "SORT s GET o_*->",
    // STORE: a list, replacing any type, TTL dropped; empty result deletes.
    "SORT l STORE dst",
    "LRANGE dst 0 -1",
    "TYPE dst",
    "SET dst2 x EX 100",
    "SORT s GET # GET o_*->name STORE dst2",
    "LRANGE dst2 0 -1",
    "TTL dst2",
    "SORT missing STORE dst2",
    "EXISTS dst2",
    "SORT sw BY nosort STORE dst3",
    "LRANGE dst3 0 -1",
    "SORT l LIMIT 0 0 STORE dst3",
    "EXISTS dst3",
    "SORT l STORE str",
    "TYPE str",
    "SORT l STORE l",
    "LRANGE l 0 -1",
    "SORT bad STORE dst4",
    "EXISTS dst4",
    // Sorting a small sorted set converts its encoding, as Redis does.
    "ZADD z2 1 x 2 y",
    "OBJECT ENCODING z2",
    "SORT_RO z2 BY nosort",
    "OBJECT ENCODING z2",
    // The keys of SORT: the key and the last STORE destination.
    "COMMAND GETKEYS SORT a",
    "COMMAND GETKEYS SORT a STORE b",
    "COMMAND GETKEYS SORT a STORE b STORE c",
    "COMMAND GETKEYS SORT a BY store GET store",
    "COMMAND GETKEYS SORT a LIMIT 0 1 STORE b",
    "COMMAND GETKEYS SORT_RO a BY x",
];

/// Splits a request at spaces, keeping a double-quoted word whole.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').expect("closing quote");
            out.push(quoted[..end].to_string());
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

fn check(diff: &mut Differential, args: &[String]) -> Vec<u8> {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    diff.check(&bytes)
}

#[test]
fn edge_cases_answer_as_redis() {
    let mut diff = Differential::start();
    diff.check_str(&["FLUSHALL"]);
    for line in SETUP.iter().chain(EDGES) {
        check(&mut diff, &words(line));
    }
    // The same in RESP3 (nil elements of GET).
    diff.both(&[b"HELLO", b"3"]);
    check(&mut diff, &words("SORT s GET # GET w_* GET o_*->name"));
    check(&mut diff, &words("SORT s BY w_* GET # GET o_*->f"));
}

/// Redis reads errno after `strtod` without clearing it first: once a weight overflowed, every
/// later numeric SORT of text weights in that redis-server fails too (nothing resets errno). So the
/// overflow is compared on a server of its own, last.
#[test]
fn overflowing_weight_is_an_error() {
    let mut diff = Differential::start();
    diff.check_str(&["FLUSHALL"]);
    for line in [
        "RPUSH big 1 1e400",
        "RPUSH tiny 1e-400",
        "RPUSH ok 2 1",
        "SORT ok",
        "SORT tiny",
    ] {
        check(&mut diff, &words(line));
    }
    assert_eq!(
        check(&mut diff, &words("SORT big")),
        b"-ERR One or more scores can't be converted into double\r\n"
    );
}

#[test]
fn binary_patterns_and_elements_as_redis() {
    let mut diff = Differential::start();
    diff.check_str(&["FLUSHALL"]);
    let requests: &[&[&[u8]]] = &[
        &[
            b"RPUSH", b"b", b"a\x00z", b"a\x00b", b"a", b"\xff", b"2\x00",
        ],
        &[b"SORT", b"b", b"ALPHA"],
        &[b"SORT", b"b", b"ALPHA", b"STORE", b"d"],
        &[b"LRANGE", b"d", b"0", b"-1"],
        &[b"SORT", b"b"],
        &[b"SET", b"k\x00a", b"1"],
        &[b"SORT", b"b", b"BY", b"k\x00*"],
        &[b"SORT", b"b", b"BY", b"x*\x00", b"ALPHA"],
        &[b"SORT", b"b", b"GET", b"#\x00x"],
        &[b"HSET", b"ha", b"f\x00g", b"1"],
        &[b"SORT", b"b", b"GET", b"h*->f\x00g", b"ALPHA"],
        &[b"SORT", b"b", b"STORE\x00x", b"d2", b"ALPHA"],
        &[b"SORT", b"b", b"ALPHA\x00", b"LIMIT", b"0", b"2"],
    ];
    for request in requests {
        diff.check(request);
    }
}

/// Events of `__keyevent@0__:*` published while `script` runs on `port`.
fn events(port: u16, script: &[&str]) -> Vec<(String, String)> {
    let mut con = fleet::connect(port).expect("connect");
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("KEA")
        .query(&mut con)
        .unwrap();
    let mut sub_con = fleet::connect(port).expect("connect");
    let mut pubsub = sub_con.as_pubsub();
    pubsub.psubscribe("__keyevent@0__:*").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    for line in script {
        let mut cmd = redis::cmd("");
        let args = words(line);
        let mut cmd_args = args.iter();
        if let Some(name) = cmd_args.next() {
            cmd = redis::cmd(name);
        }
        for arg in cmd_args {
            cmd.arg(arg);
        }
        let _: redis::Value = cmd.query(&mut con).unwrap();
    }
    // A marker ends the stream: both servers publish everything before it in order.
    let _: () = redis::cmd("SET")
        .arg("end")
        .arg("1")
        .query(&mut con)
        .unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(msg) = pubsub.get_message() {
            let payload: String = msg.get_payload().unwrap();
            let channel = msg.get_channel_name().to_string();
            if payload == "end" {
                break;
            }
            seen.push((channel, payload));
        }
    }
    seen
}

#[test]
fn store_announces_as_redis() {
    let script = [
        "RPUSH l 2 1",
        "SORT l STORE d",
        "SORT l STORE d",
        "SORT missing STORE d",
        "SORT missing STORE d",
        "SADD s b a",
        "SORT s BY nosort STORE d",
        "SORT_RO l",
        "SORT l",
    ];
    let redis = fleet::RedisServer::start();
    let cachet = TestServer::start();
    let theirs = events(redis.port, &script);
    let ours = events(cachet.port(), &script);
    assert!(theirs.iter().any(|(_, key)| key == "d"));
    assert_eq!(ours, theirs);
}

fn watched_exec(server: &TestServer, setup: &str, write: &str) -> Vec<u8> {
    let mut watcher = server.raw();
    let mut other = server.raw();
    call(&mut other, "FLUSHALL");
    if !setup.is_empty() {
        call(&mut other, setup);
    }
    call(&mut other, "RPUSH l 2 1");
    assert_eq!(call(&mut watcher, "WATCH d"), b"+OK\r\n");
    call(&mut other, write);
    call(&mut watcher, "MULTI");
    call(&mut watcher, "PING");
    call(&mut watcher, "EXEC")
}

#[test]
fn store_dirties_watch_only_when_it_changes_the_destination() {
    let server = TestServer::start();
    let aborted = b"*-1\r\n".to_vec();
    assert_eq!(watched_exec(&server, "", "SORT l STORE d"), aborted);
    assert_eq!(
        watched_exec(&server, "SET d x", "SORT missing STORE d"),
        aborted
    );
    assert_ne!(watched_exec(&server, "", "SORT missing STORE d"), aborted);
    assert_ne!(watched_exec(&server, "", "SORT l STORE other"), aborted);
    assert_ne!(watched_exec(&server, "", "SORT_RO l"), aborted);
}

#[test]
fn store_is_refused_over_maxmemory_and_sort_ro_is_served() {
    let server = TestServer::start();
    let mut raw: RawClient = server.raw();
    call(&mut raw, "RPUSH l 2 1");
    call(&mut raw, "CONFIG SET maxmemory-policy noeviction");
    call(&mut raw, "CONFIG SET maxmemory 1");
    let reply = call(&mut raw, "SORT l STORE d");
    assert!(
        reply.starts_with(b"-OOM"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    assert_eq!(call(&mut raw, "SORT_RO l"), b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    call(&mut raw, "CONFIG SET maxmemory 0");
    assert_eq!(call(&mut raw, "SORT l STORE d"), int(2));
}

// ---- Differential run against redis-server ----

const VALUES: &[&str] = &[
    "0", "1", "2", "3", "10", "-1", "-7", "1.5", "2.50", "1e3", "-0", "007", "a", "b", "B", "abc",
    "ab", "", " 4", "0x1A", "inf", "-inf", "x1", "4 ",
];

struct Gen {
    rng: fastrand::Rng,
}

impl Gen {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.usize(..items.len())]
    }

    /// A value: mostly numbers (so that numeric sorts succeed often), some text.
    fn value(&mut self, numeric: bool) -> String {
        if numeric || self.rng.u8(..4) > 0 {
            match self.rng.u8(..3) {
                0 => self.rng.i64(-20..20).to_string(),
                1 => format!("{}.{}", self.rng.i32(-99..99), self.rng.u8(..10)),
                _ => self.rng.u32(..5).to_string(),
            }
        } else {
            self.pick(VALUES).to_string()
        }
    }

    fn populate(&mut self) -> Vec<Vec<String>> {
        let mut requests = vec![vec!["FLUSHALL".to_string()]];
        let numeric = self.rng.bool();
        let most = if self.rng.u8(..8) == 0 { 300 } else { 30 };
        let len = self.rng.usize(0..most);
        let kind = self.rng.u8(..3);
        let mut add = match kind {
            0 => vec!["RPUSH".to_string(), "k".into()],
            1 => vec!["SADD".to_string(), "k".into()],
            _ => vec!["ZADD".to_string(), "k".into()],
        };
        for _ in 0..len {
            if kind == 2 {
                add.push(self.rng.i32(-5..5).to_string());
            }
            add.push(self.value(numeric));
        }
        if len > 0 {
            requests.push(add);
        }
        // Weights and hash fields for some of the values.
        for _ in 0..self.rng.usize(0..20) {
            let element = self.value(numeric);
            let numeric = self.rng.u8(..6) > 0;
            let weight = self.value(numeric);
            requests.push(vec!["SET".into(), format!("w_{element}"), weight.clone()]);
            requests.push(vec![
                "HSET".into(),
                format!("h_{element}"),
                "f".into(),
                weight,
                "g".into(),
                self.value(false),
            ]);
        }
        requests
    }

    fn sort(&mut self) -> Vec<String> {
        let read_only = self.rng.u8(..5) == 0;
        let mut args = vec![
            if read_only { "SORT_RO" } else { "SORT" }.to_string(),
            "k".into(),
        ];
        for _ in 0..self.rng.usize(0..5) {
            match self.rng.u8(..9) {
                0 => args.push("ASC".into()),
                1 => args.push("DESC".into()),
                2 => args.push("ALPHA".into()),
                3 => {
                    args.push("LIMIT".into());
                    args.push(self.rng.i64(-3..40).to_string());
                    args.push(self.rng.i64(-2..40).to_string());
                }
                4 | 5 => {
                    args.push("BY".into());
                    args.push(
                        self.pick(&["w_*", "h_*->f", "h_*->g", "nosort", "#", "k"])
                            .into(),
                    );
                }
                6 | 7 => {
                    args.push("GET".into());
                    args.push(self.pick(&["#", "w_*", "h_*->f", "h_*->g", "none"]).into());
                }
                _ if !read_only => {
                    args.push("STORE".into());
                    args.push("dst".into());
                }
                _ => args.push("DESC".into()),
            }
        }
        args
    }
}

/// Whether a SORT replies in the order of a hash table, which Redis seeds at random (two
/// redis-servers differ too): a `hashtable` set left unsorted (a BY without `*`, whichever BY is
/// last), and a set or sorted set (loaded from its dict) sorted ALPHA BY a pattern, where equal
/// weights stay in the loaded order.
fn leaks_hash_order(args: &[String], zset: bool) -> bool {
    let by: Vec<&String> = args
        .windows(2)
        .filter(|w| w[0] == "BY")
        .map(|w| &w[1])
        .collect();
    let unsorted = by.iter().any(|p| !p.contains('*'));
    // An unsorted set is sorted ALPHA for STORE.
    if unsorted {
        return !zset && !args.iter().any(|a| a == "STORE");
    }
    args.iter().any(|a| a == "ALPHA") && !by.is_empty()
}

#[test]
fn differential_against_redis_server() {
    let mut diff = Differential::start();
    let mut gen = Gen {
        rng: fastrand::Rng::with_seed(0x736f_7274),
    };
    let mut sorts = 0;
    for _ in 0..300 {
        for request in gen.populate() {
            check(&mut diff, &request);
        }
        let (encoding, _) = diff.both(&[b"OBJECT", b"ENCODING", b"k"]);
        let (kind, _) = diff.both(&[b"TYPE", b"k"]);
        let zset = kind == b"+zset\r\n";
        let hashed = zset || encoding == b"$9\r\nhashtable\r\n";
        for _ in 0..20 {
            let args = gen.sort();
            let stores = args.iter().any(|a| a == "STORE");
            if hashed && leaks_hash_order(&args, zset) {
                continue;
            }
            check(&mut diff, &args);
            if stores {
                check(
                    &mut diff,
                    &["LRANGE".into(), "dst".into(), "0".into(), "-1".into()],
                );
                check(&mut diff, &["EXISTS".into(), "dst".into()]);
            }
            sorts += 1;
        }
        let (ours, theirs) = diff.both(&[b"OBJECT", b"ENCODING", b"k"]);
        assert_eq!(ours, theirs);
    }
    assert!(sorts > 5000, "{sorts} sorts");
    eprintln!(
        "sort differential: {} replies compared, all equal",
        diff.compared
    );
}
