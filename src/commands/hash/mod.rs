//! Hash commands (Redis's `t_hash.c`): the family's table and the commands that read or write
//! fields; HRANDFIELD and HSCAN live in `hash/sample.rs`. The value and its two encodings are in
//! `engine/types/hash.rs`.
//!
//! As in Redis, arguments are checked before the key is looked up (an increment that is not a
//! number is reported even for a key of another type), and every change is announced with
//! Redis's event: `hset` (HSET, HMSET, HSETNX), `hdel` (then `del` when the hash became empty),
//! `hincrby`, `hincrbyfloat`. Field TTLs (Redis 7.4) are set and read in `hash/expire.rs`;
//! every command here but HLEN first deletes the fields whose time has passed (`hexpired`, and
//! `del` for a hash left empty), so none of them sees one; HLEN counts them until they are reaped,
//! as 7.4's does.

mod expire;
mod sample;

use crate::commands::{AclCategories, CommandFlags};
use bytes::Bytes;

use super::long_double::LongDouble;
use super::{args, CommandSpec, Ctx, SPEC};
use crate::engine::notice::class;
use crate::engine::types::hash::HashLimits;
use crate::engine::types::{Collection, HashValue};
use crate::engine::{DbShard, Entry};
use crate::error::{CmdError, CmdResult};
use crate::protocol::{parse_i64, ReplyBuf};

const READ_FAST: CommandFlags = flags!(READONLY, FAST);
const READ_SLOW: CommandFlags = flags!(READONLY);
const WRITE_FAST: CommandFlags = flags!(WRITE, DENYOOM, FAST);
/// HDEL only frees memory, so it runs even over the limit.
const WRITE_NO_OOM_FAST: CommandFlags = flags!(WRITE, FAST);
const ACL_READ_FAST: AclCategories = acl!(READ, HASH, FAST);
const ACL_READ_SLOW: AclCategories = acl!(READ, HASH, SLOW);
const ACL_WRITE_FAST: AclCategories = acl!(WRITE, HASH, FAST);

const HASH: CommandSpec = CommandSpec {
    group: "hash",
    since: "2.0.0",
    first_key: 1,
    last_key: 1,
    key_step: 1,
    ..SPEC
};

const WHOLE_HASH: &str = "O(N) where N is the size of the hash.";
const PER_FIELD: &str = "O(N) where N is the number of specified fields";
const FIELD_EXPIRE: CommandSpec = CommandSpec {
    arity: -6,
    flags: WRITE_FAST,
    acl_categories: ACL_WRITE_FAST,
    since: "7.4.0",
    complexity: PER_FIELD,
    ..HASH
};
const FIELD_TTL: CommandSpec = CommandSpec {
    arity: -5,
    flags: READ_FAST,
    acl_categories: ACL_READ_FAST,
    since: "7.4.0",
    complexity: PER_FIELD,
    ..HASH
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "hset", arity: -4, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Set the string value of a hash field", complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", handler: Some(hset), ..HASH },
    CommandSpec { name: "hsetnx", arity: 4, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Set the value of a hash field, only if the field does not exist", handler: Some(hsetnx), ..HASH },
    CommandSpec { name: "hget", arity: 3, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Get the value of a hash field", handler: Some(hget), ..HASH },
    CommandSpec { name: "hmget", arity: -3, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Get the values of all the given hash fields", complexity: "O(N) where N is the number of fields being requested.", handler: Some(hmget), ..HASH },
    CommandSpec { name: "hmset", arity: -4, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Set multiple hash fields to multiple values", complexity: "O(N) where N is the number of fields being set.", handler: Some(hmset), ..HASH },
    CommandSpec { name: "hdel", arity: -3, flags: WRITE_NO_OOM_FAST, acl_categories: ACL_WRITE_FAST, summary: "Delete one or more hash fields", complexity: "O(N) where N is the number of fields to be removed.", handler: Some(hdel), ..HASH },
    CommandSpec { name: "hexists", arity: 3, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Determine if a hash field exists", handler: Some(hexists), ..HASH },
    CommandSpec { name: "hlen", arity: 2, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Get the number of fields in a hash", handler: Some(hlen), ..HASH },
    CommandSpec { name: "hstrlen", arity: 3, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Get the length of the value of a hash field", since: "3.2.0", handler: Some(hstrlen), ..HASH },
    CommandSpec { name: "hkeys", arity: 2, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, summary: "Get all the fields in a hash", complexity: WHOLE_HASH, handler: Some(hkeys), ..HASH },
    CommandSpec { name: "hvals", arity: 2, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, summary: "Get all the values in a hash", complexity: WHOLE_HASH, handler: Some(hvals), ..HASH },
    CommandSpec { name: "hgetall", arity: 2, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, summary: "Get all the fields and values in a hash", complexity: WHOLE_HASH, handler: Some(hgetall), ..HASH },
    CommandSpec { name: "hincrby", arity: 4, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Increment the integer value of a hash field by the given number", handler: Some(hincrby), ..HASH },
    CommandSpec { name: "hincrbyfloat", arity: 4, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Increment the float value of a hash field by the given amount", since: "2.6.0", handler: Some(hincrbyfloat), ..HASH },
    CommandSpec { name: "hrandfield", arity: -2, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, summary: "Get one or multiple random fields from a hash", since: "6.2.0", complexity: "O(N) where N is the number of fields returned", handler: Some(sample::hrandfield), ..HASH },
    CommandSpec { name: "hexpire", summary: "Set expiry for hash field using relative time to expire (seconds)", handler: Some(expire::hexpire), ..FIELD_EXPIRE },
    CommandSpec { name: "hpexpire", summary: "Set expiry for hash field using relative time to expire (milliseconds)", handler: Some(expire::hpexpire), ..FIELD_EXPIRE },
    CommandSpec { name: "hexpireat", summary: "Set expiry for hash field using an absolute Unix timestamp (seconds)", handler: Some(expire::hexpireat), ..FIELD_EXPIRE },
    CommandSpec { name: "hpexpireat", summary: "Set expiry for hash field using an absolute Unix timestamp (milliseconds)", handler: Some(expire::hpexpireat), ..FIELD_EXPIRE },
    CommandSpec { name: "httl", summary: "Returns the TTL in seconds of a hash field.", handler: Some(expire::httl), ..FIELD_TTL },
    CommandSpec { name: "hpttl", summary: "Returns the TTL in milliseconds of a hash field.", handler: Some(expire::hpttl), ..FIELD_TTL },
    CommandSpec { name: "hexpiretime", summary: "Returns the expiration time of a hash field as a Unix timestamp, in seconds.", handler: Some(expire::hexpiretime), ..FIELD_TTL },
    CommandSpec { name: "hpexpiretime", summary: "Returns the expiration time of a hash field as a Unix timestamp, in msec.", handler: Some(expire::hpexpiretime), ..FIELD_TTL },
    CommandSpec { name: "hpersist", arity: -5, flags: flags!(WRITE, FAST), summary: "Removes the expiration time for each specified field", handler: Some(expire::hpersist), ..FIELD_EXPIRE },
    CommandSpec { name: "hscan", arity: -3, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, summary: "Incrementally iterate hash fields and associated values", since: "2.8.0", complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", handler: Some(sample::hscan), ..HASH },
];

/// The conversion thresholds in force (`hash-max-listpack-entries`, `hash-max-listpack-value`).
pub fn limits(ctx: &Ctx<'_>) -> HashLimits {
    let config = ctx.server.config.read();
    HashLimits {
        max_listpack_entries: config.hash_max_listpack_entries,
        max_listpack_value: config.hash_max_listpack_value,
    }
}

/// Runs `f` on the hash at `key` (`None` when there is none) with a read lookup (keyspace hit or
/// miss, access time refreshed), once its expired fields are deleted; WRONGTYPE for another type.
fn read_hash<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&HashValue>, &mut ReplyBuf) -> R,
) -> Result<R, CmdError> {
    read_hash_with(ctx, key, true, f)
}

fn read_hash_with<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    reap: bool,
    f: impl FnOnce(Option<&HashValue>, &mut ReplyBuf) -> R,
) -> Result<R, CmdError> {
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            if reap {
                view.reap_fields(hash, key, usize::MAX);
            }
            match view.read(hash, key) {
                None => Ok(f(None, out)),
                Some(entry) => entry
                    .hash()
                    .map(|h| f(Some(h), out))
                    .ok_or(CmdError::WrongType),
            }
        })
}

/// What a write did: the edit's result, and whether it left the hash empty (and so deleted).
struct Written<R> {
    result: R,
    emptied: bool,
}

/// Applies `edit` to the hash at `key`. An absent key is created for the edit when `create` is
/// set (and kept only if the edit left something in it); otherwise the answer is `None`.
fn write_hash<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    create: bool,
    edit: impl FnOnce(&mut HashValue) -> Result<R, CmdError>,
) -> Result<Option<Written<R>>, CmdError> {
    let mut edit = Some(edit);
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            view.reap_fields(hash, key, usize::MAX);
            let existing = view.modify(hash, key, |entry| {
                let value = entry.hash_mut().ok_or(CmdError::WrongType)?;
                let edit = edit.take().ok_or(CmdError::WrongType)?;
                let result = edit(value)?;
                Ok(Written {
                    result,
                    emptied: value.is_empty(),
                })
            });
            match (existing, edit.take()) {
                (Some(written), _) => written.map(Some),
                (None, Some(edit)) if create => {
                    let mut value = HashValue::new();
                    let result = edit(&mut value)?;
                    if !value.is_empty() {
                        let collection = Collection::Hash(value);
                        view.insert_absent(hash, Entry::new_collection(key, collection, 0));
                    }
                    Ok(Some(Written {
                        result,
                        emptied: false,
                    }))
                }
                (None, _) => Ok(None),
            }
        })
}

/// HSET and HMSET: the pairs after the key, which must come in twos.
fn set_pairs(ctx: &mut Ctx<'_>, args: &[Bytes], command: &str) -> Result<i64, CmdError> {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(command.to_string()));
    }
    let limits = limits(ctx);
    let written = write_hash(ctx, &args[1], true, |h| {
        let pairs = args[2..].chunks_exact(2);
        Ok(pairs.filter(|p| h.set(&p[0], &p[1], limits)).count() as i64)
    })?;
    ctx.notify(class::HASH, "hset", &args[1]);
    Ok(written.map_or(0, |w| w.result))
}

fn hset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let added = set_pairs(ctx, args, "hset")?;
    ctx.out.int(added);
    Ok(())
}

fn hmset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_pairs(ctx, args, "hmset")?;
    ctx.out.ok();
    Ok(())
}

fn hsetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let limits = limits(ctx);
    let written = write_hash(ctx, &args[1], true, |h| {
        Ok(!h.contains(&args[2]) && h.set(&args[2], &args[3], limits))
    })?;
    let added = written.is_some_and(|w| w.result);
    if added {
        ctx.notify(class::HASH, "hset", &args[1]);
    }
    ctx.out.int(added as i64);
    Ok(())
}

fn hget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_hash(ctx, &args[1], |h, out| {
        match h.and_then(|h| h.get(&args[2])) {
            Some(value) => out.bulk(value),
            None => out.null(),
        }
    })
}

fn hmget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_hash(ctx, &args[1], |h, out| {
        out.array(args.len() - 2);
        for field in &args[2..] {
            match h.and_then(|h| h.get(field)) {
                Some(value) => out.bulk(value),
                None => out.null(),
            }
        }
    })
}

fn hexists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let found = read_hash(ctx, &args[1], |h, _| {
        h.is_some_and(|h| h.contains(&args[2]))
    })?;
    ctx.out.int(found as i64);
    Ok(())
}

fn hlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len = read_hash_with(ctx, &args[1], false, |h, _| h.map_or(0, HashValue::len))?;
    ctx.out.int(len as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len = read_hash(ctx, &args[1], |h, _| {
        h.and_then(|h| h.get(&args[2])).map_or(0, <[u8]>::len)
    })?;
    ctx.out.int(len as i64);
    Ok(())
}

fn hkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_hash(ctx, &args[1], |h, out| {
        out.array(h.map_or(0, HashValue::len));
        for (field, _) in h.into_iter().flat_map(HashValue::iter) {
            out.bulk(field);
        }
    })
}

fn hvals(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_hash(ctx, &args[1], |h, out| {
        out.array(h.map_or(0, HashValue::len));
        for (_, value) in h.into_iter().flat_map(HashValue::iter) {
            out.bulk(value);
        }
    })
}

fn hgetall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_hash(ctx, &args[1], |h, out| {
        out.map(h.map_or(0, HashValue::len));
        for (field, value) in h.into_iter().flat_map(HashValue::iter) {
            out.bulk(field);
            out.bulk(value);
        }
    })
}

fn hdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let written = write_hash(ctx, &args[1], false, |h| {
        Ok(args[2..].iter().filter(|field| h.remove(field)).count())
    })?;
    let removed = written.as_ref().map_or(0, |w| w.result);
    if removed > 0 {
        ctx.notify(class::HASH, "hdel", &args[1]);
        if written.is_some_and(|w| w.emptied) {
            ctx.notify(class::GENERIC, "del", &args[1]);
        }
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn hincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = args::int(&args[3])?;
    let limits = limits(ctx);
    let written = write_hash(ctx, &args[1], true, |h| {
        let current = match h.get(&args[2]) {
            Some(value) => parse_i64(value).ok_or(CmdError::HashValueNotInteger)?,
            None => 0,
        };
        let new = current.checked_add(by).ok_or(CmdError::Overflow)?;
        h.set_keep_ttl(&args[2], itoa::Buffer::new().format(new).as_bytes(), limits);
        Ok(new)
    })?;
    ctx.notify(class::HASH, "hincrby", &args[1]);
    ctx.out.int(written.map_or(0, |w| w.result));
    Ok(())
}

/// `long double` arithmetic and formatting, as INCRBYFLOAT (see `long_double.rs`).
fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = LongDouble::parse(&args[3]).ok_or(CmdError::NotFloat)?;
    if !by.is_finite() {
        return Err(CmdError::ValueNanOrInfinity);
    }
    let limits = limits(ctx);
    let written = write_hash(ctx, &args[1], true, |h| {
        let current = match h.get(&args[2]) {
            Some(value) => LongDouble::parse(value).ok_or(CmdError::HashValueNotFloat)?,
            None => LongDouble::ZERO,
        };
        let sum = current + by;
        if !sum.is_finite() {
            return Err(CmdError::IncrementNanOrInfinity);
        }
        let text = sum.to_human_string().into_bytes();
        h.set_keep_ttl(&args[2], &text, limits);
        Ok(text)
    })?;
    ctx.notify(class::HASH, "hincrbyfloat", &args[1]);
    ctx.out.bulk(&written.map_or_else(Vec::new, |w| w.result));
    Ok(())
}

/// The value of `field` in the hash at `key`, for a read from another family (SORT's `->field`
/// patterns): `None` for a missing key, a key of another type or a missing field. Expired fields
/// are deleted first, as any hash read does.
pub(crate) fn read_field<R>(
    view: &mut DbShard<'_>,
    hash: u64,
    key: &[u8],
    field: &[u8],
    f: impl FnOnce(Option<&[u8]>) -> R,
) -> R {
    view.reap_fields(hash, key, usize::MAX);
    let value = view
        .read(hash, key)
        .and_then(Entry::hash)
        .and_then(|h| h.get(field));
    f(value)
}
