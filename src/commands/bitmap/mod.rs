//! Bit commands (Redis's `bitops.c`): the family's table, SETBIT and GETBIT, and what the others
//! share (offsets, the string a write grows). BITCOUNT/BITPOS in `count.rs`, BITOP in `bitop.rs`,
//! BITFIELD/BITFIELD_RO in `bitfield.rs`; the bit arithmetic itself is the engine's
//! (`engine::types::bitmap`).
//!
//! A bitmap is an ordinary string: writes grow it with zero bytes (never past
//! `proto-max-bulk-len`, the bound every offset is checked against), edit it in place (a bit flip
//! in a large bitmap copies nothing), and leave it `raw`, as Redis does. A write that changes
//! nothing (same bit, no growth) emits no notice, again as Redis.

mod bitfield;
mod bitop;
mod count;

use bytes::Bytes;

use super::{CommandSpec, Ctx, SPEC};
use crate::commands::{AclCategories, CommandFlags};
use crate::engine::notice::class;
use crate::engine::{DbShard, Entry};
use crate::error::{CmdError, CmdResult};
use crate::protocol::parse_i64;

const READ: CommandFlags = flags!(READONLY);
const READ_FAST: CommandFlags = flags!(READONLY, FAST);
const WRITE: CommandFlags = flags!(WRITE, DENYOOM);
const ACL_READ_SLOW: AclCategories = acl!(READ, BITMAP, SLOW);
const ACL_READ_FAST: AclCategories = acl!(READ, BITMAP, FAST);
const ACL_WRITE_SLOW: AclCategories = acl!(WRITE, BITMAP, SLOW);

const BITMAP: CommandSpec = CommandSpec {
    group: "bitmap",
    first_key: 1,
    last_key: 1,
    key_step: 1,
    ..SPEC
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "setbit", arity: 4, flags: WRITE, acl_categories: ACL_WRITE_SLOW, summary: "Sets or clears the bit at offset in the string value stored at key", since: "2.2.0", handler: Some(setbit), ..BITMAP },
    CommandSpec { name: "getbit", arity: 3, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Returns the bit value at offset in the string value stored at key", since: "2.2.0", handler: Some(getbit), ..BITMAP },
    CommandSpec { name: "bitcount", arity: -2, flags: READ, acl_categories: ACL_READ_SLOW, summary: "Count set bits in a string", since: "2.6.0", complexity: "O(N)", handler: Some(count::bitcount), ..BITMAP },
    CommandSpec { name: "bitpos", arity: -3, flags: READ, acl_categories: ACL_READ_SLOW, summary: "Find first bit set or clear in a string", since: "2.8.7", complexity: "O(N)", handler: Some(count::bitpos), ..BITMAP },
    CommandSpec { name: "bitop", arity: -4, flags: WRITE, acl_categories: ACL_WRITE_SLOW, first_key: 2, last_key: -1, summary: "Perform bitwise operations between strings", since: "2.6.0", complexity: "O(N)", handler: Some(bitop::bitop), ..BITMAP },
    CommandSpec { name: "bitfield", arity: -2, flags: WRITE, acl_categories: ACL_WRITE_SLOW, summary: "Perform arbitrary bitfield integer operations on strings", since: "3.2.0", complexity: "O(1) for each subcommand specified", handler: Some(bitfield::bitfield), ..BITMAP },
    CommandSpec { name: "bitfield_ro", arity: -2, flags: READ_FAST, acl_categories: ACL_READ_FAST, summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", since: "6.0.0", complexity: "O(1) for each subcommand specified", handler: Some(bitfield::bitfield_ro), ..BITMAP },
];

/// A bit offset as Redis's `getBitOffsetFromArgument`: a strict integer, not negative, whose
/// byte is below `proto-max-bulk-len`. With `width` (BITFIELD), `#n` means `n * width`.
fn bit_offset(arg: &[u8], width: Option<u32>, max_bytes: usize) -> Result<u64, CmdError> {
    let (digits, scale) = match (arg.first(), width) {
        (Some(b'#'), Some(width)) => (&arg[1..], width as i64),
        _ => (arg, 1),
    };
    // Redis multiplies in a C long: a huge `#n` wraps, usually to a negative offset.
    let offset = parse_i64(digits)
        .ok_or(CmdError::BitOffset)?
        .wrapping_mul(scale);
    if offset < 0 || (offset >> 3) as u64 >= max_bytes as u64 {
        return Err(CmdError::BitOffset);
    }
    Ok(offset as u64)
}

fn max_bytes(ctx: &Ctx<'_>) -> usize {
    ctx.server.config.read().proto_max_bulk_len
}

/// What a write found: the string's bytes, at least `len` long, and whether it had to be created
/// or grown (Redis's `lookupStringForBitCommand` and its `dirty`).
struct Grown {
    created_or_grown: bool,
}

/// Runs `edit` on the string at `key`, created (zero filled) or grown to at least `len` bytes
/// first; WRONGTYPE for another type. The result is `raw`, an integer unshared into its digits.
fn edit_string<R>(
    view: &mut DbShard<'_>,
    hash: u64,
    key: &[u8],
    len: usize,
    mut edit: impl FnMut(&mut [u8], Grown) -> R,
) -> Result<R, CmdError> {
    let existing = view.modify(hash, key, |entry| {
        if !entry.is_string() {
            return Err(CmdError::WrongType);
        }
        let before = entry.string_len();
        let bytes = entry.string_bytes_mut(len).ok_or(CmdError::WrongType)?;
        let created_or_grown = bytes.len() != before;
        Ok(edit(bytes, Grown { created_or_grown }))
    });
    match existing {
        Some(result) => result,
        None => {
            let mut bytes = vec![0u8; len];
            let result = edit(
                &mut bytes,
                Grown {
                    created_or_grown: true,
                },
            );
            view.insert_absent(hash, Entry::new_raw_string(key, &bytes, 0));
            Ok(result)
        }
    }
}

fn setbit(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1][..];
    let offset = bit_offset(&args[2], None, max_bytes(ctx))?;
    let on = match parse_i64(&args[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CmdError::BitValue),
    };
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    let was = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let (was, changed) = edit_string(view, hash, key, byte + 1, |bytes, grown| {
                let was = bytes[byte] & mask != 0;
                if on {
                    bytes[byte] |= mask;
                } else {
                    bytes[byte] &= !mask;
                }
                (was, grown.created_or_grown || was != on)
            })?;
            if changed {
                view.notify(key, class::STRING, "setbit");
            }
            Ok::<_, CmdError>(was)
        })?;
    ctx.out.int(was as i64);
    Ok(())
}

/// GETBIT: the offset is checked before the key is looked at; an integer value is read as its
/// digits.
fn getbit(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let offset = bit_offset(&args[2], None, max_bytes(ctx))?;
    let key = &args[1][..];
    let bit = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let Some(entry) = view.read(hash, key) else {
                return Ok(0);
            };
            let value = entry.string_value().ok_or(CmdError::WrongType)?;
            let byte = value.get((offset >> 3) as usize).copied().unwrap_or(0);
            Ok::<_, CmdError>((byte >> (7 - (offset & 7))) & 1)
        })?;
    ctx.out.int(bit as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_like_redis() {
        let max = 512 * 1024 * 1024;
        assert_eq!(bit_offset(b"0", None, max), Ok(0));
        assert_eq!(bit_offset(b"4294967295", None, max), Ok(4294967295));
        assert_eq!(
            bit_offset(b"4294967296", None, max),
            Err(CmdError::BitOffset)
        );
        assert_eq!(bit_offset(b"-1", None, max), Err(CmdError::BitOffset));
        assert_eq!(bit_offset(b"#1", None, max), Err(CmdError::BitOffset));
        assert_eq!(bit_offset(b"#3", Some(8), max), Ok(24));
        assert_eq!(bit_offset(b"#", Some(8), max), Err(CmdError::BitOffset));
        assert_eq!(bit_offset(b"+1", None, max), Err(CmdError::BitOffset));
        assert_eq!(bit_offset(b"01", None, max), Err(CmdError::BitOffset));
        // 2^62 * 4 wraps to 0 in Redis's C arithmetic.
        assert_eq!(bit_offset(b"#4611686018427387904", Some(4), max), Ok(0));
        assert_eq!(
            bit_offset(b"#4611686018427387904", Some(2), max),
            Err(CmdError::BitOffset)
        );
        assert_eq!(bit_offset(b"8", None, 1), Err(CmdError::BitOffset));
        assert_eq!(bit_offset(b"7", None, 1), Ok(7));
    }
}
