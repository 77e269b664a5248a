//! What the operator changes: slots (ADDSLOTS, DELSLOTS and their ranges, FLUSHSLOTS, SETSLOT),
//! nodes (MEET, FORGET, REPLICATE, RESET), epochs, and `CACHE.CLUSTER CONFIG`'s whole topology.
//! Each change is checked whole, then saved before it is seen (`state::cluster::Cluster::change`).

use bytes::Bytes;

use super::{count_keys_in_slot, enabled, err, meet, slot_arg};
use crate::commands::Ctx;
use crate::error::{ClusterError, CmdError, CmdResult};
use crate::state::cluster::{Mode, Topology, SLOTS};
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

pub(super) fn cluster_addslots(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slots = slot_list(ctx, &args[2..], false)?;
    change_slots(ctx, slots, false)
}

pub(super) fn cluster_delslots(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slots = slot_list(ctx, &args[2..], true)?;
    change_slots(ctx, slots, true)
}

pub(super) fn cluster_addslotsrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slots = range_list(ctx, "addslotsrange", &args[2..], false)?;
    change_slots(ctx, slots, false)
}

pub(super) fn cluster_delslotsrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let slots = range_list(ctx, "delslotsrange", &args[2..], true)?;
    change_slots(ctx, slots, true)
}

pub(super) fn cluster_flushslots(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
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

pub(super) fn cluster_setslot(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
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

pub(super) fn cluster_meet(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
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
    let id = crate::commands::off_worker(|| meet::node_id(&ip, port as u16))
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

pub(super) fn cluster_forget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let id = String::from_utf8_lossy(&args[2]).into_owned();
    ctx.server.cluster.change(|t| t.forget(&id)).map_err(err)?;
    ctx.server.follow_topology();
    ctx.out.ok();
    Ok(())
}

pub(super) fn cluster_reset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
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
    ctx.server.follow_topology();
    ctx.out.ok();
    Ok(())
}

pub(super) fn cluster_set_config_epoch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    let epoch = crate::commands::args::int(&args[2])?;
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

pub(super) fn cluster_bumpepoch(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
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

pub(super) fn cluster_saveconfig(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    enabled(ctx)?;
    ctx.server.cluster.save().map_err(err)?;
    ctx.out.ok();
    Ok(())
}

/// Makes this node a replica of `master`: it then follows the master's invalidations and fills
/// from it (`net::cluster_replica`; the master must know the replica too, e.g. from the same
/// CACHE.CLUSTER CONFIG, to publish them: there is no gossip).
pub(super) fn cluster_replicate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
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
    ctx.server.follow_topology();
    ctx.out.ok();
    Ok(())
}

/// CACHE.CLUSTER CONFIG <json>: the whole topology at once (`state::cluster::json`), or nothing.
pub(super) fn cache_cluster_config(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
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
    ctx.server.follow_topology();
    ctx.out.ok();
    Ok(())
}
