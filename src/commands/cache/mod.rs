//! Cache-native commands: CACHE.SET (SET plus the metadata `allkeys-cachet` ranks entries by:
//! priority, cost, tags) and CACHE.INSPECT (what the eviction engine knows about one key).
//!
//! CACHE.SET shares SET's option parser and write path (`string::parse_set_options_with`,
//! `string::set_generic`), so NX/XX/GET/KEEPTTL and the expiry rules cannot drift apart. Errors come
//! in SET's order: any syntax error first, then the values (expiry, priority, cost).
//!
//! Metadata belongs to a value, as a TTL does: a write that replaces the value (SET, MSET,
//! GETSET...) starts from the defaults (normal, cost 1, no tags) unless it is CACHE.SET ... KEEPMETA;
//! an in-place change (APPEND, INCR, EXPIRE...) goes through `DbShard::modify` and keeps them.

pub mod compression;
pub mod export;
pub mod peer;
pub mod region;
pub mod stats;
pub mod tags;
pub mod warm;

use std::collections::HashSet;

use bytes::Bytes;

use super::string::{expire_at, parse_set_options_with, set_generic, SetRequest};
use super::{args, CommandSpec, Ctx, SPEC};
use crate::engine::compress::Level;
use crate::engine::entry::TagList;
use crate::engine::policy::lfu_decayed;
use crate::engine::{idle_seconds, CacheMeta, Name, Priority};
use crate::error::{CmdError, CmdResult};

const CACHE: CommandSpec = CommandSpec {
    group: "cachet",
    since: "0.1.0",
    first_key: 1,
    last_key: 1,
    key_step: 1,
    ..SPEC
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "cache.set",
        arity: -3,
        flags: flags!(WRITE, DENYOOM),
        acl_categories: acl!(WRITE, STRING, SLOW, CACHE),
        summary: "Sets the string value of a key as SET does, with the cache priority, cost and tags eviction uses.",
        complexity: "O(1), plus O(N) for N tags.",
        handler: Some(cache_set),
        ..CACHE
    },
    CommandSpec {
        name: "cache.inspect",
        arity: 2,
        flags: flags!(READONLY, FAST),
        acl_categories: acl!(READ, KEYSPACE, FAST, CACHE),
        summary: "Returns a key's cache metadata: priority, cost, size, tags, TTL, access frequency, idle time, type and encoding.",
        complexity: "O(1), plus O(N) for N tags.",
        handler: Some(cache_inspect),
        ..CACHE
    },
];

/// What CACHE.SET asked for. Options left out keep the defaults, or with `keep` (KEEPMETA) the
/// old entry's values; options given always win over both.
#[derive(Debug, Default)]
pub struct MetaRequest {
    pub priority: Option<Priority>,
    pub cost: Option<u32>,
    pub tags: Option<TagList>,
    pub keep: bool,
    /// COMPRESS: this write's level, whatever `compression-level` and `compression-min-size` say.
    pub compress: Option<Level>,
}

impl MetaRequest {
    /// The new entry's metadata; `old` is the replaced entry's, present only with KEEPMETA.
    pub fn resolve(&self, old: Option<CacheMeta>) -> CacheMeta {
        let base = old.filter(|_| self.keep).unwrap_or_default();
        CacheMeta {
            priority: self.priority.unwrap_or(base.priority),
            cost: self.cost.unwrap_or(base.cost),
            tags: self.tags.clone().or(base.tags),
        }
    }
}

/// CACHE.SET's own options as they appear, checked only once the whole line parsed.
#[derive(Default)]
struct RawMeta<'a> {
    priority: Option<&'a [u8]>,
    cost: Option<&'a [u8]>,
    tags: Option<&'a [Bytes]>,
    keep: bool,
    fill: bool,
    compress: Option<&'a [u8]>,
}

/// Recognises one CACHE.SET option at the start of `rest`; returns the arguments it used, `None`
/// for anything malformed (a missing value, TAGS with a count below 1 or more than what follows).
/// A repeated option replaces the earlier one, as SET's expiry does.
fn parse_meta_option<'a>(rest: &'a [Bytes], raw: &mut RawMeta<'a>) -> Option<usize> {
    let opt = rest.first()?;
    if args::is(opt, "priority") {
        raw.priority = Some(rest.get(1)?);
        Some(2)
    } else if args::is(opt, "cost") {
        raw.cost = Some(rest.get(1)?);
        Some(2)
    } else if args::is(opt, "tags") {
        let count = args::int(rest.get(1)?).ok()?;
        let count = usize::try_from(count).ok().filter(|&n| n >= 1)?;
        let end = count.checked_add(2)?;
        raw.tags = Some(rest.get(2..end)?);
        Some(end)
    } else if args::is(opt, "keepmeta") {
        raw.keep = true;
        Some(1)
    } else if args::is(opt, "fill") {
        raw.fill = true;
        Some(1)
    } else if args::is(opt, "compress") {
        raw.compress = Some(rest.get(1)?);
        Some(2)
    } else {
        None
    }
}

/// Tags in the order given, each once: the tag index (to come) registers a key once per tag.
fn dedup_tags(tags: &[Bytes]) -> TagList {
    let mut seen = HashSet::with_capacity(tags.len());
    tags.iter()
        .filter(|tag| seen.insert(&tag[..]))
        .map(|tag| Name::new(tag))
        .collect()
}

fn parse_cost(arg: &[u8]) -> Result<u32, CmdError> {
    u32::try_from(args::int(arg)?).map_err(|_| CmdError::NotInteger)
}

fn cache_set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut raw = RawMeta::default();
    let opts = parse_set_options_with(args, true, |rest| parse_meta_option(rest, &mut raw))?;
    let expire_at = match opts.expire {
        Some((kind, arg)) => expire_at(kind, arg, ctx.now_ms, "cache.set")?,
        None => 0,
    };
    let meta = MetaRequest {
        priority: match raw.priority {
            Some(name) => Some(Priority::parse(name).ok_or(CmdError::InvalidPriority)?),
            None => None,
        },
        cost: raw.cost.map(parse_cost).transpose()?,
        tags: raw.tags.map(dedup_tags),
        keep: raw.keep,
        compress: match raw.compress {
            Some(name) => Some(Level::parse(name).ok_or(CmdError::InvalidCompression)?),
            None => None,
        },
    };
    let req = SetRequest {
        key: &args[1],
        value: &args[2],
        nx: opts.nx,
        xx: opts.xx,
        get: opts.get,
        keepttl: opts.keepttl,
        ifeq: opts.ifeq,
        expire_at,
        meta: Some(&meta),
    };
    // A fill copies the source of truth after a miss: the peers' copies, if any, are as fresh, and
    // publishing it would make daemons filling the same key invalidate each other in turn.
    let done = if raw.fill {
        crate::state::coherence::as_remote(|| set_generic(ctx, &req))?
    } else {
        set_generic(ctx, &req)?
    };
    match (opts.get, done) {
        (true, _) => {}
        (false, true) => ctx.out.ok(),
        (false, false) => ctx.out.null(),
    }
    Ok(())
}

/// A peek, not a read: inspecting a key must not make it look used to the eviction policy.
fn cache_inspect(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (out, now) = (&mut *ctx.out, ctx.now_ms);
    let settings = ctx.server.keyspace.eviction_settings();
    let key = &args[1][..];
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, now, |view, hash| {
            let Some(entry) = view.peek(hash, key) else {
                out.null();
                return Ok(());
            };
            let ttl = if entry.has_expiry() {
                entry.expire_at().saturating_sub(now) as i64
            } else {
                -1
            };
            out.map(10);
            out.bulk(b"priority");
            out.bulk(entry.priority().name().as_bytes());
            out.bulk(b"cost");
            out.int(entry.cost() as i64);
            out.bulk(b"size");
            out.int(entry.memory() as i64);
            out.bulk(b"tags");
            out.bulks(entry.tags().iter().map(|t| &t[..]));
            out.bulk(b"depends_on");
            out.bulks(entry.parents().iter().map(|t| &t[..]));
            out.bulk(b"ttl");
            out.int(ttl);
            out.bulk(b"frequency");
            out.int(lfu_decayed(entry, &settings, now) as i64);
            out.bulk(b"idle");
            out.int(idle_seconds(entry.lru(), now) as i64);
            out.bulk(b"type");
            out.bulk(entry.type_name().as_bytes());
            out.bulk(b"encoding");
            out.bulk(entry.encoding().as_bytes());
            Ok(())
        })
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

    fn parse(items: &[&str]) -> Option<(usize, bool, Vec<Vec<u8>>)> {
        let args = argv(items);
        let mut raw = RawMeta::default();
        let used = parse_meta_option(&args, &mut raw)?;
        let tags = raw.tags.unwrap_or(&[]).iter().map(|t| t.to_vec()).collect();
        Some((used, raw.keep, tags))
    }

    #[test]
    fn meta_options_take_exactly_their_arguments() {
        assert_eq!(
            parse(&["TAGS", "2", "a", "b", "nx"]),
            Some((4, false, vec![b"a".to_vec(), b"b".to_vec()]))
        );
        assert_eq!(parse(&["keepmeta"]), Some((1, true, vec![])));
        assert_eq!(parse(&["priority", "bogus"]).map(|p| p.0), Some(2));
        for bad in [
            &["tags", "0"][..],
            &["tags", "-1", "a"],
            &["tags", "3", "a", "b"],
            &["tags", "x", "a"],
            &["tags", "9223372036854775807", "a"],
            &["tags"],
            &["cost"],
            &["priority"],
            &["keepttl"],
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn explicit_options_win_over_kept_metadata() {
        let old = CacheMeta {
            priority: Priority::High,
            cost: 9,
            tags: Some(vec![Name::new(b"t")].into_boxed_slice()),
        };
        let keep = MetaRequest {
            cost: Some(3),
            keep: true,
            ..MetaRequest::default()
        };
        let meta = keep.resolve(Some(old.clone()));
        assert_eq!(
            (meta.priority, meta.cost, meta.tags),
            (Priority::High, 3, old.tags.clone())
        );
        let fresh = MetaRequest {
            cost: Some(3),
            ..MetaRequest::default()
        };
        assert_eq!(
            fresh.resolve(Some(old)),
            CacheMeta {
                cost: 3,
                ..CacheMeta::default()
            }
        );
        assert_eq!(parse_cost(b"4294967295"), Ok(u32::MAX));
        assert_eq!(parse_cost(b"4294967296"), Err(CmdError::NotInteger));
        assert_eq!(parse_cost(b"-1"), Err(CmdError::NotInteger));
        assert_eq!(
            &*dedup_tags(&argv(&["a", "b", "a"])),
            &[Name::new(b"a"), Name::new(b"b")]
        );
    }
}
