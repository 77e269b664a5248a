//! BITOP AND|OR|XOR|NOT destkey key [key ...]: every key's shard is locked first, so the sources
//! are read and the destination written at one point in time. Missing sources are empty strings;
//! an empty result deletes the destination (Redis's `del`), any other replaces it whatever it
//! held (`set`, TTL dropped).

use bytes::Bytes;

use super::super::{args, Ctx};
use crate::engine::notice::class;
use crate::engine::types::bitmap::{self, BitOp};
use crate::engine::Entry;
use crate::error::{CmdError, CmdResult};

fn operation(arg: &[u8]) -> Option<BitOp> {
    [
        ("and", BitOp::And),
        ("or", BitOp::Or),
        ("xor", BitOp::Xor),
        ("not", BitOp::Not),
    ]
    .into_iter()
    .find(|(name, _)| args::is_c(arg, name))
    .map(|(_, op)| op)
}

pub(super) fn bitop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let op = operation(&argv[1]).ok_or(CmdError::Syntax)?;
    if op == BitOp::Not && argv.len() != 4 {
        return Err(CmdError::BitopNotArity);
    }
    let (dest, sources) = (&argv[2][..], &argv[3..]);
    let (db, now_ms) = (ctx.client.db, ctx.now_ms);
    let coherence = &ctx.server.coherence;
    let mut locked = ctx.server.keyspace.lock_keys(argv[2..].iter());
    // Expiry, hit/miss counts and types first, in argument order (the first non-string answers
    // WRONGTYPE); the values are then borrowed from the locked tables without a copy.
    for key in sources {
        if let Some((mut view, hash)) = locked.view(db, key, now_ms) {
            if view.read(hash, key).is_some_and(|entry| !entry.is_string()) {
                return Err(CmdError::WrongType);
            }
        }
    }
    let result = {
        let values: Vec<_> = sources
            .iter()
            .map(|key| locked.entry(db, key).and_then(Entry::string_value))
            .collect();
        let slices: Vec<&[u8]> = values
            .iter()
            .map(|value| value.as_deref().unwrap_or(b""))
            .collect();
        bitmap::combine(op, &slices)
    };
    let len = result.len();
    if let Some((mut view, hash)) = locked.view(db, dest, now_ms) {
        if !result.is_empty() {
            view.insert(hash, Entry::new_raw_string(dest, &result, 0));
            view.notify(dest, class::STRING, "set");
        } else if view.remove(hash, dest).is_some() {
            view.notify(dest, class::GENERIC, "del");
        } else {
            coherence.absent_key_deleted(db, dest);
        }
    }
    ctx.out.int(len as i64);
    Ok(())
}
