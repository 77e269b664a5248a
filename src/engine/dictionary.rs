//! Per-prefix zstd dictionaries (`compression-dict on`): small JSON values share most of their
//! bytes (field names, enum values) with their neighbours, and a dictionary trained on a sample
//! of them halves what plain zstd leaves (`docs/notes.md`).
//!
//! - **Prefix**: the key up to and including the first `compression-dict-prefix-delimiter`
//!   (`user:` of `user:42:profile`), or the empty prefix for keys without it. At most
//!   `MAX_PREFIXES` prefixes are followed, the first ones seen; keys of others compress without.
//! - **Sampling**: one eligible write in `SAMPLE_EVERY` of a prefix that wants samples keeps a
//!   copy of the value's first `MAX_SAMPLE_BYTES`, under this module's own leaf lock (taken
//!   with the shard lock held, nothing below it). Samples count in `used_memory`.
//! - **Training** (`zstd::dict::from_samples`, `compression-dict-size` bytes) runs with no
//!   shard locked: in the background (`net::cron` asks `wants_training` each tick and trains on
//!   a blocking thread) once a prefix has `TRAIN_SAMPLES` samples or `TRAIN_BYTES`, or at
//!   `CACHE.COMPRESSION TRAIN`.
//! - **Retraining**: when the ratio of the writes compressed with a prefix's dictionary (after
//!   `RETRAIN_AFTER` of them) falls below three quarters of the ratio it had on its own samples,
//!   the prefix samples again and a new dictionary replaces it for new writes.
//! - **Old dictionaries stay**: a value names its dictionary by the id zstd writes into the frame
//!   header, and is read with it whatever was trained since. Every dictionary trained is kept
//!   (no reference counts) up to `MAX_PER_PREFIX` per prefix; a prefix that has them all keeps
//!   its last. A snapshot holds values as their original bytes, so it keeps only the current
//!   dictionary of each prefix, and a restart sheds the older ones.
//! - **Ids** are drawn at random in zstd's range for user dictionaries and written into the
//!   dictionary (zstd picks one from a hash of the content otherwise), unique among the
//!   dictionaries of the process: a process-wide map from id to dictionary serves decompression,
//!   which (`Entry::string_value`) knows the frame and nothing of the keyspace.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, RwLock, Weak};

use arc_swap::ArcSwap;
use zstd::zstd_safe::{CDict, DDict};

use crate::engine::compress::{self, Level, Settings, Work};
use crate::sync::{LockExt, RwLockExt};
use std::sync::TryLockError;

pub const DEFAULT_DICT_SIZE: usize = 16 * 1024;
/// Samples that start a prefix's training, or `TRAIN_BYTES` of them, whichever first.
pub const TRAIN_SAMPLES: usize = 1000;
pub const TRAIN_BYTES: usize = 1 << 20;
/// Fewer samples than this do not train (zstd's trainer needs a few to find what repeats).
pub const MIN_TRAIN_SAMPLES: usize = 16;
/// One eligible write in this many of a prefix that wants samples is sampled.
pub const SAMPLE_EVERY: u32 = 4;
/// The part of a value kept as a sample: what a dictionary holds is what values share, which a
/// value's first bytes show as well as its whole.
pub const MAX_SAMPLE_BYTES: usize = 16 * 1024;
/// All prefixes' samples together: past this no prefix samples more, and every prefix with
/// `MIN_TRAIN_SAMPLES` trains on what it has.
pub const MAX_ALL_SAMPLE_BYTES: usize = 8 << 20;
pub const MAX_PREFIXES: usize = 64;
pub const MAX_PER_PREFIX: usize = 4;
/// Writes compressed with a dictionary before its ratio is judged for a retraining.
pub const RETRAIN_AFTER: u64 = 1000;
/// zstd's user dictionary ids: below 32768 is reserved for registered dictionaries, at 2^31 and
/// above for future use.
const ID_RANGE: std::ops::Range<u32> = 32_768..(1 << 31);
/// A formatted zstd dictionary starts with this magic, then its 4-byte id.
const DICT_MAGIC: u32 = 0xEC30_A437;

/// Every dictionary alive in the process, by id, for decompression.
/// Several entries share an id only when they hold the same bytes (one snapshot loaded by two
/// keyspaces of one process, as tests do): any of them decodes the frames.
static REGISTRY: LazyLock<RwLock<HashMap<u32, Vec<Weak<Dictionary>>>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

static MISSING: AtomicU64 = AtomicU64::new(0);

/// Frames naming a dictionary the process does not have (read as empty; only a bug can make one).
pub fn missing_reads() -> u64 {
    MISSING.load(Ordering::Relaxed)
}

pub struct Dictionary {
    pub id: u32,
    pub prefix: Box<[u8]>,
    bytes: Box<[u8]>,
    ddict: DDict<'static>,
    /// Built at first use per level (a CDict is prepared for one level; `max`'s is large).
    cdicts: [OnceLock<Option<CDict<'static>>>; 3],
    /// The owner's memory counter, which the CDicts add to when built.
    memory: Arc<AtomicUsize>,
    /// original / stored of its own samples when trained; 0 when loaded from a snapshot, which
    /// keeps no samples: such a dictionary is never judged degraded (`CACHE.COMPRESSION TRAIN`
    /// replaces it).
    trained_ratio: f64,
    /// Writes compressed with it: values, their bytes before and after.
    values: AtomicU64,
    original: AtomicU64,
    stored: AtomicU64,
}

impl Dictionary {
    fn build(
        prefix: &[u8],
        bytes: Vec<u8>,
        memory: Arc<AtomicUsize>,
        trained_ratio: f64,
    ) -> Option<Dictionary> {
        let id = dict_id(&bytes)?;
        let ddict = DDict::try_create(&bytes)?;
        memory.fetch_add(
            bytes.len() + ddict.sizeof() + prefix.len(),
            Ordering::Relaxed,
        );
        Some(Dictionary {
            id,
            prefix: prefix.into(),
            bytes: bytes.into_boxed_slice(),
            ddict,
            cdicts: Default::default(),
            memory,
            trained_ratio,
            values: AtomicU64::new(0),
            original: AtomicU64::new(0),
            stored: AtomicU64::new(0),
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn cdict(&self, level: Level) -> Option<&CDict<'static>> {
        let slot = self.cdicts.get((level as usize).checked_sub(1)?)?;
        slot.get_or_init(|| {
            let cdict = CDict::try_create(&self.bytes, level.zstd_with_dictionary())?;
            self.memory.fetch_add(cdict.sizeof(), Ordering::Relaxed);
            Some(cdict)
        })
        .as_ref()
    }

    pub fn ddict(&self) -> &DDict<'static> {
        &self.ddict
    }

    /// A write compressed with it (a value kept raw counts the same on both sides).
    pub fn record(&self, work: &Work) {
        self.values.fetch_add(1, Ordering::Relaxed);
        self.original
            .fetch_add(work.original as u64, Ordering::Relaxed);
        self.stored.fetch_add(work.stored as u64, Ordering::Relaxed);
    }

    /// (values, original bytes, stored bytes) written with it.
    pub fn written(&self) -> (u64, u64, u64) {
        (
            self.values.load(Ordering::Relaxed),
            self.original.load(Ordering::Relaxed),
            self.stored.load(Ordering::Relaxed),
        )
    }

    /// Whether its writes now compress clearly worse than its samples did.
    fn degraded(&self) -> bool {
        let (values, original, stored) = self.written();
        values >= RETRAIN_AFTER
            && self.trained_ratio > 0.0
            && stored > 0
            && (original as f64 / stored as f64) < self.trained_ratio * 0.75
    }
}

impl Drop for Dictionary {
    fn drop(&mut self) {
        let mut registry = REGISTRY.write_or_recover();
        if let Some(holders) = registry.get_mut(&self.id) {
            holders.retain(|w| w.strong_count() > 0);
            if holders.is_empty() {
                registry.remove(&self.id);
            }
        }
    }
}

/// The id a formatted dictionary carries.
fn dict_id(bytes: &[u8]) -> Option<u32> {
    let magic = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?);
    let id = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    (magic == DICT_MAGIC && id != 0).then_some(id)
}

/// The dictionary a frame names, when this process has it.
pub fn lookup(id: u32) -> Option<Arc<Dictionary>> {
    let registry = REGISTRY.read_or_recover();
    let found = registry
        .get(&id)
        .and_then(|holders| holders.iter().find_map(Weak::upgrade));
    if found.is_none() {
        MISSING.fetch_add(1, Ordering::Relaxed);
    }
    found
}

/// Registers `dict` under its id unless another dictionary has it. A dictionary with the same
/// id and bytes (the same snapshot loaded by two keyspaces of one process) decodes the same
/// frames, so either serves.
fn register(dict: &Arc<Dictionary>) -> bool {
    let mut registry = REGISTRY.write_or_recover();
    let holders = registry.entry(dict.id).or_default();
    holders.retain(|w| w.strong_count() > 0);
    if holders
        .iter()
        .filter_map(Weak::upgrade)
        .any(|other| other.bytes != dict.bytes)
    {
        return false;
    }
    holders.push(Arc::downgrade(dict));
    true
}

/// A fresh id no dictionary of the process has, written into `bytes`.
fn assign_id(bytes: &mut [u8]) -> Option<u32> {
    dict_id(bytes)?;
    let registry = REGISTRY.read_or_recover();
    let id = loop {
        let id = fastrand::u32(ID_RANGE);
        if !registry.contains_key(&id) {
            break id;
        }
    };
    bytes[4..8].copy_from_slice(&id.to_le_bytes());
    Some(id)
}

/// A dictionary as a snapshot keeps it: (prefix, zstd dictionary with its id).
pub type Saved = (Box<[u8]>, Box<[u8]>);

type Samples = Vec<Box<[u8]>>;

#[derive(Default)]
struct Prefix {
    samples: Samples,
    sample_bytes: usize,
    /// Dictionaries trained for it, kept in `State::kept`.
    trained: usize,
    /// Whether writes are sampled: until a dictionary is trained, and again when it degrades.
    wants: bool,
    /// Why its last training failed, for INFO.
    failed: Option<String>,
}

#[derive(Default)]
struct State {
    prefixes: HashMap<Box<[u8]>, Prefix>,
    kept: Vec<Arc<Dictionary>>,
    sample_bytes: usize,
    trainings: u64,
}

/// What INFO and CACHE.STATS show of one prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefixReport {
    pub prefix: Box<[u8]>,
    pub samples: usize,
    pub dictionaries: usize,
    /// The dictionary new writes use: id, and its writes' (values, ratio).
    pub current: Option<(u32, u64, f64)>,
    pub failed: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Kept, old ones included.
    pub dictionaries: usize,
    /// Prefixes whose writes compress with one.
    pub in_use: usize,
    pub trainings: u64,
    pub samples: usize,
    pub sample_bytes: usize,
    /// Snapshot dictionaries left out at load.
    pub load_skipped: u64,
}

/// Why `CACHE.COMPRESSION TRAIN prefix` trained nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainError {
    Off,
    TooFewSamples { samples: usize },
    AtLimit,
    Failed(String),
}

/// The dictionaries of one keyspace, and the samples they are trained from.
pub struct Dictionaries {
    enabled: AtomicBool,
    delimiter: ArcSwap<Box<[u8]>>,
    size: AtomicUsize,
    /// prefix → the dictionary its new writes compress with.
    current: ArcSwap<HashMap<Box<[u8]>, Arc<Dictionary>>>,
    state: Mutex<State>,
    /// Held for a whole training, so two never train the same samples.
    training: Mutex<()>,
    /// Dictionaries (their bytes, prepared forms) and samples: part of `used_memory`.
    memory: Arc<AtomicUsize>,
    /// Snapshot dictionaries left out at load (`restore`).
    skipped: AtomicU64,
}

impl Default for Dictionaries {
    fn default() -> Self {
        Dictionaries {
            enabled: AtomicBool::new(false),
            delimiter: ArcSwap::from_pointee(b":".to_vec().into_boxed_slice()),
            size: AtomicUsize::new(DEFAULT_DICT_SIZE),
            current: ArcSwap::default(),
            state: Mutex::default(),
            training: Mutex::default(),
            memory: Arc::default(),
            skipped: AtomicU64::new(0),
        }
    }
}

thread_local! {
    static SAMPLE_TICK: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl Dictionaries {
    pub fn configure(&self, enabled: bool, delimiter: &[u8], size: usize) {
        self.enabled.store(enabled, Ordering::Relaxed);
        if ***self.delimiter.load() != *delimiter {
            self.delimiter.store(Arc::new(delimiter.into()));
        }
        self.size.store(size, Ordering::Relaxed);
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn memory(&self) -> usize {
        self.memory.load(Ordering::Relaxed)
    }

    /// The key's prefix: up to and including the first delimiter, else empty.
    pub fn prefix<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        let delimiter = self.delimiter.load();
        if delimiter.is_empty() {
            return &[];
        }
        key.windows(delimiter.len())
            .position(|w| w == &***delimiter)
            .map_or(&[], |at| &key[..at + delimiter.len()])
    }

    /// The dictionary a write of a key with `prefix` compresses with.
    pub fn current(&self, prefix: &[u8]) -> Option<Arc<Dictionary>> {
        self.current.load().get(prefix).cloned()
    }

    /// What a write of `value` at `key` does with dictionaries: offers the value as a sample of
    /// the key's prefix when `settings` would compress it, and returns the prefix's dictionary.
    /// `None` at once with `compression-dict off`. Called before the shard lock (SET) or under
    /// it (every other write, `DbShard::compress`).
    pub fn for_write(
        &self,
        key: &[u8],
        value: Option<&[u8]>,
        settings: Settings,
    ) -> Option<Arc<Dictionary>> {
        if !self.enabled() {
            return None;
        }
        let prefix = self.prefix(key);
        if let Some(value) = value.filter(|v| compress::eligible(v, settings)) {
            self.offer(prefix, value);
        }
        self.current(prefix)
    }

    /// Offers a value a write is about to compress (SET before its shard lock, other writes under
    /// it): a tick of a per-thread counter, and one write in `SAMPLE_EVERY` takes this module's lock.
    pub fn offer(&self, prefix: &[u8], value: &[u8]) {
        let tick = SAMPLE_TICK.with(|t| {
            let n = t.get().wrapping_add(1);
            t.set(n);
            n
        });
        if !tick.is_multiple_of(SAMPLE_EVERY) {
            return;
        }
        let mut state = self.state.lock_or_recover();
        if state.sample_bytes >= MAX_ALL_SAMPLE_BYTES {
            return;
        }
        if !state.prefixes.contains_key(prefix) {
            if state.prefixes.len() >= MAX_PREFIXES {
                return;
            }
            self.memory.fetch_add(prefix.len(), Ordering::Relaxed);
            state.prefixes.insert(
                prefix.into(),
                Prefix {
                    wants: true,
                    ..Prefix::default()
                },
            );
        }
        let Some(entry) = state.prefixes.get_mut(prefix) else {
            return;
        };
        if !entry.wants || entry.samples.len() >= TRAIN_SAMPLES || entry.sample_bytes >= TRAIN_BYTES
        {
            return;
        }
        let sample: Box<[u8]> = value[..value.len().min(MAX_SAMPLE_BYTES)].into();
        entry.sample_bytes += sample.len();
        let len = sample.len();
        entry.samples.push(sample);
        state.sample_bytes += len;
        self.memory.fetch_add(len, Ordering::Relaxed);
    }

    /// Whether a background training has work: a prefix with enough samples, or one whose
    /// dictionary degraded (which starts its sampling again).
    pub fn wants_training(&self) -> bool {
        if !self.enabled() {
            return false;
        }
        let current = self.current.load();
        let mut state = self.state.lock_or_recover();
        for dict in current.values().filter(|d| d.degraded()) {
            if let Some(prefix) = state.prefixes.get_mut(&dict.prefix) {
                if !prefix.wants && prefix.trained < MAX_PER_PREFIX {
                    prefix.wants = true;
                }
            }
        }
        let all_full = state.sample_bytes >= MAX_ALL_SAMPLE_BYTES;
        state
            .prefixes
            .values()
            .any(|p| ready(p, all_full, MIN_TRAIN_SAMPLES))
    }

    /// Trains every prefix that is ready (`background`), or every prefix with at least
    /// `MIN_TRAIN_SAMPLES` samples (`CACHE.COMPRESSION TRAIN`), or the one named. Runs with no
    /// shard locked. Returns the dictionaries installed.
    pub fn train(&self, only: Option<&[u8]>, background: bool) -> Result<usize, TrainError> {
        if !self.enabled() {
            return Err(TrainError::Off);
        }
        // The background gives way to a training under way; the command waits for it.
        let _training = if background {
            match self.training.try_lock() {
                Ok(guard) => guard,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return Ok(0),
            }
        } else {
            self.training.lock_or_recover()
        };
        let size = self.size.load(Ordering::Relaxed);
        let taken: Vec<(Box<[u8]>, Samples)> = {
            let mut state = self.state.lock_or_recover();
            let all_full = state.sample_bytes >= MAX_ALL_SAMPLE_BYTES;
            if let Some(prefix) = only {
                let entry = state.prefixes.get_mut(prefix);
                if entry.as_ref().is_some_and(|p| p.trained >= MAX_PER_PREFIX) {
                    return Err(TrainError::AtLimit);
                }
                let samples = entry.as_ref().map_or(0, |p| p.samples.len());
                if samples < MIN_TRAIN_SAMPLES {
                    // Asked for a new dictionary: its writes are sampled again (a prefix not
                    // seen yet is followed from its first write anyway).
                    if let Some(entry) = entry {
                        entry.wants = true;
                    }
                    return Err(TrainError::TooFewSamples { samples });
                }
            }
            let names: Vec<Box<[u8]>> = state
                .prefixes
                .iter()
                .filter(|(name, p)| {
                    only.is_none_or(|o| &***name == o)
                        && p.trained < MAX_PER_PREFIX
                        && if background {
                            ready(p, all_full, MIN_TRAIN_SAMPLES)
                        } else {
                            p.samples.len() >= MIN_TRAIN_SAMPLES
                        }
                })
                .map(|(name, _)| name.clone())
                .collect();
            let mut taken = Vec::new();
            for name in names {
                if let Some(p) = state.prefixes.get_mut(&name) {
                    let samples = std::mem::take(&mut p.samples);
                    let bytes = std::mem::take(&mut p.sample_bytes);
                    p.wants = false;
                    state.sample_bytes -= bytes;
                    self.memory.fetch_sub(bytes, Ordering::Relaxed);
                    taken.push((name, samples));
                }
            }
            taken
        };
        let mut installed = 0;
        let mut last_error = None;
        for (prefix, samples) in taken {
            match self.train_one(&prefix, &samples, size) {
                Ok(()) => installed += 1,
                Err(why) => {
                    let mut state = self.state.lock_or_recover();
                    if let Some(p) = state.prefixes.get_mut(&prefix) {
                        p.failed = Some(why.clone());
                        // Samples again: the next ones may train (more of them, other values).
                        p.wants = true;
                    }
                    last_error = Some(why);
                }
            }
        }
        match last_error {
            Some(why) if only.is_some() => Err(TrainError::Failed(why)),
            _ => Ok(installed),
        }
    }

    fn train_one(&self, prefix: &[u8], samples: &[Box<[u8]>], size: usize) -> Result<(), String> {
        let mut bytes = zstd::dict::from_samples(samples, size).map_err(|e| e.to_string())?;
        assign_id(&mut bytes).ok_or("the trainer made no formatted dictionary")?;
        // The ratio its own samples get at `fast`: what its later writes are compared with.
        let cdict = CDict::try_create(&bytes, Level::Fast.zstd_with_dictionary())
            .ok_or("zstd refused the trained dictionary")?;
        let mut context = zstd::zstd_safe::CCtx::create();
        let (mut original, mut stored) = (0usize, 0usize);
        for sample in samples.iter().take(256) {
            let mut frame = Vec::with_capacity(zstd::zstd_safe::compress_bound(sample.len()));
            if context
                .compress_using_cdict(&mut frame, sample, &cdict)
                .is_ok()
            {
                original += sample.len();
                stored += frame.len();
            }
        }
        let ratio = if stored > 0 {
            original as f64 / stored as f64
        } else {
            0.0
        };
        let dict = Dictionary::build(prefix, bytes, self.memory.clone(), ratio)
            .ok_or("the trainer made no formatted dictionary")?;
        self.install(Arc::new(dict));
        Ok(())
    }

    /// Makes `dict` its prefix's current dictionary, keeping the one it replaces.
    fn install(&self, dict: Arc<Dictionary>) -> bool {
        if !register(&dict) {
            return false;
        }
        let mut state = self.state.lock_or_recover();
        if !state.prefixes.contains_key(&dict.prefix) {
            self.memory.fetch_add(dict.prefix.len(), Ordering::Relaxed);
        }
        let prefix = state.prefixes.entry(dict.prefix.clone()).or_default();
        prefix.trained += 1;
        prefix.failed = None;
        state.kept.push(dict.clone());
        state.trainings += 1;
        self.current.rcu(|current| {
            let mut next = HashMap::clone(current);
            next.insert(dict.prefix.clone(), dict.clone());
            next
        });
        true
    }

    /// What a snapshot keeps: each prefix's current dictionary, as (prefix, bytes).
    pub fn saved(&self) -> Vec<Saved> {
        let mut saved: Vec<_> = self
            .current
            .load()
            .values()
            .map(|d| (d.prefix.clone(), d.bytes.clone()))
            .collect();
        saved.sort();
        saved
    }

    /// Installs the dictionaries a snapshot kept (before its records load, so that loaded
    /// strings compress with them). Only with `compression-dict on`: otherwise nothing would use
    /// them, and the next snapshot forgets them. A dictionary that is not one, or whose id another
    /// dictionary of the process holds with other bytes, is skipped. Returns (installed, skipped).
    pub fn restore(&self, saved: &[Saved]) -> (usize, usize) {
        if !self.enabled() {
            return (0, 0);
        }
        let mut counts = (0, 0);
        for (prefix, bytes) in saved {
            let room = self.state.lock_or_recover().prefixes.len() < MAX_PREFIXES;
            let installed = room
                && Dictionary::build(prefix, bytes.to_vec(), self.memory.clone(), 0.0)
                    .is_some_and(|dict| self.install(Arc::new(dict)));
            if installed {
                counts.0 += 1;
            } else {
                counts.1 += 1;
                self.skipped.fetch_add(1, Ordering::Relaxed);
            }
        }
        counts
    }

    /// What INFO compression shows of all prefixes together.
    pub fn totals(&self) -> Totals {
        let state = self.state.lock_or_recover();
        Totals {
            dictionaries: state.kept.len(),
            in_use: self.current.load().len(),
            trainings: state.trainings,
            samples: state.prefixes.values().map(|p| p.samples.len()).sum(),
            sample_bytes: state.sample_bytes,
            load_skipped: self.skipped.load(Ordering::Relaxed),
        }
    }

    /// Every prefix followed, sorted.
    pub fn reports(&self) -> Vec<PrefixReport> {
        let current = self.current.load();
        let state = self.state.lock_or_recover();
        let mut reports: Vec<PrefixReport> = state
            .prefixes
            .iter()
            .map(|(name, p)| PrefixReport {
                prefix: name.clone(),
                samples: p.samples.len(),
                dictionaries: p.trained,
                current: current.get(name).map(|d| {
                    let (values, original, stored) = d.written();
                    let ratio = if stored > 0 {
                        original as f64 / stored as f64
                    } else {
                        0.0
                    };
                    (d.id, values, ratio)
                }),
                failed: p.failed.clone(),
            })
            .collect();
        reports.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        reports
    }
}

fn ready(p: &Prefix, all_full: bool, min: usize) -> bool {
    p.trained < MAX_PER_PREFIX
        && (p.samples.len() >= TRAIN_SAMPLES
            || p.sample_bytes >= TRAIN_BYTES
            || (all_full && p.samples.len() >= min))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(rng: &mut fastrand::Rng, n: usize) -> Vec<u8> {
        format!(
            r#"{{"id":{n},"user":{{"name":"user{}","email":"user{}@example.com","active":{}}},"tags":["alpha","beta","gamma"],"score":{}}}"#,
            rng.u32(..),
            rng.u32(..),
            rng.bool(),
            rng.u32(..1000)
        )
        .into_bytes()
    }

    #[test]
    fn the_error_messages_quote_these_limits() {
        // error.rs's DictTooFewSamples and DictAtLimit say 16 and 4.
        assert_eq!((MIN_TRAIN_SAMPLES, MAX_PER_PREFIX), (16, 4));
    }

    #[test]
    fn prefixes_follow_the_delimiter() {
        let dicts = Dictionaries::default();
        assert_eq!(dicts.prefix(b"user:42:x"), b"user:");
        assert_eq!(dicts.prefix(b"plain"), b"");
        dicts.configure(true, b"::", DEFAULT_DICT_SIZE);
        assert_eq!(dicts.prefix(b"a:b::c"), b"a:b::");
        dicts.configure(true, b"", DEFAULT_DICT_SIZE);
        assert_eq!(dicts.prefix(b"a:b"), b"");
    }

    #[test]
    fn a_value_written_with_an_old_dictionary_reads_after_a_new_one() {
        let dicts = Dictionaries::default();
        dicts.configure(true, b":", DEFAULT_DICT_SIZE);
        let mut rng = fastrand::Rng::with_seed(7);
        assert_eq!(
            dicts.train(Some(b"doc:"), false),
            Err(TrainError::TooFewSamples { samples: 0 })
        );
        for n in 0..400 * SAMPLE_EVERY as usize {
            dicts.offer(b"doc:", &document(&mut rng, n));
        }
        assert_eq!(dicts.train(None, false), Ok(1));
        let first = dicts.current(b"doc:").unwrap();
        let settings = Settings::explicit(Level::Fast);
        let value = document(&mut rng, 1);
        let (frame, _) =
            compress::compress_with(&value, settings, Some(&first), <[u8]>::to_vec).unwrap();
        let frame = frame.unwrap();
        let (plain, _) = compress::compress(&value, settings).unwrap();
        assert!(plain.is_none_or(|p| frame.len() < p.len()));
        assert_eq!(
            zstd::zstd_safe::get_dict_id_from_frame(&frame).map(|id| id.get()),
            Some(first.id)
        );
        for n in 0..400 * SAMPLE_EVERY as usize {
            dicts.offer(b"doc:", &document(&mut rng, n));
        }
        // The prefix stopped sampling once trained; asking again samples it again.
        assert_eq!(
            dicts.train(Some(b"doc:"), false),
            Err(TrainError::TooFewSamples { samples: 0 })
        );
        for n in 0..400 * SAMPLE_EVERY as usize {
            dicts.offer(b"doc:", &document(&mut rng, n));
        }
        assert_eq!(dicts.train(Some(b"doc:"), false), Ok(1));
        let second = dicts.current(b"doc:").unwrap();
        assert_ne!(first.id, second.id);
        assert_eq!(compress::decompress(&frame), value);
        assert_eq!(dicts.totals().dictionaries, 2);
        assert_eq!(dicts.totals().in_use, 1);
        let memory = dicts.memory();
        assert!(memory > 2 * first.bytes().len(), "{memory}");
        // A snapshot keeps the current one; another keyspace restores it.
        let saved = dicts.saved();
        assert_eq!(saved.len(), 1);
        let other = Dictionaries::default();
        assert_eq!(other.restore(&saved), (0, 0), "off: nothing restored");
        other.configure(true, b":", DEFAULT_DICT_SIZE);
        assert_eq!(other.restore(&saved), (1, 0));
        // Same id with other bytes: skipped, not installed.
        let mut forged = saved[0].1.to_vec();
        let last = forged.len() - 1;
        forged[last] ^= 0xFF;
        assert_eq!(
            other.restore(&[(saved[0].0.clone(), forged.into())]),
            (0, 1)
        );
        assert_eq!(
            other.restore(&[(b"x:"[..].into(), b"not a dictionary"[..].into())]),
            (0, 1)
        );
        drop(dicts);
        drop(first);
        drop(second);
        // The frame of a dictionary no keyspace holds any more reads as empty and is counted.
        let before = missing_reads();
        assert_eq!(compress::decompress(&frame), b"");
        assert!(missing_reads() > before);
    }
}
