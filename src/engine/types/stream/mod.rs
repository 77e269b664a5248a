//! The stream value (Redis's `t_stream.c` data structure): entries in nodes of at most
//! `stream-node-max-bytes` / `stream-node-max-entries`, each node a listpack laid out exactly as
//! Redis's (`node.rs`), filed in a sorted map by the ID of its first entry (`sorted.rs`, where Redis
//! has a radix tree); the stream's counters (length, last ID, first ID, largest deleted ID, entries
//! ever added); and its consumer groups (`group.rs`).
//!
//! Costs: XADD appends to the last node (O(1) plus one node's bytes when a counter grows by a
//! byte); a range seeks its first node in O(log nodes) and walks entries; XDEL marks an entry
//! deleted in place and frees a node whose last live entry goes; trimming drops whole nodes from
//! the front, and exact trimming marks entries of the first node left. `memory()` is O(1): node
//! bytes and group bytes are running counts kept by every mutation here, at jemalloc size classes.
//!
//! Counters (entries added, a group's entries read, delivery counts) wrap as Redis's C integers
//! do rather than panic: a RESTOREd payload may carry any value.
//!
//! Why listpacks rather than a structure of our own: node sizes are then Redis's to the byte, so a
//! node closes exactly where Redis's closes, and `XTRIM ~`/`XADD ... ~` (which only drop whole
//! nodes) remove exactly what Redis removes; and the bytes per entry are Redis's by construction.

pub mod group;
pub mod id;
pub mod node;
mod rax;
pub mod sorted;
#[cfg(test)]
mod tests;

pub use crate::engine::listpack::Elem;
use crate::engine::memory::alloc_size;
pub use group::{Consumer, Group, Nack, ENTRIES_READ_UNKNOWN};
pub use id::{parse_id, ParsedId, StreamId};
use node::{Layout, Node, Slot};
use sorted::{Pos, SortedMap};

/// A listpack never grows past this, whatever `stream-node-max-bytes` says.
const LISTPACK_MAX_SIZE: usize = 1 << 30;
/// Room a new node is given up front for its appends (Redis's `STREAM_LISTPACK_MAX_PRE_ALLOCATE`).
const PREALLOCATE: usize = 4096;

/// `stream-node-max-bytes` and `stream-node-max-entries`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: i64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

/// How XADD's ID is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewId {
    /// `*`: from the clock (milliseconds now), never going back.
    Auto(u64),
    /// `<ms>-*`: that millisecond, the next sequence.
    SeqAuto(u64),
    Exact(StreamId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendError {
    /// Not above the stream's last ID.
    NotGreater,
    /// More than 1 GiB of fields and values, or a `<ms>-*` whose sequence is exhausted (Redis
    /// answers both "Elements are too large to be stored").
    TooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// The counters a DUMP payload carries after the nodes.
#[derive(Debug, Clone, Copy)]
pub struct Counters {
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted: StreamId,
    pub entries_added: u64,
}

#[derive(Debug, Default)]
pub struct StreamValue {
    nodes: SortedMap<StreamId, Node>,
    /// Allocator bytes of the nodes' listpacks.
    node_bytes: usize,
    length: u64,
    pub last_id: StreamId,
    /// The first live entry when the stream was last trimmed or its first entry deleted (Redis's
    /// `first_id`, shown as `recorded-first-entry-id`).
    pub first_id: StreamId,
    pub max_deleted: StreamId,
    pub entries_added: u64,
    groups: SortedMap<Box<[u8]>, Group>,
    /// Allocator bytes of the groups: names, `Group` structs' own allocations.
    group_bytes: usize,
}

fn group_cost(name: &[u8], group: &Group) -> usize {
    alloc_size(name.len()) + group.memory()
}

fn listpack_bytes(node: &Node) -> usize {
    alloc_size(node.lp.capacity())
}

/// An entry of the stream, to reply with.
pub struct EntryRef<'a> {
    pub id: StreamId,
    node: &'a Node,
    layout: Layout,
    slot: Slot,
}

impl<'a> EntryRef<'a> {
    pub fn field_count(&self) -> usize {
        self.slot.nfields
    }

    pub fn pairs(&self) -> impl Iterator<Item = (Elem<'a>, Elem<'a>)> + 'a {
        self.node.pairs(&self.layout, &self.slot)
    }
}

/// The entries and counters of a stream, without its groups: what a group operation reads while
/// it changes a group.
#[derive(Clone, Copy)]
pub struct Entries<'a> {
    nodes: &'a SortedMap<StreamId, Node>,
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted: StreamId,
    pub entries_added: u64,
}

/// Walks the live entries between two IDs (inclusive), forwards or backwards.
pub struct Range<'a> {
    nodes: &'a SortedMap<StreamId, Node>,
    pos: Option<Pos>,
    layout: Option<Layout>,
    slot: Option<Slot>,
    start: StreamId,
    end: StreamId,
    rev: bool,
}

impl<'a> Iterator for Range<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        loop {
            let pos = self.pos?;
            let (master, node) = self.nodes.at(pos);
            let layout = *self.layout.get_or_insert_with(|| node.layout(*master));
            let slot = if self.rev {
                node.prev_slot(&layout, self.slot.as_ref())
            } else {
                node.next_slot(&layout, self.slot.as_ref())
            };
            let Some(slot) = slot else {
                self.pos = if self.rev {
                    self.nodes.prev(pos)
                } else {
                    self.nodes.next(pos)
                };
                self.layout = None;
                self.slot = None;
                continue;
            };
            self.slot = Some(slot);
            if slot.deleted() {
                continue;
            }
            let (inside, beyond) = if self.rev {
                (slot.id <= self.end, slot.id < self.start)
            } else {
                (slot.id >= self.start, slot.id > self.end)
            };
            if !inside {
                continue;
            }
            if beyond {
                self.pos = None;
                return None;
            }
            return Some(EntryRef {
                id: slot.id,
                node,
                layout,
                slot,
            });
        }
    }
}

impl<'a> Entries<'a> {
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Range<'a> {
        let pos = if rev {
            self.nodes.seek_le(&end)
        } else if start.is_zero() {
            self.nodes.first_pos()
        } else {
            self.nodes
                .seek_le(&start)
                .or_else(|| self.nodes.first_pos())
        };
        Range {
            nodes: self.nodes,
            pos,
            layout: None,
            slot: None,
            start,
            end,
            rev,
        }
    }

    /// The live entry `id`.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'a>> {
        self.range(id, id, false).next()
    }

    pub fn last_valid_id(&self) -> Option<StreamId> {
        self.range(StreamId::MIN, StreamId::MAX, true)
            .next()
            .map(|e| e.id)
    }

    pub fn first_valid_id(&self) -> Option<StreamId> {
        self.range(StreamId::MIN, StreamId::MAX, false)
            .next()
            .map(|e| e.id)
    }

    /// Whether deleted entries may lie between `start` and the end (Redis's
    /// `streamRangeHasTombstones(s, start, NULL)`).
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.length == 0 || self.max_deleted.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted {
            return false;
        }
        start <= self.max_deleted
    }

    /// How many entries were ever added up to `id`, when that can be known (Redis's
    /// `streamEstimateDistanceFromFirstEverEntry`); `None` when it cannot.
    pub fn estimate_distance(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        } else if id > self.last_id {
            return None;
        }
        if self.max_deleted.is_zero() || self.max_deleted < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added.wrapping_sub(self.length));
            } else if id == self.first_id {
                return Some(self.entries_added.wrapping_sub(self.length).wrapping_add(1));
            }
        }
        None
    }

    /// A group's lag (XINFO), `None` when it cannot be known.
    pub fn lag(&self, group: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if group.entries_read != ENTRIES_READ_UNKNOWN && !self.has_tombstones_from(group.last_id) {
            return Some((self.entries_added as i64).wrapping_sub(group.entries_read));
        }
        self.estimate_distance(group.last_id)
            .map(|read| (self.entries_added as i64).wrapping_sub(read as i64))
    }

    /// The read counter update of a group delivering entry `id` beyond its last ID.
    pub fn advance_group(&self, group: &mut Group, id: StreamId) {
        if group.entries_read != ENTRIES_READ_UNKNOWN && !self.has_tombstones_from(id) {
            group.entries_read = group.entries_read.wrapping_add(1);
        } else if self.entries_added != 0 {
            group.entries_read = self
                .estimate_distance(id)
                .map_or(ENTRIES_READ_UNKNOWN, |d| d as i64);
        }
        group.last_id = id;
    }
}

impl StreamValue {
    pub fn new() -> Self {
        StreamValue::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Bytes held besides the struct itself; O(1).
    pub fn memory(&self) -> usize {
        self.nodes.heap() + self.node_bytes + self.groups.heap() + self.group_bytes
    }

    pub fn entries(&self) -> Entries<'_> {
        Entries {
            nodes: &self.nodes,
            length: self.length,
            last_id: self.last_id,
            first_id: self.first_id,
            max_deleted: self.max_deleted,
            entries_added: self.entries_added,
        }
    }

    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Range<'_> {
        self.entries().range(start, end, rev)
    }

    /// Nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes Redis's radix tree of these node keys would have (XINFO's `radix-tree-nodes`).
    pub fn rax_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.iter().map(|(id, _)| id.to_be_bytes()).collect();
        rax::node_count(&keys)
    }

    /// XADD's append. The ID is checked against the last one; the entry goes to the last node,
    /// or to a new one when that is full by Redis's rules.
    pub fn append(
        &mut self,
        new_id: NewId,
        pairs: &[&[u8]],
        limits: NodeLimits,
    ) -> Result<StreamId, AppendError> {
        let last = self.last_id;
        let id = match new_id {
            NewId::Exact(id) => id,
            NewId::SeqAuto(ms) if ms == last.ms => {
                if last.seq == u64::MAX {
                    return Err(AppendError::TooLarge);
                }
                StreamId::new(ms, last.seq + 1)
            }
            NewId::SeqAuto(ms) => StreamId::new(ms, 0),
            NewId::Auto(now) if now > last.ms => StreamId::new(now, 0),
            NewId::Auto(_) => last.incr().unwrap_or(StreamId::MIN),
        };
        if id <= last {
            return Err(AppendError::NotGreater);
        }
        let total: usize = pairs.iter().map(|p| p.len()).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let max_bytes = match limits.max_bytes {
            0 => LISTPACK_MAX_SIZE,
            n if n > LISTPACK_MAX_SIZE => LISTPACK_MAX_SIZE,
            n => n,
        };
        let tail = self.nodes.last_pos().and_then(|pos| {
            let node = self.nodes.at(pos).1;
            let (live, deleted) = node.counts();
            let full = node.bytes() + total >= max_bytes
                || (limits.max_entries != 0 && live + deleted >= limits.max_entries);
            (!full).then_some(pos)
        });
        match tail {
            Some(pos) => {
                let master = *self.nodes.at(pos).0;
                let node = self.nodes.at_mut(pos);
                let before = listpack_bytes(node);
                node.append(master, id, pairs);
                self.node_bytes = self.node_bytes + listpack_bytes(node) - before;
            }
            None => {
                if let Some(pos) = self.nodes.last_pos() {
                    let node = self.nodes.at_mut(pos);
                    let before = listpack_bytes(node);
                    node.shrink();
                    self.node_bytes = self.node_bytes + listpack_bytes(node) - before;
                }
                let prealloc = match limits.max_bytes {
                    n if n > 0 && n < PREALLOCATE => n,
                    _ => PREALLOCATE,
                };
                let node = Node::create(pairs, prealloc);
                self.node_bytes += listpack_bytes(&node);
                self.nodes.insert(id, node);
            }
        }
        self.length += 1;
        self.entries_added = self.entries_added.wrapping_add(1);
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(id)
    }

    /// Marks entry `id` deleted; false if there is no such live entry. Does not touch the
    /// recorded first ID or the largest deleted ID (see `delete_entries`).
    fn delete_one(&mut self, id: StreamId) -> bool {
        let Some(pos) = self.nodes.seek_le(&id) else {
            return false;
        };
        let (master, node) = self.nodes.at(pos);
        let layout = node.layout(*master);
        let mut slot = None;
        let found = loop {
            match node.next_slot(&layout, slot.as_ref()) {
                Some(s) if s.id == id && !s.deleted() => break Some(s),
                Some(s) if s.id < id => slot = Some(s),
                _ => break None,
            }
        };
        let Some(found) = found else {
            return false;
        };
        let node = self.nodes.at_mut(pos);
        let before = listpack_bytes(node);
        let left = node.mark_deleted(&found);
        if left == 0 {
            self.node_bytes -= before;
            self.nodes.remove_at(pos);
        } else {
            self.node_bytes = self.node_bytes + listpack_bytes(node) - before;
        }
        self.length -= 1;
        true
    }

    /// XDEL: deletes the live entries among `ids`, updating the largest deleted ID and the
    /// recorded first ID as Redis does. Returns how many were deleted.
    pub fn delete_entries(&mut self, ids: &[StreamId]) -> u64 {
        let mut deleted = 0;
        let mut first_deleted = false;
        for &id in ids {
            if self.delete_one(id) {
                if id == self.first_id {
                    first_deleted = true;
                }
                if id > self.max_deleted {
                    self.max_deleted = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 {
            if self.length == 0 {
                self.first_id = StreamId::MIN;
            } else if first_deleted {
                self.first_id = self.entries().first_valid_id().unwrap_or(StreamId::MAX);
            }
        }
        deleted
    }

    /// Redis's `streamTrim`: whole nodes from the front while they may go; then, unless
    /// `approx`, entries of the first node left are marked deleted. `limit` (0: none) bounds the
    /// entries removed. Returns how many were.
    pub fn trim(&mut self, strategy: Trim, approx: bool, limit: i64) -> u64 {
        let mut deleted: i64 = 0;
        while let Some(pos) = self.nodes.first_pos() {
            if let Trim::MaxLen(max) = strategy {
                if self.length <= max {
                    break;
                }
            }
            let (master, node) = self.nodes.at(pos);
            let master = *master;
            let entries = node.counts().0;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove = match strategy {
                Trim::MaxLen(max) => self.length - entries as u64 >= max,
                Trim::MinId(min) => {
                    let layout = node.layout(master);
                    node.prev_slot(&layout, None)
                        .is_none_or(|last| last.id < min)
                }
            };
            if remove {
                let (_, node) = self.nodes.remove_at(pos);
                self.node_bytes -= listpack_bytes(&node);
                self.length -= entries as u64;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let node = self.nodes.at_mut(pos);
            let layout = node.layout(master);
            let mut slot = None;
            let mut marked = 0;
            while let Some(s) = node.next_slot(&layout, slot.as_ref()) {
                let stop = match strategy {
                    Trim::MaxLen(max) => self.length <= max,
                    Trim::MinId(min) => s.id >= min,
                };
                if stop {
                    break;
                }
                if !s.deleted() {
                    node.lp[s.start] = (s.flags | node::FLAG_DELETED) as u8;
                    marked += 1;
                    self.length -= 1;
                }
                slot = Some(s);
            }
            let (live, dead) = node.counts();
            let before = listpack_bytes(node);
            node.set_counts(live - marked, dead + marked);
            self.node_bytes = self.node_bytes + listpack_bytes(node) - before;
            deleted += marked;
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.entries().first_valid_id().unwrap_or(StreamId::MAX);
        }
        deleted as u64
    }

    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    pub fn group(&self, name: &[u8]) -> Option<&Group> {
        self.groups.get(name)
    }

    pub fn groups(&self) -> impl Iterator<Item = (&[u8], &Group)> {
        self.groups.iter().map(|(name, group)| (&**name, group))
    }

    /// XGROUP CREATE; false if the group exists.
    pub fn create_group(&mut self, name: &[u8], last_id: StreamId, entries_read: i64) -> bool {
        if self.groups.contains(name) {
            return false;
        }
        let group = Group::new(last_id, entries_read);
        self.group_bytes += group_cost(name, &group);
        self.groups.insert(name.into(), group);
        true
    }

    /// XGROUP DESTROY; false if there was no such group.
    pub fn destroy_group(&mut self, name: &[u8]) -> bool {
        match self.groups.remove(name) {
            Some(group) => {
                self.group_bytes -= group_cost(name, &group);
                true
            }
            None => false,
        }
    }

    /// Runs `f` on group `name` with read access to the entries, keeping the byte count.
    pub fn with_group<R>(
        &mut self,
        name: &[u8],
        f: impl FnOnce(&mut Group, &Entries<'_>) -> R,
    ) -> Option<R> {
        let entries = Entries {
            nodes: &self.nodes,
            length: self.length,
            last_id: self.last_id,
            first_id: self.first_id,
            max_deleted: self.max_deleted,
            entries_added: self.entries_added,
        };
        let group = self.groups.get_mut(name)?;
        let before = group.memory();
        let result = f(group, &entries);
        self.group_bytes = self.group_bytes + group.memory() - before;
        Some(result)
    }

    /// The byte count recomputed from every allocation (tests).
    #[cfg(test)]
    pub fn recount(&self) -> usize {
        self.nodes.recount()
            + self
                .nodes
                .iter()
                .map(|(_, n)| listpack_bytes(n))
                .sum::<usize>()
            + self.groups.recount()
            + self
                .groups
                .iter()
                .map(|(name, g)| alloc_size(name.len()) + g.recount())
                .sum::<usize>()
    }

    /// A stream from a RESTORE payload's nodes (in key order) and counters. Every node is checked
    /// (`Node::check`); besides, keys and entries must ascend across nodes, the live entries add up
    /// to the length, and no entry, deleted or not, lies past the last ID (XADD would then break
    /// the order). `None` when the payload is damaged.
    pub fn restored(nodes: Vec<(StreamId, Vec<u8>)>, counters: Counters) -> Option<StreamValue> {
        let mut stream = StreamValue {
            length: counters.length,
            last_id: counters.last_id,
            first_id: counters.first_id,
            max_deleted: counters.max_deleted,
            entries_added: counters.entries_added,
            ..StreamValue::default()
        };
        let mut live = 0u64;
        let mut last: Option<StreamId> = None;
        for (key, mut lp) in nodes {
            if last.is_some_and(|before| key <= before) {
                return None;
            }
            let checked = Node::check(&lp, key)?;
            live = live.checked_add(checked.live)?;
            last = Some(checked.last);
            lp.shrink_to_fit();
            let node = Node { lp };
            stream.node_bytes += listpack_bytes(&node);
            stream.nodes.insert(key, node);
        }
        if live != counters.length || last.is_some_and(|id| id > counters.last_id) {
            return None;
        }
        Some(stream)
    }

    /// Adds a restored group; false when its name is taken.
    pub fn insert_group(&mut self, name: &[u8], group: Group) -> bool {
        if self.groups.contains(name) {
            return false;
        }
        self.group_bytes += group_cost(name, &group);
        self.groups.insert(name.into(), group);
        true
    }

    /// Every node's listpack, with the ID it is filed under (DUMP).
    pub fn node_listpacks(&self) -> impl Iterator<Item = (StreamId, &[u8])> {
        self.nodes.iter().map(|(id, node)| (*id, &node.lp[..]))
    }
}

impl Clone for StreamValue {
    /// A deep copy with buffers sized to their contents (COPY), byte counts recounted.
    fn clone(&self) -> Self {
        let nodes = self.nodes.clone_with(|id, node| (*id, node.clone_exact()));
        let node_bytes = nodes.iter().map(|(_, n)| listpack_bytes(n)).sum();
        let groups = self
            .groups
            .clone_with(|name, group| (name.clone(), group.deep_clone()));
        let group_bytes = groups.iter().map(|(n, g)| group_cost(n, g)).sum();
        StreamValue {
            nodes,
            node_bytes,
            length: self.length,
            last_id: self.last_id,
            first_id: self.first_id,
            max_deleted: self.max_deleted,
            entries_added: self.entries_added,
            groups,
            group_bytes,
        }
    }
}
