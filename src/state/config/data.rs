//! The directives about what the keyspace keeps, after `table.rs`'s in redis.conf order of topics:
//! persistence, memory and eviction, compression, the slow log and latency, the collections'
//! encodings, clients' output limits, keyspace notifications, per-prefix statistics.

use super::{
    boolean, c_str, int, memory, one, parse_memory, percentiles, text, trimmed_double, yes_no,
    Directive,
};
use crate::engine::{compress, Policy};
use crate::state::pubsub::{keyspace_events_text, parse_keyspace_events, set_output_buffer_limits};

/// A prefix delimiter is a separator, not a prefix: a few bytes.
const MAX_DICT_DELIMITER: usize = 16;

pub static DIRECTIVES: &[Directive] = &[
    Directive {
        name: "save",
        default: "3600 1 300 100 60 10000",
        mutable: true,
        protected: false,
        help: "Snapshot schedule: pairs of <seconds> <changes>; a snapshot is written when any pair is met. \"\" turns scheduled snapshots off (SAVE and BGSAVE still work).",
        get: |c| c.save.clone(),
        set: |c, a| {
            // Each word a C string (`strtoll`); a single one that reads as "" turns them off.
            let mut words: Vec<&str> = a
                .iter()
                .flat_map(|w| w.split_whitespace())
                .map(c_str)
                .collect();
            if words == [""] {
                words.clear();
            }
            if !words.len().is_multiple_of(2) {
                return Err("Invalid save parameters".into());
            }
            // Redis's rule: seconds at least 1, changes at least 0 (`3600 0` saves every hour
            // whatever changed); a word `strtoll` reads whole, so an empty one (what a NUL left)
            // is 0.
            let number = |w: &str| if w.is_empty() { Some(0) } else { w.parse::<i64>().ok() };
            let mut points = Vec::new();
            for pair in words.chunks(2) {
                let seconds = number(pair[0]).filter(|n| *n >= 1);
                let changes = number(pair[1]).filter(|n| *n >= 0);
                match (seconds, changes) {
                    (Some(seconds), Some(changes)) => points.push((seconds as u64, changes as u64)),
                    _ => return Err("Invalid save parameters".into()),
                }
            }
            c.save = points
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(" ");
            c.save_points = points;
            Ok(())
        },
    },
    Directive {
        name: "rdbcompression",
        default: "yes",
        mutable: true,
        protected: false,
        help: "Compress snapshot sections with zstd.",
        get: |c| yes_no(c.rdbcompression),
        set: |c, a| {
            c.rdbcompression = boolean(a)?;
            Ok(())
        },
    },
    Directive {
        name: "stop-writes-on-bgsave-error",
        default: "yes",
        mutable: true,
        protected: false,
        help: "Refuse writes (MISCONF) while the last background snapshot failed and a schedule is set.",
        get: |c| yes_no(c.stop_writes_on_bgsave_error),
        set: |c, a| {
            c.stop_writes_on_bgsave_error = boolean(a)?;
            Ok(())
        },
    },
    Directive {
        name: "snapshot-load-failure",
        default: "refuse",
        mutable: true,
        protected: false,
        help: "When the snapshot at start cannot be read: refuse to start, or start empty (the bad file is kept).",
        get: |c| if c.snapshot_load_failure_empty { "empty" } else { "refuse" }.to_string(),
        set: |c, a| {
            c.snapshot_load_failure_empty = match one(a)?.to_ascii_lowercase().as_str() {
                "refuse" => false,
                "empty" => true,
                _ => return Err("argument(s) must be one of the following: refuse, empty".into()),
            };
            Ok(())
        },
    },
    Directive {
        name: "key-load-delay",
        default: "0",
        mutable: true,
        protected: false,
        help: "Microseconds slept per key while the snapshot loads at start (negative -n: one microsecond, once in n keys on average), as Redis's (hidden there), to test a long load.",
        get: |c| c.key_load_delay.to_string(),
        set: |c, a| {
            c.key_load_delay = int(a, i32::MIN as i64, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "appendonly",
        default: "no",
        mutable: true,
        protected: false,
        help: "Append-only file; cachet does not persist, so only no.",
        get: |c| yes_no(c.appendonly),
        set: |c, a| {
            if boolean(a)? {
                return Err("cachet does not support AOF persistence".into());
            }
            c.appendonly = false;
            Ok(())
        },
    },
    Directive {
        name: "dir",
        default: ".",
        mutable: true,
        protected: true,
        help: "Working directory for files the server writes.",
        get: |c| c.dir.clone(),
        set: |c, a| {
            c.dir = text(a)?.to_string();
            Ok(())
        },
    },
    Directive {
        name: "dbfilename",
        default: "dump.cachet",
        mutable: true,
        protected: true,
        help: "Snapshot file name inside dir.",
        get: |c| c.dbfilename.clone(),
        set: |c, a| {
            let name = text(a)?;
            // Redis's `pathIsBaseName`: the snapshot stays in `dir`.
            if name.contains(['/', '\\']) {
                return Err("dbfilename can't be a path, just a filename".into());
            }
            c.dbfilename = name.to_string();
            Ok(())
        },
    },
    Directive {
        name: "maxmemory",
        default: "0",
        mutable: true,
        protected: false,
        help: "Memory limit for the data (keys, values, metadata, table slots, eviction sketch); 0 = none. Units: kb mb gb (1024) or k m g (1000).",
        get: |c| c.maxmemory.to_string(),
        set: |c, a| {
            c.maxmemory = parse_memory(one(a)?).ok_or("argument must be a memory value")? as usize;
            Ok(())
        },
    },
    Directive {
        name: "maxmemory-keys",
        default: "0",
        mutable: true,
        protected: false,
        help: "Most keys held at once (all databases); 0 = no limit.",
        get: |c| c.maxmemory_keys.to_string(),
        set: |c, a| {
            c.maxmemory_keys = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "maxmemory-policy",
        default: "allkeys-cachet",
        mutable: true,
        protected: false,
        help: "What to evict at the limit: allkeys-cachet (priority, cost, size and frequency aware), Redis's allkeys-lru allkeys-lfu allkeys-random volatile-lru volatile-lfu volatile-random volatile-ttl, or noeviction.",
        get: |c| c.maxmemory_policy.name().to_string(),
        set: |c, a| {
            c.maxmemory_policy = Policy::parse(text(a)?).ok_or(
                // Redis 7's list in Redis's order, then cachet's own policy.
                "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, \
                 volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction, allkeys-cachet",
            )?;
            Ok(())
        },
    },
    Directive {
        name: "compression-level",
        default: "none",
        mutable: true,
        protected: false,
        help: "zstd compression of string values of at least compression-min-size bytes: none (off), fast (zstd -1), default (zstd 3) or max (zstd 19). A value saving less than an eighth is stored raw; reads return the original bytes.",
        get: |c| c.compression_level.name().to_string(),
        set: |c, a| {
            c.compression_level = compress::Level::parse(one(a)?.as_bytes())
                .ok_or("argument(s) must be one of the following: none, fast, default, max")?;
            Ok(())
        },
    },
    Directive {
        name: "compression-min-size",
        default: "1024",
        mutable: true,
        protected: false,
        help: "Shorter string values are never compressed.",
        get: |c| c.compression_min_size.to_string(),
        set: |c, a| {
            c.compression_min_size = memory(a, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Directive {
        name: "compression-backlog",
        default: "67108864",
        mutable: true,
        protected: false,
        help: "Raw bytes of written values that may wait for the background compressor: a write stores its value raw and a background thread compresses it soon after, off the request. When the backlog is full, a write compresses its value itself; under maxmemory, waiting values are compressed before keys are evicted. 0: every write compresses its value itself. CACHE.SET ... COMPRESS always does.",
        get: |c| c.compression_backlog.to_string(),
        set: |c, a| {
            c.compression_backlog = memory(a, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Directive {
        name: "compression-dict",
        default: "off",
        mutable: true,
        protected: false,
        help: "on: per-prefix zstd dictionaries, trained in the background from sampled values of each key prefix (see compression-dict-prefix-delimiter), compress the strings compression-level compresses; values keep reading with the dictionary they were written with. Kept in the snapshot. Small values gain most: compression-min-size can then go down to 256.",
        get: |c| if c.compression_dict { "on" } else { "off" }.to_string(),
        set: |c, a| {
            c.compression_dict = match one(a)?.to_ascii_lowercase().as_str() {
                "on" => true,
                "off" => false,
                _ => return Err("argument(s) must be one of the following: on, off".into()),
            };
            Ok(())
        },
    },
    Directive {
        name: "compression-dict-prefix-delimiter",
        default: ":",
        mutable: true,
        protected: false,
        help: "A key's dictionary prefix is the key up to and including the first occurrence of this text (user: of user:42:profile); keys without it share the empty prefix; empty: one dictionary for every key. At most 64 prefixes have dictionaries, the first seen.",
        get: |c| c.compression_dict_prefix_delimiter.clone(),
        set: |c, a| {
            let delimiter = one(a)?;
            if delimiter.len() > MAX_DICT_DELIMITER {
                return Err(format!("argument must be at most {MAX_DICT_DELIMITER} bytes"));
            }
            c.compression_dict_prefix_delimiter = delimiter.to_string();
            Ok(())
        },
    },
    Directive {
        name: "compression-dict-size",
        default: "16384",
        mutable: true,
        protected: false,
        help: "Bytes of each trained dictionary (16 KiB did as well as 64 KiB on 256-1024 B JSON documents: docs/notes.md).",
        get: |c| c.compression_dict_size.to_string(),
        set: |c, a| {
            c.compression_dict_size = memory(a, 1024, 1 << 20)?;
            Ok(())
        },
    },
    Directive {
        name: "maxmemory-samples",
        default: "5",
        mutable: true,
        protected: false,
        help: "Keys sampled per eviction.",
        get: |c| c.maxmemory_samples.to_string(),
        set: |c, a| {
            c.maxmemory_samples = int(a, 1, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "jemalloc-bg-thread",
        default: "yes",
        mutable: true,
        protected: false,
        help: "jemalloc's background threads give freed pages back to the system on time (after its 10 s decay), not only when the arena that freed them allocates again. Without them, RSS stayed 1.6x maxmemory after a flood of 100 B values followed by 1000 B ones (1.07x with).",
        get: |c| yes_no(c.jemalloc_bg_thread),
        set: |c, a| {
            c.jemalloc_bg_thread = boolean(a)?;
            Ok(())
        },
    },
    Directive {
        name: "lfu-log-factor",
        default: "10",
        mutable: true,
        protected: false,
        help: "How slowly the LFU counter grows (Redis semantics).",
        get: |c| c.lfu_log_factor.to_string(),
        set: |c, a| {
            c.lfu_log_factor = int(a, 0, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "lfu-decay-time",
        default: "1",
        mutable: true,
        protected: false,
        help: "Minutes of idleness that take one off the LFU counter (Redis semantics).",
        get: |c| c.lfu_decay_time.to_string(),
        set: |c, a| {
            c.lfu_decay_time = int(a, 0, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "priority-idle-demote",
        default: "600",
        mutable: true,
        protected: false,
        help: "allkeys-cachet: an entry unused this many seconds counts one priority lower per period (0 = never).",
        get: |c| c.priority_idle_demote.to_string(),
        set: |c, a| {
            c.priority_idle_demote = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "slowlog-log-slower-than",
        default: "10000",
        mutable: true,
        protected: false,
        help: "SLOWLOG keeps the commands that took at least this many microseconds (0: every command, -1: none).",
        get: |c| c.slowlog_log_slower_than.to_string(),
        set: |c, a| {
            c.slowlog_log_slower_than = int(a, -1, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "slowlog-max-len",
        default: "128",
        mutable: true,
        protected: false,
        help: "How many entries SLOWLOG keeps (the oldest go first).",
        get: |c| c.slowlog_max_len.to_string(),
        set: |c, a| {
            c.slowlog_max_len = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "latency-monitor-threshold",
        default: "0",
        mutable: true,
        protected: false,
        help: "The latency monitor (LATENCY LATEST/HISTORY/DOCTOR) samples events that took at least this many milliseconds (0: off).",
        get: |c| c.latency_monitor_threshold.to_string(),
        set: |c, a| {
            c.latency_monitor_threshold = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "latency-tracking",
        default: "yes",
        mutable: true,
        protected: false,
        help: "Per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM).",
        get: |c| yes_no(c.latency_tracking),
        set: |c, a| {
            c.latency_tracking = boolean(a)?;
            Ok(())
        },
    },
    Directive {
        name: "latency-tracking-info-percentiles",
        default: "50 99 99.9",
        mutable: true,
        protected: false,
        help: "The percentiles INFO latencystats reports, space separated (\"\" for none).",
        get: |c| {
            c.latency_tracking_info_percentiles
                .iter()
                .map(|p| trimmed_double(*p))
                .collect::<Vec<_>>()
                .join(" ")
        },
        set: |c, a| {
            c.latency_tracking_info_percentiles = percentiles(a)?;
            Ok(())
        },
    },
    Directive {
        name: "hash-max-listpack-entries",
        default: "512",
        mutable: true,
        protected: false,
        help: "A hash with more fields than this leaves the compact listpack encoding for a hash table.",
        get: |c| c.hash_max_listpack_entries.to_string(),
        set: |c, a| {
            c.hash_max_listpack_entries = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "hash-max-listpack-value",
        default: "64",
        mutable: true,
        protected: false,
        help: "A hash with a field or value longer than this (bytes) leaves the listpack encoding.",
        get: |c| c.hash_max_listpack_value.to_string(),
        set: |c, a| {
            c.hash_max_listpack_value = memory(a, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Directive {
        name: "hash-max-ziplist-entries",
        default: "512",
        mutable: true,
        protected: false,
        help: "Alias of hash-max-listpack-entries (Redis 6 name).",
        get: |c| c.hash_max_listpack_entries.to_string(),
        set: |c, a| {
            c.hash_max_listpack_entries = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "hash-max-ziplist-value",
        default: "64",
        mutable: true,
        protected: false,
        help: "Alias of hash-max-listpack-value (Redis 6 name).",
        get: |c| c.hash_max_listpack_value.to_string(),
        set: |c, a| {
            c.hash_max_listpack_value = memory(a, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Directive {
        name: "stream-node-max-bytes",
        default: "4096",
        mutable: true,
        protected: false,
        help: "A stream node (one listpack of entries) takes no new entry once it holds this many bytes; 0 means no limit.",
        get: |c| c.stream_node_max_bytes.to_string(),
        set: |c, a| {
            c.stream_node_max_bytes = memory(a, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Directive {
        name: "stream-node-max-entries",
        default: "100",
        mutable: true,
        protected: false,
        help: "A stream node takes no new entry once it holds this many (deleted ones included); 0 means no limit.",
        get: |c| c.stream_node_max_entries.to_string(),
        set: |c, a| {
            c.stream_node_max_entries = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "zset-max-listpack-entries",
        default: "128",
        mutable: true,
        protected: false,
        help: "A sorted set with at most this many members uses the compact listpack encoding.",
        get: |c| c.zset_max_listpack_entries.to_string(),
        set: |c, a| {
            c.zset_max_listpack_entries = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "zset-max-listpack-value",
        default: "64",
        mutable: true,
        protected: false,
        help: "A sorted set whose members are all at most this many bytes uses the listpack encoding.",
        get: |c| c.zset_max_listpack_value.to_string(),
        set: |c, a| {
            c.zset_max_listpack_value = memory(a, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Directive {
        name: "zset-max-ziplist-entries",
        default: "128",
        mutable: true,
        protected: false,
        help: "Alias of zset-max-listpack-entries (the Redis 6 name).",
        get: |c| c.zset_max_listpack_entries.to_string(),
        set: |c, a| {
            c.zset_max_listpack_entries = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "zset-max-ziplist-value",
        default: "64",
        mutable: true,
        protected: false,
        help: "Alias of zset-max-listpack-value (the Redis 6 name).",
        get: |c| c.zset_max_listpack_value.to_string(),
        set: |c, a| {
            c.zset_max_listpack_value = memory(a, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Directive {
        name: "list-max-listpack-size",
        default: "-2",
        mutable: true,
        protected: false,
        help: "A list stays compact (listpack) up to this size: -1..-5 = 4..64 KiB, n > 0 = n elements.",
        get: |c| c.list_max_listpack_size.to_string(),
        set: |c, a| {
            c.list_max_listpack_size = int(a, i32::MIN as i64, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "list-max-ziplist-size",
        default: "-2",
        mutable: true,
        protected: false,
        help: "Alias of list-max-listpack-size (the Redis 6 name).",
        get: |c| c.list_max_listpack_size.to_string(),
        set: |c, a| {
            c.list_max_listpack_size = int(a, i32::MIN as i64, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "list-compress-depth",
        default: "0",
        mutable: true,
        protected: false,
        help: "Accepted for compatibility: lists are not compressed.",
        get: |c| c.list_compress_depth.to_string(),
        set: |c, a| {
            c.list_compress_depth = int(a, 0, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "set-max-intset-entries",
        default: "512",
        mutable: true,
        protected: false,
        help: "Sets of at most this many integer members use the compact intset encoding (Redis 7.0 semantics).",
        get: |c| c.set_max_intset_entries.to_string(),
        set: |c, a| {
            c.set_max_intset_entries = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "hll-sparse-max-bytes",
        default: "3000",
        mutable: true,
        protected: false,
        help: "A HyperLogLog whose sparse encoding would grow past this many bytes (header included) turns dense (12304 bytes).",
        get: |c| c.hll_sparse_max_bytes.to_string(),
        set: |c, a| {
            c.hll_sparse_max_bytes = memory(a, 0, i64::MAX as u64)?;
            Ok(())
        },
    },
    Directive {
        name: "client-output-buffer-limit",
        default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        mutable: true,
        protected: false,
        help: "Output buffer limits by client class (normal, replica, pubsub): hard bytes, soft bytes, soft seconds; 0 disables. A client over the hard limit, or over the soft one for longer than its seconds, is disconnected.",
        get: |c| {
            let [normal, replica, pubsub] = c.client_output_buffer_limit;
            [("normal", normal), ("slave", replica), ("pubsub", pubsub)]
                .iter()
                .map(|(name, l)| format!("{name} {} {} {}", l.hard, l.soft, l.soft_seconds))
                .collect::<Vec<_>>()
                .join(" ")
        },
        set: |c, a| set_output_buffer_limits(&mut c.client_output_buffer_limit, a),
    },
    Directive {
        name: "notify-keyspace-events",
        default: "",
        mutable: true,
        protected: false,
        help: "Keyspace notifications to publish, as Redis's letters: K keyspace, E keyevent, g generic, $ string, l list, s set, h hash, z zset, x expired, e evicted, t stream, m key miss, n new key, A alias for g$lshzxetd. Empty disables them.",
        get: |c| keyspace_events_text(c.notify_keyspace_events),
        set: |c, a| {
            c.notify_keyspace_events = parse_keyspace_events(c_str(&a.concat()))
                .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
            Ok(())
        },
    },
    Directive {
        name: "stats-prefixes",
        default: "",
        mutable: true,
        protected: false,
        help: "Key prefixes, space separated, whose hits and misses CACHE.STATS and INFO cachet report (a read counts for every prefix its key starts with).",
        get: |c| c.stats_prefixes.join(" "),
        set: |c, a| {
            c.stats_prefixes = crate::engine::analytics::parse_prefixes(a)?;
            Ok(())
        },
    },
];
