//! Loading a snapshot into a keyspace: a reader thread decodes each section into entries grouped
//! by shard (`decode_section`), the calling thread inserts each group under one lock.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

use super::read::{read_header, Section, SectionReader};
use super::{Header, Record, RecordValue, SnapshotError, Totals};
use crate::engine::dump::{self, RestoreLimits, Restored};
use crate::engine::entry::{Entry, Priority};
use crate::engine::shard::LoadedKey;
use crate::engine::types::stream::NodeLimits;
use crate::engine::types::Collection;
use crate::engine::{hash_key, lru_clock, Keyspace, Name};

/// What loading needs from the configuration.
#[derive(Clone, Copy)]
pub struct LoadLimits {
    pub restore: RestoreLimits,
    pub stream: NodeLimits,
    /// `key-load-delay`, honoured by `load_snapshot` only (as Redis's by its RDB load).
    pub key_load_delay: i32,
}

/// Redis's `debugDelay`: `delay` microseconds, or for a negative -n one microsecond with a
/// chance of 1 in n (a sleep shorter than a system call costs, on average).
fn key_load_delay(delay: i32) {
    let micros = match delay {
        0 => return,
        1.. => delay as u64,
        _ => u64::from(fastrand::u32(..delay.unsigned_abs()) == 0),
    };
    if micros > 0 {
        std::thread::sleep(std::time::Duration::from_micros(micros));
    }
}

/// The entry a record describes, with every metadata field but the learned access state (which
/// `DbShard::insert_loaded` applies once the entry is in its table).
pub fn entry_of(record: &Record<'_>, limits: LoadLimits) -> Result<Entry, SnapshotError> {
    let key = &record.key;
    let bad = |what: &str| {
        SnapshotError::Corrupt(format!("key {:?}: {what}", String::from_utf8_lossy(key)))
    };
    let mut entry = match &record.value {
        RecordValue::Str(bytes) => Entry::new_string(key, bytes, 0),
        RecordValue::Raw(bytes) => Entry::new_raw_string(key, bytes, 0),
        RecordValue::Int(n) => Entry::new_int(key, *n, 0),
        RecordValue::Collection {
            payload,
            field_ttls,
        } => {
            // The section's checksum covered the payload's bytes.
            let body = dump::body_of(payload).map_err(|_| bad("value version"))?;
            let collection = match dump::restore(body, limits.restore) {
                Ok(Restored::Collection(collection)) => collection,
                _ => return Err(bad("value encoding")),
            };
            let mut entry = Entry::new_collection(key, collection, 0);
            if !field_ttls.is_empty() {
                let hash = entry
                    .hash_mut()
                    .ok_or_else(|| bad("field TTLs on a non-hash"))?;
                for (field, at) in field_ttls {
                    if !hash.set_field_expire_at(field, *at) {
                        return Err(bad("a TTL for a missing field"));
                    }
                }
            }
            entry
        }
        RecordValue::Stream(stream) => {
            let value = stream.rebuild(limits.stream).map_err(|what| bad(&what))?;
            Entry::new_collection(key, Collection::Stream(Box::new(value)), 0)
        }
    };
    let priority = Priority::ALL
        .get(record.priority as usize)
        .copied()
        .ok_or_else(|| bad("priority"))?;
    let tags: Vec<Name> = record.tags.iter().map(|t| Name::new(t)).collect();
    entry.set_meta(crate::engine::CacheMeta {
        priority,
        cost: record.cost,
        tags: (!tags.is_empty()).then(|| tags.into_boxed_slice()),
    });
    if !record.parents.is_empty() {
        let parents: Vec<Name> = record.parents.iter().map(|p| Name::new(p)).collect();
        entry.replace_parents(parents.into_boxed_slice());
    }
    entry.set_expire_at(record.expire_at);
    entry.set_lfu(record.lfu);
    Ok(entry)
}

impl Keyspace {
    /// Loads a whole snapshot into this keyspace. `expected`: the records of each database the
    /// file holds (`records_per_db`), when known, so that every table is sized once for its
    /// share (`reserve_keys`). `progress` hears the totals after each section. On an error the
    /// keyspace keeps what was loaded before it: the caller decides whether to start empty (it
    /// flushes) or refuse.
    ///
    /// Two threads: another one reads each section (checksum, zstd), decodes its records and
    /// builds their entries grouped by the shard of their key (`decode_section`), with no lock
    /// held, a batch of ~1,000 keys at a time; this one inserts each group under one lock of
    /// its shard, the totals brought in line once per group (`DbShard::insert_loaded_batch`).
    /// The reader is at most one batch ahead (a channel of one). With a memory limit the groups go in one key at a time, the
    /// limit checked after each.
    pub fn load_snapshot(
        &self,
        input: &mut (impl Read + Send),
        limits: LoadLimits,
        expected: Option<&[u64]>,
        mut progress: impl FnMut(&Totals),
    ) -> Result<(Header, Totals), SnapshotError> {
        let header = read_header(input)?;
        let saved: Vec<crate::engine::dictionary::Saved> = header
            .dictionaries
            .iter()
            .map(|(prefix, bytes)| (prefix.to_vec().into(), bytes.to_vec().into()))
            .collect();
        let (_, skipped) = self.dictionaries.restore(&saved);
        if skipped > 0 {
            tracing::warn!(skipped, "snapshot dictionaries not usable, left out");
        }
        // At start the keyspace is empty: a key found while loading came from this file.
        let fresh = self.totals.keys.load(Ordering::Acquire) == 0;
        let limited = self.eviction_settings().has_limit();
        if let Some(expected) = expected {
            for (db, &count) in expected.iter().enumerate() {
                self.reserve_keys(db, count);
            }
        }
        let full = &AtomicBool::new(false);
        let (to_inserter, decoded) = std::sync::mpsc::sync_channel(1);
        let totals = std::thread::scope(|scope| {
            let reader = std::thread::Builder::new()
                .name("cachet-load".into())
                // Owns the sender: the inserter's loop ends when it is dropped.
                .spawn_scoped(scope, move || {
                    let mut sections = SectionReader::new();
                    loop {
                        let decoded = match sections.next(input) {
                            Ok(None) => break,
                            // A closed channel: the inserter stopped on an error it returns.
                            Ok(Some(section)) => self.decode_section(&section, limits, full, |b| {
                                to_inserter.send(Ok(b)).is_ok()
                            }),
                            Err(err) => Err(err),
                        };
                        match decoded {
                            Ok(true) => {}
                            Ok(false) => break,
                            Err(err) => {
                                let _ = to_inserter.send(Err(err));
                                break;
                            }
                        }
                    }
                })
                .map_err(|e| SnapshotError::Io(e.to_string()))?;
            let mut totals = Totals::default();
            for batch in decoded {
                let batch: Decoded = batch?;
                totals.expired += batch.expired;
                totals.skipped += batch.skipped;
                let (db, now) = (batch.db, batch.now);
                for (shard, keys) in batch.shards.into_iter().enumerate() {
                    if keys.is_empty() {
                        continue;
                    }
                    if full.load(Ordering::Relaxed) {
                        totals.skipped += keys.len() as u64;
                    } else if !limited {
                        let count = keys.len() as u64;
                        self.view(&mut self.lock_shard(shard), db, now)
                            .insert_loaded_batch(keys, fresh)
                            .map_err(|key| duplicated(&key, db))?;
                        totals.keys += count;
                    } else if self.load_limited(shard, db, keys, fresh, now, &mut totals)? {
                        full.store(true, Ordering::Relaxed);
                    }
                }
                if batch.file_bytes > 0 {
                    totals.bytes += batch.file_bytes;
                    progress(&totals);
                }
            }
            drop(reader);
            Ok(totals)
        })?;
        Ok((header, totals))
    }

    /// A section's records as entries grouped by the shard of their key, built with no lock
    /// held, handed to `send` a batch at a time (`BATCH_KEYS_PER_SHARD`). Once the keyspace is
    /// `full` they are still decoded (the file must be whole) but not built. False when `send`
    /// refused a batch.
    fn decode_section(
        &self,
        section: &Section<'_>,
        limits: LoadLimits,
        full: &AtomicBool,
        mut send: impl FnMut(Decoded) -> bool,
    ) -> Result<bool, SnapshotError> {
        let db = section.db as usize;
        if db >= self.databases() {
            return Err(SnapshotError::Corrupt(format!(
                "db {db} beyond the {} databases configured",
                self.databases()
            )));
        }
        let now = crate::engine::now_ms();
        let shards = self.shard_count();
        let per_batch = BATCH_KEYS_PER_SHARD * shards;
        let empty = || Decoded {
            db,
            now,
            file_bytes: 0,
            shards: (0..shards).map(|_| Vec::new()).collect(),
            keys: 0,
            expired: 0,
            skipped: 0,
        };
        let mut batch = empty();
        let mut refused = false;
        let decoded = section.for_each_record(|record| {
            key_load_delay(limits.key_load_delay);
            if full.load(Ordering::Relaxed) {
                batch.skipped += 1;
            } else if record.expire_at != 0 && record.expire_at <= now {
                // Its TTL passed while the daemon was down.
                batch.expired += 1;
            } else {
                let hash = hash_key(&record.key);
                batch.shards[self.shard_of_hash(hash)].push(LoadedKey {
                    hash,
                    entry: entry_of(&record, limits)?,
                    lru: lru_clock(now.saturating_sub(record.idle as u64 * 1000)),
                    sketch: record.sketch,
                });
                batch.keys += 1;
                if batch.keys == per_batch && !send(std::mem::replace(&mut batch, empty())) {
                    refused = true;
                    return Err(SnapshotError::Io("the inserter stopped".into()));
                }
            }
            Ok(())
        });
        if refused {
            return Ok(false);
        }
        decoded?;
        batch.file_bytes = section.file_bytes;
        Ok(send(batch))
    }

    /// Sizes each shard's table of database `db` for its share of `count` more keys at once
    /// (a load that knows how many it brings: a snapshot's section headers, an RDB file's
    /// `RESIZEDB`, as Redis sizes its tables), so that none is rehashed as it fills: a rehash
    /// reads every entry's key again, a cache miss each. A share is a binomial draw: the mean
    /// and four standard deviations, which a table holds without a rehash but in about one
    /// load of 30,000. Not under a memory limit, which the reserved slots would count against.
    pub fn reserve_keys(&self, db: usize, count: u64) {
        if count == 0 || db >= self.databases() || self.eviction_settings().has_limit() {
            return;
        }
        let mean = count as f64 / self.shard_count() as f64;
        let share = (mean + 4.0 * mean.sqrt()).ceil() as usize + 8;
        let now = crate::engine::now_ms();
        for shard in 0..self.shard_count() {
            self.view(&mut self.lock_shard(shard), db, now)
                .reserve(share);
        }
    }

    /// Inserts one shard's group of keys one at a time under a memory limit: the policy makes
    /// room with what it restored of each key's value. Where it may evict nothing, the key that
    /// crossed the limit goes, with the slots its table grew for it (else the load ends over the
    /// limit by them: 84 B for a table's first key), and so do the rest, as an RDB import.
    /// Returns whether the keyspace is full.
    fn load_limited(
        &self,
        shard: usize,
        db: usize,
        batch: Vec<LoadedKey>,
        fresh: bool,
        now: u64,
        totals: &mut Totals,
    ) -> Result<bool, SnapshotError> {
        let mut keys = batch.into_iter();
        while let Some(key) = keys.next() {
            let (hash, name) = (key.hash, key.entry.key().to_vec());
            self.view(&mut self.lock_shard(shard), db, now)
                .insert_loaded_batch(std::iter::once(key), fresh)
                .map_err(|key| duplicated(&key, db))?;
            totals.keys += 1;
            if self.over_limit() && self.evict_to_limit(now).is_err() {
                let mut guard = self.lock_shard(shard);
                let mut view = self.view(&mut guard, db, now);
                view.remove(hash, &name);
                view.shrink_slots_to_fit();
                totals.keys -= 1;
                totals.skipped += 1 + keys.len() as u64;
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Keys a batch of the loader's reader brings per shard, on average: a batch is this many times
/// the shard count (1,024 keys with 64 shards). Its entries are still in the cache when they are
/// inserted, where a whole section's (~17,000 keys, several MB, built while the previous one was
/// inserted) had left it and the first touch of each entry's block was a cache miss; and each
/// hold of a shard's lock still brings a group of keys, not one.
const BATCH_KEYS_PER_SHARD: usize = 16;

/// A batch of a section's records, decoded by the loader's reader thread for the inserting one.
struct Decoded {
    db: usize,
    /// The time its TTLs were checked against and its access times set from.
    now: u64,
    /// Bytes of the file its section took, on the section's last batch; 0 on the others.
    file_bytes: u64,
    /// Its live keys, by the shard of their key.
    shards: Vec<Vec<LoadedKey>>,
    keys: usize,
    expired: u64,
    skipped: u64,
}

fn duplicated(key: &[u8], db: usize) -> SnapshotError {
    SnapshotError::Corrupt(format!(
        "duplicated key {:?} in db {db}",
        String::from_utf8_lossy(key)
    ))
}
