//! RESTORE's payload parser (`engine::dump`), which reads a client's bytes. Beyond "no panic": a
//! body that restores dumps to a payload that verifies and restores again to a value of the same
//! type, length and (for a string) bytes.
#![no_main]

use cachet::engine::dump::{self, RestoreLimits, Restored};
use cachet::engine::types::{hash::HashLimits, zset::ZSetLimits};
use cachet::engine::Entry;
use libfuzzer_sys::fuzz_target;

fn limits() -> RestoreLimits {
    RestoreLimits {
        hash: HashLimits::default(),
        zset: ZSetLimits::default(),
        list_fill: -2,
        max_intset_entries: 512,
    }
}

fn entry(restored: Restored) -> Entry {
    match restored {
        Restored::String(bytes) => Entry::new_string(b"k", &bytes, 0),
        Restored::Collection(collection) => Entry::new_collection(b"k", collection, 0),
    }
}

fn restored_again(body: &[u8]) -> Restored {
    let payload = dump::dump(&entry(dump::restore(body, limits()).expect("restores")), -2);
    dump::restore(dump::verify(&payload).expect("verifies"), limits()).expect("restores again")
}

fuzz_target!(|data: &[u8]| {
    let _ = dump::verify(data);
    if let Ok(restored) = dump::restore(data, limits()) {
        let first = dump::dump(&entry(restored), -2);
        let body = dump::verify(&first).expect("a dump verifies");
        let (once, again) = (
            entry(dump::restore(body, limits()).unwrap()),
            entry(restored_again(body)),
        );
        assert_eq!(once.type_name(), again.type_name());
        assert_eq!(
            once.string_value().as_deref(),
            again.string_value().as_deref()
        );
        assert_eq!(
            once.collection().map(|c| c.len()),
            again.collection().map(|c| c.len())
        );
    }
});
