//! Building a Lua VM as Redis 7.0 builds its two (EVAL's and the functions'): Lua 5.1 with the
//! base, table, string and math libraries, `bit`, `cjson`, `cmsgpack`, `struct`, the `redis` API, and Redis's sandbox.
//!
//! Redis patches Lua to make tables read-only; stock Lua (through mlua, without `unsafe`) cannot,
//! so scripts see proxies instead: the global table and every library table are empty tables
//! whose metatable reads through to the real one and refuses writes with Redis's text
//! ("Attempt to modify a readonly table"), and whose metatable is itself protected. `rawset`,
//! `rawget`, `next`, `pairs` and `ipairs` know the proxies, so a script can neither write through
//! them nor tell them apart when it walks a library. A nonexistent global raises Redis's
//! "Script attempted to access nonexistent global variable". Not loaded, as in Redis 7.0: `os`,
//! `io`, `package`, `debug`, `loadfile`, `dofile`, `print`, `setfenv`, `getfenv`, `newproxy`.
//!
//! Errors raised inside a script go through a message handler (Redis's `__redis__err__handler`)
//! that turns them into a table `{err=..., source=..., line=...}`; the API's own failures are
//! raised from the prelude's Lua wrappers with level 0, so the handler skips C frames and the
//! prelude's to name the script's line, as Redis names the caller of its C functions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use mlua::{HookTriggers, Lua, LuaOptions, StdLib, Table, Value, Variadic, VmState};

use crate::error::LuaText;
use crate::state::scripting::{RunState, Vm, FLAG_NAMES};
use crate::state::REDIS_COMPAT_VERSION;

/// The name the prelude is loaded under; the error handler skips its frames.
const PRELUDE_NAME: &str = "=cachet";

/// Instructions between two looks at SCRIPT KILL (Redis's count hook uses the same figure).
const KILL_CHECK_INSTRUCTIONS: u32 = 100_000;

const PRELUDE: &str = r#"
local G, current, native, is_functions = ...
local error, type, tostring, tonumber, rawset, rawget, next, setmetatable, setfenv, loadstring, xpcall, select, unpack, floor, ceil =
      error, type, tostring, tonumber, rawset, rawget, next, setmetatable, setfenv, loadstring, xpcall, select, unpack, math.floor, math.ceil

local backing = setmetatable({}, {__mode = 'k'})
local function readonly() error('Attempt to modify a readonly table', 2) end
local function protect(real, strict)
  local proxy = {}
  local index = real
  if strict then
    index = function(_, k)
      local v = real[k]
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end
  end
  setmetatable(proxy, {__index = index, __newindex = readonly, __metatable = false})
  backing[proxy] = real
  return proxy
end

local function api(f)
  return function(...)
    local r, raise = f(...)
    if raise then error(r, 0) end
    return r
  end
end

-- math.random and math.randomseed on Redis's rand48 generator, as Redis replaces them.
local function check_int(x, n, name)
  local v = tonumber(x)
  if v == nil then
    error("bad argument #" .. n .. " to '" .. name .. "' (number expected, got " .. (x == nil and 'no value' or type(x)) .. ")", 3)
  end
  if v >= 0 then return floor(v) end
  return ceil(v)
end
G.math.random = function(...)
  local n = select('#', ...)
  local r = native.rand()
  if n == 0 then return r end
  if n == 1 then
    local u = check_int((...), 1, 'random')
    if u < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return floor(r * u) + 1
  end
  if n == 2 then
    local l, u = ...
    l = check_int(l, 1, 'random')
    u = check_int(u, 2, 'random')
    if l > u then error("bad argument #2 to 'random' (interval is empty)", 2) end
    return floor(r * (u - l + 1)) + l
  end
  error('wrong number of arguments', 2)
end
G.math.randomseed = function(seed)
  native.seed(check_int(seed, 1, 'randomseed'))
end

local redis = current
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.error_reply = native.error_reply
redis.status_reply = native.status_reply
redis.sha1hex = native.sha1hex
redis.log = native.log
redis.set_repl = native.set_repl
redis.acl_check_cmd = native.acl_check_cmd
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = native.version, native.version_num
G.redis = redis
G.bit = native.bit
G.cjson = native.cjson
G.cmsgpack = native.cmsgpack
G.struct = native.struct
native.set_backing(backing)


-- What a script sees as its globals: the real ones with every library behind a proxy.
local view = {}
for k, v in next, G do view[k] = v end
for _, name in ipairs({'string', 'math', 'table', 'coroutine', 'redis', 'bit', 'cjson', 'cmsgpack', 'struct'}) do
  view[name] = protect(G[name], false)
end
for _, name in ipairs({'os', 'io', 'package', 'debug', 'loadfile', 'dofile', 'print', 'setfenv', 'getfenv', 'newproxy', 'module', 'require'}) do
  view[name] = nil
end
-- The globals scripts see. Their lookups go through `visible`, which FUNCTION LOAD points at
-- the load-time view while a library's code runs (Redis swaps its globals' __index the same way),
-- so the functions a library registers see the whole API when they are called later.
local visible = view
local env = {}
setmetatable(env, {
  __index = function(_, k)
    local v = visible[k]
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = readonly,
  __metatable = false,
})
backing[env] = view
view._G = env
local setmetatable_ = setmetatable
view.setmetatable = function(t, m)
  if backing[t] then error('Attempt to modify a readonly table', 0) end
  return setmetatable_(t, m)
end
view.rawset = function(t, k, v)
  if backing[t] then error('Attempt to modify a readonly table', 0) end
  return rawset(t, k, v)
end
view.rawget = function(t, k)
  local real = backing[t]
  if real then return rawget(real, k) end
  return rawget(t, k)
end
local function proxied_next(t, k)
  local real = backing[t]
  if real then return next(real, k) end
  return next(t, k)
end
view.next = proxied_next
view.pairs = function(t)
  if type(t) ~= 'table' then return pairs(t) end
  return proxied_next, t, nil
end
view.ipairs = function(t)
  local real = backing[t]
  if real then return ipairs(real) end
  return ipairs(t)
end
-- An error the API raised reaches Lua as a userdata; xpcall hands the script the error table
-- Redis would, pcall its text (Redis's `luaRedisPcall`).
local unwrap, killed, pcall_, xpcall_, maxn = native.unwrap, native.killed, pcall, xpcall, table.maxn
view.pcall = function(f, ...)
  local r = {pcall_(f, ...)}
  -- A killed script stays killed: pcall does not swallow SCRIPT KILL (Redis raises the kill
  -- error again on every line).
  if not r[1] and killed() then error(r[2], 0) end
  if not r[1] then
    -- Redis's own pcall hands over the `err` text of an error table.
    local e = unwrap(r[2])
    if type(e) == 'table' and (type(rawget(e, 'err')) == 'string' or type(rawget(e, 'err')) == 'number') then
      e = rawget(e, 'err')
    end
    r[2] = e
  end
  return unpack(r, 1, maxn(r))
end
view.xpcall = function(f, h)
  local r = {xpcall_(f, function(e)
    if killed() then return e end
    return h(unwrap(e))
  end)}
  if not r[1] and killed() then error(r[2], 0) end
  return unpack(r, 1, maxn(r))
end
view.loadstring = function(s, name)
  local f, e = loadstring(s, name)
  if f then setfenv(f, env) end
  return f, e
end
view.load = view.loadstring

-- FUNCTION LOAD runs a library's code with a `redis` that only registers and logs.
local switch = nil
if is_functions then
  -- A function that kept this table calls register_function in vain once the load is over.
  local at_load = {
    register_function = api(function(...)
      local register = current.register
      if register == nil then
        return {err = 'ERR redis.register_function can only be called on FUNCTION LOAD command'}, true
      end
      return register(...)
    end),
    log = redis.log,
  }
  for k, v in next, redis do
    if type(v) ~= 'function' then at_load[k] = v end
  end
  -- Redis 7.0 gives a library's code no other global (not even `pcall` or `string`).
  local load_view = {redis = protect(at_load, true)}
  switch = function(loading)
    if loading then visible = load_view else visible = view end
  end
end

local handler = native.handler
local function runner(f, ...)
  local n = select('#', ...)
  local args = {...}
  return xpcall(function() return f(unpack(args, 1, n)) end, handler)
end
return env, runner, switch
"#;

/// Builds a VM; `functions` for the functions VM, which comes with the function that switches its
/// globals to those of FUNCTION LOAD (`redis.register_function`) and back.
pub fn build(run: Arc<RunState>, functions: bool) -> mlua::Result<(Vm, Option<mlua::Function>)> {
    let lua = Lua::new_with(
        StdLib::TABLE | StdLib::STRING | StdLib::MATH,
        LuaOptions::default(),
    )?;
    let globals = lua.globals();
    let current = lua.create_table()?;
    let native = natives(&lua)?;
    let stopped = run.clone();
    native.raw_set(
        "killed",
        // A load past its time limit stays stopped too: pcall does not swallow it (Redis's hook
        // then raises on every line).
        lua.create_function(move |_, ()| Ok(stopped.killed() || stopped.load_expired()))?,
    )?;
    let prelude = lua.load(PRELUDE).set_name(PRELUDE_NAME).into_function()?;
    let (env, runner, switch): (Table, mlua::Function, Option<mlua::Function>) =
        prelude.call((globals.clone(), current.clone(), native, functions))?;
    let killed = run.clone();
    lua.set_hook(
        HookTriggers::new().every_nth_instruction(KILL_CHECK_INSTRUCTIONS),
        move |_, _| {
            if killed.busy() {
                hand_off_worker();
            }
            if killed.killed() {
                Err(raise_text(LuaText::Killed.text().as_bytes()))
            } else if killed.load_expired() {
                Err(raise_text(LuaText::LoadTimeout.text().as_bytes()))
            } else {
                Ok(VmState::Continue)
            }
        },
    );
    Ok((
        Vm {
            lua,
            globals: env,
            current,
            runner,
        },
        switch,
    ))
}

/// A script past `busy-reply-threshold` gives its runtime worker to another thread for the rest
/// of its run, so the connections that worker serves are answered BUSY and can SCRIPT KILL it
/// (Redis's `processEventsWhileBlocked`); with one worker, nobody else would run. Once handed
/// off, the thread has no worker left to give, and tokio makes a second call a plain call.
fn hand_off_worker() {
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_threaded {
        tokio::task::block_in_place(|| ());
    }
}

/// `{err = "CODE message"}` as Redis's `luaPushErrorBuff` makes it: a leading `-` means the text
/// starts with its own code; otherwise the code is `ERR`. Trailing CR/LF are trimmed.
pub fn error_table(lua: &Lua, text: &[u8]) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    table.raw_set("err", lua.create_string(error_text(text))?)?;
    Ok(table)
}

fn error_text(text: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(text.len() + 4);
    match text.strip_prefix(b"-") {
        Some(rest) if rest.contains(&b' ') => message.extend_from_slice(rest),
        rest => {
            message.extend_from_slice(b"ERR ");
            message.extend_from_slice(rest.unwrap_or(text));
        }
    }
    while matches!(message.last(), Some(b'\r' | b'\n')) {
        message.pop();
    }
    message
}

fn natives(lua: &Lua) -> mlua::Result<Table> {
    let native = lua.create_table()?;
    // Redis seeds the generator when it builds the VM, not per call: two calls differ.
    let mut seed = [0u8; 4];
    let _ = getrandom::fill(&mut seed);
    let state = Arc::new(AtomicU64::new(rand48_seed(i32::from_le_bytes(seed))));
    let rand = state.clone();
    native.raw_set(
        "rand",
        lua.create_function(move |_, ()| {
            const MAX: u64 = i32::MAX as u64;
            let next = rand48_next(rand.load(Ordering::Relaxed));
            rand.store(next, Ordering::Relaxed);
            Ok(((next >> 17) % MAX) as f64 / MAX as f64)
        })?,
    )?;
    native.raw_set(
        "seed",
        lua.create_function(move |_, seed: f64| {
            state.store(rand48_seed(seed as i32), Ordering::Relaxed);
            Ok(())
        })?,
    )?;
    native.raw_set(
        "unwrap",
        lua.create_function(|lua, value: Value| unwrap_error(lua, value))?,
    )?;
    native.raw_set(
        "handler",
        lua.create_function(|lua, err: Value| error_handler(lua, err))?,
    )?;
    native.raw_set(
        "error_reply",
        lua.create_function(|lua, args: Variadic<Value>| match single_string(&args) {
            Some(text) => {
                let mut dashed = Vec::with_capacity(text.len() + 1);
                if !text.starts_with(b"-") {
                    dashed.push(b'-');
                }
                dashed.extend_from_slice(&text);
                error_table(lua, &dashed)
            }
            None => error_table(lua, LuaText::WrongArgsOrType.text().as_bytes()),
        })?,
    )?;
    native.raw_set(
        "status_reply",
        lua.create_function(|lua, args: Variadic<Value>| match single_string(&args) {
            Some(text) => {
                let table = lua.create_table()?;
                table.raw_set("ok", lua.create_string(&text)?)?;
                Ok(table)
            }
            None => error_table(lua, LuaText::WrongArgsOrType.text().as_bytes()),
        })?,
    )?;
    native.raw_set(
        "sha1hex",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.len() != 1 {
                return raise(lua, LuaText::WrongArgs.text());
            }
            let bytes = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Integer(_) | Value::Number(_) => lua
                    .coerce_string(args[0].clone())?
                    .map(|s| s.as_bytes().to_vec())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            Ok(Value::String(lua.create_string(super::sha1_hex(&bytes))?))
        })?,
    )?;
    native.raw_set(
        "log",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.len() < 2 {
                return raise(lua, LuaText::LogArgs.text());
            }
            let level = match &args[0] {
                Value::Integer(n) => *n as f64,
                Value::Number(n) => *n,
                _ => return raise(lua, LuaText::LogLevelType.text()),
            };
            if !(0.0..=3.0).contains(&level) {
                return raise(lua, LuaText::LogLevel.text());
            }
            let mut text = Vec::new();
            for (i, part) in args[1..].iter().enumerate() {
                if i > 0 {
                    text.push(b' ');
                }
                if let Some(s) = lua.coerce_string(part.clone())? {
                    text.extend_from_slice(&s.as_bytes());
                }
            }
            let text = String::from_utf8_lossy(&text);
            match level as i64 {
                0 => tracing::debug!(target: "cachet::script", "{text}"),
                1 | 2 => tracing::info!(target: "cachet::script", "{text}"),
                _ => tracing::warn!(target: "cachet::script", "{text}"),
            }
            Ok(Value::Nil)
        })?,
    )?;
    native.raw_set(
        "set_repl",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.len() != 1 {
                return raise(lua, LuaText::SetReplArgs.text());
            }
            let flags = match &args[0] {
                Value::Integer(n) => *n,
                Value::Number(n) => *n as i64,
                _ => -1,
            };
            // cachet has no replicas or AOF: the flags are checked as Redis checks them.
            if !(0..=3).contains(&flags) {
                return raise(lua, LuaText::SetReplFlags.text());
            }
            Ok(Value::Nil)
        })?,
    )?;
    native.raw_set(
        "acl_check_cmd",
        lua.create_function(|lua, args: Variadic<Value>| {
            let name = match args.first() {
                Some(Value::String(s)) => s.as_bytes().to_vec(),
                _ => return raise(lua, LuaText::AclCheckInvalid.text()),
            };
            // Without ACL users every command the table knows is allowed.
            if crate::commands::lookup(&name).is_none() {
                return raise(lua, LuaText::AclCheckInvalid.text());
            }
            Ok(Value::Boolean(true))
        })?,
    )?;
    native.raw_set("version", REDIS_COMPAT_VERSION)?;
    native.raw_set("version_num", version_num(REDIS_COMPAT_VERSION))?;
    native.raw_set("bit", super::bit::library(lua)?)?;
    native.raw_set("cjson", super::cjson::library(lua)?)?;
    native.raw_set("cmsgpack", super::cmsgpack::library(lua)?)?;
    native.raw_set("struct", super::lstruct::library(lua)?)?;
    native.raw_set(
        "set_backing",
        lua.create_function(|lua, backing: Table| {
            lua.set_named_registry_value(super::cmsgpack::BACKING_KEY, backing)
        })?,
    )?;
    Ok(native)
}

/// An error the API raises (Redis's `luaError` of an error table): it reaches the error handler
/// (or `pcall`) as mlua's error userdata, which `unwrap` turns back into `{err = text}`.
#[derive(Debug)]
pub struct Raise(pub Vec<u8>);

impl std::fmt::Display for Raise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl std::error::Error for Raise {}

/// A string error raised by a library function (`luaL_error`): the handler adds `ERR `, pcall
/// hands the script the text.
#[derive(Debug)]
pub struct Thrown(pub Vec<u8>);

impl std::fmt::Display for Thrown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl std::error::Error for Thrown {}

/// `luaL_error(L, text)` from a library function: the calling line (`user_script:3: `) first.
pub fn throw(lua: &Lua, text: &str) -> mlua::Error {
    let place = lua.inspect_stack(1).and_then(|frame| {
        let line = frame.curr_line();
        let source = frame.source();
        let short = source.short_src.as_deref()?.to_string();
        (line > 0).then(|| format!("{short}:{line}: "))
    });
    let message = format!("{}{text}", place.unwrap_or_default());
    mlua::Error::external(Thrown(message.into_bytes()))
}

/// Raises `text` as Redis's `luaPushError` + `luaError` would (code `ERR` unless it has one).
pub fn raise_text(text: &[u8]) -> mlua::Error {
    mlua::Error::external(Raise(error_text(text)))
}

fn raise(_: &Lua, text: &str) -> mlua::Result<Value> {
    Err(raise_text(text.as_bytes()))
}

fn find_external<T: std::error::Error + 'static>(err: &mlua::Error) -> Option<&T> {
    match err {
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<T>(),
        mlua::Error::CallbackError { cause, .. } => find_external(cause),
        mlua::Error::WithContext { cause, .. } => find_external(cause),
        _ => None,
    }
}

fn find_raise(err: &mlua::Error) -> Option<&Raise> {
    find_external::<Raise>(err)
}

/// The error table an API error stands for; any other value as it is.
fn unwrap_error(lua: &Lua, value: Value) -> mlua::Result<Value> {
    if let Value::Error(err) = &value {
        if let Some(raise) = find_raise(err) {
            let table = lua.create_table()?;
            table.raw_set("err", lua.create_string(&raise.0)?)?;
            return Ok(Value::Table(table));
        }
        if let Some(thrown) = find_external::<Thrown>(err) {
            return Ok(Value::String(lua.create_string(&thrown.0)?));
        }
    }
    Ok(value)
}

fn single_string(args: &[Value]) -> Option<Vec<u8>> {
    match args {
        [Value::String(s)] => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

/// `REDIS_VERSION_NUM`: `0x00MMmmpp`.
fn version_num(version: &str) -> i64 {
    version
        .split('.')
        .take(3)
        .map(|p| p.parse::<i64>().unwrap_or(0))
        .fold(0, |acc, p| (acc << 8) | p)
}

/// Redis's `redisSrand48`: the 48-bit state is the seed above `0x330E`.
fn rand48_seed(seed: i32) -> u64 {
    (((seed as u32) as u64) << 16) | 0x330E
}

/// One step of the 48-bit linear congruential generator of `lrand48`.
fn rand48_next(x: u64) -> u64 {
    x.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & ((1 << 48) - 1)
}

/// Redis's `__redis__err__handler`: a string error becomes `{err='ERR ' .. text}`, a table
/// error stays as it is, and both get the source and line of the script's frame.
fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Table> {
    let table = match err {
        Value::Table(table) => table,
        Value::Error(error) if find_raise(&error).is_some() => {
            match unwrap_error(lua, Value::Error(error))? {
                Value::Table(table) => table,
                _ => lua.create_table()?,
            }
        }
        Value::Error(error) if find_external::<Thrown>(&error).is_some() => {
            let mut message = b"ERR ".to_vec();
            if let Some(thrown) = find_external::<Thrown>(&error) {
                message.extend_from_slice(&thrown.0);
            }
            let table = lua.create_table()?;
            table.raw_set("err", lua.create_string(&message)?)?;
            table
        }
        Value::Error(error) => {
            let text = match *error {
                mlua::Error::RuntimeError(text) => text,
                mlua::Error::CallbackError { cause, .. } => cause.to_string(),
                other => other.to_string(),
            };
            let message = format!("ERR {text}");
            let table = lua.create_table()?;
            table.raw_set("err", message)?;
            table
        }
        other => {
            let tostring: mlua::Function = lua.globals().raw_get("tostring")?;
            let text: mlua::String = tostring.call(other)?;
            let mut message = b"ERR ".to_vec();
            message.extend_from_slice(&text.as_bytes());
            let table = lua.create_table()?;
            table.raw_set("err", lua.create_string(&message)?)?;
            table
        }
    };
    let mut level = 1;
    while let Some(frame) = lua.inspect_stack(level) {
        let source = frame.source();
        let skip = source.what == "C" || source.source.as_deref() == Some(PRELUDE_NAME);
        if !skip {
            if let Some(name) = source.source.as_deref() {
                table.raw_set("source", name)?;
                table.raw_set("line", frame.curr_line())?;
            }
            break;
        }
        level += 1;
    }
    Ok(table)
}

/// Parses `flags=a,b` names for `register_function` and shebangs.
pub fn flag_named(name: &[u8]) -> Option<crate::state::scripting::ScriptFlags> {
    FLAG_NAMES
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .map(|(_, f)| *f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rand48_matches_the_c_library() {
        // srand48(0); lrand48() twice, as glibc gives them.
        let mut x = rand48_seed(0);
        x = rand48_next(x);
        assert_eq!(x >> 17, 366_850_414);
        x = rand48_next(x);
        assert_eq!(x >> 17, 1_610_402_240);
    }

    #[test]
    fn version_number_packs_three_parts() {
        assert_eq!(version_num("7.0.15"), 0x07000f);
    }
}
