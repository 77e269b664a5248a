//! The sparse encoding: the registers as a sequence of run-length opcodes after the header.
//! - ZERO `00xxxxxx`: 1 to 64 registers at 0;
//! - XZERO `01xxxxxx yyyyyyyy`: 1 to 16384 registers at 0 (14-bit length, high bits first);
//! - VAL `1vvvvvxx`: 1 to 4 registers at a value of 1 to 32.
//!
//! Lengths and values are stored minus one. An update splits the run holding the register
//! (at worst XZERO into XZERO-VAL-XZERO), then merges equal neighbouring VALs among the next few
//! opcodes: the same steps as Redis's `hllSparseSet`, in the same order, so the bytes come out
//! identical — including where Redis reads one byte past the end of a truncated XZERO (the
//! string's terminating zero).
//!
//! Validation follows the redis-server 7.0.15 we test against, which carries the fix for
//! CVE-2025-32023: converting or merging a sparse value fails on any run that passes the 16384th
//! register (the 7.0.15 sources stop there and accept a value run found after exactly 16384);
//! counting one fails unless the runs add up to 16384.

use super::{dense_raise, Corrupt, DENSE, DENSE_LEN, HEADER_LEN, REGISTERS};

pub(super) const XZERO_MAX_LEN: usize = 16384;
const ZERO_MAX_LEN: usize = 64;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
/// Opcodes from the one before the change that the merge step looks at.
const MERGE_SCAN: usize = 5;

fn is_zero(op: u8) -> bool {
    op & 0xc0 == 0
}

fn is_xzero(op: u8) -> bool {
    op & 0xc0 == 0x40
}

fn is_val(op: u8) -> bool {
    op & 0x80 != 0
}

fn zero_len(op: u8) -> usize {
    (op & 0x3f) as usize + 1
}

fn xzero_len(op: u8, low: u8) -> usize {
    (((op & 0x3f) as usize) << 8 | low as usize) + 1
}

fn val_value(op: u8) -> u8 {
    ((op >> 2) & 0x1f) + 1
}

fn val_len(op: u8) -> usize {
    (op & 0x3) as usize + 1
}

fn val(value: u8, len: usize) -> u8 {
    0x80 | (value - 1) << 2 | (len - 1) as u8
}

fn zero(len: usize) -> u8 {
    (len - 1) as u8
}

pub(super) fn xzero(len: usize) -> [u8; 2] {
    let l = len - 1;
    [0x40 | (l >> 8) as u8, (l & 0xff) as u8]
}

/// A zero run of `len` as the shortest opcode: ZERO up to 64, XZERO beyond.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        seq.extend_from_slice(&xzero(len));
    } else {
        seq.push(zero(len));
    }
}

/// The byte at `at`, or the terminating zero Redis finds past the end of its strings.
fn byte_at(bytes: &[u8], at: usize) -> u8 {
    bytes.get(at).copied().unwrap_or(0)
}

/// One opcode at the start of `ops`: (registers covered, their value, bytes taken).
fn opcode(ops: &[u8], at: usize) -> (usize, u8, usize) {
    let op = ops[at];
    if is_zero(op) {
        (zero_len(op), 0, 1)
    } else if is_xzero(op) {
        (xzero_len(op, byte_at(ops, at + 1)), 0, 2)
    } else {
        (val_len(op), val_value(op), 1)
    }
}

/// Calls `f(run, value)` for each opcode of `ops` (the bytes after the header) until it returns
/// false. Returns whether it went through all of them.
pub(super) fn walk(ops: &[u8], mut f: impl FnMut(usize, u8) -> bool) -> bool {
    let mut at = 0;
    while at < ops.len() {
        let (run, value, len) = opcode(ops, at);
        if !f(run, value) {
            return false;
        }
        at += len;
    }
    true
}

/// Rewrites a sparse HyperLogLog as dense, header kept (cached count included). `Corrupt` if
/// its runs do not cover exactly the 16384 registers, or one passes the last.
pub fn sparse_to_dense(value: &mut Vec<u8>) -> Result<(), Corrupt> {
    if value[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_LEN];
    dense[..HEADER_LEN].copy_from_slice(&value[..HEADER_LEN]);
    dense[4] = DENSE;
    let registers = &mut dense[HEADER_LEN..];
    let mut index = 0;
    let complete = walk(&value[HEADER_LEN..], |run, v| {
        if index + run > REGISTERS {
            return false;
        }
        for i in index..index + run {
            if v > 0 {
                super::dense_set(registers, i, v);
            }
        }
        index += run;
        true
    });
    if !complete || index != REGISTERS {
        return Err(Corrupt);
    }
    *value = dense;
    Ok(())
}

/// Converts to dense and raises the register there (a value over 32, or a sparse string that
/// would pass `hll-sparse-max-bytes`).
fn promote(value: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(value)?;
    dense_raise(&mut value[HEADER_LEN..], index, count);
    Ok(true)
}

/// Raises register `index` of a sparse HyperLogLog (`value` is the whole string) to `count` if
/// it is lower. Whether it changed; `Corrupt` when the opcodes do not reach the register.
pub fn sparse_set(
    value: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(value, index, count);
    }
    // Step 1: the opcode covering the register, the one before it, and the first register it
    // covers.
    let len = value.len();
    let (mut at, mut first, mut prev, mut span) = (HEADER_LEN, 0usize, None, 0usize);
    while at < len {
        let (run, _, oplen) = opcode(value, at);
        span = run;
        if index < first + span {
            break;
        }
        prev = Some(at);
        at += oplen;
        first += span;
    }
    if span == 0 || at >= len {
        return Err(Corrupt);
    }
    let op = value[at];
    let old_len = if is_xzero(op) { 2 } else { 1 };
    let next = at + old_len;
    let (run, _, _) = opcode(value, at);

    // Step 2: a VAL already as high, or a run of one register, needs no split.
    let mut in_place = false;
    if is_val(op) {
        if val_value(op) >= count {
            return Ok(false);
        }
        in_place = run == 1;
    } else if is_zero(op) {
        in_place = run == 1;
    }
    if in_place {
        value[at] = val(count, 1);
    } else {
        // Step 3: split the run around the register.
        let last = first + span - 1;
        let mut seq = Vec::with_capacity(5);
        if is_val(op) {
            let current = val_value(op);
            if index != first {
                seq.push(val(current, index - first));
            }
            seq.push(val(count, 1));
            if index != last {
                seq.push(val(current, last - index));
            }
        } else {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        let grown = seq.len() as isize - old_len as isize;
        if grown > 0 && len + grown as usize > max_bytes {
            return promote(value, index, count);
        }
        let new_len = (len as isize + grown) as usize;
        if next < len {
            value.splice(at..next, seq);
        } else {
            // The last opcode: Redis writes the sequence and sets the new length, which cuts the
            // sequence short when the opcode was an XZERO missing its second byte.
            value.truncate(at);
            value.extend_from_slice(&seq);
            value.truncate(new_len);
        }
    }

    // Step 4: merge equal VALs next to each other, from the opcode before the change.
    let mut at = prev.unwrap_or(HEADER_LEN);
    let mut scan = MERGE_SCAN;
    while at < value.len() && scan > 0 {
        scan -= 1;
        let op = value[at];
        if is_xzero(op) {
            at += 2;
            continue;
        }
        if is_zero(op) {
            at += 1;
            continue;
        }
        if let Some(&right) = value.get(at + 1) {
            if is_val(right) && val_value(op) == val_value(right) {
                let merged = val_len(op) + val_len(right);
                if merged <= VAL_MAX_LEN {
                    value[at + 1] = val(val_value(op), merged);
                    value.remove(at);
                    continue;
                }
            }
        }
        at += 1;
    }
    super::invalidate_cached(value);
    Ok(true)
}

/// PFDEBUG DECODE: the opcodes as `z:<len>`, `Z:<len>`, `v:<value>,<len>`, space separated.
pub fn decode(value: &[u8]) -> String {
    let ops = &value[HEADER_LEN.min(value.len())..];
    let mut out = Vec::new();
    let mut at = 0;
    while at < ops.len() {
        let op = ops[at];
        let (run, v, len) = opcode(ops, at);
        out.push(if is_zero(op) {
            format!("z:{run}")
        } else if is_xzero(op) {
            format!("Z:{run}")
        } else {
            format!("v:{v},{run}")
        });
        at += len;
    }
    out.join(" ")
}
