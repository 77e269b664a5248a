//! What a standalone master without replicas, persistence or modules answers: WAIT, WAITAOF,
//! ROLE, REPLICAOF/SLAVEOF, MODULE, and LOLWUT.

use std::time::Duration;

use bytes::Bytes;

use super::super::args::is;
use super::super::reply_help;
use super::super::{CommandSpec, Ctx, SPEC};
use crate::error::{CmdError, CmdResult};
use crate::protocol::parse_i64;
use crate::state::blocking::{self, OnTimeout};
use crate::state::config::find_directive;
use crate::state::REDIS_COMPAT_VERSION;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "wait", arity: 3, flags: flags!(NOSCRIPT), acl_categories: acl!(SLOW, CONNECTION), group: "generic", summary: "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", since: "3.0.0", handler: Some(wait), ..SPEC },
    CommandSpec { name: "waitaof", arity: 4, flags: flags!(NOSCRIPT), acl_categories: acl!(SLOW, CONNECTION), group: "generic", summary: "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the master and/or replicas.", since: "7.2.0", handler: Some(waitaof), ..SPEC },
    CommandSpec { name: "role", arity: 1, flags: flags!(NOSCRIPT, LOADING, STALE, FAST), acl_categories: acl!(ADMIN, FAST, DANGEROUS), group: "server", summary: "Returns the replication role.", since: "2.8.12", handler: Some(role), ..SPEC },
    CommandSpec { name: "replicaof", arity: 3, flags: flags!(ADMIN, NOSCRIPT, STALE, NO_ASYNC_LOADING), acl_categories: acl!(ADMIN, SLOW, DANGEROUS), group: "server", summary: "Configures a server as replica of another, or promotes it to a master.", since: "5.0.0", handler: Some(replicaof), ..SPEC },
    CommandSpec { name: "slaveof", arity: 3, flags: flags!(ADMIN, NOSCRIPT, STALE, NO_ASYNC_LOADING), acl_categories: acl!(ADMIN, SLOW, DANGEROUS), group: "server", summary: "Sets a Redis server as a replica of another, or promotes it to being a master.", since: "1.0.0", handler: Some(replicaof), ..SPEC },
    CommandSpec { name: "module", arity: -2, acl_categories: acl!(SLOW), group: "server", summary: "A container for module commands.", since: "4.0.0", complexity: "Depends on subcommand.", subcommands: MODULE_SUBCOMMANDS, ..SPEC },
    CommandSpec { name: "lolwut", arity: -1, flags: flags!(READONLY, FAST), acl_categories: acl!(READ, FAST), group: "server", summary: "Displays computer art and the Redis version", since: "5.0.0", handler: Some(lolwut), ..SPEC },
];

#[rustfmt::skip]
static MODULE_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "list", arity: 2, flags: flags!(ADMIN, NOSCRIPT), acl_categories: acl!(ADMIN, SLOW, DANGEROUS), group: "server", summary: "Returns all loaded modules.", since: "4.0.0", complexity: "O(N) where N is the number of loaded modules.", handler: Some(module_list), ..SPEC },
    CommandSpec { name: "load", arity: -3, flags: flags!(ADMIN, NOSCRIPT, NO_ASYNC_LOADING), acl_categories: acl!(ADMIN, SLOW, DANGEROUS), group: "server", summary: "Loads a module.", since: "4.0.0", handler: Some(module_load), ..SPEC },
    CommandSpec { name: "loadex", arity: -3, flags: flags!(ADMIN, NOSCRIPT, NO_ASYNC_LOADING), acl_categories: acl!(ADMIN, SLOW, DANGEROUS), group: "server", summary: "Loads a module using extended parameters.", since: "7.0.0", handler: Some(module_load), ..SPEC },
    CommandSpec { name: "unload", arity: 3, flags: flags!(ADMIN, NOSCRIPT, NO_ASYNC_LOADING), acl_categories: acl!(ADMIN, SLOW, DANGEROUS), group: "server", summary: "Unloads a module.", since: "4.0.0", handler: Some(module_unload), ..SPEC },
    CommandSpec { name: "help", arity: 2, flags: flags!(LOADING, STALE), acl_categories: acl!(SLOW), group: "server", summary: "Returns helpful text about the different subcommands.", since: "5.0.0", handler: Some(module_help), ..SPEC },
];

/// WAIT numreplicas timeout: no replica ever acknowledges, so asking for one or more blocks the
/// client until the timeout (0: until CLIENT UNBLOCK or it goes) and answers 0, as Redis does
/// without replicas; inside MULTI the answer is 0 at once. A negative `numreplicas` is accepted,
/// as in Redis, and answered at once.
fn wait(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let numreplicas = parse_i64(&args[1]).ok_or(CmdError::NotInteger)?;
    let timeout = millisecond_timeout(&args[2])?;
    if numreplicas <= 0 {
        ctx.out.int(0);
        return Ok(());
    }
    blocking::block_for_timeout(ctx, args, duration(timeout), OnTimeout::NoReplicas);
    Ok(())
}

/// A timeout of 0 waits for ever.
fn duration(timeout_ms: u64) -> Option<Duration> {
    (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms))
}

/// WAITAOF numlocal numreplicas timeout: `appendonly` is always off, so asking for a local fsync
/// is an error; asking for replicas blocks like WAIT and answers `[0, 0]`, as does asking for
/// nothing, at once.
fn waitaof(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let numlocal = parse_i64(&args[1]).ok_or(CmdError::NotInteger)?;
    let numreplicas = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    let timeout = millisecond_timeout(&args[3])?;
    if numlocal > 0 {
        return Err(CmdError::WaitaofNoAof);
    }
    if numreplicas <= 0 {
        ctx.out.array(2);
        ctx.out.int(0);
        ctx.out.int(0);
        return Ok(());
    }
    blocking::block_for_timeout(ctx, args, duration(timeout), OnTimeout::NoFsyncs);
    Ok(())
}

/// Redis's `getTimeoutFromObjectOrReply` in milliseconds.
fn millisecond_timeout(arg: &[u8]) -> Result<u64, CmdError> {
    let timeout = parse_i64(arg).ok_or(CmdError::TimeoutNotInteger)?;
    u64::try_from(timeout).map_err(|_| CmdError::TimeoutNegative)
}

/// A master with no replicas, at replication offset 0.
fn role(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array(0);
    Ok(())
}

/// REPLICAOF NO ONE is what a master already is (+OK, as Redis answers a master); following a
/// master is refused until cachet has replication. The port is checked first, as Redis does.
fn replicaof(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if is(&args[1], "no") && is(&args[2], "one") {
        ctx.out.ok();
        return Ok(());
    }
    match parse_i64(&args[2]) {
        Some(port) if (0..=65535).contains(&port) => Err(CmdError::ReplicationUnsupported),
        _ => Err(CmdError::InvalidMasterPort),
    }
}

fn module_list(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.array(0);
    Ok(())
}

/// Whether this is MODULE LOAD, LOADEX or UNLOAD while `enable-module-command` forbids them
/// (`yes` and `local` allow them: every client of cachet is local or refused by
/// `protected-mode` alike). Checked at dispatch, before authentication, as Redis checks its
/// protected commands: inside MULTI the refusal aborts the transaction.
pub fn module_command_refused(
    ctx: &Ctx<'_>,
    parent: Option<&CommandSpec>,
    spec: &CommandSpec,
) -> bool {
    parent.is_some_and(|parent| parent.name == "module")
        && matches!(spec.name, "load" | "loadex" | "unload")
        && find_directive("enable-module-command")
            .is_none_or(|directive| (directive.get)(&ctx.server.config.read()) == "no")
}

fn module_load(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Err(CmdError::ModuleLoad)
}

fn module_unload(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Err(CmdError::ModuleUnload)
}

const MODULE_HELP: &[&str] = &[
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
];

fn module_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(ctx.out, "MODULE", MODULE_HELP);
    Ok(())
}

/// LOLWUT [VERSION v] [args]: Redis 7 has no drawing of its own (its `lolwutUnstableCommand`), so
/// every version but 5 (Schotter: cols, squares per row and column) and 6 (skyline: cols, rows)
/// answers the version line alone (`lolwut`). Numbers are checked and clamped as Redis does; the
/// footer names this server's version, as Redis's names its own.
fn lolwut(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut rest = &args[1..];
    let mut version = REDIS_COMPAT_VERSION.to_string();
    if args.len() >= 3 && is(&args[1], "version") {
        let v = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
        version = format!("{}.0.0", v as u32);
        rest = &args[3..];
    }
    // Redis picks the drawing by the version's first characters.
    let v = version.as_bytes();
    let drawing = match (v[0], v.get(1), v.get(2)) {
        (b'5', Some(b'.'), Some(&c)) if c != b'9' => 5,
        (b'4', Some(b'.'), Some(b'9')) => 5,
        (b'6', Some(b'.'), Some(&c)) if c != b'9' => 6,
        (b'5', Some(b'.'), Some(b'9')) => 6,
        _ => 0,
    };
    let mut numbers = [0i64; 3];
    for (i, arg) in rest.iter().take([0, 0, 0, 0, 0, 3, 2][drawing]).enumerate() {
        numbers[i] = parse_i64(arg).ok_or(CmdError::NotInteger)?;
    }
    let given = |i: usize, default: i64, max: i64| {
        if i < rest.len() {
            numbers[i].clamp(1, max)
        } else {
            default
        }
    };
    let text = match drawing {
        5 => super::lolwut::schotter(
            given(0, 66, 1000),
            given(1, 8, 200),
            given(2, 12, 200),
            REDIS_COMPAT_VERSION,
        ),
        6 => super::lolwut::skyline(given(0, 80, 1000), given(1, 20, 1000), REDIS_COMPAT_VERSION),
        _ => format!("Redis ver. {REDIS_COMPAT_VERSION}\n").into_bytes(),
    };
    ctx.out.verbatim("txt", &text);
    Ok(())
}
