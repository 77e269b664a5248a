//! The Prometheus tools the admin-port tests run: `prometheus-redis-exporter` as a child, and the
//! official Python client (`python3-prometheus-client`) for its parsers. Included with
//! `#[path = "common/prometheus.rs"] mod prometheus;` beside `fleet`, in a test that has
//! `mod common;` (whose `python_with` finds the interpreter).

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::fleet;

/// A `prometheus-redis-exporter` child scraping `redis_port`, killed by PID when dropped.
pub struct Exporter {
    child: Child,
    port: u16,
}

impl Exporter {
    pub fn start(redis_port: u16) -> Exporter {
        let port = fleet::free_port();
        let child = Command::new("prometheus-redis-exporter")
            .arg(format!("-redis.addr=redis://127.0.0.1:{redis_port}"))
            .arg(format!("-web.listen-address=127.0.0.1:{port}"))
            .arg("-redis-only-metrics")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-redis-exporter must be installed (.ci/run installs it)");
        Exporter { child, port }
    }

    pub fn scrape(&self) -> String {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let mut last = String::new();
        fleet::wait_until("the exporter answers", || {
            match client
                .get(format!("http://127.0.0.1:{}/metrics", self.port))
                .send()
            {
                Ok(response) => {
                    last = response.text().unwrap_or_default();
                    true
                }
                Err(_) => false,
            }
        });
        last
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `script` with `input` on stdin under a Python that has the client (the Debian package
/// installs for the system's interpreter, which may not be the first python3 on PATH); its
/// standard output.
pub fn python(script: &str, input: &str) -> String {
    let mut child = crate::common::python_with("prometheus_client")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
