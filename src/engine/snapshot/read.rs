//! Reading a snapshot file: the prelude, each section checked (CRC32C) and decompressed, its
//! records decoded; and the records each database holds, from the section headers alone.

use std::io::{Read, Seek, SeekFrom};

use super::{
    crc32c, io_error, Header, Record, SnapshotError, CODEC_NONE, CODEC_ZSTD, END, FORMAT_VERSION,
    MAGIC, MAX_SECTION_BYTES, PREALLOCATE_BYTES, SECTION,
};

fn read_u8(input: &mut impl Read) -> Result<u8, SnapshotError> {
    let mut b = [0u8; 1];
    input.read_exact(&mut b).map_err(io_error)?;
    Ok(b[0])
}

fn read_array<const N: usize>(input: &mut impl Read) -> Result<[u8; N], SnapshotError> {
    let mut b = [0u8; N];
    input.read_exact(&mut b).map_err(io_error)?;
    Ok(b)
}

fn read_vec(input: &mut impl Read, len: u64) -> Result<Vec<u8>, SnapshotError> {
    let mut bytes = Vec::new();
    read_into(input, len, &mut bytes)?;
    Ok(bytes)
}

/// Reads `len` bytes into `bytes` (emptied first).
fn read_into(input: &mut impl Read, len: u64, bytes: &mut Vec<u8>) -> Result<(), SnapshotError> {
    if len > MAX_SECTION_BYTES {
        return Err(SnapshotError::Corrupt(format!("a length of {len} bytes")));
    }
    bytes.clear();
    bytes.reserve(len.min(PREALLOCATE_BYTES) as usize);
    input.take(len).read_to_end(bytes).map_err(io_error)?;
    if bytes.len() as u64 != len {
        return Err(SnapshotError::Truncated);
    }
    Ok(())
}

/// Reads the prelude. An empty input, a wrong magic and a future version are told apart, as the
/// operator's remedy differs.
pub fn read_header(input: &mut impl Read) -> Result<Header, SnapshotError> {
    let mut magic = [0u8; 8];
    let mut got = 0;
    while got < magic.len() {
        match input.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(io_error(err)),
        }
    }
    if got == 0 {
        return Err(SnapshotError::Empty);
    }
    if got < magic.len() || &magic != MAGIC {
        return Err(SnapshotError::BadMagic);
    }
    let version = u16::from_le_bytes(read_array(input)?);
    if version > FORMAT_VERSION {
        return Err(SnapshotError::FutureVersion(version));
    }
    let len = u32::from_le_bytes(read_array(input)?);
    let body = read_vec(input, len as u64)?;
    let crc = u32::from_le_bytes(read_array(input)?);
    if crc != crc32c(&body) {
        return Err(SnapshotError::HeaderChecksum);
    }
    rmp_serde::from_slice(&body).map_err(|e| SnapshotError::Corrupt(format!("header: {e}")))
}

/// A section read and checked, still to be decoded.
pub struct Section<'a> {
    pub db: u32,
    pub records: u32,
    /// The msgpack array of records, decompressed.
    pub raw: &'a [u8],
    /// Bytes of the file it took.
    pub file_bytes: u64,
}

impl<'a> Section<'a> {
    /// Decodes the records one by one, each handed to `f` as soon as it is read: a vector of
    /// them all (150 bytes a record, grown by doubling) was copied and read again for nothing.
    /// The count must be the one the section's header states.
    pub fn for_each_record(
        &self,
        f: impl FnMut(Record<'_>) -> Result<(), SnapshotError>,
    ) -> Result<(), SnapshotError> {
        struct Visitor<F> {
            f: F,
            /// What `f` failed with, handed through serde's error as a placeholder.
            failed: Option<SnapshotError>,
        }
        impl<'de, F: FnMut(Record<'de>) -> Result<(), SnapshotError>> serde::de::Visitor<'de>
            for &mut Visitor<F>
        {
            type Value = u64;
            fn expecting(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                out.write_str("an array of records")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
                let mut count = 0;
                while let Some(record) = seq.next_element::<Record<'de>>()? {
                    count += 1;
                    if let Err(err) = (self.f)(record) {
                        self.failed = Some(err);
                        return Err(serde::de::Error::custom("stopped"));
                    }
                }
                Ok(count)
            }
        }
        let mut visitor = Visitor { f, failed: None };
        let mut input = rmp_serde::Deserializer::from_read_ref(self.raw);
        let count = serde::Deserializer::deserialize_seq(&mut input, &mut visitor);
        if let Some(err) = visitor.failed {
            return Err(err);
        }
        let count =
            count.map_err(|e| SnapshotError::Corrupt(format!("records of db {}: {e}", self.db)))?;
        if count != self.records as u64 {
            return Err(SnapshotError::Corrupt(format!(
                "db {} section holds {count} records, its header says {}",
                self.db, self.records
            )));
        }
        Ok(())
    }
}

/// Reads the sections one after the other into buffers it keeps: a section's stored bytes and
/// its records are a few MB each, and fresh buffers cost their page faults again at every
/// section, as a fresh zstd context costs its tables.
pub struct SectionReader {
    stored: Vec<u8>,
    raw: Vec<u8>,
    decompressor: Option<zstd::bulk::Decompressor<'static>>,
    index: u64,
    records_seen: u64,
}

impl Default for SectionReader {
    fn default() -> Self {
        SectionReader::new()
    }
}

impl SectionReader {
    pub fn new() -> Self {
        SectionReader {
            stored: Vec::new(),
            raw: Vec::new(),
            decompressor: None,
            index: 0,
            records_seen: 0,
        }
    }

    /// The next section (`None` at the end marker, after checking its count against the
    /// records of the sections read).
    pub fn next(&mut self, input: &mut impl Read) -> Result<Option<Section<'_>>, SnapshotError> {
        let index = self.index;
        match read_u8(input)? {
            END => {
                let count = read_array::<8>(input)?;
                let crc = u32::from_le_bytes(read_array(input)?);
                if crc != crc32c(&count) {
                    return Err(SnapshotError::SectionChecksum { section: index });
                }
                let count = u64::from_le_bytes(count);
                if count != self.records_seen {
                    return Err(SnapshotError::Corrupt(format!(
                        "the end marker counts {count} records, the sections {}",
                        self.records_seen
                    )));
                }
                Ok(None)
            }
            SECTION => {
                let db = u32::from_le_bytes(read_array(input)?);
                let records = u32::from_le_bytes(read_array(input)?);
                let codec = read_u8(input)?;
                let raw_len = u64::from_le_bytes(read_array(input)?);
                let stored_len = u64::from_le_bytes(read_array(input)?);
                let crc = u32::from_le_bytes(read_array(input)?);
                if raw_len > MAX_SECTION_BYTES {
                    return Err(SnapshotError::Corrupt(format!(
                        "section {index} claims {raw_len} bytes"
                    )));
                }
                read_into(input, stored_len, &mut self.stored)?;
                if crc != crc32c(&self.stored) {
                    return Err(SnapshotError::SectionChecksum { section: index });
                }
                let raw = match codec {
                    CODEC_NONE => &self.stored,
                    CODEC_ZSTD => {
                        self.decompress(raw_len).map_err(|e| {
                            SnapshotError::Corrupt(format!("section {index} decompression: {e}"))
                        })?;
                        &self.raw
                    }
                    other => {
                        return Err(SnapshotError::Corrupt(format!(
                            "section {index} has unknown codec {other}"
                        )))
                    }
                };
                if raw.len() as u64 != raw_len {
                    return Err(SnapshotError::Corrupt(format!(
                        "section {index} decompressed to {} bytes, not {raw_len}",
                        raw.len()
                    )));
                }
                self.index += 1;
                self.records_seen += records as u64;
                Ok(Some(Section {
                    db,
                    records,
                    raw,
                    file_bytes: 1 + 4 + 4 + 1 + 8 + 8 + 4 + stored_len,
                }))
            }
            other => Err(SnapshotError::Corrupt(format!(
                "section {index} starts with byte {other:#04x}"
            ))),
        }
    }

    /// `stored` decompressed into `raw`. Up to `PREALLOCATE_BYTES` in one call into a buffer of
    /// the stated size (a frame that holds more fails, as the buffer cannot take it); past
    /// that streamed, so that memory grows with what the data really holds, not with the
    /// length the file claims.
    fn decompress(&mut self, raw_len: u64) -> std::io::Result<()> {
        self.raw.clear();
        if raw_len <= PREALLOCATE_BYTES {
            self.raw.reserve(raw_len as usize);
            let decompressor = match &mut self.decompressor {
                Some(decompressor) => decompressor,
                none => none.insert(zstd::bulk::Decompressor::new()?),
            };
            decompressor.decompress_to_buffer(&self.stored[..], &mut self.raw)?;
        } else {
            self.raw.reserve(PREALLOCATE_BYTES as usize + 1);
            zstd::stream::read::Decoder::new(&self.stored[..])?
                .take(raw_len + 1)
                .read_to_end(&mut self.raw)?;
        }
        Ok(())
    }
}

/// The fewest bytes of a file a record is counted for when `records_per_db` trusts the counts
/// a file states: a damaged or crafted header claiming billions of records must not size
/// tables for them (a record of a real snapshot takes 10 bytes or more, compressed).
const MIN_RECORD_FILE_BYTES: u64 = 4;

/// How many records each database has in the file, from the section headers alone (each
/// section's data is skipped), for a load that sizes its tables first; no more than a record
/// per `MIN_RECORD_FILE_BYTES` of the file. Databases from `databases` on are not counted (the
/// load refuses them). Checks nothing but the header's checksum: the load checks the rest.
pub fn records_per_db(
    input: &mut (impl Read + Seek),
    databases: usize,
) -> Result<Vec<u64>, SnapshotError> {
    read_header(input)?;
    let mut counts = vec![0u64; databases];
    let mut offset = 0;
    loop {
        match read_u8(input)? {
            SECTION => {
                let db = u32::from_le_bytes(read_array(input)?) as usize;
                let records = u32::from_le_bytes(read_array(input)?);
                // The codec and the raw length, then the stored length and the data's checksum.
                read_array::<9>(input)?;
                let stored_len = u64::from_le_bytes(read_array(input)?);
                read_array::<4>(input)?;
                let skip = i64::try_from(stored_len)
                    .map_err(|_| SnapshotError::Corrupt(format!("a length of {stored_len}")))?;
                offset = input.seek(SeekFrom::Current(skip)).map_err(io_error)?;
                if let Some(count) = counts.get_mut(db) {
                    *count += records as u64;
                }
            }
            _ => {
                let most = offset / MIN_RECORD_FILE_BYTES;
                return Ok(counts.into_iter().map(|c| c.min(most)).collect());
            }
        }
    }
}
