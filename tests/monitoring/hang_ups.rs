//! Client hang-ups stay silent; the server's own failures page; the switch and the ticket.

use std::fmt::Write as _;

use routemeter::monitoring::{Monitoring, Slo};
use routemeter::{Naming, NamingScheme};

use crate::common::require_program;
use crate::{TESTS_HEADER, alert, burn, case, promtool_test};

/// Series of one route in the default scheme: for each outcome (its labels beside route and
/// method, and its requests per minute) the duration histogram's count and buckets, every
/// request under 250 ms, for `minutes` minutes.
fn outcome_series(route: &str, outcomes: &[(&str, u64)], minutes: u64) -> String {
    let mut s = String::new();
    for (labels, per_min) in outcomes {
        let labels = format!(
            "job=\"quickstart\",http_route=\"{route}\",http_request_method=\"GET\",{labels}"
        );
        for (name, extra) in [
            ("http_server_request_duration_seconds_count", ""),
            (
                "http_server_request_duration_seconds_bucket",
                ",le=\"0.25\"",
            ),
            (
                "http_server_request_duration_seconds_bucket",
                ",le=\"+Inf\"",
            ),
        ] {
            let _ = write!(
                s,
                "      - series: '{name}{{{labels}{extra}}}'\n        values: '0+{per_min}x{minutes}'\n"
            );
        }
    }
    s
}

fn pages(route: &str) -> Vec<String> {
    let e = "HTTPRouteErrorBudgetBurn";
    vec![
        burn(e, route, "availability", "14.4", "1h", "5m", "page"),
        burn(e, route, "availability", "6", "6h", "30m", "page"),
    ]
}

#[test]
fn client_hang_ups_do_not_page_but_server_failures_do() {
    let Some(promtool) = require_program("promtool") else {
        return;
    };
    let e = "HTTPRouteErrorBudgetBurn";
    let ok = ("http_response_status_code=\"200\"", 100);
    // Three hang-ups a minute beside 100 good requests (2.9 %, far above the 0.1 % budget):
    // silent by default, at every stage of every burn rate.
    let mut tests = String::from(TESTS_HEADER);
    tests += &case(
        &outcome_series("/hang", &[ok, ("error_type=\"cancelled\"", 3)], 240),
        &[("20m", e, vec![]), ("65m", e, vec![]), ("230m", e, vec![])],
    );
    // The same rate of the server's own failures pages, whichever kind it is.
    for (route, failure) in [
        (
            "/status",
            "http_response_status_code=\"503\",error_type=\"503\"",
        ),
        ("/service", "error_type=\"_OTHER\""),
        ("/panic", "error_type=\"panic\""),
        (
            "/body",
            "http_response_status_code=\"200\",error_type=\"body_error\"",
        ),
        ("/timeout", "error_type=\"timeout\""),
    ] {
        tests += &case(
            &outcome_series(route, &[ok, (failure, 3)], 30),
            &[("20m", e, pages(route))],
        );
    }
    let default = Monitoring::new(Slo::new("quickstart")).unwrap();
    promtool_test(&promtool, "hang-ups-default", &default, &tests);

    // Teams that want hang-ups in the objective say so; the optional ticket fires on the ratio.
    let counted = Monitoring::new(
        Slo::new("quickstart")
            .cancelled_as_failures(true)
            .cancelled_alert(0.02),
    )
    .unwrap();
    let c = "HTTPRouteCancelledRatioHigh";
    let mut tests = String::from(TESTS_HEADER);
    tests += &case(
        &outcome_series("/hang", &[ok, ("error_type=\"cancelled\"", 3)], 60),
        &[
            ("20m", e, pages("/hang")),
            ("10m", c, vec![]),
            (
                "30m",
                c,
                vec![alert(
                    c,
                    &[
                        ("job", "quickstart"),
                        ("http_route", "/hang"),
                        ("severity", "ticket"),
                    ],
                )],
            ),
        ],
    );
    // 1 % hang-ups stay under the 2 % ticket.
    tests += &case(
        &outcome_series("/calm", &[ok, ("error_type=\"cancelled\"", 1)], 60),
        &[("30m", c, vec![])],
    );
    promtool_test(&promtool, "hang-ups-counted", &counted, &tests);

    // In the axum-prometheus scheme a hang-up is status 499: silent; a 500 pages.
    let compat =
        Monitoring::new(Slo::new("quickstart").naming(Naming::new(NamingScheme::AxumPrometheus)))
            .unwrap();
    let series = |endpoint: &str, bad_status: &str| {
        let mut s = String::new();
        for (status, per_min) in [("200", 100), (bad_status, 3)] {
            let labels = format!(
                "job=\"quickstart\",endpoint=\"{endpoint}\",method=\"GET\",status=\"{status}\""
            );
            for (name, extra) in [
                ("axum_http_requests_duration_seconds_count", ""),
                ("axum_http_requests_duration_seconds_bucket", ",le=\"0.25\""),
                ("axum_http_requests_duration_seconds_bucket", ",le=\"+Inf\""),
            ] {
                let _ = write!(
                    s,
                    "      - series: '{name}{{{labels}{extra}}}'\n        values: '0+{per_min}x30'\n"
                );
            }
        }
        s
    };
    let compat_page = |rate: &str, long: &str, short: &str| {
        alert(
            e,
            &[
                ("job", "quickstart"),
                ("endpoint", "/real"),
                ("severity", "page"),
                ("slo", "availability"),
                ("slo_scope", "service"),
                ("burn_rate", rate),
                ("long_window", long),
                ("short_window", short),
            ],
        )
    };
    let mut tests = String::from(TESTS_HEADER);
    tests += &case(&series("/hang", "499"), &[("20m", e, vec![])]);
    tests += &case(
        &series("/real", "500"),
        &[(
            "20m",
            e,
            vec![
                compat_page("14.4", "1h", "5m"),
                compat_page("6", "6h", "30m"),
            ],
        )],
    );
    promtool_test(&promtool, "hang-ups-compat", &compat, &tests);
}
