//! CRC32C (Castagnoli), the checksum of a snapshot's header, sections and end marker. The
//! `crc32c` crate uses the SSE4.2 `crc32` instruction (three streams interleaved) where the CPU
//! has it and tables elsewhere: the `crc` crate's slice-by-16 tables were ~2.7% of a load's CPU,
//! their checks of every section's bytes (docs/notes.md).

pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files written before the crate was used were checked with these tables: they must agree.
    static TABLE: crc::Crc<u32, crc::Table<16>> =
        crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

    #[test]
    fn the_crate_and_the_tables_agree() {
        // The catalogue's check value of CRC-32/ISCSI.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        let bytes: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for len in (0..40).chain([255, 256, 999, 1000, 4999]) {
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
