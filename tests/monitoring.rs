//! The generated monitoring files: committed copies match the generator, promtool (with
//! `--lint-fatal`) and amtool accept them, and `promtool test rules` shows each alert firing
//! when its condition holds and staying silent when it does not: client hang-ups stay silent,
//! the server's own failures page. Hostile routes (quotes, backslashes, line breaks, regex and
//! template metacharacters, 10 KB, non-ASCII) still match exactly their series, and no
//! argument makes the command panic or write rules promtool refuses.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{TempDir, require_program};
use proptest::prelude::*;
use routemeter::monitoring::{Monitoring, RouteSlo, Slo, SloError};
use routemeter::{Naming, NamingScheme};

fn run(program: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn committed_files_match_the_generator() {
    let monitoring = Monitoring::new(Slo::new("quickstart")).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring");
    for (name, text) in monitoring.files() {
        let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            committed == text,
            "monitoring/{name} is out of date: run `cargo run --bin routemeter -- monitoring --out monitoring --force`"
        );
    }
    // The command's own check agrees.
    let bin = env!("CARGO_BIN_EXE_routemeter");
    let (ok, out) = run(
        Path::new(bin),
        &["monitoring", "--out", dir.to_str().unwrap(), "--check"],
    );
    assert!(ok, "{out}");
}

#[test]
fn bad_objectives_are_clear_errors() {
    let err = Monitoring::new(Slo::new("app").latency(0.3, 0.99)).unwrap_err();
    assert!(matches!(err, SloError::Threshold { .. }), "{err}");
    assert!(err.to_string().contains("not a bucket bound"), "{err}");
    let err = Monitoring::new(Slo::new("app").availability(1.0)).unwrap_err();
    assert!(err.to_string().contains("availability target 1"), "{err}");
    let err =
        Monitoring::new(Slo::new("app").route(RouteSlo::new("/x").availability(0.0))).unwrap_err();
    assert!(err.to_string().contains("\"/x\" availability"), "{err}");
    let err = Monitoring::new(Slo::new("a\"pp")).unwrap_err();
    assert!(matches!(err, SloError::Job(_)), "{err}");

    // Every number, from code: NaN, infinities, zero, negatives, out of range.
    let bad: Vec<(&str, Slo)> = vec![
        ("p99", Slo::new("app").p99_alert(f64::NAN)),
        ("p99", Slo::new("app").p99_alert(-1.0)),
        ("memory", Slo::new("app").memory_limit_bytes(f64::INFINITY)),
        ("memory", Slo::new("app").memory_limit_bytes(0.0)),
        ("capacity", Slo::new("app").rps_capacity(f64::NAN)),
        ("capacity", Slo::new("app").rps_capacity(-5.0)),
        ("horizon", Slo::new("app").forecast_horizon(Duration::ZERO)),
        ("horizon", Slo::new("app").forecast_horizon(Duration::MAX)),
        ("buckets", Slo::new("app").buckets(&[])),
        ("buckets", Slo::new("app").buckets(&[0.25, f64::NAN])),
        ("buckets", Slo::new("app").buckets(&[0.5, 0.25])),
        ("buckets", Slo::new("app").buckets(&[-1.0, 0.25])),
        ("buckets", Slo::new("app").buckets(&[0.25, 0.25])),
        ("target", Slo::new("app").availability(f64::NAN)),
        ("target", Slo::new("app").latency(0.25, f64::INFINITY)),
        ("target", Slo::new("app").cancelled_alert(1.5)),
        ("threshold", Slo::new("app").latency(f64::NAN, 0.99)),
        (
            "prefix",
            Slo::new("app").naming(Naming::default().with_prefix("up[5m]) or vector(1) or rate(x")),
        ),
        (
            "prefix",
            Slo::new("app").naming(Naming::default().with_prefix("9lives")),
        ),
        (
            "route",
            Slo::new("app").route(RouteSlo::new("").availability(0.99)),
        ),
        ("route", Slo::new("app").exclude("")),
    ];
    for (what, slo) in bad {
        let err = Monitoring::new(slo.clone()).expect_err(what);
        let text = err.to_string();
        assert!(!text.is_empty(), "{what}: {err:?}");
        match what {
            "buckets" => assert!(matches!(err, SloError::Buckets(_)), "{err:?}"),
            "prefix" => assert!(matches!(err, SloError::Prefix(_)), "{err:?}"),
            "route" => assert!(matches!(err, SloError::EmptyRoute), "{err:?}"),
            "target" => assert!(matches!(err, SloError::Target { .. }), "{err:?}"),
            "threshold" => assert!(matches!(err, SloError::Threshold { .. }), "{err:?}"),
            _ => assert!(matches!(err, SloError::Number { .. }), "{what}: {err:?}"),
        }
    }

    let bin = Path::new(env!("CARGO_BIN_EXE_routemeter"));
    let dir = TempDir::new("bad-args");
    let out = dir.0.join("out");
    let out = out.to_str().unwrap();
    let (ok, text) = run(bin, &["monitoring", "--latency", "0.3:0.99", "--out", out]);
    assert!(!ok && text.contains("not a bucket bound"), "{text}");
    let (ok, text) = run(bin, &["monitoring", "--frobnicate", "1", "--out", out]);
    assert!(!ok && text.contains("unknown option"), "{text}");
    let (ok, text) = run(bin, &["--help"]);
    assert!(ok && text.contains("--route-latency"), "{text}");

    // Every numeric option refuses what is not a number in its range: status 2, a message
    // naming the problem, no panic, nothing written.
    let cases: &[(&str, &str, &str)] = &[
        ("--horizon-hours", "-1", "hours above 0"),
        ("--horizon-hours", "NaN", "not a finite number"),
        ("--horizon-hours", "1e30", "hours above 0"),
        ("--horizon-hours", "0", "hours above 0"),
        ("--horizon-hours", "inf", "not a finite number"),
        ("--horizon-hours", "0.0001", "forecast horizon"),
        ("--p99-alert", "-1", "p99 alert"),
        ("--p99-alert", "NaN", "not a finite number"),
        ("--p99-alert", "0", "p99 alert"),
        ("--memory-limit-bytes", "-5", "memory limit"),
        ("--memory-limit-bytes", "1e400", "not a finite number"),
        ("--rps-capacity", "0", "capacity"),
        ("--rps-capacity", "x", "not a finite number"),
        ("--buckets", "0.25,NaN", "not a finite number"),
        ("--buckets", "0.5,0.25", "strictly increasing"),
        ("--buckets", "", "not a finite number"),
        ("--buckets", "-1,0.25", "above 0"),
        ("--availability", "1.5", "not strictly between 0 and 1"),
        ("--availability", "NaN", "not a finite number"),
        ("--latency", "0.25:inf", "not a finite number"),
        ("--latency", "0.25", "SECONDS:TARGET"),
        (
            "--route-availability",
            "/x=2",
            "not strictly between 0 and 1",
        ),
        ("--route-availability", "/x", "ROUTE=TARGET"),
        ("--route-latency", "/x=NaN:0.9", "not a finite number"),
        ("--route-latency", "/x=0.3:0.9", "not a bucket bound"),
        ("--cancelled-alert", "0", "not strictly between 0 and 1"),
        (
            "--prefix",
            "up[5m]) or vector(1) or rate(x",
            "metric-name prefix",
        ),
        ("--prefix", "a:b", "metric-name prefix"),
        ("--job", "a\"b", "job"),
        ("--naming", "statsd", "unknown naming"),
        ("--profile", "staging", "unknown profile"),
    ];
    for (flag, value, message) in cases {
        let output = Command::new(bin)
            .args(["monitoring", "--out", out, flag, value])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(message), "{flag} {value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{flag} {value}: {stderr}");
    }
    let (ok, text) = run(bin, &["monitoring", "--job", "x"]);
    assert!(!ok && text.contains("--out DIR is required"), "{text}");
    assert!(!Path::new(out).exists(), "nothing was written");
}

#[test]
fn naming_a_route_twice_merges_its_objectives() {
    let slo = Slo::new("shop")
        .route(RouteSlo::new("/a").availability(0.99))
        .route(RouteSlo::new("/a").latency(0.5, 0.9))
        .route(RouteSlo::new("/a").availability(0.995));
    let alerts = Monitoring::new(slo).unwrap().alerting_rules();
    // One class per objective of /a, with the last availability target: 4 burn rates each.
    let own = alerts.matches("          http_route: \"/a\"").count();
    assert_eq!(own, 8, "{alerts}");
    assert!(alerts.contains("> 0.072 and"), "14.4 x 0.005: {alerts}");
    assert!(
        !alerts.contains("> 0.144 and routemeter:http_errors"),
        "{alerts}"
    );
}

#[test]
fn the_command_never_replaces_files_unless_forced() {
    let bin = Path::new(env!("CARGO_BIN_EXE_routemeter"));
    let dir = TempDir::new("no-overwrite");
    let out = dir.0.join("monitoring");
    let out_s = out.to_str().unwrap();
    let (ok, text) = run(bin, &["monitoring", "--job", "shop", "--out", out_s]);
    assert!(ok && text.contains("wrote"), "{text}");
    let (ok, text) = run(
        bin,
        &["monitoring", "--job", "shop", "--out", out_s, "--check"],
    );
    assert!(ok, "{text}");

    // A file edited by hand survives a second run without --force.
    let alerts = out.join("alerts.rules.yml");
    std::fs::write(&alerts, "# mine\n").unwrap();
    let output = Command::new(bin)
        .args(["monitoring", "--job", "other", "--out", out_s])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("would replace") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&alerts).unwrap(), "# mine\n");
    // --check names the stale file and exits 1.
    let output = Command::new(bin)
        .args(["monitoring", "--job", "shop", "--out", out_s, "--check"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("alerts.rules.yml"), "{stderr}");

    let (ok, text) = run(
        bin,
        &["monitoring", "--job", "shop", "--out", out_s, "--force"],
    );
    assert!(ok, "{text}");
    let (ok, text) = run(
        bin,
        &["monitoring", "--job", "shop", "--out", out_s, "--check"],
    );
    assert!(ok, "{text}");

    // The same from code.
    let monitoring = Monitoring::new(Slo::new("shop")).unwrap();
    assert!(monitoring.outdated(&out).unwrap().is_empty());
    let err = monitoring.write_new(&out).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists, "{err}");
    let fresh = dir.0.join("fresh");
    assert_eq!(monitoring.outdated(&fresh).unwrap().len(), 4);
    monitoring.write_new(&fresh).unwrap();
    assert!(monitoring.outdated(&fresh).unwrap().is_empty());
}

/// A variety of settings: both schemes, a prefix, per-route objectives (with a template that
/// needs regex escaping), exclusions and a capacity forecast.
fn variants() -> Vec<(&'static str, Monitoring)> {
    let full = |slo: Slo| {
        slo.route(
            RouteSlo::new("/pay")
                .availability(0.9995)
                .latency(0.5, 0.95),
        )
        .route(RouteSlo::new("/users/{id}").latency(0.1, 0.9))
        .exclude("/health")
        .rps_capacity(500.0)
    };
    // Several routes with the same latency threshold, one of them the service's own: one
    // recording rule per threshold, no duplicates.
    let same_thresholds = Slo::new("shop")
        .route(RouteSlo::new("/a").latency(0.5, 0.95))
        .route(RouteSlo::new("/b").latency(0.5, 0.9))
        .route(RouteSlo::new("/c").latency(0.5, 0.99).availability(0.99))
        .route(RouteSlo::new("/d").latency(0.25, 0.95))
        .route(RouteSlo::new("/e").latency(1.0, 0.95))
        .cancelled_as_failures(true)
        .cancelled_alert(0.05);
    vec![
        ("default", Monitoring::new(Slo::new("quickstart")).unwrap()),
        ("same-thresholds", Monitoring::new(same_thresholds).unwrap()),
        (
            "otel-full",
            Monitoring::new(full(Slo::new("shop"))).unwrap(),
        ),
        (
            "compat-prefixed",
            Monitoring::new(full(
                Slo::new("shop")
                    .naming(Naming::new(NamingScheme::AxumPrometheus).with_prefix("shop")),
            ))
            .unwrap(),
        ),
    ]
}

#[test]
fn promtool_and_amtool_accept_every_variant() {
    let (Some(promtool), Some(amtool)) = (require_program("promtool"), require_program("amtool"))
    else {
        return;
    };
    let dir = TempDir::new("rules-check");
    for (name, monitoring) in variants() {
        let sub = dir.0.join(name);
        monitoring.write(&sub).unwrap();
        for file in ["recording.rules.yml", "alerts.rules.yml"] {
            let path = sub.join(file);
            let (ok, out) = run(
                &promtool,
                &["check", "rules", "--lint-fatal", path.to_str().unwrap()],
            );
            assert!(
                ok && out.contains("SUCCESS") && !out.contains("duplicate"),
                "{name}/{file}:\n{out}"
            );
        }
        let path = sub.join("alertmanager.yml");
        let (ok, out) = run(&amtool, &["check-config", path.to_str().unwrap()]);
        assert!(ok, "{name}/alertmanager.yml:\n{out}");
        let dashboard: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(sub.join("dashboard.json")).unwrap())
                .unwrap();
        assert!(dashboard["panels"].as_array().unwrap().len() >= 10);
    }
}

/// The rules as `promtool test rules` loads them: annotations are dropped from this copy, so
/// expected alerts are matched on labels (the annotations' templates are checked by
/// `promtool check rules` and rendered in the end-to-end test).
fn without_annotations(rules: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in rules.lines() {
        if line.trim() == "annotations:" {
            skipping = true;
            continue;
        }
        if skipping && line.starts_with("          ") {
            continue;
        }
        skipping = false;
        out.push_str(line);
        out.push('\n');
    }
    out
}

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

fn alert(name: &str, labels: &[(&str, &str)]) -> String {
    let mut s = String::from("          - exp_labels:\n");
    let _ = writeln!(s, "              alertname: {name}");
    for (k, v) in labels {
        let _ = writeln!(s, "              {k}: \"{v}\"");
    }
    s
}

fn burn(
    name: &str,
    route: &str,
    slo: &str,
    rate: &str,
    long: &str,
    short: &str,
    sev: &str,
) -> String {
    alert(
        name,
        &[
            ("job", "quickstart"),
            ("http_route", route),
            ("severity", sev),
            ("slo", slo),
            ("slo_scope", "service"),
            ("burn_rate", rate),
            ("long_window", long),
            ("short_window", short),
        ],
    )
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

fn case(series: &str, checks: &[(&str, &str, Vec<String>)]) -> String {
    let mut s = format!("  - interval: 1m\n    input_series:\n{series}    alert_rule_test:\n");
    for (at, alertname, alerts) in checks {
        let _ = writeln!(s, "      - eval_time: {at}\n        alertname: {alertname}");
        if alerts.is_empty() {
            s.push_str("        exp_alerts: []\n");
        } else {
            s.push_str("        exp_alerts:\n");
            for a in alerts {
                s.push_str(a);
            }
        }
    }
    s
}

const TESTS_HEADER: &str =
    "rule_files: [recording.yml, alerts.yml]\nevaluation_interval: 1m\ntests:\n";

/// Writes `monitoring`'s rules (annotations dropped) and `tests` into a fresh folder and runs
/// `promtool test rules` on them; panics with promtool's output and the tests if they fail.
fn promtool_test(promtool: &Path, tag: &str, monitoring: &Monitoring, tests: &str) {
    let dir = TempDir::new(tag);
    std::fs::write(dir.0.join("recording.yml"), monitoring.recording_rules()).unwrap();
    std::fs::write(
        dir.0.join("alerts.yml"),
        without_annotations(&monitoring.alerting_rules()),
    )
    .unwrap();
    let file = dir.0.join("tests.yml");
    std::fs::write(&file, tests).unwrap();
    let (ok, out) = run(promtool, &["test", "rules", file.to_str().unwrap()]);
    assert!(
        ok && out.contains("SUCCESS"),
        "promtool test rules failed:\n{out}\n--- tests.yml ---\n{tests}"
    );
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
        ("/service", "error_type=\"service_error\""),
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

/// `s` as a YAML double-quoted scalar, written independently of the generator: every
/// character outside printable ASCII is an escape.
fn yaml_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if u32::from(c) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// `s` as a PromQL string literal, independently of the generator (Go escapes for every
/// character outside printable ASCII).
fn promql_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if u32::from(c) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// What a hostile route is given: its own availability target, its own latency threshold
/// (another than the service's, or the same), or an exclusion.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    OwnAvailability,
    OwnLatency(f64),
    Excluded,
}

/// Generates rules with `routes` in every role and checks them with [`check_roles`].
fn check_hostile_routes(promtool: &Path, routes: &[String]) -> Result<(), String> {
    let mut routes: Vec<&str> = routes.iter().map(String::as_str).collect();
    routes.retain(|r| !r.is_empty() && *r != "/metrics" && *r != "/plain");
    let mut seen = std::collections::HashSet::new();
    routes.retain(|r| seen.insert(*r));
    let roles: Vec<(&str, Role)> = routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let role = match i % 4 {
                0 => Role::OwnAvailability,
                1 => Role::OwnLatency(if i % 8 == 1 { 0.5 } else { 1.0 }),
                2 => Role::OwnLatency(0.25),
                _ => Role::Excluded,
            };
            (*r, role)
        })
        .collect();
    let mut slo = Slo::new("quickstart");
    for (route, role) in &roles {
        slo = match role {
            Role::OwnAvailability => slo.route(RouteSlo::new(*route).availability(0.999)),
            Role::OwnLatency(t) => slo.route(RouteSlo::new(*route).latency(*t, 0.99)),
            Role::Excluded => slo.exclude(*route),
        };
    }
    let monitoring = Monitoring::new(slo).map_err(|e| e.to_string())?;
    check_roles(
        promtool,
        &monitoring.recording_rules(),
        &monitoring.alerting_rules(),
        &roles,
    )
}

/// Runs `promtool check rules --lint-fatal` on the rules, then `promtool test rules` with
/// series whose route label is each route of `roles` and one more, `/plain` (half the
/// requests failing and slow): each alert names exactly its route, with the right scope, and
/// excluded routes stay silent. Returns promtool's complaint, if any.
fn check_roles(
    promtool: &Path,
    recording_rules: &str,
    alerting_rules: &str,
    roles: &[(&str, Role)],
) -> Result<(), String> {
    let dir = TempDir::new("hostile");
    let recording = dir.0.join("recording.yml");
    let alerts = dir.0.join("alerts.yml");
    std::fs::write(&recording, recording_rules).unwrap();
    std::fs::write(&alerts, without_annotations(alerting_rules)).unwrap();
    let full_alerts = dir.0.join("alerts-full.yml");
    std::fs::write(&full_alerts, alerting_rules).unwrap();
    let (ok, out) = run(
        promtool,
        &[
            "check",
            "rules",
            "--lint-fatal",
            recording.to_str().unwrap(),
            full_alerts.to_str().unwrap(),
        ],
    );
    if !ok || out.contains("duplicate") {
        return Err(format!("promtool check rules --lint-fatal:\n{out}"));
    }

    // Every route, and one without objectives of its own: 50 good fast requests and 50 failed
    // slow ones a minute.
    let mut series = String::new();
    let all: Vec<(&str, Option<Role>)> = roles
        .iter()
        .map(|(r, role)| (*r, Some(*role)))
        .chain([("/plain", None)])
        .collect();
    for (route, _) in &all {
        let base = format!(
            "job=\"quickstart\",http_route={},http_request_method=\"GET\"",
            promql_quoted(route)
        );
        for (status, fast) in [("200", true), ("500", false)] {
            let labels = if status == "500" {
                format!("{base},http_response_status_code=\"500\",error_type=\"500\"")
            } else {
                format!("{base},http_response_status_code=\"200\"")
            };
            let mut add = |name: &str, extra: &str, counted: bool| {
                let per_min = if counted { 50 } else { 0 };
                let _ = write!(
                    series,
                    "      - series: {}\n        values: '0+{per_min}x6'\n",
                    yaml_quoted(&format!("{name}{{{labels}{extra}}}"))
                );
            };
            add("http_server_request_duration_seconds_count", "", true);
            for le in ["0.25", "0.5", "1"] {
                add(
                    "http_server_request_duration_seconds_bucket",
                    &format!(",le=\"{le}\""),
                    fast,
                );
            }
            add(
                "http_server_request_duration_seconds_bucket",
                ",le=\"+Inf\"",
                true,
            );
        }
    }

    // At 5 minutes only the 14.4x pages have outlived their `for` (2 m).
    let expected = |slo: &str, route: &str, own: bool, threshold: Option<&str>| {
        let mut s = String::from("          - exp_labels:\n");
        let mut labels = vec![
            ("job", "quickstart".to_owned()),
            ("http_route", route.to_owned()),
            ("severity", "page".to_owned()),
            ("slo", slo.to_owned()),
            (
                "slo_scope",
                if own { "route" } else { "service" }.to_owned(),
            ),
            ("burn_rate", "14.4".to_owned()),
            ("long_window", "1h".to_owned()),
            ("short_window", "5m".to_owned()),
        ];
        if let Some(t) = threshold {
            labels.push(("latency_threshold_seconds", t.to_owned()));
        }
        for (k, v) in labels {
            let _ = writeln!(s, "              {k}: {}", yaml_quoted(&v));
        }
        s
    };
    let mut errors = Vec::new();
    let mut slow = Vec::new();
    for (route, role) in &all {
        match role {
            Some(Role::Excluded) => {}
            Some(Role::OwnAvailability) => {
                errors.push(expected("availability", route, true, None));
                slow.push(expected("latency", route, false, Some("0.25")));
            }
            Some(Role::OwnLatency(t)) => {
                errors.push(expected("availability", route, false, None));
                let t = format!("{t}");
                slow.push(expected("latency", route, true, Some(&t)));
            }
            None => {
                errors.push(expected("availability", route, false, None));
                slow.push(expected("latency", route, false, Some("0.25")));
            }
        }
    }
    let mut tests = format!(
        "rule_files: [recording.yml, alerts.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{series}    alert_rule_test:\n"
    );
    for (alertname, expected) in [
        ("HTTPRouteErrorBudgetBurn", &errors),
        ("HTTPRouteLatencyBudgetBurn", &slow),
    ] {
        let _ = write!(
            tests,
            "      - eval_time: 5m\n        alertname: {alertname}\n        exp_alerts:\n{}",
            expected.concat()
        );
    }
    let file = dir.0.join("tests.yml");
    std::fs::write(&file, &tests).unwrap();
    let (ok, out) = run(promtool, &["test", "rules", file.to_str().unwrap()]);
    if ok && out.contains("SUCCESS") {
        Ok(())
    } else {
        let mut out = out;
        out.truncate(20_000);
        Err(format!("promtool test rules:\n{out}"))
    }
}

/// The routes the injection reports were about, and their relatives.
fn known_hostile_routes() -> Vec<String> {
    let mut routes: Vec<String> = [
        "/pay\",job=\"nowhere",
        "/a\"b",
        "/back\\slash",
        "/trailing\\",
        "/new\nline",
        "/cr\rlf\r\n",
        "/tab\there",
        "/line\u{2028}separator",
        "/paragraph\u{2029}separator",
        "/next\u{85}line",
        "/bom\u{feff}",
        "/nul\u{0}byte",
        "/replacement\u{fffd}char",
        "/users/{id}",
        "/{{ $labels.job }}",
        "/{{{",
        "}}/",
        "/a.b*c+d?e(f)g|h[i]j^k$l",
        "/.*",
        "|",
        "\\",
        "\"",
        "/café/日本語/🦀",
        "/'single'",
        "/# not a comment: really",
        "service",
        "route",
        "- [yaml, list]",
        "%!s(MISSING)",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    routes.push(format!("/long/{}", "x\"\\|{".repeat(2_100)));
    routes
}

#[test]
fn known_hostile_routes_are_escaped_everywhere() {
    let Some(promtool) = require_program("promtool") else {
        return;
    };
    if let Err(e) = check_hostile_routes(&promtool, &known_hostile_routes()) {
        panic!("{e}");
    }
}

/// The reported injections, through the command: the exclusion that disabled every
/// service-wide alert, and quotes, backslashes and newlines in per-route objectives. promtool
/// accepts the output with `--lint-fatal`, and each route matches exactly its own series.
#[test]
fn the_reported_injections_are_escaped_by_the_command() {
    let Some(promtool) = require_program("promtool") else {
        return;
    };
    let bin = Path::new(env!("CARGO_BIN_EXE_routemeter"));
    let dir = TempDir::new("injections");
    let out = dir.0.join("out");
    let excluded = "/pay\",job=\"nowhere";
    let own_availability = "/a\"b\\c\nd";
    let own_latency = "/q\"u\\o\nte";
    let same_threshold = "/s\"ame";
    let output = Command::new(bin)
        .args(["monitoring", "--job", "quickstart", "--out"])
        .arg(&out)
        .args(["--exclude", excluded])
        .args(["--route-availability", &format!("{own_availability}=0.999")])
        .args(["--route-latency", &format!("{own_latency}=0.5:0.99")])
        .args(["--route-latency", &format!("{same_threshold}=0.5:0.99")])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let alerts = read("alerts.rules.yml");
    assert!(!alerts.contains("job=\\\"nowhere\\\"}"), "{alerts}");
    let roles = [
        (excluded, Role::Excluded),
        (own_availability, Role::OwnAvailability),
        (own_latency, Role::OwnLatency(0.5)),
        (same_threshold, Role::OwnLatency(0.5)),
    ];
    if let Err(e) = check_roles(&promtool, &read("recording.rules.yml"), &alerts, &roles) {
        panic!("{e}");
    }
}

/// Routes of troublesome pieces: quotes, backslashes, line breaks of every kind, regex and
/// template metacharacters, non-ASCII text, any Unicode scalar; sometimes over 10 KB long.
fn hostile_route() -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just("\""),
        Just("\\"),
        Just("\n"),
        Just("\r\n"),
        Just("\u{2028}"),
        Just("\u{2029}"),
        Just("\u{85}"),
        Just("\u{0}"),
        Just("\u{fffd}"),
        Just("\u{feff}"),
        Just("{{"),
        Just("}}"),
        Just("{{ $labels.job }}"),
        Just("{"),
        Just("$"),
        Just("|"),
        Just(".*"),
        Just("(?i)"),
        Just("["),
        Just("^"),
        Just("\\\""),
        Just("\",job=\"x"),
        Just("# "),
        Just(": "),
        Just("'"),
        Just("é"),
        Just("日本"),
        Just("🦀"),
    ]
    .prop_map(str::to_owned);
    let piece = prop_oneof![
        4 => special,
        2 => "[a-z]{1,4}",
        1 => Just("/".to_owned()),
        2 => any::<char>().prop_map(String::from),
    ];
    let short = proptest::collection::vec(piece, 1..12).prop_map(|pieces| pieces.concat());
    prop_oneof![
        10 => short.clone(),
        1 => short.prop_map(|s| s.repeat(10_240 / s.len() + 1)),
    ]
}

proptest! {
    // Each case runs promtool twice on a batch of routes; a dozen batches take a few seconds
    // (10 KB routes are the slow ones: Prometheus compiles their regexes at every step).
    #![proptest_config(ProptestConfig {
        cases: 12,
        max_shrink_iters: 64,
        // A failure prints its smallest routes: add them to `known_hostile_routes`.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn hostile_routes_pass_promtool_and_match_their_series(
        routes in proptest::collection::vec(hostile_route(), 4..12)
    ) {
        let Some(promtool) = require_program("promtool") else {
            return Ok(());
        };
        if let Err(e) = check_hostile_routes(&promtool, &routes) {
            prop_assert!(false, "{}\nroutes: {:?}", e, routes);
        }
    }
}

/// An option and its value: mostly good values for it, sometimes bad numbers, hostile text,
/// a value of another option, or nothing.
fn cli_option() -> impl Strategy<Value = Vec<String>> {
    let good = |flag: &'static str, values: &'static [&'static str]| {
        proptest::sample::select(values).prop_map(move |v| vec![flag.to_owned(), v.to_owned()])
    };
    let bad = prop_oneof![
        Just("NaN"),
        Just("-1"),
        Just("1e30"),
        Just("inf"),
        Just("0"),
        Just(""),
        Just("="),
        Just(":"),
        Just("/x=NaN:0.9"),
        Just("0.25:0.99"),
        Just("--force"),
    ]
    .prop_map(str::to_owned);
    let flags = proptest::sample::select(
        &[
            "--job",
            "--availability",
            "--latency",
            "--route-availability",
            "--route-latency",
            "--exclude",
            "--cancelled-alert",
            "--p99-alert",
            "--prefix",
            "--buckets",
            "--memory-limit-bytes",
            "--rps-capacity",
            "--horizon-hours",
            "--naming",
            "--profile",
        ][..],
    );
    prop_oneof![
        2 => good("--job", &["shop", "api-v2", "a.b:c"]),
        2 => good("--availability", &["0.999", "0.99", "0.5"]),
        2 => good("--latency", &["0.25:0.99", "1:0.9", "0.005:0.5"]),
        2 => good("--route-availability", &["/a=0.99", "/a\"{{=0.9", "/é=b=0.999"]),
        2 => good("--route-latency", &["/b=0.5:0.95", "/c=0.25:0.9", "/a=0.5:0.99"]),
        2 => good("--exclude", &["/health", "/pay\",job=\"nowhere", "/a"]),
        1 => good("--include", &["/metrics", "/a"]),
        1 => good("--cancelled-alert", &["0.05", "0.5"]),
        1 => good("--p99-alert", &["1", "0.25", "30"]),
        1 => good("--prefix", &["shop", "_x1", ""]),
        1 => good("--buckets", &["0.1,0.25,0.5,1", "0.25", "0.005,0.01,0.025,0.05,0.075,0.1,0.25,0.5,0.75,1,2.5,5,7.5,10"]),
        1 => good("--memory-limit-bytes", &["1e9", "536870912"]),
        1 => good("--rps-capacity", &["500", "0.5"]),
        1 => good("--horizon-hours", &["4", "0.5", "8784"]),
        1 => good("--naming", &["otel", "axum-prometheus"]),
        1 => good("--profile", &["production", "test"]),
        1 => proptest::sample::select(&["--cancelled-as-failures", "--force", "--check"][..])
            .prop_map(|f| vec![f.to_owned()]),
        2 => (flags.clone(), bad).prop_map(|(f, v)| vec![f.to_owned(), v]),
        1 => (flags, hostile_route()).prop_map(|(f, v)| vec![f.to_owned(), v]),
        1 => hostile_route().prop_map(|v| vec![v]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any command line ends with status 0, 1 or 2 and never a panic; whatever it accepts,
    /// promtool accepts too.
    #[test]
    fn the_command_never_panics_and_writes_only_valid_rules(
        options in proptest::collection::vec(cli_option(), 0..8)
    ) {
        // A command line cannot carry NUL.
        let args: Vec<String> = options.concat().iter().map(|a| a.replace('\0', "")).collect();
        let bin = Path::new(env!("CARGO_BIN_EXE_routemeter"));
        let dir = TempDir::new("cli-fuzz");
        let out = dir.0.join("out");
        let output = Command::new(bin)
            .args(["monitoring", "--out", out.to_str().unwrap()])
            .args(&args)
            .current_dir(&dir.0)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code();
        prop_assert!(matches!(code, Some(0..=2)), "{:?}: {:?} {}", args, code, stderr);
        prop_assert!(!stderr.contains("panicked"), "{:?}: {}", args, stderr);
        let written = out.join("alerts.rules.yml").exists();
        prop_assert!(code == Some(0) || !written, "{:?}: wrote files, then failed", args);
        if written {
            if let Some(promtool) = require_program("promtool") {
                let (ok, text) = run(
                    &promtool,
                    &[
                        "check",
                        "rules",
                        "--lint-fatal",
                        out.join("recording.rules.yml").to_str().unwrap(),
                        out.join("alerts.rules.yml").to_str().unwrap(),
                    ],
                );
                prop_assert!(ok, "{:?}:\n{}", args, text);
            }
        }
    }
}

/// Markdown link targets: inline `[text](target)` and reference definitions `[label]: target`.
fn links(markdown: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut inline = Vec::new();
    let mut definitions = Vec::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            inline.push(after[..end].to_owned());
            rest = &after[end..];
        }
        if let Some(def) = line.strip_prefix('[') {
            if let Some((label, target)) = def.split_once("]: ") {
                definitions.push((label.to_owned(), target.trim().to_owned()));
            }
        }
    }
    (inline, definitions)
}

#[test]
fn docs_links_work_on_github_and_on_docs_rs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let readme_included = lib.find("include_str!(\"../README.md\")").unwrap();
    let absolute = |t: &str| t.contains("://") || t.starts_with('#');

    let (inline, definitions) = links(&readme);
    for target in &inline {
        assert!(
            absolute(target),
            "README link ({target}) is relative: rustdoc cannot resolve it; use a reference link that src/lib.rs defines"
        );
    }
    let mut relative = 0;
    for (label, target) in &definitions {
        if absolute(target) {
            continue;
        }
        relative += 1;
        // GitHub resolves it against the repository...
        assert!(
            root.join(target).exists(),
            "[{label}]: {target} does not exist"
        );
        // ...and rustdoc takes lib.rs's definition, which comes first.
        let ours = format!("\"[{label}]: ");
        let at = lib
            .find(&ours)
            .unwrap_or_else(|| panic!("src/lib.rs does not define [{label}] for rustdoc"));
        assert!(
            at < readme_included,
            "[{label}] must be defined before the README"
        );
        let lib_target = lib[at + ours.len()..].split('"').next().unwrap();
        assert!(
            lib_target.starts_with("crate::") || lib_target.starts_with("https://"),
            "[{label}]: {lib_target}"
        );
    }
    assert!(
        relative >= 2,
        "the guide and monitoring/ links: {definitions:?}"
    );

    // The guide is rendered at docs/production.md and as the `production_guide` module: no
    // relative links at all.
    let guide = std::fs::read_to_string(root.join("docs/production.md")).unwrap();
    let (inline, definitions) = links(&guide);
    let relative: Vec<&String> = inline
        .iter()
        .chain(definitions.iter().map(|(_, t)| t))
        .filter(|t| !absolute(t))
        .collect();
    assert!(relative.is_empty(), "docs/production.md: {relative:?}");
}
