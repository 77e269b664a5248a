//! Reply encoding for RESP2 and RESP3. Handlers write straight into the connection's output buffer
//! through `ReplyBuf`, so a reply costs no intermediate allocation; the type of each frame is chosen
//! here from the connection's protocol version (a map is `%` in RESP3 and a flat array in RESP2).
//!
//! A connection's buffer is a list of blocks, as Redis's reply list: the current block grows by
//! reallocation up to `OUTPUT_BLOCK` bytes, then replies continue in a new block, and an append of
//! `OWN_BLOCK` bytes or more that does not fit gets an exact block of its own. A large output is
//! thus never copied to grow, and costs its length plus less than two blocks: a single buffer that
//! doubles costs up to three times its length while it grows (the old buffer, the new one, and the
//! freed smaller ones the allocator keeps resident for a while).
//!
//! A buffer may be given a cap (`limit`): the hard `client-output-buffer-limit` of its client.
//! The first append that would take its length to the cap is dropped and marks the buffer
//! `overflowed`; every later append is a no-op after one comparison. A handler producing a huge
//! reply thus costs at most the cap, and the connection closes the client after the command, as
//! Redis does once a client passes its hard limit (`CLIENT_CLOSE_ASAP`: nothing more is added to
//! its output, and no further command of it runs).

use bytes::{Bytes, BytesMut};

/// Bytes a connection's current block may grow to by reallocation before replies continue in a
/// new block. The connection writes the blocks of a batch together (`writev`).
pub const OUTPUT_BLOCK: usize = 64 * 1024;
/// An append this large that does not fit in the current block is copied into a block of its own
/// (a big bulk string), leaving the current block's free space for what follows.
const OWN_BLOCK: usize = OUTPUT_BLOCK / 2;
/// Initial capacity of a connection's buffer.
const INITIAL_CAPACITY: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Resp2,
    Resp3,
}

pub struct ReplyBuf {
    /// The block appends go to; the earlier ones are in `done`, in order.
    buf: BytesMut,
    done: Vec<BytesMut>,
    /// Bytes in `done`.
    done_len: usize,
    /// Appends that fit `buf` below `end` (its capacity, or less under a cap) take the fast path.
    /// Invariant: `end <= buf.capacity()`; `set_end` restores it after every change to `buf`.
    end: usize,
    /// The total length an append may not reach (`usize::MAX`: no cap).
    cap: usize,
    overflowed: bool,
    /// Largest size `buf` grows to by reallocation (`usize::MAX` for a frame: one contiguous block).
    block_max: usize,
    pub protocol: Protocol,
}

/// Replies split off a buffer at a mark (`ReplyBuf::split_off`), to be appended back.
pub struct ReplyTail(Vec<BytesMut>);

impl ReplyBuf {
    /// A connection's output buffer: blocks of up to `OUTPUT_BLOCK` bytes.
    pub fn new(protocol: Protocol) -> Self {
        Self::with_blocks(
            protocol,
            BytesMut::with_capacity(INITIAL_CAPACITY),
            OUTPUT_BLOCK,
        )
    }

    /// A buffer that stays one contiguous block (a message or reply encoded once and handed over
    /// as `Bytes` by `freeze`).
    pub fn frame(protocol: Protocol, capacity: usize) -> Self {
        Self::with_blocks(protocol, BytesMut::with_capacity(capacity), usize::MAX)
    }

    fn with_blocks(protocol: Protocol, buf: BytesMut, block_max: usize) -> Self {
        let mut out = ReplyBuf {
            end: 0,
            buf,
            done: Vec::new(),
            done_len: 0,
            cap: usize::MAX,
            overflowed: false,
            block_max,
            protocol,
        };
        out.set_end();
        out
    }

    pub fn is_resp3(&self) -> bool {
        self.protocol == Protocol::Resp3
    }

    /// Caps the buffer's length below `cap` bytes (`None`: no cap). Appends that would reach it
    /// are dropped and mark the buffer overflowed.
    pub fn limit(&mut self, cap: Option<usize>) {
        self.cap = cap.unwrap_or(usize::MAX);
        self.set_end();
    }

    /// An append was dropped for reaching the cap: the output is incomplete and must not be sent.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    fn set_end(&mut self) {
        self.end = if self.overflowed {
            0
        } else {
            let under_cap = self.cap.saturating_sub(self.done_len).saturating_sub(1);
            self.buf.capacity().min(under_cap)
        };
    }

    /// Appends bytes already encoded for this connection (a published message, a blocked
    /// client's reply), under the cap like any reply.
    #[inline]
    pub fn raw(&mut self, data: &[u8]) {
        if self.fits(data.len()) {
            self.put(data);
        } else {
            self.raw_slow(data);
        }
    }

    /// `n` more bytes go into the current block without growing it and stay under the cap.
    #[inline]
    fn fits(&self, n: usize) -> bool {
        self.buf.len() + n <= self.end
    }

    /// Copies `data` into the current block, which `fits` said has room for it: the append every
    /// reply is made of, without `BytesMut`'s second capacity check and its length assertion
    /// (with a checked copy here, encoding small bulks measured 10-30% slower than with the
    /// single `BytesMut` before the blocks; unchecked, the same).
    #[inline]
    #[allow(unsafe_code)]
    fn put(&mut self, data: &[u8]) {
        let len = self.buf.len();
        debug_assert!(len + data.len() <= self.buf.capacity());
        // SAFETY: `fits` checked `len + data.len() <= end`, and `end <= buf.capacity()` always
        // holds: `buf` is private and every change to it is followed by `set_end`. The copy
        // initializes exactly the bytes `set_len` then covers, in spare capacity `data` (a
        // borrow of something else) cannot overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.buf.as_mut_ptr().add(len),
                data.len(),
            );
            self.buf.set_len(len + data.len());
        }
    }

    #[cold]
    #[inline(never)]
    fn raw_slow(&mut self, data: &[u8]) {
        if self.overflowed {
            return;
        }
        let n = data.len();
        if self.len().saturating_add(n) >= self.cap {
            self.overflowed = true;
            self.set_end();
            return;
        }
        if n > self.buf.capacity() - self.buf.len() {
            if self.buf.len() + n <= self.block_max {
                self.buf.reserve(n);
            } else if n >= OWN_BLOCK {
                // The filled part is split off (the allocation is shared, nothing is copied) and
                // the current block keeps its free space for what follows this append.
                let filled = self.buf.split();
                self.push_done(filled);
                let mut own = BytesMut::with_capacity(n);
                own.extend_from_slice(data);
                self.push_done(own);
                self.set_end();
                return;
            } else {
                let full =
                    std::mem::replace(&mut self.buf, BytesMut::with_capacity(self.block_max));
                self.push_done(full);
            }
        }
        self.buf.extend_from_slice(data);
        self.set_end();
    }

    fn push_done(&mut self, block: BytesMut) {
        if !block.is_empty() {
            self.done_len += block.len();
            self.done.push(block);
        }
    }

    fn header(&mut self, kind: u8, n: i64) {
        if self.fits(HEADER_MAX) {
            self.put_header(kind, n);
        } else {
            let mut line = [0u8; HEADER_MAX];
            let len = encode_header(&mut line, kind, n);
            self.raw(&line[..len]);
        }
    }

    /// `<kind><n>\r\n` into the current block, which `fits(HEADER_MAX)` said has room for it.
    #[inline]
    fn put_header(&mut self, kind: u8, n: i64) {
        self.put(&[kind]);
        self.put(itoa::Buffer::new().format(n).as_bytes());
        self.put(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.raw(b"+OK\r\n");
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
        self.raw(&[kind]);
        if text.iter().any(|&b| b == b'\r' || b == b'\n') {
            let cleaned: Vec<u8> = text
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect();
            self.raw(&cleaned);
        } else {
            self.raw(text);
        }
        self.raw(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        if self.fits(HEADER_MAX + data.len() + 2) {
            // One check for the whole frame: the common case.
            self.put_header(b'$', data.len() as i64);
            self.put(data);
            self.put(b"\r\n");
        } else {
            self.header(b'$', data.len() as i64);
            self.raw(data);
            self.raw(b"\r\n");
        }
    }

    /// A bulk string of `len` bytes that `fill` writes in place (a compressed value decompressed
    /// straight into the output). `fill` gets exactly `len` zeroed bytes.
    pub fn bulk_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) {
        let frame = HEADER_MAX + len + 2;
        if !self.fits(frame)
            && !self.overflowed
            && frame < OWN_BLOCK
            && self.len().saturating_add(frame) < self.cap
        {
            // As `raw_slow` makes room for an append: grow the block, or start the next one.
            if self.buf.len() + frame <= self.block_max {
                self.buf.reserve(frame);
            } else {
                let full =
                    std::mem::replace(&mut self.buf, BytesMut::with_capacity(self.block_max));
                self.push_done(full);
            }
            self.set_end();
        }
        if self.fits(frame) {
            self.put_header(b'$', len as i64);
            let at = self.buf.len();
            // Within capacity (`fits`): no reallocation, so `end` still holds.
            self.buf.resize(at + len, 0);
            fill(&mut self.buf[at..]);
            self.put(b"\r\n");
        } else if !self.overflowed {
            // A value of a block of its own, or one the cap refuses: through a copy, as `bulk`.
            let mut value = vec![0; len];
            fill(&mut value);
            self.bulk(&value);
        }
    }

    pub fn bulk_int(&mut self, n: i64) {
        self.bulk(itoa::Buffer::new().format(n).as_bytes());
    }

    /// A null bulk string: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        match self.protocol {
            Protocol::Resp2 => self.raw(b"$-1\r\n"),
            Protocol::Resp3 => self.raw(b"_\r\n"),
        }
    }

    /// A null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        match self.protocol {
            Protocol::Resp2 => self.raw(b"*-1\r\n"),
            Protocol::Resp3 => self.raw(b"_\r\n"),
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
            Protocol::Resp3 => self.raw(if value { b"#t\r\n" } else { b"#f\r\n" }),
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
                self.raw(b",");
                self.raw(text.as_bytes());
                self.raw(b"\r\n");
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
                self.raw(format.as_bytes());
                self.raw(b":");
                self.raw(text);
                self.raw(b"\r\n");
            }
        }
    }

    pub fn big_number(&mut self, digits: &str) {
        match self.protocol {
            Protocol::Resp2 => self.bulk(digits.as_bytes()),
            Protocol::Resp3 => {
                self.raw(b"(");
                self.raw(digits.as_bytes());
                self.raw(b"\r\n");
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
        self.done_len + self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes allocated for the buffer (`obl`/`omem` in CLIENT LIST).
    pub fn capacity(&self) -> usize {
        self.buf.capacity() + self.done.iter().map(BytesMut::capacity).sum::<usize>()
    }

    /// The blocks in order, one write each.
    pub fn blocks(&self) -> impl Iterator<Item = &[u8]> {
        self.done
            .iter()
            .map(|block| &block[..])
            .chain(std::iter::once(&self.buf[..]))
            .filter(|block| !block.is_empty())
    }

    /// Everything written, copied into one vector (tests, diagnostics).
    pub fn to_vec(&self) -> Vec<u8> {
        self.blocks().flatten().copied().collect()
    }

    /// The contents as one `Bytes`: without a copy when it is one block, as a frame always is.
    pub fn freeze(mut self) -> Bytes {
        if self.done.is_empty() {
            return self.buf.freeze();
        }
        let mut whole = BytesMut::with_capacity(self.len());
        for block in self.done.drain(..) {
            whole.extend_from_slice(&block);
        }
        whole.extend_from_slice(&self.buf);
        whole.freeze()
    }

    /// Empties the buffer (after it was written), keeping the current block's allocation unless
    /// it is larger than `keep` bytes; clears the overflow mark.
    pub fn clear(&mut self, keep: usize) {
        self.done.clear();
        self.done_len = 0;
        self.buf.clear();
        if self.buf.capacity() > keep {
            self.buf = BytesMut::with_capacity(INITIAL_CAPACITY.min(keep));
        }
        self.overflowed = false;
        self.set_end();
    }

    /// Drops everything written after `mark` (used by `CLIENT REPLY OFF|SKIP`).
    pub fn truncate(&mut self, mark: usize) {
        if mark >= self.done_len {
            self.buf.truncate(mark - self.done_len);
        } else {
            drop(self.take_blocks_from(mark));
            self.resume_last_block();
        }
        self.set_end();
    }

    /// Drops what was written after `mark` and the overflow mark that it may have set: a reply
    /// that is not sent (`CLIENT REPLY OFF|SKIP`) cannot take the client over its limit.
    pub fn discard_from(&mut self, mark: usize) {
        self.truncate(mark);
        self.overflowed = false;
        self.set_end();
    }

    /// Takes out everything written after `at`, to be put back with `unsplit` (so that something
    /// can be written in front of it).
    pub fn split_off(&mut self, at: usize) -> ReplyTail {
        let tail = self.take_blocks_from(at);
        self.resume_last_block();
        self.set_end();
        tail
    }

    /// After `take_blocks_from`: appends continue in the last block kept.
    fn resume_last_block(&mut self) {
        if let Some(last) = self.done.pop() {
            self.done_len -= last.len();
            self.buf = last;
        }
    }

    /// Appends what `split_off` took out (not counted against the cap: it was already).
    pub fn unsplit(&mut self, tail: ReplyTail) {
        let mut blocks = tail
            .0
            .into_iter()
            .filter(|block| !block.is_empty())
            .peekable();
        if blocks.peek().is_none() {
            return;
        }
        let current = std::mem::take(&mut self.buf);
        self.push_done(current);
        while let Some(block) = blocks.next() {
            if blocks.peek().is_none() {
                self.buf = block;
            } else {
                self.push_done(block);
            }
        }
        self.set_end();
    }

    /// Moves every byte after `at` into a tail, leaving `done` ending with the bytes before `at`
    /// (its last block cut at `at`) and `buf` empty.
    fn take_blocks_from(&mut self, at: usize) -> ReplyTail {
        if at >= self.done_len {
            let tail = self.buf.split_off(at - self.done_len);
            let head = std::mem::take(&mut self.buf);
            self.push_done(head);
            return ReplyTail(vec![tail]);
        }
        let mut tail = vec![std::mem::take(&mut self.buf)];
        while let Some(mut block) = self.done.pop() {
            self.done_len -= block.len();
            if self.done_len <= at {
                tail.push(block.split_off(at - self.done_len));
                self.push_done(block);
                break;
            }
            tail.push(block);
        }
        tail.reverse();
        ReplyTail(tail)
    }
}

/// Kind, at most 20 characters of an i64, CRLF.
const HEADER_MAX: usize = 23;

/// Writes `<kind><n>\r\n` at the start of `line`; returns its length.
#[inline]
fn encode_header(line: &mut [u8; HEADER_MAX], kind: u8, n: i64) -> usize {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n).as_bytes();
    let end = 1 + digits.len();
    line[0] = kind;
    line[1..end].copy_from_slice(digits);
    line[end..end + 2].copy_from_slice(b"\r\n");
    end + 2
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
mod tests;
