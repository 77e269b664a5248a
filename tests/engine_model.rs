//! The engine against a model: any sequence of writes, deletes, expiry changes, time passing and
//! active expiry leaves the keyspace equal to a plain map of live keys, and the byte accounting equal
//! to the sum of what the live entries cost; with compression on or off (`compression-level`), the
//! compressed strings' before/after counts equal a recount too, and so does each region's
//! (keys, bytes) as regions are replaced midway. With a compression backlog, the background
//! compressor's steps interleave with the writes (a value copied out, then overwritten, edited,
//! deleted or flushed before its frame is swapped in) and change nothing a reader sees; once it
//! has caught up, no string a write would have compressed is left raw.

use std::collections::HashMap;
use std::time::Duration;

use cachet::engine::backlog::{self, BacklogStats};
use cachet::engine::compress::{self, Footprint, Level, Settings};
use cachet::engine::expire::active_expire_cycle;
use cachet::engine::memory::{alloc_size, table_size};
use cachet::engine::region::RegionSpec;
use cachet::engine::{Entry, Keyspace};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Set(u8, Vec<u8>),
    SetWithTtl(u8, Vec<u8>, u64),
    Delete(u8),
    Persist(u8),
    Append(u8, Vec<u8>),
    Advance(u64),
    ActiveExpire,
    Read(u8),
    /// FLUSHALL's engine half (which, in debug builds, also recounts under all shard locks).
    Flush,
    /// The cron's pass that gives back sparse tables' slots and oversized sketches.
    ShrinkToFit,
    /// CACHE.REGION SET/DEL: one of a few tables of regions, nested prefixes included.
    Regions(u8),
    /// CACHE.COMPRESSION TRAIN key: (with compression on: values written with each dictionary).
    Train,
    /// The background compressor's first step on a shard's backlog: a note taken, the value
    /// copied out; its other steps come later (`Finish`), with any operations in between.
    Take(u8),
    /// The background compressor's last steps for one of the notes taken: compress, swap in.
    Finish(u8),
    /// A SET of the key of one of the notes taken, between its copy and its swap.
    SetTaken(u8, Vec<u8>),
    /// A GET that finds a compressed value hot stores the bytes it read raw (`keep_raw`).
    KeepRaw(u8),
    /// The compressor's look at a shard's hot values whose time has come.
    RecheckHot(u8),
}

/// Tables of regions over the model's keys (`key:N`): none, overlapping prefixes (longest
/// wins), and one whose prefixes match nothing.
fn regions(choice: u8) -> Vec<RegionSpec> {
    let table: &[(&str, &[u8])] = match choice % 4 {
        0 => &[],
        1 => &[("all", b"key:"), ("ones", b"key:1"), ("tens", b"key:1")],
        2 => &[
            ("ones", b"key:1"),
            ("twos", b"key:2"),
            ("two-hundreds", b"key:20"),
        ],
        _ => &[("none", b"nothing:")],
    };
    // Names are unique per table; "tens" repeats a prefix on purpose to be dropped below.
    let mut specs: Vec<RegionSpec> = Vec::new();
    for (name, prefix) in table {
        if specs.iter().all(|s| s.prefix != *prefix) {
            specs.push(RegionSpec::new(name, prefix));
        }
    }
    specs
}

fn op() -> impl Strategy<Value = Op> {
    // Random bytes do not compress; a repeated phrase does (with compression on, both kinds).
    let value = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        // Around 512 bytes: a value that would push the block past its size class spills into
        // an allocation of its own (`engine::entry`).
        prop::collection::vec(any::<u8>(), 495..530),
        (prop::collection::vec(any::<u8>(), 1..8), 0usize..80)
            .prop_map(|(phrase, times)| phrase.repeat(times)),
    ];
    prop_oneof![
        (any::<u8>(), value.clone()).prop_map(|(k, v)| Op::Set(k, v)),
        (any::<u8>(), value.clone(), 1u64..50).prop_map(|(k, v, t)| Op::SetWithTtl(k, v, t)),
        any::<u8>().prop_map(Op::Delete),
        any::<u8>().prop_map(Op::Persist),
        (any::<u8>(), value.clone()).prop_map(|(k, v)| Op::Append(k, v)),
        (1u64..30).prop_map(Op::Advance),
        Just(Op::ActiveExpire),
        any::<u8>().prop_map(Op::Read),
        Just(Op::Flush),
        Just(Op::ShrinkToFit),
        any::<u8>().prop_map(Op::Regions),
        Just(Op::Train),
        any::<u8>().prop_map(Op::Take),
        any::<u8>().prop_map(Op::Finish),
        (any::<u8>(), value).prop_map(|(i, v)| Op::SetTaken(i, v)),
        any::<u8>().prop_map(Op::KeepRaw),
        any::<u8>().prop_map(Op::RecheckHot),
    ]
}

fn json_like(n: u32) -> String {
    format!(
        r#"{{"id":{n},"name":"key {n}","tags":["a","b"],"active":{},"score":{}}}"#,
        n.is_multiple_of(3),
        n * 7 % 101
    )
}

/// 64 keys: enough that most writes meet a key already there, and a value the compressor took
/// is often written again before its frame is swapped in.
fn key(k: u8) -> Vec<u8> {
    format!("key:{}", k % 64).into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn keyspace_matches_model(ops in prop::collection::vec(op(), 1..300), compress in any::<bool>(), first_regions in any::<u8>(), backlog in prop_oneof![Just(0usize), Just(600), Just(1 << 20)]) {
        let keyspace = Keyspace::new(4, 1);
        keyspace.set_regions(regions(first_regions));
        // Notes taken from the backlogs whose compression has not finished yet.
        let mut taken = Vec::new();
        let mut trained = false;
        if compress {
            // The backlog: none (every write compresses), one that fills at once
            // (back-pressure), one that takes every write.
            keyspace.set_compression(Settings { level: Level::Fast, min_size: 32, backlog });
            // Dictionaries too: values written before and after each training read back whole.
            keyspace.dictionaries.configure(true, b":", 1024);
        }
        // The model: key -> (value, absolute expiry or 0).
        let mut model: HashMap<Vec<u8>, (Vec<u8>, u64)> = HashMap::new();
        let mut now: u64 = 1_000_000;
        for op in ops {
            match op {
                Op::Set(k, v) => {
                    keyspace.with_key(0, &key(k), now, |view, hash| { view.insert(hash, Entry::new_string(&key(k), &v, 0)); });
                    model.insert(key(k), (v, 0));
                }
                Op::SetWithTtl(k, v, ttl) => {
                    keyspace.with_key(0, &key(k), now, |view, hash| {
                        let mut entry = Entry::new_string(&key(k), &v, 0);
                        entry.set_expire_at(now + ttl);
                        view.insert(hash, entry);
                    });
                    model.insert(key(k), (v, now + ttl));
                }
                Op::Delete(k) => {
                    let removed = keyspace.with_key(0, &key(k), now, |view, hash| view.remove(hash, &key(k)).is_some());
                    let live = model.remove(&key(k)).is_some_and(|(_, exp)| exp == 0 || exp > now);
                    prop_assert_eq!(removed, live);
                }
                Op::Persist(k) => {
                    keyspace.with_key(0, &key(k), now, |view, hash| view.modify(hash, &key(k), |e| e.set_expire_at(0)));
                    if let Some(entry) = model.get_mut(&key(k)) {
                        if entry.1 == 0 || entry.1 > now { entry.1 = 0; }
                    }
                }
                Op::Append(k, v) => {
                    let found = keyspace.with_key(0, &key(k), now, |view, hash| view.modify(hash, &key(k), |e| e.modify_string(|s| s.extend_from_slice(&v))).is_some());
                    let live = model.get(&key(k)).is_some_and(|(_, exp)| *exp == 0 || *exp > now);
                    prop_assert_eq!(found, live);
                    if live {
                        if let Some(entry) = model.get_mut(&key(k)) { entry.0.extend_from_slice(&v); }
                    }
                }
                Op::Advance(ms) => now += ms,
                Op::ActiveExpire => { active_expire_cycle(&keyspace, now, Duration::from_millis(50)); }
                Op::Flush => { keyspace.take_tables(None); model.clear(); }
                Op::ShrinkToFit => keyspace.shrink_to_fit(),
                Op::Regions(choice) => keyspace.set_regions(regions(choice)),
                // Random and repeated bytes may not train (zstd refuses): either way nothing read changes.
                Op::Train if !compress => {}
                Op::Train => {
                    trained = true;
                    // The model's few writes rarely reach a training's samples: offer JSON-like
                    // ones as writes would, then train, so the writes after it use a dictionary.
                    for n in 0..256 {
                        keyspace.dictionaries.offer(b"key:", json_like(n).as_bytes());
                    }
                    let _ = keyspace.dictionaries.train(Some(b"key:"), false);
                }
                Op::Take(shard) => taken.extend(keyspace.take_pending(shard as usize % keyspace.shard_count())),
                Op::Finish(_) | Op::SetTaken(..) if taken.is_empty() => {}
                Op::SetTaken(i, v) => {
                    if let Some(k) = taken[i as usize % taken.len()].key().map(<[u8]>::to_vec) {
                        keyspace.with_key(0, &k, now, |view, hash| { view.insert(hash, Entry::new_string(&k, &v, 0)); });
                        model.insert(k, (v, 0));
                    }
                }
                Op::Finish(i) => keyspace.finish_pending(taken.swap_remove(i as usize % taken.len()), now),
                Op::KeepRaw(k) => {
                    keyspace.with_key(0, &key(k), now, |view, hash| {
                        let raw = view.peek(hash, &key(k)).filter(|e| e.is_compressed()).and_then(|e| e.string_value().map(|v| v.to_vec()));
                        if let Some(raw) = raw {
                            view.keep_raw(hash, &key(k), &raw);
                        }
                    });
                }
                Op::RecheckHot(shard) => { keyspace.recheck_hot(shard as usize % keyspace.shard_count(), now); }
                Op::Read(k) => {
                    let got = keyspace.with_key(0, &key(k), now, |view, hash| view.read(hash, &key(k)).and_then(|e| e.string_value().map(|v| v.to_vec())));
                    let want = model.get(&key(k)).filter(|(_, exp)| *exp == 0 || *exp > now).map(|(v, _)| v.clone());
                    prop_assert_eq!(got, want);
                }
            }
            // Accounting: the tables' byte counts equal what their live entries and slots cost.
            // The keyspace's running total equals them plus the admission sketches.
            let mut counted = 0;
            let mut recomputed = 0;
            let mut sketches = 0;
            let mut footprint = Footprint::default();
            keyspace.for_each_shard(|_, shard| {
                for entry in shard.dbs[0].map.iter() {
                    footprint.apply(entry.compressed_sizes(), true);
                }
                let table = &shard.dbs[0];
                counted += table.memory();
                sketches += shard.sketch.bytes();
                // A table that never allocated slots (hashbrown's empty singleton) costs nothing.
                let slots = match table.map.capacity() {
                    0 => 0,
                    _ => table_size(table.map.num_buckets(), std::mem::size_of::<Entry>()),
                };
                recomputed += table.map.iter().map(|e| e.memory()).sum::<usize>() + slots;
                let volatile = table.map.iter().filter(|e| e.has_expiry()).count();
                assert_eq!(volatile, table.volatile, "volatile count drifted");
            });
            prop_assert_eq!(counted, recomputed);
            prop_assert_eq!(keyspace.compression_footprint(), footprint);
            if !compress {
                prop_assert_eq!(footprint.keys, 0);
            }
            prop_assert_eq!(keyspace.memory(), counted + sketches + keyspace.dictionaries.memory());
            if !compress {
                prop_assert_eq!(keyspace.dictionaries.memory(), 0);
            }
            // Each region's running figures equal a recount of its keys (longest prefix wins).
            let running: Vec<(String, usize, usize)> = keyspace
                .region_reports()
                .into_iter()
                .map(|r| (r.spec.name, r.bytes, r.keys))
                .collect();
            prop_assert_eq!(running, keyspace.recount_regions());
            // The backlogs' totals: every note counted once until its compression is done,
            // never more raw bytes than allowed.
            let (mut notes, mut hot) = (0, 0);
            keyspace.for_each_shard(|_, shard| {
                notes += shard.backlog.len();
                hot += shard.backlog.hot_len();
            });
            let stats = keyspace.compressor.stats();
            let taken_hot = taken.iter().filter(|t| t.is_hot()).count();
            prop_assert_eq!(stats.keys, notes + taken.len() - taken_hot);
            prop_assert_eq!(stats.hot_keys, hot + taken_hot);
            prop_assert!(stats.bytes <= backlog, "{} raw bytes waiting", stats.bytes);
            prop_assert!(stats.hot_bytes <= backlog / 2, "{} raw bytes kept hot", stats.hot_bytes);
        }
        // The compressor catches up: what it took finishes, the rest of the backlogs drains.
        for note in taken {
            keyspace.finish_pending(note, now);
        }
        for shard in 0..keyspace.shard_count() {
            while keyspace.compress_pending(shard, now) {}
        }
        prop_assert_eq!(keyspace.compressor.stats(), BacklogStats { keys: 0, bytes: 0, hot_keys: 0, hot_bytes: 0, ..keyspace.compressor.stats() });
        // Then no live string a write would have compressed is left raw (after a training, a
        // value that did not shrink with the dictionary of its write may with today's).
        let settings = Settings { backlog: 0, ..keyspace.compression() };
        let mut left_raw = Vec::new();
        keyspace.for_each_shard(|_, shard| {
            for entry in shard.dbs[0].map.iter().filter(|e| !e.is_expired(now)) {
                let Some(value) = entry.plain_str() else { continue };
                let dictionary = keyspace.dictionaries.current(keyspace.dictionaries.prefix(entry.key()));
                let shrinks = compress::compress_with(value, settings, dictionary.as_deref(), |_| ())
                    .is_some_and(|(frame, _)| frame.is_some());
                if shrinks {
                    left_raw.push(String::from_utf8_lossy(entry.key()).into_owned());
                }
            }
        });
        prop_assert!(trained || left_raw.is_empty(), "left raw: {:?}", left_raw);
        // Everything the model holds as live is in the keyspace, and nothing else is readable.
        model.retain(|_, (_, exp)| *exp == 0 || *exp > now);
        for (k, (v, _)) in &model {
            let got = keyspace.with_key(0, k, now, |view, hash| view.peek(hash, k).and_then(|e| e.string_value().map(|s| s.to_vec())));
            prop_assert_eq!(got.as_deref(), Some(&v[..]));
        }
        let mut live = 0;
        keyspace.for_each_shard(|_, shard| live += shard.dbs[0].map.iter().filter(|e| !e.is_expired(now)).count());
        prop_assert_eq!(live, model.len());
    }
}

/// The model's `Train` step installs a dictionary, and strings written after it use it.
#[test]
fn the_model_trains_a_dictionary_that_writes_use() {
    let keyspace = Keyspace::new(4, 1);
    keyspace.set_compression(Settings {
        level: Level::Fast,
        min_size: 32,
        backlog: 0,
    });
    keyspace.dictionaries.configure(true, b":", 1024);
    for n in 0..256 {
        keyspace
            .dictionaries
            .offer(b"key:", json_like(n).as_bytes());
    }
    assert_eq!(keyspace.dictionaries.train(Some(b"key:"), false), Ok(1));
    let value = json_like(1000);
    keyspace.with_key(0, b"key:1", 0, |view, hash| {
        view.insert(hash, Entry::new_string(b"key:1", value.as_bytes(), 0));
    });
    let report = &keyspace.dictionaries.reports()[0];
    assert_eq!(report.current.map(|(_, values, _)| values), Some(1));
    let read = keyspace.with_key(0, b"key:1", 0, |view, hash| {
        let entry = view.peek(hash, b"key:1").unwrap();
        (
            entry.is_compressed(),
            entry.string_value().unwrap().to_vec(),
        )
    });
    assert_eq!(read, (true, value.into_bytes()));
}

/// What a test does to a key between the compressor's copy and its swap.
type Change<'a> = dyn Fn(&[u8]) + 'a;

/// A value changed between the compressor's copy and its swap keeps its new bytes, whatever the
/// change; an unchanged one is swapped in, its TTL and access state kept.
#[test]
fn the_compressor_swaps_only_unchanged_bytes() {
    let keyspace = Keyspace::new(1, 1);
    keyspace.set_compression(Settings {
        level: Level::Fast,
        min_size: 32,
        backlog: 1 << 20,
    });
    let old = json_like(1).repeat(20).into_bytes();
    let new = json_like(2).repeat(20).into_bytes();
    let write = |k: &[u8], v: &[u8]| {
        keyspace.with_key(0, k, 0, |view, hash| {
            let mut entry = Entry::new_string(k, v, 0);
            entry.set_expire_at(1_000_000);
            view.insert(hash, entry);
        })
    };
    let read = |k: &[u8]| {
        keyspace.with_key(0, k, 0, |view, hash| {
            view.peek(hash, k).map(|e| {
                (
                    e.is_compressed(),
                    e.expire_at(),
                    e.string_value().unwrap().to_vec(),
                )
            })
        })
    };
    let changes: [(&str, &Change); 4] = [
        ("overwrite", &|k| write(k, &new)),
        ("append", &|k| {
            keyspace.with_key(0, k, 0, |view, hash| {
                view.modify(hash, k, |e| e.modify_string(|s| s.clear()));
                view.modify(hash, k, |e| e.modify_string(|s| s.extend_from_slice(&new)));
            });
        }),
        ("delete then rewrite", &|k| {
            keyspace.with_key(0, k, 0, |view, hash| view.remove(hash, k));
            write(k, &new);
        }),
        ("unchanged", &|_| {}),
    ];
    for (name, change) in changes {
        let k = name.as_bytes();
        write(k, &old);
        let taken = keyspace.take_pending(0).expect("the write's note");
        change(k);
        keyspace.finish_pending(taken, 0);
        while keyspace.compress_pending(0, 0) {}
        let want = if name == "unchanged" { &old } else { &new };
        let (compressed, expire_at, value) = read(k).unwrap();
        assert_eq!(&value, want, "{name}");
        assert_eq!(expire_at, 1_000_000, "{name}");
        // An appended value stays raw (edits do); every whole write ends compressed.
        assert_eq!(compressed, name != "append", "{name}");
    }
}

#[test]
fn entry_memory_counts_allocator_classes() {
    // The entry lives in its table slot; its one block (6-byte header, key, value) is rounded up.
    let entry = Entry::new_string(b"key:000000000001", &[b'x'; 100], 0);
    assert_eq!(entry.memory(), alloc_size(6 + 116));
    assert_eq!(entry.memory(), 128);
}

#[test]
fn compressed_entries_cost_their_stored_bytes_and_read_back_whole() {
    let keyspace = Keyspace::new(1, 1);
    keyspace.set_compression(Settings {
        level: Level::Fast,
        min_size: 1024,
        backlog: 0,
    });
    let value = br#"{"id":1,"name":"widget","tags":["a","b"],"price":9.5}"#.repeat(40);
    let small = b"x".repeat(1023);
    keyspace.with_key(0, b"big", 0, |view, hash| {
        view.insert(hash, Entry::new_string(b"big", &value, 0));
    });
    // One byte under the minimum: stored as written.
    let small_compressed = keyspace.with_key(0, b"small", 0, |view, hash| {
        view.insert(hash, Entry::new_string(b"small", &small, 0));
        view.peek(hash, b"small").unwrap().is_compressed()
    });
    assert!(!small_compressed);
    let (memory, len, compressed, read) = keyspace.with_key(0, b"big", 0, |view, hash| {
        let entry = view.peek(hash, b"big").unwrap();
        (
            entry.memory(),
            entry.string_len(),
            entry.is_compressed(),
            entry.string_value().unwrap().to_vec(),
        )
    });
    assert!(compressed);
    assert_eq!((len, read), (value.len(), value.clone()));
    assert!(
        memory < value.len() / 4,
        "{memory} bytes for {}",
        value.len()
    );
    let footprint = keyspace.compression_footprint();
    assert_eq!((footprint.keys, footprint.original), (1, value.len()));
}

/// A value kept raw for being hot stays raw while it is, is compressed again once its counter
/// has decayed (idle minutes), and reads the same bytes throughout.
#[test]
fn a_hot_value_kept_raw_is_compressed_once_it_cools() {
    let keyspace = Keyspace::new(1, 1);
    keyspace.set_compression(Settings {
        level: Level::Fast,
        min_size: 32,
        backlog: 1 << 20,
    });
    let value = json_like(1).repeat(20).into_bytes();
    let now = 1_000_000;
    let read = |at: u64| {
        keyspace.with_key(0, b"k", at, |view, hash| {
            let entry = view.peek(hash, b"k").unwrap();
            (
                entry.is_compressed(),
                entry.string_value().unwrap().to_vec(),
            )
        })
    };
    keyspace.with_key(0, b"k", now, |view, hash| {
        view.insert(hash, Entry::new_string(b"k", &value, 0));
    });
    while keyspace.compress_pending(0, now) {}
    assert_eq!(read(now), (true, value.clone()));
    let kept = keyspace.with_key(0, b"k", now, |view, hash| {
        view.rewrite(hash, b"k", |e| e.set_lfu(backlog::HOT_LFU));
        view.keep_raw(hash, b"k", &value)
    });
    assert!(kept);
    assert_eq!(read(now), (false, value.clone()));
    let stats = keyspace.compressor.stats();
    assert_eq!((stats.hot_keys, stats.hot_bytes), (1, value.len()));
    // The compressor's pass over written values leaves it alone.
    keyspace.with_key(0, b"other", now, |view, hash| {
        view.insert(hash, Entry::new_string(b"other", &value, 0));
    });
    assert!(keyspace.compress_written(0, now));
    assert!(!keyspace.compress_written(0, now));
    assert_eq!(read(now), (false, value.clone()));
    // Not due yet, then due but still hot (no idle minute): noted again.
    assert!(!keyspace.recheck_hot(0, now + 1));
    assert!(keyspace.recheck_hot(0, now + 10_000));
    assert_eq!(read(now), (false, value.clone()));
    assert_eq!(keyspace.compressor.stats().hot_keys, 1);
    // Five idle minutes take the counter under the mark: compressed, the hot list empty.
    assert!(keyspace.recheck_hot(0, now + 300_000));
    assert_eq!(read(now), (true, value.clone()));
    let stats = keyspace.compressor.stats();
    assert_eq!((stats.hot_keys, stats.hot_bytes, stats.cooled), (0, 0, 1));
}
