//! Quantiles of a bucketed histogram, estimated the way Prometheus' `histogram_quantile`
//! does: the p50, p95 and p99 the live page shows, and the test kit's quantiles of
//! histograms read from an exposition.

/// The value at quantile `q` (0 to 1) of a histogram given as cumulative counts per bound (the
/// last entry is `+Inf`), interpolated linearly inside its bucket as Prometheus'
/// `histogram_quantile` does: the first bucket starts at 0 (when its bound is positive), and a
/// quantile in the `+Inf` bucket is the highest finite bound. `None` without observations.
pub(crate) fn quantile(q: f64, bounds: &[f64], cumulative: &[u64]) -> Option<f64> {
    let total = *cumulative.last()?;
    if total == 0 || !(0.0..=1.0).contains(&q) || cumulative.len() != bounds.len() + 1 {
        return None;
    }
    let rank = q * total as f64;
    let i = cumulative
        .iter()
        .position(|&c| c as f64 >= rank)
        .unwrap_or(cumulative.len() - 1);
    if i == bounds.len() {
        return bounds.last().copied();
    }
    let upper = bounds[i];
    let (lower, below) = if i == 0 {
        (if upper > 0.0 { 0.0 } else { upper }, 0)
    } else {
        (bounds[i - 1], cumulative[i - 1])
    };
    let in_bucket = cumulative[i].saturating_sub(below);
    if in_bucket == 0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * ((rank - below as f64) / in_bucket as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantiles_interpolate_like_histogram_quantile() {
        let bounds = [0.1, 0.5, 1.0];
        // 10 in (0, 0.1], 10 in (0.1, 0.5], none above.
        let cum = [10, 20, 20, 20];
        assert_eq!(quantile(0.5, &bounds, &cum), Some(0.1));
        assert!((quantile(0.25, &bounds, &cum).unwrap() - 0.05).abs() < 1e-12);
        assert!((quantile(0.75, &bounds, &cum).unwrap() - 0.3).abs() < 1e-12);
        assert_eq!(quantile(1.0, &bounds, &cum), Some(0.5));
        // In the +Inf bucket: the highest finite bound.
        assert_eq!(quantile(0.99, &bounds, &[0, 0, 1, 100]), Some(1.0));
        assert_eq!(quantile(0.5, &bounds, &[0, 0, 0, 0]), None);
        assert_eq!(quantile(1.5, &bounds, &cum), None);
        assert_eq!(quantile(0.5, &bounds, &[1, 2]), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn quantiles_stay_in_range_and_grow_with_q(
            counts in proptest::collection::vec(0u64..50, 4),
            q1 in 0.0f64..=1.0,
            q2 in 0.0f64..=1.0,
        ) {
            let bounds = [0.01, 0.1, 1.0];
            let cum: Vec<u64> = counts.iter().scan(0, |s, c| { *s += c; Some(*s) }).collect();
            let (lo, hi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
            match (quantile(lo, &bounds, &cum), quantile(hi, &bounds, &cum)) {
                (Some(a), Some(b)) => {
                    prop_assert!(a <= b + 1e-12);
                    prop_assert!((0.0..=1.0).contains(&a) && (0.0..=1.0).contains(&b));
                }
                (None, None) => prop_assert_eq!(cum[3], 0),
                other => prop_assert!(false, "{:?}", other),
            }
        }

    }
}
