//! CACHE.WARM's shared state: the request a client made (taken by the warm-up task,
//! `net::warm`), whether it should stop, and its progress for CACHE.WARM STATUS and INFO.
//! One warm-up runs at a time.

use std::collections::HashSet;
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
    /// What coherence invalidated while a batch of copies was on its way (`guard`).
    guard: Mutex<Guard>,
    /// Times coherence dropped local data (a peer's flush, a link's recovery): a cluster replica
    /// fills again from its master after each (`net::cluster_replica`).
    drops: AtomicU64,
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
    pub fn open_batch(&self) {
        let mut guard = self.guard.lock_or_recover();
        guard.open = true;
        guard.keys.clear();
        guard.everything = false;
    }

    /// The warm-up ended: nothing more to record.
    pub fn close(&self) {
        let mut guard = self.guard.lock_or_recover();
        guard.open = false;
        guard.keys.clear();
        guard.everything = false;
    }

    /// A peer's message is about to be applied (called by the links before they apply it).
    pub fn invalidating(&self, items: &[Item]) {
        let mut guard = self.guard.lock_or_recover();
        if !guard.open || guard.everything {
            return;
        }
        for item in items {
            match item {
                Item::Key { db, key } => {
                    guard.keys.insert((*db, key.clone()));
                }
                _ => guard.everything = true,
            }
        }
    }

    /// Coherence is dropping local data (a peer's flush, a link's recovery).
    pub fn dropping_data(&self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
        let mut guard = self.guard.lock_or_recover();
        if guard.open {
            guard.everything = true;
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
        db: usize,
        key: &[u8],
        store: impl FnOnce() -> R,
    ) -> Option<R> {
        let guard = self.guard.lock_or_recover();
        if guard.everything || guard.keys.contains(&(db, Bytes::copy_from_slice(key))) {
            return None;
        }
        Some(store())
    }
}
