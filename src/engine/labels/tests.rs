use super::*;

#[test]
fn add_remove_and_memory_return_to_zero() {
    let names = Names::default();
    let mut index = LabelIndex::default();
    for key in 0..1000u64 {
        index.add(&names, b"user:1", key, 100);
        index.add(&names, b"all", key, 100);
    }
    assert_eq!(index.get(b"user:1").map(Label::len), Some(1000));
    assert_eq!(index.get(b"all").map(|l| l.entry_bytes), Some(100_000));
    assert_eq!(index.memory(), index.recount());
    for key in 0..1000u64 {
        index.remove(&names, b"user:1", key, 100);
        index.remove(&names, b"all", key, 100);
        assert_eq!(index.memory(), index.recount());
    }
    assert!(index.is_empty());
    assert_eq!(index.memory(), 0);
    assert!(names.is_empty() && names.memory() == 0);
}

#[test]
fn invalidation_makes_old_members_stale_until_swept() {
    let names = Names::default();
    let mut index = LabelIndex::default();
    index.add(&names, b"t", 1, 10);
    index.add(&names, b"t", 2, 10);
    let taken = index.take(&names, LabelKind::Tag, b"t").map(|t| t.len());
    assert_eq!(taken, Some(2));
    assert!(index.is_stale(b"t", 1) && index.is_stale(b"t", 2));
    // Written again after the invalidation: live.
    index.add(&names, b"t", 2, 10);
    assert!(!index.is_stale(b"t", 2));
    assert!(index.take(&names, LabelKind::Tag, b"absent").is_none());
    index.remove(&names, b"t", 2, 10);
    index.sweep_done(&names, b"t");
    assert!(!index.is_stale(b"t", 1));
    assert!(index.is_empty());
    assert_eq!(index.memory(), index.recount());
    assert!(names.is_empty());
}

#[test]
fn one_name_is_shared_by_every_index_and_freed_with_the_last() {
    let names = Names::default();
    let (mut a, mut b) = (LabelIndex::default(), LabelIndex::default());
    let (_, first, name_a) = a.add(&names, b"tag", 1, 10);
    assert!(first);
    let (_, _, again) = a.add(&names, b"tag", 2, 10);
    let (_, first_b, name_b) = b.add(&names, b"tag", 3, 10);
    // One copy: the same pointer for every key and every index.
    assert!(first_b && name_a.same(&again) && name_a.same(&name_b));
    assert_eq!((names.len(), names.holders(b"tag")), (1, 2));
    let one_name = names.memory();
    assert_eq!(one_name, names.recount());
    assert!(one_name >= alloc_size(3));
    // Index `a` still lists key 2: the name stays.
    a.remove(&names, b"tag", 1, 10);
    assert_eq!(names.holders(b"tag"), 2);
    b.remove(&names, b"tag", 3, 10);
    assert_eq!(names.holders(b"tag"), 1);
    a.remove(&names, b"tag", 2, 10);
    assert_eq!(names.holders(b"tag"), 0);
    assert!(names.is_empty() && names.memory() == 0);
    // Interned again from scratch, under a new copy.
    let (_, _, fresh) = a.add(&names, b"tag", 1, 10);
    assert!(!fresh.same(&name_a) && *fresh == *name_a);
    assert_eq!(names.memory(), one_name);
}

#[test]
fn a_pending_invalidation_keeps_the_name() {
    let names = Names::default();
    let mut index = LabelIndex::default();
    index.add(&names, b"t", 1, 10);
    let taken = index.take(&names, LabelKind::Tag, b"t");
    assert!(taken.is_some());
    // No key is listed, but the sweep has not finished: stale entries are still told apart.
    assert_eq!(names.holders(b"t"), 1);
    assert!(index.is_stale(b"t", 1));
    index.sweep_done(&names, b"t");
    assert!(names.is_empty() && index.is_empty());
}

#[test]
fn many_names_reuse_freed_slots_and_memory_returns_to_zero() {
    let names = Names::default();
    let mut index = LabelIndex::default();
    for round in 0..3 {
        for i in 0..500u64 {
            index.add(&names, format!("n:{i}").as_bytes(), i + round, 1);
        }
        assert_eq!(names.len(), 500);
        assert_eq!(names.memory(), names.recount());
        for i in 0..500u64 {
            index.remove(&names, format!("n:{i}").as_bytes(), i + round, 1);
        }
        assert!(names.is_empty());
        assert_eq!(names.memory(), 0);
        assert_eq!(index.memory(), 0);
    }
}

#[test]
fn a_label_with_one_key_holds_it_inline() {
    let names = Names::default();
    let mut index = LabelIndex::default();
    index.add(&names, b"t", 7, 1);
    let one = index.memory();
    assert_eq!(one, index.recount());
    index.add(&names, b"t", 8, 1);
    assert!(index.memory() > one);
    index.remove(&names, b"t", 7, 1);
    // Back to one key: back inline, the set given back.
    assert_eq!(index.memory(), one);
    let mut seen = Vec::new();
    assert_eq!(
        index.get(b"t").map(|l| l.walk(0, 10, |h| seen.push(h))),
        Some(None)
    );
    assert_eq!(seen, [8]);
    assert!(std::mem::size_of::<Label>() <= 48);
}
