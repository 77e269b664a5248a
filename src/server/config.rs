//! Configuration: one table of directives (name, default, whether `CONFIG SET` may change it, how
//! to read and write it). The conf file, `--name value` flags, `CONFIG GET/SET/REWRITE` and the
//! sample `conf/cachet.conf` all read this table; nothing else knows the list of directives.

use std::path::PathBuf;
use std::sync::{RwLock, RwLockReadGuard};

use crate::engine::glob::glob_match;
use crate::engine::{EvictionSettings, Policy};
use crate::protocol::request::split_args;
use crate::server::pubsub::{
    keyspace_events_text, parse_keyspace_events, set_output_buffer_limits, OutputLimit,
};

#[derive(Debug, Clone)]
pub struct ConfigValues {
    pub port: u16,
    pub bind: Vec<String>,
    pub databases: usize,
    pub shards: usize,
    pub threads: usize,
    pub maxclients: usize,
    pub requirepass: Vec<u8>,
    pub hz: u32,
    pub loglevel: String,
    pub logfile: String,
    pub timeout: u64,
    pub tracking_table_max_keys: usize,
    pub tcp_keepalive: u64,
    pub proto_max_bulk_len: usize,
    pub proto_max_multibulk_len: usize,
    pub client_query_buffer_limit: usize,
    pub save: String,
    pub appendonly: bool,
    pub dir: String,
    pub dbfilename: String,
    pub maxmemory: usize,
    pub maxmemory_keys: usize,
    pub maxmemory_policy: Policy,
    pub maxmemory_samples: usize,
    pub lfu_log_factor: u32,
    pub lfu_decay_time: u32,
    pub priority_idle_demote: u64,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub list_max_listpack_size: i64,
    pub list_compress_depth: i64,
    pub set_max_intset_entries: usize,
    pub client_output_buffer_limit: [OutputLimit; 3],
    pub notify_keyspace_events: u16,
    pub stats_prefixes: Vec<String>,
    pub node_id: String,
    pub peers: Vec<String>,
    pub coherence: bool,
    /// host:port of the pub/sub broker (from `redis://host:port`); empty: a full mesh.
    pub coherence_bus: String,
    pub coherence_announce: String,
    pub coherence_backlog_size: usize,
}

impl ConfigValues {
    pub fn eviction(&self) -> EvictionSettings {
        EvictionSettings {
            maxmemory: self.maxmemory,
            maxmemory_keys: self.maxmemory_keys,
            policy: self.maxmemory_policy,
            samples: self.maxmemory_samples,
            lfu_log_factor: self.lfu_log_factor,
            lfu_decay_time: self.lfu_decay_time,
            priority_idle_demote: self.priority_idle_demote,
            window_percent: EvictionSettings::default().window_percent,
        }
    }
}

type Getter = fn(&ConfigValues) -> String;
type Setter = fn(&mut ConfigValues, &[&str]) -> Result<(), String>;

pub struct Directive {
    pub name: &'static str,
    pub default: &'static str,
    /// Whether `CONFIG SET` may change it while running.
    pub mutable: bool,
    pub help: &'static str,
    pub get: Getter,
    pub set: Setter,
}

pub(crate) fn one<'a>(args: &[&'a str]) -> Result<&'a str, String> {
    match args {
        [value] => Ok(value),
        _ => Err("wrong number of arguments".to_string()),
    }
}

pub(crate) fn int<T: TryFrom<i64>>(args: &[&str], min: i64, max: i64) -> Result<T, String> {
    let value: i64 = one(args)?
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
    if value < min || value > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    T::try_from(value).map_err(|_| "argument couldn't be parsed into an integer".to_string())
}

pub(crate) fn memory(args: &[&str], min: u64, max: u64) -> Result<usize, String> {
    let value =
        parse_memory(one(args)?).ok_or_else(|| "argument must be a memory value".to_string())?;
    if value < min || value > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(value as usize)
}

pub(crate) fn boolean(args: &[&str]) -> Result<bool, String> {
    match one(args)?.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".to_string()),
    }
}

pub(crate) fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_string()
}

/// Parses a memory amount as Redis's `memtoull`: `1gb` = 2^30, `1g` = 10^9, `1k` = 1000, `1kb` = 1024.
pub fn parse_memory(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

pub static DIRECTIVES: &[Directive] = &[
    Directive {
        name: "port",
        default: "6379",
        mutable: false,
        help: "TCP port to listen on (0 picks a free one).",
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
        help: "Password clients must AUTH with; empty for none.",
        get: |c| String::from_utf8_lossy(&c.requirepass).into_owned(),
        set: |c, a| {
            c.requirepass = one(a)?.as_bytes().to_vec();
            Ok(())
        },
    },
    Directive {
        name: "hz",
        default: "10",
        mutable: true,
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
        help: "debug, verbose, notice or warning.",
        get: |c| c.loglevel.clone(),
        set: |c, a| {
            let level = one(a)?.to_ascii_lowercase();
            if !["debug", "verbose", "notice", "warning", "nothing"].contains(&level.as_str()) {
                return Err("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into());
            }
            c.loglevel = level;
            Ok(())
        },
    },
    Directive {
        name: "logfile",
        default: "",
        mutable: false,
        help: "Log file; empty logs to standard output.",
        get: |c| c.logfile.clone(),
        set: |c, a| {
            c.logfile = one(a)?.to_string();
            Ok(())
        },
    },
    Directive {
        name: "timeout",
        default: "0",
        mutable: true,
        help: "Close a client idle for this many seconds (0: never).",
        get: |c| c.timeout.to_string(),
        set: |c, a| {
            c.timeout = int(a, 0, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "tracking-table-max-keys",
        default: "1000000",
        mutable: true,
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
        help: "TCP keepalive interval in seconds (0: off).",
        get: |c| c.tcp_keepalive.to_string(),
        set: |c, a| {
            c.tcp_keepalive = int(a, 0, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "proto-max-bulk-len",
        default: "536870912",
        mutable: true,
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
        help: "Most bytes a client's pending request may hold.",
        get: |c| c.client_query_buffer_limit.to_string(),
        set: |c, a| {
            c.client_query_buffer_limit = memory(a, 1024 * 1024, i64::MAX as u64)?;
            Ok(())
        },
    },
    Directive {
        name: "save",
        default: "",
        mutable: true,
        help: "Snapshot schedule; cachet does not persist yet, so only \"\" is accepted.",
        get: |c| c.save.clone(),
        set: |c, a| {
            let value = a.join(" ");
            if !value.trim().is_empty() {
                return Err("cachet does not support RDB persistence".into());
            }
            c.save = String::new();
            Ok(())
        },
    },
    Directive {
        name: "appendonly",
        default: "no",
        mutable: true,
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
        help: "Working directory for files the server writes.",
        get: |c| c.dir.clone(),
        set: |c, a| {
            c.dir = one(a)?.to_string();
            Ok(())
        },
    },
    Directive {
        name: "dbfilename",
        default: "dump.rdb",
        mutable: true,
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
        name: "maxmemory-samples",
        default: "5",
        mutable: true,
        help: "Keys sampled per eviction.",
        get: |c| c.maxmemory_samples.to_string(),
        set: |c, a| {
            c.maxmemory_samples = int(a, 1, i32::MAX as i64)?;
            Ok(())
        },
    },
    Directive {
        name: "lfu-log-factor",
        default: "10",
        mutable: true,
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
        help: "allkeys-cachet: an entry unused this many seconds counts one priority lower per period (0 = never).",
        get: |c| c.priority_idle_demote.to_string(),
        set: |c, a| {
            c.priority_idle_demote = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "hash-max-listpack-entries",
        default: "512",
        mutable: true,
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
        help: "A hash with a field or value longer than this (bytes) leaves the listpack encoding.",
        get: |c| c.hash_max_listpack_value.to_string(),
        set: |c, a| {
            c.hash_max_listpack_value = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "hash-max-ziplist-entries",
        default: "512",
        mutable: true,
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
        help: "Alias of hash-max-listpack-value (Redis 6 name).",
        get: |c| c.hash_max_listpack_value.to_string(),
        set: |c, a| {
            c.hash_max_listpack_value = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "zset-max-listpack-entries",
        default: "128",
        mutable: true,
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
        help: "A list stays compact (listpack) up to this size: -1..-5 = 4..64 KiB, n > 0 = n elements.",
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
        help: "Sets of at most this many integer members use the compact intset encoding (Redis 7.0 semantics).",
        get: |c| c.set_max_intset_entries.to_string(),
        set: |c, a| {
            c.set_max_intset_entries = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "client-output-buffer-limit",
        default: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        mutable: true,
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
        help: "Key prefixes, space separated, whose hits and misses CACHE.STATS and INFO cachet report (a read counts for every prefix its key starts with).",
        get: |c| c.stats_prefixes.join(" "),
        set: |c, a| {
            c.stats_prefixes = crate::engine::analytics::parse_prefixes(a)?;
            Ok(())
        },
    },
];

/// Every directive: the server's table and those of the modules that own theirs.
pub fn directives() -> impl Iterator<Item = &'static Directive> {
    DIRECTIVES
        .iter()
        .chain(crate::server::coherence::config::DIRECTIVES)
}

pub fn find_directive(name: &str) -> Option<&'static Directive> {
    directives().find(|d| d.name.eq_ignore_ascii_case(name))
}

impl Default for ConfigValues {
    fn default() -> Self {
        let mut values = ConfigValues {
            port: 0,
            bind: Vec::new(),
            databases: 0,
            shards: 0,
            threads: 0,
            maxclients: 0,
            requirepass: Vec::new(),
            hz: 0,
            loglevel: String::new(),
            logfile: String::new(),
            timeout: 0,
            tracking_table_max_keys: 0,
            tcp_keepalive: 0,
            proto_max_bulk_len: 0,
            proto_max_multibulk_len: 0,
            client_query_buffer_limit: 0,
            save: String::new(),
            appendonly: false,
            dir: String::new(),
            dbfilename: String::new(),
            maxmemory: 0,
            maxmemory_keys: 0,
            maxmemory_policy: Policy::AllKeysCachet,
            maxmemory_samples: 0,
            lfu_log_factor: 0,
            lfu_decay_time: 0,
            priority_idle_demote: 0,
            hash_max_listpack_entries: 0,
            hash_max_listpack_value: 0,
            zset_max_listpack_entries: 0,
            zset_max_listpack_value: 0,
            list_max_listpack_size: 0,
            list_compress_depth: 0,
            set_max_intset_entries: 0,
            client_output_buffer_limit: [OutputLimit::default(); 3],
            notify_keyspace_events: 0,
            stats_prefixes: Vec::new(),
            node_id: String::new(),
            peers: Vec::new(),
            coherence: false,
            coherence_bus: String::new(),
            coherence_announce: String::new(),
            coherence_backlog_size: 0,
        };
        for directive in directives() {
            let args: Vec<&str> = if directive.default.is_empty() {
                vec![""]
            } else {
                directive.default.split(' ').collect()
            };
            // The defaults are constants checked by a unit test, so this cannot fail at run time.
            let _ = (directive.set)(&mut values, &args);
        }
        values
    }
}

pub struct Config {
    values: RwLock<ConfigValues>,
    /// The file the configuration was loaded from, which `CONFIG REWRITE` updates.
    pub file: Option<PathBuf>,
}

impl Config {
    pub fn new(values: ConfigValues, file: Option<PathBuf>) -> Self {
        Config {
            values: RwLock::new(values),
            file,
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, ConfigValues> {
        self.values.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `CONFIG SET` pairs atomically: all succeed or none is applied.
    pub fn set(&self, pairs: &[(&str, Vec<&str>)]) -> Result<(), String> {
        let mut values = self.values.write().unwrap_or_else(|p| p.into_inner());
        let mut updated = values.clone();
        for (name, args) in pairs {
            let Some(directive) = find_directive(name) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            if !directive.mutable {
                return Err(format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"));
            }
            (directive.set)(&mut updated, args).map_err(|e| {
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {e}")
            })?;
        }
        *values = updated;
        Ok(())
    }

    /// (name, value) of every directive whose name matches one of the glob patterns.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        let values = self.read();
        directives()
            .filter(|d| {
                patterns
                    .iter()
                    .any(|p| glob_match(p, d.name.as_bytes(), true))
            })
            .map(|d| (d.name, (d.get)(&values)))
            .collect()
    }

    /// Rewrites the conf file so that it holds the running configuration: directives already in
    /// the file are updated in place, others that differ from the default are appended.
    pub fn rewrite(&self) -> Result<(), String> {
        let Some(path) = &self.file else {
            return Err("ERR The server is running without a config file".to_string());
        };
        let existing = std::fs::read_to_string(path).unwrap_or_default();
        let values = self.read();
        let mut written = std::collections::HashSet::new();
        let mut lines = Vec::new();
        for line in existing.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            match find_directive(name) {
                Some(d) if !line.trim_start().starts_with('#') => {
                    if written.insert(d.name) {
                        lines.push(format!("{} {}", d.name, quote((d.get)(&values))));
                    }
                }
                _ => lines.push(line.to_string()),
            }
        }
        for d in directives() {
            let value = (d.get)(&values);
            if !written.contains(d.name) && value != d.default {
                lines.push(format!("{} {}", d.name, quote(value)));
            }
        }
        let text = lines.join("\n") + "\n";
        let temp = path.with_extension("rewrite.tmp");
        std::fs::write(&temp, text)
            .and_then(|_| std::fs::rename(&temp, path))
            .map_err(|e| format!("ERR Rewriting config file: {e}"))
    }
}

fn quote(value: String) -> String {
    if value.is_empty() || value.contains(char::is_whitespace) {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        value
    }
}

/// Applies a conf file's text to `values`. Errors name the line, as Redis's loader does.
pub fn apply_conf_text(values: &mut ConfigValues, text: &str) -> Result<(), String> {
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let parts = split_args(trimmed.as_bytes())
            .ok_or_else(|| format!("line {}: unbalanced quotes", number + 1))?;
        let parts: Vec<String> = parts
            .into_iter()
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .collect();
        let Some((name, args)) = parts.split_first() else {
            continue;
        };
        apply_directive(values, name, args)
            .map_err(|e| format!("line {}: '{}': {e}", number + 1, trimmed))?;
    }
    Ok(())
}

pub fn apply_directive(
    values: &mut ConfigValues,
    name: &str,
    args: &[String],
) -> Result<(), String> {
    let directive = find_directive(name)
        .ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    // `peer` lines (and `--peer` flags) add up, as Redis's repeatable directives do; CONFIG SET
    // replaces the list.
    let existing = values.peers.clone();
    if directive.name == "peer" {
        args.splice(0..0, existing.iter().map(String::as_str));
    }
    (directive.set)(values, &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_match_redis() {
        for d in directives() {
            let mut values = ConfigValues::default();
            let args: Vec<&str> = if d.default.is_empty() {
                vec![""]
            } else {
                d.default.split(' ').collect()
            };
            assert!(
                (d.set)(&mut values, &args).is_ok(),
                "default of {} must parse",
                d.name
            );
            assert_eq!(
                (d.get)(&values),
                d.default,
                "default of {} must read back",
                d.name
            );
        }
        let values = ConfigValues::default();
        assert_eq!(values.proto_max_bulk_len, 512 * 1024 * 1024);
        assert_eq!(values.maxclients, 10000);
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1G"), Some(1_000_000_000));
        assert_eq!(parse_memory("100kb"), Some(102400));
        assert_eq!(parse_memory("12x"), None);
    }

    #[test]
    fn set_is_all_or_nothing() {
        let config = Config::new(ConfigValues::default(), None);
        let err = config
            .set(&[("hz", vec!["20"]), ("nosuch", vec!["1"])])
            .unwrap_err();
        assert!(err.contains("Unknown option"));
        assert_eq!(config.read().hz, 10);
        config.set(&[("hz", vec!["20"])]).unwrap();
        assert_eq!(config.read().hz, 20);
    }
}
