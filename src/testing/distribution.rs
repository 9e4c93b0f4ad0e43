//! A distribution of values: exact from an HDR histogram (in-memory recorder), or estimated from
//! cumulative buckets (a parsed Prometheus exposition).

use std::fmt;

/// Significant decimal digits kept by HDR histograms: values are stored with a relative error
/// of at most 2⁻¹⁰ (about 0.1 %).
pub(crate) const SIGNIFICANT_DIGITS: u8 = 3;

/// A distribution of recorded values, in the unit of the metric (seconds for durations, bytes for
/// sizes).
///
/// From a [`TestRecorder`](super::TestRecorder): exact count and sum; min, max and quantiles from
/// an HDR histogram, within a relative error of 0.1 %.
///
/// From a Prometheus exposition ([`Snapshot::from_prometheus_text`](super::Snapshot::from_prometheus_text)):
/// exact count and sum; quantiles estimated from the buckets by linear interpolation within the
/// bucket that holds them, exactly as PromQL's `histogram_quantile` does, so their error is
/// bounded by the bucket width. `min` and `max` are the 0 and 1 quantiles of that estimate.
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
    },
    Buckets {
        /// Finite upper bounds, increasing.
        bounds: Vec<f64>,
        /// Cumulative counts per bound, then the `+Inf` bucket (the total count).
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
            data: Data::Hdr { hdr, scale },
            sum: 0.0,
        }
    }

    /// A bucketed distribution: `(upper bound, cumulative count)` pairs, the `+Inf` bucket
    /// included, as a Prometheus histogram exposes them.
    pub(crate) fn buckets(mut pairs: Vec<(f64, u64)>, sum: f64) -> Self {
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total = pairs
            .iter()
            .find(|(le, _)| le.is_infinite())
            .map_or_else(|| pairs.last().map_or(0, |p| p.1), |p| p.1);
        let finite: Vec<(f64, u64)> = pairs.into_iter().filter(|(le, _)| le.is_finite()).collect();
        let mut cumulative: Vec<u64> = finite.iter().map(|p| p.1).collect();
        cumulative.push(total);
        Self {
            data: Data::Buckets {
                bounds: finite.into_iter().map(|p| p.0).collect(),
                cumulative,
            },
            sum,
        }
    }

    pub(crate) fn record(&mut self, value: f64) {
        let Data::Hdr { hdr, scale } = &mut self.data else {
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
        self.sum += value;
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        match (&mut self.data, &other.data) {
            (_, Data::Empty) => return,
            (Data::Empty, _) => self.data = other.data.clone(),
            (Data::Hdr { hdr, .. }, Data::Hdr { hdr: o, .. }) => {
                // Both sides auto-resize, so adding cannot run out of range.
                let _ = hdr.add(o);
            }
            (
                Data::Buckets { bounds, cumulative },
                Data::Buckets {
                    bounds: ob,
                    cumulative: oc,
                },
            ) if bounds == ob => {
                for (c, o) in cumulative.iter_mut().zip(oc) {
                    *c += o;
                }
            }
            // Different shapes cannot be combined value by value; the first one is kept.
            _ => return,
        }
        self.sum += other.sum;
    }

    pub(crate) fn subtract(&mut self, other: &Self) {
        let ok = match (&mut self.data, &other.data) {
            (Data::Hdr { hdr, .. }, Data::Hdr { hdr: o, .. }) => hdr.subtract(o).is_ok(),
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
                true
            }
            _ => false,
        };
        if ok {
            self.sum -= other.sum;
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

    /// The smallest value (see the type's docs for its accuracy), or 0 when empty.
    #[must_use]
    pub fn min(&self) -> f64 {
        match &self.data {
            Data::Hdr { hdr, scale } if !hdr.is_empty() => hdr.min() as f64 / scale,
            Data::Buckets { .. } => self.quantile(0.0),
            _ => 0.0,
        }
    }

    /// The largest value (see the type's docs for its accuracy), or 0 when empty.
    #[must_use]
    pub fn max(&self) -> f64 {
        match &self.data {
            Data::Hdr { hdr, scale } if !hdr.is_empty() => hdr.max() as f64 / scale,
            Data::Buckets { .. } => self.quantile(1.0),
            _ => 0.0,
        }
    }

    /// The value at quantile `q` (0.0 to 1.0), or 0 when empty.
    ///
    /// HDR-backed: the smallest recorded value `v` such that a fraction `q` of the values are
    /// ≤ `v`, reported at most 0.1 % above it. Bucketed: `histogram_quantile(q, …)`.
    #[must_use]
    pub fn quantile(&self, q: f64) -> f64 {
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        match &self.data {
            Data::Hdr { hdr, scale } if !hdr.is_empty() => hdr.value_at_quantile(q) as f64 / scale,
            Data::Buckets { bounds, cumulative } => bucket_quantile(q, bounds, cumulative),
            _ => 0.0,
        }
    }
}

/// PromQL's `histogram_quantile` on one histogram: find the bucket holding rank `q × count`
/// and interpolate linearly inside it; a rank in the `+Inf` bucket gives the highest finite
/// bound; the first bucket starts at 0 (or at its own bound, if that is negative).
fn bucket_quantile(q: f64, bounds: &[f64], cumulative: &[u64]) -> f64 {
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
    let in_bucket = cumulative[i] - below;
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
        }
        assert!((d.min() - 0.001).abs() <= 0.001 * 0.001);
    }

    #[test]
    fn bucket_quantiles_match_histogram_quantile() {
        // 10 values ≤ 0.1, 10 more ≤ 0.5, 0 more ≤ 1, 5 above.
        let d = Distribution::buckets(
            vec![(0.1, 10), (0.5, 20), (1.0, 20), (f64::INFINITY, 25)],
            12.0,
        );
        assert_eq!(d.count(), 25);
        // rank 12.5 lies in (0.1, 0.5]: 0.1 + 0.4 × 2.5 / 10.
        assert!((d.quantile(0.5) - 0.2).abs() < 1e-12);
        // rank 2.5 lies in the first bucket, which starts at 0.
        assert!((d.quantile(0.1) - 0.025).abs() < 1e-12);
        // a rank in +Inf gives the highest finite bound.
        assert_eq!(d.quantile(0.99), 1.0);
        assert_eq!(
            Distribution::buckets(vec![(f64::INFINITY, 0)], 0.0).quantile(0.5),
            0.0
        );
    }

    #[test]
    fn merge_and_subtract_by_shape() {
        let a = Distribution::buckets(vec![(1.0, 2), (f64::INFINITY, 3)], 3.0);
        let mut sum = Distribution::empty();
        sum.merge(&a);
        sum.merge(&a);
        assert_eq!(sum.count(), 6);
        sum.subtract(&a);
        assert_eq!(sum.count(), 3);
        assert_eq!(sum.sum(), 3.0);
    }
}
