//! The cluster directives, with Redis 7.0's names, defaults and ranges (`cluster-enabled` also
//! takes `emulated`, and `cluster-node-id` is cachet's). Part of the one configuration
//! (`state::config::directives`).

use super::Mode;
use crate::state::config::{boolean, int, one, text, yes_no, Directive};

pub static DIRECTIVES: &[Directive] = &[
    Directive {
        name: "cluster-enabled",
        default: "no",
        mutable: false,
        protected: false,
        help: "yes: serve the Redis Cluster protocol with the topology in cluster-config-file (set by CLUSTER commands or CACHE.CLUSTER CONFIG); emulated: one node owning every slot, for clients configured for a cluster; no: standalone.",
        get: |c| c.cluster_enabled.name().to_string(),
        set: |c, a| {
            c.cluster_enabled = match text(a)?.to_ascii_lowercase().as_str() {
                "yes" => Mode::Yes,
                "no" => Mode::Off,
                "emulated" => Mode::Emulated,
                _ => return Err("argument must be 'yes', 'no' or 'emulated'".to_string()),
            };
            Ok(())
        },
    },
    Directive {
        name: "cluster-config-file",
        default: "nodes.conf",
        mutable: false,
        protected: false,
        help: "Where the node table and slot ownership are saved (Redis's nodes.conf format), relative to dir; read at start.",
        get: |c| c.cluster_config_file.clone(),
        set: |c, a| {
            c.cluster_config_file = text(a)?.to_string();
            Ok(())
        },
    },
    Directive {
        name: "cluster-node-id",
        default: "",
        mutable: false,
        protected: false,
        help: "This node's cluster id (40 hex digits) when cluster-config-file does not exist yet; empty: a random one. Once saved, the file's id is kept.",
        get: |c| c.cluster_node_id.clone(),
        set: |c, a| {
            let id = one(a)?;
            if !id.is_empty() && !super::valid_node_id(id) {
                return Err("cluster-node-id must be 40 hex digits".to_string());
            }
            c.cluster_node_id = id.to_ascii_lowercase();
            Ok(())
        },
    },
    Directive {
        name: "cluster-announce-ip",
        default: "",
        mutable: true,
        protected: false,
        help: "The address this node gives clients in CLUSTER SLOTS/NODES/SHARDS and redirections; empty: the address it listens on.",
        get: |c| c.cluster_announce_ip.clone(),
        set: |c, a| {
            c.cluster_announce_ip = text(a)?.to_string();
            Ok(())
        },
    },
    Directive {
        name: "cluster-announce-port",
        default: "0",
        mutable: true,
        protected: false,
        help: "The port this node gives clients; 0: the port it listens on.",
        get: |c| c.cluster_announce_port.to_string(),
        set: |c, a| {
            c.cluster_announce_port = int(a, 0, 65535)?;
            Ok(())
        },
    },
    Directive {
        name: "cluster-announce-bus-port",
        default: "0",
        mutable: true,
        protected: false,
        help: "The bus port shown in CLUSTER NODES (cachet has no bus); 0: cluster-port, else the listening port + 10000.",
        get: |c| c.cluster_announce_bus_port.to_string(),
        set: |c, a| {
            c.cluster_announce_bus_port = int(a, 0, 65535)?;
            Ok(())
        },
    },
    Directive {
        name: "cluster-port",
        default: "0",
        mutable: false,
        protected: false,
        help: "The bus port shown in CLUSTER NODES when cluster-announce-bus-port is 0 (cachet listens on no bus port); 0: port + 10000.",
        get: |c| c.cluster_port.to_string(),
        set: |c, a| {
            c.cluster_port = int(a, 0, 65535)?;
            Ok(())
        },
    },
    Directive {
        name: "cluster-require-full-coverage",
        default: "yes",
        mutable: true,
        protected: false,
        help: "yes: the cluster is down (CLUSTERDOWN) while any slot has no owner; no: only the keys of unowned slots are refused.",
        get: |c| yes_no(c.cluster_require_full_coverage),
        set: |c, a| {
            c.cluster_require_full_coverage = boolean(a)?;
            Ok(())
        },
    },
    Directive {
        name: "cluster-allow-reads-when-down",
        default: "no",
        mutable: true,
        protected: false,
        help: "yes: read commands are still served while the cluster is down.",
        get: |c| yes_no(c.cluster_allow_reads_when_down),
        set: |c, a| {
            c.cluster_allow_reads_when_down = boolean(a)?;
            Ok(())
        },
    },
    Directive {
        name: "cluster-node-timeout",
        default: "15000",
        mutable: true,
        protected: false,
        help: "Milliseconds a node of the topology may go without answering this node's probe (a PING every tenth of it) before it is taken as failed: with cluster-require-full-coverage yes the cluster is then down.",
        get: |c| c.cluster_node_timeout.to_string(),
        set: |c, a| {
            c.cluster_node_timeout = int(a, 0, i64::MAX)?;
            Ok(())
        },
    },
    Directive {
        name: "masteruser",
        default: "",
        mutable: true,
        protected: false,
        help: "The user a cluster replica authenticates as (with masterauth) when it fills from its master; empty: AUTH with masterauth alone.",
        get: |c| c.masteruser.clone(),
        set: |c, a| {
            c.masteruser = text(a)?.to_string();
            Ok(())
        },
    },
    Directive {
        name: "masterauth",
        default: "",
        mutable: true,
        protected: false,
        help: "The password a cluster replica gives its master when it fills from it (CACHE.EXPORTKEY over a client connection); empty: no AUTH.",
        get: |c| c.masterauth.clone(),
        set: |c, a| {
            c.masterauth = one(a)?.to_string();
            Ok(())
        },
    },
];
