//! Reading a JSON line back (CACHE.IMPORT, `cachet import`, CACHE.WARM): every field checked
//! before the entry is built, and storing it under the shard's lock.

use base64::Engine as _;
use serde_bytes::ByteBuf;

use super::{Json, B64};
use crate::engine::dump::RestoreLimits;
use crate::engine::entry::Entry;
use crate::engine::notice::{class, keeping_dependents};
use crate::engine::snapshot::{GroupRecord, LoadLimits, StreamRecord};
use crate::engine::types::{Collection, HashValue, ListValue, SetValue, ZSetValue};
use crate::engine::{CacheMeta, Keyspace, Name, Priority};

/// What an imported line holds.
pub enum Imported {
    /// The entry to store, metadata, TTL, parents and LFU counter set, and the rest of the access
    /// state the line gave.
    Entry(Entry, Option<Access>),
    /// The line's key, whose `expire_at` has passed: nothing is stored.
    Expired(Vec<u8>),
}

/// A line's access state beyond the LFU counter (which the entry holds): applied when the entry
/// is stored, as a snapshot's load applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub idle_secs: u64,
    pub sketch: u8,
}

/// What storing an imported line did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Created,
    Replaced,
    /// The line's time had passed: nothing stored (a key replaced is deleted).
    Expired,
    /// The key exists and replacing was not asked for: nothing changed.
    Exists,
}

impl Keyspace {
    /// Stores an imported line in database `db` under the shard's lock, so that "absent, then
    /// created" is one step (CACHE.WARM never overwrites a key written here meanwhile). A key
    /// created leaves the keys that depend on it alone (they came with it); one replaced is a
    /// change like any write.
    pub fn store_imported(
        &self,
        db: usize,
        imported: Imported,
        replace: bool,
        now_ms: u64,
    ) -> Stored {
        let key = match &imported {
            Imported::Entry(entry, _) => entry.key().to_vec(),
            Imported::Expired(key) => key.clone(),
        };
        self.with_key(db, &key, now_ms, |view, hash| {
            let existed = view.contains(hash, &key);
            if existed && !replace {
                return Stored::Exists;
            }
            match imported {
                Imported::Entry(entry, access) => {
                    match access {
                        Some(access) => {
                            let then = now_ms.saturating_sub(access.idle_secs.saturating_mul(1000));
                            view.insert_loaded(
                                hash,
                                entry,
                                crate::engine::lru_clock(then),
                                access.sketch,
                            );
                        }
                        None => {
                            view.insert(hash, entry);
                        }
                    }
                    if existed {
                        view.notify(&key, class::GENERIC, "restore");
                        Stored::Replaced
                    } else {
                        keeping_dependents(|| view.notify(&key, class::GENERIC, "restore"));
                        Stored::Created
                    }
                }
                Imported::Expired(_) => {
                    if view.remove(hash, &key).is_some() {
                        view.notify(&key, class::GENERIC, "del");
                    }
                    Stored::Expired
                }
            }
        })
    }
}

type Fields = Vec<(String, Json)>;

/// An object's members, each name at most once and all of them known.
fn members(value: Json, what: &str, known: &[&str]) -> Result<Fields, String> {
    let Json::Object(members) = value else {
        return Err(format!("{what} must be an object"));
    };
    for (i, (name, _)) in members.iter().enumerate() {
        if !known.contains(&name.as_str()) {
            return Err(format!("{what}: unknown field '{name}'"));
        }
        if members[..i].iter().any(|(other, _)| other == name) {
            return Err(format!("{what}: field '{name}' given twice"));
        }
    }
    Ok(members)
}

fn take(fields: &mut Fields, name: &str) -> Option<Json> {
    let at = fields.iter().position(|(n, _)| n == name)?;
    Some(fields.remove(at).1)
}

fn required(fields: &mut Fields, name: &str, what: &str) -> Result<Json, String> {
    take(fields, name).ok_or_else(|| format!("{what}: missing '{name}'"))
}

/// Bytes: a string, or `{"base64": "..."}`.
fn bytes_of(value: Json, what: &str) -> Result<Vec<u8>, String> {
    match value {
        Json::String(s) => Ok(s.into_bytes()),
        Json::Object(mut members) if members.len() == 1 && members[0].0 == "base64" => {
            match members.pop() {
                Some((_, Json::String(b64))) => B64
                    .decode(b64.as_bytes())
                    .map_err(|_| format!("{what}: invalid base64")),
                _ => Err(format!("{what}: base64 must be a string")),
            }
        }
        _ => Err(format!("{what} must be a string or {{\"base64\": ...}}")),
    }
}

fn array(value: Json, what: &str) -> Result<Vec<Json>, String> {
    match value {
        Json::Array(items) => Ok(items),
        _ => Err(format!("{what} must be an array")),
    }
}

fn byte_list(value: Json, what: &str) -> Result<Vec<Vec<u8>>, String> {
    array(value, what)?
        .into_iter()
        .map(|item| bytes_of(item, what))
        .collect()
}

/// A `[first, second]` array.
fn pair(value: Json, what: &str) -> Result<(Json, Json), String> {
    let mut items = array(value, what)?;
    if items.len() != 2 {
        return Err(format!("{what}: each item must be a [2-element] array"));
    }
    let second = items.pop().unwrap_or(Json::Null);
    let first = items.pop().unwrap_or(Json::Null);
    Ok((first, second))
}

fn unsigned(value: &Json, what: &str) -> Result<u64, String> {
    match value {
        Json::Number(n) => n
            .as_u64()
            .ok_or_else(|| format!("{what} must be a non-negative integer")),
        _ => Err(format!("{what} must be a non-negative integer")),
    }
}

fn signed(value: &Json, what: &str) -> Result<i64, String> {
    match value {
        Json::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{what} must be an integer")),
        _ => Err(format!("{what} must be an integer")),
    }
}

fn score_of(value: &Json) -> Result<f64, String> {
    let score = match value {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => match s.to_ascii_lowercase().as_str() {
            "inf" | "+inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    };
    score.ok_or_else(|| "value: a score must be a number, \"inf\" or \"-inf\"".to_string())
}

fn stream_id(value: &Json, what: &str) -> Result<(u64, u64), String> {
    let bad = || format!("{what} must be an ID \"<ms>-<seq>\"");
    let Json::String(s) = value else {
        return Err(bad());
    };
    let (ms, seq) = s.split_once('-').ok_or_else(bad)?;
    let digits = |t: &str| -> Result<u64, String> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse().map_err(|_| bad())
    };
    Ok((digits(ms)?, digits(seq)?))
}

/// The `key` of a line, read without building its value: what `cachet import` names in the
/// CACHE.IMPORT it sends.
pub fn line_key(line: &[u8]) -> Result<Vec<u8>, String> {
    let json: Json = serde_json::from_slice(line).map_err(|e| format!("not JSON ({e})"))?;
    let Json::Object(mut fields) = json else {
        return Err("the line must be an object".into());
    };
    bytes_of(required(&mut fields, "key", "the line")?, "key")
}

/// Reads one line into the entry it describes; `Err` says what is wrong, naming the field.
pub fn import_line(line: &[u8], limits: LoadLimits, now_ms: u64) -> Result<Imported, String> {
    let json: Json = serde_json::from_slice(line).map_err(|e| format!("not JSON ({e})"))?;
    let mut fields = members(
        json,
        "the line",
        &[
            "key",
            "type",
            "value",
            "expire_at",
            "pttl",
            "field_expire_at",
            "priority",
            "cost",
            "tags",
            "parents",
            "lfu",
            "idle",
            "sketch",
        ],
    )?;
    let key = bytes_of(required(&mut fields, "key", "the line")?, "key")?;
    let kind = match required(&mut fields, "type", "the line")? {
        Json::String(kind) => kind,
        _ => return Err("type must be a string".into()),
    };
    let value = required(&mut fields, "value", "the line")?;
    let expire_at = match (take(&mut fields, "expire_at"), take(&mut fields, "pttl")) {
        (Some(_), Some(_)) => return Err("give expire_at or pttl, not both".into()),
        (Some(Json::Null), None) | (None, Some(Json::Null)) | (None, None) => 0,
        (Some(at), None) => unsigned(&at, "expire_at")?,
        (None, Some(ttl)) => now_ms.saturating_add(unsigned(&ttl, "pttl")?),
    };
    let priority = match take(&mut fields, "priority") {
        None => Priority::Normal,
        Some(Json::String(name)) => Priority::parse(name.as_bytes())
            .ok_or("priority must be one of low, normal, high, critical")?,
        Some(_) => return Err("priority must be one of low, normal, high, critical".into()),
    };
    let cost = match take(&mut fields, "cost") {
        None => 1,
        Some(cost) => u32::try_from(unsigned(&cost, "cost")?)
            .map_err(|_| "cost must be at most 4294967295".to_string())?,
    };
    let labels = |value: Option<Json>, what: &str| -> Result<Vec<Name>, String> {
        let mut list: Vec<Name> = Vec::new();
        for item in value
            .map(|v| byte_list(v, what))
            .transpose()?
            .unwrap_or_default()
        {
            if !list.iter().any(|l| **l == item[..]) {
                list.push(item.into());
            }
        }
        Ok(list)
    };
    let tags = labels(take(&mut fields, "tags"), "tags")?;
    let parents = labels(take(&mut fields, "parents"), "parents")?;
    if parents.iter().any(|p| **p == key[..]) {
        return Err("parents: a key cannot depend on itself".into());
    }
    let byte = |value: Option<Json>, what: &str| -> Result<Option<u8>, String> {
        value
            .map(|v| {
                u8::try_from(unsigned(&v, what)?).map_err(|_| format!("{what} must be at most 255"))
            })
            .transpose()
    };
    let lfu = byte(take(&mut fields, "lfu"), "lfu")?;
    let sketch = byte(take(&mut fields, "sketch"), "sketch")?;
    let idle = take(&mut fields, "idle")
        .map(|v| unsigned(&v, "idle"))
        .transpose()?;
    let access = (idle.is_some() || sketch.is_some()).then(|| Access {
        idle_secs: idle.unwrap_or(0),
        sketch: sketch.unwrap_or(0),
    });
    let field_ttls = take(&mut fields, "field_expire_at");
    if field_ttls.is_some() && kind != "hash" {
        return Err("field_expire_at is for hashes only".into());
    }

    let mut entry = build(&key, &kind, value, limits)?;
    if let (Some(ttls), Some(hash)) = (field_ttls, entry.hash_mut()) {
        for item in array(ttls, "field_expire_at")? {
            let (field, at) = pair(item, "field_expire_at")?;
            let field = bytes_of(field, "field_expire_at")?;
            let at = unsigned(&at, "field_expire_at")?;
            if at <= now_ms {
                hash.remove(&field);
            } else if !hash.set_field_expire_at(&field, at) {
                return Err("field_expire_at: a TTL for a field the hash does not have".into());
            }
        }
        if hash.is_empty() {
            return Ok(Imported::Expired(key));
        }
    }
    if expire_at != 0 && expire_at <= now_ms {
        return Ok(Imported::Expired(key));
    }
    entry.set_meta(CacheMeta {
        priority,
        cost,
        tags: (!tags.is_empty()).then(|| tags.into_boxed_slice()),
    });
    if !parents.is_empty() {
        entry.replace_parents(parents.into_boxed_slice());
    }
    entry.set_expire_at(expire_at);
    if let Some(lfu) = lfu {
        entry.set_lfu(lfu);
    }
    Ok(Imported::Entry(entry, access))
}

fn build(key: &[u8], kind: &str, value: Json, limits: LoadLimits) -> Result<Entry, String> {
    let RestoreLimits {
        hash: hash_limits,
        zset: zset_limits,
        max_intset_entries,
    } = limits.restore;
    let empty = || Err::<Entry, String>("value: an empty collection".into());
    let collection = match kind {
        "string" => return Ok(Entry::new_string(key, &bytes_of(value, "value")?, 0)),
        "list" => {
            let elements = byte_list(value, "value")?;
            if elements.is_empty() {
                return empty();
            }
            let mut list = ListValue::new();
            for element in &elements {
                list.push_back(element);
            }
            Collection::List(Box::new(list))
        }
        "set" => {
            let members = byte_list(value, "value")?;
            if members.is_empty() {
                return empty();
            }
            let mut set = SetValue::default();
            for member in &members {
                if !set.add(member, max_intset_entries) {
                    return Err("value: a set member twice".into());
                }
            }
            Collection::Set(Box::new(set))
        }
        "zset" => {
            let items = array(value, "value")?;
            if items.is_empty() {
                return empty();
            }
            let mut zset = ZSetValue::new();
            for item in items {
                let (member, score) = pair(item, "value")?;
                let member = bytes_of(member, "value")?;
                if zset
                    .insert(&member, score_of(&score)?, zset_limits)
                    .is_some()
                {
                    return Err("value: a sorted set member twice".into());
                }
            }
            Collection::ZSet(Box::new(zset))
        }
        "hash" => {
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = match value {
                Json::Object(members) => members
                    .into_iter()
                    .map(|(field, v)| Ok((field.into_bytes(), bytes_of(v, "value")?)))
                    .collect::<Result<_, String>>()?,
                Json::Array(items) => items
                    .into_iter()
                    .map(|item| {
                        let (field, v) = pair(item, "value")?;
                        Ok((bytes_of(field, "value")?, bytes_of(v, "value")?))
                    })
                    .collect::<Result<_, String>>()?,
                _ => {
                    return Err("value of a hash must be an object or [[field, value], ...]".into())
                }
            };
            if pairs.is_empty() {
                return empty();
            }
            let mut hash = HashValue::new();
            for (field, v) in &pairs {
                if !hash.set(field, v, hash_limits) {
                    return Err("value: a hash field twice".into());
                }
            }
            Collection::Hash(hash)
        }
        "stream" => {
            let record = stream_record(value)?;
            let stream = record
                .rebuild(limits.stream)
                .map_err(|what| format!("value: {what}"))?;
            Collection::Stream(Box::new(stream))
        }
        other => {
            return Err(format!(
                "type '{other}' is not one of string, list, set, zset, hash, stream"
            ))
        }
    };
    Ok(Entry::new_collection(key, collection, 0))
}

fn stream_record(value: Json) -> Result<StreamRecord, String> {
    let mut fields = members(
        value,
        "value",
        &[
            "entries",
            "last_id",
            "first_id",
            "max_deleted_id",
            "entries_added",
            "groups",
        ],
    )?;
    let mut entries = Vec::new();
    for entry in array(required(&mut fields, "entries", "value")?, "value.entries")? {
        let mut entry = members(entry, "value.entries", &["id", "fields"])?;
        let (ms, seq) = stream_id(
            &required(&mut entry, "id", "value.entries")?,
            "value.entries id",
        )?;
        let pairs = byte_list(
            required(&mut entry, "fields", "value.entries")?,
            "value.entries fields",
        )?;
        entries.push((ms, seq, pairs.into_iter().map(ByteBuf::from).collect()));
    }
    let last_entry = entries.last().map(|(ms, seq, _)| (*ms, *seq));
    let first_entry = entries.first().map(|(ms, seq, _)| (*ms, *seq));
    let id_or = |fields: &mut Fields, name: &str, default: (u64, u64)| match take(fields, name) {
        Some(id) => stream_id(&id, &format!("value.{name}")),
        None => Ok(default),
    };
    let last_id = id_or(&mut fields, "last_id", last_entry.unwrap_or((0, 0)))?;
    let first_id = id_or(&mut fields, "first_id", first_entry.unwrap_or((0, 0)))?;
    let max_deleted = id_or(&mut fields, "max_deleted_id", (0, 0))?;
    let entries_added = match take(&mut fields, "entries_added") {
        Some(n) => unsigned(&n, "value.entries_added")?,
        None => entries.len() as u64,
    };
    let mut groups = Vec::new();
    for group in take(&mut fields, "groups")
        .map(|g| array(g, "value.groups"))
        .transpose()?
        .unwrap_or_default()
    {
        let what = "value.groups";
        let mut group = members(
            group,
            what,
            &["name", "last_id", "entries_read", "consumers", "pending"],
        )?;
        let name = bytes_of(required(&mut group, "name", what)?, "value.groups name")?;
        let last_id = stream_id(
            &required(&mut group, "last_id", what)?,
            "value.groups last_id",
        )?;
        let entries_read = match take(&mut group, "entries_read") {
            Some(n) => signed(&n, "value.groups entries_read")?,
            None => -1,
        };
        let mut consumers = Vec::new();
        for consumer in take(&mut group, "consumers")
            .map(|c| array(c, "value.groups consumers"))
            .transpose()?
            .unwrap_or_default()
        {
            let mut consumer = members(consumer, "value.groups consumers", &["name", "seen_time"])?;
            let name = bytes_of(
                required(&mut consumer, "name", "value.groups consumers")?,
                "value.groups consumers name",
            )?;
            let seen = match take(&mut consumer, "seen_time") {
                Some(n) => signed(&n, "value.groups consumers seen_time")?,
                None => 0,
            };
            consumers.push((ByteBuf::from(name), seen));
        }
        let mut pending = Vec::new();
        for nack in take(&mut group, "pending")
            .map(|p| array(p, "value.groups pending"))
            .transpose()?
            .unwrap_or_default()
        {
            let what = "value.groups pending";
            let mut nack = members(
                nack,
                what,
                &["id", "consumer", "delivery_time", "delivery_count"],
            )?;
            let (ms, seq) =
                stream_id(&required(&mut nack, "id", what)?, "value.groups pending id")?;
            let consumer = bytes_of(
                required(&mut nack, "consumer", what)?,
                "value.groups pending consumer",
            )?;
            let time = match take(&mut nack, "delivery_time") {
                Some(n) => signed(&n, "value.groups pending delivery_time")?,
                None => 0,
            };
            let count = match take(&mut nack, "delivery_count") {
                Some(n) => unsigned(&n, "value.groups pending delivery_count")?,
                None => 1,
            };
            pending.push((ms, seq, ByteBuf::from(consumer), time, count));
        }
        groups.push(GroupRecord {
            name: ByteBuf::from(name),
            last_id,
            entries_read,
            consumers,
            pending,
        });
    }
    Ok(StreamRecord {
        entries,
        last_id,
        first_id,
        max_deleted,
        entries_added,
        groups,
    })
}
