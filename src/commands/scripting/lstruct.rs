//! The `struct` library Redis 7.0 links into its Lua (Roberto Ierusalimschy's lstruct, as Redis
//! patched it), written against mlua: `struct.pack`, `struct.unpack`, `struct.size`.
//!
//! Formats as lstruct reads them (x86-64 sizes): `>`/`<` endianness (native: little), `!n`
//! maximum alignment (default 8), `x` a pad byte, `b B h H l L T i I` integers (`i`/`I` take a
//! size up to 32), `f d` floats, `cN` N bytes (`c0`: the whole string when packing, the previous
//! number's size when unpacking), `s` a NUL-terminated string, space ignored. A format stops at
//! its first NUL byte, as a C string does. Integers wider than 8 bytes pad with zero bytes (not
//! the sign) and read back only their low 8 bytes; doubles become integers through x86-64's casts
//! (`lauxlib::c_i64`/`c_u64`), as in Redis.

use mlua::{Lua, MultiValue, Table, Value, Variadic};

use super::lauxlib::{self, c_u64, Frame, MAX_C_STACK, MAX_HELD};

/// `MAXINTSIZE`.
const MAX_INT_SIZE: i64 = 32;
/// `MAXALIGN` on x86-64: the padding before a double in a struct.
const MAX_ALIGN: i64 = 8;

#[derive(Clone, Copy, PartialEq)]
enum Endian {
    Big,
    Little,
}

struct Header {
    endian: Endian,
    align: u64,
}

impl Header {
    fn new() -> Header {
        Header {
            endian: Endian::Little,
            align: 1,
        }
    }
}

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let lib = lua.create_table()?;
    lib.raw_set(
        "pack",
        lua.create_function(|lua, args: Variadic<Value>| pack(lua, &args))?,
    )?;
    lib.raw_set(
        "unpack",
        lua.create_function(|lua, args: Variadic<Value>| unpack(lua, &args))?,
    )?;
    lib.raw_set(
        "size",
        lua.create_function(|lua, args: Variadic<Value>| size(lua, &args))?,
    )?;
    Ok(lib)
}

/// A format read as lstruct reads a C string.
struct Format {
    bytes: Vec<u8>,
    at: usize,
}

impl Format {
    fn new(mut bytes: Vec<u8>) -> Format {
        if let Some(end) = bytes.iter().position(|&b| b == 0) {
            bytes.truncate(end);
        }
        Format { bytes, at: 0 }
    }

    fn next(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    /// `getnum`: the digits at the cursor, or `default`.
    fn number(&mut self, lua: &Lua, frame: Frame, default: i64) -> mlua::Result<i64> {
        if !self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: i64 = 0;
        while let Some(&d) = self.bytes.get(self.at).filter(|d| d.is_ascii_digit()) {
            let digit = (d - b'0') as i64;
            if a > i32::MAX as i64 / 10 || a * 10 > i32::MAX as i64 - digit {
                return Err(frame.error(lua, "integral size overflow"));
            }
            a = a * 10 + digit;
            self.at += 1;
        }
        Ok(a)
    }

    /// `optsize`.
    fn size(&mut self, lua: &Lua, frame: Frame, opt: u8) -> mlua::Result<u64> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(lua, frame, 1)? as u64,
            b'i' | b'I' => {
                let size = self.number(lua, frame, 4)?;
                if size > MAX_INT_SIZE {
                    return Err(frame.error(
                        lua,
                        &format!("integral size {size} is larger than limit of {MAX_INT_SIZE}"),
                    ));
                }
                size as u64
            }
            _ => 0,
        })
    }

    /// `controloptions`.
    fn control(&mut self, lua: &Lua, frame: Frame, opt: u8, h: &mut Header) -> mlua::Result<()> {
        match opt {
            b' ' => {}
            b'>' => h.endian = Endian::Big,
            b'<' => h.endian = Endian::Little,
            b'!' => {
                let a = self.number(lua, frame, MAX_ALIGN)?;
                if a <= 0 || a & (a - 1) != 0 {
                    return Err(frame.error(lua, &format!("alignment {a} is not a power of 2")));
                }
                h.align = a as u64;
            }
            other => {
                let shown = String::from_utf8_lossy(&[other]).into_owned();
                return Err(frame.arg_error(lua, 1, &format!("invalid format option '{shown}'")));
            }
        }
        Ok(())
    }
}

/// `gettoalign`, in `size_t` arithmetic.
fn to_align(len: u64, h: &Header, opt: u8, size: u64) -> u64 {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    size.wrapping_sub(len & size.wrapping_sub(1)) & size.wrapping_sub(1)
}

fn ordered(mut bytes: Vec<u8>, endian: Endian) -> Vec<u8> {
    if endian == Endian::Big {
        bytes.reverse();
    }
    bytes
}

/// `struct.pack(fmt, ...)`.
fn pack(lua: &Lua, args: &[Value]) -> mlua::Result<mlua::String> {
    let frame = Frame;
    let mut fmt = Format::new(frame.check_string(lua, args, 1)?);
    // lstruct then pushes a nil after the arguments, where a missing one is looked for.
    let mut args = args.to_vec();
    args.push(Value::Nil);
    let args = &args[..];
    let mut h = Header::new();
    let mut arg = 2;
    let mut out: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(lua, frame, opt)?;
        let pad = to_align(total, &h, opt, size);
        total = total.wrapping_add(pad);
        out.resize(out.len() + pad as usize, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = frame.check_number(lua, args, arg)?;
                arg += 1;
                let mut value = if n < 0.0 {
                    super::lauxlib::c_i64(n) as u64
                } else {
                    c_u64(n)
                };
                let mut bytes = Vec::with_capacity(size as usize);
                for _ in 0..size {
                    bytes.push(value as u8);
                    value >>= 8;
                }
                out.extend_from_slice(&ordered(bytes, h.endian));
            }
            b'x' => out.push(0),
            b'f' => {
                let f = frame.check_number(lua, args, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&ordered(f.to_le_bytes().to_vec(), h.endian));
            }
            b'd' => {
                let d = frame.check_number(lua, args, arg)?;
                arg += 1;
                out.extend_from_slice(&ordered(d.to_le_bytes().to_vec(), h.endian));
            }
            b'c' | b's' => {
                let s = frame.check_string(lua, args, arg)?;
                arg += 1;
                if size == 0 {
                    size = s.len() as u64;
                }
                // lstruct names the argument after the string's (its counter moved on).
                if (s.len() as u64) < size {
                    return Err(frame.arg_error(lua, arg as i32, "string too short"));
                }
                out.extend_from_slice(&s[..size as usize]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => fmt.control(lua, frame, opt, &mut h)?,
        }
        total = total.wrapping_add(size);
    }
    lua.create_string(&out)
}

/// `getinteger`: the bytes in order, then (signed) the sign bit of the last byte extended.
fn get_integer(bytes: &[u8], endian: Endian, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let ordered: Box<dyn Iterator<Item = &u8>> = match endian {
        Endian::Big => Box::new(bytes.iter()),
        Endian::Little => Box::new(bytes.iter().rev()),
    };
    for &b in ordered {
        l = (l << 8) | b as u64;
    }
    if !signed {
        return l as f64;
    }
    // x86-64 shifts by the count modulo 64, as `wrapping_shl` does.
    let shift = (bytes.len() as u32).wrapping_mul(8).wrapping_sub(1);
    let mask = u64::MAX.wrapping_shl(shift);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

/// `struct.unpack(fmt, data [, pos])`: the values, then the position after them.
fn unpack(lua: &Lua, args: &[Value]) -> mlua::Result<MultiValue> {
    let frame = Frame;
    let mut fmt = Format::new(frame.check_string(lua, args, 1)?);
    let data = frame.check_string(lua, args, 2)?;
    let ld = data.len() as u64;
    let mut pos = frame.opt_integer(lua, args, 3, 1)? as u64;
    if pos == 0 {
        return Err(frame.arg_error(lua, 3, "offset must be 1 or greater"));
    }
    pos -= 1;
    let mut h = Header::new();
    let mut results: Vec<Value> = Vec::new();
    // Strings held as mlua values, each in one of its reference slots.
    let mut held = 0;
    let too_short = |lua: &Lua| frame.arg_error(lua, 2, "data string too short");
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(lua, frame, opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if !(size <= ld && pos <= ld - size) {
            return Err(too_short(lua));
        }
        if args.len() + results.len() + 2 > MAX_C_STACK || held > MAX_HELD {
            return Err(frame.error(lua, "stack overflow (too many results)"));
        }
        let at = pos as usize;
        let value = match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let bytes = &data[at..at + size as usize];
                Some(Value::Number(get_integer(
                    bytes,
                    h.endian,
                    opt.is_ascii_lowercase(),
                )))
            }
            b'x' => None,
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[at..at + 4]);
                let f = match h.endian {
                    Endian::Little => f32::from_le_bytes(b),
                    Endian::Big => f32::from_be_bytes(b),
                };
                Some(Value::Number(f as f64))
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[at..at + 8]);
                let d = match h.endian {
                    Endian::Little => f64::from_le_bytes(b),
                    Endian::Big => f64::from_be_bytes(b),
                };
                Some(Value::Number(d))
            }
            b'c' => {
                if size == 0 {
                    // The previous result gives the size if Lua sees a number in it.
                    let previous = match results.last() {
                        Some(Value::Number(n)) => Some(*n),
                        Some(Value::String(s)) => lua.coerce_number(Value::String(s.clone()))?,
                        _ => None,
                    };
                    let Some(previous) = previous else {
                        return Err(frame.error(lua, "format 'c0' needs a previous size"));
                    };
                    size = c_u64(previous);
                    results.pop();
                    if !(size <= ld && pos <= ld - size) {
                        return Err(too_short(lua));
                    }
                }
                Some(Value::String(
                    lua.create_string(&data[at..at + size as usize])?,
                ))
            }
            b's' => {
                let Some(len) = data[at..].iter().position(|&b| b == 0) else {
                    return Err(frame.error(lua, "unfinished string in data"));
                };
                size = len as u64 + 1;
                Some(Value::String(lua.create_string(&data[at..at + len])?))
            }
            _ => {
                fmt.control(lua, frame, opt, &mut h)?;
                None
            }
        };
        if let Some(value) = value {
            held += usize::from(lauxlib::held(&value));
            results.push(value);
        }
        pos = pos.wrapping_add(size);
    }
    results.push(Value::Number(pos.wrapping_add(1) as i64 as f64));
    lauxlib::spread(results, args.len(), || {
        frame.error(lua, "stack overflow (too many results)")
    })
}

/// `struct.size(fmt)`: options that are letters or digits and not lstruct's count as 0 bytes.
fn size(lua: &Lua, args: &[Value]) -> mlua::Result<f64> {
    let frame = Frame;
    let mut fmt = Format::new(frame.check_string(lua, args, 1)?);
    let mut h = Header::new();
    let mut pos: u64 = 0;
    while let Some(opt) = fmt.next() {
        let size = fmt.size(lua, frame, opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if opt == b's' {
            return Err(frame.arg_error(lua, 1, "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(frame.arg_error(lua, 1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            fmt.control(lua, frame, opt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(pos as i64 as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_integers_keep_only_their_low_eight_bytes() {
        assert_eq!(get_integer(&[0xff; 16], Endian::Little, true), -1.0);
        assert_eq!(get_integer(&[0x01, 0x02], Endian::Big, false), 258.0);
        assert_eq!(get_integer(&[0x80], Endian::Big, true), -128.0);
        assert_eq!(get_integer(&[], Endian::Big, true), 0.0);
    }

    #[test]
    fn alignment_is_capped_by_the_header() {
        let h = Header {
            endian: Endian::Little,
            align: 4,
        };
        assert_eq!(to_align(1, &h, b'd', 8), 3);
        assert_eq!(to_align(1, &h, b'c', 8), 0);
        assert_eq!(to_align(5, &h, b'h', 2), 1);
    }
}
