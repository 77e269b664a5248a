//! Blocking list commands against the real server. Each blocked client is a raw socket; the test
//! waits until the server reports it blocked (INFO's `blocked_clients`, CLIENT LIST's `flags=b`)
//! before acting, so nothing depends on timing. Expected replies are what Redis 7.0 answered in
//! the same scenarios.

mod common;

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use common::{call, RawClient, TestServer};

const NIL_ARRAY: &[u8] = b"*-1\r\n";

/// Sends a request without waiting for its reply.
fn send(raw: &mut RawClient, args: &[&str]) {
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    raw.send(&request);
}

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

/// Waits until the server counts `n` blocked clients (a blocked client registers asynchronously
/// to our sending its command).
fn wait_blocked(admin: &mut RawClient, n: usize) {
    let expected = format!("blocked_clients:{n}\r\n");
    let started = Instant::now();
    loop {
        let info = text(&call(admin, &["info", "clients"]));
        if info.contains(&expected) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never reached {n} blocked clients: {info}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Nothing is waiting on the socket: the blocked command has not answered.
fn assert_no_reply(raw: &mut RawClient) {
    raw.stream
        .set_nonblocking(true)
        .expect("nonblocking socket");
    let mut byte = [0u8; 1];
    let result = raw.stream.read(&mut byte);
    raw.stream.set_nonblocking(false).expect("blocking socket");
    match result {
        Err(err) => assert_eq!(err.kind(), ErrorKind::WouldBlock),
        Ok(n) => panic!("unexpected reply ({n} bytes): {:?}", &byte[..n]),
    }
}

fn bulk(text: &str) -> String {
    format!("${}\r\n{text}\r\n", text.len())
}

fn key_and_element(key: &str, element: &str) -> String {
    format!("*2\r\n{}{}", bulk(key), bulk(element))
}

#[test]
fn clients_are_served_in_arrival_order_one_element_each() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut waiters: Vec<RawClient> = (0..3).map(|_| server.raw()).collect();
    for (i, waiter) in waiters.iter_mut().enumerate() {
        send(waiter, &["blpop", "k", "0"]);
        wait_blocked(&mut admin, i + 1);
    }
    for waiter in waiters.iter_mut() {
        assert_no_reply(waiter);
    }
    // A push of two elements serves the first two clients, in the order they blocked.
    assert_eq!(call(&mut admin, &["rpush", "k", "a", "b"]), b":2\r\n");
    assert_eq!(text(&waiters[0].read_reply()), key_and_element("k", "a"));
    assert_eq!(text(&waiters[1].read_reply()), key_and_element("k", "b"));
    wait_blocked(&mut admin, 1);
    assert_no_reply(&mut waiters[2]);
    assert_eq!(call(&mut admin, &["exists", "k"]), b":0\r\n");
    assert_eq!(call(&mut admin, &["rpush", "k", "c"]), b":1\r\n");
    assert_eq!(text(&waiters[2].read_reply()), key_and_element("k", "c"));
    assert_eq!(call(&mut admin, &["exists", "k"]), b":0\r\n");
}

#[test]
fn served_after_the_whole_push_completes() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut waiter = server.raw();
    // LPUSH a b c leaves c at the head: a client served in the middle of it would get a.
    send(&mut waiter, &["blpop", "k", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(call(&mut admin, &["lpush", "k", "a", "b", "c"]), b":3\r\n");
    assert_eq!(text(&waiter.read_reply()), key_and_element("k", "c"));
    send(&mut waiter, &["brpop", "none", "k2", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(call(&mut admin, &["rpush", "k2", "a", "b", "c"]), b":3\r\n");
    assert_eq!(text(&waiter.read_reply()), key_and_element("k2", "c"));
    send(
        &mut waiter,
        &["blmpop", "0", "1", "k3", "left", "count", "5"],
    );
    wait_blocked(&mut admin, 1);
    assert_eq!(call(&mut admin, &["rpush", "k3", "a", "b", "c"]), b":3\r\n");
    assert_eq!(
        text(&waiter.read_reply()),
        format!(
            "*2\r\n{}*3\r\n{}{}{}",
            bulk("k3"),
            bulk("a"),
            bulk("b"),
            bulk("c")
        )
    );
}

#[test]
fn timeouts_answer_nil() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(call(&mut raw, &["blpop", "none", "0.01"]), NIL_ARRAY);
    assert_eq!(
        call(&mut raw, &["brpop", "none", "other", "0.01"]),
        NIL_ARRAY
    );
    // Redis answers a timed-out BLMOVE with the null array too.
    assert_eq!(
        call(&mut raw, &["blmove", "none", "d", "left", "left", "0.01"]),
        NIL_ARRAY
    );
    assert_eq!(
        call(&mut raw, &["brpoplpush", "none", "d", "0.01"]),
        NIL_ARRAY
    );
    assert_eq!(
        call(&mut raw, &["blmpop", "0.01", "1", "none", "left"]),
        NIL_ARRAY
    );
    call(&mut raw, &["hello", "3"]);
    assert_eq!(call(&mut raw, &["blpop", "none", "0.01"]), b"_\r\n");
    wait_blocked(&mut raw, 0);
}

#[test]
fn a_closed_connection_leaves_no_trace() {
    let server = TestServer::start();
    let mut admin = server.raw();
    {
        let mut gone = server.raw();
        send(&mut gone, &["blpop", "k", "0"]);
        wait_blocked(&mut admin, 1);
    }
    wait_blocked(&mut admin, 0);
    assert_eq!(call(&mut admin, &["rpush", "k", "kept"]), b":1\r\n");
    assert_eq!(
        call(&mut admin, &["lrange", "k", "0", "-1"]),
        bulk_array(&["kept"])
    );
}

fn bulk_array(items: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len());
    for item in items {
        out.push_str(&bulk(item));
    }
    out.into_bytes()
}

#[test]
fn blmove_serves_a_chain_of_waiters() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut mover = server.raw();
    let mut popper = server.raw();
    send(&mut mover, &["blmove", "m1", "m2", "left", "right", "0"]);
    wait_blocked(&mut admin, 1);
    send(&mut popper, &["blpop", "m2", "0"]);
    wait_blocked(&mut admin, 2);
    assert_eq!(call(&mut admin, &["rpush", "m1", "e1"]), b":1\r\n");
    assert_eq!(text(&mover.read_reply()), bulk("e1"));
    assert_eq!(text(&popper.read_reply()), key_and_element("m2", "e1"));
    assert_eq!(call(&mut admin, &["exists", "m1", "m2"]), b":0\r\n");
    // BRPOPLPUSH onto its own source rotates.
    send(&mut mover, &["brpoplpush", "r", "r", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(call(&mut admin, &["rpush", "r", "a", "b"]), b":2\r\n");
    assert_eq!(text(&mover.read_reply()), bulk("b"));
    assert_eq!(
        call(&mut admin, &["lrange", "r", "0", "-1"]),
        bulk_array(&["b", "a"])
    );
}

#[test]
fn wrong_types_while_waiting() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut waiter = server.raw();
    // A destination of another type: the waiter gets WRONGTYPE and the element stays.
    call(&mut admin, &["set", "str", "v"]);
    send(&mut waiter, &["blmove", "w1", "str", "left", "right", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(call(&mut admin, &["rpush", "w1", "e"]), b":1\r\n");
    assert_eq!(
        waiter.read_reply(),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        call(&mut admin, &["lrange", "w1", "0", "-1"]),
        bulk_array(&["e"])
    );
    // A waited key that becomes another type keeps its waiter blocked.
    send(&mut waiter, &["blpop", "w2", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(call(&mut admin, &["set", "w2", "v"]), b"+OK\r\n");
    assert_eq!(call(&mut admin, &["del", "w2"]), b":1\r\n");
    wait_blocked(&mut admin, 1);
    assert_no_reply(&mut waiter);
    assert_eq!(call(&mut admin, &["rpush", "w2", "ok"]), b":1\r\n");
    assert_eq!(text(&waiter.read_reply()), key_and_element("w2", "ok"));
}

#[test]
fn pipelined_requests_wait_for_the_blocked_one() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut client = server.raw();
    let mut batch = Vec::new();
    for args in [&["ping", "a"][..], &["blpop", "p", "0"], &["ping", "b"]] {
        batch.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for arg in args {
            batch.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
        }
    }
    client.send(&batch);
    assert_eq!(text(&client.read_reply()), bulk("a"));
    wait_blocked(&mut admin, 1);
    assert_no_reply(&mut client);
    call(&mut admin, &["lpush", "p", "1"]);
    assert_eq!(text(&client.read_reply()), key_and_element("p", "1"));
    assert_eq!(text(&client.read_reply()), bulk("b"));
}

#[test]
fn client_unblock_and_client_list() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut waiter = server.raw();
    let id = text(&call(&mut waiter, &["client", "id"]));
    let id = id.trim().trim_start_matches(':').to_string();
    send(&mut waiter, &["blpop", "u", "0"]);
    wait_blocked(&mut admin, 1);
    let line = text(&call(&mut admin, &["client", "list", "id", &id]));
    assert!(line.contains(" flags=b "), "{line}");
    assert_eq!(
        call(&mut admin, &["client", "unblock", &id, "error"]),
        b":1\r\n"
    );
    assert_eq!(
        waiter.read_reply(),
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    send(&mut waiter, &["blmove", "u", "d", "left", "left", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(call(&mut admin, &["client", "unblock", &id]), b":1\r\n");
    assert_eq!(waiter.read_reply(), NIL_ARRAY);
    assert_eq!(call(&mut admin, &["client", "unblock", &id]), b":0\r\n");
    assert_eq!(
        call(&mut admin, &["client", "unblock", &id, "later"]),
        b"-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
    let line = text(&call(&mut admin, &["client", "list", "id", &id]));
    assert!(line.contains(" flags=N "), "{line}");
}

#[test]
fn resp3_clients_get_resp3_replies_when_served() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut waiter = server.raw();
    call(&mut waiter, &["hello", "3"]);
    send(&mut waiter, &["blmpop", "0", "2", "a", "b", "right"]);
    wait_blocked(&mut admin, 1);
    call(&mut admin, &["rpush", "b", "x", "y"]);
    assert_eq!(
        text(&waiter.read_reply()),
        format!("*2\r\n{}*1\r\n{}", bulk("b"), bulk("y"))
    );
}

#[test]
fn many_concurrent_waiters_each_get_one_element() {
    let server = TestServer::start();
    let mut admin = server.raw();
    const WAITERS: usize = 20;
    let handles: Vec<_> = (0..WAITERS)
        .map(|_| {
            let mut raw = server.raw();
            std::thread::spawn(move || call(&mut raw, &["brpop", "q", "0"]))
        })
        .collect();
    wait_blocked(&mut admin, WAITERS);
    let elements: Vec<String> = (0..WAITERS).map(|i| format!("e{i}")).collect();
    let mut args = vec!["lpush", "q"];
    args.extend(elements.iter().map(String::as_str));
    call(&mut admin, &args);
    let mut got: Vec<String> = handles
        .into_iter()
        .map(|h| text(&h.join().expect("waiter thread")))
        .collect();
    got.sort();
    let mut expected: Vec<String> = elements.iter().map(|e| key_and_element("q", e)).collect();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(call(&mut admin, &["exists", "q"]), b":0\r\n");
}

#[test]
fn a_killed_client_leaves_no_trace() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut waiter = server.raw();
    let id = text(&call(&mut waiter, &["client", "id"]));
    let id = id.trim().trim_start_matches(':').to_string();
    send(&mut waiter, &["brpoplpush", "k", "d", "0"]);
    wait_blocked(&mut admin, 1);
    assert_eq!(call(&mut admin, &["client", "kill", "id", &id]), b":1\r\n");
    wait_blocked(&mut admin, 0);
    assert!(waiter.is_closed());
    assert_eq!(call(&mut admin, &["rpush", "k", "kept"]), b":1\r\n");
    assert_eq!(call(&mut admin, &["exists", "d"]), b":0\r\n");
}
