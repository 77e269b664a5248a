//! CLIENT PAUSE: holds clients' commands until a deadline or CLIENT UNPAUSE, as Redis 7.0's
//! `pauseClients` and its postponed clients.
//!
//! A pause holds every command (ALL) or those that may write (WRITE: the `write` and
//! `may-replicate` commands, and an EXEC whose transaction has one). While it lasts the dataset
//! stays still: keys neither expire nor are evicted (`Keyspace::pause_changes_until`). A later
//! pause only extends: the deadline and the mode are the larger of the two.
//!
//! Held clients wait in their connection tasks, in the order they were held; when the pause ends
//! they go on in that order: a client goes on once its command is no longer held and no client
//! held before it is still to go on. One that disconnects leaves the queue.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::sync::LockExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PauseMode {
    Off = 0,
    Write = 1,
    All = 2,
}

#[derive(Default)]
struct PauseState {
    mode: u8,
    /// Unix ms at which the pause ends by itself.
    end_ms: u64,
    /// Held clients in the order they were held, each with whether its command may write.
    queue: VecDeque<(u64, bool)>,
}

#[derive(Default)]
pub struct ClientPause {
    /// The mode, readable without the lock: the hot path only asks whether anything is paused.
    mode: AtomicU8,
    state: Mutex<PauseState>,
    /// Woken on every change: a pause, an unpause, a held client that went on or left.
    pub changed: Notify,
}

impl ClientPause {
    /// Pauses until `end_ms`, or extends the pause in force (the later end, the wider mode).
    /// Returns the deadline now in force, for the keyspace to stay still until then.
    pub fn pause(&self, mode: PauseMode, end_ms: u64, now_ms: u64) -> u64 {
        let mut state = self.state.lock_or_recover();
        if state.end_ms <= now_ms {
            state.mode = PauseMode::Off as u8;
            state.end_ms = 0;
        }
        state.mode = state.mode.max(mode as u8);
        state.end_ms = state.end_ms.max(end_ms);
        self.mode.store(state.mode, Ordering::Relaxed);
        drop(state);
        self.changed.notify_waiters();
        self.end_ms()
    }

    pub fn unpause(&self) {
        let mut state = self.state.lock_or_recover();
        state.mode = PauseMode::Off as u8;
        state.end_ms = 0;
        self.mode.store(0, Ordering::Relaxed);
        drop(state);
        self.changed.notify_waiters();
    }

    /// Whether some pause may be in force (it may have just ended): the only question asked of
    /// every command.
    pub fn maybe_paused(&self) -> bool {
        self.mode.load(Ordering::Relaxed) != PauseMode::Off as u8
    }

    pub fn end_ms(&self) -> u64 {
        self.state.lock_or_recover().end_ms
    }

    /// Whether a command that may write (`writes`) or not is held at `now_ms`.
    pub fn holds(&self, writes: bool, now_ms: u64) -> bool {
        let mut state = self.state.lock_or_recover();
        if state.mode != PauseMode::Off as u8 && now_ms >= state.end_ms {
            // Ended by itself: commands stop asking.
            state.mode = PauseMode::Off as u8;
            self.mode.store(0, Ordering::Relaxed);
        }
        holds(&state, writes, now_ms)
    }

    /// Puts a held client at the end of the queue (once).
    pub fn enqueue(&self, id: u64, writes: bool) {
        let mut state = self.state.lock_or_recover();
        if !state.queue.iter().any(|(queued, _)| *queued == id) {
            state.queue.push_back((id, writes));
        }
    }

    /// Whether a queued client may go on: its command is no longer held, and every client held
    /// before it still is (those have nothing to run before it).
    pub fn may_go_on(&self, id: u64, now_ms: u64) -> bool {
        let state = self.state.lock_or_recover();
        for &(queued, writes) in &state.queue {
            if queued == id {
                return !holds(&state, writes, now_ms);
            }
            if !holds(&state, writes, now_ms) {
                return false;
            }
        }
        true
    }

    /// Clients held now (Redis counts them in `blocked_clients`: its postponed clients are
    /// blocked ones).
    pub fn held(&self) -> usize {
        if !self.maybe_paused() {
            return 0;
        }
        self.state.lock_or_recover().queue.len()
    }

    /// A held client went on (or left): those behind it may go on now.
    pub fn dequeue(&self, id: u64) {
        let mut state = self.state.lock_or_recover();
        let before = state.queue.len();
        state.queue.retain(|(queued, _)| *queued != id);
        let removed = state.queue.len() != before;
        drop(state);
        if removed {
            self.changed.notify_waiters();
        }
    }
}

fn holds(state: &PauseState, writes: bool, now_ms: u64) -> bool {
    if now_ms >= state.end_ms {
        return false;
    }
    state.mode == PauseMode::All as u8 || (state.mode == PauseMode::Write as u8 && writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_pause_only_extends() {
        let pause = ClientPause::default();
        assert_eq!(pause.pause(PauseMode::All, 2_000, 1_000), 2_000);
        // Shorter and narrower: the ALL pause until 2000 stays.
        assert_eq!(pause.pause(PauseMode::Write, 1_500, 1_000), 2_000);
        assert!(pause.holds(false, 1_999));
        assert!(!pause.holds(true, 2_000));
        // After its end, a new pause starts afresh.
        pause.pause(PauseMode::Write, 3_000, 2_500);
        assert!(!pause.holds(false, 2_600));
        assert!(pause.holds(true, 2_600));
        pause.unpause();
        assert!(!pause.holds(true, 2_600));
        assert!(!pause.maybe_paused());
    }

    #[test]
    fn held_clients_go_on_in_order() {
        let pause = ClientPause::default();
        pause.pause(PauseMode::All, 10_000, 0);
        pause.enqueue(7, true);
        pause.enqueue(3, false);
        assert!(!pause.may_go_on(7, 1));
        pause.unpause();
        pause.pause(PauseMode::Write, 10_000, 0);
        // 7 writes and is held again; 3 only reads and may overtake it.
        assert!(!pause.may_go_on(7, 1));
        assert!(pause.may_go_on(3, 1));
        pause.unpause();
        assert!(pause.may_go_on(7, 1));
        assert!(!pause.may_go_on(3, 1));
        pause.dequeue(7);
        assert!(pause.may_go_on(3, 1));
    }
}
