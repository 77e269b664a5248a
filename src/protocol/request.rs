//! Resumable request parser: RESP multibulk (`*N\r\n$L\r\n...`) and inline (`PING\r\n`) requests,
//! following Redis 7's `processMultibulkBuffer`/`processInlineBuffer` byte for byte, quirks included,
//! because clients and proxies are tested against that behaviour:
//! - a header line ends at its first `\r`, and the byte after it is skipped unchecked (as is the
//!   CRLF after bulk data); an inline line ends at its first `\n`, with one `\r` before it dropped;
//! - Redis searches lines with `strchr`, so a NUL byte before the terminator hides it: the request
//!   then never completes and fails only when the line grows past `MAX_INLINE_BYTES`;
//! - the 64 KiB line limit applies while the terminator has not arrived, so a longer line that
//!   arrives whole is accepted (and then fails to parse as a number, if it is a header).
//!
//! The parser keeps its position between calls: bulk data is never rescanned, and a line search
//! resumes where the previous one stopped, so a request trickling in byte by byte costs O(n), not
//! O(n²). Arguments of multibulk requests are `Bytes` slices of the connection's read buffer (no
//! copy). Every length is checked against the limits before anything is reserved for it.

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline request or `*`/`$` header line, as Redis's `PROTO_INLINE_MAX_SIZE`.
pub const MAX_INLINE_BYTES: usize = 64 * 1024;
/// Bulk arguments at least this long get their length reserved up front, as Redis's
/// `PROTO_MBULK_BIG_ARG`, so a large value is not copied on every buffer growth.
const BIG_ARG_BYTES: usize = 32 * 1024;
/// Cap on that up-front reservation: a client may claim 512 MiB in a header and never send it.
/// Beyond this the buffer grows by doubling as the bytes really arrive (amortised O(n) copies).
const MAX_BULK_PREALLOC_BYTES: usize = 1024 * 1024;
/// Never pre-allocate more argument slots than this from a client's claimed count.
const MAX_PREALLOCATED_ARGS: usize = 1024;
/// Redis's limits for a client that has not authenticated yet (`authRequired`).
const UNAUTHENTICATED_MAX_ARGS: i64 = 10;
const UNAUTHENTICATED_MAX_BULK_BYTES: i64 = 16384;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `proto-max-bulk-len`
    pub max_bulk_len: usize,
    /// `proto-max-multibulk-len`
    pub max_multibulk_len: usize,
    /// When true, at most 10 arguments of at most 16 KiB are accepted (Redis's unauthenticated
    /// client rule).
    pub unauthenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
            unauthenticated: false,
        }
    }
}

/// A protocol violation. The connection replies Redis's `-ERR Protocol error: ...` (the text is in
/// `error.rs`) and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    TooBigInline,
    UnbalancedQuotes,
    TooBigMultibulkCount,
    InvalidMultibulkLength,
    UnauthenticatedMultibulkLength,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLength,
    UnauthenticatedBulkLength,
}

/// Where the parser stands inside a partially received multibulk request.
#[derive(Debug, Default)]
struct Pending {
    /// Arguments still expected.
    remaining: usize,
    /// Length of the bulk whose `$` header has been read, if any.
    bulk_len: Option<usize>,
    /// Bytes of the buffer already consumed by this request.
    pos: usize,
}

#[derive(Debug, Default)]
pub struct RequestParser {
    pending: Option<Pending>,
    /// The argument spans (start, end) of the request being received, relative to the buffer
    /// start: kept from one request to the next, so a request costs no allocation of its own.
    spans: Vec<(usize, usize)>,
    /// How far past the start of the line being searched (`*`/`$` header or inline request) a
    /// previous call already looked without finding its end.
    scanned: usize,
}

/// Result of looking for the end of a line the way `strchr` does.
enum Line {
    /// The terminator is at this absolute index.
    At(usize),
    /// Not (yet) found; `scanned` bytes from the line start contain no terminator.
    Missing,
}

impl RequestParser {
    pub fn new() -> Self {
        RequestParser::default()
    }

    /// Bytes of the read buffer that belong to a multibulk request still being received.
    pub fn is_mid_request(&self) -> bool {
        self.pending.is_some()
    }

    /// Parses the next complete request from the front of `buf` into `args` (cleared first).
    /// Returns `Ok(true)` with the request consumed from `buf`, `Ok(false)` when more bytes are
    /// needed (the progress is kept; `buf` may only grow at its end until the next call), or the
    /// protocol error to answer with. After an error the parser state is unspecified: the
    /// connection is to be closed.
    /// Empty requests (`*0`, `*-1`, blank inline lines) are consumed silently and skipped.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        args: &mut Vec<Bytes>,
    ) -> Result<bool, ProtocolError> {
        args.clear();
        loop {
            if self.pending.is_none() {
                match buf.first() {
                    None => return Ok(false),
                    Some(b'*') => {
                        let Some(count) = self.multibulk_count(buf, limits)? else {
                            return Ok(false);
                        };
                        let Some(count) = usize::try_from(count).ok().filter(|&c| c > 0) else {
                            continue;
                        };
                        self.spans.clear();
                        self.spans.reserve(count.min(MAX_PREALLOCATED_ARGS));
                        self.pending = Some(Pending {
                            remaining: count,
                            bulk_len: None,
                            pos: 0,
                        });
                    }
                    Some(_) => match self.inline(buf, args)? {
                        InlineOutcome::Incomplete => return Ok(false),
                        InlineOutcome::Empty => continue,
                        InlineOutcome::Request => return Ok(true),
                    },
                }
            }
            let Some(pending) = self.pending.as_mut() else {
                continue;
            };
            if !advance_multibulk(pending, &mut self.spans, &mut self.scanned, buf, limits)? {
                return Ok(false);
            }
            let Some(done) = self.pending.take() else {
                continue;
            };
            let mut frozen = buf.split_to(done.pos).freeze();
            // Every argument but the last is a new reference to the request's bytes; the last
            // takes over `frozen`'s own (one reference count fewer to take and drop).
            if let Some((&(start, end), rest)) = self.spans.split_last() {
                args.extend(rest.iter().map(|&(start, end)| frozen.slice(start..end)));
                frozen.truncate(end);
                frozen.advance(start);
                args.push(frozen);
            }
            if self.spans.capacity() > MAX_PREALLOCATED_ARGS {
                // A huge request does not leave its spans' memory with the connection.
                self.spans = Vec::new();
            }
            return Ok(true);
        }
    }

    /// Reads the `*<count>` line at the front of `buf`. `Ok(None)` means it is incomplete; on
    /// success the line is consumed from `buf`.
    fn multibulk_count(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<i64>, ProtocolError> {
        let end = match header_end(buf, 0, &mut self.scanned) {
            Line::At(end) => end,
            Line::Missing if buf.len() > MAX_INLINE_BYTES => {
                return Err(ProtocolError::TooBigMultibulkCount)
            }
            Line::Missing => return Ok(None),
        };
        self.scanned = 0;
        let count = buf
            .get(1..end)
            .and_then(parse_i64)
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        if count > i32::MAX as i64
            || count > i64::try_from(limits.max_multibulk_len).unwrap_or(i64::MAX)
        {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        if count > UNAUTHENTICATED_MAX_ARGS && limits.unauthenticated {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        buf.advance(end + 2);
        Ok(Some(count))
    }

    fn inline(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
    ) -> Result<InlineOutcome, ProtocolError> {
        let newline = match find_before_nul(buf, 0, b'\n', &mut self.scanned) {
            Line::At(newline) => newline,
            Line::Missing if buf.len() > MAX_INLINE_BYTES => {
                return Err(ProtocolError::TooBigInline)
            }
            Line::Missing => return Ok(InlineOutcome::Incomplete),
        };
        self.scanned = 0;
        let line_end = if newline > 0 && buf.get(newline - 1) == Some(&b'\r') {
            newline - 1
        } else {
            newline
        };
        let parts = buf
            .get(..line_end)
            .and_then(split_args)
            .ok_or(ProtocolError::UnbalancedQuotes)?;
        buf.advance(newline + 1);
        if parts.is_empty() {
            return Ok(InlineOutcome::Empty);
        }
        args.extend(parts.into_iter().map(Bytes::from));
        Ok(InlineOutcome::Request)
    }
}

/// Reads as many `$len\r\n<bytes>\r\n` arguments as the buffer holds. True when all have arrived.
fn advance_multibulk(
    p: &mut Pending,
    spans: &mut Vec<(usize, usize)>,
    scanned: &mut usize,
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<bool, ProtocolError> {
    while p.remaining > 0 {
        let len = match p.bulk_len {
            Some(len) => len,
            None => {
                let end = match header_end(buf, p.pos, scanned) {
                    Line::At(end) => end,
                    Line::Missing if buf.len() - p.pos > MAX_INLINE_BYTES => {
                        return Err(ProtocolError::TooBigBulkCount)
                    }
                    Line::Missing => return Ok(false),
                };
                *scanned = 0;
                let header = buf.get(p.pos..end).unwrap_or_default();
                match header.first() {
                    Some(b'$') => {}
                    // `end > p.pos` here, unless the line is empty: then Redis reports the '\r'.
                    Some(&c) => return Err(ProtocolError::ExpectedDollar(c)),
                    None => return Err(ProtocolError::ExpectedDollar(b'\r')),
                }
                let len = header
                    .get(1..)
                    .and_then(parse_i64)
                    .ok_or(ProtocolError::InvalidBulkLength)?;
                if len < 0 || len as u64 > limits.max_bulk_len as u64 {
                    return Err(ProtocolError::InvalidBulkLength);
                }
                if len > UNAUTHENTICATED_MAX_BULK_BYTES && limits.unauthenticated {
                    return Err(ProtocolError::UnauthenticatedBulkLength);
                }
                let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
                p.pos = end + 2;
                p.bulk_len = Some(len);
                if len >= BIG_ARG_BYTES {
                    let wanted = (p.pos + len + 2).min(p.pos + MAX_BULK_PREALLOC_BYTES);
                    if buf.capacity() < wanted {
                        buf.reserve(wanted - buf.len());
                    }
                }
                len
            }
        };
        let Some(stop) = p.pos.checked_add(len).and_then(|n| n.checked_add(2)) else {
            return Err(ProtocolError::InvalidBulkLength);
        };
        if buf.len() < stop {
            return Ok(false);
        }
        spans.push((p.pos, p.pos + len));
        p.pos = stop;
        p.bulk_len = None;
        p.remaining -= 1;
    }
    Ok(true)
}

/// The end of a `*`/`$` header line starting at `start`: its first `\r`, provided one more byte
/// (taken to be the `\n`, unchecked, as Redis does) has arrived.
fn header_end(buf: &[u8], start: usize, scanned: &mut usize) -> Line {
    match find_before_nul(buf, start, b'\r', scanned) {
        Line::At(cr) if cr + 1 < buf.len() => Line::At(cr),
        Line::At(cr) => {
            // Found, but the byte after it is still on its way: look here again next time.
            *scanned = cr - start;
            Line::Missing
        }
        Line::Missing => Line::Missing,
    }
}

/// `strchr(buf + start, byte)` over a buffer that is not NUL-terminated: the first `byte` from
/// `start`, unless a NUL comes first (then it is never found, however much more arrives).
fn find_before_nul(buf: &[u8], start: usize, byte: u8, scanned: &mut usize) -> Line {
    let from = start.saturating_add(*scanned);
    let Some(rest) = buf.get(from..) else {
        return Line::Missing;
    };
    match rest.iter().position(|&b| b == byte || b == 0) {
        Some(at) if rest.get(at) == Some(&byte) => Line::At(from + at),
        Some(at) => {
            // A NUL hides every later terminator; park the search on it.
            *scanned = from + at - start;
            Line::Missing
        }
        None => {
            *scanned = buf.len() - start;
            Line::Missing
        }
    }
}

enum InlineOutcome {
    Incomplete,
    Empty,
    Request,
}

/// C's `isspace` in the "C" locale, which `sdssplitargs` uses (it includes `\v`, unlike
/// `u8::is_ascii_whitespace`).
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits a line into arguments with the rules of Redis's `sdssplitargs`: whitespace separates,
/// "double quotes" take `\n \r \t \b \a \xHH` escapes (any other escaped byte stands for itself),
/// 'single quotes' take only `\'`, and a closing quote must be followed by whitespace or the end.
/// As in C, the line ends at its first NUL byte. `None` means unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => line.get(..nul).unwrap_or_default(),
        None => line,
    };
    // Reading past the end yields the C string's terminating NUL.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while is_c_space(at(i)) {
            i += 1;
        }
        if at(i) == 0 {
            return Some(out);
        }
        let mut current = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let c = at(i);
            if in_double {
                if c == b'\\'
                    && at(i + 1) == b'x'
                    && hex(at(i + 2)).is_some()
                    && hex(at(i + 3)).is_some()
                {
                    current.push(hex(at(i + 2)).unwrap_or(0) * 16 + hex(at(i + 3)).unwrap_or(0));
                    i += 3;
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    current.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    0 => break,
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        i += 1;
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => current.push(other),
                }
            }
            i += 1;
        }
        out.push(current);
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Strict decimal parse as Redis's `string2ll`: optional '-', no '+', no leading zeros, no spaces.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.first()? {
        b'-' => (true, s.get(1..)?),
        _ => (false, s),
    };
    let first = *digits.first()?;
    if (digits.len() > 1 && first == b'0') || (negative && digits == b"0") {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let digit = (d - b'0') as i64;
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut args = Vec::new();
        let mut out = Vec::new();
        while parser.parse(&mut buf, &Limits::default(), &mut args)? {
            out.push(args.iter().map(|a| a.to_vec()).collect());
        }
        Ok(out)
    }

    fn words(items: &[&[u8]]) -> Vec<Vec<u8>> {
        items.iter().map(|w| w.to_vec()).collect()
    }

    #[test]
    fn multibulk_and_inline() {
        let got =
            parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n  \r\nSET a \"b c\"\n").unwrap();
        assert_eq!(
            got,
            vec![
                words(&[b"GET", b"k"]),
                words(&[b"PING"]),
                words(&[b"SET", b"a", b"b c"])
            ]
        );
    }

    #[test]
    fn errors_match_redis() {
        assert_eq!(
            parse_all(b"*1\r\n+x\r\n"),
            Err(ProtocolError::ExpectedDollar(b'+'))
        );
        assert_eq!(
            parse_all(b"*1\r\n$-1\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*x\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*2147483648\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"SET \"a\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(
            parse_all(b"SET \"a\"b\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(
            parse_all(b"*1\r\n\r\n"),
            Err(ProtocolError::ExpectedDollar(b'\r'))
        );
    }

    #[test]
    fn header_ends_at_first_cr_and_skips_the_next_byte() {
        assert_eq!(
            parse_all(b"*1\rX$4\r\nPING\r\n").unwrap(),
            vec![words(&[b"PING"])]
        );
        assert_eq!(
            parse_all(b"*1\r\n$4\rXPINGxxECHO\r\n").unwrap(),
            vec![words(&[b"PING"]), words(&[b"ECHO"])]
        );
        assert_eq!(
            parse_all(b"*1\r\r\n$4\r\nPING\r\n"),
            Err(ProtocolError::ExpectedDollar(b'\n'))
        );
    }

    #[test]
    fn nul_hides_the_terminator_until_the_line_is_too_long() {
        assert_eq!(
            parse_all(b"PI\0NG\r\n").unwrap(),
            Vec::<Vec<Vec<u8>>>::new()
        );
        assert_eq!(
            parse_all(b"*1\0\r\n$4\r\nPING\r\n").unwrap(),
            Vec::<Vec<Vec<u8>>>::new()
        );
        let mut long = b"\0".to_vec();
        long.resize(MAX_INLINE_BYTES + 1, b'\n');
        assert_eq!(parse_all(&long), Err(ProtocolError::TooBigInline));
    }

    #[test]
    fn resumes_across_reads() {
        let whole = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut args = Vec::new();
        for (i, &b) in whole.iter().enumerate() {
            buf.extend_from_slice(&[b]);
            let done = parser
                .parse(&mut buf, &Limits::default(), &mut args)
                .unwrap();
            assert_eq!(done, i == whole.len() - 1);
        }
        assert_eq!(args.len(), 3);
        assert_eq!(&args[2][..], b"value");
    }

    #[test]
    fn trickled_inline_line_resumes_its_search() {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut args = Vec::new();
        for &b in b"ECHO hello\r" {
            buf.extend_from_slice(&[b]);
            assert!(!parser
                .parse(&mut buf, &Limits::default(), &mut args)
                .unwrap());
        }
        assert_eq!(parser.scanned, buf.len());
        buf.extend_from_slice(b"\n");
        assert!(parser
            .parse(&mut buf, &Limits::default(), &mut args)
            .unwrap());
        assert_eq!(
            args,
            vec![Bytes::from_static(b"ECHO"), Bytes::from_static(b"hello")]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn big_claimed_bulk_reserves_at_most_the_cap() {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$536870912\r\n"[..]);
        let mut args = Vec::new();
        assert!(!parser
            .parse(&mut buf, &Limits::default(), &mut args)
            .unwrap());
        assert!(buf.capacity() < 2 * MAX_BULK_PREALLOC_BYTES);
    }

    #[test]
    fn inline_escapes() {
        assert_eq!(
            split_args(br#"a "\x41\n" 'it\'s'"#).unwrap(),
            words(&[b"a", b"A\n", b"it's"])
        );
        assert_eq!(
            split_args(br#""\xZZ" "\x4" "\q""#).unwrap(),
            words(&[b"xZZ", b"x4", b"q"])
        );
        assert_eq!(
            split_args(b"a\x0bb \x0b\"c\"\x0b").unwrap(),
            words(&[b"a\x0bb", b"c"])
        );
        assert_eq!(split_args(b"a\0b c").unwrap(), words(&[b"a"]));
        assert_eq!(split_args(b"\0\xff"), Some(vec![]));
        assert_eq!(split_args(br#"a"b c"d"#), None);
        assert_eq!(split_args(br#""a\"#), None);
        assert_eq!(split_args(b"'' \"\"").unwrap(), words(&[b"", b""]));
    }

    #[test]
    fn integers_like_string2ll() {
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"007"), None);
        assert_eq!(parse_i64(b"+7"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
    }

    #[test]
    fn requests_after_a_huge_one_reuse_nothing_of_it() {
        let mut input = b"*2000\r\n".to_vec();
        for i in 0..2000 {
            input.extend_from_slice(format!("${}\r\n{i}\r\n", i.to_string().len()).as_bytes());
        }
        input.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n");
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::from(&input[..]);
        let mut args = Vec::new();
        assert_eq!(
            parser.parse(&mut buf, &Limits::default(), &mut args),
            Ok(true)
        );
        assert_eq!(args.len(), 2000);
        assert_eq!(&args[1999][..], b"1999");
        assert_eq!(parser.spans.capacity(), 0);
        assert_eq!(
            parser.parse(&mut buf, &Limits::default(), &mut args),
            Ok(true)
        );
        assert_eq!(args, [&b"SET"[..], b"k", b""]);
        assert_eq!(
            parser.parse(&mut buf, &Limits::default(), &mut args),
            Ok(true)
        );
        assert_eq!(args, [&b"PING"[..]]);
        assert_eq!(
            parser.parse(&mut buf, &Limits::default(), &mut args),
            Ok(false)
        );
    }
}
