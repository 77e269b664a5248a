//! HRANDFIELD and HSCAN: the hash commands that return part of a hash.
//!
//! HRANDFIELD follows Redis's `hrandfieldWithCountCommand` case by case: a negative count draws
//! with repetition, a count at least the size returns the whole hash, a listpack is sampled in
//! its own order, and a table either drops random fields from a copy (when most are wanted) or
//! draws until enough distinct ones came up. The work is proportional to the reply, as in Redis.
//!
//! HSCAN returns a listpack whole with cursor 0, and walks a table with Redis's reverse-binary
//! cursor (see `engine/types/hash/dict.rs`).

use std::collections::HashSet;

use bytes::Bytes;

use super::read_hash;
use crate::commands::keys::{parse_cursor, parse_scan_options, ScanOf};
use crate::commands::{args, Ctx};
use crate::engine::glob::glob_match;
use crate::engine::types::hash::Pair;
use crate::engine::types::HashValue;
use crate::error::{CmdError, CmdResult};
use crate::protocol::ReplyBuf;

/// Above this many draws per field, dropping fields from a full copy is cheaper than drawing
/// distinct ones (Redis's `HRANDFIELD_SUB_STRATEGY_MUL`).
const SUB_STRATEGY_MUL: u64 = 3;

pub(super) fn hrandfield(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() >= 3 {
        // Redis reads the count before it checks for WITHVALUES.
        let requested = args::int(&args[2])?;
        if requested == i64::MIN {
            return Err(CmdError::CountOutOfLongRange);
        }
        let with_values = match args.len() {
            3 => false,
            4 if args::is(&args[3], "withvalues") => true,
            _ => return Err(CmdError::Syntax),
        };
        return hrandfield_count(ctx, &args[1], requested, with_values);
    }
    read_hash(ctx, &args[1], |h, out| {
        match h.and_then(HashValue::random) {
            Some((field, _)) => out.bulk(field),
            None => out.null(),
        }
    })
}

/// The reply of HRANDFIELD with a count: fields, or with values a flat array in RESP2 and
/// `[field, value]` pairs in RESP3.
struct PairWriter {
    with_values: bool,
    nested: bool,
}

impl PairWriter {
    fn new(out: &ReplyBuf, with_values: bool) -> PairWriter {
        PairWriter {
            with_values,
            nested: with_values && out.is_resp3(),
        }
    }

    fn header(&self, out: &mut ReplyBuf, count: usize) {
        let flat = self.with_values && !self.nested;
        out.array(if flat { count.saturating_mul(2) } else { count });
    }

    fn pair(&self, out: &mut ReplyBuf, (field, value): Pair<'_>) {
        if self.nested {
            out.array(2);
        }
        out.bulk(field);
        if self.with_values {
            out.bulk(value);
        }
    }
}

fn hrandfield_count(ctx: &mut Ctx<'_>, key: &[u8], requested: i64, with_values: bool) -> CmdResult {
    // Each pair takes two reply slots, so the count must survive doubling.
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&requested) {
        return Err(CmdError::OutOfRange);
    }
    let unique = requested >= 0;
    let count = requested.unsigned_abs();
    read_hash(ctx, key, |h, out| {
        let writer = PairWriter::new(out, with_values);
        let Some(h) = h.filter(|_| count > 0) else {
            out.array(0);
            return;
        };
        let size = h.len() as u64;
        if !unique || count == 1 {
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            writer.header(out, count);
            if h.is_listpack() {
                let pairs: Vec<Pair<'_>> = h.iter().collect();
                for _ in 0..count {
                    if let Some(&pair) = pairs.get(fastrand::usize(..pairs.len())) {
                        writer.pair(out, pair);
                    }
                }
            } else {
                for _ in 0..count {
                    if let Some(pair) = h.random() {
                        writer.pair(out, pair);
                    }
                }
            }
            return;
        }
        if count >= size {
            writer.header(out, size as usize);
            for pair in h.iter() {
                writer.pair(out, pair);
            }
            return;
        }
        let count = count as usize;
        writer.header(out, count);
        if h.is_listpack() {
            // Selection sampling: each field is taken with probability needed / left, which
            // yields exactly `count` distinct fields in the listpack's order.
            let mut needed = count;
            let mut left = size as usize;
            for pair in h.iter() {
                if needed == 0 {
                    break;
                }
                if fastrand::usize(..left) < needed {
                    writer.pair(out, pair);
                    needed -= 1;
                }
                left -= 1;
            }
        } else if (count as u64).saturating_mul(SUB_STRATEGY_MUL) > size {
            let mut pairs: Vec<Pair<'_>> = h.iter().collect();
            while pairs.len() > count {
                pairs.swap_remove(fastrand::usize(..pairs.len()));
            }
            for pair in pairs {
                writer.pair(out, pair);
            }
        } else {
            let mut seen: HashSet<&[u8]> = HashSet::with_capacity(count);
            while seen.len() < count {
                let Some(pair) = h.random() else { break };
                if seen.insert(pair.0) {
                    writer.pair(out, pair);
                }
            }
        }
    })
}

pub(super) fn hscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2]).ok_or(CmdError::InvalidCursor)?;
    read_hash(ctx, &args[1], |h, out| {
        let Some(h) = h else {
            out.array(2);
            out.bulk(b"0");
            out.array(0);
            return Ok(());
        };
        let options = parse_scan_options(args, 3, ScanOf::Hash)?;
        let wanted = options.count as u64;
        let mut found: Vec<Pair<'_>> = Vec::new();
        let mut next = cursor;
        if h.is_listpack() {
            next = h.scan(cursor, |f, v| found.push((f, v)));
        } else {
            // As Redis: visit buckets until COUNT elements came up, giving up after ten empty
            // buckets per element wanted so that a sparse table cannot stall one call.
            let mut budget = wanted.saturating_mul(10);
            loop {
                next = h.scan(next, |f, v| found.push((f, v)));
                if next == 0 || budget == 0 || found.len() as u64 >= wanted {
                    break;
                }
                budget -= 1;
            }
        }
        if let Some(pattern) = options.pattern {
            found.retain(|(field, _)| glob_match(pattern, field, false));
        }
        out.array(2);
        out.bulk(itoa::Buffer::new().format(next).as_bytes());
        if options.no_values {
            out.array(found.len());
            for (field, _) in found {
                out.bulk(field);
            }
        } else {
            out.array(found.len() * 2);
            for (field, value) in found {
                out.bulk(field);
                out.bulk(value);
            }
        }
        Ok(())
    })?
}
