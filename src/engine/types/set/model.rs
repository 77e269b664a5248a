//! `SetValue` against a model (std `HashSet` plus the encoding Redis would report): any sequence
//! of adds, removals, pops, random picks and scans leaves the same members, the same encoding, and
//! a running byte count equal to a recount.

use std::collections::HashSet;

use proptest::prelude::*;

use super::{intset_limit, SetValue};
use crate::protocol::parse_i64;

#[derive(Debug, Clone)]
enum Op {
    Add(Vec<u8>, usize),
    Remove(Vec<u8>),
    Contains(Vec<u8>),
    Pop,
    Random,
    RandomDistinct(usize),
    KeepRandom(usize, usize),
    Scan(usize),
    Clone,
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (-40i64..200).prop_map(|n| n.to_string().into_bytes()),
        prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(70_000i64),
            Just(-3_000_000_000i64)
        ]
        .prop_map(|n| n.to_string().into_bytes()),
        "[a-z0-9]{0,6}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..40),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let max = prop_oneof![Just(0usize), Just(4), Just(16), Just(512)];
    prop_oneof![
        6 => (member(), max.clone()).prop_map(|(m, max)| Op::Add(m, max)),
        3 => member().prop_map(Op::Remove),
        1 => member().prop_map(Op::Contains),
        1 => Just(Op::Pop),
        1 => Just(Op::Random),
        1 => (0usize..30).prop_map(Op::RandomDistinct),
        1 => (0usize..30, max).prop_map(|(keep, max)| Op::KeepRandom(keep, max)),
        1 => (1usize..20).prop_map(Op::Scan),
        1 => Just(Op::Clone),
    ]
}

/// The encoding Redis gives a set built afresh from `members`.
fn fresh_is_table(members: &HashSet<Vec<u8>>, max: usize) -> bool {
    members.len() > intset_limit(max) || members.iter().any(|m| parse_i64(m).is_none())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn set_matches_model(ops in prop::collection::vec(op(), 1..400)) {
        let mut set = SetValue::default();
        let mut model: HashSet<Vec<u8>> = HashSet::new();
        let mut table = false;
        for op in ops {
            match op {
                Op::Add(m, max) => {
                    let added = set.add(&m, max);
                    prop_assert_eq!(added, model.insert(m.clone()));
                    if parse_i64(&m).is_none() || (added && model.len() > intset_limit(max)) {
                        table = true;
                    }
                }
                Op::Remove(m) => prop_assert_eq!(set.remove(&m), model.remove(&m)),
                Op::Contains(m) => prop_assert_eq!(set.contains(&m), model.contains(&m)),
                Op::Pop => match set.pop_random() {
                    Some(m) => prop_assert!(model.remove(&m)),
                    None => prop_assert!(model.is_empty()),
                },
                Op::Random => match set.random() {
                    Some(m) => prop_assert!(model.contains(&m.to_vec())),
                    None => prop_assert!(model.is_empty()),
                },
                Op::RandomDistinct(count) => {
                    let picked: Vec<Vec<u8>> =
                        set.random_distinct(count).iter().map(|m| m.to_vec()).collect();
                    prop_assert_eq!(picked.len(), count.min(model.len()));
                    let distinct: HashSet<Vec<u8>> = picked.into_iter().collect();
                    prop_assert_eq!(distinct.len(), count.min(model.len()));
                    prop_assert!(distinct.is_subset(&model));
                }
                Op::KeepRandom(keep, max) => {
                    if keep < model.len() {
                        let popped = set.keep_random(keep, max);
                        prop_assert_eq!(popped.len(), model.len() - keep);
                        for m in &popped {
                            prop_assert!(model.remove(m));
                        }
                        table = fresh_is_table(&model, max);
                    }
                }
                Op::Scan(count) => {
                    let mut seen = HashSet::new();
                    let mut cursor = 0;
                    loop {
                        cursor = set.scan(cursor, count, |m| {
                            seen.insert(m.to_vec());
                        });
                        if cursor == 0 {
                            break;
                        }
                    }
                    prop_assert_eq!(&seen, &model);
                }
                Op::Clone => {
                    let copy = set.clone();
                    prop_assert_eq!(copy.memory(), copy.recount_memory());
                    set = copy;
                }
            }
            prop_assert_eq!(set.len(), model.len());
            prop_assert_eq!(set.encoding(), if table { "hashtable" } else { "intset" });
            prop_assert_eq!(set.memory(), set.recount_memory());
            let members: HashSet<Vec<u8>> = set.iter().map(|m| m.to_vec()).collect();
            prop_assert_eq!(&members, &model);
            if model.is_empty() {
                // Redis deletes an emptied key; start again as a new key would.
                set = SetValue::default();
                table = false;
            }
        }
    }
}
