//! COMMAND's metadata against a real redis-server 7.0: the key specifications of every command both
//! have (the notes Redis attaches to some are prose cachet does not copy), and the keys and flags
//! COMMAND GETKEYSANDFLAGS finds in requests with movable keys, options and key counts.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use common::TestServer;
use fleet::RedisServer;
use redis::Value;

/// The value with every `notes` entry of a key spec removed.
fn without_notes(value: Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut kept = Vec::with_capacity(items.len());
            let mut iter = items.into_iter().peekable();
            while let Some(item) = iter.next() {
                if matches!(&item, Value::BulkString(b) if b == b"notes") && iter.peek().is_some() {
                    iter.next();
                    continue;
                }
                kept.push(without_notes(item));
            }
            Value::Array(kept)
        }
        other => other,
    }
}

fn command_names(con: &mut redis::Connection) -> Vec<String> {
    let list: Vec<String> = redis::cmd("COMMAND").arg("LIST").query(con).unwrap();
    list
}

#[test]
fn flags_and_key_specs_are_redis_ones() {
    let redis = RedisServer::start();
    let cachet = TestServer::start();
    let mut theirs = fleet::connect(redis.port).unwrap();
    let mut ours = cachet.client();
    let redis_names = command_names(&mut theirs);
    let mut compared = 0;
    for name in command_names(&mut ours) {
        if !redis_names.contains(&name) {
            continue;
        }
        let info = |con: &mut redis::Connection| -> Value {
            let reply: Value = redis::cmd("COMMAND")
                .arg("INFO")
                .arg(&name)
                .query(con)
                .unwrap();
            let Value::Array(mut entries) = reply else {
                panic!("{name}")
            };
            let Value::Array(mut fields) = entries.remove(0) else {
                panic!("{name}")
            };
            // The flags (a set: sorted), then the key specs.
            let key_specs = without_notes(fields.remove(8));
            let Value::Array(mut flags) = fields.remove(2) else {
                panic!("{name}")
            };
            flags.sort_by_key(|flag| format!("{flag:?}"));
            Value::Array(vec![Value::Array(flags), key_specs])
        };
        assert_eq!(
            info(&mut ours),
            info(&mut theirs),
            "flags and key specs of {name}"
        );
        compared += 1;
    }
    assert!(compared > 150, "only {compared} commands compared");
}

#[test]
fn getkeysandflags_finds_what_redis_finds() {
    let redis = RedisServer::start();
    let cachet = TestServer::start();
    let mut theirs = fleet::connect(redis.port).unwrap();
    let mut ours = cachet.client();
    let requests = [
        "set k v",
        "set k v get",
        "get k",
        "mset a 1 b 2",
        "msetnx a 1 b 2 c 3",
        "zunionstore d 2 a b weights 1 2",
        "zinterstore d 1 a",
        "zunion 2 a b",
        "zdiff 1 a",
        "georadius k 0 0 1 km store d",
        "georadius k 0 0 1 km storedist d",
        "georadiusbymember k m 1 km store d",
        "geosearchstore d s frommember m byradius 1 km",
        "lmpop 2 a b left",
        "blmpop 0 2 a b left count 2",
        "zmpop 1 a min",
        "sintercard 2 a b limit 1",
        "rename a b",
        "renamenx a b",
        "copy a b",
        "smove a b m",
        "lmove a b left right",
        "blmove a b left right 0",
        "rpoplpush a b",
        "object freq k",
        "bitop and d a b",
        "bitfield k get u8 0",
        "bitfield k set u8 0 1",
        "pfmerge d a b",
        "pfcount a b",
        "linsert k before p v",
        "getdel k",
        "getex k ex 1",
        "del a b c",
        "unlink a b",
        "exists a b",
        "touch a b",
        "watch a b",
        "zrangestore d s 0 1",
        "sunionstore d a b",
        "sdiffstore d a",
        "brpop a b 0",
        "bzpopmin a b 0",
        "hset h f v",
        "incrbyfloat k 1.5",
        "xread streams a b 0 0",
        "xread count 1 block 0 streams a 0",
        "xread block 0 streams streams streams 0 0",
        "xadd s maxlen ~ 1 * f v",
        "xrange s - +",
        "xreadgroup group g c streams a b > >",
        "xreadgroup group g streams count 1 streams a 0",
        "xgroup create s g $",
        "xack s g 0-1",
    ];
    for request in requests {
        let args: Vec<&str> = request.split(' ').collect();
        let ask = |con: &mut redis::Connection| -> redis::RedisResult<Value> {
            redis::cmd("COMMAND")
                .arg("GETKEYSANDFLAGS")
                .arg(&args)
                .query(con)
        };
        assert_eq!(
            format!("{:?}", ask(&mut ours)),
            format!("{:?}", ask(&mut theirs)),
            "COMMAND GETKEYSANDFLAGS {request}"
        );
    }
}

/// A `numkeys` that is not a plain integer fails the key specs, and Redis falls back to the
/// command's own key procedure, which reads it with C's `atoi` and returns the keys without flags
/// (the store key last): both subcommands answer as redis-server 7.0 does, errors included.
#[test]
fn getkeys_falls_back_like_redis_on_a_malformed_numkeys() {
    let redis = RedisServer::start();
    let cachet = TestServer::start();
    let mut theirs = fleet::connect(redis.port).unwrap();
    let mut ours = cachet.client();
    let requests: &[&[&str]] = &[
        &["zunionstore", "d", "1e400", "a", "b"],
        &["zinterstore", "d", "01", "a", "b"],
        &["zdiffstore", "d", "2x", "a", "b"],
        &["zunion", "+1", "a", "b"],
        &["zinter", " 2", "a", "b"],
        &["zdiff", "1.5", "a"],
        &["zintercard", "1abc", "a", "b"],
        &["sintercard", "2e", "a", "b"],
        &["lmpop", "1e1", "a", "left"],
        &["blmpop", "0", "1x", "a", "left"],
        &["zmpop", "01", "a", "min"],
        &["bzmpop", "0", "\t1", "a", "min"],
        &["eval", "return 1", "1k", "k", "a"],
        &["evalsha_ro", "x", "02", "k", "a"],
        &["fcall", "f", "1 ", "k"],
        &["fcall_ro", "f", "1", "k"],
        // Still no keys: counts below 1 or beyond the arguments, and overflow.
        &["zunionstore", "d", "0x", "a"],
        &["zunionstore", "d", "-1x", "a"],
        &["zunion", "9x", "a"],
        &["zunion", "99999999999999999999", "a"],
        &["eval", "s", "x", "k"],
        &["eval", "s", "0"],
        &["fcall", "f", "0", "k"],
        &["evalsha", "s", "-1", "k"],
    ];
    for args in requests {
        for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
            let ask = |con: &mut redis::Connection| -> redis::RedisResult<Value> {
                redis::cmd("COMMAND").arg(sub).arg(*args).query(con)
            };
            assert_eq!(
                format!("{:?}", ask(&mut ours)),
                format!("{:?}", ask(&mut theirs)),
                "COMMAND {sub} {args:?}"
            );
        }
    }
}

/// A COMMAND DOCS entry without the prose fields, which cachet writes in its own words (summary,
/// complexity, history, replaced_by) or dates by its own version (since, group), and without its
/// subcommands, whose names are returned apart.
fn docs_facts(value: Value) -> (Value, Vec<String>) {
    const PROSE: [&[u8]; 6] = [
        b"summary",
        b"complexity",
        b"history",
        b"replaced_by",
        b"since",
        b"group",
    ];
    let Value::Array(items) = value else {
        panic!("{value:?}")
    };
    let mut kept = Vec::new();
    let mut subcommands = Vec::new();
    let mut iter = items.into_iter();
    while let (Some(field), Some(value)) = (iter.next(), iter.next()) {
        let Value::BulkString(name) = &field else {
            panic!("{field:?}")
        };
        if name == b"subcommands" {
            let Value::Array(subs) = value else {
                panic!("subcommands")
            };
            for sub in subs.into_iter().step_by(2) {
                let Value::BulkString(sub) = sub else {
                    panic!("{sub:?}")
                };
                subcommands.push(String::from_utf8(sub).unwrap());
            }
        } else if !PROSE.contains(&name.as_slice()) {
            kept.push(field);
            kept.push(value);
        }
    }
    (Value::Array(kept), subcommands)
}

#[test]
fn docs_give_redis_argument_grammar() {
    let redis = RedisServer::start();
    let cachet = TestServer::start();
    let mut theirs = fleet::connect(redis.port).unwrap();
    let mut ours = cachet.client();
    let docs = |con: &mut redis::Connection, name: &str| -> Option<(Value, Vec<String>)> {
        let reply: Value = redis::cmd("COMMAND")
            .arg("DOCS")
            .arg(name)
            .query(con)
            .unwrap();
        let Value::Array(mut pair) = reply else {
            panic!("{name}")
        };
        (!pair.is_empty()).then(|| docs_facts(pair.remove(1)))
    };
    let mut names = command_names(&mut ours);
    let mut compared = 0;
    while let Some(name) = names.pop() {
        let Some((redis_docs, _)) = docs(&mut theirs, &name) else {
            continue;
        };
        let (mine, subcommands) = docs(&mut ours, &name).unwrap();
        assert_eq!(mine, redis_docs, "COMMAND DOCS {name}");
        names.extend(subcommands);
        compared += 1;
    }
    assert!(compared > 250, "only {compared} commands compared");
}
