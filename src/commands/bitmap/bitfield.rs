//! BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
//! [OVERFLOW WRAP|SAT|FAIL] ... and BITFIELD_RO (GET only).
//!
//! As Redis's `bitfieldGeneric`: every operation is parsed (and the first bad one answered) before
//! the key is touched; a command of GETs only reads; a command that writes grows the string once,
//! to the farthest bit any write reaches, then runs the operations in order, so a GET sees the
//! SETs before it. One `setbit` notice if anything changed. A write that fails (OVERFLOW FAIL)
//! answers nil and writes nothing, but the string was created or grown all the same — silently,
//! as in Redis.

use bytes::Bytes;

use super::super::{args, Ctx};
use super::{bit_offset, edit_string, max_bytes};
use crate::engine::notice::class;
use crate::engine::types::bitmap::{self, Overflow};
use crate::error::{c_string, CmdError, CmdResult};
use crate::protocol::parse_i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Get,
    Set,
    IncrBy,
}

#[derive(Debug, Clone, Copy)]
struct Op {
    kind: Kind,
    offset: u64,
    bits: u32,
    signed: bool,
    /// SET's value or INCRBY's increment.
    value: i64,
    overflow: Overflow,
}

/// `i1`..`i64` or `u1`..`u63`. Redis reads the width with `strlen`, so it ends at a NUL byte.
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(CmdError::BitfieldType),
    };
    let bits = parse_i64(c_string(&arg[1..])).ok_or(CmdError::BitfieldType)?;
    let max = if signed { 64 } else { 63 };
    if !(1..=max).contains(&bits) {
        return Err(CmdError::BitfieldType);
    }
    Ok((signed, bits as u32))
}

/// The operations of a BITFIELD, in order; errors as Redis finds them, left to right.
fn parse(argv: &[Bytes], max_bytes: usize) -> Result<Vec<Op>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < argv.len() {
        let remaining = argv.len() - j - 1;
        let sub = &argv[j][..];
        let kind = if args::is_c(sub, "get") && remaining >= 2 {
            Kind::Get
        } else if args::is_c(sub, "set") && remaining >= 3 {
            Kind::Set
        } else if args::is_c(sub, "incrby") && remaining >= 3 {
            Kind::IncrBy
        } else if args::is_c(sub, "overflow") && remaining >= 1 {
            let name = &argv[j + 1][..];
            overflow = if args::is_c(name, "wrap") {
                Overflow::Wrap
            } else if args::is_c(name, "sat") {
                Overflow::Sat
            } else if args::is_c(name, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::BitfieldOverflowType);
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = field_type(&argv[j + 1])?;
        let offset = bit_offset(&argv[j + 2], Some(bits), max_bytes)?;
        let value = if kind == Kind::Get {
            0
        } else {
            args::int(&argv[j + 3])?
        };
        ops.push(Op {
            kind,
            offset,
            bits,
            signed,
            value,
            overflow,
        });
        j += if kind == Kind::Get { 3 } else { 4 };
    }
    Ok(ops)
}

/// GET of one field; bits past the end of the string read as 0.
fn read(bytes: &[u8], op: &Op) -> i64 {
    if op.signed {
        bitmap::get_signed(bytes, op.offset, op.bits)
    } else {
        bitmap::get_unsigned(bytes, op.offset, op.bits) as i64
    }
}

/// SET or INCRBY of one field: the reply (old value for SET, new for INCRBY; `None` when FAIL
/// refused it) and whether the stored bits changed.
fn write(bytes: &mut [u8], op: &Op) -> (Option<i64>, bool) {
    let incr = op.kind == Kind::IncrBy;
    if op.signed {
        let old = bitmap::get_signed(bytes, op.offset, op.bits);
        let (value, by) = if incr { (old, op.value) } else { (op.value, 0) };
        let new = match bitmap::signed_overflow(value, by, op.bits, op.overflow) {
            None => value.wrapping_add(by),
            Some(Some(limited)) => limited,
            Some(None) => return (None, false),
        };
        bitmap::set_unsigned(bytes, op.offset, op.bits, new as u64);
        (Some(if incr { new } else { old }), new != old)
    } else {
        let old = bitmap::get_unsigned(bytes, op.offset, op.bits);
        let (value, by) = if incr {
            (old, op.value)
        } else {
            (op.value as u64, 0)
        };
        let new = match bitmap::unsigned_overflow(value, by, op.bits, op.overflow) {
            None => value.wrapping_add(by as u64),
            Some(Some(limited)) => limited,
            Some(None) => return (None, false),
        };
        bitmap::set_unsigned(bytes, op.offset, op.bits, new);
        (Some(if incr { new } else { old } as i64), new != old)
    }
}

fn reply(ctx: &mut Ctx<'_>, replies: &[Option<i64>]) {
    ctx.out.array(replies.len());
    for value in replies {
        match value {
            Some(n) => ctx.out.int(*n),
            None => ctx.out.null(),
        }
    }
}

fn bitfield_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], read_only: bool) -> CmdResult {
    let ops = parse(argv, max_bytes(ctx))?;
    let key = &argv[1][..];
    let writes = ops.iter().filter(|op| op.kind != Kind::Get);
    let Some(last_bit) = writes.map(|op| op.offset + op.bits as u64 - 1).max() else {
        // GETs only: a read, and a missing key reads as zeros.
        let replies =
            ctx.server
                .keyspace
                .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
                    let value = match view.read(hash, key) {
                        None => None,
                        Some(entry) => Some(entry.string_value().ok_or(CmdError::WrongType)?),
                    };
                    let bytes = value.as_deref().unwrap_or(b"");
                    Ok::<_, CmdError>(
                        ops.iter()
                            .map(|op| Some(read(bytes, op)))
                            .collect::<Vec<_>>(),
                    )
                })?;
        reply(ctx, &replies);
        return Ok(());
    };
    if read_only {
        return Err(CmdError::BitfieldReadOnly);
    }
    let len = (last_bit >> 3) as usize + 1;
    let replies = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let (replies, changed) = edit_string(view, hash, key, len, |bytes, grown| {
                let mut changed = false;
                let replies: Vec<Option<i64>> = ops
                    .iter()
                    .map(|op| match op.kind {
                        Kind::Get => Some(read(bytes, op)),
                        Kind::Set | Kind::IncrBy => {
                            let (reply, differs) = write(bytes, op);
                            // A write counts when it changed the bits, or on a new or grown string.
                            changed |= reply.is_some() && (differs || grown.created_or_grown);
                            reply
                        }
                    })
                    .collect();
                (replies, changed)
            })?;
            if changed {
                view.notify(key, class::STRING, "setbit");
            }
            Ok::<_, CmdError>(replies)
        })?;
    reply(ctx, &replies);
    Ok(())
}

pub(super) fn bitfield(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, argv, false)
}

pub(super) fn bitfield_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, argv, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<Bytes> {
        items
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn types_as_redis_reads_them() {
        assert_eq!(field_type(b"i64"), Ok((true, 64)));
        assert_eq!(field_type(b"u63"), Ok((false, 63)));
        assert_eq!(field_type(b"i8\0junk"), Ok((true, 8)));
        for bad in [&b"u64"[..], b"i65", b"i0", b"I8", b"", b"i", b"u-1", b"i08"] {
            assert_eq!(field_type(bad), Err(CmdError::BitfieldType), "{bad:?}");
        }
    }

    #[test]
    fn parse_errors_come_left_to_right() {
        let max = 512 << 20;
        let ops = parse(
            &argv(&[
                "bitfield", "k", "get", "u8", "#2", "overflow", "fail", "incrby", "i5", "3", "-1",
            ]),
            max,
        )
        .unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!((ops[0].offset, ops[1].overflow), (16, Overflow::Fail));
        let err = |items: &[&str]| parse(&argv(items), max).unwrap_err();
        assert_eq!(err(&["bitfield", "k", "get", "u8"]), CmdError::Syntax);
        assert_eq!(
            err(&["bitfield", "k", "overflow", "x", "get", "u99", "0"]),
            CmdError::BitfieldOverflowType
        );
        assert_eq!(
            err(&["bitfield", "k", "set", "u8", "-1", "x"]),
            CmdError::BitOffset
        );
        assert_eq!(
            err(&["bitfield", "k", "set", "u8", "0", "x"]),
            CmdError::NotInteger
        );
        assert_eq!(err(&["bitfield", "k", "overflow"]), CmdError::Syntax);
    }
}
