//! Transactions' and WATCH's state (the commands are in `commands::multi`): the queue MULTI
//! starts, and the registry of watched keys, a sink of the keyspace notices. Flushes and SWAPDB
//! dirty a watcher only if the key existed, which a notice cannot tell, so those commands ask the
//! registry directly (`touch_flushed`, `touch_swapped`) while they can still see the tables.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::engine::notice::{class, Notice, NoticeSink, Target};
use crate::engine::{hash_key, Locked, Table};
use crate::state::clients::ClientInfo;
use crate::state::command::CommandSpec;
use crate::state::Server;
use crate::sync::LockExt;

/// One command waiting for EXEC.
pub struct Queued {
    pub parent: Option<&'static CommandSpec>,
    pub spec: &'static CommandSpec,
    pub args: Vec<Bytes>,
}

/// What MULTI started: the queue, and whether queueing failed somewhere (Redis's
/// `CLIENT_DIRTY_EXEC`).
#[derive(Default)]
pub struct Transaction {
    pub queued: Vec<Queued>,
    pub aborted: bool,
    /// Some queued command may grow memory: EXEC is refused while over `maxmemory`.
    pub denyoom: bool,
    /// Bytes of the queued arguments.
    pub arg_bytes: usize,
}

/// One client watching one key.
struct Watcher {
    db: usize,
    client: Arc<ClientInfo>,
    /// The key had logically expired (but was still stored) when WATCH ran: its deletion is no
    /// change (Redis's `watchedKey.expired`).
    expired_at_watch: bool,
}

/// Who watches which key. A sink of the keyspace notices.
#[derive(Default)]
pub struct WatchRegistry {
    /// (client, key) pairs registered: zero makes every notice cost one load.
    watches: AtomicUsize,
    keys: Mutex<HashMap<Bytes, Vec<Watcher>>>,
}

impl WatchRegistry {
    fn lock(&self) -> MutexGuard<'_, HashMap<Bytes, Vec<Watcher>>> {
        self.keys.lock_or_recover()
    }

    pub fn add(&self, db: usize, key: Bytes, client: &Arc<ClientInfo>, expired_at_watch: bool) {
        let mut keys = self.lock();
        keys.entry(key).or_default().push(Watcher {
            db,
            client: client.clone(),
            expired_at_watch,
        });
        self.watches.fetch_add(1, Ordering::Relaxed);
    }

    pub fn remove_client(&self, id: u64, watched: &[(usize, Bytes)]) {
        let mut keys = self.lock();
        for (db, key) in watched {
            let Some(watchers) = keys.get_mut(&key[..]) else {
                continue;
            };
            let before = watchers.len();
            watchers.retain(|w| !(w.db == *db && w.client.id == id));
            self.watches
                .fetch_sub(before - watchers.len(), Ordering::Relaxed);
            if watchers.is_empty() {
                keys.remove(&key[..]);
            }
        }
    }

    /// Whether `client` had `key` expired at WATCH time (EXEC's expiry check skips those).
    pub fn was_expired_at_watch(&self, id: u64, db: usize, key: &[u8]) -> bool {
        self.lock().get(key).is_some_and(|watchers| {
            watchers
                .iter()
                .any(|w| w.db == db && w.client.id == id && w.expired_at_watch)
        })
    }

    /// Redis's `touchWatchedKey`.
    pub fn touch(&self, db: usize, key: &[u8], class_bits: u16) {
        let mut keys = self.lock();
        let Some(watchers) = keys.get_mut(key) else {
            return;
        };
        let deleted = class_bits & (class::EXPIRED | class::EVICTED) != 0;
        for watcher in watchers.iter_mut().filter(|w| w.db == db) {
            if watcher.expired_at_watch && deleted {
                // The already expired key is gone now: logically no change.
                watcher.expired_at_watch = false;
                continue;
            }
            watcher.client.dirty_cas.store(true, Ordering::Relaxed);
        }
    }

    pub fn is_idle(&self) -> bool {
        self.watches.load(Ordering::Relaxed) == 0
    }
}

impl NoticeSink for WatchRegistry {
    fn notice(&self, notice: &Notice<'_>) {
        if self.is_idle() {
            return;
        }
        // Whole-database notices are handled by `touch_flushed` / `touch_swapped`, which can still
        // see whether each watched key existed.
        if let Target::Key(key) = notice.target {
            self.touch(notice.db, key, notice.class);
        }
    }
}

/// FLUSHDB (`db`) or FLUSHALL (`None`): dirties the watchers of keys that existed in the emptied
/// tables, as Redis's `touchAllWatchedKeysInDb(db, NULL)`. `taken` is what
/// `Keyspace::take_tables` returned: for each shard in order, one table per flushed database.
/// Runs before the flushing command releases the exec gate, so no EXEC can slip in between.
pub fn touch_flushed(server: &Server, db: Option<usize>, taken: &[Table]) {
    let registry = &server.watches;
    if registry.is_idle() {
        return;
    }
    let keyspace = &server.keyspace;
    let per_shard = if db.is_some() {
        1
    } else {
        keyspace.databases()
    };
    let layout_known = taken.len() == keyspace.shard_count() * per_shard;
    let mut keys = registry.lock();
    for (key, watchers) in keys.iter_mut() {
        let hash = hash_key(key);
        let shard = keyspace.shard_of_hash(hash);
        for watcher in watchers.iter_mut() {
            let index = match db {
                Some(flushed) if flushed != watcher.db => continue,
                Some(_) => shard,
                None => shard * per_shard + watcher.db,
            };
            let existed = !layout_known
                || taken
                    .get(index)
                    .is_some_and(|t| t.map.find(hash, |e| e.key() == &key[..]).is_some());
            if !existed {
                continue;
            }
            if watcher.expired_at_watch {
                watcher.expired_at_watch = false;
                continue;
            }
            watcher.client.dirty_cas.store(true, Ordering::Relaxed);
        }
    }
}

/// SWAPDB `a` `b`, called with every shard locked and before the swap: Redis's
/// `touchAllWatchedKeysInDb(a, b)` and `(b, a)`: a watcher is dirtied when its key exists in either
/// database, except where the key is (and stays) logically expired.
pub fn touch_swapped(server: &Server, locked: &mut Locked<'_>, a: usize, b: usize, now_ms: u64) {
    let registry = &server.watches;
    if registry.is_idle() {
        return;
    }
    // (exists, logically expired) without the lazy expiry a normal lookup would do.
    let mut probe = |db: usize, key: &[u8]| -> (bool, bool) {
        locked
            .view(db, key, now_ms)
            .and_then(|(view, hash)| {
                view.table
                    .map
                    .find(hash, |e| e.key() == key)
                    .map(|e| (true, e.is_expired(now_ms)))
            })
            .unwrap_or((false, false))
    };
    let mut keys = registry.lock();
    for (key, watchers) in keys.iter_mut() {
        for watcher in watchers.iter_mut() {
            let replaced_with = if watcher.db == a {
                b
            } else if watcher.db == b {
                a
            } else {
                continue;
            };
            let (in_emptied, _) = probe(watcher.db, key);
            let (in_replacement, replacement_expired) = probe(replaced_with, key);
            if !in_emptied && !in_replacement {
                continue;
            }
            if watcher.expired_at_watch {
                if !in_replacement {
                    watcher.expired_at_watch = false;
                    continue;
                }
                if replacement_expired {
                    continue;
                }
            } else if !in_emptied && replacement_expired {
                watcher.expired_at_watch = true;
                continue;
            }
            watcher.client.dirty_cas.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::clients::ClientRegistry;

    fn client(registry: &ClientRegistry) -> Arc<ClientInfo> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 1));
        registry
            .register(addr, addr, 10)
            .expect("room for a client")
    }

    fn key_notice<'k>(db: usize, key: &'k [u8], class: u16, event: &'static str) -> Notice<'k> {
        Notice {
            db,
            target: Target::Key(key),
            class,
            event,
        }
    }

    #[test]
    fn notices_dirty_the_watchers_of_that_key_in_that_database_only() {
        let clients = ClientRegistry::default();
        let (a, b) = (client(&clients), client(&clients));
        let watches = WatchRegistry::default();
        assert!(watches.is_idle());
        watches.add(0, Bytes::from_static(b"k"), &a, false);
        watches.add(1, Bytes::from_static(b"k"), &b, false);
        watches.notice(&key_notice(0, b"other", class::STRING, "set"));
        watches.notice(&key_notice(2, b"k", class::STRING, "set"));
        assert!(!a.dirty_cas.load(Ordering::Relaxed));
        watches.notice(&key_notice(0, b"k", class::STRING, "set"));
        assert!(a.dirty_cas.load(Ordering::Relaxed));
        assert!(!b.dirty_cas.load(Ordering::Relaxed));
        // Whole-database notices are left to touch_flushed / touch_swapped.
        watches.notice(&Notice {
            db: 1,
            target: Target::Db,
            class: class::GENERIC,
            event: "flushdb",
        });
        assert!(!b.dirty_cas.load(Ordering::Relaxed));
    }

    #[test]
    fn the_deletion_of_a_key_expired_at_watch_is_no_change() {
        let clients = ClientRegistry::default();
        let a = client(&clients);
        let watches = WatchRegistry::default();
        watches.add(0, Bytes::from_static(b"k"), &a, true);
        assert!(watches.was_expired_at_watch(a.id, 0, b"k"));
        watches.notice(&key_notice(0, b"k", class::EXPIRED, "expired"));
        assert!(!a.dirty_cas.load(Ordering::Relaxed));
        assert!(!watches.was_expired_at_watch(a.id, 0, b"k"));
        watches.notice(&key_notice(0, b"k", class::STRING, "set"));
        assert!(a.dirty_cas.load(Ordering::Relaxed));
    }

    #[test]
    fn removing_a_client_leaves_the_registry_idle() {
        let clients = ClientRegistry::default();
        let (a, b) = (client(&clients), client(&clients));
        let watches = WatchRegistry::default();
        let keys = [(0, Bytes::from_static(b"x")), (0, Bytes::from_static(b"y"))];
        for (db, key) in &keys {
            watches.add(*db, key.clone(), &a, false);
            watches.add(*db, key.clone(), &b, false);
        }
        watches.remove_client(a.id, &keys);
        assert!(!watches.is_idle());
        watches.remove_client(b.id, &keys);
        assert!(watches.is_idle());
        assert!(watches.lock().is_empty());
        // Removing again (a client dirtied then UNWATCHed) is harmless.
        watches.remove_client(b.id, &keys);
        assert!(watches.is_idle());
    }
}
