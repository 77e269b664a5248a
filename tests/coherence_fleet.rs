//! Coherence of a fleet of three daemons (issue 6), written once per scenario and run on each
//! topology: a full mesh of `peer` links, and a `redis-server` as `coherence-bus` (ignored until
//! the bus exists). Some nodes are real `cachet` processes so they can be killed with SIGKILL and
//! restarted on the same port.
//!
//! "Stale" throughout: a node serving a value that a write acknowledged elsewhere has replaced,
//! once that write's invalidation had every chance to arrive. A miss is always allowed.
//! No timing assertions: every wait polls with a generous deadline (`fleet::DEADLINE`).

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use fleet::{
    config_set, counter, settle_exact, settle_quiet, wait_ready, wait_until, Fleet, Kind,
    ProcessNode, RedisServer, Topology, Tracker,
};
use redis::{Commands, Connection};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

fn get(con: &mut Connection, key: &str) -> Option<String> {
    con.get(key).expect("GET")
}

fn set(con: &mut Connection, key: &str, value: &str) {
    let _: () = con.set(key, value).expect("SET");
}

/// Property: invalidations from one origin are applied on a peer in the order the origin's
/// writes were acknowledged (checked on the RESP3 tracking pushes the peer emits when it applies
/// them), and the peer holds none of the overwritten keys afterwards.
fn per_origin_order(topology: Topology) {
    let fleet = Fleet::start(topology, &[Kind::Local, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    let mut tracker = Tracker::connect(fleet.ports()[B]);
    let keys: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
    for key in &keys {
        set(&mut cons[B], key, "b");
    }
    // B's own writes are pushed too; take them, and let B's messages reach A and C (otherwise a
    // late one would delete A's new value, harmlessly but confusingly).
    let own = tracker.collect_keys(keys.len());
    assert_eq!(own.len(), keys.len());
    settle_exact(topology, &mut cons);

    for key in &keys {
        set(&mut cons[A], key, "a");
    }
    let pushed: Vec<String> = tracker
        .collect_keys(keys.len())
        .into_iter()
        .map(|k| String::from_utf8(k).expect("utf-8 key"))
        .collect();
    assert_eq!(pushed, keys, "B applied A's invalidations out of order");
    for key in &keys {
        assert_eq!(get(&mut cons[B], key), None, "B still holds {key}");
    }
    // Nothing more: one push per key, no flush.
    settle_exact(topology, &mut cons);
    assert_eq!(tracker.next_invalidation(Duration::from_millis(100)), None);
}

/// Property: a key written alternately on A and B (each write acknowledged, and its
/// invalidation delivered, before the next) is never served older than a value the same node
/// served before, every overwritten copy disappears, and C, which never writes it, never serves it.
fn values_never_go_back(topology: Topology) {
    let fleet = Fleet::start(topology, &[Kind::Local, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    let mut highest = [0u64; 3];
    for i in 1..=60u64 {
        let (writer, other) = if i % 2 == 1 { (A, B) } else { (B, A) };
        set(&mut cons[writer], "pp", &i.to_string());
        assert_eq!(get(&mut cons[writer], "pp"), Some(i.to_string()));
        highest[writer] = i;
        // The other node held i - 1 (its own write); A's/B's invalidation must remove it. Every
        // read meanwhile returns that copy or a miss, never anything older.
        wait_until("overwritten copy removed", || {
            let value = get(&mut cons[other], "pp").map(|v| v.parse::<u64>().expect("number"));
            if let Some(v) = value {
                assert!(
                    v >= highest[other] && v < i,
                    "node {other} served {v} after serving {}",
                    highest[other]
                );
                highest[other] = v;
            }
            value.is_none()
        });
        // (The first write's invalidation finds nothing to remove, so nothing above waited for
        // it: without this, it could remove the next write's copy.)
        settle_exact(topology, &mut cons);
        assert_eq!(
            get(&mut cons[C], "pp"),
            None,
            "C serves a value it never had"
        );
    }
    for con in cons.iter_mut() {
        assert_eq!(counter(con, "gaps"), 0);
    }
}

/// Property: a peer killed with SIGKILL while holding keys, which are overwritten while it is
/// dead, holds no stale value once restarted on the same port and linked again, and coherence
/// works again on its new links.
fn restarted_peer_holds_nothing_stale(topology: Topology) {
    let mut fleet = Fleet::start(topology, &[Kind::Local, Kind::Process, Kind::Local]);
    let mut cons = fleet.clients();
    let keys: Vec<String> = (0..100).map(|i| format!("r{i}")).collect();
    for key in &keys {
        set(&mut cons[B], key, "old");
    }
    settle_exact(topology, &mut cons);
    fleet.nodes[B].process().kill();
    for key in &keys {
        set(&mut cons[A], key, "new");
    }
    fleet.nodes[B].process().restart();
    cons[B] = fleet.nodes[B].client();
    for con in cons.iter_mut() {
        wait_ready(topology, con);
    }
    for key in &keys {
        let value = get(&mut cons[B], key);
        assert!(
            value.is_none() || value.as_deref() == Some("new"),
            "restarted B serves {value:?} for {key}"
        );
    }
    // The new links carry invalidations both ways.
    both_ways(topology, &mut cons);
}

/// Checks that A's writes remove B's copies and B's remove A's (the links work).
fn both_ways(topology: Topology, cons: &mut [Connection]) {
    for (writer, holder) in [(A, B), (B, A)] {
        let key = format!("both-ways-{writer}");
        set(&mut cons[holder], &key, "old");
        settle_quiet(topology, cons, Duration::from_millis(200));
        set(&mut cons[writer], &key, "new");
        wait_until("the write removes the other's copy", || {
            get(&mut cons[holder], &key).is_none()
        });
    }
}

/// Property: when the origin is killed with SIGKILL and restarted on the same port, and writes
/// on the restarted origin at once (before the peers' links are back), no peer keeps the copy
/// those writes replaced.
fn restarted_origin_leaves_nothing_stale(topology: Topology) {
    let mut fleet = Fleet::start(topology, &[Kind::Process, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    let keys: Vec<String> = (0..100).map(|i| format!("o{i}")).collect();
    for key in &keys {
        set(&mut cons[B], key, "old");
    }
    settle_exact(topology, &mut cons);
    fleet.nodes[A].process().kill();
    fleet.nodes[A].process().restart();
    cons[A] = fleet.nodes[A].client();
    for key in &keys {
        set(&mut cons[A], key, "new");
    }
    for con in cons.iter_mut() {
        wait_ready(topology, con);
    }
    for key in &keys {
        wait_until("B's copy replaced", || get(&mut cons[B], key).is_none());
        // A itself may have dropped them: its own links came up after its writes, and a link
        // coming up flushes.
        let on_a = get(&mut cons[A], key);
        assert!(
            on_a.is_none() || on_a.as_deref() == Some("new"),
            "A: {on_a:?}"
        );
    }
    both_ways(topology, &mut cons);
}

/// Property: a node whose links are cut (`coherence no`) while the origin writes holds no stale
/// key once its links are back (`coherence yes`), whatever the topology.
fn cut_link_leaves_nothing_stale(topology: Topology) {
    let fleet = Fleet::start(topology, &[Kind::Local, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    let keys: Vec<String> = (0..50).map(|i| format!("c{i}")).collect();
    for key in &keys {
        set(&mut cons[B], key, "old");
    }
    settle_exact(topology, &mut cons);
    let recoveries = counter(&mut cons[B], "recoveries");
    config_set(&mut cons[B], "coherence", "no");
    wait_until("B's links closed", || {
        counter(&mut cons[B], "peers_up") == 0
    });
    for key in &keys {
        set(&mut cons[A], key, "new");
    }
    wait_until("A published", || {
        counter(&mut cons[A], "pending_items") == 0
    });
    config_set(&mut cons[B], "coherence", "yes");
    wait_ready(topology, &mut cons[B]);
    wait_until("B recovered", || {
        counter(&mut cons[B], "recoveries") > recoveries
    });
    for key in &keys {
        let value = get(&mut cons[B], key);
        assert!(
            value.is_none() || value.as_deref() == Some("new"),
            "B serves {value:?} for {key} after its links came back"
        );
    }
    both_ways(topology, &mut cons);
}

/// Property (expected by issue 6, fails today): a write made on a node while its coherence is
/// off must not leave the other nodes serving the value it replaced once coherence is back on.
/// Today nothing is published while off and the sequence does not move, so the peers' links see
/// no gap and keep their copy for ever.
fn writes_while_coherence_off_reach_the_peers(topology: Topology) {
    let fleet = Fleet::start(topology, &[Kind::Local, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    set(&mut cons[A], "k", "a-old");
    settle_exact(topology, &mut cons);
    config_set(&mut cons[B], "coherence", "no");
    set(&mut cons[B], "k", "b-new");
    config_set(&mut cons[B], "coherence", "yes");
    wait_ready(topology, &mut cons[B]);
    wait_until("A's replaced copy removed", || {
        get(&mut cons[A], "k").as_deref() != Some("a-old")
    });
}

/// Writes on A that create or replace key `K` (`K` is substituted by the key under test), with
/// what A needs beforehand. Each must remove B's copy of the key.
const CREATING_WRITES: &[(&str, &str)] = &[
    ("", "SET K v"),
    ("", "SETNX K v"),
    ("", "SETEX K 100 v"),
    ("", "PSETEX K 100000 v"),
    ("", "GETSET K v"),
    ("", "MSET K v"),
    ("", "MSETNX K v"),
    ("", "INCR K"),
    ("", "DECR K"),
    ("", "INCRBY K 2"),
    ("", "DECRBY K 2"),
    ("", "INCRBYFLOAT K 1.5"),
    ("", "APPEND K x"),
    ("", "SETRANGE K 0 x"),
    ("", "CACHE.SET K v"),
    ("", "HSET K f v"),
    ("", "HSETNX K f v"),
    ("", "HMSET K f v"),
    ("", "HINCRBY K f 1"),
    ("", "HINCRBYFLOAT K f 1.5"),
    ("", "LPUSH K x"),
    ("", "RPUSH K x"),
    ("", "SADD K x"),
    ("", "ZADD K 1 x"),
    ("SET src:K v", "RENAME src:K K"),
    ("SET src:K v", "COPY src:K K"),
    ("RPUSH src:K x", "LMOVE src:K K LEFT RIGHT"),
    ("RPUSH src:K x", "RPOPLPUSH src:K K"),
    ("SADD src:K x", "SMOVE src:K K x"),
    ("SADD src:K x", "SUNIONSTORE K src:K"),
    ("SADD src:K x", "SINTERSTORE K src:K"),
    ("SADD src:K x", "SDIFFSTORE K src:K"),
    ("ZADD src:K 1 x", "ZUNIONSTORE K 1 src:K"),
    ("ZADD src:K 1 x", "ZINTERSTORE K 1 src:K"),
    ("ZADD src:K 1 x", "ZDIFFSTORE K 1 src:K"),
    ("ZADD src:K 1 x", "ZRANGESTORE K src:K 0 -1"),
];

/// Deletes on A of a key A does not hold. The cache-aside pattern ("update the database, then
/// DEL the key on the local daemon") relies on these reaching the daemons that do hold it.
const DELETES_OF_ABSENT_KEYS: &[&str] = &["DEL K", "UNLINK K", "GETDEL K"];

fn run_words(con: &mut Connection, line: &str, key: &str) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::Cmd::new();
    for word in line.split(' ') {
        match word {
            "K" => cmd.arg(key),
            "src:K" => cmd.arg(format!("src:{key}")),
            _ => cmd.arg(word),
        };
    }
    cmd.query(con)
}

/// Runs each of `lines` on A against a key that only B holds, and returns the lines after which
/// B still holds it once the fleet has settled (polled up to the deadline).
fn writes_leaving_copies(topology: Topology, lines: &[(&str, &str)]) -> Vec<String> {
    let fleet = Fleet::start(topology, &[Kind::Local, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    let key = |i: usize| format!("w{i}");
    for i in 0..lines.len() {
        set(&mut cons[B], &key(i), "b");
    }
    settle_exact(topology, &mut cons);
    for (i, (before, line)) in lines.iter().enumerate() {
        if !before.is_empty() {
            run_words(&mut cons[A], before, &key(i)).expect(before);
        }
        run_words(&mut cons[A], line, &key(i)).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    settle_exact(topology, &mut cons);
    let mut left = Vec::new();
    let _ = wait_until_ok(|| {
        left = (0..lines.len())
            .filter(|i| get_any(&mut cons[B], &key(*i)))
            .map(|i| lines[i].1.to_string())
            .collect();
        left.is_empty()
    });
    left
}

/// True when the key exists whatever its type.
fn get_any(con: &mut Connection, key: &str) -> bool {
    con.exists(key).expect("EXISTS")
}

/// Polls `done` up to the deadline; false if it never held.
fn wait_until_ok(mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > fleet::DEADLINE {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Property: every write on A that creates or replaces a key removes B's copy of it.
fn every_creating_write_removes_the_copies(topology: Topology) {
    let left = writes_leaving_copies(topology, CREATING_WRITES);
    assert!(left.is_empty(), "B keeps its copy after A's {left:?}");
}

/// Property (expected by the cache-aside pattern, fails today): a delete on A of a key A does
/// not hold removes B's copy.
fn deletes_of_absent_keys_remove_the_copies(topology: Topology) {
    let lines: Vec<(&str, &str)> = DELETES_OF_ABSENT_KEYS.iter().map(|l| ("", *l)).collect();
    let left = writes_leaving_copies(topology, &lines);
    assert!(left.is_empty(), "B keeps its copy after A's {left:?}");
}

#[test]
fn mesh_every_creating_write_removes_the_copies() {
    every_creating_write_removes_the_copies(Topology::Mesh);
}

#[test]
#[ignore = "known staleness: a delete of a key the node does not hold is not published"]
fn mesh_deletes_of_absent_keys_remove_the_copies() {
    deletes_of_absent_keys_remove_the_copies(Topology::Mesh);
}

#[test]
fn mesh_per_origin_order() {
    per_origin_order(Topology::Mesh);
}

#[test]
fn mesh_values_never_go_back() {
    values_never_go_back(Topology::Mesh);
}

#[test]
fn mesh_restarted_peer_holds_nothing_stale() {
    restarted_peer_holds_nothing_stale(Topology::Mesh);
}

#[test]
fn mesh_restarted_origin_leaves_nothing_stale() {
    restarted_origin_leaves_nothing_stale(Topology::Mesh);
}

#[test]
fn mesh_cut_link_leaves_nothing_stale() {
    cut_link_leaves_nothing_stale(Topology::Mesh);
}

#[test]
#[ignore = "known staleness: writes made while coherence is off are never announced"]
fn mesh_writes_while_coherence_off_reach_the_peers() {
    writes_while_coherence_off_reach_the_peers(Topology::Mesh);
}

fn on_bus(scenario: fn(Topology)) {
    let redis = RedisServer::start();
    scenario(Topology::Bus {
        redis_port: redis.port,
    });
}

#[test]
#[ignore = "coherence-bus not built yet"]
fn bus_per_origin_order() {
    on_bus(per_origin_order);
}

#[test]
#[ignore = "coherence-bus not built yet"]
fn bus_values_never_go_back() {
    on_bus(values_never_go_back);
}

#[test]
#[ignore = "coherence-bus not built yet"]
fn bus_restarted_peer_holds_nothing_stale() {
    on_bus(restarted_peer_holds_nothing_stale);
}

#[test]
#[ignore = "coherence-bus not built yet"]
fn bus_restarted_origin_leaves_nothing_stale() {
    on_bus(restarted_origin_leaves_nothing_stale);
}

#[test]
#[ignore = "coherence-bus not built yet"]
fn bus_cut_link_leaves_nothing_stale() {
    on_bus(cut_link_leaves_nothing_stale);
}

#[test]
#[ignore = "coherence-bus not built yet; and known staleness (see the mesh test)"]
fn bus_writes_while_coherence_off_reach_the_peers() {
    on_bus(writes_while_coherence_off_reach_the_peers);
}

const CHAOS_FOR: Duration = Duration::from_secs(4);
const CHAOS_KEYS: usize = 50;
const WRITERS: usize = 4;
const READERS: usize = 2;
/// Restarts of the real-process node during one chaos run.
const MAX_RESTARTS: usize = 2;

/// What the chaos threads share: no locks on the data path except the per-node gate.
struct Chaos {
    ports: Vec<u16>,
    stop: AtomicBool,
    /// Per node: whether its coherence is on. Writers hold it shared while they write, and skip
    /// the node when it is off; the chaos thread holds it exclusively while it switches. (A write
    /// made while coherence is off is never announced: the known staleness above. Gating keeps
    /// that one hole out of this test so it can look for others.)
    coherent: Vec<RwLock<bool>>,
    /// `acked[writer][node][key]`: the counter of the writer's last acknowledged write of the key
    /// on that node (0: none).
    acked: Vec<Vec<Vec<AtomicU64>>>,
    /// Per key: every write, with the real-time interval it took (end: None if it failed, so it
    /// may have taken effect at any time after its start).
    log: Vec<Mutex<Vec<Write>>>,
    violations: Mutex<Vec<String>>,
    writes: AtomicU64,
    reads: AtomicU64,
    hits: AtomicU64,
}

struct Write {
    start: Instant,
    end: Option<Instant>,
    value: String,
}

/// The value of the key's last write when that is well defined: the write that started after
/// every other write of the key had been acknowledged. None when the last writes overlapped.
fn last_write(log: &[Write]) -> Option<&Write> {
    let last = log.iter().max_by_key(|w| w.start)?;
    last.end?;
    log.iter()
        .filter(|w| !std::ptr::eq(*w, last))
        .all(|w| w.end.is_some_and(|end| end < last.start))
        .then_some(last)
}

fn chaos_key(k: usize) -> String {
    format!("chaos:{k}")
}

/// A connection to `node` from a thread's own set, reconnecting after an error (a node that was
/// killed): None while it cannot connect.
fn con_to<'a>(
    cons: &'a mut [Option<Connection>],
    ports: &[u16],
    node: usize,
) -> Option<&'a mut Connection> {
    if cons[node].is_none() {
        cons[node] = fleet::connect(ports[node]).ok();
    }
    cons[node].as_mut()
}

fn chaos_writer(chaos: &Chaos, writer: usize) {
    let mut cons: Vec<Option<Connection>> = (0..3).map(|_| None).collect();
    let mut count = 0u64;
    while !chaos.stop.load(Ordering::Relaxed) {
        let (node, key) = (fastrand::usize(0..3), fastrand::usize(0..CHAOS_KEYS));
        let gate = chaos.coherent[node].read().expect("gate");
        if !*gate {
            continue;
        }
        let Some(con) = con_to(&mut cons, &chaos.ports, node) else {
            continue;
        };
        count += 1;
        // Unique values: "<writer>-<counter>", counters increase per writer.
        let value = format!("{writer}-{count}");
        let start = Instant::now();
        let result: redis::RedisResult<()> = con.set(chaos_key(key), &value);
        let end = result.is_ok().then(Instant::now);
        drop(gate);
        chaos.log[key]
            .lock()
            .expect("log")
            .push(Write { start, end, value });
        match result {
            Ok(()) => {
                chaos.acked[writer][node][key].store(count, Ordering::SeqCst);
                chaos.writes.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => cons[node] = None,
        }
    }
}

/// Property checked during the chaos (sound whatever the links do): a node never serves a value
/// of writer W older than W's last write of that key acknowledged on the same node before the
/// read started. Values are unique and a node only ever holds what was written on it, so an
/// older value could only come back by resurrection. Cross-node staleness during the chaos is
/// not asserted: with links down or in flight nothing bounds it; it is checked once settled.
fn chaos_reader(chaos: &Chaos) {
    let mut cons: Vec<Option<Connection>> = (0..3).map(|_| None).collect();
    while !chaos.stop.load(Ordering::Relaxed) {
        let (node, key) = (fastrand::usize(0..3), fastrand::usize(0..CHAOS_KEYS));
        let floor: Vec<u64> = (0..WRITERS)
            .map(|w| chaos.acked[w][node][key].load(Ordering::SeqCst))
            .collect();
        let Some(con) = con_to(&mut cons, &chaos.ports, node) else {
            continue;
        };
        let value: Option<String> = match con.get(chaos_key(key)) {
            Ok(value) => value,
            Err(_) => {
                cons[node] = None;
                continue;
            }
        };
        chaos.reads.fetch_add(1, Ordering::Relaxed);
        let Some(value) = value else { continue };
        chaos.hits.fetch_add(1, Ordering::Relaxed);
        let parsed = value
            .split_once('-')
            .and_then(|(w, c)| Some((w.parse::<usize>().ok()?, c.parse::<u64>().ok()?)));
        let problem = match parsed {
            Some((w, c)) if w < WRITERS && c >= floor[w] => continue,
            Some((w, _)) if w < WRITERS => format!(
                "node {node} served {value} for {} after {w}-{} was acknowledged there",
                chaos_key(key),
                floor[w]
            ),
            _ => format!("node {node} served {value:?} for {}", chaos_key(key)),
        };
        chaos.violations.lock().expect("violations").push(problem);
    }
}

/// Drops links at random until told to stop; every action restores what it broke before the
/// next, so that the fleet is whole when the loop ends.
fn chaos_monkey(
    chaos: &Chaos,
    topology: Topology,
    mut process: Option<&mut ProcessNode>,
) -> Vec<&'static str> {
    let mut cons: Vec<Option<Connection>> = (0..3).map(|_| None).collect();
    let mut done = Vec::new();
    let mut restarts = 0;
    let pause = || std::thread::sleep(Duration::from_millis(fastrand::u64(20..120)));
    let peer = |node: usize| format!("127.0.0.1:{}", chaos.ports[node]);
    while !chaos.stop.load(Ordering::Relaxed) {
        pause();
        let node = fastrand::usize(0..3);
        let other = (node + fastrand::usize(1..3)) % 3;
        let action = fastrand::u8(0..4);
        // Errors are ignored: the node may be the one being restarted (nothing else fails).
        let mut run = |cmd: &mut redis::Cmd| {
            if let Some(con) = con_to(&mut cons, &chaos.ports, node) {
                if cmd.query::<redis::Value>(con).is_err() {
                    cons[node] = None;
                }
            }
        };
        match action {
            0 => {
                let mut gate = chaos.coherent[node].write().expect("gate");
                *gate = false;
                run(redis::cmd("CONFIG").arg("SET").arg("coherence").arg("no"));
                drop(gate);
                pause();
                let mut gate = chaos.coherent[node].write().expect("gate");
                run(redis::cmd("CONFIG").arg("SET").arg("coherence").arg("yes"));
                *gate = true;
                done.push("coherence off/on");
            }
            1 if matches!(topology, Topology::Mesh) => {
                run(redis::cmd("CACHE.PEER").arg("REMOVE").arg(peer(other)));
                pause();
                run(redis::cmd("CACHE.PEER").arg("ADD").arg(peer(other)));
                done.push("peer remove/add");
            }
            2 => {
                let mut cut = redis::cmd("CLIENT");
                cut.arg("KILL").arg("TYPE").arg("pubsub");
                match topology {
                    Topology::Mesh => run(&mut cut),
                    // On a bus the links are the broker's subscribers.
                    Topology::Bus { redis_port } => {
                        if let Ok(mut con) = fleet::connect(redis_port) {
                            let _ = cut.query::<redis::Value>(&mut con);
                        }
                    }
                }
                done.push("kill subscribers");
            }
            3 if restarts < MAX_RESTARTS => {
                if let Some(node) = process.as_mut() {
                    node.kill();
                    pause();
                    node.restart();
                    restarts += 1;
                    done.push("restart");
                }
            }
            _ => {}
        }
    }
    done
}

/// Chaos: writers and readers on random nodes while links drop and a node restarts. Properties:
/// during the run, the per-node check of `chaos_reader`; once the fleet is whole and quiet, no
/// key is held by two nodes (a write on one node removes every other node's copy, and a node
/// holds only what was written on it: two holders means one of them is stale); then, after one
/// final write of every key on a random node, every node serves that value or a miss, and the
/// node written serves it.
fn chaos(topology: Topology) {
    let mut fleet = Fleet::start(topology, &[Kind::Local, Kind::Process, Kind::Local]);
    let chaos = Chaos {
        ports: fleet.ports(),
        stop: AtomicBool::new(false),
        coherent: (0..3).map(|_| RwLock::new(true)).collect(),
        acked: (0..WRITERS)
            .map(|_| {
                (0..3)
                    .map(|_| (0..CHAOS_KEYS).map(|_| AtomicU64::new(0)).collect())
                    .collect()
            })
            .collect(),
        log: (0..CHAOS_KEYS).map(|_| Mutex::default()).collect(),
        violations: Mutex::default(),
        writes: AtomicU64::new(0),
        reads: AtomicU64::new(0),
        hits: AtomicU64::new(0),
    };
    let process = Some(fleet.nodes[B].process());
    let actions = std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let chaos = &chaos;
            scope.spawn(move || chaos_writer(chaos, writer));
        }
        for _ in 0..READERS {
            scope.spawn(|| chaos_reader(&chaos));
        }
        let monkey = scope.spawn(|| chaos_monkey(&chaos, topology, process));
        std::thread::sleep(CHAOS_FOR);
        chaos.stop.store(true, Ordering::Relaxed);
        monkey.join().expect("chaos thread")
    });
    let violations = chaos.violations.lock().expect("violations").clone();
    assert!(violations.is_empty(), "during the chaos: {violations:#?}");
    let mut cons = fleet.clients();
    settle_quiet(topology, &mut cons, Duration::from_millis(500));
    let (writes, reads, hits) = (
        chaos.writes.load(Ordering::Relaxed),
        chaos.reads.load(Ordering::Relaxed),
        chaos.hits.load(Ordering::Relaxed),
    );
    let recoveries: u64 = cons.iter_mut().map(|c| counter(c, "recoveries")).sum();
    eprintln!(
        "chaos ({topology:?}): {writes} writes, {reads} reads ({hits} hits), {} actions {actions:?}, {recoveries} recoveries",
        actions.len()
    );
    assert!(writes > 0 && reads > 0 && !actions.is_empty());

    let holders = |cons: &mut [Connection], key: &str| -> Vec<(usize, String)> {
        (0..3)
            .filter_map(|n| get(&mut cons[n], key).map(|v| (n, v)))
            .collect()
    };
    for k in 0..CHAOS_KEYS {
        let key = chaos_key(k);
        wait_for(|| match holders(&mut cons, &key) {
            held if held.len() <= 1 => Ok(()),
            held => Err(format!(
                "{key} held by several nodes after the chaos: {held:?}"
            )),
        });
    }

    // Where the last write of a key is well defined (it began after every other write of the key
    // was acknowledged), every node serves it or a miss: issue 6's end condition, made sound.
    let mut defined = 0;
    for k in 0..CHAOS_KEYS {
        let key = chaos_key(k);
        let log = chaos.log[k].lock().expect("log");
        let Some(last) = last_write(&log) else {
            continue;
        };
        defined += 1;
        wait_for(|| match holders(&mut cons, &key) {
            held if held.iter().all(|(_, v)| *v == last.value) => Ok(()),
            held => Err(format!(
                "{key}: last write {} (after all others), nodes serve {held:?}",
                last.value
            )),
        });
    }
    eprintln!("chaos: last write well defined for {defined} of {CHAOS_KEYS} keys");

    for k in 0..CHAOS_KEYS {
        let node = fastrand::usize(0..3);
        set(&mut cons[node], &chaos_key(k), &format!("final-{k}"));
        assert_eq!(
            get(&mut cons[node], &chaos_key(k)),
            Some(format!("final-{k}"))
        );
    }
    settle_quiet(topology, &mut cons, Duration::from_millis(500));
    for k in 0..CHAOS_KEYS {
        let (key, last_value) = (chaos_key(k), format!("final-{k}"));
        wait_for(|| match holders(&mut cons, &key) {
            held if held.iter().all(|(_, v)| *v == last_value) => Ok(()),
            held => Err(format!(
                "{key} after its final write {last_value}: {held:?}"
            )),
        });
    }
}

/// `wait_until` for a check that explains its failure: panics with the last explanation.
fn wait_for(mut check: impl FnMut() -> Result<(), String>) {
    let start = std::time::Instant::now();
    while let Err(why) = check() {
        assert!(start.elapsed() < fleet::DEADLINE, "{why}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn mesh_chaos() {
    chaos(Topology::Mesh);
}

#[test]
#[ignore = "coherence-bus not built yet"]
fn bus_every_creating_write_removes_the_copies() {
    on_bus(every_creating_write_removes_the_copies);
}

#[test]
#[ignore = "coherence-bus not built yet; and known staleness (see the mesh test)"]
fn bus_deletes_of_absent_keys_remove_the_copies() {
    on_bus(deletes_of_absent_keys_remove_the_copies);
}

#[test]
#[ignore = "coherence-bus not built yet"]
fn bus_chaos() {
    on_bus(chaos);
}
