//! A minimal RESP2 client over a blocking TcpStream and the cache-aside replay loop. Hand-rolled
//! rather than the `redis` crate so the hot loop encodes straight into one buffer per batch and
//! skips hit values without allocating.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::ops::Range;
use std::time::{Duration, Instant};

use super::trace::{Workload, KEY_LEN, MAX_VALUE};

pub enum Reply {
    Nil,
    Bulk(Vec<u8>),
    Status(String),
    Error(String),
    Int(i64),
    Array(Vec<Reply>),
}

impl Reply {
    pub fn text(&self) -> String {
        match self {
            Reply::Nil => "(nil)".into(),
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Reply::Status(s) | Reply::Error(s) => s.clone(),
            Reply::Int(i) => i.to_string(),
            Reply::Array(items) => format!("[{} items]", items.len()),
        }
    }
}

pub struct Conn {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    line: Vec<u8>,
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl Conn {
    pub fn connect(port: u16, timeout: Duration) -> io::Result<Conn> {
        let writer = TcpStream::connect(("127.0.0.1", port))?;
        writer.set_nodelay(true)?;
        writer.set_read_timeout(Some(timeout))?;
        let reader = BufReader::with_capacity(1 << 16, writer.try_clone()?);
        Ok(Conn {
            writer,
            reader,
            line: Vec::new(),
        })
    }

    pub fn command(&mut self, args: &[&[u8]]) -> io::Result<Reply> {
        let mut buf = Vec::new();
        encode(&mut buf, args);
        self.writer.write_all(&buf)?;
        self.read_reply()
    }

    /// Writes already-encoded commands (a pipeline); read their replies with `read_reply`.
    /// (The invalidation bench pipelines; the hit-ratio replay, which shares this file, does not.)
    #[allow(dead_code)]
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    fn read_line(&mut self) -> io::Result<&[u8]> {
        self.line.clear();
        self.reader.read_until(b'\n', &mut self.line)?;
        if self.line.len() < 3 || !self.line.ends_with(b"\r\n") {
            return Err(bad(format!(
                "connection closed or bad line {:?}",
                String::from_utf8_lossy(&self.line)
            )));
        }
        Ok(&self.line[..self.line.len() - 2])
    }

    fn read_int_line(&mut self) -> io::Result<(u8, i64, String)> {
        let line = self.read_line()?;
        let text = String::from_utf8_lossy(&line[1..]).into_owned();
        let n = text.parse::<i64>().unwrap_or(0);
        Ok((line[0], n, text))
    }

    pub fn read_reply(&mut self) -> io::Result<Reply> {
        let (kind, n, text) = self.read_int_line()?;
        Ok(match kind {
            b'+' => Reply::Status(text),
            b'-' => Reply::Error(text),
            b':' => Reply::Int(n),
            b'_' => Reply::Nil,
            b'$' | b'=' if n < 0 => Reply::Nil,
            b'$' | b'=' => {
                let mut body = vec![0; n as usize + 2];
                self.reader.read_exact(&mut body)?;
                body.truncate(n as usize);
                Reply::Bulk(body)
            }
            b'*' if n < 0 => Reply::Nil,
            b'*' => Reply::Array(
                (0..n)
                    .map(|_| self.read_reply())
                    .collect::<io::Result<_>>()?,
            ),
            _ => return Err(bad(format!("unexpected reply {text:?}"))),
        })
    }

    /// A GET reply: `Ok(Some(len))` on a hit (value skipped), `Ok(None)` on a miss, `Err(text)` for
    /// an error reply.
    fn read_get(&mut self) -> io::Result<Result<Option<usize>, String>> {
        let (kind, n, text) = self.read_int_line()?;
        match kind {
            b'$' if n < 0 => Ok(Ok(None)),
            b'_' => Ok(Ok(None)),
            b'$' => {
                let mut left = n as usize + 2;
                while left > 0 {
                    let chunk = self.reader.fill_buf()?;
                    if chunk.is_empty() {
                        return Err(bad("connection closed in a value".into()));
                    }
                    let take = chunk.len().min(left);
                    self.reader.consume(take);
                    left -= take;
                }
                Ok(Ok(Some(n as usize)))
            }
            b'-' => Ok(Err(text)),
            _ => Err(bad(format!("unexpected GET reply {text:?}"))),
        }
    }
}

pub fn encode(buf: &mut Vec<u8>, args: &[&[u8]]) {
    buf.push(b'*');
    buf.extend_from_slice(itoa::Buffer::new().format(args.len()).as_bytes());
    buf.extend_from_slice(b"\r\n");
    for arg in args {
        buf.push(b'$');
        buf.extend_from_slice(itoa::Buffer::new().format(arg.len()).as_bytes());
        buf.extend_from_slice(b"\r\n");
        buf.extend_from_slice(arg);
        buf.extend_from_slice(b"\r\n");
    }
}

pub fn key_name(id: u32) -> [u8; KEY_LEN] {
    let mut key = *b"key:00000000";
    let mut n = id;
    for slot in key[4..].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    key
}

#[derive(Clone, Copy, PartialEq)]
pub enum SetMode {
    Set,
    /// `CACHE.SET k v COST c`: cachet's cost-aware insert.
    CacheSetCost,
}

#[derive(Default, Clone)]
pub struct Stats {
    pub measured: u64,
    pub hits: u64,
    pub bytes: u64,
    pub hit_bytes: u64,
    pub cost: u64,
    pub hit_cost: u64,
    pub sets: u64,
    pub get_errors: u64,
    pub set_errors: u64,
    /// Hits whose value length differs from what was stored: a server bug, should stay 0.
    pub wrong_len: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
}

impl Stats {
    /// Pools another round's counters into this one (ratios of sums, not means of ratios).
    pub fn merge(&mut self, o: &Stats) {
        self.measured += o.measured;
        self.hits += o.hits;
        self.bytes += o.bytes;
        self.hit_bytes += o.hit_bytes;
        self.cost += o.cost;
        self.hit_cost += o.hit_cost;
        self.sets += o.sets;
        self.get_errors += o.get_errors;
        self.set_errors += o.set_errors;
        self.wrong_len += o.wrong_len;
        self.seconds += o.seconds;
        if self.first_error.is_none() {
            self.first_error.clone_from(&o.first_error);
        }
    }
    pub fn object(&self) -> f64 {
        ratio(self.hits, self.measured)
    }
    pub fn byte(&self) -> f64 {
        ratio(self.hit_bytes, self.bytes)
    }
    pub fn cost(&self) -> f64 {
        ratio(self.hit_cost, self.cost)
    }
    fn error(&mut self, text: String) {
        self.first_error.get_or_insert(text);
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Replays requests `requests` of the trace cache-aside: a batch of GETs is pipelined, then one SET
/// per distinct key that missed in it. A workload with `writes` sends its SETs in their places in
/// the batch instead and leaves misses unfilled. Only requests in `scored` count. `requests.start` should be
/// a multiple of `batch`, so that a replay in two parts batches as one does.
pub fn replay(
    conn: &mut Conn,
    w: &Workload,
    batch: usize,
    requests: Range<usize>,
    scored: Range<usize>,
    mode: SetMode,
    rate: u64,
) -> io::Result<Stats> {
    let started = Instant::now();
    let value = vec![b'v'; MAX_VALUE as usize];
    let mut stats = Stats::default();
    let mut buf = Vec::with_capacity(1 << 20);
    let mut missed: Vec<u32> = Vec::with_capacity(batch);
    let part = &w.trace[requests.start.min(w.trace.len())..requests.end.min(w.trace.len())];
    for (b, chunk) in part.chunks(batch.max(1)).enumerate() {
        let first = requests.start + b * batch.max(1);
        if rate > 0 {
            let due = Duration::from_secs_f64((first - requests.start) as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let is_write = |i: usize| w.writes.get(first + i) == Some(&true);
        buf.clear();
        for (i, &id) in chunk.iter().enumerate() {
            if is_write(i) {
                encode(
                    &mut buf,
                    &[b"SET", &key_name(id), &value[..w.size(id) as usize]],
                );
            } else {
                encode(&mut buf, &[b"GET", &key_name(id)]);
            }
        }
        conn.writer.write_all(&buf)?;
        missed.clear();
        for (i, &id) in chunk.iter().enumerate() {
            let size = w.size(id);
            if is_write(i) {
                stats.sets += 1;
                set_reply(conn, &mut stats)?;
                continue;
            }
            let reply = conn.read_get()?;
            let counted = scored.contains(&(first + i));
            let cost = u64::from(w.cost(id));
            if counted {
                stats.measured += 1;
                stats.bytes += u64::from(size);
                stats.cost += cost;
            }
            match reply {
                Ok(Some(len)) => {
                    if len != size as usize {
                        stats.wrong_len += 1;
                    }
                    if counted {
                        stats.hits += 1;
                        stats.hit_bytes += u64::from(size);
                        stats.hit_cost += cost;
                    }
                }
                Ok(None) => {
                    if w.writes.is_empty() && !missed.contains(&id) {
                        missed.push(id);
                    }
                }
                Err(text) => {
                    stats.get_errors += 1;
                    stats.error(format!("GET: {text}"));
                }
            }
        }
        if missed.is_empty() {
            continue;
        }
        buf.clear();
        let mut cost_text = itoa::Buffer::new();
        for &id in &missed {
            let key = key_name(id);
            let v = &w.value(id, &value)[..];
            match mode {
                SetMode::Set => encode(&mut buf, &[b"SET", &key, v]),
                SetMode::CacheSetCost => {
                    let c = cost_text.format(w.cost(id)).as_bytes().to_vec();
                    encode(&mut buf, &[b"CACHE.SET", &key, v, b"COST", &c])
                }
            }
        }
        conn.writer.write_all(&buf)?;
        for _ in &missed {
            stats.sets += 1;
            set_reply(conn, &mut stats)?;
        }
    }
    stats.seconds = started.elapsed().as_secs_f64();
    Ok(stats)
}

fn set_reply(conn: &mut Conn, stats: &mut Stats) -> io::Result<()> {
    match conn.read_reply()? {
        Reply::Status(_) => {}
        Reply::Error(text) => {
            stats.set_errors += 1;
            stats.error(format!("SET: {text}"));
        }
        other => {
            stats.set_errors += 1;
            stats.error(format!("SET: unexpected reply {}", other.text()));
        }
    }
    Ok(())
}

/// Reads one reply to a GET or SET from an async reader, skipping a value's bytes without
/// keeping them: `Ok(true)` for a bulk string (a hit), `Ok(false)` for nil or a status, and an
/// error naming the reply for anything else (the load programs of `benches/coherence` and
/// `benches/invalidate` share it).
#[allow(dead_code, reason = "the hit-ratio bench reads synchronously")]
pub async fn skip_reply<R>(read: &mut R, line: &mut Vec<u8>) -> Result<bool, String>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    use tokio::io::AsyncBufReadExt;
    let io = |e: io::Error| e.to_string();
    line.clear();
    read.read_until(b'\n', line).await.map_err(io)?;
    match line.first() {
        Some(b'+') | Some(b'_') => Ok(false),
        Some(b'$') if line.get(1) == Some(&b'-') => Ok(false),
        Some(b'$') => {
            let len: usize = std::str::from_utf8(&line[1..])
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(|| format!("bad reply {:?}", String::from_utf8_lossy(line)))?;
            let mut left = len + 2;
            while left > 0 {
                let chunk = read.fill_buf().await.map_err(io)?;
                if chunk.is_empty() {
                    return Err("connection closed in a value".into());
                }
                let take = chunk.len().min(left);
                read.consume(take);
                left -= take;
            }
            Ok(true)
        }
        _ => Err(format!(
            "answered {:?}",
            String::from_utf8_lossy(line).trim_end()
        )),
    }
}
