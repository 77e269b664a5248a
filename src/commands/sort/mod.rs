//! SORT and SORT_RO (Redis's `sort.c`): the elements of a list, set or sorted set, sorted as
//! numbers or (ALPHA) as strings, by themselves or by keys and hash fields a pattern names for each
//! element (`BY`), cut by `LIMIT`, replaced by other keys' values (`GET`), returned or stored as a
//! list (`STORE`). A family of its own rather than part of `keys/`: it reads four value types and
//! any number of other keys, and it has its own grammar, pattern rules and sorts (`pattern.rs`,
//! `commands/qsort.rs`, shared with GEO), as `sort.c` is its own file in Redis.
//!
//! The steps and their order are Redis's, because a client sees them: the options are parsed first
//! (a syntax error or a LIMIT that is not an integer is reported before the key is looked up);
//! then the key (WRONGTYPE for a string or hash); a set sorted `BY` a constant for STORE is sorted
//! ALPHA instead, so that what is stored does not depend on the set's internal order; LIMIT is
//! clamped to the elements; a list or sorted set left unsorted loads only the LIMIT range (from the
//! tail for DESC); every element's weight is read (numbers as C's `strtod` reads them, an error for
//! text that is not one, for NaN and for ERANGE); the vector is sorted with glibc's merge sort,
//! or with Redis's partial quicksort when BY meets a LIMIT; GET patterns are read while replying.
//! Sorting a sorted set converts it to the `skiplist` encoding, as Redis's does, whatever the
//! options.
//!
//! Redis runs the whole command atomically; here it runs under the shard locks of the key and of
//! the STORE destination, or of every shard when a BY or GET pattern names other keys (they are
//! only known once the elements are read). The lookups of those keys are ordinary reads: keyspace
//! hits and misses, lazy expiry (also of hash fields, `hexpired`), access times.
//!
//! STORE replaces the destination with a list (its TTL dropped) and announces `sortstore`; an empty
//! result deletes the destination, announced as `del` only when there was one: a SORT that stores
//! nothing into a missing key changes nothing, and does not dirty a WATCH on it.

mod pattern;

use bytes::Bytes;

use super::{args, qsort, CommandSpec, Ctx, SPEC};
use crate::engine::notice::class;
use crate::engine::types::{Collection, ListValue};
use crate::engine::{DbShard, Entry, Locked};
use crate::error::{c_string, CmdError, CmdResult};
use pattern::{sorts_by, Pattern};

const COMPLEXITY: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).";

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "sort", arity: -2, flags: flags!(WRITE, DENYOOM, MOVABLEKEYS), acl_categories: acl!(WRITE, SET, SORTEDSET, LIST, SLOW, DANGEROUS), first_key: 1, last_key: 1, key_step: 1, movable_keys: Some(sort_keys), summary: "Sort the elements in a list, set or sorted set", complexity: COMPLEXITY, handler: Some(sort), ..SPEC },
    CommandSpec { name: "sort_ro", arity: -2, flags: flags!(READONLY, MOVABLEKEYS), acl_categories: acl!(READ, SET, SORTEDSET, LIST, SLOW, DANGEROUS), first_key: 1, last_key: 1, key_step: 1, movable_keys: Some(sort_ro_keys), summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", since: "7.0.0", complexity: COMPLEXITY, handler: Some(sort_ro), ..SPEC },
];

/// SORT's keys as Redis's `sortGetKeys` finds them: the sorted key, and the last STORE
/// destination. Options are skipped with their arguments (LIMIT two, GET and BY one) so that a
/// pattern spelt `store` is not taken for the option; BY and GET patterns are not keys (Redis 7's
/// key specs mark them `unknown`).
fn sort_keys(args: &[Bytes]) -> Vec<usize> {
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if args::is_c(arg, "limit") {
            i += 2;
        } else if args::is_c(arg, "get") || args::is_c(arg, "by") {
            i += 1;
        } else if args::is_c(arg, "store") && i + 1 < args.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    std::iter::once(1).chain(store).collect()
}

/// SORT_RO reads only the key it sorts.
fn sort_ro_keys(args: &[Bytes]) -> Vec<usize> {
    if args.len() > 1 {
        vec![1]
    } else {
        Vec::new()
    }
}

fn sort(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, true)
}

struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit: (i64, i64),
    store: Option<&'a [u8]>,
    /// The last BY pattern.
    by: Option<Pattern<'a>>,
    /// A BY pattern without `*` was given (any of them): the elements stay in their order.
    dontsort: bool,
    gets: Vec<Pattern<'a>>,
}

/// The options after the key, as Redis's loop reads them: names compared as C strings, an option
/// missing its arguments is a syntax error, a LIMIT value that is not an integer stops the parse
/// with that error. STORE is not an option of SORT_RO.
fn parse(args: &[Bytes], read_only: bool) -> Result<Options<'_>, CmdError> {
    let mut opts = Options {
        desc: false,
        alpha: false,
        limit: (0, -1),
        store: None,
        by: None,
        dontsort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let arg = &args[j];
        if args::is_c(arg, "asc") {
            opts.desc = false;
        } else if args::is_c(arg, "desc") {
            opts.desc = true;
        } else if args::is_c(arg, "alpha") {
            opts.alpha = true;
        } else if args::is_c(arg, "limit") && left >= 2 {
            opts.limit = (args::int(&args[j + 1])?, args::int(&args[j + 2])?);
            j += 2;
        } else if !read_only && args::is_c(arg, "store") && left >= 1 {
            opts.store = Some(&args[j + 1]);
            j += 1;
        } else if args::is_c(arg, "by") && left >= 1 {
            let pattern = &args[j + 1];
            opts.dontsort |= !sorts_by(pattern);
            opts.by = Some(Pattern::parse(pattern));
            j += 1;
        } else if args::is_c(arg, "get") && left >= 1 {
            opts.gets.push(Pattern::parse(&args[j + 1]));
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(opts)
}

/// Byte strings back to back in one buffer: the elements, or the ALPHA weights.
#[derive(Default)]
struct Arena {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Arena {
    fn push(&mut self, item: &[u8]) -> u32 {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(item);
        self.spans.push((start, self.bytes.len()));
        (self.spans.len() - 1) as u32
    }

    fn get(&self, index: u32) -> &[u8] {
        self.spans
            .get(index as usize)
            .and_then(|&(start, end)| self.bytes.get(start..end))
            .unwrap_or(&[])
    }

    fn len(&self) -> usize {
        self.spans.len()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Set,
    ZSet,
}

/// What the sorted key yields: the elements loaded (all of them, or only the LIMIT range of an
/// unsorted list or sorted set), and the output range `start..=end` within them.
struct Loaded {
    elements: Arena,
    start: i64,
    end: i64,
    dontsort: bool,
    alpha: bool,
    by: bool,
}

/// Redis's LIMIT clamping: `start` within the elements, a negative count meaning all.
fn clamp_limit((limit_start, limit_count): (i64, i64), len: i64) -> (i64, i64) {
    let mut start = limit_start.max(0).min(len);
    let count = limit_count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    (start, end)
}

/// Reads the sorted key's elements (WRONGTYPE for a string or hash; a missing key is an empty
/// list), then converts a sorted set to the `skiplist` encoding.
fn load(
    view: &mut DbShard<'_>,
    hash: u64,
    key: &[u8],
    opts: &Options<'_>,
) -> Result<Loaded, CmdError> {
    let mut elements = Arena::default();
    let (mut dontsort, mut alpha, mut by) = (opts.dontsort, opts.alpha, opts.by.is_some());
    let (start, end, converts) = {
        let entry = view.read(hash, key);
        let kind = match entry.map(|e| (e.list(), e.set(), e.zset())) {
            None | Some((Some(_), _, _)) => Kind::List,
            Some((_, Some(_), _)) => Kind::Set,
            Some((_, _, Some(_))) => Kind::ZSet,
            Some(_) => return Err(CmdError::WrongType),
        };
        let len = entry.and_then(Entry::collection).map_or(0, Collection::len) as i64;
        // A set has no order of its own: what STORE writes must not depend on it.
        if dontsort && kind == Kind::Set && opts.store.is_some() {
            dontsort = false;
            alpha = true;
            by = false;
        }
        let (mut start, mut end) = clamp_limit(opts.limit, len);
        let ranged = kind != Kind::Set && dontsort && (start != 0 || end != len - 1);
        let count = if ranged { end - start + 1 } else { len };
        let desc = opts.desc;
        match entry {
            Some(entry) if dontsort && kind == Kind::List => {
                if let (Some(list), true) = (entry.list(), end >= start) {
                    let first = if desc { len - start - 1 } else { start };
                    let count = count.max(0) as usize;
                    if desc {
                        let low = (first + 1 - count as i64).max(0) as usize;
                        let items: Vec<&[u8]> = list.range(low, first as usize).collect();
                        for item in items.into_iter().rev() {
                            elements.push(item);
                        }
                    } else {
                        for item in list.range(first as usize, first as usize + count - 1) {
                            elements.push(item);
                        }
                    }
                    end -= start;
                    start = 0;
                }
            }
            Some(entry) if dontsort && kind == Kind::ZSet => {
                if let Some(zset) = entry.zset() {
                    let count = count.max(0) as usize;
                    if desc {
                        let first = (len - 1 - start).max(0) as usize;
                        for item in zset.iter_rev_from(first).take(count) {
                            elements.push(&item.member);
                        }
                    } else {
                        for item in zset.iter_from(start.max(0) as usize).take(count) {
                            elements.push(&item.member);
                        }
                    }
                }
                end -= start;
                start = 0;
            }
            Some(entry) => match (entry.list(), entry.set(), entry.zset()) {
                (Some(list), _, _) => list.iter().for_each(|item| {
                    elements.push(item);
                }),
                (_, Some(set), _) => set.iter().for_each(|member| {
                    elements.push(&member.to_bytes());
                }),
                (_, _, Some(zset)) => zset.iter().for_each(|item| {
                    elements.push(&item.member);
                }),
                _ => {}
            },
            None => {}
        }
        let converts = entry
            .and_then(Entry::zset)
            .is_some_and(|z| z.encoding() == "listpack");
        (start, end, converts)
    };
    if converts {
        view.rewrite(hash, key, |entry| {
            if let Some(zset) = entry.zset_mut() {
                zset.convert_to_skiplist();
            }
        });
    }
    Ok(Loaded {
        elements,
        start,
        end,
        dontsort,
        alpha,
        by,
    })
}

/// Calls `f` with the value `pattern` names for `element` (see `pattern.rs`): the element for
/// `#`; the string at the key; the field of the hash at the key (a field whose time has passed is
/// deleted on the way, as any read of it); `None` for a missing key or field, a key of another
/// type, or a pattern without `*`.
fn with_value<R>(
    locked: &mut Locked<'_>,
    db: usize,
    now: u64,
    pattern: &Pattern<'_>,
    element: &[u8],
    key: &mut Vec<u8>,
    f: impl FnOnce(Option<&[u8]>) -> R,
) -> R {
    if *pattern == Pattern::Element {
        return f(Some(element));
    }
    if !pattern.key_for(element, key) {
        return f(None);
    }
    let Some((mut view, hash)) = locked.view(db, key, now) else {
        return f(None);
    };
    match pattern.field() {
        Some(field) => super::hash::read_field(&mut view, hash, key, field, f),
        None => match view.read(hash, key).and_then(Entry::string_value) {
            Some(value) => f(Some(&value)),
            None => f(None),
        },
    }
}

/// A number as SORT reads a weight: `strtod` over the C string (up to a NUL), which it must read
/// whole, and Redis's errno test: not NaN, no overflow, no underflow. glibc reports ERANGE for a
/// result that underflows to zero and for an inexact subnormal one; every decimal subnormal is
/// inexact, and an exact hexadecimal one (`0x1p-1030`) is counted here as inexact too.
fn weight(text: &[u8]) -> Option<f64> {
    let (value, out_of_range) = args::strtod_whole(c_string(text))?;
    (!out_of_range && !value.is_nan() && !value.is_subnormal()).then_some(value)
}

fn sign(ordering: std::cmp::Ordering) -> i32 {
    ordering as i32
}

fn sort_generic(ctx: &mut Ctx<'_>, args: &[Bytes], read_only: bool) -> CmdResult {
    let opts = parse(args, read_only)?;
    let key = &args[1][..];
    let (server, db, now) = (ctx.server, ctx.client.db, ctx.now_ms);
    let out = &mut *ctx.out;
    let keyspace = &server.keyspace;
    // Patterns name keys anywhere: they are known only once the elements are read, so the whole
    // keyspace is held (Redis runs the command alone too). Otherwise the key and the destination.
    let wide = opts.by.is_some_and(|p| p.reads_keys() && !opts.dontsort)
        || opts.gets.iter().any(Pattern::reads_keys);
    let mut locked = if wide {
        keyspace.lock_all()
    } else {
        keyspace.lock_keys(std::iter::once(key).chain(opts.store))
    };
    let loaded = {
        let (mut view, hash) = locked.view(db, key, now).ok_or(CmdError::WrongType)?;
        load(&mut view, hash, key, &opts)?
    };
    let Loaded {
        elements,
        start,
        end,
        dontsort,
        alpha,
        by,
    } = loaded;
    let by = if by { opts.by } else { None };
    let count = elements.len();
    let mut order: Vec<u32> = (0..count as u32).collect();
    let mut key_buf = Vec::new();
    let mut conversion_error = false;
    if !dontsort {
        let mut scores = vec![0f64; if alpha { 0 } else { count }];
        let mut weights = Arena::default();
        let mut weight_of: Vec<Option<u32>> =
            vec![None; if alpha && by.is_some() { count } else { 0 }];
        for i in 0..count as u32 {
            let element = elements.get(i);
            let mut take = |value: Option<&[u8]>| {
                let Some(value) = value else { return };
                if alpha {
                    if by.is_some() {
                        weight_of[i as usize] = Some(weights.push(value));
                    }
                } else {
                    match weight(value) {
                        Some(score) => scores[i as usize] = score,
                        None => conversion_error = true,
                    }
                }
            };
            match &by {
                Some(pattern) => {
                    with_value(&mut locked, db, now, pattern, element, &mut key_buf, take)
                }
                None if !alpha => take(Some(element)),
                None => {}
            }
        }
        if !conversion_error {
            let storing = opts.store.is_some();
            let desc = opts.desc;
            let collate = |a: &[u8], b: &[u8]| {
                if storing {
                    sign(a.cmp(b))
                } else {
                    sign(c_string(a).cmp(c_string(b)))
                }
            };
            let cmp = |a: u32, b: u32| -> i32 {
                let order = if !alpha {
                    let (x, y) = (scores[a as usize], scores[b as usize]);
                    if x > y {
                        1
                    } else if x < y {
                        -1
                    } else {
                        sign(elements.get(a).cmp(elements.get(b)))
                    }
                } else if by.is_some() {
                    match (weight_of[a as usize], weight_of[b as usize]) {
                        (None, None) => 0,
                        (None, Some(_)) => -1,
                        (Some(_), None) => 1,
                        (Some(x), Some(y)) => collate(weights.get(x), weights.get(y)),
                    }
                } else {
                    collate(elements.get(a), elements.get(b))
                };
                if desc {
                    -order
                } else {
                    order
                }
            };
            if by.is_some() && (start != 0 || end != count as i64 - 1) {
                qsort::partial_sort(&mut order, start.max(0), end, &cmp);
            } else {
                qsort::merge_sort(&mut order, &cmp);
            }
        }
    }
    if conversion_error {
        return Err(CmdError::SortScoreNotDouble);
    }
    let picked: &[u32] = if end >= start {
        order.get(start as usize..=end as usize).unwrap_or_default()
    } else {
        &[]
    };
    let per_element = opts.gets.len().max(1);
    let output_len = picked.len() * per_element;
    let Some(store) = opts.store else {
        out.array(output_len);
        for &i in picked {
            let element = elements.get(i);
            if opts.gets.is_empty() {
                out.bulk(element);
            }
            for pattern in &opts.gets {
                with_value(
                    &mut locked,
                    db,
                    now,
                    pattern,
                    element,
                    &mut key_buf,
                    |value| match value {
                        Some(value) => out.bulk(value),
                        None => out.null(),
                    },
                );
            }
        }
        return Ok(());
    };
    let mut list = ListValue::new();
    if output_len > 0 {
        let mut values = Arena::default();
        for &i in picked {
            let element = elements.get(i);
            if opts.gets.is_empty() {
                values.push(element);
            }
            for pattern in &opts.gets {
                with_value(
                    &mut locked,
                    db,
                    now,
                    pattern,
                    element,
                    &mut key_buf,
                    |value| {
                        values.push(value.unwrap_or_default());
                    },
                );
            }
        }
        let items: Vec<&[u8]> = (0..values.len() as u32).map(|i| values.get(i)).collect();
        for item in items {
            list.push_back(item);
        }
    }
    let (mut view, hash) = locked.view(db, store, now).ok_or(CmdError::WrongType)?;
    if output_len > 0 {
        let entry = Entry::new_collection(store, Collection::List(Box::new(list)), 0);
        view.insert(hash, entry);
        view.notify(store, class::LIST, "sortstore");
    } else if view.remove(hash, store).is_some() {
        view.notify(store, class::GENERIC, "del");
    }
    out.int(output_len as i64);
    Ok(())
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
    fn store_keys_as_sort_get_keys() {
        let keys = |items: &[&str]| sort_keys(&argv(items));
        assert_eq!(keys(&["sort", "a"]), [1]);
        assert_eq!(keys(&["sort", "a", "store", "b", "store", "c"]), [1, 5]);
        assert_eq!(keys(&["sort", "a", "by", "store"]), [1]);
        assert_eq!(keys(&["sort", "a", "get", "store", "store", "x"]), [1, 5]);
        assert_eq!(
            keys(&["sort", "a", "limit", "store", "x", "STORE", "y"]),
            [1, 6]
        );
        assert_eq!(keys(&["sort", "a", "store"]), [1]);
        assert_eq!(sort_ro_keys(&argv(&["sort_ro", "a", "store", "b"])), [1]);
    }

    #[test]
    fn weights_as_strtod_and_errno() {
        assert_eq!(weight(b"1.5"), Some(1.5));
        assert_eq!(weight(b" 0x10"), Some(16.0));
        assert_eq!(weight(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(weight(b""), Some(0.0));
        assert_eq!(weight(b"5\0junk"), Some(5.0));
        for bad in [
            &b"1 "[..],
            b"abc",
            b"   ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"1e-310",
        ] {
            assert_eq!(weight(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn limits_clamp_as_redis() {
        assert_eq!(clamp_limit((0, -1), 5), (0, 4));
        assert_eq!(clamp_limit((1, 2), 5), (1, 2));
        assert_eq!(clamp_limit((-5, 2), 5), (0, 1));
        assert_eq!(clamp_limit((3, 100), 5), (3, 4));
        assert_eq!(clamp_limit((5, 1), 5), (4, 3));
        assert_eq!(clamp_limit((0, 0), 5), (0, -1));
        assert_eq!(clamp_limit((0, -1), 0), (-1, -2));
        assert_eq!(clamp_limit((i64::MAX, i64::MAX), 3), (2, 1));
        assert_eq!(clamp_limit((i64::MIN, i64::MIN), 3), (0, 2));
    }

    #[test]
    fn options_in_redis_order() {
        let parsed = |items: &[&str], ro| parse(&argv(items), ro).map(|o| o.store.is_some());
        assert_eq!(
            parsed(&["sort", "k", "limit", "1"], false),
            Err(CmdError::Syntax)
        );
        assert_eq!(
            parsed(&["sort", "k", "limit", "a", "b", "foo"], false),
            Err(CmdError::NotInteger)
        );
        assert_eq!(
            parsed(&["sort", "k", "foo", "limit", "a", "b"], false),
            Err(CmdError::Syntax)
        );
        assert_eq!(
            parsed(&["sort_ro", "k", "store", "d"], true),
            Err(CmdError::Syntax)
        );
        assert_eq!(parsed(&["sort", "k", "STORE\0x", "d"], false), Ok(true));
        let args = argv(&["sort", "k", "by", "nosort", "by", "w_*"]);
        let opts = parse(&args, false).unwrap();
        assert!(opts.dontsort);
    }
}
