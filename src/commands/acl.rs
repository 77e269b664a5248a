//! ACL (Redis 7.0's `aclCommand`): users and their rules (`state::acl`), the permission check
//! every command passes at dispatch, inside EXEC and in scripts (`permitted`), and ACL LOG's
//! entries (`log_refusal`).

use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use bytes::Bytes;

use super::{all_commands, reply_help, CommandFlags, CommandSpec, Ctx, SPEC};
use crate::commands::args::is;
use crate::error::{CmdError, CmdResult};
use crate::protocol::parse_i64;
use crate::state::acl::check::{check, Denied};
use crate::state::acl::log::{Context, Entry, Reason};
use crate::state::acl::rules::{
    describe_channels, describe_commands, describe_keys, describe_user, flag_names, has_spaces,
    set_user, RuleContext,
};
use crate::state::acl::{file, CommandIndex, User, DEFAULT_USER};
use crate::state::command::AclCategories;
use crate::state::Server;

const ACL_FLAGS: CommandFlags = flags!(ADMIN, NOSCRIPT, LOADING, STALE);
const ACL_ACL: AclCategories = acl!(ADMIN, SLOW, DANGEROUS);

const fn sub(
    name: &'static str,
    arity: i32,
    admin: bool,
    summary: &'static str,
    complexity: &'static str,
    handler: super::Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags: if admin {
            ACL_FLAGS
        } else {
            flags!(NOSCRIPT, LOADING, STALE)
        },
        acl_categories: if admin { ACL_ACL } else { acl!(SLOW) },
        group: "server",
        summary,
        since: "6.0.0",
        complexity,
        handler: Some(handler),
        ..SPEC
    }
}

const USERS_N: &str = "O(N). Where N is the number of configured users.";

static ACL_SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "cat",
        -2,
        false,
        "List the ACL categories or the commands inside a category",
        "O(1) since the categories and commands are a fixed set.",
        acl_cat,
    ),
    sub(
        "deluser",
        -3,
        true,
        "Remove the specified ACL users and the associated rules",
        "O(1) amortized time considering the typical user.",
        acl_deluser,
    ),
    CommandSpec {
        since: "7.0.0",
        ..sub(
            "dryrun",
            -4,
            true,
            "Returns whether the user can execute the given command without executing the command.",
            "O(1).",
            acl_dryrun,
        )
    },
    sub(
        "genpass",
        -2,
        false,
        "Generate a pseudorandom secure password to use for ACL users",
        "O(1)",
        acl_genpass,
    ),
    sub(
        "getuser",
        3,
        true,
        "Get the rules for a specific ACL user",
        "O(N). Where N is the number of password, command and pattern rules that the user has.",
        acl_getuser,
    ),
    CommandSpec {
        flags: flags!(LOADING, STALE),
        ..sub(
            "help",
            2,
            false,
            "Show helpful text about the different subcommands",
            "O(1)",
            acl_help,
        )
    },
    sub(
        "list",
        2,
        true,
        "List the current ACL rules in ACL config file format",
        USERS_N,
        acl_list,
    ),
    sub(
        "load",
        2,
        true,
        "Reload the ACLs from the configured ACL file",
        USERS_N,
        acl_load,
    ),
    sub(
        "log",
        -2,
        true,
        "List latest events denied because of ACLs in place",
        "O(N) with N being the number of entries shown.",
        acl_log,
    ),
    sub(
        "save",
        2,
        true,
        "Save the current ACL rules in the configured ACL file",
        USERS_N,
        acl_save,
    ),
    sub(
        "setuser",
        -3,
        true,
        "Modify or create the rules for a specific ACL user",
        "O(N). Where N is the number of rules provided.",
        acl_setuser,
    ),
    sub(
        "users",
        2,
        true,
        "List the username of all the configured ACL rules",
        USERS_N,
        acl_users,
    ),
    sub(
        "whoami",
        2,
        false,
        "Return the name of the user associated to the current connection",
        "O(1)",
        acl_whoami,
    ),
];

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "acl",
    arity: -2,
    acl_categories: acl!(SLOW),
    group: "server",
    summary: "A container for Access List Control commands",
    since: "6.0.0",
    complexity: "Depends on subcommand.",
    subcommands: ACL_SUBCOMMANDS,
    ..SPEC
}];

/// The command table numbered for ACL bit sets, built once.
pub fn command_index() -> &'static CommandIndex {
    static INDEX: OnceLock<CommandIndex> = OnceLock::new();
    INDEX.get_or_init(|| CommandIndex::new(all_commands()))
}

fn rule_context(server: &Server) -> RuleContext<'static> {
    RuleContext {
        index: command_index(),
        pubsub_all_channels: server.config.read().acl_pubsub_allchannels,
    }
}

/// Where a refusal happened as ACL LOG says it: in a transaction or not (scripts say `Lua`).
pub fn context_of(ctx: &Ctx<'_>) -> Context {
    if ctx.client.multi.is_some() || ctx.client.in_exec {
        Context::Multi
    } else {
        Context::Toplevel
    }
}

/// Adds an ACL LOG entry for the current client (Redis's `addACLLogEntry`).
pub fn log_refusal(
    ctx: &Ctx<'_>,
    reason: Reason,
    context: Context,
    object: Bytes,
    username: Bytes,
    args: &[Bytes],
) {
    let info = ctx.client.info.clone();
    let entry = Entry {
        count: 1,
        reason,
        context,
        object,
        username,
        updated_ms: crate::engine::now_ms(),
        client_info: super::client::list::line_for(ctx, &info, args),
    };
    let max_len = ctx.server.config.read().acllog_max_len;
    ctx.server.acl.log.add(entry, max_len);
}

/// The permission check of a resolved command for the client's user: a flag test for a user
/// allowed everything (the default user), the whole check (`state::acl::check`) otherwise. A
/// refusal is logged.
pub fn permitted(
    ctx: &mut Ctx<'_>,
    parent: Option<&'static CommandSpec>,
    spec: &'static CommandSpec,
    args: &[Bytes],
    context: Context,
) -> Result<(), Denied> {
    if !ctx.client.refresh_user(&ctx.server.acl) {
        // Deleted while connected (its kill is on the way): Redis has already freed such a
        // client, so it runs nothing more, as its user or as the default one.
        ctx.client.close_after_reply = true;
        return Err(Denied::Command);
    }
    if ctx.client.user.unrestricted() {
        return Ok(());
    }
    let denied = match check(&ctx.client.user, command_index(), parent, spec, args) {
        Ok(()) => return Ok(()),
        Err(denied) => denied,
    };
    let (reason, object) = match denied {
        Denied::Command => (Reason::Command, Bytes::from(super::full_name(parent, spec))),
        Denied::Key(at) => (Reason::Key, Bytes::copy_from_slice(&args[at])),
        Denied::Channel(at) => (Reason::Channel, Bytes::copy_from_slice(&args[at])),
    };
    let username = ctx.client.user.name.clone();
    log_refusal(ctx, reason, context, object, username, args);
    Err(denied)
}

/// The NOPERM error of a refusal at dispatch.
pub fn denied_error(denied: Denied, parent: Option<&CommandSpec>, spec: &CommandSpec) -> CmdError {
    match denied {
        Denied::Command => CmdError::NoPermCommand(super::full_name(parent, spec).into()),
        Denied::Key(_) => CmdError::NoPermKey,
        Denied::Channel(_) => CmdError::NoPermChannel,
    }
}

/// The error of a queued command refused at EXEC, the permissions having changed since.
pub fn exec_denied_error(denied: Denied) -> CmdError {
    CmdError::ExecNoPerm(match denied {
        Denied::Command => "no permission to execute the command or subcommand",
        Denied::Key(_) => "no permission to touch the specified keys",
        Denied::Channel(_) => "no permission to access one of the channels used as arguments",
    })
}

/// Closes every other connection running as `name` (Redis's `ACLFreeUserAndKillClients`); the
/// caller's own connection closes after this reply.
fn kill_clients_of(ctx: &mut Ctx<'_>, name: &[u8], only_subscribers: bool) {
    for info in ctx.server.clients.all() {
        if info.killed.load(Ordering::Relaxed) || info.details().user != name {
            continue;
        }
        if only_subscribers
            && ctx.server.pubsub.subscriber(info.id).is_none_or(|s| {
                s.channels.load(Ordering::Relaxed)
                    + s.patterns.load(Ordering::Relaxed)
                    + s.shard_channels.load(Ordering::Relaxed)
                    == 0
            })
        {
            continue;
        }
        if info.id == ctx.client.id {
            ctx.client.close_after_reply = true;
        } else {
            info.request_kill();
        }
    }
}

/// Whether the channels `new` allows are fewer than those of `old` (Redis's
/// `ACLKillPubsubClientsIfNeeded` test): its subscribers may hold channels they lost.
fn channels_revoked(old: &User, new: &User) -> bool {
    if new.all_selectors().any(|s| s.all_channels) {
        return false;
    }
    let upcoming: Vec<&Bytes> = new.all_selectors().flat_map(|s| &s.channels).collect();
    old.all_selectors()
        .any(|s| s.all_channels || s.channels.iter().any(|c| !upcoming.contains(&c)))
}

fn acl_setuser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let name = &args[2];
    if has_spaces(name) {
        return Err(CmdError::AclUsernameSpaces);
    }
    let rules: Vec<&[u8]> = args[3..].iter().map(|a| &a[..]).collect();
    let rule_ctx = rule_context(ctx.server);
    let (old, new) = ctx
        .server
        .acl
        .update(name, |old| {
            let base = old
                .cloned()
                .unwrap_or_else(|| User::new(name, rule_ctx.pubsub_all_channels));
            set_user(base, &rules, &rule_ctx)
        })
        .map_err(|text| CmdError::AclRule(text.into()))?;
    // Subscribers of a user who lost channels are disconnected, as Redis 7.0 does; cachet
    // cannot see which channels each holds from here, so each subscribed client of the user goes.
    if old
        .as_deref()
        .is_some_and(|old| channels_revoked(old, &new))
    {
        kill_clients_of(ctx, name, true);
    }
    ctx.out.ok();
    Ok(())
}

fn acl_deluser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args[2..].iter().any(|name| &name[..] == DEFAULT_USER) {
        return Err(CmdError::AclDeleteDefault);
    }
    let mut deleted = 0;
    for name in &args[2..] {
        if ctx.server.acl.remove(name) {
            kill_clients_of(ctx, name, false);
            deleted += 1;
        }
    }
    ctx.out.int(deleted);
    Ok(())
}

fn selector_fields(ctx: &mut Ctx<'_>, selector: &crate::state::acl::Selector) {
    let index = command_index();
    ctx.out.bulk(b"commands");
    ctx.out.bulk(&describe_commands(selector, index));
    ctx.out.bulk(b"keys");
    ctx.out.bulk(&describe_keys(selector));
    ctx.out.bulk(b"channels");
    ctx.out.bulk(&describe_channels(selector));
}

fn acl_getuser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(user) = ctx.server.acl.get(&args[2]) else {
        ctx.out.null();
        return Ok(());
    };
    ctx.out.map(6);
    ctx.out.bulk(b"flags");
    let flags = flag_names(&user);
    ctx.out.set(flags.len());
    for flag in flags {
        ctx.out.bulk(flag.as_bytes());
    }
    ctx.out.bulk(b"passwords");
    ctx.out.array(user.passwords.len());
    for password in &user.passwords {
        ctx.out.bulk(password.as_bytes());
    }
    selector_fields(ctx, &user.root);
    ctx.out.bulk(b"selectors");
    ctx.out.array(user.selectors.len());
    for selector in &user.selectors {
        ctx.out.map(3);
        selector_fields(ctx, selector);
    }
    Ok(())
}

fn acl_users(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let users = ctx.server.acl.users();
    ctx.out.array(users.len());
    for user in users {
        ctx.out.bulk(&user.name);
    }
    Ok(())
}

/// Every user as ACL LIST, ACL SAVE and CONFIG REWRITE write it (`user name rules...`), by name.
pub fn user_lines(server: &Server) -> Vec<Vec<u8>> {
    server
        .acl
        .users()
        .into_iter()
        .map(|user| {
            let mut line = b"user ".to_vec();
            line.extend_from_slice(&user.name);
            line.push(b' ');
            line.extend_from_slice(&describe_user(&user, command_index()));
            line
        })
        .collect()
}

fn acl_list(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let lines = user_lines(ctx.server);
    ctx.out.array(lines.len());
    for line in lines {
        ctx.out.bulk(&line);
    }
    Ok(())
}

fn acl_whoami(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let name = ctx.client.user.name.clone();
    ctx.out.bulk(&name);
    Ok(())
}

fn acl_cat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args.get(2) {
        None => {
            let names: Vec<String> = AclCategories::all()
                .iter_names()
                .map(|(name, _)| name.to_ascii_lowercase())
                .collect();
            ctx.out.array(names.len());
            for name in names {
                ctx.out.bulk(name.as_bytes());
            }
        }
        Some(name) if args.len() == 3 => {
            let category = AclCategories::named(name)
                .ok_or_else(|| CmdError::AclUnknownCategory(name[..].into()))?;
            let index = command_index();
            let names: Vec<&str> = index
                .walk()
                .filter(|&id| index.categories(id).intersects(category))
                .map(|id| index.entry(id).full_name.as_str())
                .collect();
            ctx.out.array(names.len());
            for name in names {
                ctx.out.bulk(name.as_bytes());
            }
        }
        Some(_) => return Err(subcommand_syntax(args)),
    }
    Ok(())
}

/// Redis's `addReplySubcommandSyntaxError` for a known subcommand with the wrong arguments.
fn subcommand_syntax(args: &[Bytes]) -> CmdError {
    CmdError::UnknownSubcommandOrArity {
        command: "acl",
        sub: args[1][..].into(),
    }
}

/// At most this many bits of password (Redis's `GENPASS_MAX_BITS`).
const GENPASS_MAX_BITS: i64 = 4096;

fn acl_genpass(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let bits = match args.len() {
        2 => 256,
        3 => parse_i64(&args[2]).ok_or(CmdError::NotInteger)?,
        _ => return Err(subcommand_syntax(args)),
    };
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        return Err(CmdError::AclGenpassBits);
    }
    let chars = ((bits + 3) / 4) as usize;
    let mut random = vec![0u8; chars.div_ceil(2)];
    if getrandom::fill(&mut random).is_err() {
        random.iter_mut().for_each(|b| *b = fastrand::u8(..));
    }
    let mut hex = String::with_capacity(random.len() * 2);
    for byte in random {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex.truncate(chars);
    ctx.out.bulk(hex.as_bytes());
    Ok(())
}

fn acl_log(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut count = 10;
    match args.len() {
        2 => {}
        3 if is(&args[2], "reset") => {
            ctx.server.acl.log.reset();
            ctx.out.ok();
            return Ok(());
        }
        3 => count = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?.max(0),
        _ => return Err(subcommand_syntax(args)),
    }
    let entries = ctx.server.acl.log.newest(count as usize);
    let now = crate::engine::now_ms();
    ctx.out.array(entries.len());
    for entry in entries {
        ctx.out.map(7);
        ctx.out.bulk(b"count");
        ctx.out.int(entry.count as i64);
        ctx.out.bulk(b"reason");
        ctx.out.bulk(entry.reason.name().as_bytes());
        ctx.out.bulk(b"context");
        ctx.out.bulk(entry.context.name().as_bytes());
        ctx.out.bulk(b"object");
        ctx.out.bulk(&entry.object);
        ctx.out.bulk(b"username");
        ctx.out.bulk(&entry.username);
        ctx.out.bulk(b"age-seconds");
        ctx.out
            .double(now.saturating_sub(entry.updated_ms) as f64 / 1000.0);
        ctx.out.bulk(b"client-info");
        ctx.out.bulk(entry.client_info.as_bytes());
    }
    Ok(())
}

fn acl_dryrun(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let user = ctx
        .server
        .acl
        .get(&args[2])
        .ok_or_else(|| CmdError::AclDryrunNoUser(args[2][..].into()))?;
    let command = &args[3..];
    let base = super::lookup(&command[0])
        .ok_or_else(|| CmdError::AclDryrunNoCommand(command[0][..].into()))?;
    let (parent, spec) = match command.get(1) {
        Some(sub) if !base.subcommands.is_empty() => match super::lookup_subcommand(base, sub) {
            Some(found) => (Some(base), found),
            None => return Err(CmdError::AclDryrunNoCommand(command[0][..].into())),
        },
        _ => (None, base),
    };
    let argc = command.len();
    let arity_ok = if spec.arity >= 0 {
        argc == spec.arity as usize
    } else {
        argc >= spec.arity.unsigned_abs() as usize
    };
    if !arity_ok {
        return Err(CmdError::WrongArity(super::full_name(parent, spec)));
    }
    match check(&user, command_index(), parent, spec, command) {
        Ok(()) => ctx.out.ok(),
        Err(denied) => {
            // The key or channel as Redis's `sdscatfmt("%s")` writes it: raw bytes up to a NUL.
            let quoted = |what: &str, arg: &[u8]| {
                let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
                let mut text = b"This user has no permissions to access the '".to_vec();
                text.extend_from_slice(&arg[..end]);
                text.extend_from_slice(format!("' {what}").as_bytes());
                text
            };
            let text = match denied {
                Denied::Command => format!(
                    "This user has no permissions to run the '{}' command",
                    super::full_name(parent, spec)
                )
                .into_bytes(),
                Denied::Key(at) => quoted("key", &command[at]),
                Denied::Channel(at) => quoted("channel", &command[at]),
            };
            ctx.out.bulk(&text);
        }
    }
    Ok(())
}

fn acl_file(ctx: &Ctx<'_>) -> Result<String, CmdError> {
    let path = ctx.server.config.read().aclfile.clone();
    if path.is_empty() {
        return Err(CmdError::AclNoFile);
    }
    Ok(path)
}

/// Replaces every user with those of the ACL file, or changes nothing. Connections of users
/// that were replaced are closed (Redis frees every user but the default one).
pub fn load_file(server: &Server, path: &str) -> Result<Vec<Bytes>, Vec<u8>> {
    let text = std::fs::read(path)
        .map_err(|e| format!("Error loading ACLs, opening file '{path}': {e}").into_bytes())?;
    let users = file::parse(&text, path, &rule_context(server))?;
    let old = server.acl.replace_all(users);
    Ok(old
        .into_iter()
        .map(|u| u.name.clone())
        .filter(|name| &name[..] != DEFAULT_USER)
        .collect())
}

fn acl_load(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let path = acl_file(ctx)?;
    let replaced = load_file(ctx.server, &path).map_err(|text| CmdError::AclLoad(text.into()))?;
    for name in replaced {
        kill_clients_of(ctx, &name, false);
    }
    ctx.out.ok();
    Ok(())
}

fn acl_save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let path = acl_file(ctx)?;
    let users = ctx.server.acl.users();
    let text = file::render(users.iter().map(|u| &**u), command_index());
    if let Err(err) = file::save(std::path::Path::new(&path), &text) {
        tracing::warn!(%err, path, "ACL SAVE failed");
        return Err(CmdError::AclSave);
    }
    ctx.out.ok();
    Ok(())
}

/// Loads the users of the conf file's `user` lines or of `aclfile` (not both, as Redis), before
/// the first client. The error is why the server must not start.
pub fn load_at_startup(server: &Server) -> Result<(), String> {
    let (lines, path) = {
        let config = server.config.read();
        (config.users.clone(), config.aclfile.clone())
    };
    if !path.is_empty() && !lines.is_empty() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
    }
    if !lines.is_empty() {
        let argv: Vec<Vec<&[u8]>> = lines
            .iter()
            .map(|args| {
                std::iter::once(&b"user"[..])
                    .chain(args.iter().map(|a| &a[..]))
                    .collect()
            })
            .collect();
        let users = file::parse_lines(&argv, "conf file", &rule_context(server))
            .map_err(|e| String::from_utf8_lossy(&e).into_owned())?;
        // `requirepass` was given to the default user already; a `user default` line overrides it.
        let default = server.acl.default_user();
        let mut users = users;
        if !users.iter().any(|u| &u.name[..] == DEFAULT_USER) {
            users.push((*default).clone());
        }
        server.acl.replace_all(users);
    }
    if !path.is_empty() {
        load_file(server, &path).map_err(|e| String::from_utf8_lossy(&e).into_owned())?;
    }
    Ok(())
}

fn acl_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What ACL SAVE writes loads back as the same user, with the real command table (the fuzz
    /// target `acl_rules` checks the same on arbitrary rules).
    #[test]
    fn descriptions_rebuild_the_same_user() {
        let ctx = RuleContext {
            index: command_index(),
            pubsub_all_channels: false,
        };
        for rules in [
            "on >pw ~k* %R~r* &ch +@all -@dangerous +debug|object",
            "+@read -keys +select|0 (+set ~s*) (+@hash %W~h*)",
            "allcommands -@admin +config|get -config|get +client|id",
            "+@cache -tag.invalidate +@string -@write",
            "nocommands +acl -acl|setuser",
        ] {
            let args: Vec<&[u8]> = rules.split(' ').map(str::as_bytes).collect();
            let user = set_user(User::new(b"u", false), &args, &ctx).unwrap();
            let described = describe_user(&user, ctx.index);
            let again: Vec<&[u8]> = described.split(|&b| b == b' ').collect();
            let rebuilt = set_user(User::new(b"u", false), &again, &ctx).unwrap();
            assert_eq!(
                rebuilt,
                user,
                "{rules} described as {}",
                String::from_utf8_lossy(&described)
            );
        }
    }

    /// Every command and subcommand has an ACL bit, and the table fits in them.
    #[test]
    fn the_table_fits_the_bits() {
        let index = command_index();
        assert!(index.len() > 300 && index.len() < crate::state::acl::COMMAND_BITS - 1);
        for spec in all_commands() {
            assert!(index.id_of(spec).is_some(), "{}", spec.name);
            for sub in spec.subcommands {
                assert!(index.id_of(sub).is_some(), "{}|{}", spec.name, sub.name);
            }
        }
    }
}
