//! The two compact blobs of Redis versions before 7.0 that RDB files and old DUMP payloads still
//! hold, read only: the ziplist (small lists, quicklist nodes, small hashes and sorted sets) and
//! the zipmap (hashes of Redis before 2.6). Read with every length checked, since the bytes come
//! from a client or a file.

use super::DumpError;

const EOF: u8 = 0xFF;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
