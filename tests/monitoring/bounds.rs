//! Latency thresholds select their bucket whichever form of the bound Prometheus stored in
//! `le`: routemeter's text exposition (`1`, `1e-6`), Go's OpenMetrics form (Prometheus 3, and
//! Prometheus 2 on protobuf scrapes: `1.0`, `1e-06`) or Rust's `Display` form (`0.000001`).

use std::fmt::Write as _;

use routemeter::monitoring::{Monitoring, RouteSlo, Slo};

use crate::common::require_program;
use crate::promtool_test;

/// A whole-second service threshold and a tiny one for `/tiny`, both bucket bounds.
fn whole_and_tiny() -> Monitoring {
    Monitoring::new(
        Slo::new("quickstart")
            .buckets(&[1e-6, 0.25, 1.0, 2.5])
            .latency(1.0, 0.99)
            .route(RouteSlo::new("/tiny").latency(1e-6, 0.9)),
    )
    .unwrap()
}

/// Every `expr:` of a rules file, as PromQL.
fn exprs(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter_map(|l| l.trim().strip_prefix("expr: "))
        .map(|q| serde_json::from_str::<String>(q).unwrap())
        .collect()
}

#[test]
fn slow_ratios_match_every_form_of_their_bound() {
    let rules = whole_and_tiny().recording_rules();
    let slow: Vec<String> = exprs(&rules)
        .into_iter()
        .filter(|e| e.contains("_bucket{") && !e.contains("histogram_quantile"))
        .collect();
    // Two classes (the service's 1 s, /tiny's 1 µs) over seven windows.
    assert_eq!(slow.len(), 14, "{slow:#?}");
    let whole = "le=~\"1|1\\\\.0\",http_route!=\"/tiny\"}";
    let tiny = "le=~\"1e-6|1e-06|0\\\\.000001\",http_route=\"/tiny\"}";
    assert_eq!(
        slow.iter().filter(|e| e.contains(whole)).count(),
        7,
        "{whole}: {slow:#?}"
    );
    assert_eq!(
        slow.iter().filter(|e| e.contains(tiny)).count(),
        7,
        "{tiny}: {slow:#?}"
    );
    // The label keeps one plain value: routemeter's exposition form.
    assert_eq!(
        rules.matches("latency_threshold_seconds: \"1\"\n").count(),
        7
    );
    assert_eq!(
        rules
            .matches("latency_threshold_seconds: \"1e-6\"\n")
            .count(),
        7
    );
    // A bound every exporter and Prometheus writes alike keeps a plain matcher.
    let default = Monitoring::new(Slo::new("quickstart"))
        .unwrap()
        .recording_rules();
    assert!(default.contains("le=\\\"0.25\\\""), "{default}");
    assert!(!default.contains("le=~"), "{default}");
}

/// `promtool test rules`: the slow ratios are recorded from buckets stored in each form.
#[test]
fn promtool_records_slow_ratios_from_every_form() {
    let Some(promtool) = require_program("promtool") else {
        return;
    };
    let mut tests = String::from(crate::TESTS_HEADER);
    // (whole second, 1 µs): routemeter's text, Go's OpenMetrics form, Rust's Display form.
    for (whole, tiny) in [("1", "1e-6"), ("1.0", "1e-06"), ("1", "0.000001")] {
        let mut series = String::new();
        for (route, le, fast) in [("/a", whole, 10), ("/tiny", tiny, 0)] {
            let labels = format!("job=\"quickstart\",http_route=\"{route}\"");
            for (name, le, per_min) in [
                ("bucket", Some(le), fast),
                ("bucket", Some("+Inf"), 10),
                ("count", None, 10),
            ] {
                let le = le.map(|l| format!(",le=\"{l}\"")).unwrap_or_default();
                let _ = writeln!(
                    series,
                    "      - series: 'http_server_request_duration_seconds_{name}{{{labels}{le}}}'\n        values: '0+{per_min}x10'"
                );
            }
        }
        let _ = write!(
            tests,
            "  - interval: 1m\n    input_series:\n{series}    promql_expr_test:\n\
             \x20     - expr: routemeter:http_slow:ratio_rate5m\n        eval_time: 5m\n        exp_samples:\n\
             \x20         - labels: 'routemeter:http_slow:ratio_rate5m{{job=\"quickstart\",http_route=\"/a\",latency_threshold_seconds=\"1\"}}'\n            value: 0\n\
             \x20         - labels: 'routemeter:http_slow:ratio_rate5m{{job=\"quickstart\",http_route=\"/tiny\",latency_threshold_seconds=\"1e-6\"}}'\n            value: 1\n"
        );
    }
    promtool_test(&promtool, "bounds", &whole_and_tiny(), &tests);
}
