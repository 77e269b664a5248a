//! Stream entry IDs (`<ms>-<seq>`, two unsigned 64-bit halves) and the way Redis reads them from
//! arguments (`streamGenericParseIDOrReply`): the argument is a C string (it ends at its first NUL),
//! split at its first `-`, each half read by `string2ull` — a strict decimal first, then `strtoull`,
//! which also takes leading spaces, a `+`, and wraps a negative value around.

use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

/// Longest argument Redis reads as an ID (its parse buffer is 128 bytes with the NUL).
const MAX_ID_ARG: usize = 127;

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The next ID; `None` after the last one (Redis's `streamIncrID` failing).
    pub fn incr(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous ID; `None` before `0-0` (Redis's `streamDecrID` failing).
    pub fn decr(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// `<ms>-<seq>` into `out` (at most 41 bytes), cleared first.
    pub fn format_into(self, out: &mut String) {
        out.clear();
        let _ = write!(out, "{}-{}", self.ms, self.seq);
    }

    pub fn to_text(self) -> String {
        let mut text = String::with_capacity(41);
        self.format_into(&mut text);
        text
    }

    /// The 16-byte big-endian key Redis's radix tree sorts IDs by.
    /// The ID of a 16-byte big-endian key (a node's key, a pending entry in a DUMP).
    pub fn from_be_bytes(key: [u8; 16]) -> StreamId {
        let (ms, seq) = key.split_at(8);
        StreamId::new(
            u64::from_be_bytes(ms.try_into().expect("8 bytes")),
            u64::from_be_bytes(seq.try_into().expect("8 bytes")),
        )
    }

    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&self.ms.to_be_bytes());
        key[8..].copy_from_slice(&self.seq.to_be_bytes());
        key
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An ID argument as read: the ID, and whether its sequence was given (false for XADD's
/// `<ms>-*`, whose sequence the stream chooses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedId {
    pub id: StreamId,
    pub seq_given: bool,
}

/// Reads an ID argument as Redis does. `missing_seq` completes a bare `<ms>`; `strict` refuses `-`
/// and `+` (which otherwise stand for the first and last possible IDs); `seq_star` accepts
/// `<ms>-*` (XADD only). `None` is Redis's "Invalid stream ID" error.
pub fn parse_id(arg: &[u8], missing_seq: u64, strict: bool, seq_star: bool) -> Option<ParsedId> {
    if arg.len() > MAX_ID_ARG {
        return None;
    }
    let text = crate::error::c_string(arg);
    if strict && (text == b"-" || text == b"+") {
        return None;
    }
    let parsed = |id| {
        Some(ParsedId {
            id,
            seq_given: true,
        })
    };
    match text {
        b"-" => return parsed(StreamId::MIN),
        b"+" => return parsed(StreamId::MAX),
        _ => {}
    }
    let (ms_text, seq_text) = match text.iter().position(|&b| b == b'-') {
        Some(dash) => (&text[..dash], Some(&text[dash + 1..])),
        None => (text, None),
    };
    let ms = string2ull(ms_text)?;
    let (seq, seq_given) = match seq_text {
        Some(b"*") if seq_star => (0, false),
        Some(seq) => (string2ull(seq)?, true),
        None => (missing_seq, true),
    };
    Some(ParsedId {
        id: StreamId::new(ms, seq),
        seq_given,
    })
}

/// Redis's `string2ull`: a strict decimal (`string2ll`) that must not be negative, else C's
/// `strtoull` in base 10 over the whole text (leading white space and a sign allowed, a negative
/// value wrapped around, an overflow refused).
pub fn string2ull(text: &[u8]) -> Option<u64> {
    if let Some(value) = crate::protocol::parse_i64(text) {
        return u64::try_from(value).ok();
    }
    let mut rest = text;
    while let Some((&first, tail)) = rest.split_first() {
        if matches!(first, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            rest = tail;
        } else {
            break;
        }
    }
    let negative = match rest.first() {
        Some(b'-') => {
            rest = &rest[1..];
            true
        }
        Some(b'+') => {
            rest = &rest[1..];
            false
        }
        _ => false,
    };
    if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: u64 = 0;
    for &digit in rest {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(arg: &str) -> Option<StreamId> {
        parse_id(arg.as_bytes(), 0, true, false).map(|p| p.id)
    }

    #[test]
    fn arithmetic_at_the_edges() {
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::MIN.decr(), None);
        assert_eq!(StreamId::new(5, u64::MAX).incr(), Some(StreamId::new(6, 0)));
        assert_eq!(StreamId::new(6, 0).decr(), Some(StreamId::new(5, u64::MAX)));
        assert_eq!(StreamId::new(1, 2).to_text(), "1-2");
        assert!(StreamId::new(1, u64::MAX) < StreamId::new(2, 0));
    }

    #[test]
    fn arguments_read_as_redis_reads_them() {
        assert_eq!(id("5"), Some(StreamId::new(5, 0)));
        assert_eq!(id("5-3"), Some(StreamId::new(5, 3)));
        assert_eq!(id(" 5"), Some(StreamId::new(5, 0)));
        assert_eq!(id("+5"), Some(StreamId::new(5, 0)));
        assert_eq!(id("007"), Some(StreamId::new(7, 0)));
        assert_eq!(id("5--0"), Some(StreamId::new(5, 0)));
        assert_eq!(id("5--1"), None);
        assert_eq!(id("-0"), None);
        assert_eq!(id("5 "), None);
        assert_eq!(id(""), None);
        assert_eq!(
            id("18446744073709551615-18446744073709551615"),
            Some(StreamId::MAX)
        );
        assert_eq!(id("18446744073709551616"), None);
        assert_eq!(id("5-1\0junk"), Some(StreamId::new(5, 1)));
        assert_eq!(id("-"), None);
        assert_eq!(
            parse_id(b"-", 0, false, false).map(|p| p.id),
            Some(StreamId::MIN)
        );
        assert_eq!(
            parse_id(b"+", 0, false, false).map(|p| p.id),
            Some(StreamId::MAX)
        );
        assert_eq!(
            parse_id(b"7", u64::MAX, false, false).map(|p| p.id),
            Some(StreamId::new(7, u64::MAX))
        );
        assert_eq!(
            parse_id(b"7-*", 0, true, true),
            Some(ParsedId {
                id: StreamId::new(7, 0),
                seq_given: false
            })
        );
        assert_eq!(parse_id(b"7-*", 0, true, false), None);
        assert_eq!(string2ull(b"-18446744073709551615"), Some(1));
        assert_eq!(string2ull(b"-1"), None);
        assert_eq!(parse_id(&[b'1'; 128], 0, true, false), None);
    }
}
