//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis 7.0's semantics.
//!
//! - After MULTI, `dispatch` queues every command but EXEC, DISCARD, MULTI, WATCH, QUIT and RESET
//!   (answering `+QUEUED`); a command refused while queueing (unknown, wrong arity, `no_multi`,
//!   out of memory) flags the transaction, and EXEC then discards it with `EXECABORT`.
//! - EXEC runs the queued commands holding the server's exec gate exclusively
//!   (`state::exec_gate`): no other command, expiry cycle or eviction runs in between, whatever
//!   shards the commands touch. Runtime errors are replies inside EXEC's array, as in Redis.
//! - WATCH registers (database, key) in the `WatchRegistry`, a sink of the keyspace notices: any
//!   notice for a watched key marks its watchers dirty (`ClientInfo::dirty_cas`) and their next
//!   EXEC answers a null array. Flushes and SWAPDB dirty a watcher only if the key existed, which a
//!   notice cannot tell, so those commands ask the registry directly (`touch_flushed`,
//!   `touch_swapped`) while they can still see the tables. A key that has logically expired by EXEC
//!   time fails the EXEC too, unless it was already expired when it was watched.

use crate::commands::{AclCategories, CommandFlags};
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{CommandSpec, Ctx, SPEC};
use crate::error::{CmdError, CmdResult};
use crate::state::clients::ClientState;
use crate::state::multi::{Queued, Transaction};
use crate::state::Server;

const TX_FLAGS: CommandFlags = flags!(NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY);
const TX_ACL: AclCategories = acl!(FAST, TRANSACTION);

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "multi", arity: 1, flags: TX_FLAGS, acl_categories: TX_ACL, group: "transactions", summary: "Mark the start of a transaction block", since: "1.2.0", handler: Some(multi), ..SPEC },
    CommandSpec { name: "exec", arity: 1, flags: flags!(NOSCRIPT, LOADING, STALE, SKIP_SLOWLOG), acl_categories: acl!(SLOW, TRANSACTION), group: "transactions", summary: "Execute all commands issued after MULTI", since: "1.2.0", complexity: "Depends on commands in the transaction", handler: Some(exec), ..SPEC },
    CommandSpec { name: "discard", arity: 1, flags: TX_FLAGS, acl_categories: TX_ACL, group: "transactions", summary: "Discard all commands issued after MULTI", since: "2.0.0", complexity: "O(N), when N is the number of queued commands", handler: Some(discard), ..SPEC },
    CommandSpec { name: "watch", arity: -2, flags: TX_FLAGS, acl_categories: TX_ACL, first_key: 1, last_key: -1, key_step: 1, group: "transactions", summary: "Watch the given keys to determine execution of the MULTI/EXEC block", since: "2.2.0", complexity: "O(1) for every key.", handler: Some(watch), ..SPEC },
    CommandSpec { name: "unwatch", arity: 1, flags: TX_FLAGS, acl_categories: TX_ACL, group: "transactions", summary: "Forget about all watched keys", since: "2.2.0", handler: Some(unwatch), ..SPEC },
];

const EXEC_INDEX: usize = 1;

pub fn is_exec(spec: &CommandSpec) -> bool {
    // By name, not by address: a table read through another static (`families()`) may hold a
    // copy of the spec, and an EXEC not recognised here runs under the shared exec gate that it
    // then waits to take exclusively (a deadlock seen in tests/command_safety.rs). No container
    // has a subcommand of that name in that group.
    let exec = &COMMANDS[EXEC_INDEX];
    spec.name == exec.name && spec.group == exec.group
}

/// Commands that run at once even inside MULTI (Redis's list in `processCommand`).
fn runs_in_multi(spec: &CommandSpec) -> bool {
    matches!(
        spec.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    ) && top_level(spec)
}

/// The commands a client in MULTI may still run while over `maxmemory`: Redis refuses everything
/// else then, since queueing grows memory without bound.
fn allowed_when_oom_in_multi(spec: &CommandSpec) -> bool {
    matches!(spec.name, "exec" | "discard" | "quit" | "reset") && top_level(spec)
}

/// The command itself, not a subcommand of the same name (CLUSTER RESET, SLOWLOG RESET and
/// LATENCY RESET are queued like any other: Redis compares the command's procedure).
fn top_level(spec: &CommandSpec) -> bool {
    super::lookup(spec.name.as_bytes()).is_some_and(|top| std::ptr::eq(top, spec))
}

/// Whether `dispatch` must queue this command instead of running it.
pub fn queues(client: &ClientState, spec: &CommandSpec) -> bool {
    client.multi.is_some() && !runs_in_multi(spec)
}

/// Whether a command that may not grow memory must still be refused while over the limit.
pub fn refused_when_oom(client: &ClientState, spec: &CommandSpec) -> bool {
    client.multi.is_some() && !allowed_when_oom_in_multi(spec)
}

/// A command was refused before it could be queued: the transaction can no longer succeed.
pub fn flag_error(client: &mut ClientState) {
    if let Some(tx) = client.multi.as_mut() {
        tx.aborted = true;
    }
}

/// A request refused before it ran (arity, authentication, subscribed context): an EXEC so
/// refused discards the transaction and answers `EXECABORT` with the reason, as Redis's
/// `rejectCommand` (even outside MULTI); anything else keeps its error.
pub fn rejected(ctx: &mut Ctx<'_>, args: &[Bytes], err: CmdError) -> CmdError {
    let name = args.first().map_or(&b""[..], |a| &a[..]);
    if !super::lookup(name).is_some_and(is_exec) {
        return err;
    }
    discard_transaction(ctx.server, ctx.client);
    CmdError::ExecRejected(Box::new(err))
}

/// Queues a resolved command and answers `+QUEUED`, or refuses it (flagging the transaction).
pub fn queue(
    ctx: &mut Ctx<'_>,
    parent: Option<&'static CommandSpec>,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> CmdResult {
    if spec.has_flag(CommandFlags::NO_MULTI)
        || parent.is_some_and(|p| p.has_flag(CommandFlags::NO_MULTI))
    {
        flag_error(ctx.client);
        return Err(CmdError::NotAllowedInMulti);
    }
    let Some(tx) = ctx.client.multi.as_mut() else {
        return Ok(());
    };
    tx.denyoom |= spec.has_flag(CommandFlags::DENYOOM);
    tx.arg_bytes += args.iter().map(Bytes::len).sum::<usize>();
    tx.queued.push(Queued {
        parent,
        spec,
        args: args.to_vec(),
    });
    publish_multi_state(ctx.client);
    ctx.out.simple("QUEUED");
    Ok(())
}

/// CLIENT LIST's `multi=` and `multi-mem=` (Redis's `multiStateMemOverhead`, approximately).
fn publish_multi_state(client: &ClientState) {
    let (queued, mem) = match &client.multi {
        Some(tx) => (
            tx.queued.len() as i64,
            tx.arg_bytes + tx.queued.capacity() * std::mem::size_of::<Queued>(),
        ),
        None => (-1, 0),
    };
    const WATCHED_KEY_OVERHEAD: usize = 48;
    let mem = mem + client.watched.len() * WATCHED_KEY_OVERHEAD;
    client.info.multi_queued.store(queued, Ordering::Relaxed);
    client.info.multi_mem.store(mem, Ordering::Relaxed);
}

fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::NestedMulti);
    }
    ctx.client.multi = Some(Transaction::default());
    publish_multi_state(ctx.client);
    ctx.out.ok();
    Ok(())
}

/// Ends the transaction and forgets the watches (Redis's `discardTransaction`).
pub(crate) fn discard_transaction(server: &Server, client: &mut ClientState) {
    client.multi = None;
    unwatch_all(server, client);
    client.info.dirty_cas.store(false, Ordering::Relaxed);
    publish_multi_state(client);
}

fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::DiscardWithoutMulti);
    }
    discard_transaction(ctx.server, ctx.client);
    ctx.out.ok();
    Ok(())
}

/// RESET and connection close: no transaction, no watch left behind.
pub fn reset_client(server: &Server, client: &mut ClientState) {
    discard_transaction(server, client);
}

/// Called by `dispatch` without the shared side of the exec gate: it takes the exclusive side.
pub fn exec(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::ExecWithoutMulti);
    }
    let server = ctx.server;
    // Another client's script past `busy-reply-threshold`: EXEC is refused as Redis refuses any
    // command then, which discards the transaction.
    let run = &server.scripting.run;
    let gate = || server.exec_gate.exclusive_unless(|| run.busy());
    let exclusive = if run.running() {
        super::off_worker(gate)
    } else {
        gate()
    };
    let Some(_exclusive) = exclusive else {
        let busy = crate::error::ScriptError::Busy {
            eval: run.is_eval(),
        };
        return Err(rejected(ctx, args, CmdError::Script(busy)));
    };
    let Some(tx) = ctx.client.multi.take() else {
        return Err(CmdError::ExecWithoutMulti);
    };
    // Redis refuses EXEC itself over the limit when something queued may grow memory.
    if !super::make_room_for(ctx, tx.denyoom) {
        discard_transaction(server, ctx.client);
        return Err(CmdError::ExecAbortedOutOfMemory);
    }
    if watched_key_expired(server, ctx.client, ctx.now_ms) {
        ctx.client.info.dirty_cas.store(true, Ordering::Relaxed);
    }
    if tx.aborted {
        discard_transaction(server, ctx.client);
        return Err(CmdError::ExecAborted);
    }
    if ctx.client.info.dirty_cas.load(Ordering::Relaxed) {
        discard_transaction(server, ctx.client);
        ctx.out.null_array();
        return Ok(());
    }
    unwatch_all(server, ctx.client);
    ctx.client.in_exec = true;
    ctx.out.array(tx.queued.len());
    for queued in &tx.queued {
        // Permissions may have changed since the command was queued (Redis checks again).
        let permitted = super::acl::permitted(
            ctx,
            queued.parent,
            queued.spec,
            &queued.args,
            crate::state::acl::log::Context::Multi,
        );
        let result = match permitted {
            Ok(()) => super::execute(ctx, queued.parent, queued.spec, &queued.args),
            Err(denied) => Err(super::acl::exec_denied_error(denied)),
        };
        if let Err(err) = result {
            let message = err.message_bytes();
            super::observe::error_reply(server, &message);
            ctx.out.error_bytes(&message);
        }
    }
    ctx.client.in_exec = false;
    discard_transaction(server, ctx.client);
    Ok(())
}

fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::WatchInMulti);
    }
    // No point in watching once dirty: the next EXEC fails anyway.
    if !ctx.client.info.dirty_cas.load(Ordering::Relaxed) {
        let db = ctx.client.db;
        for key in &args[1..] {
            let already = ctx
                .client
                .watched
                .iter()
                .any(|(d, k)| *d == db && k[..] == key[..]);
            if already {
                continue;
            }
            let registry = &ctx.server.watches;
            let info = &ctx.client.info;
            // Registered under the key's shard lock: a write to the key either happened before
            // (and is what we watch from) or will see the registration and dirty us.
            ctx.server
                .keyspace
                .with_key(db, key, ctx.now_ms, |view, hash| {
                    let expired = view
                        .table
                        .map
                        .find(hash, |e| e.key() == &key[..])
                        .is_some_and(|e| e.is_expired(view.now_ms));
                    registry.add(db, key.clone(), info, expired);
                });
            ctx.client.watched.push((db, key.clone()));
        }
        publish_multi_state(ctx.client);
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.server, ctx.client);
    ctx.client.info.dirty_cas.store(false, Ordering::Relaxed);
    publish_multi_state(ctx.client);
    ctx.out.ok();
    Ok(())
}

fn unwatch_all(server: &Server, client: &mut ClientState) {
    if client.watched.is_empty() {
        return;
    }
    let watched = std::mem::take(&mut client.watched);
    server.watches.remove_client(client.id, &watched);
}

/// Redis's `isWatchedKeyExpired`: a watched key that is still in the table but whose time has
/// passed (nobody has deleted it yet) fails the EXEC, unless it was already expired at WATCH.
fn watched_key_expired(server: &Server, client: &ClientState, now_ms: u64) -> bool {
    client.watched.iter().any(|(db, key)| {
        !server.watches.was_expired_at_watch(client.id, *db, key)
            && server.keyspace.with_key(*db, key, now_ms, |view, hash| {
                view.table
                    .map
                    .find(hash, |e| e.key() == &key[..])
                    .is_some_and(|e| e.is_expired(now_ms))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_is_found_by_pointer() {
        assert!(crate::commands::lookup(b"EXEC").is_some_and(is_exec));
        assert!(!crate::commands::lookup(b"MULTI").is_some_and(is_exec));
    }
}
