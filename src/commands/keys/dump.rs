//! DUMP and RESTORE: a value as Redis's serialization (`engine::dump`), so keys move between
//! redis-server and cachet with the tools operators already use (redis-cli --rdb aside, MIGRATE-
//! style scripts, redis-dump-go...).

use bytes::Bytes;

use super::super::{args, hash, list, zset, Ctx};
use crate::engine::dump::{self, RestoreLimits, Restored};
use crate::engine::notice::class;
use crate::engine::{CacheMeta, Entry, Priority};
use crate::error::{CmdError, CmdResult};

pub fn dump_cmd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let fill = list::fill(ctx.server);
    let payload =
        ctx.server
            .keyspace
            .with_key(ctx.client.db, &args[1], ctx.now_ms, |view, hash| {
                // Redis 7.0's format has no field TTLs: a hash is dumped with the fields alive
                // now, their TTLs left out.
                view.reap_fields(hash, &args[1], usize::MAX);
                view.read(hash, &args[1])
                    .map(|entry| dump::dump(entry, fill))
            });
    match payload {
        Some(payload) => ctx.out.bulk(&payload),
        None => ctx.out.null(),
    }
    Ok(())
}

struct RestoreOptions {
    replace: bool,
    absttl: bool,
    idle_seconds: Option<u64>,
    freq: Option<u8>,
    /// cachet's own options (PRIORITY, COST, TAGS, as CACHE.SET's): the metadata a key had on
    /// the cachet it came from. MIGRATE sends them between the nodes of a cachet cluster.
    meta: Option<CacheMeta>,
}

/// Redis's order of checks: options, then an existing key, then the TTL, then the payload.
fn parse_options(args: &[Bytes]) -> Result<RestoreOptions, CmdError> {
    let mut options = RestoreOptions {
        replace: false,
        absttl: false,
        idle_seconds: None,
        freq: None,
        meta: None,
    };
    let mut i = 4;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if args::is(&args[i], "replace") {
            options.replace = true;
        } else if args::is(&args[i], "absttl") {
            options.absttl = true;
        } else if args::is(&args[i], "idletime") && has_value && options.freq.is_none() {
            let idle = args::int(&args[i + 1])?;
            if idle < 0 {
                return Err(CmdError::InvalidIdletime);
            }
            options.idle_seconds = Some(idle as u64);
            i += 1;
        } else if args::is(&args[i], "freq") && has_value && options.idle_seconds.is_none() {
            let freq = args::int(&args[i + 1])?;
            options.freq = Some(u8::try_from(freq).map_err(|_| CmdError::InvalidFreq)?);
            i += 1;
        } else if args::is(&args[i], "priority") && has_value {
            let priority = Priority::parse(&args[i + 1]).ok_or(CmdError::InvalidPriority)?;
            options.meta.get_or_insert_with(CacheMeta::default).priority = priority;
            i += 1;
        } else if args::is(&args[i], "cost") && has_value {
            let cost = u32::try_from(args::int(&args[i + 1])?).map_err(|_| CmdError::NotInteger)?;
            options.meta.get_or_insert_with(CacheMeta::default).cost = cost;
            i += 1;
        } else if args::is(&args[i], "tags") && has_value {
            let count = args::int(&args[i + 1])?;
            let tags = usize::try_from(count)
                .ok()
                .filter(|&n| n >= 1)
                .and_then(|n| args.get(i + 2..i + 2 + n))
                .ok_or(CmdError::Syntax)?;
            let mut seen = std::collections::HashSet::with_capacity(tags.len());
            let tags = tags
                .iter()
                .filter(|tag| seen.insert(&tag[..]))
                .map(|tag| crate::engine::Name::new(tag))
                .collect();
            options.meta.get_or_insert_with(CacheMeta::default).tags = Some(tags);
            i += 1 + count as usize;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(options)
}

pub fn restore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let options = parse_options(args)?;
    let key = &args[1];
    let limits = RestoreLimits {
        hash: hash::limits(ctx),
        zset: zset::limits(ctx),
        max_intset_entries: ctx.server.config.read().set_max_intset_entries,
    };
    let policy = ctx.server.keyspace.eviction_settings().policy;
    let now = ctx.now_ms;
    ctx.server
        .keyspace
        .with_key(ctx.client.db, key, now, |view, hash| {
            if !options.replace && view.contains(hash, key) {
                return Err(CmdError::BusyKey);
            }
            let ttl = args::int(&args[2])?;
            if ttl < 0 {
                return Err(CmdError::InvalidTtl);
            }
            let body = dump::verify(&args[3]).map_err(|_| CmdError::DumpPayloadWrong)?;
            let restored = dump::restore(body, limits).map_err(|_| CmdError::BadDataFormat)?;
            let replaced = options.replace && view.remove(hash, key).is_some();
            let expire_at = match ttl {
                0 => 0,
                ttl if options.absttl => ttl as u64,
                ttl => (ttl as u64).saturating_add(now),
            };
            if expire_at != 0 && expire_at <= now {
                // Already expired: nothing is stored, and a replaced key is gone.
                if replaced {
                    view.notify(key, class::GENERIC, "del");
                }
                return Ok(());
            }
            let mut entry = match restored {
                Restored::String(bytes) => Entry::new_string(key, &bytes, 0),
                Restored::Collection(collection) => Entry::new_collection(key, collection, 0),
            };
            entry.set_expire_at(expire_at);
            if let Some(meta) = options.meta.clone() {
                entry.set_meta(meta);
            }
            view.insert(hash, entry);
            view.modify(hash, key, |entry| {
                dump::set_lru_or_lfu(entry, policy, options.idle_seconds, options.freq, now)
            });
            view.notify(key, class::GENERIC, "restore");
            Ok(())
        })?;
    ctx.out.ok();
    Ok(())
}
