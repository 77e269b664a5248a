//! Writing a snapshot: each shard copied a piece at a time under its lock (`copy_shard`), the
//! copies encoded as records, compressed and written on another thread (`write_snapshot`).

use std::borrow::Cow;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_bytes::ByteBuf;

use super::{
    crc32c, Header, Record, RecordValue, SectionFormat, StreamRecord, Totals, CODEC_NONE,
    CODEC_ZSTD, END, FORMAT_VERSION, MAGIC, SECTION, ZSTD_LEVEL,
};
use crate::engine::dump;
use crate::engine::entry::{Entry, StringValue, Value};
use crate::engine::shard::{Shard, Table};
use crate::engine::sketch::Sketch;
use crate::engine::types::Collection;
use crate::engine::{hash_key, idle_seconds, Keyspace, Name};

/// Writes the prelude (magic, version, header).
pub fn write_header(out: &mut impl Write, header: &Header) -> std::io::Result<u64> {
    let body = rmp_serde::to_vec(header).map_err(std::io::Error::other)?;
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes())?;
    out.write_all(&(body.len() as u32).to_le_bytes())?;
    out.write_all(&body)?;
    out.write_all(&crc32c(&body).to_le_bytes())?;
    Ok((MAGIC.len() + 2 + 4 + body.len() + 4) as u64)
}

/// One database of one shard, encoded from its copy (`copy_shard`).
pub struct EncodedSection {
    pub db: u32,
    pub records: u32,
    /// The msgpack array, not compressed yet.
    pub raw: Vec<u8>,
}

/// What one shard held when it was locked for the snapshot (the shard's point in time).
pub struct ShardCopy {
    pub dbs: Vec<CopiedDb>,
    /// The shard's admission sketch as it was: copied whole (a memcpy of its counters), so each
    /// key's estimate is hashed and read after the lock is released.
    pub sketch: Sketch,
    pub now_ms: u64,
}

/// Buckets copied per hold of a shard lock: ~900-1,800 keys at hashbrown's 44-87% fill, ~0.2 ms
/// (a whole shard of 1M keys over 64 shards held the lock ~3 ms, and every command on that shard
/// waited, with the connection thread it runs on: see docs/notes.md, issue 16's third pass).
pub const PIECE_BUCKETS: usize = 2048;

/// Where a snapshot's copier spent its time, for the debug log: how long it held shard locks
/// (every command on a held shard waits that long), waited for them, and waited for the encoder.
#[derive(Default)]
pub struct CopyPhases {
    pub(super) holds: usize,
    waited: Duration,
    held: Duration,
    longest: Duration,
    /// Holds of a millisecond or more, and their time: the copier was preempted holding a lock.
    long: (usize, Duration),
    blocked: Duration,
    /// Tables copied again whole because their slots were laid out anew during their copy.
    pub(super) restarts: usize,
}

/// The live keys of one database of a shard.
pub struct CopiedDb {
    pub db: u32,
    pub entries: Vec<Entry>,
}

/// Copies the live keys of `table` in buckets `range` (expired and invalidated keys are left
/// out, as Redis leaves out expired keys). Only copies are made under the lock (an allocation
/// and a memcpy per key): building and serializing a key's record takes several times as long
/// as copying it (the save's GET p99 was 10× the baseline with the encoding under the lock).
fn copy_buckets(
    table: &Table,
    range: std::ops::Range<usize>,
    live: impl Fn(&Entry) -> bool,
    into: &mut Vec<Entry>,
) {
    for bucket in range {
        if let Some(entry) = table.map.get_bucket(bucket) {
            if live(entry) {
                into.push(entry.snapshot_copy());
            }
        }
    }
}

impl Keyspace {
    /// Runs `f` on shard `index`, locked, timing the wait and the hold into `phases`.
    fn hold<R>(&self, index: usize, phases: &mut CopyPhases, f: impl FnOnce(&mut Shard) -> R) -> R {
        let asked = Instant::now();
        let mut shard = self.lock_shard(index);
        let locked = Instant::now();
        let result = f(&mut shard);
        drop(shard);
        let held = locked.elapsed();
        phases.holds += 1;
        phases.waited += locked - asked;
        phases.held += held;
        phases.longest = phases.longest.max(held);
        if held >= Duration::from_millis(1) {
            phases.long.0 += 1;
            phases.long.1 += held;
        }
        result
    }

    /// Copies every live key of every database of shard `index`, holding its lock for at most
    /// `piece` buckets at a time (`between` runs after each piece, with the lock released). Each
    /// database's copy is what that table held at one moment: the end of its last piece (see
    /// `SaveLog`); keys not written during the copy keep the access time and LFU counter they
    /// had when their piece was copied.
    pub fn copy_shard(
        &self,
        index: usize,
        piece: usize,
        phases: &mut CopyPhases,
        mut between: impl FnMut(),
    ) -> ShardCopy {
        let mut dbs = Vec::new();
        for db in 0..self.databases() {
            let entries = self.copy_table(index, db, piece.max(1), phases, &mut between);
            if !entries.is_empty() {
                dbs.push(CopiedDb {
                    db: db as u32,
                    entries,
                });
            }
        }
        // Copied whole (a memcpy of its counters), so each key's estimate is hashed and read
        // after the lock is released.
        let sketch = self.hold(index, phases, |shard| shard.sketch.clone());
        ShardCopy {
            dbs,
            sketch,
            now_ms: crate::engine::now_ms(),
        }
    }

    fn copy_table(
        &self,
        index: usize,
        db: usize,
        piece: usize,
        phases: &mut CopyPhases,
        between: &mut impl FnMut(),
    ) -> Vec<Entry> {
        let mut entries = Vec::new();
        // The first bucket not copied yet, of how many the table had when its copy began.
        let (mut next, mut buckets) = (0, 0);
        // Hashes of the keys written since the first piece (sorted), and their copies as the
        // last piece found them.
        let mut written: Vec<u64> = Vec::new();
        let mut again = Vec::new();
        loop {
            let mut restarted = false;
            let done = self.hold(index, phases, |shard| {
                let now = crate::engine::now_ms();
                let labels = &self.notices.labels;
                let live = |e: &Entry| labels.is_live(db, e, now);
                let intact = next == 0
                    || shard.dbs.get(db).is_some_and(|t| {
                        t.map.num_buckets() == buckets
                            && t.save_log.as_ref().is_some_and(|log| !log.moved)
                    });
                if !intact {
                    // Laid out anew (a resize, a shrink) or replaced (FLUSHDB, SWAPDB, which may
                    // have taken the log to another database): the table as it is now, whole.
                    shard.dbs.clear_save_logs();
                    entries.clear();
                    restarted = true;
                }
                let Some(table) = shard.dbs.get_existing_mut(db) else {
                    return true;
                };
                if next == 0 || restarted {
                    buckets = table.map.num_buckets();
                    if table.map.is_empty() || buckets <= piece || restarted {
                        entries.reserve_exact(table.map.len());
                        copy_buckets(table, 0..buckets, live, &mut entries);
                        return true;
                    }
                    // Sized up front: growing the vector under the lock would copy it again.
                    entries.reserve_exact(table.map.len() + table.map.len() / 8);
                    table.save_log = Some(Box::default());
                }
                let end = (next + piece).min(buckets);
                copy_buckets(table, next..end, live, &mut entries);
                next = end;
                if next < buckets {
                    return false;
                }
                let log = table.save_log.take().unwrap_or_default();
                if log.invalidated {
                    entries.retain(|e| !labels.is_stale(db, e));
                }
                written = log.written;
                written.sort_unstable();
                written.dedup();
                for &hash in &written {
                    again.extend(
                        table
                            .map
                            .iter_hash(hash)
                            .filter(|e| hash_key(e.key()) == hash && live(e))
                            .map(Entry::snapshot_copy),
                    );
                }
                true
            });
            phases.restarts += usize::from(restarted);
            if done {
                break;
            }
            between();
        }
        if !written.is_empty() {
            entries.retain(|e| written.binary_search(&hash_key(e.key())).is_err());
            entries.append(&mut again);
        }
        entries
    }
}

/// The records of one copied database, as a section to write.
pub fn encode_copy(
    copy: &CopiedDb,
    sketch: &Sketch,
    now_ms: u64,
    list_fill: i64,
) -> EncodedSection {
    let records: Vec<Record<'_>> = copy
        .entries
        .iter()
        .map(|entry| {
            let estimate = sketch.estimate(hash_key(entry.key())).min(255) as u8;
            record_of(entry, estimate, now_ms, list_fill)
        })
        .collect();
    EncodedSection {
        db: copy.db,
        records: records.len() as u32,
        raw: rmp_serde::to_vec(&records).expect("records always serialize"),
    }
}

fn labels(list: &[Name]) -> Vec<ByteBuf> {
    list.iter().map(|l| ByteBuf::from(l.to_vec())).collect()
}

pub fn record_of(entry: &Entry, sketch: u8, now_ms: u64, list_fill: i64) -> Record<'_> {
    let value = match entry.value() {
        Value::Int(n) => RecordValue::Int(n),
        Value::Str { raw } => {
            let bytes = match entry.string_value() {
                Some(StringValue::Bytes(bytes)) => Cow::Borrowed(bytes),
                Some(other) => Cow::Owned(other.to_vec()),
                None => Cow::Borrowed(&[][..]),
            };
            if raw {
                RecordValue::Raw(bytes)
            } else {
                RecordValue::Str(bytes)
            }
        }
        Value::Collection => match entry.collection() {
            Some(Collection::Stream(stream)) => {
                RecordValue::Stream(Box::new(StreamRecord::of(stream)))
            }
            _ => {
                let field_ttls = entry
                    .hash()
                    .filter(|h| h.has_field_ttls())
                    .map(|h| {
                        h.iter()
                            .filter_map(|(field, _)| {
                                h.field_expire_at(field)
                                    .map(|at| (ByteBuf::from(field.to_vec()), at))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                RecordValue::Collection {
                    payload: Cow::Owned(dump::dump(entry, list_fill)),
                    field_ttls,
                }
            }
        },
    };
    Record {
        key: Cow::Borrowed(entry.key()),
        value,
        expire_at: entry.expire_at(),
        idle: idle_seconds(entry.lru(), now_ms).min(u32::MAX as u64) as u32,
        lfu: entry.lfu(),
        sketch,
        priority: entry.priority() as u8,
        cost: entry.cost(),
        tags: labels(entry.tags()),
        parents: labels(entry.parents()),
    }
}

/// Writes one section; `compress` is `rdbcompression`. Returns the bytes written.
pub fn write_section(
    out: &mut impl Write,
    section: &EncodedSection,
    compress: bool,
) -> std::io::Result<u64> {
    let compressed;
    let (codec, stored): (u8, &[u8]) = if compress {
        compressed = zstd::bulk::compress(&section.raw, ZSTD_LEVEL)?;
        (CODEC_ZSTD, &compressed)
    } else {
        (CODEC_NONE, &section.raw)
    };
    out.write_all(&[SECTION])?;
    out.write_all(&section.db.to_le_bytes())?;
    out.write_all(&section.records.to_le_bytes())?;
    out.write_all(&[codec])?;
    out.write_all(&(section.raw.len() as u64).to_le_bytes())?;
    out.write_all(&(stored.len() as u64).to_le_bytes())?;
    out.write_all(&crc32c(stored).to_le_bytes())?;
    out.write_all(stored)?;
    Ok((1 + 4 + 4 + 1 + 8 + 8 + 4 + stored.len()) as u64)
}

pub fn write_end(out: &mut impl Write, records: u64) -> std::io::Result<u64> {
    let count = records.to_le_bytes();
    out.write_all(&[END])?;
    out.write_all(&count)?;
    out.write_all(&crc32c(&count).to_le_bytes())?;
    Ok(1 + 8 + 4)
}

impl Keyspace {
    /// Writes the whole keyspace: one shard locked at a time while its keys are copied (a
    /// point-in-time view of that shard), encoded, compressed and written with it released, so
    /// commands on other shards go on meanwhile, and on this one once its copy is made.
    ///
    /// Each shard is copied a piece at a time (`copy_shard`). `go_on` is asked before each shard:
    /// `false` stops the save with `ErrorKind::Interrupted` (SHUTDOWN ends a BGSAVE so).
    /// The copies are made on the calling thread and encoded on another, which first runs
    /// `encoder_start` (BGSAVE lowers that thread's priority there). The thread that holds shard
    /// locks must not be the low-priority one: on a busy CPU the scheduler parks a niced thread
    /// for whole time slices, and a lock it holds meanwhile stalls every command on that shard.
    /// The encoder is at most one shard behind (a channel of one), so at most three shards'
    /// copies exist at once: one being made, one waiting, one being encoded.
    pub fn write_snapshot<W: Write + Send>(
        &self,
        out: &mut W,
        header: &Header,
        format: SectionFormat,
        encoder_start: impl FnOnce() + Send,
        mut progress: impl FnMut(u64) + Send,
        mut go_on: impl FnMut() -> bool,
    ) -> std::io::Result<Totals> {
        let mut totals = Totals {
            bytes: write_header(out, header)?,
            ..Totals::default()
        };
        let (to_encoder, copies) = std::sync::mpsc::sync_channel::<ShardCopy>(1);
        let started = Instant::now();
        std::thread::scope(|scope| {
            let encoder = std::thread::Builder::new()
                .name("cachet-snapshot".into())
                .spawn_scoped(scope, move || -> std::io::Result<(Totals, f64)> {
                    encoder_start();
                    for copy in copies {
                        for db in &copy.dbs {
                            let section =
                                encode_copy(db, &copy.sketch, copy.now_ms, format.list_fill);
                            totals.bytes += write_section(out, &section, format.compress)?;
                            totals.keys += section.records as u64;
                        }
                        progress(totals.keys);
                    }
                    totals.bytes += write_end(out, totals.keys)?;
                    Ok((totals, crate::os::thread_cpu_ns()))
                })?;
            let mut phases = CopyPhases::default();
            let mut stopped = false;
            for index in 0..self.shard_count() {
                if !go_on() {
                    stopped = true;
                    break;
                }
                // Between pieces the copier gives the CPU to whoever waits for it: at the
                // connections' priority (so that it is never parked holding a shard lock) the
                // scheduler otherwise let it run whole time slices between their turns, and a
                // GET waited for the rest of the slice.
                let copy =
                    self.copy_shard(index, PIECE_BUCKETS, &mut phases, std::thread::yield_now);
                let sending = Instant::now();
                let sent = to_encoder.send(copy);
                phases.blocked += sending.elapsed();
                // A closed channel: the encoder stopped on a write error, which it returns.
                if sent.is_err() {
                    break;
                }
            }
            drop(to_encoder);
            let (totals, encoder_cpu_ns) = encoder
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            if stopped {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    "save stopped",
                ));
            }
            tracing::debug!(
                "snapshot: {} keys in {:.1} ms; shard locks: {} holds, {:.1} ms held in all, \
                 longest {:.2} ms, {} of 1 ms or more ({:.1} ms), {:.1} ms waited for; {} tables \
                 copied again whole; the copier waited {:.1} ms for the encoder; encoder CPU \
                 {:.1} ms",
                totals.keys,
                started.elapsed().as_secs_f64() * 1e3,
                phases.holds,
                phases.held.as_secs_f64() * 1e3,
                phases.longest.as_secs_f64() * 1e3,
                phases.long.0,
                phases.long.1.as_secs_f64() * 1e3,
                phases.waited.as_secs_f64() * 1e3,
                phases.restarts,
                phases.blocked.as_secs_f64() * 1e3,
                encoder_cpu_ns / 1e6,
            );
            Ok(totals)
        })
    }
}
