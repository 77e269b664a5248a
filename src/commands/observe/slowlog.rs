//! `SLOWLOG GET [count]|LEN|RESET|HELP` over `state::slowlog`.

use bytes::Bytes;

use crate::commands::args::int;
use crate::commands::{reply_help, CommandFlags, CommandSpec, Ctx, SPEC as DEFAULT};
use crate::error::{CmdError, CmdResult};

const ADMIN_FLAGS: CommandFlags = flags!(ADMIN, LOADING, STALE);

/// Entries `SLOWLOG GET` returns without a count.
const DEFAULT_COUNT: usize = 10;

pub const SPEC: CommandSpec = CommandSpec {
    name: "slowlog",
    arity: -2,
    acl_categories: acl!(SLOW),
    group: "server",
    summary: "A container for slow log commands",
    since: "2.2.12",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "get",
            arity: -2,
            flags: ADMIN_FLAGS,
            acl_categories: acl!(ADMIN, SLOW, DANGEROUS),
            group: "server",
            summary: "Get the slow log's entries",
            since: "2.2.12",
            complexity: "O(N) where N is the number of entries returned",
            handler: Some(get),
            ..DEFAULT
        },
        CommandSpec {
            name: "len",
            arity: 2,
            flags: ADMIN_FLAGS,
            acl_categories: acl!(ADMIN, SLOW, DANGEROUS),
            group: "server",
            summary: "Get the slow log's length",
            since: "2.2.12",
            complexity: "O(1)",
            handler: Some(len),
            ..DEFAULT
        },
        CommandSpec {
            name: "reset",
            arity: 2,
            flags: ADMIN_FLAGS,
            acl_categories: acl!(ADMIN, SLOW, DANGEROUS),
            group: "server",
            summary: "Clear all entries from the slow log",
            since: "2.2.12",
            complexity: "O(N) where N is the number of entries in the slowlog",
            handler: Some(reset),
            ..DEFAULT
        },
        CommandSpec {
            name: "help",
            arity: 2,
            flags: flags!(LOADING, STALE),
            acl_categories: acl!(SLOW),
            group: "server",
            summary: "Show helpful text about the different subcommands",
            since: "6.2.0",
            complexity: "O(1)",
            handler: Some(help),
            ..DEFAULT
        },
    ],
    ..DEFAULT
};

fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::UnknownSubcommandOrArity {
            command: "slowlog",
            sub: args[1][..].into(),
        });
    }
    let count = match args.get(2) {
        None => DEFAULT_COUNT,
        Some(arg) => match int(arg) {
            Ok(-1) => usize::MAX,
            Ok(count) if count >= 0 => usize::try_from(count).unwrap_or(usize::MAX),
            _ => return Err(CmdError::SlowlogCount),
        },
    };
    let out = &mut *ctx.out;
    ctx.server.slowlog.newest(count, |entries| {
        let entries: Vec<_> = entries.collect();
        out.array(entries.len());
        for entry in entries {
            out.array(6);
            out.int(entry.id as i64);
            out.int(entry.time as i64);
            out.int(entry.micros as i64);
            out.array(entry.args.len());
            for arg in &entry.args {
                out.bulk(arg);
            }
            out.bulk(entry.addr.as_bytes());
            out.bulk(&entry.name);
        }
    });
    Ok(())
}

fn len(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.server.slowlog.len() as i64);
    Ok(())
}

fn reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.server.slowlog.reset();
    ctx.out.ok();
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}
