//! The search geometry of GEOSEARCH and GEORADIUS (Redis's `geohash_helper.c`): distances on the
//! sphere, the grid step for a search radius, and the nine cells whose score ranges hold every
//! candidate. Pure arithmetic, in Redis's order of double operations and with the same libm calls
//! (`sin`, `cos`, `asin` of the C library both processes load), so a distance is Redis's to the
//! last bit and a point on the edge of a radius falls on the same side.
//!
//! Cost: a search reads at most nine score ranges; each member in them costs one decode and one
//! or two haversines. The step is chosen so the nine cells cover the shape's bounding box, which
//! keeps the candidates within a few times the answer.

use super::hash::{self, Cell, LAT_RANGE, LON_RANGE};

/// The Earth's quadratic mean radius in metres (WGS-84), Redis's constant.
pub const EARTH_RADIUS_M: f64 = 6372797.560856;
/// Half the Earth's circumference in Web Mercator metres: the widest a cell can be.
const MERCATOR_MAX: f64 = 20037726.37;
/// Radians per degree (`M_PI / 180`).
const DEG_TO_RAD: f64 = std::f64::consts::PI / 180.0;

/// Redis's comparison of two distances when it sorts results: 1 when `a` is farther, 0 when
/// equal, -1 otherwise (NaN on either side included, so it is not a total order).
pub fn compare(a: f64, b: f64) -> i32 {
    if a > b {
        1
    } else if a == b {
        0
    } else {
        -1
    }
}

fn deg_rad(degrees: f64) -> f64 {
    degrees * DEG_TO_RAD
}

fn rad_deg(radians: f64) -> f64 {
    radians / DEG_TO_RAD
}

/// Metres between two latitudes on one meridian.
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Great-circle distance in metres (haversine). Near-antipodal points can round the haversine
/// term past 1, where `asin` gives NaN: Redis keeps such a point (NaN is not above any radius)
/// and prints its NaN distance, and so do we.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    // Same meridian: the latitude difference alone (and no trigonometry).
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// The grid step whose cells are about as wide as the search (Redis's
/// `geohashEstimateStepsByRadius`): each halving of the cell width below the Mercator width is
/// one step, less two for margin, less one or two more towards the poles where meridians close in.
pub fn estimate_step(range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return hash::STEP_MAX;
    }
    let mut range = range_m;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, i32::from(hash::STEP_MAX)) as u8
}

/// What a search covers around its centre, in the unit of the request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Circle { radius: f64 },
    Rect { width: f64, height: f64 },
}

/// A search: centre, shape, and the unit's size in metres (`conversion`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Search {
    pub lon: f64,
    pub lat: f64,
    pub shape: Shape,
    pub unit_m: f64,
}

/// Longitude and latitude bounds of a search's bounding box.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    min_lon: f64,
    min_lat: f64,
    max_lon: f64,
    max_lat: f64,
}

impl Search {
    /// The bounding box (Redis's `geohashBoundingBox`). A box's sides bend towards the pole, so
    /// its widest longitude span is taken at the edge nearer the equator.
    fn bounds(&self) -> Bounds {
        let (half_height, half_width) = match self.shape {
            Shape::Circle { radius } => (radius, radius),
            Shape::Rect { width, height } => (height / 2.0, width / 2.0),
        };
        let height = self.unit_m * half_height;
        let width = self.unit_m * half_width;
        let lat_delta = rad_deg(height / EARTH_RADIUS_M);
        let lon_delta_top = rad_deg(width / EARTH_RADIUS_M / deg_rad(self.lat + lat_delta).cos());
        let lon_delta_bottom =
            rad_deg(width / EARTH_RADIUS_M / deg_rad(self.lat - lat_delta).cos());
        let lon_delta = if self.lat < 0.0 {
            lon_delta_bottom
        } else {
            lon_delta_top
        };
        Bounds {
            min_lon: self.lon - lon_delta,
            max_lon: self.lon + lon_delta,
            min_lat: self.lat - lat_delta,
            max_lat: self.lat + lat_delta,
        }
    }

    /// Metres from the centre to the farthest point of the shape (a box's corner).
    fn reach_m(&self) -> f64 {
        let reach = match self.shape {
            Shape::Circle { radius } => radius,
            Shape::Rect { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        };
        reach * self.unit_m
    }

    /// The cells to read, in Redis's order: the centre's cell, then north, south, east, west,
    /// north-east, north-west, south-east, south-west; `None` for a neighbour the bounding box does
    /// not reach (Redis's `geohashCalculateAreasByShapeWGS84`).
    pub fn cells(&self) -> [Option<Cell>; 9] {
        let bounds = self.bounds();
        let mut step = estimate_step(self.reach_m(), self.lat);
        let encode = |step| hash::encode(LON_RANGE, LAT_RANGE, self.lon, self.lat, step);
        let decode = |cell| hash::decode(cell, LON_RANGE, LAT_RANGE);
        // The centre is always within the limits (checked, or decoded from a score).
        let Some(mut cell) = encode(step) else {
            return [None; 9];
        };
        let mut around = hash::neighbours(cell);
        // Near a cell's edge the estimated step can leave part of the box outside the nine
        // cells: one step coarser then.
        let [north, south, east, west] = [around[0], around[1], around[2], around[3]].map(decode);
        let too_fine = north.lat.max < bounds.max_lat
            || south.lat.min > bounds.min_lat
            || east.lon.max < bounds.max_lon
            || west.lon.min > bounds.min_lon;
        if step > 1 && too_fine {
            step -= 1;
            if let Some(coarser) = encode(step) {
                cell = coarser;
                around = hash::neighbours(cell);
            }
        }
        let mut cells = [Some(cell); 9];
        for (slot, neighbour) in cells[1..].iter_mut().zip(around) {
            *slot = Some(neighbour);
        }
        // Neighbours wholly outside the bounding box are skipped (not at step 1, where the grid
        // is two by two and every cell is a neighbour).
        if step >= 2 {
            const SOUTHERN: [usize; 3] = [2, 7, 8];
            const NORTHERN: [usize; 3] = [1, 5, 6];
            const EASTERN: [usize; 3] = [3, 5, 7];
            const WESTERN: [usize; 3] = [4, 6, 8];
            let area = decode(cell);
            let mut drop = |side: [usize; 3], beyond: bool| {
                if beyond {
                    for i in side {
                        cells[i] = None;
                    }
                }
            };
            drop(SOUTHERN, area.lat.min < bounds.min_lat);
            drop(NORTHERN, area.lat.max > bounds.max_lat);
            drop(WESTERN, area.lon.min < bounds.min_lon);
            drop(EASTERN, area.lon.max > bounds.max_lon);
        }
        cells
    }

    /// Whether the point at (`lon`, `lat`) is inside the shape, and its distance from the centre
    /// in metres (Redis's `geoWithinShape`).
    pub fn distance_within(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.shape {
            Shape::Circle { radius } => {
                let d = distance(self.lon, self.lat, lon, lat);
                // Only a distance beyond the radius is out: a NaN one is kept, as in Redis.
                match d.partial_cmp(&(radius * self.unit_m)) {
                    Some(std::cmp::Ordering::Greater) => None,
                    _ => Some(d),
                }
            }
            Shape::Rect { width, height } => {
                let (width_m, height_m) = (width * self.unit_m, height * self.unit_m);
                // The latitude test first: it costs no trigonometry.
                if lat_distance(lat, self.lat) > height_m / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > width_m / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GEODIST`s redis-server 7.0.15 answered (`%.4f` of metres).
    #[test]
    fn distances_as_redis() {
        let palermo = hash::position_of(3_479_099_956_230_698.0);
        let origin = hash::position_of(3_377_699_720_527_872.0);
        let d = distance(origin.0, origin.1, palermo.0, palermo.1);
        assert_eq!(format!("{:.4}", d / 1000.0), "4454.7330");
        let top = hash::position_of(13_510_798_882_111_488.0);
        let bottom = hash::position_of(0.0);
        assert_eq!(
            format!("{:.4}", distance(top.0, top.1, bottom.0, bottom.1)),
            "18919844.5891"
        );
        // One meridian: no trigonometry, the latitude difference alone.
        assert_eq!(distance(10.0, 0.0, 10.0, 1.0), lat_distance(0.0, 1.0));
        assert_eq!(distance(10.0, 0.0, 10.0, 0.0), 0.0);
    }

    #[test]
    fn steps_follow_the_radius() {
        assert_eq!(estimate_step(0.0, 0.0), 26);
        assert_eq!(estimate_step(1.0, 0.0), 24);
        assert_eq!(estimate_step(1000.0, 0.0), 14);
        assert_eq!(estimate_step(1000.0, 70.0), 13);
        assert_eq!(estimate_step(1000.0, -81.0), 12);
        assert_eq!(estimate_step(1e9, 0.0), 1);
        assert_eq!(estimate_step(f64::INFINITY, 0.0), 1);
        assert_eq!(estimate_step(1e-300, 0.0), 26);
    }

    #[test]
    fn nine_cells_cover_the_bounding_box() {
        let search = Search {
            lon: 13.361389,
            lat: 38.115556,
            shape: Shape::Circle { radius: 200.0 },
            unit_m: 1000.0,
        };
        let cells = search.cells();
        let step = cells[0].unwrap().step;
        assert!(step < estimate_step(200_000.0, 38.0) + 1);
        let bounds = search.bounds();
        let covered: Vec<_> = cells
            .iter()
            .flatten()
            .map(|&c| hash::decode(c, LON_RANGE, LAT_RANGE))
            .collect();
        let lowest = covered.iter().map(|a| a.lat.min).fold(f64::MAX, f64::min);
        let highest = covered.iter().map(|a| a.lat.max).fold(f64::MIN, f64::max);
        assert!(lowest <= bounds.min_lat && highest >= bounds.max_lat);
    }

    #[test]
    fn boxes_test_each_axis() {
        let search = Search {
            lon: 0.0,
            lat: 0.0,
            shape: Shape::Rect {
                width: 200.0,
                height: 100.0,
            },
            unit_m: 1000.0,
        };
        assert!(search.distance_within(0.8, 0.0).is_some());
        assert!(search.distance_within(0.0, 0.8).is_none());
        assert!(search.distance_within(0.0, 0.4).is_some());
        assert!(search.distance_within(1.0, 0.0).is_none());
    }
}
