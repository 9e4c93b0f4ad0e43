//! The encoder's output decoded by an independent reader: `prost`, with the messages of
//! `metrics.proto` (`io.prometheus.client`) declared here from the published schema.

use super::*;
use crate::prometheus::native::{ZERO_THRESHOLD, key};
use crate::prometheus::store::{Buckets, PrometheusRecorder};
use metrics::{Key, Label, Recorder as _};
use proptest::prelude::*;
use prost::Message as _;
use std::sync::Arc;

#[derive(Clone, PartialEq, prost::Message)]
struct LabelPair {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    value: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Value {
    #[prost(double, optional, tag = "1")]
    value: Option<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Timestamp {
    #[prost(int64, optional, tag = "1")]
    seconds: Option<i64>,
    #[prost(int32, optional, tag = "2")]
    nanos: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    label: Vec<LabelPair>,
    #[prost(double, optional, tag = "2")]
    value: Option<f64>,
    #[prost(message, optional, tag = "3")]
    timestamp: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Bucket {
    #[prost(uint64, optional, tag = "1")]
    cumulative_count: Option<u64>,
    #[prost(double, optional, tag = "2")]
    upper_bound: Option<f64>,
    #[prost(message, optional, tag = "3")]
    exemplar: Option<Exemplar>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct BucketSpan {
    #[prost(sint32, optional, tag = "1")]
    offset: Option<i32>,
    #[prost(uint32, optional, tag = "2")]
    length: Option<u32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Histogram {
    #[prost(uint64, optional, tag = "1")]
    sample_count: Option<u64>,
    #[prost(double, optional, tag = "2")]
    sample_sum: Option<f64>,
    #[prost(message, repeated, tag = "3")]
    bucket: Vec<Bucket>,
    #[prost(sint32, optional, tag = "5")]
    schema: Option<i32>,
    #[prost(double, optional, tag = "6")]
    zero_threshold: Option<f64>,
    #[prost(uint64, optional, tag = "7")]
    zero_count: Option<u64>,
    #[prost(message, repeated, tag = "9")]
    negative_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "10")]
    negative_delta: Vec<i64>,
    #[prost(message, repeated, tag = "12")]
    positive_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "13")]
    positive_delta: Vec<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Metric {
    #[prost(message, repeated, tag = "1")]
    label: Vec<LabelPair>,
    #[prost(message, optional, tag = "2")]
    gauge: Option<Value>,
    #[prost(message, optional, tag = "3")]
    counter: Option<Value>,
    #[prost(message, optional, tag = "7")]
    histogram: Option<Histogram>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct MetricFamily {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    help: Option<String>,
    #[prost(int32, optional, tag = "3")]
    r#type: Option<i32>,
    #[prost(message, repeated, tag = "4")]
    metric: Vec<Metric>,
}

fn decode(mut bytes: &[u8]) -> Vec<MetricFamily> {
    let mut families = Vec::new();
    while !bytes.is_empty() {
        families.push(MetricFamily::decode_length_delimited(&mut bytes).expect("decodes"));
    }
    families
}

/// Buckets from spans and deltas: `(index, count)`.
fn expand(spans: &[BucketSpan], deltas: &[i64]) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    let (mut index, mut count, mut deltas) = (0i32, 0i64, deltas.iter());
    for (i, span) in spans.iter().enumerate() {
        index += span.offset.unwrap_or(0) + i32::from(i > 0);
        for j in 0..span.length.unwrap_or(0) {
            if j > 0 {
                index += 1;
            }
            count += deltas.next().expect("a delta per bucket");
            out.push((
                index,
                u64::try_from(count).expect("counts are not negative"),
            ));
        }
        if span.length == Some(0) {
            index -= i32::from(i > 0);
        }
    }
    assert!(deltas.next().is_none(), "a delta per bucket");
    out
}

fn recorder(native: Option<i8>) -> PrometheusRecorder {
    PrometheusRecorder {
        store: Arc::new(
            Store::new(
                &[],
                Buckets {
                    by_route: Vec::new(),
                    by_name: Vec::new(),
                    native_by_route: Vec::new(),
                    default: Arc::from(&[0.1, 1.0][..]),
                },
            )
            .with_native(native),
        ),
    }
}

static META: metrics::Metadata<'static> = metrics::Metadata::new("t", metrics::Level::INFO, None);

#[test]
fn each_kind_decodes() {
    let r = recorder(Some(3));
    r.describe_counter("c_total".into(), None, "Cöunts \"x\"\n.".into());
    let labels = vec![Label::new("route", "/a\"b\\c\n✓")];
    r.register_counter(&Key::from_parts("c_total", labels.clone()), &META)
        .increment(7);
    r.register_gauge(&Key::from_name("g"), &META).set(-2.5);
    r.store.set_float_counter("cpu_seconds_total", 0.25);
    let h = r.register_histogram(&Key::from_parts("d", labels), &META);
    let values = [0.0, 0.003, 0.05, 0.05, 0.5, 2.0, -4.0];
    for v in values {
        h.record(v);
    }
    let _empty = r.register_histogram(&Key::from_name("empty"), &META);
    let families = decode(&render(&r.store));
    let names: Vec<_> = families.iter().map(|f| f.name.clone().unwrap()).collect();
    assert_eq!(names, ["c_total", "cpu_seconds_total", "d", "empty", "g"]);
    let c = &families[0];
    assert_eq!(
        (c.r#type, c.help.as_deref()),
        (Some(0), Some("Cöunts \"x\"\n."))
    );
    let m = &c.metric[0];
    assert_eq!(m.label[0].name.as_deref(), Some("route"));
    assert_eq!(m.label[0].value.as_deref(), Some("/a\"b\\c\n✓"));
    assert_eq!(m.counter.as_ref().unwrap().value, Some(7.0));
    assert_eq!(
        families[1].metric[0].counter.as_ref().unwrap().value,
        Some(0.25)
    );
    assert_eq!(families[4].r#type, Some(1));
    assert_eq!(
        families[4].metric[0].gauge.as_ref().unwrap().value,
        Some(-2.5)
    );

    let d = &families[2];
    assert_eq!(d.r#type, Some(4));
    let h = d.metric[0].histogram.as_ref().unwrap();
    assert_eq!(h.sample_count, Some(7));
    assert!((h.sample_sum.unwrap() - values.iter().sum::<f64>()).abs() < 1e-12);
    let classic: Vec<_> = h
        .bucket
        .iter()
        .map(|b| (b.upper_bound.unwrap(), b.cumulative_count.unwrap()))
        .collect();
    assert_eq!(classic, [(0.1, 5), (1.0, 6)]);
    assert_eq!(h.schema, Some(3));
    assert_eq!(h.zero_threshold, Some(ZERO_THRESHOLD));
    assert_eq!(h.zero_count, Some(1));
    let k = |v: f64| key(v, 3);
    assert_eq!(
        expand(&h.positive_span, &h.positive_delta),
        [(k(0.003), 1), (k(0.05), 2), (k(0.5), 1), (k(2.0), 1)]
    );
    assert_eq!(expand(&h.negative_span, &h.negative_delta), [(k(4.0), 1)]);
    // A histogram without observations is still marked native.
    let empty = families[3].metric[0].histogram.as_ref().unwrap();
    assert_eq!((empty.sample_count, empty.schema), (Some(0), Some(3)));
    assert_eq!(empty.positive_span.len(), 1);
    assert!(empty.positive_delta.is_empty());
}

/// A route's own schema takes the place of the recorder's for that route's duration
/// histograms, only where native buckets are on; the others keep the recorder's.
#[test]
fn a_route_keeps_its_own_native_schema() {
    let build = |native: bool| {
        crate::prometheus::PrometheusBuilder::new()
            .native_histograms(native)
            .native_histogram_schema(5)
            .unwrap()
            .route_native_schema("/coarse", -1)
            .unwrap()
            .route_native_schema("/coarse", 0)
            .unwrap()
            .build()
            .unwrap()
    };
    let schemas = |metrics: &crate::prometheus::PrometheusMetrics| {
        let r = metrics.recorder();
        let naming = crate::Naming::default();
        for (name, route) in [
            (naming.duration(), "/coarse"),
            (naming.duration(), "/fine"),
            (naming.time_to_head(), "/coarse"),
            ("other_seconds", "/coarse"),
        ] {
            let key = Key::from_parts(name.to_owned(), vec![Label::new(naming.route_key(), route)]);
            r.register_histogram(&key, &META).record(0.3);
        }
        let mut found = Vec::new();
        for family in decode(&render(&r.store)) {
            for m in &family.metric {
                let route = m
                    .label
                    .iter()
                    .find(|l| l.name.as_deref() == Some("http_route"));
                found.push((
                    family.name.clone().unwrap(),
                    route.and_then(|l| l.value.clone()).unwrap(),
                    m.histogram.as_ref().unwrap().schema,
                ));
            }
        }
        found.sort();
        found
    };
    let named =
        |name: &str, route: &str, schema: Option<i32>| (name.to_owned(), route.to_owned(), schema);
    assert_eq!(
        schemas(&build(true)),
        [
            named("http_server_request_duration_seconds", "/coarse", Some(0)),
            named("http_server_request_duration_seconds", "/fine", Some(5)),
            named(
                "http_server_time_to_response_head_seconds",
                "/coarse",
                Some(0)
            ),
            named("other_seconds", "/coarse", Some(5)),
        ]
    );
    // Without native buckets a route's schema turns nothing on.
    assert!(schemas(&build(false)).iter().all(|(.., s)| s.is_none()));
}

#[test]
fn classic_only_without_native_buckets() {
    let r = recorder(None);
    r.register_histogram(&Key::from_name("d"), &META)
        .record(0.5);
    let families = decode(&render(&r.store));
    let h = families[0].metric[0].histogram.as_ref().unwrap();
    assert_eq!(
        (h.sample_count, h.schema, h.zero_threshold),
        (Some(1), None, None)
    );
    assert!(h.positive_span.is_empty());
    assert_eq!(h.bucket.len(), 2);
}

#[test]
fn text_formats_are_the_same_with_native_buckets() {
    let (with, without) = (recorder(Some(3)), recorder(None));
    for r in [&with, &without] {
        let h = r.register_histogram(&Key::from_parts("d", vec![Label::new("a", "b")]), &META);
        for v in [0.0, 0.003, 0.5, 7.0, 1e9, -2.0] {
            h.record(v);
        }
        r.register_counter(&Key::from_name("c_total"), &META)
            .increment(2);
    }
    for format in [
        crate::prometheus::exposition::text::Format::Prometheus,
        crate::prometheus::exposition::text::Format::OpenMetrics,
    ] {
        assert_eq!(with.store.render(format), without.store.render(format));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn labels_and_buckets_round_trip(
        value in "\\PC{0,20}",
        values in proptest::collection::vec(-1e6f64..1e6, 0..200),
        big in any::<u64>(),
    ) {
        let r = recorder(Some(8));
        let key_ = Key::from_parts("d", vec![Label::new("v", value.clone())]);
        let h = r.register_histogram(&key_, &META);
        for &v in &values {
            h.record(v);
        }
        r.register_counter(&Key::from_name("c_total"), &META).absolute(big);
        let families = decode(&render(&r.store));
        prop_assert_eq!(families.len(), 2);
        prop_assert_eq!(families[0].metric[0].counter.as_ref().unwrap().value, Some(big as f64));
        let m = &families[1].metric[0];
        prop_assert_eq!(m.label[0].value.as_deref(), Some(value.as_str()));
        let h = m.histogram.as_ref().unwrap();
        let schema = i8::try_from(h.schema.unwrap()).unwrap();
        let positive = expand(&h.positive_span, &h.positive_delta);
        let negative = expand(&h.negative_span, &h.negative_delta);
        let total = positive.iter().chain(&negative).map(|b| b.1).sum::<u64>() + h.zero_count.unwrap();
        prop_assert_eq!(total, values.len() as u64);
        prop_assert_eq!(h.sample_count, Some(values.len() as u64));
        for &v in &values {
            if v.abs() > ZERO_THRESHOLD {
                let side = if v > 0.0 { &positive } else { &negative };
                prop_assert!(side.iter().any(|b| b.0 == key(v.abs(), schema)));
            }
        }
    }
}

#[test]
fn left_out_families_are_left_out_here_too_and_counted() {
    let r = recorder(Some(3));
    crate::prometheus::clash::tests::record_clashes(&r);
    let families = decode(&render(&r.store));
    let names: Vec<&str> = families.iter().filter_map(|f| f.name.as_deref()).collect();
    assert_eq!(
        names,
        [
            "clash",
            "lat_seconds",
            "routemeter_exposition_dropped_series_total"
        ]
    );
    let dropped = &families[2];
    assert_eq!(dropped.r#type, Some(0), "a counter");
    let counts: Vec<(String, f64)> = dropped
        .metric
        .iter()
        .map(|m| {
            let label = &m.label[0];
            assert_eq!(label.name.as_deref(), Some("metric"));
            let value = m.counter.as_ref().and_then(|c| c.value).unwrap();
            (label.value.clone().unwrap(), value)
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("clash_total".to_owned(), 1.0),
            ("lat_seconds_count".to_owned(), 2.0)
        ]
    );
}
