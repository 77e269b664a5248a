//! XINFO STREAM [FULL [COUNT n]], GROUPS, CONSUMERS and HELP, with Redis 7.0's fields (Redis's
//! `xinfoCommand`): the key is looked up before the options are read, `radix-tree-nodes` is the
//! node count of the radix tree Redis would hold for the same nodes (`rax.rs`), a group's lag is
//! `null` when it cannot be known (deleted entries past its last ID).

use bytes::Bytes;

use super::{reply_entry, reply_id};
use crate::engine::types::stream::{Entries, Group, StreamId, StreamValue, ENTRIES_READ_UNKNOWN};
use crate::error::{c_string, CmdError, CmdResult};
use crate::protocol::ReplyBuf;
use crate::state::command::Ctx;

/// Entries and pending entries XINFO STREAM FULL shows without COUNT.
const FULL_DEFAULT_COUNT: usize = 10;

const HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

pub fn xinfo_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    super::super::reply_help(ctx.out, "XINFO", HELP);
    Ok(())
}

fn syntax(args: &[Bytes]) -> CmdError {
    CmdError::UnknownSubcommandOrArity {
        command: "xinfo",
        sub: args[1][..].into(),
    }
}

/// Runs `f` on the stream at `args[2]`: `ERR no such key` when missing, WRONGTYPE for another type.
fn with_stream(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    f: impl FnOnce(&StreamValue, &mut ReplyBuf) -> CmdResult,
) -> CmdResult {
    let key = &args[2];
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let entry = view.read(hash, key).ok_or(CmdError::NoSuchKey)?;
            let stream = entry.stream().ok_or(CmdError::WrongType)?;
            f(stream, out)
        })
}

fn field(out: &mut ReplyBuf, name: &str) {
    out.bulk(name.as_bytes());
}

fn entries_read(out: &mut ReplyBuf, group: &Group) {
    if group.entries_read == ENTRIES_READ_UNKNOWN {
        out.null();
    } else {
        out.int(group.entries_read);
    }
}

fn lag(out: &mut ReplyBuf, entries: &Entries<'_>, group: &Group) {
    match entries.lag(group) {
        Some(lag) => out.int(lag),
        None => out.null(),
    }
}

pub fn xinfo_stream(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    with_stream(ctx, args, |stream, out| {
        let options = &args[3..];
        let full = match options.len() {
            0 => None,
            1 | 3 if c_string(&options[0]).eq_ignore_ascii_case(b"full") => {
                if options.len() == 1 {
                    Some(FULL_DEFAULT_COUNT)
                } else if c_string(&options[1]).eq_ignore_ascii_case(b"count") {
                    let count = super::super::args::int(&options[2])?;
                    Some(if count < 0 {
                        FULL_DEFAULT_COUNT
                    } else {
                        count as usize
                    })
                } else {
                    return Err(syntax(args));
                }
            }
            _ => return Err(syntax(args)),
        };
        out.map(if full.is_some() { 9 } else { 10 });
        field(out, "length");
        out.int(stream.len() as i64);
        field(out, "radix-tree-keys");
        out.int(stream.node_count() as i64);
        field(out, "radix-tree-nodes");
        out.int(stream.rax_nodes() as i64);
        field(out, "last-generated-id");
        reply_id(out, stream.last_id);
        field(out, "max-deleted-entry-id");
        reply_id(out, stream.max_deleted);
        field(out, "entries-added");
        out.int(stream.entries_added as i64);
        field(out, "recorded-first-entry-id");
        reply_id(out, stream.first_id);
        match full {
            None => {
                field(out, "groups");
                out.int(stream.group_count() as i64);
                for (name, rev) in [("first-entry", false), ("last-entry", true)] {
                    field(out, name);
                    match stream.range(StreamId::MIN, StreamId::MAX, rev).next() {
                        Some(entry) => reply_entry(out, &entry),
                        None => out.null(),
                    }
                }
            }
            Some(count) => full_details(out, stream, count),
        }
        Ok(())
    })
}

/// XINFO STREAM FULL's entries and groups, each list cut at `count` (0: all).
fn full_details(out: &mut ReplyBuf, stream: &StreamValue, count: usize) {
    let limit = if count == 0 { usize::MAX } else { count };
    field(out, "entries");
    let shown: Vec<_> = stream
        .range(StreamId::MIN, StreamId::MAX, false)
        .take(limit)
        .collect();
    out.array(shown.len());
    for entry in &shown {
        reply_entry(out, entry);
    }
    let entries = stream.entries();
    field(out, "groups");
    out.array(stream.group_count());
    for (name, group) in stream.groups() {
        out.map(7);
        field(out, "name");
        out.bulk(name);
        field(out, "last-delivered-id");
        reply_id(out, group.last_id);
        field(out, "entries-read");
        entries_read(out, group);
        field(out, "lag");
        lag(out, &entries, group);
        field(out, "pel-count");
        out.int(group.pel.len() as i64);
        field(out, "pending");
        let pending: Vec<_> = group.pel.iter().take(limit).collect();
        out.array(pending.len());
        for (id, nack) in pending {
            out.array(4);
            reply_id(out, *id);
            out.bulk(&nack.consumer);
            out.int(nack.delivery_time);
            out.int(nack.delivery_count as i64);
        }
        field(out, "consumers");
        out.array(group.consumers.len());
        for (name, consumer) in group.consumers.iter() {
            out.map(4);
            field(out, "name");
            out.bulk(name);
            field(out, "seen-time");
            out.int(consumer.seen_time);
            field(out, "pel-count");
            out.int(consumer.pel.len() as i64);
            field(out, "pending");
            let own: Vec<StreamId> = consumer
                .pel
                .iter()
                .take(limit)
                .map(|(id, ())| *id)
                .collect();
            out.array(own.len());
            for id in own {
                out.array(3);
                reply_id(out, id);
                let nack = group.pel.get(&id);
                out.int(nack.map_or(0, |n| n.delivery_time));
                out.int(nack.map_or(0, |n| n.delivery_count as i64));
            }
        }
    }
}

pub fn xinfo_groups(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    with_stream(ctx, args, |stream, out| {
        let entries = stream.entries();
        out.array(stream.group_count());
        for (name, group) in stream.groups() {
            out.map(6);
            field(out, "name");
            out.bulk(name);
            field(out, "consumers");
            out.int(group.consumers.len() as i64);
            field(out, "pending");
            out.int(group.pel.len() as i64);
            field(out, "last-delivered-id");
            reply_id(out, group.last_id);
            field(out, "entries-read");
            entries_read(out, group);
            field(out, "lag");
            lag(out, &entries, group);
        }
        Ok(())
    })
}

pub fn xinfo_consumers(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms as i64;
    with_stream(ctx, args, |stream, out| {
        let group = stream.group(&args[3]).ok_or_else(|| CmdError::NoGroup {
            group: args[3][..].into(),
            key: args[2][..].into(),
        })?;
        out.array(group.consumers.len());
        for (name, consumer) in group.consumers.iter() {
            out.map(3);
            field(out, "name");
            out.bulk(name);
            field(out, "pending");
            out.int(consumer.pel.len() as i64);
            field(out, "idle");
            out.int(now.wrapping_sub(consumer.seen_time).max(0));
        }
        Ok(())
    })
}
