//! A fleet of three cachet daemons for the coherence tests: in-process servers (`TestServer`) and
//! real `cachet` processes (killed with SIGKILL and restarted on the same port), linked either in a
//! full mesh (`peer`) or through a `redis-server` used as the pub/sub broker (`coherence-bus`).
//! Include with `#[path = "common/fleet.rs"] mod fleet;` after `mod common;`.
//!
//! Every wait polls with a generous deadline: the machine is shared, nothing here measures time.
#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cachet::state::config::ProtectedAction;
use redis::Connection;

use crate::common::{complete_reply_len, TestServer};

/// Generous: three daemons, a build and two other test suites share two cores.
pub const DEADLINE: Duration = Duration::from_secs(20);
/// Polling interval of every wait.
const POLL: Duration = Duration::from_millis(10);

/// How the daemons exchange invalidations.
#[derive(Clone, Copy, Debug)]
pub enum Topology {
    /// Each node's `peer` lists the two others.
    Mesh,
    /// Each node publishes to and subscribes from one redis-server (`coherence-bus`), no peers.
    Bus { redis_port: u16 },
}

pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// A port nobody listens on right now (bound then released: a small race, acceptable in tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A connection with timeouts, so that a killed daemon makes a call fail instead of hang.
pub fn connect(port: u16) -> redis::RedisResult<Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let con = client.get_connection_with_timeout(Duration::from_secs(2))?;
    con.set_read_timeout(Some(Duration::from_secs(5)))?;
    con.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(con)
}

/// Whether the server at `port` serves keyed commands: DBSIZE, not PING, which Redis and cachet
/// both answer while the dataset still loads (and `-LOADING` to the rest).
fn serves(port: u16) -> bool {
    connect(port)
        .and_then(|mut con| redis::cmd("DBSIZE").query::<i64>(&mut con))
        .is_ok()
}

pub fn info_field(con: &mut Connection, name: &str) -> String {
    let text: String = redis::cmd("INFO")
        .arg("coherence")
        .query(con)
        .expect("INFO coherence");
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .unwrap_or_default()
        .to_string()
}

pub fn counter(con: &mut Connection, name: &str) -> u64 {
    info_field(con, name).parse().unwrap_or(0)
}

/// Whether a node receives every invalidation of the fleet: its links (to each peer, or to the
/// bus) are up.
pub fn ready(topology: Topology, con: &mut Connection) -> bool {
    match topology {
        Topology::Mesh => counter(con, "peers_up") == 2,
        Topology::Bus { .. } => counter(con, "peers_up") == 1,
    }
}

pub fn wait_ready(topology: Topology, con: &mut Connection) {
    wait_until("node ready", || ready(topology, con));
}

/// How many times one published message is counted in the fleet's `messages_received`: each of
/// the two other nodes in a mesh; on a bus, every subscriber including the origin (which ignores
/// its own).
pub fn deliveries_per_message(topology: Topology) -> u64 {
    match topology {
        Topology::Mesh => 2,
        Topology::Bus { .. } => 3,
    }
}

fn totals(cons: &mut [Connection]) -> (u64, u64, u64) {
    let mut sum = (0, 0, 0);
    for con in cons.iter_mut() {
        sum.0 += counter(con, "messages_sent");
        sum.1 += counter(con, "messages_received");
        sum.2 += counter(con, "pending_items");
    }
    sum
}

/// Waits until every message sent has been received everywhere. Only valid when no message was
/// lost since the nodes started (no link cut, no restart).
pub fn settle_exact(topology: Topology, cons: &mut [Connection]) {
    let per_message = deliveries_per_message(topology);
    wait_until("every message delivered", || {
        let (sent, received, pending) = totals(cons);
        pending == 0 && received == per_message * sent
    });
}

/// Waits until every node is ready, nothing is queued and the fleet's sent and received counters
/// have not moved for `quiet`: for after losses, when counts cannot match. Used only before
/// checks that themselves poll, so a straggler message cannot make a test fail wrongly.
pub fn settle_quiet(topology: Topology, cons: &mut [Connection], quiet: Duration) {
    for con in cons.iter_mut() {
        wait_ready(topology, con);
    }
    let mut last = totals(cons);
    let mut since = Instant::now();
    wait_until("fleet quiet", || {
        let now = totals(cons);
        if now != last || now.2 != 0 {
            last = now;
            since = Instant::now();
        }
        since.elapsed() >= quiet
    });
}

/// A `redis-server` child process on a free port, killed by PID when dropped.
pub struct RedisServer {
    pub port: u16,
    child: Child,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        RedisServer::start_with_args(&[])
    }

    /// Started with more `--directive value` arguments (`--aclfile path`).
    pub fn start_with_args(extra: &[&str]) -> RedisServer {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (.ci/run installs it)");
        let server = RedisServer { port, child };
        wait_until("redis-server up", || serves(port));
        server
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real `cachet` process on a fixed port, so it can be killed (SIGKILL) and restarted at the
/// same address. Killed by PID when dropped, also when the test panics.
pub struct ProcessNode {
    pub port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl ProcessNode {
    pub fn start(port: u16, args: Vec<String>) -> ProcessNode {
        let mut node = ProcessNode {
            port,
            args,
            child: None,
        };
        node.restart();
        node
    }

    /// SIGKILL: no shutdown, no goodbye to the peers, whatever was queued is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for the process to exit by itself (after a SHUTDOWN), so that a restart does not
    /// kill it in the middle of its last writes.
    pub fn wait_exit(&mut self) {
        let start = Instant::now();
        while let Some(child) = self.child.as_mut() {
            if let Ok(Some(_)) = child.try_wait() {
                self.child = None;
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "cachet on port {} did not exit",
                self.port
            );
            std::thread::sleep(POLL);
        }
    }

    /// Starts the process again (killing it first if it runs) and waits until it answers.
    pub fn restart(&mut self) {
        self.restart_accepting();
        let port = self.port;
        let start = Instant::now();
        while !serves(port) {
            self.assert_running();
            assert!(start.elapsed() < DEADLINE, "cachet on port {port} not up");
            std::thread::sleep(POLL);
        }
    }

    /// Starts the process again and waits only until it accepts connections (its dataset may
    /// still be loading).
    pub fn restart_accepting(&mut self) {
        self.kill();
        let child = Command::new(env!("CARGO_BIN_EXE_cachet"))
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--shards", "4", "--loglevel", "warning", "--save", ""])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn cachet");
        self.child = Some(child);
        let port = self.port;
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            self.assert_running();
            assert!(
                start.elapsed() < DEADLINE,
                "cachet on port {port} not accepting"
            );
            std::thread::sleep(POLL);
        }
    }

    fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("cachet on port {} exited: {status}", self.port);
            }
        }
    }
}

impl Drop for ProcessNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The flags a real process needs to join the fleet (coherence on, then peers or the bus).
pub fn process_args(topology: Topology, others: &[u16]) -> Vec<String> {
    // CACHE.PEER ADD/REMOVE at run time (the chaos test) change a protected config.
    let mut args = vec![
        "--coherence".to_string(),
        "yes".to_string(),
        "--enable-protected-configs".to_string(),
        "yes".to_string(),
    ];
    match topology {
        Topology::Mesh => {
            args.push("--peer".into());
            args.extend(others.iter().map(|p| format!("127.0.0.1:{p}")));
        }
        Topology::Bus { redis_port } => {
            args.push("--coherence-bus".into());
            args.push(format!("redis://127.0.0.1:{redis_port}"));
        }
    }
    args
}

/// Links a running in-process node (coherence already on) to the others, at run time.
pub fn link_at_runtime(topology: Topology, con: &mut Connection, others: &[u16]) {
    let (name, value) = match topology {
        Topology::Mesh => (
            "peer",
            others
                .iter()
                .map(|p| format!("127.0.0.1:{p}"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Topology::Bus { redis_port } => {
            ("coherence-bus", format!("redis://127.0.0.1:{redis_port}"))
        }
    };
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(con)
        .unwrap_or_else(|e| panic!("CONFIG SET {name}: {e}"));
}

pub fn config_set(con: &mut Connection, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(con)
        .unwrap_or_else(|e| panic!("CONFIG SET {name} {value}: {e}"));
}

pub enum Node {
    Local(TestServer),
    Process(ProcessNode),
}

impl Node {
    pub fn port(&self) -> u16 {
        match self {
            Node::Local(server) => server.port(),
            Node::Process(process) => process.port,
        }
    }

    pub fn client(&self) -> Connection {
        connect(self.port()).expect("connect to node")
    }

    pub fn process(&mut self) -> &mut ProcessNode {
        match self {
            Node::Process(process) => process,
            Node::Local(_) => panic!("node {} is in-process", self.port()),
        }
    }
}

thread_local! {
    /// The `coherence-secret` of the fleets this thread starts (`with_secret`); empty: none.
    static SECRET: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Runs `scenario` with every node of the fleets it starts sharing `coherence-secret`: signed
/// messages, and links that authenticate (a test runs on one thread).
pub fn with_secret(secret: &str, scenario: impl FnOnce()) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SECRET.with(|s| s.borrow_mut().clear());
        }
    }
    SECRET.with(|s| *s.borrow_mut() = secret.to_string());
    let _reset = Reset;
    scenario();
}

fn secret() -> String {
    SECRET.with(|s| s.borrow().clone())
}

/// Which nodes of a fleet run as real processes.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Local,
    Process,
}

pub struct Fleet {
    pub topology: Topology,
    pub nodes: Vec<Node>,
}

impl Fleet {
    /// Starts one node per kind, links them and waits until every node is ready. Node `i` is
    /// named `node-i`: a fixed id, as a node-id persisted beside snapshots would be, so that a
    /// restarted process comes back as the same origin with its sequence started afresh.
    pub fn start(topology: Topology, kinds: &[Kind]) -> Fleet {
        // In-process nodes get their port from the OS; processes need theirs before they start.
        let mut locals: Vec<Option<TestServer>> = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                (*kind == Kind::Local).then(|| {
                    TestServer::start_with(|c| {
                        c.coherence = true;
                        c.node_id = format!("node-{i}");
                        // Linked at run time with CONFIG SET peer / coherence-bus.
                        c.enable_protected_configs = ProtectedAction::Yes;
                        c.coherence_secret = secret().into_bytes();
                    })
                })
            })
            .collect();
        let ports: Vec<u16> = locals
            .iter()
            .map(|local| local.as_ref().map_or_else(free_port, TestServer::port))
            .collect();
        let others = |me: usize| -> Vec<u16> {
            (0..ports.len())
                .filter(|i| *i != me)
                .map(|i| ports[i])
                .collect()
        };
        let mut nodes = Vec::new();
        for (i, local) in locals.iter_mut().enumerate() {
            nodes.push(match local.take() {
                Some(server) => {
                    let mut con = server.client();
                    link_at_runtime(topology, &mut con, &others(i));
                    Node::Local(server)
                }
                None => {
                    let mut args = process_args(topology, &others(i));
                    args.extend(["--node-id".to_string(), format!("node-{i}")]);
                    if !secret().is_empty() {
                        args.extend(["--coherence-secret".to_string(), secret()]);
                    }
                    Node::Process(ProcessNode::start(ports[i], args))
                }
            });
        }
        let fleet = Fleet { topology, nodes };
        for mut con in fleet.clients() {
            wait_ready(topology, &mut con);
        }
        fleet
    }

    pub fn clients(&self) -> Vec<Connection> {
        self.nodes.iter().map(Node::client).collect()
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(Node::port).collect()
    }
}

/// What an `invalidate` push names.
#[derive(Debug, PartialEq)]
pub enum Invalidation {
    Keys(Vec<Vec<u8>>),
    /// A null payload: the whole cache of the client (a flush).
    Everything,
}

/// A RESP3 connection with client tracking on: the node pushes `invalidate` frames to it.
pub struct Tracker {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Pushes that arrived while `call` waited for a reply.
    pushes: std::collections::VecDeque<Vec<u8>>,
}

impl Tracker {
    /// `CLIENT TRACKING on BCAST`: every key changed on the node is pushed.
    pub fn connect(port: u16) -> Tracker {
        Tracker::connect_with(port, &["BCAST"])
    }

    /// `CLIENT TRACKING on` with `options` (none: the default mode, where only keys this
    /// connection read are pushed).
    pub fn connect_with(port: u16, options: &[&str]) -> Tracker {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("read timeout");
        let mut tracker = Tracker {
            stream,
            buf: Vec::new(),
            pushes: Default::default(),
        };
        let hello = tracker.call(&["HELLO", "3"]);
        assert!(hello.starts_with(b"%"), "HELLO 3 did not switch to RESP3");
        let mut tracking = vec!["CLIENT", "TRACKING", "on"];
        tracking.extend_from_slice(options);
        assert_eq!(tracker.call(&tracking), b"+OK\r\n");
        tracker
    }

    /// Sends a command and returns its reply, keeping the pushes that came first for later.
    pub fn call(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(args);
        loop {
            let frame = self.next_frame(DEADLINE).expect("reply");
            if frame.starts_with(b">") {
                self.pushes.push_back(frame);
            } else {
                return frame;
            }
        }
    }

    fn send(&mut self, args: &[&str]) {
        use std::io::Write;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.stream.write_all(req.as_bytes()).expect("write");
    }

    /// The next complete frame's bytes (a kept push first), or None if none came within `wait`.
    fn next_frame(&mut self, wait: Duration) -> Option<Vec<u8>> {
        if let Some(push) = self.pushes.pop_front() {
            return Some(push);
        }
        let start = Instant::now();
        loop {
            if let Some(len) = complete_reply_len(&self.buf) {
                return Some(self.buf.drain(..len).collect());
            }
            if start.elapsed() > wait {
                return None;
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("tracking connection closed"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("tracking connection: {e}"),
            }
        }
    }

    /// The next `invalidate` push, or None if none came within `wait`.
    pub fn next_invalidation(&mut self, wait: Duration) -> Option<Invalidation> {
        let frame = self.next_frame(wait)?;
        Some(parse_invalidation(&frame))
    }

    /// Collects the keys of the pushes until `count` keys came; panics on a flush push or when
    /// the deadline passes.
    pub fn collect_keys(&mut self, count: usize) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        let start = Instant::now();
        while keys.len() < count {
            assert!(
                start.elapsed() < DEADLINE,
                "{} of {count} invalidations pushed",
                keys.len()
            );
            match self.next_invalidation(Duration::from_millis(200)) {
                Some(Invalidation::Keys(mut batch)) => keys.append(&mut batch),
                Some(Invalidation::Everything) => {
                    panic!("a flush push after {} keys", keys.len())
                }
                None => {}
            }
        }
        keys
    }
}

/// `>2 $10 invalidate` then `*n` bulks, or a null (`_`, `*-1`, `$-1`) for a flush.
fn parse_invalidation(frame: &[u8]) -> Invalidation {
    let text = String::from_utf8_lossy(frame);
    let rest = text
        .strip_prefix(">2\r\n$10\r\ninvalidate\r\n")
        .unwrap_or_else(|| panic!("not an invalidate push: {text:?}"));
    if matches!(rest, "_\r\n" | "*-1\r\n" | "$-1\r\n") {
        return Invalidation::Everything;
    }
    // Bulk strings are length-prefixed: walk them on the bytes, keys may hold any byte.
    let bytes = &frame[frame.len() - rest.len()..];
    let line = |at: usize| -> (usize, usize) {
        let end = at
            + bytes[at..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("line end");
        let n = std::str::from_utf8(&bytes[at + 1..end])
            .expect("header")
            .parse()
            .expect("length");
        (n, end + 2)
    };
    assert_eq!(bytes[0], b'*', "invalidate payload: {text:?}");
    let (count, mut at) = line(0);
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, start) = line(at);
        keys.push(bytes[start..start + len].to_vec());
        at = start + len + 2;
    }
    Invalidation::Keys(keys)
}
