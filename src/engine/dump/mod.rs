//! DUMP payloads: a value serialized as Redis 7.0 serializes it (`rdbSaveObject`), followed by the
//! RDB version and a CRC64, so a payload DUMPed by redis-server RESTOREs into cachet and the other
//! way round. Strings, lists, sets, sorted sets and hashes, in the encodings Redis 7.0 writes (and
//! the older plain ones it still reads); streams both ways, with their groups (their nodes are
//! Redis's listpacks, checked as Redis's deep sanitization checks them); a payload is a client's
//! bytes, so every length is checked and a damaged one is an error, never a panic or a huge
//! allocation.

mod functions;
mod intset;
mod lzf;
mod rdb;
pub mod rdb_file;
mod ziplist;

pub use functions::{dump_functions, read_functions};

use std::borrow::Cow;

use crate::engine::entry::{Entry, StringValue};
use crate::engine::listpack;
use crate::engine::types::hash::HashLimits;
use crate::engine::types::list::{exceeds_node, ListValue};
use crate::engine::types::set::Member;
use crate::engine::types::stream::{Counters, Group, StreamId, ENTRIES_READ_UNKNOWN};
use crate::engine::types::zset::{ZSetLimits, ZSetValue};
use crate::engine::types::{Collection, HashValue, SetValue, StreamValue};
use crate::engine::{lru_clock, Policy, LRU_CLOCK_MAX};
use crate::protocol::reply::format_double;
use rdb::{Reader, Source};

/// The RDB version Redis 7.0 writes; a payload of a later version is refused, as Redis does.
pub const RDB_VERSION: u16 = 10;

const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;
const TYPE_SET_LISTPACK: u8 = 20;

const NODE_PLAIN: u64 = 1;
const NODE_PACKED: u64 = 2;

/// The payload is damaged, or holds what cachet cannot hold (Redis's "Bad data format").
#[derive(Debug, PartialEq, Eq)]
pub struct DumpError;

/// Slice-by-16 tables: every payload and whole RDB files are checked.
static CRC64: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

/// The value of `entry` as a DUMP payload.
pub fn dump(entry: &Entry, list_fill: i64) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(value) = entry.string_value() {
        out.push(TYPE_STRING);
        match value {
            StringValue::Int(..) => {
                let n = crate::engine::entry::as_canonical_int(&value).unwrap_or_default();
                if !rdb::put_int(&mut out, n) {
                    rdb::put_string(&mut out, &value);
                }
            }
            StringValue::Bytes(bytes) => rdb::put_string(&mut out, bytes),
            StringValue::Owned(bytes) => rdb::put_string(&mut out, &bytes),
        }
    } else if let Some(collection) = entry.collection() {
        put_collection(&mut out, collection, list_fill);
    }
    seal(&mut out);
    out
}

/// The footer of every payload (DUMP's, FUNCTION DUMP's): the RDB version, then the CRC64 of
/// everything before it, both little-endian.
fn seal(out: &mut Vec<u8>) {
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(out);
    out.extend_from_slice(&crc.to_le_bytes());
}

fn put_collection(out: &mut Vec<u8>, collection: &Collection, list_fill: i64) {
    match collection {
        Collection::List(list) => {
            out.push(TYPE_LIST_QUICKLIST_2);
            let nodes = list_nodes(list, list_fill);
            rdb::put_len(out, nodes.len() as u64);
            for node in nodes {
                rdb::put_len(out, NODE_PACKED);
                rdb::put_string(out, &listpack::encode(node));
            }
        }
        Collection::Set(set) if set.encoding() == "intset" => {
            out.push(TYPE_SET_INTSET);
            let mut ints: Vec<i64> = set
                .iter()
                .filter_map(|m| match m {
                    Member::Int(n) => Some(n),
                    Member::Bytes(b) => crate::engine::entry::as_canonical_int(b),
                })
                .collect();
            rdb::put_string(out, &intset::encode_intset(&mut ints));
        }
        Collection::Set(set) => {
            out.push(TYPE_SET);
            rdb::put_len(out, set.len() as u64);
            for member in set.iter() {
                rdb::put_string(out, &member.to_bytes());
            }
        }
        Collection::ZSet(zset) if zset.encoding() == "listpack" => {
            out.push(TYPE_ZSET_LISTPACK);
            let scores: Vec<String> = zset.iter().map(|item| format_double(item.score)).collect();
            let items = zset
                .iter()
                .zip(&scores)
                .flat_map(|(item, score)| [&item.member[..], score.as_bytes()]);
            rdb::put_string(out, &listpack::encode(items));
        }
        Collection::ZSet(zset) => {
            out.push(TYPE_ZSET_2);
            rdb::put_len(out, zset.len() as u64);
            // Highest first, as Redis walks its skiplist from the tail.
            for item in zset.iter().rev() {
                rdb::put_string(out, &item.member);
                rdb::put_binary_double(out, item.score);
            }
        }
        Collection::Hash(hash) if hash.encoding() == "listpack" => {
            out.push(TYPE_HASH_LISTPACK);
            let items = hash.iter().flat_map(|(field, value)| [field, value]);
            rdb::put_string(out, &listpack::encode(items));
        }
        Collection::Hash(hash) => {
            out.push(TYPE_HASH);
            rdb::put_len(out, hash.len() as u64);
            for (field, value) in hash.iter() {
                rdb::put_string(out, field);
                rdb::put_string(out, value);
            }
        }
        Collection::Stream(stream) => put_stream(out, stream),
    }
}

/// A stream as Redis 7.0's `rdbSaveObject` writes it: each node's 16-byte key and listpack (the
/// nodes are Redis's listpacks byte for byte), the counters, then each group with its pending
/// entries and consumers. Times are raw little-endian milliseconds, IDs in a PEL raw big-endian.
fn put_stream(out: &mut Vec<u8>, stream: &StreamValue) {
    out.push(TYPE_STREAM_LISTPACKS_2);
    rdb::put_len(out, stream.node_count() as u64);
    for (id, lp) in stream.node_listpacks() {
        rdb::put_string(out, &id.to_be_bytes());
        rdb::put_string(out, lp);
    }
    rdb::put_len(out, stream.len());
    for id in [stream.last_id, stream.first_id, stream.max_deleted] {
        rdb::put_len(out, id.ms);
        rdb::put_len(out, id.seq);
    }
    rdb::put_len(out, stream.entries_added);
    rdb::put_len(out, stream.group_count() as u64);
    for (name, group) in stream.groups() {
        rdb::put_string(out, name);
        rdb::put_len(out, group.last_id.ms);
        rdb::put_len(out, group.last_id.seq);
        // Redis writes the C `long long` as an unsigned length: -1 (unknown) as 2^64 - 1.
        rdb::put_len(out, group.entries_read as u64);
        rdb::put_len(out, group.pel.len() as u64);
        for (id, nack) in group.pel.iter() {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&nack.delivery_time.to_le_bytes());
            rdb::put_len(out, nack.delivery_count);
        }
        rdb::put_len(out, group.consumers.len() as u64);
        for (name, consumer) in group.consumers.iter() {
            rdb::put_string(out, name);
            out.extend_from_slice(&consumer.seen_time.to_le_bytes());
            rdb::put_len(out, consumer.pel.len() as u64);
            for (id, ()) in consumer.pel.iter() {
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
    }
}

/// The list cut into quicklist nodes as Redis 7.0 cuts a list pushed at its tail: an element joins
/// the last node unless the node's size plus the element's length plus 8 (Redis's overestimate of
/// the entry's overhead) would pass `list-max-listpack-size`.
fn list_nodes(list: &ListValue, fill: i64) -> Vec<Vec<&[u8]>> {
    const LISTPACK_EMPTY: usize = 7;
    const SIZE_ESTIMATE_OVERHEAD: usize = 8;
    let mut nodes: Vec<Vec<&[u8]>> = Vec::new();
    let mut bytes = 0;
    for element in list.iter() {
        let fits = nodes.last().is_some_and(|node| {
            !exceeds_node(
                fill,
                bytes + element.len() + SIZE_ESTIMATE_OVERHEAD,
                node.len() + 1,
            )
        });
        if !fits {
            nodes.push(Vec::new());
            bytes = LISTPACK_EMPTY;
        }
        nodes.last_mut().expect("a node").push(element);
        bytes += listpack::str_size(element);
    }
    nodes
}

/// What a payload holds, checked and ready to become an entry.
pub enum Restored {
    String(Vec<u8>),
    Collection(Collection),
}

/// The encodings a restored collection takes, from the configuration.
#[derive(Clone, Copy)]
pub struct RestoreLimits {
    pub hash: HashLimits,
    pub zset: ZSetLimits,
    pub max_intset_entries: usize,
}

/// Whether the payload's version and checksum are right (Redis's `verifyDumpPayload`); `Err` is
/// Redis's "DUMP payload version or checksum are wrong".
pub fn verify(payload: &[u8]) -> Result<&[u8], DumpError> {
    let body = payload
        .get(..payload.len().wrapping_sub(8))
        .ok_or(DumpError)?;
    let footer = &payload[body.len()..];
    if u64::from_le_bytes(footer.try_into().unwrap()) != CRC64.checksum(body) {
        return Err(DumpError);
    }
    body_of(payload)
}

/// `verify` but for the CRC64, for payloads inside bytes a checksum of their own has covered
/// (a snapshot's sections, CRC32C each, as an RDB file has one CRC64 for all its keys): the
/// CRC64 of every collection was a fiftieth of a snapshot's load. The version is checked;
/// `restore` reads any bytes safely, as RESTORE's payloads come from clients.
pub fn body_of(payload: &[u8]) -> Result<&[u8], DumpError> {
    if payload.len() < 10 {
        return Err(DumpError);
    }
    let body = &payload[..payload.len() - 8];
    let version = u16::from_le_bytes(body[body.len() - 2..].try_into().unwrap());
    if version > RDB_VERSION {
        return Err(DumpError);
    }
    Ok(&body[..body.len() - 2])
}

/// The value in a verified payload body; `Err` is Redis's "Bad data format".
pub fn restore(body: &[u8], limits: RestoreLimits) -> Result<Restored, DumpError> {
    let mut reader = Reader::new(body);
    let kind = reader.byte()?;
    let restored = read_value(kind, &mut reader, limits)?;
    // Redis refuses an empty collection in a payload.
    if !reader.is_done() || restored.is_empty() {
        return Err(DumpError);
    }
    Ok(restored)
}

impl Restored {
    fn is_empty(&self) -> bool {
        matches!(self, Restored::Collection(c) if c.is_empty())
    }
}

/// A value of RDB type `kind`, in any encoding Redis 7.0 loads (a collection may come out empty:
/// the caller decides whether that is an error or a key to skip).
fn read_value<S: Source>(
    kind: u8,
    reader: &mut Reader<S>,
    limits: RestoreLimits,
) -> Result<Restored, DumpError> {
    Ok(match kind {
        TYPE_STRING => Restored::String(reader.string()?),
        _ => Restored::Collection(read_collection(kind, reader, limits)?),
    })
}

fn strings<S: Source>(reader: &mut Reader<S>, count: usize) -> Result<Vec<Vec<u8>>, DumpError> {
    (0..count).map(|_| reader.string()).collect()
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn pairs(flat: Vec<Vec<u8>>) -> Result<Pairs, DumpError> {
    if !flat.len().is_multiple_of(2) {
        return Err(DumpError);
    }
    let mut flat = flat.into_iter();
    let mut pairs = Vec::new();
    while let (Some(first), Some(second)) = (flat.next(), flat.next()) {
        pairs.push((first, second));
    }
    Ok(pairs)
}

fn read_collection<S: Source>(
    kind: u8,
    reader: &mut Reader<S>,
    limits: RestoreLimits,
) -> Result<Collection, DumpError> {
    let collection = match kind {
        TYPE_LIST => {
            let count = reader.count()?;
            list_of(&strings(reader, count)?)
        }
        TYPE_LIST_ZIPLIST => list_of(&ziplist::decode_ziplist(&reader.string()?)?),
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let nodes = reader.count()?;
            let mut elements = Vec::new();
            for _ in 0..nodes {
                let container = match kind {
                    TYPE_LIST_QUICKLIST => NODE_PACKED,
                    _ => reader.len()?,
                };
                match container {
                    NODE_PLAIN => elements.push(reader.string()?),
                    NODE_PACKED => {
                        let blob = reader.string()?;
                        let node = match kind {
                            TYPE_LIST_QUICKLIST => ziplist::decode_ziplist(&blob)?,
                            _ => listpack_items(&blob)?,
                        };
                        // Redis refuses an empty node of a quicklist.
                        if node.is_empty() {
                            return Err(DumpError);
                        }
                        elements.extend(node);
                    }
                    _ => return Err(DumpError),
                }
            }
            list_of(&elements)
        }
        TYPE_SET | TYPE_SET_INTSET | TYPE_SET_LISTPACK => {
            let members: Vec<Vec<u8>> = match kind {
                TYPE_SET => {
                    let count = reader.count()?;
                    strings(reader, count)?
                }
                TYPE_SET_LISTPACK => listpack_items(&reader.string()?)?,
                _ => intset::decode_intset(&reader.string()?)?
                    .into_iter()
                    .map(|n| itoa::Buffer::new().format(n).as_bytes().to_vec())
                    .collect(),
            };
            let mut set = SetValue::default();
            for member in &members {
                // A member twice is a damaged payload, as Redis's "Duplicate set members".
                if !set.add(member, limits.max_intset_entries) {
                    return Err(DumpError);
                }
            }
            Collection::Set(Box::new(set))
        }
        TYPE_ZSET | TYPE_ZSET_2 | TYPE_ZSET_LISTPACK | TYPE_ZSET_ZIPLIST => {
            let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
            if kind == TYPE_ZSET_LISTPACK || kind == TYPE_ZSET_ZIPLIST {
                let blob = reader.string()?;
                let flat = match kind {
                    TYPE_ZSET_LISTPACK => listpack_items(&blob)?,
                    _ => ziplist::decode_ziplist(&blob)?,
                };
                for (member, score) in pairs(flat)? {
                    let score: f64 = std::str::from_utf8(&score)
                        .ok()
                        .and_then(|text| text.parse().ok())
                        .ok_or(DumpError)?;
                    items.push((member, score));
                }
            } else {
                let count = reader.count()?;
                for _ in 0..count {
                    let member = reader.string()?;
                    let score = if kind == TYPE_ZSET_2 {
                        reader.binary_double()?
                    } else {
                        reader.text_double()?
                    };
                    items.push((member, score));
                }
            }
            let mut zset = ZSetValue::new();
            for (member, score) in &items {
                if score.is_nan() || zset.insert(member, *score, limits.zset).is_some() {
                    return Err(DumpError);
                }
            }
            Collection::ZSet(Box::new(zset))
        }
        TYPE_HASH_LISTPACK => {
            // The listpack's strings borrowed, not copied one by one: the hashes of a snapshot
            // come this way.
            let blob = reader.string()?;
            let items = listpack::elements(&blob).ok_or(DumpError)?;
            fn text(item: listpack::Elem<'_>) -> Cow<'_, [u8]> {
                match item {
                    listpack::Elem::Str(s) => Cow::Borrowed(s),
                    int => Cow::Owned(int.to_vec()),
                }
            }
            if !items.len().is_multiple_of(2) {
                return Err(DumpError);
            }
            let pairs: Vec<_> = items
                .chunks_exact(2)
                .map(|pair| (text(pair[0]), text(pair[1])))
                .collect();
            Collection::Hash(HashValue::from_pairs(&pairs, limits.hash).ok_or(DumpError)?)
        }
        TYPE_HASH | TYPE_HASH_ZIPLIST | TYPE_HASH_ZIPMAP => {
            let pairs = match kind {
                TYPE_HASH => {
                    let count = reader.count()?;
                    let mut pairs = Vec::with_capacity(count);
                    for _ in 0..count {
                        pairs.push((reader.string()?, reader.string()?));
                    }
                    pairs
                }
                TYPE_HASH_ZIPLIST => pairs(ziplist::decode_ziplist(&reader.string()?)?)?,
                _ => pairs(ziplist::decode_zipmap(&reader.string()?)?)?,
            };
            Collection::Hash(HashValue::from_pairs(&pairs, limits.hash).ok_or(DumpError)?)
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => Collection::Stream(Box::new(
            read_stream(reader, kind == TYPE_STREAM_LISTPACKS_2)?,
        )),
        _ => return Err(DumpError),
    };
    Ok(collection)
}

/// What RESTORE's IDLETIME and FREQ (and an RDB file's IDLE and FREQ) set, as Redis's
/// `objectSetLRUOrLFU`: the idle time where the policy keeps an access time, the counter where it
/// keeps a counter (allkeys-cachet keeps both), each ignored otherwise.
pub fn set_lru_or_lfu(
    entry: &mut Entry,
    policy: Policy,
    idle_seconds: Option<u64>,
    freq: Option<u8>,
    now_ms: u64,
) {
    let keeps_counter = policy.uses_lfu();
    let keeps_idle = !matches!(policy, Policy::AllKeysLfu | Policy::VolatileLfu);
    if let (true, Some(freq)) = (keeps_counter, freq) {
        entry.set_lfu(freq);
    }
    if let (true, Some(idle)) = (keeps_idle, idle_seconds) {
        let idle = idle.min(LRU_CLOCK_MAX as u64) as u32;
        entry.set_lru(lru_clock(now_ms).wrapping_sub(idle) & LRU_CLOCK_MAX);
    }
}

fn read_id<S: Source>(reader: &mut Reader<S>) -> Result<StreamId, DumpError> {
    Ok(StreamId::new(reader.len()?, reader.len()?))
}

fn raw_id<S: Source>(reader: &mut Reader<S>) -> Result<StreamId, DumpError> {
    let raw = reader.take(16)?.try_into().map_err(|_| DumpError)?;
    Ok(StreamId::from_be_bytes(raw))
}

fn millis<S: Source>(reader: &mut Reader<S>) -> Result<i64, DumpError> {
    Ok(i64::from_le_bytes(
        reader.take(8)?.try_into().map_err(|_| DumpError)?,
    ))
}

/// A stream as `put_stream` writes it, or as Redis before 7.0 did (`v2` false: no first ID,
/// largest deleted ID, entries added or groups' read counters, which are then derived as Redis's
/// `rdbLoadObject` derives them). Checked as Redis checks with `sanitize-dump-payload yes`, always:
/// nodes (`StreamValue::restored`), group and consumer names unique, every pending entry of a
/// consumer in its group's PEL once, and every entry of a group's PEL owned by one consumer.
fn read_stream<S: Source>(reader: &mut Reader<S>, v2: bool) -> Result<StreamValue, DumpError> {
    let node_count = reader.count()?;
    let mut nodes = Vec::with_capacity(node_count);
    for _ in 0..node_count {
        let key: [u8; 16] = reader.string()?.try_into().map_err(|_| DumpError)?;
        nodes.push((StreamId::from_be_bytes(key), reader.string()?));
    }
    let length = reader.len()?;
    let last_id = read_id(reader)?;
    let mut counters = Counters {
        length,
        last_id,
        first_id: StreamId::MIN,
        max_deleted: StreamId::MIN,
        entries_added: length,
    };
    if v2 {
        counters.first_id = read_id(reader)?;
        counters.max_deleted = read_id(reader)?;
        counters.entries_added = reader.len()?;
    }
    let mut stream = StreamValue::restored(nodes, counters).ok_or(DumpError)?;
    if !v2 {
        // Redis's `streamGetEdgeID`: the first live entry, or the largest ID when there is none.
        stream.first_id = stream.entries().first_valid_id().unwrap_or(StreamId::MAX);
    }
    let group_count = reader.count()?;
    for _ in 0..group_count {
        let name = reader.string()?;
        let last_id = read_id(reader)?;
        let entries_read = if v2 {
            // The C `long long` written as an unsigned length: 2^64 - 1 is -1 (unknown).
            reader.len()? as i64
        } else {
            stream
                .entries()
                .estimate_distance(last_id)
                .map_or(ENTRIES_READ_UNKNOWN, |d| d as i64)
        };
        let group = read_group(reader, last_id, entries_read)?;
        if !stream.insert_group(&name, group) {
            return Err(DumpError);
        }
    }
    Ok(stream)
}

fn read_group<S: Source>(
    reader: &mut Reader<S>,
    last_id: StreamId,
    entries_read: i64,
) -> Result<Group, DumpError> {
    let mut group = Group::new(last_id, entries_read);
    let pending = reader.count()?;
    // The PEL's entries wait here for the consumer that owns them.
    let mut unowned = std::collections::BTreeMap::new();
    for _ in 0..pending {
        let id = raw_id(reader)?;
        let delivery_time = millis(reader)?;
        let delivery_count = reader.len()?;
        if unowned
            .insert(id, (delivery_time, delivery_count))
            .is_some()
        {
            return Err(DumpError);
        }
    }
    let consumers = reader.count()?;
    for _ in 0..consumers {
        let name = reader.string()?;
        let seen_time = millis(reader)?;
        let owner = group.create_consumer(&name, seen_time).ok_or(DumpError)?;
        let owned = reader.count()?;
        for _ in 0..owned {
            let id = raw_id(reader)?;
            let (time, count) = unowned.remove(&id).ok_or(DumpError)?;
            group.claim(id, &owner, |nack| {
                nack.delivery_time = time;
                nack.delivery_count = count;
            });
        }
    }
    if !unowned.is_empty() {
        return Err(DumpError);
    }
    Ok(group)
}

/// A listpack's elements as bytes; a damaged one is "Bad data format".
fn listpack_items(blob: &[u8]) -> Result<Vec<Vec<u8>>, DumpError> {
    let elements = listpack::elements(blob).ok_or(DumpError)?;
    Ok(elements.into_iter().map(|e| e.to_vec()).collect())
}

fn list_of(elements: &[Vec<u8>]) -> Collection {
    let mut list = ListValue::new();
    for element in elements {
        list.push_back(element);
    }
    Collection::List(Box::new(list))
}

#[cfg(test)]
mod tests;
