//! What cumulative buckets (a Prometheus histogram read from an exposition) tell about the
//! values in them: normalising any input, merging and subtracting layouts, the bucket of a
//! rank, and the range a value certainly lies in once the count and the sum are taken into
//! account.

use std::ops::RangeInclusive;

/// Bounds and cumulative counts (then the `+Inf` bucket) of `(upper bound, cumulative count)`
/// pairs as a Prometheus histogram exposes them, made well-formed whatever the input: `NaN`
/// and `-Inf` bounds are ignored, equal bounds keep the larger count, `count` stands in for a
/// missing `+Inf` bucket, and counts are made cumulative (never decreasing).
pub(super) fn normalise(mut pairs: Vec<(f64, u64)>, count: Option<u64>) -> (Vec<f64>, Vec<u64>) {
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
    (bounds, cumulative)
}

/// Adds the buckets `ob`, `oc` to `bounds`, `cumulative`.
pub(super) fn merge(bounds: &mut Vec<f64>, cumulative: &mut Vec<u64>, ob: &[f64], oc: &[u64]) {
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

/// Removes the counts `oc` (an earlier state, same bounds) from `cumulative`.
pub(super) fn subtract(cumulative: &mut [u64], oc: &[u64]) {
    for (c, o) in cumulative.iter_mut().zip(oc) {
        *c = c.saturating_sub(*o);
    }
    make_cumulative(cumulative);
}

/// Whether no value in these buckets can be negative: the smallest value's bucket starts at 0
/// or above.
pub(super) fn non_negative(bounds: &[f64], cumulative: &[u64]) -> bool {
    bucket_of_rank(1, bounds, cumulative).0 >= 0.0
}

/// Where the `k`-th smallest of `n` bucketed values adding up to `sum` certainly lies: the
/// bucket that holds it, narrowed by what the count and the sum allow.
pub(super) fn range_of_rank(
    k: u64,
    n: u64,
    sum: f64,
    bounds: &[f64],
    cumulative: &[u64],
) -> RangeInclusive<f64> {
    let (b_low, b_high) = bucket_of_rank(k, bounds, cumulative);
    let s = sum;
    if !(non_negative(bounds, cumulative) && s.is_finite()) || n == 0 {
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

/// PromQL's `histogram_quantile` on one histogram (see `crate::quantile`), with `q` held to
/// 0..=1 and 0 for a histogram without observations.
pub(super) fn histogram_quantile(q: f64, bounds: &[f64], cumulative: &[u64]) -> f64 {
    crate::quantile::quantile(q.clamp(0.0, 1.0), bounds, cumulative).unwrap_or(0.0)
}
