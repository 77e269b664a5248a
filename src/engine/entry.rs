//! One key and its value, in as few bytes as we can manage: the table slot holds the entry inline
//! (8 bytes: a pointer to the block, or to a box with the block and what few entries have), and
//! one allocation holds a small header (flags, access clock, LFU counter, key length; expiry and cost
//! only when the key has them), the key and a string's bytes or an integer's 8 bytes. Tags,
//! parents and collection values sit behind one more pointer (see `Entry` for the byte layout).

use crate::engine::compress;
use crate::engine::dictionary::Dictionary;
use crate::engine::labels::Name;
use crate::engine::memory::alloc_size;
use crate::engine::types::{Collection, HashValue, ListValue, SetValue, StreamValue, ZSetValue};
use thin::{Block, Owned, Pair, Slot};

mod string;
mod thin;

pub use string::{as_canonical_int, Prepared, StringValue};

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

/// A key and its value: what a table slot holds, inline (8 bytes, no box of its own).
///
/// The block (`thin::Block`) is one allocation laid out as
/// ```text
///   [1-2]  the block's length after this prefix, LEB128 (`thin`: the slot has no length word)
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
pub struct Entry(Slot<Rich>);

#[derive(Debug)]
struct Rich {
    block: Block,
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

/// The parts of an entry most entries do not have, in the `Rich` box so that those entries pay
/// nothing for them. Labels sit behind one more pointer, so a collection without them (the usual
/// hash or list) pays 48 bytes for that box, and a string with one tag 48 + 16.
#[derive(Debug, Clone, Default)]
struct Extra {
    labels: Option<Labels>,
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
    let block = |len| alloc_size(thin::alloc_len(len));
    block(head) + alloc_size(value) + boxed < block(head + value)
}

/// The tags, then the parents: keys this one depends on (`CACHE.DEPEND`), invalidated when any
/// of them changes. One allocation for both (never both empty): 16 bytes for one tag.
type Labels = Pair<Name>;

/// Label names as pointers to their interned copies (`labels::Names`) once the entry is in a
/// table; an entry not yet stored holds copies of its own, which `index` swaps for them.
pub type TagList = Box<[Name]>;

/// Longest string Redis keeps as `embstr`.
const EMBSTR_MAX: usize = 44;
/// Counter a new key starts with, as Redis's `LFU_INIT_VAL`, so it is not evicted at once.
pub const LFU_INIT_VAL: u8 = 5;

impl Entry {
    /// Lays out header, key and payload in one exact allocation.
    fn build(header: Header, key: &[u8], payload: &[u8]) -> Block {
        let (has_expiry, has_cost) = (header.expire_at != 0, header.cost != 1);
        let mut head = [0u8; KEY_LEN + thin::MAX_PREFIX + 8 + 4];
        let flags = header.kind as u8
            | (header.priority as u8) << PRIORITY_SHIFT
            | if header.in_window { IN_WINDOW } else { 0 }
            | if has_expiry { HAS_EXPIRY } else { 0 }
            | if has_cost { HAS_COST } else { 0 }
            | if header.compressed { COMPRESSED } else { 0 };
        head[FLAGS] = flags;
        head[LFU] = header.lfu;
        head[LRU..KEY_LEN].copy_from_slice(&header.lru.to_le_bytes()[..3]);
        let mut at = KEY_LEN + thin::encode(key.len(), &mut head[KEY_LEN..]);
        if has_expiry {
            head[at..at + 8].copy_from_slice(&header.expire_at.to_le_bytes());
            at += 8;
        }
        if has_cost {
            head[at..at + 4].copy_from_slice(&header.cost.to_le_bytes());
            at += 4;
        }
        Block::from_parts(&[&head[..at], key, payload])
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
        let head = KEY_LEN + thin::prefix_len(key.len()) + key.len();
        if matches!(kind, Kind::Str | Kind::RawStr) && spills(head, payload.len(), false) {
            let extra = Extra {
                labels: None,
                body: Body::Value(payload.into()),
            };
            return Entry::from_parts(Entry::build(header, key, &[]), Some(extra));
        }
        Entry::from_parts(Entry::build(header, key, payload), None)
    }

    fn block(&self) -> &Block {
        match self.0.get() {
            thin::Ref::Plain(block) => block,
            thin::Ref::Rich(rich) => &rich.block,
        }
    }

    fn block_mut(&mut self) -> &mut Block {
        match self.0.get_mut() {
            thin::Mut::Plain(block) => block,
            thin::Mut::Rich(rich) => &mut rich.block,
        }
    }

    fn extra(&self) -> Option<&Extra> {
        match self.0.get() {
            thin::Ref::Plain(_) => None,
            thin::Ref::Rich(rich) => Some(&rich.extra),
        }
    }

    fn extra_mut(&mut self) -> Option<&mut Extra> {
        match self.0.get_mut() {
            thin::Mut::Plain(_) => None,
            thin::Mut::Rich(rich) => Some(&mut rich.extra),
        }
    }

    /// The entry's `Extra`, made `Rich` first if it was plain.
    fn extra_or_default(&mut self) -> &mut Extra {
        self.0.update(|owned| match owned {
            Owned::Plain(block) => Owned::Rich(Box::new(Rich {
                block,
                extra: Extra::default(),
            })),
            rich => rich,
        });
        match self.0.get_mut() {
            thin::Mut::Rich(rich) => &mut rich.extra,
            thin::Mut::Plain(_) => unreachable!("made rich just above"),
        }
    }

    /// Back to plain when the extra holds nothing.
    fn drop_empty_extra(&mut self) {
        let empty = self
            .extra()
            .is_some_and(|extra| extra.labels.is_none() && matches!(extra.body, Body::None));
        if empty {
            self.0.update(|owned| match owned {
                Owned::Rich(rich) => Owned::Plain(rich.block),
                plain => plain,
            });
        }
    }

    fn from_parts(block: Block, extra: Option<Extra>) -> Entry {
        Entry(Slot::new(match extra {
            None => Owned::Plain(block),
            Some(extra) => Owned::Rich(Box::new(Rich { block, extra })),
        }))
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
        let (len, bytes) = thin::decode(&self.block()[KEY_LEN..]);
        (len, KEY_LEN + bytes)
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
        self.0.address()
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
        self.extra()?.labels.as_ref()
    }

    pub fn tags(&self) -> &[Name] {
        self.labels().map_or(&[], Pair::first)
    }

    pub fn parents(&self) -> &[Name] {
        self.labels().map_or(&[], Pair::second)
    }

    /// The tags and the parents, for the shard to point them at the interned names.
    pub(crate) fn labels_mut(&mut self) -> (&mut [Name], &mut [Name]) {
        match self.extra_mut().and_then(|e| e.labels.as_mut()) {
            Some(labels) => labels.split_mut(),
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
            tags: Some(self.tags()).filter(|t| !t.is_empty()).map(Into::into),
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

    /// Replaces the tags (`of_parents` false) or the parents; an empty list clears it, and boxes
    /// left holding nothing go.
    fn set_labels(&mut self, of_parents: bool, list: Option<TagList>) {
        let list = list.map_or_else(Vec::new, <[Name]>::into_vec);
        if list.is_empty() && self.labels().is_none() {
            return;
        }
        let extra = self.extra_or_default();
        let (mut tags, mut parents) = extra.labels.take().map(Pair::into_vecs).unwrap_or_default();
        if of_parents {
            parents = list;
        } else {
            tags = list;
        }
        if !tags.is_empty() || !parents.is_empty() {
            extra.labels = Some(Pair::new(tags, parents));
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
        Entry::from_parts(self.block().clone(), self.extra().cloned())
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
            match self.0.into_owned() {
                Owned::Plain(_) => None,
                Owned::Rich(rich) => Some(rich.extra),
            },
        )
    }

    /// Bytes this entry costs the allocator: the header-key-value block, its tags and its
    /// collection. The entry itself lives in a table slot, which the table counts.
    pub fn memory(&self) -> usize {
        let extra = self.extra().map_or(0, |extra| {
            // The names' bytes are the interner's: an entry holds pointers.
            let labels = extra
                .labels
                .as_ref()
                .map_or(0, |labels| alloc_size(labels.alloc_len()));
            alloc_size(std::mem::size_of::<Rich>())
                + labels
                + match &extra.body {
                    Body::None => 0,
                    Body::Collection(collection) => collection.memory(),
                    Body::Value(value) => alloc_size(value.len()),
                }
        });
        alloc_size(self.block().alloc_len()) + extra
    }
}

#[cfg(test)]
mod tests;
