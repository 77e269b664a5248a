//! Hash field expiration (Redis 7.4's HEXPIRE family): the fields of one hash that carry a TTL,
//! kept beside the `hashtable` encoding (a hash given a field TTL leaves the listpack, see
//! `HashValue::set_field_expire_at`). Field → Unix time in ms, and a lower bound of those times,
//! so that "is any field due" is O(1) on every access of a hash; the bound is only raised when
//! the fields are walked (reaping), so a stale bound costs one walk that finds nothing.

use std::collections::HashMap;

use crate::engine::memory::alloc_size;

#[derive(Debug, Clone, Default)]
pub struct FieldTtls {
    at: HashMap<Box<[u8]>, u64>,
    /// Bytes of the field names copied as keys.
    field_bytes: usize,
    /// No field expires before this.
    min: u64,
}

impl FieldTtls {
    /// Bytes held, counted from the map's capacity and the copied names: O(1).
    pub fn memory(&self) -> usize {
        let slot = std::mem::size_of::<(Box<[u8]>, u64)>() + 1;
        alloc_size(std::mem::size_of::<FieldTtls>())
            + alloc_size(self.at.capacity() * slot)
            + self.field_bytes
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    pub fn get(&self, field: &[u8]) -> Option<u64> {
        self.at.get(field).copied()
    }

    pub fn set(&mut self, field: &[u8], at: u64) {
        if self.at.is_empty() || at < self.min {
            self.min = at;
        }
        match self.at.get_mut(field) {
            Some(slot) => *slot = at,
            None => {
                self.field_bytes += alloc_size(field.len());
                self.at.insert(field.into(), at);
            }
        }
    }

    /// Drops `field`'s TTL; true when it had one.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let removed = self.at.remove(field).is_some();
        if removed {
            self.field_bytes -= alloc_size(field.len());
        }
        removed
    }

    /// Whether a field may have expired at `now` (a field expires once its time is before now).
    pub fn due(&self, now: u64) -> bool {
        !self.at.is_empty() && self.min < now
    }

    /// Up to `limit` fields whose time is before `now`; the bound is recomputed when all were
    /// found.
    pub fn expired(&mut self, now: u64, limit: usize) -> Vec<Box<[u8]>> {
        let mut found = Vec::new();
        let mut min = u64::MAX;
        let mut complete = true;
        for (field, &at) in &self.at {
            if at < now {
                if found.len() == limit {
                    complete = false;
                    break;
                }
                found.push(field.clone());
            } else {
                min = min.min(at);
            }
        }
        if complete {
            self.min = min;
        }
        found
    }

    /// What `memory()` should say, counted from the fields (tests).
    #[cfg(test)]
    pub fn recount(&self) -> usize {
        let slot = std::mem::size_of::<(Box<[u8]>, u64)>() + 1;
        alloc_size(std::mem::size_of::<FieldTtls>())
            + alloc_size(self.at.capacity() * slot)
            + self.at.keys().map(|f| alloc_size(f.len())).sum::<usize>()
    }
}
