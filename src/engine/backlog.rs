//! Compression off the request path (`compression-backlog`). A whole-value write of a string
//! that `compression-level` would compress stores it raw and notes it in its shard's backlog
//! (`DbShard::compress_or_defer`); a background thread (`Keyspace::run_compressor`, started by
//! `net`) compresses it soon after, in three steps:
//!
//! 1. under the shard lock, it takes the oldest note and copies out the entry's raw bytes and key;
//! 2. with no lock held, it compresses them (same level, minimum size, prefix dictionary and
//!    "saves at least an eighth" rule as a write, `compress::compress_with`);
//! 3. under the lock again, it swaps the frame in only if the key still holds a live string with
//!    exactly those raw bytes (`DbShard::swap_frame`).
//!
//! Comparing the bytes is what makes it safe: whatever happened to the key meanwhile (an
//! overwrite, APPEND, SETRANGE, DEL, RENAME, FLUSH, expiry, SWAPDB), the swap either stores the
//! same bytes compressed or does nothing. The swap is not a write: no notice, so no keyspace
//! notification, tracking invalidation, WATCH dirtying, coherence message or dirty count. Its
//! bytes are accounted through `DbShard::rewrite`, as any change of an entry's size is (memory,
//! regions, tags, the compression footprint); the attempt counts in the per-prefix figures when
//! it is made.
//!
//! The backlog is bounded in raw bytes (`compression-backlog`, all shards together): a write
//! finding it full compresses its value itself, so the bytes awaiting compression never exceed
//! the limit whatever the write rate. Under `maxmemory` the eviction loop compresses waiting
//! values before it evicts anything (`Keyspace::compress_for_room`): a cache shrinks values
//! before it drops keys.
//!
//! Cost on the write path: two atomic additions and a 32-byte note. A key written again
//! before its turn is noted twice; the second note finds the value compressed (or changed) and
//! is dropped, its bytes counted against the limit until then.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::Thread;
use std::time::Duration;

use crate::engine::{compress, now_ms, DbShard, Keyspace};

/// A string stored raw, waiting for the compressor. Found again by `Table::find_known`: its
/// block address, else its key's hash (the block is laid out anew by an expiry being set).
#[derive(Debug, Clone, Copy)]
struct Note {
    db: usize,
    hash: u64,
    identity: usize,
    /// The raw bytes counted against `compression-backlog` until its value is swapped in (or
    /// given up).
    len: usize,
}

/// One shard's notes, oldest first (under the shard's lock).
#[derive(Debug, Default)]
pub struct Backlog {
    notes: VecDeque<Note>,
}

impl Backlog {
    /// Notes a string just stored raw; the caller reserved its bytes (`Compressor::reserve`).
    pub fn push(&mut self, db: usize, hash: u64, identity: usize, len: usize) {
        self.notes.push_back(Note {
            db,
            hash,
            identity,
            len,
        });
    }

    pub fn len(&self) -> usize {
        self.notes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// SWAPDB exchanged two databases' tables in this shard: their notes follow them.
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        for note in &mut self.notes {
            if note.db == a {
                note.db = b;
            } else if note.db == b {
                note.db = a;
            }
        }
    }
}

/// The backlogs' totals, and the thread that drains them.
#[derive(Default)]
pub struct Compressor {
    /// Raw bytes noted in all shards' backlogs, or taken from them and not done with yet: what
    /// `compression-backlog` bounds.
    bytes: AtomicUsize,
    keys: AtomicUsize,
    /// Values compressed from the backlog and swapped in.
    swapped: AtomicU64,
    /// Notes dropped because the value had changed (overwritten, edited, deleted) or no longer
    /// qualified (compression turned off, a larger minimum) by its turn.
    dropped: AtomicU64,
    /// Notes taken by the eviction loop before it evicted (`compress_for_room`).
    for_room: AtomicU64,
    worker: OnceLock<Thread>,
    stop: AtomicBool,
}

/// (keys, raw bytes) waiting, values compressed and swapped in, notes dropped, notes taken to
/// make room under `maxmemory`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BacklogStats {
    pub keys: usize,
    pub bytes: usize,
    pub swapped: u64,
    pub dropped: u64,
    pub for_room: u64,
}

/// The compressor rechecks for work (and for `stop`) this often when nothing woke it.
const IDLE_WAIT: Duration = Duration::from_millis(100);
const BUSY_WAIT: Duration = Duration::from_millis(1);

impl Compressor {
    /// Counts `len` raw bytes into the backlog if they fit under `limit` (0: no backlog). The
    /// first note after the backlog emptied wakes the compressor.
    pub fn reserve(&self, len: usize, limit: usize) -> bool {
        if limit == 0 {
            return false;
        }
        let before = self.bytes.fetch_add(len, Ordering::AcqRel);
        if before.saturating_add(len) > limit {
            self.bytes.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        if self.keys.fetch_add(1, Ordering::AcqRel) == 0 {
            if let Some(worker) = self.worker.get() {
                worker.unpark();
            }
        }
        true
    }

    /// Whether a value of `len` bytes would fit now (SET's guess before its shard lock, where
    /// `reserve` decides).
    pub fn has_room(&self, len: usize, limit: usize) -> bool {
        limit > 0 && self.bytes.load(Ordering::Relaxed).saturating_add(len) <= limit
    }

    fn release(&self, len: usize) {
        self.bytes.fetch_sub(len, Ordering::AcqRel);
        self.keys.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn stats(&self) -> BacklogStats {
        BacklogStats {
            keys: self.keys.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            swapped: self.swapped.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            for_room: self.for_room.load(Ordering::Relaxed),
        }
    }

    /// Ends `Keyspace::run_compressor` (at shutdown); what is still noted stays raw.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(worker) = self.worker.get() {
            worker.unpark();
        }
    }
}

impl Keyspace {
    /// The background compressor: takes the backlogs' notes a shard at a time in turn, until
    /// `Compressor::stop`. Runs on a thread of its own (`net` starts it at idle priority), so a
    /// busy server's connections are never kept waiting by it, only its shard locks for a copy.
    pub fn run_compressor(&self) {
        let compressor = &self.compressor;
        let _ = compressor.worker.set(std::thread::current());
        let mut next = 0;
        while !compressor.stop.load(Ordering::Acquire) {
            if compressor.keys.load(Ordering::Acquire) == 0 {
                std::thread::park_timeout(IDLE_WAIT);
                continue;
            }
            // One note from the next shard that has one: every shard's writers see theirs go.
            let shards = self.shard_count();
            let found = (0..shards).any(|_| {
                let index = next;
                next = (next + 1) % shards;
                self.compress_pending(index, now_ms())
            });
            // Counted but none left to take: the eviction loop is finishing the last ones.
            if !found {
                std::thread::park_timeout(BUSY_WAIT);
            }
        }
    }

    /// Takes one note of any shard's backlog, the eviction loop's step before it evicts: a
    /// cache should shrink values before it drops keys. Returns whether there was one.
    pub fn compress_for_room(&self, now_ms: u64) -> bool {
        if self.compressor.keys.load(Ordering::Acquire) == 0 {
            return false;
        }
        let shards = self.shard_count();
        let start = fastrand::usize(..shards);
        let took =
            (0..shards).any(|offset| self.compress_pending((start + offset) % shards, now_ms));
        if took {
            self.compressor.for_room.fetch_add(1, Ordering::Relaxed);
        }
        took
    }

    /// Takes the oldest note of shard `index`'s backlog and compresses its value (the three
    /// steps of this module's header). Returns whether the backlog had a note.
    pub fn compress_pending(&self, index: usize, now_ms: u64) -> bool {
        match self.take_pending(index) {
            Some(taken) => {
                self.finish_pending(taken, now_ms);
                true
            }
            None => false,
        }
    }

    /// Step 1: the oldest note of shard `index`'s backlog, with a copy of its key and raw bytes
    /// when the entry is still a plain string the settings compress; `None` for an empty backlog.
    pub fn take_pending(&self, index: usize) -> Option<Taken> {
        let settings = self.compression();
        let mut shard = self.lock_shard(index);
        let note = shard.backlog.notes.pop_front()?;
        let entry = shard.dbs.get(note.db).and_then(|table| {
            let bucket = table.find_known(note.hash, note.identity)?;
            table.map.get_bucket(bucket)
        });
        let copy = entry.and_then(|entry| {
            let raw = entry.plain_str()?;
            compress::eligible(raw, settings).then(|| (entry.key().to_vec(), raw.to_vec()))
        });
        Some(Taken { index, note, copy })
    }

    /// Steps 2 and 3 for a note `take_pending` took: compresses with no lock held, then swaps
    /// the frame in if the value is unchanged.
    pub fn finish_pending(&self, taken: Taken, now_ms: u64) {
        let len = taken.note.len;
        self.compress_and_swap(taken, now_ms);
        // Counted until the swap is done (or given up), so `keys` at 0 means no swap is still
        // to come: what tests wait for. (Released before the work, a test read the raw size
        // of a value whose note was taken but whose frame was not swapped in yet.)
        self.compressor.release(len);
    }

    fn compress_and_swap(&self, taken: Taken, now_ms: u64) {
        let Some((key, raw)) = taken.copy else {
            self.compressor.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let settings = self.compression();
        let dictionary = self.dictionaries.for_write(&key, Some(&raw), settings);
        let Some((frame, work)) =
            compress::compress_with(&raw, settings, dictionary.as_deref(), <[u8]>::to_vec)
        else {
            return;
        };
        if let Some(dictionary) = &dictionary {
            dictionary.record(&work);
        }
        let note = taken.note;
        let mut shard = self.lock_shard(taken.index);
        let mut view = self.view(&mut shard, note.db, now_ms);
        view.analytics.record_compression(&key, work);
        // No frame: it did not shrink enough and stays raw (`compression_skipped_values`).
        if let Some(frame) = frame {
            let counter = match view.swap_frame(note.hash, &key, &raw, &frame) {
                true => &self.compressor.swapped,
                false => &self.compressor.dropped,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A note taken from a backlog (`Keyspace::take_pending`), its value copied out if it still
/// qualifies, for `Keyspace::finish_pending`.
#[derive(Debug)]
pub struct Taken {
    index: usize,
    note: Note,
    copy: Option<(Vec<u8>, Vec<u8>)>,
}

impl Taken {
    /// The key whose value was copied out (`None`: the note was dropped at once).
    pub fn key(&self) -> Option<&[u8]> {
        self.copy.as_ref().map(|(key, _)| &key[..])
    }
}

impl DbShard<'_> {
    /// Stores `frame` as the value of `key` if it still holds a live plain string of exactly
    /// the `raw` bytes the frame was made from; accounted as any change of the entry's size,
    /// with no notice and no access. Returns whether it did.
    pub fn swap_frame(&mut self, hash: u64, key: &[u8], raw: &[u8], frame: &[u8]) -> bool {
        let unchanged = self
            .table
            .map
            .find(hash, |e| e.key() == key)
            .is_some_and(|e| self.is_live(e) && e.plain_str() == Some(raw));
        unchanged
            && self
                .rewrite(hash, key, |entry| entry.install_frame(frame))
                .is_some()
    }
}
