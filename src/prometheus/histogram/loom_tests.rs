//! The histogram under loom: observations racing a render's swap of the halves.

use super::*;
use crate::sync::{Arc, model};
use loom::thread;

/// Checks a cut of observations of 0.5 (first bucket) and 5.0 (`+Inf`): cumulative
/// buckets, `+Inf` equal to the count, and the sum of exactly those observations.
fn consistent(s: &HistogramSnapshot) {
    assert!(s.cumulative.windows(2).all(|w| w[0] <= w[1]), "{s:?}");
    assert_eq!(*s.cumulative.last().unwrap(), s.count, "{s:?}");
    let expect = 0.5 * s.cumulative[0] as f64 + 5.0 * (s.count - s.cumulative[0]) as f64;
    assert_eq!(s.sum, expect, "{s:?}");
}

/// Proves: two observations racing a render's swap of the halves are each counted once
/// (the render's wait for the cold half ends, and nothing is lost in the fold back), and
/// the render's cut is consistent: cumulative buckets, `+Inf` equal to `_count`, `_sum`
/// the sum of the same observations.
#[test]
fn loom_observations_racing_a_swap_lose_nothing_and_cut_consistently() {
    model(|| {
        let h = Arc::new(AtomicHistogram::new(std::sync::Arc::from(&[1.0][..])));
        let observer = |value| {
            let h = Arc::clone(&h);
            thread::spawn(move || h.observe(value, 1, None))
        };
        let (a, b) = (observer(0.5), observer(5.0));
        let during = h.snapshot();
        consistent(&during);
        a.join().unwrap();
        b.join().unwrap();
        let after = h.snapshot();
        consistent(&after);
        assert_eq!(after.cumulative, vec![1, 2]);
        assert!(during.count <= after.count);
    });
}

/// Proves, with native buckets on: two observations racing a render, one of them far
/// outside the half's window of exponential buckets (it spills, and the render lays the
/// histogram out anew: the window moves and the schema drops, while the halves are
/// swapped and waited for), are each counted once in the native buckets as in the fixed
/// ones; every cut's native buckets hold exactly the observations its `_count` holds; and
/// the re-layout's wait ends.
#[test]
fn loom_native_buckets_racing_a_relayout_lose_nothing() {
    crate::sync::model_with_branches(100_000, || {
        let h = Arc::new(AtomicHistogram::with_native(
            std::sync::Arc::from(&[1.0][..]),
            Some(3),
        ));
        let observer = |value| {
            let h = Arc::clone(&h);
            thread::spawn(move || h.observe(value, 1, None))
        };
        let (a, b) = (observer(0.5), observer(1e30));
        let during = h.snapshot();
        let native = during.native.as_ref().expect("native buckets are on");
        assert_eq!(native.count(), during.count, "{during:?}");
        a.join().unwrap();
        b.join().unwrap();
        for _ in 0..2 {
            let after = h.snapshot();
            let native = after.native.as_ref().expect("native buckets are on");
            assert_eq!(after.count, 2, "{after:?}");
            assert_eq!(native.count(), 2, "{after:?}");
            assert_eq!(native.positive.len(), 2, "{after:?}");
        }
    });
}
