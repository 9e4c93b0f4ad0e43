use super::super::exposition::text::Format;
use super::*;
use metrics::Label;

fn store() -> PrometheusRecorder {
    PrometheusRecorder {
        store: Arc::new(Store::new(
            &[("region".into(), "eu \"west\"".into())],
            Buckets {
                by_route: Vec::new(),
                by_name: vec![("d".into(), Arc::from(&[0.1, 1.0][..]))],
                native_by_route: Vec::new(),
                default: Arc::from(&[5.0][..]),
            },
        )),
    }
}

static META: Metadata<'static> = Metadata::new("t", metrics::Level::INFO, None);

/// The key `name{labels}`, its labels in the order given.
pub(super) fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
    Key::from_parts(
        name,
        labels
            .iter()
            .map(|&(k, v)| Label::new(k, v))
            .collect::<Vec<_>>(),
    )
}

#[test]
fn renders_each_kind() {
    let r = store();
    r.describe_histogram("d".into(), Some(Unit::Seconds), "Durations.".into());
    let key = Key::from_parts("d", vec![Label::new("route", "/a\\b")]);
    r.register_histogram(&key, &META).record(0.5);
    r.register_counter(&Key::from_name("c_total"), &META)
        .increment(3);
    r.register_gauge(&Key::from_name("g"), &META).set(-1.5);
    r.store.set_float_counter("cpu_seconds_total", 0.25);
    assert_eq!(
        r.store.render(Format::Prometheus),
        "# TYPE c_total counter\nc_total{region=\"eu \\\"west\\\"\"} 3\n\
         # TYPE cpu_seconds_total counter\ncpu_seconds_total{region=\"eu \\\"west\\\"\"} 0.25\n\
         # HELP d Durations.\n# TYPE d histogram\n\
         d_bucket{route=\"/a\\\\b\",region=\"eu \\\"west\\\"\",le=\"0.1\"} 0\n\
         d_bucket{route=\"/a\\\\b\",region=\"eu \\\"west\\\"\",le=\"1\"} 1\n\
         d_bucket{route=\"/a\\\\b\",region=\"eu \\\"west\\\"\",le=\"+Inf\"} 1\n\
         d_sum{route=\"/a\\\\b\",region=\"eu \\\"west\\\"\"} 0.5\n\
         d_count{route=\"/a\\\\b\",region=\"eu \\\"west\\\"\"} 1\n\
         # TYPE g gauge\ng{region=\"eu \\\"west\\\"\"} -1.5\n"
    );
}

#[test]
fn same_labels_in_another_order_are_one_series() {
    let r = store();
    let a = Key::from_parts("c_total", vec![Label::new("x", "1"), Label::new("y", "2")]);
    let b = Key::from_parts("c_total", vec![Label::new("y", "2"), Label::new("x", "1")]);
    let dup = Key::from_parts(
        "c_total",
        vec![
            Label::new("x", "1"),
            Label::new("x", "9"),
            Label::new("y", "2"),
        ],
    );
    r.register_counter(&a, &META).increment(1);
    r.register_counter(&b, &META).increment(1);
    // A name given twice is written once (the first): that is `a`'s text, but not `a`'s
    // labels, so it is left out and counted rather than added to `a`.
    r.register_counter(&dup, &META).increment(1);
    let out = r.store.render(Format::Prometheus);
    assert!(
        out.contains("c_total{x=\"1\",y=\"2\",region=\"eu \\\"west\\\"\"} 2\n"),
        "{out}"
    );
    assert!(
        out.contains("{metric=\"c_total\",region=\"eu \\\"west\\\"\"} 1\n"),
        "{out}"
    );
    assert_eq!(r.store.series_count(), 1);
}

#[test]
fn reserved_label_names_are_exported_under_another_name() {
    let r = store();
    let key = Key::from_parts(
        "d",
        vec![
            Label::new("le", "x"),
            Label::new("__name__", "y"),
            Label::new("quantile", "z"),
        ],
    );
    r.register_histogram(&key, &META).record(0.5);
    let out = r.store.render(Format::Prometheus);
    assert!(
        out.contains("d_count{exported_le=\"x\",exported___name__=\"y\",exported_quantile=\"z\","),
        "{out}"
    );
    // One `le` per bucket line, the format's own.
    let buckets = out.lines().filter(|l| l.starts_with("d_bucket")).count();
    assert_eq!(
        out.matches(",le=\"").count() + out.matches("{le=\"").count(),
        buckets
    );
}

#[test]
fn a_name_keeps_its_first_kind() {
    let r = store();
    r.register_counter(&Key::from_name("m"), &META).increment(1);
    r.register_gauge(&Key::from_name("m"), &META).set(5.0);
    r.register_histogram(&Key::from_name("m"), &META)
        .record(1.0);
    let out = r.store.render(Format::Prometheus);
    assert!(
        out.contains("# TYPE m counter\nm{region=\"eu \\\"west\\\"\"} 1\n"),
        "{out}"
    );
    assert!(!out.contains("gauge"), "{out}");
}

#[test]
fn names_that_sanitise_alike_are_one_family_and_the_later_is_counted() {
    let r = store();
    r.register_gauge(&Key::from_name("a.b_total"), &META)
        .set(1.0);
    r.register_counter(&Key::from_name("a_b_total"), &META)
        .increment(20);
    r.register_gauge(&Key::from_name("x-y"), &META).set(1.0);
    r.register_gauge(&Key::from_name("x_y"), &META).set(2.0);
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let out = r.store.render(format);
        // Each written name once, with the value of the family recorded first.
        assert_eq!(out.matches("# TYPE a_b_total ").count(), 1, "{out}");
        assert!(
            out.contains("\na_b_total{region=\"eu \\\"west\\\"\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("\nx_y{region=\"eu \\\"west\\\"\"} 1\n"),
            "{out}"
        );
        assert!(!out.contains("} 20\n") && !out.contains("} 2\n"), "{out}");
        // The later ones are counted under the names they were recorded with.
        for recorded in ["a_b_total", "x_y"] {
            let line = format!("{{metric=\"{recorded}\",region=\"eu \\\"west\\\"\"}} 1\n");
            assert!(out.contains(&line), "{line} in {out}");
        }
    }
    // Their handles still record, and a second series of a left-out name is counted too.
    r.register_gauge(&Key::from_parts("x_y", vec![Label::new("k", "v")]), &META)
        .set(3.0);
    let out = r.store.render(Format::Prometheus);
    assert!(
        out.contains("{metric=\"x_y\",region=\"eu \\\"west\\\"\"} 2\n"),
        "{out}"
    );
}

#[test]
fn labels_that_write_alike_are_not_merged_and_the_later_is_counted() {
    let r = store();
    let key = |labels: &[(&'static str, &'static str)]| key("g", labels);
    r.register_gauge(&key(&[("a-b", "1")]), &META).set(1.0);
    // Written as `a_b="1"` too: left out.
    r.register_gauge(&key(&[("a_b", "1")]), &META).set(2.0);
    // The same labels in another order, and the same key again: one series, not a clash.
    r.register_gauge(&key(&[("a-b", "1"), ("c", "2")]), &META)
        .set(3.0);
    r.register_gauge(&key(&[("c", "2"), ("a-b", "1")]), &META)
        .set(4.0);
    r.register_gauge(&key(&[("a-b", "1")]), &META).set(5.0);
    // A repeated name (the first is written) beside the label written once.
    r.register_gauge(&key(&[("x", "1"), ("x", "2")]), &META)
        .set(6.0);
    r.register_gauge(&key(&[("x", "1")]), &META).set(7.0);
    // A reserved name exported under another beside that other name.
    r.register_gauge(&key(&[("le", "1")]), &META).set(8.0);
    r.register_gauge(&key(&[("exported_le", "1")]), &META)
        .set(9.0);
    let out = r.store.render(Format::Prometheus);
    let region = "region=\"eu \\\"west\\\"\"";
    for line in [
        format!("g{{a_b=\"1\",{region}}} 5\n"),
        format!("g{{a_b=\"1\",c=\"2\",{region}}} 4\n"),
        format!("g{{x=\"1\",{region}}} 6\n"),
        format!("g{{exported_le=\"1\",{region}}} 8\n"),
        format!("{{metric=\"g\",{region}}} 3\n"),
    ] {
        assert!(out.contains(&line), "{line} in {out}");
    }
    for value in [" 2\n", " 7\n", " 9\n"] {
        assert!(!out.contains(value), "{value} in {out}");
    }
}

#[test]
fn openmetrics_ends_with_eof() {
    let r = store();
    r.register_counter(&Key::from_name("c_total"), &META)
        .increment(1);
    let out = r.store.render(Format::OpenMetrics);
    assert!(out.starts_with("# TYPE c counter\nc_total{"), "{out}");
    assert!(out.ends_with("# EOF\n"));
}

#[test]
fn visit_family_gives_raw_labels_and_values() {
    let r = store();
    let key = Key::from_parts(
        "d",
        vec![
            Label::new("route", "/a\"<b>\n"),
            Label::new("route", "/ignored"),
            Label::new("my-key", "v"),
        ],
    );
    r.register_histogram(&key, &META).record_many(0.5, 3);
    r.register_gauge(&Key::from_name("g"), &META).set(2.5);
    let mut seen = Vec::new();
    r.store.visit_family("d", |labels, value| {
        let SeriesRead::Histogram { bounds, snapshot } = value else {
            panic!("{value:?}");
        };
        assert_eq!(bounds, [0.1, 1.0]);
        assert_eq!((snapshot.count, snapshot.cumulative), (3, vec![0, 3, 3]));
        seen.push(
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.to_string()))
                .collect::<Vec<_>>(),
        );
    });
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        seen,
        [pairs(&[
            ("route", "/a\"<b>\n"),
            ("my_key", "v"),
            ("region", "eu \"west\""),
        ])]
    );
    let mut gauges = Vec::new();
    r.store
        .visit_family("g", |_, value| gauges.push(format!("{value:?}")));
    assert_eq!(gauges, ["Float(2.5)"]);
    r.store
        .visit_family("missing", |_, _| panic!("no such family"));
}

/// A route's own bounds: its series are written with them, the other routes' with the name's,
/// in the text formats (whose `le` values are per series then) and in reads (protobuf, the
/// live page); another histogram with the same route label keeps its own.
#[test]
fn a_route_with_buckets_of_its_own_is_written_with_them() {
    let r = PrometheusRecorder {
        store: Arc::new(Store::new(
            &[],
            Buckets {
                by_route: vec![(
                    "d".into(),
                    "route",
                    "/slow".into(),
                    Arc::from(&[0.2, 0.3][..]),
                )],
                by_name: vec![("d".into(), Arc::from(&[0.1, 1.0][..]))],
                native_by_route: Vec::new(),
                default: Arc::from(&[5.0][..]),
            },
        )),
    };
    let key = |name: &str, route: &str| {
        Key::from_parts(name.to_owned(), vec![Label::new("route", route.to_owned())])
    };
    r.register_histogram(&key("d", "/fast"), &META).record(0.05);
    r.register_histogram(&key("d", "/slow"), &META).record(0.25);
    r.register_histogram(&key("other", "/slow"), &META)
        .record(0.25);
    // The route's label as a prefix or in another label is not the route.
    r.register_histogram(&key("d", "/slower"), &META)
        .record(0.25);
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let text = r.store.render(format);
        let les = |route: &str, name: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with(&format!("{name}_bucket{{route=\"{route}\"")))
                .map(|l| {
                    l.split("le=\"")
                        .nth(1)
                        .unwrap()
                        .split('"')
                        .next()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        };
        assert_eq!(les("/fast", "d"), ["0.1", "1", "+Inf"], "{text}");
        assert_eq!(les("/slow", "d"), ["0.2", "0.3", "+Inf"], "{text}");
        assert_eq!(les("/slower", "d"), ["0.1", "1", "+Inf"], "{text}");
        assert_eq!(les("/slow", "other"), ["5", "+Inf"], "{text}");
        assert!(
            text.contains("d_bucket{route=\"/slow\",le=\"0.3\"} 1"),
            "{text}"
        );
    }
}

/// A key given again with its labels in another order (one `metrics` key: its hash and its
/// equality ignore the order) finds its series on the read path and adds nothing to the index.
#[test]
fn a_key_in_another_order_is_found_without_a_new_entry() {
    let r = store();
    let key = |labels: &[(&'static str, &'static str)]| key("c_total", labels);
    let first = [("method", "GET"), ("status", "200")];
    let reordered = [("status", "200"), ("method", "GET")];
    // Plain, and left out beside a sanitised name: both.
    let left_out = [("a_b", "1"), ("c", "2")];
    let left_out_reordered = [("c", "2"), ("a_b", "1")];
    r.register_counter(&key(&[("a-b", "1"), ("c", "2")]), &META)
        .increment(1);
    r.register_counter(&key(&first), &META).increment(1);
    r.register_counter(&key(&left_out), &META).increment(1);
    let entries = r.store.inner.read().unwrap().index.len();
    for _ in 0..1000 {
        r.register_counter(&key(&reordered), &META).increment(1);
        r.register_counter(&key(&left_out_reordered), &META)
            .increment(1);
    }
    assert_eq!(r.store.inner.read().unwrap().index.len(), entries);
    let out = r.store.render(Format::Prometheus);
    assert!(
        out.contains("c_total{method=\"GET\",status=\"200\",region=\"eu \\\"west\\\"\"} 1001\n"),
        "{out}"
    );
    assert!(
        out.contains("{metric=\"c_total\",region=\"eu \\\"west\\\"\"} 1\n"),
        "{out}"
    );
}

/// Keys that `metrics` hashes alike but that are different series (a name given twice, its
/// values in either order, is written with the first): 256 of them behind one hash are each
/// found by a second hash of their identity, not by searching all of them.
#[test]
fn many_series_behind_one_key_hash_are_not_searched_one_by_one() {
    let r = store();
    const NAMES: [&str; 8] = ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"];
    let keys: Vec<Key> = (0..256_u32)
        .map(|bits| {
            let mut labels = Vec::new();
            for (i, name) in NAMES.iter().enumerate() {
                let (a, b) = if bits >> i & 1 == 0 {
                    ("0", "1")
                } else {
                    ("1", "0")
                };
                labels.push(Label::new(*name, a));
                labels.push(Label::new(*name, b));
            }
            Key::from_parts("m", labels)
        })
        .collect();
    assert!(keys.iter().all(|k| k.get_hash() == keys[0].get_hash()));
    for round in 0..2 {
        for key in &keys {
            r.register_counter(key, &META).increment(1);
        }
        let inner = r.store.inner.read().unwrap();
        assert_eq!(inner.index.len(), 256, "round {round}");
        assert!(inner.index.longest() <= 2, "{}", inner.index.longest());
    }
    let out = r.store.render(Format::Prometheus);
    assert_eq!(out.lines().filter(|l| l.starts_with("m{")).count(), 256);
    assert!(
        out.lines()
            .filter(|l| l.starts_with("m{"))
            .all(|l| l.ends_with(" 2")),
        "{out}"
    );
}

mod identity {
    //! Property: however keys are given (any order, awkward names and values, repeated), each
    //! distinct series identity gets one storage, the same every time, and no two identities
    //! share one. The identity, as the store defines it: the name as recorded, the written
    //! labels as a set, and the recorded labels, sorted, when writing changed them.
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::collections::HashMap;

    /// Metric names written alike; label names that are plain, sanitised, reserved or written
    /// alike; values that need escaping.
    const NAMES: [&str; 8] = ["a", "b", "a.b", "a_b", "le", "exported_le", "région", "2x"];
    const VALUES: [&str; 6] = ["", "1", "\"", "\\n", "x\ny", "é\\\""];

    type Identity = (
        String,
        BTreeSet<(String, String)>,
        Option<Vec<(String, String)>>,
    );

    fn identity(store: &Store, key: &Key) -> Identity {
        let (_, pairs) = store.label_text(key);
        let written = pairs.into_iter().map(|(n, v)| (n, v.to_owned())).collect();
        let origin = index::label_origin(key).map(|_| {
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            labels
        });
        (key.name().to_owned(), written, origin)
    }

    fn keys() -> impl Strategy<Value = Vec<Key>> {
        let label = (0..NAMES.len(), 0..VALUES.len());
        let key = (0..2usize, prop::collection::vec(label, 0..4)).prop_map(|(name, labels)| {
            Key::from_parts(
                ["m_x", "m-x"][name],
                labels
                    .into_iter()
                    .map(|(n, v)| Label::new(NAMES[n], VALUES[v]))
                    .collect::<Vec<_>>(),
            )
        });
        // Each key also with its labels reversed: the same labels in another order.
        prop::collection::vec(key, 1..20).prop_map(|keys| {
            let reversed: Vec<Key> = keys
                .iter()
                .map(|k| {
                    let mut labels: Vec<Label> = k.labels().cloned().collect();
                    labels.reverse();
                    Key::from_parts(k.name().to_owned(), labels)
                })
                .collect();
            keys.into_iter().chain(reversed).collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn one_storage_per_identity(keys in keys(), shuffle in any::<u64>()) {
            let r = store();
            let mut cells: HashMap<Identity, *const ()> = HashMap::new();
            let mut owners: HashMap<*const (), Identity> = HashMap::new();
            // Each key registered, then all again in another order.
            let mut order: Vec<usize> = (0..keys.len()).chain(0..keys.len()).collect();
            let n = order.len();
            for i in (keys.len()..n).rev() {
                let j = keys.len() + (shuffle.rotate_left(i as u32) as usize) % (i - keys.len() + 1);
                order.swap(i, j);
            }
            for i in order {
                let key = &keys[i];
                let Some(Cell::Counter(cell)) = r.store.register(key, Kind::Counter, false) else {
                    panic!("no counter for {key:?}");
                };
                let at = Arc::as_ptr(&cell).cast::<()>();
                let id = identity(&r.store, key);
                prop_assert_eq!(*cells.entry(id.clone()).or_insert(at), at, "{:?} moved", key);
                prop_assert_eq!(owners.entry(at).or_insert(id.clone()), &id, "shared by two identities");
            }
            // One index entry per identity: keys of one identity share their hash (`metrics`
            // hashes labels in any order alike), so each is found, never added again.
            let entries = r.store.inner.read().unwrap().index.len();
            prop_assert_eq!(entries, cells.len());
        }
    }
}
