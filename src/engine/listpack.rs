//! Redis's listpack format, byte for byte, the one codec for everything that is a listpack: stream
//! nodes, DUMP/RESTORE payloads, and the size estimate a list converts by.
//!
//! A 6-byte header (total bytes, u32 LE; element count, u16 LE, 65535 once unknown), elements, and
//! a 0xFF end byte. An element is its encoding — an integer in the smallest of seven forms, or a
//! string with a 1-, 2- or 5-byte length — followed by a "back length" (the encoding's size in 1 to
//! 5 bytes, read from right to left), so the list can be walked both ways. A string that is a
//! canonical 64-bit integer is stored as that integer, as Redis's `lpStringToInt64` decides.
//!
//! Two ways to read: `decode`/`next`/`prev` for listpacks cachet built itself (stream nodes), and
//! `elements`/`try_decode` for a client's bytes, where every length is checked and a damaged blob
//! is `None`, never a panic. `decode` is `try_decode` with the invariant asserted, so there is one
//! decoder.

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

    /// The integer an element holds when it is one (Redis's `lpGetIntegerIfValid`: a string of
    /// digits counts too).
    pub fn as_int(self) -> Option<i64> {
        match self {
            Elem::Int(v) => Some(v),
            Elem::Str(s) => as_int(s),
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
    crate::engine::entry::as_canonical_int(s)
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

/// The back length: most significant 7-bit group first, every byte but the first (read last,
/// walking backwards) with its high bit set.
fn encode_backlen(out: &mut Vec<u8>, len: usize) {
    let groups = backlen_len(len);
    for i in (0..groups).rev() {
        let group = ((len as u64 >> (7 * i)) & 127) as u8;
        out.push(if i == groups - 1 { group } else { group | 128 });
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

/// A whole listpack of `items`, as Redis writes one (lists, hashes, sorted sets in a DUMP).
pub fn encode<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut encoded = Vec::new();
    let mut count = 0;
    for item in items {
        encode_str_elem(&mut encoded, item);
        count += 1;
    }
    let mut lp = new(HEADER + encoded.len() + 1);
    append_encoded(&mut lp, &encoded, count);
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

fn le<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    bytes.get(..N)?.try_into().ok()
}

/// The element at `at` and the offset of the next one, every length checked against `lp` and the
/// back length's bytes checked against the encoding's size (Redis's `lpValidateNext`); `None` on
/// any damage, including an end byte at `at`.
pub fn try_decode(lp: &[u8], at: usize) -> Option<(Elem<'_>, usize)> {
    let b = *lp.get(at)?;
    let rest = &lp[at + 1..];
    let str_at = |skip: usize, len: usize| rest.get(skip..skip.checked_add(len)?);
    let (elem, len) = match b {
        0x00..=0x7F => (Elem::Int(b as i64), 1),
        0x80..=0xBF => {
            let len = (b & 0x3F) as usize;
            (Elem::Str(str_at(0, len)?), 1 + len)
        }
        0xC0..=0xDF => {
            let u = (((b & 0x1F) as i64) << 8) | *rest.first()? as i64;
            let v = if u >= 1 << 12 { u - (1 << 13) } else { u };
            (Elem::Int(v), 2)
        }
        0xE0..=0xEF => {
            let len = (((b & 0x0F) as usize) << 8) | *rest.first()? as usize;
            (Elem::Str(str_at(1, len)?), 2 + len)
        }
        0xF0 => {
            let len = u32::from_le_bytes(le(rest)?) as usize;
            (Elem::Str(str_at(4, len)?), 5 + len)
        }
        0xF1 => (Elem::Int(i16::from_le_bytes(le(rest)?) as i64), 3),
        0xF2 => {
            let [b0, b1, b2] = le(rest)?;
            (
                Elem::Int((i32::from_le_bytes([0, b0, b1, b2]) >> 8) as i64),
                4,
            )
        }
        0xF3 => (Elem::Int(i32::from_le_bytes(le(rest)?) as i64), 5),
        0xF4 => (Elem::Int(i64::from_le_bytes(le(rest)?)), 9),
        _ => return None,
    };
    let next = at + len + backlen_len(len);
    // The back length must be there, before the end byte, and say the encoding's size.
    if next >= lp.len() || read_backlen(lp, next)? != (len, backlen_len(len)) {
        return None;
    }
    Some((elem, next))
}

/// The back length that ends just before `at`: (value, bytes it takes).
fn read_backlen(lp: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut len = 0usize;
    for taken in 1..=5 {
        let byte = *lp.get(at.checked_sub(taken)?)?;
        len |= ((byte & 127) as usize) << (7 * (taken - 1));
        if byte & 128 == 0 {
            return Some((len, taken));
        }
    }
    None
}

/// The element at `at` of a listpack cachet built, and the offset of the next one.
pub fn decode(lp: &[u8], at: usize) -> (Elem<'_>, usize) {
    try_decode(lp, at).expect("a listpack cachet built is well formed")
}

/// The offset after the element at `at`.
pub fn next(lp: &[u8], at: usize) -> usize {
    decode(lp, at).1
}

/// The offset of the element that ends at `at` (the start of an element, or the end byte).
pub fn prev(lp: &[u8], at: usize) -> usize {
    let (len, taken) = read_backlen(lp, at).expect("a listpack cachet built is well formed");
    at - taken - len
}

/// The elements of a client's listpack, checked whole as Redis's `lpValidateIntegrity` with deep
/// validation: total bytes, end byte, every element, the count unless unknown. `None` when damaged.
pub fn elements(lp: &[u8]) -> Option<Vec<Elem<'_>>> {
    let total = u32::from_le_bytes(le(lp)?) as usize;
    if total != lp.len() || total < HEADER + 1 || lp[total - 1] != EOF {
        return None;
    }
    let count = u16::from_le_bytes(le(&lp[4..])?);
    let mut items = Vec::new();
    let mut at = HEADER;
    while at < total - 1 {
        let (elem, next) = try_decode(lp, at)?;
        items.push(elem);
        at = next;
    }
    (count == COUNT_UNKNOWN || count as usize == items.len()).then_some(items)
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
    let known = u16::from_le_bytes([lp[4], lp[5]]);
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
        assert_eq!(elements(&lp).unwrap().len(), values.len());
    }

    #[test]
    fn strings_keep_their_bytes_and_sizes_match_the_encoding() {
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
        assert_eq!(lp, encode(items.iter().copied()));
    }

    #[test]
    fn sizes_follow_redis_encodings() {
        assert_eq!(str_size(b"5"), 2);
        assert_eq!(str_size(b"-1"), 3);
        assert_eq!(str_size(b"1000000"), 5);
        assert_eq!(str_size(b"abc"), 5);
        assert_eq!(str_size(b"007"), 5);
        assert_eq!(str_size(&[b'x'; 100]), 103);
    }

    #[test]
    fn bytes_are_redis_bytes() {
        // What Redis 7.0 stores for RPUSH l a 1 (DEBUG LISTPACK agrees).
        assert_eq!(
            encode([&b"a"[..], b"1"]),
            [0x0C, 0, 0, 0, 2, 0, 0x81, b'a', 2, 0x01, 1, 0xFF]
        );
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
        // lpEncodeBacklen: 1 byte to 127, 2 below 16383, 3 below 2097151.
        assert_eq!(backlen_len(127), 1);
        assert_eq!(backlen_len(128), 2);
        assert_eq!(backlen_len(16382), 2);
        assert_eq!(backlen_len(16383), 3);
        assert_eq!(backlen_len(2_097_151), 4);
        for size in [16378, 16379, 20000] {
            let s = vec![b'z'; size];
            let lp = encode([&s[..]]);
            assert_eq!(prev(&lp, end(&lp)), first(&lp), "{size}");
            assert_eq!(elements(&lp).unwrap(), [Elem::Str(&s)]);
        }
    }

    #[test]
    fn damaged_listpacks_are_none_never_a_panic() {
        let blob = encode([&b"hello"[..], b"1000", b"-70000", &[b'q'; 70]]);
        for cut in 0..blob.len() {
            assert!(elements(&blob[..cut]).is_none(), "cut at {cut}");
        }
        let mut wrong_count = blob.clone();
        wrong_count[4] = 3;
        assert!(elements(&wrong_count).is_none());
        // Every single-byte change of an element or its back length is caught or decodes to
        // something; none panics.
        for at in HEADER..blob.len() - 1 {
            for byte in [
                0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xE0, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF,
            ] {
                let mut damaged = blob.clone();
                damaged[at] = byte;
                let _ = elements(&damaged);
                let _ = try_decode(&damaged, at);
            }
        }
        let mut wrong_backlen = blob.clone();
        wrong_backlen[HEADER + 6] = 7;
        assert!(elements(&wrong_backlen).is_none());
        // A length that runs past the end.
        let mut huge = blob;
        huge[HEADER] = 0xF0;
        assert!(elements(&huge).is_none());
    }
}
