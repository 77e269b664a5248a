//! DUMP payloads: a value serialized as Redis 7.0 serializes it (`rdbSaveObject`), followed by the
//! RDB version and a CRC64, so a payload DUMPed by redis-server RESTOREs into cachet and the other
//! way round. Strings, lists, sets, sorted sets and hashes, in the encodings Redis 7.0 writes (and
//! the older plain ones it still reads); streams are written (their nodes are Redis's listpacks)
//! but not read back yet; a payload is a client's bytes, so every length is checked
//! and a damaged one is an error, never a panic or a huge allocation.

mod functions;
mod listpack;
mod rdb;

pub use functions::{dump_functions, read_functions};

use crate::engine::entry::{Entry, StringValue};
use crate::engine::types::hash::HashLimits;
use crate::engine::types::list::{exceeds_node, ListValue};
use crate::engine::types::set::Member;
use crate::engine::types::zset::{ZSetLimits, ZSetValue};
use crate::engine::types::{Collection, HashValue, SetValue, StreamValue};
use crate::protocol::reply::format_double;
use rdb::Reader;

/// The RDB version Redis 7.0 writes; a payload of a later version is refused, as Redis does.
pub const RDB_VERSION: u16 = 10;

const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;

const NODE_PLAIN: u64 = 1;
const NODE_PACKED: u64 = 2;

/// The payload is damaged, or holds what cachet cannot hold (Redis's "Bad data format").
#[derive(Debug, PartialEq, Eq)]
pub struct DumpError;

static CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

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
                rdb::put_string(out, &listpack::encode_listpack(node));
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
            rdb::put_string(out, &listpack::encode_intset(&mut ints));
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
            rdb::put_string(out, &listpack::encode_listpack(items));
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
            rdb::put_string(out, &listpack::encode_listpack(items));
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
        bytes += crate::engine::types::list::listpack_entry_size(element);
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
    pub list_fill: i64,
    pub max_intset_entries: usize,
}

/// Whether the payload's version and checksum are right (Redis's `verifyDumpPayload`); `Err` is
/// Redis's "DUMP payload version or checksum are wrong".
pub fn verify(payload: &[u8]) -> Result<&[u8], DumpError> {
    if payload.len() < 10 {
        return Err(DumpError);
    }
    let (body, footer) = payload.split_at(payload.len() - 8);
    let version = u16::from_le_bytes(body[body.len() - 2..].try_into().unwrap());
    if version > RDB_VERSION {
        return Err(DumpError);
    }
    if u64::from_le_bytes(footer.try_into().unwrap()) != CRC64.checksum(body) {
        return Err(DumpError);
    }
    Ok(&body[..body.len() - 2])
}

/// The value in a verified payload body; `Err` is Redis's "Bad data format".
pub fn restore(body: &[u8], limits: RestoreLimits) -> Result<Restored, DumpError> {
    let mut reader = Reader::new(body);
    let kind = reader.byte()?;
    let restored = match kind {
        TYPE_STRING => Restored::String(reader.string()?),
        _ => Restored::Collection(read_collection(kind, &mut reader, limits)?),
    };
    if !reader.is_done() {
        return Err(DumpError);
    }
    Ok(restored)
}

fn read_collection(
    kind: u8,
    reader: &mut Reader<'_>,
    limits: RestoreLimits,
) -> Result<Collection, DumpError> {
    let collection = match kind {
        TYPE_LIST => {
            let count = reader.count()?;
            let mut elements = Vec::with_capacity(count);
            for _ in 0..count {
                elements.push(reader.string()?);
            }
            list_of(&elements, limits.list_fill)
        }
        TYPE_LIST_QUICKLIST_2 => {
            let nodes = reader.count()?;
            let mut elements = Vec::new();
            for _ in 0..nodes {
                match reader.len()? {
                    NODE_PLAIN => elements.push(reader.string()?),
                    NODE_PACKED => {
                        let node = listpack::decode_listpack(&reader.string()?)?;
                        // Redis refuses an empty node of a quicklist.
                        if node.is_empty() {
                            return Err(DumpError);
                        }
                        elements.extend(node);
                    }
                    _ => return Err(DumpError),
                }
            }
            list_of(&elements, limits.list_fill)
        }
        TYPE_SET | TYPE_SET_INTSET => {
            let members: Vec<Vec<u8>> = if kind == TYPE_SET {
                let count = reader.count()?;
                (0..count)
                    .map(|_| reader.string())
                    .collect::<Result<_, _>>()?
            } else {
                listpack::decode_intset(&reader.string()?)?
                    .into_iter()
                    .map(|n| itoa::Buffer::new().format(n).as_bytes().to_vec())
                    .collect()
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
        TYPE_ZSET | TYPE_ZSET_2 | TYPE_ZSET_LISTPACK => {
            let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
            if kind == TYPE_ZSET_LISTPACK {
                let flat = listpack::decode_listpack(&reader.string()?)?;
                if flat.len() % 2 != 0 {
                    return Err(DumpError);
                }
                for pair in flat.chunks_exact(2) {
                    let score: f64 = std::str::from_utf8(&pair[1])
                        .ok()
                        .and_then(|text| text.parse().ok())
                        .ok_or(DumpError)?;
                    items.push((pair[0].clone(), score));
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
        TYPE_HASH | TYPE_HASH_LISTPACK => {
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            if kind == TYPE_HASH_LISTPACK {
                let flat = listpack::decode_listpack(&reader.string()?)?;
                if flat.len() % 2 != 0 {
                    return Err(DumpError);
                }
                let mut flat = flat.into_iter();
                while let (Some(field), Some(value)) = (flat.next(), flat.next()) {
                    pairs.push((field, value));
                }
            } else {
                let count = reader.count()?;
                for _ in 0..count {
                    pairs.push((reader.string()?, reader.string()?));
                }
            }
            let mut hash = HashValue::new();
            for (field, value) in &pairs {
                if !hash.set(field, value, limits.hash) {
                    return Err(DumpError);
                }
            }
            Collection::Hash(hash)
        }
        _ => return Err(DumpError),
    };
    if collection.is_empty() {
        // Redis refuses an empty collection in a payload.
        return Err(DumpError);
    }
    Ok(collection)
}

fn list_of(elements: &[Vec<u8>], fill: i64) -> Collection {
    let mut list = ListValue::new();
    list.prepare_push(fill, elements);
    for element in elements {
        list.push_back(element);
    }
    Collection::List(Box::new(list))
}

#[cfg(test)]
mod tests;
