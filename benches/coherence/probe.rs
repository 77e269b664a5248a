//! The propagation probe: one thread, two sockets. Every `interval` it writes `probe:<n>` on A
//! (one write in flight) and timestamps A's `+OK`; a RESP3 connection on B, tracking
//! `BCAST PREFIX probe:`, receives the `invalidate` push B emits when it applies A's invalidation
//! and drops its copy of `probe:<n>` (B must hold the key: B pushes only for keys it removes, so
//! the caller preloads every probe key on B). Latency = push read on B − ack read on A, both taken
//! by this thread right after the read returns, so no clock crosses threads.
//!
//! The thread waits in `ppoll` (nanosecond timeout) on both sockets, so neither read waits behind
//! the other, and asks for SCHED_FIFO so the load generator sharing its CPU does not delay its
//! reads (falls back to the normal policy without the privilege; the report says which).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::resp::encode;

pub const PREFIX: &str = "probe:";

pub fn probe_key(n: u32) -> Vec<u8> {
    format!("{PREFIX}{n:08}").into_bytes()
}

pub struct Outcome {
    /// ack on A → push on B, nanoseconds, one per probe that got both (can be < 0 if B's push
    /// was read before A's reply).
    pub latency_ns: Vec<i64>,
    /// send → ack on A, nanoseconds.
    pub ack_ns: Vec<i64>,
    pub sent: usize,
    /// Probes acknowledged on A whose push never came within the grace period.
    pub lost: usize,
    /// `invalidate` pushes with a null key list (B flushed: a recovery).
    pub flush_pushes: usize,
    pub realtime: bool,
}

/// Asks for SCHED_FIFO for the calling thread; true if granted.
fn realtime() -> bool {
    // SAFETY: plain syscall with a locally owned, initialised sched_param.
    unsafe {
        let param = libc::sched_param { sched_priority: 10 };
        libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0
    }
}

/// One RESP3 value, as much as the probe needs.
enum Value {
    Simple(Vec<u8>),
    Bulk(Vec<u8>),
    Null,
    Other,
    Agg(u8, Vec<Value>),
}

/// Parses one value from `buf[*at..]`; `None` if incomplete.
fn parse(buf: &[u8], at: &mut usize) -> Result<Option<Value>, String> {
    let Some(end) = buf[*at..].windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let line = &buf[*at + 1..*at + end];
    let kind = buf[*at];
    let mut next = *at + end + 2;
    let num = || -> Result<i64, String> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("bad RESP length {:?}", String::from_utf8_lossy(line)))
    };
    let value = match kind {
        b'+' => Value::Simple(line.to_vec()),
        b'-' => return Err(format!("error reply: {}", String::from_utf8_lossy(line))),
        b':' | b',' | b'#' | b'(' => Value::Other,
        b'_' => Value::Null,
        b'$' | b'=' | b'!' => {
            let n = num()?;
            if n < 0 {
                Value::Null
            } else {
                let n = n as usize;
                if buf.len() < next + n + 2 {
                    return Ok(None);
                }
                let body = buf[next..next + n].to_vec();
                next += n + 2;
                Value::Bulk(body)
            }
        }
        b'*' | b'>' | b'~' | b'%' | b'|' => {
            let n = num()?;
            if n < 0 {
                Value::Null
            } else {
                let count = if kind == b'%' || kind == b'|' {
                    2 * n
                } else {
                    n
                } as usize;
                let mut items = Vec::with_capacity(count.min(1024));
                for _ in 0..count {
                    match parse(buf, &mut next)? {
                        Some(v) => items.push(v),
                        None => return Ok(None),
                    }
                }
                Value::Agg(kind, items)
            }
        }
        other => return Err(format!("unexpected RESP type byte {other:?}")),
    };
    *at = next;
    Ok(Some(value))
}

/// A connection read without blocking into a growing buffer.
struct Side {
    stream: TcpStream,
    buf: Vec<u8>,
    at: usize,
}

impl Side {
    fn new(stream: TcpStream) -> io::Result<Side> {
        stream.set_nodelay(true)?;
        Ok(Side {
            stream,
            buf: Vec::with_capacity(1 << 16),
            at: 0,
        })
    }

    /// Reads what is there; false on EOF.
    fn fill(&mut self) -> io::Result<bool> {
        if self.at > 0 && self.at == self.buf.len() {
            self.buf.clear();
            self.at = 0;
        }
        let mut chunk = [0u8; 1 << 15];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn next(&mut self) -> Result<Option<Value>, String> {
        parse(&self.buf, &mut self.at)
    }

    /// Sends a command and waits (blocking) for its reply: setup only.
    fn call(&mut self, args: &[&[u8]]) -> Result<Value, String> {
        let mut out = Vec::new();
        encode(&mut out, args);
        self.stream.write_all(&out).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = self.next()? {
                return Ok(v);
            }
            if Instant::now() > deadline {
                return Err("no reply within 10 s".into());
            }
            if !self.fill().map_err(|e| e.to_string())? {
                return Err("connection closed".into());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

/// Waits until one of the sockets is readable or `timeout` passes; returns (a, b) readable.
fn wait(a: &Side, b: &Side, timeout: Duration) -> (bool, bool) {
    let mut fds = [
        libc::pollfd {
            fd: a.stream.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: b.stream.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: fds and ts are valid for the call; a null sigmask keeps the current mask.
    let n = unsafe { libc::ppoll(fds.as_mut_ptr(), 2, &ts, std::ptr::null()) };
    if n <= 0 {
        return (false, false);
    }
    let ready = |f: &libc::pollfd| f.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
    (ready(&fds[0]), ready(&fds[1]))
}

/// Runs the probe for `duration`: probes `first..`, one per `interval` at most, one in flight.
pub fn run(
    a_port: u16,
    b_port: u16,
    first: u32,
    max_probes: u32,
    interval: Duration,
    duration: Duration,
    grace: Duration,
) -> Result<Outcome, String> {
    let connect = |port: u16| -> Result<Side, String> {
        TcpStream::connect(("127.0.0.1", port))
            .and_then(Side::new)
            .map_err(|e| format!("probe connect {port}: {e}"))
    };
    let mut a = connect(a_port)?;
    let mut b = connect(b_port)?;
    // Non-blocking from the start: `fill` reads until the socket would block.
    for side in [&a, &b] {
        side.stream
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
    }
    b.call(&[b"HELLO", b"3"])?;
    match b.call(&[
        b"CLIENT",
        b"TRACKING",
        b"on",
        b"BCAST",
        b"PREFIX",
        PREFIX.as_bytes(),
    ])? {
        Value::Simple(s) if s == b"OK" => {}
        _ => return Err("CLIENT TRACKING on B did not answer +OK".into()),
    }
    let realtime = realtime();
    let value = b"probe-value".to_vec();
    let mut ack_at: Vec<Option<Instant>> = Vec::new();
    let mut sent_at: Vec<Instant> = Vec::new();
    let mut push_at: Vec<Option<Instant>> = Vec::new();
    let mut flush_pushes = 0;
    let mut pushes = 0;
    let mut in_flight = false;
    let start = Instant::now();
    let end = start + duration;
    let mut next_send = start;
    let mut request = Vec::with_capacity(64);
    let mut last_progress = start;
    loop {
        let now = Instant::now();
        if !in_flight && now >= next_send && now < end && (sent_at.len() as u32) < max_probes {
            let n = first + sent_at.len() as u32;
            request.clear();
            encode(&mut request, &[b"SET", &probe_key(n), &value]);
            a.stream
                .write_all(&request)
                .map_err(|e| format!("probe write on A: {e}"))?;
            sent_at.push(Instant::now());
            ack_at.push(None);
            push_at.push(None);
            in_flight = true;
            next_send = (next_send + interval).max(now);
        }
        let waiting = pushes < sent_at.len();
        if now >= end && !in_flight && (!waiting || now > last_progress + grace) {
            break;
        }
        let timeout = if !in_flight && now < end {
            next_send.saturating_duration_since(now)
        } else {
            Duration::from_millis(5)
        };
        let (ra, rb) = wait(&a, &b, timeout);
        if ra {
            if !a.fill().map_err(|e| format!("probe read on A: {e}"))? {
                return Err("A closed the probe connection".into());
            }
            let t = Instant::now();
            while let Some(v) = a.next()? {
                if let Value::Simple(_) = v {
                    // One write in flight: the reply is the last probe's.
                    if let Some(slot) = ack_at.last_mut() {
                        slot.get_or_insert(t);
                    }
                    in_flight = false;
                    last_progress = t;
                }
            }
        }
        if rb {
            if !b.fill().map_err(|e| format!("probe read on B: {e}"))? {
                return Err("B closed the tracking connection".into());
            }
            let t = Instant::now();
            while let Some(v) = b.next()? {
                let Value::Agg(b'>', items) = v else { continue };
                match items.get(1) {
                    Some(Value::Agg(_, keys)) => {
                        for key in keys {
                            let Value::Bulk(key) = key else { continue };
                            let n = std::str::from_utf8(&key[PREFIX.len().min(key.len())..])
                                .ok()
                                .and_then(|d| d.parse::<u32>().ok());
                            if let Some(i) = n.and_then(|n| n.checked_sub(first)) {
                                if let Some(slot @ None) = push_at.get_mut(i as usize) {
                                    *slot = Some(t);
                                    pushes += 1;
                                    last_progress = t;
                                }
                            }
                        }
                    }
                    Some(Value::Null) => flush_pushes += 1,
                    _ => {}
                }
            }
        }
    }
    let mut latency_ns = Vec::with_capacity(sent_at.len());
    let mut ack_ns = Vec::with_capacity(sent_at.len());
    let mut lost = 0;
    for ((sent, ack), push) in sent_at.iter().zip(&ack_at).zip(&push_at) {
        let Some(ack) = ack else { continue };
        ack_ns.push(ack.duration_since(*sent).as_nanos() as i64);
        match push {
            Some(push) if push >= ack => {
                latency_ns.push(push.duration_since(*ack).as_nanos() as i64)
            }
            Some(push) => latency_ns.push(-(ack.duration_since(*push).as_nanos() as i64)),
            None => lost += 1,
        }
    }
    Ok(Outcome {
        latency_ns,
        ack_ns,
        sent: sent_at.len(),
        lost,
        flush_pushes,
        realtime,
    })
}
