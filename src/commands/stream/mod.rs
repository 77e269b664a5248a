//! Stream commands (Redis's `t_stream.c`): the family's table, XADD, XLEN, XRANGE, XREVRANGE,
//! XDEL, XTRIM and XSETID; XREAD is `read.rs`; XGROUP, XACK, XREADGROUP and XPENDING are `group.rs`; XINFO is `info.rs`; XCLAIM and XAUTOCLAIM are `claim.rs`. Arguments are read in `parse.rs`; the value, its nodes and its groups
//! are `engine/types/stream/`.
//!
//! As in Redis, options are checked before the key is looked up (XTRIM, XSETID, XRANGE), except
//! where Redis looks the key up first (XDEL answers 0 for a missing key whatever its IDs). A
//! stream is never deleted by emptying it: its last ID and groups outlive its entries. Events:
//! `xadd`, `xtrim` (XADD's trimming and XTRIM, only when entries went), `xdel`, `xsetid`.

mod claim;
mod group;
mod info;
mod parse;
mod read;

use bytes::Bytes;

use super::{CommandSpec, Ctx, SPEC};
use crate::commands::{AclCategories, CommandFlags};
use crate::engine::notice::class;
use crate::engine::types::stream::{
    AppendError, Elem, EntryRef, NewId, NodeLimits, StreamId, StreamValue,
};
use crate::engine::types::Collection;
use crate::engine::Entry;
use crate::error::{c_string, CmdError, CmdResult, StreamError};
use crate::protocol::ReplyBuf;
use parse::stream_err;

const ACL_READ_FAST: AclCategories = acl!(READ, STREAM, FAST);
const ACL_READ_SLOW: AclCategories = acl!(READ, STREAM, SLOW);
const ACL_WRITE_FAST: AclCategories = acl!(WRITE, STREAM, FAST);
const ACL_WRITE_SLOW: AclCategories = acl!(WRITE, STREAM, SLOW);

const STREAM: CommandSpec = CommandSpec {
    group: "stream",
    since: "5.0.0",
    first_key: 1,
    last_key: 1,
    key_step: 1,
    ..SPEC
};

const RANGE_COMPLEXITY: &str = "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).";

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "xadd", arity: -5, flags: flags!(WRITE, DENYOOM, FAST), acl_categories: ACL_WRITE_FAST, summary: "Appends a new entry to a stream", complexity: "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", handler: Some(xadd), ..STREAM },
    CommandSpec { name: "xlen", arity: 2, flags: flags!(READONLY, FAST), acl_categories: ACL_READ_FAST, summary: "Return the number of entries in a stream", complexity: "O(1)", handler: Some(xlen), ..STREAM },
    CommandSpec { name: "xrange", arity: -4, flags: flags!(READONLY), acl_categories: ACL_READ_SLOW, summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval", complexity: RANGE_COMPLEXITY, handler: Some(xrange), ..STREAM },
    CommandSpec { name: "xrevrange", arity: -4, flags: flags!(READONLY), acl_categories: ACL_READ_SLOW, summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", complexity: "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", handler: Some(xrevrange), ..STREAM },
    CommandSpec { name: "xdel", arity: -3, flags: flags!(WRITE, FAST), acl_categories: ACL_WRITE_FAST, summary: "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.", handler: Some(xdel), ..STREAM },
    CommandSpec { name: "xtrim", arity: -4, flags: flags!(WRITE), acl_categories: ACL_WRITE_SLOW, summary: "Trims the stream to (approximately if '~' is passed) a certain size", complexity: "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", handler: Some(xtrim), ..STREAM },
    CommandSpec { name: "xread", arity: -4, flags: flags!(READONLY, BLOCKING, MOVABLEKEYS), acl_categories: acl!(READ, STREAM, SLOW, BLOCKING), first_key: 0, last_key: 0, key_step: 0, summary: "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", complexity: "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.", movable_keys: Some(read::streams_keys::<1>), handler: Some(read::xread), ..STREAM },
    CommandSpec { name: "xreadgroup", arity: -7, flags: flags!(WRITE, BLOCKING, MOVABLEKEYS), acl_categories: acl!(WRITE, STREAM, SLOW, BLOCKING), first_key: 0, last_key: 0, key_step: 0, summary: "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.", complexity: "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.", movable_keys: Some(read::streams_keys::<4>), handler: Some(group::xreadgroup), ..STREAM },
    CommandSpec { name: "xack", arity: -4, flags: flags!(WRITE, FAST), acl_categories: ACL_WRITE_FAST, summary: "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.", complexity: "O(1) for each message ID processed.", handler: Some(group::xack), ..STREAM },
    CommandSpec { name: "xpending", arity: -3, flags: flags!(READONLY), acl_categories: ACL_READ_SLOW, summary: "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.", complexity: "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", handler: Some(group::xpending), ..STREAM },
    CommandSpec { name: "xclaim", arity: -6, flags: flags!(WRITE, FAST), acl_categories: ACL_WRITE_FAST, summary: "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.", complexity: "O(log N) with N being the number of messages in the PEL of the consumer group.", handler: Some(claim::xclaim), ..STREAM },
    CommandSpec { name: "xautoclaim", arity: -6, flags: flags!(WRITE, FAST), acl_categories: ACL_WRITE_FAST, summary: "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.", since: "6.2.0", complexity: "O(1) if COUNT is small.", handler: Some(claim::xautoclaim), ..STREAM },
    CommandSpec { name: "xgroup", arity: -2, flags: CommandFlags::empty(), acl_categories: acl!(SLOW), first_key: 0, last_key: 0, key_step: 0, summary: "A container for consumer groups commands", complexity: "Depends on subcommand.", subcommands: XGROUP, ..STREAM },
    CommandSpec { name: "xinfo", arity: -2, flags: CommandFlags::empty(), acl_categories: acl!(SLOW), first_key: 0, last_key: 0, key_step: 0, summary: "A container for stream introspection commands", complexity: "Depends on subcommand.", subcommands: XINFO, ..STREAM },
    CommandSpec { name: "xsetid", arity: -3, flags: flags!(WRITE, DENYOOM, FAST), acl_categories: ACL_WRITE_FAST, summary: "An internal command for replicating stream values", complexity: "O(1)", handler: Some(xsetid), ..STREAM },
];

const XGROUP_KEY: CommandSpec = CommandSpec {
    first_key: 2,
    last_key: 2,
    key_step: 1,
    ..STREAM
};

static XGROUP: &[CommandSpec] = &[
    CommandSpec {
        name: "create",
        arity: -5,
        flags: flags!(WRITE, DENYOOM),
        acl_categories: ACL_WRITE_SLOW,
        summary: "Create a consumer group.",
        complexity: "O(1)",
        handler: Some(group::xgroup_create),
        ..XGROUP_KEY
    },
    CommandSpec {
        name: "createconsumer",
        arity: 5,
        flags: flags!(WRITE, DENYOOM),
        acl_categories: ACL_WRITE_SLOW,
        summary: "Create a consumer in a consumer group.",
        since: "6.2.0",
        complexity: "O(1)",
        handler: Some(group::xgroup_createconsumer),
        ..XGROUP_KEY
    },
    CommandSpec {
        name: "delconsumer",
        arity: 5,
        flags: flags!(WRITE),
        acl_categories: ACL_WRITE_SLOW,
        summary: "Delete a consumer from a consumer group.",
        complexity: "O(1)",
        handler: Some(group::xgroup_delconsumer),
        ..XGROUP_KEY
    },
    CommandSpec {
        name: "destroy",
        arity: 4,
        flags: flags!(WRITE),
        acl_categories: ACL_WRITE_SLOW,
        summary: "Destroy a consumer group.",
        complexity:
            "O(N) where N is the number of entries in the group's pending entries list (PEL).",
        handler: Some(group::xgroup_destroy),
        ..XGROUP_KEY
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: flags!(LOADING, STALE),
        acl_categories: acl!(STREAM, SLOW),
        first_key: 0,
        last_key: 0,
        key_step: 0,
        summary: "Show helpful text about the different subcommands",
        complexity: "O(1)",
        handler: Some(group::xgroup_help),
        ..STREAM
    },
    CommandSpec {
        name: "setid",
        arity: -5,
        flags: flags!(WRITE),
        acl_categories: ACL_WRITE_SLOW,
        summary: "Set a consumer group to an arbitrary last delivered ID value.",
        complexity: "O(1)",
        handler: Some(group::xgroup_setid),
        ..XGROUP_KEY
    },
];

static XINFO: &[CommandSpec] = &[
    CommandSpec {
        name: "consumers",
        arity: 4,
        flags: flags!(READONLY),
        acl_categories: ACL_READ_SLOW,
        summary: "List the consumers in a consumer group",
        complexity: "O(1)",
        handler: Some(info::xinfo_consumers),
        ..XGROUP_KEY
    },
    CommandSpec {
        name: "groups",
        arity: 3,
        flags: flags!(READONLY),
        acl_categories: ACL_READ_SLOW,
        summary: "List the consumer groups of a stream",
        complexity: "O(1)",
        handler: Some(info::xinfo_groups),
        ..XGROUP_KEY
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: flags!(LOADING, STALE),
        acl_categories: acl!(STREAM, SLOW),
        first_key: 0,
        last_key: 0,
        key_step: 0,
        summary: "Show helpful text about the different subcommands",
        complexity: "O(1)",
        handler: Some(info::xinfo_help),
        ..STREAM
    },
    CommandSpec {
        name: "stream",
        arity: -3,
        flags: flags!(READONLY),
        acl_categories: ACL_READ_SLOW,
        summary: "Get information about a stream",
        complexity: "O(1)",
        handler: Some(info::xinfo_stream),
        ..XGROUP_KEY
    },
];

/// `stream-node-max-bytes` and `stream-node-max-entries` in force.
fn node_limits(ctx: &Ctx<'_>) -> NodeLimits {
    let config = ctx.server.config.read();
    NodeLimits {
        max_bytes: config.stream_node_max_bytes,
        max_entries: config.stream_node_max_entries,
    }
}

/// Runs `f` on the stream at `key` (`None` when there is none) with a read lookup; WRONGTYPE for
/// another type.
fn read_stream<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&StreamValue>, &mut ReplyBuf) -> R,
) -> Result<R, CmdError> {
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            match view.read(hash, key) {
                None => Ok(f(None, out)),
                Some(entry) => entry
                    .stream()
                    .map(|s| f(Some(s), out))
                    .ok_or(CmdError::WrongType),
            }
        })
}

/// Applies `edit` to the stream at `key`; `None` when there is none (nothing created).
fn write_stream<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    edit: impl FnOnce(&mut StreamValue) -> Result<R, CmdError>,
) -> Result<Option<R>, CmdError> {
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            view.modify(hash, key, |entry| {
                let stream = entry.stream_mut().ok_or(CmdError::WrongType)?;
                edit(stream)
            })
            .transpose()
        })
}

/// One element of an entry as a bulk string (listpacks give integers back as integers).
fn reply_elem(out: &mut ReplyBuf, elem: Elem<'_>) {
    match elem {
        Elem::Str(bytes) => out.bulk(bytes),
        Elem::Int(value) => out.bulk_int(value),
    }
}

pub(crate) fn reply_id(out: &mut ReplyBuf, id: StreamId) {
    out.bulk(id.to_text().as_bytes());
}

/// An entry as Redis replies it: its ID, then its fields and values in one flat array.
pub(crate) fn reply_entry(out: &mut ReplyBuf, entry: &EntryRef<'_>) {
    out.array(2);
    reply_id(out, entry.id);
    out.array(entry.field_count() * 2);
    for (field, value) in entry.pairs() {
        reply_elem(out, field);
        reply_elem(out, value);
    }
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...
fn xadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let limits = node_limits(ctx);
    let parsed = parse::add_or_trim(args, true, limits.max_entries)?;
    let fields = args.get(parsed.id_pos + 1..).unwrap_or(&[]);
    if fields.len() < 2 || fields.len() % 2 == 1 {
        return Err(CmdError::WrongArity("xadd".into()));
    }
    // Refused before the key is looked up, so no empty stream is left behind.
    if parsed.id.is_some_and(|p| p.seq_given && p.id.is_zero()) {
        return Err(stream_err(StreamError::IdZero));
    }
    let new_id = match parsed.id {
        None => NewId::Auto(ctx.now_ms),
        Some(p) if p.seq_given => NewId::Exact(p.id),
        Some(p) => NewId::SeqAuto(p.id.ms),
    };
    let pairs: Vec<&[u8]> = fields.iter().map(|f| &f[..]).collect();
    let trim = parsed.trim;
    let add = |stream: &mut StreamValue| -> Result<(StreamId, u64), CmdError> {
        if stream.last_id == StreamId::MAX {
            return Err(stream_err(StreamError::Exhausted));
        }
        let id = stream.append(new_id, &pairs, limits).map_err(|e| match e {
            AppendError::NotGreater => stream_err(StreamError::IdNotGreater),
            AppendError::TooLarge => stream_err(StreamError::TooLarge),
        })?;
        let trimmed = trim.map_or(0, |t| stream.trim(t.strategy, t.approx, t.limit));
        Ok((id, trimmed))
    };
    let key = &args[1];
    let added = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let mut add = Some(add);
            let existing = view.modify(hash, key, |entry| {
                let stream = entry.stream_mut().ok_or(CmdError::WrongType)?;
                let add = add.take().ok_or(CmdError::WrongType)?;
                add(stream)
            });
            match (existing, add.take()) {
                (Some(result), _) => result.map(Some),
                (None, _) if parsed.no_mkstream => Ok(None),
                (None, Some(add)) => {
                    // As Redis, the stream exists once XADD got this far, even if the append
                    // is then refused (an entry over 1 GiB).
                    let mut stream = StreamValue::new();
                    let result = add(&mut stream);
                    let collection = Collection::Stream(Box::new(stream));
                    view.insert_absent(hash, Entry::new_collection(key, collection, 0));
                    result.map(Some)
                }
                (None, None) => Ok(None),
            }
        })?;
    let Some((id, trimmed)) = added else {
        ctx.out.null();
        return Ok(());
    };
    reply_id(ctx.out, id);
    ctx.notify(class::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(class::STREAM, "xtrim", key);
    }
    Ok(())
}

fn xlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len = read_stream(ctx, &args[1], |s, _| s.map_or(0, StreamValue::len))?;
    ctx.out.int(len as i64);
    Ok(())
}

/// XRANGE key start end [COUNT n] and XREVRANGE key end start [COUNT n].
fn range_command(ctx: &mut Ctx<'_>, args: &[Bytes], rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let (start, end) = parse::range(start_arg, end_arg)?;
    let mut count: Option<i64> = None;
    let mut i = 4;
    while i < args.len() {
        if c_string(&args[i]).eq_ignore_ascii_case(b"count") && i + 1 < args.len() {
            count = Some(super::args::int(&args[i + 1])?.max(0));
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    read_stream(ctx, &args[1], |stream, out| {
        let Some(stream) = stream else {
            out.array(0);
            return;
        };
        let limit = match count {
            Some(0) => {
                out.null_array();
                return;
            }
            Some(n) => n as usize,
            None => usize::MAX,
        };
        let entries: Vec<EntryRef<'_>> = stream.range(start, end, rev).take(limit).collect();
        out.array(entries.len());
        for entry in &entries {
            reply_entry(out, entry);
        }
    })
}

fn xrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_command(ctx, args, false)
}

fn xrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_command(ctx, args, true)
}

/// XDEL key id ...: the key is looked up before the IDs are read, as in Redis.
fn xdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let deleted = write_stream(ctx, &args[1], |stream| {
        let ids = args[2..]
            .iter()
            .map(|arg| parse::id(arg, 0, true))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(stream.delete_entries(&ids))
    })?
    .unwrap_or(0);
    if deleted > 0 {
        ctx.notify(class::STREAM, "xdel", &args[1]);
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
fn xtrim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let limits = node_limits(ctx);
    let parsed = parse::add_or_trim(args, false, limits.max_entries)?;
    let Some(trim) = parsed.trim else {
        return Err(stream_err(StreamError::XtrimWithoutStrategy));
    };
    let deleted = write_stream(ctx, &args[1], |stream| {
        Ok(stream.trim(trim.strategy, trim.approx, trim.limit))
    })?
    .unwrap_or(0);
    if deleted > 0 {
        ctx.notify(class::STREAM, "xtrim", &args[1]);
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
fn xsetid(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let id = parse::id(&args[2], 0, true)?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        let opt = c_string(&args[i]);
        if opt.eq_ignore_ascii_case(b"entriesadded") && more {
            let value = super::args::int(&args[i + 1])?;
            if value < 0 {
                return Err(stream_err(StreamError::EntriesAddedNegative));
            }
            entries_added = Some(value as u64);
        } else if opt.eq_ignore_ascii_case(b"maxdeletedid") && more {
            max_deleted = parse::id(&args[i + 1], 0, true)?;
            if id < max_deleted {
                return Err(stream_err(StreamError::SetidBelowMaxDeleted));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let done = write_stream(ctx, &args[1], |stream| {
        if !stream.is_empty() {
            let top = stream.entries().last_valid_id().unwrap_or(StreamId::MIN);
            if id < top {
                return Err(stream_err(StreamError::SetidBelowTop));
            }
            if entries_added.is_some_and(|added| stream.len() > added) {
                return Err(stream_err(StreamError::SetidEntriesAddedBelowLength));
            }
        }
        stream.last_id = id;
        if let Some(added) = entries_added {
            stream.entries_added = added;
        }
        if !max_deleted.is_zero() {
            stream.max_deleted = max_deleted;
        }
        Ok(())
    })?;
    if done.is_none() {
        return Err(CmdError::NoSuchKey);
    }
    ctx.out.ok();
    ctx.notify(class::STREAM, "xsetid", &args[1]);
    Ok(())
}
