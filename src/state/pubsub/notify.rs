//! Keyspace notifications (`notify-keyspace-events`): the registry as a sink of keyspace notices,
//! published on Redis's `__keyspace@<db>__` and `__keyevent@<db>__` channels.

use std::sync::atomic::Ordering;

use super::PubSub;
use crate::engine::notice::{class, Notice, NoticeSink};

/// Keyspace notifications: Redis's `notifyKeyspaceEvent`.
impl NoticeSink for PubSub {
    fn notice(&self, notice: &Notice<'_>) {
        let enabled = self.keyspace_events.load(Ordering::Relaxed);
        if enabled & notice.class == 0 || notice.class & (class::INVALIDATE | class::REWRITTEN) != 0
        {
            return;
        }
        let Some(key) = notice.key() else {
            return;
        };
        if enabled & class::KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{}__:", notice.db).into_bytes();
            channel.extend_from_slice(key);
            self.publish_notification(&channel, notice.event.as_bytes());
        }
        if enabled & class::KEYEVENT != 0 {
            let channel = format!("__keyevent@{}__:{}", notice.db, notice.event).into_bytes();
            self.publish_notification(&channel, key);
        }
    }
}

/// The `notify-keyspace-events` letters, Redis's `keyspaceEventsStringToFlags`.
pub fn parse_keyspace_events(text: &str) -> Option<u16> {
    let mut flags = 0;
    for letter in text.chars() {
        flags |= match letter {
            'A' => ALL_EVENTS,
            'g' => class::GENERIC,
            '$' => class::STRING,
            'l' => class::LIST,
            's' => class::SET,
            'h' => class::HASH,
            'z' => class::ZSET,
            'x' => class::EXPIRED,
            'e' => class::EVICTED,
            'K' => class::KEYSPACE,
            'E' => class::KEYEVENT,
            't' => class::STREAM,
            'm' => class::KEY_MISS,
            'd' => class::MODULE,
            'n' => class::NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// Redis's `NOTIFY_ALL`: what `A` stands for (neither key misses nor new keys).
const ALL_EVENTS: u16 = class::GENERIC
    | class::STRING
    | class::LIST
    | class::SET
    | class::HASH
    | class::ZSET
    | class::EXPIRED
    | class::EVICTED
    | class::STREAM
    | class::MODULE;

/// The canonical form CONFIG GET shows, Redis's `keyspaceEventsFlagsToString`.
pub fn keyspace_events_text(flags: u16) -> String {
    let mut text = String::new();
    if flags & ALL_EVENTS == ALL_EVENTS {
        text.push('A');
    } else {
        for (bit, letter) in [
            (class::GENERIC, 'g'),
            (class::STRING, '$'),
            (class::LIST, 'l'),
            (class::SET, 's'),
            (class::HASH, 'h'),
            (class::ZSET, 'z'),
            (class::EXPIRED, 'x'),
            (class::EVICTED, 'e'),
            (class::STREAM, 't'),
            (class::MODULE, 'd'),
            (class::NEW, 'n'),
        ] {
            if flags & bit != 0 {
                text.push(letter);
            }
        }
    }
    for (bit, letter) in [
        (class::KEYSPACE, 'K'),
        (class::KEYEVENT, 'E'),
        (class::KEY_MISS, 'm'),
    ] {
        if flags & bit != 0 {
            text.push(letter);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyspace_event_letters_round_trip_to_redis_canonical_form() {
        let text = |s: &str| parse_keyspace_events(s).map(keyspace_events_text);
        assert_eq!(text("KEA").as_deref(), Some("AKE"));
        assert_eq!(text("gx").as_deref(), Some("gx"));
        assert_eq!(text("AKEmn").as_deref(), Some("AKEm"));
        assert_eq!(text("nK").as_deref(), Some("nK"));
        assert_eq!(text("gd$K").as_deref(), Some("g$dK"));
        assert_eq!(text("g$lshzxetd").as_deref(), Some("A"));
        assert_eq!(text("").as_deref(), Some(""));
        assert_eq!(text("Kq"), None);
    }
}
