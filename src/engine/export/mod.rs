//! Keys as JSON lines, for people and for moving data (CACHE.EXPORT, CACHE.IMPORT, `cachet
//! export|import`): one object per key with its `key`, `type`, `value` in the type's natural shape,
//! `expire_at` (absolute Unix ms, absent without a TTL), `priority`, `cost`, `tags`, `parents`, and
//! for a hash with field TTLs `field_expire_at`, then what the eviction policy learned of the key:
//! `lfu` (Redis's LFU counter, OBJECT FREQ), `idle` (seconds since its last access, OBJECT
//! IDLETIME) and `sketch` (the `allkeys-cachet` sketch's estimate of its reads), so that a key
//! imported or warmed is as hot as it was at the source. Import also takes `pttl` (remaining ms)
//! instead of `expire_at`, and fills in defaults for the metadata left out (a line without the
//! access fields makes a key as new as SET does).
//!
//! Bytes are a JSON string when they are UTF-8, else `{"base64": "..."}`: keys, values, fields,
//! members, tags and parents alike. Shapes: a string is text; a list and a set are arrays; a sorted
//! set is `[[member, score], ...]` (`"inf"`/`"-inf"` for the infinities JSON has no number for); a
//! hash is an object when every field is UTF-8, else `[[field, value], ...]`; a stream is the
//! object `StreamRecord` describes (entries, counters, groups with consumers and pending entries).
//!
//! Objects are read and written in their own order (`Json` below): a hash goes out in its
//! iteration order and comes back in it, so its encoding, and its DUMP bytes, are the same after a
//! round trip. Reading checks everything before an entry is built: a bad line is refused whole,
//! with the reason naming the field.

use base64::Engine as _;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::entry::{Entry, StringValue};
use crate::engine::snapshot::StreamRecord;
use crate::engine::types::Collection;

mod import;

pub use import::{import_line, line_key, Access, Imported, Stored};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A JSON value whose objects keep their members' order and repeats (serde_json's `Map` sorts
/// them without its `preserve_order` feature).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => n.serialize(serializer),
            Json::String(s) => serializer.serialize_str(s),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (name, value) in members {
                    map.serialize_entry(name, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        struct JsonVisitor;
        impl<'de> Visitor<'de> for JsonVisitor {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json, E> {
                serde_json::Number::from_f64(n)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("a number JSON cannot hold"))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::String(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut members = Vec::new();
                while let Some((name, value)) = map.next_entry()? {
                    members.push((name, value));
                }
                Ok(Json::Object(members))
            }
        }
        deserializer.deserialize_any(JsonVisitor)
    }
}

fn text(bytes: &[u8]) -> Json {
    match std::str::from_utf8(bytes) {
        Ok(s) => Json::String(s.to_owned()),
        Err(_) => Json::Object(vec![("base64".into(), Json::String(B64.encode(bytes)))]),
    }
}

fn texts<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Json {
    Json::Array(items.into_iter().map(text).collect())
}

fn number(n: impl Into<serde_json::Number>) -> Json {
    Json::Number(n.into())
}

fn id_text(id: (u64, u64)) -> Json {
    Json::String(format!("{}-{}", id.0, id.1))
}

fn score(value: f64) -> Json {
    match serde_json::Number::from_f64(value) {
        Some(n) => Json::Number(n),
        None if value > 0.0 => Json::String("inf".into()),
        None => Json::String("-inf".into()),
    }
}

/// The entry as one JSON line (no newline). Hash fields whose TTL has passed are left out, as a
/// read would not see them.
/// `entry`'s line; `sketch` is its shard's estimate of the key.
pub fn export_line(entry: &Entry, sketch: u8, now_ms: u64) -> String {
    let mut members: Vec<(String, Json)> = vec![
        ("key".into(), text(entry.key())),
        ("type".into(), Json::String(entry.type_name().into())),
    ];
    let mut field_ttls = Vec::new();
    let value = if let Some(value) = entry.string_value() {
        let bytes: &[u8] = match &value {
            StringValue::Bytes(bytes) => bytes,
            other => other,
        };
        text(bytes)
    } else {
        match entry.collection() {
            Some(Collection::List(list)) => texts(list.iter()),
            Some(Collection::Set(set)) => {
                Json::Array(set.iter().map(|m| text(&m.to_bytes())).collect())
            }
            Some(Collection::ZSet(zset)) => Json::Array(
                zset.iter()
                    .map(|item| Json::Array(vec![text(&item.member), score(item.score)]))
                    .collect(),
            ),
            Some(Collection::Hash(hash)) => {
                let alive: Vec<(&[u8], &[u8])> = hash
                    .iter()
                    .filter(|(field, _)| hash.field_expire_at(field).is_none_or(|at| at > now_ms))
                    .collect();
                for (field, _) in &alive {
                    if let Some(at) = hash.field_expire_at(field) {
                        field_ttls.push(Json::Array(vec![text(field), number(at)]));
                    }
                }
                if alive.iter().all(|(f, _)| std::str::from_utf8(f).is_ok()) {
                    Json::Object(
                        alive
                            .iter()
                            .map(|(f, v)| (String::from_utf8_lossy(f).into_owned(), text(v)))
                            .collect(),
                    )
                } else {
                    Json::Array(
                        alive
                            .iter()
                            .map(|(f, v)| Json::Array(vec![text(f), text(v)]))
                            .collect(),
                    )
                }
            }
            Some(Collection::Stream(stream)) => stream_json(&StreamRecord::of(stream)),
            None => Json::Null,
        }
    };
    members.push(("value".into(), value));
    if entry.has_expiry() {
        members.push(("expire_at".into(), number(entry.expire_at())));
    }
    if !field_ttls.is_empty() {
        members.push(("field_expire_at".into(), Json::Array(field_ttls)));
    }
    members.extend([
        (
            "priority".into(),
            Json::String(entry.priority().name().into()),
        ),
        ("cost".into(), number(entry.cost())),
        ("tags".into(), texts(entry.tags().iter().map(|t| &t[..]))),
        (
            "parents".into(),
            texts(entry.parents().iter().map(|p| &p[..])),
        ),
        ("lfu".into(), number(entry.lfu())),
        (
            "idle".into(),
            number(crate::engine::idle_seconds(entry.lru(), now_ms)),
        ),
        ("sketch".into(), number(sketch)),
    ]);
    serde_json::to_string(&Json::Object(members)).unwrap_or_default()
}

fn stream_json(record: &StreamRecord) -> Json {
    let entries = record
        .entries
        .iter()
        .map(|(ms, seq, fields)| {
            Json::Object(vec![
                ("id".into(), id_text((*ms, *seq))),
                ("fields".into(), texts(fields.iter().map(|f| f.as_slice()))),
            ])
        })
        .collect();
    let groups = record
        .groups
        .iter()
        .map(|group| {
            let consumers = group
                .consumers
                .iter()
                .map(|(name, seen)| {
                    Json::Object(vec![
                        ("name".into(), text(name)),
                        ("seen_time".into(), number(*seen)),
                    ])
                })
                .collect();
            let pending = group
                .pending
                .iter()
                .map(|(ms, seq, consumer, time, count)| {
                    Json::Object(vec![
                        ("id".into(), id_text((*ms, *seq))),
                        ("consumer".into(), text(consumer)),
                        ("delivery_time".into(), number(*time)),
                        ("delivery_count".into(), number(*count)),
                    ])
                })
                .collect();
            Json::Object(vec![
                ("name".into(), text(&group.name)),
                ("last_id".into(), id_text(group.last_id)),
                ("entries_read".into(), number(group.entries_read)),
                ("consumers".into(), Json::Array(consumers)),
                ("pending".into(), Json::Array(pending)),
            ])
        })
        .collect();
    Json::Object(vec![
        ("entries".into(), Json::Array(entries)),
        ("last_id".into(), id_text(record.last_id)),
        ("first_id".into(), id_text(record.first_id)),
        ("max_deleted_id".into(), id_text(record.max_deleted)),
        ("entries_added".into(), number(record.entries_added)),
        ("groups".into(), Json::Array(groups)),
    ])
}
