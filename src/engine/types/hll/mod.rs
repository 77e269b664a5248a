//! HyperLogLog values, byte for byte Redis 7.0's (`hyperloglog.c`): a HyperLogLog is an ordinary
//! string that GET returns and SET may write, so every byte matters — the same PFADD/PFMERGE
//! sequence must leave the same string here as in Redis, and a string a client wrote must be
//! judged (valid, corrupt, not a HyperLogLog) as Redis judges it.
//!
//! Layout: a 16-byte header — `HYLL`, the encoding (0 dense, 1 sparse), three unused bytes, the
//! cached cardinality as a little-endian u64 whose top bit set means "stale" — then the
//! registers: 16384 of them (14 bits of a MurmurHash64A, seed `0xadc83b19`, pick the register, the
//! run of zeros in the other 50 plus one is its candidate value).
//! - dense: 6 bits per register, packed from the least significant bit of each byte, 12288 bytes;
//! - sparse (`sparse.rs`): run-length opcodes, promoted to dense when a register exceeds 32 or
//!   the string would pass `hll-sparse-max-bytes`.
//!
//! Count: Otmar Ertl's improved estimator over the histogram of register values (Redis 7's),
//! evaluated in the same order of floating-point operations as Redis so the same registers give
//! the same integer. Costs: an add is O(1) dense, O(sparse length) sparse; a count walks the 16384
//! registers once; merging keys builds one byte per register.

mod sparse;
#[cfg(test)]
mod tests;

pub use sparse::{decode, sparse_set, sparse_to_dense};

/// `HYLL`, encoding, 3 unused bytes, cached cardinality.
pub const HEADER_LEN: usize = 16;
const P: u32 = 14;
/// Bits of the hash left once the register index is taken.
const Q: u32 = 64 - P;
pub const REGISTERS: usize = 1 << P;
const REGISTER_BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << REGISTER_BITS) - 1;
/// A dense HyperLogLog is exactly this long.
pub const DENSE_LEN: usize = HEADER_LEN + (REGISTERS * REGISTER_BITS).div_ceil(8);
const MAGIC: &[u8; 4] = b"HYLL";
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
/// Redis's `hll-sparse-max-bytes` default.
pub const SPARSE_MAX_BYTES: usize = 3000;
const SEED: u64 = 0xadc8_3b19;
/// 0.5 / ln(2): the estimator's constant for an infinite number of registers.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The representation of a HyperLogLog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Dense,
    Sparse,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Dense => "dense",
            Encoding::Sparse => "sparse",
        }
    }
}

/// The registers of a sparse HyperLogLog do not add up to 16384 (Redis's `INVALIDOBJ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// The encoding of `value` if Redis would take it for a HyperLogLog (`isHLLObjectOrReply`): at
/// least a header, the magic, a known encoding, and exactly `DENSE_LEN` bytes when dense. The
/// sparse registers are not checked here: commands find out when they walk them.
pub fn encoding_of(value: &[u8]) -> Option<Encoding> {
    if value.len() < HEADER_LEN || &value[..4] != MAGIC {
        return None;
    }
    match value[4] {
        DENSE if value.len() == DENSE_LEN => Some(Encoding::Dense),
        SPARSE => Some(Encoding::Sparse),
        _ => None,
    }
}

/// An empty HyperLogLog as PFADD and PFMERGE create it: sparse, one XZERO run of 16384.
pub fn new_sparse() -> Vec<u8> {
    let mut value = vec![0u8; HEADER_LEN];
    value[..4].copy_from_slice(MAGIC);
    value[4] = SPARSE;
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(sparse::XZERO_MAX_LEN);
        value.extend_from_slice(&sparse::xzero(run));
        left -= run;
    }
    value
}

/// MurmurHash2, 64-bit version (`MurmurHash64A`), reading 8-byte blocks little endian whatever
/// the machine, as Redis does.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in blocks.by_ref() {
        let mut k = u64::from_le_bytes(block.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= (byte as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element falls in, and the value it offers it: the position of the first 1 bit
/// in the hash above the index bits (1 to Q + 1).
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Register `index` of dense registers (the bytes after the header). The last register's second
/// byte is past the end: Redis reads the string's terminating zero there.
pub fn dense_get(registers: &[u8], index: usize) -> u8 {
    let bit = index * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let b0 = registers.get(byte).copied().unwrap_or(0) as u16;
    let b1 = registers.get(byte + 1).copied().unwrap_or(0) as u16;
    (((b0 >> shift) | (b1 << (8 - shift))) & REGISTER_MAX as u16) as u8
}

/// Sets register `index` of dense registers to `value` (at most 63).
pub fn dense_set(registers: &mut [u8], index: usize, value: u8) {
    let bit = index * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let wide = (value as u16) << shift;
    let mask = (REGISTER_MAX as u16) << shift;
    registers[byte] = (registers[byte] & !(mask as u8)) | wide as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        *next = (*next & !((mask >> 8) as u8)) | (wide >> 8) as u8;
    }
}

/// Calls `f(index, value)` for every register of dense registers, in order: four registers from
/// each three bytes, without the per-register shifts of `dense_get` (PFCOUNT and merges read all
/// 16384).
fn for_each_dense(registers: &[u8], mut f: impl FnMut(usize, u8)) {
    let mask = REGISTER_MAX;
    for (group, bytes) in registers.chunks_exact(3).take(REGISTERS / 4).enumerate() {
        let (b0, b1, b2) = (bytes[0], bytes[1], bytes[2]);
        let index = group * 4;
        f(index, b0 & mask);
        f(index + 1, (b0 >> 6 | b1 << 2) & mask);
        f(index + 2, (b1 >> 4 | b2 << 4) & mask);
        f(index + 3, b2 >> 2);
    }
}

/// Raises a dense register to `value`; whether it changed.
fn dense_raise(registers: &mut [u8], index: usize, value: u8) -> bool {
    if value > dense_get(registers, index) {
        dense_set(registers, index, value);
        true
    } else {
        false
    }
}

/// Adds an element to a dense HyperLogLog in place (`value` is the whole string). Whether a
/// register changed; the caller invalidates the cached count.
pub fn dense_add(value: &mut [u8], element: &[u8]) -> bool {
    let (index, count) = pattern(element);
    dense_raise(&mut value[HEADER_LEN..], index, count)
}

/// Adds an element to a HyperLogLog of either encoding (a sparse one may become dense). Whether
/// a register changed.
pub fn add(value: &mut Vec<u8>, element: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(element);
    set_register(value, index, count, sparse_max)
}

/// Raises register `index` to `count` in either encoding (PFADD, PFMERGE).
pub fn set_register(
    value: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_max: usize,
) -> Result<bool, Corrupt> {
    match value.get(4) {
        Some(&DENSE) => Ok(dense_raise(&mut value[HEADER_LEN..], index, count)),
        _ => sparse_set(value, index, count, sparse_max),
    }
}

/// The cached cardinality, when it is valid.
pub fn cached(value: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(value.get(8..16)?.try_into().ok()?);
    (card >> 63 == 0).then_some(card)
}

pub fn set_cached(value: &mut [u8], card: u64) {
    value[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Marks the cached cardinality stale (the top bit of its last byte).
pub fn invalidate_cached(value: &mut [u8]) {
    value[15] |= 0x80;
}

/// How many registers hold each value (values above 63 cannot occur).
pub type Histogram = [u32; 64];

/// The histogram of a HyperLogLog's registers; `Corrupt` when sparse runs do not cover exactly
/// 16384 registers.
pub fn histogram(value: &[u8]) -> Result<Histogram, Corrupt> {
    let registers = &value[HEADER_LEN..];
    let mut histogram = [0u32; 64];
    if value[4] == DENSE {
        for_each_dense(registers, |_, register| histogram[register as usize] += 1);
        return Ok(histogram);
    }
    let mut covered = 0usize;
    sparse::walk(registers, |run, value| {
        histogram[value as usize] += run as u32;
        covered += run;
        true
    });
    if covered == REGISTERS {
        Ok(histogram)
    } else {
        Err(Corrupt)
    }
}

/// Ertl's sigma function (arXiv:1702.01284), iterated until it stops changing.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

/// Ertl's tau function, likewise.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// The estimated cardinality for a histogram of register values (Redis 7's `hllCount`).
pub fn estimate(histogram: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - histogram[q + 1] as f64) / m);
    for j in (1..=q).rev() {
        z += histogram[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histogram[0] as f64 / m);
    // Rounded half away from zero, as llroundl; an infinite z gives 0.
    (ALPHA_INF * m * m / z).round() as u64
}

/// The cardinality of a HyperLogLog, ignoring its cache.
pub fn count(value: &[u8]) -> Result<u64, Corrupt> {
    histogram(value).map(|h| estimate(&h))
}

/// Registers as one byte each, for merging several HyperLogLogs (PFCOUNT of many keys, PFMERGE).
pub type Registers = [u8; REGISTERS];

/// Raises each of `max` to the register of `value`. A sparse value is checked as it is read
/// (runs must cover the 16384 registers exactly, none passing the last); `max` may be partly
/// updated when it turns out corrupt.
pub fn merge_into(max: &mut Registers, value: &[u8]) -> Result<(), Corrupt> {
    let registers = &value[HEADER_LEN..];
    if value[4] == DENSE {
        for_each_dense(registers, |index, register| {
            max[index] = max[index].max(register);
        });
        return Ok(());
    }
    let mut index = 0usize;
    let complete = sparse::walk(registers, |run, value| {
        if index + run > REGISTERS {
            return false;
        }
        if value > 0 {
            for slot in &mut max[index..index + run] {
                *slot = (*slot).max(value);
            }
        }
        index += run;
        true
    });
    if complete && index == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// The cardinality of merged registers.
pub fn count_registers(max: &Registers) -> u64 {
    let mut histogram = [0u32; 64];
    for &value in max.iter() {
        histogram[(value & 63) as usize] += 1;
    }
    estimate(&histogram)
}
