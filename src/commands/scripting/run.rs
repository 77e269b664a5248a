//! Running one script or function: `redis.call` / `redis.pcall` with Redis's checks
//! (`scriptCall`), the reply converted both ways, and the failure turned into Redis's error text.
//!
//! The caller holds the exec gate exclusively (`dispatch`), so the script is atomic across shards
//! like EXEC; the commands it calls go through `commands::execute`, the path EXEC's queued
//! commands take, so every notice sink (WATCH, keyspace notifications, tracking, tags,
//! dependencies, peers) fires for them as for any command. The calling client's state stands in
//! for Redis's script client: `in_exec` keeps blocking commands from blocking and CLIENT LIST
//! naming EVAL, the time of the command is frozen for the whole script (as Redis 7 freezes it),
//! and a SELECT inside the script is undone after it.

use std::cell::RefCell;

use bytes::Bytes;

use crate::state::acl::check::Denied;
use mlua::{Function, Lua, Value, Variadic};

use super::convert;
use super::vm::{error_table, raise_text, Raise};
use crate::commands::{execute, resolve, CommandFlags, Ctx};
use crate::error::{CmdError, CmdResult, LuaText, ScriptError};
use crate::protocol::{format_double, Protocol, ReplyBuf};
use crate::state::scripting::{ScriptFlags, Vm};

pub struct Script<'a> {
    pub function: &'a Function,
    /// What errors name after `script:`: the SHA1 of an EVAL script, a function's name.
    pub name: &'a str,
    pub flags: ScriptFlags,
    /// EVAL_RO, FCALL_RO, or a `no-writes` script: write commands are refused.
    pub read_only: bool,
    pub eval: bool,
    pub keys: &'a [Bytes],
    pub argv: &'a [Bytes],
    /// The server was over `maxmemory` when the script started.
    pub oom: bool,
}

struct Calls<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    resp3: bool,
    wrote: bool,
    read_only: bool,
    allow_oom: bool,
    oom: bool,
}

impl Calls<'_, '_> {
    /// `redis.call` (`raise`) and `redis.pcall`: the reply, and whether to raise it.
    fn call(&mut self, lua: &Lua, args: Variadic<Value>) -> mlua::Result<(Value, bool)> {
        let fail = |lua: &Lua, text: &[u8]| -> mlua::Result<(Value, bool)> {
            Ok((Value::Table(error_table(lua, text)?), true))
        };
        if args.is_empty() {
            return fail(lua, LuaText::NoArguments.text().as_bytes());
        }
        let mut argv = Vec::with_capacity(args.len());
        for arg in args.iter() {
            match arg {
                Value::String(s) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
                // Lua's own number formatting loses precision: Redis 7.0 prints `%.17g`.
                Value::Integer(n) => argv.push(Bytes::from(format_double(*n as f64))),
                Value::Number(n) => argv.push(Bytes::from(format_double(*n))),
                _ => return fail(lua, LuaText::BadArgument.text().as_bytes()),
            }
        }
        let (parent, spec) = match resolve(&argv) {
            Ok(found) => found,
            Err(CmdError::WrongArity(_)) => {
                return fail(lua, LuaText::WrongArity.text().as_bytes())
            }
            Err(_) => return fail(lua, LuaText::UnknownCommand.text().as_bytes()),
        };
        let flags = spec.flags | parent.map_or(CommandFlags::empty(), |p| p.flags);
        if flags.contains(CommandFlags::NOSCRIPT) {
            return fail(lua, LuaText::NotAllowed.text().as_bytes());
        }
        // The running user's permissions apply to what the script calls (Redis's
        // `scriptVerifyACL`).
        let permitted = crate::commands::acl::permitted(
            self.ctx,
            parent,
            spec,
            &argv,
            crate::state::acl::log::Context::Lua,
        );
        if let Err(denied) = permitted {
            let text = match denied {
                Denied::Command => LuaText::AclDeniedCommand,
                Denied::Key(_) => LuaText::AclDeniedKey,
                Denied::Channel(_) => LuaText::AclDeniedChannel,
            };
            return fail(lua, text.text().as_bytes());
        }
        let writes = flags.intersects(CommandFlags::WRITE | CommandFlags::MAY_REPLICATE);
        if writes && self.read_only {
            return fail(lua, LuaText::WriteInReadOnly.text().as_bytes());
        }
        // Under OOM a script may still write if it has not yet: stopping half-way would break
        // its atomicity, so only the first denyoom write is refused.
        if !self.allow_oom && !self.wrote && self.oom && flags.contains(CommandFlags::DENYOOM) {
            return fail(lua, LuaText::OutOfMemory.text().as_bytes());
        }
        if flags.contains(CommandFlags::WRITE) {
            self.wrote = true;
            self.ctx.server.scripting.run.mark_written();
        }
        let protocol = if self.resp3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        let mut scratch = ReplyBuf::new(protocol);
        let outer = &mut *self.ctx;
        let mut inner = Ctx {
            server: outer.server,
            client: &mut *outer.client,
            out: &mut scratch,
            now_ms: outer.now_ms,
        };
        let result = execute(&mut inner, parent, spec, &argv);
        if let Err(err) = result {
            let mut text = b"-".to_vec();
            text.extend_from_slice(&err.message_bytes());
            let table = error_table(lua, &text)?;
            table.raw_set("ignore_error_stats_update", true)?;
            return Ok((Value::Table(table), true));
        }
        let bytes = scratch.to_vec();
        if bytes.is_empty() {
            return Ok((Value::Boolean(false), false));
        }
        let (value, _) = convert::reply_to_lua(lua, &bytes)?;
        Ok((value, bytes[0] == b'-'))
    }

    fn setresp(&mut self, _: &Lua, args: Variadic<Value>) -> mlua::Result<()> {
        if args.len() != 1 {
            return Err(raise_text(LuaText::SetrespArgs.text().as_bytes()));
        }
        let version = match &args[0] {
            Value::Integer(n) => *n,
            Value::Number(n) => *n as i64,
            _ => 0,
        };
        match version {
            2 | 3 => {
                self.resp3 = version == 3;
                Ok(())
            }
            _ => Err(raise_text(LuaText::SetrespVersion.text().as_bytes())),
        }
    }
}

/// Runs `script` and writes its reply or its error.
pub fn run(ctx: &mut Ctx<'_>, vm: &Vm, script: Script<'_>, command: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    let lua = &vm.lua;
    let lua_err = |e: mlua::Error| {
        CmdError::Script(ScriptError::Failed(format!("ERR {e}").into_bytes().into()))
    };
    let strings = |items: &[Bytes]| -> mlua::Result<mlua::Table> {
        lua.create_sequence_from(
            items
                .iter()
                .map(|b| lua.create_string(b))
                .collect::<mlua::Result<Vec<_>>>()?,
        )
    };
    let keys = strings(script.keys).map_err(lua_err)?;
    let argv = strings(script.argv).map_err(lua_err)?;
    if script.eval {
        // Set on the proxy itself: a raw field is found before the read-through metatable.
        vm.globals.raw_set("KEYS", keys.clone()).map_err(lua_err)?;
        vm.globals.raw_set("ARGV", argv.clone()).map_err(lua_err)?;
    }
    let threshold = server.config.read().busy_reply_threshold;
    let run = &server.scripting.run;
    run.begin(script.eval, threshold, script.name, command.to_vec());
    let db = ctx.client.db;
    let in_exec = std::mem::replace(&mut ctx.client.in_exec, true);
    let in_script = std::mem::replace(&mut ctx.client.in_script, true);
    let outer_keys = ctx
        .client
        .tracking
        .remembers()
        .then(|| script.keys.to_vec());
    let outer_keys = std::mem::replace(&mut ctx.client.script_keys, outer_keys);
    let calls = RefCell::new(Calls {
        ctx: &mut *ctx,
        resp3: false,
        wrote: false,
        read_only: script.read_only,
        allow_oom: script.flags.contains(ScriptFlags::ALLOW_OOM),
        oom: script.oom,
    });
    let outcome: mlua::Result<(bool, Value)> = lua.scope(|scope| {
        let call = scope.create_function(|lua, args: Variadic<Value>| {
            let (value, failed) = calls.borrow_mut().call(lua, args)?;
            if !failed {
                return Ok(value);
            }
            let text = match &value {
                Value::Table(table) => table
                    .raw_get::<Option<mlua::String>>("err")?
                    .map(|s| s.as_bytes().to_vec())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            Err(mlua::Error::external(Raise(text)))
        })?;
        let pcall = scope.create_function(|lua, args: Variadic<Value>| {
            Ok(calls.borrow_mut().call(lua, args)?.0)
        })?;
        let setresp = scope
            .create_function(|lua, args: Variadic<Value>| calls.borrow_mut().setresp(lua, args))?;
        // `redis.acl_check_cmd`: whether the running user may run the command with these
        // arguments (Redis's `luaRedisAclCheckCmdPermissionsCommand`; no arity check).
        let acl_check = scope.create_function(|_, args: Variadic<Value>| {
            let mut argv = Vec::with_capacity(args.len());
            for arg in args.iter() {
                match arg {
                    Value::String(s) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
                    Value::Integer(n) => argv.push(Bytes::from(format_double(*n as f64))),
                    Value::Number(n) => argv.push(Bytes::from(format_double(*n))),
                    _ => return Err(raise_text(LuaText::AclCheckInvalid.text().as_bytes())),
                }
            }
            let Some(base) = argv.first().and_then(|name| crate::commands::lookup(name)) else {
                return Err(raise_text(LuaText::AclCheckInvalid.text().as_bytes()));
            };
            let (parent, spec) = match argv.get(1) {
                Some(sub) if !base.subcommands.is_empty() => {
                    match crate::commands::lookup_subcommand(base, sub) {
                        Some(found) => (Some(base), found),
                        None => return Err(raise_text(LuaText::AclCheckInvalid.text().as_bytes())),
                    }
                }
                _ => (None, base),
            };
            let calls = calls.borrow();
            let user = &calls.ctx.client.user;
            let index = crate::commands::acl::command_index();
            let allowed = user.unrestricted()
                || crate::state::acl::check::check(user, index, parent, spec, &argv).is_ok();
            Ok(allowed)
        })?;
        vm.current.raw_set("call", call)?;
        vm.current.raw_set("pcall", pcall)?;
        vm.current.raw_set("setresp", setresp)?;
        vm.current.raw_set("acl_check_cmd", acl_check)?;
        let result = if script.eval {
            vm.runner.call((script.function.clone(),))
        } else {
            vm.runner.call((script.function.clone(), keys, argv))
        };
        for name in ["call", "pcall", "setresp", "acl_check_cmd"] {
            vm.current.raw_set(name, Value::Nil)?;
        }
        result
    });
    let resp3 = calls.borrow().resp3;
    ctx.client.in_exec = in_exec;
    ctx.client.in_script = in_script;
    ctx.client.script_keys = outer_keys;
    if ctx.client.db != db {
        ctx.client.select(db);
    }
    run.end();
    let (ok, value) = outcome.map_err(lua_err)?;
    if ok {
        convert::lua_to_reply(ctx.out, &value, resp3, 0);
        return Ok(());
    }
    Err(CmdError::Script(failure(script.name, &value)))
}

/// The error a failed script answers (Redis's `luaCallFunction`): the `err` text, and where.
fn failure(name: &str, value: &Value) -> ScriptError {
    let Value::Table(table) = value else {
        let text = match value {
            Value::String(s) => s.as_bytes().to_vec(),
            _ => b"execution failure".to_vec(),
        };
        return ScriptError::Running {
            name: name.into(),
            text: text.into(),
        };
    };
    let mut text = match table.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.as_bytes().to_vec(),
        _ => Vec::new(),
    };
    let source = table
        .raw_get::<Option<mlua::String>>("source")
        .ok()
        .flatten();
    let line = table.raw_get::<Option<i64>>("line").ok().flatten();
    if let (Some(source), Some(line)) = (source, line) {
        text.extend_from_slice(format!(" script: {name}, on ").as_bytes());
        text.extend_from_slice(&source.as_bytes());
        text.extend_from_slice(format!(":{line}.").as_bytes());
    }
    ScriptError::Failed(text.into())
}
