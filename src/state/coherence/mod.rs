//! Peer coherence: every daemon publishes its own invalidations on the pub/sub channel
//! `__cachet__:invalidations` (format: `wire`) and subscribes to each configured peer's, so that no
//! daemon of a fleet serves a value another has overwritten or deleted.
//!
//! Publishing: `Coherence` is a keyspace-notice sink. Notices run with a shard locked, so the sink
//! only copies what it needs into `pending` (one atomic load when coherence is off) and wakes the
//! publisher task, which drains the queue once per wake-up and publishes one message per batch:
//! under load a batch is what the event loop produced since the last turn. What is published: keys
//! overwritten or deleted by clients (not expiry or eviction, which are local decisions, nor a
//! TTL change, nor a rewrite of the same content such as PFCOUNT caching its count, nor the
//! per-key deletions of a tag or pattern invalidation, which travel as the one tag or pattern), tag and pattern invalidations, flushes (and SWAPDB, as a flush of both).
//!
//! Receiving (`link`): one task per peer subscribes over plain RESP and applies the peer's
//! messages locally, inside `as_remote`, which the sink sees and so never re-broadcasts.
//!
//! Recovery: pub/sub is fire-and-forget, so a link that is down is blind. Every message carries
//! its origin's run and sequence, and the origin keeps its last messages (`backlog`): a receiver
//! that missed some asks the origin for them (`CACHE.PEER REPLAY`), and drops all its local data
//! only when that is impossible (see `link` for the exact rules).
//!
//! With `coherence-bus`, a Redis-compatible server is the broker instead of a full mesh: `bus`
//! forwards this daemon's messages there and announces the address peers ask replays from.
//!
//! Who may speak: only the daemon itself publishes on its `__cachet__:` channels (a client's
//! PUBLISH there is refused); with `coherence-secret`, every message is signed and every
//! connection between daemons authenticated both ways (`auth`), which is what protects a bus that
//! other clients can reach.

pub mod auth;
pub mod backlog;
pub mod config;
pub mod links;
pub mod wire;

use crate::sync::{LockExt, RwLockExt};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{watch, Notify};

use super::pubsub::Kind;
use super::Server;
use crate::engine::notice::{class, Notice, NoticeSink, Target};
use crate::engine::now_ms;
use wire::ItemRef;

pub const CHANNEL: &[u8] = b"__cachet__:invalidations";
/// Channels only coherence publishes on: a client `PUBLISH` there is refused unless the connection
/// authenticated as a peer (`commands::pubsub::check_reserved_channel`); anyone may subscribe.
pub const RESERVED_PREFIX: &[u8] = b"__cachet__:";
/// Largest message the publisher builds; a bigger batch is cut into several.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Items queued before the publisher gives up on listing them and sends one `flushall` instead:
/// bounds the queue's memory when writes outrun publishing, at the cost of the peers' caches.
const MAX_PENDING_ITEMS: usize = 100_000;

thread_local! {
    /// Set while this thread applies a peer's invalidation, so the sink does not publish it again.
    static APPLYING_REMOTE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the notices it causes marked as remote (not published to the peers).
pub fn as_remote<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            APPLYING_REMOTE.with(|flag| flag.set(self.0));
        }
    }
    let _reset = Reset(APPLYING_REMOTE.with(|flag| flag.replace(true)));
    f()
}

#[derive(Default)]
pub struct CoherenceStats {
    pub items_sent: AtomicU64,
    pub overflows: AtomicU64,
    pub messages_received: AtomicU64,
    pub items_applied: AtomicU64,
    pub malformed: AtomicU64,
    /// Well-formed messages their origin denies having published (see `link`).
    pub forged: AtomicU64,
    /// Messages dropped for a missing or wrong signature (with `coherence-secret`).
    pub unauthenticated: AtomicU64,
    /// `CACHE.PEER AUTH` attempts refused (a wrong or missing secret on the other side).
    pub peer_auth_failures: AtomicU64,
    pub gaps: AtomicU64,
    pub origin_restarts: AtomicU64,
    pub link_losses: AtomicU64,
    pub recoveries: AtomicU64,
    pub replays: AtomicU64,
    pub replayed_messages: AtomicU64,
    pub replays_served: AtomicU64,
    pub bus_publishes: AtomicU64,
    pub node_id_conflicts: AtomicU64,
}

/// What the configuration asks of coherence (`coherence`, `peer`, `coherence-bus`...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub peers: Vec<String>,
    /// host:port of the pub/sub broker; empty: a full mesh of `peers`.
    pub bus: String,
    /// host:port peers reach this daemon at for replays, announced on the bus.
    pub announce: String,
    pub backlog_size: usize,
    /// How the links connect (`peer-tls`, a `rediss://` bus, the bus's credentials): a change
    /// reconnects every link, so none stays on what the configuration no longer says.
    pub transport: Transport,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transport {
    pub peer_tls: bool,
    pub bus_tls: bool,
    pub bus_login: Option<(String, String)>,
}

impl Settings {
    /// The links this configuration asks for: (address, is the bus). None while coherence is
    /// off; the bus alone when one is set (it replaces the mesh); else one per peer.
    pub fn wanted_links(&self) -> Vec<(String, bool)> {
        if !self.enabled {
            Vec::new()
        } else if !self.bus.is_empty() {
            vec![(self.bus.clone(), true)]
        } else {
            self.peers.iter().map(|p| (p.clone(), false)).collect()
        }
    }
}

/// Items queued for the publisher, already encoded as messages carry them (`wire::encode_item`)
/// and cut into messages: a change costs an append under the queue's lock, not an allocation of
/// its own and a second encoding by the publisher.
#[derive(Default)]
struct Pending {
    batches: Vec<Batch>,
    items: usize,
    /// Set when the queue overflowed: it holds one `flushall` and takes nothing more.
    overflowed: bool,
}

/// The items of one message, encoded back to back.
#[derive(Debug, Default)]
pub struct Batch {
    pub items: usize,
    pub bytes: Vec<u8>,
}

impl Pending {
    fn push(&mut self, item: ItemRef<'_>) {
        let full = |batch: &Batch| batch.bytes.len() >= MAX_MESSAGE_BYTES;
        if self.batches.last().is_none_or(full) {
            self.batches.push(Batch::default());
        }
        let Some(batch) = self.batches.last_mut() else {
            return;
        };
        wire::encode_item(&mut batch.bytes, item);
        batch.items += 1;
        self.items += 1;
    }
}

pub struct Coherence {
    pub node_id: Bytes,
    enabled: AtomicBool,
    /// Set when a change that would have been published happened while coherence was off: the
    /// other daemons cannot know what it replaced, so turning coherence on sends them a flushall.
    unannounced: AtomicBool,
    pending: Mutex<Pending>,
    wakeup: Notify,
    /// This run of the daemon (its start time, Unix ms): sequences restart at 1 with each run.
    pub run: u64,
    /// The last messages published, for replays; also the bus forwarder's queue. Its last
    /// sequence is the number of messages this run has published.
    pub backlog: Mutex<backlog::Backlog>,
    backlog_limit: AtomicUsize,
    /// Wakes the bus forwarder after each publication.
    pub published: Notify,
    pub stats: CoherenceStats,
    /// The links follow this (see `link::supervise`).
    desired: watch::Sender<Settings>,
    /// The running links, for INFO.
    pub links: Mutex<Vec<Arc<links::LinkState>>>,
    /// The key of `coherence-secret` (`None`: messages are neither signed nor checked).
    key: std::sync::RwLock<Option<auth::Key>>,
    /// Per origin followed: (run, last sequence applied), kept by the links after each message
    /// applied and each catch-up; a snapshot saves it (taken before its data).
    followed: Mutex<HashMap<Bytes, (u64, u64)>>,
    /// The positions of the snapshot loaded at start: a link's first catch-up resumes from them
    /// (a replay) rather than dropping the data the snapshot brought back.
    resumed: Mutex<HashMap<Bytes, (u64, u64)>>,
}

impl Coherence {
    pub fn new(node_id: &str, run: u64) -> Self {
        Coherence {
            node_id: Bytes::copy_from_slice(node_id.as_bytes()),
            enabled: AtomicBool::new(false),
            unannounced: AtomicBool::new(false),
            pending: Mutex::default(),
            wakeup: Notify::new(),
            run,
            backlog: Mutex::default(),
            backlog_limit: AtomicUsize::new(0),
            published: Notify::new(),
            stats: CoherenceStats::default(),
            desired: watch::channel(Settings::default()).0,
            links: Mutex::default(),
            key: std::sync::RwLock::new(None),
            followed: Mutex::default(),
            resumed: Mutex::default(),
        }
    }

    /// A link applied `origin`'s messages through `seq` of `run`.
    pub fn record_position(&self, origin: &Bytes, run: u64, seq: u64) {
        self.followed
            .lock_or_recover()
            .insert(origin.clone(), (run, seq));
    }

    /// Every origin's position, for a snapshot.
    pub fn positions(&self) -> Vec<(Bytes, u64, u64)> {
        self.followed
            .lock_or_recover()
            .iter()
            .map(|(node, &(run, seq))| (node.clone(), run, seq))
            .collect()
    }

    /// The loaded snapshot's positions (called once its data is in, before the links start).
    pub fn resume_from(&self, positions: impl IntoIterator<Item = (Bytes, u64, u64)>) {
        let positions: HashMap<Bytes, (u64, u64)> = positions
            .into_iter()
            .map(|(node, run, seq)| (node, (run, seq)))
            .collect();
        // One lock at a time: both are leaves.
        self.followed.lock_or_recover().extend(positions.clone());
        *self.resumed.lock_or_recover() = positions;
    }

    /// Where the loaded snapshot left `origin`, if it followed it: taken once (only the data
    /// loaded at start is as old as that position).
    pub fn take_resumed(&self, origin: &Bytes) -> Option<(u64, u64)> {
        self.resumed.lock_or_recover().remove(origin)
    }

    /// The key messages are signed and checked with, and handshakes made with (a copy: an HMAC
    /// state of a few hundred bytes).
    pub fn key(&self) -> Option<auth::Key> {
        self.key.read_or_recover().clone()
    }

    /// Takes `coherence-secret` in (empty: none); the next message published or received uses it.
    pub fn set_secret(&self, secret: &[u8]) {
        *self.key.write_or_recover() = auth::key(secret);
    }

    /// (links followed, links up): readiness waits for every link when so configured.
    /// (links the configuration asks for, how many of them are up). Counted against the
    /// configuration, not the running links: right after the start or a CONFIG SET the
    /// supervisor has not made them yet, and a readiness check must not pass meanwhile.
    pub fn link_counts(&self) -> (usize, usize) {
        let wanted = self.desired.borrow().wanted_links();
        let links = self.links.lock_or_recover();
        let up = wanted
            .iter()
            .filter(|(addr, bus)| {
                links
                    .iter()
                    .any(|l| l.addr == *addr && l.bus == *bus && l.state_name() == "up")
            })
            .count();
        (wanted.len(), up)
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Takes the configuration in: the links follow it (see `link::supervise`).
    pub fn configure(&self, settings: Settings) {
        let was_enabled = self.enabled.swap(settings.enabled, Ordering::Relaxed);
        if settings.enabled && !was_enabled && self.unannounced.swap(false, Ordering::Relaxed) {
            self.queue(ItemRef::FlushAll);
        }
        self.backlog_limit
            .store(settings.backlog_size, Ordering::Relaxed);
        self.lock_backlog().trim(settings.backlog_size);
        self.desired.send_if_modified(|current| {
            let changed = *current != settings;
            *current = settings;
            changed
        });
    }

    pub fn lock_backlog(&self) -> std::sync::MutexGuard<'_, backlog::Backlog> {
        self.backlog.lock_or_recover()
    }

    /// Publishes one message: numbered, kept for replays, sent to local subscribers (the peers'
    /// links) and woken for the bus. Numbering and delivery happen under the backlog's lock, so a
    /// replay served concurrently holds exactly the messages a new subscriber did not receive.
    pub fn publish(&self, server: &Server, batch: &Batch, key: Option<&auth::Key>) {
        let mut backlog = self.lock_backlog();
        let seq = backlog.last_seq() + 1;
        let header = wire::Header {
            run: self.run,
            seq,
            time_ms: now_ms(),
        };
        let payload = Bytes::from(wire::encode_message(
            &self.node_id,
            header,
            &batch.bytes,
            key,
        ));
        server
            .pubsub
            .publish(Kind::Channel, CHANNEL, &payload, None, header.time_ms);
        backlog.push(seq, payload, self.backlog_limit.load(Ordering::Relaxed));
        drop(backlog);
        self.published.notify_one();
        self.stats
            .items_sent
            .fetch_add(batch.items as u64, Ordering::Relaxed);
    }

    pub fn pending_items(&self) -> usize {
        self.pending.lock_or_recover().items
    }

    fn queue(&self, item: ItemRef<'_>) {
        let mut pending = self.pending.lock_or_recover();
        if pending.overflowed {
            return;
        }
        if pending.items >= MAX_PENDING_ITEMS {
            *pending = Pending::default();
            pending.push(ItemRef::FlushAll);
            pending.overflowed = true;
            self.stats.overflows.fetch_add(1, Ordering::Relaxed);
        } else {
            pending.push(item);
        }
        if pending.items == 1 {
            self.wakeup.notify_one();
        }
    }

    /// A client deleted a key this daemon does not hold: nothing changed here (no notice, as in
    /// Redis), but the others may hold it. In the cache-aside pattern this is how an application
    /// invalidates after updating the source of truth, on whichever daemon it talks to.
    pub fn absent_key_deleted(&self, db: usize, key: &[u8]) {
        self.offer(|| Some(ItemRef::Key { db, key }));
    }

    /// Queues what a local change publishes. While coherence is off it only remembers that a
    /// change went unannounced (building the item at most until the first one).
    fn offer<'a>(&self, item: impl FnOnce() -> Option<ItemRef<'a>>) {
        if APPLYING_REMOTE.with(Cell::get) {
            return;
        }
        if !self.enabled.load(Ordering::Relaxed) {
            if !self.unannounced.load(Ordering::Relaxed) && item().is_some() {
                self.unannounced.store(true, Ordering::Relaxed);
            }
            return;
        }
        if let Some(item) = item() {
            self.queue(item);
        }
    }

    /// Waits until a local change has been queued for the publisher.
    pub async fn queued(&self) {
        self.wakeup.notified().await;
    }

    /// The links' view of the configuration, which they follow as it changes.
    pub fn watch_settings(&self) -> watch::Receiver<Settings> {
        self.desired.subscribe()
    }

    /// The queued items, one batch per message to publish.
    pub fn take_pending(&self) -> Vec<Batch> {
        std::mem::take(&mut *self.pending.lock_or_recover()).batches
    }
}

impl NoticeSink for Coherence {
    fn notice(&self, notice: &Notice<'_>) {
        self.offer(|| published_item(notice));
    }
}

/// What a notice publishes, if anything (see the module's comment).
fn published_item<'a>(notice: &Notice<'a>) -> Option<ItemRef<'a>> {
    let db = notice.db;
    let item = match notice.target {
        Target::Key(key) => {
            let local = class::EXPIRED | class::EVICTED | class::INVALIDATE | class::REWRITTEN;
            // NEW precedes the write's own notice; KEY_MISS is a read.
            let not_a_change = class::NEW | class::KEY_MISS;
            if notice.class & (local | not_a_change) != 0
                || matches!(notice.event, "expire" | "persist")
            {
                return None;
            }
            ItemRef::Key { db, key }
        }
        Target::Tag(name) => ItemRef::Tag { db, name },
        Target::Pattern(pattern) => ItemRef::Pattern { db, pattern },
        Target::Db => ItemRef::FlushDb { db },
        Target::All => ItemRef::FlushAll,
    };
    Some(item)
}

/// A random node id: 40 hex digits, as Redis's run ids.
pub fn random_node_id() -> String {
    (0..40)
        .map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::Item;

    /// The queued items, as the peers will decode them.
    fn taken(coherence: &Coherence) -> Vec<Item> {
        let header = wire::Header {
            run: 1,
            seq: 1,
            time_ms: 1,
        };
        coherence
            .take_pending()
            .iter()
            .flat_map(|batch| {
                let message = wire::encode_message(b"n", header, &batch.bytes, None);
                let items = wire::decode(&Bytes::from(message)).map_or(Vec::new(), |m| m.items);
                assert_eq!(items.len(), batch.items);
                items
            })
            .collect()
    }

    fn enabled() -> Settings {
        Settings {
            enabled: true,
            ..Settings::default()
        }
    }

    fn key_notice<'a>(key: &'a [u8], class: u16, event: &'static str) -> Notice<'a> {
        Notice {
            db: 0,
            target: Target::Key(key),
            class,
            event,
        }
    }

    #[test]
    fn publishes_client_changes_only() {
        let coherence = Coherence::new("n", 1);
        coherence.notice(&key_notice(b"off", class::STRING, "set"));
        assert_eq!(coherence.pending_items(), 0);
        coherence.configure(enabled());
        coherence.notice(&key_notice(b"a", class::STRING, "set"));
        coherence.notice(&key_notice(b"a", class::EXPIRED, "expired"));
        coherence.notice(&key_notice(b"a", class::EVICTED, "evicted"));
        coherence.notice(&key_notice(b"a", class::GENERIC | class::INVALIDATE, "del"));
        coherence.notice(&key_notice(b"a", class::GENERIC, "expire"));
        coherence.notice(&key_notice(b"a", class::NEW, "new"));
        coherence.notice(&key_notice(b"a", class::REWRITTEN, "pfcount"));
        as_remote(|| coherence.notice(&key_notice(b"remote", class::GENERIC, "del")));
        coherence.notice(&Notice {
            db: 1,
            target: Target::Tag(b"t"),
            class: class::INVALIDATE,
            event: "tag.invalidate",
        });
        assert_eq!(
            taken(&coherence),
            vec![
                // "off" was set while coherence was off.
                Item::FlushAll,
                Item::Key {
                    db: 0,
                    key: Bytes::from_static(b"a")
                },
                Item::Tag {
                    db: 1,
                    name: Bytes::from_static(b"t")
                },
            ]
        );
    }

    #[test]
    fn changes_made_while_off_are_one_flushall_when_turned_on() {
        let coherence = Coherence::new("n", 1);
        coherence.configure(enabled());
        coherence.configure(Settings::default());
        coherence.notice(&key_notice(b"a", class::EXPIRED, "expired"));
        coherence.configure(enabled());
        assert_eq!(taken(&coherence), vec![]);
        coherence.configure(Settings::default());
        coherence.notice(&key_notice(b"a", class::STRING, "set"));
        coherence.configure(enabled());
        coherence.configure(enabled());
        assert_eq!(taken(&coherence), vec![Item::FlushAll]);
    }

    #[test]
    fn overflow_degrades_to_one_flushall() {
        let coherence = Coherence::new("n", 1);
        coherence.configure(enabled());
        for _ in 0..MAX_PENDING_ITEMS + 10 {
            coherence.notice(&key_notice(b"k", class::STRING, "set"));
        }
        assert_eq!(taken(&coherence), vec![Item::FlushAll]);
        coherence.notice(&key_notice(b"k", class::STRING, "set"));
        assert_eq!(coherence.pending_items(), 1);
    }

    #[test]
    fn node_ids_are_valid() {
        let id = random_node_id();
        assert_eq!(id.len(), 40);
        assert!(wire::valid_node_id(id.as_bytes()));
    }

    #[test]
    fn batches_are_cut_into_messages() {
        let coherence = Coherence::new("n", 1);
        coherence.configure(enabled());
        let key = vec![b'k'; 1000];
        for _ in 0..200 {
            coherence.notice(&key_notice(&key, class::STRING, "set"));
        }
        assert_eq!(coherence.pending_items(), 200);
        let batches = coherence.take_pending();
        assert!(batches.len() >= 3, "{} batches", batches.len());
        for batch in &batches {
            assert!(batch.bytes.len() < MAX_MESSAGE_BYTES + 1100);
        }
        assert_eq!(batches.iter().map(|b| b.items).sum::<usize>(), 200);
        assert_eq!(coherence.pending_items(), 0);
    }
}
