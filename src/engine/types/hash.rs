//! The hash value, in Redis's two encodings.
//!
//! `listpack`: one contiguous buffer, `[count][flen][field][vlen][value]...` with LEB128 lengths,
//! sized exactly (every write reallocates, as Redis's listpack does). Lookups are linear, which
//! is cheap at the sizes this encoding is kept for, and a 10-field hash costs its payload plus
//! one byte per string. `hashtable` (see `dict.rs`): used once the hash has more than
//! `hash-max-listpack-entries` fields or a field or value longer than `hash-max-listpack-value`
//! bytes. As in Redis a hash never goes back to the listpack.
//!
//! `memory()` is O(1): the listpack's size is its buffer's length, and the table keeps a running
//! count of its nodes.
//!
//! Field TTLs (Redis 7.4's HEXPIRE family) live beside the table (`ttl.rs`): a listpack hash given
//! one converts to the table first (Redis 7.4 has a `listpackex` encoding instead; a third
//! representation here would make every hash value a word larger). HSET and HDEL drop a field's
//! TTL, `set_keep_ttl` (HINCRBY, HINCRBYFLOAT) keeps it. The value does not hide expired fields:
//! the commands reap them first (`DbShard::reap_fields`), as Redis 7.4 deletes them on access.

mod dict;
#[cfg(test)]
mod model_tests;
mod ttl;

use crate::engine::memory::alloc_size;
use dict::Dict;
use ttl::FieldTtls;

/// When a hash leaves the listpack encoding (`hash-max-listpack-entries`,
/// `hash-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl Default for HashLimits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        HashLimits {
            max_listpack_entries: 512,
            max_listpack_value: 64,
        }
    }
}

#[derive(Debug, Clone)]
pub struct HashValue {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    Listpack(Listpack),
    Table(Box<Dict>),
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue {
            repr: Repr::Listpack(Listpack::new()),
        }
    }
}

pub type Pair<'a> = (&'a [u8], &'a [u8]);

impl HashValue {
    pub fn new() -> Self {
        HashValue::default()
    }

    /// The hash of `pairs`, as `set` of each in turn would build it (a restore, a load), but
    /// in one pass when they fit the listpack: its buffer written once at its size, where `set`
    /// looks every field up and copies the buffer again for each. `None` when a field repeats
    /// (a damaged payload).
    pub fn from_pairs<F: AsRef<[u8]>, V: AsRef<[u8]>>(
        pairs: &[(F, V)],
        limits: HashLimits,
    ) -> Option<HashValue> {
        let fits = pairs.len() <= limits.max_listpack_entries
            && pairs.iter().all(|(f, v)| {
                f.as_ref().len() <= limits.max_listpack_value
                    && v.as_ref().len() <= limits.max_listpack_value
            });
        if !fits {
            let mut hash = HashValue::new();
            for (field, value) in pairs {
                if !hash.set(field.as_ref(), value.as_ref(), limits) {
                    return None;
                }
            }
            return Some(hash);
        }
        let mut fields: Vec<&[u8]> = pairs.iter().map(|(f, _)| f.as_ref()).collect();
        fields.sort_unstable();
        if fields.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        Some(HashValue {
            repr: Repr::Listpack(Listpack::of_pairs(pairs)),
        })
    }

    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Listpack(_))
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.count(),
            Repr::Table(dict) => dict.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held besides the struct itself; O(1).
    pub fn memory(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => alloc_size(lp.buf.len()),
            Repr::Table(dict) => alloc_size(std::mem::size_of::<Dict>()) + dict.memory(),
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Listpack(lp) => lp.find(field).map(|p| p.value),
            Repr::Table(dict) => dict.get(field),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value` (dropping any TTL of the field, as HSET does), converting to a
    /// table first when either is too long for the listpack and after when the listpack has too
    /// many fields. True when the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        self.persist_field(field);
        self.set_keep_ttl(field, value, limits)
    }

    /// `set` that leaves the field's TTL in place (HINCRBY, HINCRBYFLOAT in Redis 7.4).
    pub fn set_keep_ttl(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if field.len() > limits.max_listpack_value || value.len() > limits.max_listpack_value {
            self.convert();
        }
        match &mut self.repr {
            Repr::Listpack(lp) => {
                let added = lp.set(field, value);
                if lp.count() > limits.max_listpack_entries {
                    self.convert();
                }
                added
            }
            Repr::Table(dict) => dict.insert(field, value),
        }
    }

    /// Removes `field` and its TTL; true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        self.persist_field(field);
        match &mut self.repr {
            Repr::Listpack(lp) => lp.remove(field),
            Repr::Table(dict) => dict.remove(field),
        }
    }

    /// Every field and value: insertion order for a listpack, table order otherwise.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Pair<'_>> + '_> {
        match &self.repr {
            Repr::Listpack(lp) => Box::new(lp.pairs().map(|p| (p.field, p.value))),
            Repr::Table(dict) => Box::new(dict.iter()),
        }
    }

    /// One field and its value, chosen uniformly; `None` when empty. O(1) for a table, a walk
    /// of the buffer for a listpack (callers drawing many take `iter().collect()` once instead).
    pub fn random(&self) -> Option<Pair<'_>> {
        match &self.repr {
            Repr::Listpack(lp) => match lp.count() {
                0 => None,
                n => lp
                    .pairs()
                    .nth(fastrand::usize(..n))
                    .map(|p| (p.field, p.value)),
            },
            Repr::Table(dict) => dict.random(),
        }
    }

    /// One step of HSCAN over a table (see `Dict::scan`); a listpack is visited whole and the
    /// cursor is 0, as Redis answers for its compact encodings.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        match &self.repr {
            Repr::Listpack(lp) => {
                for p in lp.pairs() {
                    f(p.field, p.value);
                }
                0
            }
            Repr::Table(dict) => dict.scan(cursor, f),
        }
    }

    fn ttls(&self) -> Option<&FieldTtls> {
        match &self.repr {
            Repr::Table(dict) => dict.ttls.as_deref(),
            Repr::Listpack(_) => None,
        }
    }

    /// When `field` expires (Unix ms), if it has a TTL.
    pub fn field_expire_at(&self, field: &[u8]) -> Option<u64> {
        self.ttls().and_then(|t| t.get(field))
    }

    /// Whether any field has a TTL.
    pub fn has_field_ttls(&self) -> bool {
        self.ttls().is_some()
    }

    /// Gives the existing `field` a TTL (a listpack converts to a table first); false when there
    /// is no such field.
    pub fn set_field_expire_at(&mut self, field: &[u8], at: u64) -> bool {
        if !self.contains(field) {
            return false;
        }
        self.convert();
        if let Repr::Table(dict) = &mut self.repr {
            dict.ttls.get_or_insert_default().set(field, at);
        }
        true
    }

    /// Drops `field`'s TTL; true when it had one.
    pub fn persist_field(&mut self, field: &[u8]) -> bool {
        let Repr::Table(dict) = &mut self.repr else {
            return false;
        };
        let Some(ttls) = dict.ttls.as_mut() else {
            return false;
        };
        let removed = ttls.remove(field);
        if ttls.is_empty() {
            dict.ttls = None;
        }
        removed
    }

    /// Whether a field may have expired at `now` (O(1); see `ttl.rs`).
    pub fn fields_due(&self, now: u64) -> bool {
        self.ttls().is_some_and(|t| t.due(now))
    }

    /// Removes up to `limit` fields whose time is before `now`; returns how many.
    pub fn remove_expired(&mut self, now: u64, limit: usize) -> usize {
        let fields = match &mut self.repr {
            Repr::Table(dict) => match dict.ttls.as_mut() {
                Some(ttls) => ttls.expired(now, limit),
                None => return 0,
            },
            Repr::Listpack(_) => return 0,
        };
        for field in &fields {
            self.remove(field);
        }
        fields.len()
    }

    fn convert(&mut self) {
        if let Repr::Listpack(lp) = &self.repr {
            let mut dict = Box::new(Dict::default());
            for p in lp.pairs() {
                dict.insert(p.field, p.value);
            }
            self.repr = Repr::Table(dict);
        }
    }

    /// What `memory()` should say, counted from the elements (tests and models).
    #[cfg(test)]
    pub fn recount(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => {
                let mut expected = Vec::new();
                write_varint(&mut expected, lp.count());
                for p in lp.pairs() {
                    write_varint(&mut expected, p.field.len());
                    expected.extend_from_slice(p.field);
                    write_varint(&mut expected, p.value.len());
                    expected.extend_from_slice(p.value);
                }
                assert_eq!(expected.len(), lp.buf.len(), "listpack has stray bytes");
                alloc_size(expected.len())
            }
            Repr::Table(dict) => alloc_size(std::mem::size_of::<Dict>()) + dict.recount(),
        }
    }
}

/// Reads a LEB128 length at `at`: (value, offset after it).
fn read_varint(buf: &[u8], mut at: usize) -> Option<(usize, usize)> {
    let mut value = 0usize;
    let mut shift = 0;
    loop {
        let byte = *buf.get(at)?;
        at += 1;
        value |= ((byte & 0x7f) as usize).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
        shift += 7;
    }
}

#[cfg(test)]
fn write_varint(out: &mut Vec<u8>, n: usize) {
    let (bytes, used) = varint(n);
    out.extend_from_slice(&bytes[..used]);
}

/// `n` as LEB128 on the stack: (bytes, how many are used).
fn varint(mut n: usize) -> ([u8; 10], usize) {
    let mut bytes = [0u8; 10];
    let mut used = 0;
    for slot in bytes.iter_mut() {
        used += 1;
        if n < 0x80 {
            *slot = n as u8;
            break;
        }
        *slot = (n as u8) | 0x80;
        n >>= 7;
    }
    (bytes, used)
}

#[derive(Debug, Clone)]
struct Listpack {
    buf: Box<[u8]>,
}

/// One field/value pair inside a listpack buffer, with the offsets an edit needs.
struct Entry<'a> {
    start: usize,
    value_len_at: usize,
    value_at: usize,
    end: usize,
    field: &'a [u8],
    value: &'a [u8],
}

struct Pairs<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        let start = self.at;
        let (field_len, field_at) = read_varint(self.buf, start)?;
        let value_len_at = field_at.checked_add(field_len)?;
        let field = self.buf.get(field_at..value_len_at)?;
        let (value_len, value_at) = read_varint(self.buf, value_len_at)?;
        let end = value_at.checked_add(value_len)?;
        let value = self.buf.get(value_at..end)?;
        self.at = end;
        Some(Entry {
            start,
            value_len_at,
            value_at,
            end,
            field,
            value,
        })
    }
}

impl Listpack {
    fn new() -> Listpack {
        Listpack { buf: Box::new([0]) }
    }

    /// A listpack of `pairs` (distinct fields), in their order.
    fn of_pairs<F: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(F, V)]) -> Listpack {
        let len = |n: usize| varint(n).1 + n;
        let size = len(pairs.len()) - pairs.len()
            + pairs
                .iter()
                .map(|(f, v)| len(f.as_ref().len()) + len(v.as_ref().len()))
                .sum::<usize>();
        let mut buf = Vec::with_capacity(size);
        let put = |buf: &mut Vec<u8>, n: usize| {
            let (bytes, used) = varint(n);
            buf.extend_from_slice(&bytes[..used]);
        };
        put(&mut buf, pairs.len());
        for (field, value) in pairs {
            let (field, value) = (field.as_ref(), value.as_ref());
            put(&mut buf, field.len());
            buf.extend_from_slice(field);
            put(&mut buf, value.len());
            buf.extend_from_slice(value);
        }
        Listpack {
            buf: buf.into_boxed_slice(),
        }
    }

    fn count(&self) -> usize {
        read_varint(&self.buf, 0).map_or(0, |(n, _)| n)
    }

    fn body_start(&self) -> usize {
        read_varint(&self.buf, 0).map_or(self.buf.len(), |(_, at)| at)
    }

    fn pairs(&self) -> Pairs<'_> {
        Pairs {
            buf: &self.buf,
            at: self.body_start(),
        }
    }

    fn find(&self, field: &[u8]) -> Option<Entry<'_>> {
        self.pairs().find(|p| p.field == field)
    }

    /// Rewrites the buffer with a new count, the bytes `cut` of the old buffer replaced by
    /// `insert`, in one exactly sized allocation.
    fn splice(&mut self, count: usize, cut: std::ops::Range<usize>, insert: &[&[u8]]) {
        let old = &self.buf;
        let body = self.body_start();
        let before = old.get(body..cut.start).unwrap_or(&[]);
        let after = old.get(cut.end..).unwrap_or(&[]);
        let (header, header_len) = varint(count);
        let inserted: usize = insert.iter().map(|piece| piece.len()).sum();
        let mut out = Vec::with_capacity(header_len + before.len() + inserted + after.len());
        out.extend_from_slice(&header[..header_len]);
        out.extend_from_slice(before);
        for piece in insert {
            out.extend_from_slice(piece);
        }
        out.extend_from_slice(after);
        self.buf = out.into_boxed_slice();
    }

    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let count = self.count();
        let (value_len, value_len_size) = varint(value.len());
        if let Some(p) = self.find(field) {
            let (value_len_at, value_at, end) = (p.value_len_at, p.value_at, p.end);
            if end - value_at == value.len() {
                if let Some(slot) = self.buf.get_mut(value_at..end) {
                    slot.copy_from_slice(value);
                }
            } else {
                self.splice(
                    count,
                    value_len_at..end,
                    &[&value_len[..value_len_size], value],
                );
            }
            return false;
        }
        let (field_len, field_len_size) = varint(field.len());
        let end = self.buf.len();
        self.splice(
            count + 1,
            end..end,
            &[
                &field_len[..field_len_size],
                field,
                &value_len[..value_len_size],
                value,
            ],
        );
        true
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let count = self.count();
        let Some((start, end)) = self.find(field).map(|p| (p.start, p.end)) else {
            return false;
        };
        self.splice(count - 1, start..end, &[]);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: HashLimits = HashLimits {
        max_listpack_entries: 4,
        max_listpack_value: 8,
    };

    /// One pass or field by field, the same hash: encoding, order, bytes counted; a field
    /// twice is refused.
    #[test]
    fn a_hash_built_from_pairs_is_the_one_set_builds() {
        let by_set = |pairs: &[(&[u8], &[u8])]| {
            let mut h = HashValue::new();
            for (f, v) in pairs {
                assert!(h.set(f, v, SMALL));
            }
            h
        };
        let cases: [&[(&[u8], &[u8])]; 4] = [
            &[],
            &[(b"a", b"1"), (b"b", b""), (b"", b"3")],
            // A value longer than the listpack takes, then more fields than it takes.
            &[(b"a", b"1"), (b"b", b"123456789")],
            &[
                (b"a", b"1"),
                (b"b", b"2"),
                (b"c", b"3"),
                (b"d", b"4"),
                (b"e", b"5"),
            ],
        ];
        for pairs in cases {
            let built = HashValue::from_pairs(pairs, SMALL).expect("distinct fields");
            let expected = by_set(pairs);
            assert_eq!(built.encoding(), expected.encoding(), "{pairs:?}");
            fn sorted(h: &HashValue) -> Vec<Pair<'_>> {
                let mut pairs: Vec<_> = h.iter().collect();
                pairs.sort();
                pairs
            }
            assert_eq!(sorted(&built), sorted(&expected));
            assert_eq!(built.memory(), expected.memory());
            assert_eq!(built.memory(), built.recount());
        }
        let twice: &[(&[u8], &[u8])] = &[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")];
        assert!(HashValue::from_pairs(twice, SMALL).is_none());
        let long_twice: &[(&[u8], &[u8])] = &[(b"a", b"123456789"), (b"a", b"2")];
        assert!(HashValue::from_pairs(long_twice, SMALL).is_none());
    }

    #[test]
    fn field_ttls_follow_their_fields_and_are_counted() {
        let mut h = HashValue::new();
        h.set(b"a", b"1", SMALL);
        h.set(b"b", b"2", SMALL);
        assert!(!h.set_field_expire_at(b"zz", 10));
        assert!(h.is_listpack());
        assert!(h.set_field_expire_at(b"a", 10));
        assert!(h.set_field_expire_at(b"b", 30));
        assert!(!h.is_listpack());
        assert_eq!(h.memory(), h.recount());
        assert_eq!(h.field_expire_at(b"a"), Some(10));
        // Not due at its own time, due after it.
        assert!(!h.fields_due(10));
        assert!(h.fields_due(11));
        // HINCRBY keeps a TTL, HSET drops it.
        h.set_keep_ttl(b"b", b"3", SMALL);
        assert_eq!(h.field_expire_at(b"b"), Some(30));
        h.set(b"b", b"4", SMALL);
        assert_eq!(h.field_expire_at(b"b"), None);
        assert_eq!(h.remove_expired(20, usize::MAX), 1);
        assert_eq!(h.len(), 1);
        assert!(!h.has_field_ttls());
        assert_eq!(h.memory(), h.recount());
        assert!(h.set_field_expire_at(b"b", 5));
        assert!(h.persist_field(b"b"));
        assert!(!h.persist_field(b"b"));
        assert!(!h.has_field_ttls());
        // A removed field takes its TTL along.
        assert!(h.set_field_expire_at(b"b", 5));
        h.remove(b"b");
        h.set(b"b", b"1", SMALL);
        assert_eq!(h.field_expire_at(b"b"), None);
        // A bounded reap leaves the rest for later.
        for i in 0..10u8 {
            h.set(&[b'f', i], b"v", SMALL);
            h.set_field_expire_at(&[b'f', i], 1);
        }
        assert_eq!(h.remove_expired(2, 4), 4);
        assert!(h.fields_due(2));
        assert_eq!(h.remove_expired(2, usize::MAX), 6);
        assert!(!h.fields_due(u64::MAX));
        assert_eq!(h.memory(), h.recount());
    }

    #[test]
    fn value_is_small() {
        assert_eq!(std::mem::size_of::<HashValue>(), 16);
    }

    #[test]
    fn listpack_set_get_remove_in_order() {
        let mut h = HashValue::new();
        assert_eq!(h.memory(), 8);
        assert!(h.set(b"a", b"1", SMALL));
        assert!(h.set(b"b", b"22", SMALL));
        assert!(!h.set(b"a", b"3", SMALL));
        assert!(!h.set(b"a", b"", SMALL));
        assert_eq!(h.get(b"a"), Some(&b""[..]));
        assert_eq!(h.get(b"c"), None);
        let pairs: Vec<_> = h.iter().collect();
        assert_eq!(pairs, vec![(&b"a"[..], &b""[..]), (&b"b"[..], &b"22"[..])]);
        assert_eq!(h.memory(), h.recount());
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        assert_eq!(h.len(), 1);
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(h.memory(), h.recount());
    }

    #[test]
    fn converts_on_entries_and_on_length_never_back() {
        let mut h = HashValue::new();
        for i in 0..4u8 {
            h.set(&[i], b"v", SMALL);
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"x", b"v", SMALL);
        assert_eq!(h.encoding(), "hashtable");
        for i in 0..4u8 {
            h.remove(&[i]);
        }
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"x"), Some(&b"v"[..]));
        assert_eq!(h.memory(), h.recount());

        let mut long = HashValue::new();
        long.set(b"f", b"123456789", SMALL);
        assert_eq!(long.encoding(), "hashtable");
        let mut exact = HashValue::new();
        exact.set(b"12345678", b"12345678", SMALL);
        assert_eq!(exact.encoding(), "listpack");
    }

    #[test]
    fn long_lengths_and_counts_use_longer_varints() {
        let limits = HashLimits {
            max_listpack_entries: 1000,
            max_listpack_value: 1000,
        };
        let mut h = HashValue::new();
        for i in 0..300u32 {
            h.set(i.to_string().as_bytes(), &vec![b'x'; i as usize], limits);
        }
        assert_eq!(h.len(), 300);
        assert_eq!(h.get(b"299").map(<[u8]>::len), Some(299));
        assert_eq!(h.memory(), h.recount());
        for i in 0..300u32 {
            assert!(h.remove(i.to_string().as_bytes()));
        }
        assert!(h.is_empty());
        assert_eq!(h.memory(), h.recount());
    }
}
