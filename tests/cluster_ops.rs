//! A cluster of three real `cachet` processes (spawned from the built binary, killed by PID when
//! dropped) under what operators do to it: `redis-cli --cluster reshard` of 1000 slots while a
//! cluster client writes and reads (no key written before it lost, every read served, cachet's
//! metadata and TTLs kept), a node killed (CLUSTERDOWN or not per
//! `cluster-require-full-coverage`), and a cluster-wide TAG.INVALIDATE while clients write on
//! every node.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use common::TempDir;
use fleet::{connect, free_port, wait_until, ProcessNode};
use redis::Connection;

/// Three daemons, node i owning its third of the slots. Dropped in field order: the processes
/// first, then their directory.
struct Cluster {
    nodes: Vec<ProcessNode>,
    ids: Vec<String>,
    _dir: TempDir,
}

impl Cluster {
    fn start(name: &str, extra: &[&str]) -> Cluster {
        let dir = TempDir::new(name);
        let mut nodes = Vec::new();
        for n in 0..3 {
            let node_dir = dir.0.join(n.to_string());
            std::fs::create_dir_all(&node_dir).expect("node dir");
            let mut args: Vec<String> = [
                "--dir",
                &node_dir.display().to_string(),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            // A bus port of its own: the default, the port + 10000, may be another socket's
            // (the process then fails to start, as a flake of this test showed).
            args.extend(["--cluster-port".to_string(), free_port().to_string()]);
            args.extend(extra.iter().map(|s| s.to_string()));
            nodes.push(ProcessNode::start(free_port(), args));
        }
        let ids: Vec<String> = nodes
            .iter()
            .map(|n| query(&mut con(n.port), &["CLUSTER", "MYID"]).unwrap())
            .collect();
        let bounds = [(0, 5460), (5461, 10922), (10923, 16383)];
        let shards: Vec<String> = (0..3)
            .map(|i| {
                format!(
                    r#"{{"slot_ranges": [{{"start": {}, "end": {}}}], "master": {{"id": "{}", "ip": "127.0.0.1", "port": {}}}, "replicas": []}}"#,
                    bounds[i].0, bounds[i].1, ids[i], nodes[i].port
                )
            })
            .collect();
        let json = format!("[{}]", shards.join(", "));
        for node in &nodes {
            let ok: String =
                query(&mut con(node.port), &["CACHE.CLUSTER", "CONFIG", &json]).unwrap();
            assert_eq!(ok, "OK");
        }
        Cluster {
            nodes,
            ids,
            _dir: dir,
        }
    }

    fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    fn client(&self) -> redis::cluster::ClusterConnection {
        let urls: Vec<String> = self
            .ports()
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}/"))
            .collect();
        redis::cluster::ClusterClient::new(urls)
            .expect("cluster client")
            .get_connection()
            .expect("cluster connection")
    }
}

fn con(port: u16) -> Connection {
    connect(port).expect("connect")
}

fn query<T: redis::FromRedisValue>(
    con: &mut impl redis::ConnectionLike,
    args: &[&str],
) -> redis::RedisResult<T> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(con)
}

fn redis_cli(args: &[&str]) -> (bool, String) {
    let out = Command::new("redis-cli")
        .args(args)
        .output()
        .expect("redis-cli");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A value of CACHE.INSPECT's reply (a flat list of names and values in RESP2).
fn inspect(con: &mut Connection, key: &str, field: &str) -> redis::Value {
    let reply: Vec<redis::Value> = query(con, &["CACHE.INSPECT", key]).unwrap();
    let at = reply
        .iter()
        .position(|v| matches!(v, redis::Value::BulkString(b) if b == field.as_bytes()))
        .unwrap_or_else(|| panic!("no {field} in CACHE.INSPECT {key}"));
    reply[at + 1].clone()
}

fn owner_port(cluster: &Cluster, key: &str) -> u16 {
    for port in cluster.ports() {
        let n: i64 = query(&mut con(port), &["EXISTS", key]).unwrap_or(0);
        if n == 1 {
            return port;
        }
    }
    panic!("{key} is on no node");
}

#[test]
fn redis_cli_reshards_1000_slots_under_load_keeping_every_key_and_its_metadata() {
    let cluster = Cluster::start("reshard", &[]);
    let ports = cluster.ports();
    let mut client = cluster.client();
    // Keys written before the reshard, a third of them in the slots that move (node 0's
    // first 1000), some with cachet's metadata and a TTL.
    for i in 0..3000 {
        let () = query(
            &mut client,
            &["SET", &format!("before:{i}"), &i.to_string()],
        )
        .unwrap();
    }
    let mut moving_meta = Vec::new();
    for i in 0..300 {
        let key = format!("meta:{i}");
        let () = query(
            &mut client,
            &[
                "CACHE.SET",
                &key,
                "v",
                "EX",
                "3000",
                "PRIORITY",
                "high",
                "COST",
                "7",
                "TAGS",
                "2",
                "t1",
                "t2",
            ],
        )
        .unwrap();
        let slot: i64 = query(&mut client, &["CLUSTER", "KEYSLOT", &key]).unwrap();
        if slot < 1000 {
            moving_meta.push(key);
        }
    }
    assert!(!moving_meta.is_empty());

    // A writer and reader through the reshard: every write acknowledged, every read of a key
    // written before answered with its value (MOVED and ASK followed by the client).
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let load = {
        let (stop, written) = (stop.clone(), written.clone());
        let mut client = cluster.client();
        std::thread::spawn(move || -> Result<(), String> {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                query::<()>(
                    &mut client,
                    &["SET", &format!("during:{i}"), &i.to_string()],
                )
                .map_err(|e| format!("SET during:{i}: {e}"))?;
                written.store(i + 1, Ordering::Relaxed);
                let old = i % 3000;
                let value: Option<String> = query(&mut client, &["GET", &format!("before:{old}")])
                    .map_err(|e| format!("GET before:{old}: {e}"))?;
                if value.as_deref() != Some(old.to_string().as_str()) {
                    return Err(format!("before:{old} read {value:?}"));
                }
                i += 1;
            }
            Ok(())
        })
    };
    wait_until("the load to start", || written.load(Ordering::Relaxed) > 50);
    let (ok, out) = redis_cli(&[
        "--cluster",
        "reshard",
        &format!("127.0.0.1:{}", ports[0]),
        "--cluster-from",
        &cluster.ids[0],
        "--cluster-to",
        &cluster.ids[1],
        "--cluster-slots",
        "1000",
        "--cluster-yes",
    ]);
    assert!(ok, "redis-cli --cluster reshard failed:\n{out}");
    let during = written.load(Ordering::Relaxed);
    wait_until("writes after the reshard", || {
        written.load(Ordering::Relaxed) > during + 50
    });
    stop.store(true, Ordering::Relaxed);
    load.join()
        .expect("load thread")
        .expect("every write and read served");
    let total_during = written.load(Ordering::Relaxed);

    // The slots moved, every key is where its slot is, nothing was lost.
    let (ok, out) = redis_cli(&["--cluster", "check", &format!("127.0.0.1:{}", ports[2])]);
    assert!(ok, "redis-cli --cluster check:\n{out}");
    assert!(
        out.contains("[OK] All nodes agree about slots configuration."),
        "{out}"
    );
    assert!(out.contains("[OK] All 16384 slots covered."), "{out}");
    for port in &ports {
        let nodes: String = query(&mut con(*port), &["CLUSTER", "NODES"]).unwrap();
        let line = nodes
            .lines()
            .find(|l| l.starts_with(&cluster.ids[1]))
            .expect("node 1's line");
        assert!(line.contains(" 0-999 "), "{port}: {line}");
    }
    let mut client = cluster.client();
    for i in 0..3000 {
        let value: Option<String> = query(&mut client, &["GET", &format!("before:{i}")]).unwrap();
        assert_eq!(value, Some(i.to_string()), "before:{i}");
    }
    for i in 0..total_during {
        let value: Option<String> = query(&mut client, &["GET", &format!("during:{i}")]).unwrap();
        assert_eq!(value, Some(i.to_string()), "during:{i}");
    }
    let keys: i64 = ports
        .iter()
        .map(|p| query::<i64>(&mut con(*p), &["DBSIZE"]).unwrap())
        .sum();
    assert_eq!(keys as usize, 3000 + 300 + total_during);

    // Metadata and TTL travelled with the keys that moved.
    for key in &moving_meta {
        assert_eq!(owner_port(&cluster, key), ports[1], "{key}");
        let mut node = con(ports[1]);
        assert_eq!(
            inspect(&mut node, key, "priority"),
            redis::Value::BulkString(b"high".to_vec())
        );
        assert_eq!(inspect(&mut node, key, "cost"), redis::Value::Int(7));
        let ttl: i64 = query(&mut node, &["TTL", key]).unwrap();
        assert!((2900..=3000).contains(&ttl), "{key} TTL {ttl}");
        let tagged: Vec<String> = query(&mut node, &["TAG.KEYS", "t2"]).unwrap();
        assert!(tagged.contains(key), "{key} not under t2 on its new node");
    }
}

#[test]
fn a_killed_node_takes_the_cluster_down_or_only_its_slots() {
    let mut cluster = Cluster::start("failure", &["--cluster-node-timeout", "1000"]);
    let ports = cluster.ports();
    // One key per node, found by asking each node which of a few keys it owns.
    let mut client = cluster.client();
    let mut on_node: Vec<Option<String>> = vec![None; 3];
    for i in 0..100 {
        let key = format!("k{i}");
        let () = query(&mut client, &["SET", &key, "v"]).unwrap();
        let at = ports
            .iter()
            .position(|&p| p == owner_port(&cluster, &key))
            .unwrap();
        on_node[at].get_or_insert(key);
    }
    let keys: Vec<String> = on_node
        .into_iter()
        .map(|k| k.expect("a key on every node"))
        .collect();
    let info = |port: u16| -> String { query(&mut con(port), &["CLUSTER", "INFO"]).unwrap() };
    assert!(info(ports[0]).contains("cluster_state:ok"));

    cluster.nodes[2].kill();
    for (at, port) in ports[..2].iter().enumerate() {
        wait_until("the survivors to take node 2 as failed", || {
            info(*port).contains("cluster_state:fail")
        });
        let text = info(*port);
        assert!(text.contains("cluster_slots_fail:5461"), "{text}");
        let nodes: String = query(&mut con(*port), &["CLUSTER", "NODES"]).unwrap();
        let line = nodes
            .lines()
            .find(|l| l.starts_with(&cluster.ids[2]))
            .unwrap();
        assert!(
            line.contains(" master,fail ") && line.contains(" disconnected"),
            "{line}"
        );
        // Full coverage required (the default): even this node's own keys are refused.
        let key = &keys[at];
        let err = query::<Option<String>>(&mut con(*port), &["GET", key]).unwrap_err();
        assert_eq!(err.code(), Some("CLUSTERDOWN"), "{key}: {err}");
        assert_eq!(err.detail(), Some("The cluster is down"), "{key}: {err}");
    }

    // Without full coverage the survivors serve their own slots; node 2's are redirected to it.
    for port in &ports[..2] {
        let () = query(
            &mut con(*port),
            &["CONFIG", "SET", "cluster-require-full-coverage", "no"],
        )
        .unwrap();
        assert!(info(*port).contains("cluster_state:ok"));
    }
    for at in 0..2 {
        let value: Option<String> = query(&mut con(ports[at]), &["GET", &keys[at]]).unwrap();
        assert_eq!(value.as_deref(), Some("v"));
    }
    let err = query::<Option<String>>(&mut con(ports[0]), &["GET", &keys[2]]).unwrap_err();
    assert_eq!(err.code(), Some("MOVED"), "{err}");

    // Back: its first answer ends the failure.
    for port in &ports[..2] {
        let () = query(
            &mut con(*port),
            &["CONFIG", "SET", "cluster-require-full-coverage", "yes"],
        )
        .unwrap();
    }
    cluster.nodes[2].restart();
    for port in &ports[..2] {
        wait_until("node 2 to be seen again", || {
            info(*port).contains("cluster_state:ok")
        });
    }
}

#[test]
fn a_cluster_wide_tag_invalidation_leaves_no_tagged_key_written_before_it() {
    let cluster = Cluster::start("invalidate", &[]);
    let ports = cluster.ports();
    let stop = Arc::new(AtomicBool::new(false));
    // One writer per node, each writing tagged keys of the slots that node owns (through the
    // cluster client) and recording the keys acknowledged before the invalidation was sent.
    let sent = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (stop, sent) = (stop.clone(), sent.clone());
            let mut client = cluster.client();
            std::thread::spawn(move || -> Vec<String> {
                let mut before = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("w{w}:{i}");
                    let () = query(
                        &mut client,
                        &["CACHE.SET", &key, "v", "TAGS", "1", "shared"],
                    )
                    .expect("CACHE.SET");
                    // Read after the acknowledgement: a write still in flight when the
                    // invalidation was sent may land on either side of it.
                    if !sent.load(Ordering::SeqCst) {
                        before.push(key);
                    }
                    i += 1;
                }
                before
            })
        })
        .collect();
    let mut first = con(ports[0]);
    wait_until("tagged keys on every node", || {
        ports
            .iter()
            .all(|p| query::<i64>(&mut con(*p), &["TAG.CARD", "shared"]).unwrap_or(0) > 20)
    });
    sent.store(true, Ordering::SeqCst);
    let removed: i64 = query(&mut first, &["TAG.INVALIDATE", "shared"]).unwrap();
    stop.store(true, Ordering::Relaxed);
    let before: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().expect("writer"))
        .collect();
    assert!(
        removed as usize >= before.len(),
        "{removed} < {}",
        before.len()
    );
    let mut client = cluster.client();
    for key in &before {
        let value: Option<String> = query(&mut client, &["GET", key]).unwrap();
        assert_eq!(
            value, None,
            "{key} was written before the invalidation and survived"
        );
    }
    // A pattern the same way.
    for i in 0..50 {
        let () = query(&mut client, &["SET", &format!("pat:{i}"), "v"]).unwrap();
    }
    let removed: i64 = query(&mut con(ports[1]), &["CACHE.INVALIDATE", "pat:*"]).unwrap();
    assert_eq!(removed, 50);
    let left: i64 = ports
        .iter()
        .map(|p| {
            query::<Vec<String>>(&mut con(*p), &["KEYS", "pat:*"])
                .unwrap()
                .len() as i64
        })
        .sum();
    assert_eq!(left, 0);
}
