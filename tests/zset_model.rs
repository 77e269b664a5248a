//! The sorted set value against a model (a map member → score, ordered by sorting): any sequence
//! of adds, score changes, removals and range removals keeps the same members in Redis's order,
//! the same ranks and scores, the encoding Redis would report, and `memory()` equal to a recount.

use std::collections::HashMap;

use cachet::engine::types::zset::{compare, ZSetLimits, ZSetValue};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Add(u16, i8),
    Remove(u16),
    RemoveRange(u16, u16),
    PopMin(u8),
    PopMax(u8),
    Bulk(u16, u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u16..1500, any::<i8>()).prop_map(|(m, s)| Op::Add(m, s)),
        3 => (0u16..1500).prop_map(Op::Remove),
        1 => (0u16..1200, 0u16..300).prop_map(|(s, n)| Op::RemoveRange(s, n)),
        1 => any::<u8>().prop_map(Op::PopMin),
        1 => any::<u8>().prop_map(Op::PopMax),
        1 => (0u16..1500, 0u16..700).prop_map(|(from, n)| Op::Bulk(from, n)),
    ]
}

fn member(m: u16) -> Vec<u8> {
    // Some members are long, so the value threshold converts some sets.
    if m.is_multiple_of(97) {
        format!("long-member-{m:0>60}").into_bytes()
    } else {
        format!("m{m}").into_bytes()
    }
}

fn ordered(model: &HashMap<Vec<u8>, f64>) -> Vec<(f64, Vec<u8>)> {
    let mut items: Vec<(f64, Vec<u8>)> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
    items.sort_by(|a, b| compare(a.0, &a.1, b.0, &b.1));
    items
}

fn check(zset: &ZSetValue, model: &HashMap<Vec<u8>, f64>, converted: bool) {
    let expected = ordered(model);
    let actual: Vec<(f64, Vec<u8>)> = zset.iter().map(|i| (i.score, i.member.to_vec())).collect();
    assert_eq!(actual, expected);
    assert_eq!(zset.len(), model.len());
    assert_eq!(zset.memory(), zset.recount_memory());
    assert_eq!(
        zset.encoding(),
        if converted { "skiplist" } else { "listpack" }
    );
    for (rank, (score, m)) in expected.iter().enumerate().step_by(37) {
        assert_eq!(zset.rank(m), Some((rank, *score)));
        assert_eq!(zset.score(m), Some(*score));
        assert_eq!(zset.get(rank).map(|i| i.member.to_vec()), Some(m.clone()));
    }
    let reversed: Vec<Vec<u8>> = zset
        .iter_rev_from(zset.len().saturating_sub(1))
        .map(|i| i.member.to_vec())
        .collect();
    let mut forward: Vec<Vec<u8>> = expected.into_iter().map(|(_, m)| m).collect();
    forward.reverse();
    assert_eq!(reversed, forward);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn zset_matches_model(ops in prop::collection::vec(op(), 1..120), small in any::<bool>()) {
        let limits = if small {
            ZSetLimits { max_listpack_entries: 16, max_listpack_value: 64 }
        } else {
            ZSetLimits::default()
        };
        let mut zset = ZSetValue::new();
        let mut model: HashMap<Vec<u8>, f64> = HashMap::new();
        let mut converted = false;
        for op in ops {
            match op {
                Op::Add(m, s) => {
                    let m = member(m);
                    let previous = zset.insert(&m, s as f64, limits);
                    prop_assert_eq!(previous, model.insert(m.clone(), s as f64));
                    if previous.is_none() && !limits.fits_listpack(model.len(), m.len()) {
                        converted = true;
                    }
                }
                Op::Bulk(from, n) => {
                    for m in from..from.saturating_add(n) {
                        let m = member(m);
                        let score = (m.len() % 7) as f64;
                        let previous = zset.insert(&m, score, limits);
                        prop_assert_eq!(previous, model.insert(m.clone(), score));
                        if previous.is_none() && !limits.fits_listpack(model.len(), m.len()) {
                            converted = true;
                        }
                    }
                }
                Op::Remove(m) => {
                    let m = member(m);
                    prop_assert_eq!(zset.remove(&m), model.remove(&m));
                }
                Op::RemoveRange(start, n) => {
                    let expected = ordered(&model);
                    let (start, end) = (start as usize, start as usize + n as usize);
                    let removed = zset.remove_range(start, end);
                    let want: Vec<(f64, Vec<u8>)> = expected.into_iter().skip(start).take(n as usize).collect();
                    let got: Vec<(f64, Vec<u8>)> = removed.iter().map(|i| (i.score, i.member.to_vec())).collect();
                    prop_assert_eq!(&got, &want);
                    for (_, m) in want {
                        model.remove(&m);
                    }
                }
                Op::PopMin(n) | Op::PopMax(n) => {
                    let from_top = matches!(op, Op::PopMax(_));
                    let len = zset.len();
                    let take = (n as usize).min(len);
                    let removed = if from_top {
                        zset.remove_range(len - take, len)
                    } else {
                        zset.remove_range(0, take)
                    };
                    prop_assert_eq!(removed.len(), take);
                    for item in removed {
                        model.remove(&item.member[..]);
                    }
                }
            }
            check(&zset, &model, converted);
        }
    }
}
