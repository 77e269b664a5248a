//! The slow log (Redis's `slowlog.c`): the newest `slowlog-max-len` commands that took at least
//! `slowlog-log-slower-than` microseconds (a negative threshold disables it, 0 logs everything),
//! newest first. An entry keeps at most 32 arguments of at most 128 bytes each, the last slot
//! saying how many arguments were left out (`... (N more arguments)`), a cut argument how many
//! bytes (`... (N more bytes)`), so a huge MSET costs the log a few kilobytes.
//!
//! The hot path reads the threshold from an atomic; only a slow command takes the lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use bytes::Bytes;

use crate::sync::LockExt;

/// Redis's `SLOWLOG_ENTRY_MAX_ARGC` and `SLOWLOG_ENTRY_MAX_STRING`.
pub const MAX_ARGS: usize = 32;
pub const MAX_ARG_BYTES: usize = 128;

pub struct Entry {
    pub id: u64,
    /// Unix seconds when it was logged.
    pub time: u64,
    pub micros: u64,
    pub args: Vec<Bytes>,
    /// `ip:port` of the client.
    pub addr: String,
    pub name: Bytes,
}

pub struct Slowlog {
    /// `slowlog-log-slower-than`, microseconds; negative disables the log.
    threshold: AtomicI64,
    max_len: AtomicUsize,
    next_id: AtomicU64,
    entries: Mutex<VecDeque<Entry>>,
}

impl Default for Slowlog {
    fn default() -> Self {
        Slowlog {
            threshold: AtomicI64::new(10_000),
            max_len: AtomicUsize::new(128),
            next_id: AtomicU64::new(0),
            entries: Mutex::default(),
        }
    }
}

/// The arguments as an entry keeps them (Redis's `slowlogCreateEntry`).
pub fn truncated_args(args: &[Bytes]) -> Vec<Bytes> {
    let kept = args.len().min(MAX_ARGS);
    let mut out = Vec::with_capacity(kept);
    for (index, arg) in args.iter().take(kept).enumerate() {
        if kept != args.len() && index == kept - 1 {
            out.push(Bytes::from(format!(
                "... ({} more arguments)",
                args.len() - kept + 1
            )));
        } else if arg.len() > MAX_ARG_BYTES {
            let mut cut = arg[..MAX_ARG_BYTES].to_vec();
            cut.extend_from_slice(
                format!("... ({} more bytes)", arg.len() - MAX_ARG_BYTES).as_bytes(),
            );
            out.push(Bytes::from(cut));
        } else {
            // A copy: the argument is a slice of the client's read buffer.
            out.push(Bytes::copy_from_slice(arg));
        }
    }
    out
}

impl Slowlog {
    pub fn configure(&self, threshold: i64, max_len: usize) {
        self.threshold.store(threshold, Ordering::Relaxed);
        self.max_len.store(max_len, Ordering::Relaxed);
        self.trim(&mut self.entries.lock_or_recover());
    }

    /// Whether a command that took `micros` goes into the log.
    #[inline]
    pub fn wants(&self, micros: u64) -> bool {
        let threshold = self.threshold.load(Ordering::Relaxed);
        threshold >= 0 && micros >= threshold as u64
    }

    /// Logs a slow command; `args` already as `truncated_args` makes them (and redacted).
    pub fn push(&self, micros: u64, args: Vec<Bytes>, addr: String, name: Bytes) {
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut entries = self.entries.lock_or_recover();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        entries.push_front(Entry {
            id,
            time,
            micros,
            args,
            addr,
            name,
        });
        self.trim(&mut entries);
    }

    fn trim(&self, entries: &mut VecDeque<Entry>) {
        entries.truncate(self.max_len.load(Ordering::Relaxed));
    }

    pub fn len(&self) -> usize {
        self.entries.lock_or_recover().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&self) {
        self.entries.lock_or_recover().clear();
    }

    /// Runs `f` over the newest `count` entries, newest first.
    pub fn newest<R>(
        &self,
        count: usize,
        f: impl FnOnce(&mut dyn Iterator<Item = &Entry>) -> R,
    ) -> R {
        let entries = self.entries.lock_or_recover();
        f(&mut entries.iter().take(count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_cut_as_redis() {
        let args: Vec<Bytes> = (0..40).map(|i| Bytes::from(format!("a{i}"))).collect();
        let kept = truncated_args(&args);
        assert_eq!(kept.len(), 32);
        assert_eq!(kept[30], Bytes::from("a30"));
        assert_eq!(kept[31], Bytes::from("... (9 more arguments)"));
        let long = Bytes::from(vec![b'x'; 200]);
        let kept = truncated_args(&[long]);
        assert_eq!(kept[0].len(), 128 + "... (72 more bytes)".len());
        assert!(kept[0].ends_with(b"x... (72 more bytes)"));
        let exactly: Vec<Bytes> = (0..32).map(|i| Bytes::from(format!("{i}"))).collect();
        assert_eq!(truncated_args(&exactly), exactly);
    }

    #[test]
    fn newest_first_and_trimmed() {
        let log = Slowlog::default();
        log.configure(0, 2);
        assert!(log.wants(0));
        for i in 0..3 {
            log.push(i, vec![], "1.2.3.4:5".into(), Bytes::new());
        }
        let ids = log.newest(10, |entries| entries.map(|e| e.id).collect::<Vec<_>>());
        assert_eq!(ids, vec![2, 1]);
        log.configure(-1, 2);
        assert!(!log.wants(u64::MAX));
        log.configure(5, 1);
        assert_eq!(log.len(), 1);
        assert!(!log.wants(4));
        assert!(log.wants(5));
    }
}
