//! The Redis Cluster client protocol: three in-process daemons given one topology
//! (CACHE.CLUSTER CONFIG, or CLUSTER ADDSLOTS/MEET), then what clients read (SLOTS, SHARDS, NODES,
//! INFO), the redirections (MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN), real cluster clients
//! (`redis-cli -c`, the `redis` crate's cluster client, redis-py's RedisCluster) and the
//! topology surviving a restart; bad topologies refused whole. Shapes and error texts are
//! compared with a real three-node `redis-server` cluster made by `redis-cli --cluster create`.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::process::{Command, Stdio};

use cachet::state::cluster::Mode;
use common::{bulk, call, int, RawClient, TempDir, TestServer};

fn id(n: usize) -> String {
    format!("{:040x}", 0xc0ffee00 + n)
}

/// The bus port a node shows by default: port + 10000, or the port itself where that would
/// pass 65535 (cachet has no bus to listen on; Redis refuses such a port in cluster mode).
fn bus_port(port: u16) -> u16 {
    port.checked_add(10000).unwrap_or(port)
}

fn start_node(dir: &TempDir, n: usize) -> TestServer {
    let file = dir.0.join(format!("nodes-{n}.conf"));
    TestServer::start_with(move |c| {
        c.cluster_enabled = Mode::Yes;
        c.cluster_config_file = file.display().to_string();
        c.cluster_node_id = id(n);
    })
}

/// Dragonfly-style topology: node i owns its third of the slots.
fn three_shards(ports: &[u16]) -> String {
    let bounds = [(0, 5460), (5461, 10922), (10923, 16383)];
    let shards: Vec<String> = (0..3)
        .map(|i| {
            format!(
                r#"{{"slot_ranges": [{{"start": {}, "end": {}}}], "master": {{"id": "{}", "ip": "127.0.0.1", "port": {}}}, "replicas": []}}"#,
                bounds[i].0,
                bounds[i].1,
                id(i),
                ports[i]
            )
        })
        .collect();
    format!("[{}]", shards.join(", "))
}

fn install(raw: &mut RawClient, json: &str) -> Vec<u8> {
    raw.call(&[b"CACHE.CLUSTER", b"CONFIG", json.as_bytes()])
}

struct Cluster {
    _dir: TempDir,
    nodes: Vec<TestServer>,
}

impl Cluster {
    fn start(name: &str) -> Cluster {
        let dir = TempDir::new(name);
        let nodes: Vec<TestServer> = (0..3).map(|n| start_node(&dir, n)).collect();
        let ports: Vec<u16> = nodes.iter().map(TestServer::port).collect();
        let json = three_shards(&ports);
        for node in &nodes {
            assert_eq!(install(&mut node.raw(), &json), b"+OK\r\n");
        }
        Cluster { _dir: dir, nodes }
    }

    fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(TestServer::port).collect()
    }
}

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

/// The body of a bulk string reply.
fn body(reply: &[u8]) -> String {
    let reply = text(reply);
    let start = reply.find("\r\n").expect("a bulk reply") + 2;
    reply[start..reply.len() - 2].to_string()
}

#[test]
fn standalone_refuses_cluster_commands_as_redis() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let disabled = b"-ERR This instance has cluster support disabled\r\n";
    for request in [
        "cluster info",
        "cluster nodes",
        "cluster keyslot a",
        "readonly",
        "readwrite",
        "asking",
        "cluster help",
    ] {
        assert_eq!(call(&mut raw, request), disabled, "{request}");
    }
    assert_eq!(
        call(&mut raw, "cluster nope"),
        b"-ERR unknown subcommand 'nope'. Try CLUSTER HELP.\r\n"
    );
    assert_eq!(call(&mut raw, "select 1"), b"+OK\r\n");
    let info = body(&call(&mut raw, "info cluster"));
    assert!(info.contains("cluster_enabled:0"), "{info}");
}

#[test]
fn what_clients_read_from_three_nodes() {
    let cluster = Cluster::start("read");
    let ports = cluster.ports();
    let mut raw = cluster.nodes[0].raw();
    // CLUSTER SLOTS, byte for byte as Redis 7.0 shapes it: ranges in slot order, each node as
    // ip, port, id and an empty metadata map.
    let mut expected = b"*3\r\n".to_vec();
    for (i, (first, last)) in [(0, 5460), (5461, 10922), (10923, 16383)]
        .iter()
        .enumerate()
    {
        expected.extend(format!("*3\r\n:{first}\r\n:{last}\r\n*4\r\n").bytes());
        expected.extend(bulk("127.0.0.1"));
        expected.extend(int(ports[i] as i64));
        expected.extend(bulk(id(i)));
        expected.extend(b"*0\r\n");
    }
    assert_eq!(text(&call(&mut raw, "cluster slots")), text(&expected));

    let nodes = body(&call(&mut raw, "cluster nodes"));
    let lines: Vec<&str> = nodes.lines().collect();
    assert_eq!(lines.len(), 3);
    let mine = format!(
        "{} 127.0.0.1:{}@{} myself,master - 0 0 1 connected 0-5460",
        id(0),
        ports[0],
        bus_port(ports[0])
    );
    assert_eq!(lines[0], mine);
    let second: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(second.len(), 9);
    assert_eq!(
        (second[0], second[2], second[3], second[7], second[8]),
        (id(1).as_str(), "master", "-", "connected", "5461-10922")
    );

    let info = body(&call(&mut raw, "cluster info"));
    for field in [
        "cluster_state:ok",
        "cluster_slots_assigned:16384",
        "cluster_slots_ok:16384",
        "cluster_known_nodes:3",
        "cluster_size:3",
        "cluster_my_epoch:1",
        "cluster_current_epoch:3",
    ] {
        assert!(info.split("\r\n").any(|l| l == field), "{field} in {info}");
    }
    assert_eq!(call(&mut raw, "cluster myid"), bulk(id(0)));
    assert_eq!(call(&mut raw, "cluster myshardid"), bulk(id(0)));
    assert_eq!(call(&mut raw, "cluster keyslot foo"), int(12182));
    assert_eq!(call(&mut raw, "cluster keyslot {user1}.a"), int(8106));
    assert_eq!(call(&mut raw, "cluster links"), b"*0\r\n");
    let info = body(&call(&mut raw, "info cluster"));
    assert!(info.contains("cluster_enabled:1"), "{info}");

    // Keys: slot 0..5460 is node 0's. "a" hashes to 15495 (node 2), "b" to 3300 (node 0).
    assert_eq!(call(&mut raw, "set b 1"), b"+OK\r\n");
    assert_eq!(
        text(&call(&mut raw, "set a 1")),
        format!("-MOVED 15495 127.0.0.1:{}\r\n", ports[2])
    );
    assert_eq!(call(&mut raw, "cluster countkeysinslot 3300"), int(1));
    assert_eq!(
        call(&mut raw, "cluster getkeysinslot 3300 10"),
        b"*1\r\n$1\r\nb\r\n"
    );
    assert_eq!(call(&mut raw, "cluster getkeysinslot 3300 0"), b"*0\r\n");
    assert_eq!(
        call(&mut raw, "cluster countkeysinslot 16384"),
        b"-ERR Invalid slot\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster getkeysinslot 3300 -1"),
        b"-ERR Invalid slot or number of keys\r\n"
    );
    assert_eq!(
        call(&mut raw, "mget b a"),
        b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    assert_eq!(call(&mut raw, "mget {b}1 {b}2"), b"*2\r\n$-1\r\n$-1\r\n");
    // Commands without keys run anywhere.
    assert_eq!(call(&mut raw, "ping"), b"+PONG\r\n");
    assert_eq!(call(&mut raw, "select 0"), b"+OK\r\n");
    assert_eq!(
        call(&mut raw, "select 1"),
        b"-ERR SELECT is not allowed in cluster mode\r\n"
    );
    // MULTI: each command is checked as it is queued; EXEC checks them together and a
    // redirected EXEC discards the transaction.
    assert_eq!(call(&mut raw, "multi"), b"+OK\r\n");
    assert_eq!(call(&mut raw, "set b 2"), b"+QUEUED\r\n");
    assert_eq!(call(&mut raw, "set {b}x 2"), b"+QUEUED\r\n");
    assert_eq!(call(&mut raw, "exec"), b"*2\r\n+OK\r\n+OK\r\n");
    // "f" (3168) is node 0's too, in another slot than "b" (3300).
    assert_eq!(call(&mut raw, "multi"), b"+OK\r\n");
    assert_eq!(call(&mut raw, "set b 3"), b"+QUEUED\r\n");
    assert_eq!(call(&mut raw, "set f 3"), b"+QUEUED\r\n");
    assert_eq!(
        call(&mut raw, "exec"),
        b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    assert_eq!(call(&mut raw, "exec"), b"-ERR EXEC without MULTI\r\n");
    // A command redirected while queued dooms the transaction.
    assert_eq!(call(&mut raw, "multi"), b"+OK\r\n");
    assert_eq!(call(&mut raw, "set b 3"), b"+QUEUED\r\n");
    assert_eq!(
        text(&call(&mut raw, "set c 3")),
        format!("-MOVED 7365 127.0.0.1:{}\r\n", ports[1])
    );
    assert_eq!(
        call(&mut raw, "exec"),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(call(&mut raw, "get b"), bulk("2"));
    // Scripts: their declared keys, one slot.
    let cross: &[&[u8]] = &[b"EVAL", b"return 1", b"2", b"b", b"a"];
    assert_eq!(
        raw.call(cross),
        b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    let script: &[&[u8]] = &[b"EVAL", b"return redis.call('get', KEYS[1])", b"1", b"b"];
    assert_eq!(raw.call(script), bulk("2"));
}

#[test]
fn migrating_slots_answer_ask_and_tryagain() {
    let cluster = Cluster::start("migrate");
    let ports = cluster.ports();
    let (mut from, mut to) = (cluster.nodes[0].raw(), cluster.nodes[1].raw());
    // "b" and "{b}x" are in slot 3300, node 0's.
    assert_eq!(call(&mut from, "set b 1"), b"+OK\r\n");
    let migrating = format!("cluster setslot 3300 migrating {}", id(1));
    let importing = format!("cluster setslot 3300 importing {}", id(0));
    assert_eq!(call(&mut from, migrating.as_str()), b"+OK\r\n");
    assert_eq!(call(&mut to, importing.as_str()), b"+OK\r\n");
    let nodes = body(&call(&mut from, "cluster nodes"));
    assert!(nodes.contains(&format!("[3300->-{}]", id(1))), "{nodes}");
    let nodes = body(&call(&mut to, "cluster nodes"));
    assert!(nodes.contains(&format!("[3300-<-{}]", id(0))), "{nodes}");
    // A key still here is served here; a missing one is asked of the target.
    assert_eq!(call(&mut from, "get b"), bulk("1"));
    let ask = format!("-ASK 3300 127.0.0.1:{}\r\n", ports[1]);
    assert_eq!(text(&call(&mut from, "get {b}x")), ask);
    assert_eq!(
        call(&mut from, "mget b {b}x"),
        b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n"
    );
    // The target serves the slot only after ASKING, for one command.
    let moved = format!("-MOVED 3300 127.0.0.1:{}\r\n", ports[0]);
    assert_eq!(text(&call(&mut to, "set {b}x 1")), moved);
    assert_eq!(call(&mut to, "asking"), b"+OK\r\n");
    assert_eq!(call(&mut to, "set {b}x 1"), b"+OK\r\n");
    assert_eq!(text(&call(&mut to, "get {b}x")), moved);
    assert_eq!(call(&mut to, "asking"), b"+OK\r\n");
    assert_eq!(
        call(&mut to, "mget {b}x b"),
        b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n"
    );
    // Giving the slot away while keys remain is refused; once moved, the slot changes hands.
    let give = format!("cluster setslot 3300 node {}", id(1));
    assert_eq!(
        call(&mut from, give.as_str()),
        b"-ERR Can't assign hashslot 3300 to a different node while I still hold keys for this hash slot.\r\n"
    );
    assert_eq!(call(&mut from, "del b"), int(1));
    assert_eq!(call(&mut from, give.as_str()), b"+OK\r\n");
    assert_eq!(call(&mut to, give.as_str()), b"+OK\r\n");
    assert_eq!(
        text(&call(&mut from, "get {b}x")),
        format!("-MOVED 3300 127.0.0.1:{}\r\n", ports[1])
    );
    assert_eq!(call(&mut to, "get {b}x"), bulk("1"));
    let nodes = body(&call(&mut to, "cluster nodes"));
    assert!(!nodes.contains("-<-"), "{nodes}");
    // Migrating to itself, which Redis accepts: a missing key is served here as in Redis, not
    // asked of the node itself.
    let to_itself = format!("cluster setslot 3300 migrating {}", id(1));
    assert_eq!(call(&mut to, to_itself.as_str()), b"+OK\r\n");
    assert_eq!(call(&mut to, "get {b}y"), b"$-1\r\n");
    assert_eq!(call(&mut to, "exists {b}y {b}z"), int(0));
    assert_eq!(call(&mut to, "cluster setslot 3300 stable"), b"+OK\r\n");
    // The new owner bumped its epoch past every other.
    let info = body(&call(&mut to, "cluster info"));
    assert!(info.contains("cluster_my_epoch:4\r\n"), "{info}");
}

#[test]
fn operator_commands_and_errors_as_redis() {
    let dir = TempDir::new("operator");
    let a = start_node(&dir, 0);
    let b = start_node(&dir, 1);
    let mut raw = a.raw();
    let info = body(&call(&mut raw, "cluster info"));
    assert!(info.contains("cluster_state:fail\r\n"), "{info}");
    assert_eq!(
        call(&mut raw, "get x"),
        b"-CLUSTERDOWN Hash slot not served\r\n"
    );
    assert_eq!(call(&mut raw, "cluster addslotsrange 0 8191"), b"+OK\r\n");
    assert_eq!(
        call(&mut raw, "cluster addslots 1"),
        b"-ERR Slot 1 is already busy\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster addslots 9000 9000"),
        b"-ERR Slot 9000 specified multiple times\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster addslots 20000"),
        b"-ERR Invalid or out of range slot\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster addslots abc"),
        b"-ERR Invalid or out of range slot\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster delslots 9000"),
        b"-ERR Slot 9000 is already unassigned\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster addslotsrange 5 1"),
        b"-ERR start slot number 5 is greater than end slot number 1\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster addslotsrange 1 2 3"),
        b"-ERR wrong number of arguments for 'cluster|addslotsrange' command\r\n"
    );
    // Half the slots: the cluster is down, keyed commands say so.
    assert_eq!(
        call(&mut raw, "get b"),
        b"-CLUSTERDOWN The cluster is down\r\n"
    );
    common::config_set(&mut a.client(), "cluster-allow-reads-when-down", "yes");
    assert_eq!(call(&mut raw, "get b"), b"$-1\r\n");
    assert_eq!(
        call(&mut raw, "set b 1"),
        b"-CLUSTERDOWN The cluster is down and only accepts read commands\r\n"
    );
    common::config_set(&mut a.client(), "cluster-require-full-coverage", "no");
    assert_eq!(call(&mut raw, "set b 1"), b"+OK\r\n");
    assert_eq!(
        call(&mut raw, "get a"),
        b"-CLUSTERDOWN Hash slot not served\r\n"
    );
    // MEET learns the other node's id from the node itself.
    let meet = format!("cluster meet 127.0.0.1 {}", b.port());
    assert_eq!(call(&mut raw, meet.as_str()), b"+OK\r\n");
    assert_eq!(
        call(&mut raw, "cluster meet 127.0.0.1 abc"),
        b"-ERR Invalid TCP base port specified: abc\r\n"
    );
    let give = format!("cluster setslot 15495 node {}", id(1));
    assert_eq!(call(&mut raw, give.as_str()), b"+OK\r\n");
    assert_eq!(
        text(&call(&mut raw, "get a")),
        format!("-MOVED 15495 127.0.0.1:{}\r\n", b.port())
    );
    assert_eq!(
        call(&mut raw, "cluster setslot 0 migrating nope"),
        b"-ERR I don't know about node nope\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster setslot 0 foo"),
        b"-ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster setslot 99999 stable"),
        b"-ERR Invalid or out of range slot\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster forget nope"),
        b"-ERR Unknown node nope\r\n"
    );
    let forget_me = format!("cluster forget {}", id(0));
    assert_eq!(
        call(&mut raw, forget_me.as_str()),
        b"-ERR I tried hard but I can't forget myself...\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster reset foo"),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster set-config-epoch 5"),
        b"-ERR The user can assign a config epoch only when the node does not know any other node.\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster replicate nope"),
        b"-ERR Unknown node nope\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster replicas nope"),
        b"-ERR Unknown node nope\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster count-failure-reports nope"),
        b"-ERR Unknown node nope\r\n"
    );
    let replicas = format!("cluster replicas {}", id(1));
    assert_eq!(call(&mut raw, replicas.as_str()), b"*0\r\n");
    assert!(text(&call(&mut raw, "cluster bumpepoch")).starts_with("+BUMPED "));
    assert_eq!(
        call(&mut raw, "cluster reset"),
        b"-ERR CLUSTER RESET can't be called with master nodes containing keys\r\n"
    );
    assert_eq!(call(&mut raw, "flushall"), b"+OK\r\n");
    let forget = format!("cluster forget {}", id(1));
    assert_eq!(call(&mut raw, forget.as_str()), b"+OK\r\n");
    let nodes = body(&call(&mut raw, "cluster nodes"));
    assert_eq!(nodes.lines().count(), 1, "{nodes}");
    assert_eq!(call(&mut raw, "cluster reset hard"), b"+OK\r\n");
    let new_id = body(&call(&mut raw, "cluster myid"));
    assert_ne!(new_id, id(0));
    let info = body(&call(&mut raw, "cluster info"));
    assert!(info.contains("cluster_slots_assigned:0\r\n"), "{info}");
    assert_eq!(call(&mut raw, "cluster set-config-epoch 5"), b"+OK\r\n");
    assert_eq!(
        call(&mut raw, "cluster set-config-epoch 6"),
        b"-ERR Node config epoch is already non-zero\r\n"
    );
}

#[test]
fn bad_topologies_are_refused_whole() {
    let cluster = Cluster::start("bad");
    let ports = cluster.ports();
    let mut raw = cluster.nodes[0].raw();
    let before = call(&mut raw, "cluster slots");
    let good = three_shards(&ports);
    let overlapping = good.replace("\"start\": 5461", "\"start\": 5000");
    let unknown_me = good.replace(&id(0), &id(9));
    let bad_id = good.replace(&id(1), "xyz");
    let twice = good.replace(&id(2), &id(1));
    let replica_twice = good.replacen(
        "\"replicas\": []",
        &format!(
            r#""replicas": [{{"id": "{}", "ip": "127.0.0.1", "port": 1}}]"#,
            id(2)
        ),
        1,
    );
    let bad_replica = good.replacen(
        "\"replicas\": []",
        r#""replicas": [{"id": "nope", "ip": "127.0.0.1", "port": 1}]"#,
        1,
    );
    let past_the_end = good.replace("16383", "16384");
    let backwards = good.replace("\"end\": 5460", "\"end\": 10");
    let backwards = backwards.replace("\"start\": 0", "\"start\": 20");
    for (json, why) in [
        ("[{", "malformed JSON"),
        ("{}", "must be a JSON array of shards"),
        (overlapping.as_str(), "slot 5000 is in two ranges"),
        (unknown_me.as_str(), "is not in the configuration"),
        (bad_id.as_str(), "invalid node id 'xyz'"),
        (twice.as_str(), "is listed twice"),
        (replica_twice.as_str(), "is listed twice"),
        (bad_replica.as_str(), "replica"),
        (past_the_end.as_str(), "in 0..16383"),
        (backwards.as_str(), "slot range 20-10 is empty"),
    ] {
        let reply = text(&install(&mut raw, json));
        assert!(
            reply.starts_with("-ERR Invalid cluster configuration: "),
            "{reply}"
        );
        assert!(reply.contains(why), "{json}: {reply}");
        assert_eq!(
            call(&mut raw, "cluster slots"),
            before,
            "{json} changed the topology"
        );
    }
}

#[test]
fn the_topology_survives_a_restart() {
    let dir = TempDir::new("restart");
    let (first_port, nodes_before) = {
        let node = start_node(&dir, 0);
        let mut raw = node.raw();
        assert_eq!(
            call(&mut raw, "cluster addslotsrange 0 99 200 300"),
            b"+OK\r\n"
        );
        (node.port(), body(&call(&mut raw, "cluster nodes")))
    };
    let saved = std::fs::read_to_string(dir.0.join("nodes-0.conf")).expect("nodes.conf");
    assert!(
        saved.ends_with("vars currentEpoch 0 lastVoteEpoch 0\n"),
        "{saved}"
    );
    assert!(
        saved.contains(" myself,master - 0 0 0 connected 0-99 200-300\n"),
        "{saved}"
    );
    // Another id asked for at restart: the saved one wins; the new port replaces the old.
    let file = dir.0.join("nodes-0.conf");
    let node = TestServer::start_with(move |c| {
        c.cluster_enabled = Mode::Yes;
        c.cluster_config_file = file.display().to_string();
        c.cluster_node_id = id(7);
    });
    let mut raw = node.raw();
    assert_eq!(call(&mut raw, "cluster myid"), bulk(id(0)));
    let nodes_after = body(&call(&mut raw, "cluster nodes"));
    assert_eq!(
        nodes_after,
        nodes_before
            .replace(&format!(":{first_port}@"), &format!(":{}@", node.port()))
            .replace(
                &format!("@{} ", bus_port(first_port)),
                &format!("@{} ", bus_port(node.port()))
            )
    );
}

#[test]
fn redis_cli_follows_moved() {
    let cluster = Cluster::start("cli");
    let ports = cluster.ports();
    let cli = |port: u16, args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-c", "-p", &port.to_string()])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .expect("redis-cli must be installed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    for key in ["foo", "a", "b", "{user1}.a"] {
        assert_eq!(cli(ports[0], &["set", key, "v"]), "OK");
        assert_eq!(cli(ports[1], &["get", key]), "v");
    }
    // The key lives on its owner only.
    let owner = |slot: u16| match slot {
        0..=5460 => 0,
        5461..=10922 => 1,
        _ => 2,
    };
    assert_eq!(
        call(&mut cluster.nodes[owner(12182)].raw(), "get foo"),
        bulk("v")
    );
}

#[test]
fn redis_crate_cluster_client_runs_a_mixed_workload() {
    let cluster = Cluster::start("crate");
    let urls: Vec<String> = cluster.nodes.iter().map(TestServer::url).collect();
    let client = redis::cluster::ClusterClient::new(urls).expect("cluster client");
    let mut con = client.get_connection().expect("cluster connection");
    for i in 0..300 {
        let key = format!("key:{i}");
        let () = redis::cmd("SET")
            .arg(&key)
            .arg(i)
            .query(&mut con)
            .expect("SET");
    }
    for i in 0..300 {
        let value: i64 = redis::cmd("INCR")
            .arg(format!("key:{i}"))
            .query(&mut con)
            .expect("INCR");
        assert_eq!(value, i + 1);
    }
    let () = redis::cmd("HSET")
        .arg("{h}1")
        .arg("f")
        .arg("v")
        .query(&mut con)
        .expect("HSET");
    let pushed: i64 = redis::cmd("RPUSH")
        .arg("{h}2")
        .arg("x")
        .query(&mut con)
        .expect("RPUSH");
    assert_eq!(pushed, 1);
    let both: Vec<Option<String>> = redis::cmd("MGET")
        .arg("{t}a")
        .arg("{t}b")
        .query(&mut con)
        .expect("MGET");
    assert_eq!(both, vec![None, None]);
    // Every node holds only the keys of its slots, and all of them together hold every key.
    let mut total = 0;
    for node in &cluster.nodes {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("key:*")
            .query(&mut node.client())
            .expect("KEYS");
        total += keys.len();
    }
    assert_eq!(total, 300);
}

#[test]
fn redis_py_cluster_client_runs_a_mixed_workload() {
    let cluster = Cluster::start("py");
    let port = cluster.ports()[1];
    let script = r#"
import sys
from redis.cluster import RedisCluster
rc = RedisCluster(host="127.0.0.1", port=int(sys.argv[1]))
assert len(rc.get_nodes()) == 3, rc.get_nodes()
for i in range(200):
    rc.set(f"py:{i}", i)
assert [int(rc.get(f"py:{i}")) for i in range(200)] == list(range(200))
rc.hset("{user}:1", mapping={"a": 1, "b": 2})
assert rc.hgetall("{user}:1") == {b"a": b"1", b"b": b"2"}
assert rc.mget_nonatomic([f"py:{i}" for i in range(10)]) == [str(i).encode() for i in range(10)]
pipe = rc.pipeline()
for i in range(50):
    pipe.incr(f"py:{i}")
assert pipe.execute() == [i + 1 for i in range(50)]
assert rc.delete(*[f"py:{i}" for i in range(200)]) == 200
print("ok")
"#;
    let out = common::python_with("redis")
        .args(["-c", script, &port.to_string()])
        .output()
        .expect("python3 must be installed");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn emulated_mode_is_one_shard_owning_every_slot() {
    let server = TestServer::start_with(|c| c.cluster_enabled = Mode::Emulated);
    let mut raw = server.raw();
    let slots = text(&call(&mut raw, "cluster slots"));
    assert!(
        slots.starts_with("*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n"),
        "{slots}"
    );
    let info = body(&call(&mut raw, "cluster info"));
    assert!(
        info.contains("cluster_state:ok\r\n") && info.contains("cluster_known_nodes:1\r\n"),
        "{info}"
    );
    assert_eq!(
        call(&mut raw, "cluster addslots 1"),
        b"-ERR Slot 1 is already busy\r\n"
    );
    assert_eq!(
        call(&mut raw, "cluster delslots 1"),
        b"-ERR The topology of an emulated cluster (cluster-enabled emulated) cannot be changed\r\n"
    );
    assert_eq!(
        call(&mut raw, "mget a b"),
        b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    );
    let script = r#"
import sys
from redis.cluster import RedisCluster
rc = RedisCluster(host="127.0.0.1", port=int(sys.argv[1]))
for i in range(100):
    rc.set(f"em:{i}", i)
assert sum(int(rc.get(f"em:{i}")) for i in range(100)) == 4950
print("ok")
"#;
    let out = common::python_with("redis")
        .args(["-c", script, &server.port().to_string()])
        .output()
        .expect("python3");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real three-node Redis cluster in a temp dir, made by `redis-cli --cluster create`; every
/// process killed by PID when dropped.
struct RedisCluster {
    _dir: TempDir,
    children: Vec<std::process::Child>,
    ports: Vec<u16>,
}

impl RedisCluster {
    fn start() -> RedisCluster {
        let dir = TempDir::new("redis");
        let ports: Vec<u16> = (0..3).map(|_| fleet::free_port()).collect();
        let mut children = Vec::new();
        for port in &ports {
            let node_dir = dir.0.join(port.to_string());
            std::fs::create_dir_all(&node_dir).expect("node dir");
            children.push(
                Command::new("redis-server")
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .args([
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                    ])
                    // Redis refuses a port over 55535 unless its bus port is given.
                    .args(["--cluster-port", &fleet::free_port().to_string()])
                    .args(["--save", "", "--appendonly", "no"])
                    .current_dir(&node_dir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("redis-server"),
            );
        }
        let cluster = RedisCluster {
            _dir: dir,
            children,
            ports,
        };
        for port in &cluster.ports {
            fleet::wait_until("redis-server up", || fleet::connect(*port).is_ok());
        }
        let addresses: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let status = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .arg("--cluster-yes")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli --cluster create");
        assert!(status.success());
        for port in &cluster.ports {
            fleet::wait_until("the redis cluster is ok", || {
                let mut con = fleet::connect(*port).expect("connect");
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut con)
                    .unwrap_or_default();
                info.contains("cluster_state:ok")
            });
        }
        cluster
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The shape of a reply: types and lengths, with bulk strings and integers blanked, so that
/// ids, ports and times do not count.
fn shape(reply: &[u8]) -> String {
    let text = text(reply);
    let mut out = String::new();
    let mut lines = text.split("\r\n");
    while let Some(line) = lines.next() {
        match line.chars().next() {
            Some('$') => {
                lines.next();
                out.push_str("$ ");
            }
            Some(':') => out.push_str(": "),
            Some(_) => {
                out.push_str(line);
                out.push(' ');
            }
            None => {}
        }
    }
    out
}

#[test]
fn shapes_and_errors_match_a_redis_cluster() {
    let redis = RedisCluster::start();
    let cluster = Cluster::start("compare");
    let mut ours = cluster.nodes[0].raw();
    let mut theirs = {
        let stream = std::net::TcpStream::connect(("127.0.0.1", redis.ports[0])).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        RawClient { stream }
    };
    for request in [
        "cluster slots",
        "cluster shards",
        "hello 3",
        "cluster slots",
        "cluster shards",
        "hello 2",
    ] {
        let (a, b) = (call(&mut ours, request), call(&mut theirs, request));
        if request.starts_with("hello") {
            continue;
        }
        assert_eq!(shape(&a), shape(&b), "{request}");
    }
    // CLUSTER INFO: the same fields, in the same order (Redis adds per-type message counters
    // only when they are not zero; cachet has no bus messages).
    let field_names = |reply: &[u8]| -> Vec<String> {
        body(reply)
            .split("\r\n")
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_string()))
            .filter(|n| {
                !n.starts_with("cluster_stats_messages_")
                    || n == "cluster_stats_messages_sent"
                    || n == "cluster_stats_messages_received"
            })
            .collect()
    };
    assert_eq!(
        field_names(&call(&mut ours, "cluster info")),
        field_names(&call(&mut theirs, "cluster info"))
    );
    // CLUSTER NODES: the same number of fields on each line, the same flags on ours.
    let nodes_fields = |reply: &[u8]| -> Vec<(usize, String)> {
        let mut lines: Vec<(usize, String)> = body(reply)
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f.len(), f[2].to_string())
            })
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        nodes_fields(&call(&mut ours, "cluster nodes")),
        nodes_fields(&call(&mut theirs, "cluster nodes"))
    );
    for request in [
        "cluster keyslot foo",
        "cluster keyslot {a}b",
        "cluster keyslot a{}b",
        "cluster countkeysinslot 16384",
        "cluster countkeysinslot -1",
        "cluster countkeysinslot abc",
        "cluster getkeysinslot 100 -1",
        "cluster getkeysinslot 1 x",
        "cluster keyslot",
        "cluster keyslot a b",
        "cluster keyslot {}",
        "cluster keyslot {{a}}",
        "cluster keyslot a}{b}",
        "cluster countkeysinslot 1.5",
        "cluster countkeysinslot +1",
        "cluster countkeysinslot 99999999999999999999",
        "cluster countkeysinslot 1 2",
        "cluster getkeysinslot 1 -0",
        "cluster getkeysinslot x -1",
        "cluster getkeysinslot 16384 1",
        "cluster getkeysinslot -1 1",
        "cluster getkeysinslot 1 99999999999999999999",
        "cluster getkeysinslot 1 1 1",
        "mset foo 1 bar 2",
        "del foo bar",
        "eval return 2 foo bar",
        "cluster foo",
        "cluster addslots 1",
        "cluster addslots 20000",
        "cluster addslots abc",
        "cluster setslot 0 migrating nope",
        "cluster setslot 0 foo",
        "cluster setslot 99999 stable",
        "cluster meet 127.0.0.1 abc",
        "cluster forget nope",
        "cluster reset foo",
        "cluster set-config-epoch 5",
        "cluster set-config-epoch -1",
        "cluster replicate nope",
        "cluster replicas nope",
        "cluster count-failure-reports nope",
        "mget a b",
        "select 1",
        "select 0",
        "readonly",
        "readwrite",
        "asking",
        "cluster",
    ] {
        assert_eq!(
            text(&call(&mut ours, request)),
            text(&call(&mut theirs, request)),
            "{request}"
        );
    }
}

/// A node that accepts one call, tells the test what it received, and answers `:3` only when the
/// test says so: a cluster-wide invalidation is in flight for as long as the test wants.
fn held_node() -> (
    u16,
    std::sync::mpsc::Receiver<Vec<u8>>,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (got_tx, got_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let hole = std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut request = Vec::new();
        let mut buf = [0u8; 512];
        while !request.ends_with(b"t1\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let _ = got_tx.send(request);
        let _ = release_rx.recv();
        let _ = stream.write_all(b":3\r\n");
    });
    (port, got_rx, release_tx, hole)
}

#[test]
fn a_slow_node_does_not_stall_the_calling_nodes_other_clients() {
    let dir = TempDir::new("slow-node");
    let node = start_node(&dir, 0);
    let (hole_port, got, release, hole) = held_node();
    let json = format!(
        r#"[{{"slot_ranges": [{{"start": 0, "end": 16383}}], "master": {{"id": "{}", "ip": "127.0.0.1", "port": {}}}}},
            {{"slot_ranges": [], "master": {{"id": "{}", "ip": "127.0.0.1", "port": {}}}}}]"#,
        id(0),
        node.port(),
        id(1),
        hole_port
    );
    assert_eq!(install(&mut node.raw(), &json), b"+OK\r\n");
    let mut writer = node.raw();
    assert_eq!(call(&mut writer, "cache.set {t}a 1 TAGS 1 t1"), b"+OK\r\n");
    let mut caller = node.raw();
    let invalidation = std::thread::spawn(move || call(&mut caller, "tag.invalidate t1"));
    let request = got.recv().expect("the invalidation reaches the other node");
    assert!(text(&request).contains("INVALIDATE"), "{}", text(&request));
    // The invalidation waits for the other node; this node's other clients, EXEC and scripts
    // included (they take the exec gate whole), are served meanwhile.
    let mut other = node.raw();
    assert_eq!(call(&mut other, "multi"), b"+OK\r\n");
    assert_eq!(call(&mut other, "set {t}b 2"), b"+QUEUED\r\n");
    assert_eq!(call(&mut other, "exec"), b"*1\r\n+OK\r\n");
    assert_eq!(call(&mut other, &["eval", "return 7", "0"]), b":7\r\n");
    assert_eq!(call(&mut other, "get {t}b"), bulk("2"));
    let _ = release.send(());
    // 1 key here, 3 on the other node: the whole count, not a timeout naming the other node.
    assert_eq!(invalidation.join().expect("caller"), int(4));
    let _ = hole.join();
    assert_eq!(call(&mut other, "get {t}a"), b"$-1\r\n");
}

/// Three shards, each with a replica: masters 0-2, node 3 + i replicating master i.
fn three_shards_with_replicas(ports: &[u16]) -> String {
    let bounds = [(0, 5460), (5461, 10922), (10923, 16383)];
    let shards: Vec<String> = (0..3)
        .map(|i| {
            format!(
                r#"{{"slot_ranges": [{{"start": {}, "end": {}}}], "master": {{"id": "{}", "ip": "127.0.0.1", "port": {}}}, "replicas": [{{"id": "{}", "ip": "127.0.0.1", "port": {}}}]}}"#,
                bounds[i].0,
                bounds[i].1,
                id(i),
                ports[i],
                id(i + 3),
                ports[i + 3]
            )
        })
        .collect();
    format!("[{}]", shards.join(", "))
}

/// Waits until `replica` has applied every invalidation `master` has acknowledged so far: the
/// master's queue is published, and the replica follows it to the master's last sequence.
fn caught_up(master: &mut RawClient, replica: &mut RawClient) {
    fleet::wait_until("the master's invalidations published", || {
        text(&call(master, "info coherence")).contains("pending_items:0\r\n")
    });
    let position = text(&call(master, "cache.peer position"));
    let parts: Vec<&str> = position.split("\r\n").collect();
    let (node, run) = (parts[4], parts[7].trim_start_matches(':'));
    let seq: u64 = parts[10].trim_start_matches(':').parse().expect("seq");
    let prefix = format!("node={node},run={run},seq=");
    fleet::wait_until("the replica caught up with its master", || {
        text(&call(replica, "info coherence")).lines().any(|line| {
            line.split_once(&prefix)
                .and_then(|(_, at)| at.trim().parse::<u64>().ok())
                .is_some_and(|at| at >= seq)
        })
    });
}

fn dbsize(raw: &mut RawClient) -> i64 {
    let reply = text(&call(raw, "dbsize"));
    reply
        .trim_start_matches(':')
        .trim()
        .parse()
        .expect("DBSIZE")
}

/// The keys `key:0..n` whose slot master `m` (of `three_shards`) owns.
fn keys_of_master(m: usize, n: usize) -> Vec<String> {
    let bounds = [(0, 5460), (5461, 10922), (10923, 16383)];
    (0..n)
        .map(|i| format!("key:{i}"))
        .filter(|k| {
            let slot = cachet::state::cluster::key_slot(k.as_bytes());
            (bounds[m].0..=bounds[m].1).contains(&slot)
        })
        .collect()
}

#[test]
fn replicas_fill_from_their_masters_and_never_serve_what_the_master_replaced() {
    let dir = TempDir::new("replicas");
    let mut nodes: Vec<Option<TestServer>> = (0..6)
        .map(|n| {
            let file = dir.0.join(format!("nodes-{n}.conf"));
            Some(TestServer::start_with(move |c| {
                c.cluster_enabled = Mode::Yes;
                c.cluster_config_file = file.display().to_string();
                c.cluster_node_id = id(n);
                c.cluster_require_full_coverage = false;
                c.cluster_node_timeout = 500;
            }))
        })
        .collect();
    let node = |nodes: &[Option<TestServer>], n: usize| nodes[n].as_ref().expect("running").raw();
    let ports: Vec<u16> = nodes.iter().flatten().map(TestServer::port).collect();
    // The masters alone first, and keys written there, with a TTL and a tag; then the replicas
    // join (masters told first), and fill from what their masters hold.
    let alone = three_shards(&ports[..3]);
    for n in 0..3 {
        assert_eq!(install(&mut node(&nodes, n), &alone), b"+OK\r\n");
    }
    let mut master0 = node(&nodes, 0);
    let mut masters: Vec<RawClient> = (0..3).map(|m| node(&nodes, m)).collect();
    for (m, master) in masters.iter_mut().enumerate() {
        for key in keys_of_master(m, 300) {
            let set = format!("cache.set {key} v1 PX 100000 TAGS 1 t{m}");
            assert_eq!(call(master, &set), b"+OK\r\n", "{set}");
        }
    }
    let json = three_shards_with_replicas(&ports);
    for n in 0..6 {
        assert_eq!(install(&mut node(&nodes, n), &json), b"+OK\r\n");
    }
    // Replicas as Redis shows them: CLUSTER NODES flags and master id, SLOTS and SHARDS entries.
    let nodes_text = body(&call(&mut node(&nodes, 0), "cluster nodes"));
    let line = nodes_text
        .lines()
        .find(|l| l.starts_with(&id(3)))
        .expect("replica line");
    let fields: Vec<&str> = line.split(' ').collect();
    assert_eq!(&fields[2..4], &["slave", id(0).as_str()], "{line}");
    assert_eq!(fields.len(), 8, "a replica lists no slots: {line}");
    let slots = text(&call(&mut node(&nodes, 4), "cluster slots"));
    assert!(
        slots.contains(&format!(":{}\r\n${}\r\n{}\r\n", ports[3], 40, id(3))),
        "{slots}"
    );
    assert!(text(&call(&mut node(&nodes, 3), "cluster shards")).contains("$7\r\nreplica\r\n"));

    let mut replicas: Vec<RawClient> = (3..6).map(|n| node(&nodes, n)).collect();
    for (m, replica) in replicas.iter_mut().enumerate() {
        let want = dbsize(&mut masters[m]);
        assert!(want > 50);
        fleet::wait_until("the replica filled from its master", || {
            dbsize(replica) == want
        });
    }
    let key0 = keys_of_master(0, 300)[0].clone();
    let replica0 = &mut replicas[0];
    // Not READONLY: redirected to the master, as Redis's replicas do.
    let moved = text(&call(replica0, &format!("get {key0}")));
    assert!(
        moved.starts_with(&format!(
            "-MOVED {} 127.0.0.1:{}",
            cachet::state::cluster::key_slot(key0.as_bytes()),
            ports[0]
        )),
        "{moved}"
    );
    assert_eq!(call(replica0, "readonly"), b"+OK\r\n");
    assert_eq!(call(replica0, &format!("get {key0}")), bulk("v1"));
    let ttl = text(&call(replica0, &format!("pttl {key0}")));
    let ttl: i64 = ttl.trim_start_matches(':').trim().parse().expect("PTTL");
    assert!(ttl > 90_000 && ttl <= 100_000, "TTL kept: {ttl}");
    assert!(text(&call(replica0, "tag.keys t0")).contains(&key0));
    // Writes are the master's, READONLY or not.
    let set = text(&call(replica0, &format!("set {key0} x")));
    assert!(set.starts_with("-MOVED "), "{set}");

    // redis-py's RedisCluster reading from replicas: once the writes are acknowledged and the
    // replicas have applied their invalidations, every read is the value last written, or a miss
    // on a replica; never the value it replaced.
    let python = |script: &str| {
        let out = common::python_with("redis")
            .args(["-c", script, &ports[1].to_string()])
            .output()
            .expect("python3 must be installed");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "ok",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    for replica in replicas.iter_mut() {
        assert_eq!(call(replica, "config resetstat"), b"+OK\r\n");
    }
    let connect = r#"
import sys
from redis.cluster import RedisCluster
rc = RedisCluster(host="127.0.0.1", port=int(sys.argv[1]), read_from_replicas=True)
assert len(rc.get_nodes()) == 6, rc.get_nodes()
"#;
    python(&format!(
        r#"{connect}
ours = [f"key:{{i}}" for i in range(300) if not 5461 <= rc.keyslot(f"key:{{i}}") <= 10922]
for key in ours:
    rc.set(key, "a")
for key in ours:
    rc.set(key, "b")
print("ok")
"#
    ));
    for m in 0..3 {
        caught_up(&mut masters[m], &mut replicas[m]);
    }
    python(&format!(
        r#"{connect}
ours = [f"key:{{i}}" for i in range(300) if not 5461 <= rc.keyslot(f"key:{{i}}") <= 10922]
for _ in range(3):
    for key in ours:
        got = rc.get(key)
        assert got in (b"b", None), (key, got)
print("ok")
"#
    ));
    let served = (0..3)
        .filter(|&r| {
            text(&call(&mut replicas[r], "info commandstats")).contains("cmdstat_get:calls=")
        })
        .count();
    assert!(served > 0, "redis-py read from the replicas");

    // Overwrites on the master while the replica fills again (the master's FLUSHALL reaches it
    // as a flush, after which it fills anew): whatever the replica holds once it has applied the
    // master's last invalidation is the master's value, never one the master replaced.
    let ours = keys_of_master(0, 300);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut master = node(&nodes, 0);
            for round in 2..6 {
                for key in &ours {
                    assert_eq!(
                        call(&mut master, &format!("set {key} v{round}")),
                        b"+OK\r\n"
                    );
                }
            }
        });
        assert_eq!(call(&mut master0, "flushall"), b"+OK\r\n");
        writer.join().expect("writer");
    });
    // The fill may have found the master empty, or had its copies overtaken: a replica may then
    // hold none of them (it fills again after its next data drop), never an old one.
    caught_up(&mut master0, &mut replicas[0]);
    for key in &ours {
        let theirs = call(&mut master0, &format!("get {key}"));
        let mine = call(&mut replicas[0], &format!("get {key}"));
        assert!(
            mine == b"$-1\r\n" || mine == theirs,
            "{key}: the replica has {} where the master has {}",
            text(&mine),
            text(&theirs)
        );
    }

    // Master 1 (whose keys redis-py left alone: its replica holds them from its first fill)
    // stops: its replica keeps serving its slots to READONLY clients.
    drop(master0);
    drop(masters);
    nodes[1] = None;
    fleet::wait_until("the replica takes its master as failed", || {
        body(&call(&mut replicas[1], "cluster nodes"))
            .lines()
            .any(|l| l.starts_with(&id(1)) && l.contains("master,fail"))
    });
    assert_eq!(call(&mut replicas[1], "readonly"), b"+OK\r\n");
    for key in keys_of_master(1, 300) {
        assert_eq!(
            call(&mut replicas[1], &format!("get {key}")),
            bulk("v1"),
            "{key}"
        );
    }
    let info = body(&call(&mut replicas[2], "cluster info"));
    assert!(info.contains("cluster_state:ok"), "{info}");
}

/// The value a client reads from `raw` for `key`, or `None` for a miss.
fn value(raw: &mut RawClient, key: &str) -> Option<String> {
    let reply = call(raw, &format!("get {key}"));
    (reply != b"$-1\r\n").then(|| body(&reply))
}

#[test]
fn a_replica_fetches_again_what_its_master_rewrites() {
    let dir = TempDir::new("refetch");
    let nodes: Vec<TestServer> = (0..2)
        .map(|n| {
            let file = dir.0.join(format!("nodes-{n}.conf"));
            TestServer::start_with(move |c| {
                c.cluster_enabled = Mode::Yes;
                c.cluster_config_file = file.display().to_string();
                c.cluster_node_id = id(n);
            })
        })
        .collect();
    let json = format!(
        r#"[{{"slot_ranges": [{{"start": 0, "end": 16383}}], "master": {{"id": "{}", "ip": "127.0.0.1", "port": {}}}, "replicas": [{{"id": "{}", "ip": "127.0.0.1", "port": {}}}]}}]"#,
        id(0),
        nodes[0].port(),
        id(1),
        nodes[1].port()
    );
    for node in &nodes {
        assert_eq!(install(&mut node.raw(), &json), b"+OK\r\n");
    }
    let (mut master, mut replica) = (nodes[0].raw(), nodes[1].raw());
    let keys: Vec<String> = (0..200).map(|i| format!("key:{i}")).collect();
    for key in &keys {
        assert_eq!(call(&mut master, &format!("set {key} v1")), b"+OK\r\n");
    }
    fleet::wait_until("the replica filled from its master", || {
        dbsize(&mut replica) == keys.len() as i64
    });
    assert_eq!(call(&mut replica, "readonly"), b"+OK\r\n");
    for round in 2..5 {
        let new = format!("v{round}");
        for key in &keys {
            let set = if key == "key:0" {
                format!("cache.set {key} {new} PX 100000 PRIORITY high TAGS 1 t")
            } else {
                format!("set {key} {new}")
            };
            assert_eq!(call(&mut master, &set), b"+OK\r\n", "{set}");
        }
        // Acknowledged by the master and applied by the replica: a miss or the new value, never
        // one the master replaced; then the new value everywhere, fetched again from the master.
        caught_up(&mut master, &mut replica);
        for key in &keys {
            let got = value(&mut replica, key);
            assert!(
                got.is_none() || got.as_deref() == Some(new.as_str()),
                "{key}: {got:?} in round {round}"
            );
        }
        fleet::wait_until("the replica serves what the master wrote", || {
            keys.iter()
                .all(|key| value(&mut replica, key).as_deref() == Some(new.as_str()))
        });
    }
    // A refetched copy keeps what the master gave it: TTL, priority, tags.
    let ttl = text(&call(&mut replica, "pttl key:0"));
    let ttl: i64 = ttl.trim_start_matches(':').trim().parse().expect("PTTL");
    assert!(ttl > 90_000 && ttl <= 100_000, "TTL kept: {ttl}");
    assert!(text(&call(&mut replica, "tag.keys t")).contains("key:0"));
    assert!(text(&call(&mut replica, "cache.exportkey key:0")).contains("high"));
    let refetched: u64 = text(&call(&mut replica, "info cachet"))
        .lines()
        .find_map(|l| l.strip_prefix("replica_refetched_keys:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("replica_refetched_keys");
    assert!(refetched >= 2 * keys.len() as u64, "{refetched}");
    // A key the master deletes is fetched as gone: it stays a miss.
    assert_eq!(call(&mut master, "del key:1"), b":1\r\n");
    assert_eq!(call(&mut master, "set key:2 last"), b"+OK\r\n");
    caught_up(&mut master, &mut replica);
    fleet::wait_until("the replica fetched key:2 again", || {
        value(&mut replica, "key:2").as_deref() == Some("last")
    });
    assert_eq!(value(&mut replica, "key:1"), None);

    // Overwrites racing the refetches: once the last write is acknowledged and applied, the
    // replica never serves anything but the master's value, and ends up serving it.
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut master = nodes[0].raw();
            for round in 0..30 {
                for key in keys.iter().take(20) {
                    let set = format!("set {key} r{round}");
                    assert_eq!(call(&mut master, &set), b"+OK\r\n");
                }
            }
        });
        let mut reader = nodes[1].raw();
        assert_eq!(call(&mut reader, "readonly"), b"+OK\r\n");
        while !writer.is_finished() {
            for key in keys.iter().take(20) {
                let got = value(&mut reader, key);
                assert!(
                    got.as_deref()
                        .is_none_or(|v| v.starts_with('r') || v == "v4" || v == "last"),
                    "{key}: {got:?}"
                );
            }
        }
        writer.join().expect("writer");
    });
    caught_up(&mut master, &mut replica);
    for key in keys.iter().take(20) {
        let theirs = value(&mut master, key);
        assert_eq!(theirs.as_deref(), Some("r29"));
        let mine = value(&mut replica, key);
        assert!(mine.is_none() || mine == theirs, "{key}: {mine:?}");
    }
    fleet::wait_until("the replica caught up with the racing writes", || {
        keys.iter()
            .take(20)
            .all(|key| value(&mut replica, key).as_deref() == Some("r29"))
    });
}

#[test]
fn a_broken_config_file_stops_the_daemon_and_is_left_alone() {
    let dir = TempDir::new("broken-file");
    let file = dir.0.join("nodes.conf");
    let broken = format!(
        "{} 127.0.0.1:7000@17000 myself,master - 0 0 0 connected 0-99\n{} 127.0.0.1:7001@17001 master - 0 0 0 connected 50-200\nvars currentEpoch 0 lastVoteEpoch 0\n",
        id(0),
        id(1)
    );
    for text in [broken.as_str(), "garbage\n"] {
        std::fs::write(&file, text).expect("write nodes.conf");
        let out = Command::new(env!("CARGO_BIN_EXE_cachet"))
            .args(["--port", "0", "--bind", "127.0.0.1", "--save="])
            .args(["--cluster-enabled", "yes", "--cluster-config-file"])
            .arg(&file)
            .arg("--dir")
            .arg(&dir.0)
            .stdout(Stdio::null())
            .output()
            .expect("run cachet");
        assert!(!out.status.success(), "started with {text:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("nodes.conf"), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(&file).expect("nodes.conf"),
            text,
            "the file is left for the operator to mend"
        );
    }
}

#[test]
fn client_tracking_redirects_per_node() {
    let cluster = Cluster::start("tracking");
    let ports = cluster.ports();
    // A key of node 1's slots and one of node 0's.
    let on = |port: u16| {
        (0..)
            .map(|i| format!("k{i}"))
            .find(|k| {
                let moved = call(&mut cluster.nodes[0].raw(), &format!("get {k}"));
                let here = port == ports[0] && moved == b"$-1\r\n";
                here || text(&moved).ends_with(&format!(":{port}\r\n"))
            })
            .expect("a key")
    };
    let (key1, key0) = (on(ports[1]), on(ports[0]));
    let mut listener = cluster.nodes[1].raw();
    let listener_id = text(&call(&mut listener, "client id"));
    let listener_id = listener_id.trim_start_matches(':').trim().to_string();
    assert_eq!(
        call(&mut listener, "subscribe __redis__:invalidate"),
        b"*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n"
    );
    let mut reader = cluster.nodes[1].raw();
    assert_eq!(
        call(
            &mut reader,
            &format!("client tracking on redirect {listener_id}")
        ),
        b"+OK\r\n"
    );
    assert_eq!(call(&mut reader, &format!("get {key1}")), b"$-1\r\n");
    // A key of another node is redirected, and tracked nowhere here.
    let moved = text(&call(&mut reader, &format!("get {key0}")));
    assert!(moved.starts_with("-MOVED "), "{moved}");
    let mut writer = cluster.nodes[1].raw();
    assert_eq!(call(&mut writer, &format!("set {key1} v")), b"+OK\r\n");
    let message = text(&listener.read_reply());
    assert_eq!(
        message,
        format!(
            "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n${}\r\n{key1}\r\n",
            key1.len()
        )
    );
}

/// A lone `redis-server` in cluster mode: the reference for what one node says about itself.
/// The bus port is given, as a free port + 10000 may not exist; the announced ip is given, as a
/// lone Redis node knows its own ip only from a peer.
fn lone_redis_node(dir: &TempDir) -> fleet::RedisServer {
    fleet::RedisServer::start_with_args(&[
        "--cluster-enabled",
        "yes",
        "--dir",
        &dir.0.display().to_string(),
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-port",
        &fleet::free_port().to_string(),
        "--cluster-announce-ip",
        "127.0.0.1",
    ])
}

/// Each side's reply with its own node id, port and bus port written the same way (the ids are
/// both 40 characters, so bulk lengths stay true).
fn neutral(reply: &[u8], id: &str, port: u16, cport: u16) -> String {
    text(reply)
        .replace(id, &"I".repeat(40))
        .replace(&format!(":{port}@{cport}"), ":PORT@CPORT")
        .replace(&format!(":{port}\r\n"), ":PORT\r\n")
}

fn cport_of(nodes: &[u8]) -> u16 {
    let nodes = body(nodes);
    let address = nodes.split(' ').nth(1).expect("address");
    let cport = address.split('@').nth(1).expect("@cport");
    cport
        .split(',')
        .next()
        .unwrap_or(cport)
        .parse()
        .expect("cport")
}

#[test]
fn delslotsrange_matches_a_redis_node() {
    let dir = TempDir::new("delslotsrange");
    let redis = lone_redis_node(&dir);
    let node = start_node(&dir, 0);
    let mut ours = node.raw();
    let mut theirs = RawClient::connect(("127.0.0.1", redis.port));
    let their_id = body(&call(&mut theirs, "cluster myid"));
    let their_cport = cport_of(&call(&mut theirs, "cluster nodes"));
    let our_cport = cport_of(&call(&mut ours, "cluster nodes"));
    let ours_neutral = |reply: &[u8]| neutral(reply, &id(0), node.port(), our_cport);
    let theirs_neutral = |reply: &[u8]| neutral(reply, &their_id, redis.port, their_cport);
    for request in [
        "cluster addslotsrange 0 100 200 300",
        // Owned ranges, then the same again: the first unassigned slot is named.
        "cluster delslotsrange 0 10",
        "cluster delslotsrange 0 10",
        "cluster delslotsrange 5000 5001",
        // Checked whole before anything is removed: 250-299 stay.
        "cluster delslotsrange 250 310",
        "cluster delslotsrange 50 40",
        "cluster delslotsrange 1 2 3",
        "cluster delslotsrange 1",
        "cluster delslotsrange",
        "cluster delslotsrange 0 16384",
        "cluster delslotsrange 16384 16384",
        "cluster delslotsrange -1 5",
        "cluster delslotsrange a 5",
        "cluster delslotsrange 5 a",
        "cluster delslotsrange 20 30 25 35",
        "cluster delslotsrange 36 36 36 36",
        "cluster delslotsrange 20 30 31 35",
        "cluster delslotsrange 200 210 300 300",
        "cluster slots",
        "cluster shards",
        "cluster nodes",
        "cluster delslotsrange 11 19 36 100 211 299",
        "cluster slots",
        "cluster nodes",
    ] {
        let (a, b) = (call(&mut ours, request), call(&mut theirs, request));
        if request == "cluster shards" {
            // Redis 7.0 counts a lone node's replication offset and health its own way; the
            // slot list is what DELSLOTSRANGE changed.
            assert_eq!(shape(&a), shape(&b), "{request}");
            let slots = |r: &[u8]| text(r).split("nodes").next().unwrap_or("").to_string();
            assert_eq!(slots(&a), slots(&b), "{request}");
            continue;
        }
        assert_eq!(ours_neutral(&a), theirs_neutral(&b), "{request}");
    }
    // CLUSTER INFO afterwards: every field but the message counters, value for value.
    let info = |reply: &[u8]| -> Vec<String> {
        body(reply)
            .lines()
            .filter(|l| !l.starts_with("cluster_stats_messages_"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        call(&mut ours, "cluster addslotsrange 7 9"),
        call(&mut theirs, "cluster addslotsrange 7 9")
    );
    assert_eq!(
        info(&call(&mut ours, "cluster info")),
        info(&call(&mut theirs, "cluster info"))
    );
}

#[test]
fn announced_address_in_what_clients_read_as_redis() {
    let dir = TempDir::new("announce");
    let redis = lone_redis_node(&dir);
    let file = dir.0.join("announced.conf");
    // Given at start: what a node behind NAT or in a container is set up with.
    let node = TestServer::start_with(move |c| {
        c.cluster_enabled = Mode::Yes;
        c.cluster_config_file = file.display().to_string();
        c.cluster_node_id = id(0);
        c.cluster_announce_ip = "10.1.2.3".to_string();
        c.cluster_announce_port = 7000;
        c.cluster_announce_bus_port = 17001;
    });
    let mut ours = node.raw();
    let mut theirs = RawClient::connect(("127.0.0.1", redis.port));
    for set in [
        "config set cluster-announce-ip 10.1.2.3",
        "config set cluster-announce-port 7000",
        "config set cluster-announce-bus-port 17001",
    ] {
        assert_eq!(call(&mut theirs, set), b"+OK\r\n");
    }
    let their_id = body(&call(&mut theirs, "cluster myid"));
    let neutral_id = |reply: &[u8], id: &str| text(reply).replace(id, &"I".repeat(40));
    assert_eq!(
        call(&mut ours, "cluster addslotsrange 0 99"),
        call(&mut theirs, "cluster addslotsrange 0 99")
    );
    for request in ["cluster nodes", "cluster slots", "cluster shards"] {
        let (a, b) = (call(&mut ours, request), call(&mut theirs, request));
        if request == "cluster shards" {
            // The address fields as Redis's; its replication offset and health of a lone
            // node are its own.
            assert_eq!(shape(&a), shape(&b), "{request}");
            for field in [
                "$2\r\nip\r\n$8\r\n10.1.2.3\r\n",
                "$8\r\nendpoint\r\n$8\r\n10.1.2.3\r\n",
                "$4\r\nport\r\n:7000\r\n",
            ] {
                assert!(text(&a).contains(field), "{field}: {}", text(&a));
                assert!(text(&b).contains(field), "{field}: {}", text(&b));
            }
            continue;
        }
        assert_eq!(
            neutral_id(&a, &id(0)),
            neutral_id(&b, &their_id),
            "{request}"
        );
    }
    assert!(body(&call(&mut ours, "cluster nodes")).contains(" 10.1.2.3:7000@17001 myself,master "));
    // Changed at runtime, as Redis allows; out of range refused with Redis's text.
    for request in [
        "config set cluster-announce-port 7100",
        "config set cluster-announce-bus-port 17100",
        "config set cluster-announce-ip 10.9.9.9",
        "cluster nodes",
        "cluster slots",
        "config set cluster-announce-port 70000",
        "config set cluster-announce-port -1",
        "config set cluster-announce-bus-port 65536",
        "config get cluster-announce-port",
        "config get cluster-announce-ip",
    ] {
        let (a, b) = (call(&mut ours, request), call(&mut theirs, request));
        assert_eq!(
            neutral_id(&a, &id(0)),
            neutral_id(&b, &their_id),
            "{request}"
        );
    }
    assert!(body(&call(&mut ours, "cluster nodes")).contains(" 10.9.9.9:7100@17100 myself,master "));
    // The bus port Redis would listen on is the listening port's, whatever port is announced.
    assert_eq!(
        call(&mut ours, "config set cluster-announce-bus-port 0"),
        b"+OK\r\n"
    );
    let cport = bus_port(node.port());
    let announced = format!(" 10.9.9.9:7100@{cport} myself,master ");
    assert!(body(&call(&mut ours, "cluster nodes")).contains(&announced));
    // cluster-port, fixed at start as in Redis, is the bus port shown when none is announced.
    assert_eq!(
        call(&mut ours, "config set cluster-port 40000"),
        call(&mut theirs, "config set cluster-port 40000")
    );
    let file = dir.0.join("bus.conf");
    let bus = TestServer::start_with(move |c| {
        c.cluster_enabled = Mode::Yes;
        c.cluster_config_file = file.display().to_string();
        c.cluster_port = 40000;
    });
    let shown = format!(":{}@40000 myself,master ", bus.port());
    assert!(body(&call(&mut bus.raw(), "cluster nodes")).contains(&shown));
    assert_eq!(
        call(&mut bus.raw(), "config set cluster-announce-bus-port 40001"),
        b"+OK\r\n"
    );
    let shown = format!(":{}@40001 myself,master ", bus.port());
    assert!(body(&call(&mut bus.raw(), "cluster nodes")).contains(&shown));
    // Back to where it listens (Redis, a lone node, would know no ip at all until a peer
    // tells it; cachet gives the address it listens on).
    assert_eq!(
        call(&mut ours, &["config", "set", "cluster-announce-ip", ""]),
        b"+OK\r\n"
    );
    assert_eq!(
        call(&mut ours, "config set cluster-announce-port 0"),
        b"+OK\r\n"
    );
    let listening = format!(" 127.0.0.1:{}@", node.port());
    assert!(body(&call(&mut ours, "cluster nodes")).contains(&listening));
    // Clients are redirected to the address a node is known at in the topology.
    let other = start_node(&dir, 1);
    let json = format!(
        r#"[{{"slot_ranges": [{{"start": 0, "end": 8191}}], "master": {{"id": "{}", "ip": "10.1.2.3", "port": 7000, "cport": 17001}}}},
            {{"slot_ranges": [{{"start": 8192, "end": 16383}}], "master": {{"id": "{}", "ip": "127.0.0.1", "port": {}}}}}]"#,
        id(0),
        id(1),
        other.port()
    );
    assert_eq!(install(&mut other.raw(), &json), b"+OK\r\n");
    // "foo" hashes to 12182, "bar" to 5061.
    assert_eq!(
        call(&mut other.raw(), "get bar"),
        b"-MOVED 5061 10.1.2.3:7000\r\n"
    );
    let mut raw = other.raw();
    let migrating = format!("cluster setslot 12182 migrating {}", id(0));
    assert_eq!(call(&mut raw, migrating.as_str()), b"+OK\r\n");
    assert_eq!(call(&mut raw, "get foo"), b"-ASK 12182 10.1.2.3:7000\r\n");
}
