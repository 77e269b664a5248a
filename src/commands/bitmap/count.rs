//! BITCOUNT and BITPOS, with Redis 7.0's order of checks: BITCOUNT looks the key up first (a
//! missing key answers 0 whatever the arguments), BITPOS parses the bit first; the range is read
//! only for an existing string. Both count in the string's bytes as they are, an integer value as
//! its digits.

use bytes::Bytes;

use super::super::{args, Ctx};
use crate::engine::types::bitmap::{self, Unit};
use crate::error::{CmdError, CmdResult};
use crate::protocol::parse_i64;

/// `BYTE` or `BIT`, compared as Redis's `strcasecmp`.
fn unit(arg: &[u8]) -> Result<Unit, CmdError> {
    if args::is_c(arg, "bit") {
        Ok(Unit::Bit)
    } else if args::is_c(arg, "byte") {
        Ok(Unit::Byte)
    } else {
        Err(CmdError::Syntax)
    }
}

/// BITCOUNT key [start end [BYTE|BIT]]
pub(super) fn bitcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let count = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let Some(entry) = view.read(hash, key) else {
                return Ok(0);
            };
            let value = entry.string_value().ok_or(CmdError::WrongType)?;
            let range = match argv.len() {
                2 => None,
                4 | 5 => {
                    let start = args::int(&argv[2])?;
                    let end = args::int(&argv[3])?;
                    // Both from the end and crossed: nothing, before the unit is even read.
                    if start < 0 && end < 0 && start > end {
                        return Ok(0);
                    }
                    let unit = match argv.get(4) {
                        Some(arg) => unit(arg)?,
                        None => Unit::Byte,
                    };
                    Some((start, end, unit))
                }
                _ => return Err(CmdError::Syntax),
            };
            Ok::<_, CmdError>(bitmap::count(&value, range))
        })?;
    ctx.out.int(count as i64);
    Ok(())
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
pub(super) fn bitpos(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let bit = match parse_i64(&argv[2]) {
        Some(0) => false,
        Some(1) => true,
        Some(_) => return Err(CmdError::BitposBit),
        None => return Err(CmdError::NotInteger),
    };
    let pos = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            // A missing key is an endless run of zeros.
            let Some(entry) = view.read(hash, key) else {
                return Ok(if bit { -1 } else { 0 });
            };
            let value = entry.string_value().ok_or(CmdError::WrongType)?;
            let range = match argv.len() {
                3 => None,
                4..=6 => {
                    let start = args::int(&argv[3])?;
                    // The unit is read before the end.
                    let unit = match argv.get(5) {
                        Some(arg) => unit(arg)?,
                        None => Unit::Byte,
                    };
                    let end = argv.get(4).map(|arg| args::int(arg)).transpose()?;
                    Some((start, end, unit))
                }
                _ => return Err(CmdError::Syntax),
            };
            Ok::<_, CmdError>(bitmap::position(&value, bit, range))
        })?;
    ctx.out.int(pos);
    Ok(())
}
