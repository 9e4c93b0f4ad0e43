//! The `routemeter` command and `Monitoring::new`: every bad setting is a clear error (exit
//! status 2), files are never replaced unless forced, and no command line makes it panic.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use proptest::prelude::*;
use routemeter::Naming;
use routemeter::monitoring::{Monitoring, RouteSlo, Slo, SloError};

use crate::common::{TempDir, require_program};
use crate::hostile::hostile_route;
use crate::run;

/// A route with buckets of its own: the threshold that covers it, the service's or its own
/// objective's, must be one of its bounds; the refusal names the route and lists them.
#[test]
fn thresholds_of_routes_with_buckets_of_their_own_are_their_bounds() {
    let slow = [0.1, 0.15, 0.2, 0.3];
    // The service's 0.25 s covers /slow, whose bounds lack it.
    let err = Monitoring::new(Slo::new("app").route_buckets("/slow", &slow)).unwrap_err();
    assert!(
        matches!(&err, SloError::RouteThreshold { route, value, buckets }
            if route == "/slow" && *value == 0.25 && buckets == &slow),
        "{err}"
    );
    assert!(err.to_string().contains("route \"/slow\""), "{err}");
    assert!(err.to_string().contains("[0.1, 0.15, 0.2, 0.3]"), "{err}");
    // Its own objective at one of its bounds, or excluded: accepted.
    let own = Slo::new("app")
        .route_buckets("/slow", &slow)
        .route(RouteSlo::new("/slow").latency(0.2, 0.99));
    let monitoring = Monitoring::new(own).unwrap();
    assert!(
        monitoring.recording_rules().contains("0.2"),
        "{}",
        monitoring.recording_rules()
    );
    Monitoring::new(
        Slo::new("app")
            .route_buckets("/slow", &slow)
            .exclude("/slow"),
    )
    .unwrap();
    // Its own objective at a bound of the default buckets but not of its own: refused.
    let err = Monitoring::new(
        Slo::new("app")
            .route_buckets("/slow", &slow)
            .route(RouteSlo::new("/slow").latency(0.5, 0.99)),
    )
    .unwrap_err();
    assert!(
        matches!(err, SloError::RouteThreshold { value: 0.5, .. }),
        "{err}"
    );
    // The service's threshold among the route's bounds: accepted for it.
    Monitoring::new(Slo::new("app").route_buckets("/slow", &[0.1, 0.25, 0.3])).unwrap();
    // A route's own bounds are checked as the service's are.
    for bad in [&[][..], &[0.3, 0.2], &[f64::NAN], &[-1.0, 0.25]] {
        let err = Monitoring::new(Slo::new("app").route_buckets("/slow", bad)).unwrap_err();
        assert!(matches!(err, SloError::Buckets(_)), "{bad:?}: {err}");
    }
    let err = Monitoring::new(Slo::new("app").route_buckets("", &[0.25])).unwrap_err();
    assert_eq!(err, SloError::EmptyRoute);
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
        // Names starting with `__` are Prometheus's own.
        (
            "prefix",
            Slo::new("app").naming(Naming::default().with_prefix("__")),
        ),
        (
            "prefix",
            Slo::new("app").naming(
                Naming::new(routemeter::NamingScheme::AxumPrometheus).with_prefix("__shop"),
            ),
        ),
        // `_` + `_http_server_…`.
        (
            "prefix",
            Slo::new("app").naming(Naming::default().with_prefix("_")),
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
    let (ok, text) = run(
        bin,
        &[
            "monitoring",
            "--job",
            "a",
            "--latency",
            "0.3:0.99",
            "--out",
            out,
        ],
    );
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
        ("--prefix", "__", "metric-name prefix"),
        ("--prefix", "__x", "metric-name prefix"),
        ("--prefix", "_", "metric-name prefix"),
        ("--job", "a\"b", "job"),
        ("--naming", "statsd", "unknown naming"),
        ("--profile", "staging", "unknown profile"),
    ];
    for (flag, value, message) in cases {
        let job: &[&str] = if *flag == "--job" {
            &[]
        } else {
            &["--job", "shop"]
        };
        let output = Command::new(bin)
            .args(["monitoring", "--out", out])
            .args(job)
            .args([flag, value])
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

/// Every option of the command, with a good value (`None` for a switch), and whether it may
/// be given more than once.
const OPTIONS: &[(&str, Option<&str>, bool)] = &[
    ("--out", Some("elsewhere"), false),
    ("--job", Some("shop"), false),
    ("--force", None, false),
    ("--check", None, false),
    ("--availability", Some("0.99"), false),
    ("--latency", Some("0.5:0.99"), false),
    ("--route-availability", Some("/a=0.99"), true),
    ("--route-latency", Some("/a=0.5:0.9"), true),
    ("--exclude", Some("/health"), true),
    ("--include", Some("/metrics"), true),
    ("--cancelled-as-failures", None, false),
    ("--cancelled-alert", Some("0.05"), false),
    ("--grpc-availability", Some("0.99"), false),
    ("--p99-alert", Some("2"), false),
    ("--naming", Some("axum-prometheus"), false),
    ("--prefix", Some("shop"), false),
    ("--buckets", Some("0.25,0.5,1"), false),
    ("--memory-limit-bytes", Some("1e9"), false),
    ("--rps-capacity", Some("500"), false),
    ("--horizon-hours", Some("8"), false),
    ("--fleet-label", Some("region"), true),
    ("--profile", Some("test"), false),
];

fn command(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_routemeter"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_command_prints_its_version() {
    let expected = format!("routemeter {}\n", env!("CARGO_PKG_VERSION"));
    for args in [&["--version"][..], &["-V"], &["monitoring", "--version"]] {
        let (code, stdout, stderr) = command(args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert_eq!(stdout, expected, "{args:?}");
    }
}

#[test]
fn a_command_is_required() {
    let (code, stdout, stderr) = command(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("a command is required"), "{stderr}");
    assert!(stderr.contains("--job"), "the help follows: {stderr}");
    let (code, stdout, _) = command(&["--help"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("--job"), "{stdout}");
}

#[test]
fn the_job_is_required() {
    let dir = TempDir::new("no-job");
    let out = dir.0.join("out");
    let (code, _, stderr) = command(&["monitoring", "--out", out.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--job NAME is required"), "{stderr}");
    assert!(
        stderr.contains("--job checkout --out"),
        "an example: {stderr}"
    );
    assert!(!out.exists(), "nothing was written");
    // Neither is the folder.
    let (code, _, stderr) = command(&["monitoring", "--job", "shop"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--out DIR is required"), "{stderr}");
}

#[test]
fn repeated_options_add_up_or_are_refused() {
    let dir = TempDir::new("repeats");
    let out = dir.0.join("out");
    let out_s = out.to_str().unwrap();
    // Options that can repeat add up: the files are those of the objectives given together.
    let (code, _, stderr) = command(&[
        "monitoring",
        "--job",
        "shop",
        "--out",
        out_s,
        "--route-availability",
        "/a=0.99",
        "--route-availability",
        "/b=0.995",
        "--route-latency",
        "/a=0.5:0.9",
        "--route-latency",
        "/c=1:0.95",
        "--exclude",
        "/health",
        "--exclude",
        "/ready",
        "--include",
        "/metrics",
        "--fleet-label",
        "region",
        "--fleet-label",
        "cluster",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let expected = Monitoring::new(
        Slo::new("shop")
            .route(RouteSlo::new("/a").availability(0.99).latency(0.5, 0.9))
            .route(RouteSlo::new("/b").availability(0.995))
            .route(RouteSlo::new("/c").latency(1.0, 0.95))
            .exclude("/health")
            .exclude("/ready")
            .include("/metrics")
            .fleet_label("region")
            .fleet_label("cluster"),
    )
    .unwrap();
    assert!(expected.outdated(&out).unwrap().is_empty());
    let alerts = std::fs::read_to_string(out.join("alerts.rules.yml")).unwrap();
    for route in ["/a", "/b", "/c"] {
        let own = format!("http_route: \"{route}\"");
        assert!(alerts.contains(&own), "{route}: {alerts}");
    }

    // The same route twice for one objective would say two things: refused.
    for (flag, first, second) in [
        ("--route-availability", "/a=0.99", "/a=0.995"),
        ("--route-latency", "/a=0.5:0.9", "/a=1:0.9"),
    ] {
        let fresh = dir.0.join("twice");
        let fresh = fresh.to_str().unwrap();
        let (code, _, stderr) = command(&[
            "monitoring",
            "--job",
            "shop",
            "--out",
            fresh,
            flag,
            first,
            flag,
            second,
        ]);
        assert_eq!(code, Some(2), "{flag}: {stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains("\"/a\" given twice"),
            "{stderr}"
        );
        assert!(!Path::new(fresh).exists(), "nothing was written");
    }

    // Every option that takes one value, given twice: refused, naming the option.
    for (flag, value, repeats) in OPTIONS {
        if *repeats {
            continue;
        }
        let fresh = dir.0.join("once");
        let fresh_s = fresh.to_str().unwrap();
        let value = if *flag == "--out" {
            Some(fresh_s)
        } else {
            *value
        };
        let mut args = vec!["monitoring"];
        if *flag != "--out" {
            args.extend(["--out", fresh_s]);
        }
        if *flag != "--job" {
            args.extend(["--job", "shop"]);
        }
        for _ in 0..2 {
            args.push(flag);
            args.extend(value);
        }
        let (code, _, stderr) = command(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{flag} given twice")),
            "{args:?}: {stderr}"
        );
        assert!(!fresh.exists(), "{flag}: nothing was written");
        // Once, it is accepted.
        let once: Vec<&str> = args[..args.len() - 1 - usize::from(value.is_some())].to_vec();
        let (code, _, stderr) = command(&once);
        let expected = if *flag == "--check" { 1 } else { 0 };
        assert_eq!(code, Some(expected), "{once:?}: {stderr}");
        let _ = std::fs::remove_dir_all(&fresh);
    }
}

#[test]
fn help_lists_every_option_with_its_default() {
    let (code, help, stderr) = command(&["--help"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(command(&["monitoring", "--help"]).1, help);
    // Each entry: from its line to the next entry's.
    let lines: Vec<&str> = help.lines().collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("    -"))
        .collect();
    let mut listed = Vec::new();
    for (n, &i) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        let entry = lines[i..end].join("\n");
        let flag = entry
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches(',');
        listed.push(flag.to_owned());
        if matches!(flag, "-h" | "-V") {
            continue;
        }
        assert!(
            entry.contains("(default: ") || entry.contains("(required"),
            "{flag} has no default in --help:\n{entry}"
        );
        let (_, value, repeats) = OPTIONS
            .iter()
            .find(|(f, ..)| *f == flag)
            .unwrap_or_else(|| panic!("--help lists {flag}, which this test does not know"));
        if let Some(value) = value {
            assert!(
                entry.contains(&format!("{flag} ")),
                "{flag} shows its value: {entry}"
            );
            assert!(!value.is_empty());
        }
        assert_eq!(entry.contains("repeatable"), *repeats, "{entry}");
    }
    for (flag, ..) in OPTIONS {
        assert!(
            listed.iter().any(|l| l == flag),
            "{flag} is not in --help:\n{help}"
        );
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
            "--availability",
            "--latency",
            "--route-availability",
            "--route-latency",
            "--exclude",
            "--cancelled-alert",
            "--grpc-availability",
            "--p99-alert",
            "--prefix",
            "--buckets",
            "--memory-limit-bytes",
            "--rps-capacity",
            "--horizon-hours",
            "--naming",
            "--profile",
            "--fleet-label",
        ][..],
    );
    prop_oneof![
        2 => good("--availability", &["0.999", "0.99", "0.5"]),
        2 => good("--latency", &["0.25:0.99", "1:0.9", "0.005:0.5"]),
        2 => good("--route-availability", &["/a=0.99", "/a\"{{=0.9", "/é=b=0.999"]),
        2 => good("--route-latency", &["/b=0.5:0.95", "/c=0.25:0.9", "/a=0.5:0.99"]),
        2 => good("--exclude", &["/health", "/pay\",job=\"nowhere", "/a"]),
        1 => good("--include", &["/metrics", "/a"]),
        1 => good("--cancelled-alert", &["0.05", "0.5"]),
        1 => good("--grpc-availability", &["0.99", "0.999"]),
        1 => good("--p99-alert", &["1", "0.25", "30"]),
        1 => good("--prefix", &["shop", "_x1", "", "_", "__", "__x"]),
        1 => good("--buckets", &["0.1,0.25,0.5,1", "0.25", "0.005,0.01,0.025,0.05,0.075,0.1,0.25,0.5,0.75,1,2.5,5,7.5,10"]),
        1 => good("--memory-limit-bytes", &["1e9", "536870912"]),
        1 => good("--rps-capacity", &["500", "0.5"]),
        1 => good("--horizon-hours", &["4", "0.5", "8784"]),
        1 => good("--naming", &["otel", "axum-prometheus"]),
        1 => good("--profile", &["production", "test"]),
        1 => good("--fleet-label", &["region", "cluster", "instance", "re-gion", "NaN", "without", "by", "endpoint", "alertname"]),
        1 => proptest::sample::select(&["--cancelled-as-failures", "--force", "--check"][..])
            .prop_map(|f| vec![f.to_owned()]),
        2 => (flags.clone(), bad).prop_map(|(f, v)| vec![f.to_owned(), v]),
        1 => (flags, hostile_route()).prop_map(|(f, v)| vec![f.to_owned(), v]),
        1 => hostile_route().prop_map(|v| vec![v]),
    ]
}

/// `--job` and its value: mostly a good one, sometimes a bad one, hostile text, or none at
/// all (refused: the job is required).
fn cli_job() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        6 => proptest::sample::select(&["shop", "api-v2", "a.b:c"][..])
            .prop_map(|j| vec!["--job".to_owned(), j.to_owned()]),
        1 => hostile_route().prop_map(|j| vec!["--job".to_owned(), j]),
        1 => Just(Vec::new()),
    ]
}

/// 48 cases (a few seconds), or `PROPTEST_CASES` for a longer search.
fn cli_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cli_cases(),
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any command line ends with status 0, 1 or 2 and never a panic; whatever it accepts,
    /// promtool accepts too.
    #[test]
    fn the_command_never_panics_and_writes_only_valid_rules(
        job in cli_job(),
        options in proptest::collection::vec(cli_option(), 0..8)
    ) {
        // A command line cannot carry NUL.
        let args: Vec<String> = [job, options.concat()]
            .concat()
            .iter()
            .map(|a| a.replace('\0', ""))
            .collect();
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
            if let Some(amtool) = require_program("amtool") {
                let path = out.join("alertmanager.yml");
                let (ok, text) = run(&amtool, &["check-config", path.to_str().unwrap()]);
                prop_assert!(ok, "{:?}:\n{}", args, text);
            }
        }
    }
}

/// The default exclusions, `/metrics` and the live page's routes, are what the help says, and
/// `--include` brings one back as `Slo::include` does.
#[test]
fn default_exclusions_are_listed_and_can_be_included() {
    use routemeter::monitoring::DEFAULT_EXCLUDED;
    assert_eq!(
        DEFAULT_EXCLUDED,
        [
            "/metrics",
            "/stats",
            "/stats.json",
            "/stats.js",
            "/stats.css"
        ]
    );
    let (code, help, stderr) = command(&["--help"]);
    assert_eq!(code, Some(0), "{stderr}");
    let exclude = help
        .split("    --exclude ROUTE")
        .nth(1)
        .and_then(|rest| rest.split("    --include").next())
        .expect("--exclude in the help");
    let exclude = exclude.split_whitespace().collect::<Vec<_>>().join(" ");
    for route in DEFAULT_EXCLUDED {
        assert!(
            exclude
                .split(|c: char| c.is_whitespace() || c == ',' || c == ')')
                .any(|w| w == route),
            "{route} is not among the defaults of --exclude: {exclude}"
        );
    }

    let dir = TempDir::new("include-live");
    let out = dir.0.join("out");
    let out_s = out.to_str().unwrap();
    let (code, _, stderr) = command(&[
        "monitoring",
        "--job",
        "shop",
        "--out",
        out_s,
        "--include",
        "/stats.json",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let included = Monitoring::new(Slo::new("shop").include("/stats.json")).unwrap();
    assert!(included.outdated(&out).unwrap().is_empty());
    // The other defaults stay out of the service's objectives; /stats.json is back in.
    let alerts = included.alerting_rules();
    assert!(
        alerts.contains("http_route!~\\\"/metrics|/stats|/stats\\\\\\\\.js|/stats\\\\\\\\.css\\\""),
        "{alerts}"
    );
    let default = Monitoring::new(Slo::new("shop")).unwrap().alerting_rules();
    assert!(
        default.contains("http_route!~\\\"/metrics|/stats|/stats\\\\\\\\.json|/stats\\\\\\\\.js|/stats\\\\\\\\.css\\\""),
        "{default}"
    );
}
