//! The HyperLogLog codec on any string a client can write with SET and then hand to PFADD,
//! PFCOUNT, PFMERGE or PFDEBUG (`engine::types::hll`). Beyond "no panic":
//! - a sparse value counts if and only if it converts to dense and merges, and all three see
//!   the same registers (same count);
//! - adding to a valid value keeps it valid, raises the element's register to at least its run
//!   and lowers none; a sparse result that grew stays within `hll-sparse-max-bytes`.
//!
//! Input: byte 0 picks `hll-sparse-max-bytes`, byte 1 the elements to add, the rest is the value.
#![no_main]

use cachet::engine::types::hll::{self, Encoding, Registers, REGISTERS};
use libfuzzer_sys::fuzz_target;

const SPARSE_LIMITS: [usize; 4] = [0, 40, 300, hll::SPARSE_MAX_BYTES];

fn registers(value: &[u8]) -> Option<Box<Registers>> {
    let mut max = Box::new([0u8; REGISTERS]);
    hll::merge_into(&mut max, value).ok().map(|_| max)
}

fuzz_target!(|data: &[u8]| {
    let [limit, elements, value @ ..] = data else {
        return;
    };
    let sparse_max = SPARSE_LIMITS[*limit as usize % SPARSE_LIMITS.len()];
    let Some(encoding) = hll::encoding_of(value) else {
        return;
    };
    let _ = hll::decode(value);
    let counted = hll::count(value);
    let merged = registers(value);
    let mut dense = value.to_vec();
    let converted = hll::sparse_to_dense(&mut dense);
    assert_eq!(
        counted.is_ok(),
        merged.is_some(),
        "count and merge agree on validity"
    );
    assert_eq!(
        counted.is_ok(),
        converted.is_ok(),
        "count and conversion agree"
    );
    if encoding == Encoding::Dense {
        assert!(
            counted.is_ok(),
            "a dense value of the right length is always valid"
        );
    }
    if let (Ok(card), Some(max)) = (counted, &merged) {
        assert_eq!(hll::count_registers(max), card);
        assert_eq!(hll::count(&dense), Ok(card));
        assert_eq!(hll::encoding_of(&dense), Some(Encoding::Dense));
    }

    let mut current = value.to_vec();
    for i in 0..(*elements % 4) {
        let element = [*elements, i];
        let before = current.clone();
        let result = hll::add(&mut current, &element, sparse_max);
        let (Some(old), Ok(_)) = (registers(&before), hll::count(&before)) else {
            continue;
        };
        let changed = result.expect("adding to a valid value succeeds");
        let new = registers(&current).expect("a valid value stays valid");
        let (index, run) = hll::pattern(&element);
        assert!(new[index] >= run.min(63));
        for j in 0..REGISTERS {
            assert!(new[j] >= old[j], "register {j} went down");
            if j != index {
                assert_eq!(new[j], old[j], "register {j} changed");
            }
        }
        assert_eq!(changed, new[index] != old[index]);
        if hll::encoding_of(&current) == Some(Encoding::Sparse) && current.len() > before.len() {
            assert!(current.len() <= sparse_max, "sparse grew past its limit");
        }
    }
});
