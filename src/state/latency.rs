//! The latency monitor (Redis's `latency.c`): while `latency-monitor-threshold` is set, every
//! event (`command`, `fast-command`, `expire-cycle`, `eviction-cycle`...) that took at least that
//! many milliseconds is kept in the event's time series: one sample per second (the worst of that
//! second), the last 160 seconds that had one, and the worst ever. `LATENCY LATEST/HISTORY/RESET/
//! GRAPH/DOCTOR` read them.
//!
//! The hot path reads the threshold from an atomic; only a sample over it takes the lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::sync::LockExt;

/// Redis's `LATENCY_TS_LEN`.
pub const SAMPLES: usize = 160;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    /// Unix seconds; 0 for a slot never used.
    pub time: u64,
    pub latency: u64,
}

#[derive(Clone)]
pub struct TimeSeries {
    next: usize,
    pub max: u64,
    samples: [Sample; SAMPLES],
}

impl TimeSeries {
    /// The used samples, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..SAMPLES)
            .map(|j| self.samples[(self.next + j) % SAMPLES])
            .filter(|s| s.time != 0)
    }

    pub fn latest(&self) -> Sample {
        self.samples[(self.next + SAMPLES - 1) % SAMPLES]
    }
}

/// What `LATENCY DOCTOR` says of an event (Redis's `analyzeLatencyForEvent`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    pub samples: u64,
    pub avg: u64,
    /// Mean absolute deviation from the average.
    pub mad: u64,
    /// Seconds from the oldest sample to now, at least 1.
    pub period: u64,
}

impl TimeSeries {
    pub fn analyze(&self, now: u64) -> Analysis {
        let samples: Vec<Sample> = self.samples().collect();
        if samples.is_empty() {
            return Analysis::default();
        }
        let count = samples.len() as u64;
        let avg = samples.iter().map(|s| s.latency).sum::<u64>() / count;
        let oldest = samples.iter().map(|s| s.time).min().unwrap_or(now);
        let mad = samples
            .iter()
            .map(|s| (avg as i64 - s.latency as i64).unsigned_abs())
            .sum::<u64>()
            / count;
        Analysis {
            samples: count,
            avg,
            mad,
            period: now.saturating_sub(oldest).max(1),
        }
    }
}

#[derive(Default)]
pub struct LatencyMonitor {
    /// `latency-monitor-threshold`, milliseconds; 0 disables the monitor.
    threshold: AtomicU64,
    /// By event, in the order they first happened.
    events: Mutex<Vec<(String, TimeSeries)>>,
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl LatencyMonitor {
    pub fn set_threshold(&self, millis: u64) {
        self.threshold.store(millis, Ordering::Relaxed);
    }

    pub fn threshold(&self) -> u64 {
        self.threshold.load(Ordering::Relaxed)
    }

    /// Whether anything is sampled at all (so callers skip measuring what nobody keeps).
    #[inline]
    pub fn enabled(&self) -> bool {
        self.threshold() > 0
    }

    /// Redis's `latencyAddSampleIfNeeded`.
    #[inline]
    pub fn add_sample_if_needed(&self, event: &str, millis: u64) {
        let threshold = self.threshold();
        if threshold > 0 && millis >= threshold {
            self.add_sample(event, millis, unix_seconds());
        }
    }

    /// Redis's `latencyAddSample`: one sample a second per event, the worst of that second.
    pub fn add_sample(&self, event: &str, millis: u64, now: u64) {
        let mut events = self.events.lock_or_recover();
        let index = match events.iter().position(|(name, _)| name == event) {
            Some(index) => index,
            None => {
                events.push((
                    event.to_string(),
                    TimeSeries {
                        next: 0,
                        max: 0,
                        samples: [Sample::default(); SAMPLES],
                    },
                ));
                events.len() - 1
            }
        };
        let series = &mut events[index].1;
        series.max = series.max.max(millis);
        let previous = (series.next + SAMPLES - 1) % SAMPLES;
        if series.samples[previous].time == now {
            let sample = &mut series.samples[previous];
            sample.latency = sample.latency.max(millis);
            return;
        }
        series.samples[series.next] = Sample {
            time: now,
            latency: millis,
        };
        series.next = (series.next + 1) % SAMPLES;
    }

    /// Every event's series, in the order the events first happened.
    pub fn events(&self) -> Vec<(String, TimeSeries)> {
        self.events.lock_or_recover().clone()
    }

    /// The series of `event` (named exactly), if it has one.
    pub fn event(&self, event: &[u8]) -> Option<(String, TimeSeries)> {
        self.events
            .lock_or_recover()
            .iter()
            .find(|(name, _)| name.as_bytes() == event)
            .cloned()
    }

    /// Forgets `event` (any letter case; every event when `None`); how many went.
    pub fn reset(&self, event: Option<&[u8]>) -> usize {
        let mut events = self.events.lock_or_recover();
        let before = events.len();
        events.retain(|(name, _)| event.is_some_and(|e| !name.as_bytes().eq_ignore_ascii_case(e)));
        before - events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_a_second_the_worst_kept() {
        let monitor = LatencyMonitor::default();
        monitor.add_sample("command", 5, 100);
        monitor.add_sample("command", 3, 100);
        monitor.add_sample("command", 9, 100);
        monitor.add_sample("command", 2, 101);
        let (_, series) = monitor.event(b"command").unwrap();
        let samples: Vec<Sample> = series.samples().collect();
        assert_eq!(
            samples,
            vec![
                Sample {
                    time: 100,
                    latency: 9
                },
                Sample {
                    time: 101,
                    latency: 2
                }
            ]
        );
        assert_eq!(series.max, 9);
        assert_eq!(
            series.latest(),
            Sample {
                time: 101,
                latency: 2
            }
        );
        let analysis = series.analyze(110);
        assert_eq!(
            analysis,
            Analysis {
                samples: 2,
                avg: 5,
                mad: 3,
                period: 10
            }
        );
    }

    #[test]
    fn wraps_after_160_seconds_and_resets_by_name() {
        let monitor = LatencyMonitor::default();
        for second in 1..=200 {
            monitor.add_sample("fast-command", second, second);
        }
        let (_, series) = monitor.event(b"fast-command").unwrap();
        assert_eq!(series.samples().count(), SAMPLES);
        assert_eq!(series.samples().next().map(|s| s.time), Some(41));
        monitor.add_sample("command", 1, 1);
        assert_eq!(monitor.reset(Some(b"FAST-COMMAND")), 1);
        assert_eq!(monitor.reset(Some(b"nosuch")), 0);
        assert_eq!(monitor.reset(None), 1);
        assert!(monitor.events().is_empty());
    }

    #[test]
    fn threshold_gates_samples() {
        let monitor = LatencyMonitor::default();
        monitor.add_sample_if_needed("command", 1000);
        assert!(monitor.events().is_empty());
        monitor.set_threshold(10);
        monitor.add_sample_if_needed("command", 9);
        assert!(monitor.events().is_empty());
        monitor.add_sample_if_needed("command", 10);
        assert_eq!(monitor.events().len(), 1);
    }
}
