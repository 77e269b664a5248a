//! String commands (Redis's `t_string.c`): the command table of the family and the commands that
//! get and set whole values. Counters live in `num.rs`, substring and LCS commands in
//! `range.rs`.
//!
//! Read commands look keys up with `DbShard::read` (keyspace hits and misses), writes with
//! `peek`/`contains`/`modify`, as Redis's `lookupKeyRead`/`lookupKeyWrite` split them.

pub mod num;
pub mod range;

use crate::commands::{AclCategories, CommandFlags};
use crate::engine::notice::class;
use bytes::Bytes;

use super::cache::MetaRequest;
use super::{args, CommandSpec, Ctx, SPEC};
use crate::engine::backlog;
use crate::engine::compress::{self, Settings};
use crate::engine::{DbShard, Entry};
use crate::error::{CmdError, CmdResult};
use crate::protocol::ReplyBuf;

const READ_FAST: CommandFlags = flags!(READONLY, FAST);
const READ_SLOW: CommandFlags = flags!(READONLY);
const WRITE: CommandFlags = flags!(WRITE, DENYOOM);
const WRITE_FAST: CommandFlags = flags!(WRITE, DENYOOM, FAST);
/// Commands that can only shrink memory (GETDEL, GETEX) are not `denyoom`.
const WRITE_NO_OOM_FAST: CommandFlags = flags!(WRITE, FAST);
const ACL_READ_FAST: AclCategories = acl!(READ, STRING, FAST);
const ACL_READ_SLOW: AclCategories = acl!(READ, STRING, SLOW);
const ACL_WRITE_FAST: AclCategories = acl!(WRITE, STRING, FAST);
const ACL_WRITE_SLOW: AclCategories = acl!(WRITE, STRING, SLOW);

const STRING: CommandSpec = CommandSpec {
    group: "string",
    first_key: 1,
    last_key: 1,
    key_step: 1,
    ..SPEC
};

const RANGE_COMPLEXITY: &str = "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.";

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "get", arity: 2, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Returns the string value of a key.", handler: Some(get), ..STRING },
    CommandSpec { name: "set", arity: -3, flags: WRITE, acl_categories: ACL_WRITE_SLOW, summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", handler: Some(set), ..STRING },
    CommandSpec { name: "setnx", arity: 3, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Set the string value of a key only when the key doesn't exist.", handler: Some(setnx), ..STRING },
    CommandSpec { name: "setex", arity: 4, flags: WRITE, acl_categories: ACL_WRITE_SLOW, summary: "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", since: "2.0.0", handler: Some(setex), ..STRING },
    CommandSpec { name: "psetex", arity: 4, flags: WRITE, acl_categories: ACL_WRITE_SLOW, summary: "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", since: "2.6.0", handler: Some(psetex), ..STRING },
    CommandSpec { name: "getset", arity: 3, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Returns the previous string value of a key after setting it to a new value.", handler: Some(getset), ..STRING },
    CommandSpec { name: "delifeq", arity: 3, flags: WRITE_NO_OOM_FAST, acl_categories: ACL_WRITE_FAST, summary: "Delete key if value matches string.", since: "9.0.0", handler: Some(delifeq), ..STRING },
    CommandSpec { name: "getdel", arity: 2, flags: WRITE_NO_OOM_FAST, acl_categories: ACL_WRITE_FAST, summary: "Returns the string value of a key after deleting the key.", since: "6.2.0", handler: Some(getdel), ..STRING },
    CommandSpec { name: "getex", arity: -2, flags: WRITE_NO_OOM_FAST, acl_categories: ACL_WRITE_FAST, summary: "Returns the string value of a key after setting its expiration time.", since: "6.2.0", handler: Some(getex), ..STRING },
    CommandSpec { name: "mget", arity: -2, flags: READ_FAST, acl_categories: ACL_READ_FAST, last_key: -1, summary: "Atomically returns the string values of one or more keys.", complexity: "O(N) where N is the number of keys to retrieve.", handler: Some(mget), ..STRING },
    CommandSpec { name: "mset", arity: -3, flags: WRITE, acl_categories: ACL_WRITE_SLOW, last_key: -1, key_step: 2, summary: "Atomically creates or modifies the string values of one or more keys.", since: "1.0.1", complexity: "O(N) where N is the number of keys to set.", handler: Some(mset), ..STRING },
    CommandSpec { name: "msetnx", arity: -3, flags: WRITE, acl_categories: ACL_WRITE_SLOW, last_key: -1, key_step: 2, summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.", since: "1.0.1", complexity: "O(N) where N is the number of keys to set.", handler: Some(msetnx), ..STRING },
    CommandSpec { name: "incr", arity: 2, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", handler: Some(num::incr), ..STRING },
    CommandSpec { name: "decr", arity: 2, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", handler: Some(num::decr), ..STRING },
    CommandSpec { name: "incrby", arity: 3, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", handler: Some(num::incrby), ..STRING },
    CommandSpec { name: "decrby", arity: 3, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", handler: Some(num::decrby), ..STRING },
    CommandSpec { name: "incrbyfloat", arity: 3, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", since: "2.6.0", handler: Some(num::incrbyfloat), ..STRING },
    CommandSpec { name: "append", arity: 3, flags: WRITE_FAST, acl_categories: ACL_WRITE_FAST, summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.", since: "2.0.0", complexity: "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.", handler: Some(range::append), ..STRING },
    CommandSpec { name: "strlen", arity: 2, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Returns the length of a string value.", since: "2.2.0", handler: Some(strlen), ..STRING },
    CommandSpec { name: "getrange", arity: 4, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, summary: "Returns a substring of the string stored at a key.", since: "2.4.0", complexity: RANGE_COMPLEXITY, handler: Some(range::getrange), ..STRING },
    CommandSpec { name: "setrange", arity: 4, flags: WRITE, acl_categories: ACL_WRITE_SLOW, summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", since: "2.2.0", complexity: "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", handler: Some(range::setrange), ..STRING },
    CommandSpec { name: "substr", arity: 4, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, summary: "Returns a substring from a string value.", complexity: RANGE_COMPLEXITY, handler: Some(range::getrange), ..STRING },
    CommandSpec { name: "lcs", arity: -3, flags: READ_SLOW, acl_categories: ACL_READ_SLOW, last_key: 2, summary: "Finds the longest common substring.", since: "7.0.0", complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively", handler: Some(range::lcs), ..STRING },
];

/// Replies with a key's string value as GET does: nil when absent, WRONGTYPE for other types.
/// Counts a keyspace hit or miss. `keep_hot`: a hot compressed value is stored raw afterwards
/// (GET; not for a value about to be replaced or deleted).
fn reply_value(
    view: &mut DbShard<'_>,
    hash: u64,
    key: &[u8],
    out: &mut ReplyBuf,
    keep_hot: bool,
) -> CmdResult {
    if !bulk_value(view, hash, key, out, keep_hot)? {
        out.null();
    }
    Ok(())
}

/// Writes a key's string value as a bulk reply; `Ok(false)` when there is no such key and
/// WRONGTYPE for another type, nothing written then. A compressed value is decompressed straight
/// into the reply, with no copy in between but for a hot one with `keep_hot`, whose bytes are
/// then stored raw (`engine::backlog`, "hot values").
fn bulk_value(
    view: &mut DbShard<'_>,
    hash: u64,
    key: &[u8],
    out: &mut ReplyBuf,
    keep_hot: bool,
) -> Result<bool, CmdError> {
    let (eviction, now_ms, compressor, backlog) = (
        view.settings,
        view.now_ms,
        view.compressor,
        view.compression.backlog,
    );
    let mut hot_raw = None;
    let Some(entry) = view.read(hash, key) else {
        return Ok(false);
    };
    match entry.frame() {
        Some(frame) => {
            let len = entry.string_len();
            let hot = keep_hot
                && backlog::is_hot(entry, &eviction, now_ms)
                && compressor.has_hot_room(len, backlog);
            out.bulk_with(len, |dst| {
                if compress::decompress_into(frame, dst) && hot {
                    hot_raw = Some(dst.to_vec());
                }
            });
        }
        None => out.bulk(&entry.string_value().ok_or(CmdError::WrongType)?),
    }
    if let Some(raw) = hot_raw {
        view.keep_raw(hash, key, &raw);
    }
    Ok(true)
}

fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, &args[1], ctx.now_ms, |view, hash| {
            reply_value(view, hash, &args[1], out, true)
        })
}

fn strlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len =
        ctx.server.keyspace.with_key(
            ctx.client.db,
            &args[1],
            ctx.now_ms,
            |view, hash| match view.read(hash, &args[1]) {
                None => Ok(0),
                Some(entry) if entry.is_string() => Ok(entry.string_len()),
                Some(_) => Err(CmdError::WrongType),
            },
        )?;
    ctx.out.int(len as i64);
    Ok(())
}

/// How an expiry argument is read: its unit, and whether it counts from now (EX, PX) or is a
/// Unix time (EXAT, PXAT).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ExpireKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// The absolute expiry in Unix milliseconds, with Redis's `getExpireMillisecondsOrReply` rules:
/// the value must be positive, and neither the conversion to milliseconds nor adding the current
/// time may overflow a signed 64-bit integer.
pub(super) fn expire_at(
    kind: ExpireKind,
    arg: &[u8],
    now_ms: u64,
    command: &'static str,
) -> Result<u64, CmdError> {
    let value = args::int(arg)?;
    let invalid = CmdError::InvalidExpire(command);
    let seconds = matches!(kind, ExpireKind::Ex | ExpireKind::ExAt);
    if value <= 0 || (seconds && value > i64::MAX / 1000) {
        return Err(invalid);
    }
    let ms = if seconds { value * 1000 } else { value };
    let ms = match kind {
        ExpireKind::Ex | ExpireKind::Px => ms.checked_add(now_ms as i64).ok_or(invalid)?,
        ExpireKind::ExAt | ExpireKind::PxAt => ms,
    };
    Ok(ms as u64)
}

#[derive(Default)]
pub(super) struct SetOptions<'a> {
    pub(super) nx: bool,
    pub(super) xx: bool,
    pub(super) get: bool,
    pub(super) keepttl: bool,
    pub(super) persist: bool,
    pub(super) expire: Option<(ExpireKind, &'a [u8])>,
    /// Valkey's `IFEQ comparison-value`.
    pub(super) ifeq: Option<&'a [u8]>,
}

/// Options of SET (from args[3]) or GETEX (from args[2]), as Redis's
/// `parseExtendedStringArgumentsOrReply`: an option may repeat (the last expiry wins), but
/// conflicting ones (NX with XX, two expiry kinds, an expiry with KEEPTTL or PERSIST) are a
/// syntax error. Valkey 8.1's IFEQ conflicts with NX, XX and a second IFEQ.
fn parse_set_options(args: &[Bytes], is_set: bool) -> Result<SetOptions<'_>, CmdError> {
    parse_set_options_with(args, is_set, |_| None)
}

/// The SET/GETEX parser with room for a command's own options (CACHE.SET's PRIORITY, COST...):
/// `extra` sees the arguments from an option SET does not know (or rejects as a conflict) and
/// returns how many it consumed, or `None` for a syntax error.
pub(super) fn parse_set_options_with<'a>(
    args: &'a [Bytes],
    is_set: bool,
    mut extra: impl FnMut(&'a [Bytes]) -> Option<usize>,
) -> Result<SetOptions<'a>, CmdError> {
    let mut opts = SetOptions::default();
    let mut i = if is_set { 3 } else { 2 };
    while i < args.len() {
        let opt = &args[i];
        let next = args.get(i + 1);
        let expiry_kind = opts.expire.map(|(kind, _)| kind);
        let expiry_allowed = |kind: ExpireKind| {
            !opts.keepttl && !opts.persist && expiry_kind.is_none_or(|k| k == kind)
        };
        let as_expiry = |name: &str, kind: ExpireKind| {
            args::is(opt, name) && expiry_allowed(kind) && next.is_some()
        };
        if is_set && args::is(opt, "nx") && !opts.xx && opts.ifeq.is_none() {
            opts.nx = true;
        } else if is_set && args::is(opt, "xx") && !opts.nx && opts.ifeq.is_none() {
            opts.xx = true;
        } else if is_set
            && args::is(opt, "ifeq")
            && !opts.nx
            && !opts.xx
            && opts.ifeq.is_none()
            && next.is_some()
        {
            opts.ifeq = next.map(|value| &value[..]);
            i += 1;
        } else if is_set && args::is(opt, "get") {
            opts.get = true;
        } else if is_set && args::is(opt, "keepttl") && expiry_kind.is_none() {
            opts.keepttl = true;
        } else if !is_set && args::is(opt, "persist") && expiry_kind.is_none() {
            opts.persist = true;
        } else if let Some(kind) = [
            ("ex", ExpireKind::Ex),
            ("px", ExpireKind::Px),
            ("exat", ExpireKind::ExAt),
            ("pxat", ExpireKind::PxAt),
        ]
        .into_iter()
        .find(|&(name, kind)| as_expiry(name, kind))
        .map(|(_, kind)| kind)
        {
            opts.expire = next.map(|value| (kind, &value[..]));
            i += 1;
        } else if let Some(used) = extra(&args[i..]).filter(|&n| n > 0) {
            i += used - 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(opts)
}

/// A SET-like write once its options are known.
pub(super) struct SetRequest<'a> {
    pub(super) key: &'a [u8],
    pub(super) value: &'a [u8],
    pub(super) nx: bool,
    pub(super) xx: bool,
    pub(super) get: bool,
    pub(super) keepttl: bool,
    /// Set only over a string equal to this (Valkey's IFEQ).
    pub(super) ifeq: Option<&'a [u8]>,
    pub(super) expire_at: u64,
    /// CACHE.SET's metadata; `None` (every string write that replaces a value) gives the new
    /// entry the defaults, as a new value drops the old TTL.
    pub(super) meta: Option<&'a MetaRequest>,
}

/// Redis's `setGenericCommand`: returns whether the value was set. With `get`, the old value has
/// been replied already, whatever NX/XX/IFEQ decided. IFEQ (Valkey) sets nothing over a missing
/// key and answers WRONGTYPE over another type, before NX/XX would be looked at.
pub(super) fn set_generic(ctx: &mut Ctx<'_>, req: &SetRequest<'_>) -> Result<bool, CmdError> {
    // Stored raw for the background compressor while its backlog has room (the shard decides,
    // `engine::backlog`); else compressed before the shard lock, so its other clients do not
    // wait for zstd. A write that NX/XX/IFEQ then refuses wasted the attempt: those guard small
    // values (locks, flags) more often than documents, and values under
    // `compression-min-size` are not tried at all. An explicit COMPRESS is done by the write.
    let keyspace = &ctx.server.keyspace;
    let compression = match req.meta.and_then(|m| m.compress) {
        Some(level) => Settings::explicit(level),
        None => keyspace.compression(),
    };
    let mut prepared = if compress::eligible(req.value, compression)
        && keyspace
            .compressor
            .has_room(req.value.len(), compression.backlog)
    {
        Entry::prepare_raw(req.key, req.value)
    } else {
        // The dictionary too: sampled and chosen here, out of the lock as well.
        let dictionary = keyspace
            .dictionaries
            .for_write(req.key, Some(req.value), compression);
        Entry::prepare_string(req.key, req.value, compression, dictionary.as_deref())
    };
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, req.key, ctx.now_ms, |view, hash| {
            if req.get {
                reply_value(view, hash, req.key, out, false)?;
            }
            if let Some(expected) = req.ifeq {
                let Some(entry) = view.peek(hash, req.key) else {
                    return Ok(false);
                };
                let current = entry.string_value().ok_or(CmdError::WrongType)?;
                if *current != *expected {
                    return Ok(false);
                }
            }
            // A plain SET needs nothing from the old entry: skip the extra lookup on the hot path.
            let keep_meta = req.meta.is_some_and(|m| m.keep);
            let needs_old = req.nx || req.xx || req.keepttl || keep_meta;
            let old = if needs_old {
                view.peek(hash, req.key)
                    .map(|entry| (entry.expire_at(), keep_meta.then(|| entry.meta())))
            } else {
                None
            };
            let found = old.is_some();
            if (req.nx && found) || (req.xx && !found) {
                return Ok(false);
            }
            let (old_expire, old_meta) = old.unwrap_or((0, None));
            let entry = prepared.entry_mut();
            entry.set_expire_at(if req.keepttl {
                old_expire
            } else {
                req.expire_at
            });
            if let Some(meta) = req.meta {
                entry.set_meta(meta.resolve(old_meta));
            }
            view.insert_prepared(hash, prepared);
            view.notify(req.key, class::STRING, "set");
            if req.expire_at != 0 && !req.keepttl {
                view.notify(req.key, class::GENERIC, "expire");
            }
            Ok(true)
        })
}

fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let opts = parse_set_options(args, true)?;
    let expire_at = match opts.expire {
        Some((kind, arg)) => expire_at(kind, arg, ctx.now_ms, "set")?,
        None => 0,
    };
    let req = SetRequest {
        key: &args[1],
        value: &args[2],
        nx: opts.nx,
        xx: opts.xx,
        get: opts.get,
        keepttl: opts.keepttl,
        ifeq: opts.ifeq,
        expire_at,
        meta: None,
    };
    let done = set_generic(ctx, &req)?;
    match (opts.get, done) {
        (true, _) => {}
        (false, true) => ctx.out.ok(),
        (false, false) => ctx.out.null(),
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let req = SetRequest {
        key: &args[1],
        value: &args[2],
        nx: true,
        xx: false,
        get: false,
        keepttl: false,
        ifeq: None,
        expire_at: 0,
        meta: None,
    };
    let done = set_generic(ctx, &req)?;
    ctx.out.int(done as i64);
    Ok(())
}

fn setex_generic(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    kind: ExpireKind,
    command: &'static str,
) -> CmdResult {
    let expire_at = expire_at(kind, &args[2], ctx.now_ms, command)?;
    let req = SetRequest {
        key: &args[1],
        value: &args[3],
        nx: false,
        xx: false,
        get: false,
        keepttl: false,
        ifeq: None,
        expire_at,
        meta: None,
    };
    set_generic(ctx, &req)?;
    ctx.out.ok();
    Ok(())
}

fn setex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    setex_generic(ctx, args, ExpireKind::Ex, "setex")
}

fn psetex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    setex_generic(ctx, args, ExpireKind::Px, "psetex")
}

/// Sets a new value and clears the TTL, replying with the old value.
fn getset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let req = SetRequest {
        key: &args[1],
        value: &args[2],
        nx: false,
        xx: false,
        get: true,
        keepttl: false,
        ifeq: None,
        expire_at: 0,
        meta: None,
    };
    set_generic(ctx, &req).map(|_| ())
}

/// Valkey's DELIFEQ: deletes the key when it holds a string equal to the value (1), else 0; a key
/// of another type is WRONGTYPE.
fn delifeq(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, expected) = (&args[1][..], &args[2][..]);
    let deleted = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let Some(entry) = view.peek(hash, key) else {
                return Ok(false);
            };
            if *entry.string_value().ok_or(CmdError::WrongType)? != *expected {
                return Ok(false);
            }
            view.remove(hash, key);
            view.notify(key, class::GENERIC, "del");
            Ok::<_, CmdError>(true)
        })?;
    ctx.out.int(deleted as i64);
    Ok(())
}

fn getdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let out = &mut *ctx.out;
    let key = &args[1][..];
    let (coherence, db) = (&ctx.server.coherence, ctx.client.db);
    ctx.server
        .keyspace
        .with_key(db, key, ctx.now_ms, |view, hash| {
            reply_value(view, hash, key, out, false)?;
            if view.remove(hash, key).is_some() {
                view.notify(key, class::GENERIC, "del");
            } else {
                coherence.absent_key_deleted(db, key);
            }
            Ok(())
        })
}

/// GETEX: options are checked for syntax first; a missing key then answers nil before the expiry
/// value is even parsed, as in Redis.
fn getex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let opts = parse_set_options(args, false)?;
    let (out, now_ms) = (&mut *ctx.out, ctx.now_ms);
    let key = &args[1][..];
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, now_ms, |view, hash| {
            let Some(entry) = view.read(hash, key) else {
                out.null();
                return Ok(());
            };
            let value = entry.string_value().ok_or(CmdError::WrongType)?;
            let new_expire = match opts.expire {
                Some((kind, arg)) => Some((kind, expire_at(kind, arg, now_ms, "getex")?)),
                None => None,
            };
            out.bulk(&value);
            match new_expire {
                Some((ExpireKind::ExAt | ExpireKind::PxAt, at)) if at <= now_ms => {
                    view.remove(hash, key);
                    view.notify(key, class::GENERIC, "del");
                }
                Some((_, at)) => {
                    view.modify(hash, key, |entry| entry.set_expire_at(at));
                    view.notify(key, class::GENERIC, "expire");
                }
                None if opts.persist => {
                    let had_ttl = view.modify(hash, key, |entry| {
                        let had = entry.has_expiry();
                        entry.set_expire_at(0);
                        had
                    });
                    if had_ttl == Some(true) {
                        view.notify(key, class::GENERIC, "persist");
                    }
                }
                None => {}
            }
            Ok(())
        })
}

/// MGET answers nil for a key of another type rather than WRONGTYPE. All keys are read under
/// their shards' locks at once, so the reply is one point in time.
fn mget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys = &args[1..];
    let (db, now_ms) = (ctx.client.db, ctx.now_ms);
    let out = &mut *ctx.out;
    let mut locked = ctx.server.keyspace.lock_keys(keys.iter());
    out.array(keys.len());
    for key in keys {
        // Written from the entry, not through a copy: past the client's output limit an element
        // costs nothing but its lookup.
        let written = locked
            .view(db, key, now_ms)
            .is_some_and(|(mut view, hash)| {
                bulk_value(&mut view, hash, key, out, true).unwrap_or(false)
            });
        if !written {
            out.null();
        }
    }
    Ok(())
}

/// MSET and MSETNX: every key's shard is locked before the first write, so no client sees some
/// of the keys set and not others. Returns whether the keys were set.
fn mset_generic(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    only_if_none_exist: bool,
) -> Result<bool, CmdError> {
    let name = if only_if_none_exist { "msetnx" } else { "mset" };
    if args.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity(name.into()));
    }
    let pairs = &args[1..];
    let (db, now_ms) = (ctx.client.db, ctx.now_ms);
    let mut locked = ctx.server.keyspace.lock_keys(pairs.iter().step_by(2));
    if only_if_none_exist {
        let any_exists = pairs.iter().step_by(2).any(|key| {
            locked
                .view(db, key, now_ms)
                .is_some_and(|(mut view, hash)| view.contains(hash, key))
        });
        if any_exists {
            return Ok(false);
        }
    }
    for pair in pairs.chunks_exact(2) {
        let (key, value) = (&pair[0], &pair[1]);
        if let Some((mut view, hash)) = locked.view(db, key, now_ms) {
            view.insert(hash, Entry::new_string(key, value, 0));
            view.notify(key, class::STRING, "set");
        }
    }
    Ok(true)
}

fn mset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    mset_generic(ctx, args, false)?;
    ctx.out.ok();
    Ok(())
}

fn msetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let done = mset_generic(ctx, args, true)?;
    ctx.out.int(done as i64);
    Ok(())
}

/// In-place edit of a string value (INCR*, APPEND, SETRANGE): `None` when the key is absent,
/// WRONGTYPE when it holds something else, else what `edit` returns.
pub(super) fn modify_string<R>(
    view: &mut DbShard<'_>,
    hash: u64,
    key: &[u8],
    edit: impl FnOnce(&mut Entry) -> Result<R, CmdError>,
) -> Option<Result<R, CmdError>> {
    view.modify(hash, key, |entry| {
        if !entry.is_string() {
            return Err(CmdError::WrongType);
        }
        edit(entry)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<Bytes> {
        items
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn set_option_conflicts_are_syntax_errors() {
        for bad in [
            &["set", "k", "v", "nx", "xx"][..],
            &["set", "k", "v", "ex", "1", "px", "1"],
            &["set", "k", "v", "ex", "1", "keepttl"],
            &["set", "k", "v", "keepttl", "ex", "1"],
            &["set", "k", "v", "ex"],
            &["set", "k", "v", "persist"],
            &["set", "k", "v", "foo"],
        ] {
            assert!(
                matches!(parse_set_options(&argv(bad), true), Err(CmdError::Syntax)),
                "{bad:?}"
            );
        }
        for bad in [
            &["getex", "k", "persist", "ex", "1"][..],
            &["getex", "k", "nx"],
            &["getex", "k", "keepttl"],
            &["getex", "k", "get"],
        ] {
            assert!(
                matches!(parse_set_options(&argv(bad), false), Err(CmdError::Syntax)),
                "{bad:?}"
            );
        }
        let args = argv(&["set", "k", "v", "EX", "1", "ex", "2", "nx", "NX", "get"]);
        let opts = parse_set_options(&args, true).unwrap();
        assert!(opts.nx && opts.get && !opts.xx);
        assert!(matches!(opts.expire, Some((ExpireKind::Ex, b"2"))));
    }

    #[test]
    fn expire_times_follow_redis_overflow_rules() {
        let now = 1_000_000;
        assert_eq!(
            expire_at(ExpireKind::Ex, b"10", now, "set"),
            Ok(now + 10_000)
        );
        assert_eq!(expire_at(ExpireKind::PxAt, b"1", now, "set"), Ok(1));
        assert_eq!(
            expire_at(ExpireKind::Ex, b"0", now, "set"),
            Err(CmdError::InvalidExpire("set"))
        );
        assert_eq!(
            expire_at(ExpireKind::Px, b"-1", now, "set"),
            Err(CmdError::InvalidExpire("set"))
        );
        assert_eq!(
            expire_at(ExpireKind::Ex, b"9223372036854776", now, "set"),
            Err(CmdError::InvalidExpire("set"))
        );
        assert_eq!(
            expire_at(ExpireKind::Px, b"9223372036854775807", now, "set"),
            Err(CmdError::InvalidExpire("set"))
        );
        assert_eq!(
            expire_at(ExpireKind::PxAt, b"9223372036854775807", now, "set"),
            Ok(i64::MAX as u64)
        );
        assert_eq!(
            expire_at(ExpireKind::Ex, b"1.5", now, "set"),
            Err(CmdError::NotInteger)
        );
    }
}
