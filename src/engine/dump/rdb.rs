//! The RDB format's primitives, as Redis 7.0 writes and reads them: lengths, strings (plain,
//! integer-encoded, LZF-compressed), binary and textual doubles.

use super::DumpError;

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

pub fn put_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// A string as `rdbSaveRawString` writes it: a short canonical integer in 8, 16 or 32 bits, a
/// string over 20 bytes LZF-compressed when that saves more than 4 bytes, otherwise as is.
pub fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() <= 11 {
        if let Some(n) = crate::engine::entry::as_canonical_int(bytes) {
            if put_int(out, n) {
                return;
            }
        }
    }
    if bytes.len() > 20 {
        if let Some(packed) = super::lzf::compress(bytes) {
            if packed.len() <= bytes.len() - 4 {
                out.push(0xC0 | ENC_LZF);
                put_len(out, packed.len() as u64);
                put_len(out, bytes.len() as u64);
                out.extend_from_slice(&packed);
                return;
            }
        }
    }
    put_len(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// An integer in the smallest of Redis's integer encodings; false when it needs more than 32
/// bits (the caller writes its digits instead).
pub fn put_int(out: &mut Vec<u8>, n: i64) -> bool {
    if let Ok(n) = i8::try_from(n) {
        out.extend_from_slice(&[0xC0 | ENC_INT8, n as u8]);
    } else if let Ok(n) = i16::try_from(n) {
        out.push(0xC0 | ENC_INT16);
        out.extend_from_slice(&n.to_le_bytes());
    } else if let Ok(n) = i32::try_from(n) {
        out.push(0xC0 | ENC_INT32);
        out.extend_from_slice(&n.to_le_bytes());
    } else {
        return false;
    }
    true
}

pub fn put_binary_double(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Where a `Reader` takes its bytes from: a payload in memory, or a file read as it is parsed
/// (`rdb_file.rs`), so the same value decoders serve DUMP payloads and RDB files of any size.
pub trait Source {
    /// The next `n` bytes; an error when fewer are left.
    fn take(&mut self, n: usize) -> Result<&[u8], DumpError>;
    /// An upper bound of the bytes left, which a forged count is checked against.
    fn left(&self) -> u64;
    /// A count said more items than the bytes left can hold: for a file, the file ended early
    /// (Redis calls a truncated file a short read wherever the cut falls).
    fn ran_short(&mut self) {}
}

impl Source for &[u8] {
    fn take(&mut self, n: usize) -> Result<&[u8], DumpError> {
        if n > self.len() {
            return Err(DumpError);
        }
        let (head, rest) = self.split_at(n);
        *self = rest;
        Ok(head)
    }

    fn left(&self) -> u64 {
        self.len() as u64
    }
}

/// Reads the RDB primitives, every length checked against what is left.
pub struct Reader<S> {
    source: S,
    /// Bytes taken so far.
    at: usize,
}

/// A length or one of the special string encodings (`11xxxxxx`).
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<&'a [u8]> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader {
            source: bytes,
            at: 0,
        }
    }
}

impl<S: Source> Reader<S> {
    pub fn from_source(source: S) -> Self {
        Reader { source, at: 0 }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.at
    }

    pub fn is_done(&self) -> bool {
        self.source.left() == 0
    }

    pub fn take(&mut self, n: usize) -> Result<&[u8], DumpError> {
        let bytes = self.source.take(n)?;
        self.at += n;
        Ok(bytes)
    }

    pub fn byte(&mut self) -> Result<u8, DumpError> {
        Ok(self.take(1)?[0])
    }

    fn len_or_encoding(&mut self) -> Result<Len, DumpError> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => Len::Plain((first & 0x3F) as u64),
            1 => Len::Plain((((first & 0x3F) as u64) << 8) | self.byte()? as u64),
            2 => match first {
                0x80 => Len::Plain(u32::from_be_bytes(self.take(4)?.try_into().unwrap()) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.take(8)?.try_into().unwrap())),
                _ => return Err(DumpError),
            },
            _ => Len::Encoded(first & 0x3F),
        })
    }

    pub fn len(&mut self) -> Result<u64, DumpError> {
        match self.len_or_encoding()? {
            Len::Plain(len) => Ok(len),
            Len::Encoded(_) => Err(DumpError),
        }
    }

    /// A count of items that each take at least one byte: more than the bytes left is corrupt,
    /// and checking it first keeps a forged count from reserving memory.
    pub fn count(&mut self) -> Result<usize, DumpError> {
        let count = self.len()?;
        if count > self.source.left() {
            self.source.ran_short();
            return Err(DumpError);
        }
        Ok(count as usize)
    }

    pub fn string(&mut self) -> Result<Vec<u8>, DumpError> {
        match self.len_or_encoding()? {
            Len::Plain(len) => {
                let len = usize::try_from(len).map_err(|_| DumpError)?;
                Ok(self.take(len)?.to_vec())
            }
            Len::Encoded(ENC_INT8) => Ok(digits(self.byte()? as i8 as i64)),
            Len::Encoded(ENC_INT16) => Ok(digits(i16::from_le_bytes(
                self.take(2)?.try_into().unwrap(),
            ) as i64)),
            Len::Encoded(ENC_INT32) => Ok(digits(i32::from_le_bytes(
                self.take(4)?.try_into().unwrap(),
            ) as i64)),
            Len::Encoded(ENC_LZF) => {
                let packed_len = usize::try_from(self.len()?).map_err(|_| DumpError)?;
                let len = usize::try_from(self.len()?).map_err(|_| DumpError)?;
                // LZF expands at most ~100x per byte of input; a larger claim is forged.
                if len == 0 || len > packed_len.saturating_mul(128) {
                    return Err(DumpError);
                }
                let packed = self.take(packed_len)?;
                let bytes = lzf::decompress(packed, len).map_err(|_| DumpError)?;
                if bytes.len() != len {
                    return Err(DumpError);
                }
                Ok(bytes)
            }
            Len::Encoded(_) => Err(DumpError),
        }
    }

    pub fn binary_double(&mut self) -> Result<f64, DumpError> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }

    /// The textual double of the old `zset` type: a length byte (253 nan, 254 +inf, 255 -inf)
    /// then that many ASCII characters.
    pub fn text_double(&mut self) -> Result<f64, DumpError> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            len => {
                let text = std::str::from_utf8(self.take(len as usize)?).map_err(|_| DumpError)?;
                text.trim().parse().map_err(|_| DumpError)
            }
        }
    }
}

fn digits(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip_string(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_string(&mut out, bytes);
        let mut reader = Reader::new(&out);
        let back = reader.string().unwrap();
        assert!(reader.is_done());
        back
    }

    #[test]
    fn strings_round_trip_in_every_encoding() {
        for text in [
            &b""[..],
            b"0",
            b"-1",
            b"127",
            b"-129",
            b"40000",
            b"-2147483648",
            b"2147483648",
            b"012",
            b"hello",
            &[b'a'; 100],
            &[7u8; 20000],
        ] {
            assert_eq!(round_trip_string(text), text);
        }
    }

    #[test]
    fn integers_use_redis_encodings() {
        let mut out = Vec::new();
        put_string(&mut out, b"-1");
        assert_eq!(out, [0xC0, 0xFF]);
        out.clear();
        put_string(&mut out, b"1000");
        assert_eq!(out, [0xC1, 0xE8, 0x03]);
        out.clear();
        put_len(&mut out, 300);
        assert_eq!(out, [0x41, 0x2C]);
    }

    #[test]
    fn forged_lengths_are_errors_not_allocations() {
        assert!(
            Reader::new(&[0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
                .string()
                .is_err()
        );
        assert!(
            Reader::new(&[0xC3, 0x01, 0x81, 0, 0, 0, 0x10, 0, 0, 0, 0, 0])
                .string()
                .is_err()
        );
        assert!(Reader::new(&[0x80, 0, 0, 0, 9]).count().is_err());
        assert!(Reader::new(&[0xC5]).string().is_err());
    }
}
