//! MONITOR, SLOWLOG, LATENCY and the INFO sections and fields operators read, against a real
//! `redis-server` 7.0 where the behaviour does not depend on time: MONITOR's lines (timestamps and
//! client ports masked) from a raw client and from `redis-cli monitor`, what a monitoring client
//! may still run, the slow log's argument truncation, LATENCY's replies, error and command
//! counters, and the names and order of every INFO field. The latency monitor is driven with
//! DEBUG SLEEP on cachet alone (redis-server refuses DEBUG by default).

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{call, int, RawClient, TestServer};
use differential::Differential;

/// A connection in MONITOR mode, read line by line.
struct Monitor {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Monitor {
    fn start(port: u16) -> Monitor {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut monitor = Monitor {
            writer: stream.try_clone().expect("clone"),
            reader: BufReader::new(stream),
        };
        monitor.send(&["MONITOR"]);
        assert_eq!(monitor.line(), "+OK");
        monitor
    }

    fn send(&mut self, args: &[&str]) {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        self.writer.write_all(request.as_bytes()).expect("write");
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read");
        assert!(!line.is_empty(), "connection closed");
        line.trim_end_matches("\r\n").to_string()
    }

    /// Every line up to and including the one that contains `marker`.
    fn until(&mut self, marker: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            let done = line.contains(marker);
            lines.push(line);
            if done {
                return lines;
            }
        }
    }
}

/// A MONITOR line with its timestamp and client port masked: `+T [0 127.0.0.1:P] "GET" "k"`.
fn masked(line: &str) -> String {
    let mut out = line.to_string();
    if let Some(rest) = line.strip_prefix('+') {
        if let Some((time, after)) = rest.split_once(' ') {
            let (seconds, micros) = time.split_once('.').unwrap_or(("", ""));
            if seconds.len() >= 10 && micros.len() == 6 {
                out = format!("+T {after}");
            }
        }
    }
    if let Some(start) = out.find("127.0.0.1:") {
        let digits = out[start + 10..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(out.len(), |end| start + 10 + end);
        out.replace_range(start + 10..digits, "P");
    }
    out
}

#[test]
fn masking_keeps_everything_but_time_and_port() {
    assert_eq!(
        masked("+1700000000.123456 [3 127.0.0.1:5555] \"GET\" \"127.0.0.1:9\""),
        "+T [3 127.0.0.1:P] \"GET\" \"127.0.0.1:9\""
    );
}

/// What a client's commands look like to a monitor, on both servers: quoting, credentials
/// redacted, admin commands hidden, refused commands absent, the database after SELECT.
#[test]
fn monitor_lines_as_redis_writes_them() {
    let mut diff = Differential::start();
    let mut ours = Monitor::start(diff.cachet.port());
    let mut theirs = Monitor::start(diff.redis.port);
    let requests: &[&[&[u8]]] = &[
        &[b"SELECT", b"3"],
        &[b"SET", b"k", b"a b\x00\n\"\\\x07\x08\t\r\xff~"],
        &[b"SET", b"", b""],
        &[b"AUTH", b"secret"],
        &[b"AUTH", b"user", b"secret"],
        &[b"AUTH", b"a", b"b", b"c"],
        &[b"HELLO", b"2", b"AUTH", b"user", b"secret"],
        &[b"HELLO", b"4", b"AUTH", b"user", b"secret"],
        &[
            b"HELLO", b"2", b"SETNAME", b"n", b"AUTH", b"user", b"secret",
        ],
        &[b"CONFIG", b"GET", b"hz"],
        &[b"SLOWLOG", b"LEN"],
        &[b"LATENCY", b"LATEST"],
        &[b"CLIENT", b"LIST"],
        &[b"CLIENT", b"SETNAME", b"x"],
        &[b"MULTI"],
        &[b"GET", b"k"],
        &[b"INCR", b"k"],
        &[b"EXEC"],
        &[b"NOSUCHCOMMAND", b"x"],
        &[b"GET"],
        &[b"INCR", b"k"],
        &[b"SELECT", b"0"],
        // A script runner's line comes first, even when it then fails; its commands follow
        // from `lua`, in the database the script selected, admin ones hidden.
        &[
            b"EVAL",
            b"redis.call('select','2'); redis.call('set','a','1'); redis.call('config','get','hz'); return redis.call('get','a')",
            b"0",
        ],
        &[b"EVAL", b"return 1", b"-1"],
        &[b"EVALSHA", b"abc", b"0"],
        &[b"EVAL_RO", b"return redis.call('exists','a')", b"0"],
        &[b"FCALL", b"nosuch", b"0"],
        &[b"ECHO", b"end"],
    ];
    for request in requests {
        // Replies are compared elsewhere; HELLO's differ (server version, client id).
        diff.both(request);
    }
    let ours = ours.until("\"end\"");
    let theirs = theirs.until("\"end\"");
    let ours: Vec<String> = ours.iter().map(|l| masked(l)).collect();
    let theirs: Vec<String> = theirs.iter().map(|l| masked(l)).collect();
    assert_eq!(ours, theirs);
    assert!(ours.contains(&r#"+T [3 127.0.0.1:P] "AUTH" "(redacted)" "(redacted)""#.to_string()));
    assert!(!ours.iter().any(|l| l.contains("CONFIG")));
    assert!(ours.contains(&r#"+T [2 lua] "set" "a" "1""#.to_string()));
}

/// A monitoring client (a replica to Redis) may not touch the keyspace, sees its own commands
/// after their replies, gets no reply to a second MONITOR, and is back to normal after RESET;
/// MONITOR inside MULTI is refused by EXEC.
#[test]
fn what_a_monitor_may_run() {
    let diff = Differential::start();
    let steps: &[&[&[&str]]] = &[
        &[&["GET", "x"]],
        &[&["SET", "a", "b"]],
        &[&["DBSIZE"]],
        &[&["PING"]],
        &[&["MONITOR"]],
        &[&["SELECT", "1"]],
        &[&["MULTI"], &["GET", "x"], &["EXEC"]],
        &[&["MULTI"], &["PING"], &["EXEC"]],
        &[&["SUBSCRIBE", "ch"]],
        &[&["RESET"]],
        &[&["SET", "a", "b"]],
    ];
    let mut transcripts = Vec::new();
    for port in [diff.cachet.port(), diff.redis.port] {
        let mut monitor = Monitor::start(port);
        let mut transcript = Vec::new();
        let mut monitoring = true;
        for (index, step) in steps.iter().enumerate() {
            for request in step.iter() {
                monitor.send(request);
                monitoring &= request[0] != "RESET";
            }
            // PING with an argument is allowed to a monitor, even subscribed, and shown to it: its
            // line ends the step's output (its reply does, once the client no longer monitors).
            let marker = format!("m{index}");
            monitor.send(&["PING", &marker]);
            let lines = if monitoring {
                monitor.until(&format!("\"{marker}\""))
            } else {
                monitor.until(&marker)
            };
            transcript.extend(lines.iter().map(|l| masked(l)));
        }
        transcripts.push(transcript);
    }
    assert_eq!(transcripts[0], transcripts[1]);
    let refused = "-ERR Replica can't interact with the keyspace".to_string();
    assert!(transcripts[0].contains(&refused));
    assert_eq!(transcripts[0].last().map(String::as_str), Some("m10"));

    let mut raw = diff.cachet.raw();
    assert_eq!(call(&mut raw, "MULTI"), b"+OK\r\n");
    assert_eq!(call(&mut raw, "MONITOR"), b"+QUEUED\r\n");
    assert_eq!(
        call(&mut raw, "EXEC"),
        b"*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n"
    );
    // Not a monitor: its commands run as before.
    assert_eq!(call(&mut raw, "SET a b"), b"+OK\r\n");
}

/// `redis-cli monitor`, the real tool: it prints each line without the `+`.
#[test]
fn redis_cli_monitor() {
    let server = TestServer::start();
    let mut child = Command::new("redis-cli")
        .args(["-p", &server.port().to_string(), "monitor"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-cli must be installed (.ci/run installs redis-tools)");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut raw = server.raw();
    // The tool connects on its own schedule: ECHO until it shows one.
    let mut seen = None;
    for attempt in 0..600 {
        call(&mut raw, &format!("ECHO probe{attempt}")[..]);
        if let Ok(line) = received.recv_timeout(Duration::from_millis(100)) {
            seen = Some(line);
            break;
        }
    }
    let first = seen.expect("redis-cli monitor printed nothing");
    assert!(
        first.starts_with("OK") || first.contains("\"ECHO\""),
        "{first}"
    );
    call(&mut raw, &["SET", "key", "two words"][..]);
    let line = loop {
        let line = received
            .recv_timeout(Duration::from_secs(60))
            .expect("the SET line");
        if line.contains("\"SET\"") {
            break line;
        }
    };
    let (time, rest) = line.split_once(' ').expect("a timestamp first");
    let (seconds, micros) = time.split_once('.').expect("seconds.micros");
    assert!(
        seconds.parse::<u64>().is_ok() && micros.len() == 6,
        "{line}"
    );
    assert!(
        rest.starts_with("[0 127.0.0.1:") && rest.ends_with("] \"SET\" \"key\" \"two words\""),
        "{line}"
    );
    child.kill().expect("kill redis-cli");
    child.wait().expect("wait redis-cli");
    reader.join().expect("reader");
}

/// A RESP2 reply as a tree (what these tests read of SLOWLOG, LATENCY and INFO replies).
#[derive(Debug, Clone, PartialEq)]
enum V {
    Int(i64),
    Str(Vec<u8>),
    Arr(Vec<V>),
    Nil,
}

fn tree(reply: &[u8]) -> V {
    fn at(buf: &[u8], pos: &mut usize) -> V {
        let end = pos.to_owned()
            + buf[*pos..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("CRLF");
        let line = String::from_utf8_lossy(&buf[*pos + 1..end]).into_owned();
        let kind = buf[*pos];
        *pos = end + 2;
        match kind {
            b':' => V::Int(line.parse().expect("integer")),
            b'+' | b'-' => V::Str(line.into_bytes()),
            b'$' => match line.parse::<i64>().expect("length") {
                -1 => V::Nil,
                len => {
                    let data = buf[*pos..*pos + len as usize].to_vec();
                    *pos += len as usize + 2;
                    V::Str(data)
                }
            },
            b'*' => match line.parse::<i64>().expect("count") {
                -1 => V::Nil,
                count => V::Arr((0..count).map(|_| at(buf, pos)).collect()),
            },
            other => panic!("unexpected RESP type {:?}", other as char),
        }
    }
    let mut pos = 0;
    let value = at(reply, &mut pos);
    assert_eq!(pos, reply.len(), "one reply");
    value
}

fn values(value: V) -> Vec<V> {
    match value {
        V::Arr(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

fn text(value: &V) -> String {
    match value {
        V::Str(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => panic!("not a string: {other:?}"),
    }
}

fn number(value: &V) -> i64 {
    match value {
        V::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

/// Sends `request` (space separated) on `raw` and reads the reply as a tree.
fn query(raw: &mut RawClient, request: &str) -> V {
    tree(&call(raw, request))
}

/// Both servers' replies to `request` (space separated), as trees.
fn both(diff: &mut Differential, request: &str) -> (V, V) {
    let args: Vec<&[u8]> = request.split(' ').map(str::as_bytes).collect();
    let (ours, theirs) = diff.both(&args);
    (tree(&ours), tree(&theirs))
}

/// The first word of every slow log entry, oldest first, of a script of blocking commands on
/// the server at `port` (a BLPOP served by a push, then one that times out), and the BLPOPs
/// logged while the first waits. The polls of INFO are left out: how many depends on timing.
fn slowlog_of_blocking(port: u16) -> (Vec<String>, usize) {
    let mut admin = RawClient::connect(("127.0.0.1", port));
    call(&mut admin, "DEL list");
    call(&mut admin, "CONFIG SET slowlog-log-slower-than 0");
    call(&mut admin, "SLOWLOG RESET");
    let mut waiter = RawClient::connect(("127.0.0.1", port));
    waiter.send(b"*3\r\n$5\r\nBLPOP\r\n$4\r\nlist\r\n$1\r\n0\r\n");
    wait_blocked(&mut admin, 1);
    let blpops = |logged: &[String]| logged.iter().filter(|c| *c == "blpop").count();
    let while_blocked = blpops(&logged_commands(&mut admin));
    call(&mut admin, "RPUSH list a");
    assert_eq!(waiter.read_reply(), b"*2\r\n$4\r\nlist\r\n$1\r\na\r\n");
    assert_eq!(call(&mut waiter, "BLPOP list 0.01"), b"*-1\r\n");
    let mut logged = logged_commands(&mut admin);
    logged.retain(|command| command != "info");
    call(&mut admin, "CONFIG SET slowlog-log-slower-than 10000");
    (logged, while_blocked)
}

fn wait_blocked(admin: &mut RawClient, count: usize) {
    fleet::wait_until("clients blocked", || {
        let info = String::from_utf8_lossy(&call(admin, "INFO clients")).into_owned();
        info.lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .is_some_and(|n| n.trim() == count.to_string())
    });
}

/// The slow log's commands, oldest first, lower-cased.
fn logged_commands(raw: &mut RawClient) -> Vec<String> {
    let mut logged: Vec<String> = values(query(raw, "SLOWLOG GET -1"))
        .into_iter()
        .map(|entry| text(&values(values(entry)[3].clone())[0]).to_ascii_lowercase())
        .collect();
    logged.reverse();
    logged
}

/// A blocked command goes to the slow log when data serves it, not when it blocks nor when it
/// times out (Redis's `updateStatsOnUnblock`), in the same order as Redis. Nor when CLIENT
/// UNBLOCK ends it: there redis-server 7.0.15 logs an entry with no arguments at all (its argv
/// already freed), which cachet does not copy.
#[test]
fn slowlog_of_blocked_commands_as_redis() {
    let diff = Differential::start();
    let theirs = slowlog_of_blocking(diff.redis.port);
    assert_eq!(theirs.1, 0, "not logged while it waits");
    assert_eq!(theirs.0.iter().filter(|c| *c == "blpop").count(), 1);
    assert_eq!(slowlog_of_blocking(diff.cachet.port()), theirs);

    let mut admin = diff.cachet.raw();
    let mut waiter = diff.cachet.raw();
    let id = String::from_utf8(call(&mut waiter, "CLIENT ID")).unwrap();
    let id = id.trim_start_matches(':').trim_end().to_string();
    call(&mut admin, "CONFIG SET slowlog-log-slower-than 0");
    call(&mut admin, "SLOWLOG RESET");
    waiter.send(b"*3\r\n$5\r\nBLPOP\r\n$5\r\nother\r\n$1\r\n0\r\n");
    wait_blocked(&mut admin, 1);
    assert_eq!(call(&mut admin, &["CLIENT", "UNBLOCK", &id][..]), int(1));
    assert_eq!(waiter.read_reply(), b"*-1\r\n");
    let logged = logged_commands(&mut admin);
    assert!(logged.contains(&"client".to_string()), "{logged:?}");
    assert!(!logged.contains(&"blpop".to_string()), "{logged:?}");
}

/// SLOWLOG's replies to mistakes, and its entries: at most 32 arguments of at most 128 bytes,
/// cut as Redis cuts them, the client's name, the newest first, `slowlog-max-len` kept.
#[test]
fn slowlog_as_redis() {
    let mut diff = Differential::start();
    for request in [
        "SLOWLOG HELP",
        "SLOWLOG",
        "SLOWLOG NOPE",
        "SLOWLOG GET abc",
        "SLOWLOG GET -2",
        "SLOWLOG GET 99999999999999999999",
        "SLOWLOG GET 1 2",
        "SLOWLOG LEN x",
        "SLOWLOG RESET x",
        "CONFIG SET slowlog-log-slower-than -2",
        "CONFIG SET slowlog-max-len -1",
        "CONFIG SET slowlog-log-slower-than 0",
        "SLOWLOG RESET",
        "SLOWLOG GET 0",
        "CLIENT SETNAME logger",
    ] {
        diff.check_str(&request.split(' ').collect::<Vec<_>>());
    }
    let long = "x".repeat(200);
    let mut rpush: Vec<String> = vec!["RPUSH".into(), "list".into()];
    rpush.extend((0..40).map(|i| format!("e{i}")));
    rpush[5] = long;
    diff.check(&rpush.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
    let mut mset: Vec<String> = vec!["MSET".into()];
    mset.extend((1..=32).map(|i| format!("m{i}")));
    diff.check(&mset.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
    diff.check_str(&["SLOWLOG", "LEN"]);

    let (ours, theirs) = both(&mut diff, "SLOWLOG GET -1");
    let ours: Vec<Vec<V>> = values(ours).into_iter().map(values).collect();
    let theirs: Vec<Vec<V>> = values(theirs).into_iter().map(values).collect();
    assert_eq!(ours.len(), theirs.len());
    for (ours, theirs) in ours.iter().zip(&theirs) {
        assert_eq!(ours.len(), 6);
        assert_eq!(ours[3], theirs[3], "arguments");
        assert_eq!(ours[5], theirs[5], "client name");
        assert!(text(&ours[4]).starts_with("127.0.0.1:"));
    }
    // Numbered one by one, newest first (the numbers themselves depend on what was slow before
    // the threshold went to 0).
    for pair in ours.windows(2) {
        assert_eq!(number(&pair[0][0]), number(&pair[1][0]) + 1);
    }
    // Spot checks of what both agreed on: SLOWLOG LEN, MSET, RPUSH, newest first.
    let mset = values(ours[1][3].clone());
    assert_eq!(mset.len(), 32);
    assert_eq!(text(&mset[30]), "m30");
    assert_eq!(text(&mset[31]), "... (2 more arguments)");
    let rpush = values(ours[2][3].clone());
    assert_eq!(text(&rpush[31]), "... (11 more arguments)");
    assert_eq!(
        text(&rpush[5]),
        format!("{}... (72 more bytes)", "x".repeat(128))
    );
    assert_eq!(text(&ours[2][5]), "logger");

    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "CONFIG SET slowlog-log-slower-than 0");
    call(&mut raw, "CONFIG SET slowlog-max-len 2");
    for key in ["a", "b", "c"] {
        call(&mut raw, &["SET", key, "v"][..]);
    }
    assert_eq!(call(&mut raw, "SLOWLOG LEN"), int(2));
    // The newest is SLOWLOG LEN itself: a command is logged once it ran.
    let newest = values(query(&mut raw, "SLOWLOG GET 1"));
    assert_eq!(newest.len(), 1);
    assert_eq!(
        text(&values(values(newest[0].clone())[3].clone())[0]),
        "SLOWLOG"
    );
    // A negative threshold logs nothing.
    call(&mut raw, "CONFIG SET slowlog-log-slower-than -1");
    call(&mut raw, "SLOWLOG RESET");
    call(&mut raw, "SET d v");
    assert_eq!(call(&mut raw, "SLOWLOG LEN"), int(0));
    // EXEC is never logged, the commands it ran are.
    call(&mut raw, "CONFIG SET slowlog-log-slower-than 0");
    call(&mut raw, "SLOWLOG RESET");
    call(&mut raw, "MULTI");
    call(&mut raw, "SET e v");
    call(&mut raw, "EXEC");
    let logged: Vec<String> = values(query(&mut raw, "SLOWLOG GET"))
        .into_iter()
        .map(|entry| text(&values(values(entry)[3].clone())[0]))
        .collect();
    assert_eq!(logged, ["SET", "MULTI"]);
}

/// LATENCY's replies that do not depend on time, byte for byte.
#[test]
fn latency_replies_as_redis() {
    let mut diff = Differential::start();
    for request in [
        "LATENCY HELP",
        "LATENCY",
        "LATENCY NOPE",
        "LATENCY LATEST",
        "LATENCY LATEST x",
        "LATENCY HISTORY command",
        "LATENCY HISTORY",
        "LATENCY GRAPH command",
        "LATENCY GRAPH",
        "LATENCY RESET",
        "LATENCY RESET command fast-command",
        "LATENCY DOCTOR",
        "LATENCY DOCTOR x",
        "LATENCY HISTOGRAM nosuch",
        "CONFIG SET latency-monitor-threshold -1",
        "CONFIG SET latency-tracking maybe",
        "CONFIG SET latency-tracking-info-percentiles 101",
        "CONFIG SET latency-tracking-info-percentiles abc",
        "CONFIG SET latency-tracking-info-percentiles 0.5 99.99",
        "CONFIG GET latency-tracking-info-percentiles",
        "CONFIG SET latency-tracking-info-percentiles 50 99 99.9",
        "CONFIG RESETSTAT",
        "SET k v",
        "SET k w",
        "CONFIG GET hz",
    ] {
        diff.check_str(&request.split(' ').collect::<Vec<_>>());
    }
    // The buckets depend on how long each command took; the shape and the counts do not.
    let summary = |reply: V| {
        let items = values(reply);
        let mut summary = Vec::new();
        for pair in items.chunks(2) {
            let fields = values(pair[1].clone());
            assert_eq!(text(&fields[0]), "calls");
            assert_eq!(text(&fields[2]), "histogram_usec");
            let buckets = values(fields[3].clone());
            let last = buckets.last().map(number).unwrap_or(0);
            summary.push((text(&pair[0]), number(&fields[1]), last));
        }
        summary
    };
    let (ours, theirs) = both(&mut diff, "LATENCY HISTOGRAM set nosuch config|get");
    let ours = summary(ours);
    assert_eq!(ours, summary(theirs));
    assert_eq!(
        ours,
        [("set".to_string(), 2, 2), ("config|get".to_string(), 1, 1)]
    );
}

/// The latency monitor: nothing below the threshold, a `command` spike from DEBUG SLEEP above
/// it, read back by every subcommand, then reset.
#[test]
fn latency_monitor_samples_over_threshold() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "DEBUG SLEEP 0.02");
    assert_eq!(call(&mut raw, "LATENCY LATEST"), b"*0\r\n");
    call(&mut raw, "CONFIG SET latency-monitor-threshold 10");
    call(&mut raw, "DEBUG SLEEP 0.02");
    let latest = values(query(&mut raw, "LATENCY LATEST"));
    assert_eq!(latest.len(), 1);
    let event = values(latest[0].clone());
    assert_eq!(text(&event[0]), "command");
    let high = number(&event[2]);
    assert!(high >= 20, "{event:?}");
    assert_eq!(high, number(&event[3]));
    let history = values(query(&mut raw, "LATENCY HISTORY command"));
    assert_eq!(history.len(), 1);
    assert_eq!(
        values(history[0].clone()),
        [event[1].clone(), event[2].clone()]
    );
    let graph = text(&query(&mut raw, "LATENCY GRAPH command"));
    let title = format!("command - high {high} ms, low {high} ms (all time high {high} ms)\n");
    assert!(
        graph.starts_with(&format!("{title}{}\n", "-".repeat(80))),
        "{graph}"
    );
    let doctor = text(&query(&mut raw, "LATENCY DOCTOR"));
    let spike =
        format!("1. command: 1 latency spikes (average {high}ms, mean deviation 0ms, period ");
    assert!(doctor.contains(&spike), "{doctor}");
    assert!(doctor.contains("- Check your Slow Log"), "{doctor}");
    // Event names are exact for HISTORY, any case for RESET.
    assert_eq!(call(&mut raw, "LATENCY HISTORY COMMAND"), b"*0\r\n");
    assert_eq!(call(&mut raw, "LATENCY RESET COMMAND nosuch"), int(1));
    assert_eq!(call(&mut raw, "LATENCY LATEST"), b"*0\r\n");
    // A threshold of 0 turns the monitor off.
    call(&mut raw, "CONFIG SET latency-monitor-threshold 0");
    call(&mut raw, "DEBUG SLEEP 0.02");
    assert_eq!(call(&mut raw, "LATENCY LATEST"), b"*0\r\n");
}

/// An INFO reply's text.
fn info_text(reply: V) -> String {
    text(&reply)
}

fn field<'a>(info: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}:");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
}

/// Error replies by code, and the calls, rejected and failed calls of each command, as Redis
/// counts them; CONFIG RESETSTAT starts them again.
#[test]
fn errorstats_and_commandstats_as_redis() {
    let mut diff = Differential::start();
    for request in [
        "CONFIG RESETSTAT",
        "SET s text",
        "INCR s",
        "LPUSH s x",
        "GET",
        "NOSUCH",
        "GET s",
        "CONFIG GET nosuch-directive",
        "CONFIG NOPE",
        "MULTI",
        "INCR s",
        "EXEC",
        "INFO errorstats",
    ] {
        diff.check_str(&request.split(' ').collect::<Vec<_>>());
    }
    let counters = |info: String| {
        let mut lines: Vec<String> = info
            .lines()
            .filter(|l| l.starts_with("cmdstat_"))
            .map(|line| {
                // usec and usec_per_call depend on time.
                let (name, fields) = line.split_once(':').expect("name:fields");
                let kept: Vec<&str> = fields
                    .split(',')
                    .filter(|f| !f.starts_with("usec"))
                    .collect();
                format!("{name}:{}", kept.join(","))
            })
            .collect();
        lines.sort();
        let errors = field(&info, "total_error_replies").to_string();
        let processed = field(&info, "total_commands_processed").to_string();
        (lines, errors, processed)
    };
    let (ours, theirs) = both(&mut diff, "INFO all");
    let ours = counters(info_text(ours));
    assert_eq!(ours, counters(info_text(theirs)));
    let has = |line: &str| ours.0.iter().any(|l| l == line);
    assert!(
        has("cmdstat_incr:calls=2,rejected_calls=0,failed_calls=2"),
        "{ours:?}"
    );
    assert!(
        has("cmdstat_get:calls=1,rejected_calls=1,failed_calls=0"),
        "{ours:?}"
    );
    assert_eq!(ours.1, "6");

    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, "INCR nokey x");
    call(&mut raw, "SET k v");
    call(&mut raw, "CONFIG SET latency-tracking-info-percentiles 50");
    let info = info_text(query(&mut raw, "INFO everything"));
    assert_eq!(field(&info, "errorstat_ERR"), "count=1");
    let set = field(&info, "latency_percentiles_usec_set");
    assert!(set.starts_with("p50=") && !set.contains(','), "{set}");
    call(&mut raw, "CONFIG SET latency-tracking no");
    call(&mut raw, "CONFIG RESETSTAT");
    call(&mut raw, "GET k");
    let info = info_text(query(&mut raw, "INFO everything"));
    assert!(!info.contains("errorstat_"), "{info}");
    assert!(!info.contains("cmdstat_set"), "{info}");
    // Counted, but not timed into a histogram while latency-tracking is off.
    assert!(info.contains("cmdstat_get:calls=1,"), "{info}");
    assert!(!info.contains("latency_percentiles_usec_"), "{info}");
    assert_eq!(field(&info, "total_error_replies"), "0");
}

/// Field names of an INFO reply, by section.
fn info_sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("# ") {
            sections.push((title.to_string(), Vec::new()));
        } else if let Some((name, _)) = line.split_once(':') {
            sections
                .last_mut()
                .expect("a field before any section")
                .1
                .push(name.to_string());
        }
    }
    sections
}

/// Every field Redis 7.0 prints in `INFO everything` is in cachet's reply, in the same section
/// and in Redis's order (cachet's own fields may sit between them), the sections in Redis's order
/// (cachet's own sections after them); and the default sections are Redis's.
#[test]
fn info_has_every_redis_field_in_order() {
    let mut diff = Differential::start();
    // The same history on both, so that the per-command sections name the same commands.
    for request in [
        "CONFIG RESETSTAT",
        "SET k v",
        "GET k",
        "GET",
        "INCR k",
        "CLIENT SETNAME n",
        "CONFIG GET hz",
    ] {
        diff.check_str(&request.split(' ').collect::<Vec<_>>());
    }
    for section in ["everything", "default"] {
        let (ours, theirs) = both(&mut diff, &format!("INFO {section}"));
        let ours = info_sections(&info_text(ours));
        let theirs = info_sections(&info_text(theirs));
        let our_titles: Vec<&String> = ours.iter().map(|(t, _)| t).collect();
        let their_titles: Vec<&String> = theirs.iter().map(|(t, _)| t).collect();
        assert!(our_titles.len() >= their_titles.len(), "{our_titles:?}");
        assert_eq!(
            &our_titles[..their_titles.len()],
            &their_titles[..],
            "sections of INFO {section}"
        );
        for (title, fields) in &theirs {
            let (_, our_fields) = ours.iter().find(|(t, _)| t == title).expect("section");
            // Redis lists commands in its hash table's order: those by presence only.
            let by_presence = matches!(title.as_str(), "Commandstats" | "Latencystats");
            let mut at = 0;
            for field in fields {
                let Some(found) = our_fields.iter().position(|f| f == field) else {
                    panic!("INFO {section}: {title} has no {field}: {our_fields:?}");
                };
                if !by_presence {
                    assert!(
                        found >= at,
                        "INFO {section}: {field} out of order in {title}"
                    );
                    at = found;
                }
            }
        }
    }
}
