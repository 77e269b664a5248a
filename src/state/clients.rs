//! Connected clients: the per-connection state a command may change, and the registry that
//! `CLIENT LIST/INFO/KILL` and `maxclients` read.

use crate::sync::LockExt;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::state::command::CommandSpec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    Skip,
}

/// What the connection must do after the command that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `DEBUG SLEEP`: hold this client for a while.
    Sleep(Duration),
    /// `SHUTDOWN`: stop the server.
    Shutdown,
    /// TAG.INVALIDATE / CACHE.INVALIDATE in cluster mode: the calls to the other nodes, made
    /// after the command has left the exec gate; their answer is the command's reply.
    ClusterWide(Box<super::cluster::WideInvalidation>),
}

/// State owned by the connection task; commands change it through `Ctx::client`.
pub struct ClientState {
    pub id: u64,
    pub db: usize,
    pub authenticated: bool,
    /// Authenticated as a peer daemon (`CACHE.PEER AUTH`, with the coherence secret): may publish
    /// on the reserved `__cachet__:` channels.
    pub peer: bool,
    /// The nonce `CACHE.PEER CHALLENGE` handed out, which the next `CACHE.PEER AUTH` must prove.
    pub peer_challenge: Option<String>,
    pub reply_mode: ReplyMode,
    /// Set by the current command when the next one's reply must be skipped (CLIENT REPLY SKIP).
    pub skip_next: bool,
    pub close_after_reply: bool,
    /// In MONITOR mode (Redis's `CLIENT_MONITOR`): fed every command, refused the keyspace, never
    /// closed for being idle.
    pub monitor: bool,
    /// MONITOR lines of this monitor's own commands, written after the command's reply.
    pub own_monitor_lines: Vec<Bytes>,
    /// True while EXEC runs this client's queued commands: blocking commands must not block.
    pub in_exec: bool,
    /// True while a script runs this client's `redis.call`s: MONITOR shows them from `lua`.
    pub in_script: bool,
    /// The keys a running script declared, while it runs for a client that tracks reads: a read
    /// it makes tracks these, not the key read (Redis remembers the script caller's keys).
    pub script_keys: Option<Vec<Bytes>>,
    pub action: Option<Action>,
    /// Set by a blocking command that must wait: the connection awaits it before going on.
    pub blocked: Option<super::blocking::Blocked>,
    /// The last command run, published to `info` once per batch for CLIENT LIST.
    pub last_command: Option<(Option<&'static CommandSpec>, &'static CommandSpec)>,
    pub info: Arc<ClientInfo>,
    /// Channels, patterns and shard channels it listens to, and its inbox of messages.
    pub pubsub: super::pubsub::ClientPubSub,
    /// The commands queued since MULTI; `None` outside a transaction.
    pub multi: Option<crate::state::multi::Transaction>,
    /// The (database, key) pairs this client WATCHes, as registered in the server's watch registry.
    pub watched: Vec<(usize, Bytes)>,
    /// CLIENT TRACKING mode (the tables are in `Server::tracking`).
    pub tracking: super::tracking::ClientTracking,
    /// The ACL user it runs as (the default user until AUTH), as of `acl_epoch` of the registry.
    pub user: Arc<crate::state::acl::User>,
    pub acl_epoch: u64,
    /// Where the pushes the current command wrote (subscription confirmations, its own published
    /// messages) end in the output: they are sent even while CLIENT REPLY is OFF or SKIP.
    pub pushed_to: Option<usize>,
    /// READONLY: a replica serves this client's reads of its master's slots.
    pub cluster_readonly: bool,
    /// ASKING: the next command may use a slot this node is importing.
    pub asking: bool,
}

impl ClientState {
    pub fn new(
        info: Arc<ClientInfo>,
        user: Arc<crate::state::acl::User>,
        authenticated: bool,
    ) -> Self {
        ClientState {
            id: info.id,
            db: 0,
            authenticated,
            peer: false,
            peer_challenge: None,
            reply_mode: ReplyMode::On,
            skip_next: false,
            close_after_reply: false,
            monitor: false,
            own_monitor_lines: Vec::new(),
            in_exec: false,
            in_script: false,
            script_keys: None,
            action: None,
            blocked: None,
            last_command: None,
            info,
            pubsub: Default::default(),
            multi: None,
            watched: Vec::new(),
            tracking: Default::default(),
            user,
            acl_epoch: 0,
            pushed_to: None,
            cluster_readonly: false,
            asking: false,
        }
    }

    /// Runs as `user` from now on (AUTH, HELLO AUTH, RESET), as CLIENT LIST shows.
    pub fn set_user(&mut self, user: Arc<crate::state::acl::User>, epoch: u64) {
        if user.name != self.user.name {
            self.info.details().user = user.name.clone();
        }
        self.user = user;
        self.acl_epoch = epoch;
    }

    /// Picks up the latest snapshot of its user when the registry changed. False when the user
    /// is gone (deleted, or not in a reloaded file): the connection must close, as Redis frees
    /// such clients.
    pub fn refresh_user(&mut self, acl: &crate::state::acl::Acl) -> bool {
        let epoch = acl.epoch();
        if epoch == self.acl_epoch {
            return true;
        }
        self.acl_epoch = epoch;
        match acl.get(&self.user.name) {
            Some(user) => {
                self.user = user;
                true
            }
            None => {
                self.user = acl.default_user();
                self.authenticated = false;
                false
            }
        }
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }
}

/// What other connections may read of a client (CLIENT LIST) or ask of it (CLIENT KILL).
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub created: Instant,
    pub db: AtomicUsize,
    /// Milliseconds since `created` of the last command.
    pub last_interaction_ms: AtomicU64,
    pub resp: AtomicUsize,
    pub no_evict: AtomicBool,
    /// CLIENT NO-TOUCH: its reads leave keys' access times and LFU counters alone.
    pub no_touch: AtomicBool,
    /// Held by CLIENT PAUSE (flag `b` in CLIENT LIST, as Redis's postponed clients).
    pub postponed: AtomicBool,
    pub killed: AtomicBool,
    pub kill: Notify,
    /// A WATCHed key changed: the next EXEC fails (Redis's `CLIENT_DIRTY_CAS`, flag `d`). Set by
    /// whoever changed the key, hence shared.
    pub dirty_cas: AtomicBool,
    /// Commands queued since MULTI, -1 outside a transaction (`multi=` in CLIENT LIST).
    pub multi_queued: AtomicI64,
    /// Bytes held by the transaction state (`multi-mem` in CLIENT LIST).
    pub multi_mem: AtomicUsize,
    pub details: Mutex<ClientDetails>,
}

pub struct ClientDetails {
    pub name: Option<Bytes>,
    /// The last command (parent, command), named `client|list` in CLIENT LIST.
    pub last_command: Option<(Option<&'static CommandSpec>, &'static CommandSpec)>,
    pub query_buffer: usize,
    pub query_buffer_free: usize,
    pub output_bytes: usize,
    /// Capacity of the connection's reply buffer (`rbs` in CLIENT LIST).
    pub output_capacity: usize,
    /// The socket's file descriptor, -1 when unknown.
    pub fd: i32,
    /// CLIENT SETINFO LIB-NAME and LIB-VER.
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    /// The ACL user's name (`user=` in CLIENT LIST, CLIENT KILL USER).
    pub user: Bytes,
}

impl Default for ClientDetails {
    fn default() -> Self {
        ClientDetails {
            name: None,
            last_command: None,
            query_buffer: 0,
            query_buffer_free: 0,
            output_bytes: 0,
            output_capacity: 0,
            fd: 0,
            lib_name: None,
            lib_ver: None,
            user: Bytes::from_static(crate::state::acl::DEFAULT_USER),
        }
    }
}

impl ClientInfo {
    pub fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last_interaction_ms.load(Ordering::Relaxed));
        self.created.elapsed().saturating_sub(last)
    }

    pub fn touch(&self) {
        self.last_interaction_ms
            .store(self.created.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    pub fn details(&self) -> std::sync::MutexGuard<'_, ClientDetails> {
        self.details.lock_or_recover()
    }

    pub fn name(&self) -> Option<Bytes> {
        self.details().name.clone()
    }

    /// Asks the connection to close after its current batch.
    pub fn request_kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.kill.notify_one();
    }
}

#[derive(Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
}

impl ClientRegistry {
    /// Registers a new connection unless `max` clients are already connected.
    pub fn register(
        &self,
        addr: SocketAddr,
        laddr: SocketAddr,
        max: usize,
    ) -> Option<Arc<ClientInfo>> {
        let mut clients = self.lock();
        if clients.len() >= max {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let info = Arc::new(ClientInfo {
            id,
            addr,
            laddr,
            created: Instant::now(),
            db: AtomicUsize::new(0),
            last_interaction_ms: AtomicU64::new(0),
            resp: AtomicUsize::new(2),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            postponed: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
            dirty_cas: AtomicBool::new(false),
            multi_queued: AtomicI64::new(-1),
            multi_mem: AtomicUsize::new(0),
            details: Mutex::new(ClientDetails::default()),
        });
        clients.insert(id, info.clone());
        Some(info)
    }

    pub fn unregister(&self, id: u64) {
        self.lock().remove(&id);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Every client, in connection order.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.lock().values().cloned().collect()
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.lock().get(&id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<ClientInfo>>> {
        self.clients.lock_or_recover()
    }
}
