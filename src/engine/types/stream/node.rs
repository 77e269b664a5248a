//! One node of a stream: a listpack laid out as Redis lays it (`t_stream.c`), so its size, and so
//! where `stream-node-max-bytes` closes it, is Redis's:
//!
//! ```text
//! master entry: count | deleted | n | field_1 ... field_n | 0
//! each entry:   flags | ms-delta | seq-delta | [n | field_1 value_1 ... | value_1 ...] | lp-count
//! ```
//! The master entry holds the fields of the node's first entry; an entry with the same fields
//! (flag `SAMEFIELDS`) stores only its values. IDs are deltas from the node's first ID (the key the
//! node is filed under), wrapping like Redis's unsigned arithmetic. `lp-count` is the number of
//! elements of the entry before it, so the node can be walked backwards. A deleted entry keeps its
//! bytes with the `DELETED` flag, as in Redis.

use super::id::StreamId;
use crate::engine::listpack::{self, Elem};

pub const FLAG_DELETED: i64 = 1;
pub const FLAG_SAMEFIELDS: i64 = 2;

/// A node's listpack.
#[derive(Debug)]
pub struct Node {
    pub lp: Vec<u8>,
}

/// An entry found in a node: where its parts are.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub id: StreamId,
    pub flags: i64,
    /// Offset of the flags element.
    pub start: usize,
    /// Offset of the first field (or value, with `SAMEFIELDS`).
    pub fields: usize,
    pub nfields: usize,
    /// Offset after the lp-count element.
    pub end: usize,
}

impl Slot {
    pub fn deleted(&self) -> bool {
        self.flags & FLAG_DELETED != 0
    }
}

/// A node's layout, read once per node visited.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub master: StreamId,
    /// Offset of the master entry's first field.
    pub master_fields: usize,
    pub master_count: usize,
    /// Offset of the first entry.
    pub first_entry: usize,
}

fn add_delta(base: u64, delta: i64) -> u64 {
    base.wrapping_add(delta as u64)
}

/// What a node read from a client's payload holds, once checked (`Node::check`).
#[derive(Debug, Clone, Copy)]
pub struct Checked {
    pub live: u64,
    /// The ID of its last entry, deleted or not.
    pub last: StreamId,
}

fn next_int<'a>(it: &mut impl Iterator<Item = Elem<'a>>) -> Option<i64> {
    it.next()?.as_int()
}

impl Node {
    /// Checks a node's listpack from a RESTORE payload as Redis's deep sanitization does
    /// (`streamValidateListpackIntegrity`: the layout of the master entry and of every entry, each
    /// entry's element count), and what cachet's walks rely on besides: the first entry at the
    /// node's key, IDs ascending, flags a one-byte integer (XDEL rewrites them in place), the
    /// master counters equal to what the entries say, and at least one live entry (an emptied node
    /// is freed). `None` when any of it fails.
    pub fn check(lp: &[u8], master: StreamId) -> Option<Checked> {
        let elements = listpack::elements(lp)?;
        let mut it = elements.into_iter();
        let live = next_int(&mut it)?;
        let deleted = next_int(&mut it)?;
        let master_fields = usize::try_from(next_int(&mut it)?).ok()?;
        for _ in 0..master_fields {
            it.next()?;
        }
        if next_int(&mut it)? != 0 || live < 1 || deleted < 0 {
            return None;
        }
        let (mut seen_live, mut seen_deleted) = (0i64, 0i64);
        let mut last: Option<StreamId> = None;
        while let Some(flags) = it.next() {
            let flags = match flags {
                Elem::Int(f @ 0..=3) => f,
                _ => return None,
            };
            let id = StreamId::new(
                add_delta(master.ms, next_int(&mut it)?),
                add_delta(master.seq, next_int(&mut it)?),
            );
            match last {
                None if id != master => return None,
                Some(before) if id <= before => return None,
                _ => last = Some(id),
            }
            let (fields, extra) = if flags & FLAG_SAMEFIELDS != 0 {
                (master_fields, 3)
            } else {
                let n = usize::try_from(next_int(&mut it)?).ok()?;
                for _ in 0..n {
                    it.next()?;
                }
                (n, n + 4)
            };
            for _ in 0..fields {
                it.next()?;
            }
            if next_int(&mut it)? != (fields + extra) as i64 {
                return None;
            }
            if flags & FLAG_DELETED != 0 {
                seen_deleted += 1;
            } else {
                seen_live += 1;
            }
        }
        if (seen_live, seen_deleted) != (live, deleted) {
            return None;
        }
        Some(Checked {
            live: live as u64,
            last: last?,
        })
    }

    /// A node holding one entry, its fields becoming the master fields. `prealloc` is the room
    /// allocated up front (Redis's `lpNew(prealloc)`).
    pub fn create(pairs: &[&[u8]], prealloc: usize) -> Node {
        let numfields = pairs.len() / 2;
        let mut encoded = Vec::with_capacity(64);
        listpack::encode_int_elem(&mut encoded, 1);
        listpack::encode_int_elem(&mut encoded, 0);
        listpack::encode_int_elem(&mut encoded, numfields as i64);
        for field in pairs.iter().step_by(2) {
            listpack::encode_str_elem(&mut encoded, field);
        }
        listpack::encode_int_elem(&mut encoded, 0);
        let mut lp = listpack::new(prealloc);
        listpack::append_encoded(&mut lp, &encoded, 4 + numfields);
        let mut node = Node { lp };
        node.push_entry(StreamId::MIN, pairs, true);
        node
    }

    pub fn bytes(&self) -> usize {
        self.lp.len()
    }

    /// (live entries, deleted entries).
    pub fn counts(&self) -> (i64, i64) {
        let (live, at) = listpack::decode(&self.lp, listpack::first(&self.lp));
        (live.int(), listpack::decode(&self.lp, at).0.int())
    }

    pub fn layout(&self, master: StreamId) -> Layout {
        let lp = &self.lp;
        let mut at = listpack::first(lp);
        at = listpack::next(lp, at);
        at = listpack::next(lp, at);
        let (n, fields) = listpack::decode(lp, at);
        let master_count = n.int().max(0) as usize;
        let mut p = fields;
        for _ in 0..master_count {
            p = listpack::next(lp, p);
        }
        Layout {
            master,
            master_fields: fields,
            master_count,
            first_entry: listpack::next(lp, p),
        }
    }

    /// Whether `pairs` has the master entry's fields, in order.
    fn same_fields(&self, layout: &Layout, pairs: &[&[u8]]) -> bool {
        if pairs.len() / 2 != layout.master_count {
            return false;
        }
        let mut at = layout.master_fields;
        let mut buf = Vec::new();
        for field in pairs.iter().step_by(2) {
            let (elem, next) = listpack::decode(&self.lp, at);
            let same = match elem {
                Elem::Str(s) => s == *field,
                Elem::Int(_) => {
                    buf.clear();
                    elem.write_to(&mut buf);
                    buf == *field
                }
            };
            if !same {
                return false;
            }
            at = next;
        }
        true
    }

    /// Appends an entry whose ID is `delta` from the node's first (count updated by the caller
    /// through `set_counts`, except for the first entry written by `create`).
    fn push_entry(&mut self, delta: StreamId, pairs: &[&[u8]], same: bool) {
        let numfields = pairs.len() / 2;
        let mut encoded = Vec::with_capacity(16 + pairs.iter().map(|p| p.len() + 2).sum::<usize>());
        let flags = if same { FLAG_SAMEFIELDS } else { 0 };
        listpack::encode_int_elem(&mut encoded, flags);
        listpack::encode_int_elem(&mut encoded, delta.ms as i64);
        listpack::encode_int_elem(&mut encoded, delta.seq as i64);
        let mut elements = 3 + numfields;
        if !same {
            listpack::encode_int_elem(&mut encoded, numfields as i64);
            for pair in pairs {
                listpack::encode_str_elem(&mut encoded, pair);
            }
            elements += numfields + 1;
        } else {
            for value in pairs.iter().skip(1).step_by(2) {
                listpack::encode_str_elem(&mut encoded, value);
            }
        }
        listpack::encode_int_elem(&mut encoded, elements as i64);
        let grow = encoded.len();
        if self.lp.len() + grow > self.lp.capacity() {
            // Grow as `realloc` would: to the size class of the new length, no doubling.
            let target = crate::engine::memory::alloc_size(self.lp.len() + grow);
            self.lp.reserve_exact(target - self.lp.len());
        }
        listpack::append_encoded(&mut self.lp, &encoded, elements + 1);
    }

    /// Appends entry `id` to a node filed under `master`.
    pub fn append(&mut self, master: StreamId, id: StreamId, pairs: &[&[u8]]) {
        let (live, deleted) = self.counts();
        self.set_counts(live + 1, deleted);
        let layout = self.layout(master);
        let same = self.same_fields(&layout, pairs);
        let delta = StreamId::new(
            id.ms.wrapping_sub(master.ms),
            id.seq.wrapping_sub(master.seq),
        );
        self.push_entry(delta, pairs, same);
    }

    /// Rewrites the master entry's counters.
    pub fn set_counts(&mut self, live: i64, deleted: i64) {
        let first = listpack::first(&self.lp);
        let at = listpack::replace_int(&mut self.lp, first, live);
        listpack::replace_int(&mut self.lp, at, deleted);
    }

    /// The entry whose flags element is at `at`.
    pub fn slot_at(&self, layout: &Layout, at: usize) -> Slot {
        let lp = &self.lp;
        let (flags, p) = listpack::decode(lp, at);
        let flags = flags.int();
        let (ms, p) = listpack::decode(lp, p);
        let (seq, p) = listpack::decode(lp, p);
        let id = StreamId::new(
            add_delta(layout.master.ms, ms.int()),
            add_delta(layout.master.seq, seq.int()),
        );
        let (nfields, fields, elements) = if flags & FLAG_SAMEFIELDS != 0 {
            (layout.master_count, p, layout.master_count)
        } else {
            let (n, p) = listpack::decode(lp, p);
            let n = n.int().max(0) as usize;
            (n, p, 2 * n)
        };
        let mut end = fields;
        for _ in 0..elements {
            end = listpack::next(lp, end);
        }
        end = listpack::next(lp, end);
        Slot {
            id,
            flags,
            start: at,
            fields,
            nfields,
            end,
        }
    }

    /// The entry after `slot` (or the first with `None`).
    pub fn next_slot(&self, layout: &Layout, after: Option<&Slot>) -> Option<Slot> {
        let at = after.map_or(layout.first_entry, |s| s.end);
        (at < listpack::end(&self.lp)).then(|| self.slot_at(layout, at))
    }

    /// The entry before the one starting at `before` (the last with `None`).
    pub fn prev_slot(&self, layout: &Layout, before: Option<&Slot>) -> Option<Slot> {
        let at = before.map_or(listpack::end(&self.lp), |s| s.start);
        if at <= layout.first_entry {
            return None;
        }
        let count_at = listpack::prev(&self.lp, at);
        let count = listpack::decode(&self.lp, count_at).0.int();
        let mut p = count_at;
        for _ in 0..count {
            p = listpack::prev(&self.lp, p);
        }
        Some(self.slot_at(layout, p))
    }

    /// Marks the entry deleted (its flags are a one-byte integer, so in place) and updates the
    /// counters. Returns the live entries left.
    pub fn mark_deleted(&mut self, slot: &Slot) -> i64 {
        self.lp[slot.start] = (slot.flags | FLAG_DELETED) as u8;
        let (live, deleted) = self.counts();
        if live > 1 {
            self.set_counts(live - 1, deleted + 1);
        }
        live - 1
    }

    /// The field-value pairs of an entry.
    pub fn pairs<'a>(
        &'a self,
        layout: &Layout,
        slot: &Slot,
    ) -> impl Iterator<Item = (Elem<'a>, Elem<'a>)> + 'a {
        let lp = &self.lp[..];
        let same = slot.flags & FLAG_SAMEFIELDS != 0;
        let mut field_at = if same {
            layout.master_fields
        } else {
            slot.fields
        };
        let mut value_at = slot.fields;
        (0..slot.nfields).map(move |_| {
            if same {
                let (field, next_field) = listpack::decode(lp, field_at);
                let (value, next_value) = listpack::decode(lp, value_at);
                field_at = next_field;
                value_at = next_value;
                (field, value)
            } else {
                let (field, p) = listpack::decode(lp, value_at);
                let (value, p) = listpack::decode(lp, p);
                value_at = p;
                field_at = p;
                (field, value)
            }
        })
    }

    /// Gives back the room preallocated for appends (a node that is no longer the last).
    pub fn shrink(&mut self) {
        self.lp.shrink_to_fit();
    }

    pub fn clone_exact(&self) -> Node {
        let mut lp = Vec::with_capacity(self.lp.len());
        lp.extend_from_slice(&self.lp);
        Node { lp }
    }
}
