//! cachet's snapshot format: what one locked shard holds, every database of it, as records a
//! restarted daemon loads back with the metadata a cache needs to come back warm (TTL as an
//! absolute time, priority, cost, tags, parents, the access time and the LFU counter, the
//! `allkeys-cachet` sketch's estimate of the key), which Redis's RDB has no room for.
//!
//! A file is a fixed prelude, then sections, then an end marker:
//! ```text
//! magic "CACHETSN" | u16 format version | u32 header length | header (msgpack) | u32 crc32c(header)
//! section*: 0x01 | u32 db | u32 records | u8 codec | u64 raw length | u64 stored length
//!           | u32 crc32c(stored) | stored (msgpack array of records, zstd-compressed when codec 1)
//! end:      0xFF | u64 records in the file | u32 crc32c of those 8 bytes
//! ```
//! All integers are little-endian. The version sits before the header so that a loader refuses
//! a future file before reading a header whose shape it cannot know. Each section is checked on
//! its own, so a damaged file says which section; a file without its end marker is truncated.
//! Collection values are Redis's DUMP payloads (`engine::dump`: RDB 10 encoding with its CRC64),
//! which already keep every encoding exact; hash field TTLs, which DUMP of Redis 7.0 cannot carry,
//! and streams, whose consumer groups DUMP cannot read back, have record fields of their own.

mod stream;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::engine::dump::{self, RestoreLimits, Restored};
use crate::engine::entry::{Entry, Priority, StringValue, Value};
use crate::engine::shard::{LoadedKey, Shard, Table};
use crate::engine::sketch::Sketch;
use crate::engine::types::stream::NodeLimits;
use crate::engine::types::Collection;
use crate::engine::{hash_key, idle_seconds, lru_clock, Keyspace, Name};
pub use stream::{GroupRecord, StreamRecord};

pub const MAGIC: &[u8; 8] = b"CACHETSN";
/// Bumped whenever a reader of the previous version could misread a file of the new one.
pub const FORMAT_VERSION: u16 = 1;
const SECTION: u8 = 0x01;
const END: u8 = 0xFF;
const CODEC_NONE: u8 = 0;
const CODEC_ZSTD: u8 = 1;
/// zstd's level 1: the snapshot is written while clients are served, so speed over ratio; the
/// records are mostly DUMP payloads whose long strings LZF has already squeezed.
const ZSTD_LEVEL: i32 = 1;
/// A section claiming more than this is damaged: a shard's database is written as one section.
const MAX_SECTION_BYTES: u64 = 1 << 36;
/// Up to this much of a length the file states is allocated before reading: a section is read
/// into a buffer of its size at once (grown from nothing, it was copied again at each doubling),
/// and a false length costs at most this much before the data proves it wrong.
const PREALLOCATE_BYTES: u64 = 16 << 20;

/// Slice-by-16 tables: the byte-at-a-time default was an eighth of a snapshot load.
pub static CRC32C: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Header {
    pub created_at_ms: u64,
    pub node_id: String,
    pub cachet_version: String,
    pub databases: u32,
    /// Coherence: for each origin this daemon followed, (node id, run, last sequence applied),
    /// taken before the first shard is encoded, so the data holds at least what they say. A
    /// restart resumes each link from there (a replay) instead of dropping its data. Absent from
    /// the files of earlier versions.
    #[serde(default)]
    pub coherence_positions: Vec<(ByteBuf, u64, u64)>,
    /// `compression-dict`: each prefix's current dictionary (prefix, zstd dictionary with its
    /// id), so that a restarted daemon compresses with them at once, the loaded strings first:
    /// the header is read before any record. Records hold strings as their original bytes, so no
    /// record needs a dictionary to be read. Absent from the files of earlier versions.
    #[serde(default)]
    pub dictionaries: Vec<(ByteBuf, ByteBuf)>,
}

/// What a daemon that stopped cleanly leaves beside its last snapshot (`<dbfilename>.run`), so
/// that the next process goes on with its coherence run instead of starting another: the run, the
/// last sequence it published and the messages its backlog held. It names the snapshot it goes
/// with (node id and creation time), and is read once: the loader deletes it before using it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunMarker {
    pub node_id: String,
    pub snapshot_created_at_ms: u64,
    pub run: u64,
    pub last_seq: u64,
    pub backlog: Vec<(u64, ByteBuf)>,
}

const RUN_MAGIC: &[u8; 8] = b"CACHETRN";

impl RunMarker {
    /// magic | u16 format version | msgpack body | u32 crc32c(body).
    pub fn encode(&self) -> Vec<u8> {
        let body = rmp_serde::to_vec(self).expect("a run marker always serializes");
        let mut out = Vec::with_capacity(body.len() + 14);
        out.extend_from_slice(RUN_MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&CRC32C.checksum(&body).to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<RunMarker, SnapshotError> {
        let rest = bytes
            .strip_prefix(RUN_MAGIC)
            .ok_or(SnapshotError::BadMagic)?;
        let (version, rest) = rest.split_at_checked(2).ok_or(SnapshotError::Truncated)?;
        let version = u16::from_le_bytes([version[0], version[1]]);
        if version > FORMAT_VERSION {
            return Err(SnapshotError::FutureVersion(version));
        }
        let (body, crc) = rest
            .split_at_checked(rest.len().wrapping_sub(4))
            .ok_or(SnapshotError::Truncated)?;
        if crc != CRC32C.checksum(body).to_le_bytes() {
            return Err(SnapshotError::HeaderChecksum);
        }
        rmp_serde::from_slice(body).map_err(|e| SnapshotError::Corrupt(format!("run marker: {e}")))
    }
}

/// One key as the snapshot keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record<'a> {
    #[serde(with = "serde_bytes", borrow)]
    pub key: Cow<'a, [u8]>,
    pub value: RecordValue<'a>,
    /// Absolute Unix ms; 0: no expiry.
    pub expire_at: u64,
    /// Seconds since the last access when saved (Redis's RDB `IDLE`): the clock restarts from the
    /// load, so the downtime does not age every key alike.
    pub idle: u32,
    /// Redis's LFU counter (`OBJECT FREQ`).
    pub lfu: u8,
    /// The `allkeys-cachet` sketch's estimate for the key: the sketch is hashed with a
    /// per-process seed, so it is rebuilt key by key from these at load.
    pub sketch: u8,
    pub priority: u8,
    pub cost: u32,
    pub tags: Vec<ByteBuf>,
    pub parents: Vec<ByteBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum RecordValue<'a> {
    /// A string as SET leaves it (`embstr`/`int` chosen again at load from its bytes).
    Str(#[serde(with = "serde_bytes", borrow)] Cow<'a, [u8]>),
    /// A string grown in place or built by bit/HLL commands (`raw` whatever its bytes).
    Raw(#[serde(with = "serde_bytes", borrow)] Cow<'a, [u8]>),
    Int(i64),
    /// A hash, list, set or sorted set: its DUMP payload, and the hash fields' TTLs.
    Collection {
        #[serde(with = "serde_bytes")]
        payload: Vec<u8>,
        field_ttls: Vec<(ByteBuf, u64)>,
    },
    Stream(Box<StreamRecord>),
}

/// Why a snapshot cannot be read; each says what is wrong for the log line.
#[derive(Debug, PartialEq, Eq)]
pub enum SnapshotError {
    Empty,
    BadMagic,
    FutureVersion(u16),
    Truncated,
    HeaderChecksum,
    SectionChecksum { section: u64 },
    Corrupt(String),
    Io(String),
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::Empty => write!(f, "the file is empty (zero length)"),
            SnapshotError::BadMagic => write!(f, "not a cachet snapshot (wrong magic)"),
            SnapshotError::FutureVersion(v) => write!(
                f,
                "format version {v} is newer than this cachet reads ({FORMAT_VERSION}); upgrade cachet"
            ),
            SnapshotError::Truncated => write!(f, "the file is truncated"),
            SnapshotError::HeaderChecksum => write!(f, "header checksum mismatch"),
            SnapshotError::SectionChecksum { section } => {
                write!(f, "checksum mismatch in section {section}")
            }
            SnapshotError::Corrupt(what) => write!(f, "corrupt: {what}"),
            SnapshotError::Io(err) => write!(f, "read error: {err}"),
        }
    }
}

fn io_error(err: std::io::Error) -> SnapshotError {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        SnapshotError::Truncated
    } else {
        SnapshotError::Io(err.to_string())
    }
}

/// Writes the prelude (magic, version, header).
pub fn write_header(out: &mut impl Write, header: &Header) -> std::io::Result<u64> {
    let body = rmp_serde::to_vec(header).map_err(std::io::Error::other)?;
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes())?;
    out.write_all(&(body.len() as u32).to_le_bytes())?;
    out.write_all(&body)?;
    out.write_all(&CRC32C.checksum(&body).to_le_bytes())?;
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
    holds: usize,
    waited: Duration,
    held: Duration,
    longest: Duration,
    /// Holds of a millisecond or more, and their time: the copier was preempted holding a lock.
    long: (usize, Duration),
    blocked: Duration,
    /// Tables copied again whole because their slots were laid out anew during their copy.
    restarts: usize,
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
fn copy_buckets(table: &Table, range: std::ops::Range<usize>, now_ms: u64, into: &mut Vec<Entry>) {
    for bucket in range {
        if let Some(entry) = table.map.get_bucket(bucket) {
            if table.is_live(entry, now_ms) {
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
                        copy_buckets(table, 0..buckets, now, &mut entries);
                        return true;
                    }
                    // Sized up front: growing the vector under the lock would copy it again.
                    entries.reserve_exact(table.map.len() + table.map.len() / 8);
                    table.save_log = Some(Box::default());
                }
                let end = (next + piece).min(buckets);
                copy_buckets(table, next..end, now, &mut entries);
                next = end;
                if next < buckets {
                    return false;
                }
                let log = table.save_log.take().unwrap_or_default();
                if log.invalidated {
                    entries.retain(|e| !e.has_labels() || !table.is_stale(e));
                }
                written = log.written;
                written.sort_unstable();
                written.dedup();
                for &hash in &written {
                    again.extend(
                        table
                            .map
                            .iter_hash(hash)
                            .filter(|e| hash_key(e.key()) == hash && table.is_live(e, now))
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
                    payload: dump::dump(entry, list_fill),
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
    out.write_all(&CRC32C.checksum(stored).to_le_bytes())?;
    out.write_all(stored)?;
    Ok((1 + 4 + 4 + 1 + 8 + 8 + 4 + stored.len()) as u64)
}

pub fn write_end(out: &mut impl Write, records: u64) -> std::io::Result<u64> {
    let count = records.to_le_bytes();
    out.write_all(&[END])?;
    out.write_all(&count)?;
    out.write_all(&CRC32C.checksum(&count).to_le_bytes())?;
    Ok(1 + 8 + 4)
}

fn read_u8(input: &mut impl Read) -> Result<u8, SnapshotError> {
    let mut b = [0u8; 1];
    input.read_exact(&mut b).map_err(io_error)?;
    Ok(b[0])
}

fn read_array<const N: usize>(input: &mut impl Read) -> Result<[u8; N], SnapshotError> {
    let mut b = [0u8; N];
    input.read_exact(&mut b).map_err(io_error)?;
    Ok(b)
}

fn read_vec(input: &mut impl Read, len: u64) -> Result<Vec<u8>, SnapshotError> {
    if len > MAX_SECTION_BYTES {
        return Err(SnapshotError::Corrupt(format!("a length of {len} bytes")));
    }
    let mut bytes = Vec::with_capacity(len.min(PREALLOCATE_BYTES) as usize);
    input.take(len).read_to_end(&mut bytes).map_err(io_error)?;
    if bytes.len() as u64 != len {
        return Err(SnapshotError::Truncated);
    }
    Ok(bytes)
}

/// Reads the prelude. An empty input, a wrong magic and a future version are told apart, as the
/// operator's remedy differs.
pub fn read_header(input: &mut impl Read) -> Result<Header, SnapshotError> {
    let mut magic = [0u8; 8];
    let mut got = 0;
    while got < magic.len() {
        match input.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(io_error(err)),
        }
    }
    if got == 0 {
        return Err(SnapshotError::Empty);
    }
    if got < magic.len() || &magic != MAGIC {
        return Err(SnapshotError::BadMagic);
    }
    let version = u16::from_le_bytes(read_array(input)?);
    if version > FORMAT_VERSION {
        return Err(SnapshotError::FutureVersion(version));
    }
    let len = u32::from_le_bytes(read_array(input)?);
    let body = read_vec(input, len as u64)?;
    let crc = u32::from_le_bytes(read_array(input)?);
    if crc != CRC32C.checksum(&body) {
        return Err(SnapshotError::HeaderChecksum);
    }
    rmp_serde::from_slice(&body).map_err(|e| SnapshotError::Corrupt(format!("header: {e}")))
}

/// A section read and checked, still to be decoded.
pub struct Section {
    pub db: u32,
    pub records: u32,
    /// The msgpack array of records, decompressed.
    pub raw: Vec<u8>,
    /// Bytes of the file it took.
    pub file_bytes: u64,
}

impl Section {
    /// Decodes the records one by one, each handed to `f` as soon as it is read: a vector of
    /// them all (150 bytes a record, grown by doubling) was copied and read again for nothing.
    /// The count must be the one the section's header states.
    pub fn for_each_record(
        &self,
        f: impl FnMut(Record<'_>) -> Result<(), SnapshotError>,
    ) -> Result<(), SnapshotError> {
        struct Visitor<F> {
            f: F,
            /// What `f` failed with, handed through serde's error as a placeholder.
            failed: Option<SnapshotError>,
        }
        impl<'de, F: FnMut(Record<'de>) -> Result<(), SnapshotError>> serde::de::Visitor<'de>
            for &mut Visitor<F>
        {
            type Value = u64;
            fn expecting(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                out.write_str("an array of records")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
                let mut count = 0;
                while let Some(record) = seq.next_element::<Record<'de>>()? {
                    count += 1;
                    if let Err(err) = (self.f)(record) {
                        self.failed = Some(err);
                        return Err(serde::de::Error::custom("stopped"));
                    }
                }
                Ok(count)
            }
        }
        let mut visitor = Visitor { f, failed: None };
        let mut input = rmp_serde::Deserializer::from_read_ref(&self.raw[..]);
        let count = serde::Deserializer::deserialize_seq(&mut input, &mut visitor);
        if let Some(err) = visitor.failed {
            return Err(err);
        }
        let count =
            count.map_err(|e| SnapshotError::Corrupt(format!("records of db {}: {e}", self.db)))?;
        if count != self.records as u64 {
            return Err(SnapshotError::Corrupt(format!(
                "db {} section holds {count} records, its header says {}",
                self.db, self.records
            )));
        }
        Ok(())
    }
}

/// Reads the next section (`None` at the end marker, after checking it against `records_seen`).
pub fn read_section(
    input: &mut impl Read,
    index: u64,
    records_seen: u64,
) -> Result<Option<Section>, SnapshotError> {
    match read_u8(input)? {
        END => {
            let count = read_array::<8>(input)?;
            let crc = u32::from_le_bytes(read_array(input)?);
            if crc != CRC32C.checksum(&count) {
                return Err(SnapshotError::SectionChecksum { section: index });
            }
            let count = u64::from_le_bytes(count);
            if count != records_seen {
                return Err(SnapshotError::Corrupt(format!(
                    "the end marker counts {count} records, the sections {records_seen}"
                )));
            }
            Ok(None)
        }
        SECTION => {
            let db = u32::from_le_bytes(read_array(input)?);
            let records = u32::from_le_bytes(read_array(input)?);
            let codec = read_u8(input)?;
            let raw_len = u64::from_le_bytes(read_array(input)?);
            let stored_len = u64::from_le_bytes(read_array(input)?);
            let crc = u32::from_le_bytes(read_array(input)?);
            if raw_len > MAX_SECTION_BYTES {
                return Err(SnapshotError::Corrupt(format!(
                    "section {index} claims {raw_len} bytes"
                )));
            }
            let stored = read_vec(input, stored_len)?;
            if crc != CRC32C.checksum(&stored) {
                return Err(SnapshotError::SectionChecksum { section: index });
            }
            let raw = match codec {
                CODEC_NONE => stored,
                CODEC_ZSTD => {
                    // Streamed, so that memory grows with what the data really holds past
                    // `PREALLOCATE_BYTES`, not with the length the file claims.
                    let mut raw = Vec::with_capacity(raw_len.min(PREALLOCATE_BYTES) as usize + 1);
                    zstd::stream::read::Decoder::new(&stored[..])
                        .and_then(|decoder| decoder.take(raw_len + 1).read_to_end(&mut raw))
                        .map_err(|e| {
                            SnapshotError::Corrupt(format!("section {index} decompression: {e}"))
                        })?;
                    raw
                }
                other => {
                    return Err(SnapshotError::Corrupt(format!(
                        "section {index} has unknown codec {other}"
                    )))
                }
            };
            if raw.len() as u64 != raw_len {
                return Err(SnapshotError::Corrupt(format!(
                    "section {index} decompressed to {} bytes, not {raw_len}",
                    raw.len()
                )));
            }
            Ok(Some(Section {
                db,
                records,
                raw,
                file_bytes: 1 + 4 + 4 + 1 + 8 + 8 + 4 + stored_len,
            }))
        }
        other => Err(SnapshotError::Corrupt(format!(
            "section {index} starts with byte {other:#04x}"
        ))),
    }
}

/// The fewest bytes of a file a record is counted for when `records_per_db` trusts the counts
/// a file states: a damaged or crafted header claiming billions of records must not size
/// tables for them (a record of a real snapshot takes 10 bytes or more, compressed).
const MIN_RECORD_FILE_BYTES: u64 = 4;

/// How many records each database has in the file, from the section headers alone (each
/// section's data is skipped), for a load that sizes its tables first; no more than a record
/// per `MIN_RECORD_FILE_BYTES` of the file. Databases from `databases` on are not counted (the
/// load refuses them). Checks nothing but the header's checksum: the load checks the rest.
pub fn records_per_db(
    input: &mut (impl Read + Seek),
    databases: usize,
) -> Result<Vec<u64>, SnapshotError> {
    read_header(input)?;
    let mut counts = vec![0u64; databases];
    let mut offset = 0;
    loop {
        match read_u8(input)? {
            SECTION => {
                let db = u32::from_le_bytes(read_array(input)?) as usize;
                let records = u32::from_le_bytes(read_array(input)?);
                // The codec and the raw length, then the stored length and the data's checksum.
                read_array::<9>(input)?;
                let stored_len = u64::from_le_bytes(read_array(input)?);
                read_array::<4>(input)?;
                let skip = i64::try_from(stored_len)
                    .map_err(|_| SnapshotError::Corrupt(format!("a length of {stored_len}")))?;
                offset = input.seek(SeekFrom::Current(skip)).map_err(io_error)?;
                if let Some(count) = counts.get_mut(db) {
                    *count += records as u64;
                }
            }
            _ => {
                let most = offset / MIN_RECORD_FILE_BYTES;
                return Ok(counts.into_iter().map(|c| c.min(most)).collect());
            }
        }
    }
}

/// What loading needs from the configuration.
#[derive(Clone, Copy)]
pub struct LoadLimits {
    pub restore: RestoreLimits,
    pub stream: NodeLimits,
    /// `key-load-delay`, honoured by `load_snapshot` only (as Redis's by its RDB load).
    pub key_load_delay: i32,
}

/// Redis's `debugDelay`: `delay` microseconds, or for a negative -n one microsecond with a
/// chance of 1 in n (a sleep shorter than a system call costs, on average).
fn key_load_delay(delay: i32) {
    let micros = match delay {
        0 => return,
        1.. => delay as u64,
        _ => u64::from(fastrand::u32(..delay.unsigned_abs()) == 0),
    };
    if micros > 0 {
        std::thread::sleep(std::time::Duration::from_micros(micros));
    }
}

/// The entry a record describes, with every metadata field but the learned access state (which
/// `DbShard::insert_loaded` applies once the entry is in its table).
pub fn entry_of(record: &Record<'_>, limits: LoadLimits) -> Result<Entry, SnapshotError> {
    let key = &record.key;
    let bad = |what: &str| {
        SnapshotError::Corrupt(format!("key {:?}: {what}", String::from_utf8_lossy(key)))
    };
    let mut entry = match &record.value {
        RecordValue::Str(bytes) => Entry::new_string(key, bytes, 0),
        RecordValue::Raw(bytes) => Entry::new_raw_string(key, bytes, 0),
        RecordValue::Int(n) => Entry::new_int(key, *n, 0),
        RecordValue::Collection {
            payload,
            field_ttls,
        } => {
            // The section's checksum covered the payload's bytes.
            let body = dump::body_of(payload).map_err(|_| bad("value version"))?;
            let collection = match dump::restore(body, limits.restore) {
                Ok(Restored::Collection(collection)) => collection,
                _ => return Err(bad("value encoding")),
            };
            let mut entry = Entry::new_collection(key, collection, 0);
            if !field_ttls.is_empty() {
                let hash = entry
                    .hash_mut()
                    .ok_or_else(|| bad("field TTLs on a non-hash"))?;
                for (field, at) in field_ttls {
                    if !hash.set_field_expire_at(field, *at) {
                        return Err(bad("a TTL for a missing field"));
                    }
                }
            }
            entry
        }
        RecordValue::Stream(stream) => {
            let value = stream.rebuild(limits.stream).map_err(|what| bad(&what))?;
            Entry::new_collection(key, Collection::Stream(Box::new(value)), 0)
        }
    };
    let priority = Priority::ALL
        .get(record.priority as usize)
        .copied()
        .ok_or_else(|| bad("priority"))?;
    let tags: Vec<Name> = record.tags.iter().map(|t| Name::new(t)).collect();
    entry.set_meta(crate::engine::CacheMeta {
        priority,
        cost: record.cost,
        tags: (!tags.is_empty()).then(|| tags.into_boxed_slice()),
    });
    if !record.parents.is_empty() {
        let parents: Vec<Name> = record.parents.iter().map(|p| Name::new(p)).collect();
        entry.replace_parents(parents.into_boxed_slice());
    }
    entry.set_expire_at(record.expire_at);
    entry.set_lfu(record.lfu);
    Ok(entry)
}

/// How a save writes its sections.
#[derive(Debug, Clone, Copy)]
pub struct SectionFormat {
    /// zstd (`rdbcompression yes`) or stored plain.
    pub compress: bool,
    /// `list-max-listpack-size`, which the DUMP payload of a list follows.
    pub list_fill: i64,
}

/// What writing or loading a whole keyspace came to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub keys: u64,
    pub expired: u64,
    /// Keys left out because `maxmemory` was reached and the policy evicts nothing.
    pub skipped: u64,
    pub bytes: u64,
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
                let copy = self.copy_shard(index, PIECE_BUCKETS, &mut phases, || {});
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

    /// Loads a whole snapshot into this keyspace. `expected`: the records of each database the
    /// file holds (`records_per_db`), when known, so that every table is sized once for its
    /// share (`reserve_keys`). `progress` hears the totals after each section. On an error the
    /// keyspace keeps what was loaded before it: the caller decides whether to start empty (it
    /// flushes) or refuse.
    ///
    /// Two threads: another one reads each section (checksum, zstd), decodes its records and
    /// builds their entries grouped by the shard of their key (`decode_section`), with no lock
    /// held; this one inserts each group under one lock of its shard, the totals brought in
    /// line once per group (`DbShard::insert_loaded_batch`). The reader is at most one section
    /// ahead (a channel of one). With a memory limit the groups go in one key at a time, the
    /// limit checked after each.
    pub fn load_snapshot(
        &self,
        input: &mut (impl Read + Send),
        limits: LoadLimits,
        expected: Option<&[u64]>,
        mut progress: impl FnMut(&Totals),
    ) -> Result<(Header, Totals), SnapshotError> {
        let header = read_header(input)?;
        let saved: Vec<crate::engine::dictionary::Saved> = header
            .dictionaries
            .iter()
            .map(|(prefix, bytes)| (prefix.to_vec().into(), bytes.to_vec().into()))
            .collect();
        let (_, skipped) = self.dictionaries.restore(&saved);
        if skipped > 0 {
            tracing::warn!(skipped, "snapshot dictionaries not usable, left out");
        }
        // At start the keyspace is empty: a key found while loading came from this file.
        let fresh = self.totals.keys.load(Ordering::Acquire) == 0;
        let limited = self.eviction_settings().has_limit();
        if let Some(expected) = expected {
            for (db, &count) in expected.iter().enumerate() {
                self.reserve_keys(db, count);
            }
        }
        let full = &AtomicBool::new(false);
        let (to_inserter, decoded) = std::sync::mpsc::sync_channel(1);
        let totals = std::thread::scope(|scope| {
            let reader = std::thread::Builder::new()
                .name("cachet-load".into())
                // Owns the sender: the inserter's loop ends when it is dropped.
                .spawn_scoped(scope, move || {
                    let (mut seen, mut index) = (0u64, 0u64);
                    loop {
                        let decoded = match read_section(input, index, seen) {
                            Ok(None) => break,
                            Ok(Some(section)) => {
                                (seen, index) = (seen + section.records as u64, index + 1);
                                let full = full.load(Ordering::Relaxed);
                                self.decode_section(&section, limits, full)
                            }
                            Err(err) => Err(err),
                        };
                        let failed = decoded.is_err();
                        // A closed channel: the inserter stopped on an error it returns.
                        if to_inserter.send(decoded).is_err() || failed {
                            break;
                        }
                    }
                })
                .map_err(|e| SnapshotError::Io(e.to_string()))?;
            let mut totals = Totals::default();
            for section in decoded {
                let section: Decoded = section?;
                totals.expired += section.expired;
                totals.skipped += section.skipped;
                let (db, now) = (section.db, section.now);
                for (shard, batch) in section.batches.into_iter().enumerate() {
                    if batch.is_empty() {
                        continue;
                    }
                    if full.load(Ordering::Relaxed) {
                        totals.skipped += batch.len() as u64;
                    } else if !limited {
                        let keys = batch.len() as u64;
                        self.view(&mut self.lock_shard(shard), db, now)
                            .insert_loaded_batch(batch, fresh)
                            .map_err(|key| duplicated(&key, db))?;
                        totals.keys += keys;
                    } else if self.load_limited(shard, db, batch, fresh, now, &mut totals)? {
                        full.store(true, Ordering::Relaxed);
                    }
                }
                totals.bytes += section.file_bytes;
                progress(&totals);
            }
            drop(reader);
            Ok(totals)
        })?;
        Ok((header, totals))
    }

    /// A section's records as entries grouped by the shard of their key, built with no lock
    /// held. Once the keyspace is `full` they are still decoded (the file must be whole) but
    /// not built.
    fn decode_section(
        &self,
        section: &Section,
        limits: LoadLimits,
        full: bool,
    ) -> Result<Decoded, SnapshotError> {
        let db = section.db as usize;
        if db >= self.databases() {
            return Err(SnapshotError::Corrupt(format!(
                "db {db} beyond the {} databases configured",
                self.databases()
            )));
        }
        let now = crate::engine::now_ms();
        let mut decoded = Decoded {
            db,
            now,
            file_bytes: section.file_bytes,
            batches: (0..self.shard_count()).map(|_| Vec::new()).collect(),
            expired: 0,
            skipped: 0,
        };
        section.for_each_record(|record| {
            key_load_delay(limits.key_load_delay);
            if full {
                decoded.skipped += 1;
            } else if record.expire_at != 0 && record.expire_at <= now {
                // Its TTL passed while the daemon was down.
                decoded.expired += 1;
            } else {
                let hash = hash_key(&record.key);
                decoded.batches[self.shard_of_hash(hash)].push(LoadedKey {
                    hash,
                    entry: entry_of(&record, limits)?,
                    lru: lru_clock(now.saturating_sub(record.idle as u64 * 1000)),
                    sketch: record.sketch,
                });
            }
            Ok(())
        })?;
        Ok(decoded)
    }

    /// Sizes each shard's table of database `db` for its share of `count` more keys at once
    /// (a load that knows how many it brings: a snapshot's section headers, an RDB file's
    /// `RESIZEDB`, as Redis sizes its tables), so that none is rehashed as it fills: a rehash
    /// reads every entry's key again, a cache miss each. A share is a binomial draw: the mean
    /// and four standard deviations, which a table holds without a rehash but in about one
    /// load of 30,000. Not under a memory limit, which the reserved slots would count against.
    pub fn reserve_keys(&self, db: usize, count: u64) {
        if count == 0 || db >= self.databases() || self.eviction_settings().has_limit() {
            return;
        }
        let mean = count as f64 / self.shard_count() as f64;
        let share = (mean + 4.0 * mean.sqrt()).ceil() as usize + 8;
        let now = crate::engine::now_ms();
        for shard in 0..self.shard_count() {
            self.view(&mut self.lock_shard(shard), db, now)
                .reserve(share);
        }
    }

    /// Inserts one shard's group of keys one at a time under a memory limit: the policy makes
    /// room with what it restored of each key's value. Where it may evict nothing, the key that
    /// crossed the limit goes, with the slots its table grew for it (else the load ends over the
    /// limit by them: 84 B for a table's first key), and so do the rest, as an RDB import.
    /// Returns whether the keyspace is full.
    fn load_limited(
        &self,
        shard: usize,
        db: usize,
        batch: Vec<LoadedKey>,
        fresh: bool,
        now: u64,
        totals: &mut Totals,
    ) -> Result<bool, SnapshotError> {
        let mut keys = batch.into_iter();
        while let Some(key) = keys.next() {
            let (hash, name) = (key.hash, key.entry.key().to_vec());
            self.view(&mut self.lock_shard(shard), db, now)
                .insert_loaded_batch(std::iter::once(key), fresh)
                .map_err(|key| duplicated(&key, db))?;
            totals.keys += 1;
            if self.over_limit() && self.evict_to_limit(now).is_err() {
                let mut guard = self.lock_shard(shard);
                let mut view = self.view(&mut guard, db, now);
                view.remove(hash, &name);
                view.shrink_slots_to_fit();
                totals.keys -= 1;
                totals.skipped += 1 + keys.len() as u64;
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// One section read by the loader's reader thread, for the inserting thread.
struct Decoded {
    db: usize,
    /// The time its TTLs were checked against and its access times set from.
    now: u64,
    file_bytes: u64,
    /// Its live keys, by the shard of their key.
    batches: Vec<Vec<LoadedKey>>,
    expired: u64,
    skipped: u64,
}

fn duplicated(key: &[u8], db: usize) -> SnapshotError {
    SnapshotError::Corrupt(format!(
        "duplicated key {:?} in db {db}",
        String::from_utf8_lossy(key)
    ))
}
