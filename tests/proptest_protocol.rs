//! Property tests of the wire layer.
//! - Request parser: any sequence of requests, however the bytes are split across reads, yields
//!   exactly the argument lists that were encoded (multibulk with arbitrary binary arguments, and
//!   inline with plain and quoted arguments).
//! - Reply encoder: a random reply tree written with `ReplyBuf` decodes, with the independent
//!   `redis-protocol` decoders, to the expected RESP3 frame, and in RESP2 to its flattened form.
//! - `format_double` agrees with C's `printf("%.17g")`, which Redis 7.0 uses for doubles.

use std::collections::{HashMap, HashSet};

use bytes::{Bytes, BytesMut};
use cachet::protocol::{format_double, Limits, Protocol, ProtocolError, ReplyBuf, RequestParser};
use proptest::collection::vec;
use proptest::prelude::*;
use redis_protocol::resp2::types::OwnedFrame as F2;
use redis_protocol::resp3::types::{OwnedFrame as F3, VerbatimStringFormat};

// ---------------------------------------------------------------------------------------------
// Request parser
// ---------------------------------------------------------------------------------------------

type Request = Vec<Vec<u8>>;

/// Feeds `input` in the given chunks, draining every complete request after each chunk, as the
/// connection loop does.
fn parse_chunked(
    input: &[u8],
    cuts: &[usize],
    limits: &Limits,
) -> Result<Vec<Request>, ProtocolError> {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut args: Vec<Bytes> = Vec::new();
    let mut out = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    bounds.push(input.len());
    bounds.sort_unstable();
    let mut from = 0;
    for to in bounds {
        buf.extend_from_slice(&input[from..to]);
        from = to;
        while parser.parse(&mut buf, limits, &mut args)? {
            assert!(!args.is_empty(), "a request without arguments was returned");
            out.push(args.iter().map(|a| a.to_vec()).collect());
        }
    }
    Ok(out)
}

fn encode_multibulk(req: &Request, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", req.len()).as_bytes());
    for arg in req {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Bytes that matter to the parser, so random arguments hit them often.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => any::<u8>(),
        1 => prop::sample::select(vec![b'\r', b'\n', b'*', b'$', b'"', b'\'', b'\\', b' ', 0u8, b'-', b'0']),
    ]
}

fn binary_arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        20 => vec(interesting_byte(), 0..24),
        // Crosses the big-argument threshold (32 KiB), which reserves buffer space up front.
        1 => (32 * 1024..33 * 1024usize, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ]
}

/// A multibulk stream: requests interleaved with the empty requests (`*0`, `*-N`) that are skipped.
fn multibulk_stream() -> impl Strategy<Value = (Vec<Request>, Vec<u8>)> {
    vec(
        (
            vec(binary_arg(), 1..6),
            prop::option::weighted(0.15, prop_oneof![Just(0i64), -100i64..0]),
        ),
        1..8,
    )
    .prop_map(|items| {
        let mut bytes = Vec::new();
        let mut requests = Vec::new();
        for (req, empty) in items {
            if let Some(n) = empty {
                bytes.extend_from_slice(format!("*{n}\r\n").as_bytes());
            }
            encode_multibulk(&req, &mut bytes);
            requests.push(req);
        }
        (requests, bytes)
    })
}

/// An inline argument and its spelling: plain, or double-quoted with escapes (any bytes), or
/// single-quoted.
fn inline_arg() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let plain = vec(
        prop::sample::select(
            (0x21u8..=0x7e)
                .filter(|b| *b != b'"' && *b != b'\'')
                .collect::<Vec<_>>(),
        ),
        1..12,
    )
    .prop_map(|a| (a.clone(), a));
    let double = vec(interesting_byte(), 0..12).prop_map(|a| {
        let mut spelled = b"\"".to_vec();
        for &b in &a {
            match b {
                b'"' => spelled.extend_from_slice(b"\\\""),
                b'\\' => spelled.extend_from_slice(b"\\\\"),
                0x20..=0x7e => spelled.push(b),
                _ => spelled.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            }
        }
        spelled.push(b'"');
        (a, spelled)
    });
    let single = vec(
        prop::sample::select((0x20u8..=0x7e).filter(|b| *b != b'\\').collect::<Vec<_>>()),
        0..12,
    )
    .prop_map(|a| {
        let mut spelled = b"'".to_vec();
        for &b in &a {
            if b == b'\'' {
                spelled.extend_from_slice(b"\\'");
            } else {
                spelled.push(b);
            }
        }
        spelled.push(b'\'');
        (a, spelled)
    });
    prop_oneof![3 => plain, 1 => double, 1 => single]
}

fn inline_stream() -> impl Strategy<Value = (Vec<Request>, Vec<u8>)> {
    let separator = vec(prop::sample::select(vec![b' ', b'\t']), 1..3);
    let line = (
        vec((inline_arg(), separator.clone()), 1..6),
        vec(prop::sample::select(vec![b' ', b'\t']), 0..2),
        any::<bool>(),
    );
    vec(line, 1..8).prop_map(|lines| {
        let mut bytes = Vec::new();
        let mut requests = Vec::new();
        for (args, lead, crlf) in lines {
            bytes.extend_from_slice(&lead);
            // A line starting with '*' is a multibulk request.
            if lead.is_empty()
                && args
                    .first()
                    .is_some_and(|((_, spelled), _)| spelled.first() == Some(&b'*'))
            {
                bytes.push(b' ');
            }
            let mut req = Vec::new();
            for ((arg, spelled), sep) in args {
                bytes.extend_from_slice(&spelled);
                bytes.extend_from_slice(&sep);
                req.push(arg);
            }
            bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            requests.push(req);
        }
        (requests, bytes)
    })
}

fn cuts(max_len: usize) -> impl Strategy<Value = Vec<usize>> {
    vec(0..max_len.max(1), 0..16)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn multibulk_any_chunking_yields_the_encoded_requests((requests, bytes) in multibulk_stream(), cuts in cuts(70_000)) {
        let limits = Limits::default();
        let whole = parse_chunked(&bytes, &[], &limits).unwrap();
        prop_assert_eq!(&whole, &requests);
        let cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
        prop_assert_eq!(parse_chunked(&bytes, &cuts, &limits).unwrap(), requests);
    }

    #[test]
    fn inline_any_chunking_yields_the_encoded_requests((requests, bytes) in inline_stream(), cuts in cuts(1000)) {
        let limits = Limits::default();
        prop_assert_eq!(&parse_chunked(&bytes, &[], &limits).unwrap(), &requests);
        let cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
        prop_assert_eq!(parse_chunked(&bytes, &cuts, &limits).unwrap(), requests);
    }

    #[test]
    fn mixed_streams_split_at_every_byte(
        (mb, mb_bytes) in multibulk_stream().prop_filter("small", |(_, b)| b.len() < 2048),
        (il, il_bytes) in inline_stream(),
    ) {
        let bytes = [mb_bytes.as_slice(), &il_bytes].concat();
        let every: Vec<usize> = (0..bytes.len()).collect();
        let expected: Vec<Request> = mb.into_iter().chain(il).collect();
        prop_assert_eq!(parse_chunked(&bytes, &every, &Limits::default()).unwrap(), expected);
    }

    /// Errors do not depend on how the bytes arrive either: a valid prefix, then garbage.
    #[test]
    fn garbage_after_requests_gives_the_same_outcome_whatever_the_chunking(
        (requests, bytes) in multibulk_stream().prop_filter("small", |(_, b)| b.len() < 4096),
        garbage in vec(interesting_byte(), 0..64),
        cuts in cuts(5000),
    ) {
        let input = [bytes.as_slice(), &garbage].concat();
        let limits = Limits { max_bulk_len: 1024 * 1024, max_multibulk_len: 1000, unauthenticated: false };
        let whole = parse_chunked(&input, &[], &limits);
        let every: Vec<usize> = (0..input.len()).collect();
        prop_assert_eq!(&parse_chunked(&input, &every, &limits), &whole);
        let cuts: Vec<usize> = cuts.into_iter().map(|c| c % (input.len() + 1)).collect();
        prop_assert_eq!(&parse_chunked(&input, &cuts, &limits), &whole);
        if let Ok(got) = whole {
            prop_assert_eq!(&got[..requests.len()], &requests[..]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reply encoder
// ---------------------------------------------------------------------------------------------

/// A reply as a handler would write it.
#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Null,
    NullArray,
    Double(f64),
    Bool(bool),
    BigNumber(String),
    Verbatim(&'static str, Vec<u8>),
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Push(Vec<Reply>),
}

fn write(reply: &Reply, out: &mut ReplyBuf) {
    match reply {
        Reply::Simple(s) => out.simple(s),
        Reply::Error(e) => out.error(e),
        Reply::Int(n) => out.int(*n),
        Reply::Bulk(b) => out.bulk(b),
        Reply::Null => out.null(),
        Reply::NullArray => out.null_array(),
        Reply::Double(d) => out.double(*d),
        Reply::Bool(b) => out.boolean(*b),
        Reply::BigNumber(n) => out.big_number(n),
        Reply::Verbatim(format, text) => out.verbatim(format, text),
        Reply::Array(items) => {
            out.array(items.len());
            items.iter().for_each(|r| write(r, out));
        }
        Reply::Map(pairs) => {
            out.map(pairs.len());
            for (k, v) in pairs {
                write(k, out);
                write(v, out);
            }
        }
        Reply::Set(items) => {
            out.set(items.len());
            items.iter().for_each(|r| write(r, out));
        }
        Reply::Push(items) => {
            out.push(items.len());
            items.iter().for_each(|r| write(r, out));
        }
    }
}

fn expect3(reply: &Reply) -> F3 {
    match reply {
        Reply::Simple(s) => F3::SimpleString {
            data: s.clone().into_bytes(),
            attributes: None,
        },
        Reply::Error(e) => F3::SimpleError {
            data: e.clone(),
            attributes: None,
        },
        Reply::Int(n) => F3::Number {
            data: *n,
            attributes: None,
        },
        Reply::Bulk(b) => F3::BlobString {
            data: b.clone(),
            attributes: None,
        },
        Reply::Null | Reply::NullArray => F3::Null,
        Reply::Double(d) => F3::Double {
            data: *d,
            attributes: None,
        },
        Reply::Bool(b) => F3::Boolean {
            data: *b,
            attributes: None,
        },
        Reply::BigNumber(n) => F3::BigNumber {
            data: n.clone().into_bytes(),
            attributes: None,
        },
        Reply::Verbatim(format, text) => F3::VerbatimString {
            data: text.clone(),
            format: if *format == "txt" {
                VerbatimStringFormat::Text
            } else {
                VerbatimStringFormat::Markdown
            },
            attributes: None,
        },
        Reply::Array(items) => F3::Array {
            data: items.iter().map(expect3).collect(),
            attributes: None,
        },
        Reply::Map(pairs) => {
            let data: HashMap<F3, F3> = pairs
                .iter()
                .map(|(k, v)| (expect3(k), expect3(v)))
                .collect();
            F3::Map {
                data,
                attributes: None,
            }
        }
        Reply::Set(items) => {
            let data: HashSet<F3> = items.iter().map(expect3).collect();
            F3::Set {
                data,
                attributes: None,
            }
        }
        Reply::Push(items) => F3::Push {
            data: items.iter().map(expect3).collect(),
            attributes: None,
        },
    }
}

/// RESP2 has no map, set, double, boolean, big number, verbatim or push: Redis sends a flat array
/// of 2n, an array, a bulk string, an integer, bulk strings and an array.
fn expect2(reply: &Reply) -> F2 {
    match reply {
        Reply::Simple(s) => F2::SimpleString(s.clone().into_bytes()),
        Reply::Error(e) => F2::Error(e.clone()),
        Reply::Int(n) => F2::Integer(*n),
        Reply::Bulk(b) => F2::BulkString(b.clone()),
        Reply::Null | Reply::NullArray => F2::Null,
        Reply::Double(d) => F2::BulkString(format_double(*d).into_bytes()),
        Reply::Bool(b) => F2::Integer(*b as i64),
        Reply::BigNumber(n) => F2::BulkString(n.clone().into_bytes()),
        Reply::Verbatim(_, text) => F2::BulkString(text.clone()),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
            F2::Array(items.iter().map(expect2).collect())
        }
        Reply::Map(pairs) => F2::Array(
            pairs
                .iter()
                .flat_map(|(k, v)| [expect2(k), expect2(v)])
                .collect(),
        ),
    }
}

fn line_text() -> impl Strategy<Value = String> {
    "[^\r\n]{0,16}"
}

/// Values that may be map keys or set members (`redis-protocol` can only hash scalars).
fn scalar_key() -> impl Strategy<Value = Reply> {
    prop_oneof![
        line_text().prop_map(Reply::Simple),
        any::<i64>().prop_map(Reply::Int),
        vec(any::<u8>(), 0..16).prop_map(Reply::Bulk),
    ]
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => any::<f64>().prop_filter("nan is checked apart", |d| !d.is_nan()),
        1 => prop::sample::select(vec![0.0, -0.0, 1.0, 0.1, 1e17, 1e16, 1e-4, 1e-5, 1.5e300, f64::MIN_POSITIVE, f64::INFINITY, f64::NEG_INFINITY]),
        2 => (-1_000_000i64..1_000_000).prop_map(|n| n as f64 / 8.0),
    ]
}

fn scalar() -> impl Strategy<Value = Reply> {
    prop_oneof![
        line_text().prop_map(Reply::Simple),
        line_text().prop_map(Reply::Error),
        any::<i64>().prop_map(Reply::Int),
        vec(any::<u8>(), 0..32).prop_map(Reply::Bulk),
        Just(Reply::Null),
        Just(Reply::NullArray),
        double().prop_map(Reply::Double),
        any::<bool>().prop_map(Reply::Bool),
        "-?[1-9][0-9]{0,40}".prop_map(Reply::BigNumber),
        (
            prop::sample::select(vec!["txt", "mkd"]),
            vec(any::<u8>(), 0..32)
        )
            .prop_map(|(f, t)| Reply::Verbatim(f, t)),
    ]
}

fn dedup<T: Clone>(items: Vec<T>, key: impl Fn(&T) -> &Reply) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.iter().any(|seen| key(seen) == key(&item)) {
            out.push(item);
        }
    }
    out
}

fn reply_tree() -> impl Strategy<Value = Reply> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Reply::Array),
            vec((scalar_key(), inner), 0..6).prop_map(|pairs| Reply::Map(dedup(pairs, |(k, _)| k))),
            vec(scalar_key(), 0..6).prop_map(|items| Reply::Set(dedup(items, |r| r))),
        ]
    })
}

/// Push frames are top-level only in RESP3.
fn top_level_reply() -> impl Strategy<Value = Reply> {
    prop_oneof![4 => reply_tree(), 1 => vec(reply_tree(), 0..5).prop_map(Reply::Push)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn resp3_encoding_decodes_to_the_reply(reply in top_level_reply()) {
        let mut out = ReplyBuf::new(Protocol::Resp3);
        write(&reply, &mut out);
        let decoded = redis_protocol::resp3::decode::complete::decode(&out.to_vec());
        let Ok(Some((frame, used))) = decoded else {
            return Err(TestCaseError::fail(format!("undecodable {:?}: {:?}", String::from_utf8_lossy(&out.to_vec()), decoded)));
        };
        prop_assert_eq!(used, out.len());
        prop_assert_eq!(frame, expect3(&reply));
    }

    #[test]
    fn resp2_encoding_decodes_to_the_flattened_reply(reply in top_level_reply()) {
        let mut out = ReplyBuf::new(Protocol::Resp2);
        write(&reply, &mut out);
        let decoded = redis_protocol::resp2::decode::decode(&out.to_vec());
        let Ok(Some((frame, used))) = decoded else {
            return Err(TestCaseError::fail(format!("undecodable {:?}: {:?}", String::from_utf8_lossy(&out.to_vec()), decoded)));
        };
        prop_assert_eq!(used, out.len());
        prop_assert_eq!(frame, expect2(&reply));
    }

    #[test]
    fn doubles_format_like_printf_g17(d in double()) {
        prop_assert_eq!(format_double(d), printf_g17(d));
        if d.is_finite() {
            prop_assert_eq!(format_double(d).parse::<f64>().ok(), Some(d), "%.17g round-trips");
        }
    }
}

/// CR and LF in status and error text would end the frame; they become spaces.
#[test]
fn line_breaks_in_simple_strings_and_errors_become_spaces() {
    let mut out = ReplyBuf::new(Protocol::Resp3);
    out.simple("a\r\nb");
    out.error("ERR x\ny");
    out.error_bytes(b"ERR \xff\r");
    assert_eq!(&out.to_vec()[..], b"+a  b\r\n-ERR x y\r\n-ERR \xff \r\n");
}

#[test]
fn nan_is_sent_as_nan() {
    let mut out = ReplyBuf::new(Protocol::Resp3);
    out.double(f64::NAN);
    let Ok(Some((F3::Double { data, .. }, _))) =
        redis_protocol::resp3::decode::complete::decode(&out.to_vec())
    else {
        panic!("undecodable {:?}", out.to_vec());
    };
    assert!(data.is_nan());
    let mut out = ReplyBuf::new(Protocol::Resp2);
    out.double(f64::NAN);
    assert_eq!(&out.to_vec()[..], b"$3\r\nnan\r\n");
}

/// glibc's `%.17g`, which Redis 7.0's `addReplyDouble` uses; `inf`/`-inf`/`nan` as Redis writes them.
fn printf_g17(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is 64 bytes and snprintf is told so; %.17g of a double fits in 32.
    let n = unsafe {
        libc::snprintf(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%.17g".as_ptr(),
            d,
        )
    };
    String::from_utf8_lossy(&buf[..n as usize]).into_owned()
}
