//! FUNCTION and FCALL as Redis 7.0's `functions.c` and `function_lua.c`: libraries of Lua
//! functions loaded from code that starts `#!lua name=<library>` and registers its functions
//! with `redis.register_function`, all in one VM apart from EVAL's.
//!
//! A library's code runs at load with a `redis` that only registers, logs and sets the protocol
//! (calling `redis.call` then is "nonexistent global"), as in Redis. A load that fails leaves
//! the libraries as they were; a library's code that runs past `LOAD_TIMEOUT_MS` is stopped
//! ("FUNCTION LOAD timeout"). FUNCTION DUMP and RESTORE use Redis's payload (`engine::dump`), so
//! libraries move between redis-server and cachet both ways.

use std::cell::RefCell;

use bytes::Bytes;
use mlua::{ChunkMode, Value, Variadic};

use super::vm::{self, error_table};
use super::{lua_message, numkeys, run, SCRIPTING};
use crate::commands::{reply_help, CommandSpec, Ctx, SPEC};
use crate::engine::glob::glob_match;
use crate::error::{CmdError, CmdResult, ScriptError};
use crate::state::scripting::{
    FunctionDef, FunctionsVm, Library, RunState, ScriptFlags, FLAG_NAMES,
};
use crate::sync::LockExt;

/// Where the function switching the globals to FUNCTION LOAD's is kept in the VM's registry.
const LOADING_SWITCH: &str = "cachet.loading";

/// Redis's `LOAD_TIMEOUT_MS`: the longest a library's code may run at FUNCTION LOAD.
const LOAD_TIMEOUT_MS: u64 = 500;

#[rustfmt::skip]
pub static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "dump", arity: 2, flags: flags!(NOSCRIPT), acl_categories: SCRIPTING, group: "scripting", summary: "Dump all functions into a serialized binary payload", since: "7.0.0", complexity: "O(N) where N is the number of functions", handler: Some(dump), ..SPEC },
    CommandSpec { name: "restore", arity: -3, flags: flags!(WRITE, DENYOOM, NOSCRIPT), acl_categories: acl!(WRITE, SLOW, SCRIPTING), group: "scripting", summary: "Restore all the functions on the given payload", since: "7.0.0", complexity: "O(N) where N is the number of functions on the payload", handler: Some(restore), ..SPEC },
    CommandSpec { name: "delete", arity: 3, flags: flags!(WRITE, NOSCRIPT), acl_categories: acl!(WRITE, SLOW, SCRIPTING), group: "scripting", summary: "Delete a function by name", since: "7.0.0", handler: Some(delete), ..SPEC },
    CommandSpec { name: "flush", arity: -2, flags: flags!(WRITE, NOSCRIPT), acl_categories: acl!(WRITE, SLOW, SCRIPTING), group: "scripting", summary: "Deleting all functions", since: "7.0.0", complexity: "O(N) where N is the number of functions deleted", handler: Some(flush), ..SPEC },
    CommandSpec { name: "help", arity: 2, flags: flags!(LOADING, STALE), acl_categories: SCRIPTING, group: "scripting", summary: "Show helpful text about the different subcommands", since: "7.0.0", handler: Some(help), ..SPEC },
    CommandSpec { name: "kill", arity: 2, flags: flags!(NOSCRIPT, ALLOW_BUSY), acl_categories: SCRIPTING, group: "scripting", summary: "Kill the function currently in execution.", since: "7.0.0", handler: Some(kill), ..SPEC },
    CommandSpec { name: "list", arity: -2, flags: flags!(NOSCRIPT), acl_categories: SCRIPTING, group: "scripting", summary: "List information about all the functions", since: "7.0.0", complexity: "O(N) where N is the number of functions", handler: Some(list), ..SPEC },
    CommandSpec { name: "load", arity: -3, flags: flags!(WRITE, DENYOOM, NOSCRIPT), acl_categories: acl!(WRITE, SLOW, SCRIPTING), group: "scripting", summary: "Create a function with the given arguments (name, code, description)", since: "7.0.0", complexity: "O(1) (considering compilation time is redundant)", handler: Some(load), ..SPEC },
    CommandSpec { name: "stats", arity: 2, flags: flags!(NOSCRIPT, ALLOW_BUSY), acl_categories: SCRIPTING, group: "scripting", summary: "Return information about the function currently running (name, description, duration)", since: "7.0.0", handler: Some(stats), ..SPEC },
];

fn functions_vm(slot: &mut Option<FunctionsVm>, ctx: &Ctx<'_>) -> Result<(), CmdError> {
    if slot.is_none() {
        let built = vm::build(ctx.server.scripting.run.clone(), true).and_then(|(vm, switch)| {
            vm.lua.set_named_registry_value(LOADING_SWITCH, switch)?;
            Ok(vm)
        });
        let vm = built.map_err(|e| {
            CmdError::Script(ScriptError::Failed(format!("ERR {e}").into_bytes().into()))
        })?;
        *slot = Some(FunctionsVm::new(vm));
    }
    Ok(())
}

/// Redis's `functionsVerifyName`: letters, digits and underscores, at least one.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

const NAME_RULE: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

fn load_error(text: impl AsRef<[u8]>) -> CmdError {
    CmdError::Script(ScriptError::Load(text.as_ref().to_vec().into()))
}

/// The library name of `#!<engine> name=<name>` (Redis's `functionExtractLibMetaData`).
fn metadata(code: &[u8]) -> Result<String, CmdError> {
    if !code.starts_with(b"#!") {
        return Err(load_error("Missing library metadata"));
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err(load_error("Invalid library metadata"));
    };
    // Split as Redis's `sdssplitargs` splits it: `name="foo"` names `foo`.
    let parts = crate::protocol::request::split_args(&code[..end]).unwrap_or_default();
    let Some(engine) = parts.first() else {
        return Err(load_error("Invalid library metadata"));
    };
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(load_error(
                    "Invalid metadata value, name argument was given multiple times",
                ));
            }
            name = Some(String::from_utf8_lossy(&part[5..]).into_owned());
            continue;
        }
        return Err(load_error(
            [&b"Invalid metadata value given: "[..], part].concat(),
        ));
    }
    let Some(name) = name else {
        return Err(load_error("Library name was not given"));
    };
    if !valid_name(name.as_bytes()) {
        return Err(load_error(NAME_RULE));
    }
    if !engine[2..].eq_ignore_ascii_case(b"lua") {
        return Err(load_error(
            [b"Engine '", &engine[2..], b"' not found"].concat(),
        ));
    }
    Ok(name)
}

/// A string argument as Lua's `lua_isstring` takes it: a number is its text.
fn text(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(n) => Some(n.to_string().into_bytes()),
        Value::Number(n) => Some(crate::protocol::format_double(*n).into_bytes()),
        _ => None,
    }
}

/// `redis.register_function`'s arguments (Redis's `luaRegisterFunctionReadArgs`).
fn register_args(args: &Variadic<Value>) -> Result<FunctionDef, String> {
    let (name, callback, description, flags) = match &args[..] {
        [Value::Table(named)] => {
            let mut name = None;
            let mut callback = None;
            let mut description = None;
            let mut flags = ScriptFlags::empty();
            for pair in named.clone().pairs::<Value, Value>() {
                let (key, value) = pair.map_err(|e| e.to_string())?;
                let key = match &key {
                    Value::String(s) => s.as_bytes().to_vec(),
                    _ => return Err("named argument key given to redis.register_function is not a string".into()),
                };
                match &key[..] {
                    b"function_name" => match text(&value) {
                        Some(text) => name = Some(text),
                        _ => return Err("function_name argument given to redis.register_function must be a string".into()),
                    },
                    b"description" => match text(&value) {
                        Some(text) => description = Some(Bytes::from(text)),
                        _ => return Err("description argument given to redis.register_function must be a string".into()),
                    },
                    b"callback" => match value {
                        Value::Function(f) => callback = Some(f),
                        _ => return Err("callback argument given to redis.register_function must be a function".into()),
                    },
                    b"flags" => {
                        let Value::Table(list) = value else {
                            return Err("flags argument to redis.register_function must be a table representing function flags".into());
                        };
                        for flag in list.sequence_values::<Value>() {
                            let flag = match flag.map_err(|e| e.to_string())? {
                                Value::String(s) => s.as_bytes().to_vec(),
                                _ => return Err("unknown flag given".into()),
                            };
                            flags |= FLAG_NAMES
                                .iter()
                                .find(|(n, _)| n.as_bytes() == &flag[..])
                                .map(|(_, f)| *f)
                                .ok_or_else(|| "unknown flag given".to_string())?;
                        }
                    }
                    _ => return Err("unknown argument given to redis.register_function".into()),
                }
            }
            let name = name.ok_or_else(|| "redis.register_function must get a function name argument".to_string())?;
            let callback = callback.ok_or_else(|| "redis.register_function must get a callback argument".to_string())?;
            (name, callback, description, flags)
        }
        [_] => return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into()),
        [name, callback] => {
            let Some(name) = text(name) else {
                return Err("first argument to redis.register_function must be a string".into());
            };
            let Value::Function(callback) = callback else {
                return Err("second argument to redis.register_function must be a function".into());
            };
            (name, callback.clone(), None, ScriptFlags::empty())
        }
        _ => return Err("wrong number of arguments to redis.register_function".into()),
    };
    if !valid_name(&name) {
        return Err(NAME_RULE.into());
    }
    Ok(FunctionDef {
        name: String::from_utf8_lossy(&name).into(),
        description,
        flags,
        function: callback,
    })
}

/// Runs a library's code (for at most `limit_ms`) and collects what it registers.
fn create_library(
    fvm: &FunctionsVm,
    run: &RunState,
    code: &[u8],
    limit_ms: Option<u64>,
) -> Result<Vec<FunctionDef>, CmdError> {
    let lua = &fvm.vm.lua;
    let start = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
    let chunk = lua
        .load(&code[start..])
        .set_name("@user_function")
        .set_mode(ChunkMode::Text)
        .into_function()
        .map_err(|e| load_error(format!("Error compiling function: {}", lua_message(e))))?;
    let internal = |e: mlua::Error| load_error(e.to_string());
    let switch: mlua::Function = lua.named_registry_value(LOADING_SWITCH).map_err(internal)?;
    chunk
        .set_environment(fvm.vm.globals.clone())
        .map_err(internal)?;
    let registered: RefCell<Vec<FunctionDef>> = RefCell::new(Vec::new());
    let outcome = lua.scope(|scope| {
        let register = scope.create_function(|lua, args: Variadic<Value>| {
            let def = match register_args(&args) {
                Ok(def) => def,
                Err(text) => return Ok((Value::Table(error_table(lua, text.as_bytes())?), true)),
            };
            let mut list = registered.borrow_mut();
            if list.iter().any(|d| d.name == def.name) {
                let text = "Function already exists in the library";
                return Ok((Value::Table(error_table(lua, text.as_bytes())?), true));
            }
            list.push(def);
            Ok((Value::Nil, false))
        })?;
        fvm.vm.current.raw_set("register", register)?;
        switch.call::<()>(true)?;
        run.limit_load(limit_ms);
        let result: mlua::Result<(bool, Value)> = fvm.vm.runner.call((chunk.clone(),));
        run.limit_load(None);
        switch.call::<()>(false)?;
        fvm.vm.current.raw_set("register", Value::Nil)?;
        result
    });
    let (ok, err) = outcome.map_err(internal)?;
    if !ok {
        let text = match &err {
            Value::Table(t) => t
                .raw_get::<Option<mlua::String>>("err")
                .ok()
                .flatten()
                .map(|s| s.as_bytes().to_vec())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        return Err(load_error(
            [&b"Error registering functions: "[..], &text].concat(),
        ));
    }
    Ok(registered.into_inner())
}

fn load(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut replace = false;
    for option in &args[2..args.len() - 1] {
        if option.eq_ignore_ascii_case(b"replace") {
            replace = true;
            continue;
        }
        return Err(CmdError::Script(ScriptError::UnknownLoadOption(
            option.to_vec().into(),
        )));
    }
    let code = args[args.len() - 1].clone();
    let name = metadata(&code)?;
    let server = ctx.server;
    let mut slot = server.scripting.functions.lock_or_recover();
    functions_vm(&mut slot, ctx)?;
    let Some(fvm) = slot.as_mut() else {
        return Ok(());
    };
    if !replace && fvm.libraries.contains_key(name.as_str()) {
        return Err(CmdError::Script(ScriptError::LibraryExists(
            name.into_bytes().into(),
        )));
    }
    let library = build_library(
        fvm,
        &server.scripting.run,
        name.clone(),
        code,
        Some(LOAD_TIMEOUT_MS),
    )?;
    for function in library.functions.keys() {
        let owner = fvm.owner(function);
        if owner.is_some_and(|owner| *owner != *name) {
            return Err(load_error(format!("Function {function} already exists")));
        }
    }
    unlink(fvm, &name);
    link(fvm, library);
    server.scripting.publish_functions(Some(fvm));
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

/// Runs a library's code into a library, which must register at least one function.
fn build_library(
    fvm: &FunctionsVm,
    run: &RunState,
    name: String,
    code: Bytes,
    limit_ms: Option<u64>,
) -> Result<Library, CmdError> {
    let defs = create_library(fvm, run, &code, limit_ms)?;
    if defs.is_empty() {
        return Err(load_error("No functions registered"));
    }
    let functions = defs
        .into_iter()
        .map(|def| (def.name.clone(), def))
        .collect();
    Ok(Library {
        name: name.into(),
        code,
        functions,
    })
}

fn unlink(fvm: &mut FunctionsVm, name: &str) -> Option<Library> {
    let old = fvm.libraries.remove(name)?;
    fvm.unindex_library(&old);
    Some(old)
}

fn link(fvm: &mut FunctionsVm, library: Library) {
    fvm.index_library(&library);
    fvm.libraries.insert(library.name.clone(), library);
}

/// Every library's code in Redis's payload (libraries by name; Redis's order is its dict's).
fn dump(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let slot = ctx.server.scripting.functions.lock_or_recover();
    let codes = slot
        .iter()
        .flat_map(|fvm| fvm.libraries.values().map(|l| &l.code[..]));
    let payload = crate::engine::dump::dump_functions(codes);
    ctx.out.bulk(&payload);
    Ok(())
}

#[derive(PartialEq)]
enum RestorePolicy {
    Append,
    Replace,
    Flush,
}

/// Redis's `functionRestoreCommand`: the payload's libraries are all created first (a failure
/// leaves the current ones untouched), then swapped in (FLUSH) or joined to the current ones,
/// where a library of the same name is an error (APPEND) or replaced (REPLACE), and a function
/// name another library holds is an error.
fn restore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::UnknownSubcommandOrArity {
            command: "FUNCTION",
            sub: args[1][..].into(),
        });
    }
    let policy = match args.get(3) {
        None => RestorePolicy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"append") => RestorePolicy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"replace") => RestorePolicy::Replace,
        Some(p) if p.eq_ignore_ascii_case(b"flush") => RestorePolicy::Flush,
        Some(_) => return Err(CmdError::Script(ScriptError::RestorePolicy)),
    };
    let payload = &args[2];
    if crate::engine::dump::verify(payload).is_err() {
        return Err(CmdError::Script(ScriptError::DumpPayload));
    }
    let (codes, read_error) = crate::engine::dump::read_functions(payload);
    let server = ctx.server;
    let mut slot = server.scripting.functions.lock_or_recover();
    functions_vm(&mut slot, ctx)?;
    let Some(fvm) = slot.as_mut() else {
        return Ok(());
    };
    let mut restored: Vec<Library> = Vec::new();
    for code in codes {
        let code = Bytes::from(code);
        let name = metadata(&code)?;
        if restored.iter().any(|l| *l.name == *name) {
            return Err(CmdError::Script(ScriptError::LibraryExists(
                name.into_bytes().into(),
            )));
        }
        let library = build_library(fvm, &server.scripting.run, name, code, None)?;
        for function in library.functions.keys() {
            let taken = |l: &Library| l.functions.keys().any(|f| f.eq_ignore_ascii_case(function));
            if restored.iter().any(taken) {
                return Err(load_error(format!("Function {function} already exists")));
            }
        }
        restored.push(library);
    }
    if let Some(text) = read_error {
        return Err(load_error(text));
    }
    if policy == RestorePolicy::Flush {
        fvm.libraries.clear();
        fvm.clear_index();
    } else {
        for library in &restored {
            if fvm.libraries.contains_key(&library.name) && policy == RestorePolicy::Append {
                return Err(CmdError::Script(ScriptError::RestoreLibraryExists(
                    library.name.as_bytes().into(),
                )));
            }
        }
        let replaced = |owner: &str| restored.iter().any(|l| *l.name == *owner);
        for library in &restored {
            for function in library.functions.keys() {
                if fvm.owner(function).is_some_and(|owner| !replaced(owner)) {
                    return Err(CmdError::Script(ScriptError::RestoreFunctionExists(
                        function.as_bytes().into(),
                    )));
                }
            }
        }
        for library in &restored {
            unlink(fvm, &library.name);
        }
    }
    for library in restored {
        link(fvm, library);
    }
    server.scripting.publish_functions(Some(fvm));
    ctx.out.ok();
    Ok(())
}

fn delete(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut slot = ctx.server.scripting.functions.lock_or_recover();
    let name = String::from_utf8_lossy(&args[2]);
    let Some(fvm) = slot.as_mut() else {
        return Err(CmdError::Script(ScriptError::LibraryNotFound));
    };
    let Some(library) = fvm.libraries.remove(name.as_ref()) else {
        return Err(CmdError::Script(ScriptError::LibraryNotFound));
    };
    fvm.unindex_library(&library);
    ctx.server.scripting.publish_functions(Some(fvm));
    ctx.out.ok();
    Ok(())
}

fn flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::UnknownSubcommandOrArity {
            command: "FUNCTION",
            sub: args[1][..].into(),
        });
    }
    super::flush_mode(args, ScriptError::FunctionFlushOption)?;
    // The libraries go, the Lua VM stays (Redis's engine keeps its Lua state): what scripts
    // set there, such as cjson's settings, outlives FUNCTION FLUSH as it does in Redis.
    let mut slot = ctx.server.scripting.functions.lock_or_recover();
    if let Some(fvm) = slot.as_mut() {
        fvm.libraries.clear();
        fvm.clear_index();
    }
    ctx.server.scripting.publish_functions(slot.as_ref());
    ctx.out.ok();
    Ok(())
}

fn list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&Bytes> = None;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if !with_code && arg.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if pattern.is_none() && arg.eq_ignore_ascii_case(b"libraryname") {
            if i + 1 >= args.len() {
                return Err(CmdError::Script(ScriptError::LibraryNameMissing));
            }
            i += 1;
            pattern = Some(&args[i]);
        } else {
            return Err(CmdError::Script(ScriptError::UnknownListArgument(
                arg.to_vec().into(),
            )));
        }
        i += 1;
    }
    let slot = ctx.server.scripting.functions.lock_or_recover();
    let libraries: Vec<&Library> = slot
        .iter()
        .flat_map(|fvm| fvm.libraries.values())
        .filter(|l| pattern.is_none_or(|p| glob_match(p, l.name.as_bytes(), false)))
        .collect();
    let out = &mut *ctx.out;
    out.array(libraries.len());
    for library in libraries {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(library.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(library.functions.len());
        for def in library.functions.values() {
            out.map(3);
            out.bulk(b"name");
            out.bulk(def.name.as_bytes());
            out.bulk(b"description");
            match &def.description {
                Some(text) => out.bulk(text),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = FLAG_NAMES
                .iter()
                .filter(|(_, f)| def.flags.contains(*f))
                .map(|(n, _)| *n)
                .collect();
            out.set(names.len());
            for name in names {
                out.simple(name);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&library.code);
        }
    }
    Ok(())
}

/// Reads only the run state and the published counts: it must answer while a function runs.
fn stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let scripting = &ctx.server.scripting;
    if scripting.run.running() && scripting.run.is_eval() {
        return Err(CmdError::Script(ScriptError::Busy { eval: true }));
    }
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    match scripting.run.details() {
        None => out.null(),
        Some((name, command)) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"command");
            out.array(command.len());
            for arg in &command {
                out.bulk(arg);
            }
            out.bulk(b"duration_ms");
            out.int(scripting.run.elapsed_ms() as i64);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    let load =
        |n: &std::sync::atomic::AtomicUsize| n.load(std::sync::atomic::Ordering::Relaxed) as i64;
    out.int(load(&scripting.stats.libraries));
    out.bulk(b"functions_count");
    out.int(load(&scripting.stats.functions));
    Ok(())
}

fn kill(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.server
        .scripting
        .run
        .kill(false)
        .map_err(CmdError::Script)?;
    ctx.out.ok();
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

pub fn fcall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    fcall_generic(ctx, args, false)
}

pub fn fcall_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    fcall_generic(ctx, args, true)
}

fn fcall_generic(ctx: &mut Ctx<'_>, args: &[Bytes], ro: bool) -> CmdResult {
    crate::commands::observe::script_started(ctx, args);
    let server = ctx.server;
    let slot = server.scripting.functions.lock_or_recover();
    let name = String::from_utf8_lossy(&args[1]);
    let Some((fvm, def)) = slot
        .as_ref()
        .and_then(|fvm| Some((fvm, fvm.function(&name)?.1)))
    else {
        return Err(CmdError::Script(ScriptError::FunctionNotFound));
    };
    let keys = numkeys(
        &args[2],
        args.len() - 3,
        CmdError::Script(ScriptError::BadNumberOfKeys),
    )?;
    let oom = super::out_of_memory(ctx);
    if oom
        && !def
            .flags
            .intersects(ScriptFlags::ALLOW_OOM | ScriptFlags::NO_WRITES)
    {
        return Err(CmdError::OutOfMemory);
    }
    if ro && !def.flags.contains(ScriptFlags::NO_WRITES) {
        return Err(CmdError::Script(ScriptError::WriteFlagOnReadonly));
    }
    run::run(
        ctx,
        &fvm.vm,
        run::Script {
            function: &def.function,
            name: &def.name,
            flags: def.flags,
            read_only: ro || def.flags.contains(ScriptFlags::NO_WRITES),
            eval: false,
            keys: &args[3..3 + keys],
            argv: &args[3 + keys..],
            oom,
        },
        args,
    )
}
