use super::*;

#[test]
fn entry_is_small() {
    assert_eq!(std::mem::size_of::<Entry>(), 8);
    assert_eq!(std::mem::size_of::<Option<Entry>>(), 8);
    // One 48-byte allocation (40 asked) holds the block's pointer, the labels' pointer (tags
    // and parents in one `thin::Pair`) and a boxed collection or a spilled value.
    assert_eq!(std::mem::size_of::<Rich>(), 40);
    // The benchmark's key: 16 bytes of key and 100 of value take a 6-byte header and the
    // block's 1-byte length, 123 bytes in jemalloc's 128-byte class; a TTL adds 8 and crosses
    // into the 160-byte class.
    let mut e = Entry::new_string(&[b'k'; 16], &[b'v'; 100], 0);
    assert_eq!((e.block().len(), e.block().alloc_len()), (122, 123));
    assert_eq!(e.memory(), 128);
    e.set_expire_at(1);
    assert_eq!(e.memory(), 160);
    // At 128 bytes and more the length takes 2 bytes: 126 + 2 still fits the class.
    let e = Entry::new_string(&[b'k'; 16], &[b'v'; 104], 0);
    assert_eq!(
        (e.block().len(), e.block().alloc_len(), e.memory()),
        (126, 127, 128)
    );
    let e = Entry::new_string(&[b'k'; 16], &[b'v'; 106], 0);
    assert_eq!(
        (e.block().len(), e.block().alloc_len(), e.memory()),
        (128, 130, 160)
    );
}

#[test]
fn header_fields_round_trip_and_leave_key_and_value_alone() {
    let key = vec![b'a'; 300]; // a two-byte key length
    let mut e = Entry::new_string(&key, b"value", (1 << 24) - 1);
    assert_eq!(e.lru(), (1 << 24) - 1);
    assert_eq!((e.expire_at(), e.cost(), e.lfu()), (0, 1, LFU_INIT_VAL));
    e.set_expire_at(u64::MAX);
    e.set_meta(CacheMeta {
        priority: Priority::Critical,
        cost: u32::MAX,
        tags: None,
    });
    e.set_lfu(255);
    e.set_lru(7);
    e.set_in_window(true);
    assert_eq!(e.expire_at(), u64::MAX);
    assert!(e.has_expiry() && e.in_window() && !e.is_expired(u64::MAX - 1));
    assert_eq!(
        (e.cost(), e.priority(), e.lfu(), e.lru()),
        (u32::MAX, Priority::Critical, 255, 7)
    );
    assert_eq!(
        (e.key(), e.str_bytes().as_deref()),
        (&key[..], Some(&b"value"[..]))
    );
    let bytes_with_both = e.block().len();
    e.set_expire_at(0);
    assert_eq!(e.block().len(), bytes_with_both - 8);
    assert_eq!((e.expire_at(), e.cost(), e.lru()), (0, u32::MAX, 7));
    e.set_meta(CacheMeta::default());
    assert_eq!(e.block().len(), bytes_with_both - 12);
    assert_eq!(
        (e.cost(), e.priority(), e.key()),
        (1, Priority::Normal, &key[..])
    );
    assert!(e.in_window());
    e.set_in_window(false);
    assert!(!e.in_window());
    assert_eq!(e.str_bytes().as_deref(), Some(&b"value"[..]));
    let renamed = e.into_renamed(b"k");
    assert_eq!(
        (renamed.key(), renamed.str_bytes().as_deref(), renamed.lru()),
        (&b"k"[..], Some(&b"value"[..]), 7)
    );
}

#[test]
fn a_compressed_string_keeps_its_flag_through_rebuilds_and_reads_whole() {
    use crate::engine::compress::{Level, Settings};
    let value = b"{\"field\":\"value\"}".repeat(100);
    let mut e = Entry::new_string(b"k", &value, 0);
    e.compress(Settings::explicit(Level::Fast));
    assert!(e.is_compressed());
    assert_eq!((e.string_len(), e.encoding()), (value.len(), "raw"));
    // An expiry and a cost lay the block out again; the flag and frame must follow.
    e.set_expire_at(123);
    e.set_meta(CacheMeta {
        cost: 7,
        ..CacheMeta::default()
    });
    let copy = e.clone_with_key(b"other");
    for entry in [&e, &copy] {
        assert!(entry.is_compressed());
        assert_eq!(entry.string_value().as_deref(), Some(&value[..]));
        assert_eq!(entry.expire_at(), 123);
    }
    // An edit stores the result raw; bit edits see the original bytes.
    e.modify_string(|bytes| bytes.push(b'!'));
    assert!(!e.is_compressed());
    assert_eq!(e.string_len(), value.len() + 1);
    let mut bits = copy.clone_with_key(b"bits");
    assert_eq!(bits.string_bytes_mut(0).map(|b| b.len()), Some(value.len()));
    assert!(!bits.is_compressed());
    // Raw strings (edited ones) and integers are never compressed.
    let mut raw = Entry::new_raw_string(b"r", &value, 0);
    raw.compress(Settings::explicit(Level::Fast));
    assert!(!raw.is_compressed());
}

#[test]
fn strings_and_ints_round_trip() {
    let mut e = Entry::new_string(b"k", b"123", 0);
    assert_eq!(e.encoding(), "int");
    assert_eq!(&*e.string_value().unwrap(), b"123");
    e.set_string(b"hello");
    assert_eq!(e.encoding(), "embstr");
    assert_eq!(e.key(), b"k");
    e.modify_string(|v| v.extend_from_slice(b"!"));
    assert_eq!(e.str_bytes().as_deref().unwrap(), b"hello!");
    assert_eq!(e.encoding(), "raw");
    e.set_int(-5);
    assert_eq!(&*e.string_value().unwrap(), b"-5");
    assert_eq!(e.key(), b"k");
    e.set_int(i64::MIN);
    assert_eq!(e.value(), Value::Int(i64::MIN));
    assert_eq!(e.memory(), 16);
}

#[test]
fn in_place_edits_pad_unshare_and_keep_the_key() {
    let mut e = Entry::new_string(b"key", b"12", 0);
    let bytes = e.string_bytes_mut(0).unwrap();
    assert_eq!(bytes, b"12");
    bytes[0] = b'3';
    assert_eq!(e.encoding(), "raw");
    assert_eq!(e.string_bytes_mut(4).unwrap(), b"32\0\0");
    assert_eq!(e.key(), b"key");
    assert_eq!(&*e.string_value().unwrap(), b"32\0\0");
    let raw = Entry::new_raw_string(b"k", b"7", 0);
    assert_eq!(raw.encoding(), "raw");
    assert_eq!(raw.value(), Value::Str { raw: true });
}

#[test]
fn metadata_survives_copies_and_is_counted() {
    let mut e = Entry::new_string(b"k", b"v", 0);
    assert_eq!(e.meta(), CacheMeta::default());
    let plain = e.memory();
    e.set_meta(CacheMeta {
        priority: Priority::High,
        cost: 7,
        tags: Some(vec![Name::new(b"user:1")].into_boxed_slice()),
    });
    assert!(e.memory() > plain);
    let copy = e.clone_with_key(b"other");
    assert_eq!(copy.priority(), Priority::High);
    assert_eq!(copy.cost(), 7);
    assert_eq!(copy.tags(), e.tags());
    assert_eq!(Priority::parse(b"CRITICAL"), Some(Priority::Critical));
}

#[test]
fn a_value_that_would_cross_into_a_larger_class_spills() {
    let key = [b'k'; 16];
    // 2 + 6 + 16 + 488 = 512 bytes (the block's length, header, key, value) fill their class:
    // one block.
    let e = Entry::new_string(&key, &[b'v'; 488], 0);
    assert!(matches!(e.0.get(), thin::Ref::Plain(_)));
    assert_eq!(e.memory(), 512);
    // 524 bytes would take the 640-byte class: 32 + 512 + the 48-byte box.
    let value = [b'v'; 500];
    let mut e = Entry::new_string(&key, &value, 0);
    assert_eq!((e.block().len(), e.memory()), (22, 592));
    assert_eq!(e.str_bytes().as_deref(), Some(&value[..]));
    assert_eq!((e.string_len(), e.encoding()), (500, "raw"));
    // Header changes lay the block out again and keep the value where it is.
    e.set_expire_at(42);
    e.set_meta(CacheMeta {
        priority: Priority::High,
        cost: 9,
        tags: Some(vec![Name::new(b"t")].into_boxed_slice()),
    });
    assert_eq!((e.key(), e.expire_at(), e.cost()), (&key[..], 42, 9));
    assert_eq!(e.str_bytes().as_deref(), Some(&value[..]));
    e.set_meta(CacheMeta::default());
    assert!(matches!(e.0.get(), thin::Ref::Rich(_)) && !e.has_labels());
    // Copies hold the value once.
    let copy = e.clone_with_key(b"other");
    assert_eq!(copy.str_bytes().as_deref(), Some(&value[..]));
    assert_eq!(copy.key(), b"other");
    let renamed = copy.into_renamed(&key);
    assert_eq!(renamed.memory(), e.memory());
    assert_eq!(renamed.str_bytes().as_deref(), Some(&value[..]));
    // Overwritten with as many bytes, the value is copied where it is.
    let (before, other) = (e.identity(), [b'w'; 500]);
    e.set_string(&other);
    assert_eq!(e.identity(), before);
    assert_eq!(e.str_bytes().as_deref(), Some(&other[..]));
    // In-place edits reach the spilled bytes, padding them like a block's.
    let bytes = e.string_bytes_mut(600).unwrap();
    assert_eq!(bytes.len(), 600);
    bytes[599] = b'!';
    assert_eq!(e.string_len(), 600);
    assert_eq!(e.str_bytes().unwrap()[599], b'!');
    assert_eq!(e.encoding(), "raw");
    // A shorter value goes back into the block, a number into its 8 bytes.
    e.set_string(b"short");
    assert!(matches!(e.0.get(), thin::Ref::Plain(_)));
    assert_eq!(e.str_bytes().as_deref(), Some(&b"short"[..]));
    e.modify_string(|v| v.extend_from_slice(&value[..495]));
    assert!(e.spilled().is_some() && e.string_len() == 500);
    e.set_int(7);
    assert!(matches!(e.0.get(), thin::Ref::Plain(_)) && e.value() == Value::Int(7));
    // A collection's key given a long string keeps its labels beside the spilled value.
    let mut c = Entry::new_collection(&key, Collection::Set(Box::default()), 0);
    c.set_meta(CacheMeta {
        tags: Some(vec![Name::new(b"t")].into_boxed_slice()),
        ..CacheMeta::default()
    });
    c.set_string(&value);
    assert!(c.collection().is_none() && c.has_labels() && c.spilled().is_some());
    assert_eq!(c.str_bytes().as_deref(), Some(&value[..]));
}

#[test]
fn extras_come_and_go_with_what_they_hold() {
    let tag = || Some(vec![Name::new(b"t")].into_boxed_slice());
    let mut e = Entry::new_string(b"k", b"v", 3);
    let plain = e.memory();
    e.set_meta(CacheMeta {
        tags: tag(),
        ..CacheMeta::default()
    });
    assert!(matches!(e.0.get(), thin::Ref::Rich(_)) && e.has_labels());
    // A tag costs the 48-byte box and 16 bytes for the pair: two lengths and one name; two
    // names more take the 32-byte class.
    assert_eq!(e.memory(), plain + 48 + 16);
    e.replace_parents(vec![Name::new(b"p1"), Name::new(b"p2")].into_boxed_slice());
    assert_eq!(e.memory(), plain + 48 + 32);
    let names = |list: &[Name]| list.iter().map(|n| n.to_vec()).collect::<Vec<_>>();
    assert_eq!(names(e.tags()), [b"t".to_vec()]);
    assert_eq!(names(e.parents()), [b"p1".to_vec(), b"p2".to_vec()]);
    assert_eq!(
        e.meta().tags.as_deref().map(names),
        Some(vec![b"t".to_vec()])
    );
    let (tags, parents) = e.labels_mut();
    std::mem::swap(&mut tags[0], &mut parents[1]);
    assert_eq!(names(e.tags()), [b"p2".to_vec()]);
    // Tags cleared, the parents stay; and the reverse.
    e.replace_tags(Box::default());
    assert!(e.tags().is_empty() && e.parents().len() == 2 && e.meta().tags.is_none());
    assert_eq!(e.memory(), plain + 48 + 32);
    e.replace_tags(tag().unwrap());
    e.replace_parents(Box::default());
    assert_eq!(
        (names(e.tags()), e.parents().len()),
        (vec![b"t".to_vec()], 0)
    );
    assert_eq!(e.memory(), plain + 48 + 16);
    e.set_meta(CacheMeta::default());
    assert!(matches!(e.0.get(), thin::Ref::Plain(_)) && !e.has_labels());
    assert_eq!(
        (e.memory(), e.key(), e.str_bytes().as_deref()),
        (plain, &b"k"[..], Some(&b"v"[..]))
    );
    // A collection replaced by a string keeps its tags, and loses its extra once they go too.
    let set = Collection::Set(Box::default());
    let mut c = Entry::new_collection(b"c", set, 3);
    c.set_meta(CacheMeta {
        tags: tag(),
        ..CacheMeta::default()
    });
    c.set_string(b"s");
    assert!(
        c.collection().is_none() && c.has_labels() && c.str_bytes().as_deref() == Some(&b"s"[..])
    );
    c.replace_tags(Box::default());
    assert!(matches!(c.0.get(), thin::Ref::Plain(_)));
    let renamed =
        Entry::new_collection(b"c", Collection::Set(Box::default()), 9).into_renamed(b"d");
    assert!(renamed.set().is_some() && renamed.key() == b"d" && renamed.lru() == 9);
}
