//! The parser's own cases.

use super::*;

const TEXT: &str = r#"# HELP req Requests.
# TYPE req counter
req{route="/a",method="GET"} 3
# TYPE active gauge
active{route="/a"} -1.5 1700000000000
# TYPE d histogram
d_bucket{route="/a",le="0.1"} 2
d_bucket{route="/a",le="1"} 3
d_bucket{route="/a",le="+Inf"} 4
d_sum{route="/a"} 7.25
d_count{route="/a"} 4
odd{v="quote \" backslash \\ newline \n, brace }"} NaN
"#;

#[test]
fn parses_every_kind() {
    let series = parse(TEXT).unwrap();
    let find = |name: &str| series.iter().find(|s| s.name() == name).unwrap();
    assert!(matches!(find("req").value(), SeriesValue::Counter(3)));
    assert_eq!(find("req").label("method"), Some("GET"));
    assert!(matches!(find("active").value(), SeriesValue::Gauge(v) if *v == -1.5));
    let SeriesValue::Histogram(d) = find("d").value() else {
        panic!("d is a histogram");
    };
    assert_eq!(d.count(), 4);
    assert_eq!(d.sum(), 7.25);
    assert!(find("d").label("le").is_none());
    assert_eq!(
        find("odd").label("v"),
        Some("quote \" backslash \\ newline \n, brace }")
    );
}

#[test]
fn malformed_input_is_a_clear_error() {
    let cases = [
        ("x{a=\"1\" 2", 1, "expected `,` or `}`"),
        ("x{a=1} 2", 1, "not quoted"),
        ("x{a=\"1} 2", 1, "not closed"),
        ("x{1a=\"1\"} 2", 1, "not a valid label name"),
        ("x one", 1, "not a number"),
        ("x", 1, "has no value"),
        ("9x 1", 1, "not a valid metric name"),
        ("x 1 2 3", 1, "unexpected `3`"),
        ("x 1 soon", 1, "not a timestamp"),
        ("x 1 # 3", 1, "is not an exemplar"),
        ("x 1 # {a=\"1\"}", 1, "has no value"),
        ("ok 1\n# TYPE y wobbly", 2, "unknown metric type"),
        ("x{a=\"1\",b=\"2\",a=\"3\"} 1", 1, "label `a` appears twice"),
        // The ninth label, the first one looked up in the set.
        (
            "x{a=\"1\",b=\"1\",c=\"1\",d=\"1\",e=\"1\",f=\"1\",g=\"1\",h=\"1\",a=\"1\"} 1",
            1,
            "label `a` appears twice",
        ),
        (
            "x{a=\"1\",b=\"1\",c=\"1\",d=\"1\",e=\"1\",f=\"1\",g=\"1\",h=\"1\",i=\"1\",i=\"1\"} 1",
            1,
            "label `i` appears twice",
        ),
        ("x{a=\"1\"} 1\nx{a=\"1\"} 2", 2, "appears twice"),
        ("# TYPE h histogram\nh_sum 1\nh_sum 2", 3, "appears twice"),
        (
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1\"} 1",
            3,
            "appears twice",
        ),
        ("# TYPE h counter\n# TYPE h gauge", 2, "another type"),
    ];
    for (text, line, needle) in cases {
        let err = parse(text).unwrap_err();
        assert_eq!(err.line, line, "{text:?}: {err}");
        assert!(err.message.contains(needle), "{text:?}: {err}");
    }
}

/// A series with 100,000 labels: parsed in linear-logarithmic time (checking each label
/// against all the ones before it took minutes), and a duplicate among them still found.
#[test]
fn many_labels_on_one_series_parse_quickly() {
    const LABELS: usize = 100_000;
    let labels: Vec<String> = (0..LABELS).map(|i| format!("l{i}=\"v\"")).collect();
    let text = format!("x{{{}}} 1", labels.join(","));
    let start = std::time::Instant::now();
    let series = parse(&text).unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].label("l99999"), Some("v"));
    // A duplicate at the end of the list is found the same way.
    let text = format!("x{{{},l3=\"w\"}} 1", labels.join(","));
    let err = parse(&text).unwrap_err();
    assert!(err.message.contains("label `l3` appears twice"), "{err}");
    // Far above the time two parses take even unoptimised on a slow machine, far below
    // the five billion label comparisons of checking each label against all before it.
    let elapsed = start.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn quotes_are_cut_at_a_character_boundary() {
    let long = "é".repeat(300);
    let quoted = quote(&long);
    assert!(quoted.len() < QUOTE_LIMIT + 30, "{quoted}");
    assert!(quoted.ends_with("… (600 bytes)"), "{quoted}");
    assert_eq!(quote("short"), "short");
}

#[test]
fn never_panics_on_truncated_input() {
    for end in 0..=TEXT.len() {
        if TEXT.is_char_boundary(end) {
            let _ = parse(&TEXT[..end]);
        }
    }
}

fn only(text: &str) -> Series {
    let mut series = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(series.len(), 1, "{text:?}: {series:?}");
    series.remove(0)
}

fn gauge(series: &Series) -> f64 {
    match series.value() {
        SeriesValue::Gauge(v) => *v,
        other => panic!("{series:?} is not a gauge: {other:?}"),
    }
}

/// What Prometheus's own parser reads, this one reads too.
#[test]
fn reads_what_prometheus_reads() {
    let s = only("m {a=\"b\"} 1");
    assert_eq!((s.name(), s.label("a")), ("m", Some("b")));
    let s = only("m\t{a=\"b\",} 1 -5");
    assert_eq!(s.label("a"), Some("b"));
    // An unknown escape is kept as written.
    assert_eq!(only(r#"x{a="\q\\"} 1"#).label("a"), Some(r"\q\"));
    // Counters of any float: what a count cannot hold is a gauge with that value.
    for (text, value) in [
        ("NaN", f64::NAN),
        ("+Inf", f64::INFINITY),
        ("-Inf", f64::NEG_INFINITY),
        ("-1", -1.0),
        ("2e19", 2e19),
    ] {
        let s = only(&format!("# TYPE c counter\nc {text}"));
        let v = gauge(&s);
        assert!(v == value || (v.is_nan() && value.is_nan()), "{text}: {v}");
    }
    // A fractional counter stays a counter, with its exact value.
    let s = only("# TYPE c_total counter\nc_total 0.25");
    assert!(matches!(s.value(), SeriesValue::Counter(0)));
    assert_eq!(s.scalar(), Some(0.25));
    // Go's float syntax: hexadecimal floats, infinities in any case.
    for (text, value) in [
        ("0x1p3", 8.0),
        ("-0X1.8p-1", -0.75),
        ("0x.8p1", 1.0),
        ("+0xAp0", 10.0),
        ("inf", f64::INFINITY),
        ("-Infinity", f64::NEG_INFINITY),
    ] {
        assert_eq!(gauge(&only(&format!("g {text}"))), value, "{text}");
    }
    for bad in ["0x1", "0xp3", "0x1.gp0", "0x1p", "1p3"] {
        assert!(parse(&format!("g {bad}")).is_err(), "{bad}");
    }
    // A repeated `# TYPE` of the same type, and comments of any kind.
    only("# TYPE g gauge\n# TYPE g gauge\n#\n# just words\n# HELP g\ng 1");
}

/// A histogram series its samples do not describe exactly is kept sample by sample.
#[test]
fn histograms_that_are_no_distribution_stay_plain() {
    let head = "# TYPE h histogram\n";
    let plain = |body: &str| {
        let series = parse(&format!("{head}{body}")).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert!(
            series
                .iter()
                .all(|s| matches!(s.value(), SeriesValue::Gauge(_))),
            "{body}: {series:?}"
        );
        series
    };
    // Fractional bucket counts are not rounded.
    let series = plain("h_bucket{le=\"1\"} 0.5\nh_bucket{le=\"+Inf\"} 1.5\nh_sum 1\nh_count 1.5");
    assert_eq!(series.len(), 4);
    let bucket = series.iter().find(|s| s.label("le") == Some("1")).unwrap();
    assert_eq!((bucket.name(), gauge(bucket)), ("h_bucket", 0.5));
    // A bucket without `le` is a plain series, without `le`.
    let series = plain("h_bucket 1");
    assert_eq!(
        (series[0].name(), series[0].labels().len()),
        ("h_bucket", 0)
    );
    for body in [
        "h_bucket{le=\"x\"} 1",
        "h_bucket{le=\"NaN\"} 1",
        "h_bucket{le=\"-Inf\"} 0\nh_bucket{le=\"+Inf\"} 0",
        "h_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 1",
        "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1",
        "h_bucket{le=\"+Inf\"} 2\nh_count 3",
        "h_bucket{le=\"+Inf\"} -1",
        "h_bucket{le=\"1\"} 1",
        "h_sum 3",
    ] {
        plain(body);
    }
    // A well-formed one is a histogram, its `_sum` any float.
    let s = only(&format!(
        "{head}h_bucket{{le=\"1\"}} 1\nh_bucket{{le=\"+Inf\"}} 2\nh_sum -Inf\nh_count 2"
    ));
    let SeriesValue::Histogram(d) = s.value() else {
        panic!("{s:?}")
    };
    assert_eq!((d.count(), d.sum()), (2, f64::NEG_INFINITY));
}
