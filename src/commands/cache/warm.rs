//! `CACHE.WARM FROM host:port [TOP n] [MATCH pattern] [AUTH user password]`: pulls the hottest
//! keys of a running cachet (its CACHE.TOPKEYS order) with their TTLs and metadata into the
//! client's database, in the background (`net::warm`), so a new daemon joins a fleet warm.
//! `CACHE.WARM STATUS` and INFO's `warm_*` fields show the progress; `CACHE.WARM ABORT` stops it
//! after the key it is on. A key already here, or written here while the warm-up runs, is never
//! overwritten.

use bytes::Bytes;

use super::peer::ADMIN;
use crate::commands::{args, reply_help, CommandSpec, Ctx, SPEC};
use crate::error::{CmdError, CmdResult};
use crate::state::warm::WarmRequest;

/// Keys asked for when TOP is not given.
pub const DEFAULT_TOP: usize = 1000;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "cache.warm",
    arity: -2,
    acl_categories: acl!(SLOW, CACHE),
    group: "cachet",
    summary: "A container for warming this daemon from another cachet",
    since: "0.1.0",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "from",
            arity: -3,
            summary: "Starts copying the hottest keys of another cachet, with their TTLs and metadata, in the background.",
            complexity: "O(1); the background copy is O(N) for N keys.",
            handler: Some(warm_from),
            ..ADMIN
        },
        CommandSpec {
            name: "status",
            arity: 2,
            summary: "Returns the state and progress of the last warm-up.",
            complexity: "O(1)",
            handler: Some(warm_status),
            ..ADMIN
        },
        CommandSpec {
            name: "abort",
            arity: 2,
            summary: "Stops the running warm-up after the key it is on.",
            complexity: "O(1)",
            handler: Some(warm_abort),
            ..ADMIN
        },
        CommandSpec {
            name: "help",
            arity: 2,
            flags: flags!(LOADING, STALE),
            acl_categories: acl!(SLOW, CACHE),
            summary: "Returns helpful text about the different subcommands.",
            complexity: "O(1)",
            handler: Some(warm_help),
            ..ADMIN
        },
    ],
    ..SPEC
}];

/// `host:port` (an IPv6 host in brackets).
fn parse_source(arg: &[u8]) -> Option<(String, u16)> {
    let text = std::str::from_utf8(arg).ok()?;
    let (host, port) = text.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().ok().filter(|&p| p != 0)?;
    (!host.is_empty()).then(|| (host.to_string(), port))
}

fn text(arg: &[u8]) -> Result<String, CmdError> {
    String::from_utf8(arg.to_vec()).map_err(|_| CmdError::Syntax)
}

fn warm_from(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (host, port) = parse_source(&args[2]).ok_or(CmdError::WarmAddress)?;
    let mut request = WarmRequest {
        host,
        port,
        db: ctx.client.db,
        top: DEFAULT_TOP,
        all: false,
        pattern: None,
        user: None,
        password: None,
    };
    let mut i = 3;
    while i < args.len() {
        let rest = &args[i..];
        if args::is(&rest[0], "top") && rest.len() >= 2 {
            let n = args::int(&rest[1])?;
            if n < 1 {
                return Err(CmdError::NotPositive);
            }
            request.top = usize::try_from(n).unwrap_or(usize::MAX);
            i += 2;
        } else if args::is(&rest[0], "match") && rest.len() >= 2 {
            request.pattern = Some(rest[1].to_vec()).filter(|p| p != b"*");
            i += 2;
        } else if args::is(&rest[0], "auth") && rest.len() >= 3 {
            request.user = Some(text(&rest[1])?);
            request.password = Some(text(&rest[2])?);
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if !ctx.server.warm.start(request, ctx.now_ms) {
        return Err(CmdError::WarmRunning);
    }
    ctx.out.ok();
    Ok(())
}

fn warm_status(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let status = ctx.server.warm.status();
    let out = &mut *ctx.out;
    out.map(9);
    out.bulk(b"state");
    out.bulk(status.state.name().as_bytes());
    out.bulk(b"source");
    out.bulk(status.source.as_bytes());
    out.bulk(b"keys_planned");
    out.int(status.planned as i64);
    out.bulk(b"keys_done");
    out.int(status.done as i64);
    out.bulk(b"keys_skipped");
    out.int(status.skipped as i64);
    out.bulk(b"errors");
    out.int(status.errors as i64);
    out.bulk(b"last_error");
    out.bulk(status.last_error.as_bytes());
    out.bulk(b"started_ms");
    out.int(status.started_ms as i64);
    out.bulk(b"finished_ms");
    out.int(status.finished_ms as i64);
    Ok(())
}

fn warm_abort(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let running = ctx.server.warm.abort();
    ctx.out.int(running as i64);
    Ok(())
}

fn warm_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "CACHE.WARM",
        &[
            "FROM <host:port> [TOP <n>] [MATCH <pattern>] [AUTH <user> <password>]",
            "    Copy the n hottest keys (default 1000) of another cachet into this database, in",
            "    the background, never over a key that exists here.",
            "STATUS",
            "    Return the state and progress of the last warm-up.",
            "ABORT",
            "    Stop the running warm-up.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert_eq!(
            parse_source(b"127.0.0.1:6379"),
            Some(("127.0.0.1".into(), 6379))
        );
        assert_eq!(parse_source(b"[::1]:7000"), Some(("::1".into(), 7000)));
        for bad in [
            &b"host"[..],
            b":6379",
            b"h:0",
            b"h:65536",
            b"h:x",
            b"\xff:1",
        ] {
            assert_eq!(parse_source(bad), None, "{bad:?}");
        }
    }
}
