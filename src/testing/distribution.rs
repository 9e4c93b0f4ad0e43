//! A distribution of values: exact from an HDR histogram (in-memory recorder), or known within
//! bounds from cumulative buckets (a parsed Prometheus exposition).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;

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
    pub(crate) fn buckets(mut pairs: Vec<(f64, u64)>, sum: f64, count: Option<u64>) -> Self {
        pairs.retain(|(le, _)| !le.is_nan() && *le != f64::NEG_INFINITY);
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut bounds: Vec<f64> = Vec::with_capacity(pairs.len());
        let mut cumulative: Vec<u64> = Vec::with_capacity(pairs.len() + 1);
        let mut total = None;
        for (le, c) in pairs {
            if le == f64::INFINITY {
                total = Some(total.map_or(c, |t: u64| t.max(c)));
            } else if bounds.last() == Some(&le) {
                if let Some(last) = cumulative.last_mut() {
                    *last = (*last).max(c);
                }
            } else {
                bounds.push(le);
                cumulative.push(c);
            }
        }
        let total = total.or(count).unwrap_or(0);
        cumulative.push(total);
        make_cumulative(&mut cumulative);
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
        if value.is_nan() {
            return;
        }
        let value = value.max(0.0);
        // `as` saturates at u64::MAX for values too large to store. `record` grows the
        // histogram as needed (`saturating_record` would clamp to its current range instead).
        let stored = (value * *scale).round() as u64;
        if hdr.record(stored).is_err() {
            hdr.saturating_record(stored);
        }
        *lo = (*lo).min(stored);
        *hi = (*hi).max(stored);
        if let Some(values) = exact {
            *values.entry(stored).or_default() += 1;
            if values.len() > EXACT_VALUES {
                *exact = None;
            }
        }
        self.sum += value;
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
                if bounds == ob {
                    for (c, o) in cumulative.iter_mut().zip(oc) {
                        *c = c.saturating_add(*o);
                    }
                } else {
                    // Different layouts: keep the bounds both have, where both counts are known
                    // (wider buckets, still exact).
                    (*bounds, *cumulative) = merge_layouts(bounds, cumulative, ob, oc);
                }
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
                for (c, o) in cumulative.iter_mut().zip(oc) {
                    *c = c.saturating_sub(*o);
                }
                make_cumulative(cumulative);
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
                let estimate = histogram_quantile(q, bounds, cumulative);
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
            Data::Buckets { bounds, cumulative } => bucket_of_rank(1, bounds, cumulative).0 >= 0.0,
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
                let n = self.count();
                let (b_low, b_high) = bucket_of_rank(k, bounds, cumulative);
                let s = self.sum;
                if !(self.non_negative() && s.is_finite()) || n == 0 {
                    return b_low..=b_high;
                }
                let s = s.max(0.0);
                // When the sum cannot come from values in these buckets (bad input), the
                // count and the sum are what is kept.
                let fits = sum_fits(s, bounds, cumulative);
                let (b_low, b_high) = if fits {
                    (b_low, b_high)
                } else {
                    (0.0, f64::INFINITY)
                };
                let top = if fits {
                    bucket_of_rank(n, bounds, cumulative).1
                } else {
                    f64::INFINITY
                };
                // The n - k + 1 values from the k-th up are each at least the k-th and add up
                // to at most the sum.
                let s_high = s / (n - k + 1) as f64;
                // The k values up to the k-th are each at most the k-th, the others at most the
                // top bucket's bound: k × x + (n - k) × top ≥ sum.
                let s_low = if top.is_finite() {
                    (s - (n - k) as f64 * top) / k as f64
                } else {
                    0.0
                };
                // The largest value is at least the mean.
                let s_low = if k == n {
                    s_low.max(s / n as f64)
                } else {
                    s_low
                };
                let high = b_high.min(s_high);
                // Both bounds grow with k, so the ranges of successive ranks never cross; the
                // last `min` only absorbs rounding.
                let low = b_low.max(s_low).max(0.0).min(high);
                low..=high
            }
        }
    }
}

/// Whether values in these buckets can add up to `sum`: between every value at its bucket's
/// lower bound and every value at its upper bound (with room for rounding).
fn sum_fits(sum: f64, bounds: &[f64], cumulative: &[u64]) -> bool {
    let (mut least, mut most) = (0.0f64, 0.0f64);
    let mut below = 0u64;
    for (i, &c) in cumulative.iter().enumerate() {
        let in_bucket = c.saturating_sub(below) as f64;
        below = c;
        if in_bucket == 0.0 {
            continue;
        }
        let lower = if i == 0 { 0.0 } else { bounds[i - 1] };
        let upper = bounds.get(i).copied().unwrap_or(f64::INFINITY);
        least += in_bucket * lower;
        most += in_bucket * upper;
    }
    let slack = 1e-9 * sum.abs().max(1e-9);
    sum >= least * (1.0 - 1e-9) - slack && sum <= most * (1.0 + 1e-9) + slack
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

/// Two bucket layouts merged onto the bounds they share (both sorted), plus `+Inf`.
fn merge_layouts(a: &[f64], ac: &[u64], b: &[f64], bc: &[u64]) -> (Vec<f64>, Vec<u64>) {
    let (mut bounds, mut cumulative) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            bounds.push(a[i]);
            cumulative.push(ac[i].saturating_add(bc[j]));
            i += 1;
            j += 1;
        } else if a[i] < b[j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    let total = |c: &[u64]| c.last().copied().unwrap_or(0);
    cumulative.push(total(ac).saturating_add(total(bc)));
    (bounds, cumulative)
}

/// Makes counts cumulative: each at least the one before.
fn make_cumulative(counts: &mut [u64]) {
    let mut running = 0;
    for c in counts {
        running = (*c).max(running);
        *c = running;
    }
}

/// The bucket holding the `k`-th smallest value: `(lower, upper)` bounds. The first bucket
/// starts at 0 when its bound is positive (as PromQL assumes), the `+Inf` one ends at infinity.
fn bucket_of_rank(k: u64, bounds: &[f64], cumulative: &[u64]) -> (f64, f64) {
    let i = cumulative.partition_point(|&c| c < k);
    let lower = |i: usize| match i {
        0 => match bounds.first() {
            Some(&b) if b <= 0.0 => f64::NEG_INFINITY,
            _ => 0.0,
        },
        i => bounds[i - 1],
    };
    if i >= bounds.len() {
        (lower(bounds.len()), f64::INFINITY)
    } else {
        (lower(i), bounds[i])
    }
}

/// PromQL's `histogram_quantile` on one histogram: find the bucket holding rank `q × count`
/// and interpolate linearly inside it; a rank in the `+Inf` bucket gives the highest finite
/// bound; the first bucket starts at 0 (or at its own bound, if that is negative).
fn histogram_quantile(q: f64, bounds: &[f64], cumulative: &[u64]) -> f64 {
    let total = cumulative.last().copied().unwrap_or(0);
    if total == 0 || bounds.is_empty() {
        return 0.0;
    }
    let rank = q * total as f64;
    let Some(i) = cumulative.iter().position(|&c| c as f64 >= rank) else {
        return bounds[bounds.len() - 1];
    };
    if i == bounds.len() {
        return bounds[bounds.len() - 1];
    }
    let upper = bounds[i];
    let (lower, below) = if i == 0 {
        (if upper > 0.0 { 0.0 } else { upper }, 0)
    } else {
        (bounds[i - 1], cumulative[i - 1])
    };
    let in_bucket = cumulative[i].saturating_sub(below);
    if in_bucket == 0 {
        return upper;
    }
    lower + (upper - lower) * (rank - below as f64) / in_bucket as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hdr_quantiles_are_within_a_tenth_of_a_percent() {
        let mut d = Distribution::hdr(1e9);
        // 1 ms, 2 ms, …, 1000 ms.
        for ms in 1..=1000 {
            d.record(f64::from(ms) / 1000.0);
        }
        assert_eq!(d.count(), 1000);
        assert!((d.sum() - 500.5).abs() < 1e-9);
        for (q, exact) in [
            (0.5, 0.5),
            (0.9, 0.9),
            (0.99, 0.99),
            (0.999, 0.999),
            (1.0, 1.0),
        ] {
            let got = d.quantile(q);
            assert!(
                got >= exact && got <= exact * 1.001,
                "q{q}: {got} vs {exact}"
            );
            let range = d.quantile_range(q);
            assert!(range.contains(&exact), "q{q}: {range:?} vs {exact}");
        }
        assert_eq!(d.min(), 0.001);
        assert_eq!(d.max(), 1.0);
    }

    #[test]
    fn few_distinct_values_give_exact_quantiles_many_give_hdr_ones() {
        let mut d = Distribution::hdr(1e9);
        for _ in 0..90 {
            d.record(0.05);
        }
        for _ in 0..10 {
            d.record(0.12);
        }
        assert_eq!(
            (d.quantile(0.5), d.quantile(0.9), d.quantile(0.91)),
            (0.05, 0.05, 0.12)
        );
        let mut before = d.clone();
        before.merge(&Distribution::empty());
        d.record(0.3);
        d.subtract(&before);
        assert_eq!((d.count(), d.quantile(0.0), d.quantile(1.0)), (1, 0.3, 0.3));
        // Past the limit of distinct values, the HDR histogram answers.
        let mut many = Distribution::hdr(1.0);
        for v in 0..(EXACT_VALUES as u64 + 10) {
            many.record(1000.0 + v as f64);
        }
        let got = many.quantile(0.5);
        let exact = 1000.0 + (EXACT_VALUES as f64 + 10.0) / 2.0 - 1.0;
        assert!(got >= exact && got <= exact * 1.001, "{got} vs {exact}");
    }

    #[test]
    fn equal_values_are_reported_exactly() {
        let mut d = Distribution::hdr(1e9);
        for _ in 0..10 {
            d.record(0.05);
        }
        assert_eq!(d.quantile(0.99), 0.05);
        assert_eq!(d.quantile_range(0.5), 0.05..=0.05);
        assert_eq!((d.min(), d.max()), (0.05, 0.05));
    }

    #[test]
    fn bucket_quantiles_match_histogram_quantile() {
        // 10 values ≤ 0.1, 10 more ≤ 0.5, 0 more ≤ 1, 5 above.
        let d = Distribution::buckets(
            vec![(0.1, 10), (0.5, 20), (1.0, 20), (f64::INFINITY, 25)],
            12.0,
            None,
        );
        assert_eq!(d.count(), 25);
        // rank 12.5 lies in (0.1, 0.5]: 0.1 + 0.4 × 2.5 / 10.
        assert!((d.quantile(0.5) - 0.2).abs() < 1e-12);
        assert_eq!(d.quantile_range(0.5), 0.1..=0.5);
        // rank 2.5 lies in the first bucket, which starts at 0.
        assert!((d.quantile(0.1) - 0.025).abs() < 1e-12);
        // a rank in +Inf gives the highest finite bound; its range is open up to what the
        // sum allows.
        assert_eq!(d.quantile(0.99), 1.0);
        assert_eq!(*d.quantile_range(0.99).start(), 1.0);
        assert!(d.quantile_range(0.99).end().is_finite());
        assert_eq!(
            Distribution::buckets(vec![(f64::INFINITY, 0)], 0.0, None).quantile(0.5),
            0.0
        );
    }

    #[test]
    fn bucket_bounds_never_contradict_count_and_sum() {
        // Ten requests of 0 bytes in a first bucket of 64: the sum says they are all 0.
        let d = Distribution::buckets(vec![(64.0, 10), (f64::INFINITY, 10)], 0.0, None);
        assert_eq!((d.min(), d.quantile(0.5), d.max()), (0.0, 0.0, 0.0));
        // One request of 34 µs in the 5 ms bucket: min = max = mean = sum.
        let d = Distribution::buckets(vec![(0.005, 1), (f64::INFINITY, 1)], 34e-6, None);
        assert_eq!((d.min(), d.max(), d.mean()), (34e-6, 34e-6, 34e-6));
        assert_eq!(d.quantile(0.99), 34e-6);
        // The largest value is at least the mean, the smallest at most.
        let d = Distribution::buckets(vec![(1.0, 3), (f64::INFINITY, 4)], 14.0, None);
        assert!(d.max() >= d.mean() && d.min() <= d.mean());
        assert!(*d.quantile_range(1.0).start() >= 3.5);
    }

    #[test]
    fn any_bucket_input_is_well_formed() {
        // Counts that decrease, equal bounds, NaN and -Inf bounds, no +Inf bucket.
        let d = Distribution::buckets(
            vec![
                (1.0, 5),
                (0.5, 7),
                (1.0, 2),
                (f64::NAN, 3),
                (f64::NEG_INFINITY, 1),
            ],
            3.0,
            Some(9),
        );
        assert_eq!(d.count(), 9);
        for q in [0.0, 0.3, 0.5, 0.9, 1.0] {
            let r = d.quantile_range(q);
            assert!(r.start() <= r.end() && r.contains(&d.quantile(q)), "{q}");
        }
        let huge = Distribution::buckets(vec![(f64::INFINITY, u64::MAX)], 1.0, None);
        let mut sum = huge.clone();
        sum.merge(&huge);
        assert_eq!(sum.count(), u64::MAX);
        let _ = sum.quantile(0.5);
    }

    #[test]
    fn different_layouts_merge_onto_shared_bounds() {
        let a = Distribution::buckets(vec![(0.1, 1), (0.5, 2), (f64::INFINITY, 3)], 1.0, None);
        let b = Distribution::buckets(vec![(0.5, 4), (1.0, 5), (f64::INFINITY, 5)], 1.5, None);
        let mut sum = a.clone();
        sum.merge(&b);
        assert_eq!((sum.count(), sum.sum()), (8, 2.5));
        assert_eq!(sum.quantile_range(0.5), 0.0..=0.5);
    }

    #[test]
    fn a_sum_the_buckets_cannot_hold_yields_to_count_and_sum() {
        // Four values at most 10 ms cannot add up to 41 ms.
        let d = Distribution::buckets(vec![(0.01, 4), (f64::INFINITY, 4)], 0.041, None);
        let mut last = 0.0;
        for q in [0.0, 0.5, 1.0] {
            let r = d.quantile_range(q);
            assert!(*r.start() >= last && r.end() <= &0.041, "{q}: {r:?}");
            last = *r.start();
        }
        assert!(d.max() >= d.mean() && d.min() <= d.mean());
    }

    #[test]
    fn merge_and_subtract_by_shape() {
        let a = Distribution::buckets(vec![(1.0, 2), (f64::INFINITY, 3)], 3.0, None);
        let mut sum = Distribution::empty();
        sum.merge(&a);
        sum.merge(&a);
        assert_eq!(sum.count(), 6);
        sum.subtract(&a);
        assert_eq!(sum.count(), 3);
        assert_eq!(sum.sum(), 3.0);
        sum.subtract(&a);
        assert_eq!((sum.count(), sum.sum()), (0, 0.0));
    }

    #[test]
    fn a_difference_keeps_bounds_that_hold() {
        let mut before = Distribution::hdr(1e9);
        before.record(0.001);
        let mut after = before.clone();
        after.record(0.2);
        after.record(0.3);
        after.subtract(&before);
        assert_eq!(after.count(), 2);
        assert!(after.min() <= 0.2 && after.min() > 0.19, "{after:?}");
        assert_eq!(after.max(), 0.3);
    }
}
