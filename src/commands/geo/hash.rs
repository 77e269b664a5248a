//! The geohash codec of the GEO commands (Redis's `geohash.c`): pure arithmetic, no state.
//!
//! A position is the score of a sorted-set member. Longitude (-180..180) and latitude (the Web
//! Mercator limits, ±85.05112878) are each scaled to a 26-bit integer over their range, and the
//! two integers are interleaved, latitude in the even bit positions and longitude in the odd ones,
//! into 52 bits: every such integer is exact in a double. The first `2 × step` bits of a score
//! name a cell of the grid at that step, so the members of one cell are one score range (what
//! the search in `area.rs` reads).
//!
//! Everything is computed in the order and with the double operations Redis uses, so a score, a
//! decoded coordinate or a geohash string is Redis's bit for bit (the differential test in
//! `tests/geo.rs` holds us to it). That includes what Redis does with scores no GEOADD wrote
//! (`score_bits`), since any ZADD can put them in a geo key.

/// Bits per coordinate of a stored score (52 in all).
pub const STEP_MAX: u8 = 26;
pub const LON_MIN: f64 = -180.0;
pub const LON_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

impl Range {
    fn is_zero(&self) -> bool {
        self.min == 0.0 && self.max == 0.0
    }
}

/// The ranges scores are encoded over.
pub const LON_RANGE: Range = Range {
    min: LON_MIN,
    max: LON_MAX,
};
pub const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};
/// The standard geohash's latitude range, which GEOHASH's strings use.
const STANDARD_LAT_RANGE: Range = Range {
    min: -90.0,
    max: 90.0,
};

/// A cell of the grid at `step`: its `2 × step` interleaved bits (Redis's `GeoHashBits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub bits: u64,
    pub step: u8,
}

/// The longitudes and latitudes a cell covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub lon: Range,
    pub lat: Range,
}

/// The 32 bits of `v` moved to the even positions of a 64-bit word (a Morton code's half).
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    x = (x | (x << 1)) & 0x5555_5555_5555_5555;
    x
}

/// The even positions of `v` gathered into 32 bits: the inverse of `spread`.
fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF;
    x as u32
}

/// Latitude index in the even bits, longitude index in the odd ones.
pub fn interleave(lat: u32, lon: u32) -> u64 {
    spread(lat) | (spread(lon) << 1)
}

/// (latitude index, longitude index) of all 64 bits.
pub fn deinterleave(bits: u64) -> (u32, u32) {
    (squash(bits), squash(bits >> 1))
}

/// The cell at `step` holding a position, over the given ranges; `None` outside the Mercator
/// limits or the ranges (Redis's `geohashEncode`).
pub fn encode(lon_range: Range, lat_range: Range, lon: f64, lat: f64, step: u8) -> Option<Cell> {
    if step == 0 || step > 32 || lat_range.is_zero() || lon_range.is_zero() {
        return None;
    }
    // The argument parser refuses NaN, and a decoded position is never NaN.
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_range.min || lat > lat_range.max || lon < lon_range.min || lon > lon_range.max {
        return None;
    }
    let cells = (1u64 << step) as f64;
    let lat_offset = (lat - lat_range.min) / (lat_range.max - lat_range.min) * cells;
    let lon_offset = (lon - lon_range.min) / (lon_range.max - lon_range.min) * cells;
    // C converts the offsets to `uint32_t` by truncation; at the top of a range the offset is
    // 2^step itself, one bit above the cell (Redis stores that bit too).
    Some(Cell {
        bits: interleave(lat_offset as u32, lon_offset as u32),
        step,
    })
}

/// The area a cell covers (Redis's `geohashDecode`). All 64 bits are read, whatever the step, so
/// a score above 2^52 decodes (far) outside the ranges, as in Redis.
pub fn decode(cell: Cell, lon_range: Range, lat_range: Range) -> Area {
    let (lat_index, lon_index) = deinterleave(cell.bits);
    let cells = (1u64 << cell.step) as f64;
    let lat_scale = lat_range.max - lat_range.min;
    let lon_scale = lon_range.max - lon_range.min;
    // The upper edge's index is computed in 32 bits and wraps to 0, as C's `uint32_t + 1` does.
    let edge = |min: f64, index: u32, scale: f64| min + (f64::from(index) / cells) * scale;
    Area {
        lat: Range {
            min: edge(lat_range.min, lat_index, lat_scale),
            max: edge(lat_range.min, lat_index.wrapping_add(1), lat_scale),
        },
        lon: Range {
            min: edge(lon_range.min, lon_index, lon_scale),
            max: edge(lon_range.min, lon_index.wrapping_add(1), lon_scale),
        },
    }
}

/// The centre of an area, clamped to the Mercator limits: (longitude, latitude).
pub fn center(area: &Area) -> (f64, f64) {
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The score GEOADD stores for a valid position (already checked against the limits).
pub fn score_of(lon: f64, lat: f64) -> u64 {
    encode(LON_RANGE, LAT_RANGE, lon, lat, STEP_MAX).map_or(0, align52)
}

/// C's `(uint64_t)score` as gcc compiles it for x86-64, which is how Redis reads a score back
/// into bits. Below 2^63 (and for NaN) the truncating signed conversion, whose out-of-range result
/// is `i64::MIN`; from 2^63 the same after subtracting 2^63, with the top bit flipped back. So
/// -1 reads as all ones, -inf as the top bit alone, and +inf or 1e300 as 0.
pub fn score_bits(score: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    fn truncate(x: f64) -> u64 {
        if x.is_nan() || !(-TWO_63..TWO_63).contains(&x) {
            i64::MIN as u64
        } else {
            x as i64 as u64
        }
    }
    if score >= TWO_63 {
        truncate(score - TWO_63) ^ (1 << 63)
    } else {
        truncate(score)
    }
}

/// The position a member's score stands for: (longitude, latitude), the centre of its cell.
pub fn position_of(score: f64) -> (f64, f64) {
    let cell = Cell {
        bits: score_bits(score),
        step: STEP_MAX,
    };
    center(&decode(cell, LON_RANGE, LAT_RANGE))
}

/// The cell's bits as the top of a 52-bit score.
pub fn align52(cell: Cell) -> u64 {
    cell.bits << (52 - 2 * u32::from(cell.step))
}

/// Scores `[min, max)` of the members inside a cell.
pub fn score_range(cell: Cell) -> (u64, u64) {
    let next = Cell {
        bits: cell.bits + 1,
        step: cell.step,
    };
    (align52(cell), align52(next))
}

/// The cell `dlon` columns east and `dlat` rows north of `cell`. The grid wraps around at its
/// edges, as Redis's bit arithmetic does (moving east of the last column lands in the first).
/// A coordinate that does not move is left as it is: a centre on the 180th meridian (or on the
/// top latitude) encodes one column (row) past the grid, and so do its north and south (east and
/// west) neighbours, whose score ranges then lie above every score. Redis reads those empty
/// ranges too, and finds nothing in them.
fn moved(cell: Cell, dlon: i64, dlat: i64) -> Cell {
    let (lat, lon) = deinterleave(cell.bits);
    let mask = (1u64 << cell.step) - 1;
    let shift = |index: u32, by: i64| match by {
        0 => index,
        _ => (u64::from(index).wrapping_add_signed(by) & mask) as u32,
    };
    Cell {
        bits: interleave(shift(lat, dlat), shift(lon, dlon)),
        step: cell.step,
    }
}

/// The eight cells around `cell`, in the order the search visits them: north, south, east, west,
/// north-east, north-west, south-east, south-west.
pub fn neighbours(cell: Cell) -> [Cell; 8] {
    [
        moved(cell, 0, 1),
        moved(cell, 0, -1),
        moved(cell, 1, 0),
        moved(cell, -1, 0),
        moved(cell, 1, 1),
        moved(cell, -1, 1),
        moved(cell, 1, -1),
        moved(cell, -1, -1),
    ]
}

/// The standard 11-character geohash of a member's position (GEOHASH): the position is decoded
/// from the score and encoded again over latitude -90..90, since scores use the Mercator range.
/// 52 bits make ten characters and a half; the eleventh is always '0', as in Redis.
pub fn geohash_string(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = position_of(score);
    let bits = encode(LON_RANGE, STANDARD_LAT_RANGE, lon, lat, STEP_MAX).map_or(0, |c| c.bits);
    let mut text = [b'0'; 11];
    for (i, c) in text.iter_mut().take(10).enumerate() {
        let index = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[index as usize];
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (lat, lon) in [
            (0, 0),
            (1, 0),
            (0, 1),
            (u32::MAX, 0),
            (0x0123_4567, 0x89ab_cdef),
        ] {
            assert_eq!(deinterleave(interleave(lat, lon)), (lat, lon));
        }
        assert_eq!(interleave(1, 0), 1);
        assert_eq!(interleave(0, 1), 2);
        assert_eq!(interleave(0b11, 0b10), 0b1101);
    }

    /// Scores and positions redis-server 7.0.15 gave for the same GEOADDs and GEOPOS.
    #[test]
    fn scores_and_positions_as_redis() {
        assert_eq!(score_of(13.361389, 38.115556), 3_479_099_956_230_698);
        assert_eq!(score_of(0.0, 0.0), 3_377_699_720_527_872);
        assert_eq!(score_of(-180.0, -85.05112878), 0);
        // The top edge sets the bits above the 52 (2^52 + 2^53 + ...).
        assert_eq!(score_of(180.0, 85.05112878), 13_510_798_882_111_488);
        let (lon, lat) = position_of(3_479_099_956_230_698.0);
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
        assert_eq!(position_of(13_510_798_882_111_488.0), (180.0, LAT_MAX));
    }

    #[test]
    fn scores_no_geoadd_wrote_decode_as_redis() {
        assert_eq!(score_bits(-1.0), u64::MAX);
        assert_eq!(score_bits(1.5), 1);
        assert_eq!(score_bits(f64::INFINITY), 0);
        assert_eq!(score_bits(1e300), 0);
        assert_eq!(score_bits(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(score_bits(9_223_372_036_854_775_808.0), 1 << 63);
        // Redis's GEOPOS for these scores.
        assert_eq!(position_of(-1.0), (180.0, LAT_MAX));
        assert_eq!(position_of(f64::NEG_INFINITY).0, 180.0);
        assert_eq!(
            format!("{:.17}", position_of(f64::INFINITY).1),
            "-85.05112751263942528"
        );
        assert_eq!(
            format!("{:.17}", position_of(1.5).1),
            "-85.05112497791824921"
        );
    }

    #[test]
    fn geohash_strings_as_redis() {
        assert_eq!(&geohash_string(3_479_099_956_230_698.0), b"sqc8b49rny0");
        assert_eq!(&geohash_string(0.0), b"00bh0hbj200");
        assert_eq!(&geohash_string(3_377_699_720_527_872.0), b"s0000000000");
        assert_eq!(&geohash_string(13_510_798_882_111_488.0), b"bp05b5048p0");
        assert_eq!(&geohash_string(1.5), b"00bh0hbj210");
    }

    #[test]
    fn decode_contains_the_encoded_position() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let lon = (seed >> 11) as f64 / (1u64 << 53) as f64 * 360.0 - 180.0;
            let lat = ((seed << 7) >> 11) as f64 / (1u64 << 53) as f64 * 170.0 - 85.0;
            let cell = encode(LON_RANGE, LAT_RANGE, lon, lat, STEP_MAX).unwrap();
            let area = decode(cell, LON_RANGE, LAT_RANGE);
            assert!(area.lon.min <= lon && lon <= area.lon.max, "{lon}");
            assert!(area.lat.min <= lat && lat <= area.lat.max, "{lat}");
            let (dlon, dlat) = position_of(align52(cell) as f64);
            assert!((dlon - lon).abs() < 1e-5 && (dlat - lat).abs() < 1e-5);
        }
    }

    #[test]
    fn neighbours_wrap_around_the_grid() {
        let corner = encode(LON_RANGE, LAT_RANGE, -179.9, -85.0, 2).unwrap();
        assert_eq!(deinterleave(corner.bits), (0, 0));
        let around = neighbours(corner);
        assert_eq!(deinterleave(around[0].bits), (1, 0)); // north
        assert_eq!(deinterleave(around[1].bits), (3, 0)); // south wraps to the top row
        assert_eq!(deinterleave(around[2].bits), (0, 1)); // east
        assert_eq!(deinterleave(around[3].bits), (0, 3)); // west wraps to the last column
        assert_eq!(deinterleave(around[7].bits), (3, 3)); // south-west
        assert_eq!(score_range(Cell { bits: 15, step: 2 }), (15 << 48, 1 << 52));
        // On the 180th meridian the centre is one column past the grid: moving north keeps it
        // there, moving east wraps to the first column.
        let edge = encode(LON_RANGE, LAT_RANGE, 180.0, 0.0, 2).unwrap();
        assert_eq!(deinterleave(edge.bits), (2, 4));
        assert_eq!(deinterleave(neighbours(edge)[0].bits), (3, 4));
        assert_eq!(deinterleave(neighbours(edge)[2].bits), (2, 1));
    }

    #[test]
    fn out_of_limits_positions_do_not_encode() {
        assert!(encode(LON_RANGE, LAT_RANGE, 180.1, 0.0, STEP_MAX).is_none());
        assert!(encode(LON_RANGE, LAT_RANGE, 0.0, -85.06, STEP_MAX).is_none());
        assert!(encode(LON_RANGE, LAT_RANGE, 0.0, 0.0, 0).is_none());
    }
}
