//! `CACHE.COMPRESSION TRAIN [prefix]`: trains the compression dictionaries
//! (`engine::dictionary`) now, from the samples held, instead of waiting for a prefix to gather
//! enough for the background training: for an operator who wants a dictionary after a warm-up,
//! and for tests, which cannot wait on a timer. The training runs in the command, with no shard
//! locked; it answers once the dictionaries are in use.

use bytes::Bytes;

use crate::commands::{reply_help, CommandSpec, Ctx, SPEC};
use crate::engine::dictionary::TrainError;
use crate::error::{CmdError, CmdResult};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "cache.compression",
    arity: -2,
    acl_categories: acl!(SLOW, CACHE),
    group: "cachet",
    summary: "A container for the compression dictionaries' commands",
    since: "0.1.0",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "train",
            arity: -2,
            summary: "Trains a dictionary now for every prefix with enough samples, or for the prefix given; returns how many were installed.",
            complexity: "O(S) with S the bytes sampled: zstd's trainer runs in the command.",
            handler: Some(compression_train),
            flags: flags!(ADMIN, NOSCRIPT, STALE),
            acl_categories: acl!(ADMIN, SLOW, DANGEROUS, CACHE),
            group: "cachet",
            since: "0.1.0",
            ..SPEC
        },
        CommandSpec {
            name: "help",
            arity: 2,
            summary: "Returns helpful text about the different subcommands.",
            complexity: "O(1)",
            handler: Some(compression_help),
            flags: flags!(LOADING, STALE),
            acl_categories: acl!(SLOW, CACHE),
            group: "cachet",
            since: "0.1.0",
            ..SPEC
        },
    ],
    ..SPEC
}];

fn compression_train(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let prefix = match args {
        [_, _] => None,
        [_, _, prefix] => Some(&prefix[..]),
        _ => return Err(CmdError::Syntax),
    };
    match ctx.server.keyspace.dictionaries.train(prefix, false) {
        Ok(installed) => {
            ctx.out.int(installed as i64);
            Ok(())
        }
        Err(TrainError::Off) => Err(CmdError::DictOff),
        Err(TrainError::TooFewSamples { .. }) => Err(CmdError::DictTooFewSamples(
            prefix.unwrap_or_default().into(),
        )),
        Err(TrainError::AtLimit) => Err(CmdError::DictAtLimit(prefix.unwrap_or_default().into())),
        Err(TrainError::Failed(why)) => Err(CmdError::DictTraining(why.into())),
    }
}

fn compression_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "CACHE.COMPRESSION",
        &[
            "TRAIN [<prefix>]",
            "    Train a dictionary now from the values sampled: for every prefix with enough samples, or for the prefix given.",
        ],
    );
    Ok(())
}
