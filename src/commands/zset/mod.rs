//! Sorted set commands (Redis's `t_zset.c`): the family's command table, ZADD/ZINCRBY, ZREM and
//! the point lookups (ZSCORE, ZMSCORE, ZCARD, ZRANK). Ranges live in `range.rs`, pops,
//! ZRANDMEMBER and ZSCAN in `pop.rs`, the set algebra (ZUNION...) in `ops.rs`, argument
//! parsing in `parse.rs`; the value itself is `engine::types::zset`.
//!
//! Read commands look keys up with `DbShard::read` (keyspace hits and misses), writes with
//! `peek`/`modify`, as Redis's `lookupKeyRead`/`lookupKeyWrite` split them. Every change is
//! announced with Redis's event name (`zadd`, `zincr`, `zrem`...) and `del` when it emptied the key.

pub mod blocking;
pub mod ops;
pub mod parse;
pub mod pop;
pub mod range;

use bytes::Bytes;

use super::{args, CommandSpec, Ctx, SPEC};
use crate::engine::notice::class;
use crate::engine::types::zset::{ZItem, ZSetLimits, ZSetValue};
use crate::engine::types::Collection;
use crate::engine::Entry;
use crate::error::{CmdError, CmdResult};
use crate::protocol::ReplyBuf;

const ZSET: CommandSpec = CommandSpec {
    group: "sorted-set",
    ..SPEC
};

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "zadd", arity: -4, flags: flags!(WRITE, DENYOOM, FAST), acl_categories: acl!(WRITE, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Add one or more members to a sorted set, or update its score if it already exists", since: "1.2.0", complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.", handler: Some(zadd), ..ZSET },
    CommandSpec { name: "zincrby", arity: 4, flags: flags!(WRITE, DENYOOM, FAST), acl_categories: acl!(WRITE, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Increment the score of a member in a sorted set", since: "1.2.0", complexity: "O(log(N)) where N is the number of elements in the sorted set.", handler: Some(zincrby), ..ZSET },
    CommandSpec { name: "zrem", arity: -3, flags: flags!(WRITE, FAST), acl_categories: acl!(WRITE, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Remove one or more members from a sorted set", since: "1.2.0", complexity: "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", handler: Some(zrem), ..ZSET },
    CommandSpec { name: "zscore", arity: 3, flags: flags!(READONLY, FAST), acl_categories: acl!(READ, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Get the score associated with the given member in a sorted set", since: "1.2.0", complexity: "O(1)", handler: Some(zscore), ..ZSET },
    CommandSpec { name: "zmscore", arity: -3, flags: flags!(READONLY, FAST), acl_categories: acl!(READ, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Get the score associated with the given members in a sorted set", since: "6.2.0", complexity: "O(N) where N is the number of members being requested.", handler: Some(zmscore), ..ZSET },
    CommandSpec { name: "zcard", arity: 2, flags: flags!(READONLY, FAST), acl_categories: acl!(READ, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Get the number of members in a sorted set", since: "1.2.0", complexity: "O(1)", handler: Some(zcard), ..ZSET },
    CommandSpec { name: "zcount", arity: 4, flags: flags!(READONLY, FAST), acl_categories: acl!(READ, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Count the members in a sorted set with scores within the given values", since: "2.0.0", complexity: "O(log(N)) with N being the number of elements in the sorted set.", handler: Some(range::zcount), ..ZSET },
    CommandSpec { name: "zlexcount", arity: 4, flags: flags!(READONLY, FAST), acl_categories: acl!(READ, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Count the number of members in a sorted set between a given lexicographical range", since: "2.8.9", complexity: "O(log(N)) with N being the number of elements in the sorted set.", handler: Some(range::zlexcount), ..ZSET },
    CommandSpec { name: "zrank", arity: -3, flags: flags!(READONLY, FAST), acl_categories: acl!(READ, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Determine the index of a member in a sorted set", since: "2.0.0", complexity: "O(log(N))", handler: Some(zrank), ..ZSET },
    CommandSpec { name: "zrevrank", arity: -3, flags: flags!(READONLY, FAST), acl_categories: acl!(READ, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Determine the index of a member in a sorted set, with scores ordered from high to low", since: "2.0.0", complexity: "O(log(N))", handler: Some(zrevrank), ..ZSET },
    CommandSpec { name: "zrange", arity: -4, flags: flags!(READONLY), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Return a range of members in a sorted set", since: "1.2.0", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", handler: Some(range::zrange), ..ZSET },
    CommandSpec { name: "zrangebyscore", arity: -4, flags: flags!(READONLY), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Return a range of members in a sorted set, by score", since: "1.0.5", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", handler: Some(range::zrangebyscore), ..ZSET },
    CommandSpec { name: "zrevrangebyscore", arity: -4, flags: flags!(READONLY), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Return a range of members in a sorted set, by score, with scores ordered from high to low", since: "2.2.0", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", handler: Some(range::zrevrangebyscore), ..ZSET },
    CommandSpec { name: "zrangebylex", arity: -4, flags: flags!(READONLY), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Return a range of members in a sorted set, by lexicographical range", since: "2.8.9", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", handler: Some(range::zrangebylex), ..ZSET },
    CommandSpec { name: "zrevrangebylex", arity: -4, flags: flags!(READONLY), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", since: "2.8.9", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).", handler: Some(range::zrevrangebylex), ..ZSET },
    CommandSpec { name: "zrevrange", arity: -4, flags: flags!(READONLY), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Return a range of members in a sorted set, by index, with scores ordered from high to low", since: "1.2.0", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", handler: Some(range::zrevrange), ..ZSET },
    CommandSpec { name: "zrangestore", arity: -5, flags: flags!(WRITE, DENYOOM), acl_categories: acl!(WRITE, SORTEDSET, SLOW), first_key: 1, last_key: 2, key_step: 1, summary: "Store a range of members from sorted set into another key", since: "6.2.0", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", handler: Some(range::zrangestore), ..ZSET },
    CommandSpec { name: "zpopmin", arity: -2, flags: flags!(WRITE, FAST), acl_categories: acl!(WRITE, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Remove and return members with the lowest scores in a sorted set", since: "5.0.0", complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", handler: Some(pop::zpopmin), ..ZSET },
    CommandSpec { name: "zpopmax", arity: -2, flags: flags!(WRITE, FAST), acl_categories: acl!(WRITE, SORTEDSET, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Remove and return members with the highest scores in a sorted set", since: "5.0.0", complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", handler: Some(pop::zpopmax), ..ZSET },
    CommandSpec { name: "zmpop", arity: -4, flags: flags!(WRITE, MOVABLEKEYS), acl_categories: acl!(WRITE, SORTEDSET, SLOW), first_key: 0, last_key: 0, key_step: 0, summary: "Remove and return members with scores in a sorted set", since: "7.0.0", complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", movable_keys: Some(super::numkeys_keys::<1, false>), handler: Some(pop::zmpop), ..ZSET },
    CommandSpec { name: "bzpopmin", arity: -3, flags: flags!(WRITE, NOSCRIPT, BLOCKING, FAST), acl_categories: acl!(WRITE, SORTEDSET, FAST, BLOCKING), first_key: 1, last_key: -2, key_step: 1, summary: "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", since: "5.0.0", complexity: "O(log(N)) with N being the number of elements in the sorted set.", handler: Some(blocking::bzpopmin), ..ZSET },
    CommandSpec { name: "bzpopmax", arity: -3, flags: flags!(WRITE, NOSCRIPT, BLOCKING, FAST), acl_categories: acl!(WRITE, SORTEDSET, FAST, BLOCKING), first_key: 1, last_key: -2, key_step: 1, summary: "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", since: "5.0.0", complexity: "O(log(N)) with N being the number of elements in the sorted set.", handler: Some(blocking::bzpopmax), ..ZSET },
    CommandSpec { name: "bzmpop", arity: -5, flags: flags!(WRITE, BLOCKING, MOVABLEKEYS), acl_categories: acl!(WRITE, SORTEDSET, SLOW, BLOCKING), first_key: 0, last_key: 0, key_step: 0, summary: "Remove and return members with scores in a sorted set or block until one is available", since: "7.0.0", complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", movable_keys: Some(super::numkeys_keys::<2, false>), handler: Some(blocking::bzmpop), ..ZSET },
    CommandSpec { name: "zrandmember", arity: -2, flags: flags!(READONLY), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Get one or multiple random elements from a sorted set", since: "6.2.0", complexity: "O(N) where N is the number of elements returned", handler: Some(pop::zrandmember), ..ZSET },
    CommandSpec { name: "zremrangebyscore", arity: 4, flags: flags!(WRITE), acl_categories: acl!(WRITE, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Remove all members in a sorted set within the given scores", since: "1.2.0", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", handler: Some(range::zremrangebyscore), ..ZSET },
    CommandSpec { name: "zremrangebyrank", arity: 4, flags: flags!(WRITE), acl_categories: acl!(WRITE, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Remove all members in a sorted set within the given indexes", since: "2.0.0", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", handler: Some(range::zremrangebyrank), ..ZSET },
    CommandSpec { name: "zremrangebylex", arity: 4, flags: flags!(WRITE), acl_categories: acl!(WRITE, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Remove all members in a sorted set between the given lexicographical range", since: "2.8.9", complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", handler: Some(range::zremrangebylex), ..ZSET },
    CommandSpec { name: "zunion", arity: -3, flags: flags!(READONLY, MOVABLEKEYS), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 0, last_key: 0, key_step: 0, summary: "Add multiple sorted sets", since: "6.2.0", complexity: "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", movable_keys: Some(super::numkeys_keys::<1, false>), handler: Some(ops::zunion), ..ZSET },
    CommandSpec { name: "zinter", arity: -3, flags: flags!(READONLY, MOVABLEKEYS), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 0, last_key: 0, key_step: 0, summary: "Intersect multiple sorted sets", since: "6.2.0", complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", movable_keys: Some(super::numkeys_keys::<1, false>), handler: Some(ops::zinter), ..ZSET },
    CommandSpec { name: "zdiff", arity: -3, flags: flags!(READONLY, MOVABLEKEYS), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 0, last_key: 0, key_step: 0, summary: "Subtract multiple sorted sets", since: "6.2.0", complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", movable_keys: Some(super::numkeys_keys::<1, false>), handler: Some(ops::zdiff), ..ZSET },
    CommandSpec { name: "zunionstore", arity: -4, flags: flags!(WRITE, DENYOOM, MOVABLEKEYS), acl_categories: acl!(WRITE, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Add multiple sorted sets and store the resulting sorted set in a new key", since: "2.0.0", complexity: "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", movable_keys: Some(super::numkeys_keys::<2, true>), handler: Some(ops::zunionstore), ..ZSET },
    CommandSpec { name: "zinterstore", arity: -4, flags: flags!(WRITE, DENYOOM, MOVABLEKEYS), acl_categories: acl!(WRITE, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Intersect multiple sorted sets and store the resulting sorted set in a new key", since: "2.0.0", complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", movable_keys: Some(super::numkeys_keys::<2, true>), handler: Some(ops::zinterstore), ..ZSET },
    CommandSpec { name: "zdiffstore", arity: -4, flags: flags!(WRITE, DENYOOM, MOVABLEKEYS), acl_categories: acl!(WRITE, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Subtract multiple sorted sets and store the resulting sorted set in a new key", since: "6.2.0", complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", movable_keys: Some(super::numkeys_keys::<2, true>), handler: Some(ops::zdiffstore), ..ZSET },
    CommandSpec { name: "zintercard", arity: -3, flags: flags!(READONLY, MOVABLEKEYS), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 0, last_key: 0, key_step: 0, summary: "Intersect multiple sorted sets and return the cardinality of the result", since: "7.0.0", complexity: "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", movable_keys: Some(super::numkeys_keys::<1, false>), handler: Some(ops::zintercard), ..ZSET },
    CommandSpec { name: "zscan", arity: -3, flags: flags!(READONLY), acl_categories: acl!(READ, SORTEDSET, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Incrementally iterate sorted sets elements and associated scores", since: "2.8.0", complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", handler: Some(pop::zscan), ..ZSET },
];

/// The conversion thresholds in force (`zset-max-listpack-entries`, `zset-max-listpack-value`).
pub fn limits(ctx: &Ctx<'_>) -> ZSetLimits {
    let config = ctx.server.config.read();
    ZSetLimits {
        max_listpack_entries: config.zset_max_listpack_entries,
        max_listpack_value: config.zset_max_listpack_value,
    }
}

/// Runs `f` on the sorted set at `key` for a read command (`None` when the key is absent);
/// WRONGTYPE for another type.
pub fn read_zset(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&ZSetValue>, &mut ReplyBuf) -> CmdResult,
) -> CmdResult {
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            match view.read(hash, key) {
                None => f(None, out),
                Some(entry) => f(Some(entry.zset().ok_or(CmdError::WrongType)?), out),
            }
        })
}

/// Writes members, with their scores when asked: a flat array in RESP2, an array of
/// [member, score] pairs in RESP3 (as Redis's `zrangeResultEmitCBufferForClient`).
pub fn reply_items(out: &mut ReplyBuf, items: &[&ZItem], withscores: bool) {
    if withscores && !out.is_resp3() {
        out.array(items.len() * 2);
    } else {
        out.array(items.len());
    }
    for item in items {
        if withscores && out.is_resp3() {
            out.array(2);
        }
        out.bulk(&item.member);
        if withscores {
            out.double(item.score);
        }
    }
}

/// A new sorted set value in a new entry.
pub fn new_entry(key: &[u8], value: ZSetValue) -> Entry {
    Entry::new_collection(key, Collection::ZSet(Box::new(value)), 0)
}

/// ZADD's options (GEOADD passes on NX, XX and CH: Redis's GEOADD is a ZADD of computed scores).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub ch: bool,
    pub incr: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddOutcome {
    Added,
    Updated,
    /// The member exists with the same score.
    Unchanged,
    /// An option (NX, XX, GT, LT) declined the change.
    Skipped,
}

/// Redis's `zsetAdd`: applies one score-member pair under the ZADD options. Returns what happened
/// and the member's score afterwards; `Err` when an increment makes the score NaN.
fn zset_add(
    zset: &mut ZSetValue,
    member: &[u8],
    mut score: f64,
    flags: AddFlags,
    limits: ZSetLimits,
) -> Result<(AddOutcome, f64), CmdError> {
    match zset.score(member) {
        Some(current) => {
            if flags.nx {
                return Ok((AddOutcome::Skipped, current));
            }
            if flags.incr {
                score += current;
                if score.is_nan() {
                    return Err(CmdError::NanScore);
                }
            }
            if (flags.lt && score >= current) || (flags.gt && score <= current) {
                return Ok((AddOutcome::Skipped, current));
            }
            if score == current {
                return Ok((AddOutcome::Unchanged, current));
            }
            zset.insert(member, score, limits);
            Ok((AddOutcome::Updated, score))
        }
        None if flags.xx => Ok((AddOutcome::Skipped, score)),
        None => {
            zset.insert(member, score, limits);
            Ok((AddOutcome::Added, score))
        }
    }
}

#[derive(Debug, Default)]
struct AddTotals {
    added: i64,
    updated: i64,
    processed: i64,
    score: f64,
    error: Option<CmdError>,
}

fn apply_pairs(
    zset: &mut ZSetValue,
    pairs: &[(f64, &Bytes)],
    flags: AddFlags,
    limits: ZSetLimits,
) -> AddTotals {
    let mut totals = AddTotals::default();
    for &(score, member) in pairs {
        match zset_add(zset, member, score, flags, limits) {
            Err(err) => {
                // Pairs already applied stay applied, as in Redis.
                totals.error = Some(err);
                break;
            }
            Ok((outcome, new_score)) => {
                match outcome {
                    AddOutcome::Added => totals.added += 1,
                    AddOutcome::Updated => totals.updated += 1,
                    AddOutcome::Unchanged | AddOutcome::Skipped => {}
                }
                if outcome != AddOutcome::Skipped {
                    totals.processed += 1;
                    totals.score = new_score;
                }
            }
        }
    }
    totals
}

fn zadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, args, false)
}

fn zincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, args, true)
}

/// ZADD and ZINCRBY (which is ZADD with INCR, options included, as in Redis).
fn zadd_generic(ctx: &mut Ctx<'_>, args: &[Bytes], incr: bool) -> CmdResult {
    let key = &args[1];
    let mut flags = AddFlags {
        incr,
        ..AddFlags::default()
    };
    let mut at = 2;
    while let Some(arg) = args.get(at) {
        match arg.to_ascii_lowercase().as_slice() {
            b"nx" => flags.nx = true,
            b"xx" => flags.xx = true,
            b"ch" => flags.ch = true,
            b"incr" => flags.incr = true,
            b"gt" => flags.gt = true,
            b"lt" => flags.lt = true,
            _ => break,
        }
        at += 1;
    }
    let elements = args.len() - at;
    if elements == 0 || !elements.is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if flags.nx && flags.xx {
        return Err(CmdError::ZaddXxAndNx);
    }
    if ((flags.gt || flags.lt) && flags.nx) || (flags.gt && flags.lt) {
        return Err(CmdError::ZaddGtLtNx);
    }
    if flags.incr && elements > 2 {
        return Err(CmdError::ZaddIncrPairs);
    }
    // Every score is checked before anything changes: the command applies fully or not at all.
    let pairs = args[at..]
        .chunks_exact(2)
        .map(|pair| Ok((parse::score(&pair[0])?, &pair[1])))
        .collect::<Result<Vec<_>, CmdError>>()?;
    add_pairs(ctx, key, flags, &pairs)
}

/// ZADD's work once its arguments are read: applies the score-member pairs to the set at `key`
/// (created when absent), announces the change and replies.
pub(crate) fn add_pairs(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    flags: AddFlags,
    pairs: &[(f64, &Bytes)],
) -> CmdResult {
    let limits = limits(ctx);
    let totals = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let exists = match view.peek(hash, key) {
                None => false,
                Some(entry) => {
                    entry.zset().ok_or(CmdError::WrongType)?;
                    true
                }
            };
            if exists {
                let totals = view.modify(hash, key, |entry| {
                    entry
                        .zset_mut()
                        .map(|zset| apply_pairs(zset, pairs, flags, limits))
                });
                return Ok(totals.flatten().unwrap_or_default());
            }
            if flags.xx {
                return Ok(AddTotals::default());
            }
            // As Redis's ZADD: the first member decides whether the new set starts as a listpack.
            let first_len = pairs.first().map_or(0, |(_, member)| member.len());
            let mut zset = ZSetValue::for_size(limits, 1, first_len);
            let totals = apply_pairs(&mut zset, pairs, flags, limits);
            if !zset.is_empty() {
                view.insert_absent(hash, new_entry(key, zset));
            }
            Ok::<_, CmdError>(totals)
        })?;
    if totals.added > 0 || totals.updated > 0 {
        ctx.notify(class::ZSET, if flags.incr { "zincr" } else { "zadd" }, key);
    }
    if let Some(err) = totals.error {
        return Err(err);
    }
    if flags.incr {
        if totals.processed > 0 {
            ctx.out.double(totals.score);
        } else {
            ctx.out.null();
        }
    } else if flags.ch {
        ctx.out.int(totals.added + totals.updated);
    } else {
        ctx.out.int(totals.added);
    }
    Ok(())
}

fn zrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let (removed, emptied) =
        ctx.server
            .keyspace
            .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
                if let Some(entry) = view.peek(hash, key) {
                    entry.zset().ok_or(CmdError::WrongType)?;
                }
                let outcome = view.modify(hash, key, |entry| {
                    let zset = entry.zset_mut()?;
                    let removed = args[2..]
                        .iter()
                        .filter(|member| zset.remove(member).is_some())
                        .count();
                    Some((removed, zset.is_empty()))
                });
                Ok::<_, CmdError>(outcome.flatten().unwrap_or((0, false)))
            })?;
    if removed > 0 {
        ctx.notify(class::ZSET, "zrem", key);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn zscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_zset(ctx, &args[1], |zset, out| {
        match zset.and_then(|z| z.score(&args[2])) {
            Some(score) => out.double(score),
            None => out.null(),
        }
        Ok(())
    })
}

fn zmscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_zset(ctx, &args[1], |zset, out| {
        out.array(args.len() - 2);
        for member in &args[2..] {
            match zset.and_then(|z| z.score(member)) {
                Some(score) => out.double(score),
                None => out.null(),
            }
        }
        Ok(())
    })
}

fn zcard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_zset(ctx, &args[1], |zset, out| {
        out.int(zset.map_or(0, ZSetValue::len) as i64);
        Ok(())
    })
}

fn zrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zrank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zrank_generic(ctx, args, true)
}

/// ZRANK/ZREVRANK, with Redis 7.2's WITHSCORE extension ([rank, score], or a null array).
fn zrank_generic(ctx: &mut Ctx<'_>, args: &[Bytes], reverse: bool) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::WrongArity(
            args::text(&args[0]).to_ascii_lowercase(),
        ));
    }
    let withscore = match args.get(3) {
        None => false,
        Some(arg) if args::is(arg, "withscore") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    read_zset(ctx, &args[1], |zset, out| {
        let found = zset.and_then(|z| {
            let (rank, score) = z.rank(&args[2])?;
            Some((if reverse { z.len() - 1 - rank } else { rank }, score))
        });
        match found {
            Some((rank, score)) if withscore => {
                out.array(2);
                out.int(rank as i64);
                out.double(score);
            }
            Some((rank, _)) => out.int(rank as i64),
            None if withscore => out.null_array(),
            None => out.null(),
        }
        Ok(())
    })
}
