//! Unit tests of the stream value: appends and node boundaries, ranges both ways, deletions,
//! trimming, groups, and the byte count against a recount after each change.

use super::*;

fn pairs(items: &[&'static str]) -> Vec<&'static [u8]> {
    items.iter().map(|s| s.as_bytes()).collect()
}

fn ids(stream: &StreamValue, start: StreamId, end: StreamId, rev: bool) -> Vec<StreamId> {
    stream.range(start, end, rev).map(|e| e.id).collect()
}

fn add(stream: &mut StreamValue, ms: u64, seq: u64, limits: NodeLimits) {
    let fields = pairs(&["f", "v", "n", "1"]);
    stream
        .append(NewId::Exact(StreamId::new(ms, seq)), &fields, limits)
        .expect("append");
    assert_eq!(stream.memory(), stream.recount());
}

#[test]
fn appends_ranges_and_ids() {
    let mut s = StreamValue::new();
    let limits = NodeLimits {
        max_bytes: 4096,
        max_entries: 3,
    };
    for i in 1..=10 {
        add(&mut s, i, 0, limits);
    }
    assert_eq!(s.len(), 10);
    assert_eq!(s.node_count(), 4);
    let all: Vec<u64> = ids(&s, StreamId::MIN, StreamId::MAX, false)
        .iter()
        .map(|id| id.ms)
        .collect();
    assert_eq!(all, (1..=10).collect::<Vec<_>>());
    let back: Vec<u64> = ids(&s, StreamId::new(3, 0), StreamId::new(7, 0), true)
        .iter()
        .map(|id| id.ms)
        .collect();
    assert_eq!(back, vec![7, 6, 5, 4, 3]);
    assert_eq!(
        s.append(
            NewId::Exact(StreamId::new(10, 0)),
            &pairs(&["a", "b"]),
            limits
        ),
        Err(AppendError::NotGreater)
    );
    assert_eq!(
        s.append(NewId::SeqAuto(10), &pairs(&["a", "b"]), limits),
        Ok(StreamId::new(10, 1))
    );
    assert_eq!(
        s.append(NewId::Auto(5), &pairs(&["a", "b"]), limits),
        Ok(StreamId::new(10, 2))
    );
    let entry = s.entries().get(StreamId::new(10, 1)).expect("entry");
    let fields: Vec<(Vec<u8>, Vec<u8>)> = entry
        .pairs()
        .map(|(f, v)| (f.to_vec(), v.to_vec()))
        .collect();
    assert_eq!(fields, vec![(b"a".to_vec(), b"b".to_vec())]);
}

#[test]
fn deletes_mark_entries_and_free_empty_nodes() {
    let mut s = StreamValue::new();
    let limits = NodeLimits {
        max_bytes: 4096,
        max_entries: 2,
    };
    for i in 1..=6 {
        add(&mut s, i, 0, limits);
    }
    assert_eq!(
        s.delete_entries(&[StreamId::new(1, 0), StreamId::new(9, 0)]),
        1
    );
    assert_eq!(s.first_id, StreamId::new(2, 0));
    assert_eq!(s.max_deleted, StreamId::new(1, 0));
    assert_eq!(s.node_count(), 3);
    assert_eq!(s.delete_entries(&[StreamId::new(2, 0)]), 1);
    assert_eq!(s.node_count(), 2);
    assert_eq!(s.memory(), s.recount());
    assert_eq!(s.entries().last_valid_id(), Some(StreamId::new(6, 0)));
    s.delete_entries(&[StreamId::new(6, 0)]);
    assert_eq!(s.entries().last_valid_id(), Some(StreamId::new(5, 0)));
    assert_eq!(s.last_id, StreamId::new(6, 0));
}

#[test]
fn trimming_whole_nodes_or_exactly() {
    let limits = NodeLimits {
        max_bytes: 4096,
        max_entries: 10,
    };
    let mut s = StreamValue::new();
    for i in 1..=35 {
        add(&mut s, i, 0, limits);
    }
    assert_eq!(s.trim(Trim::MaxLen(20), true, 0), 10);
    assert_eq!(s.len(), 25);
    assert_eq!(s.trim(Trim::MaxLen(20), false, 0), 5);
    assert_eq!(s.len(), 20);
    assert_eq!(s.first_id, StreamId::new(16, 0));
    assert_eq!(s.trim(Trim::MinId(StreamId::new(33, 0)), false, 0), 17);
    assert_eq!(ids(&s, StreamId::MIN, StreamId::MAX, false).len(), 3);
    assert_eq!(s.memory(), s.recount());
    assert_eq!(s.trim(Trim::MaxLen(0), false, 0), 3);
    assert!(s.is_empty());
    assert_eq!(s.first_id, StreamId::MIN);
}

#[test]
fn groups_deliver_ack_claim_and_count_their_bytes() {
    let mut s = StreamValue::new();
    for i in 1..=5 {
        add(&mut s, i, 0, NodeLimits::default());
    }
    assert!(s.create_group(b"g", StreamId::MIN, ENTRIES_READ_UNKNOWN));
    assert!(!s.create_group(b"g", StreamId::MIN, 0));
    s.with_group(b"g", |group, entries| {
        let (alice, created) = group.lookup_or_create(b"alice", 100);
        assert!(created);
        let delivered: Vec<StreamId> = entries
            .range(StreamId::new(0, 1), StreamId::MAX, false)
            .map(|e| e.id)
            .collect();
        for id in delivered {
            entries.advance_group(group, id);
            group.deliver(id, &alice, 100);
        }
        assert_eq!(group.entries_read, 5);
        assert_eq!(entries.lag(group), Some(0));
        assert!(group.ack(StreamId::new(1, 0)));
        assert!(!group.ack(StreamId::new(1, 0)));
        let (bob, _) = group.lookup_or_create(b"bob", 200);
        group.claim(StreamId::new(2, 0), &bob, |nack| nack.delivery_count += 1);
        assert_eq!(group.consumer(b"alice").map(|c| c.pel.len()), Some(3));
        assert_eq!(group.consumer(b"bob").map(|c| c.pel.len()), Some(1));
        assert_eq!(group.delete_consumer(b"alice"), Some(3));
        assert_eq!(group.pel.len(), 1);
    });
    assert_eq!(s.memory(), s.recount());
    let copy = s.clone();
    assert_eq!(copy.memory(), copy.recount());
    assert_eq!(copy.group(b"g").map(|g| g.pel.len()), Some(1));
    assert!(s.destroy_group(b"g"));
    assert_eq!(s.memory(), s.recount());
}

/// A stream and one group against a plain model (entries in a BTreeMap, the PEL a map to its
/// owner): random appends, deletions, exact and approximate trims, reads of new entries by one of
/// two consumers, acks and claims; after each step the entries, length, last ID, lag, entries read
/// and pending counts agree, and the byte count equals a recount.
mod model {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8),
        Del(u8),
        TrimMaxLen(u8, bool),
        Read(bool, u8),
        Ack(u8),
        Claim(u8, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (1u8..4).prop_map(Op::Add),
            1 => any::<u8>().prop_map(Op::Del),
            1 => (0u8..30, any::<bool>()).prop_map(|(n, a)| Op::TrimMaxLen(n, a)),
            2 => (any::<bool>(), 1u8..5).prop_map(|(c, n)| Op::Read(c, n)),
            1 => any::<u8>().prop_map(Op::Ack),
            1 => (any::<u8>(), any::<bool>()).prop_map(|(i, c)| Op::Claim(i, c)),
        ]
    }

    fn consumer(bob: bool) -> &'static [u8] {
        if bob {
            b"bob"
        } else {
            b"alice"
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn stream_and_group_follow_the_model(ops in prop::collection::vec(op(), 1..120)) {
            let limits = NodeLimits { max_bytes: 4096, max_entries: 4 };
            let mut s = StreamValue::new();
            let mut entries: BTreeMap<StreamId, ()> = BTreeMap::new();
            let mut pel: BTreeMap<StreamId, &'static [u8]> = BTreeMap::new();
            let mut next_ms = 1u64;
            let mut added = 0u64;
            let mut last_delivered = StreamId::MIN;
            s.create_group(b"g", StreamId::MIN, 0);
            for op in ops {
                match op {
                    Op::Add(n) => {
                        for _ in 0..n {
                            add(&mut s, next_ms, 0, limits);
                            entries.insert(StreamId::new(next_ms, 0), ());
                            next_ms += 1;
                            added += 1;
                        }
                    }
                    Op::Del(i) => {
                        let id = StreamId::new(i as u64 % next_ms.max(1), 0);
                        let gone = s.delete_entries(&[id]);
                        prop_assert_eq!(gone, entries.remove(&id).map_or(0, |_| 1));
                    }
                    Op::TrimMaxLen(n, approx) => {
                        let before = s.len();
                        let removed = s.trim(Trim::MaxLen(n as u64), approx, 0);
                        prop_assert_eq!(before - removed, s.len());
                        if !approx {
                            prop_assert_eq!(s.len(), (n as u64).min(before));
                        }
                        // Trimming removes the oldest entries.
                        while entries.len() as u64 > s.len() {
                            entries.pop_first();
                        }
                    }
                    Op::Read(bob, count) => {
                        let who = consumer(bob);
                        let read = s.with_group(b"g", |group, view| {
                            let (name, _) = group.lookup_or_create(who, 1);
                            let ids: Vec<StreamId> = view
                                .range(group.last_id.incr().unwrap_or(StreamId::MAX), StreamId::MAX, false)
                                .take(count as usize)
                                .map(|e| e.id)
                                .collect();
                            for &id in &ids {
                                view.advance_group(group, id);
                                group.deliver(id, &name, 1);
                            }
                            ids
                        }).unwrap();
                        let expected: Vec<StreamId> = entries
                            .range(last_delivered.incr().unwrap_or(StreamId::MAX)..)
                            .take(count as usize)
                            .map(|(id, _)| *id)
                            .collect();
                        prop_assert_eq!(&read, &expected);
                        for id in read {
                            pel.insert(id, who);
                            last_delivered = id;
                        }
                    }
                    Op::Ack(i) => {
                        let id = StreamId::new(i as u64 % next_ms.max(1), 0);
                        let acked = s.with_group(b"g", |group, _| group.ack(id)).unwrap();
                        prop_assert_eq!(acked, pel.remove(&id).is_some());
                    }
                    Op::Claim(i, bob) => {
                        let Some((&id, _)) = pel.iter().nth(i as usize % pel.len().max(1)) else {
                            continue;
                        };
                        let who = consumer(bob);
                        s.with_group(b"g", |group, _| {
                            let (name, _) = group.lookup_or_create(who, 2);
                            group.claim(id, &name, |nack| nack.delivery_time = 2);
                        });
                        pel.insert(id, who);
                    }
                }
                let got: Vec<StreamId> = s.range(StreamId::MIN, StreamId::MAX, false).map(|e| e.id).collect();
                let want: Vec<StreamId> = entries.keys().copied().collect();
                prop_assert_eq!(&got, &want);
                prop_assert_eq!(s.len(), entries.len() as u64);
                prop_assert_eq!(s.entries_added, added);
                prop_assert_eq!(s.last_id, StreamId::new(next_ms - 1, 0).max(StreamId::MIN));
                let g = s.group(b"g").unwrap();
                prop_assert_eq!(g.last_id, last_delivered);
                prop_assert_eq!(g.pel.len(), pel.len());
                for who in [false, true] {
                    let name = consumer(who);
                    let owned = pel.values().filter(|c| **c == name).count();
                    prop_assert_eq!(g.consumer(name).map_or(0, |c| c.pel.len()), owned);
                }
                // Lag, when known, counts the entries added after the group's last one.
                if let Some(lag) = s.entries().lag(g) {
                    let after = entries.range(last_delivered.incr().unwrap_or(StreamId::MAX)..).count() as i64;
                    prop_assert!(lag >= after);
                    if g.entries_read != ENTRIES_READ_UNKNOWN
                        && !s.entries().has_tombstones_from(last_delivered)
                    {
                        prop_assert_eq!(g.entries_read + lag, added as i64);
                    }
                }
                prop_assert_eq!(s.memory(), s.recount());
            }
        }
    }
}
