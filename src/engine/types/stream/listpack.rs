//! Redis's listpack format, byte for byte: a 6-byte header (total bytes, u32 LE; element count,
//! u16 LE, 65535 once unknown), elements, and a 0xFF end byte. An element is its encoding — an
//! integer in the smallest of seven forms, or a string with a 1-, 2- or 5-byte length — followed by
//! a "back length" (the encoding's size in 1 to 5 bytes, read from right to left), so the list can
//! be walked both ways. A string that is a canonical 64-bit integer is stored as that integer, as
//! Redis's `lpStringToInt64` decides.
//!
//! Stream nodes are listpacks so that their sizes are Redis's to the byte: `stream-node-max-bytes`
//! then closes a node exactly where Redis closes it, which decides what `XTRIM ~` removes.

pub const HEADER: usize = 6;
const EOF: u8 = 0xFF;
/// The element count a listpack stops counting at.
const COUNT_UNKNOWN: u16 = u16::MAX;

/// An element as read: listpacks give integers back as integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    /// The integer an element holds (stream metadata is always integer-encoded).
    pub fn int(self) -> i64 {
        match self {
            Elem::Int(v) => v,
            Elem::Str(s) => crate::protocol::parse_i64(s).unwrap_or(0),
        }
    }

    /// Appends the element's bytes (an integer in decimal) to `out`.
    pub fn write_to(self, out: &mut Vec<u8>) {
        match self {
            Elem::Int(v) => out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
            Elem::Str(s) => out.extend_from_slice(s),
        }
    }

    pub fn to_vec(self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

/// The integer a string element is stored as (`lpStringToInt64`: canonical decimal, at most 20
/// bytes, no `-0`, no leading zero).
fn as_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    crate::protocol::parse_i64(s)
}

/// Bytes of an integer's encoding (without the back length).
fn int_encoding_len(v: i64) -> usize {
    match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    }
}

fn str_encoding_len(len: usize) -> usize {
    match len {
        0..=63 => 1 + len,
        64..=4095 => 2 + len,
        _ => 5 + len,
    }
}

/// Bytes of the back length of an element whose encoding takes `len` bytes (`lpEncodeBacklen`).
fn backlen_len(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// Bytes an integer element takes, back length included.
pub fn int_size(v: i64) -> usize {
    let len = int_encoding_len(v);
    len + backlen_len(len)
}

/// Bytes a string element takes, back length included (as an integer when it is one).
pub fn str_size(s: &[u8]) -> usize {
    let len = match as_int(s) {
        Some(v) => int_encoding_len(v),
        None => str_encoding_len(s.len()),
    };
    len + backlen_len(len)
}

fn encode_int(out: &mut Vec<u8>, v: i64) -> usize {
    let start = out.len();
    match int_encoding_len(v) {
        1 => out.push(v as u8),
        2 => {
            let u = if v < 0 { (1i64 << 13) + v } else { v } as u64;
            out.push(((u >> 8) as u8) | 0xC0);
            out.push(u as u8);
        }
        3 => {
            out.push(0xF1);
            out.extend_from_slice(&(v as i16).to_le_bytes());
        }
        4 => {
            let u = if v < 0 { (1i64 << 24) + v } else { v } as u32;
            out.push(0xF2);
            out.extend_from_slice(&u.to_le_bytes()[..3]);
        }
        5 => {
            out.push(0xF3);
            out.extend_from_slice(&(v as i32).to_le_bytes());
        }
        _ => {
            out.push(0xF4);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.len() - start
}

fn encode_str(out: &mut Vec<u8>, s: &[u8]) -> usize {
    let len = s.len();
    match len {
        0..=63 => out.push(0x80 | len as u8),
        64..=4095 => {
            out.push(0xE0 | (len >> 8) as u8);
            out.push(len as u8);
        }
        _ => {
            out.push(0xF0);
            out.extend_from_slice(&(len as u32).to_le_bytes());
        }
    }
    out.extend_from_slice(s);
    str_encoding_len(len)
}

fn encode_backlen(out: &mut Vec<u8>, len: usize) {
    let l = len as u64;
    match backlen_len(len) {
        1 => out.push(l as u8),
        2 => out.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]),
        3 => out.extend_from_slice(&[
            (l >> 14) as u8,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
        4 => out.extend_from_slice(&[
            (l >> 21) as u8,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
        _ => out.extend_from_slice(&[
            (l >> 28) as u8,
            ((l >> 21) & 127) as u8 | 128,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
    }
}

/// One integer element, encoded with its back length, appended to `out`.
pub fn encode_int_elem(out: &mut Vec<u8>, v: i64) {
    let len = encode_int(out, v);
    encode_backlen(out, len);
}

/// One string element (an integer when it is one), appended to `out`.
pub fn encode_str_elem(out: &mut Vec<u8>, s: &[u8]) {
    let len = match as_int(s) {
        Some(v) => encode_int(out, v),
        None => encode_str(out, s),
    };
    encode_backlen(out, len);
}

/// An empty listpack with room for `capacity` bytes.
pub fn new(capacity: usize) -> Vec<u8> {
    let mut lp = Vec::with_capacity(capacity.max(HEADER + 1));
    lp.extend_from_slice(&((HEADER + 1) as u32).to_le_bytes());
    lp.extend_from_slice(&0u16.to_le_bytes());
    lp.push(EOF);
    lp
}

/// Offset of the first element (the end byte when there is none).
pub fn first(_lp: &[u8]) -> usize {
    HEADER
}

/// Offset of the end byte.
pub fn end(lp: &[u8]) -> usize {
    lp.len() - 1
}

/// The element at `at` and the offset of the next one (the end byte after the last).
pub fn decode(lp: &[u8], at: usize) -> (Elem<'_>, usize) {
    let b = lp[at];
    let (elem, len) = match b {
        0x00..=0x7F => (Elem::Int(b as i64), 1),
        0x80..=0xBF => {
            let len = (b & 0x3F) as usize;
            (Elem::Str(&lp[at + 1..at + 1 + len]), 1 + len)
        }
        0xC0..=0xDF => {
            let u = (((b & 0x1F) as i64) << 8) | lp[at + 1] as i64;
            let v = if u >= 1 << 12 { u - (1 << 13) } else { u };
            (Elem::Int(v), 2)
        }
        0xE0..=0xEF => {
            let len = (((b & 0x0F) as usize) << 8) | lp[at + 1] as usize;
            (Elem::Str(&lp[at + 2..at + 2 + len]), 2 + len)
        }
        0xF0 => {
            let mut raw = [0u8; 4];
            raw.copy_from_slice(&lp[at + 1..at + 5]);
            let len = u32::from_le_bytes(raw) as usize;
            (Elem::Str(&lp[at + 5..at + 5 + len]), 5 + len)
        }
        0xF1 => (
            Elem::Int(i16::from_le_bytes([lp[at + 1], lp[at + 2]]) as i64),
            3,
        ),
        0xF2 => {
            let u = lp[at + 1] as i64 | (lp[at + 2] as i64) << 8 | (lp[at + 3] as i64) << 16;
            let v = if u >= 1 << 23 { u - (1 << 24) } else { u };
            (Elem::Int(v), 4)
        }
        0xF3 => {
            let mut raw = [0u8; 4];
            raw.copy_from_slice(&lp[at + 1..at + 5]);
            (Elem::Int(i32::from_le_bytes(raw) as i64), 5)
        }
        _ => {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&lp[at + 1..at + 9]);
            (Elem::Int(i64::from_le_bytes(raw)), 9)
        }
    };
    (elem, at + len + backlen_len(len))
}

/// The offset after the element at `at`.
pub fn next(lp: &[u8], at: usize) -> usize {
    decode(lp, at).1
}

/// The offset of the element that ends at `at` (the start of an element, or the end byte).
pub fn prev(lp: &[u8], at: usize) -> usize {
    let mut p = at - 1;
    let mut len = 0usize;
    let mut shift = 0;
    loop {
        len |= ((lp[p] & 127) as usize) << shift;
        if lp[p] & 128 == 0 {
            break;
        }
        shift += 7;
        p -= 1;
    }
    at - backlen_len(len) - len
}

/// Replaces the integer element at `at` with `v` (its size may change); returns the offset after it.
pub fn replace_int(lp: &mut Vec<u8>, at: usize, v: i64) -> usize {
    let old_end = next(lp, at);
    let mut encoded = Vec::with_capacity(10);
    encode_int_elem(&mut encoded, v);
    let new_end = at + encoded.len();
    lp.splice(at..old_end, encoded);
    set_total(lp);
    new_end
}

/// Appends already encoded elements (`count` of them) before the end byte.
pub fn append_encoded(lp: &mut Vec<u8>, encoded: &[u8], count: usize) {
    lp.pop();
    lp.extend_from_slice(encoded);
    lp.push(EOF);
    set_total(lp);
    let mut raw = [0u8; 2];
    raw.copy_from_slice(&lp[4..6]);
    let known = u16::from_le_bytes(raw);
    if known != COUNT_UNKNOWN {
        let total = (known as usize + count).min(COUNT_UNKNOWN as usize) as u16;
        lp[4..6].copy_from_slice(&total.to_le_bytes());
    }
}

fn set_total(lp: &mut [u8]) {
    let total = lp.len() as u32;
    lp[..4].copy_from_slice(&total.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_in_their_smallest_form() {
        let values = [
            0,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            8_388_607,
            -8_388_608,
            i32::MAX as i64,
            i32::MIN as i64,
            i64::MAX,
            i64::MIN,
        ];
        let mut lp = new(0);
        let mut encoded = Vec::new();
        for v in values {
            let before = encoded.len();
            encode_int_elem(&mut encoded, v);
            assert_eq!(encoded.len() - before, int_size(v), "{v}");
        }
        append_encoded(&mut lp, &encoded, values.len());
        let mut at = first(&lp);
        for v in values {
            let (elem, next) = decode(&lp, at);
            assert_eq!(elem, Elem::Int(v));
            assert_eq!(prev(&lp, next), at);
            at = next;
        }
        assert_eq!(at, end(&lp));
        assert_eq!(
            u32::from_le_bytes(lp[..4].try_into().unwrap()) as usize,
            lp.len()
        );
    }

    #[test]
    fn strings_keep_their_bytes_and_sizes_match_the_list_estimate() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let items: Vec<&[u8]> = vec![b"", b"a", b"12", b"-0", b"012", b"-5", &mid, &long];
        let mut encoded = Vec::new();
        for s in &items {
            let before = encoded.len();
            encode_str_elem(&mut encoded, s);
            assert_eq!(encoded.len() - before, str_size(s));
        }
        let mut lp = new(16);
        append_encoded(&mut lp, &encoded, items.len());
        let mut at = first(&lp);
        for s in &items {
            let (elem, next) = decode(&lp, at);
            assert_eq!(elem.to_vec(), s.to_vec());
            assert_eq!(prev(&lp, next), at);
            at = next;
        }
        assert_eq!(lp[4..6], (items.len() as u16).to_le_bytes());
    }

    #[test]
    fn replacing_an_integer_resizes_in_place() {
        let mut lp = new(0);
        let mut encoded = Vec::new();
        encode_int_elem(&mut encoded, 127);
        encode_str_elem(&mut encoded, b"after");
        append_encoded(&mut lp, &encoded, 2);
        let at = first(&lp);
        let after = replace_int(&mut lp, at, 128);
        assert_eq!(decode(&lp, first(&lp)).0, Elem::Int(128));
        assert_eq!(decode(&lp, after).0, Elem::Str(b"after"));
        assert_eq!(
            u32::from_le_bytes(lp[..4].try_into().unwrap()) as usize,
            lp.len()
        );
    }

    #[test]
    fn back_lengths_change_size_where_redis_does() {
        assert_eq!(backlen_len(127), 1);
        assert_eq!(backlen_len(128), 2);
        assert_eq!(backlen_len(16382), 2);
        assert_eq!(backlen_len(16383), 3);
        let s = vec![b'z'; 16378];
        let mut out = Vec::new();
        encode_str_elem(&mut out, &s);
        let lp = {
            let mut lp = new(0);
            append_encoded(&mut lp, &out, 1);
            lp
        };
        assert_eq!(prev(&lp, end(&lp)), first(&lp));
    }
}
