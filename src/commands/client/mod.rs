//! Connection commands: the handshake (HELLO, AUTH), the connection's own state (SELECT, QUIT,
//! RESET) and CLIENT, which reads and changes the registry of every connected client.
//!
//! AUTH and HELLO AUTH check ACL users (`state::acl`); `requirepass` is the default user's
//! password, as in Redis 7. CLIENT LIST, INFO and KILL: `list.rs`;
//! CLIENT TRACKING and its kin: `tracking.rs`.

pub mod list;
pub mod tracking;

use crate::commands::reply_help;
use crate::commands::{AclCategories, CommandFlags};
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::args::{int, is};
use super::{CommandSpec, Ctx, SPEC};
use crate::error::{CmdError, CmdResult};
use crate::protocol::{parse_i64, Protocol};
use crate::state::acl::log::Reason;
use crate::state::acl::DEFAULT_USER;
use crate::state::clients::ReplyMode;
use crate::state::pause::PauseMode;
use crate::state::REDIS_COMPAT_VERSION;

const CONNECTION_FLAGS: CommandFlags = flags!(NOSCRIPT, LOADING, STALE, FAST, NO_AUTH, ALLOW_BUSY);
const CLIENT_FLAGS: CommandFlags = flags!(NOSCRIPT, LOADING, STALE);
const CLIENT_ADMIN_FLAGS: CommandFlags = flags!(ADMIN, NOSCRIPT, LOADING, STALE);
const CLIENT_ACL: AclCategories = acl!(SLOW, CONNECTION);
const CLIENT_ADMIN_ACL: AclCategories = acl!(ADMIN, SLOW, DANGEROUS, CONNECTION);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "auth",
        arity: -2,
        flags: CONNECTION_FLAGS,
        acl_categories: acl!(FAST, CONNECTION),
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
        acl_categories: acl!(FAST, CONNECTION),
        group: "connection",
        summary: "Handshakes with the Redis server.",
        since: "6.0.0",
        handler: Some(hello),
        ..SPEC
    },
    CommandSpec {
        name: "select",
        arity: 2,
        flags: flags!(LOADING, STALE, FAST),
        acl_categories: acl!(FAST, CONNECTION),
        group: "connection",
        summary: "Changes the selected database.",
        handler: Some(select),
        ..SPEC
    },
    CommandSpec {
        name: "quit",
        arity: -1,
        flags: CONNECTION_FLAGS,
        acl_categories: acl!(FAST, CONNECTION),
        group: "connection",
        summary: "Closes the connection.",
        handler: Some(quit),
        ..SPEC
    },
    CommandSpec {
        name: "reset",
        arity: 1,
        flags: CONNECTION_FLAGS,
        acl_categories: acl!(FAST, CONNECTION),
        group: "connection",
        summary: "Resets the connection.",
        since: "6.2.0",
        handler: Some(reset),
        ..SPEC
    },
    CommandSpec {
        name: "client",
        arity: -2,
        acl_categories: acl!(SLOW),
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
        handler: Some(list::client_list),
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
        handler: Some(list::client_info),
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
        handler: Some(list::client_kill),
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
        name: "no-touch",
        arity: 3,
        flags: CLIENT_FLAGS,
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        since: "7.2.0",
        handler: Some(client_no_touch),
        ..SPEC
    },
    CommandSpec {
        name: "setinfo",
        arity: 4,
        flags: CLIENT_FLAGS,
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Sets information specific to the client or connection.",
        since: "7.2.0",
        handler: Some(client_setinfo),
        ..SPEC
    },
    CommandSpec {
        name: "pause",
        arity: -3,
        flags: CLIENT_ADMIN_FLAGS,
        acl_categories: CLIENT_ADMIN_ACL,
        group: "connection",
        summary: "Suspends commands processing.",
        since: "3.0.0",
        handler: Some(client_pause),
        ..SPEC
    },
    CommandSpec {
        name: "unpause",
        arity: 2,
        flags: CLIENT_ADMIN_FLAGS,
        acl_categories: CLIENT_ADMIN_ACL,
        group: "connection",
        summary: "Resumes processing commands from paused clients.",
        since: "6.2.0",
        complexity: "O(N) Where N is the number of paused clients",
        handler: Some(client_unpause),
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
        handler: Some(tracking::client_tracking),
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
        handler: Some(tracking::client_caching),
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
        handler: Some(tracking::client_getredir),
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
        handler: Some(tracking::client_trackinginfo),
        ..SPEC
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: flags!(LOADING, STALE),
        acl_categories: CLIENT_ACL,
        group: "connection",
        summary: "Returns helpful text about the different subcommands.",
        since: "5.0.0",
        handler: Some(client_help),
        ..SPEC
    },
];

/// Redis's `ACLAuthenticateUser`: right credentials make the connection run as the user;
/// wrong ones (or a disabled or unknown user) are refused and logged in ACL LOG.
fn authenticate(ctx: &mut Ctx<'_>, args: &[Bytes], username: &[u8], password: &[u8]) -> CmdResult {
    let acl = &ctx.server.acl;
    // Read before the user: a change in between is picked up by the next command.
    let epoch = acl.epoch();
    match acl.get(username) {
        Some(user) if user.password_ok(password) => {
            ctx.client.authenticated = true;
            ctx.client.set_user(user, epoch);
            Ok(())
        }
        _ => {
            super::acl::log_refusal(
                ctx,
                Reason::Auth,
                super::acl::context_of(ctx),
                Bytes::copy_from_slice(&args[0]),
                Bytes::copy_from_slice(username),
                args,
            );
            Err(CmdError::WrongPass)
        }
    }
}

fn auth(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (username, password): (&[u8], &[u8]) = match args {
        [_, password] => {
            if ctx.server.acl.default_user().nopass {
                return Err(CmdError::NoPasswordSet);
            }
            (DEFAULT_USER, password)
        }
        [_, username, password] => (username, password),
        _ => return Err(CmdError::Syntax),
    };
    authenticate(ctx, args, username, password)?;
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
        let version = parse_i64(version).ok_or(CmdError::ProtocolVersionNotInteger)?;
        protocol = Some(match version {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(CmdError::UnsupportedProtocol),
        });
    }
    // As Redis's helloCommand, each option takes effect as it is read: an AUTH or a SETNAME
    // before a bad option stays done.
    let mut i = 2;
    while let Some(option) = args.get(i) {
        let more = args.len() - i - 1;
        if is(option, "auth") && more >= 2 {
            authenticate(ctx, args, &args[i + 1], &args[i + 2])?;
            i += 3;
        } else if is(option, "setname") && more >= 1 {
            if !valid_client_name(&args[i + 1]) {
                return Err(CmdError::BadClientName);
            }
            set_name(ctx, &args[i + 1]);
            i += 2;
        } else {
            return Err(CmdError::HelloOption(option[..].into()));
        }
    }
    if !ctx.client.authenticated {
        return Err(CmdError::HelloNoAuth);
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
    out.bulk(if ctx.server.cluster.enabled() {
        &b"cluster"[..]
    } else {
        b"standalone"
    });
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

fn select(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let db = super::args::c_int(&args[1])?;
    if ctx.server.cluster.enabled() && db != 0 {
        return Err(CmdError::Cluster(
            crate::error::ClusterError::SelectNotAllowed,
        ));
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
    if ctx.client.monitor {
        ctx.server.monitors.remove(ctx.client.id);
        ctx.client.monitor = false;
    }
    tracking::disable(ctx);
    set_protocol(ctx, Protocol::Resp2);
    // Back to the default user, authenticated only if it needs no password (Redis's
    // `clearClientConnectionState`).
    let acl = &ctx.server.acl;
    let epoch = acl.epoch();
    let default = acl.default_user();
    ctx.client.authenticated = default.nopass && default.enabled;
    ctx.client.set_user(default, epoch);
    ctx.client.peer = false;
    ctx.client.peer_challenge = None;
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.skip_next = false;
    ctx.client.info.details().name = None;
    ctx.client.info.no_evict.store(false, Ordering::Relaxed);
    ctx.client.info.no_touch.store(false, Ordering::Relaxed);
    ctx.out.simple("RESET");
    Ok(())
}

fn client_id(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.client.id as i64);
    Ok(())
}

fn client_setname(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if !valid_client_name(&args[2]) {
        return Err(CmdError::BadClientName);
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

fn client_no_touch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let on = on_off(&args[2])?;
    ctx.client.info.no_touch.store(on, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

/// CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2): shown in CLIENT LIST; an empty value clears.
fn client_setinfo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (attribute, value) = (&args[2], &args[3]);
    let is_name = is(attribute, "lib-name");
    if !is_name && !is(attribute, "lib-ver") {
        return Err(CmdError::SetinfoOption(attribute[..].into()));
    }
    if !valid_client_name(value) {
        return Err(CmdError::SetinfoValue(attribute[..].into()));
    }
    let value = (!value.is_empty()).then(|| Bytes::copy_from_slice(value));
    let mut details = ctx.client.info.details();
    if is_name {
        details.lib_name = value;
    } else {
        details.lib_ver = value;
    }
    drop(details);
    ctx.out.ok();
    Ok(())
}

/// CLIENT PAUSE timeout [WRITE|ALL]: the mode is checked before the timeout, as Redis does.
fn client_pause(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::UnknownSubcommandOrArity {
            command: "client",
            sub: args[1][..].into(),
        });
    }
    let mode = match args.get(3) {
        None => PauseMode::All,
        Some(mode) if is(mode, "write") => PauseMode::Write,
        Some(mode) if is(mode, "all") => PauseMode::All,
        Some(_) => return Err(CmdError::PauseMode),
    };
    let timeout = parse_i64(&args[2]).ok_or(CmdError::TimeoutNotInteger)?;
    if timeout < 0 {
        return Err(CmdError::TimeoutNegative);
    }
    let now = crate::engine::now_ms();
    let end = now.saturating_add(timeout as u64);
    let until = ctx.server.pause.pause(mode, end, now);
    ctx.server.keyspace.pause_changes_until(until);
    ctx.out.ok();
    Ok(())
}

fn client_unpause(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.server.pause.unpause();
    ctx.server.keyspace.pause_changes_until(0);
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
    "    * MAXAGE <maxage>",
    "      Kill connections older than the specified age.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
];

fn client_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(ctx.out, "CLIENT", CLIENT_HELP);
    Ok(())
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends another client's blocking command as its timeout
/// would, or with the UNBLOCKED error.
fn client_unblock(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::UnknownSubcommandOrArity {
            command: "client",
            sub: args[1][..].into(),
        });
    }
    let with_error = match args.get(3) {
        None => false,
        Some(reason) if reason.eq_ignore_ascii_case(b"timeout") => false,
        Some(reason) if reason.eq_ignore_ascii_case(b"error") => true,
        Some(_) => return Err(CmdError::UnblockReason),
    };
    let id = int(&args[2])?;
    let unblocked = u64::try_from(id).is_ok_and(|id| ctx.server.blocking.unblock(id, with_error));
    if unblocked && with_error {
        // The unblocked client is answered an error.
        super::observe::error_reply(ctx.server, &CmdError::Unblocked.message_bytes());
    }
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
}
