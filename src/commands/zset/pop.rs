//! Sorted set pops and sampling: ZPOPMIN, ZPOPMAX, ZMPOP (Redis's `genericZpopCommand`,
//! `zmpopGenericCommand`), ZRANDMEMBER and ZSCAN. `pop_from` and `reply_popped` are the shared
//! core the blocking variants (BZPOPMIN, BZPOPMAX, BZMPOP) build on: they pop from a view the
//! caller has locked and write the reply in each command's shape.

use bytes::Bytes;

use crate::commands::keys::{parse_cursor, parse_scan_options, ScanOf, ScanOptions};
use crate::commands::zset::{read_zset, reply_items};
use crate::commands::{args, Ctx};
use crate::engine::glob::glob_match;
use crate::engine::notice::class;
use crate::engine::types::zset::{ZItem, ZSetValue};
use crate::engine::DbShard;
use crate::error::{CmdError, CmdResult};
use crate::protocol::ReplyBuf;

/// Which end a pop takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Min,
    Max,
}

impl End {
    /// The keyspace event of a pop from this end.
    pub fn event(self) -> &'static str {
        match self {
            End::Min => "zpopmin",
            End::Max => "zpopmax",
        }
    }
}

/// What a pop took from one key.
#[derive(Debug)]
pub struct Popped {
    /// In pop order (lowest first for `Min`, highest first for `Max`).
    pub items: Vec<ZItem>,
    /// The pop emptied, and so deleted, the key.
    pub deleted: bool,
}

/// Pops up to `count` items from `key` in a locked view. `Ok(None)` when the key is absent,
/// WRONGTYPE when it holds another type. The caller announces the change (`announce_pop`).
pub fn pop_from(
    view: &mut DbShard<'_>,
    hash: u64,
    key: &[u8],
    end: End,
    count: usize,
) -> Result<Option<Popped>, CmdError> {
    match view.peek(hash, key) {
        None => return Ok(None),
        Some(entry) => {
            entry.zset().ok_or(CmdError::WrongType)?;
        }
    }
    let popped = view.modify(hash, key, |entry| {
        let zset = entry.zset_mut()?;
        let take = count.min(zset.len());
        let items = match end {
            End::Min => zset.remove_range(0, take),
            End::Max => {
                let mut items = zset.remove_range(zset.len() - take, zset.len());
                items.reverse();
                items
            }
        };
        Some(Popped {
            items,
            deleted: zset.is_empty(),
        })
    });
    Ok(popped.flatten())
}

/// Announces a pop as Redis does: `zpopmin`/`zpopmax`, then `del` when the key went away.
pub fn announce_pop(ctx: &Ctx<'_>, key: &[u8], end: End, popped: &Popped) {
    if popped.items.is_empty() {
        return;
    }
    ctx.notify(class::ZSET, end.event(), key);
    if popped.deleted {
        ctx.notify(class::GENERIC, "del", key);
    }
}

/// The reply shapes of `genericZpopCommand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopReply {
    /// ZPOPMIN/ZPOPMAX: `[m, s, m, s...]`; RESP3 with a count: `[[m, s]...]`.
    Plain { nested: bool },
    /// BZPOPMIN/BZPOPMAX: `[key, m, s]`.
    WithKey,
    /// ZMPOP/BZMPOP: `[key, [[m, s]...]]`.
    KeyAndNested,
}

pub fn reply_popped(out: &mut ReplyBuf, key: &[u8], items: &[ZItem], shape: PopReply) {
    let nested = match shape {
        PopReply::Plain { nested } => {
            out.array(if nested { items.len() } else { items.len() * 2 });
            nested
        }
        PopReply::WithKey => {
            out.array(items.len() * 2 + 1);
            out.bulk(key);
            false
        }
        PopReply::KeyAndNested => {
            out.array(2);
            out.bulk(key);
            out.array(items.len());
            true
        }
    };
    for item in items {
        if nested {
            out.array(2);
        }
        out.bulk(&item.member);
        out.double(item.score);
    }
}

pub fn zpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zpop_generic(ctx, args, End::Min)
}

pub fn zpopmax(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zpop_generic(ctx, args, End::Max)
}

/// `getPositiveLongFromObjectOrReply` without a custom message: one error for both failures.
fn positive_count(arg: &[u8]) -> Result<i64, CmdError> {
    args::int(arg)
        .ok()
        .filter(|&n| n >= 0)
        .ok_or(CmdError::NotPositive)
}

fn zpop_generic(ctx: &mut Ctx<'_>, args: &[Bytes], end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = &args[1];
    let count = args.get(2).map(|arg| positive_count(arg)).transpose()?;
    let popped = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            pop_from(view, hash, key, end, count.unwrap_or(1) as usize)
        })?;
    let nested = ctx.out.is_resp3() && count.is_some();
    match popped {
        None => ctx.out.array(0),
        Some(popped) => {
            reply_popped(ctx.out, key, &popped.items, PopReply::Plain { nested });
            announce_pop(ctx, key, end, &popped);
        }
    }
    Ok(())
}

/// `getRangeLongFromObjectOrReply(1, LONG_MAX)` with a message for both failures: `error`.
fn at_least_one(arg: &[u8], error: CmdError) -> Result<usize, CmdError> {
    match args::int(arg) {
        Ok(n) if n >= 1 => Ok(n as usize),
        _ => Err(error),
    }
}

/// ZMPOP's arguments from `numkeys` on: (keys, end, count).
pub fn parse_mpop(args: &[Bytes]) -> Result<(&[Bytes], End, usize), CmdError> {
    let numkeys = at_least_one(&args[0], CmdError::NumkeysNotPositive)?;
    // The keys, then MIN|MAX after them.
    if numkeys >= args.len() - 1 {
        return Err(CmdError::Syntax);
    }
    let keys = &args[1..=numkeys];
    let end = match &args[numkeys + 1] {
        arg if args::is(arg, "min") => End::Min,
        arg if args::is(arg, "max") => End::Max,
        _ => return Err(CmdError::Syntax),
    };
    let mut count = None;
    let mut at = numkeys + 2;
    while at < args.len() {
        if count.is_none() && args::is(&args[at], "count") && at + 1 < args.len() {
            count = Some(at_least_one(&args[at + 1], CmdError::CountNotPositive)?);
            at += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((keys, end, count.unwrap_or(1)))
}

pub fn zmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (keys, end, count) = parse_mpop(&args[1..])?;
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let server = ctx.server;
    let mut locked = server.keyspace.lock_keys(keys.iter());
    for key in keys {
        let Some((mut view, hash)) = locked.view(db, key, now) else {
            continue;
        };
        // The first key that exists decides: popped from, or WRONGTYPE.
        if let Some(popped) = pop_from(&mut view, hash, key, end, count)? {
            drop(locked);
            reply_popped(ctx.out, key, &popped.items, PopReply::KeyAndNested);
            announce_pop(ctx, key, end, &popped);
            return Ok(());
        }
    }
    ctx.out.null_array();
    Ok(())
}

pub fn zrandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(count_arg) = args.get(2) else {
        return read_zset(ctx, &args[1], |zset, out| {
            match zset.and_then(|z| z.get(fastrand::usize(..z.len().max(1)))) {
                Some(item) => out.bulk(&item.member),
                None => out.null(),
            }
            Ok(())
        });
    };
    let count = args::int(count_arg)?;
    if count == i64::MIN {
        return Err(CmdError::CountOutOfLongRange);
    }
    let withscores = match args.get(3) {
        None => false,
        Some(arg) if args.len() == 4 && args::is(arg, "withscores") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::OutOfRange);
    }
    read_zset(ctx, &args[1], |zset, out| {
        let Some(zset) = zset else {
            out.array(0);
            return Ok(());
        };
        random_members(zset, count, withscores, out);
        Ok(())
    })
}

/// Redis's `zrandmemberWithCountCommand`: a negative count samples with repetition; a positive
/// one returns distinct members (the whole set, in order, when it asks for as many or more).
fn random_members(zset: &ZSetValue, count: i64, withscores: bool, out: &mut ReplyBuf) {
    let size = zset.len();
    let wanted = count.unsigned_abs() as usize;
    if wanted == 0 || size == 0 {
        out.array(0);
        return;
    }
    let emit = |out: &mut ReplyBuf, item: &ZItem| {
        if withscores && out.is_resp3() {
            out.array(2);
        }
        out.bulk(&item.member);
        if withscores {
            out.double(item.score);
        }
    };
    let header = |out: &mut ReplyBuf, n: usize| {
        out.array(if withscores && !out.is_resp3() {
            n * 2
        } else {
            n
        });
    };
    if count < 0 || wanted == 1 {
        header(out, wanted);
        for _ in 0..wanted {
            if let Some(item) = zset.get(fastrand::usize(..size)) {
                emit(out, item);
            }
        }
        return;
    }
    if wanted >= size {
        // Redis answers this case with the whole set, highest score first.
        let all: Vec<&ZItem> = zset.iter().rev().collect();
        reply_items(out, &all, withscores);
        return;
    }
    // Distinct ranks. Near the whole set, a partial Fisher-Yates shuffle (O(size)); for a small
    // sample, draws until enough distinct ones came up (O(count)), as Redis's cases 3 and 4.
    let ranks: Vec<usize> = if wanted * 3 > size {
        let mut ranks: Vec<usize> = (0..size).collect();
        for slot in 0..wanted {
            let pick = fastrand::usize(slot..size);
            ranks.swap(slot, pick);
        }
        ranks.truncate(wanted);
        ranks
    } else {
        let mut picked = std::collections::HashSet::with_capacity(wanted);
        let mut ranks = Vec::with_capacity(wanted);
        while ranks.len() < wanted {
            let rank = fastrand::usize(..size);
            if picked.insert(rank) {
                ranks.push(rank);
            }
        }
        ranks
    };
    header(out, wanted);
    for &rank in &ranks {
        if let Some(item) = zset.get(rank) {
            emit(out, item);
        }
    }
}

/// Bits of a ZSCAN cursor that record the member table's size (log2 of its bucket count).
const SIZE_BITS: u32 = 6;

/// ZSCAN: a listpack set is returned whole with cursor 0 (as Redis); a skiplist set is walked
/// through its member table's buckets. The cursor holds the next bucket and the table's size; a
/// table resized between calls restarts the walk, so members may repeat but none present for the
/// whole scan is missed.
pub fn zscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2]).ok_or(CmdError::InvalidCursor)?;
    read_zset(ctx, &args[1], |zset, out| {
        // As Redis (and HSCAN, SSCAN): a missing key or the wrong type is answered before the
        // options are read.
        let Some(zset) = zset else {
            out.array(2);
            out.bulk(b"0");
            out.array(0);
            return Ok(());
        };
        let ScanOptions { count, pattern, .. } = parse_scan_options(args, 3, ScanOf::Other)?;
        let mut found: Vec<(&[u8], f64)> = Vec::new();
        let mut next = 0u64;
        let size_log2 = (cursor & ((1 << SIZE_BITS) - 1)) as u32;
        let mut bucket = usize::try_from(cursor >> SIZE_BITS).unwrap_or(usize::MAX);
        let walked = zset.scan_buckets(0, 0, |_, _| {});
        if let Some((_, buckets)) = walked {
            if bucket != 0 && buckets.trailing_zeros() != size_log2 {
                bucket = 0;
            }
            if let Some((resume, buckets)) =
                zset.scan_buckets(bucket, count, |m, s| found.push((m, s)))
            {
                if resume != 0 {
                    next = ((resume as u64) << SIZE_BITS) | buckets.trailing_zeros() as u64;
                }
            }
        } else {
            found.extend(zset.iter().map(|item| (&item.member[..], item.score)));
        }
        if let Some(pattern) = pattern {
            found.retain(|(member, _)| glob_match(pattern, member, false));
        }
        out.array(2);
        out.bulk(next.to_string().as_bytes());
        out.array(found.len() * 2);
        for (member, score) in found {
            out.bulk(member);
            out.bulk(crate::protocol::format_double(score).as_bytes());
        }
        Ok(())
    })
}
