use super::super::rdb::{put_len, put_string};
use super::*;
use crate::engine::types::hash::HashLimits;
use crate::engine::types::zset::ZSetLimits;

fn options(now_ms: u64) -> LoadOptions {
    LoadOptions {
        limits: RestoreLimits {
            hash: HashLimits::default(),
            zset: ZSetLimits::default(),
            max_intset_entries: 512,
        },
        now_ms,
    }
}

/// A file as Redis 7.0 lays one out: AUX fields, a module AUX record, a function library, two
/// databases with a key that has expired, one with a TTL ahead, a Redis 7.2 stream (skipped)
/// and a module value.
fn sample_file() -> Vec<u8> {
    let mut out = b"REDIS0010".to_vec();
    out.push(OPCODE_AUX);
    put_string(&mut out, b"redis-ver");
    put_string(&mut out, b"7.0.15");
    out.push(OPCODE_MODULE_AUX);
    put_len(&mut out, 12345);
    put_len(&mut out, MODULE_OPCODE_UINT);
    put_len(&mut out, 2);
    put_len(&mut out, MODULE_OPCODE_STRING);
    put_string(&mut out, b"module state");
    put_len(&mut out, MODULE_OPCODE_DOUBLE);
    out.extend_from_slice(&1.5f64.to_le_bytes());
    put_len(&mut out, MODULE_OPCODE_EOF);
    out.push(OPCODE_FUNCTION2);
    put_string(
        &mut out,
        b"#!lua name=lib\nredis.register_function('f', function() end)",
    );
    out.push(OPCODE_SELECTDB);
    put_len(&mut out, 0);
    out.push(OPCODE_RESIZEDB);
    put_len(&mut out, 3);
    put_len(&mut out, 1);
    out.push(0);
    put_string(&mut out, b"plain");
    put_string(&mut out, b"value");
    out.push(OPCODE_EXPIRETIME_MS);
    out.extend_from_slice(&999u64.to_le_bytes());
    out.push(0);
    put_string(&mut out, b"gone");
    put_string(&mut out, b"x");
    out.push(OPCODE_EXPIRETIME);
    out.extend_from_slice(&5000u32.to_le_bytes());
    out.push(OPCODE_IDLE);
    put_len(&mut out, 10);
    out.push(0);
    put_string(&mut out, b"later");
    put_string(&mut out, b"12345");
    out.push(OPCODE_SELECTDB);
    put_len(&mut out, 3);
    out.push(OPCODE_FREQ);
    out.push(7);
    out.push(2);
    put_string(&mut out, b"set");
    put_len(&mut out, 2);
    put_string(&mut out, b"a");
    put_string(&mut out, b"b");
    out.push(TYPE_STREAM_LISTPACKS_3);
    put_string(&mut out, b"stream");
    put_len(&mut out, 1);
    put_string(&mut out, &[0; 16]);
    put_string(&mut out, b"not parsed");
    for _ in 0..8 {
        put_len(&mut out, 1);
    }
    put_len(&mut out, 1); // one group
    put_string(&mut out, b"group");
    for _ in 0..3 {
        put_len(&mut out, 0);
    }
    put_len(&mut out, 1); // one pending entry
    out.extend_from_slice(&[0; 24]);
    put_len(&mut out, 1);
    put_len(&mut out, 1); // one consumer
    put_string(&mut out, b"alice");
    out.extend_from_slice(&[0; 16]); // seen and active times
    put_len(&mut out, 1);
    out.extend_from_slice(&[0; 16]);
    out.push(TYPE_MODULE_2);
    put_string(&mut out, b"module key");
    put_len(&mut out, 99);
    put_len(&mut out, MODULE_OPCODE_SINT);
    put_len(&mut out, 5);
    put_len(&mut out, MODULE_OPCODE_EOF);
    out.push(OPCODE_EOF);
    let crc = CRC64.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn load_bytes(bytes: &[u8], keyspace: &Keyspace) -> Result<LoadStats, RdbFileError> {
    load(bytes, Some(bytes.len() as u64), keyspace, options(1000))
}

#[test]
fn every_opcode_is_read_and_skipped_values_are_counted() {
    let keyspace = Keyspace::new(2, 16);
    let file = sample_file();
    let stats = load_bytes(&file, &keyspace).unwrap();
    assert_eq!(stats.rdb_version, 10);
    assert_eq!(
        (stats.loaded, stats.expired, stats.streams, stats.modules),
        (3, 1, 1, 1)
    );
    assert_eq!((stats.module_aux, stats.functions), (1, 1));
    assert_eq!(stats.bytes, file.len() as u64);
    assert_eq!(stats.aux, [(b"redis-ver".to_vec(), b"7.0.15".to_vec())]);
    assert_eq!(keyspace.dbsize(0), 2);
    assert_eq!(keyspace.dbsize(3), 1);
    let later = keyspace.with_key(0, b"later", 1000, |view, hash| {
        view.read(hash, b"later").map(|e| e.expire_at())
    });
    assert_eq!(later, Some(5_000_000));
}

#[test]
fn a_file_without_size_loads_the_same() {
    let keyspace = Keyspace::new(2, 16);
    let file = sample_file();
    let stats = load(&file[..], None, &keyspace, options(1000)).unwrap();
    assert_eq!(stats.loaded, 3);
}

#[test]
fn every_truncation_is_an_error() {
    let file = sample_file();
    for cut in 0..file.len() {
        let keyspace = Keyspace::new(1, 16);
        // With the size known, a count larger than the bytes left is found before the reads
        // that would run out: still a short read, as Redis reports any cut.
        let sized = load_bytes(&file[..cut], &keyspace);
        assert!(
            matches!(
                sized,
                Err(RdbFileError::Truncated { .. } | RdbFileError::NotRdb)
            ),
            "cut at {cut}: {sized:?}"
        );
        let keyspace = Keyspace::new(1, 16);
        let unsized_ = load(&file[..cut], None, &keyspace, options(1000));
        assert!(
            matches!(
                unsized_,
                Err(RdbFileError::Truncated { .. } | RdbFileError::NotRdb)
            ),
            "cut at {cut}: {unsized_:?}"
        );
    }
}

#[test]
fn a_flipped_bit_is_a_checksum_or_parse_error() {
    let file = sample_file();
    let mut bad = file.clone();
    let at = bad.len() - 20;
    bad[at] ^= 0x01;
    assert!(load_bytes(&bad, &Keyspace::new(1, 16)).is_err());
    let mut bad_crc = file.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0x80;
    assert!(matches!(
        load_bytes(&bad_crc, &Keyspace::new(1, 16)),
        Err(RdbFileError::Checksum { .. })
    ));
    // A zero checksum is `rdbchecksum no`: not checked, as Redis.
    let mut no_crc = file.clone();
    let len = no_crc.len();
    no_crc[len - 8..].fill(0);
    assert!(load_bytes(&no_crc, &Keyspace::new(1, 16)).is_ok());
}

#[test]
fn wrong_signature_version_and_database() {
    let keyspace = Keyspace::new(1, 16);
    assert!(matches!(
        load_bytes(b"", &keyspace),
        Err(RdbFileError::Truncated { offset: 0 })
    ));
    assert!(matches!(
        load_bytes(b"GARBAGE!!", &keyspace),
        Err(RdbFileError::NotRdb)
    ));
    assert!(matches!(
        load_bytes(b"REDIS00x1", &keyspace),
        Err(RdbFileError::NotRdb)
    ));
    assert!(matches!(
        load_bytes(b"REDIS0012\xff", &keyspace),
        Err(RdbFileError::Version(12))
    ));
    let mut file = b"REDIS0009".to_vec();
    file.push(OPCODE_SELECTDB);
    put_len(&mut file, 16);
    assert!(matches!(
        load_bytes(&file, &keyspace),
        Err(RdbFileError::Database { db: 16, .. })
    ));
}

#[test]
fn forged_lengths_meet_the_end_of_the_input() {
    // A string claiming 4 GiB in a file of a few bytes, with and without a known size.
    let mut file = b"REDIS0011".to_vec();
    file.push(0);
    file.push(0x80);
    file.extend_from_slice(&u32::MAX.to_be_bytes());
    let keyspace = Keyspace::new(1, 16);
    assert!(matches!(
        load_bytes(&file, &keyspace),
        Err(RdbFileError::Truncated { .. })
    ));
    assert!(matches!(
        load(&file[..], None, &keyspace, options(0)),
        Err(RdbFileError::Truncated { .. })
    ));
}

#[test]
fn a_duplicate_key_is_refused() {
    let mut file = b"REDIS0010".to_vec();
    for _ in 0..2 {
        file.push(0);
        put_string(&mut file, b"k");
        put_string(&mut file, b"v");
    }
    file.push(OPCODE_EOF);
    file.extend_from_slice(&[0; 8]);
    assert!(matches!(
        load_bytes(&file, &Keyspace::new(1, 16)),
        Err(RdbFileError::DuplicateKey { db: 0, .. })
    ));
}

/// Redis 7.2 writes RDB 11, with small sets as listpacks (type 20): members come back, numbers
/// and strings alike, and the file's version is reported.
#[test]
fn a_version_11_file_with_a_listpack_set_loads() {
    let mut out = b"REDIS0011".to_vec();
    out.push(OPCODE_SELECTDB);
    put_len(&mut out, 0);
    out.push(super::super::TYPE_SET_LISTPACK);
    put_string(&mut out, b"lpset");
    let items: [&[u8]; 3] = [b"a", b"7", b"member"];
    put_string(&mut out, &crate::engine::listpack::encode(items));
    out.push(OPCODE_EOF);
    let crc = CRC64.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    let keyspace = Keyspace::new(2, 16);
    let stats = load_bytes(&out, &keyspace).unwrap();
    assert_eq!((stats.rdb_version, stats.loaded), (11, 1));
    let mut members = keyspace.with_key(0, b"lpset", 1000, |view, hash| {
        match view.read(hash, b"lpset").and_then(|e| e.collection()) {
            Some(crate::engine::types::Collection::Set(set)) => set
                .iter()
                .map(|m| m.to_bytes().to_vec())
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        }
    });
    members.sort();
    assert_eq!(members, [b"7".to_vec(), b"a".to_vec(), b"member".to_vec()]);
}
