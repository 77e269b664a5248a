//! Reading a whole RDB file written by Redis (versions 1 to 11: Redis 2.x to 7.2) into the
//! keyspace, for `cachet --import-rdb` and for a snapshot loader handed an RDB: the header, the
//! opcodes (AUX, SELECTDB, RESIZEDB, EXPIRETIME(_MS), IDLE, FREQ, FUNCTION2, MODULE_AUX, EOF) and
//! the trailing CRC64, around the value decoders DUMP payloads use (`read_value`). The file is
//! read as it is parsed, one value in memory at a time, so its size does not matter; every length
//! is checked against the bytes left in the file before anything is allocated for it.
//!
//! What cachet cannot hold is skipped and counted: module values and module AUX data (their
//! opcode stream is walked, as `redis-check-rdb` does), Redis 7.2's streams (type 21; those of
//! Redis 5 to 7.0 load through RESTORE's decoder),
//! function libraries (FUNCTION LOAD them again), keys whose TTL has passed, empty collections
//! (as Redis 7.0 skips them).

use std::io::{BufRead, BufReader, Read};

use std::path::Path;
use std::time::{Duration, Instant};

use super::rdb::{Reader, Source};
use super::{read_value, set_lru_or_lfu, DumpError, RestoreLimits, Restored, CRC64};
use crate::engine::{Entry, Keyspace};

/// The newest RDB version read: Redis 7.2's. Redis 7.4 (12) adds hash field TTL types.
pub const MAX_RDB_VERSION: u32 = 11;
const MAGIC: &[u8; 5] = b"REDIS";

const OPCODE_FUNCTION_PRE_GA: u8 = 246;
const OPCODE_FUNCTION2: u8 = 245;
const OPCODE_MODULE_AUX: u8 = 247;
const OPCODE_IDLE: u8 = 248;
const OPCODE_FREQ: u8 = 249;
const OPCODE_AUX: u8 = 250;
const OPCODE_RESIZEDB: u8 = 251;
const OPCODE_EXPIRETIME_MS: u8 = 252;
const OPCODE_EXPIRETIME: u8 = 253;
const OPCODE_SELECTDB: u8 = 254;
const OPCODE_EOF: u8 = 255;

const TYPE_MODULE_PRE_GA: u8 = 6;
const TYPE_MODULE_2: u8 = 7;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;
const TYPE_STREAM_LISTPACKS_3: u8 = 21;

/// The items of a module's serialized value (`RDB_MODULE_OPCODE_*`).
const MODULE_OPCODE_EOF: u64 = 0;
const MODULE_OPCODE_SINT: u64 = 1;
const MODULE_OPCODE_UINT: u64 = 2;
const MODULE_OPCODE_FLOAT: u64 = 3;
const MODULE_OPCODE_DOUBLE: u64 = 4;
const MODULE_OPCODE_STRING: u64 = 5;

const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Why a file could not be loaded; `Display` is the log line, naming the byte offset.
#[derive(Debug)]
pub enum RdbFileError {
    Io(std::io::Error),
    /// Not `REDIS` followed by four digits.
    NotRdb,
    /// A version this reader does not know (Redis refuses a newer one the same way).
    Version(u32),
    /// The file ends before its EOF opcode and checksum.
    Truncated {
        offset: u64,
    },
    /// A value or opcode that does not parse.
    Corrupt {
        offset: u64,
        what: String,
    },
    /// The CRC64 after the EOF opcode does not match the file's bytes.
    Checksum {
        expected: u64,
        computed: u64,
    },
    /// A SELECTDB past the `databases` this server has.
    Database {
        db: u64,
        databases: usize,
    },
    /// The same key twice in a database (Redis panics on this).
    DuplicateKey {
        db: usize,
        key: Vec<u8>,
    },
}

impl std::fmt::Display for RdbFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RdbFileError::Io(e) => write!(f, "can't read the RDB file: {e}"),
            RdbFileError::NotRdb => write!(f, "wrong signature trying to load DB from file"),
            RdbFileError::Version(v) => write!(
                f,
                "can't handle RDB format version {v} (this server reads 1 to {MAX_RDB_VERSION})"
            ),
            RdbFileError::Truncated { offset } => {
                write!(f, "short read: the RDB file ends after {offset} bytes, before its EOF opcode and checksum")
            }
            RdbFileError::Corrupt { offset, what } => {
                write!(f, "corrupt RDB file at byte {offset}: {what}")
            }
            RdbFileError::Checksum { expected, computed } => write!(
                f,
                "wrong RDB checksum: the file says {expected:x}, its bytes give {computed:x}"
            ),
            RdbFileError::Database { db, databases } => write!(
                f,
                "the RDB file uses database {db}, this server has {databases} databases"
            ),
            RdbFileError::DuplicateKey { db, key } => write!(
                f,
                "the RDB file has the key '{}' twice in DB {db}",
                String::from_utf8_lossy(key)
            ),
        }
    }
}

impl std::error::Error for RdbFileError {}

/// What a load did; `log` writes it as the closing lines of a load.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoadStats {
    pub rdb_version: u32,
    pub bytes: u64,
    pub loaded: u64,
    pub expired: u64,
    pub empty: u64,
    pub streams: u64,
    pub modules: u64,
    pub module_aux: u64,
    pub functions: u64,
    /// Keys read but not kept: the memory limit was reached under `noeviction`.
    pub over_memory: u64,
    /// Keys the eviction policy evicted to make room while loading.
    pub evicted: u64,
    /// The AUX fields (`redis-ver`, `ctime`, `used-mem`...), in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
}

impl LoadStats {
    pub fn log(&self, elapsed: Duration) {
        tracing::info!(
            "RDB loaded (version {}): {} keys in {:.3}s, {} bytes; {} expired keys skipped, \
             {} empty keys skipped, {} keys evicted to stay under maxmemory",
            self.rdb_version,
            self.loaded,
            elapsed.as_secs_f64(),
            self.bytes,
            self.expired,
            self.empty,
            self.evicted,
        );
        if self.streams > 0 {
            tracing::warn!(
                "{} stream keys of Redis 7.2 (RDB type 21) skipped: cachet reads the stream types of Redis 5 to 7.0",
                self.streams
            );
        }
        if self.modules > 0 || self.module_aux > 0 {
            tracing::warn!(
                "{} module keys and {} module AUX records skipped: cachet has no modules",
                self.modules,
                self.module_aux
            );
        }
        if self.functions > 0 {
            tracing::warn!(
                "{} function libraries skipped: FUNCTION LOAD them again",
                self.functions
            );
        }
        if self.over_memory > 0 {
            tracing::warn!(
                "{} keys not loaded: maxmemory reached and the policy is noeviction",
                self.over_memory
            );
        }
    }
}

/// How values are stored while loading.
#[derive(Clone, Copy)]
pub struct LoadOptions {
    pub limits: RestoreLimits,
    /// Wall-clock milliseconds a TTL is compared with: a key whose time has passed is dropped.
    pub now_ms: u64,
}

/// Whether `header` (the first bytes of a file) starts like an RDB file, for a loader that must
/// tell an RDB from another format.
pub fn is_rdb(header: &[u8]) -> bool {
    header.starts_with(MAGIC)
}

/// Loads the RDB file at `path` into `keyspace` (see `load`), its size known for the progress
/// log and for checking lengths against what is left.
pub fn load_file(
    path: &Path,
    keyspace: &Keyspace,
    options: LoadOptions,
) -> Result<LoadStats, RdbFileError> {
    let file = std::fs::File::open(path).map_err(RdbFileError::Io)?;
    let size = file.metadata().map_err(RdbFileError::Io)?.len();
    load(
        BufReader::with_capacity(1 << 16, file),
        Some(size),
        keyspace,
        options,
    )
}

/// Loads an RDB stream into `keyspace`, each key into the database its SELECTDB names. Keys are
/// stored as they are read: on an error the keys before it stay (a caller that wants all or
/// nothing flushes). `size`, when known, bounds every length read and gives the progress log
/// its percentage.
pub fn load(
    input: impl BufRead,
    size: Option<u64>,
    keyspace: &Keyspace,
    options: LoadOptions,
) -> Result<LoadStats, RdbFileError> {
    let mut reader = Reader::from_source(FileSource::new(input, size));
    let started = Instant::now();
    let result = load_from(&mut reader, keyspace, options, started);
    let source = reader.source();
    match result {
        Ok(stats) => Ok(stats),
        Err(Failure::File(e)) => Err(e),
        Err(Failure::Value(what)) => Err(source.error(what)),
    }
}

enum Failure {
    File(RdbFileError),
    Value(String),
}

impl From<DumpError> for Failure {
    fn from(_: DumpError) -> Self {
        Failure::Value("a length, string or value does not parse".into())
    }
}

fn load_from<R: BufRead>(
    reader: &mut Reader<FileSource<R>>,
    keyspace: &Keyspace,
    options: LoadOptions,
    started: Instant,
) -> Result<LoadStats, Failure> {
    let header = reader.take(9)?.to_vec();
    if !is_rdb(&header) {
        return Err(Failure::File(RdbFileError::NotRdb));
    }
    let version = std::str::from_utf8(&header[5..])
        .ok()
        .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u32>().ok())
        .ok_or(Failure::File(RdbFileError::NotRdb))?;
    if !(1..=MAX_RDB_VERSION).contains(&version) {
        return Err(Failure::File(RdbFileError::Version(version)));
    }
    let mut stats = LoadStats {
        rdb_version: version,
        ..LoadStats::default()
    };
    let policy = keyspace.eviction_settings().policy;
    let mut db = 0usize;
    let mut expire_at = 0u64;
    let mut idle = None;
    let mut freq = None;
    let mut memory_full = false;
    let mut last_progress = Instant::now();
    loop {
        let kind = reader.byte()?;
        match kind {
            OPCODE_EOF => break,
            OPCODE_SELECTDB => {
                let index = reader.len()?;
                if index >= keyspace.databases() as u64 {
                    return Err(Failure::File(RdbFileError::Database {
                        db: index,
                        databases: keyspace.databases(),
                    }));
                }
                db = index as usize;
            }
            OPCODE_RESIZEDB => {
                // The keys the database holds, for sizing its tables at once: no more than
                // the file has bytes left for (three a key at the least), whatever it says.
                let keys = reader.len()?;
                reader.len()?;
                let source = reader.source();
                if source.size.is_some() {
                    keyspace.reserve_keys(db, keys.min(source.left() / 3));
                }
            }
            OPCODE_EXPIRETIME => {
                let seconds = u32::from_le_bytes(reader.take(4)?.try_into().unwrap());
                expire_at = seconds as u64 * 1000;
            }
            OPCODE_EXPIRETIME_MS => {
                expire_at = u64::from_le_bytes(reader.take(8)?.try_into().unwrap());
            }
            OPCODE_IDLE => idle = Some(reader.len()?),
            OPCODE_FREQ => freq = Some(reader.byte()?),
            OPCODE_AUX => {
                let field = reader.string()?;
                let value = reader.string()?;
                stats.aux.push((field, value));
            }
            OPCODE_MODULE_AUX => {
                reader.len()?; // module id
                               // `when_opcode` is always RDB_MODULE_OPCODE_UINT in files Redis writes.
                if reader.len()? != MODULE_OPCODE_UINT {
                    return Err(Failure::Value(
                        "a module AUX record without its 'when'".into(),
                    ));
                }
                reader.len()?;
                skip_module_value(reader)?;
                stats.module_aux += 1;
            }
            OPCODE_FUNCTION2 => {
                reader.string()?;
                stats.functions += 1;
            }
            OPCODE_FUNCTION_PRE_GA => {
                return Err(Failure::Value(
                    "pre-release function format not supported".into(),
                ));
            }
            _ => {
                let key = reader.string()?;
                let value = read_key_value(kind, reader, options, &mut stats)?;
                let (expire, idle_seconds, frequency) = (expire_at, idle, freq);
                (expire_at, idle, freq) = (0, None, None);
                let Some(value) = value else { continue };
                if expire != 0 && expire <= options.now_ms {
                    stats.expired += 1;
                    continue;
                }
                if memory_full {
                    stats.over_memory += 1;
                    continue;
                }
                let mut entry = match value {
                    Restored::String(bytes) => Entry::new_string(&key, &bytes, 0),
                    Restored::Collection(collection) => Entry::new_collection(&key, collection, 0),
                };
                entry.set_expire_at(expire);
                set_lru_or_lfu(&mut entry, policy, idle_seconds, frequency, options.now_ms);
                let duplicate = keyspace.with_key(db, &key, options.now_ms, |view, hash| {
                    view.insert(hash, entry).is_some()
                });
                if duplicate {
                    return Err(Failure::File(RdbFileError::DuplicateKey { db, key }));
                }
                stats.loaded += 1;
                if keyspace.over_limit() {
                    match keyspace.evict_to_limit(options.now_ms) {
                        Ok(evicted) => stats.evicted += evicted as u64,
                        Err(_) => {
                            // noeviction: the key that crossed the limit goes, and so do the
                            // rest, so the server starts within its limit.
                            // The key's table may have grown for it: those slots go too.
                            keyspace.with_key(db, &key, options.now_ms, |view, hash| {
                                view.remove(hash, &key);
                                view.shrink_slots_to_fit();
                            });
                            stats.loaded -= 1;
                            stats.over_memory += 1;
                            memory_full = true;
                        }
                    }
                }
                if stats.loaded.is_multiple_of(1024) && last_progress.elapsed() >= PROGRESS_EVERY {
                    last_progress = Instant::now();
                    let source = reader.source();
                    let percent = source
                        .size
                        .map(|size| {
                            format!(
                                " ({:.1}%)",
                                source.offset as f64 * 100.0 / size.max(1) as f64
                            )
                        })
                        .unwrap_or_default();
                    tracing::info!(
                        "Loading RDB: {} keys, {} bytes{percent}, {:.1}s elapsed",
                        stats.loaded,
                        source.offset,
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        }
    }
    let computed = reader.source().digest.clone().finalize();
    // Version 5 added the checksum; zero means the writer had `rdbchecksum no`.
    if version >= 5 {
        let expected = u64::from_le_bytes(reader.take(8)?.try_into().unwrap());
        if expected != 0 && expected != computed {
            return Err(Failure::File(RdbFileError::Checksum { expected, computed }));
        }
    }
    stats.bytes = reader.source().offset;
    Ok(stats)
}

/// The value of one key, or None for a value cachet skips (counted in `stats`).
fn read_key_value<R: BufRead>(
    kind: u8,
    reader: &mut Reader<FileSource<R>>,
    options: LoadOptions,
    stats: &mut LoadStats,
) -> Result<Option<Restored>, Failure> {
    match kind {
        TYPE_STREAM_LISTPACKS_3 => {
            skip_stream(kind, reader)?;
            stats.streams += 1;
            Ok(None)
        }
        TYPE_MODULE_2 => {
            reader.len()?; // module id
            skip_module_value(reader)?;
            stats.modules += 1;
            Ok(None)
        }
        TYPE_MODULE_PRE_GA => Err(Failure::Value(
            "a module value of the pre-release format".into(),
        )),
        _ => {
            let value = read_value(kind, reader, options.limits)
                .map_err(|_| Failure::Value(format!("a value of type {kind} does not parse")))?;
            if value.is_empty() {
                stats.empty += 1;
                return Ok(None);
            }
            Ok(Some(value))
        }
    }
}

/// Walks a module's serialized value to its EOF item (Redis's `rdbLoadCheckModuleValue`).
fn skip_module_value<S: Source>(reader: &mut Reader<S>) -> Result<(), DumpError> {
    loop {
        match reader.len()? {
            MODULE_OPCODE_EOF => return Ok(()),
            MODULE_OPCODE_SINT | MODULE_OPCODE_UINT => {
                reader.len()?;
            }
            MODULE_OPCODE_FLOAT => {
                reader.take(4)?;
            }
            MODULE_OPCODE_DOUBLE => {
                reader.take(8)?;
            }
            MODULE_OPCODE_STRING => {
                reader.string()?;
            }
            _ => return Err(DumpError),
        }
    }
}

/// Walks a stream of RDB type 15, 19 or 21 (Redis 5, 7.0, 7.2) without building it: its nodes,
/// counters, and consumer groups with their pending entries and consumers.
fn skip_stream<S: Source>(kind: u8, reader: &mut Reader<S>) -> Result<(), DumpError> {
    const STREAM_ID: usize = 16;
    const MILLISECONDS: usize = 8;
    for _ in 0..reader.count()? {
        reader.string()?; // the node's master ID
        reader.string()?; // its listpack
    }
    reader.len()?; // length
    reader.len()?; // last ID ms
    reader.len()?; // last ID seq
    if kind >= TYPE_STREAM_LISTPACKS_2 {
        for _ in 0..5 {
            // first ID, max deleted ID, entries added
            reader.len()?;
        }
    }
    for _ in 0..reader.count()? {
        reader.string()?; // group name
        reader.len()?;
        reader.len()?;
        if kind >= TYPE_STREAM_LISTPACKS_2 {
            reader.len()?; // entries read
        }
        for _ in 0..reader.count()? {
            reader.take(STREAM_ID + MILLISECONDS)?;
            reader.len()?; // delivery count
        }
        for _ in 0..reader.count()? {
            reader.string()?; // consumer name
            reader.take(MILLISECONDS)?; // seen time
            if kind >= TYPE_STREAM_LISTPACKS_3 {
                reader.take(MILLISECONDS)?; // active time
            }
            for _ in 0..reader.count()? {
                reader.take(STREAM_ID)?;
            }
        }
    }
    Ok(())
}

/// The file as a `Source`: bytes read as they are asked for, the CRC64 of everything read kept
/// up to date, and the offset remembered for error messages.
struct FileSource<R> {
    input: R,
    buf: Vec<u8>,
    offset: u64,
    size: Option<u64>,
    digest: crc::Digest<'static, u64, crc::Table<16>>,
    /// Set when the input ended (or failed) inside a read: the error is a truncation.
    short: Option<std::io::Error>,
}

impl<R: BufRead> FileSource<R> {
    fn new(input: R, size: Option<u64>) -> Self {
        FileSource {
            input,
            buf: Vec::new(),
            offset: 0,
            size,
            digest: CRC64.digest(),
            short: None,
        }
    }

    /// The error for a value that failed to parse at the current offset.
    fn error(&self, what: String) -> RdbFileError {
        match &self.short {
            Some(e) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
                RdbFileError::Io(std::io::Error::new(e.kind(), e.to_string()))
            }
            Some(_) => RdbFileError::Truncated {
                offset: self.offset,
            },
            None => RdbFileError::Corrupt {
                offset: self.offset,
                what,
            },
        }
    }
}

impl<R: BufRead> Source for FileSource<R> {
    fn take(&mut self, n: usize) -> Result<&[u8], DumpError> {
        if n as u64 > self.left() {
            self.short = Some(std::io::ErrorKind::UnexpectedEof.into());
            return Err(DumpError);
        }
        self.buf.clear();
        // Read in growing steps rather than reserving `n` up front: without a known size, a
        // forged length must meet the end of the input before it meets the allocator.
        let read = (&mut self.input).take(n as u64).read_to_end(&mut self.buf);
        match read {
            Ok(got) if got == n => {}
            Ok(_) => {
                self.short = Some(std::io::ErrorKind::UnexpectedEof.into());
                return Err(DumpError);
            }
            Err(e) => {
                self.short = Some(e);
                return Err(DumpError);
            }
        }
        self.digest.update(&self.buf);
        self.offset += n as u64;
        Ok(&self.buf)
    }

    fn left(&self) -> u64 {
        self.size
            .map_or(u64::MAX, |size| size.saturating_sub(self.offset))
    }

    fn ran_short(&mut self) {
        self.short
            .get_or_insert(std::io::ErrorKind::UnexpectedEof.into());
    }
}

#[cfg(test)]
mod tests;
