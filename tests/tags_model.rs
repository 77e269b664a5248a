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
    /// Tags `BULK` keys of their own with one tag: more than an invalidation sweeps inline or
    /// lists the shards of, so it locks every shard and queues the sweeper.
    Bulk(usize),
}

const BULK: u8 = 80;

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
        1 => (0usize..TAGS.len()).prop_map(Op::Bulk),
    ]
}

fn bulk_key(k: u8) -> Vec<u8> {
    format!("bulk:{k}").into_bytes()
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
    for tag in TAGS {
        let label = (LabelKind::Tag, tag.as_bytes());
        keyspace.label_keys(0, label, 0, usize::MAX, now, |entry| {
            seen.entry(tag.to_string())
                .or_default()
                .insert(entry.key().to_vec());
        });
    }
    seen
}

/// Key hashes the index lists under a tag whose entry does not carry it (or is absent and was not
/// taken by an invalidation): must be none.
fn listed_without_carrier(keyspace: &Keyspace) -> Vec<(String, u64)> {
    let mut listed = Vec::new();
    for tag in TAGS {
        keyspace
            .notices
            .labels
            .with(LabelKind::Tag, 0, tag.as_bytes(), |label| {
                label.walk(0, usize::MAX, |hash| listed.push((tag, hash)));
            });
    }
    let mut wrong = Vec::new();
    for (tag, hash) in listed {
        let shard = keyspace.lock_shard(keyspace.shard_of_hash(hash));
        let carries = shard.dbs.get(0).is_some_and(|table| {
            table.map.iter().any(|e| {
                cachet::engine::hash_key(e.key()) == hash
                    && e.tags().iter().any(|t| **t == *tag.as_bytes())
            })
        });
        if !carries {
            wrong.push((tag.to_string(), hash));
        }
    }
    wrong
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
                Op::Bulk(t) => {
                    for k in 0..BULK {
                        keyspace.with_key(0, &bulk_key(k), now, |view, hash| {
                            let mut entry = Entry::new_string(&bulk_key(k), b"v", 0);
                            entry.set_meta(CacheMeta { tags: Some(tag_list(&[t])), ..CacheMeta::default() });
                            view.insert(hash, entry);
                        });
                        invalidated.remove(&bulk_key(k));
                    }
                }
                Op::Squeeze(limit) => {
                    keyspace.set_eviction_settings(EvictionSettings { maxmemory_keys: limit, ..Default::default() });
                    let _ = keyspace.evict_to_limit(now);
                    keyspace.set_eviction_settings(EvictionSettings::default());
                }
            }
            prop_assert_eq!(index_view(&keyspace, now), carried(&keyspace, now));
            prop_assert_eq!(listed_without_carrier(&keyspace), vec![]);
            let labels = &keyspace.notices.labels;
            prop_assert_eq!(labels.memory(), labels.recount());
            for k in &invalidated {
                let readable = keyspace.with_key(0, k, now, |view, hash| view.read(hash, k).is_some());
                prop_assert!(!readable, "{} readable after its tag was invalidated", String::from_utf8_lossy(k));
            }
        }
        keyspace.sweep_all();
        prop_assert_eq!(keyspace.sweeper.backlog.load(std::sync::atomic::Ordering::Relaxed), 0);
        // Swept: nothing is pending, and the index's byte count equals a recount.
        let labels = &keyspace.notices.labels;
        prop_assert_eq!(labels.pending(), 0);
        prop_assert_eq!(labels.memory(), labels.recount());
        // Each name is interned once, held by exactly the records of it, and its bytes are
        // counted once.
        let names = &keyspace.notices.names;
        prop_assert_eq!(names.memory(), names.recount());
        for tag in TAGS {
            prop_assert_eq!(names.holders(tag.as_bytes()) as usize, labels.records_named(tag.as_bytes()));
        }
        // Once every key is gone, so is every name and every record.
        drop(keyspace.take_tables(None));
        keyspace.sweep_all();
        prop_assert!(names.is_empty() && names.memory() == 0, "{} names left", names.len());
        prop_assert_eq!((labels.memory(), labels.count(LabelKind::Tag)), (0, 0));
    }
}
