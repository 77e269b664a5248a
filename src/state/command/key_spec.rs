//! Redis 7's key specifications: where a command's keys are among its arguments and how it uses
//! each (read, overwrite, delete...). Cluster-aware clients route by them (`COMMAND INFO`), and
//! `COMMAND GETKEYS[ANDFLAGS]` answers with them. The specs of Redis's commands are data
//! (`key_specs.rs`, generated); a command of cachet's own gets one derived from its table row.

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

bitflags::bitflags! {
    /// How a command uses a key, with Redis's names (`COMMAND INFO` prints them as written).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct KeyFlags: u16 {
        const RO = 1 << 0;
        const RW = 1 << 1;
        const OW = 1 << 2;
        const RM = 1 << 3;
        const ACCESS = 1 << 4;
        const UPDATE = 1 << 5;
        const INSERT = 1 << 6;
        const DELETE = 1 << 7;
        const NOT_KEY = 1 << 8;
        const INCOMPLETE = 1 << 9;
        const VARIABLE_FLAGS = 1 << 10;
    }
}

/// A key flag set from names: `key_flags!(RW, ACCESS)`.
#[macro_export]
macro_rules! key_flags {
    ($($flag:ident),* $(,)?) => {
        $crate::state::command::key_spec::KeyFlags::empty()
            $(.union($crate::state::command::key_spec::KeyFlags::$flag))*
    };
}

impl KeyFlags {
    /// Redis's names, in Redis's order: the access type in capitals, the rest in lower case.
    pub fn names(self) -> Vec<String> {
        self.iter_names()
            .map(|(name, flag)| {
                if flag.intersects(KeyFlags::RO | KeyFlags::RW | KeyFlags::OW | KeyFlags::RM) {
                    name.to_string()
                } else {
                    name.to_ascii_lowercase()
                }
            })
            .collect()
    }
}

/// Where the search for the keys begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After this keyword, searched from `startfrom` (from the end when negative).
    Keyword(&'static str, i32),
    /// Only the command's own code knows (a movable key).
    Unknown,
}

/// Which arguments from there are keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Find {
    /// Up to `lastkey` (from the end when negative; with `limit`, a fraction of what remains),
    /// every `keystep`.
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    /// A count of keys at `keynumidx`, the first key `firstkey` after the begin position.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub flags: KeyFlags,
    pub begin: Begin,
    pub find: Find,
}

/// Redis's specs of the command `full_name` (`get`, `object|freq`), if Redis has the command.
pub fn redis_key_specs(full_name: &str) -> Option<&'static [KeySpec]> {
    static INDEX: OnceLock<HashMap<&'static str, &'static [KeySpec]>> = OnceLock::new();
    INDEX
        .get_or_init(|| super::key_specs::KEY_SPECS.iter().copied().collect())
        .get(full_name)
        .copied()
}

impl KeySpec {
    /// The argument positions this spec names in `args` (the command's name at 0), as Redis's
    /// `getKeysUsingKeySpecs`; `None` when the arguments contradict it (a count that is not a
    /// non-negative integer, keys past the end), `Some(empty)` when it does not apply (a keyword
    /// that is absent, a position only the command's code knows).
    pub fn positions(&self, args: &[Bytes]) -> Option<Vec<usize>> {
        let argc = args.len() as i64;
        let first: i64 = match self.begin {
            Begin::Index(index) => index as i64,
            Begin::Keyword(keyword, startfrom) => {
                let (start, end, step): (i64, i64, i64) = if startfrom >= 0 {
                    (startfrom as i64, argc, 1)
                } else {
                    (argc + startfrom as i64, 0, -1)
                };
                let mut at = start;
                let mut found = None;
                while (step > 0 && at < end) || (step < 0 && at > end) {
                    if at >= 0
                        && at < argc
                        && args[at as usize].eq_ignore_ascii_case(keyword.as_bytes())
                    {
                        found = Some(at + 1);
                        break;
                    }
                    at += step;
                }
                match found {
                    Some(first) => first,
                    None => return Some(Vec::new()),
                }
            }
            Begin::Unknown => return Some(Vec::new()),
        };
        let (first, last, step) = match self.find {
            Find::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first + lastkey as i64
                } else if limit == 0 {
                    argc + lastkey as i64
                } else {
                    first + ((argc - first) / limit as i64 + lastkey as i64)
                };
                (first, last, keystep.max(1) as i64)
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                let at = first + keynumidx as i64;
                let count = usize::try_from(at)
                    .ok()
                    .and_then(|at| args.get(at))
                    .and_then(|n| crate::protocol::parse_i64(n))
                    .filter(|&n| n >= 0)?;
                let first = first + firstkey as i64;
                (first, first + count - 1, keystep.max(1) as i64)
            }
            Find::Unknown => return Some(Vec::new()),
        };
        if last < first {
            return Some(Vec::new());
        }
        if last >= argc || first >= argc {
            return None;
        }
        Some(
            (first..=last)
                .step_by(step as usize)
                .map(|i| i as usize)
                .collect(),
        )
    }
}

/// The flags of a key whose use depends on the options (Redis's `setGetKeys`,
/// `bitfieldGetKeys`): SET overwrites unless GET reads the old value too; BITFIELD only reads
/// when it has nothing but GETs.
pub fn variable_key_flags(command: &str, args: &[Bytes], declared: KeyFlags) -> KeyFlags {
    let has = |word: &str| {
        args.iter()
            .skip(2)
            .any(|a| a.eq_ignore_ascii_case(word.as_bytes()))
    };
    match command {
        "set" if !has("get") => KeyFlags::OW | KeyFlags::UPDATE,
        "set" => KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE,
        "bitfield" if !has("set") && !has("incrby") => KeyFlags::RO | KeyFlags::ACCESS,
        "bitfield" => KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE,
        _ => declared - KeyFlags::VARIABLE_FLAGS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<Bytes> {
        text.split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    #[test]
    fn positions_as_redis_finds_them() {
        let zunionstore = redis_key_specs("zunionstore").unwrap();
        let request = args("zunionstore d 2 a b WEIGHTS 1 2");
        assert_eq!(zunionstore[0].positions(&request), Some(vec![1]));
        assert_eq!(zunionstore[1].positions(&request), Some(vec![3, 4]));
        assert_eq!(zunionstore[1].positions(&args("zunionstore d x a")), None);
        let xread = redis_key_specs("xread").unwrap();
        assert_eq!(
            xread[0].positions(&args("xread COUNT 2 STREAMS s1 s2 0 0")),
            Some(vec![4, 5])
        );
        let mset = redis_key_specs("mset").unwrap();
        assert_eq!(mset[0].positions(&args("mset a 1 b 2")), Some(vec![1, 3]));
        assert_eq!(
            mset[0].flags.names(),
            ["OW", "update"].map(String::from).to_vec()
        );
    }
}
