//! CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO: client-side caching's commands, with
//! Redis 7.0's checks in Redis's order (`clientCommand`). The tables are in `state::tracking`.

use bytes::Bytes;

use crate::commands::Ctx;
use crate::error::{CmdError, CmdResult};

/// `CLIENT TRACKING on|off [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]`, and
/// cachet's `TAG t` (repeatable, BCAST only).
pub fn client_tracking(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut redirect: i64 = 0;
    let (mut bcast, mut optin, mut optout, mut noloop) = (false, false, false, false);
    let mut prefixes = Vec::new();
    let mut tags = Vec::new();
    let mut i = 3;
    while i < args.len() {
        let option = &args[i];
        let more = i + 1 < args.len();
        if option.eq_ignore_ascii_case(b"redirect") && more {
            i += 1;
            if redirect != 0 {
                return Err(CmdError::RedirectTwice);
            }
            redirect = crate::protocol::parse_i64(&args[i]).ok_or(CmdError::NotInteger)?;
            if ctx.server.clients.get(redirect as u64).is_none() || redirect <= 0 {
                return Err(CmdError::NoSuchRedirectClient);
            }
        } else if option.eq_ignore_ascii_case(b"bcast") {
            bcast = true;
        } else if option.eq_ignore_ascii_case(b"optin") {
            optin = true;
        } else if option.eq_ignore_ascii_case(b"optout") {
            optout = true;
        } else if option.eq_ignore_ascii_case(b"noloop") {
            noloop = true;
        } else if option.eq_ignore_ascii_case(b"prefix") && more {
            i += 1;
            prefixes.push(Bytes::copy_from_slice(&args[i]));
        } else if option.eq_ignore_ascii_case(b"tag") && more {
            i += 1;
            tags.push(Bytes::copy_from_slice(&args[i]));
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let mode = &args[2];
    if mode.eq_ignore_ascii_case(b"on") {
        let current = ctx.client.tracking;
        if !bcast && !prefixes.is_empty() {
            return Err(CmdError::PrefixWithoutBcast);
        }
        if !bcast && !tags.is_empty() {
            return Err(CmdError::TagWithoutBcast);
        }
        if current.on && current.bcast != bcast {
            return Err(CmdError::BcastSwitch);
        }
        if bcast && (optin || optout) {
            return Err(CmdError::OptInOutWithBcast);
        }
        if optin && optout {
            return Err(CmdError::OptInAndOptOut);
        }
        if (optin && current.optout) || (optout && current.optin) {
            return Err(CmdError::OptInOutSwitch);
        }
        if bcast {
            if let Some(error) = ctx
                .server
                .tracking
                .prefix_collision(ctx.client.id, &prefixes)
            {
                return Err(error);
            }
        }
        let inbox = ctx
            .client
            .pubsub
            .ensure_inbox(&ctx.server.pubsub, &ctx.client.info);
        ctx.server.tracking.enable(
            &ctx.client.info,
            inbox,
            redirect as u64,
            bcast,
            noloop,
            prefixes,
            tags,
        );
        let tracking = &mut ctx.client.tracking;
        tracking.on = true;
        tracking.bcast |= bcast;
        tracking.optin |= optin;
        tracking.optout |= optout;
        tracking.noloop |= noloop;
    } else if mode.eq_ignore_ascii_case(b"off") {
        disable(ctx);
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.out.ok();
    Ok(())
}

/// Tracking off (CLIENT TRACKING off, RESET).
pub fn disable(ctx: &mut Ctx<'_>) {
    if ctx.client.tracking.on {
        ctx.server.tracking.disable(ctx.client.id);
    }
    ctx.client.tracking = Default::default();
}

pub fn client_caching(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let tracking = ctx.client.tracking;
    if !tracking.on {
        return Err(CmdError::CachingWithoutOptInOut);
    }
    let option = &args[2];
    if option.eq_ignore_ascii_case(b"yes") {
        if !tracking.optin {
            return Err(CmdError::CachingYesWithoutOptIn);
        }
    } else if option.eq_ignore_ascii_case(b"no") {
        if !tracking.optout {
            return Err(CmdError::CachingNoWithoutOptOut);
        }
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.client.tracking.caching = true;
    ctx.out.ok();
    Ok(())
}

/// The redirect of a tracking client (0: none), -1 when it does not track.
fn redirect_of(ctx: &Ctx<'_>) -> i64 {
    if !ctx.client.tracking.on {
        return -1;
    }
    ctx.server
        .tracking
        .client(ctx.client.id)
        .map_or(0, |(redirect, _)| redirect as i64)
}

pub fn client_getredir(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(redirect_of(ctx));
    Ok(())
}

pub fn client_trackinginfo(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let tracking = ctx.client.tracking;
    let (redirect, prefixes) = match ctx.server.tracking.client(ctx.client.id) {
        Some(found) if tracking.on => found,
        _ => (0, Vec::new()),
    };
    let mut flags: Vec<&str> = Vec::new();
    if !tracking.on {
        flags.push("off");
    } else {
        flags.push("on");
        if tracking.bcast {
            flags.push("bcast");
        }
        if tracking.optin {
            flags.push("optin");
            if tracking.caching {
                flags.push("caching-yes");
            }
        }
        if tracking.optout {
            flags.push("optout");
            if tracking.caching {
                flags.push("caching-no");
            }
        }
        if tracking.noloop {
            flags.push("noloop");
        }
        if redirect != 0 && ctx.server.clients.get(redirect).is_none() {
            flags.push("broken_redirect");
        }
    }
    ctx.out.map(3);
    ctx.out.bulk(b"flags");
    ctx.out.set(flags.len());
    for flag in flags {
        ctx.out.bulk(flag.as_bytes());
    }
    ctx.out.bulk(b"redirect");
    ctx.out.int(if tracking.on { redirect as i64 } else { -1 });
    ctx.out.bulk(b"prefixes");
    ctx.out.array(prefixes.len());
    for prefix in prefixes {
        ctx.out.bulk(&prefix);
    }
    Ok(())
}
