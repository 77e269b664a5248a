//! Sorted set ranges (Redis's `zrangeGenericCommand` and `zremrangeGenericCommand`): ZRANGE with
//! BYSCORE/BYLEX/REV/LIMIT/WITHSCORES, its legacy forms (ZREVRANGE, ZRANGEBYSCORE...), ZRANGESTORE,
//! ZCOUNT, ZLEXCOUNT and the ZREMRANGEBY* family. A range resolves to a span of ranks by binary
//! search, then to the items walked in the asked direction.

use bytes::Bytes;

use crate::commands::zset::parse::{LexRange, ScoreRange};
use crate::commands::zset::{limits, new_entry, read_zset, reply_items};
use crate::commands::{args, Ctx};
use crate::engine::notice::class;
use crate::engine::types::zset::{ZItem, ZSetLimits, ZSetValue};
use crate::error::{CmdError, CmdResult};

#[derive(Debug, Clone, PartialEq)]
pub enum Bounds {
    /// Inclusive start and end indexes, negative from the end.
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RangeQuery {
    pub bounds: Bounds,
    pub reverse: bool,
    /// LIMIT: items skipped (a negative offset selects nothing, as in Redis) and the most
    /// returned (negative for all).
    pub offset: i64,
    pub limit: i64,
}

/// Ranks `[start, end)` of the items within a score range.
pub fn score_span(zset: &ZSetValue, range: &ScoreRange) -> (usize, usize) {
    if range.is_empty() {
        return (0, 0);
    }
    let start = zset.partition_point(|item| !range.above_min(item.score));
    let end = zset.partition_point(|item| range.below_max(item.score));
    (start, end.max(start))
}

/// Ranks `[start, end)` of the items within a lex range, walked from the low end (`reverse`: from
/// the high end). Lex ranges are meant for sets whose scores are all equal; with mixed scores
/// Redis's answer depends on its encoding, and for the `listpack` encoding this follows Redis's
/// linear scans (`zzlFirstInLexRange`/`zzlLastInLexRange`) exactly.
pub fn lex_span(zset: &ZSetValue, range: &LexRange, reverse: bool) -> (usize, usize) {
    let (Some(first), Some(last)) = (zset.first(), zset.last()) else {
        return (0, 0);
    };
    if range.is_empty() || !range.above_min(&last.member) || !range.below_max(&first.member) {
        return (0, 0);
    }
    if zset.encoding() != "listpack" {
        let start = zset.partition_point(|item| !range.above_min(&item.member));
        let end = zset.partition_point(|item| range.below_max(&item.member));
        return (start, end.max(start));
    }
    let items: Vec<&[u8]> = zset.iter().map(|item| &item.member[..]).collect();
    if reverse {
        let Some(top) = items.iter().rposition(|m| range.below_max(m)) else {
            return (0, 0);
        };
        let start = items[..=top]
            .iter()
            .rposition(|m| !range.above_min(m))
            .map_or(0, |below| below + 1);
        (start, top + 1)
    } else {
        let Some(start) = items.iter().position(|m| range.above_min(m)) else {
            return (0, 0);
        };
        let end = items[start..]
            .iter()
            .position(|m| !range.below_max(m))
            .map_or(items.len(), |above| start + above);
        (start, end)
    }
}

/// Start and end indexes as Redis sanitizes them for `len` items: `[start, end)`, or `None` when
/// the range is empty.
pub fn rank_span(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize + 1))
}

impl RangeQuery {
    /// The selected items, in reply order.
    pub fn select<'a>(&self, zset: &'a ZSetValue) -> Vec<&'a ZItem> {
        let len = zset.len();
        let (start, end) = match &self.bounds {
            Bounds::Rank(start, end) => {
                let Some((start, end)) = rank_span(len, *start, *end) else {
                    return Vec::new();
                };
                // In reverse, indexes count from the highest score.
                return if self.reverse {
                    zset.iter_rev_from(len - 1 - start)
                        .take(end - start)
                        .collect()
                } else {
                    zset.iter_from(start).take(end - start).collect()
                };
            }
            Bounds::Score(range) => score_span(zset, range),
            Bounds::Lex(range) => lex_span(zset, range, self.reverse),
        };
        if self.offset < 0 || start >= end {
            return Vec::new();
        }
        let offset = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let count = (end - start).saturating_sub(offset).min(limit);
        if count == 0 {
            return Vec::new();
        }
        if self.reverse {
            zset.iter_rev_from(end - 1 - offset).take(count).collect()
        } else {
            zset.iter_from(start + offset).take(count).collect()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Parses `<src> <min> <max> [options]` starting at `args[src]`, as `zrangeGenericCommand`: the
/// options first, then their conflicts, then the range itself. Returns the query and WITHSCORES.
fn parse_query(
    args: &[Bytes],
    src: usize,
    store: bool,
    mut kind: Kind,
    mut reverse: Option<bool>,
) -> Result<(RangeQuery, bool), CmdError> {
    let mut withscores = false;
    let mut offset = 0;
    let mut limit = -1;
    let mut has_limit = false;
    let mut at = src + 3;
    while at < args.len() {
        let arg = &args[at];
        let left = args.len() - at - 1;
        if !store && args::is(arg, "withscores") {
            withscores = true;
        } else if args::is(arg, "limit") && left >= 2 {
            offset = args::int(&args[at + 1])?;
            limit = args::int(&args[at + 2])?;
            has_limit = true;
            at += 2;
        } else if reverse.is_none() && args::is(arg, "rev") {
            reverse = Some(true);
        } else if kind == Kind::Auto && args::is(arg, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && args::is(arg, "byscore") {
            kind = Kind::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        at += 1;
    }
    let reverse = reverse.unwrap_or(false);
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    // Redis tests the limit's value, so `LIMIT 0 -1` passes with a rank range.
    if has_limit && limit != -1 && kind == Kind::Rank {
        return Err(CmdError::LimitWithoutBy);
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::WithscoresByLex);
    }
    let (mut min, mut max) = (&args[src + 1], &args[src + 2]);
    if reverse && kind != Kind::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let bounds = match kind {
        Kind::Score => Bounds::Score(ScoreRange::parse(min, max)?),
        Kind::Lex => Bounds::Lex(LexRange::parse(min, max)?),
        Kind::Rank | Kind::Auto => Bounds::Rank(args::int(min)?, args::int(max)?),
    };
    Ok((
        RangeQuery {
            bounds,
            reverse,
            offset,
            limit,
        },
        withscores,
    ))
}

fn range_generic(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    kind: Kind,
    reverse: Option<bool>,
) -> CmdResult {
    let (query, withscores) = parse_query(args, 1, false, kind, reverse)?;
    read_zset(ctx, &args[1], |zset, out| {
        match zset {
            None => out.array(0),
            Some(zset) => reply_items(out, &query.select(zset), withscores),
        }
        Ok(())
    })
}

pub fn zrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, Kind::Auto, None)
}

pub fn zrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, Kind::Rank, Some(true))
}

pub fn zrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, Kind::Score, Some(false))
}

pub fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, Kind::Score, Some(true))
}

pub fn zrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, Kind::Lex, Some(false))
}

pub fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, Kind::Lex, Some(true))
}

/// Builds a stored result as Redis's ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE do: the whole set first,
/// then the `listpack` encoding if it fits (which, as Redis's listpack, keeps -0 as 0).
pub fn build_result(mut items: Vec<(f64, &[u8])>, limits: ZSetLimits) -> ZSetValue {
    items.sort_by(|a, b| crate::engine::types::zset::compare(a.0, a.1, b.0, b.1));
    let longest = items.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    let mut zset = ZSetValue::for_size(limits, items.len(), longest);
    for (score, member) in &items {
        zset.push_ordered(*score, member, limits);
    }
    zset
}

/// Stores `zset` at `dst`, or deletes `dst` when the set is empty; replies with the count and
/// announces `event` (or `del`), as Redis's store handlers.
pub fn store_result(
    ctx: &mut Ctx<'_>,
    view: &mut crate::engine::DbShard<'_>,
    hash: u64,
    dst: &[u8],
    zset: ZSetValue,
    event: &'static str,
) {
    if zset.is_empty() {
        let existed = view.remove(hash, dst).is_some();
        ctx.out.int(0);
        if existed {
            ctx.notify(class::GENERIC, "del", dst);
        }
        return;
    }
    let count = zset.len();
    view.insert(hash, new_entry(dst, zset));
    ctx.out.int(count as i64);
    ctx.notify(class::ZSET, event, dst);
}

pub fn zrangestore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (dst, src) = (&args[1], &args[2]);
    let (query, _) = parse_query(args, 2, true, Kind::Auto, None)?;
    let limits = limits(ctx);
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let server = ctx.server;
    let mut locked = server.keyspace.lock_keys([&dst[..], &src[..]]);
    // As Redis 7.0, the result starts as a listpack and takes the members in reply order, so it
    // converts (and keeps or drops the sign of a zero score) exactly as ZADD would.
    let mut result = ZSetValue::new();
    if let Some((mut view, hash)) = locked.view(db, src, now) {
        if let Some(entry) = view.read(hash, src) {
            let zset = entry.zset().ok_or(CmdError::WrongType)?;
            for item in query.select(zset) {
                result.insert(&item.member, item.score, limits);
            }
        }
    }
    let Some((mut view, hash)) = locked.view(db, dst, now) else {
        return Ok(());
    };
    store_result(ctx, &mut view, hash, dst, result, "zrangestore");
    Ok(())
}

pub fn zcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let range = ScoreRange::parse(&args[2], &args[3])?;
    read_zset(ctx, &args[1], |zset, out| {
        let (start, end) = zset.map_or((0, 0), |z| score_span(z, &range));
        out.int((end - start) as i64);
        Ok(())
    })
}

pub fn zlexcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let range = LexRange::parse(&args[2], &args[3])?;
    read_zset(ctx, &args[1], |zset, out| {
        let (start, end) = zset.map_or((0, 0), |z| lex_span(z, &range, false));
        out.int((end - start) as i64);
        Ok(())
    })
}

/// ZREMRANGEBY*: removes the span `span` picks, announcing `event` (and `del` when emptied).
fn remove_span(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    event: &'static str,
    span: impl FnOnce(&ZSetValue) -> Option<(usize, usize)>,
) -> CmdResult {
    let (removed, emptied) =
        ctx.server
            .keyspace
            .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
                if let Some(entry) = view.peek(hash, key) {
                    entry.zset().ok_or(CmdError::WrongType)?;
                }
                let outcome = view.modify(hash, key, |entry| {
                    let zset = entry.zset_mut()?;
                    let (start, end) = span(zset)?;
                    let removed = zset.remove_range(start, end).len();
                    Some((removed, zset.is_empty()))
                });
                Ok::<_, CmdError>(outcome.flatten().unwrap_or((0, false)))
            })?;
    if removed > 0 {
        ctx.notify(class::ZSET, event, key);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.out.int(removed as i64);
    Ok(())
}

pub fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let range = ScoreRange::parse(&args[2], &args[3])?;
    remove_span(ctx, &args[1], "zremrangebyscore", |z| {
        Some(score_span(z, &range))
    })
}

pub fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (start, end) = (args::int(&args[2])?, args::int(&args[3])?);
    remove_span(ctx, &args[1], "zremrangebyrank", |z| {
        rank_span(z.len(), start, end)
    })
}

pub fn zremrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let range = LexRange::parse(&args[2], &args[3])?;
    remove_span(ctx, &args[1], "zremrangebylex", |z| {
        Some(lex_span(z, &range, false))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_spans_as_redis() {
        assert_eq!(rank_span(3, 0, -1), Some((0, 3)));
        assert_eq!(rank_span(3, -100, 100), Some((0, 3)));
        assert_eq!(rank_span(3, 2, 1), None);
        assert_eq!(rank_span(3, 3, 5), None);
        assert_eq!(rank_span(0, 0, -1), None);
        assert_eq!(rank_span(3, i64::MIN, i64::MAX), Some((0, 3)));
        assert_eq!(rank_span(3, -1, -1), Some((2, 3)));
    }
}
