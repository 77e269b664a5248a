//! List commands that address elements by position or value (LLEN, LRANGE, LINDEX, LSET,
//! LINSERT, LREM, LTRIM, LPOS), with Redis's index clamping and option parsing.

use bytes::Bytes;

use crate::commands::list::{note, positive};
use crate::commands::{args, Ctx};
use crate::engine::notice::class;
use crate::engine::types::ListValue;
use crate::error::{CmdError, CmdResult};
use crate::protocol::ReplyBuf;

/// Runs `f` on the list at `key` looked up as a read (hits/misses counted): `None` when missing.
fn read_list<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&ListValue, &mut ReplyBuf) -> R,
) -> Result<Option<R>, CmdError> {
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            match view.read(hash, key) {
                None => Ok(None),
                Some(entry) => {
                    let list = entry.list().ok_or(CmdError::WrongType)?;
                    Ok(Some(f(list, out)))
                }
            }
        })
}

pub fn llen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len = read_list(ctx, &args[1], |list, _| list.len())?.unwrap_or(0);
    ctx.out.int(len as i64);
    Ok(())
}

/// Redis's clamping of a `start..=end` index pair against `len`; `None` for an empty range.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

pub fn lrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let start = args::int(&args[2])?;
    let end = args::int(&args[3])?;
    let done = read_list(ctx, &args[1], |list, out| {
        match clamp_range(start, end, list.len()) {
            Some((start, end)) => out.bulks(list.range(start, end)),
            None => out.array(0),
        }
    })?;
    if done.is_none() {
        ctx.out.array(0);
    }
    Ok(())
}

/// A Redis list index (negative from the tail) as a position, if in range.
fn position(index: i64, len: usize) -> Option<usize> {
    let index = if index < 0 {
        index.checked_add(len as i64)?
    } else {
        index
    };
    (index >= 0 && (index as usize) < len).then_some(index as usize)
}

/// Redis looks the key up (nil when missing, WRONGTYPE) before it reads the index.
pub fn lindex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let found = read_list(ctx, &args[1], |list, out| {
        let index = args::int(&args[2])?;
        match position(index, list.len()).and_then(|i| list.get(i)) {
            Some(element) => out.bulk(element),
            None => out.null(),
        }
        Ok(())
    })?;
    match found {
        Some(result) => result,
        None => {
            ctx.out.null();
            Ok(())
        }
    }
}

pub fn lset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, value) = (&args[1], &args[3]);
    let (server, db) = (ctx.server, ctx.client.db);
    server
        .keyspace
        .with_key(db, key, ctx.now_ms, |view, hash| {
            let result = view.modify(hash, key, |entry| {
                let list = entry.list_mut().ok_or(CmdError::WrongType)?;
                let index = args::int(&args[2])?;
                let Some(at) = position(index, list.len()) else {
                    return Err(CmdError::IndexOutOfRange);
                };
                list.set(at, value);
                Ok(())
            });
            match result {
                None => Err(CmdError::NoSuchKey),
                Some(result) => {
                    result?;
                    note(server, db, class::LIST, "lset", key);
                    Ok(())
                }
            }
        })?;
    ctx.out.ok();
    Ok(())
}

pub fn linsert(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, pivot, value) = (&args[1], &args[3], &args[4]);
    let after = if args::is(&args[2], "after") {
        true
    } else if args::is(&args[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (server, db) = (ctx.server, ctx.client.db);
    let reply = server
        .keyspace
        .with_key(db, key, ctx.now_ms, |view, hash| {
            let result = view.modify(hash, key, |entry| {
                let list = entry.list_mut().ok_or(CmdError::WrongType)?;
                let Some(at) = list.iter().position(|e| e == &pivot[..]) else {
                    return Ok(-1);
                };
                list.insert(if after { at + 1 } else { at }, value);
                Ok(list.len() as i64)
            });
            match result {
                None => Ok(0),
                Some(result) => {
                    let len = result?;
                    if len > 0 {
                        note(server, db, class::LIST, "linsert", key);
                    }
                    Ok::<_, CmdError>(len)
                }
            }
        })?;
    ctx.out.int(reply);
    Ok(())
}

pub fn lrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, element) = (&args[1], &args[3]);
    let count = args::int(&args[2])?;
    let (server, db) = (ctx.server, ctx.client.db);
    let removed = server
        .keyspace
        .with_key(db, key, ctx.now_ms, |view, hash| {
            let result = view.modify(hash, key, |entry| {
                let list = entry.list_mut().ok_or(CmdError::WrongType)?;
                let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
                let removed = list.remove_matching(element, limit, count >= 0);
                Ok((removed, list.len()))
            });
            match result {
                None => Ok(0),
                Some(result) => {
                    let (removed, left) = result?;
                    if removed > 0 {
                        note(server, db, class::LIST, "lrem", key);
                        if left == 0 {
                            note(server, db, class::GENERIC, "del", key);
                        }
                    }
                    Ok::<_, CmdError>(removed)
                }
            }
        })?;
    ctx.out.int(removed as i64);
    Ok(())
}

pub fn ltrim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let start = args::int(&args[2])?;
    let end = args::int(&args[3])?;
    let (server, db) = (ctx.server, ctx.client.db);
    server
        .keyspace
        .with_key(db, key, ctx.now_ms, |view, hash| {
            let result = view.modify(hash, key, |entry| {
                let list = entry.list_mut().ok_or(CmdError::WrongType)?;
                match clamp_range(start, end, list.len()) {
                    Some((start, end)) => list.trim(start, end),
                    None => list.trim(1, 0),
                }
                Ok(list.len())
            });
            if let Some(result) = result {
                let left = result?;
                note(server, db, class::LIST, "ltrim", key);
                if left == 0 {
                    note(server, db, class::GENERIC, "del", key);
                }
            }
            Ok::<_, CmdError>(())
        })?;
    ctx.out.ok();
    Ok(())
}

pub fn lpos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let element = &args[2];
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut i = 3;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if args::is(&args[i], "rank") && has_value {
            rank = args::int(&args[i + 1])?;
            if rank == 0 {
                return Err(CmdError::RankZero);
            }
        } else if args::is(&args[i], "count") && has_value {
            count = Some(positive(&args[i + 1], CmdError::CountNegative)? as i64);
        } else if args::is(&args[i], "maxlen") && has_value {
            maxlen = positive(&args[i + 1], CmdError::MaxlenNegative)? as i64;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    // As Redis: a negative rank searches from the tail; LONG_MIN stays negative after the
    // negation, which makes every match qualify (Redis's arithmetic wraps the same way).
    let from_head = rank > 0;
    if rank < 0 {
        rank = rank.wrapping_neg();
    }
    let found = read_list(ctx, &args[1], |list, out| {
        let len = list.len() as i64;
        let mut matches: i64 = 0;
        let mut found = Vec::new();
        let mut scanned: i64 = 0;
        let mut visit = |index: i64, e: &[u8]| -> bool {
            if maxlen != 0 && scanned >= maxlen {
                return false;
            }
            scanned += 1;
            if e == &element[..] {
                matches += 1;
                if matches >= rank {
                    found.push(index);
                    match count {
                        None => return false,
                        Some(c) => {
                            if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c {
                                return false;
                            }
                        }
                    }
                }
            }
            true
        };
        if from_head {
            for (i, e) in list.iter().enumerate() {
                if !visit(i as i64, e) {
                    break;
                }
            }
        } else {
            for (i, e) in list.iter().rev().enumerate() {
                if !visit(len - i as i64 - 1, e) {
                    break;
                }
            }
        }
        match count {
            Some(_) => {
                out.array(found.len());
                for index in found {
                    out.int(index);
                }
            }
            None => match found.first() {
                Some(&index) => out.int(index),
                None => out.null(),
            },
        }
    })?;
    if found.is_none() {
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_clamp_as_redis() {
        assert_eq!(clamp_range(0, -1, 3), Some((0, 2)));
        assert_eq!(clamp_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(clamp_range(2, 1, 3), None);
        assert_eq!(clamp_range(3, 5, 3), None);
        assert_eq!(clamp_range(0, -1, 0), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
    }

    #[test]
    fn positions_from_either_end() {
        assert_eq!(position(0, 3), Some(0));
        assert_eq!(position(-1, 3), Some(2));
        assert_eq!(position(-4, 3), None);
        assert_eq!(position(3, 3), None);
        assert_eq!(position(i64::MIN, 3), None);
    }
}
