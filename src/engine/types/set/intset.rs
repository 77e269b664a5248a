//! Redis's `intset`: distinct integers kept sorted in one buffer, each in the narrowest width (2, 4
//! or 8 bytes) that holds every member. Lookups are binary searches; an insert or removal moves
//! the tail, which is cheap at the sizes the encoding is used for (`set-max-intset-entries`, 512
//! by default). The buffer is sized exactly, as Redis reallocates an intset on every change, so a
//! small set costs little more than its payload.

use crate::engine::memory::alloc_size;

#[derive(Debug, Clone)]
pub struct IntSet {
    bytes: Vec<u8>,
    /// Bytes per member: 2, 4 or 8.
    width: u8,
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet {
            bytes: Vec::new(),
            width: 2,
        }
    }
}

/// The narrowest width that holds `value`.
fn width_for(value: i64) -> u8 {
    if i16::try_from(value).is_ok() {
        2
    } else if i32::try_from(value).is_ok() {
        4
    } else {
        8
    }
}

fn read(chunk: &[u8]) -> i64 {
    match *chunk {
        [a, b] => i16::from_le_bytes([a, b]) as i64,
        [a, b, c, d] => i32::from_le_bytes([a, b, c, d]) as i64,
        [a, b, c, d, e, f, g, h] => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => 0,
    }
}

impl IntSet {
    pub fn len(&self) -> usize {
        self.bytes.len() / self.width as usize
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Bytes the allocator holds for the buffer.
    pub fn memory(&self) -> usize {
        alloc_size(self.bytes.capacity())
    }

    pub fn get(&self, index: usize) -> Option<i64> {
        let width = self.width as usize;
        let start = index.checked_mul(width)?;
        self.bytes.get(start..start + width).map(read)
    }

    /// Members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.bytes.chunks_exact(self.width as usize).map(read)
    }

    /// `Ok(position)` of `value`, or `Err(position)` where it would go.
    fn search(&self, value: i64) -> Result<usize, usize> {
        if width_for(value) > self.width {
            // Wider than every member: below all of them or above all of them.
            return Err(if value < 0 { 0 } else { self.len() });
        }
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            let current = self.get(middle).unwrap_or(0);
            match current.cmp(&value) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Ok(middle),
            }
        }
        Err(low)
    }

    pub fn contains(&self, value: i64) -> bool {
        self.search(value).is_ok()
    }

    /// Adds `value`; false when it was already a member.
    pub fn insert(&mut self, value: i64) -> bool {
        let at = match self.search(value) {
            Ok(_) => return false,
            Err(at) => at,
        };
        let needed = width_for(value);
        if needed > self.width {
            self.widen(needed);
        }
        let width = self.width as usize;
        self.bytes.reserve_exact(width);
        let encoded = value.to_le_bytes();
        self.bytes
            .splice(at * width..at * width, encoded[..width].iter().copied());
        true
    }

    /// Removes `value`; false when it was not a member.
    pub fn remove(&mut self, value: i64) -> bool {
        let Ok(at) = self.search(value) else {
            return false;
        };
        let width = self.width as usize;
        self.bytes.drain(at * width..(at + 1) * width);
        // Give memory back when the allocation would drop a size class, as Redis's realloc does.
        if alloc_size(self.bytes.len()) < alloc_size(self.bytes.capacity()) {
            self.bytes.shrink_to_fit();
        }
        true
    }

    fn widen(&mut self, width: u8) {
        let mut wider = Vec::with_capacity(self.len() * width as usize + width as usize);
        for value in self.iter() {
            wider.extend_from_slice(&value.to_le_bytes()[..width as usize]);
        }
        self.bytes = wider;
        self.width = width;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_sorted_distinct_members_and_widens() {
        let mut set = IntSet::default();
        assert!(set.insert(5));
        assert!(set.insert(-3));
        assert!(!set.insert(5));
        assert_eq!(set.width, 2);
        assert!(set.insert(70_000));
        assert_eq!(set.width, 4);
        assert!(set.insert(i64::MIN));
        assert_eq!(set.width, 8);
        assert!(set.insert(i64::MAX));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [i64::MIN, -3, 5, 70_000, i64::MAX]
        );
        assert!(set.contains(-3));
        assert!(!set.contains(4));
        assert!(!set.contains(1 << 40));
        assert!(set.remove(i64::MIN));
        assert!(!set.remove(i64::MIN));
        assert_eq!(set.get(0), Some(-3));
        assert_eq!(set.get(4), None);
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn wider_values_than_the_encoding_are_not_members() {
        let mut set = IntSet::default();
        set.insert(1);
        assert!(!set.contains(1 << 20));
        assert!(!set.contains(-(1 << 40)));
        assert!(!set.remove(1 << 20));
    }

    #[test]
    fn buffer_is_sized_to_the_payload() {
        let mut set = IntSet::default();
        for value in 0..100 {
            set.insert(value);
        }
        assert_eq!(set.memory(), alloc_size(200));
        for value in 0..90 {
            set.remove(value);
        }
        assert_eq!(set.memory(), alloc_size(20));
    }
}
