//! The argument checks and errors of Lua 5.1's `lauxlib` as Redis's C libraries (`struct`,
//! `cmsgpack`) meet them: `luaL_argerror`'s "bad argument #n to 'name' (...)" with the name the
//! caller used, `luaL_error`'s position of the calling line, `luaL_checknumber`/`checklstring`
//! with Lua's coercions, and the C casts (x86-64) those libraries apply to doubles.
//!
//! mlua hands a Rust function its numbers already converted, and that conversion turns `-0` and
//! numbers within 2^-52 of zero into the integer 0: an argument that is such a number reaches these
//! functions as 0 (the values inside tables are read again exactly, see `cmsgpack`).

use mlua::{Lua, Value};

/// `LUAI_MAXCSTACK`: the most values a C function may keep on the Lua stack.
pub const MAX_C_STACK: usize = 8000;

/// Strings and tables a Rust function may return at once. mlua holds each in one slot of a stack
/// of LUAI_MAXCSTACK slots that the whole VM shares (and panics past it): beyond this many, the
/// unpack functions raise their stack overflow error, which Redis raises at 8000 values.
pub const MAX_HELD: usize = 4000;

/// Whether mlua holds `value` in a reference slot.
pub fn held(value: &Value) -> bool {
    !matches!(
        value,
        Value::Nil
            | Value::Boolean(_)
            | Value::Integer(_)
            | Value::Number(_)
            | Value::LightUserData(_)
    )
}

/// Arguments plus results past which mlua refuses to return from a Rust function (Redis's C
/// functions reach LUAI_MAXCSTACK, one more).
pub const MAX_RETURNED: usize = MAX_C_STACK - 1;

/// `results`, returned at once by a function called with `nargs` arguments; `overflow` is the
/// error when there are too many for mlua.
pub fn spread(
    results: Vec<Value>,
    nargs: usize,
    overflow: impl FnOnce() -> mlua::Error,
) -> mlua::Result<mlua::MultiValue> {
    if results.len() + nargs > MAX_RETURNED {
        return Err(overflow());
    }
    Ok(mlua::MultiValue::from_iter(results))
}

/// The library function running now (level 0 of the Lua stack), called by level 1.
#[derive(Clone, Copy)]
pub struct Frame;

impl Frame {
    /// `luaL_error`: the text after the calling line's `chunk:line: ` (none when the caller is
    /// not Lua code, as for `pcall(struct.pack, ...)`).
    pub fn error(self, lua: &Lua, text: &str) -> mlua::Error {
        let place = lua.inspect_stack(1).and_then(|frame| {
            let line = frame.curr_line();
            let short = frame.source().short_src?.to_string();
            (line > 0).then(|| format!("{short}:{line}: "))
        });
        thrown(format!("{}{text}", place.unwrap_or_default()))
    }

    /// `luaL_argerror`: names the function as its caller did; a method call (`struct:pack()`)
    /// does not count `self`.
    pub fn arg_error(self, lua: &Lua, narg: i32, extra: &str) -> mlua::Error {
        let (name, method) = match lua.inspect_stack(0) {
            Some(frame) => {
                let names = frame.names();
                (
                    names.name.map(|n| n.into_owned()),
                    names.name_what == Some("method"),
                )
            }
            None => return self.error(lua, &format!("bad argument #{narg} ({extra})")),
        };
        let mut narg = narg;
        if method {
            narg -= 1;
            if narg == 0 {
                let name = name.unwrap_or_else(|| "?".into());
                return self.error(lua, &format!("calling '{name}' on bad self ({extra})"));
            }
        }
        let name = name.unwrap_or_else(|| "?".into());
        self.error(lua, &format!("bad argument #{narg} to '{name}' ({extra})"))
    }

    /// `luaL_typerror`.
    pub fn type_error(
        self,
        lua: &Lua,
        narg: usize,
        expected: &str,
        got: Option<&Value>,
    ) -> mlua::Error {
        let got = got.map_or("no value", type_name);
        self.arg_error(lua, narg as i32, &format!("{expected} expected, got {got}"))
    }

    /// `luaL_checknumber` of argument `narg` (1-based).
    pub fn check_number(self, lua: &Lua, args: &[Value], narg: usize) -> mlua::Result<f64> {
        let arg = args.get(narg - 1);
        match arg.map(number) {
            Some(Some(n)) => Ok(n),
            _ => {
                if let Some(Value::String(s)) = arg {
                    if let Some(n) = lua.coerce_number(Value::String(s.clone()))? {
                        return Ok(n);
                    }
                }
                Err(self.type_error(lua, narg, "number", arg))
            }
        }
    }

    /// `luaL_checkinteger`: a number cast to `lua_Integer`.
    pub fn check_integer(self, lua: &Lua, args: &[Value], narg: usize) -> mlua::Result<i64> {
        self.check_number(lua, args, narg).map(c_i64)
    }

    /// `luaL_optinteger`: `default` when the argument is absent or nil.
    pub fn opt_integer(
        self,
        lua: &Lua,
        args: &[Value],
        narg: usize,
        default: i64,
    ) -> mlua::Result<i64> {
        match args.get(narg - 1) {
            None | Some(Value::Nil) => Ok(default),
            Some(_) => self.check_integer(lua, args, narg),
        }
    }

    /// `luaL_checklstring`: strings, and numbers as Lua writes them (`%.14g`).
    pub fn check_string(self, lua: &Lua, args: &[Value], narg: usize) -> mlua::Result<Vec<u8>> {
        let arg = args.get(narg - 1);
        match arg {
            Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
            Some(v) => match number(v) {
                Some(n) => Ok(number_text(n).into_bytes()),
                None => Err(self.type_error(lua, narg, "string", arg)),
            },
            None => Err(self.type_error(lua, narg, "string", arg)),
        }
    }
}

/// An error raised with a string, as `luaL_error` and `luaG_runerror` raise them.
pub fn thrown(text: String) -> mlua::Error {
    mlua::Error::external(super::vm::Thrown(text.into_bytes()))
}

/// The number a value is, if it is one; strings are not.
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// `lua_typename`.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// Lua 5.1's `LUA_NUMBER_FMT` (`%.14g`), with glibc's words for infinities and NaN.
pub fn number_text(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.into();
    }
    super::cjson::format_g14(n)
}

/// C's `(long)d` on x86-64 (`cvttsd2si`): out of range and NaN give `LONG_MIN`.
pub fn c_i64(d: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if d.is_nan() || !(-LIMIT..LIMIT).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// C's `(unsigned long)d` as gcc compiles it for x86-64: below 2^63 (NaN included) the signed
/// conversion, otherwise the signed conversion of `d - 2^63` with the top bit flipped.
pub fn c_u64(d: f64) -> u64 {
    const HALF: f64 = 9_223_372_036_854_775_808.0;
    if d >= HALF {
        (c_i64(d - HALF) as u64) ^ (1 << 63)
    } else {
        c_i64(d) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_casts_as_redis_on_x86_64() {
        // Figures from struct.pack('<L', x) / ('<l', x) on redis-server 7.0.
        assert_eq!(c_u64(2f64.powi(64)), 0);
        assert_eq!(c_u64(2f64.powi(63)), 1 << 63);
        assert_eq!(c_u64(f64::NAN), 1 << 63);
        assert_eq!(c_u64(f64::INFINITY), 0);
        assert_eq!(c_u64(2f64.powi(65)), 0);
        assert_eq!(c_i64(f64::NEG_INFINITY), i64::MIN);
        assert_eq!(c_i64(-2f64.powi(64)), i64::MIN);
        assert_eq!(c_i64(-1.5), -1);
    }

    #[test]
    fn numbers_as_lua_writes_them() {
        assert_eq!(number_text(-0.0), "-0");
        assert_eq!(number_text(1e-20), "1e-20");
        assert_eq!(number_text(f64::INFINITY), "inf");
        assert_eq!(number_text(3.0), "3");
    }
}
