//! Quantiles, bounds, merges and differences of distributions, exact and bucketed.

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
