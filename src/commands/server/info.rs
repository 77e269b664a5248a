//! `INFO [section ...]`: the server's figures under Redis 7's section and field names, formatted
//! as Redis does (`# Section` headers, `name:value` lines, CRLF, one empty line between sections,
//! sections always in Redis's order whatever order they were asked in). Every field Redis 7.0
//! prints is there, in Redis's order, because exporters read them by name; a field about a
//! feature cachet does not have (AOF, replication, defragmentation, forks)
//! reports that feature's idle value: 0, `-1` for "never", `ok` for a status.
//!
//! `used_memory` is the keyspace's own byte accounting (entries and table slots, rounded to the
//! allocator's size classes) plus the allocator's usage measured at start-up. The data accounting
//! is the figure that matters: it is what a memory limit is enforced against. The allocator's and
//! the kernel's views are reported beside it (`allocator_*`, `used_memory_rss`).

use std::fmt::Display;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::commands::observe::slot_names;
use crate::commands::{CommandSpec, Ctx, SPEC};
use crate::engine::lru_clock;
use crate::engine::memory::allocator_stats_active;
use crate::error::CmdResult;
use crate::state::config::find_directive;
use crate::state::config::trimmed_double;
use crate::state::{Server, CACHET_VERSION, REDIS_COMPAT_VERSION};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "info",
    arity: -1,
    flags: flags!(LOADING, STALE),
    acl_categories: acl!(SLOW, DANGEROUS),
    group: "server",
    summary: "Get information and statistics about the server",
    handler: Some(info),
    ..SPEC
}];

mod own_sections;

use own_sections::{cachet_section, coherence_section, compression_section, regions_section};

type SectionWriter = fn(&mut InfoText, &Server);

/// Every section, in the order Redis prints them, with whether `INFO` without arguments shows it.
const SECTIONS: &[(&str, bool, SectionWriter)] = &[
    ("server", true, server_section),
    ("clients", true, clients_section),
    ("memory", true, memory_section),
    ("persistence", true, persistence_section),
    ("stats", true, stats_section),
    ("replication", true, replication_section),
    ("cpu", true, cpu_section),
    ("modules", true, modules_section),
    ("commandstats", false, commandstats_section),
    ("errorstats", true, errorstats_section),
    ("latencystats", false, latencystats_section),
    ("cluster", true, cluster_section),
    ("keyspace", true, keyspace_section),
    ("cachet", false, cachet_section),
    ("compression", false, compression_section),
    ("coherence", false, coherence_section),
    ("regions", false, regions_section),
];

fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let text = info_text(ctx.server, &args[1..]);
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// INFO's text for the sections `args` names (as INFO's arguments), which the admin port's
/// `/metrics` and `/v1/info` read as redis_exporter reads INFO.
pub fn info_text(server: &Server, args: &[Bytes]) -> String {
    let wanted = selected_sections(args);
    let mut text = InfoText::default();
    for (index, (_, _, write)) in SECTIONS.iter().enumerate() {
        if wanted[index] {
            write(&mut text, server);
        }
    }
    text.text
}

/// Which of `SECTIONS` to print: `default` (or no argument) for the default ones, `all` and
/// `everything` for all of them (cachet has no modules; its own sections play the part of a
/// module's), names for themselves; unknown names add nothing.
fn selected_sections(args: &[Bytes]) -> Vec<bool> {
    let mut wanted = vec![false; SECTIONS.len()];
    let defaults = |wanted: &mut Vec<bool>| {
        for (slot, (_, default, _)) in wanted.iter_mut().zip(SECTIONS) {
            *slot |= *default;
        }
    };
    if args.is_empty() {
        defaults(&mut wanted);
    }
    for arg in args {
        if arg.eq_ignore_ascii_case(b"default") {
            defaults(&mut wanted);
        } else if arg.eq_ignore_ascii_case(b"all") || arg.eq_ignore_ascii_case(b"everything") {
            wanted.iter_mut().for_each(|slot| *slot = true);
        } else if let Some(index) = SECTIONS
            .iter()
            .position(|(name, _, _)| arg.eq_ignore_ascii_case(name.as_bytes()))
        {
            wanted[index] = true;
        }
    }
    wanted
}

#[derive(Default)]
struct InfoText {
    text: String,
    sections: usize,
}

impl InfoText {
    fn section(&mut self, title: &str) {
        if self.sections > 0 {
            self.text.push_str("\r\n");
        }
        self.sections += 1;
        self.text.push_str("# ");
        self.text.push_str(title);
        self.text.push_str("\r\n");
    }

    fn field(&mut self, name: &str, value: impl Display) {
        use std::fmt::Write;
        let _ = write!(self.text, "{name}:{value}\r\n");
    }

    /// A line of figures about one key prefix (a region, a `stats-prefixes` entry, a dictionary's),
    /// `name:key=value,...` in the shape of Redis's `db0:keys=...`; the prefix (client bytes,
    /// shown as UTF-8) is one of them, last where a comma in it must not shift the figures.
    fn prefix_line(&mut self, name: &str, figures: &[(&str, &dyn Display)]) {
        use std::fmt::Write;
        let _ = write!(self.text, "{name}:");
        for (i, (key, value)) in figures.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(self.text, "{comma}{key}={value}");
        }
        self.text.push_str("\r\n");
    }
}

/// Bytes as Redis's `bytesToHuman`: `512B`, `1.13M`, `2.00G`.
pub fn bytes_to_human(bytes: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    for (size, unit) in UNITS {
        if bytes >= size {
            return format!("{:.2}{unit}", bytes as f64 / size as f64);
        }
    }
    format!("{bytes}B")
}

fn config_value(server: &Server, name: &str) -> Option<String> {
    let directive = find_directive(name)?;
    Some((directive.get)(&server.config.read()))
}

fn server_section(info: &mut InfoText, server: &Server) {
    let config_file = server
        .config
        .file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let hz = server.config.read().hz;
    let uptime = server.started.elapsed().as_secs();
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    let executable = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    info.section("Server");
    info.field("redis_version", REDIS_COMPAT_VERSION);
    info.field("cachet_version", CACHET_VERSION);
    info.field("redis_git_sha1", "00000000");
    info.field("redis_git_dirty", 0);
    info.field("redis_build_id", 0);
    let mode = if server.cluster.enabled() {
        "cluster"
    } else {
        "standalone"
    };
    info.field("redis_mode", mode);
    info.field("os", crate::os::name());
    info.field("arch_bits", usize::BITS);
    info.field("monotonic_clock", crate::os::ticks::description());
    info.field(
        "multiplexing_api",
        if cfg!(target_os = "linux") {
            "epoll"
        } else {
            "kqueue"
        },
    );
    // Rust's atomics are C11's; Redis prints 0.0.0 when it was not built by GCC.
    info.field("atomicvar_api", "c11-builtin");
    info.field("gcc_version", "0.0.0");
    info.field("process_id", std::process::id());
    info.field("process_supervised", "no");
    info.field("run_id", &server.run_id);
    info.field("tcp_port", server.local_addr.port());
    info.field("server_time_usec", now_us);
    info.field("uptime_in_seconds", uptime);
    info.field("uptime_in_days", uptime / 86400);
    info.field("hz", hz);
    info.field("configured_hz", hz);
    info.field("lru_clock", lru_clock((now_us / 1000) as u64));
    info.field("executable", executable);
    info.field("config_file", config_file);
    info.field("io_threads_active", 0);
}

fn clients_section(info: &mut InfoText, server: &Server) {
    let clients = server.clients.all();
    let (mut max_input, mut max_output) = (0, 0);
    for client in &clients {
        let details = client.details();
        max_input = max_input.max(details.query_buffer + details.query_buffer_free);
        max_output = max_output.max(details.output_bytes);
    }
    info.section("Clients");
    info.field("connected_clients", clients.len());
    info.field("cluster_connections", 0);
    info.field("maxclients", server.config.read().maxclients);
    info.field("client_recent_max_input_buffer", max_input);
    info.field("client_recent_max_output_buffer", max_output);
    info.field(
        "blocked_clients",
        server.blocking.blocked_clients() + server.pause.held(),
    );
    info.field("tracking_clients", server.tracking.sizes().0);
    info.field(
        "clients_in_timeout_table",
        server.blocking.blocked_with_timeout(),
    );
}

fn ratio(numerator: u64, denominator: u64) -> String {
    if denominator == 0 {
        "0.00".to_string()
    } else {
        format!("{:.2}", numerator as f64 / denominator as f64)
    }
}

fn percent(numerator: u64, denominator: u64) -> String {
    format!("{}%", ratio(numerator * 100, denominator))
}

fn memory_section(info: &mut InfoText, server: &Server) {
    // One walk of the shards, so that used = startup + dataset holds in the reply.
    let dataset = server.keyspace.memory() as u64;
    let baseline = server.keyspace.baseline.load(Ordering::Relaxed) as u64;
    let used = dataset + baseline;
    let peak = server
        .stats
        .memory_peak
        .fetch_max(used, Ordering::Relaxed)
        .max(used);
    let (allocated, active, resident) = allocator_stats_active();
    let (allocated, active, resident) = (allocated as u64, active as u64, resident as u64);
    let rss = crate::os::rss_bytes().unwrap_or(resident);
    let system = crate::os::total_system_memory();
    let maxmemory: u64 = config_value(server, "maxmemory")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let policy =
        config_value(server, "maxmemory-policy").unwrap_or_else(|| "noeviction".to_string());
    let clients_normal: u64 = server
        .clients
        .all()
        .iter()
        .map(|client| {
            let details = client.details();
            (details.query_buffer + details.query_buffer_free + details.output_bytes) as u64
        })
        .sum();
    let signed = |a: u64, b: u64| a as i64 - b as i64;
    info.section("Memory");
    info.field("used_memory", used);
    info.field("used_memory_human", bytes_to_human(used));
    info.field("used_memory_rss", rss);
    info.field("used_memory_rss_human", bytes_to_human(rss));
    info.field("used_memory_peak", peak);
    info.field("used_memory_peak_human", bytes_to_human(peak));
    info.field("used_memory_peak_perc", percent(used, peak));
    // What is not the dataset is the start-up baseline: used = overhead + dataset, as in Redis.
    info.field("used_memory_overhead", baseline);
    info.field("used_memory_startup", baseline);
    info.field("used_memory_dataset", dataset);
    info.field("used_memory_dataset_perc", percent(dataset, dataset.max(1)));
    info.field("allocator_allocated", allocated);
    info.field("allocator_active", active);
    info.field("allocator_resident", resident);
    info.field("total_system_memory", system);
    info.field("total_system_memory_human", bytes_to_human(system));
    // The scripting figures, in Redis 7.0's order (the handlers publish them: no VM lock here,
    // which a running script holds).
    let scripts = &server.scripting.stats;
    let load = |n: &std::sync::atomic::AtomicUsize| n.load(Ordering::Relaxed) as u64;
    let (vm_eval, vm_functions) = (
        load(&scripts.eval_vm_bytes),
        load(&scripts.functions_vm_bytes),
    );
    let scripts_eval = load(&scripts.eval_bodies);
    let functions_code = load(&scripts.functions_code);
    info.field("used_memory_lua", vm_eval);
    info.field("used_memory_vm_eval", vm_eval);
    info.field("used_memory_lua_human", bytes_to_human(vm_eval));
    info.field("used_memory_scripts_eval", scripts_eval);
    info.field("number_of_cached_scripts", load(&scripts.eval_scripts));
    info.field("number_of_functions", load(&scripts.functions));
    info.field("number_of_libraries", load(&scripts.libraries));
    info.field("used_memory_vm_functions", vm_functions);
    info.field("used_memory_vm_total", vm_eval + vm_functions);
    info.field(
        "used_memory_vm_total_human",
        bytes_to_human(vm_eval + vm_functions),
    );
    info.field("used_memory_functions", functions_code);
    info.field("used_memory_scripts", scripts_eval + functions_code);
    info.field(
        "used_memory_scripts_human",
        bytes_to_human(scripts_eval + functions_code),
    );
    info.field("maxmemory", maxmemory);
    info.field("maxmemory_human", bytes_to_human(maxmemory));
    info.field("maxmemory_policy", policy);
    info.field("allocator_frag_ratio", ratio(active, allocated));
    info.field("allocator_frag_bytes", signed(active, allocated));
    info.field("allocator_rss_ratio", ratio(resident, active));
    info.field("allocator_rss_bytes", signed(resident, active));
    info.field("rss_overhead_ratio", ratio(rss, resident));
    info.field("rss_overhead_bytes", signed(rss, resident));
    info.field("mem_fragmentation_ratio", ratio(rss, used));
    info.field("mem_fragmentation_bytes", signed(rss, used));
    info.field("mem_not_counted_for_evict", 0);
    info.field("mem_replication_backlog", 0);
    info.field("mem_total_replication_buffers", 0);
    info.field("mem_clients_slaves", 0);
    info.field("mem_clients_normal", clients_normal);
    info.field("mem_cluster_links", 0);
    info.field("mem_aof_buffer", 0);
    info.field("mem_allocator", "jemalloc-5.3.0");
    info.field("active_defrag_running", 0);
    info.field("lazyfree_pending_objects", 0);
    info.field("lazyfreed_objects", 0);
}

/// Redis 7.0's fields in its order. No fork ever runs (a save walks the shards in-process), so the
/// copy-on-write figures stay 0; `loading_*` appear while the snapshot loads, as in Redis.
fn persistence_section(info: &mut InfoText, server: &Server) {
    let persistence = &server.persistence;
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let loading = crate::state::persistence::loading_progress(server);
    let bgsave = persistence.bgsave_in_progress();
    info.section("Persistence");
    info.field("loading", loading.is_some() as u8);
    info.field("async_loading", 0);
    info.field("current_cow_peak", 0);
    info.field("current_cow_size", 0);
    info.field("current_cow_size_age", 0);
    info.field("current_fork_perc", "0.00");
    let (processed, total) = match persistence.saving() {
        true => (
            load(&persistence.keys_processed),
            load(&persistence.keys_total),
        ),
        false => (0, 0),
    };
    info.field("current_save_keys_processed", processed);
    info.field("current_save_keys_total", total);
    info.field("rdb_changes_since_last_save", load(&persistence.dirty));
    info.field("rdb_bgsave_in_progress", bgsave as u8);
    info.field(
        "rdb_last_save_time",
        server.last_save.load(Ordering::Relaxed),
    );
    info.field(
        "rdb_last_bgsave_status",
        if persistence.last_bgsave_ok.load(Ordering::Relaxed) {
            "ok"
        } else {
            "err"
        },
    );
    info.field(
        "rdb_last_bgsave_time_sec",
        persistence.last_bgsave_secs.load(Ordering::Relaxed),
    );
    info.field(
        "rdb_current_bgsave_time_sec",
        persistence.current_bgsave_secs(),
    );
    info.field("rdb_saves", load(&persistence.saves));
    info.field("rdb_last_cow_size", 0);
    info.field(
        "rdb_last_load_keys_expired",
        load(&persistence.loading.keys_expired),
    );
    info.field(
        "rdb_last_load_keys_loaded",
        load(&persistence.loading.keys_loaded),
    );
    info.field("aof_enabled", 0);
    info.field("aof_rewrite_in_progress", 0);
    info.field("aof_rewrite_scheduled", 0);
    info.field("aof_last_rewrite_time_sec", -1);
    info.field("aof_current_rewrite_time_sec", -1);
    info.field("aof_last_bgrewrite_status", "ok");
    info.field("aof_rewrites", 0);
    info.field("aof_rewrites_consecutive_failures", 0);
    info.field("aof_last_write_status", "ok");
    info.field("aof_last_cow_size", 0);
    info.field("module_fork_in_progress", 0);
    info.field("module_fork_last_cow_size", 0);
    if let Some((start, total, percent, loaded, elapsed)) = loading {
        info.field("loading_start_time", start);
        info.field("loading_total_bytes", total);
        info.field("loading_rdb_used_mem", server.used_memory());
        info.field("loading_loaded_bytes", loaded);
        info.field("loading_loaded_perc", format!("{percent:.2}"));
        let eta = match loaded {
            0 => 1,
            _ => (elapsed * total.saturating_sub(loaded)) / loaded,
        };
        info.field("loading_eta_seconds", eta);
    }
}

fn kbps(bytes_per_sec: u64) -> String {
    format!("{:.2}", bytes_per_sec as f64 / 1024.0)
}

fn stats_section(info: &mut InfoText, server: &Server) {
    let stats = &server.stats;
    let keyspace = server.keyspace.stats();
    let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    info.section("Stats");
    info.field(
        "total_connections_received",
        load(&stats.connections_received),
    );
    info.field("total_commands_processed", server.metrics.processed());
    info.field("instantaneous_ops_per_sec", stats.ops_per_sec.per_second());
    info.field("total_net_input_bytes", load(&stats.net_input_bytes));
    info.field("total_net_output_bytes", load(&stats.net_output_bytes));
    info.field("total_net_repl_input_bytes", 0);
    info.field("total_net_repl_output_bytes", 0);
    info.field(
        "instantaneous_input_kbps",
        kbps(stats.input_bytes_per_sec.per_second()),
    );
    info.field(
        "instantaneous_output_kbps",
        kbps(stats.output_bytes_per_sec.per_second()),
    );
    info.field("instantaneous_input_repl_kbps", "0.00");
    info.field("instantaneous_output_repl_kbps", "0.00");
    info.field("rejected_connections", load(&stats.rejected_connections));
    info.field("sync_full", 0);
    info.field("sync_partial_ok", 0);
    info.field("sync_partial_err", 0);
    info.field("expired_keys", keyspace.expired);
    info.field("expired_stale_perc", "0.00");
    info.field("expired_time_cap_reached_count", 0);
    info.field(
        "expire_cycle_cpu_milliseconds",
        load(&stats.expire_cycle_micros) / 1000,
    );
    info.field("expired_subkeys", keyspace.expired_fields);
    info.field(
        "evicted_keys",
        server
            .keyspace
            .evictions
            .evicted_keys
            .load(Ordering::Relaxed),
    );
    info.field("evicted_clients", 0);
    info.field("total_eviction_exceeded_time", 0);
    info.field("current_eviction_exceeded_time", 0);
    info.field("keyspace_hits", keyspace.hits);
    info.field("keyspace_misses", keyspace.misses);
    let (channels, patterns, shard_channels) = server.pubsub.sizes();
    info.field("pubsub_channels", channels);
    info.field("pubsub_patterns", patterns);
    info.field("pubsubshard_channels", shard_channels);
    info.field("latest_fork_usec", 0);
    info.field("total_forks", 0);
    info.field("migrate_cached_sockets", server.migrate_sockets.len());
    info.field("slave_expires_tracked_keys", 0);
    info.field("active_defrag_hits", 0);
    info.field("active_defrag_misses", 0);
    info.field("active_defrag_key_hits", 0);
    info.field("active_defrag_key_misses", 0);
    info.field("total_active_defrag_time", 0);
    info.field("current_active_defrag_time", 0);
    let (_, keys, items, prefixes) = server.tracking.sizes();
    info.field("tracking_total_keys", keys);
    info.field("tracking_total_items", items);
    info.field("tracking_total_prefixes", prefixes);
    info.field("unexpected_error_replies", 0);
    info.field("total_error_replies", server.metrics.total_error_replies());
    info.field("dump_payload_sanitizations", 0);
    info.field("total_reads_processed", load(&stats.reads_processed));
    info.field("total_writes_processed", load(&stats.writes_processed));
    info.field("io_threaded_reads_processed", 0);
    info.field("io_threaded_writes_processed", 0);
    info.field("reply_buffer_shrinks", 0);
    info.field("reply_buffer_expands", 0);
}

/// cachet has no replication: always a master without replicas.
fn replication_section(info: &mut InfoText, server: &Server) {
    info.section("Replication");
    info.field("role", "master");
    info.field("connected_slaves", 0);
    info.field("master_failover_state", "no-failover");
    info.field("master_replid", &server.run_id);
    info.field("master_replid2", "0".repeat(40));
    info.field("master_repl_offset", 0);
    info.field("second_repl_offset", -1);
    info.field("repl_backlog_active", 0);
    info.field(
        "repl_backlog_size",
        config_value(server, "repl-backlog-size").unwrap_or_else(|| "1048576".into()),
    );
    info.field("repl_backlog_first_byte_offset", 0);
    info.field("repl_backlog_histlen", 0);
}

fn cpu_seconds(time: std::time::Duration) -> String {
    format!("{}.{:06}", time.as_secs(), time.subsec_micros())
}

fn cpu_section(info: &mut InfoText, _server: &Server) {
    let (own, children) = crate::os::cpu_times();
    info.section("CPU");
    info.field("used_cpu_sys", cpu_seconds(own.system));
    info.field("used_cpu_user", cpu_seconds(own.user));
    info.field("used_cpu_sys_children", cpu_seconds(children.system));
    info.field("used_cpu_user_children", cpu_seconds(children.user));
    // cachet has no main thread: every worker thread runs commands, so the process's figures.
    info.field("used_cpu_sys_main_thread", cpu_seconds(own.system));
    info.field("used_cpu_user_main_thread", cpu_seconds(own.user));
}

/// No modules: the header alone, as Redis prints it without any.
fn modules_section(info: &mut InfoText, _server: &Server) {
    info.section("Modules");
}

/// `cmdstat_<name>:calls=...`: every command and subcommand called or refused since the last
/// `CONFIG RESETSTAT`, in the command table's order.
fn commandstats_section(info: &mut InfoText, server: &Server) {
    info.section("Commandstats");
    let names = slot_names();
    for (name, total) in names.iter().zip(server.metrics.command_totals(names.len())) {
        if total.calls == 0 && total.failed == 0 && total.rejected == 0 {
            continue;
        }
        let per_call = if total.calls == 0 {
            0.0
        } else {
            total.micros as f64 / total.calls as f64
        };
        info.field(
            &format!("cmdstat_{name}"),
            format!(
                "calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}",
                total.calls, total.micros, total.rejected, total.failed
            ),
        );
    }
}

/// `errorstat_<code>:count=...`, by error code in byte order.
fn errorstats_section(info: &mut InfoText, server: &Server) {
    info.section("Errorstats");
    for (code, count) in server.metrics.errors() {
        info.field(
            &format!("errorstat_{}", String::from_utf8_lossy(&code)),
            format!("count={count}"),
        );
    }
}

/// `latency_percentiles_usec_<name>:p50=...`: the `latency-tracking-info-percentiles` of every
/// command with samples.
fn latencystats_section(info: &mut InfoText, server: &Server) {
    info.section("Latencystats");
    let percentiles = server
        .config
        .read()
        .latency_tracking_info_percentiles
        .clone();
    for (slot, name) in slot_names().iter().enumerate() {
        let Some(histogram) = server.metrics.histogram(slot) else {
            continue;
        };
        let values: Vec<String> = percentiles
            .iter()
            .map(|p| {
                format!(
                    "p{}={:.3}",
                    trimmed_double(*p),
                    histogram.value_at_percentile(*p) as f64 / 1000.0
                )
            })
            .collect();
        info.field(
            &format!("latency_percentiles_usec_{name}"),
            values.join(","),
        );
    }
}

fn cluster_section(info: &mut InfoText, server: &Server) {
    info.section("Cluster");
    info.field("cluster_enabled", u8::from(server.cluster.enabled()));
}

fn keyspace_section(info: &mut InfoText, server: &Server) {
    info.section("Keyspace");
    for (db, (keys, expires)) in server.keyspace.db_sizes().into_iter().enumerate() {
        if keys > 0 {
            info.field(
                &format!("db{db}"),
                format!("keys={keys},expires={expires},avg_ttl=0"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_like_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1186200), "1.13M");
        assert_eq!(bytes_to_human(25276502016), "23.54G");
        assert_eq!(bytes_to_human(32768), "32.00K");
    }

    #[test]
    fn sections_by_name_default_and_all() {
        let picked = |args: &[&str]| {
            let args: Vec<Bytes> = args
                .iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect();
            let wanted = selected_sections(&args);
            SECTIONS
                .iter()
                .zip(wanted)
                .filter(|(_, w)| *w)
                .map(|((name, _, _), _)| *name)
                .collect::<Vec<_>>()
        };
        assert_eq!(picked(&["KEYSPACE", "server"]), ["server", "keyspace"]);
        assert_eq!(picked(&["nosuch"]), Vec::<&str>::new());
        // cachet, compression, coherence, regions, commandstats and latencystats are asked for
        // by name (or all / everything).
        assert_eq!(picked(&[]).len(), SECTIONS.len() - 6);
        assert_eq!(picked(&["default"]), picked(&[]));
        assert_eq!(picked(&["everything"]).len(), SECTIONS.len());
        assert_eq!(picked(&["all"]).len(), SECTIONS.len());
        assert_eq!(picked(&["cachet"]), ["cachet"]);
        assert_eq!(picked(&["coherence"]), ["coherence"]);
        assert_eq!(picked(&["compression"]), ["compression"]);
        assert_eq!(picked(&["regions"]), ["regions"]);
    }
}
