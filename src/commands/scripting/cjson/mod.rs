//! The `cjson` library Redis links into its Lua (lua-cjson 2.1), written against mlua:
//! `cjson.encode`, `cjson.decode`, `cjson.null`, `cjson.new` and the configuration functions
//! (`config`), with lua-cjson's defaults (numbers with 14 significant digits, `/` escaped,
//! sparse arrays refused past a ratio of 2 beyond 10 elements, nesting limited to 1000, NaN and
//! infinity refused by encode and read by decode).

mod config;
mod decode;
mod number;

use std::sync::Arc;

use mlua::{LightUserData, Lua, Table, Value, Variadic};
use parking_lot::Mutex;

use self::config::{Config, InvalidNumbers};
use self::number::format_g;
use super::lauxlib::{type_name, Frame};

/// How deep encode and decode nest whatever depth is configured. lua-cjson's own bound past a
/// raised limit is the Lua stack (7998 arrays or 4000 objects); cachet stops sooner: each level
/// holds mlua references to its table (and key and value) from a store of LUAI_MAXCSTACK slots
/// that the whole VM shares and that panics when exhausted, and a debug build's thread stack
/// (2 MiB) held 1400 levels of decode, not 1700. Deeper than this, encode and decode fail with
/// lua-cjson's nesting errors (README, "Scripting").
const NESTING_CAP: i32 = 1000;

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// lua-cjson raises with `luaL_error`, which names the calling script's line.
fn positioned(lua: &Lua, err: mlua::Error) -> mlua::Error {
    match err {
        mlua::Error::RuntimeError(text) => super::vm::throw(lua, &text),
        other => other,
    }
}

fn fail(text: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(text.into())
}

/// A new cjson table with its own settings (what `cjson.new()` answers too).
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let shared: config::Shared = Arc::new(Mutex::new(Config::default()));
    let cjson = lua.create_table()?;
    let settings = shared.clone();
    cjson.raw_set(
        "encode",
        lua.create_function(move |lua, args: Variadic<Value>| {
            one_argument(lua, &args)?;
            let config = *settings.lock();
            let mut encoder = Encoder {
                config,
                nesting: Nesting::new(config.encode_max_depth),
                out: Vec::new(),
                error: None,
            };
            if encoder.value(&args[0]).is_err() {
                return Err(positioned(lua, encoder.error.unwrap_or_else(stopped)));
            }
            lua.create_string(&encoder.out)
        })?,
    )?;
    let settings = shared.clone();
    cjson.raw_set(
        "decode",
        lua.create_function(move |lua, args: Variadic<Value>| {
            one_argument(lua, &args)?;
            let config = *settings.lock();
            let decoded = match &args[0] {
                Value::String(text) => decode::decode(lua, &text.as_bytes(), &config),
                _ => decode::decode(lua, &Frame.check_string(lua, &args, 1)?, &config),
            };
            decoded.map_err(|e| positioned(lua, e))
        })?,
    )?;
    config::register(lua, &cjson, &shared)?;
    cjson.raw_set("new", lua.create_function(|lua, ()| library(lua))?)?;
    cjson.raw_set("null", null())?;
    cjson.raw_set("_NAME", "cjson")?;
    cjson.raw_set("_VERSION", "2.1.0")?;
    Ok(cjson)
}

/// encode and decode take exactly one argument.
fn one_argument(lua: &Lua, args: &[Value]) -> mlua::Result<()> {
    if args.len() != 1 {
        return Err(Frame.arg_error(lua, 1, "expected 1 argument"));
    }
    Ok(())
}

/// The nesting limit of encode or decode: the configured depth, up to `NESTING_CAP`; the error
/// is the depth reached.
struct Nesting {
    depth: i32,
    max: i32,
}

impl Nesting {
    fn new(max: i32) -> Nesting {
        Nesting {
            depth: 0,
            max: max.min(NESTING_CAP),
        }
    }

    fn descend(&mut self) -> Result<(), i32> {
        self.depth += 1;
        if self.depth > self.max {
            return Err(self.depth);
        }
        Ok(())
    }

    fn ascend(&mut self) {
        self.depth -= 1;
    }
}

/// C's `%.14g`, Lua's own number format.
pub(super) fn format_g14(n: f64) -> String {
    format_g(n, 14)
}

fn string(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Encode and decode stopped; the error is kept aside (`error`) so that the recursive functions
/// pass a zero-sized result: mlua's errors are large, and a debug build gives every `?` on one
/// its own stack slots, which cost a thousand levels of nesting a 2 MiB thread stack.
struct Stop;

type Step<T> = Result<T, Stop>;

/// An error lost on the way: a bug, said as one rather than a panic.
fn stopped() -> mlua::Error {
    fail("cjson: stopped without an error")
}

/// `cjson.encode`'s state: the settings it started with, its depth and the text so far.
struct Encoder {
    config: Config,
    nesting: Nesting,
    out: Vec<u8>,
    error: Option<mlua::Error>,
}

impl Encoder {
    #[inline(never)]
    fn lift<T>(&mut self, result: mlua::Result<T>) -> Step<T> {
        result.map_err(|e| {
            self.error = Some(e);
            Stop
        })
    }

    /// `json_append_data`.
    fn value(&mut self, value: &Value) -> Step<()> {
        match value {
            Value::Table(table) => self.table(table),
            other => {
                let written = self.scalar(other);
                self.lift(written)
            }
        }
    }

    #[inline(never)]
    fn scalar(&mut self, value: &Value) -> mlua::Result<()> {
        match value {
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(p) if p.0.is_null() => self.out.extend_from_slice(b"null"),
            Value::Boolean(b) => self
                .out
                .extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Integer(n) => self.number(*n as f64)?,
            Value::Number(n) => self.number(*n)?,
            Value::String(s) => string(&s.as_bytes(), &mut self.out),
            other => {
                return Err(fail(format!(
                    "Cannot serialise {}: type not supported",
                    type_name(other)
                )))
            }
        }
        Ok(())
    }

    /// `json_append_number`, by the `encode_invalid_numbers` and precision settings.
    fn number(&mut self, n: f64) -> mlua::Result<()> {
        if n.is_nan() || n.is_infinite() {
            let text: &[u8] = match self.config.encode_invalid {
                InvalidNumbers::Refuse => {
                    return Err(fail("Cannot serialise number: must not be NaN or Inf"))
                }
                InvalidNumbers::Null => b"null",
                // "nan" whatever its sign: lua-cjson writes it so, not printf's "-nan".
                InvalidNumbers::Write if n.is_nan() => b"nan",
                InvalidNumbers::Write if n < 0.0 => b"-inf",
                InvalidNumbers::Write => b"inf",
            };
            self.out.extend_from_slice(text);
            return Ok(());
        }
        let text = format_g(n, self.config.precision as usize);
        self.out.extend_from_slice(text.as_bytes());
        Ok(())
    }

    fn table(&mut self, table: &Table) -> Step<()> {
        self.descend()?;
        let len = self.array_length(table)?;
        if len > 0 {
            self.out.push(b'[');
            for i in 1..=len {
                let element = self.element(table, i)?;
                self.value(&element)?;
            }
            self.out.push(b']');
        } else {
            self.out.push(b'{');
            let mut first = true;
            for pair in table.pairs::<Value, Value>() {
                let (key, value) = self.pair(table, pair)?;
                self.key(&key, first)?;
                first = false;
                self.value(&value)?;
            }
            self.out.push(b'}');
        }
        self.nesting.ascend();
        Ok(())
    }

    /// The array's length, 0 for an object.
    #[inline(never)]
    fn array_length(&mut self, table: &Table) -> Step<i32> {
        let length = array_length(&self.config, table);
        self.lift(length).map(|len| len.unwrap_or(0))
    }

    /// `json_check_encode_depth`.
    #[inline(never)]
    fn descend(&mut self) -> Step<()> {
        let checked = self.nesting.descend();
        self.lift(
            checked.map_err(|depth| fail(format!("Cannot serialise, excessive nesting ({depth})"))),
        )
    }

    #[inline(never)]
    fn element(&mut self, table: &Table, i: i32) -> Step<Value> {
        if i > 1 {
            self.out.push(b',');
        }
        let element = exact(table, i, table.raw_get::<Value>(i));
        self.lift(element)
    }

    #[inline(never)]
    fn pair(&mut self, table: &Table, pair: mlua::Result<(Value, Value)>) -> Step<(Value, Value)> {
        let pair = pair.and_then(|(key, value)| match value {
            Value::Integer(0) => {
                let value = exact(table, key.clone(), Ok(value))?;
                Ok((key, value))
            }
            value => Ok((key, value)),
        });
        self.lift(pair)
    }

    /// An object's key and colon: strings as they are, numbers in quotes.
    #[inline(never)]
    fn key(&mut self, key: &Value, first: bool) -> Step<()> {
        let written = self.write_key(key, first);
        self.lift(written)
    }

    fn write_key(&mut self, key: &Value, first: bool) -> mlua::Result<()> {
        if !first {
            self.out.push(b',');
        }
        match key {
            Value::String(s) => string(&s.as_bytes(), &mut self.out),
            Value::Integer(_) | Value::Number(_) => {
                self.out.push(b'"');
                self.number(super::lauxlib::number(key).unwrap_or_default())?;
                self.out.push(b'"');
            }
            other => {
                return Err(fail(format!(
                    "Cannot serialise {}: table key must be a number or string",
                    type_name(other)
                )))
            }
        }
        self.out.push(b':');
        Ok(())
    }
}

/// A value as the table holds it: mlua reads `-0` and numbers within 2^-52 of zero as the
/// integer 0 (see `lauxlib`), which a second read as a number corrects.
fn exact(
    table: &Table,
    key: impl mlua::IntoLua,
    value: mlua::Result<Value>,
) -> mlua::Result<Value> {
    match value? {
        Value::Integer(0) => table.raw_get::<f64>(key).map(Value::Number),
        other => Ok(other),
    }
}

/// C's `(int)d` on x86-64: out of range gives `INT_MIN`.
fn c_int(d: f64) -> i32 {
    if d.is_nan() || !(-2_147_483_648.0..2_147_483_648.0).contains(&d) {
        i32::MIN
    } else {
        d as i32
    }
}

/// lua-cjson's `lua_array_length` with its C `int`s: the largest index when every key is a
/// positive integer, `None` for an object (an index past `INT_MAX` leaves a negative length,
/// hence an object too).
fn array_length(config: &Config, table: &Table) -> mlua::Result<Option<i32>> {
    let mut max: i32 = 0;
    let mut items: i32 = 0;
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair?;
        let k = match key {
            Value::Integer(n) => n as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if k == 0.0 || k.floor() != k || k < 1.0 {
            return Ok(None);
        }
        if k > f64::from(max) {
            max = c_int(k);
        }
        items = items.wrapping_add(1);
    }
    if config.sparse_ratio > 0
        && max > items.wrapping_mul(config.sparse_ratio)
        && max > config.sparse_safe
    {
        if !config.sparse_convert {
            return Err(fail("Cannot serialise table: excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(Some(max))
}
