//! Rates for `INFO stats` (`instantaneous_ops_per_sec`, `instantaneous_input_kbps`, ...), sampled
//! by the server's cron as Redis's `trackInstantaneousMetric`: each tick records the counter's
//! growth per second since the previous tick into a ring of 16 samples, and the reported rate is
//! their mean, so one slow or busy tick moves it by a sixteenth.

use crate::sync::LockExt;
use std::sync::Mutex;

const SAMPLES: usize = 16;

#[derive(Default)]
struct Ring {
    /// (time, counter) at the previous tick; `None` before the first.
    last: Option<(u64, u64)>,
    samples: [u64; SAMPLES],
    next: usize,
}

/// One sampled rate. Locked once per cron tick and once per `INFO`, so a mutex costs nothing.
#[derive(Default)]
pub struct RateSampler {
    ring: Mutex<Ring>,
}

impl RateSampler {
    /// Records `counter` as read at `now_ms`.
    pub fn sample(&self, now_ms: u64, counter: u64) {
        let mut ring = self.ring.lock_or_recover();
        if let Some((then, before)) = ring.last {
            let elapsed = now_ms.saturating_sub(then);
            let rate = counter
                .saturating_sub(before)
                .saturating_mul(1000)
                .checked_div(elapsed)
                .unwrap_or(0);
            let at = ring.next;
            ring.samples[at] = rate;
            ring.next = (at + 1) % SAMPLES;
        }
        ring.last = Some((now_ms, counter));
    }

    /// The mean of the recorded per-second rates.
    pub fn per_second(&self) -> u64 {
        let ring = self.ring.lock_or_recover();
        ring.samples.iter().sum::<u64>() / SAMPLES as u64
    }

    pub fn reset(&self) {
        *self.ring.lock_or_recover() = Ring::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_the_ring() {
        let sampler = RateSampler::default();
        sampler.sample(0, 0);
        assert_eq!(sampler.per_second(), 0);
        for tick in 1..=16u64 {
            sampler.sample(tick * 100, tick * 100);
        }
        assert_eq!(sampler.per_second(), 1000);
        sampler.reset();
        assert_eq!(sampler.per_second(), 0);
    }
}
