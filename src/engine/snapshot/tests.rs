use super::*;
use crate::engine::dump::RestoreLimits;
use crate::engine::entry::{Entry, Priority};
use crate::engine::labels::LabelKind;
use crate::engine::types::hash::HashLimits;
use crate::engine::types::stream::NodeLimits;
use crate::engine::types::zset::ZSetLimits;
use crate::engine::types::Collection;
use crate::engine::types::{HashValue, ZSetValue};
use crate::engine::Keyspace;
use crate::engine::{now_ms, CacheMeta};

fn limits() -> LoadLimits {
    LoadLimits {
        restore: RestoreLimits {
            hash: HashLimits::default(),
            zset: ZSetLimits::default(),
            max_intset_entries: 512,
        },
        stream: NodeLimits::default(),
        key_load_delay: 0,
    }
}

fn header() -> Header {
    Header {
        created_at_ms: 1,
        node_id: "n1".into(),
        cachet_version: "test".into(),
        databases: 2,
        coherence_positions: vec![(ByteBuf::from(b"peer".to_vec()), 7, 42)],
        dictionaries: Vec::new(),
    }
}

fn put(keyspace: &Keyspace, db: usize, entry: Entry) {
    let key = entry.key().to_vec();
    keyspace.with_key(db, &key, now_ms(), |view, hash| view.insert(hash, entry));
}

fn sample() -> Keyspace {
    let keyspace = Keyspace::new(4, 2);
    let now = now_ms();
    put(&keyspace, 0, Entry::new_string(b"s", b"hello", 0));
    put(&keyspace, 0, Entry::new_string(b"i", b"42", 0));
    put(&keyspace, 1, Entry::new_raw_string(b"raw", b"7", 0));
    let mut tagged = Entry::new_string(b"t", b"v", 0);
    tagged.set_meta(CacheMeta {
        priority: Priority::High,
        cost: 9,
        tags: Some(vec![crate::engine::Name::new(b"user:1")].into_boxed_slice()),
    });
    tagged.set_expire_at(now + 100_000);
    put(&keyspace, 0, tagged);
    keyspace.with_key(0, b"t", now, |view, hash| {
        view.set_labels(
            hash,
            b"t",
            LabelKind::Parent,
            vec![b"s".to_vec().into()].into(),
        )
    });
    let mut hash = HashValue::new();
    hash.set(b"f1", b"v1", HashLimits::default());
    hash.set(b"f2", b"v2", HashLimits::default());
    hash.set_field_expire_at(b"f2", now + 50_000);
    put(
        &keyspace,
        0,
        Entry::new_collection(b"h", Collection::Hash(hash), 0),
    );
    let mut zset = ZSetValue::new();
    zset.insert(b"a", 1.5, ZSetLimits::default());
    put(
        &keyspace,
        0,
        Entry::new_collection(b"z", Collection::ZSet(Box::new(zset)), 0),
    );
    let mut gone = Entry::new_string(b"gone", b"x", 0);
    gone.set_expire_at(now.saturating_sub(1));
    put(&keyspace, 0, gone);
    keyspace
}

fn snapshot(keyspace: &Keyspace) -> Vec<u8> {
    let mut file = Vec::new();
    keyspace
        .write_snapshot(
            &mut file,
            &header(),
            SectionFormat {
                compress: true,
                list_fill: -2,
            },
            || {},
            |_| {},
            || true,
        )
        .expect("written");
    file
}

fn dump_all(keyspace: &Keyspace) -> Vec<(usize, Vec<u8>, String)> {
    let mut all = Vec::new();
    keyspace.for_each_shard(|_, shard| {
        for db in 0..shard.dbs.len() {
            if let Some(table) = shard.dbs.get(db) {
                for entry in table.map.iter() {
                    let sketch = shard.sketch.estimate(crate::engine::hash_key(entry.key()));
                    let record = record_of(entry, sketch.min(255) as u8, now_ms(), -2);
                    // A hash table's order is its insertion history's, which a reload does not
                    // keep (nor does Redis's): its fields are compared as a set.
                    let value = match entry.hash() {
                        Some(hash) => {
                            let mut pairs: Vec<(Vec<u8>, Vec<u8>, Option<u64>)> = hash
                                .iter()
                                .map(|(f, v)| (f.to_vec(), v.to_vec(), hash.field_expire_at(f)))
                                .collect();
                            pairs.sort();
                            format!("hash {pairs:?}")
                        }
                        None => match entry.set() {
                            Some(set) => {
                                let mut members: Vec<Vec<u8>> =
                                    set.iter().map(|m| m.to_vec()).collect();
                                members.sort();
                                format!("set {} {members:?}", set.encoding())
                            }
                            None => format!("{:?}", record.value),
                        },
                    };
                    let summary = format!(
                        "{} {} {} {} {:?} {:?}",
                        value,
                        record.expire_at,
                        record.priority,
                        record.cost,
                        record.tags,
                        record.parents
                    );
                    all.push((db, entry.key().to_vec(), summary));
                }
            }
        }
    });
    all.sort();
    all
}

#[test]
fn a_keyspace_round_trips_with_its_metadata_and_accounting() {
    let keyspace = sample();
    let file = snapshot(&keyspace);
    let loaded = Keyspace::new(8, 2);
    let (read, totals) = loaded
        .load_snapshot(&mut &file[..], limits(), None, |_| {})
        .expect("loaded");
    assert_eq!(read, header());
    assert_eq!(totals.keys, 6, "the expired key is not saved");
    let mut before = dump_all(&keyspace);
    before.retain(|(_, key, _)| key != b"gone");
    assert_eq!(dump_all(&loaded), before);
    let (bytes, keys) = loaded.lock_all().recount();
    assert_eq!(keys, 6);
    assert_eq!(
        loaded
            .totals
            .bytes
            .load(std::sync::atomic::Ordering::Relaxed),
        bytes
    );
    // The label index is rebuilt: one tag, one parent, with their keys.
    let indexed = |keyspace: &Keyspace| {
        let labels = &keyspace.notices.labels;
        let (mut tags, mut parents) = (0, 0);
        labels.for_each(LabelKind::Tag, 0, |l| tags += l.len());
        labels.for_each(LabelKind::Parent, 0, |l| parents += l.len());
        (
            labels.count(LabelKind::Tag),
            labels.count(LabelKind::Parent),
            tags,
            parents,
        )
    };
    assert!(matches!(indexed(&loaded), (1, 1, 1.., 1..)));
    assert_eq!(indexed(&loaded), indexed(&keyspace));
}

/// `rdbcompression no`: sections stored plain (codec 0), loaded back the same.
#[test]
fn an_uncompressed_snapshot_loads_the_same() {
    let keyspace = sample();
    let mut plain = Vec::new();
    keyspace
        .write_snapshot(
            &mut plain,
            &header(),
            SectionFormat {
                compress: false,
                list_fill: -2,
            },
            || {},
            |_| {},
            || true,
        )
        .expect("written");
    let codec_of_first_section = |file: &[u8]| {
        let header_len = u32::from_le_bytes(file[10..14].try_into().unwrap()) as usize;
        let section = 14 + header_len + 4;
        assert_eq!(file[section], SECTION);
        file[section + 9]
    };
    assert_eq!(codec_of_first_section(&plain), CODEC_NONE);
    assert_eq!(codec_of_first_section(&snapshot(&keyspace)), CODEC_ZSTD);
    let loaded = Keyspace::new(8, 2);
    let (_, totals) = loaded
        .load_snapshot(&mut &plain[..], limits(), None, |_| {})
        .expect("loaded");
    assert_eq!(totals.keys, 6);
    let mut before = dump_all(&keyspace);
    before.retain(|(_, key, _)| key != b"gone");
    assert_eq!(dump_all(&loaded), before);
}

#[test]
fn damaged_files_are_refused_with_what_is_wrong() {
    let file = snapshot(&sample());
    let load = |bytes: &[u8]| {
        Keyspace::new(4, 2)
            .load_snapshot(&mut &bytes[..], limits(), None, |_| {})
            .map(|_| ())
    };
    assert_eq!(load(&[]), Err(SnapshotError::Empty));
    assert_eq!(load(b"REDIS0010"), Err(SnapshotError::BadMagic));
    let mut future = file.clone();
    future[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(
        load(&future),
        Err(SnapshotError::FutureVersion(FORMAT_VERSION + 1))
    );
    for cut in [9, 20, file.len() / 2, file.len() - 1] {
        assert!(load(&file[..cut]).is_err(), "cut at {cut} loaded");
    }
    assert_eq!(
        load(&file[..file.len() - 13]),
        Err(SnapshotError::Truncated)
    );
    let mut flipped = file.clone();
    let last_section_byte = file.len() - 14;
    flipped[last_section_byte] ^= 0x40;
    assert!(matches!(
        load(&flipped),
        Err(SnapshotError::SectionChecksum { .. })
    ));
}

#[test]
fn a_stream_with_groups_round_trips() {
    use crate::engine::types::stream::{NewId, StreamId, StreamValue};
    let mut stream = StreamValue::new();
    for i in 1..=5u64 {
        stream
            .append(
                NewId::Exact(StreamId::new(i, 0)),
                &[b"f", format!("{i}").as_bytes()],
                NodeLimits::default(),
            )
            .unwrap();
    }
    stream.delete_entries(&[StreamId::new(2, 0)]);
    stream.create_group(b"g", StreamId::new(3, 0), 3);
    stream.with_group(b"g", |g, _| {
        let c = g.create_consumer(b"alice", 77).unwrap();
        g.deliver(StreamId::new(1, 0), &c, 100);
        g.deliver(StreamId::new(3, 0), &c, 200);
    });
    let record = StreamRecord::of(&stream);
    let back = record.rebuild(NodeLimits::default()).unwrap();
    assert_eq!(StreamRecord::of(&back), record);
    assert_eq!(back.len(), 4);
    assert_eq!(back.max_deleted, StreamId::new(2, 0));
}

mod model {
    use super::*;
    use crate::engine::types::{ListValue, SetValue};
    use proptest::prelude::*;

    /// One key: (db, name, kind, elements, ttl in s (0: none), priority, cost, tags).
    type Spec = (usize, u8, u8, Vec<Vec<u8>>, u32, u8, u32, Vec<u8>);

    fn spec() -> impl Strategy<Value = Spec> {
        (
            0usize..2,
            any::<u8>(),
            0u8..6,
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 1..40),
            prop_oneof![Just(0u32), 1u32..100_000],
            0u8..4,
            any::<u32>(),
            prop::collection::vec(0u8..4, 0..3),
        )
    }

    fn entry_of(spec: &Spec, now: u64) -> Entry {
        let (_, name, kind, elements, ttl, priority, cost, tags) = spec;
        let key = [b'k', *name];
        let mut entry = match kind {
            0 => Entry::new_string(&key, &elements[0], 0),
            1 => Entry::new_raw_string(&key, &elements[0], 0),
            2 => {
                let mut list = ListValue::new();
                for e in elements {
                    list.push_back(e);
                }
                Entry::new_collection(&key, Collection::List(Box::new(list)), 0)
            }
            3 => {
                let mut set = SetValue::default();
                for e in elements {
                    set.add(e, 512);
                }
                Entry::new_collection(&key, Collection::Set(Box::new(set)), 0)
            }
            4 => {
                let mut zset = ZSetValue::new();
                for (i, e) in elements.iter().enumerate() {
                    zset.insert(e, i as f64 - 3.5, ZSetLimits::default());
                }
                Entry::new_collection(&key, Collection::ZSet(Box::new(zset)), 0)
            }
            _ => {
                let mut hash = HashValue::new();
                for e in elements {
                    hash.set(e, e, HashLimits::default());
                }
                if *ttl % 2 == 1 {
                    hash.set_field_expire_at(&elements[0], now + *ttl as u64 * 1000);
                }
                Entry::new_collection(&key, Collection::Hash(hash), 0)
            }
        };
        let tags: Vec<crate::engine::Name> = tags.iter().map(|t| vec![b't', *t].into()).collect();
        entry.set_meta(CacheMeta {
            priority: Priority::ALL[*priority as usize],
            cost: *cost,
            tags: (!tags.is_empty()).then(|| tags.into_boxed_slice()),
        });
        if *ttl != 0 {
            entry.set_expire_at(now + *ttl as u64 * 1000);
        }
        entry
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_keyspace_loads_back_equal(specs in prop::collection::vec(spec(), 0..40)) {
            let now = now_ms();
            let keyspace = Keyspace::new(4, 2);
            for spec in &specs {
                put(&keyspace, spec.0, entry_of(spec, now));
            }
            let file = snapshot(&keyspace);
            let expected = records_per_db(&mut std::io::Cursor::new(&file), 2).unwrap();
            prop_assert_eq!(expected.iter().sum::<u64>(), dump_all(&keyspace).len() as u64);
            // Tables sized up front for the file's keys, as at start.
            let loaded = Keyspace::new(2, 2);
            let (_, totals) = loaded
                .load_snapshot(&mut &file[..], limits(), Some(&expected), |_| {})
                .unwrap();
            prop_assert_eq!(dump_all(&loaded), dump_all(&keyspace));
            let (bytes, keys) = loaded.lock_all().recount();
            prop_assert_eq!(keys as u64, totals.keys);
            prop_assert_eq!(
                loaded.totals.bytes.load(std::sync::atomic::Ordering::Relaxed),
                bytes
            );
        }
    }
}

/// As Redis's loader ("Duplicated key found in RDB file"), a file holding a key twice in one
/// database is damaged: refused when loaded at start (into an empty keyspace). Loaded into a
/// keyspace that had keys, a key found is replaced, the last copy kept.
#[test]
fn a_file_holding_a_key_twice_is_refused() {
    let now = now_ms();
    let first = Entry::new_string(b"k", b"first", 0);
    let second = Entry::new_string(b"k", b"second", 0);
    let records = vec![
        record_of(&first, 0, now, -2),
        record_of(&second, 0, now, -2),
    ];
    let raw = rmp_serde::to_vec(&records).unwrap();
    let mut file = Vec::new();
    write_header(&mut file, &header()).unwrap();
    let section = EncodedSection {
        db: 1,
        records: 2,
        raw,
    };
    write_section(&mut file, &section, true).unwrap();
    write_end(&mut file, 2).unwrap();
    let expected = records_per_db(&mut std::io::Cursor::new(&file), 2).unwrap();
    assert_eq!(expected, vec![0, 2]);
    let load = |keyspace: &Keyspace| {
        keyspace
            .load_snapshot(&mut &file[..], limits(), Some(&expected), |_| {})
            .map(|(_, totals)| totals.keys)
    };
    assert_eq!(
        load(&Keyspace::new(4, 2)),
        Err(SnapshotError::Corrupt(
            "duplicated key \"k\" in db 1".into()
        ))
    );
    let keyspace = Keyspace::new(4, 2);
    put(&keyspace, 0, Entry::new_string(b"other", b"v", 0));
    assert_eq!(load(&keyspace), Ok(2));
    let value = keyspace.with_key(1, b"k", now, |view, hash| {
        view.peek(hash, b"k")
            .map(|e| e.string_value().unwrap().to_vec())
    });
    assert_eq!(value.as_deref(), Some(&b"second"[..]));
    let (bytes, keys) = keyspace.lock_all().recount();
    assert_eq!(keys, 2);
    assert_eq!(
        keyspace
            .totals
            .bytes
            .load(std::sync::atomic::Ordering::Relaxed),
        bytes
    );
}

#[test]
fn a_run_marker_round_trips_and_a_damaged_one_is_refused() {
    let marker = RunMarker {
        node_id: "n".repeat(40),
        snapshot_created_at_ms: 1_700_000_000_000,
        run: 42,
        last_seq: 7,
        backlog: vec![
            (6, ByteBuf::from(b"six".to_vec())),
            (7, ByteBuf::from(b"seven".to_vec())),
        ],
    };
    let bytes = marker.encode();
    assert_eq!(RunMarker::decode(&bytes), Ok(marker));
    assert_eq!(RunMarker::decode(&[]), Err(SnapshotError::BadMagic));
    assert_eq!(
        RunMarker::decode(&bytes[..9]),
        Err(SnapshotError::Truncated)
    );
    assert_eq!(
        RunMarker::decode(&bytes[..12]),
        Err(SnapshotError::Truncated)
    );
    assert_eq!(
        RunMarker::decode(&bytes[..16]),
        Err(SnapshotError::HeaderChecksum)
    );
    let mut flipped = bytes.clone();
    flipped[15] ^= 1;
    assert_eq!(
        RunMarker::decode(&flipped),
        Err(SnapshotError::HeaderChecksum)
    );
    let mut future = bytes;
    future[8] = 0xFF;
    assert!(matches!(
        RunMarker::decode(&future),
        Err(SnapshotError::FutureVersion(_))
    ));
}

/// Every live key of database `db` as (key → value and expiry), read under the locks.
fn live_keys(keyspace: &Keyspace, db: usize) -> std::collections::BTreeMap<Vec<u8>, String> {
    let mut keys = std::collections::BTreeMap::new();
    let now = now_ms();
    keyspace.for_each_shard(|_, shard| {
        if let Some(table) = shard.dbs.get(db) {
            let labels = &keyspace.notices.labels;
            for entry in table.map.iter().filter(|e| labels.is_live(db, e, now)) {
                let record = record_of(entry, 0, now, -2);
                let summary = format!("{:?} {}", record.value, record.expire_at);
                keys.insert(entry.key().to_vec(), summary);
            }
        }
    });
    keys
}

/// A shard copy's keys of database `db` in the same form; a key copied twice fails the test.
fn copied_keys(copy: &ShardCopy, db: usize) -> std::collections::BTreeMap<Vec<u8>, String> {
    let mut keys = std::collections::BTreeMap::new();
    for copied in copy.dbs.iter().filter(|c| c.db as usize == db) {
        for entry in &copied.entries {
            let record = record_of(entry, 0, now_ms(), -2);
            let summary = format!("{:?} {}", record.value, record.expire_at);
            let twice = keys.insert(entry.key().to_vec(), summary);
            assert!(twice.is_none(), "{:?} copied twice", entry.key());
        }
    }
    keys
}

/// One shard, two databases, `n` strings `k<i>` = `v<i>` in database 0.
fn strings(n: usize) -> Keyspace {
    let keyspace = Keyspace::new(1, 2);
    for i in 0..n {
        let key = format!("k{i}");
        put(&keyspace, 0, Entry::new_string(key.as_bytes(), b"v", 0));
    }
    keyspace
}

fn no_save_log_left(keyspace: &Keyspace) -> bool {
    let shard = keyspace.lock_shard(0);
    (0..shard.dbs.len()).all(|db| shard.dbs.get(db).is_some_and(|t| t.save_log.is_none()))
}

#[test]
fn a_copy_in_pieces_is_the_table_as_its_last_piece_found_it() {
    let keyspace = strings(2000);
    let mut step = 0;
    let mut phases = CopyPhases::default();
    let now = now_ms();
    let copy = keyspace.copy_shard(0, 64, &mut phases, || {
        step += 1;
        // Between pieces: overwrites, deletions, new keys, an in-place change, an expiry set and
        // one that has passed, each on keys whose bucket was copied already or not yet.
        let i = step * 7 % 2000;
        put(
            &keyspace,
            0,
            Entry::new_string(format!("k{i}").as_bytes(), b"new", 0),
        );
        let gone = format!("k{}", (i + 1000) % 2000);
        keyspace.with_key(0, gone.as_bytes(), now, |view, hash| {
            view.remove(hash, gone.as_bytes())
        });
        put(
            &keyspace,
            0,
            Entry::new_string(format!("n{step}").as_bytes(), b"x", 0),
        );
        let changed = format!("k{}", (i + 500) % 2000);
        keyspace.with_key(0, changed.as_bytes(), now, |view, hash| {
            view.modify(hash, changed.as_bytes(), |e| e.set_expire_at(now + 60_000))
        });
        let expired = format!("k{}", (i + 1500) % 2000);
        keyspace.with_key(0, expired.as_bytes(), now, |view, hash| {
            view.modify(hash, expired.as_bytes(), |e| e.set_expire_at(1))
        });
    });
    assert!(step > 10, "the copy took {step} pieces");
    assert!(
        phases.holds > step,
        "{} holds for {step} pieces",
        phases.holds
    );
    assert_eq!(phases.restarts, 0, "no resize: nothing copied again");
    assert_eq!(copied_keys(&copy, 0), live_keys(&keyspace, 0));
    assert!(no_save_log_left(&keyspace));
}

#[test]
fn a_table_resized_during_its_copy_is_copied_again_whole() {
    let keyspace = strings(1000);
    let mut step = 0;
    let mut phases = CopyPhases::default();
    let copy = keyspace.copy_shard(0, 64, &mut phases, || {
        step += 1;
        if step == 3 {
            // Enough new keys to grow the table: every entry moves to another bucket.
            for i in 0..2000 {
                put(
                    &keyspace,
                    0,
                    Entry::new_string(format!("g{i}").as_bytes(), b"y", 0),
                );
            }
        }
    });
    assert_eq!(phases.restarts, 1);
    let copied = copied_keys(&copy, 0);
    assert_eq!(copied.len(), 3000);
    assert_eq!(copied, live_keys(&keyspace, 0));
    assert!(no_save_log_left(&keyspace));
}

#[test]
fn flushdb_or_swapdb_during_a_copy_leaves_the_tables_as_they_became() {
    // FLUSHDB: the table is replaced by an empty one, which gets one key.
    let keyspace = strings(1000);
    let mut step = 0;
    let mut phases = CopyPhases::default();
    let copy = keyspace.copy_shard(0, 64, &mut phases, || {
        step += 1;
        if step == 2 {
            let now = now_ms();
            keyspace.with_key(0, b"x", now, |view, _| view.take_all());
            put(&keyspace, 0, Entry::new_string(b"after", b"flush", 0));
        }
    });
    assert_eq!(copied_keys(&copy, 0).keys().collect::<Vec<_>>(), [b"after"]);
    assert!(no_save_log_left(&keyspace));

    // SWAPDB 0 1: the log goes with the table to database 1, where no copy reads it.
    let keyspace = strings(1000);
    put(&keyspace, 1, Entry::new_string(b"one", b"1", 0));
    let mut step = 0;
    let copy = keyspace.copy_shard(0, 64, &mut phases, || {
        step += 1;
        if step == 2 {
            keyspace.lock_shard(0).dbs.swap(0, 1);
        }
    });
    assert_eq!(copied_keys(&copy, 0), live_keys(&keyspace, 0));
    assert_eq!(copied_keys(&copy, 1), live_keys(&keyspace, 1));
    assert_eq!(copied_keys(&copy, 1).len(), 1000);
    assert!(no_save_log_left(&keyspace));
}

#[test]
fn keys_invalidated_by_tag_during_a_copy_are_left_out() {
    let keyspace = Keyspace::new(1, 1);
    for i in 0..1000 {
        let mut entry = Entry::new_string(format!("t{i}").as_bytes(), b"v", 0);
        entry.set_meta(CacheMeta {
            priority: Priority::Normal,
            cost: 1,
            tags: Some(vec![crate::engine::Name::new(b"tag")].into_boxed_slice()),
        });
        put(&keyspace, 0, entry);
        put(
            &keyspace,
            0,
            Entry::new_string(format!("u{i}").as_bytes(), b"v", 0),
        );
    }
    let mut step = 0;
    let mut phases = CopyPhases::default();
    let copy = keyspace.copy_shard(0, 64, &mut phases, || {
        step += 1;
        if step == 5 {
            // Stale at once, deleted later by the sweeper: no write reaches the table's keys.
            assert_eq!(
                keyspace.invalidate_labels(0, LabelKind::Tag, &[b"tag"]),
                1000
            );
        }
    });
    assert!(step > 5);
    let copied = copied_keys(&copy, 0);
    assert_eq!(copied.len(), 1000);
    assert!(copied.keys().all(|k| k.starts_with(b"u")));
}

#[test]
fn a_table_smaller_than_a_piece_is_copied_in_one_hold() {
    let keyspace = strings(10);
    let mut phases = CopyPhases::default();
    let copy = keyspace.copy_shard(0, PIECE_BUCKETS, &mut phases, || panic!("no second piece"));
    // Database 0 in one hold, database 1 (no table) in one, the sketch in one.
    assert_eq!(phases.holds, 3);
    assert_eq!(copied_keys(&copy, 0), live_keys(&keyspace, 0));
}

#[test]
fn a_save_told_to_stop_stops_with_interrupted() {
    let keyspace = sample();
    let mut asked = 0;
    let format = SectionFormat {
        compress: true,
        list_fill: -2,
    };
    let err = keyspace
        .write_snapshot(
            &mut Vec::new(),
            &header(),
            format,
            || {},
            |_| {},
            || {
                asked += 1;
                asked < 3
            },
        )
        .expect_err("stopped");
    assert_eq!(err.kind(), std::io::ErrorKind::Interrupted);
    assert_eq!(asked, 3, "asked before each shard until told to stop");
}

/// One section of `count` strings in db 0, the `bad`-th (if any) with a priority no cachet
/// writes; and the offset of the section's raw length in the file.
fn strings_file(count: usize, bad: Option<usize>) -> (Vec<u8>, usize) {
    let now = now_ms();
    let entries: Vec<Entry> = (0..count)
        .map(|i| Entry::new_string(format!("key:{i}").as_bytes(), b"value", 0))
        .collect();
    let mut records: Vec<Record<'_>> = entries.iter().map(|e| record_of(e, 0, now, -2)).collect();
    if let Some(bad) = bad {
        records[bad].priority = 9;
    }
    let mut file = Vec::new();
    let header_len = write_header(&mut file, &header()).unwrap() as usize;
    let section = EncodedSection {
        db: 0,
        records: count as u32,
        raw: rmp_serde::to_vec(&records).unwrap(),
    };
    write_section(&mut file, &section, true).unwrap();
    write_end(&mut file, count as u64).unwrap();
    (file, header_len + 1 + 4 + 4 + 1)
}

/// A section's keys go to the inserter in several batches: all of them arrive, the progress
/// hears the section once, and a bad record after batches already sent still fails the load.
#[test]
fn a_section_loads_in_batches_and_a_bad_record_late_in_it_fails_the_load() {
    let (file, _) = strings_file(1000, None);
    let keyspace = Keyspace::new(4, 2);
    let mut heard = Vec::new();
    let (_, totals) = keyspace
        .load_snapshot(&mut &file[..], limits(), None, |t| heard.push(*t))
        .unwrap();
    assert_eq!(totals.keys, 1000);
    assert_eq!(heard, vec![totals]);
    assert_eq!(keyspace.lock_all().recount().1, 1000);
    let (file, _) = strings_file(1000, Some(900));
    let loaded = Keyspace::new(4, 2).load_snapshot(&mut &file[..], limits(), None, |_| {});
    assert_eq!(
        loaded.map(|_| ()),
        Err(SnapshotError::Corrupt("key \"key:900\": priority".into()))
    );
}

/// The raw length a section states must be what its zstd frame holds, whichever way it is
/// wrong (smaller: the buffer cannot take the frame; larger, or past the one-call size:
/// streamed), and records cut short are refused: errors, never a panic.
#[test]
fn a_section_whose_lengths_lie_is_refused() {
    let (file, raw_len_at) = strings_file(50, None);
    let raw_len = u64::from_le_bytes(file[raw_len_at..raw_len_at + 8].try_into().unwrap());
    let load = |bytes: &[u8]| {
        Keyspace::new(4, 2)
            .load_snapshot(&mut &bytes[..], limits(), None, |_| {})
            .map(|_| ())
    };
    assert_eq!(load(&file), Ok(()));
    for stated in [raw_len - 1, raw_len + 1, (16 << 20) + 1, 0] {
        let mut lying = file.clone();
        lying[raw_len_at..raw_len_at + 8].copy_from_slice(&stated.to_le_bytes());
        assert!(
            matches!(load(&lying), Err(SnapshotError::Corrupt(_))),
            "a stated length of {stated} (really {raw_len}) loaded"
        );
    }
    let entries: Vec<Entry> = (0..3)
        .map(|i| Entry::new_string(format!("k{i}").as_bytes(), b"v", 0))
        .collect();
    let records: Vec<Record<'_>> = entries
        .iter()
        .map(|e| record_of(e, 0, now_ms(), -2))
        .collect();
    let raw = rmp_serde::to_vec(&records).unwrap();
    for cut in [1, raw.len() / 2, raw.len() - 1] {
        let mut file = Vec::new();
        write_header(&mut file, &header()).unwrap();
        let section = EncodedSection {
            db: 0,
            records: 3,
            raw: raw[..cut].to_vec(),
        };
        write_section(&mut file, &section, true).unwrap();
        write_end(&mut file, 3).unwrap();
        assert!(
            matches!(load(&file), Err(SnapshotError::Corrupt(_))),
            "records cut at {cut} loaded"
        );
    }
}
