use super::*;
use crate::prometheus::histogram::AtomicHistogram;
use proptest::prelude::*;
use std::sync::Arc;

/// The straightforward reference: `ceil(log2(v) × 2^schema)`, and how close `v` is to a bound.
fn reference(v: f64, schema: i8) -> (i32, f64) {
    let x = v.log2() * 2f64.powi(i32::from(schema));
    (x.ceil() as i32, (x - x.round()).abs())
}

#[test]
fn exact_bounds_are_upper_inclusive() {
    for schema in MIN_SCHEMA..=MAX_SCHEMA {
        // Bounds that are powers of two are exact in f64: 2^(k / 2^schema) for these k.
        let step = if schema > 0 { 1 << schema } else { 1 };
        for k in (-40..=40).map(|k| k * step) {
            let bound = 2f64.powf(f64::from(k) / 2f64.powi(i32::from(schema)));
            assert_eq!(key(bound, schema), k, "schema {schema} bound {bound}");
            assert_eq!(
                key(bound.next_up(), schema),
                k + 1,
                "schema {schema} {bound}+"
            );
        }
    }
    // Extremes: the smallest subnormal, the largest finite value, infinity after it.
    assert_eq!(key(f64::from_bits(1), 0), -1074);
    assert_eq!(key(f64::MAX, 0), 1024);
    assert_eq!(key(f64::INFINITY, 0), 1025);
    assert_eq!(key(f64::MAX, -4), 64);
    assert_eq!(key(ZERO_THRESHOLD.next_up(), -4), -7);
}

#[test]
fn memory_per_series_is_bounded() {
    // Per half: the cell and its positive window, narrow until values spread wider; the
    // negative window only once a negative value is seen; the spill list is empty between
    // reads but for values outside the window.
    let narrow = 2 * (std::mem::size_of::<NativeHalf>() + NARROW * 8);
    let wide = narrow + 2 * (MAX_BUCKETS - NARROW) * 8;
    println!("native buckets per histogram series: {narrow} bytes narrow, {wide} wide");
    assert!(narrow <= 800, "{narrow}");
    assert!(wide <= 2_900, "{wide}");
}

/// Values close together keep the narrow window; spread wider, it widens once (and stays
/// wide), every value in its own bucket throughout.
#[test]
fn the_window_widens_only_when_values_spread() {
    let h = AtomicHistogram::with_native(Arc::from(&[1.0][..]), Some(3));
    let mut expected = std::collections::BTreeMap::<i32, u64>::new();
    let mut observe = |v: f64, times: u64| {
        h.observe(v, times, None);
        *expected.entry(key(v, 3)).or_default() += times;
        let snapshot = h.snapshot().native.unwrap();
        assert_eq!(snapshot.schema, 3);
        let positive: Vec<(i32, u64)> = expected.iter().map(|(&k, &n)| (k, n)).collect();
        assert_eq!(snapshot.positive, positive, "after {v}");
        h.native_layout().unwrap()
    };
    // Within a factor of 8 of each other: 24 buckets at schema 3.
    for i in 0..100 {
        let layout = observe(0.010 * (1.0 + 7.0 * f64::from(i) / 100.0), 10);
        assert!(!layout.wide, "{layout:?}");
    }
    // A value 1,000 times larger: wide, at the same schema, each bucket where it was.
    assert!(observe(10.0, 1).wide);
    // Values close together again, at both ends of the wide window: it stays wide.
    for v in [0.02, 0.0101, 9.0, 0.5] {
        assert!(observe(v, 5).wide);
    }
}

/// Spills of both signs together beyond one window's worth keep their resolution when each
/// sign fits a window: 130 positive and 40 negative buckets at schema 8 stay at schema 8.
#[test]
fn spills_of_both_signs_keep_the_schema_each_fits() {
    let half = NativeHalf::new(8);
    let mut n = 0;
    for k in 20..150 {
        half.record(2f64.powf(f64::from(k) / 256.0 - 0.001), 1);
        n += 1;
    }
    for k in 20..60 {
        half.record(-2f64.powf(f64::from(k) / 256.0 - 0.001), 1);
        n += 1;
    }
    let (snapshot, layout) = read(&half, &NativeHalf::new(8));
    assert_eq!(snapshot.count(), n);
    assert_eq!(snapshot.schema, 8, "{layout:?}");
    // One sign over a window's worth is lowered as far as it must be, not to the lowest.
    let half = NativeHalf::new(8);
    for k in 0..400 {
        half.record(2f64.powf(f64::from(k) / 256.0 - 0.001), 1);
    }
    let (snapshot, _) = read(&half, &NativeHalf::new(8));
    assert_eq!(snapshot.count(), 400);
    assert_eq!(
        snapshot.schema, 6,
        "400 buckets at schema 8 are 100 at schema 6"
    );
}

#[test]
fn layouts_pack_and_unpack() {
    for (schema, positive, negative) in [(3, -80, -80), (-4, 5, -9), (8, -275_000, 262_300)] {
        for wide in [false, true] {
            let l = Layout {
                schema,
                positive,
                negative,
                wide,
            };
            assert_eq!(Layout::unpack(l.pack()), l);
        }
    }
}

#[test]
fn spills_stay_bounded_and_exact() {
    let half = NativeHalf::new(8);
    let mut n = 0u64;
    for e in -120..120 {
        for f in 0..20 {
            let v = 2f64.powi(e) * (1.0 + f64::from(f) / 20.0);
            half.record(v, 1);
            half.record(-v, 2);
            n += 3;
        }
    }
    let counts = half.counts();
    assert!(counts.entries.len() <= 2 * MAX_BUCKETS + 2 * MAX_SPILLS);
    let total: u64 = counts.entries.iter().map(|e| e.count).sum::<u64>() + counts.zero;
    assert_eq!(total, n);
    let target = plan(&counts, half.layout());
    let snapshot = NativeSnapshot::new(&counts, target.schema);
    assert_eq!(snapshot.count(), n);
    for side in [&snapshot.positive, &snapshot.negative] {
        let span = side.last().unwrap().0 - side.first().unwrap().0;
        assert!(usize::try_from(span).unwrap() < MAX_BUCKETS, "{span}");
    }
}

/// Per sign, the expected count of each bucket at `schema`.
/// Non-empty buckets, `(index, count)` in ascending order.
type Buckets = Vec<(i32, u64)>;

fn expected(values: &[f64], schema: i8) -> (u64, Buckets, Buckets) {
    let (mut zero, mut positive, mut negative) = (0, BTreeMap::new(), BTreeMap::new());
    for &v in values {
        if v.abs() <= ZERO_THRESHOLD {
            zero += 1;
        } else if v > 0.0 {
            *positive.entry(key(v, schema)).or_insert(0u64) += 1;
        } else {
            *negative.entry(key(-v, schema)).or_insert(0u64) += 1;
        }
    }
    (
        zero,
        positive.into_iter().collect(),
        negative.into_iter().collect(),
    )
}

fn check(h: &AtomicHistogram, values: &[f64]) {
    let s = h.snapshot();
    let native = s.native.expect("native buckets are on");
    assert_eq!(s.count, values.len() as u64);
    assert_eq!(native.count(), s.count);
    let (zero, positive, negative) = expected(values, native.schema);
    assert_eq!(native.zero_count, zero);
    assert_eq!(native.positive, positive);
    assert_eq!(native.negative, negative);
}

/// What the documentation promises: request durations from 100 µs to 10 s, in either order,
/// keep schema 3; one infinite value beside them coarsens the series.
#[test]
fn a_hundred_microseconds_to_ten_seconds_fit_at_schema_3() {
    for values in [[1e-4, 10.0], [10.0, 1e-4]] {
        let h = AtomicHistogram::with_native(Arc::from(&[1.0][..]), Some(3));
        for v in values {
            h.observe(v, 1, None);
        }
        check(&h, &values);
        assert_eq!(h.snapshot().native.unwrap().schema, 3, "{values:?}");
        h.observe(f64::INFINITY, 1, None);
        assert!(h.snapshot().native.unwrap().schema < 3);
    }
}

#[test]
fn resolution_drops_only_as_far_as_needed() {
    let h = AtomicHistogram::with_native(Arc::from(&[1.0][..]), Some(3));
    // 0.001 s to 1 s: 10 powers of two, 80 buckets at schema 3.
    let mut values: Vec<f64> = (0..1000).map(|i| 0.001 * 1.007f64.powi(i)).collect();
    values.retain(|&v| v <= 1.0);
    for &v in &values {
        h.observe(v, 1, None);
    }
    check(&h, &values);
    assert_eq!(h.snapshot().native.unwrap().schema, 3);
    // Up to 10,000 s: 23 powers of two, 184 buckets at schema 3, so schema 2.
    values.extend((0..14).map(|i| 2f64.powi(i)));
    for &v in &values[values.len() - 14..] {
        h.observe(v, 1, None);
    }
    check(&h, &values);
    assert_eq!(h.snapshot().native.unwrap().schema, 2);
}

#[test]
fn concurrent_observers_and_readers_lose_nothing() {
    let h = Arc::new(AtomicHistogram::with_native(
        Arc::from(&[0.1, 1.0][..]),
        Some(8),
    ));
    let value = |t: u32, i: u32| {
        let v = 1e-6 * 1.01f64.powi(i32::try_from(i % 3000).unwrap());
        if t == 3 && i % 7 == 0 { -v } else { v }
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (h, stop) = (Arc::clone(&h), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let s = h.snapshot();
                let native = s.native.unwrap();
                assert_eq!(native.count(), s.count);
                assert_eq!(*s.cumulative.last().unwrap(), s.count);
            }
        })
    };
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let h = Arc::clone(&h);
            std::thread::spawn(move || {
                for i in 0..20_000 {
                    h.observe(value(t, i), 1, None);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    let values: Vec<f64> = (0..4)
        .flat_map(|t| (0..20_000).map(move |i| value(t, i)))
        .collect();
    check(&h, &values);
}

fn value_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => (-40.0f64..40.0).prop_map(|e| 2f64.powf(e)),
        2 => (-40.0f64..40.0).prop_map(|e| -(2f64.powf(e))),
        1 => Just(0.0),
        1 => Just(f64::INFINITY),
        1 => any::<f64>().prop_filter("not NaN", |v| !v.is_nan()),
    ]
}

/// The same index by a binary search over the bounds as numbers, from `v = frac × 2^exp`.
fn key_by_search(v: f64, schema: i8) -> i32 {
    let exp = v.log2().floor() as i32;
    let mut frac = v / 2f64.powi(exp);
    let mut exp = exp;
    // `log2` may round across a power of two: bring `frac` into [1, 2).
    while frac >= 2.0 {
        frac /= 2.0;
        exp += 1;
    }
    while frac < 1.0 {
        frac *= 2.0;
        exp -= 1;
    }
    if schema > 0 {
        let n = 1i32 << schema;
        let bounds: Vec<f64> = (0..n)
            .map(|i| (f64::from(i) / f64::from(n)).exp2())
            .collect();
        bounds.partition_point(|&b| b < frac) as i32 + exp * n
    } else {
        let k = exp + i32::from(frac > 1.0);
        let shift = -i32::from(schema);
        (k + (1 << shift) - 1) >> shift
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn key_matches_a_search_over_the_bounds(
        exponent in 0x380u64..0x7ff,
        fraction in any::<u64>(),
        schema in MIN_SCHEMA..=MAX_SCHEMA,
    ) {
        // Every normal number above the zero threshold, any fraction bits.
        let v = f64::from_bits(exponent << 52 | fraction >> 12);
        prop_assert_eq!(key(v, schema), key_by_search(v, schema));
        // Exactly on a bound: that bucket (upper bounds are inclusive); just above: the next.
        if schema > 0 {
            let bounds = &octave(schema).bounds;
            let j = usize::try_from(fraction % (bounds.len() as u64 - 1)).unwrap();
            let on = f64::from_bits(exponent << 52 | bounds[j]);
            prop_assert_eq!(key(on, schema), key_by_search(on, schema));
            prop_assert_eq!(key(on.next_up(), schema), key(on, schema) + 1);
        }
        // Close to a bound (as computed by `powf`): the same answer on its side.
        let n = 1i32 << schema.max(0);
        let bound = 2f64.powf(f64::from(key(v, schema)) / f64::from(n));
        if bound.is_finite() && schema > 0 {
            let below = key_by_search(bound.next_down(), schema);
            prop_assert_eq!(key(bound.next_down(), schema), below);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn key_matches_the_logarithm(e in -1000.0f64..1000.0, schema in MIN_SCHEMA..=MAX_SCHEMA) {
        let v = 2f64.powf(e);
        prop_assume!(v > ZERO_THRESHOLD && v.is_finite());
        let k = key(v, schema);
        let (r, distance) = reference(v, schema);
        if distance > 1e-9 {
            prop_assert_eq!(k, r);
        } else {
            // On a bound, the logarithm's rounding decides the reference.
            prop_assert!((k - r).abs() <= 1, "{} vs {}", k, r);
        }
        if schema > MIN_SCHEMA {
            prop_assert_eq!(key(v, schema - 1), reduce(k, schema, schema - 1));
        }
    }

    #[test]
    fn every_observation_is_counted(
        values in proptest::collection::vec(value_strategy(), 0..300),
        schema in MIN_SCHEMA..=MAX_SCHEMA,
    ) {
        let h = AtomicHistogram::with_native(Arc::from(&[1.0][..]), Some(schema));
        for (i, &v) in values.iter().enumerate() {
            h.observe(v, 1, None);
            if i % 50 == 0 {
                let s = h.snapshot();
                prop_assert_eq!(s.native.unwrap().count(), s.count);
            }
        }
        check(&h, &values);
        let native = h.snapshot().native.unwrap();
        prop_assert!(native.schema <= schema);
    }
}

#[test]
fn coarser_counts_are_never_placed_at_a_finer_schema() {
    // The other half spilled so much during a relayout that it keeps counts at a schema below
    // 3, while the relayout chose schema 3 from the first half alone.
    let quiet = NativeHalf::new(8);
    for e in -100..100 {
        quiet.record(2f64.powi(e) * 1.3, 1);
    }
    let coarsest = quiet
        .counts()
        .entries
        .iter()
        .map(|e| e.schema)
        .min()
        .unwrap();
    assert!(coarsest < 3, "{coarsest}");
    let hot = NativeHalf::new(3);
    let target = hot.layout();
    finish_relayout(&quiet, &hot, target);
    let counts = hot.counts();
    assert!(counts.spilled);
    let schema = plan(&counts, target).schema;
    assert!(schema <= coarsest, "{schema} above {coarsest}");
    let values: Vec<f64> = (-100..100).map(|e| 2f64.powi(e) * 1.3).collect();
    let (_, positive, _) = expected(&values, schema);
    assert_eq!(NativeSnapshot::new(&counts, schema).positive, positive);
}
