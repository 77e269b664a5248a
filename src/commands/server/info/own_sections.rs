//! INFO's sections about what only cachet has (`cachet`, `compression`, `coherence`, `regions`):
//! never printed by a bare `INFO`, asked for by name or with `all`/`everything`, so a Redis
//! exporter reading the default sections sees exactly Redis's fields.

use std::sync::atomic::Ordering;

use super::InfoText;
use crate::engine::{compress, Priority};
use crate::state::{Server, CACHET_VERSION};

/// The compressed strings now held (before/after bytes), and the work done since the start, in
/// all and per `stats-prefixes` prefix.
pub(super) fn compression_section(info: &mut InfoText, server: &Server) {
    let settings = server.keyspace.compression();
    let held = server.keyspace.compression_footprint();
    let work = server.keyspace.compression_work();
    let (decompress_us, decompressed) = compress::decompress_stats();
    info.section("Compression");
    info.field("compression_level", settings.level.name());
    info.field("compression_min_size", settings.min_size);
    // The background compressor (`engine::backlog`): values stored raw waiting for it, values it
    // compressed, notes dropped (value changed first), notes taken to make room under maxmemory.
    let backlog = server.keyspace.compressor.stats();
    info.field("compression_backlog", settings.backlog);
    info.field("compression_backlog_keys", backlog.keys);
    info.field("compression_backlog_bytes", backlog.bytes);
    info.field("compression_backlog_compressed", backlog.swapped);
    info.field("compression_backlog_dropped", backlog.dropped);
    info.field("compression_backlog_for_room", backlog.for_room);
    // Compressed values a read found hot and stored raw again (`engine::backlog`).
    info.field("compression_hot_raw_keys", backlog.hot_keys);
    info.field("compression_hot_raw_bytes", backlog.hot_bytes);
    info.field("compression_hot_kept_raw", backlog.kept_hot);
    info.field("compression_hot_cooled", backlog.cooled);
    info.field("compressed_keys", held.keys);
    info.field("compressed_bytes_before", held.original);
    info.field("compressed_bytes_after", held.stored);
    info.field(
        "compression_ratio",
        format!(
            "{:.2}",
            size_ratio(held.original as u64, held.stored as u64)
        ),
    );
    info.field("compressed_values", work.compressed);
    info.field("compression_skipped_values", work.skipped);
    info.field("decompressed_values", decompressed);
    info.field("compress_cpu_us", work.nanos / 1000);
    info.field("decompress_cpu_us", decompress_us);
    let dictionaries = &server.keyspace.dictionaries;
    let totals = dictionaries.totals();
    info.field(
        "compression_dict",
        if dictionaries.enabled() { "on" } else { "off" },
    );
    info.field("compression_dicts", totals.dictionaries);
    info.field("compression_dicts_in_use", totals.in_use);
    info.field("compression_dict_memory", dictionaries.memory());
    info.field("compression_dict_trainings", totals.trainings);
    info.field("compression_dict_samples", totals.samples);
    info.field("compression_dict_sample_bytes", totals.sample_bytes);
    info.field(
        "compression_dict_missing_reads",
        crate::engine::dictionary::missing_reads(),
    );
    info.field("compression_dict_load_skipped", totals.load_skipped);
    // One line per prefix followed (at most dictionary::MAX_PREFIXES), the prefix last: a comma
    // in it cannot shift the figures.
    for (index, report) in dictionaries.reports().iter().enumerate() {
        let (id, values, ratio) = report.current.unwrap_or_default();
        info.prefix_line(
            &format!("compression_dict_prefix{index}"),
            &[
                ("dictionaries", &report.dictionaries),
                ("in_use", &u8::from(report.current.is_some())),
                ("dict_id", &id),
                ("values", &values),
                ("ratio", &format_args!("{ratio:.2}")),
                ("samples", &report.samples),
                ("prefix", &String::from_utf8_lossy(&report.prefix)),
            ],
        );
    }
    // Per `stats-prefixes` entry (at most MAX_STATS_PREFIXES lines, so a bounded set of metric
    // labels): what the writes of its keys compressed since the start or CACHE.STATS RESET.
    for (index, counter) in server.keyspace.prefix_stats().iter().enumerate() {
        info.prefix_line(
            &format!("compression_prefix{index}"),
            &[
                ("prefix", &String::from_utf8_lossy(&counter.prefix)),
                ("values", &counter.compressed_values),
                ("bytes_before", &counter.bytes_before),
                ("bytes_after", &counter.bytes_after),
                (
                    "ratio",
                    &format_args!(
                        "{:.2}",
                        size_ratio(counter.bytes_before, counter.bytes_after)
                    ),
                ),
                ("compress_cpu_us", &(counter.compress_nanos / 1000)),
            ],
        );
    }
}

/// Bytes before over bytes after, 1 when nothing is held.
fn size_ratio(before: u64, after: u64) -> f64 {
    if after == 0 {
        1.0
    } else {
        before as f64 / after as f64
    }
}

/// One line per region, as the keyspace section's `db0:keys=...`: the figures first, the
/// prefix (client bytes, shown as UTF-8) last so that a comma in it cannot shift them.
pub(super) fn regions_section(info: &mut InfoText, server: &Server) {
    let reports = server.keyspace.region_reports();
    info.section("Regions");
    info.field("regions", reports.len());
    for r in reports {
        let spec = &r.spec;
        info.prefix_line(
            &format!("region_{}", spec.name),
            &[
                ("keys", &r.keys),
                ("used_memory", &r.bytes),
                ("maxmemory", &spec.maxmemory),
                ("maxmemory_keys", &spec.maxmemory_keys),
                ("hits", &r.hits),
                ("misses", &r.misses),
                ("evicted_keys", &r.evicted_keys),
                ("evicted_bytes", &r.evicted_bytes),
                ("policy", &spec.policy.name()),
                ("default_ttl", &spec.default_ttl),
                ("priority", &spec.priority.map_or("normal", |p| p.name())),
                ("prefix", &String::from_utf8_lossy(&spec.prefix)),
            ],
        );
    }
}

/// What cachet has that Redis does not report: sharding, the engine's accounting, the eviction
/// policy's state and the cache's effectiveness.
pub(super) fn cachet_section(info: &mut InfoText, server: &Server) {
    let keyspace = &server.keyspace;
    let stats = keyspace.stats();
    let settings = keyspace.eviction_settings();
    let evictions = &keyspace.evictions;
    let lookups = stats.hits + stats.misses;
    info.section("Cachet");
    info.field("cachet_version", CACHET_VERSION);
    info.field("shards", keyspace.shard_count());
    info.field("databases", keyspace.databases());
    info.field("keyspace_memory", keyspace.memory());
    info.field("keys", keyspace.totals.keys.load(Ordering::Relaxed));
    info.field("maxmemory_keys", settings.maxmemory_keys);
    info.field("eviction_policy", settings.policy.name());
    info.field(
        "hit_ratio",
        format!(
            "{:.4}",
            if lookups == 0 {
                0.0
            } else {
                stats.hits as f64 / lookups as f64
            }
        ),
    );
    info.field(
        "evicted_bytes",
        evictions.evicted_bytes.load(Ordering::Relaxed),
    );
    for priority in Priority::ALL {
        info.field(
            &format!("evicted_{}", priority.name()),
            evictions.evicted_by_priority[priority as usize].load(Ordering::Relaxed),
        );
    }
    for priority in Priority::ALL {
        info.field(
            &format!("evicted_bytes_{}", priority.name()),
            evictions.evicted_bytes_by_priority[priority as usize].load(Ordering::Relaxed),
        );
    }
    for priority in Priority::ALL {
        info.field(
            &format!("keys_{}", priority.name()),
            keyspace.totals.by_priority[priority as usize].load(Ordering::Relaxed),
        );
    }
    info.field("eviction_pool_size", keyspace.eviction_pool_len());
    info.field("eviction_walks", evictions.walks.load(Ordering::Relaxed));
    info.field("expire_sampled_keys", stats.expire_sampled);
    let labels = keyspace.label_stats();
    info.field("tag_index_labels", labels.tags);
    info.field("tag_index_bytes", labels.tag_bytes);
    info.field("dependency_index_bytes", labels.dependency_bytes);
    info.field("invalidated_keys", stats.invalidated);
    info.field(
        "invalidation_backlog",
        keyspace.sweeper.backlog.load(Ordering::Relaxed),
    );
    let warm = server.warm.status();
    info.field("warm_state", warm.state.name());
    info.field("warm_source", &warm.source);
    info.field("warm_keys_planned", warm.planned);
    info.field("warm_keys_done", warm.done);
    info.field("warm_keys_skipped", warm.skipped);
    info.field("warm_errors", warm.errors);
    let (queued, stored, dropped) = server.warm.refetch_figures();
    info.field("replica_refetch_queue", queued);
    info.field("replica_refetched_keys", stored);
    info.field("replica_refetch_dropped", dropped);
    // One line per `stats-prefixes` entry, shaped like the keyspace section's `db0:keys=...`.
    for (index, counter) in keyspace.prefix_stats().iter().enumerate() {
        info.prefix_line(
            &format!("prefix{index}"),
            &[
                ("prefix", &String::from_utf8_lossy(&counter.prefix)),
                ("hits", &counter.hits),
                ("misses", &counter.misses),
                (
                    "hit_ratio",
                    &format_args!(
                        "{:.4}",
                        crate::commands::cache::stats::hit_ratio(counter.hits, counter.misses)
                    ),
                ),
            ],
        );
    }
}

/// Peer coherence: this node, what it sent, what it received, and each link
/// (`peer<n>:addr=...,state=up|connecting|down,...`, in the style of Redis's `slave<n>` lines).
pub(super) fn coherence_section(info: &mut InfoText, server: &Server) {
    let coherence = &server.coherence;
    let stats = &coherence.stats;
    let count = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let links = coherence
        .links
        .lock()
        .map(|links| links.clone())
        .unwrap_or_default();
    info.section("Coherence");
    info.field("coherence_enabled", u8::from(coherence.enabled()));
    info.field("node_id", String::from_utf8_lossy(&coherence.node_id));
    info.field("run", coherence.run());
    info.field(
        "message_signing",
        if coherence.key().is_some() {
            "hmac-sha256"
        } else {
            "none"
        },
    );
    // One message per sequence number: the backlog's last is both.
    let last_sequence = coherence.lock_backlog().last_seq();
    info.field("messages_sent", last_sequence);
    info.field("items_sent", count(&stats.items_sent));
    info.field("last_sequence", last_sequence);
    info.field("pending_items", coherence.pending_items());
    info.field("send_overflows", count(&stats.overflows));
    info.field("messages_received", count(&stats.messages_received));
    info.field("items_applied", count(&stats.items_applied));
    info.field("malformed_messages", count(&stats.malformed));
    info.field("forged_messages", count(&stats.forged));
    info.field("unauthenticated_messages", count(&stats.unauthenticated));
    info.field("peer_auth_failures", count(&stats.peer_auth_failures));
    info.field("gaps", count(&stats.gaps));
    info.field("origin_restarts", count(&stats.origin_restarts));
    info.field("link_losses", count(&stats.link_losses));
    info.field("recoveries", count(&stats.recoveries));
    info.field("replays", count(&stats.replays));
    info.field("replayed_messages", count(&stats.replayed_messages));
    info.field("replays_served", count(&stats.replays_served));
    {
        let backlog = coherence.lock_backlog();
        info.field("backlog_messages", backlog.len());
        info.field("backlog_bytes", backlog.bytes());
        info.field("backlog_first_sequence", backlog.first_seq());
    }
    info.field("bus_publishes", count(&stats.bus_publishes));
    info.field("node_id_conflicts", count(&stats.node_id_conflicts));
    info.field("peers", links.len());
    // Links the configuration names but coherence does not follow (see `ignored_links`).
    let ignored = crate::state::coherence::config::ignored_links(&server.config.read()).0;
    info.field("peers_ignored", ignored);
    info.field(
        "peers_up",
        links.iter().filter(|l| l.state_name() == "up").count(),
    );
    for (index, link) in links.iter().enumerate() {
        info.field(
            &format!("peer{index}"),
            format!(
                "addr={},kind={},state={},messages={},connects={},lag_ms={},gaps={},replays={},losses={}",
                link.addr,
                if link.bus { "bus" } else { "peer" },
                link.state_name(),
                count(&link.messages),
                count(&link.connects),
                count(&link.lag_ms),
                count(&link.gaps),
                count(&link.replays),
                count(&link.losses),
            ),
        );
    }
    // Where each origin is followed to: a peer caught up with an origin once its `seq` here
    // reaches the origin's CACHE.PEER POSITION.
    let mut positions = coherence.positions();
    positions.sort();
    for (index, (node, run, seq)) in positions.iter().enumerate() {
        info.field(
            &format!("origin{index}"),
            format!("node={},run={run},seq={seq}", String::from_utf8_lossy(node)),
        );
    }
}
