//! A stream in a snapshot: its live entries, its counters (last ID, first ID, largest deleted ID,
//! entries ever added) and its consumer groups with their pending entries and consumers. Deleted
//! entries' tombstones are not kept: the stream is rebuilt by appending its live entries, so its
//! nodes are packed as XADD would pack them; what XINFO derives from the counters is unchanged.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::engine::types::stream::{NewId, NodeLimits, StreamId, StreamValue};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamRecord {
    /// (ms, seq, field, value, field, value...)
    pub entries: Vec<(u64, u64, Vec<ByteBuf>)>,
    pub last_id: (u64, u64),
    pub first_id: (u64, u64),
    pub max_deleted: (u64, u64),
    pub entries_added: u64,
    pub groups: Vec<GroupRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupRecord {
    pub name: ByteBuf,
    pub last_id: (u64, u64),
    pub entries_read: i64,
    /// (name, seen time)
    pub consumers: Vec<(ByteBuf, i64)>,
    /// (ms, seq, consumer, delivery time, delivery count)
    pub pending: Vec<(u64, u64, ByteBuf, i64, u64)>,
}

fn pair(id: StreamId) -> (u64, u64) {
    (id.ms, id.seq)
}

fn id((ms, seq): (u64, u64)) -> StreamId {
    StreamId::new(ms, seq)
}

impl StreamRecord {
    pub fn of(stream: &StreamValue) -> StreamRecord {
        let entries = stream
            .range(StreamId::MIN, StreamId::MAX, false)
            .map(|entry| {
                let mut fields = Vec::with_capacity(entry.field_count() * 2);
                for (field, value) in entry.pairs() {
                    for elem in [field, value] {
                        let mut bytes = Vec::new();
                        elem.write_to(&mut bytes);
                        fields.push(ByteBuf::from(bytes));
                    }
                }
                (entry.id.ms, entry.id.seq, fields)
            })
            .collect();
        let groups = stream
            .groups()
            .map(|(name, group)| GroupRecord {
                name: ByteBuf::from(name.to_vec()),
                last_id: pair(group.last_id),
                entries_read: group.entries_read,
                consumers: group
                    .consumers
                    .iter()
                    .map(|(name, c)| (ByteBuf::from(name.to_vec()), c.seen_time))
                    .collect(),
                pending: group
                    .pel
                    .iter()
                    .map(|(id, nack)| {
                        (
                            id.ms,
                            id.seq,
                            ByteBuf::from(nack.consumer.to_vec()),
                            nack.delivery_time,
                            nack.delivery_count,
                        )
                    })
                    .collect(),
            })
            .collect();
        StreamRecord {
            entries,
            last_id: pair(stream.last_id),
            first_id: pair(stream.first_id),
            max_deleted: pair(stream.max_deleted),
            entries_added: stream.entries_added,
            groups,
        }
    }

    /// The stream again; `Err` says what in the record is inconsistent.
    pub fn rebuild(&self, limits: NodeLimits) -> Result<StreamValue, String> {
        let mut stream = StreamValue::new();
        for (ms, seq, fields) in &self.entries {
            if fields.is_empty() || fields.len() % 2 != 0 {
                return Err("a stream entry without field/value pairs".into());
            }
            let pairs: Vec<&[u8]> = fields.iter().map(|f| f.as_slice()).collect();
            stream
                .append(NewId::Exact(StreamId::new(*ms, *seq)), &pairs, limits)
                .map_err(|_| "stream entries out of order".to_string())?;
        }
        let last = id(self.last_id);
        if stream.last_id > last {
            return Err("a stream entry beyond the last ID".into());
        }
        stream.last_id = last;
        stream.first_id = id(self.first_id);
        stream.max_deleted = id(self.max_deleted);
        stream.entries_added = self.entries_added;
        for group in &self.groups {
            if !stream.create_group(&group.name, id(group.last_id), group.entries_read) {
                return Err("a consumer group twice".into());
            }
            let consistent = stream.with_group(&group.name, |g, _| {
                for (name, seen) in &group.consumers {
                    if g.create_consumer(name, *seen).is_none() {
                        return false;
                    }
                }
                for (ms, seq, owner, time, count) in &group.pending {
                    let Some(owner) = g.lookup_consumer(owner, None) else {
                        return false;
                    };
                    let entry = StreamId::new(*ms, *seq);
                    g.deliver(entry, &owner, *time);
                    if let Some(nack) = g.pel.get_mut(&entry) {
                        nack.delivery_count = *count;
                    }
                }
                true
            });
            if consistent != Some(true) {
                return Err("a consumer group's consumers or pending entries".into());
            }
        }
        Ok(stream)
    }
}
