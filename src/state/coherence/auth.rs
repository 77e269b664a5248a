//! The coherence secret (`coherence-secret`): what proves that a message, or the daemon at the
//! other end of a connection, belongs to the fleet. HMAC-SHA256 keyed by the secret (RustCrypto's
//! `hmac` and `sha2`; no cryptography of our own), every comparison in constant time
//! (`Mac::verify_slice`).
//!
//! - Messages: the publisher appends `hmac <64 hex>`, the MAC of every byte before it (`wire`), so
//!   a receiver drops an unsigned or badly signed message whichever way it came: from a peer, from
//!   a bus shared with other tenants (which cachet cannot police), or in a replay (which returns
//!   the messages as published).
//! - Connections (`CACHE.PEER CHALLENGE`, then `CACHE.PEER AUTH <nonce> <proof>`): the daemon
//!   hands out a random nonce, the link answers with its own nonce and a MAC over both, and the
//!   daemon replies with another MAC over both. Each side has then proved it holds the secret
//!   without sending it, and a recorded exchange cannot be played again (the daemon's nonce is new
//!   each time). The link trusts what it is told on the connection (a position, a replay); the
//!   daemon marks the connection a peer: authenticated as after AUTH (so links work with
//!   `requirepass`, as Redis's `masterauth` lets a replica in) and allowed to publish on the
//!   `__cachet__:` channels (what a cachet used as the bus needs).
//!
//! Cost: one MAC per message published and per message received (SHA-256 over the message, ~100
//! bytes to 64 KiB); the handshake adds two round trips to a connection, which links open only to
//! subscribe and to recover.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub type Key = Hmac<Sha256>;

/// Bytes of a MAC, and hex digits of one on the wire.
pub const TAG_BYTES: usize = 32;
pub const TAG_HEX: usize = 2 * TAG_BYTES;
/// Random bytes of a handshake nonce (32 hex digits on the wire).
const NONCE_BYTES: usize = 16;

const CLIENT_PROOF: &[u8] = b"cachet-peer-auth client ";
const SERVER_PROOF: &[u8] = b"cachet-peer-auth server ";

/// The key for a secret; `None` for an empty one (messages are then neither signed nor checked).
pub fn key(secret: &[u8]) -> Option<Key> {
    if secret.is_empty() {
        return None;
    }
    // HMAC takes a key of any length: this cannot fail.
    Key::new_from_slice(secret).ok()
}

fn mac(key: &Key, parts: &[&[u8]]) -> Key {
    let mut mac = key.clone();
    for part in parts {
        mac.update(part);
    }
    mac
}

/// The MAC of `parts` concatenated, as lowercase hex.
pub fn sign(key: &Key, parts: &[&[u8]]) -> [u8; TAG_HEX] {
    let tag = mac(key, parts).finalize().into_bytes();
    let mut out = [0u8; TAG_HEX];
    for (i, byte) in tag.iter().enumerate() {
        out[2 * i] = HEX[usize::from(byte >> 4)];
        out[2 * i + 1] = HEX[usize::from(byte & 15)];
    }
    out
}

/// Whether `tag_hex` is the MAC of `parts` (any case of hex digits; constant time in the tag).
pub fn verify(key: &Key, parts: &[&[u8]], tag_hex: &[u8]) -> bool {
    match unhex(tag_hex) {
        Some(tag) => mac(key, parts).verify_slice(&tag).is_ok(),
        None => false,
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn unhex(text: &[u8]) -> Option<[u8; TAG_BYTES]> {
    if text.len() != TAG_HEX {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; TAG_BYTES];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// A fresh handshake nonce (hex), from the operating system's random source.
pub fn nonce() -> String {
    let mut bytes = [0u8; NONCE_BYTES];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness (not seen on Linux): still unpredictable enough to be unique.
        bytes.iter_mut().for_each(|b| *b = fastrand::u8(..));
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the link sends in `CACHE.PEER AUTH`: proof that it holds the secret, bound to both nonces.
pub fn client_proof(key: &Key, server_nonce: &[u8], client_nonce: &[u8]) -> [u8; TAG_HEX] {
    sign(key, &[CLIENT_PROOF, server_nonce, b" ", client_nonce])
}

/// What the daemon replies to a valid `CACHE.PEER AUTH`: its own proof, which the link checks.
pub fn server_proof(key: &Key, server_nonce: &[u8], client_nonce: &[u8]) -> [u8; TAG_HEX] {
    sign(key, &[SERVER_PROOF, server_nonce, b" ", client_nonce])
}

pub fn verify_client_proof(
    key: &Key,
    server_nonce: &[u8],
    client_nonce: &[u8],
    proof: &[u8],
) -> bool {
    verify(
        key,
        &[CLIENT_PROOF, server_nonce, b" ", client_nonce],
        proof,
    )
}

pub fn verify_server_proof(
    key: &Key,
    server_nonce: &[u8],
    client_nonce: &[u8],
    proof: &[u8],
) -> bool {
    verify(
        key,
        &[SERVER_PROOF, server_nonce, b" ", client_nonce],
        proof,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_as_specified() {
        // RFC 4231, test case 2.
        let key = key(b"Jefe").unwrap();
        let tag = sign(&key, &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            &tag[..],
            b"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify(&key, &[b"what do ya want for nothing?"], &tag));
        assert!(verify(
            &key,
            &[b"what do ya want for nothing?"],
            &tag.to_ascii_uppercase()
        ));
        assert!(!verify(&key, &[b"what do ya want for nothing!"], &tag));
        assert!(!verify(&key, &[b"what do ya want for nothing?"], &tag[1..]));
        assert!(!verify(&key, &[b"x"], b"zz"));
        assert!(super::key(b"").is_none());
    }

    /// What signing costs per message (run with `cargo test --release --lib signing_cost --
    /// --ignored --nocapture`): the publisher signs each message once, each receiver checks it.
    #[test]
    #[ignore]
    fn signing_cost() {
        let key = key(b"a fleet secret").unwrap();
        for size in [100, 8 * 1024, 64 * 1024] {
            let message = vec![b'x'; size];
            let rounds = (64 * 1024 * 1024 / size).min(200_000);
            let started = std::time::Instant::now();
            let mut sink = 0u8;
            for _ in 0..rounds {
                sink ^= sign(&key, &[&message])[0];
            }
            let per = started.elapsed().as_nanos() as f64 / rounds as f64;
            println!(
                "sign {size} B: {:.0} ns ({:.0} MB/s) [{sink}]",
                per,
                size as f64 / per * 1e3
            );
        }
    }

    #[test]
    fn handshake_proofs_are_bound_to_both_nonces_and_sides() {
        let key = key(b"s3cret").unwrap();
        let other = super::key(b"other").unwrap();
        let (server, client) = (nonce(), nonce());
        assert_eq!(server.len(), 2 * NONCE_BYTES);
        assert_ne!(server, client);
        let (s, c) = (server.as_bytes(), client.as_bytes());
        let proof = client_proof(&key, s, c);
        assert!(verify_client_proof(&key, s, c, &proof));
        assert!(!verify_client_proof(&other, s, c, &proof));
        assert!(!verify_client_proof(&key, c, s, &proof));
        assert!(!verify_server_proof(&key, s, c, &proof));
        assert!(verify_server_proof(&key, s, c, &server_proof(&key, s, c)));
    }
}
