//! Transparent zstd compression of string values (`compression-level`, `compression-min-size`,
//! `CACHE.SET ... COMPRESS`). A compressed value is a plain zstd frame in the entry's value bytes
//! with the entry's compressed flag set: the frame header carries the original length (so STRLEN
//! and OBJECT ENCODING never decompress), and readers get the original bytes through
//! `Entry::string_value`, the one accessor every command goes through.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use zstd::bulk::{Compressor, Decompressor};
use zstd::zstd_safe::DCtx;

use crate::engine::dictionary::{self, Dictionary};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Level {
    /// Values are stored as written.
    #[default]
    None = 0,
    Fast = 1,
    Default = 2,
    Max = 3,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::None, Level::Fast, Level::Default, Level::Max];

    pub fn name(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Fast => "fast",
            Level::Default => "default",
            Level::Max => "max",
        }
    }

    pub fn parse(text: &[u8]) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.name().as_bytes().eq_ignore_ascii_case(text))
    }

    pub fn from_u8(n: u8) -> Level {
        Level::ALL.get(n as usize).copied().unwrap_or_default()
    }

    /// zstd's level. `fast` is -1, the first of zstd's "fast" levels (literals stored without
    /// Huffman coding): on `scripts/bench-memory.sh`'s JSON documents (4 KB) it costs 20% less
    /// CPU than level 1 both ways for frames 22% larger (docs/notes.md); levels below -1 save
    /// under 3% more CPU each and lose ratio faster. 19 is zstd's strongest level before the
    /// `--ultra` ones, whose window sizes would cost more memory than a cache value saves.
    pub(crate) fn zstd(self) -> i32 {
        match self {
            Level::None => 0,
            Level::Fast => -1,
            Level::Default => 3,
            Level::Max => 19,
        }
    }

    /// zstd's level with a prefix dictionary (`engine::dictionary`): `fast` is 3 there. With
    /// one, level 3 costs within 8% of -1's CPU each way for frames a quarter smaller (5.03×
    /// against 3.79× on the bench's JSON, docs/notes.md), where without one it costs 30% more
    /// to compress; so with a dictionary `fast` and `default` are the same level.
    pub(crate) fn zstd_with_dictionary(self) -> i32 {
        match self {
            Level::Fast => Level::Default.zstd(),
            other => other.zstd(),
        }
    }
}

/// What a write compresses with: the configured level, or the level `CACHE.SET ... COMPRESS` gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub level: Level,
    /// Shorter values are stored raw: below this, zstd's frame header and the CPU cost outweigh
    /// what it saves (`docs/notes.md`).
    pub min_size: usize,
    /// Raw bytes that may wait for the background compressor (`engine::backlog`,
    /// `compression-backlog`); 0: every write compresses its value itself.
    pub backlog: usize,
}

impl Settings {
    /// `CACHE.SET ... COMPRESS level`: this value, whatever its size, compressed by its write.
    pub fn explicit(level: Level) -> Settings {
        Settings {
            level,
            min_size: 0,
            backlog: 0,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            level: Level::None,
            min_size: DEFAULT_MIN_SIZE,
            backlog: DEFAULT_BACKLOG,
        }
    }
}

pub const DEFAULT_MIN_SIZE: usize = 1024;
/// `compression-backlog`'s default (`docs/notes.md`, "Compression off the request path").
pub const DEFAULT_BACKLOG: usize = 64 << 20;

/// The compressed strings of a table: how many, their original and their stored bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    pub keys: usize,
    pub original: usize,
    pub stored: usize,
}

impl Footprint {
    pub const ZERO: Footprint = Footprint {
        keys: 0,
        original: 0,
        stored: 0,
    };

    /// Counts (`add`) or uncounts an entry's compressed string; other entries change nothing.
    pub fn apply(&mut self, sizes: Option<(usize, usize)>, add: bool) {
        let Some((original, stored)) = sizes else {
            return;
        };
        if add {
            self.keys += 1;
            self.original += original;
            self.stored += stored;
        } else {
            self.keys -= 1;
            self.original -= original;
            self.stored -= stored;
        }
    }

    pub fn merge(&mut self, other: &Footprint) {
        self.keys += other.keys;
        self.original += other.original;
        self.stored += other.stored;
    }
}

/// Decompression, process-wide: reads decompress where no server is at hand (a daemon runs one
/// server; tests only read these as growing). Compression is counted per server, by the shard
/// that stores the value (`ShardAnalytics::record_compression`).
static DECOMPRESS_US: AtomicU64 = AtomicU64::new(0);
static DECOMPRESSED_VALUES: AtomicU64 = AtomicU64::new(0);

/// (µs decompressing, values decompressed).
pub fn decompress_stats() -> (u64, u64) {
    (
        DECOMPRESS_US.load(Ordering::Relaxed),
        DECOMPRESSED_VALUES.load(Ordering::Relaxed),
    )
}

thread_local! {
    /// One zstd context per thread, kept between values: creating one allocates and zeroes its
    /// tables (hundreds of KB at level 3), which cost more than compressing a 4 KB document
    /// (`docs/notes.md`, the release benchmark). The level it was last set to rides along.
    static COMPRESSOR: RefCell<Option<(i32, Compressor<'static>)>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> =
        RefCell::new(Decompressor::new().ok());
    /// The frame being made, before `compress_with`'s caller copies it where it is stored: a
    /// write allocates only its entry.
    static FRAME: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static DICT_DECOMPRESSOR: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

/// A thread's frame buffer is given back after a frame larger than this (a huge value), rather
/// than kept for the thread's lifetime.
const FRAME_KEEP: usize = 1 << 20;

fn with_compressor<T>(
    level: i32,
    f: impl FnOnce(&mut Compressor<'static>) -> Option<T>,
) -> Option<T> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        match &mut *slot {
            Some((at, _)) if *at == level => {}
            Some((at, c)) => {
                c.set_compression_level(level).ok()?;
                *at = level;
            }
            None => *slot = Some((level, Compressor::new(level).ok()?)),
        }
        let (_, c) = slot.as_mut()?;
        f(c)
    })
}

/// What one compression attempt did, for the per-prefix figures (`stats-prefixes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    pub original: usize,
    /// The frame's length, or `original` when the value stayed raw.
    pub stored: usize,
    pub nanos: u64,
}

/// The frame for `value` (`None` when it should stay raw: saving less than an eighth is not worth
/// a decompression on every read) and the work done, or `None` when no attempt is made:
/// compression off or shorter than the minimum.
pub fn compress(value: &[u8], settings: Settings) -> Option<(Option<Vec<u8>>, Work)> {
    compress_with(value, settings, None, <[u8]>::to_vec)
}

/// Whether `compress` would try `value` (the values a dictionary is sampled from).
pub fn eligible(value: &[u8], settings: Settings) -> bool {
    settings.level != Level::None && value.len() >= settings.min_size && !value.is_empty()
}

/// `compress`, handing the frame to `keep` (which copies it where it is stored) from a buffer
/// kept per thread, instead of allocating it; with a prefix's dictionary
/// (`engine::dictionary`), whose id goes into the frame.
pub fn compress_with<R>(
    value: &[u8],
    settings: Settings,
    dictionary: Option<&Dictionary>,
    keep: impl FnOnce(&[u8]) -> R,
) -> Option<(Option<R>, Work)> {
    if !eligible(value, settings) {
        return None;
    }
    FRAME.with(|cell| {
        let mut frame = cell.borrow_mut();
        frame.clear();
        frame.reserve(zstd::zstd_safe::compress_bound(value.len()));
        let started = Instant::now();
        let cdict = dictionary.and_then(|d| d.cdict(settings.level));
        let made = with_compressor(settings.level.zstd(), |c| match cdict {
            Some(cdict) => c
                .context_mut()
                .compress_using_cdict(&mut *frame, value, cdict)
                .ok(),
            None => c.compress_to_buffer(value, &mut *frame).ok(),
        })
        .is_some();
        let elapsed = started.elapsed();
        let shrinks = made && frame.len() <= value.len() - value.len() / 8;
        let work = Work {
            original: value.len(),
            stored: if shrinks { frame.len() } else { value.len() },
            nanos: elapsed.as_nanos() as u64,
        };
        let kept = shrinks.then(|| keep(&frame));
        if frame.capacity() > FRAME_KEEP {
            *frame = Vec::new();
        }
        Some((kept, work))
    })
}

/// The original length a frame records (zstd's bulk compressor always writes it).
pub fn original_len(frame: &[u8]) -> usize {
    match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) => n as usize,
        _ => 0,
    }
}

/// The original bytes of a frame this process compressed. A frame that does not decode (which
/// only a bug could make) reads as empty rather than taking the server down.
pub fn decompress(frame: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0; original_len(frame)];
    if !decompress_into(frame, &mut bytes) {
        bytes.clear();
    }
    bytes
}

/// Decompresses a frame this process compressed into `dst`, which is `original_len(frame)`
/// bytes long (a reply's bulk string, written in place: GET copies nothing else). Returns
/// whether it decoded to exactly that length; a frame that does not (only a bug could make
/// one) leaves `dst` zeroed, so a reader gets zeros of the recorded length, not stale bytes.
///
/// A frame written with a dictionary names it, and is read with that one whatever was trained
/// since; a frame naming a dictionary the process does not have decodes as that failure.
pub fn decompress_into(frame: &[u8], dst: &mut [u8]) -> bool {
    let started = Instant::now();
    let decoded = match zstd::zstd_safe::get_dict_id_from_frame(frame) {
        Some(id) => dictionary::lookup(id.get()).and_then(|dict| {
            DICT_DECOMPRESSOR.with(|d| {
                d.borrow_mut()
                    .decompress_using_ddict(dst, frame, dict.ddict())
                    .ok()
            })
        }),
        None => DECOMPRESSOR.with(|d| match &mut *d.borrow_mut() {
            Some(d) => d.decompress_to_buffer(frame, dst).ok(),
            None => None,
        }),
    };
    DECOMPRESS_US.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    DECOMPRESSED_VALUES.fetch_add(1, Ordering::Relaxed);
    let whole = decoded == Some(dst.len());
    if !whole {
        dst.fill(0);
    }
    whole
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_incompressible_and_disabled_values_stay_raw() {
        let on = Settings {
            min_size: 16,
            ..Settings::explicit(Level::Fast)
        };
        assert_eq!(compress(b"short", on), None);
        assert_eq!(compress(&[b'a'; 100], Settings::default()), None);
        let mut rng = fastrand::Rng::with_seed(1);
        let noise: Vec<u8> = (0..4096).map(|_| rng.u8(..)).collect();
        let (frame, work) = compress(&noise, on).unwrap();
        assert_eq!(frame, None);
        assert_eq!((work.original, work.stored), (4096, 4096));
        assert_eq!(compress(b"", Settings { min_size: 0, ..on }), None);
    }

    #[test]
    fn frames_round_trip_and_record_the_length() {
        let value = br#"{"name":"x","tags":["a","b"]}"#.repeat(100);
        for level in [Level::Fast, Level::Default, Level::Max] {
            let (frame, work) = compress(&value, Settings::explicit(level)).unwrap();
            let frame = frame.unwrap();
            assert_eq!((work.original, work.stored), (value.len(), frame.len()));
            assert!(frame.len() < value.len() / 4);
            assert_eq!(original_len(&frame), value.len());
            assert_eq!(decompress(&frame), value);
        }
        assert_eq!(Level::parse(b"MAX"), Some(Level::Max));
        assert_eq!(Level::parse(b"maximum"), None);
    }
}
