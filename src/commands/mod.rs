//! The command table: one `CommandSpec` per command (name, arity, flags, key positions, docs,
//! handler; the types are `state::command`'s), declared by each family in its own file. Dispatch, arity and authentication errors,
//! `COMMAND` replies and client hints all read this table.

pub mod acl;
pub mod args;
pub mod bitmap;
pub mod cache;
pub mod client;
pub mod cluster;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod keys;
pub mod list;
pub mod long_double;
pub mod multi;
pub mod observe;
pub mod pubsub;
mod qsort;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod zset;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::protocol::ReplyBuf;
use crate::state::clients::{ClientState, ReplyMode};
pub use crate::state::command::{
    numkeys_keys, AclCategories, CommandFlags, CommandSpec, Ctx, Handler, KeyFinder, SPEC,
};
use crate::state::Server;

/// Every family's table, in the order COMMAND lists them.
pub fn families() -> &'static [&'static [CommandSpec]] {
    static FAMILIES: &[&[CommandSpec]] = &[
        string::COMMANDS,
        bitmap::COMMANDS,
        hyperloglog::COMMANDS,
        keys::COMMANDS,
        sort::COMMANDS,
        hash::COMMANDS,
        list::COMMANDS,
        set::COMMANDS,
        zset::COMMANDS,
        geo::COMMANDS,
        stream::COMMANDS,
        multi::COMMANDS,
        pubsub::COMMANDS,
        scripting::COMMANDS,
        server::COMMANDS,
        acl::COMMANDS,
        client::COMMANDS,
        server::config::COMMANDS,
        server::command::COMMANDS,
        server::info::COMMANDS,
        server::standalone::COMMANDS,
        observe::COMMANDS,
        cache::COMMANDS,
        cache::tags::COMMANDS,
        cache::stats::COMMANDS,
        cache::peer::COMMANDS,
        cache::region::COMMANDS,
        cache::compression::COMMANDS,
        cache::export::COMMANDS,
        cache::warm::COMMANDS,
        cluster::COMMANDS,
    ];
    FAMILIES
}

pub fn all_commands() -> impl Iterator<Item = &'static CommandSpec> {
    families().iter().flat_map(|family| family.iter())
}

/// Names (lower case, as bytes) to commands, hashed with foldhash: the lookup runs once per
/// request, where std's SipHash cost more than the rest of the lookup.
type Table = HashMap<&'static [u8], &'static CommandSpec, foldhash::fast::FixedState>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        all_commands()
            .map(|spec| (spec.name.as_bytes(), spec))
            .collect()
    })
}

/// Finds a command by name, in any letter case.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    const LONGEST_NAME: usize = 32;
    if name.len() > LONGEST_NAME {
        return None;
    }
    let mut lower = [0u8; LONGEST_NAME];
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    table().get(&lower[..name.len()]).copied()
}

pub fn lookup_subcommand(spec: &'static CommandSpec, name: &[u8]) -> Option<&'static CommandSpec> {
    spec.subcommands
        .iter()
        .find(|sub| sub.name.as_bytes().eq_ignore_ascii_case(name))
}

/// The name Redis uses in errors and `CLIENT LIST`: `get`, or `config|get` for a subcommand.
pub fn full_name(parent: Option<&CommandSpec>, spec: &CommandSpec) -> String {
    match parent {
        Some(parent) => format!("{}|{}", parent.name, spec.name),
        None => spec.name.to_string(),
    }
}

fn arity_ok(arity: i32, argc: usize) -> bool {
    if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= arity.unsigned_abs() as usize
    }
}

/// Resolves a request to its command (or subcommand), checking existence and arity.
pub fn resolve(
    args: &[Bytes],
) -> Result<(Option<&'static CommandSpec>, &'static CommandSpec), CmdError> {
    let name = args.first().map(|a| &a[..]).unwrap_or(b"");
    let Some(spec) = lookup(name) else {
        return Err(CmdError::unknown_command(args));
    };
    if !spec.subcommands.is_empty() {
        let Some(sub_name) = args.get(1) else {
            // A container with its own handler runs bare (`COMMAND` lists every command).
            if spec.handler.is_some() && arity_ok(spec.arity, args.len()) {
                return Ok((None, spec));
            }
            return Err(CmdError::WrongArity(spec.name.to_string()));
        };
        let Some(sub) = lookup_subcommand(spec, sub_name) else {
            return Err(CmdError::UnknownSubcommand {
                command: spec.name,
                sub: sub_name[..].into(),
            });
        };
        if !arity_ok(sub.arity, args.len()) {
            return Err(CmdError::WrongArity(full_name(Some(spec), sub)));
        }
        return Ok((Some(spec), sub));
    }
    if !arity_ok(spec.arity, args.len()) {
        return Err(CmdError::WrongArity(spec.name.to_string()));
    }
    Ok((None, spec))
}

/// Writes a `HELP` reply as Redis's `addReplyHelp`: a title line, the subcommand lines, and the
/// `HELP` entry every container ends with.
pub fn reply_help(out: &mut ReplyBuf, command: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        out.simple(line);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

/// Keys a command that cannot grow memory evicts before it runs while over a limit.
const INLINE_EVICTION_STEP: usize = 64;

/// Evicts down to the memory/key limits before a command runs, as Redis's `performEvictions`.
/// False when the limit cannot be met and the command may grow memory (`denyoom`): it must then be
/// refused with the OOM error. Any other command evicts only a bounded step and runs anyway (Redis
/// bounds its eviction time the same way): after `CONFIG SET maxmemory` shrinks a large keyspace,
/// evicting all of it inline would stall the next PING or GET for seconds, while the cron brings it
/// down in small steps.
fn make_room(ctx: &Ctx<'_>, spec: &CommandSpec, args: &[Bytes]) -> bool {
    let refuse = spec.has_flag(CommandFlags::DENYOOM) || multi::refused_when_oom(ctx.client, spec);
    make_room_for(ctx, refuse) && !(refuse && region_refuses(ctx, spec, args))
}

/// A write into a region over its budget that evicting within it cannot bring back (its policy
/// is `noeviction`, or nothing it may take is left) is refused with the OOM error, as the global
/// `maxmemory` refuses one. Only the command's own keys' regions are looked at.
fn region_refuses(ctx: &Ctx<'_>, spec: &CommandSpec, args: &[Bytes]) -> bool {
    let keyspace = &ctx.server.keyspace;
    if !keyspace.regions.is_active() {
        return false;
    }
    spec.keys_in(args)
        .into_iter()
        .filter_map(|i| args.get(i))
        .any(|key| keyspace.region_refuses(key, ctx.now_ms))
}

/// `make_room` for a command whose refusal on OOM is decided by the caller (`refuse`): EXEC is
/// refused when a queued command is `denyoom`, anything queued inside MULTI always.
pub(crate) fn make_room_for(ctx: &Ctx<'_>, refuse: bool) -> bool {
    let keyspace = &ctx.server.keyspace;
    if !keyspace.over_limit() {
        return true;
    }
    let started = std::time::Instant::now();
    let room = if refuse {
        keyspace.evict_to_limit(ctx.now_ms).is_ok()
    } else {
        keyspace.evict_some(ctx.now_ms, INLINE_EVICTION_STEP);
        true
    };
    let millis = started.elapsed().as_millis() as u64;
    ctx.server
        .latency
        .add_sample_if_needed("eviction-cycle", millis);
    room
}

/// Runs a resolved command's handler (directly, or queued by EXEC) and gives back the room a
/// write may have taken past the memory limit. Inside EXEC, CLIENT LIST keeps naming EXEC.
pub(crate) fn execute(
    ctx: &mut Ctx<'_>,
    parent: Option<&'static CommandSpec>,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> CmdResult {
    if !ctx.client.in_exec {
        ctx.client.last_command = Some((parent, spec));
    }
    let started = observe::start();
    // CLIENT NO-TOUCH: the command's reads leave the keys' access data alone; TOUCH is how such a
    // client still touches.
    let no_touch = ctx
        .client
        .info
        .no_touch
        .load(std::sync::atomic::Ordering::Relaxed)
        && spec.name != "touch";
    crate::engine::set_no_touch(no_touch);
    let result = match spec.handler {
        Some(handler) => handler(ctx, args),
        None => Err(CmdError::WrongArity(spec.name.to_string())),
    };
    crate::engine::set_no_touch(false);
    observe::called(ctx, spec, args, result.is_err(), started);
    // Client-side caching: the keys of every read-only command a tracking client runs (ZUNION's
    // too: counted by numkeys). A read inside a script tracks the keys the script declared, and
    // the read-only script commands track nothing of their own, as in Redis 7.0.
    if ctx.client.tracking.remembers()
        && spec.has_flag(CommandFlags::READONLY)
        && !matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro")
    {
        if let Some(keys) = &ctx.client.script_keys {
            ctx.server
                .tracking
                .remember(ctx.client.id, keys.iter().map(|k| &k[..]));
        } else {
            let positions = spec.keys_in(args);
            if !positions.is_empty() {
                let keys = positions
                    .into_iter()
                    .filter_map(|i| args.get(i))
                    .map(|k| &k[..]);
                ctx.server.tracking.remember(ctx.client.id, keys);
            }
        }
    }
    // CLIENT CACHING applies to the next command only (not to those queued by MULTI).
    if parent.is_none_or(|p| p.name != "client") && ctx.client.multi.is_none() {
        ctx.client.tracking.caching = false;
    }
    // A write may have taken the keyspace past its limit: give the room back now, so the limit
    // holds between commands and not only before them. Only `denyoom` writes can grow the data; a
    // DEL after a runtime shrink must not do the cron's work.
    let keyspace = &ctx.server.keyspace;
    if keyspace.over_limit() && spec.has_flag(CommandFlags::DENYOOM) {
        let _ = keyspace.evict_to_limit(ctx.now_ms);
    }
    // The same for the regions of the command's keys: each budget holds after every write into
    // it. (Only those: a region that cannot get back under its budget is not retried by every
    // write elsewhere.)
    if spec.has_flag(CommandFlags::DENYOOM) && keyspace.regions.is_active() {
        for key in spec.keys_in(args).into_iter().filter_map(|i| args.get(i)) {
            keyspace.evict_region_of(key, ctx.now_ms);
        }
    }
    // Whatever the command changed, deleted, expired or evicted may have dependents.
    keyspace.invalidate_dependents();
    result
}

/// Runs `work`, which may block for as long as a script runs, without starving the tasks queued
/// on this tokio worker: `block_in_place` hands them to another thread first (a task woken by
/// this one sits in the worker's LIFO slot, which no other worker steals). A single-threaded
/// runtime has no other thread: `work` just runs, and the server waits for the script.
pub(crate) fn off_worker<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Another client's script has run past `busy-reply-threshold`: the command is refused (and a
/// transaction it was to join is flagged), as Redis's `processCommand` refuses it.
fn busy(
    client: &mut crate::state::clients::ClientState,
    run: &crate::state::scripting::RunState,
) -> CmdError {
    multi::flag_error(client);
    CmdError::Script(crate::error::ScriptError::Busy {
        eval: run.is_eval(),
    })
}

/// Redis's `authRequired`: a client that has not authenticated while the default user needs a
/// password (or is off) may only run `no_auth` commands. The default user is read only for a
/// client that has not authenticated.
fn needs_auth(
    server: &Server,
    client: &ClientState,
    parent: Option<&CommandSpec>,
    spec: &CommandSpec,
) -> bool {
    if client.authenticated
        || spec.has_flag(CommandFlags::NO_AUTH)
        || parent.is_some_and(|p| p.has_flag(CommandFlags::NO_AUTH))
    {
        return false;
    }
    let default = server.acl.default_user();
    !default.nopass || !default.enabled
}

/// Whether a command may write as CLIENT PAUSE WRITE sees it: `write` and `may-replicate`
/// commands, a script by its own flags, and EXEC of a transaction that queued one.
fn may_write(server: &Server, client: &ClientState, spec: &CommandSpec, args: &[Bytes]) -> bool {
    let writes = |spec: &CommandSpec, args: &[Bytes]| {
        scripting::script_may_write(server, spec, args).unwrap_or_else(|| {
            spec.has_flag(CommandFlags::WRITE) || spec.has_flag(CommandFlags::MAY_REPLICATE)
        })
    };
    writes(spec, args)
        || (multi::is_exec(spec)
            && client.multi.as_ref().is_some_and(|tx| {
                tx.queued
                    .iter()
                    .any(|queued| writes(queued.spec, &queued.args))
            }))
}

/// The command CLIENT PAUSE holds this request for (with whether it may write), or `None` when it
/// runs now. As Redis's `processCommand`, requests refused earlier (unknown command, arity,
/// authentication) are answered at once and never held.
pub fn held_by_pause(
    server: &Server,
    client: &ClientState,
    args: &[Bytes],
    now_ms: u64,
) -> Option<(Option<&'static CommandSpec>, &'static CommandSpec, bool)> {
    if !server.pause.maybe_paused() {
        return None;
    }
    let (parent, spec) = resolve(args).ok()?;
    if needs_auth(server, client, parent, spec) {
        return None;
    }
    let writes = may_write(server, client, spec, args);
    server
        .pause
        .holds(writes, now_ms)
        .then_some((parent, spec, writes))
}

/// Runs one request: lookup, arity, authentication, the handler, and the reply mode. Every
/// command but EXEC and the script runners holds the exec gate shared (those take it
/// exclusively); inside MULTI, commands are queued instead of run (`multi`). While another
/// client's script is past `busy-reply-threshold`, commands answer BUSY, and those flagged
/// `allow_busy` run without the gate.
pub fn dispatch(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    crate::state::tracking::begin(ctx.client.id);
    let mark = ctx.out.len();
    // A skip asked for by the previous command applies to this one, unless this one changes the
    // reply mode itself (CLIENT REPLY ON answers even right after SKIP, as in Redis).
    if std::mem::take(&mut ctx.client.skip_next) && ctx.client.reply_mode == ReplyMode::On {
        ctx.client.reply_mode = ReplyMode::Skip;
    }
    let result = match resolve(args) {
        Err(err) => {
            multi::flag_error(ctx.client);
            observe::rejected(ctx, args);
            Err(multi::rejected(ctx, args, err))
        }
        Ok((parent, spec)) => {
            // As Redis's `processCommand`: DEBUG's protection, then authentication, then ACLs.
            if spec.name == "debug"
                && parent.is_none()
                && !ctx
                    .server
                    .config
                    .read()
                    .enable_debug_command
                    .allows(ctx.client.info.addr)
            {
                multi::flag_error(ctx.client);
                observe::rejected(ctx, args);
                Err(multi::rejected(ctx, args, CmdError::DebugNotAllowed))
            } else if server::standalone::module_command_refused(ctx, parent, spec) {
                multi::flag_error(ctx.client);
                observe::rejected(ctx, args);
                Err(multi::rejected(
                    ctx,
                    args,
                    CmdError::ModuleCommandNotAllowed,
                ))
            } else if needs_auth(ctx.server, ctx.client, parent, spec) {
                multi::flag_error(ctx.client);
                observe::rejected(ctx, args);
                Err(multi::rejected(ctx, args, CmdError::NoAuth))
            } else if let Err(denied) =
                acl::permitted(ctx, parent, spec, args, acl::context_of(ctx))
            {
                multi::flag_error(ctx.client);
                observe::rejected(ctx, args);
                Err(multi::rejected(
                    ctx,
                    args,
                    acl::denied_error(denied, parent, spec),
                ))
            } else if let Err(err) = pubsub::check_reserved_channel(ctx.client, spec, args) {
                multi::flag_error(ctx.client);
                observe::rejected(ctx, args);
                Err(err)
            } else if let Err(err) = pubsub::check_subscribed_context(ctx, parent, spec) {
                multi::flag_error(ctx.client);
                observe::rejected(ctx, args);
                Err(multi::rejected(ctx, args, err))
            } else if ctx.client.monitor
                && spec.flags.intersects(
                    CommandFlags::READONLY | CommandFlags::WRITE | CommandFlags::MAY_REPLICATE,
                )
            {
                // Redis flags a monitor as a replica, and replicas may not touch the keyspace.
                multi::flag_error(ctx.client);
                observe::rejected(ctx, args);
                Err(multi::rejected(ctx, args, CmdError::MonitorKeyspace))
            } else if let Err(err) = cluster::route(ctx, spec, args) {
                // As Redis: a redirected EXEC discards its transaction, anything else inside
                // MULTI dooms it.
                if multi::is_exec(spec) {
                    multi::discard_transaction(ctx.server, ctx.client);
                } else {
                    multi::flag_error(ctx.client);
                }
                observe::rejected(ctx, args);
                Err(err)
            } else if (spec.has_flag(CommandFlags::WRITE) || spec.name == "ping")
                && crate::state::persistence::writes_denied(ctx.server)
            {
                // As Redis, PING too: a health check must see that writes are refused.
                multi::flag_error(ctx.client);
                observe::rejected(ctx, args);
                Err(multi::rejected(ctx, args, CmdError::Misconf))
            } else if !spec.has_flag(CommandFlags::LOADING)
                && !ctx.server.loaded.load(Ordering::Acquire)
            {
                // As Redis: while the dataset loads only the commands flagged `loading` run (a
                // subcommand's own flags decide: CONFIG GET runs, CONFIG RESETSTAT does not).
                // Nothing could have been queued before the load, so EXEC needs no more.
                multi::flag_error(ctx.client);
                observe::rejected(ctx, args);
                Err(multi::rejected(ctx, args, CmdError::Loading))
            } else if multi::is_exec(spec) {
                ctx.client.last_command = Some((parent, spec));
                let started = observe::start();
                let result = multi::exec(ctx, args);
                // Over the memory limit, Redis refuses EXEC before running it.
                if result == Err(CmdError::ExecAbortedOutOfMemory) {
                    observe::rejected(ctx, args);
                } else {
                    observe::called(ctx, spec, args, result.is_err(), started);
                }
                result
            } else if scripting::runs_scripts(spec) && !multi::queues(ctx.client, spec) {
                // A script is atomic across shards, as EXEC is.
                let server = ctx.server;
                let run = &server.scripting.run;
                off_worker(|| match server.exec_gate.exclusive_unless(|| run.busy()) {
                    None => Err(busy(ctx.client, run)),
                    Some(_exclusive) => {
                        make_room(ctx, spec, args);
                        execute(ctx, parent, spec, args)
                    }
                })
            } else {
                let server = ctx.server;
                let run = &server.scripting.run;
                let allow_busy = spec.has_flag(CommandFlags::ALLOW_BUSY)
                    || parent.is_some_and(|p| p.has_flag(CommandFlags::ALLOW_BUSY));
                let gate = || server.exec_gate.shared_unless(|| run.busy());
                let _shared = if run.running() {
                    off_worker(gate)
                } else {
                    gate()
                };
                if _shared.is_none() && !allow_busy {
                    Err(busy(ctx.client, run))
                } else if !make_room(ctx, spec, args) {
                    multi::flag_error(ctx.client);
                    observe::rejected(ctx, args);
                    Err(CmdError::OutOfMemory)
                } else if multi::queues(ctx.client, spec) {
                    ctx.client.last_command = Some((parent, spec));
                    let queued = multi::queue(ctx, parent, spec, args);
                    if queued.is_err() {
                        observe::rejected(ctx, args);
                    }
                    queued
                } else {
                    execute(ctx, parent, spec, args)
                }
            }
        }
    };
    if let Err(err) = result {
        let message = err.message_bytes();
        observe::error_reply(ctx.server, &message);
        ctx.out.error_bytes(&message);
    }
    if ctx.client.monitor {
        for line in std::mem::take(&mut ctx.client.own_monitor_lines) {
            ctx.out.raw(&line);
        }
    }
    // A reply that is not sent cannot take the client over its output limit. Pushes are sent
    // whatever the reply mode (Redis 7.2's `CLIENT_PUSHING`): a client that turned replies off
    // still receives its subscriptions' confirmations and messages.
    let pushed_to = ctx
        .client
        .pushed_to
        .take()
        .map_or(mark, |end| end.max(mark));
    match ctx.client.reply_mode {
        ReplyMode::On => {}
        ReplyMode::Off => ctx.out.discard_from(pushed_to),
        ReplyMode::Skip => {
            ctx.out.discard_from(pushed_to);
            ctx.client.reply_mode = ReplyMode::On;
        }
    }
    // Invalidations this command's own changes sent to its client follow its reply, as Redis's.
    ctx.server.tracking.finish(ctx.out);
}
