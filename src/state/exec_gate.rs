//! The exec gate: what makes a MULTI/EXEC transaction atomic across shards. Every command (and
//! the cron's active expiry and eviction) runs holding the gate *shared*; EXEC holds it
//! *exclusively*, so nothing else touches the keyspace between the commands of one transaction,
//! whichever shards they use.
//!
//! The shared side is taken for every command, so it must not become a point of contention on
//! several worker threads: a single reader count would bounce one cache line between all cores on
//! every command. The gate is therefore striped: one read-write lock per stripe, each on its own
//! cache line, and a thread always takes the stripe it was assigned on first use. Uncontended, the
//! shared side costs one atomic on a line that stays in the thread's own cache. EXEC takes every
//! stripe, in ascending order (two EXECs cannot deadlock), which is cheap since there are only a
//! few stripes and EXEC is rare next to plain commands.
//!
//! Rules that keep it deadlock free: never take the gate while holding a shard lock, and never take
//! it twice on one thread (EXEC runs its queued commands without taking the shared side again).
//!
//! A script (EVAL, FCALL) holds the gate exclusively like EXEC, but for as long as it runs: past
//! `busy-reply-threshold` the others must answer `BUSY` instead of waiting, so a command that finds
//! the gate taken waits in short timed parks (`shared_unless`) and asks between two whether to give
//! up. The locks are `parking_lot`'s for that timed wait (std's have none); they do not poison, so
//! `sync`'s recovery policy has nothing to do here (the gate guards no data).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// One stripe per cache line (128 bytes: adjacent-line prefetching pairs 64-byte lines).
#[repr(align(128))]
#[derive(Default)]
struct Stripe(RwLock<()>);

/// How long a command waiting for the gate parks before it asks again whether to give up.
const GATE_PARK: Duration = Duration::from_millis(2);

pub struct ExecGate {
    stripes: Box<[Stripe]>,
    mask: usize,
}

/// Stripes handed out to threads in turn, on each thread's first use.
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_STRIPE: Cell<Option<usize>> = const { Cell::new(None) };
}

fn thread_stripe() -> usize {
    THREAD_STRIPE.with(|stripe| match stripe.get() {
        Some(index) => index,
        None => {
            let index = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed);
            stripe.set(Some(index));
            index
        }
    })
}

/// Held by EXEC: every stripe.
pub struct Exclusive<'a> {
    _guards: Vec<RwLockWriteGuard<'a, ()>>,
}

impl Default for ExecGate {
    /// Twice as many stripes as CPUs: the runtime's workers (one per CPU) rarely share one, even
    /// with the blocking pool's threads (cron) drawing stripes from the same counter.
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        ExecGate::with_stripes(cpus * 2)
    }
}

impl ExecGate {
    /// `stripes` is rounded up to a power of two, at most 64.
    pub fn with_stripes(stripes: usize) -> Self {
        let count = stripes.clamp(1, 64).next_power_of_two();
        ExecGate {
            stripes: (0..count).map(|_| Stripe::default()).collect(),
            mask: count - 1,
        }
    }

    /// The side every command holds while it runs.
    pub fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.stripes[thread_stripe() & self.mask].0.read()
    }

    /// The shared side, or `None` as soon as `give_up` says so while the gate is held exclusively
    /// (a script past `busy-reply-threshold`): uncontended, the same single atomic as `shared`.
    pub fn shared_unless(&self, give_up: impl Fn() -> bool) -> Option<RwLockReadGuard<'_, ()>> {
        let stripe = &self.stripes[thread_stripe() & self.mask].0;
        if let Some(guard) = stripe.try_read() {
            return Some(guard);
        }
        loop {
            if give_up() {
                return None;
            }
            if let Some(guard) = stripe.try_read_for(GATE_PARK) {
                return Some(guard);
            }
        }
    }

    /// The exclusive side, or `None` as soon as `give_up` says so while another holder keeps it
    /// (a script past `busy-reply-threshold`): a second EVAL or EXEC answers BUSY instead of
    /// waiting. Stripes are taken in order, as `exclusive` does, and given back on giving up.
    pub fn exclusive_unless(&self, give_up: impl Fn() -> bool) -> Option<Exclusive<'_>> {
        let mut guards = Vec::with_capacity(self.stripes.len());
        for stripe in self.stripes.iter() {
            loop {
                if let Some(guard) = stripe.0.try_write_for(GATE_PARK) {
                    guards.push(guard);
                    break;
                }
                if give_up() {
                    return None;
                }
            }
        }
        Some(Exclusive { _guards: guards })
    }

    /// The side EXEC holds: waits for every running command to finish and keeps new ones out.
    pub fn exclusive(&self) -> Exclusive<'_> {
        Exclusive {
            _guards: self.stripes.iter().map(|stripe| stripe.0.write()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn stripes_are_a_power_of_two_and_bounded() {
        assert_eq!(ExecGate::with_stripes(0).stripes.len(), 1);
        assert_eq!(ExecGate::with_stripes(3).stripes.len(), 4);
        assert_eq!(ExecGate::with_stripes(1000).stripes.len(), 64);
    }

    #[test]
    fn exclusive_waits_for_shared_holders_on_any_stripe() {
        let gate = Arc::new(ExecGate::with_stripes(4));
        let inside = Arc::new(AtomicBool::new(false));
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let reader = {
            let gate = gate.clone();
            let inside = inside.clone();
            std::thread::spawn(move || {
                let _shared = gate.shared();
                inside.store(true, Ordering::SeqCst);
                let _ = held_tx.send(());
                let _ = release_rx.recv();
                inside.store(false, Ordering::SeqCst);
            })
        };
        let _ = held_rx.recv();
        let writer = {
            let gate = gate.clone();
            let inside = inside.clone();
            std::thread::spawn(move || {
                let _exclusive = gate.exclusive();
                !inside.load(Ordering::SeqCst)
            })
        };
        let _ = release_tx.send(());
        assert!(writer.join().unwrap_or(false));
        let _ = reader.join();
    }
}
