//! `COMMAND` and its subcommands: every reply is generated from the command table
//! (`all_commands()`), so a command added to a family shows up here, in `redis-cli` hints and in
//! `COMMAND GETKEYS` without anyone listing it twice. Subcommands are named `parent|sub`.
//!
//! The table has no key specs of its own; `COMMAND INFO` derives one range spec from first key,
//! last key and step, with `RO access` for read-only commands and `RW update` for writes. Redis
//! states finer flags per command (`RM delete` for DEL, `OW` for MSET); clients use the positions,
//! which agree.

use crate::commands::{AclCategories, CommandFlags};
use bytes::Bytes;

use crate::commands::reply_help;
use crate::commands::{all_commands, full_name, lookup, lookup_subcommand, CommandSpec, Ctx, SPEC};
use crate::engine::glob::glob_match;
use crate::error::{CmdError, CmdResult};
use crate::protocol::ReplyBuf;
use crate::state::command::arguments::{redis_command_docs, Arg};
use crate::state::command::key_spec::{Begin, Find, KeyFlags, KeySpec};

const FLAGS: CommandFlags = flags!(LOADING, STALE);
const ACL: AclCategories = acl!(SLOW, CONNECTION);

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "command",
    arity: -1,
    flags: FLAGS,
    acl_categories: ACL,
    group: "server",
    summary: "Get array of Redis command details",
    since: "2.8.13",
    complexity: "O(N) where N is the total number of Redis commands",
    handler: Some(command_all),
    subcommands: &[
        CommandSpec {
            name: "count",
            arity: 2,
            flags: FLAGS,
            acl_categories: ACL,
            group: "server",
            summary: "Get total number of Redis commands",
            since: "2.8.13",
            handler: Some(command_count),
            ..SPEC
        },
        CommandSpec {
            name: "list",
            arity: -2,
            flags: FLAGS,
            acl_categories: ACL,
            group: "server",
            summary: "Get an array of Redis command names",
            since: "7.0.0",
            complexity: "O(N) where N is the total number of Redis commands",
            handler: Some(command_list),
            ..SPEC
        },
        CommandSpec {
            name: "info",
            arity: -2,
            flags: FLAGS,
            acl_categories: ACL,
            group: "server",
            summary:
                "Get array of specific Redis command details, or all when no argument is given.",
            since: "2.8.13",
            complexity: "O(N) where N is the number of commands to look up",
            handler: Some(command_info),
            ..SPEC
        },
        CommandSpec {
            name: "docs",
            arity: -2,
            flags: FLAGS,
            acl_categories: ACL,
            group: "server",
            summary: "Get array of specific Redis command documentation",
            since: "7.0.0",
            complexity: "O(N) where N is the number of commands to look up",
            handler: Some(command_docs),
            ..SPEC
        },
        CommandSpec {
            name: "getkeys",
            arity: -4,
            flags: FLAGS,
            acl_categories: ACL,
            group: "server",
            summary: "Extract keys given a full Redis command",
            since: "2.8.13",
            complexity: "O(N) where N is the number of arguments to the command",
            handler: Some(command_getkeys),
            ..SPEC
        },
        CommandSpec {
            name: "getkeysandflags",
            arity: -4,
            flags: FLAGS,
            acl_categories: ACL,
            group: "server",
            summary: "Extract keys and access flags given a full Redis command",
            since: "7.0.0",
            complexity: "O(N) where N is the number of arguments to the command",
            handler: Some(command_getkeysandflags),
            ..SPEC
        },
        CommandSpec {
            name: "help",
            arity: 2,
            flags: FLAGS,
            acl_categories: ACL,
            group: "server",
            summary: "Show helpful text about the different subcommands",
            since: "5.0.0",
            handler: Some(command_help),
            ..SPEC
        },
    ],
    ..SPEC
}];

type Found = (Option<&'static CommandSpec>, &'static CommandSpec);

/// A command by the name `COMMAND INFO/DOCS` accept: `get`, or `config|get` for a subcommand.
fn find(name: &[u8]) -> Option<Found> {
    match name.iter().position(|&b| b == b'|') {
        None => lookup(name).map(|spec| (None, spec)),
        Some(bar) => {
            let parent = lookup(&name[..bar])?;
            lookup_subcommand(parent, &name[bar + 1..]).map(|sub| (Some(parent), sub))
        }
    }
}

fn simple_set(out: &mut ReplyBuf, items: &[impl AsRef<str>]) {
    out.set(items.len());
    for item in items {
        out.simple(item.as_ref());
    }
}

fn key_spec(out: &mut ReplyBuf, spec: &KeySpec) {
    out.map(3);
    out.bulk(b"flags");
    simple_set(out, &spec.flags.names());
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match spec.begin {
        Begin::Index(index) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map(1);
            out.bulk(b"index");
            out.int(index as i64);
        }
        Begin::Keyword(keyword, startfrom) => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(keyword.as_bytes());
            out.bulk(b"startfrom");
            out.int(startfrom as i64);
        }
        Begin::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    match spec.find {
        Find::Range {
            lastkey,
            keystep,
            limit,
        } => {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"lastkey");
            out.int(lastkey as i64);
            out.bulk(b"keystep");
            out.int(keystep as i64);
            out.bulk(b"limit");
            out.int(limit as i64);
        }
        Find::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"keynumidx");
            out.int(keynumidx as i64);
            out.bulk(b"firstkey");
            out.int(firstkey as i64);
            out.bulk(b"keystep");
            out.int(keystep as i64);
        }
        Find::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
}

/// One `COMMAND INFO` entry, in Redis 7's ten fields.
fn reply_info(out: &mut ReplyBuf, parent: Option<&CommandSpec>, spec: &CommandSpec) {
    out.array(10);
    out.bulk(full_name(parent, spec).as_bytes());
    out.int(spec.arity as i64);
    simple_set(out, &spec.flags.names().collect::<Vec<_>>());
    out.int(spec.first_key as i64);
    out.int(spec.last_key as i64);
    out.int(spec.key_step as i64);
    simple_set(out, &spec.acl_categories.names().collect::<Vec<_>>());
    // Tips: the table has none.
    out.set(0);
    let specs = spec.key_specs(parent);
    out.set(specs.len());
    for key in &specs {
        key_spec(out, key);
    }
    // Redis answers an empty set when there are no subcommands and an array otherwise.
    if spec.subcommands.is_empty() {
        out.set(0);
    } else {
        out.array(spec.subcommands.len());
        for sub in spec.subcommands {
            reply_info(out, Some(spec), sub);
        }
    }
}

/// One `COMMAND DOCS` value: summary, since, group, complexity, and the subcommands' docs.
fn reply_docs(out: &mut ReplyBuf, parent: Option<&CommandSpec>, spec: &CommandSpec) {
    let redis = redis_command_docs(&full_name(parent, spec));
    let doc_flags = redis.map_or(&[][..], |docs| docs.doc_flags);
    let deprecated_since = redis.and_then(|docs| docs.deprecated_since);
    let arguments = redis.map_or(&[][..], |docs| docs.arguments);
    let has_subs = !spec.subcommands.is_empty();
    out.map(
        4 + !doc_flags.is_empty() as usize
            + deprecated_since.is_some() as usize
            + !arguments.is_empty() as usize
            + has_subs as usize,
    );
    for (field, value) in [
        ("summary", spec.summary),
        ("since", spec.since),
        ("group", spec.group),
        ("complexity", spec.complexity),
    ] {
        out.bulk(field.as_bytes());
        out.bulk(value.as_bytes());
    }
    if !doc_flags.is_empty() {
        out.bulk(b"doc_flags");
        out.set(doc_flags.len());
        for flag in doc_flags {
            out.simple(flag);
        }
    }
    if let Some(version) = deprecated_since {
        out.bulk(b"deprecated_since");
        out.bulk(version.as_bytes());
    }
    if !arguments.is_empty() {
        out.bulk(b"arguments");
        reply_arguments(out, arguments);
    }
    if has_subs {
        out.bulk(b"subcommands");
        out.map(spec.subcommands.len());
        for sub in spec.subcommands {
            out.bulk(full_name(Some(spec), sub).as_bytes());
            reply_docs(out, Some(spec), sub);
        }
    }
}

/// Each argument as a map in Redis's field order.
fn reply_arguments(out: &mut ReplyBuf, arguments: &[Arg]) {
    out.array(arguments.len());
    for arg in arguments {
        let flags: Vec<&str> = arg.flags.names().collect();
        out.map(
            2 + arg.key_spec_index.is_some() as usize
                + arg.token.is_some() as usize
                + arg.since.is_some() as usize
                + arg.deprecated_since.is_some() as usize
                + !flags.is_empty() as usize
                + !arg.arguments.is_empty() as usize,
        );
        out.bulk(b"name");
        out.bulk(arg.name.as_bytes());
        out.bulk(b"type");
        out.bulk(arg.kind.as_bytes());
        if let Some(index) = arg.key_spec_index {
            out.bulk(b"key_spec_index");
            out.int(index as i64);
        }
        for (field, value) in [
            ("token", arg.token),
            ("since", arg.since),
            ("deprecated_since", arg.deprecated_since),
        ] {
            if let Some(value) = value {
                out.bulk(field.as_bytes());
                out.bulk(value.as_bytes());
            }
        }
        if !flags.is_empty() {
            out.bulk(b"flags");
            out.set(flags.len());
            for flag in flags {
                out.simple(flag);
            }
        }
        if !arg.arguments.is_empty() {
            out.bulk(b"arguments");
            reply_arguments(out, arg.arguments);
        }
    }
}

fn command_all(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let all: Vec<&CommandSpec> = all_commands().collect();
    ctx.out.array(all.len());
    for spec in all {
        reply_info(ctx.out, None, spec);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(all_commands().count() as i64);
    Ok(())
}

fn command_info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return command_all(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for name in &args[2..] {
        match find(name) {
            Some((parent, spec)) => reply_info(ctx.out, parent, spec),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn command_docs(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let found: Vec<Found> = if args.len() == 2 {
        all_commands().map(|spec| (None, spec)).collect()
    } else {
        // Unknown names are left out; a name asked twice is answered twice, as Redis does.
        args[2..].iter().filter_map(|name| find(name)).collect()
    };
    ctx.out.map(found.len());
    for (parent, spec) in found {
        ctx.out.bulk(full_name(parent, spec).as_bytes());
        reply_docs(ctx.out, parent, spec);
    }
    Ok(())
}

enum Filter<'a> {
    All,
    Module,
    AclCategory(&'a [u8]),
    Pattern(&'a [u8]),
}

impl Filter<'_> {
    fn keeps(&self, parent: Option<&CommandSpec>, spec: &CommandSpec) -> bool {
        match self {
            Filter::All => true,
            // cachet has no modules.
            Filter::Module => false,
            Filter::AclCategory(category) => AclCategories::named(category)
                .is_some_and(|category| spec.acl_categories.contains(category)),
            Filter::Pattern(pattern) => {
                glob_match(pattern, full_name(parent, spec).as_bytes(), true)
            }
        }
    }
}

fn command_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let filter = match &args[2..] {
        [] => Filter::All,
        [by, kind, value] if by.eq_ignore_ascii_case(b"filterby") => {
            if kind.eq_ignore_ascii_case(b"module") {
                Filter::Module
            } else if kind.eq_ignore_ascii_case(b"aclcat") {
                Filter::AclCategory(value)
            } else if kind.eq_ignore_ascii_case(b"pattern") {
                Filter::Pattern(value)
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let mut names = Vec::new();
    for spec in all_commands() {
        if filter.keeps(None, spec) {
            names.push(spec.name.to_string());
        }
        for sub in spec.subcommands {
            if filter.keeps(Some(spec), sub) {
                names.push(full_name(Some(spec), sub));
            }
        }
    }
    ctx.out.bulks(names.iter().map(|n| n.as_bytes()));
    Ok(())
}

/// The command named by `args[2..]` and the positions its key specs find within that slice (none
/// when they fail), with the errors of Redis's `getKeysSubcommandImpl` in its order.
type KeysOf = (
    Option<&'static CommandSpec>,
    &'static CommandSpec,
    Vec<usize>,
);

fn keys_of(args: &[Bytes]) -> Result<KeysOf, CmdError> {
    let command = &args[2..];
    let base = lookup(&command[0]).ok_or(CmdError::InvalidCommand)?;
    let (parent, spec) = match command.get(1) {
        Some(sub) if !base.subcommands.is_empty() => (
            Some(base),
            lookup_subcommand(base, sub).ok_or(CmdError::InvalidCommand)?,
        ),
        _ => (None, base),
    };
    if spec.first_key <= 0 && spec.movable_keys.is_none() {
        return Err(CmdError::NoKeyArguments);
    }
    let argc = command.len();
    let arity_ok = if spec.arity >= 0 {
        argc == spec.arity as usize
    } else {
        argc >= spec.arity.unsigned_abs() as usize
    };
    if !arity_ok {
        return Err(CmdError::InvalidArgumentCount);
    }
    Ok((parent, spec, spec.keys_in(command)))
}

/// Where Redis's `getkeys_proc` of a `numkeys` command finds its keys (`genericGetKeys`'s store
/// key, `numkeys` and first key offsets), the procedure COMMAND GETKEYS falls back to when the
/// command's key specs fail on a `numkeys` that is not a plain integer.
fn numkeys_procedure(name: &str) -> Option<(usize, usize, usize)> {
    match name {
        "zunionstore" | "zinterstore" | "zdiffstore" => Some((1, 2, 3)),
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" | "blmpop"
        | "bzmpop" => Some((0, 2, 3)),
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            Some((0, 1, 2))
        }
        _ => None,
    }
}

/// The keys `genericGetKeys` returns, with no flags: `numkeys` read with C's `atoi` ("1e400",
/// " 2", "01" count 1, 2, 1), the sources first and the store key last. Empty when that count is
/// below 1 or more than the arguments hold, as there.
fn procedure_keys(name: &str, command: &[Bytes]) -> Vec<usize> {
    let Some((store, count_at, first)) = numkeys_procedure(name) else {
        return Vec::new();
    };
    let Some(count) = command.get(count_at).map(|n| c_atoi(n)) else {
        return Vec::new();
    };
    let available = command.len().saturating_sub(first);
    match usize::try_from(count) {
        Ok(count) if count >= 1 && count <= available => (first..first + count)
            .chain((store > 0).then_some(store))
            .collect(),
        _ => Vec::new(),
    }
}

/// C's `atoi` as glibc has it (`(int) strtol(s, NULL, 10)`): leading white space, a sign, the
/// digits up to the first other byte; `strtol` saturates and the cast keeps the low 32 bits.
fn c_atoi(text: &[u8]) -> i32 {
    let text = match text.iter().position(|b| !b" \t\n\x0b\x0c\r".contains(b)) {
        Some(start) => &text[start..],
        None => return 0,
    };
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for digit in digits.iter().take_while(|b| b.is_ascii_digit()) {
        let digit = i64::from(digit - b'0');
        value = match value.checked_mul(10).and_then(|v| {
            if negative {
                v.checked_sub(digit)
            } else {
                v.checked_add(digit)
            }
        }) {
            Some(value) => value,
            None if negative => i64::MIN,
            None => i64::MAX,
        };
        if value == i64::MIN || value == i64::MAX {
            break;
        }
    }
    value as i32
}

/// GETKEYS and GETKEYSANDFLAGS: the key specs' keys with their flags, or, when the specs fail on
/// a malformed `numkeys`, the `getkeys_proc` fallback's keys without flags (Redis's
/// `getKeysFromCommandWithSpecs`). No key at all is an error, but for the commands flagged
/// `no_mandatory_keys` (EVAL, FCALL...), whose answer is then an empty array.
fn keys_and_flags(args: &[Bytes]) -> Result<Vec<(usize, Option<KeyFlags>)>, CmdError> {
    let (parent, spec, positions) = keys_of(args)?;
    let command = &args[2..];
    let keys: Vec<(usize, Option<KeyFlags>)> = if positions.is_empty() {
        procedure_keys(spec.name, command)
            .into_iter()
            .map(|position| (position, None))
            .collect()
    } else {
        spec.keys_with_flags(parent, command)
            .into_iter()
            .map(|(position, flags)| (position, Some(flags)))
            .collect()
    };
    if keys.is_empty() && !spec.flags.contains(CommandFlags::NO_MANDATORY_KEYS) {
        return Err(CmdError::InvalidArguments);
    }
    Ok(keys)
}

fn command_getkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let positions: Vec<usize> = keys_and_flags(args)?
        .into_iter()
        .map(|(position, _)| position)
        .collect();
    let command = &args[2..];
    ctx.out.bulks(
        positions
            .iter()
            .filter_map(|&p| command.get(p))
            .map(|k| &k[..])
            .collect::<Vec<_>>()
            .into_iter(),
    );
    Ok(())
}

/// Each key with the flags of the key spec that names it (`CommandSpec::keys_with_flags`).
fn command_getkeysandflags(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys = keys_and_flags(args)?;
    let command = &args[2..];
    ctx.out.array(keys.len());
    for (position, flags) in keys {
        ctx.out.array(2);
        ctx.out.bulk(&command[position]);
        simple_set(ctx.out, &flags.map(|f| f.names()).unwrap_or_default());
    }
    Ok(())
}

fn command_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_subcommands_by_full_name() {
        let (parent, spec) = find(b"CONFIG|get").expect("config|get");
        assert_eq!(full_name(parent, spec), "config|get");
        assert!(find(b"config|nope").is_none());
        assert!(find(b"nope").is_none());
    }

    #[test]
    fn a_command_redis_lacks_gets_a_spec_from_its_key_range() {
        let mset_like = CommandSpec {
            name: "cache.mset-like",
            arity: -3,
            flags: flags!(WRITE),
            first_key: 1,
            last_key: -1,
            key_step: 2,
            ..SPEC
        };
        assert_eq!(mset_like.key_positions(5), [1, 3]);
        let specs = mset_like.key_specs(None);
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].flags.names(), ["RW", "update"]);
        let mut out = ReplyBuf::new(crate::protocol::Protocol::Resp2);
        key_spec(&mut out, &specs[0]);
        let text = String::from_utf8_lossy(&out.to_vec()).into_owned();
        assert!(
            text.ends_with("$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:2\r\n$5\r\nlimit\r\n:0\r\n"),
            "{text}"
        );
    }

    #[test]
    fn resp3_info_entry_uses_sets_and_maps() {
        let get = all_commands().find(|spec| spec.name == "get").expect("get");
        let mut out = ReplyBuf::new(crate::protocol::Protocol::Resp3);
        reply_info(&mut out, None, get);
        // Byte for byte what redis-server 7.0 answers after HELLO 3.
        let expected = "*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n\
~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n\
$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
        assert_eq!(String::from_utf8_lossy(&out.to_vec()), expected);
    }

    #[test]
    fn resp3_docs_are_maps() {
        let config = all_commands()
            .find(|spec| spec.name == "config")
            .expect("config");
        let mut out = ReplyBuf::new(crate::protocol::Protocol::Resp3);
        reply_docs(&mut out, None, config);
        let text = String::from_utf8_lossy(&out.to_vec()).into_owned();
        assert!(
            text.starts_with(
                "%5\r\n$7\r\nsummary\r\n$45\r\nA container for server configuration commands\r\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "$11\r\nsubcommands\r\n%5\r\n$10\r\nconfig|set\r\n%5\r\n$7\r\nsummary\r\n"
            ),
            "{text}"
        );
        // The arguments' flags are a set of simple strings, as Redis sends them.
        assert!(
            text.contains("$5\r\nflags\r\n~1\r\n+multiple\r\n"),
            "{text}"
        );
    }

    #[test]
    fn every_name_is_unique_and_lower_case() {
        let mut names: Vec<String> = Vec::new();
        for spec in all_commands() {
            names.push(spec.name.to_string());
            names.extend(
                spec.subcommands
                    .iter()
                    .map(|sub| full_name(Some(spec), sub)),
            );
        }
        for name in &names {
            assert_eq!(name, &name.to_ascii_lowercase());
        }
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count);
    }
}
