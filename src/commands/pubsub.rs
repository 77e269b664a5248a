//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, (S)PUBLISH and PUBSUB introspection, with
//! Redis 7.0's replies (push frames in RESP3, arrays in RESP2) and its subscribed-mode rule: a
//! RESP2 client subscribed to anything may only run the commands of that mode. The registry and
//! delivery live in `state::pubsub`. The `__cachet__:` channels are peer coherence's: clients may
//! subscribe to them but not publish there (`check_reserved_channel`).

use crate::commands::{AclCategories, CommandFlags};
use bytes::Bytes;

use super::{full_name, reply_help, CommandSpec, Ctx, SPEC};
use crate::error::{CmdError, CmdResult};
use crate::state::clients::ClientState;
use crate::state::coherence::RESERVED_PREFIX;
use crate::state::pubsub::Kind;

const SUBSCRIBE_FLAGS: CommandFlags = flags!(PUBSUB, NOSCRIPT, LOADING, STALE);
const PUBLISH_FLAGS: CommandFlags = flags!(PUBSUB, LOADING, STALE, FAST, MAY_REPLICATE);
const INTROSPECT_FLAGS: CommandFlags = flags!(PUBSUB, LOADING, STALE);
const SLOW_ACL: AclCategories = acl!(PUBSUB, SLOW);
const FAST_ACL: AclCategories = acl!(PUBSUB, FAST);

const PUBSUB_SPEC: CommandSpec = CommandSpec {
    flags: SUBSCRIBE_FLAGS,
    acl_categories: SLOW_ACL,
    group: "pubsub",
    since: "2.0.0",
    ..SPEC
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "subscribe",
        arity: -2,
        summary: "Listen for messages published to the given channels",
        complexity: "O(N) where N is the number of channels to subscribe to.",
        handler: Some(subscribe),
        ..PUBSUB_SPEC
    },
    CommandSpec {
        name: "unsubscribe",
        arity: -1,
        summary: "Stop listening for messages posted to the given channels",
        complexity: "O(N) where N is the number of clients already subscribed to a channel.",
        handler: Some(unsubscribe),
        ..PUBSUB_SPEC
    },
    CommandSpec {
        name: "psubscribe",
        arity: -2,
        summary: "Listen for messages published to channels matching the given patterns",
        complexity: "O(N) where N is the number of patterns the client is already subscribed to.",
        handler: Some(psubscribe),
        ..PUBSUB_SPEC
    },
    CommandSpec {
        name: "punsubscribe",
        arity: -1,
        summary: "Stop listening for messages posted to channels matching the given patterns",
        complexity: "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).",
        handler: Some(punsubscribe),
        ..PUBSUB_SPEC
    },
    CommandSpec {
        name: "publish",
        arity: 3,
        flags: PUBLISH_FLAGS,
        acl_categories: FAST_ACL,
        summary: "Post a message to a channel",
        complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
        handler: Some(publish),
        ..PUBSUB_SPEC
    },
    CommandSpec {
        name: "ssubscribe",
        arity: -2,
        first_key: 1,
        last_key: -1,
        key_step: 1,
        summary: "Listen for messages published to the given shard channels",
        since: "7.0.0",
        complexity: "O(N) where N is the number of shard channels to subscribe to.",
        handler: Some(ssubscribe),
        ..PUBSUB_SPEC
    },
    CommandSpec {
        name: "sunsubscribe",
        arity: -1,
        first_key: 1,
        last_key: -1,
        key_step: 1,
        summary: "Stop listening for messages posted to the given shard channels",
        since: "7.0.0",
        complexity: "O(N) where N is the number of clients already subscribed to a shard channel.",
        handler: Some(sunsubscribe),
        ..PUBSUB_SPEC
    },
    CommandSpec {
        name: "spublish",
        arity: 3,
        flags: PUBLISH_FLAGS,
        acl_categories: FAST_ACL,
        first_key: 1,
        last_key: 1,
        key_step: 1,
        summary: "Post a message to a shard channel",
        since: "7.0.0",
        complexity: "O(N) where N is the number of clients subscribed to the receiving shard channel.",
        handler: Some(spublish),
        ..PUBSUB_SPEC
    },
    CommandSpec {
        name: "pubsub",
        arity: -2,
        flags: flags!(),
        acl_categories: acl!(SLOW),
        summary: "A container for Pub/Sub commands",
        since: "2.8.0",
        complexity: "Depends on subcommand.",
        subcommands: PUBSUB_SUBCOMMANDS,
        ..PUBSUB_SPEC
    },
];

const INTROSPECT_SPEC: CommandSpec = CommandSpec {
    flags: INTROSPECT_FLAGS,
    since: "2.8.0",
    ..PUBSUB_SPEC
};

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "channels",
        arity: -2,
        summary: "List active channels",
        complexity: "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
        handler: Some(pubsub_channels),
        ..INTROSPECT_SPEC
    },
    CommandSpec {
        name: "numpat",
        arity: 2,
        summary: "Get the count of unique patterns pattern subscriptions",
        handler: Some(pubsub_numpat),
        ..INTROSPECT_SPEC
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: flags!(LOADING, STALE),
        acl_categories: acl!(SLOW),
        summary: "Show helpful text about the different subcommands",
        since: "6.2.0",
        handler: Some(pubsub_help),
        ..INTROSPECT_SPEC
    },
    CommandSpec {
        name: "numsub",
        arity: -2,
        summary: "Get the count of subscribers for channels",
        complexity: "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        handler: Some(pubsub_numsub),
        ..INTROSPECT_SPEC
    },
    CommandSpec {
        name: "shardnumsub",
        arity: -2,
        summary: "Get the count of subscribers for shard channels",
        since: "7.0.0",
        complexity: "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
        handler: Some(pubsub_shardnumsub),
        ..INTROSPECT_SPEC
    },
    CommandSpec {
        name: "shardchannels",
        arity: -2,
        summary: "List active shard channels",
        since: "7.0.0",
        complexity: "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
        handler: Some(pubsub_shardchannels),
        ..INTROSPECT_SPEC
    },
];

/// Commands a RESP2 client may run while subscribed (Redis's `processCommand` check).
const ALLOWED_WHILE_SUBSCRIBED: &[&str] = &[
    "ping",
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "quit",
    "reset",
];

/// Refuses a command a subscribed RESP2 connection may not run: its replies could not be told
/// apart from the messages.
pub fn check_subscribed_context(
    ctx: &Ctx<'_>,
    parent: Option<&CommandSpec>,
    spec: &CommandSpec,
) -> CmdResult {
    if !ctx.client.pubsub.is_subscribed() || ctx.out.is_resp3() {
        return Ok(());
    }
    let name = parent.unwrap_or(spec).name;
    if ALLOWED_WHILE_SUBSCRIBED.contains(&name) {
        return Ok(());
    }
    Err(CmdError::NotAllowedWhileSubscribed {
        command: full_name(parent, spec).into(),
    })
}

/// Refuses a client's PUBLISH or SPUBLISH on a `__cachet__:` channel: the peers following this
/// daemon trust what arrives there as its own invalidations. Checked when the command arrives
/// (`dispatch`, before queueing, as Redis checks a channel an ACL user may not use: inside MULTI
/// the transaction is then aborted) and again when it runs.
pub fn check_reserved_channel(
    client: &ClientState,
    spec: &CommandSpec,
    args: &[Bytes],
) -> CmdResult {
    match args.get(1) {
        Some(channel) if matches!(spec.name, "publish" | "spublish") => {
            may_publish_on(client, channel)
        }
        _ => Ok(()),
    }
}

fn may_publish_on(client: &ClientState, channel: &[u8]) -> CmdResult {
    if channel.starts_with(RESERVED_PREFIX) && !client.peer {
        return Err(CmdError::ReservedChannel);
    }
    Ok(())
}

fn kind_name(kind: Kind, subscribe: bool) -> &'static [u8] {
    match (kind, subscribe) {
        (Kind::Channel, true) => b"subscribe",
        (Kind::Channel, false) => b"unsubscribe",
        (Kind::Pattern, true) => b"psubscribe",
        (Kind::Pattern, false) => b"punsubscribe",
        (Kind::Shard, true) => b"ssubscribe",
        (Kind::Shard, false) => b"sunsubscribe",
    }
}

/// The count a (un)subscribe reply carries: channels and patterns together, shard channels apart.
fn reply_count(ctx: &Ctx<'_>, kind: Kind) -> i64 {
    let pubsub = &ctx.client.pubsub;
    let count = if kind == Kind::Shard {
        pubsub.shard_count()
    } else {
        pubsub.count()
    };
    count as i64
}

fn subscribe_generic(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    let info = ctx.client.info.clone();
    for name in &args[1..] {
        ctx.client
            .pubsub
            .subscribe(&ctx.server.pubsub, &info, kind, name);
        ctx.out.push(3);
        ctx.out.bulk(kind_name(kind, true));
        ctx.out.bulk(name);
        ctx.out.int(reply_count(ctx, kind));
    }
    ctx.client.pushed_to = Some(ctx.out.len());
    Ok(())
}

fn unsubscribe_generic(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    let names = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        ctx.client.pubsub.names(kind)
    };
    if names.is_empty() {
        ctx.out.push(3);
        ctx.out.bulk(kind_name(kind, false));
        ctx.out.null();
        ctx.out.int(reply_count(ctx, kind));
        ctx.client.pushed_to = Some(ctx.out.len());
        return Ok(());
    }
    for name in &names {
        ctx.client.pubsub.unsubscribe(kind, name);
        ctx.out.push(3);
        ctx.out.bulk(kind_name(kind, false));
        ctx.out.bulk(name);
        ctx.out.int(reply_count(ctx, kind));
    }
    ctx.client.pushed_to = Some(ctx.out.len());
    Ok(())
}

fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Pattern)
}

/// Redis refuses SSUBSCRIBE to a client that expects one reply per command (its
/// `CLIENT_DENY_BLOCKING`, set while EXEC runs), without the exception SUBSCRIBE and PSUBSCRIBE
/// keep inside MULTI for backward compatibility.
fn ssubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.client.in_exec {
        return Err(CmdError::SsubscribeDenyBlocking);
    }
    subscribe_generic(ctx, args, Kind::Shard)
}

fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Shard)
}

fn publish_generic(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    may_publish_on(ctx.client, &args[1])?;
    let (receivers, mine) =
        ctx.server
            .pubsub
            .publish(kind, &args[1], &args[2], Some(ctx.client.id), ctx.now_ms);
    // As in Redis, a client's own messages come before the reply that counts them.
    ctx.client.pubsub.deliver_own(mine, ctx.out);
    ctx.client.pushed_to = Some(ctx.out.len());
    ctx.out.int(receivers as i64);
    Ok(())
}

fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    publish_generic(ctx, args, Kind::Channel)
}

fn spublish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    publish_generic(ctx, args, Kind::Shard)
}

fn channels_generic(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    let pattern = match args {
        [_, _] => None,
        [_, _, pattern] => Some(&pattern[..]),
        _ => {
            return Err(CmdError::UnknownSubcommandOrArity {
                command: "pubsub",
                sub: args[1][..].into(),
            })
        }
    };
    let channels = ctx.server.pubsub.channels(kind, pattern);
    ctx.out.bulks(channels.iter().map(|c| &c[..]));
    Ok(())
}

fn numsub_generic(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    let channels = &args[2..];
    ctx.out.array(channels.len() * 2);
    for channel in channels {
        ctx.out.bulk(channel);
        ctx.out
            .int(ctx.server.pubsub.subscriber_count(kind, channel) as i64);
    }
    Ok(())
}

fn pubsub_channels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    channels_generic(ctx, args, Kind::Channel)
}

fn pubsub_shardchannels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    channels_generic(ctx, args, Kind::Shard)
}

fn pubsub_numsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    numsub_generic(ctx, args, Kind::Channel)
}

fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    numsub_generic(ctx, args, Kind::Shard)
}

fn pubsub_numpat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.server.pubsub.pattern_count() as i64);
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}
