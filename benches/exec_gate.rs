//! What the exec gate's shared side costs a command. Threads take and release the shared side in
//! a loop and the program prints nanoseconds per acquisition, next to the design it replaces: one
//! reader count (a single atomic every thread increments and decrements).
//! Run: `cargo bench --bench exec_gate` (threads: 1 and the CPUs available).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cachet::state::exec_gate::ExecGate;

const RUN: Duration = Duration::from_secs(1);

fn measure(threads: usize, op: impl Fn() + Send + Sync + 'static) -> f64 {
    let op = Arc::new(op);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (op, stop, done) = (op.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                let mut ops = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..1000 {
                        op();
                    }
                    ops += 1000;
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
    let per_thread_ops = done.load(Ordering::Relaxed) as f64 / threads as f64;
    started.elapsed().as_nanos() as f64 / per_thread_ops
}

fn main() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut thread_counts = vec![1, cpus];
    thread_counts.dedup();
    println!("threads | striped gate ns/op | one shared counter ns/op");
    for threads in thread_counts {
        let gate = Arc::new(ExecGate::default());
        let striped = measure(threads, move || drop(std::hint::black_box(gate.shared())));
        let counter = Arc::new(AtomicUsize::new(0));
        let single = measure(threads, move || {
            counter.fetch_add(1, Ordering::Acquire);
            counter.fetch_sub(1, Ordering::Release);
        });
        println!("{threads:>7} | {striped:>18.1} | {single:>24.1}");
    }
}
