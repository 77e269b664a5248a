//! SMOVE and the set algebra: SINTER, SINTERCARD, SUNION, SDIFF and the STORE forms. Each command
//! locks all its keys' shards together (`Keyspace::lock_keys`), so a STORE is atomic for other
//! clients. Every source is looked up and type-checked before anything is computed, as Redis
//! does: a WRONGTYPE source fails the command even after a missing one.

use bytes::Bytes;

use super::{max_intset_entries, new_set_entry, reply_member, CmdError, CmdResult, Ctx};
use crate::engine::notice::class;
use crate::engine::types::set::Member;
use crate::engine::types::SetValue;
use crate::engine::{Entry, Locked};
use crate::protocol::ReplyBuf;

/// Looks each key up once for reading (lazy expiry, hit/miss, access time) and fails with
/// WRONGTYPE if any holds something other than a set.
fn check_sources(locked: &mut Locked<'_>, db: usize, keys: &[Bytes], now: u64) -> CmdResult {
    for key in keys {
        if let Some((mut view, hash)) = locked.view(db, key, now) {
            if view.read(hash, key).is_some_and(|e| e.set().is_none()) {
                return Err(CmdError::WrongType);
            }
        }
    }
    Ok(())
}

/// The sources' sets, side by side (`None` for a missing key), after `check_sources`.
fn sources<'l>(locked: &'l Locked<'_>, db: usize, keys: &[Bytes]) -> Vec<Option<&'l SetValue>> {
    keys.iter()
        .map(|key| locked.entry(db, key).and_then(Entry::set))
        .collect()
}

/// Replaces `dst` with `result` (any old value and its expiry go, as Redis's `setKey`), or
/// deletes it when the result is empty; replies with the result's size.
fn store(
    ctx_out: &mut ReplyBuf,
    locked: &mut Locked<'_>,
    (db, now): (usize, u64),
    dst: &[u8],
    result: SetValue,
    event: &'static str,
) {
    let Some((mut view, hash)) = locked.view(db, dst, now) else {
        ctx_out.int(0);
        return;
    };
    if result.is_empty() {
        if view.remove(hash, dst).is_some() {
            view.notify(dst, class::GENERIC, "del");
        }
        ctx_out.int(0);
        return;
    }
    let size = result.len();
    view.insert(hash, new_set_entry(dst, result));
    view.notify(dst, class::SET, event);
    ctx_out.int(size as i64);
}

pub(super) fn smove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&args[1][..], &args[2][..], &args[3][..]);
    let max = max_intset_entries(ctx);
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let server = ctx.server;
    let mut locked = server.keyspace.lock_keys([src, dst]);
    let src_kind = locked
        .view(db, src, now)
        .map(|(mut view, hash)| view.peek(hash, src).map(|e| e.set().is_some()));
    let Some(src_is_set) = src_kind.flatten() else {
        ctx.out.int(0);
        return Ok(());
    };
    let dst_is_other = locked
        .view(db, dst, now)
        .is_some_and(|(mut view, hash)| view.peek(hash, dst).is_some_and(|e| e.set().is_none()));
    if !src_is_set || dst_is_other {
        return Err(CmdError::WrongType);
    }
    if src == dst {
        let is_member = locked
            .entry(db, src)
            .and_then(Entry::set)
            .is_some_and(|set| set.contains(member));
        ctx.out.int(is_member as i64);
        return Ok(());
    }
    let Some((mut view, hash)) = locked.view(db, src, now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let removed = view.modify(hash, src, |entry| {
        entry
            .set_mut()
            .map(|set| (set.remove(member), set.is_empty()))
    });
    let Some(Some((true, emptied))) = removed else {
        ctx.out.int(0);
        return Ok(());
    };
    view.notify(src, class::SET, "srem");
    if emptied {
        view.notify(src, class::GENERIC, "del");
    }
    if let Some((mut view, hash)) = locked.view(db, dst, now) {
        let added = match view.modify(hash, dst, |entry| {
            entry.set_mut().is_some_and(|set| set.add(member, max))
        }) {
            Some(added) => added,
            None => {
                let mut set = SetValue::default();
                set.add(member, max);
                view.insert_absent(hash, new_set_entry(dst, set));
                true
            }
        };
        if added {
            view.notify(dst, class::SET, "sadd");
        }
    }
    ctx.out.int(1);
    Ok(())
}

/// What an intersection produces: the members for a reply, their count, or a new set.
enum InterOutput {
    Reply,
    Cardinality { limit: usize },
    Store,
}

/// SINTER, SINTERCARD and SINTERSTORE: walks the smallest set and keeps the members every other
/// set holds; any missing key makes the result empty.
fn inter_generic(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    dst: Option<&Bytes>,
    output: InterOutput,
) -> CmdResult {
    let max = max_intset_entries(ctx);
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let server = ctx.server;
    let out = &mut *ctx.out;
    let mut locked = server.keyspace.lock_keys(keys.iter().chain(dst));
    check_sources(&mut locked, db, keys, now)?;
    let stored = {
        let found = sources(&locked, db, keys);
        let mut sets: Vec<(&[u8], &SetValue)> = Vec::with_capacity(found.len());
        for (key, set) in keys.iter().zip(&found) {
            match set {
                Some(set) => sets.push((&key[..], *set)),
                None => {
                    sets.clear();
                    break;
                }
            }
        }
        sets.sort_by_key(|(_, set)| set.len());
        let (first_key, first) = match sets.first() {
            Some(&(key, set)) => (key, Some(set)),
            None => (&b""[..], None),
        };
        let others: Vec<&SetValue> = sets
            .iter()
            .skip(1)
            .filter(|(key, _)| *key != first_key)
            .map(|(_, set)| *set)
            .collect();
        let common = first
            .into_iter()
            .flat_map(|set| set.iter())
            .filter(|&member| others.iter().all(|set| set.contains_member(member)));
        match output {
            InterOutput::Reply => {
                let members: Vec<Member<'_>> = common.collect();
                out.set(members.len());
                for member in members {
                    reply_member(out, member);
                }
                None
            }
            InterOutput::Cardinality { limit } => {
                let limit = if limit == 0 { usize::MAX } else { limit };
                out.int(common.take(limit).count() as i64);
                None
            }
            InterOutput::Store => {
                let mut result = SetValue::default();
                for member in common {
                    result.add_member(member, max);
                }
                Some(result)
            }
        }
    };
    if let (Some(result), Some(dst)) = (stored, dst) {
        store(out, &mut locked, (db, now), dst, result, "sinterstore");
    }
    Ok(())
}

pub(super) fn sinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    inter_generic(ctx, &args[1..], None, InterOutput::Reply)
}

pub(super) fn sinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    inter_generic(ctx, &args[2..], Some(&args[1]), InterOutput::Store)
}

pub(super) fn sintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let numkeys = crate::protocol::parse_i64(&args[1])
        .filter(|n| *n >= 1)
        .ok_or(CmdError::NumkeysNotPositive)?;
    let available = args.len() - 2;
    if numkeys as u64 > available as u64 {
        return Err(CmdError::NumkeysOverArgs);
    }
    let keys_end = 2 + numkeys as usize;
    let mut limit = 0;
    let mut i = keys_end;
    while i < args.len() {
        if super::args::is(&args[i], "limit") && i + 1 < args.len() {
            let n = crate::protocol::parse_i64(&args[i + 1])
                .filter(|n| *n >= 0)
                .ok_or(CmdError::LimitNegative)?;
            limit = usize::try_from(n).unwrap_or(usize::MAX);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    inter_generic(
        ctx,
        &args[2..keys_end],
        None,
        InterOutput::Cardinality { limit },
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// The difference, by Redis's cheaper of two algorithms (which matters beyond speed: the second
/// builds from the whole first set, so the result's encoding follows the first set's members).
fn difference(keys: &[Bytes], sets: &[Option<&SetValue>], max: usize) -> SetValue {
    let (Some(Some(first)), Some(first_key)) = (sets.first(), keys.first()) else {
        return SetValue::default();
    };
    // The first set subtracted from itself.
    if keys[1..].iter().any(|key| key == first_key) {
        return SetValue::default();
    }
    let others: Vec<&SetValue> = sets[1..].iter().flatten().copied().collect();
    let present = 1 + others.len();
    let algo_one_work = first.len().saturating_mul(present) / 2;
    let algo_two_work = first.len() + others.iter().map(|s| s.len()).sum::<usize>();
    if algo_one_work <= algo_two_work {
        let mut others = others;
        // Largest first: a shared member is found sooner.
        others.sort_by_key(|set| std::cmp::Reverse(set.len()));
        SetValue::from_members(
            first
                .iter()
                .filter(|&member| !others.iter().any(|set| set.contains_member(member))),
            max,
        )
    } else {
        let mut result = SetValue::from_members(first.iter(), max);
        for set in others {
            for member in set.iter() {
                result.remove(&member.to_bytes());
            }
            if result.is_empty() {
                break;
            }
        }
        result
    }
}

/// SUNION, SDIFF and their STORE forms: the result is built as a new set, then replied or stored.
fn union_diff_generic(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    dst: Option<&Bytes>,
    op: SetOp,
) -> CmdResult {
    let max = max_intset_entries(ctx);
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let server = ctx.server;
    let out = &mut *ctx.out;
    let mut locked = server.keyspace.lock_keys(keys.iter().chain(dst));
    check_sources(&mut locked, db, keys, now)?;
    let result = {
        let sets = sources(&locked, db, keys);
        match op {
            SetOp::Union => {
                SetValue::from_members(sets.iter().flatten().flat_map(|s| s.iter()), max)
            }
            SetOp::Diff => difference(keys, &sets, max),
        }
    };
    match dst {
        Some(dst) => {
            let event = match op {
                SetOp::Union => "sunionstore",
                SetOp::Diff => "sdiffstore",
            };
            store(out, &mut locked, (db, now), dst, result, event);
        }
        None => {
            drop(locked);
            out.set(result.len());
            for member in result.iter() {
                reply_member(out, member);
            }
        }
    }
    Ok(())
}

pub(super) fn sunion(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    union_diff_generic(ctx, &args[1..], None, SetOp::Union)
}

pub(super) fn sunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    union_diff_generic(ctx, &args[2..], Some(&args[1]), SetOp::Union)
}

pub(super) fn sdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    union_diff_generic(ctx, &args[1..], None, SetOp::Diff)
}

pub(super) fn sdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    union_diff_generic(ctx, &args[2..], Some(&args[1]), SetOp::Diff)
}
