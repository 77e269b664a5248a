//! Every metric `/metrics` exposes, in one table: name, type, where its value comes from, help.
//! The `redis_*` names are redis_exporter's (1.45, the Debian package), so that dashboards built
//! for it work against cachet with no exporter; the `cachet_*` families are cachet's own.
//! Counter names carry their `_total` as exposed (the encoder adds it, `metrics.rs` strips it).
//! `metrics.rs` reads every source but `Derived` in one loop over this table.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::state::Server;
use Kind::{Counter, Gauge, Histogram};
use LabelFrom::{Pair, Rest};
use Source::{Cluster, Derived, Info, Lines, Read};

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
    /// An INFO field, multiplied by the factor (µs to seconds, % to a ratio); `ok` reads 1 and
    /// any other word 0, as redis_exporter reads status fields.
    Info(&'static str, f64),
    /// A CLUSTER INFO field, read as redis_exporter reads them (only in cluster mode).
    Cluster(&'static str),
    /// A figure of the server's own state, read at scrape time.
    Read(fn(&Server) -> f64),
    /// One sample per INFO line named `prefix...` whose value is `a=1,b=2` pairs
    /// (`cmdstat_get:calls=3,usec=12,...`): the pair `field` divided by `per`, labelled as
    /// `labels` say.
    Lines {
        prefix: &'static str,
        labels: &'static [LabelFrom],
        field: &'static str,
        per: f64,
    },
    /// Computed in `metrics.rs` (labels of their own: databases, priorities, quantiles, tags,
    /// the per-command histogram).
    Derived,
}

/// Where a `Lines` sample's label value comes from.
#[derive(Clone, Copy)]
pub enum LabelFrom {
    /// (label) The rest of the line's name: `cmdstat_get` gives `get`.
    Rest(&'static str),
    /// (label, pair) The value of one of the line's pairs; a line without it gives no sample.
    Pair(&'static str, &'static str),
}

pub struct MetricDef {
    pub name: &'static str,
    pub kind: Kind,
    pub source: Source,
    pub help: &'static str,
}

const fn metric(name: &'static str, kind: Kind, source: Source, help: &'static str) -> MetricDef {
    MetricDef {
        name,
        kind,
        source,
        help,
    }
}

/// An INFO field as it is.
const fn field(name: &'static str) -> Source {
    Info(name, 1.0)
}

const fn lines(
    prefix: &'static str,
    labels: &'static [LabelFrom],
    field: &'static str,
    per: f64,
) -> Source {
    Lines {
        prefix,
        labels,
        field,
        per,
    }
}

const CMD: &[LabelFrom] = &[Rest("cmd")];
const PREFIX: &[LabelFrom] = &[Pair("prefix", "prefix")];
const REGION: &[LabelFrom] = &[Rest("region")];
const PEER: &[LabelFrom] = &[Pair("peer", "addr"), Pair("kind", "kind")];

fn count(counter: &AtomicU64) -> f64 {
    counter.load(Ordering::Relaxed) as f64
}

fn snapshot_age(server: &Server) -> f64 {
    let last = server.last_save.load(Ordering::Relaxed);
    (crate::engine::now_ms() / 1000).saturating_sub(last) as f64
}

/// The newest slow log entry's (id, microseconds); (0, 0) when the log is empty.
fn newest_slow(server: &Server) -> (u64, u64) {
    server.slowlog.newest(1, |entries| {
        entries
            .next()
            .map_or((0, 0), |entry| (entry.id, entry.micros))
    })
}

/// redis_exporter types a few counters whose names do not end in `_total`
/// (`redis_total_error_replies`...); the encoder would append `_total` to a counter's name, so
/// they are gauges here: the name is what dashboards query.
#[rustfmt::skip]
pub static METRICS: &[MetricDef] = &[
    // Server
    metric("redis_up", Gauge, Read(|_| 1.0), "Whether the server answers (always 1 when /metrics answers)."),
    metric("redis_instance_info", Gauge, Derived, "Information about the server, in labels."),
    metric("redis_start_time_seconds", Gauge, Read(|s| (s.started_unix_ms / 1000) as f64), "Unix time the server started."),
    metric("redis_uptime_in_seconds", Gauge, field("uptime_in_seconds"), "Seconds since the server started."),
    metric("redis_process_id", Gauge, field("process_id"), "Process id."),
    metric("redis_io_threads_active", Gauge, field("io_threads_active"), "Whether I/O threads are active."),
    // Clients
    metric("redis_connected_clients", Gauge, field("connected_clients"), "Connected clients."),
    metric("redis_blocked_clients", Gauge, field("blocked_clients"), "Clients blocked on a key."),
    metric("redis_tracking_clients", Gauge, field("tracking_clients"), "Clients with tracking on."),
    metric("redis_clients_in_timeout_table", Gauge, field("clients_in_timeout_table"), "Blocked clients with a timeout."),
    metric("redis_cluster_connections", Gauge, field("cluster_connections"), "Cluster bus connections."),
    metric("redis_client_recent_max_input_buffer_bytes", Gauge, field("client_recent_max_input_buffer"), "Largest client query buffer."),
    metric("redis_client_recent_max_output_buffer_bytes", Gauge, field("client_recent_max_output_buffer"), "Largest client output buffer."),
    // Memory
    metric("redis_memory_used_bytes", Gauge, field("used_memory"), "Memory used (the data's accounting plus the start-up baseline)."),
    metric("redis_memory_used_rss_bytes", Gauge, field("used_memory_rss"), "Resident set size."),
    metric("redis_memory_used_peak_bytes", Gauge, field("used_memory_peak"), "Peak of used memory."),
    metric("redis_memory_used_lua_bytes", Gauge, field("used_memory_lua"), "Memory of the Lua VM."),
    metric("redis_memory_used_overhead_bytes", Gauge, field("used_memory_overhead"), "Memory that is not the dataset."),
    metric("redis_memory_used_startup_bytes", Gauge, field("used_memory_startup"), "Memory used at start-up."),
    metric("redis_memory_used_dataset_bytes", Gauge, field("used_memory_dataset"), "Memory of the dataset."),
    metric("redis_memory_used_scripts_bytes", Gauge, field("used_memory_scripts"), "Memory of cached scripts and functions."),
    metric("redis_memory_max_bytes", Gauge, field("maxmemory"), "maxmemory."),
    metric("redis_allocator_active_bytes", Gauge, field("allocator_active"), "Allocator active bytes."),
    metric("redis_allocator_allocated_bytes", Gauge, field("allocator_allocated"), "Allocator allocated bytes."),
    metric("redis_allocator_resident_bytes", Gauge, field("allocator_resident"), "Allocator resident bytes."),
    metric("redis_allocator_frag_ratio", Gauge, field("allocator_frag_ratio"), "Allocator fragmentation ratio."),
    metric("redis_allocator_frag_bytes", Gauge, field("allocator_frag_bytes"), "Allocator fragmentation bytes."),
    metric("redis_allocator_rss_ratio", Gauge, field("allocator_rss_ratio"), "Allocator RSS ratio."),
    metric("redis_allocator_rss_bytes", Gauge, field("allocator_rss_bytes"), "Allocator RSS bytes."),
    metric("redis_mem_fragmentation_ratio", Gauge, field("mem_fragmentation_ratio"), "RSS over used memory."),
    metric("redis_mem_fragmentation_bytes", Gauge, field("mem_fragmentation_bytes"), "RSS minus used memory."),
    metric("redis_mem_clients_slaves", Gauge, field("mem_clients_slaves"), "Memory of replica clients."),
    metric("redis_mem_clients_normal", Gauge, field("mem_clients_normal"), "Memory of normal clients' buffers."),
    metric("redis_mem_not_counted_for_eviction_bytes", Gauge, field("mem_not_counted_for_evict"), "Memory not counted for eviction."),
    metric("redis_lazyfree_pending_objects", Gauge, field("lazyfree_pending_objects"), "Objects waiting to be freed."),
    metric("redis_active_defrag_running", Gauge, field("active_defrag_running"), "Whether defragmentation runs."),
    metric("redis_number_of_cached_scripts", Gauge, field("number_of_cached_scripts"), "Scripts in the EVAL cache."),
    // Persistence (snapshots; no AOF: idle values)
    metric("redis_loading_dump_file", Gauge, field("loading"), "Whether a dump file is loading."),
    metric("redis_rdb_changes_since_last_save", Gauge, field("rdb_changes_since_last_save"), "Changes since the last save."),
    metric("redis_rdb_bgsave_in_progress", Gauge, field("rdb_bgsave_in_progress"), "Whether a BGSAVE runs."),
    metric("redis_rdb_last_save_timestamp_seconds", Gauge, field("rdb_last_save_time"), "Unix time of the last save."),
    metric("redis_rdb_last_bgsave_status", Gauge, field("rdb_last_bgsave_status"), "1 when the last BGSAVE succeeded."),
    metric("redis_rdb_last_bgsave_duration_sec", Gauge, field("rdb_last_bgsave_time_sec"), "Duration of the last BGSAVE."),
    metric("redis_rdb_current_bgsave_duration_sec", Gauge, field("rdb_current_bgsave_time_sec"), "Duration of the running BGSAVE."),
    metric("redis_rdb_last_cow_size_bytes", Gauge, field("rdb_last_cow_size"), "Copy-on-write bytes of the last BGSAVE."),
    metric("redis_aof_enabled", Gauge, field("aof_enabled"), "Whether AOF is on."),
    metric("redis_aof_rewrite_in_progress", Gauge, field("aof_rewrite_in_progress"), "Whether an AOF rewrite runs."),
    metric("redis_aof_rewrite_scheduled", Gauge, field("aof_rewrite_scheduled"), "Whether an AOF rewrite is scheduled."),
    metric("redis_aof_last_rewrite_duration_sec", Gauge, field("aof_last_rewrite_time_sec"), "Duration of the last AOF rewrite."),
    metric("redis_aof_current_rewrite_duration_sec", Gauge, field("aof_current_rewrite_time_sec"), "Duration of the running AOF rewrite."),
    metric("redis_aof_last_cow_size_bytes", Gauge, field("aof_last_cow_size"), "Copy-on-write bytes of the last AOF rewrite."),
    metric("redis_aof_last_bgrewrite_status", Gauge, field("aof_last_bgrewrite_status"), "1 when the last AOF rewrite succeeded."),
    metric("redis_aof_last_write_status", Gauge, field("aof_last_write_status"), "1 when the last AOF write succeeded."),
    metric("redis_module_fork_in_progress", Gauge, field("module_fork_in_progress"), "Whether a module fork runs."),
    metric("redis_module_fork_last_cow_size", Gauge, field("module_fork_last_cow_size"), "Copy-on-write bytes of the last module fork."),
    // Stats
    metric("redis_connections_received_total", Counter, field("total_connections_received"), "Connections accepted."),
    metric("redis_commands_processed_total", Counter, field("total_commands_processed"), "Commands processed."),
    metric("redis_rejected_connections_total", Counter, field("rejected_connections"), "Connections refused (maxclients)."),
    metric("redis_net_input_bytes_total", Counter, field("total_net_input_bytes"), "Bytes read from clients."),
    metric("redis_net_output_bytes_total", Counter, field("total_net_output_bytes"), "Bytes written to clients."),
    metric("redis_expired_keys_total", Counter, field("expired_keys"), "Keys expired."),
    metric("redis_evicted_keys_total", Counter, field("evicted_keys"), "Keys evicted."),
    metric("redis_keyspace_hits_total", Counter, field("keyspace_hits"), "Lookups that found their key."),
    metric("redis_keyspace_misses_total", Counter, field("keyspace_misses"), "Lookups that did not."),
    metric("redis_expired_stale_percentage", Gauge, field("expired_stale_perc"), "Estimated percentage of expired keys not yet removed."),
    metric("redis_expired_time_cap_reached_total", Gauge, field("expired_time_cap_reached_count"), "Active expiry cycles stopped by their time budget."),
    metric("redis_pubsub_channels", Gauge, field("pubsub_channels"), "Channels with subscribers."),
    metric("redis_pubsub_patterns", Gauge, field("pubsub_patterns"), "Patterns with subscribers."),
    metric("redis_latest_fork_seconds", Gauge, Info("latest_fork_usec", 1e-6), "Duration of the latest fork."),
    metric("redis_migrate_cached_sockets_total", Gauge, field("migrate_cached_sockets"), "Sockets cached by MIGRATE."),
    metric("redis_slave_expires_tracked_keys", Gauge, field("slave_expires_tracked_keys"), "Keys a replica tracks for expiry."),
    metric("redis_defrag_hits", Gauge, field("active_defrag_hits"), "Values moved by defragmentation."),
    metric("redis_defrag_misses", Gauge, field("active_defrag_misses"), "Values defragmentation skipped."),
    metric("redis_defrag_key_hits", Gauge, field("active_defrag_key_hits"), "Keys defragmented."),
    metric("redis_defrag_key_misses", Gauge, field("active_defrag_key_misses"), "Keys defragmentation skipped."),
    metric("redis_tracking_total_keys", Gauge, field("tracking_total_keys"), "Keys in the tracking table."),
    metric("redis_tracking_total_items", Gauge, field("tracking_total_items"), "Client ids in the tracking table."),
    metric("redis_tracking_total_prefixes", Gauge, field("tracking_total_prefixes"), "Prefixes in the broadcast tracking table."),
    metric("redis_total_error_replies", Gauge, field("total_error_replies"), "Error replies sent."),
    metric("redis_unexpected_error_replies", Gauge, field("unexpected_error_replies"), "Error replies of unexpected kinds."),
    metric("redis_dump_payload_sanitizations", Gauge, field("dump_payload_sanitizations"), "Deep DUMP payload checks."),
    metric("redis_total_reads_processed", Gauge, field("total_reads_processed"), "Socket reads."),
    metric("redis_total_writes_processed", Gauge, field("total_writes_processed"), "Socket writes."),
    metric("redis_io_threaded_reads_processed", Gauge, field("io_threaded_reads_processed"), "Reads done by I/O threads."),
    metric("redis_io_threaded_writes_processed", Gauge, field("io_threaded_writes_processed"), "Writes done by I/O threads."),
    // Replication (standalone: idle values)
    metric("redis_connected_slaves", Gauge, field("connected_slaves"), "Connected replicas."),
    metric("redis_replication_backlog_bytes", Gauge, field("repl_backlog_size"), "Replication backlog size."),
    metric("redis_repl_backlog_is_active", Gauge, field("repl_backlog_active"), "Whether the replication backlog is active."),
    metric("redis_repl_backlog_first_byte_offset", Gauge, field("repl_backlog_first_byte_offset"), "First offset in the replication backlog."),
    metric("redis_repl_backlog_history_bytes", Gauge, field("repl_backlog_histlen"), "Bytes in the replication backlog."),
    metric("redis_master_repl_offset", Gauge, field("master_repl_offset"), "Replication offset."),
    metric("redis_second_repl_offset", Gauge, field("second_repl_offset"), "Offset up to which replication ids are accepted."),
    metric("redis_replica_resyncs_full", Gauge, field("sync_full"), "Full resynchronizations."),
    metric("redis_replica_partial_resync_accepted", Gauge, field("sync_partial_ok"), "Partial resynchronizations accepted."),
    metric("redis_replica_partial_resync_denied", Gauge, field("sync_partial_err"), "Partial resynchronizations denied."),
    // CPU
    metric("redis_cpu_sys_seconds_total", Counter, field("used_cpu_sys"), "System CPU time."),
    metric("redis_cpu_user_seconds_total", Counter, field("used_cpu_user"), "User CPU time."),
    metric("redis_cpu_sys_children_seconds_total", Counter, field("used_cpu_sys_children"), "System CPU time of children."),
    metric("redis_cpu_user_children_seconds_total", Counter, field("used_cpu_user_children"), "User CPU time of children."),
    metric("redis_cpu_sys_main_thread_seconds_total", Counter, field("used_cpu_sys_main_thread"), "System CPU time of the main thread."),
    metric("redis_cpu_user_main_thread_seconds_total", Counter, field("used_cpu_user_main_thread"), "User CPU time of the main thread."),
    // Cluster
    metric("redis_cluster_enabled", Gauge, field("cluster_enabled"), "Whether cluster mode is on."),
    metric("redis_cluster_state", Gauge, Cluster("cluster_state"), "1 when CLUSTER INFO's cluster_state is ok."),
    metric("redis_cluster_slots_assigned", Gauge, Cluster("cluster_slots_assigned"), "Slots assigned to a node."),
    metric("redis_cluster_slots_ok", Gauge, Cluster("cluster_slots_ok"), "Slots whose node is not failing."),
    metric("redis_cluster_slots_pfail", Gauge, Cluster("cluster_slots_pfail"), "Slots whose node is possibly failing."),
    metric("redis_cluster_slots_fail", Gauge, Cluster("cluster_slots_fail"), "Slots whose node is failing."),
    metric("redis_cluster_known_nodes", Gauge, Cluster("cluster_known_nodes"), "Nodes in the cluster's configuration."),
    metric("redis_cluster_size", Gauge, Cluster("cluster_size"), "Masters serving at least one slot."),
    metric("redis_cluster_current_epoch", Gauge, Cluster("cluster_current_epoch"), "The cluster's current epoch."),
    metric("redis_cluster_my_epoch", Gauge, Cluster("cluster_my_epoch"), "This node's configuration epoch."),
    metric("redis_cluster_messages_sent_total", Gauge, Cluster("cluster_stats_messages_sent"), "Cluster bus messages sent (no gossip bus in cachet: 0)."),
    metric("redis_cluster_messages_received_total", Gauge, Cluster("cluster_stats_messages_received"), "Cluster bus messages received (no gossip bus in cachet: 0)."),
    // Commandstats, errorstats, latencystats, keyspace
    metric("redis_commands_total", Counter, lines("cmdstat_", CMD, "calls", 1.0), "Calls per command."),
    metric("redis_commands_duration_seconds_total", Counter, lines("cmdstat_", CMD, "usec", 1e6), "Time spent per command."),
    metric("redis_commands_rejected_calls_total", Counter, lines("cmdstat_", CMD, "rejected_calls", 1.0), "Calls refused before running, per command."),
    metric("redis_commands_failed_calls_total", Counter, lines("cmdstat_", CMD, "failed_calls", 1.0), "Calls that failed while running, per command."),
    metric("redis_errors_total", Counter, lines("errorstat_", &[Rest("err")], "count", 1.0), "Error replies per error code."),
    metric("redis_latency_percentiles_usec", Gauge, Derived, "Latency percentiles per command (latency-tracking-info-percentiles), microseconds."),
    metric("redis_latency_percentiles_usec_sum", Gauge, Derived, "Time spent per command, microseconds."),
    metric("redis_latency_percentiles_usec_count", Gauge, Derived, "Calls per command counted by the latency histograms."),
    metric("redis_db_keys", Gauge, Derived, "Keys per database."),
    metric("redis_db_keys_expiring", Gauge, Derived, "Keys with a TTL per database."),
    metric("redis_db_avg_ttl_seconds", Gauge, Derived, "Average TTL per database (not tracked: 0, as Redis's is an estimate)."),
    // CONFIG and SLOWLOG, as redis_exporter reads them
    metric("redis_config_maxclients", Gauge, Read(|s| s.config.read().maxclients as f64), "maxclients."),
    metric("redis_config_maxmemory", Gauge, Read(|s| s.config.read().maxmemory as f64), "maxmemory."),
    // cachet has no I/O threads: one, as Redis's default reports.
    metric("redis_config_io_threads", Gauge, Read(|_| 1.0), "io-threads."),
    metric("redis_slowlog_length", Gauge, Read(|s| s.slowlog.len() as f64), "Entries in the slow log."),
    metric("redis_slowlog_last_id", Gauge, Read(|s| newest_slow(s).0 as f64), "Id of the newest slow log entry."),
    metric("redis_last_slow_execution_duration_seconds", Gauge, Read(|s| newest_slow(s).1 as f64 / 1e6), "Duration of the newest slow log entry."),
    // cachet's own
    metric("cachet_shards", Gauge, field("shards"), "Keyspace shards."),
    metric("cachet_keys", Gauge, field("keys"), "Keys in every database."),
    metric("cachet_keyspace_memory_bytes", Gauge, field("keyspace_memory"), "The data's byte accounting (what maxmemory is enforced against)."),
    metric("cachet_maxmemory_keys", Gauge, field("maxmemory_keys"), "Most keys before eviction; 0: no limit."),
    metric("cachet_hit_ratio", Gauge, field("hit_ratio"), "Hits over lookups since the last reset."),
    metric("cachet_evicted_bytes_total", Counter, field("evicted_bytes"), "Bytes evicted."),
    metric("cachet_evicted_keys_by_priority_total", Counter, Derived, "Keys evicted per priority."),
    metric("cachet_evicted_bytes_by_priority_total", Counter, Derived, "Bytes evicted per priority."),
    metric("cachet_keys_by_priority", Gauge, Derived, "Keys per priority."),
    metric("cachet_eviction_pool_size", Gauge, field("eviction_pool_size"), "Candidates in the eviction pool."),
    metric("cachet_eviction_walks_total", Counter, field("eviction_walks"), "Evictions that had to walk the keyspace."),
    metric("cachet_tag_index_tags", Gauge, field("tag_index_labels"), "Tags in the tag index."),
    metric("cachet_tag_index_bytes", Gauge, field("tag_index_bytes"), "Bytes of the tag index."),
    metric("cachet_dependency_index_bytes", Gauge, field("dependency_index_bytes"), "Bytes of the dependency index."),
    metric("cachet_invalidated_keys_total", Counter, field("invalidated_keys"), "Keys invalidated by tag, dependency or pattern."),
    metric("cachet_invalidation_backlog", Gauge, field("invalidation_backlog"), "Invalidated keys the sweeper has yet to delete."),
    metric("cachet_prefix_hits_total", Counter, lines("prefix", PREFIX, "hits", 1.0), "Hits per stats-prefixes prefix."),
    metric("cachet_prefix_misses_total", Counter, lines("prefix", PREFIX, "misses", 1.0), "Misses per stats-prefixes prefix."),
    metric("cachet_prefix_hit_ratio", Gauge, lines("prefix", PREFIX, "hit_ratio", 1.0), "Hit ratio per stats-prefixes prefix."),
    metric("cachet_tag_keys", Gauge, Derived, "Keys carrying the tag, for the tags named by /metrics?tag=."),
    metric("cachet_tag_bytes", Gauge, Derived, "Bytes of the entries carrying the tag, for the tags named by /metrics?tag=."),
    metric("cachet_tag_hits_total", Counter, Derived, "Reads that hit an entry carrying the tag, for the tags named by /metrics?tag=."),
    metric("cachet_compressed_keys", Gauge, field("compressed_keys"), "Strings held compressed (compression-level, CACHE.SET COMPRESS)."),
    metric("cachet_compressed_bytes_before", Gauge, field("compressed_bytes_before"), "Original bytes of the strings held compressed."),
    metric("cachet_compressed_bytes_after", Gauge, field("compressed_bytes_after"), "Bytes those strings take compressed."),
    metric("cachet_compression_backlog_keys", Gauge, field("compression_backlog_keys"), "Strings stored raw, waiting for the background compressor (compression-backlog)."),
    metric("cachet_compression_backlog_bytes", Gauge, field("compression_backlog_bytes"), "Raw bytes of the strings waiting for the background compressor."),
    metric("cachet_compression_backlog_compressed_total", Counter, field("compression_backlog_compressed"), "Strings the background compressor compressed after their write."),
    metric("cachet_compression_hot_raw_keys", Gauge, field("compression_hot_raw_keys"), "Compressed strings a read found hot and stored raw again."),
    metric("cachet_compression_hot_raw_bytes", Gauge, field("compression_hot_raw_bytes"), "Bytes of the strings kept raw for being hot (at most half of compression-backlog)."),
    metric("cachet_compressed_values_total", Counter, field("compressed_values"), "Writes stored compressed."),
    metric("cachet_compression_skipped_values_total", Counter, field("compression_skipped_values"), "Writes stored raw for not shrinking by an eighth."),
    metric("cachet_decompressed_values_total", Counter, field("decompressed_values"), "Reads that decompressed a value."),
    metric("cachet_compress_cpu_seconds_total", Counter, Info("compress_cpu_us", 1e-6), "CPU time spent compressing."),
    metric("cachet_decompress_cpu_seconds_total", Counter, Info("decompress_cpu_us", 1e-6), "CPU time spent decompressing."),
    metric("cachet_compression_dicts", Gauge, field("compression_dicts"), "Compression dictionaries held (compression-dict), current or kept for the values written with them."),
    metric("cachet_compression_dicts_in_use", Gauge, field("compression_dicts_in_use"), "Dictionaries new writes of their prefix are compressed with."),
    metric("cachet_compression_dict_memory_bytes", Gauge, field("compression_dict_memory"), "Bytes of the dictionaries and of the samples kept to train them."),
    metric("cachet_compression_dict_trainings_total", Counter, field("compression_dict_trainings"), "Dictionaries trained since the start."),
    metric("cachet_compression_dict_missing_reads_total", Counter, field("compression_dict_missing_reads"), "Reads of a frame naming a dictionary this process does not have (read as empty: only a bug makes one)."),
    metric("cachet_prefix_dict_values", Gauge, lines("compression_dict_prefix", PREFIX, "values", 1.0), "Values compressed with the prefix's current dictionary."),
    metric("cachet_prefix_dict_ratio", Gauge, lines("compression_dict_prefix", PREFIX, "ratio", 1.0), "Compression ratio (before/after) of the values written with the prefix's current dictionary."),
    metric("cachet_region_keys", Gauge, lines("region_", REGION, "keys", 1.0), "Keys per region (CACHE.REGION)."),
    metric("cachet_region_used_memory_bytes", Gauge, lines("region_", REGION, "used_memory", 1.0), "Bytes of the region's entries."),
    metric("cachet_region_maxmemory_bytes", Gauge, lines("region_", REGION, "maxmemory", 1.0), "The region's byte budget (0: none)."),
    metric("cachet_region_maxmemory_keys", Gauge, lines("region_", REGION, "maxmemory_keys", 1.0), "The region's key budget (0: none)."),
    metric("cachet_region_hits_total", Counter, lines("region_", REGION, "hits", 1.0), "Reads that found a key of the region."),
    metric("cachet_region_misses_total", Counter, lines("region_", REGION, "misses", 1.0), "Reads of the region's prefix that found nothing."),
    metric("cachet_region_evicted_keys_total", Counter, lines("region_", REGION, "evicted_keys", 1.0), "Keys of the region evicted (its budget or the global one)."),
    metric("cachet_region_evicted_bytes_total", Counter, lines("region_", REGION, "evicted_bytes", 1.0), "Bytes of the region's evicted keys."),
    metric("cachet_prefix_compressed_values_total", Counter, lines("compression_prefix", PREFIX, "values", 1.0), "String writes tried for compression per stats-prefixes prefix."),
    metric("cachet_prefix_compress_bytes_before_total", Counter, lines("compression_prefix", PREFIX, "bytes_before", 1.0), "Bytes of those writes before compression per stats-prefixes prefix."),
    metric("cachet_prefix_compress_bytes_after_total", Counter, lines("compression_prefix", PREFIX, "bytes_after", 1.0), "Bytes of those writes as stored per stats-prefixes prefix."),
    metric("cachet_prefix_compress_cpu_seconds_total", Counter, Lines { prefix: "compression_prefix", labels: PREFIX, field: "compress_cpu_us", per: 1e6 }, "CPU time spent compressing per stats-prefixes prefix."),
    metric("cachet_command_duration_seconds", Histogram, Derived, "Latency per command (latency-tracking must be on)."),
    // The admin port itself
    metric("cachet_admin_connections", Gauge, Read(|s| count(&s.admin.connections)), "Admin-port connections open."),
    metric("cachet_admin_connections_received_total", Counter, Read(|s| count(&s.admin.connections_received)), "Admin-port connections accepted."),
    metric("cachet_admin_rejected_connections_total", Counter, Read(|s| count(&s.admin.rejected_connections)), "Admin-port connections refused at admin-maxclients."),
    metric("cachet_admin_timeouts_total", Counter, Read(|s| count(&s.admin.timeouts)), "Admin-port connections closed for a request sent, or a response read, slower than admin-timeout."),
    // Coherence
    metric("cachet_coherence_enabled", Gauge, field("coherence_enabled"), "Whether coherence is on."),
    metric("cachet_coherence_messages_sent_total", Counter, field("messages_sent"), "Invalidation messages published."),
    metric("cachet_coherence_items_sent_total", Counter, field("items_sent"), "Keys in the messages published."),
    metric("cachet_coherence_pending_items", Gauge, field("pending_items"), "Keys waiting to be published."),
    metric("cachet_coherence_send_overflows_total", Counter, field("send_overflows"), "Times the pending queue overflowed."),
    metric("cachet_coherence_messages_received_total", Counter, field("messages_received"), "Invalidation messages received."),
    metric("cachet_coherence_items_applied_total", Counter, field("items_applied"), "Invalidations applied."),
    metric("cachet_coherence_malformed_messages_total", Counter, field("malformed_messages"), "Messages that did not parse."),
    metric("cachet_coherence_forged_messages_total", Counter, field("forged_messages"), "Messages whose signature did not verify."),
    metric("cachet_coherence_gaps_total", Counter, field("gaps"), "Sequence gaps seen on links."),
    metric("cachet_coherence_link_losses_total", Counter, field("link_losses"), "Links lost."),
    metric("cachet_coherence_recoveries_total", Counter, field("recoveries"), "Links recovered."),
    metric("cachet_coherence_replays_total", Counter, field("replays"), "Replays asked of peers."),
    metric("cachet_coherence_replayed_messages_total", Counter, field("replayed_messages"), "Messages received by replays."),
    metric("cachet_coherence_replays_served_total", Counter, field("replays_served"), "Replays served to peers."),
    metric("cachet_coherence_backlog_messages", Gauge, field("backlog_messages"), "Messages in the replay backlog."),
    metric("cachet_coherence_backlog_bytes", Gauge, field("backlog_bytes"), "Bytes of the replay backlog."),
    metric("cachet_coherence_peers", Gauge, field("peers"), "Links followed."),
    metric("cachet_coherence_peers_up", Gauge, field("peers_up"), "Links up."),
    metric("cachet_coherence_peer_up", Gauge, Derived, "1 when the link to the peer is up, per peer."),
    metric("cachet_coherence_peer_lag_seconds", Gauge, lines("peer", PEER, "lag_ms", 1000.0), "Lag of the peer's last message, per peer."),
    metric("cachet_coherence_peer_messages_total", Counter, lines("peer", PEER, "messages", 1.0), "Messages received per peer."),
    metric("cachet_coherence_peer_connects_total", Counter, lines("peer", PEER, "connects", 1.0), "Connections made per peer."),
    metric("cachet_coherence_peer_gaps_total", Counter, lines("peer", PEER, "gaps", 1.0), "Sequence gaps seen per peer."),
    metric("cachet_coherence_peer_replays_total", Counter, lines("peer", PEER, "replays", 1.0), "Replays that filled a gap or caught up, per peer."),
    metric("cachet_coherence_peer_link_losses_total", Counter, lines("peer", PEER, "losses", 1.0), "Times the link to the peer was lost."),
    // Snapshots
    metric("cachet_snapshot_age_seconds", Gauge, Read(snapshot_age), "Seconds since the last successful snapshot (or the snapshot loaded at start, or the start)."),
    metric("cachet_snapshots_total", Counter, field("rdb_saves"), "Snapshots written (SAVE, BGSAVE, the save schedule, shutdown)."),
    metric("cachet_snapshot_keys_processed", Gauge, field("current_save_keys_processed"), "Keys written by the snapshot in progress."),
    metric("cachet_snapshot_keys", Gauge, field("current_save_keys_total"), "Keys the snapshot in progress will write."),
    metric("cachet_snapshot_loaded_keys", Gauge, field("rdb_last_load_keys_loaded"), "Keys loaded from the snapshot at start."),
    metric("cachet_snapshot_load_expired_keys", Gauge, field("rdb_last_load_keys_expired"), "Keys of the snapshot already expired at start, not loaded."),
    metric("cachet_loading_progress_ratio", Gauge, Info("loading_loaded_perc", 0.01), "Share of the snapshot loaded (only while it loads)."),
    metric("cachet_accepting", Gauge, Read(|s| f64::from(u8::from(s.loaded.load(Ordering::Acquire)))), "1 once the dataset is loaded and commands are served."),
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
