//! HyperLogLog commands (Redis's `hyperloglog.c`): PFADD, PFCOUNT, PFMERGE here, PFDEBUG and
//! PFSELFTEST in `debug.rs`; the encoding is the engine's (`engine::types::hll`).
//!
//! A HyperLogLog is a string: PFADD and PFMERGE create it (`raw`, sparse), any string write may
//! replace it, and every command checks the bytes it finds as Redis does (`WRONGTYPE Key is not a
//! valid HyperLogLog string value.` for a string that is not one, `INVALIDOBJ` for sparse
//! registers that do not add up). A dense value is edited in place; a sparse one (at most
//! `hll-sparse-max-bytes`, 3000 by default) through a copy, since an update may move its bytes.
//!
//! PFCOUNT of one key stores the count it computed in the header, as Redis does: the bytes change
//! but not the set they stand for, so it emits a `REWRITTEN` notice (WATCH and tracking see it,
//! as Redis's `signalModifiedKey`; keyspace notifications, peers and dependents do not).

mod debug;

use bytes::Bytes;

use super::{CommandSpec, Ctx, SPEC};
use crate::engine::notice::class;
use crate::engine::types::hll::{self, Encoding, Registers, REGISTERS};
use crate::engine::{Entry, Locked, Value};
use crate::error::{CmdError, CmdResult};

const HLL: CommandSpec = CommandSpec {
    group: "hyperloglog",
    first_key: 1,
    last_key: 1,
    key_step: 1,
    since: "2.8.9",
    ..SPEC
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "pfadd", arity: -2, flags: flags!(WRITE, DENYOOM, FAST), acl_categories: acl!(WRITE, HYPERLOGLOG, FAST), summary: "Adds the specified elements to the specified HyperLogLog.", complexity: "O(1) to add every element.", handler: Some(pfadd), ..HLL },
    CommandSpec { name: "pfcount", arity: -2, flags: flags!(READONLY, MAY_REPLICATE), acl_categories: acl!(READ, HYPERLOGLOG, SLOW), last_key: -1, summary: "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", complexity: "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.", handler: Some(pfcount), ..HLL },
    CommandSpec { name: "pfmerge", arity: -2, flags: flags!(WRITE, DENYOOM), acl_categories: acl!(WRITE, HYPERLOGLOG, SLOW), last_key: -1, summary: "Merge N different HyperLogLogs into a single one.", complexity: "O(N) to merge N HyperLogLogs, but with high constant times.", handler: Some(pfmerge), ..HLL },
    CommandSpec { name: "pfdebug", arity: 3, flags: flags!(WRITE, DENYOOM, ADMIN), acl_categories: acl!(WRITE, HYPERLOGLOG, ADMIN, SLOW, DANGEROUS), first_key: 2, last_key: 2, summary: "Internal commands for debugging HyperLogLog values", complexity: "N/A", handler: Some(debug::pfdebug), ..HLL },
    CommandSpec { name: "pfselftest", arity: 1, flags: flags!(ADMIN), acl_categories: acl!(HYPERLOGLOG, ADMIN, SLOW, DANGEROUS), first_key: 0, last_key: 0, key_step: 0, summary: "An internal command for testing HyperLogLog values", complexity: "N/A", handler: Some(debug::pfselftest), ..HLL },
];

/// The encoding of a HyperLogLog value, or the error Redis gives for the entry: WRONGTYPE for
/// another type, the HyperLogLog WRONGTYPE for a string that is not one (an integer never is).
fn check(entry: &Entry) -> Result<Encoding, CmdError> {
    if !entry.is_string() {
        return Err(CmdError::WrongType);
    }
    entry
        .str_bytes()
        .and_then(|v| hll::encoding_of(&v))
        .ok_or(CmdError::NotHll)
}

fn sparse_max(ctx: &Ctx<'_>) -> usize {
    ctx.server.config.read().hll_sparse_max_bytes
}

/// Adds `elements` to an existing HyperLogLog, in place when dense. Whether a register changed;
/// on `INVALIDOBJ` the registers raised before it stay raised, as in Redis.
fn add_all(entry: &mut Entry, elements: &[Bytes], sparse_max: usize) -> Result<bool, CmdError> {
    match check(entry)? {
        Encoding::Dense => {
            let value = entry.string_bytes_mut(0).ok_or(CmdError::WrongType)?;
            let mut changed = false;
            for element in elements {
                changed |= hll::dense_add(value, element);
            }
            if changed {
                hll::invalidate_cached(value);
            }
            Ok(changed)
        }
        Encoding::Sparse => {
            let mut result = Ok(false);
            entry.modify_string(|value| result = add_to(value, elements, sparse_max));
            result
        }
    }
}

/// Adds `elements` to a HyperLogLog of either encoding held in `value`.
fn add_to(value: &mut Vec<u8>, elements: &[Bytes], sparse_max: usize) -> Result<bool, CmdError> {
    let mut changed = false;
    for element in elements {
        changed |= hll::add(value, element, sparse_max).map_err(|_| CmdError::CorruptHll)?;
    }
    if changed {
        hll::invalidate_cached(value);
    }
    Ok(changed)
}

/// PFADD key [element ...]: 1 if a register changed or the key was created (even with no
/// elements), else 0.
fn pfadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, elements) = (&args[1][..], &args[2..]);
    let sparse_max = sparse_max(ctx);
    let updated = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let updated = match view.modify(hash, key, |entry| add_all(entry, elements, sparse_max))
            {
                Some(result) => result?,
                None => {
                    let mut value = hll::new_sparse();
                    add_to(&mut value, elements, sparse_max)?;
                    // A new HyperLogLog counts as updated: its cache is marked stale.
                    hll::invalidate_cached(&mut value);
                    view.insert_absent(hash, Entry::new_raw_string(key, &value, 0));
                    true
                }
            };
            if updated {
                view.notify(key, class::STRING, "pfadd");
            }
            Ok::<_, CmdError>(updated)
        })?;
    ctx.out.int(updated as i64);
    Ok(())
}

/// PFCOUNT key [key ...]: one key answers (and caches) its own count; several are merged on the
/// fly without writing anything.
fn pfcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        let mut max: Box<Registers> = Box::new([0; REGISTERS]);
        let mut locked = ctx.server.keyspace.lock_keys(args[1..].iter());
        merge_keys(
            &mut locked,
            (ctx.client.db, ctx.now_ms),
            &args[1..],
            &mut max,
        )?;
        drop(locked);
        ctx.out.int(hll::count_registers(&max) as i64);
        return Ok(());
    }
    let key = &args[1][..];
    let count = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let Some(entry) = view.read(hash, key) else {
                return Ok(0);
            };
            check(entry)?;
            let value = entry.str_bytes().unwrap_or_default();
            let unshared = entry.value() == (Value::Str { raw: true });
            if let Some(card) = hll::cached(&value) {
                // Redis unshares the value even to read the cache: it ends `raw`.
                if !unshared {
                    view.modify(hash, key, |entry| entry.string_bytes_mut(0).map(|_| ()));
                }
                return Ok(card);
            }
            let card = hll::count(&value).map_err(|_| CmdError::CorruptHll)?;
            view.modify(hash, key, |entry| {
                if let Some(value) = entry.string_bytes_mut(0) {
                    hll::set_cached(value, card);
                }
            });
            view.notify(key, class::REWRITTEN, "pfcount");
            Ok::<_, CmdError>(card)
        })?;
    ctx.out.int(count as i64);
    Ok(())
}

/// Raises `max` to the registers of every key (locked together in `locked`), in order: the first
/// key that is not a valid HyperLogLog answers its error. Missing keys are empty. Returns whether
/// any was dense (PFMERGE then writes a dense result).
fn merge_keys(
    locked: &mut Locked<'_>,
    (db, now_ms): (usize, u64),
    keys: &[Bytes],
    max: &mut Registers,
) -> Result<bool, CmdError> {
    let mut any_dense = false;
    for key in keys {
        let Some((mut view, hash)) = locked.view(db, key, now_ms) else {
            continue;
        };
        let Some(entry) = view.read(hash, key) else {
            continue;
        };
        any_dense |= check(entry)? == Encoding::Dense;
        let value = entry.str_bytes().unwrap_or_default();
        hll::merge_into(max, &value).map_err(|_| CmdError::CorruptHll)?;
    }
    Ok(any_dense)
}

/// Writes merged registers into a HyperLogLog (Redis's PFMERGE: dense first if any source was,
/// then each non-zero register in order, then the cache marked stale).
fn write_registers(
    value: &mut Vec<u8>,
    max: &Registers,
    dense: bool,
    sparse_max: usize,
) -> CmdResult {
    if dense {
        hll::sparse_to_dense(value).map_err(|_| CmdError::CorruptHll)?;
    }
    for (index, &register) in max.iter().enumerate().filter(|(_, &r)| r > 0) {
        // The sources were checked; Redis ignores the outcome here too.
        let _ = hll::set_register(value, index, register, sparse_max);
    }
    hll::invalidate_cached(value);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]: the destination is itself one of the sources.
fn pfmerge(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let dest = &args[1][..];
    let sparse_max = sparse_max(ctx);
    let mut max: Box<Registers> = Box::new([0; REGISTERS]);
    // Sources and destination stay locked together from the first read to the write.
    let (db, now_ms) = (ctx.client.db, ctx.now_ms);
    let mut locked = ctx.server.keyspace.lock_keys(args[1..].iter());
    let dense = merge_keys(&mut locked, (db, now_ms), &args[1..], &mut max)?;
    let Some((mut view, hash)) = locked.view(db, dest, now_ms) else {
        return Ok(());
    };
    let existing = view.modify(hash, dest, |entry| {
        let mut result = Ok(());
        entry.modify_string(|value| result = write_registers(value, &max, dense, sparse_max));
        result
    });
    match existing {
        Some(result) => result?,
        None => {
            let mut value = hll::new_sparse();
            write_registers(&mut value, &max, dense, sparse_max)?;
            view.insert_absent(hash, Entry::new_raw_string(dest, &value, 0));
        }
    }
    view.notify(dest, class::STRING, "pfadd");
    drop(locked);
    ctx.out.ok();
    Ok(())
}
