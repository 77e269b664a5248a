//! XCLAIM and XAUTOCLAIM (Redis's `xclaimCommand`, `xautoclaimCommand`): pending entries given
//! to another consumer. An entry no longer in the stream is dropped from the pending lists (and,
//! by XAUTOCLAIM, reported); the others get the new owner, a delivery time and a count.

use bytes::Bytes;

use super::{parse, reply_entry, reply_id, write_stream};
use crate::commands::args;
use crate::engine::notice::class;
use crate::engine::types::stream::{StreamId, StreamValue};
// XAUTOCLAIM's bad COUNT has GEO's text (`ERR COUNT must be > 0`), so it is GEO's variant.
use crate::error::{c_string, CmdError, CmdResult, GeoError, StreamError};
use crate::protocol::ReplyBuf;
use crate::state::command::Ctx;
use parse::stream_err;

/// XAUTOCLAIM examines at most COUNT times this many pending entries.
const ATTEMPTS_FACTOR: i64 = 10;
/// XAUTOCLAIM's COUNT bound (Redis's `LONG_MAX / max(sizeof(streamID), attempts_factor)`).
const AUTOCLAIM_MAX_COUNT: i64 = i64::MAX / 16;

fn no_key_or_group(args: &[Bytes]) -> CmdError {
    CmdError::NoGroupRead {
        key: args[1][..].into(),
        group: args[2][..].into(),
        in_xreadgroup: false,
    }
}

/// What XCLAIM was asked, once its options are read.
struct ClaimArgs {
    min_idle: i64,
    ids: Vec<StreamId>,
    force: bool,
    justid: bool,
    /// Unix milliseconds of the new delivery time.
    delivery_time: i64,
    retry_count: Option<i64>,
    last_id: StreamId,
}

fn claim_args(args: &[Bytes], now: i64) -> Result<ClaimArgs, CmdError> {
    let min_idle = args::int(&args[4])
        .map_err(|_| stream_err(StreamError::ClaimMinIdle))?
        .max(0);
    // IDs until the first argument that is not one; options after.
    let mut ids = Vec::new();
    let mut j = 5;
    while j < args.len() {
        match crate::engine::types::stream::parse_id(&args[j], 0, true, false) {
            Some(parsed) => ids.push(parsed.id),
            None => break,
        }
        j += 1;
    }
    let mut claim = ClaimArgs {
        min_idle,
        ids,
        force: false,
        justid: false,
        delivery_time: -1,
        retry_count: None,
        last_id: StreamId::MIN,
    };
    let mut delivery: Option<i64> = None;
    while j < args.len() {
        let more = j + 1 < args.len();
        let opt = c_string(&args[j]);
        if opt.eq_ignore_ascii_case(b"force") {
            claim.force = true;
        } else if opt.eq_ignore_ascii_case(b"justid") {
            claim.justid = true;
        } else if opt.eq_ignore_ascii_case(b"idle") && more {
            j += 1;
            let idle = args::int(&args[j]).map_err(|_| stream_err(StreamError::ClaimIdle))?;
            delivery = Some(now.wrapping_sub(idle));
        } else if opt.eq_ignore_ascii_case(b"time") && more {
            j += 1;
            delivery = Some(args::int(&args[j]).map_err(|_| stream_err(StreamError::ClaimTime))?);
        } else if opt.eq_ignore_ascii_case(b"retrycount") && more {
            j += 1;
            let count =
                args::int(&args[j]).map_err(|_| stream_err(StreamError::ClaimRetryCount))?;
            claim.retry_count = Some(count);
        } else if opt.eq_ignore_ascii_case(b"lastid") && more {
            j += 1;
            claim.last_id = parse::id(&args[j], 0, true)?;
        } else {
            return Err(CmdError::UnrecognizedClaimOption(args[j][..].into()));
        }
        j += 1;
    }
    claim.delivery_time = match delivery {
        Some(time) if (0..=now).contains(&time) => time,
        _ => now,
    };
    Ok(claim)
}

/// XCLAIM key group consumer min-idle-time id ... [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE]
/// [JUSTID] [LASTID id]
pub fn xclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms as i64;
    let key = &args[1];
    // The key and group are checked before the arguments, as in Redis.
    let mut body = ReplyBuf::frame(ctx.out.protocol, 256);
    let claimed = write_stream(ctx, key, |stream| {
        if stream.group(&args[2]).is_none() {
            return Err(no_key_or_group(args));
        }
        let claim = claim_args(args, now)?;
        Ok(claim_ids(stream, args, &claim, now, &mut body))
    })?;
    let Some((count, created)) = claimed else {
        return Err(no_key_or_group(args));
    };
    if created {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    ctx.out.array(count);
    ctx.out.raw(&body.to_vec());
    Ok(())
}

/// Claims `claim.ids` for `args[3]`; returns how many were written to `body` and whether the
/// consumer was created.
fn claim_ids(
    stream: &mut StreamValue,
    args: &[Bytes],
    claim: &ClaimArgs,
    now: i64,
    body: &mut ReplyBuf,
) -> (usize, bool) {
    let name = &args[3];
    stream
        .with_group(&args[2], |group, entries| {
            if claim.last_id > group.last_id {
                group.last_id = claim.last_id;
            }
            let mut consumer = None;
            let mut created = false;
            let mut count = 0;
            for &id in &claim.ids {
                let entry = entries.get(id);
                let pending = group.pel.get(&id).map(|n| n.delivery_time);
                if entry.is_none() {
                    if pending.is_some() {
                        group.drop_pending(id);
                    }
                    continue;
                }
                if pending.is_none() && !claim.force {
                    continue;
                }
                // A pending entry that has an owner must have been idle long enough.
                if let Some(delivered) = pending {
                    if claim.min_idle != 0 && now.wrapping_sub(delivered) < claim.min_idle {
                        continue;
                    }
                }
                let owner = match &consumer {
                    Some(owner) => std::sync::Arc::clone(owner),
                    None => {
                        let (owner, new) = group.lookup_or_create(name, now);
                        created |= new;
                        consumer = Some(std::sync::Arc::clone(&owner));
                        owner
                    }
                };
                let (retry, justid, time) = (claim.retry_count, claim.justid, claim.delivery_time);
                group.claim(id, &owner, |nack| {
                    nack.delivery_time = time;
                    match retry {
                        Some(n) if n >= 0 => nack.delivery_count = n as u64,
                        _ if !justid => nack.delivery_count = nack.delivery_count.wrapping_add(1),
                        _ => {}
                    }
                });
                if claim.justid {
                    reply_id(body, id);
                } else if let Some(entry) = entry {
                    reply_entry(body, &entry);
                }
                count += 1;
            }
            (count, created)
        })
        .unwrap_or((0, false))
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]: the next start, the
/// claimed entries, and the IDs dropped because their entries are gone.
pub fn xautoclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let min_idle = args::int(&args[4])
        .map_err(|_| stream_err(StreamError::AutoclaimMinIdle))?
        .max(0);
    let (mut start, exclusive) = parse::interval_id(&args[5], 0)?;
    if exclusive {
        start = start.incr().ok_or(stream_err(StreamError::InvalidStart))?;
    }
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let opt = c_string(&args[j]);
        if opt.eq_ignore_ascii_case(b"count") && j + 1 < args.len() {
            count = args::int(&args[j + 1])
                .ok()
                .filter(|n| (1..=AUTOCLAIM_MAX_COUNT).contains(n))
                .ok_or(CmdError::Geo(GeoError::CountNotPositive))?;
            j += 1;
        } else if opt.eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let now = ctx.now_ms as i64;
    let key = &args[1];
    let mut body = ReplyBuf::frame(ctx.out.protocol, 256);
    let outcome = write_stream(ctx, key, |stream| {
        if stream.group(&args[2]).is_none() {
            return Err(no_key_or_group(args));
        }
        let name = &args[3];
        Ok(stream
            .with_group(&args[2], |group, entries| {
                let mut attempts = count.saturating_mul(ATTEMPTS_FACTOR);
                let mut left = count;
                let mut claimed = 0;
                let mut deleted = Vec::new();
                let mut consumer = None;
                let mut created = false;
                let mut cursor = group.pel.iter_from(&start).map(|(id, _)| *id).next();
                while attempts > 0 && left > 0 {
                    attempts -= 1;
                    let Some(id) = cursor else {
                        break;
                    };
                    let next = id
                        .incr()
                        .and_then(|after| group.pel.iter_from(&after).map(|(id, _)| *id).next());
                    cursor = next;
                    let Some(entry) = entries.get(id) else {
                        group.drop_pending(id);
                        deleted.push(id);
                        left -= 1;
                        continue;
                    };
                    let delivered = group.pel.get(&id).map_or(now, |n| n.delivery_time);
                    if min_idle != 0 && now.wrapping_sub(delivered) < min_idle {
                        continue;
                    }
                    let owner = match &consumer {
                        Some(owner) => std::sync::Arc::clone(owner),
                        None => {
                            let (owner, new) = group.lookup_or_create(name, now);
                            created |= new;
                            consumer = Some(std::sync::Arc::clone(&owner));
                            owner
                        }
                    };
                    group.claim(id, &owner, |nack| {
                        nack.delivery_time = now;
                        if !justid {
                            nack.delivery_count = nack.delivery_count.wrapping_add(1);
                        }
                    });
                    if justid {
                        reply_id(&mut body, id);
                    } else {
                        reply_entry(&mut body, &entry);
                    }
                    claimed += 1;
                    left -= 1;
                }
                (cursor.unwrap_or(StreamId::MIN), claimed, deleted, created)
            })
            .unwrap_or((StreamId::MIN, 0, Vec::new(), false)))
    })?;
    let Some((next, claimed, deleted, created)) = outcome else {
        return Err(no_key_or_group(args));
    };
    if created {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    ctx.out.array(3);
    reply_id(ctx.out, next);
    ctx.out.array(claimed);
    ctx.out.raw(&body.to_vec());
    ctx.out.array(deleted.len());
    for id in deleted {
        reply_id(ctx.out, id);
    }
    Ok(())
}
