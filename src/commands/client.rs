//! Connection commands: the handshake (HELLO, AUTH), the connection's own state (SELECT, QUIT,
//! RESET) and CLIENT, which reads and changes the registry of every connected client.
//!
//! There is one user, `default`, whose password is the `requirepass` directive (none when empty),
//! which is what Redis 7 does without ACL rules. CLIENT LIST lines follow Redis 7.0's field order;
//! fields that describe state cachet does not keep (pub/sub counts, MULTI) carry Redis's idle values.

use crate::commands::reply_help;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

use super::args::{int, is, text};
use super::{full_name, CommandSpec, Ctx, SPEC};
use crate::error::{CmdError, CmdResult};
use crate::protocol::{parse_i64, Protocol};
use crate::server::clients::{ClientInfo, ReplyMode};
use crate::server::pubsub::Subscriber;
use crate::server::{Server, REDIS_COMPAT_VERSION};

const CONNECTION_FLAGS: &[&str] = &[
    "noscript",
    "loading",
    "stale",
    "fast",
    "no_auth",
    "allow_busy",
];
const CLIENT_FLAGS: &[&str] = &["noscript", "loading", "stale"];
const CLIENT_ADMIN_FLAGS: &[&str] = &["admin", "noscript", "loading", "stale"];
const CLIENT_ACL: &[&str] = &["@slow", "@connection"];
const CLIENT_ADMIN_ACL: &[&str] = &["@admin", "@slow", "@dangerous", "@connection"];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "auth",
        arity: -2,
        flags: CONNECTION_FLAGS,
        acl_categories: &["@fast", "@connection"],
        group: "connection",
        summary: "Authenticates the connection.",
        complexity: "O(N) where N is the number of passwords defined for the user",
        handler: Some(auth),
        ..SPEC
    },
    CommandSpec {
        name: "hello",
        arity: -1,
        flags: CONNECTION_FLAGS,
        acl_categories: &["@fast", "@connection"],
        group: "connection",
        summary: "Handshakes with the Redis server.",
        since: "6.0.0",
        handler: Some(hello),
        ..SPEC
    },
    CommandSpec {
        name: "select",
        arity: 2,
        flags: &["loading", "stale", "fast"],
        acl_categories: &["@fast", "@connection"],
        group: "connection",
        summary: "Changes the selected database.",
        handler: Some(select),
        ..SPEC
    },
    CommandSpec {
        name: "quit",
        arity: -1,
        flags: CONNECTION_FLAGS,
        acl_categories: &["@fast", "@connection"],
        group: "connection",
        summary: "Closes the connection.",
        handler: Some(quit),
        ..SPEC
    },
    CommandSpec {
        name: "reset",
        arity: 1,
        flags: CONNECTION_FLAGS,
        acl_categories: &["@fast", "@connection"],
        group: "connection",
        summary: "Resets the connection.",
        since: "6.2.0",
        handler: Some(reset),
        ..SPEC
    },
    CommandSpec {
        name: "client",
        arity: -2,
        acl_categories: &["@slow"],
        group: "connection",
        summary: "A container for client connection commands.",
        since: "2.4.0",
        complexity: "Depends on subcommand.",
        subcommands: CLIENT_SUBCOMMANDS,
        ..SPEC
    },
];

static CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "id",
        arity: 2,
        flags: CLIENT_FLAGS,
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Returns the unique client ID of the connection.",
        since: "5.0.0",
        handler: Some(client_id),
        ..SPEC
    },
    CommandSpec {
        name: "setname",
        arity: 3,
        flags: CLIENT_FLAGS,
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Sets the connection name.",
        since: "2.6.9",
        handler: Some(client_setname),
        ..SPEC
    },
    CommandSpec {
        name: "getname",
        arity: 2,
        flags: CLIENT_FLAGS,
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Returns the name of the connection.",
        since: "2.6.9",
        handler: Some(client_getname),
        ..SPEC
    },
    CommandSpec {
        name: "list",
        arity: -2,
        flags: CLIENT_ADMIN_FLAGS,
        acl_categories: CLIENT_ADMIN_ACL,
        group: "connection",
        summary: "Lists open connections.",
        since: "2.4.0",
        complexity: "O(N) where N is the number of client connections",
        handler: Some(client_list),
        ..SPEC
    },
    CommandSpec {
        name: "info",
        arity: 2,
        flags: CLIENT_FLAGS,
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Returns information about the connection.",
        since: "6.2.0",
        handler: Some(client_info),
        ..SPEC
    },
    CommandSpec {
        name: "kill",
        arity: -3,
        flags: CLIENT_ADMIN_FLAGS,
        acl_categories: CLIENT_ADMIN_ACL,
        group: "connection",
        summary: "Terminates open connections.",
        since: "2.4.0",
        complexity: "O(N) where N is the number of client connections",
        handler: Some(client_kill),
        ..SPEC
    },
    CommandSpec {
        name: "no-evict",
        arity: 3,
        flags: CLIENT_ADMIN_FLAGS,
        acl_categories: CLIENT_ADMIN_ACL,
        group: "connection",
        summary: "Sets the client eviction mode of the connection.",
        since: "7.0.0",
        handler: Some(client_no_evict),
        ..SPEC
    },
    CommandSpec {
        name: "reply",
        arity: 3,
        flags: CLIENT_FLAGS,
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Instructs the server whether to reply to commands.",
        since: "3.2.0",
        handler: Some(client_reply),
        ..SPEC
    },
    CommandSpec {
        name: "unblock",
        arity: -3,
        flags: CLIENT_ADMIN_FLAGS,
        acl_categories: CLIENT_ADMIN_ACL,
        group: "connection",
        summary: "Unblock a client blocked in a blocking command from a different connection",
        since: "5.0.0",
        complexity: "O(log N) where N is the number of client connections",
        handler: Some(client_unblock),
        ..SPEC
    },
    CommandSpec {
        name: "tracking",
        arity: -3,
        flags: CLIENT_FLAGS,
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Enable or disable server assisted client side caching support",
        since: "6.0.0",
        complexity: "O(1). Some options may introduce additional complexity.",
        handler: Some(super::client_tracking::client_tracking),
        ..SPEC
    },
    CommandSpec {
        name: "caching",
        arity: 3,
        flags: CLIENT_FLAGS,
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Instruct the server about tracking or not keys in the next request",
        since: "6.0.0",
        complexity: "O(1)",
        handler: Some(super::client_tracking::client_caching),
        ..SPEC
    },
    CommandSpec {
        name: "getredir",
        arity: 2,
        flags: CLIENT_FLAGS,
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Get tracking notifications redirection client ID if any",
        since: "6.0.0",
        complexity: "O(1)",
        handler: Some(super::client_tracking::client_getredir),
        ..SPEC
    },
    CommandSpec {
        name: "trackinginfo",
        arity: 2,
        flags: CLIENT_FLAGS,
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Return information about server assisted client side caching for the current connection",
        since: "6.2.0",
        complexity: "O(1)",
        handler: Some(super::client_tracking::client_trackinginfo),
        ..SPEC
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: &["loading", "stale"],
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Returns helpful text about the different subcommands.",
        since: "5.0.0",
        handler: Some(client_help),
        ..SPEC
    },
];

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
const NO_PASSWORD_SET: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
const BAD_CLIENT_NAME: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";
const DEFAULT_USER: &[u8] = b"default";

/// Checks `username`/`password` against the only user, `default`. Without `requirepass` that user
/// has no password and any password is accepted, as Redis's `nopass` default user does.
fn credentials_ok(ctx: &Ctx<'_>, username: &[u8], password: &[u8]) -> bool {
    if username != DEFAULT_USER {
        return false;
    }
    let config = ctx.server.config.read();
    config.requirepass.is_empty() || constant_time_eq(&config.requirepass, password)
}

/// Compares without an early exit, so the time taken does not tell how many bytes matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, byte) in b.iter().enumerate() {
        diff |= (a.get(i).copied().unwrap_or(0) ^ byte) as usize;
    }
    diff == 0
}

fn auth(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (username, password): (&[u8], &[u8]) = match args {
        [_, password] => {
            if ctx.server.config.read().requirepass.is_empty() {
                return Err(CmdError::msg(NO_PASSWORD_SET));
            }
            (DEFAULT_USER, password)
        }
        [_, username, password] => (username, password),
        _ => return Err(CmdError::Syntax),
    };
    if !credentials_ok(ctx, username, password) {
        return Err(CmdError::msg(WRONGPASS));
    }
    ctx.client.authenticated = true;
    ctx.out.ok();
    Ok(())
}

/// Redis's `validateClientName`: printable ASCII without spaces.
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// Copies the name: the argument is a slice of the connection's read buffer, which a kept
/// reference would pin for as long as the name lives.
fn set_name(ctx: &mut Ctx<'_>, name: &[u8]) {
    ctx.client.info.details().name = (!name.is_empty()).then(|| Bytes::copy_from_slice(name));
}

fn set_protocol(ctx: &mut Ctx<'_>, protocol: Protocol) {
    ctx.out.protocol = protocol;
    let version = if protocol == Protocol::Resp3 { 3 } else { 2 };
    ctx.client.info.resp.store(version, Ordering::Relaxed);
}

fn hello(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut protocol = None;
    if let Some(version) = args.get(1) {
        let version = parse_i64(version).ok_or_else(|| {
            CmdError::msg("ERR Protocol version is not an integer or out of range")
        })?;
        protocol = Some(match version {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(CmdError::msg("NOPROTO unsupported protocol version")),
        });
    }
    let mut credentials = None;
    let mut name = None;
    let mut i = 2;
    while let Some(option) = args.get(i) {
        let more = args.len() - i - 1;
        if is(option, "auth") && more >= 2 {
            credentials = Some((&args[i + 1], &args[i + 2]));
            i += 3;
        } else if is(option, "setname") && more >= 1 {
            if !valid_client_name(&args[i + 1]) {
                return Err(CmdError::msg(BAD_CLIENT_NAME));
            }
            name = Some(&args[i + 1]);
            i += 2;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                text(option)
            )));
        }
    }
    if let Some((username, password)) = credentials {
        if !credentials_ok(ctx, username, password) {
            return Err(CmdError::msg(WRONGPASS));
        }
        ctx.client.authenticated = true;
    }
    if !ctx.client.authenticated {
        return Err(CmdError::msg(HELLO_NOAUTH));
    }
    if let Some(name) = name {
        set_name(ctx, name);
    }
    if let Some(protocol) = protocol {
        set_protocol(ctx, protocol);
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_COMPAT_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if out.is_resp3() { 3 } else { 2 });
    out.bulk(b"id");
    out.int(ctx.client.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

fn select(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let db = int(&args[1])?;
    // Redis reads the index as a C int first: larger values are "not an integer".
    if i32::try_from(db).is_err() {
        return Err(CmdError::NotInteger);
    }
    if db < 0 || db as usize >= ctx.server.keyspace.databases() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.client.select(db as usize);
    ctx.out.ok();
    Ok(())
}

fn quit(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

/// Back to the state of a new connection (Redis's `clearClientConnectionState`).
fn reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    super::multi::reset_client(ctx.server, ctx.client);
    ctx.client.select(0);
    ctx.client.pubsub.clear();
    super::client_tracking::disable(ctx);
    set_protocol(ctx, Protocol::Resp2);
    ctx.client.authenticated = ctx.server.config.read().requirepass.is_empty();
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.skip_next = false;
    ctx.client.info.details().name = None;
    ctx.client.info.no_evict.store(false, Ordering::Relaxed);
    ctx.out.simple("RESET");
    Ok(())
}

fn client_id(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.client.id as i64);
    Ok(())
}

fn client_setname(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if !valid_client_name(&args[2]) {
        return Err(CmdError::msg(BAD_CLIENT_NAME));
    }
    set_name(ctx, &args[2]);
    ctx.out.ok();
    Ok(())
}

fn client_getname(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    match ctx.client.info.name() {
        Some(name) => ctx.out.bulk(&name),
        None => ctx.out.null(),
    }
    Ok(())
}

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
        _ => Err(CmdError::msg(format!(
            "ERR Unknown client type '{}'",
            text(name)
        ))),
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
fn client_line(ctx: &Ctx<'_>, info: &ClientInfo, me: bool, argv_mem: usize) -> String {
    let details = info.details();
    // Others publish their state once per batch; their output length is that of their last batch's
    // replies, which may still be waiting to be written.
    let (last_command, output_capacity, output_len) = if me {
        (
            ctx.client.last_command,
            ctx.out.buf.capacity(),
            ctx.out.len(),
        )
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
    // Messages waiting for a subscriber: its output buffer in Redis's terms.
    let queued_messages = count(|s| &s.queued);
    let mut flags = String::new();
    // Redis's order: P x b d A e.
    if channels + patterns + shard_channels > 0 {
        flags.push('P');
    }
    let multi_queued = info.multi_queued.load(Ordering::Relaxed);
    if multi_queued >= 0 {
        flags.push('x');
    }
    if ctx.server.blocking.is_blocked(info.id) {
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
    if flags.is_empty() {
        flags.push('N');
    }
    let name = details
        .name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let query_total = details.query_buffer + details.query_buffer_free;
    let tot_mem = query_total
        + output_capacity
        + argv_mem
        + std::mem::size_of::<ClientInfo>()
        + std::mem::size_of::<crate::server::clients::ClientState>();
    let mut line = String::with_capacity(320);
    let _ = write!(
        line,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll=0 omem={} tot-mem={} events=r cmd={} user=default redir={} resp={}",
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
        details.query_buffer,
        details.query_buffer_free,
        argv_mem,
        info.multi_mem.load(Ordering::Relaxed),
        output_capacity,
        output_capacity,
        output_len,
        queued_messages,
        tot_mem + queued_messages,
        cmd,
        redir,
        info.resp.load(Ordering::Relaxed),
    );
    line
}

/// The line of any client, choosing between what the caller knows of itself and what others publish.
fn line_for(ctx: &Ctx<'_>, info: &ClientInfo, args: &[Bytes]) -> String {
    if info.id == ctx.client.id {
        client_line(ctx, info, true, args.iter().map(|a| a.len()).sum())
    } else {
        client_line(ctx, info, false, 0)
    }
}

/// CLIENT LIST and INFO are verbatim text in RESP3 and bulk strings in RESP2.
fn reply_text(ctx: &mut Ctx<'_>, text: &str) {
    ctx.out.verbatim("txt", text.as_bytes());
}

fn client_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
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
                wanted.push(parse_i64(id).ok_or_else(|| CmdError::msg("ERR Invalid client ID"))?);
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

fn client_info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
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
            && !(self.skip_me && info.id == my_id)
    }
}

fn parse_kill_filter(args: &[Bytes]) -> Result<KillFilter<'_>, CmdError> {
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
                .ok_or_else(|| CmdError::msg("ERR client-id should be greater than 0"))?;
            filter.id = Some(id as u64);
        } else if is(option, "type") {
            filter.kind = Some(client_type_by_name(value)?);
        } else if is(option, "addr") {
            filter.addr = Some(value);
        } else if is(option, "laddr") {
            filter.laddr = Some(value);
        } else if is(option, "user") {
            if &value[..] != DEFAULT_USER {
                return Err(CmdError::msg(format!("ERR No such user '{}'", text(value))));
            }
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
fn client_kill(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let old_form = args.len() == 3;
    let filter = if old_form {
        KillFilter {
            addr: Some(&args[2]),
            ..KillFilter::default()
        }
    } else {
        parse_kill_filter(args)?
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
        return Err(CmdError::msg("ERR No such client"));
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn on_off(arg: &Bytes) -> Result<bool, CmdError> {
    if is(arg, "on") {
        Ok(true)
    } else if is(arg, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn client_no_evict(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let on = on_off(&args[2])?;
    ctx.client.info.no_evict.store(on, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

/// OFF and SKIP answer nothing, not even to themselves; `dispatch` drops replies accordingly.
fn client_reply(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mode = &args[2];
    if is(mode, "on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.client.skip_next = false;
        ctx.out.ok();
    } else if is(mode, "off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if is(mode, "skip") {
        // Ignored while OFF; while this command's own reply is being skipped, the next one is too.
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.skip_next = true;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

const CLIENT_HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
];

fn client_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(ctx.out, "CLIENT", CLIENT_HELP);
    Ok(())
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends another client's blocking command as its timeout
/// would, or with the UNBLOCKED error.
fn client_unblock(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::msg(
            "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.",
        ));
    }
    let with_error = match args.get(3) {
        None => false,
        Some(reason) if reason.eq_ignore_ascii_case(b"timeout") => false,
        Some(reason) if reason.eq_ignore_ascii_case(b"error") => true,
        Some(_) => {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let id = int(&args[2])?;
    let unblocked = u64::try_from(id).is_ok_and(|id| ctx.server.blocking.unblock(id, with_error));
    ctx.out.int(i64::from(unblocked));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_are_printable_ascii_without_spaces() {
        assert!(valid_client_name(b"worker-1"));
        assert!(valid_client_name(b""));
        assert!(!valid_client_name(b"a b"));
        assert!(!valid_client_name(b"a\nb"));
        assert!(!valid_client_name("caf\u{e9}".as_bytes()));
    }

    #[test]
    fn password_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret!"));
        assert!(!constant_time_eq(b"secret", b"secre"));
        assert!(!constant_time_eq(b"", b"x"));
    }

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
            client_type_by_name(&Bytes::from_static(b"foo"))
                .unwrap_err()
                .message(),
            "ERR Unknown client type 'foo'"
        );
    }
}
