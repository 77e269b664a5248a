//! One key and its value, in as few bytes as we can manage: the key and the value share one
//! allocation (a string's bytes, or an integer's 8 bytes, follow the key), and the entry itself —
//! with expiry, access time, LFU counter, priority and cost — is a 48-byte box, so a table slot is
//! one pointer. What few entries have (tags, a collection value) sits behind one more pointer.

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
    pub tags: Option<Box<[Box<[u8]>]>>,
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
    Str,
    RawStr,
    Int,
    /// The value is `extra.collection`; the entry's bytes hold only the key.
    Collection,
}

#[derive(Debug)]
pub struct Entry {
    bytes: Box<[u8]>,
    /// Absolute expiry in Unix milliseconds; 0 means the key never expires.
    pub expire_at: u64,
    key_len: u32,
    /// Last access, in seconds of the server's LRU clock.
    pub lru: u32,
    cost: u32,
    kind: Kind,
    priority: Priority,
    /// Redis's logarithmic access counter (`allkeys-lfu`, `OBJECT FREQ`).
    pub lfu: u8,
    /// In `allkeys-cachet`'s admission window: new, not yet weighed against the residents.
    pub in_window: bool,
    extra: Option<Box<Extra>>,
}

/// The parts of an entry most entries do not have, boxed so that those entries pay one null
/// pointer for them. Labels are boxed once more, so a collection without them (the usual hash or
/// list) pays 32 bytes here, and a tagged string 32 plus its labels.
#[derive(Debug, Clone, Default)]
struct Extra {
    labels: Option<Box<Labels>>,
    collection: Option<Collection>,
}

#[derive(Debug, Clone, Default)]
struct Labels {
    tags: Option<TagList>,
    /// Keys this one depends on (`CACHE.DEPEND`): it is invalidated when any of them changes.
    parents: Option<TagList>,
}

pub type TagList = Box<[Box<[u8]>]>;

/// Longest string Redis keeps as `embstr`.
const EMBSTR_MAX: usize = 44;
/// Longest string Redis will try to encode as an integer.
const MAX_INT_STRING: usize = 20;
/// Counter a new key starts with, as Redis's `LFU_INIT_VAL`, so it is not evicted at once.
pub const LFU_INIT_VAL: u8 = 5;

impl Entry {
    fn with_payload(key: &[u8], payload: &[u8], kind: Kind, lru: u32) -> Box<Entry> {
        let mut bytes = Vec::with_capacity(key.len() + payload.len());
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(payload);
        Box::new(Entry {
            bytes: bytes.into_boxed_slice(),
            expire_at: 0,
            key_len: key.len() as u32,
            lru,
            cost: 1,
            kind,
            priority: Priority::Normal,
            lfu: LFU_INIT_VAL,
            in_window: false,
            extra: None,
        })
    }

    /// A key holding a hash, list, set or sorted set.
    pub fn new_collection(key: &[u8], collection: Collection, lru: u32) -> Box<Entry> {
        let mut entry = Entry::with_payload(key, &[], Kind::Collection, lru);
        entry.extra = Some(Box::new(Extra {
            labels: None,
            collection: Some(collection),
        }));
        entry
    }

    pub fn new_string(key: &[u8], value: &[u8], lru: u32) -> Box<Entry> {
        match as_canonical_int(value) {
            Some(n) => Entry::new_int(key, n, lru),
            None => Entry::with_payload(key, value, Kind::Str, lru),
        }
    }

    /// A string as bit and HyperLogLog commands create them (SETBIT, BITOP, PFADD...): Redis
    /// builds those as `raw` strings, never `int` or `embstr`, whatever their bytes.
    pub fn new_raw_string(key: &[u8], value: &[u8], lru: u32) -> Box<Entry> {
        Entry::with_payload(key, value, Kind::RawStr, lru)
    }

    pub fn new_int(key: &[u8], value: i64, lru: u32) -> Box<Entry> {
        Entry::with_payload(key, &value.to_le_bytes(), Kind::Int, lru)
    }

    pub fn key(&self) -> &[u8] {
        &self.bytes[..self.key_len as usize]
    }

    fn payload(&self) -> &[u8] {
        &self.bytes[self.key_len as usize..]
    }

    fn int(&self) -> i64 {
        let mut raw = [0u8; 8];
        let payload = self.payload();
        let n = payload.len().min(8);
        raw[..n].copy_from_slice(&payload[..n]);
        i64::from_le_bytes(raw)
    }

    pub fn value(&self) -> Value {
        match self.kind {
            Kind::Str => Value::Str { raw: false },
            Kind::RawStr => Value::Str { raw: true },
            Kind::Int => Value::Int(self.int()),
            Kind::Collection => Value::Collection,
        }
    }

    pub fn collection(&self) -> Option<&Collection> {
        self.extra.as_ref()?.collection.as_ref()
    }

    pub fn collection_mut(&mut self) -> Option<&mut Collection> {
        self.extra.as_mut()?.collection.as_mut()
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
        self.expire_at != 0
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }

    /// The Redis type name (`TYPE`, `SCAN ... TYPE`).
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Str | Kind::RawStr | Kind::Int => "string",
            Kind::Collection => self.collection().map_or("none", Collection::type_name),
        }
    }

    /// The Redis encoding name (`OBJECT ENCODING`).
    pub fn encoding(&self) -> &'static str {
        match self.kind {
            Kind::Int => "int",
            Kind::Str if self.string_len() <= EMBSTR_MAX => "embstr",
            Kind::Str | Kind::RawStr => "raw",
            Kind::Collection => self.collection().map_or("", Collection::encoding),
        }
    }

    /// The string payload when the value is a string held as bytes.
    pub fn str_bytes(&self) -> Option<&[u8]> {
        match self.kind {
            Kind::Str | Kind::RawStr => Some(self.payload()),
            Kind::Int | Kind::Collection => None,
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self.kind, Kind::Str | Kind::RawStr | Kind::Int)
    }

    /// The string value as bytes, formatting an integer on the way. `None` for non-strings.
    pub fn string_value(&self) -> Option<StringValue<'_>> {
        match self.kind {
            Kind::Str | Kind::RawStr => Some(StringValue::Bytes(self.payload())),
            Kind::Int => Some(StringValue::int(self.int())),
            Kind::Collection => None,
        }
    }

    pub fn string_len(&self) -> usize {
        match self.kind {
            Kind::Str | Kind::RawStr => self.payload().len(),
            Kind::Int => itoa::Buffer::new().format(self.int()).len(),
            Kind::Collection => 0,
        }
    }

    /// Replaces the value with a string, choosing the integer encoding when it applies.
    pub fn set_string(&mut self, value: &[u8]) {
        match as_canonical_int(value) {
            Some(n) => self.set_int(n),
            None => {
                self.replace_payload(value);
                self.kind = Kind::Str;
            }
        }
    }

    pub fn set_int(&mut self, n: i64) {
        if self.kind == Kind::Int {
            let at = self.key_len as usize;
            if let Some(slot) = self.bytes.get_mut(at..at + 8) {
                slot.copy_from_slice(&n.to_le_bytes());
                return;
            }
        }
        self.replace_payload(&n.to_le_bytes());
        self.kind = Kind::Int;
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
        self.kind = Kind::RawStr;
    }

    /// The string's bytes for an edit in place (SETBIT, BITFIELD, PFADD on a dense HyperLogLog),
    /// at least `min_len` of them: a shorter string is first padded with zero bytes (one exact
    /// reallocation), an integer written out as its digits. The value is `raw` afterwards, as
    /// Redis's `dbUnshareStringValue` leaves it. `None` for a collection. Unlike
    /// `modify_string`, nothing is copied when the length is already there, so a bit flip in a
    /// large bitmap costs O(1).
    pub fn string_bytes_mut(&mut self, min_len: usize) -> Option<&mut [u8]> {
        match self.kind {
            Kind::Collection => return None,
            Kind::Int => {
                let digits = self.string_value()?.to_vec();
                self.replace_payload(&digits);
            }
            Kind::Str | Kind::RawStr => {}
        }
        self.kind = Kind::RawStr;
        let at = self.key_len as usize;
        let len = self.bytes.len() - at;
        if len < min_len {
            let mut bytes = std::mem::take(&mut self.bytes).into_vec();
            bytes.reserve_exact(min_len - len);
            bytes.resize(at + min_len, 0);
            self.bytes = bytes.into_boxed_slice();
        }
        Some(&mut self.bytes[at..])
    }

    fn replace_payload(&mut self, value: &[u8]) {
        if let Some(extra) = self.extra.as_mut() {
            extra.collection = None;
            if extra.labels.is_none() {
                self.extra = None;
            }
        }
        let mut bytes = std::mem::take(&mut self.bytes).into_vec();
        bytes.truncate(self.key_len as usize);
        bytes.extend_from_slice(value);
        self.bytes = bytes.into_boxed_slice();
    }

    pub fn priority(&self) -> Priority {
        self.priority
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    fn labels(&self) -> Option<&Labels> {
        self.extra.as_ref()?.labels.as_deref()
    }

    pub fn tags(&self) -> &[Box<[u8]>] {
        self.labels().and_then(|l| l.tags.as_deref()).unwrap_or(&[])
    }

    pub fn parents(&self) -> &[Box<[u8]>] {
        self.labels()
            .and_then(|l| l.parents.as_deref())
            .unwrap_or(&[])
    }

    /// Whether the entry carries tags or parents, i.e. appears in a label index.
    pub fn has_labels(&self) -> bool {
        self.labels().is_some()
    }

    pub fn meta(&self) -> CacheMeta {
        CacheMeta {
            priority: self.priority,
            cost: self.cost,
            tags: self.labels().and_then(|l| l.tags.clone()),
        }
    }

    /// Sets priority, cost and tags (CACHE.SET; plain SET resets them to the defaults).
    pub fn set_meta(&mut self, meta: CacheMeta) {
        self.priority = meta.priority;
        self.cost = meta.cost;
        self.set_labels(false, meta.tags);
    }

    /// Replaces the tags (`parents` false) or the parents; an empty list clears it, and boxes
    /// left holding nothing go.
    fn set_labels(&mut self, parents: bool, list: Option<TagList>) {
        let list = list.filter(|l| !l.is_empty());
        if list.is_none() && self.labels().is_none() {
            return;
        }
        let extra = self.extra.get_or_insert_with(Box::default);
        let labels = extra.labels.get_or_insert_with(Box::default);
        if parents {
            labels.parents = list;
        } else {
            labels.tags = list;
        }
        if labels.tags.is_none() && labels.parents.is_none() {
            extra.labels = None;
        }
        if extra.labels.is_none() && extra.collection.is_none() {
            self.extra = None;
        }
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
    pub fn clone_with_key(&self, key: &[u8]) -> Box<Entry> {
        let mut copy = Entry::with_payload(key, self.payload(), self.kind, self.lru);
        copy.expire_at = self.expire_at;
        copy.cost = self.cost;
        copy.priority = self.priority;
        copy.lfu = self.lfu;
        copy.extra = self.extra.clone();
        copy
    }

    /// The same entry under another key (RENAME, MOVE), without copying a collection's elements.
    #[allow(clippy::boxed_local)] // the table hands back boxes; RENAME moves one
    pub fn into_renamed(mut self: Box<Entry>, key: &[u8]) -> Box<Entry> {
        let extra = self.extra.take();
        let mut renamed = self.clone_with_key(key);
        renamed.extra = extra;
        renamed
    }

    /// Bytes this entry costs the allocator: the box, the key-and-value block, its tags and its
    /// collection. Table slots are counted by the table.
    pub fn memory(&self) -> usize {
        let extra = self.extra.as_deref().map_or(0, |extra| {
            let list = |list: &Option<TagList>| {
                list.as_deref().map_or(0, |names| {
                    alloc_size(std::mem::size_of_val(names))
                        + names.iter().map(|t| alloc_size(t.len())).sum::<usize>()
                })
            };
            let labels = extra.labels.as_deref().map_or(0, |labels| {
                alloc_size(std::mem::size_of::<Labels>())
                    + list(&labels.tags)
                    + list(&labels.parents)
            });
            alloc_size(std::mem::size_of::<Extra>())
                + labels
                + extra.collection.as_ref().map_or(0, Collection::memory)
        });
        alloc_size(std::mem::size_of::<Entry>()) + alloc_size(self.bytes.len()) + extra
    }
}

pub enum StringValue<'a> {
    Bytes(&'a [u8]),
    /// Decimal digits of an integer-encoded value, formatted on the stack.
    Int([u8; 20], u8),
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
        assert!(std::mem::size_of::<Entry>() <= 48);
        // One 32-byte allocation holds a hash, or the labels pointer and a boxed collection.
        assert!(std::mem::size_of::<Extra>() <= 32);
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
        assert_eq!(e.str_bytes().unwrap(), b"hello!");
        assert_eq!(e.encoding(), "raw");
        e.set_int(-5);
        assert_eq!(&*e.string_value().unwrap(), b"-5");
        assert_eq!(e.key(), b"k");
        e.set_int(i64::MIN);
        assert_eq!(e.value(), Value::Int(i64::MIN));
        assert_eq!(e.memory(), 48 + 16);
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
            tags: Some(vec![b"user:1".to_vec().into_boxed_slice()].into_boxed_slice()),
        });
        assert!(e.memory() > plain);
        let copy = e.clone_with_key(b"other");
        assert_eq!(copy.priority(), Priority::High);
        assert_eq!(copy.cost(), 7);
        assert_eq!(copy.tags(), e.tags());
        assert_eq!(Priority::parse(b"CRITICAL"), Some(Priority::Critical));
    }
}
