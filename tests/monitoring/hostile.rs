//! Hostile routes (quotes, backslashes, line breaks, regex and template metacharacters,
//! 10 KB, non-ASCII) pass `promtool check rules --lint-fatal` and still match exactly their
//! own series in `promtool test rules`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use routemeter::monitoring::{Monitoring, RouteSlo, Slo};

use crate::common::{TempDir, require_program};
use crate::{run, without_annotations};

/// `s` as a double-quoted string, written independently of the generator: `\"` and `\\`,
/// printable ASCII as itself, and every other character as `\uXXXX` (or `\UXXXXXXXX` above
/// U+FFFF).
///
/// One function serves both languages the rules are written in, because on this escape set
/// they agree: a YAML 1.2 double-quoted scalar (section 5.7, escaped characters) and a PromQL
/// string literal, which Prometheus unquotes with Go's rules (`strconv.Unquote`: `\u` takes
/// exactly four hex digits, `\U` eight, and a surrogate half is refused, which a Rust `char`
/// never is). Where they differ (YAML's `\N`, `\_`, `\e`, `\/`; Go's `\a`, `\v`, octal
/// and `\x` byte escapes) this function writes neither, so the text it returns reads back
/// as `s` in both.
fn double_quoted(s: &str) -> String {
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
    // Default exclusions would take no role of their own.
    routes.retain(|r| {
        !r.is_empty() && !routemeter::monitoring::DEFAULT_EXCLUDED.contains(r) && *r != "/plain"
    });
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
            double_quoted(route)
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
                    double_quoted(&format!("{name}{{{labels}{extra}}}"))
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
            let _ = writeln!(s, "              {k}: {}", double_quoted(&v));
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
pub(crate) fn hostile_route() -> impl Strategy<Value = String> {
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
