//! The keys of each hash slot, so that CLUSTER COUNTKEYSINSLOT and GETKEYSINSLOT (asked slot
//! by slot by every resharding tool) cost O(keys in the slot), not a walk of the keyspace (~1 s
//! at 1M keys). Redis keeps the same index in cluster mode (a per-slot list of its dict
//! entries); here it is a keyspace-notice sink, installed only when cluster mode is on, so a
//! plain daemon's write path does not pay for it.
//!
//! The index holds every key of db 0 (the only database in cluster mode) that exists, and may
//! hold some that no longer do: a notice naming a key adds it (every write names its key), a
//! removal notice (`del`, `expired`, `evicted`, `rename_from`, `move_from`) takes it out, a
//! flush empties it. A key made stale by a tag or pattern invalidation stays listed until the
//! sweeper deletes it (with its `del`) or a count looks at it: counting and listing check each
//! listed key in its shard, under the shard's lock, and drop the ones that are gone, so the
//! answer is exact even if a removal was never announced key by key. Notices run with the key's
//! shard locked, and the check holds that lock too, so a key written again between a removal
//! and its notice cannot be dropped by mistake.
//!
//! Cost: one copy of each key (its bytes plus ~40 bytes of set overhead) and one slot lock per
//! write in cluster mode; the 16384 empty sets take ~1 MB. A snapshot or RDB load inserts
//! without notices, so the index is rebuilt by one walk after it (`rebuild`).

use std::collections::HashSet;
use std::sync::Mutex;

use crate::engine::notice::{class, Notice, NoticeSink, Target};
use crate::engine::Keyspace;
use crate::state::cluster::{key_slot, SLOTS};
use crate::sync::LockExt;

type KeySet = HashSet<Box<[u8]>, foldhash::fast::RandomState>;

pub struct SlotKeys {
    slots: Box<[Mutex<KeySet>]>,
}

impl Default for SlotKeys {
    fn default() -> Self {
        SlotKeys {
            slots: (0..SLOTS).map(|_| Mutex::new(KeySet::default())).collect(),
        }
    }
}

/// Events after which the key named is gone from db 0.
fn removes(event: &str) -> bool {
    matches!(
        event,
        "del" | "expired" | "evicted" | "rename_from" | "move_from"
    )
}

impl SlotKeys {
    fn set(&self, key: &[u8]) -> &Mutex<KeySet> {
        &self.slots[key_slot(key) as usize]
    }

    /// Every key of db 0, walked anew (after a load, which inserts without notices). Called
    /// before the server accepts clients.
    pub fn rebuild(&self, keyspace: &Keyspace, now_ms: u64) {
        for slot in self.slots.iter() {
            slot.lock_or_recover().clear();
        }
        keyspace.for_each_shard(|_, shard| {
            let view = keyspace.view(shard, 0, now_ms);
            view.walk(0, usize::MAX, |entry| {
                let key = entry.key();
                self.set(key).lock_or_recover().insert(key.into());
            });
        });
    }

    /// The keys listed for `slot`, each checked in its shard: those still there, up to `limit`
    /// (all of them for a count). Listed keys found gone are dropped from the index.
    pub fn live(
        &self,
        keyspace: &Keyspace,
        slot: u16,
        limit: usize,
        now_ms: u64,
    ) -> Vec<Box<[u8]>> {
        let listed: Vec<Box<[u8]>> = self.slots[slot as usize]
            .lock_or_recover()
            .iter()
            .cloned()
            .collect();
        let mut live = Vec::with_capacity(listed.len().min(limit));
        for key in listed {
            if live.len() >= limit {
                break;
            }
            // The slot's lock is not held here: a lookup may expire the key, whose notice
            // comes back to this index.
            let present = keyspace.with_key(0, &key, now_ms, |shard, hash| {
                let present = shard.contains(hash, &key);
                if !present {
                    self.slots[slot as usize].lock_or_recover().remove(&key);
                }
                present
            });
            if present {
                live.push(key);
            }
        }
        live
    }

    pub fn count(&self, keyspace: &Keyspace, slot: u16, now_ms: u64) -> usize {
        self.live(keyspace, slot, usize::MAX, now_ms).len()
    }
}

impl NoticeSink for SlotKeys {
    fn notice(&self, notice: &Notice<'_>) {
        match notice.target {
            // Cluster mode has db 0 only; FLUSHALL empties it too.
            Target::All => {
                for slot in self.slots.iter() {
                    slot.lock_or_recover().clear();
                }
            }
            Target::Db if notice.db == 0 => {
                for slot in self.slots.iter() {
                    slot.lock_or_recover().clear();
                }
            }
            Target::Key(key) if notice.db == 0 => {
                if removes(notice.event) {
                    self.set(key).lock_or_recover().remove(key);
                } else if notice.class & class::KEY_MISS == 0 {
                    let mut set = self.set(key).lock_or_recover();
                    if !set.contains(key) {
                        set.insert(key.into());
                    }
                }
            }
            Target::Db | Target::Key(_) | Target::Tag(_) | Target::Pattern(_) => {}
        }
    }
}
