//! PFDEBUG GETREG|DECODE|ENCODING|TODENSE key, and PFSELFTEST, as Redis 7.0 has them.
//!
//! PFDEBUG looks the key up for writing and unshares it (the value ends `raw`) before it reads the
//! subcommand; GETREG and TODENSE convert a sparse value to dense in place without a notice, as
//! Redis does (they change the bytes, not the set). PFSELFTEST runs Redis's two checks: random
//! registers read back, then dense and sparse values fed the same 10 million elements agree and
//! stay within six standard errors; it takes about a second of one thread, like Redis's.

use bytes::Bytes;

use super::super::{args, Ctx};
use super::check;
use crate::engine::types::hll::{self, Encoding, DENSE_LEN, HEADER_LEN, REGISTERS};
use crate::error::{CmdError, CmdResult};

enum Answer {
    Registers(Vec<u8>),
    Decoded(String),
    Encoding(Encoding),
    Converted(bool),
}

/// Makes a value dense in place; whether it was sparse.
fn to_dense(entry: &mut crate::engine::Entry) -> Result<bool, CmdError> {
    if check(entry)? == Encoding::Dense {
        return Ok(false);
    }
    let mut result = Ok(());
    entry.modify_string(|value| result = hll::sparse_to_dense(value));
    result.map_err(|_| CmdError::CorruptHll)?;
    Ok(true)
}

pub(super) fn pfdebug(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (sub, key) = (&argv[1][..], &argv[2][..]);
    let answer = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            view.modify(hash, key, |entry| {
                let encoding = check(entry)?;
                entry.string_bytes_mut(0);
                if args::is_c(sub, "getreg") {
                    to_dense(entry)?;
                    let value = entry.str_bytes().unwrap_or_default();
                    let registers = &value[HEADER_LEN..];
                    Ok(Answer::Registers(
                        (0..REGISTERS)
                            .map(|i| hll::dense_get(registers, i))
                            .collect(),
                    ))
                } else if args::is_c(sub, "decode") {
                    if encoding != Encoding::Sparse {
                        return Err(CmdError::PfdebugNotSparse);
                    }
                    Ok(Answer::Decoded(hll::decode(
                        &entry.str_bytes().unwrap_or_default(),
                    )))
                } else if args::is_c(sub, "encoding") {
                    Ok(Answer::Encoding(encoding))
                } else if args::is_c(sub, "todense") {
                    Ok(Answer::Converted(to_dense(entry)?))
                } else {
                    Err(CmdError::PfdebugUnknown(sub.to_vec()))
                }
            })
            .unwrap_or(Err(CmdError::PfdebugNoKey))
        })?;
    let out = &mut *ctx.out;
    match answer {
        Answer::Registers(registers) => {
            out.array(registers.len());
            for register in registers {
                out.int(register as i64);
            }
        }
        Answer::Decoded(text) => out.bulk(text.as_bytes()),
        Answer::Encoding(encoding) => out.simple(encoding.name()),
        Answer::Converted(done) => out.int(done as i64),
    }
    Ok(())
}

/// Redis's number of random register rounds and of elements.
const REGISTER_ROUNDS: usize = 1000;
const ELEMENTS: u64 = 10_000_000;

pub(super) fn pfselftest(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let sparse_max = ctx.server.config.read().hll_sparse_max_bytes;
    self_test(sparse_max).map_err(CmdError::HllSelfTest)?;
    ctx.out.ok();
    Ok(())
}

fn self_test(sparse_max: usize) -> Result<(), String> {
    // 1: registers set to random values read back, neighbours untouched.
    let mut rng = fastrand::Rng::new();
    let mut registers = vec![0u8; DENSE_LEN - HEADER_LEN];
    let mut expected = vec![0u8; REGISTERS];
    for _ in 0..REGISTER_ROUNDS {
        for (index, slot) in expected.iter_mut().enumerate() {
            *slot = rng.u8(0..64);
            hll::dense_set(&mut registers, index, *slot);
        }
        for (index, &want) in expected.iter().enumerate() {
            let got = hll::dense_get(&registers, index);
            if got != want {
                return Err(format!("Register {index} should be {want} but is {got}"));
            }
        }
    }
    // 2: the same elements into a dense and a sparse value.
    let mut dense = hll::new_sparse();
    hll::sparse_to_dense(&mut dense).map_err(|_| "dense/sparse disagree".to_string())?;
    let mut sparse = hll::new_sparse();
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let seed = rng.u64(..);
    let mut checkpoint = 1u64;
    for j in 1..=ELEMENTS {
        let element = (j ^ seed).to_le_bytes();
        hll::dense_add(&mut dense, &element);
        let _ = hll::add(&mut sparse, &element, sparse_max);
        if j != checkpoint {
            continue;
        }
        if j < sparse_max as u64 / 2 && hll::encoding_of(&sparse) != Some(Encoding::Sparse) {
            return Err("sparse encoding not used".into());
        }
        let counted = hll::count(&dense).unwrap_or(0);
        if hll::count(&sparse) != Ok(counted) {
            return Err("dense/sparse disagree".into());
        }
        let error = (checkpoint as i64 - counted as i64).unsigned_abs();
        let allowed = if j == 10 {
            1
        } else {
            (relative_error * 6.0 * checkpoint as f64).ceil() as u64
        };
        if error > allowed {
            return Err(format!("Too big error. card:{checkpoint} abserr:{error}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}
