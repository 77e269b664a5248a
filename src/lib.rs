//! cachet: a Redis-protocol-compatible cache daemon.
//!
//! `net::run` serves clients on a listener until a shutdown future completes; the binary in
//! `main.rs` only parses flags and the conf file and calls it, so tests start the real server
//! in-process on `127.0.0.1:0`.

#![deny(unsafe_code)]

// First, so that the command-table macros (`flags!`, `acl!`) are in scope everywhere after.
#[macro_use]
pub mod state;
pub mod commands;
pub mod engine;
pub mod error;
pub mod net;
pub mod os;
pub mod protocol;
pub mod sync;

pub use net::run;
pub use state::config::ConfigValues;
