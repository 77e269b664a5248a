//! The packed chunk a list is made of: elements stored back to back as `[len][bytes][len
//! reversed]` (LEB128 lengths), so the buffer can be walked from either end, with its capacity
//! kept at jemalloc size classes for `ListValue::memory()`.

use crate::engine::memory::alloc_size;

/// A chunk is split once it holds more than this many bytes (and more than one element).
pub(super) const CHUNK_BYTES: usize = 4096;

/// Elements packed as `[len][bytes][len reversed]` (LEB128 lengths), so the buffer can be walked
/// from either end.
#[derive(Debug, Clone, Default)]
pub(super) struct Chunk {
    pub(super) buf: Vec<u8>,
    pub(super) count: u32,
}

fn varint_len(n: usize) -> usize {
    let mut len = 1;
    let mut n = n >> 7;
    while n > 0 {
        len += 1;
        n >>= 7;
    }
    len
}

pub(super) fn packed_len(element: &[u8]) -> usize {
    element.len() + 2 * varint_len(element.len())
}

/// LEB128 of `n` into `header`; returns the bytes used.
fn encode_len(header: &mut [u8; 10], n: usize) -> usize {
    let mut used = 0;
    let mut n = n;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            header[used] = byte;
            used += 1;
            break;
        }
        header[used] = byte | 0x80;
        used += 1;
    }
    used
}

fn encode_into(out: &mut Vec<u8>, element: &[u8]) {
    let mut header = [0u8; 10];
    let used = encode_len(&mut header, element.len());
    out.extend_from_slice(&header[..used]);
    out.extend_from_slice(element);
    out.extend(header[..used].iter().rev());
}

/// The element starting at `at`: (its bytes' range, the offset after it).
pub(super) fn decode_at(buf: &[u8], at: usize) -> (std::ops::Range<usize>, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut pos = at;
    while let Some(&byte) = buf.get(pos) {
        pos += 1;
        len |= ((byte & 0x7f) as usize) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let start = pos;
    let end = (start + len).min(buf.len());
    (start..end, (end + varint_len(len)).min(buf.len()))
}

/// The element ending at `end`: (its bytes' range, the offset where it starts).
pub(super) fn decode_before(buf: &[u8], end: usize) -> (std::ops::Range<usize>, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut pos = end;
    while pos > 0 {
        pos -= 1;
        let byte = buf[pos];
        len |= ((byte & 0x7f) as usize) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let stop = pos;
    let start = stop.saturating_sub(len);
    (start..stop, start.saturating_sub(varint_len(len)))
}

impl Chunk {
    /// Byte offset of element `index` (or the end when `index == count`).
    pub(super) fn offset_of(&self, index: usize) -> usize {
        let count = self.count as usize;
        if index * 2 <= count {
            let mut at = 0;
            for _ in 0..index {
                at = decode_at(&self.buf, at).1;
            }
            at
        } else {
            let mut at = self.buf.len();
            for _ in index..count {
                at = decode_before(&self.buf, at).1;
            }
            at
        }
    }

    pub(super) fn get(&self, index: usize) -> &[u8] {
        let (range, _) = decode_at(&self.buf, self.offset_of(index));
        &self.buf[range]
    }

    /// Makes room for `extra` more bytes, growing to a jemalloc size class so the capacity we
    /// count is what the allocator holds (and growth stays geometric).
    pub(super) fn reserve(&mut self, extra: usize) {
        let needed = self.buf.len() + extra;
        if needed > self.buf.capacity() {
            self.buf.reserve_exact(alloc_size(needed) - self.buf.len());
        }
    }

    /// Gives capacity back once less than half of it is used.
    pub(super) fn fit(&mut self) {
        let wanted = alloc_size(self.buf.len());
        if self.buf.capacity() > 2 * wanted.max(16) {
            self.buf.shrink_to(wanted);
        }
    }

    pub(super) fn insert_at(&mut self, offset: usize, element: &[u8]) {
        self.reserve(packed_len(element));
        if offset == self.buf.len() {
            encode_into(&mut self.buf, element);
        } else {
            // One move of the tail, then three copies into the gap: `Vec::splice` filled the gap
            // byte by byte through its iterator, 9% of LPUSH's CPU at -P 16.
            let mut header = [0u8; 10];
            let used = encode_len(&mut header, element.len());
            let (len, packed) = (self.buf.len(), 2 * used + element.len());
            self.buf.resize(len + packed, 0);
            self.buf.copy_within(offset..len, offset + packed);
            let gap = &mut self.buf[offset..offset + packed];
            let (front, rest) = gap.split_at_mut(used);
            let (bytes, back) = rest.split_at_mut(element.len());
            front.copy_from_slice(&header[..used]);
            bytes.copy_from_slice(element);
            back.copy_from_slice(&header[..used]);
            back.reverse();
        }
        self.count += 1;
    }

    pub(super) fn remove_at(&mut self, offset: usize) -> Box<[u8]> {
        let (range, next) = decode_at(&self.buf, offset);
        let element: Box<[u8]> = self.buf[range].into();
        if next == self.buf.len() {
            self.buf.truncate(offset);
        } else {
            self.buf.drain(offset..next);
        }
        self.count -= 1;
        self.fit();
        element
    }

    /// Moves the second half of the elements into a new chunk.
    pub(super) fn split_off(&mut self) -> Chunk {
        let keep = self.count as usize / 2;
        let at = self.offset_of(keep);
        let mut tail = Chunk {
            buf: Vec::new(),
            count: self.count - keep as u32,
        };
        tail.reserve(self.buf.len() - at);
        tail.buf.extend_from_slice(&self.buf[at..]);
        self.buf.truncate(at);
        self.count = keep as u32;
        self.fit();
        tail
    }
}
