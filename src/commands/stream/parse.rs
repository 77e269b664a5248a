//! Stream arguments read as Redis reads them: XADD's and XTRIM's options
//! (`streamParseAddOrTrimArgsOrReply`) and the IDs of a range (`streamParseIntervalIDOrReply`).
//! Options are compared as C strings (up to a NUL), like Redis's `strcasecmp`.

use bytes::Bytes;

use crate::commands::args;
use crate::engine::types::stream::{parse_id, ParsedId, StreamId, Trim};
use crate::error::{c_string, CmdError, StreamError};

/// Trimming without an explicit LIMIT under `~` stops after this many entries at most, and at
/// least this many when `100 * stream-node-max-entries` is not positive (Redis's caps).
const APPROX_LIMIT_FLOOR: i64 = 10_000;
const APPROX_LIMIT_CEILING: i64 = 1_000_000;

pub fn stream_err(error: StreamError) -> CmdError {
    CmdError::Stream(error)
}

/// An ID argument; `-` and `+` refused when `strict`.
pub fn id(arg: &[u8], missing_seq: u64, strict: bool) -> Result<StreamId, CmdError> {
    parse_id(arg, missing_seq, strict, false)
        .map(|p| p.id)
        .ok_or(stream_err(StreamError::InvalidId))
}

#[derive(Debug, Clone, Copy)]
pub struct TrimArgs {
    pub strategy: Trim,
    pub approx: bool,
    /// Entries removed at most; 0 for no bound.
    pub limit: i64,
}

#[derive(Debug)]
pub struct AddTrimArgs {
    pub trim: Option<TrimArgs>,
    pub no_mkstream: bool,
    /// XADD's explicit ID; `None` for `*`.
    pub id: Option<ParsedId>,
    /// Where XADD's ID is (the fields follow it).
    pub id_pos: usize,
}

/// XADD's options and ID (`xadd`), or XTRIM's options.
pub fn add_or_trim(
    argv: &[Bytes],
    xadd: bool,
    node_max_entries: i64,
) -> Result<AddTrimArgs, CmdError> {
    let mut strategy = None;
    let mut approx = false;
    let mut limit: i64 = 0;
    let mut limit_given = false;
    let mut no_mkstream = false;
    let mut id = None;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = c_string(&argv[i]);
        let is_maxlen = opt.eq_ignore_ascii_case(b"maxlen");
        if xadd && opt == b"*" {
            break;
        } else if (is_maxlen || opt.eq_ignore_ascii_case(b"minid")) && more > 0 {
            if strategy.is_some() {
                return Err(stream_err(StreamError::MaxlenAndMinid));
            }
            approx = false;
            let next = c_string(&argv[i + 1]);
            if more >= 2 && next == b"~" {
                approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            strategy = Some(if is_maxlen {
                let maxlen = args::int(&argv[i + 1])?;
                if maxlen < 0 {
                    return Err(stream_err(StreamError::MaxlenNegative));
                }
                Trim::MaxLen(maxlen as u64)
            } else {
                Trim::MinId(self::id(&argv[i + 1], 0, true)?)
            });
            i += 1;
        } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
            limit = args::int(&argv[i + 1])?;
            if limit < 0 {
                return Err(stream_err(StreamError::LimitNegative));
            }
            limit_given = true;
            i += 1;
        } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
            no_mkstream = true;
        } else if xadd {
            let parsed =
                parse_id(&argv[i], 0, true, true).ok_or(stream_err(StreamError::InvalidId))?;
            id = Some(parsed);
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if limit != 0 && strategy.is_none() {
        return Err(stream_err(StreamError::LimitWithoutStrategy));
    }
    if !xadd && strategy.is_none() {
        return Err(stream_err(StreamError::XtrimWithoutStrategy));
    }
    if limit_given {
        if !approx {
            return Err(stream_err(StreamError::LimitWithoutApprox));
        }
    } else if approx {
        // Redis multiplies in C's `long long`; a huge setting wraps, then falls to the floor.
        limit = node_max_entries.wrapping_mul(100);
        if limit <= 0 {
            limit = APPROX_LIMIT_FLOOR;
        }
        limit = limit.min(APPROX_LIMIT_CEILING);
    } else {
        limit = 0;
    }
    Ok(AddTrimArgs {
        trim: strategy.map(|strategy| TrimArgs {
            strategy,
            approx,
            limit,
        }),
        no_mkstream,
        id,
        id_pos: i,
    })
}

/// One end of a range (XRANGE, XPENDING): `(` makes it exclusive (then `-`/`+` are refused),
/// a bare `<ms>` takes `missing_seq`. Returns the ID and whether it was exclusive.
pub fn interval_id(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 1 && arg[0] == b'(' {
        Ok((id(&arg[1..], missing_seq, true)?, true))
    } else {
        Ok((id(arg, missing_seq, false)?, false))
    }
}

/// A range's two ends made inclusive: an exclusive start moves up one ID, an exclusive end down.
pub fn range(start: &[u8], end: &[u8]) -> Result<(StreamId, StreamId), CmdError> {
    let (mut first, exclusive) = interval_id(start, 0)?;
    if exclusive {
        first = first.incr().ok_or(stream_err(StreamError::InvalidStart))?;
    }
    let (mut last, exclusive) = interval_id(end, u64::MAX)?;
    if exclusive {
        last = last.decr().ok_or(stream_err(StreamError::InvalidEnd))?;
    }
    Ok((first, last))
}
