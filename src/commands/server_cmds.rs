//! Server commands.

use bytes::Bytes;

use super::{CommandSpec, Ctx, SPEC};
use crate::error::{CmdError, CmdResult};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "ping", arity: -1, flags: &["fast"], acl_categories: &["@fast", "@connection"], group: "connection", summary: "Returns the server's liveliness response.", handler: Some(ping), ..SPEC },
    CommandSpec { name: "echo", arity: 2, flags: &["fast"], acl_categories: &["@fast", "@connection"], group: "connection", summary: "Returns the given string.", handler: Some(echo), ..SPEC },
];

fn ping(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
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
