//! Generic key commands (Redis's `db.c`, `expire.c`, `object.c` key-level parts): deleting,
//! testing, renaming, copying and moving keys, plus DBSIZE and RANDOMKEY here; expiry in
//! `keys/expire.rs`, KEYS and SCAN in `keys/scan.rs`, OBJECT and MEMORY in `keys/introspect.rs`.
//!
//! Single-key and per-key commands (DEL, EXISTS, TOUCH...) lock one shard at a time: Redis does not
//! promise that `DEL a b` is atomic with respect to other clients beyond each key. RENAME and COPY
//! lock both keys' shards together so no client sees the key in both places or in neither.

mod dump;
mod expire;
mod introspect;
mod migrate;
pub(crate) mod scan;

use crate::engine::notice::class;
/// HSCAN, SSCAN and ZSCAN read their cursor as SCAN does.
pub(crate) use scan::{parse_cursor, parse_scan_options, ScanOf, ScanOptions};

use bytes::Bytes;

use super::{args, CommandSpec, Ctx, SPEC};
use crate::engine::{DbShard, Entry};
use crate::error::{CmdError, CmdResult};

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "dump", arity: 2, flags: flags!(READONLY), acl_categories: acl!(KEYSPACE, READ, SLOW), first_key: 1, last_key: 1, key_step: 1, summary: "Returns a serialized representation of the value stored at a key.", since: "2.6.0", complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size.", handler: Some(dump::dump_cmd), ..SPEC },
    CommandSpec { name: "restore", arity: -4, flags: flags!(WRITE, DENYOOM), acl_categories: acl!(KEYSPACE, WRITE, SLOW, DANGEROUS), first_key: 1, last_key: 1, key_step: 1, summary: "Creates a key from the serialized representation of a value.", since: "2.6.0", complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value.", handler: Some(dump::restore), ..SPEC },
    // What MIGRATE sends in cluster mode: RESTORE, run on a slot being imported without ASKING.
    CommandSpec { name: "restore-asking", arity: -4, flags: flags!(WRITE, DENYOOM, ASKING), acl_categories: acl!(KEYSPACE, WRITE, SLOW, DANGEROUS), first_key: 1, last_key: 1, key_step: 1, summary: "An internal command for migrating keys in a cluster", since: "3.0.0", complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value.", handler: Some(dump::restore), ..SPEC },
    CommandSpec { name: "migrate", arity: -6, flags: flags!(WRITE, MOVABLEKEYS), acl_categories: acl!(KEYSPACE, WRITE, SLOW, DANGEROUS), first_key: 3, last_key: 3, key_step: 1, movable_keys: Some(migrate::migrate_keys), summary: "Atomically transfers a key from one Redis instance to another.", since: "2.6.0", complexity: "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.", handler: Some(migrate::migrate), ..SPEC },
    CommandSpec { name: "del", arity: -2, flags: flags!(WRITE), acl_categories: acl!(KEYSPACE, WRITE, SLOW), first_key: 1, last_key: -1, key_step: 1, summary: "Deletes one or more keys.", complexity: "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", handler: Some(del), ..SPEC },
    CommandSpec { name: "unlink", arity: -2, flags: flags!(WRITE, FAST), acl_categories: acl!(KEYSPACE, WRITE, FAST), first_key: 1, last_key: -1, key_step: 1, summary: "Asynchronously deletes one or more keys.", since: "4.0.0", complexity: "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", handler: Some(del), ..SPEC },
    CommandSpec { name: "exists", arity: -2, flags: flags!(READONLY, FAST), acl_categories: acl!(KEYSPACE, READ, FAST), first_key: 1, last_key: -1, key_step: 1, summary: "Determines whether one or more keys exist.", complexity: "O(N) where N is the number of keys to check.", handler: Some(exists), ..SPEC },
    CommandSpec { name: "type", arity: 2, flags: flags!(READONLY, FAST), acl_categories: acl!(KEYSPACE, READ, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Determines the type of value stored at a key.", handler: Some(type_cmd), ..SPEC },
    CommandSpec { name: "expire", arity: -3, flags: flags!(WRITE, FAST), acl_categories: acl!(KEYSPACE, WRITE, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Sets the expiration time of a key in seconds.", handler: Some(expire::expire), ..SPEC },
    CommandSpec { name: "pexpire", arity: -3, flags: flags!(WRITE, FAST), acl_categories: acl!(KEYSPACE, WRITE, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Sets the expiration time of a key in milliseconds.", since: "2.6.0", handler: Some(expire::pexpire), ..SPEC },
    CommandSpec { name: "expireat", arity: -3, flags: flags!(WRITE, FAST), acl_categories: acl!(KEYSPACE, WRITE, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Sets the expiration time of a key to a Unix timestamp.", since: "1.2.0", handler: Some(expire::expireat), ..SPEC },
    CommandSpec { name: "pexpireat", arity: -3, flags: flags!(WRITE, FAST), acl_categories: acl!(KEYSPACE, WRITE, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.", since: "2.6.0", handler: Some(expire::pexpireat), ..SPEC },
    CommandSpec { name: "ttl", arity: 2, flags: flags!(READONLY, FAST), acl_categories: acl!(KEYSPACE, READ, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Returns the expiration time in seconds of a key.", handler: Some(expire::ttl), ..SPEC },
    CommandSpec { name: "pttl", arity: 2, flags: flags!(READONLY, FAST), acl_categories: acl!(KEYSPACE, READ, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Returns the expiration time in milliseconds of a key.", since: "2.6.0", handler: Some(expire::pttl), ..SPEC },
    CommandSpec { name: "expiretime", arity: 2, flags: flags!(READONLY, FAST), acl_categories: acl!(KEYSPACE, READ, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Returns the expiration time of a key as a Unix timestamp.", since: "7.0.0", handler: Some(expire::expiretime), ..SPEC },
    CommandSpec { name: "pexpiretime", arity: 2, flags: flags!(READONLY, FAST), acl_categories: acl!(KEYSPACE, READ, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.", since: "7.0.0", handler: Some(expire::pexpiretime), ..SPEC },
    CommandSpec { name: "persist", arity: 2, flags: flags!(WRITE, FAST), acl_categories: acl!(KEYSPACE, WRITE, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Removes the expiration time of a key.", since: "2.2.0", handler: Some(expire::persist), ..SPEC },
    CommandSpec { name: "touch", arity: -2, flags: flags!(READONLY, FAST), acl_categories: acl!(KEYSPACE, READ, FAST), first_key: 1, last_key: -1, key_step: 1, summary: "Returns the number of existing keys out of those specified after updating the time they were last accessed.", since: "3.2.1", complexity: "O(N) where N is the number of keys that will be touched.", handler: Some(touch), ..SPEC },
    CommandSpec { name: "rename", arity: 3, flags: flags!(WRITE), acl_categories: acl!(KEYSPACE, WRITE, SLOW), first_key: 1, last_key: 2, key_step: 1, summary: "Renames a key and overwrites the destination.", handler: Some(rename), ..SPEC },
    CommandSpec { name: "renamenx", arity: 3, flags: flags!(WRITE, FAST), acl_categories: acl!(KEYSPACE, WRITE, FAST), first_key: 1, last_key: 2, key_step: 1, summary: "Renames a key only when the target key name doesn't exist.", handler: Some(renamenx), ..SPEC },
    CommandSpec { name: "copy", arity: -3, flags: flags!(WRITE, DENYOOM), acl_categories: acl!(KEYSPACE, WRITE, SLOW), first_key: 1, last_key: 2, key_step: 1, summary: "Copies the value of a key to a new key.", since: "6.2.0", complexity: "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", handler: Some(copy), ..SPEC },
    CommandSpec { name: "move", arity: 3, flags: flags!(WRITE, FAST), acl_categories: acl!(KEYSPACE, WRITE, FAST), first_key: 1, last_key: 1, key_step: 1, summary: "Moves a key to another database.", handler: Some(move_cmd), ..SPEC },
    CommandSpec { name: "keys", arity: 2, flags: flags!(READONLY), acl_categories: acl!(KEYSPACE, READ, SLOW, DANGEROUS), summary: "Returns all key names that match a pattern.", complexity: "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", handler: Some(scan::keys), ..SPEC },
    CommandSpec { name: "scan", arity: -2, flags: flags!(READONLY), acl_categories: acl!(KEYSPACE, READ, SLOW), summary: "Iterates over the key names in the database.", since: "2.8.0", complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", handler: Some(scan::scan), ..SPEC },
    CommandSpec { name: "randomkey", arity: 1, flags: flags!(READONLY), acl_categories: acl!(KEYSPACE, READ, SLOW), summary: "Returns a random key name from the database.", handler: Some(randomkey), ..SPEC },
    CommandSpec { name: "dbsize", arity: 1, flags: flags!(READONLY, FAST), acl_categories: acl!(KEYSPACE, READ, FAST), group: "server", summary: "Returns the number of keys in the database.", handler: Some(dbsize), ..SPEC },
    CommandSpec { name: "object", arity: -2, acl_categories: acl!(SLOW), summary: "A container for object introspection commands.", since: "2.2.3", complexity: "Depends on subcommand.", subcommands: introspect::OBJECT_SUBCOMMANDS, ..SPEC },
    CommandSpec { name: "memory", arity: -2, acl_categories: acl!(SLOW), group: "server", summary: "A container for memory diagnostics commands.", since: "4.0.0", complexity: "Depends on subcommand.", subcommands: introspect::MEMORY_SUBCOMMANDS, ..SPEC },
];

/// Runs `f` on the key's entry the way Redis's `lookupKeyReadWithFlags(.., LOOKUP_NOTOUCH)` does:
/// a hit or a miss is counted and a miss announced (`keymiss`), the access time is left alone
/// (TYPE, EXISTS, TTL).
fn inspect<R>(
    view: &mut DbShard<'_>,
    hash: u64,
    key: &[u8],
    f: impl FnOnce(&Entry) -> R,
) -> Option<R> {
    let result = inspect_quietly(view, hash, key, f);
    if result.is_none() {
        view.notices.key_miss(view.db, key);
    }
    result
}

/// `inspect` without the `keymiss` notice, as OBJECT looks keys up (`LOOKUP_NONOTIFY`).
fn inspect_quietly<R>(
    view: &mut DbShard<'_>,
    hash: u64,
    key: &[u8],
    f: impl FnOnce(&Entry) -> R,
) -> Option<R> {
    let result = view.peek(hash, key).map(f);
    match result {
        Some(_) => view.stats.hits += 1,
        None => view.stats.misses += 1,
    }
    result
}

/// A database number argument as MOVE and COPY read it: an `int`, then a range check.
pub(crate) fn parse_db(ctx: &Ctx<'_>, arg: &[u8]) -> Result<usize, CmdError> {
    let db = args::c_int(arg)?;
    if db < 0 || db as usize >= ctx.server.keyspace.databases() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(db as usize)
}

/// Replies how many of the keys in `args[1..]` `test` holds for, each key under its own shard lock
/// (DEL, EXISTS and TOUCH need no atomicity across keys; EXISTS counts a key given twice twice).
fn count_keys(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    test: impl Fn(&mut DbShard<'_>, u64, &[u8]) -> bool,
) -> CmdResult {
    let db = ctx.client.db;
    let keyspace = &ctx.server.keyspace;
    let count = args[1..]
        .iter()
        .filter(|key| keyspace.with_key(db, key, ctx.now_ms, |view, hash| test(view, hash, key)))
        .count();
    ctx.out.int(count as i64);
    Ok(())
}

fn del(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (coherence, db) = (ctx.server.coherence.clone(), ctx.client.db);
    count_keys(ctx, args, |view, hash, key| {
        let removed = view.remove(hash, key).is_some();
        if removed {
            view.notify(key, class::GENERIC, "del");
        } else {
            coherence.absent_key_deleted(db, key);
        }
        removed
    })
}

fn exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    count_keys(ctx, args, |view, hash, key| {
        inspect(view, hash, key, |_| ()).is_some()
    })
}

fn touch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    count_keys(ctx, args, |view, hash, key| view.read(hash, key).is_some())
}

fn type_cmd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let name = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            inspect(view, hash, key, Entry::type_name)
        });
    ctx.out.simple(name.unwrap_or("none"));
    Ok(())
}

fn rename(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // Without NX the rename never declines, so the answer is OK or an error.
    rename_generic(ctx, &args[1], &args[2], false)?;
    ctx.out.ok();
    Ok(())
}

fn renamenx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let renamed = rename_generic(ctx, &args[1], &args[2], true)?;
    ctx.out.int(renamed as i64);
    Ok(())
}

/// Moves `src` to `dst` in the client's database, keeping value and expiry. With `nx`, declines
/// (false) when `dst` exists. A key renamed onto itself is left alone, but must exist.
fn rename_generic(ctx: &mut Ctx<'_>, src: &[u8], dst: &[u8], nx: bool) -> Result<bool, CmdError> {
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let mut locked = ctx.server.keyspace.lock_keys([src, dst]);
    let Some((mut view, hash)) = locked.view(db, src, now) else {
        return Err(CmdError::NoSuchKey);
    };
    if !view.contains(hash, src) {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        return Ok(!nx);
    }
    if nx {
        let Some((mut view, hash)) = locked.view(db, dst, now) else {
            return Ok(false);
        };
        if view.contains(hash, dst) {
            return Ok(false);
        }
    }
    let Some((mut view, hash)) = locked.view(db, src, now) else {
        return Err(CmdError::NoSuchKey);
    };
    let Some(entry) = view.remove(hash, src) else {
        return Err(CmdError::NoSuchKey);
    };
    let moved = entry.into_renamed(dst);
    if let Some((mut view, hash)) = locked.view(db, dst, now) {
        view.insert(hash, moved);
    }
    // Both after the destination is in place (its `new` comes first), as Redis announces them.
    let notices = &ctx.server.keyspace.notices;
    notices.key(db, src, class::GENERIC, "rename_from");
    notices.key(db, dst, class::GENERIC, "rename_to");
    Ok(true)
}

fn copy(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let src_db = ctx.client.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if args::is(&args[i], "replace") {
            replace = true;
        } else if args::is(&args[i], "db") && i + 1 < args.len() {
            dst_db = parse_db(ctx, &args[i + 1])?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    // Cluster mode has one database; the slot index (`state::cluster::SlotKeys`) follows db 0.
    if ctx.server.cluster.enabled() && (src_db != 0 || dst_db != 0) {
        return Err(CmdError::Cluster(
            crate::error::ClusterError::CopyDbNotAllowed,
        ));
    }
    if src_db == dst_db && src == dst {
        return Err(CmdError::SameObject);
    }
    let now = ctx.now_ms;
    let mut locked = ctx.server.keyspace.lock_keys([src, dst]);
    let copied = match locked.view(src_db, src, now) {
        Some((mut view, hash)) => view.read(hash, src).map(|entry| entry.clone_with_key(dst)),
        None => None,
    };
    let Some(copied) = copied else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some((mut view, hash)) = locked.view(dst_db, dst, now) else {
        ctx.out.int(0);
        return Ok(());
    };
    if !replace && view.contains(hash, dst) {
        ctx.out.int(0);
        return Ok(());
    }
    view.insert(hash, copied);
    view.notify(dst, class::GENERIC, "copy_to");
    ctx.out.int(1);
    Ok(())
}

fn move_cmd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.server.cluster.enabled() {
        return Err(CmdError::Cluster(
            crate::error::ClusterError::MoveNotAllowed,
        ));
    }
    let key = &args[1];
    let src_db = ctx.client.db;
    let dst_db = parse_db(ctx, &args[2])?;
    if src_db == dst_db {
        return Err(CmdError::SameObject);
    }
    let keyspace = &ctx.server.keyspace;
    let hash = crate::engine::hash_key(key);
    // Both databases' tables for this key live in the same shard, so one lock covers the move.
    let mut shard = keyspace.lock_shard(keyspace.shard_of_hash(hash));
    let now = ctx.now_ms;
    let moved = !keyspace.view(&mut shard, dst_db, now).contains(hash, key)
        && match keyspace.view(&mut shard, src_db, now).remove(hash, key) {
            Some(entry) => {
                keyspace.view(&mut shard, dst_db, now).insert(hash, entry);
                keyspace
                    .notices
                    .key(src_db, key, class::GENERIC, "move_from");
                keyspace.notices.key(dst_db, key, class::GENERIC, "move_to");
                true
            }
            None => false,
        };
    drop(shard);
    ctx.out.int(moved as i64);
    Ok(())
}

fn randomkey(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let keyspace = &ctx.server.keyspace;
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let mut sizes = Vec::with_capacity(keyspace.shard_count());
    keyspace.for_each_shard(|_, shard| sizes.push(shard.dbs[db].map.len()));
    let total: usize = sizes.iter().sum();
    if total == 0 {
        ctx.out.null();
        return Ok(());
    }
    // Choosing the shard in proportion to its size keeps every key equally likely, as far as
    // `random_entry` is uniform within a shard.
    let mut pick = fastrand::usize(..total);
    let mut first = 0;
    for (index, size) in sizes.iter().enumerate() {
        if pick < *size {
            first = index;
            break;
        }
        pick -= size;
    }
    // The sizes may be stale by the time the shard is locked, and a shard may hold only expired
    // keys: fall through to the following shards until one yields a live key.
    for offset in 0..sizes.len() {
        let index = (first + offset) % sizes.len();
        let mut shard = keyspace.lock_shard(index);
        if let Some(entry) = keyspace.view(&mut shard, db, now).random_entry() {
            ctx.out.bulk(entry.key());
            return Ok(());
        }
    }
    ctx.out.null();
    Ok(())
}

fn dbsize(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let size = ctx.server.keyspace.dbsize(ctx.client.db);
    ctx.out.int(size as i64);
    Ok(())
}
