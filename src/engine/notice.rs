//! Keyspace notices: every change to a key goes through `Notices::emit`, whoever makes it (a
//! command, lazy or active expiry, eviction, a flush). WATCH, keyspace notifications, client
//! tracking, peer coherence and statistics are sinks of this one stream, so none of them can miss
//! a path the others see.
//!
//! Notices are emitted synchronously, usually with the key's shard still locked, so a write and
//! its notice are one step for anyone who takes that lock. A sink must therefore be quick and
//! must never lock a shard.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::engine::labels::{Dependencies, LabelIndex, Names};

/// Classes of events, with Redis's `NOTIFY_*` bit values (the letters of
/// `notify-keyspace-events`).
pub mod class {
    pub const KEYSPACE: u16 = 1 << 0; // K
    pub const KEYEVENT: u16 = 1 << 1; // E
    pub const GENERIC: u16 = 1 << 2; // g
    pub const STRING: u16 = 1 << 3; // $
    pub const LIST: u16 = 1 << 4; // l
    pub const SET: u16 = 1 << 5; // s
    pub const HASH: u16 = 1 << 6; // h
    pub const ZSET: u16 = 1 << 7; // z
    pub const EXPIRED: u16 = 1 << 8; // x
    pub const EVICTED: u16 = 1 << 9; // e
    pub const STREAM: u16 = 1 << 10; // t
    pub const KEY_MISS: u16 = 1 << 11; // m
    /// cachet's own: the value's bytes changed but not what they stand for (PFCOUNT storing the
    /// cardinality it computed), Redis's bare `signalModifiedKey`: WATCH and client tracking see
    /// it; keyspace notifications, peers and dependents do not (not a Redis class either).
    pub const REWRITTEN: u16 = 1 << 12;
    pub const MODULE: u16 = 1 << 13; // d
    pub const NEW: u16 = 1 << 14; // n
    /// cachet's own: an invalidation by tag, pattern or dependency (not a Redis class, never
    /// published as a keyspace notification).
    pub const INVALIDATE: u16 = 1 << 15;
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// One key of `Notice::db`.
    Key(&'a [u8]),
    /// Every key of `Notice::db` (FLUSHDB, and both databases of SWAPDB).
    Db,
    /// Every key of every database (FLUSHALL).
    All,
    /// Every key of `Notice::db` carrying a tag (TAG.INVALIDATE; the keys follow one by one).
    Tag(&'a [u8]),
    /// Every key of `Notice::db` matching a glob pattern (CACHE.INVALIDATE).
    Pattern(&'a [u8]),
}

#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    pub db: usize,
    pub target: Target<'a>,
    /// One of `class::*`: which `notify-keyspace-events` flag publishes it.
    pub class: u16,
    /// Redis's event name (`set`, `del`, `expired`, `evicted`, `lpush`, `hset`...).
    pub event: &'static str,
}

impl Notice<'_> {
    pub fn key(&self) -> Option<&[u8]> {
        match self.target {
            Target::Key(key) => Some(key),
            Target::Db | Target::All | Target::Tag(_) | Target::Pattern(_) => None,
        }
    }
}

pub trait NoticeSink: Send + Sync {
    fn notice(&self, notice: &Notice<'_>);
}

thread_local! {
    static KEEP_DEPENDENTS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the key notices it emits leaving the keys that depend on them alone, every other
/// sink notified as usual: CACHE.IMPORT creating a key brings back the parent its dependents,
/// imported in the same file in any order, were computed from.
pub fn keeping_dependents<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            KEEP_DEPENDENTS.with(|k| k.set(self.0));
        }
    }
    let _reset = Reset(KEEP_DEPENDENTS.with(|k| k.replace(true)));
    f()
}

/// The dispatcher. Sinks are installed once, when the server is built; a keyspace without a
/// server (unit tests, benches) has none and emitting costs one load.
pub struct Notices {
    sinks: OnceLock<Box<[Arc<dyn NoticeSink>]>>,
    /// The engine's own consumer: keys other keys depend on (`CACHE.DEPEND`).
    pub dependencies: Dependencies,
    /// Label → its keys, for every shard (tags and parents).
    pub labels: LabelIndex,
    /// Label names, one copy each for the index's records and the entries.
    pub names: Names,
    /// Whether a key's creation is announced (`new`, the `n` of `notify-keyspace-events`): off,
    /// a write that creates a key costs one load more, not a notice nobody reads.
    new_keys: AtomicBool,
    /// Whether a read's miss is announced (`keymiss`, the `m`): off, a miss costs one load.
    key_misses: AtomicBool,
}

impl Notices {
    /// `shards` is the keyspace's (a power of two).
    pub fn new(shards: usize, databases: usize) -> Self {
        Notices {
            sinks: OnceLock::new(),
            dependencies: Dependencies::default(),
            labels: LabelIndex::new(shards, databases),
            names: Names::default(),
            new_keys: AtomicBool::new(false),
            key_misses: AtomicBool::new(false),
        }
    }

    pub fn announce_new_keys(&self, on: bool) {
        self.new_keys.store(on, Ordering::Relaxed);
    }

    /// A key was created in `db` (Redis's `dbAdd`; a load from a file is not a creation), before
    /// the notice of the command that created it, as Redis orders them.
    pub fn new_key(&self, db: usize, key: &[u8]) {
        if self.new_keys.load(Ordering::Relaxed) {
            self.key(db, key, class::NEW, "new");
        }
    }

    pub fn announce_key_misses(&self, on: bool) {
        self.key_misses.store(on, Ordering::Relaxed);
    }

    /// A read found no `key` in `db` (Redis's `lookupKeyRead` miss, the lookups that count in
    /// `keyspace_misses`): a read, so nothing that follows changes does anything with it.
    pub fn key_miss(&self, db: usize, key: &[u8]) {
        if self.key_misses.load(Ordering::Relaxed) {
            self.key(db, key, class::KEY_MISS, "keymiss");
        }
    }

    /// Installs the sinks. Returns false (and changes nothing) if they were installed already.
    pub fn install(&self, sinks: Vec<Arc<dyn NoticeSink>>) -> bool {
        self.sinks.set(sinks.into_boxed_slice()).is_ok()
    }

    pub fn emit(&self, notice: &Notice<'_>) {
        // A TTL change, or a rewrite of the same content, leaves the value as it was: dependents
        // stay valid.
        if let Target::Key(key) = notice.target {
            if !matches!(notice.event, "expire" | "persist")
                && notice.class & (class::REWRITTEN | class::NEW | class::KEY_MISS) == 0
                && !KEEP_DEPENDENTS.with(Cell::get)
            {
                self.dependencies.key_changed(notice.db, key);
            }
        }
        if let Some(sinks) = self.sinks.get() {
            for sink in sinks.iter() {
                sink.notice(notice);
            }
        }
    }

    pub fn key(&self, db: usize, key: &[u8], class: u16, event: &'static str) {
        self.emit(&Notice {
            db,
            target: Target::Key(key),
            class,
            event,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::LockExt;
    use std::sync::Mutex;

    type Seen = (usize, Option<Vec<u8>>, &'static str);

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Seen>>);

    impl NoticeSink for Recorder {
        fn notice(&self, notice: &Notice<'_>) {
            self.0.lock_or_recover().push((
                notice.db,
                notice.key().map(<[u8]>::to_vec),
                notice.event,
            ));
        }
    }

    #[test]
    fn every_sink_sees_every_notice_once_installed() {
        let notices = Notices::new(1, 4);
        notices.key(0, b"before", class::GENERIC, "del");
        let a = Arc::new(Recorder::default());
        let b = Arc::new(Recorder::default());
        assert!(notices.install(vec![a.clone(), b.clone()]));
        assert!(!notices.install(vec![]));
        notices.key(3, b"k", class::STRING, "set");
        notices.emit(&Notice {
            db: 1,
            target: Target::Db,
            class: class::GENERIC,
            event: "flushdb",
        });
        for sink in [a, b] {
            let seen = sink.0.lock_or_recover().clone();
            assert_eq!(
                seen,
                vec![(3, Some(b"k".to_vec()), "set"), (1, None, "flushdb")]
            );
        }
    }
}
