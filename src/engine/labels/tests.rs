use super::*;
use crate::engine::entry::{CacheMeta, Entry};
use crate::engine::memory::alloc_size;

const TAG: LabelKind = LabelKind::Tag;

fn index() -> (Names, LabelIndex) {
    (Names::default(), LabelIndex::new(64, 2))
}

fn label<R>(index: &LabelIndex, db: usize, name: &[u8], f: impl FnOnce(&Label) -> R) -> Option<R> {
    index.with(TAG, db, name, f)
}

fn tagged(key: &[u8], tags: &[&[u8]]) -> Entry {
    let mut entry = Entry::new_string(key, b"v", 0);
    let tags = tags.iter().map(|t| Name::new(t)).collect();
    entry.set_meta(CacheMeta {
        tags: Some(tags),
        ..CacheMeta::default()
    });
    entry
}

#[test]
fn add_remove_and_memory_return_to_zero() {
    let (names, index) = index();
    for key in 0..1000u64 {
        index.add(&names, TAG, 0, b"user:1", key, 100);
        index.add(&names, TAG, 0, b"all", key, 100);
    }
    assert_eq!(label(&index, 0, b"user:1", Label::len), Some(1000));
    assert_eq!(label(&index, 0, b"all", |l| l.entry_bytes), Some(100_000));
    assert_eq!(label(&index, 1, b"all", Label::len), None);
    assert_eq!(index.memory(), index.recount());
    for key in 0..1000u64 {
        assert!(index.remove(&names, TAG, 0, b"user:1", key, 100));
        assert!(index.remove(&names, TAG, 0, b"all", key, 100));
        assert_eq!(index.memory(), index.recount());
    }
    assert!(!index.remove(&names, TAG, 0, b"all", 1, 100));
    assert_eq!((index.count(TAG), index.memory()), (0, 0));
    assert!(names.is_empty() && names.memory() == 0);
}

#[test]
fn invalidation_makes_old_members_stale_until_swept() {
    let (names, index) = index();
    let (one, two) = (tagged(b"one", &[b"t"]), tagged(b"two", &[b"t"]));
    let hash = |e: &Entry| crate::engine::hash_key(e.key());
    index.add(&names, TAG, 0, b"t", hash(&one), 10);
    index.add(&names, TAG, 0, b"t", hash(&two), 10);
    assert!(!index.is_stale(0, &one) && index.pending() == 0);
    let taken = index.take(&names, TAG, 0, b"t").expect("taken");
    assert_eq!(taken.len(), 2);
    assert!(index.is_stale(0, &one) && index.is_stale(0, &two));
    assert!(index.is_stale_key(&taken, hash(&one)));
    // The other database's entry of the same name is not touched.
    assert!(!index.is_stale(1, &one));
    // Written again after the invalidation: live.
    index.add(&names, TAG, 0, b"t", hash(&two), 10);
    assert!(!index.is_stale(0, &two) && index.is_stale(0, &one));
    assert!(index.take(&names, TAG, 0, b"absent").is_none());
    index.remove(&names, TAG, 0, b"t", hash(&two), 10);
    assert_eq!(index.db_of(&taken), Some(0));
    index.sweep_done(&names, &taken);
    assert!(!index.is_stale(0, &one) && index.pending() == 0);
    assert_eq!(index.count(TAG), 0);
    assert_eq!(index.memory(), index.recount());
    assert!(names.is_empty());
}

#[test]
fn one_name_is_shared_by_every_record_and_freed_with_the_last() {
    let (names, index) = index();
    let (_, name_a) = index.add(&names, TAG, 0, b"tag", 1, 10).expect("db 0");
    let (_, again) = index.add(&names, TAG, 0, b"tag", 2, 10).expect("db 0");
    let (_, name_b) = index.add(&names, TAG, 1, b"tag", 3, 10).expect("db 1");
    let (_, parent) = index
        .add(&names, LabelKind::Parent, 0, b"tag", 4, 10)
        .expect("db 0");
    // One copy: the same pointer for every key, database and kind.
    assert!(name_a.same(&again) && name_a.same(&name_b) && name_a.same(&parent));
    assert_eq!((names.len(), names.holders(b"tag")), (1, 3));
    assert_eq!(index.records_named(b"tag"), 3);
    let one_name = names.memory();
    assert_eq!(one_name, names.recount());
    assert!(one_name >= alloc_size(3));
    index.remove(&names, TAG, 0, b"tag", 1, 10);
    assert_eq!(names.holders(b"tag"), 3);
    index.remove(&names, TAG, 1, b"tag", 3, 10);
    index.remove(&names, LabelKind::Parent, 0, b"tag", 4, 10);
    assert_eq!(names.holders(b"tag"), 1);
    index.remove(&names, TAG, 0, b"tag", 2, 10);
    assert!(names.is_empty() && names.memory() == 0);
    // Interned again from scratch, under a new copy.
    let (_, fresh) = index.add(&names, TAG, 0, b"tag", 1, 10).expect("db 0");
    assert!(!fresh.same(&name_a) && *fresh == *name_a);
    assert_eq!(names.memory(), one_name);
    assert!(
        index.add(&names, TAG, 2, b"tag", 1, 10).is_none(),
        "no database 2"
    );
}

#[test]
fn a_pending_invalidation_keeps_the_name() {
    let (names, index) = index();
    index.add(&names, TAG, 0, b"t", 1, 10);
    let taken = index.take(&names, TAG, 0, b"t").expect("taken");
    // No key is listed, but the sweep has not finished: stale entries are still told apart.
    assert_eq!(names.holders(b"t"), 1);
    assert!(index.is_stale_key(&taken, 1));
    index.sweep_done(&names, &taken);
    assert!(names.is_empty() && index.count(TAG) == 0);
}

#[test]
fn a_flush_drops_the_database_and_outdates_its_sweeps() {
    let (names, index) = index();
    let deps = Dependencies::default();
    index.add(&names, TAG, 0, b"t", 1, 10);
    index.add(&names, TAG, 1, b"t", 1, 10);
    let taken = index.take(&names, TAG, 0, b"t").expect("taken");
    index.clear(&names, &deps, Some(0));
    assert_eq!(
        index.db_of(&taken),
        None,
        "the sweep is told the label went"
    );
    assert_eq!((index.pending(), index.count(TAG)), (0, 1));
    assert_eq!(label(&index, 1, b"t", Label::len), Some(1));
    // A label created after the flush is not the taken one.
    index.add(&names, TAG, 0, b"t", 2, 10);
    let again = index.take(&names, TAG, 0, b"t").expect("taken");
    assert!(!index.is_stale_key(&taken, 1) || index.db_of(&taken).is_none());
    assert_eq!(index.db_of(&again), Some(0));
    index.sweep_done(&names, &again);
    index.clear(&names, &deps, None);
    assert_eq!((index.count(TAG), index.memory()), (0, 0));
    assert!(names.is_empty());
}

#[test]
fn swapped_databases_trade_their_labels() {
    let (names, index) = index();
    index.add(&names, TAG, 0, b"t", 7, 10);
    let taken = index.take(&names, TAG, 0, b"t").expect("taken");
    index.add(&names, TAG, 0, b"t", 8, 10);
    index.swap_dbs(0, 1);
    assert_eq!(label(&index, 0, b"t", Label::len), None);
    assert_eq!(label(&index, 1, b"t", Label::len), Some(1));
    assert_eq!(index.db_of(&taken), Some(1), "the sweep follows its label");
}

#[test]
fn shards_are_listed_for_small_labels_only() {
    let (names, index) = index();
    let key_in = |shard: u64, n: u64| (shard << 32) | n;
    index.add(&names, TAG, 0, b"t", key_in(5, 1), 1);
    index.add(&names, TAG, 0, b"t", key_in(1, 2), 1);
    index.add(&names, TAG, 0, b"u", key_in(5, 3), 1);
    let mut out = Vec::new();
    assert!(index.shards(TAG, 0, &[b"t", b"u", b"absent"], &mut out));
    out.sort_unstable();
    assert_eq!(out, [1, 5, 5]);
    for n in 0..LISTED_MAX_KEYS as u64 {
        index.add(&names, TAG, 0, b"big", key_in(n % 64, n), 1);
    }
    assert!(index.shards(TAG, 0, &[b"big"], &mut out));
    index.add(&names, TAG, 0, b"big", key_in(0, 1000), 1);
    assert!(!index.shards(TAG, 0, &[b"t", b"big"], &mut out));
}

#[test]
fn many_names_reuse_freed_slots_and_memory_returns_to_zero() {
    let (names, index) = index();
    for round in 0..3 {
        for i in 0..500u64 {
            index.add(&names, TAG, 0, format!("n:{i}").as_bytes(), i + round, 1);
        }
        assert_eq!(names.len(), 500);
        assert_eq!(names.memory(), names.recount());
        assert_eq!(index.memory(), index.recount());
        for i in 0..500u64 {
            index.remove(&names, TAG, 0, format!("n:{i}").as_bytes(), i + round, 1);
        }
        assert!(names.is_empty());
        assert_eq!(names.memory(), 0);
        assert_eq!(index.memory(), 0);
    }
}

#[test]
fn a_label_with_one_key_holds_it_inline() {
    let (names, index) = index();
    index.add(&names, TAG, 0, b"t", 7, 1);
    let one = index.memory();
    assert_eq!(one, index.recount());
    index.add(&names, TAG, 0, b"t", 8, 1);
    assert!(index.memory() > one);
    index.remove(&names, TAG, 0, b"t", 7, 1);
    // Back to one key: back inline, the set given back.
    assert_eq!(index.memory(), one);
    let mut seen = Vec::new();
    assert_eq!(
        label(&index, 0, b"t", |l| l.walk(0, 10, |h| seen.push(h))),
        Some(None)
    );
    assert_eq!(seen, [8]);
    assert!(std::mem::size_of::<Label>() <= 56);
}
