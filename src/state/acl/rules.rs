//! The rule language of `ACL SETUSER`, `user` directives and ACL files (Redis 7.0's
//! `ACLSetUser`/`ACLSetSelector`), and its inverse: a user described back as rules (`ACL LIST`,
//! `ACL GETUSER`, `ACL SAVE`). Pure: every function works on a `User` value and the command index.

use bytes::Bytes;

use super::{hash_password, CommandIndex, KeyPattern, Sanitize, Selector, User, KEY_ALL};
use super::{KEY_READ, KEY_WRITE};
use crate::state::command::AclCategories;

/// Why a rule was refused, with Redis's text (`ACLSetUserStringError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    UnknownName,
    Syntax,
    KeysAfterAll,
    ChannelsAfterAll,
    NoSuchPassword,
    BadHash,
    SubcommandFirstArg,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::UnknownName => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeysAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelsAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// What rules need besides the user: the commands, and `acl-pubsub-default` (new selectors get
/// every channel when it is `allchannels`).
pub struct RuleContext<'a> {
    pub index: &'a CommandIndex,
    pub pubsub_all_channels: bool,
}

/// Redis's `ACLStringHasSpaces`: spaces and NULs would make rules ambiguous when written back.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&b| b == 0 || b.is_ascii_whitespace() || b == 0x0b)
}

fn valid_hash(hash: &[u8]) -> bool {
    hash.len() == 64 && hash.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn change_command(selector: &mut Selector, index: &CommandIndex, id: usize, allow: bool) {
    selector.set_bit(id, allow);
    selector.first_args.remove(&id);
    for &child in &index.entry(id).children {
        selector.set_bit(child, allow);
    }
}

/// Redis's `ACLSetSelectorCommandBitsForCategory`: a command in the category changes with all
/// its subcommands, then each subcommand in the category on its own.
fn change_category(
    selector: &mut Selector,
    index: &CommandIndex,
    category: AclCategories,
    allow: bool,
) {
    for &id in index.top() {
        if index.categories(id).intersects(category) {
            change_command(selector, index, id, allow);
        }
        for &child in &index.entry(id).children {
            if index.categories(child).intersects(category) {
                change_command(selector, index, child, allow);
            }
        }
    }
}

/// `@name` as Redis's category table knows it (cachet's `cache` included).
pub fn category_named(name: &[u8]) -> Option<AclCategories> {
    AclCategories::named(name)
}

/// One rule applied to a selector (`ACLSetSelector`).
pub fn apply_selector_op(
    selector: &mut Selector,
    op: &[u8],
    ctx: &RuleContext<'_>,
) -> Result<(), RuleError> {
    if op.is_empty() {
        return Err(RuleError::Syntax);
    }
    let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
    if is("allkeys") || op == b"~*" {
        selector.all_keys = true;
        selector.patterns.clear();
    } else if is("resetkeys") {
        selector.all_keys = false;
        selector.patterns.clear();
    } else if is("allchannels") || op == b"&*" {
        selector.all_channels = true;
        selector.channels.clear();
    } else if is("resetchannels") {
        selector.all_channels = false;
        selector.channels.clear();
    } else if is("allcommands") || is("+@all") {
        selector.set_all(true);
    } else if is("nocommands") || is("-@all") {
        selector.set_all(false);
    } else if op[0] == b'~' || op[0] == b'%' {
        if selector.all_keys {
            return Err(RuleError::KeysAfterAll);
        }
        let mut flags = 0;
        let mut offset = 1;
        if op[0] == b'%' {
            loop {
                match op.get(offset).map(u8::to_ascii_uppercase) {
                    Some(b'R') if flags & KEY_READ == 0 => flags |= KEY_READ,
                    Some(b'W') if flags & KEY_WRITE == 0 => flags |= KEY_WRITE,
                    Some(b'~') => {
                        offset += 1;
                        break;
                    }
                    // Redis accepts `%R` alone: an empty pattern.
                    None => break,
                    _ => return Err(RuleError::Syntax),
                }
                offset += 1;
            }
        } else {
            flags = KEY_ALL;
        }
        // Redis 7.0 refuses `%~x` and a bare `%`.
        if flags == 0 {
            return Err(RuleError::Syntax);
        }
        let pattern = &op[offset.min(op.len())..];
        if has_spaces(pattern) {
            return Err(RuleError::Syntax);
        }
        match selector.patterns.iter_mut().find(|p| p.pattern == pattern) {
            Some(existing) => existing.flags |= flags,
            None => selector.patterns.push(KeyPattern {
                pattern: Bytes::copy_from_slice(pattern),
                flags,
            }),
        }
    } else if op[0] == b'&' {
        if selector.all_channels {
            return Err(RuleError::ChannelsAfterAll);
        }
        let pattern = &op[1..];
        if has_spaces(pattern) {
            return Err(RuleError::Syntax);
        }
        if !selector.channels.iter().any(|c| c == pattern) {
            selector.channels.push(Bytes::copy_from_slice(pattern));
        }
    } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
        let name = &op[1..];
        match name.iter().rposition(|&b| b == b'|') {
            None => {
                let id = ctx.index.find(name).ok_or(RuleError::UnknownName)?;
                change_command(selector, ctx.index, id, true);
            }
            Some(bar) => {
                let (command, sub) = (&name[..bar], &name[bar + 1..]);
                let id = ctx.index.find(command).ok_or(RuleError::UnknownName)?;
                if ctx.index.entry(id).parent.is_some() {
                    return Err(RuleError::SubcommandFirstArg);
                }
                if sub.is_empty() {
                    return Err(RuleError::Syntax);
                }
                if ctx.index.entry(id).children.is_empty() {
                    let allowed = selector.first_args.entry(id).or_default();
                    if !allowed.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                        allowed.push(Bytes::copy_from_slice(sub));
                    }
                } else {
                    let sub_id = ctx.index.find(name).ok_or(RuleError::UnknownName)?;
                    change_command(selector, ctx.index, sub_id, true);
                }
            }
        }
    } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
        let id = ctx.index.find(&op[1..]).ok_or(RuleError::UnknownName)?;
        change_command(selector, ctx.index, id, false);
    } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
        let category = category_named(&op[2..]).ok_or(RuleError::UnknownName)?;
        change_category(selector, ctx.index, category, op[0] == b'+');
    } else {
        return Err(RuleError::Syntax);
    }
    Ok(())
}

/// One rule applied to a user (`ACLSetUser`): flags and passwords, a selector in parentheses,
/// or a rule of the root selector.
pub fn apply_user_op(user: &mut User, op: &[u8], ctx: &RuleContext<'_>) -> Result<(), RuleError> {
    if op.is_empty() {
        return Ok(());
    }
    let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
    if is("on") {
        user.enabled = true;
    } else if is("off") {
        user.enabled = false;
    } else if is("skip-sanitize-payload") {
        user.sanitize = Sanitize::Skip;
    } else if is("sanitize-payload") {
        user.sanitize = Sanitize::Yes;
    } else if is("nopass") {
        user.nopass = true;
        user.passwords.clear();
    } else if is("resetpass") {
        user.nopass = false;
        user.passwords.clear();
    } else if op[0] == b'>' || op[0] == b'#' {
        let hash = if op[0] == b'>' {
            hash_password(&op[1..])
        } else if valid_hash(&op[1..]) {
            String::from_utf8_lossy(&op[1..]).into_owned()
        } else {
            return Err(RuleError::BadHash);
        };
        if !user.passwords.contains(&hash) {
            user.passwords.push(hash);
        }
        user.nopass = false;
    } else if op[0] == b'<' || op[0] == b'!' {
        let hash = if op[0] == b'<' {
            hash_password(&op[1..])
        } else if valid_hash(&op[1..]) {
            String::from_utf8_lossy(&op[1..]).into_owned()
        } else {
            return Err(RuleError::BadHash);
        };
        let at = user
            .passwords
            .iter()
            .position(|p| *p == hash)
            .ok_or(RuleError::NoSuchPassword)?;
        user.passwords.remove(at);
    } else if op[0] == b'(' && op[op.len() - 1] == b')' {
        let mut selector = Selector::new(ctx.pubsub_all_channels);
        let inner = &op[1..op.len() - 1];
        for rule in inner
            .split(|b| b.is_ascii_whitespace())
            .filter(|r| !r.is_empty())
        {
            apply_selector_op(&mut selector, rule, ctx)?;
        }
        user.selectors.push(selector);
    } else if is("clearselectors") {
        user.selectors.clear();
    } else if is("reset") {
        user.nopass = false;
        user.passwords.clear();
        user.root.all_keys = false;
        user.root.patterns.clear();
        user.root.all_channels = ctx.pubsub_all_channels;
        user.root.channels.clear();
        user.enabled = false;
        user.sanitize = Sanitize::Yes;
        user.selectors.clear();
        user.root.set_all(false);
    } else {
        apply_selector_op(&mut user.root, op, ctx)?;
    }
    Ok(())
}

/// Redis's `ACLMergeSelectorArguments`: a selector split over several arguments (`(+get`,
/// `~k)`) is joined back into one. `Err(i)`: the parenthesis opened at argument `i` is never
/// closed.
pub fn merge_selectors(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut merged = Vec::with_capacity(args.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, &arg) in args.iter().enumerate() {
        if let Some((_, selector)) = open.as_mut() {
            selector.push(b' ');
            selector.extend_from_slice(arg);
            if arg.last() == Some(&b')') {
                merged.push(open.take().expect("open").1);
            }
            continue;
        }
        if arg.first() == Some(&b'(') && arg.last() != Some(&b')') {
            open = Some((i, arg.to_vec()));
            continue;
        }
        merged.push(arg.to_vec());
    }
    match open {
        Some((at, _)) => Err(at),
        None => Ok(merged),
    }
}

/// `ACL SETUSER`'s rules applied all or nothing: the user with every rule applied, or the
/// error reply's text naming the first rule refused, the rule's bytes as the client sent them
/// up to a NUL (Redis formats them with `%.*s`).
pub fn set_user(base: User, args: &[&[u8]], ctx: &RuleContext<'_>) -> Result<User, Vec<u8>> {
    fn quoted(before: &str, rule: &[u8], after: &str) -> Vec<u8> {
        let end = rule.iter().position(|&b| b == 0).unwrap_or(rule.len());
        let mut text = before.as_bytes().to_vec();
        text.extend_from_slice(&rule[..end]);
        text.extend_from_slice(after.as_bytes());
        text
    }
    let merged = merge_selectors(args).map_err(|at| {
        quoted(
            "Unmatched parenthesis in acl selector starting at '",
            args[at],
            "'.",
        )
    })?;
    let mut user = base;
    for op in &merged {
        apply_user_op(&mut user, op, ctx).map_err(|err| {
            quoted(
                "Error in ACL SETUSER modifier '",
                op,
                &format!("': {}", err.message()),
            )
        })?;
    }
    Ok(user)
}

fn pattern_bytes(out: &mut Vec<u8>, pattern: &KeyPattern) {
    out.extend_from_slice(match pattern.flags {
        KEY_READ => b"%R~",
        KEY_WRITE => b"%W~",
        _ => b"~",
    });
    out.extend_from_slice(&pattern.pattern);
}

/// The key patterns as ACL GETUSER's `keys` shows them. Bytes, as Redis writes patterns back
/// exactly as given, UTF-8 or not.
pub fn describe_keys(selector: &Selector) -> Vec<u8> {
    if selector.all_keys {
        return b"~*".to_vec();
    }
    let mut out = Vec::new();
    for (i, pattern) in selector.patterns.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        pattern_bytes(&mut out, pattern);
    }
    out
}

/// The channel patterns as ACL GETUSER's `channels` shows them.
pub fn describe_channels(selector: &Selector) -> Vec<u8> {
    if selector.all_channels {
        return b"&*".to_vec();
    }
    let mut out = Vec::new();
    for (i, channel) in selector.channels.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.push(b'&');
        out.extend_from_slice(channel);
    }
    out
}

fn count_category(
    selector: &Selector,
    index: &CommandIndex,
    category: AclCategories,
) -> (usize, usize) {
    let (mut on, mut off) = (0, 0);
    for id in index.walk() {
        if index.categories(id).intersects(category) {
            if selector.bit(id) {
                on += 1;
            } else {
                off += 1;
            }
        }
    }
    (on, off)
}

/// Redis's `ACLDescribeSelectorCommandRules`: `+@all` or `-@all`, then the categories that fit
/// the allowed commands best, then single commands until the rules rebuild the same bits.
/// Redis lists the single commands in its hash table's order; cachet in its table's.
pub fn describe_commands(selector: &Selector, index: &CommandIndex) -> Vec<u8> {
    let mut rules = Vec::new();
    let additive = !selector.future_commands();
    let mut fake = Selector::new(false);
    if additive {
        rules.extend_from_slice(b"-@all ");
    } else {
        rules.extend_from_slice(b"+@all ");
        fake.set_all(true);
    }
    let mut temp = Selector::new(false);
    temp.allowed = selector.allowed;
    let categories: Vec<(&'static str, AclCategories)> =
        AclCategories::all().iter_names().collect();
    let mut applied = vec![false; categories.len()];
    loop {
        let mut best = None;
        let (mut min_diff, mut max_same) = (usize::MAX, 0);
        for (j, &(_, category)) in categories.iter().enumerate() {
            if applied[j] {
                continue;
            }
            let (on, off) = count_category(&temp, index, category);
            let (diff, same) = if additive { (off, on) } else { (on, off) };
            if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                best = Some(j);
                min_diff = diff;
                max_same = same;
            }
        }
        let Some(best) = best else { break };
        let (name, category) = categories[best];
        change_category(&mut fake, index, category, additive);
        change_category(&mut temp, index, category, !additive);
        rules.extend_from_slice(if additive { b"+@" } else { b"-@" });
        rules.extend_from_slice(name.to_ascii_lowercase().as_bytes());
        rules.push(b' ');
        applied[best] = true;
    }
    for id in index.walk() {
        let user_bit = selector.bit(id);
        if user_bit != fake.bit(id) {
            rules.push(if user_bit { b'+' } else { b'-' });
            rules.extend_from_slice(index.entry(id).full_name.as_bytes());
            rules.push(b' ');
            change_command(&mut fake, index, id, user_bit);
        }
        if !user_bit {
            for arg in selector.first_args.get(&id).into_iter().flatten() {
                rules.push(b'+');
                rules.extend_from_slice(index.entry(id).full_name.as_bytes());
                rules.push(b'|');
                rules.extend_from_slice(arg);
                rules.push(b' ');
            }
        }
    }
    rules.pop();
    debug_assert!(
        fake.same_commands(selector),
        "rules {} do not rebuild the bits",
        String::from_utf8_lossy(&rules)
    );
    rules
}

/// Redis's `ACLDescribeSelector`: keys, channels, then commands.
pub fn describe_selector(selector: &Selector, index: &CommandIndex) -> Vec<u8> {
    let mut out = Vec::new();
    if selector.all_keys {
        out.extend_from_slice(b"~* ");
    } else {
        for pattern in &selector.patterns {
            pattern_bytes(&mut out, pattern);
            out.push(b' ');
        }
    }
    if selector.all_channels {
        out.extend_from_slice(b"&* ");
    } else {
        out.extend_from_slice(b"resetchannels ");
        for channel in &selector.channels {
            out.push(b'&');
            out.extend_from_slice(channel);
            out.push(b' ');
        }
    }
    out.extend_from_slice(&describe_commands(selector, index));
    out
}

/// The user's flags in Redis's order (`ACL GETUSER`'s `flags`).
pub fn flag_names(user: &User) -> Vec<&'static str> {
    let mut flags = Vec::new();
    flags.push(if user.enabled { "on" } else { "off" });
    if user.nopass {
        flags.push("nopass");
    }
    match user.sanitize {
        Sanitize::Skip => flags.push("skip-sanitize-payload"),
        Sanitize::Yes => flags.push("sanitize-payload"),
        Sanitize::Unset => {}
    }
    flags
}

/// Redis's `ACLDescribeUser`: the rules that rebuild the user (`ACL LIST`, the ACL file).
pub fn describe_user(user: &User, index: &CommandIndex) -> Vec<u8> {
    let mut out = Vec::new();
    for flag in flag_names(user) {
        out.extend_from_slice(flag.as_bytes());
        out.push(b' ');
    }
    for password in &user.passwords {
        out.push(b'#');
        out.extend_from_slice(password.as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(&describe_selector(&user.root, index));
    for selector in &user.selectors {
        out.extend_from_slice(b" (");
        out.extend_from_slice(&describe_selector(selector, index));
        out.push(b')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::command::{CommandSpec, SPEC};

    static CONFIG_SUBS: &[CommandSpec] = &[
        CommandSpec {
            name: "get",
            acl_categories: acl!(ADMIN, SLOW, DANGEROUS),
            ..SPEC
        },
        CommandSpec {
            name: "set",
            acl_categories: acl!(ADMIN, SLOW, DANGEROUS),
            ..SPEC
        },
    ];
    static TABLE: &[CommandSpec] = &[
        CommandSpec {
            name: "get",
            acl_categories: acl!(READ, STRING, FAST),
            ..SPEC
        },
        CommandSpec {
            name: "set",
            acl_categories: acl!(WRITE, STRING, SLOW),
            ..SPEC
        },
        CommandSpec {
            name: "hget",
            acl_categories: acl!(READ, HASH, FAST),
            ..SPEC
        },
        CommandSpec {
            name: "select",
            acl_categories: acl!(FAST, CONNECTION),
            ..SPEC
        },
        CommandSpec {
            name: "config",
            acl_categories: acl!(SLOW),
            subcommands: CONFIG_SUBS,
            ..SPEC
        },
    ];

    fn index() -> CommandIndex {
        CommandIndex::new(TABLE.iter())
    }

    fn setuser(base: User, rules: &str) -> Result<User, String> {
        setuser_bytes(base, rules.as_bytes())
            .map_err(|text| String::from_utf8(text).expect("rules given as text"))
    }

    fn setuser_bytes(base: User, rules: &[u8]) -> Result<User, Vec<u8>> {
        let index = index();
        let ctx = RuleContext {
            index: &index,
            pubsub_all_channels: false,
        };
        let args: Vec<&[u8]> = rules.split(|&b| b == b' ').collect();
        set_user(base, &args, &ctx)
    }

    fn describe(user: &User) -> String {
        String::from_utf8(describe_user(user, &index())).unwrap()
    }

    #[test]
    fn a_new_user_is_off_with_nothing() {
        let user = setuser(User::new(b"u", false), "").unwrap();
        assert_eq!(describe(&user), "off resetchannels -@all");
    }

    #[test]
    fn commands_categories_and_subcommands() {
        let user = setuser(User::new(b"u", false), "on +@read -hget +config|get").unwrap();
        let index = index();
        assert!(user.root.bit(index.find(b"get").unwrap()));
        assert!(!user.root.bit(index.find(b"hget").unwrap()));
        assert!(user.root.bit(index.find(b"config|get").unwrap()));
        assert!(!user.root.bit(index.find(b"config|set").unwrap()));
        // With `get` and `hget` the only read commands, one of two is no category's best fit.
        assert_eq!(describe(&user), "on resetchannels -@all +get +config|get");
        let user = setuser(User::new(b"u", false), "+@all -set").unwrap();
        assert!(user.root.future_commands());
        assert!(!user.root.all_commands);
        assert_eq!(describe(&user), "off resetchannels +@all -@write");
        // A container allowed brings its subcommands; one subcommand taken back.
        let user = setuser(User::new(b"u", false), "+config -config|set").unwrap();
        assert_eq!(
            describe(&user),
            "off resetchannels -@all +config -config|set"
        );
    }

    #[test]
    fn first_args_of_commands_without_subcommands() {
        let user = setuser(User::new(b"u", false), "+select|0 +select|0 +select|1").unwrap();
        let id = index().find(b"select").unwrap();
        assert_eq!(user.root.first_args[&id], ["0", "1"]);
        assert_eq!(
            describe(&user),
            "off resetchannels -@all +select|0 +select|1"
        );
        // Allowing the whole command forgets them.
        let user = setuser(user, "+select").unwrap();
        assert!(user.root.first_args.is_empty());
        assert_eq!(
            setuser(User::new(b"u", false), "+config|get|x"),
            Err("Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a subcommand is not supported".into())
        );
        assert_eq!(
            setuser(User::new(b"u", false), "+select|"),
            Err("Error in ACL SETUSER modifier '+select|': Syntax error".into())
        );
    }

    #[test]
    fn keys_and_channels() {
        let user = setuser(
            User::new(b"u", false),
            "~k* %R~r* %W~w* %RW~b* %R~w* &ch* &ch*",
        )
        .unwrap();
        assert_eq!(describe_keys(&user.root), b"~k* %R~r* ~w* ~b*");
        assert_eq!(describe_channels(&user.root), b"&ch*");
        let all = setuser(user.clone(), "allkeys allchannels").unwrap();
        assert_eq!(describe_keys(&all.root), b"~*");
        assert_eq!(describe_channels(&all.root), b"&*");
        for (rule, message) in [
            ("~x", RuleError::KeysAfterAll),
            ("%R~x", RuleError::KeysAfterAll),
            ("&x", RuleError::ChannelsAfterAll),
        ] {
            let error = setuser(all.clone(), rule).unwrap_err();
            assert!(error.ends_with(message.message()), "{error}");
        }
        for bad in ["%X~a", "%RR~a", "%", "%~a"] {
            let error = setuser(User::new(b"u", false), bad);
            assert_eq!(
                error,
                Err(format!(
                    "Error in ACL SETUSER modifier '{bad}': Syntax error"
                ))
            );
        }
        let reset = setuser(user, "resetkeys resetchannels").unwrap();
        assert!(reset.root.patterns.is_empty() && reset.root.channels.is_empty());
    }

    #[test]
    fn passwords() {
        let user = setuser(User::new(b"u", false), "on >a >b >a").unwrap();
        assert_eq!(user.passwords, [hash_password(b"a"), hash_password(b"b")]);
        let hash = hash_password(b"c");
        let user = setuser(user, &format!("<a #{hash}")).unwrap();
        assert_eq!(user.passwords, [hash_password(b"b"), hash.clone()]);
        let user = setuser(user, &format!("!{hash}")).unwrap();
        assert_eq!(user.passwords, [hash_password(b"b")]);
        assert!(setuser(user.clone(), "<zzz")
            .unwrap_err()
            .ends_with(RuleError::NoSuchPassword.message()));
        for bad in ["#abc", &format!("#{}", hash.to_uppercase())] {
            assert!(setuser(user.clone(), bad)
                .unwrap_err()
                .ends_with(RuleError::BadHash.message()));
        }
        let user = setuser(user, "nopass").unwrap();
        assert!(user.nopass && user.passwords.is_empty());
        let user = setuser(user, ">x").unwrap();
        assert!(!user.nopass);
        let user = setuser(user, "resetpass").unwrap();
        assert!(!user.nopass && user.passwords.is_empty());
    }

    #[test]
    fn patterns_and_first_args_keep_their_bytes() {
        let rules = b"on ~\xff\xfe %R~a\x80 &\xff +select|\xc3 (~\xfe* &\x81)";
        let user = setuser_bytes(User::new(b"u", false), rules).unwrap();
        assert_eq!(describe_keys(&user.root), b"~\xff\xfe %R~a\x80");
        assert_eq!(describe_channels(&user.root), b"&\xff");
        let described = describe_user(&user, &index());
        assert_eq!(
            described,
            b"on ~\xff\xfe %R~a\x80 resetchannels &\xff -@all +select|\xc3 (~\xfe* resetchannels &\x81 -@all)"
        );
        // What ACL SAVE writes loads back as the same user.
        let again = setuser_bytes(User::new(b"u", false), &described).unwrap();
        assert_eq!(describe_user(&again, &index()), described);
        // Errors quote the rule's bytes, cut at a NUL as Redis's `%.*s` does.
        assert_eq!(
            setuser_bytes(User::new(b"u", false), b"%X~\xff"),
            Err(b"Error in ACL SETUSER modifier '%X~\xff': Syntax error".to_vec())
        );
        assert_eq!(
            setuser_bytes(User::new(b"u", false), b"~a\0\xff"),
            Err(b"Error in ACL SETUSER modifier '~a': Syntax error".to_vec())
        );
    }

    #[test]
    fn selectors() {
        let user = setuser(User::new(b"u", false), "on (+get ~a*) (+set %W~b*)").unwrap();
        assert_eq!(user.selectors.len(), 2);
        assert_eq!(
            describe(&user),
            "on resetchannels -@all (~a* resetchannels -@all +get) (%W~b* resetchannels -@all +@write)"
        );
        // Split over arguments, as clients send them.
        let user = setuser(User::new(b"u", false), "(+get ~a*)").unwrap();
        assert_eq!(user.selectors.len(), 1);
        assert_eq!(
            setuser(User::new(b"u", false), "on (+get ~a*"),
            Err("Unmatched parenthesis in acl selector starting at '(+get'.".into())
        );
        assert!(setuser(User::new(b"u", false), "(+nosuch)")
            .unwrap_err()
            .contains("Unknown command or category name"));
        let cleared = setuser(user, "clearselectors").unwrap();
        assert!(cleared.selectors.is_empty());
    }

    #[test]
    fn all_or_nothing() {
        let user = setuser(User::new(b"u", false), "on +get").unwrap();
        let error = setuser(user.clone(), "+set +nosuch").unwrap_err();
        assert_eq!(
            error,
            "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"
        );
        assert!(setuser(user, "+@nosuch").is_err());
        assert!(setuser(User::new(b"u", false), "foo")
            .unwrap_err()
            .ends_with("Syntax error"));
    }

    #[test]
    fn reset_and_the_default_user() {
        let user = setuser(User::default_user(), "reset").unwrap();
        assert_eq!(describe(&user), "off sanitize-payload resetchannels -@all");
        assert_eq!(describe(&User::default_user()), "on nopass ~* &* +@all");
    }

    #[test]
    fn categories_fit_best() {
        // Every command but one read: +@all minus it; every read command: -@all +@read.
        let user = setuser(User::new(b"u", false), "+get +hget").unwrap();
        assert_eq!(describe(&user), "off resetchannels -@all +@read");
        let user = setuser(User::new(b"u", false), "allcommands -@read").unwrap();
        assert_eq!(describe(&user), "off resetchannels +@all -@read");
    }
}
