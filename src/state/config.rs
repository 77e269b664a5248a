//! Configuration: tables of directives (name, default, whether `CONFIG SET` may change it, how
//! to read and write it): the server's in `config/table.rs` and `config/data.rs`, coherence's in
//! its module, chained by `directives()`. The conf file, `--name value` flags,
//! `CONFIG GET/SET/REWRITE` and the sample `conf/cachet.conf` all read them; nothing else knows the
//! list of directives. This file holds the values, the argument parsers the tables use, and the
//! running configuration.

mod accepted;
mod data;
pub mod region;
mod table;

pub use table::DIRECTIVES;

use crate::sync::LockExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::engine::glob::glob_match;
use crate::engine::{EvictionSettings, Policy};
use crate::error::CmdError;
use crate::protocol::request::split_args;
use crate::state::pubsub::OutputLimit;

#[derive(Debug, Clone)]
pub struct ConfigValues {
    /// Values of the directives accepted for compatibility only (`config/accepted.rs`), by their
    /// canonical name; absent means the default.
    pub accepted: std::collections::BTreeMap<&'static str, String>,
    pub port: u16,
    pub bind: Vec<String>,
    /// `tls-port`: the TLS listener's port on every bind address; 0: none.
    pub tls_port: u16,
    /// The other `tls-*` directives (`state::tls::config`).
    pub tls: crate::state::tls::config::TlsValues,
    pub databases: usize,
    pub shards: usize,
    pub threads: usize,
    pub maxclients: usize,
    pub requirepass: Vec<u8>,
    pub enable_protected_configs: ProtectedAction,
    /// `enable-debug-command`: who may run DEBUG.
    pub enable_debug_command: ProtectedAction,
    /// `protected-mode`: while the default user has no password, only loopback clients are served.
    pub protected_mode: bool,
    /// The ACL file (`aclfile`), empty for none.
    pub aclfile: String,
    pub acllog_max_len: usize,
    /// `acl-pubsub-default allchannels`: new users and selectors may use every channel.
    pub acl_pubsub_allchannels: bool,
    /// `user` lines of the conf file, each the arguments after `user`, loaded at startup.
    pub users: Vec<Vec<Vec<u8>>>,
    /// `region` lines (and `--region` flags), installed at startup (`Keyspace::set_regions`);
    /// at run time CACHE.REGION changes the keyspace's, which CONFIG REWRITE writes back.
    pub regions: Vec<crate::engine::region::RegionSpec>,
    pub hz: u32,
    pub loglevel: String,
    pub logfile: String,
    pub timeout: u64,
    /// `busy-reply-threshold` (alias `lua-time-limit`), in milliseconds.
    pub busy_reply_threshold: u64,
    pub tracking_table_max_keys: usize,
    pub tcp_keepalive: u64,
    pub tcp_backlog: u32,
    pub proto_max_bulk_len: usize,
    pub proto_max_multibulk_len: usize,
    pub client_query_buffer_limit: usize,
    pub save: String,
    /// `save` parsed: (seconds, changes) pairs; a snapshot is taken when any is met.
    pub save_points: Vec<(u64, u64)>,
    pub rdbcompression: bool,
    pub stop_writes_on_bgsave_error: bool,
    /// `snapshot-load-failure empty`: start with no data when the snapshot cannot be loaded
    /// (the default, `refuse`, stops the daemon as Redis stops on a corrupt RDB).
    pub snapshot_load_failure_empty: bool,
    /// Redis's `key-load-delay`: microseconds slept per key the snapshot load reads (negative
    /// -n: one microsecond with a chance of 1 in n), to test what happens during a long load.
    pub key_load_delay: i32,
    pub appendonly: bool,
    pub dir: String,
    pub dbfilename: String,
    pub maxmemory: usize,
    pub maxmemory_keys: usize,
    pub maxmemory_policy: Policy,
    pub maxmemory_samples: usize,
    pub jemalloc_bg_thread: bool,
    pub lfu_log_factor: u32,
    pub lfu_decay_time: u32,
    pub priority_idle_demote: u64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: usize,
    pub latency_monitor_threshold: u64,
    pub latency_tracking: bool,
    pub latency_tracking_info_percentiles: Vec<f64>,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub stream_node_max_bytes: usize,
    pub stream_node_max_entries: i64,
    pub list_max_listpack_size: i64,
    pub list_compress_depth: i64,
    pub set_max_intset_entries: usize,
    pub hll_sparse_max_bytes: usize,
    pub compression_level: crate::engine::compress::Level,
    pub compression_min_size: usize,
    pub compression_backlog: usize,
    pub compression_dict: bool,
    pub compression_dict_prefix_delimiter: String,
    pub compression_dict_size: usize,
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
    /// Key of the HMAC every coherence message carries and links authenticate with; empty: none.
    pub coherence_secret: Vec<u8>,
    /// `peer-tls yes`: links to peers (and replays asked of them) go over TLS.
    pub peer_tls: bool,
    /// The bus was given as `rediss://`: its connections go over TLS.
    pub coherence_bus_tls: bool,
    /// The bus URL's (user, password), sent with AUTH first; an empty user is `AUTH password`.
    pub coherence_bus_login: Option<(String, String)>,
    pub cluster_enabled: crate::state::cluster::Mode,
    pub cluster_config_file: String,
    pub cluster_node_id: String,
    /// What a cluster replica logs in with when it fills from its master (`net::cluster_replica`).
    pub masteruser: String,
    pub masterauth: String,
    pub cluster_announce_ip: String,
    pub cluster_announce_port: u16,
    pub cluster_announce_bus_port: u16,
    pub cluster_port: u16,
    pub cluster_require_full_coverage: bool,
    pub cluster_allow_reads_when_down: bool,
    /// Milliseconds without an answer before a node of the topology is taken as failed.
    pub cluster_node_timeout: u64,
    /// `--import-rdb`: a Redis RDB file loaded into the keyspace at start, before clients are
    /// served. A command-line flag, not a directive: CONFIG neither shows nor rewrites it.
    pub import_rdb: Option<PathBuf>,
    /// The admin HTTP port (`net::admin`); 0: no admin port.
    pub admin_port: u16,
    pub admin_bind: String,
    /// Bearer token the admin endpoints that reveal or change data require; empty: none.
    pub admin_token: Vec<u8>,
    /// Most admin-port connections at once (`net::admin::conn`).
    pub admin_maxclients: usize,
    /// Seconds a client has to send a request's headers, then its body.
    pub admin_timeout: u64,
    /// `/ready` answers 503 until every coherence link is up.
    pub admin_ready_requires_peers: bool,
    /// `json`: one JSON object per log line (tracing's JSON layer); `text`: plain lines.
    pub log_json: bool,
}

impl ConfigValues {
    pub fn compression(&self) -> crate::engine::compress::Settings {
        crate::engine::compress::Settings {
            level: self.compression_level,
            min_size: self.compression_min_size,
            backlog: self.compression_backlog,
        }
    }

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

/// Who may change protected directives with `CONFIG SET` (Redis 7's `enable-protected-configs`,
/// and its names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtectedAction {
    No,
    Yes,
    /// Only connections from the loopback address (Redis's `islocalClient`: exactly 127.0.0.1 or
    /// ::1).
    Local,
}

impl ProtectedAction {
    pub fn name(self) -> &'static str {
        match self {
            ProtectedAction::No => "no",
            ProtectedAction::Yes => "yes",
            ProtectedAction::Local => "local",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "no" => Some(ProtectedAction::No),
            "yes" => Some(ProtectedAction::Yes),
            "local" => Some(ProtectedAction::Local),
            _ => None,
        }
    }

    /// Whether a client connected from `peer` may do the protected action.
    pub fn allows(self, peer: std::net::SocketAddr) -> bool {
        match self {
            ProtectedAction::No => false,
            ProtectedAction::Yes => true,
            ProtectedAction::Local => {
                let ip = peer.ip();
                ip == std::net::IpAddr::from([127, 0, 0, 1])
                    || ip == std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
            }
        }
    }
}

/// Why `CONFIG SET` refuses a directive by its name alone (`typed` as the client wrote it).
pub fn refusal(directive: &Directive, typed: &str, allow_protected: bool) -> Option<CmdError> {
    if !directive.mutable {
        Some(CmdError::ConfigImmutable { name: typed.into() })
    } else if directive.protected && !allow_protected {
        Some(CmdError::ConfigProtected { name: typed.into() })
    } else {
        None
    }
}

type Getter = fn(&ConfigValues) -> String;
/// Parses and stores a directive's value. The error is the reason the value is refused, without a
/// code or framing (`argument must be 'yes' or 'no'`), as each of Redis's `config.c` setters
/// writes its `err`: CONFIG SET frames it (`CmdError::ConfigInvalid`), the conf-file loader names
/// the line.
type Setter = fn(&mut ConfigValues, &[&str]) -> Result<(), String>;

pub struct Directive {
    pub name: &'static str,
    pub default: &'static str,
    /// Whether `CONFIG SET` may change it while running.
    pub mutable: bool,
    /// Redis's `PROTECTED_CONFIG`: `CONFIG SET` may change it only where `enable-protected-configs`
    /// allows (the conf file and the command line always may). For what makes the daemon connect
    /// somewhere or write files: a client must not point it at an address or a path of its choice.
    pub protected: bool,
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

/// A value as Redis reads it where it treats it as a C string (`strcasecmp` for booleans and
/// enumerations, `zstrdup` for strings, `chdir`, `memtoull`, `strtoll`): up to its first NUL, so
/// `CONFIG SET dbfilename "a\0b"` sets `a`. Redis reads integers (`string2ll`, `string2d`) and
/// its binary-safe directives (`requirepass`, `masterauth`) with their whole length: those take
/// `one`.
pub(crate) fn c_str(value: &str) -> &str {
    value.split('\0').next().unwrap_or_default()
}

/// `one`, read as a C string (`c_str`).
pub(crate) fn text<'a>(args: &[&'a str]) -> Result<&'a str, String> {
    one(args).map(c_str)
}

/// An integer directive as Redis's `string2ll` reads it: no sign but `-`, no `-0`, no leading
/// zeros, no spaces.
pub(crate) fn int<T: TryFrom<i64>>(args: &[&str], min: i64, max: i64) -> Result<T, String> {
    let value: i64 = crate::protocol::parse_i64(one(args)?.as_bytes())
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
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
    match text(args)?.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".to_string()),
    }
}

pub(crate) fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_string()
}

/// Parses a memory amount as Redis's `memtoull`: `1gb` = 2^30, `1g` = 10^9, `1k` = 1000, `1kb` = 1024.
/// As there, the text is a C string (it ends at a NUL), no digits is 0 (`""`, `kb`), and a number
/// beyond 64 bits (under 128 digits) saturates for the range check to refuse.
pub fn parse_memory(text: &str) -> Option<u64> {
    let text = c_str(text);
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
    const MAX_DIGITS: usize = 127;
    let value = match digits {
        "" => 0,
        _ if digits.len() > MAX_DIGITS => return None,
        _ => digits.parse::<u64>().unwrap_or(u64::MAX),
    };
    value.checked_mul(multiplier)
}

/// A double as Redis prints it with `%f` and `trimDoubleString`: six decimals, then the trailing
/// zeros and a bare point dropped (`50`, `99.9`).
pub fn trimmed_double(value: f64) -> String {
    let text = format!("{value:.6}");
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Redis's `string2d` for a directive's word: the whole word a double, not NaN, and not out of
/// `strtod`'s range (`1e400` overflows, `1e-400` underflows to zero; `inf` itself is a value).
fn string2d(word: &str) -> Option<f64> {
    let unsigned = word.strip_prefix(['+', '-']).unwrap_or(word);
    // strtod reads C99 hexadecimal too (`0x10` is 16); its integer form is what a percentile
    // would be written as.
    if let Some(hex) = unsigned.strip_prefix("0x").or(unsigned.strip_prefix("0X")) {
        let value = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if word.starts_with('-') { -value } else { value });
    }
    let value = word.parse::<f64>().ok().filter(|v| !v.is_nan())?;
    let named = unsigned.starts_with(['i', 'I']);
    let mantissa = unsigned.split(['e', 'E']).next().unwrap_or_default();
    let underflow = value == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    (!underflow && (named || value.is_finite())).then_some(value)
}

/// `latency-tracking-info-percentiles`: doubles within 0..=100, space separated; `""` for none.
pub(crate) fn percentiles(args: &[&str]) -> Result<Vec<f64>, String> {
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    let mut values = Vec::with_capacity(words.len());
    for word in words {
        let value = string2d(word).ok_or("Invalid latency-tracking-info-percentiles parameters")?;
        if !(0.0..=100.0).contains(&value) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .into(),
            );
        }
        values.push(value);
    }
    Ok(values)
}

/// Every directive: the server's table and those of the modules that own theirs.
pub fn directives() -> impl Iterator<Item = &'static Directive> {
    table::DIRECTIVES
        .iter()
        .chain(data::DIRECTIVES)
        .chain(crate::state::coherence::config::DIRECTIVES)
        .chain(crate::state::cluster::config::DIRECTIVES)
        .chain(crate::state::tls::config::DIRECTIVES)
        .chain(accepted::DIRECTIVES)
}

pub fn find_directive(name: &str) -> Option<&'static Directive> {
    directives().find(|d| d.name.eq_ignore_ascii_case(name))
}

impl Default for ConfigValues {
    fn default() -> Self {
        let mut values = ConfigValues {
            accepted: Default::default(),
            port: 0,
            bind: Vec::new(),
            tls_port: 0,
            tls: Default::default(),
            databases: 0,
            shards: 0,
            threads: 0,
            maxclients: 0,
            requirepass: Vec::new(),
            enable_protected_configs: ProtectedAction::No,
            enable_debug_command: ProtectedAction::No,
            protected_mode: true,
            aclfile: String::new(),
            acllog_max_len: 128,
            acl_pubsub_allchannels: false,
            users: Vec::new(),
            regions: Vec::new(),
            hz: 0,
            loglevel: String::new(),
            logfile: String::new(),
            timeout: 0,
            busy_reply_threshold: 5000,
            tracking_table_max_keys: 0,
            tcp_keepalive: 0,
            tcp_backlog: 0,
            proto_max_bulk_len: 0,
            proto_max_multibulk_len: 0,
            client_query_buffer_limit: 0,
            save: String::new(),
            save_points: Vec::new(),
            rdbcompression: true,
            stop_writes_on_bgsave_error: true,
            snapshot_load_failure_empty: false,
            key_load_delay: 0,
            appendonly: false,
            dir: String::new(),
            dbfilename: String::new(),
            maxmemory: 0,
            maxmemory_keys: 0,
            maxmemory_policy: Policy::AllKeysCachet,
            maxmemory_samples: 0,
            jemalloc_bg_thread: false,
            lfu_log_factor: 0,
            lfu_decay_time: 0,
            priority_idle_demote: 0,
            slowlog_log_slower_than: 0,
            slowlog_max_len: 0,
            latency_monitor_threshold: 0,
            latency_tracking: false,
            latency_tracking_info_percentiles: Vec::new(),
            hash_max_listpack_entries: 0,
            hash_max_listpack_value: 0,
            zset_max_listpack_entries: 0,
            zset_max_listpack_value: 0,
            stream_node_max_bytes: 0,
            stream_node_max_entries: 0,
            list_max_listpack_size: 0,
            list_compress_depth: 0,
            set_max_intset_entries: 0,
            hll_sparse_max_bytes: 0,
            compression_level: Default::default(),
            compression_min_size: 0,
            compression_backlog: 0,
            compression_dict: false,
            compression_dict_prefix_delimiter: String::new(),
            compression_dict_size: 0,
            client_output_buffer_limit: [OutputLimit::default(); 3],
            notify_keyspace_events: 0,
            stats_prefixes: Vec::new(),
            node_id: String::new(),
            peers: Vec::new(),
            coherence: false,
            coherence_bus: String::new(),
            coherence_announce: String::new(),
            coherence_backlog_size: 0,
            coherence_secret: Vec::new(),
            peer_tls: false,
            coherence_bus_tls: false,
            coherence_bus_login: None,
            cluster_enabled: crate::state::cluster::Mode::Off,
            cluster_config_file: String::new(),
            cluster_node_id: String::new(),
            masteruser: String::new(),
            masterauth: String::new(),
            cluster_announce_ip: String::new(),
            cluster_announce_port: 0,
            cluster_announce_bus_port: 0,
            cluster_port: 0,
            cluster_require_full_coverage: true,
            cluster_allow_reads_when_down: false,
            cluster_node_timeout: 15000,
            import_rdb: None,
            admin_port: 0,
            admin_bind: String::new(),
            admin_token: Vec::new(),
            admin_maxclients: 0,
            admin_timeout: 0,
            admin_ready_requires_peers: false,
            log_json: false,
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

/// The running configuration. Readers (every connection, several times per batch) load a
/// snapshot through an atomic pointer, with no lock shared between threads; `CONFIG SET`
/// publishes a new snapshot, serialized by `writer`.
pub struct Config {
    values: ArcSwap<ConfigValues>,
    writer: Mutex<()>,
    /// The file the configuration was loaded from, which `CONFIG REWRITE` updates.
    pub file: Option<PathBuf>,
}

impl Config {
    pub fn new(values: ConfigValues, file: Option<PathBuf>) -> Self {
        Config {
            values: ArcSwap::from_pointee(values),
            writer: Mutex::new(()),
            file,
        }
    }

    pub fn read(&self) -> arc_swap::Guard<Arc<ConfigValues>> {
        self.values.load()
    }

    /// Applies `CONFIG SET` pairs atomically: all succeed or none is applied. Protected directives
    /// are refused unless `allow_protected` (see `ProtectedAction::allows`).
    pub fn set(&self, pairs: &[(&str, Vec<&str>)], allow_protected: bool) -> Result<(), CmdError> {
        self.set_checked(pairs, allow_protected, |_| Ok(()))
    }

    /// `set`, with `check` run on the new values before they are published: its error refuses
    /// the whole change (the TLS contexts, built from files, are checked and installed there).
    pub fn set_checked(
        &self,
        pairs: &[(&str, Vec<&str>)],
        allow_protected: bool,
        check: impl FnOnce(&ConfigValues) -> Result<(), CmdError>,
    ) -> Result<(), CmdError> {
        let _writer = self.writer.lock_or_recover();
        let mut updated = ConfigValues::clone(&self.values.load());
        for (name, args) in pairs {
            let Some(directive) = find_directive(name) else {
                return Err(CmdError::ConfigUnknown {
                    name: (*name).into(),
                });
            };
            if let Some(refused) = refusal(directive, name, allow_protected) {
                return Err(refused);
            }
            (directive.set)(&mut updated, args).map_err(|reason| CmdError::ConfigInvalid {
                name: (*name).into(),
                reason: reason.into(),
            })?;
        }
        check(&updated)?;
        self.values.store(Arc::new(updated));
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
    /// `users`: the `user` lines the file is to hold (Redis's rewrite of a repeated directive:
    /// each one already there is replaced in place by the next, those left over are appended and
    /// the old ones in excess removed).
    /// `regions`: the `region` lines, rewritten the same way.
    pub fn rewrite(&self, users: &[Vec<u8>], regions: &[String]) -> Result<(), CmdError> {
        let Some(path) = &self.file else {
            return Err(CmdError::ConfigNoFile);
        };
        // Bytes: a user's patterns need not be UTF-8, and lines the rewrite does not own are
        // kept exactly.
        let existing = std::fs::read(path).unwrap_or_default();
        let values = self.read();
        let mut written = std::collections::HashSet::new();
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut users = users.iter();
        let mut regions = regions.iter();
        let mut existing_lines: Vec<&[u8]> = existing.split(|&b| b == b'\n').collect();
        if existing_lines.last().is_some_and(|l| l.is_empty()) {
            existing_lines.pop();
        }
        for line in existing_lines {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let name = line
                .split(|b| b.is_ascii_whitespace())
                .find(|w| !w.is_empty())
                .unwrap_or(b"");
            if name.eq_ignore_ascii_case(b"user") {
                lines.extend(users.next().cloned());
                continue;
            }
            if name.eq_ignore_ascii_case(b"region") {
                lines.extend(regions.next().map(|r| r.as_bytes().to_vec()));
                continue;
            }
            let commented = line.trim_ascii_start().starts_with(b"#");
            match std::str::from_utf8(name).ok().and_then(find_directive) {
                Some(d) if !commented => {
                    if written.insert(d.name) {
                        lines.push(format!("{} {}", d.name, quote((d.get)(&values))).into_bytes());
                    }
                }
                _ => lines.push(line.to_vec()),
            }
        }
        for d in directives() {
            let value = (d.get)(&values);
            if !written.contains(d.name) && value != d.default {
                lines.push(format!("{} {}", d.name, quote(value)).into_bytes());
            }
        }
        lines.extend(users.cloned());
        lines.extend(regions.map(|r| r.as_bytes().to_vec()));
        let mut text = lines.join(&b'\n');
        text.push(b'\n');
        let temp = path.with_extension("rewrite.tmp");
        std::fs::write(&temp, text)
            .and_then(|_| std::fs::rename(&temp, path))
            .map_err(|e| CmdError::ConfigRewrite(e.to_string().into()))
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
    apply_conf_bytes(values, text.as_bytes())
}

/// `apply_conf_text` on a file's bytes: `user` lines keep theirs (a key pattern need not be
/// UTF-8, as in Redis); every other directive's value is text.
pub fn apply_conf_bytes(values: &mut ConfigValues, text: &[u8]) -> Result<(), String> {
    for (number, line) in text.split(|&b| b == b'\n').enumerate() {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || trimmed.starts_with(b"#") {
            continue;
        }
        let shown = || String::from_utf8_lossy(trimmed);
        let parts =
            split_args(trimmed).ok_or_else(|| format!("line {}: unbalanced quotes", number + 1))?;
        let Some((name, args)) = parts.split_first() else {
            continue;
        };
        if name.eq_ignore_ascii_case(b"user") && !args.is_empty() {
            values.users.push(args.to_vec());
            continue;
        }
        let name = String::from_utf8_lossy(name);
        let args: Vec<String> = args
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        apply_directive(values, &name, &args)
            .map_err(|e| format!("line {}: '{}': {e}", number + 1, shown()))?;
    }
    Ok(())
}

pub fn apply_directive(
    values: &mut ConfigValues,
    name: &str,
    args: &[String],
) -> Result<(), String> {
    // `user` lines add up and are not a directive CONFIG knows, as in Redis; their rules are
    // checked when the server loads them.
    if name.eq_ignore_ascii_case("user") {
        if args.is_empty() {
            return Err("Bad directive or wrong number of arguments".to_string());
        }
        values
            .users
            .push(args.iter().map(|a| a.as_bytes().to_vec()).collect());
        return Ok(());
    }
    // `region` lines add up too; whether they fit together and under `maxmemory` is checked once
    // the whole configuration is read (`engine::region::check`, at startup).
    if name.eq_ignore_ascii_case("region") {
        let words: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        values.regions.push(region::parse(&words)?);
        return Ok(());
    }
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

    /// Read as redis-server 7.0.15's `string2d` reads them (each case checked against it).
    #[test]
    fn percentiles_as_redis_reads_them() {
        let invalid = "Invalid latency-tracking-info-percentiles parameters";
        let outside = "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
        assert_eq!(percentiles(&["50 99.9 0"]), Ok(vec![50.0, 99.9, 0.0]));
        assert_eq!(percentiles(&["1e-5"]), Ok(vec![0.00001]));
        assert_eq!(percentiles(&["0x10"]), Ok(vec![16.0]));
        assert_eq!(percentiles(&[""]), Ok(vec![]));
        for word in ["1e400", "1e-400", "nan", "abc", "50 1e400", "0x", "+-5"] {
            assert_eq!(percentiles(&[word]), Err(invalid.to_string()), "{word}");
        }
        for word in ["inf", "-inf", "100.5", "-0x10"] {
            assert_eq!(percentiles(&[word]), Err(outside.to_string()), "{word}");
        }
    }

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
        // memtoull: a C string, no digits is 0, beyond 64 bits saturates, a sign is refused.
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("kb"), Some(0));
        assert_eq!(parse_memory("5\0junk"), Some(5));
        assert_eq!(parse_memory("99999999999999999999999"), Some(u64::MAX));
        assert_eq!(parse_memory(&"9".repeat(128)), None);
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("+1"), None);
    }

    #[test]
    fn set_is_all_or_nothing() {
        let config = Config::new(ConfigValues::default(), None);
        let err = config
            .set(&[("hz", vec!["20"]), ("nosuch", vec!["1"])], false)
            .unwrap_err();
        assert_eq!(
            err,
            CmdError::ConfigUnknown {
                name: "nosuch".into()
            }
        );
        assert_eq!(config.read().hz, 10);
        config.set(&[("hz", vec!["20"])], false).unwrap();
        assert_eq!(config.read().hz, 20);
    }

    #[test]
    fn protected_directives_need_permission() {
        let config = Config::new(ConfigValues::default(), None);
        let err = config.set(&[("dir", vec!["/tmp"])], false).unwrap_err();
        assert_eq!(err, CmdError::ConfigProtected { name: "dir".into() });
        config.set(&[("dir", vec!["/tmp"])], true).unwrap();
        assert_eq!(config.read().dir, "/tmp");
        for name in [
            "dir",
            "dbfilename",
            "peer",
            "coherence-bus",
            "coherence-announce",
        ] {
            assert!(find_directive(name).is_some_and(|d| d.protected), "{name}");
        }
        let at = |ip: &str| std::net::SocketAddr::new(ip.parse().unwrap(), 5000);
        assert!(ProtectedAction::Local.allows(at("127.0.0.1")));
        assert!(ProtectedAction::Local.allows(at("::1")));
        // Redis's islocalClient compares the text: only these two.
        assert!(!ProtectedAction::Local.allows(at("127.0.0.2")));
        assert!(!ProtectedAction::Local.allows(at("10.0.0.1")));
        assert!(ProtectedAction::Yes.allows(at("10.0.0.1")));
        assert!(!ProtectedAction::No.allows(at("127.0.0.1")));
    }
}
