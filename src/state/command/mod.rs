//! What a command is, for every layer that needs to know (the table's types, like Dragonfly's
//! `facade/command_id.h`): `CommandSpec` (name, arity, flags, key positions, docs, handler),
//! `Ctx` (what a handler gets) and the flag and category sets. The tables and the handlers
//! themselves are `commands`'.

#[macro_use]
pub mod flags;
pub mod arguments;
mod arguments_table;
#[macro_use]
pub mod key_spec;
mod key_specs;

use bytes::Bytes;

use crate::error::CmdResult;
use crate::protocol::ReplyBuf;
use crate::state::clients::ClientState;
use crate::state::Server;
pub use flags::{AclCategories, CommandFlags};

/// What a handler gets: the shared server, its own client's state, the reply buffer, and the time
/// of the command (one clock reading per command, so expiry decisions within it agree).
pub struct Ctx<'a> {
    pub server: &'a Server,
    pub client: &'a mut ClientState,
    pub out: &'a mut ReplyBuf,
    pub now_ms: u64,
}

impl Ctx<'_> {
    /// Announces a change to `key` in the client's database (Redis's `notifyKeyspaceEvent` and
    /// `signalModifiedKey` in one): WATCH, keyspace notifications, tracking and peers all listen.
    /// `class` is one of `engine::notice::class`, `event` Redis's event name.
    pub fn notify(&self, class: u16, event: &'static str, key: &[u8]) {
        self.server
            .keyspace
            .notices
            .key(self.client.db, key, class, event);
    }
}

pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// Key positions found in a command's arguments (see `CommandSpec::movable_keys`).
pub type KeyFinder = fn(&[Bytes]) -> Vec<usize>;

/// The keys of a command whose `numkeys` argument at `AT` counts the keys that follow it, after
/// a destination key at 1 when `DEST` (ZUNIONSTORE); none (an error for COMMAND GETKEYS) when
/// `numkeys` is not a positive integer or counts more arguments than there are.
pub fn numkeys_keys<const AT: usize, const DEST: bool>(args: &[Bytes]) -> Vec<usize> {
    let count = args
        .get(AT)
        .and_then(|n| crate::protocol::parse_i64(n))
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0 && AT + n < args.len());
    match count {
        Some(n) => DEST
            .then_some(1)
            .into_iter()
            .chain(AT + 1..=AT + n)
            .collect(),
        None => Vec::new(),
    }
}

pub struct CommandSpec {
    /// Lower case, as `COMMAND` reports it.
    pub name: &'static str,
    /// Exact argument count including the name when positive, minimum when negative.
    pub arity: i32,
    pub flags: CommandFlags,
    pub acl_categories: AclCategories,
    /// First key, last key (negative counts from the end), step; all zero for no keys.
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    /// Finds the keys of a command whose keys move with its options (`movablekeys`, as
    /// GEORADIUS's STORE key), as Redis's key specs find them: positions in the command's
    /// arguments, the name at 0. `None`: first key, last key and step say it all.
    pub movable_keys: Option<KeyFinder>,
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
    /// `None` for a container whose work is done by its subcommands.
    pub handler: Option<Handler>,
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    pub fn has_flag(&self, flag: CommandFlags) -> bool {
        self.flags.contains(flag)
    }

    /// Positions of the key arguments in `args`, following first/last/step as Redis's
    /// `getKeysFromCommand` does for commands without key specs.
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        if self.first_key <= 0 {
            return Vec::new();
        }
        let first = self.first_key as usize;
        let last = if self.last_key < 0 {
            argc as i64 + self.last_key as i64
        } else {
            self.last_key as i64
        };
        let step = self.key_step.max(1) as usize;
        if last < first as i64 {
            return Vec::new();
        }
        (first..=(last as usize).min(argc.saturating_sub(1)))
            .step_by(step)
            .collect()
    }

    /// Its key specifications: Redis's for a command Redis has (`key_specs.rs`), else one
    /// derived from its first/last/step, used for reading or, for a write command, updating.
    pub fn key_specs(&self, parent: Option<&CommandSpec>) -> Vec<key_spec::KeySpec> {
        let name = match parent {
            Some(parent) => format!("{}|{}", parent.name, self.name),
            None => self.name.to_string(),
        };
        if let Some(specs) = key_spec::redis_key_specs(&name) {
            return specs.to_vec();
        }
        if self.first_key <= 0 {
            return Vec::new();
        }
        let flags = if self.flags.contains(CommandFlags::WRITE) {
            key_spec::KeyFlags::RW | key_spec::KeyFlags::UPDATE
        } else {
            key_spec::KeyFlags::RO | key_spec::KeyFlags::ACCESS
        };
        // Redis's range counts the last key from the first one unless it counts from the end.
        let lastkey = if self.last_key < 0 {
            self.last_key
        } else {
            self.last_key - self.first_key
        };
        vec![key_spec::KeySpec {
            flags,
            begin: key_spec::Begin::Index(self.first_key),
            find: key_spec::Find::Range {
                lastkey,
                keystep: self.key_step.max(1),
                limit: 0,
            },
        }]
    }

    /// Each key position in `args` (the command's name at 0) with the flags of the key spec that
    /// names it, as Redis's `getKeysFromCommandWithSpecs`: a key only the command's code finds
    /// (SORT's STORE) takes those of its last spec, which in Redis's tables is the movable one;
    /// a spec with `variable_flags` is settled by the arguments (`key_spec::variable_key_flags`).
    pub fn keys_with_flags(
        &self,
        parent: Option<&CommandSpec>,
        args: &[Bytes],
    ) -> Vec<(usize, key_spec::KeyFlags)> {
        let positions = self.keys_in(args);
        if positions.is_empty() {
            return Vec::new();
        }
        let specs = self.key_specs(parent);
        let named: Vec<(Vec<usize>, key_spec::KeyFlags)> = specs
            .iter()
            .map(|s| (s.positions(args).unwrap_or_default(), s.flags))
            .collect();
        positions
            .into_iter()
            .filter(|&p| p < args.len())
            .map(|position| {
                let flags = named
                    .iter()
                    .find(|(positions, _)| positions.contains(&position))
                    .map(|(_, flags)| *flags)
                    .or_else(|| specs.last().map(|s| s.flags))
                    .unwrap_or(key_spec::KeyFlags::RW);
                let flags = match flags.contains(key_spec::KeyFlags::VARIABLE_FLAGS) {
                    true => key_spec::variable_key_flags(self.name, args, flags),
                    false => flags,
                };
                (position, flags)
            })
            .collect()
    }

    /// Positions of the key arguments in `args` (the command's name at 0), movable ones included.
    pub fn keys_in(&self, args: &[Bytes]) -> Vec<usize> {
        match self.movable_keys {
            Some(find) => find(args),
            None => self.key_positions(args.len()),
        }
    }
}

/// Defaults for the documentation fields, so a family's table states only what differs.
pub const SPEC: CommandSpec = CommandSpec {
    name: "",
    arity: 1,
    flags: CommandFlags::empty(),
    acl_categories: AclCategories::empty(),
    first_key: 0,
    last_key: 0,
    key_step: 0,
    movable_keys: None,
    group: "generic",
    summary: "",
    since: "1.0.0",
    complexity: "O(1)",
    handler: None,
    subcommands: &[],
};
