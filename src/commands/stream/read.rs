//! XREAD (Redis's `xreadCommand` without a group): the streams that have entries past the given
//! IDs, at once; with BLOCK, the first stream to get one, through the blocking registry that
//! BLPOP uses (`state/blocking.rs`: timeouts, CLIENT UNBLOCK, a null array inside EXEC).
//!
//! A blocked client is stored with its arguments, `$` already replaced by the stream's last ID
//! when it blocked, so the serving side only compares IDs. It is served when the stream's last
//! live entry is past its ID (XSETID alone does not wake it, as in Redis, where XSETID signals no
//! key); a key deleted or given another type keeps it waiting, as Redis keeps a plain XREAD.
//! Served after blocking, the reply holds that one stream, and at most COUNT entries (1000 when
//! COUNT is absent, Redis's `XREAD_BLOCKED_DEFAULT_COUNT`).

use std::time::Duration;

use bytes::Bytes;

use super::{parse, reply_entry};
use crate::commands::args;
use crate::engine::types::stream::{StreamId, StreamValue};
use crate::error::{c_string, CmdError, CmdResult, StreamError};
use crate::protocol::ReplyBuf;
use crate::state::blocking::{self, Serve, ServeFn};
use crate::state::command::Ctx;
use parse::stream_err;

/// Entries a blocked XREAD or XREADGROUP without COUNT is served at most.
const BLOCKED_DEFAULT_COUNT: usize = 1000;

/// XREAD's options: where STREAMS' keys start, COUNT (0: none), BLOCK in milliseconds.
struct ReadArgs {
    keys_at: usize,
    streams: usize,
    count: usize,
    block: Option<u64>,
}

/// Redis's `getTimeoutFromObjectOrReply` in milliseconds; 0 waits forever.
pub(super) fn block_ms(arg: &[u8], now_ms: u64) -> Result<u64, CmdError> {
    let ms = args::int(arg).map_err(|_| CmdError::TimeoutNotInteger)?;
    if ms < 0 {
        return Err(CmdError::TimeoutNegative);
    }
    if ms > 0 && ms > i64::MAX - now_ms as i64 {
        return Err(stream_err(StreamError::BlockOutOfRange));
    }
    Ok(ms as u64)
}

fn parse_args(argv: &[Bytes], now_ms: u64) -> Result<ReadArgs, CmdError> {
    let mut count = 0;
    let mut block = None;
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let opt = c_string(&argv[i]);
        if opt.eq_ignore_ascii_case(b"block") && more > 0 {
            i += 1;
            block = Some(block_ms(&argv[i], now_ms)?);
        } else if opt.eq_ignore_ascii_case(b"count") && more > 0 {
            i += 1;
            count = args::int(&argv[i])?.max(0) as usize;
        } else if opt.eq_ignore_ascii_case(b"streams") && more > 0 {
            let rest = argv.len() - (i + 1);
            if !rest.is_multiple_of(2) {
                return Err(stream_err(StreamError::Unbalanced));
            }
            return Ok(ReadArgs {
                keys_at: i + 1,
                streams: rest / 2,
                count,
                block,
            });
        } else if opt.eq_ignore_ascii_case(b"group") && more >= 2 {
            return Err(stream_err(StreamError::GroupInXread));
        } else if opt.eq_ignore_ascii_case(b"noack") {
            return Err(stream_err(StreamError::NoackInXread));
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Err(CmdError::Syntax)
}

/// Looks `key` up for reading: its stream's `f(stream)`, `None` when missing; WRONGTYPE else.
fn with_stream<R>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(&StreamValue) -> R,
) -> Result<Option<R>, CmdError> {
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            match view.read(hash, key) {
                None => Ok(None),
                Some(entry) => entry
                    .stream()
                    .map(|s| Some(f(s)))
                    .ok_or(CmdError::WrongType),
            }
        })
}

/// Writes the entries of `stream` after `after` (at most `count`, 0 for all) as one stream of
/// XREAD's reply, when its last live entry is past `after`. False when there is none.
fn reply_stream(
    out: &mut ReplyBuf,
    key: &[u8],
    stream: &StreamValue,
    after: StreamId,
    count: usize,
) -> bool {
    let past = stream
        .entries()
        .last_valid_id()
        .is_some_and(|last| last > after);
    let Some(start) = after.incr().filter(|_| past) else {
        return false;
    };
    let limit = if count == 0 { usize::MAX } else { count };
    let entries: Vec<_> = stream
        .range(start, StreamId::MAX, false)
        .take(limit)
        .collect();
    if !out.is_resp3() {
        out.array(2);
    }
    out.bulk(key);
    out.array(entries.len());
    for entry in &entries {
        reply_entry(out, entry);
    }
    true
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key ... id ...
pub fn xread(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let read = parse_args(argv, ctx.now_ms)?;
    refuse_block_in_script(ctx, argv, read.block)?;
    let keys = &argv[read.keys_at..read.keys_at + read.streams];
    let id_args = &argv[read.keys_at + read.streams..];
    // Each key's type is checked before its ID is read, key by key, as in Redis.
    let mut ids = Vec::with_capacity(keys.len());
    for (key, arg) in keys.iter().zip(id_args) {
        let last = with_stream(ctx, key, |s| s.last_id)?;
        let arg = c_string(arg);
        ids.push(match arg {
            b"$" => last.unwrap_or(StreamId::MIN),
            b">" => return Err(stream_err(StreamError::GtWithoutGroup)),
            _ => parse::id(arg, 0, true)?,
        });
    }
    let mut body = ReplyBuf::frame(ctx.out.protocol, 256);
    let mut served = 0;
    for (key, &after) in keys.iter().zip(&ids) {
        let wrote = with_stream(ctx, key, |s| {
            reply_stream(&mut body, key, s, after, read.count)
        })?;
        if wrote == Some(true) {
            served += 1;
        }
    }
    let blocked = Blocked {
        block: read.block,
        count: read.count,
        try_now: serve_blocked,
        serve: serve_blocked,
    };
    // Stored for the serving side: `$` resolved, the count it will be served with.
    reply_or_block(ctx, keys, served, &body, blocked, |count| {
        let mut stored: Vec<Bytes> = vec![
            Bytes::from_static(b"xread"),
            Bytes::from_static(b"count"),
            Bytes::from(count.to_string()),
            Bytes::from_static(b"streams"),
        ];
        stored.extend(keys.iter().cloned());
        stored.extend(ids.iter().map(|id| Bytes::from(id.to_text())));
        stored
    })
}

/// A script may not ask a read to block (Redis keeps this error for Lua's sake, where other
/// blocking commands simply do not block inside a script).
pub(super) fn refuse_block_in_script(
    ctx: &Ctx<'_>,
    argv: &[Bytes],
    block: Option<u64>,
) -> Result<(), CmdError> {
    if block.is_none() || !(ctx.client.in_exec && ctx.server.scripting.run.running()) {
        return Ok(());
    }
    let mut message = b"ERR ".to_vec();
    message.extend_from_slice(&argv[0]);
    message.extend_from_slice(b" command is not allowed with BLOCK option from scripts");
    Err(CmdError::Raw(message))
}

/// How a read that served nothing waits: BLOCK's milliseconds (`None`: it does not), COUNT (0:
/// none), what may serve it just before it blocks, and what serves it once a key it waits on
/// changes.
pub(super) struct Blocked {
    pub block: Option<u64>,
    pub count: usize,
    pub try_now: ServeFn,
    pub serve: ServeFn,
}

/// Writes a read's streams (`served` of them, their replies in `body`): a map in RESP3, an array
/// in RESP2, as Redis's XREAD and XREADGROUP answer.
pub(super) fn reply_streams(out: &mut ReplyBuf, served: usize, body: &ReplyBuf) {
    if out.is_resp3() {
        out.map(served);
    } else {
        out.array(served);
    }
    out.raw(&body.to_vec());
}

/// The end of XREAD and XREADGROUP: the streams served, else a null array without BLOCK, else the
/// client blocks on `keys` with the arguments `stored` makes from the COUNT it will be served
/// with (Redis's default for a blocked read when COUNT is absent).
pub(super) fn reply_or_block(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    served: usize,
    body: &ReplyBuf,
    blocked: Blocked,
    stored: impl FnOnce(usize) -> Vec<Bytes>,
) -> CmdResult {
    if served > 0 {
        reply_streams(ctx.out, served, body);
        return Ok(());
    }
    let Some(block) = blocked.block else {
        ctx.out.null_array();
        return Ok(());
    };
    let count = if blocked.count == 0 {
        BLOCKED_DEFAULT_COUNT
    } else {
        blocked.count
    };
    let timeout = (block > 0).then(|| Duration::from_millis(block));
    blocking::block_on_after(
        ctx,
        keys,
        &stored(count),
        timeout,
        blocked.try_now,
        blocked.serve,
    )
}

/// Serves a blocked XREAD from `key` (its stored arguments: `xread count N streams keys ids`).
fn serve_blocked(ctx: &mut Ctx<'_>, key: &Bytes, stored: &[Bytes]) -> Result<Serve, CmdError> {
    let read = parse_args(stored, ctx.now_ms)?;
    let keys = &stored[read.keys_at..read.keys_at + read.streams];
    let Some(at) = keys.iter().position(|k| k == key) else {
        return Ok(Serve::NotReady);
    };
    let after = parse::id(&stored[read.keys_at + read.streams + at], 0, true)?;
    let mut body = ReplyBuf::frame(ctx.out.protocol, 256);
    let found =
        ctx.server
            .keyspace
            .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
                match view.peek(hash, key) {
                    None => Serve::NotReady,
                    Some(entry) => match entry.stream() {
                        None => Serve::WrongType,
                        Some(s) if reply_stream(&mut body, key, s, after, read.count) => {
                            Serve::Served
                        }
                        Some(_) => Serve::NotReady,
                    },
                }
            });
    if found == Serve::Served {
        reply_streams(ctx.out, 1, &body);
    }
    Ok(found)
}

/// Where XREAD's (`FROM` = 1) or XREADGROUP's (`FROM` = 4) keys are: after the first STREAMS
/// from argument `FROM` on, half of what follows (Redis's key specification).
pub fn streams_keys<const FROM: usize>(argv: &[Bytes]) -> Vec<usize> {
    let Some(at) = argv
        .iter()
        .enumerate()
        .skip(FROM)
        .find(|(_, a)| a.eq_ignore_ascii_case(b"streams"))
        .map(|(i, _)| i)
    else {
        return Vec::new();
    };
    let first = at + 1;
    let count = (argv.len() - first) / 2;
    (first..first + count).collect()
}
