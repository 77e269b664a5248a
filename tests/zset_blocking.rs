//! BZPOPMIN, BZPOPMAX and BZMPOP: replies recorded from redis-server 7.0.15, and waiting clients
//! served in arrival order by a later ZADD.

mod common;

use std::time::{Duration, Instant};

use common::{call, RawClient, TestServer};

fn send(raw: &mut RawClient, args: &[&str]) {
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    raw.send(&request);
}

fn wait_blocked(admin: &mut RawClient, n: usize) {
    let expected = format!("blocked_clients:{n}\r\n");
    let started = Instant::now();
    while !String::from_utf8_lossy(&call(admin, &["info", "clients"])).contains(&expected) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never {n} blocked"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn replies_match_redis() {
    let server = TestServer::start();
    let mut raw = server.raw();
    call(&mut raw, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    call(&mut raw, &["SET", "s", "x"]);
    assert_eq!(
        call(&mut raw, &["BZPOPMIN", "z", "0"]),
        b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(call(&mut raw, &["BZPOPMAX", "zz", "0.1"]), b"*-1\r\n");
    assert_eq!(
        call(&mut raw, &["BZMPOP", "0", "1", "z", "MAX", "COUNT", "5"]),
        b"*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(
        call(&mut raw, &["BZPOPMIN", "s", "0"]),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        call(&mut raw, &["BZPOPMIN", "s", "x"]),
        b"-ERR timeout is not a float or out of range\r\n"
    );
    assert_eq!(
        call(&mut raw, &["BZPOPMIN", "s", "-1"]),
        b"-ERR timeout is negative\r\n"
    );
    assert_eq!(
        call(&mut raw, &["BZMPOP", "0.1", "1", "zz", "MIN"]),
        b"*-1\r\n"
    );
    assert_eq!(
        call(&mut raw, &["BZMPOP", "0.1", "0", "zz", "MIN"]),
        b"-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        call(&mut raw, &["BZMPOP", "0.1", "1", "zz", "MIN", "COUNT", "0"]),
        b"-ERR count should be greater than 0\r\n"
    );
    call(&mut raw, &["HELLO", "3"]);
    assert_eq!(call(&mut raw, &["BZPOPMAX", "zz", "0.1"]), b"_\r\n");
}

#[test]
fn waiters_are_served_in_arrival_order() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut first = server.raw();
    let mut second = server.raw();
    send(&mut first, &["BZPOPMIN", "other", "q", "0"]);
    wait_blocked(&mut admin, 1);
    send(&mut second, &["BZMPOP", "0", "1", "q", "MAX", "COUNT", "2"]);
    wait_blocked(&mut admin, 2);
    assert_eq!(
        call(&mut admin, &["ZADD", "q", "1", "x", "2", "y", "3", "z"]),
        b":3\r\n"
    );
    assert_eq!(
        first.read_reply(),
        b"*3\r\n$1\r\nq\r\n$1\r\nx\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        second.read_reply(),
        b"*2\r\n$1\r\nq\r\n*2\r\n*2\r\n$1\r\nz\r\n$1\r\n3\r\n*2\r\n$1\r\ny\r\n$1\r\n2\r\n"
    );
    assert_eq!(call(&mut admin, &["EXISTS", "q"]), b":0\r\n");
    wait_blocked(&mut admin, 0);
}
