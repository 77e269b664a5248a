//! Blocking sorted-set pops (BZPOPMIN, BZPOPMAX, BZMPOP): Redis's `blockingGenericZpopCommand`
//! on the blocking registry (`state::blocking`) and the pop cores of `pop.rs`.

use bytes::Bytes;

use crate::commands::zset::pop::{announce_pop, parse_mpop, pop_from, reply_popped, End, PopReply};
use crate::commands::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::state::blocking::{self, Serve};

pub fn bzpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let timeout = crate::commands::args::timeout(&args[args.len() - 1])?;
    blocking::block_on(ctx, &args[1..args.len() - 1], args, timeout, serve_bzpop)
}

pub fn bzpopmax(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bzpopmin(ctx, args)
}

/// BZPOPMIN/BZPOPMAX: `[key, member, score]` from the end the command's name says.
fn serve_bzpop(ctx: &mut Ctx<'_>, key: &Bytes, args: &[Bytes]) -> Result<Serve, CmdError> {
    let end = if args[0].eq_ignore_ascii_case(b"bzpopmin") {
        End::Min
    } else {
        End::Max
    };
    serve_pop(ctx, key, end, 1, PopReply::WithKey)
}

pub fn bzmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (keys, _, _) = parse_mpop(&args[2..])?;
    let timeout = crate::commands::args::timeout(&args[1])?;
    blocking::block_on(ctx, keys, args, timeout, serve_bzmpop)
}

/// BZMPOP: `[key, [[member, score]...]]`.
fn serve_bzmpop(ctx: &mut Ctx<'_>, key: &Bytes, args: &[Bytes]) -> Result<Serve, CmdError> {
    let (_, end, count) = parse_mpop(&args[2..])?;
    serve_pop(ctx, key, end, count, PopReply::KeyAndNested)
}

fn serve_pop(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    end: End,
    count: usize,
    shape: PopReply,
) -> Result<Serve, CmdError> {
    let popped = ctx
        .server
        .keyspace
        .with_key(ctx.client.db, key, ctx.now_ms, |view, hash| {
            pop_from(view, hash, key, end, count)
        });
    match popped {
        Err(CmdError::WrongType) => Ok(Serve::WrongType),
        Err(err) => Err(err),
        Ok(Some(popped)) if !popped.items.is_empty() => {
            reply_popped(ctx.out, key, &popped.items, shape);
            announce_pop(ctx, key, end, &popped);
            Ok(Serve::Served)
        }
        Ok(_) => Ok(Serve::NotReady),
    }
}
