//! Redis computes INCRBYFLOAT (and HINCRBYFLOAT) in C `long double`, which on x86-64 is the x87
//! 80-bit format with a 64-bit significand, and prints the result with `%.17Lf`. Rust has no such
//! type, and `f64` answers differ visibly (10.5 + 0.1 would print as 10.59999999999999964 where
//! Redis prints 10.6), so this module emulates exactly the three operations those commands use:
//! `strtold` (correctly rounded), addition rounded to nearest-even, and `%.17Lf` (exact decimal
//! expansion rounded to 17 places). Exact intermediate values use big integers; the numbers are
//! small in practice, and even the extremes (1e4932) cost microseconds.

use num_bigint::BigUint;

/// Exponent of the significand's lowest bit for the smallest (subnormal) values: 2^-16445.
const MIN_EXP: i64 = -16445;
/// Largest exponent of the lowest bit of a normalized 64-bit significand: values below 2^16384.
const MAX_EXP: i64 = 16320;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer inputs are not numbers.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;
/// Decimal digits printed after the point by `%.17Lf`.
const FRACTION_DIGITS: u32 = 17;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongDouble {
    /// `mantissa * 2^exp`, the mantissa normalized (top bit set) except for zero and subnormals.
    Finite {
        negative: bool,
        mantissa: u64,
        exp: i64,
    },
    Infinite {
        negative: bool,
    },
    NaN,
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble::Finite {
        negative: false,
        mantissa: 0,
        exp: 0,
    };

    pub fn from_i64(n: i64) -> LongDouble {
        let magnitude = n.unsigned_abs();
        if magnitude == 0 {
            return LongDouble::ZERO;
        }
        let shift = magnitude.leading_zeros();
        LongDouble::Finite {
            negative: n < 0,
            mantissa: magnitude << shift,
            exp: -(shift as i64),
        }
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// Reads a number as Redis's `string2ld`: the whole input must be a `strtold` number without
    /// leading space; NaN, and values that overflow or underflow to zero, are rejected.
    pub fn parse(text: &[u8]) -> Option<LongDouble> {
        if text.is_empty() || text.len() >= MAX_LONG_DOUBLE_CHARS || is_c_space(text[0]) {
            return None;
        }
        let (negative, rest) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::Infinite { negative });
        }
        let parsed = match rest {
            [b'0', b'x' | b'X', hex @ ..] => parse_hex(negative, hex)?,
            _ => parse_decimal(negative, rest)?,
        };
        match parsed {
            // The input was not zero, but its value rounded to zero or overflowed (ERANGE).
            Parsed::Rounded(LongDouble::Finite { mantissa: 0, .. })
            | Parsed::Rounded(LongDouble::Infinite { .. }) => None,
            Parsed::Rounded(value) | Parsed::Zero(value) => Some(value),
        }
    }

    /// `%.17Lf` with trailing zeros (and a trailing point) removed, and "-0" written "0": Redis's
    /// `ld2string(.., LD_STR_HUMAN)`.
    pub fn to_human_string(&self) -> String {
        let (negative, mantissa, exp) = match *self {
            LongDouble::Finite {
                negative,
                mantissa,
                exp,
            } => (negative, mantissa, exp),
            LongDouble::Infinite { negative: true } => return "-inf".into(),
            LongDouble::Infinite { negative: false } => return "inf".into(),
            LongDouble::NaN => return "nan".into(),
        };
        let scaled = BigUint::from(mantissa) * BigUint::from(10u32).pow(FRACTION_DIGITS);
        let units = if exp >= 0 {
            scaled << exp as usize
        } else {
            shift_right_even(&scaled, exp.unsigned_abs())
        };
        let mut digits = units.to_str_radix(10);
        let min_len = FRACTION_DIGITS as usize + 1;
        if digits.len() < min_len {
            digits.insert_str(0, &"0".repeat(min_len - digits.len()));
        }
        let point = digits.len() - FRACTION_DIGITS as usize;
        let fraction = digits[point..].trim_end_matches('0');
        let mut text = String::with_capacity(digits.len() + 2);
        if negative {
            text.push('-');
        }
        text.push_str(&digits[..point]);
        if !fraction.is_empty() {
            text.push('.');
            text.push_str(fraction);
        }
        if text == "-0" {
            text.remove(0);
        }
        text
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    /// IEEE addition, rounded to nearest-even at 64 bits of significand.
    fn add(self, other: LongDouble) -> LongDouble {
        use LongDouble::*;
        match (self, other) {
            (NaN, _) | (_, NaN) => NaN,
            (Infinite { negative: a }, Infinite { negative: b }) if a != b => NaN,
            (Infinite { .. }, _) => self,
            (_, Infinite { .. }) => other,
            (
                Finite {
                    negative: na,
                    mantissa: ma,
                    exp: ea,
                },
                Finite {
                    negative: nb,
                    mantissa: mb,
                    exp: eb,
                },
            ) => {
                if ma == 0 {
                    return if mb == 0 { zero(na && nb) } else { other };
                }
                if mb == 0 {
                    return self;
                }
                let ((nh, mh, eh), (nl, ml, el)) = if ea >= eb {
                    ((na, ma, ea), (nb, mb, eb))
                } else {
                    ((nb, mb, eb), (na, ma, ea))
                };
                // The smaller operand is then below a quarter of the larger one's last place: it
                // cannot change the rounded sum.
                if eh - el > 66 {
                    return Finite {
                        negative: nh,
                        mantissa: mh,
                        exp: eh,
                    };
                }
                let high = BigUint::from(mh) << (eh - el) as usize;
                let low = BigUint::from(ml);
                if nh == nl {
                    return round(nh, &(high + low), el, false);
                }
                match high.cmp(&low) {
                    std::cmp::Ordering::Equal => LongDouble::ZERO,
                    std::cmp::Ordering::Greater => round(nh, &(high - low), el, false),
                    std::cmp::Ordering::Less => round(nl, &(low - high), el, false),
                }
            }
        }
    }
}

enum Parsed {
    /// A literal zero: valid whatever its exponent.
    Zero(LongDouble),
    Rounded(LongDouble),
}

fn zero(negative: bool) -> LongDouble {
    LongDouble::Finite {
        negative,
        mantissa: 0,
        exp: 0,
    }
}

fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// `n >> shift`, rounded to nearest with ties to even.
fn shift_right_even(n: &BigUint, shift: u64) -> BigUint {
    let kept = n >> shift;
    let half = shift > 0 && n.bit(shift - 1);
    let below = n
        .trailing_zeros()
        .is_some_and(|zeros| zeros < shift.saturating_sub(1));
    if half && (below || kept.bit(0)) {
        kept + 1u32
    } else {
        kept
    }
}

/// The long double nearest to `n * 2^exp` (plus a nonzero amount below `n`'s last bit when
/// `sticky`), rounding to nearest-even, with gradual underflow and overflow to infinity.
fn round(negative: bool, n: &BigUint, exp: i64, sticky: bool) -> LongDouble {
    let bits = n.bits() as i64;
    if bits == 0 {
        return zero(negative);
    }
    let mut shift = bits - 64;
    if exp + shift < MIN_EXP {
        shift = MIN_EXP - exp;
    }
    let mut exp = exp + shift;
    let mut mantissa = if shift <= 0 {
        low_u64(&(n << shift.unsigned_abs()))
    } else {
        let shift = shift as u64;
        let kept = low_u64(&(n >> shift));
        let half = n.bit(shift - 1);
        let below = sticky || n.trailing_zeros().is_some_and(|zeros| zeros < shift - 1);
        if half && (below || kept & 1 == 1) {
            match kept.checked_add(1) {
                Some(m) => m,
                None => {
                    exp += 1;
                    1 << 63
                }
            }
        } else {
            kept
        }
    };
    if mantissa == 0 {
        return zero(negative);
    }
    if exp > MAX_EXP {
        return LongDouble::Infinite { negative };
    }
    // A subnormal that rounded up into the normal range keeps a valid representation as is.
    if mantissa >> 63 == 0 && exp > MIN_EXP {
        let shift = (mantissa.leading_zeros() as i64).min(exp - MIN_EXP);
        mantissa <<= shift;
        exp -= shift;
    }
    LongDouble::Finite {
        negative,
        mantissa,
        exp,
    }
}

fn low_u64(n: &BigUint) -> u64 {
    n.iter_u64_digits().next().unwrap_or(0)
}

/// An exponent's digits, saturated far beyond any representable value.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    const LIMIT: i64 = 1_000_000_000;
    let (negative, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0i64, |acc, &d| (acc * 10 + (d - b'0') as i64).min(LIMIT));
    Some(if negative { -value } else { value })
}

/// A number's digits (point removed), how many of them followed the point, and its exponent text.
type Number<'a> = (Vec<u8>, i64, Option<&'a [u8]>);

/// Splits `digits[.digits]` from the exponent part (after `marker`), returning the digits without
/// the point and how many followed the point.
fn split_number(text: &[u8], is_digit: fn(&u8) -> bool, markers: [u8; 2]) -> Option<Number<'_>> {
    let (mantissa, exponent) = match text.iter().position(|b| markers.contains(b)) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (whole, fraction) = match mantissa.iter().position(|&b| b == b'.') {
        Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
        None => (mantissa, &b""[..]),
    };
    if whole.len() + fraction.len() == 0 || !whole.iter().chain(fraction).all(is_digit) {
        return None;
    }
    Some((
        whole.iter().chain(fraction).copied().collect(),
        fraction.len() as i64,
        exponent,
    ))
}

fn parse_decimal(negative: bool, text: &[u8]) -> Option<Parsed> {
    let (digits, fraction_len, exponent) = split_number(text, u8::is_ascii_digit, [b'e', b'E'])?;
    let exp10 = match exponent {
        Some(e) => parse_exponent(e)?,
        None => 0,
    } - fraction_len;
    let significant = match digits.iter().position(|&d| d != b'0') {
        Some(first) => &digits[first..],
        None => return Some(Parsed::Zero(zero(negative))),
    };
    // Outside these bounds the value is certainly infinite or rounds to zero: rejected either way
    // (checked here so that 10^exp10 is never computed for absurd exponents).
    let magnitude = significant.len() as i64 + exp10;
    if magnitude > 4934 {
        return Some(Parsed::Rounded(LongDouble::Infinite { negative }));
    }
    if magnitude < -4952 {
        return Some(Parsed::Rounded(zero(negative)));
    }
    let n = BigUint::parse_bytes(significant, 10)?;
    if exp10 >= 0 {
        let n = n * BigUint::from(10u32).pow(exp10 as u32);
        return Some(Parsed::Rounded(round(negative, &n, 0, false)));
    }
    // n / 10^-exp10, with enough quotient bits that the remainder only decides ties.
    let denominator = BigUint::from(10u32).pow(exp10.unsigned_abs() as u32);
    let extra = (denominator.bits() as i64 - n.bits() as i64 + 66).max(0);
    let numerator = n << extra as usize;
    let quotient = &numerator / &denominator;
    let exact = (&quotient * &denominator) == numerator;
    Some(Parsed::Rounded(round(negative, &quotient, -extra, !exact)))
}

fn parse_hex(negative: bool, text: &[u8]) -> Option<Parsed> {
    let (digits, fraction_len, exponent) = split_number(text, u8::is_ascii_hexdigit, [b'p', b'P'])?;
    let exp2 = match exponent {
        Some(e) => parse_exponent(e)?,
        None => 0,
    } - 4 * fraction_len;
    let n = BigUint::parse_bytes(&digits, 16)?;
    if n.bits() == 0 {
        return Some(Parsed::Zero(zero(negative)));
    }
    Some(Parsed::Rounded(round(negative, &n, exp2, false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> LongDouble {
        LongDouble::parse(text.as_bytes()).unwrap_or_else(|| panic!("{text} should parse"))
    }

    fn sum(steps: &[&str]) -> String {
        steps
            .iter()
            .fold(LongDouble::ZERO, |acc, step| acc + num(step))
            .to_human_string()
    }

    #[test]
    fn sums_print_like_redis() {
        assert_eq!(sum(&["10.50", "0.1"]), "10.6");
        assert_eq!(sum(&["10.50", "0.1", "5000"]), "5010.60000000000000009");
        assert_eq!(
            sum(&["10.50", "0.1", "5000", "1e15"]),
            "1000000000005010.5999755859375"
        );
        assert_eq!(sum(&["1000", "0.1"]), "1000.09999999999999998");
        assert_eq!(sum(&["0.1", "1e-20"]), "0.1");
        assert_eq!(sum(&["-1e-30"]), "0");
        assert_eq!(sum(&["5.0e3", "2.0e2"]), "5200");
        assert_eq!(sum(&["1", "0x1p3"]), "9");
        assert_eq!(sum(&["9", "-0.0"]), "9");
        assert_eq!(sum(&["9", "+1.5"]), "10.5");
        assert_eq!(sum(&["1", "-1"]), "0");
        // Exact ties at the 17th decimal round to even, as glibc's printf does.
        assert_eq!(sum(&["0x1p-18"]), "0.00000381469726562");
        assert_eq!(sum(&["0x3p-18"]), "0.00001144409179688");
        assert_eq!(sum(&["0.000000000000000005"]), "0");
        assert_eq!(sum(&["0.000000000000000015"]), "0.00000000000000002");
        // The smallest subnormals: 1e-4951 rounds to zero (rejected), 4e-4951 does not.
        assert_eq!(LongDouble::parse(b"1e-4951"), None);
        assert_eq!(sum(&["4e-4951"]), "0");
        assert!(sum(&["1.18973149535723176502e+4932"]).starts_with(
            "118973149535723176502126385303097020516906332229462420044032373389173700552297"
        ));
        assert_eq!(sum(&["-3.25"]), "-3.25");
        assert!(sum(&["1e300"]).starts_with("1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497"));
        assert_eq!(sum(&["1e300"]).len(), 301);
    }

    #[test]
    fn integers_convert_exactly() {
        assert_eq!(
            LongDouble::from_i64(i64::MIN).to_human_string(),
            "-9223372036854775808"
        );
        assert_eq!(
            LongDouble::from_i64(i64::MAX).to_human_string(),
            "9223372036854775807"
        );
        assert_eq!(
            (LongDouble::from_i64(0) + num("0.25")).to_human_string(),
            "0.25"
        );
    }

    #[test]
    fn parse_rejects_what_strtold_and_string2ld_reject() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "NaN", "1e5000", "1e-5000", "1e", "1e+", ".", "-", "0x",
            "0xg", "1.2.3", "1,5", "--1", "+-1", "1\u{0}1",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        for good in [
            "0",
            "-0.0",
            ".5",
            "5.",
            "1E3",
            "1e+3",
            "1e-3",
            "0e99999",
            "0x1.8p1",
            "0X10",
            "inf",
            "-Infinity",
            "+7",
        ] {
            assert!(LongDouble::parse(good.as_bytes()).is_some(), "{good:?}");
        }
        assert!(!(num("inf") + LongDouble::ZERO).is_finite());
        assert!(!(num("1e4932") + num("1e4932")).is_finite());
        assert_eq!(num("0x1.8p1").to_human_string(), "3");
    }
}
