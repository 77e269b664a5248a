//! Group invalidation: tags (`TAG.*`, `CACHE.TAGS`, `CACHE.SETTAGS`), glob patterns
//! (`CACHE.INVALIDATE`) and dependencies (`CACHE.DEPEND`). The engine side is in
//! `engine::labels` and `engine::invalidate`.
//!
//! Replies: TAG.INVALIDATE and CACHE.INVALIDATE answer how many keys they removed; TAG.KEYS the
//! keys carrying a tag; TAG.SCAN `[cursor, keys]` as SCAN (with MATCH and COUNT); TAG.CARD a count; TAG.LIST a map of
//! tag → key count (a flat array in RESP2); CACHE.TAGS the key's tags (empty for a missing key);
//! CACHE.SETTAGS the number of tags the key carries afterwards, CACHE.DEPEND the number of parents
//! it depends on afterwards (both nil for a missing key).

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::commands::cluster::invalidate::{everywhere as cluster_wide, What};
use crate::commands::keys::scan::{parse_cursor, parse_scan_options, ScanOf, ScanOptions};
use crate::commands::{args, CommandSpec, Ctx, SPEC};
use crate::engine::glob::glob_match;
use crate::engine::labels::{LabelKind, Name};
use crate::error::{CmdError, CmdResult};
use crate::state::acl::check;
use crate::state::acl::log::Reason;

const TAG: CommandSpec = CommandSpec {
    group: "cachet",
    since: "0.1.0",
    ..SPEC
};

const KEYED: CommandSpec = CommandSpec {
    first_key: 1,
    last_key: 1,
    key_step: 1,
    ..TAG
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "tag.invalidate",
        arity: -2,
        flags: flags!(WRITE),
        acl_categories: acl!(WRITE, KEYSPACE, FAST, CACHE),
        summary: "Removes every key carrying any of the tags, atomically; memory is freed in the background.",
        complexity: "O(shards) per tag; the keys are deleted in the background.",
        handler: Some(tag_invalidate),
        ..TAG
    },
    CommandSpec {
        name: "tag.keys",
        arity: 2,
        flags: flags!(READONLY),
        acl_categories: acl!(READ, KEYSPACE, SLOW, CACHE),
        summary: "Returns every key carrying the tag.",
        complexity: "O(N) with N the number of keys carrying the tag.",
        handler: Some(tag_keys),
        ..TAG
    },
    CommandSpec {
        name: "tag.scan",
        arity: -3,
        flags: flags!(READONLY),
        acl_categories: acl!(READ, KEYSPACE, SLOW, CACHE),
        summary: "Iterates over the keys carrying the tag, as SCAN does over the keyspace.",
        complexity: "O(1) for every call. O(N) for a complete iteration.",
        handler: Some(tag_scan),
        ..TAG
    },
    CommandSpec {
        name: "tag.card",
        arity: 2,
        flags: flags!(READONLY, FAST),
        acl_categories: acl!(READ, KEYSPACE, FAST, CACHE),
        summary: "Returns the number of keys carrying the tag.",
        complexity: "O(shards)",
        handler: Some(tag_card),
        ..TAG
    },
    CommandSpec {
        name: "tag.list",
        arity: -1,
        flags: flags!(READONLY),
        acl_categories: acl!(READ, KEYSPACE, SLOW, CACHE),
        summary: "Returns every tag in use (optionally those matching a pattern) with its number of keys.",
        complexity: "O(T) with T the number of tags.",
        handler: Some(tag_list),
        ..TAG
    },
    CommandSpec {
        name: "cache.tags",
        arity: 2,
        flags: flags!(READONLY, FAST),
        acl_categories: acl!(READ, KEYSPACE, FAST, CACHE),
        summary: "Returns the tags of a key.",
        complexity: "O(N) for N tags.",
        handler: Some(cache_tags),
        ..KEYED
    },
    CommandSpec {
        name: "cache.settags",
        arity: -3,
        flags: flags!(WRITE, DENYOOM),
        acl_categories: acl!(WRITE, KEYSPACE, FAST, CACHE),
        summary: "Replaces the tags of a key, or adds (ADD) or removes (REMOVE) some.",
        complexity: "O(N) for N tags.",
        handler: Some(cache_settags),
        ..KEYED
    },
    CommandSpec {
        name: "cache.depend",
        arity: -3,
        flags: flags!(WRITE, DENYOOM),
        acl_categories: acl!(WRITE, KEYSPACE, FAST, CACHE),
        summary: "Makes a key depend on parent keys: it is invalidated when any of them is overwritten, deleted, expired, evicted or invalidated.",
        complexity: "O(N) for N parents.",
        handler: Some(cache_depend),
        ..KEYED
    },
    CommandSpec {
        name: "cache.invalidate",
        arity: 2,
        flags: flags!(WRITE),
        acl_categories: acl!(WRITE, KEYSPACE, SLOW, CACHE),
        summary: "Removes every key matching a glob pattern, a batch at a time.",
        complexity: "O(N) with N the number of keys in the database.",
        handler: Some(cache_invalidate),
        ..TAG
    },
];

/// TAG.INVALIDATE and CACHE.INVALIDATE reach keys no argument names: a user who may not write
/// every key is refused (as Redis refuses SORT BY to a user who may not read every key), rather
/// than given a removal that silently skips some keys.
fn may_write_any_key(ctx: &Ctx<'_>, args: &[Bytes], name: &str) -> CmdResult {
    let user = &ctx.client.user;
    if user.unrestricted() {
        return Ok(());
    }
    let spec = crate::commands::lookup(name.as_bytes()).expect("in the table");
    let index = crate::commands::acl::command_index();
    if check::unrestricted_key_access(user, index, spec, crate::state::acl::KEY_WRITE) {
        return Ok(());
    }
    crate::commands::acl::log_refusal(
        ctx,
        Reason::Key,
        crate::commands::acl::context_of(ctx),
        Bytes::copy_from_slice(&args[1]),
        user.name.clone(),
        args,
    );
    Err(CmdError::NoPermKey)
}

/// TAG.KEYS and TAG.SCAN list only the keys the user may read.
fn readable(ctx: &Ctx<'_>, key: &[u8]) -> bool {
    let user = &ctx.client.user;
    user.unrestricted() || check::key_ok(user, key, crate::state::acl::KEY_READ)
}

fn tag_invalidate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    may_write_any_key(ctx, args, "tag.invalidate")?;
    let tags: Vec<&[u8]> = args[1..].iter().map(|t| &t[..]).collect();
    let removed = ctx
        .server
        .keyspace
        .invalidate_labels(ctx.client.db, LabelKind::Tag, &tags);
    if let Some(total) = cluster_wide(ctx, What::Tags(&args[1..]), removed)? {
        ctx.out.int(total);
    }
    Ok(())
}

fn tag_keys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let tag = (LabelKind::Tag, &args[1][..]);
    let (db, now) = (ctx.client.db, ctx.now_ms);
    ctx.server
        .keyspace
        .label_keys(db, tag, 0, usize::MAX, now, |e| keys.push(e.key().to_vec()));
    keys.retain(|key| readable(ctx, key));
    ctx.out.bulks(keys.iter().map(|k| k.as_slice()));
    Ok(())
}

/// Bits of a TAG.SCAN cursor below the bucket: the log2 of the set's buckets when it was made,
/// so that a cursor into a set laid out anew since starts over rather than skip keys.
const SIZE_BITS: u32 = 6;

/// `TAG.SCAN tag cursor [MATCH pattern] [COUNT n]`, with SCAN's cursor and guarantees.
fn tag_scan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let tag = (LabelKind::Tag, &args[1][..]);
    let cursor = parse_cursor(&args[2]).ok_or(CmdError::InvalidCursor)?;
    let ScanOptions { count, pattern, .. } = parse_scan_options(args, 3, ScanOf::Other)?;
    let keyspace = &ctx.server.keyspace;
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let size_log2 = |buckets: usize| u64::from(buckets.max(1).trailing_zeros());
    let buckets = keyspace
        .notices
        .labels
        .with(tag.0, db, tag.1, |label| label.buckets())
        .unwrap_or(0);
    let mut bucket = usize::try_from(cursor >> SIZE_BITS).unwrap_or(usize::MAX);
    if cursor & ((1 << SIZE_BITS) - 1) != size_log2(buckets) {
        bucket = 0;
    }
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let (buckets, next) = keyspace.label_keys(db, tag, bucket, count, now, |entry| {
        if pattern.is_none_or(|p| glob_match(p, entry.key(), false)) {
            keys.push(entry.key().to_vec())
        }
    });
    let next = next.map_or(0, |b| (b as u64) << SIZE_BITS | size_log2(buckets));
    keys.retain(|key| readable(ctx, key));
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.bulks(keys.iter().map(|k| k.as_slice()));
    Ok(())
}

fn tag_card(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let labels = &ctx.server.keyspace.notices.labels;
    let count = labels
        .with(LabelKind::Tag, ctx.client.db, &args[1], |label| label.len())
        .unwrap_or(0);
    ctx.out.int(count as i64);
    Ok(())
}

/// `TAG.LIST [MATCH pattern]`: tags in byte order with their key counts.
fn tag_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let pattern = match &args[1..] {
        [] => None,
        [option, pattern] if args::is(option, "match") => Some(&pattern[..]),
        _ => return Err(CmdError::Syntax),
    };
    let mut counts: BTreeMap<Box<[u8]>, usize> = BTreeMap::new();
    let labels = &ctx.server.keyspace.notices.labels;
    labels.for_each(LabelKind::Tag, ctx.client.db, |label| {
        if !label.is_empty() && pattern.is_none_or(|p| glob_match(p, &label.name, false)) {
            counts.insert((*label.name).into(), label.len());
        }
    });
    ctx.out.map(counts.len());
    for (tag, count) in counts {
        ctx.out.bulk(&tag);
        ctx.out.int(count as i64);
    }
    Ok(())
}

fn cache_tags(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1][..];
    let tags = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            view.peek(hash, key).map(|e| e.tags().to_vec())
        })
        .unwrap_or_default();
    ctx.out.bulks(tags.iter().map(|t| &t[..]));
    Ok(())
}

/// The names in the order given, each once.
fn distinct(names: &[Bytes]) -> Vec<Name> {
    let mut out: Vec<Name> = Vec::with_capacity(names.len());
    for name in names {
        if !out.iter().any(|n| **n == name[..]) {
            out.push(Name::new(name));
        }
    }
    out
}

/// Replaces, extends or trims a key's labels; replies the count it carries afterwards, or nil.
fn update_labels(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    kind: LabelKind,
    change: impl FnOnce(Vec<Name>) -> Vec<Name>,
) -> CmdResult {
    let carried = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            let current = view.peek(hash, key).map(|e| match kind {
                LabelKind::Tag => e.tags().to_vec(),
                LabelKind::Parent => e.parents().to_vec(),
            })?;
            let names = change(current);
            let count = names.len();
            view.set_labels(hash, key, kind, names.into_boxed_slice())?;
            Some(count)
        });
    match carried {
        Some(count) => ctx.out.int(count as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

/// `CACHE.SETTAGS key [ADD|REMOVE] tag [tag ...]`: without ADD or REMOVE the tags are replaced.
fn cache_settags(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enum Mode {
        Replace,
        Add,
        Remove,
    }
    let (mode, names) = if args::is(&args[2], "add") {
        (Mode::Add, &args[3..])
    } else if args::is(&args[2], "remove") {
        (Mode::Remove, &args[3..])
    } else {
        (Mode::Replace, &args[2..])
    };
    if names.is_empty() {
        return Err(CmdError::WrongArity("cache.settags".into()));
    }
    let names = distinct(names);
    update_labels(ctx, &args[1], LabelKind::Tag, |mut current| match mode {
        Mode::Replace => names,
        Mode::Add => {
            for name in names {
                if !current.contains(&name) {
                    current.push(name);
                }
            }
            current
        }
        Mode::Remove => {
            current.retain(|tag| !names.contains(tag));
            current
        }
    })
}

/// `CACHE.DEPEND key parent [parent ...]`: adds parents; a key cannot depend on itself.
fn cache_depend(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if args[2..].iter().any(|parent| parent == key) {
        return Err(CmdError::DependsOnItself);
    }
    let parents = distinct(&args[2..]);
    update_labels(ctx, key, LabelKind::Parent, |mut current| {
        for parent in parents {
            if !current.contains(&parent) {
                current.push(parent);
            }
        }
        current
    })
}

fn cache_invalidate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    may_write_any_key(ctx, args, "cache.invalidate")?;
    let (keyspace, db) = (&ctx.server.keyspace, ctx.client.db);
    // Long, but never holding a shard for more than a batch: on a multi-threaded runtime, let it
    // move this worker's other connections elsewhere meanwhile.
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    let invalidate = || keyspace.invalidate_pattern(db, &args[1]);
    let removed = if multi_thread {
        tokio::task::block_in_place(invalidate)
    } else {
        invalidate()
    };
    if let Some(total) = cluster_wide(ctx, What::Pattern(&args[1]), removed)? {
        ctx.out.int(total);
    }
    Ok(())
}
