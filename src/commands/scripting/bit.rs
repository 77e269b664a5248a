//! LuaBitOp's `bit` library (the one Redis links into its Lua), written against mlua: 32-bit
//! operations on Lua numbers, arguments normalised as LuaBitOp's `barg` does (rounded to the
//! nearest integer, then taken modulo 2^32), results as signed 32-bit numbers.

use mlua::{Lua, Table, Variadic};

/// LuaBitOp's conversion: adding 2^52 + 2^51 leaves the rounded integer in the low mantissa bits.
fn barg(n: f64) -> u32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32
}

fn out(b: u32) -> f64 {
    b as i32 as f64
}

pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    bit.raw_set("tobit", lua.create_function(|_, x: f64| Ok(out(barg(x))))?)?;
    bit.raw_set("bnot", lua.create_function(|_, x: f64| Ok(out(!barg(x))))?)?;
    bit.raw_set(
        "bswap",
        lua.create_function(|_, x: f64| Ok(out(barg(x).swap_bytes())))?,
    )?;
    fn fold(lua: &Lua, op: fn(u32, u32) -> u32) -> mlua::Result<mlua::Function> {
        lua.create_function(move |_, (first, rest): (f64, Variadic<f64>)| {
            Ok(out(rest
                .iter()
                .fold(barg(first), |acc, &x| op(acc, barg(x)))))
        })
    }
    bit.raw_set("band", fold(lua, |a, b| a & b)?)?;
    bit.raw_set("bor", fold(lua, |a, b| a | b)?)?;
    bit.raw_set("bxor", fold(lua, |a, b| a ^ b)?)?;
    fn shift(lua: &Lua, op: fn(u32, u32) -> u32) -> mlua::Result<mlua::Function> {
        lua.create_function(move |_, (x, n): (f64, f64)| Ok(out(op(barg(x), barg(n) & 31))))
    }
    bit.raw_set("lshift", shift(lua, |x, n| x << n)?)?;
    bit.raw_set("rshift", shift(lua, |x, n| x >> n)?)?;
    bit.raw_set("arshift", shift(lua, |x, n| ((x as i32) >> n) as u32)?)?;
    bit.raw_set("rol", shift(lua, |x, n| x.rotate_left(n))?)?;
    bit.raw_set("ror", shift(lua, |x, n| x.rotate_right(n))?)?;
    bit.raw_set(
        "tohex",
        lua.create_function(|_, (x, n): (f64, Option<f64>)| {
            let mut n = n.map_or(8, |n| barg(n) as i32);
            let upper = n < 0;
            if upper {
                n = -n;
            }
            let n = n.clamp(0, 8) as usize;
            let b = barg(x) as u64;
            let text = if upper {
                format!("{b:08X}")
            } else {
                format!("{b:08x}")
            };
            Ok(text[8 - n..].to_string())
        })?,
    )?;
    Ok(bit)
}
