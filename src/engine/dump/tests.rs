use super::*;

fn limits() -> RestoreLimits {
    RestoreLimits {
        hash: HashLimits::default(),
        zset: ZSetLimits::default(),
        max_intset_entries: 512,
    }
}

fn round_trip(entry: &Entry) -> Entry {
    let payload = dump(entry, -2);
    let body = verify(&payload).expect("verified");
    match restore(body, limits()).expect("restored") {
        Restored::String(bytes) => Entry::new_string(b"k", &bytes, 0),
        Restored::Collection(collection) => Entry::new_collection(b"k", collection, 0),
    }
}

fn list_entry(elements: &[Vec<u8>]) -> Entry {
    Entry::new_collection(b"k", list_of(elements), 0)
}

#[test]
fn strings_and_integers_round_trip() {
    for value in [&b"hello"[..], b"12", b"-9223372036854775808", &[b'z'; 3000]] {
        let back = round_trip(&Entry::new_string(b"k", value, 0));
        assert_eq!(&*back.string_value().unwrap(), value);
    }
}

#[test]
fn collections_round_trip_in_both_encodings() {
    for n in [3usize, 5000] {
        let elements: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("e{}", i % 977).into_bytes())
            .collect();
        let back = round_trip(&list_entry(&elements));
        let got: Vec<&[u8]> = back.list().unwrap().iter().collect();
        assert_eq!(got, elements.iter().map(|e| &e[..]).collect::<Vec<_>>());

        let mut hash = HashValue::new();
        let mut zset = ZSetValue::new();
        let mut ints = SetValue::default();
        let mut words = SetValue::default();
        for i in 0..n {
            hash.set(
                format!("f{i}").as_bytes(),
                format!("{i}").as_bytes(),
                HashLimits::default(),
            );
            zset.insert(
                format!("m{i}").as_bytes(),
                i as f64 / 3.0,
                ZSetLimits::default(),
            );
            ints.add(format!("{}", i as i64 * 1_000_003 - 7).as_bytes(), 512);
            words.add(format!("w{i}").as_bytes(), 512);
        }
        let back = round_trip(&Entry::new_collection(b"k", Collection::Hash(hash), 0));
        let hash = back.hash().unwrap();
        assert_eq!(hash.len(), n);
        assert_eq!(hash.get(b"f1").unwrap(), b"1");
        let back = round_trip(&Entry::new_collection(
            b"k",
            Collection::ZSet(Box::new(zset)),
            0,
        ));
        let zset = back.zset().unwrap();
        assert_eq!(zset.len(), n);
        assert_eq!(zset.score(b"m2"), Some(2.0 / 3.0));
        for set in [ints, words] {
            let encoding = set.encoding();
            let back = round_trip(&Entry::new_collection(
                b"k",
                Collection::Set(Box::new(set)),
                0,
            ));
            assert_eq!(back.set().unwrap().len(), n);
            assert_eq!(back.set().unwrap().encoding(), encoding);
        }
    }
}

#[test]
fn version_and_checksum_are_checked() {
    let payload = dump(&Entry::new_string(b"k", b"value", 0), -2);
    let mut later = payload.clone();
    let at = later.len() - 10;
    later[at] = 11;
    assert!(verify(&later).is_err());
    let mut damaged = payload.clone();
    damaged[2] ^= 1;
    assert!(verify(&damaged).is_err());
    assert!(verify(&payload[..5]).is_err());
    let mut unchecked = payload.clone();
    let n = unchecked.len();
    unchecked[n - 8..].fill(0);
    assert!(verify(&unchecked).is_err());
}

#[test]
fn damaged_bodies_are_errors_never_panics() {
    let elements: Vec<Vec<u8>> = (0..300).map(|i| format!("{i}x").into_bytes()).collect();
    let mut hash = HashValue::new();
    hash.set(b"f", b"v", HashLimits::default());
    let entries = [
        list_entry(&elements),
        Entry::new_collection(b"k", Collection::Hash(hash), 0),
        Entry::new_string(b"k", &[b'q'; 100], 0),
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    for entry in &entries {
        let payload = dump(entry, -2);
        let body = verify(&payload).unwrap().to_vec();
        for cut in 0..body.len() {
            assert!(restore(&body[..cut], limits()).is_err());
        }
        for _ in 0..2000 {
            let mut bent = body.clone();
            let at = rng.usize(..bent.len());
            bent[at] = rng.u8(..);
            let _ = restore(&bent, limits());
        }
    }
}

#[test]
fn empty_collections_and_duplicates_are_bad_data() {
    let mut body = vec![TYPE_SET];
    rdb::put_len(&mut body, 2);
    rdb::put_string(&mut body, b"a");
    rdb::put_string(&mut body, b"a");
    assert!(restore(&body, limits()).is_err());
    let body = [TYPE_HASH, 0];
    assert!(restore(&body, limits()).is_err());
}

fn stream_of(ids: &[u64]) -> StreamValue {
    use crate::engine::types::stream::{NewId, NodeLimits};
    let mut stream = StreamValue::new();
    for &ms in ids {
        let pairs: [&[u8]; 2] = [b"f", b"v"];
        stream
            .append(
                NewId::Exact(StreamId::new(ms, 0)),
                &pairs,
                NodeLimits::default(),
            )
            .unwrap();
    }
    stream
}

/// A stream as Redis before 7.0 wrote it (type 15): no first ID, largest deleted ID, entries
/// added or read counters, which RESTORE derives as Redis's `rdbLoadObject` does.
#[test]
fn pre_7_streams_restore_with_derived_counters() {
    let mut stream = stream_of(&[5, 6, 7]);
    stream.delete_entries(&[StreamId::new(5, 0)]);
    let mut body = vec![TYPE_STREAM_LISTPACKS];
    rdb::put_len(&mut body, stream.node_count() as u64);
    for (id, lp) in stream.node_listpacks() {
        rdb::put_string(&mut body, &id.to_be_bytes());
        rdb::put_string(&mut body, lp);
    }
    rdb::put_len(&mut body, stream.len());
    rdb::put_len(&mut body, 7);
    rdb::put_len(&mut body, 0);
    rdb::put_len(&mut body, 1);
    rdb::put_string(&mut body, b"g");
    rdb::put_len(&mut body, 6);
    rdb::put_len(&mut body, 0);
    rdb::put_len(&mut body, 0);
    rdb::put_len(&mut body, 0);
    let Restored::Collection(Collection::Stream(back)) = restore(&body, limits()).unwrap() else {
        panic!("a stream");
    };
    assert_eq!(back.len(), 2);
    assert_eq!(back.first_id, StreamId::new(6, 0));
    assert_eq!(back.max_deleted, StreamId::MIN);
    assert_eq!(back.entries_added, 2);
    // Group at 6-0, the first live entry: one entry read of the two added.
    assert_eq!(back.group(b"g").unwrap().entries_read, 1);
}

#[test]
fn stream_nodes_out_of_order_or_inconsistent_are_bad_data() {
    let stream = stream_of(&[1, 2]);
    let lp = stream.node_listpacks().next().unwrap().1.to_vec();
    let body = |key: StreamId, length: u64, last: u64| {
        let mut body = vec![TYPE_STREAM_LISTPACKS_2];
        rdb::put_len(&mut body, 1);
        rdb::put_string(&mut body, &key.to_be_bytes());
        rdb::put_string(&mut body, &lp);
        rdb::put_len(&mut body, length);
        for id in [last, 0, 1, 0, 0, 0] {
            rdb::put_len(&mut body, id);
        }
        rdb::put_len(&mut body, length);
        rdb::put_len(&mut body, 0);
        body
    };
    assert!(restore(&body(StreamId::new(1, 0), 2, 2), limits()).is_ok());
    // Length not the node's live entries; last ID below an entry.
    assert!(restore(&body(StreamId::new(1, 0), 3, 2), limits()).is_err());
    assert!(restore(&body(StreamId::new(1, 0), 2, 1), limits()).is_err());
}
