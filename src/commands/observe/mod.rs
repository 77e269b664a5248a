//! The observability family: MONITOR here, SLOWLOG (`slowlog.rs`), LATENCY (`latency.rs`); and
//! what running a command leaves behind, in one place: Redis's `call()` around `c->cmd->proc`.
//! `execute` (and `dispatch` for EXEC itself) calls `start` before a handler and `called` after
//! it; `dispatch` calls `rejected` for a command refused before it could run, and every place that
//! writes an error reply calls `error_reply`. From there:
//!
//! - `INFO commandstats`: calls, time, failed calls (the handler answered an error) and rejected
//!   calls (arity, authentication, OOM, refused inside MULTI...), per command and subcommand;
//!   `total_commands_processed`; `INFO errorstats` and `total_error_replies` by error code;
//! - latency histograms (`latency-tracking`: `INFO latencystats`, `LATENCY HISTOGRAM`);
//! - the slow log (`slowlog-log-slower-than`) and the latency monitor's `command` and
//!   `fast-command` events (`latency-monitor-threshold`);
//! - the MONITOR feed, after the command ran, as Redis feeds it (admin commands and those flagged
//!   `skip_monitor` are not shown; AUTH's and HELLO AUTH's credentials read `(redacted)`).
//!
//! Cost on the hot path: two readings of `os::ticks` (the TSC), one hash of the spec's address,
//! plain stores into the calling thread's counters (`state::metrics`), and three atomic loads for
//! the slow log, the latency monitor and MONITOR, which do more only when they have work.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use bytes::Bytes;

mod latency;
mod slowlog;

use super::{
    all_commands, full_name, lookup, lookup_subcommand, CommandFlags, CommandSpec, Ctx, SPEC,
};
use crate::error::{CmdError, CmdResult};
use crate::os::ticks;
use crate::state::clients::{Action, ClientInfo};
use crate::state::monitor;
use crate::state::slowlog::truncated_args;
use crate::state::Server;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "monitor",
        arity: 1,
        flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE),
        acl_categories: acl!(ADMIN, SLOW, DANGEROUS),
        group: "server",
        summary: "Listen for all requests received by the server in real time",
        since: "1.0.0",
        handler: Some(monitor),
        ..SPEC
    },
    slowlog::SPEC,
    latency::SPEC,
];

/// MONITOR: from now on the client is sent every command run, by anyone (`state::monitor`).
fn monitor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    // EXEC expects one reply per queued command: Redis's `CLIENT_DENY_BLOCKING`.
    if ctx.client.in_exec {
        return Err(CmdError::MonitorDenyBlocking);
    }
    // Already monitoring: Redis ignores it, without a reply.
    if ctx.client.monitor {
        return Ok(());
    }
    let subscriber = ctx
        .client
        .pubsub
        .ensure_inbox(&ctx.server.pubsub, &ctx.client.info);
    ctx.server.monitors.add(subscriber);
    ctx.client.monitor = true;
    ctx.out.ok();
    Ok(())
}

/// One slot per command and subcommand of the table, in COMMAND's order: the index of its
/// counters in `state::metrics`.
struct Slots {
    by_address: HashMap<usize, usize, foldhash::fast::FixedState>,
    /// Full names (`get`, `config|get`), by slot.
    names: Vec<String>,
}

fn slots() -> &'static Slots {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let mut slots = Slots {
            by_address: HashMap::default(),
            names: Vec::new(),
        };
        let mut add = |parent: Option<&CommandSpec>, spec: &'static CommandSpec| {
            slots
                .by_address
                .insert(spec as *const CommandSpec as usize, slots.names.len());
            slots.names.push(full_name(parent, spec));
        };
        for spec in all_commands() {
            add(None, spec);
            for sub in spec.subcommands {
                add(Some(spec), sub);
            }
        }
        slots
    })
}

fn slot_of(spec: &CommandSpec) -> usize {
    let slots = slots();
    slots
        .by_address
        .get(&(spec as *const CommandSpec as usize))
        .copied()
        .unwrap_or(slots.names.len())
}

/// Full names by slot (`get`, `client|list`).
pub fn slot_names() -> &'static [String] {
    &slots().names
}

/// The slots of a command named as `LATENCY HISTOGRAM` names them (`get`, `config|get`, any
/// case): the command's own and, for a container, each of its subcommands'.
pub fn slots_named(name: &[u8]) -> Vec<usize> {
    let text = String::from_utf8_lossy(name).to_ascii_lowercase();
    let (base, sub) = match text.split_once('|') {
        Some((base, sub)) => (base, Some(sub)),
        None => (text.as_str(), None),
    };
    let Some(spec) = lookup(base.as_bytes()) else {
        return Vec::new();
    };
    match sub {
        Some(sub) => lookup_subcommand(spec, sub.as_bytes())
            .map(|s| vec![slot_of(s)])
            .unwrap_or_default(),
        None => std::iter::once(spec)
            .chain(spec.subcommands)
            .map(slot_of)
            .collect(),
    }
}

/// A blocked command's reply arrived. Served by data (`micros`: its attempt and its serving,
/// the wait is not the command's), the slow log gets it now, as Redis's `updateStatsOnUnblock`;
/// a timeout or CLIENT UNBLOCK is not logged. If the reply is an error it failed, though its
/// call was counted as a success when it blocked.
pub fn unblocked(
    server: &Server,
    client: &ClientInfo,
    args: &[Bytes],
    micros: Option<u64>,
    failed: bool,
) {
    let Some(spec) = args.first().and_then(|name| super::lookup(name)) else {
        return;
    };
    if failed {
        let slot = slot_of(spec);
        server
            .metrics
            .with_thread(slot_names().len(), |thread| thread.failed_after_block(slot));
    }
    if let Some(micros) = micros {
        log_if_slow(server, client, spec, args, micros);
    }
}

fn log_if_slow(
    server: &Server,
    client: &ClientInfo,
    spec: &CommandSpec,
    args: &[Bytes],
    micros: u64,
) {
    if server.slowlog.wants(micros) && !spec.has_flag(CommandFlags::SKIP_SLOWLOG) {
        server.slowlog.push(
            micros,
            truncated_args(&shown_args(spec, args)),
            client.addr.to_string(),
            client.name().unwrap_or_default(),
        );
    }
}

/// A reading of the command clock, before the handler runs.
#[inline]
pub fn start() -> u64 {
    ticks::now()
}

/// After a command ran (`failed`: it answered an error).
#[inline]
pub fn called(
    ctx: &mut Ctx<'_>,
    spec: &'static CommandSpec,
    args: &[Bytes],
    failed: bool,
    started: u64,
) {
    let mut nanos = ticks::nanos_between(started, ticks::now());
    // DEBUG SLEEP pauses its connection after the handler, not in it; the command still takes
    // that long, and Redis's slow log and latency monitor show it so.
    if let Some(Action::Sleep(pause)) = &ctx.client.action {
        nanos = nanos.saturating_add(pause.as_nanos() as u64);
    }
    let server = ctx.server;
    let tracking = server.metrics.tracking.load(Ordering::Relaxed);
    let slot = slot_of(spec);
    server.metrics.with_thread(slot_names().len(), |thread| {
        thread.called(slot, nanos, failed, tracking)
    });
    let micros = nanos / 1000;
    match ctx.client.blocked.as_mut() {
        // Logged when its reply comes (`unblocked`), as Redis logs a blocked command.
        Some(blocked) => blocked.attempt_micros = micros,
        None => log_if_slow(server, &ctx.client.info, spec, args, micros),
    }
    if server.latency.enabled() {
        let event = if spec.has_flag(CommandFlags::FAST) {
            "fast-command"
        } else {
            "command"
        };
        server.latency.add_sample_if_needed(event, micros / 1000);
    }
    if server.monitors.any()
        && !spec
            .flags
            .intersects(CommandFlags::ADMIN | CommandFlags::SKIP_MONITOR)
    {
        feed_monitors(ctx, &shown_args(spec, args));
    }
}

/// A command refused before it ran: Redis's `rejected_calls`. `args` is the request, whose
/// command (or subcommand) is found again here, on this rare path, rather than carried through
/// every refusal; a subcommand that does not exist has no counters, as in Redis.
pub fn rejected(ctx: &Ctx<'_>, args: &[Bytes]) {
    let name = args.first().map_or(&b""[..], |a| &a[..]);
    let Some(spec) = lookup(name) else {
        return;
    };
    let spec = match args.get(1) {
        Some(sub) if !spec.subcommands.is_empty() => match lookup_subcommand(spec, sub) {
            Some(sub) => sub,
            None => return,
        },
        _ => spec,
    };
    let slot = slot_of(spec);
    ctx.server
        .metrics
        .with_thread(slot_names().len(), |thread| thread.rejected(slot));
}

/// An error reply (already the message's bytes, code first) was sent.
pub fn error_reply(server: &Server, message: &[u8]) {
    server.metrics.error_reply(message);
}

/// A script runner (EVAL*, FCALL*, flagged `skip_monitor`) is shown to the monitors as it starts,
/// before its checks, as Redis's `evalCommand` and `fcallCommandGeneric` feed it: the commands
/// the script runs follow its line.
pub fn script_started(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if ctx.server.monitors.any() {
        feed_monitors(ctx, args);
    }
}

/// Sends one line to every monitor: `args` as the client sent them (redacted where needed), from
/// the client's address, or from `lua` for a command a script runs. A monitor's own command is
/// shown to it after its reply, as Redis writes it: `dispatch` appends the line once the reply
/// is out (through the inbox it could come first).
fn feed_monitors(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let origin = match ctx.client.in_script {
        true => "lua".to_string(),
        false => ctx.client.info.addr.to_string(),
    };
    let line = monitor::line(now, ctx.client.db, &origin, args);
    ctx.server
        .monitors
        .feed(&ctx.server.pubsub, &line, ctx.client.id);
    if ctx.client.monitor {
        ctx.client.own_monitor_lines.push(line);
    }
}

/// The arguments as MONITOR and the slow log show them: AUTH's, HELLO AUTH's and ACL SETUSER's credentials
/// replaced by `(redacted)`, where Redis's handlers redact them (before anything that could make
/// them stop early: AUTH with too many arguments, HELLO with a bad protocol version or option).
pub fn shown_args<'a>(spec: &CommandSpec, args: &'a [Bytes]) -> Cow<'a, [Bytes]> {
    const REDACTED: Bytes = Bytes::from_static(b"(redacted)");
    let mut redact = Vec::new();
    match spec.name {
        "auth" if (2..=3).contains(&args.len()) => redact.extend(1..args.len()),
        // ACL SETUSER: every rule, passwords among them (the subcommand's own name).
        "setuser" if args.len() >= 3 => redact.extend(2..args.len()),
        "hello" => {
            let version_ok = args
                .get(1)
                .is_none_or(|v| crate::protocol::parse_i64(v).is_some_and(|v| v == 2 || v == 3));
            let mut i = 2;
            while version_ok && i < args.len() {
                let more = args.len() - i - 1;
                if args[i].eq_ignore_ascii_case(b"auth") && more >= 2 {
                    redact.extend([i + 1, i + 2]);
                    i += 3;
                } else if args[i].eq_ignore_ascii_case(b"setname") && more >= 1 {
                    i += 2;
                } else {
                    break;
                }
            }
        }
        _ => {}
    }
    if redact.is_empty() {
        return Cow::Borrowed(args);
    }
    let mut shown = args.to_vec();
    for index in redact {
        shown[index] = REDACTED;
    }
    Cow::Owned(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    #[test]
    fn every_command_has_a_slot() {
        let names = slot_names();
        assert!(names.iter().any(|n| n == "get"));
        assert!(names.iter().any(|n| n == "config|get"));
        for spec in all_commands() {
            assert_eq!(names[slot_of(spec)], spec.name);
        }
        assert_eq!(slots_named(b"CONFIG|GET").len(), 1);
        assert!(slots_named(b"config").len() > 2);
        assert!(slots_named(b"nosuch").is_empty());
    }

    #[test]
    fn credentials_are_redacted_where_redis_redacts_them() {
        let auth = lookup(b"auth").unwrap();
        let hello = lookup(b"hello").unwrap();
        let get = lookup(b"get").unwrap();
        assert_eq!(
            shown_args(auth, &args(&["AUTH", "pw"])).to_vec(),
            args(&["AUTH", "(redacted)"])
        );
        assert_eq!(
            shown_args(auth, &args(&["AUTH", "u", "pw"])).to_vec(),
            args(&["AUTH", "(redacted)", "(redacted)"])
        );
        assert_eq!(
            shown_args(auth, &args(&["AUTH", "u", "pw", "x"])).to_vec(),
            args(&["AUTH", "u", "pw", "x"])
        );
        assert_eq!(
            shown_args(
                hello,
                &args(&["HELLO", "3", "SETNAME", "n", "AUTH", "u", "p"])
            )
            .to_vec(),
            args(&[
                "HELLO",
                "3",
                "SETNAME",
                "n",
                "AUTH",
                "(redacted)",
                "(redacted)"
            ])
        );
        assert_eq!(
            shown_args(hello, &args(&["HELLO", "4", "AUTH", "u", "p"])).to_vec(),
            args(&["HELLO", "4", "AUTH", "u", "p"])
        );
        assert_eq!(
            shown_args(get, &args(&["GET", "pw"])).to_vec(),
            args(&["GET", "pw"])
        );
    }
}
