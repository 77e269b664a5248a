//! Redis's conversions between replies and Lua values (`script_lua.c`), both ways.
//!
//! A command called from a script replies into a buffer in the script's protocol (RESP2 unless
//! `redis.setresp(3)`), which `reply_to_lua` reads back: integer → number, bulk → string,
//! status → `{ok=...}`, error → `{err=...}`, array → table, RESP2 null → false; in RESP3 also
//! null → nil, boolean → boolean, double → `{double=n}`, big number → `{big_number=s}`,
//! verbatim → `{verbatim_string={format=f, string=s}}`, map → `{map={...}}`, set → `{set={...}}`.
//!
//! `lua_to_reply` writes what a script returns: string → bulk, number → integer (truncated),
//! boolean → 1 / null in RESP2 mode, a boolean in RESP3 mode, and a table is checked for `err`,
//! `ok`, `double`, `big_number`, `map`, `set`, `verbatim_string` in that order before it is an
//! array, which stops at the first nil.

use mlua::{Lua, Table, Value};

use crate::protocol::ReplyBuf;

/// Nesting a reply may have before the conversion gives up (Redis is bounded by the Lua stack);
/// a table that contains itself would otherwise recurse forever.
const MAX_DEPTH: usize = 1000;

/// Reads one reply from `bytes` into a Lua value; the position after it.
pub fn reply_to_lua(lua: &Lua, bytes: &[u8]) -> mlua::Result<(Value, usize)> {
    let line_end = bytes
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or_else(|| mlua::Error::RuntimeError("truncated reply".into()))?;
    let line = &bytes[1..line_end];
    let after = line_end + 2;
    let number = || -> i64 {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    let single = |field: &str, value: Value| -> mlua::Result<Value> {
        let table = lua.create_table()?;
        table.raw_set(field, value)?;
        Ok(Value::Table(table))
    };
    Ok(match bytes[0] {
        b':' => (Value::Number(number() as f64), after),
        b'+' => (
            single("ok", Value::String(lua.create_string(line)?))?,
            after,
        ),
        b'-' => {
            let table = super::vm::error_table(lua, &[b"-", line].concat())?;
            table.raw_set("ignore_error_stats_update", true)?;
            (Value::Table(table), after)
        }
        b'$' | b'=' => {
            let len = number();
            if len < 0 {
                return Ok((Value::Boolean(false), after));
            }
            let body = &bytes[after..after + len as usize];
            let end = after + len as usize + 2;
            if bytes[0] == b'$' {
                (Value::String(lua.create_string(body)?), end)
            } else {
                let (format, text) = body.split_at(body.len().min(4));
                let inner = lua.create_table()?;
                inner.raw_set("format", lua.create_string(&format[..format.len().min(3)])?)?;
                inner.raw_set("string", lua.create_string(text)?)?;
                (single("verbatim_string", Value::Table(inner))?, end)
            }
        }
        b'*' | b'~' | b'%' | b'>' => {
            let count = number();
            if count < 0 {
                return Ok((Value::Boolean(false), after));
            }
            let table = lua.create_table()?;
            let mut at = after;
            let pairs = bytes[0] == b'%';
            for i in 0..count {
                let (item, used) = reply_to_lua(lua, &bytes[at..])?;
                at += used;
                if pairs {
                    let (value, used) = reply_to_lua(lua, &bytes[at..])?;
                    at += used;
                    table.raw_set(item, value)?;
                } else if bytes[0] == b'~' {
                    table.raw_set(item, true)?;
                } else {
                    table.raw_set(i + 1, item)?;
                }
            }
            match bytes[0] {
                b'%' => (single("map", Value::Table(table))?, at),
                b'~' => (single("set", Value::Table(table))?, at),
                _ => (Value::Table(table), at),
            }
        }
        b'_' => (Value::Nil, after),
        b'#' => (Value::Boolean(line == b"t"), after),
        b',' => {
            let text = std::str::from_utf8(line).unwrap_or("0");
            let value = match text {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                _ => text.parse().unwrap_or(0.0),
            };
            (single("double", Value::Number(value))?, after)
        }
        b'(' => (
            single("big_number", Value::String(lua.create_string(line)?))?,
            after,
        ),
        b'|' => {
            // Attributes are skipped, as Redis skips them: the reply that follows is the value.
            let count = number();
            let mut at = after;
            for _ in 0..count * 2 {
                at += reply_to_lua(lua, &bytes[at..])?.1;
            }
            let (value, used) = reply_to_lua(lua, &bytes[at..])?;
            (value, at + used)
        }
        _ => (Value::Nil, after),
    })
}

/// Writes a script's result as Redis's `luaReplyToRedisReply`; `resp3` is the script's mode
/// (`redis.setresp`), the buffer's protocol the caller's.
pub fn lua_to_reply(out: &mut ReplyBuf, value: &Value, resp3: bool, depth: usize) {
    if depth > MAX_DEPTH {
        out.error("ERR reached lua stack limit");
        return;
    }
    match value {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if resp3 {
                out.boolean(*b);
            } else if *b {
                out.int(1);
            } else {
                out.null();
            }
        }
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(truncate(*n)),
        Value::Table(table) => table_to_reply(out, table, resp3, depth),
        _ => out.null(),
    }
}

/// C's `(long long)` cast of a Lua number: out of range or NaN, x86's conversion gives the
/// "integer indefinite" value, `i64::MIN`, which is what Redis answers.
fn truncate(n: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        return i64::MIN;
    }
    n as i64
}

fn table_to_reply(out: &mut ReplyBuf, table: &Table, resp3: bool, depth: usize) {
    if let Ok(Value::String(err)) = table.raw_get::<Value>("err") {
        let text = err.as_bytes();
        out.error_bytes(&text);
        return;
    }
    if let Ok(Value::String(ok)) = table.raw_get::<Value>("ok") {
        let text: Vec<u8> = ok
            .as_bytes()
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        out.simple(&String::from_utf8_lossy(&text));
        return;
    }
    match table.raw_get::<Value>("double") {
        Ok(Value::Number(n)) => return out.double(n),
        Ok(Value::Integer(n)) => return out.double(n as f64),
        _ => {}
    }
    if let Ok(Value::String(digits)) = table.raw_get::<Value>("big_number") {
        let text: String = String::from_utf8_lossy(&digits.as_bytes())
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        out.big_number(&text);
        return;
    }
    if let Ok(Value::Table(map)) = table.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> =
            map.pairs::<Value, Value>().filter_map(Result::ok).collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            lua_to_reply(out, k, resp3, depth + 1);
            lua_to_reply(out, v, resp3, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(set)) = table.raw_get::<Value>("set") {
        let keys: Vec<Value> = set
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, _)| k)
            .collect();
        out.set(keys.len());
        for k in &keys {
            lua_to_reply(out, k, resp3, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(verbatim)) = table.raw_get::<Value>("verbatim_string") {
        if let (Ok(Value::String(format)), Ok(Value::String(text))) = (
            verbatim.raw_get::<Value>("format"),
            verbatim.raw_get::<Value>("string"),
        ) {
            let format = String::from_utf8_lossy(&format.as_bytes()).into_owned();
            out.verbatim(&format, &text.as_bytes());
            return;
        }
    }
    let mut items = Vec::new();
    for i in 1.. {
        match table.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(value) => items.push(value),
        }
    }
    out.array(items.len());
    for item in &items {
        lua_to_reply(out, item, resp3, depth + 1);
    }
}
