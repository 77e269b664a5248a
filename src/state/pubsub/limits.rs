//! `client-output-buffer-limit`: its classes' limits, as Redis parses and checks them.

use std::sync::atomic::{AtomicU64, Ordering};

/// One class of `client-output-buffer-limit`: bytes, bytes, seconds; zero disables a limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

impl OutputLimit {
    /// Redis's `checkClientOutputBufferLimits`: true once `used` passes the hard limit, or has
    /// stayed over the soft limit for more than its seconds. `soft_since_ms` (0 = under the soft
    /// limit) keeps when it was first passed. The clock (`now_ms`) is read only over the soft
    /// limit: a connection checks after every command, and most clients have no limit at all.
    pub fn reached(
        &self,
        used: u64,
        soft_since_ms: &AtomicU64,
        now_ms: impl FnOnce() -> u64,
    ) -> bool {
        if self.hard > 0 && used >= self.hard {
            return true;
        }
        if self.soft > 0 && used >= self.soft {
            let since = soft_since_ms.load(Ordering::Relaxed);
            let now_ms = now_ms();
            if since == 0 {
                soft_since_ms.store(now_ms.max(1), Ordering::Relaxed);
                return false;
            }
            return now_ms.saturating_sub(since) / 1000 > self.soft_seconds;
        }
        soft_since_ms.store(0, Ordering::Relaxed);
        false
    }
}

/// Redis's `updateClientOutputBufferLimit`: `<class> <hard> <soft> <seconds>` groups, all checked
/// before any is applied.
pub fn set_output_buffer_limits(
    limits: &mut [OutputLimit; 3],
    args: &[&str],
) -> Result<(), String> {
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    if !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut updated = *limits;
    for group in words.chunks_exact(4) {
        let class = match crate::state::config::c_str(group[0])
            .to_ascii_lowercase()
            .as_str()
        {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = crate::state::config::parse_memory(group[1]).ok_or_else(bad)?;
        let soft = crate::state::config::parse_memory(group[2]).ok_or_else(bad)?;
        let soft_seconds = strtoll(group[3]);
        if soft_seconds < 0 {
            return Err(bad().into());
        }
        updated[class] = OutputLimit {
            hard,
            soft,
            soft_seconds: soft_seconds as u64,
        };
    }
    *limits = updated;
    Ok(())
}

/// C's `strtoll` as Redis calls it, without an end check: the leading integer, 0 when none.
fn strtoll(text: &str) -> i64 {
    let text = text.trim_start();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let value = digits[..end]
        .parse::<i64>()
        .unwrap_or(if end == 0 { 0 } else { i64::MAX });
    if negative {
        -value
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_limit_needs_its_seconds_and_resets_below_it() {
        let limit = OutputLimit {
            hard: 100,
            soft: 10,
            soft_seconds: 1,
        };
        let since = AtomicU64::new(0);
        assert!(!limit.reached(5, &since, || 1_000));
        assert!(!limit.reached(20, &since, || 1_000));
        assert!(!limit.reached(20, &since, || 2_999));
        assert!(!limit.reached(5, &since, || 3_000));
        assert!(!limit.reached(20, &since, || 3_500));
        assert!(limit.reached(20, &since, || 5_600));
        assert!(limit.reached(100, &AtomicU64::new(0), || 0));
    }
}
