//! Glob matching with the rules of Redis's `stringmatchlen`: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`
//! (reversed ranges allowed), `\` escapes inside and outside classes, and an unterminated `[` that
//! takes the rest of the pattern as its class. Iterative with single-star backtracking, so a
//! hostile pattern costs O(pattern × subject), never exponential time or stack.

pub fn glob_match(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    let (mut p, mut s) = (0usize, 0usize);
    // Where to resume after the last `*`: pattern index after the star, subject index it covers up to.
    let mut backtrack: Option<(usize, usize)> = None;
    while s < subject.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    backtrack = Some((p, s));
                    continue;
                }
                _ => {
                    if let Some(next_p) = match_one(pattern, p, subject[s], nocase) {
                        p = next_p;
                        s += 1;
                        continue;
                    }
                }
            }
        }
        match backtrack {
            Some((star_p, star_s)) => {
                p = star_p;
                s = star_s + 1;
                backtrack = Some((star_p, star_s + 1));
            }
            None => return false,
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Matches one subject byte against the pattern element at `p`; returns the index after it.
fn match_one(pattern: &[u8], p: usize, c: u8, nocase: bool) -> Option<usize> {
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    match pattern[p] {
        b'?' => Some(p + 1),
        b'[' => {
            let mut i = p + 1;
            let negate = pattern.get(i) == Some(&b'^');
            if negate {
                i += 1;
            }
            let mut matched = false;
            loop {
                match pattern.get(i) {
                    None => {
                        // Unterminated class: Redis ends it at the pattern's end.
                        break;
                    }
                    Some(b']') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if i + 1 < pattern.len() => {
                        if eq(pattern[i + 1], c) {
                            matched = true;
                        }
                        i += 2;
                    }
                    Some(&start) if pattern.get(i + 1) == Some(&b'-') && i + 2 < pattern.len() => {
                        let end = pattern[i + 2];
                        let (mut lo, mut hi) = if start > end {
                            (end, start)
                        } else {
                            (start, end)
                        };
                        let mut ch = c;
                        if nocase {
                            lo = lo.to_ascii_lowercase();
                            hi = hi.to_ascii_lowercase();
                            ch = ch.to_ascii_lowercase();
                        }
                        if ch >= lo && ch <= hi {
                            matched = true;
                        }
                        i += 3;
                    }
                    Some(&literal) => {
                        if eq(literal, c) {
                            matched = true;
                        }
                        i += 1;
                    }
                }
            }
            (matched != negate).then_some(i)
        }
        b'\\' if p + 1 < pattern.len() => eq(pattern[p + 1], c).then_some(p + 2),
        literal => eq(literal, c).then_some(p + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn redis_glob_rules() {
        assert!(m("*", ""));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hello"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
        assert!(m("[abc", "b"));
        assert!(m("[\\]]", "]"));
        assert!(glob_match(b"HELLO", b"hello", true));
        assert!(!m("a", ""));
        assert!(m("*a*a*a*a*a*a*a*a*b", &("a".repeat(30) + "b")));
        assert!(!m("*a*a*a*a*a*a*a*a*b", &"a".repeat(60)));
    }
}
