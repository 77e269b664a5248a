//! The server's directives, in redis.conf order of topics: network, security, logging, the admin
//! port, clients' limits; what the keyspace keeps follows in `data.rs`. `scripts/gen-conf.py`
//! reads this file, then `data.rs` and the other tables, to write `conf/cachet.conf`.

use super::{boolean, int, memory, one, text, yes_no, Directive, ProtectedAction};

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
        mutable: true,
        protected: false,
        help: "Addresses to listen on, space separated. CONFIG SET listens on the new addresses (all of them or none: \"Failed to bind to specified addresses.\") and stops listening on the old ones; connections already made stay.",
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
            c.enable_protected_configs = ProtectedAction::parse(text(a)?)
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
            c.enable_debug_command = ProtectedAction::parse(text(a)?)
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
            c.aclfile = text(a)?.to_string();
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
            c.acl_pubsub_allchannels = match text(a)?.to_ascii_lowercase().as_str() {
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
            let level = text(a)?.to_ascii_lowercase();
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
            c.logfile = text(a)?.to_string();
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
];
