//! Coherence across a restart: a daemon that follows a peer saves, with its snapshot, how far it
//! had applied the peer's invalidations; restarted on the same `dir` under the peer's writes, it
//! replays what it missed from the peer's backlog (no stale key, the rest of its data kept, INFO
//! counting a replay and no recovery), and drops its data only when the backlog no longer covers
//! the gap or the peer restarted. And the other way round: the daemons that follow a peer that
//! stopped cleanly (SHUTDOWN SAVE) keep their data when it comes back with its snapshot (it goes
//! on with its coherence run), and drop it when it comes back from a crash.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::path::Path;

use cachet::state::config::ProtectedAction;
use common::{info_u64, scratch_dir, TempDir, TestServer};
use redis::{Commands, Connection};

fn linkable(dir: &Path) -> TestServer {
    let dir = dir.to_string_lossy().into_owned();
    TestServer::start_with(move |c| {
        c.coherence = true;
        c.enable_protected_configs = ProtectedAction::Yes;
        c.dir = dir;
    })
}

fn follow(con: &mut Connection, peer: &TestServer) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("peer")
        .arg(format!("127.0.0.1:{}", peer.port()))
        .query(con)
        .expect("CONFIG SET peer");
    fleet::wait_until("the link up", || {
        info_u64(con, "coherence", "peers_up") == 1
    });
}

fn exists(con: &mut Connection, key: &str) -> bool {
    con.exists(key).unwrap()
}

/// A follows B; A holds `k:0..20`, saves, stops; B writes `k:3` and `k:7` meanwhile, then
/// whatever `while_down` does. Returns the restarted A and its connection, once its link is up.
fn restart_under_writes(
    b: &TestServer,
    b_con: &mut Connection,
    a_dir: &Path,
    while_down: impl FnOnce(&mut Connection),
) -> (TestServer, Connection) {
    {
        let a = linkable(a_dir);
        let mut a_con = a.client();
        follow(&mut a_con, b);
        for i in 0..20 {
            let _: () = a_con.set(format!("k:{i}"), "old").unwrap();
        }
        // A position to save: one invalidation of B applied.
        let _: () = b_con.set("other", "1").unwrap();
        fleet::wait_until("B's first invalidation applied", || {
            info_u64(&mut a_con, "coherence", "messages_received") >= 1
        });
        let _: () = redis::cmd("SAVE").query(&mut a_con).unwrap();
    }
    let _: () = b_con.set("k:3", "new").unwrap();
    let _: () = b_con.set("k:7", "new").unwrap();
    while_down(b_con);
    let a = linkable(a_dir);
    let mut a_con = a.client();
    assert_eq!(info_u64(&mut a_con, "cachet", "keys"), 20);
    follow(&mut a_con, b);
    (a, a_con)
}

#[test]
fn a_restart_replays_what_the_backlog_still_holds() {
    let b_dir = scratch_dir();
    let b = linkable(&b_dir);
    let mut b_con = b.client();
    let a_dir = scratch_dir();
    let (_a, mut a_con) = restart_under_writes(&b, &mut b_con, &a_dir, |_| {});
    // The link is up only after its catch-up: the replay has been applied.
    assert!(!exists(&mut a_con, "k:3"), "a stale k:3 after the restart");
    assert!(!exists(&mut a_con, "k:7"), "a stale k:7 after the restart");
    assert!(exists(&mut a_con, "k:0"), "the snapshot's data was dropped");
    assert_eq!(info_u64(&mut a_con, "cachet", "keys"), 18);
    assert_eq!(info_u64(&mut a_con, "coherence", "recoveries"), 0);
    assert_eq!(info_u64(&mut a_con, "coherence", "replays"), 1);
    // B's publisher may batch k:3 and k:7 into one message when it runs after both writes.
    let replayed = info_u64(&mut a_con, "coherence", "replayed_messages");
    assert!((1..=2).contains(&replayed), "replayed {replayed} messages");
    // Writes after the restart still arrive.
    let _: () = b_con.set("k:0", "new").unwrap();
    fleet::wait_until("k:0 invalidated", || !exists(&mut a_con, "k:0"));
}

#[test]
fn a_restart_past_the_backlog_drops_the_data() {
    let b_dir = scratch_dir();
    let b = linkable(&b_dir);
    let mut b_con = b.client();
    let a_dir = scratch_dir();
    let (_a, mut a_con) = restart_under_writes(&b, &mut b_con, &a_dir, |b_con| {
        // A backlog of one byte keeps only the last message: the gap is not covered.
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("coherence-backlog-size")
            .arg("1")
            .query(b_con)
            .unwrap();
        for i in 0..50 {
            let _: () = b_con.set(format!("filler:{i}"), "x").unwrap();
        }
    });
    assert_eq!(info_u64(&mut a_con, "coherence", "recoveries"), 1);
    fleet::wait_until("the data dropped", || {
        info_u64(&mut a_con, "cachet", "keys") == 0
    });
}

#[test]
fn a_peer_that_restarted_meanwhile_is_not_resumed() {
    let b_dir = scratch_dir();
    let b = linkable(&b_dir);
    let mut b_con = b.client();
    let a_dir = scratch_dir();
    // A's saved position is B's; the peer it finds after its restart is another daemon.
    {
        let a = linkable(&a_dir);
        let mut a_con = a.client();
        follow(&mut a_con, &b);
        let _: () = a_con.set("k", "old").unwrap();
        let _: () = b_con.set("other", "1").unwrap();
        fleet::wait_until("B's first invalidation applied", || {
            info_u64(&mut a_con, "coherence", "messages_received") >= 1
        });
        let _: () = redis::cmd("SAVE").query(&mut a_con).unwrap();
    }
    drop(b_con);
    drop(b);
    let b2_dir = scratch_dir();
    let b2 = linkable(&b2_dir);
    let a = linkable(&a_dir);
    let mut a_con = a.client();
    assert!(exists(&mut a_con, "k"));
    follow(&mut a_con, &b2);
    assert_eq!(info_u64(&mut a_con, "coherence", "recoveries"), 1);
    fleet::wait_until("the data dropped", || !exists(&mut a_con, "k"));
}

fn info_text(con: &mut Connection, field: &str) -> String {
    common::info_field(con, "coherence", field)
}

/// B, a daemon process of its own (so that it can stop, crash and restart on its `dir`), and A,
/// in process, following it: A holds `k:0..20` and has applied one invalidation of B. Fields drop
/// in their order: B is killed, A stops, then their directories go.
struct FollowedProcess {
    b: fleet::ProcessNode,
    b_con: Connection,
    /// B's coherence run before any restart.
    run: String,
    a_con: Connection,
    /// A's recoveries so far: the link's first subscription counted one (A held nothing then).
    recoveries: u64,
    _a: TestServer,
    b_dir: TempDir,
    _a_dir: TempDir,
}

/// Starts B with `b_args` added to a mesh node's, and A following it.
fn follow_a_process(b_args: &[&str]) -> FollowedProcess {
    let b_dir = scratch_dir();
    let a_dir = scratch_dir();
    let a = linkable(&a_dir);
    let port = fleet::free_port();
    let mut args = fleet::process_args(fleet::Topology::Mesh, &[]);
    args.extend(["--dir".to_string(), b_dir.to_string_lossy().into_owned()]);
    args.extend(b_args.iter().map(|arg| arg.to_string()));
    let b = fleet::ProcessNode::start(port, args);
    let mut a_con = a.client();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("peer")
        .arg(format!("127.0.0.1:{port}"))
        .query(&mut a_con)
        .unwrap();
    fleet::wait_until("the link up", || {
        info_u64(&mut a_con, "coherence", "peers_up") == 1
    });
    for i in 0..20 {
        let _: () = a_con.set(format!("k:{i}"), "old").unwrap();
    }
    let mut b_con = fleet::connect(port).unwrap();
    let _: () = b_con.set("other", "1").unwrap();
    fleet::wait_until("B's first invalidation applied", || {
        info_u64(&mut a_con, "coherence", "messages_received") >= 1
    });
    let run = info_text(&mut b_con, "run");
    let recoveries = info_u64(&mut a_con, "coherence", "recoveries");
    FollowedProcess {
        b,
        b_con,
        run,
        a_con,
        recoveries,
        _a: a,
        b_dir,
        _a_dir: a_dir,
    }
}

#[test]
fn followers_of_a_peer_that_stopped_cleanly_keep_their_data_and_a_crash_drops_it() {
    let mut f = follow_a_process(&[]);
    // B's last invalidation: A may or may not have applied it when B stops; if not, it must be
    // replayed from the backlog B keeps across the restart.
    let _: () = f.b_con.set("k:5", "new").unwrap();
    let _ = redis::cmd("SHUTDOWN").arg("SAVE").query::<()>(&mut f.b_con);
    f.b.wait_exit();
    assert!(
        f.b_dir.join("dump.cachet.run").exists(),
        "no run marker after a clean stop"
    );
    f.b.restart();
    assert!(
        !f.b_dir.join("dump.cachet.run").exists(),
        "the run marker was not consumed"
    );
    let mut b_con = fleet::connect(f.b.port).unwrap();
    assert_eq!(
        info_text(&mut b_con, "run"),
        f.run,
        "B did not resume its run"
    );
    // A write after B's restart reaches A once its link has caught up.
    let _: () = b_con.set("k:3", "new").unwrap();
    fleet::wait_until("k:3 invalidated on A", || !exists(&mut f.a_con, "k:3"));
    assert!(
        !exists(&mut f.a_con, "k:5"),
        "a stale k:5: B's last message before it stopped was lost"
    );
    assert_eq!(info_u64(&mut f.a_con, "cachet", "keys"), 18);
    assert_eq!(
        info_u64(&mut f.a_con, "coherence", "recoveries"),
        f.recoveries
    );
    assert_eq!(info_u64(&mut f.a_con, "coherence", "origin_restarts"), 0);

    // A crash after the resumed run published: the next process starts a new run (the marker is
    // gone, and what the crashed process published after it cannot be known), and A drops.
    let _: () = b_con.set("k:0", "new").unwrap();
    fleet::wait_until("k:0 invalidated on A", || !exists(&mut f.a_con, "k:0"));
    f.b.kill();
    f.b.restart();
    let mut b_con = fleet::connect(f.b.port).unwrap();
    assert_ne!(
        info_text(&mut b_con, "run"),
        f.run,
        "a crashed B resumed its run"
    );
    fleet::wait_until("A's data dropped", || {
        info_u64(&mut f.a_con, "cachet", "keys") == 0
    });
    assert_eq!(
        info_u64(&mut f.a_con, "coherence", "recoveries"),
        f.recoveries + 1
    );
}

/// A follower that reconnects while its peer, stopped cleanly, still loads its snapshot must not
/// take the run the peer has before its snapshot (and run marker) are loaded: that run is about to
/// be replaced, and taking it would drop the follower's data twice (the run "changed" at the
/// reconnection and again at the next message). The peer answers `-LOADING` to CACHE.PEER
/// POSITION until then, and the follower waits and subscribes again. The snapshot is a FIFO the
/// test feeds, which holds the peer's load as long as the test wants.
#[test]
fn a_follower_waits_for_a_peer_that_is_still_loading() {
    // A node id given, so the daemon does not read the snapshot's header (the FIFO) for it.
    let mut f = follow_a_process(&["--node-id", "b-loading"]);
    let _ = redis::cmd("SHUTDOWN").arg("SAVE").query::<()>(&mut f.b_con);
    f.b.wait_exit();
    let snapshot = f.b_dir.join("dump.cachet");
    let bytes = std::fs::read(&snapshot).unwrap();
    common::snapshot_fifo(&snapshot);
    let _unblock = common::Unblock(snapshot.clone());
    f.b.restart_accepting();
    let mut b_con = fleet::connect(f.b.port).unwrap();
    // A's link subscribes (SUBSCRIBE is allowed while loading), asks B's position and is refused.
    fleet::wait_until("A's position refused by the loading B", || {
        let text: String = redis::cmd("INFO")
            .arg("errorstats")
            .query(&mut b_con)
            .unwrap();
        text.lines()
            .any(|line| line.starts_with("errorstat_LOADING:count="))
    });
    assert_eq!(info_u64(&mut f.a_con, "cachet", "keys"), 20);
    assert_eq!(info_u64(&mut f.a_con, "coherence", "peers_up"), 0);
    std::io::Write::write_all(&mut common::feed_fifo(&snapshot), &bytes).unwrap();
    fleet::wait_until("B loaded", || {
        common::info_field(&mut b_con, "persistence", "loading") == "0"
    });
    assert_eq!(
        info_text(&mut b_con, "run"),
        f.run,
        "B did not resume its run"
    );
    fleet::wait_until("the link up again", || {
        info_u64(&mut f.a_con, "coherence", "peers_up") == 1
    });
    let _: () = b_con.set("k:3", "new").unwrap();
    fleet::wait_until("k:3 invalidated on A", || !exists(&mut f.a_con, "k:3"));
    assert_eq!(info_u64(&mut f.a_con, "cachet", "keys"), 19);
    assert_eq!(
        info_u64(&mut f.a_con, "coherence", "recoveries"),
        f.recoveries
    );
    assert_eq!(info_u64(&mut f.a_con, "coherence", "origin_restarts"), 0);
}
