//! The `cmsgpack` library Redis 7.0 links into its Lua (lua-cmsgpack 0.4.0), written against
//! mlua: `pack` (every argument, concatenated), `unpack`, `unpack_one`, `unpack_limit`.
//!
//! What lua-cmsgpack does and this keeps: a table whose keys are exactly 1..n is an array, any
//! other a map (in `next` order); a table 16 levels down packs as nil (so cycles end); integral
//! numbers in the int64 range pack as the smallest integer format, others as a float when a float
//! holds them exactly, else a double; strings use the str formats (no bin); unpacking knows no
//! bin/ext formats ("Bad data format in input."). Lua's own limits show through as Redis's do:
//! a C function keeps at most `LUAI_MAXCSTACK` values on the stack, so deep nesting or many
//! top-level values end in lua-cmsgpack's "stack overflow (...)" texts at the same counts.

use mlua::{Lua, MultiValue, Table, Value, Variadic};

use super::lauxlib::{self, c_i64, number, thrown, Frame, MAX_C_STACK, MAX_HELD};

/// `LUACMSGPACK_MAX_NESTING`.
const MAX_NESTING: usize = 16;

/// The key under which the prelude registers its table of read-only proxies (proxy → real).
pub const BACKING_KEY: &str = "cachet.readonly.backing";

const TOO_MANY: &str = "too many return values at once; use unpack_one or unpack_limit instead.";

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    // The C library fills its table in this order; `next` over it (cmsgpack:pack()) walks it as
    // Redis's does only if the keys go in the same way.
    let lib = lua.create_table()?;
    lib.raw_set(
        "pack",
        lua.create_function(|lua, args: Variadic<Value>| pack(lua, &args))?,
    )?;
    lib.raw_set(
        "unpack",
        lua.create_function(|lua, args: Variadic<Value>| {
            let frame = Frame;
            let data = frame.check_string(lua, &args, 1)?;
            unpack(lua, frame, &data, (0, 0, args.len()))
        })?,
    )?;
    lib.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: Variadic<Value>| {
            let frame = Frame;
            let offset = frame.opt_integer(lua, &args, 2, 0)?;
            let data = frame.check_string(lua, &args, 1)?;
            unpack(lua, frame, &data, (1, offset, args.len()))
        })?,
    )?;
    lib.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: Variadic<Value>| {
            let frame = Frame;
            let limit = frame.check_integer(lua, &args, 2)?;
            let offset = frame.opt_integer(lua, &args, 3, 0)?;
            let data = frame.check_string(lua, &args, 1)?;
            unpack(lua, frame, &data, (limit, offset, args.len()))
        })?,
    )?;
    lib.raw_set("_NAME", "cmsgpack")?;
    lib.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    lib.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    lib.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(lib)
}

/// `cmsgpack.pack(...)`.
fn pack(lua: &Lua, args: &[Value]) -> mlua::Result<mlua::String> {
    let frame = Frame;
    let nargs = args.len();
    if nargs == 0 {
        return Err(frame.arg_error(lua, 0, "MessagePack pack needs input."));
    }
    if nargs * 2 > MAX_C_STACK {
        return Err(frame.arg_error(lua, 0, "Too many arguments for MessagePack pack."));
    }
    let backing = lua.named_registry_value::<Option<Table>>(BACKING_KEY)?;
    let mut encoder = Encoder {
        lua,
        frame,
        backing,
        out: Vec::new(),
    };
    for (done, arg) in args.iter().enumerate() {
        // Each argument's encoding stays on the stack until the final concatenation.
        let slots = nargs + done;
        encoder.check(slots, 1, "in function mp_check")?;
        encoder.value(arg, None, 0, slots + 1)?;
    }
    lua.create_string(&encoder.out)
}

struct Encoder<'a> {
    lua: &'a Lua,
    frame: Frame,
    backing: Option<Table>,
    out: Vec<u8>,
}

impl Encoder<'_> {
    /// `luaL_checkstack(L, size, what)` with `slots` values on the C function's stack.
    fn check(&self, slots: usize, size: usize, what: &str) -> mlua::Result<()> {
        if slots + size > MAX_C_STACK {
            return Err(self
                .frame
                .error(self.lua, &format!("stack overflow ({what})")));
        }
        Ok(())
    }

    /// Packs `value`; `exact` is its number when mlua's conversion lost it (see `lauxlib`).
    fn value(
        &mut self,
        value: &Value,
        exact: Option<f64>,
        level: usize,
        slots: usize,
    ) -> mlua::Result<()> {
        match value {
            Value::String(s) => bytes(&mut self.out, &s.as_bytes()),
            Value::Boolean(b) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            Value::Table(t) if level < MAX_NESTING => self.table(t, level, slots)?,
            other => match exact.or_else(|| number(other)) {
                Some(n) => self.number(n),
                None => self.out.push(0xc0),
            },
        }
        Ok(())
    }

    fn number(&mut self, n: f64) {
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        // IS_INT64_EQUIVALENT: (int64_t)n == n, which on x86-64 holds for -2^63 too.
        if n.is_finite() && n.trunc() == n && (-LIMIT..LIMIT).contains(&n) {
            integer(&mut self.out, c_i64(n));
        } else if (n as f32) as f64 == n {
            self.out.push(0xca);
            self.out.extend_from_slice(&(n as f32).to_be_bytes());
        } else {
            self.out.push(0xcb);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn table(&mut self, table: &Table, level: usize, slots: usize) -> mlua::Result<()> {
        // A read-only proxy of the sandbox stands for the library table behind it.
        let real = match &self.backing {
            Some(backing) => backing.raw_get::<Option<Table>>(table)?,
            None => None,
        };
        let table = real.as_ref().unwrap_or(table);
        self.check(slots, 2, "in function table_is_an_array")?;
        // Entries are walked, never collected: mlua holds every live Lua value in a slot of a
        // stack that has LUAI_MAXCSTACK of them.
        let (mut count, mut max, mut array) = (0usize, 0.0f64, true);
        table.for_each::<Value, Value>(|k, _| {
            count += 1;
            let n = match k {
                Value::Integer(i) => i as f64,
                Value::Number(n) => n,
                _ => f64::NAN,
            };
            // lua-cmsgpack's IS_INT_EQUIVALENT: a positive integral number within `int`.
            if n.is_nan() || n <= 0.0 || n.trunc() != n || n > i32::MAX as f64 {
                array = false;
            }
            max = max.max(n);
            Ok(())
        })?;
        if array && max == count as f64 {
            self.check(slots, 1, "in function mp_encode_lua_table_as_array")?;
            let len = table.raw_len();
            header(&mut self.out, len as u64, 0x90, 0xdc, 0xdd);
            for i in 1..=len {
                let v: Value = table.raw_get(i)?;
                let exact = self.exact_value(table, &v, Some(i as f64))?;
                self.value(&v, exact, level + 1, slots + 1)?;
            }
        } else {
            self.check(slots, 3, "in function mp_encode_lua_table_as_map")?;
            header(&mut self.out, count as u64, 0x80, 0xde, 0xdf);
            let mut nth = 0;
            table.for_each::<Value, Value>(|k, v| {
                nth += 1;
                let key = self.exact_key(table, &k, nth)?;
                self.value(&k, key, level + 1, slots + 3)?;
                let exact = match (key, &k) {
                    (Some(key), _) => self.exact_value(table, &v, Some(key))?,
                    (None, Value::Integer(i)) => self.exact_value(table, &v, Some(*i as f64))?,
                    _ => match v {
                        Value::Integer(0) => Some(table.raw_get::<f64>(k.clone())?),
                        _ => None,
                    },
                };
                self.value(&v, exact, level + 1, slots + 2)
            })?;
        }
        Ok(())
    }

    /// A value mlua read as the integer 0 may have been -0 or a number next to zero: read again as
    /// a number.
    fn exact_value(&self, table: &Table, v: &Value, key: Option<f64>) -> mlua::Result<Option<f64>> {
        match (v, key) {
            (Value::Integer(0), Some(key)) => Ok(Some(table.raw_get::<f64>(key)?)),
            _ => Ok(None),
        }
    }

    /// The same for a key: one that is not 0 itself (no value under 0) was a number next to zero,
    /// which only its `%.17g` text brings back.
    fn exact_key(&self, table: &Table, k: &Value, nth: usize) -> mlua::Result<Option<f64>> {
        if !matches!(k, Value::Integer(0)) || !table.raw_get::<Value>(0)?.is_nil() {
            return Ok(None);
        }
        let nth_key: mlua::Function = self
            .lua
            .load("local t, n = ... local i = 0 for k in next, t do i = i + 1 if i == n then return string.format('%.17g', k) end end")
            .set_name("=cachet")
            .into_function()?;
        let text: mlua::String = nth_key.call((table.clone(), nth))?;
        Ok(text.to_str()?.parse::<f64>().ok())
    }
}

fn bytes(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn header(out: &mut Vec<u8>, n: u64, fix: u8, sixteen: u8, thirty_two: u8) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(sixteen);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(thirty_two);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn integer(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Why a decode stopped: lua-cmsgpack's cursor errors, or a Lua error raised on the way.
enum Stop {
    Eof,
    BadFormat,
    Lua(mlua::Error),
}

impl From<mlua::Error> for Stop {
    fn from(e: mlua::Error) -> Stop {
        Stop::Lua(e)
    }
}

/// `mp_unpack_full`: `limit` and `offset` both 0 decode everything and return no offset.
fn unpack(
    lua: &Lua,
    frame: Frame,
    data: &[u8],
    (limit, offset, nargs): (i64, i64, usize),
) -> mlua::Result<MultiValue> {
    let len = data.len();
    if offset < 0 || limit < 0 {
        return Err(frame.error(
            lua,
            &format!(
                "Invalid request to unpack with offset of {} and limit of {}.",
                offset as i32, len as i32
            ),
        ));
    }
    if offset as u64 > len as u64 {
        return Err(frame.error(
            lua,
            &format!(
                "Start offset {} greater than input length {}.",
                offset as i32, len as i32
            ),
        ));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all { i32::MAX as i64 } else { limit };
    let mut decoder = Decoder {
        lua,
        frame,
        data,
        at: offset as usize,
        // The data string stays on the stack below what is decoded.
        slots: 1,
    };
    let mut values: Vec<Value> = Vec::new();
    if !decode_all {
        values.push(Value::Nil);
    }
    let mut count: i64 = 0;
    let mut held = 0;
    while decoder.at < len && count < limit {
        match decoder.value() {
            Ok(v) => {
                held += usize::from(lauxlib::held(&v));
                if held > MAX_HELD {
                    return Err(frame.error(lua, &format!("stack overflow ({TOO_MANY})")));
                }
                values.push(v);
            }
            Err(Stop::Eof) => return Err(frame.error(lua, "Missing bytes in input.")),
            Err(Stop::BadFormat) => return Err(frame.error(lua, "Bad data format in input.")),
            Err(Stop::Lua(e)) => return Err(e),
        }
        count += 1;
    }
    if !decode_all {
        if decoder.slots + 1 > MAX_C_STACK {
            return Err(frame.error(lua, "stack overflow (in function mp_unpack_full)"));
        }
        let next = if decoder.at == len {
            -1.0
        } else {
            decoder.at as f64
        };
        values[0] = Value::Number(next);
    }
    lauxlib::spread(values, nargs, || {
        frame.error(lua, &format!("stack overflow ({TOO_MANY})"))
    })
}

struct Decoder<'a> {
    lua: &'a Lua,
    frame: Frame,
    data: &'a [u8],
    at: usize,
    /// Values the C decoder would have on the Lua stack (`luaL_checkstack` counts them).
    slots: usize,
}

/// A container being filled. The tables themselves (and a map's pending key) wait in a Lua table,
/// `Decoder::value`'s `open`: nesting is a loop here, not Rust recursion, and holds no mlua values.
struct Level {
    map: bool,
    remaining: u64,
    next_index: u64,
    key_pending: bool,
}

/// A value read from its first bytes: a whole scalar, or a container's header.
enum Item {
    Scalar(Value),
    Array(u64),
    Map(u64),
}

impl<'a> Decoder<'a> {
    fn need(&self, n: usize) -> Result<(), Stop> {
        match self.data.len().checked_sub(self.at) {
            Some(left) if left >= n => Ok(()),
            _ => Err(Stop::Eof),
        }
    }

    fn check(&self, what: &str) -> Result<(), Stop> {
        if self.slots + 1 > MAX_C_STACK {
            return Err(Stop::Lua(
                self.frame
                    .error(self.lua, &format!("stack overflow ({what})")),
            ));
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Stop> {
        let data = self.data;
        let bytes = data.get(self.at..self.at + n).ok_or(Stop::Eof)?;
        self.at += n;
        Ok(bytes)
    }

    fn be(&mut self, n: usize) -> Result<u64, Stop> {
        let bytes = self.take(n)?;
        Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }

    /// One whole value (lua-cmsgpack's `mp_decode_to_lua_type`), counted on the stack.
    fn value(&mut self) -> Result<Value, Stop> {
        let open = self.lua.create_table()?;
        let mut levels: Vec<Level> = Vec::new();
        loop {
            self.need(1)?;
            self.check(TOO_MANY)?;
            let mut done = match self.item()? {
                Item::Scalar(v) => {
                    self.slots += 1;
                    v
                }
                Item::Array(len) => match self.open(&open, &mut levels, false, len)? {
                    Some(empty) => empty,
                    None => continue,
                },
                Item::Map(len) => match self.open(&open, &mut levels, true, len)? {
                    Some(empty) => empty,
                    None => continue,
                },
            };
            // Place the finished value in its container; a container it fills is finished next.
            loop {
                let depth = levels.len();
                let Some(level) = levels.last_mut() else {
                    return Ok(done);
                };
                let table: Table = open.raw_get(2 * depth - 1)?;
                if level.map && !level.key_pending {
                    open.raw_set(2 * depth, done)?;
                    level.key_pending = true;
                    break;
                }
                if level.map {
                    let key: Value = open.raw_get(2 * depth)?;
                    match &key {
                        Value::Nil => return Err(Stop::Lua(thrown("table index is nil".into()))),
                        Value::Number(n) if n.is_nan() => {
                            return Err(Stop::Lua(thrown("table index is NaN".into())))
                        }
                        _ => {}
                    }
                    table.raw_set(key, done)?;
                    open.raw_set(2 * depth, Value::Nil)?;
                    level.key_pending = false;
                } else {
                    table.raw_set(level.next_index as f64, done)?;
                    level.next_index += 1;
                }
                self.slots -= 2;
                level.remaining -= 1;
                if level.remaining > 0 {
                    if !level.map {
                        self.slots += 1;
                    }
                    break;
                }
                levels.pop();
                open.raw_set(2 * depth - 1, Value::Nil)?;
                done = Value::Table(table);
            }
        }
    }

    /// A container's header was read: its table, counted as the C decoder counts it; an empty
    /// one is finished at once.
    fn open(
        &mut self,
        open: &Table,
        levels: &mut Vec<Level>,
        map: bool,
        len: u64,
    ) -> Result<Option<Value>, Stop> {
        let table = self.lua.create_table()?;
        self.slots += 1;
        if !map {
            self.check("in function mp_decode_to_lua_array")?;
        }
        if len == 0 {
            return Ok(Some(Value::Table(table)));
        }
        if !map {
            // The first index is pushed before the first element.
            self.slots += 1;
        }
        levels.push(Level {
            map,
            remaining: len,
            next_index: 1,
            key_pending: false,
        });
        open.raw_set(2 * levels.len() - 1, table)?;
        Ok(None)
    }

    /// The value or header that starts at the cursor.
    fn item(&mut self) -> Result<Item, Stop> {
        let first = self.data[self.at];
        let scalar = |v: Value| Ok(Item::Scalar(v));
        match first {
            0xcc..=0xce => {
                let size = 1 << (first - 0xcc);
                self.need(1 + size)?;
                self.at += 1;
                scalar(Value::Number(self.be(size)? as f64))
            }
            // lua_pushinteger of the uint64: past 2^63 it wraps negative.
            0xcf | 0xd3 => {
                self.need(9)?;
                self.at += 1;
                scalar(Value::Number(self.be(8)? as i64 as f64))
            }
            0xd0 => {
                self.need(2)?;
                self.at += 1;
                scalar(Value::Number(self.be(1)? as u8 as i8 as f64))
            }
            0xd1 => {
                self.need(3)?;
                self.at += 1;
                scalar(Value::Number(self.be(2)? as u16 as i16 as f64))
            }
            0xd2 => {
                self.need(5)?;
                self.at += 1;
                scalar(Value::Number(self.be(4)? as u32 as i32 as f64))
            }
            0xc0 => {
                self.at += 1;
                scalar(Value::Nil)
            }
            0xc2 | 0xc3 => {
                self.at += 1;
                scalar(Value::Boolean(first == 0xc3))
            }
            0xca => {
                self.need(5)?;
                self.at += 1;
                scalar(Value::Number(f32::from_bits(self.be(4)? as u32) as f64))
            }
            0xcb => {
                self.need(9)?;
                self.at += 1;
                scalar(Value::Number(f64::from_bits(self.be(8)?)))
            }
            0xd9..=0xdb => {
                let size = 1 << (first - 0xd9);
                self.need(1 + size)?;
                self.at += 1;
                let len = self.be(size)? as usize;
                let bytes = self.take(len)?;
                scalar(Value::String(self.lua.create_string(bytes)?))
            }
            0xdc..=0xdf => {
                let size = if first & 1 == 0 { 2 } else { 4 };
                self.need(1 + size)?;
                self.at += 1;
                let len = self.be(size)?;
                Ok(if first < 0xde {
                    Item::Array(len)
                } else {
                    Item::Map(len)
                })
            }
            b if b & 0x80 == 0 => {
                self.at += 1;
                scalar(Value::Number(b as f64))
            }
            b if b & 0xe0 == 0xe0 => {
                self.at += 1;
                scalar(Value::Number(b as i8 as f64))
            }
            b if b & 0xe0 == 0xa0 => {
                let len = (b & 0x1f) as usize;
                self.need(1 + len)?;
                self.at += 1;
                let bytes = self.take(len)?;
                scalar(Value::String(self.lua.create_string(bytes)?))
            }
            b if b & 0xf0 == 0x90 => {
                self.at += 1;
                Ok(Item::Array((b & 0xf) as u64))
            }
            b if b & 0xf0 == 0x80 => {
                self.at += 1;
                Ok(Item::Map((b & 0xf) as u64))
            }
            _ => Err(Stop::BadFormat),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_take_the_smallest_format() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7f]),
            (128, &[0xcc, 0x80]),
            (256, &[0xcd, 0x01, 0x00]),
            (65536, &[0xce, 0, 1, 0, 0]),
            (-1, &[0xff]),
            (-32, &[0xe0]),
            (-33, &[0xd0, 0xdf]),
            (-129, &[0xd1, 0xff, 0x7f]),
            (-32769, &[0xd2, 0xff, 0xff, 0x7f, 0xff]),
        ];
        for (n, bytes) in cases {
            let mut out = Vec::new();
            integer(&mut out, *n);
            assert_eq!(&out, bytes, "{n}");
        }
    }
}
