//! CONFIG, COMMAND and INFO against the real server. Expected bytes were taken from redis-server 7.0.

mod common;

use common::TestServer;
use redis::Value;

fn info(server: &TestServer, sections: &[&str]) -> String {
    let mut con = server.client();
    redis::cmd("INFO")
        .arg(sections)
        .query(&mut con)
        .expect("INFO")
}

/// The value of `field` in INFO text.
fn field(text: &str, field: &str) -> Option<String> {
    text.split("\r\n").find_map(|line| {
        line.strip_prefix(field)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(str::to_string)
    })
}

fn int_field(text: &str, name: &str) -> u64 {
    field(text, name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .parse()
        .expect("integer field")
}

#[test]
fn config_get_and_set_round_trip() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[b"CONFIG", b"GET", b"hz"]),
        b"*2\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    );
    // What redis-benchmark asks at start.
    assert_eq!(
        raw.call(&[b"CONFIG", b"GET", b"save", b"appendonly"]),
        b"*4\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
    );
    assert_eq!(
        raw.call(&[b"CONFIG", b"SET", b"hz", b"20", b"maxclients", b"50"]),
        b"+OK\r\n"
    );
    assert_eq!(
        raw.call(&[b"config", b"get", b"hz"]),
        b"*2\r\n$2\r\nhz\r\n$2\r\n20\r\n"
    );
    // A name without glob characters is echoed as typed; a directive matched twice is listed once.
    assert_eq!(
        raw.call(&[b"CONFIG", b"GET", b"MAXCLIENTS", b"maxc*"]),
        b"*2\r\n$10\r\nMAXCLIENTS\r\n$2\r\n50\r\n"
    );
    assert_eq!(raw.call(&[b"CONFIG", b"GET", b"nosuch"]), b"*0\r\n");
    assert_eq!(raw.call(&[b"CONFIG", b"GET", b"proto-max-*-len"]), b"*4\r\n$18\r\nproto-max-bulk-len\r\n$9\r\n536870912\r\n$23\r\nproto-max-multibulk-len\r\n$10\r\n2147483647\r\n");
    // Values with units and values holding spaces are one argument.
    assert_eq!(
        raw.call(&[b"CONFIG", b"SET", b"proto-max-bulk-len", b"2mb"]),
        b"+OK\r\n"
    );
    assert_eq!(
        raw.call(&[b"CONFIG", b"GET", b"proto-max-bulk-len"]),
        b"*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n2097152\r\n"
    );
    assert_eq!(
        raw.call(&[b"CONFIG", b"SET", b"requirepass", b"a b"]),
        b"+OK\r\n"
    );
    assert_eq!(
        raw.call(&[b"CONFIG", b"GET", b"requirepass"]),
        b"*2\r\n$11\r\nrequirepass\r\n$3\r\na b\r\n"
    );
    // hz is clamped to 1..500, as in Redis.
    assert_eq!(raw.call(&[b"CONFIG", b"SET", b"hz", b"1000"]), b"+OK\r\n");
    assert_eq!(
        raw.call(&[b"CONFIG", b"GET", b"hz"]),
        b"*2\r\n$2\r\nhz\r\n$3\r\n500\r\n"
    );
}

#[test]
fn config_set_errors_like_redis() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let cases: &[(&[&[u8]], &[u8])] = &[
        (&[b"CONFIG", b"SET", b"foo", b"bar"], b"-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"),
        (&[b"CONFIG", b"SET", b"databases", b"1"], b"-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n"),
        (&[b"CONFIG", b"SET", b"hz", b"abc"], b"-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer\r\n"),
        (&[b"CONFIG", b"SET", b"HZ", b"abc"], b"-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer\r\n"),
        (&[b"CONFIG", b"SET", b"maxclients", b"0"], b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive\r\n"),
        (&[b"CONFIG", b"SET", b"timeout", b"-1"], b"-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive\r\n"),
        (&[b"CONFIG", b"SET", b"appendonly", b"maybe"], b"-ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'\r\n"),
        (&[b"CONFIG", b"SET", b"proto-max-bulk-len", b"10x"], b"-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value\r\n"),
        (&[b"CONFIG", b"SET", b"hz", b"1", b"maxclients"], b"-ERR syntax error\r\n"),
        (&[b"CONFIG", b"SET", b"hz", b"1", b"HZ", b"2"], b"-ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter\r\n"),
        (&[b"CONFIG", b"SET", b"hz", b"1", b"foo", b"2"], b"-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"),
        // Names are all checked before any value: the unknown name wins over the bad value.
        (&[b"CONFIG", b"SET", b"hz", b"x", b"foo", b"2"], b"-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"),
        (&[b"CONFIG", b"SET", b"maxclients", b"abc", b"hz", b"x"], b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer\r\n"),
        (&[b"CONFIG", b"SET", b"hz"], b"-ERR wrong number of arguments for 'config|set' command\r\n"),
        (&[b"CONFIG", b"GET"], b"-ERR wrong number of arguments for 'config|get' command\r\n"),
        (&[b"CONFIG"], b"-ERR wrong number of arguments for 'config' command\r\n"),
        (&[b"CONFIG", b"NOPE"], b"-ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\r\n"),
        (&[b"CONFIG", b"REWRITE"], b"-ERR The server is running without a config file\r\n"),
        // Integers as string2ll reads them; memory values as memtoull (redis-server 7.0.15).
        (&[b"CONFIG", b"SET", b"hz", b"-0"], b"-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer\r\n"),
        (&[b"CONFIG", b"SET", b"hz", b"007"], b"-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer\r\n"),
        (&[b"CONFIG", b"SET", b"maxclients", b"+1"], b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer\r\n"),
        (&[b"CONFIG", b"SET", b"hash-max-listpack-value", b"abc"], b"-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-value') - argument must be a memory value\r\n"),
        (&[b"CONFIG", b"SET", b"hash-max-listpack-value", b"-1"], b"-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-value') - argument must be a memory value\r\n"),
        (&[b"CONFIG", b"SET", b"hash-max-ziplist-value", b"9223372036854775808"], b"-ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-value') - argument must be between 0 and 9223372036854775807 inclusive\r\n"),
        (&[b"CONFIG", b"SET", b"proto-max-bulk-len", b""], b"-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n"),
        (&[b"CONFIG", b"SET", b"hash-max-listpack-value", b"1kb"], b"+OK\r\n"),
        (&[b"CONFIG", b"SET", b"zset-max-listpack-value", b""], b"+OK\r\n"),
        (&[b"CONFIG", b"SET", b"zset-max-listpack-value", b"64", b"hash-max-listpack-value", b"64"], b"+OK\r\n"),
    ];
    for (args, expected) in cases {
        assert_eq!(
            String::from_utf8_lossy(&raw.call(args)),
            String::from_utf8_lossy(expected),
            "{args:?}"
        );
    }
    // All or nothing: a bad value leaves the good one before it unapplied.
    assert_eq!(
        raw.call(&[b"CONFIG", b"SET", b"hz", b"30", b"maxclients", b"abc"])[0],
        b'-'
    );
    assert_eq!(
        raw.call(&[b"CONFIG", b"GET", b"hz"]),
        b"*2\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    );
}

/// Redis 7's protected configs: CONFIG SET refuses them by default (checked in the same pass as
/// immutable ones, so the first refused name wins as in redis-server 7.0), CONFIG GET reads them.
#[test]
fn protected_configs_are_refused_like_redis() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // The test server's own scratch directory.
    let dir = String::from_utf8(raw.call(&[b"CONFIG", b"GET", b"dir"])).unwrap();
    let dir = dir.split("\r\n").nth(4).unwrap().to_string();
    let protected = |name: &str| {
        format!("-ERR CONFIG SET failed (possibly related to argument '{name}') - can't set protected config\r\n")
    };
    let cases: &[(&[&[u8]], String)] = &[
        (&[b"CONFIG", b"SET", b"dir", b"/tmp"], protected("dir")),
        (&[b"CONFIG", b"SET", b"dbfilename", b"x.rdb"], protected("dbfilename")),
        (&[b"CONFIG", b"SET", b"peer", b"127.0.0.1:1"], protected("peer")),
        (&[b"CONFIG", b"SET", b"coherence-bus", b"redis://127.0.0.1:1"], protected("coherence-bus")),
        (&[b"CONFIG", b"SET", b"coherence-announce", b"127.0.0.1:1"], protected("coherence-announce")),
        (&[b"CONFIG", b"SET", b"DIR", b"/tmp"], protected("DIR")),
        (&[b"CONFIG", b"SET", b"dir", b"/tmp", b"hz", b"20"], protected("dir")),
        (&[b"CONFIG", b"SET", b"hz", b"20", b"dir", b"/tmp"], protected("dir")),
        (&[b"CONFIG", b"SET", b"dir", b"/tmp", b"dir", b"/tmp"], protected("dir")),
        (&[b"CONFIG", b"SET", b"dir", b"/tmp", b"nosuch", b"1"], protected("dir")),
        (&[b"CONFIG", b"SET", b"nosuch", b"1", b"dir", b"/tmp"], "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n".into()),
        (&[b"CONFIG", b"SET", b"databases", b"1", b"dir", b"/tmp"], "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n".into()),
        (&[b"CONFIG", b"SET", b"dir", b"/tmp", b"databases", b"1"], protected("dir")),
        (&[b"CONFIG", b"SET", b"enable-protected-configs", b"yes"], "-ERR CONFIG SET failed (possibly related to argument 'enable-protected-configs') - can't set immutable config\r\n".into()),
        // CACHE.PEER ADD/REMOVE change `peer` too.
        (&[b"CACHE.PEER", b"ADD", b"127.0.0.1:1"], "-ERR can't change the peers: 'peer' is a protected config (see enable-protected-configs)\r\n".into()),
        (&[b"CACHE.PEER", b"REMOVE", b"127.0.0.1:1"], "-ERR can't change the peers: 'peer' is a protected config (see enable-protected-configs)\r\n".into()),
    ];
    for (args, expected) in cases {
        assert_eq!(
            String::from_utf8_lossy(&raw.call(args)),
            *expected,
            "{args:?}"
        );
    }
    // Nothing was applied, and they all still read.
    assert_eq!(
        String::from_utf8_lossy(&raw.call(&[b"CONFIG", b"GET", b"hz", b"dir", b"peer", b"enable-protected-configs"])),
        format!("*8\r\n$2\r\nhz\r\n$2\r\n10\r\n$3\r\ndir\r\n${}\r\n{dir}\r\n$4\r\npeer\r\n$0\r\n\r\n$24\r\nenable-protected-configs\r\n$2\r\nno\r\n", dir.len())
    );
}

/// `enable-protected-configs yes`, or `local` for a client on 127.0.0.1, lets CONFIG SET change
/// them; the conf file always can.
#[test]
fn protected_configs_when_enabled() {
    use cachet::state::config::{apply_conf_text, ProtectedAction};
    for allowed in [ProtectedAction::Yes, ProtectedAction::Local] {
        let server = TestServer::start_with(|c| c.enable_protected_configs = allowed);
        let mut raw = server.raw();
        assert_eq!(
            raw.call(&[b"CONFIG", b"SET", b"dir", b"/tmp", b"peer", b"127.0.0.1:1"]),
            b"+OK\r\n"
        );
        assert_eq!(
            raw.call(&[b"CACHE.PEER", b"ADD", b"127.0.0.1:2"]),
            b":2\r\n"
        );
        assert_eq!(
            raw.call(&[b"CONFIG", b"GET", b"dir", b"peer", b"enable-protected-configs"]),
            format!(
                "*6\r\n$3\r\ndir\r\n$4\r\n/tmp\r\n$4\r\npeer\r\n$23\r\n127.0.0.1:1 127.0.0.1:2\r\n$24\r\nenable-protected-configs\r\n${}\r\n{}\r\n",
                allowed.name().len(),
                allowed.name()
            )
            .into_bytes()
        );
    }
    let mut values = cachet::ConfigValues::default();
    apply_conf_text(
        &mut values,
        "dir /var/tmp\npeer 127.0.0.1:1\nenable-protected-configs local\n",
    )
    .unwrap();
    assert_eq!(values.dir, "/var/tmp");
    assert_eq!(values.peers, ["127.0.0.1:1"]);
    assert_eq!(values.enable_protected_configs, ProtectedAction::Local);
    let err = apply_conf_text(&mut values, "enable-protected-configs maybe\n").unwrap_err();
    assert!(
        err.contains("argument(s) must be one of the following: no, yes, local"),
        "{err}"
    );
}

#[test]
fn config_help_and_resetstat() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let help = raw.call(&[b"CONFIG", b"HELP"]);
    assert!(help.starts_with(b"*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET <pattern>\r\n"));
    assert!(help.ends_with(b"+HELP\r\n+    Prints this help.\r\n"));

    raw.call(&[b"SET", b"k", b"v"]);
    raw.call(&[b"GET", b"k"]);
    raw.call(&[b"GET", b"missing"]);
    let stats = info(&server, &["stats"]);
    assert_eq!(int_field(&stats, "keyspace_hits"), 1);
    assert_eq!(int_field(&stats, "keyspace_misses"), 1);
    assert!(int_field(&stats, "total_commands_processed") >= 4);
    assert_eq!(raw.call(&[b"CONFIG", b"RESETSTAT"]), b"+OK\r\n");
    let stats = info(&server, &["stats"]);
    assert_eq!(int_field(&stats, "keyspace_hits"), 0);
    assert_eq!(int_field(&stats, "keyspace_misses"), 0);
    // Only what the INFO's new connection sent has run since: the redis crate's two CLIENT
    // SETINFO (LIB-NAME, LIB-VER) and the INFO that reports it.
    assert_eq!(int_field(&stats, "total_commands_processed"), 3);
}

#[test]
fn config_rewrite_updates_the_file() {
    let dir = common::TempDir::new("admin");
    let path = dir.join("cachet.conf");
    std::fs::write(&path, "# kept as written\nhz 15\n\ntimeout 0\n").unwrap();
    let server = TestServer::start_with_file(&path);
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[b"CONFIG", b"GET", b"hz"]),
        b"*2\r\n$2\r\nhz\r\n$2\r\n15\r\n"
    );
    assert_eq!(
        raw.call(&[
            b"CONFIG",
            b"SET",
            b"hz",
            b"25",
            b"timeout",
            b"7",
            b"requirepass",
            b"two words"
        ]),
        b"+OK\r\n"
    );
    assert_eq!(raw.call(&[b"CONFIG", b"REWRITE"]), b"+OK\r\n");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# kept as written\nhz 25\n\ntimeout 7\n"),
        "{text}"
    );
    assert!(text.contains("\nrequirepass \"two words\"\n"), "{text}");
    // The rewritten file reads back to the running configuration.
    let mut values = cachet::ConfigValues::default();
    cachet::state::config::apply_conf_text(&mut values, &text).unwrap();
    assert_eq!(
        (values.hz, values.timeout, values.requirepass.as_slice()),
        (25, 7, &b"two words"[..])
    );
    // requirepass is now set: ask on the connection that is already authenticated.
    let reply = raw.call(&[b"INFO", b"server"]);
    let info = String::from_utf8_lossy(&reply);
    assert_eq!(
        field(&info, "config_file").as_deref(),
        Some(path.to_str().unwrap())
    );
    drop(server);
}

#[test]
fn command_count_matches_command() {
    let server = TestServer::start();
    let mut con = server.client();
    let all: Vec<Value> = redis::cmd("COMMAND").query(&mut con).unwrap();
    let count: usize = redis::cmd("COMMAND").arg("COUNT").query(&mut con).unwrap();
    assert_eq!(all.len(), count);
    let info_all: Vec<Value> = redis::cmd("COMMAND").arg("INFO").query(&mut con).unwrap();
    assert_eq!(info_all.len(), count);
    // Every entry has Redis 7's ten fields and names itself.
    for entry in &all {
        let Value::Array(fields) = entry else {
            panic!("entry {entry:?}")
        };
        assert_eq!(fields.len(), 10);
        assert!(matches!(&fields[0], Value::BulkString(_)));
    }
    // COMMAND LIST has the commands and their subcommands.
    let list: Vec<String> = redis::cmd("COMMAND").arg("LIST").query(&mut con).unwrap();
    assert!(list.len() > count);
    for name in ["get", "config", "config|get", "command|docs", "info"] {
        assert!(list.iter().any(|n| n == name), "{name} listed");
    }
}

#[test]
fn command_info_exact() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // Byte for byte what redis-server 7.0 answers.
    let get = b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n\
*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n\
$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";
    assert_eq!(
        String::from_utf8_lossy(&raw.call(&[b"COMMAND", b"INFO", b"GET"])),
        String::from_utf8_lossy(get)
    );
    assert_eq!(raw.call(&[b"COMMAND", b"INFO", b"nope"]), b"*1\r\n$-1\r\n");
    let subcommand = raw.call(&[b"COMMAND", b"INFO", b"config|get"]);
    assert!(subcommand.starts_with(b"*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n"));
    // A container lists its subcommands as full entries.
    let config = raw.call(&[b"COMMAND", b"INFO", b"config"]);
    assert!(config.starts_with(b"*1\r\n*10\r\n$6\r\nconfig\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n*5\r\n*10\r\n$10\r\nconfig|set\r\n:-4\r\n"));
    let help = raw.call(&[b"COMMAND", b"HELP"]);
    assert!(help.starts_with(b"*21\r\n+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+(no subcommand)\r\n"));
    assert_eq!(
        raw.call(&[b"COMMAND", b"FOO"]),
        b"-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n"
    );
    assert_eq!(
        raw.call(&[b"COMMAND", b"COUNT", b"x"]),
        b"-ERR wrong number of arguments for 'command|count' command\r\n"
    );
}

#[test]
fn command_getkeys() {
    let server = TestServer::start();
    let mut raw = server.raw();
    // MSET belongs to the string family; until that table holds it, it is an unknown command here.
    let mset_known = raw.call(&[b"COMMAND", b"INFO", b"mset"]) != b"*1\r\n$-1\r\n";
    let mset_keys = raw.call(&[b"COMMAND", b"GETKEYS", b"MSET", b"a", b"1", b"b", b"2"]);
    if mset_known {
        assert_eq!(mset_keys, b"*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    } else {
        assert_eq!(mset_keys, b"-ERR Invalid command specified\r\n");
    }
    assert_eq!(
        raw.call(&[b"COMMAND", b"GETKEYS", b"set", b"a", b"b"]),
        b"*1\r\n$1\r\na\r\n"
    );
    assert_eq!(
        raw.call(&[b"COMMAND", b"GETKEYS", b"nope", b"a"]),
        b"-ERR Invalid command specified\r\n"
    );
    assert_eq!(
        raw.call(&[b"COMMAND", b"GETKEYS", b"config", b"nope"]),
        b"-ERR Invalid command specified\r\n"
    );
    assert_eq!(
        raw.call(&[b"COMMAND", b"GETKEYS", b"config", b"get"]),
        b"-ERR The command has no key arguments\r\n"
    );
    assert_eq!(
        raw.call(&[b"COMMAND", b"GETKEYS", b"ping", b"a"]),
        b"-ERR The command has no key arguments\r\n"
    );
    assert_eq!(
        raw.call(&[b"COMMAND", b"GETKEYS", b"get", b"a", b"b"]),
        b"-ERR Invalid number of arguments specified for command\r\n"
    );
    // Keys counted by a numkeys argument (redis-server 7.0.15's replies).
    let cases: &[(&[&[u8]], &[u8])] = &[
        (
            &[b"zunionstore", b"d", b"2", b"a", b"b"],
            b"*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n",
        ),
        (
            &[b"zunion", b"2", b"a", b"b", b"WITHSCORES"],
            b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        ),
        (
            &[b"lmpop", b"2", b"a", b"b", b"left"],
            b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        ),
        (
            &[b"blmpop", b"0", b"1", b"a", b"left"],
            b"*1\r\n$1\r\na\r\n",
        ),
        (&[b"sintercard", b"1", b"a"], b"*1\r\n$1\r\na\r\n"),
        (
            &[b"zunion", b"0", b"a"],
            b"-ERR Invalid arguments specified for command\r\n",
        ),
        (
            &[b"zunion", b"-1", b"a"],
            b"-ERR Invalid arguments specified for command\r\n",
        ),
        (
            &[b"zunion", b"3", b"a", b"b"],
            b"-ERR Invalid arguments specified for command\r\n",
        ),
        (
            &[b"zunionstore", b"d", b"0", b"a"],
            b"-ERR Invalid arguments specified for command\r\n",
        ),
        (
            &[b"zunion", b"1"],
            b"-ERR Invalid number of arguments specified for command\r\n",
        ),
    ];
    for (command, expected) in cases {
        let mut args: Vec<&[u8]> = vec![b"COMMAND", b"GETKEYS"];
        args.extend_from_slice(command);
        assert_eq!(
            String::from_utf8_lossy(&raw.call(&args)),
            String::from_utf8_lossy(expected),
            "{command:?}"
        );
    }
    assert_eq!(
        raw.call(&[b"COMMAND", b"GETKEYS", b"get"]),
        b"-ERR wrong number of arguments for 'command|getkeys' command\r\n"
    );
    assert_eq!(
        raw.call(&[b"COMMAND", b"GETKEYSANDFLAGS", b"get", b"k"]),
        b"*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n"
    );
}

#[test]
fn command_docs_shape() {
    let server = TestServer::start();
    let mut con = server.client();
    // RESP2: a flat array of name, then the flattened map of that command's docs.
    let docs: Vec<Value> = redis::cmd("COMMAND")
        .arg("DOCS")
        .arg("get")
        .arg("nope")
        .query(&mut con)
        .unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0], Value::BulkString(b"get".to_vec()));
    let Value::Array(fields) = &docs[1] else {
        panic!("{docs:?}")
    };
    let names: Vec<&Value> = fields.iter().step_by(2).collect();
    let expected: Vec<Value> = ["summary", "since", "group", "complexity", "arguments"]
        .iter()
        .map(|f| Value::BulkString(f.as_bytes().to_vec()))
        .collect();
    assert_eq!(names, expected.iter().collect::<Vec<_>>());
    assert_eq!(fields[5], Value::BulkString(b"string".to_vec()));

    let config: Vec<Value> = redis::cmd("COMMAND")
        .arg("DOCS")
        .arg("config")
        .query(&mut con)
        .unwrap();
    let Value::Array(fields) = &config[1] else {
        panic!("{config:?}")
    };
    assert_eq!(fields.len(), 10);
    assert_eq!(
        fields[1],
        Value::BulkString(b"A container for server configuration commands".to_vec())
    );
    assert_eq!(fields[8], Value::BulkString(b"subcommands".to_vec()));
    let Value::Array(subs) = &fields[9] else {
        panic!("{fields:?}")
    };
    assert_eq!(subs.len(), 10);
    assert_eq!(subs[2], Value::BulkString(b"config|get".to_vec()));

    let all: Vec<Value> = redis::cmd("COMMAND").arg("DOCS").query(&mut con).unwrap();
    let count: usize = redis::cmd("COMMAND").arg("COUNT").query(&mut con).unwrap();
    assert_eq!(all.len(), 2 * count);
}

#[test]
fn command_list_filters() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[b"COMMAND", b"LIST", b"FILTERBY", b"PATTERN", b"CONF*"]),
        b"*6\r\n$6\r\nconfig\r\n$10\r\nconfig|set\r\n$10\r\nconfig|get\r\n$16\r\nconfig|resetstat\r\n$14\r\nconfig|rewrite\r\n$11\r\nconfig|help\r\n"
    );
    let admin = String::from_utf8_lossy(&raw.call(&[
        b"COMMAND",
        b"LIST",
        b"FILTERBY",
        b"aclcat",
        b"ADMIN",
    ]))
    .into_owned();
    let names: Vec<&str> = admin
        .split("\r\n")
        .filter(|l| !l.starts_with('*') && !l.starts_with('$') && !l.is_empty())
        .collect();
    assert!(
        names.contains(&"config|set") && names.contains(&"config|rewrite"),
        "{admin}"
    );
    assert!(
        !names.contains(&"get") && !names.contains(&"config|help"),
        "{admin}"
    );
    assert_eq!(
        raw.call(&[b"COMMAND", b"LIST", b"FILTERBY", b"aclcat", b"@admin"]),
        b"*0\r\n"
    );
    assert_eq!(
        raw.call(&[b"COMMAND", b"LIST", b"FILTERBY", b"module", b"x"]),
        b"*0\r\n"
    );
    assert_eq!(
        raw.call(&[b"COMMAND", b"LIST", b"FILTERBY", b"foo", b"x"]),
        b"-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.call(&[b"COMMAND", b"LIST", b"FILTERBY"]),
        b"-ERR syntax error\r\n"
    );
}

#[test]
fn info_sections() {
    let server = TestServer::start();
    let default = info(&server, &[]);
    let headers: Vec<&str> = default
        .split("\r\n")
        .filter(|l| l.starts_with('#'))
        .collect();
    assert_eq!(
        headers,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace"
        ]
    );
    // One empty line between sections, none at the end, CRLF everywhere.
    assert!(default.contains("\r\n\r\n# Clients\r\n"));
    assert!(default.ends_with("# Keyspace\r\n"));
    assert!(!default.replace("\r\n", "").contains('\n'));
    assert_eq!(field(&default, "redis_version").as_deref(), Some("7.4.0"));
    assert_eq!(field(&default, "redis_mode").as_deref(), Some("standalone"));
    assert_eq!(int_field(&default, "tcp_port"), server.port() as u64);
    assert_eq!(int_field(&default, "process_id"), std::process::id() as u64);
    assert_eq!(field(&default, "run_id").map(|id| id.len()), Some(40));
    assert_eq!(int_field(&default, "maxclients"), 10000);
    assert!(int_field(&default, "connected_clients") >= 1);
    assert_eq!(
        field(&default, "maxmemory_policy").as_deref(),
        Some("allkeys-cachet")
    );
    assert_eq!(
        field(&default, "mem_allocator").as_deref(),
        Some("jemalloc-5.3.0")
    );

    // Sections come in Redis's order whatever order they are asked in; unknown ones add nothing.
    let two = info(&server, &["KEYSPACE", "nosuch", "server"]);
    assert!(two.starts_with("# Server\r\n"));
    assert!(two.ends_with("\r\n\r\n# Keyspace\r\n"));
    assert!(!two.contains("# Memory"));
    let memory = info(&server, &["memory"]);
    assert!(memory.starts_with("# Memory\r\nused_memory:"));
    assert!(!memory.contains("# Server"));
    assert!(info(&server, &["everything"]).contains("# Stats\r\n"));
    let all = info(&server, &["all"]);
    let all_headers: Vec<&str> = all.split("\r\n").filter(|l| l.starts_with('#')).collect();
    // Redis 7.0's order, then cachet's own sections.
    assert_eq!(
        all_headers,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Commandstats",
            "# Errorstats",
            "# Latencystats",
            "# Cluster",
            "# Keyspace",
            "# Cachet",
            "# Compression",
            "# Coherence",
            "# Regions"
        ]
    );
    let cachet = info(&server, &["cachet"]);
    assert_eq!(int_field(&cachet, "shards"), 4);
    assert_eq!(int_field(&cachet, "databases"), 16);
    let mut raw = server.raw();
    assert_eq!(raw.call(&[b"INFO", b"nosuch"]), b"$0\r\n\r\n");
}

#[test]
fn info_keyspace_and_hits() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[b"INFO", b"keyspace"]),
        b"$12\r\n# Keyspace\r\n\r\n"
    );
    for key in [&b"a"[..], b"b", b"c"] {
        raw.call(&[b"SET", key, b"v"]);
    }
    assert_eq!(
        raw.call(&[b"INFO", b"keyspace"]),
        b"$44\r\n# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n\r\n"
    );

    let before = info(&server, &["stats"]);
    raw.call(&[b"GET", b"a"]);
    raw.call(&[b"GET", b"a"]);
    raw.call(&[b"GET", b"zz"]);
    let after = info(&server, &["stats"]);
    assert_eq!(
        int_field(&after, "keyspace_hits") - int_field(&before, "keyspace_hits"),
        2
    );
    assert_eq!(
        int_field(&after, "keyspace_misses") - int_field(&before, "keyspace_misses"),
        1
    );
    assert!(
        int_field(&after, "total_net_input_bytes") > int_field(&before, "total_net_input_bytes")
    );
    assert!(int_field(&after, "total_connections_received") >= 2);
}

#[test]
fn info_memory_follows_the_data() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let before = info(&server, &["memory"]);
    let value = vec![b'x'; 100_000];
    raw.call(&[b"SET", b"big", &value]);
    let after = info(&server, &["memory"]);
    let grown = int_field(&after, "used_memory") - int_field(&before, "used_memory");
    assert!((100_000..120_000).contains(&grown), "grew by {grown}");
    assert!(int_field(&after, "used_memory_peak") >= int_field(&after, "used_memory"));
    assert_eq!(
        int_field(&after, "used_memory"),
        int_field(&after, "used_memory_startup") + int_field(&after, "used_memory_dataset")
    );
    assert!(
        field(&after, "used_memory_human").is_some_and(|h| h.ends_with('K') || h.ends_with('M'))
    );
}
