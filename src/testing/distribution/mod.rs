//! A distribution of values: exact from an HDR histogram (in-memory recorder), or known within
//! bounds from cumulative buckets (a parsed Prometheus exposition).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;

mod buckets;
#[cfg(test)]
mod tests;

/// Significant decimal digits kept by HDR histograms: values are stored with a relative error
/// of at most 2⁻¹⁰ (about 0.1 %).
pub(crate) const SIGNIFICANT_DIGITS: u8 = 3;

/// Distinct values an in-memory distribution keeps exactly, beside its HDR histogram: up to
/// this many, every quantile is exact.
pub(crate) const EXACT_VALUES: usize = 1024;

/// A distribution of recorded values, in the unit of the metric (seconds for durations, bytes for
/// sizes).
///
/// From a [`TestRecorder`](super::TestRecorder): exact count, sum, min and max. Quantiles are
/// exact while the distribution holds at most 1,024 distinct values (a test's few hundred
/// requests, or durations under tokio's paused clock); beyond that they come from an HDR
/// histogram, reported at most 0.1 % above the exact value and never outside `min..=max`.
/// In the difference of two snapshots, `min` and `max` become bounds (every value lies between
/// them) rather than recorded values.
///
/// From a Prometheus exposition
/// ([`Snapshot::from_prometheus_text`](super::Snapshot::from_prometheus_text)): exact count and
/// sum, and every other value known only within bounds: the bucket that holds it, narrowed by
/// what the count and the sum allow (no value above the sum, the largest value at least the
/// mean, …). [`quantile_range`](Self::quantile_range) gives those bounds;
/// [`quantile`](Self::quantile) gives PromQL's `histogram_quantile` estimate (linear
/// interpolation inside the bucket) kept within them; `min` is the lowest and `max` the highest
/// value any recorded value can have.
#[derive(Clone)]
pub struct Distribution {
    data: Data,
    sum: f64,
}

#[derive(Clone)]
enum Data {
    /// Nothing recorded yet; adopts the shape of the first distribution merged in.
    Empty,
    Hdr {
        hdr: hdrhistogram::Histogram<u64>,
        /// Stored value = recorded value × scale (1e9 for seconds: nanoseconds are stored).
        scale: f64,
        /// Every stored value lies in `lo..=hi`: the exact extremes after records and merges,
        /// bounds after a subtraction. `u64::MAX..=0` when empty.
        lo: u64,
        hi: u64,
        /// Count per distinct stored value, while there are at most [`EXACT_VALUES`].
        exact: Option<BTreeMap<u64, u64>>,
    },
    Buckets {
        /// Finite upper bounds, strictly increasing.
        bounds: Vec<f64>,
        /// Cumulative counts per bound (never decreasing), then the `+Inf` bucket (the count).
        cumulative: Vec<u64>,
    },
}

impl fmt::Debug for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Distribution")
            .field("count", &self.count())
            .field("sum", &self.sum)
            .field("min", &self.min())
            .field("max", &self.max())
            .field("bucketed", &self.is_bucketed())
            .finish()
    }
}

impl Default for Distribution {
    fn default() -> Self {
        Self::empty()
    }
}

impl Distribution {
    /// A distribution with nothing recorded.
    pub(crate) fn empty() -> Self {
        Self {
            data: Data::Empty,
            sum: 0.0,
        }
    }

    /// An HDR-backed distribution storing `value × scale` as integers.
    pub(crate) fn hdr(scale: f64) -> Self {
        let hdr = hdrhistogram::Histogram::new(SIGNIFICANT_DIGITS)
            .expect("3 significant digits is a valid HDR histogram precision");
        Self {
            data: Data::Hdr {
                hdr,
                scale,
                lo: u64::MAX,
                hi: 0,
                exact: Some(BTreeMap::new()),
            },
            sum: 0.0,
        }
    }

    /// A bucketed distribution: `(upper bound, cumulative count)` pairs as a Prometheus
    /// histogram exposes them, the `+Inf` bucket included; `count` (the `_count` sample) stands
    /// in for a missing `+Inf` bucket.
    ///
    /// Any input makes a well-formed distribution: `NaN` and `-Inf` bounds are ignored, equal
    /// bounds keep the larger count, and counts are made cumulative (never decreasing), as
    /// PromQL does before estimating quantiles.
    pub(crate) fn buckets(pairs: Vec<(f64, u64)>, sum: f64, count: Option<u64>) -> Self {
        let (bounds, cumulative) = buckets::normalise(pairs, count);
        Self {
            data: Data::Buckets { bounds, cumulative },
            sum,
        }
    }

    /// The finite bounds and cumulative counts (then the `+Inf` one) of a bucketed
    /// distribution, as a parsed exposition gave them.
    #[cfg(test)]
    pub(crate) fn bucket_counts(&self) -> Option<(&[f64], &[u64])> {
        match &self.data {
            Data::Buckets { bounds, cumulative } => Some((bounds, cumulative)),
            _ => None,
        }
    }

    pub(crate) fn record(&mut self, value: f64) {
        self.record_n(value, 1);
    }

    /// Records `value` `times` times; counts saturate at `u64::MAX` rather than wrap.
    pub(crate) fn record_n(&mut self, value: f64, times: u64) {
        let Data::Hdr {
            hdr,
            scale,
            lo,
            hi,
            exact,
        } = &mut self.data
        else {
            return;
        };
        if value.is_nan() || times == 0 {
            return;
        }
        let value = value.max(0.0);
        // `as` saturates at u64::MAX for values too large to store. `record_n` grows the
        // histogram as needed (`saturating_record_n` would clamp to its current range instead).
        let stored = (value * *scale).round() as u64;
        if hdr.record_n(stored, times).is_err() {
            hdr.saturating_record_n(stored, times);
        }
        *lo = (*lo).min(stored);
        *hi = (*hi).max(stored);
        if let Some(values) = exact {
            let n = values.entry(stored).or_default();
            *n = n.saturating_add(times);
            if values.len() > EXACT_VALUES {
                *exact = None;
            }
        }
        self.sum += value * times as f64;
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        match (&mut self.data, &other.data) {
            (_, Data::Empty) => return,
            (Data::Empty, _) => self.data = other.data.clone(),
            (
                Data::Hdr {
                    hdr, lo, hi, exact, ..
                },
                Data::Hdr {
                    hdr: o,
                    lo: olo,
                    hi: ohi,
                    exact: oexact,
                    ..
                },
            ) => {
                // Both sides auto-resize, so adding cannot run out of range.
                let _ = hdr.add(o);
                *lo = (*lo).min(*olo);
                *hi = (*hi).max(*ohi);
                *exact = match (exact.take(), oexact) {
                    (Some(mut values), Some(other)) => {
                        for (v, n) in other {
                            let c = values.entry(*v).or_default();
                            *c = c.saturating_add(*n);
                        }
                        (values.len() <= EXACT_VALUES).then_some(values)
                    }
                    _ => None,
                };
            }
            (
                Data::Buckets { bounds, cumulative },
                Data::Buckets {
                    bounds: ob,
                    cumulative: oc,
                },
            ) => {
                buckets::merge(bounds, cumulative, ob, oc);
            }
            // An HDR histogram and buckets cannot be combined; the first one is kept.
            _ => return,
        }
        self.sum += other.sum;
    }

    /// Removes the values of `other` (an earlier state of the same series).
    pub(crate) fn subtract(&mut self, other: &Self) {
        let ok = match (&mut self.data, &other.data) {
            (
                Data::Hdr {
                    hdr, lo, hi, exact, ..
                },
                Data::Hdr {
                    hdr: o,
                    exact: oexact,
                    ..
                },
            ) => {
                let ok = hdr.subtract(o).is_ok();
                if ok {
                    *exact = match (exact.take(), oexact) {
                        (Some(values), Some(other)) => subtract_values(values, other),
                        _ => None,
                    };
                    // What is left is a subset of what was there: its extremes lie within the
                    // old ones and within the buckets still holding values.
                    if hdr.is_empty() {
                        (*lo, *hi) = (u64::MAX, 0);
                    } else {
                        *lo = (*lo).max(hdr.lowest_equivalent(hdr.min()));
                        *hi = (*hi).min(hdr.highest_equivalent(hdr.max()));
                    }
                }
                ok
            }
            (
                Data::Buckets { bounds, cumulative },
                Data::Buckets {
                    bounds: ob,
                    cumulative: oc,
                },
            ) if bounds == ob => {
                buckets::subtract(cumulative, oc);
                true
            }
            _ => false,
        };
        if ok {
            self.sum -= other.sum;
            if self.count() == 0 || (self.sum < 0.0 && self.non_negative()) {
                self.sum = 0.0;
            }
        }
    }

    /// How many values were recorded.
    #[must_use]
    pub fn count(&self) -> u64 {
        match &self.data {
            Data::Empty => 0,
            Data::Hdr { hdr, .. } => hdr.len(),
            Data::Buckets { cumulative, .. } => cumulative.last().copied().unwrap_or(0),
        }
    }

    /// The exact sum of the recorded values.
    #[must_use]
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The exact mean, or 0 when empty.
    #[must_use]
    pub fn mean(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            n => self.sum / n as f64,
        }
    }

    /// Whether the values are known only within bounds (a distribution read from buckets).
    #[must_use]
    pub fn is_bucketed(&self) -> bool {
        matches!(self.data, Data::Buckets { .. })
    }

    /// The smallest value, or 0 when empty: exact from the in-memory recorder, otherwise the
    /// lowest value the smallest one can have (see the type's docs).
    #[must_use]
    pub fn min(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            _ => *self.range_of(0.0, 1).start(),
        }
    }

    /// The largest value, or 0 when empty: exact from the in-memory recorder, otherwise the
    /// highest value the largest one can have (see the type's docs).
    #[must_use]
    pub fn max(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            n => *self.range_of(1.0, n).end(),
        }
    }

    /// The value at quantile `q` (0.0 to 1.0), or 0 when empty.
    ///
    /// HDR-backed: the smallest recorded value `v` such that a fraction `q` of the values are
    /// ≤ `v`, reported at most 0.1 % above it (and never above the largest value). Bucketed:
    /// `histogram_quantile(q, …)`, kept within [`quantile_range`](Self::quantile_range).
    #[must_use]
    pub fn quantile(&self, q: f64) -> f64 {
        let Some(k) = self.rank(q) else {
            return 0.0;
        };
        let range = self.range_of(q, k);
        match &self.data {
            Data::Buckets { bounds, cumulative } => {
                let estimate = buckets::histogram_quantile(q, bounds, cumulative);
                clamp(estimate, &range)
            }
            _ => *range.end(),
        }
    }

    /// Where the value at quantile `q` certainly lies (`0.0..=0.0` when empty).
    ///
    /// HDR-backed: the HDR bucket of the value (at most 0.1 % wide), within `min..=max`.
    /// Bucketed: the Prometheus bucket that holds it, narrowed by the count and the sum.
    #[must_use]
    pub fn quantile_range(&self, q: f64) -> RangeInclusive<f64> {
        match self.rank(q) {
            Some(k) => self.range_of(q, k),
            None => 0.0..=0.0,
        }
    }

    /// The 1-based rank of quantile `q` among the values, or `None` when empty.
    fn rank(&self, q: f64) -> Option<u64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        let k = (q * n as f64).ceil();
        Some(if k < 1.0 { 1 } else { (k as u64).min(n) })
    }

    /// Whether no value can be negative.
    fn non_negative(&self) -> bool {
        match &self.data {
            // The smallest value's bucket starts at 0 or above.
            Data::Buckets { bounds, cumulative } => buckets::non_negative(bounds, cumulative),
            _ => true,
        }
    }

    /// Where the value at quantile `q`, the `k`-th smallest (1-based, `1..=count`), certainly
    /// lies.
    fn range_of(&self, q: f64, k: u64) -> RangeInclusive<f64> {
        match &self.data {
            Data::Empty => 0.0..=0.0,
            Data::Hdr {
                exact: Some(values),
                scale,
                ..
            } => {
                let v = kth(values, k) as f64 / scale;
                v..=v
            }
            Data::Hdr {
                hdr, scale, lo, hi, ..
            } => {
                let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
                let v = hdr.value_at_quantile(q);
                let low = hdr.lowest_equivalent(v).max(*lo).min(*hi);
                let high = v.min(*hi).max(low);
                (low as f64 / scale)..=(high as f64 / scale)
            }
            Data::Buckets { bounds, cumulative } => {
                buckets::range_of_rank(k, self.count(), self.sum, bounds, cumulative)
            }
        }
    }
}

/// The `k`-th smallest value (1-based) of counted values.
fn kth(values: &BTreeMap<u64, u64>, k: u64) -> u64 {
    let mut seen: u64 = 0;
    for (v, n) in values {
        seen = seen.saturating_add(*n);
        if seen >= k {
            return *v;
        }
    }
    values.last_key_value().map_or(0, |(v, _)| *v)
}

/// `values` less `other`, or `None` if `other` has values `values` lacks (not an earlier state).
fn subtract_values(
    mut values: BTreeMap<u64, u64>,
    other: &BTreeMap<u64, u64>,
) -> Option<BTreeMap<u64, u64>> {
    for (v, n) in other {
        let c = values.get_mut(v)?;
        *c = c.checked_sub(*n)?;
        if *c == 0 {
            values.remove(v);
        }
    }
    Some(values)
}

fn clamp(v: f64, range: &RangeInclusive<f64>) -> f64 {
    if v.is_nan() {
        *range.start()
    } else {
        v.clamp(*range.start(), *range.end())
    }
}
