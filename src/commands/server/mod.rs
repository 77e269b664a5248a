//! Server commands: liveness (PING, ECHO, TIME), whole-keyspace operations (FLUSHDB, FLUSHALL,
//! SWAPDB), SAVE, BGSAVE, LASTSAVE, SHUTDOWN and DEBUG.
//!
//! Whole-keyspace operations lock every shard (ascending order, as all multi-shard locking does) so
//! that no client sees one shard flushed and another not. Under the locks they only move tables
//! out or swap them, O(shards × databases); the old entries are freed after the locks are released,
//! on a background thread for ASYNC.

pub mod command;
pub mod config;
pub mod info;
mod lolwut;
pub mod memory;
pub mod standalone;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::args::is;
use super::reply_help;
use super::{CommandSpec, Ctx, SPEC};
use crate::engine::notice::{class, Notice, Target};
use crate::error::{CmdError, CmdResult};
use crate::protocol::parse_i64;
use crate::state::clients::Action;
use crate::state::persistence;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "ping", arity: -1, flags: flags!(FAST), acl_categories: acl!(FAST, CONNECTION), group: "connection", summary: "Returns the server's liveliness response.", handler: Some(ping), ..SPEC },
    CommandSpec { name: "echo", arity: 2, flags: flags!(LOADING, STALE, FAST), acl_categories: acl!(FAST, CONNECTION), group: "connection", summary: "Returns the given string.", handler: Some(echo), ..SPEC },
    CommandSpec { name: "time", arity: 1, flags: flags!(LOADING, STALE, FAST), acl_categories: acl!(FAST), group: "server", summary: "Returns the server time.", since: "2.6.0", handler: Some(time), ..SPEC },
    CommandSpec { name: "flushdb", arity: -1, flags: flags!(WRITE), acl_categories: acl!(KEYSPACE, WRITE, SLOW, DANGEROUS), group: "server", summary: "Removes all keys from the current database.", complexity: "O(N) where N is the number of keys in the selected database", handler: Some(flushdb), ..SPEC },
    CommandSpec { name: "flushall", arity: -1, flags: flags!(WRITE), acl_categories: acl!(KEYSPACE, WRITE, SLOW, DANGEROUS), group: "server", summary: "Removes all keys from all databases.", complexity: "O(N) where N is the total number of keys in all databases", handler: Some(flushall), ..SPEC },
    CommandSpec { name: "swapdb", arity: 3, flags: flags!(WRITE, FAST), acl_categories: acl!(KEYSPACE, WRITE, FAST, DANGEROUS), group: "server", summary: "Swaps two Redis databases.", since: "4.0.0", complexity: "O(N) where N is the count of clients watching or blocking on keys from both databases.", handler: Some(swapdb), ..SPEC },
    CommandSpec { name: "save", arity: 1, flags: flags!(ADMIN, NOSCRIPT, NO_ASYNC_LOADING, NO_MULTI), acl_categories: acl!(ADMIN, SLOW, DANGEROUS), group: "server", summary: "Synchronously saves the database(s) to disk.", complexity: "O(N) where N is the total number of keys in all databases", handler: Some(save), ..SPEC },
    CommandSpec { name: "bgsave", arity: -1, flags: flags!(ADMIN, NOSCRIPT, NO_ASYNC_LOADING), acl_categories: acl!(ADMIN, SLOW, DANGEROUS), group: "server", summary: "Asynchronously saves the database(s) to disk.", complexity: "O(1)", handler: Some(bgsave), ..SPEC },
    CommandSpec { name: "lastsave", arity: 1, flags: flags!(LOADING, STALE, FAST), acl_categories: acl!(ADMIN, FAST, DANGEROUS), group: "server", summary: "Returns the Unix timestamp of the last successful save to disk.", handler: Some(lastsave), ..SPEC },
    CommandSpec { name: "shutdown", arity: -1, flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE, NO_MULTI, ALLOW_BUSY), acl_categories: acl!(ADMIN, SLOW, DANGEROUS), group: "server", summary: "Synchronously saves the database(s) to disk and shuts down the Redis server.", complexity: "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", handler: Some(shutdown), ..SPEC },
    CommandSpec { name: "debug", arity: -2, flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE), acl_categories: acl!(ADMIN, SLOW, DANGEROUS), group: "server", summary: "A container for debugging commands.", complexity: "Depends on subcommand.", handler: Some(debug), ..SPEC },
];

fn ping(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    // A subscribed RESP2 client gets a reply shaped as a message, which its reader expects.
    if args.len() <= 2 && ctx.client.pubsub.is_subscribed() && !ctx.out.is_resp3() {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).map_or(&b""[..], |a| &a[..]));
        return Ok(());
    }
    match args {
        [_] => ctx.out.simple("PONG"),
        [_, message] => ctx.out.bulk(message),
        _ => return Err(CmdError::WrongArity("ping".into())),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

/// Unix time as two bulk strings, seconds and microseconds, read from the clock now rather than
/// the command's millisecond timestamp.
fn time(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(now.as_secs() as i64);
    ctx.out.bulk_int(now.subsec_micros() as i64);
    Ok(())
}

/// `[ASYNC|SYNC]`: true for ASYNC.
fn flush_mode(args: &[Bytes]) -> Result<bool, CmdError> {
    match args {
        [_] => Ok(false),
        [_, mode] if is(mode, "async") => Ok(true),
        [_, mode] if is(mode, "sync") => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

fn flushdb(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let asynchronous = flush_mode(args)?;
    let db = ctx.client.db;
    ctx.server.flush_databases(Some(db), asynchronous);
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let asynchronous = flush_mode(args)?;
    ctx.server.flush_databases(None, asynchronous);
    ctx.out.ok();
    Ok(())
}

/// A database index as SWAPDB reads it: a C int (else `error`), then within `databases`.
fn swap_index(arg: &[u8], error: CmdError) -> Result<i64, CmdError> {
    parse_i64(arg)
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or(error)
}

/// Swaps two databases in every shard: clients that selected either now see the other's keys.
fn swapdb(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.server.cluster.enabled() {
        return Err(CmdError::Cluster(
            crate::error::ClusterError::SwapdbNotAllowed,
        ));
    }
    let first = swap_index(&args[1], CmdError::InvalidFirstDbIndex)?;
    let second = swap_index(&args[2], CmdError::InvalidSecondDbIndex)?;
    let databases = ctx.server.keyspace.databases() as i64;
    if !(0..databases).contains(&first) || !(0..databases).contains(&second) {
        return Err(CmdError::DbIndexOutOfRange);
    }
    if first != second {
        let (first, second) = (first as usize, second as usize);
        let mut locked = ctx.server.keyspace.lock_all();
        crate::state::multi::touch_swapped(ctx.server, &mut locked, first, second, ctx.now_ms);
        locked.for_each(|shard| {
            shard.dbs.swap(first, second);
            shard.backlog.swap_dbs(first, second);
        });
        ctx.server.keyspace.notices.labels.swap_dbs(first, second);
        // Announced before the shards are released, as FLUSHDB's.
        for db in [first, second] {
            ctx.server.keyspace.notices.emit(&Notice {
                db,
                target: Target::Db,
                class: class::GENERIC,
                event: "swapdb",
            });
        }
    }
    ctx.out.ok();
    Ok(())
}

/// `SAVE`: the snapshot written before the reply. Redis blocks every client meanwhile; here only
/// this one waits, and the others go on (each shard is held only while it is encoded).
fn save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    super::off_worker(|| persistence::save(server))?;
    ctx.out.ok();
    Ok(())
}

/// `BGSAVE [SCHEDULE]`: a save on a thread of its own. SCHEDULE while one runs: the next starts
/// when it ends (Redis waits for a running AOF rewrite; cachet has none, so it waits for a save).
fn bgsave(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if is(&args[1], "schedule") => true,
        _ => return Err(CmdError::Syntax),
    };
    let persistence = &ctx.server.persistence;
    if persistence.saving() {
        if schedule {
            persistence
                .scheduled
                .store(true, std::sync::atomic::Ordering::Relaxed);
            ctx.out.simple("Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::BgsaveInProgress);
    }
    persistence::bgsave(ctx.server)?;
    ctx.out.simple("Background saving started");
    Ok(())
}

fn lastsave(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(
        ctx.server
            .last_save
            .load(std::sync::atomic::Ordering::Relaxed) as i64,
    );
    Ok(())
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] | ABORT`. On success nothing is answered: the connection
/// closes and the server stops after every connection finishes the batch it is executing.
///
/// The snapshot is written first with SAVE, or when a `save` schedule is set and NOSAVE is not
/// given; a failed save fails the SHUTDOWN (the server goes on) unless FORCE says to stop anyway.
/// NOW changes nothing: there are no replicas to wait for.
fn shutdown(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut save, mut nosave, mut force, mut abort, mut any_flag) =
        (false, false, false, false, false);
    for arg in &args[1..] {
        if is(arg, "abort") {
            abort = true;
            continue;
        }
        if is(arg, "save") {
            save = true;
        } else if is(arg, "nosave") {
            nosave = true;
        } else if is(arg, "force") {
            force = true;
        } else if !is(arg, "now") {
            return Err(CmdError::Syntax);
        }
        any_flag = true;
    }
    if (abort && any_flag) || (save && nosave) {
        return Err(CmdError::Syntax);
    }
    if abort {
        // No shutdown ever waits (there are no replicas to wait for), so none can be aborted.
        return Err(CmdError::NoShutdownInProgress);
    }
    // A script past `busy-reply-threshold` lets only SHUTDOWN NOSAVE through; it is killed
    // whatever it wrote, so that its connection finishes and the server can stop.
    let run = &ctx.server.scripting.run;
    if run.busy() && !nosave {
        return Err(CmdError::Script(crate::error::ScriptError::Busy {
            eval: run.is_eval(),
        }));
    }
    run.kill_for_shutdown();
    let server = ctx.server;
    if super::off_worker(|| persistence::save_for_shutdown(server, save, nosave)).is_err() {
        if !force {
            tracing::warn!("Error trying to save the DB, can't exit.");
            return Err(CmdError::ShutdownFailed);
        }
        tracing::warn!("Error trying to save the DB. Exit anyway.");
    }
    tracing::warn!(client = ctx.client.id, "User requested shutdown...");
    ctx.client.action = Some(Action::Shutdown);
    Ok(())
}

/// The pause DEBUG SLEEP makes, as Redis computes it: `(long long)(seconds * 1e6)` microseconds,
/// where a product beyond a 64-bit integer (1e300, inf, nan) converts to the most negative value
/// on the machines Redis runs on, and a pause that is not positive is none.
fn debug_sleep_micros(seconds: f64) -> u64 {
    let micros = seconds * 1e6;
    if micros >= 1.0 && micros < i64::MAX as f64 {
        micros as u64
    } else {
        0
    }
}

/// Seconds as C's `strtod` reads them: the longest numeric prefix, 0 when there is none.
fn lenient_seconds(arg: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(arg);
    let text = text.trim_start();
    let mut end = text.len().min(64);
    while end > 0 {
        if let Some(value) = text
            .get(..end)
            .and_then(|prefix| prefix.parse::<f64>().ok())
        {
            return value;
        }
        end -= 1;
    }
    0.0
}

const DEBUG_HELP: &[&str] = &[
    "SLEEP <seconds>",
    "    Hold this connection for <seconds>, other clients are still served. Decimals allowed.",
];

/// `DEBUG SLEEP` holds only the calling connection (Redis blocks the whole server): the reply goes
/// out after the pause, as in Redis.
fn debug(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    if is(sub, "help") && args.len() == 2 {
        reply_help(ctx.out, "DEBUG", DEBUG_HELP);
        return Ok(());
    }
    if is(sub, "sleep") && args.len() == 3 {
        let micros = debug_sleep_micros(lenient_seconds(&args[2]));
        if micros > 0 {
            ctx.client.action = Some(Action::Sleep(Duration::from_micros(micros)));
            // Published now, not after the batch, so CLIENT LIST shows what this connection waits in.
            ctx.client.info.details().last_command = ctx.client.last_command;
        }
        ctx.out.ok();
        return Ok(());
    }
    Err(CmdError::UnknownSubcommandOrArity {
        command: "debug",
        sub: sub[..].into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_seconds_like_strtod() {
        assert_eq!(lenient_seconds(b"0.5"), 0.5);
        assert_eq!(lenient_seconds(b"2"), 2.0);
        assert_eq!(lenient_seconds(b"1.5abc"), 1.5);
        assert_eq!(lenient_seconds(b"abc"), 0.0);
        assert_eq!(lenient_seconds(b" 3"), 3.0);
        assert_eq!(lenient_seconds(b"-1"), -1.0);
        assert_eq!(lenient_seconds(b""), 0.0);
    }

    #[test]
    fn sleep_micros_like_redis() {
        assert_eq!(debug_sleep_micros(0.5), 500_000);
        assert_eq!(debug_sleep_micros(1e-7), 0);
        for absurd in [1e300, f64::INFINITY, f64::NAN, -1.0, 0.0, 9.3e12] {
            assert_eq!(debug_sleep_micros(absurd), 0, "{absurd}");
        }
        assert_eq!(debug_sleep_micros(9.2e12), 9_200_000_000_000_000_000);
    }

    #[test]
    fn flush_modes() {
        let arg = |s: &'static str| Bytes::from_static(s.as_bytes());
        assert_eq!(flush_mode(&[arg("flushdb")]), Ok(false));
        assert_eq!(flush_mode(&[arg("flushdb"), arg("ASYNC")]), Ok(true));
        assert_eq!(flush_mode(&[arg("flushdb"), arg("sync")]), Ok(false));
        assert_eq!(
            flush_mode(&[arg("flushdb"), arg("async"), arg("sync")]),
            Err(CmdError::Syntax)
        );
        assert_eq!(
            flush_mode(&[arg("flushdb"), arg("now")]),
            Err(CmdError::Syntax)
        );
    }
}
