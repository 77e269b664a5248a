//! What running commands leaves behind for INFO: per-command calls, time, rejected and failed
//! calls (`commandstats`), latency histograms (`latencystats`, `LATENCY HISTOGRAM`), error replies
//! by code (`errorstats`, `total_error_replies`) and `total_commands_processed`.
//!
//! Redis keeps these in its command table, touched by its one thread. cachet runs commands on
//! every worker thread, and one shared counter per command would have every GET of every thread
//! fight over the same cache line. So each thread records into its own `ThreadMetrics` (plain
//! loads and stores of atomics only it writes: no locked instruction on the hot path) and readers
//! add the threads up. Commands are known by their slot in the command table (`commands::observe`
//! numbers them); a thread's table has one entry per slot, histograms allocated on first use.
//!
//! `CONFIG RESETSTAT` bumps an epoch instead of zeroing other threads' counters under their feet:
//! a thread whose counters belong to an older epoch clears them itself before its next record, and
//! readers count only the threads of the current epoch.
//!
//! Error replies are rare: one mutex-guarded map, as Redis's `server.errors` rax (sorted by code).

pub mod histogram;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::sync::LockExt;
use histogram::{Histogram, Snapshot};

/// Longest error code Redis's `afterErrorReply` looks for a space in (then it counts `ERR`).
const ERROR_CODE_SEARCH: usize = 32;

/// One command's counters in one thread.
#[derive(Default)]
struct CommandCounters {
    calls: AtomicU64,
    nanos: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    histogram: OnceLock<Box<Histogram>>,
}

/// One command's counters summed over threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommandTotals {
    pub calls: u64,
    pub micros: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// What one thread recorded since the epoch it is stamped with.
pub struct ThreadMetrics {
    epoch: AtomicU64,
    processed: AtomicU64,
    commands: Box<[CommandCounters]>,
}

/// Adds one with a load and a store: only the owning thread writes.
fn bump(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Ordering::Relaxed) + by, Ordering::Relaxed);
}

impl ThreadMetrics {
    fn new(slots: usize, epoch: u64) -> Self {
        ThreadMetrics {
            epoch: AtomicU64::new(epoch),
            processed: AtomicU64::new(0),
            commands: (0..slots).map(|_| CommandCounters::default()).collect(),
        }
    }

    fn clear(&self) {
        self.processed.store(0, Ordering::Relaxed);
        for command in self.commands.iter() {
            for counter in [
                &command.calls,
                &command.nanos,
                &command.rejected,
                &command.failed,
            ] {
                counter.store(0, Ordering::Relaxed);
            }
            if let Some(histogram) = command.histogram.get() {
                histogram.clear();
            }
        }
    }

    /// A command counted as a call when it blocked answered an error once unblocked (its stream
    /// or group went, CLIENT UNBLOCK ... ERROR): Redis's `updateStatsOnUnblock` with errors.
    pub fn failed_after_block(&self, slot: usize) {
        if let Some(command) = self.commands.get(slot) {
            bump(&command.failed, 1);
        }
    }

    /// A command ran (Redis's `call`): its time, whether it failed, and its latency sample when
    /// `histogram` (`latency-tracking`).
    pub fn called(&self, slot: usize, nanos: u64, failed: bool, histogram: bool) {
        bump(&self.processed, 1);
        let Some(command) = self.commands.get(slot) else {
            return;
        };
        bump(&command.calls, 1);
        bump(&command.nanos, nanos);
        if failed {
            bump(&command.failed, 1);
        }
        if histogram {
            command
                .histogram
                .get_or_init(|| Box::new(Histogram::default()))
                .record(nanos);
        }
    }

    /// A command refused before it ran (arity, authentication, OOM...): Redis's `rejected_calls`.
    pub fn rejected(&self, slot: usize) {
        if let Some(command) = self.commands.get(slot) {
            bump(&command.rejected, 1);
        }
    }
}

thread_local! {
    /// This thread's metrics, by server (tests run several servers in one process).
    static LOCAL: RefCell<Vec<(u64, Arc<ThreadMetrics>)>> = const { RefCell::new(Vec::new()) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

pub struct Metrics {
    /// Tells this server's thread metrics from another's in the same thread.
    id: u64,
    epoch: AtomicU64,
    threads: Mutex<Vec<Arc<ThreadMetrics>>>,
    errors: Mutex<BTreeMap<Vec<u8>, u64>>,
    total_error_replies: AtomicU64,
    /// `latency-tracking`, read on every command.
    pub tracking: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            epoch: AtomicU64::new(0),
            threads: Mutex::default(),
            errors: Mutex::default(),
            total_error_replies: AtomicU64::new(0),
            tracking: AtomicBool::new(true),
        }
    }
}

impl Metrics {
    /// Runs `f` with the calling thread's metrics (`slots` commands), registering them on the
    /// thread's first command and clearing them first after a reset.
    pub fn with_thread<R>(&self, slots: usize, f: impl FnOnce(&ThreadMetrics) -> R) -> R {
        let epoch = self.epoch.load(Ordering::Relaxed);
        LOCAL.with(|local| {
            let cache = local.borrow();
            let Some((_, metrics)) = cache.iter().find(|(id, _)| *id == self.id) else {
                drop(cache);
                let metrics = Arc::new(ThreadMetrics::new(slots, epoch));
                self.threads.lock_or_recover().push(metrics.clone());
                local.borrow_mut().push((self.id, metrics));
                return self.with_thread(slots, f);
            };
            if metrics.epoch.load(Ordering::Relaxed) != epoch {
                metrics.clear();
                metrics.epoch.store(epoch, Ordering::Relaxed);
            }
            f(metrics)
        })
    }

    /// The threads whose counters belong to the current epoch.
    fn current_threads(&self) -> Vec<Arc<ThreadMetrics>> {
        let epoch = self.epoch.load(Ordering::Relaxed);
        self.threads
            .lock_or_recover()
            .iter()
            .filter(|t| t.epoch.load(Ordering::Relaxed) == epoch)
            .cloned()
            .collect()
    }

    /// `total_commands_processed`.
    pub fn processed(&self) -> u64 {
        self.current_threads()
            .iter()
            .map(|t| t.processed.load(Ordering::Relaxed))
            .sum()
    }

    /// Every slot's totals, indexed by slot (`slots` long).
    pub fn command_totals(&self, slots: usize) -> Vec<CommandTotals> {
        let mut totals = vec![CommandTotals::default(); slots];
        let mut nanos = vec![0u64; slots];
        for thread in self.current_threads() {
            for (slot, command) in thread.commands.iter().enumerate().take(slots) {
                let total = &mut totals[slot];
                total.calls += command.calls.load(Ordering::Relaxed);
                total.rejected += command.rejected.load(Ordering::Relaxed);
                total.failed += command.failed.load(Ordering::Relaxed);
                nanos[slot] += command.nanos.load(Ordering::Relaxed);
            }
        }
        for (total, nanos) in totals.iter_mut().zip(nanos) {
            total.micros = nanos / 1000;
        }
        totals
    }

    /// A slot's latency histogram summed over threads; `None` when nothing was recorded.
    pub fn histogram(&self, slot: usize) -> Option<Snapshot> {
        let mut snapshot = Snapshot::default();
        let mut any = false;
        for thread in self.current_threads() {
            if let Some(histogram) = thread.commands.get(slot).and_then(|c| c.histogram.get()) {
                histogram.add_to(&mut snapshot);
                any = true;
            }
        }
        (any && snapshot.total > 0).then_some(snapshot)
    }

    /// An error reply was sent (Redis's `afterErrorReply`): counted by its code, the first word
    /// of `message` when a space comes within 32 bytes, else `ERR`.
    pub fn error_reply(&self, message: &[u8]) {
        self.total_error_replies.fetch_add(1, Ordering::Relaxed);
        let searched = &message[..message.len().min(ERROR_CODE_SEARCH)];
        let code = match searched.iter().position(|&b| b == b' ') {
            Some(end) => &message[..end],
            None => b"ERR",
        };
        *self
            .errors
            .lock_or_recover()
            .entry(code.to_vec())
            .or_default() += 1;
    }

    pub fn total_error_replies(&self) -> u64 {
        self.total_error_replies.load(Ordering::Relaxed)
    }

    /// (code, count) in code order.
    pub fn errors(&self) -> Vec<(Vec<u8>, u64)> {
        self.errors
            .lock_or_recover()
            .iter()
            .map(|(code, count)| (code.clone(), *count))
            .collect()
    }

    /// `CONFIG RESETSTAT`: commands, histograms and errors start again from zero.
    pub fn reset(&self) {
        self.epoch.fetch_add(1, Ordering::Relaxed);
        self.errors.lock_or_recover().clear();
        self.total_error_replies.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_add_up_and_reset_by_epoch() {
        let metrics = Arc::new(Metrics::default());
        metrics.with_thread(3, |t| t.called(1, 5_000, false, true));
        let other = metrics.clone();
        std::thread::spawn(move || {
            other.with_thread(3, |t| {
                t.called(1, 3_000, true, true);
                t.rejected(2);
            })
        })
        .join()
        .unwrap();
        let totals = metrics.command_totals(3);
        assert_eq!(
            totals[1],
            CommandTotals {
                calls: 2,
                micros: 8,
                rejected: 0,
                failed: 1
            }
        );
        assert_eq!(totals[2].rejected, 1);
        assert_eq!(metrics.processed(), 2);
        assert_eq!(metrics.histogram(1).map(|h| h.total), Some(2));
        assert!(metrics.histogram(0).is_none());
        metrics.reset();
        assert_eq!(metrics.processed(), 0);
        assert_eq!(metrics.command_totals(3)[1], CommandTotals::default());
        assert!(metrics.histogram(1).is_none());
        metrics.with_thread(3, |t| t.called(0, 1_000, false, true));
        assert_eq!(metrics.processed(), 1);
        assert!(metrics.histogram(1).is_none());
    }

    #[test]
    fn errors_by_code() {
        let metrics = Metrics::default();
        metrics.error_reply(b"ERR syntax error");
        metrics.error_reply(b"WRONGTYPE Operation against a key");
        metrics.error_reply(b"ERR value is not an integer");
        metrics.error_reply(b"NOSPACEINTHISVERYLONGERRORCODEOVER32BYTES");
        assert_eq!(
            metrics.errors(),
            vec![(b"ERR".to_vec(), 3), (b"WRONGTYPE".to_vec(), 1)]
        );
        assert_eq!(metrics.total_error_replies(), 4);
    }
}
