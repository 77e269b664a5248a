//! EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX, XX, GT, LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME
//! and PERSIST, after Redis's `expire.c`. Expiry is stored as an absolute Unix millisecond time in
//! the entry (0 = none); `DbShard::modify` keeps the volatile-key count right when it changes.

use crate::engine::notice::class;
use bytes::Bytes;

use super::inspect;
use crate::commands::{args, Ctx};
use crate::error::{CmdError, CmdResult};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
}

enum Outcome {
    Declined,
    Set,
    Delete,
}

/// The NX/XX/GT/LT conditions of the EXPIRE family.
#[derive(Default, Debug, PartialEq, Eq)]
struct Condition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Condition {
    /// Options are read before the time argument, so `EXPIRE k abc foo` complains about `foo`.
    fn parse(options: &[Bytes]) -> Result<Condition, CmdError> {
        let mut cond = Condition::default();
        for opt in options {
            if args::is(opt, "nx") {
                cond.nx = true;
            } else if args::is(opt, "xx") {
                cond.xx = true;
            } else if args::is(opt, "gt") {
                cond.gt = true;
            } else if args::is(opt, "lt") {
                cond.lt = true;
            } else {
                return Err(CmdError::UnsupportedOption(opt[..].into()));
            }
        }
        if cond.nx && (cond.xx || cond.gt || cond.lt) {
            return Err(CmdError::ExpireNxConflict);
        }
        if cond.gt && cond.lt {
            return Err(CmdError::ExpireGtLtConflict);
        }
        Ok(cond)
    }

    /// Whether a key whose expiry is `current` (None: persistent) may get `when`. A persistent key
    /// counts as expiring at infinity: GT never passes on it, LT always does.
    fn allows(&self, current: Option<i64>, when: i64) -> bool {
        match current {
            None => !self.xx && !self.gt,
            Some(current) => {
                !(self.nx || (self.gt && when <= current) || (self.lt && when >= current))
            }
        }
    }
}

pub fn expire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_expiry(ctx, args, "expire", Unit::Seconds, true)
}

pub fn pexpire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_expiry(ctx, args, "pexpire", Unit::Millis, true)
}

pub fn expireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_expiry(ctx, args, "expireat", Unit::Seconds, false)
}

pub fn pexpireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_expiry(ctx, args, "pexpireat", Unit::Millis, false)
}

/// The absolute expiry in milliseconds, or Redis's "invalid expire time" when the unit conversion
/// or the addition of the current time overflows. Negative results are allowed: they delete.
fn absolute_ms(
    arg: &[u8],
    unit: Unit,
    base_ms: i64,
    command: &'static str,
) -> Result<i64, CmdError> {
    let mut when = args::int(arg)?;
    if unit == Unit::Seconds {
        when = when
            .checked_mul(1000)
            .ok_or(CmdError::InvalidExpire(command))?;
    }
    when.checked_add(base_ms)
        .ok_or(CmdError::InvalidExpire(command))
}

fn set_expiry(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    command: &'static str,
    unit: Unit,
    relative: bool,
) -> CmdResult {
    let key = &args[1];
    let cond = Condition::parse(&args[3..])?;
    let now = ctx.now_ms as i64;
    let when = absolute_ms(&args[2], unit, if relative { now } else { 0 }, command)?;
    let changed = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            // Through `modify`, so the access time is refreshed even when a condition declines, as
            // Redis's `lookupKeyWrite` does.
            let outcome = view.modify(hash, key, |entry| {
                let current = entry.has_expiry().then_some(entry.expire_at() as i64);
                if !cond.allows(current, when) {
                    return Outcome::Declined;
                }
                // A time already past deletes the key rather than storing it, as Redis does.
                if when <= now {
                    return Outcome::Delete;
                }
                entry.set_expire_at(when as u64);
                Outcome::Set
            });
            match outcome {
                None | Some(Outcome::Declined) => false,
                Some(Outcome::Set) => {
                    view.notify(key, class::GENERIC, "expire");
                    true
                }
                Some(Outcome::Delete) => {
                    let removed = view.remove(hash, key).is_some();
                    view.notify(key, class::GENERIC, "del");
                    removed
                }
            }
        });
    ctx.out.int(changed as i64);
    Ok(())
}

pub fn ttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    report_expiry(ctx, &args[1], false, false)
}

pub fn pttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    report_expiry(ctx, &args[1], true, false)
}

pub fn expiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    report_expiry(ctx, &args[1], false, true)
}

pub fn pexpiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    report_expiry(ctx, &args[1], true, true)
}

/// -2 for a missing key, -1 for a key without expiry, else the remaining time (or the absolute
/// time) in the unit asked; seconds are rounded to the nearest, as Redis's `(ttl+500)/1000`.
fn report_expiry(ctx: &mut Ctx<'_>, key: &[u8], millis: bool, absolute: bool) -> CmdResult {
    let now = ctx.now_ms as i64;
    let expire_at = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            inspect(view, hash, key, |e| e.expire_at())
        });
    let reply = match expire_at {
        None => -2,
        Some(0) => -1,
        Some(at) => {
            let ms = if absolute {
                at as i64
            } else {
                (at as i64 - now).max(0)
            };
            if millis {
                ms
            } else {
                ms.saturating_add(500) / 1000
            }
        }
    };
    ctx.out.int(reply);
    Ok(())
}

pub fn persist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let cleared = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let cleared = view
                .modify(hash, key, |e| {
                    let had = e.has_expiry();
                    e.set_expire_at(0);
                    had
                })
                .unwrap_or(false);
            if cleared {
                view.notify(key, class::GENERIC, "persist");
            }
            cleared
        });
    ctx.out.int(cleared as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn option_conflicts() {
        assert_eq!(
            Condition::parse(&opts(&["nx", "xx"])),
            Err(CmdError::ExpireNxConflict)
        );
        assert_eq!(
            Condition::parse(&opts(&["NX", "gt"])),
            Err(CmdError::ExpireNxConflict)
        );
        assert_eq!(
            Condition::parse(&opts(&["gt", "lt"])),
            Err(CmdError::ExpireGtLtConflict)
        );
        assert_eq!(
            Condition::parse(&opts(&["xx", "foo"])),
            Err(CmdError::UnsupportedOption(b"foo"[..].into()))
        );
        assert!(Condition::parse(&opts(&["xx", "gt", "nx"])).is_err());
        assert!(Condition::parse(&opts(&["xx", "GT"])).is_ok());
    }

    #[test]
    fn conditions_against_current_expiry() {
        let parse = |o: &[&str]| Condition::parse(&opts(o)).unwrap();
        assert!(parse(&["nx"]).allows(None, 5));
        assert!(!parse(&["nx"]).allows(Some(10), 5));
        assert!(!parse(&["xx"]).allows(None, 5));
        assert!(parse(&["xx"]).allows(Some(10), 5));
        assert!(!parse(&["gt"]).allows(None, 5));
        assert!(parse(&["gt"]).allows(Some(4), 5));
        assert!(!parse(&["gt"]).allows(Some(5), 5));
        assert!(parse(&["lt"]).allows(None, 5));
        assert!(parse(&["lt"]).allows(Some(6), 5));
        assert!(!parse(&["lt"]).allows(Some(5), 5));
        assert!(!parse(&["xx", "lt"]).allows(None, 5));
    }

    #[test]
    fn expire_time_overflow() {
        assert_eq!(
            absolute_ms(b"9223372036854775", Unit::Seconds, 1000, "expire"),
            Err(CmdError::InvalidExpire("expire"))
        );
        assert_eq!(
            absolute_ms(b"9223372036854775807", Unit::Millis, 1, "pexpire"),
            Err(CmdError::InvalidExpire("pexpire"))
        );
        assert_eq!(
            absolute_ms(b"9223372036854775807", Unit::Millis, 0, "pexpireat"),
            Ok(i64::MAX)
        );
        assert_eq!(
            absolute_ms(b"-9223372036854775808", Unit::Millis, 5, "pexpire"),
            Ok(i64::MIN + 5)
        );
        assert_eq!(
            absolute_ms(b"-9223372036854775808", Unit::Seconds, 0, "expire"),
            Err(CmdError::InvalidExpire("expire"))
        );
        assert_eq!(
            absolute_ms(b"abc", Unit::Seconds, 0, "expire"),
            Err(CmdError::NotInteger)
        );
        assert_eq!(absolute_ms(b"2", Unit::Seconds, 10, "expire"), Ok(2010));
    }
}
