//! Client-side caching (Redis's `CLIENT TRACKING`): which client may hold which key, and the
//! invalidation messages sent when a key changes.
//!
//! Default mode remembers the keys of every read-only command a tracking client runs (`remember`);
//! BCAST mode sends every change under a registered prefix. Both are fed by the keyspace notices
//! (the sink below), so writes, expiry, eviction, flushes and invalidations by tag all notify.
//!
//! Messages go through the pub/sub inbox of the receiving connection: a RESP3 client gets
//! `>2 invalidate [keys]` (`>2 invalidate _` on a flush); a RESP2 client redirecting to a client
//! subscribed to `__redis__:invalidate` makes that client receive a `message` on that channel. As
//! Redis (7.0.5+), a message for the client whose own command caused it is written after that
//! command's reply: it is held in a thread-local list until `finish` (the command runs on one
//! thread from `begin` to `finish`).
//!
//! Beyond Redis: `CLIENT TRACKING on BCAST TAG t` subscribes to tag `t`; TAG.INVALIDATE of `t`
//! sends one frame `>2 invalidate-tag [t]` (a push of its own kind, so that a client cache never
//! takes the tag for a key), in RESP3 only.
//!
//! The sink runs with a shard locked: it takes only this module's mutex and the pub/sub registry,
//! never a shard. Nothing here locks in the other order.

use crate::sync::LockExt;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::clients::ClientInfo;
use super::pubsub::{Message, PubSub, Subscriber};
use crate::engine::notice::{class, Notice, NoticeSink, Target};
use crate::error::CmdError;
use crate::protocol::{Protocol, ReplyBuf};

pub const TRACKING_CHANNEL: &[u8] = b"__redis__:invalidate";

/// A client's tracking mode, kept in its `ClientState` so that a read checks it without a lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientTracking {
    pub on: bool,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// `CLIENT CACHING yes|no` given for the next command.
    pub caching: bool,
}

impl ClientTracking {
    /// Whether the keys of the read-only command now running are to be remembered.
    pub fn remembers(&self) -> bool {
        self.on && !self.bcast && !((self.optin && !self.caching) || (self.optout && self.caching))
    }
}

struct Tracker {
    info: Arc<ClientInfo>,
    /// Its own inbox, opened when tracking was enabled.
    inbox: Arc<Subscriber>,
    redirect: u64,
    noloop: bool,
    prefixes: Vec<Bytes>,
    tags: Vec<Bytes>,
}

#[derive(Default)]
struct State {
    /// Default mode: key → clients that may have it cached (keys of every database, as Redis).
    keys: HashMap<Bytes, HashSet<u64>>,
    /// BCAST mode: prefix → clients.
    prefixes: HashMap<Bytes, HashSet<u64>>,
    tags: HashMap<Bytes, HashSet<u64>>,
    clients: HashMap<u64, Tracker>,
    /// Key-client pairs in `keys` (INFO `tracking_total_items`).
    items: usize,
}

pub struct Tracking {
    /// Clients with tracking on: zero (and no key held) makes the sink two loads.
    active: AtomicUsize,
    /// The table holds keys: read by clients that have turned tracking off since, which a write
    /// or a flush must still drop, as Redis's table is kept whatever the tracking clients.
    holds_keys: AtomicBool,
    /// `tracking-table-max-keys` (0: no limit).
    max_keys: AtomicUsize,
    state: Mutex<State>,
    pubsub: Arc<PubSub>,
}

enum Payload<'a> {
    Keys(&'a [&'a [u8]]),
    Flush,
    Tag(&'a [u8]),
}

impl Payload<'_> {
    /// Bytes of a message carrying it, at most: the headers (up to 64 bytes: `*3`, `message`,
    /// the channel, the array) and each string with its `$<len>\r\n...\r\n` (at most 24 more).
    fn frame_size(&self) -> usize {
        const HEADERS: usize = 64;
        const PER_STRING: usize = 24;
        let strings = match self {
            Payload::Keys(keys) => keys.iter().map(|k| k.len() + PER_STRING).sum(),
            Payload::Tag(name) => name.len() + PER_STRING,
            Payload::Flush => 0,
        };
        HEADERS + TRACKING_CHANNEL.len() + strings
    }
}

thread_local! {
    /// The client whose command runs on this thread (0: none).
    static CURRENT: Cell<u64> = const { Cell::new(0) };
    /// Messages for that client, written after its reply.
    static PENDING: RefCell<Vec<Message>> = const { RefCell::new(Vec::new()) };
    /// BCAST: keys changed by the command, by prefix, sent together when it ends (Redis sends
    /// them in `beforeSleep`, one message per prefix and client, keys sorted and distinct).
    static BROADCASTS: RefCell<BTreeMap<Bytes, BTreeSet<Bytes>>> = const { RefCell::new(BTreeMap::new()) };
}

/// Marks the start of a command of client `id` on this thread.
pub fn begin(id: u64) {
    CURRENT.with(|c| c.set(id));
}

fn write_pending(out: &mut ReplyBuf) {
    PENDING.with(|pending| {
        for message in pending.borrow_mut().drain(..) {
            message.encode(out);
        }
    });
}

fn current() -> u64 {
    CURRENT.with(Cell::get)
}

fn frame_array(len: usize, out: &mut ReplyBuf) {
    out.array(len);
}

impl Tracking {
    pub fn new(pubsub: Arc<PubSub>) -> Tracking {
        Tracking {
            active: AtomicUsize::new(0),
            holds_keys: AtomicBool::new(false),
            max_keys: AtomicUsize::new(1_000_000),
            state: Mutex::default(),
            pubsub,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock_or_recover()
    }

    /// The first overlap of `prefixes` with the client's or each other, as Redis's error.
    pub fn prefix_collision(&self, id: u64, prefixes: &[Bytes]) -> Option<CmdError> {
        let overlaps = |a: &[u8], b: &[u8]| {
            let n = a.len().min(b.len());
            a[..n] == b[..n]
        };
        let state = self.lock();
        let existing = state
            .clients
            .get(&id)
            .map(|t| &t.prefixes[..])
            .unwrap_or(&[]);
        for (i, prefix) in prefixes.iter().enumerate() {
            if let Some(old) = existing.iter().find(|old| overlaps(old, prefix)) {
                return Some(CmdError::PrefixOverlapsExisting {
                    prefix: prefix[..].into(),
                    existing: old[..].into(),
                });
            }
            if let Some(other) = prefixes[i + 1..].iter().find(|o| overlaps(prefix, o)) {
                return Some(CmdError::PrefixOverlapsProvided {
                    prefix: prefix[..].into(),
                    other: other[..].into(),
                });
            }
        }
        None
    }

    /// CLIENT TRACKING on (options checked by the caller). Redis's `enableTracking`: the redirect
    /// is replaced, prefixes and tags add up.
    #[allow(clippy::too_many_arguments)]
    pub fn enable(
        &self,
        info: &Arc<ClientInfo>,
        inbox: Arc<Subscriber>,
        redirect: u64,
        bcast: bool,
        noloop: bool,
        prefixes: Vec<Bytes>,
        tags: Vec<Bytes>,
    ) {
        let mut state = self.lock();
        let id = info.id;
        if !state.clients.contains_key(&id) {
            self.active.fetch_add(1, Ordering::Relaxed);
        }
        let tracker = state.clients.entry(id).or_insert_with(|| Tracker {
            info: info.clone(),
            inbox,
            redirect,
            noloop,
            prefixes: Vec::new(),
            tags: Vec::new(),
        });
        tracker.redirect = redirect;
        tracker.noloop |= noloop;
        let mut new_prefixes = Vec::new();
        if bcast {
            let mut wanted = prefixes;
            if wanted.is_empty() && tags.is_empty() {
                wanted.push(Bytes::new());
            }
            for prefix in wanted {
                if !tracker.prefixes.contains(&prefix) {
                    tracker.prefixes.push(prefix.clone());
                    new_prefixes.push(prefix);
                }
            }
        }
        let mut new_tags = Vec::new();
        for tag in tags {
            if !tracker.tags.contains(&tag) {
                tracker.tags.push(tag.clone());
                new_tags.push(tag);
            }
        }
        for prefix in new_prefixes {
            state.prefixes.entry(prefix).or_default().insert(id);
        }
        for tag in new_tags {
            state.tags.entry(tag).or_default().insert(id);
        }
    }

    /// CLIENT TRACKING off, RESET, or the connection closing. Keys it read stay in the table (as
    /// in Redis: at worst a later client with this id gets a spurious invalidation; ids are not
    /// reused).
    pub fn disable(&self, id: u64) {
        if self.active.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut state = self.lock();
        let Some(tracker) = state.clients.remove(&id) else {
            return;
        };
        self.active.fetch_sub(1, Ordering::Relaxed);
        for prefix in &tracker.prefixes {
            if let Some(ids) = state.prefixes.get_mut(prefix) {
                ids.remove(&id);
                if ids.is_empty() {
                    state.prefixes.remove(prefix);
                }
            }
        }
        for tag in &tracker.tags {
            if let Some(ids) = state.tags.get_mut(tag) {
                ids.remove(&id);
                if ids.is_empty() {
                    state.tags.remove(tag);
                }
            }
        }
    }

    /// (redirect, prefixes) of a tracking client; `None` when it does not track.
    pub fn client(&self, id: u64) -> Option<(u64, Vec<Bytes>)> {
        let state = self.lock();
        state
            .clients
            .get(&id)
            .map(|t| (t.redirect, t.prefixes.clone()))
    }

    /// Whether a tracking client is in BCAST mode (it has prefixes or tags).
    pub fn is_bcast(&self, id: u64) -> bool {
        self.lock()
            .clients
            .get(&id)
            .is_some_and(|t| !t.prefixes.is_empty() || !t.tags.is_empty())
    }

    /// INFO: tracking clients, keys, items, prefixes.
    pub fn sizes(&self) -> (usize, usize, usize, usize) {
        if self.active.load(Ordering::Relaxed) == 0 && self.lock().keys.is_empty() {
            return (0, 0, 0, 0);
        }
        let state = self.lock();
        (
            state.clients.len(),
            state.keys.len(),
            state.items,
            state.prefixes.len(),
        )
    }

    /// Remembers that client `id` may now cache `keys`; keeps the table under
    /// `tracking-table-max-keys` by invalidating keys as Redis's `trackingLimitUsedSlots`.
    pub fn remember<'a>(&self, id: u64, keys: impl Iterator<Item = &'a [u8]>) {
        let mut state = self.lock();
        let state = &mut *state;
        for key in keys {
            let added = match state.keys.get_mut(key) {
                Some(ids) => ids.insert(id),
                None => {
                    state
                        .keys
                        .insert(Bytes::copy_from_slice(key), HashSet::from([id]));
                    true
                }
            };
            if added {
                state.items += 1;
            }
        }
        self.trim(state);
        self.holds_keys
            .store(!state.keys.is_empty(), Ordering::Relaxed);
    }

    /// `tracking-table-max-keys` changed: a lower limit invalidates keys now, as Redis's cron
    /// does within its next pass, not only when the next read is remembered.
    pub fn set_max_keys(&self, max: usize) {
        self.max_keys.store(max, Ordering::Relaxed);
        if self.active.load(Ordering::Relaxed) > 0 {
            self.trim(&mut self.lock());
        }
    }

    fn trim(&self, state: &mut State) {
        let max = self.max_keys.load(Ordering::Relaxed);
        while max > 0 && state.keys.len() > max {
            let Some(key) = state.keys.keys().next().cloned() else {
                break;
            };
            self.invalidate_key(state, &key, 0);
        }
    }

    fn invalidate_key(&self, state: &mut State, key: &[u8], origin: u64) {
        if let Some(ids) = state.keys.remove(key) {
            state.items -= ids.len();
            if state.keys.is_empty() {
                self.holds_keys.store(false, Ordering::Relaxed);
            }
            for id in ids {
                if let Some(tracker) = state.clients.get(&id) {
                    if tracker.prefixes.is_empty() && !(tracker.noloop && id == origin) {
                        self.send(state, tracker, Payload::Keys(&[key]));
                    }
                }
            }
        }
        let state: &State = state;
        for (prefix, ids) in &state.prefixes {
            if !key.starts_with(prefix) {
                continue;
            }
            if origin != 0 {
                BROADCASTS.with(|batch| {
                    batch
                        .borrow_mut()
                        .entry(prefix.clone())
                        .or_default()
                        .insert(Bytes::copy_from_slice(key));
                });
                continue;
            }
            for id in ids {
                if let Some(tracker) = state.clients.get(id) {
                    self.send(state, tracker, Payload::Keys(&[key]));
                }
            }
        }
    }

    /// Ends the command of the client `begin` named: the messages its own changes sent to its
    /// client follow its reply, then the BCAST messages of the keys it changed.
    pub fn finish(&self, out: &mut ReplyBuf) {
        write_pending(out);
        let batch = BROADCASTS.with(|batch| std::mem::take(&mut *batch.borrow_mut()));
        if !batch.is_empty() {
            let origin = current();
            let state = self.lock();
            for (prefix, keys) in &batch {
                let Some(ids) = state.prefixes.get(prefix) else {
                    continue;
                };
                let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
                let mut ids: Vec<u64> = ids.iter().copied().collect();
                ids.sort_unstable();
                for id in ids {
                    if let Some(tracker) = state.clients.get(&id) {
                        if !(tracker.noloop && id == origin) {
                            self.send(&state, tracker, Payload::Keys(&keys));
                        }
                    }
                }
            }
            drop(state);
            write_pending(out);
        }
        CURRENT.with(|c| c.set(0));
    }

    /// Sends one message as Redis's `sendTrackingMessage`.
    fn send(&self, state: &State, tracker: &Tracker, payload: Payload<'_>) {
        let tracker_resp3 = tracker.info.resp.load(Ordering::Relaxed) >= 3;
        let (target, redirected) = if tracker.redirect != 0 {
            match self.pubsub.subscriber(tracker.redirect) {
                Some(target) => (target, true),
                None => {
                    if tracker_resp3 && state.clients.contains_key(&tracker.info.id) {
                        let mut out = frame(64);
                        frame_array(2, &mut out);
                        out.bulk(b"tracking-redir-broken");
                        out.int(tracker.redirect as i64);
                        self.deliver(&tracker.inbox, out);
                    }
                    return;
                }
            }
        } else {
            (tracker.inbox.clone(), false)
        };
        let target_resp3 = target.info.resp.load(Ordering::Relaxed) >= 3;
        let mut out = frame(payload.frame_size());
        if target_resp3 {
            frame_array(2, &mut out);
            out.bulk(match payload {
                Payload::Tag(_) => b"invalidate-tag",
                _ => b"invalidate",
            });
        } else if redirected && target.channels.load(Ordering::Relaxed) > 0 {
            if matches!(payload, Payload::Tag(_)) {
                return;
            }
            frame_array(3, &mut out);
            out.bulk(b"message");
            out.bulk(TRACKING_CHANNEL);
        } else {
            return;
        }
        match payload {
            Payload::Keys(keys) => {
                out.array(keys.len());
                for key in keys {
                    out.bulk(key);
                }
            }
            Payload::Tag(name) => {
                out.array(1);
                out.bulk(name);
            }
            // The null of the tracking client's protocol, as Redis writes it.
            Payload::Flush if tracker_resp3 => out.raw(b"_\r\n"),
            Payload::Flush => out.raw(b"$-1\r\n"),
        }
        self.deliver(&target, out);
    }

    fn deliver(&self, target: &Arc<Subscriber>, out: ReplyBuf) {
        let message = Message::from_frame(out.freeze());
        if target.info.id == current() {
            PENDING.with(|pending| pending.borrow_mut().push(message));
        } else {
            self.pubsub.push(target, message);
        }
    }

    fn flush(&self) {
        let mut state = self.lock();
        state.keys.clear();
        state.items = 0;
        self.holds_keys.store(false, Ordering::Relaxed);
        for tracker in state.clients.values() {
            self.send(&state, tracker, Payload::Flush);
        }
    }

    fn invalidate_tag(&self, tag: &[u8]) {
        let state = self.lock();
        let Some(ids) = state.tags.get(tag) else {
            return;
        };
        for id in ids {
            if let Some(tracker) = state.clients.get(id) {
                self.send(&state, tracker, Payload::Tag(tag));
            }
        }
    }
}

/// A message is queued with its whole allocation: one sized to fit, not grown by doubling.
fn frame(capacity: usize) -> ReplyBuf {
    ReplyBuf::frame(Protocol::Resp2, capacity)
}

impl NoticeSink for Tracking {
    fn notice(&self, notice: &Notice<'_>) {
        if self.active.load(Ordering::Relaxed) == 0 && !self.holds_keys.load(Ordering::Relaxed) {
            return;
        }
        // A new key's notice comes with its write's; a miss changes nothing.
        if notice.class & (class::NEW | class::KEY_MISS) != 0 {
            return;
        }
        match notice.target {
            Target::Key(key) => {
                let mut state = self.lock();
                self.invalidate_key(&mut state, key, current());
            }
            Target::Db | Target::All if notice.event != "swapdb" => self.flush(),
            Target::Tag(tag) => self.invalidate_tag(tag),
            Target::Db | Target::All | Target::Pattern(_) => {}
        }
    }
}
