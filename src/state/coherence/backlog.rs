//! The origin's memory of what it published: the last messages of this run, bounded in bytes
//! (`coherence-backlog-size`), so that a peer that missed some (a lost link, a gap on the bus)
//! asks for them again (`CACHE.PEER REPLAY`) instead of dropping its data.

use std::collections::VecDeque;

use bytes::Bytes;

/// Why a replay cannot be served.
#[derive(Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// The messages after the asked sequence are no longer all held.
    Trimmed,
    /// The asked sequence is ahead of anything published (the asker knew another run).
    Ahead,
}

#[derive(Default)]
pub struct Backlog {
    /// (sequence, published payload), sequences consecutive.
    messages: VecDeque<(u64, Bytes)>,
    bytes: usize,
    /// Sequence of the last message pushed (0: none yet).
    last: u64,
}

impl Backlog {
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    /// Sequence of the oldest message held (last + 1 when none is).
    pub fn first_seq(&self) -> u64 {
        self.messages.front().map_or(self.last + 1, |(seq, _)| *seq)
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Appends the message `seq` (the next one) and forgets the oldest beyond `limit` bytes; the
    /// newest message stays whatever its size, so a replay of the last one is always possible.
    pub fn push(&mut self, seq: u64, payload: Bytes, limit: usize) {
        self.last = seq;
        self.bytes += payload.len();
        self.messages.push_back((seq, payload));
        while self.bytes > limit && self.messages.len() > 1 {
            if let Some((_, old)) = self.messages.pop_front() {
                self.bytes -= old.len();
            }
        }
    }

    /// The backlog a previous process of the same run kept (`messages` consecutive, the last
    /// one `last`), within `limit` as `push` keeps it. Messages that do not fit that shape are
    /// left out: a replay then finds the gap and the receiver drops its data, as it would have.
    pub fn restore(&mut self, last: u64, messages: Vec<(u64, Bytes)>, limit: usize) {
        *self = Backlog {
            last,
            ..Backlog::default()
        };
        let consecutive = messages.windows(2).all(|w| w[1].0 == w[0].0 + 1)
            && messages.last().is_none_or(|(seq, _)| *seq == last);
        if !consecutive {
            return;
        }
        for (seq, payload) in messages {
            self.push(seq, payload, limit);
        }
    }

    /// Every message held, oldest first (for the run marker of a clean shutdown).
    pub fn messages(&self) -> Vec<(u64, Bytes)> {
        self.messages.iter().cloned().collect()
    }

    /// Shrinks to a new limit at once (CONFIG SET).
    pub fn trim(&mut self, limit: usize) {
        while self.bytes > limit && self.messages.len() > 1 {
            if let Some((_, old)) = self.messages.pop_front() {
                self.bytes -= old.len();
            }
        }
    }

    /// Every message after `after`, in order; `Ok(empty)` when `after` is the last one.
    pub fn since(&self, after: u64) -> Result<Vec<(u64, Bytes)>, Unavailable> {
        if after > self.last {
            return Err(Unavailable::Ahead);
        }
        if after == self.last {
            return Ok(Vec::new());
        }
        let first = self.first_seq();
        if after + 1 < first {
            return Err(Unavailable::Trimmed);
        }
        let skip = usize::try_from(after + 1 - first).map_err(|_| Unavailable::Trimmed)?;
        Ok(self.messages.iter().skip(skip).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(count: u64, limit: usize) -> Backlog {
        let mut backlog = Backlog::default();
        for seq in 1..=count {
            backlog.push(seq, Bytes::from(vec![b'x'; 10]), limit);
        }
        backlog
    }

    #[test]
    fn replays_what_it_holds_and_says_what_it_lost() {
        let backlog = filled(10, 50);
        assert_eq!(backlog.len(), 5);
        assert_eq!(backlog.bytes(), 50);
        let seqs = |r: Result<Vec<(u64, Bytes)>, Unavailable>| {
            r.map(|m| m.into_iter().map(|(s, _)| s).collect::<Vec<_>>())
        };
        assert_eq!(seqs(backlog.since(10)), Ok(vec![]));
        assert_eq!(seqs(backlog.since(7)), Ok(vec![8, 9, 10]));
        assert_eq!(seqs(backlog.since(5)), Ok(vec![6, 7, 8, 9, 10]));
        assert_eq!(seqs(backlog.since(4)), Err(Unavailable::Trimmed));
        assert_eq!(seqs(backlog.since(11)), Err(Unavailable::Ahead));
        assert_eq!(seqs(Backlog::default().since(0)), Ok(vec![]));
    }

    #[test]
    fn a_restored_backlog_replays_as_before() {
        let before = filled(10, 50);
        let mut restored = Backlog::default();
        restored.restore(before.last_seq(), before.messages(), 50);
        assert_eq!(restored.last_seq(), 10);
        assert_eq!(restored.since(5), before.since(5));
        assert_eq!(restored.since(4), Err(Unavailable::Trimmed));
        // A smaller limit now: the oldest go, as push would have dropped them.
        restored.restore(before.last_seq(), before.messages(), 20);
        assert_eq!(restored.first_seq(), 9);
        // Not consecutive, or not ending at `last`: nothing is held, and numbering goes on.
        let mut holes = before.messages();
        holes.remove(2);
        restored.restore(10, holes, 50);
        assert_eq!((restored.len(), restored.last_seq()), (0, 10));
        assert_eq!(restored.since(9), Err(Unavailable::Trimmed));
        restored.restore(12, before.messages(), 50);
        assert_eq!((restored.len(), restored.last_seq()), (0, 12));
        restored.push(13, Bytes::from_static(b"x"), 50);
        assert_eq!(restored.since(12).map(|m| m.len()), Ok(1));
    }

    #[test]
    fn keeps_the_newest_message_whatever_its_size() {
        let mut backlog = filled(3, 100);
        backlog.push(4, Bytes::from(vec![b'y'; 500]), 100);
        assert_eq!(backlog.len(), 1);
        assert_eq!(backlog.since(3).map(|m| m.len()), Ok(1));
        backlog.trim(0);
        assert_eq!(backlog.len(), 1);
    }
}
