//! The snapshot loader (`engine::snapshot`), which reads a file that may be damaged. Beyond "no
//! panic": a file that loads is written again and loads to the same keys, and the keyspace's
//! running byte count equals a recount after either load.
#![no_main]

use cachet::engine::dump::RestoreLimits;
use cachet::engine::snapshot::{Header, LoadLimits};
use cachet::engine::types::stream::NodeLimits;
use cachet::engine::types::{hash::HashLimits, zset::ZSetLimits};
use cachet::engine::Keyspace;
use libfuzzer_sys::fuzz_target;

fn limits() -> LoadLimits {
    LoadLimits {
        restore: RestoreLimits {
            hash: HashLimits::default(),
            zset: ZSetLimits::default(),
            list_fill: -2,
            max_intset_entries: 512,
        },
        stream: NodeLimits::default(),
    }
}

fn accounted(keyspace: &Keyspace) -> (usize, usize) {
    use std::sync::atomic::Ordering;
    let (bytes, keys) = keyspace.lock_all().recount();
    assert_eq!(keyspace.totals.bytes.load(Ordering::Relaxed), bytes);
    assert_eq!(keyspace.totals.keys.load(Ordering::Relaxed), keys);
    (bytes, keys)
}

fuzz_target!(|data: &[u8]| {
    let keyspace = Keyspace::new(4, 16);
    let Ok((header, _)) = keyspace.load_snapshot(&mut &data[..], limits(), |_| {}) else {
        return;
    };
    let (_, keys) = accounted(&keyspace);
    let mut file = Vec::new();
    let header = Header {
        databases: 16,
        ..header
    };
    keyspace
        .write_snapshot(&mut file, &header, true, -2, || {}, |_| {})
        .expect("written to memory");
    let again = Keyspace::new(4, 16);
    again
        .load_snapshot(&mut &file[..], limits(), |_| {})
        .expect("what was written loads");
    assert_eq!(accounted(&again).1, keys);
});
