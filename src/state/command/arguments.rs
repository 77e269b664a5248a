//! The documented grammar of a command's arguments, as COMMAND DOCS gives it: what redis-cli reads
//! at startup to show typing hints. Redis's commands take theirs from `arguments_table.rs`
//! (generated from redis-server by `scripts/gen-command-metadata.py`).

use std::collections::HashMap;
use std::sync::OnceLock;

bitflags::bitflags! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ArgFlags: u8 {
        const OPTIONAL = 1;
        const MULTIPLE = 1 << 1;
        const MULTIPLE_TOKEN = 1 << 2;
    }
}

impl ArgFlags {
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        [
            (ArgFlags::OPTIONAL, "optional"),
            (ArgFlags::MULTIPLE, "multiple"),
            (ArgFlags::MULTIPLE_TOKEN, "multiple_token"),
        ]
        .into_iter()
        .filter(move |(flag, _)| self.contains(*flag))
        .map(|(_, name)| name)
    }
}

/// One argument: `kind` is Redis's type name (`key`, `string`, `integer`, `double`, `pattern`,
/// `unix-time`, `pure-token`, `oneof`, `block`); `oneof` and `block` nest `arguments`.
#[derive(Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: &'static str,
    pub key_spec_index: Option<u8>,
    pub token: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    pub flags: ArgFlags,
    pub arguments: &'static [Arg],
}

#[derive(Debug)]
pub struct CommandDocs {
    pub doc_flags: &'static [&'static str],
    pub deprecated_since: Option<&'static str>,
    pub arguments: &'static [Arg],
}

/// Redis's documentation facts of the command `full_name`, if Redis has the command.
pub fn redis_command_docs(full_name: &str) -> Option<&'static CommandDocs> {
    static INDEX: OnceLock<HashMap<&'static str, &'static CommandDocs>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            super::arguments_table::COMMAND_DOCS
                .iter()
                .map(|(name, docs)| (*name, docs))
                .collect()
        })
        .get(full_name)
        .copied()
}
