//! Reading arguments the way Redis does: strict integers (`string2ll`), floats (`strtold` without
//! spaces or NaN), and case-insensitive option names.

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
