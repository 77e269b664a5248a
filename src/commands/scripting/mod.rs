//! Lua scripting as Redis 7.0: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT here; FUNCTION and
//! FCALL in `function`. The VMs, the script cache and the state of the running script live in
//! `state::scripting`; `vm` builds a VM with Redis's sandbox and API, `run` runs a script and
//! `convert` turns replies into Lua values and back.
//!
//! A script holds the exec gate exclusively while it runs (`dispatch`, `runs_scripts`): nothing
//! else touches the keyspace meanwhile, whatever shards its keys are on. Past
//! `busy-reply-threshold` other clients stop waiting for the gate and answer BUSY, and the
//! commands flagged `allow_busy` (SCRIPT KILL, FUNCTION KILL, FUNCTION STATS, SHUTDOWN, MULTI...)
//! run without it.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod convert;
pub mod function;
pub mod lauxlib;
pub mod lstruct;
pub mod run;
pub mod vm;

use bytes::Bytes;
use mlua::ChunkMode;
use sha1::{Digest, Sha1};

use super::{reply_help, CommandSpec, Ctx, SPEC};
use crate::commands::{AclCategories, CommandFlags};
use crate::error::{CmdError, CmdResult, ScriptError};
use crate::state::command::numkeys_keys;
use crate::state::scripting::{CachedScript, EvalVm, ScriptFlags};
use crate::state::Server;
use crate::sync::LockExt;

/// `may_replicate` as Redis's: until the script's own flags are known (`script_may_write`), it may
/// write.
const EVAL_FLAGS: CommandFlags = flags!(
    NOSCRIPT,
    STALE,
    SKIP_MONITOR,
    NO_MANDATORY_KEYS,
    MOVABLEKEYS,
    MAY_REPLICATE
);
const EVAL_RO_FLAGS: CommandFlags = flags!(
    READONLY,
    NOSCRIPT,
    STALE,
    SKIP_MONITOR,
    NO_MANDATORY_KEYS,
    MOVABLEKEYS
);
const SCRIPTING: AclCategories = acl!(SLOW, SCRIPTING);

#[rustfmt::skip]
static SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "debug", arity: 3, flags: flags!(NOSCRIPT), acl_categories: SCRIPTING, group: "scripting", summary: "Set the debug mode for executed scripts.", since: "3.2.0", handler: Some(script_debug), ..SPEC },
    CommandSpec { name: "exists", arity: -3, flags: flags!(NOSCRIPT), acl_categories: SCRIPTING, group: "scripting", summary: "Check existence of scripts in the script cache.", since: "2.6.0", complexity: "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", handler: Some(script_exists), ..SPEC },
    CommandSpec { name: "flush", arity: -2, flags: flags!(NOSCRIPT), acl_categories: SCRIPTING, group: "scripting", summary: "Remove all the scripts from the script cache.", since: "2.6.0", complexity: "O(N) with N being the number of scripts in cache", handler: Some(script_flush), ..SPEC },
    CommandSpec { name: "help", arity: 2, flags: flags!(LOADING, STALE), acl_categories: SCRIPTING, group: "scripting", summary: "Show helpful text about the different subcommands", since: "5.0.0", handler: Some(script_help), ..SPEC },
    CommandSpec { name: "kill", arity: 2, flags: flags!(NOSCRIPT, ALLOW_BUSY), acl_categories: SCRIPTING, group: "scripting", summary: "Kill the script currently in execution.", since: "2.6.0", handler: Some(script_kill), ..SPEC },
    CommandSpec { name: "load", arity: 3, flags: flags!(NOSCRIPT, STALE), acl_categories: SCRIPTING, group: "scripting", summary: "Load the specified Lua script into the script cache.", since: "2.6.0", complexity: "O(N) with N being the length in bytes of the script body.", handler: Some(script_load), ..SPEC },
];

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "eval", arity: -3, flags: EVAL_FLAGS, acl_categories: SCRIPTING, movable_keys: Some(numkeys_keys::<2, false>), group: "scripting", summary: "Execute a Lua script server side", since: "2.6.0", complexity: "Depends on the script that is executed.", handler: Some(eval), ..SPEC },
    CommandSpec { name: "evalsha", arity: -3, flags: EVAL_FLAGS, acl_categories: SCRIPTING, movable_keys: Some(numkeys_keys::<2, false>), group: "scripting", summary: "Execute a Lua script server side", since: "2.6.0", complexity: "Depends on the script that is executed.", handler: Some(evalsha), ..SPEC },
    CommandSpec { name: "eval_ro", arity: -3, flags: EVAL_RO_FLAGS, acl_categories: SCRIPTING, movable_keys: Some(numkeys_keys::<2, false>), group: "scripting", summary: "Execute a read-only Lua script server side", since: "7.0.0", complexity: "Depends on the script that is executed.", handler: Some(eval_ro), ..SPEC },
    CommandSpec { name: "evalsha_ro", arity: -3, flags: EVAL_RO_FLAGS, acl_categories: SCRIPTING, movable_keys: Some(numkeys_keys::<2, false>), group: "scripting", summary: "Execute a read-only Lua script server side", since: "7.0.0", complexity: "Depends on the script that is executed.", handler: Some(evalsha_ro), ..SPEC },
    CommandSpec { name: "script", arity: -2, acl_categories: acl!(SLOW), group: "scripting", summary: "A container for Lua scripts management commands", since: "2.6.0", complexity: "Depends on subcommand.", subcommands: SCRIPT_SUBCOMMANDS, ..SPEC },
    CommandSpec { name: "fcall", arity: -3, flags: EVAL_FLAGS, acl_categories: SCRIPTING, movable_keys: Some(numkeys_keys::<2, false>), group: "scripting", summary: "Invoke a function", since: "7.0.0", complexity: "Depends on the function that is executed.", handler: Some(function::fcall), ..SPEC },
    CommandSpec { name: "fcall_ro", arity: -3, flags: EVAL_RO_FLAGS, acl_categories: SCRIPTING, movable_keys: Some(numkeys_keys::<2, false>), group: "scripting", summary: "Invoke a read-only function", since: "7.0.0", complexity: "Depends on the function that is executed.", handler: Some(function::fcall_ro), ..SPEC },
    CommandSpec { name: "function", arity: -2, acl_categories: acl!(SLOW), group: "scripting", summary: "A container for function commands", since: "7.0.0", complexity: "Depends on subcommand.", subcommands: function::SUBCOMMANDS, ..SPEC },
];

/// The commands that run a script: `dispatch` gives them the exec gate exclusively.
pub fn runs_scripts(spec: &CommandSpec) -> bool {
    matches!(
        spec.name,
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    ) && spec.subcommands.is_empty()
}

/// Whether a script runner may write, as Redis's `getCommandFlags` sees it before running it
/// (CLIENT PAUSE WRITE holds those): a script or function that declared flags may write unless
/// it said `no-writes`, even through EVAL_RO (which then refuses it); a script without (EVAL's
/// compatibility mode), an unknown one, or one in a VM busy running a script (not waited for)
/// counts as its command says: EVAL, EVALSHA and FCALL may write, the `_RO` forms not. `None`
/// for any other command.
pub fn script_may_write(server: &Server, spec: &CommandSpec, args: &[Bytes]) -> Option<bool> {
    if !runs_scripts(spec) {
        return None;
    }
    let declared = |flags: ScriptFlags| {
        (!flags.contains(ScriptFlags::EVAL_COMPAT))
            .then_some(!flags.contains(ScriptFlags::NO_WRITES))
    };
    let name = args.get(1).map(|name| &name[..]).unwrap_or_default();
    let flags = match spec.name {
        "eval" | "eval_ro" => shebang_flags(name)
            .ok()
            .and_then(|(flags, _)| declared(flags)),
        "evalsha" | "evalsha_ro" => server.scripting.eval.try_lock().ok().and_then(|slot| {
            let sha = String::from_utf8_lossy(name).to_ascii_lowercase();
            let script = slot.as_ref()?.scripts.get(sha.as_str())?;
            declared(script.flags)
        }),
        _ => server.scripting.functions.try_lock().ok().and_then(|slot| {
            let (_, function) = slot.as_ref()?.function(&String::from_utf8_lossy(name))?;
            declared(function.flags)
        }),
    };
    Some(flags.unwrap_or(spec.has_flag(CommandFlags::MAY_REPLICATE)))
}

pub fn sha1_hex(bytes: &[u8]) -> String {
    Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// EVAL's and FCALL's `numkeys`: at most the arguments after it, not negative.
pub(crate) fn numkeys(
    arg: &[u8],
    available: usize,
    not_integer: CmdError,
) -> Result<usize, CmdError> {
    let n = crate::protocol::parse_i64(arg).ok_or(not_integer)?;
    if n > available as i64 {
        return Err(CmdError::Script(ScriptError::NumkeysTooMany));
    }
    usize::try_from(n).map_err(|_| CmdError::Script(ScriptError::NumkeysNegative))
}

/// Redis's `evalExtractShebangFlags`: the flags of `#!lua flags=...` and the shebang's length
/// (the newline stays with the body, so line numbers do not move); compatibility mode without.
fn shebang_flags(body: &[u8]) -> Result<(ScriptFlags, usize), ScriptError> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags::EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err(ScriptError::InvalidShebang);
    };
    // Split as Redis's `sdssplitargs` splits it (quotes, escapes).
    let parts = crate::protocol::request::split_args(&body[..end]).unwrap_or_default();
    let Some(engine) = parts.first() else {
        return Err(ScriptError::InvalidEngine);
    };
    if *engine != b"#!lua" {
        return Err(ScriptError::UnexpectedEngine(engine.to_vec().into()));
    }
    let mut flags = ScriptFlags::empty();
    for part in &parts[1..] {
        let Some(names) = part.strip_prefix(b"flags=") else {
            return Err(ScriptError::UnknownShebangOption(part.to_vec().into()));
        };
        if names.is_empty() {
            continue;
        }
        for name in names.split(|&b| b == b',') {
            flags |= vm::flag_named(name)
                .ok_or_else(|| ScriptError::UnexpectedFlag(name.to_vec().into()))?;
        }
    }
    Ok((flags, end))
}

fn eval_vm(slot: &mut Option<EvalVm>, ctx: &Ctx<'_>) -> Result<(), CmdError> {
    if slot.is_none() {
        let (vm, _) = vm::build(ctx.server.scripting.run.clone(), false).map_err(|e| {
            CmdError::Script(ScriptError::Failed(format!("ERR {e}").into_bytes().into()))
        })?;
        *slot = Some(EvalVm {
            vm,
            scripts: Default::default(),
            bodies: 0,
        });
    }
    Ok(())
}

/// Compiles `body` into the cache (Redis's `luaCreateFunction`); its SHA1.
fn cache_script(vm: &mut EvalVm, body: &Bytes) -> Result<String, ScriptError> {
    let sha = sha1_hex(body);
    if vm.scripts.contains_key(sha.as_str()) {
        return Ok(sha);
    }
    let (flags, shebang) = shebang_flags(body)?;
    let function = vm
        .vm
        .lua
        .load(&body[shebang..])
        .set_name("@user_script")
        .set_mode(ChunkMode::Text)
        .into_function()
        .map_err(|e| ScriptError::Compile(lua_message(e).into_bytes().into()))?;
    function
        .set_environment(vm.vm.globals.clone())
        .map_err(|e| ScriptError::Compile(lua_message(e).into_bytes().into()))?;
    vm.bodies += body.len();
    vm.scripts.insert(
        sha.clone().into(),
        CachedScript {
            body: body.clone(),
            flags,
            function,
        },
    );
    Ok(sha)
}

/// Lua's own message of a compile error, as Redis quotes it.
pub(crate) fn lua_message(err: mlua::Error) -> String {
    match err {
        mlua::Error::SyntaxError { message, .. } => message,
        mlua::Error::RuntimeError(message) => message,
        other => other.to_string(),
    }
}

fn eval(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    eval_generic(ctx, args, false, false)
}

fn evalsha(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    eval_generic(ctx, args, true, false)
}

fn eval_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    eval_generic(ctx, args, false, true)
}

fn evalsha_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

/// Whether the keyspace is over `maxmemory` once eviction has done what it can: a script with
/// writes may not start then (and a compatibility script may not make its first write).
fn out_of_memory(ctx: &Ctx<'_>) -> bool {
    !super::make_room_for(ctx, true)
}

fn eval_generic(ctx: &mut Ctx<'_>, args: &[Bytes], by_sha: bool, ro: bool) -> CmdResult {
    crate::commands::observe::script_started(ctx, args);
    // As Redis's evalShaCommand: a name that cannot be a SHA1 is NOSCRIPT before numkeys is read.
    if by_sha && args[1].len() != 40 {
        return Err(CmdError::Script(ScriptError::NoScript));
    }
    let keys = numkeys(&args[2], args.len() - 3, CmdError::NotInteger)?;
    let server = ctx.server;
    let mut slot = server.scripting.eval.lock_or_recover();
    eval_vm(&mut slot, ctx)?;
    let Some(vm) = slot.as_mut() else {
        return Ok(());
    };
    let sha = if by_sha {
        let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        if sha.len() != 40 || !vm.scripts.contains_key(sha.as_str()) {
            return Err(CmdError::Script(ScriptError::NoScript));
        }
        sha
    } else {
        let sha = cache_script(vm, &args[1]).map_err(CmdError::Script)?;
        server.scripting.publish_eval(Some(vm));
        sha
    };
    let script = &vm.scripts[sha.as_str()];
    let flags = script.flags;
    let oom = out_of_memory(ctx);
    if !flags.contains(ScriptFlags::EVAL_COMPAT) {
        if oom && !flags.intersects(ScriptFlags::ALLOW_OOM | ScriptFlags::NO_WRITES) {
            return Err(CmdError::OutOfMemory);
        }
        if ro && !flags.contains(ScriptFlags::NO_WRITES) {
            return Err(CmdError::Script(ScriptError::WriteFlagOnReadonly));
        }
    }
    let function = script.function.clone();
    let result = run::run(
        ctx,
        &vm.vm,
        run::Script {
            function: &function,
            name: &sha,
            flags,
            read_only: ro || flags.contains(ScriptFlags::NO_WRITES),
            eval: true,
            keys: &args[3..3 + keys],
            argv: &args[3 + keys..],
            oom,
        },
        args,
    );
    server.scripting.publish_eval(Some(vm));
    result
}

fn script_load(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut slot = ctx.server.scripting.eval.lock_or_recover();
    eval_vm(&mut slot, ctx)?;
    let Some(vm) = slot.as_mut() else {
        return Ok(());
    };
    let sha = cache_script(vm, &args[2]).map_err(CmdError::Script)?;
    ctx.server.scripting.publish_eval(Some(vm));
    ctx.out.bulk(sha.as_bytes());
    Ok(())
}

fn script_exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let slot = ctx.server.scripting.eval.lock_or_recover();
    ctx.out.array(args.len() - 2);
    for sha in &args[2..] {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        let known = slot
            .as_ref()
            .is_some_and(|vm| vm.scripts.contains_key(sha.as_str()));
        ctx.out.int(known as i64);
    }
    Ok(())
}

/// `[ASYNC|SYNC]` of SCRIPT FLUSH and FUNCTION FLUSH (both drop the VM at once: a Lua state
/// has no incremental free worth a thread).
pub(crate) fn flush_mode(args: &[Bytes], err: ScriptError) -> Result<(), CmdError> {
    match args.get(2) {
        None => Ok(()),
        Some(mode)
            if args.len() == 3
                && (mode.eq_ignore_ascii_case(b"sync") || mode.eq_ignore_ascii_case(b"async")) =>
        {
            Ok(())
        }
        Some(_) => Err(CmdError::Script(err)),
    }
}

fn script_flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    flush_mode(args, ScriptError::ScriptFlushOption)?;
    let old = ctx.server.scripting.eval.lock_or_recover().take();
    drop(old);
    ctx.server.scripting.publish_eval(None);
    ctx.out.ok();
    Ok(())
}

fn script_kill(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.server
        .scripting
        .run
        .kill(true)
        .map_err(CmdError::Script)?;
    ctx.out.ok();
    Ok(())
}

fn script_debug(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mode = &args[2];
    if mode.eq_ignore_ascii_case(b"no") {
        ctx.out.ok();
        return Ok(());
    }
    if mode.eq_ignore_ascii_case(b"yes") || mode.eq_ignore_ascii_case(b"sync") {
        return Err(CmdError::Script(ScriptError::DebuggerUnsupported));
    }
    Err(CmdError::Script(ScriptError::DebugOption))
}

fn script_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs_as_redis_reads_them() {
        assert_eq!(
            shebang_flags(b"return 1"),
            Ok((ScriptFlags::EVAL_COMPAT, 0))
        );
        assert_eq!(
            shebang_flags(b"#!lua flags=no-writes,allow-oom\nreturn 1"),
            Ok((ScriptFlags::NO_WRITES | ScriptFlags::ALLOW_OOM, 31))
        );
        assert_eq!(shebang_flags(b"#!lua\n"), Ok((ScriptFlags::empty(), 5)));
        assert_eq!(shebang_flags(b"#!lua"), Err(ScriptError::InvalidShebang));
        assert_eq!(
            shebang_flags(b"#!lua flags=bad\n"),
            Err(ScriptError::UnexpectedFlag(b"bad".to_vec().into()))
        );
        assert_eq!(
            shebang_flags(b"#!lua x=1\n"),
            Err(ScriptError::UnknownShebangOption(b"x=1".to_vec().into()))
        );
        assert_eq!(
            shebang_flags(b"#!luax\n"),
            Err(ScriptError::UnexpectedEngine(b"#!luax".to_vec().into()))
        );
    }

    #[test]
    fn sha1_is_lower_case_hex() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }
}
