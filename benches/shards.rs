//! How many shards? Threads hammer the keyspace with a GET/SET mix (90/10) over 1M keys through the
//! same `Keyspace::with_key` path the commands use, for several shard counts, and print ops/s.
//! Run: `cargo bench --bench shards` (threads = CPUs available; set BENCH_THREADS to change).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cachet::engine::{now_ms, Entry, Keyspace};

const KEYS: u64 = 1_000_000;
const RUN: Duration = Duration::from_secs(2);

fn run(shards: usize, threads: usize) -> f64 {
    let keyspace = Arc::new(Keyspace::new(shards, 1));
    let now = now_ms();
    for i in 0..KEYS {
        let key = format!("key:{i:012}");
        keyspace.with_key(0, key.as_bytes(), now, |view, hash| {
            view.insert(hash, Entry::new_string(key.as_bytes(), &[b'x'; 100], 0));
        });
    }
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (keyspace, stop, done) = (keyspace.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(t as u64);
                let mut ops = 0u64;
                let mut key = Vec::with_capacity(16);
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        key.clear();
                        key.extend_from_slice(format!("key:{:012}", rng.u64(..KEYS)).as_bytes());
                        let now = now_ms();
                        if rng.u8(..10) == 0 {
                            keyspace.with_key(0, &key, now, |view, hash| {
                                view.insert(hash, Entry::new_string(&key, &[b'y'; 100], 0));
                            });
                        } else {
                            keyspace.with_key(0, &key, now, |view, hash| {
                                view.read(hash, &key).map(|e| e.string_len())
                            });
                        }
                        ops += 1;
                    }
                }
                done.fetch_add(ops, Ordering::Relaxed);
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(RUN);
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let threads = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    println!("threads={threads} keys={KEYS} mix=90% GET / 10% SET");
    println!("{:>7} {:>12}", "shards", "ops/s");
    for shards in [1, 2, 4, 16, 64, 256] {
        println!("{shards:>7} {:>12.0}", run(shards, threads));
    }
}
