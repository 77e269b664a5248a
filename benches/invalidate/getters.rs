//! The background GET load: `clients` connections on one single-threaded tokio runtime pinned to
//! the client CPU, each sending one GET, waiting for its reply, and sending the next (closed loop,
//! as redis-benchmark without -P). Every GET is recorded with its send time and latency, so the
//! caller can cut the run into windows afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Clone, Copy)]
pub struct Sample {
    /// Microseconds from the run's epoch to the send.
    pub sent_us: u64,
    pub latency_us: u32,
    /// The GET was for a key of the invalidated group (else an untouched key).
    pub tagged: bool,
    pub hit: bool,
}

pub struct KeySpace {
    /// Untouched keys: `other:NNNNNNNN`.
    pub others: u32,
    /// The invalidated group's keys: `{prefix}NNNNNNNN`, ids `0..tagged`.
    pub tagged_prefix: &'static str,
    pub tagged: u32,
    /// Share of GETs on the invalidated group's keys.
    pub tagged_frac: f64,
}

pub struct Getters {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<Vec<Sample>, String>>,
}

pub fn key(prefix: &str, id: u32) -> Vec<u8> {
    format!("{prefix}{id:08}").into_bytes()
}

impl Getters {
    pub fn start(
        port: u16,
        clients: usize,
        cpu: Option<usize>,
        keys: KeySpace,
        epoch: Instant,
    ) -> Getters {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            if let Some(cpu) = cpu {
                super::server::pin_self(cpu);
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("runtime: {e}"))?;
            let keys = Arc::new(keys);
            runtime.block_on(async move {
                let mut tasks = Vec::new();
                for seed in 0..clients {
                    let (flag, keys) = (flag.clone(), keys.clone());
                    tasks.push(tokio::spawn(async move {
                        client(port, seed as u64 + 1, &keys, &flag, epoch).await
                    }));
                }
                let mut all = Vec::new();
                for task in tasks {
                    match task.await {
                        Ok(Ok(samples)) => all.extend(samples),
                        Ok(Err(e)) => return Err(e),
                        Err(e) => return Err(format!("GET client: {e}")),
                    }
                }
                Ok(all)
            })
        });
        Getters { stop, thread }
    }

    pub fn stop(self) -> Result<Vec<Sample>, String> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| "GET client thread panicked".to_string())?
    }
}

async fn client(
    port: u16,
    seed: u64,
    keys: &KeySpace,
    stop: &AtomicBool,
    epoch: Instant,
) -> Result<Vec<Sample>, String> {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("GET client connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::with_capacity(1 << 14, read);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut samples = Vec::with_capacity(1 << 16);
    let mut request = Vec::with_capacity(64);
    let mut line = Vec::with_capacity(64);
    let io = |e: std::io::Error| format!("GET client: {e}");
    while !stop.load(Ordering::Relaxed) {
        let tagged = keys.tagged > 0 && rng.f64() < keys.tagged_frac;
        let key = if tagged {
            key(keys.tagged_prefix, rng.u32(..keys.tagged))
        } else {
            key("other:", rng.u32(..keys.others.max(1)))
        };
        request.clear();
        super::resp::encode(&mut request, &[b"GET", &key]);
        let sent = Instant::now();
        write.write_all(&request).await.map_err(io)?;
        let hit = super::resp::skip_reply(&mut read, &mut line)
            .await
            .map_err(|e| format!("GET {e}"))?;
        let done = Instant::now();
        samples.push(Sample {
            sent_us: sent.duration_since(epoch).as_micros() as u64,
            latency_us: done.duration_since(sent).as_micros().min(u32::MAX as u128) as u32,
            tagged,
            hit,
        });
    }
    Ok(samples)
}
