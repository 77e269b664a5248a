//! The admin port (`src/net/admin/`): /metrics parsed by promtool and compared with what
//! redis_exporter exports from a real redis-server, probes, the JSON API with a real HTTP client
//! (auth on and off, bad JSON, huge bodies, unknown routes, binary keys), and the OpenAPI file
//! against the router.

mod common;
#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/prometheus.rs"]
mod prometheus;

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use common::TestServer;
use prometheus::{python, Exporter};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn http() -> Client {
    Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("http client")
}

fn url(server: &TestServer, path: &str) -> String {
    format!("http://{}{path}", server.admin.expect("admin port"))
}

fn get_json(server: &TestServer, path: &str) -> (StatusCode, Value) {
    let response = http().get(url(server, path)).send().expect("request");
    let status = response.status();
    (status, response.json().expect("JSON body"))
}

/// Sample names of an exposition (without labels), comments skipped.
fn sample_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn probes_are_open_and_json() {
    let server = TestServer::start_admin(|c| c.admin_token = b"s3cret".to_vec());
    let (status, body) = get_json(&server, "/health");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, body) = get_json(&server, "/ready");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready");
}

#[test]
fn ready_waits_for_peers_when_configured() {
    // A peer nobody listens on: its link never comes up.
    let port = fleet::free_port();
    let server = TestServer::start_admin(|c| {
        c.coherence = true;
        c.peers = vec![format!("127.0.0.1:{port}")];
        c.admin_ready_requires_peers = true;
    });
    let (status, body) = get_json(&server, "/ready");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["coherence"]["peers_up"], 0);
    let mut con = server.client();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("admin-ready-requires-peers")
        .arg("no")
        .query(&mut con)
        .unwrap();
    assert_eq!(get_json(&server, "/ready").0, StatusCode::OK);
}

#[test]
fn token_guards_the_api_only() {
    let server = TestServer::start_admin(|c| c.admin_token = b"s3cret".to_vec());
    let client = http();
    for (token, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("wrong"), StatusCode::UNAUTHORIZED),
        (Some("s3cre"), StatusCode::UNAUTHORIZED),
        (Some("s3cret"), StatusCode::OK),
    ] {
        let mut request = client.get(url(&server, "/v1/stats"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().unwrap();
        assert_eq!(response.status(), expected, "token {token:?}");
        let body: Value = response.json().unwrap();
        if expected == StatusCode::UNAUTHORIZED {
            assert_eq!(body["status"], 401);
            assert!(body["error"].is_string());
        }
    }
    // /metrics needs no token.
    let response = client.get(url(&server, "/metrics")).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The token can be rotated at run time.
    let mut con = server.client();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("admin-token")
        .arg("")
        .query(&mut con)
        .unwrap();
    assert_eq!(get_json(&server, "/v1/stats").0, StatusCode::OK);
}

#[test]
fn bad_requests_get_json_errors() {
    let server = TestServer::start_admin(|_| {});
    let client = http();
    let (status, body) = get_json(&server, "/nope");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status"], 404);
    let response = client.post(url(&server, "/v1/stats")).send().unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.json::<Value>().unwrap()["status"], 405);
    for body in [
        "{",
        "[]",
        "{\"value\": 1}",
        "{\"value\": \"v\", \"bogus\": 1}",
        "",
    ] {
        let response = client
            .put(url(&server, "/v1/keys/k"))
            .body(body)
            .send()
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert!(response.json::<Value>().unwrap()["error"].is_string());
    }
    // A declared length over the limit is answered 413 and the connection closed before the
    // body is read, so a client still writing it may see the close first (a broken pipe);
    // tests/admin_limits.rs reads the 413 itself on a raw socket. Either way nothing is stored.
    let huge = vec![b'a'; 5 * 1024 * 1024];
    match client.put(url(&server, "/v1/keys/k")).body(huge).send() {
        Ok(response) => {
            assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
            assert_eq!(response.json::<Value>().unwrap()["status"], 413);
        }
        Err(err) => assert!(err.is_request(), "{err}"),
    }
    assert_eq!(
        get_json(&server, "/v1/keys/k").0,
        StatusCode::NOT_FOUND,
        "the refused body stored nothing"
    );
    let (status, _) = get_json(&server, "/v1/keys/k?db=99");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get_json(&server, "/v1/stats?db=x");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A command's error comes back as a 400 with Redis's text.
    let response = client
        .put(url(&server, "/v1/keys/k"))
        .body(json!({"value": "v", "priority": "urgent"}).to_string())
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("invalid priority"),
        "{body}"
    );
    assert!(server.alive());
}

#[test]
fn keys_round_trip_binary_safe_through_the_command_path() {
    let server = TestServer::start_admin(|c| c.notify_keyspace_events = 0);
    let mut con = server.client();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("KA")
        .query(&mut con)
        .unwrap();
    let mut sub = server.raw();
    sub.call(&[b"SUBSCRIBE", b"__keyspace@0__:\x00k/\xff y"]);
    let client = http();
    // A key with a NUL, a slash, a byte that is not UTF-8 and a space.
    let path = "/v1/keys/%00k%2F%FF%20y";
    let response = client
        .put(url(&server, path))
        .body(
            json!({"value_hex": "00ff", "ttl": 100, "priority": "high", "cost": 7, "tags": ["t1", "t2"]})
                .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text());
    // The keyspace notification a RESP CACHE.SET would send.
    let message = sub.read_reply();
    assert!(message.windows(3).any(|w| w == b"set"), "{message:?}");
    let value: Vec<u8> = redis::cmd("GET")
        .arg(b"\x00k/\xff y")
        .query(&mut con)
        .unwrap();
    assert_eq!(value, b"\x00\xff");
    let (status, body) = get_json(&server, path);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"]["hex"], "00ff");
    assert_eq!(body["key"]["hex"], "006b2fff2079");
    assert_eq!(body["meta"]["priority"], "high");
    assert_eq!(body["meta"]["cost"], 7);
    assert_eq!(body["meta"]["tags"], json!(["t1", "t2"]));
    assert!(body["meta"]["ttl"].as_i64().unwrap() > 90_000);
    // Invalidation by tag goes through TAG.INVALIDATE.
    let response = client
        .post(url(&server, "/v1/invalidate"))
        .body(json!({"tags": ["t2"]}).to_string())
        .send()
        .unwrap();
    assert_eq!(response.json::<Value>().unwrap()["tagged_keys"], 1);
    assert_eq!(get_json(&server, path).0, StatusCode::NOT_FOUND);
    // UTF-8 value, delete, pattern invalidation.
    for key in ["user:1", "user:2", "other"] {
        let response = client
            .put(url(&server, &format!("/v1/keys/{key}")))
            .body(json!({"value": "héllo"}).to_string())
            .send()
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(get_json(&server, "/v1/keys/user:1").1["value"], "héllo");
    let response = client
        .delete(url(&server, "/v1/keys/user:1"))
        .send()
        .unwrap();
    assert_eq!(response.json::<Value>().unwrap()["deleted"], 1);
    let response = client
        .delete(url(&server, "/v1/keys/user:1"))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = client
        .post(url(&server, "/v1/invalidate"))
        .body(json!({"pattern": "user:*"}).to_string())
        .send()
        .unwrap();
    assert_eq!(response.json::<Value>().unwrap()["pattern_keys"], 1);
    let response = client
        .post(url(&server, "/v1/invalidate"))
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Another database, then a flush of everything.
    let response = client
        .put(url(&server, "/v1/keys/k?db=3"))
        .body(json!({"value": "v"}).to_string())
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(get_json(&server, "/v1/keys/k?db=3").0, StatusCode::OK);
    assert_eq!(get_json(&server, "/v1/keys/k").0, StatusCode::NOT_FOUND);
    let response = client.post(url(&server, "/v1/flush")).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 0);
    assert_eq!(
        get_json(&server, "/v1/keys/k?db=3").0,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn reads_stats_config_info_and_export() {
    let server = TestServer::start_admin(|_| {});
    let mut con = server.client();
    for i in 0..20 {
        let _: () = redis::cmd("SET")
            .arg(format!("user:{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
        let _: Option<String> = redis::cmd("GET").arg("user:1").query(&mut con).unwrap();
    }
    let _: () = redis::cmd("RPUSH")
        .arg("list")
        .arg("a")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(b"bin\xff")
        .arg(b"\x00")
        .query(&mut con)
        .unwrap();
    let (status, stats) = get_json(&server, "/v1/stats");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["keys"], 22);
    // The first GET comes before user:1 exists.
    assert_eq!(stats["hits"], 19);
    assert_eq!(stats["misses"], 1);
    let (_, memory) = get_json(&server, "/v1/memory");
    assert!(memory["total.allocated"].as_i64().unwrap() > 0, "{memory}");
    let (_, analytics) = get_json(&server, "/v1/analytics?count=5");
    assert!(analytics["top_keys"].is_array(), "{analytics}");
    let (_, info) = get_json(&server, "/v1/info?section=keyspace");
    assert_eq!(info["keyspace"]["db0"], "keys=22,expires=0,avg_ttl=0");
    let (_, config) = get_json(&server, "/v1/config?pattern=maxmemory*");
    assert_eq!(config["maxmemory"], "0");
    let client = http();
    let response = client
        .patch(url(&server, "/v1/config"))
        .body(json!({"maxmemory": "10mb", "hz": 20}).to_string())
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(get_json(&server, "/v1/config?pattern=hz").1["hz"], "20");
    let response = client
        .patch(url(&server, "/v1/config"))
        .body(json!({"hz": 30, "nosuch": 1}).to_string())
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // All or none, as CONFIG SET.
    assert_eq!(get_json(&server, "/v1/config?pattern=hz").1["hz"], "20");

    let response = client.get(url(&server, "/v1/export")).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 22);
    let list = lines.iter().find(|l| l["key"] == "list").unwrap();
    assert_eq!(list["type"], "list");
    assert_eq!(list["pttl"], -1);
    // The payload is DUMP's: RESTORE takes it back.
    let payload = list["dump_hex"].as_str().unwrap();
    let bytes: Vec<u8> = (0..payload.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&payload[i..i + 2], 16).unwrap())
        .collect();
    let _: () = redis::cmd("RESTORE")
        .arg("copy")
        .arg(0)
        .arg(bytes)
        .query(&mut con)
        .unwrap();
    let copied: Vec<String> = redis::cmd("LRANGE")
        .arg("copy")
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    assert_eq!(copied, ["a"]);
    assert!(lines.iter().any(|l| l["key"]["hex"] == "62696eff"));
    let filtered = client
        .get(url(&server, "/v1/export?pattern=user:1*"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(filtered.lines().count(), 11);
}

#[test]
fn metrics_parse_with_promtool_in_both_formats() {
    let server = TestServer::start_admin(|c| {
        c.stats_prefixes = vec!["user:".into()];
        c.latency_tracking = true;
    });
    let mut con = server.client();
    let _: () = redis::cmd("SET")
        .arg("user:1")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let _: Option<String> = redis::cmd("GET").arg("user:1").query(&mut con).unwrap();
    let _: redis::RedisResult<()> = redis::cmd("INCR").arg("user:1").query(&mut con);
    let response = http().get(url(&server, "/metrics")).send().unwrap();
    assert!(response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().unwrap();
    for expected in [
        "redis_up 1",
        "redis_connected_clients 1",
        "redis_commands_total{cmd=\"set\"} 1",
        "redis_errors_total{err=\"ERR\"} 1",
        "redis_db_keys{db=\"db0\"} 1",
        "cachet_prefix_hits_total{prefix=\"user:\"} 1",
        "cachet_command_duration_seconds_bucket{cmd=\"get\",le=\"+Inf\"} 1",
        "cachet_keys_by_priority{priority=\"normal\"} 1",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    // Every family is declared in the one table, and every declared family is exposed.
    let declared: BTreeSet<&str> = cachet::net::admin::table::METRICS
        .iter()
        .map(|m| m.name)
        .collect();
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split(' ').nth(2).unwrap();
        assert!(declared.contains(name), "{name} is not in the table");
    }
    let typed: BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("# TYPE "))
        .map(|l| l.split(' ').nth(2).unwrap())
        .collect();
    assert_eq!(typed, declared);
    promtool(&text);

    let response = http()
        .get(url(&server, "/metrics"))
        .header("Accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .unwrap();
    assert!(response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = response.text().unwrap();
    assert!(text.ends_with("# EOF\n"));
    openmetrics_parser(&text);
}

/// promtool reads the Prometheus text format only; OpenMetrics is parsed by the official Python
/// client's strict parser (Debian's python3-prometheus-client).
fn openmetrics_parser(text: &str) {
    const PARSE: &str = "import sys\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
        families = list(text_string_to_metric_families(sys.stdin.read()))\n\
        print(len(families))\n";
    let families: usize = python(PARSE, text).trim().parse().unwrap();
    assert_eq!(families, cachet::net::admin::table::METRICS.len());
}

fn promtool(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (.ci/run installs prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Exit 3 means lint problems only (1: the text did not parse). redis_exporter's own output
    // has the same ones: its names (`*_duration_sec`, gauges ending in `_total`, the latency
    // summary as gauges) are kept as they are for its dashboards; cachet's own names must be clean.
    let code = output.status.code();
    assert!(code == Some(0) || code == Some(3), "promtool: {report}");
    for line in report.lines().filter(|l| !l.is_empty()) {
        assert!(line.starts_with("redis_"), "promtool: {line}");
    }
}

/// What redis_exporter reports about itself, not about the server: nothing to export.
const EXPORTER_OWN: &[&str] = &[
    "redis_exporter_last_scrape_connect_time_seconds",
    "redis_exporter_last_scrape_duration_seconds",
    "redis_exporter_last_scrape_error",
    "redis_exporter_scrape_duration_seconds_count",
    "redis_exporter_scrape_duration_seconds_sum",
    "redis_exporter_scrapes_total",
    "redis_exporter_build_info",
    "redis_target_scrape_request_errors_total",
    // The duration of its key-group scan (-check-key-groups), not a server figure.
    "redis_last_key_groups_scrape_duration_milliseconds",
];

#[test]
fn every_metric_redis_exporter_exports_from_redis_is_on_metrics() {
    let redis = fleet::RedisServer::start();
    let mut con = fleet::connect(redis.port).unwrap();
    // Activity that makes the labelled families appear (commands, an error, a key).
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let _: redis::RedisResult<()> = redis::cmd("INCR").arg("k").query(&mut con);
    let exporter = Exporter::start(redis.port);
    let from_redis = sample_names(&exporter.scrape());
    assert!(from_redis.contains("redis_up"));

    let server = TestServer::start_admin(|_| {});
    let mut con = server.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let _: redis::RedisResult<()> = redis::cmd("INCR").arg("k").query(&mut con);
    let ours = sample_names(
        &http()
            .get(url(&server, "/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
    );
    let missing: Vec<&String> = from_redis
        .iter()
        .filter(|name| !ours.contains(*name) && !EXPORTER_OWN.contains(&name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "missing from cachet's /metrics: {missing:?}"
    );

    // The exporter itself works against cachet.
    let exporter = Exporter::start(server.port());
    let text = exporter.scrape();
    assert!(text.lines().any(|l| l == "redis_up 1"), "{text}");
    assert!(text.contains("redis_commands_total{cmd=\"set\"}"), "{text}");
}

#[test]
fn openapi_file_lists_exactly_the_routes() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml"))
        .expect("docs/openapi.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().expect("path item") {
            documented.insert((
                method.as_str().unwrap().to_string(),
                path.as_str().unwrap().to_string(),
            ));
        }
    }
    let routed: BTreeSet<(String, String)> = cachet::net::admin::ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.replace("{*", "{")))
        .collect();
    assert_eq!(documented, routed);
    // And the router answers each listed route (a route missing from it would be a 404 or 405).
    let server = TestServer::start_admin(|_| {});
    let client = http();
    for (method, path) in cachet::net::admin::ROUTES {
        let path = path.replace("{*key}", "k");
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let response = client
            .request(method.clone(), url(&server, &path))
            .body("{}")
            .send()
            .unwrap();
        assert!(
            ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&response.status())
                || (response.status() == StatusCode::NOT_FOUND
                    && response.json::<Value>().unwrap()["error"] == "no such key"),
            "{method} {path}"
        );
    }
}

#[test]
fn per_tag_figures_on_request() {
    let server = TestServer::start_admin(|_| {});
    let mut con = server.client();
    for (key, tags) in [("a", vec!["t 1", "t2"]), ("b", vec!["t 1"])] {
        let mut cmd = redis::cmd("CACHE.SET");
        cmd.arg(key).arg("v").arg("TAGS").arg(tags.len());
        for tag in tags {
            cmd.arg(tag);
        }
        let _: () = cmd.query(&mut con).unwrap();
    }
    let _: Option<String> = redis::cmd("GET").arg("a").query(&mut con).unwrap();
    let text = http()
        .get(url(&server, "/metrics?tag=t+1&tag=t2&tag=none"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.contains("cachet_tag_keys{db=\"db0\",tag=\"t 1\"} 2"),
        "{text}"
    );
    assert!(text.contains("cachet_tag_keys{db=\"db0\",tag=\"t2\"} 1"));
    assert!(text.contains("cachet_tag_hits_total{db=\"db0\",tag=\"t2\"} 1"));
    assert!(text.contains("cachet_tag_keys{db=\"db0\",tag=\"none\"} 0"));
    // Without tags, no per-tag series; too many tags is a 400.
    let text = http()
        .get(url(&server, "/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(!text.contains("cachet_tag_keys{"));
    let many: String = (0..65).map(|i| format!("tag=t{i}&")).collect();
    let response = http()
        .get(url(&server, &format!("/metrics?{many}")))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn probes_and_metrics_answer_while_a_script_holds_the_server() {
    let server = TestServer::start_admin(|c| c.busy_reply_threshold = 100);
    let addr = server.addr;
    let script = std::thread::spawn(move || {
        let mut con = redis::Client::open(format!("redis://{addr}/"))
            .unwrap()
            .get_connection()
            .unwrap();
        redis::cmd("EVAL")
            .arg("while true do end")
            .arg(0)
            .query::<()>(&mut con)
            .unwrap_err()
    });
    // Wait until the script runs (commands then answer BUSY).
    let mut con = server.client();
    fleet::wait_until("the script runs", || {
        redis::cmd("GET")
            .arg("k")
            .query::<Option<String>>(&mut con)
            .is_err()
    });
    assert_eq!(get_json(&server, "/health").0, StatusCode::OK);
    let response = http().get(url(&server, "/metrics")).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // A command through the API gets the BUSY a RESP client gets, as a 503.
    let (status, body) = get_json(&server, "/v1/stats");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("BUSY"));
    let _: () = redis::cmd("SCRIPT").arg("KILL").query(&mut con).unwrap();
    let error = script.join().unwrap();
    assert!(error.to_string().contains("killed"), "{error}");
    assert_eq!(get_json(&server, "/v1/stats").0, StatusCode::OK);
}

/// The binary with `log-format json` and `NOTIFY_SOCKET` set, as systemd starts a Type=notify
/// service: it announces READY=1 once it listens and STOPPING=1 on SIGTERM, and logs JSON lines.
#[test]
fn binary_notifies_systemd_and_logs_json() {
    use std::os::unix::net::UnixDatagram;
    let dir = common::TempDir::new("notify");
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let log = dir.join("cachet.log");
    let port = fleet::free_port();
    let admin_port = fleet::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cachet"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args([
            "--admin-port",
            &admin_port.to_string(),
            "--log-format",
            "json",
        ])
        .args(["--logfile", log.to_str().unwrap(), "--loglevel", "notice"])
        // SIGTERM saves a snapshot (the save schedule is on by default): into the scratch dir,
        // never into the repository.
        .args(["--dir", dir.to_str().unwrap()])
        .env("NOTIFY_SOCKET", &socket_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("READY=1 within 20 s");
    assert_eq!(&buf[..n], b"READY=1\n");
    let health = http()
        .get(format!("http://127.0.0.1:{admin_port}/health"))
        .send()
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let n = socket.recv(&mut buf).expect("STOPPING=1");
    assert_eq!(&buf[..n], b"STOPPING=1\n");
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(lines.len() >= 3, "{text}");
    for line in &lines {
        for field in ["timestamp", "level", "target", "fields"] {
            assert!(line.get(field).is_some(), "{field} missing in {line}");
        }
    }
    assert!(lines
        .iter()
        .any(|l| l["fields"]["message"] == "admin port ready"
            && l["fields"]["addr"] == format!("127.0.0.1:{admin_port}")));
}
