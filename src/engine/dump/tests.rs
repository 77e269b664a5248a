use super::*;

fn limits() -> RestoreLimits {
    RestoreLimits {
        hash: HashLimits::default(),
        zset: ZSetLimits::default(),
        list_fill: -2,
        max_intset_entries: 512,
    }
}

fn round_trip(entry: &Entry) -> Box<Entry> {
    let payload = dump(entry, -2);
    let body = verify(&payload).expect("verified");
    match restore(body, limits()).expect("restored") {
        Restored::String(bytes) => Entry::new_string(b"k", &bytes, 0),
        Restored::Collection(collection) => Entry::new_collection(b"k", collection, 0),
    }
}

fn list_entry(elements: &[Vec<u8>]) -> Box<Entry> {
    Entry::new_collection(b"k", list_of(elements, -2), 0)
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
