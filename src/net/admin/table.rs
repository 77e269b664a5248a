//! Every metric `/metrics` exposes, in one table: name, type, where its value comes from, help.
//! The `redis_*` names are redis_exporter's (1.45, the Debian package), so that dashboards built
//! for it work against cachet with no exporter; the `cachet_*` families are cachet's own.
//! Counter names carry their `_total` as exposed (the encoder adds it, `metrics.rs` strips it).

/// How a family is typed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

/// Where a family's value comes from.
#[derive(Clone, Copy)]
pub enum Source {
    /// An INFO field, multiplied by the factor (µs to seconds, ms to seconds); `ok` reads 1 and
    /// any other word 0, as redis_exporter reads status fields.
    Info(&'static str, f64),
    /// A CLUSTER INFO field, read as redis_exporter reads them (only in cluster mode).
    Cluster(&'static str),
    /// A figure of the server's own state, read at scrape time.
    Read(fn(&Server) -> f64),
    /// Computed in `metrics.rs` (labelled families, CONFIG values, the slow log).
    Derived,
}

pub struct MetricDef {
    pub name: &'static str,
    pub kind: Kind,
    pub source: Source,
    pub help: &'static str,
}

const fn info(
    name: &'static str,
    kind: Kind,
    field: &'static str,
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind,
        source: Source::Info(field, 1.0),
        help,
    }
}

const fn scaled(
    name: &'static str,
    field: &'static str,
    factor: f64,
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind: Kind::Gauge,
        source: Source::Info(field, factor),
        help,
    }
}

const fn cluster(name: &'static str, field: &'static str, help: &'static str) -> MetricDef {
    MetricDef {
        name,
        kind: Kind::Gauge,
        source: Source::Cluster(field),
        help,
    }
}

const fn read(
    name: &'static str,
    kind: Kind,
    value: fn(&Server) -> f64,
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind,
        source: Source::Read(value),
        help,
    }
}

fn admin(counter: &AtomicU64) -> f64 {
    counter.load(Ordering::Relaxed) as f64
}

fn snapshot_age(server: &Server) -> f64 {
    let last = server.last_save.load(Ordering::Relaxed);
    (crate::engine::now_ms() / 1000).saturating_sub(last) as f64
}

const fn derived(name: &'static str, kind: Kind, help: &'static str) -> MetricDef {
    MetricDef {
        name,
        kind,
        source: Source::Derived,
        help,
    }
}

use std::sync::atomic::{AtomicU64, Ordering};

use crate::state::Server;
use Kind::{Counter, Gauge, Histogram};

/// redis_exporter types a few counters whose names do not end in `_total`
/// (`redis_total_error_replies`...); the encoder would append `_total` to a counter's name, so
/// they are gauges here: the name is what dashboards query.
#[rustfmt::skip]
pub static METRICS: &[MetricDef] = &[
    // Server
    derived("redis_up", Gauge, "Whether the server answers (always 1 when /metrics answers)."),
    derived("redis_instance_info", Gauge, "Information about the server, in labels."),
    derived("redis_start_time_seconds", Gauge, "Unix time the server started."),
    info("redis_uptime_in_seconds", Gauge, "uptime_in_seconds", "Seconds since the server started."),
    info("redis_process_id", Gauge, "process_id", "Process id."),
    info("redis_io_threads_active", Gauge, "io_threads_active", "Whether I/O threads are active."),
    // Clients
    info("redis_connected_clients", Gauge, "connected_clients", "Connected clients."),
    info("redis_blocked_clients", Gauge, "blocked_clients", "Clients blocked on a key."),
    info("redis_tracking_clients", Gauge, "tracking_clients", "Clients with tracking on."),
    info("redis_clients_in_timeout_table", Gauge, "clients_in_timeout_table", "Blocked clients with a timeout."),
    info("redis_cluster_connections", Gauge, "cluster_connections", "Cluster bus connections."),
    info("redis_client_recent_max_input_buffer_bytes", Gauge, "client_recent_max_input_buffer", "Largest client query buffer."),
    info("redis_client_recent_max_output_buffer_bytes", Gauge, "client_recent_max_output_buffer", "Largest client output buffer."),
    // Memory
    info("redis_memory_used_bytes", Gauge, "used_memory", "Memory used (the data's accounting plus the start-up baseline)."),
    info("redis_memory_used_rss_bytes", Gauge, "used_memory_rss", "Resident set size."),
    info("redis_memory_used_peak_bytes", Gauge, "used_memory_peak", "Peak of used memory."),
    info("redis_memory_used_lua_bytes", Gauge, "used_memory_lua", "Memory of the Lua VM."),
    info("redis_memory_used_overhead_bytes", Gauge, "used_memory_overhead", "Memory that is not the dataset."),
    info("redis_memory_used_startup_bytes", Gauge, "used_memory_startup", "Memory used at start-up."),
    info("redis_memory_used_dataset_bytes", Gauge, "used_memory_dataset", "Memory of the dataset."),
    info("redis_memory_used_scripts_bytes", Gauge, "used_memory_scripts", "Memory of cached scripts and functions."),
    info("redis_memory_max_bytes", Gauge, "maxmemory", "maxmemory."),
    info("redis_allocator_active_bytes", Gauge, "allocator_active", "Allocator active bytes."),
    info("redis_allocator_allocated_bytes", Gauge, "allocator_allocated", "Allocator allocated bytes."),
    info("redis_allocator_resident_bytes", Gauge, "allocator_resident", "Allocator resident bytes."),
    info("redis_allocator_frag_ratio", Gauge, "allocator_frag_ratio", "Allocator fragmentation ratio."),
    info("redis_allocator_frag_bytes", Gauge, "allocator_frag_bytes", "Allocator fragmentation bytes."),
    info("redis_allocator_rss_ratio", Gauge, "allocator_rss_ratio", "Allocator RSS ratio."),
    info("redis_allocator_rss_bytes", Gauge, "allocator_rss_bytes", "Allocator RSS bytes."),
    info("redis_mem_fragmentation_ratio", Gauge, "mem_fragmentation_ratio", "RSS over used memory."),
    info("redis_mem_fragmentation_bytes", Gauge, "mem_fragmentation_bytes", "RSS minus used memory."),
    info("redis_mem_clients_slaves", Gauge, "mem_clients_slaves", "Memory of replica clients."),
    info("redis_mem_clients_normal", Gauge, "mem_clients_normal", "Memory of normal clients' buffers."),
    info("redis_mem_not_counted_for_eviction_bytes", Gauge, "mem_not_counted_for_evict", "Memory not counted for eviction."),
    info("redis_lazyfree_pending_objects", Gauge, "lazyfree_pending_objects", "Objects waiting to be freed."),
    info("redis_active_defrag_running", Gauge, "active_defrag_running", "Whether defragmentation runs."),
    info("redis_number_of_cached_scripts", Gauge, "number_of_cached_scripts", "Scripts in the EVAL cache."),
    // Persistence (snapshots; no AOF: idle values)
    info("redis_loading_dump_file", Gauge, "loading", "Whether a dump file is loading."),
    info("redis_rdb_changes_since_last_save", Gauge, "rdb_changes_since_last_save", "Changes since the last save."),
    info("redis_rdb_bgsave_in_progress", Gauge, "rdb_bgsave_in_progress", "Whether a BGSAVE runs."),
    info("redis_rdb_last_save_timestamp_seconds", Gauge, "rdb_last_save_time", "Unix time of the last save."),
    info("redis_rdb_last_bgsave_status", Gauge, "rdb_last_bgsave_status", "1 when the last BGSAVE succeeded."),
    info("redis_rdb_last_bgsave_duration_sec", Gauge, "rdb_last_bgsave_time_sec", "Duration of the last BGSAVE."),
    info("redis_rdb_current_bgsave_duration_sec", Gauge, "rdb_current_bgsave_time_sec", "Duration of the running BGSAVE."),
    info("redis_rdb_last_cow_size_bytes", Gauge, "rdb_last_cow_size", "Copy-on-write bytes of the last BGSAVE."),
    info("redis_aof_enabled", Gauge, "aof_enabled", "Whether AOF is on."),
    info("redis_aof_rewrite_in_progress", Gauge, "aof_rewrite_in_progress", "Whether an AOF rewrite runs."),
    info("redis_aof_rewrite_scheduled", Gauge, "aof_rewrite_scheduled", "Whether an AOF rewrite is scheduled."),
    info("redis_aof_last_rewrite_duration_sec", Gauge, "aof_last_rewrite_time_sec", "Duration of the last AOF rewrite."),
    info("redis_aof_current_rewrite_duration_sec", Gauge, "aof_current_rewrite_time_sec", "Duration of the running AOF rewrite."),
    info("redis_aof_last_cow_size_bytes", Gauge, "aof_last_cow_size", "Copy-on-write bytes of the last AOF rewrite."),
    info("redis_aof_last_bgrewrite_status", Gauge, "aof_last_bgrewrite_status", "1 when the last AOF rewrite succeeded."),
    info("redis_aof_last_write_status", Gauge, "aof_last_write_status", "1 when the last AOF write succeeded."),
    info("redis_module_fork_in_progress", Gauge, "module_fork_in_progress", "Whether a module fork runs."),
    info("redis_module_fork_last_cow_size", Gauge, "module_fork_last_cow_size", "Copy-on-write bytes of the last module fork."),
    // Stats
    info("redis_connections_received_total", Counter, "total_connections_received", "Connections accepted."),
    info("redis_commands_processed_total", Counter, "total_commands_processed", "Commands processed."),
    info("redis_rejected_connections_total", Counter, "rejected_connections", "Connections refused (maxclients)."),
    info("redis_net_input_bytes_total", Counter, "total_net_input_bytes", "Bytes read from clients."),
    info("redis_net_output_bytes_total", Counter, "total_net_output_bytes", "Bytes written to clients."),
    info("redis_expired_keys_total", Counter, "expired_keys", "Keys expired."),
    info("redis_evicted_keys_total", Counter, "evicted_keys", "Keys evicted."),
    info("redis_keyspace_hits_total", Counter, "keyspace_hits", "Lookups that found their key."),
    info("redis_keyspace_misses_total", Counter, "keyspace_misses", "Lookups that did not."),
    info("redis_expired_stale_percentage", Gauge, "expired_stale_perc", "Estimated percentage of expired keys not yet removed."),
    info("redis_expired_time_cap_reached_total", Gauge, "expired_time_cap_reached_count", "Active expiry cycles stopped by their time budget."),
    info("redis_pubsub_channels", Gauge, "pubsub_channels", "Channels with subscribers."),
    info("redis_pubsub_patterns", Gauge, "pubsub_patterns", "Patterns with subscribers."),
    scaled("redis_latest_fork_seconds", "latest_fork_usec", 1e-6, "Duration of the latest fork."),
    info("redis_migrate_cached_sockets_total", Gauge, "migrate_cached_sockets", "Sockets cached by MIGRATE."),
    info("redis_slave_expires_tracked_keys", Gauge, "slave_expires_tracked_keys", "Keys a replica tracks for expiry."),
    info("redis_defrag_hits", Gauge, "active_defrag_hits", "Values moved by defragmentation."),
    info("redis_defrag_misses", Gauge, "active_defrag_misses", "Values defragmentation skipped."),
    info("redis_defrag_key_hits", Gauge, "active_defrag_key_hits", "Keys defragmented."),
    info("redis_defrag_key_misses", Gauge, "active_defrag_key_misses", "Keys defragmentation skipped."),
    info("redis_tracking_total_keys", Gauge, "tracking_total_keys", "Keys in the tracking table."),
    info("redis_tracking_total_items", Gauge, "tracking_total_items", "Client ids in the tracking table."),
    info("redis_tracking_total_prefixes", Gauge, "tracking_total_prefixes", "Prefixes in the broadcast tracking table."),
    info("redis_total_error_replies", Gauge, "total_error_replies", "Error replies sent."),
    info("redis_unexpected_error_replies", Gauge, "unexpected_error_replies", "Error replies of unexpected kinds."),
    info("redis_dump_payload_sanitizations", Gauge, "dump_payload_sanitizations", "Deep DUMP payload checks."),
    info("redis_total_reads_processed", Gauge, "total_reads_processed", "Socket reads."),
    info("redis_total_writes_processed", Gauge, "total_writes_processed", "Socket writes."),
    info("redis_io_threaded_reads_processed", Gauge, "io_threaded_reads_processed", "Reads done by I/O threads."),
    info("redis_io_threaded_writes_processed", Gauge, "io_threaded_writes_processed", "Writes done by I/O threads."),
    // Replication (standalone: idle values)
    info("redis_connected_slaves", Gauge, "connected_slaves", "Connected replicas."),
    info("redis_replication_backlog_bytes", Gauge, "repl_backlog_size", "Replication backlog size."),
    info("redis_repl_backlog_is_active", Gauge, "repl_backlog_active", "Whether the replication backlog is active."),
    info("redis_repl_backlog_first_byte_offset", Gauge, "repl_backlog_first_byte_offset", "First offset in the replication backlog."),
    info("redis_repl_backlog_history_bytes", Gauge, "repl_backlog_histlen", "Bytes in the replication backlog."),
    info("redis_master_repl_offset", Gauge, "master_repl_offset", "Replication offset."),
    info("redis_second_repl_offset", Gauge, "second_repl_offset", "Offset up to which replication ids are accepted."),
    info("redis_replica_resyncs_full", Gauge, "sync_full", "Full resynchronizations."),
    info("redis_replica_partial_resync_accepted", Gauge, "sync_partial_ok", "Partial resynchronizations accepted."),
    info("redis_replica_partial_resync_denied", Gauge, "sync_partial_err", "Partial resynchronizations denied."),
    // CPU
    info("redis_cpu_sys_seconds_total", Counter, "used_cpu_sys", "System CPU time."),
    info("redis_cpu_user_seconds_total", Counter, "used_cpu_user", "User CPU time."),
    info("redis_cpu_sys_children_seconds_total", Counter, "used_cpu_sys_children", "System CPU time of children."),
    info("redis_cpu_user_children_seconds_total", Counter, "used_cpu_user_children", "User CPU time of children."),
    info("redis_cpu_sys_main_thread_seconds_total", Counter, "used_cpu_sys_main_thread", "System CPU time of the main thread."),
    info("redis_cpu_user_main_thread_seconds_total", Counter, "used_cpu_user_main_thread", "User CPU time of the main thread."),
    // Cluster
    info("redis_cluster_enabled", Gauge, "cluster_enabled", "Whether cluster mode is on."),
    cluster("redis_cluster_state", "cluster_state", "1 when CLUSTER INFO's cluster_state is ok."),
    cluster("redis_cluster_slots_assigned", "cluster_slots_assigned", "Slots assigned to a node."),
    cluster("redis_cluster_slots_ok", "cluster_slots_ok", "Slots whose node is not failing."),
    cluster("redis_cluster_slots_pfail", "cluster_slots_pfail", "Slots whose node is possibly failing."),
    cluster("redis_cluster_slots_fail", "cluster_slots_fail", "Slots whose node is failing."),
    cluster("redis_cluster_known_nodes", "cluster_known_nodes", "Nodes in the cluster's configuration."),
    cluster("redis_cluster_size", "cluster_size", "Masters serving at least one slot."),
    cluster("redis_cluster_current_epoch", "cluster_current_epoch", "The cluster's current epoch."),
    cluster("redis_cluster_my_epoch", "cluster_my_epoch", "This node's configuration epoch."),
    cluster("redis_cluster_messages_sent_total", "cluster_stats_messages_sent", "Cluster bus messages sent (no gossip bus in cachet: 0)."),
    cluster("redis_cluster_messages_received_total", "cluster_stats_messages_received", "Cluster bus messages received (no gossip bus in cachet: 0)."),
    // Commandstats, errorstats, latencystats, keyspace
    derived("redis_commands_total", Counter, "Calls per command."),
    derived("redis_commands_duration_seconds_total", Counter, "Time spent per command."),
    derived("redis_commands_rejected_calls_total", Counter, "Calls refused before running, per command."),
    derived("redis_commands_failed_calls_total", Counter, "Calls that failed while running, per command."),
    derived("redis_errors_total", Counter, "Error replies per error code."),
    derived("redis_latency_percentiles_usec", Gauge, "Latency percentiles per command (latency-tracking-info-percentiles), microseconds."),
    derived("redis_latency_percentiles_usec_sum", Gauge, "Time spent per command, microseconds."),
    derived("redis_latency_percentiles_usec_count", Gauge, "Calls per command counted by the latency histograms."),
    derived("redis_db_keys", Gauge, "Keys per database."),
    derived("redis_db_keys_expiring", Gauge, "Keys with a TTL per database."),
    derived("redis_db_avg_ttl_seconds", Gauge, "Average TTL per database (not tracked: 0, as Redis's is an estimate)."),
    // CONFIG and SLOWLOG, as redis_exporter reads them
    derived("redis_config_maxclients", Gauge, "maxclients."),
    derived("redis_config_maxmemory", Gauge, "maxmemory."),
    derived("redis_config_io_threads", Gauge, "io-threads."),
    derived("redis_slowlog_length", Gauge, "Entries in the slow log."),
    derived("redis_slowlog_last_id", Gauge, "Id of the newest slow log entry."),
    derived("redis_last_slow_execution_duration_seconds", Gauge, "Duration of the newest slow log entry."),
    // cachet's own
    info("cachet_shards", Gauge, "shards", "Keyspace shards."),
    info("cachet_keys", Gauge, "keys", "Keys in every database."),
    info("cachet_keyspace_memory_bytes", Gauge, "keyspace_memory", "The data's byte accounting (what maxmemory is enforced against)."),
    info("cachet_maxmemory_keys", Gauge, "maxmemory_keys", "Most keys before eviction; 0: no limit."),
    info("cachet_hit_ratio", Gauge, "hit_ratio", "Hits over lookups since the last reset."),
    info("cachet_evicted_bytes_total", Counter, "evicted_bytes", "Bytes evicted."),
    derived("cachet_evicted_keys_by_priority_total", Counter, "Keys evicted per priority."),
    derived("cachet_evicted_bytes_by_priority_total", Counter, "Bytes evicted per priority."),
    derived("cachet_keys_by_priority", Gauge, "Keys per priority."),
    info("cachet_eviction_pool_size", Gauge, "eviction_pool_size", "Candidates in the eviction pool."),
    info("cachet_eviction_walks_total", Counter, "eviction_walks", "Evictions that had to walk the keyspace."),
    info("cachet_tag_index_tags", Gauge, "tag_index_labels", "Tags in the tag index."),
    info("cachet_tag_index_bytes", Gauge, "tag_index_bytes", "Bytes of the tag index."),
    info("cachet_dependency_index_bytes", Gauge, "dependency_index_bytes", "Bytes of the dependency index."),
    info("cachet_invalidated_keys_total", Counter, "invalidated_keys", "Keys invalidated by tag, dependency or pattern."),
    info("cachet_invalidation_backlog", Gauge, "invalidation_backlog", "Invalidated keys the sweeper has yet to delete."),
    derived("cachet_prefix_hits_total", Counter, "Hits per stats-prefixes prefix."),
    derived("cachet_prefix_misses_total", Counter, "Misses per stats-prefixes prefix."),
    derived("cachet_prefix_hit_ratio", Gauge, "Hit ratio per stats-prefixes prefix."),
    derived("cachet_tag_keys", Gauge, "Keys carrying the tag, for the tags named by /metrics?tag=."),
    derived("cachet_tag_bytes", Gauge, "Bytes of the entries carrying the tag, for the tags named by /metrics?tag=."),
    derived("cachet_tag_hits_total", Counter, "Reads that hit an entry carrying the tag, for the tags named by /metrics?tag=."),
    derived("cachet_command_duration_seconds", Histogram, "Latency per command (latency-tracking must be on)."),
    // The admin port itself
    read("cachet_admin_connections", Gauge, |s| admin(&s.admin.connections), "Admin-port connections open."),
    read("cachet_admin_connections_received_total", Counter, |s| admin(&s.admin.connections_received), "Admin-port connections accepted."),
    read("cachet_admin_rejected_connections_total", Counter, |s| admin(&s.admin.rejected_connections), "Admin-port connections refused at admin-maxclients."),
    read("cachet_admin_timeouts_total", Counter, |s| admin(&s.admin.timeouts), "Admin-port connections closed for a request slower than admin-timeout."),
    // Coherence
    info("cachet_coherence_enabled", Gauge, "coherence_enabled", "Whether coherence is on."),
    info("cachet_coherence_messages_sent_total", Counter, "messages_sent", "Invalidation messages published."),
    info("cachet_coherence_items_sent_total", Counter, "items_sent", "Keys in the messages published."),
    info("cachet_coherence_pending_items", Gauge, "pending_items", "Keys waiting to be published."),
    info("cachet_coherence_send_overflows_total", Counter, "send_overflows", "Times the pending queue overflowed."),
    info("cachet_coherence_messages_received_total", Counter, "messages_received", "Invalidation messages received."),
    info("cachet_coherence_items_applied_total", Counter, "items_applied", "Invalidations applied."),
    info("cachet_coherence_malformed_messages_total", Counter, "malformed_messages", "Messages that did not parse."),
    info("cachet_coherence_forged_messages_total", Counter, "forged_messages", "Messages whose signature did not verify."),
    info("cachet_coherence_gaps_total", Counter, "gaps", "Sequence gaps seen on links."),
    info("cachet_coherence_link_losses_total", Counter, "link_losses", "Links lost."),
    info("cachet_coherence_recoveries_total", Counter, "recoveries", "Links recovered."),
    info("cachet_coherence_replays_total", Counter, "replays", "Replays asked of peers."),
    info("cachet_coherence_replayed_messages_total", Counter, "replayed_messages", "Messages received by replays."),
    info("cachet_coherence_replays_served_total", Counter, "replays_served", "Replays served to peers."),
    info("cachet_coherence_backlog_messages", Gauge, "backlog_messages", "Messages in the replay backlog."),
    info("cachet_coherence_backlog_bytes", Gauge, "backlog_bytes", "Bytes of the replay backlog."),
    info("cachet_coherence_peers", Gauge, "peers", "Links followed."),
    info("cachet_coherence_peers_up", Gauge, "peers_up", "Links up."),
    derived("cachet_coherence_peer_up", Gauge, "1 when the link to the peer is up, per peer."),
    derived("cachet_coherence_peer_lag_seconds", Gauge, "Lag of the peer's last message, per peer."),
    derived("cachet_coherence_peer_messages_total", Counter, "Messages received per peer."),
    derived("cachet_coherence_peer_connects_total", Counter, "Connections made per peer."),
    derived("cachet_coherence_peer_gaps_total", Counter, "Sequence gaps seen per peer."),
    derived("cachet_coherence_peer_replays_total", Counter, "Replays that filled a gap or caught up, per peer."),
    derived("cachet_coherence_peer_link_losses_total", Counter, "Times the link to the peer was lost."),
    // Snapshots
    read("cachet_snapshot_age_seconds", Gauge, snapshot_age, "Seconds since the last successful snapshot (or the snapshot loaded at start, or the start)."),
    info("cachet_snapshots_total", Counter, "rdb_saves", "Snapshots written (SAVE, BGSAVE, the save schedule, shutdown)."),
    info("cachet_snapshot_keys_processed", Gauge, "current_save_keys_processed", "Keys written by the snapshot in progress."),
    info("cachet_snapshot_keys", Gauge, "current_save_keys_total", "Keys the snapshot in progress will write."),
    info("cachet_snapshot_loaded_keys", Gauge, "rdb_last_load_keys_loaded", "Keys loaded from the snapshot at start."),
    info("cachet_snapshot_load_expired_keys", Gauge, "rdb_last_load_keys_expired", "Keys of the snapshot already expired at start, not loaded."),
    scaled("cachet_loading_progress_ratio", "loading_loaded_perc", 0.01, "Share of the snapshot loaded (only while it loads)."),
    read("cachet_accepting", Gauge, |s| f64::from(u8::from(s.accepting.load(Ordering::Acquire))), "1 once the dataset is loaded and clients are accepted."),
];

/// Upper bounds of `cachet_command_duration_seconds`'s buckets: 10 µs to 1 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0,
];

pub fn find(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus's metric name grammar: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    fn valid(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    #[test]
    fn names_are_unique_valid_and_prefixed() {
        let mut seen = std::collections::HashSet::new();
        for metric in METRICS {
            assert!(valid(metric.name), "{} is not a valid name", metric.name);
            assert!(
                seen.insert(metric.name),
                "{} is declared twice",
                metric.name
            );
            assert!(
                metric.name.starts_with("redis_") || metric.name.starts_with("cachet_"),
                "{}",
                metric.name
            );
            // The encoder appends `_total` to counters: a counter must end in it here.
            if metric.kind == Kind::Counter {
                assert!(metric.name.ends_with("_total"), "{}", metric.name);
            }
            assert!(!metric.help.is_empty(), "{}", metric.name);
        }
        // A histogram's series names must not collide with a declared family.
        for metric in METRICS.iter().filter(|m| m.kind == Kind::Histogram) {
            for suffix in ["_bucket", "_sum", "_count"] {
                assert!(find(&format!("{}{suffix}", metric.name)).is_none());
            }
        }
    }

    #[test]
    fn buckets_ascend() {
        assert!(LATENCY_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
