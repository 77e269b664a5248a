//! Hash field expiration, Redis 7.4's `HEXPIRE HPEXPIRE HEXPIREAT HPEXPIREAT HTTL HPTTL
//! HEXPIRETIME HPEXPIRETIME HPERSIST`: each takes `FIELDS numfields field...` and answers one code
//! per field. Checks come in 7.4's order: the key's type first, then the time, the condition,
//! `FIELDS`, `numfields` and its count; a missing key answers -2 for every field.
//!
//! These commands see a field whose time has passed but that is not reaped yet as 7.4 does: HTTL
//! and HPERSIST answer -2 for it, HEXPIRE gives it the new time. Every other hash command reaps
//! such fields first (`DbShard::reap_fields`); the cron reaps the rest (`engine/expire.rs`).

use bytes::Bytes;

use super::{args, Ctx};
use crate::engine::notice::class;
use crate::engine::types::HashValue;
use crate::engine::Entry;
use crate::error::{CmdError, CmdResult};

/// The latest time a field may be given (Unix ms), as 7.4's `HFE_MAX_ABS_TIME_MSEC`.
const MAX_EXPIRE_MS: i64 = ((1i64 << 48) - 1) >> 2;

/// 7.4's per-field answers of HEXPIRE and family.
const NO_FIELD: i64 = -2;
const CONDITION_NOT_MET: i64 = 0;
const SET: i64 = 1;
const DELETED: i64 = 2;
/// HTTL and HPERSIST: the field has no TTL.
const NO_TTL: i64 = -1;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Condition {
    Always,
    Nx,
    Xx,
    Gt,
    Lt,
}

/// `FIELDS numfields field...` from `at` (where `FIELDS` must be): the fields, or the error 7.4
/// gives (`count_error` when numfields is not a positive integer).
fn fields(args: &[Bytes], at: usize, count_error: CmdError) -> Result<&[Bytes], CmdError> {
    if !args.get(at).is_some_and(|a| args::is_c(a, "fields")) {
        return Err(CmdError::FieldsKeywordMissing);
    }
    let count = args
        .get(at + 1)
        .and_then(|a| args::int(a).ok())
        .filter(|&n| n >= 1)
        .ok_or(count_error)?;
    let listed = &args[(at + 2).min(args.len())..];
    if count as u64 != listed.len() as u64 {
        return Err(CmdError::NumFieldsMismatch);
    }
    Ok(listed)
}

/// What 7.4 answers for one field given time `at` under `condition` (the field is deleted when
/// `at` is not after `now`).
fn expire_field(h: &mut HashValue, field: &[u8], at: u64, now: u64, condition: Condition) -> i64 {
    if !h.contains(field) {
        return NO_FIELD;
    }
    let refused = match h.field_expire_at(field) {
        // A field without a TTL counts as one that never expires.
        None => matches!(condition, Condition::Xx | Condition::Gt),
        Some(previous) => match condition {
            Condition::Nx => true,
            Condition::Gt => previous >= at,
            Condition::Lt => previous <= at,
            Condition::Xx | Condition::Always => false,
        },
    };
    if refused {
        return CONDITION_NOT_MET;
    }
    if at <= now {
        h.remove(field);
        return DELETED;
    }
    h.set_field_expire_at(field, at);
    SET
}

fn hexpire_generic(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    millis: bool,
    absolute: bool,
    command: &'static str,
) -> CmdResult {
    let key = &args[1][..];
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let out = &mut *ctx.out;
    ctx.server.keyspace.with_key(db, key, now, |view, hash| {
        let exists = match view.peek(hash, key) {
            None => false,
            Some(entry) => entry.hash().map(|_| true).ok_or(CmdError::WrongType)?,
        };
        let mut time = args::int(&args[2])?;
        if time < 0 {
            return Err(CmdError::FieldExpireNegative);
        }
        if !millis {
            if time > MAX_EXPIRE_MS / 1000 {
                return Err(CmdError::InvalidExpire(command));
            }
            time *= 1000;
        }
        let base = if absolute { 0 } else { now as i64 };
        if time > MAX_EXPIRE_MS - base {
            return Err(CmdError::InvalidExpire(command));
        }
        let at = (time + base) as u64;
        let condition = [
            ("nx", Condition::Nx),
            ("xx", Condition::Xx),
            ("gt", Condition::Gt),
            ("lt", Condition::Lt),
        ]
        .into_iter()
        .find(|(name, _)| args::is_c(&args[3], name))
        .map_or(Condition::Always, |(_, c)| c);
        let fields_at = if condition == Condition::Always { 3 } else { 4 };
        let fields = fields(args, fields_at, CmdError::NumFieldsNotPositive)?;
        out.array(fields.len());
        if !exists {
            fields.iter().for_each(|_| out.int(NO_FIELD));
            return Ok(());
        }
        let (mut updated, mut deleted) = (0, 0);
        let emptied = view.modify(hash, key, |entry| {
            let Some(h) = entry.hash_mut() else {
                return false;
            };
            for field in fields {
                let code = expire_field(h, field, at, now, condition);
                updated += (code == SET) as usize;
                deleted += (code == DELETED) as usize;
                out.int(code);
            }
            h.is_empty()
        });
        // 7.4 counts a field deleted for a time in the past as expired.
        view.stats.expired_fields += deleted as u64;
        if deleted > 0 {
            view.notify(key, class::HASH, "hdel");
            if emptied == Some(true) {
                view.notify(key, class::GENERIC, "del");
            }
        } else if updated > 0 {
            view.notify(key, class::HASH, "hexpire");
        }
        Ok(())
    })
}

pub fn hexpire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    hexpire_generic(ctx, args, false, false, "hexpire")
}

pub fn hpexpire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    hexpire_generic(ctx, args, true, false, "hpexpire")
}

pub fn hexpireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    hexpire_generic(ctx, args, false, true, "hexpireat")
}

pub fn hpexpireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    hexpire_generic(ctx, args, true, true, "hpexpireat")
}

/// HTTL and family: the time left (`relative`) or the time itself, in seconds (rounded up) or ms.
fn httl_generic(ctx: &mut Ctx<'_>, args: &[Bytes], millis: bool, relative: bool) -> CmdResult {
    let key = &args[1][..];
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let out = &mut *ctx.out;
    ctx.server.keyspace.with_key(db, key, now, |view, hash| {
        let entry = view.read(hash, key);
        let h = match entry {
            None => None,
            Some(entry) => Some(Entry::hash(entry).ok_or(CmdError::WrongType)?),
        };
        let fields = fields(args, 2, CmdError::FieldCountNotPositive)?;
        out.array(fields.len());
        for field in fields {
            let code = match h {
                Some(h) if h.contains(field) => match h.field_expire_at(field) {
                    None => NO_TTL,
                    Some(at) if at < now => NO_FIELD,
                    Some(at) => {
                        let base = if relative { now } else { 0 };
                        let left = at - base;
                        (if millis { left } else { left.div_ceil(1000) }) as i64
                    }
                },
                _ => NO_FIELD,
            };
            out.int(code);
        }
        Ok(())
    })
}

pub fn httl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    httl_generic(ctx, args, false, true)
}

pub fn hpttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    httl_generic(ctx, args, true, true)
}

pub fn hexpiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    httl_generic(ctx, args, false, false)
}

pub fn hpexpiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    httl_generic(ctx, args, true, false)
}

/// HPERSIST: 1 for a TTL removed, -1 for a field without one, -2 for no field (or one whose time
/// has passed); `hpersist` announced when a TTL went.
pub fn hpersist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1][..];
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let out = &mut *ctx.out;
    ctx.server.keyspace.with_key(db, key, now, |view, hash| {
        let exists = match view.peek(hash, key) {
            None => false,
            Some(entry) => entry.hash().map(|_| true).ok_or(CmdError::WrongType)?,
        };
        let fields = fields(args, 2, CmdError::FieldCountNotPositive)?;
        out.array(fields.len());
        if !exists {
            fields.iter().for_each(|_| out.int(NO_FIELD));
            return Ok(());
        }
        let mut changed = false;
        view.modify(hash, key, |entry| {
            let Some(h) = entry.hash_mut() else {
                return;
            };
            for field in fields {
                let code = if !h.contains(field) {
                    NO_FIELD
                } else {
                    match h.field_expire_at(field) {
                        None => NO_TTL,
                        Some(at) if at < now => NO_FIELD,
                        Some(_) => {
                            h.persist_field(field);
                            changed = true;
                            SET
                        }
                    }
                };
                out.int(code);
            }
        });
        if changed {
            view.notify(key, class::HASH, "hpersist");
        }
        Ok(())
    })
}
