//! `CONFIG GET/SET/RESETSTAT/REWRITE/HELP`. The list of directives, their parsing and the file
//! rewrite live in `state::config`; this file only speaks the protocol, with Redis 7's order of
//! checks so that the same mistake gets the same error.

use crate::commands::reply_help;
use crate::commands::{AclCategories, CommandFlags};
use bytes::Bytes;

use crate::commands::{CommandSpec, Ctx, SPEC};
use crate::engine::glob::glob_match;
use crate::error::{CmdError, CmdResult};
use crate::state::config::{directives, find_directive, refusal, Directive};
use crate::state::listeners;

const ADMIN_FLAGS: CommandFlags = flags!(ADMIN, NOSCRIPT, LOADING, STALE);
const ADMIN_ACL: AclCategories = acl!(ADMIN, SLOW, DANGEROUS);

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "config",
    arity: -2,
    acl_categories: acl!(SLOW),
    group: "server",
    summary: "A container for server configuration commands",
    since: "2.0.0",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "set",
            arity: -4,
            flags: ADMIN_FLAGS,
            acl_categories: ADMIN_ACL,
            group: "server",
            summary: "Set configuration parameters to the given values",
            since: "2.0.0",
            complexity: "O(N) when N is the number of configuration parameters provided",
            handler: Some(config_set),
            ..SPEC
        },
        CommandSpec {
            name: "get",
            arity: -3,
            flags: ADMIN_FLAGS,
            acl_categories: ADMIN_ACL,
            group: "server",
            summary: "Get the values of configuration parameters",
            since: "2.0.0",
            complexity: "O(N) when N is the number of configuration parameters provided",
            handler: Some(config_get),
            ..SPEC
        },
        CommandSpec {
            name: "resetstat",
            arity: 2,
            flags: ADMIN_FLAGS,
            acl_categories: ADMIN_ACL,
            group: "server",
            summary: "Reset the stats returned by INFO",
            since: "2.0.0",
            handler: Some(config_resetstat),
            ..SPEC
        },
        CommandSpec {
            name: "rewrite",
            arity: 2,
            flags: ADMIN_FLAGS,
            acl_categories: ADMIN_ACL,
            group: "server",
            summary: "Rewrite the configuration file with the in memory configuration",
            since: "2.8.0",
            handler: Some(config_rewrite),
            ..SPEC
        },
        CommandSpec {
            name: "help",
            arity: 2,
            flags: flags!(LOADING, STALE),
            acl_categories: acl!(SLOW),
            group: "server",
            summary: "Show helpful text about the different subcommands",
            since: "5.0.0",
            handler: Some(config_help),
            ..SPEC
        },
    ],
    ..SPEC
}];

fn config_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

fn has_glob(pattern: &[u8]) -> bool {
    pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// Directives matched by `patterns`, each once, with the name to answer: a name given without
/// glob characters is echoed as typed (Redis 7 does so), a glob match answers the directive's name.
fn matches(patterns: &[Bytes]) -> Vec<(&'static Directive, String)> {
    let mut found: Vec<(&'static Directive, String)> = Vec::new();
    let add =
        |found: &mut Vec<(&'static Directive, String)>, d: &'static Directive, name: String| {
            if !found.iter().any(|(seen, _)| std::ptr::eq(*seen, d)) {
                found.push((d, name));
            }
        };
    for pattern in patterns {
        if has_glob(pattern) {
            for d in directives().filter(|d| glob_match(pattern, d.name.as_bytes(), true)) {
                add(&mut found, d, d.name.to_string());
            }
        } else if let Some(d) = std::str::from_utf8(pattern).ok().and_then(find_directive) {
            add(&mut found, d, String::from_utf8_lossy(pattern).into_owned());
        }
    }
    found
}

fn config_get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let found = matches(&args[2..]);
    let values = ctx.server.config.read();
    let pairs: Vec<(String, String)> = found
        .into_iter()
        .map(|(d, name)| (name, (d.get)(&values)))
        .collect();
    drop(values);
    ctx.out.map(pairs.len());
    for (name, value) in pairs {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

/// Checks every name before any value, as Redis 7 does: the first unknown name wins unless an
/// immutable, protected (and not enabled for this client) or repeated name came before it; only
/// then are values parsed, all or nothing.
fn config_set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let allow_protected = may_set_protected(ctx);
    let mut chosen: Vec<(&'static Directive, String)> = Vec::new();
    let mut failure: Option<CmdError> = None;
    for pair in args[2..].chunks_exact(2) {
        let typed = String::from_utf8_lossy(&pair[0]).into_owned();
        let Some(directive) = find_directive(&typed) else {
            if failure.is_none() {
                return Err(CmdError::ConfigUnknown { name: typed.into() });
            }
            continue;
        };
        if failure.is_some() {
            continue;
        }
        if let Some(refused) = refusal(directive, &typed, allow_protected) {
            failure = Some(refused);
        } else if chosen.iter().any(|(d, _)| std::ptr::eq(*d, directive)) {
            failure = Some(CmdError::ConfigDuplicate { name: typed.into() });
        } else {
            chosen.push((directive, String::from_utf8_lossy(&pair[1]).into_owned()));
        }
    }
    if let Some(failure) = failure {
        return Err(failure);
    }
    // A value is one argument even when it holds spaces (`save "3600 1"`, `bind "a b"`): the
    // directive's parser splits it if it takes several words.
    let pairs: Vec<(&str, Vec<&str>)> = chosen
        .iter()
        .map(|(d, value)| (d.name, vec![value.as_str()]))
        .collect();
    // A change the TLS contexts are built from rebuilds them before it is published; when they
    // do not build (a missing file, a key that does not match) nothing changes, as in Redis.
    let server = ctx.server;
    let tls_change = pairs
        .iter()
        .find(|(name, _)| crate::state::tls::config::shapes_contexts(name))
        .map(|(name, _)| *name);
    // A new port is bound before the change is published: one that cannot be had refuses it all.
    let mut rebinds = Vec::new();
    server
        .config
        .set_checked(&pairs, allow_protected, |values| {
            // A region's budget must stay within the global one (see `engine::region::check`).
            let specs: Vec<_> = server
                .keyspace
                .region_reports()
                .into_iter()
                .map(|r| r.spec)
                .collect();
            crate::engine::region::check(&specs, values.maxmemory).map_err(|reason| {
                CmdError::ConfigInvalid {
                    name: "maxmemory".into(),
                    reason: reason.into(),
                }
            })?;
            if let Some(name) = tls_change {
                server
                    .tls
                    .configure(values)
                    .map_err(|_| CmdError::ConfigInvalid {
                        name: name.into(),
                        reason: crate::state::tls::UPDATE_FAILED.into(),
                    })?;
            }
            let current = server.config.read();
            if values.dir != current.dir {
                usable_dir(&values.dir)?;
            }
            let ports = [
                ("port", false, current.port, values.port),
                ("tls-port", true, current.tls_port, values.tls_port),
            ];
            for (name, tls, old, new) in ports {
                if old == new {
                    continue;
                }
                let listeners = listeners::bind_port(values, new, tls).map_err(|_| {
                    CmdError::ConfigInvalid {
                        name: name.into(),
                        reason: listeners::UNABLE_TO_LISTEN.into(),
                    }
                })?;
                rebinds.push(listeners::Rebind {
                    tls,
                    listeners,
                    keep: Vec::new(),
                });
            }
            // New addresses on a port that stays (a new port was bound on them just above).
            if values.bind != current.bind {
                let ports = [
                    (false, current.port, values.port),
                    (true, current.tls_port, values.tls_port),
                ];
                for (tls, old, new) in ports {
                    if old != new {
                        continue;
                    }
                    let rebind =
                        listeners::rebind_hosts(&current, values, new, tls).map_err(|_| {
                            CmdError::ConfigInvalid {
                                name: "bind".into(),
                                reason: listeners::UNABLE_TO_BIND.into(),
                            }
                        })?;
                    rebinds.push(rebind);
                }
            }
            Ok(())
        })?;
    for rebind in rebinds {
        server.ports.rebind(rebind);
    }
    ctx.server.apply_config();
    ctx.out.ok();
    Ok(())
}

/// Redis `chdir`s to a new `dir`: one that is not a directory is refused with `strerror`'s
/// text. Only at run time: a conf file may name a directory of the machine it is meant for.
fn usable_dir(dir: &str) -> Result<(), CmdError> {
    let reason = match std::fs::metadata(dir) {
        Ok(found) if found.is_dir() => return Ok(()),
        Ok(_) => "Not a directory".to_string(),
        Err(error) => {
            let text = error.to_string();
            text.split(" (os error")
                .next()
                .unwrap_or_default()
                .to_string()
        }
    };
    Err(CmdError::ConfigInvalid {
        name: "dir".into(),
        reason: reason.into(),
    })
}

/// Whether this client may change protected directives (`enable-protected-configs`).
pub fn may_set_protected(ctx: &Ctx<'_>) -> bool {
    let allowed = ctx.server.config.read().enable_protected_configs;
    allowed.allows(ctx.client.info.addr)
}

fn config_resetstat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.server.keyspace.reset_stats();
    ctx.server.keyspace.reset_eviction_stats();
    ctx.server.keyspace.reset_region_stats();
    ctx.server.stats.reset();
    ctx.server.metrics.reset();
    ctx.out.ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    // As Redis 7.0's `rewriteConfigUserOption`: without an aclfile the users are the conf file's
    // `user` lines; with one, they are the ACL file's and the conf file keeps none.
    let users = match ctx.server.config.read().aclfile.is_empty() {
        true => crate::commands::acl::user_lines(ctx.server),
        false => Vec::new(),
    };
    let regions: Vec<String> = ctx
        .server
        .keyspace
        .region_reports()
        .iter()
        .map(|r| crate::state::config::region::line(&r.spec))
        .collect();
    ctx.server.config.rewrite(&users, &regions)?;
    ctx.out.ok();
    Ok(())
}
