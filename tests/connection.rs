//! Connection commands (HELLO, AUTH, SELECT, SWAPDB, QUIT, RESET, CLIENT), with replies compared
//! byte for byte against Redis 7.

mod common;

use common::{RawClient, TestServer};

const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";

fn hello_reply(map_header: &str, proto: u8, id: u64) -> Vec<u8> {
    let id = id.to_string();
    format!(
        "{map_header}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n${}\r\n{}\r\n$5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
        cachet::state::REDIS_COMPAT_VERSION.len(),
        cachet::state::REDIS_COMPAT_VERSION,
    )
    .into_bytes()
}

fn client_id(raw: &mut RawClient) -> u64 {
    let reply = raw.call(&[b"CLIENT", b"ID"]);
    let text = std::str::from_utf8(&reply).unwrap();
    text.trim_start_matches(':').trim_end().parse().unwrap()
}

/// The text of a bulk or verbatim string reply.
fn bulk_text(reply: &[u8]) -> String {
    let text = String::from_utf8(reply.to_vec()).unwrap();
    let (header, body) = text.split_once("\r\n").unwrap();
    assert!(
        header.starts_with('$') || header.starts_with('='),
        "not a bulk string: {text:?}"
    );
    let body = body.strip_suffix("\r\n").unwrap();
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

/// CLIENT LIST lines as (field, value) pairs.
fn client_lines(raw: &mut RawClient, args: &[&[u8]]) -> Vec<Vec<(String, String)>> {
    let text = bulk_text(&raw.call(args));
    text.lines()
        .map(|line| {
            line.split(' ')
                .map(|field| {
                    field
                        .split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .unwrap()
                })
                .collect()
        })
        .collect()
}

fn field<'a>(line: &'a [(String, String)], name: &str) -> &'a str {
    &line.iter().find(|(k, _)| k == name).unwrap().1
}

#[test]
fn hello_switches_protocol() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let id = client_id(&mut raw);
    assert_eq!(raw.call(&[b"HELLO"]), hello_reply("*14", 2, id));
    assert_eq!(raw.call(&[b"HELLO", b"2"]), hello_reply("*14", 2, id));
    assert_eq!(raw.call(&[b"GET", b"missing"]), b"$-1\r\n");
    assert_eq!(raw.call(&[b"HELLO", b"3"]), hello_reply("%7", 3, id));
    assert_eq!(raw.call(&[b"GET", b"missing"]), b"_\r\n");
    assert_eq!(raw.call(&[b"HELLO"]), hello_reply("%7", 3, id));
    assert_eq!(raw.call(&[b"CLIENT", b"GETNAME"]), b"_\r\n");
    assert_eq!(raw.call(&[b"HELLO", b"2"]), hello_reply("*14", 2, id));
    assert_eq!(raw.call(&[b"GET", b"missing"]), b"$-1\r\n");
}

#[test]
fn hello_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[b"HELLO", b"4"]),
        b"-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        raw.call(&[b"HELLO", b"1"]),
        b"-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        raw.call(&[b"HELLO", b"abc"]),
        b"-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"HELLO", b"3", b"FOO"]),
        b"-ERR Syntax error in HELLO option 'FOO'\r\n"
    );
    assert_eq!(
        raw.call(&[b"HELLO", b"3", b"AUTH", b"default"]),
        b"-ERR Syntax error in HELLO option 'AUTH'\r\n"
    );
    assert_eq!(
        raw.call(&[b"HELLO", b"3", b"SETNAME", b"a b"]),
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    // Without requirepass the default user takes any password, and no other user exists.
    assert_eq!(
        raw.call(&[b"HELLO", b"3", b"AUTH", b"bob", b"pw"]),
        WRONGPASS
    );
    // Nothing changed after the errors: still RESP2.
    assert_eq!(raw.call(&[b"GET", b"missing"]), b"$-1\r\n");
    // Each option takes effect as it is read (redis-server 7.0.15): a name set before a bad
    // option stays, the protocol does not change.
    assert_eq!(
        raw.call(&[b"HELLO", b"3", b"SETNAME", b"early", b"FOO"]),
        b"-ERR Syntax error in HELLO option 'FOO'\r\n"
    );
    assert_eq!(raw.call(&[b"CLIENT", b"GETNAME"]), b"$5\r\nearly\r\n");
    assert_eq!(raw.call(&[b"GET", b"missing"]), b"$-1\r\n");
    let id = client_id(&mut raw);
    assert_eq!(
        raw.call(&[
            b"HELLO", b"3", b"AUTH", b"default", b"any", b"SETNAME", b"x", b"SETNAME", b"y"
        ]),
        hello_reply("%7", 3, id)
    );
    assert_eq!(raw.call(&[b"CLIENT", b"GETNAME"]), b"$1\r\ny\r\n");
}

#[test]
fn auth_without_requirepass() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[b"AUTH", b"x"]),
        b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(raw.call(&[b"AUTH", b"default", b"x"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"AUTH", b"foo", b"x"]), WRONGPASS);
    assert_eq!(
        raw.call(&[b"AUTH", b"a", b"b", b"c"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"AUTH"]),
        b"-ERR wrong number of arguments for 'auth' command\r\n"
    );
}

#[test]
fn requirepass_gates_commands_until_auth() {
    let server = TestServer::start_with(|values| values.requirepass = b"secret".to_vec());
    let mut raw = server.raw();
    assert_eq!(raw.call(&[b"PING"]), NOAUTH);
    assert_eq!(raw.call(&[b"CLIENT", b"ID"]), NOAUTH);
    assert_eq!(raw.call(&[b"SET", b"k", b"v"]), NOAUTH);
    assert_eq!(
        raw.call(&[b"HELLO", b"3"]),
        &b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"[..]
    );
    assert_eq!(raw.call(&[b"AUTH", b"wrong"]), WRONGPASS);
    assert_eq!(raw.call(&[b"AUTH", b"default", b"wrong"]), WRONGPASS);
    assert_eq!(raw.call(&[b"AUTH", b"bob", b"secret"]), WRONGPASS);
    assert_eq!(
        raw.call(&[b"HELLO", b"3", b"AUTH", b"default", b"wrong"]),
        WRONGPASS
    );
    assert_eq!(raw.call(&[b"AUTH", b"secret"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    // RESET forgets the authentication when a password is required.
    assert_eq!(raw.call(&[b"RESET"]), b"+RESET\r\n");
    assert_eq!(raw.call(&[b"GET", b"k"]), NOAUTH);
    assert_eq!(raw.call(&[b"AUTH", b"default", b"secret"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"GET", b"k"]), b"$1\r\nv\r\n");

    // HELLO can authenticate, name the connection and switch protocol at once.
    let mut other = server.raw();
    let reply = other.call(&[
        b"HELLO", b"3", b"AUTH", b"default", b"secret", b"SETNAME", b"n",
    ]);
    assert!(
        reply.starts_with(b"%7\r\n"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    assert_eq!(other.call(&[b"CLIENT", b"GETNAME"]), b"$1\r\nn\r\n");

    // QUIT needs no authentication.
    let mut third = server.raw();
    assert_eq!(third.call(&[b"QUIT"]), b"+OK\r\n");
    assert!(third.is_closed());
}

#[test]
fn select_bounds() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[b"SELECT", b"16"]),
        b"-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"SELECT", b"-1"]),
        b"-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"SELECT", b"abc"]),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.call(&[b"SELECT", b"99999999999"]),
        &b"-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"[..]
    );
    assert_eq!(
        raw.call(&[b"SELECT"]),
        b"-ERR wrong number of arguments for 'select' command\r\n"
    );
    assert_eq!(raw.call(&[b"SET", b"k", b"zero"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"SELECT", b"15"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"GET", b"k"]), b"$-1\r\n");
    assert_eq!(raw.call(&[b"SET", b"k", b"fifteen"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"SELECT", b"0"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"GET", b"k"]), b"$4\r\nzero\r\n");
}

#[test]
fn swapdb_swaps_what_clients_see() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    assert_eq!(a.call(&[b"SET", b"k", b"zero"]), b"+OK\r\n");
    assert_eq!(a.call(&[b"SET", b"only0", b"x"]), b"+OK\r\n");
    assert_eq!(a.call(&[b"SELECT", b"1"]), b"+OK\r\n");
    assert_eq!(a.call(&[b"SET", b"k", b"one"]), b"+OK\r\n");
    assert_eq!(b.call(&[b"GET", b"k"]), b"$4\r\nzero\r\n");
    assert_eq!(b.call(&[b"SWAPDB", b"0", b"1"]), b"+OK\r\n");
    // Both clients keep their index and now see the other database's keys.
    assert_eq!(b.call(&[b"GET", b"k"]), b"$3\r\none\r\n");
    assert_eq!(b.call(&[b"GET", b"only0"]), b"$-1\r\n");
    assert_eq!(a.call(&[b"GET", b"k"]), b"$4\r\nzero\r\n");
    assert_eq!(a.call(&[b"GET", b"only0"]), b"$1\r\nx\r\n");
    assert_eq!(a.call(&[b"SWAPDB", b"1", b"1"]), b"+OK\r\n");
    assert_eq!(a.call(&[b"GET", b"k"]), b"$4\r\nzero\r\n");

    assert_eq!(
        a.call(&[b"SWAPDB", b"0", b"16"]),
        b"-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        a.call(&[b"SWAPDB", b"-1", b"1"]),
        b"-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        a.call(&[b"SWAPDB", b"a", b"1"]),
        b"-ERR invalid first DB index\r\n"
    );
    assert_eq!(
        a.call(&[b"SWAPDB", b"0", b"a"]),
        b"-ERR invalid second DB index\r\n"
    );
}

#[test]
fn client_names() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(raw.call(&[b"CLIENT", b"GETNAME"]), b"$-1\r\n");
    assert_eq!(raw.call(&[b"CLIENT", b"SETNAME", b"worker-1"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"CLIENT", b"GETNAME"]), b"$8\r\nworker-1\r\n");
    for bad in [&b"a b"[..], b"a\nb", "caf\u{e9}".as_bytes()] {
        assert_eq!(
            raw.call(&[b"CLIENT", b"SETNAME", bad]),
            b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
        );
    }
    assert_eq!(raw.call(&[b"CLIENT", b"GETNAME"]), b"$8\r\nworker-1\r\n");
    // An empty name removes the name.
    assert_eq!(raw.call(&[b"CLIENT", b"SETNAME", b""]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"CLIENT", b"GETNAME"]), b"$-1\r\n");
    assert_eq!(
        raw.call(&[b"CLIENT", b"SETNAME"]),
        b"-ERR wrong number of arguments for 'client|setname' command\r\n"
    );
    assert_eq!(
        raw.call(&[b"CLIENT", b"FOO"]),
        b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"
    );
}

#[test]
fn client_list_and_info() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    let (id_a, id_b) = (client_id(&mut a), client_id(&mut b));
    assert_eq!(a.call(&[b"CLIENT", b"SETNAME", b"alpha"]), b"+OK\r\n");
    assert_eq!(a.call(&[b"SELECT", b"3"]), b"+OK\r\n");
    assert_eq!(a.call(&[b"CLIENT", b"NO-EVICT", b"on"]), b"+OK\r\n");

    let lines = client_lines(&mut b, &[b"CLIENT", b"LIST"]);
    assert_eq!(lines.len(), 2);
    let names: Vec<&str> = lines[0].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp",
            "lib-name",
            "lib-ver"
        ]
    );
    let line_a = lines
        .iter()
        .find(|l| field(l, "id") == id_a.to_string())
        .unwrap();
    assert_eq!(field(line_a, "name"), "alpha");
    assert_eq!(field(line_a, "db"), "3");
    assert_eq!(field(line_a, "flags"), "e");
    assert_eq!(field(line_a, "cmd"), "client|no-evict");
    assert_eq!(
        field(line_a, "addr"),
        a.stream.local_addr().unwrap().to_string()
    );
    assert_eq!(field(line_a, "laddr"), server.addr.to_string());
    assert_eq!(field(line_a, "resp"), "2");
    let line_b = lines
        .iter()
        .find(|l| field(l, "id") == id_b.to_string())
        .unwrap();
    assert_eq!(field(line_b, "name"), "");
    assert_eq!(field(line_b, "flags"), "N");
    assert_eq!(field(line_b, "cmd"), "client|list");
    assert_eq!(field(line_b, "user"), "default");
    // The caller's query buffer holds the command it runs, as Redis's (introspection.tcl):
    // `*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n`; another idle client's holds nothing.
    assert_eq!(field(line_b, "qbuf"), "26");
    assert_eq!(field(line_b, "argv-mem"), "10");
    assert_eq!(field(line_a, "qbuf"), "0");

    let only_a = client_lines(
        &mut b,
        &[
            b"CLIENT",
            b"LIST",
            b"ID",
            id_a.to_string().as_bytes(),
            b"9999",
        ],
    );
    assert_eq!(only_a.len(), 1);
    assert_eq!(field(&only_a[0], "name"), "alpha");
    assert_eq!(
        client_lines(&mut b, &[b"CLIENT", b"LIST", b"TYPE", b"normal"]).len(),
        2
    );
    assert_eq!(
        b.call(&[b"CLIENT", b"LIST", b"TYPE", b"pubsub"]),
        b"$0\r\n\r\n"
    );
    assert_eq!(
        b.call(&[b"CLIENT", b"LIST", b"TYPE", b"foo"]),
        b"-ERR Unknown client type 'foo'\r\n"
    );
    assert_eq!(
        b.call(&[b"CLIENT", b"LIST", b"ID", b"1", b"abc"]),
        b"-ERR Invalid client ID\r\n"
    );
    assert_eq!(
        b.call(&[b"CLIENT", b"LIST", b"ID"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        b.call(&[b"CLIENT", b"LIST", b"foo"]),
        b"-ERR syntax error\r\n"
    );

    let info = client_lines(&mut a, &[b"CLIENT", b"INFO"]);
    assert_eq!(info.len(), 1);
    assert_eq!(field(&info[0], "id"), id_a.to_string());
    assert_eq!(field(&info[0], "cmd"), "client|info");
    assert_eq!(a.call(&[b"HELLO", b"3"]).first(), Some(&b'%'));
    let reply = a.call(&[b"CLIENT", b"INFO"]);
    assert!(
        reply.starts_with(b"="),
        "RESP3 CLIENT INFO is verbatim text"
    );
    assert!(bulk_text(&reply).ends_with(" resp=3 lib-name= lib-ver=\n"));
}

#[test]
fn client_kill_forms() {
    let server = TestServer::start();
    let mut a = server.raw();
    let mut b = server.raw();
    let id_a = client_id(&mut a);
    let id_b = client_id(&mut b);
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"ID", id_b.to_string().as_bytes()]),
        b":1\r\n"
    );
    assert!(b.is_closed());
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"ID", id_b.to_string().as_bytes()]),
        b":0\r\n"
    );
    assert_eq!(
        a.call(&[b"CLIENT", b"LIST", b"ID", id_b.to_string().as_bytes()]),
        b"$0\r\n\r\n"
    );

    // The old form names the peer address and answers +OK.
    let mut c = server.raw();
    let addr_c = c.stream.local_addr().unwrap().to_string();
    assert_eq!(c.call(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(a.call(&[b"CLIENT", b"KILL", addr_c.as_bytes()]), b"+OK\r\n");
    assert!(c.is_closed());
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", addr_c.as_bytes()]),
        b"-ERR No such client\r\n"
    );

    // Filters combine; the caller is skipped unless SKIPME no.
    let mut d = server.raw();
    let addr_d = d.stream.local_addr().unwrap().to_string();
    assert_eq!(d.call(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(
        a.call(&[
            b"CLIENT",
            b"KILL",
            b"ADDR",
            addr_d.as_bytes(),
            b"ID",
            id_a.to_string().as_bytes()
        ]),
        b":0\r\n"
    );
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"LADDR", b"1.2.3.4:5"]),
        b":0\r\n"
    );
    assert_eq!(
        a.call(&[
            b"CLIENT",
            b"KILL",
            b"TYPE",
            b"normal",
            b"USER",
            b"default",
            b"LADDR",
            server.addr.to_string().as_bytes()
        ]),
        b":1\r\n"
    );
    assert!(d.is_closed());
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"ID", id_a.to_string().as_bytes()]),
        b":0\r\n"
    );

    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"ID", b"0"]),
        b"-ERR client-id should be greater than 0\r\n"
    );
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"ID", b"abc"]),
        b"-ERR client-id should be greater than 0\r\n"
    );
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"TYPE", b"foo"]),
        b"-ERR Unknown client type 'foo'\r\n"
    );
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"USER", b"nobody"]),
        b"-ERR No such user 'nobody'\r\n"
    );
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"ID", b"5", b"SKIPME", b"maybe"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"ID", b"5", b"USER"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"MAXAGE", b"x"]),
        b"-ERR maxage is not an integer or out of range\r\n"
    );
    assert_eq!(
        a.call(&[b"CLIENT", b"KILL", b"ID"]),
        b"-ERR No such client\r\n"
    );

    assert_eq!(
        a.call(&[
            b"CLIENT",
            b"KILL",
            b"ID",
            id_a.to_string().as_bytes(),
            b"SKIPME",
            b"no"
        ]),
        b":1\r\n"
    );
    assert!(a.is_closed());
}

#[test]
fn client_reply_modes() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // Each command's reply (or its absence) is checked by the PONG/"n" that follows it.
    raw.send(b"CLIENT REPLY SKIP\r\nPING\r\nECHO one\r\n");
    assert_eq!(raw.read_reply(), b"$3\r\none\r\n");
    raw.send(b"CLIENT REPLY OFF\r\nPING\r\nSET k v\r\nGET nosuch\r\nNOSUCHCOMMAND\r\nCLIENT REPLY SKIP\r\nPING\r\nCLIENT REPLY ON\r\nGET k\r\n");
    assert_eq!(raw.read_reply(), b"+OK\r\n");
    assert_eq!(raw.read_reply(), b"$1\r\nv\r\n");
    // ON right after SKIP answers; SKIP while skipped skips the next one as well.
    raw.send(b"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\n");
    assert_eq!(raw.read_reply(), b"+OK\r\n");
    raw.send(b"CLIENT REPLY SKIP\r\nCLIENT REPLY SKIP\r\nECHO one\r\nECHO two\r\n");
    assert_eq!(raw.read_reply(), b"$3\r\ntwo\r\n");
    assert_eq!(
        raw.call(&[b"CLIENT", b"REPLY", b"x"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"CLIENT", b"NO-EVICT", b"x"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(raw.call(&[b"CLIENT", b"NO-EVICT", b"OFF"]), b"+OK\r\n");
}

#[test]
fn quit_closes_after_reply() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // Commands pipelined after QUIT are not executed.
    raw.send(b"SET k v\r\nQUIT\r\nSET k w\r\n");
    assert_eq!(raw.read_reply(), b"+OK\r\n");
    assert_eq!(raw.read_reply(), b"+OK\r\n");
    assert!(raw.is_closed());
    let mut other = server.raw();
    assert_eq!(other.call(&[b"GET", b"k"]), b"$1\r\nv\r\n");
    assert_eq!(other.call(&[b"QUIT", b"extra"]), b"+OK\r\n");
    assert!(other.is_closed());
}

#[test]
fn reset_restores_a_new_connection_state() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(raw.call(&[b"SELECT", b"3"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"CLIENT", b"SETNAME", b"named"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"CLIENT", b"NO-EVICT", b"on"]), b"+OK\r\n");
    assert_eq!(raw.call(&[b"HELLO", b"3"]).first(), Some(&b'%'));
    raw.send(b"CLIENT REPLY OFF\r\nPING\r\n");
    assert_eq!(raw.call(&[b"RESET"]), b"+RESET\r\n");
    let info = client_lines(&mut raw, &[b"CLIENT", b"INFO"]);
    assert_eq!(field(&info[0], "db"), "0");
    assert_eq!(field(&info[0], "name"), "");
    assert_eq!(field(&info[0], "flags"), "N");
    assert_eq!(field(&info[0], "resp"), "2");
    assert_eq!(raw.call(&[b"GET", b"missing"]), b"$-1\r\n");
    assert_eq!(
        raw.call(&[b"RESET", b"x"]),
        b"-ERR wrong number of arguments for 'reset' command\r\n"
    );
}

#[test]
fn client_help_lists_subcommands() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let reply = String::from_utf8(raw.call(&[b"CLIENT", b"HELP"])).unwrap();
    assert!(
        reply.starts_with(
            "*56\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
        ),
        "{reply}"
    );
    assert!(reply.ends_with("+HELP\r\n+    Prints this help.\r\n"));
    assert!(reply.contains("+KILL <ip:port>\r\n"));
    // Redis 7.0's lines, then those of the options 7.2 and 7.4 added.
    assert!(reply.contains("+PAUSE <timeout> [WRITE|ALL]\r\n"));
    assert!(reply.contains("+NO-TOUCH (ON|OFF)\r\n"));
    assert!(reply.contains("+SETINFO <option> <value>\r\n"));
    assert!(reply.contains("+    * MAXAGE <maxage>\r\n"));
}
