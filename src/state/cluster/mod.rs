//! Redis Cluster's client protocol without its bus: the node table and the owner of each of the
//! 16384 hash slots, as the operator installs them (CLUSTER ADDSLOTS/SETSLOT/MEET...,
//! `CACHE.CLUSTER CONFIG`), kept in Redis's `nodes.conf` format (`nodes_conf.rs`). There is no
//! gossip: instead each node probes the others of its topology (`net::cluster_probe`, a PING
//! every tenth of `cluster-node-timeout`) and takes as failed one that has not answered for
//! `cluster-node-timeout` (`health.rs`); each node decides alone, with no vote. The cluster is
//! `ok` when every slot has an owner not taken as failed (or `cluster-require-full-coverage no`).
//!
//! `keys.rs` indexes the keys of each slot.
//!
//! The topology is one value behind a lock, replaced whole by each change: a reader (a redirection
//! check on every keyed command) takes a cheap `Arc` clone and never sees half a change.

pub mod config;
mod health;
mod json;
mod keys;
mod nodes_conf;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::error::ClusterError;
use crate::state::config::ConfigValues;
use crate::sync::LockExt;

pub use health::Health;
pub use json::parse_topology;
pub use keys::SlotKeys;

pub const SLOTS: usize = 16384;
/// `slots` entry of a slot without an owner.
const UNOWNED: u16 = u16::MAX;

/// `cluster-enabled`: off, the real thing, or one node owning every slot (for applications whose
/// client is configured for a cluster, against a single daemon).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    Yes,
    Emulated,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Off => "no",
            Mode::Yes => "yes",
            Mode::Emulated => "emulated",
        }
    }
}

/// Redis's `keyHashSlot`: CRC16 (XMODEM) of the key, or of its hash tag — what lies between the
/// first `{` and the first `}` after it, when that is not empty — modulo 16384.
pub fn key_slot(key: &[u8]) -> u16 {
    const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(0) | None => key,
            Some(len) => &key[open + 1..open + 1 + len],
        },
        None => key,
    };
    CRC16.checksum(hashed) & (SLOTS as u16 - 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// 40 lower-case hex digits.
    pub id: String,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    /// The master's id when this node is a replica.
    pub replica_of: Option<String>,
    pub config_epoch: u64,
}

/// The whole picture one node has: the nodes, who owns each slot, slots being moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub myself: String,
    /// Myself first, then in the order they were learnt.
    pub nodes: Vec<Node>,
    /// Index into `nodes` of each slot's owner, `UNOWNED` for none.
    slots: Vec<u16>,
    /// How many slots have an owner, kept with `slots`: the redirection check asks it for
    /// every keyed command (`state_ok`), where counting would cost 16384 reads.
    assigned: usize,
    /// Slots this node is giving away (SETSLOT MIGRATING), to the node id.
    pub migrating: BTreeMap<u16, String>,
    /// Slots this node is receiving (SETSLOT IMPORTING), from the node id.
    pub importing: BTreeMap<u16, String>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
}

impl Topology {
    /// A node alone, owning nothing (a new node, or after CLUSTER RESET).
    pub fn alone(myself: Node) -> Self {
        Topology {
            myself: myself.id.clone(),
            nodes: vec![myself],
            slots: vec![UNOWNED; SLOTS],
            assigned: 0,
            migrating: BTreeMap::new(),
            importing: BTreeMap::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
        }
    }

    /// One shard owning every slot, for `cluster-enabled emulated`.
    pub fn emulated(myself: Node) -> Self {
        let mut topology = Topology::alone(myself);
        topology.slots.fill(0);
        topology.assigned = SLOTS;
        topology
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn me(&self) -> &Node {
        self.node(&self.myself)
            .expect("myself is always in the node table")
    }

    fn me_mut(&mut self) -> &mut Node {
        let at = self.index_of(&self.myself).expect("myself is in the table");
        &mut self.nodes[at]
    }

    pub fn owner(&self, slot: u16) -> Option<&Node> {
        match self.slots[slot as usize] {
            UNOWNED => None,
            at => self.nodes.get(at as usize),
        }
    }

    pub fn owner_index(&self, slot: u16) -> Option<usize> {
        match self.slots[slot as usize] {
            UNOWNED => None,
            at => Some(at as usize),
        }
    }

    pub fn assigned(&self) -> usize {
        self.assigned
    }

    /// Consecutive slots with the same owner: `(first, last, owner index)`, in slot order.
    pub fn ranges(&self) -> Vec<(u16, u16, usize)> {
        let mut ranges: Vec<(u16, u16, usize)> = Vec::new();
        for (slot, &owner) in self.slots.iter().enumerate() {
            if owner == UNOWNED {
                continue;
            }
            match ranges.last_mut() {
                Some(last) if last.2 == owner as usize && last.1 as usize + 1 == slot => {
                    last.1 = slot as u16
                }
                _ => ranges.push((slot as u16, slot as u16, owner as usize)),
            }
        }
        ranges
    }

    /// The slot ranges node `at` owns.
    pub fn ranges_of(&self, at: usize) -> Vec<(u16, u16)> {
        self.ranges()
            .into_iter()
            .filter(|r| r.2 == at)
            .map(|r| (r.0, r.1))
            .collect()
    }

    /// Masters owning at least one slot (`cluster_size`).
    pub fn size(&self) -> usize {
        let mut owners: Vec<u16> = self
            .slots
            .iter()
            .copied()
            .filter(|&s| s != UNOWNED)
            .collect();
        owners.sort_unstable();
        owners.dedup();
        owners.len()
    }

    pub fn replicas_of(&self, master: &str) -> impl Iterator<Item = &Node> {
        let master = master.to_string();
        self.nodes
            .iter()
            .filter(move |n| n.replica_of.as_deref() == Some(master.as_str()))
    }

    /// The master whose slots this node serves: itself, or the one it replicates.
    pub fn master_of<'a>(&'a self, node: &'a Node) -> &'a Node {
        node.replica_of
            .as_deref()
            .and_then(|m| self.node(m))
            .unwrap_or(node)
    }

    pub fn set_owner(&mut self, slot: u16, at: Option<usize>) {
        let new = at.map_or(UNOWNED, |i| i as u16);
        let old = std::mem::replace(&mut self.slots[slot as usize], new);
        match (old == UNOWNED, new == UNOWNED) {
            (true, false) => self.assigned += 1,
            (false, true) => self.assigned -= 1,
            _ => {}
        }
    }

    /// CLUSTER ADDSLOTS/ADDSLOTSRANGE: every slot must be free and named once; none is taken
    /// unless all can be.
    pub fn add_slots(&mut self, slots: &[u16]) -> Result<(), ClusterError> {
        let mut seen = vec![false; SLOTS];
        for &slot in slots {
            if self.owner(slot).is_some() {
                return Err(ClusterError::SlotBusy(slot));
            }
            if std::mem::replace(&mut seen[slot as usize], true) {
                return Err(ClusterError::SlotRepeated(slot));
            }
        }
        let me = self.index_of(&self.myself);
        for &slot in slots {
            self.importing.remove(&slot);
            self.set_owner(slot, me);
        }
        Ok(())
    }

    /// CLUSTER DELSLOTS/DELSLOTSRANGE.
    pub fn del_slots(&mut self, slots: &[u16]) -> Result<(), ClusterError> {
        let mut seen = vec![false; SLOTS];
        for &slot in slots {
            if self.owner(slot).is_none() {
                return Err(ClusterError::SlotUnassigned(slot));
            }
            if std::mem::replace(&mut seen[slot as usize], true) {
                return Err(ClusterError::SlotRepeated(slot));
            }
        }
        for &slot in slots {
            self.set_owner(slot, None);
            self.migrating.remove(&slot);
            self.importing.remove(&slot);
        }
        Ok(())
    }

    /// CLUSTER FORGET: the node leaves the table with its slots. Redis refuses to forget itself
    /// and, on a replica, its master.
    pub fn forget(&mut self, id: &str) -> Result<(), ClusterError> {
        let Some(at) = self.index_of(id) else {
            return Err(ClusterError::UnknownNode(id.into()));
        };
        if id == self.myself {
            return Err(ClusterError::ForgetMyself);
        }
        if self.me().replica_of.as_deref() == Some(id) {
            return Err(ClusterError::ForgetMaster);
        }
        self.remove_node(at);
        Ok(())
    }

    fn remove_node(&mut self, at: usize) {
        let id = self.nodes.remove(at).id;
        for owner in self.slots.iter_mut() {
            if *owner == at as u16 {
                *owner = UNOWNED;
            } else if *owner != UNOWNED && *owner > at as u16 {
                *owner -= 1;
            }
        }
        self.assigned = self.slots.iter().filter(|&&s| s != UNOWNED).count();
        self.migrating.retain(|_, to| *to != id);
        self.importing.retain(|_, from| *from != id);
        for node in &mut self.nodes {
            if node.replica_of.as_deref() == Some(id.as_str()) {
                node.replica_of = None;
            }
        }
    }

    /// CLUSTER MEET: records the node, or updates the address of one already known.
    pub fn meet(&mut self, node: Node) {
        match self.index_of(&node.id) {
            Some(at) => {
                let known = &mut self.nodes[at];
                known.ip = node.ip;
                known.port = node.port;
                known.cport = node.cport;
            }
            None => {
                self.current_epoch = self.current_epoch.max(node.config_epoch);
                self.nodes.push(node);
            }
        }
    }

    /// CLUSTER REPLICATE: this node serves `master`'s slots read-only. As Redis, a master that
    /// owns slots cannot become a replica.
    pub fn replicate(&mut self, master: &str) -> Result<(), ClusterError> {
        let Some(at) = self.index_of(master) else {
            return Err(ClusterError::UnknownNode(master.into()));
        };
        if master == self.myself {
            return Err(ClusterError::ReplicateMyself);
        }
        if self.nodes[at].replica_of.is_some() {
            return Err(ClusterError::ReplicateReplica);
        }
        let me = self.index_of(&self.myself).expect("myself is in the table");
        if self.slots.contains(&(me as u16)) {
            return Err(ClusterError::ReplicateWithSlots);
        }
        self.nodes[me].replica_of = Some(master.to_string());
        Ok(())
    }

    /// CLUSTER RESET: forget every other node and every slot; HARD also takes a new id and sets
    /// the epochs back to zero.
    pub fn reset(&mut self, hard: bool) {
        let mut me = self.me().clone();
        me.replica_of = None;
        if hard {
            me.id = random_node_id();
            me.config_epoch = 0;
        }
        let epochs = (self.current_epoch, self.last_vote_epoch);
        *self = Topology::alone(me);
        if !hard {
            (self.current_epoch, self.last_vote_epoch) = epochs;
        }
    }

    pub fn set_config_epoch(&mut self, epoch: u64) -> Result<(), ClusterError> {
        if self.nodes.len() > 1 {
            return Err(ClusterError::EpochWithOthers);
        }
        if self.me().config_epoch != 0 {
            return Err(ClusterError::EpochAlreadySet);
        }
        self.me_mut().config_epoch = epoch;
        self.current_epoch = self.current_epoch.max(epoch);
        Ok(())
    }

    /// CLUSTER BUMPEPOCH (Redis's `clusterBumpConfigEpochWithoutConsensus`): a new epoch unless
    /// this node already has the greatest one. `(bumped, epoch)`.
    pub fn bump_epoch(&mut self) -> (bool, u64) {
        let mine = self.me().config_epoch;
        let greatest = self
            .nodes
            .iter()
            .map(|n| n.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch);
        if mine == 0 || mine != greatest {
            self.current_epoch += 1;
            let epoch = self.current_epoch;
            self.me_mut().config_epoch = epoch;
            (true, epoch)
        } else {
            (false, mine)
        }
    }

    /// `cluster_state:ok`: with full coverage required, every slot has an owner and no owner is
    /// taken as failed (`failed`, from the probe).
    pub fn state_ok(&self, require_full_coverage: bool, failed: &BTreeSet<String>) -> bool {
        !require_full_coverage
            || (self.assigned() == SLOTS && (failed.is_empty() || self.failed_slots(failed) == 0))
    }

    /// Slots whose owner is in `failed` (`cluster_slots_fail`).
    pub fn failed_slots(&self, failed: &BTreeSet<String>) -> usize {
        if failed.is_empty() {
            return 0;
        }
        let down: Vec<bool> = self.nodes.iter().map(|n| failed.contains(&n.id)).collect();
        self.slots
            .iter()
            .filter(|&&owner| owner != UNOWNED && down.get(owner as usize) == Some(&true))
            .count()
    }
}

/// The other nodes' share of a cluster-wide invalidation (`commands::cluster::invalidate`): the
/// request each is sent, their addresses, and what this node removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WideInvalidation {
    pub request: Vec<bytes::Bytes>,
    pub nodes: Vec<String>,
    pub local: i64,
}

/// `cluster-config-file`, relative to `dir`; `None` unless `cluster-enabled yes`.
pub fn config_file(values: &ConfigValues) -> Option<PathBuf> {
    (values.cluster_enabled == Mode::Yes).then(|| {
        let file = PathBuf::from(&values.cluster_config_file);
        if file.is_absolute() {
            file
        } else {
            PathBuf::from(&values.dir).join(file)
        }
    })
}

/// The address this node gives clients: `cluster-announce-*`, else where it listens (`cport`
/// is the bus port Redis would use: `cluster-port`, else the listening port + 10000 even when
/// another port is announced, as Redis's `deriveAnnouncedPorts`; cachet has no bus).
pub fn announced(values: &ConfigValues, local: SocketAddr) -> (String, u16, u16) {
    let ip = if !values.cluster_announce_ip.is_empty() {
        values.cluster_announce_ip.clone()
    } else if local.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        local.ip().to_string()
    };
    let port = match values.cluster_announce_port {
        0 => local.port(),
        port => port,
    };
    let cport = match values.cluster_announce_bus_port {
        0 if values.cluster_port != 0 => values.cluster_port,
        0 => local.port().checked_add(10000).unwrap_or(port),
        cport => cport,
    };
    (ip, port, cport)
}

/// Reads the cluster config file the way the server will at start, for `main` to refuse a
/// broken one before listening (Redis exits on a nodes.conf it cannot load).
pub fn check_file(values: &ConfigValues) -> Result<(), String> {
    let Some(path) = config_file(values) else {
        return Ok(());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => nodes_conf::parse(&text)
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(format!("{}: {err}", path.display())),
    }
}

/// A new node's id: 40 random hex digits, as Redis's `getRandomHexChars`.
pub fn random_node_id() -> String {
    let mut bytes = [0u8; 20];
    if getrandom::fill(&mut bytes).is_err() {
        bytes.iter_mut().for_each(|b| *b = fastrand::u8(..));
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn valid_node_id(id: &str) -> bool {
    id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The cluster state a server holds: the mode, the topology, where it is saved.
pub struct Cluster {
    pub mode: Mode,
    topology: ArcSwap<Topology>,
    /// `cluster-config-file`, resolved; `None` when nothing is saved (emulated mode, off).
    file: Option<PathBuf>,
    /// Serializes changes: read, change, save, swap.
    writer: Mutex<()>,
    /// The keys of each slot, kept only in cluster mode (a keyspace-notice sink).
    pub keys: Option<Arc<SlotKeys>>,
    /// The nodes the probe (`net::cluster_probe`) takes as failed.
    pub health: Health,
}

impl Cluster {
    pub fn off() -> Self {
        Cluster {
            mode: Mode::Off,
            topology: ArcSwap::from_pointee(Topology::alone(Node {
                id: String::new(),
                ip: String::new(),
                port: 0,
                cport: 0,
                replica_of: None,
                config_epoch: 0,
            })),
            file: None,
            writer: Mutex::new(()),
            keys: None,
            health: Health::default(),
        }
    }

    /// The cluster state at start: the config file's topology when there is one (its id wins
    /// over `cluster-node-id`: an id is for life), a new node otherwise, saved at once as Redis
    /// does. `me` is this node's address as it is announced.
    pub fn start(
        mode: Mode,
        file: Option<PathBuf>,
        node_id: &str,
        me: (String, u16, u16),
    ) -> Result<Self, String> {
        let (ip, port, cport) = me;
        let fresh = |id: String| Node {
            id,
            ip: ip.clone(),
            port,
            cport,
            replica_of: None,
            config_epoch: 0,
        };
        let id = if node_id.is_empty() {
            random_node_id()
        } else {
            node_id.to_ascii_lowercase()
        };
        let (topology, file) = match mode {
            Mode::Off => return Ok(Cluster::off()),
            Mode::Emulated => (Topology::emulated(fresh(id)), None),
            Mode::Yes => {
                let path = file.ok_or("cluster-enabled yes needs a cluster-config-file")?;
                let mut topology = match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        nodes_conf::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
                    }
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        Topology::alone(fresh(id))
                    }
                    Err(err) => return Err(format!("{}: {err}", path.display())),
                };
                // The address this daemon listens on now wins over the one saved.
                let me = topology.me_mut();
                (me.ip, me.port, me.cport) = (ip.clone(), port, cport);
                nodes_conf::save(&path, &topology, true)
                    .map_err(|e| format!("cannot save {}: {e}", path.display()))?;
                (topology, Some(path))
            }
        };
        Ok(Cluster {
            mode,
            topology: ArcSwap::from_pointee(topology),
            file,
            writer: Mutex::new(()),
            keys: Some(Arc::default()),
            health: Health::default(),
        })
    }

    /// A cluster whose file could not be read: it starts alone and saves nothing, so the file
    /// stays for the operator to mend.
    pub fn unsaved(mode: Mode) -> Self {
        let mut cluster = Cluster::off();
        if mode != Mode::Off {
            cluster.mode = mode;
            cluster.keys = Some(Arc::default());
            let mut topology = Topology::clone(&cluster.topology.load());
            topology.me_mut().id = random_node_id();
            topology.myself = topology.nodes[0].id.clone();
            cluster.topology.store(Arc::new(topology));
        }
        cluster
    }

    /// The address this node announces changed (`cluster-announce-*`, or at start).
    pub fn announce(&self, (ip, port, cport): (String, u16, u16)) {
        if self.mode == Mode::Off {
            return;
        }
        let _writer = self.writer.lock_or_recover();
        let me = self.topology.load().me().clone();
        if (me.ip.as_str(), me.port, me.cport) == (ip.as_str(), port, cport) {
            return;
        }
        let mut topology = Topology::clone(&self.topology.load());
        let me = topology.me_mut();
        (me.ip, me.port, me.cport) = (ip, port, cport);
        if let Some(path) = &self.file {
            if let Err(err) = nodes_conf::save(path, &topology, false) {
                tracing::warn!("cannot save {}: {err}", path.display());
            }
        }
        self.topology.store(Arc::new(topology));
    }

    pub fn enabled(&self) -> bool {
        self.mode != Mode::Off
    }

    pub fn topology(&self) -> Arc<Topology> {
        self.topology.load_full()
    }

    /// Applies `change` to a copy of the topology, saves it, then makes it the topology: on any
    /// error nothing changed. Emulated mode refuses changes: its one shard is fixed.
    pub fn change<R>(
        &self,
        change: impl FnOnce(&mut Topology) -> Result<R, ClusterError>,
    ) -> Result<R, ClusterError> {
        if self.mode == Mode::Emulated {
            return Err(ClusterError::Emulated);
        }
        let _writer = self.writer.lock_or_recover();
        let mut topology = Topology::clone(&self.topology.load());
        let result = change(&mut topology)?;
        if let Some(path) = &self.file {
            nodes_conf::save(path, &topology, false)
                .map_err(|e| ClusterError::Save(e.to_string().into()))?;
        }
        self.topology.store(Arc::new(topology));
        Ok(result)
    }

    /// In `cluster-enabled yes`: the address (`ip:port`) of the master this node replicates,
    /// and whether this node is a master that some node of its topology replicates.
    pub fn coherence_role(&self) -> (Option<String>, bool) {
        if self.mode != Mode::Yes {
            return (None, false);
        }
        let topology = self.topology.load();
        let me = topology.me();
        let master = me
            .replica_of
            .as_deref()
            .and_then(|id| topology.node(id))
            .map(|m| format!("{}:{}", m.ip, m.port));
        let has_replicas = me.replica_of.is_none() && topology.replicas_of(&me.id).next().is_some();
        (master, has_replicas)
    }

    /// CLUSTER SAVECONFIG.
    pub fn save(&self) -> Result<(), ClusterError> {
        let _writer = self.writer.lock_or_recover();
        if let Some(path) = &self.file {
            nodes_conf::save(path, &self.topology.load(), true)
                .map_err(|e| ClusterError::Save(e.to_string().into()))?;
        }
        Ok(())
    }

    /// The `CLUSTER NODES` text (also `nodes.conf`'s node lines).
    pub fn nodes_text(&self, topology: &Topology, now_ms: u64) -> String {
        nodes_conf::describe(topology, Some(now_ms), &self.health.failed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_of_keys_as_redis() {
        // From redis-server 7.0.15's CLUSTER KEYSLOT.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user1}.a"), 8106);
        assert_eq!(key_slot(b"{user1}.a"), key_slot(b"user1"));
        // An empty tag hashes the whole key; only the first `{` counts.
        assert_eq!(key_slot(b"{}a"), key_slot(b"{}a"));
        assert_ne!(key_slot(b"{}a"), key_slot(b""));
        assert_eq!(key_slot(b"a{b}{c}"), key_slot(b"b"));
        assert_eq!(key_slot(b"a{{b}}"), key_slot(b"{b"));
        assert_eq!(key_slot(b"a{b"), key_slot(b"a{b"));
        assert_eq!(key_slot(b""), 0);
    }

    fn node(id: char, port: u16) -> Node {
        Node {
            id: id.to_string().repeat(40),
            ip: "127.0.0.1".into(),
            port,
            cport: port + 10000,
            replica_of: None,
            config_epoch: 0,
        }
    }

    #[test]
    fn add_slots_is_all_or_nothing() {
        let mut t = Topology::alone(node('a', 1));
        t.add_slots(&[1, 2]).unwrap();
        assert_eq!(t.add_slots(&[3, 2]), Err(ClusterError::SlotBusy(2)));
        assert!(t.owner(3).is_none());
        assert_eq!(t.add_slots(&[4, 4]), Err(ClusterError::SlotRepeated(4)));
        assert!(t.owner(4).is_none());
        assert_eq!(t.ranges(), vec![(1, 2, 0)]);
    }

    #[test]
    fn forgetting_a_node_frees_its_slots_and_keeps_the_others() {
        let mut t = Topology::alone(node('a', 1));
        t.meet(node('b', 2));
        t.meet(node('c', 3));
        t.set_owner(0, t.index_of(&"b".repeat(40)));
        t.set_owner(1, t.index_of(&"c".repeat(40)));
        t.forget(&"b".repeat(40)).unwrap();
        assert!(t.owner(0).is_none());
        assert_eq!(t.owner(1).unwrap().port, 3);
        assert_eq!(t.forget(&"a".repeat(40)), Err(ClusterError::ForgetMyself));
    }
}
