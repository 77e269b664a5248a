//! ACL LOG: the latest refusals (commands, keys, channels, failed AUTH), newest first, a repeat
//! within a minute counted on its entry instead of added (Redis 7.0's `addACLLogEntry`).

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;

use crate::sync::LockExt;

/// Entries closer than this in time with the same reason, context, object and user are one.
const GROUPING_MAX_MS: u64 = 60_000;
/// How many of the newest entries a new one is compared with.
const SCANNED: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Command,
    Key,
    Channel,
    Auth,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
            Reason::Auth => "auth",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    Multi,
    Lua,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub count: u64,
    pub reason: Reason,
    pub context: Context,
    pub object: Bytes,
    pub username: Bytes,
    /// Unix milliseconds of the latest occurrence.
    pub updated_ms: u64,
    /// The CLIENT LIST line of the client of the latest occurrence.
    pub client_info: String,
}

#[derive(Default)]
pub struct AclLog {
    entries: Mutex<VecDeque<Entry>>,
}

impl AclLog {
    /// Records a refusal, keeping at most `max_len` entries.
    pub fn add(&self, entry: Entry, max_len: usize) {
        let mut entries = self.entries.lock_or_recover();
        let same = entries.iter().take(SCANNED).position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && e.updated_ms.abs_diff(entry.updated_ms) <= GROUPING_MAX_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        match same {
            Some(at) => {
                let mut existing = entries.remove(at).expect("found above");
                existing.count += 1;
                existing.updated_ms = entry.updated_ms;
                existing.client_info = entry.client_info;
                entries.push_front(existing);
            }
            None => {
                entries.push_front(entry);
                entries.truncate(max_len);
            }
        }
    }

    /// The newest `count` entries.
    pub fn newest(&self, count: usize) -> Vec<Entry> {
        self.entries
            .lock_or_recover()
            .iter()
            .take(count)
            .cloned()
            .collect()
    }

    pub fn reset(&self) {
        self.entries.lock_or_recover().clear();
    }

    /// `acllog-max-len` lowered: the oldest entries go now, as Redis trims on the next entry.
    pub fn trim(&self, max_len: usize) {
        self.entries.lock_or_recover().truncate(max_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(object: &str, at: u64) -> Entry {
        Entry {
            count: 1,
            reason: Reason::Command,
            context: Context::Toplevel,
            object: Bytes::copy_from_slice(object.as_bytes()),
            username: Bytes::from_static(b"u"),
            updated_ms: at,
            client_info: format!("at {at}"),
        }
    }

    #[test]
    fn repeats_are_counted_and_the_log_is_bounded() {
        let log = AclLog::default();
        log.add(entry("get", 0), 3);
        log.add(entry("set", 1), 3);
        log.add(entry("get", 2), 3);
        let newest = log.newest(10);
        assert_eq!(newest.len(), 2);
        assert_eq!(
            (newest[0].object.as_ref(), newest[0].count),
            (&b"get"[..], 2)
        );
        assert_eq!(newest[0].client_info, "at 2");
        // More than a minute later it is a new entry.
        log.add(entry("get", 2 + GROUPING_MAX_MS + 1), 3);
        log.add(entry("del", 70_000), 3);
        assert_eq!(log.newest(10).len(), 3);
        assert_eq!(log.newest(1)[0].object, "del");
        log.trim(1);
        assert_eq!(log.newest(10).len(), 1);
        log.reset();
        assert!(log.newest(10).is_empty());
    }
}
