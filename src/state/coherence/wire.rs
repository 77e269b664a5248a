//! The text format of invalidation messages on `__cachet__:invalidations`: readable with
//! `redis-cli SUBSCRIBE __cachet__:invalidations`, binary-safe thanks to length prefixes, and
//! decoded without panics from any bytes (a message that does not parse is `None`).
//!
//! ```text
//! message := "cachet1" SP origin SP run SP seq SP time (SP item)+
//! origin  := 1..=64 of [A-Za-z0-9_-]          (the publisher's node-id)
//! run     := decimal u64: the publisher's start time (Unix ms), new at each restart
//! seq     := decimal u64, 1 for the first message of a run, +1 per message
//! time    := decimal u64: when the message was published (Unix ms), for the receivers' lag
//! item    := "key" SP db SP blob              (a key overwritten or deleted)
//!          | "tag" SP db SP blob              (TAG.INVALIDATE of one tag)
//!          | "pattern" SP db SP blob          (CACHE.INVALIDATE of one glob pattern)
//!          | "flushdb" SP db                  (FLUSHDB, SWAPDB)
//!          | "flushall"
//! blob    := len ":" <len raw bytes>
//!
//! signed  := message SP "hmac" SP 64 hex digits
//! ```
//!
//! e.g. `cachet1 3f9a... 1795310000000 42 1795310042123 key 0 5:user1 tag 0 7:user:42 flushdb 3`.
//!
//! With `coherence-secret` set, the publisher sends the `signed` form: the trailer is the
//! HMAC-SHA256 (keyed by the secret, lowercase hex) of every byte of the message before the space
//! that precedes `hmac` (`auth`). Blobs are length-prefixed, so `hmac` can only be read where an
//! item name is expected: a key ending in "hmac ..." is no trailer. Without a secret the plain form
//! is sent, as before, and a receiver without a secret reads either (ignoring the trailer).

use bytes::Bytes;

use super::auth::{self, Key, TAG_HEX};

pub const VERSION: &[u8] = b"cachet1";
/// Longest node id: enough for a UUID or a host name, short enough to repeat in every message.
pub const MAX_NODE_ID: usize = 64;
/// Digits of a length or database index we read: more cannot be a u64 (parsing catches the rest).
const MAX_DIGITS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Key { db: usize, key: Bytes },
    Tag { db: usize, name: Bytes },
    Pattern { db: usize, pattern: Bytes },
    FlushDb { db: usize },
    FlushAll,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub origin: Bytes,
    pub run: u64,
    pub seq: u64,
    pub time_ms: u64,
    pub items: Vec<Item>,
    /// The `hmac` trailer of a signed message.
    pub signature: Option<Signature>,
}

/// A message's `hmac` trailer: the MAC (hex, as sent) of its first `covers` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    pub tag_hex: [u8; TAG_HEX],
    pub covers: usize,
}

impl Message {
    /// Whether `payload` (the bytes this message was decoded from) carries a valid MAC for `key`.
    pub fn signed_by(&self, key: &Key, payload: &[u8]) -> bool {
        self.signature.is_some_and(|sig| {
            payload
                .get(..sig.covers)
                .is_some_and(|covered| auth::verify(key, &[covered], &sig.tag_hex))
        })
    }
}

/// Who published a message and where it stands in the publisher's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub run: u64,
    pub seq: u64,
    pub time_ms: u64,
}

pub fn valid_node_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_NODE_ID
        && id
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// The message, signed with `key` when there is one.
#[cfg(test)]
pub fn encode_signed(origin: &[u8], header: Header, items: &[Item], key: Option<&Key>) -> Vec<u8> {
    encode_message(origin, header, &encode_items(items), key)
}

#[cfg(test)]
pub fn encode(origin: &[u8], header: Header, items: &[Item]) -> Vec<u8> {
    encode_message(origin, header, &encode_items(items), None)
}

#[cfg(test)]
fn encode_items(items: &[Item]) -> Vec<u8> {
    let mut encoded = Vec::new();
    for item in items {
        encode_item(&mut encoded, item.borrowed());
    }
    encoded
}

/// The message of `items` already encoded back to back (`encode_item`: the publisher encodes
/// each as its change is queued), signed with `key` when there is one.
pub fn encode_message(origin: &[u8], header: Header, items: &[u8], key: Option<&Key>) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + TAG_HEX + items.len());
    out.extend_from_slice(VERSION);
    out.push(b' ');
    out.extend_from_slice(origin);
    let Header { run, seq, time_ms } = header;
    let mut digits = itoa::Buffer::new();
    for n in [run, seq, time_ms] {
        out.push(b' ');
        out.extend_from_slice(digits.format(n).as_bytes());
    }
    out.extend_from_slice(items);
    if let Some(key) = key {
        let tag = auth::sign(key, &[&out]);
        out.extend_from_slice(b" hmac ");
        out.extend_from_slice(&tag);
    }
    out
}

/// What an `Item` holds, borrowed: what a keyspace notice publishes, encoded without a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemRef<'a> {
    Key { db: usize, key: &'a [u8] },
    Tag { db: usize, name: &'a [u8] },
    Pattern { db: usize, pattern: &'a [u8] },
    FlushDb { db: usize },
    FlushAll,
}

/// For the tests and the fuzz target, which encode decoded items again.
impl Item {
    pub fn borrowed(&self) -> ItemRef<'_> {
        match self {
            Item::Key { db, key } => ItemRef::Key { db: *db, key },
            Item::Tag { db, name } => ItemRef::Tag { db: *db, name },
            Item::Pattern { db, pattern } => ItemRef::Pattern { db: *db, pattern },
            Item::FlushDb { db } => ItemRef::FlushDb { db: *db },
            Item::FlushAll => ItemRef::FlushAll,
        }
    }
}

/// Appends one item as a message carries it, with the space before it.
pub fn encode_item(out: &mut Vec<u8>, item: ItemRef<'_>) {
    let (name, db, blob): (&str, Option<usize>, Option<&[u8]>) = match item {
        ItemRef::Key { db, key } => ("key", Some(db), Some(key)),
        ItemRef::Tag { db, name } => ("tag", Some(db), Some(name)),
        ItemRef::Pattern { db, pattern } => ("pattern", Some(db), Some(pattern)),
        ItemRef::FlushDb { db } => ("flushdb", Some(db), None),
        ItemRef::FlushAll => ("flushall", None, None),
    };
    let mut digits = itoa::Buffer::new();
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    if let Some(db) = db {
        out.push(b' ');
        out.extend_from_slice(digits.format(db).as_bytes());
    }
    if let Some(blob) = blob {
        out.push(b' ');
        out.extend_from_slice(digits.format(blob.len()).as_bytes());
        out.push(b':');
        out.extend_from_slice(blob);
    }
}

/// A cursor over a message's bytes; blobs are slices of the message (`Bytes::slice_ref`, no copy).
struct Reader<'a> {
    message: &'a Bytes,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// The next space-delimited word (not consuming blobs).
    fn word(&mut self) -> Option<&'a [u8]> {
        let end = self
            .rest
            .iter()
            .position(|&c| c == b' ')
            .unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest.strip_prefix(b" ").unwrap_or(rest);
        (!word.is_empty()).then_some(word)
    }

    fn number(&mut self) -> Option<u64> {
        digits(self.word()?)
    }

    fn blob(&mut self) -> Option<Bytes> {
        let colon = self
            .rest
            .iter()
            .take(MAX_DIGITS + 1)
            .position(|&c| c == b':')?;
        let len = usize::try_from(digits(self.rest.get(..colon)?)?).ok()?;
        let start = colon + 1;
        let end = start.checked_add(len)?;
        let blob = self.message.slice_ref(self.rest.get(start..end)?);
        let rest = self.rest.get(end..)?;
        self.rest = match rest.first() {
            None => rest,
            Some(b' ') => rest.get(1..)?,
            Some(_) => return None,
        };
        Some(blob)
    }
}

fn digits(word: &[u8]) -> Option<u64> {
    if word.is_empty() || word.len() > MAX_DIGITS || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(word).ok()?.parse().ok()
}

/// The message `bytes` holds; its origin and blobs share `bytes`' buffer (a peer applies
/// hundreds of keys per message, each of which was an allocation and a copy).
pub fn decode(bytes: &Bytes) -> Option<Message> {
    let mut reader = Reader {
        message: bytes,
        rest: bytes,
    };
    if reader.word()? != VERSION {
        return None;
    }
    let origin = reader.word()?;
    if !valid_node_id(origin) {
        return None;
    }
    let origin = bytes.slice_ref(origin);
    let run = reader.number()?;
    let seq = reader.number()?;
    let time_ms = reader.number()?;
    let mut items = Vec::new();
    let mut signature = None;
    while !reader.rest.is_empty() {
        // Where the separator before this word starts: what a trailer here would cover.
        let covers = bytes.len() - reader.rest.len() - 1;
        let name = reader.word()?;
        let item = match name {
            b"hmac" => {
                let tag = reader.word()?;
                if !reader.rest.is_empty() || items.is_empty() {
                    return None;
                }
                signature = Some(Signature {
                    tag_hex: tag.try_into().ok()?,
                    covers,
                });
                break;
            }
            b"flushall" => Item::FlushAll,
            b"flushdb" => Item::FlushDb {
                db: usize::try_from(reader.number()?).ok()?,
            },
            b"key" | b"tag" | b"pattern" => {
                let db = usize::try_from(reader.number()?).ok()?;
                let blob = reader.blob()?;
                match name {
                    b"key" => Item::Key { db, key: blob },
                    b"tag" => Item::Tag { db, name: blob },
                    _ => Item::Pattern { db, pattern: blob },
                }
            }
            _ => return None,
        };
        items.push(item);
    }
    (!items.is_empty()).then_some(Message {
        origin,
        run,
        seq,
        time_ms,
        items,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_slice(bytes: &[u8]) -> Option<Message> {
        decode(&Bytes::copy_from_slice(bytes))
    }

    fn b(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    #[test]
    fn readable_and_binary_safe() {
        let items = vec![
            Item::Key {
                db: 0,
                key: b(b"user 1:x"),
            },
            Item::Tag {
                db: 2,
                name: b(b"user:42"),
            },
            Item::Pattern {
                db: 0,
                pattern: b(b""),
            },
            Item::FlushDb { db: 3 },
            Item::FlushAll,
        ];
        let header = Header {
            run: 1000,
            seq: 7,
            time_ms: 1234,
        };
        let text = encode(b"node-a", header, &items);
        assert_eq!(
            text,
            b"cachet1 node-a 1000 7 1234 key 0 8:user 1:x tag 2 7:user:42 pattern 0 0: flushdb 3 flushall"
        );
        let decoded = decode_slice(&text).expect("decodes");
        assert_eq!(decoded.origin, b(b"node-a"));
        assert_eq!((decoded.run, decoded.seq, decoded.time_ms), (1000, 7, 1234));
        assert_eq!(decoded.items, items);
        assert_eq!(decoded.signature, None);
    }

    #[test]
    fn signed_messages() {
        let key = auth::key(b"s3cret").unwrap();
        let header = Header {
            run: 1000,
            seq: 7,
            time_ms: 1234,
        };
        let text = encode_signed(b"node-a", header, &[Item::FlushAll], Some(&key));
        let plain = b"cachet1 node-a 1000 7 1234 flushall";
        assert_eq!(&text[..plain.len()], plain);
        assert_eq!(&text[plain.len()..plain.len() + 6], b" hmac ");
        assert_eq!(
            &text[plain.len() + 6..],
            &auth::sign(&key, &[plain])[..],
            "the MAC covers every byte before the trailer"
        );
        let decoded = decode_slice(&text).unwrap();
        assert_eq!(decoded.items, vec![Item::FlushAll]);
        assert!(decoded.signed_by(&key, &text));
        // Without a key the plain form is sent.
        assert_eq!(
            encode_signed(b"node-a", header, &[Item::FlushAll], None),
            plain
        );
        // A key whose bytes end like a trailer is a key.
        let mut tricky = b"hmac ".to_vec();
        tricky.extend_from_slice(&auth::sign(&key, &[b"x"]));
        let items = [Item::Key {
            db: 0,
            key: Bytes::from(tricky),
        }];
        let decoded = decode_slice(&encode(b"n", header, &items)).unwrap();
        assert_eq!(decoded.items, items);
        assert_eq!(decoded.signature, None);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b""[..],
            b"cachet1",
            b"cachet1 a 1 1 1",
            b"cachet1 a 1 1 flushall",
            b"cachet2 a 1 1 1 flushall",
            b"cachet1 a! 1 1 1 flushall",
            b"cachet1 a 1 -1 1 flushall",
            b"cachet1 a 1 1 1 key 0 9:short",
            b"cachet1 a 1 1 1 key 0 3:abcd",
            b"cachet1 a 1 1 1 key 0 99999999999999999999:x",
            b"cachet1 a 1 1 1 key x 1:a",
            b"cachet1 a 1 1 1 flushall  ",
            b"cachet1 a 1 1 1 what",
            b"cachet1 a 1 1 1 hmac 0000000000000000000000000000000000000000000000000000000000000000",
            b"cachet1 a 1 1 1 flushall hmac 00",
            b"cachet1 a 1 1 1 flushall hmac",
            b"cachet1 a 1 1 1 flushall hmac 0000000000000000000000000000000000000000000000000000000000000000 flushall",
        ] {
            assert_eq!(decode_slice(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    fn item() -> impl Strategy<Value = Item> {
        let blob = proptest::collection::vec(any::<u8>(), 0..20).prop_map(Bytes::from);
        prop_oneof![
            (0usize..16, blob.clone()).prop_map(|(db, key)| Item::Key { db, key }),
            (0usize..16, blob.clone()).prop_map(|(db, name)| Item::Tag { db, name }),
            (0usize..16, blob).prop_map(|(db, pattern)| Item::Pattern { db, pattern }),
            (0usize..16).prop_map(|db| Item::FlushDb { db }),
            Just(Item::FlushAll),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(
            origin in "[A-Za-z0-9_-]{1,64}",
            run in any::<u64>(),
            seq in any::<u64>(),
            time_ms in any::<u64>(),
            items in proptest::collection::vec(item(), 1..8),
        ) {
            let text = encode(origin.as_bytes(), Header { run, seq, time_ms }, &items);
            let decoded = decode_slice(&text);
            let origin = Bytes::from(origin);
            prop_assert_eq!(decoded, Some(Message { origin, run, seq, time_ms, items, signature: None }));
        }

        #[test]
        fn signed_round_trip(
            items in proptest::collection::vec(item(), 1..8),
            secret in proptest::collection::vec(any::<u8>(), 1..40),
        ) {
            let key = auth::key(&secret).unwrap();
            let header = Header { run: 5, seq: 9, time_ms: 11 };
            let plain = encode(b"n", header, &items);
            let signed = encode_signed(b"n", header, &items, Some(&key));
            let decoded = decode_slice(&signed).unwrap();
            prop_assert_eq!(&decoded.items, &items);
            prop_assert_eq!(decoded.signature.map(|s| s.covers), Some(plain.len()));
            prop_assert!(decoded.signed_by(&key, &signed));
            prop_assert!(!decode_slice(&plain).unwrap().signed_by(&key, &plain));
            let other = auth::key(b"another secret").unwrap();
            prop_assert!(!decoded.signed_by(&other, &signed));
            // Any change to the signed bytes breaks the signature.
            let mut tampered = signed.clone();
            tampered[8] ^= 1;
            prop_assert!(decode_slice(&tampered).is_none_or(|m| !m.signed_by(&key, &tampered)));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_slice(&bytes);
            let mut prefixed = b"cachet1 n 1 1 1 ".to_vec();
            prefixed.extend_from_slice(&bytes);
            let _ = decode_slice(&prefixed);
        }

        #[test]
        fn truncation_never_panics(
            items in proptest::collection::vec(item(), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let text = encode(b"n", Header { run: 1, seq: 1, time_ms: 1 }, &items);
            let _ = decode_slice(&text[..cut.index(text.len() + 1)]);
        }
    }
}
