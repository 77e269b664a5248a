//! lua-cjson's settings and the functions that read and change them (`encode_sparse_array`,
//! `encode_max_depth`, `decode_max_depth`, `encode_number_precision`, `encode_keep_buffer`,
//! `encode_invalid_numbers`, `decode_invalid_numbers`), with lua_cjson.c's argument handling:
//! `json_arg_init`'s count check, `json_integer_option`'s range (always reported as argument
//! #1, as the C code does) and `json_enum_option`'s booleans or option names.
//!
//! The settings belong to one cjson table (one per Lua VM, plus one per `cjson.new()`), so a
//! script that changes them changes them for every later script of that VM, as in Redis.

use std::sync::Arc;

use mlua::{Lua, MultiValue, Table, Value, Variadic};
use parking_lot::Mutex;

use crate::commands::scripting::lauxlib::Frame;

#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub sparse_convert: bool,
    pub sparse_ratio: i32,
    pub sparse_safe: i32,
    pub encode_max_depth: i32,
    pub decode_max_depth: i32,
    pub precision: i32,
    /// Only reported: encode builds each result in a fresh buffer, so there is no buffer to keep
    /// between calls, and keeping one only ever changed memory use, never a result.
    pub keep_buffer: bool,
    pub encode_invalid: InvalidNumbers,
    pub decode_invalid: bool,
}

/// `encode_invalid_numbers`: what NaN and infinities become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidNumbers {
    /// "Cannot serialise number: must not be NaN or Inf".
    Refuse,
    /// `nan`, `inf`, `-inf`.
    Write,
    /// `null`.
    Null,
}

/// lua_cjson.c's `DEFAULT_*`, with invalid numbers decoded (Redis builds it without
/// `DISABLE_INVALID_NUMBERS`).
impl Default for Config {
    fn default() -> Config {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            keep_buffer: true,
            encode_invalid: InvalidNumbers::Refuse,
            decode_invalid: true,
        }
    }
}

pub type Shared = Arc<Mutex<Config>>;

/// Registers the configuration functions in `cjson`, each sharing `config`.
pub fn register(lua: &Lua, cjson: &Table, config: &Shared) -> mlua::Result<()> {
    type Setter = fn(&Lua, &[Value], &mut Config) -> mlua::Result<MultiValue>;
    let setters: [(&str, Setter); 7] = [
        ("encode_sparse_array", sparse_array),
        ("encode_max_depth", |lua, args, c| {
            single(lua, args, || {
                integer_option(lua, args, 1, &mut c.encode_max_depth, 1, MAX)
            })
        }),
        ("decode_max_depth", |lua, args, c| {
            single(lua, args, || {
                integer_option(lua, args, 1, &mut c.decode_max_depth, 1, MAX)
            })
        }),
        ("encode_number_precision", |lua, args, c| {
            single(lua, args, || {
                integer_option(lua, args, 1, &mut c.precision, 1, 14)
            })
        }),
        ("encode_keep_buffer", |lua, args, c| {
            single(lua, args, || bool_at(lua, args, 1, &mut c.keep_buffer))
        }),
        ("encode_invalid_numbers", |lua, args, c| {
            single(lua, args, || {
                invalid_numbers(lua, args, &mut c.encode_invalid)
            })
        }),
        ("decode_invalid_numbers", |lua, args, c| {
            single(lua, args, || bool_at(lua, args, 1, &mut c.decode_invalid))
        }),
    ];
    for (name, setter) in setters {
        let config = config.clone();
        cjson.raw_set(
            name,
            lua.create_function(move |lua, args: Variadic<Value>| {
                setter(lua, &args, &mut config.lock())
            })?,
        )?;
    }
    Ok(())
}

const MAX: i32 = i32::MAX;

/// A setting function of one optional argument (`json_arg_init(l, 1)`).
fn single(
    lua: &Lua,
    args: &[Value],
    option: impl FnOnce() -> mlua::Result<Value>,
) -> mlua::Result<MultiValue> {
    arg_init(lua, args, 1)?;
    Ok(MultiValue::from_iter([option()?]))
}

/// `json_arg_init`: more arguments than the function takes is an error.
fn arg_init(lua: &Lua, args: &[Value], count: usize) -> mlua::Result<()> {
    if args.len() > count {
        return Err(Frame.arg_error(lua, count as i32 + 1, "found too many arguments"));
    }
    Ok(())
}

fn given(args: &[Value], index: usize) -> Option<&Value> {
    args.get(index - 1).filter(|v| !matches!(v, Value::Nil))
}

fn sparse_array(lua: &Lua, args: &[Value], c: &mut Config) -> mlua::Result<MultiValue> {
    arg_init(lua, args, 3)?;
    // Each argument is stored before the next is checked, so a bad ratio leaves a new
    // `convert` in place, as in lua-cjson.
    let convert = bool_at(lua, args, 1, &mut c.sparse_convert)?;
    let ratio = integer_option(lua, args, 2, &mut c.sparse_ratio, 0, MAX)?;
    let safe = integer_option(lua, args, 3, &mut c.sparse_safe, 0, MAX)?;
    Ok(MultiValue::from_iter([convert, ratio, safe]))
}

/// `json_integer_option`: `luaL_checkinteger` stored in a C `int` (so 2^32 + 5 is 5); out of
/// range, the error names argument #1 whichever argument it was.
fn integer_option(
    lua: &Lua,
    args: &[Value],
    index: usize,
    setting: &mut i32,
    min: i32,
    max: i32,
) -> mlua::Result<Value> {
    if given(args, index).is_some() {
        let value = Frame.check_integer(lua, args, index)? as i32;
        if !(min..=max).contains(&value) {
            let text = format!("expected integer between {min} and {max}");
            return Err(Frame.arg_error(lua, 1, &text));
        }
        *setting = value;
    }
    Ok(Value::Integer(i64::from(*setting)))
}

const BOOL_OPTIONS: &[&str] = &["off", "on"];

fn bool_at(lua: &Lua, args: &[Value], index: usize, setting: &mut bool) -> mlua::Result<Value> {
    let mut chosen = u8::from(*setting);
    let reply = enum_option(lua, args, index, &mut chosen, BOOL_OPTIONS);
    *setting = chosen == 1;
    reply
}

fn invalid_numbers(lua: &Lua, args: &[Value], setting: &mut InvalidNumbers) -> mlua::Result<Value> {
    const OPTIONS: &[&str] = &["off", "on", "null"];
    let mut chosen = *setting as u8;
    let reply = enum_option(lua, args, 1, &mut chosen, OPTIONS);
    *setting = match chosen {
        0 => InvalidNumbers::Refuse,
        1 => InvalidNumbers::Write,
        _ => InvalidNumbers::Null,
    };
    reply
}

/// `json_enum_option` (always with `bool_true` 1): a boolean, or one of `options` by name
/// (`luaL_checkoption`, which takes numbers as their text); answers a boolean for the first
/// two settings and the option's name past them.
fn enum_option(
    lua: &Lua,
    args: &[Value],
    index: usize,
    setting: &mut u8,
    options: &[&str],
) -> mlua::Result<Value> {
    match given(args, index) {
        None => {}
        Some(Value::Boolean(b)) => *setting = u8::from(*b),
        Some(_) => {
            let name = Frame.check_string(lua, args, index)?;
            match options.iter().position(|o| o.as_bytes() == name.as_slice()) {
                Some(found) => *setting = found as u8,
                None => {
                    // `%s` stops at a NUL, as lua_pushfstring does.
                    let shown = name.split(|b| *b == 0).next().unwrap_or_default();
                    let text = format!("invalid option '{}'", String::from_utf8_lossy(shown));
                    return Err(Frame.arg_error(lua, index as i32, &text));
                }
            }
        }
    }
    Ok(match *setting {
        0 | 1 => Value::Boolean(*setting == 1),
        n => Value::String(lua.create_string(options[n as usize])?),
    })
}
