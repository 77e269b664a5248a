//! Blocking list commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP): argument parsing as Redis's
//! `blockingPopGenericCommand`/`blmoveGenericCommand`, and the serve functions the blocking
//! registry (`state::blocking`) calls for a waiting client, built on the cores in `list.rs`.

use bytes::Bytes;

use crate::commands::list::{move_core, move_generic, parse_mpop, parse_side, pop_core, PopReply};
use crate::commands::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::state::blocking::{self, Serve};

pub fn blpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let timeout = crate::commands::args::timeout(&args[args.len() - 1])?;
    blocking::block_on(ctx, &args[1..args.len() - 1], args, timeout, serve_bpop)
}

pub fn brpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    blpop(ctx, args)
}

/// BLPOP/BRPOP: `[key, element]` from the head or the tail, by the command's name.
fn serve_bpop(ctx: &mut Ctx<'_>, key: &Bytes, args: &[Bytes]) -> Result<Serve, CmdError> {
    let front = args[0].eq_ignore_ascii_case(b"blpop");
    let (server, db, now) = (ctx.server, ctx.client.db, ctx.now_ms);
    pop_core(server, db, now, key, front, PopReply::KeyAndOne, ctx.out)
}

pub fn blmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let parsed = parse_mpop(&args[2..])?;
    let timeout = crate::commands::args::timeout(&args[1])?;
    blocking::block_on(ctx, parsed.keys, args, timeout, serve_blmpop)
}

fn serve_blmpop(ctx: &mut Ctx<'_>, key: &Bytes, args: &[Bytes]) -> Result<Serve, CmdError> {
    let parsed = parse_mpop(&args[2..])?;
    let (server, db, now) = (ctx.server, ctx.client.db, ctx.now_ms);
    let reply = PopReply::KeyAndMany(parsed.count);
    pop_core(server, db, now, key, parsed.front, reply, ctx.out)
}

pub fn blmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    parse_side(&args[3])?;
    parse_side(&args[4])?;
    let timeout = crate::commands::args::timeout(&args[5])?;
    block_move(ctx, args, timeout)
}

pub fn brpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let timeout = crate::commands::args::timeout(&args[3])?;
    block_move(ctx, args, timeout)
}

fn block_move(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    timeout: Option<std::time::Duration>,
) -> CmdResult {
    let (from_front, to_front) = move_sides(args)?;
    // Inside EXEC the command is LMOVE, nil bulk included (BLPOP's nil there is an array).
    if ctx.client.in_exec {
        return move_generic(ctx, &args[1], &args[2], from_front, to_front);
    }
    blocking::block_on(ctx, &args[1..2], args, timeout, serve_move)
}

/// (from the head, to the head) of a BLMOVE or BRPOPLPUSH request.
fn move_sides(args: &[Bytes]) -> Result<(bool, bool), CmdError> {
    if args.len() == 6 {
        Ok((parse_side(&args[3])?, parse_side(&args[4])?))
    } else {
        Ok((false, true))
    }
}

fn serve_move(ctx: &mut Ctx<'_>, src: &Bytes, args: &[Bytes]) -> Result<Serve, CmdError> {
    let (from_front, to_front) = move_sides(args)?;
    let (server, db, now) = (ctx.server, ctx.client.db, ctx.now_ms);
    move_core(
        server, db, now, src, &args[2], from_front, to_front, ctx.out,
    )
}
