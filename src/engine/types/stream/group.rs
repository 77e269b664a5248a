//! Consumer groups (Redis's `streamCG`, `streamConsumer`, `streamNACK`): the group's last
//! delivered ID and read counter, its pending entries list (PEL: ID → last delivery time, delivery
//! count, owner), and its consumers, each with its own PEL of IDs. A pending entry names its owner
//! by an `Arc<[u8]>` shared with the consumers map, so the name is stored once.
//!
//! Every change that can alter the memory held goes through a method here that keeps
//! `consumer_bytes` (consumer names and consumer PELs) exact, so `memory()` is O(1).

use std::sync::Arc;

use super::id::StreamId;
use super::sorted::SortedMap;
use crate::engine::memory::alloc_size;

/// An `Arc<[u8]>` allocation holds the strong and weak counts before the bytes.
const ARC_HEADER: usize = 2 * std::mem::size_of::<usize>();

/// `entries_read` when it is not known (Redis's `SCG_INVALID_ENTRIES_READ`).
pub const ENTRIES_READ_UNKNOWN: i64 = -1;

#[derive(Debug, Clone)]
pub struct Nack {
    /// Unix milliseconds of the last delivery.
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Arc<[u8]>,
}

#[derive(Debug, Default)]
pub struct Consumer {
    /// Unix milliseconds it was last seen (read or claimed).
    pub seen_time: i64,
    pub pel: SortedMap<StreamId, ()>,
}

#[derive(Debug)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: SortedMap<StreamId, Nack>,
    pub consumers: SortedMap<Arc<[u8]>, Consumer>,
    consumer_bytes: usize,
}

fn name_bytes(name: &[u8]) -> usize {
    alloc_size(ARC_HEADER + name.len())
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: SortedMap::new(),
            consumers: SortedMap::new(),
            consumer_bytes: 0,
        }
    }

    /// Bytes held besides the struct itself.
    pub fn memory(&self) -> usize {
        self.pel.heap() + self.consumers.heap() + self.consumer_bytes
    }

    pub fn consumer(&self, name: &[u8]) -> Option<&Consumer> {
        self.consumers.get(name)
    }

    /// Looks a consumer up, refreshing its seen time when `now` is given (Redis's
    /// `streamLookupConsumer` without `SLC_NO_REFRESH`). Returns its shared name.
    pub fn lookup_consumer(&mut self, name: &[u8], now: Option<i64>) -> Option<Arc<[u8]>> {
        let pos = self.consumers.seek_ge(name)?;
        if &**self.consumers.at(pos).0 != name {
            return None;
        }
        let shared = self.consumers.at(pos).0.clone();
        if let Some(now) = now {
            self.consumers.at_mut(pos).seen_time = now;
        }
        Some(shared)
    }

    /// Creates a consumer; `None` if it exists.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> Option<Arc<[u8]>> {
        if self.consumers.contains(name) {
            return None;
        }
        let shared: Arc<[u8]> = Arc::from(name);
        self.consumers.insert(
            shared.clone(),
            Consumer {
                seen_time: now,
                pel: SortedMap::new(),
            },
        );
        self.consumer_bytes += name_bytes(name);
        Some(shared)
    }

    /// The consumer, created if needed: (its name, whether it was created).
    pub fn lookup_or_create(&mut self, name: &[u8], now: i64) -> (Arc<[u8]>, bool) {
        match self.lookup_consumer(name, Some(now)) {
            Some(shared) => (shared, false),
            None => {
                let shared = self
                    .create_consumer(name, now)
                    .unwrap_or_else(|| name.into());
                (shared, true)
            }
        }
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        let pending = consumer.pel.len();
        for (id, ()) in consumer.pel.iter() {
            self.pel.remove(id);
        }
        self.consumer_bytes -= name_bytes(name) + consumer.pel.heap();
        Some(pending)
    }

    fn consumer_pel(&mut self, name: &[u8], f: impl FnOnce(&mut SortedMap<StreamId, ()>)) {
        if let Some(consumer) = self.consumers.get_mut(name) {
            let before = consumer.pel.heap();
            f(&mut consumer.pel);
            self.consumer_bytes = self.consumer_bytes + consumer.pel.heap() - before;
        }
    }

    /// Records the delivery of `id` to `consumer` (Redis's PEL update in `streamReplyWithRange`):
    /// a new pending entry, or one taken over from its previous owner with its count reset.
    pub fn deliver(&mut self, id: StreamId, consumer: &Arc<[u8]>, now: i64) {
        let previous = self.pel.get_mut(&id).map(|nack| {
            let old = std::mem::replace(&mut nack.consumer, consumer.clone());
            nack.delivery_time = now;
            nack.delivery_count = 1;
            old
        });
        match previous {
            Some(old) => self.consumer_pel(&old, |pel| {
                pel.remove(&id);
            }),
            None => {
                self.pel.insert(
                    id,
                    Nack {
                        delivery_time: now,
                        delivery_count: 1,
                        consumer: consumer.clone(),
                    },
                );
            }
        }
        self.consumer_pel(consumer, |pel| {
            pel.insert(id, ());
        });
    }

    /// XACK of one ID: whether it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(nack) = self.pel.remove(&id) else {
            return false;
        };
        self.consumer_pel(&nack.consumer, |pel| {
            pel.remove(&id);
        });
        true
    }

    /// Gives a pending entry (or a new one, for XCLAIM FORCE) to `consumer`, with its delivery
    /// time and count as `update` sets them.
    pub fn claim(&mut self, id: StreamId, consumer: &Arc<[u8]>, update: impl FnOnce(&mut Nack)) {
        let old = match self.pel.get_mut(&id) {
            Some(nack) => {
                let old = std::mem::replace(&mut nack.consumer, consumer.clone());
                update(nack);
                Some(old)
            }
            None => {
                let mut nack = Nack {
                    delivery_time: 0,
                    delivery_count: 1,
                    consumer: consumer.clone(),
                };
                update(&mut nack);
                self.pel.insert(id, nack);
                None
            }
        };
        match old {
            Some(old) if Arc::ptr_eq(&old, consumer) || *old == **consumer => return,
            Some(old) => self.consumer_pel(&old, |pel| {
                pel.remove(&id);
            }),
            None => {}
        }
        self.consumer_pel(consumer, |pel| {
            pel.insert(id, ());
        });
    }

    /// A history read's update of one entry it returned (`delivery_time`, `delivery_count`).
    pub fn redeliver(&mut self, id: StreamId, now: i64) {
        if let Some(nack) = self.pel.get_mut(&id) {
            nack.delivery_time = now;
            nack.delivery_count = nack.delivery_count.wrapping_add(1);
        }
    }

    /// Forgets a pending entry whose stream entry is gone (XCLAIM, XAUTOCLAIM).
    pub fn drop_pending(&mut self, id: StreamId) {
        self.ack(id);
    }

    /// A deep copy (COPY): names allocated anew and shared again within the copy.
    pub fn deep_clone(&self) -> Group {
        let consumers = self.consumers.clone_with(|name, consumer| {
            let copy: Arc<[u8]> = Arc::from(&**name);
            let pel = consumer.pel.clone_with(|id, ()| (*id, ()));
            (
                copy,
                Consumer {
                    seen_time: consumer.seen_time,
                    pel,
                },
            )
        });
        let pel = self.pel.clone_with(|id, nack| {
            let owner = consumers
                .seek_ge(&*nack.consumer)
                .map(|p| consumers.at(p).0.clone())
                .filter(|name| **name == *nack.consumer)
                .unwrap_or_else(|| nack.consumer.clone());
            (
                *id,
                Nack {
                    delivery_time: nack.delivery_time,
                    delivery_count: nack.delivery_count,
                    consumer: owner,
                },
            )
        });
        let consumer_bytes = consumers
            .iter()
            .map(|(name, c)| name_bytes(name) + c.pel.heap())
            .sum();
        Group {
            last_id: self.last_id,
            entries_read: self.entries_read,
            pel,
            consumers,
            consumer_bytes,
        }
    }

    /// `consumer_bytes` recomputed (tests).
    #[cfg(test)]
    pub fn recount(&self) -> usize {
        self.pel.recount()
            + self.consumers.recount()
            + self
                .consumers
                .iter()
                .map(|(name, c)| name_bytes(name) + c.pel.recount())
                .sum::<usize>()
    }
}
