//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis 7.0's semantics.
//!
//! - After MULTI, `dispatch` queues every command but EXEC, DISCARD, MULTI, WATCH, QUIT and RESET
//!   (answering `+QUEUED`); a command refused while queueing (unknown, wrong arity, `no_multi`,
//!   out of memory) flags the transaction, and EXEC then discards it with `EXECABORT`.
//! - EXEC runs the queued commands holding the server's exec gate exclusively
//!   (`server::exec_gate`): no other command, expiry cycle or eviction runs in between, whatever
//!   shards the commands touch. Runtime errors are replies inside EXEC's array, as in Redis.
//! - WATCH registers (database, key) in the `WatchRegistry`, a sink of the keyspace notices: any
//!   notice for a watched key marks its watchers dirty (`ClientInfo::dirty_cas`) and their next
//!   EXEC answers a null array. Flushes and SWAPDB dirty a watcher only if the key existed, which a
//!   notice cannot tell, so those commands ask the registry directly (`touch_flushed`,
//!   `touch_swapped`) while they can still see the tables. A key that has logically expired by EXEC
//!   time fails the EXEC too, unless it was already expired when it was watched.

use crate::commands::{AclCategories, CommandFlags};
use crate::sync::LockExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::{CommandSpec, Ctx, SPEC};
use crate::engine::notice::{class, Notice, NoticeSink, Target};
use crate::engine::Table;
use crate::engine::{hash_key, Locked};
use crate::error::{CmdError, CmdResult};
use crate::server::clients::{ClientInfo, ClientState};
use crate::server::Server;

const TX_FLAGS: CommandFlags = flags!(NOSCRIPT, LOADING, STALE, FAST, ALLOW_BUSY);
const TX_ACL: AclCategories = acl!(FAST, TRANSACTION);

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "multi", arity: 1, flags: TX_FLAGS, acl_categories: TX_ACL, group: "transactions", summary: "Mark the start of a transaction block", since: "1.2.0", handler: Some(multi), ..SPEC },
    CommandSpec { name: "exec", arity: 1, flags: flags!(NOSCRIPT, LOADING, STALE, SKIP_SLOWLOG), acl_categories: acl!(SLOW, TRANSACTION), group: "transactions", summary: "Execute all commands issued after MULTI", since: "1.2.0", complexity: "Depends on commands in the transaction", handler: Some(exec), ..SPEC },
    CommandSpec { name: "discard", arity: 1, flags: TX_FLAGS, acl_categories: TX_ACL, group: "transactions", summary: "Discard all commands issued after MULTI", since: "2.0.0", complexity: "O(N), when N is the number of queued commands", handler: Some(discard), ..SPEC },
    CommandSpec { name: "watch", arity: -2, flags: TX_FLAGS, acl_categories: TX_ACL, first_key: 1, last_key: -1, key_step: 1, group: "transactions", summary: "Watch the given keys to determine execution of the MULTI/EXEC block", since: "2.2.0", complexity: "O(1) for every key.", handler: Some(watch), ..SPEC },
    CommandSpec { name: "unwatch", arity: 1, flags: TX_FLAGS, acl_categories: TX_ACL, group: "transactions", summary: "Forget about all watched keys", since: "2.2.0", handler: Some(unwatch), ..SPEC },
];

const EXEC_INDEX: usize = 1;

/// One command waiting for EXEC.
struct Queued {
    parent: Option<&'static CommandSpec>,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
}

/// What MULTI started: the queue, and whether queueing failed somewhere (Redis's
/// `CLIENT_DIRTY_EXEC`).
#[derive(Default)]
pub struct Transaction {
    queued: Vec<Queued>,
    aborted: bool,
    /// Some queued command may grow memory: EXEC is refused while over `maxmemory`.
    denyoom: bool,
    /// Bytes of the queued arguments.
    arg_bytes: usize,
}

pub fn is_exec(spec: &CommandSpec) -> bool {
    std::ptr::eq(spec, &COMMANDS[EXEC_INDEX])
}

/// Commands that run at once even inside MULTI (Redis's list in `processCommand`).
fn runs_in_multi(spec: &CommandSpec) -> bool {
    matches!(
        spec.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// The commands a client in MULTI may still run while over `maxmemory`: Redis refuses everything
/// else then, since queueing grows memory without bound.
fn allowed_when_oom_in_multi(spec: &CommandSpec) -> bool {
    matches!(spec.name, "exec" | "discard" | "quit" | "reset")
}

/// Whether `dispatch` must queue this command instead of running it.
pub fn queues(client: &ClientState, spec: &CommandSpec) -> bool {
    client.multi.is_some() && !runs_in_multi(spec)
}

/// Whether a command that may not grow memory must still be refused while over the limit.
pub fn refused_when_oom(client: &ClientState, spec: &CommandSpec) -> bool {
    client.multi.is_some() && !allowed_when_oom_in_multi(spec)
}

/// A command was refused before it could be queued: the transaction can no longer succeed.
pub fn flag_error(client: &mut ClientState) {
    if let Some(tx) = client.multi.as_mut() {
        tx.aborted = true;
    }
}

/// A request refused before it ran (arity, authentication, subscribed context): an EXEC so
/// refused discards the transaction and answers `EXECABORT` with the reason, as Redis's
/// `rejectCommand` (even outside MULTI); anything else keeps its error.
pub fn rejected(ctx: &mut Ctx<'_>, args: &[Bytes], err: CmdError) -> CmdError {
    let name = args.first().map_or(&b""[..], |a| &a[..]);
    if !super::lookup(name).is_some_and(is_exec) {
        return err;
    }
    discard_transaction(ctx.server, ctx.client);
    CmdError::ExecRejected(Box::new(err))
}

/// Queues a resolved command and answers `+QUEUED`, or refuses it (flagging the transaction).
pub fn queue(
    ctx: &mut Ctx<'_>,
    parent: Option<&'static CommandSpec>,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> CmdResult {
    if spec.has_flag(CommandFlags::NO_MULTI)
        || parent.is_some_and(|p| p.has_flag(CommandFlags::NO_MULTI))
    {
        flag_error(ctx.client);
        return Err(CmdError::NotAllowedInMulti);
    }
    let Some(tx) = ctx.client.multi.as_mut() else {
        return Ok(());
    };
    tx.denyoom |= spec.has_flag(CommandFlags::DENYOOM);
    tx.arg_bytes += args.iter().map(Bytes::len).sum::<usize>();
    tx.queued.push(Queued {
        parent,
        spec,
        args: args.to_vec(),
    });
    publish_multi_state(ctx.client);
    ctx.out.simple("QUEUED");
    Ok(())
}

/// CLIENT LIST's `multi=` and `multi-mem=` (Redis's `multiStateMemOverhead`, approximately).
fn publish_multi_state(client: &ClientState) {
    let (queued, mem) = match &client.multi {
        Some(tx) => (
            tx.queued.len() as i64,
            tx.arg_bytes + tx.queued.capacity() * std::mem::size_of::<Queued>(),
        ),
        None => (-1, 0),
    };
    const WATCHED_KEY_OVERHEAD: usize = 48;
    let mem = mem + client.watched.len() * WATCHED_KEY_OVERHEAD;
    client.info.multi_queued.store(queued, Ordering::Relaxed);
    client.info.multi_mem.store(mem, Ordering::Relaxed);
}

fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::NestedMulti);
    }
    ctx.client.multi = Some(Transaction::default());
    publish_multi_state(ctx.client);
    ctx.out.ok();
    Ok(())
}

/// Ends the transaction and forgets the watches (Redis's `discardTransaction`).
fn discard_transaction(server: &Server, client: &mut ClientState) {
    client.multi = None;
    unwatch_all(server, client);
    client.info.dirty_cas.store(false, Ordering::Relaxed);
    publish_multi_state(client);
}

fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::DiscardWithoutMulti);
    }
    discard_transaction(ctx.server, ctx.client);
    ctx.out.ok();
    Ok(())
}

/// RESET and connection close: no transaction, no watch left behind.
pub fn reset_client(server: &Server, client: &mut ClientState) {
    discard_transaction(server, client);
}

/// Called by `dispatch` without the shared side of the exec gate: it takes the exclusive side.
pub fn exec(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let Some(tx) = ctx.client.multi.take() else {
        return Err(CmdError::ExecWithoutMulti);
    };
    let server = ctx.server;
    let _exclusive = server.exec_gate.exclusive();
    // Redis refuses EXEC itself over the limit when something queued may grow memory.
    if !super::make_room_for(ctx, tx.denyoom) {
        discard_transaction(server, ctx.client);
        return Err(CmdError::ExecAbortedOutOfMemory);
    }
    if watched_key_expired(server, ctx.client, ctx.now_ms) {
        ctx.client.info.dirty_cas.store(true, Ordering::Relaxed);
    }
    if tx.aborted {
        discard_transaction(server, ctx.client);
        return Err(CmdError::ExecAborted);
    }
    if ctx.client.info.dirty_cas.load(Ordering::Relaxed) {
        discard_transaction(server, ctx.client);
        ctx.out.null_array();
        return Ok(());
    }
    unwatch_all(server, ctx.client);
    ctx.client.in_exec = true;
    ctx.out.array(tx.queued.len());
    for queued in &tx.queued {
        if let Err(err) = super::execute(ctx, queued.parent, queued.spec, &queued.args) {
            ctx.out.error_bytes(&err.message_bytes());
        }
    }
    ctx.client.in_exec = false;
    discard_transaction(server, ctx.client);
    Ok(())
}

fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::WatchInMulti);
    }
    // No point in watching once dirty: the next EXEC fails anyway.
    if !ctx.client.info.dirty_cas.load(Ordering::Relaxed) {
        let db = ctx.client.db;
        for key in &args[1..] {
            let already = ctx
                .client
                .watched
                .iter()
                .any(|(d, k)| *d == db && k[..] == key[..]);
            if already {
                continue;
            }
            let registry = &ctx.server.watches;
            let info = &ctx.client.info;
            // Registered under the key's shard lock: a write to the key either happened before
            // (and is what we watch from) or will see the registration and dirty us.
            ctx.server
                .keyspace
                .with_key(db, key, ctx.now_ms, |view, hash| {
                    let expired = view
                        .table
                        .map
                        .find(hash, |e| e.key() == &key[..])
                        .is_some_and(|e| e.is_expired(view.now_ms));
                    registry.add(db, key.clone(), info, expired);
                });
            ctx.client.watched.push((db, key.clone()));
        }
        publish_multi_state(ctx.client);
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.server, ctx.client);
    ctx.client.info.dirty_cas.store(false, Ordering::Relaxed);
    publish_multi_state(ctx.client);
    ctx.out.ok();
    Ok(())
}

fn unwatch_all(server: &Server, client: &mut ClientState) {
    if client.watched.is_empty() {
        return;
    }
    let watched = std::mem::take(&mut client.watched);
    server.watches.remove_client(client.id, &watched);
}

/// Redis's `isWatchedKeyExpired`: a watched key that is still in the table but whose time has
/// passed (nobody has deleted it yet) fails the EXEC, unless it was already expired at WATCH.
fn watched_key_expired(server: &Server, client: &ClientState, now_ms: u64) -> bool {
    client.watched.iter().any(|(db, key)| {
        !server.watches.was_expired_at_watch(client.id, *db, key)
            && server.keyspace.with_key(*db, key, now_ms, |view, hash| {
                view.table
                    .map
                    .find(hash, |e| e.key() == &key[..])
                    .is_some_and(|e| e.is_expired(now_ms))
            })
    })
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

    fn add(&self, db: usize, key: Bytes, client: &Arc<ClientInfo>, expired_at_watch: bool) {
        let mut keys = self.lock();
        keys.entry(key).or_default().push(Watcher {
            db,
            client: client.clone(),
            expired_at_watch,
        });
        self.watches.fetch_add(1, Ordering::Relaxed);
    }

    fn remove_client(&self, id: u64, watched: &[(usize, Bytes)]) {
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
    fn was_expired_at_watch(&self, id: u64, db: usize, key: &[u8]) -> bool {
        self.lock().get(key).is_some_and(|watchers| {
            watchers
                .iter()
                .any(|w| w.db == db && w.client.id == id && w.expired_at_watch)
        })
    }

    /// Redis's `touchWatchedKey`.
    fn touch(&self, db: usize, key: &[u8], class_bits: u16) {
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

    fn is_idle(&self) -> bool {
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
    use crate::server::clients::ClientRegistry;

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
    fn exec_is_found_by_pointer() {
        assert!(super::super::lookup(b"EXEC").is_some_and(is_exec));
        assert!(!super::super::lookup(b"MULTI").is_some_and(is_exec));
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
