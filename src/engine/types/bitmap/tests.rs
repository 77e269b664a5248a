//! Known answers (from redis-server 7.0) and models: every function against the plainest
//! bit-by-bit reading of Redis's rules.

use super::*;
use proptest::prelude::*;

fn bit(bytes: &[u8], at: usize) -> bool {
    bytes
        .get(at / 8)
        .is_some_and(|b| b >> (7 - at % 8) & 1 == 1)
}

/// The bit range a BITCOUNT/BITPOS range selects, by the rules in words.
fn bit_range(len: usize, start: i64, end: i64, unit: Unit) -> Option<(usize, usize)> {
    let total = match unit {
        Unit::Byte => len as i64,
        Unit::Bit => len as i64 * 8,
    };
    let norm = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (s, e) = (norm(start), norm(end).min(total - 1));
    if s > e {
        return None;
    }
    let (s, e) = (s as usize, e as usize);
    Some(match unit {
        Unit::Byte => (s * 8, e * 8 + 7),
        Unit::Bit => (s, e),
    })
}

#[test]
fn counts_like_redis() {
    let foobar = b"foobar";
    assert_eq!(count(foobar, None), 26);
    assert_eq!(count(foobar, Some((0, 0, Unit::Byte))), 4);
    assert_eq!(count(foobar, Some((1, 1, Unit::Byte))), 6);
    assert_eq!(count(foobar, Some((1, 1, Unit::Bit))), 1);
    assert_eq!(count(foobar, Some((5, 30, Unit::Bit))), 17);
    assert_eq!(count(foobar, Some((-2, -1, Unit::Byte))), 7);
    assert_eq!(count(foobar, Some((100, 200, Unit::Byte))), 0);
    assert_eq!(count(b"", None), 0);
    assert_eq!(count(b"", Some((0, -1, Unit::Bit))), 0);
    assert_eq!(count(&[0xff; 100], Some((3, 797, Unit::Bit))), 795);
}

#[test]
fn positions_like_redis() {
    assert_eq!(position(b"\xff\xf0\x00", false, None), 12);
    assert_eq!(
        position(b"\x00\xff\xf0", true, Some((0, None, Unit::Byte))),
        8
    );
    assert_eq!(
        position(b"\x00\xff\xf0", true, Some((2, None, Unit::Byte))),
        16
    );
    assert_eq!(position(b"\x00\x00\x00", true, None), -1);
    assert_eq!(position(b"\xff\xff\xff", false, None), 24);
    assert_eq!(
        position(b"\xff\xff\xff", false, Some((0, None, Unit::Byte))),
        24
    );
    assert_eq!(
        position(b"\xff\xff\xff", false, Some((0, Some(-1), Unit::Byte))),
        -1
    );
    assert_eq!(
        position(b"\x00\xff\x00", true, Some((7, Some(15), Unit::Bit))),
        8
    );
    assert_eq!(
        position(b"\x00\xff\x00", true, Some((7, Some(7), Unit::Bit))),
        -1
    );
    assert_eq!(position(b"", false, None), -1);
    assert_eq!(position(b"", true, None), -1);
}

#[test]
fn combines_like_redis() {
    assert_eq!(combine(BitOp::Not, &[b"\x55\xff"]), b"\xaa\x00");
    assert_eq!(combine(BitOp::And, &[b"\xff\xff", b"\x0f"]), b"\x0f\x00");
    assert_eq!(
        combine(BitOp::Or, &[b"\x01", b"", b"\x10\x02"]),
        b"\x11\x02"
    );
    assert_eq!(combine(BitOp::Xor, &[b"\xff", b"\x0f\x01"]), b"\xf0\x01");
    assert!(combine(BitOp::And, &[b"", b""]).is_empty());
}

#[test]
fn bitfields_like_redis() {
    // Redis's example: a 5-bit 23 at offset 7 of a zero bitmap.
    let mut bytes = [0u8; 2];
    set_unsigned(&mut bytes, 7, 5, 23);
    assert_eq!(bytes, [0b0000_0001, 0b0111_0000]);
    assert_eq!(get_unsigned(&bytes, 7, 5), 23);
    assert_eq!(get_signed(&bytes, 7, 5), -9);
    assert_eq!(get_signed(&[0x80; 8], 0, 64), i64::from_be_bytes([0x80; 8]));
    assert_eq!(get_unsigned(b"", 1000, 63), 0);
    // SET u8 -1 is out of range as an unsigned value: saturates to 255, wraps to 255.
    assert_eq!(
        unsigned_overflow(u64::MAX, 0, 8, Overflow::Sat),
        Some(Some(255))
    );
    assert_eq!(
        unsigned_overflow(u64::MAX, 0, 8, Overflow::Wrap),
        Some(Some(255))
    );
    assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Wrap), Some(Some(4)));
    assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Sat), Some(Some(0)));
    assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Fail), Some(None));
    assert_eq!(unsigned_overflow(5, -5, 8, Overflow::Fail), None);
    assert_eq!(
        signed_overflow(100, 100, 8, Overflow::Wrap),
        Some(Some(-56))
    );
    assert_eq!(
        signed_overflow(-100, -100, 8, Overflow::Sat),
        Some(Some(-128))
    );
    assert_eq!(
        signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
        Some(Some(i64::MIN))
    );
    assert_eq!(
        signed_overflow(i64::MIN, -1, 64, Overflow::Sat),
        Some(Some(i64::MIN))
    );
    assert_eq!(
        signed_overflow(i64::MIN, i64::MAX, 64, Overflow::Fail),
        None
    );
    assert_eq!(signed_overflow(-1, 0, 1, Overflow::Fail), None);
    assert_eq!(signed_overflow(1, 0, 1, Overflow::Sat), Some(Some(0)));
    // SET i62 -6917529027641081857: `max - value` wraps in Redis, which then saturates upwards.
    let (low, bits) = (-6_917_529_027_641_081_857, 62);
    assert_eq!(
        signed_overflow(low, 0, bits, Overflow::Sat),
        Some(Some((1 << 61) - 1))
    );
    assert_eq!(
        signed_overflow(low, 0, bits, Overflow::Wrap),
        Some(Some((1 << 61) - 1))
    );
}

/// What `unsigned_overflow`/`signed_overflow` should answer, in 128-bit arithmetic.
fn overflow_model(
    sum: i128,
    min: i128,
    max: i128,
    bits: u32,
    signed: bool,
    ow: Overflow,
) -> Option<Option<i128>> {
    if (min..=max).contains(&sum) {
        return None;
    }
    Some(match ow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if sum > max { max } else { min }),
        Overflow::Wrap => {
            let low = (sum as u128) & ((1u128 << bits) - 1);
            let value = if signed && low >> (bits - 1) & 1 == 1 {
                low as i128 - (1i128 << bits)
            } else {
                low as i128
            };
            Some(value)
        }
    })
}

fn overflow_kind() -> impl Strategy<Value = Overflow> {
    prop_oneof![
        Just(Overflow::Wrap),
        Just(Overflow::Sat),
        Just(Overflow::Fail)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Writes then reads of random widths at random offsets, against a vector of bits.
    #[test]
    fn bitfields_match_a_bit_vector(
        ops in prop::collection::vec((0u64..200, 1u32..=64, any::<u64>()), 1..40)
    ) {
        let mut bytes = vec![0u8; 40];
        let mut model = vec![false; 320];
        for (offset, bits, value) in ops {
            set_unsigned(&mut bytes, offset, bits, value);
            for i in 0..bits as usize {
                model[offset as usize + i] = value >> (bits as usize - 1 - i) & 1 == 1;
            }
            let expect = (0..bits as usize).fold(0u64, |v, i| v << 1 | model[offset as usize + i] as u64);
            prop_assert_eq!(get_unsigned(&bytes, offset, bits), expect);
            let signed = if bits < 64 && expect >> (bits - 1) & 1 == 1 {
                (expect as i128 - (1i128 << bits)) as i64
            } else {
                expect as i64
            };
            prop_assert_eq!(get_signed(&bytes, offset, bits), signed);
        }
        for (at, &b) in model.iter().enumerate() {
            prop_assert_eq!(bit(&bytes, at), b);
        }
    }

    #[test]
    fn overflow_rules_match_wide_arithmetic(
        bits in 1u32..=64, raw in any::<u64>(), incr in any::<i64>(), set in any::<bool>(),
        ow in overflow_kind(),
    ) {
        // Unsigned: INCRBY starts from a value read from the bitmap (in range); SET checks its
        // argument reinterpreted as unsigned, with no increment.
        if bits < 64 {
            let max = (1u64 << bits) - 1;
            let (value, incr) = if set { (incr as u64, 0) } else { (raw & max, incr) };
            let want = overflow_model(value as i128 + incr as i128, 0, max as i128, bits, false, ow);
            let got = unsigned_overflow(value, incr, bits, ow).map(|o| o.map(|v| v as i128));
            prop_assert_eq!(got, want);
        }
        let (min, max) = if bits == 64 {
            (i64::MIN as i128, i64::MAX as i128)
        } else {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        };
        let read = get_signed(&raw.to_be_bytes(), 64 - bits as u64, bits);
        let (value, incr) = if set { (incr, 0) } else { (read, incr) };
        let mut want = overflow_model(value as i128 + incr as i128, min, max, bits, true, ow);
        // Redis's quirk, checked on redis-server 7.0.15: SET of a value so negative that
        // `max - value` wraps counts as an overflow upwards (SAT stores the maximum).
        if set && bits < 64 && max - value as i128 > i64::MAX as i128 && ow == Overflow::Sat {
            want = Some(Some(max));
        }
        let got = signed_overflow(value, incr, bits, ow).map(|o| o.map(|v| v as i128));
        prop_assert_eq!(got, want);
    }

    /// BITCOUNT and BITPOS over random ranges, against counting and searching bit by bit.
    #[test]
    fn counts_and_positions_match_bit_by_bit(
        bytes in prop::collection::vec(prop_oneof![Just(0u8), Just(0xff), any::<u8>()], 0..40),
        start in -400i64..400, end in -400i64..400, bits in any::<bool>(), want in any::<bool>(),
        end_given in any::<bool>(),
    ) {
        let unit = if bits { Unit::Bit } else { Unit::Byte };
        let len = bytes.len();
        let range = bit_range(len, start, end, unit);
        let naive_count = range.map_or(0, |(s, e)| (s..=e).filter(|&i| bit(&bytes, i)).count() as u64);
        prop_assert_eq!(count(&bytes, Some((start, end, unit))), naive_count);
        prop_assert_eq!(count(&bytes, None), (0..len * 8).filter(|&i| bit(&bytes, i)).count() as u64);

        // Without an end, the range runs to the end of the string, and unit is bytes.
        let (end_arg, unit) = if end_given { (Some(end), unit) } else { (None, Unit::Byte) };
        let range = bit_range(len, start, end_arg.unwrap_or(len as i64 - 1), unit);
        let naive_pos = match range {
            None => -1,
            Some((s, e)) => match (s..=e).find(|&i| bit(&bytes, i) == want) {
                Some(i) => i as i64,
                None if want || end_given => -1,
                None => e as i64 + 1,
            },
        };
        prop_assert_eq!(position(&bytes, want, Some((start, end_arg, unit))), naive_pos);
    }

    #[test]
    fn combine_matches_bytewise(
        sources in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 1..5),
        op in prop_oneof![Just(BitOp::And), Just(BitOp::Or), Just(BitOp::Xor)],
    ) {
        let refs: Vec<&[u8]> = sources.iter().map(|s| &s[..]).collect();
        let len = sources.iter().map(Vec::len).max().unwrap_or(0);
        let want: Vec<u8> = (0..len)
            .map(|j| {
                let at = |s: &Vec<u8>| s.get(j).copied().unwrap_or(0);
                sources[1..].iter().fold(at(&sources[0]), |acc, s| match op {
                    BitOp::And => acc & at(s),
                    BitOp::Or => acc | at(s),
                    _ => acc ^ at(s),
                })
            })
            .collect();
        prop_assert_eq!(combine(op, &refs), want);
    }
}
