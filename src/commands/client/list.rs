//! Which clients are connected: CLIENT LIST and CLIENT INFO (one line per client, in Redis 7.2's
//! field order, `lib-name` and `lib-ver` last; fields for state cachet does not keep carry Redis's
//! idle values) and CLIENT KILL with its filters.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

use crate::commands::args::is;
use crate::commands::{full_name, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::parse_i64;
use crate::state::clients::ClientInfo;
use crate::state::pubsub::Subscriber;
use crate::state::Server;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Master,
    PubSub,
}

/// Redis's `getClientTypeByName`.
fn client_type_by_name(name: &Bytes) -> Result<ClientType, CmdError> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Ok(ClientType::Normal),
        b"slave" | b"replica" => Ok(ClientType::Replica),
        b"master" => Ok(ClientType::Master),
        b"pubsub" => Ok(ClientType::PubSub),
        _ => Err(CmdError::UnknownClientType(name[..].into())),
    }
}

/// Redis's `getClientType`: a client subscribed to anything is a pub/sub client (replication does
/// not exist yet).
fn client_type(server: &Server, info: &ClientInfo) -> ClientType {
    match server.pubsub.subscriber(info.id) {
        Some(subscriber) if subscriber.total() > 0 => ClientType::PubSub,
        _ => ClientType::Normal,
    }
}

/// Open connections, the caller included, in id order. A killed connection is gone as far as
/// clients can tell (Redis frees it at once), even if its task has not finished closing yet.
fn live_clients(ctx: &Ctx<'_>) -> Vec<std::sync::Arc<ClientInfo>> {
    ctx.server
        .clients
        .all()
        .into_iter()
        .filter(|info| !info.killed.load(Ordering::Relaxed))
        .collect()
}

/// One CLIENT LIST line, without its newline. `me` is set when `info` is the caller, whose
/// current command and buffers are known exactly.
/// `running`: the command the caller runs, when the line is its own (empty for another client).
fn client_line(ctx: &Ctx<'_>, info: &ClientInfo, me: bool, running: &[Bytes]) -> String {
    let details = info.details();
    let argv_mem: usize = running.iter().map(|a| a.len()).sum();
    // Redis's query buffer still holds the command being run (26 bytes for CLIENT LIST): the
    // caller's is that command as sent; another client's, what it has read and not parsed.
    let query_buffer = match me {
        true => resp_len(running),
        false => details.query_buffer,
    };
    // Others publish their state once per batch; their output length is that of their last batch's
    // replies, which may still be waiting to be written.
    let (last_command, output_capacity, output_len) = if me {
        (ctx.client.last_command, ctx.out.capacity(), ctx.out.len())
    } else {
        (
            details.last_command,
            details.output_capacity,
            details.output_bytes,
        )
    };
    let cmd = match last_command {
        Some((parent, spec)) => full_name(parent, spec),
        None => "NULL".to_string(),
    };
    let subscriber = ctx.server.pubsub.subscriber(info.id);
    let count = |kind: fn(&Subscriber) -> &AtomicUsize| {
        subscriber
            .as_ref()
            .map_or(0, |s| kind(s).load(Ordering::Relaxed))
    };
    let (channels, patterns, shard_channels) = (
        count(|s| &s.channels),
        count(|s| &s.patterns),
        count(|s| &s.shard_channels),
    );
    // Messages waiting for a subscriber, and its replies while they are being written: its output
    // buffer in Redis's terms.
    let queued_messages = count(|s| &s.queued) + count(|s| &s.replies);
    let mut flags = String::new();
    // Redis's order: P x b d A e.
    if channels + patterns + shard_channels > 0 {
        flags.push('P');
    }
    let multi_queued = info.multi_queued.load(Ordering::Relaxed);
    if multi_queued >= 0 {
        flags.push('x');
    }
    if ctx.server.blocking.is_blocked(info.id) || info.postponed.load(Ordering::Relaxed) {
        flags.push('b');
    }
    let tracking = ctx.server.tracking.client(info.id);
    if let Some((redirect, prefixes)) = &tracking {
        flags.push('t');
        if *redirect != 0 && ctx.server.clients.get(*redirect).is_none() {
            flags.push('R');
        }
        if !prefixes.is_empty() || ctx.server.tracking.is_bcast(info.id) {
            flags.push('B');
        }
    }
    let redir = tracking.map_or(-1, |(redirect, _)| redirect as i64);
    if info.dirty_cas.load(Ordering::Relaxed) {
        flags.push('d');
    }
    if info.killed.load(Ordering::Relaxed) {
        flags.push('A');
    }
    if info.no_evict.load(Ordering::Relaxed) {
        flags.push('e');
    }
    if info.no_touch.load(Ordering::Relaxed) {
        flags.push('T');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let name = details
        .name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let lib = |value: &Option<Bytes>| {
        value
            .as_deref()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let (lib_name, lib_ver) = (lib(&details.lib_name), lib(&details.lib_ver));
    let query_total = query_buffer + details.query_buffer_free;
    let tot_mem = query_total
        + output_capacity
        + argv_mem
        + std::mem::size_of::<ClientInfo>()
        + std::mem::size_of::<crate::state::clients::ClientState>();
    let mut line = String::with_capacity(320);
    let _ = write!(
        line,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll=0 omem={} tot-mem={} events=r cmd={} user={} redir={} resp={} lib-name={} lib-ver={}",
        info.id,
        info.addr,
        info.laddr,
        details.fd,
        name,
        info.created.elapsed().as_secs(),
        if me { 0 } else { info.idle().as_secs() },
        flags,
        info.db.load(Ordering::Relaxed),
        channels,
        patterns,
        shard_channels,
        multi_queued,
        query_buffer,
        details.query_buffer_free,
        argv_mem,
        info.multi_mem.load(Ordering::Relaxed),
        output_capacity,
        output_capacity,
        output_len,
        queued_messages,
        tot_mem + queued_messages,
        cmd,
        String::from_utf8_lossy(&details.user),
        redir,
        info.resp.load(Ordering::Relaxed),
        lib_name,
        lib_ver,
    );
    line
}

/// The line of any client, choosing between what the caller knows of itself and what others publish.
pub(crate) fn line_for(ctx: &Ctx<'_>, info: &ClientInfo, args: &[Bytes]) -> String {
    if info.id == ctx.client.id {
        client_line(ctx, info, true, args)
    } else {
        client_line(ctx, info, false, &[])
    }
}

/// The bytes of `args` as a RESP request: `*<n>\r\n` and `$<len>\r\n<arg>\r\n` each.
fn resp_len(args: &[Bytes]) -> usize {
    let digits = |n: usize| n.checked_ilog10().map_or(1, |d| d as usize + 1);
    3 + digits(args.len())
        + args
            .iter()
            .map(|a| 5 + digits(a.len()) + a.len())
            .sum::<usize>()
}

/// CLIENT LIST and INFO are verbatim text in RESP3 and bulk strings in RESP2.
fn reply_text(ctx: &mut Ctx<'_>, text: &str) {
    ctx.out.verbatim("txt", text.as_bytes());
}

pub(super) fn client_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut listing = String::new();
    match args {
        [_, _] => {
            for info in live_clients(ctx) {
                listing.push_str(&line_for(ctx, &info, args));
                listing.push('\n');
            }
        }
        [_, _, option, kind] if is(option, "type") => {
            let wanted = client_type_by_name(kind)?;
            for info in live_clients(ctx)
                .into_iter()
                .filter(|info| client_type(ctx.server, info) == wanted)
            {
                listing.push_str(&line_for(ctx, &info, args));
                listing.push('\n');
            }
        }
        [_, _, option, ids @ ..] if is(option, "id") && !ids.is_empty() => {
            let mut wanted = Vec::with_capacity(ids.len());
            for id in ids {
                wanted.push(parse_i64(id).ok_or(CmdError::InvalidClientId)?);
            }
            for id in wanted {
                let found = u64::try_from(id)
                    .ok()
                    .and_then(|id| ctx.server.clients.get(id));
                if let Some(info) = found.filter(|info| !info.killed.load(Ordering::Relaxed)) {
                    listing.push_str(&line_for(ctx, &info, args));
                    listing.push('\n');
                }
            }
        }
        _ => return Err(CmdError::Syntax),
    }
    reply_text(ctx, &listing);
    Ok(())
}

pub(super) fn client_info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let info = ctx.client.info.clone();
    let mut line = line_for(ctx, &info, args);
    line.push('\n');
    reply_text(ctx, &line);
    Ok(())
}

/// The filters of CLIENT KILL; every one given must match.
#[derive(Default)]
struct KillFilter<'a> {
    id: Option<u64>,
    kind: Option<ClientType>,
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    /// Seconds: only clients connected for longer match.
    max_age: Option<u64>,
    /// Clients authenticated as this ACL user.
    user: Option<&'a [u8]>,
    skip_me: bool,
}

impl KillFilter<'_> {
    fn matches(&self, server: &Server, info: &ClientInfo, my_id: u64) -> bool {
        self.addr
            .is_none_or(|addr| info.addr.to_string().as_bytes() == addr)
            && self
                .laddr
                .is_none_or(|laddr| info.laddr.to_string().as_bytes() == laddr)
            && self
                .kind
                .is_none_or(|kind| client_type(server, info) == kind)
            && self.id.is_none_or(|id| info.id == id)
            && self
                .max_age
                .is_none_or(|age| info.created.elapsed().as_secs() > age)
            && self.user.is_none_or(|user| info.details().user == user)
            && !(self.skip_me && info.id == my_id)
    }
}

fn parse_kill_filter<'a>(server: &Server, args: &'a [Bytes]) -> Result<KillFilter<'a>, CmdError> {
    let mut filter = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    let mut pairs = args[2..].chunks(2);
    for pair in &mut pairs {
        let [option, value] = pair else {
            return Err(CmdError::Syntax);
        };
        if is(option, "id") {
            let id = parse_i64(value)
                .filter(|&id| id >= 1)
                .ok_or(CmdError::ClientIdNotPositive)?;
            filter.id = Some(id as u64);
        } else if is(option, "maxage") {
            let age = parse_i64(value).ok_or(CmdError::MaxAgeNotInteger)?;
            if age <= 0 {
                return Err(CmdError::MaxAgeNotPositive);
            }
            filter.max_age = Some(age as u64);
        } else if is(option, "type") {
            filter.kind = Some(client_type_by_name(value)?);
        } else if is(option, "addr") {
            filter.addr = Some(value);
        } else if is(option, "laddr") {
            filter.laddr = Some(value);
        } else if is(option, "user") {
            if server.acl.get(value).is_none() {
                return Err(CmdError::NoSuchUser(value[..].into()));
            }
            filter.user = Some(value);
        } else if is(option, "skipme") {
            filter.skip_me = if is(value, "yes") {
                true
            } else if is(value, "no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(filter)
}

/// `CLIENT KILL ip:port` (answers +OK or an error, and may kill the caller) or
/// `CLIENT KILL <filter> <value> ...` (answers how many were killed, and skips the caller by default).
pub(super) fn client_kill(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let old_form = args.len() == 3;
    let filter = if old_form {
        KillFilter {
            addr: Some(&args[2]),
            ..KillFilter::default()
        }
    } else {
        parse_kill_filter(ctx.server, args)?
    };
    let mut killed = 0;
    for info in live_clients(ctx) {
        if !filter.matches(ctx.server, &info, ctx.client.id) {
            continue;
        }
        if info.id == ctx.client.id {
            ctx.client.close_after_reply = true;
        } else {
            info.request_kill();
        }
        killed += 1;
    }
    if !old_form {
        ctx.out.int(killed);
    } else if killed == 0 {
        return Err(CmdError::NoSuchClient);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_types_by_name() {
        assert_eq!(
            client_type_by_name(&Bytes::from_static(b"NORMAL")),
            Ok(ClientType::Normal)
        );
        assert_eq!(
            client_type_by_name(&Bytes::from_static(b"slave")),
            Ok(ClientType::Replica)
        );
        assert_eq!(
            client_type_by_name(&Bytes::from_static(b"foo")),
            Err(CmdError::UnknownClientType(b"foo"[..].into()))
        );
    }
}
