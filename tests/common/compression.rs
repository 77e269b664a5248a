//! What the compression tests share: JSON documents that compress as real ones do, and the
//! wait for the background compressor (`compression-backlog`) to catch up.

use std::time::{Duration, Instant};

/// A JSON document of about `size` bytes as applications cache them: nested objects whose field
/// names repeat, a few numbers and words drawn from small sets (so it compresses as real ones do).
pub fn json_doc(rng: &mut fastrand::Rng, size: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliet", "kilo", "lima",
    ];
    let mut doc = format!("{{\"id\":{},\"items\":[", rng.u32(..));
    let mut first = true;
    while doc.len() + 2 < size {
        if !first {
            doc.push(',');
        }
        first = false;
        doc.push_str(&format!(
            "{{\"sku\":\"{}-{}\",\"name\":\"{} {}\",\"price\":{}.{:02},\"stock\":{{\"warehouse\":\"{}\",\"count\":{}}},\"active\":{}}}",
            WORDS[rng.usize(..WORDS.len())],
            rng.u16(..),
            WORDS[rng.usize(..WORDS.len())],
            WORDS[rng.usize(..WORDS.len())],
            rng.u16(..1000),
            rng.u8(..100),
            WORDS[rng.usize(..4)],
            rng.u16(..500),
            rng.bool(),
        ));
    }
    doc.push_str("]}");
    doc.into_bytes()
}

/// Waits until the background compressor has done with every value waiting for it (INFO's
/// `compression_backlog_keys` at 0), so what follows sees them as compressed as a write with
/// `compression-backlog 0` would have left them. Panics after a minute: it never took that long.
pub fn settle(con: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while super::common::info_u64(con, "compression", "compression_backlog_keys") > 0 {
        assert!(Instant::now() < deadline, "the backlog did not drain");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `MEMORY USAGE key`: what the key's stored bytes cost, compressed or not.
pub fn usage(con: &mut redis::Connection, key: &str) -> u64 {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .query(con)
        .unwrap()
}
