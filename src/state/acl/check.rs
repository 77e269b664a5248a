//! Whether a user may run a command with these arguments (Redis 7.0's
//! `ACLCheckAllUserCommandPerm`): one of its selectors must allow the command, every key for the
//! way the command uses it (the key specs' access/insert/delete/update flags against `%R`/`%W`)
//! and every channel it publishes or subscribes to.

use bytes::Bytes;

use super::{CommandIndex, Selector, User, KEY_READ, KEY_WRITE};
use crate::engine::glob::glob_match;
use crate::state::command::key_spec::KeyFlags;
use crate::state::command::{CommandFlags, CommandSpec};

/// Why a command was refused; the position is the refused key's or channel's argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denied {
    /// Redis's order of precedence when no selector allows the command (`ACL_DENIED_*`).
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(at) => (2, at),
            Denied::Channel(at) => (4, at),
        }
    }
}

/// What a key use needs: read for `access`, write for `insert`, `delete`, `update`.
pub fn needed(flags: KeyFlags) -> u8 {
    let mut needed = 0;
    if flags.contains(KeyFlags::ACCESS) {
        needed |= KEY_READ;
    }
    if flags.intersects(KeyFlags::INSERT | KeyFlags::DELETE | KeyFlags::UPDATE) {
        needed |= KEY_WRITE;
    }
    needed
}

/// Whether a selector may use `key` as `needed` (`KEY_READ`, `KEY_WRITE`).
pub fn selector_key_ok(selector: &Selector, key: &[u8], needed: u8) -> bool {
    selector.all_keys
        || selector
            .patterns
            .iter()
            .any(|p| p.flags & needed == needed && glob_match(&p.pattern, key, false))
}

/// Whether the user may use `key` as `needed` in one of its selectors.
pub fn key_ok(user: &User, key: &[u8], needed: u8) -> bool {
    user.all_selectors()
        .any(|s| selector_key_ok(s, key, needed))
}

/// A pattern subscription (PSUBSCRIBE) must be one of the patterns as written; a channel must
/// match one.
fn channel_ok(selector: &Selector, channel: &[u8], is_pattern: bool) -> bool {
    selector.all_channels
        || selector.channels.iter().any(|allowed| {
            if is_pattern {
                allowed == channel
            } else {
                glob_match(allowed, channel, false)
            }
        })
}

/// Whether the user may publish to or subscribe to `channel` (`is_pattern`: a PSUBSCRIBE pattern).
pub fn user_channel_ok(user: &User, channel: &[u8], is_pattern: bool) -> bool {
    user.all_selectors()
        .any(|s| channel_ok(s, channel, is_pattern))
}

/// The channels a command publishes or subscribes to (Redis's `getChannelsFromCommand`, for
/// the flags ACLs check), each with whether it is a pattern.
fn channels(spec: &CommandSpec, parent: Option<&CommandSpec>, argc: usize) -> (usize, usize, bool) {
    if parent.is_some() {
        return (0, 0, false);
    }
    match spec.name {
        "publish" | "spublish" => (1, 2.min(argc), false),
        "subscribe" | "ssubscribe" => (1, argc, false),
        "psubscribe" => (1, argc, true),
        _ => (0, 0, false),
    }
}

fn selector_allows(
    selector: &Selector,
    id: usize,
    spec: &CommandSpec,
    parent: Option<&CommandSpec>,
    args: &[Bytes],
    keys: &mut Option<Vec<(usize, KeyFlags)>>,
) -> Result<(), Denied> {
    if !selector.all_commands && !spec.has_flag(CommandFlags::NO_AUTH) && !selector.bit(id) {
        let first = if parent.is_some() { 2 } else { 1 };
        let allowed = selector.first_args.get(&id).is_some_and(|allowed| {
            args.get(first)
                .is_some_and(|arg| allowed.iter().any(|a| a.eq_ignore_ascii_case(arg)))
        });
        if !allowed {
            return Err(Denied::Command);
        }
    }
    if !selector.all_keys && (spec.first_key > 0 || spec.movable_keys.is_some()) {
        let keys = keys.get_or_insert_with(|| spec.keys_with_flags(parent, args));
        for &(at, flags) in keys.iter() {
            if !selector_key_ok(selector, &args[at], needed(flags)) {
                return Err(Denied::Key(at));
            }
        }
    }
    if !selector.all_channels {
        let (from, to, is_pattern) = channels(spec, parent, args.len());
        for (at, channel) in args.iter().enumerate().take(to).skip(from) {
            if !channel_ok(selector, channel, is_pattern) {
                return Err(Denied::Channel(at));
            }
        }
    }
    Ok(())
}

/// Redis's `ACLUserCheckCmdWithUnrestrictedKeyAccess`: whether one selector that allows the
/// command may also use every key as `needed` (`allkeys`, or the pattern `*` with the
/// permission). For commands that reach keys no argument names (TAG.INVALIDATE).
pub fn unrestricted_key_access(
    user: &User,
    index: &CommandIndex,
    spec: &CommandSpec,
    needed: u8,
) -> bool {
    let Some(id) = index.id_of(spec) else {
        return false;
    };
    user.all_selectors().any(|s| {
        (s.all_commands || s.bit(id))
            && (s.all_keys
                || s.patterns
                    .iter()
                    .any(|p| p.flags & needed == needed && &p.pattern[..] == b"*"))
    })
}

/// Redis's `ACLCheckAllUserCommandPerm`: allowed when one selector allows it; otherwise the
/// refusal Redis reports (a key or channel over the command, the last position over the first).
pub fn check(
    user: &User,
    index: &CommandIndex,
    parent: Option<&CommandSpec>,
    spec: &CommandSpec,
    args: &[Bytes],
) -> Result<(), Denied> {
    let Some(id) = index.id_of(spec) else {
        return Err(Denied::Command);
    };
    let mut keys = None;
    let mut worst = Denied::Command;
    for selector in user.all_selectors() {
        match selector_allows(selector, id, spec, parent, args, &mut keys) {
            Ok(()) => return Ok(()),
            Err(denied) if denied.rank() > worst.rank() => worst = denied,
            Err(_) => {}
        }
    }
    Err(worst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::acl::rules::{set_user, RuleContext};
    use crate::state::command::SPEC;

    static TABLE: &[CommandSpec] = &[
        CommandSpec {
            name: "get",
            arity: 2,
            flags: flags!(READONLY, FAST),
            acl_categories: acl!(READ, STRING, FAST),
            first_key: 1,
            last_key: 1,
            key_step: 1,
            ..SPEC
        },
        CommandSpec {
            name: "set",
            arity: -3,
            flags: flags!(WRITE, DENYOOM),
            acl_categories: acl!(WRITE, STRING, SLOW),
            first_key: 1,
            last_key: 1,
            key_step: 1,
            ..SPEC
        },
        CommandSpec {
            name: "copy",
            arity: -3,
            flags: flags!(WRITE, DENYOOM),
            acl_categories: acl!(KEYSPACE, WRITE, SLOW),
            first_key: 1,
            last_key: 2,
            key_step: 1,
            ..SPEC
        },
        CommandSpec {
            name: "publish",
            arity: 3,
            flags: flags!(PUBSUB, LOADING, STALE, FAST, MAY_REPLICATE),
            acl_categories: acl!(PUBSUB, FAST),
            ..SPEC
        },
        CommandSpec {
            name: "psubscribe",
            arity: -2,
            flags: flags!(PUBSUB, NOSCRIPT, LOADING, STALE),
            acl_categories: acl!(PUBSUB, SLOW),
            ..SPEC
        },
        CommandSpec {
            name: "auth",
            arity: -2,
            flags: flags!(NO_AUTH),
            acl_categories: acl!(FAST, CONNECTION),
            ..SPEC
        },
    ];

    fn user(rules: &str) -> (User, CommandIndex) {
        let index = CommandIndex::new(TABLE.iter());
        let ctx = RuleContext {
            index: &index,
            pubsub_all_channels: false,
        };
        let args: Vec<&[u8]> = rules.split(' ').map(str::as_bytes).collect();
        let user = set_user(User::new(b"u", false), &args, &ctx).unwrap();
        (user, index)
    }

    fn run(user: &User, index: &CommandIndex, command: &str) -> Result<(), Denied> {
        let args: Vec<Bytes> = command
            .split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let spec = TABLE
            .iter()
            .find(|s| s.name == command.split(' ').next().unwrap());
        check(user, index, None, spec.unwrap(), &args)
    }

    #[test]
    fn commands_then_keys_then_channels() {
        let (u, index) = user("on +get +publish +auth %R~r* ~k* &news.*");
        assert_eq!(run(&u, &index, "get r1"), Ok(()));
        assert_eq!(run(&u, &index, "get k1"), Ok(()));
        assert_eq!(run(&u, &index, "get x"), Err(Denied::Key(1)));
        assert_eq!(run(&u, &index, "set k1 v"), Err(Denied::Command));
        assert_eq!(run(&u, &index, "publish news.a m"), Ok(()));
        assert_eq!(run(&u, &index, "publish other m"), Err(Denied::Channel(1)));
        // NO_AUTH commands always run.
        let (nothing, index) = user("on");
        assert_eq!(run(&nothing, &index, "auth x"), Ok(()));
    }

    #[test]
    fn read_and_write_patterns() {
        let (u, index) = user("on +copy %R~src* %W~dst*");
        assert_eq!(run(&u, &index, "copy src1 dst1"), Ok(()));
        assert_eq!(run(&u, &index, "copy dst1 src1"), Err(Denied::Key(1)));
    }

    #[test]
    fn patterns_subscribe_literally() {
        let (u, index) = user("on +psubscribe &news.*");
        assert_eq!(run(&u, &index, "psubscribe news.*"), Ok(()));
        assert_eq!(
            run(&u, &index, "psubscribe news.a"),
            Err(Denied::Channel(1))
        );
        assert_eq!(
            run(&u, &index, "psubscribe news.* x"),
            Err(Denied::Channel(2))
        );
    }

    #[test]
    fn any_selector_may_allow() {
        let (u, index) = user("on +get ~a* (+set ~b*)");
        assert_eq!(run(&u, &index, "get a1"), Ok(()));
        assert_eq!(run(&u, &index, "set b1 v"), Ok(()));
        assert_eq!(run(&u, &index, "set a1 v"), Err(Denied::Key(1)));
        assert_eq!(run(&u, &index, "get b1"), Err(Denied::Key(1)));
    }
}
