//! CLUSTER and its neighbours (READONLY, READWRITE, ASKING, CACHE.CLUSTER): what cluster clients
//! read (SLOTS, SHARDS, NODES, INFO...) and what the operator changes (ADDSLOTS, SETSLOT, MEET,
//! FORGET, RESET...), over the topology in `state::cluster`. Replies and errors are Redis 7.0's;
//! there is no cluster bus, so MEET asks the named node for its id and every node is taken as
//! connected (`state::cluster` says why). `read.rs` holds what clients read, `topology.rs` what the
//! operator changes, `route.rs` the redirection check at dispatch; this file the command table.

pub mod invalidate;
mod meet;
mod read;
mod route;
mod topology;

pub use read::info_text;
pub use route::route;

use invalidate::cache_cluster_invalidate;
use read::*;
use topology::*;

use crate::commands::{CommandSpec, Ctx, SPEC};
use crate::error::{ClusterError, CmdError};
use crate::state::cluster::SLOTS;

fn err(error: ClusterError) -> CmdError {
    CmdError::Cluster(error)
}

/// Every cluster command but HELP answers this outside cluster mode, as Redis.
fn enabled(ctx: &Ctx<'_>) -> Result<(), CmdError> {
    if ctx.server.cluster.enabled() {
        Ok(())
    } else {
        Err(err(ClusterError::Disabled))
    }
}

/// Redis's `getSlotOrReply`.
fn slot_arg(arg: &[u8]) -> Result<u16, CmdError> {
    match crate::protocol::parse_i64(arg) {
        Some(slot) if (0..SLOTS as i64).contains(&slot) => Ok(slot as u16),
        _ => Err(err(ClusterError::InvalidSlot)),
    }
}

/// Keys of db 0 in `slot`, up to `limit`, from the slot index (O(keys in the slot)).
fn keys_in_slot(ctx: &Ctx<'_>, slot: u16, limit: usize) -> Vec<Box<[u8]>> {
    match &ctx.server.cluster.keys {
        Some(keys) if limit > 0 => keys.live(&ctx.server.keyspace, slot, limit, ctx.now_ms),
        _ => Vec::new(),
    }
}

fn count_keys_in_slot(ctx: &Ctx<'_>, slot: u16) -> usize {
    ctx.server
        .cluster
        .keys
        .as_ref()
        .map_or(0, |keys| keys.count(&ctx.server.keyspace, slot, ctx.now_ms))
}

const ADMIN: crate::state::command::CommandFlags = flags!(ADMIN, STALE, NO_ASYNC_LOADING);
const ADMIN_ACL: crate::state::command::AclCategories = acl!(ADMIN, SLOW, DANGEROUS);

macro_rules! sub {
    ($name:literal, $arity:expr, $flags:expr, $acl:expr, $handler:ident, $summary:literal) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            acl_categories: $acl,
            group: "cluster",
            summary: $summary,
            since: "3.0.0",
            handler: Some($handler),
            ..SPEC
        }
    };
}

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "cluster",
        arity: -2,
        acl_categories: acl!(SLOW),
        group: "cluster",
        summary: "A container for Redis Cluster commands",
        since: "3.0.0",
        complexity: "Depends on subcommand.",
        subcommands: &[
            sub!(
                "addslots",
                -3,
                ADMIN,
                ADMIN_ACL,
                cluster_addslots,
                "Assigns new hash slots to a node"
            ),
            sub!(
                "addslotsrange",
                -4,
                ADMIN,
                ADMIN_ACL,
                cluster_addslotsrange,
                "Assigns new hash slot ranges to a node"
            ),
            sub!(
                "bumpepoch",
                2,
                ADMIN,
                ADMIN_ACL,
                cluster_bumpepoch,
                "Advances the cluster config epoch"
            ),
            sub!(
                "count-failure-reports",
                3,
                flags!(ADMIN, STALE),
                ADMIN_ACL,
                cluster_count_failure_reports,
                "Returns the number of active failure reports active for a node"
            ),
            sub!(
                "countkeysinslot",
                3,
                flags!(STALE),
                acl!(SLOW),
                cluster_countkeysinslot,
                "Returns the number of keys in a hash slot"
            ),
            sub!(
                "delslots",
                -3,
                ADMIN,
                ADMIN_ACL,
                cluster_delslots,
                "Sets hash slots as unbound for a node"
            ),
            sub!(
                "delslotsrange",
                -4,
                ADMIN,
                ADMIN_ACL,
                cluster_delslotsrange,
                "Sets hash slot ranges as unbound for a node"
            ),
            sub!(
                "flushslots",
                2,
                ADMIN,
                ADMIN_ACL,
                cluster_flushslots,
                "Deletes all slots information from a node"
            ),
            sub!(
                "forget",
                3,
                ADMIN,
                ADMIN_ACL,
                cluster_forget,
                "Removes a node from the nodes table"
            ),
            sub!(
                "getkeysinslot",
                4,
                flags!(STALE),
                acl!(SLOW),
                cluster_getkeysinslot,
                "Returns the key names in a hash slot"
            ),
            sub!(
                "help",
                2,
                flags!(LOADING, STALE),
                acl!(SLOW),
                cluster_help,
                "Returns helpful text about the different subcommands"
            ),
            sub!(
                "info",
                2,
                flags!(STALE),
                acl!(SLOW),
                cluster_info,
                "Returns information about the state of a node"
            ),
            sub!(
                "keyslot",
                3,
                flags!(STALE),
                acl!(SLOW),
                cluster_keyslot,
                "Returns the hash slot for a key"
            ),
            sub!(
                "links",
                2,
                flags!(STALE),
                acl!(SLOW),
                cluster_links,
                "Returns a list of all TCP links to and from peer nodes"
            ),
            sub!(
                "meet",
                -4,
                ADMIN,
                ADMIN_ACL,
                cluster_meet,
                "Forces a node to handshake with another node"
            ),
            sub!(
                "myid",
                2,
                flags!(STALE),
                acl!(SLOW),
                cluster_myid,
                "Returns the ID of a node"
            ),
            sub!(
                "myshardid",
                2,
                flags!(STALE),
                acl!(SLOW),
                cluster_myshardid,
                "Returns the shard ID of a node"
            ),
            sub!(
                "nodes",
                2,
                flags!(STALE),
                acl!(SLOW),
                cluster_nodes,
                "Returns the cluster configuration for a node"
            ),
            sub!(
                "replicas",
                3,
                flags!(ADMIN, STALE),
                ADMIN_ACL,
                cluster_replicas,
                "Lists the replica nodes of a master node"
            ),
            sub!(
                "replicate",
                3,
                ADMIN,
                ADMIN_ACL,
                cluster_replicate,
                "Configure a node as replica of a master node"
            ),
            sub!(
                "reset",
                -2,
                flags!(ADMIN, NOSCRIPT, STALE),
                ADMIN_ACL,
                cluster_reset,
                "Resets a node"
            ),
            sub!(
                "saveconfig",
                2,
                ADMIN,
                ADMIN_ACL,
                cluster_saveconfig,
                "Forces a node to save the cluster configuration to disk"
            ),
            sub!(
                "set-config-epoch",
                3,
                ADMIN,
                ADMIN_ACL,
                cluster_set_config_epoch,
                "Sets the configuration epoch for a new node"
            ),
            sub!(
                "setslot",
                -4,
                ADMIN,
                ADMIN_ACL,
                cluster_setslot,
                "Binds a hash slot to a node"
            ),
            sub!(
                "shards",
                2,
                flags!(STALE),
                acl!(SLOW),
                cluster_shards,
                "Returns the mapping of cluster slots to shards"
            ),
            sub!(
                "slaves",
                3,
                flags!(ADMIN, STALE),
                ADMIN_ACL,
                cluster_replicas,
                "Lists the replica nodes of a master node"
            ),
            sub!(
                "slots",
                2,
                flags!(STALE),
                acl!(SLOW),
                cluster_slots,
                "Returns the mapping of cluster slots to nodes"
            ),
        ],
        ..SPEC
    },
    CommandSpec {
        name: "readonly",
        arity: 1,
        flags: flags!(LOADING, STALE, FAST),
        acl_categories: acl!(FAST, CONNECTION),
        group: "cluster",
        summary: "Enables read-only queries for a connection to a Redis Cluster replica node",
        since: "3.0.0",
        handler: Some(readonly),
        ..SPEC
    },
    CommandSpec {
        name: "readwrite",
        arity: 1,
        flags: flags!(LOADING, STALE, FAST),
        acl_categories: acl!(FAST, CONNECTION),
        group: "cluster",
        summary: "Enables read-write queries for a connection to a Reids Cluster replica node",
        since: "3.0.0",
        handler: Some(readwrite),
        ..SPEC
    },
    CommandSpec {
        name: "asking",
        arity: 1,
        flags: flags!(FAST),
        acl_categories: acl!(FAST, CONNECTION),
        group: "cluster",
        summary: "Signals that a cluster client is following an -ASK redirect",
        since: "3.0.0",
        handler: Some(asking),
        ..SPEC
    },
    CommandSpec {
        name: "cache.cluster",
        arity: -2,
        acl_categories: acl!(SLOW),
        group: "cluster",
        summary: "cachet: installs a whole cluster topology",
        since: "0.1.0",
        complexity: "Depends on subcommand.",
        subcommands: &[
            sub!(
                "config",
                3,
                ADMIN,
                ADMIN_ACL,
                cache_cluster_config,
                "Installs a whole topology (shards, slot ranges, replicas) from JSON, atomically"
            ),
            sub!(
                "invalidate",
                -4,
                flags!(ADMIN, WRITE),
                ADMIN_ACL,
                cache_cluster_invalidate,
                "Invalidates tags or a key pattern on this node only (the other nodes' share of a cluster-wide invalidation)"
            ),
        ],
        ..SPEC
    },
];
