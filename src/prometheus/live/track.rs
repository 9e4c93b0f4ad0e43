//! The history of one (route, method) pair: the cumulative counts of its last few reads and
//! the samples computed from them, each covering the window before it.

use std::sync::Arc;
use std::time::Instant;

use super::read::Read;
use super::ring::Ring;
use crate::quantile::quantile;

/// The most error types told apart per pair; the rest are counted under `other`.
pub(super) const MAX_ERROR_TYPES: usize = 8;
/// The error type under which the ones beyond [`MAX_ERROR_TYPES`] are counted.
pub(super) const OTHER_ERRORS: &str = "other";

/// One sample of one pair. `NaN` stands for "no value" (no request in the window, no gauge).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Sample {
    pub(crate) rate: f32,
    pub(crate) error_pct: f32,
    pub(crate) p50: f32,
    pub(crate) p95: f32,
    pub(crate) p99: f32,
    pub(crate) in_flight: f32,
}

impl Default for Sample {
    fn default() -> Self {
        Self {
            rate: f32::NAN,
            error_pct: f32::NAN,
            p50: f32::NAN,
            p95: f32::NAN,
            p99: f32::NAN,
            in_flight: f32::NAN,
        }
    }
}

/// The cumulative counts of one pair at one sampling time.
#[derive(Debug, Default)]
pub(super) struct Cut {
    pub(super) at: Option<Instant>,
    pub(super) count: u64,
    pub(super) errors: u64,
    /// Cumulative per bound, then `+Inf`.
    pub(super) buckets: Vec<u64>,
    /// Errors per type, at most [`MAX_ERROR_TYPES`] entries.
    pub(super) error_types: Vec<(Arc<str>, u64)>,
}

/// The history of one (route, method) pair.
#[derive(Debug)]
pub(super) struct Track {
    /// The last `window + 1` cuts.
    pub(super) cuts: Ring<Cut>,
    pub(super) samples: Ring<Sample>,
    /// The bucket bounds of its histograms.
    pub(super) bounds: Box<[f64]>,
}

impl Track {
    #[cfg(test)]
    /// Bytes this track holds on the heap (its rings and strings; capacities, not lengths).
    pub(super) fn heap_bytes(&self) -> usize {
        let cuts: usize = self
            .cuts
            .iter()
            .map(|c| {
                c.buckets.capacity() * 8 + c.error_types.capacity() * size_of::<(Arc<str>, u64)>()
            })
            .sum();
        self.cuts.capacity() * size_of::<Cut>()
            + cuts
            + self.samples.capacity() * size_of::<Sample>()
            + self.bounds.len() * 8
    }

    /// The errors per type over the window: the newest cut's minus the oldest's.
    pub(super) fn window_errors(&self) -> Vec<(Arc<str>, u64)> {
        let (Some(new), Some(old)) = (
            self.cuts.nth_newest(0),
            self.cuts.nth_newest(self.cuts.len().saturating_sub(1)),
        ) else {
            return Vec::new();
        };
        new.error_types
            .iter()
            .filter_map(|(t, n)| {
                let before = old
                    .error_types
                    .iter()
                    .find(|(o, _)| o == t)
                    .map_or(0, |(_, b)| *b);
                let delta = n.saturating_sub(before);
                (delta > 0).then(|| (Arc::clone(t), delta))
            })
            .collect()
    }

    /// Requests over the window.
    pub(super) fn window_count(&self) -> u64 {
        match (
            self.cuts.nth_newest(0),
            self.cuts.nth_newest(self.cuts.len().saturating_sub(1)),
        ) {
            (Some(new), Some(old)) => new.count.saturating_sub(old.count),
            _ => 0,
        }
    }
}

/// Overwrites `cut` with `read`'s counts, keeping at most [`MAX_ERROR_TYPES`] error types
/// (the rest under [`OTHER_ERRORS`]).
pub(super) fn fill_cut(cut: &mut Cut, now: Instant, read: &Read) {
    cut.at = Some(now);
    cut.count = read.count;
    cut.errors = read.errors;
    cut.buckets.clear();
    cut.buckets.extend_from_slice(&read.buckets);
    cut.error_types.clear();
    let mut types: Vec<&(Box<str>, u64)> = read.error_types.iter().collect();
    // The most frequent types keep their names.
    types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut other = 0;
    for (i, (t, n)) in types.into_iter().enumerate() {
        if i < MAX_ERROR_TYPES - 1 || read.error_types.len() <= MAX_ERROR_TYPES {
            cut.error_types.push((Arc::from(&**t), *n));
        } else {
            other = n.saturating_add(other);
        }
    }
    if other > 0 {
        cut.error_types.push((Arc::from(OTHER_ERRORS), other));
    }
}

/// The sample of `track` after its newest cut: values over the window.
pub(super) fn compute(track: &Track, in_flight: Option<f64>) -> Sample {
    let mut sample = Sample {
        in_flight: in_flight.map_or(f32::NAN, |v| v as f32),
        ..Sample::default()
    };
    let (Some(new), Some(old)) = (
        track.cuts.nth_newest(0),
        track.cuts.nth_newest(track.cuts.len().saturating_sub(1)),
    ) else {
        return sample;
    };
    let (Some(t1), Some(t0)) = (new.at, old.at) else {
        return sample;
    };
    let seconds = t1.saturating_duration_since(t0).as_secs_f64();
    if seconds <= 0.0 {
        return sample;
    }
    let count = new.count.saturating_sub(old.count);
    sample.rate = (count as f64 / seconds) as f32;
    if count == 0 {
        return sample;
    }
    sample.error_pct = pct(new.errors.saturating_sub(old.errors), count) as f32;
    // An older cut without buckets was taken before the pair's first finished request.
    if new.buckets.len() == old.buckets.len() || old.buckets.is_empty() {
        let delta: Vec<u64> = new
            .buckets
            .iter()
            .enumerate()
            .map(|(i, n)| n.saturating_sub(old.buckets.get(i).copied().unwrap_or(0)))
            .collect();
        let q = |q| quantile(q, &track.bounds, &delta).map_or(f32::NAN, |v| v as f32);
        sample.p50 = q(0.5);
        sample.p95 = q(0.95);
        sample.p99 = q(0.99);
    }
    sample
}

pub(super) fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        f64::NAN
    } else {
        part as f64 * 100.0 / whole as f64
    }
}
