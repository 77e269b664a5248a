//! LOLWUT as Redis 7.0's `lolwut.c`, `lolwut5.c` and `lolwut6.c`: `VERSION 5` draws Georg
//! Nees's Schotter in Braille characters, `VERSION 6` a city skyline in terminal gray levels,
//! any other version (and the default, this server's) only the version line. The drawings are
//! Redis's algorithms with their own random numbers (Redis uses libc's `rand()`), so the rows
//! Redis draws without randomness (Schotter's first two) come out the same bytes.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};

/// `lwDrawSquare`'s square root of two, to ten decimals: the exact constant would move some
/// corners by a pixel.
#[allow(clippy::approx_constant)]
const REDIS_SQRT_2: f64 = 1.414_213_562_3;

/// A canvas of pixels 0..=3 (Redis's `lwCanvas`).
struct Canvas {
    width: i32,
    height: i32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: i32, height: i32, background: u8) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![background; (width * height) as usize],
        }
    }

    fn draw(&mut self, x: i32, y: i32, color: u8) {
        if x < 0 || x >= self.width || y < 0 || y >= self.height {
            return;
        }
        self.pixels[(x + y * self.width) as usize] = color;
    }

    fn get(&self, x: i32, y: i32) -> u8 {
        if x < 0 || x >= self.width || y < 0 || y >= self.height {
            return 0;
        }
        self.pixels[(x + y * self.width) as usize]
    }

    /// Bresenham, as `lwDrawLine`.
    fn line(&mut self, mut x1: i32, mut y1: i32, x2: i32, y2: i32, color: u8) {
        let dx = (x2 - x1).abs();
        let dy = (y2 - y1).abs();
        let sx = if x1 < x2 { 1 } else { -1 };
        let sy = if y1 < y2 { 1 } else { -1 };
        let mut err = dx - dy;
        loop {
            self.draw(x1, y1, color);
            if x1 == x2 && y1 == y2 {
                break;
            }
            let e2 = err * 2;
            if e2 > -dy {
                err -= dy;
                x1 += sx;
            }
            if e2 < dx {
                err += dx;
                y1 += sy;
            }
        }
    }

    /// `lwDrawSquare`: centered at x,y, rotated by `angle`, in C's float arithmetic.
    fn square(&mut self, x: i32, y: i32, size: f32, angle: f32, color: u8) {
        // C divides and adds in double and stores floats.
        let size = ((size as f64 / REDIS_SQRT_2) as f32 as f64).round();
        let mut k = (FRAC_PI_4 + angle as f64) as f32;
        let mut px = [0i32; 4];
        let mut py = [0i32; 4];
        for j in 0..4 {
            // C computes sin(k) in double from the float k, then rounds the double sum.
            px[j] = ((k as f64).sin() * size + x as f64).round() as i32;
            py[j] = ((k as f64).cos() * size + y as f64).round() as i32;
            k = (k as f64 + FRAC_PI_2) as f32;
        }
        for j in 0..4 {
            self.line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color);
        }
    }
}

/// C's `rand()`: 0..=RAND_MAX.
fn rand(rng: &mut fastrand::Rng) -> i32 {
    rng.i32(0..=i32::MAX)
}

/// `LOLWUT VERSION 5 [cols [squares_per_row [squares_per_col]]]`, arguments already clamped.
pub fn schotter(cols: i64, per_row: i64, per_col: i64, version: &str) -> Vec<u8> {
    let mut rng = fastrand::Rng::new();
    let width = (cols * 2) as i32;
    let padding = if width > 4 { 2 } else { 0 };
    let side = (width - padding * 2) as f32 / per_row as f32;
    let height = (side * per_col as f32 + (padding * 2) as f32) as i32;
    let mut canvas = Canvas::new(width, height, 0);
    for y in 0..per_col as i32 {
        for x in 0..per_row as i32 {
            let mut sx = (x as f32 * side + side / 2.0 + padding as f32) as i32;
            let mut sy = (y as f32 * side + side / 2.0 + padding as f32) as i32;
            let mut angle = 0.0f32;
            if y > 1 {
                let mut r = [0.0f32; 3];
                for v in &mut r {
                    *v = rand(&mut rng) as f32 / i32::MAX as f32 / per_col as f32 * y as f32;
                }
                for v in &mut r {
                    if rand(&mut rng) % 2 == 1 {
                        *v = -*v;
                    }
                }
                angle = r[0];
                sx = (sx as f32 + r[1] * side / 3.0) as i32;
                sy = (sy as f32 + r[2] * side / 3.0) as i32;
            }
            canvas.square(sx, sy, side, angle, 1);
        }
    }
    let mut text = braille(&canvas);
    text.extend_from_slice(b"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ");
    text.extend_from_slice(version.as_bytes());
    text.push(b'\n');
    text
}

/// Version 5's rendering: 2x4 pixels per Braille character.
fn braille(canvas: &Canvas) -> Vec<u8> {
    let mut text = Vec::new();
    let mut y = 0;
    while y < canvas.height {
        let mut x = 0;
        while x < canvas.width {
            let dots = [
                (0, 0),
                (0, 1),
                (0, 2),
                (1, 0),
                (1, 1),
                (1, 2),
                (0, 3),
                (1, 3),
            ];
            let byte = dots
                .iter()
                .enumerate()
                .filter(|(_, (dx, dy))| canvas.get(x + dx, y + dy) != 0)
                .fold(0u32, |acc, (bit, _)| acc | 1 << bit);
            let code = char::from_u32(0x2800 + byte).unwrap_or(' ');
            let mut buf = [0u8; 4];
            text.extend_from_slice(code.encode_utf8(&mut buf).as_bytes());
            x += 2;
        }
        if y != canvas.height - 1 {
            text.push(b'\n');
        }
        y += 4;
    }
    text
}

/// `LOLWUT VERSION 6 [cols [rows]]`, arguments already clamped.
pub fn skyline(cols: i64, rows: i64, version: &str) -> Vec<u8> {
    let mut rng = fastrand::Rng::new();
    let mut canvas = Canvas::new(cols as i32, rows as i32, 3);
    let h = canvas.height;
    for color in [2u8, 1] {
        let mut offset = -10;
        while offset < canvas.width {
            offset += rand(&mut rng) % 8;
            let width = 10 + rand(&mut rng) % 9;
            let height = if color == 2 {
                h / 2 + rand(&mut rng) % h / 2
            } else {
                h / 2 + rand(&mut rng) % h / 3
            };
            skyscraper(&mut canvas, &mut rng, offset, width, height, false, color);
            offset += if color == 2 { width / 2 } else { width + 1 };
        }
    }
    let mut offset = -10;
    while offset < canvas.width {
        offset += rand(&mut rng) % 8;
        let mut width = 5 + rand(&mut rng) % 14;
        if width % 4 != 0 {
            width += width % 3;
        }
        let height = h / 3 + rand(&mut rng) % h / 2;
        skyscraper(&mut canvas, &mut rng, offset, width, height, true, 0);
        offset += width + 5;
    }
    let mut text = Vec::new();
    for y in 0..canvas.height {
        for x in 0..canvas.width {
            let escape = match canvas.get(x, y) {
                1 => "0;90;100m",
                2 => "0;37;47m",
                3 => "0;97;107m",
                _ => "0;30;40m",
            };
            text.extend_from_slice(format!("\x1b[{escape} \x1b[0m").as_bytes());
        }
        if y != canvas.height - 1 {
            text.push(b'\n');
        }
    }
    text.extend_from_slice(
        b"\nDedicated to the 8 bit game developers of past and present.\nOriginal 8 bit image from Plaguemon by hikikomori. Redis ver. ",
    );
    text.extend_from_slice(version.as_bytes());
    text.push(b'\n');
    text
}

/// `generateSkyscraper`: a building from the bottom row up, its roof two pixels narrower on each
/// side, windows (two pixels wide, one tall) in the other grays.
fn skyscraper(
    canvas: &mut Canvas,
    rng: &mut fastrand::Rng,
    xoff: i32,
    width: i32,
    height: i32,
    windows: bool,
    color: u8,
) {
    let start_y = canvas.height - 1;
    let end_y = start_y - height + 1;
    let mut y = start_y;
    while y >= end_y {
        for x in xoff..xoff + width {
            if y == end_y && (x <= xoff + 1 || x >= xoff + width - 2) {
                continue;
            }
            let mut pixel = color;
            if windows && x > xoff + 1 && x < xoff + width - 2 && y > end_y + 1 && y < start_y - 1 {
                let relx = x - (xoff + 1);
                let rely = y - (end_y + 1);
                if (relx / 2) % 2 != 0 && rely % 2 != 0 {
                    loop {
                        pixel = (1 + rand(rng) % 2) as u8;
                        if pixel != color {
                            break;
                        }
                    }
                    if relx % 2 != 0 {
                        pixel = canvas.get(x - 1, y);
                    }
                }
            }
            canvas.draw(x, y, pixel);
        }
        y -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schotter_without_random_rows_is_redis_drawing() {
        // LOLWUT VERSION 5 4 1 1 on redis-server 7.0: one square, no randomness.
        let text = schotter(4, 1, 1, "7.0.15");
        let text = String::from_utf8(text).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("⠀⡤⠤⡄"));
        assert_eq!(lines.next(), Some("⠀⠧⠤⠇"));
        assert_eq!(lines.next(), Some(""));
        assert_eq!(
            lines.next(),
            Some("Georg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15")
        );
    }
}
