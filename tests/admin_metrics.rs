//! `/metrics` beyond the basics of `admin_port.rs`: the Prometheus text format read by the
//! official Python client's parser with every family typed as the table says; a real Prometheus
//! scraping the port; redis_exporter's cluster families against a cluster-mode redis-server;
//! coherence figures per peer; snapshot figures; and the admin port serving probes while the
//! snapshot loads.

mod common;
#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/prometheus.rs"]
mod prometheus;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cachet::net::admin::table::{Kind, METRICS};
use cachet::state::cluster::Mode;
use common::TestServer;
use prometheus::{python, Exporter};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::Value;

fn http() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

fn url(server: &TestServer, path: &str) -> String {
    format!("http://{}{path}", server.admin.expect("admin port"))
}

fn scrape(server: &TestServer) -> String {
    http()
        .get(url(server, "/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

/// The value of the sample `series` (name and labels exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

/// `# TYPE` lines as name → type.
fn types(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, kind)| (name.to_string(), kind.to_string()))
        .collect()
}

#[test]
fn prometheus_text_parses_with_the_python_client_as_the_table_types_it() {
    let server = TestServer::start_admin(|c| {
        c.latency_tracking = true;
        c.stats_prefixes = vec!["user:".into()];
    });
    let mut con = server.client();
    let _: () = redis::cmd("SET")
        .arg("user:1")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let _: Option<String> = redis::cmd("GET").arg("user:1").query(&mut con).unwrap();
    let text = scrape(&server);
    // The parser of the Prometheus text format (not OpenMetrics): each family's name, type and
    // the label names of its samples.
    const PARSE: &str = "import sys, json\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = {}\n\
        for f in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   out[f.name] = [f.type, sorted({k for s in f.samples for k in s.labels})]\n\
        print(json.dumps(out))\n";
    let parsed: BTreeMap<String, (String, Vec<String>)> =
        serde_json::from_str(&python(PARSE, &text)).unwrap();
    assert_eq!(parsed.len(), METRICS.len());
    for metric in METRICS {
        // The client names a counter's family without its `_total`.
        let name = match metric.kind {
            Kind::Counter => metric.name.strip_suffix("_total").unwrap(),
            _ => metric.name,
        };
        let (kind, _) = parsed
            .get(name)
            .unwrap_or_else(|| panic!("{name} not parsed"));
        let expected = match metric.kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        };
        assert_eq!(kind, expected, "{name}");
    }
    assert_eq!(parsed["redis_commands"].1, ["cmd"]);
    assert_eq!(parsed["cachet_prefix_hits"].1, ["prefix"]);
    assert_eq!(parsed["cachet_command_duration_seconds"].1, ["cmd", "le"]);
    assert_eq!(parsed["cachet_keys_by_priority"].1, ["priority"]);
}

/// A `prometheus` server scraping the admin port every second; killed by PID when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    // Removed after the child is killed (fields drop after `drop` runs).
    _dir: common::TempDir,
}

impl Prometheus {
    fn start(target: std::net::SocketAddr) -> Prometheus {
        let dir = common::scratch_dir();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: cachet\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = fleet::free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus must be installed (.ci/run installs it)");
        Prometheus {
            child,
            port,
            _dir: dir,
        }
    }

    fn api(&self, path: &str) -> Option<Value> {
        let response = http()
            .get(format!("http://127.0.0.1:{}{path}", self.port))
            .send()
            .ok()?;
        response.json().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_the_admin_port() {
    let server = TestServer::start_admin(|c| c.latency_tracking = true);
    let mut con = server.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let prometheus = Prometheus::start(server.admin.unwrap());
    // The target is scraped without error...
    let mut target = Value::Null;
    fleet::wait_until("Prometheus scrapes cachet", || {
        target = prometheus
            .api("/api/v1/targets")
            .and_then(|t| t["data"]["activeTargets"].get(0).cloned())
            .unwrap_or(Value::Null);
        target["health"] == "up"
    });
    assert_eq!(target["lastError"], "", "{target}");
    // ...and what it stored can be queried, labels included.
    let mut result = Value::Null;
    fleet::wait_until("a series is queryable", || {
        result = prometheus
            .api("/api/v1/query?query=redis_commands_total%7Bcmd%3D%22set%22%7D")
            .map(|q| q["data"]["result"].clone())
            .unwrap_or(Value::Null);
        result.as_array().is_some_and(|r| !r.is_empty())
    });
    assert_eq!(result[0]["value"][1], "1", "{result}");
    let up = prometheus
        .api("/api/v1/query?query=redis_up")
        .expect("query");
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");
}

/// Families whose type differs from redis_exporter's, on purpose: it types a few counters whose
/// names lack `_total` (an encoder of counters appends it, and OpenMetrics requires it), and its
/// latency percentiles as a summary (prometheus-client has no summary type). The names are what
/// dashboards query, so the names are kept.
const TYPED_APART: &[&str] = &[
    "redis_dump_payload_sanitizations",
    "redis_io_threaded_reads_processed",
    "redis_io_threaded_writes_processed",
    "redis_latency_percentiles_usec",
    "redis_total_error_replies",
    "redis_total_reads_processed",
    "redis_total_writes_processed",
    "redis_unexpected_error_replies",
];

#[test]
fn cluster_families_match_redis_exporter_in_cluster_mode() {
    let dir = common::scratch_dir();
    let nodes = dir.join("redis-nodes.conf");
    // Without it redis-server takes port + 10000 for its bus and refuses to start above 55535.
    let bus_port = fleet::free_port().to_string();
    let redis = fleet::RedisServer::start_with_args(&[
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        nodes.to_str().unwrap(),
        "--cluster-port",
        &bus_port,
    ]);
    let mut con = fleet::connect(redis.port).unwrap();
    let _: () = redis::cmd("CLUSTER")
        .arg("ADDSLOTSRANGE")
        .arg(0)
        .arg(16383)
        .query(&mut con)
        .unwrap();
    let exporter = Exporter::start(redis.port);
    let mut from_redis = String::new();
    fleet::wait_until("redis-server's cluster is ok", || {
        from_redis = exporter.scrape();
        from_redis.lines().any(|l| l == "redis_cluster_state 1")
    });

    let file = dir.join("cachet-nodes.conf");
    let server = TestServer::start_admin(move |c| {
        c.cluster_enabled = Mode::Yes;
        c.cluster_config_file = file.display().to_string();
    });
    let mut con = server.client();
    let _: () = redis::cmd("CLUSTER")
        .arg("ADDSLOTSRANGE")
        .arg(0)
        .arg(16383)
        .query(&mut con)
        .unwrap();
    let ours = scrape(&server);
    let (theirs, mine) = (types(&from_redis), types(&ours));
    let cluster: Vec<&String> = theirs
        .keys()
        .filter(|n| n.starts_with("redis_cluster_"))
        .collect();
    assert!(cluster.len() >= 10, "{cluster:?}");
    for name in &cluster {
        assert!(mine.contains_key(*name), "{name} missing from cachet");
    }
    // Every family both expose has the exporter's type, but for the documented few.
    for (name, kind) in &theirs {
        if let Some(ours) = mine.get(name) {
            if !TYPED_APART.contains(&name.as_str()) {
                assert_eq!(ours, kind, "{name}");
            }
        }
    }
    for series in [
        "redis_cluster_enabled 1",
        "redis_cluster_state 1",
        "redis_cluster_slots_assigned 16384",
        "redis_cluster_known_nodes 1",
        "redis_cluster_size 1",
    ] {
        assert!(ours.lines().any(|l| l == series), "{series} in\n{ours}");
        assert!(from_redis.lines().any(|l| l == series), "{series} (redis)");
    }
    // Outside cluster mode the families are declared and empty, as the exporter leaves them out.
    let standalone = TestServer::start_admin(|_| {});
    let text = scrape(&standalone);
    assert!(text.contains("# TYPE redis_cluster_state gauge"));
    assert_eq!(sample(&text, "redis_cluster_state"), None);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn coherence_figures_per_peer() {
    let b = TestServer::start_with(|c| c.coherence = true);
    let peer = format!("127.0.0.1:{}", b.port());
    let a = TestServer::start_admin({
        let peer = peer.clone();
        move |c| {
            c.coherence = true;
            c.peers = vec![peer];
        }
    });
    let labels = format!("{{peer=\"{peer}\",kind=\"peer\"}}");
    let series = |name: &str| format!("{name}{labels}");
    fleet::wait_until("A's link to B is up", || {
        sample(&scrape(&a), &series("cachet_coherence_peer_up")) == Some(1.0)
    });
    let mut on_b = b.client();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut on_b)
        .unwrap();
    fleet::wait_until("A received B's message", || {
        sample(&scrape(&a), &series("cachet_coherence_peer_messages_total")) == Some(1.0)
    });
    let text = scrape(&a);
    for name in [
        "cachet_coherence_peer_gaps_total",
        "cachet_coherence_peer_replays_total",
        "cachet_coherence_peer_link_losses_total",
    ] {
        assert_eq!(sample(&text, &series(name)), Some(0.0), "{name}");
    }
    assert!(sample(&text, &series("cachet_coherence_peer_lag_seconds")).is_some());
    assert_eq!(
        sample(&text, &series("cachet_coherence_peer_connects_total")),
        Some(1.0)
    );
    // B goes: the link is lost and counted against B.
    drop(on_b);
    drop(b);
    fleet::wait_until("A saw the link go", || {
        let text = scrape(&a);
        sample(&text, &series("cachet_coherence_peer_link_losses_total")) == Some(1.0)
            && sample(&text, &series("cachet_coherence_peer_up")) == Some(0.0)
    });
    let text = scrape(&a);
    assert_eq!(
        sample(&text, "cachet_coherence_link_losses_total"),
        Some(1.0)
    );
    assert_eq!(sample(&text, "cachet_coherence_peers_up"), Some(0.0));
}

#[test]
fn snapshot_figures_follow_saves_and_loads() {
    let dir = common::scratch_dir();
    let dir_name = dir.to_string_lossy().into_owned();
    let server = TestServer::start_admin({
        let dir = dir_name.clone();
        move |c| c.dir = dir
    });
    let mut con = server.client();
    for key in ["a", "b", "c"] {
        let _: () = redis::cmd("SET").arg(key).arg("v").query(&mut con).unwrap();
    }
    let text = scrape(&server);
    assert_eq!(
        sample(&text, "redis_rdb_changes_since_last_save"),
        Some(3.0)
    );
    assert_eq!(sample(&text, "cachet_snapshots_total"), Some(0.0));
    let _: () = redis::cmd("SAVE").query(&mut con).unwrap();
    let text = scrape(&server);
    assert_eq!(sample(&text, "cachet_snapshots_total"), Some(1.0));
    assert_eq!(
        sample(&text, "redis_rdb_changes_since_last_save"),
        Some(0.0)
    );
    assert_eq!(sample(&text, "redis_rdb_last_bgsave_status"), Some(1.0));
    assert_eq!(sample(&text, "cachet_snapshot_keys_processed"), Some(0.0));
    // Seconds since the save: a clock read twice, so within a tolerance, not exactly 0.
    let age = sample(&text, "cachet_snapshot_age_seconds").unwrap();
    assert!((0.0..60.0).contains(&age), "{age}");
    let saved_at = sample(&text, "redis_rdb_last_save_timestamp_seconds").unwrap();
    assert!(saved_at > 1.7e9, "{saved_at}");
    drop(con);
    drop(server);
    // The same dir again: the keys come back, and the load is counted.
    let server = TestServer::start_admin(move |c| c.dir = dir_name);
    let text = scrape(&server);
    assert_eq!(sample(&text, "cachet_snapshot_loaded_keys"), Some(3.0));
    assert_eq!(
        sample(&text, "cachet_snapshot_load_expired_keys"),
        Some(0.0)
    );
    assert_eq!(sample(&text, "redis_loading_dump_file"), Some(0.0));
    assert_eq!(sample(&text, "cachet_accepting"), Some(1.0));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The snapshot is a FIFO the test feeds: the load waits on it for as long as the test wants,
/// which shows what the admin port does meanwhile without any timing.
#[test]
fn probes_answer_while_the_snapshot_loads() {
    // A real snapshot to feed.
    let source = common::scratch_dir();
    let saver = TestServer::start_with({
        let dir = source.to_string_lossy().into_owned();
        move |c| c.dir = dir
    });
    let mut con = saver.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let _: () = redis::cmd("SAVE").query(&mut con).unwrap();
    let dbfilename: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("dbfilename")
        .query(&mut con)
        .unwrap();
    drop(con);
    drop(saver);
    let bytes = std::fs::read(source.join(&dbfilename[1])).unwrap();

    let dir = common::scratch_dir();
    let fifo = dir.join(&dbfilename[1]);
    common::snapshot_fifo(&fifo);
    // A node id of its own: without one the daemon would first read the snapshot's header for it.
    let server = TestServer::start_admin_loading({
        let dir = dir.to_string_lossy().into_owned();
        move |c| {
            c.dir = dir;
            c.node_id = "fifo-node".into();
        }
    });
    // Declared after the server, so dropped first if the test fails before feeding the FIFO: the
    // daemon's open() then returns, its load fails, and the server can stop.
    let _unblock = common::Unblock(fifo.clone());
    let check_loading = |server: &TestServer| {
        let health = http().get(url(server, "/health")).send().unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        let ready = http().get(url(server, "/ready")).send().unwrap();
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = ready.json().unwrap();
        assert_eq!(body["loading"], true, "{body}");
        assert!(body["reasons"][0].as_str().unwrap().contains("loading"));
        let api = http().get(url(server, "/v1/stats")).send().unwrap();
        assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = api.json().unwrap();
        assert!(body["error"].as_str().unwrap().starts_with("LOADING"));
        let text = scrape(server);
        assert_eq!(sample(&text, "cachet_accepting"), Some(0.0));
        text
    };
    // The daemon waits in open() for a writer...
    check_loading(&server);
    let mut writer = common::feed_fifo(&fifo);
    // ...then in the load, which INFO persistence (and so /metrics) reports.
    fleet::wait_until("the load reported", || {
        sample(&scrape(&server), "redis_loading_dump_file") == Some(1.0)
    });
    check_loading(&server);
    writer.write_all(&bytes).unwrap();
    drop(writer);
    fleet::wait_until("ready once loaded", || {
        http()
            .get(url(&server, "/ready"))
            .send()
            .is_ok_and(|r| r.status() == StatusCode::OK)
    });
    let mut con = server.client();
    let value: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(value, "v");
    let text = scrape(&server);
    assert_eq!(sample(&text, "redis_loading_dump_file"), Some(0.0));
    assert_eq!(sample(&text, "cachet_snapshot_loaded_keys"), Some(1.0));
    drop(con);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&source);
}

/// Where the exposition's shape is recorded (`exposition_shape_is_as_recorded`).
const SHAPE_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/assets/metrics-shape.txt"
);

/// An exposition's shape: its comment lines (HELP, TYPE, EOF) as they are, and each series as
/// its name and label names, in order of first appearance; values and label values left out.
fn shape(text: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut lines = Vec::new();
    for line in text.lines() {
        let shaped = if line.starts_with('#') {
            line.to_string()
        } else {
            let series = line.rsplit_once(' ').map_or(line, |(series, _)| series);
            match series.split_once('{') {
                Some((name, labels)) => {
                    let names: Vec<&str> = labels
                        .split("\",")
                        .filter_map(|pair| pair.split_once('=').map(|(n, _)| n))
                        .collect();
                    format!("{name}{{{}}}", names.join(","))
                }
                None => series.to_string(),
            }
        };
        if seen.insert(shaped.clone()) {
            lines.push(shaped);
        }
    }
    lines
}

/// Every metric's name, help, type and label names, in both formats, as recorded in
/// `tests/assets/metrics-shape.txt`: a refactoring of `/metrics` must leave them byte for byte,
/// and a deliberate change shows as a diff of that file (`CACHET_BLESS=1` rewrites it).
#[test]
fn exposition_shape_is_as_recorded() {
    let server = TestServer::start_admin(|c| {
        c.stats_prefixes = vec!["user:".into()];
        c.latency_tracking = true;
        c.coherence = true;
        // A peer nobody listens on: its link exists (connecting), so its series are exposed.
        c.peers = vec![format!("127.0.0.1:{}", fleet::free_port())];
    });
    let mut con = server.client();
    let _: () = redis::cmd("CACHE.SET")
        .arg("user:1")
        .arg("v")
        .arg("TAGS")
        .arg(1)
        .arg("t")
        .query(&mut con)
        .unwrap();
    let _: Option<String> = redis::cmd("GET").arg("user:1").query(&mut con).unwrap();
    let _: redis::RedisResult<()> = redis::cmd("INCR").arg("user:1").query(&mut con);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(0)
        .query(&mut con)
        .unwrap();
    fleet::wait_until("the peer's link is listed", || {
        sample(&scrape(&server), "cachet_coherence_peers") == Some(1.0)
    });
    let mut recorded = Vec::new();
    for accept in ["text/plain", "application/openmetrics-text; version=1.0.0"] {
        let text = http()
            .get(url(&server, "/metrics?tag=t"))
            .header("Accept", accept)
            .send()
            .unwrap()
            .text()
            .unwrap();
        recorded.push(format!("## Accept: {accept}"));
        recorded.extend(shape(&text));
    }
    let recorded = recorded.join("\n") + "\n";
    if std::env::var_os("CACHET_BLESS").is_some() {
        std::fs::write(SHAPE_FILE, &recorded).unwrap();
    }
    let expected = std::fs::read_to_string(SHAPE_FILE).expect("tests/assets/metrics-shape.txt");
    for (line, (got, want)) in recorded.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "line {} of {SHAPE_FILE}", line + 1);
    }
    assert_eq!(recorded.lines().count(), expected.lines().count());
}
