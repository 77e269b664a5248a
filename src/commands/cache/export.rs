//! `CACHE.EXPORT cursor [MATCH pattern] [COUNT n] [TYPE type] [DB n]`: keys as JSON lines
//! (`engine::export`), a page at a time with SCAN's cursor and guarantees, so a large keyspace is
//! never one giant reply: the reply is `[next cursor, [line, ...]]`, each line one key with its
//! value, TTL and cache metadata.
//!
//! `CACHE.EXPORTKEY key`: one key's line (nil when absent), without touching it.
//!
//! `CACHE.IMPORT key line [REPLACE]`: one line back, whatever its type, metadata included; the
//! key is an argument (as RESTORE's) so ACL key rules, cluster routing and coherence see it, and
//! must be the line's. The line is checked whole before anything is stored: a bad one changes
//! nothing. Creating a key leaves the keys that depend on it alone (a file's dependents were
//! exported with their parents, in whatever order the lines come); replacing one invalidates them
//! as any write does. Without REPLACE an existing key is `BUSYKEY`, as RESTORE. Replies 1 when stored, 0
//! when the line's `expire_at` has already passed (nothing stored, as RESTORE with a past ABSTTL).

use bytes::Bytes;

use super::super::keys::parse_db;
use super::super::keys::scan::{parse_cursor, walk_shards_of};
use crate::commands::{args, CommandSpec, Ctx, SPEC};
use crate::engine::export::{export_line, import_line, Imported, Stored};
use crate::engine::glob::glob_match;
use crate::engine::hash_key;
use crate::error::{CmdError, CmdResult};
use crate::state::persistence::load_limits;

/// Keys visited per call when COUNT is not given: a page of lines, each possibly a whole
/// collection, so fewer than SCAN's keys.
const DEFAULT_COUNT: usize = 10;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "cache.export",
        arity: -2,
        flags: flags!(READONLY),
        acl_categories: acl!(KEYSPACE, READ, SLOW, CACHE),
        summary: "Iterates over the keys of a database as JSON lines: key, type, value, TTL, priority, cost, tags and parents.",
        complexity: "O(1) for every call. O(N) for a complete iteration, plus the size of the values returned.",
        handler: Some(cache_export),
        group: "cachet",
        since: "0.1.0",
        ..SPEC
    },
    CommandSpec {
        name: "cache.exportkey",
        arity: 2,
        flags: flags!(READONLY),
        acl_categories: acl!(KEYSPACE, READ, SLOW, CACHE),
        summary: "Returns one key as a CACHE.EXPORT JSON line, or nil; a peek that leaves the key's access time and frequency alone.",
        complexity: "O(N) for the N elements of the value.",
        handler: Some(cache_exportkey),
        group: "cachet",
        since: "0.1.0",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        ..SPEC
    },
    CommandSpec {
        name: "cache.import",
        arity: -3,
        flags: flags!(WRITE, DENYOOM),
        acl_categories: acl!(KEYSPACE, WRITE, SLOW, CACHE),
        summary: "Creates a key from one CACHE.EXPORT JSON line, its value, TTL and cache metadata included.",
        complexity: "O(N) for the N elements of the value.",
        handler: Some(cache_import),
        group: "cachet",
        since: "0.1.0",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        ..SPEC
    },
];

struct ExportOptions<'a> {
    count: usize,
    pattern: Option<&'a [u8]>,
    type_name: Option<&'a [u8]>,
    db: Option<&'a [u8]>,
}

fn parse_options(args: &[Bytes]) -> Result<ExportOptions<'_>, CmdError> {
    let mut options = ExportOptions {
        count: DEFAULT_COUNT,
        pattern: None,
        type_name: None,
        db: None,
    };
    let mut i = 2;
    while i < args.len() {
        let value = args.get(i + 1).ok_or(CmdError::Syntax)?;
        if args::is(&args[i], "count") {
            let n = args::int(value)?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            options.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if args::is(&args[i], "match") {
            options.pattern = Some(&value[..]).filter(|p| *p != b"*");
        } else if args::is(&args[i], "type") {
            options.type_name = Some(&value[..]);
        } else if args::is(&args[i], "db") {
            options.db = Some(&value[..]);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(options)
}

fn cache_export(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[1]).ok_or(CmdError::InvalidCursor)?;
    let options = parse_options(args)?;
    let db = match options.db {
        Some(arg) => parse_db(ctx, arg)?,
        None => ctx.client.db,
    };
    let now = ctx.now_ms;
    let mut lines: Vec<String> = Vec::new();
    let next = walk_shards_of(
        ctx,
        db,
        cursor,
        options.count,
        |view| view.table.map.num_buckets(),
        |view, bucket, remaining| {
            let mut visited = 0;
            let next = view.walk(bucket, remaining, |entry| {
                visited += 1;
                let wanted = options
                    .pattern
                    .is_none_or(|p| glob_match(p, entry.key(), false))
                    && options
                        .type_name
                        .is_none_or(|t| t.eq_ignore_ascii_case(entry.type_name().as_bytes()));
                if wanted {
                    let sketch = view.sketch.estimate(hash_key(entry.key())).min(255) as u8;
                    lines.push(export_line(entry, sketch, now));
                }
            });
            (visited, next)
        },
    );
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.bulks(lines.iter().map(|l| l.as_bytes()));
    Ok(())
}

/// A peek: CACHE.WARM asks the hottest keys of a source for their lines, which must not make
/// them look even hotter there.
fn cache_exportkey(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms;
    let key = &args[1][..];
    let line = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, now, |view, hash| {
            let sketch = view.sketch.estimate(hash).min(255) as u8;
            view.peek(hash, key)
                .map(|entry| export_line(entry, sketch, now))
        });
    match line {
        Some(line) => ctx.out.bulk(line.as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

fn cache_import(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let replace = match &args[3..] {
        [] => false,
        [flag] if args::is(flag, "replace") => true,
        _ => return Err(CmdError::Syntax),
    };
    let key = &args[1];
    let now = ctx.now_ms;
    let imported = import_line(&args[2], load_limits(ctx.server), now)
        .map_err(|reason| CmdError::ImportLine(reason.into()))?;
    let line_key = match &imported {
        Imported::Entry(entry, _) => entry.key(),
        Imported::Expired(key) => key,
    };
    if line_key != &key[..] {
        return Err(CmdError::ImportKeyMismatch);
    }
    let stored = match ctx
        .server
        .keyspace
        .store_imported(ctx.client.db, imported, replace, now)
    {
        Stored::Exists => return Err(CmdError::BusyKey),
        Stored::Created | Stored::Replaced => true,
        Stored::Expired => false,
    };
    ctx.out.int(stored as i64);
    Ok(())
}
