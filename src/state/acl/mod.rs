//! ACL users, as Redis 7.0's `acl.c`: who may run which commands on which keys and channels.
//! `rules.rs` parses and describes the rules (pure), `check.rs` decides a command, `log.rs` is
//! ACL LOG, `file.rs` the ACL file. The registry keeps each user as an immutable snapshot
//! (`Arc<User>`): a change publishes a new snapshot and bumps `epoch`, and each connection picks
//! the new one up before its next command (one atomic load when nothing changed), so a user
//! allowed everything (the default user) costs a flag check per command.

pub mod check;
pub mod file;
pub mod log;
pub mod rules;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::state::command::{AclCategories, CommandSpec};
use crate::sync::{LockExt, RwLockExt};

/// Command bits per selector; the last one is Redis's reserved "future commands" bit.
pub const COMMAND_BITS: usize = 1024;
const WORDS: usize = COMMAND_BITS / 64;
const FUTURE_BIT: usize = COMMAND_BITS - 1;

pub const DEFAULT_USER: &[u8] = b"default";

/// Read and write permission of a key pattern (`%R~`, `%W~`, `~` is both).
pub const KEY_READ: u8 = 1;
pub const KEY_WRITE: u8 = 2;
pub const KEY_ALL: u8 = KEY_READ | KEY_WRITE;

/// Every command and subcommand of the table with its ACL id (its position here), as Redis
/// numbers `server.orig_commands`.
pub struct CommandIndex {
    entries: Vec<IndexEntry>,
    top: Vec<usize>,
    by_name: HashMap<String, usize>,
    by_address: HashMap<usize, usize>,
}

pub struct IndexEntry {
    pub spec: &'static CommandSpec,
    pub parent: Option<usize>,
    /// `get`, `config|get`.
    pub full_name: String,
    pub children: Vec<usize>,
}

impl CommandIndex {
    pub fn new(commands: impl Iterator<Item = &'static CommandSpec>) -> CommandIndex {
        let mut index = CommandIndex {
            entries: Vec::new(),
            top: Vec::new(),
            by_name: HashMap::new(),
            by_address: HashMap::new(),
        };
        for spec in commands {
            let id = index.push(spec, None, spec.name.to_string());
            index.top.push(id);
            for sub in spec.subcommands {
                let child = index.push(sub, Some(id), format!("{}|{}", spec.name, sub.name));
                index.entries[id].children.push(child);
            }
        }
        assert!(
            index.entries.len() < FUTURE_BIT,
            "more commands than ACL bits"
        );
        index
    }

    fn push(&mut self, spec: &'static CommandSpec, parent: Option<usize>, name: String) -> usize {
        let id = self.entries.len();
        self.by_name.insert(name.clone(), id);
        self.by_address
            .insert(spec as *const CommandSpec as usize, id);
        self.entries.push(IndexEntry {
            spec,
            parent,
            full_name: name,
            children: Vec::new(),
        });
        id
    }

    /// A command by its full name (`get`, `config|get`), in any letter case.
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        self.by_name.get(&name).copied()
    }

    pub fn id_of(&self, spec: &CommandSpec) -> Option<usize> {
        self.by_address
            .get(&(spec as *const CommandSpec as usize))
            .copied()
    }

    pub fn entry(&self, id: usize) -> &IndexEntry {
        &self.entries[id]
    }

    pub fn top(&self) -> &[usize] {
        &self.top
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every id in Redis's walk order: each command, then its subcommands.
    pub fn walk(&self) -> impl Iterator<Item = usize> + '_ {
        self.top
            .iter()
            .flat_map(move |&id| std::iter::once(id).chain(self.entries[id].children.clone()))
    }

    pub fn categories(&self, id: usize) -> AclCategories {
        self.entries[id].spec.acl_categories
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Bytes,
    /// `KEY_READ`, `KEY_WRITE` or both.
    pub flags: u8,
}

/// One set of permissions: a user's root selector or one in parentheses. A command is allowed
/// when one of the user's selectors allows it with all its keys and channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    allowed: [u64; WORDS],
    pub all_commands: bool,
    /// Allowed first arguments of otherwise refused commands (`+select|0`), by command id.
    pub first_args: BTreeMap<usize, Vec<Bytes>>,
    pub all_keys: bool,
    pub patterns: Vec<KeyPattern>,
    pub all_channels: bool,
    pub channels: Vec<Bytes>,
}

impl Selector {
    /// An empty selector: nothing allowed but, per `acl-pubsub-default`, maybe every channel.
    pub fn new(all_channels: bool) -> Selector {
        Selector {
            allowed: [0; WORDS],
            all_commands: false,
            first_args: BTreeMap::new(),
            all_keys: false,
            patterns: Vec::new(),
            all_channels,
            channels: Vec::new(),
        }
    }

    pub fn bit(&self, id: usize) -> bool {
        id < COMMAND_BITS && self.allowed[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if id >= COMMAND_BITS {
            return;
        }
        if on {
            self.allowed[id / 64] |= 1 << (id % 64);
        } else {
            self.allowed[id / 64] &= !(1 << (id % 64));
            self.all_commands = false;
        }
    }

    /// Set by `+@all`: commands added later would be allowed too (Redis's reserved bit).
    pub fn future_commands(&self) -> bool {
        self.bit(FUTURE_BIT)
    }

    fn set_all(&mut self, on: bool) {
        self.allowed = if on { [u64::MAX; WORDS] } else { [0; WORDS] };
        self.all_commands = on;
        self.first_args.clear();
    }

    fn same_commands(&self, other: &Selector) -> bool {
        self.allowed == other.allowed
    }
}

/// Redis's `sanitize-payload` / `skip-sanitize-payload` user flags, accepted and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sanitize {
    Unset,
    Yes,
    Skip,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: Bytes,
    pub enabled: bool,
    pub nopass: bool,
    pub sanitize: Sanitize,
    /// SHA-256 of each password in lower-case hex, as Redis stores and shows them.
    pub passwords: Vec<String>,
    pub root: Selector,
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user as `ACL SETUSER name` creates it: off, no password, nothing allowed.
    pub fn new(name: &[u8], pubsub_all_channels: bool) -> User {
        User {
            name: Bytes::copy_from_slice(name),
            enabled: false,
            nopass: false,
            sanitize: Sanitize::Unset,
            passwords: Vec::new(),
            root: Selector::new(pubsub_all_channels),
            selectors: Vec::new(),
        }
    }

    /// The default user of a new server: `on nopass ~* &* +@all`.
    pub fn default_user() -> User {
        let mut user = User::new(DEFAULT_USER, true);
        user.enabled = true;
        user.nopass = true;
        user.root.set_all(true);
        user.root.all_keys = true;
        user
    }

    /// Allowed every command on every key and channel by its root selector: the dispatch check
    /// is skipped.
    pub fn unrestricted(&self) -> bool {
        self.root.all_commands && self.root.all_keys && self.root.all_channels
    }

    pub fn all_selectors(&self) -> impl Iterator<Item = &Selector> {
        std::iter::once(&self.root).chain(&self.selectors)
    }

    /// Whether `password` opens this user (disabled users never open), comparing hashes in
    /// constant time.
    pub fn password_ok(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hashed = hash_password(password);
        let mut found = subtle::Choice::from(0);
        for stored in &self.passwords {
            found |= stored.as_bytes().ct_eq(hashed.as_bytes());
        }
        found.into()
    }
}

/// Lower-case hex SHA-256, as Redis's `ACLHashPassword`.
pub fn hash_password(password: &[u8]) -> String {
    let digest = Sha256::digest(password);
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// The users, and what a connection compares to know its snapshot is current.
pub struct Acl {
    users: RwLock<BTreeMap<Bytes, Arc<User>>>,
    epoch: AtomicU64,
    pub log: log::AclLog,
    /// The `requirepass` last given to the default user: only a change of it touches the user
    /// again, so a CONFIG SET of another directive keeps ACL SETUSER's passwords.
    applied_requirepass: Mutex<Option<Vec<u8>>>,
}

impl Default for Acl {
    fn default() -> Self {
        let mut users = BTreeMap::new();
        users.insert(
            Bytes::from_static(DEFAULT_USER),
            Arc::new(User::default_user()),
        );
        Acl {
            users: RwLock::new(users),
            epoch: AtomicU64::new(1),
            log: Default::default(),
            applied_requirepass: Mutex::new(None),
        }
    }
}

impl Acl {
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub fn get(&self, name: &[u8]) -> Option<Arc<User>> {
        self.users.read_or_recover().get(name).cloned()
    }

    pub fn default_user(&self) -> Arc<User> {
        self.get(DEFAULT_USER)
            .expect("the default user cannot be removed")
    }

    pub fn users(&self) -> Vec<Arc<User>> {
        self.users.read_or_recover().values().cloned().collect()
    }

    /// Stores `user` (new or changed), returning the snapshot it replaced.
    pub fn put(&self, user: User) -> Option<Arc<User>> {
        let old = self
            .users
            .write_or_recover()
            .insert(user.name.clone(), Arc::new(user));
        self.epoch.fetch_add(1, Ordering::AcqRel);
        old
    }

    /// Changes a user under the write lock, so concurrent changes of one user do not lose each
    /// other's rules. `change` gets the current user (or `None`) and returns the new one.
    pub fn update<E>(
        &self,
        name: &[u8],
        change: impl FnOnce(Option<&User>) -> Result<User, E>,
    ) -> Result<(Option<Arc<User>>, Arc<User>), E> {
        let mut users = self.users.write_or_recover();
        let old = users.get(name).cloned();
        let new = Arc::new(change(old.as_deref())?);
        users.insert(new.name.clone(), new.clone());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        Ok((old, new))
    }

    /// `requirepass` sets the default user's only password, or makes it `nopass` when empty
    /// (Redis 7's `ACLUpdateDefaultUserPassword`).
    pub fn apply_requirepass(&self, requirepass: &[u8]) {
        let mut applied = self.applied_requirepass.lock_or_recover();
        if applied.as_deref() == Some(requirepass) {
            return;
        }
        let first = applied.is_none();
        *applied = Some(requirepass.to_vec());
        if first && requirepass.is_empty() {
            return;
        }
        let _ = self.update::<()>(DEFAULT_USER, |old| {
            let mut user = old.cloned().unwrap_or_else(User::default_user);
            user.passwords.clear();
            user.nopass = requirepass.is_empty();
            if !requirepass.is_empty() {
                user.passwords.push(hash_password(requirepass));
            }
            Ok(user)
        });
    }

    pub fn remove(&self, name: &[u8]) -> bool {
        let removed = self.users.write_or_recover().remove(name).is_some();
        if removed {
            self.epoch.fetch_add(1, Ordering::AcqRel);
        }
        removed
    }

    /// Replaces every user (ACL LOAD), the default one created when missing.
    pub fn replace_all(&self, users: Vec<User>) -> Vec<Arc<User>> {
        let mut map: BTreeMap<Bytes, Arc<User>> = users
            .into_iter()
            .map(|u| (u.name.clone(), Arc::new(u)))
            .collect();
        map.entry(Bytes::from_static(DEFAULT_USER))
            .or_insert_with(|| Arc::new(User::default_user()));
        let old = std::mem::replace(&mut *self.users.write_or_recover(), map);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        old.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_as_redis() {
        assert_eq!(
            hash_password(b"p"),
            "148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940"
        );
        let mut user = User::new(b"u", false);
        user.passwords.push(hash_password(b"secret"));
        assert!(!user.password_ok(b"secret"), "a disabled user never opens");
        user.enabled = true;
        assert!(user.password_ok(b"secret"));
        assert!(!user.password_ok(b"secreT"));
        assert!(!user.password_ok(b""));
        user.nopass = true;
        assert!(user.password_ok(b"anything"));
    }

    #[test]
    fn the_default_user_is_unrestricted() {
        let user = User::default_user();
        assert!(user.unrestricted());
        assert!(user.root.future_commands());
        assert!(user.password_ok(b"whatever"));
    }
}
