//! What each link of this daemon is doing (`CACHE.PEER LIST`, INFO coherence); the links
//! themselves run in `net::coherence::link`.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

pub const CONNECTING: u8 = 0;
pub const UP: u8 = 1;
pub const DOWN: u8 = 2;

pub struct LinkState {
    /// host:port of the peer, or of the bus.
    pub addr: String,
    pub bus: bool,
    pub state: AtomicU8,
    pub messages: AtomicU64,
    pub connects: AtomicU64,
    /// Receive time minus publish time of the last message applied, in ms.
    pub lag_ms: AtomicU64,
    /// This link's share of INFO coherence's `gaps`, `replays` and `link_losses` (per peer on
    /// /metrics, so that an operator sees which link misbehaves).
    pub gaps: AtomicU64,
    pub replays: AtomicU64,
    pub losses: AtomicU64,
}

impl LinkState {
    pub fn new(addr: String, bus: bool) -> Self {
        LinkState {
            addr,
            bus,
            state: AtomicU8::new(CONNECTING),
            messages: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            lag_ms: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            replays: AtomicU64::new(0),
            losses: AtomicU64::new(0),
        }
    }

    pub fn state_name(&self) -> &'static str {
        match self.state.load(Ordering::Relaxed) {
            UP => "up",
            DOWN => "down",
            _ => "connecting",
        }
    }
}
