//! Reading sorted set arguments as Redis does: scores (`string2d`), score ranges (`zslParseRange`,
//! plain `strtod` with an optional `(`), lex ranges (`zslParseLexRange`: `[a`, `(a`, `-`, `+`).

use std::cmp::Ordering;

use crate::commands::args::{is_c_space, strtod_whole};
use crate::error::CmdError;

/// A score or increment as Redis's `getDoubleFromObject` (`string2d`): no leading space, nothing
/// left over, no overflow or underflow, not NaN.
pub fn parse_score(arg: &[u8]) -> Option<f64> {
    if arg.first().is_none_or(|&b| is_c_space(b)) {
        return None;
    }
    let (value, out_of_range) = strtod_whole(arg)?;
    (!out_of_range && !value.is_nan()).then_some(value)
}

pub fn score(arg: &[u8]) -> Result<f64, CmdError> {
    parse_score(arg).ok_or(CmdError::NotFloat)
}

/// `[min, max]` of scores, either end possibly exclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_exclusive: bool,
    pub max_exclusive: bool,
}

impl ScoreRange {
    pub fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
        let (min, min_exclusive) = parse_score_bound(min).ok_or(CmdError::NotFloatRange)?;
        let (max, max_exclusive) = parse_score_bound(max).ok_or(CmdError::NotFloatRange)?;
        Ok(ScoreRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        })
    }

    /// True when no score can be in the range (Redis answers those without looking).
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }

    pub fn above_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    pub fn below_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }
}

fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    // `zslParseRange` hands the argument to strtod as a C string: it ends at the first NUL.
    let arg = crate::commands::args::c_str(arg, usize::MAX);
    let (text, exclusive) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    let (value, _) = strtod_whole(text)?;
    (!value.is_nan()).then_some((value, exclusive))
}

/// One end of a lex range: `-` (below everything), `+` (above everything), or a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    Min,
    Max,
    Member(Vec<u8>),
}

/// A lex range as `zslParseLexRange` reads it; `-` and `+` count as exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
    pub min_exclusive: bool,
    pub max_exclusive: bool,
}

/// `sdscmplex`: the order of members and the two infinite bounds.
fn compare_lex(a: &LexBound, b: &LexBound) -> Ordering {
    match (a, b) {
        (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Ordering::Equal,
        (LexBound::Min, _) | (_, LexBound::Max) => Ordering::Less,
        (LexBound::Max, _) | (_, LexBound::Min) => Ordering::Greater,
        (LexBound::Member(a), LexBound::Member(b)) => a.cmp(b),
    }
}

fn compare_member(member: &[u8], bound: &LexBound) -> Ordering {
    match bound {
        LexBound::Min => Ordering::Greater,
        LexBound::Max => Ordering::Less,
        LexBound::Member(b) => member.cmp(b),
    }
}

impl LexRange {
    pub fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
        let (min, min_exclusive) = parse_lex_item(min).ok_or(CmdError::NotLexRange)?;
        let (max, max_exclusive) = parse_lex_item(max).ok_or(CmdError::NotLexRange)?;
        Ok(LexRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        })
    }

    pub fn is_empty(&self) -> bool {
        match compare_lex(&self.min, &self.max) {
            Ordering::Greater => true,
            Ordering::Equal => self.min_exclusive || self.max_exclusive,
            Ordering::Less => false,
        }
    }

    pub fn above_min(&self, member: &[u8]) -> bool {
        let ordering = compare_member(member, &self.min);
        if self.min_exclusive {
            ordering.is_gt()
        } else {
            ordering.is_ge()
        }
    }

    pub fn below_max(&self, member: &[u8]) -> bool {
        let ordering = compare_member(member, &self.max);
        if self.max_exclusive {
            ordering.is_lt()
        } else {
            ordering.is_le()
        }
    }
}

fn parse_lex_item(arg: &[u8]) -> Option<(LexBound, bool)> {
    // Redis tests `c[1] != '\0'` on a C string: a NUL right after the sign still reads as the bound.
    let lone = |arg: &[u8]| arg.len() == 1 || arg[1] == 0;
    match arg.first()? {
        b'+' if lone(arg) => Some((LexBound::Max, true)),
        b'-' if lone(arg) => Some((LexBound::Min, true)),
        b'(' => Some((LexBound::Member(arg[1..].to_vec()), true)),
        b'[' => Some((LexBound::Member(arg[1..].to_vec()), false)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_as_string2d() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"1e3"), Some(1000.0));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"0"), Some(0.0));
        assert_eq!(parse_score(b"0e10"), Some(0.0));
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b"1 "), None);
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"abc"), None);
        assert_eq!(parse_score(b"1.2.3"), None);
    }

    #[test]
    fn score_ranges_as_zsl_parse_range() {
        let range = ScoreRange::parse(b"(1", b"+inf").unwrap();
        assert!(range.min_exclusive && !range.max_exclusive);
        assert!(!range.above_min(1.0) && range.above_min(1.5) && range.below_max(f64::INFINITY));
        // strtod accepts leading space and the empty string (as 0).
        assert_eq!(ScoreRange::parse(b" 1", b"").unwrap().max, 0.0);
        assert_eq!(ScoreRange::parse(b"(", b"1").unwrap().min, 0.0);
        assert_eq!(
            ScoreRange::parse(b"1e400", b"2").unwrap().min,
            f64::INFINITY
        );
        // A C string: what follows a NUL is not seen.
        assert_eq!(ScoreRange::parse(b"\x00abc", b"1").unwrap().min, 0.0);
        let range = ScoreRange::parse(b"(1\x00", b"2\x00x").unwrap();
        assert!(range.min_exclusive && range.min == 1.0 && range.max == 2.0);
        assert!(ScoreRange::parse(b"1x\x00", b"2").is_err());
        assert!(ScoreRange::parse(b"a", b"1").is_err());
        assert!(ScoreRange::parse(b"nan", b"1").is_err());
        assert!(ScoreRange::parse(b"1", b"2x").is_err());
        assert!(ScoreRange::parse(b"(1", b"1").unwrap().is_empty());
        assert!(ScoreRange::parse(b"2", b"1").unwrap().is_empty());
        assert!(!ScoreRange::parse(b"1", b"1").unwrap().is_empty());
    }

    #[test]
    fn lex_ranges_as_zsl_parse_lex_range() {
        let range = LexRange::parse(b"[b", b"(d").unwrap();
        assert!(range.above_min(b"b") && !range.above_min(b"a"));
        assert!(range.below_max(b"c") && !range.below_max(b"d"));
        let all = LexRange::parse(b"-", b"+").unwrap();
        assert!(all.above_min(b"") && all.below_max(b"\xff"));
        assert!(LexRange::parse(b"+", b"-").unwrap().is_empty());
        assert!(LexRange::parse(b"-", b"-").unwrap().is_empty());
        assert!(LexRange::parse(b"(a", b"[a").unwrap().is_empty());
        assert!(!LexRange::parse(b"[a", b"[a").unwrap().is_empty());
        assert!(LexRange::parse(b"a", b"+").is_err());
        assert!(LexRange::parse(b"+x", b"+").is_err());
        assert!(LexRange::parse(b"", b"+").is_err());
        assert!(LexRange::parse(b"[", b"+").is_ok());
    }
}
