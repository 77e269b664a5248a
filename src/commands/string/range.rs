//! Commands on parts of a string: APPEND, GETRANGE/SUBSTR, SETRANGE, and LCS (longest common
//! subsequence by the textbook O(N*M) table, as Redis computes it, with the same limit on the
//! table's size).

use crate::engine::notice::class;
use bytes::Bytes;

use crate::commands::string::modify_string;
use crate::commands::{args, Ctx};
use crate::engine::Entry;
use crate::error::{CmdError, CmdResult};

/// Redis's `checkStringLength`: a string may not grow past `proto-max-bulk-len`.
fn check_length(current: usize, added: usize, max: usize) -> CmdResult {
    match current.checked_add(added) {
        Some(total) if total <= max => Ok(()),
        _ => Err(CmdError::StringTooLong),
    }
}

pub(super) fn append(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, suffix) = (&args[1][..], &args[2][..]);
    let max = ctx.server.config.read().proto_max_bulk_len;
    let len = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let existing = modify_string(view, hash, key, |entry| {
                check_length(entry.string_len(), suffix.len(), max)?;
                entry.modify_string(|bytes| bytes.extend_from_slice(suffix));
                Ok(entry.string_len())
            });
            match existing {
                Some(result) => result,
                None => {
                    view.insert(hash, Entry::new_string(key, suffix, 0));
                    Ok(suffix.len())
                }
            }
        })?;
    ctx.notify(class::STRING, "append", key);
    ctx.out.int(len as i64);
    Ok(())
}

/// The byte range GETRANGE returns for `start..=end` of a string of `len` bytes, with Redis's
/// rules for negative and out-of-range indexes (both negative with start after end is empty;
/// otherwise each is clamped into the string).
fn byte_range(start: i64, end: i64, len: usize) -> Option<std::ops::Range<usize>> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    let from_end = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let start = from_end(start);
    let end = from_end(end).min(len - 1);
    if len == 0 || start > end {
        return None;
    }
    Some(start as usize..end as usize + 1)
}

/// GETRANGE and SUBSTR: the indexes are parsed before the key is looked at.
pub(super) fn getrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let start = args::int(&args[2])?;
    let end = args::int(&args[3])?;
    let out = &mut *ctx.out;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, &args[1], ctx.now_ms, |view, hash| {
            let Some(entry) = view.read(hash, &args[1]) else {
                out.bulk(b"");
                return Ok(());
            };
            let value = entry.string_value().ok_or(CmdError::WrongType)?;
            match byte_range(start, end, value.len()).and_then(|range| value.get(range)) {
                Some(part) => out.bulk(part),
                None => out.bulk(b""),
            }
            Ok(())
        })
}

pub(super) fn setrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, patch) = (&args[1][..], &args[3][..]);
    let offset = args::int(&args[2])?;
    let offset = usize::try_from(offset).map_err(|_| CmdError::OffsetOutOfRange)?;
    let max = ctx.server.config.read().proto_max_bulk_len;
    let len = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let existing = modify_string(view, hash, key, |entry| {
                // Writing nothing changes nothing, not even the encoding, and is never too long.
                if patch.is_empty() {
                    return Ok(entry.string_len());
                }
                check_length(offset, patch.len(), max)?;
                entry.modify_string(|bytes| write_at(bytes, offset, patch));
                Ok(entry.string_len())
            });
            match existing {
                Some(result) => result,
                None if patch.is_empty() => Ok(0),
                None => {
                    check_length(offset, patch.len(), max)?;
                    let mut entry = Entry::new_string(key, b"", 0);
                    entry.modify_string(|bytes| write_at(bytes, offset, patch));
                    let len = entry.string_len();
                    view.insert(hash, entry);
                    Ok(len)
                }
            }
        })?;
    if !patch.is_empty() {
        ctx.notify(class::STRING, "setrange", key);
    }
    ctx.out.int(len as i64);
    Ok(())
}

/// Overwrites `bytes` from `offset` with `patch`, padding with zero bytes when the string was
/// shorter than `offset`.
fn write_at(bytes: &mut Vec<u8>, offset: usize, patch: &[u8]) {
    let end = offset + patch.len();
    if bytes.len() < end {
        bytes.resize(end, 0);
    }
    bytes[offset..end].copy_from_slice(patch);
}

#[derive(Default)]
struct LcsOptions {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: u64,
}

fn parse_lcs_options(args: &[Bytes]) -> Result<LcsOptions, CmdError> {
    let mut opts = LcsOptions::default();
    let mut i = 3;
    while i < args.len() {
        let opt = &args[i];
        if args::is(opt, "idx") {
            opts.idx = true;
        } else if args::is(opt, "len") {
            opts.len = true;
        } else if args::is(opt, "withmatchlen") {
            opts.with_match_len = true;
        } else if args::is(opt, "minmatchlen") && i + 1 < args.len() {
            opts.min_match_len = args::int(&args[i + 1])?.max(0) as u64;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if opts.idx && opts.len {
        return Err(CmdError::LcsLenWithIdx);
    }
    Ok(opts)
}

/// One matching range: start and end (inclusive) in the first and in the second string.
struct Match {
    a: (usize, usize),
    b: (usize, usize),
}

/// The longest common subsequence of `a` and `b`, and the contiguous runs it is made of, from the
/// end of the strings backwards (the order Redis reports them in).
fn lcs_table(a: &[u8], b: &[u8]) -> Vec<u32> {
    let width = b.len() + 1;
    let mut table = vec![0u32; (a.len() + 1) * width];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    table
}

/// Walks the table back from its corner as Redis's `lcsCommand` does, collecting the common
/// subsequence and its runs. Runs shorter than `min_len` are left out of the list.
fn lcs_walk(a: &[u8], b: &[u8], table: &[u32], min_len: u64) -> (Vec<u8>, Vec<Match>) {
    let width = b.len() + 1;
    let at = |i: usize, j: usize| table.get(i * width + j).copied().unwrap_or(0);
    let total = at(a.len(), b.len()) as usize;
    let mut result = vec![0u8; total];
    let mut matches = Vec::new();
    let (mut i, mut j, mut idx) = (a.len(), b.len(), total);
    let mut current: Option<Match> = None;
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            idx -= 1;
            result[idx] = a[i - 1];
            match current.as_mut() {
                None => {
                    current = Some(Match {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    })
                }
                Some(run) if run.a.0 == i && run.b.0 == j => {
                    run.a.0 -= 1;
                    run.b.0 -= 1;
                }
                Some(_) => emit = true,
            }
            if current
                .as_ref()
                .is_some_and(|run| run.a.0 == 0 || run.b.0 == 0)
            {
                emit = true;
            }
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = current.is_some();
        }
        if emit {
            if let Some(run) = current.take() {
                if (run.a.1 - run.a.0 + 1) as u64 >= min_len {
                    matches.push(run);
                }
            }
        }
    }
    (result, matches)
}

pub(super) fn lcs(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (db, now_ms) = (ctx.client.db, ctx.now_ms);
    let (key_a, key_b) = (&args[1][..], &args[2][..]);
    // Both values are copied under their shards' locks, so the (slow) table is built unlocked.
    let mut values = [Vec::new(), Vec::new()];
    {
        let mut locked = ctx.server.keyspace.lock_keys([key_a, key_b]);
        for (value, key) in values.iter_mut().zip([key_a, key_b]) {
            let Some((mut view, hash)) = locked.view(db, key, now_ms) else {
                continue;
            };
            if let Some(entry) = view.read(hash, key) {
                *value = entry
                    .string_value()
                    .ok_or(CmdError::LcsNotStrings)?
                    .to_vec();
            }
        }
    }
    let opts = parse_lcs_options(args)?;
    let [a, b] = &values;
    let max = ctx.server.config.read().proto_max_bulk_len as u128;
    let cells = (a.len() as u128 + 1) * (b.len() as u128 + 1);
    if cells * 4 > max {
        return Err(CmdError::LcsTooLarge);
    }
    let table = lcs_table(a, b);
    let total = table.last().copied().unwrap_or(0) as i64;
    if opts.len && !opts.idx {
        ctx.out.int(total);
        return Ok(());
    }
    let (common, matches) = lcs_walk(a, b, &table, opts.min_match_len);
    if !opts.idx {
        ctx.out.bulk(&common);
        return Ok(());
    }
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"matches");
    out.array(matches.len());
    for run in &matches {
        out.array(2 + opts.with_match_len as usize);
        for (start, end) in [run.a, run.b] {
            out.array(2);
            out.int(start as i64);
            out.int(end as i64);
        }
        if opts.with_match_len {
            out.int((run.a.1 - run.a.0 + 1) as i64);
        }
    }
    out.bulk(b"len");
    out.int(total);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_like_redis() {
        assert_eq!(byte_range(0, -1, 5), Some(0..5));
        assert_eq!(byte_range(-3, -1, 5), Some(2..5));
        assert_eq!(byte_range(-100, -50, 5), Some(0..1));
        assert_eq!(byte_range(-1, -5, 5), None);
        assert_eq!(byte_range(3, 1, 5), None);
        assert_eq!(byte_range(5, 10, 5), None);
        assert_eq!(byte_range(0, 0, 0), None);
        assert_eq!(byte_range(i64::MAX, i64::MIN, 5), None);
        assert_eq!(byte_range(i64::MIN, i64::MAX, 5), Some(0..5));
    }

    #[test]
    fn lcs_runs_like_redis() {
        let (a, b) = (b"ohmytext", b"mynewtext");
        let table = lcs_table(a, b);
        let (common, matches) = lcs_walk(a, b, &table, 0);
        assert_eq!(common, b"mytext");
        let runs: Vec<_> = matches.iter().map(|m| (m.a, m.b)).collect();
        assert_eq!(runs, vec![((4, 7), (5, 8)), ((2, 3), (0, 1))]);
        let (_, long_only) = lcs_walk(a, b, &table, 4);
        assert_eq!(long_only.len(), 1);
        let empty = lcs_table(b"", b"abc");
        assert_eq!(lcs_walk(b"", b"abc", &empty, 0).0, b"");
    }

    #[test]
    fn length_check_survives_overflow() {
        assert!(check_length(usize::MAX, 1, usize::MAX).is_err());
        assert!(check_length(15, 1, 16).is_ok());
        assert!(check_length(16, 1, 16).is_err());
    }

    #[test]
    fn write_at_pads_with_zeros() {
        let mut bytes = b"Hello".to_vec();
        write_at(&mut bytes, 7, b"x");
        assert_eq!(bytes, b"Hello\0\0x");
        write_at(&mut bytes, 0, b"J");
        assert_eq!(bytes, b"Jello\0\0x");
    }
}
