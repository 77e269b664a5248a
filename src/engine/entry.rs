//! One key and its value, in as few bytes as we can manage: the key and a string value share one
//! allocation, and the entry itself is a 48-byte box, so a table slot is one pointer.

use crate::engine::memory::alloc_size;

/// The value kinds. String payloads live in the entry's byte block right after the key; an integer
/// that round-trips as a decimal string is kept as an `i64` (Redis's `int` encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A string whose bytes follow the key. `raw` marks a string grown in place (APPEND, SETRANGE),
    /// which Redis reports as `raw` whatever its length.
    Str {
        raw: bool,
    },
    Int(i64),
}

#[derive(Debug)]
pub struct Entry {
    bytes: Box<[u8]>,
    key_len: u32,
    /// Last access, in seconds of the server's LRU clock.
    pub lru: u32,
    /// Absolute expiry in Unix milliseconds; 0 means the key never expires.
    pub expire_at: u64,
    value: Value,
}

/// Longest string Redis keeps as `embstr`.
const EMBSTR_MAX: usize = 44;
/// Longest string Redis will try to encode as an integer.
const MAX_INT_STRING: usize = 20;

impl Entry {
    pub fn new_string(key: &[u8], value: &[u8], lru: u32) -> Box<Entry> {
        match as_canonical_int(value) {
            Some(n) => Box::new(Entry {
                bytes: key.into(),
                key_len: key.len() as u32,
                lru,
                expire_at: 0,
                value: Value::Int(n),
            }),
            None => {
                let mut bytes = Vec::with_capacity(key.len() + value.len());
                bytes.extend_from_slice(key);
                bytes.extend_from_slice(value);
                Box::new(Entry {
                    bytes: bytes.into(),
                    key_len: key.len() as u32,
                    lru,
                    expire_at: 0,
                    value: Value::Str { raw: false },
                })
            }
        }
    }

    pub fn new_int(key: &[u8], value: i64, lru: u32) -> Box<Entry> {
        Box::new(Entry {
            bytes: key.into(),
            key_len: key.len() as u32,
            lru,
            expire_at: 0,
            value: Value::Int(value),
        })
    }

    pub fn key(&self) -> &[u8] {
        &self.bytes[..self.key_len as usize]
    }

    pub fn value(&self) -> Value {
        self.value
    }

    pub fn has_expiry(&self) -> bool {
        self.expire_at != 0
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }

    /// The Redis type name (`TYPE`, `SCAN ... TYPE`).
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Str { .. } | Value::Int(_) => "string",
        }
    }

    /// The Redis encoding name (`OBJECT ENCODING`).
    pub fn encoding(&self) -> &'static str {
        match self.value {
            Value::Int(_) => "int",
            Value::Str { raw: false } if self.string_len() <= EMBSTR_MAX => "embstr",
            Value::Str { .. } => "raw",
        }
    }

    /// The string payload when the value is a string held as bytes.
    pub fn str_bytes(&self) -> Option<&[u8]> {
        match self.value {
            Value::Str { .. } => Some(&self.bytes[self.key_len as usize..]),
            Value::Int(_) => None,
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self.value, Value::Str { .. } | Value::Int(_))
    }

    /// The string value as bytes, formatting an integer on the way. `None` for non-strings.
    pub fn string_value(&self) -> Option<StringValue<'_>> {
        match self.value {
            Value::Str { .. } => Some(StringValue::Bytes(&self.bytes[self.key_len as usize..])),
            Value::Int(n) => Some(StringValue::int(n)),
        }
    }

    pub fn string_len(&self) -> usize {
        match self.value {
            Value::Str { .. } => self.bytes.len() - self.key_len as usize,
            Value::Int(n) => itoa::Buffer::new().format(n).len(),
        }
    }

    /// Replaces the value with a string, choosing the integer encoding when it applies.
    pub fn set_string(&mut self, value: &[u8]) {
        match as_canonical_int(value) {
            Some(n) => self.set_int(n),
            None => {
                self.replace_payload(value);
                self.value = Value::Str { raw: false };
            }
        }
    }

    pub fn set_int(&mut self, n: i64) {
        if self.bytes.len() != self.key_len as usize {
            let key: Box<[u8]> = self.key().into();
            self.bytes = key;
        }
        self.value = Value::Int(n);
    }

    /// Edits the string in place (APPEND, SETRANGE): the closure gets the current bytes to change.
    /// The result keeps the `raw` encoding, as Redis's modified strings do.
    pub fn modify_string(&mut self, edit: impl FnOnce(&mut Vec<u8>)) {
        let mut current = match self.value {
            Value::Str { .. } => self.bytes[self.key_len as usize..].to_vec(),
            Value::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
        };
        edit(&mut current);
        self.replace_payload(&current);
        self.value = Value::Str { raw: true };
    }

    fn replace_payload(&mut self, value: &[u8]) {
        let mut bytes = std::mem::take(&mut self.bytes).into_vec();
        bytes.truncate(self.key_len as usize);
        bytes.extend_from_slice(value);
        self.bytes = bytes.into_boxed_slice();
    }

    /// A copy under another key (RENAME, COPY, MOVE keep value and expiry).
    pub fn clone_with_key(&self, key: &[u8]) -> Box<Entry> {
        let mut bytes = Vec::with_capacity(key.len() + self.bytes.len() - self.key_len as usize);
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(&self.bytes[self.key_len as usize..]);
        Box::new(Entry {
            bytes: bytes.into(),
            key_len: key.len() as u32,
            lru: self.lru,
            expire_at: self.expire_at,
            value: self.value,
        })
    }

    /// Bytes this entry costs the allocator: the box, the key-and-value block and any
    /// out-of-line value. Table slots are counted by the table.
    pub fn memory(&self) -> usize {
        alloc_size(std::mem::size_of::<Entry>()) + alloc_size(self.bytes.len())
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
    }
}
