//! Background work: the cron (`hz` times a second: rates, memory peak, eviction after a lowered
//! limit, active expiry, giving back sparse tables), the sweeper of invalidated keys, and the
//! thread of the background compressor.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::expire::{active_expire_cycle, CYCLE_TIME_PERCENT};
use crate::engine::invalidate::SWEEP_BATCH;
use crate::engine::{now_ms, Keyspace};
use crate::state::Server;

/// Background work `hz` times a second: the active expiry cycle within its CPU budget, the
/// samples behind INFO's rates and memory peak, and closing MIGRATE's idle connections.
pub async fn cron(server: Arc<Server>) {
    loop {
        let hz = server.config.read().hz.max(1);
        let period = Duration::from_millis(1000 / hz as u64);
        tokio::time::sleep(period).await;
        server
            .stats
            .sample_rates(now_ms(), server.metrics.processed());
        server.used_memory();
        server.migrate_sockets.close_idle();
        crate::state::persistence::cron(&server);
        if server.keyspace.dictionaries.wants_training() {
            // Not awaited: a training (zstd's trainer on up to TRAIN_BYTES of samples) may take
            // longer than a tick, and needs no lock the cycle below takes.
            let server = server.clone();
            tokio::task::spawn_blocking(move || {
                let _ = server.keyspace.dictionaries.train(None, true);
            });
        }
        let budget = period * CYCLE_TIME_PERCENT / 100;
        let server = server.clone();
        let _ = tokio::task::spawn_blocking(move || {
            // Never between the commands of an EXEC.
            let shared = server.exec_gate.shared();
            let started = Instant::now();
            if evict_in_background(&server.keyspace, budget) {
                sample_latency(&server, "eviction-cycle", started);
            }
            let started = Instant::now();
            active_expire_cycle(&server.keyspace, now_ms(), budget);
            server
                .stats
                .expire_cycle_micros
                .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            sample_latency(&server, "expire-cycle", started);
            server.keyspace.shrink_to_fit();
            // Keys the cycle expired or evicted may have dependents.
            server.keyspace.invalidate_dependents();
            drop(shared);
            // And blocked clients: an XREADGROUP on a stream that expired is answered now.
            crate::state::blocking::serve_ready(&server);
        })
        .await;
    }
}

/// A latency monitor sample of `event`, which began at `started` (LATENCY LATEST...).
fn sample_latency(server: &Server, event: &str, started: Instant) {
    if server.latency.enabled() {
        let millis = started.elapsed().as_millis() as u64;
        server.latency.add_sample_if_needed(event, millis);
    }
}

/// Deletes the keys invalidations made stale, a batch per shard lock, yielding between batches so
/// that the worker it runs on keeps serving its clients.
/// How long the sweeper works between two yields to the clients of its worker thread.
const SWEEP_SLICE: Duration = Duration::from_micros(500);

pub async fn sweeper(server: Arc<Server>) {
    loop {
        server.keyspace.sweeper.wakeup.notified().await;
        loop {
            // Batches for up to SWEEP_SLICE, then a yield: per batch, the yield itself cost more
            // than the batch under client load (0.1M keys/s freed with 50 busy clients,
            // benches/invalidate.rs), while a slice this short delays a client by no more.
            // Never between the commands of an EXEC; the gate is released at every yield.
            let started = Instant::now();
            let mut swept = 0;
            {
                let _shared = server.exec_gate.shared();
                while started.elapsed() < SWEEP_SLICE {
                    let step = server.keyspace.sweep_step(SWEEP_BATCH);
                    server.keyspace.invalidate_dependents();
                    swept += step;
                    if step == 0 {
                        break;
                    }
                }
            }
            if swept == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
}

/// Starts the background compressor (`engine::backlog`) on a thread of its own in
/// `SCHED_IDLE`: it compresses with the CPU the connections leave, never in their turn. (A
/// preempted compressor holding a shard lock for its copy makes that shard's clients sleep,
/// which idles the CPU and lets it run again: the inversion lasts one short copy.) `None` if
/// the thread could not be started (logged): the backlog then fills once, its values wait for
/// eviction to compress them, and every later write compresses its own.
pub fn start_compressor(server: Arc<Server>) -> Option<std::thread::JoinHandle<()>> {
    let started = std::thread::Builder::new()
        .name("cachet-compress".into())
        .spawn(move || {
            if !crate::os::idle_thread_priority() {
                crate::os::lower_thread_priority(19);
            }
            server.keyspace.run_compressor();
        });
    match started {
        Ok(handle) => Some(handle),
        Err(err) => {
            tracing::warn!(%err, "the background compressor did not start");
            None
        }
    }
}

/// Brings the keyspace under a limit that was lowered at run time (CONFIG SET maxmemory), in small
/// steps within `budget`, so that clients keep being served meanwhile; writes also evict inline.
/// Whether it had anything to do (Redis samples `eviction-cycle` only then).
fn evict_in_background(keyspace: &Keyspace, budget: Duration) -> bool {
    const STEP: usize = 64;
    let started = Instant::now();
    let mut worked = false;
    while started.elapsed() < budget && keyspace.over_limit() {
        worked = true;
        if keyspace.evict_some(now_ms(), STEP) == 0 {
            break;
        }
    }
    // Regions whose budget CACHE.REGION SET lowered, the same way.
    while started.elapsed() < budget && keyspace.evict_regions(now_ms(), STEP) > 0 {
        worked = true;
    }
    worked
}
