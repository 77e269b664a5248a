//! Resumable request parser: RESP multibulk (`*N\r\n$L\r\n...`) and inline (`PING\r\n`) requests,
//! in the spirit of Redis's `processMultibulkBuffer`/`processInlineBuffer`.
//!
//! The parser keeps its position between calls, so a request that arrives in many reads is scanned
//! once, not once per read. Arguments are returned as `Bytes` slices of the connection's read buffer
//! (no copy). Every length is checked against the limits before anything is reserved for it.

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline request or `*`/`$` header line, as Redis's `PROTO_INLINE_MAX_SIZE`.
pub const MAX_INLINE_BYTES: usize = 64 * 1024;
/// Bulk arguments at least this long get their whole length reserved up front, as Redis's
/// `PROTO_MBULK_BIG_ARG`, so a large value is not copied on every buffer growth.
const BIG_ARG_BYTES: usize = 32 * 1024;
/// Never pre-allocate more argument slots than this from a client's claimed count.
const MAX_PREALLOCATED_ARGS: usize = 1024;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `proto-max-bulk-len`
    pub max_bulk_len: usize,
    /// `proto-max-multibulk-len`
    pub max_multibulk_len: usize,
    /// When true, at most 10 arguments are accepted (Redis's unauthenticated-client rule).
    pub unauthenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk_len: 512 * 1024 * 1024, max_multibulk_len: i32::MAX as usize, unauthenticated: false }
    }
}

/// A protocol violation. The connection replies `-ERR Protocol error: <message>` and closes.
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

impl ProtocolError {
    /// The message Redis 7 sends, without the leading `-` and trailing CRLF.
    pub fn message(&self) -> String {
        let detail = match self {
            ProtocolError::TooBigInline => "too big inline request".to_string(),
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request".to_string(),
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string".to_string(),
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length".to_string(),
            ProtocolError::UnauthenticatedMultibulkLength => "unauthenticated multibulk length".to_string(),
            ProtocolError::TooBigBulkCount => "too big bulk count string".to_string(),
            ProtocolError::ExpectedDollar(c) => format!("expected '$', got '{}'", *c as char),
            ProtocolError::InvalidBulkLength => "invalid bulk length".to_string(),
            ProtocolError::UnauthenticatedBulkLength => "unauthenticated bulk length".to_string(),
        };
        format!("ERR Protocol error: {detail}")
    }
}

/// Where the parser stands inside a partially received multibulk request.
#[derive(Debug, Default)]
struct Pending {
    /// Arguments still expected.
    remaining: usize,
    /// Length of the bulk whose `$` header has been read, if any.
    bulk_len: Option<usize>,
    /// Argument spans (start, end) relative to the buffer start.
    spans: Vec<(usize, usize)>,
    /// Bytes of the buffer already consumed by this request.
    pos: usize,
}

#[derive(Debug, Default)]
pub struct RequestParser {
    pending: Option<Pending>,
}

impl RequestParser {
    pub fn new() -> Self {
        RequestParser::default()
    }

    /// Bytes of the read buffer that belong to a request still being received.
    pub fn is_mid_request(&self) -> bool {
        self.pending.is_some()
    }

    /// Parses the next complete request from the front of `buf` into `args` (cleared first).
    /// Returns `Ok(true)` with the request consumed from `buf`, `Ok(false)` when more bytes are
    /// needed (the progress is kept), or the protocol error to answer with.
    /// Empty requests (`*0`, `*-1`, blank inline lines) are consumed silently and skipped.
    pub fn parse(&mut self, buf: &mut BytesMut, limits: &Limits, args: &mut Vec<Bytes>) -> Result<bool, ProtocolError> {
        args.clear();
        loop {
            if self.pending.is_none() {
                match buf.first() {
                    None => return Ok(false),
                    Some(b'*') => {
                        let Some(line_end) = find_crlf(buf, 0) else {
                            if buf.len() > MAX_INLINE_BYTES {
                                return Err(ProtocolError::TooBigMultibulkCount);
                            }
                            return Ok(false);
                        };
                        if line_end > MAX_INLINE_BYTES {
                            return Err(ProtocolError::TooBigMultibulkCount);
                        }
                        let count = parse_i64(&buf[1..line_end]).ok_or(ProtocolError::InvalidMultibulkLength)?;
                        if count > limits.max_multibulk_len as i64 {
                            return Err(ProtocolError::InvalidMultibulkLength);
                        }
                        if count > 10 && limits.unauthenticated {
                            return Err(ProtocolError::UnauthenticatedMultibulkLength);
                        }
                        if count <= 0 {
                            buf.advance(line_end + 2);
                            continue;
                        }
                        let count = count as usize;
                        self.pending = Some(Pending {
                            remaining: count,
                            bulk_len: None,
                            spans: Vec::with_capacity(count.min(MAX_PREALLOCATED_ARGS)),
                            pos: line_end + 2,
                        });
                    }
                    Some(_) => match parse_inline(buf, args)? {
                        InlineOutcome::Incomplete => return Ok(false),
                        InlineOutcome::Empty => continue,
                        InlineOutcome::Request => return Ok(true),
                    },
                }
            }
            let Some(pending) = self.pending.as_mut() else { continue };
            if !advance_multibulk(pending, buf, limits)? {
                return Ok(false);
            }
            let Some(done) = self.pending.take() else { continue };
            let frozen = buf.split_to(done.pos).freeze();
            args.extend(done.spans.iter().map(|&(start, end)| frozen.slice(start..end)));
            return Ok(true);
        }
    }
}

/// Reads as many `$len\r\n<bytes>\r\n` arguments as the buffer holds. True when all have arrived.
fn advance_multibulk(p: &mut Pending, buf: &mut BytesMut, limits: &Limits) -> Result<bool, ProtocolError> {
    while p.remaining > 0 {
        let len = match p.bulk_len {
            Some(len) => len,
            None => {
                let Some(line_end) = find_crlf(buf, p.pos) else {
                    if buf.len() - p.pos > MAX_INLINE_BYTES {
                        return Err(ProtocolError::TooBigBulkCount);
                    }
                    return Ok(false);
                };
                if line_end - p.pos > MAX_INLINE_BYTES {
                    return Err(ProtocolError::TooBigBulkCount);
                }
                let header = &buf[p.pos..line_end];
                match header.first() {
                    Some(b'$') => {}
                    Some(&c) => return Err(ProtocolError::ExpectedDollar(c)),
                    None => return Err(ProtocolError::ExpectedDollar(b'\r')),
                }
                let len = parse_i64(&header[1..]).ok_or(ProtocolError::InvalidBulkLength)?;
                if len < 0 || len as u64 > limits.max_bulk_len as u64 {
                    return Err(ProtocolError::InvalidBulkLength);
                }
                if len > 16384 && limits.unauthenticated {
                    return Err(ProtocolError::UnauthenticatedBulkLength);
                }
                let len = len as usize;
                p.pos = line_end + 2;
                p.bulk_len = Some(len);
                if len >= BIG_ARG_BYTES {
                    let wanted = p.pos + len + 2;
                    if buf.capacity() < wanted {
                        buf.reserve(wanted - buf.len());
                    }
                }
                len
            }
        };
        if buf.len() < p.pos + len + 2 {
            return Ok(false);
        }
        p.spans.push((p.pos, p.pos + len));
        p.pos += len + 2;
        p.bulk_len = None;
        p.remaining -= 1;
    }
    Ok(true)
}

enum InlineOutcome {
    Incomplete,
    Empty,
    Request,
}

fn parse_inline(buf: &mut BytesMut, args: &mut Vec<Bytes>) -> Result<InlineOutcome, ProtocolError> {
    let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > MAX_INLINE_BYTES {
            return Err(ProtocolError::TooBigInline);
        }
        return Ok(InlineOutcome::Incomplete);
    };
    if newline > MAX_INLINE_BYTES {
        return Err(ProtocolError::TooBigInline);
    }
    let line_end = if newline > 0 && buf[newline - 1] == b'\r' { newline - 1 } else { newline };
    let parts = split_args(&buf[..line_end]).ok_or(ProtocolError::UnbalancedQuotes)?;
    buf.advance(newline + 1);
    if parts.is_empty() {
        return Ok(InlineOutcome::Empty);
    }
    args.extend(parts.into_iter().map(Bytes::from));
    Ok(InlineOutcome::Request)
}

/// Splits a line into arguments with the rules of Redis's `sdssplitargs`: whitespace separates,
/// "double quotes" take `\n \r \t \b \a \\ \" \xHH` escapes, 'single quotes' take `\'`, and a
/// closing quote must be followed by whitespace or the end. `None` means unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            return Some(out);
        }
        let mut current = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let c = line.get(i).copied();
            if in_double {
                match c {
                    None => return None,
                    Some(b'\\') if line.get(i + 1) == Some(&b'x') => {
                        match (line.get(i + 2).and_then(|&h| hex(h)), line.get(i + 3).and_then(|&l| hex(l))) {
                            (Some(h), Some(l)) => {
                                current.push(h * 16 + l);
                                i += 3;
                            }
                            _ => {
                                current.push(b'\\');
                            }
                        }
                    }
                    Some(b'\\') if i + 1 < line.len() => {
                        i += 1;
                        current.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else if in_single {
                match c {
                    None => return None,
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        current.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else {
                match c {
                    None => break,
                    Some(b' ' | b'\n' | b'\r' | b'\t' | 0) => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(other) => current.push(other),
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

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    let mut start = 0;
    while let Some(offset) = rest.get(start..)?.iter().position(|&b| b == b'\r') {
        let at = start + offset;
        match rest.get(at + 1) {
            Some(b'\n') => return Some(from + at),
            Some(_) => start = at + 1,
            None => return None,
        }
    }
    None
}

/// Strict decimal parse as Redis's `string2ll`: optional '-', no '+', no leading zeros, no spaces.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') || (negative && digits == b"0") {
        return None;
    }
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let digit = (d - b'0') as i64;
        value = value.checked_mul(10)?;
        value = if negative { value.checked_sub(digit)? } else { value.checked_add(digit)? };
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

    #[test]
    fn multibulk_and_inline() {
        let got = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n  \r\nSET a \"b c\"\n").unwrap();
        assert_eq!(got, vec![vec![b"GET".to_vec(), b"k".to_vec()], vec![b"PING".to_vec()], vec![
            b"SET".to_vec(),
            b"a".to_vec(),
            b"b c".to_vec()
        ]]);
    }

    #[test]
    fn errors_match_redis() {
        assert_eq!(parse_all(b"*1\r\n+x\r\n"), Err(ProtocolError::ExpectedDollar(b'+')));
        assert_eq!(parse_all(b"*1\r\n$-1\r\n"), Err(ProtocolError::InvalidBulkLength));
        assert_eq!(parse_all(b"*x\r\n"), Err(ProtocolError::InvalidMultibulkLength));
        assert_eq!(parse_all(b"SET \"a\r\n"), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(parse_all(b"SET \"a\"b\r\n"), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(ProtocolError::ExpectedDollar(b'+').message(), "ERR Protocol error: expected '$', got '+'");
    }

    #[test]
    fn resumes_across_reads() {
        let whole = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut args = Vec::new();
        for (i, &b) in whole.iter().enumerate() {
            buf.extend_from_slice(&[b]);
            let done = parser.parse(&mut buf, &Limits::default(), &mut args).unwrap();
            assert_eq!(done, i == whole.len() - 1);
        }
        assert_eq!(args.len(), 3);
        assert_eq!(&args[2][..], b"value");
    }

    #[test]
    fn inline_escapes() {
        assert_eq!(split_args(br#"a "\x41\n" 'it\'s'"#).unwrap(), vec![b"a".to_vec(), b"A\n".to_vec(), b"it's".to_vec()]);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"007"), None);
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
    }
}
