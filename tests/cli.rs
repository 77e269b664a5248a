//! Real Redis tools against cachet: redis-cli one-shot and piped (interactive mode reading stdin),
//! and a short redis-benchmark run. `.ci/run` installs redis-tools; without it these tests fail
//! with a message saying so rather than passing silently.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::TestServer;

fn tool(name: &str) -> Command {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{name} is not installed: apt-get install redis-tools (.ci/run does this)"
    );
    Command::new(name)
}

fn cli(server: &TestServer, args: &[&str]) -> String {
    let output = tool("redis-cli")
        .arg("-p")
        .arg(server.port().to_string())
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(
        output.status.success(),
        "redis-cli {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn redis_cli_one_shot() {
    let server = TestServer::start();
    assert_eq!(cli(&server, &["PING"]), "PONG\n");
    assert_eq!(cli(&server, &["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(cli(&server, &["GET", "greeting"]), "hello world\n");
    assert_eq!(cli(&server, &["--no-raw", "GET", "missing"]), "(nil)\n");
    assert_eq!(
        cli(&server, &["--no-raw", "NOSUCHCOMMAND"]),
        "(error) ERR unknown command 'NOSUCHCOMMAND', with args beginning with: \n"
    );
}

#[test]
fn redis_cli_reads_commands_from_stdin() {
    let server = TestServer::start();
    let mut child = tool("redis-cli")
        .arg("-p")
        .arg(server.port().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn redis-cli");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"SET a 1\nINCR a\nGET a\nSELECT 1\nGET a\n")
        .expect("write");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "OK\n2\n2\nOK\n\n");
}

#[test]
fn redis_benchmark_runs_unchanged() {
    let server = TestServer::start();
    let output = tool("redis-benchmark")
        .args([
            "-p",
            &server.port().to_string(),
            "-n",
            "2000",
            "-c",
            "4",
            "-P",
            "4",
            "-r",
            "100",
            "-t",
            "set,get,incr,mset,ping",
            "--csv",
        ])
        .output()
        .expect("run redis-benchmark");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "redis-benchmark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for test in [
        "SET",
        "GET",
        "INCR",
        "MSET (10 keys)",
        "PING_INLINE",
        "PING_MBULK",
    ] {
        assert!(
            text.contains(&format!("\"{test}\"")),
            "no result line for {test} in {text}"
        );
    }
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("ERR"),
        "server answered an error to redis-benchmark"
    );
    let keys = cli(&server, &["DBSIZE"]);
    assert!(
        keys.trim().parse::<u64>().unwrap_or(0) > 0,
        "benchmark wrote no keys: {keys}"
    );
}
