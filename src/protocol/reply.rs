//! Reply encoding for RESP2 and RESP3. Handlers write straight into the connection's output buffer
//! through `ReplyBuf`, so a reply costs no intermediate allocation; the type of each frame is chosen
//! here from the connection's protocol version (a map is `%` in RESP3 and a flat array in RESP2).

use bytes::BytesMut;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Resp2,
    Resp3,
}

pub struct ReplyBuf {
    pub buf: BytesMut,
    pub protocol: Protocol,
}

impl ReplyBuf {
    pub fn new(protocol: Protocol) -> Self {
        ReplyBuf {
            buf: BytesMut::with_capacity(16 * 1024),
            protocol,
        }
    }

    pub fn is_resp3(&self) -> bool {
        self.protocol == Protocol::Resp3
    }

    fn header(&mut self, kind: u8, n: i64) {
        self.buf.extend_from_slice(&[kind]);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A status reply. A CR or LF would end the frame early, so each becomes a space.
    pub fn simple(&mut self, s: &str) {
        self.line(b'+', s.as_bytes());
    }

    /// `msg` carries its code (`ERR ...`, `WRONGTYPE ...`). Newlines are replaced by spaces, as Redis
    /// does, because they would break the frame.
    pub fn error(&mut self, msg: &str) {
        self.line(b'-', msg.as_bytes());
    }

    /// An error whose text is not UTF-8 (Redis echoes client bytes raw in some errors).
    pub fn error_bytes(&mut self, msg: &[u8]) {
        self.line(b'-', msg);
    }

    fn line(&mut self, kind: u8, text: &[u8]) {
        self.buf.extend_from_slice(&[kind]);
        self.buf.extend(
            text.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_int(&mut self, n: i64) {
        self.bulk(itoa::Buffer::new().format(n).as_bytes());
    }

    /// A null bulk string: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        match self.protocol {
            Protocol::Resp2 => self.buf.extend_from_slice(b"$-1\r\n"),
            Protocol::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// A null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        match self.protocol {
            Protocol::Resp2 => self.buf.extend_from_slice(b"*-1\r\n"),
            Protocol::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    pub fn array(&mut self, len: usize) {
        self.header(b'*', len as i64);
    }

    /// A map of `len` pairs; the caller writes 2×`len` elements.
    pub fn map(&mut self, len: usize) {
        match self.protocol {
            Protocol::Resp2 => self.header(b'*', 2 * len as i64),
            Protocol::Resp3 => self.header(b'%', len as i64),
        }
    }

    pub fn set(&mut self, len: usize) {
        match self.protocol {
            Protocol::Resp2 => self.header(b'*', len as i64),
            Protocol::Resp3 => self.header(b'~', len as i64),
        }
    }

    /// An out-of-band push frame (`>` in RESP3; a plain array in RESP2, as pub/sub messages are).
    pub fn push(&mut self, len: usize) {
        match self.protocol {
            Protocol::Resp2 => self.header(b'*', len as i64),
            Protocol::Resp3 => self.header(b'>', len as i64),
        }
    }

    pub fn boolean(&mut self, value: bool) {
        match self.protocol {
            Protocol::Resp2 => self.int(value as i64),
            Protocol::Resp3 => {
                self.buf
                    .extend_from_slice(if value { b"#t\r\n" } else { b"#f\r\n" })
            }
        }
    }

    /// A double: RESP3 `,` frame, or a bulk string in RESP2, formatted as Redis's `%.17g`.
    pub fn double(&mut self, value: f64) {
        self.double_text(&format_double(value));
    }

    /// A double as Redis's `addReplyHumanLongDouble` writes it (GEOPOS, WITHCOORD): 17 decimals
    /// without trailing zeros (`format_human`), a bulk string in RESP2, a `,` frame in RESP3.
    pub fn human_double(&mut self, value: f64) {
        self.double_text(&format_human(value));
    }

    /// A formatted double: a `,` frame in RESP3, a bulk string in RESP2.
    fn double_text(&mut self, text: &str) {
        match self.protocol {
            Protocol::Resp2 => self.bulk(text.as_bytes()),
            Protocol::Resp3 => {
                self.buf.extend_from_slice(b",");
                self.buf.extend_from_slice(text.as_bytes());
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// A verbatim string (`=` with a 3-letter format in RESP3, a bulk string in RESP2), as INFO uses.
    /// `format` is three bytes (`txt`, `mkd`): the frame length counts exactly 3 + ':'.
    pub fn verbatim(&mut self, format: &str, text: &[u8]) {
        debug_assert_eq!(format.len(), 3, "verbatim format must be three bytes");
        match self.protocol {
            Protocol::Resp2 => self.bulk(text),
            Protocol::Resp3 => {
                self.header(b'=', (text.len() + 4) as i64);
                self.buf.extend_from_slice(format.as_bytes());
                self.buf.extend_from_slice(b":");
                self.buf.extend_from_slice(text);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    pub fn big_number(&mut self, digits: &str) {
        match self.protocol {
            Protocol::Resp2 => self.bulk(digits.as_bytes()),
            Protocol::Resp3 => {
                self.buf.extend_from_slice(b"(");
                self.buf.extend_from_slice(digits.as_bytes());
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    pub fn bulks<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.array(items.len());
        for item in items {
            self.bulk(item);
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops everything written after `mark` (used by `CLIENT REPLY OFF|SKIP`).
    pub fn truncate(&mut self, mark: usize) {
        self.buf.truncate(mark);
    }
}

/// Formats a double as Redis does with `%.17g` (shortest form that round-trips when possible),
/// with `inf`, `-inf` and `nan`.
pub fn format_double(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        };
    }
    format_g17(value)
}

/// A double as Redis's `ld2string(.., LD_STR_HUMAN)` prints one: C's `%.17Lf` (the exact
/// decimal expansion rounded to 17 places, ties to even, which Rust's `{:.17}` also gives for the
/// double's exact value), trailing zeros and a trailing point removed, and `-0` written `0`.
pub fn format_human(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if value.is_nan() {
        return if value.is_sign_negative() {
            "-nan"
        } else {
            "nan"
        }
        .to_string();
    }
    let mut text = format!("{value:.17}");
    let kept = text.trim_end_matches('0').len();
    text.truncate(kept);
    if text.ends_with('.') {
        text.pop();
    }
    if text == "-0" {
        text.remove(0);
    }
    text
}

/// `%.17g`: 17 significant digits, trailing zeros removed, exponent form when the exponent is
/// below -4 or at least 17.
fn format_g17(value: f64) -> String {
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0".to_string()
        } else {
            "0".to_string()
        };
    }
    let sci = format!("{:.16e}", value);
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..17).contains(&exponent) {
        let mantissa = trim_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let decimals = (16 - exponent).max(0) as usize;
    trim_zeros(&format!("{:.*}", decimals, value)).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_like_printf_g17() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.25e-5), "1.2500000000000001e-05");
        assert_eq!(format_double(-2.5), "-2.5");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(123456789.0), "123456789");
    }

    #[test]
    fn human_doubles_like_ld2string() {
        assert_eq!(format_human(13.361389338970184), "13.36138933897018433");
        assert_eq!(format_human(180.0), "180");
        assert_eq!(format_human(-0.0), "0");
        assert_eq!(format_human(-1e-20), "0");
        assert_eq!(format_human(0.5), "0.5");
        assert_eq!(format_human(2f64.powi(-18)), "0.00000381469726562");
        assert_eq!(format_human(f64::NEG_INFINITY), "-inf");
        let mut r3 = ReplyBuf::new(Protocol::Resp3);
        r3.human_double(-85.05112878);
        assert_eq!(&r3.buf[..], b",-85.0511287799999991\r\n");
    }

    #[test]
    fn map_flattens_in_resp2() {
        let mut r2 = ReplyBuf::new(Protocol::Resp2);
        r2.map(1);
        r2.bulk(b"a");
        r2.int(1);
        assert_eq!(&r2.buf[..], b"*2\r\n$1\r\na\r\n:1\r\n");
        let mut r3 = ReplyBuf::new(Protocol::Resp3);
        r3.map(1);
        assert_eq!(&r3.buf[..], b"%1\r\n");
    }
}
