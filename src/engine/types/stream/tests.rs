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

/// A stream and three groups against a plain model (entries in a BTreeMap; per group its last
/// delivered ID, the PEL a map to its owner, its consumers): random appends, deletions, exact
/// and approximate trims by MAXLEN and MINID with and without LIMIT, reads of new entries by one
/// of three consumers, acks, claims, consumer deletions, groups destroyed and created again at
/// any ID (entries read known or not); after each step the entries, length, first, last and
/// largest deleted IDs, entries added, each group's last ID, pending counts (per group and per
/// consumer), consumers and lag agree, and the byte count equals a recount. (XSETID, XGROUP
/// SETID's ENTRIESREAD, XAUTOCLAIM and the other command-level options are checked against
/// redis-server itself by tests/stream_model.rs.)
mod model {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    const GROUPS: usize = 3;
    const NAMES: [&[u8]; GROUPS] = [b"g0", b"g1", b"g2"];
    const CONSUMERS: [&[u8]; 3] = [b"alice", b"bob", b"carol"];

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8),
        Del(u8),
        TrimMaxLen(u8, bool, u8),
        TrimMinId(u8, bool, u8),
        Read(usize, usize, u8),
        Ack(usize, u8),
        Claim(usize, u8, usize),
        DelConsumer(usize, usize),
        Destroy(usize),
        /// Create group at the entry this far back from the newest, its entries-read known or not.
        Create(usize, u8, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        let g = 0..GROUPS;
        let c = 0..CONSUMERS.len();
        prop_oneof![
            8 => (1u8..4).prop_map(Op::Add),
            2 => any::<u8>().prop_map(Op::Del),
            1 => (0u8..30, any::<bool>(), 0u8..12).prop_map(|(n, a, l)| Op::TrimMaxLen(n, a, l)),
            1 => (0u8..30, any::<bool>(), 0u8..12).prop_map(|(n, a, l)| Op::TrimMinId(n, a, l)),
            5 => (g.clone(), c.clone(), 1u8..5).prop_map(|(g, c, n)| Op::Read(g, c, n)),
            2 => (g.clone(), any::<u8>()).prop_map(|(g, i)| Op::Ack(g, i)),
            2 => (g.clone(), any::<u8>(), c.clone()).prop_map(|(g, i, c)| Op::Claim(g, i, c)),
            1 => (g.clone(), c).prop_map(|(g, c)| Op::DelConsumer(g, c)),
            1 => g.clone().prop_map(Op::Destroy),
            1 => (g, 0u8..20, any::<bool>()).prop_map(|(g, b, k)| Op::Create(g, b, k)),
        ]
    }

    #[derive(Debug, Default)]
    struct GroupModel {
        last_delivered: StreamId,
        pel: BTreeMap<StreamId, &'static [u8]>,
        consumers: BTreeSet<&'static [u8]>,
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn stream_and_groups_follow_the_model(ops in prop::collection::vec(op(), 1..150)) {
            let limits = NodeLimits { max_bytes: 4096, max_entries: 4 };
            let mut s = StreamValue::new();
            let mut entries: BTreeMap<StreamId, ()> = BTreeMap::new();
            let mut groups: [Option<GroupModel>; GROUPS] = Default::default();
            let mut next_ms = 1u64;
            let mut added = 0u64;
            let mut max_deleted = StreamId::MIN;
            for (at, name) in NAMES.iter().enumerate() {
                s.create_group(name, StreamId::MIN, 0);
                groups[at] = Some(GroupModel::default());
            }
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
                        let id = StreamId::new(i as u64 % next_ms, 0);
                        let gone = s.delete_entries(&[id]);
                        let expected = entries.remove(&id).map_or(0, |_| 1);
                        prop_assert_eq!(gone, expected);
                        if gone > 0 {
                            max_deleted = max_deleted.max(id);
                        }
                    }
                    Op::TrimMaxLen(n, approx, limit) => {
                        let before = s.len();
                        let limit = if approx { limit as i64 } else { 0 };
                        let removed = s.trim(Trim::MaxLen(n as u64), approx, limit);
                        prop_assert_eq!(before - removed, s.len());
                        if !approx {
                            prop_assert_eq!(s.len(), (n as u64).min(before));
                        } else {
                            prop_assert!(s.len() >= (n as u64).min(before));
                            if limit > 0 {
                                prop_assert!(removed <= limit as u64);
                            }
                        }
                        // Trimming removes the oldest entries.
                        while entries.len() as u64 > s.len() {
                            entries.pop_first();
                        }
                    }
                    Op::TrimMinId(back, approx, limit) => {
                        let min = StreamId::new(next_ms.saturating_sub(back as u64), 0);
                        let before = s.len();
                        let limit = if approx { limit as i64 } else { 0 };
                        let removed = s.trim(Trim::MinId(min), approx, limit);
                        prop_assert_eq!(before - removed, s.len());
                        let below = entries.range(..min).count() as u64;
                        if approx {
                            prop_assert!(removed <= below);
                            if limit > 0 {
                                prop_assert!(removed <= limit as u64);
                            }
                        } else {
                            prop_assert_eq!(removed, below);
                        }
                        while entries.len() as u64 > s.len() {
                            entries.pop_first();
                        }
                    }
                    Op::Read(g, c, count) => {
                        let Some(model) = groups[g].as_mut() else {
                            prop_assert!(s.group(NAMES[g]).is_none());
                            continue;
                        };
                        let who = CONSUMERS[c];
                        let read = s.with_group(NAMES[g], |group, view| {
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
                            .range(model.last_delivered.incr().unwrap_or(StreamId::MAX)..)
                            .take(count as usize)
                            .map(|(id, _)| *id)
                            .collect();
                        prop_assert_eq!(&read, &expected);
                        model.consumers.insert(who);
                        for id in read {
                            model.pel.insert(id, who);
                            model.last_delivered = id;
                        }
                    }
                    Op::Ack(g, i) => {
                        let id = StreamId::new(i as u64 % next_ms, 0);
                        let acked = s.with_group(NAMES[g], |group, _| group.ack(id));
                        let expected = groups[g].as_mut().map(|m| m.pel.remove(&id).is_some());
                        prop_assert_eq!(acked, expected);
                    }
                    Op::Claim(g, i, c) => {
                        let Some(model) = groups[g].as_mut() else { continue };
                        let Some((&id, _)) = model.pel.iter().nth(i as usize % model.pel.len().max(1)) else {
                            continue;
                        };
                        let who = CONSUMERS[c];
                        s.with_group(NAMES[g], |group, _| {
                            let (name, _) = group.lookup_or_create(who, 2);
                            group.claim(id, &name, |nack| nack.delivery_time = 2);
                        });
                        model.pel.insert(id, who);
                        model.consumers.insert(who);
                    }
                    Op::DelConsumer(g, c) => {
                        let who = CONSUMERS[c];
                        let pending = s.with_group(NAMES[g], |group, _| group.delete_consumer(who));
                        let expected = groups[g].as_mut().map(|m| {
                            m.consumers.remove(who).then(|| {
                                let before = m.pel.len();
                                m.pel.retain(|_, owner| *owner != who);
                                before - m.pel.len()
                            })
                        });
                        prop_assert_eq!(pending, expected);
                    }
                    Op::Destroy(g) => {
                        prop_assert_eq!(s.destroy_group(NAMES[g]), groups[g].take().is_some());
                    }
                    Op::Create(g, back, known) => {
                        let at = entries.keys().rev().nth(back as usize).copied().unwrap_or(StreamId::MIN);
                        // Entries read: the entries added up to `at` (IDs are 1-0, 2-0... ).
                        let read = if known { at.ms as i64 } else { ENTRIES_READ_UNKNOWN };
                        let created = s.create_group(NAMES[g], at, read);
                        prop_assert_eq!(created, groups[g].is_none());
                        if created {
                            groups[g] = Some(GroupModel { last_delivered: at, ..GroupModel::default() });
                        }
                    }
                }
                let got: Vec<StreamId> = s.range(StreamId::MIN, StreamId::MAX, false).map(|e| e.id).collect();
                let want: Vec<StreamId> = entries.keys().copied().collect();
                prop_assert_eq!(&got, &want);
                prop_assert_eq!(s.len(), entries.len() as u64);
                prop_assert_eq!(s.entries_added, added);
                prop_assert_eq!(s.last_id, StreamId::new(next_ms - 1, 0));
                prop_assert_eq!(s.max_deleted, max_deleted);
                let first = entries.keys().next().copied().unwrap_or(StreamId::MIN);
                prop_assert_eq!(s.first_id, first);
                prop_assert_eq!(s.group_count(), groups.iter().flatten().count());
                for (at, model) in groups.iter().enumerate() {
                    let Some(model) = model else { continue };
                    let g = s.group(NAMES[at]).unwrap();
                    prop_assert_eq!(g.last_id, model.last_delivered);
                    prop_assert_eq!(g.pel.len(), model.pel.len());
                    let names: Vec<&[u8]> = g.consumers.iter().map(|(name, _)| &**name).collect();
                    let want: Vec<&[u8]> = model.consumers.iter().copied().collect();
                    prop_assert_eq!(names, want);
                    for who in CONSUMERS {
                        let owned = model.pel.values().filter(|c| **c == who).count();
                        prop_assert_eq!(g.consumer(who).map_or(0, |c| c.pel.len()), owned);
                    }
                    // Lag, when known, counts the entries added after the group's last one.
                    if let Some(lag) = s.entries().lag(g) {
                        let after = entries
                            .range(model.last_delivered.incr().unwrap_or(StreamId::MAX)..)
                            .count() as i64;
                        prop_assert!(lag >= after);
                        if g.entries_read != ENTRIES_READ_UNKNOWN
                            && !s.entries().has_tombstones_from(model.last_delivered)
                        {
                            prop_assert_eq!(g.entries_read + lag, added as i64);
                        }
                    }
                }
                prop_assert_eq!(s.memory(), s.recount());
            }
        }
    }
}
