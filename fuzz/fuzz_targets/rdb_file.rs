//! The RDB file reader (`engine::dump::rdb_file`), which reads whatever file an operator hands
//! `--import-rdb`. Beyond "no panic, no allocation beyond what the bytes justify": reading with and
//! without the size known gives the same outcome; a file that loads stores exactly the keys it
//! counts; and any cut before the end of its checksum fails.
#![no_main]

use cachet::engine::dump::rdb_file::{self, LoadOptions};
use cachet::engine::dump::RestoreLimits;
use cachet::engine::types::{hash::HashLimits, zset::ZSetLimits};
use cachet::engine::Keyspace;
use libfuzzer_sys::fuzz_target;

fn options() -> LoadOptions {
    LoadOptions {
        limits: RestoreLimits {
            hash: HashLimits::default(),
            zset: ZSetLimits::default(),
            list_fill: -2,
            max_intset_entries: 512,
        },
        now_ms: 1_700_000_000_000,
    }
}

fuzz_target!(|data: &[u8]| {
    let sized_keyspace = Keyspace::new(1, 16);
    let sized = rdb_file::load(data, Some(data.len() as u64), &sized_keyspace, options());
    let streamed_keyspace = Keyspace::new(1, 16);
    let streamed = rdb_file::load(data, None, &streamed_keyspace, options());
    assert_eq!(sized.is_ok(), streamed.is_ok());
    if let (Ok(stats), Ok(again)) = (&sized, &streamed) {
        assert_eq!(stats, again);
        let stored: usize = (0..16).map(|db| sized_keyspace.dbsize(db)).sum();
        assert_eq!(stored as u64, stats.loaded);
        assert!(stats.bytes <= data.len() as u64);
        let cut = &data[..stats.bytes as usize - 1];
        assert!(rdb_file::load(
            cut,
            Some(cut.len() as u64),
            &Keyspace::new(1, 16),
            options()
        )
        .is_err());
    }
});
