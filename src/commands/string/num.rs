//! Counters on string values: INCR, DECR, INCRBY, DECRBY (64-bit signed, overflow is an error, the
//! TTL is kept) and INCRBYFLOAT (x87 `long double` arithmetic, see `long_double.rs`).

use crate::engine::notice::class;
use bytes::Bytes;

use crate::commands::long_double::LongDouble;
use crate::commands::string::modify_string;
use crate::commands::{args, Ctx};
use crate::engine::{Entry, Value};
use crate::error::{CmdError, CmdResult};
use crate::protocol::parse_i64;

/// The integer held by a string entry, as Redis's `getLongLongFromObject` reads it.
fn entry_int(entry: &Entry) -> Result<i64, CmdError> {
    match entry.value() {
        Value::Int(n) => Ok(n),
        Value::Str { .. } => entry
            .str_bytes()
            .and_then(|v| parse_i64(&v))
            .ok_or(CmdError::NotInteger),
        Value::Collection => Err(CmdError::WrongType),
    }
}

fn incr_decr(ctx: &mut Ctx<'_>, key: &[u8], by: i64) -> CmdResult {
    let value = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let existing = modify_string(view, hash, key, |entry| {
                let new = entry_int(entry)?
                    .checked_add(by)
                    .ok_or(CmdError::Overflow)?;
                entry.set_int(new);
                Ok(new)
            });
            match existing {
                Some(result) => result,
                None => {
                    view.insert_absent(hash, Entry::new_int(key, by, 0));
                    Ok(by)
                }
            }
        })?;
    ctx.notify(class::STRING, "incrby", key);
    ctx.out.int(value);
    Ok(())
}

pub(super) fn incr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    incr_decr(ctx, &args[1], 1)
}

pub(super) fn decr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    incr_decr(ctx, &args[1], -1)
}

pub(super) fn incrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = args::int(&args[2])?;
    incr_decr(ctx, &args[1], by)
}

pub(super) fn decrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = args::int(&args[2])?;
    // Negating i64::MIN would overflow before the value is even looked at.
    let by = by.checked_neg().ok_or(CmdError::DecrementOverflow)?;
    incr_decr(ctx, &args[1], by)
}

/// The key's value and the increment are both read as `long double`; the sum is stored as its
/// `%.17Lf` text with trailing zeros removed. The TTL is kept.
pub(super) fn incrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1][..];
    let text = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let compute = |current: LongDouble| -> Result<Vec<u8>, CmdError> {
                let incr = LongDouble::parse(&args[2]).ok_or(CmdError::NotFloat)?;
                let sum = current + incr;
                if !sum.is_finite() {
                    return Err(CmdError::IncrementNanOrInfinity);
                }
                Ok(sum.to_human_string().into_bytes())
            };
            let existing = modify_string(view, hash, key, |entry| {
                let current = match entry.value() {
                    Value::Int(n) => LongDouble::from_i64(n),
                    Value::Str { .. } => entry
                        .str_bytes()
                        .and_then(|v| LongDouble::parse(&v))
                        .ok_or(CmdError::NotFloat)?,
                    Value::Collection => return Err(CmdError::WrongType),
                };
                let text = compute(current)?;
                entry.set_plain_string(&text);
                Ok(text)
            });
            match existing {
                Some(result) => result,
                None => {
                    let text = compute(LongDouble::ZERO)?;
                    view.insert(hash, Entry::new_plain_string(key, &text, 0));
                    Ok(text)
                }
            }
        })?;
    ctx.notify(class::STRING, "incrbyfloat", key);
    ctx.out.bulk(&text);
    Ok(())
}
