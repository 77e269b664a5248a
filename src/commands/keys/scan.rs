//! KEYS and SCAN.
//!
//! A SCAN cursor names a position in one shard's table of the client's database. From the low
//! bits up it holds: the shard index (`log2(shards)` bits), the log2 of that table's bucket count
//! when the cursor was made (6 bits), and the next bucket to visit. Shards are walked in order,
//! each from bucket 0 to its end, and the cursor is 0 again after the last shard.
//!
//! Guarantee: a key present for the whole iteration is returned at least once, and a key may be
//! returned more than once. Only the shard being walked matters for this: when its table has grown
//! or shrunk since the cursor was made, the size bits differ and the walk restarts that shard from
//! bucket 0 (keys seen already come again, none are missed). The one case the size bits cannot see
//! is a rehash in place (hashbrown reorganises a table of the same size after many deletions and
//! insertions); keys of that shard may then be missed or repeated during that iteration. Keys
//! added or removed during the iteration may or may not be returned, as in Redis.
//!
//! Termination: a shard is restarted at most once per resize of its table, and tables only grow
//! while keys are added, so an iteration ends unless the keyspace keeps growing faster than the
//! client scans it. Each call locks one shard at a time, for at most COUNT entries.

use bytes::Bytes;

use crate::commands::{args, Ctx};
use crate::engine::glob::glob_match;
use crate::engine::DbShard;
use crate::error::{CmdError, CmdResult};

/// Bits of the cursor that record the table's size (log2 of its bucket count, below 64).
const SIZE_BITS: u32 = 6;
/// SCAN's COUNT when none is given, as Redis.
const DEFAULT_COUNT: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    shard: usize,
    size_log2: u32,
    bucket: usize,
}

impl Cursor {
    fn decode(value: u64, shard_bits: u32) -> Cursor {
        let shard_mask = (1u64 << shard_bits) - 1;
        Cursor {
            shard: (value & shard_mask) as usize,
            size_log2: ((value >> shard_bits) & ((1 << SIZE_BITS) - 1)) as u32,
            bucket: (value >> (shard_bits + SIZE_BITS)) as usize,
        }
    }

    fn encode(self, shard_bits: u32) -> u64 {
        ((self.bucket as u64) << (shard_bits + SIZE_BITS))
            | ((self.size_log2 as u64) << shard_bits)
            | self.shard as u64
    }
}

/// A cursor as Redis's `parseScanCursorOrReply` reads it (`strtoul`): decimal digits with an
/// optional sign (a minus wraps around, so `-1` is the largest cursor), no leading space, and the
/// empty string is 0.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    // strtoul reads a C string: it ends at the first NUL.
    let arg = args::c_str(arg, usize::MAX);
    let (negative, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() && !arg.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add((b - b'0') as u64)?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

pub fn keys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let pattern = &args[1][..];
    let all = pattern == b"*";
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let mut found: Vec<Vec<u8>> = Vec::new();
    // One shard locked at a time: other clients keep working between shards.
    let keyspace = &ctx.server.keyspace;
    keyspace.for_each_shard(|_, shard| {
        let view = keyspace.view(shard, db, now);
        view.walk(0, usize::MAX, |entry| {
            if all || glob_match(pattern, entry.key(), false) {
                found.push(entry.key().to_vec());
            }
        });
    });
    ctx.out.bulks(found.iter().map(|k| k.as_slice()));
    Ok(())
}

/// The options of the SCAN family as Redis's `scanGenericCommand` reads them from `args[from..]`:
/// COUNT (at least 1), MATCH (`*`, which matches everything, is dropped), and TYPE for SCAN only.
pub(crate) struct ScanOptions<'a> {
    pub count: usize,
    pub pattern: Option<&'a [u8]>,
    pub type_name: Option<&'a [u8]>,
    /// HSCAN NOVALUES (Redis 7.4): fields only.
    pub no_values: bool,
}

/// Which command's options are parsed: TYPE is SCAN's, NOVALUES is HSCAN's.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanOf {
    Keys,
    Hash,
    Other,
}

pub(crate) fn parse_scan_options(
    args: &[Bytes],
    from: usize,
    of: ScanOf,
) -> Result<ScanOptions<'_>, CmdError> {
    let mut options = ScanOptions {
        count: DEFAULT_COUNT,
        pattern: None,
        type_name: None,
        no_values: false,
    };
    let mut i = from;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if args::is(&args[i], "count") && has_value {
            let n = args::int(&args[i + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            options.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if args::is(&args[i], "match") && has_value {
            options.pattern = Some(&args[i + 1][..]).filter(|p| *p != b"*");
        } else if of == ScanOf::Keys && args::is(&args[i], "type") && has_value {
            options.type_name = Some(&args[i + 1][..]);
        } else if args::is(&args[i], "novalues") {
            if of != ScanOf::Hash {
                return Err(CmdError::NovaluesNotHscan);
            }
            options.no_values = true;
            i += 1;
            continue;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(options)
}

pub fn scan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[1]).ok_or(CmdError::InvalidCursor)?;
    let ScanOptions {
        count,
        pattern,
        type_name,
        ..
    } = parse_scan_options(args, 2, ScanOf::Keys)?;

    let mut found: Vec<Vec<u8>> = Vec::new();
    let table_buckets = |view: &DbShard<'_>| view.table.map.num_buckets();
    let next = walk_shards(
        ctx,
        cursor,
        count,
        table_buckets,
        |view, bucket, remaining| {
            let mut visited = 0;
            let next = view.walk(bucket, remaining, |entry| {
                visited += 1;
                let wanted = pattern.is_none_or(|p| glob_match(p, entry.key(), false))
                    && type_name
                        .is_none_or(|t| t.eq_ignore_ascii_case(entry.type_name().as_bytes()));
                if wanted {
                    found.push(entry.key().to_vec());
                }
            });
            (visited, next)
        },
    );
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.bulks(found.iter().map(|k| k.as_slice()));
    Ok(())
}

/// Walks every shard's table of the client's database in turn from `cursor` (see the module doc)
/// until `count` elements were visited; returns the cursor to continue from (0 at the end).
/// `buckets` gives the size of the table walked (the keyspace table for SCAN, a tag's key set for
/// TAG.SCAN); `visit` walks it from a bucket for at most `remaining` elements and returns how many
/// it visited and the next bucket (`None` at the table's end).
pub(crate) fn walk_shards(
    ctx: &Ctx<'_>,
    cursor: u64,
    count: usize,
    buckets: impl Fn(&DbShard<'_>) -> usize,
    visit: impl FnMut(&mut DbShard<'_>, usize, usize) -> (usize, Option<usize>),
) -> u64 {
    walk_shards_of(ctx, ctx.client.db, cursor, count, buckets, visit)
}

/// `walk_shards` over database `db` rather than the client's (CACHE.EXPORT ... DB).
pub(crate) fn walk_shards_of(
    ctx: &Ctx<'_>,
    db: usize,
    cursor: u64,
    count: usize,
    buckets: impl Fn(&DbShard<'_>) -> usize,
    mut visit: impl FnMut(&mut DbShard<'_>, usize, usize) -> (usize, Option<usize>),
) -> u64 {
    let keyspace = &ctx.server.keyspace;
    let shards = keyspace.shard_count();
    let shard_bits = shards.trailing_zeros();
    let now = ctx.now_ms;
    let mut at = Cursor::decode(cursor, shard_bits);
    let mut remaining = count;
    loop {
        let mut shard = keyspace.lock_shard(at.shard);
        let mut view = keyspace.view(&mut shard, db, now);
        let size_log2 = buckets(&view).max(1).trailing_zeros();
        if at.bucket != 0 && at.size_log2 != size_log2 {
            at.bucket = 0;
        }
        let (visited, next_bucket) = visit(&mut view, at.bucket, remaining);
        drop(shard);
        remaining = remaining.saturating_sub(visited);
        match next_bucket {
            Some(bucket) => {
                break Cursor {
                    shard: at.shard,
                    size_log2,
                    bucket,
                }
                .encode(shard_bits);
            }
            None if at.shard + 1 >= shards => break 0,
            None => {
                at = Cursor {
                    shard: at.shard + 1,
                    size_log2: 0,
                    bucket: 0,
                };
                if remaining == 0 {
                    break at.encode(shard_bits);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        for bits in [0, 2, 4, 8] {
            let c = Cursor {
                shard: (1 << bits) - 1,
                size_log2: 17,
                bucket: 12345,
            };
            assert_eq!(Cursor::decode(c.encode(bits), bits), c);
        }
        assert_eq!(
            Cursor::decode(0, 4),
            Cursor {
                shard: 0,
                size_log2: 0,
                bucket: 0
            }
        );
        let max = Cursor::decode(u64::MAX, 4);
        assert_eq!(max.shard, 15);
    }

    #[test]
    fn cursor_parsing_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b" 0"), None);
        assert_eq!(parse_cursor(b"0 "), None);
        assert_eq!(parse_cursor(b"abc"), None);
        assert_eq!(parse_cursor(b"-"), None);
        assert_eq!(parse_cursor(b"\x00junk"), Some(0));
        assert_eq!(parse_cursor(b"12\x00junk"), Some(12));
        assert_eq!(parse_cursor(b"1x\x00"), None);
    }
}
