//! The two parsers a coherence link runs on bytes from the network: the RESP reader of its
//! subscription (`resp::parse`) and the invalidation message decoder (`wire::decode`). Beyond "no
//! panic": a decoded message re-encodes to bytes that decode to the same message, and the RESP
//! reader consumes exactly the frames it returns (never more than it was given).
#![no_main]

use bytes::BytesMut;
use cachet::server::coherence::{resp, wire};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(message) = wire::decode(data) {
        let header = wire::Header {
            run: message.run,
            seq: message.seq,
            time_ms: message.time_ms,
        };
        let again = wire::encode(&message.origin, header, &message.items);
        assert_eq!(wire::decode(&again), Some(message));
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
