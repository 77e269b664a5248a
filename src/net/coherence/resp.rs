//! A minimal RESP2 reply reader for the peer links: enough for the replies and pushes of a
//! subscribed connection (`*3 $message $channel $payload`, `*3 $subscribe $channel :n`, errors)
//! and for replays (an array of payloads).
//! Malformed input is an error, never a panic; sizes are bounded.

use bytes::{Buf, Bytes, BytesMut};

/// Largest bulk string accepted from a peer (a message is at most ~64 KiB; leave room).
pub const MAX_BULK: usize = 16 * 1024 * 1024;
/// A replay holds at most a backlog's messages: thousands of small ones.
const MAX_ARRAY: i64 = 1 << 20;
const MAX_DEPTH: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Simple(Bytes),
    Error(Bytes),
    Integer(i64),
    Bulk(Option<Bytes>),
    Array(Vec<Frame>),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

/// Parses one frame off the front of `buf`: `Ok(None)` when more bytes are needed.
pub fn parse(buf: &mut BytesMut) -> Result<Option<Frame>, Malformed> {
    let mut at = 0;
    match frame(buf, &mut at, 0)? {
        Some(frame) => {
            buf.advance(at);
            Ok(Some(frame))
        }
        None => Ok(None),
    }
}

fn line(buf: &[u8], at: &mut usize) -> Result<Option<Bytes>, Malformed> {
    let rest = buf.get(*at..).ok_or(Malformed)?;
    let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
        if rest.len() > 64 * 1024 {
            return Err(Malformed);
        }
        return Ok(None);
    };
    let text = Bytes::copy_from_slice(&rest[..end]);
    *at += end + 2;
    Ok(Some(text))
}

fn number(text: &[u8]) -> Result<i64, Malformed> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(Malformed)
}

fn frame(buf: &[u8], at: &mut usize, depth: usize) -> Result<Option<Frame>, Malformed> {
    if depth > MAX_DEPTH {
        return Err(Malformed);
    }
    let Some(&kind) = buf.get(*at) else {
        return Ok(None);
    };
    *at += 1;
    let Some(text) = line(buf, at)? else {
        return Ok(None);
    };
    Ok(Some(match kind {
        b'+' => Frame::Simple(text),
        b'-' => Frame::Error(text),
        b':' => Frame::Integer(number(&text)?),
        b'$' => {
            let len = number(&text)?;
            if len < 0 {
                return Ok(Some(Frame::Bulk(None)));
            }
            let len = usize::try_from(len).map_err(|_| Malformed)?;
            if len > MAX_BULK {
                return Err(Malformed);
            }
            let end = *at + len;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(Malformed);
            }
            let bulk = Bytes::copy_from_slice(&buf[*at..end]);
            *at = end + 2;
            Frame::Bulk(Some(bulk))
        }
        b'*' => {
            let len = number(&text)?;
            if len > MAX_ARRAY {
                return Err(Malformed);
            }
            // A claimed length is not a reason to allocate: grow as elements arrive.
            let mut items = Vec::with_capacity(len.clamp(0, 64) as usize);
            for _ in 0..len {
                match frame(buf, at, depth + 1)? {
                    Some(item) => items.push(item),
                    None => return Ok(None),
                }
            }
            Frame::Array(items)
        }
        _ => return Err(Malformed),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn subscribed_connection_frames() {
        let mut buf = BytesMut::from(
            &b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n*3\r\n$7\r\nmes"[..],
        );
        let bulk = |s: &'static [u8]| Frame::Bulk(Some(Bytes::from_static(s)));
        assert_eq!(
            parse(&mut buf),
            Ok(Some(Frame::Array(vec![
                bulk(b"subscribe"),
                bulk(b"c"),
                Frame::Integer(1)
            ])))
        );
        assert_eq!(
            parse(&mut buf),
            Ok(Some(Frame::Array(vec![
                bulk(b"message"),
                bulk(b"c"),
                bulk(b"hi")
            ])))
        );
        assert_eq!(parse(&mut buf), Ok(None));
        assert_eq!(buf.len(), 11);
        assert_eq!(parse(&mut BytesMut::from(&b"?x\r\n"[..])), Err(Malformed));
        assert_eq!(
            parse(&mut BytesMut::from(&b"$3\r\nabcd\r\n"[..])),
            Err(Malformed)
        );
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut buf = BytesMut::from(&bytes[..]);
            while let Ok(Some(_)) = parse(&mut buf) {}
        }
    }
}
