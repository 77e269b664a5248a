//! The pub/sub registry: who listens to which channel, pattern and shard channel, and delivery of
//! published messages to the subscribers' connections.
//!
//! A subscriber's connection owns an `Inbox` (the receiving end of an unbounded channel); a
//! publisher pushes messages into it and the connection task, which waits on its socket and its
//! inbox at once, writes them out. Every queued message is counted in the subscriber's `queued`
//! bytes until it has been written to the socket, and while the connection writes its output the
//! client's own replies in it are counted in `replies`: together they are Redis's output buffer of
//! the client. The publisher closes a receiver whose count passes its class of
//! `client-output-buffer-limit` (hard limit at once, soft limit once it lasted its seconds): the
//! `pubsub` class for a subscribed client, `normal` for a client that only receives client
//! tracking's invalidations (RESP3, or a redirect target that is not subscribed), as Redis's
//! `getClientType` classes them. A receiver that stops reading thus costs at most its limit, never
//! memory without bound. MONITOR feeds its clients through the same inboxes (`state::monitor`), so
//! they fall under the same limit (the `normal` class, as in Redis).
//!
//! The registry is also the sink of keyspace notices that turns them into Redis's keyspace
//! notifications (`notify-keyspace-events`). The sink runs with a shard locked, so nothing here
//! ever locks a shard.

use crate::sync::{LockExt, RwLockExt};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::clients::ClientInfo;
use crate::engine::glob::glob_match;
use crate::protocol::{Protocol, ReplyBuf};

mod limits;
mod notify;

pub use limits::{set_output_buffer_limits, OutputLimit};
pub use notify::{keyspace_events_text, parse_keyspace_events};

/// Bytes of a queued message's slot in a subscriber's inbox.
const QUEUE_SLOT: usize = std::mem::size_of::<Message>();

/// Most bytes of messages moved into the output buffer per write: a backlog stays in the inbox
/// (where it is already counted) rather than doubling in the output buffer.
pub const DELIVERY_BATCH_BYTES: usize = 64 * 1024;

/// The three kinds of subscription, each with its own namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

/// One published message, encoded once for all its receivers as a RESP2 array. The RESP3 push
/// frame differs only in its first byte (`>` for `*`), so each subscriber gets its protocol's
/// form without encoding it again.
#[derive(Debug, Clone)]
pub struct Message {
    frame: Bytes,
    /// Sent as a push frame in RESP3 (messages, invalidations); false for MONITOR's lines, which
    /// are status replies in both protocols.
    push: bool,
}

impl Message {
    fn new(kind: &[u8], pattern: Option<&[u8]>, channel: &[u8], payload: &[u8]) -> Message {
        // Sized to fit: the frame keeps its whole allocation for as long as it is queued.
        const HEADERS: usize = 4 * 24;
        let strings = kind.len() + pattern.map_or(0, <[u8]>::len) + channel.len() + payload.len();
        let mut out = ReplyBuf::frame(Protocol::Resp2, HEADERS + strings);
        out.array(if pattern.is_some() { 4 } else { 3 });
        out.bulk(kind);
        if let Some(pattern) = pattern {
            out.bulk(pattern);
        }
        out.bulk(channel);
        out.bulk(payload);
        Message {
            frame: out.freeze(),
            push: true,
        }
    }

    /// A message already encoded as a RESP2 array (client tracking's invalidations).
    pub fn from_frame(frame: Bytes) -> Message {
        Message { frame, push: true }
    }

    /// A reply already encoded, written as it is in both protocols (MONITOR's lines).
    pub fn raw(frame: Bytes) -> Message {
        Message { frame, push: false }
    }

    /// Bytes it takes in the subscriber's output buffer, plus its slot in the queue.
    fn cost(&self) -> usize {
        self.frame.len() + QUEUE_SLOT
    }

    /// Writes it as Redis does: a push frame in RESP3, an array in RESP2.
    pub fn encode(&self, out: &mut ReplyBuf) {
        if self.push && out.is_resp3() {
            out.raw(b">");
            out.raw(&self.frame[1..]);
        } else {
            out.raw(&self.frame);
        }
    }
}

/// What the registry and others know of a subscribed client.
pub struct Subscriber {
    pub info: Arc<ClientInfo>,
    sender: mpsc::UnboundedSender<Message>,
    /// Bytes of messages published to this client and not yet written to its socket.
    pub queued: AtomicUsize,
    /// Bytes of the client's own replies in its output buffer while its connection writes it (a
    /// client that does not read keeps them there); counted with `queued` against its limit.
    pub replies: AtomicUsize,
    soft_since_ms: AtomicU64,
    /// Subscriptions by kind (`sub`, `psub`, `ssub` in CLIENT LIST).
    pub channels: AtomicUsize,
    pub patterns: AtomicUsize,
    pub shard_channels: AtomicUsize,
    /// Set once the output limit closed it: nothing more is queued.
    dropped: AtomicBool,
}

impl Subscriber {
    fn count(&self, kind: Kind) -> &AtomicUsize {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    pub fn total(&self) -> usize {
        self.channels.load(Ordering::Relaxed)
            + self.patterns.load(Ordering::Relaxed)
            + self.shard_channels.load(Ordering::Relaxed)
    }
}

type Listeners = HashMap<Bytes, Vec<Arc<Subscriber>>>;

#[derive(Default)]
struct Registry {
    channels: Listeners,
    patterns: Listeners,
    shard_channels: Listeners,
    /// Every client with an inbox, by id (CLIENT LIST).
    subscribers: HashMap<u64, Arc<Subscriber>>,
}

impl Registry {
    fn listeners(&mut self, kind: Kind) -> &mut Listeners {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }
}

#[derive(Default)]
pub struct PubSub {
    registry: RwLock<Registry>,
    /// `notify-keyspace-events` as `class::*` bits.
    pub keyspace_events: AtomicU16,
    /// The `normal` and `pubsub` classes of `client-output-buffer-limit`.
    limits: Mutex<ReceiverLimits>,
}

/// The output limits a publisher checks: by the receiver's class.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReceiverLimits {
    pub normal: OutputLimit,
    pub pubsub: OutputLimit,
}

impl ReceiverLimits {
    /// Redis's `getClientType`: subscribed to anything is `pubsub`, else `normal`.
    fn of(&self, subscriber: &Subscriber) -> &OutputLimit {
        if subscriber.total() > 0 {
            &self.pubsub
        } else {
            &self.normal
        }
    }
}

impl PubSub {
    pub fn set_limits(&self, limits: ReceiverLimits) {
        *self.limits.lock_or_recover() = limits;
    }

    fn limits(&self) -> ReceiverLimits {
        *self.limits.lock_or_recover()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry.read_or_recover()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.registry.write_or_recover()
    }

    /// The subscriber entry of a client, if it ever subscribed.
    pub fn subscriber(&self, id: u64) -> Option<Arc<Subscriber>> {
        self.read().subscribers.get(&id).cloned()
    }

    fn open_inbox(self: &Arc<Self>, info: Arc<ClientInfo>) -> Inbox {
        let (sender, receiver) = mpsc::unbounded_channel();
        let subscriber = Arc::new(Subscriber {
            info,
            sender,
            queued: AtomicUsize::new(0),
            replies: AtomicUsize::new(0),
            soft_since_ms: AtomicU64::new(0),
            channels: AtomicUsize::new(0),
            patterns: AtomicUsize::new(0),
            shard_channels: AtomicUsize::new(0),
            dropped: AtomicBool::new(false),
        });
        self.write()
            .subscribers
            .insert(subscriber.info.id, subscriber.clone());
        Inbox {
            pubsub: self.clone(),
            subscriber,
            receiver,
            unwritten: 0,
            unwritten_len: 0,
        }
    }

    /// Sends `message` to everyone listening on `channel` (channel subscribers, then pattern
    /// subscribers, or shard subscribers for `Kind::Shard`) except `me`, whose messages are
    /// returned to be written in order with its own replies. Returns the receivers counted as
    /// Redis counts them.
    pub fn publish(
        &self,
        kind: Kind,
        channel: &[u8],
        payload: &[u8],
        me: Option<u64>,
        now_ms: u64,
    ) -> (usize, Vec<Message>) {
        let limits = self.limits();
        let registry = self.read();
        let mut receivers = 0;
        let mut mine = Vec::new();
        let mut deliver = |subscriber: &Arc<Subscriber>, message: &Message| {
            receivers += 1;
            if Some(subscriber.info.id) == me {
                mine.push(message.clone());
            } else {
                deliver_to(subscriber, message.clone(), &limits, now_ms);
            }
        };
        let exact = if kind == Kind::Shard {
            &registry.shard_channels
        } else {
            &registry.channels
        };
        if let Some(listeners) = exact.get(channel) {
            let name: &[u8] = if kind == Kind::Shard {
                b"smessage"
            } else {
                b"message"
            };
            let message = Message::new(name, None, channel, payload);
            for subscriber in listeners {
                deliver(subscriber, &message);
            }
        }
        if kind == Kind::Channel {
            for (pattern, listeners) in &registry.patterns {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let message = Message::new(b"pmessage", Some(pattern), channel, payload);
                for subscriber in listeners {
                    deliver(subscriber, &message);
                }
            }
        }
        (receivers, mine)
    }

    /// Active channels (or shard channels) matching `pattern`, all when `None`.
    pub fn channels(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let registry = self.read();
        let listeners = if kind == Kind::Shard {
            &registry.shard_channels
        } else {
            &registry.channels
        };
        listeners
            .keys()
            .filter(|name| pattern.is_none_or(|p| glob_match(p, name, false)))
            .cloned()
            .collect()
    }

    pub fn subscriber_count(&self, kind: Kind, channel: &[u8]) -> usize {
        let registry = self.read();
        let listeners = if kind == Kind::Shard {
            &registry.shard_channels
        } else {
            &registry.channels
        };
        listeners.get(channel).map_or(0, Vec::len)
    }

    /// Active channels, patterns and shard channels (INFO's `pubsub_*`).
    pub fn sizes(&self) -> (usize, usize, usize) {
        let registry = self.read();
        (
            registry.channels.len(),
            registry.patterns.len(),
            registry.shard_channels.len(),
        )
    }

    /// PUBSUB NUMPAT: distinct patterns with at least one subscriber.
    pub fn pattern_count(&self) -> usize {
        self.read().patterns.len()
    }

    /// Queues `message` for one receiver, under the output limit of its class (client tracking).
    pub fn push(&self, subscriber: &Subscriber, message: Message) {
        deliver_to(subscriber, message, &self.limits(), crate::engine::now_ms());
    }

    fn publish_notification(&self, channel: &[u8], payload: &[u8]) {
        self.publish(
            Kind::Channel,
            channel,
            payload,
            None,
            crate::engine::now_ms(),
        );
    }
}

fn deliver_to(subscriber: &Subscriber, message: Message, limits: &ReceiverLimits, now_ms: u64) {
    if subscriber.dropped.load(Ordering::Relaxed) {
        return;
    }
    let cost = message.cost();
    let queued = subscriber.queued.fetch_add(cost, Ordering::Relaxed) + cost;
    let replies = subscriber.replies.load(Ordering::Relaxed);
    let used = (queued + replies) as u64;
    if limits
        .of(subscriber)
        .reached(used, &subscriber.soft_since_ms, || now_ms)
    {
        subscriber.dropped.store(true, Ordering::Relaxed);
        tracing::warn!(
            id = subscriber.info.id,
            addr = %subscriber.info.addr,
            queued,
            replies,
            "client scheduled to be closed ASAP for overcoming of output buffer limits"
        );
        subscriber.info.request_kill();
        return;
    }
    if subscriber.sender.send(message).is_err() {
        subscriber.queued.fetch_sub(cost, Ordering::Relaxed);
    }
}

/// A subscribed connection's end: its messages, and its registrations, which dropping it removes.
pub struct Inbox {
    pubsub: Arc<PubSub>,
    pub subscriber: Arc<Subscriber>,
    receiver: mpsc::UnboundedReceiver<Message>,
    /// What messages moved into the output buffer and not yet written to the socket count in
    /// `queued`, and the bytes they take there.
    unwritten: usize,
    unwritten_len: usize,
}

/// A client's subscriptions, owned by its connection (in `ClientState`).
#[derive(Default)]
pub struct ClientPubSub {
    inbox: Option<Inbox>,
    channels: HashSet<Bytes>,
    patterns: HashSet<Bytes>,
    shard_channels: HashSet<Bytes>,
}

impl ClientPubSub {
    fn set(&mut self, kind: Kind) -> &mut HashSet<Bytes> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// Channels and patterns: the count SUBSCRIBE, PSUBSCRIBE and their UN- replies carry.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    pub fn shard_count(&self) -> usize {
        self.shard_channels.len()
    }

    /// Subscribed to anything: Redis's `CLIENT_PUBSUB` flag.
    pub fn is_subscribed(&self) -> bool {
        self.count() + self.shard_count() > 0
    }

    /// Subscribes to `name`; false if it already was.
    pub fn subscribe(
        &mut self,
        pubsub: &Arc<PubSub>,
        info: &Arc<ClientInfo>,
        kind: Kind,
        name: &[u8],
    ) -> bool {
        if self.set(kind).contains(name) {
            return false;
        }
        // A copy: the argument is a slice of the read buffer, which a kept reference would pin.
        let name = Bytes::copy_from_slice(name);
        self.set(kind).insert(name.clone());
        let subscriber = self
            .inbox
            .get_or_insert_with(|| pubsub.open_inbox(info.clone()))
            .subscriber
            .clone();
        subscriber.count(kind).fetch_add(1, Ordering::Relaxed);
        pubsub
            .write()
            .listeners(kind)
            .entry(name)
            .or_default()
            .push(subscriber);
        true
    }

    /// Unsubscribes from `name`; false if it was not subscribed.
    pub fn unsubscribe(&mut self, kind: Kind, name: &[u8]) -> bool {
        if !self.set(kind).remove(name) {
            return false;
        }
        if let Some(inbox) = &self.inbox {
            inbox.unregister(kind, name);
        }
        true
    }

    /// What it is subscribed to of `kind`, for unsubscribing from all.
    pub fn names(&self, kind: Kind) -> Vec<Bytes> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
        .iter()
        .cloned()
        .collect()
    }

    /// RESET: every subscription goes, without replies.
    pub fn clear(&mut self) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in self.names(kind) {
                self.unsubscribe(kind, &name);
            }
        }
    }

    /// Its inbox, opened if it has none (a tracking client receives invalidations there).
    pub fn ensure_inbox(
        &mut self,
        pubsub: &Arc<PubSub>,
        info: &Arc<ClientInfo>,
    ) -> Arc<Subscriber> {
        self.inbox
            .get_or_insert_with(|| pubsub.open_inbox(info.clone()))
            .subscriber
            .clone()
    }

    pub fn has_inbox(&self) -> bool {
        self.inbox.is_some()
    }

    /// Waits for the next message; never completes for a client that never subscribed.
    pub async fn next_message(&mut self) -> Option<Message> {
        match &mut self.inbox {
            Some(inbox) => inbox.receiver.recv().await,
            None => std::future::pending().await,
        }
    }

    /// Writes `message` (already taken from the inbox) to `out`.
    pub fn deliver(&mut self, message: &Message, out: &mut ReplyBuf) {
        message.encode(out);
        if let Some(inbox) = &mut self.inbox {
            inbox.moved(message);
        }
    }

    /// Moves every message waiting in the inbox into `out`, so that they come before the replies
    /// of commands the client sends after they were published.
    pub fn drain(&mut self, out: &mut ReplyBuf) {
        self.drain_up_to(out, usize::MAX);
    }

    /// Moves waiting messages into `out` until it holds `budget` bytes or more.
    pub fn drain_up_to(&mut self, out: &mut ReplyBuf, budget: usize) {
        let Some(inbox) = &mut self.inbox else {
            return;
        };
        while out.len() < budget {
            let Ok(message) = inbox.receiver.try_recv() else {
                break;
            };
            message.encode(out);
            inbox.moved(&message);
        }
    }

    /// Moves waiting messages in front of the reply that starts at `mark`: what a command of this
    /// client made it receive (a keyspace notification of its own write) comes before its reply,
    /// as Redis writes it.
    pub fn drain_before(&mut self, out: &mut ReplyBuf, mark: usize) {
        let Some(inbox) = &self.inbox else {
            return;
        };
        if inbox.receiver.is_empty() || mark > out.len() {
            return;
        }
        let reply = out.split_off(mark);
        self.drain(out);
        out.unsplit(reply);
    }

    /// Messages this client published to itself: written at once, counted as never queued.
    pub fn deliver_own(&mut self, messages: Vec<Message>, out: &mut ReplyBuf) {
        self.drain(out);
        for message in messages {
            message.encode(out);
        }
    }

    /// The connection starts writing its output buffer of `out_len` bytes: until `written`, the
    /// replies in it count against the client's limit when something is published to it.
    pub fn writing(&self, out_len: usize) {
        if let Some(inbox) = &self.inbox {
            let replies = out_len.saturating_sub(inbox.unwritten_len);
            inbox.subscriber.replies.store(replies, Ordering::Relaxed);
        }
    }

    /// The output buffer was written to the socket: the messages in it leave the queued count.
    pub fn written(&mut self) {
        if let Some(inbox) = &mut self.inbox {
            let written = std::mem::take(&mut inbox.unwritten);
            inbox.unwritten_len = 0;
            inbox.subscriber.replies.store(0, Ordering::Relaxed);
            inbox
                .subscriber
                .queued
                .fetch_sub(written, Ordering::Relaxed);
        }
    }

    /// Bytes queued for this client beyond what is already in its output buffer.
    pub fn pending_bytes(&self) -> usize {
        self.inbox.as_ref().map_or(0, |inbox| {
            inbox
                .subscriber
                .queued
                .load(Ordering::Relaxed)
                .saturating_sub(inbox.unwritten)
        })
    }
}

impl Inbox {
    /// `message` left the queue for the output buffer.
    fn moved(&mut self, message: &Message) {
        self.unwritten += message.cost();
        self.unwritten_len += message.frame.len();
    }

    fn unregister(&self, kind: Kind, name: &[u8]) {
        self.subscriber.count(kind).fetch_sub(1, Ordering::Relaxed);
        let mut registry = self.pubsub.write();
        let listeners = registry.listeners(kind);
        if let Some(subscribers) = listeners.get_mut(name) {
            subscribers.retain(|s| !Arc::ptr_eq(s, &self.subscriber));
            if subscribers.is_empty() {
                listeners.remove(name);
            }
        }
    }
}

impl Drop for ClientPubSub {
    fn drop(&mut self) {
        self.clear();
        if let Some(inbox) = &self.inbox {
            inbox
                .pubsub
                .write()
                .subscribers
                .remove(&inbox.subscriber.info.id);
        }
    }
}
