//! The background load of the latency scenario: `writers` connections SET random keys on A and
//! `readers` connections GET random keys on B, all on one single-threaded tokio runtime pinned to
//! the client CPU, one request in flight per connection (as redis-benchmark without -P).
//!
//! Full speed: each connection sends its next request as soon as the reply arrives. Paced: each
//! connection follows a uniform schedule of `rate / connections` requests per second and sends
//! whenever it is behind it (tokio's timer has millisecond resolution, so the load arrives in
//! bursts of up to one request per connection per millisecond; the average is the rate).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct Spec {
    pub a_port: u16,
    pub b_port: u16,
    pub writers: usize,
    pub readers: usize,
    /// Total writes/s on A, reads/s on B; None: full speed.
    pub write_rate: Option<f64>,
    pub read_rate: Option<f64>,
    pub keys: u32,
    pub value_size: usize,
    pub cpu: Option<usize>,
}

#[derive(Default)]
pub struct Counters {
    pub writes: AtomicU64,
    pub reads: AtomicU64,
    pub hits: AtomicU64,
}

pub struct Load {
    stop: Arc<AtomicBool>,
    pub counters: Arc<Counters>,
    thread: JoinHandle<Result<(), String>>,
}

pub fn data_key(id: u32) -> Vec<u8> {
    format!("key:{id:08}").into_bytes()
}

impl Load {
    pub fn start(spec: Spec) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let (flag, shared) = (stop.clone(), counters.clone());
        let thread = std::thread::spawn(move || {
            if let Some(cpu) = spec.cpu {
                super::server::pin_self(cpu);
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("runtime: {e}"))?;
            runtime.block_on(async move {
                let value = Arc::new(vec![b'v'; spec.value_size]);
                let mut tasks = Vec::new();
                let per = |rate: Option<f64>, n: usize| rate.map(|r| r / n.max(1) as f64);
                for i in 0..spec.writers {
                    let client = Client {
                        port: spec.a_port,
                        write: Some(value.clone()),
                        rate: per(spec.write_rate, spec.writers),
                        keys: spec.keys,
                        seed: i as u64 + 1,
                    };
                    tasks.push(tokio::spawn(client.run(flag.clone(), shared.clone())));
                }
                for i in 0..spec.readers {
                    let client = Client {
                        port: spec.b_port,
                        write: None,
                        rate: per(spec.read_rate, spec.readers),
                        keys: spec.keys,
                        seed: 1000 + i as u64,
                    };
                    tasks.push(tokio::spawn(client.run(flag.clone(), shared.clone())));
                }
                for task in tasks {
                    task.await.map_err(|e| format!("load client: {e}"))??;
                }
                Ok(())
            })
        });
        Load {
            stop,
            counters,
            thread,
        }
    }

    pub fn stop(self) -> Result<(), String> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| "load thread panicked".to_string())?
    }
}

struct Client {
    port: u16,
    /// Some(value): a writer (SET); None: a reader (GET).
    write: Option<Arc<Vec<u8>>>,
    /// Requests/s of this connection; None: full speed.
    rate: Option<f64>,
    keys: u32,
    seed: u64,
}

impl Client {
    async fn run(self, stop: Arc<AtomicBool>, counters: Arc<Counters>) -> Result<(), String> {
        let io = |e: std::io::Error| format!("load client on port {}: {e}", self.port);
        let stream = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::with_capacity(1 << 14, read);
        let mut rng = fastrand::Rng::with_seed(self.seed);
        let (mut request, mut line) = (Vec::with_capacity(256), Vec::with_capacity(64));
        let start = Instant::now();
        let mut done: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            if let Some(rate) = self.rate {
                let due = start + Duration::from_secs_f64(done as f64 / rate);
                if Instant::now() < due {
                    tokio::time::sleep_until(due.into()).await;
                    continue;
                }
            }
            let key = data_key(rng.u32(..self.keys.max(1)));
            request.clear();
            match &self.write {
                Some(value) => super::resp::encode(&mut request, &[b"SET", &key, value]),
                None => super::resp::encode(&mut request, &[b"GET", &key]),
            }
            write.write_all(&request).await.map_err(io)?;
            let hit = super::resp::skip_reply(&mut read, &mut line)
                .await
                .map_err(|e| format!("port {} {e}", self.port))?;
            done += 1;
            if self.write.is_some() {
                counters.writes.fetch_add(1, Ordering::Relaxed);
            } else {
                counters.reads.fetch_add(1, Ordering::Relaxed);
                if hit {
                    counters.hits.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }
}
