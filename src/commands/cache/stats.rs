//! Cache analytics: `CACHE.STATS [RESET]` (hit ratio overall and per configured key prefix, keys,
//! memory, evictions, expirations) and `CACHE.TOPKEYS n` (the most read keys, from the per-shard
//! Space-Saving sketch of `engine::analytics`, never a keyspace scan).
//!
//! CACHE.STATS builds its reply as a list of fields before writing it, so other statistics (the
//! per-tag figures, in `append_tag_fields`) are appended without touching the rest.

use bytes::Bytes;

use crate::commands::{args, CommandSpec, Ctx, SPEC};
use crate::engine::analytics::TOP_KEYS_PER_SHARD;
use crate::error::{CmdError, CmdResult};
use crate::protocol::ReplyBuf;

const ANALYTICS: CommandSpec = CommandSpec {
    group: "cachet",
    since: "0.1.0",
    ..SPEC
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "cache.stats",
        arity: -1,
        flags: flags!(LOADING, STALE),
        acl_categories: acl!(SLOW, CACHE),
        summary: "Returns the cache's hit ratio overall and per configured key prefix, keys, memory, evictions and expirations; RESET zeroes the counters.",
        complexity: "O(S + P) for S shards and P configured prefixes.",
        handler: Some(cache_stats),
        ..ANALYTICS
    },
    CommandSpec {
        name: "cache.topkeys",
        arity: 2,
        flags: flags!(READONLY, LOADING, STALE),
        acl_categories: acl!(KEYSPACE, READ, SLOW, CACHE),
        summary: "Returns the most read keys of the current database with their estimated reads, the most read first.",
        complexity: "O(S*K*log(S*K)) for S shards tracking K keys each.",
        handler: Some(cache_topkeys),
        ..ANALYTICS
    },
];

/// What CACHE.STATS was asked for.
#[derive(Debug, Default, PartialEq)]
pub struct StatsRequest {
    pub reset: bool,
    /// The tags after `TAGS`, whose figures `append_tag_fields` reports.
    pub tags: Vec<Bytes>,
}

/// `CACHE.STATS [RESET | TAGS tag [tag ...]]`. Options are read in a loop so that more can be
/// added beside these; RESET stands alone.
pub fn parse_stats_request(args: &[Bytes]) -> Result<StatsRequest, CmdError> {
    let mut request = StatsRequest::default();
    let mut rest = args.get(1..).unwrap_or_default();
    while let Some((option, after)) = rest.split_first() {
        if args::is(option, "RESET") && args.len() == 2 {
            request.reset = true;
            rest = after;
        } else if args::is(option, "TAGS") && !after.is_empty() {
            request.tags = after.to_vec();
            rest = &[];
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(request)
}

/// One value of the CACHE.STATS reply.
pub enum Stat {
    Int(u64),
    /// A double (RESP3 `,`, a bulk string in RESP2, formatted as Redis formats doubles).
    Double(f64),
    Map(Vec<(Vec<u8>, Stat)>),
}

pub type Fields = Vec<(Vec<u8>, Stat)>;

fn write_stat(out: &mut ReplyBuf, stat: &Stat) {
    match stat {
        Stat::Int(n) => out.int(i64::try_from(*n).unwrap_or(i64::MAX)),
        Stat::Double(x) => out.double(*x),
        Stat::Map(fields) => write_fields(out, fields),
    }
}

fn write_fields(out: &mut ReplyBuf, fields: &[(Vec<u8>, Stat)]) {
    out.map(fields.len());
    for (name, value) in fields {
        out.bulk(name);
        write_stat(out, value);
    }
}

fn field(name: &str, value: Stat) -> (Vec<u8>, Stat) {
    (name.as_bytes().to_vec(), value)
}

/// hits / (hits + misses), 0 before any read.
pub fn hit_ratio(hits: u64, misses: u64) -> f64 {
    let lookups = hits + misses;
    if lookups == 0 {
        0.0
    } else {
        hits as f64 / lookups as f64
    }
}

fn hits_misses(hits: u64, misses: u64) -> [(Vec<u8>, Stat); 3] {
    [
        field("hits", Stat::Int(hits)),
        field("misses", Stat::Int(misses)),
        field("hit_ratio", Stat::Double(hit_ratio(hits, misses))),
    ]
}

fn cache_stats(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let request = parse_stats_request(args)?;
    let keyspace = &ctx.server.keyspace;
    if request.reset {
        keyspace.reset_stats();
        keyspace.reset_eviction_stats();
        keyspace.reset_analytics();
        keyspace.reset_region_stats();
        ctx.out.ok();
        return Ok(());
    }
    let stats = keyspace.stats();
    let mut fields: Fields = hits_misses(stats.hits, stats.misses).into();
    fields.extend([
        field(
            "keys",
            Stat::Int(
                keyspace
                    .totals
                    .keys
                    .load(std::sync::atomic::Ordering::Relaxed) as u64,
            ),
        ),
        field("used_memory", Stat::Int(ctx.server.used_memory())),
        field(
            "evicted_keys",
            Stat::Int(
                keyspace
                    .evictions
                    .evicted_keys
                    .load(std::sync::atomic::Ordering::Relaxed),
            ),
        ),
        field("expired_keys", Stat::Int(stats.expired)),
    ]);
    let prefixes = keyspace
        .prefix_stats()
        .into_iter()
        .map(|c| {
            (
                c.prefix.into_vec(),
                Stat::Map(hits_misses(c.hits, c.misses).into()),
            )
        })
        .collect();
    fields.push(field("prefixes", Stat::Map(prefixes)));
    let regions = keyspace
        .region_reports()
        .into_iter()
        .map(|r| {
            let mut figures: Fields = hits_misses(r.hits, r.misses).into();
            figures.extend([
                field("keys", Stat::Int(r.keys as u64)),
                field("used_memory", Stat::Int(r.bytes as u64)),
                field("maxmemory", Stat::Int(r.spec.maxmemory as u64)),
                field("maxmemory_keys", Stat::Int(r.spec.maxmemory_keys as u64)),
                field("evicted_keys", Stat::Int(r.evicted_keys)),
                field("evicted_bytes", Stat::Int(r.evicted_bytes)),
            ]);
            (r.spec.name.into_bytes(), Stat::Map(figures))
        })
        .collect();
    fields.push(field("regions", Stat::Map(regions)));
    fields.push(field(
        "compression_dictionaries",
        dictionary_fields(keyspace),
    ));
    append_tag_fields(ctx, &request, &mut fields)?;
    write_fields(ctx.out, &fields);
    Ok(())
}

/// The compression dictionaries: how many, their memory (samples included), and per prefix
/// followed whether new writes use one, with what ratio.
fn dictionary_fields(keyspace: &crate::engine::Keyspace) -> Stat {
    let dictionaries = &keyspace.dictionaries;
    let totals = dictionaries.totals();
    let prefixes = dictionaries
        .reports()
        .into_iter()
        .map(|r| {
            let (_, values, ratio) = r.current.unwrap_or_default();
            let figures = vec![
                field("dictionaries", Stat::Int(r.dictionaries as u64)),
                field("in_use", Stat::Int(u64::from(r.current.is_some()))),
                field("values", Stat::Int(values)),
                field("ratio", Stat::Double(ratio)),
                field("samples", Stat::Int(r.samples as u64)),
            ];
            (r.prefix.into_vec(), Stat::Map(figures))
        })
        .collect();
    Stat::Map(vec![
        field("dictionaries", Stat::Int(totals.dictionaries as u64)),
        field("memory", Stat::Int(dictionaries.memory() as u64)),
        field("prefixes", Stat::Map(prefixes)),
    ])
}

/// Tags listed under `top_tags`, the largest by bytes.
const TOP_TAGS: usize = 10;

/// Appends the tag figures: `top_tags` (the largest tags of the client's database by the bytes
/// of their entries) and, with `TAGS`, `tags` for the ones named. Each tag reports its keys, the
/// bytes of those entries and the reads that hit them; a miss has no entry, so no tags to charge,
/// and per-tag misses are not counted (key prefixes are: `stats-prefixes`).
fn append_tag_fields(ctx: &Ctx<'_>, request: &StatsRequest, fields: &mut Fields) -> CmdResult {
    let keyspace = &ctx.server.keyspace;
    let db = ctx.client.db;
    let tag_fields = |(name, stats): (Box<[u8]>, crate::engine::TagStats)| {
        let figures = vec![
            field("keys", Stat::Int(stats.keys as u64)),
            field("bytes", Stat::Int(stats.bytes as u64)),
            field("hits", Stat::Int(stats.hits)),
        ];
        (name.into_vec(), Stat::Map(figures))
    };
    let mut all = keyspace.tag_stats(db, None);
    all.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then_with(|| a.0.cmp(&b.0)));
    all.truncate(TOP_TAGS);
    fields.push(field(
        "top_tags",
        Stat::Map(all.into_iter().map(tag_fields).collect()),
    ));
    if !request.tags.is_empty() {
        let names: Vec<&[u8]> = request.tags.iter().map(|t| &t[..]).collect();
        let named = keyspace.tag_stats(db, Some(&names));
        fields.push(field(
            "tags",
            Stat::Map(named.into_iter().map(tag_fields).collect()),
        ));
    }
    Ok(())
}

/// `CACHE.TOPKEYS n`: an array of [key, estimated reads] pairs, the most read first, in both
/// protocols (pairs keep the rank order that a RESP3 map, read into a hash by most clients,
/// would lose). At most what the sketches track; keys deleted or expired since are left out.
fn cache_topkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = args::int(&args[1])?;
    if n < 0 {
        return Err(CmdError::NotPositive);
    }
    let keyspace = &ctx.server.keyspace;
    let tracked = keyspace.shard_count() * TOP_KEYS_PER_SHARD;
    let n = usize::try_from(n).unwrap_or(usize::MAX).min(tracked);
    let top = keyspace.top_keys(ctx.client.db, ctx.now_ms, n);
    ctx.out.array(top.len());
    for (key, reads) in &top {
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.int(i64::try_from(*reads).unwrap_or(i64::MAX));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(words: &[&str]) -> Result<StatsRequest, CmdError> {
        let args: Vec<Bytes> = std::iter::once("cache.stats")
            .chain(words.iter().copied())
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        parse_stats_request(&args)
    }

    #[test]
    fn options() {
        assert_eq!(request(&[]).unwrap(), StatsRequest::default());
        assert!(request(&["reset"]).unwrap().reset);
        assert_eq!(request(&["TAGS", "a", "b"]).unwrap().tags.len(), 2);
        assert!(matches!(request(&["TAGS"]), Err(CmdError::Syntax)));
        assert!(matches!(
            request(&["RESET", "RESET"]),
            Err(CmdError::Syntax)
        ));
        assert!(matches!(
            request(&["RESET", "TAGS", "a"]),
            Err(CmdError::Syntax)
        ));
        assert!(matches!(request(&["nosuch"]), Err(CmdError::Syntax)));
    }

    #[test]
    fn ratio() {
        assert_eq!(hit_ratio(0, 0), 0.0);
        assert_eq!(hit_ratio(3, 1), 0.75);
    }
}
