//! The hash value against a model (a std `HashMap`, plus the insertion order a listpack keeps):
//! any sequence of sets and removes under any thresholds gives the same contents, the encoding
//! Redis would have, and a running byte count equal to a recount. A scan interleaved with writes
//! returns every field present for its whole length.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use super::{HashLimits, HashValue};

#[derive(Debug, Clone)]
enum Op {
    Set(u8, Vec<u8>),
    Remove(u8),
}

fn field(f: u8) -> Vec<u8> {
    // Some fields are long enough to force the table when the value limit is small.
    if f % 16 == 15 {
        vec![b'F'; 20 + f as usize]
    } else {
        format!("f{f}").into_bytes()
    }
}

fn op(fields: u8) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..fields, prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(f, v)| Op::Set(f, v)),
        1 => (0..fields).prop_map(Op::Remove),
    ]
}

fn limits() -> impl Strategy<Value = HashLimits> {
    (0usize..40, 0usize..60).prop_map(|(entries, value)| HashLimits {
        max_listpack_entries: entries,
        max_listpack_value: value,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn hash_matches_model(limits in limits(), ops in prop::collection::vec(op(64), 1..300)) {
        let mut hash = HashValue::new();
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut order: Vec<Vec<u8>> = Vec::new();
        let mut converted = false;
        for op in ops {
            match op {
                Op::Set(f, v) => {
                    let f = field(f);
                    converted |= f.len() > limits.max_listpack_value || v.len() > limits.max_listpack_value;
                    let added = hash.set(&f, &v, limits);
                    prop_assert_eq!(added, model.insert(f.clone(), v).is_none());
                    if added {
                        order.push(f);
                    }
                    converted |= model.len() > limits.max_listpack_entries;
                }
                Op::Remove(f) => {
                    let f = field(f);
                    prop_assert_eq!(hash.remove(&f), model.remove(&f).is_some());
                    order.retain(|o| *o != f);
                }
            }
            prop_assert_eq!(hash.len(), model.len());
            prop_assert_eq!(hash.memory(), hash.recount());
            prop_assert_eq!(hash.encoding(), if converted { "hashtable" } else { "listpack" });
        }
        for (f, v) in &model {
            prop_assert_eq!(hash.get(f), Some(&v[..]));
        }
        let contents: HashMap<Vec<u8>, Vec<u8>> =
            hash.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        prop_assert_eq!(&contents, &model);
        if hash.is_listpack() {
            let fields: Vec<Vec<u8>> = hash.iter().map(|(f, _)| f.to_vec()).collect();
            prop_assert_eq!(fields, order);
        }
        if let Some((f, v)) = hash.random() {
            prop_assert_eq!(model.get(f).map(Vec::as_slice), Some(v));
        }
        let copy = hash.clone();
        prop_assert_eq!(copy.memory(), hash.memory());
    }

    #[test]
    fn scan_returns_what_stayed(
        start in 1u8..200,
        steps in prop::collection::vec(prop::collection::vec(op(255), 0..40), 1..60),
    ) {
        let limits = HashLimits { max_listpack_entries: 0, max_listpack_value: 64 };
        let mut hash = HashValue::new();
        for f in 0..start {
            hash.set(&field(f), b"v", limits);
        }
        let mut stayed: HashSet<Vec<u8>> = (0..start).map(field).collect();
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut steps = steps.into_iter();
        loop {
            cursor = hash.scan(cursor, |f, _| {
                seen.insert(f.to_vec());
            });
            if cursor == 0 {
                break;
            }
            for op in steps.next().unwrap_or_default() {
                match op {
                    Op::Set(f, v) => {
                        hash.set(&field(f), &v[..v.len().min(64)], limits);
                    }
                    Op::Remove(f) => {
                        hash.remove(&field(f));
                        stayed.remove(&field(f));
                    }
                }
            }
        }
        for f in &stayed {
            prop_assert!(seen.contains(f), "missed {:?}", f);
        }
        prop_assert_eq!(hash.memory(), hash.recount());
    }
}
