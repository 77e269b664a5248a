//! Feeds arbitrary bytes, in arbitrary chunks, to `RequestParser` under small limits and checks
//! what must hold for any input, not only "no panic":
//! - progress: every call either returns a request (and consumed bytes), asks for more bytes
//!   (and asks again, unchanged, if none arrive), or fails; an error ends the connection;
//! - a returned request has at least one argument;
//! - re-encoding a returned request as multibulk and parsing it with a fresh parser yields the same
//!   arguments and consumes exactly the encoding;
//! - chunking does not matter: the requests and the final outcome equal those of one whole read
//!   (for inputs under the 64 KiB line limit, past which Redis itself depends on read sizes).
//!
//! Input layout: byte 0 picks the limits, byte 1 seeds the chunk sizes, the rest is the stream.
#![no_main]

use bytes::{Bytes, BytesMut};
use cachet::protocol::request::MAX_INLINE_BYTES;
use cachet::protocol::{Limits, ProtocolError, RequestParser};
use libfuzzer_sys::fuzz_target;

type Request = Vec<Vec<u8>>;

#[derive(Debug, PartialEq)]
enum End {
    /// All bytes fed; the parser waits for more.
    Waiting,
    Failed(ProtocolError),
}

fn limits_from(byte: u8) -> Limits {
    Limits {
        max_bulk_len: [0, 1, 3, 16, 100, 512 * 1024 * 1024][(byte & 7) as usize % 6],
        max_multibulk_len: [1, 2, 5, i32::MAX as usize][((byte >> 3) & 3) as usize],
        unauthenticated: byte & 0x20 != 0,
    }
}

/// Chunk lengths from a tiny xorshift generator: mostly short, sometimes long.
fn chunk_lengths(seed: u8, total: usize) -> Vec<usize> {
    let mut state = u32::from(seed) | 0x9e37_7900;
    let mut lengths = Vec::new();
    let mut used = 0;
    while used < total {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let len = if state % 8 == 0 {
            1 + (state >> 8) as usize % 256
        } else {
            1 + (state >> 8) as usize % 4
        };
        let len = len.min(total - used);
        lengths.push(len);
        used += len;
    }
    lengths
}

fn run(stream: &[u8], chunks: &[usize], limits: &Limits) -> (Vec<Request>, End) {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut args: Vec<Bytes> = Vec::new();
    let mut requests = Vec::new();
    let mut at = 0;
    for &len in chunks {
        buf.extend_from_slice(&stream[at..at + len]);
        at += len;
        loop {
            let before = buf.len();
            match parser.parse(&mut buf, limits, &mut args) {
                Ok(true) => {
                    assert!(
                        buf.len() < before,
                        "a request was returned without consuming bytes"
                    );
                    assert!(!args.is_empty(), "a request without arguments");
                    requests.push(args.iter().map(|a| a.to_vec()).collect());
                }
                Ok(false) => {
                    assert!(
                        args.is_empty(),
                        "arguments left behind by an incomplete parse"
                    );
                    break;
                }
                Err(err) => {
                    assert!(args.is_empty(), "arguments left behind by an error");
                    return (requests, End::Failed(err));
                }
            }
        }
    }
    // Asking again without new bytes changes nothing.
    let before = buf.len();
    assert_eq!(parser.parse(&mut buf, limits, &mut args), Ok(false));
    assert_eq!(buf.len(), before);
    (requests, End::Waiting)
}

fn reencoded_parses_back(request: &Request) {
    let mut encoded = format!("*{}\r\n", request.len()).into_bytes();
    for arg in request {
        encoded.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        encoded.extend_from_slice(arg);
        encoded.extend_from_slice(b"\r\n");
    }
    let mut buf = BytesMut::from(&encoded[..]);
    let mut args = Vec::new();
    let done = RequestParser::new().parse(&mut buf, &Limits::default(), &mut args);
    assert_eq!(done, Ok(true), "re-encoded {request:?} did not parse");
    assert!(
        buf.is_empty(),
        "re-encoded request left {} bytes",
        buf.len()
    );
    let back: Request = args.iter().map(|a| a.to_vec()).collect();
    assert_eq!(&back, request);
}

fuzz_target!(|data: &[u8]| {
    let [limit_byte, seed, stream @ ..] = data else {
        return;
    };
    let limits = limits_from(*limit_byte);
    let (requests, end) = run(stream, &chunk_lengths(*seed, stream.len()), &limits);
    for request in &requests {
        reencoded_parses_back(request);
    }
    if stream.len() <= MAX_INLINE_BYTES {
        let whole = if stream.is_empty() {
            vec![]
        } else {
            vec![stream.len()]
        };
        assert_eq!(
            run(stream, &whole, &limits),
            (requests, end),
            "chunking changed the outcome"
        );
    }
});
