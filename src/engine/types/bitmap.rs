//! Strings seen as bit arrays (Redis's `bitops.c`): bit 0 is the most significant bit of the
//! first byte, and a string is read as if followed by zero bytes for ever. Counting, searching,
//! combining, and integers of 1 to 64 bits at any bit offset (BITFIELD), with Redis's overflow
//! rules. Pure functions on byte slices: the commands (`commands/bitmap/`) parse, look keys up and
//! grow the strings; nothing here allocates but BITOP's result.
//!
//! Cost: counting and searching go through whole 64-bit words (`count_ones`, one comparison per
//! word while skipping); BITOP runs byte by byte over the longest input, which the compiler
//! vectorizes for the common two-input case.

/// BITCOUNT and BITPOS ranges count bytes (`BYTE`, the default) or bits (`BIT`, Redis 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Byte,
    Bit,
}

/// A BITCOUNT/BITPOS range resolved against a string: inclusive byte indexes, and in bit units
/// the bits of the first and last byte that lie outside the range (Redis's "negative masks").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ByteSpan {
    start: usize,
    end: usize,
    first_outside: u8,
    last_outside: u8,
}

/// Redis's index arithmetic for both commands: negative indexes count from the end of the string
/// (`len` bytes, times 8 in bit units), both are clamped at 0, the end at the last index. `None`
/// for an empty range.
fn resolve(start: i64, end: i64, unit: Unit, len: usize) -> Option<ByteSpan> {
    let total = match unit {
        Unit::Byte => len as i64,
        Unit::Bit => (len as i64) << 3,
    };
    let from_end = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (start, end) = (from_end(start), from_end(end).min(total - 1));
    if start > end {
        return None;
    }
    Some(match unit {
        Unit::Byte => ByteSpan {
            start: start as usize,
            end: end as usize,
            first_outside: 0,
            last_outside: 0,
        },
        Unit::Bit => ByteSpan {
            start: (start >> 3) as usize,
            end: (end >> 3) as usize,
            first_outside: !(0xffu8 >> (start & 7)),
            last_outside: ((1u16 << (7 - (end & 7))) - 1) as u8,
        },
    })
}

/// Bits set in `bytes`.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let mut count: u64 = words
        .by_ref()
        .map(|w| u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])).count_ones() as u64)
        .sum();
    count += words
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>();
    count
}

/// BITCOUNT of `value`, over `range` (start, end, unit) when given. Redis answers 0 for two
/// negative indexes in the wrong order before it even reads the unit; the caller checks that.
pub fn count(value: &[u8], range: Option<(i64, i64, Unit)>) -> u64 {
    let span = match range {
        None if value.is_empty() => return 0,
        None => ByteSpan {
            start: 0,
            end: value.len() - 1,
            first_outside: 0,
            last_outside: 0,
        },
        Some((start, end, unit)) => match resolve(start, end, unit, value.len()) {
            Some(span) => span,
            None => return 0,
        },
    };
    let mut total = popcount(&value[span.start..=span.end]);
    total -= (value[span.start] & span.first_outside).count_ones() as u64;
    total -= (value[span.end] & span.last_outside).count_ones() as u64;
    total
}

/// Position of the first bit equal to `bit` in `bytes`, as Redis's `redisBitpos`: looking for a
/// 1 that is not there gives -1; looking for a 0 that is not there gives the first bit past the
/// end (the string is zero padded).
fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    let mut words = bytes.chunks_exact(8);
    let mut at = 0usize;
    for word in words.by_ref() {
        let w = u64::from_be_bytes(word.try_into().unwrap_or([skip; 8]));
        if w != if bit { 0 } else { u64::MAX } {
            let offset = if bit {
                w.leading_zeros()
            } else {
                w.leading_ones()
            };
            return (at * 8 + offset as usize) as i64;
        }
        at += 8;
    }
    for &byte in words.remainder() {
        if byte != skip {
            let offset = if bit {
                byte.leading_zeros()
            } else {
                byte.leading_ones()
            };
            return (at * 8 + offset as usize) as i64;
        }
        at += 1;
    }
    if bit {
        -1
    } else {
        (bytes.len() * 8) as i64
    }
}

/// BITPOS of `bit` in `value`. `range` is the start, the end if one was given, and the unit.
/// Without an end, a search for 0 may answer the first bit past the string (zero padding);
/// with one, a range with no 0 answers -1. An empty range (or string) answers -1.
pub fn position(value: &[u8], bit: bool, range: Option<(i64, Option<i64>, Unit)>) -> i64 {
    let (span, end_given) = match range {
        None if value.is_empty() => return -1,
        None => (
            ByteSpan {
                start: 0,
                end: value.len() - 1,
                first_outside: 0,
                last_outside: 0,
            },
            false,
        ),
        Some((start, end, unit)) => {
            let last = match unit {
                Unit::Byte => value.len() as i64 - 1,
                Unit::Bit => ((value.len() as i64) << 3) - 1,
            };
            match resolve(start, end.unwrap_or(last), unit, value.len()) {
                Some(span) => (span, end.is_some()),
                None => return -1,
            }
        }
    };
    // Outside bits are forced to the value not searched for, so they are never found.
    let masked = |byte: u8, outside: u8| if bit { byte & !outside } else { byte | outside };
    let mut start = span.start;
    let mut bytes = span.end - span.start + 1;
    // Redis searches the first byte alone when it is partial, then the whole bytes, then a
    // partial last byte alone; `bytes` is what remains of the range when it stops, and "not
    // found" is judged against that.
    let found = 'search: {
        if span.first_outside != 0 {
            let mut byte = masked(value[start], span.first_outside);
            if bytes == 1 {
                byte = masked(byte, span.last_outside);
            }
            let pos = first_bit(&[byte], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'search pos;
            }
            start += 1;
            bytes -= 1;
        }
        let whole = bytes - usize::from(span.last_outside != 0);
        if whole > 0 {
            let pos = first_bit(&value[start..start + whole], bit);
            if bytes == whole || (pos != -1 && pos != (whole as i64) << 3) {
                break 'search pos;
            }
            start += whole;
            bytes -= whole;
        }
        first_bit(&[masked(value[span.end], span.last_outside)], bit)
    };
    if end_given && !bit && found == (bytes as i64) << 3 {
        return -1;
    }
    if found == -1 {
        -1
    } else {
        found + ((start as i64) << 3)
    }
}

/// BITOP's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP over `sources` (missing keys are empty strings): as long as the longest source, the
/// shorter ones zero padded. Empty when every source is.
pub fn combine(op: BitOp, sources: &[&[u8]]) -> Vec<u8> {
    let len = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    let Some((first, rest)) = sources.split_first() else {
        return Vec::new();
    };
    let mut out = vec![0u8; len];
    out[..first.len()].copy_from_slice(first);
    match op {
        BitOp::Not => out.iter_mut().for_each(|b| *b = !*b),
        BitOp::And => {
            for source in rest {
                out.iter_mut().zip(source.iter()).for_each(|(o, s)| *o &= s);
                out[source.len()..].fill(0);
            }
        }
        BitOp::Or | BitOp::Xor => {
            for source in rest {
                let pairs = out.iter_mut().zip(source.iter());
                if op == BitOp::Or {
                    pairs.for_each(|(o, s)| *o |= s);
                } else {
                    pairs.for_each(|(o, s)| *o ^= s);
                }
            }
        }
    }
    out
}

/// `bits` (1..=64) bits from bit `offset` as an unsigned integer, bit `offset` the most
/// significant; bits past the end of `bytes` read as 0.
pub fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for i in 0..bits as u64 {
        let at = offset + i;
        let byte = usize::try_from(at >> 3)
            .ok()
            .and_then(|b| bytes.get(b))
            .copied()
            .unwrap_or(0);
        value = (value << 1) | ((byte >> (7 - (at & 7))) & 1) as u64;
    }
    value
}

/// As `get_unsigned`, the top bit being the sign (two's complement).
pub fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let value = get_unsigned(bytes, offset, bits);
    if bits < 64 && value & (1 << (bits - 1)) != 0 {
        (value | (u64::MAX << bits)) as i64
    } else {
        value as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`; the caller made the string long enough.
pub fn set_unsigned(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits as u64 {
        let at = offset + i;
        let on = (value >> (bits as u64 - 1 - i)) & 1 == 1;
        if let Some(byte) = usize::try_from(at >> 3).ok().and_then(|b| bytes.get_mut(b)) {
            let mask = 1u8 << (7 - (at & 7));
            if on {
                *byte |= mask;
            } else {
                *byte &= !mask;
            }
        }
    }
}

/// What BITFIELD does when SET or INCRBY leaves the type's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// Whether `value + incr` fits an unsigned integer of `bits` bits (Redis's
/// `checkUnsignedBitfieldOverflow`, whose comparisons are kept: `value` may already be out of
/// range, as SET passes its argument reinterpreted as unsigned). `None` when it fits; otherwise
/// what to store instead under `overflow` (`None` inside for FAIL: store nothing).
pub fn unsigned_overflow(
    value: u64,
    incr: i64,
    bits: u32,
    overflow: Overflow,
) -> Option<Option<u64>> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrapped = || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits).unwrap_or(0));
    let limit = if value > max || (incr > 0 && incr > max_incr) {
        max
    } else if incr < 0 && incr < min_incr {
        0
    } else {
        return None;
    };
    Some(match overflow {
        Overflow::Wrap => Some(wrapped()),
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    })
}

/// As `unsigned_overflow` for a signed integer of `bits` bits (Redis's
/// `checkSignedBitfieldOverflow`): WRAP keeps the low bits, sign extended.
pub fn signed_overflow(
    value: i64,
    incr: i64,
    bits: u32,
    overflow: Overflow,
) -> Option<Option<i64>> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wide = bits != 64;
    let limit = if value > max
        || (wide && incr > max_incr)
        || (value >= 0 && incr > 0 && incr > max_incr)
    {
        max
    } else if value < min || (wide && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr)
    {
        min
    } else {
        return None;
    };
    let wrapped = || {
        let sum = (value as u64).wrapping_add(incr as u64);
        if bits == 64 {
            sum as i64
        } else if sum & (1 << (bits - 1)) != 0 {
            (sum | (u64::MAX << bits)) as i64
        } else {
            (sum & !(u64::MAX << bits)) as i64
        }
    };
    Some(match overflow {
        Overflow::Wrap => Some(wrapped()),
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    })
}

#[cfg(test)]
mod tests;
