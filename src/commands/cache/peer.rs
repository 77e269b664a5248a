//! `CACHE.PEER ADD|REMOVE|LIST`: the `peer` list of peer coherence, changed at run time. ADD and
//! REMOVE go through the configuration (so `CONFIG GET peer` and `CONFIG REWRITE` see them, and
//! `enable-protected-configs` guards them), and the links follow
//! (`state::coherence::link::supervise`). `POSITION` and `REPLAY` answer the links of other
//! daemons; `CHALLENGE` and `AUTH` let them prove `coherence-secret` (`state::coherence::auth`).

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::commands::{reply_help, CommandSpec, Ctx, SPEC};
use crate::error::{CmdError, CmdResult};
use crate::state::coherence::auth;
use crate::state::coherence::backlog::Unavailable;
use crate::state::coherence::links::LinkState;

/// What the daemon-to-daemon subcommands share (CACHE.PEER's, CACHE.WARM's): admin commands,
/// allowed while loading, never from a script.
pub(super) const ADMIN: CommandSpec = CommandSpec {
    flags: flags!(ADMIN, NOSCRIPT, LOADING, STALE),
    acl_categories: acl!(ADMIN, SLOW, DANGEROUS, CACHE),
    group: "cachet",
    since: "0.1.0",
    ..SPEC
};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "cache.peer",
    arity: -2,
    acl_categories: acl!(SLOW, CACHE),
    group: "cachet",
    summary: "A container for the peer coherence links",
    since: "0.1.0",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "add",
            arity: -3,
            summary: "Adds peers (host:port) whose invalidations this daemon applies.",
            complexity: "O(N) with N the number of peers.",
            handler: Some(peer_add),
            ..ADMIN
        },
        CommandSpec {
            name: "remove",
            arity: -3,
            summary: "Removes peers and closes their links.",
            complexity: "O(N) with N the number of peers.",
            handler: Some(peer_remove),
            ..ADMIN
        },
        CommandSpec {
            name: "list",
            arity: 2,
            summary: "Lists the peers with their link state (off when coherence is off).",
            complexity: "O(N) with N the number of peers.",
            handler: Some(peer_list),
            ..ADMIN
        },
        CommandSpec {
            name: "position",
            arity: 2,
            // Not while loading: the run a clean stop left is taken up once the snapshot has
            // loaded, so the run a follower would be told meanwhile is about to be replaced.
            flags: flags!(NOSCRIPT, STALE, FAST),
            acl_categories: acl!(SLOW, CACHE),
            summary: "Returns this daemon's node id, run and the sequence of its last invalidation message.",
            complexity: "O(1)",
            handler: Some(peer_position),
            ..ADMIN
        },
        CommandSpec {
            name: "replay",
            arity: 5,
            flags: flags!(NOSCRIPT, STALE),
            acl_categories: acl!(SLOW, CACHE),
            summary: "Returns the invalidation messages published after a sequence, from the backlog.",
            complexity: "O(N) with N the number of messages returned.",
            handler: Some(peer_replay),
            ..ADMIN
        },
        CommandSpec {
            name: "challenge",
            arity: 2,
            flags: flags!(NOSCRIPT, LOADING, STALE, FAST, NO_AUTH),
            acl_categories: acl!(SLOW, CACHE),
            summary: "Returns a nonce a peer daemon proves the coherence secret with (CACHE.PEER AUTH).",
            complexity: "O(1)",
            handler: Some(peer_challenge),
            ..ADMIN
        },
        CommandSpec {
            name: "auth",
            arity: 4,
            flags: flags!(NOSCRIPT, LOADING, STALE, FAST, NO_AUTH),
            acl_categories: acl!(SLOW, CACHE),
            summary: "Authenticates the connection as a peer daemon by proving the coherence secret; replies this daemon's proof.",
            complexity: "O(1)",
            handler: Some(peer_auth),
            ..ADMIN
        },
        CommandSpec {
            name: "help",
            arity: 2,
            flags: flags!(LOADING, STALE),
            acl_categories: acl!(SLOW, CACHE),
            summary: "Returns helpful text about the different subcommands.",
            complexity: "O(1)",
            handler: Some(peer_help),
            ..ADMIN
        },
    ],
    ..SPEC
}];

fn addresses(args: &[Bytes]) -> Result<Vec<String>, CmdError> {
    args.iter()
        .map(|arg| {
            std::str::from_utf8(arg)
                .map(str::to_string)
                .map_err(|_| CmdError::PeerAddressNotText)
        })
        .collect()
}

/// Replaces the configured peer list, as `CONFIG SET peer` would (so only where
/// `enable-protected-configs` allows it), and applies it. Replies the number of peers now
/// configured.
fn set_peers(ctx: &mut Ctx<'_>, peers: Vec<String>) -> CmdResult {
    if !crate::commands::server::config::may_set_protected(ctx) {
        return Err(CmdError::PeersProtected);
    }
    let joined = peers.join(" ");
    ctx.server
        .config
        .set(&[("peer", vec![joined.as_str()])], true)
        .map_err(|e| match e {
            // The `peer` directive's reason, without CONFIG SET's framing.
            CmdError::ConfigInvalid { reason, .. } => CmdError::InvalidPeers { reason },
            other => other,
        })?;
    ctx.server.apply_config();
    let count = ctx.server.config.read().peers.len();
    ctx.out.int(count as i64);
    Ok(())
}

fn peer_add(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut peers = ctx.server.config.read().peers.clone();
    peers.extend(addresses(&args[2..])?);
    set_peers(ctx, peers)
}

fn peer_remove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let gone = addresses(&args[2..])?;
    let mut peers = ctx.server.config.read().peers.clone();
    peers.retain(|p| !gone.contains(p));
    set_peers(ctx, peers)
}

/// One entry per configured peer: `addr`, `state` (up, connecting, down, off), `messages`,
/// `connects`.
fn peer_list(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let peers = ctx.server.config.read().peers.clone();
    let links = ctx
        .server
        .coherence
        .links
        .lock()
        .map(|links| links.clone())
        .unwrap_or_default();
    ctx.out.array(peers.len());
    for addr in peers {
        let link = links.iter().find(|l| l.addr == addr);
        let count = |f: fn(&LinkState) -> &AtomicU64| {
            link.map_or(0, |l| f(l).load(Ordering::Relaxed)) as i64
        };
        ctx.out.map(4);
        ctx.out.bulk(b"addr");
        ctx.out.bulk(addr.as_bytes());
        ctx.out.bulk(b"state");
        ctx.out
            .bulk(link.map_or("off", |l| l.state_name()).as_bytes());
        ctx.out.bulk(b"messages");
        ctx.out.int(count(|l| &l.messages));
        ctx.out.bulk(b"connects");
        ctx.out.int(count(|l| &l.connects));
    }
    Ok(())
}

/// `node-id`, `run`, `seq`: what a link needs to know which messages it missed.
fn peer_position(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let coherence = &ctx.server.coherence;
    let seq = coherence.lock_backlog().last_seq();
    ctx.out.map(3);
    ctx.out.bulk(b"node-id");
    ctx.out.bulk(&coherence.node_id);
    ctx.out.bulk(b"run");
    ctx.out.int(coherence.run() as i64);
    ctx.out.bulk(b"seq");
    ctx.out.int(seq as i64);
    Ok(())
}

/// A run or a sequence: an integer as Redis parses them, not negative.
fn parse_u64(arg: &[u8]) -> Result<u64, CmdError> {
    u64::try_from(crate::commands::args::int(arg)?).map_err(|_| CmdError::NotInteger)
}

/// `CACHE.PEER REPLAY node-id run after-seq`: the payloads of the messages after `after-seq`, in
/// order, or a `NOREPLAY` error saying why they cannot all be given.
fn peer_replay(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let coherence = &ctx.server.coherence;
    let run = parse_u64(&args[3])?;
    let after = parse_u64(&args[4])?;
    if args[2] != coherence.node_id {
        return Err(CmdError::ReplayWrongNode {
            node: coherence.node_id[..].into(),
            asked: args[2][..].into(),
        });
    }
    if run != coherence.run() {
        return Err(CmdError::ReplayRunOver {
            run,
            current: coherence.run(),
        });
    }
    let messages = {
        let backlog = coherence.lock_backlog();
        backlog.since(after).map_err(|why| match why {
            Unavailable::Trimmed => CmdError::ReplayTrimmed {
                first: backlog.first_seq(),
                after,
            },
            Unavailable::Ahead => CmdError::ReplayAhead {
                after,
                last: backlog.last_seq(),
            },
        })?
    };
    coherence
        .stats
        .replays_served
        .fetch_add(1, Ordering::Relaxed);
    ctx.out.array(messages.len());
    for (_, payload) in &messages {
        ctx.out.bulk(payload);
    }
    Ok(())
}

/// Longest client nonce accepted: ours are 32 hex digits.
const MAX_NONCE: usize = 64;

fn peer_key(ctx: &Ctx<'_>) -> Result<auth::Key, CmdError> {
    ctx.server.coherence.key().ok_or(CmdError::SecretNotSet)
}

/// `CACHE.PEER CHALLENGE`: a fresh nonce, kept for this connection's next `CACHE.PEER AUTH`.
fn peer_challenge(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    peer_key(ctx)?;
    let nonce = auth::nonce();
    ctx.out.bulk(nonce.as_bytes());
    ctx.client.peer_challenge = Some(nonce);
    Ok(())
}

/// `CACHE.PEER AUTH <nonce> <proof>`: `proof` is the MAC of the challenge and `nonce`
/// (`auth::client_proof`). Right: the connection is authenticated as a peer, and the reply is this
/// daemon's own proof (`auth::server_proof`) for the link to check. One try per challenge.
fn peer_auth(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let key = peer_key(ctx)?;
    let Some(challenge) = ctx.client.peer_challenge.take() else {
        return Err(CmdError::PeerAuthWithoutChallenge);
    };
    let (nonce, proof) = (&args[2], &args[3]);
    let valid = !nonce.is_empty()
        && nonce.len() <= MAX_NONCE
        && auth::verify_client_proof(&key, challenge.as_bytes(), nonce, proof);
    if !valid {
        ctx.server
            .coherence
            .stats
            .peer_auth_failures
            .fetch_add(1, Ordering::Relaxed);
        return Err(CmdError::PeerProofMismatch);
    }
    ctx.client.authenticated = true;
    ctx.client.peer = true;
    ctx.out
        .bulk(&auth::server_proof(&key, challenge.as_bytes(), nonce));
    Ok(())
}

fn peer_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    reply_help(
        ctx.out,
        "CACHE.PEER",
        &[
            "ADD <host:port> [<host:port> ...]",
            "    Add peers whose invalidations this daemon applies (when coherence is on).",
            "REMOVE <host:port> [<host:port> ...]",
            "    Remove peers and close their links.",
            "LIST",
            "    List the peers with their link state.",
            "POSITION",
            "    Return this daemon's node id, run and last invalidation sequence.",
            "REPLAY <node-id> <run> <after-seq>",
            "    Return the invalidation messages published after a sequence (from the backlog).",
            "CHALLENGE",
            "    Return a nonce for CACHE.PEER AUTH (needs coherence-secret).",
            "AUTH <nonce> <proof>",
            "    Authenticate as a peer daemon: <proof> is the HMAC-SHA256, keyed by coherence-secret,",
            "    of 'cachet-peer-auth client <challenge> <nonce>' (hex); replies the daemon's proof,",
            "    the same over 'cachet-peer-auth server <challenge> <nonce>'.",
        ],
    );
    Ok(())
}
