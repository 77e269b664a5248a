//! The two C library calls lua-cjson leaves its numbers to: `snprintf("%.<p>g")` when encoding
//! and glibc's `strtod` when decoding (which is why, with `decode_invalid_numbers` on, `NaN`,
//! `-Infinity`, `0x10` and `0x1.8p1` are numbers to it).

/// C's `%.<precision>g` for a finite number (precision 1 to 14, lua-cjson's range).
pub fn format_g(n: f64, precision: usize) -> String {
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let digits = precision.max(1) - 1;
    // The exponent after rounding to `precision` digits decides between the two notations.
    let exp = format!("{n:.digits$e}");
    let (mantissa, exponent) = exp.split_once('e').unwrap_or((&exp, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if exponent >= -4 && exponent < precision as i32 {
        let decimals = (digits as i32 - exponent).max(0) as usize;
        trim_fraction(&format!("{n:.decimals$}")).to_string()
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim_fraction(mantissa), exponent.abs())
    }
}

/// `%g` drops a fraction's trailing zeros, and the point when nothing is left after it.
fn trim_fraction(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

/// glibc's `strtod` in the C locale: the number at the start of `text` and the bytes it took,
/// or `None` where strtod takes nothing. No leading white space here: lua-cjson only calls it
/// at a token's first byte, which is never a space.
pub fn strtod(text: &[u8]) -> Option<(f64, usize)> {
    let (negative, start) = match text.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let rest = &text[start..];
    let (magnitude, used) = if starts_with_ignore_case(rest, b"inf") {
        let used = if starts_with_ignore_case(rest, b"infinity") {
            8
        } else {
            3
        };
        (f64::INFINITY, used)
    } else if starts_with_ignore_case(rest, b"nan") {
        (f64::NAN, 3 + nan_payload(&rest[3..]))
    } else if rest.len() > 2
        && rest[0] == b'0'
        && (rest[1] | 0x20) == b'x'
        && (rest[2].is_ascii_hexdigit()
            || (rest[2] == b'.' && rest.get(3).is_some_and(u8::is_ascii_hexdigit)))
    {
        let (value, used) = hexadecimal(&rest[2..]);
        (value, 2 + used)
    } else {
        decimal(rest)?
    };
    let value = if negative { -magnitude } else { magnitude };
    Some((value, start + used))
}

fn starts_with_ignore_case(text: &[u8], word: &[u8]) -> bool {
    text.len() >= word.len() && text[..word.len()].eq_ignore_ascii_case(word)
}

/// `nan(n-char-sequence)`: the parenthesised part is taken only when it is closed.
fn nan_payload(text: &[u8]) -> usize {
    if text.first() != Some(&b'(') {
        return 0;
    }
    let inside = text[1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    if text.get(1 + inside) == Some(&b')') {
        inside + 2
    } else {
        0
    }
}

fn digits(text: &[u8], at: usize, hex: bool) -> usize {
    text[at..]
        .iter()
        .take_while(|b| {
            if hex {
                b.is_ascii_hexdigit()
            } else {
                b.is_ascii_digit()
            }
        })
        .count()
}

/// An exponent (`e` for decimal, `p` for hexadecimal) is part of the number only when digits
/// follow it: its length, or 0.
fn exponent_len(text: &[u8], at: usize, letter: u8) -> usize {
    if text.get(at).map(|b| b | 0x20) != Some(letter) {
        return 0;
    }
    let sign = usize::from(matches!(text.get(at + 1), Some(b'+' | b'-')));
    match digits(text, at + 1 + sign, false) {
        0 => 0,
        n => 1 + sign + n,
    }
}

/// Decimal digits with an optional point and exponent. Rust's parser takes every such spelling
/// (`1.`, `.5`, `1e5`) and rounds as glibc does (correctly).
fn decimal(text: &[u8]) -> Option<(f64, usize)> {
    let int = digits(text, 0, false);
    let mut at = int;
    if text.get(at) == Some(&b'.') {
        let frac = digits(text, at + 1, false);
        if int + frac == 0 {
            return None;
        }
        at += 1 + frac;
    } else if int == 0 {
        return None;
    }
    let end = at + exponent_len(text, at, b'e');
    let value = std::str::from_utf8(&text[..end])
        .ok()?
        .parse::<f64>()
        .ok()?;
    Some((value, end))
}

/// Hexadecimal digits (after `0x`) with an optional point and binary exponent, rounded to
/// nearest, ties to even, as glibc rounds them.
fn hexadecimal(text: &[u8]) -> (f64, usize) {
    let mut mantissa: u128 = 0;
    let mut scale: i64 = 0;
    let mut sticky = false;
    let mut at = 0;
    let mut seen_point = false;
    while let Some(&b) = text.get(at) {
        if b == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(digit) = (b as char).to_digit(16) {
            if mantissa >> 120 == 0 {
                mantissa = mantissa << 4 | u128::from(digit);
                if seen_point {
                    scale -= 4;
                }
            } else {
                sticky |= digit != 0;
                if !seen_point {
                    scale += 4;
                }
            }
        } else {
            break;
        }
        at += 1;
    }
    let exp = exponent_len(text, at, b'p');
    if exp > 0 {
        let written = std::str::from_utf8(&text[at + 1..at + exp]).unwrap_or("0");
        // Any exponent past this many binary places already overflows or underflows.
        let power = written
            .parse::<i64>()
            .unwrap_or(if written.starts_with('-') {
                -100_000
            } else {
                100_000
            });
        scale += power.clamp(-100_000, 100_000);
    }
    (scaled(mantissa, scale, sticky), at + exp)
}

/// `mantissa * 2^scale` rounded to a double (subnormals included); `sticky` says nonzero digits
/// were dropped below the mantissa.
fn scaled(mantissa: u128, scale: i64, sticky: bool) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let bits = 128 - i64::from(mantissa.leading_zeros());
    // Keep 53 significant bits, fewer where the result is subnormal (its last bit is 2^-1074).
    let mut shift = (bits - 53).max(-1074 - scale);
    if bits + scale > 1025 {
        return f64::INFINITY;
    }
    let mut kept = mantissa;
    if shift > 0 {
        if shift >= 128 {
            return 0.0;
        }
        let dropped = mantissa & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        kept = mantissa >> shift;
        let above_half = dropped > half || (dropped == half && (sticky || kept & 1 == 1));
        if above_half {
            kept += 1;
        }
    } else {
        shift = 0;
    }
    let mut value = kept as f64;
    let mut power = scale + shift;
    // Exact steps of powers of two: `kept` has at most 54 bits, so no step rounds.
    while power > 0 {
        let step = power.min(1000);
        value *= 2f64.powi(step as i32);
        power -= step;
    }
    while power < 0 {
        let step = (-power).min(1000);
        value /= 2f64.powi(step as i32);
        power += step;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_c_g_at_each_precision() {
        // printf("%.<p>g") of glibc for 1234.56789, 0.000123456 and 1e20 at p = 1..14.
        let expected = [
            (1, "1e+03", "0.0001", "1e+20"),
            (2, "1.2e+03", "0.00012", "1e+20"),
            (3, "1.23e+03", "0.000123", "1e+20"),
            (4, "1235", "0.0001235", "1e+20"),
            (5, "1234.6", "0.00012346", "1e+20"),
            (6, "1234.57", "0.000123456", "1e+20"),
            (7, "1234.568", "0.000123456", "1e+20"),
            (8, "1234.5679", "0.000123456", "1e+20"),
            (9, "1234.56789", "0.000123456", "1e+20"),
            (10, "1234.56789", "0.000123456", "1e+20"),
            (11, "1234.56789", "0.000123456", "1e+20"),
            (12, "1234.56789", "0.000123456", "1e+20"),
            (13, "1234.56789", "0.000123456", "1e+20"),
            (14, "1234.56789", "0.000123456", "1e+20"),
        ];
        for (p, a, b, c) in expected {
            assert_eq!(format_g(1234.56789, p), a, "precision {p}");
            assert_eq!(format_g(0.000123456, p), b, "precision {p}");
            assert_eq!(format_g(1e20, p), c, "precision {p}");
        }
        assert_eq!(format_g(0.5, 1), "0.5");
        assert_eq!(format_g(9.5, 1), "1e+01");
        assert_eq!(format_g(2.5, 1), "2");
        assert_eq!(format_g(-0.0, 3), "-0");
        assert_eq!(format_g(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(format_g(1e-5, 14), "1e-05");
        assert_eq!(format_g(1.234_567_890_123_456_7, 14), "1.2345678901235");
    }

    #[test]
    fn strtod_takes_what_glibc_takes() {
        let nan = |t: &str| strtod(t.as_bytes()).map(|(v, n)| (v.is_nan(), n));
        assert_eq!(strtod(b"12]"), Some((12.0, 2)));
        assert_eq!(strtod(b"-1.5e3,"), Some((-1500.0, 6)));
        assert_eq!(strtod(b"1e"), Some((1.0, 1)));
        assert_eq!(strtod(b"1e+"), Some((1.0, 1)));
        assert_eq!(strtod(b"1.e2"), Some((100.0, 4)));
        assert_eq!(strtod(b"-.5"), Some((-0.5, 3)));
        assert_eq!(strtod(b"+7"), Some((7.0, 2)));
        assert_eq!(strtod(b"007"), Some((7.0, 3)));
        assert_eq!(strtod(b"-"), None);
        assert_eq!(strtod(b"."), None);
        assert_eq!(strtod(b"-x"), None);
        assert_eq!(strtod(b"0x10"), Some((16.0, 4)));
        assert_eq!(strtod(b"0X1.8p1]"), Some((3.0, 7)));
        assert_eq!(strtod(b"0x.8"), Some((0.5, 4)));
        assert_eq!(strtod(b"0xp1"), Some((0.0, 1)));
        assert_eq!(strtod(b"0x1p-1074"), Some((f64::from_bits(1), 9)));
        assert_eq!(strtod(b"0x1p-1075"), Some((0.0, 9)));
        assert_eq!(strtod(b"0x1p1024"), Some((f64::INFINITY, 8)));
        assert_eq!(strtod(b"0x1fffffffffffff8p-3"), Some((2f64.powi(54), 20)));
        assert_eq!(strtod(b"1e400"), Some((f64::INFINITY, 5)));
        assert_eq!(strtod(b"-Infinity]"), Some((f64::NEG_INFINITY, 9)));
        assert_eq!(strtod(b"infinit"), Some((f64::INFINITY, 3)));
        assert_eq!(nan("NaN]"), Some((true, 3)));
        assert_eq!(nan("nan(abc_1)x"), Some((true, 10)));
        assert_eq!(nan("nan(abc"), Some((true, 3)));
        assert!(strtod(b"-nan").is_some_and(|(v, _)| v.is_sign_negative()));
    }
}
