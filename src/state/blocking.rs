//! Clients blocked on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX,
//! BZMPOP): a registry of (db, key) → FIFO of waiting clients, and the serving of those clients
//! once a key they wait on may have something for them, as Redis's `blocked.c`.
//!
//! ## API for a blocking command
//! A blocking command provides a [`ServeFn`]: given a context for the *waiting* client (its db,
//! its protocol, a fresh reply buffer) and one of its keys, it tries to do the non-blocking work
//! (pop and reply) and says whether it could ([`Serve`]). The handler then calls [`block_on`]:
//! ```ignore
//! fn bzpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
//!     let timeout = args::timeout(&args[args.len() - 1])?;
//!     let keys = &args[1..args.len() - 1];
//!     blocking::block_on(ctx, keys, args, timeout, serve_zpopmin, ServeOrder::AnyKey)
//! }
//! ```
//! `block_on` first tries every key in order (as the non-blocking form would: `Serve::WrongType`
//! becomes the WRONGTYPE error, an `Err` is replied as is); inside EXEC (`ctx.client.in_exec`) it
//! then answers the null array at once. Otherwise it registers the client on every key and sets
//! `ctx.client.blocked`; the connection writes what it has, then awaits the reply (or the timeout,
//! CLIENT UNBLOCK, or the socket closing, which removes the registration and leaves no trace).
//! Replies to a timeout are the null array (`*-1`, `_` in RESP3), as Redis's for every blocked
//! list and sorted-set command.
//!
//! ## Wake-ups
//! The registry is a keyspace-notice sink: while any client waits, every notice about a key
//! (push, rename, move, swapdb...) records (db, key) in a per-thread ready list. A command and
//! its notices run on one thread without a suspension point, so after the command that pushed (or
//! after a whole EXEC) its connection calls [`serve_ready`], which serves the waiters of each ready
//! key in arrival order until the key has nothing left (a push of N elements serves up to N
//! clients). Serving may itself push (BLMOVE's destination), which makes more keys ready: the loop
//! runs until the list is empty. Spurious entries cost one lookup: `ServeFn` checks the real state.
//!
//! ## Locking
//! One mutex guards the registry. Its order is registry → shard: serving and registering take
//! shard locks while holding it, and the notice sink never takes it (it only touches an atomic and
//! the thread's own list). A client registers under the registry lock after one more try of its
//! keys, and the waiting count is raised before that try: a push either lands before the try (and
//! is served by it) or sees the count and records the key, whose serving then waits for the
//! registration to finish.

use crate::sync::LockExt;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::clients::{ClientInfo, ClientState};
use super::Server;
use crate::engine::notice::{Notice, NoticeSink, Target};
use crate::error::{CmdError, CmdResult};
use crate::protocol::{Protocol, ReplyBuf};
use crate::state::command::Ctx;

/// What a serve attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serve {
    /// The reply is written: the client is served.
    Served,
    /// The key is missing or empty: keep waiting.
    NotReady,
    /// The key holds another type: an error when the command arrives, a reason to keep waiting
    /// afterwards (Redis leaves such waiters blocked).
    WrongType,
}

/// Tries to serve one waiting client from `key`: `args` are the client's command arguments.
/// Writes the reply into `ctx.out` only when returning `Ok(Serve::Served)`; an `Err` is the reply.
pub type ServeFn = fn(&mut Ctx<'_>, key: &Bytes, args: &[Bytes]) -> Result<Serve, CmdError>;

/// What a blocked client is answered when its timeout passes, or CLIENT UNBLOCK (without ERROR)
/// ends its wait: Redis's `replyToBlockedClientTimedOut`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTimeout {
    /// Lists, sorted sets, streams: the null array.
    NullArray,
    /// WAIT: the replicas that acknowledged, none here.
    NoReplicas,
    /// WAITAOF: `[local fsync, replicas]`, neither here.
    NoFsyncs,
}

impl OnTimeout {
    fn write(self, out: &mut ReplyBuf) {
        match self {
            OnTimeout::NullArray => out.null_array(),
            OnTimeout::NoReplicas => out.int(0),
            OnTimeout::NoFsyncs => {
                out.array(2);
                out.int(0);
                out.int(0);
            }
        }
    }
}

/// What the connection awaits once a command blocked its client.
pub struct Blocked {
    pub client_id: u64,
    pub deadline: Option<tokio::time::Instant>,
    pub reply: oneshot::Receiver<Answer>,
    /// How long the attempt that blocked took, for the slow log once the reply comes.
    pub attempt_micros: u64,
    protocol: Protocol,
    on_timeout: OnTimeout,
}

struct Waiter {
    info: Arc<ClientInfo>,
    db: usize,
    keys: Vec<Bytes>,
    args: Vec<Bytes>,
    serve: ServeFn,
    reply: oneshot::Sender<Answer>,
    /// Blocked with a timeout (INFO's `clients_in_timeout_table`).
    timed: bool,
    on_timeout: OnTimeout,
}

#[derive(Default)]
struct Registry {
    by_key: HashMap<(usize, Bytes), VecDeque<u64>>,
    waiters: HashMap<u64, Waiter>,
}

impl Registry {
    fn remove(&mut self, client_id: u64) -> Option<Waiter> {
        let waiter = self.waiters.remove(&client_id)?;
        for key in &waiter.keys {
            let slot = (waiter.db, key.clone());
            if let Some(queue) = self.by_key.get_mut(&slot) {
                queue.retain(|id| *id != client_id);
                if queue.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
        Some(waiter)
    }
}

#[derive(Default)]
pub struct Blocking {
    /// Registered waiters plus clients about to register: while zero, notices are ignored.
    waiting: AtomicUsize,
    registry: Mutex<Registry>,
}

/// A (db, key) that may have become servable; `None` stands for every key of the db (SWAPDB).
type Ready = (usize, Option<Bytes>);
/// The database of a ready entry that stands for every database (FLUSHALL).
const ALL_DBS: usize = usize::MAX;

thread_local! {
    static READY: RefCell<Vec<Ready>> = const { RefCell::new(Vec::new()) };
}

impl NoticeSink for Blocking {
    fn notice(&self, notice: &Notice<'_>) {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        // A key that goes (deleted, expired, evicted, flushed) gives no waiter anything, but a
        // client blocked in XREADGROUP is answered an error when its stream goes, as in Redis 7.0
        // (`signalDeletedKeyAsReady`); the others' serve finds nothing and keeps them waiting.
        let ready = match notice.target {
            Target::Key(key) => (notice.db, Some(Bytes::copy_from_slice(key))),
            Target::Db => (notice.db, None),
            Target::All => (ALL_DBS, None),
            Target::Tag(_) | Target::Pattern(_) => return,
        };
        READY.with(|list| {
            let mut list = list.borrow_mut();
            if !list.contains(&ready) {
                list.push(ready);
            }
        });
    }
}

impl Blocking {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock_or_recover()
    }

    /// Clients currently blocked (INFO's `blocked_clients`).
    pub fn blocked_clients(&self) -> usize {
        self.lock().waiters.len()
    }

    /// Blocked clients with a timeout: Redis's `clients_in_timeout_table`.
    pub fn blocked_with_timeout(&self) -> usize {
        self.lock().waiters.values().filter(|w| w.timed).count()
    }

    pub fn is_blocked(&self, client_id: u64) -> bool {
        self.lock().waiters.contains_key(&client_id)
    }

    /// Removes a waiter that timed out or went away. False if it was served meanwhile (its
    /// reply is then in its channel).
    pub fn cancel(&self, client_id: u64) -> bool {
        let removed = self.lock().remove(client_id).is_some();
        if removed {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
        }
        removed
    }

    /// CLIENT UNBLOCK: answers a blocked client as its timeout would, or with the UNBLOCKED
    /// error. False when the client is not blocked.
    pub fn unblock(&self, client_id: u64, with_error: bool) -> bool {
        // The reply is sent before the registry is released, so a waiter whose `cancel` fails
        // finds it in its channel.
        let mut registry = self.lock();
        let Some(waiter) = registry.remove(client_id) else {
            return false;
        };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let mut out = reply_buf(&waiter.info);
        if with_error {
            out.error_bytes(&CmdError::Unblocked.message_bytes());
        } else {
            waiter.on_timeout.write(&mut out);
        }
        let _ = waiter.reply.send(Answer {
            reply: out.freeze(),
            served_micros: None,
        });
        true
    }
}

/// What a blocked client is sent: its reply, and how long serving it took when data served it
/// (not CLIENT UNBLOCK): Redis logs a blocked command to the slow log only then
/// (`updateStatsOnUnblock`), not on a timeout or an unblock.
#[derive(Debug)]
pub struct Answer {
    pub reply: Bytes,
    pub served_micros: Option<u64>,
}

fn reply_buf(info: &ClientInfo) -> ReplyBuf {
    let protocol = if info.resp.load(Ordering::Relaxed) == 3 {
        Protocol::Resp3
    } else {
        Protocol::Resp2
    };
    ReplyBuf::frame(protocol, 64)
}

/// Serves the client from the first of `keys` that has something for it, else blocks it until
/// one does, `timeout` passes, or it goes away. See the module doc.
pub fn block_on(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    args: &[Bytes],
    timeout: Option<Duration>,
    serve: ServeFn,
) -> CmdResult {
    block_on_after(ctx, keys, args, timeout, serve, serve)
}

/// `block_on` for a command whose tries before blocking take its own synchronous rule rather
/// than the one that serves it once a key is signalled (`try_now`): Redis serves a blocked
/// XREADGROUP `>` when the stream's last ID passes the group's, even if that entry was deleted
/// since, but serves it at once only if a live entry does.
pub fn block_on_after(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    args: &[Bytes],
    timeout: Option<Duration>,
    try_now: ServeFn,
    serve: ServeFn,
) -> CmdResult {
    if try_keys(ctx, keys, args, try_now)? {
        return Ok(());
    }
    if ctx.client.in_exec {
        ctx.out.null_array();
        return Ok(());
    }
    let blocking = &ctx.server.blocking;
    let mut registry = blocking.lock();
    // Raised before the second try, so a push that the try misses records its key (module doc).
    blocking.waiting.fetch_add(1, Ordering::SeqCst);
    match try_keys(ctx, keys, args, try_now) {
        Ok(false) => {}
        done => {
            blocking.waiting.fetch_sub(1, Ordering::SeqCst);
            return done.map(|_| ());
        }
    }
    register(
        ctx,
        &mut registry,
        keys,
        args,
        timeout,
        serve,
        OnTimeout::NullArray,
    );
    Ok(())
}

/// Blocks the client on nothing but time (WAIT or WAITAOF asking replicas of a server that has
/// none): only the timeout, CLIENT UNBLOCK or the connection going end the wait, answered
/// `on_timeout`. Inside EXEC it is answered at once, as Redis answers a client that may not block.
pub fn block_for_timeout(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    timeout: Option<Duration>,
    on_timeout: OnTimeout,
) {
    if ctx.client.in_exec {
        on_timeout.write(ctx.out);
        return;
    }
    let blocking = &ctx.server.blocking;
    let mut registry = blocking.lock();
    blocking.waiting.fetch_add(1, Ordering::SeqCst);
    register(
        ctx,
        &mut registry,
        &[],
        args,
        timeout,
        never_served,
        on_timeout,
    );
}

/// The serve function of a waiter that has no keys: nothing serves it.
fn never_served(_: &mut Ctx<'_>, _: &Bytes, _: &[Bytes]) -> Result<Serve, CmdError> {
    Ok(Serve::NotReady)
}

/// Registers the client (already counted in `waiting`) on its keys and blocks it.
fn register(
    ctx: &mut Ctx<'_>,
    registry: &mut Registry,
    keys: &[Bytes],
    args: &[Bytes],
    timeout: Option<Duration>,
    serve: ServeFn,
    on_timeout: OnTimeout,
) {
    let client_id = ctx.client.id;
    let (sender, receiver) = oneshot::channel();
    let mut unique: Vec<Bytes> = Vec::with_capacity(keys.len());
    for key in keys {
        if !unique.contains(key) {
            unique.push(Bytes::copy_from_slice(key));
        }
    }
    for key in &unique {
        registry
            .by_key
            .entry((ctx.client.db, key.clone()))
            .or_default()
            .push_back(client_id);
    }
    registry.waiters.insert(
        client_id,
        Waiter {
            info: ctx.client.info.clone(),
            db: ctx.client.db,
            keys: unique,
            args: args.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
            serve,
            reply: sender,
            timed: timeout.is_some(),
            on_timeout,
        },
    );
    ctx.client.blocked = Some(Blocked {
        client_id,
        deadline: timeout.map(|t| tokio::time::Instant::now() + t),
        reply: receiver,
        attempt_micros: 0,
        protocol: ctx.out.protocol,
        on_timeout,
    });
}

/// The non-blocking attempt: true once served (reply written).
fn try_keys(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    args: &[Bytes],
    serve: ServeFn,
) -> Result<bool, CmdError> {
    for key in keys {
        match serve(ctx, key, args)? {
            Serve::Served => return Ok(true),
            Serve::NotReady => {}
            Serve::WrongType => return Err(CmdError::WrongType),
        }
    }
    Ok(false)
}

/// Serves the clients waiting on the keys the commands run on this thread made ready, in the
/// order the keys became ready and, per key, in the order the clients blocked. Called by the
/// connection after each command it runs (EXEC counts as one).
pub fn serve_ready(server: &Server) {
    loop {
        let ready = READY.with(|list| std::mem::take(&mut *list.borrow_mut()));
        if ready.is_empty() {
            return;
        }
        if server.blocking.waiting.load(Ordering::SeqCst) == 0 {
            continue;
        }
        // Serving runs commands on the keyspace: never between the commands of an EXEC.
        let _shared = server.exec_gate.shared();
        let mut registry = server.blocking.lock();
        for (db, key) in ready {
            match key {
                Some(key) => serve_key(server, &mut registry, db, &key),
                None => {
                    let keys: Vec<(usize, Bytes)> = registry
                        .by_key
                        .keys()
                        .filter(|(d, _)| *d == db || db == ALL_DBS)
                        .cloned()
                        .collect();
                    for (db, key) in keys {
                        serve_key(server, &mut registry, db, &key);
                    }
                }
            }
        }
    }
}

fn serve_key(server: &Server, registry: &mut Registry, db: usize, key: &Bytes) {
    let Some(queue) = registry.by_key.get(&(db, key.clone())) else {
        return;
    };
    let candidates: Vec<u64> = queue.iter().copied().collect();
    let now_ms = crate::engine::now_ms();
    for client_id in candidates {
        let Some(waiter) = registry.waiters.get(&client_id) else {
            continue;
        };
        let mut state = ClientState::new(waiter.info.clone(), server.acl.default_user(), true);
        state.db = waiter.db;
        let mut out = reply_buf(&waiter.info);
        let started = std::time::Instant::now();
        let result = {
            let mut ctx = Ctx {
                server,
                client: &mut state,
                out: &mut out,
                now_ms,
            };
            (waiter.serve)(&mut ctx, key, &waiter.args)
        };
        let served_micros = started.elapsed().as_micros() as u64;
        match result {
            Ok(Serve::NotReady | Serve::WrongType) => continue,
            Ok(Serve::Served) => {}
            Err(err) => {
                let message = err.message_bytes();
                server.metrics.error_reply(&message);
                out.error_bytes(&message);
            }
        }
        if let Some(waiter) = registry.remove(client_id) {
            server.blocking.waiting.fetch_sub(1, Ordering::SeqCst);
            let _ = waiter.reply.send(Answer {
                reply: out.freeze(),
                served_micros: Some(served_micros),
            });
        }
    }
}

/// How a blocked client's wait ended.
pub enum Unblocked {
    /// The reply to append to the client's output.
    Reply(Answer),
    /// The connection must close (the client went away, was killed, or the server stops).
    Close,
}

impl Blocked {
    /// Waits for the reply, the timeout, or `closed` (a future that completes when the
    /// connection must stop: the socket closed, CLIENT KILL, shutdown). Whatever ends the wait
    /// first, the registration is gone afterwards.
    pub async fn wait(
        mut self,
        server: &Server,
        closed: impl std::future::Future<Output = ()>,
    ) -> Unblocked {
        let sleep = async {
            match self.deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            reply = &mut self.reply => match reply {
                Ok(answer) => return Unblocked::Reply(answer),
                Err(_) => return Unblocked::Close,
            },
            _ = sleep => {
                if server.blocking.cancel(self.client_id) {
                    let mut out = ReplyBuf::frame(self.protocol, 8);
                    self.on_timeout.write(&mut out);
                    return Unblocked::Reply(Answer {
                        reply: out.freeze(),
                        served_micros: None,
                    });
                }
            }
            _ = closed => {
                server.blocking.cancel(self.client_id);
                return Unblocked::Close;
            }
        }
        // Served while the timeout fired: the reply was sent before the registration went.
        match self.reply.try_recv() {
            Ok(answer) => Unblocked::Reply(answer),
            Err(_) => Unblocked::Close,
        }
    }
}
