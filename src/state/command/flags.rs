//! Command flags and ACL categories as bit sets: the hot path tests a flag with one AND, a
//! misspelt name does not compile, and `COMMAND INFO` prints Redis's names in Redis's order (the
//! declaration order below, which is the order of Redis 7's `addReplyCommandFlags` and of its ACL
//! category table).

bitflags::bitflags! {
    /// What Redis's command table says of a command (`COMMAND INFO`'s third field).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct CommandFlags: u32 {
        const WRITE = 1 << 0;
        const READONLY = 1 << 1;
        /// May grow memory: refused with OOM when the limit cannot be met.
        const DENYOOM = 1 << 2;
        const MODULE = 1 << 3;
        const ADMIN = 1 << 4;
        const PUBSUB = 1 << 5;
        const NOSCRIPT = 1 << 6;
        const BLOCKING = 1 << 7;
        const LOADING = 1 << 8;
        const STALE = 1 << 9;
        const SKIP_MONITOR = 1 << 10;
        const SKIP_SLOWLOG = 1 << 11;
        const ASKING = 1 << 12;
        const FAST = 1 << 13;
        /// Runs before authentication.
        const NO_AUTH = 1 << 14;
        const MAY_REPLICATE = 1 << 15;
        const NO_MANDATORY_KEYS = 1 << 16;
        const NO_ASYNC_LOADING = 1 << 17;
        /// Refused inside MULTI.
        const NO_MULTI = 1 << 18;
        const MOVABLEKEYS = 1 << 19;
        const ALLOW_BUSY = 1 << 20;
    }
}

bitflags::bitflags! {
    /// ACL categories (`COMMAND INFO`'s seventh field, `ACL CAT`): Redis 7's 21, then cachet's own.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct AclCategories: u32 {
        const KEYSPACE = 1 << 0;
        const READ = 1 << 1;
        const WRITE = 1 << 2;
        const SET = 1 << 3;
        const SORTEDSET = 1 << 4;
        const LIST = 1 << 5;
        const HASH = 1 << 6;
        const STRING = 1 << 7;
        const BITMAP = 1 << 8;
        const HYPERLOGLOG = 1 << 9;
        const GEO = 1 << 10;
        const STREAM = 1 << 11;
        const PUBSUB = 1 << 12;
        const ADMIN = 1 << 13;
        const FAST = 1 << 14;
        const SLOW = 1 << 15;
        const BLOCKING = 1 << 16;
        const DANGEROUS = 1 << 17;
        const CONNECTION = 1 << 18;
        const TRANSACTION = 1 << 19;
        const SCRIPTING = 1 << 20;
        /// cachet's own commands (CACHE.*, TAG.*).
        const CACHE = 1 << 21;
    }
}

/// A flag set from flag names: `flags!(WRITE, DENYOOM, FAST)`.
#[macro_export]
macro_rules! flags {
    ($($flag:ident),* $(,)?) => {
        $crate::state::command::flags::CommandFlags::empty()
            $(.union($crate::state::command::flags::CommandFlags::$flag))*
    };
}

/// A category set from category names: `acl!(WRITE, STRING, SLOW)`.
#[macro_export]
macro_rules! acl {
    ($($category:ident),* $(,)?) => {
        $crate::state::command::flags::AclCategories::empty()
            $(.union($crate::state::command::flags::AclCategories::$category))*
    };
}

impl CommandFlags {
    /// Redis's names of the flags set, in Redis's order. `may_replicate` is not shown, as Redis
    /// hides it on purpose (it only tells CLIENT PAUSE WRITE which commands to hold).
    pub fn names(self) -> impl Iterator<Item = String> {
        self.difference(CommandFlags::MAY_REPLICATE)
            .iter_names()
            .map(|(name, _)| name.to_ascii_lowercase())
    }
}

impl AclCategories {
    /// The category of this name, without its `@`, in any letter case (`COMMAND LIST FILTERBY
    /// ACLCAT read`).
    pub fn named(name: &[u8]) -> Option<AclCategories> {
        AclCategories::all()
            .iter_names()
            .find(|(known, _)| known.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, category)| category)
    }

    /// Redis's names of the categories set (`@read`...), in Redis's order.
    pub fn names(self) -> impl Iterator<Item = String> {
        self.iter_names()
            .map(|(name, _)| format!("@{}", name.to_ascii_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_redis_prints_them() {
        let flags = flags!(FAST, NO_AUTH, NOSCRIPT, ALLOW_BUSY);
        assert_eq!(
            flags.names().collect::<Vec<_>>(),
            ["noscript", "fast", "no_auth", "allow_busy"]
        );
        let categories = acl!(SLOW, WRITE, STRING);
        assert_eq!(
            categories.names().collect::<Vec<_>>(),
            ["@write", "@string", "@slow"]
        );
        assert_eq!(AclCategories::all().names().count(), 22);
    }
}
