//! The wire: RESP request parsing and reply encoding. Knows nothing of commands or the keyspace.

pub mod reply;
pub mod request;

pub use reply::{format_double, Protocol, ReplyBuf};
pub use request::{parse_i64, Limits, ProtocolError, RequestParser};
