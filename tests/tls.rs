//! TLS on the client port: real clients (redis-cli --tls, redis-py ssl=True, a rustls client),
//! what is refused while other clients keep being served (plaintext on the TLS port, TLS on the
//! plaintext port, an untrusted or expired client certificate, a missing one), tls-auth-clients
//! yes/optional/no, tls-protocols and the suites, encrypted keys, CONFIG SET reloading the
//! certificate (and refusing a bad one as redis-server does, byte for byte), and a client
//! certificate's CN authenticating an ACL user (tls-auth-clients-user).

mod common;
#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/tls.rs"]
mod tls;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{scratch_dir, TestServer};
use tls::{call, client_config, connect, path, server_cn, Ca, Pair};

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS12, &rustls::version::TLS13];

/// A CA, a server certificate and a client certificate in a scratch directory.
struct Certs {
    dir: common::TempDir,
    ca: Ca,
    server: Pair,
    client: Pair,
}

impl Certs {
    fn new() -> Certs {
        let dir = scratch_dir();
        let ca = Ca::new(&dir, "cachet-test-ca");
        let server = ca.issue(&dir, "server-one");
        let client = ca.issue(&dir, "client");
        Certs {
            dir,
            ca,
            server,
            client,
        }
    }

    /// The server's TLS directives.
    fn apply(&self, values: &mut cachet::ConfigValues) {
        values.tls.cert_file = path(&self.server.cert);
        values.tls.key_file = path(&self.server.key);
        values.tls.ca_cert_file = path(&self.ca.pem);
    }

    fn client(&self) -> std::sync::Arc<rustls::ClientConfig> {
        client_config(&self.ca.pem, Some(&self.client), BOTH)
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(certs: &Certs) -> TestServer {
    TestServer::start_tls(|v| certs.apply(v))
}

/// A TLS-only server (`port 0`), once its dataset has loaded: `TestServer` waits on the plaintext
/// port, so without one a first command could meet `-LOADING`. `auth`: AUTH's arguments first.
fn start_tls_only(
    certs: &Certs,
    auth: &[&str],
    configure: impl FnOnce(&mut cachet::ConfigValues),
) -> TestServer {
    let server = TestServer::start_tls(|v| {
        v.port = 0;
        configure(v);
    });
    fleet::wait_until("the dataset loaded", || {
        let Ok(mut stream) = connect(server.tls.unwrap(), certs.client()) else {
            return false;
        };
        if !auth.is_empty() {
            let login: Vec<&str> = std::iter::once("AUTH")
                .chain(auth.iter().copied())
                .collect();
            if call(&mut stream, &login).ok().as_deref() != Some(b"+OK\r\n") {
                return false;
            }
        }
        call(&mut stream, &["INFO", "persistence"])
            .is_ok_and(|info| info.windows(10).any(|w| w == b"loading:0\r"))
    });
    server
}

/// Whether a TLS client with `config` is served: a handshake, then PING answered.
fn served(server: &TestServer, config: std::sync::Arc<rustls::ClientConfig>) -> bool {
    match connect(server.tls.unwrap(), config) {
        Ok(mut stream) => call(&mut stream, &["PING"]).is_ok_and(|r| r == b"+PONG\r\n"),
        Err(_) => false,
    }
}

fn plain_ping(server: &TestServer) -> Vec<u8> {
    let mut raw = server.raw();
    raw.call(&[b"PING"])
}

fn redis_cli(port: u16, certs: &Certs, client: Option<&Pair>, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new("redis-cli");
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--tls",
        "--cacert",
    ])
    .arg(&certs.ca.pem);
    if let Some(pair) = client {
        cmd.arg("--cert")
            .arg(&pair.cert)
            .arg("--key")
            .arg(&pair.key);
    }
    let out = cmd.args(args).output().expect("run redis-cli");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn redis_cli_over_tls_and_plaintext_beside() {
    let certs = Certs::new();
    let server = start(&certs);
    let port = server.tls.unwrap().port();
    let (ok, text) = redis_cli(port, &certs, Some(&certs.client), &["SET", "k", "over tls"]);
    assert!(ok && text.trim() == "OK", "{text}");
    let (_, text) = redis_cli(port, &certs, Some(&certs.client), &["GET", "k"]);
    assert_eq!(text.trim(), "over tls");
    // The plaintext listener serves the same keyspace.
    let mut raw = server.raw();
    assert_eq!(raw.call(&[b"GET", b"k"]), common::bulk("over tls"));
    // Without a client certificate (tls-auth-clients yes by default) the server refuses it.
    let (_, text) = redis_cli(port, &certs, None, &["PING"]);
    assert!(!text.contains("PONG"), "{text}");
    assert_eq!(plain_ping(&server), b"+PONG\r\n");
}

#[test]
fn redis_py_with_ssl() {
    let certs = Certs::new();
    let server = start(&certs);
    let script = r#"
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), ssl=True, ssl_ca_certs=sys.argv[2],
                ssl_certfile=sys.argv[3], ssl_keyfile=sys.argv[4])
r.set("py", "hello")
print(r.get("py").decode(), r.connection_pool.connection_class.__name__)
"#;
    let out = common::python_with("redis")
        .args(["-c", script])
        .arg(server.tls.unwrap().port().to_string())
        .arg(&certs.ca.pem)
        .arg(&certs.client.cert)
        .arg(&certs.client.key)
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.trim(),
        "hello SSLConnection",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn plaintext_on_the_tls_port_is_closed_while_others_are_served() {
    let certs = Certs::new();
    let server = start(&certs);
    let mut keeps = connect(server.tls.unwrap(), certs.client()).expect("TLS client");
    assert_eq!(call(&mut keeps, &["SET", "a", "1"]).unwrap(), b"+OK\r\n");
    let mut plain = TcpStream::connect(server.tls.unwrap()).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
    let mut reply = Vec::new();
    // The server closes it: end of stream (possibly after a TLS alert), never a RESP reply.
    let _ = plain.read_to_end(&mut reply);
    assert!(!reply.starts_with(b"+PONG"), "{reply:?}");
    assert!(reply.len() < 64, "{reply:?}");
    assert_eq!(call(&mut keeps, &["GET", "a"]).unwrap(), common::bulk("1"));
    assert!(served(&server, certs.client()));
}

#[test]
fn tls_on_the_plaintext_port_fails_while_others_are_served() {
    let certs = Certs::new();
    let server = start(&certs);
    let mut raw = server.raw();
    assert_eq!(raw.call(&[b"SET", b"b", b"2"]), b"+OK\r\n");
    // The ClientHello is read as an inline command: what comes back is no TLS.
    let attempt = connect(server.addr, certs.client());
    assert!(attempt.is_err());
    assert_eq!(raw.call(&[b"GET", b"b"]), common::bulk("2"));
}

#[test]
fn untrusted_and_expired_client_certificates_are_refused() {
    let certs = Certs::new();
    let server = start(&certs);
    let other = Ca::new(&certs.dir, "another-ca");
    let untrusted = other.issue(&certs.dir, "stranger");
    let expired = certs.ca.issue_with(&certs.dir, "old", |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    for (what, pair) in [("untrusted", &untrusted), ("expired", &expired)] {
        for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
            let config = client_config(&certs.ca.pem, Some(pair), &[version]);
            assert!(!served(&server, config), "{what} {version:?}");
        }
    }
    // No certificate at all while tls-auth-clients is yes.
    assert!(!served(&server, client_config(&certs.ca.pem, None, BOTH)));
    assert!(served(&server, certs.client()));
    assert_eq!(plain_ping(&server), b"+PONG\r\n");
    // redis-cli with the untrusted certificate fails too.
    let (_, text) = redis_cli(
        server.tls.unwrap().port(),
        &certs,
        Some(&untrusted),
        &["PING"],
    );
    assert!(!text.contains("PONG"), "{text}");
}

#[test]
fn auth_clients_optional_and_no() {
    let certs = Certs::new();
    let server = start(&certs);
    let mut admin = server.raw();
    let none = || client_config(&certs.ca.pem, None, BOTH);
    let other = Ca::new(&certs.dir, "another-ca");
    let untrusted = other.issue(&certs.dir, "stranger");
    assert!(!served(&server, none()));
    assert_eq!(
        admin.call(&[b"CONFIG", b"SET", b"tls-auth-clients", b"optional"]),
        b"+OK\r\n"
    );
    assert!(served(&server, none()));
    assert!(served(&server, certs.client()));
    // Optional: a certificate that is given is still checked.
    assert!(!served(
        &server,
        client_config(&certs.ca.pem, Some(&untrusted), BOTH)
    ));
    assert_eq!(
        admin.call(&[b"CONFIG", b"SET", b"tls-auth-clients", b"no"]),
        b"+OK\r\n"
    );
    assert!(served(&server, none()));
    // No: not asked for, so not checked either.
    assert!(served(
        &server,
        client_config(&certs.ca.pem, Some(&untrusted), BOTH)
    ));
    assert_eq!(
        admin.call(&[b"CONFIG", b"GET", b"tls-auth-clients"]),
        b"*2\r\n$16\r\ntls-auth-clients\r\n$2\r\nno\r\n"
    );
    assert!(admin
        .call(&[b"CONFIG", b"SET", b"tls-auth-clients", b"maybe"])
        .starts_with(b"-ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients')"));
}

#[test]
fn config_set_reloads_the_certificate_for_new_handshakes_only() {
    let certs = Certs::new();
    let server = start(&certs);
    let mut before = connect(server.tls.unwrap(), certs.client()).unwrap();
    assert_eq!(server_cn(&before), "server-one");
    assert_eq!(call(&mut before, &["SET", "x", "1"]).unwrap(), b"+OK\r\n");
    let second = certs.ca.issue(&certs.dir, "server-two");
    let reply = call(
        &mut before,
        &[
            "CONFIG",
            "SET",
            "tls-cert-file",
            &path(&second.cert),
            "tls-key-file",
            &path(&second.key),
        ],
    )
    .unwrap();
    assert_eq!(reply, b"+OK\r\n");
    let mut after = connect(server.tls.unwrap(), certs.client()).unwrap();
    assert_eq!(server_cn(&after), "server-two");
    assert_eq!(call(&mut after, &["GET", "x"]).unwrap(), common::bulk("1"));
    // The connection made before the reload is still up, on the old certificate.
    assert_eq!(server_cn(&before), "server-one");
    assert_eq!(call(&mut before, &["PING"]).unwrap(), b"+PONG\r\n");

    // A key that does not match the certificate, a missing file: refused, nothing changes.
    let mismatch = call(
        &mut before,
        &["CONFIG", "SET", "tls-key-file", &path(&certs.server.key)],
    )
    .unwrap();
    let expected = "-ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - Unable to update TLS configuration. Check server logs.\r\n";
    assert_eq!(String::from_utf8_lossy(&mismatch), expected);
    let missing = call(
        &mut before,
        &["CONFIG", "SET", "tls-cert-file", "/nonexistent/cert.pem"],
    )
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&missing),
        expected.replace("tls-key-file", "tls-cert-file")
    );
    let got = call(&mut before, &["CONFIG", "GET", "tls-cert-file"]).unwrap();
    assert!(
        String::from_utf8_lossy(&got).contains(&path(&second.cert)),
        "{}",
        String::from_utf8_lossy(&got)
    );
    let mut later = connect(server.tls.unwrap(), certs.client()).unwrap();
    assert_eq!(server_cn(&later), "server-two");
    assert_eq!(call(&mut later, &["PING"]).unwrap(), b"+PONG\r\n");
}

/// redis-server refuses the same CONFIG SET with the same bytes.
#[test]
fn a_bad_certificate_is_refused_as_redis_server_refuses_it() {
    let certs = Certs::new();
    let redis = TlsRedis::start(&certs, &[]);
    let server = start(&certs);
    let requests: [&[&str]; 4] = [
        &["CONFIG", "SET", "tls-cert-file", "/nonexistent/cert.pem"],
        &["CONFIG", "SET", "tls-key-file", &path(&certs.client.key)],
        &[
            "CONFIG",
            "SET",
            "tls-ca-cert-file",
            &path(&certs.server.key),
        ],
        &["CONFIG", "SET", "tls-auth-clients", "sometimes"],
    ];
    let mut theirs = connect(redis.addr, certs.client()).unwrap();
    let mut ours = connect(server.tls.unwrap(), certs.client()).unwrap();
    for request in requests {
        let expected = call(&mut theirs, request).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&call(&mut ours, request).unwrap()),
            String::from_utf8_lossy(&expected),
            "{request:?}"
        );
    }
}

#[test]
fn protocols_and_suites() {
    let certs = Certs::new();
    let server = TestServer::start_tls(|v| {
        certs.apply(v);
        v.tls.protocols = "TLSv1.3".into();
    });
    let tls12 = client_config(
        &certs.ca.pem,
        Some(&certs.client),
        &[&rustls::version::TLS12],
    );
    let tls13 = client_config(
        &certs.ca.pem,
        Some(&certs.client),
        &[&rustls::version::TLS13],
    );
    assert!(!served(&server, tls12.clone()));
    assert!(served(&server, tls13.clone()));
    let mut admin = server.raw();
    assert_eq!(
        admin.call(&[b"CONFIG", b"SET", b"tls-protocols", b"TLSv1.2"]),
        b"+OK\r\n"
    );
    assert!(served(&server, tls12));
    assert!(!served(&server, tls13));
    // A TLSv1.2 suite the server does not allow.
    assert_eq!(
        admin.call(&[
            b"CONFIG",
            b"SET",
            b"tls-ciphers",
            b"ECDHE-RSA-AES128-GCM-SHA256"
        ]),
        b"+OK\r\n",
        "a valid suite that the ECDSA key cannot use is accepted, as OpenSSL accepts it"
    );
    let ecdsa12 = client_config(
        &certs.ca.pem,
        Some(&certs.client),
        &[&rustls::version::TLS12],
    );
    assert!(!served(&server, ecdsa12.clone()));
    assert_eq!(
        admin.call(&[
            b"CONFIG",
            b"SET",
            b"tls-ciphers",
            b"ECDHE-ECDSA-AES256-GCM-SHA384:!MEDIUM"
        ]),
        b"+OK\r\n"
    );
    assert!(served(&server, ecdsa12));
    for (name, value) in [
        ("tls-ciphers", "RC4-MD5"),
        ("tls-ciphersuites", "TLS_AES_128_CCM_SHA256"),
        ("tls-protocols", "SSLv3"),
        ("tls-protocols", "TLSv1.1"),
    ] {
        let reply = admin.call(&[b"CONFIG", b"SET", name.as_bytes(), value.as_bytes()]);
        assert_eq!(
            String::from_utf8_lossy(&reply),
            format!("-ERR CONFIG SET failed (possibly related to argument '{name}') - Unable to update TLS configuration. Check server logs.\r\n")
        );
    }
    let got = admin.call(&[b"CONFIG", b"GET", b"tls-protocols"]);
    assert_eq!(got, b"*2\r\n$13\r\ntls-protocols\r\n$7\r\nTLSv1.2\r\n");
}

/// A redis-server child with TLS only on a free port, killed by PID when dropped (also when the
/// test fails).
struct TlsRedis {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl TlsRedis {
    fn start(certs: &Certs, extra: &[&str]) -> TlsRedis {
        let port = fleet::free_port();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--bind", "127.0.0.1", "--save", ""])
            .args(["--tls-port", &port.to_string()])
            .arg("--tls-cert-file")
            .arg(&certs.server.cert)
            .arg("--tls-key-file")
            .arg(&certs.server.key)
            .arg("--tls-ca-cert-file")
            .arg(&certs.ca.pem)
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server");
        let redis = TlsRedis {
            child,
            addr: ([127, 0, 0, 1], port).into(),
        };
        fleet::wait_until("redis-server TLS up", || {
            connect(redis.addr, certs.client()).is_ok_and(|mut s| call(&mut s, &["PING"]).is_ok())
        });
        redis
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl_pkcs8(key: &Path, out: &Path, pass: &str) {
    let status = Command::new("openssl")
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in"])
        .arg(key)
        .arg("-out")
        .arg(out)
        .args(["-passout", &format!("pass:{pass}")])
        .status()
        .expect("openssl");
    assert!(status.success());
}

#[test]
fn encrypted_pkcs8_keys_need_their_password() {
    let certs = Certs::new();
    let encrypted = certs.dir.join("server-encrypted.key");
    openssl_pkcs8(&certs.server.key, &encrypted, "s3cret");
    let server = TestServer::start_tls(|v| {
        certs.apply(v);
        v.tls.key_file = path(&encrypted);
        v.tls.key_file_pass = "s3cret".into();
    });
    assert!(served(&server, certs.client()));
    let mut admin = server.raw();
    let reply = admin.call(&[b"CONFIG", b"SET", b"tls-key-file-pass", b"wrong"]);
    assert!(reply
        .starts_with(b"-ERR CONFIG SET failed (possibly related to argument 'tls-key-file-pass')"));
    assert_eq!(
        admin.call(&[b"CONFIG", b"GET", b"tls-key-file-pass"]),
        b"*2\r\n$17\r\ntls-key-file-pass\r\n$6\r\ns3cret\r\n"
    );
    assert!(served(&server, certs.client()));
}

#[test]
fn tls_only_with_port_zero() {
    let certs = Certs::new();
    let server = start_tls_only(&certs, &[], |v| certs.apply(v));
    assert!(served(&server, certs.client()));
    // Not a connection to `server.addr`: once freed, that port may be another test's server's.
    let mut stream = connect(server.tls.unwrap(), certs.client()).unwrap();
    assert_eq!(
        call(&mut stream, &["CONFIG", "GET", "port"]).unwrap(),
        b"*2\r\n$4\r\nport\r\n$1\r\n0\r\n"
    );
}

#[test]
fn client_certificate_cn_names_the_acl_user() {
    let certs = Certs::new();
    let server = TestServer::start_tls(|v| {
        certs.apply(v);
        v.tls.clients_user = cachet::state::tls::config::ClientsUser::Cn;
        v.users = vec![
            vec![
                "alice".into(),
                "on".into(),
                ">pw".into(),
                "~*".into(),
                "+@all".into(),
            ],
            vec!["bob".into(), "off".into(), ">pw".into(), "+@all".into()],
        ];
    });
    let whoami = |pair: &Pair| {
        let config = client_config(&certs.ca.pem, Some(pair), BOTH);
        let mut stream = connect(server.tls.unwrap(), config).unwrap();
        String::from_utf8_lossy(&call(&mut stream, &["ACL", "WHOAMI"]).unwrap()).into_owned()
    };
    let alice = certs.ca.issue(&certs.dir, "alice");
    assert_eq!(whoami(&alice), "$5\r\nalice\r\n");
    // A disabled user, or a name no user has: the connection starts as the default user.
    assert_eq!(
        whoami(&certs.ca.issue(&certs.dir, "bob")),
        "$7\r\ndefault\r\n"
    );
    assert_eq!(whoami(&certs.client), "$7\r\ndefault\r\n");
    let mut admin = server.raw();
    assert_eq!(
        admin.call(&[b"CONFIG", b"SET", b"tls-auth-clients-user", b"off"]),
        b"+OK\r\n"
    );
    assert_eq!(whoami(&alice), "$7\r\ndefault\r\n");
    assert_eq!(
        admin.call(&[b"CONFIG", b"GET", b"tls-auth-clients-user"]),
        b"*2\r\n$21\r\ntls-auth-clients-user\r\n$3\r\noff\r\n"
    );
    // Under requirepass a certificate user needs no AUTH; the others do.
    assert_eq!(
        admin.call(&[
            b"CONFIG",
            b"SET",
            b"tls-auth-clients-user",
            b"CN",
            b"requirepass",
            b"pw"
        ]),
        b"+OK\r\n"
    );
    let config = client_config(&certs.ca.pem, Some(&alice), BOTH);
    let mut stream = connect(server.tls.unwrap(), config).unwrap();
    assert_eq!(call(&mut stream, &["SET", "k", "v"]).unwrap(), b"+OK\r\n");
    let mut other = connect(server.tls.unwrap(), certs.client()).unwrap();
    assert!(call(&mut other, &["GET", "k"])
        .unwrap()
        .starts_with(b"-NOAUTH"));
}

fn peers_up(server: &TestServer) -> u64 {
    let mut con = server.client();
    common::info_field(&mut con, "coherence", "peers_up")
        .parse()
        .unwrap_or(0)
}

fn exists(server: &TestServer, key: &str) -> bool {
    server.raw().call(&[b"EXISTS", key.as_bytes()]) == b":1\r\n"
}

/// Two daemons linked by their TLS ports only (a plaintext link cannot reach them there)
/// exchange invalidations; peer-tls changed at run time reconnects the link.
#[test]
fn peers_linked_over_tls_exchange_invalidations() {
    let certs = Certs::new();
    let start_peer = || {
        TestServer::start_tls(|v| {
            certs.apply(v);
            v.coherence = true;
            v.peer_tls = true;
            v.enable_protected_configs = cachet::state::config::ProtectedAction::Yes;
        })
    };
    let (a, b) = (start_peer(), start_peer());
    for (from, to) in [(&a, &b), (&b, &a)] {
        let peer = format!("127.0.0.1:{}", to.tls.unwrap().port());
        assert_eq!(
            from.raw()
                .call(&[b"CONFIG", b"SET", b"peer", peer.as_bytes()]),
            b"+OK\r\n"
        );
    }
    fleet::wait_until("TLS links up", || peers_up(&a) == 1 && peers_up(&b) == 1);
    // A holds a copy first, so that B's write has something to invalidate there.
    let mut on_a = a.client();
    let before = common::info_u64(&mut on_a, "coherence", "messages_received");
    assert_eq!(a.raw().call(&[b"SET", b"user:1", b"a0"]), b"+OK\r\n");
    assert_eq!(b.raw().call(&[b"SET", b"user:1", b"old"]), b"+OK\r\n");
    fleet::wait_until("B's write applied on A", || {
        !exists(&a, "user:1")
            && common::info_u64(&mut on_a, "coherence", "messages_received") > before
    });
    assert_eq!(a.raw().call(&[b"SET", b"user:1", b"new"]), b"+OK\r\n");
    fleet::wait_until("A's write invalidates B's copy", || !exists(&b, "user:1"));
    assert!(exists(&a, "user:1"));

    // peer-tls switched at run time: A's link reconnects at once, in the clear (to B's TLS port,
    // where it gets no answer it can use), then over TLS again.
    let set_peer_tls = |value: &[u8]| a.raw().call(&[b"CONFIG", b"SET", b"peer-tls", value]);
    assert_eq!(set_peer_tls(b"no"), b"+OK\r\n");
    fleet::wait_until("A's link down without TLS", || peers_up(&a) == 0);
    assert_eq!(set_peer_tls(b"yes"), b"+OK\r\n");
    fleet::wait_until("A's link up over TLS again", || peers_up(&a) == 1);

    // A peer whose certificate this daemon does not trust: the link stays down.
    let other = Ca::new(&certs.dir, "another-ca");
    let stranger = other.issue(&certs.dir, "stranger");
    let c = TestServer::start_tls(|v| {
        certs.apply(v);
        v.tls.cert_file = path(&stranger.cert);
        v.tls.key_file = path(&stranger.key);
        v.tls.auth_clients = cachet::state::tls::config::AuthClients::No;
    });
    let peer = format!("127.0.0.1:{}", c.tls.unwrap().port());
    assert_eq!(
        a.raw().call(&[b"CONFIG", b"SET", b"peer", peer.as_bytes()]),
        b"+OK\r\n"
    );
    // A's link retries: C accepts the connections and every handshake fails.
    let mut on_c = c.client();
    fleet::wait_until("A's link retried", || {
        common::info_u64(&mut on_c, "stats", "total_connections_received") >= 4
    });
    let mut con = a.client();
    let link = common::info_field(&mut con, "coherence", "peer0");
    assert!(link.contains("connects=0"), "{link}");
    assert_eq!(peers_up(&a), 0);
}

/// A redis-server with TLS and a password as the bus (`rediss://:password@`).
#[test]
fn a_tls_redis_server_with_a_password_as_the_bus() {
    let certs = Certs::new();
    let redis = TlsRedis::start(&certs, &["--requirepass", "bus pw"]);
    let port = redis.addr.port();
    let bus = format!("rediss://:bus%20pw@127.0.0.1:{port}");
    let start_node = || {
        TestServer::start_tls(|v| {
            certs.apply(v);
            v.coherence = true;
            cachet::state::config::apply_directive(v, "coherence-bus", std::slice::from_ref(&bus))
                .unwrap();
        })
    };
    let (a, b) = (start_node(), start_node());
    let got = a.raw().call(&[b"CONFIG", b"GET", b"coherence-bus"]);
    assert!(String::from_utf8_lossy(&got).contains(&bus));
    fleet::wait_until("bus links up", || peers_up(&a) == 1 && peers_up(&b) == 1);
    assert_eq!(a.raw().call(&[b"SET", b"k", b"a0"]), b"+OK\r\n");
    assert_eq!(b.raw().call(&[b"SET", b"k", b"b"]), b"+OK\r\n");
    fleet::wait_until("B's write applied on A", || !exists(&a, "k"));
    assert_eq!(a.raw().call(&[b"SET", b"k", b"a"]), b"+OK\r\n");
    fleet::wait_until("A's write invalidates B's copy", || !exists(&b, "k"));
    assert!(exists(&a, "k"));
}

/// A TLS-only redis-server whose default user is off as the bus, reached as an ACL user
/// (`rediss://user:pass@`, the password percent-encoded): every link and forwarder logs in as
/// that user and invalidations flow. A daemon given a wrong password is refused (WRONGPASS in its
/// log, its link down in INFO, the failed AUTH in the bus's ACL LOG) while the others keep going.
#[test]
fn a_tls_only_bus_requiring_an_acl_user() {
    let certs = Certs::new();
    let redis = TlsRedis::start(
        &certs,
        &[
            "--user", "default", "off", "--user", "bus", "on", ">p@ss w", "~*", "&*", "+@all",
        ],
    );
    let port = redis.addr.port();
    let as_bus = |args: &[&[&str]]| {
        let mut stream = connect(redis.addr, certs.client()).expect("TLS to redis-server");
        assert_eq!(
            call(&mut stream, &["AUTH", "bus", "p@ss w"]).unwrap(),
            b"+OK\r\n"
        );
        args.iter()
            .map(|a| String::from_utf8_lossy(&call(&mut stream, a).unwrap()).into_owned())
            .collect::<Vec<_>>()
    };
    let bus = format!("rediss://bus:p%40ss%20w@127.0.0.1:{port}");
    let start_node = || {
        TestServer::start_tls(|v| {
            certs.apply(v);
            v.coherence = true;
            cachet::state::config::apply_directive(v, "coherence-bus", std::slice::from_ref(&bus))
                .unwrap();
        })
    };
    let (a, b) = (start_node(), start_node());
    fleet::wait_until("bus links up", || peers_up(&a) == 1 && peers_up(&b) == 1);
    assert_eq!(a.raw().call(&[b"SET", b"k", b"a0"]), b"+OK\r\n");
    assert_eq!(b.raw().call(&[b"SET", b"k", b"b"]), b"+OK\r\n");
    fleet::wait_until("B's write applied on A", || !exists(&a, "k"));
    assert_eq!(a.raw().call(&[b"SET", b"k", b"a"]), b"+OK\r\n");
    fleet::wait_until("A's write invalidates B's copy", || !exists(&b, "k"));
    // Each daemon's link and forwarder, and this connection: all logged in as `bus`.
    fleet::wait_until("the forwarders connected", || {
        let list = &as_bus(&[&["CLIENT", "LIST"]])[0];
        list.lines().filter(|l| l.contains(" user=bus ")).count() >= 5
            && !list.contains(" user=default ")
    });

    // A wrong password: a real process, to read what it logs.
    let log = certs.dir.join("wrong.log");
    let wrong = format!("rediss://bus:nope@127.0.0.1:{port}");
    let args = [
        "--coherence",
        "yes",
        "--coherence-bus",
        &wrong,
        "--tls-ca-cert-file",
        &path(&certs.ca.pem),
        "--tls-cert-file",
        &path(&certs.client.cert),
        "--tls-key-file",
        &path(&certs.client.key),
        "--logfile",
        &path(&log),
    ];
    let c = fleet::ProcessNode::start(
        fleet::free_port(),
        args.iter().map(|s| s.to_string()).collect(),
    );
    fleet::wait_until("the refusals logged", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines()
            .any(|l| l.contains("coherence link refused") && l.contains("WRONGPASS"))
            && text.lines().any(|l| {
                l.contains("the coherence bus refuses this daemon's messages")
                    && l.contains("WRONGPASS")
            })
    });
    let mut on_c = fleet::connect(c.port).unwrap();
    let link = common::info_field(&mut on_c, "coherence", "peer0");
    assert!(
        link.contains("kind=bus") && link.contains("connects=0"),
        "{link}"
    );
    assert_eq!(common::info_field(&mut on_c, "coherence", "peers_up"), "0");
    let log_entry = &as_bus(&[&["ACL", "LOG", "1"]])[0];
    assert!(
        log_entry.contains("$4\r\nauth\r\n") && log_entry.contains("$3\r\nbus\r\n"),
        "{log_entry}"
    );
    // C's own clients, and A and B through the bus, are served meanwhile.
    assert_eq!(
        redis::cmd("SET")
            .arg("c")
            .arg("1")
            .query::<String>(&mut on_c)
            .unwrap(),
        "OK"
    );
    assert_eq!(a.raw().call(&[b"SET", b"k2", b"a0"]), b"+OK\r\n");
    assert_eq!(b.raw().call(&[b"SET", b"k2", b"b"]), b"+OK\r\n");
    fleet::wait_until("B's write applied on A again", || !exists(&a, "k2"));
    assert_eq!(a.raw().call(&[b"SET", b"k2", b"a"]), b"+OK\r\n");
    fleet::wait_until("A's write invalidates B's copy again", || !exists(&b, "k2"));
    assert!(exists(&a, "k2"));
}

/// The ACL users of a TLS-only daemon whose default user is off: `user default off` and `bus`.
fn default_off_users() -> Vec<Vec<Vec<u8>>> {
    [
        &["default", "off"][..],
        &["bus", "on", ">bus pw", "~*", "&*", "+@all"][..],
    ]
    .iter()
    .map(|rules| rules.iter().map(|r| r.as_bytes().to_vec()).collect())
    .collect()
}

/// A TLS-only cachet as the bus, its default user off: the daemons log in as its ACL user
/// (`rediss://bus:...@`), then prove the secret to publish on `__cachet__:`; invalidations flow.
/// A wrong password leaves that daemon's link down and the bus serving the others.
#[test]
fn a_tls_only_cachet_bus_requiring_an_acl_user() {
    const SECRET: &[u8] = b"fleet secret";
    let certs = Certs::new();
    let hub = start_tls_only(&certs, &["bus", "bus pw"], |v| {
        certs.apply(v);
        v.users = default_off_users();
        v.coherence_secret = SECRET.to_vec();
    });
    let port = hub.tls.unwrap().port();
    let node = |password: &str| {
        let bus = format!("rediss://bus:{password}@127.0.0.1:{port}");
        TestServer::start_tls(|v| {
            certs.apply(v);
            v.coherence = true;
            v.coherence_secret = SECRET.to_vec();
            cachet::state::config::apply_directive(v, "coherence-bus", std::slice::from_ref(&bus))
                .unwrap();
        })
    };
    let (a, b) = (node("bus%20pw"), node("bus%20pw"));
    fleet::wait_until("bus links up", || peers_up(&a) == 1 && peers_up(&b) == 1);
    assert_eq!(a.raw().call(&[b"SET", b"k", b"a0"]), b"+OK\r\n");
    assert_eq!(b.raw().call(&[b"SET", b"k", b"b"]), b"+OK\r\n");
    fleet::wait_until("B's write applied on A", || !exists(&a, "k"));
    assert_eq!(a.raw().call(&[b"SET", b"k", b"a"]), b"+OK\r\n");
    fleet::wait_until("A's write invalidates B's copy", || !exists(&b, "k"));
    let mut admin = connect(hub.tls.unwrap(), certs.client()).unwrap();
    assert_eq!(
        call(&mut admin, &["AUTH", "bus", "bus pw"]).unwrap(),
        b"+OK\r\n"
    );
    let list = call(&mut admin, &["CLIENT", "LIST"]).unwrap();
    let list = String::from_utf8_lossy(&list);
    assert!(!list.contains(" user=default "), "{list}");

    let c = node("wrong");
    fleet::wait_until("C's failed AUTH in the bus's ACL LOG", || {
        let log = call(&mut admin, &["ACL", "LOG", "1"]).unwrap();
        String::from_utf8_lossy(&log).contains("$4\r\nauth\r\n")
    });
    let mut on_c = c.client();
    let link = common::info_field(&mut on_c, "coherence", "peer0");
    assert!(
        link.contains("state=") && link.contains("connects=0"),
        "{link}"
    );
    assert_eq!(peers_up(&c), 0);
    assert_eq!(a.raw().call(&[b"SET", b"k2", b"a0"]), b"+OK\r\n");
    assert_eq!(b.raw().call(&[b"SET", b"k2", b"b"]), b"+OK\r\n");
    fleet::wait_until("B's write applied on A again", || !exists(&a, "k2"));
}

/// Peers take no user: a link proves `coherence-secret` (`CACHE.PEER AUTH`), which lets it in
/// where the default user is off, on TLS-only daemons, and then acts with the default user's
/// rights (here only what a link uses); a wrong secret is refused.
#[test]
fn tls_only_peers_with_the_default_user_off_link_by_the_secret() {
    let certs = Certs::new();
    let peer = |secret: &[u8]| {
        start_tls_only(&certs, &["bus", "bus pw"], |v| {
            certs.apply(v);
            v.users = default_off_users();
            v.users[0].extend(
                [
                    "&__cachet__:*",
                    "+subscribe",
                    "+cache.peer|position",
                    "+cache.peer|replay",
                ]
                .map(|r| r.as_bytes().to_vec()),
            );
            v.coherence = true;
            v.peer_tls = true;
            v.coherence_secret = secret.to_vec();
            v.enable_protected_configs = cachet::state::config::ProtectedAction::Yes;
        })
    };
    let (a, b, wrong) = (peer(b"s"), peer(b"s"), peer(b"not s"));
    let session = |server: &TestServer| {
        let mut stream = connect(server.tls.unwrap(), certs.client()).unwrap();
        assert_eq!(
            call(&mut stream, &["AUTH", "bus", "bus pw"]).unwrap(),
            b"+OK\r\n"
        );
        stream
    };
    let info = |server: &TestServer, field: &str| {
        let reply = call(&mut session(server), &["INFO", "coherence"]).unwrap();
        let text = String::from_utf8_lossy(&reply).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
            .unwrap_or_default()
    };
    for (from, to) in [(&a, &b), (&b, &a), (&wrong, &a)] {
        let addr = format!("127.0.0.1:{}", to.tls.unwrap().port());
        assert_eq!(
            call(&mut session(from), &["CONFIG", "SET", "peer", &addr]).unwrap(),
            b"+OK\r\n"
        );
    }
    fleet::wait_until("TLS links up", || {
        info(&a, "peers_up") == "1" && info(&b, "peers_up") == "1"
    });
    let (mut on_a, mut on_b) = (session(&a), session(&b));
    assert_eq!(call(&mut on_a, &["SET", "k", "a0"]).unwrap(), b"+OK\r\n");
    assert_eq!(call(&mut on_b, &["SET", "k", "b"]).unwrap(), b"+OK\r\n");
    fleet::wait_until("B's write applied on A", || {
        call(&mut on_a, &["EXISTS", "k"]).unwrap() == b":0\r\n"
    });
    fleet::wait_until("the wrong secret refused", || {
        info(&a, "peer_auth_failures") != "0"
    });
    assert_eq!(info(&wrong, "peers_up"), "0");
}

/// The `redis` crate over TLS (rustls, a `rediss://user:pass@` URL, the test CA as root and a
/// client certificate) as an ACL user: its commands run, and one outside its rights is NOPERM
/// with redis-server's text.
#[test]
fn the_redis_crate_over_tls_as_an_acl_user() {
    let certs = Certs::new();
    let rules = ["alice", "on", ">pw", "~a*", "+get", "+set", "+ping"];
    let server = start_tls_only(&certs, &[], |v| {
        certs.apply(v);
        v.users = vec![rules.iter().map(|r| r.as_bytes().to_vec()).collect()];
    });
    let mut redis_args = vec!["--user"];
    redis_args.extend(rules);
    let redis = TlsRedis::start(&certs, &redis_args);
    let read = |p: &PathBuf| std::fs::read(p).unwrap();
    let session = |port: u16| {
        let url = format!("rediss://alice:pw@127.0.0.1:{port}");
        let client = redis::Client::build_with_tls(
            url.as_str(),
            redis::TlsCertificates {
                client_tls: Some(redis::ClientTlsConfig {
                    client_cert: read(&certs.client.cert),
                    client_key: read(&certs.client.key),
                }),
                root_cert: Some(read(&certs.ca.pem)),
            },
        )
        .unwrap();
        let mut con = client.get_connection().expect("TLS connection as alice");
        let who: String = redis::cmd("PING").query(&mut con).unwrap();
        assert_eq!(who, "PONG");
        let _: () = redis::cmd("SET")
            .arg("a1")
            .arg("v")
            .query(&mut con)
            .unwrap();
        let got: String = redis::cmd("GET").arg("a1").query(&mut con).unwrap();
        assert_eq!(got, "v");
        let refusals: Vec<String> = [
            redis::cmd("GET").arg("b1").clone(),
            redis::cmd("DEL").arg("a1").clone(),
        ]
        .iter()
        .map(|cmd| {
            let err = cmd.query::<redis::Value>(&mut con).unwrap_err();
            assert_eq!(err.code(), Some("NOPERM"), "{err}");
            err.to_string()
        })
        .collect();
        refusals
    };
    let ours = session(server.tls.unwrap().port());
    assert_eq!(ours, session(redis.addr.port()));
    assert!(ours[1].contains("'del' command"), "{ours:?}");
    // redis-cli --tls --user --pass, the same way.
    let cli = |port: u16, args: &[&str]| {
        let mut all = vec!["--user", "alice", "--pass", "pw", "--no-auth-warning"];
        all.extend(args);
        redis_cli(port, &certs, Some(&certs.client), &all)
    };
    for port in [server.tls.unwrap().port(), redis.addr.port()] {
        assert_eq!(cli(port, &["GET", "a1"]), (true, "v\n".to_string()));
        let (_, denied) = cli(port, &["GET", "b1"]);
        assert!(denied.contains("NOPERM"), "{denied}");
    }
    assert_eq!(
        cli(server.tls.unwrap().port(), &["DEL", "a1"]),
        cli(redis.addr.port(), &["DEL", "a1"])
    );
}

/// One TLS command on a fresh connection (the server is given a client certificate).
fn tls_call(addr: std::net::SocketAddr, certs: &Certs, args: &[&str]) -> Vec<u8> {
    let mut stream = connect(addr, certs.client()).expect("TLS connection");
    call(&mut stream, args).expect("reply")
}

/// MIGRATE over TLS with `tls-cluster yes`, as Redis 7.0's `migrateGetSocket`: between two TLS
/// cachet daemons (the connection cached and used again), to a password-protected TLS
/// redis-server, and from a redis-server with `tls-cluster yes` to cachet. A target that does not
/// speak TLS, or one whose certificate is not trusted, fails to connect with Redis's text.
#[test]
fn migrate_over_tls_with_tls_cluster() {
    const CONNECTING: &[u8] = b"-IOERR error or timeout connecting to the client\r\n";
    let certs = Certs::new();
    let a = TestServer::start_tls(|v| {
        certs.apply(v);
        v.tls.cluster = true;
    });
    let b = start_tls_only(&certs, &[], |v| certs.apply(v));
    let b_tls = b.tls.unwrap().port().to_string();
    let mut con = a.raw();
    assert_eq!(
        con.call(&[b"CONFIG", b"GET", b"tls-cluster"]),
        b"*2\r\n$11\r\ntls-cluster\r\n$3\r\nyes\r\n"
    );
    con.call(&[b"SET", b"k1", b"v1"]);
    con.call(&[b"HSET", b"h", b"f", b"v"]);
    con.call(&[b"SET", b"k2", b"v2", b"PX", b"100000"]);
    let migrate = |con: &mut common::RawClient, port: &str, rest: &[&str]| {
        let mut args: Vec<&[u8]> = vec![b"MIGRATE", b"127.0.0.1", port.as_bytes()];
        args.extend(rest.iter().map(|a| a.as_bytes()));
        con.call(&args)
    };
    assert_eq!(
        migrate(&mut con, &b_tls, &["", "0", "5000", "KEYS", "k1", "h"]),
        b"+OK\r\n"
    );
    assert_eq!(con.call(&[b"EXISTS", b"k1", b"h"]), b":0\r\n");
    let b_addr = b.tls.unwrap();
    assert_eq!(tls_call(b_addr, &certs, &["GET", "k1"]), b"$2\r\nv1\r\n");
    assert_eq!(
        tls_call(b_addr, &certs, &["HGET", "h", "f"]),
        b"$1\r\nv\r\n"
    );
    // The cached connection again, to another database.
    assert_eq!(
        migrate(&mut con, &b_tls, &["k2", "3", "5000", "COPY"]),
        b"+OK\r\n"
    );
    let ttl = tls_call(
        b_addr,
        &certs,
        &[
            "EVAL",
            "redis.call('SELECT', 3) return redis.call('PTTL', 'k2')",
            "0",
        ],
    );
    let ttl: i64 = String::from_utf8_lossy(&ttl[1..ttl.len() - 2])
        .parse()
        .unwrap();
    assert!(ttl > 0 && ttl <= 100_000, "{ttl}");

    // A plaintext target: the handshake gets no answer it can use.
    let plain = TestServer::start();
    let plain_port = plain.port().to_string();
    assert_eq!(
        migrate(&mut con, &plain_port, &["k2", "0", "1000"]),
        CONNECTING
    );
    // A target whose certificate another CA signed.
    let other_dir = common::scratch_dir();
    let other_ca = Ca::new(&other_dir, "other-ca");
    let stranger = other_ca.issue(&other_dir, "stranger");
    let untrusted = TestServer::start_tls(|v| {
        v.tls.cert_file = path(&stranger.cert);
        v.tls.key_file = path(&stranger.key);
        v.tls.ca_cert_file = path(&certs.ca.pem);
    });
    let untrusted_port = untrusted.tls.unwrap().port().to_string();
    assert_eq!(
        migrate(&mut con, &untrusted_port, &["k2", "0", "1000"]),
        CONNECTING
    );
    assert_eq!(con.call(&[b"EXISTS", b"k2"]), b":1\r\n");

    // To a TLS redis-server with a password, and from one with tls-cluster yes.
    let redis = TlsRedis::start(&certs, &["--requirepass", "pw", "--tls-cluster", "yes"]);
    let redis_port = redis.addr.port().to_string();
    assert_eq!(
        migrate(&mut con, &redis_port, &["k2", "0", "5000", "AUTH", "pw"]),
        b"+OK\r\n"
    );
    let mut stream = connect(redis.addr, certs.client()).unwrap();
    assert_eq!(call(&mut stream, &["AUTH", "pw"]).unwrap(), b"+OK\r\n");
    assert_eq!(call(&mut stream, &["GET", "k2"]).unwrap(), b"$2\r\nv2\r\n");
    assert_eq!(
        call(
            &mut stream,
            &["MIGRATE", "127.0.0.1", &b_tls, "k2", "0", "5000"]
        )
        .unwrap(),
        b"+OK\r\n"
    );
    assert_eq!(tls_call(b_addr, &certs, &["GET", "k2"]), b"$2\r\nv2\r\n");
    // Both refuse a plaintext target with the same words.
    call(&mut stream, &["SET", "k3", "v3"]).unwrap();
    assert_eq!(
        call(
            &mut stream,
            &["MIGRATE", "127.0.0.1", &plain_port, "k3", "0", "1000"]
        )
        .unwrap(),
        CONNECTING
    );
    // Off again: plaintext.
    assert_eq!(
        con.call(&[b"CONFIG", b"SET", b"tls-cluster", b"no"]),
        b"+OK\r\n"
    );
    con.call(&[b"SET", b"k4", b"v4"]);
    assert_eq!(
        migrate(&mut con, &plain_port, &["k4", "0", "5000"]),
        b"+OK\r\n"
    );
    assert_eq!(plain.raw().call(&[b"GET", b"k4"]), b"$2\r\nv4\r\n");
    let _ = std::fs::remove_dir_all(&other_dir);
}

/// How a new connection with `config` was set up (after one command, so TLSv1.3's tickets,
/// which follow the handshake, have arrived and been kept by the client).
fn handshake_kind(
    server: &TestServer,
    config: &std::sync::Arc<rustls::ClientConfig>,
) -> rustls::HandshakeKind {
    let mut stream = connect(server.tls.unwrap(), config.clone()).unwrap();
    assert_eq!(call(&mut stream, &["PING"]).unwrap(), b"+PONG\r\n");
    stream.conn.handshake_kind().unwrap()
}

/// A client that resumes TLSv1.2 sessions by session ID only: the server's cache decides.
fn session_id_client(certs: &Certs) -> std::sync::Arc<rustls::ClientConfig> {
    let mut config = (*client_config(
        &certs.ca.pem,
        Some(&certs.client),
        &[&rustls::version::TLS12],
    ))
    .clone();
    config.resumption = rustls::client::Resumption::in_memory_sessions(16)
        .tls12_resumption(rustls::client::Tls12Resumption::SessionIdOnly);
    std::sync::Arc::new(config)
}

/// tls-session-caching, tls-session-cache-size and tls-session-cache-timeout as OpenSSL applies
/// them for Redis: sessions resume until the timeout (tickets of both versions, session IDs), the
/// session-ID cache keeps its size (the oldest dropped), and no resumption when caching is off.
#[test]
fn session_resumption_follows_the_session_cache_directives() {
    use rustls::HandshakeKind::{Full, Resumed};
    let certs = Certs::new();
    let timed = TestServer::start_tls(|v| {
        certs.apply(v);
        v.tls.session_cache_timeout = 2;
    });
    let tickets13 = client_config(
        &certs.ca.pem,
        Some(&certs.client),
        &[&rustls::version::TLS13],
    );
    let tickets12 = client_config(
        &certs.ca.pem,
        Some(&certs.client),
        &[&rustls::version::TLS12],
    );
    let ids = session_id_client(&certs);
    for config in [&tickets13, &tickets12, &ids] {
        assert_eq!(handshake_kind(&timed, config), Full);
        assert_eq!(handshake_kind(&timed, config), Resumed);
    }
    // Past the timeout (whole seconds, as OpenSSL counts them): a full handshake again. The
    // session-ID client offers its session all the same (it is given no lifetime): the server
    // refuses it.
    std::thread::sleep(Duration::from_millis(3500));
    for config in [&tickets13, &tickets12, &ids] {
        assert_eq!(handshake_kind(&timed, config), Full);
    }

    let one = TestServer::start_tls(|v| {
        certs.apply(v);
        v.tls.session_cache_size = 1;
    });
    let (first, second) = (session_id_client(&certs), session_id_client(&certs));
    assert_eq!(handshake_kind(&one, &first), Full);
    assert_eq!(handshake_kind(&one, &first), Resumed);
    assert_eq!(handshake_kind(&one, &second), Full);
    assert_eq!(
        handshake_kind(&one, &first),
        Full,
        "the cache keeps one session"
    );

    let off = TestServer::start_tls(|v| {
        certs.apply(v);
        v.tls.session_caching = false;
    });
    for config in [&tickets13, &ids] {
        assert_eq!(handshake_kind(&off, config), Full);
        assert_eq!(handshake_kind(&off, config), Full);
    }
}

fn raw_to(port: u16) -> common::RawClient {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    common::RawClient { stream }
}

fn refused(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_err()
}

/// CONFIG SET port and tls-port at run time, as redis-server 7.0 does (its replies checked side
/// by side): the new port is listened on, the old one no longer, connections already made stay; a
/// port that is taken refuses the whole CONFIG SET with Redis's text, and a tls-port without TLS
/// files refuses it as Redis does.
#[test]
fn ports_change_at_run_time() {
    let certs = Certs::new();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let redis = fleet::RedisServer::start();
    let mut theirs = raw_to(redis.port);
    let bare = TestServer::start();
    let mut raw = bare.raw();
    for name in ["port", "tls-port"] {
        let args: [&[u8]; 6] = [
            b"CONFIG",
            b"SET",
            name.as_bytes(),
            busy_port.as_bytes(),
            b"maxmemory",
            b"10mb",
        ];
        assert_eq!(
            String::from_utf8_lossy(&raw.call(&args)),
            String::from_utf8_lossy(&theirs.call(&args)),
            "{name}"
        );
    }
    assert_eq!(
        raw.call(&[b"CONFIG", b"SET", b"port", busy_port.as_bytes()]),
        b"-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
    );
    assert_eq!(
        raw.call(&[b"CONFIG", b"GET", b"maxmemory"]),
        b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );

    let server = TestServer::start_with(|v| certs.apply(v));
    let mut con = server.raw();
    assert_eq!(
        con.call(&[b"CONFIG", b"SET", b"tls-port", busy_port.as_bytes()]),
        b"-ERR CONFIG SET failed (possibly related to argument 'tls-port') - Unable to listen on this port. Check server logs.\r\n"
    );
    let tls_port = fleet::free_port();
    assert_eq!(
        con.call(&[
            b"CONFIG",
            b"SET",
            b"tls-port",
            tls_port.to_string().as_bytes()
        ]),
        b"+OK\r\n"
    );
    let tls_addr: std::net::SocketAddr = ([127, 0, 0, 1], tls_port).into();
    let mut tls_client = connect(tls_addr, certs.client()).unwrap();
    assert_eq!(call(&mut tls_client, &["PING"]).unwrap(), b"+PONG\r\n");
    let port = fleet::free_port();
    assert_eq!(
        con.call(&[b"CONFIG", b"SET", b"port", port.to_string().as_bytes()]),
        b"+OK\r\n"
    );
    let mut moved = raw_to(port);
    assert_eq!(moved.call(&[b"PING"]), b"+PONG\r\n");
    fleet::wait_until("the old port closed", || refused(server.port()));
    assert_eq!(con.call(&[b"PING"]), b"+PONG\r\n", "connections made stay");
    assert_eq!(
        moved.call(&[b"CONFIG", b"GET", b"port"]),
        format!(
            "*2\r\n$4\r\nport\r\n${}\r\n{port}\r\n",
            port.to_string().len()
        )
        .into_bytes()
    );
    assert_eq!(
        moved.call(&[b"CONFIG", b"SET", b"tls-port", b"0"]),
        b"+OK\r\n"
    );
    fleet::wait_until("the TLS port closed", || refused(tls_port));
    assert_eq!(call(&mut tls_client, &["PING"]).unwrap(), b"+PONG\r\n");
    drop(busy);
}

/// The cluster's failure detector probes the other nodes over TLS under `tls-cluster yes`,
/// presenting the client certificate (the peers keep `tls-auth-clients yes`), so nodes that
/// serve TLS only (`port 0`) see each other up. A third node that nobody serves is taken as
/// failed: once it is, a full timeout has passed since the first probe, and the TLS node probed
/// in the same rounds was answered. With `tls-cluster no` the same node's plaintext probes go
/// unanswered and it is taken as failed too.
#[test]
fn cluster_probes_go_over_tls_under_tls_cluster() {
    use cachet::state::cluster::Mode;
    let certs = Certs::new();
    let id = |n: usize| format!("{:040x}", 0x7150_0000 + n);
    let node = |n: usize| {
        let file = certs.dir.join(format!("nodes-{n}.conf"));
        start_tls_only(&certs, &[], |v| {
            certs.apply(v);
            v.tls.cluster = true;
            v.cluster_enabled = Mode::Yes;
            v.cluster_config_file = file.display().to_string();
            v.cluster_node_id = id(n);
            v.cluster_node_timeout = 500;
        })
    };
    let nodes = [node(0), node(1)];
    let addrs: Vec<std::net::SocketAddr> = nodes.iter().map(|n| n.tls.unwrap()).collect();
    let dead = fleet::free_port();
    let shard = |n: usize, ranges: &str, port: u16| {
        format!(
            r#"{{"slot_ranges": [{ranges}], "master": {{"id": "{}", "ip": "127.0.0.1", "port": {port}}}, "replicas": []}}"#,
            id(n)
        )
    };
    let json = format!(
        "[{}, {}, {}]",
        shard(0, r#"{"start": 0, "end": 8191}"#, addrs[0].port()),
        shard(1, r#"{"start": 8192, "end": 16383}"#, addrs[1].port()),
        shard(2, "", dead),
    );
    for &addr in &addrs {
        assert_eq!(
            tls_call(addr, &certs, &["CACHE.CLUSTER", "CONFIG", &json]),
            b"+OK\r\n"
        );
    }
    let text = |reply: Vec<u8>| String::from_utf8_lossy(&reply).into_owned();
    let line_of = |addr, n: usize| -> String {
        let nodes = text(tls_call(addr, &certs, &["CLUSTER", "NODES"]));
        let line = nodes.lines().find(|l| l.starts_with(&id(n)));
        line.unwrap_or_else(|| panic!("node {n} in {nodes}"))
            .to_string()
    };
    for (at, &addr) in addrs.iter().enumerate() {
        fleet::wait_until("the unserved node to be taken as failed", || {
            line_of(addr, 2).contains(" master,fail ")
        });
        let other = line_of(addr, 1 - at);
        assert!(
            other.contains(" master - ") && other.contains(" connected"),
            "{other}"
        );
        let info = text(tls_call(addr, &certs, &["CLUSTER", "INFO"]));
        assert!(info.contains("cluster_state:ok\r\n"), "{info}");
        assert!(info.contains("cluster_slots_fail:0\r\n"), "{info}");
    }
    // Plaintext probes to a TLS-only node: it is taken as failed, and its slots with it.
    assert_eq!(
        tls_call(addrs[0], &certs, &["CONFIG", "SET", "tls-cluster", "no"]),
        b"+OK\r\n"
    );
    fleet::wait_until("node 1 taken as failed over plaintext", || {
        line_of(addrs[0], 1).contains(" master,fail ")
    });
    let info = text(tls_call(addrs[0], &certs, &["CLUSTER", "INFO"]));
    assert!(info.contains("cluster_state:fail\r\n"), "{info}");
    assert!(info.contains("cluster_slots_fail:8192\r\n"), "{info}");
}
