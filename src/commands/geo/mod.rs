//! The GEO commands (Redis's `geo.c`). A geo key is an ordinary sorted set whose scores are 52-bit
//! geohashes, exactly Redis's: ZRANGE, ZREM, ZCARD and the rest work on it, TYPE says `zset`, and a
//! dump of one server's scores means the same positions on the other.
//!
//! - `hash.rs`: the geohash codec (scores ⇄ positions, cells, neighbours, GEOHASH strings);
//! - `area.rs`: the search geometry (haversine distances, the grid step for a radius, the nine
//!   cells that cover a circle or a box);
//! - `sort.rs`: the two sorts Redis orders results with, for the order they leave ties in;
//! - `point.rs`: GEOADD (a ZADD of computed scores, as in Redis), GEOPOS, GEOHASH, GEODIST;
//! - `search.rs`: GEOSEARCH, GEOSEARCHSTORE and the four GEORADIUS forms.
//!
//! The codec and the geometry are pure functions of numbers, kept beside their only users rather
//! than in `engine/types`: a position is not a value type of its own but a reading of a sorted
//! set's scores, and nothing below the commands needs to know it.

mod area;
mod hash;
mod point;
mod search;

use bytes::Bytes;

use super::zset::parse as zset_parse;
use super::{CommandSpec, SPEC};
use crate::error::{CmdError, GeoError};

const GEO: CommandSpec = CommandSpec {
    group: "geo",
    first_key: 1,
    last_key: 1,
    key_step: 1,
    ..SPEC
};

/// The complexity Redis documents for the GEORADIUS forms.
const RADIUS_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.";
const SEARCH_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape";

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "geoadd", arity: -5, flags: flags!(WRITE, DENYOOM), acl_categories: acl!(WRITE, GEO, SLOW), summary: "Add one or more geospatial items in the geospatial index represented using a sorted set", since: "3.2.0", complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.", handler: Some(point::geoadd), ..GEO },
    CommandSpec { name: "geodist", arity: -4, flags: flags!(READONLY), acl_categories: acl!(READ, GEO, SLOW), summary: "Returns the distance between two members of a geospatial index", since: "3.2.0", complexity: "O(log(N))", handler: Some(point::geodist), ..GEO },
    CommandSpec { name: "geohash", arity: -2, flags: flags!(READONLY), acl_categories: acl!(READ, GEO, SLOW), summary: "Returns members of a geospatial index as standard geohash strings", since: "3.2.0", complexity: "O(log(N)) for each member requested, where N is the number of elements in the sorted set.", handler: Some(point::geohash), ..GEO },
    CommandSpec { name: "geopos", arity: -2, flags: flags!(READONLY), acl_categories: acl!(READ, GEO, SLOW), summary: "Returns longitude and latitude of members of a geospatial index", since: "3.2.0", complexity: "O(N) where N is the number of members requested.", handler: Some(point::geopos), ..GEO },
    CommandSpec { name: "geosearch", arity: -7, flags: flags!(READONLY), acl_categories: acl!(READ, GEO, SLOW), summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", since: "6.2.0", complexity: SEARCH_COMPLEXITY, handler: Some(search::geosearch), ..GEO },
    CommandSpec { name: "geosearchstore", arity: -8, flags: flags!(WRITE, DENYOOM), acl_categories: acl!(WRITE, GEO, SLOW), last_key: 2, summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", since: "6.2.0", complexity: SEARCH_COMPLEXITY, handler: Some(search::geosearchstore), ..GEO },
    // The STORE key of the two writing GEORADIUS forms sits among the options: movable keys.
    CommandSpec { name: "georadius", arity: -6, flags: flags!(WRITE, DENYOOM, MOVABLEKEYS), acl_categories: acl!(WRITE, GEO, SLOW), movable_keys: Some(georadius_keys), summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", since: "3.2.0", complexity: RADIUS_COMPLEXITY, handler: Some(search::georadius), ..GEO },
    CommandSpec { name: "georadius_ro", arity: -6, flags: flags!(READONLY), acl_categories: acl!(READ, GEO, SLOW), summary: "A read-only variant for GEORADIUS", since: "3.2.10", complexity: RADIUS_COMPLEXITY, handler: Some(search::georadius_ro), ..GEO },
    CommandSpec { name: "georadiusbymember", arity: -5, flags: flags!(WRITE, DENYOOM, MOVABLEKEYS), acl_categories: acl!(WRITE, GEO, SLOW), movable_keys: Some(georadiusbymember_keys), summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", since: "3.2.0", complexity: RADIUS_COMPLEXITY, handler: Some(search::georadiusbymember), ..GEO },
    CommandSpec { name: "georadiusbymember_ro", arity: -5, flags: flags!(READONLY), acl_categories: acl!(READ, GEO, SLOW), summary: "A read-only variant for GEORADIUSBYMEMBER", since: "3.2.10", complexity: RADIUS_COMPLEXITY, handler: Some(search::georadiusbymember_ro), ..GEO },
];

/// The keys of GEORADIUS and GEORADIUSBYMEMBER as Redis's key specs find them: the source, then
/// the argument after the first STORE and after the first STOREDIST among the options (from
/// `options` on), each when present.
fn store_keys(args: &[Bytes], options: usize) -> Vec<usize> {
    let mut keys = vec![1];
    for keyword in ["store", "storedist"] {
        let last = args.len().saturating_sub(1);
        if let Some(at) = (options..last).find(|&i| is_option(&args[i], keyword)) {
            keys.push(at + 1);
        }
    }
    keys
}

fn georadius_keys(args: &[Bytes]) -> Vec<usize> {
    store_keys(args, 6)
}

fn georadiusbymember_keys(args: &[Bytes]) -> Vec<usize> {
    store_keys(args, 5)
}

/// Whether `arg` names `option` as C's `strcasecmp` compares them: the argument ends at its first
/// NUL byte, so `km\0x` is `km` (Redis reads every GEO option and unit this way).
fn is_option(arg: &[u8], option: &str) -> bool {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(option.as_bytes())
}

/// Metres per unit (`m`, `km`, `ft`, `mi`, any letter case).
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    const UNITS: [(&str, f64); 4] = [("m", 1.0), ("km", 1000.0), ("ft", 0.3048), ("mi", 1609.34)];
    UNITS
        .iter()
        .find(|(name, _)| is_option(arg, name))
        .map(|&(_, metres)| metres)
        .ok_or(CmdError::Geo(GeoError::UnsupportedUnit))
}

/// A longitude and a latitude (each a strict double, as ZADD's scores), within the Web Mercator
/// limits.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let lon = zset_parse::score(lon)?;
    let lat = zset_parse::score(lat)?;
    if !(hash::LON_MIN..=hash::LON_MAX).contains(&lon)
        || !(hash::LAT_MIN..=hash::LAT_MAX).contains(&lat)
    {
        return Err(CmdError::Geo(GeoError::InvalidPair { lon, lat }));
    }
    Ok((lon, lat))
}

/// A distance in a unit as Redis prints it (`addReplyDoubleDistance`): the value times 10^4
/// rounded to an integer by `llrint` (ties to even; NaN or out of range gives `i64::MIN`, as the
/// x86-64 conversion does), then printed with four decimals. Zero is `0.0000` whatever its sign.
fn format_distance(value: f64) -> String {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if value == 0.0 {
        return "0.0000".to_string();
    }
    let scaled = value * 10_000.0;
    let units = if (-TWO_63..TWO_63).contains(&scaled) {
        scaled.round_ties_even() as i64
    } else {
        i64::MIN
    };
    let magnitude = units.unsigned_abs();
    let sign = if units < 0 { "-" } else { "" };
    format!("{sign}{}.{:04}", magnitude / 10_000, magnitude % 10_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::long_double::LongDouble;
    use crate::protocol::reply::format_human;

    #[test]
    fn distances_print_as_redis() {
        assert_eq!(format_distance(4454.732974), "4454.7330");
        assert_eq!(format_distance(-0.0), "0.0000");
        assert_eq!(format_distance(1e-9), "0.0000");
        assert_eq!(format_distance(0.00005), "0.0000");
        assert_eq!(format_distance(12345.67894), "12345.6789");
        assert_eq!(format_distance(-2.5), "-2.5000");
        assert_eq!(format_distance(f64::NAN), "-922337203685477.5808");
        assert_eq!(format_distance(1e300), "-922337203685477.5808");
    }

    #[test]
    fn store_keys_as_redis_key_specs() {
        let args: Vec<Bytes> = "georadius k 0 0 1 km STOREDIST a store b store c"
            .split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        assert_eq!(georadius_keys(&args), [1, 9, 7]);
        assert_eq!(georadius_keys(&args[..7]), [1]);
        assert_eq!(georadiusbymember_keys(&args[..6]), [1]);
    }

    #[test]
    fn options_compare_as_c_strings() {
        assert!(is_option(b"KM", "km"));
        assert!(is_option(b"km\0junk", "km"));
        assert!(!is_option(b"kmx", "km"));
        assert!(!is_option(b"", "km"));
        assert_eq!(unit(b"Mi"), Ok(1609.34));
        assert!(unit(b"yd").is_err());
    }

    #[test]
    fn pairs_checked_against_the_limits() {
        assert_eq!(lon_lat(b"180", b"85.05112878"), Ok((180.0, 85.05112878)));
        assert_eq!(
            lon_lat(b"180.0001", b"0").unwrap_err().message(),
            "ERR invalid longitude,latitude pair 180.000100,0.000000"
        );
        assert_eq!(lon_lat(b"x", b"0"), Err(CmdError::NotFloat));
        assert_eq!(lon_lat(b"nan", b"0"), Err(CmdError::NotFloat));
    }

    /// GEOPOS prints a double with C's `%.17Lf`: check the f64 formatting against the exact
    /// 80-bit emulation INCRBYFLOAT uses, over doubles of every magnitude a coordinate has.
    #[test]
    fn human_format_matches_the_long_double_emulation() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let value = (seed >> 11) as f64 / (1u64 << 53) as f64 * 360.0 - 180.0;
            let value = if seed.is_multiple_of(7) {
                value * 1e-12
            } else {
                value
            };
            if value == 0.0 {
                continue;
            }
            let bits = value.to_bits();
            let (negative, exp, fraction) = (
                bits >> 63 == 1,
                ((bits >> 52) & 0x7ff) as i64,
                bits & ((1 << 52) - 1),
            );
            let (mantissa, exp) = if exp == 0 {
                (fraction, -1074)
            } else {
                (fraction | (1 << 52), exp - 1075)
            };
            let shift = mantissa.leading_zeros();
            let long = LongDouble::Finite {
                negative,
                mantissa: mantissa << shift,
                exp: exp - i64::from(shift),
            };
            assert_eq!(format_human(value), long.to_human_string(), "{value:e}");
        }
    }
}
