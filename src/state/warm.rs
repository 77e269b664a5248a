//! CACHE.WARM's shared state: the request a client made (taken by the warm-up task,
//! `net::warm`), whether it should stop, and its progress for CACHE.WARM STATUS and INFO.
//! One warm-up runs at a time. Also a cluster replica's queue of keys its master invalidated, to
//! fetch again from the master (`net::cluster_replica`).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use bytes::Bytes;

use crate::state::coherence::wire::Item;

use tokio::sync::Notify;

use crate::sync::LockExt;

/// What CACHE.WARM FROM asked for, or a cluster replica's fill from its master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmRequest {
    pub host: String,
    pub port: u16,
    pub db: usize,
    /// How many of the source's hottest keys to ask for.
    pub top: usize,
    /// Every key of the source (SCAN) instead of its `top` hottest: a replica's fill.
    pub all: bool,
    pub pattern: Option<Vec<u8>>,
    pub user: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmState {
    Idle,
    Running,
    Done,
    Aborted,
    Failed,
}

impl WarmState {
    pub fn name(self) -> &'static str {
        match self {
            WarmState::Idle => "idle",
            WarmState::Running => "running",
            WarmState::Done => "done",
            WarmState::Aborted => "aborted",
            WarmState::Failed => "failed",
        }
    }
}

/// The last (or running) warm-up's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmStatus {
    pub state: WarmState,
    /// `host:port` of the source.
    pub source: String,
    /// Keys the source ranked hottest (after MATCH).
    pub planned: u64,
    /// Keys stored here.
    pub done: u64,
    /// Keys left alone: present here already (written locally meanwhile), gone or expired at the
    /// source, or no room under `maxmemory`.
    pub skipped: u64,
    /// Keys whose line could not be read or stored.
    pub errors: u64,
    /// Why the warm-up failed, or the last key error.
    pub last_error: String,
    pub started_ms: u64,
    pub finished_ms: u64,
}

impl Default for WarmStatus {
    fn default() -> Self {
        WarmStatus {
            state: WarmState::Idle,
            source: String::new(),
            planned: 0,
            done: 0,
            skipped: 0,
            errors: 0,
            last_error: String::new(),
            started_ms: 0,
            finished_ms: 0,
        }
    }
}

#[derive(Default)]
pub struct Warm {
    status: Mutex<WarmStatus>,
    request: Mutex<Option<WarmRequest>>,
    abort: AtomicBool,
    /// Wakes the warm-up task when a request is queued.
    pub wake: Notify,
    /// What coherence invalidated while a batch of copies was on its way (`Guard`), one record
    /// for the warm-up's batches and one for the replica's refetches, which run side by side.
    guard: [Mutex<Guard>; 2],
    refetch: Mutex<Refetch>,
    /// Wakes the replica's refetcher when a key is queued.
    pub refetch_wake: Notify,
    /// Times coherence dropped local data (a peer's flush, a link's recovery): a cluster replica
    /// fills again from its master after each (`net::cluster_replica`).
    drops: AtomicU64,
}

/// Which batches a guard record serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    /// CACHE.WARM, or a replica's fill.
    Warm = 0,
    /// A replica's refetch of keys its master invalidated.
    Refetch = 1,
}

/// At most this many keys wait to be fetched again; past it, an invalidated key stays a miss
/// until it is read from the master's next fill or written again (`Refetch::dropped`).
pub const REFETCH_QUEUE: usize = 100_000;

/// A cluster replica's keys to fetch again from its master: each key its master's stream
/// invalidated (the master wrote or deleted it), once however often it was named. Tags,
/// patterns and flushes are not refetched: the keys they named are not known here.
#[derive(Default)]
struct Refetch {
    /// This node is a replica whose link to its master is up.
    on: bool,
    queue: VecDeque<(usize, Bytes)>,
    queued: HashSet<(usize, Bytes)>,
    /// Keys not queued because the queue was full.
    dropped: u64,
    /// Keys stored from the master's copies.
    stored: u64,
}

/// A copy asked of the source before a peer's invalidation of the same key arrives here may hold
/// the value the invalidation replaced: stored after it, it would be stale for good. While a
/// batch is on its way, the links record here what they invalidate (before applying it), and the
/// batch's copies are stored only if their key was not named since the batch was asked for.
#[derive(Default)]
struct Guard {
    open: bool,
    keys: HashSet<(usize, Bytes)>,
    /// A tag, pattern or flush: any key may have been named.
    everything: bool,
}

impl Guard {
    fn open(&mut self) {
        self.open = true;
        self.keys.clear();
        self.everything = false;
    }

    fn close(&mut self) {
        self.open = false;
        self.keys.clear();
        self.everything = false;
    }

    fn record(&mut self, items: &[Item]) {
        if !self.open || self.everything {
            return;
        }
        for item in items {
            match item {
                Item::Key { db, key } => {
                    self.keys.insert((*db, key.clone()));
                }
                _ => self.everything = true,
            }
        }
    }
}

impl Warm {
    /// Queues a warm-up; `false` when one is running already.
    pub fn start(&self, request: WarmRequest, now_ms: u64) -> bool {
        let mut status = self.status.lock_or_recover();
        if status.state == WarmState::Running {
            return false;
        }
        *status = WarmStatus {
            state: WarmState::Running,
            source: format!("{}:{}", request.host, request.port),
            started_ms: now_ms,
            ..WarmStatus::default()
        };
        self.abort.store(false, Ordering::Release);
        *self.request.lock_or_recover() = Some(request);
        self.wake.notify_one();
        true
    }

    pub fn take_request(&self) -> Option<WarmRequest> {
        self.request.lock_or_recover().take()
    }

    /// Asks the running warm-up to stop after the key it is on; `false` when none runs.
    pub fn abort(&self) -> bool {
        self.abort.store(true, Ordering::Release);
        self.status.lock_or_recover().state == WarmState::Running
    }

    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Acquire)
    }

    pub fn status(&self) -> WarmStatus {
        self.status.lock_or_recover().clone()
    }

    pub fn update(&self, change: impl FnOnce(&mut WarmStatus)) {
        change(&mut self.status.lock_or_recover());
    }

    /// A batch of copies is about to be asked for: invalidations are recorded from now on.
    pub fn open_batch(&self, batch: Batch) {
        self.guard[batch as usize].lock_or_recover().open();
    }

    /// The warm-up (or a refetch) ended: nothing more to record.
    pub fn close(&self, batch: Batch) {
        self.guard[batch as usize].lock_or_recover().close();
    }

    /// A peer's message is about to be applied (called by the links before they apply it).
    pub fn invalidating(&self, items: &[Item]) {
        for guard in &self.guard {
            guard.lock_or_recover().record(items);
        }
    }

    /// A peer's message was applied: on a replica refetching, its keys are queued to be fetched
    /// again (after the removal, so a copy is never refused for the old value still held here).
    pub fn invalidated(&self, items: &[Item]) {
        let mut refetch = self.refetch.lock_or_recover();
        if !refetch.on {
            return;
        }
        let mut queued = false;
        for item in items {
            if let Item::Key { db, key } = item {
                let entry = (*db, key.clone());
                if refetch.queued.contains(&entry) {
                    continue;
                }
                if refetch.queue.len() >= REFETCH_QUEUE {
                    refetch.dropped += 1;
                    continue;
                }
                refetch.queued.insert(entry.clone());
                refetch.queue.push_back(entry);
                queued = true;
            }
        }
        drop(refetch);
        if queued {
            self.refetch_wake.notify_one();
        }
    }

    /// Starts or stops queueing invalidated keys (a replica whose link to its master is up, or
    /// not); stopping forgets the queue.
    pub fn set_refetching(&self, on: bool) {
        let mut refetch = self.refetch.lock_or_recover();
        if refetch.on != on {
            refetch.on = on;
            refetch.queue.clear();
            refetch.queued.clear();
        }
    }

    /// Up to `max` queued keys, taken out of the queue: a key invalidated again from now on is
    /// queued again.
    pub fn take_refetch(&self, max: usize) -> Vec<(usize, Bytes)> {
        let mut refetch = self.refetch.lock_or_recover();
        let n = max.min(refetch.queue.len());
        let taken: Vec<(usize, Bytes)> = refetch.queue.drain(..n).collect();
        for entry in &taken {
            refetch.queued.remove(entry);
        }
        taken
    }

    /// Counts keys stored by a refetch.
    pub fn refetch_stored(&self, keys: u64) {
        self.refetch.lock_or_recover().stored += keys;
    }

    /// Keys waiting to be fetched again, keys stored by refetches, and keys not queued since the
    /// queue was full (INFO cachet).
    pub fn refetch_figures(&self) -> (usize, u64, u64) {
        let refetch = self.refetch.lock_or_recover();
        (refetch.queue.len(), refetch.stored, refetch.dropped)
    }

    /// Coherence is dropping local data (a peer's flush, a link's recovery).
    pub fn dropping_data(&self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
        for guard in &self.guard {
            let mut guard = guard.lock_or_recover();
            if guard.open {
                guard.everything = true;
            }
        }
    }

    pub fn drops(&self) -> u64 {
        self.drops.load(Ordering::Relaxed)
    }

    /// Runs `store` unless `key` was invalidated since the batch was opened (`None` then). The
    /// record stays locked while `store` runs, so an invalidation applied meanwhile comes after
    /// the copy and removes it.
    pub fn store_unless_invalidated<R>(
        &self,
        batch: Batch,
        db: usize,
        key: &[u8],
        store: impl FnOnce() -> R,
    ) -> Option<R> {
        let guard = self.guard[batch as usize].lock_or_recover();
        if guard.everything || guard.keys.contains(&(db, Bytes::copy_from_slice(key))) {
            return None;
        }
        Some(store())
    }
}
