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
//!
//! Hot values are kept raw: every GET of a frame decompresses it (about as much CPU as Redis's
//! whole GET of a 4 KB document), so a GET that finds a compressed value hot (its LFU counter,
//! decayed by idle minutes, at `HOT_LFU` or more) stores the bytes it just decompressed back raw
//! (`DbShard::keep_raw`) and notes the key in the shard's hot list, bounded apart from the
//! writes' backlog (`hot_limit`: raw bytes kept hot never exceed half of `compression-backlog`).
//! Like the swap, it is not a write (no notice) and is accounted through `DbShard::rewrite`;
//! and only while `maxmemory` has room for it. The compressor looks at each hot note again
//! every `HOT_RECHECK_MS` and compresses the value once it has cooled (the counter decays by
//! one per `lfu-decay-time` idle minutes); under `maxmemory` the eviction loop compresses hot
//! notes too before it evicts anything, hot or not.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::Thread;
use std::time::Duration;

use crate::engine::entry::{Entry, LFU_INIT_VAL};
use crate::engine::policy::{lfu_decayed, EvictionSettings};
use crate::engine::{compress, now_ms, DbShard, Keyspace};

/// A compressed value read with its decayed LFU counter at this or more is stored raw again:
/// Redis's logarithmic counter reaches it after about 33 reads on average at the default
/// `lfu-log-factor` (10) with no idle minute between (a probability: after 10 reads, one key in
/// 9 has), and the head of a skewed (Zipf) load within its first reads. Under policies that do
/// not use LFU the counter is kept for compressed values only (`DbShard::touch`).
pub const HOT_LFU: u8 = LFU_INIT_VAL + 3;
/// How often the compressor looks at a value kept raw for being hot: it compresses it once
/// its counter has decayed under `HOT_LFU` (a minute idle at the least).
const HOT_RECHECK_MS: u64 = 10_000;

/// Whether a read of `entry` (a compressed string) should store it raw: see `HOT_LFU`.
pub fn is_hot(entry: &Entry, settings: &EvictionSettings, now_ms: u64) -> bool {
    lfu_decayed(entry, settings, now_ms) >= HOT_LFU
}

/// Raw bytes that values kept hot may hold, all shards together: half of `compression-backlog`
/// (0: none), so a write burst's room is not taken by them and the raw bytes in memory stay
/// bounded by one and a half times the directive.
fn hot_limit(backlog: usize) -> usize {
    backlog / 2
}

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
    /// A hot note (`Backlog::hot`): when the compressor looks at it next.
    recheck_ms: u64,
}

/// One shard's notes, oldest first (under the shard's lock).
#[derive(Debug, Default)]
pub struct Backlog {
    notes: VecDeque<Note>,
    /// Values a read found hot and stored raw (`DbShard::keep_raw`), next recheck first.
    hot: VecDeque<Note>,
}

impl Backlog {
    /// Notes a string just stored raw; the caller reserved its bytes (`Compressor::reserve`).
    pub fn push(&mut self, db: usize, hash: u64, identity: usize, len: usize) {
        self.notes.push_back(Note {
            db,
            hash,
            identity,
            len,
            recheck_ms: 0,
        });
    }

    pub fn len(&self) -> usize {
        self.notes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// Values kept raw for being hot, noted for a later look (`Keyspace::recheck_hot`).
    pub fn hot_len(&self) -> usize {
        self.hot.len()
    }

    /// SWAPDB exchanged two databases' tables in this shard: their notes follow them.
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        for note in self.notes.iter_mut().chain(&mut self.hot) {
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
    /// Values kept raw for being hot (`Backlog::hot`), and their bytes (bounded by `hot_limit`).
    hot_keys: AtomicUsize,
    hot_bytes: AtomicUsize,
    /// Reads that stored a hot value raw, and hot values compressed again once cooled.
    kept_hot: AtomicU64,
    cooled: AtomicU64,
    worker: OnceLock<Thread>,
    stop: AtomicBool,
}

/// (keys, raw bytes) waiting, values compressed and swapped in, notes dropped, notes taken to
/// make room under `maxmemory`; values kept raw for being hot (keys, bytes), reads that kept
/// one, hot values compressed again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BacklogStats {
    pub keys: usize,
    pub bytes: usize,
    pub swapped: u64,
    pub dropped: u64,
    pub for_room: u64,
    pub hot_keys: usize,
    pub hot_bytes: usize,
    pub kept_hot: u64,
    pub cooled: u64,
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
            hot_keys: self.hot_keys.load(Ordering::Relaxed),
            hot_bytes: self.hot_bytes.load(Ordering::Relaxed),
            kept_hot: self.kept_hot.load(Ordering::Relaxed),
            cooled: self.cooled.load(Ordering::Relaxed),
        }
    }

    /// Counts `len` raw bytes of a value kept hot if they fit under `hot_limit(backlog)`.
    pub fn reserve_hot(&self, len: usize, backlog: usize) -> bool {
        let before = self.hot_bytes.fetch_add(len, Ordering::AcqRel);
        if before.saturating_add(len) > hot_limit(backlog) {
            self.hot_bytes.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        self.hot_keys.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// Whether a value of `len` bytes could be kept hot now (GET's guess before it copies the
    /// bytes, where `reserve_hot` decides).
    pub fn has_hot_room(&self, len: usize, backlog: usize) -> bool {
        self.hot_bytes.load(Ordering::Relaxed).saturating_add(len) <= hot_limit(backlog)
    }

    fn release_hot(&self, len: usize) {
        self.hot_bytes.fetch_sub(len, Ordering::AcqRel);
        self.hot_keys.fetch_sub(1, Ordering::AcqRel);
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
                // Written values first; hot ones wait for an idle moment.
                if compressor.hot_keys.load(Ordering::Acquire) > 0 {
                    let now = now_ms();
                    for index in 0..self.shard_count() {
                        while self.recheck_hot(index, now) {}
                    }
                }
                std::thread::park_timeout(IDLE_WAIT);
                continue;
            }
            // One note from the next shard that has one: every shard's writers see theirs go.
            let shards = self.shard_count();
            let found = (0..shards).any(|_| {
                let index = next;
                next = (next + 1) % shards;
                self.compress_written(index, now_ms())
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
        let waiting = |count: &AtomicUsize| count.load(Ordering::Acquire);
        if waiting(&self.compressor.keys) + waiting(&self.compressor.hot_keys) == 0 {
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

    /// Step 1: the oldest note of shard `index`'s backlog (a written value's, else a hot one's,
    /// hot or not: what the eviction loop takes), with a copy of its key and raw bytes when the
    /// entry is still a plain string the settings compress; `None` for an empty backlog.
    pub fn take_pending(&self, index: usize) -> Option<Taken> {
        self.take_note(index, true)
    }

    /// The compressor's step on shard `index`: `compress_pending` for a written value's note,
    /// leaving hot ones to `recheck_hot`. Returns whether there was one.
    pub fn compress_written(&self, index: usize, now_ms: u64) -> bool {
        match self.take_note(index, false) {
            Some(taken) => {
                self.finish_pending(taken, now_ms);
                true
            }
            None => false,
        }
    }

    /// `take_pending`, taking a hot note (when no written value waits) only if `hot_too`: the
    /// compressor's own pass leaves them to `recheck_hot`.
    fn take_note(&self, index: usize, hot_too: bool) -> Option<Taken> {
        let settings = self.compression();
        let mut shard = self.lock_shard(index);
        let (note, hot) = match shard.backlog.notes.pop_front() {
            Some(note) => (note, false),
            None if hot_too => (shard.backlog.hot.pop_front()?, true),
            None => return None,
        };
        let copy = copy_out(&shard, &note, settings);
        Some(Taken {
            index,
            note,
            hot,
            copy,
        })
    }

    /// The compressor's look at shard `index`'s next hot note, if its recheck time has come:
    /// noted again for later while the value is still hot, else compressed. Returns whether
    /// there was a note due.
    pub fn recheck_hot(&self, index: usize, now_ms: u64) -> bool {
        let (settings, eviction) = (self.compression(), self.eviction_settings());
        let mut shard = self.lock_shard(index);
        let backlog = &mut shard.backlog;
        if backlog
            .hot
            .front()
            .is_none_or(|note| note.recheck_ms > now_ms)
        {
            return false;
        }
        let Some(mut note) = backlog.hot.pop_front() else {
            return false;
        };
        let still_hot = find(&shard, &note)
            .is_some_and(|entry| entry.plain_str().is_some() && is_hot(entry, &eviction, now_ms));
        if still_hot {
            note.recheck_ms = now_ms + HOT_RECHECK_MS;
            shard.backlog.hot.push_back(note);
            return true;
        }
        let copy = copy_out(&shard, &note, settings);
        drop(shard);
        let taken = Taken {
            index,
            note,
            hot: true,
            copy,
        };
        if taken.copy.is_some() {
            self.compressor.cooled.fetch_add(1, Ordering::Relaxed);
        }
        self.finish_pending(taken, now_ms);
        true
    }

    /// Steps 2 and 3 for a note `take_pending` took: compresses with no lock held, then swaps
    /// the frame in if the value is unchanged.
    pub fn finish_pending(&self, taken: Taken, now_ms: u64) {
        let (len, hot) = (taken.note.len, taken.hot);
        self.compress_and_swap(taken, now_ms);
        // Counted until the swap is done (or given up), so `keys` at 0 means no swap is still
        // to come: what tests wait for. (Released before the work, a test read the raw size
        // of a value whose note was taken but whose frame was not swapped in yet.)
        match hot {
            true => self.compressor.release_hot(len),
            false => self.compressor.release(len),
        }
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
    /// From the hot list: its bytes count in `hot_bytes`, not in the backlog's.
    hot: bool,
    copy: Option<(Vec<u8>, Vec<u8>)>,
}

/// The live entry a note names, if any.
fn find<'s>(shard: &'s crate::engine::Shard, note: &Note) -> Option<&'s Entry> {
    let table = shard.dbs.get(note.db)?;
    let bucket = table.find_known(note.hash, note.identity)?;
    table.map.get_bucket(bucket)
}

/// A note's key and raw bytes, when its entry is still a plain string `settings` compress.
fn copy_out(
    shard: &crate::engine::Shard,
    note: &Note,
    settings: compress::Settings,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let entry = find(shard, note)?;
    let raw = entry.plain_str()?;
    compress::eligible(raw, settings).then(|| (entry.key().to_vec(), raw.to_vec()))
}

impl Taken {
    /// The key whose value was copied out (`None`: the note was dropped at once).
    pub fn key(&self) -> Option<&[u8]> {
        self.copy.as_ref().map(|(key, _)| &key[..])
    }

    /// Whether the note came from the hot list (`Backlog::hot_len`).
    pub fn is_hot(&self) -> bool {
        self.hot
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

    /// Stores `raw`, the original bytes of `key`'s compressed value that a read found hot
    /// (`is_hot`) and just decompressed, in place of its frame, and notes it in the hot list:
    /// not a write (no notice, no access), accounted as any change of the entry's size. Only
    /// when the hot list has room (`hot_limit`) and `maxmemory`, if set, has the growth and an
    /// eighth to spare (else the eviction loop would compress it straight back). Returns
    /// whether it did.
    pub fn keep_raw(&mut self, hash: u64, key: &[u8], raw: &[u8]) -> bool {
        let settings = self.compression;
        let Some(stored) = self
            .table
            .map
            .find(hash, |e| e.key() == key)
            .and_then(|e| e.frame())
            .map(<[u8]>::len)
        else {
            return false;
        };
        let maxmemory = self.settings.maxmemory;
        let used = self.totals.bytes.load(Ordering::Relaxed) + self.dictionaries.memory();
        let fits =
            maxmemory == 0 || used + raw.len().saturating_sub(stored) + maxmemory / 8 <= maxmemory;
        if !fits || !compress::eligible(raw, settings) {
            return false;
        }
        // A key kept raw, rewritten (and compressed) since, and kept raw again: one note, not
        // two counting its bytes twice. A scan of the shard's hot list, once per value kept.
        let db = self.db;
        let hot = &mut self.backlog.hot;
        if let Some(stale) = hot.iter().position(|n| n.db == db && n.hash == hash) {
            if let Some(stale) = hot.remove(stale) {
                self.compressor.release_hot(stale.len);
            }
        }
        if !self.compressor.reserve_hot(raw.len(), settings.backlog) {
            return false;
        }
        match self.rewrite(hash, key, |entry| {
            entry.install_raw(raw);
            entry.identity()
        }) {
            Some(identity) => {
                let recheck_ms = self.now_ms + HOT_RECHECK_MS;
                self.backlog.hot.push_back(Note {
                    db: self.db,
                    hash,
                    identity,
                    len: raw.len(),
                    recheck_ms,
                });
                self.compressor.kept_hot.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => {
                self.compressor.release_hot(raw.len());
                false
            }
        }
    }
}
