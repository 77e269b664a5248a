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

mod checksum;
mod load;
mod read;
mod save;
mod stream;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

pub use checksum::crc32c;
pub use load::{entry_of, LoadLimits};
pub use read::{read_header, records_per_db, Section, SectionReader};
pub use save::{
    encode_copy, record_of, write_end, write_header, write_section, CopiedDb, CopyPhases,
    EncodedSection, ShardCopy, PIECE_BUCKETS,
};
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
        out.extend_from_slice(&crc32c(&body).to_le_bytes());
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
        if crc != crc32c(body).to_le_bytes() {
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
        #[serde(with = "serde_bytes", borrow)]
        payload: Cow<'a, [u8]>,
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
