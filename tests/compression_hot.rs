//! Hot values are kept raw (`engine::backlog`, "hot values"): a GET that finds a compressed
//! value hot stores it raw again, so later reads do not decompress it; readers see the same
//! bytes, the store is not a write (WATCH, the dirty count), and only hot keys are touched.

mod common;
#[path = "common/compression.rs"]
mod compression;

use common::{info_u64, TestServer};
use compression::{json_doc, settle, usage};

fn get(con: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("GET").arg(key).query(con).unwrap()
}

/// Reads of `key` until a read has stored it raw (the LFU counter is probabilistic: about 33
/// reads on average, far fewer than the bound), checking every read's bytes.
fn read_until_raw(con: &mut redis::Connection, key: &str, want: &[u8]) -> usize {
    let kept = info_u64(con, "compression", "compression_hot_kept_raw");
    for reads in 1..=2000 {
        assert_eq!(get(con, key), want, "read {reads}");
        if info_u64(con, "compression", "compression_hot_kept_raw") > kept {
            return reads;
        }
    }
    panic!("{key} was never kept raw");
}

#[test]
fn a_hot_value_is_stored_raw_and_reads_the_same_bytes() {
    let server =
        TestServer::start_with(|v| v.compression_level = cachet::engine::compress::Level::Fast);
    let mut con = server.client();
    let mut watcher = server.client();
    let mut rng = fastrand::Rng::with_seed(19);
    let (hot, cold) = (json_doc(&mut rng, 4096), json_doc(&mut rng, 4096));
    let () = redis::cmd("MSET")
        .arg("doc:hot")
        .arg(&hot)
        .arg("doc:cold")
        .arg(&cold)
        .query(&mut con)
        .unwrap();
    settle(&mut con);
    assert_eq!(info_u64(&mut con, "compression", "compressed_keys"), 2);
    let compressed_usage = usage(&mut con, "doc:hot");
    assert!(compressed_usage < hot.len() as u64 / 2);
    let dirty = info_u64(&mut con, "persistence", "rdb_changes_since_last_save");
    let () = redis::cmd("WATCH")
        .arg("doc:hot")
        .query(&mut watcher)
        .unwrap();

    let reads = read_until_raw(&mut con, "doc:hot", &hot);
    assert!(reads > 1, "kept raw at its first read");
    assert_eq!(get(&mut con, "doc:cold"), cold);
    let () = redis::cmd("RPUSH")
        .arg("list")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let many: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
        .arg("doc:hot")
        .arg("doc:cold")
        .arg("list")
        .arg("nosuch")
        .query(&mut con)
        .unwrap();
    assert_eq!(many, [Some(hot.clone()), Some(cold.clone()), None, None]);
    // The hot value is raw (its whole bytes counted), the cold one still compressed.
    assert_eq!(info_u64(&mut con, "compression", "compressed_keys"), 1);
    assert_eq!(
        info_u64(&mut con, "compression", "compressed_bytes_before"),
        cold.len() as u64
    );
    assert_eq!(
        info_u64(&mut con, "compression", "compression_hot_raw_keys"),
        1
    );
    assert_eq!(
        info_u64(&mut con, "compression", "compression_hot_raw_bytes"),
        hot.len() as u64
    );
    assert!(usage(&mut con, "doc:hot") > hot.len() as u64);
    // Further reads return the same bytes from the raw value (`decompressed_values` is
    // process-wide: the other tests of this binary move it).
    for _ in 0..50 {
        assert_eq!(get(&mut con, "doc:hot"), hot);
    }
    let strlen: u64 = redis::cmd("STRLEN").arg("doc:hot").query(&mut con).unwrap();
    assert_eq!(strlen, hot.len() as u64);
    assert_eq!(
        info_u64(&mut con, "compression", "compression_hot_kept_raw"),
        1
    );
    assert!(usage(&mut con, "doc:hot") > hot.len() as u64);
    // The background thread, busy with other writes, leaves the hot value raw.
    let mut others = redis::cmd("MSET");
    for i in 0..300 {
        others.arg(format!("doc:{i}")).arg(json_doc(&mut rng, 2048));
    }
    let () = others.query(&mut con).unwrap();
    settle(&mut con);
    assert_eq!(info_u64(&mut con, "compression", "compressed_keys"), 301);
    assert_eq!(
        info_u64(&mut con, "compression", "compression_hot_raw_keys"),
        1
    );
    assert_eq!(get(&mut con, "doc:hot"), hot);
    // Not a write: the dirty count did not move and a transaction watching the key runs.
    assert_eq!(
        info_u64(&mut con, "persistence", "rdb_changes_since_last_save"),
        dirty + 301
    );
    let done: Option<(String,)> = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("other")
        .arg("x")
        .query(&mut watcher)
        .unwrap();
    assert_eq!(done, Some(("OK".to_string(),)));
}

#[test]
fn an_overwritten_hot_value_is_compressed_again() {
    let server =
        TestServer::start_with(|v| v.compression_level = cachet::engine::compress::Level::Fast);
    let mut con = server.client();
    let mut rng = fastrand::Rng::with_seed(7);
    let (first, second) = (json_doc(&mut rng, 3000), json_doc(&mut rng, 3000));
    let () = redis::cmd("SET")
        .arg("doc:1")
        .arg(&first)
        .query(&mut con)
        .unwrap();
    settle(&mut con);
    read_until_raw(&mut con, "doc:1", &first);
    assert_eq!(info_u64(&mut con, "compression", "compressed_keys"), 0);
    // A SET is a write like any other: compressed in the background, its new bytes read back.
    let () = redis::cmd("SET")
        .arg("doc:1")
        .arg(&second)
        .query(&mut con)
        .unwrap();
    settle(&mut con);
    assert_eq!(info_u64(&mut con, "compression", "compressed_keys"), 1);
    // The SET kept the key's counter (as Redis under an LFU policy, cachet's default): still
    // hot, so its next read keeps it raw again, counted once.
    assert_eq!(get(&mut con, "doc:1"), second);
    assert_eq!(
        info_u64(&mut con, "compression", "compression_hot_kept_raw"),
        2
    );
    assert_eq!(info_u64(&mut con, "compression", "compressed_keys"), 0);
    assert_eq!(
        info_u64(&mut con, "compression", "compression_hot_raw_keys"),
        1
    );
    assert_eq!(
        info_u64(&mut con, "compression", "compression_hot_raw_bytes"),
        second.len() as u64
    );
}

#[test]
fn no_value_is_kept_raw_without_a_backlog() {
    let server = TestServer::start_with(|v| {
        v.compression_level = cachet::engine::compress::Level::Fast;
        v.compression_backlog = 0;
    });
    let mut con = server.client();
    let doc = json_doc(&mut fastrand::Rng::with_seed(3), 4096);
    let () = redis::cmd("SET")
        .arg("doc:1")
        .arg(&doc)
        .query(&mut con)
        .unwrap();
    for _ in 0..300 {
        assert_eq!(get(&mut con, "doc:1"), doc);
    }
    assert_eq!(
        info_u64(&mut con, "compression", "compression_hot_kept_raw"),
        0
    );
    assert_eq!(info_u64(&mut con, "compression", "compressed_keys"), 1);
}
