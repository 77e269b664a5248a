//! Which node serves a request, checked at dispatch before the command runs or is queued, in
//! the order of Redis 7.0's `getNodeByQuery`: every key of the command (of every queued command,
//! for EXEC) must hash to one slot (CROSSSLOT), that slot must have an owner (CLUSTERDOWN Hash
//! slot not served), the cluster must be up (CLUSTERDOWN), a slot being migrated sends the keys
//! this node no longer holds to the target (ASK, or TRYAGAIN when only some are here), a slot
//! being imported is served to ASKING clients, a replica serves READONLY clients' reads of its
//! master's slots, and any other slot is someone else's (MOVED). Commands without keys run here.

use bytes::Bytes;

use crate::commands::{CommandFlags, CommandSpec, Ctx};
use crate::error::{ClusterError, CmdError};
use crate::state::cluster::{key_slot, Node};

fn address(node: &Node) -> Box<str> {
    format!("{}:{}", node.ip, node.port).into()
}

/// `Err` with the redirection or refusal when this node must not run the request.
pub fn route(
    ctx: &mut Ctx<'_>,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> Result<(), CmdError> {
    let server = ctx.server;
    if !server.cluster.enabled() {
        return Ok(());
    }
    let exec = crate::commands::multi::is_exec(spec);
    // ASKING lasts for one command, or for the whole transaction it was given in.
    let asking = ctx.client.asking;
    if spec.name != "asking" && (ctx.client.multi.is_none() || exec) {
        ctx.client.asking = false;
    }
    let single = [(spec, args)];
    let queued: Vec<(&'static CommandSpec, &[Bytes])>;
    let commands: &[(&'static CommandSpec, &[Bytes])] = if exec {
        let Some(tx) = ctx.client.multi.as_ref() else {
            return Ok(());
        };
        queued = tx.queued.iter().map(|q| (q.spec, &q.args[..])).collect();
        &queued
    } else {
        &single
    };
    let topology = server.cluster.topology();
    let me = topology.index_of(&topology.myself);
    let mut slot: Option<u16> = None;
    let mut owner: Option<usize> = None;
    let mut first_key: &[u8] = b"";
    let (mut migrating, mut importing, mut multiple_keys) = (false, false, false);
    let (mut missing, mut existing) = (0usize, 0usize);
    let mut writes = false;
    for (spec, args) in commands {
        writes |= spec.has_flag(CommandFlags::WRITE);
        for at in spec.keys_in(args) {
            let Some(key) = args.get(at) else { continue };
            let this = key_slot(key);
            match slot {
                None => {
                    slot = Some(this);
                    first_key = key;
                    owner = topology.owner_index(this);
                    if owner.is_none() {
                        return Err(CmdError::Cluster(ClusterError::Unbound));
                    }
                    if owner == me && topology.migrating.contains_key(&this) {
                        migrating = true;
                    } else if topology.importing.contains_key(&this) {
                        importing = true;
                    }
                }
                Some(first) if first != this => {
                    return Err(CmdError::Cluster(ClusterError::CrossSlot));
                }
                Some(_) => multiple_keys |= key[..] != *first_key,
            }
            if migrating || importing {
                let present = server
                    .keyspace
                    .with_key(0, key, ctx.now_ms, |shard, hash| shard.contains(hash, key));
                if present {
                    existing += 1;
                } else {
                    missing += 1;
                }
            }
        }
    }
    let (Some(slot), Some(owner)) = (slot, owner) else {
        return Ok(());
    };
    let config = server.config.read();
    if !topology.state_ok(
        config.cluster_require_full_coverage,
        &server.cluster.health.failed(),
    ) {
        if !config.cluster_allow_reads_when_down {
            return Err(CmdError::Cluster(ClusterError::Down));
        }
        if writes {
            return Err(CmdError::Cluster(ClusterError::DownReadOnly));
        }
    }
    if migrating && missing > 0 {
        if existing > 0 {
            return Err(CmdError::Cluster(ClusterError::TryAgain));
        }
        // Migrating to itself (Redis accepts that SETSLOT): Redis serves the command here, where
        // an ASK to itself would send the client round in a loop.
        let target = topology
            .migrating
            .get(&slot)
            .filter(|id| **id != topology.myself)
            .and_then(|id| topology.node(id));
        if let Some(target) = target {
            return Err(CmdError::Cluster(ClusterError::Ask {
                slot,
                addr: address(target),
            }));
        }
    }
    if importing && (asking || spec.has_flag(CommandFlags::ASKING)) {
        if multiple_keys && missing > 0 {
            return Err(CmdError::Cluster(ClusterError::TryAgain));
        }
        return Ok(());
    }
    let owner_node = &topology.nodes[owner];
    let mine = topology.me();
    if ctx.client.cluster_readonly
        && !writes
        && mine.replica_of.as_deref() == Some(owner_node.id.as_str())
    {
        return Ok(());
    }
    if Some(owner) != me {
        return Err(CmdError::Cluster(ClusterError::Moved {
            slot,
            addr: address(owner_node),
        }));
    }
    Ok(())
}
