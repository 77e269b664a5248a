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
