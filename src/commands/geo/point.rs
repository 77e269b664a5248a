//! GEOADD and the per-member readers GEOPOS, GEOHASH and GEODIST.
//!
//! GEOADD is Redis's: the coordinates become scores and the rest is ZADD's own path (options, the
//! new set's encoding, the `zadd` event), so a geo key is built exactly as the sorted set it is.

use bytes::Bytes;

use super::{area, format_distance, hash, is_option, lon_lat, unit};
use crate::commands::zset::{self, read_zset, AddFlags};
use crate::commands::Ctx;
use crate::error::{CmdError, CmdResult};

/// `GEOADD key [NX|XX] [CH] longitude latitude member ...`
pub fn geoadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut flags = AddFlags::default();
    let mut at = 2;
    while let Some(arg) = args.get(at) {
        if is_option(arg, "nx") {
            flags.nx = true;
        } else if is_option(arg, "xx") {
            flags.xx = true;
        } else if is_option(arg, "ch") {
            flags.ch = true;
        } else {
            break;
        }
        at += 1;
    }
    let triples = &args[at..];
    // No triple at all is ZADD's syntax error, as GEOADD hands over to it.
    if triples.is_empty() || !triples.len().is_multiple_of(3) || (flags.nx && flags.xx) {
        return Err(CmdError::Syntax);
    }
    // Every position is checked before anything changes.
    let pairs = triples
        .chunks_exact(3)
        .map(|t| {
            let (lon, lat) = lon_lat(&t[0], &t[1])?;
            Ok((hash::score_of(lon, lat) as f64, &t[2]))
        })
        .collect::<Result<Vec<_>, CmdError>>()?;
    zset::add_pairs(ctx, &args[1], flags, &pairs)
}

/// `GEOPOS key member ...`: [longitude, latitude] per member, a null array for a missing one.
pub fn geopos(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_zset(ctx, &args[1], |zset, out| {
        out.array(args.len() - 2);
        for member in &args[2..] {
            match zset.and_then(|z| z.score(member)) {
                Some(score) => {
                    let (lon, lat) = hash::position_of(score);
                    out.array(2);
                    out.human_double(lon);
                    out.human_double(lat);
                }
                None => out.null_array(),
            }
        }
        Ok(())
    })
}

/// `GEOHASH key member ...`: the 11-character standard geohash per member, null for a missing one.
pub fn geohash(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_zset(ctx, &args[1], |zset, out| {
        out.array(args.len() - 2);
        for member in &args[2..] {
            match zset.and_then(|z| z.score(member)) {
                Some(score) => out.bulk(&hash::geohash_string(score)),
                None => out.null(),
            }
        }
        Ok(())
    })
}

/// `GEODIST key member1 member2 [M|KM|FT|MI]`: null when the key or a member is missing. The unit
/// is checked before the key is looked up, as in Redis.
pub fn geodist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let unit_m = match args.len() {
        4 => 1.0,
        5 => unit(&args[4])?,
        _ => return Err(CmdError::Syntax),
    };
    read_zset(ctx, &args[1], |zset, out| {
        let scores = zset.and_then(|z| Some((z.score(&args[2])?, z.score(&args[3])?)));
        match scores {
            Some((a, b)) => {
                let (lon1, lat1) = hash::position_of(a);
                let (lon2, lat2) = hash::position_of(b);
                let metres = area::distance(lon1, lat1, lon2, lat2);
                out.bulk(format_distance(metres / unit_m).as_bytes());
            }
            None => out.null(),
        }
        Ok(())
    })
}
