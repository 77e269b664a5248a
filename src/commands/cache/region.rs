//! `CACHE.REGION SET|DEL|LIST|INFO`: the regions (`engine::region`) changed and read at run
//! time. SET and DEL replace the keyspace's table of regions, which recounts every key into
//! its region with all shards held (O(keys), at the command; the figures stay exact); a budget
//! lowered below what a region holds is brought back by the cron in small steps, and by the
//! next write into the region at once. CONFIG REWRITE writes the regions in force back as
//! `region` lines.

use bytes::Bytes;

use super::stats::hit_ratio;
use crate::commands::{reply_help, CommandSpec, Ctx, SPEC};
use crate::engine::region::{self, RegionReport, RegionSpec};
use crate::error::{CmdError, CmdResult};
use crate::protocol::ReplyBuf;
use crate::state::config::region as directive;

const CHANGE: CommandSpec = CommandSpec {
    flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE),
    acl_categories: acl!(ADMIN, SLOW, DANGEROUS, CACHE),
    group: "cachet",
    since: "0.1.0",
    ..SPEC
};

const READ: CommandSpec = CommandSpec {
    flags: flags!(LOADING, STALE),
    acl_categories: acl!(SLOW, CACHE),
    group: "cachet",
    since: "0.1.0",
    ..SPEC
};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "cache.region",
    arity: -2,
    acl_categories: acl!(SLOW, CACHE),
    group: "cachet",
    summary: "A container for the regions: key prefixes with their own memory budget, policy and default TTL",
    since: "0.1.0",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "set",
            arity: -5,
            summary: "Creates or replaces a region: PREFIX p [MAXMEMORY bytes] [MAXMEMORY-KEYS n] [POLICY p] [DEFAULT-TTL s] [PRIORITY p].",
            complexity: "O(N) with N the number of keys: each is counted into its region.",
            handler: Some(region_set),
            ..CHANGE
        },
        CommandSpec {
            name: "del",
            arity: 3,
            summary: "Removes a region; its keys stay, counted in no region (or in a shorter prefix's).",
            complexity: "O(N) with N the number of keys: each is counted into its region.",
            handler: Some(region_del),
            ..CHANGE
        },
        CommandSpec {
            name: "list",
            arity: 2,
            summary: "Lists the regions as the words of their `region` directive.",
            complexity: "O(R) with R the number of regions.",
            handler: Some(region_list),
            ..READ
        },
        CommandSpec {
            name: "info",
            arity: 3,
            summary: "Returns a region's settings, keys, memory, hits, misses and evictions.",
            complexity: "O(R) with R the number of regions.",
            handler: Some(region_info),
            ..READ
        },
        CommandSpec {
            name: "help",
            arity: 2,
            summary: "Returns helpful text about the different subcommands.",
            complexity: "O(1)",
            handler: Some(region_help),
            ..READ
        },
    ],
    ..SPEC
}];

fn specs(ctx: &Ctx<'_>) -> Vec<RegionSpec> {
    ctx.server
        .keyspace
        .region_reports()
        .into_iter()
        .map(|r| r.spec)
        .collect()
}

/// Installs `specs` if they fit together and under `maxmemory`.
fn install(ctx: &mut Ctx<'_>, specs: Vec<RegionSpec>) -> CmdResult {
    let maxmemory = ctx.server.config.read().maxmemory;
    region::check(&specs, maxmemory).map_err(|e| CmdError::InvalidRegion(e.into()))?;
    ctx.server.keyspace.set_regions(specs);
    ctx.out.ok();
    Ok(())
}

fn region_set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let words: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
    let spec = directive::parse(&words).map_err(|e| CmdError::InvalidRegion(e.into()))?;
    let mut all = specs(ctx);
    all.retain(|s| s.name != spec.name);
    all.push(spec);
    install(ctx, all)
}

fn region_del(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut all = specs(ctx);
    let before = all.len();
    all.retain(|s| s.name.as_bytes() != &args[2][..]);
    if all.len() == before {
        return Err(CmdError::NoSuchRegion);
    }
    install(ctx, all)
}

fn region_list(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let reports = ctx.server.keyspace.region_reports();
    ctx.out.array(reports.len());
    for report in reports {
        let words = directive::words(&report.spec);
        ctx.out.bulks(words.iter().map(Vec::as_slice));
    }
    Ok(())
}

fn region_info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let report = ctx
        .server
        .keyspace
        .region_reports()
        .into_iter()
        .find(|r| r.spec.name.as_bytes() == &args[2][..])
        .ok_or(CmdError::NoSuchRegion)?;
    write_report(ctx.out, &report);
    Ok(())
}

/// A region's settings and figures as a map (RESP2: a flat array), the shape of CACHE.STATS.
pub fn write_report(out: &mut ReplyBuf, report: &RegionReport) {
    let spec = &report.spec;
    out.map(15);
    out.bulk(b"name");
    out.bulk(spec.name.as_bytes());
    out.bulk(b"prefix");
    out.bulk(&spec.prefix);
    out.bulk(b"maxmemory");
    out.int(spec.maxmemory as i64);
    out.bulk(b"maxmemory_keys");
    out.int(spec.maxmemory_keys as i64);
    out.bulk(b"policy");
    out.bulk(spec.policy.name().as_bytes());
    out.bulk(b"default_ttl");
    out.int(spec.default_ttl as i64);
    out.bulk(b"priority");
    out.bulk(spec.priority.map_or("normal", |p| p.name()).as_bytes());
    out.bulk(b"keys");
    out.int(report.keys as i64);
    out.bulk(b"used_memory");
    out.int(report.bytes as i64);
    out.bulk(b"hits");
    out.int(report.hits as i64);
    out.bulk(b"misses");
    out.int(report.misses as i64);
    out.bulk(b"hit_ratio");
    out.double(hit_ratio(report.hits, report.misses));
    out.bulk(b"evicted_keys");
    out.int(report.evicted_keys as i64);
    out.bulk(b"evicted_bytes");
    out.int(report.evicted_bytes as i64);
    out.bulk(b"over_budget");
    out.int(i64::from(over(report)));
}

fn over(report: &RegionReport) -> bool {
    let spec = &report.spec;
    (spec.maxmemory > 0 && report.bytes > spec.maxmemory)
        || (spec.maxmemory_keys > 0 && report.keys > spec.maxmemory_keys)
}

fn region_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "CACHE.REGION",
        &[
            "SET <name> PREFIX <prefix> [MAXMEMORY <bytes>] [MAXMEMORY-KEYS <n>] [POLICY <policy>] [DEFAULT-TTL <seconds>] [PRIORITY <priority>]",
            "    Create or replace a region: keys starting with the prefix (the longest matching one wins).",
            "DEL <name>",
            "    Remove a region; its keys stay.",
            "LIST",
            "    The regions, as the words of their `region` directive.",
            "INFO <name>",
            "    A region's settings, keys, memory, hits, misses and evictions.",
        ],
    );
    Ok(())
}
