//! OBJECT (ENCODING, FREQ, IDLETIME, REFCOUNT, HELP) and MEMORY (USAGE, HELP; DOCTOR, STATS,
//! MALLOC-STATS and PURGE are `server::memory`'s): what a key costs and how it is held.

use crate::commands::reply_help;
use bytes::Bytes;

use super::inspect_quietly;
use crate::commands::server::memory;
use crate::commands::{args, CommandSpec, Ctx, SPEC};
use crate::engine::memory::table_size;
use crate::engine::policy::lfu_decayed;
use crate::engine::{idle_seconds, Entry, Policy, Value};
use crate::error::{CmdError, CmdResult};

/// Integers below this are shared objects in Redis (`OBJ_SHARED_INTEGERS`), whose reference count
/// reads as `OBJ_SHARED_REFCOUNT`.
const SHARED_INTEGERS: i64 = 10_000;
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

#[rustfmt::skip]
pub static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "encoding", arity: 3, flags: flags!(READONLY), acl_categories: acl!(KEYSPACE, READ, SLOW), first_key: 2, last_key: 2, key_step: 1, summary: "Returns the internal encoding of a Redis object.", since: "2.2.3", handler: Some(object_encoding), ..SPEC },
    CommandSpec { name: "freq", arity: 3, flags: flags!(READONLY), acl_categories: acl!(KEYSPACE, READ, SLOW), first_key: 2, last_key: 2, key_step: 1, summary: "Returns the logarithmic access frequency counter of a Redis object.", since: "4.0.0", handler: Some(object_freq), ..SPEC },
    CommandSpec { name: "idletime", arity: 3, flags: flags!(READONLY), acl_categories: acl!(KEYSPACE, READ, SLOW), first_key: 2, last_key: 2, key_step: 1, summary: "Returns the time since the last access to a Redis object.", since: "2.2.3", handler: Some(object_idletime), ..SPEC },
    CommandSpec { name: "refcount", arity: 3, flags: flags!(READONLY), acl_categories: acl!(KEYSPACE, READ, SLOW), first_key: 2, last_key: 2, key_step: 1, summary: "Returns the reference count of a value of a key.", since: "2.2.3", handler: Some(object_refcount), ..SPEC },
    CommandSpec { name: "help", arity: 2, flags: flags!(LOADING, STALE), acl_categories: acl!(KEYSPACE, SLOW), summary: "Returns helpful text about the different subcommands.", since: "6.2.0", handler: Some(object_help), ..SPEC },
];

#[rustfmt::skip]
pub static MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "usage", arity: -3, flags: flags!(READONLY), acl_categories: acl!(READ, SLOW), first_key: 2, last_key: 2, key_step: 1, group: "server", summary: "Estimates the memory usage of a key.", since: "4.0.0", complexity: "O(N) where N is the number of samples.", handler: Some(memory_usage), ..SPEC },
    CommandSpec { name: "doctor", arity: 2, acl_categories: acl!(SLOW), group: "server", summary: "Outputs a memory problems report.", since: "4.0.0", handler: Some(memory::memory_doctor), ..SPEC },
    CommandSpec { name: "stats", arity: 2, acl_categories: acl!(SLOW), group: "server", summary: "Returns details about memory usage.", since: "4.0.0", handler: Some(memory::memory_stats), ..SPEC },
    CommandSpec { name: "malloc-stats", arity: 2, acl_categories: acl!(SLOW), group: "server", summary: "Returns the allocator statistics.", since: "4.0.0", complexity: "Depends on how much memory is allocated, could be slow", handler: Some(memory::memory_malloc_stats), ..SPEC },
    CommandSpec { name: "purge", arity: 2, acl_categories: acl!(SLOW), group: "server", summary: "Asks the allocator to release memory.", since: "4.0.0", complexity: "Depends on how much memory is allocated, could be slow", handler: Some(memory::memory_purge), ..SPEC },
    CommandSpec { name: "help", arity: 2, flags: flags!(LOADING, STALE), acl_categories: acl!(SLOW), group: "server", summary: "Returns helpful text about the different subcommands.", since: "4.0.0", handler: Some(memory_help), ..SPEC },
];

const OBJECT_HELP: &[&str] = &[
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];

const MEMORY_HELP: &[&str] = &[
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
];

fn object_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(ctx.out, "OBJECT", OBJECT_HELP);
    Ok(())
}

fn memory_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(ctx.out, "MEMORY", MEMORY_HELP);
    Ok(())
}

/// Looks the key up as OBJECT does (no access-time update, hit/miss counted, no `keymiss`) and
/// applies `f`.
fn object_lookup<R>(ctx: &mut Ctx<'_>, key: &[u8], f: impl FnOnce(&Entry) -> R) -> Option<R> {
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            inspect_quietly(view, hash, key, f)
        })
}

fn object_encoding(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match object_lookup(ctx, &args[2], Entry::encoding) {
        Some(encoding) => ctx.out.bulk(encoding.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

/// The decayed LFU counter, under the policies that keep one (the LFU ones and allkeys-cachet).
fn object_freq(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    let settings = ctx.server.keyspace.eviction_settings();
    match object_lookup(ctx, &args[2], |e| lfu_decayed(e, &settings, now)) {
        Some(_) if !settings.policy.uses_lfu() => Err(CmdError::FrequencyNotTracked),
        Some(counter) => {
            ctx.out.int(counter as i64);
            Ok(())
        }
        None => {
            ctx.out.null();
            Ok(())
        }
    }
}

/// Seconds since the last access; Redis refuses it under its LFU policies, whose counter takes the
/// place of the access time (cachet keeps both, so allkeys-cachet answers).
fn object_idletime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    let policy = ctx.server.keyspace.eviction_settings().policy;
    match object_lookup(ctx, &args[2], |e| idle_seconds(e.lru(), now)) {
        Some(_) if matches!(policy, Policy::AllKeysLfu | Policy::VolatileLfu) => {
            return Err(CmdError::IdleTimeNotTracked)
        }
        Some(idle) => ctx.out.int(idle as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

fn object_refcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let refcount = |e: &Entry| match e.value() {
        Value::Int(n) if (0..SHARED_INTEGERS).contains(&n) => SHARED_REFCOUNT,
        _ => 1,
    };
    match object_lookup(ctx, &args[2], refcount) {
        Some(count) => ctx.out.int(count),
        None => ctx.out.null(),
    }
    Ok(())
}

/// The entry's own allocations plus its share of the table's slots (slots divided among the keys
/// of that table, so the load factor's slack is charged too). Nested values are not sampled: every
/// value we hold is measured exactly, so SAMPLES is accepted and checked but changes nothing.
fn memory_usage(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[2];
    let mut i = 3;
    while i < args.len() {
        if args::is(&args[i], "samples") && i + 1 < args.len() {
            if args::int(&args[i + 1])? < 0 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let usage = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let keys = view.len().max(1);
            let slots = table_size(view.table.map.num_buckets(), std::mem::size_of::<Entry>());
            view.peek(hash, key)
                .map(|entry| entry.memory() + slots.div_ceil(keys))
        });
    match usage {
        Some(bytes) => ctx.out.int(bytes as i64),
        None => ctx.out.null(),
    }
    Ok(())
}
