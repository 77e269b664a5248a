//! String commands.

use bytes::Bytes;

use super::{CommandSpec, Ctx, SPEC};
use crate::engine::Entry;
use crate::error::{CmdError, CmdResult};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "get", arity: 2, flags: &["readonly", "fast"], acl_categories: &["@read", "@string", "@fast"], first_key: 1, last_key: 1, key_step: 1, group: "string", summary: "Returns the string value of a key.", handler: Some(get), ..SPEC },
    CommandSpec { name: "set", arity: -3, flags: &["write", "denyoom"], acl_categories: &["@write", "@string", "@slow"], first_key: 1, last_key: 1, key_step: 1, group: "string", summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", handler: Some(set), ..SPEC },
];

fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let out = &mut *ctx.out;
    ctx.server.keyspace.with_key(ctx.client.db, &args[1], ctx.now_ms, |view, hash| match view.read(hash, &args[1]) {
        None => {
            out.null();
            Ok(())
        }
        Some(entry) => match entry.string_value() {
            Some(value) => {
                out.bulk(&value);
                Ok(())
            }
            None => Err(CmdError::WrongType),
        },
    })
}

fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() != 3 {
        return Err(CmdError::Syntax);
    }
    ctx.server.keyspace.with_key(ctx.client.db, &args[1], ctx.now_ms, |view, hash| {
        view.insert(hash, Entry::new_string(&args[1], &args[2], 0));
    });
    ctx.out.ok();
    Ok(())
}
