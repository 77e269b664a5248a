//! Table-driven safety: every command and subcommand of `cachet::commands::all_commands()` is called
//! with argument lists built from its arity — the minimum and up to three more for a variadic
//! command; the exact count and one fewer and one more for a fixed one — each slot filled from
//! hostile values (empty, 1 MiB, non-numeric, negative, `-0`, beyond 64 bits, `1e400`, `nan`, `inf`,
//! binary with NUL and CRLF, option words, keys of every type and encoding). Every reply must be one
//! complete, well-formed RESP reply with Redis-style errors (`ERR ...`, `WRONGTYPE ...`), and the
//! connection must then answer PING; it may close only where Redis closes it (QUIT, CLIENT KILL of
//! itself, SHUTDOWN). The server runs in this process: a panic kills the connection's task, and the
//! failure names the command, its arguments and the panic message.
//!
//! The combinations are a deterministic pseudo-random subset (seeded by the command's name, so a
//! failure reproduces), `COMBOS_PER_COMMAND` per command (`SAFETY_COMBOS=n` for a longer hunt,
//! `SAFETY_SHOW=zadd` prints one command's arguments and replies): half built from the arity
//! alone, half mutations of valid invocations (`command_safety/seeds.txt`) so that hostile values
//! also reach the options parsed after valid ones, plus every seed cut after each argument and
//! followed by each option word (an option as the last argument is where `args[i + 1]` overruns); the first half of each command's lists in RESP2,
//! the second in RESP3 with client tracking on (invalidation pushes between the replies). What
//! cannot run on the shared connection runs elsewhere: SUBSCRIBE-like commands, QUIT, CLIENT KILL
//! and CLIENT REPLY on fresh connections, SHUTDOWN on disposable servers, CONFIG SET of every
//! directive on a server of its own (each value restored), blocking commands with short or invalid
//! timeouts only, DEBUG SLEEP with pauses that round to nothing.

mod common;
#[path = "command_safety/generate.rs"]
mod generate;
#[path = "common/resp.rs"]
mod resp;

use std::collections::HashSet;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use cachet::commands::all_commands;
use common::{bulk, TestServer};
use generate::{combos, hostile, targets, Mode, Target, ENCODINGS, SLEEPS};
use resp::{is_error, show, Conn, Read1};

/// A reply slower than this counts as none (generous: the machine is shared).
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// After this many failures of one command, its other combinations are skipped.
const MAX_FAILURES_PER_COMMAND: usize = 3;
const SENTINEL: &[u8] = b"safety-sentinel";

/// Panic messages of the server's tasks (it runs in this process), taken by the combination that
/// was running.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(info.to_string());
            default(info);
        }));
    });
}

fn take_panics() -> Vec<String> {
    std::mem::take(&mut *PANICS.lock().unwrap_or_else(|p| p.into_inner()))
}

/// The sentinel PING's reply, plain or as a subscribed RESP2 client gets it.
fn is_sentinel(reply: &[u8]) -> bool {
    let plain = bulk(SENTINEL);
    let mut subscribed = b"*2\r\n$4\r\npong\r\n".to_vec();
    subscribed.extend_from_slice(&plain);
    reply == plain || reply == subscribed
}

fn request(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

/// What went wrong with one combination.
enum Problem {
    Malformed(String, Vec<u8>),
    /// Closed before the sentinel: the replies before it.
    Closed(Vec<Vec<u8>>),
    NoReply(Vec<Vec<u8>>),
    Replies(String),
}

/// Sends `requests` and the sentinel PING in one write; returns the replies before the sentinel
/// (RESP3 pushes left out), checking their count.
fn exercise(
    conn: &mut Conn,
    requests: &[Vec<Vec<u8>>],
    expect: Mode,
) -> Result<Vec<Vec<u8>>, Problem> {
    let mut all = requests.to_vec();
    if expect == Mode::ClientReply {
        all.push(request(&["CLIENT", "REPLY", "ON"]));
    }
    all.push(vec![b"PING".to_vec(), SENTINEL.to_vec()]);
    if conn.send(&all).is_err() {
        return Err(Problem::Closed(Vec::new()));
    }
    let mut replies = Vec::new();
    let mut pushes = 0;
    loop {
        match conn.read() {
            Read1::Reply(reply) if is_sentinel(&reply) => break,
            Read1::Reply(reply) if reply.first() == Some(&b'>') => pushes += 1,
            Read1::Reply(reply) => replies.push(reply),
            Read1::Malformed(problem, bytes) => return Err(Problem::Malformed(problem, bytes)),
            Read1::Closed(_) => return Err(Problem::Closed(replies)),
            Read1::Timeout(_) => return Err(Problem::NoReply(replies)),
        }
    }
    let count_ok = match expect {
        Mode::Main | Mode::Multi | Mode::Wrapped | Mode::MayClose | Mode::Monitor => {
            replies.len() == requests.len()
        }
        // In RESP3 a subscription is confirmed by a push.
        Mode::Subscribe => replies.len() + pushes >= requests.len(),
        Mode::ClientReply => true,
    };
    if !count_ok {
        let shown: Vec<String> = replies.iter().map(|r| show(r)).collect();
        return Err(Problem::Replies(format!(
            "{} replies: {shown:?}",
            replies.len()
        )));
    }
    Ok(replies)
}

fn describe(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| format!("'{}'", show(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn problem_text(problem: &Problem) -> String {
    let list = |replies: &[Vec<u8>]| replies.iter().map(|r| show(r)).collect::<Vec<_>>();
    match problem {
        Problem::Malformed(what, bytes) => format!("malformed reply ({what}): {}", show(bytes)),
        Problem::Closed(replies) => format!("connection closed after {:?}", list(replies)),
        Problem::NoReply(replies) => format!(
            "no reply within {REPLY_TIMEOUT:?} after {:?}",
            list(replies)
        ),
        Problem::Replies(text) => format!("wrong number of replies: {text}"),
    }
}

/// The keys every command works on, one per type and encoding, and a clean connection state.
/// In RESP3 the connection also tracks the keys it reads, so that invalidation pushes (quoting
/// hostile keys) come between the replies.
fn prepare_requests(resp3: bool) -> Vec<Vec<Vec<u8>>> {
    let long = "v".repeat(100);
    let chunk = "l".repeat(9000);
    let mut out: Vec<Vec<Vec<u8>>> = vec![request(&["RESET"])];
    if resp3 {
        out.push(request(&["HELLO", "3"]));
        out.push(request(&["CLIENT", "TRACKING", "ON"]));
    }
    out.extend([
        request(&["FLUSHALL"]),
        request(&["SET", "safety:str", "hello"]),
        request(&["SET", "safety:int", "12345"]),
        request(&["SET", "safety:raw", &long]),
        request(&["HSET", "safety:hash", "f1", "v1", "f2", "2"]),
        request(&["HSET", "safety:hashbig", "f1", &long, "f2", "2"]),
        request(&["RPUSH", "safety:list", "a", "b", "1", "2"]),
        request(&["RPUSH", "safety:listbig", &chunk, "b", "1"]),
        request(&["SADD", "safety:intset", "1", "2", "3"]),
        request(&["SADD", "safety:set", "a", "b", "1"]),
        request(&["ZADD", "safety:zset", "1", "a", "2", "b", "3", "c"]),
        request(&["ZADD", "safety:zsetbig", "1", &long, "2", "b"]),
        request(&[
            "CACHE.SET",
            "safety:tagged",
            "v",
            "PRIORITY",
            "high",
            "TAGS",
            "2",
            "t1",
            "t2",
        ]),
        request(&["SET", "safety:volatile", "v", "EX", "1000"]),
        request(&["CACHE.DEPEND", "safety:str", "safety:tagged"]),
    ]);
    out
}

/// One server and the shared connection, with what went wrong so far.
struct Run {
    server: TestServer,
    main: Conn,
    failures: Vec<String>,
    combos: usize,
    /// Whether the keys must be prepared again before the next command (something wrote).
    dirty: bool,
    /// The protocol the shared connection speaks after preparing.
    resp3: bool,
}

impl Run {
    fn connect(&self) -> Conn {
        Conn::connect(self.server.addr, REPLY_TIMEOUT).expect("connect to the server under test")
    }

    /// Runs one combination; returns its replies, or records the failure (and reconnects).
    fn one(&mut self, target: &str, args: &[Vec<u8>], mode: Mode) -> Option<Vec<Vec<u8>>> {
        self.combos += 1;
        let mut requests = Vec::new();
        let on_main = matches!(mode, Mode::Main | Mode::Multi | Mode::Wrapped);
        let prepared = if self.dirty && on_main {
            requests.extend(prepare_requests(self.resp3));
            self.dirty = false;
            requests.len()
        } else {
            0
        };
        match mode {
            Mode::Multi => {
                requests.push(args.to_vec());
                requests.push(request(&["DISCARD"]));
            }
            Mode::Wrapped => {
                requests.push(request(&["MULTI"]));
                requests.push(args.to_vec());
                requests.push(request(&["EXEC"]));
            }
            _ => requests.push(args.to_vec()),
        }
        take_panics();
        let result = match mode {
            Mode::Main | Mode::Multi | Mode::Wrapped => exercise(&mut self.main, &requests, mode),
            _ => {
                let mut fresh = self.connect();
                if self.resp3 && mode == Mode::Subscribe {
                    requests.insert(0, request(&["HELLO", "3"]));
                }
                let result = exercise(&mut fresh, &requests, mode);
                match (mode, result) {
                    // The reply came, then the connection closed, as Redis closes it.
                    (Mode::MayClose, Err(Problem::Closed(replies))) if replies.len() == 1 => {
                        Ok(replies)
                    }
                    (_, result) => result,
                }
            }
        };
        if std::env::var("SAFETY_SHOW").is_ok_and(|show| show == target) {
            let shown = match &result {
                Ok(replies) => replies[prepared.min(replies.len())..]
                    .iter()
                    .map(|r| show(r))
                    .collect::<Vec<_>>()
                    .join(" | "),
                Err(problem) => problem_text(problem),
            };
            eprintln!("{} -> {shown}", describe(args));
        }
        match result {
            Ok(mut replies) => {
                let own = replies.split_off(prepared.min(replies.len()));
                if let Some(bad) = replies.iter().find(|r| is_error(r)) {
                    self.failures.push(format!(
                        "preparing the keys before {target} failed: {}",
                        show(bad)
                    ));
                }
                Some(own)
            }
            Err(mut problem) => {
                if let Problem::Closed(replies) | Problem::NoReply(replies) = &mut problem {
                    replies.drain(..prepared.min(replies.len()));
                }
                let panics = take_panics();
                self.failures.push(format!(
                    "{target}{}: {}: {}{}",
                    if mode == Mode::Wrapped {
                        " in MULTI"
                    } else {
                        ""
                    },
                    describe(args),
                    problem_text(&problem),
                    if panics.is_empty() {
                        String::new()
                    } else {
                        format!("; server panicked: {panics:?}")
                    },
                ));
                if on_main {
                    self.main = self.connect();
                }
                self.dirty = true;
                None
            }
        }
    }

    /// After CLIENT KILL: the shared connection may have been one of those killed.
    fn revive_main(&mut self) {
        let ping = self.main.call(&[b"PING"]);
        if !matches!(ping, Read1::Reply(ref r) if r == b"+PONG\r\n") {
            self.main = self.connect();
            self.dirty = true;
        }
    }

    fn target(&mut self, target: &Target, hostile: &[Vec<u8>], directives: &HashSet<String>) {
        let name = target.name();
        let mode = if target.container {
            Mode::Main
        } else {
            target.mode()
        };
        let before = self.failures.len();
        let writes = !target
            .spec
            .has_flag(cachet::commands::CommandFlags::READONLY);
        let all = combos(target, hostile, directives);
        for (i, args) in all.iter().enumerate() {
            // The second half in RESP3.
            let resp3 = i >= all.len() / 2;
            if resp3 != self.resp3 {
                self.resp3 = resp3;
                self.dirty = true;
            }
            if self.failures.len() - before >= MAX_FAILURES_PER_COMMAND {
                self.failures.push(format!(
                    "{name}: {} more combinations skipped",
                    all.len() - i
                ));
                break;
            }
            self.one(&name, args, mode);
            self.dirty |= writes;
            if name == "client|kill" {
                self.revive_main();
            }
        }
        // Once inside a transaction: queued, then run by EXEC.
        if mode == Mode::Main && !target.container {
            if let Some(args) = all.get(all.len() / 2) {
                self.one(&name, args, Mode::Wrapped);
                self.dirty = true;
            }
        }
    }
}

fn start_run() -> Run {
    record_panics();
    let server = TestServer::start();
    let main = Conn::connect(server.addr, REPLY_TIMEOUT).expect("connect");
    Run {
        server,
        main,
        failures: Vec::new(),
        combos: 0,
        dirty: true,
        resp3: false,
    }
}

fn directive_names(conn: &mut Conn) -> Vec<(String, Vec<u8>)> {
    let Read1::Reply(reply) = conn.call(&[b"CONFIG", b"GET", b"*"]) else {
        panic!("CONFIG GET * failed");
    };
    let items = bulk_items(&reply);
    items
        .chunks(2)
        .map(|pair| {
            (
                String::from_utf8_lossy(&pair[0]).into_owned(),
                pair[1].clone(),
            )
        })
        .collect()
}

/// The bulk strings of a flat RESP2 array reply.
fn bulk_items(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut items = Vec::new();
    let mut pos = reply
        .iter()
        .position(|&b| b == b'\n')
        .map_or(reply.len(), |p| p + 1);
    while pos < reply.len() {
        let end = pos
            + reply[pos..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("header");
        let len: usize = std::str::from_utf8(&reply[pos + 1..end])
            .unwrap()
            .parse()
            .unwrap();
        items.push(reply[end + 2..end + 2 + len].to_vec());
        pos = end + 2 + len + 2;
    }
    items
}

fn finish(what: &str, run_failures: Vec<String>, combos: usize, started: Instant) {
    eprintln!("{what}: {combos} combinations in {:.1?}", started.elapsed());
    if !run_failures.is_empty() {
        panic!(
            "{} failures:\n{}",
            run_failures.len(),
            run_failures.join("\n")
        );
    }
}

#[test]
fn every_command_answers_hostile_arguments() {
    let started = Instant::now();
    let mut run = start_run();
    let directives: HashSet<String> = directive_names(&mut run.main)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let hostile = hostile();

    // The prepared keys have every encoding.
    run.one("prepare", &request(&["PING"]), Mode::Main);
    for (key, encoding) in ENCODINGS {
        let reply = run.main.call(&[b"OBJECT", b"ENCODING", key.as_bytes()]);
        assert!(
            matches!(&reply, Read1::Reply(r) if r == &bulk(encoding.as_bytes())),
            "{key} should be {encoding}: {reply:?}"
        );
    }

    let all = targets();
    let verbose = std::env::var_os("SAFETY_VERBOSE").is_some();
    // SHUTDOWN has a test of its own, on servers it may stop.
    for target in all.iter().filter(|t| t.spec.name != "shutdown") {
        let (combos, clock) = (run.combos, Instant::now());
        run.target(target, &hostile, &directives);
        if verbose {
            eprintln!(
                "{}: {} in {:.1?}",
                target.name(),
                run.combos - combos,
                clock.elapsed()
            );
        }
    }
    // Unknown commands, with hostile names.
    for (i, name) in hostile
        .iter()
        .chain([b"nosuchcommand".to_vec()].iter())
        .enumerate()
    {
        let mut args = vec![name.clone()];
        args.extend(hostile.iter().skip(i % 7).step_by(11).take(i % 3).cloned());
        run.one("unknown command", &args, Mode::Main);
    }
    for seconds in SLEEPS {
        run.one(
            "debug|sleep",
            &request(&["DEBUG", "SLEEP", seconds]),
            Mode::Main,
        );
    }
    assert!(run.server.alive(), "the server stopped answering");
    eprintln!("{} commands and subcommands", all.len());
    finish("hostile arguments", run.failures, run.combos, started);
}

/// Whether SHUTDOWN with these arguments stops the server (the test server's `dir` is writable,
/// so SAVE succeeds): otherwise it must answer an error.
fn shuts_down(args: &[Vec<u8>]) -> bool {
    let (mut save, mut nosave) = (false, false);
    for arg in &args[1..] {
        match arg.to_ascii_lowercase().as_slice() {
            b"save" => save = true,
            b"nosave" => nosave = true,
            b"force" | b"now" => {}
            _ => return false,
        }
    }
    !(save && nosave)
}

#[test]
fn shutdown_answers_or_stops() {
    let started = Instant::now();
    record_panics();
    let spec = all_commands()
        .find(|s| s.name == "shutdown")
        .expect("SHUTDOWN in the table");
    let target = Target {
        words: vec!["shutdown"],
        spec,
        container: false,
    };
    let mut failures = Vec::new();
    let mut server = TestServer::start();
    let all = combos(&target, &hostile(), &HashSet::new());
    for args in &all {
        let mut conn = Conn::connect(server.addr, REPLY_TIMEOUT).expect("connect");
        take_panics();
        let result = exercise(&mut conn, std::slice::from_ref(args), Mode::Main);
        match (shuts_down(args), result) {
            (true, Err(Problem::Closed(replies))) if replies.is_empty() => {
                // Stopped: it soon refuses connections.
                let deadline = Instant::now() + REPLY_TIMEOUT;
                while Conn::connect(server.addr, REPLY_TIMEOUT).is_ok() {
                    if Instant::now() > deadline {
                        failures.push(format!(
                            "shutdown: {}: closed the connection, the server still accepts",
                            describe(args)
                        ));
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                server = TestServer::start();
            }
            (false, Ok(replies)) if replies.iter().all(|r| is_error(r)) => {}
            (_, Ok(replies)) => failures.push(format!(
                "shutdown: {}: answered {:?}",
                describe(args),
                replies.iter().map(|r| show(r)).collect::<Vec<_>>()
            )),
            (_, Err(problem)) => {
                failures.push(format!(
                    "shutdown: {}: {}; panics: {:?}",
                    describe(args),
                    problem_text(&problem),
                    take_panics()
                ));
                server = TestServer::start();
            }
        }
    }
    finish("shutdown", failures, all.len(), started);
}

/// Sets a directive back, inline when it can be: `proto-max-multibulk-len 1` refuses any longer
/// multibulk.
fn restore(conn: &mut Conn, name: &str, original: &[u8]) -> Read1 {
    if original.is_empty() || original.contains(&b' ') {
        return conn.call(&[b"CONFIG".as_slice(), b"SET", name.as_bytes(), original]);
    }
    let mut inline = format!("CONFIG SET {name} ").into_bytes();
    inline.extend_from_slice(original);
    inline.extend_from_slice(b"\r\n");
    match std::io::Write::write_all(&mut conn.stream, &inline) {
        Ok(()) => conn.read(),
        Err(_) => Read1::Closed(Vec::new()),
    }
}

/// Directives whose change opens sockets, files or directories: not for a test to set to junk.
const CONFIG_UNTOUCHED: &[&str] = &[
    "port",
    "bind",
    "unixsocket",
    "unixsocketperm",
    "logfile",
    "dir",
    "pidfile",
    "peer",
    "coherence-bus",
];

#[test]
fn config_set_answers_hostile_values() {
    let started = Instant::now();
    let mut run = start_run();
    let mut values = hostile();
    values.extend(
        [
            "yes",
            "no",
            "1gb",
            "-1mb",
            "100%",
            "allkeys-lru",
            "KEA",
            "normal 1 1 1",
            "a b",
        ]
        .map(|s| s.as_bytes().to_vec()),
    );
    let directives = directive_names(&mut run.main);
    for (name, original) in &directives {
        if CONFIG_UNTOUCHED.contains(&name.as_str()) {
            continue;
        }
        for value in &values {
            let args = vec![
                b"CONFIG".to_vec(),
                b"SET".to_vec(),
                name.as_bytes().to_vec(),
                value.clone(),
            ];
            let Some(replies) = run.one("config|set", &args, Mode::Main) else {
                continue;
            };
            if replies.first().is_some_and(|r| r == b"+OK\r\n") {
                let mut restored = restore(&mut run.main, name, original);
                if matches!(restored, Read1::Closed(_)) {
                    // A limit may close the connection that set it (`client-output-buffer-limit
                    // normal 1 1 1`): restore from a new one.
                    run.main = run.connect();
                    restored = restore(&mut run.main, name, original);
                }
                if !matches!(&restored, Read1::Reply(r) if r == b"+OK\r\n") {
                    run.failures.push(format!(
                        "config|set {name}: could not restore {:?} after {}: {restored:?}",
                        show(original),
                        show(value)
                    ));
                }
            }
        }
    }
    // Several at once, and one twice.
    for pair in directives.windows(2).step_by(7) {
        let [(a, va), (b, _)] = pair else { continue };
        if CONFIG_UNTOUCHED.contains(&a.as_str()) || CONFIG_UNTOUCHED.contains(&b.as_str()) {
            continue;
        }
        let args = vec![
            b"CONFIG".to_vec(),
            b"SET".to_vec(),
            a.as_bytes().to_vec(),
            va.clone(),
            b.as_bytes().to_vec(),
            b"\x00junk".to_vec(),
        ];
        run.one("config|set", &args, Mode::Main);
        let twice = vec![
            b"CONFIG".to_vec(),
            b"SET".to_vec(),
            a.as_bytes().to_vec(),
            va.clone(),
            a.to_uppercase().into_bytes(),
            va.clone(),
        ];
        run.one("config|set", &twice, Mode::Main);
    }
    assert!(run.server.alive(), "the server stopped answering");
    finish("config set", run.failures, run.combos, started);
}
