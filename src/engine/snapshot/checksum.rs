//! CRC32C (Castagnoli), the checksum of a snapshot's header, sections and end marker: the SSE4.2
//! `crc32` instruction where the CPU has it, the `crc` crate's slice-by-16 tables elsewhere (the
//! tables were ~2.7% of a load's CPU, their checks of every section's bytes; docs/notes.md).

static TABLE: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// The unsafe block is a call of a function compiled for SSE4.2, made only once the CPU is known
/// to have it.
#[allow(unsafe_code)]
pub fn crc32c(bytes: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU has SSE4.2, checked just above.
        return unsafe { sse42(bytes) };
    }
    TABLE.checksum(bytes)
}

/// CRC_32_ISCSI as the tables compute it (reflected, initial value and final xor all ones),
/// eight bytes per instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn sse42(bytes: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
    let mut words = bytes.chunks_exact(8);
    let mut crc = u64::from(u32::MAX);
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        crc = _mm_crc32_u64(crc, word);
    }
    let mut crc = crc as u32;
    for &byte in words.remainder() {
        crc = _mm_crc32_u8(crc, byte);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instruction_and_the_tables_agree() {
        // The catalogue's check value of CRC-32/ISCSI.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for len in (0..40).chain([255, 256, 999, 1000]) {
            for start in 0..3.min(bytes.len() - len + 1) {
                let slice = &bytes[start..start + len];
                assert_eq!(
                    crc32c(slice),
                    TABLE.checksum(slice),
                    "{len} bytes at {start}"
                );
            }
        }
    }
}
