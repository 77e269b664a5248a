//! The admin port's defences (`src/net/admin/conn.rs`, `read_body` in `mod.rs`): a client that
//! sends half a request's headers, or declares a body and never sends it, is dropped after
//! `admin-timeout` while other clients are served; bodies over the limit get a 413 whether
//! declared or chunked; the token is checked before a body is read; past `admin-maxclients` a
//! connection gets a 503 and is closed. Raw sockets, since a well-behaved HTTP client cannot
//! misbehave on purpose.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::TestServer;
use reqwest::blocking::Client;
use reqwest::StatusCode;

fn http() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

fn url(server: &TestServer, path: &str) -> String {
    format!("http://{}{path}", server.admin.expect("admin port"))
}

/// A raw connection to the admin port; reads give up after 30 s so that a server that never
/// closes fails the test instead of hanging it.
fn raw(server: &TestServer) -> TcpStream {
    let stream = TcpStream::connect(server.admin.expect("admin port")).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Everything the server sends until it closes the connection.
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("the server closes the connection (not a read timeout)");
    String::from_utf8_lossy(&answer).into_owned()
}

/// One sample of /metrics, as a number.
fn metric(server: &TestServer, name: &str) -> f64 {
    let text = http()
        .get(url(server, "/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} missing"))
        .parse()
        .unwrap()
}

fn health_ok(server: &TestServer) -> bool {
    http()
        .get(url(server, "/health"))
        .send()
        .is_ok_and(|r| r.status() == StatusCode::OK)
}

#[test]
fn half_sent_headers_are_dropped_while_others_are_served() {
    let server = TestServer::start_admin(|c| c.admin_timeout = 2);
    // Slowloris: a request line and one header, and then nothing.
    let mut slow = raw(&server);
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: cachet\r\n")
        .unwrap();
    // A connection that sends nothing at all.
    let mut silent = raw(&server);
    // A keep-alive connection left idle after a complete request.
    let mut idle = raw(&server);
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: cachet\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 15];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK");
    // Meanwhile the port serves everyone else.
    for _ in 0..5 {
        assert!(health_ok(&server));
    }
    // Each of the three is closed by the server: the slow one never gets an answer.
    let answer = read_until_closed(&mut slow);
    assert!(!answer.contains("200 OK"), "{answer}");
    read_until_closed(&mut silent);
    let rest = read_until_closed(&mut idle);
    assert!(!rest.contains("HTTP/1.1"), "{rest}");
    fleet::wait_until("three timeouts counted", || {
        metric(&server, "cachet_admin_timeouts_total") >= 3.0
    });
    assert!(server.alive());
}

#[test]
fn a_body_that_never_arrives_gets_408_and_nothing_is_written() {
    let server = TestServer::start_admin(|c| c.admin_timeout = 2);
    let mut slow = raw(&server);
    slow.write_all(
        b"PUT /v1/keys/k HTTP/1.1\r\nHost: cachet\r\ncontent-type: application/json\r\n\
          content-length: 100\r\n\r\n{\"value\": \"v",
    )
    .unwrap();
    assert!(health_ok(&server));
    let answer = read_until_closed(&mut slow);
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\"status\":408"), "{answer}");
    let mut con = server.client();
    let exists: i64 = redis::cmd("EXISTS").arg("k").query(&mut con).unwrap();
    assert_eq!(exists, 0);
    // A body sent in full within the time is written.
    let response = http()
        .put(url(&server, "/v1/keys/k"))
        .body(r#"{"value": "v"}"#)
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let value: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(value, "v");
}

#[test]
fn bodies_over_the_limit_are_refused_declared_or_chunked() {
    let limit = cachet::net::admin::MAX_BODY_BYTES;
    let server = TestServer::start_admin(|c| c.admin_timeout = 60);
    // A declared length over the limit: 413 at once, before any of the body is sent (a server
    // that waited for it would answer only after admin-timeout, past the read timeout).
    let mut declared = raw(&server);
    write!(
        declared,
        "PUT /v1/keys/k HTTP/1.1\r\nHost: cachet\r\ncontent-length: {}\r\n\r\n",
        limit + 1
    )
    .unwrap();
    declared
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let answer = read_until_closed(&mut declared);
    assert!(
        answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\"status\":413"), "{answer}");
    // Exactly the limit is accepted.
    let value = "v".repeat(limit - r#"{"value":""}"#.len());
    let response = http()
        .put(url(&server, "/v1/keys/k"))
        .body(format!(r#"{{"value":"{value}"}}"#))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Chunked, with no length announced: the server stops at the limit. It may close while the
    // client still writes, so the client sees either the 413 or a reset; never a stored key.
    let mut con = server.client();
    let _: () = redis::cmd("DEL").arg("k").query(&mut con).unwrap();
    let body = format!(r#"{{"value":"{}"}}"#, "v".repeat(limit));
    let chunked = reqwest::blocking::Body::new(std::io::Cursor::new(body.into_bytes()));
    match http().put(url(&server, "/v1/keys/k")).body(chunked).send() {
        Ok(response) => assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(err) => assert!(!err.is_timeout(), "{err}"),
    }
    let exists: i64 = redis::cmd("EXISTS").arg("k").query(&mut con).unwrap();
    assert_eq!(exists, 0);
    assert!(health_ok(&server));
}

#[test]
fn the_token_is_checked_before_the_body_is_read() {
    let server = TestServer::start_admin(|c| {
        c.admin_token = b"s3cret".to_vec();
        c.admin_timeout = 60;
    });
    // No token, a body declared and never sent: 401 at once (a server that read the body first
    // would wait admin-timeout, past this socket's read timeout).
    let mut stream = raw(&server);
    stream
        .write_all(b"PUT /v1/keys/k HTTP/1.1\r\nHost: cachet\r\ncontent-length: 1000\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let answer = read_until_closed(&mut stream);
    assert!(
        answer.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
        "{answer}"
    );
    assert!(answer.contains("www-authenticate: Bearer"), "{answer}");
}

#[test]
fn connections_past_admin_maxclients_get_503_and_close() {
    let server = TestServer::start_admin(|c| {
        c.admin_maxclients = 2;
        c.admin_timeout = 60;
    });
    // Two keep-alive connections, each answered once: both are in.
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = raw(&server);
            stream
                .write_all(b"GET /health HTTP/1.1\r\nHost: cachet\r\n\r\n")
                .unwrap();
            let mut first = [0u8; 15];
            stream.read_exact(&mut first).unwrap();
            assert_eq!(&first, b"HTTP/1.1 200 OK");
            stream
        })
        .collect();
    // The third is refused before it sends anything.
    let mut third = raw(&server);
    let answer = read_until_closed(&mut third);
    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{answer}"
    );
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["status"], 503);
    assert!(json["error"].as_str().unwrap().contains("max number"));
    // The RESP port is not concerned.
    let mut con = server.client();
    let _: String = redis::cmd("PING").query(&mut con).unwrap();
    // One held connection closes: its place is given back.
    drop(held.pop());
    fleet::wait_until("a place frees up", || health_ok(&server));
    assert!(metric(&server, "cachet_admin_rejected_connections_total") >= 1.0);
    // The limit is read at each accept: raised at run time, more connections get in.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("admin-maxclients")
        .arg("10")
        .query(&mut con)
        .unwrap();
    let more: Vec<TcpStream> = (0..3).map(|_| raw(&server)).collect();
    assert!(health_ok(&server));
    assert!(metric(&server, "cachet_admin_connections") >= 4.0);
    drop(more);
    drop(held);
}

/// A connection whose receive buffer holds little (set before connecting, so the window the
/// server sees is small from the start).
fn small_window(server: &TestServer) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .connect(&server.admin.expect("admin port").into())
        .unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

#[test]
fn a_response_the_client_stops_reading_is_dropped_and_its_slot_freed() {
    let server = TestServer::start_admin(|c| {
        c.admin_maxclients = 1;
        c.admin_timeout = 1;
    });
    // 24 MiB of values (48 MiB of hex in the export): more than the kernel's largest send buffer
    // (4 MiB by default) and the client's receive buffer can hold, so the export's writes stall
    // once they are full. Pseudo-random, since DUMP compresses a repetitive value to nothing.
    let mut con = server.client();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let value: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    for i in 0..24 {
        let _: () = redis::cmd("SET")
            .arg(format!("big:{i}"))
            .arg(&value)
            .query(&mut con)
            .unwrap();
    }
    let before = metric(&server, "cachet_admin_timeouts_total");
    // The connection that read `before` may not be closed on the server's side yet: until it is,
    // the only slot is taken and this one is refused, so try again.
    let mut stalled = None;
    fleet::wait_until("the export is admitted", || {
        let mut stream = small_window(&server);
        stream
            .write_all(b"GET /v1/export HTTP/1.1\r\nHost: cachet\r\n\r\n")
            .unwrap();
        // The status line only: the rest of the answer stays unread.
        let mut first = [0u8; 15];
        stream.read_exact(&mut first).unwrap();
        stalled = Some(stream);
        &first == b"HTTP/1.1 200 OK"
    });
    let mut stalled = stalled.unwrap();
    // Never read: the only slot is held until the write timeout drops the connection, then
    // another client is served.
    fleet::wait_until("the stalled export's slot is freed", || health_ok(&server));
    // Room for the checks below, whose connections would otherwise race each other's close.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("admin-maxclients")
        .arg("10")
        .query(&mut con)
        .unwrap();
    assert!(metric(&server, "cachet_admin_timeouts_total") > before);
    // The connection was closed by the server: reading drains what was sent, then ends.
    let mut sink = Vec::new();
    let read = stalled.read_to_end(&mut sink);
    assert!(
        read.is_err() || sink.len() < 24 << 20,
        "the whole export was delivered: {} bytes",
        sink.len()
    );
    // A client that reads gets the whole answer under the same timeout.
    let mut reader = raw(&server);
    reader
        .write_all(
            b"GET /v1/export?pattern=big:1 HTTP/1.1\r\nHost: cachet\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let answer = read_until_closed(&mut reader);
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        &answer[..64]
    );
    // The one key's dump in hex, and the headers.
    assert!(answer.len() > 2 << 20, "{} bytes", answer.len());
}

#[test]
fn admin_limits_are_config_directives() {
    let server = TestServer::start_admin(|_| {});
    let mut con = server.client();
    for (name, default) in [("admin-maxclients", "128"), ("admin-timeout", "10")] {
        let got: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query(&mut con)
            .unwrap();
        assert_eq!(got, vec![name.to_string(), default.to_string()]);
        for bad in ["0", "-1", "x"] {
            let err = redis::cmd("CONFIG")
                .arg("SET")
                .arg(name)
                .arg(bad)
                .query::<()>(&mut con)
                .unwrap_err();
            assert!(
                err.to_string().contains("argument couldn't be parsed")
                    || err.to_string().contains("must be between"),
                "{name} {bad}: {err}"
            );
        }
    }
}
