//! Sorted set algebra (Redis's `zunionInterDiffGenericCommand`): ZUNION, ZINTER, ZDIFF, their
//! STORE forms, and ZINTERCARD. All input keys (and the destination) are locked together.
//!
//! As in Redis, sources are visited smallest first: an intersection walks the smallest input and
//! looks each member up in the others (O(1) in the skiplist encoding), a union accumulates every
//! input's members in a hash table, a difference keeps the first input's members absent from the
//! others. Members are shared `Arc`s, so collecting a source copies no member bytes.

use std::collections::HashMap;

use bytes::Bytes;

use crate::commands::zset::parse as zset_parse;
use crate::commands::zset::range::{build_result, store_result};
use crate::commands::zset::{limits, reply_items};
use crate::commands::{args, Ctx};
use crate::engine::types::zset::{compare, ZItem, ZSetLimits, ZSetValue};
use crate::engine::Locked;
use crate::error::{CmdError, CmdResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// `zunionInterAggregate`: a sum of opposite infinities is 0, not NaN.
    fn apply(self, target: f64, value: f64) -> f64 {
        match self {
            Aggregate::Sum => {
                let sum = target + value;
                if sum.is_nan() {
                    0.0
                } else {
                    sum
                }
            }
            Aggregate::Min => target.min(value),
            Aggregate::Max => target.max(value),
        }
    }
}

/// A weighted score; 0 instead of NaN (`inf * 0`), as Redis.
fn weighted(score: f64, weight: f64) -> f64 {
    let value = score * weight;
    if value.is_nan() {
        0.0
    } else {
        value
    }
}

struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT; 0 for none.
    limit: usize,
}

/// Reads `numkeys` at `args[at]` and returns the keys that follow it.
fn input_keys<'a>(args: &'a [Bytes], at: usize, command: &str) -> Result<&'a [Bytes], CmdError> {
    let count = args::int(&args[at])?;
    if count < 1 {
        return Err(CmdError::AtLeastOneInputKey {
            command: command.into(),
        });
    }
    if count as u64 > (args.len() - at - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    Ok(&args[at + 1..at + 1 + count as usize])
}

fn parse_options(
    args: &[Bytes],
    mut at: usize,
    sources: usize,
    op: Op,
    store: bool,
    cardinality: bool,
) -> Result<Options, CmdError> {
    let mut options = Options {
        weights: vec![1.0; sources],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    while at < args.len() {
        let remaining = args.len() - at;
        let arg = &args[at];
        if op != Op::Diff && !cardinality && remaining > sources && args::is(arg, "weights") {
            for (slot, weight) in options.weights.iter_mut().zip(&args[at + 1..]) {
                *slot = zset_parse::parse_score(weight).ok_or(CmdError::WeightNotFloat)?;
            }
            at += 1 + sources;
        } else if op != Op::Diff && !cardinality && remaining >= 2 && args::is(arg, "aggregate") {
            let name = &args[at + 1];
            options.aggregate = if args::is(name, "sum") {
                Aggregate::Sum
            } else if args::is(name, "min") {
                Aggregate::Min
            } else if args::is(name, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            at += 2;
        } else if !store && !cardinality && args::is(arg, "withscores") {
            options.withscores = true;
            at += 1;
        } else if cardinality && remaining >= 2 && args::is(arg, "limit") {
            let limit = args::int(&args[at + 1])
                .ok()
                .filter(|&n| n >= 0)
                .ok_or(CmdError::LimitNegative)?;
            options.limit = usize::try_from(limit).unwrap_or(usize::MAX);
            at += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(options)
}

/// Runs `f` on the sorted set at `key` (`None` when absent) with its shard already locked.
fn with_source<R>(
    locked: &mut Locked<'_>,
    db: usize,
    now: u64,
    key: &[u8],
    read: bool,
    f: impl FnOnce(Option<&ZSetValue>) -> R,
) -> Result<R, CmdError> {
    let Some((mut view, hash)) = locked.view(db, key, now) else {
        return Ok(f(None));
    };
    let entry = if read {
        view.read(hash, key)
    } else {
        view.peek(hash, key)
    };
    match entry {
        None => Ok(f(None)),
        Some(entry) => match (entry.zset(), entry.set()) {
            (Some(zset), _) => Ok(f(Some(zset))),
            // A plain set takes part as a sorted set whose scores are all 1, as in Redis.
            (None, Some(set)) => {
                let mut scored = ZSetValue::new();
                let limits = ZSetLimits {
                    max_listpack_entries: 0,
                    ..ZSetLimits::default()
                };
                for member in set.iter() {
                    scored.insert(&member.to_bytes(), 1.0, limits);
                }
                Ok(f(Some(&scored)))
            }
            (None, None) => Err(CmdError::WrongType),
        },
    }
}

/// The combined members, unordered.
fn combine(
    locked: &mut Locked<'_>,
    db: usize,
    now: u64,
    keys: &[Bytes],
    sizes: &[usize],
    op: Op,
    options: &Options,
) -> Result<Vec<ZItem>, CmdError> {
    // Smallest first, as Redis sorts its sources (the first input stays first for a difference).
    let mut order: Vec<usize> = (0..keys.len()).collect();
    match op {
        Op::Diff => order[1..].sort_by_key(|&i| std::cmp::Reverse(sizes[i])),
        _ => order.sort_by_key(|&i| sizes[i]),
    }
    match op {
        Op::Union => {
            let mut totals: HashMap<crate::engine::types::zset::Member, f64> = HashMap::new();
            for &i in &order {
                let weight = options.weights[i];
                let items: Vec<ZItem> = with_source(locked, db, now, &keys[i], false, |z| {
                    z.map_or_else(Vec::new, |z| z.iter().cloned().collect())
                })?;
                for item in items {
                    let value = weighted(item.score, weight);
                    totals
                        .entry(item.member)
                        .and_modify(|total| *total = options.aggregate.apply(*total, value))
                        .or_insert(value);
                }
            }
            Ok(totals
                .into_iter()
                .map(|(member, score)| ZItem { score, member })
                .collect())
        }
        Op::Inter => {
            if order.iter().any(|&i| sizes[i] == 0) {
                return Ok(Vec::new());
            }
            let first = order[0];
            let mut result: Vec<ZItem> = with_source(locked, db, now, &keys[first], false, |z| {
                z.map_or_else(Vec::new, |z| {
                    z.iter()
                        .map(|item| ZItem {
                            score: weighted(item.score, options.weights[first]),
                            member: item.member.clone(),
                        })
                        .collect()
                })
            })?;
            for &i in &order[1..] {
                let weight = options.weights[i];
                result = with_source(locked, db, now, &keys[i], false, |z| {
                    let Some(z) = z else { return Vec::new() };
                    result
                        .into_iter()
                        .filter_map(|mut item| {
                            let score = z.score(&item.member)?;
                            item.score =
                                options.aggregate.apply(item.score, weighted(score, weight));
                            Some(item)
                        })
                        .collect()
                })?;
                if result.is_empty() {
                    break;
                }
            }
            if options.limit > 0 {
                result.truncate(options.limit);
            }
            Ok(result)
        }
        Op::Diff => {
            let mut result: Vec<ZItem> = with_source(locked, db, now, &keys[0], false, |z| {
                z.map_or_else(Vec::new, |z| z.iter().cloned().collect())
            })?;
            for &i in &order[1..] {
                if result.is_empty() {
                    break;
                }
                result = with_source(locked, db, now, &keys[i], false, |z| match z {
                    None => result,
                    Some(z) => result
                        .into_iter()
                        .filter(|item| z.score(&item.member).is_none())
                        .collect(),
                })?;
            }
            Ok(result)
        }
    }
}

/// Checks every input's type (WRONGTYPE comes before option errors, as in Redis) and returns
/// their sizes (0 for a missing key).
fn source_sizes(
    locked: &mut Locked<'_>,
    db: usize,
    now: u64,
    keys: &[Bytes],
) -> Result<Vec<usize>, CmdError> {
    keys.iter()
        .map(|key| with_source(locked, db, now, key, true, |z| z.map_or(0, ZSetValue::len)))
        .collect()
}

fn sorted(mut items: Vec<ZItem>) -> Vec<ZItem> {
    items.sort_by(|a, b| compare(a.score, &a.member, b.score, &b.member));
    items
}

/// ZUNION, ZINTER, ZDIFF: `numkeys key... [options]`, replied in score order.
fn combine_reply(ctx: &mut Ctx<'_>, args: &[Bytes], op: Op) -> CmdResult {
    let name = args::text(&args[0]).to_ascii_lowercase();
    let keys = input_keys(args, 1, &name)?;
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let server = ctx.server;
    let mut locked = server.keyspace.lock_keys(keys.iter());
    let sizes = source_sizes(&mut locked, db, now, keys)?;
    let options = parse_options(args, 2 + keys.len(), keys.len(), op, false, false)?;
    let result = sorted(combine(&mut locked, db, now, keys, &sizes, op, &options)?);
    drop(locked);
    let refs: Vec<&ZItem> = result.iter().collect();
    reply_items(ctx.out, &refs, options.withscores);
    Ok(())
}

/// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE: `destination numkeys key... [options]`.
fn combine_store(ctx: &mut Ctx<'_>, args: &[Bytes], op: Op, event: &'static str) -> CmdResult {
    let name = args::text(&args[0]).to_ascii_lowercase();
    let dst = &args[1];
    let keys = input_keys(args, 2, &name)?;
    let limits = limits(ctx);
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let server = ctx.server;
    let mut locked = server
        .keyspace
        .lock_keys(std::iter::once(dst).chain(keys.iter()));
    let sizes = source_sizes(&mut locked, db, now, keys)?;
    let options = parse_options(args, 3 + keys.len(), keys.len(), op, true, false)?;
    let result = combine(&mut locked, db, now, keys, &sizes, op, &options)?;
    let Some((mut view, hash)) = locked.view(db, dst, now) else {
        return Ok(());
    };
    let items = result
        .iter()
        .map(|item| (item.score, &item.member[..]))
        .collect();
    let zset = build_result(items, limits);
    store_result(ctx, &mut view, hash, dst, zset, event);
    Ok(())
}

pub fn zunion(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_reply(ctx, args, Op::Union)
}

pub fn zinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_reply(ctx, args, Op::Inter)
}

pub fn zdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_reply(ctx, args, Op::Diff)
}

pub fn zunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_store(ctx, args, Op::Union, "zunionstore")
}

pub fn zinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_store(ctx, args, Op::Inter, "zinterstore")
}

pub fn zdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_store(ctx, args, Op::Diff, "zdiffstore")
}

pub fn zintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys = input_keys(args, 1, "zintercard")?;
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let server = ctx.server;
    let mut locked = server.keyspace.lock_keys(keys.iter());
    let sizes = source_sizes(&mut locked, db, now, keys)?;
    let options = parse_options(args, 2 + keys.len(), keys.len(), Op::Inter, false, true)?;
    let result = combine(&mut locked, db, now, keys, &sizes, Op::Inter, &options)?;
    drop(locked);
    ctx.out.int(result.len() as i64);
    Ok(())
}
