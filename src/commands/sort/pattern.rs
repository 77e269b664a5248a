//! SORT's BY and GET patterns, as Redis's `lookupKeyByPattern` reads them: `#` alone is the element
//! itself; otherwise the first `*` is replaced by the element to name a key, and a `->field` after
//! the `*` names a field of the hash at that key. A pattern without `*` names nothing (GET answers
//! nil, BY leaves the elements unsorted).
//!
//! Redis reads the pattern partly as a C string and partly as bytes, and both show: the `#` test,
//! the search for `*` and for `->`, and the test that a field name follows the arrow stop at the
//! first NUL; the key's tail and the field name are then cut from the whole argument, NULs and all.

use crate::error::c_string;

/// A BY or GET pattern, parsed once per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern<'a> {
    /// `#`: the element.
    Element,
    /// No `*`: no key.
    Constant,
    /// `prefix*suffix`, or `prefix*suffix->field`.
    Key {
        prefix: &'a [u8],
        suffix: &'a [u8],
        field: Option<&'a [u8]>,
    },
}

impl<'a> Pattern<'a> {
    pub fn parse(raw: &'a [u8]) -> Pattern<'a> {
        let text = c_string(raw);
        if text == b"#" {
            return Pattern::Element;
        }
        let Some(star) = text.iter().position(|&b| b == b'*') else {
            return Pattern::Constant;
        };
        let arrow = text[star + 1..]
            .windows(2)
            .position(|w| w == b"->")
            .map(|at| star + 1 + at)
            .filter(|&at| at + 2 < text.len());
        match arrow {
            Some(at) => Pattern::Key {
                prefix: &raw[..star],
                suffix: &raw[star + 1..at],
                field: Some(&raw[at + 2..]),
            },
            None => Pattern::Key {
                prefix: &raw[..star],
                suffix: &raw[star + 1..],
                field: None,
            },
        }
    }

    /// Whether the pattern names keys (and so may read any shard).
    pub fn reads_keys(&self) -> bool {
        matches!(self, Pattern::Key { .. })
    }

    /// The key this pattern names for `element`, into `key` (cleared first); false when it names
    /// none.
    pub fn key_for(&self, element: &[u8], key: &mut Vec<u8>) -> bool {
        let Pattern::Key { prefix, suffix, .. } = self else {
            return false;
        };
        key.clear();
        key.extend_from_slice(prefix);
        key.extend_from_slice(element);
        key.extend_from_slice(suffix);
        true
    }

    pub fn field(&self) -> Option<&'a [u8]> {
        match self {
            Pattern::Key { field, .. } => *field,
            Pattern::Element | Pattern::Constant => None,
        }
    }
}

/// Whether a BY argument sorts at all: Redis skips sorting when it has no `*` (as a C string).
pub fn sorts_by(raw: &[u8]) -> bool {
    c_string(raw).contains(&b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pattern: &[u8], element: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
        let pattern = Pattern::parse(pattern);
        let mut key = Vec::new();
        pattern
            .key_for(element, &mut key)
            .then(|| (key, pattern.field().map(<[u8]>::to_vec)))
    }

    #[test]
    fn substitution_as_redis() {
        assert_eq!(Pattern::parse(b"#"), Pattern::Element);
        assert_eq!(Pattern::parse(b"#\0x"), Pattern::Element);
        assert_eq!(Pattern::parse(b"##"), Pattern::Constant);
        assert_eq!(Pattern::parse(b"nosort"), Pattern::Constant);
        assert_eq!(Pattern::parse(b""), Pattern::Constant);
        assert_eq!(Pattern::parse(b"a\0*"), Pattern::Constant);
        assert_eq!(key(b"w_*", b"3"), Some((b"w_3".to_vec(), None)));
        assert_eq!(key(b"*", b"x"), Some((b"x".to_vec(), None)));
        // Only the first star is replaced.
        assert_eq!(key(b"a*b*", b"1"), Some((b"a1b*".to_vec(), None)));
        assert_eq!(
            key(b"h_*->f", b"1"),
            Some((b"h_1".to_vec(), Some(b"f".to_vec())))
        );
        // The arrow counts after the star only, and needs a field name after it.
        assert_eq!(key(b"a->b*", b"1"), Some((b"a->b1".to_vec(), None)));
        assert_eq!(key(b"h*->", b"1"), Some((b"h1->".to_vec(), None)));
        assert_eq!(
            key(b"h*->->f", b"1"),
            Some((b"h1".to_vec(), Some(b"->f".to_vec())))
        );
        assert_eq!(
            key(b"h*x->f->g", b"1"),
            Some((b"h1x".to_vec(), Some(b"f->g".to_vec())))
        );
        // NULs: the arrow search stops at one, the field and the tail do not.
        assert_eq!(
            key(b"h*->f\0g", b"1"),
            Some((b"h1".to_vec(), Some(b"f\0g".to_vec())))
        );
        assert_eq!(key(b"h*->\0g", b"1"), Some((b"h1->\0g".to_vec(), None)));
        assert_eq!(key(b"h*\0->f", b"1"), Some((b"h1\0->f".to_vec(), None)));
        assert!(sorts_by(b"w_*"));
        assert!(!sorts_by(b"nosort"));
        assert!(!sorts_by(b"x\0*"));
    }
}
