//! What cluster clients read: CLUSTER SLOTS, SHARDS, NODES, INFO, MYID, KEYSLOT, the keys of a
//! slot (from `state::cluster::SlotKeys`), and the per-connection READONLY, READWRITE, ASKING.

use bytes::Bytes;

use super::{count_keys_in_slot, enabled, err, keys_in_slot};
use crate::commands::{reply_help, Ctx};
use crate::error::{ClusterError, CmdError, CmdResult};
use crate::state::cluster::{key_slot, Topology, SLOTS};
use crate::state::Server;
pub(super) fn cluster_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    reply_help(
        ctx.out,
        "CLUSTER",
        &[
            "ADDSLOTS <slot> [<slot> ...]",
            "    Assign slots to current node.",
            "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Assign slots which are between <start-slot> and <end-slot> to current node.",
            "BUMPEPOCH",
            "    Advance the cluster config epoch.",
            "COUNT-FAILURE-REPORTS <node-id>",
            "    Return number of failure reports for <node-id>.",
            "COUNTKEYSINSLOT <slot>",
            "    Return the number of keys in <slot>.",
            "DELSLOTS <slot> [<slot> ...]",
            "    Delete slots information from current node.",
            "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
            "FORGET <node-id>",
            "    Remove a node from the cluster.",
            "GETKEYSINSLOT <slot> <count>",
            "    Return key names stored by current node in a slot.",
            "FLUSHSLOTS",
            "    Delete current node own slots information.",
            "INFO",
            "    Return information about the cluster.",
            "KEYSLOT <key>",
            "    Return the hash slot for <key>.",
            "MEET <ip> <port> [<bus-port>]",
            "    Connect nodes into a working cluster.",
            "MYID",
            "    Return the node id.",
            "MYSHARDID",
            "    Return the node's shard id.",
            "NODES",
            "    Return cluster configuration seen by node. Output format:",
            "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
            "REPLICATE <node-id>",
            "    Configure current node as replica to <node-id>.",
            "RESET [HARD|SOFT]",
            "    Reset current node (default: soft).",
            "SET-CONFIG-EPOCH <epoch>",
            "    Set config epoch of current node.",
            "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
            "    Set slot state.",
            "REPLICAS <node-id>",
            "    Return <node-id> replicas.",
            "SAVECONFIG",
            "    Force saving cluster configuration on disk.",
            "SLOTS",
            "    Return information about slots range mappings. Each range is made of:",
            "    start, end, master and replicas IP addresses, ports and ids",
            "SHARDS",
            "    Return information about slot range mappings and the nodes associated with them.",
            "LINKS",
            "    Return information about all network links between this node and its peers.",
            "    Output format is an array where each array element is a map containing attributes of a link",
        ],
    );
    Ok(())
}

pub(super) fn cluster_myid(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let topology = ctx.server.cluster.topology();
    ctx.out.bulk(topology.myself.as_bytes());
    Ok(())
}

/// Redis 7.2's shard id; cachet names a shard after its master.
pub(super) fn cluster_myshardid(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let topology = ctx.server.cluster.topology();
    let shard = topology.master_of(topology.me()).id.clone();
    ctx.out.bulk(shard.as_bytes());
    Ok(())
}

pub(super) fn cluster_keyslot(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.out.int(key_slot(&args[2]) as i64);
    Ok(())
}

pub(super) fn cluster_countkeysinslot(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slot = crate::commands::args::int(&args[2])?;
    if !(0..SLOTS as i64).contains(&slot) {
        return Err(err(ClusterError::BadSlot));
    }
    let count = count_keys_in_slot(ctx, slot as u16);
    ctx.out.int(count as i64);
    Ok(())
}

pub(super) fn cluster_getkeysinslot(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slot = crate::commands::args::int(&args[2])?;
    let count = crate::commands::args::int(&args[3])?;
    if count < 0 || !(0..SLOTS as i64).contains(&slot) {
        return Err(err(ClusterError::InvalidSlotOrCount));
    }
    let keys = keys_in_slot(
        ctx,
        slot as u16,
        usize::try_from(count).unwrap_or(usize::MAX),
    );
    ctx.out.bulks(keys.iter().map(|k| &k[..]));
    Ok(())
}

/// CLUSTER INFO's text (also what `/metrics` reads its `redis_cluster_*` families from).
pub fn info_text(server: &Server, topology: &Topology) -> String {
    let config = server.config.read();
    let failed = server.cluster.health.failed();
    let ok = topology.state_ok(config.cluster_require_full_coverage, &failed);
    let assigned = topology.assigned();
    let failed_slots = topology.failed_slots(&failed);
    let me = topology.me();
    let fields = [
        ("cluster_state", if ok { "ok" } else { "fail" }.to_string()),
        ("cluster_slots_assigned", assigned.to_string()),
        ("cluster_slots_ok", (assigned - failed_slots).to_string()),
        ("cluster_slots_pfail", "0".into()),
        ("cluster_slots_fail", failed_slots.to_string()),
        ("cluster_known_nodes", topology.nodes.len().to_string()),
        ("cluster_size", topology.size().to_string()),
        ("cluster_current_epoch", topology.current_epoch.to_string()),
        (
            "cluster_my_epoch",
            topology.master_of(me).config_epoch.to_string(),
        ),
        ("cluster_stats_messages_sent", "0".into()),
        ("cluster_stats_messages_received", "0".into()),
        ("total_cluster_links_buffer_limit_exceeded", "0".into()),
    ];
    fields
        .iter()
        .map(|(name, value)| format!("{name}:{value}\r\n"))
        .collect()
}

pub(super) fn cluster_info(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let text = info_text(ctx.server, &ctx.server.cluster.topology());
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

pub(super) fn cluster_nodes(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let topology = ctx.server.cluster.topology();
    let text = ctx.server.cluster.nodes_text(&topology, ctx.now_ms);
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// One node of CLUSTER SLOTS: ip, port, id, and an empty map of metadata (no hostname).
fn slots_node(ctx: &mut Ctx<'_>, node: &crate::state::cluster::Node) {
    ctx.out.array(4);
    ctx.out.bulk(node.ip.as_bytes());
    ctx.out.int(node.port as i64);
    ctx.out.bulk(node.id.as_bytes());
    ctx.out.map(0);
}

pub(super) fn cluster_slots(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let topology = ctx.server.cluster.topology();
    let ranges = topology.ranges();
    ctx.out.array(ranges.len());
    for (first, last, owner) in ranges {
        let master = &topology.nodes[owner];
        let replicas: Vec<_> = topology.replicas_of(&master.id).collect();
        ctx.out.array(3 + replicas.len());
        ctx.out.int(first as i64);
        ctx.out.int(last as i64);
        slots_node(ctx, master);
        for replica in replicas {
            slots_node(ctx, replica);
        }
    }
    Ok(())
}

pub(super) fn cluster_shards(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let topology = ctx.server.cluster.topology();
    let failed = ctx.server.cluster.health.failed();
    let masters: Vec<usize> = (0..topology.nodes.len())
        .filter(|&i| topology.nodes[i].replica_of.is_none())
        .collect();
    ctx.out.array(masters.len());
    for at in masters {
        let master = &topology.nodes[at];
        let ranges = topology.ranges_of(at);
        ctx.out.map(2);
        ctx.out.bulk(b"slots");
        ctx.out.array(ranges.len() * 2);
        for (first, last) in ranges {
            ctx.out.int(first as i64);
            ctx.out.int(last as i64);
        }
        ctx.out.bulk(b"nodes");
        let members: Vec<_> = std::iter::once(master)
            .chain(topology.replicas_of(&master.id))
            .collect();
        ctx.out.array(members.len());
        for node in members {
            ctx.out.map(7);
            ctx.out.bulk(b"id");
            ctx.out.bulk(node.id.as_bytes());
            ctx.out.bulk(b"port");
            ctx.out.int(node.port as i64);
            ctx.out.bulk(b"ip");
            ctx.out.bulk(node.ip.as_bytes());
            ctx.out.bulk(b"endpoint");
            ctx.out.bulk(node.ip.as_bytes());
            ctx.out.bulk(b"role");
            let role: &[u8] = if node.replica_of.is_some() {
                b"replica"
            } else {
                b"master"
            };
            ctx.out.bulk(role);
            ctx.out.bulk(b"replication-offset");
            ctx.out.int(0);
            ctx.out.bulk(b"health");
            let health: &[u8] = if failed.contains(&node.id) {
                b"failed"
            } else {
                b"online"
            };
            ctx.out.bulk(health);
        }
    }
    Ok(())
}

/// No bus, no links.
pub(super) fn cluster_links(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.out.array(0);
    Ok(())
}

pub(super) fn cluster_replicas(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let id = String::from_utf8_lossy(&args[2]).into_owned();
    let topology = ctx.server.cluster.topology();
    let Some(node) = topology.node(&id) else {
        return Err(err(ClusterError::UnknownNode(id.into())));
    };
    if node.replica_of.is_some() {
        return Err(CmdError::Raw(
            b"ERR The specified node is not a master".to_vec(),
        ));
    }
    let text = ctx.server.cluster.nodes_text(&topology, ctx.now_ms);
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| line.split(' ').nth(3) == Some(id.as_str()))
        .collect();
    ctx.out.bulks(lines.iter().map(|l| l.as_bytes()));
    Ok(())
}

pub(super) fn cluster_count_failure_reports(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let id = String::from_utf8_lossy(&args[2]).into_owned();
    if ctx.server.cluster.topology().node(&id).is_none() {
        return Err(err(ClusterError::UnknownNode(id.into())));
    }
    ctx.out.int(0);
    Ok(())
}

pub(super) fn readonly(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.client.cluster_readonly = true;
    ctx.out.ok();
    Ok(())
}

pub(super) fn readwrite(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.client.cluster_readonly = false;
    ctx.out.ok();
    Ok(())
}

pub(super) fn asking(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.client.asking = true;
    ctx.out.ok();
    Ok(())
}
