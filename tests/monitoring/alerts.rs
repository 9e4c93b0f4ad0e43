//! `promtool test rules`: every alert fires when its condition holds, and only then.

use std::fmt::Write as _;

use routemeter::monitoring::{Monitoring, Slo};

use crate::common::require_program;
use crate::{TESTS_HEADER, alert, burn, case, promtool_test};

/// Counter series of one route: `ok` good and `bad` failed requests per minute, `fast` of all
/// of them under 250 ms, for `minutes` minutes, then `after` more minutes with no requests.
fn route_series(
    route: &str,
    ok: u64,
    bad: u64,
    fast_share: f64,
    minutes: u64,
    after: u64,
) -> String {
    let mut s = String::new();
    let base = format!("job=\"quickstart\",http_route=\"{route}\",http_request_method=\"GET\"");
    for (labels, per_min) in [
        (format!("{base},http_response_status_code=\"200\""), ok),
        (
            format!("{base},http_response_status_code=\"500\",error_type=\"500\""),
            bad,
        ),
    ] {
        let series = |name: &str, extra: &str, n: f64| {
            let per = n.round() as u64;
            let tail = if after > 0 {
                format!(" {}x{after}", per * minutes)
            } else {
                String::new()
            };
            format!(
                "      - series: '{name}{{{labels}{extra}}}'\n        values: '0+{per}x{minutes}{tail}'\n"
            )
        };
        let fast = per_min as f64 * fast_share;
        s.push_str(&series(
            "http_server_request_duration_seconds_count",
            "",
            per_min as f64,
        ));
        s.push_str(&series(
            "http_server_request_duration_seconds_bucket",
            ",le=\"0.25\"",
            fast,
        ));
        s.push_str(&series(
            "http_server_request_duration_seconds_bucket",
            ",le=\"+Inf\"",
            per_min as f64,
        ));
    }
    s
}

fn latency_burn(route: &str, rate: &str, long: &str, short: &str, sev: &str) -> String {
    let mut a = burn(
        "HTTPRouteLatencyBudgetBurn",
        route,
        "latency",
        rate,
        long,
        short,
        sev,
    );
    a.push_str("              latency_threshold_seconds: \"0.25\"\n");
    a
}

#[test]
fn alerts_fire_when_they_should_and_only_then() {
    let Some(promtool) = require_program("promtool") else {
        return;
    };
    let monitoring = Monitoring::new(Slo::new("quickstart")).unwrap();

    let e = "HTTPRouteErrorBudgetBurn";
    let l = "HTTPRouteLatencyBudgetBurn";
    let mut tests = String::from(TESTS_HEADER);
    // 5 % of requests to /a fail for three hours: both page pairs fire first, then the
    // 3x ticket (its `for` is 1h), and the 1x ticket only after 3h.
    tests += &case(
        &route_series("/a", 950, 50, 1.0, 240, 0),
        &[
            (
                "65m",
                e,
                vec![
                    burn(e, "/a", "availability", "14.4", "1h", "5m", "page"),
                    burn(e, "/a", "availability", "6", "6h", "30m", "page"),
                    burn(e, "/a", "availability", "3", "1d", "2h", "ticket"),
                ],
            ),
            (
                "230m",
                e,
                vec![
                    burn(e, "/a", "availability", "14.4", "1h", "5m", "page"),
                    burn(e, "/a", "availability", "6", "6h", "30m", "page"),
                    burn(e, "/a", "availability", "3", "1d", "2h", "ticket"),
                    burn(e, "/a", "availability", "1", "3d", "6h", "ticket"),
                ],
            ),
            ("65m", l, vec![]),
            ("65m", "HTTPRouteHighP99Latency", vec![]),
            ("65m", "HTTPRouteNoTraffic", vec![]),
        ],
    );
    // 0.01 % errors: within every budget, nothing fires, ever.
    tests += &case(
        &route_series("/b", 9999, 1, 1.0, 300, 0),
        &[("60m", e, vec![]), ("299m", e, vec![]), ("299m", l, vec![])],
    );
    // A quiet route that never had traffic: silent (no division by zero turns into alerts).
    tests += &case(
        &route_series("/quiet", 0, 0, 1.0, 120, 0),
        &[
            ("100m", e, vec![]),
            ("100m", l, vec![]),
            ("100m", "HTTPRouteNoTraffic", vec![]),
            ("100m", "HTTPRouteHighP99Latency", vec![]),
        ],
    );
    // 10 % of requests slower than 250 ms (the objective allows 1 %): the 6x page fires after
    // its 15 m hold, the 14.4x one never does.
    tests += &case(
        &route_series("/slow", 1000, 0, 0.9, 120, 0),
        &[
            (
                "45m",
                l,
                vec![latency_burn("/slow", "6", "6h", "30m", "page")],
            ),
            ("10m", l, vec![]),
            ("45m", e, vec![]),
        ],
    );
    // Every request to /crawl takes 2.5 to 5 s: p99 is about 5 s, above the 1 s alert.
    let crawl = "job=\"quickstart\",http_route=\"/crawl\",http_request_method=\"GET\",http_response_status_code=\"200\"";
    tests += &case(
        &format!(
            "      - series: 'http_server_request_duration_seconds_count{{{crawl}}}'\n        values: '0+100x60'\n\
             \x20     - series: 'http_server_request_duration_seconds_bucket{{{crawl},le=\"2.5\"}}'\n        values: '0+0x60'\n\
             \x20     - series: 'http_server_request_duration_seconds_bucket{{{crawl},le=\"5\"}}'\n        values: '0+100x60'\n\
             \x20     - series: 'http_server_request_duration_seconds_bucket{{{crawl},le=\"+Inf\"}}'\n        values: '0+100x60'\n"
        ),
        &[(
            "30m",
            "HTTPRouteHighP99Latency",
            vec![alert(
                "HTTPRouteHighP99Latency",
                &[
                    ("job", "quickstart"),
                    ("http_route", "/crawl"),
                    ("severity", "ticket"),
                ],
            )],
        )],
    );
    // Traffic for an hour, then none: the no-traffic alert fires after its 10 m hold.
    tests += &case(
        &route_series("/gone", 100, 0, 1.0, 60, 40),
        &[
            ("50m", "HTTPRouteNoTraffic", vec![]),
            (
                "80m",
                "HTTPRouteNoTraffic",
                vec![alert(
                    "HTTPRouteNoTraffic",
                    &[
                        ("job", "quickstart"),
                        ("http_route", "/gone"),
                        ("severity", "ticket"),
                    ],
                )],
            ),
        ],
    );
    // Memory growing 10 MB a minute from 100 MB: 4 h ahead it crosses 1 GiB.
    tests += &case(
        "      - series: 'process_resident_memory_bytes{job=\"quickstart\",instance=\"a:1\"}'\n        values: '100000000+10000000x120'\n      - series: 'process_resident_memory_bytes{job=\"quickstart\",instance=\"b:1\"}'\n        values: '100000000+0x120'\n",
        &[(
            "40m",
            "HTTPServiceMemoryForecast",
            vec![alert(
                "HTTPServiceMemoryForecast",
                &[
                    ("job", "quickstart"),
                    ("instance", "a:1"),
                    ("severity", "ticket"),
                ],
            )],
        )],
    );
    // A target that cannot be scraped pages after 2 m.
    tests += &case(
        "      - series: 'up{job=\"quickstart\",instance=\"a:1\"}'\n        values: '1x5 0x10'\n",
        &[
            ("5m", "HTTPServiceDown", vec![]),
            (
                "12m",
                "HTTPServiceDown",
                vec![alert(
                    "HTTPServiceDown",
                    &[
                        ("job", "quickstart"),
                        ("instance", "a:1"),
                        ("severity", "page"),
                    ],
                )],
            ),
        ],
    );
    promtool_test(&promtool, "rules-test", &monitoring, &tests);
}

#[test]
fn traffic_forecast_fires_when_the_rate_grows_towards_capacity() {
    let Some(promtool) = require_program("promtool") else {
        return;
    };
    let monitoring = Monitoring::new(Slo::new("quickstart").rps_capacity(100.0)).unwrap();
    // The request rate rises by 0.5/s every minute: 30/s after an hour, projected to pass
    // 100/s within 4 h. A steady 50/s never is.
    let counter = |route: &str, per_minute: &dyn Fn(u64) -> u64| {
        let mut values = String::new();
        let mut total = 0u64;
        for minute in 0..=120u64 {
            total += per_minute(minute);
            let _ = write!(values, "{total} ");
        }
        format!(
            "      - series: 'http_server_request_duration_seconds_count{{job=\"quickstart\",http_route=\"{route}\",http_request_method=\"GET\",http_response_status_code=\"200\"}}'\n        values: '{}'\n",
            values.trim()
        )
    };
    let mut tests = String::from(TESTS_HEADER);
    tests += &case(
        &counter("/a", &|m| 30 * m),
        &[(
            "60m",
            "HTTPServiceTrafficForecast",
            vec![alert(
                "HTTPServiceTrafficForecast",
                &[("job", "quickstart"), ("severity", "ticket")],
            )],
        )],
    );
    tests += &case(
        &counter("/a", &|_| 3000),
        &[("110m", "HTTPServiceTrafficForecast", vec![])],
    );
    promtool_test(&promtool, "rules-forecast", &monitoring, &tests);
}

/// The live page's routes (`/stats`, `/stats.json`, `/stats.js`, `/stats.css`) are no
/// objectives unless included: failing and slow requests to them page nobody by default, and
/// `include` brings one back.
#[test]
fn live_page_routes_are_excluded_unless_included() {
    let Some(promtool) = require_program("promtool") else {
        return;
    };
    let live = ["/stats", "/stats.json", "/stats.js", "/stats.css"];
    // 5 % of requests fail and 10 % are slower than 250 ms, on every route of the page.
    let series: String = live
        .iter()
        .map(|r| route_series(r, 950, 50, 0.9, 120, 0))
        .collect();
    let (e, l) = ("HTTPRouteErrorBudgetBurn", "HTTPRouteLatencyBudgetBurn");

    let mut silent = String::from(TESTS_HEADER);
    silent += &case(&series, &[("65m", e, vec![]), ("45m", l, vec![])]);
    promtool_test(
        &promtool,
        "live-excluded",
        &Monitoring::new(Slo::new("quickstart")).unwrap(),
        &silent,
    );

    // Included again, /stats.json burns both budgets as any route does (as `/a` and `/slow`
    // above); the page's other routes stay silent.
    let mut included = String::from(TESTS_HEADER);
    included += &case(
        &series,
        &[
            (
                "65m",
                e,
                vec![
                    burn(e, "/stats.json", "availability", "14.4", "1h", "5m", "page"),
                    burn(e, "/stats.json", "availability", "6", "6h", "30m", "page"),
                    burn(e, "/stats.json", "availability", "3", "1d", "2h", "ticket"),
                ],
            ),
            (
                "45m",
                l,
                vec![latency_burn("/stats.json", "6", "6h", "30m", "page")],
            ),
        ],
    );
    promtool_test(
        &promtool,
        "live-included",
        &Monitoring::new(Slo::new("quickstart").include("/stats.json")).unwrap(),
        &included,
    );
}
