//! One key and its value, in as few bytes as we can manage: the table slot holds the entry inline
//! (24 bytes: the block's pointer and length, and the pointer to what few entries have), and one
//! allocation holds a small header (flags, access clock, LFU counter, key length; expiry and cost
//! only when the key has them), the key and a string's bytes or an integer's 8 bytes. Tags,
//! parents and collection values sit behind one more pointer (see `Entry` for the byte layout).

use crate::engine::compress;
use crate::engine::dictionary::Dictionary;
use crate::engine::labels::Name;
use crate::engine::memory::alloc_size;
use crate::engine::types::{Collection, HashValue, ListValue, SetValue, StreamValue, ZSetValue};

/// The value as commands see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A string whose bytes follow the key. `raw` marks a string grown in place (APPEND, SETRANGE),
    /// which Redis reports as `raw` whatever its length.
    Str { raw: bool },
    /// A string that is a canonical decimal integer (Redis's `int` encoding).
    Int(i64),
    /// A hash, list, set, sorted set or stream (see `Entry::collection`).
    Collection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum Priority {
    Low = 0,
    #[default]
    Normal = 1,
    High = 2,
    /// Evicted only when nothing else is left.
    Critical = 3,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Critical,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    pub fn parse(text: &[u8]) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| p.name().as_bytes().eq_ignore_ascii_case(text))
    }
}

/// Cache metadata a write may set (`CACHE.SET ... PRIORITY COST TAGS`); plain `SET` gives the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheMeta {
    pub priority: Priority,
    /// What recreating the value costs the application, in its own units (default 1).
    pub cost: u32,
    pub tags: Option<TagList>,
}

impl Default for CacheMeta {
    fn default() -> Self {
        CacheMeta {
            priority: Priority::Normal,
            cost: 1,
            tags: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Str = 0,
    RawStr = 1,
    Int = 2,
    /// The value is `extra.collection`; the entry's bytes hold only the header and the key.
    Collection = 3,
}

impl Kind {
    fn from_bits(bits: u8) -> Kind {
        match bits & 3 {
            0 => Kind::Str,
            1 => Kind::RawStr,
            2 => Kind::Int,
            _ => Kind::Collection,
        }
    }
}

/// A key and its value: what a table slot holds, inline (16 bytes, no box of its own).
///
/// The block is one allocation laid out as
/// ```text
///   0      flags: kind (bits 0-1), priority (2-3), in the admission window (4),
///          has an expiry (5), has a cost other than 1 (6), the string is a zstd frame (7)
///   1      LFU counter (Redis's logarithmic counter, `OBJECT FREQ`)
///   2..5   last access, 24-bit seconds of the LRU clock (Redis's `LRU_BITS`)
///   5..    key length, LEB128 (1 byte below 128)
///   [8]    expiry, absolute Unix milliseconds, little-endian: only when flag 5 is set
///   [4]    cost, little-endian: only when flag 6 is set
///   key, then the value: a string's bytes or an integer's 8 bytes (nothing for a collection)
/// ```
/// so everything eviction weighs (priority, window bit, clock, counter) sits in the same cache
/// line as the key, and a string costs one allocation, except one whose block would just cross
/// into a larger size class (e.g. 500 bytes after a 16-byte key): its bytes go into an
/// allocation of their own in the `Rich` box (`Body::Value`) when that costs less (`spills`). An entry with what few entries have (tags,
/// parents, a collection value) is `Rich`: a box holding the block's pointer and that `Extra`.
#[derive(Debug)]
pub struct Entry(Repr);

/// 16 bytes: `Plain`'s block pointer is never null, which leaves room for the tag.
#[derive(Debug)]
enum Repr {
    Plain(Box<[u8]>),
    Rich(Box<Rich>),
}

#[derive(Debug)]
struct Rich {
    block: Box<[u8]>,
    extra: Extra,
}

const FLAGS: usize = 0;
const LFU: usize = 1;
const LRU: usize = 2;
const KEY_LEN: usize = 5;
const PRIORITY_SHIFT: u8 = 2;
const IN_WINDOW: u8 = 1 << 4;
const HAS_EXPIRY: u8 = 1 << 5;
const HAS_COST: u8 = 1 << 6;
/// The string's bytes are a zstd frame (`engine::compress`) of the value.
const COMPRESSED: u8 = 1 << 7;

/// The header's fields, as `Entry::build` takes them.
#[derive(Clone, Copy)]
struct Header {
    kind: Kind,
    priority: Priority,
    in_window: bool,
    lfu: u8,
    lru: u32,
    expire_at: u64,
    cost: u32,
    compressed: bool,
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// The parts of an entry most entries do not have, in the `Rich` box so that those entries pay
/// nothing for them. Labels are boxed once more, so a collection without them (the usual hash or
/// list) pays 48 bytes for that box, and a tagged string 48 plus its labels.
#[derive(Debug, Clone, Default)]
struct Extra {
    labels: Option<Box<Labels>>,
    body: Body,
}

/// What the `Rich` box holds besides the block and the labels.
#[derive(Debug, Clone, Default)]
enum Body {
    #[default]
    None,
    Collection(Collection),
    /// A string's bytes in an allocation of their own, the block holding only header and key:
    /// chosen when the one block would waste more of its size class than the two allocations
    /// and this box cost (`spills`), e.g. a 500-byte value beside a 16-byte key: 522 bytes take
    /// the 640-byte class, 32 + 512 + 48 = 592 split.
    Value(Box<[u8]>),
}

/// Whether a string of `value` bytes after a header and key of `head` bytes costs less split
/// (`Body::Value`) than in one block, counting the `Rich` box unless the entry has one anyway.
fn spills(head: usize, value: usize, rich: bool) -> bool {
    let boxed = if rich {
        0
    } else {
        alloc_size(std::mem::size_of::<Rich>())
    };
    alloc_size(head) + alloc_size(value) + boxed < alloc_size(head + value)
}

#[derive(Debug, Clone, Default)]
struct Labels {
    tags: Option<TagList>,
    /// Keys this one depends on (`CACHE.DEPEND`): it is invalidated when any of them changes.
    parents: Option<TagList>,
}

/// Label names as pointers to their interned copies (`labels::Names`) once the entry is in a
/// table; an entry not yet stored holds copies of its own, which `index` swaps for them.
pub type TagList = Box<[Name]>;

/// A string entry built by `Entry::prepare_string`, and the compression attempt it made (for
/// the `stats-prefixes` figures, counted when it is stored).
pub struct Prepared {
    entry: Entry,
    work: Option<compress::Work>,
}

impl Prepared {
    /// The entry, for what its writer sets under the lock (TTL, metadata).
    pub fn entry_mut(&mut self) -> &mut Entry {
        &mut self.entry
    }

    pub fn into_parts(self) -> (Entry, Option<compress::Work>) {
        (self.entry, self.work)
    }
}

/// Longest string Redis keeps as `embstr`.
const EMBSTR_MAX: usize = 44;
/// Longest string Redis will try to encode as an integer.
const MAX_INT_STRING: usize = 20;
/// Counter a new key starts with, as Redis's `LFU_INIT_VAL`, so it is not evicted at once.
pub const LFU_INIT_VAL: u8 = 5;

impl Entry {
    /// Lays out header, key and payload in one exact allocation.
    fn build(header: Header, key: &[u8], payload: &[u8]) -> Box<[u8]> {
        let (has_expiry, has_cost) = (header.expire_at != 0, header.cost != 1);
        let len = KEY_LEN
            + varint_len(key.len())
            + if has_expiry { 8 } else { 0 }
            + if has_cost { 4 } else { 0 }
            + key.len()
            + payload.len();
        let mut bytes = Vec::with_capacity(len);
        let flags = header.kind as u8
            | (header.priority as u8) << PRIORITY_SHIFT
            | if header.in_window { IN_WINDOW } else { 0 }
            | if has_expiry { HAS_EXPIRY } else { 0 }
            | if has_cost { HAS_COST } else { 0 }
            | if header.compressed { COMPRESSED } else { 0 };
        bytes.push(flags);
        bytes.push(header.lfu);
        bytes.extend_from_slice(&header.lru.to_le_bytes()[..3]);
        let mut n = key.len();
        while n >= 0x80 {
            bytes.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        bytes.push(n as u8);
        if has_expiry {
            bytes.extend_from_slice(&header.expire_at.to_le_bytes());
        }
        if has_cost {
            bytes.extend_from_slice(&header.cost.to_le_bytes());
        }
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(payload);
        bytes.into_boxed_slice()
    }

    fn with_payload(key: &[u8], payload: &[u8], kind: Kind, lru: u32) -> Entry {
        let header = Header {
            kind,
            priority: Priority::Normal,
            in_window: false,
            lfu: LFU_INIT_VAL,
            lru,
            expire_at: 0,
            cost: 1,
            compressed: false,
        };
        let head = KEY_LEN + varint_len(key.len()) + key.len();
        if matches!(kind, Kind::Str | Kind::RawStr) && spills(head, payload.len(), false) {
            let extra = Extra {
                labels: None,
                body: Body::Value(payload.into()),
            };
            return Entry::from_parts(Entry::build(header, key, &[]), Some(extra));
        }
        Entry(Repr::Plain(Entry::build(header, key, payload)))
    }

    fn block(&self) -> &[u8] {
        match &self.0 {
            Repr::Plain(block) => block,
            Repr::Rich(rich) => &rich.block,
        }
    }

    fn block_mut(&mut self) -> &mut Box<[u8]> {
        match &mut self.0 {
            Repr::Plain(block) => block,
            Repr::Rich(rich) => &mut rich.block,
        }
    }

    fn extra(&self) -> Option<&Extra> {
        match &self.0 {
            Repr::Plain(_) => None,
            Repr::Rich(rich) => Some(&rich.extra),
        }
    }

    fn extra_mut(&mut self) -> Option<&mut Extra> {
        match &mut self.0 {
            Repr::Plain(_) => None,
            Repr::Rich(rich) => Some(&mut rich.extra),
        }
    }

    /// The entry's `Extra`, made `Rich` first if it was plain.
    fn extra_or_default(&mut self) -> &mut Extra {
        if let Repr::Plain(block) = &mut self.0 {
            let block = std::mem::take(block);
            self.0 = Repr::Rich(Box::new(Rich {
                block,
                extra: Extra::default(),
            }));
        }
        match &mut self.0 {
            Repr::Rich(rich) => &mut rich.extra,
            Repr::Plain(_) => unreachable!("made rich just above"),
        }
    }

    /// Back to plain when the extra holds nothing.
    fn drop_empty_extra(&mut self) {
        if let Repr::Rich(rich) = &mut self.0 {
            if rich.extra.labels.is_none() && matches!(rich.extra.body, Body::None) {
                self.0 = Repr::Plain(std::mem::take(&mut rich.block));
            }
        }
    }

    fn from_parts(block: Box<[u8]>, extra: Option<Extra>) -> Entry {
        Entry(match extra {
            None => Repr::Plain(block),
            Some(extra) => Repr::Rich(Box::new(Rich { block, extra })),
        })
    }

    fn header(&self) -> Header {
        Header {
            kind: self.kind(),
            priority: self.priority(),
            in_window: self.in_window(),
            lfu: self.lfu(),
            lru: self.lru(),
            expire_at: self.expire_at(),
            cost: self.cost(),
            compressed: self.is_compressed(),
        }
    }

    /// Lays the block out again with other header fields (an expiry or cost appearing or going).
    fn rebuild(&mut self, header: Header) {
        let (key, payload) = (self.key_range(), self.payload_start());
        let block = Entry::build(header, &self.block()[key], &self.block()[payload..]);
        *self.block_mut() = block;
    }

    fn flags(&self) -> u8 {
        self.block()[FLAGS]
    }

    fn set_flag(&mut self, flag: u8, on: bool) {
        if on {
            self.block_mut()[FLAGS] |= flag;
        } else {
            self.block_mut()[FLAGS] &= !flag;
        }
    }

    fn kind(&self) -> Kind {
        Kind::from_bits(self.flags())
    }

    fn set_kind(&mut self, kind: Kind) {
        self.block_mut()[FLAGS] = (self.flags() & !3) | kind as u8;
    }

    /// (key length, where the optional fields start).
    fn key_len_and_end(&self) -> (usize, usize) {
        let (mut len, mut shift, mut at) = (0usize, 0, KEY_LEN);
        loop {
            let byte = self.block()[at];
            len |= ((byte & 0x7f) as usize) << shift;
            at += 1;
            if byte < 0x80 {
                return (len, at);
            }
            shift += 7;
        }
    }

    /// Where the optional fields start (the expiry, when there is one).
    fn optional_start(&self) -> usize {
        self.key_len_and_end().1
    }

    fn key_range(&self) -> std::ops::Range<usize> {
        let (len, mut at) = self.key_len_and_end();
        let flags = self.flags();
        if flags & HAS_EXPIRY != 0 {
            at += 8;
        }
        if flags & HAS_COST != 0 {
            at += 4;
        }
        at..at + len
    }

    fn payload_start(&self) -> usize {
        self.key_range().end
    }

    /// A key holding a hash, list, set or sorted set.
    pub fn new_collection(key: &[u8], collection: Collection, lru: u32) -> Entry {
        let mut entry = Entry::with_payload(key, &[], Kind::Collection, lru);
        entry.extra_or_default().body = Body::Collection(collection);
        entry
    }

    pub fn new_string(key: &[u8], value: &[u8], lru: u32) -> Entry {
        match as_canonical_int(value) {
            Some(n) => Entry::new_int(key, n, lru),
            None => Entry::with_payload(key, value, Kind::Str, lru),
        }
    }

    /// A string that keeps the `embstr`/`raw` encoding whatever its bytes, as INCRBYFLOAT's result
    /// does in Redis (`createStringObjectFromLongDouble` never picks `int`).
    pub fn new_plain_string(key: &[u8], value: &[u8], lru: u32) -> Entry {
        Entry::with_payload(key, value, Kind::Str, lru)
    }

    /// A string as bit and HyperLogLog commands create them (SETBIT, BITOP, PFADD...): Redis
    /// builds those as `raw` strings, never `int` or `embstr`, whatever their bytes.
    pub fn new_raw_string(key: &[u8], value: &[u8], lru: u32) -> Entry {
        Entry::with_payload(key, value, Kind::RawStr, lru)
    }

    pub fn new_int(key: &[u8], value: i64, lru: u32) -> Entry {
        Entry::with_payload(key, &value.to_le_bytes(), Kind::Int, lru)
    }

    pub fn key(&self) -> &[u8] {
        &self.block()[self.key_range()]
    }

    fn payload(&self) -> &[u8] {
        match self.spilled() {
            Some(value) => value,
            None => self.inline_payload(),
        }
    }

    /// What follows the key in the block: the value unless it spilled (then nothing).
    fn inline_payload(&self) -> &[u8] {
        &self.block()[self.payload_start()..]
    }

    /// A string's bytes kept apart from the block (`Body::Value`).
    fn spilled(&self) -> Option<&[u8]> {
        match &self.extra()?.body {
            Body::Value(value) => Some(value),
            _ => None,
        }
    }

    /// Absolute expiry in Unix milliseconds; 0 means the key never expires.
    pub fn expire_at(&self) -> u64 {
        if self.flags() & HAS_EXPIRY == 0 {
            return 0;
        }
        let at = self.optional_start();
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&self.block()[at..at + 8]);
        u64::from_le_bytes(raw)
    }

    /// Sets (0: removes) the expiry. Gaining or losing one lays the block out again, so a key
    /// without a TTL pays no bytes for it.
    pub fn set_expire_at(&mut self, expire_at: u64) {
        match (self.has_expiry(), expire_at != 0) {
            (true, true) => {
                let at = self.optional_start();
                self.block_mut()[at..at + 8].copy_from_slice(&expire_at.to_le_bytes());
            }
            (false, false) => {}
            _ => {
                let header = Header {
                    expire_at,
                    ..self.header()
                };
                self.rebuild(header);
            }
        }
    }

    /// Last access, in seconds of the server's 24-bit LRU clock.
    pub fn lru(&self) -> u32 {
        u32::from_le_bytes([
            self.block()[LRU],
            self.block()[LRU + 1],
            self.block()[LRU + 2],
            0,
        ])
    }

    pub fn set_lru(&mut self, lru: u32) {
        self.block_mut()[LRU..LRU + 3].copy_from_slice(&lru.to_le_bytes()[..3]);
    }

    /// Redis's logarithmic access counter (`allkeys-lfu`, `OBJECT FREQ`).
    pub fn lfu(&self) -> u8 {
        self.block()[LFU]
    }

    pub fn set_lfu(&mut self, lfu: u8) {
        self.block_mut()[LFU] = lfu;
    }

    /// In `allkeys-cachet`'s admission window: new, not yet weighed against the residents.
    pub fn in_window(&self) -> bool {
        self.flags() & IN_WINDOW != 0
    }

    pub fn set_in_window(&mut self, in_window: bool) {
        self.set_flag(IN_WINDOW, in_window);
    }

    /// The address of the entry's allocation, read from the slot alone: eviction and the
    /// admission window find an entry again by it without touching its block or rehashing its
    /// key. Unique among live entries; it changes when the block is laid out anew (an expiry or a
    /// cost appearing, a string growing, labels added), after which the finder falls back to
    /// the key's hash.
    pub fn identity(&self) -> usize {
        match &self.0 {
            Repr::Plain(block) => block.as_ptr() as usize,
            Repr::Rich(rich) => &**rich as *const Rich as usize,
        }
    }

    fn int(&self) -> i64 {
        let mut raw = [0u8; 8];
        let payload = self.payload();
        let n = payload.len().min(8);
        raw[..n].copy_from_slice(&payload[..n]);
        i64::from_le_bytes(raw)
    }

    pub fn value(&self) -> Value {
        match self.kind() {
            Kind::Str => Value::Str { raw: false },
            Kind::RawStr => Value::Str { raw: true },
            Kind::Int => Value::Int(self.int()),
            Kind::Collection => Value::Collection,
        }
    }

    pub fn collection(&self) -> Option<&Collection> {
        match &self.extra()?.body {
            Body::Collection(collection) => Some(collection),
            _ => None,
        }
    }

    pub fn collection_mut(&mut self) -> Option<&mut Collection> {
        match &mut self.extra_mut()?.body {
            Body::Collection(collection) => Some(collection),
            _ => None,
        }
    }

    /// A collection whose last element was removed: the shard deletes such a key after the
    /// write, as Redis never keeps an empty collection.
    pub fn is_empty_collection(&self) -> bool {
        self.collection().is_some_and(Collection::is_empty)
    }

    pub fn hash(&self) -> Option<&HashValue> {
        match self.collection()? {
            Collection::Hash(v) => Some(v),
            _ => None,
        }
    }

    pub fn hash_mut(&mut self) -> Option<&mut HashValue> {
        match self.collection_mut()? {
            Collection::Hash(v) => Some(v),
            _ => None,
        }
    }

    pub fn list(&self) -> Option<&ListValue> {
        match self.collection()? {
            Collection::List(v) => Some(v),
            _ => None,
        }
    }

    pub fn list_mut(&mut self) -> Option<&mut ListValue> {
        match self.collection_mut()? {
            Collection::List(v) => Some(v),
            _ => None,
        }
    }

    pub fn set(&self) -> Option<&SetValue> {
        match self.collection()? {
            Collection::Set(v) => Some(v),
            _ => None,
        }
    }

    pub fn set_mut(&mut self) -> Option<&mut SetValue> {
        match self.collection_mut()? {
            Collection::Set(v) => Some(v),
            _ => None,
        }
    }

    pub fn zset(&self) -> Option<&ZSetValue> {
        match self.collection()? {
            Collection::ZSet(v) => Some(v),
            _ => None,
        }
    }

    pub fn zset_mut(&mut self) -> Option<&mut ZSetValue> {
        match self.collection_mut()? {
            Collection::ZSet(v) => Some(v),
            _ => None,
        }
    }

    pub fn stream(&self) -> Option<&StreamValue> {
        match self.collection()? {
            Collection::Stream(v) => Some(v),
            _ => None,
        }
    }

    pub fn stream_mut(&mut self) -> Option<&mut StreamValue> {
        match self.collection_mut()? {
            Collection::Stream(v) => Some(v),
            _ => None,
        }
    }

    pub fn has_expiry(&self) -> bool {
        self.flags() & HAS_EXPIRY != 0
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.has_expiry() && self.expire_at() <= now_ms
    }

    /// The Redis type name (`TYPE`, `SCAN ... TYPE`).
    pub fn type_name(&self) -> &'static str {
        match self.kind() {
            Kind::Str | Kind::RawStr | Kind::Int => "string",
            Kind::Collection => self.collection().map_or("none", Collection::type_name),
        }
    }

    /// The Redis encoding name (`OBJECT ENCODING`).
    pub fn encoding(&self) -> &'static str {
        match self.kind() {
            Kind::Int => "int",
            Kind::Str if self.string_len() <= EMBSTR_MAX => "embstr",
            Kind::Str | Kind::RawStr => "raw",
            Kind::Collection => self.collection().map_or("", Collection::encoding),
        }
    }

    /// The string's bytes when the value is a string held as bytes (not an integer).
    pub fn str_bytes(&self) -> Option<StringValue<'_>> {
        match self.kind() {
            Kind::Str | Kind::RawStr => self.string_value(),
            Kind::Int | Kind::Collection => None,
        }
    }

    /// Whether the string's bytes are stored compressed (`engine::compress`).
    pub fn is_compressed(&self) -> bool {
        self.flags() & COMPRESSED != 0
    }

    /// (original length, bytes stored) of a compressed string, for INFO's compression figures.
    pub fn compressed_sizes(&self) -> Option<(usize, usize)> {
        self.is_compressed()
            .then(|| (compress::original_len(self.payload()), self.payload().len()))
    }

    /// Stores a plain (not `raw`, not yet compressed) string as a zstd frame when `settings`
    /// say so and it shrinks enough. Edited strings (`raw`) are left alone: APPEND, SETRANGE and
    /// the bit commands change them a little at a time, and each edit would recompress it all.
    /// Returns the work done when an attempt was made.
    pub fn compress(&mut self, settings: compress::Settings) -> Option<compress::Work> {
        self.compress_with(settings, None)
    }

    /// `compress` with the key's prefix dictionary (`engine::dictionary`).
    pub fn compress_with(
        &mut self,
        settings: compress::Settings,
        dictionary: Option<&Dictionary>,
    ) -> Option<compress::Work> {
        if self.kind() != Kind::Str || self.is_compressed() {
            return None;
        }
        // A value held in its own allocation (`Body::Value`) is not in the block: rebuilding
        // the block alone would keep the old value beside a compressed flag.
        if self.spilled().is_some() {
            let (frame, work) =
                compress::compress_with(self.payload(), settings, dictionary, <[u8]>::to_vec)?;
            if let Some(frame) = frame {
                self.replace_payload(&frame);
                self.set_flag(COMPRESSED, true);
            }
            return Some(work);
        }
        let header = Header {
            compressed: true,
            ..self.header()
        };
        let key = self.key_range();
        let (block, work) =
            compress::compress_with(self.payload(), settings, dictionary, |frame| {
                Entry::build(header, &self.block()[key], frame)
            })?;
        if let Some(block) = block {
            *self.block_mut() = block;
        }
        Some(work)
    }

    /// A string entry with its compression already decided: made before the shard lock is
    /// taken, so the shard's other clients do not wait for zstd, and the value is copied once
    /// (as a frame when it shrinks). `DbShard::insert_prepared` stores it as it is. `dictionary`:
    /// the key's prefix dictionary (`Dictionaries::for_write`), which counts the write.
    pub fn prepare_string(
        key: &[u8],
        value: &[u8],
        settings: compress::Settings,
        dictionary: Option<&Dictionary>,
    ) -> Prepared {
        if as_canonical_int(value).is_some() {
            return Prepared {
                entry: Entry::new_string(key, value, 0),
                work: None,
            };
        }
        let made = compress::compress_with(value, settings, dictionary, |frame| {
            let mut entry = Entry::with_payload(key, frame, Kind::Str, 0);
            entry.set_flag(COMPRESSED, true);
            entry
        });
        if let (Some(dictionary), Some((_, work))) = (dictionary, &made) {
            dictionary.record(work);
        }
        let (entry, work) = match made {
            Some((Some(entry), work)) => (entry, Some(work)),
            Some((None, work)) => (Entry::with_payload(key, value, Kind::Str, 0), Some(work)),
            None => (Entry::with_payload(key, value, Kind::Str, 0), None),
        };
        Prepared { entry, work }
    }

    /// The bytes of a string `compress` may store as a frame: plain (not `raw`), not compressed.
    pub fn plain_str(&self) -> Option<&[u8]> {
        (self.kind() == Kind::Str && !self.is_compressed()).then(|| self.payload())
    }

    /// A compressed string's frame (for `compress::decompress_into`); `None` for anything else.
    pub fn frame(&self) -> Option<&[u8]> {
        self.is_compressed().then(|| self.payload())
    }

    pub fn is_string(&self) -> bool {
        matches!(self.kind(), Kind::Str | Kind::RawStr | Kind::Int)
    }

    /// The string value as bytes, formatting an integer on the way. `None` for non-strings.
    pub fn string_value(&self) -> Option<StringValue<'_>> {
        match self.kind() {
            Kind::Str | Kind::RawStr if self.is_compressed() => {
                Some(StringValue::Owned(compress::decompress(self.payload())))
            }
            Kind::Str | Kind::RawStr => Some(StringValue::Bytes(self.payload())),
            Kind::Int => Some(StringValue::int(self.int())),
            Kind::Collection => None,
        }
    }

    pub fn string_len(&self) -> usize {
        match self.kind() {
            Kind::Str | Kind::RawStr if self.is_compressed() => {
                compress::original_len(self.payload())
            }
            Kind::Str | Kind::RawStr => self.payload().len(),
            Kind::Int => itoa::Buffer::new().format(self.int()).len(),
            Kind::Collection => 0,
        }
    }

    /// Replaces the value with a string, choosing the integer encoding when it applies.
    pub fn set_string(&mut self, value: &[u8]) {
        match as_canonical_int(value) {
            Some(n) => self.set_int(n),
            None => self.set_plain_string(value),
        }
    }

    /// Replaces the value with a string that keeps the `embstr`/`raw` encoding (`new_plain_string`).
    pub fn set_plain_string(&mut self, value: &[u8]) {
        self.replace_payload(value);
        self.set_kind(Kind::Str);
    }

    pub fn set_int(&mut self, n: i64) {
        if self.kind() == Kind::Int {
            let at = self.payload_start();
            if let Some(slot) = self.block_mut().get_mut(at..at + 8) {
                slot.copy_from_slice(&n.to_le_bytes());
                return;
            }
        }
        self.replace_payload(&n.to_le_bytes());
        self.set_kind(Kind::Int);
    }

    /// Edits the string in place (APPEND, SETRANGE): the closure gets the current bytes to change.
    /// The result keeps the `raw` encoding, as Redis's modified strings do.
    pub fn modify_string(&mut self, edit: impl FnOnce(&mut Vec<u8>)) {
        let mut current = match self.string_value() {
            Some(value) => value.to_vec(),
            None => Vec::new(),
        };
        edit(&mut current);
        self.replace_payload(&current);
        self.set_kind(Kind::RawStr);
    }

    /// The string's bytes for an edit in place (SETBIT, BITFIELD, PFADD on a dense HyperLogLog),
    /// at least `min_len` of them: a shorter string is first padded with zero bytes (one exact
    /// reallocation), an integer written out as its digits. The value is `raw` afterwards, as
    /// Redis's `dbUnshareStringValue` leaves it. `None` for a collection. Unlike
    /// `modify_string`, nothing is copied when the length is already there, so a bit flip in a
    /// large bitmap costs O(1).
    pub fn string_bytes_mut(&mut self, min_len: usize) -> Option<&mut [u8]> {
        match self.kind() {
            Kind::Collection => return None,
            Kind::Int => {
                let digits = self.string_value()?.to_vec();
                self.replace_payload(&digits);
            }
            Kind::Str | Kind::RawStr if self.is_compressed() => {
                let bytes = self.string_value()?.to_vec();
                self.replace_payload(&bytes);
            }
            Kind::Str | Kind::RawStr => {}
        }
        self.set_kind(Kind::RawStr);
        if self.spilled().is_some() {
            let Some(Extra {
                body: Body::Value(value),
                ..
            }) = self.extra_mut()
            else {
                unreachable!("spilled just above")
            };
            if value.len() < min_len {
                let mut bytes = std::mem::take(value).into_vec();
                bytes.reserve_exact(min_len - bytes.len());
                bytes.resize(min_len, 0);
                *value = bytes.into_boxed_slice();
            }
            return Some(value);
        }
        let at = self.payload_start();
        let len = self.block().len() - at;
        if len < min_len {
            let mut bytes = std::mem::take(self.block_mut()).into_vec();
            bytes.reserve_exact(min_len - len);
            bytes.resize(at + min_len, 0);
            *self.block_mut() = bytes.into_boxed_slice();
        }
        Some(&mut self.block_mut()[at..])
    }

    /// Puts `value` after the key, or in an allocation of its own when that costs less
    /// (`spills`). Only strings spill: an integer's 8 bytes never gain from it.
    fn replace_payload(&mut self, value: &[u8]) {
        // A spilled value overwritten by one of the same length (a cache's SET of a key it
        // already holds) is copied in place: no allocation, as for a value in the block.
        let mut in_place = false;
        if let Some(Extra {
            body: Body::Value(old),
            ..
        }) = self.extra_mut()
        {
            if old.len() == value.len() {
                old.copy_from_slice(value);
                in_place = true;
            }
        }
        if in_place {
            self.set_flag(COMPRESSED, false);
            return;
        }
        if let Some(extra) = self.extra_mut() {
            extra.body = Body::None;
            self.drop_empty_extra();
        }
        let at = self.payload_start();
        let spill = value.len() != 8 && spills(at, value.len(), self.extra().is_some());
        let mut bytes = std::mem::take(self.block_mut()).into_vec();
        bytes.truncate(at);
        if spill {
            self.extra_or_default().body = Body::Value(value.into());
        } else {
            bytes.extend_from_slice(value);
        }
        *self.block_mut() = bytes.into_boxed_slice();
        self.set_flag(COMPRESSED, false);
    }

    pub fn priority(&self) -> Priority {
        Priority::ALL[(self.flags() >> PRIORITY_SHIFT & 3) as usize]
    }

    /// What recreating the value costs the application (1 unless CACHE.SET gave a cost).
    pub fn cost(&self) -> u32 {
        if self.flags() & HAS_COST == 0 {
            return 1;
        }
        let mut at = self.optional_start();
        if self.has_expiry() {
            at += 8;
        }
        let mut raw = [0u8; 4];
        raw.copy_from_slice(&self.block()[at..at + 4]);
        u32::from_le_bytes(raw)
    }

    fn labels(&self) -> Option<&Labels> {
        self.extra()?.labels.as_deref()
    }

    pub fn tags(&self) -> &[Name] {
        self.labels().and_then(|l| l.tags.as_deref()).unwrap_or(&[])
    }

    pub fn parents(&self) -> &[Name] {
        self.labels()
            .and_then(|l| l.parents.as_deref())
            .unwrap_or(&[])
    }

    /// The tags and the parents, for the shard to point them at the interned names.
    pub(crate) fn labels_mut(&mut self) -> (&mut [Name], &mut [Name]) {
        match self.extra_mut().and_then(|e| e.labels.as_deref_mut()) {
            Some(labels) => (
                labels.tags.as_deref_mut().unwrap_or(&mut []),
                labels.parents.as_deref_mut().unwrap_or(&mut []),
            ),
            None => (&mut [], &mut []),
        }
    }

    /// Whether the entry carries tags or parents, i.e. appears in a label index.
    pub fn has_labels(&self) -> bool {
        self.labels().is_some()
    }

    pub fn meta(&self) -> CacheMeta {
        CacheMeta {
            priority: self.priority(),
            cost: self.cost(),
            tags: self.labels().and_then(|l| l.tags.clone()),
        }
    }

    /// Sets priority, cost and tags (CACHE.SET; plain SET resets them to the defaults).
    pub fn set_meta(&mut self, meta: CacheMeta) {
        let header = self.header();
        if header.cost != meta.cost {
            self.rebuild(Header {
                cost: meta.cost,
                ..header
            });
        }
        self.block_mut()[FLAGS] =
            (self.flags() & !(3 << PRIORITY_SHIFT)) | (meta.priority as u8) << PRIORITY_SHIFT;
        self.set_labels(false, meta.tags);
    }

    /// Replaces the tags (`parents` false) or the parents; an empty list clears it, and boxes
    /// left holding nothing go.
    fn set_labels(&mut self, parents: bool, list: Option<TagList>) {
        let list = list.filter(|l| !l.is_empty());
        if list.is_none() && self.labels().is_none() {
            return;
        }
        let extra = self.extra_or_default();
        let labels = extra.labels.get_or_insert_with(Box::default);
        if parents {
            labels.parents = list;
        } else {
            labels.tags = list;
        }
        if labels.tags.is_none() && labels.parents.is_none() {
            extra.labels = None;
        }
        self.drop_empty_extra();
    }

    /// Replaces the tags (CACHE.SETTAGS), keeping priority and cost. Only the shard calls this,
    /// as the label index must change with it.
    pub(crate) fn replace_tags(&mut self, tags: TagList) {
        self.set_labels(false, Some(tags));
    }

    /// Replaces the parents (CACHE.DEPEND). Only the shard calls this, with the label index.
    pub(crate) fn replace_parents(&mut self, parents: TagList) {
        self.set_labels(true, Some(parents));
    }

    /// A copy under another key (COPY keeps value, expiry and cache metadata).
    pub fn clone_with_key(&self, key: &[u8]) -> Entry {
        let header = Header {
            in_window: false,
            ..self.header()
        };
        Entry::from_parts(
            Entry::build(header, key, self.inline_payload()),
            self.extra().cloned(),
        )
    }

    /// A copy of the block as it is, for a snapshot: one allocation and a memcpy, where
    /// `clone_with_key` lays the block out anew. It is only read, never stored in a table, so the
    /// admission-window bit it keeps means nothing.
    pub fn snapshot_copy(&self) -> Entry {
        Entry(match &self.0 {
            Repr::Plain(block) => Repr::Plain(block.clone()),
            Repr::Rich(rich) => Repr::Rich(Box::new(Rich {
                block: rich.block.clone(),
                extra: rich.extra.clone(),
            })),
        })
    }

    /// The same entry under another key (RENAME, MOVE), without copying a collection's elements.
    pub fn into_renamed(self, key: &[u8]) -> Entry {
        let header = Header {
            in_window: false,
            ..self.header()
        };
        let block = Entry::build(header, key, self.inline_payload());
        Entry::from_parts(
            block,
            match self.0 {
                Repr::Plain(_) => None,
                Repr::Rich(rich) => Some(rich.extra),
            },
        )
    }

    /// Bytes this entry costs the allocator: the header-key-value block, its tags and its
    /// collection. The entry itself lives in a table slot, which the table counts.
    pub fn memory(&self) -> usize {
        let extra = self.extra().map_or(0, |extra| {
            // The names' bytes are the interner's: an entry holds pointers.
            let list = |list: &Option<TagList>| {
                list.as_deref()
                    .map_or(0, |names| alloc_size(std::mem::size_of_val(names)))
            };
            let labels = extra.labels.as_deref().map_or(0, |labels| {
                alloc_size(std::mem::size_of::<Labels>())
                    + list(&labels.tags)
                    + list(&labels.parents)
            });
            alloc_size(std::mem::size_of::<Rich>())
                + labels
                + match &extra.body {
                    Body::None => 0,
                    Body::Collection(collection) => collection.memory(),
                    Body::Value(value) => alloc_size(value.len()),
                }
        });
        alloc_size(self.block().len()) + extra
    }
}

#[derive(Debug)]
pub enum StringValue<'a> {
    Bytes(&'a [u8]),
    /// A compressed string's original bytes.
    Owned(Vec<u8>),
    /// Decimal digits of an integer-encoded value, formatted on the stack.
    Int([u8; 20], u8),
}

impl Default for StringValue<'_> {
    fn default() -> Self {
        StringValue::Bytes(&[])
    }
}

impl StringValue<'_> {
    fn int(n: i64) -> Self {
        let mut digits = [0u8; 20];
        let mut buffer = itoa::Buffer::new();
        let text = buffer.format(n).as_bytes();
        digits[..text.len()].copy_from_slice(text);
        StringValue::Int(digits, text.len() as u8)
    }
}

impl std::ops::Deref for StringValue<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            StringValue::Bytes(b) => b,
            StringValue::Owned(b) => b,
            StringValue::Int(digits, len) => &digits[..*len as usize],
        }
    }
}

/// The integer a string stands for, when formatting that integer gives back the same bytes
/// (so "12" is stored as 12, but "012" and "+1" stay strings).
pub fn as_canonical_int(value: &[u8]) -> Option<i64> {
    if value.is_empty() || value.len() > MAX_INT_STRING {
        return None;
    }
    crate::protocol::parse_i64(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_is_small() {
        assert_eq!(std::mem::size_of::<Entry>(), 16);
        assert_eq!(
            std::mem::size_of::<Entry>(),
            std::mem::size_of::<Box<[u8]>>()
        );
        // One 48-byte allocation holds the block's pointer and a hash, or the labels pointer and
        // a boxed collection.
        assert!(std::mem::size_of::<Rich>() <= 48);
        // The benchmark's key: 16 bytes of key and 100 of value take a 6-byte header, 122 bytes
        // in jemalloc's 128-byte class; a TTL adds 8 and crosses into the 160-byte class.
        let mut e = Entry::new_string(&[b'k'; 16], &[b'v'; 100], 0);
        assert_eq!(e.block().len(), 122);
        assert_eq!(e.memory(), 128);
        e.set_expire_at(1);
        assert_eq!(e.memory(), 160);
    }

    #[test]
    fn header_fields_round_trip_and_leave_key_and_value_alone() {
        let key = vec![b'a'; 300]; // a two-byte key length
        let mut e = Entry::new_string(&key, b"value", (1 << 24) - 1);
        assert_eq!(e.lru(), (1 << 24) - 1);
        assert_eq!((e.expire_at(), e.cost(), e.lfu()), (0, 1, LFU_INIT_VAL));
        e.set_expire_at(u64::MAX);
        e.set_meta(CacheMeta {
            priority: Priority::Critical,
            cost: u32::MAX,
            tags: None,
        });
        e.set_lfu(255);
        e.set_lru(7);
        e.set_in_window(true);
        assert_eq!(e.expire_at(), u64::MAX);
        assert!(e.has_expiry() && e.in_window() && !e.is_expired(u64::MAX - 1));
        assert_eq!(
            (e.cost(), e.priority(), e.lfu(), e.lru()),
            (u32::MAX, Priority::Critical, 255, 7)
        );
        assert_eq!(
            (e.key(), e.str_bytes().as_deref()),
            (&key[..], Some(&b"value"[..]))
        );
        let bytes_with_both = e.block().len();
        e.set_expire_at(0);
        assert_eq!(e.block().len(), bytes_with_both - 8);
        assert_eq!((e.expire_at(), e.cost(), e.lru()), (0, u32::MAX, 7));
        e.set_meta(CacheMeta::default());
        assert_eq!(e.block().len(), bytes_with_both - 12);
        assert_eq!(
            (e.cost(), e.priority(), e.key()),
            (1, Priority::Normal, &key[..])
        );
        assert!(e.in_window());
        e.set_in_window(false);
        assert!(!e.in_window());
        assert_eq!(e.str_bytes().as_deref(), Some(&b"value"[..]));
        let renamed = e.into_renamed(b"k");
        assert_eq!(
            (renamed.key(), renamed.str_bytes().as_deref(), renamed.lru()),
            (&b"k"[..], Some(&b"value"[..]), 7)
        );
    }

    #[test]
    fn a_compressed_string_keeps_its_flag_through_rebuilds_and_reads_whole() {
        use crate::engine::compress::{Level, Settings};
        let value = b"{\"field\":\"value\"}".repeat(100);
        let mut e = Entry::new_string(b"k", &value, 0);
        e.compress(Settings {
            level: Level::Fast,
            min_size: 0,
        });
        assert!(e.is_compressed());
        assert_eq!((e.string_len(), e.encoding()), (value.len(), "raw"));
        // An expiry and a cost lay the block out again; the flag and frame must follow.
        e.set_expire_at(123);
        e.set_meta(CacheMeta {
            cost: 7,
            ..CacheMeta::default()
        });
        let copy = e.clone_with_key(b"other");
        for entry in [&e, &copy] {
            assert!(entry.is_compressed());
            assert_eq!(entry.string_value().as_deref(), Some(&value[..]));
            assert_eq!(entry.expire_at(), 123);
        }
        // An edit stores the result raw; bit edits see the original bytes.
        e.modify_string(|bytes| bytes.push(b'!'));
        assert!(!e.is_compressed());
        assert_eq!(e.string_len(), value.len() + 1);
        let mut bits = copy.clone_with_key(b"bits");
        assert_eq!(bits.string_bytes_mut(0).map(|b| b.len()), Some(value.len()));
        assert!(!bits.is_compressed());
        // Raw strings (edited ones) and integers are never compressed.
        let mut raw = Entry::new_raw_string(b"r", &value, 0);
        raw.compress(Settings {
            level: Level::Fast,
            min_size: 0,
        });
        assert!(!raw.is_compressed());
    }

    #[test]
    fn strings_and_ints_round_trip() {
        let mut e = Entry::new_string(b"k", b"123", 0);
        assert_eq!(e.encoding(), "int");
        assert_eq!(&*e.string_value().unwrap(), b"123");
        e.set_string(b"hello");
        assert_eq!(e.encoding(), "embstr");
        assert_eq!(e.key(), b"k");
        e.modify_string(|v| v.extend_from_slice(b"!"));
        assert_eq!(e.str_bytes().as_deref().unwrap(), b"hello!");
        assert_eq!(e.encoding(), "raw");
        e.set_int(-5);
        assert_eq!(&*e.string_value().unwrap(), b"-5");
        assert_eq!(e.key(), b"k");
        e.set_int(i64::MIN);
        assert_eq!(e.value(), Value::Int(i64::MIN));
        assert_eq!(e.memory(), 16);
    }

    #[test]
    fn in_place_edits_pad_unshare_and_keep_the_key() {
        let mut e = Entry::new_string(b"key", b"12", 0);
        let bytes = e.string_bytes_mut(0).unwrap();
        assert_eq!(bytes, b"12");
        bytes[0] = b'3';
        assert_eq!(e.encoding(), "raw");
        assert_eq!(e.string_bytes_mut(4).unwrap(), b"32\0\0");
        assert_eq!(e.key(), b"key");
        assert_eq!(&*e.string_value().unwrap(), b"32\0\0");
        let raw = Entry::new_raw_string(b"k", b"7", 0);
        assert_eq!(raw.encoding(), "raw");
        assert_eq!(raw.value(), Value::Str { raw: true });
    }

    #[test]
    fn metadata_survives_copies_and_is_counted() {
        let mut e = Entry::new_string(b"k", b"v", 0);
        assert_eq!(e.meta(), CacheMeta::default());
        let plain = e.memory();
        e.set_meta(CacheMeta {
            priority: Priority::High,
            cost: 7,
            tags: Some(vec![Name::new(b"user:1")].into_boxed_slice()),
        });
        assert!(e.memory() > plain);
        let copy = e.clone_with_key(b"other");
        assert_eq!(copy.priority(), Priority::High);
        assert_eq!(copy.cost(), 7);
        assert_eq!(copy.tags(), e.tags());
        assert_eq!(Priority::parse(b"CRITICAL"), Some(Priority::Critical));
    }

    #[test]
    fn a_value_that_would_cross_into_a_larger_class_spills() {
        let key = [b'k'; 16];
        // 6 + 16 + 490 = 512 bytes fill their class: one block.
        let e = Entry::new_string(&key, &[b'v'; 490], 0);
        assert!(matches!(e.0, Repr::Plain(_)));
        assert_eq!(e.memory(), 512);
        // 522 bytes would take the 640-byte class: 32 + 512 + the 48-byte box.
        let value = [b'v'; 500];
        let mut e = Entry::new_string(&key, &value, 0);
        assert_eq!((e.block().len(), e.memory()), (22, 592));
        assert_eq!(e.str_bytes().as_deref(), Some(&value[..]));
        assert_eq!((e.string_len(), e.encoding()), (500, "raw"));
        // Header changes lay the block out again and keep the value where it is.
        e.set_expire_at(42);
        e.set_meta(CacheMeta {
            priority: Priority::High,
            cost: 9,
            tags: Some(vec![Name::new(b"t")].into_boxed_slice()),
        });
        assert_eq!((e.key(), e.expire_at(), e.cost()), (&key[..], 42, 9));
        assert_eq!(e.str_bytes().as_deref(), Some(&value[..]));
        e.set_meta(CacheMeta::default());
        assert!(matches!(e.0, Repr::Rich(_)) && !e.has_labels());
        // Copies hold the value once.
        let copy = e.clone_with_key(b"other");
        assert_eq!(copy.str_bytes().as_deref(), Some(&value[..]));
        assert_eq!(copy.key(), b"other");
        let renamed = copy.into_renamed(&key);
        assert_eq!(renamed.memory(), e.memory());
        assert_eq!(renamed.str_bytes().as_deref(), Some(&value[..]));
        // Overwritten with as many bytes, the value is copied where it is.
        let (before, other) = (e.identity(), [b'w'; 500]);
        e.set_string(&other);
        assert_eq!(e.identity(), before);
        assert_eq!(e.str_bytes().as_deref(), Some(&other[..]));
        // In-place edits reach the spilled bytes, padding them like a block's.
        let bytes = e.string_bytes_mut(600).unwrap();
        assert_eq!(bytes.len(), 600);
        bytes[599] = b'!';
        assert_eq!(e.string_len(), 600);
        assert_eq!(e.str_bytes().unwrap()[599], b'!');
        assert_eq!(e.encoding(), "raw");
        // A shorter value goes back into the block, a number into its 8 bytes.
        e.set_string(b"short");
        assert!(matches!(e.0, Repr::Plain(_)));
        assert_eq!(e.str_bytes().as_deref(), Some(&b"short"[..]));
        e.modify_string(|v| v.extend_from_slice(&value[..495]));
        assert!(e.spilled().is_some() && e.string_len() == 500);
        e.set_int(7);
        assert!(matches!(e.0, Repr::Plain(_)) && e.value() == Value::Int(7));
        // A collection's key given a long string keeps its labels beside the spilled value.
        let mut c = Entry::new_collection(&key, Collection::Set(Box::default()), 0);
        c.set_meta(CacheMeta {
            tags: Some(vec![Name::new(b"t")].into_boxed_slice()),
            ..CacheMeta::default()
        });
        c.set_string(&value);
        assert!(c.collection().is_none() && c.has_labels() && c.spilled().is_some());
        assert_eq!(c.str_bytes().as_deref(), Some(&value[..]));
    }

    #[test]
    fn extras_come_and_go_with_what_they_hold() {
        let tag = || Some(vec![Name::new(b"t")].into_boxed_slice());
        let mut e = Entry::new_string(b"k", b"v", 3);
        let plain = e.memory();
        e.set_meta(CacheMeta {
            tags: tag(),
            ..CacheMeta::default()
        });
        assert!(matches!(e.0, Repr::Rich(_)) && e.has_labels());
        e.set_meta(CacheMeta::default());
        assert!(matches!(e.0, Repr::Plain(_)) && !e.has_labels());
        assert_eq!(
            (e.memory(), e.key(), e.str_bytes().as_deref()),
            (plain, &b"k"[..], Some(&b"v"[..]))
        );
        // A collection replaced by a string keeps its tags, and loses its extra once they go too.
        let set = Collection::Set(Box::default());
        let mut c = Entry::new_collection(b"c", set, 3);
        c.set_meta(CacheMeta {
            tags: tag(),
            ..CacheMeta::default()
        });
        c.set_string(b"s");
        assert!(
            c.collection().is_none()
                && c.has_labels()
                && c.str_bytes().as_deref() == Some(&b"s"[..])
        );
        c.replace_tags(Box::default());
        assert!(matches!(c.0, Repr::Plain(_)));
        let renamed =
            Entry::new_collection(b"c", Collection::Set(Box::default()), 9).into_renamed(b"d");
        assert!(renamed.set().is_some() && renamed.key() == b"d" && renamed.lru() == 9);
    }
}
