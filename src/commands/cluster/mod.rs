//! CLUSTER and its neighbours (READONLY, READWRITE, ASKING, CACHE.CLUSTER): what cluster clients
//! read (SLOTS, SHARDS, NODES, INFO...) and what the operator changes (ADDSLOTS, SETSLOT, MEET,
//! FORGET, RESET...), over the topology in `state::cluster`. Replies and errors are Redis 7.0's;
//! there is no cluster bus, so MEET asks the named node for its id and every node is taken as
//! connected (`state::cluster` says why). `route.rs` is the redirection check at dispatch.

mod meet;
mod route;

use bytes::Bytes;

pub use route::route;

use crate::commands::{reply_help, CommandSpec, Ctx, SPEC};
use crate::error::{ClusterError, CmdError, CmdResult};
use crate::state::cluster::{key_slot, Mode, Topology, SLOTS};
use crate::state::Server;

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

/// Keys of db 0 in `slot`, up to `limit`. A scan of the keyspace, O(keys): cachet keeps no
/// per-slot index (Redis does), so that no write path pays for cluster mode; the figures behind
/// this choice are in `docs/notes.md`.
fn keys_in_slot(ctx: &Ctx<'_>, slot: u16, limit: usize) -> Vec<Vec<u8>> {
    let keyspace = &ctx.server.keyspace;
    let mut found = Vec::new();
    if limit == 0 {
        return found;
    }
    keyspace.for_each_shard(|_, shard| {
        if found.len() >= limit {
            return;
        }
        let mut view = keyspace.view(shard, 0, ctx.now_ms);
        view.walk(0, usize::MAX, |entry| {
            if found.len() < limit && key_slot(entry.key()) == slot {
                found.push(entry.key().to_vec());
            }
        });
    });
    found
}

fn count_keys_in_slot(ctx: &Ctx<'_>, slot: u16) -> usize {
    let keyspace = &ctx.server.keyspace;
    let mut count = 0;
    keyspace.for_each_shard(|_, shard| {
        let mut view = keyspace.view(shard, 0, ctx.now_ms);
        view.walk(0, usize::MAX, |entry| {
            count += usize::from(key_slot(entry.key()) == slot);
        });
    });
    count
}

fn cluster_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
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

fn cluster_myid(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let topology = ctx.server.cluster.topology();
    ctx.out.bulk(topology.myself.as_bytes());
    Ok(())
}

/// Redis 7.2's shard id; cachet names a shard after its master.
fn cluster_myshardid(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let topology = ctx.server.cluster.topology();
    let shard = topology.master_of(topology.me()).id.clone();
    ctx.out.bulk(shard.as_bytes());
    Ok(())
}

fn cluster_keyslot(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.out.int(key_slot(&args[2]) as i64);
    Ok(())
}

fn cluster_countkeysinslot(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slot = super::args::int(&args[2])?;
    if !(0..SLOTS as i64).contains(&slot) {
        return Err(err(ClusterError::BadSlot));
    }
    let count = count_keys_in_slot(ctx, slot as u16);
    ctx.out.int(count as i64);
    Ok(())
}

fn cluster_getkeysinslot(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slot = super::args::int(&args[2])?;
    let count = super::args::int(&args[3])?;
    if count < 0 || !(0..SLOTS as i64).contains(&slot) {
        return Err(err(ClusterError::InvalidSlotOrCount));
    }
    let keys = keys_in_slot(
        ctx,
        slot as u16,
        usize::try_from(count).unwrap_or(usize::MAX),
    );
    ctx.out.bulks(keys.iter().map(Vec::as_slice));
    Ok(())
}

/// CLUSTER INFO's text (also what `/metrics` reads its `redis_cluster_*` families from).
pub fn info_text(server: &Server, topology: &Topology) -> String {
    let config = server.config.read();
    let ok = topology.state_ok(config.cluster_require_full_coverage);
    let assigned = topology.assigned();
    let me = topology.me();
    let fields = [
        ("cluster_state", if ok { "ok" } else { "fail" }.to_string()),
        ("cluster_slots_assigned", assigned.to_string()),
        ("cluster_slots_ok", assigned.to_string()),
        ("cluster_slots_pfail", "0".into()),
        ("cluster_slots_fail", "0".into()),
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

fn cluster_info(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let text = info_text(ctx.server, &ctx.server.cluster.topology());
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

fn cluster_nodes(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
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

fn cluster_slots(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
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

fn cluster_shards(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let topology = ctx.server.cluster.topology();
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
            ctx.out.bulk(b"online");
        }
    }
    Ok(())
}

/// No bus, no links.
fn cluster_links(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.out.array(0);
    Ok(())
}

/// ADDSLOTS/DELSLOTS: `del` unassigns. Checked argument by argument in Redis's order (a bad
/// slot, then busy or unassigned, then repeated), then applied all at once.
fn change_slots(ctx: &mut Ctx<'_>, slots: Vec<u16>, del: bool) -> CmdResult {
    ctx.server
        .cluster
        .change(|topology| {
            if del {
                topology.del_slots(&slots)
            } else {
                topology.add_slots(&slots)
            }
        })
        .map_err(err)?;
    ctx.out.ok();
    Ok(())
}

fn slot_list(ctx: &Ctx<'_>, args: &[Bytes], del: bool) -> Result<Vec<u16>, CmdError> {
    let topology = ctx.server.cluster.topology();
    let mut seen = vec![false; SLOTS];
    let mut slots = Vec::with_capacity(args.len());
    for arg in args {
        let slot = slot_arg(arg)?;
        check_slot(&topology, &mut seen, slot, del)?;
        slots.push(slot);
    }
    Ok(slots)
}

fn check_slot(
    topology: &Topology,
    seen: &mut [bool],
    slot: u16,
    del: bool,
) -> Result<(), CmdError> {
    if del && topology.owner(slot).is_none() {
        return Err(err(ClusterError::SlotUnassigned(slot)));
    }
    if !del && topology.owner(slot).is_some() {
        return Err(err(ClusterError::SlotBusy(slot)));
    }
    if std::mem::replace(&mut seen[slot as usize], true) {
        return Err(err(ClusterError::SlotRepeated(slot)));
    }
    Ok(())
}

fn range_list(
    ctx: &Ctx<'_>,
    parent: &str,
    args: &[Bytes],
    del: bool,
) -> Result<Vec<u16>, CmdError> {
    if args.len() % 2 == 1 {
        return Err(CmdError::WrongArity(format!("cluster|{parent}")));
    }
    let topology = ctx.server.cluster.topology();
    let mut seen = vec![false; SLOTS];
    let mut slots = Vec::new();
    for pair in args.chunks(2) {
        let (first, last) = (slot_arg(&pair[0])?, slot_arg(&pair[1])?);
        if first > last {
            return Err(CmdError::Raw(
                format!("ERR start slot number {first} is greater than end slot number {last}")
                    .into_bytes(),
            ));
        }
        for slot in first..=last {
            check_slot(&topology, &mut seen, slot, del)?;
            slots.push(slot);
        }
    }
    Ok(slots)
}

fn cluster_addslots(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slots = slot_list(ctx, &args[2..], false)?;
    change_slots(ctx, slots, false)
}

fn cluster_delslots(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slots = slot_list(ctx, &args[2..], true)?;
    change_slots(ctx, slots, true)
}

fn cluster_addslotsrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slots = range_list(ctx, "addslotsrange", &args[2..], false)?;
    change_slots(ctx, slots, false)
}

fn cluster_delslotsrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slots = range_list(ctx, "delslotsrange", &args[2..], true)?;
    change_slots(ctx, slots, true)
}

fn cluster_flushslots(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    if ctx.server.keyspace.dbsize(0) != 0 {
        return Err(CmdError::Raw(
            b"ERR DB must be empty to perform CLUSTER FLUSHSLOTS.".to_vec(),
        ));
    }
    ctx.server
        .cluster
        .change(|topology| {
            let me = topology.index_of(&topology.myself);
            for slot in 0..SLOTS as u16 {
                if topology.owner_index(slot) == me {
                    topology.set_owner(slot, None);
                    topology.migrating.remove(&slot);
                }
            }
            topology.importing.clear();
            Ok(())
        })
        .map_err(err)?;
    ctx.out.ok();
    Ok(())
}

fn cluster_setslot(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let topology = ctx.server.cluster.topology();
    if topology.me().replica_of.is_some() {
        return Err(err(ClusterError::NotMasterSetslot));
    }
    let slot = slot_arg(&args[2])?;
    let action = args[3].to_ascii_lowercase();
    let node_id = || String::from_utf8_lossy(&args[4]).into_owned();
    let known_master = |id: &str| -> Result<(), CmdError> {
        match topology.node(id) {
            None => Err(err(ClusterError::UnknownNodeSetslot(id.into()))),
            Some(node) if node.replica_of.is_some() => Err(err(ClusterError::TargetIsReplica)),
            Some(_) => Ok(()),
        }
    };
    let mine = |t: &Topology| t.owner(slot).is_some_and(|n| n.id == t.myself);
    match (&action[..], args.len()) {
        (b"migrating", 5) => {
            if !mine(&topology) {
                return Err(err(ClusterError::NotOwner(slot)));
            }
            let id = node_id();
            known_master(&id)?;
            ctx.server
                .cluster
                .change(|t| {
                    t.migrating.insert(slot, id);
                    Ok(())
                })
                .map_err(err)?;
        }
        (b"importing", 5) => {
            if mine(&topology) {
                return Err(err(ClusterError::AlreadyOwner(slot)));
            }
            let id = node_id();
            known_master(&id)?;
            ctx.server
                .cluster
                .change(|t| {
                    t.importing.insert(slot, id);
                    Ok(())
                })
                .map_err(err)?;
        }
        (b"stable", 4) => {
            ctx.server
                .cluster
                .change(|t| {
                    t.migrating.remove(&slot);
                    t.importing.remove(&slot);
                    Ok(())
                })
                .map_err(err)?;
        }
        (b"node", 5) => {
            let id = node_id();
            known_master(&id)?;
            let keys = count_keys_in_slot(ctx, slot);
            if mine(&topology) && id != topology.myself && keys != 0 {
                return Err(err(ClusterError::SlotHasKeys(slot)));
            }
            ctx.server
                .cluster
                .change(|t| {
                    // The move is over once no key is left here.
                    if keys == 0 {
                        t.migrating.remove(&slot);
                    }
                    if id == t.myself && t.importing.remove(&slot).is_some() {
                        t.bump_epoch();
                    }
                    let at = t.index_of(&id);
                    t.set_owner(slot, at);
                    Ok(())
                })
                .map_err(err)?;
        }
        _ => return Err(err(ClusterError::SetslotSyntax)),
    }
    ctx.out.ok();
    Ok(())
}

fn cluster_meet(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let text = |arg: &Bytes| String::from_utf8_lossy(arg).into_owned();
    let port = crate::protocol::parse_i64(&args[3])
        .ok_or_else(|| err(ClusterError::InvalidPort(text(&args[3]).into())))?;
    let cport = match args.get(4) {
        None => port + 10000,
        Some(arg) => crate::protocol::parse_i64(arg)
            .ok_or_else(|| err(ClusterError::InvalidBusPort(text(arg).into())))?,
    };
    let ip = text(&args[2]);
    let valid_port = |p: i64| (1..=65535).contains(&p);
    if ip.parse::<std::net::IpAddr>().is_err() || !valid_port(port) || !valid_port(cport) {
        return Err(err(ClusterError::InvalidAddress(
            format!("{}:{}", ip, text(&args[3])).into(),
        )));
    }
    let id = super::off_worker(|| meet::node_id(&ip, port as u16))
        .map_err(|why| err(ClusterError::Unreachable(why.into())))?;
    if id != ctx.server.cluster.topology().myself {
        ctx.server
            .cluster
            .change(|t| {
                t.meet(crate::state::cluster::Node {
                    id,
                    ip,
                    port: port as u16,
                    cport: cport as u16,
                    replica_of: None,
                    config_epoch: 0,
                });
                Ok(())
            })
            .map_err(err)?;
    }
    ctx.out.ok();
    Ok(())
}

fn cluster_forget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let id = String::from_utf8_lossy(&args[2]).into_owned();
    ctx.server.cluster.change(|t| t.forget(&id)).map_err(err)?;
    ctx.out.ok();
    Ok(())
}

fn cluster_reset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let hard = match args.get(2) {
        None => false,
        Some(arg) if arg.eq_ignore_ascii_case(b"hard") => true,
        Some(arg) if arg.eq_ignore_ascii_case(b"soft") => false,
        Some(_) => return Err(CmdError::Syntax),
    };
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let topology = ctx.server.cluster.topology();
    if topology.me().replica_of.is_none() && ctx.server.keyspace.dbsize(0) != 0 {
        return Err(err(ClusterError::ResetWithKeys));
    }
    ctx.server
        .cluster
        .change(|t| {
            t.reset(hard);
            Ok(())
        })
        .map_err(err)?;
    ctx.out.ok();
    Ok(())
}

fn cluster_set_config_epoch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let epoch = super::args::int(&args[2])?;
    if epoch < 0 {
        return Err(err(ClusterError::InvalidEpoch(epoch.to_string().into())));
    }
    ctx.server
        .cluster
        .change(|t| t.set_config_epoch(epoch as u64))
        .map_err(err)?;
    ctx.out.ok();
    Ok(())
}

fn cluster_bumpepoch(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let (bumped, epoch) = ctx
        .server
        .cluster
        .change(|t| Ok(t.bump_epoch()))
        .map_err(err)?;
    ctx.out.simple(&format!(
        "{} {epoch}",
        if bumped { "BUMPED" } else { "STILL" }
    ));
    Ok(())
}

fn cluster_saveconfig(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.server.cluster.save().map_err(err)?;
    ctx.out.ok();
    Ok(())
}

/// Records that this node replicates `master` (no data is copied: cachet has no replication).
fn cluster_replicate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let id = String::from_utf8_lossy(&args[2]).into_owned();
    let topology = ctx.server.cluster.topology();
    if topology.node(&id).is_some()
        && id != topology.myself
        && topology.me().replica_of.is_none()
        && ctx.server.keyspace.dbsize(0) != 0
    {
        return Err(err(ClusterError::ReplicateWithKeys));
    }
    ctx.server
        .cluster
        .change(|t| t.replicate(&id))
        .map_err(err)?;
    ctx.out.ok();
    Ok(())
}

fn cluster_replicas(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
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

fn cluster_count_failure_reports(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let id = String::from_utf8_lossy(&args[2]).into_owned();
    if ctx.server.cluster.topology().node(&id).is_none() {
        return Err(err(ClusterError::UnknownNode(id.into())));
    }
    ctx.out.int(0);
    Ok(())
}

fn readonly(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.client.cluster_readonly = true;
    ctx.out.ok();
    Ok(())
}

fn readwrite(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.client.cluster_readonly = false;
    ctx.out.ok();
    Ok(())
}

fn asking(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.client.asking = true;
    ctx.out.ok();
    Ok(())
}

/// CACHE.CLUSTER CONFIG <json>: the whole topology at once (`state::cluster::json`), or nothing.
fn cache_cluster_config(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    if ctx.server.cluster.mode == Mode::Emulated {
        return Err(err(ClusterError::Emulated));
    }
    ctx.server
        .cluster
        .change(|t| {
            let mut new =
                crate::state::cluster::parse_topology(&args[2], &t.myself, t.current_epoch)
                    .map_err(|why| ClusterError::Config(why.into()))?;
            new.current_epoch = new.current_epoch.max(t.current_epoch);
            new.last_vote_epoch = t.last_vote_epoch;
            *t = new;
            Ok(())
        })
        .map_err(err)?;
    ctx.out.ok();
    Ok(())
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
        subcommands: &[sub!(
            "config",
            3,
            ADMIN,
            ADMIN_ACL,
            cache_cluster_config,
            "Installs a whole topology (shards, slot ranges, replicas) from JSON, atomically"
        )],
        ..SPEC
    },
];
