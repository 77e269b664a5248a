//! The set value, in Redis 7.0's two encodings: `intset` (sorted integers in one compact buffer)
//! while every member is a canonical integer and there are at most `set-max-intset-entries` of
//! them, then `hashtable` for good. Redis 7.0 has no listpack encoding for sets (it came in 7.2):
//! `OBJECT ENCODING` on 7.0.15 only ever answers `intset` or `hashtable`, and so do we.
//!
//! The hashtable (`set/chained.rs`) is a chained table like Redis's dict, so that SSCAN can use
//! Redis's reverse-binary cursor: every member present for the whole scan is returned, whatever
//! the table does between calls, and the scan always ends. Both encodings keep a running byte
//! count, so `memory()` is O(1).

mod chained;
mod intset;

use std::borrow::Cow;

use hashbrown::HashTable;

use crate::engine::memory::alloc_size;
use crate::protocol::parse_i64;
use chained::ChainedTable;
pub use intset::IntSet;

/// Redis caps the intset at 2^30 entries whatever `set-max-intset-entries` says.
const INTSET_HARD_LIMIT: usize = 1 << 30;
/// A member as a set holds it: an integer of an intset, or the bytes of a hashtable member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    pub fn to_bytes(&self) -> Cow<'_, [u8]> {
        match *self {
            Member::Int(n) => Cow::Owned(itoa::Buffer::new().format(n).as_bytes().to_vec()),
            Member::Bytes(bytes) => Cow::Borrowed(bytes),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.to_bytes().into_owned()
    }
}

#[derive(Debug, Clone)]
enum Repr {
    Ints(IntSet),
    /// Boxed, so that a small set (an intset) pays for a `Vec` and not for a table header.
    Table(Box<ChainedTable>),
}

/// A set: see the module comment for the encodings.
#[derive(Debug, Clone)]
pub struct SetValue {
    repr: Repr,
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue {
            repr: Repr::Ints(IntSet::default()),
        }
    }
}

/// The intset limit in force for a `set-max-intset-entries` setting.
fn intset_limit(max_intset_entries: usize) -> usize {
    max_intset_entries.min(INTSET_HARD_LIMIT)
}

impl SetValue {
    /// A set holding `members`, encoded as Redis encodes a set built by adding them one by one.
    pub fn from_members<'a>(
        members: impl IntoIterator<Item = Member<'a>>,
        max_intset_entries: usize,
    ) -> SetValue {
        let mut set = SetValue::default();
        for member in members {
            set.add_member(member, max_intset_entries);
        }
        set
    }

    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(ints) => ints.len(),
            Repr::Table(table) => table.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held besides the struct itself; kept as a running count so this is O(1).
    pub fn memory(&self) -> usize {
        match &self.repr {
            Repr::Ints(ints) => ints.memory(),
            Repr::Table(table) => alloc_size(std::mem::size_of::<ChainedTable>()) + table.memory(),
        }
    }

    /// What `memory()` should be, recounted from the members (for tests of the running count).
    pub fn recount_memory(&self) -> usize {
        match &self.repr {
            Repr::Ints(ints) => ints.memory(),
            Repr::Table(table) => {
                alloc_size(std::mem::size_of::<ChainedTable>()) + table.recount_memory()
            }
        }
    }

    /// Adds `member`; false when it was already there. Converts to a hashtable as Redis does: on
    /// a member that is not a canonical integer, or past `max_intset_entries` members.
    pub fn add(&mut self, member: &[u8], max_intset_entries: usize) -> bool {
        self.add_member(Member::Bytes(member), max_intset_entries)
    }

    /// As `add`, for a member taken from another set.
    pub fn add_member(&mut self, member: Member<'_>, max_intset_entries: usize) -> bool {
        match (&mut self.repr, member) {
            (Repr::Ints(ints), Member::Int(n)) => {
                if !ints.insert(n) {
                    return false;
                }
                if ints.len() > intset_limit(max_intset_entries) {
                    self.convert_to_table();
                }
                true
            }
            (Repr::Ints(_), Member::Bytes(bytes)) => {
                if let Some(n) = parse_i64(bytes) {
                    return self.add_member(Member::Int(n), max_intset_entries);
                }
                self.convert_to_table();
                self.add_member(member, max_intset_entries)
            }
            (Repr::Table(table), member) => table.insert(&member.to_bytes()),
        }
    }

    fn convert_to_table(&mut self) {
        if let Repr::Ints(ints) = &self.repr {
            let mut table = ChainedTable::with_capacity(ints.len() + 1);
            let mut digits = itoa::Buffer::new();
            for n in ints.iter() {
                table.insert(digits.format(n).as_bytes());
            }
            self.repr = Repr::Table(Box::new(table));
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(ints) => parse_i64(member).is_some_and(|n| ints.remove(n)),
            Repr::Table(table) => table.remove(member),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(ints) => parse_i64(member).is_some_and(|n| ints.contains(n)),
            Repr::Table(table) => table.contains(member),
        }
    }

    /// Membership of a member taken from another set, without formatting integers for an intset.
    pub fn contains_member(&self, member: Member<'_>) -> bool {
        match (&self.repr, member) {
            (Repr::Ints(ints), Member::Int(n)) => ints.contains(n),
            (Repr::Table(table), Member::Int(n)) => {
                table.contains(itoa::Buffer::new().format(n).as_bytes())
            }
            (_, Member::Bytes(bytes)) => self.contains(bytes),
        }
    }

    /// Every member: ascending for an intset, in bucket order for a hashtable.
    pub fn iter(&self) -> impl Iterator<Item = Member<'_>> + '_ {
        let (ints, table) = match &self.repr {
            Repr::Ints(ints) => (Some(ints.iter().map(Member::Int)), None),
            Repr::Table(table) => (None, Some(table.iter().map(Member::Bytes))),
        };
        ints.into_iter()
            .flatten()
            .chain(table.into_iter().flatten())
    }

    /// A uniformly chosen member.
    pub fn random(&self) -> Option<Member<'_>> {
        match &self.repr {
            Repr::Ints(ints) => {
                if ints.is_empty() {
                    return None;
                }
                ints.get(fastrand::usize(..ints.len())).map(Member::Int)
            }
            Repr::Table(table) => table.random().map(Member::Bytes),
        }
    }

    /// Removes and returns a uniformly chosen member.
    pub fn pop_random(&mut self) -> Option<Vec<u8>> {
        let member = self.random()?.to_vec();
        self.remove(&member);
        Some(member)
    }

    /// `count` distinct members chosen uniformly (all of them when `count` reaches the size).
    pub fn random_distinct(&self, count: usize) -> Vec<Member<'_>> {
        let len = self.len();
        if count >= len {
            return self.iter().collect();
        }
        if count * 3 > len {
            // Most of the set: shuffle a copy of it partially rather than retry collisions.
            let mut all: Vec<Member<'_>> = self.iter().collect();
            for i in 0..count {
                let j = fastrand::usize(i..all.len());
                all.swap(i, j);
            }
            all.truncate(count);
            return all;
        }
        // A small part of the set: draw until `count` distinct members came up, telling them
        // apart by address (intset members by value).
        let mut chosen = HashTable::<u64>::with_capacity(count);
        let mut picked = Vec::with_capacity(count);
        while picked.len() < count {
            let Some(member) = self.random() else {
                break;
            };
            let identity = match member {
                Member::Int(n) => n as u64,
                Member::Bytes(bytes) => bytes.as_ptr() as u64,
            };
            let hash = crate::engine::hash_key(&identity.to_le_bytes());
            if chosen.find(hash, |&seen| seen == identity).is_none() {
                chosen.insert_unique(hash, identity, |&seen| {
                    crate::engine::hash_key(&seen.to_le_bytes())
                });
                picked.push(member);
            }
        }
        picked
    }

    /// Keeps `keep` members chosen at random in a set rebuilt from them (so encoded afresh, as
    /// Redis's SPOP does when it pops most of a set) and returns the others.
    pub fn keep_random(&mut self, keep: usize, max_intset_entries: usize) -> Vec<Vec<u8>> {
        let mut kept = SetValue::default();
        for _ in 0..keep {
            let Some(member) = self.pop_random() else {
                break;
            };
            kept.add(&member, max_intset_entries);
        }
        let popped = self.iter().map(|m| m.to_vec()).collect();
        *self = kept;
        popped
    }

    /// One SSCAN step from `cursor` (see `ChainedTable::scan`): calls `f` on the members visited
    /// and returns the next cursor, 0 at the end. An intset is returned whole in one step, as
    /// Redis does.
    pub fn scan<'s>(&'s self, cursor: u64, count: usize, mut f: impl FnMut(Member<'s>)) -> u64 {
        let table = match &self.repr {
            Repr::Ints(ints) => {
                ints.iter().for_each(|n| f(Member::Int(n)));
                return 0;
            }
            Repr::Table(table) => table,
        };
        table.scan(cursor, count, |member| f(Member::Bytes(member)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(set: &SetValue) -> Vec<Vec<u8>> {
        let mut all: Vec<Vec<u8>> = set.iter().map(|m| m.to_vec()).collect();
        all.sort();
        all
    }

    #[test]
    fn a_small_set_is_small() {
        assert!(std::mem::size_of::<SetValue>() <= 32);
    }

    #[test]
    fn integers_stay_an_intset_up_to_the_limit() {
        let mut set = SetValue::default();
        for n in 0..4 {
            assert!(set.add(n.to_string().as_bytes(), 4));
        }
        assert_eq!(set.encoding(), "intset");
        assert!(!set.add(b"3", 4));
        assert!(set.add(b"4", 4));
        assert_eq!(set.encoding(), "hashtable");
        assert_eq!(set.len(), 5);
        assert!(set.contains(b"4"));
        assert!(set.remove(b"4"));
        assert_eq!(set.encoding(), "hashtable");
    }

    #[test]
    fn non_canonical_integers_convert() {
        for member in [
            &b"01"[..],
            b"+1",
            b"-0",
            b" 1",
            b"1.0",
            b"9223372036854775808",
            b"",
        ] {
            let mut set = SetValue::default();
            set.add(member, 512);
            assert_eq!(set.encoding(), "hashtable", "{member:?}");
            assert!(set.contains(member));
        }
        let mut set = SetValue::default();
        set.add(b"-9223372036854775808", 512);
        assert_eq!(set.encoding(), "intset");
        assert!(!set.contains(b"-09"));
    }

    #[test]
    fn zero_limit_never_keeps_an_intset() {
        let mut set = SetValue::default();
        set.add(b"1", 0);
        assert_eq!(set.encoding(), "hashtable");
    }

    #[test]
    fn members_cross_encodings() {
        let ints = SetValue::from_members([Member::Int(1), Member::Int(2)], 512);
        let table = SetValue::from_members([Member::Bytes(b"1"), Member::Bytes(b"x")], 512);
        assert_eq!(ints.encoding(), "intset");
        assert_eq!(table.encoding(), "hashtable");
        assert!(table.contains_member(Member::Int(1)));
        assert!(!table.contains_member(Member::Int(2)));
        assert!(ints.contains_member(Member::Bytes(b"2")));
        assert!(!ints.contains_member(Member::Bytes(b"x")));
        let from_bytes = SetValue::from_members([Member::Bytes(b"7")], 512);
        assert_eq!(from_bytes.encoding(), "intset");
    }

    #[test]
    fn running_memory_matches_a_recount_and_shrinks() {
        let mut set = SetValue::default();
        for n in 0..2000 {
            set.add(format!("member:{n}").as_bytes(), 512);
            assert_eq!(set.memory(), set.recount_memory());
        }
        let full = set.memory();
        for n in 0..1990 {
            set.remove(format!("member:{n}").as_bytes());
            assert_eq!(set.memory(), set.recount_memory());
        }
        assert!(set.memory() * 20 < full, "{} vs {full}", set.memory());
        assert_eq!(set.clone().memory(), set.memory());
    }

    #[test]
    fn random_choices_are_members() {
        let set = SetValue::from_members((0..100).map(Member::Int), 512);
        for count in [0, 1, 10, 40, 99, 100, 500] {
            let picked = set.random_distinct(count);
            assert_eq!(picked.len(), count.min(100));
            let mut distinct: Vec<_> = picked.iter().map(|m| m.to_vec()).collect();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), picked.len());
        }
        let mut table = SetValue::from_members((0..100).map(Member::Int), 10);
        assert_eq!(table.encoding(), "hashtable");
        let popped = table.keep_random(5, 512);
        assert_eq!(popped.len(), 95);
        assert_eq!(table.len(), 5);
        assert_eq!(table.encoding(), "intset");
    }

    #[test]
    fn scan_returns_every_member_present_throughout() {
        let mut set = SetValue::default();
        for n in 0..300 {
            set.add(format!("m{n}").as_bytes(), 512);
        }
        let mut cursor = 0;
        let mut seen = Vec::new();
        let mut round = 0;
        loop {
            cursor = set.scan(cursor, 7, |m| seen.push(m.to_vec()));
            // Churn between steps: new members force resizes, and removals of the newcomers.
            round += 1;
            for k in 0..20 {
                set.add(format!("new{round}-{k}").as_bytes(), 512);
            }
            for k in 0..15 {
                set.remove(format!("new{round}-{k}").as_bytes());
            }
            if cursor == 0 {
                break;
            }
        }
        for n in 0..300 {
            assert!(seen.contains(&format!("m{n}").into_bytes()), "m{n} missed");
        }
        assert!(!members(&set).is_empty());
    }
}

#[cfg(test)]
mod model;
