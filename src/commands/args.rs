//! Reading arguments the way Redis does: strict integers (`string2ll`), floats (`strtold` without
//! spaces or NaN), C's `strtod`, and case-insensitive option names.

use bytes::Bytes;

use crate::error::CmdError;
use crate::protocol::parse_i64;

pub fn int(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// A C `int` as Redis's `getIntFromObjectOrReply` reads it: a 64-bit integer first (else not an
/// integer), then the `int` range (else Redis's out-of-range message with the bounds).
pub fn c_int(arg: &[u8]) -> Result<i32, CmdError> {
    let value = int(arg)?;
    i32::try_from(value).map_err(|_| CmdError::IntOutOfRange)
}

/// A float as Redis's `getLongDoubleFromObject`/`getDoubleFromObject`: no surrounding spaces,
/// `inf`/`-inf` accepted, NaN rejected.
pub fn float(arg: &[u8]) -> Result<f64, CmdError> {
    parse_float(arg).ok_or(CmdError::NotFloat)
}

pub fn parse_float(arg: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(arg).ok()?;
    if text.is_empty()
        || text.starts_with(char::is_whitespace)
        || text.ends_with(char::is_whitespace)
    {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let value = match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        rest if rest.starts_with("0x") => return None,
        _ => text.parse::<f64>().ok()?,
    };
    (!value.is_nan()).then_some(value)
}

/// Whether `arg` is `option`, ignoring ASCII case.
pub fn is(arg: &Bytes, option: &str) -> bool {
    arg.eq_ignore_ascii_case(option.as_bytes())
}

/// Whether `arg` is `option` as Redis's `strcasecmp` sees it: the argument ends at its first NUL
/// byte (`get\0x` is `GET`). For the options Redis compares that way (BITOP's operation,
/// BITFIELD's subcommands...).
pub fn is_c(arg: &[u8], option: &str) -> bool {
    crate::error::c_string(arg).eq_ignore_ascii_case(option.as_bytes())
}

/// An argument as Redis's `%s`/`%.Ns` reads it: its bytes up to the first NUL (a C string), at
/// most `max` of them.
pub fn c_str(arg: &[u8], max: usize) -> &[u8] {
    let arg = crate::error::c_string(arg);
    &arg[..arg.len().min(max)]
}

pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// Redis's `getTimeoutFromObjectOrReply` in seconds: a float times 1000, truncated to whole
/// milliseconds as C converts it (so 0.0001 means "forever", and out-of-range values wrap to a
/// negative number). `None` is no timeout.
pub fn timeout(arg: &[u8]) -> Result<Option<std::time::Duration>, CmdError> {
    let seconds = parse_float(arg).ok_or(CmdError::TimeoutNotFloat)?;
    let ms = seconds * 1000.0;
    let ms = if ms > -9.223_372_036_854_775e18 && ms < 9.223_372_036_854_775e18 {
        ms as i64
    } else {
        i64::MIN
    };
    match ms {
        ..=-1 => Err(CmdError::TimeoutNegative),
        0 => Ok(None),
        ms => Ok(Some(std::time::Duration::from_millis(ms as u64))),
    }
}

/// C's `isspace`.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `strtod` over the whole text, which must be consumed entirely. Leading white space is skipped
/// as strtod does; the result may be ±inf (also on overflow) or NaN. `None` when text is left.
pub fn strtod_whole(text: &[u8]) -> Option<(f64, bool)> {
    let start = text
        .iter()
        .position(|&b| !is_c_space(b))
        .unwrap_or(text.len());
    let body = &text[start..];
    if body.is_empty() {
        // strtod converts nothing and leaves its end pointer at the start of an empty string.
        return (start == 0).then_some((0.0, false));
    }
    let (negative, unsigned) = match body[0] {
        b'-' => (true, &body[1..]),
        b'+' => (false, &body[1..]),
        _ => (false, body),
    };
    let value = if unsigned.len() > 2 && unsigned[..2].eq_ignore_ascii_case(b"0x") {
        parse_hex(&unsigned[2..])?
    } else {
        let lower = std::str::from_utf8(unsigned).ok()?.to_ascii_lowercase();
        match lower.as_str() {
            "inf" | "infinity" => f64::INFINITY,
            "nan" => f64::NAN,
            digits if digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
                digits.parse::<f64>().ok()?
            }
            _ => return None,
        }
    };
    let value = if negative { -value } else { value };
    // strtod reports ERANGE for a finite text that overflows, or that underflows to zero.
    let has_nonzero_digit = unsigned
        .iter()
        .take_while(|&&b| b != b'e' && b != b'E' && b != b'p' && b != b'P')
        .any(|&b| (b'1'..=b'9').contains(&b) || (b.is_ascii_hexdigit() && b.is_ascii_alphabetic()));
    let named = unsigned
        .first()
        .is_some_and(|b| b.eq_ignore_ascii_case(&b'i') || b.eq_ignore_ascii_case(&b'n'));
    let out_of_range = !named && (value.is_infinite() || (value == 0.0 && has_nonzero_digit));
    Some((value, out_of_range))
}

/// A C99 hexadecimal float body (after `0x`): hex digits, an optional fraction, an optional
/// binary exponent `p±n`.
fn parse_hex(text: &[u8]) -> Option<f64> {
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'p' || b == b'P') {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (whole, fraction) = match mantissa.iter().position(|&b| b == b'.') {
        Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
        None => (mantissa, &[][..]),
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for &b in whole {
        value = value * 16.0 + (b as char).to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for &b in fraction {
        value += (b as char).to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    if let Some(exponent) = exponent {
        let exponent: i32 = std::str::from_utf8(exponent).ok()?.parse().ok()?;
        value *= 2f64.powi(exponent.clamp(-2200, 2200));
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_redis() {
        assert_eq!(parse_float(b"1.5"), Some(1.5));
        assert_eq!(parse_float(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float(b"5e3"), Some(5000.0));
        assert_eq!(parse_float(b" 1"), None);
        assert_eq!(parse_float(b"nan"), None);
        assert_eq!(parse_float(b"abc"), None);
    }

    #[test]
    fn timeouts_as_redis_reads_them() {
        assert_eq!(timeout(b"0").ok(), Some(None));
        assert_eq!(timeout(b"0.0001").ok(), Some(None));
        assert_eq!(
            timeout(b"1.5").ok(),
            Some(Some(std::time::Duration::from_millis(1500)))
        );
        assert!(timeout(b"-0.0001").is_ok());
        let negative = |arg: &[u8]| timeout(arg).err();
        assert_eq!(negative(b"-1"), Some(CmdError::TimeoutNegative));
        assert_eq!(negative(b"inf"), Some(CmdError::TimeoutNegative));
        assert_eq!(negative(b"1e100"), Some(CmdError::TimeoutNegative));
        assert_eq!(negative(b"abc"), Some(CmdError::TimeoutNotFloat));
    }
}
