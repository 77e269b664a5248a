//! MEMORY STATS, DOCTOR, MALLOC-STATS and PURGE: where the memory goes, in Redis 7.0's fields and
//! words. The figures are the ones INFO memory reports (`used_memory` = startup + dataset), so the
//! two never disagree; what cachet does not have (replication, AOF, scripts) is 0.

use bytes::Bytes;

use super::super::Ctx;
use crate::engine::memory::{allocator_stats, table_size};
use crate::engine::Entry;
use crate::error::CmdResult;
use crate::state::Server;

/// Below this, MEMORY DOCTOR has nothing to say (Redis's 5 MB).
const DOCTOR_MIN_BYTES: u64 = 5 * 1024 * 1024;
/// Ratios and byte counts past which MEMORY DOCTOR reports, as Redis's `getMemoryDoctorReport`.
const DOCTOR_PEAK_RATIO: f32 = 1.5;
const DOCTOR_FRAG_RATIO: f32 = 1.4;
const DOCTOR_OVERHEAD_RATIO: f32 = 1.1;
const DOCTOR_MIN_WASTE: i64 = 10 << 20;
const DOCTOR_CLIENT_BUFFERS: u64 = 200 * 1024;

/// Redis's `struct redisMemOverhead`, with cachet's figures.
struct Overhead {
    peak: u64,
    total: u64,
    startup: u64,
    clients_normal: u64,
    clients: u64,
    /// (database, bytes of its hash table slots) for every database that has keys.
    dbs: Vec<(usize, u64)>,
    overhead_total: u64,
    keys: u64,
    bytes_per_key: u64,
    dataset: u64,
    dataset_perc: f32,
    peak_perc: f32,
    allocated: u64,
    active: u64,
    resident: u64,
    rss: u64,
}

impl Overhead {
    fn measure(server: &Server) -> Overhead {
        let total = server.used_memory();
        let startup = server
            .keyspace
            .baseline
            .load(std::sync::atomic::Ordering::Relaxed) as u64;
        let peak = server
            .stats
            .memory_peak
            .fetch_max(total, std::sync::atomic::Ordering::Relaxed)
            .max(total);
        let infos = server.clients.all();
        let clients_normal: u64 = infos
            .iter()
            .map(|info| {
                let details = info.details();
                (details.query_buffer + details.query_buffer_free + details.output_capacity) as u64
            })
            .sum();
        let databases = server.keyspace.databases();
        let mut slots = vec![(0usize, 0u64); databases];
        server.keyspace.for_each_shard(|_, shard| {
            for (db, table) in shard.dbs.iter().enumerate() {
                slots[db].0 += table.map.len();
                slots[db].1 +=
                    table_size(table.map.num_buckets(), std::mem::size_of::<Entry>()) as u64;
            }
        });
        let keys = slots.iter().map(|(keys, _)| *keys as u64).sum();
        let dbs: Vec<(usize, u64)> = slots
            .iter()
            .enumerate()
            .filter(|(_, (keys, _))| *keys > 0)
            .map(|(db, (_, bytes))| (db, *bytes))
            .collect();
        let overhead_total =
            startup + clients_normal + dbs.iter().map(|(_, bytes)| bytes).sum::<u64>();
        let net = total.saturating_sub(startup);
        let dataset = total.saturating_sub(overhead_total);
        let (allocated, resident) = allocator_stats();
        let active = allocator_active();
        let rss = crate::os::rss_bytes().unwrap_or(resident as u64);
        Overhead {
            peak,
            total,
            startup,
            clients_normal,
            clients: infos.len() as u64,
            dbs,
            overhead_total,
            keys,
            bytes_per_key: net.checked_div(keys).unwrap_or(0),
            dataset,
            dataset_perc: percent(dataset, net),
            peak_perc: percent(total, peak),
            allocated: allocated as u64,
            active,
            resident: resident as u64,
            rss,
        }
    }
}

fn percent(part: u64, whole: u64) -> f32 {
    if whole == 0 {
        0.0
    } else {
        part as f32 * 100.0 / whole as f32
    }
}

/// `a / b` as Redis's float ratios (0 when `b` is 0).
fn ratio(a: u64, b: u64) -> f32 {
    if b == 0 {
        0.0
    } else {
        a as f32 / b as f32
    }
}

fn allocator_active() -> u64 {
    use tikv_jemalloc_ctl::{epoch, stats};
    if epoch::advance().is_err() {
        return 0;
    }
    stats::active::read().unwrap_or(0) as u64
}

/// MEMORY STATS: Redis 7.0's fields in its order; `db.N` for every database with keys.
pub fn memory_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let m = Overhead::measure(ctx.server);
    let out = &mut *ctx.out;
    out.map(27 + m.dbs.len());
    let int = |out: &mut crate::protocol::ReplyBuf, name: &str, value: u64| {
        out.bulk(name.as_bytes());
        out.int(i64::try_from(value).unwrap_or(i64::MAX));
    };
    int(out, "peak.allocated", m.peak);
    int(out, "total.allocated", m.total);
    int(out, "startup.allocated", m.startup);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", m.clients_normal);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", 0);
    int(out, "functions.caches", 0);
    for (db, bytes) in &m.dbs {
        out.bulk(format!("db.{db}").as_bytes());
        out.map(3);
        int(out, "overhead.hashtable.main", *bytes);
        // Expiry times live in the entries: no second table.
        int(out, "overhead.hashtable.expires", 0);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", m.overhead_total);
    int(out, "keys.count", m.keys);
    int(out, "keys.bytes-per-key", m.bytes_per_key);
    int(out, "dataset.bytes", m.dataset);
    let double = |out: &mut crate::protocol::ReplyBuf, name: &str, value: f32| {
        out.bulk(name.as_bytes());
        out.double(f64::from(value));
    };
    double(out, "dataset.percentage", m.dataset_perc);
    double(out, "peak.percentage", m.peak_perc);
    int(out, "allocator.allocated", m.allocated);
    int(out, "allocator.active", m.active);
    int(out, "allocator.resident", m.resident);
    double(
        out,
        "allocator-fragmentation.ratio",
        ratio(m.active, m.allocated),
    );
    int(
        out,
        "allocator-fragmentation.bytes",
        m.active.saturating_sub(m.allocated),
    );
    double(out, "allocator-rss.ratio", ratio(m.resident, m.active));
    int(
        out,
        "allocator-rss.bytes",
        m.resident.saturating_sub(m.active),
    );
    double(out, "rss-overhead.ratio", ratio(m.rss, m.resident));
    int(out, "rss-overhead.bytes", m.rss.saturating_sub(m.resident));
    double(out, "fragmentation", ratio(m.rss, m.total));
    int(out, "fragmentation.bytes", m.rss.saturating_sub(m.total));
    Ok(())
}

/// MEMORY DOCTOR: Redis's report, with the checks that apply to cachet (no replicas, no scripts).
pub fn memory_doctor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let report = doctor_report(&Overhead::measure(ctx.server));
    ctx.out.verbatim("txt", report.as_bytes());
    Ok(())
}

fn doctor_report(m: &Overhead) -> String {
    if m.total < DOCTOR_MIN_BYTES {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_string();
    }
    let waste = |a: u64, b: u64| a as i64 - b as i64;
    let mut issues: Vec<&str> = Vec::new();
    if ratio(m.peak, m.total) > DOCTOR_PEAK_RATIO {
        issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
    }
    if ratio(m.rss, m.total) > DOCTOR_FRAG_RATIO && waste(m.rss, m.total) > DOCTOR_MIN_WASTE {
        issues.push(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"jemalloc-5.3.0\".\n\n");
    }
    if ratio(m.active, m.allocated) > DOCTOR_OVERHEAD_RATIO
        && waste(m.active, m.allocated) > DOCTOR_MIN_WASTE
    {
        issues.push(" * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n");
    }
    if ratio(m.resident, m.active) > DOCTOR_OVERHEAD_RATIO
        && waste(m.resident, m.active) > DOCTOR_MIN_WASTE
    {
        issues.push(" * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n");
    }
    if ratio(m.rss, m.resident) > DOCTOR_OVERHEAD_RATIO
        && waste(m.rss, m.resident) > DOCTOR_MIN_WASTE
    {
        issues.push(" * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n");
    }
    if m.clients > 0 && m.clients_normal / m.clients > DOCTOR_CLIENT_BUFFERS {
        issues.push(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n");
    }
    if issues.is_empty() {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_string();
    }
    let mut report =
        String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    for issue in issues {
        report.push_str(issue);
    }
    report.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    report
}

/// MEMORY MALLOC-STATS: jemalloc's own statistics report, as Redis prints it.
pub fn memory_malloc_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let mut text = Vec::new();
    if tikv_jemalloc_ctl::stats_print::stats_print(&mut text, Default::default()).is_err() {
        text = b"Stats not supported for the current allocator".to_vec();
    }
    ctx.out.verbatim("txt", &text);
    Ok(())
}

/// MEMORY PURGE: jemalloc gives its dirty pages back to the system (Redis's `jemalloc_purge`).
pub fn memory_purge(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let _ = tikv_jemalloc_ctl::epoch::advance();
    crate::os::purge_allocator();
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy(total: u64) -> Overhead {
        Overhead {
            peak: total,
            total,
            startup: 1 << 20,
            clients_normal: 20_000,
            clients: 1,
            dbs: Vec::new(),
            overhead_total: 1 << 20,
            keys: 0,
            bytes_per_key: 0,
            dataset: total - (1 << 20),
            dataset_perc: 0.0,
            peak_perc: 100.0,
            allocated: total,
            active: total,
            resident: total,
            rss: total,
        }
    }

    #[test]
    fn doctor_reports_as_redis() {
        assert!(doctor_report(&healthy(4 << 20)).starts_with("Hi Sam, this instance is empty"));
        assert_eq!(
            doctor_report(&healthy(100 << 20)),
            "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
        );
        let peaked = Overhead {
            peak: 200 << 20,
            ..healthy(100 << 20)
        };
        let report = doctor_report(&peaked);
        assert!(report.starts_with(
            "Sam, I detected a few issues in this Redis instance memory implants:\n\n * Peak memory:"
        ));
        assert!(report.ends_with("I'm here to keep you safe, Sam. I want to help you.\n"));
        // 1.4 and 10 MB must both be passed.
        let fragmented = Overhead {
            rss: 150 << 20,
            resident: 150 << 20,
            ..healthy(100 << 20)
        };
        assert!(doctor_report(&fragmented).contains(" * High total RSS:"));
        let slightly = Overhead {
            rss: 8 << 20,
            resident: 8 << 20,
            ..healthy(5 << 20)
        };
        assert!(!doctor_report(&slightly).contains("High total RSS"));
    }
}
