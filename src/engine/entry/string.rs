//! An entry's string value: bytes after the key or spilled into an allocation of their own, an
//! integer's 8 bytes, or a zstd frame (`engine::compress`) read back whole; built before the
//! shard lock (`prepare_string`) and edited in place (APPEND, SETRANGE, SETBIT, INCR).

use super::*;

/// A string entry built by `Entry::prepare_string` (or `prepare_raw`), and the compression
/// attempt it made (for the `stats-prefixes` figures, counted when it is stored).
pub struct Prepared {
    entry: Entry,
    work: Option<compress::Work>,
    /// Built raw by `prepare_raw`: the shard decides, as for any other write, whether the
    /// background compressor takes it (`engine::backlog`) or the write compresses it.
    undecided: bool,
}

impl Prepared {
    /// The entry, for what its writer sets under the lock (TTL, metadata).
    pub fn entry_mut(&mut self) -> &mut Entry {
        &mut self.entry
    }

    /// (entry, the attempt made before the lock, whether compression is still to decide).
    pub fn into_parts(self) -> (Entry, Option<compress::Work>, bool) {
        (self.entry, self.work, self.undecided)
    }
}

/// Longest string Redis will try to encode as an integer.
const MAX_INT_STRING: usize = 20;

impl Entry {
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
        if self.spilled().is_some() {
            let (frame, work) =
                compress::compress_with(self.payload(), settings, dictionary, <[u8]>::to_vec)?;
            if let Some(frame) = frame {
                self.install_frame(&frame);
            }
            return Some(work);
        }
        // Built straight from the thread's frame buffer: one allocation, the entry's.
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

    /// Stores `frame`, this plain string's bytes compressed (by `compress::compress_with`), in
    /// place of them, keeping every header field (expiry, cost, priority, access state):
    /// `compress_with`, and the background compressor's swap (`engine::backlog`).
    pub fn install_frame(&mut self, frame: &[u8]) {
        // A value held in its own allocation (`Body::Value`) is not in the block: rebuilding
        // the block alone would keep the old value beside a compressed flag.
        if self.spilled().is_some() {
            self.replace_payload(frame);
            self.set_flag(COMPRESSED, true);
            return;
        }
        let header = Header {
            compressed: true,
            ..self.header()
        };
        let block = Entry::build(header, &self.block()[self.key_range()], frame);
        *self.block_mut() = block;
    }

    /// The inverse of `install_frame`: `raw`, this compressed string's original bytes, stored
    /// in place of its frame, every header field kept (a hot value, `DbShard::keep_raw`).
    pub fn install_raw(&mut self, raw: &[u8]) {
        self.replace_payload(raw);
    }

    /// A string entry stored as written, its compression left to the shard
    /// (`DbShard::insert_prepared`): SET when the background compressor has room for it.
    pub fn prepare_raw(key: &[u8], value: &[u8]) -> Prepared {
        Prepared {
            entry: Entry::new_string(key, value, 0),
            work: None,
            undecided: true,
        }
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
                undecided: false,
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
        Prepared {
            entry,
            work,
            undecided: false,
        }
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
        if self.block().len() - at < min_len {
            self.block_mut().resize(at + min_len);
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
        if spill {
            self.block_mut().resize(at);
            self.extra_or_default().body = Body::Value(value.into());
        } else {
            let block = self.block_mut();
            block.resize(at + value.len());
            block[at..].copy_from_slice(value);
        }
        self.set_flag(COMPRESSED, false);
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
