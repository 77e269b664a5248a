//! GEOSEARCH, GEOSEARCHSTORE and the four GEORADIUS forms: one handler, as Redis's
//! `georadiusGeneric`, for six argument layouts.
//!
//! Arguments are read in two passes. `options` is the grammar alone: which words are options and
//! which arguments they take, with no lock held, so the store key is known before the keys are
//! locked (it may stand anywhere among GEORADIUS's options). `evaluate` then reads the values in
//! Redis's order under the source key's lock, because FROMMEMBER and GEORADIUSBYMEMBER need the
//! set: the client sees the same first error as from Redis (WRONGTYPE, then the fixed arguments,
//! then the options left to right, then the conflicts between them).
//!
//! The search reads the members of at most nine score ranges (`area::Search::cells`), keeps those
//! inside the shape, and copies their members out as shared pointers; sorting and the reply
//! happen after the lock is released, except for a store, which writes its result under the same
//! locks as it read the source.

use bytes::Bytes;

use super::area::{Search, Shape};
use super::{area, format_distance, hash, is_option, lon_lat, unit};
use crate::commands::qsort;
use crate::commands::zset::limits;
use crate::commands::zset::parse as zset_parse;
use crate::commands::zset::range::{build_result, store_result};
use crate::commands::{args, Ctx};
use crate::engine::types::zset::{Member, ZSetValue};
use crate::engine::DbShard;
use crate::error::{CmdError, CmdResult, GeoError};
use crate::protocol::ReplyBuf;

/// The six commands: where their source key is, which fixed arguments precede the options, and
/// which options they take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS key lon lat radius unit
    Radius,
    RadiusRo,
    /// GEORADIUSBYMEMBER key member radius unit
    ByMember,
    ByMemberRo,
    /// GEOSEARCH key
    Search,
    /// GEOSEARCHSTORE destination key
    SearchStore,
}

impl Form {
    fn source(self) -> usize {
        if self == Form::SearchStore {
            2
        } else {
            1
        }
    }

    /// Arguments before the options, the command's name included.
    fn fixed(self) -> usize {
        match self {
            Form::Radius | Form::RadiusRo => 6,
            Form::ByMember | Form::ByMemberRo => 5,
            Form::Search => 2,
            Form::SearchStore => 3,
        }
    }

    /// STORE and STOREDIST with a key: the two GEORADIUS forms that write.
    fn takes_store_key(self) -> bool {
        matches!(self, Form::Radius | Form::ByMember)
    }

    fn is_search(self) -> bool {
        matches!(self, Form::Search | Form::SearchStore)
    }
}

pub fn georadius(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Form::Radius)
}

pub fn georadius_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Form::RadiusRo)
}

pub fn georadiusbymember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Form::ByMember)
}

pub fn georadiusbymember_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Form::ByMemberRo)
}

pub fn geosearch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Form::Search)
}

pub fn geosearchstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(ctx, args, Form::SearchStore)
}

/// One option as the grammar reads it, its values not parsed yet.
#[derive(Debug, Clone, Copy)]
enum Opt<'a> {
    WithDist,
    WithHash,
    WithCoord,
    Any,
    Asc,
    Desc,
    Count(&'a [u8]),
    /// GEORADIUS's STORE (`dist` false) or STOREDIST with their key.
    Store {
        key: &'a Bytes,
        dist: bool,
    },
    /// GEOSEARCHSTORE's STOREDIST, which takes no key.
    StoreDist,
    FromMember(&'a [u8]),
    FromLonLat(&'a [u8], &'a [u8]),
    ByRadius(&'a [u8], &'a [u8]),
    ByBox(&'a [u8], &'a [u8], &'a [u8]),
    /// Not an option of this command, or one short of its values: a syntax error when reached.
    Invalid,
}

impl Opt<'_> {
    /// Arguments taken after the option's name.
    fn values(&self) -> usize {
        match self {
            Opt::Count(_) | Opt::Store { .. } | Opt::FromMember(_) => 1,
            Opt::FromLonLat(..) | Opt::ByRadius(..) => 2,
            Opt::ByBox(..) => 3,
            _ => 0,
        }
    }
}

/// The options after the fixed arguments, up to and including the first invalid one. The centre
/// (FROMMEMBER, FROMLONLAT) and the shape (BYRADIUS, BYBOX) are each one of two: once one is given,
/// the other is not an option any more.
fn options(args: &[Bytes], form: Form) -> Vec<Opt<'_>> {
    let rest = args.get(form.fixed()..).unwrap_or_default();
    let mut opts = Vec::new();
    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) =
        (false, false, false, false);
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i];
        // How many arguments follow this one.
        let after = rest.len() - i - 1;
        let search = form.is_search();
        let opt = if is_option(arg, "withdist") {
            Opt::WithDist
        } else if is_option(arg, "withhash") {
            Opt::WithHash
        } else if is_option(arg, "withcoord") {
            Opt::WithCoord
        } else if is_option(arg, "any") {
            Opt::Any
        } else if is_option(arg, "asc") {
            Opt::Asc
        } else if is_option(arg, "desc") {
            Opt::Desc
        } else if is_option(arg, "count") && after >= 1 {
            Opt::Count(&rest[i + 1])
        } else if is_option(arg, "store") && after >= 1 && form.takes_store_key() {
            Opt::Store {
                key: &rest[i + 1],
                dist: false,
            }
        } else if is_option(arg, "storedist") && after >= 1 && form.takes_store_key() {
            Opt::Store {
                key: &rest[i + 1],
                dist: true,
            }
        } else if is_option(arg, "storedist") && form == Form::SearchStore {
            Opt::StoreDist
        } else if is_option(arg, "frommember") && after >= 1 && search && !from_lonlat {
            from_member = true;
            Opt::FromMember(&rest[i + 1])
        } else if is_option(arg, "fromlonlat") && after >= 2 && search && !from_member {
            from_lonlat = true;
            Opt::FromLonLat(&rest[i + 1], &rest[i + 2])
        } else if is_option(arg, "byradius") && after >= 2 && search && !by_box {
            by_radius = true;
            Opt::ByRadius(&rest[i + 1], &rest[i + 2])
        } else if is_option(arg, "bybox") && after >= 3 && search && !by_radius {
            by_box = true;
            Opt::ByBox(&rest[i + 1], &rest[i + 2], &rest[i + 3])
        } else {
            Opt::Invalid
        };
        opts.push(opt);
        if matches!(opt, Opt::Invalid) {
            break;
        }
        i += 1 + opt.values();
    }
    opts
}

/// The key a search stores into, and whether it stores distances rather than scores. GEORADIUS
/// takes the last STORE or STOREDIST.
fn destination<'a>(args: &'a [Bytes], form: Form, opts: &[Opt<'a>]) -> Option<(&'a Bytes, bool)> {
    if form == Form::SearchStore {
        let dist = opts.iter().any(|opt| matches!(opt, Opt::StoreDist));
        return Some((&args[1], dist));
    }
    opts.iter().rev().find_map(|opt| match *opt {
        Opt::Store { key, dist } => Some((key, dist)),
        _ => None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A search with its values read.
#[derive(Debug)]
struct Query {
    /// `None` only when the source key is missing and the centre was to be one of its members.
    search: Option<Search>,
    with_dist: bool,
    with_hash: bool,
    with_coord: bool,
    sort: Sort,
    /// COUNT, 0 for all.
    count: usize,
    /// Stop at COUNT matches instead of finding them all and keeping the nearest.
    any: bool,
}

/// Radius and unit (`<radius> <unit>`): metres per unit and the radius in that unit.
fn radius(value: &[u8], unit_arg: &[u8]) -> Result<(Shape, f64), CmdError> {
    let radius = zset_parse::parse_score(value).ok_or(CmdError::Geo(GeoError::RadiusNotNumeric))?;
    if radius < 0.0 {
        return Err(CmdError::Geo(GeoError::NegativeRadius));
    }
    Ok((Shape::Circle { radius }, unit(unit_arg)?))
}

/// Width, height and unit (`<width> <height> <unit>`).
fn rect(width: &[u8], height: &[u8], unit_arg: &[u8]) -> Result<(Shape, f64), CmdError> {
    let width = zset_parse::parse_score(width).ok_or(CmdError::Geo(GeoError::WidthNotNumeric))?;
    let height =
        zset_parse::parse_score(height).ok_or(CmdError::Geo(GeoError::HeightNotNumeric))?;
    if height < 0.0 || width < 0.0 {
        return Err(CmdError::Geo(GeoError::NegativeBox));
    }
    Ok((Shape::Rect { width, height }, unit(unit_arg)?))
}

fn member_position(zset: &ZSetValue, member: &[u8]) -> Result<(f64, f64), CmdError> {
    let score = zset
        .score(member)
        .ok_or(CmdError::Geo(GeoError::MemberNotFound))?;
    Ok(hash::position_of(score))
}

/// Reads the fixed arguments and the options' values in Redis's order. With the source key
/// missing (`zset` is `None`), members are not looked up (nor GEORADIUSBYMEMBER's radius read),
/// but everything else is checked, as Redis does before it answers the empty result.
fn evaluate(
    args: &[Bytes],
    form: Form,
    opts: &[Opt<'_>],
    stores: bool,
    zset: Option<&ZSetValue>,
) -> Result<Query, CmdError> {
    let mut center = None;
    let mut shape = None;
    match form {
        Form::Radius | Form::RadiusRo => {
            center = Some(lon_lat(&args[2], &args[3])?);
            shape = Some(radius(&args[4], &args[5])?);
        }
        Form::ByMember | Form::ByMemberRo => {
            if let Some(zset) = zset {
                center = Some(member_position(zset, &args[2])?);
                shape = Some(radius(&args[3], &args[4])?);
            }
        }
        Form::Search | Form::SearchStore => {}
    }
    let mut query = Query {
        search: None,
        with_dist: false,
        with_hash: false,
        with_coord: false,
        sort: Sort::None,
        count: 0,
        any: false,
    };
    let (mut has_center, mut has_shape) = (false, false);
    for opt in opts {
        match *opt {
            Opt::WithDist => query.with_dist = true,
            Opt::WithHash => query.with_hash = true,
            Opt::WithCoord => query.with_coord = true,
            Opt::Any => query.any = true,
            Opt::Asc => query.sort = Sort::Asc,
            Opt::Desc => query.sort = Sort::Desc,
            Opt::Count(value) => {
                let count = args::int(value)?;
                if count <= 0 {
                    return Err(CmdError::Geo(GeoError::CountNotPositive));
                }
                query.count = usize::try_from(count).unwrap_or(usize::MAX);
            }
            Opt::Store { .. } | Opt::StoreDist => {}
            Opt::FromMember(member) => {
                if let Some(zset) = zset {
                    center = Some(member_position(zset, member)?);
                }
                has_center = true;
            }
            Opt::FromLonLat(lon, lat) => {
                center = Some(lon_lat(lon, lat)?);
                has_center = true;
            }
            Opt::ByRadius(value, unit_arg) => {
                shape = Some(radius(value, unit_arg)?);
                has_shape = true;
            }
            Opt::ByBox(width, height, unit_arg) => {
                shape = Some(rect(width, height, unit_arg)?);
                has_shape = true;
            }
            Opt::Invalid => return Err(CmdError::Syntax),
        }
    }
    if stores && (query.with_dist || query.with_hash || query.with_coord) {
        let search = form == Form::SearchStore;
        return Err(CmdError::Geo(GeoError::StoreWithReplyOptions { search }));
    }
    // Redis names the command as the client spelt it.
    let typed = || String::from_utf8_lossy(&args[0]).into_owned();
    if form.is_search() && !has_center {
        return Err(CmdError::Geo(GeoError::CenterMissing(typed())));
    }
    if form.is_search() && !has_shape {
        return Err(CmdError::Geo(GeoError::ShapeMissing(typed())));
    }
    if query.any && query.count == 0 {
        return Err(CmdError::Geo(GeoError::AnyWithoutCount));
    }
    // COUNT keeps the nearest, so it sorts by distance unless told otherwise (ANY keeps the
    // first found instead, unsorted).
    if query.count != 0 && query.sort == Sort::None && !query.any {
        query.sort = Sort::Asc;
    }
    if let (Some((lon, lat)), Some((shape, unit_m))) = (center, shape) {
        query.search = Some(Search {
            lon,
            lat,
            shape,
            unit_m,
        });
    }
    Ok(query)
}

/// A member inside the shape.
#[derive(Debug)]
struct Point {
    lon: f64,
    lat: f64,
    /// From the centre, in metres.
    dist: f64,
    score: f64,
    member: Member,
}

/// The members inside the shape, cell by cell and in score order within a cell; at most `limit`
/// of them when it is not 0 (ANY).
fn collect(zset: &ZSetValue, search: &Search, limit: usize) -> Vec<Point> {
    let full = |found: &Vec<Point>| limit != 0 && found.len() >= limit;
    let cells = search.cells();
    let mut found = Vec::new();
    // A huge radius can make neighbours the same cell: one equal to the last cell read is
    // skipped. As in Redis, the centre's cell (index 0) is never the one compared with.
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        let Some(cell) = *cell else {
            continue;
        };
        if last != 0 && cells[last] == Some(cell) {
            continue;
        }
        if full(&found) {
            break;
        }
        let (min, max) = hash::score_range(cell);
        let (min, max) = (min as f64, max as f64);
        let start = zset.partition_point(|item| item.score < min);
        for item in zset.iter_from(start) {
            if item.score >= max {
                break;
            }
            let (lon, lat) = hash::position_of(item.score);
            if let Some(dist) = search.distance_within(lon, lat) {
                found.push(Point {
                    lon,
                    lat,
                    dist,
                    score: item.score,
                    member: item.member.clone(),
                });
            }
            if full(&found) {
                break;
            }
        }
        last = i;
    }
    found
}

/// The places of the points to return, in reply order.
fn arrange(points: &[Point], query: &Query) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    let returned = match query.count {
        0 => points.len(),
        count => count.min(points.len()),
    };
    let sign = match query.sort {
        Sort::None => 0,
        Sort::Asc => 1,
        Sort::Desc => -1,
    };
    if sign != 0 {
        let cmp = |a: usize, b: usize| sign * area::compare(points[a].dist, points[b].dist);
        if returned == points.len() {
            qsort::merge_sort(&mut order, &cmp);
        } else {
            qsort::partial_sort(&mut order, 0, returned as i64 - 1, &cmp);
        }
    }
    order.truncate(returned);
    order
}

fn reply(out: &mut ReplyBuf, points: &[Point], order: &[usize], query: &Query, unit_m: f64) {
    let extras =
        usize::from(query.with_dist) + usize::from(query.with_hash) + usize::from(query.with_coord);
    out.array(order.len());
    for &i in order {
        let point = &points[i];
        if extras > 0 {
            out.array(extras + 1);
        }
        out.bulk(&point.member);
        if query.with_dist {
            out.bulk(format_distance(point.dist / unit_m).as_bytes());
        }
        if query.with_hash {
            // C's conversion of the score to `long long`: in a cell's range, an exact integer.
            out.int(point.score as i64);
        }
        if query.with_coord {
            out.array(2);
            out.human_double(point.lon);
            out.human_double(point.lat);
        }
    }
}

/// What a search found: `None` for a missing source key.
type Found = Option<(Query, Search, Vec<Point>)>;

/// Looks the source up (a read: hits, misses, access time), reads the arguments and searches.
fn find(
    view: &mut DbShard<'_>,
    hash: u64,
    args: &[Bytes],
    form: Form,
    opts: &[Opt<'_>],
    stores: bool,
) -> Result<Found, CmdError> {
    let src = &args[form.source()];
    let zset = match view.read(hash, src) {
        None => None,
        Some(entry) => Some(entry.zset().ok_or(CmdError::WrongType)?),
    };
    let query = evaluate(args, form, opts, stores, zset)?;
    let (Some(zset), Some(search)) = (zset, query.search) else {
        return Ok(None);
    };
    let limit = if query.any { query.count } else { 0 };
    let points = collect(zset, &search, limit);
    Ok(Some((query, search, points)))
}

fn run(ctx: &mut Ctx<'_>, args: &[Bytes], form: Form) -> CmdResult {
    let opts = options(args, form);
    let src = &args[form.source()];
    let (db, now) = (ctx.client.db, ctx.now_ms);
    let server = ctx.server;
    let Some((dst, store_dist)) = destination(args, form, &opts) else {
        let found = server.keyspace.with_key(db, src, now, |view, hash| {
            find(view, hash, args, form, &opts, false)
        })?;
        match found {
            None => ctx.out.array(0),
            Some((query, search, points)) => {
                let order = arrange(&points, &query);
                reply(ctx.out, &points, &order, &query, search.unit_m);
            }
        }
        return Ok(());
    };
    let limits = limits(ctx);
    let mut locked = server.keyspace.lock_keys([&src[..], &dst[..]]);
    // Both views exist: their shards are the ones locked.
    let Some((mut view, hash)) = locked.view(db, src, now) else {
        return Ok(());
    };
    let found = find(&mut view, hash, args, form, &opts, true)?;
    // A missing source, or nothing found, deletes the destination.
    let result = match &found {
        None => ZSetValue::new(),
        Some((query, search, points)) => {
            let items = arrange(points, query)
                .into_iter()
                .map(|i| {
                    let point = &points[i];
                    let score = if store_dist {
                        point.dist / search.unit_m
                    } else {
                        point.score
                    };
                    (score, &point.member[..])
                })
                .collect();
            build_result(items, limits)
        }
    };
    let Some((mut view, hash)) = locked.view(db, dst, now) else {
        return Ok(());
    };
    let event = if form.is_search() {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    store_result(ctx, &mut view, hash, dst, result, event);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn grammar_finds_the_store_key_anywhere() {
        let args = words("georadius k 0 0 10 km count 3 store a withdist storedist b asc");
        let opts = options(&args, Form::Radius);
        assert_eq!(
            destination(&args, Form::Radius, &opts),
            Some((&args[12], true))
        );
        let args = words("georadius_ro k 0 0 10 km store a");
        let opts = options(&args, Form::RadiusRo);
        assert!(matches!(opts[..], [Opt::Invalid]));
        assert_eq!(destination(&args, Form::RadiusRo, &opts), None);
        let args = words("geosearchstore d s frommember m bybox 1 2 km storedist");
        let opts = options(&args, Form::SearchStore);
        assert_eq!(
            destination(&args, Form::SearchStore, &opts),
            Some((&args[1], true))
        );
    }

    #[test]
    fn centre_and_shape_are_each_one_of_two() {
        let args = words("geosearch k fromlonlat 1 2 frommember m");
        let opts = options(&args, Form::Search);
        assert!(matches!(opts[..], [Opt::FromLonLat(..), Opt::Invalid]));
        let args = words("geosearch k byradius 1 km byradius 2 m bybox 1 1 m");
        let opts = options(&args, Form::Search);
        assert!(matches!(
            opts[..],
            [Opt::ByRadius(..), Opt::ByRadius(..), Opt::Invalid]
        ));
        // An option short of its values is no option.
        let args = words("geosearch k count");
        assert!(matches!(options(&args, Form::Search)[..], [Opt::Invalid]));
    }

    #[test]
    fn errors_come_in_redis_order() {
        let check = |line: &str, form: Form, zset: Option<&ZSetValue>| {
            let args = words(line);
            let opts = options(&args, form);
            let stores = destination(&args, form, &opts).is_some();
            evaluate(&args, form, &opts, stores, zset)
                .unwrap_err()
                .message()
        };
        let empty = ZSetValue::new();
        assert_eq!(
            check(
                "geosearch k frommember m byradius x km",
                Form::Search,
                Some(&empty)
            ),
            "ERR could not decode requested zset member"
        );
        assert_eq!(
            check(
                "geosearch k byradius x km frommember m",
                Form::Search,
                Some(&empty)
            ),
            "ERR need numeric radius"
        );
        // A missing key: members are not looked up, the rest is still checked.
        assert_eq!(
            check("GeoSearch k frommember m", Form::Search, None),
            "ERR exactly one of BYRADIUS and BYBOX can be specified for GeoSearch"
        );
        assert_eq!(
            check("georadius k 0 0 1 km withdist store d", Form::Radius, None),
            "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        );
        assert_eq!(
            check(
                "geosearch k fromlonlat 0 0 byradius 1 km any",
                Form::Search,
                None
            ),
            "ERR the ANY argument requires COUNT argument"
        );
        assert_eq!(
            check(
                "geosearch k fromlonlat 0 0 byradius 1 km count 0",
                Form::Search,
                None
            ),
            "ERR COUNT must be > 0"
        );
    }
}
