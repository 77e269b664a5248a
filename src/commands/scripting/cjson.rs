//! The `cjson` library Redis links into its Lua (lua-cjson 2.1), written against mlua:
//! `cjson.encode`, `cjson.decode` and `cjson.null`, with lua-cjson's defaults (numbers with 14
//! significant digits, `/` escaped, sparse arrays refused past a ratio of 2 beyond 10 elements,
//! nesting limited to 1000, NaN and infinity refused).

use mlua::{LightUserData, Lua, Table, Value};

const MAX_DEPTH: usize = 1000;
const SPARSE_RATIO: usize = 2;
const SPARSE_SAFE: usize = 10;

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

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let cjson = lua.create_table()?;
    cjson.raw_set(
        "encode",
        lua.create_function(|lua, value: Value| {
            let mut out = Vec::new();
            encode(lua, &value, 0, &mut out).map_err(|e| positioned(lua, e))?;
            lua.create_string(&out)
        })?,
    )?;
    cjson.raw_set(
        "decode",
        lua.create_function(|lua, text: mlua::String| {
            let bytes = text.as_bytes();
            let mut parser = Parser {
                lua,
                text: &bytes,
                at: 0,
                depth: 0,
            };
            let decoded = parser.value().and_then(|value| {
                parser.skip_space();
                if parser.at < parser.text.len() {
                    return Err(parser.unexpected("the end"));
                }
                Ok(value)
            });
            decoded.map_err(|e| positioned(lua, e))
        })?,
    )?;
    cjson.raw_set("null", null())?;
    Ok(cjson)
}

/// lua-cjson's `%.14g`.
fn number(n: f64, out: &mut Vec<u8>) -> mlua::Result<()> {
    if !n.is_finite() {
        return Err(fail("Cannot serialise number: must not be NaN or Inf"));
    }
    out.extend_from_slice(format_g14(n).as_bytes());
    Ok(())
}

/// C's `%.14g`.
pub(super) fn format_g14(n: f64) -> String {
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let exp = format!("{n:.13e}");
    let (mantissa, exponent) = exp.split_once('e').unwrap_or((&exp, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..14).contains(&exponent) {
        let decimals = (13 - exponent).max(0) as usize;
        let fixed = format!("{n:.decimals$}");
        let trimmed = if fixed.contains('.') {
            fixed.trim_end_matches('0').trim_end_matches('.')
        } else {
            &fixed
        };
        trimmed.to_string()
    } else {
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
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

/// Lua's `type()` name of a value.
fn lua_type(value: &Value) -> &'static str {
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

fn encode(lua: &Lua, value: &Value, depth: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match value {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(n) => number(*n as f64, out)?,
        Value::Number(n) => number(*n, out)?,
        Value::String(s) => string(&s.as_bytes(), out),
        Value::Table(table) => {
            if depth + 1 > MAX_DEPTH {
                return Err(fail(format!(
                    "Cannot serialise, excessive nesting ({})",
                    depth + 1
                )));
            }
            encode_table(lua, table, depth + 1, out)?;
        }
        other => {
            return Err(fail(format!(
                "Cannot serialise {}: type not supported",
                lua_type(other)
            )))
        }
    }
    Ok(())
}

/// lua-cjson's `lua_array_length`: the largest index if every key is a positive integer, or
/// `None` for an object.
fn array_length(table: &Table) -> mlua::Result<Option<usize>> {
    let mut max = 0usize;
    let mut count = 0usize;
    for pair in table.clone().pairs::<Value, Value>() {
        let (key, _) = pair?;
        let index = match key {
            Value::Integer(n) if n >= 1 => n as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(index);
        count += 1;
    }
    if max > SPARSE_SAFE && max > count * SPARSE_RATIO {
        return Err(fail("Cannot serialise table: excessively sparse array"));
    }
    Ok(Some(max))
}

fn encode_table(lua: &Lua, table: &Table, depth: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match array_length(table)? {
        Some(len) if len > 0 => {
            out.push(b'[');
            for i in 1..=len {
                if i > 1 {
                    out.push(b',');
                }
                encode(lua, &table.raw_get::<Value>(i)?, depth, out)?;
            }
            out.push(b']');
        }
        _ => {
            out.push(b'{');
            let mut first = true;
            for pair in table.clone().pairs::<Value, Value>() {
                let (key, value) = pair?;
                if !first {
                    out.push(b',');
                }
                first = false;
                match &key {
                    Value::String(s) => string(&s.as_bytes(), out),
                    Value::Integer(n) => {
                        out.push(b'"');
                        number(*n as f64, out)?;
                        out.push(b'"');
                    }
                    Value::Number(n) => {
                        out.push(b'"');
                        number(*n, out)?;
                        out.push(b'"');
                    }
                    other => {
                        return Err(fail(format!(
                            "Cannot serialise {}: table key must be a number or string",
                            lua_type(other)
                        )))
                    }
                }
                out.push(b':');
                encode(lua, &value, depth, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

struct Parser<'a> {
    lua: &'a Lua,
    text: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.at < self.text.len()
            && matches!(self.text[self.at], b' ' | b'\t' | b'\n' | b'\r')
        {
            self.at += 1;
        }
    }

    /// lua-cjson's wording: `Expected <what> but found <token> at character <n>`.
    fn unexpected(&self, what: &str) -> mlua::Error {
        let found = match self.text.get(self.at) {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b':') => "T_COLON",
            Some(b',') => "T_COMMA",
            Some(b'"') => "T_STRING",
            Some(b'-' | b'0'..=b'9') => "T_NUMBER",
            _ => "invalid token",
        };
        fail(format!(
            "Expected {what} but found {found} at character {}",
            self.at + 1
        ))
    }

    fn value(&mut self) -> mlua::Result<Value> {
        self.skip_space();
        let Some(&c) = self.text.get(self.at) else {
            return Err(self.unexpected("value"));
        };
        match c {
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(fail(format!(
                        "Found too many nested data structures ({}) at character {}",
                        self.depth,
                        self.at + 1
                    )));
                }
                let value = if c == b'{' {
                    self.object()?
                } else {
                    self.array()?
                };
                self.depth -= 1;
                Ok(value)
            }
            b'"' => Ok(Value::String(self.lua.create_string(self.string()?)?)),
            b'-' | b'0'..=b'9' => self.number(),
            _ => {
                for (word, value) in [
                    (&b"true"[..], Value::Boolean(true)),
                    (b"false", Value::Boolean(false)),
                    (b"null", null()),
                ] {
                    if self.text[self.at..].starts_with(word) {
                        self.at += word.len();
                        return Ok(value);
                    }
                }
                Err(self.unexpected("value"))
            }
        }
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.at;
        while self.at < self.text.len()
            && matches!(
                self.text[self.at],
                b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
            )
        {
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.text[start..self.at]).unwrap_or("");
        match text.parse::<f64>() {
            Ok(n) => Ok(Value::Number(n)),
            Err(_) => {
                self.at = start;
                Err(self.unexpected("value"))
            }
        }
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        let start = self.at;
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.text.get(self.at) else {
                self.at = start;
                return Err(self.unexpected("value"));
            };
            self.at += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let escaped = self.text.get(self.at).copied().unwrap_or(0);
                    self.at += 1;
                    match escaped {
                        b'"' | b'\\' | b'/' => out.push(escaped),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let code = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&code)
                                && self.text[self.at..].starts_with(b"\\u")
                            {
                                self.at += 2;
                                let low = self.hex4()?;
                                0x10000
                                    + ((code - 0xD800) << 10)
                                    + (low.wrapping_sub(0xDC00) & 0x3ff)
                            } else {
                                code
                            };
                            let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            self.at = start;
                            return Err(self.unexpected("value"));
                        }
                    }
                }
                _ => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> mlua::Result<u32> {
        let digits = self.text.get(self.at..self.at + 4).unwrap_or(b"");
        let code = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.unexpected("value"))?;
        self.at += 4;
        Ok(code)
    }

    fn array(&mut self) -> mlua::Result<Value> {
        self.at += 1;
        let table = self.lua.create_table()?;
        self.skip_space();
        if self.text.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(Value::Table(table));
        }
        let mut i = 1;
        loop {
            let value = self.value()?;
            table.raw_set(i, value)?;
            i += 1;
            self.skip_space();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Table(table));
                }
                _ => return Err(self.unexpected("comma or array end")),
            }
        }
    }

    fn object(&mut self) -> mlua::Result<Value> {
        self.at += 1;
        let table = self.lua.create_table()?;
        self.skip_space();
        if self.text.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Value::Table(table));
        }
        loop {
            self.skip_space();
            if self.text.get(self.at) != Some(&b'"') {
                return Err(self.unexpected("object key string"));
            }
            let key = self.string()?;
            self.skip_space();
            if self.text.get(self.at) != Some(&b':') {
                return Err(self.unexpected("colon"));
            }
            self.at += 1;
            let value = self.value()?;
            table.raw_set(self.lua.create_string(&key)?, value)?;
            self.skip_space();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Table(table));
                }
                _ => return Err(self.unexpected("comma or object end")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_c_g14() {
        assert_eq!(format_g14(1.0), "1");
        assert_eq!(format_g14(0.1), "0.1");
        assert_eq!(format_g14(1.234_567_890_123_456_7), "1.2345678901235");
        assert_eq!(format_g14(1e20), "1e+20");
        assert_eq!(format_g14(1e-5), "1e-05");
        assert_eq!(format_g14(123456789012345.0), "1.2345678901234e+14");
        assert_eq!(format_g14(-2.5), "-2.5");
    }
}
