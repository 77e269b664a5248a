//! Redis 7.0 directives cachet accepts without acting on them, so that a redis.conf, a test
//! harness or a tool that sets or reads them works unchanged: each is validated as Redis validates
//! it (the same types, ranges, enumerations and error reasons), kept, and answered by CONFIG GET and
//! CONFIG REWRITE with Redis's default. Where a value would ask for something cachet does not do
//! (TLS, cluster mode, replication, a Unix socket, daemonizing) only the default is accepted, with
//! a reason: silently ignoring such a setting would leave the operator believing it holds.
//!
//! A directive that cachet comes to implement moves from here to `table.rs` or `data.rs`, with its real effect.
//! Types and ranges are Redis's `config.c`; defaults are what `CONFIG GET` of redis-server 7.0
//! answers.

use super::{c_str, memory, one, parse_memory, text, ConfigValues, Directive};

/// How a value is read and checked.
pub enum Kind {
    Bool,
    Int(i64, i64),
    Memory(u64, u64),
    /// A memory amount of at least 1, raised to this floor as Redis raises `repl-backlog-size`.
    MemoryRaisedTo(u64),
    /// A memory amount, or a percentage (`10%`) of `maxmemory`.
    MemoryOrPercent,
    Enum(&'static [&'static str]),
    /// One or more words of the list (SHUTDOWN's flags).
    Flags(&'static [&'static str]),
    Text,
    /// Octal permission bits (`unixsocketperm`).
    Octal,
    /// The three `oom-score-adj-values`, each -2000..=2000.
    OomValues,
    /// Only the default is accepted: anything else would need what the reason says cachet lacks.
    DefaultOnly(&'static str),
    /// `proc-title-template`: Redis's template syntax and variables, refused when it expands to
    /// nothing.
    ProcTitleTemplate,
    /// A hostname announced to cluster peers: under 256 characters of `[A-Za-z0-9.-]`.
    Hostname,
}

impl ConfigValues {
    fn accepted_value(&self, name: &str, default: &str) -> String {
        self.accepted
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    fn set_accepted(
        &mut self,
        name: &'static str,
        default: &str,
        kind: &Kind,
        args: &[&str],
    ) -> Result<(), String> {
        let value = normalize(kind, default, args)?;
        self.accepted.insert(name, value);
        Ok(())
    }
}

/// The value as CONFIG GET will answer it, or Redis's reason for refusing it.
fn normalize(kind: &Kind, default: &str, args: &[&str]) -> Result<String, String> {
    let enumeration = |words: &[&str]| {
        format!(
            "argument(s) must be one of the following: {}",
            words.join(", ")
        )
    };
    Ok(match kind {
        Kind::Bool => super::yes_no(super::boolean(args)?),
        Kind::Int(min, max) => super::int::<i64>(args, *min, *max)?.to_string(),
        Kind::Memory(min, max) => memory(args, *min, *max)?.to_string(),
        Kind::MemoryRaisedTo(floor) => (memory(args, 1, i64::MAX as u64)? as u64)
            .max(*floor)
            .to_string(),
        Kind::MemoryOrPercent => {
            // As Redis: a memory amount first (a C string), then a percentage (its whole length).
            let value = one(args)?;
            let not_either = || "argument must be a memory or percent value".to_string();
            let too_large = || "percentage argument must be less or equal to 100".to_string();
            match parse_memory(value) {
                Some(bytes) if bytes <= i64::MAX as u64 => bytes.to_string(),
                // Redis stores a percentage as its negative and reads the amount into a signed
                // `long long`: past 2^63 an amount wraps to a negative number, so a percentage
                // (18446744073709551615 is 1%, and anything from 2^63 to 2^64-101 too large).
                Some(bytes) => match (bytes as i64).checked_neg().filter(|n| *n <= 100) {
                    Some(percent) => format!("{percent}%"),
                    None => return Err(too_large()),
                },
                None => {
                    let n: i64 = value
                        .strip_suffix('%')
                        .and_then(|percent| crate::protocol::parse_i64(percent.as_bytes()))
                        .filter(|n| *n >= 0)
                        .ok_or_else(not_either)?;
                    if n > 100 {
                        return Err(too_large());
                    }
                    format!("{n}%")
                }
            }
        }
        Kind::Enum(words) => {
            let value = text(args)?.to_ascii_lowercase();
            if !words.contains(&value.as_str()) {
                return Err(enumeration(words));
            }
            value
        }
        Kind::Flags(words) => {
            let given: Vec<String> = args
                .iter()
                .flat_map(|a| a.split_whitespace())
                .map(|word| c_str(word).to_ascii_lowercase())
                .collect();
            if given.is_empty() || given.iter().any(|w| !words.contains(&w.as_str())) {
                return Err(enumeration(words));
            }
            given.join(" ")
        }
        Kind::Text => c_str(&args.join(" ")).to_string(),
        Kind::ProcTitleTemplate => {
            let template = c_str(&args.join(" ")).to_string();
            if !proc_title_template_is_valid(&template) {
                return Err("template format is invalid or contains unknown variables".into());
            }
            template
        }
        Kind::Hostname => {
            let name = c_str(&args.join(" ")).to_string();
            if name.len() >= 256 {
                return Err("Hostnames must be less than 256 characters".into());
            }
            if !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(
                    "Hostnames may only contain alphanumeric characters, hyphens or dots".into(),
                );
            }
            name
        }
        Kind::Octal => {
            let text = text(args)?;
            let bits = u32::from_str_radix(text, 8)
                .ok()
                .filter(|&bits| bits <= 0o777)
                .ok_or_else(|| {
                    "argument must be between 0 and 777 (octal) inclusive".to_string()
                })?;
            format!("{bits:o}")
        }
        Kind::OomValues => {
            let values: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if values.len() != 3 {
                return Err("wrong number of arguments".into());
            }
            let mut numbers = Vec::with_capacity(values.len());
            for value in values {
                // `strtoll` with an end check: a C string, "" reads as 0.
                let n = match c_str(value) {
                    "" => Some(0),
                    digits => digits.parse::<i64>().ok(),
                }
                .filter(|n| (-2000..=2000).contains(n));
                let Some(n) = n else {
                    return Err(
                        "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                            .into(),
                    );
                };
                numbers.push(n.to_string());
            }
            numbers.join(" ")
        }
        Kind::DefaultOnly(reason) => {
            let value = c_str(&args.join(" ")).to_string();
            if !value.eq_ignore_ascii_case(default) {
                return Err((*reason).to_string());
            }
            default.to_string()
        }
    })
}

/// A directive kept under `$key` (the canonical name: an alias shares its primary's value).
macro_rules! accepted {
    ($name:literal, $key:literal, $default:literal, $mutable:literal, $kind:expr, $help:literal) => {
        Directive {
            name: $name,
            default: $default,
            mutable: $mutable,
            protected: false,
            help: $help,
            get: |c| c.accepted_value($key, $default),
            set: |c, a| c.set_accepted($key, $default, &$kind, a),
        }
    };
}

const NO_DH: &str = "cachet's TLS (rustls) has no finite-field Diffie-Hellman suites, so no DH parameters to load; only the default is accepted";
const NO_REPLICATION: &str = "cachet has no replication; only the default is accepted";
const FOREGROUND: &str =
    "cachet runs in the foreground (use systemd or a container); only 'no' is accepted";
const NO_UNIX_SOCKET: &str = "cachet listens on TCP only; only the default is accepted";
const NO_AOF: &str = "cachet has no append-only file; only the default is accepted";
const NO_DEFRAG: &str = "cachet does not defragment actively; only 'no' is accepted";
const PROTECTED: &[&str] = &["no", "yes", "local"];
const SHUTDOWN: &[&str] = &["default", "save", "nosave", "now", "force"];

/// `scripts/gen-conf.py` lists these in `conf/cachet.conf` after the server's own directives.
#[rustfmt::skip]
pub static DIRECTIVES: &[Directive] = &[
    accepted!("activerehashing", "activerehashing", "yes", true, Kind::Bool, "Accepted; cachet's tables grow and shrink incrementally on their own."),
    accepted!("dynamic-hz", "dynamic-hz", "yes", true, Kind::Bool, "Accepted; the cron runs at hz."),
    accepted!("lazyfree-lazy-eviction", "lazyfree-lazy-eviction", "no", true, Kind::Bool, "Accepted; no effect."),
    accepted!("lazyfree-lazy-expire", "lazyfree-lazy-expire", "no", true, Kind::Bool, "Accepted; no effect."),
    accepted!("lazyfree-lazy-server-del", "lazyfree-lazy-server-del", "no", true, Kind::Bool, "Accepted; no effect."),
    accepted!("lazyfree-lazy-user-del", "lazyfree-lazy-user-del", "no", true, Kind::Bool, "Accepted; no effect."),
    accepted!("lazyfree-lazy-user-flush", "lazyfree-lazy-user-flush", "no", true, Kind::Bool, "Accepted; FLUSHALL ASYNC frees on a thread of its own."),
    accepted!("activedefrag", "activedefrag", "no", true, Kind::DefaultOnly(NO_DEFRAG), "Only 'no': cachet does not defragment actively."),
    accepted!("active-defrag-cycle-min", "active-defrag-cycle-min", "1", true, Kind::Int(1, 99), "Accepted; no effect."),
    accepted!("active-defrag-cycle-max", "active-defrag-cycle-max", "25", true, Kind::Int(1, 99), "Accepted; no effect."),
    accepted!("active-defrag-threshold-lower", "active-defrag-threshold-lower", "10", true, Kind::Int(0, 1000), "Accepted; no effect."),
    accepted!("active-defrag-threshold-upper", "active-defrag-threshold-upper", "100", true, Kind::Int(0, 1000), "Accepted; no effect."),
    accepted!("active-defrag-ignore-bytes", "active-defrag-ignore-bytes", "104857600", true, Kind::Memory(1, i64::MAX as u64), "Accepted; no effect."),
    accepted!("active-defrag-max-scan-fields", "active-defrag-max-scan-fields", "1000", true, Kind::Int(1, i64::MAX), "Accepted; no effect."),
    accepted!("active-expire-effort", "active-expire-effort", "1", true, Kind::Int(1, 10), "Accepted; the expiry cycle uses 25% of each tick."),
    accepted!("maxmemory-eviction-tenacity", "maxmemory-eviction-tenacity", "10", true, Kind::Int(0, 100), "Accepted; eviction runs to the limit before a write."),
    accepted!("maxmemory-clients", "maxmemory-clients", "0", true, Kind::MemoryOrPercent, "Accepted; client memory is bounded by client-output-buffer-limit and client-query-buffer-limit."),
    accepted!("crash-log-enabled", "crash-log-enabled", "yes", true, Kind::Bool, "Accepted; no effect."),
    accepted!("crash-memcheck-enabled", "crash-memcheck-enabled", "yes", true, Kind::Bool, "Accepted; no effect."),
    accepted!("disable-thp", "disable-thp", "yes", false, Kind::Bool, "Accepted; no effect."),
    accepted!("always-show-logo", "always-show-logo", "no", false, Kind::Bool, "Accepted; no logo."),
    accepted!("set-proc-title", "set-proc-title", "yes", false, Kind::Bool, "Accepted; no effect."),
    accepted!("proc-title-template", "proc-title-template", "{title} {listen-addr} {server-mode}", true, Kind::ProcTitleTemplate, "Accepted; no effect."),
    accepted!("ignore-warnings", "ignore-warnings", "", true, Kind::Text, "Accepted; no effect."),
    accepted!("io-threads", "io-threads", "1", false, Kind::Int(1, 128), "Accepted; cachet's worker count is the threads directive."),
    accepted!("io-threads-do-reads", "io-threads-do-reads", "no", false, Kind::Bool, "Accepted; no effect."),
    accepted!("server_cpulist", "server_cpulist", "", false, Kind::Text, "Accepted; pin with taskset instead."),
    accepted!("bio_cpulist", "bio_cpulist", "", false, Kind::Text, "Accepted; no effect."),
    accepted!("aof_rewrite_cpulist", "aof_rewrite_cpulist", "", false, Kind::Text, "Accepted; no effect."),
    accepted!("bgsave_cpulist", "bgsave_cpulist", "", false, Kind::Text, "Accepted; no effect."),
    accepted!("oom-score-adj", "oom-score-adj", "no", true, Kind::Enum(&["no", "yes", "relative", "absolute"]), "Accepted; no effect."),
    accepted!("oom-score-adj-values", "oom-score-adj-values", "0 200 800", true, Kind::OomValues, "Accepted; no effect."),
    accepted!("shutdown-on-sigint", "shutdown-on-sigint", "default", true, Kind::Flags(SHUTDOWN), "Accepted; SIGINT stops after in-flight commands, saving first when a save schedule is set (as default)."),
    accepted!("shutdown-on-sigterm", "shutdown-on-sigterm", "default", true, Kind::Flags(SHUTDOWN), "Accepted; SIGTERM stops after in-flight commands, saving first when a save schedule is set (as default)."),
    accepted!("shutdown-timeout", "shutdown-timeout", "10", true, Kind::Int(0, i32::MAX as i64), "Accepted; no effect."),
    accepted!("supervised", "supervised", "no", false, Kind::Enum(&["upstart", "systemd", "auto", "no"]), "Accepted; no effect."),
    accepted!("daemonize", "daemonize", "no", false, Kind::DefaultOnly(FOREGROUND), "Only 'no': cachet runs in the foreground."),
    accepted!("pidfile", "pidfile", "", false, Kind::Text, "Accepted; no pid file is written."),
    accepted!("syslog-enabled", "syslog-enabled", "no", false, Kind::Bool, "Accepted; logs go to stderr or logfile."),
    accepted!("syslog-ident", "syslog-ident", "redis", false, Kind::Text, "Accepted; no effect."),
    accepted!("syslog-facility", "syslog-facility", "local0", false, Kind::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]), "Accepted; no effect."),
    accepted!("unixsocket", "unixsocket", "", false, Kind::DefaultOnly(NO_UNIX_SOCKET), "Only empty: cachet listens on TCP only."),
    accepted!("unixsocketperm", "unixsocketperm", "0", false, Kind::Octal, "Accepted; no effect."),
    accepted!("socket-mark-id", "socket-mark-id", "0", false, Kind::Int(0, u32::MAX as i64), "Accepted; no effect."),
    accepted!("bind-source-addr", "bind-source-addr", "", true, Kind::Text, "Accepted; no effect."),
    accepted!("rdbchecksum", "rdbchecksum", "yes", false, Kind::Bool, "Accepted; cachet snapshots always carry a checksum per section."),
    accepted!("rdb-del-sync-files", "rdb-del-sync-files", "no", true, Kind::Bool, "Accepted; no effect: cachet has no replication sync files."),
    accepted!("rdb-save-incremental-fsync", "rdb-save-incremental-fsync", "yes", true, Kind::Bool, "Accepted; no effect: a snapshot is fsynced once, before its rename."),
    accepted!("sanitize-dump-payload", "sanitize-dump-payload", "no", true, Kind::Enum(&["no", "yes", "clients"]), "Accepted; no effect."),
    accepted!("appendfsync", "appendfsync", "everysec", true, Kind::Enum(&["everysec", "always", "no"]), "Accepted; cachet has no append-only file."),
    accepted!("appendfilename", "appendfilename", "appendonly.aof", false, Kind::DefaultOnly(NO_AOF), "Only the default: no append-only file."),
    accepted!("appenddirname", "appenddirname", "appendonlydir", false, Kind::DefaultOnly(NO_AOF), "Only the default: no append-only file."),
    accepted!("aof-load-truncated", "aof-load-truncated", "yes", true, Kind::Bool, "Accepted; no effect."),
    accepted!("aof-use-rdb-preamble", "aof-use-rdb-preamble", "yes", true, Kind::Bool, "Accepted; no effect."),
    accepted!("aof-timestamp-enabled", "aof-timestamp-enabled", "no", true, Kind::Bool, "Accepted; no effect."),
    accepted!("aof-rewrite-incremental-fsync", "aof-rewrite-incremental-fsync", "yes", true, Kind::Bool, "Accepted; no effect."),
    accepted!("aof-disable-auto-gc", "aof-disable-auto-gc", "no", true, Kind::Bool, "Accepted; no effect."),
    accepted!("no-appendfsync-on-rewrite", "no-appendfsync-on-rewrite", "no", true, Kind::Bool, "Accepted; no effect."),
    accepted!("auto-aof-rewrite-percentage", "auto-aof-rewrite-percentage", "100", true, Kind::Int(0, i32::MAX as i64), "Accepted; no effect."),
    accepted!("auto-aof-rewrite-min-size", "auto-aof-rewrite-min-size", "67108864", true, Kind::Memory(0, i64::MAX as u64), "Accepted; no effect."),
    accepted!("enable-module-command", "enable-module-command", "no", false, Kind::Enum(PROTECTED), "Accepted; cachet loads no modules."),
    accepted!("propagation-error-behavior", "propagation-error-behavior", "ignore", true, Kind::Enum(&["ignore", "panic", "panic-on-replicas"]), "Accepted; no replication."),
    accepted!("replicaof", "replicaof", "", false, Kind::DefaultOnly(NO_REPLICATION), "Only empty: no replication."),
    accepted!("slaveof", "replicaof", "", false, Kind::DefaultOnly(NO_REPLICATION), "Alias of replicaof."),
    accepted!("replica-announce-ip", "replica-announce-ip", "", true, Kind::Text, "Accepted; no replication."),
    accepted!("slave-announce-ip", "replica-announce-ip", "", true, Kind::Text, "Alias of replica-announce-ip."),
    accepted!("replica-announce-port", "replica-announce-port", "0", true, Kind::Int(0, 65535), "Accepted; no replication."),
    accepted!("slave-announce-port", "replica-announce-port", "0", true, Kind::Int(0, 65535), "Alias of replica-announce-port."),
    accepted!("replica-announced", "replica-announced", "yes", true, Kind::Bool, "Accepted; no replication."),
    accepted!("replica-priority", "replica-priority", "100", true, Kind::Int(0, i32::MAX as i64), "Accepted; no replication."),
    accepted!("slave-priority", "replica-priority", "100", true, Kind::Int(0, i32::MAX as i64), "Alias of replica-priority."),
    accepted!("replica-read-only", "replica-read-only", "yes", true, Kind::Bool, "Accepted; no replication."),
    accepted!("slave-read-only", "replica-read-only", "yes", true, Kind::Bool, "Alias of replica-read-only."),
    accepted!("replica-serve-stale-data", "replica-serve-stale-data", "yes", true, Kind::Bool, "Accepted; no replication."),
    accepted!("slave-serve-stale-data", "replica-serve-stale-data", "yes", true, Kind::Bool, "Alias of replica-serve-stale-data."),
    accepted!("replica-lazy-flush", "replica-lazy-flush", "no", true, Kind::Bool, "Accepted; no replication."),
    accepted!("slave-lazy-flush", "replica-lazy-flush", "no", true, Kind::Bool, "Alias of replica-lazy-flush."),
    accepted!("replica-ignore-maxmemory", "replica-ignore-maxmemory", "yes", true, Kind::Bool, "Accepted; no replication."),
    accepted!("slave-ignore-maxmemory", "replica-ignore-maxmemory", "yes", true, Kind::Bool, "Alias of replica-ignore-maxmemory."),
    accepted!("replica-ignore-disk-write-errors", "replica-ignore-disk-write-errors", "no", true, Kind::Bool, "Accepted; no replication."),
    accepted!("min-replicas-to-write", "min-replicas-to-write", "0", true, Kind::Int(0, i32::MAX as i64), "Accepted; no replication."),
    accepted!("min-slaves-to-write", "min-replicas-to-write", "0", true, Kind::Int(0, i32::MAX as i64), "Alias of min-replicas-to-write."),
    accepted!("min-replicas-max-lag", "min-replicas-max-lag", "10", true, Kind::Int(0, i32::MAX as i64), "Accepted; no replication."),
    accepted!("min-slaves-max-lag", "min-replicas-max-lag", "10", true, Kind::Int(0, i32::MAX as i64), "Alias of min-replicas-max-lag."),
    accepted!("repl-ping-replica-period", "repl-ping-replica-period", "10", true, Kind::Int(1, i32::MAX as i64), "Accepted; no replication."),
    accepted!("repl-ping-slave-period", "repl-ping-replica-period", "10", true, Kind::Int(1, i32::MAX as i64), "Alias of repl-ping-replica-period."),
    accepted!("repl-timeout", "repl-timeout", "60", true, Kind::Int(1, i32::MAX as i64), "Accepted; no replication."),
    accepted!("repl-backlog-size", "repl-backlog-size", "1048576", true, Kind::MemoryRaisedTo(16 * 1024), "Accepted; no replication (the coherence backlog is coherence-backlog-size)."),
    accepted!("repl-backlog-ttl", "repl-backlog-ttl", "3600", true, Kind::Int(0, i64::MAX), "Accepted; no replication."),
    accepted!("repl-disable-tcp-nodelay", "repl-disable-tcp-nodelay", "no", true, Kind::Bool, "Accepted; no replication."),
    accepted!("repl-diskless-sync", "repl-diskless-sync", "yes", true, Kind::Bool, "Accepted; no replication."),
    accepted!("repl-diskless-sync-delay", "repl-diskless-sync-delay", "5", true, Kind::Int(0, i32::MAX as i64), "Accepted; no replication."),
    accepted!("repl-diskless-sync-max-replicas", "repl-diskless-sync-max-replicas", "0", true, Kind::Int(0, i32::MAX as i64), "Accepted; no replication."),
    accepted!("repl-diskless-load", "repl-diskless-load", "disabled", true, Kind::Enum(&["disabled", "on-empty-db", "swapdb"]), "Accepted; no replication."),
    accepted!("cluster-announce-hostname", "cluster-announce-hostname", "", true, Kind::Hostname, "Accepted; nodes are announced by ip (no gossip to carry a hostname)."),
    accepted!("cluster-announce-tls-port", "cluster-announce-tls-port", "0", true, Kind::Int(0, 65535), "Accepted; a node announces one port (cluster-announce-port)."),
    accepted!("cluster-replica-no-failover", "cluster-replica-no-failover", "no", true, Kind::Bool, "Accepted; no cluster mode yet."),
    accepted!("cluster-slave-no-failover", "cluster-replica-no-failover", "no", true, Kind::Bool, "Alias of cluster-replica-no-failover."),
    accepted!("cluster-replica-validity-factor", "cluster-replica-validity-factor", "10", true, Kind::Int(0, i32::MAX as i64), "Accepted; no cluster mode yet."),
    accepted!("cluster-slave-validity-factor", "cluster-replica-validity-factor", "10", true, Kind::Int(0, i32::MAX as i64), "Alias of cluster-replica-validity-factor."),
    accepted!("cluster-migration-barrier", "cluster-migration-barrier", "1", true, Kind::Int(0, i32::MAX as i64), "Accepted; no cluster mode yet."),
    accepted!("cluster-allow-replica-migration", "cluster-allow-replica-migration", "yes", true, Kind::Bool, "Accepted; no cluster mode yet."),
    accepted!("cluster-allow-pubsubshard-when-down", "cluster-allow-pubsubshard-when-down", "yes", true, Kind::Bool, "Accepted; no cluster mode yet."),
    accepted!("cluster-link-sendbuf-limit", "cluster-link-sendbuf-limit", "0", true, Kind::Memory(0, u64::MAX), "Accepted; no cluster mode yet."),
    accepted!("cluster-preferred-endpoint-type", "cluster-preferred-endpoint-type", "ip", true, Kind::Enum(&["ip", "hostname", "unknown-endpoint"]), "Accepted; no cluster mode yet."),
    accepted!("tls-dh-params-file", "tls-dh-params-file", "", true, Kind::DefaultOnly(NO_DH), "Only empty: rustls uses ECDHE only."),
    accepted!("tls-replication", "tls-replication", "no", true, Kind::Bool, "Accepted; no replication (peers use peer-tls)."),
];

/// Redis's `validateProcTitleTemplate`: `{name}` is a variable, `{{` a literal brace, a `{`
/// without its `}` or an unknown name an error, and the expansion (with an empty title) must not
/// be blank. cachet has no unix socket and no cluster or sentinel mode, so `{unixsocket}` and
/// `{server-mode}` expand to nothing, as they do in a Redis without them.
fn proc_title_template_is_valid(template: &str) -> bool {
    let mut expanded = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        expanded.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if after.is_empty() {
            return false;
        }
        if let Some(quoted) = after.strip_prefix('{') {
            expanded.push('{');
            rest = quoted;
            continue;
        }
        let Some(close) = after.find('}') else {
            return false;
        };
        match &after[..close] {
            "title" | "server-mode" | "unixsocket" => {}
            "listen-addr" => expanded.push_str("*:6379"),
            "config-file" => expanded.push('-'),
            "port" | "tls-port" => expanded.push('0'),
            _ => return false,
        }
        rest = &after[close + 1..];
    }
    expanded.push_str(rest);
    !expanded.trim_matches(' ').is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, args: &[&str]) -> Result<String, String> {
        let mut values = ConfigValues::default();
        let d = DIRECTIVES.iter().find(|d| d.name == name).unwrap();
        (d.set)(&mut values, args)?;
        Ok((d.get)(&values))
    }

    #[test]
    fn values_are_checked_as_redis_checks_them() {
        assert_eq!(set("activerehashing", &["NO"]).unwrap(), "no");
        assert_eq!(set("repl-backlog-size", &["2mb"]).unwrap(), "2097152");
        assert_eq!(
            set("active-expire-effort", &["11"]).unwrap_err(),
            "argument must be between 1 and 10 inclusive"
        );
        assert_eq!(
            set("shutdown-on-sigint", &["save now"]).unwrap(),
            "save now"
        );
        assert_eq!(set("maxmemory-clients", &["10%"]).unwrap(), "10%");
        // Amounts past 2^63 wrap into percentages, as in redis-server 7.0.15.
        for (value, percent) in [
            ("18446744073709551615", "1%"),
            ("18446744073709551616", "1%"),
            ("18446744073709551516", "100%"),
        ] {
            assert_eq!(set("maxmemory-clients", &[value]).unwrap(), percent);
        }
        // Redis's two messages: a percentage that reads as a number but is too large, and the rest.
        for (value, error) in [
            ("101%", "percentage argument must be less or equal to 100"),
            (
                "9223372036854775807%",
                "percentage argument must be less or equal to 100",
            ),
            (
                "9223372036854775808%",
                "argument must be a memory or percent value",
            ),
            ("-5%", "argument must be a memory or percent value"),
            ("%", "argument must be a memory or percent value"),
            (
                "9223372036854775808",
                "percentage argument must be less or equal to 100",
            ),
            (
                "18446744073709551515",
                "percentage argument must be less or equal to 100",
            ),
        ] {
            assert_eq!(
                set("maxmemory-clients", &[value]).unwrap_err(),
                error,
                "{value}"
            );
        }
        assert_eq!(
            set("oom-score-adj-values", &["0 100 900"]).unwrap(),
            "0 100 900"
        );
        assert_eq!(set("unixsocketperm", &["700"]).unwrap(), "700");
        assert_eq!(set("tls-dh-params-file", &[""]).unwrap(), "");
        assert!(set("tls-dh-params-file", &["dh.pem"]).is_err());
        assert!(set("daemonize", &["yes"]).is_err());
    }

    /// What redis-server 7.0 answered for each template and hostname.
    #[test]
    fn templates_and_hostnames_as_redis_checks_them() {
        for (template, valid) in [
            ("{title} {listen-addr} {server-mode}", true),
            ("plain", true),
            ("{title}}", true),
            ("}", true),
            ("{{", true),
            ("{{title}", true),
            ("a{port}b", true),
            ("{config-file}", true),
            ("{tls-port}", true),
            ("", false),
            (" ", false),
            ("{}", false),
            ("{TITLE}", false),
            ("{title ", false),
            ("{", false),
            ("x{", false),
            ("{unixsocket}", false),
            ("{server-mode}", false),
            ("{foo}", false),
        ] {
            let result = set("proc-title-template", &[template]);
            assert_eq!(result.is_ok(), valid, "{template:?}: {result:?}");
            if !valid {
                assert_eq!(
                    result.unwrap_err(),
                    "template format is invalid or contains unknown variables"
                );
            }
        }
        assert_eq!(
            set("cluster-announce-hostname", &["A-b.c"]).unwrap(),
            "A-b.c"
        );
        assert_eq!(set("cluster-announce-hostname", &[""]).unwrap(), "");
        for name in ["a_b", "x y"] {
            assert_eq!(
                set("cluster-announce-hostname", &[name]).unwrap_err(),
                "Hostnames may only contain alphanumeric characters, hyphens or dots"
            );
        }
        assert_eq!(
            set("cluster-announce-hostname", &[&"a".repeat(256)]).unwrap_err(),
            "Hostnames must be less than 256 characters"
        );
    }

    #[test]
    fn an_alias_shares_its_primary_value() {
        let mut values = ConfigValues::default();
        let find = |name: &str| DIRECTIVES.iter().find(|d| d.name == name).unwrap();
        (find("slave-read-only").set)(&mut values, &["no"]).unwrap();
        assert_eq!((find("replica-read-only").get)(&values), "no");
    }
}
