//! CONFIG against a real redis-server 7.0: every directive Redis has is known to cachet (its own, an
//! alias such as `list-max-ziplist-size`, or one accepted for compatibility), answers Redis's
//! default, and takes or refuses the same values with the same replies.

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use differential::Differential;

/// Redis 7.0 directives cachet does not know yet, each with why.
const NOT_YET: &[&str] = &[];

/// Directives whose value differs by design or by how each server was started.
const DIFFERENT_VALUE: &[&str] = &[
    "port",
    "bind",
    "dir",
    "pidfile",
    "daemonize",
    "logfile",
    "save",
    // cachet's snapshot is not an RDB file: `dump.cachet`, so neither daemon reads the other's.
    "dbfilename",
    "appendonly",
    "maxmemory-policy",
    "io-threads",
    "enable-protected-configs",
    // TestServer enables DEBUG, which the tests use.
    "enable-debug-command",
];

fn config_pairs(reply: &[u8]) -> Vec<(String, String)> {
    // A RESP2 array of bulk strings: name, value, name, value...
    let text = String::from_utf8_lossy(reply);
    let mut lines = text.split("\r\n");
    let count: usize = lines.next().unwrap()[1..].parse().unwrap();
    let mut items = Vec::new();
    for _ in 0..count {
        let _len = lines.next().unwrap();
        items.push(lines.next().unwrap().to_string());
    }
    items
        .chunks(2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect()
}

#[test]
fn every_redis_directive_is_known_with_redis_default() {
    let mut diff = Differential::start();
    let (ours, theirs) = diff.both(&[b"CONFIG", b"GET", b"*"]);
    let ours = config_pairs(&ours);
    let theirs = config_pairs(&theirs);
    let mut missing = Vec::new();
    for (name, value) in &theirs {
        if NOT_YET.contains(&name.as_str()) {
            continue;
        }
        match ours.iter().find(|(n, _)| n == name) {
            None => missing.push(name.clone()),
            Some((_, v)) if !DIFFERENT_VALUE.contains(&name.as_str()) => {
                assert_eq!(v, value, "default of {name}")
            }
            Some(_) => {}
        }
    }
    assert!(missing.is_empty(), "unknown to cachet: {missing:?}");
}

/// What cachet accepts only at its default (it would need TLS, cluster mode, replication...): it is
/// refused with cachet's own reason where Redis would take the value.
const DEFAULT_ONLY: &[&str] = &[
    "tls-port",
    "tls-cert-file",
    "tls-key-file",
    "tls-key-file-pass",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-client-key-file-pass",
    "tls-dh-params-file",
    "tls-ca-cert-file",
    "tls-ca-cert-dir",
    "replicaof",
    "slaveof",
    "cluster-enabled",
    "activedefrag",
    "unixsocket",
    "aclfile",
    "appendfilename",
    "appenddirname",
    "requirepass",
    "masterauth",
    "masteruser",
    "notify-keyspace-events",
    "client-output-buffer-limit",
    "oom-score-adj-values",
    "ignore-warnings",
    "bind-source-addr",
    "replica-announce-ip",
    "slave-announce-ip",
    "cluster-announce-ip",
    "tls-protocols",
    "tls-ciphers",
    "tls-ciphersuites",
    "dbfilename",
    "maxclients",
    "shutdown-on-sigint",
    "shutdown-on-sigterm",
    "maxmemory",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "hz",
    "timeout",
    "databases",
    "tcp-backlog",
];

/// The directives whose changes both servers answer alike: Redis's, less those whose value
/// differs, those cachet takes only at their default, and `tls-*` (Redis without TLS configured
/// refuses every change, "Unable to update TLS configuration"; cachet keeps them).
fn comparable_names(diff: &mut Differential) -> Vec<String> {
    let (_, theirs) = diff.both(&[b"CONFIG", b"GET", b"*"]);
    config_pairs(&theirs)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| !NOT_YET.contains(&n.as_str()) && !DIFFERENT_VALUE.contains(&n.as_str()))
        .filter(|n| !DEFAULT_ONLY.contains(&n.as_str()) && !n.starts_with("tls-"))
        .collect()
}

#[test]
fn set_takes_and_refuses_what_redis_does() {
    let mut diff = Differential::start();
    // Values that exercise every kind: booleans, integers in and out of range, memory units,
    // percentages, enumerations, garbage.
    let probes = [
        "yes", "no", "maybe", "0", "1", "-1", "100", "101", "2mb", "10%", "abc", "",
    ];
    let mut compared = 0;
    for name in comparable_names(&mut diff) {
        for probe in probes {
            let args: [&[u8]; 4] = [b"CONFIG", b"SET", name.as_bytes(), probe.as_bytes()];
            diff.check(&args);
            diff.check(&[b"CONFIG", b"GET", name.as_bytes()]);
            compared += 1;
        }
    }
    assert!(compared > 500, "only {compared} settings compared");
}

/// Redis reads most values as C strings, which end at a NUL (booleans, enumerations, strings,
/// memory amounts, the words of `save` and `client-output-buffer-limit`), integers with their
/// whole length (a NUL refuses them), and `requirepass` whole, NUL included: each directive is
/// given its value with a NUL after it, before it and inside it, and read back.
#[test]
fn a_value_holding_a_nul_is_read_as_redis_reads_it() {
    let mut diff = Differential::start_with(&["--enable-protected-configs", "yes"], |c| {
        c.enable_protected_configs = cachet::state::config::ProtectedAction::Yes;
    });
    let mut compared = 0;
    for name in comparable_names(&mut diff) {
        let name = name.as_bytes();
        let reply = diff.check(&[b"CONFIG", b"GET", name]);
        let value = config_pairs(&reply)[0].1.clone().into_bytes();
        let split = value.len().min(1);
        let variants = [
            [&value[..], b"\0x"].concat(),
            [&value[..], b"\0"].concat(),
            b"\0".to_vec(),
            [b"\0", &value[..]].concat(),
            [&value[..split], b"\0", &value[split..]].concat(),
        ];
        for variant in &variants {
            diff.check(&[b"CONFIG", b"SET", name, variant]);
            diff.check(&[b"CONFIG", b"GET", name]);
            diff.check(&[b"CONFIG", b"SET", name, &value]);
            compared += 1;
        }
    }
    assert!(compared > 300, "only {compared} settings compared");
    // Directives left out above, whose values differ by how each server started, and the
    // multi-word ones: what the NUL leaves of them is the same.
    let settings: &[(&str, &[u8])] = &[
        ("dbfilename", b"a\0b"),
        ("dbfilename", b"\0"),
        ("dbfilename", b"a/b\0"),
        ("dbfilename", b"ab\0/c"),
        ("maxmemory", b"5mb\0x"),
        ("maxmemory", b"\0"),
        ("save", b"\0x"),
        ("save", b"100 5\0x 200 6"),
        ("save", b"100\0 5"),
        ("save", b"3600 0"),
        ("save", b"100 \0"),
        ("save", b"0 5"),
        ("save", b"3600 -1"),
        ("save", b"+60 +1"),
        ("notify-keyspace-events", b"KEA\0x"),
        ("notify-keyspace-events", b"\0KEA"),
        ("client-output-buffer-limit", b"pubsub\0x 32mb 8mb 60"),
        ("client-output-buffer-limit", b"pubsub 32mb\0x 8mb 60\0x"),
        ("oom-score-adj-values", b"0 200\0x 800"),
        ("oom-score-adj-values", b"\0 200 800"),
        ("shutdown-on-sigterm", b"save\0x"),
        ("shutdown-on-sigterm", b"save now\0x"),
        ("proc-title-template", b"{title}\0{port}"),
        ("maxmemory-clients", b"10\0%"),
        ("maxmemory-clients", b"10%\0"),
    ];
    for (name, value) in settings {
        diff.check(&[b"CONFIG", b"SET", name.as_bytes(), value]);
        diff.check(&[b"CONFIG", b"GET", name.as_bytes()]);
    }
    // `dir` must be a directory (Redis `chdir`s there): the servers started in different ones.
    diff.check(&[b"CONFIG", b"SET", b"dir", b"\0"]);
    diff.check(&[b"CONFIG", b"SET", b"dir", b"no-such-dir\0x"]);
    diff.check(&[b"CONFIG", b"SET", b"dir", b"/\0x"]);
    diff.check(&[b"CONFIG", b"GET", b"dir"]);
    // requirepass is binary-safe: the password is every byte, and the connection that set it
    // stays authenticated.
    diff.check(&[b"CONFIG", b"SET", b"requirepass", b"a\0b"]);
    let reply = diff.check(&[b"CONFIG", b"GET", b"requirepass"]);
    assert_eq!(reply, b"*2\r\n$11\r\nrequirepass\r\n$3\r\na\0b\r\n");
    diff.check(&[b"AUTH", b"a"]);
    assert_eq!(diff.check(&[b"AUTH", b"a\0b"]), b"+OK\r\n");
    diff.check(&[b"CONFIG", b"SET", b"requirepass", b""]);
}

#[test]
fn aliases_read_and_write_their_primary() {
    let server = common::TestServer::start();
    let mut con = server.client();
    common::config_set(&mut con, "list-max-ziplist-size", "64");
    let value: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("list-max-listpack-size")
        .query(&mut con)
        .unwrap();
    assert_eq!(value, ["list-max-listpack-size", "64"]);
    common::config_set(&mut con, "slave-read-only", "no");
    let value: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("replica-read-only")
        .query(&mut con)
        .unwrap();
    assert_eq!(value, ["replica-read-only", "no"]);
}

/// CONFIG SET bind at run time, as redis-server 7.0 does it (each step on both servers): an
/// address that cannot be bound refuses the change and keeps the old ones; new addresses are
/// listened on, dropped ones no longer, connections already made stay, and an address kept stays
/// listened on throughout.
#[test]
fn config_set_bind_as_redis() {
    let ipv6 = std::net::TcpListener::bind(("::1", 0)).is_ok();
    let diff = Differential::start();
    for first in [diff.cachet.port(), diff.redis.port] {
        // A port of its own in the configuration (a test server listens on the one it was given
        // with `port 0`), so that `bind` has a port to bind.
        let port = fleet::free_port();
        let mut first = common::RawClient::connect(("127.0.0.1", first));
        let port_text = port.to_string();
        let move_to = [&b"CONFIG"[..], b"SET", b"port", port_text.as_bytes()];
        assert_eq!(first.call(&move_to), b"+OK\r\n");
        let mut v4 = common::RawClient::connect(("127.0.0.1", port));
        let set = |con: &mut common::RawClient, value: &str| {
            String::from_utf8(con.call(&[b"CONFIG", b"SET", b"bind", value.as_bytes()])).unwrap()
        };
        assert_eq!(
            set(&mut v4, "999.999.999.999"),
            "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n",
            "{port}"
        );
        assert_eq!(
            v4.call(&[b"CONFIG", b"GET", b"bind"]),
            b"*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n"
        );
        if !ipv6 {
            continue;
        }
        assert_eq!(set(&mut v4, "127.0.0.1 ::1"), "+OK\r\n", "{port}");
        let mut v6 = common::RawClient::connect(("::1", port));
        assert_eq!(v6.call(&[b"PING"]), b"+PONG\r\n");
        // The address kept was never closed: a new connection to it is served at once.
        let mut again = common::RawClient::connect(("127.0.0.1", port));
        assert_eq!(again.call(&[b"PING"]), b"+PONG\r\n");
        assert_eq!(set(&mut v6, "::1"), "+OK\r\n", "{port}");
        fleet::wait_until("127.0.0.1 no longer listened on", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        });
        assert_eq!(v4.call(&[b"PING"]), b"+PONG\r\n", "connections made stay");
        assert_eq!(set(&mut v6, "127.0.0.1"), "+OK\r\n", "{port}");
        fleet::wait_until("::1 no longer listened on", || {
            std::net::TcpStream::connect(("::1", port)).is_err()
        });
        assert_eq!(
            common::RawClient::connect(("127.0.0.1", port)).call(&[b"PING"]),
            b"+PONG\r\n"
        );
    }
}
