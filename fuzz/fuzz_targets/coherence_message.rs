//! The two parsers a coherence link runs on bytes from the network: the RESP reader of its
//! subscription (`resp::parse`) and the invalidation message decoder (`wire::decode`). Beyond "no
//! panic": a decoded message re-encodes to bytes that decode to the same message; a signed one's
//! `hmac` trailer covers exactly the bytes that decode to it unsigned, and checking it (against a
//! fixed key) never panics; the RESP reader consumes exactly the frames it returns (never more
//! than it was given).
#![no_main]

use bytes::{Bytes, BytesMut};
use cachet::net::coherence::resp;
use cachet::state::coherence::{auth, wire};
use libfuzzer_sys::fuzz_target;

/// What the publisher sends for `items`: each encoded as its change is queued, then framed.
fn encode(
    origin: &[u8],
    header: wire::Header,
    items: &[wire::Item],
    key: Option<&auth::Key>,
) -> Bytes {
    let mut encoded = Vec::new();
    for item in items {
        wire::encode_item(&mut encoded, item.borrowed());
    }
    Bytes::from(wire::encode_message(origin, header, &encoded, key))
}

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Some(mut message) = wire::decode(&bytes) {
        let key = auth::key(b"fuzz").expect("a key");
        let _ = message.signed_by(&key, data);
        if let Some(signature) = message.signature.take() {
            let covered = wire::decode(&bytes.slice(..signature.covers));
            assert_eq!(
                covered.as_ref(),
                Some(&message),
                "the trailer covers the message"
            );
        }
        let header = wire::Header {
            run: message.run,
            seq: message.seq,
            time_ms: message.time_ms,
        };
        let again = encode(&message.origin, header, &message.items, None);
        assert_eq!(wire::decode(&again), Some(message.clone()));
        let signed = encode(&message.origin, header, &message.items, Some(&key));
        let decoded = wire::decode(&signed).expect("a signed message decodes");
        assert!(decoded.signed_by(&key, &signed));
    }
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match resp::parse(&mut buf) {
            Ok(Some(_)) => assert!(buf.len() < before, "a frame consumes bytes"),
            Ok(None) => {
                assert_eq!(buf.len(), before, "waiting consumes nothing");
                break;
            }
            Err(_) => break,
        }
    }
});
