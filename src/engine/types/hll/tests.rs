//! Known strings and counts recorded from redis-server 7.0.15 (elements `e0`, `e1`... added 500
//! per PFADD; long strings compared by their FNV-1a hash), the codec's invariants, and Redis's
//! own self test (registers, then dense against sparse at growing cardinalities).

use super::*;

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// PFADD as the command does it: one key, then invalidate the cache if anything changed.
fn pfadd<'a>(value: &mut Vec<u8>, elements: impl IntoIterator<Item = &'a [u8]>) -> bool {
    let mut changed = false;
    for element in elements {
        changed |= add(value, element, SPARSE_MAX_BYTES).expect("valid");
    }
    if changed {
        invalidate_cached(value);
    }
    changed
}

fn pfcount(value: &mut [u8]) -> u64 {
    if let Some(card) = cached(value) {
        return card;
    }
    let card = count(value).expect("valid");
    set_cached(value, card);
    card
}

fn numbered(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix}{i}").into_bytes())
        .collect()
}

fn add_in_batches(value: &mut Vec<u8>, elements: &[Vec<u8>]) {
    for batch in elements.chunks(500) {
        pfadd(value, batch.iter().map(|e| &e[..]));
    }
}

#[test]
fn an_empty_hll_is_one_xzero() {
    let value = new_sparse();
    assert_eq!(value, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
    assert_eq!(encoding_of(&value), Some(Encoding::Sparse));
    assert_eq!(count(&value), Ok(0));
    assert_eq!(decode(&value), "Z:16384");
}

#[test]
fn letters_give_redis_bytes() {
    let mut value = new_sparse();
    let letters: Vec<[u8; 1]> = (b'a'..=b'z').map(|c| [c]).collect();
    assert!(pfadd(&mut value, letters.iter().map(|l| &l[..])));
    assert_eq!(
        hex(&value),
        "48594c4c01000000000000000000008044458c42268040898846e89441758440ec840e8040c484449094446680426280443c843880408f8041ac8047d18043b08042ed8441fc8c43938443188840df80426d8041d080407e8408"
    );
    assert_eq!(pfcount(&mut value), 25);
    assert_eq!(&value[8..16], b"\x19\0\0\0\0\0\0\0");
    assert!(!pfadd(&mut value, [&b"a"[..]]));
}

#[test]
fn growing_hlls_match_redis_and_turn_dense() {
    for (n, card, hash, encoding) in [
        (100, 100, 0x40dec5e3b1513cfa, Encoding::Sparse),
        (1000, 1008, 0x4ded8ea0046b668d, Encoding::Sparse),
        (2500, 2482, 0xa88ede19f2346960, Encoding::Dense),
        (20000, 19901, 0x5b776629ffcdd575, Encoding::Dense),
    ] {
        let mut value = new_sparse();
        add_in_batches(&mut value, &numbered("e", n));
        assert_eq!(pfcount(&mut value), card, "{n}");
        assert_eq!(encoding_of(&value), Some(encoding), "{n}");
        assert_eq!(fnv(&value), hash, "{n}");
    }
}

#[test]
fn merges_match_redis() {
    let (mut x, mut y) = (new_sparse(), new_sparse());
    add_in_batches(&mut x, &numbered("x", 3000));
    add_in_batches(&mut y, &numbered("y", 300));
    let mut max = [0u8; REGISTERS];
    merge_into(&mut max, &x).unwrap();
    merge_into(&mut max, &y).unwrap();
    assert_eq!(count_registers(&max), 3294);
    // PFMERGE w y: registers written one by one into a new sparse value.
    let mut max = [0u8; REGISTERS];
    merge_into(&mut max, &y).unwrap();
    let mut w = new_sparse();
    for (index, &v) in max.iter().enumerate().filter(|(_, &v)| v > 0) {
        set_register(&mut w, index, v, SPARSE_MAX_BYTES).unwrap();
    }
    invalidate_cached(&mut w);
    assert_eq!(fnv(&w), 0xdb93c01418f6c543);
}

#[test]
fn validation_as_redis() {
    assert_eq!(encoding_of(b"HYLL"), None);
    assert_eq!(
        encoding_of(b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0"),
        Some(Encoding::Sparse)
    );
    assert_eq!(encoding_of(b"HYLX\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff"), None);
    assert_eq!(encoding_of(b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff"), None);
    assert_eq!(encoding_of(b"HYLL\0\0\0\0\0\0\0\0\0\0\0\0\x7f\xff"), None);
    let mut dense = new_sparse();
    sparse_to_dense(&mut dense).unwrap();
    assert_eq!(dense.len(), DENSE_LEN);
    assert_eq!(encoding_of(&dense), Some(Encoding::Dense));

    // A sparse value whose runs do not add up is corrupt for counting and adding.
    let mut short = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xfe".to_vec();
    assert_eq!(count(&short), Err(Corrupt));
    assert_eq!(sparse_set(&mut short, 16383, 3, 3000), Err(Corrupt));
    let mut empty = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0".to_vec();
    assert_eq!(sparse_set(&mut empty, 0, 1, 3000), Err(Corrupt));
    assert_eq!(sparse_to_dense(&mut empty), Err(Corrupt));
    // Tail bytes past the 16384th register: corrupt everywhere (redis-server 7.0.15 as patched
    // for CVE-2025-32023; the 7.0.15 sources let a merge or conversion through).
    let mut tail = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff\x80".to_vec();
    assert_eq!(count(&tail), Err(Corrupt));
    let mut max = [0u8; REGISTERS];
    assert_eq!(merge_into(&mut max, &tail), Err(Corrupt));
    assert_eq!(sparse_to_dense(&mut tail), Err(Corrupt));
    let zeros = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff\x00".to_vec();
    assert_eq!(merge_into(&mut max, &zeros), Err(Corrupt));
    // A final XZERO missing its second byte reads the terminating zero: 0x7f alone is 16129.
    assert_eq!(
        decode(b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x40\xff\x7f"),
        "Z:256 Z:16129"
    );
}

#[test]
fn updates_split_and_merge_runs() {
    let mut value = new_sparse();
    sparse_set(&mut value, 1000, 2, 3000).unwrap();
    assert_eq!(decode(&value), "Z:1000 v:2,1 Z:15383");
    sparse_set(&mut value, 1001, 2, 3000).unwrap();
    assert_eq!(decode(&value), "Z:1000 v:2,2 Z:15382");
    sparse_set(&mut value, 1003, 2, 3000).unwrap();
    sparse_set(&mut value, 1002, 2, 3000).unwrap();
    assert_eq!(decode(&value), "Z:1000 v:2,4 Z:15380");
    assert_eq!(sparse_set(&mut value, 1002, 1, 3000), Ok(false));
    sparse_set(&mut value, 1002, 5, 3000).unwrap();
    assert_eq!(decode(&value), "Z:1000 v:2,2 v:5,1 v:2,1 Z:15380");
    sparse_set(&mut value, 0, 1, 3000).unwrap();
    assert_eq!(decode(&value), "v:1,1 Z:999 v:2,2 v:5,1 v:2,1 Z:15380");
    // A value over 32 cannot be sparse.
    sparse_set(&mut value, 7, 33, 3000).unwrap();
    assert_eq!(encoding_of(&value), Some(Encoding::Dense));
    let registers = &value[HEADER_LEN..];
    assert_eq!(
        [0, 7, 1000, 1001, 1002, 1003, 1004].map(|i| dense_get(registers, i)),
        [1, 33, 2, 2, 5, 2, 0]
    );
    // Promotion by size: the sparse limit is checked before the string grows.
    let mut value = new_sparse();
    for index in (0..REGISTERS).step_by(100) {
        set_register(&mut value, index, 1, 40).unwrap();
        assert_eq!(
            value.len() <= 40,
            encoding_of(&value) == Some(Encoding::Sparse)
        );
    }
    assert_eq!(encoding_of(&value), Some(Encoding::Dense));
}

#[test]
fn dense_registers_are_independent() {
    let mut registers = vec![0u8; DENSE_LEN - HEADER_LEN];
    let mut model = vec![0u8; REGISTERS];
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..4 {
        for (index, slot) in model.iter_mut().enumerate() {
            *slot = rng.u8(0..=63);
            dense_set(&mut registers, index, *slot);
        }
        for (index, &v) in model.iter().enumerate() {
            assert_eq!(dense_get(&registers, index), v, "register {index}");
        }
        let mut seen = Vec::new();
        for_each_dense(&registers, |index, v| seen.push((index, v)));
        assert_eq!(seen, model.iter().copied().enumerate().collect::<Vec<_>>());
    }
}

/// Redis's PFSELFTEST estimate check on a smaller scale: dense and sparse values fed the same
/// elements agree, and stay within 6 standard errors.
#[test]
fn dense_and_sparse_agree_within_error() {
    let mut dense = new_sparse();
    sparse_to_dense(&mut dense).unwrap();
    let mut sparse = new_sparse();
    let seed = 0x1234_5678_9abc_def0u64;
    let mut checkpoint = 1u64;
    for j in 1..=200_000u64 {
        let element = (j ^ seed).to_le_bytes();
        dense_add(&mut dense, &element);
        add(&mut sparse, &element, SPARSE_MAX_BYTES).unwrap();
        if j == checkpoint {
            let (d, s) = (count(&dense).unwrap(), count(&sparse).unwrap());
            assert_eq!(d, s, "at {j}");
            let error = (checkpoint as i64 - d as i64).unsigned_abs();
            let allowed = (1.04 / (REGISTERS as f64).sqrt() * 6.0 * checkpoint as f64).ceil();
            assert!(error as f64 <= allowed.max(1.0), "at {j}: {d}");
            checkpoint *= 10;
        }
    }
}

#[test]
fn elements_land_where_redis_puts_them() {
    // The one register PFDEBUG GETREG shows set after PFADD of each element on redis-server 7.0.
    for (element, index, run) in [
        (&b"a"[..], 12711, 2),
        (b"hello", 9216, 1),
        (b"", 5938, 2),
        (b"12345678", 10579, 3),
        (b"123456789abcdef", 1977, 3),
    ] {
        assert_eq!(pattern(element), (index, run), "{element:?}");
    }
}
