//! The packaging under `deploy/` and the Dockerfile: the manifests parse and probe the admin
//! port, the systemd unit passes `systemd-analyze verify`, the dashboard queries only metrics the
//! table declares.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn documents(path: &str) -> Vec<serde_yaml::Value> {
    let text = read(path);
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("valid YAML"))
        .collect()
}

/// The containers named `cachet` of the workloads of a manifest.
fn cachet_containers(docs: &[serde_yaml::Value]) -> Vec<serde_yaml::Value> {
    docs.iter()
        .filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet")))
        .flat_map(|d| {
            d["spec"]["template"]["spec"]["containers"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|c| c["name"] == "cachet")
        .collect()
}

fn check_probes(container: &serde_yaml::Value) {
    let admin = container["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "admin")
        .expect("an admin port");
    assert_eq!(admin["containerPort"].as_u64(), Some(9121));
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(container["livenessProbe"]["httpGet"]["port"], "admin");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(container["readinessProbe"]["httpGet"]["port"], "admin");
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        serde_yaml::Value::Bool(false)
    );
}

/// The conf text of a manifest's ConfigMap, applied as cachet would read it.
fn conf_of(docs: &[serde_yaml::Value]) -> cachet::ConfigValues {
    let map = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap")
        .expect("a ConfigMap");
    let text = map["data"]["cachet.conf"].as_str().expect("cachet.conf");
    let mut values = cachet::ConfigValues::default();
    cachet::state::config::apply_conf_text(&mut values, text).expect("a valid conf file");
    values
}

#[test]
fn sidecar_deployment_probes_the_admin_port() {
    let docs = documents("deploy/k8s/sidecar.yaml");
    let containers = cachet_containers(&docs);
    assert_eq!(containers.len(), 1);
    check_probes(&containers[0]);
    let conf = conf_of(&docs);
    assert_eq!(conf.admin_port, 9121);
    assert_eq!(conf.bind, ["127.0.0.1"]);
    snapshots_are_writable(&containers[0], &conf);
}

/// The root filesystem is read-only: with a save schedule, `dir` must be a writable volume, or
/// every snapshot (and the one taken at SIGTERM) fails.
fn snapshots_are_writable(container: &serde_yaml::Value, conf: &cachet::ConfigValues) {
    assert_eq!(
        container["securityContext"]["readOnlyRootFilesystem"],
        serde_yaml::Value::Bool(true)
    );
    if conf.save.trim().is_empty() {
        return;
    }
    let mounts = container["volumeMounts"].as_sequence().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["mountPath"] == conf.dir.as_str() && m["readOnly"] != true),
        "dir {} is not a writable volume",
        conf.dir
    );
}

#[test]
fn fleet_is_a_statefulset_behind_a_headless_service_with_coherence_on() {
    let docs = documents("deploy/k8s/fleet.yaml");
    let headless = docs
        .iter()
        .find(|d| d["kind"] == "Service" && d["spec"]["clusterIP"] == "None")
        .expect("a headless Service");
    let set = docs
        .iter()
        .find(|d| d["kind"] == "StatefulSet")
        .expect("a StatefulSet");
    assert_eq!(set["spec"]["serviceName"], headless["metadata"]["name"]);
    let containers = cachet_containers(&docs);
    assert_eq!(containers.len(), 1);
    check_probes(&containers[0]);
    let conf = conf_of(&docs);
    assert!(conf.coherence);
    assert!(conf.admin_ready_requires_peers);
    assert_eq!(conf.admin_port, 9121);
    snapshots_are_writable(&containers[0], &conf);
}

#[test]
fn dockerfile_is_multi_stage_non_root_with_a_healthcheck() {
    let text = read("Dockerfile");
    assert!(text.matches("\nFROM ").count() + usize::from(text.starts_with("FROM ")) >= 2);
    assert!(text.contains("COPY --from=build"));
    assert!(text.contains("HEALTHCHECK"));
    assert!(text.contains("/health"));
    let user = text
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "{user}"
    );
    // The non-root user writes its snapshots into a volume it owns, which is also the working
    // directory (Redis's `dir ./`).
    assert!(text.contains("chown 10001:10001 /data"));
    assert!(text.contains("WORKDIR /data"));
    assert!(text.contains(r#"VOLUME ["/etc/cachet", "/data"]"#));
    assert!(text.contains("dir /data"));
}

#[test]
fn systemd_unit_verifies() {
    let text = read("deploy/systemd/cachet.service");
    assert!(text.contains("Type=notify"));
    // ProtectSystem=strict: the state directory is the only writable place for snapshots.
    assert!(text.contains("StateDirectory=cachet"));
    assert!(text.contains("WorkingDirectory=/var/lib/cachet"));
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: only the text was checked");
        return;
    }
    // verify checks that ExecStart's binary exists: point it at the one cargo built.
    let dir = std::env::temp_dir().join(format!("cachet-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unit = dir.join("cachet.service");
    std::fs::write(
        &unit,
        text.replace("/usr/local/bin/cachet", env!("CARGO_BIN_EXE_cachet")),
    )
    .unwrap();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn dashboard_queries_declared_metrics() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/cachet.json")).expect("valid JSON");
    let declared: BTreeSet<&str> = cachet::net::admin::table::METRICS
        .iter()
        .map(|m| m.name)
        .collect();
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    for panel in panels {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let names: Vec<&str> = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("cachet_") || w.starts_with("redis_"))
                .collect();
            assert!(!names.is_empty(), "{expr}");
            for name in names {
                let family = name.strip_suffix("_bucket").unwrap_or(name);
                assert!(declared.contains(family), "{name} in {expr}");
            }
        }
    }
}
