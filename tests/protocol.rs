//! The wire against Redis 7.0: every malformed request gets the reply bytes redis-server sent for
//! the same bytes (recorded with a raw socket), and the connection closes exactly when Redis closes
//! it. After each bad client the server must still serve a fresh connection.

mod common;

use std::io::{ErrorKind, Read};

use common::{RawClient, TestServer};

/// Reads until the server closes the connection (or a reset), returning everything it sent; panics
/// (via the 5 s read timeout of `raw()`) if it does not close.
fn read_to_close(client: &mut RawClient) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match client.stream.read(&mut chunk) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) =>
            {
                return out
            }
            Err(e) => panic!(
                "connection still open after {:?}: {e}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

/// A server under test, with the password a fresh client needs to prove the server is alive.
struct Target {
    server: TestServer,
    password: Option<&'static [u8]>,
}

impl Target {
    fn start() -> Target {
        Target {
            server: TestServer::start(),
            password: None,
        }
    }

    fn with_password(password: &'static [u8]) -> Target {
        Target {
            server: TestServer::start_with(|c| c.requirepass = password.to_vec()),
            password: Some(password),
        }
    }

    fn raw(&self) -> RawClient {
        self.server.raw()
    }

    /// A fresh connection is served (without a password: NOAUTH is an answer too).
    fn alive(&self) -> bool {
        self.server.raw().call(&[b"PING"]) == self.ping_reply()
    }

    /// What an unauthenticated `PING` gets on this server.
    fn ping_reply(&self) -> &'static [u8] {
        if self.password.is_some() {
            b"-NOAUTH Authentication required.\r\n"
        } else {
            b"+PONG\r\n"
        }
    }

    /// Sends `input` and expects exactly `reply` followed by the server closing the connection.
    fn closes_with(&self, input: &[u8], reply: &[u8]) {
        let mut client = self.raw();
        client.send(input);
        let got = read_to_close(&mut client);
        assert_eq!(
            got,
            reply,
            "for input {:?}: got {:?}",
            String::from_utf8_lossy(input),
            String::from_utf8_lossy(&got)
        );
        assert!(self.alive());
    }

    /// Sends `input` and expects exactly `reply`, then proves the connection is still usable.
    fn replies_and_stays(&self, input: &[u8], reply: &[u8]) {
        let mut client = self.raw();
        client.send(input);
        let mut got = Vec::new();
        while got.len() < reply.len() {
            let one = client.read_reply();
            assert!(
                !one.is_empty(),
                "closed after {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&one);
        }
        assert_eq!(got, reply, "for input {:?}", String::from_utf8_lossy(input));
        assert_eq!(client.call(&[b"PING"]), self.ping_reply());
        assert!(self.alive());
    }

    /// Sends `input`, to which Redis sends nothing and keeps waiting (an incomplete request);
    /// proves the bytes are held by pushing the request past the 64 KiB line limit.
    fn waits_then_too_big(&self, input: &[u8], error: &[u8]) {
        let mut client = self.raw();
        client.send(input);
        client.send(&vec![b'x'; 64 * 1024]);
        assert_eq!(
            read_to_close(&mut client),
            error,
            "for input {:?}",
            String::from_utf8_lossy(input)
        );
        assert!(self.alive());
    }
}

const TOO_BIG_INLINE: &[u8] = b"-ERR Protocol error: too big inline request\r\n";
const TOO_BIG_MBULK: &[u8] = b"-ERR Protocol error: too big mbulk count string\r\n";
const TOO_BIG_BULK: &[u8] = b"-ERR Protocol error: too big bulk count string\r\n";
const INVALID_MBULK: &[u8] = b"-ERR Protocol error: invalid multibulk length\r\n";
const INVALID_BULK: &[u8] = b"-ERR Protocol error: invalid bulk length\r\n";
const UNBALANCED: &[u8] = b"-ERR Protocol error: unbalanced quotes in request\r\n";

#[test]
fn command_errors_keep_the_connection() {
    let server = Target::start();
    server.replies_and_stays(
        b"*1\r\n$3\r\nGET\r\n",
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    server.replies_and_stays(
        b"*2\r\n$5\r\nFOOBR\r\n$1\r\na\r\n",
        b"-ERR unknown command 'FOOBR', with args beginning with: 'a' \r\n",
    );
    server.replies_and_stays(
        b"FOOBR a 'b c'\r\n",
        b"-ERR unknown command 'FOOBR', with args beginning with: 'a' 'b c' \r\n",
    );
}

#[test]
fn unbalanced_quotes_close() {
    let server = Target::start();
    server.closes_with(b"SET \"a\r\n", UNBALANCED);
    server.closes_with(b"SET 'a\r\n", UNBALANCED);
    server.closes_with(b"SET \"a\"b\r\n", UNBALANCED);
    server.closes_with(b"SET 'a'b\r\n", UNBALANCED);
    server.closes_with(b"ECHO a\"b c\"d\r\n", UNBALANCED);
    server.closes_with(b"ECHO \"a\\\r\n", UNBALANCED);
}

#[test]
fn inline_splitting_like_sdssplitargs() {
    let server = Target::start();
    server.replies_and_stays(b"ECHO\ta\r\n", b"$1\r\na\r\n");
    server.replies_and_stays(b"ECHO \"\\x41\\n\\q\"\r\n", b"$3\r\nA\nq\r\n");
    server.replies_and_stays(b"ECHO \"\\xZZ\"\r\n", b"$3\r\nxZZ\r\n");
    server.replies_and_stays(b"ECHO \"\\x4A\\x4a\"\r\n", b"$2\r\nJJ\r\n");
    server.replies_and_stays(b"ECHO \"\\x4\"\r\n", b"$2\r\nx4\r\n");
    server.replies_and_stays(b"ECHO \"a\\\"b\"\r\n", b"$3\r\na\"b\r\n");
    server.replies_and_stays(b"ECHO \"a\" \r\n", b"$1\r\na\r\n");
    server.replies_and_stays(b"ECHO a\x0bb\r\n", b"$3\r\na\x0bb\r\n");
    server.replies_and_stays(b"ECHO a\x0cb\r\n", b"$3\r\na\x0cb\r\n");
    server.replies_and_stays(b"\x0bECHO a\r\n", b"$1\r\na\r\n");
    server.replies_and_stays(b"ECHO \"a\"\x0b\r\n", b"$1\r\na\r\n");
    server.replies_and_stays(b"ECHO ''\r\n", b"$0\r\n\r\n");
    server.replies_and_stays(b"ECHO \"\"\r\n", b"$0\r\n\r\n");
    server.replies_and_stays(b"ECHO \xe9\xff\r\n", b"$2\r\n\xe9\xff\r\n");
    server.replies_and_stays(
        b"ECHO a\rb\r\n",
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
    server.replies_and_stays(
        b"ECHO 'a\\'b' 'c\\nd'\r\n",
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
    server.replies_and_stays(
        b"ECHO a\"b c\" d\r\n",
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
}

#[test]
fn empty_requests_are_skipped() {
    let server = Target::start();
    server.replies_and_stays(b"\r\nPING\r\n", b"+PONG\r\n");
    server.replies_and_stays(b"\nPING\n", b"+PONG\r\n");
    server.replies_and_stays(b"\r\r\nPING\r\n", b"+PONG\r\n");
    server.replies_and_stays(b"   \r\nPING\r\n", b"+PONG\r\n");
    server.replies_and_stays(b"*0\r\nPING\r\n", b"+PONG\r\n");
    server.replies_and_stays(b"*-1\r\nPING\r\n", b"+PONG\r\n");
    server.replies_and_stays(b"*-5\r\nPING\r\n", b"+PONG\r\n");
}

#[test]
fn bad_bulk_lengths_close() {
    let server = Target::start();
    server.closes_with(b"*2\r\n$4\r\nECHO\r\n$-1\r\n", INVALID_BULK);
    server.closes_with(b"*2\r\n$4\r\nECHO\r\n$-5\r\n", INVALID_BULK);
    server.closes_with(b"*2\r\n$4\r\nECHO\r\n$536870913\r\n", INVALID_BULK);
    server.closes_with(
        b"*2\r\n$4\r\nECHO\r\n$99999999999999999999\r\n",
        INVALID_BULK,
    );
    server.closes_with(b"*1\r\n$abc\r\n", INVALID_BULK);
    server.closes_with(b"*1\r\n$\r\n", INVALID_BULK);
    server.closes_with(b"*1\r\n$04\r\nPING\r\n", INVALID_BULK);
}

#[test]
fn bulk_over_a_lowered_proto_max_bulk_len_closes() {
    let server = Target {
        server: TestServer::start_with(|c| c.proto_max_bulk_len = 1024 * 1024),
        password: None,
    };
    server.replies_and_stays(b"*2\r\n$4\r\nECHO\r\n$1\r\na\r\n", b"$1\r\na\r\n");
    server.closes_with(b"*2\r\n$4\r\nECHO\r\n$1048577\r\n", INVALID_BULK);
}

#[test]
fn bad_multibulk_counts_close() {
    let server = Target::start();
    server.closes_with(b"*2147483648\r\n", INVALID_MBULK);
    server.closes_with(b"*abc\r\n", INVALID_MBULK);
    server.closes_with(b"*\r\nPING\r\n", INVALID_MBULK);
    server.closes_with(b"*+1\r\n", INVALID_MBULK);
    server.closes_with(b"*01\r\n$4\r\nPING\r\n", INVALID_MBULK);
    server.closes_with(b"* 1\r\n", INVALID_MBULK);
    server.closes_with(b"*1 \r\n", INVALID_MBULK);
}

#[test]
fn expected_dollar_echoes_the_byte_raw() {
    let server = Target::start();
    server.closes_with(
        b"*1\r\n+foo\r\n",
        b"-ERR Protocol error: expected '$', got '+'\r\n",
    );
    server.closes_with(
        b"*1\r\n\r\n",
        b"-ERR Protocol error: expected '$', got ' '\r\n",
    );
    server.closes_with(
        b"*1\r\n\xff\r\n",
        b"-ERR Protocol error: expected '$', got '\xff'\r\n",
    );
    server.closes_with(
        b"*1\r\n\xc3\xa9\r\n",
        b"-ERR Protocol error: expected '$', got '\xc3'\r\n",
    );
    // The count line ends at its first '\r' and the byte after it is skipped: here a second '\r',
    // which leaves the '\n' as the start of the next header.
    server.closes_with(
        b"*1\r\r\n$4\r\nPING\r\n",
        b"-ERR Protocol error: expected '$', got ' '\r\n",
    );
}

#[test]
fn bytes_after_a_cr_and_after_bulk_data_are_not_checked() {
    let server = Target::start();
    server.replies_and_stays(b"*1\rX$4\r\nPING\r\n", b"+PONG\r\n");
    server.replies_and_stays(b"*1\r\n$4\rXPING\r\nPING\r\n", b"+PONG\r\n+PONG\r\n");
    server.replies_and_stays(b"*1\r\n$4\r\nPINGxx", b"+PONG\r\n");
}

#[test]
fn nul_bytes_hide_the_line_end_like_strchr() {
    let server = Target::start();
    // Redis searches lines with strchr: these never complete and fail only at the line limit.
    server.waits_then_too_big(b"PI\x00NG\r\n", TOO_BIG_INLINE);
    server.waits_then_too_big(b"\x00\xff\xfe\r\n", TOO_BIG_INLINE);
    let garbage: Vec<u8> = (0..=255u8).chain(*b"\r\n").collect();
    server.waits_then_too_big(&garbage, TOO_BIG_INLINE);
    server.waits_then_too_big(b"*1\x00\r\n$4\r\nPING\r\n", TOO_BIG_MBULK);
    server.waits_then_too_big(b"*1\r\n$4\x00\r\nPING\r\n", TOO_BIG_BULK);
}

#[test]
fn garbage_without_nul_is_an_unknown_command() {
    let server = Target::start();
    let garbage: Vec<u8> = (1..=255u8)
        .filter(|b| !b"\r\n\"' \t\x0b\x0c".contains(b) && b.is_ascii())
        .chain(*b"\r\n")
        .collect();
    let mut client = server.raw();
    client.send(&garbage);
    let reply = client.read_reply();
    assert!(
        reply.starts_with(b"-ERR unknown command '\x01\x02"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    assert_eq!(client.call(&[b"PING"]), b"+PONG\r\n");
    assert!(server.alive());
}

#[test]
fn lines_over_64k_without_terminator_close() {
    let server = Target::start();
    server.closes_with(&vec![b'A'; 64 * 1024 + 1], TOO_BIG_INLINE);
    let mut star = b"*".to_vec();
    star.resize(64 * 1024 + 2, b'1');
    server.closes_with(&star, TOO_BIG_MBULK);
    let mut dollar = b"*1\r\n$".to_vec();
    dollar.resize(4 + 64 * 1024 + 2, b'1');
    server.closes_with(&dollar, TOO_BIG_BULK);
}

#[test]
fn a_line_of_exactly_64k_still_waits() {
    let server = Target::start();
    let mut client = server.raw();
    let mut line = b"ECHO ".to_vec();
    line.resize(64 * 1024, b'A');
    client.send(&line);
    client.send(b"\r\n");
    let reply = client.read_reply();
    assert!(reply.starts_with(format!("${}\r\nAAA", 64 * 1024 - 5).as_bytes()));
    assert!(server.alive());
}

#[test]
fn requests_before_a_protocol_error_are_answered_first() {
    let server = Target::start();
    server.closes_with(
        b"PING\r\n*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n+x\r\n",
        b"+PONG\r\n+PONG\r\n+OK\r\n-ERR Protocol error: expected '$', got '+'\r\n",
    );
    assert_eq!(server.raw().call(&[b"GET", b"k"]), b"$1\r\nv\r\n");
}

#[test]
fn a_client_dropping_mid_command_does_not_disturb_others() {
    let server = Target::start();
    let mut other = server.raw();
    assert_eq!(other.call(&[b"SET", b"k", b"old"]), b"+OK\r\n");
    for partial in [
        &b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc"[..],
        b"*3\r\n$3\r\nSET\r\n$1",
        b"*3\r",
        b"SET k new",
    ] {
        let mut client = server.raw();
        client.send(partial);
        drop(client);
        assert_eq!(other.call(&[b"GET", b"k"]), b"$3\r\nold\r\n");
    }
    assert!(server.alive());
}

#[test]
fn binary_safe_bulk_arguments_in_a_pipeline() {
    let server = Target::start();
    let mut client = server.raw();
    let value = b"a\r\nb\x00c\r\n*1\r\n$4\r\n";
    let mut input = Vec::new();
    for args in [
        &[&b"SET"[..], b"k\x00\r\n", value][..],
        &[b"GET", b"k\x00\r\n"],
        &[b"ECHO", b"k\x00\r\n"],
    ] {
        input.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for arg in args {
            input.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            input.extend_from_slice(arg);
            input.extend_from_slice(b"\r\n");
        }
    }
    // Byte by byte, so every partial state of the parser is visited over the network too.
    for byte in &input {
        client.send(std::slice::from_ref(byte));
    }
    assert_eq!(client.read_reply(), b"+OK\r\n");
    assert_eq!(
        client.read_reply(),
        [&b"$16\r\n"[..], value, b"\r\n"].concat()
    );
    assert_eq!(client.read_reply(), b"$4\r\nk\x00\r\n\r\n");
}

/// Pipelined batches of several clients at once: each batch's replies wait for the other ready
/// clients' turn (`net/connection.rs`), and none may be lost, reordered or sent to another client.
#[test]
fn concurrent_pipelines_get_every_reply_in_order() {
    const CLIENTS: usize = 8;
    const DEPTH: i64 = 200;
    let server = Target::start();
    let mut clients: Vec<RawClient> = (0..CLIENTS).map(|_| server.raw()).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        let key = format!("own:{i}");
        let mut input = Vec::new();
        for _ in 0..DEPTH {
            input.extend_from_slice(
                format!("*2\r\n$4\r\nINCR\r\n${}\r\n{key}\r\n", key.len()).as_bytes(),
            );
            input.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$6\r\nshared\r\n");
        }
        client.send(&input);
    }
    let mut shared_seen = Vec::new();
    for client in &mut clients {
        let mut last_shared = 0;
        for n in 1..=DEPTH {
            assert_eq!(client.read_reply(), format!(":{n}\r\n").into_bytes());
            let reply = String::from_utf8(client.read_reply()).unwrap();
            let shared: i64 = reply.trim_start_matches(':').trim_end().parse().unwrap();
            assert!(shared > last_shared, "{shared} after {last_shared}");
            last_shared = shared;
            shared_seen.push(shared);
        }
    }
    shared_seen.sort_unstable();
    let expected: Vec<i64> = (1..=CLIENTS as i64 * DEPTH).collect();
    assert_eq!(shared_seen, expected);
    assert_eq!(
        server.raw().call(&[b"GET", b"shared"]),
        format!(
            "${}\r\n{}\r\n",
            (CLIENTS as i64 * DEPTH).to_string().len(),
            CLIENTS as i64 * DEPTH
        )
        .into_bytes()
    );
}

#[test]
fn unauthenticated_clients_get_redis_limits() {
    let server = Target::with_password(b"secret");
    server.closes_with(
        b"*11\r\n",
        b"-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    server.closes_with(
        b"PING\r\n*11\r\n",
        b"-NOAUTH Authentication required.\r\n-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    server.closes_with(
        b"*1\r\n$16385\r\n",
        b"-ERR Protocol error: unauthenticated bulk length\r\n",
    );
    server.closes_with(b"*1\r\n$-1\r\n", INVALID_BULK);
    server.closes_with(b"*2147483648\r\n", INVALID_MBULK);
    server.replies_and_stays(b"*-5\r\nPING\r\n", b"-NOAUTH Authentication required.\r\n");

    // At the limits, the request is accepted (and refused by NOAUTH).
    let mut client = server.raw();
    let mut ten = b"*10\r\n$4\r\nPING\r\n".to_vec();
    ten.extend(b"$1\r\na\r\n".repeat(9));
    client.send(&ten);
    assert_eq!(client.read_reply(), b"-NOAUTH Authentication required.\r\n");
    let big = vec![b'v'; 16384];
    assert_eq!(
        client.call(&[b"ECHO", &big]),
        b"-NOAUTH Authentication required.\r\n"
    );

    // Authenticating lifts the limits for the rest of the same packet. (Checked once AUTH is in
    // the command table; the protocol layer only reads `client.authenticated` per request.)
    let mut client = server.raw();
    if client.call(&[b"AUTH", b"secret"]) == b"+OK\r\n" {
        let mut client = server.raw();
        let mut input = b"*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*11\r\n$4\r\nPING\r\n".to_vec();
        input.extend(b"$1\r\na\r\n".repeat(10));
        client.send(&input);
        assert_eq!(client.read_reply(), b"+OK\r\n");
        assert_eq!(
            client.read_reply(),
            b"-ERR wrong number of arguments for 'ping' command\r\n"
        );
        let big = vec![b'v'; 20000];
        assert_eq!(
            client.call(&[b"ECHO", &big]),
            [&b"$20000\r\n"[..], &big, b"\r\n"].concat()
        );
    }
    assert!(server.alive());
}

#[test]
fn query_buffer_over_the_limit_closes_the_client() {
    let server = Target {
        server: TestServer::start_with(|c| c.client_query_buffer_limit = 4096),
        password: None,
    };
    let mut client = server.raw();
    assert_eq!(client.call(&[b"PING"]), b"+PONG\r\n");
    client.send(b"*2\r\n$4\r\nECHO\r\n$100000\r\n");
    client.send(&[b'x'; 8192]);
    assert_eq!(read_to_close(&mut client), b"");
    assert!(server.alive());

    // Under the limit, a big request is fine.
    let mut client = server.raw();
    let value = vec![b'y'; 3000];
    assert_eq!(
        client.call(&[b"ECHO", &value]),
        [&b"$3000\r\n"[..], &value, b"\r\n"].concat()
    );
}

#[test]
fn unknown_command_quotes_raw_bytes_up_to_a_nul() {
    // Recorded from redis-server 7.0.15: arguments are quoted as C strings (cut at NUL), bytes verbatim.
    let server = TestServer::start();
    let mut client = server.raw();
    client.send(b"*3\r\n$3\r\n\xff\xfeA\r\n$5\r\nx\x00yzw\r\n$2\r\nab\r\n");
    assert_eq!(
        client.read_reply(),
        b"-ERR unknown command '\xff\xfeA', with args beginning with: 'x' 'ab' \r\n"
    );
}

/// An error quoting a client's argument quotes its bytes as Redis's `%s` does: up to a NUL, not
/// re-encoded, `%.128s` where Redis cuts, CR and LF as spaces (redis-server 7.0.15's bytes).
#[test]
fn errors_quote_arguments_as_c_strings() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let long = vec![b'y'; 200];
    let mut cut = b"-ERR unknown subcommand '".to_vec();
    cut.extend_from_slice(&long[..128]);
    cut.extend_from_slice(b"'. Try MEMORY HELP.\r\n");
    let cases: &[(&[&[u8]], &[u8])] = &[
        (
            &[b"CLIENT", b"\xff\x00x"],
            b"-ERR unknown subcommand '\xff'. Try CLIENT HELP.\r\n",
        ),
        (
            &[b"OBJECT", b"a\r\nb\xff"],
            b"-ERR unknown subcommand 'a  b\xff'. Try OBJECT HELP.\r\n",
        ),
        (&[b"MEMORY", &long], &cut),
        (&[b"SET", b"k", b"v"], b"+OK\r\n"),
        (
            &[b"EXPIRE", b"k", b"10", b"\xffopt\x00z"],
            b"-ERR Unsupported option \xffopt\r\n",
        ),
        (
            &[b"EXPIRE", b"k", b"10", b"x\r\n\n"],
            b"-ERR Unsupported option x\r\n",
        ),
        (
            &[b"HELLO", b"3", b"\xfe\r\n"],
            b"-ERR Syntax error in HELLO option '\xfe  '\r\n",
        ),
        (
            &[b"CLIENT", b"KILL", b"TYPE", b"\xfe\x00a"],
            b"-ERR Unknown client type '\xfe'\r\n",
        ),
        (
            &[b"CLIENT", b"KILL", b"USER", b"\xfeu"],
            b"-ERR No such user '\xfeu'\r\n",
        ),
        (
            &[b"DEBUG", b"\xff", b"x"],
            b"-ERR unknown subcommand or wrong number of arguments for '\xff'. Try DEBUG HELP.\r\n",
        ),
        (
            &[b"CLIENT", b"UnBlock", b"1", b"error", b"x"],
            b"-ERR unknown subcommand or wrong number of arguments for 'UnBlock'. Try CLIENT HELP.\r\n",
        ),
        (
            &[b"PUBSUB", b"CHANNELS", b"a", b"b"],
            b"-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(
            raw.call(args),
            expected.to_vec(),
            "{:?}",
            String::from_utf8_lossy(args[1])
        );
    }
}
