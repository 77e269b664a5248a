//! Transparent compression (`compression-level`, `compression-min-size`, CACHE.SET ... COMPRESS):
//! every command that reads or edits a string answers redis-server's bytes while cachet holds the
//! value compressed; the memory limit counts the compressed bytes; compressed values survive a
//! snapshot and a restart; INFO's compression section counts what is held.

mod common;
#[path = "common/compression.rs"]
mod compression;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use cachet::engine::compress::Level;
use common::{info_u64, scratch_dir, TestServer};
use compression::{json_doc, settle, usage};
use differential::Differential;

fn compressed_keys(server: &TestServer) -> u64 {
    info_u64(&mut server.client(), "compression", "compressed_keys")
}

/// The same requests to redis-server and to cachet compressing every string of 64 bytes or more:
/// every reply is the same bytes, so no reader sees a compressed value.
#[test]
fn every_string_command_answers_redis_bytes_while_compressed() {
    let mut diff = Differential::start();
    let mut con = diff.cachet.client();
    common::config_set(&mut con, "compression-level", "fast");
    common::config_set(&mut con, "compression-min-size", "64");
    diff.check_str(&["FLUSHALL"]);
    let mut rng = fastrand::Rng::with_seed(0x636f_6d70);
    let docs: Vec<Vec<u8>> = [64, 100, 700, 1500, 3000, 8000]
        .iter()
        .map(|&size| json_doc(&mut rng, size))
        .collect();
    for (i, doc) in docs.iter().enumerate() {
        diff.check(&[b"SET", format!("d{i}").as_bytes(), doc]);
    }
    settle(&mut con);
    let held = compressed_keys(&diff.cachet);
    assert!(held >= 4, "only {held} values compressed");
    let keys: Vec<String> = (0..docs.len()).map(|i| format!("d{i}")).collect();
    for key in &keys {
        for args in [
            vec!["GET", key],
            vec!["STRLEN", key],
            vec!["OBJECT", "ENCODING", key],
            vec!["GETRANGE", key, "0", "10"],
            vec!["GETRANGE", key, "-20", "-1"],
            vec!["GETRANGE", key, "50", "2000"],
            vec!["SUBSTR", key, "5", "30"],
            vec!["GETBIT", key, "100"],
            vec!["BITCOUNT", key],
            vec!["BITPOS", key, "0"],
            vec!["INCR", key],
            vec!["INCRBYFLOAT", key, "1.5"],
            vec!["PFCOUNT", key],
            vec!["DUMP", key],
            vec!["TYPE", key],
        ] {
            diff.check_str(&args);
        }
    }
    diff.check_str(&["MGET", "d0", "d1", "missing", "d5"]);
    diff.check_str(&["LCS", "d1", "d2", "LEN"]);
    diff.check_str(&["EVAL", "return redis.call('GET', KEYS[1])", "1", "d4"]);
    diff.check_str(&["EVAL", "return redis.call('STRLEN', KEYS[1])", "1", "d4"]);
    // SORT's BY and GET patterns read strings too.
    diff.check_str(&["RPUSH", "ids", "3", "1", "2"]);
    for (id, key) in [("1", "d3"), ("2", "d4"), ("3", "d2")] {
        diff.check_str(&["COPY", key, &format!("val_{id}")]);
    }
    diff.check_str(&["SORT", "ids", "GET", "val_*", "GET", "#"]);
    diff.check_str(&["SORT", "ids", "BY", "val_*", "ALPHA", "GET", "val_*"]);
    // Edits: the result reads as Redis's, compressed or not underneath.
    diff.check(&[b"APPEND", b"d2", &docs[0]]);
    diff.check_str(&["GET", "d2"]);
    diff.check_str(&["OBJECT", "ENCODING", "d2"]);
    diff.check_str(&["SETRANGE", "d3", "100", "patched"]);
    diff.check_str(&["SETRANGE", "d3", "9000", "past the end"]);
    diff.check_str(&["GET", "d3"]);
    diff.check_str(&["STRLEN", "d3"]);
    diff.check_str(&["SETBIT", "d4", "7", "1"]);
    diff.check_str(&["GET", "d4"]);
    diff.check_str(&["GETSET", "d5", "small"]);
    diff.check_str(&["GET", "d5"]);
    diff.check(&[b"SET", b"d5", &docs[5], b"GET"]);
    diff.check_str(&["GETEX", "d5", "PX", "100000"]);
    diff.check_str(&["GETDEL", "d5"]);
    diff.check_str(&["EXISTS", "d5"]);
    diff.check(&[b"MSET", b"m1", &docs[4], b"m2", &docs[3]]);
    diff.check_str(&["MGET", "m1", "m2"]);
    diff.check_str(&["RENAME", "m1", "renamed"]);
    diff.check_str(&["GET", "renamed"]);
    diff.check(&[b"SETRANGE", b"fresh", b"0", &docs[4]]);
    diff.check_str(&["GET", "fresh"]);
    // A payload Redis wrote restores into a compressed value, and dumps back the same.
    let payload = diff.check_str(&["DUMP", "m2"]);
    let body = &payload[payload.iter().position(|&b| b == b'\n').unwrap() + 1..payload.len() - 2];
    settle(&mut con);
    let before = compressed_keys(&diff.cachet);
    diff.check(&[b"RESTORE", b"restored", b"0", body]);
    settle(&mut con);
    assert_eq!(compressed_keys(&diff.cachet), before + 1);
    diff.check_str(&["GET", "restored"]);
    diff.check_str(&["DUMP", "restored"]);
    assert!(diff.compared > 120, "{} compared", diff.compared);
}

#[test]
fn cache_set_compress_overrides_the_configured_level() {
    let server = TestServer::start();
    let mut con = server.client();
    let doc = json_doc(&mut fastrand::Rng::with_seed(1), 4000);
    let query = |con: &mut redis::Connection, args: &[&[u8]]| -> redis::RedisResult<redis::Value> {
        let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap());
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query(con)
    };
    // Off by default: nothing changes for existing users.
    let level: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("compression-level")
        .query(&mut con)
        .unwrap();
    assert_eq!(level, ["compression-level", "none"]);
    query(&mut con, &[b"SET", b"plain", &doc]).unwrap();
    assert_eq!(compressed_keys(&server), 0);
    for level in ["fast", "default", "max", "MAX"] {
        let key = format!("k-{level}");
        let reply = query(
            &mut con,
            &[
                b"CACHE.SET",
                key.as_bytes(),
                &doc,
                b"COMPRESS",
                level.as_bytes(),
            ],
        );
        assert_eq!(reply, Ok(redis::Value::Okay));
        let back: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut con).unwrap();
        assert_eq!(back, doc);
        assert!(usage(&mut con, &key) * 3 < usage(&mut con, "plain"));
    }
    assert_eq!(compressed_keys(&server), 4);
    let err = query(&mut con, &[b"CACHE.SET", b"k", b"v", b"COMPRESS", b"zip"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "An error was signalled by the server - ResponseError: invalid compression level, must be one of none, fast, default, max"
    );
    assert!(query(&mut con, &[b"CACHE.SET", b"k", b"v", b"COMPRESS"]).is_err());
    // The configured level applies to plain writes; COMPRESS none keeps this one raw.
    common::config_set(&mut con, "compression-level", "default");
    query(
        &mut con,
        &[b"CACHE.SET", b"raw", &doc, b"COMPRESS", b"none"],
    )
    .unwrap();
    query(&mut con, &[b"SET", b"auto", &doc]).unwrap();
    settle(&mut con);
    assert!(usage(&mut con, "raw") as usize > doc.len());
    assert!(usage(&mut con, "auto") * 3 < usage(&mut con, "plain"));
    // Values that do not shrink by an eighth stay raw, and are counted as skipped.
    let noise: Vec<u8> = (0..4000u32).map(|_| fastrand::u8(..)).collect();
    let skipped = info_u64(&mut con, "compression", "compression_skipped_values");
    query(&mut con, &[b"SET", b"noise", &noise]).unwrap();
    settle(&mut con);
    assert_eq!(
        info_u64(&mut con, "compression", "compression_skipped_values"),
        skipped + 1
    );
    assert_eq!(compressed_keys(&server), 5);
    // Stored raw, as written.
    let back: Vec<u8> = redis::cmd("GET").arg("noise").query(&mut con).unwrap();
    assert_eq!(back, noise);
    assert!(usage(&mut con, "noise") as usize > noise.len());
    assert!(
        info_u64(&mut con, "compression", "compressed_bytes_before")
            > 3 * info_u64(&mut con, "compression", "compressed_bytes_after")
    );
    // Bad directive values are refused with Redis's wording and change nothing.
    for (name, value) in [("compression-level", "zip"), ("compression-min-size", "-1")] {
        let err = redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query::<()>(&mut con)
            .unwrap_err();
        assert!(err.to_string().contains("CONFIG SET failed"), "{err}");
    }
    // Deleting every compressed key leaves nothing counted.
    redis::cmd("FLUSHALL").query::<()>(&mut con).unwrap();
    assert_eq!(compressed_keys(&server), 0);
    assert_eq!(
        info_u64(&mut con, "compression", "compressed_bytes_after"),
        0
    );
}

/// At the same `maxmemory`, compressing keeps several times the documents: the limit counts the
/// bytes held, not the bytes written.
#[test]
fn the_memory_limit_counts_compressed_bytes() {
    let mut rng = fastrand::Rng::with_seed(7);
    let docs: Vec<Vec<u8>> = (0..1500).map(|_| json_doc(&mut rng, 6000)).collect();
    let mut kept = Vec::new();
    for level in ["none", "fast"] {
        let server = TestServer::start();
        let mut con = server.client();
        let used = info_u64(&mut con, "memory", "used_memory");
        // 4 MB of room: about 650 raw documents.
        common::config_set(&mut con, "maxmemory", &(used + 4_000_000).to_string());
        common::config_set(&mut con, "maxmemory-policy", "allkeys-lru");
        common::config_set(&mut con, "compression-level", level);
        for (i, doc) in docs.iter().enumerate() {
            redis::cmd("SET")
                .arg(format!("doc:{i}"))
                .arg(&doc[..])
                .query::<()>(&mut con)
                .unwrap();
        }
        let keys: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert!(info_u64(&mut con, "memory", "used_memory") <= used + 4_000_000 + 64_000);
        kept.push(keys);
    }
    assert!(kept[0] < 800, "raw: {kept:?}");
    assert_eq!(kept[1], 1500, "compressed: {kept:?}");
}

#[test]
fn compressed_values_survive_a_restart() {
    let dir = scratch_dir();
    let start = |dir: &std::path::Path| {
        let dir = dir.to_string_lossy().into_owned();
        TestServer::start_with(move |v| {
            v.dir = dir;
            v.compression_level = Level::Fast;
        })
    };
    let mut rng = fastrand::Rng::with_seed(3);
    let docs: Vec<Vec<u8>> = (0..50)
        .map(|i| json_doc(&mut rng, 1000 + i * 100))
        .collect();
    {
        let server = start(&dir);
        let mut con = server.client();
        for (i, doc) in docs.iter().enumerate() {
            redis::cmd("SET")
                .arg(format!("doc:{i}"))
                .arg(&doc[..])
                .query::<()>(&mut con)
                .unwrap();
        }
        settle(&mut con);
        assert_eq!(compressed_keys(&server), 50);
        redis::cmd("SAVE").query::<()>(&mut con).unwrap();
    }
    let server = start(&dir);
    let mut con = server.client();
    assert_eq!(compressed_keys(&server), 50);
    for (i, doc) in docs.iter().enumerate() {
        let back: Vec<u8> = redis::cmd("GET")
            .arg(format!("doc:{i}"))
            .query(&mut con)
            .unwrap();
        assert_eq!(&back, doc, "doc:{i}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The figures of one `compression_prefix<n>` line of INFO compression, by pair name.
fn prefix_line(server: &TestServer, index: usize) -> std::collections::HashMap<String, String> {
    common::info_field(
        &mut server.client(),
        "compression",
        &format!("compression_prefix{index}"),
    )
    .split(',')
    .filter_map(|pair| pair.split_once('='))
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Per `stats-prefixes` prefix, INFO compression counts the writes tried, their bytes before and
/// after (an incompressible value the same on both sides) and the CPU spent; nested prefixes both
/// count a key; short values and other keys count nowhere; CACHE.STATS RESET zeroes them.
#[test]
fn compression_is_counted_per_stats_prefix() {
    let server = TestServer::start();
    let mut con = server.client();
    common::config_set(&mut con, "compression-level", "fast");
    common::config_set(&mut con, "stats-prefixes", "doc: doc:big: img:");
    let mut rng = fastrand::Rng::with_seed(7);
    let small = json_doc(&mut rng, 2000);
    let big = json_doc(&mut rng, 8000);
    let noise: Vec<u8> = (0..3000).map(|_| rng.u8(..)).collect();
    let set = |con: &mut redis::Connection, key: &str, value: &[u8]| {
        let () = redis::cmd("SET").arg(key).arg(value).query(con).unwrap();
    };
    set(&mut con, "doc:1", &small);
    set(&mut con, "doc:big:1", &big);
    set(&mut con, "doc:short", b"below compression-min-size");
    set(&mut con, "img:1", &noise);
    set(&mut con, "other:1", &big);
    settle(&mut con);
    assert!(usage(&mut con, "doc:big:1") < big.len() as u64 / 2);

    let doc = prefix_line(&server, 0);
    assert_eq!(doc["prefix"], "doc:");
    assert_eq!(doc["values"], "2");
    assert_eq!(doc["bytes_before"], (small.len() + big.len()).to_string());
    let after: usize = doc["bytes_after"].parse().unwrap();
    assert!(
        after > 0 && after < (small.len() + big.len()) / 2,
        "{doc:?}"
    );
    assert!(doc["ratio"].parse::<f64>().unwrap() > 2.0, "{doc:?}");
    let nested = prefix_line(&server, 1);
    assert_eq!(nested["prefix"], "doc:big:");
    assert_eq!(nested["values"], "1");
    assert_eq!(nested["bytes_before"], big.len().to_string());
    let img = prefix_line(&server, 2);
    assert_eq!(img["values"], "1");
    assert_eq!(img["bytes_before"], noise.len().to_string());
    assert_eq!(img["bytes_after"], noise.len().to_string());
    assert_eq!(img["ratio"], "1.00");
    // The sum over prefixes never exceeds the server's CPU figure.
    let total_us = info_u64(&mut con, "compression", "compress_cpu_us");
    let doc_us: u64 = doc["compress_cpu_us"].parse().unwrap();
    assert!(doc_us <= total_us, "{doc_us} > {total_us}");

    let () = redis::cmd("CACHE.STATS")
        .arg("RESET")
        .query(&mut con)
        .unwrap();
    let doc = prefix_line(&server, 0);
    assert_eq!(
        (doc["values"].as_str(), doc["bytes_before"].as_str()),
        ("0", "0")
    );
    // Without stats-prefixes there are no per-prefix lines (and no metric labels).
    common::config_set(&mut con, "stats-prefixes", "");
    let text: String = redis::cmd("INFO")
        .arg("compression")
        .query(&mut con)
        .unwrap();
    assert!(!text.contains("compression_prefix"), "{text}");
}

/// SET compresses before it takes the shard lock (`compression-backlog 0`) or leaves it to the
/// background compressor: either way, writers racing on the same keys with values that compress,
/// that do not shrink and that are too short to try must leave INFO's counts of what is held
/// exactly those of the values that won, and nothing once they are deleted.
#[test]
fn racing_writers_leave_the_compression_counts_exact() {
    racing_writers("0");
}

#[test]
fn racing_writers_and_the_compressor_leave_the_compression_counts_exact() {
    racing_writers("64mb");
}

fn racing_writers(backlog: &str) {
    let server = TestServer::start();
    let mut con = server.client();
    common::config_set(&mut con, "compression-level", "fast");
    common::config_set(&mut con, "compression-backlog", backlog);
    let mut rng = fastrand::Rng::with_seed(19);
    let mut values: Vec<Vec<u8>> = (0..4).map(|i| json_doc(&mut rng, 2000 + 700 * i)).collect();
    values.push((0..3000).map(|_| rng.u8(..)).collect());
    values.push(b"short".to_vec());
    let keys: Vec<String> = (0..6).map(|i| format!("race:{i}")).collect();
    let writers: Vec<redis::Connection> = (0..4).map(|_| server.client()).collect();
    std::thread::scope(|scope| {
        for (seed, mut writer) in writers.into_iter().enumerate() {
            let (values, keys) = (&values, &keys);
            scope.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(seed as u64);
                for _ in 0..300 {
                    let mut pipe = redis::pipe();
                    for _ in 0..4 {
                        let key = &keys[rng.usize(..keys.len())];
                        pipe.cmd("SET")
                            .arg(key)
                            .arg(&values[rng.usize(..values.len())][..]);
                    }
                    pipe.query::<()>(&mut writer).unwrap();
                }
            });
        }
    });
    settle(&mut con);
    let (mut held, mut before) = (0, 0);
    for key in &keys {
        let value: Vec<u8> = redis::cmd("GET").arg(key).query(&mut con).unwrap();
        let index = values
            .iter()
            .position(|v| *v == value)
            .expect("a value some writer set");
        if index < 4 {
            held += 1;
            before += value.len() as u64;
        }
    }
    assert_eq!(compressed_keys(&server), held);
    assert_eq!(
        info_u64(&mut con, "compression", "compressed_bytes_before"),
        before
    );
    redis::cmd("FLUSHALL").query::<()>(&mut con).unwrap();
    assert_eq!(compressed_keys(&server), 0);
    assert_eq!(
        info_u64(&mut con, "compression", "compressed_bytes_after"),
        0
    );
}

/// The figures of INFO compression's dictionary line for a prefix, by pair name.
fn dict_line(server: &TestServer, prefix: &str) -> std::collections::HashMap<String, String> {
    let text: String = redis::cmd("INFO")
        .arg("compression")
        .query(&mut server.client())
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with("compression_dict_prefix"))
        .map(|line| {
            line.split_once(':')
                .unwrap()
                .1
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::HashMap<_, _>>()
        })
        .find(|figures| figures["prefix"] == prefix)
        .unwrap_or_else(|| panic!("no dictionary line for {prefix:?} in {text}"))
}

fn train(server: &TestServer, prefix: Option<&str>) -> redis::RedisResult<i64> {
    let mut cmd = redis::cmd("CACHE.COMPRESSION");
    cmd.arg("TRAIN");
    if let Some(prefix) = prefix {
        cmd.arg(prefix);
    }
    cmd.query(&mut server.client())
}

/// Small JSON documents (256-1024 B), where dictionaries matter most.
fn small_docs(rng: &mut fastrand::Rng, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let size = rng.usize(256..1024);
            json_doc(rng, size)
        })
        .collect()
}

fn dictionaries_on(con: &mut redis::Connection) {
    common::config_set(con, "compression-level", "fast");
    common::config_set(con, "compression-min-size", "256");
    common::config_set(con, "compression-dict", "on");
}

/// Values written with no dictionary, with a first one and with its replacement read back as
/// redis-server's bytes through every string reader and editor, DUMP included (and cachet's DUMP
/// restores into redis-server); dictionaries shrink small documents further than plain zstd.
#[test]
fn values_of_every_dictionary_answer_redis_bytes() {
    let mut diff = Differential::start();
    let mut con = diff.cachet.client();
    dictionaries_on(&mut con);
    diff.check_str(&["FLUSHALL"]);
    let mut rng = fastrand::Rng::with_seed(19);
    let mut keys = Vec::new();
    let mut write = |diff: &mut Differential, batch: &str, docs: &[Vec<u8>]| {
        for (i, doc) in docs.iter().enumerate() {
            let key = format!("doc:{batch}{i}");
            diff.check(&[b"SET", key.as_bytes(), doc]);
            keys.push(key);
        }
        // Sampled and compressed in the background: counted once it is done.
        settle(&mut diff.cachet.client());
    };
    // Before any dictionary: plain frames.
    write(&mut diff, "a", &small_docs(&mut rng, 300));
    let (before, after) = (
        info_u64(&mut con, "compression", "compressed_bytes_before"),
        info_u64(&mut con, "compression", "compressed_bytes_after"),
    );
    let plain_ratio = before as f64 / after as f64;
    assert_eq!(info_u64(&mut con, "compression", "compression_dicts"), 0);
    assert_eq!(train(&diff.cachet, Some("doc:")), Ok(1));
    let first = dict_line(&diff.cachet, "doc:");
    assert_eq!(first["in_use"], "1");
    // Written with the first dictionary.
    write(&mut diff, "b", &small_docs(&mut rng, 300));
    let figures = dict_line(&diff.cachet, "doc:");
    assert_eq!(figures["values"], "300", "{figures:?}");
    let dict_ratio: f64 = figures["ratio"].parse().unwrap();
    assert!(
        dict_ratio > plain_ratio * 1.3,
        "dictionary {dict_ratio:.2} vs plain {plain_ratio:.2}"
    );
    // A trained prefix samples no more; asking for another dictionary samples it again.
    let err = train(&diff.cachet, Some("doc:")).unwrap_err();
    assert!(err.to_string().contains("not enough samples"), "{err}");
    write(&mut diff, "c", &small_docs(&mut rng, 300));
    assert_eq!(train(&diff.cachet, Some("doc:")), Ok(1));
    let second = dict_line(&diff.cachet, "doc:");
    assert_ne!(first["dict_id"], second["dict_id"]);
    assert_eq!(second["dictionaries"], "2");
    write(&mut diff, "d", &small_docs(&mut rng, 50));
    assert_eq!(info_u64(&mut con, "compression", "compression_dicts"), 2);
    assert_eq!(
        info_u64(&mut con, "compression", "compression_dict_missing_reads"),
        0
    );
    // Every reader, for values of each dictionary (and of none).
    for key in &keys {
        for args in [
            vec!["GET", key],
            vec!["STRLEN", key],
            vec!["GETRANGE", key, "3", "40"],
            vec!["GETRANGE", key, "-30", "-1"],
            vec!["DUMP", key],
        ] {
            diff.check_str(&args);
        }
    }
    for batch in ["a", "b", "c", "d"] {
        let picked: Vec<String> = (0..5).map(|i| format!("doc:{batch}{i}")).collect();
        let mut mget = vec!["MGET"];
        mget.extend(picked.iter().map(String::as_str));
        diff.check_str(&mget);
        // cachet's DUMP payload restores into redis-server as the same value.
        let payload: Vec<u8> = redis::cmd("DUMP").arg(&picked[0]).query(&mut con).unwrap();
        let mut theirs = redis::Client::open(format!("redis://127.0.0.1:{}", diff.redis.port))
            .unwrap()
            .get_connection()
            .unwrap();
        let restored = format!("restored:{batch}");
        let () = redis::cmd("RESTORE")
            .arg(&restored)
            .arg(0)
            .arg(payload)
            .query(&mut theirs)
            .unwrap();
        let ours: Vec<u8> = redis::cmd("GET").arg(&picked[0]).query(&mut con).unwrap();
        let back: Vec<u8> = redis::cmd("GET").arg(&restored).query(&mut theirs).unwrap();
        assert_eq!(ours, back, "{batch}");
        diff.check_str(&["APPEND", &picked[1], "tail"]);
        diff.check_str(&["GET", &picked[1]]);
        diff.check_str(&["SETRANGE", &picked[2], "10", "patched"]);
        diff.check_str(&["GET", &picked[2]]);
        diff.check_str(&["GETEX", &picked[3], "PX", "100000"]);
        diff.check_str(&["GETDEL", &picked[4]]);
        diff.check_str(&["EXISTS", &picked[4]]);
    }
    // CACHE.STATS names the prefix and its dictionaries.
    let stats: redis::Value = redis::cmd("CACHE.STATS").query(&mut con).unwrap();
    let text = format!("{stats:?}");
    assert!(text.contains("compression_dictionaries"), "{text}");
    assert!(text.contains("doc:"), "{text}");
}

/// A restart brings each prefix's current dictionary back (same id) from the snapshot, every
/// value reads back whole, and new writes compress with it; with `compression-dict off` the
/// snapshot's dictionaries are not loaded and the values still read.
#[test]
fn dictionaries_survive_a_restart() {
    let dir = scratch_dir();
    let start = |dir: &std::path::Path, dict: bool| {
        let dir = dir.to_string_lossy().into_owned();
        TestServer::start_admin(move |v| {
            v.dir = dir;
            v.compression_level = Level::Fast;
            v.compression_min_size = 256;
            v.compression_dict = dict;
        })
    };
    let mut rng = fastrand::Rng::with_seed(5);
    let docs = small_docs(&mut rng, 400);
    let set = |con: &mut redis::Connection, i: usize| {
        let () = redis::cmd("SET")
            .arg(format!("doc:{i}"))
            .arg(&docs[i][..])
            .query(con)
            .unwrap();
    };
    let id = {
        let server = start(&dir, true);
        let mut con = server.client();
        for i in 0..200 {
            set(&mut con, i);
        }
        settle(&mut con);
        assert_eq!(train(&server, None), Ok(1));
        for i in 200..300 {
            set(&mut con, i);
        }
        settle(&mut con);
        let used = info_u64(&mut con, "memory", "used_memory");
        let dict_memory = info_u64(&mut con, "compression", "compression_dict_memory");
        assert!(dict_memory > 16 * 1024, "{dict_memory}");
        assert!(used > dict_memory);
        redis::cmd("SAVE").query::<()>(&mut con).unwrap();
        dict_line(&server, "doc:")["dict_id"].clone()
    };
    {
        let server = start(&dir, true);
        let mut con = server.client();
        assert_eq!(
            info_u64(&mut con, "compression", "compression_dicts_in_use"),
            1
        );
        assert_eq!(
            info_u64(&mut con, "compression", "compression_dict_load_skipped"),
            0
        );
        let line = dict_line(&server, "doc:");
        assert_eq!(line["dict_id"], id);
        // The loaded strings were compressed again, with the dictionary.
        assert_eq!(line["values"], "300", "{line:?}");
        for i in 300..400 {
            set(&mut con, i);
        }
        settle(&mut con);
        for (i, doc) in docs.iter().enumerate() {
            let back: Vec<u8> = redis::cmd("GET")
                .arg(format!("doc:{i}"))
                .query(&mut con)
                .unwrap();
            assert_eq!(&back, doc, "doc:{i}");
        }
        assert_eq!(dict_line(&server, "doc:")["values"], "400");
        // The same figures on the admin port's /metrics.
        let metrics = reqwest::blocking::get(format!(
            "http://{}/metrics",
            server.admin.expect("admin port")
        ))
        .unwrap()
        .text()
        .unwrap();
        let sample = |series: &str| -> f64 {
            metrics
                .lines()
                .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
                .unwrap_or_else(|| panic!("no {series} in /metrics"))
                .parse()
                .unwrap()
        };
        assert_eq!(sample("cachet_compression_dicts_in_use"), 1.0);
        assert_eq!(sample("cachet_prefix_dict_values{prefix=\"doc:\"}"), 400.0);
        assert!(sample("cachet_prefix_dict_ratio{prefix=\"doc:\"}") > 1.0);
        assert_eq!(
            sample("cachet_compression_dict_memory_bytes"),
            info_u64(&mut con, "compression", "compression_dict_memory") as f64
        );
    }
    let server = start(&dir, false);
    let mut con = server.client();
    assert_eq!(info_u64(&mut con, "compression", "compression_dicts"), 0);
    for (i, doc) in docs.iter().enumerate().take(300) {
        let back: Vec<u8> = redis::cmd("GET")
            .arg(format!("doc:{i}"))
            .query(&mut con)
            .unwrap();
        assert_eq!(&back, doc, "doc:{i}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bad values and misuse get Redis-style errors.
#[test]
fn dictionary_settings_and_training_errors() {
    let server = TestServer::start();
    let mut con = server.client();
    let config_error = |con: &mut redis::Connection, name: &str, value: &str| -> String {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query::<()>(con)
            .unwrap_err()
            .to_string()
    };
    let err = config_error(&mut con, "compression-dict", "yes");
    assert!(
        err.contains("CONFIG SET failed (possibly related to argument 'compression-dict') - argument(s) must be one of the following: on, off"),
        "{err}"
    );
    let err = config_error(&mut con, "compression-dict-size", "100");
    assert!(
        err.contains("argument must be between 1024 and 1048576 inclusive"),
        "{err}"
    );
    let err = config_error(
        &mut con,
        "compression-dict-prefix-delimiter",
        &"x".repeat(17),
    );
    assert!(err.contains("argument must be at most 16 bytes"), "{err}");
    let get = |con: &mut redis::Connection, name: &str| -> Vec<String> {
        redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query(con)
            .unwrap()
    };
    assert_eq!(
        get(&mut con, "compression-dict"),
        ["compression-dict", "off"]
    );
    assert_eq!(
        get(&mut con, "compression-dict-prefix-delimiter"),
        ["compression-dict-prefix-delimiter", ":"]
    );
    assert_eq!(
        get(&mut con, "compression-dict-size"),
        ["compression-dict-size", "16384"]
    );
    let err = train(&server, None).unwrap_err().to_string();
    assert!(err.contains("compression dictionaries are off"), "{err}");
    common::config_set(&mut con, "compression-dict", "ON");
    assert_eq!(
        get(&mut con, "compression-dict"),
        ["compression-dict", "on"]
    );
    // Nothing sampled yet: nothing to train, and a named prefix says why.
    assert_eq!(train(&server, None), Ok(0));
    let err = train(&server, Some("none:")).unwrap_err().to_string();
    assert!(
        err.contains("not enough samples to train a dictionary for prefix 'none:'"),
        "{err}"
    );
    let err: redis::RedisError = redis::cmd("CACHE.COMPRESSION")
        .arg("TRAIN")
        .arg("a")
        .arg("b")
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("syntax error"), "{err}");
    let err: redis::RedisError = redis::cmd("CACHE.COMPRESSION")
        .arg("NOPE")
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("unknown subcommand"), "{err}");
}
