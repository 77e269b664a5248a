//! The server's directives, in redis.conf order of topics. `scripts/gen-conf.py` reads this file
//! (then the other tables) to write `conf/cachet.conf`.

use super::{
    boolean, int, memory, one, parse_memory, percentiles, trimmed_double, yes_no, Directive,
    ProtectedAction,
};
use crate::engine::{compress, Policy};
use crate::state::pubsub::{keyspace_events_text, parse_keyspace_events, set_output_buffer_limits};

/// A prefix delimiter is a separator, not a prefix: a few bytes.
const MAX_DICT_DELIMITER: usize = 16;

pub static DIRECTIVES: &[Directive] = &[
    Directive {
        name: "port",
        default: "6379",
        mutable: true,
        protected: false,
        help: "TCP port of the plaintext listener, on every bind address; 0: none (with a tls-port, TLS only). CONFIG SET listens on the new port and stops listening on the old one; connections already made stay.",
        get: |c| c.port.to_string(),
        set: |c, a| {
            c.port = int(a, 0, 65535)?;
            Ok(())
        },
    },
    Directive {
        name: "bind",
        default: "127.0.0.1",
        mutable: false,
        protected: false,
        help: "Addresses to listen on, space separated.",
        get: |c| c.bind.join(" "),
        set: |c, a| {
            if a.is_empty() {
                return Err("wrong number of arguments".into());
            }
            c.bind = a
                .iter()
                .flat_map(|s| s.split_whitespace())
                .map(str::to_string)
                .collect();
            Ok(())
        },
    },
    Directive {
        name: "databases",
        default: "16",
        mutable: false,
        protected: false,
        help: "Number of databases (SELECT 0..n-1).",
        get: |c| c.databases.to_string(),
        set: |c, a| {
            c.databases = int(a, 1, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "shards",
        default: "64",
        mutable: false,
        protected: false,
        help: "Keyspace shards, rounded up to a power of two (64 measured best of 1-256 with benches/shards.rs).",
        get: |c| c.shards.to_string(),
        set: |c, a| {
            c.shards = int(a, 1, 65536)?;
            Ok(())
        },
    },
    Directive {
        name: "threads",
        default: "0",
        mutable: false,
        protected: false,
        help: "Threads serving clients; 0 means one per CPU the process may run on.",
        get: |c| c.threads.to_string(),
        set: |c, a| {
            c.threads = int(a, 0, 1024)?;
            Ok(())
        },
    },
    Directive {
        name: "maxclients",
        default: "10000",
        mutable: true,
        protected: false,
        help: "Most clients connected at once.",
        get: |c| c.maxclients.to_string(),
        set: |c, a| {
            c.maxclients = int(a, 1, u32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "requirepass",
        default: "",
        mutable: true,
        protected: false,
        help: "Password clients must AUTH with; empty for none.",
        get: |c| String::from_utf8_lossy(&c.requirepass).into_owned(),
        set: |c, a| {
            c.requirepass = one(a)?.as_bytes().to_vec();
            Ok(())
        },
    },
    Directive {
        name: "enable-protected-configs",
        default: "no",
        mutable: false,
        protected: false,
        help: "Whether CONFIG SET may change the directives marked [protected] (what makes the daemon write files or connect somewhere): no, yes, or local (only clients connected from 127.0.0.1 or ::1). The conf file and the command line always may.",
        get: |c| c.enable_protected_configs.name().to_string(),
        set: |c, a| {
            c.enable_protected_configs = ProtectedAction::parse(one(a)?)
                .ok_or("argument(s) must be one of the following: no, yes, local")?;
            Ok(())
        },
    },
    Directive {
        name: "enable-debug-command",
        default: "no",
        mutable: false,
        protected: false,
        help: "Who may run DEBUG: no, yes, or local (only clients connected from 127.0.0.1 or ::1).",
        get: |c| c.enable_debug_command.name().to_string(),
        set: |c, a| {
            c.enable_debug_command = ProtectedAction::parse(one(a)?)
                .ok_or("argument(s) must be one of the following: no, yes, local")?;
            Ok(())
        },
    },
    Directive {
        name: "protected-mode",
        default: "yes",
        mutable: true,
        protected: false,
        help: "While the default user has no password, refuse clients that are not on the loopback interface (with Redis's DENIED error).",
        get: |c| yes_no(c.protected_mode),
        set: |c, a| {
            c.protected_mode = boolean(a)?;
            Ok(())
        },
    },
    Directive {
        name: "aclfile",
        default: "",
        mutable: false,
        protected: false,
        help: "File of ACL users (`user <name> <rules>` lines) loaded at startup and by ACL LOAD, written by ACL SAVE; empty for none (then `user` lines of this file define users).",
        get: |c| c.aclfile.clone(),
        set: |c, a| {
            c.aclfile = one(a)?.to_string();
            Ok(())
        },
    },
    Directive {
        name: "acllog-max-len",
        default: "128",
        mutable: true,
        protected: false,
        help: "Entries ACL LOG keeps.",
        get: |c| c.acllog_max_len.to_string(),
        set: |c, a| {
            c.acllog_max_len = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "acl-pubsub-default",
        default: "resetchannels",
        mutable: true,
        protected: false,
        help: "Channels a new user or selector starts with: resetchannels (none) or allchannels.",
        get: |c| {
            if c.acl_pubsub_allchannels { "allchannels" } else { "resetchannels" }.to_string()
        },
        set: |c, a| {
            c.acl_pubsub_allchannels = match one(a)?.to_ascii_lowercase().as_str() {
                "allchannels" => true,
                "resetchannels" => false,
                _ => {
                    return Err(
                        "argument(s) must be one of the following: allchannels, resetchannels"
                            .into(),
                    )
                }
            };
            Ok(())
        },
    },
    Directive {
        name: "hz",
        default: "10",
        mutable: true,
        protected: false,
        help: "Background task frequency (active expiry) per second.",
        get: |c| c.hz.to_string(),
        set: |c, a| {
            c.hz = int::<u32>(a, 0, i32::MAX as i64)?.clamp(1, 500);
            Ok(())
        },
    },
    Directive {
        name: "loglevel",
        default: "notice",
        mutable: true,
        protected: false,
        help: "debug, verbose, notice or warning.",
        get: |c| c.loglevel.clone(),
        set: |c, a| {
            let level = one(a)?.to_ascii_lowercase();
            if !["debug", "verbose", "notice", "warning", "nothing"].contains(&level.as_str()) {
                // `nothing` (Redis 7.2) is accepted too; the reason lists Redis 7.0's levels, as it answers.
                return Err("argument(s) must be one of the following: debug, verbose, notice, warning".into());
            }
            c.loglevel = level;
            Ok(())
        },
    },
    Directive {
        name: "logfile",
        default: "",
        mutable: false,
        protected: false,
        help: "Log file; empty logs to standard output.",
        get: |c| c.logfile.clone(),
        set: |c, a| {
            c.logfile = one(a)?.to_string();
            Ok(())
        },
    },
    Directive {
        name: "log-format",
        default: "text",
        mutable: false,
        protected: false,
        help: "text: one plain line per event; json: one JSON object per line (fields timestamp, level, target, fields.message and the event's own fields).",
        get: |c| if c.log_json { "json" } else { "text" }.to_string(),
        set: |c, a| {
            c.log_json = match one(a)?.to_ascii_lowercase().as_str() {
                "text" => false,
                "json" => true,
                _ => return Err("argument(s) must be one of the following: text, json".into()),
            };
            Ok(())
        },
    },
    Directive {
        name: "admin-port",
        default: "0",
        mutable: false,
        protected: false,
        help: "HTTP port of the admin endpoints (/metrics, /health, /ready, /v1/...); 0: no admin port.",
        get: |c| c.admin_port.to_string(),
        set: |c, a| {
            c.admin_port = int(a, 0, 65535)?;
            Ok(())
        },
    },
    Directive {
        name: "admin-bind",
        default: "127.0.0.1",
        mutable: false,
        protected: false,
        help: "Address the admin port listens on.",
        get: |c| c.admin_bind.clone(),
        set: |c, a| {
            let host = one(a)?;
            if host.is_empty() {
                return Err("admin-bind needs an address".into());
            }
            c.admin_bind = host.to_string();
            Ok(())
        },
    },
    Directive {
        name: "admin-token",
        default: "",
        mutable: true,
        protected: false,
        help: "Bearer token the admin endpoints that reveal or change data (/v1/...) require (Authorization: Bearer <token>); empty: none. /metrics, /health and /ready never need it.",
        get: |c| String::from_utf8_lossy(&c.admin_token).into_owned(),
        set: |c, a| {
            c.admin_token = one(a)?.as_bytes().to_vec();
            Ok(())
        },
    },
    Directive {
        name: "admin-maxclients",
        default: "128",
        mutable: true,
        protected: false,
        help: "Most admin-port connections open at once; past it a connection gets a 503 and is closed.",
        get: |c| c.admin_maxclients.to_string(),
        set: |c, a| {
            c.admin_maxclients = int(a, 1, 65535)?;
            Ok(())
        },
    },
    Directive {
        name: "admin-timeout",
        default: "10",
        mutable: true,
        protected: false,
        help: "Seconds an admin-port client has to send a request's headers (from the connection, or the end of the previous answer: idle connections close after it) and then its body; past it the connection is closed.",
        get: |c| c.admin_timeout.to_string(),
        set: |c, a| {
            c.admin_timeout = int(a, 1, 3600)?;
            Ok(())
        },
    },
    Directive {
        name: "admin-ready-requires-peers",
        default: "no",
        mutable: true,
        protected: false,
        help: "yes: /ready answers 503 while coherence is on and a peer link is not up.",
        get: |c| yes_no(c.admin_ready_requires_peers),
        set: |c, a| {
            c.admin_ready_requires_peers = boolean(a)?;
            Ok(())
        },
    },
    Directive {
        name: "timeout",
        default: "0",
        mutable: true,
        protected: false,
        help: "Close a client idle for this many seconds (0: never).",
        get: |c| c.timeout.to_string(),
        set: |c, a| {
            c.timeout = int(a, 0, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "busy-reply-threshold",
        default: "5000",
        mutable: true,
        protected: false,
        help: "Milliseconds a script (EVAL, FCALL) runs before other clients are answered BUSY and SCRIPT KILL or FUNCTION KILL may stop it (0: never).",
        get: |c| c.busy_reply_threshold.to_string(),
        set: |c, a| {
            c.busy_reply_threshold = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "lua-time-limit",
        default: "5000",
        mutable: true,
        protected: false,
        help: "The old name of busy-reply-threshold: the same setting.",
        get: |c| c.busy_reply_threshold.to_string(),
        set: |c, a| {
            c.busy_reply_threshold = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "tracking-table-max-keys",
        default: "1000000",
        mutable: true,
        protected: false,
        help: "Most keys the client-side caching table remembers; past it, keys are invalidated to make room (0: no limit).",
        get: |c| c.tracking_table_max_keys.to_string(),
        set: |c, a| {
            c.tracking_table_max_keys = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "tcp-keepalive",
        default: "300",
        mutable: true,
        protected: false,
        help: "TCP keepalive interval in seconds (0: off).",
        get: |c| c.tcp_keepalive.to_string(),
        set: |c, a| {
            c.tcp_keepalive = int(a, 0, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "tcp-backlog",
        default: "511",
        mutable: false,
        protected: false,
        help: "Connections the kernel queues before they are accepted (capped by net.core.somaxconn).",
        get: |c| c.tcp_backlog.to_string(),
        set: |c, a| {
            c.tcp_backlog = int(a, 0, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "proto-max-bulk-len",
        default: "536870912",
        mutable: true,
        protected: false,
        help: "Longest bulk string a client may send.",
        get: |c| c.proto_max_bulk_len.to_string(),
        set: |c, a| {
            c.proto_max_bulk_len = memory(a, 1024 * 1024, i64::MAX as u64)?;
            Ok(())
        },
    },
    Directive {
        name: "proto-max-multibulk-len",
        default: "2147483647",
        mutable: true,
        protected: false,
        help: "Most arguments in one request.",
        get: |c| c.proto_max_multibulk_len.to_string(),
        set: |c, a| {
            c.proto_max_multibulk_len = int(a, 1, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "client-query-buffer-limit",
        default: "1073741824",
        mutable: true,
        protected: false,
        help: "Most bytes a client's pending request may hold.",
        get: |c| c.client_query_buffer_limit.to_string(),
        set: |c, a| {
            c.client_query_buffer_limit = memory(a, 1024 * 1024, i64::MAX as u64)?;
            Ok(())
        },
    },
    Directive {
        name: "save",
        default: "3600 1 300 100 60 10000",
        mutable: true,
        protected: false,
        help: "Snapshot schedule: pairs of <seconds> <changes>; a snapshot is written when any pair is met. \"\" turns scheduled snapshots off (SAVE and BGSAVE still work).",
        get: |c| c.save.clone(),
        set: |c, a| {
            let words: Vec<&str> = a.iter().flat_map(|w| w.split_whitespace()).collect();
            if !words.len().is_multiple_of(2) {
                return Err("Invalid save parameters".into());
            }
            let mut points = Vec::new();
            for pair in words.chunks(2) {
                let parse = |w: &str| w.parse::<i64>().ok().filter(|n| *n >= 1);
                match (parse(pair[0]), parse(pair[1])) {
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
            c.dir = one(a)?.to_string();
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
            c.dbfilename = one(a)?.to_string();
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
            c.maxmemory_policy = Policy::parse(one(a)?).ok_or(
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
        help: "zstd compression of string values of at least compression-min-size bytes: none (off), fast (zstd 1), default (zstd 3) or max (zstd 19). A value saving less than an eighth is stored raw; reads return the original bytes.",
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
        default: "64mb",
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
            c.notify_keyspace_events = parse_keyspace_events(&a.concat())
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
