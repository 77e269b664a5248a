//! The compact blobs a dump carries: Redis's listpack (lists, small hashes and sorted sets) and
//! intset (small sets of integers), written as Redis 7.0 writes them; and, read only, the ziplist
//! and zipmap that RDB files of older Redis versions still hold. Read with every length checked,
//! since a payload comes from a client.

use super::DumpError;
use crate::engine::entry::as_canonical_int;

const EOF: u8 = 0xFF;
const HEADER: usize = 6;

pub fn encode_listpack<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = vec![0; HEADER];
    let mut count = 0usize;
    for item in items {
        let start = out.len();
        match as_canonical_int(item) {
            Some(n) => put_int(&mut out, n),
            None => put_str(&mut out, item),
        }
        let entry_len = out.len() - start;
        put_backlen(&mut out, entry_len);
        count += 1;
    }
    out.push(EOF);
    let total = out.len() as u32;
    out[..4].copy_from_slice(&total.to_le_bytes());
    // Redis writes 65535 when the count does not fit and counts by walking instead.
    let count = u16::try_from(count).unwrap_or(u16::MAX);
    out[4..6].copy_from_slice(&count.to_le_bytes());
    out
}

fn put_int(out: &mut Vec<u8>, n: i64) {
    if (0..=127).contains(&n) {
        out.push(n as u8);
    } else if (-4096..=4095).contains(&n) {
        let v = (n as u16) & 0x1FFF;
        out.extend_from_slice(&[0xC0 | (v >> 8) as u8, v as u8]);
    } else if let Ok(v) = i16::try_from(n) {
        out.push(0xF1);
        out.extend_from_slice(&v.to_le_bytes());
    } else if (-(1 << 23)..(1 << 23)).contains(&n) {
        out.push(0xF2);
        out.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
    } else if let Ok(v) = i32::try_from(n) {
        out.push(0xF3);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        out.push(0xF4);
        out.extend_from_slice(&n.to_le_bytes());
    }
}

fn put_str(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if len < 64 {
        out.push(0x80 | len as u8);
    } else if len < 4096 {
        out.extend_from_slice(&[0xE0 | (len >> 8) as u8, len as u8]);
    } else {
        out.push(0xF0);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    }
    out.extend_from_slice(bytes);
}

/// The entry's length again after it, in 7-bit groups, so the list can be walked backwards.
fn put_backlen(out: &mut Vec<u8>, len: usize) {
    let len = len as u64;
    if len <= 127 {
        out.push(len as u8);
        return;
    }
    let groups = match len {
        0..16383 => 2,
        16383..2097151 => 3,
        2097151..268435455 => 4,
        _ => 5,
    };
    for i in (0..groups).rev() {
        let group = ((len >> (7 * i)) & 127) as u8;
        out.push(if i == groups - 1 { group } else { group | 128 });
    }
}

fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..16383 => 2,
        16383..2097151 => 3,
        2097151..268435455 => 4,
        _ => 5,
    }
}

/// Every entry of a listpack, integers as their decimal digits.
pub fn decode_listpack(blob: &[u8]) -> Result<Vec<Vec<u8>>, DumpError> {
    if blob.len() < HEADER + 1 {
        return Err(DumpError);
    }
    let total = u32::from_le_bytes(blob[..4].try_into().unwrap()) as usize;
    if total != blob.len() || blob[total - 1] != EOF {
        return Err(DumpError);
    }
    let count = u16::from_le_bytes(blob[4..6].try_into().unwrap());
    let mut items = Vec::new();
    let mut at = HEADER;
    while blob[at] != EOF {
        let rest = &blob[at..total - 1];
        let (item, used) = decode_entry(rest)?;
        let backlen = backlen_size(used);
        if used + backlen > rest.len() {
            return Err(DumpError);
        }
        items.push(item);
        at += used + backlen;
    }
    if count != u16::MAX && count as usize != items.len() {
        return Err(DumpError);
    }
    Ok(items)
}

/// One entry's value and the bytes its encoding and data take.
fn decode_entry(rest: &[u8]) -> Result<(Vec<u8>, usize), DumpError> {
    let get = |range: std::ops::Range<usize>| rest.get(range).ok_or(DumpError);
    let first = rest[0];
    let int = |n: i64| itoa::Buffer::new().format(n).as_bytes().to_vec();
    Ok(match first {
        0x00..=0x7F => (int(first as i64), 1),
        0x80..=0xBF => {
            let len = (first & 0x3F) as usize;
            (get(1..1 + len)?.to_vec(), 1 + len)
        }
        0xC0..=0xDF => {
            let raw = (((first & 0x1F) as u16) << 8) | get(1..2)?[0] as u16;
            // Sign-extend the 13-bit value.
            let n = ((raw << 3) as i16 >> 3) as i64;
            (int(n), 2)
        }
        0xE0..=0xEF => {
            let len = (((first & 0x0F) as usize) << 8) | get(1..2)?[0] as usize;
            (get(2..2 + len)?.to_vec(), 2 + len)
        }
        0xF0 => {
            let len = u32::from_le_bytes(get(1..5)?.try_into().unwrap()) as usize;
            (
                get(5..5usize.checked_add(len).ok_or(DumpError)?)?.to_vec(),
                5 + len,
            )
        }
        0xF1 => (
            int(i16::from_le_bytes(get(1..3)?.try_into().unwrap()) as i64),
            3,
        ),
        0xF2 => {
            let b = get(1..4)?;
            let n = (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as i64;
            (int(n), 4)
        }
        0xF3 => (
            int(i32::from_le_bytes(get(1..5)?.try_into().unwrap()) as i64),
            5,
        ),
        0xF4 => (int(i64::from_le_bytes(get(1..9)?.try_into().unwrap())), 9),
        _ => return Err(DumpError),
    })
}

/// Every entry of a ziplist (Redis before 7.0: small lists, quicklist nodes, small hashes and
/// sorted sets), integers as their decimal digits. Each entry's length of the previous entry is
/// checked, as Redis's `ziplistValidateIntegrity` does.
pub fn decode_ziplist(blob: &[u8]) -> Result<Vec<Vec<u8>>, DumpError> {
    const ZIPLIST_HEADER: usize = 10;
    if blob.len() < ZIPLIST_HEADER + 1 {
        return Err(DumpError);
    }
    let total = u32::from_le_bytes(blob[..4].try_into().unwrap()) as usize;
    if total != blob.len() || blob[total - 1] != EOF {
        return Err(DumpError);
    }
    let count = u16::from_le_bytes(blob[8..10].try_into().unwrap());
    let end = total - 1;
    let mut items = Vec::new();
    let mut at = ZIPLIST_HEADER;
    let mut previous = 0;
    while at < end {
        let rest = &blob[at..end];
        let get = |range: std::ops::Range<usize>| rest.get(range).ok_or(DumpError);
        let (prevlen, mut used) = match rest[0] {
            0..=253 => (rest[0] as usize, 1),
            254 => (
                u32::from_le_bytes(get(1..5)?.try_into().unwrap()) as usize,
                5,
            ),
            _ => return Err(DumpError),
        };
        if prevlen != previous {
            return Err(DumpError);
        }
        let encoding = get(used..used + 1)?[0];
        used += 1;
        let int = |n: i64| itoa::Buffer::new().format(n).as_bytes().to_vec();
        let mut fixed = |width: usize| advance(rest, &mut used, width);
        let item = match encoding {
            0x00..=0x3F => fixed((encoding & 0x3F) as usize)?.to_vec(),
            0x40..=0x7F => {
                let low = fixed(1)?[0] as usize;
                fixed((((encoding & 0x3F) as usize) << 8) | low)?.to_vec()
            }
            0x80 => {
                let len = u32::from_be_bytes(fixed(4)?.try_into().unwrap()) as usize;
                fixed(len)?.to_vec()
            }
            0xC0 => int(i16::from_le_bytes(fixed(2)?.try_into().unwrap()) as i64),
            0xD0 => int(i32::from_le_bytes(fixed(4)?.try_into().unwrap()) as i64),
            0xE0 => int(i64::from_le_bytes(fixed(8)?.try_into().unwrap())),
            0xF0 => {
                let b = fixed(3)?;
                int((i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as i64)
            }
            0xFE => int(fixed(1)?[0] as i8 as i64),
            0xF1..=0xFD => int((encoding & 0x0F) as i64 - 1),
            _ => return Err(DumpError),
        };
        items.push(item);
        previous = used;
        at += used;
    }
    if count != u16::MAX && count as usize != items.len() {
        return Err(DumpError);
    }
    Ok(items)
}

fn advance<'a>(bytes: &'a [u8], at: &mut usize, width: usize) -> Result<&'a [u8], DumpError> {
    let end = at.checked_add(width).ok_or(DumpError)?;
    let slice = bytes.get(*at..end).ok_or(DumpError)?;
    *at = end;
    Ok(slice)
}

/// Field, value, field, value... of a zipmap (hashes of Redis before 2.6, still loaded by 7.0):
/// lengths of one byte, or 254 and four little-endian bytes; after each value's length a count
/// of unused bytes that follow the value.
pub fn decode_zipmap(blob: &[u8]) -> Result<Vec<Vec<u8>>, DumpError> {
    let mut at = 1;
    let mut items = Vec::new();
    let get = |range: std::ops::Range<usize>| blob.get(range).ok_or(DumpError);
    let len = |at: &mut usize| -> Result<Option<usize>, DumpError> {
        let first = get(*at..*at + 1)?[0];
        *at += 1;
        Ok(match first {
            0..=253 => Some(first as usize),
            254 => {
                let len = u32::from_le_bytes(get(*at..*at + 4)?.try_into().unwrap());
                *at += 4;
                Some(len as usize)
            }
            _ => None,
        })
    };
    while let Some(key_len) = len(&mut at)? {
        items.push(get(at..at.checked_add(key_len).ok_or(DumpError)?)?.to_vec());
        at += key_len;
        let value_len = len(&mut at)?.ok_or(DumpError)?;
        let free = get(at..at + 1)?[0] as usize;
        at += 1;
        items.push(get(at..at.checked_add(value_len).ok_or(DumpError)?)?.to_vec());
        at += value_len + free;
    }
    if at != blob.len() {
        return Err(DumpError);
    }
    Ok(items)
}

/// An intset of sorted, distinct integers in the smallest width that holds them all.
pub fn encode_intset(values: &mut [i64]) -> Vec<u8> {
    values.sort_unstable();
    let width: u32 = if values.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if values.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + values.len() * width as usize);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &v in values.iter() {
        out.extend_from_slice(&v.to_le_bytes()[..width as usize]);
    }
    out
}

pub fn decode_intset(blob: &[u8]) -> Result<Vec<i64>, DumpError> {
    if blob.len() < 8 {
        return Err(DumpError);
    }
    let width = u32::from_le_bytes(blob[..4].try_into().unwrap()) as usize;
    let len = u32::from_le_bytes(blob[4..8].try_into().unwrap()) as usize;
    if !matches!(width, 2 | 4 | 8) || Some(blob.len() - 8) != len.checked_mul(width) {
        return Err(DumpError);
    }
    let values: Vec<i64> = blob[8..]
        .chunks_exact(width)
        .map(|c| match width {
            2 => i16::from_le_bytes(c.try_into().unwrap()) as i64,
            4 => i32::from_le_bytes(c.try_into().unwrap()) as i64,
            _ => i64::from_le_bytes(c.try_into().unwrap()),
        })
        .collect();
    // Redis's intsetValidateIntegrity: strictly ascending.
    if values.windows(2).any(|w| w[0] >= w[1]) {
        return Err(DumpError);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_round_trips_every_encoding() {
        let long = vec![b'x'; 5000];
        let medium = vec![b'y'; 300];
        let items: Vec<&[u8]> = vec![
            b"0",
            b"127",
            b"128",
            b"-1",
            b"-4096",
            b"4095",
            b"4096",
            b"-32768",
            b"40000",
            b"-8388608",
            b"8388608",
            b"2147483648",
            b"-9223372036854775808",
            b"012",
            b"",
            b"a",
            &medium,
            &long,
        ];
        let blob = encode_listpack(items.iter().copied());
        let back = decode_listpack(&blob).unwrap();
        assert_eq!(back, items.iter().map(|i| i.to_vec()).collect::<Vec<_>>());
    }

    #[test]
    fn listpack_bytes_are_redis_bytes() {
        // What Redis 7.0 stores for RPUSH l a 1 (OBJECT ... DEBUG LISTPACK agrees).
        assert_eq!(
            encode_listpack([&b"a"[..], b"1"]),
            [0x0C, 0, 0, 0, 2, 0, 0x81, b'a', 2, 0x01, 1, 0xFF]
        );
    }

    #[test]
    fn damaged_listpacks_are_errors() {
        let blob = encode_listpack([&b"hello"[..], b"1000"]);
        for cut in 0..blob.len() {
            assert!(decode_listpack(&blob[..cut]).is_err(), "cut at {cut}");
        }
        let mut wrong_count = blob.clone();
        wrong_count[4] = 3;
        assert!(decode_listpack(&wrong_count).is_err());
    }

    #[test]
    fn ziplist_entries_of_every_encoding() {
        // A Redis 6 ziplist of "a", 12, 300, -70000 (int24), 5000000000 (int64), -2 (int8),
        // built by hand from ziplist.c's layout: prevlen, encoding, data.
        let entries: Vec<Vec<u8>> = vec![
            vec![0x01, b'a'],
            vec![0xFD],
            [&[0xC0u8][..], &300i16.to_le_bytes()].concat(),
            [&[0xF0u8][..], &(-70000i32).to_le_bytes()[..3]].concat(),
            [&[0xE0u8][..], &5_000_000_000i64.to_le_bytes()].concat(),
            vec![0xFE, (-2i8) as u8],
        ];
        let mut body = Vec::new();
        let mut previous = 0;
        for entry in &entries {
            body.push(previous as u8);
            body.extend_from_slice(entry);
            previous = entry.len() + 1;
        }
        let total = 10 + body.len() + 1;
        let mut blob = Vec::new();
        blob.extend_from_slice(&(total as u32).to_le_bytes());
        blob.extend_from_slice(&0u32.to_le_bytes());
        blob.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        blob.extend_from_slice(&body);
        blob.push(EOF);
        let items = decode_ziplist(&blob).unwrap();
        let expected: Vec<&[u8]> = vec![b"a", b"12", b"300", b"-70000", b"5000000000", b"-2"];
        assert_eq!(items, expected);
        for cut in 0..blob.len() {
            assert!(decode_ziplist(&blob[..cut]).is_err(), "cut at {cut}");
        }
        let mut wrong_prevlen = blob.clone();
        wrong_prevlen[10 + 3] = 9;
        assert!(decode_ziplist(&wrong_prevlen).is_err());
    }

    #[test]
    fn zipmap_pairs_skip_free_bytes() {
        let blob = [1, 1, b'f', 2, 1, b'v', b'1', b'x', 0xFF];
        assert_eq!(decode_zipmap(&blob).unwrap(), [&b"f"[..], b"v1"]);
        assert!(decode_zipmap(&blob[..blob.len() - 1]).is_err());
    }

    #[test]
    fn intset_round_trips_and_rejects_disorder() {
        let mut values = vec![5, -3, 70000];
        let blob = encode_intset(&mut values);
        assert_eq!(decode_intset(&blob).unwrap(), [-3, 5, 70000]);
        let mut unsorted = blob.clone();
        unsorted[8..12].copy_from_slice(&9i32.to_le_bytes());
        assert!(decode_intset(&unsorted).is_err());
        assert!(decode_intset(&blob[..blob.len() - 1]).is_err());
    }
}
