//! cachet: a Redis-protocol-compatible cache daemon.
//!
//! `server::run` serves clients on a listener until a shutdown future completes; the binary in
//! `main.rs` only parses flags and the conf file and calls it, so tests start the real server
//! in-process on `127.0.0.1:0`.

#![deny(unsafe_code)]

pub mod commands;
pub mod engine;
pub mod error;
pub mod os;
pub mod protocol;
pub mod server;
pub mod sync;

pub use server::config::ConfigValues;
pub use server::run;
