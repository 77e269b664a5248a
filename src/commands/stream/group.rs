//! Consumer groups, part one (Redis's `xgroupCommand`, `xackCommand` and the group side of
//! `xreadCommand`): XGROUP CREATE|CREATECONSUMER|DELCONSUMER|DESTROY|SETID|HELP, XACK and
//! XREADGROUP (`>` for new entries, an ID for the consumer's own history, NOACK, BLOCK) and
//! XPENDING (the summary, and the entries with IDLE and a consumer).
//!
//! XGROUP's checks run in Redis's order: its options, then the key's type, then the key and the
//! group's existence, then the subcommand's arguments. A blocked XREADGROUP is served from the
//! group's last delivered ID when it is served (another consumer may have moved it), gets
//! `NOGROUP` when its group is destroyed and `UNBLOCKED` when its key is deleted or re-typed.

use std::sync::Arc;

use bytes::Bytes;

use super::read::{reply_or_block, reply_streams, Blocked};
use super::{parse, reply_entry, reply_id, write_stream};
use crate::commands::args;
use crate::engine::notice::class;
use crate::engine::types::stream::{Entries, Group, StreamId, StreamValue, ENTRIES_READ_UNKNOWN};
use crate::engine::types::Collection;
use crate::engine::Entry;
use crate::error::{c_string, CmdError, CmdResult, StreamError};
use crate::protocol::ReplyBuf;
use crate::state::blocking::Serve;
use crate::state::command::Ctx;
use parse::stream_err;

const HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

pub fn xgroup_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    super::super::reply_help(ctx.out, "XGROUP", HELP);
    Ok(())
}

fn subcommand_syntax(args: &[Bytes]) -> CmdError {
    CmdError::UnknownSubcommandOrArity {
        command: "xgroup",
        sub: args[1][..].into(),
    }
}

/// XGROUP's options after the ID (MKSTREAM for CREATE, ENTRIESREAD for CREATE and SETID).
fn options(args: &[Bytes]) -> Result<(bool, i64), CmdError> {
    let sub = c_string(&args[1]);
    let create = sub.eq_ignore_ascii_case(b"create");
    let setid = sub.eq_ignore_ascii_case(b"setid");
    let mut mkstream = false;
    let mut entries_read = ENTRIES_READ_UNKNOWN;
    let mut i = 5;
    while i < args.len() {
        let opt = c_string(&args[i]);
        if create && opt.eq_ignore_ascii_case(b"mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid)
            && opt.eq_ignore_ascii_case(b"entriesread")
            && i + 1 < args.len()
        {
            entries_read = args::int(&args[i + 1])?;
            if entries_read < 0 && entries_read != ENTRIES_READ_UNKNOWN {
                return Err(stream_err(StreamError::EntriesReadNegative));
            }
            i += 2;
        } else {
            return Err(subcommand_syntax(args));
        }
    }
    Ok((mkstream, entries_read))
}

fn no_group(args: &[Bytes]) -> CmdError {
    CmdError::NoGroup {
        group: args[3][..].into(),
        key: args[2][..].into(),
    }
}

/// Runs `f` on the stream at `args[2]`, which must exist (Redis's error otherwise), and, when
/// `need_group`, must have the group `args[3]`.
fn on_stream<R>(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    need_group: bool,
    f: impl FnOnce(&mut StreamValue) -> Result<R, CmdError>,
) -> Result<R, CmdError> {
    write_stream(ctx, &args[2], |stream| {
        if need_group && stream.group(&args[3]).is_none() {
            return Err(no_group(args));
        }
        f(stream)
    })?
    .ok_or(stream_err(StreamError::XgroupNeedsKey))
}

/// An ID for CREATE (strict) or SETID (`-`/`+` allowed), or `$`: the stream's last ID.
fn group_id(arg: &[u8], stream_last: StreamId, strict: bool) -> Result<StreamId, CmdError> {
    if c_string(arg) == b"$" {
        return Ok(stream_last);
    }
    parse::id(arg, 0, strict)
}

pub fn xgroup_create(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mkstream, entries_read) = options(args)?;
    if args.len() > 8 {
        return Err(subcommand_syntax(args));
    }
    let key = &args[2];
    let created = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let existing = view.modify(hash, key, |entry| {
                let stream = entry.stream_mut().ok_or(CmdError::WrongType)?;
                let id = group_id(&args[4], stream.last_id, true)?;
                Ok(stream.create_group(&args[3], id, entries_read))
            });
            match existing {
                Some(result) => result,
                None if !mkstream => Err(stream_err(StreamError::XgroupNeedsKey)),
                None => {
                    let id = group_id(&args[4], StreamId::MIN, true)?;
                    let mut stream = StreamValue::new();
                    stream.create_group(&args[3], id, entries_read);
                    let collection = Collection::Stream(Box::new(stream));
                    view.insert_absent(hash, Entry::new_collection(key, collection, 0));
                    Ok(true)
                }
            }
        })?;
    if !created {
        return Err(stream_err(StreamError::BusyGroup));
    }
    ctx.out.ok();
    ctx.notify(class::STREAM, "xgroup-create", key);
    Ok(())
}

pub fn xgroup_setid(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (_, entries_read) = options(args)?;
    on_stream(ctx, args, true, |stream| {
        if args.len() != 5 && args.len() != 7 {
            return Err(subcommand_syntax(args));
        }
        let id = group_id(&args[4], stream.last_id, false)?;
        stream.with_group(&args[3], |group, _| {
            group.last_id = id;
            group.entries_read = entries_read;
        });
        Ok(())
    })?;
    ctx.out.ok();
    ctx.notify(class::STREAM, "xgroup-setid", &args[2]);
    Ok(())
}

pub fn xgroup_destroy(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let destroyed = on_stream(
        ctx,
        args,
        false,
        |stream| Ok(stream.destroy_group(&args[3])),
    )?;
    ctx.out.int(destroyed as i64);
    if destroyed {
        // Also wakes the clients blocked on the group, to answer them NOGROUP.
        ctx.notify(class::STREAM, "xgroup-destroy", &args[2]);
    }
    Ok(())
}

pub fn xgroup_createconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms as i64;
    let created = on_stream(ctx, args, true, |stream| {
        Ok(stream
            .with_group(&args[3], |group, _| {
                group.create_consumer(&args[4], now).is_some()
            })
            .unwrap_or(false))
    })?;
    ctx.out.int(created as i64);
    if created {
        ctx.notify(class::STREAM, "xgroup-createconsumer", &args[2]);
    }
    Ok(())
}

pub fn xgroup_delconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let pending = on_stream(ctx, args, true, |stream| {
        Ok(stream
            .with_group(&args[3], |group, _| group.delete_consumer(&args[4]))
            .flatten())
    })?;
    ctx.out.int(pending.unwrap_or(0) as i64);
    if pending.is_some() {
        ctx.notify(class::STREAM, "xgroup-delconsumer", &args[2]);
    }
    Ok(())
}

/// XACK key group id ...: 0 for a missing key or group, before the IDs are read.
pub fn xack(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let acked = write_stream(ctx, &args[1], |stream| {
        if stream.group(&args[2]).is_none() {
            return Ok(0);
        }
        let ids = args[3..]
            .iter()
            .map(|arg| parse::id(arg, 0, true))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(stream
            .with_group(&args[2], |group, _| {
                ids.iter().filter(|&&id| group.ack(id)).count()
            })
            .unwrap_or(0))
    })?
    .unwrap_or(0);
    ctx.out.int(acked as i64);
    Ok(())
}

/// XREADGROUP's arguments.
struct GroupRead {
    group: Bytes,
    consumer: Bytes,
    noack: bool,
    count: usize,
    block: Option<u64>,
    keys_at: usize,
    streams: usize,
}

fn parse_group_read(argv: &[Bytes], now_ms: u64) -> Result<GroupRead, CmdError> {
    let mut read = GroupRead {
        group: Bytes::new(),
        consumer: Bytes::new(),
        noack: false,
        count: 0,
        block: None,
        keys_at: 0,
        streams: 0,
    };
    let mut group_given = false;
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let opt = c_string(&argv[i]);
        if opt.eq_ignore_ascii_case(b"block") && more > 0 {
            i += 1;
            read.block = Some(super::read::block_ms(&argv[i], now_ms)?);
        } else if opt.eq_ignore_ascii_case(b"count") && more > 0 {
            i += 1;
            read.count = args::int(&argv[i])?.max(0) as usize;
        } else if opt.eq_ignore_ascii_case(b"streams") && more > 0 {
            let rest = argv.len() - (i + 1);
            if !rest.is_multiple_of(2) {
                return Err(stream_err(StreamError::Unbalanced));
            }
            read.keys_at = i + 1;
            read.streams = rest / 2;
            break;
        } else if opt.eq_ignore_ascii_case(b"group") && more >= 2 {
            read.group = argv[i + 1].clone();
            read.consumer = argv[i + 2].clone();
            group_given = true;
            i += 2;
        } else if opt.eq_ignore_ascii_case(b"noack") {
            read.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if read.keys_at == 0 {
        return Err(CmdError::Syntax);
    }
    if !group_given {
        return Err(stream_err(StreamError::MissingGroup));
    }
    Ok(read)
}

/// Delivers the entries after the group's last ID to `consumer` (Redis's `streamReplyWithRange`
/// with a group): the group's counters move, and each entry becomes pending unless `noack`.
fn reply_new_entries(
    out: &mut ReplyBuf,
    group: &mut Group,
    entries: &Entries<'_>,
    consumer: &Arc<[u8]>,
    count: usize,
    noack: bool,
    now: i64,
) {
    let Some(start) = group.last_id.incr() else {
        out.array(0);
        return;
    };
    let limit = if count == 0 { usize::MAX } else { count };
    let found: Vec<_> = entries
        .range(start, StreamId::MAX, false)
        .take(limit)
        .collect();
    out.array(found.len());
    for entry in &found {
        if entry.id > group.last_id {
            entries.advance_group(group, entry.id);
        }
        reply_entry(out, entry);
        if !noack {
            group.deliver(entry.id, consumer, now);
        }
    }
}

/// The consumer's own pending entries from `start` (Redis's
/// `streamReplyWithRangeFromConsumerPEL`): an entry no longer in the stream comes back as its ID
/// and a null; the others count one more delivery.
fn reply_history(
    out: &mut ReplyBuf,
    group: &mut Group,
    entries: &Entries<'_>,
    consumer: &Arc<[u8]>,
    start: StreamId,
    count: usize,
    now: i64,
) {
    let limit = if count == 0 { usize::MAX } else { count };
    let ids: Vec<StreamId> = group
        .consumer(consumer)
        .map(|c| {
            c.pel
                .iter_from(&start)
                .map(|(id, ())| *id)
                .take(limit)
                .collect()
        })
        .unwrap_or_default();
    out.array(ids.len());
    for id in ids {
        match entries.get(id) {
            Some(entry) => {
                reply_entry(out, &entry);
                group.redeliver(id, now);
            }
            None => {
                out.array(2);
                reply_id(out, id);
                out.null_array();
            }
        }
    }
}

/// What one stream of an XREADGROUP gave: whether it was served, whether a consumer was created.
struct Served {
    served: bool,
    created: bool,
}

/// Serves one stream of an XREADGROUP into `body` (the key, then its entries), as Redis's
/// synchronous path: history whenever an ID was given, new entries when there are some.
fn serve_stream(
    stream: &mut StreamValue,
    read: &GroupRead,
    key: &[u8],
    after: Option<StreamId>,
    now: i64,
    body: &mut ReplyBuf,
) -> Served {
    let last_valid = stream.entries().last_valid_id();
    let result = stream.with_group(&read.group, |group, entries| {
        let wanted = match after {
            Some(_) => true,
            None => entries.length > 0 && last_valid.is_some_and(|last| last > group.last_id),
        };
        if !wanted {
            return Served {
                served: false,
                created: false,
            };
        }
        let (consumer, created) = group.lookup_or_create(&read.consumer, now);
        if !body.is_resp3() {
            body.array(2);
        }
        body.bulk(key);
        match after {
            Some(id) => {
                let start = id.incr().unwrap_or(StreamId::MIN);
                reply_history(body, group, entries, &consumer, start, read.count, now);
            }
            None => reply_new_entries(body, group, entries, &consumer, read.count, read.noack, now),
        }
        Served {
            served: true,
            created,
        }
    });
    result.unwrap_or(Served {
        served: false,
        created: false,
    })
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key ... id ...
pub fn xreadgroup(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let read = parse_group_read(argv, ctx.now_ms)?;
    super::read::refuse_block_in_script(ctx, argv, read.block)?;
    let keys = &argv[read.keys_at..read.keys_at + read.streams];
    let id_args = &argv[read.keys_at + read.streams..];
    // Per key: its type, its group, then its ID, as in Redis. `None` stands for `>`.
    let mut ids: Vec<Option<StreamId>> = Vec::with_capacity(keys.len());
    for (key, arg) in keys.iter().zip(id_args) {
        let has_group = ctx.server.keyspace.with_key(
            ctx.client.db,
            key,
            ctx.now_ms,
            |view, hash| match view.read(hash, key) {
                None => Ok(false),
                Some(entry) => entry
                    .stream()
                    .map(|s| s.group(&read.group).is_some())
                    .ok_or(CmdError::WrongType),
            },
        )?;
        if !has_group {
            return Err(CmdError::NoGroupRead {
                key: key[..].into(),
                group: read.group[..].into(),
                in_xreadgroup: true,
            });
        }
        ids.push(match c_string(arg) {
            b"$" => return Err(stream_err(StreamError::DollarInXreadgroup)),
            b">" => None,
            // Redis marks `>` with the largest ID: given explicitly, it means `>` too.
            _ => Some(parse::id(arg, 0, true)?).filter(|&id| id != StreamId::MAX),
        });
    }
    let now = ctx.now_ms as i64;
    let mut body = ReplyBuf::frame(ctx.out.protocol, 256);
    let mut served = 0;
    let mut created_in = Vec::new();
    for (key, &after) in keys.iter().zip(&ids) {
        let outcome = write_stream(ctx, key, |stream| {
            Ok(serve_stream(stream, &read, key, after, now, &mut body))
        })?;
        if let Some(outcome) = outcome {
            served += outcome.served as usize;
            if outcome.created {
                created_in.push(key.clone());
            }
        }
    }
    for key in &created_in {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    let blocked = Blocked {
        block: read.block,
        count: read.count,
        try_now: serve_live_entries,
        serve: serve_blocked,
    };
    reply_or_block(ctx, keys, served, &body, blocked, |count| {
        let mut stored: Vec<Bytes> = vec![
            Bytes::from_static(b"xreadgroup"),
            Bytes::from_static(b"group"),
            read.group.clone(),
            read.consumer.clone(),
            Bytes::from_static(b"count"),
            Bytes::from(count.to_string()),
        ];
        if read.noack {
            stored.push(Bytes::from_static(b"noack"));
        }
        stored.push(Bytes::from_static(b"streams"));
        stored.extend(keys.iter().cloned());
        stored.extend(keys.iter().map(|_| Bytes::from_static(b">")));
        stored
    })
}

/// Serves a blocked XREADGROUP from `key` once the key was signalled: new entries past the group's
/// last ID when the stream's last ID is past it (Redis compares the stream's last ID, so entries
/// deleted since can make an empty reply, as in Redis).
fn serve_blocked(ctx: &mut Ctx<'_>, key: &Bytes, stored: &[Bytes]) -> Result<Serve, CmdError> {
    serve_new_entries(ctx, key, stored, Ready::LastId)
}

/// The tries just before an XREADGROUP blocks: as its synchronous path, only when a live entry
/// is past the group's last ID (after `XADD` and `XDEL` of that entry it blocks, as in Redis).
fn serve_live_entries(ctx: &mut Ctx<'_>, key: &Bytes, stored: &[Bytes]) -> Result<Serve, CmdError> {
    serve_new_entries(ctx, key, stored, Ready::LiveEntry)
}

/// What makes a stream worth serving a waiting XREADGROUP `>` from.
#[derive(Clone, Copy)]
enum Ready {
    LastId,
    LiveEntry,
}

fn serve_new_entries(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    stored: &[Bytes],
    ready: Ready,
) -> Result<Serve, CmdError> {
    let read = parse_group_read(stored, ctx.now_ms)?;
    let now = ctx.now_ms as i64;
    let mut body = ReplyBuf::frame(ctx.out.protocol, 256);
    let outcome = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let found = view.modify(hash, key, |entry| {
                let Some(stream) = entry.stream_mut() else {
                    return Err(stream_err(StreamError::StreamKeyGone));
                };
                let newest = match ready {
                    Ready::LastId => Some(stream.last_id),
                    Ready::LiveEntry => stream.entries().last_valid_id(),
                };
                let served = stream.with_group(&read.group, |group, entries| {
                    if newest.is_none_or(|newest| newest <= group.last_id) {
                        return None;
                    }
                    let (consumer, created) = group.lookup_or_create(&read.consumer, now);
                    if !body.is_resp3() {
                        body.array(2);
                    }
                    body.bulk(key);
                    reply_new_entries(
                        &mut body, group, entries, &consumer, read.count, read.noack, now,
                    );
                    Some(created)
                });
                match served {
                    None => Err(stream_err(StreamError::GroupGone)),
                    Some(served) => Ok(served),
                }
            });
            found.unwrap_or(Err(stream_err(StreamError::StreamKeyGone)))
        })?;
    let Some(created) = outcome else {
        return Ok(Serve::NotReady);
    };
    if created {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    reply_streams(ctx.out, 1, &body);
    Ok(Serve::Served)
}

/// XPENDING's range form: the ends (inclusive), how many, the idle floor, the consumer.
struct PendingRange<'a> {
    start: StreamId,
    end: StreamId,
    count: usize,
    min_idle: i64,
    consumer: Option<&'a Bytes>,
}

/// XPENDING key group [[IDLE min-idle] start end count [consumer]]: the summary, or the pending
/// entries with their owner, idle time and delivery count. The range is read before the key, as
/// in Redis.
pub fn xpending(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let argc = args.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let mut range = None;
    if argc >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if c_string(&args[3]).eq_ignore_ascii_case(b"idle") {
            min_idle = args::int(&args[4])?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        let count = args::int(&args[at + 2])?.max(0) as usize;
        let (start, end) = parse::range(&args[at], &args[at + 1])?;
        range = Some(PendingRange {
            start,
            end,
            count,
            min_idle,
            consumer: args.get(at + 3),
        });
    }
    let now = ctx.now_ms as i64;
    let (key, name) = (&args[1], &args[2]);
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let stream = match view.read(hash, key) {
                None => None,
                Some(entry) => Some(entry.stream().ok_or(CmdError::WrongType)?),
            };
            let group =
                stream
                    .and_then(|s| s.group(name))
                    .ok_or_else(|| CmdError::NoGroupRead {
                        key: key[..].into(),
                        group: name[..].into(),
                        in_xreadgroup: false,
                    })?;
            match &range {
                None => pending_summary(out, group),
                Some(range) => pending_entries(out, group, range, now),
            }
            Ok(())
        })
}

fn pending_summary(out: &mut ReplyBuf, group: &Group) {
    out.array(4);
    out.int(group.pel.len() as i64);
    let (Some((first, _)), Some((last, _))) = (group.pel.first(), group.pel.last()) else {
        out.null();
        out.null();
        out.null_array();
        return;
    };
    reply_id(out, *first);
    reply_id(out, *last);
    let owners: Vec<(&Arc<[u8]>, usize)> = group
        .consumers
        .iter()
        .filter(|(_, c)| !c.pel.is_empty())
        .map(|(name, c)| (name, c.pel.len()))
        .collect();
    out.array(owners.len());
    for (name, pending) in owners {
        out.array(2);
        out.bulk(name);
        out.bulk_int(pending as i64);
    }
}

fn pending_entries(out: &mut ReplyBuf, group: &Group, range: &PendingRange<'_>, now: i64) {
    let ids: Vec<StreamId> = match range.consumer {
        Some(name) => match group.consumer(name) {
            Some(consumer) => consumer
                .pel
                .iter_from(&range.start)
                .map(|(id, ())| *id)
                .collect(),
            None => {
                out.array(0);
                return;
            }
        },
        None => group
            .pel
            .iter_from(&range.start)
            .map(|(id, _)| *id)
            .collect(),
    };
    let mut rows = Vec::new();
    for id in ids.into_iter().take_while(|id| *id <= range.end) {
        if rows.len() == range.count {
            break;
        }
        let Some(nack) = group.pel.get(&id) else {
            continue;
        };
        // Wrapping as C does: a restored payload may carry any time.
        let idle = now.wrapping_sub(nack.delivery_time);
        if range.min_idle != 0 && idle < range.min_idle {
            continue;
        }
        rows.push((id, nack, idle.max(0)));
    }
    out.array(rows.len());
    for (id, nack, idle) in rows {
        out.array(4);
        reply_id(out, id);
        out.bulk(&nack.consumer);
        out.int(idle);
        out.int(nack.delivery_count as i64);
    }
}
