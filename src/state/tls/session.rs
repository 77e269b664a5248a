//! TLS session resumption with `tls-session-cache-timeout` applied, as OpenSSL applies Redis's
//! `SSL_CTX_set_timeout`: a session (a TLSv1.2 session ID, or a ticket of either version) is
//! resumable until `timeout` seconds after it was issued, and the full handshake is done past
//! that. rustls keeps no age for either (its ticketer rotates keys every 6 hours; its session
//! cache drops entries by number only), so both wrappers put the issue time in front of what they
//! store: inside the encrypted ticket, or beside the cached session. Cost: 8 bytes per session.
//! The ticket keys still rotate as rustls's ticketer does them, for forward secrecy.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::server::{ProducesTickets, StoresServerSessions};

/// RFC 8446 caps a ticket's lifetime hint at 7 days.
const MAX_HINT_SECS: u64 = 7 * 24 * 3600;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `stamp ‖ data` → `data` when issued no more than `timeout` seconds ago (OpenSSL's test:
/// expired once the clock passes issue time + timeout).
fn fresh(stored: &[u8], timeout: u64) -> Option<Vec<u8>> {
    let (stamp, data) = stored.split_first_chunk::<8>()?;
    let issued = u64::from_be_bytes(*stamp);
    (now_secs() <= issued.saturating_add(timeout)).then(|| data.to_vec())
}

fn stamped(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&now_secs().to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// Tickets that say when they were issued, and are refused once older than the timeout.
#[derive(Debug)]
pub struct TimedTickets {
    pub inner: Arc<dyn ProducesTickets>,
    pub timeout: u64,
}

impl ProducesTickets for TimedTickets {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }

    /// The hint clients get: they stop offering the ticket after it.
    fn lifetime(&self) -> u32 {
        self.timeout.min(MAX_HINT_SECS) as u32
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.inner.encrypt(&stamped(plain))
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        fresh(&self.inner.decrypt(cipher)?, self.timeout)
    }
}

/// The session-ID cache (`tls-session-cache-size` entries), its entries refused once older than
/// the timeout (they are then replaced by newer ones as the cache fills).
#[derive(Debug)]
pub struct TimedSessions {
    pub inner: Arc<dyn StoresServerSessions>,
    pub timeout: u64,
}

impl StoresServerSessions for TimedSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, stamped(&value))
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        fresh(&self.inner.get(key)?, self.timeout)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        fresh(&self.inner.take(key)?, self.timeout)
    }

    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_expire_after_the_timeout_not_before() {
        let now = now_secs();
        let at = |t: u64| [&t.to_be_bytes()[..], b"session"].concat();
        assert_eq!(fresh(&at(now), 0).as_deref(), Some(&b"session"[..]));
        assert_eq!(fresh(&at(now - 300), 300).as_deref(), Some(&b"session"[..]));
        assert_eq!(fresh(&at(now - 302), 300), None);
        assert_eq!(
            fresh(&at(u64::MAX), u64::MAX).as_deref(),
            Some(&b"session"[..])
        );
        assert_eq!(fresh(b"short", 300), None);
        assert_eq!(fresh(&stamped(b"x"), 1).as_deref(), Some(&b"x"[..]));
    }

    #[test]
    fn the_hint_is_capped_at_seven_days() {
        let tickets = TimedTickets {
            inner: rustls::crypto::ring::Ticketer::new().unwrap(),
            timeout: u64::MAX,
        };
        assert_eq!(tickets.lifetime(), 604_800);
        let ticket = tickets.encrypt(b"state").unwrap();
        assert_eq!(tickets.decrypt(&ticket).as_deref(), Some(&b"state"[..]));
        assert_eq!(tickets.decrypt(b"forged"), None);
    }
}
