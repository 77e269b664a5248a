//! The tag index against a model: after any interleaving of tagged writes, plain writes,
//! deletes, expiry with time passing, renames, eviction pressure, tag changes and invalidations,
//! the index lists exactly the keys whose live entries carry each tag, the invalidated keys are
//! gone, and the byte accounting still equals a recount.

use std::collections::{BTreeMap, BTreeSet};

use cachet::engine::labels::LabelKind;
use cachet::engine::{CacheMeta, Entry, EvictionSettings, Keyspace, Name};
use proptest::prelude::*;

const TAGS: [&str; 4] = ["a", "b", "c", "d"];

#[derive(Debug, Clone)]
enum Op {
    TaggedSet(u8, Vec<usize>, Option<u64>),
    Set(u8),
    Delete(u8),
    Expire(u8, u64),
    Advance(u64),
    Rename(u8, u8),
    SetTags(u8, Vec<usize>),
    Invalidate(usize),
    Sweep,
    Squeeze(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..24;
    let tags = prop::collection::vec(0usize..TAGS.len(), 0..3);
    prop_oneof![
        4 => (key.clone(), tags.clone(), prop::option::of(1u64..40)).prop_map(|(k, t, ttl)| Op::TaggedSet(k, t, ttl)),
        1 => key.clone().prop_map(Op::Set),
        1 => key.clone().prop_map(Op::Delete),
        1 => (key.clone(), 1u64..40).prop_map(|(k, t)| Op::Expire(k, t)),
        1 => (1u64..30).prop_map(Op::Advance),
        1 => (key.clone(), key.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => (key, tags).prop_map(|(k, t)| Op::SetTags(k, t)),
        2 => (0usize..TAGS.len()).prop_map(Op::Invalidate),
        1 => Just(Op::Sweep),
        1 => (4usize..20).prop_map(Op::Squeeze),
    ]
}

fn key(k: u8) -> Vec<u8> {
    format!("key:{k}").into_bytes()
}

fn tag_list(tags: &[usize]) -> Box<[Name]> {
    let mut names: Vec<Name> = Vec::new();
    for &t in tags {
        let name = Name::new(TAGS[t].as_bytes());
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.into_boxed_slice()
}

/// Tag → keys, as the index lists them (live entries only, through TAG.KEYS's own path).
fn index_view(keyspace: &Keyspace, now: u64) -> BTreeMap<String, BTreeSet<Vec<u8>>> {
    let mut seen: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    keyspace.for_each_shard(|_, shard| {
        let mut view = keyspace.view(shard, 0, now);
        for tag in TAGS {
            view.label_keys(LabelKind::Tag, tag.as_bytes(), 0, usize::MAX, |entry| {
                seen.entry(tag.to_string())
                    .or_default()
                    .insert(entry.key().to_vec());
            });
        }
    });
    seen
}

/// Tag → keys, from the live entries themselves.
fn carried(keyspace: &Keyspace, now: u64) -> BTreeMap<String, BTreeSet<Vec<u8>>> {
    let mut seen: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    keyspace.for_each_shard(|_, shard| {
        let view = keyspace.view(shard, 0, now);
        view.walk(0, usize::MAX, |entry| {
            for tag in entry.tags() {
                let name = String::from_utf8_lossy(tag).into_owned();
                seen.entry(name).or_default().insert(entry.key().to_vec());
            }
        });
    });
    seen
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn tag_index_matches_live_entries(ops in prop::collection::vec(op(), 1..200)) {
        let keyspace = Keyspace::new(4, 1);
        let mut now: u64 = 1_000_000;
        // Keys invalidated and not written since: none may be readable.
        let mut invalidated: BTreeSet<Vec<u8>> = BTreeSet::new();
        for op in ops {
            match op {
                Op::TaggedSet(k, tags, ttl) => {
                    keyspace.with_key(0, &key(k), now, |view, hash| {
                        let mut entry = Entry::new_string(&key(k), b"v", 0);
                        entry.set_meta(CacheMeta { tags: Some(tag_list(&tags)), ..CacheMeta::default() });
                        entry.set_expire_at(ttl.map_or(0, |t| now + t));
                        view.insert(hash, entry);
                    });
                    invalidated.remove(&key(k));
                }
                Op::Set(k) => {
                    keyspace.with_key(0, &key(k), now, |view, hash| { view.insert(hash, Entry::new_string(&key(k), b"plain", 0)); });
                    invalidated.remove(&key(k));
                }
                Op::Delete(k) => {
                    keyspace.with_key(0, &key(k), now, |view, hash| { view.remove(hash, &key(k)); });
                }
                Op::Expire(k, t) => {
                    keyspace.with_key(0, &key(k), now, |view, hash| { view.modify(hash, &key(k), |e| e.set_expire_at(now + t)); });
                }
                Op::Advance(t) => now += t,
                Op::Rename(a, b) => {
                    let mut locked = keyspace.lock_keys([key(a), key(b)]);
                    let moved = locked.view(0, &key(a), now).and_then(|(mut view, hash)| view.remove(hash, &key(a)));
                    if let Some(entry) = moved {
                        if let Some((mut view, hash)) = locked.view(0, &key(b), now) {
                            view.insert(hash, entry.into_renamed(&key(b)));
                        }
                        if invalidated.remove(&key(a)) {
                            invalidated.insert(key(b));
                        } else {
                            invalidated.remove(&key(b));
                        }
                    }
                }
                Op::SetTags(k, tags) => {
                    keyspace.with_key(0, &key(k), now, |view, hash| view.set_labels(hash, &key(k), LabelKind::Tag, tag_list(&tags)));
                }
                Op::Invalidate(t) => {
                    let carriers = carried(&keyspace, now).remove(TAGS[t]).unwrap_or_default();
                    let removed = keyspace.invalidate_labels(0, LabelKind::Tag, &[TAGS[t].as_bytes()]);
                    // Keys whose TTL passed may still be listed until reclaimed, as DBSIZE counts them.
                    prop_assert!(removed >= carriers.len());
                    invalidated.extend(carriers);
                }
                Op::Sweep => keyspace.sweep_all(),
                Op::Squeeze(limit) => {
                    keyspace.set_eviction_settings(EvictionSettings { maxmemory_keys: limit, ..Default::default() });
                    let _ = keyspace.evict_to_limit(now);
                    keyspace.set_eviction_settings(EvictionSettings::default());
                }
            }
            prop_assert_eq!(index_view(&keyspace, now), carried(&keyspace, now));
            for k in &invalidated {
                let readable = keyspace.with_key(0, k, now, |view, hash| view.read(hash, k).is_some());
                prop_assert!(!readable, "{} readable after its tag was invalidated", String::from_utf8_lossy(k));
            }
        }
        keyspace.sweep_all();
        prop_assert_eq!(keyspace.sweeper.backlog.load(std::sync::atomic::Ordering::Relaxed), 0);
        // The label indexes' byte counts equal a recount.
        let mut counts = Vec::new();
        keyspace.for_each_shard(|_, shard| {
            for table in shard.dbs.iter() {
                counts.push((table.tags.memory(), table.tags.recount()));
            }
        });
        for (kept, recounted) in counts {
            prop_assert_eq!(kept, recounted);
        }
        // Each name is interned once, held by exactly the indexes that list a label of it, and
        // its bytes are counted once.
        let names = &keyspace.notices.names;
        prop_assert_eq!(names.memory(), names.recount());
        for tag in TAGS {
            let mut holders = 0;
            keyspace.for_each_shard(|_, shard| {
                holders += shard.dbs.iter().filter(|t| t.tags.get(tag.as_bytes()).is_some()).count();
            });
            prop_assert_eq!(names.holders(tag.as_bytes()) as usize, holders);
        }
        // Once every key is gone, so is every name.
        drop(keyspace.take_tables(None));
        keyspace.sweep_all();
        prop_assert!(names.is_empty() && names.memory() == 0, "{} names left", names.len());
    }
}
