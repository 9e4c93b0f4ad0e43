//! gRPC availability: per-method burn-rate alerts on the statuses the conventions count as
//! server errors, silent for client-side statuses, cancellations and unknown methods; the
//! dashboard's gRPC panels; nothing of it unless asked for.

use std::fmt::Write as _;

use routemeter::monitoring::{Monitoring, Slo};

use crate::common::require_program;
use crate::{TESTS_HEADER, alert, case, promtool_test};

/// Series of one gRPC method: for each outcome (its labels beside method and system, and its
/// calls per minute) the call-duration histogram's count, for `minutes` minutes.
fn method_series(method: &str, outcomes: &[(&str, u64)], minutes: u64) -> String {
    let mut s = String::new();
    for (labels, per_min) in outcomes {
        let _ = write!(
            s,
            "      - series: 'rpc_server_call_duration_seconds_count{{job=\"quickstart\",rpc_system_name=\"grpc\",rpc_method=\"{method}\",{labels}}}'\n        values: '0+{per_min}x{minutes}'\n"
        );
    }
    s
}

fn grpc_burn(method: &str, rate: &str, long: &str, short: &str, sev: &str) -> String {
    alert(
        "GRPCMethodErrorBudgetBurn",
        &[
            ("job", "quickstart"),
            ("rpc_method", method),
            ("severity", sev),
            ("slo", "grpc_availability"),
            ("slo_scope", "service"),
            ("burn_rate", rate),
            ("long_window", long),
            ("short_window", short),
        ],
    )
}

#[test]
fn grpc_methods_page_on_server_error_statuses_only() {
    let Some(promtool) = require_program("promtool") else {
        return;
    };
    let monitoring = Monitoring::new(Slo::new("quickstart").grpc_availability(0.999)).unwrap();
    let g = "GRPCMethodErrorBudgetBurn";
    let ok = ("rpc_status_code=\"OK\"", 100);
    // After an hour of it: both pages, and the 3x ticket (its `for` is 1h).
    let pages = |method: &str| {
        vec![
            grpc_burn(method, "14.4", "1h", "5m", "page"),
            grpc_burn(method, "6", "6h", "30m", "page"),
            grpc_burn(method, "3", "1d", "2h", "ticket"),
        ]
    };
    let mut tests = String::from(TESTS_HEADER);
    // Five INTERNAL a minute beside 100 OK (4.8 %, far above the 0.1 % budget): pages.
    tests += &case(
        &method_series(
            "a.B/Fails",
            &[
                ok,
                ("rpc_status_code=\"INTERNAL\",error_type=\"INTERNAL\"", 5),
            ],
            120,
        ),
        &[("65m", g, pages("a.B/Fails"))],
    );
    // The same share of DEADLINE_EXCEEDED: a server error too.
    tests += &case(
        &method_series(
            "a.B/Late",
            &[
                ok,
                (
                    "rpc_status_code=\"DEADLINE_EXCEEDED\",error_type=\"DEADLINE_EXCEEDED\"",
                    5,
                ),
            ],
            120,
        ),
        &[("65m", g, pages("a.B/Late"))],
    );
    // NOT_FOUND, INVALID_ARGUMENT and CANCELLED (the client's doing) in large numbers: silent.
    tests += &case(
        &method_series(
            "a.B/Client",
            &[
                ok,
                ("rpc_status_code=\"NOT_FOUND\"", 50),
                ("rpc_status_code=\"INVALID_ARGUMENT\"", 50),
                ("rpc_status_code=\"CANCELLED\"", 50),
            ],
            240,
        ),
        &[("65m", g, vec![]), ("230m", g, vec![])],
    );
    // Calls to unknown methods, all UNIMPLEMENTED: shown, but nobody is paged.
    tests += &case(
        &method_series(
            "_OTHER",
            &[(
                "rpc_status_code=\"UNIMPLEMENTED\",error_type=\"UNIMPLEMENTED\"",
                100,
            )],
            240,
        ),
        &[("65m", g, vec![]), ("230m", g, vec![])],
    );
    // A panic in a handler (no status): a failure of the server.
    tests += &case(
        &method_series("a.B/Panics", &[ok, ("error_type=\"panic\"", 5)], 120),
        &[("65m", g, pages("a.B/Panics"))],
    );
    promtool_test(&promtool, "grpc-alerts", &monitoring, &tests);
}

#[test]
fn grpc_rules_and_panels_only_when_asked() {
    let plain = Monitoring::new(Slo::new("shop")).unwrap();
    let grpc = Monitoring::new(Slo::new("shop").grpc_availability(0.99)).unwrap();
    for text in [
        plain.recording_rules(),
        plain.alerting_rules(),
        plain.dashboard(),
    ] {
        assert!(!text.contains("rpc_"), "{text}");
    }
    let recording = grpc.recording_rules();
    assert!(recording.contains("record: routemeter:grpc_errors:ratio_rate5m"));
    assert!(recording.contains(
        "sum by (job, rpc_method) (rate(rpc_server_call_duration_seconds_count{job=\\\"shop\\\",error_type!=\\\"\\\"}[5m]))"
    ), "{recording}");
    let alerts = grpc.alerting_rules();
    assert_eq!(
        alerts.matches("alert: GRPCMethodErrorBudgetBurn").count(),
        4
    );
    // 14.4 x a 1 % budget.
    assert!(
        alerts.contains("rpc_method!=\\\"_OTHER\\\"} > 0.144"),
        "{alerts}"
    );
    let dashboard: serde_json::Value = serde_json::from_str(&grpc.dashboard()).unwrap();
    let titles: Vec<&str> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["title"].as_str())
        .filter(|t| t.starts_with("gRPC"))
        .collect();
    assert_eq!(
        titles,
        [
            "gRPC calls per second by status",
            "gRPC availability (calls without a server-error status)",
            "gRPC latency p50 / p99",
            "gRPC calls in flight"
        ]
    );
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    assert!(variables.iter().any(|v| v["name"] == "rpc_method"));
    // A target outside (0, 1) is refused with a message.
    let err = Monitoring::new(Slo::new("shop").grpc_availability(1.0)).unwrap_err();
    assert!(err.to_string().contains("gRPC availability"), "{err}");
}
