//! Coherence of a fleet of three daemons (issue 6), written once per scenario and run on each
//! topology: a full mesh of `peer` links, and a `redis-server` as `coherence-bus`. Some nodes are real `cachet` processes so they can be killed with SIGKILL and
//! restarted on the same port. Scenarios: here, `coherence_fleet/writes.rs` (which writes travel)
//! and `coherence_fleet/chaos.rs`; every `#[test]` is at the end of this file.
//!
//! "Stale" throughout: a node serving a value that a write acknowledged elsewhere has replaced,
//! once that write's invalidation had every chance to arrive. A miss is always allowed. Nothing
//! copies values between nodes, so a node only ever holds what was written on it: most checks
//! below rest on that.
//! No timing assertions: every wait polls with a generous deadline (`fleet::DEADLINE`).
//!
//! Three tests reproduce ways a node kept a stale value for ever before they were fixed:
//! `*_writes_while_coherence_off_reach_the_peers`, `*_deletes_of_absent_keys_remove_the_copies`,
//! `*_remote_parent_writes_remove_dependents_of_absent_parents`.

#[path = "coherence_fleet/chaos.rs"]
mod chaos;
mod common;
#[path = "common/fleet.rs"]
mod fleet;
#[path = "coherence_fleet/writes.rs"]
mod writes;

use std::time::Duration;

use fleet::{
    config_set, counter, settle_exact, settle_quiet, wait_ready, wait_until, with_secret, Fleet,
    Invalidation, Kind, RedisServer, Topology, Tracker,
};
use redis::{Commands, Connection};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

pub fn get(con: &mut Connection, key: &str) -> Option<String> {
    con.get(key).expect("GET")
}

pub fn set(con: &mut Connection, key: &str, value: &str) {
    let _: () = con.set(key, value).expect("SET");
}

/// Property: invalidations from one origin are applied on a peer in the order the origin's
/// writes were acknowledged (checked on the RESP3 tracking pushes the peer emits when it applies
/// them), and the peer holds none of the overwritten keys afterwards. Twice: one write per round
/// trip (about one message each), then a pipeline of 3000 (batched, and cut into several
/// messages of at most 64 KiB).
fn per_origin_order(topology: Topology) {
    let fleet = Fleet::start(topology, &[Kind::Local, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    let mut tracker = Tracker::connect(fleet.ports()[B]);
    for (count, pipelined) in [(200, false), (3000, true)] {
        // Long keys, so that the pipeline's batch exceeds one message.
        let keys: Vec<String> = (0..count).map(|i| format!("k{i}:{:040}", 0)).collect();
        let mut fill = redis::pipe();
        for key in &keys {
            fill.set(key, "b").ignore();
        }
        let _: () = fill.query(&mut cons[B]).expect("fill B");
        // B's own writes are pushed too; take them, and let B's messages reach A and C
        // (otherwise a late one would delete A's new value, harmlessly but confusingly).
        tracker.collect_keys(keys.len());
        settle_exact(topology, &mut cons);
        let sent_before = counter(&mut cons[A], "messages_sent");

        if pipelined {
            let mut writes = redis::pipe();
            for key in &keys {
                writes.set(key, "a").ignore();
            }
            let _: () = writes.query(&mut cons[A]).expect("pipeline on A");
        } else {
            for key in &keys {
                set(&mut cons[A], key, "a");
            }
        }
        let pushed: Vec<String> = tracker
            .collect_keys(keys.len())
            .into_iter()
            .map(|k| String::from_utf8(k).expect("utf-8 key"))
            .collect();
        if let Some(at) = (0..keys.len()).find(|i| pushed.get(*i) != keys.get(*i)) {
            panic!(
                "B applied A's invalidations out of order at {at}: {:?} for {}",
                pushed.get(at),
                keys[at]
            );
        }
        assert_eq!(pushed.len(), keys.len());
        for key in &keys {
            assert_eq!(get(&mut cons[B], key), None, "B still holds {key}");
        }
        // Nothing more: one push per key, no flush.
        settle_exact(topology, &mut cons);
        assert_eq!(tracker.next_invalidation(Duration::from_millis(100)), None);
        eprintln!(
            "{count} writes on A (pipelined: {pipelined}): {} messages",
            counter(&mut cons[A], "messages_sent") - sent_before
        );
    }
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
    let mut tracker = Tracker::connect(fleet.ports()[B]);
    for key in &keys {
        set(&mut cons[B], key, "old");
    }
    tracker.collect_keys(keys.len());
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
    // B's clients that cache keys locally (client tracking) are told to drop them too: a flush
    // push, or every key.
    let mut told: Vec<Vec<u8>> = Vec::new();
    wait_until("B's tracking client told", || {
        match tracker.next_invalidation(Duration::from_millis(50)) {
            Some(Invalidation::Everything) => return true,
            Some(Invalidation::Keys(batch)) => told.extend(batch),
            None => {}
        }
        keys.iter().all(|k| told.contains(&k.as_bytes().to_vec()))
    });
    both_ways(topology, &mut cons);
}

/// Property: a client caching on B in the default tracking mode (it read the key) is told when
/// a write on A invalidates the key on B, and B no longer serves it.
fn client_side_cache_on_b_is_invalidated(topology: Topology) {
    let fleet = Fleet::start(topology, &[Kind::Local, Kind::Local, Kind::Local]);
    let mut cons = fleet.clients();
    set(&mut cons[B], "cached", "b");
    settle_exact(topology, &mut cons);
    let mut tracker = Tracker::connect_with(fleet.ports()[B], &[]);
    assert_eq!(tracker.call(&["GET", "cached"]), b"$1\r\nb\r\n");
    set(&mut cons[A], "cached", "a");
    assert_eq!(
        tracker.collect_keys(1),
        vec![b"cached".to_vec()],
        "push for the key read"
    );
    assert_eq!(get(&mut cons[B], "cached"), None);
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

/// `wait_until` for a check that explains its failure: panics with the last explanation.
pub fn wait_for(mut check: impl FnMut() -> Result<(), String>) {
    let start = std::time::Instant::now();
    while let Err(why) = check() {
        assert!(start.elapsed() < fleet::DEADLINE, "{why}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// True when the key exists whatever its type.
pub fn get_any(con: &mut Connection, key: &str) -> bool {
    con.exists(key).expect("EXISTS")
}

// Mesh: the topology that exists.

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
fn mesh_client_side_cache_on_b_is_invalidated() {
    client_side_cache_on_b_is_invalidated(Topology::Mesh);
}

#[test]
fn mesh_every_creating_write_removes_the_copies() {
    writes::every_creating_write_removes_the_copies(Topology::Mesh);
}

#[test]
fn mesh_any_key_in_any_db_propagates() {
    writes::any_key_in_any_db_propagates(Topology::Mesh);
}

#[test]
fn mesh_flushes_and_invalidations_reach_the_peers() {
    writes::flushes_and_invalidations_reach_the_peers(Topology::Mesh);
}

#[test]
fn mesh_remote_parent_writes_remove_dependents() {
    writes::remote_parent_writes_remove_dependents(Topology::Mesh);
}

#[test]
fn mesh_remote_parent_writes_remove_dependents_of_absent_parents() {
    writes::remote_parent_writes_remove_dependents_of_absent_parents(Topology::Mesh);
}

#[test]
fn mesh_chaos() {
    chaos::chaos(Topology::Mesh);
}

#[test]
fn mesh_writes_while_coherence_off_reach_the_peers() {
    writes_while_coherence_off_reach_the_peers(Topology::Mesh);
}

#[test]
fn mesh_deletes_of_absent_keys_remove_the_copies() {
    writes::deletes_of_absent_keys_remove_the_copies(Topology::Mesh);
}

// Bus: the same scenarios with a redis-server as the broker.

fn on_bus(scenario: fn(Topology)) {
    let redis = RedisServer::start();
    scenario(Topology::Bus {
        redis_port: redis.port,
    });
}

#[test]
fn bus_per_origin_order() {
    on_bus(per_origin_order);
}

#[test]
fn bus_values_never_go_back() {
    on_bus(values_never_go_back);
}

#[test]
fn bus_restarted_peer_holds_nothing_stale() {
    on_bus(restarted_peer_holds_nothing_stale);
}

#[test]
fn bus_restarted_origin_leaves_nothing_stale() {
    on_bus(restarted_origin_leaves_nothing_stale);
}

#[test]
fn bus_cut_link_leaves_nothing_stale() {
    on_bus(cut_link_leaves_nothing_stale);
}

#[test]
fn bus_client_side_cache_on_b_is_invalidated() {
    on_bus(client_side_cache_on_b_is_invalidated);
}

#[test]
fn bus_every_creating_write_removes_the_copies() {
    on_bus(writes::every_creating_write_removes_the_copies);
}

#[test]
fn bus_any_key_in_any_db_propagates() {
    on_bus(writes::any_key_in_any_db_propagates);
}

#[test]
fn bus_flushes_and_invalidations_reach_the_peers() {
    on_bus(writes::flushes_and_invalidations_reach_the_peers);
}

#[test]
fn bus_remote_parent_writes_remove_dependents() {
    on_bus(writes::remote_parent_writes_remove_dependents);
}

#[test]
fn bus_remote_parent_writes_remove_dependents_of_absent_parents() {
    on_bus(writes::remote_parent_writes_remove_dependents_of_absent_parents);
}

#[test]
fn bus_chaos() {
    on_bus(chaos::chaos);
}

#[test]
fn bus_writes_while_coherence_off_reach_the_peers() {
    on_bus(writes_while_coherence_off_reach_the_peers);
}

#[test]
fn bus_deletes_of_absent_keys_remove_the_copies() {
    on_bus(writes::deletes_of_absent_keys_remove_the_copies);
}

// With coherence-secret: signed messages, links that authenticate on every (re)connection, replays
// checked, through restarts and cut links.

const SECRET: &str = "fleet secret";

#[test]
fn mesh_chaos_with_a_secret() {
    with_secret(SECRET, || chaos::chaos(Topology::Mesh));
}

#[test]
fn bus_chaos_with_a_secret() {
    with_secret(SECRET, || on_bus(chaos::chaos));
}

#[test]
fn bus_restarted_origin_leaves_nothing_stale_with_a_secret() {
    with_secret(SECRET, || on_bus(restarted_origin_leaves_nothing_stale));
}
