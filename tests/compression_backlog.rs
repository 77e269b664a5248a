//! Compression off the request path (`compression-backlog`): a written value is stored raw and
//! compressed by a background thread soon after, which readers never notice; writes racing the
//! compressor never see old bytes come back; the swap is not a write (WATCH, notifications);
//! compression comes before eviction under `maxmemory`; backlog 0 compresses in the write.

mod common;
#[path = "common/compression.rs"]
mod compression;

use std::collections::HashMap;
use std::time::Duration;

use common::{info_u64, TestServer};
use compression::{json_doc, settle, usage};

fn fast() -> TestServer {
    TestServer::start_with(|v| v.compression_level = cachet::engine::compress::Level::Fast)
}

fn set(con: &mut redis::Connection, key: &str, value: &[u8]) {
    let () = redis::cmd("SET").arg(key).arg(value).query(con).unwrap();
}

fn get(con: &mut redis::Connection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("GET").arg(key).query(con).unwrap()
}

/// The whole value as GET returns it, read without the chance of GET's keeping a hot value raw
/// (`tests/compression_hot.rs`): for tests that count the compressed values after reading.
fn read_whole(con: &mut redis::Connection, key: &str) -> Option<Vec<u8>> {
    let exists: bool = redis::cmd("EXISTS").arg(key).query(con).unwrap();
    exists.then(|| {
        redis::cmd("GETRANGE")
            .arg(key)
            .arg(0)
            .arg(-1)
            .query(con)
            .unwrap()
    })
}

/// What readers see of a string: GET, STRLEN and two GETRANGEs.
fn reads(con: &mut redis::Connection, key: &str) -> (Vec<u8>, u64, Vec<u8>, Vec<u8>) {
    redis::pipe()
        .cmd("GET")
        .arg(key)
        .cmd("STRLEN")
        .arg(key)
        .cmd("GETRANGE")
        .arg(key)
        .arg(100)
        .arg(160)
        .cmd("GETRANGE")
        .arg(key)
        .arg(-30)
        .arg(-1)
        .query(con)
        .unwrap()
}

#[test]
fn a_value_written_raw_is_compressed_in_the_background() {
    let server = fast();
    let mut con = server.client();
    let mut rng = fastrand::Rng::with_seed(19);
    let docs: Vec<Vec<u8>> = (0..20).map(|_| json_doc(&mut rng, 4096)).collect();
    for (i, doc) in docs.iter().enumerate() {
        set(&mut con, &format!("doc:{i}"), doc);
    }
    let before: Vec<_> = (0..docs.len())
        .map(|i| reads(&mut con, &format!("doc:{i}")))
        .collect();
    settle(&mut con);
    // Every value was written raw and compressed by the background thread, not by its SET.
    assert_eq!(
        info_u64(&mut con, "compression", "compression_backlog_compressed"),
        20
    );
    assert_eq!(info_u64(&mut con, "compression", "compressed_keys"), 20);
    assert_eq!(
        info_u64(&mut con, "compression", "compression_backlog_bytes"),
        0
    );
    let original = info_u64(&mut con, "compression", "compressed_bytes_before");
    assert_eq!(original, docs.iter().map(|d| d.len() as u64).sum::<u64>());
    for (i, doc) in docs.iter().enumerate() {
        let key = format!("doc:{i}");
        assert!(usage(&mut con, &key) < doc.len() as u64 / 2, "{key}");
        let after = reads(&mut con, &key);
        assert_eq!(after, before[i], "{key}");
        assert_eq!(
            after,
            (
                doc.clone(),
                doc.len() as u64,
                doc[100..161].to_vec(),
                doc[doc.len() - 30..].to_vec()
            )
        );
    }
}

/// `compression-backlog 0` compresses in the write, as before the backlog existed; so does
/// `CACHE.SET ... COMPRESS` whatever the backlog.
#[test]
fn backlog_zero_and_explicit_levels_compress_in_the_write() {
    let server = fast();
    let mut con = server.client();
    let doc = json_doc(&mut fastrand::Rng::with_seed(3), 4096);
    let () = redis::cmd("CACHE.SET")
        .arg("explicit")
        .arg(&doc[..])
        .arg("COMPRESS")
        .arg("fast")
        .query(&mut con)
        .unwrap();
    // No wait: the reply came after the compression.
    assert!(usage(&mut con, "explicit") < doc.len() as u64 / 2);
    common::config_set(&mut con, "compression-backlog", "0");
    for i in 0..10 {
        set(&mut con, &format!("now:{i}"), &doc);
        assert!(usage(&mut con, &format!("now:{i}")) < doc.len() as u64 / 2);
    }
    let () = redis::cmd("MSET")
        .arg("m1")
        .arg(&doc[..])
        .arg("m2")
        .arg(&doc[..])
        .query(&mut con)
        .unwrap();
    assert!(usage(&mut con, "m2") < doc.len() as u64 / 2);
    assert_eq!(info_u64(&mut con, "compression", "compressed_keys"), 13);
    assert_eq!(
        info_u64(&mut con, "compression", "compression_backlog_compressed"),
        0
    );
    assert_eq!(get(&mut con, "m1"), Some(doc));
}

#[test]
fn compression_backlog_is_a_directive() {
    let server = fast();
    let mut con = server.client();
    let get_it = |con: &mut redis::Connection| -> Vec<String> {
        redis::cmd("CONFIG")
            .arg("GET")
            .arg("compression-backlog")
            .query(con)
            .unwrap()
    };
    assert_eq!(get_it(&mut con), ["compression-backlog", "67108864"]);
    common::config_set(&mut con, "compression-backlog", "1mb");
    assert_eq!(get_it(&mut con), ["compression-backlog", "1048576"]);
    assert_eq!(
        info_u64(&mut con, "compression", "compression_backlog"),
        1 << 20
    );
    for bad in ["-1", "lots"] {
        let err = redis::cmd("CONFIG")
            .arg("SET")
            .arg("compression-backlog")
            .arg(bad)
            .query::<()>(&mut con)
            .unwrap_err();
        assert!(err.to_string().contains("CONFIG SET failed"), "{err}");
    }
    assert_eq!(get_it(&mut con), ["compression-backlog", "1048576"]);
}

/// Many keys written and, while the compressor works through them, overwritten, appended to,
/// edited, deleted, renamed and flushed: every read, during and after, is what the last write
/// left, and the compression figures end equal to what is held.
#[test]
fn writes_racing_the_compressor_never_bring_old_bytes_back() {
    let server = fast();
    let mut con = server.client();
    let mut rng = fastrand::Rng::with_seed(7);
    let docs: Vec<Vec<u8>> = (0..8).map(|i| json_doc(&mut rng, 1500 + 500 * i)).collect();
    let mut model: HashMap<String, Vec<u8>> = HashMap::new();
    let keys: Vec<String> = (0..300).map(|i| format!("race:{i}")).collect();
    for round in 0..12 {
        let mut pipe = redis::pipe();
        for key in &keys {
            let doc = &docs[rng.usize(..docs.len())];
            pipe.cmd("SET").arg(key).arg(&doc[..]).ignore();
            model.insert(key.clone(), doc.clone());
        }
        // The same keys again at once, some while the compressor holds their copies.
        for key in &keys {
            match rng.u8(..6) {
                0 => {
                    let doc = &docs[rng.usize(..docs.len())];
                    pipe.cmd("SET").arg(key).arg(&doc[..]).ignore();
                    model.insert(key.clone(), doc.clone());
                }
                1 => {
                    pipe.cmd("APPEND").arg(key).arg("!").ignore();
                    model.get_mut(key).unwrap().push(b'!');
                }
                2 => {
                    pipe.cmd("SETRANGE").arg(key).arg(10).arg("zz").ignore();
                    model.get_mut(key).unwrap()[10..12].copy_from_slice(b"zz");
                }
                3 => {
                    pipe.cmd("DEL").arg(key).ignore();
                    model.remove(key);
                }
                4 => {
                    let to = format!("{key}:moved");
                    pipe.cmd("RENAME").arg(key).arg(&to).ignore();
                    let value = model.remove(key).unwrap();
                    model.insert(to, value);
                }
                _ => {}
            }
        }
        pipe.query::<()>(&mut con).unwrap();
        for key in keys.iter().step_by(7) {
            assert_eq!(read_whole(&mut con, key), model.get(key).cloned(), "{key}");
        }
        if round == 5 {
            let () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
            model.clear();
        }
    }
    settle(&mut con);
    let mut held = (0, 0);
    for (key, value) in &model {
        assert_eq!(read_whole(&mut con, key).as_ref(), Some(value), "{key}");
        if !value.ends_with(b"!") && &value[10..12] != b"zz" {
            held = (held.0 + 1, held.1 + value.len() as u64);
        }
    }
    let dbsize: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(dbsize, model.len());
    // Whole writes end compressed; edited values are raw, as edits leave them.
    assert_eq!(info_u64(&mut con, "compression", "compressed_keys"), held.0);
    assert_eq!(
        info_u64(&mut con, "compression", "compressed_bytes_before"),
        held.1
    );
}

/// The swap is not a write: a WATCH on the key stays clean, and neither keyspace notifications
/// nor client tracking hear of it.
#[test]
fn the_swap_is_not_a_write() {
    let server = fast();
    let mut con = server.client();
    common::config_set(&mut con, "notify-keyspace-events", "KEA");
    let mut sub_con = server.client();
    let mut pubsub = sub_con.as_pubsub();
    pubsub.psubscribe("__keyevent@0__:*").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let doc = json_doc(&mut fastrand::Rng::with_seed(11), 8000);
    // Keep writing a fresh key until one is watched while still raw (the compressor is quick,
    // so the WATCH may come after it): then its swap happens inside the transaction's watch.
    let mut watched = None;
    for i in 0..200 {
        let key = format!("w:{i}");
        let mut pipe = redis::pipe();
        for filler in 0..20 {
            pipe.cmd("SET")
                .arg(format!("filler:{i}:{filler}"))
                .arg(&doc[..])
                .ignore();
        }
        pipe.cmd("SET").arg(&key).arg(&doc[..]).ignore();
        pipe.cmd("WATCH").arg(&key).ignore();
        pipe.query::<()>(&mut con).unwrap();
        if usage(&mut con, &key) > doc.len() as u64 {
            watched = Some(key);
            break;
        }
        let () = redis::cmd("UNWATCH").query(&mut con).unwrap();
    }
    let key = watched.expect("a key watched before its compression");
    settle(&mut con);
    assert!(usage(&mut con, &key) < doc.len() as u64 / 2);
    let () = redis::cmd("MULTI").query(&mut con).unwrap();
    let () = redis::cmd("SET")
        .arg("after")
        .arg("1")
        .query(&mut con)
        .unwrap();
    let done: Option<Vec<String>> = redis::cmd("EXEC").query(&mut con).unwrap();
    assert_eq!(done, Some(vec!["OK".to_string()]));
    // Every event heard is a SET's, the watched key's once; the marker set last is the last.
    let () = redis::cmd("SET")
        .arg("marker")
        .arg("1")
        .query(&mut con)
        .unwrap();
    let mut heard = 0;
    loop {
        let msg = pubsub.get_message().unwrap();
        let (channel, payload): (String, String) =
            (msg.get_channel_name().into(), msg.get_payload().unwrap());
        assert_eq!(channel, "__keyevent@0__:set", "{payload}");
        heard += usize::from(payload == key);
        if payload == "marker" {
            break;
        }
    }
    assert_eq!(heard, 1);
}

/// A client tracking a key it read while raw is not told of its compression.
#[test]
fn tracking_does_not_hear_of_the_swap() {
    let server = fast();
    let mut con = server.client();
    let mut raw = server.raw();
    assert_eq!(common::call(&mut raw, &["HELLO", "3"])[0], b'%');
    common::call(&mut raw, &["CLIENT", "TRACKING", "on"]);
    let doc = json_doc(&mut fastrand::Rng::with_seed(5), 6000);
    set(&mut con, "tracked", &doc);
    assert_eq!(
        common::call(&mut raw, &["GET", "tracked"]),
        common::bulk(&doc)
    );
    settle(&mut con);
    assert!(usage(&mut con, "tracked") < doc.len() as u64 / 2);
    // The next thing the tracking client reads is its own reply, not an invalidation.
    assert_eq!(common::call(&mut raw, &["PING"]), b"+PONG\r\n");
    set(&mut con, "tracked", b"changed");
    let push = raw.read_reply();
    assert!(push.starts_with(b">2\r\n$10\r\ninvalidate\r\n"), "{push:?}");
}

/// Under `maxmemory`, values waiting for the compressor are compressed before any key is
/// evicted: documents whose raw bytes exceed the limit all stay when compressed they fit.
#[test]
fn values_are_compressed_before_keys_are_evicted() {
    let server = fast();
    let mut con = server.client();
    let used = info_u64(&mut con, "memory", "used_memory");
    let mut rng = fastrand::Rng::with_seed(23);
    let docs: Vec<Vec<u8>> = (0..1500).map(|_| json_doc(&mut rng, 6000)).collect();
    // 4 MB of room: about 650 raw documents, all 1500 compressed. The backlog alone could hold
    // 10 MB raw: only the compression before eviction keeps the limit.
    common::config_set(&mut con, "maxmemory", &(used + 4_000_000).to_string());
    common::config_set(&mut con, "maxmemory-policy", "allkeys-lru");
    for chunk in docs.chunks(100).enumerate() {
        let mut pipe = redis::pipe();
        for (i, doc) in chunk.1.iter().enumerate() {
            pipe.cmd("SET")
                .arg(format!("doc:{}", chunk.0 * 100 + i))
                .arg(&doc[..])
                .ignore();
        }
        pipe.query::<()>(&mut con).unwrap();
        assert!(info_u64(&mut con, "memory", "used_memory") <= used + 4_000_000 + 64_000);
    }
    settle(&mut con);
    let keys: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(keys, 1500);
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 0);
    for i in (0..1500).step_by(97) {
        assert_eq!(get(&mut con, &format!("doc:{i}")).as_ref(), Some(&docs[i]));
    }
}
