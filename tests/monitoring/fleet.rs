//! Fleet labels: the recording rules keep `region` (or any fleet label) next to `job` and the
//! route and drop `instance`; alerts name the region; a dead replica is named by its instance;
//! the dashboard narrows by region and instance; bad labels are refused.

use std::path::Path;

use proptest::prelude::*;
use routemeter::monitoring::{Monitoring, Slo, SloError};

use crate::common::{TempDir, require_program};
use crate::{TESTS_HEADER, alert, case, promtool_test, run};

/// One replica's counters on `/a`: `ok` good and `bad` failed requests per minute for `minutes`
/// minutes, all under 250 ms.
fn replica(region: &str, instance: &str, ok: u64, bad: u64, minutes: u64) -> String {
    let base = format!(
        "job=\"quickstart\",region=\"{region}\",instance=\"{instance}\",http_route=\"/a\",http_request_method=\"GET\""
    );
    let mut s = String::new();
    for (labels, per) in [
        (format!("{base},http_response_status_code=\"200\""), ok),
        (
            format!("{base},http_response_status_code=\"500\",error_type=\"500\""),
            bad,
        ),
    ] {
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
            s += &format!(
                "      - series: '{name}{{{labels}{extra}}}'\n        values: '0+{per}x{minutes}'\n"
            );
        }
    }
    s
}

fn region_burn(region: &str, rate: &str, long: &str, short: &str, sev: &str) -> String {
    alert(
        "HTTPRouteErrorBudgetBurn",
        &[
            ("job", "quickstart"),
            ("region", region),
            ("http_route", "/a"),
            ("severity", sev),
            ("slo", "availability"),
            ("slo_scope", "service"),
            ("burn_rate", rate),
            ("long_window", long),
            ("short_window", short),
        ],
    )
}

/// One replica's gRPC calls to `a.B/C`: `ok` OK and `bad` INTERNAL calls per minute for
/// `minutes` minutes.
fn grpc_replica(region: &str, instance: &str, ok: u64, bad: u64, minutes: u64) -> String {
    let base = format!(
        "job=\"quickstart\",region=\"{region}\",instance=\"{instance}\",rpc_system_name=\"grpc\",rpc_method=\"a.B/C\""
    );
    let mut s = String::new();
    for (labels, per) in [
        (format!("{base},rpc_status_code=\"OK\""), ok),
        (
            format!("{base},rpc_status_code=\"INTERNAL\",error_type=\"INTERNAL\""),
            bad,
        ),
    ] {
        s += &format!(
            "      - series: 'rpc_server_call_duration_seconds_count{{{labels}}}'\n        values: '0+{per}x{minutes}'\n"
        );
    }
    s
}

fn region_grpc_burn(region: &str, rate: &str, long: &str, short: &str, sev: &str) -> String {
    alert(
        "GRPCMethodErrorBudgetBurn",
        &[
            ("job", "quickstart"),
            ("region", region),
            ("rpc_method", "a.B/C"),
            ("severity", sev),
            ("slo", "grpc_availability"),
            ("slo_scope", "service"),
            ("burn_rate", rate),
            ("long_window", long),
            ("short_window", short),
        ],
    )
}

/// gRPC methods keep the regions apart as routes do: one failing region's method pages for
/// that region only, its replicas summed, and the alert's summary names the region.
#[test]
fn grpc_regions_are_kept_apart_and_instances_summed() {
    let Some(promtool) = require_program("promtool") else {
        return;
    };
    let monitoring = Monitoring::new(
        Slo::new("quickstart")
            .fleet_label("region")
            .grpc_availability(0.999),
    )
    .unwrap();
    // Two replicas in eu fail 5 % of their calls, two in us none: 10 calls/s per replica.
    let mut series = String::new();
    series += &grpc_replica("eu", "eu-1:80", 570, 30, 90);
    series += &grpc_replica("eu", "eu-2:80", 570, 30, 90);
    series += &grpc_replica("us", "us-1:80", 600, 0, 90);
    series += &grpc_replica("us", "us-2:80", 600, 0, 90);
    let mut tests = String::from(TESTS_HEADER);
    tests += &case(
        &series,
        &[(
            "65m",
            "GRPCMethodErrorBudgetBurn",
            vec![
                region_grpc_burn("eu", "14.4", "1h", "5m", "page"),
                region_grpc_burn("eu", "6", "6h", "30m", "page"),
                region_grpc_burn("eu", "3", "1d", "2h", "ticket"),
            ],
        )],
    );
    tests += "    promql_expr_test:\n";
    for (expr, samples) in [
        ("routemeter:grpc_calls:rate5m", [("eu", "20"), ("us", "20")]),
        (
            "routemeter:grpc_errors:ratio_rate5m",
            [("eu", "0.05"), ("us", "0")],
        ),
    ] {
        tests += &format!("      - expr: '{expr}'\n        eval_time: 30m\n        exp_samples:\n");
        for (region, value) in samples {
            tests += &format!(
                "          - labels: '{expr}{{job=\"quickstart\",region=\"{region}\",rpc_method=\"a.B/C\"}}'\n            value: {value}\n"
            );
        }
    }
    promtool_test(&promtool, "fleet-grpc-test", &monitoring, &tests);
    let alerts = monitoring.alerting_rules();
    assert!(
        alerts.contains(
            "gRPC method {{ $labels.rpc_method }} on {{ $labels.job }} ({{ $labels.region }}) is burning"
        ),
        "{alerts}"
    );
}

#[test]
fn regions_are_kept_apart_and_instances_summed() {
    let Some(promtool) = require_program("promtool") else {
        return;
    };
    let monitoring = Monitoring::new(Slo::new("quickstart").fleet_label("region")).unwrap();
    // Two replicas in eu fail 5 % of their requests, two in us none. 600 requests a minute
    // each: 10/s per replica, 20/s per region.
    let mut series = String::new();
    series += &replica("eu", "eu-1:80", 570, 30, 90);
    series += &replica("eu", "eu-2:80", 570, 30, 90);
    series += &replica("us", "us-1:80", 600, 0, 90);
    series += &replica("us", "us-2:80", 600, 0, 90);
    // A third us replica stops answering after 5 minutes.
    series += "      - series: 'up{job=\"quickstart\",region=\"us\",instance=\"us-1:80\"}'\n        values: '1x90'\n";
    series += "      - series: 'up{job=\"quickstart\",region=\"us\",instance=\"us-3:80\"}'\n        values: '1x5 0x85'\n";
    let mut tests = String::from(TESTS_HEADER);
    tests += &case(
        &series,
        &[
            (
                "65m",
                "HTTPRouteErrorBudgetBurn",
                vec![
                    region_burn("eu", "14.4", "1h", "5m", "page"),
                    region_burn("eu", "6", "6h", "30m", "page"),
                    region_burn("eu", "3", "1d", "2h", "ticket"),
                ],
            ),
            (
                "12m",
                "HTTPServiceDown",
                vec![alert(
                    "HTTPServiceDown",
                    &[
                        ("job", "quickstart"),
                        ("region", "us"),
                        ("instance", "us-3:80"),
                        ("severity", "page"),
                    ],
                )],
            ),
        ],
    );
    // The recording rules: one series per region and route, no instance, the replicas summed.
    tests += "    promql_expr_test:\n";
    for (expr, samples) in [
        (
            "routemeter:http_requests:rate5m",
            vec![("eu", "20"), ("us", "20")],
        ),
        (
            "routemeter:http_errors:ratio_rate5m",
            vec![("eu", "0.05"), ("us", "0")],
        ),
        (
            "count by (region) (routemeter:http_slow:ratio_rate1h)",
            vec![("eu", "1"), ("us", "1")],
        ),
    ] {
        tests += &format!("      - expr: '{expr}'\n        eval_time: 30m\n        exp_samples:\n");
        for (region, value) in samples {
            let labels = if expr.starts_with("count") {
                format!("{{region=\"{region}\"}}")
            } else {
                format!("{expr}{{job=\"quickstart\",region=\"{region}\",http_route=\"/a\"}}")
            };
            tests += &format!("          - labels: '{labels}'\n            value: {value}\n");
        }
    }
    promtool_test(&promtool, "fleet-rules-test", &monitoring, &tests);

    // The same through the command, with two fleet labels: promtool accepts what it writes.
    let dir = TempDir::new("fleet-cli");
    let bin = Path::new(env!("CARGO_BIN_EXE_routemeter"));
    let out = dir.0.join("out");
    let (ok, text) = run(
        bin,
        &[
            "monitoring",
            "--job",
            "shop",
            "--out",
            out.to_str().unwrap(),
            "--fleet-label",
            "region",
            "--fleet-label",
            "cluster",
            "--fleet-label",
            "region",
            "--rps-capacity",
            "100",
        ],
    );
    assert!(ok, "{text}");
    for file in ["recording.rules.yml", "alerts.rules.yml"] {
        let path = out.join(file);
        let (ok, text) = run(
            &promtool,
            &["check", "rules", "--lint-fatal", path.to_str().unwrap()],
        );
        assert!(ok && text.contains("SUCCESS"), "{file}: {text}");
    }
    let recording = std::fs::read_to_string(out.join("recording.rules.yml")).unwrap();
    assert!(
        recording.contains("sum by (job, region, cluster, http_route) (rate(")
            && recording.contains("sum by (job, region, cluster, http_route, le) (rate(")
            && !recording.contains("sum by (job, http_route)")
            && !recording.contains("instance"),
        "{recording}"
    );
    let alerts = std::fs::read_to_string(out.join("alerts.rules.yml")).unwrap();
    assert!(
        alerts.contains("sum by (job, region, cluster) (routemeter:http_requests:rate5m")
            && alerts.contains("on (job, region, cluster, http_route)")
            && alerts.contains("{{ $labels.job }} ({{ $labels.region }}, {{ $labels.cluster }})"),
        "{alerts}"
    );
    let am = std::fs::read_to_string(out.join("alertmanager.yml")).unwrap();
    assert!(
        am.contains("group_by: [alertname, job, region, cluster, http_route, endpoint]"),
        "{am}"
    );
    if let Some(amtool) = require_program("amtool") {
        let path = out.join("alertmanager.yml");
        let (ok, text) = run(&amtool, &["check-config", path.to_str().unwrap()]);
        assert!(ok, "{text}");
    }
}

/// The dashboard's variables, by name, and every query its panels run.
fn dashboard(monitoring: &Monitoring) -> (Vec<serde_json::Value>, Vec<String>) {
    let d: serde_json::Value = serde_json::from_str(&monitoring.dashboard()).unwrap();
    let vars = d["templating"]["list"].as_array().unwrap().clone();
    let exprs = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().clone())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect();
    (vars, exprs)
}

#[test]
fn the_dashboard_narrows_by_fleet_label_and_instance() {
    let (vars, exprs) = dashboard(&Monitoring::new(Slo::new("quickstart")).unwrap());
    let names: Vec<&str> = vars.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["datasource", "job", "instance", "route"]);
    // gRPC panels too.
    let slo = Slo::new("quickstart").grpc_availability(0.999);
    let (_, grpc_exprs) = dashboard(&Monitoring::new(slo).unwrap());
    assert!(grpc_exprs.len() > exprs.len());
    let exprs = grpc_exprs;
    // Every panel over raw series narrows by instance; the recording rules have none to narrow.
    for expr in &exprs {
        assert_eq!(
            expr.contains("instance=~\"$instance\""),
            !expr.starts_with("routemeter:"),
            "{expr}"
        );
    }

    let slo = Slo::new("quickstart")
        .fleet_label("region")
        .fleet_label("cluster")
        .grpc_availability(0.999);
    let (vars, exprs) = dashboard(&Monitoring::new(slo).unwrap());
    let names: Vec<&str> = vars.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "datasource",
            "job",
            "region",
            "cluster",
            "instance",
            "route",
            "rpc_method"
        ]
    );
    assert_eq!(
        vars[6]["definition"],
        "label_values(rpc_server_call_duration_seconds_count{job=~\"$job\",region=~\"$region\",cluster=~\"$cluster\"}, rpc_method)"
    );
    assert!(exprs.iter().any(|e| e.contains("rpc_server_")));
    // Each variable offers the values under the ones before it.
    assert_eq!(
        vars[3]["definition"],
        "label_values(http_server_request_duration_seconds_count{job=~\"$job\",region=~\"$region\"}, cluster)"
    );
    assert_eq!(vars[4]["allValue"], ".*");
    for expr in &exprs {
        assert!(
            expr.contains("region=~\"$region\",cluster=~\"$cluster\""),
            "{expr}"
        );
    }
}

#[test]
fn unusable_fleet_labels_are_refused() {
    for label in [
        "",
        "instance",
        "job",
        "le",
        "http_route",
        "__name__",
        "__x",
        "9x",
        "re-gion",
        "région",
        "a b",
        "severity",
        "slo",
        "burn_rate",
        "latency_threshold_seconds",
        "error_type",
        "http_response_status_code",
        "http_request_method",
        "url_scheme",
        "network_protocol_version",
        "route",
        "datasource",
        "x\"}",
        "{{ .x }}",
        "NaN",
        "nan",
        "Inf",
        "inf",
        "INF",
        "without",
        "WITHOUT",
        "alertname",
        "slo_scope",
        "long_window",
        "short_window",
        "endpoint",
        "status",
        "method",
        "rpc_method",
        "rpc_status_code",
        "rpc_system_name",
    ] {
        let err = Monitoring::new(Slo::new("app").fleet_label(label)).unwrap_err();
        assert!(
            matches!(err, SloError::FleetLabel { .. }),
            "{label:?}: {err}"
        );
        assert!(err.to_string().contains("fleet label"), "{err}");
        // The command says so, with the usage exit status.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_routemeter"))
            .args([
                "monitoring",
                "--job",
                "app",
                "--out",
                "/nonexistent/never-written",
                "--fleet-label",
                label,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{label:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("fleet label"));
    }
    // The axum-prometheus scheme refuses its own labels and the OpenTelemetry scheme's.
    let compat = routemeter::Naming::new(routemeter::NamingScheme::AxumPrometheus);
    for label in [
        "endpoint",
        "status",
        "method",
        "http_route",
        "http_request_method",
        "http_response_status_code",
        "error_type",
        "alertname",
        "rpc_method",
    ] {
        let err =
            Monitoring::new(Slo::new("app").naming(compat.clone()).fleet_label(label)).unwrap_err();
        assert!(
            matches!(err, SloError::FleetLabel { .. }),
            "{label:?}: {err}"
        );
    }
    for label in ["region", "cluster", "_zone", "az2", "namespace"] {
        Monitoring::new(Slo::new("app").fleet_label(label)).unwrap();
    }
}

/// Alertmanager groups by the alert name, the job, the fleet labels, the route of either
/// scheme and, with gRPC, the method: each once, in a configuration amtool accepts, in both
/// schemes, with and without gRPC.
#[test]
fn alertmanager_groups_by_each_label_once() {
    let amtool = require_program("amtool");
    let dir = TempDir::new("fleet-group-by");
    for scheme in [
        routemeter::NamingScheme::OpenTelemetry,
        routemeter::NamingScheme::AxumPrometheus,
    ] {
        for grpc in [false, true] {
            for fleet in [
                &[][..],
                &["region"][..],
                &["region", "cluster", "region"][..],
            ] {
                let mut slo = Slo::new("app").naming(routemeter::Naming::new(scheme));
                if grpc {
                    slo = slo.grpc_availability(0.99);
                }
                for label in fleet {
                    slo = slo.fleet_label(*label);
                }
                let am = Monitoring::new(slo).unwrap().alertmanager();
                let line = am
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("group_by: ["))
                    .and_then(|l| l.strip_suffix(']'))
                    .unwrap_or_else(|| panic!("{am}"));
                let keys: Vec<&str> = line.split(", ").collect();
                let mut expected = vec!["alertname", "job"];
                if !fleet.is_empty() {
                    expected.extend(["region"]);
                }
                if fleet.len() > 1 {
                    expected.extend(["cluster"]);
                }
                expected.extend(["http_route", "endpoint"]);
                if grpc {
                    expected.push("rpc_method");
                }
                assert_eq!(keys, expected, "{scheme:?} {grpc} {fleet:?}");
                if let Some(amtool) = &amtool {
                    let path = dir.0.join("alertmanager.yml");
                    std::fs::write(&path, &am).unwrap();
                    let (ok, text) = run(amtool, &["check-config", path.to_str().unwrap()]);
                    assert!(ok, "{scheme:?} {grpc} {fleet:?}: {text}\n{am}");
                }
            }
        }
    }
}

/// The words PromQL's lexer reads as something else than a label name (keywords, `NaN` and
/// `Inf`, in any case): each one is refused exactly when promtool refuses it in `by (...)`,
/// and any one accepted makes rules (gRPC and forecasts included) that promtool accepts.
#[test]
fn fleet_labels_promql_reads_as_keywords_are_refused_exactly_when_promtool_refuses_them() {
    let Some(promtool) = require_program("promtool") else {
        return;
    };
    let words = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
        "and",
        "or",
        "unless",
        "atan2",
        "start",
        "end",
        "sum",
        "avg",
        "count",
        "min",
        "max",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "limitk",
        "limit_ratio",
        "nan",
        "inf",
        "infinity",
        "nanx",
        "inf_",
        "e1",
        "x",
    ];
    let dir = TempDir::new("fleet-keywords");
    for word in words {
        let upper = word.to_ascii_uppercase();
        let mut capital = word.to_owned();
        capital[..1].make_ascii_uppercase();
        for label in [word.to_owned(), upper, capital] {
            let tiny = dir.0.join("tiny.yml");
            std::fs::write(
                &tiny,
                format!("groups:\n  - name: g\n    rules:\n      - record: x:y\n        expr: sum by ({label}) (up)\n"),
            )
            .unwrap();
            let (promtool_ok, text) = run(&promtool, &["check", "rules", tiny.to_str().unwrap()]);
            let slo = Slo::new("app")
                .fleet_label(label.clone())
                .grpc_availability(0.99)
                .rps_capacity(100.0);
            match Monitoring::new(slo) {
                Ok(monitoring) => {
                    assert!(
                        promtool_ok,
                        "{label:?} accepted, promtool refuses it:\n{text}"
                    );
                    monitoring.write(&dir.0).unwrap();
                    let (ok, text) = run(
                        &promtool,
                        &[
                            "check",
                            "rules",
                            "--lint-fatal",
                            dir.0.join("recording.rules.yml").to_str().unwrap(),
                            dir.0.join("alerts.rules.yml").to_str().unwrap(),
                        ],
                    );
                    assert!(ok, "{label:?}:\n{text}");
                }
                Err(e) => {
                    assert!(!promtool_ok, "{label:?} refused ({e}), promtool takes it");
                    assert!(matches!(e, SloError::FleetLabel { .. }), "{e}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any text as a fleet label is refused or is a plain label name, never written raw.
    #[test]
    fn any_fleet_label_is_refused_or_a_label_name(label in any::<String>()) {
        let plain = label.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        match Monitoring::new(Slo::new("app").fleet_label(label.clone())) {
            Ok(m) => {
                prop_assert!(plain && !label.starts_with("__"), "{:?}", label);
                let kept = format!("job, {label}, http_route");
                prop_assert!(m.recording_rules().contains(&kept), "{:?}", label);
            }
            Err(e) => prop_assert!(matches!(e, SloError::FleetLabel { .. }), "{}", e),
        }
    }
}

/// One replica down pages for itself, and the burn-rate page of the service, from the replicas
/// still serving, is delivered too: a real Alertmanager with the generated routing inhibits
/// neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_down_does_not_silence_the_fleets_pages() {
    let dir = TempDir::new("fleet-am");
    let monitoring = Monitoring::new(Slo::new("quickstart")).unwrap();
    let config = dir.0.join("alertmanager.yml");
    // The routing and inhibition of the production file, delivering to a port nobody serves.
    let hook = format!("http://127.0.0.1:{}/slack", crate::common::free_port());
    std::fs::write(&config, monitoring.alertmanager_for_webhook(&hook)).unwrap();
    let Some((_am, addr)) = crate::common::prom::start_alertmanager(&config, &dir.0) else {
        return;
    };
    let client = crate::common::Client::new();
    let alerts = serde_json::json!([
        { "labels": { "alertname": "HTTPServiceDown", "job": "quickstart",
                      "instance": "10.0.1.13:9464", "severity": "page" } },
        { "labels": { "alertname": "HTTPRouteErrorBudgetBurn", "job": "quickstart",
                      "http_route": "/pay", "severity": "page", "slo": "availability",
                      "slo_scope": "service", "burn_rate": "14.4", "long_window": "1h",
                      "short_window": "5m" } },
    ]);
    let url = format!("http://{addr}/api/v2/alerts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut posted = false;
    let mut states = Vec::new();
    while std::time::Instant::now() < deadline {
        if !posted {
            if client.try_get(&format!("http://{addr}/-/ready")).await == Some(200) {
                let post = http::Request::post(&url)
                    .header("content-type", "application/json")
                    .body(http_body_util::Full::new(bytes::Bytes::from(
                        alerts.to_string(),
                    )))
                    .unwrap();
                let (status, _) = client.send(post).await;
                assert_eq!(status, 200, "Alertmanager takes the alerts");
                posted = true;
            }
        } else {
            let (_, body) = client.get(&url).await;
            let list: serde_json::Value = serde_json::from_str(&body).unwrap();
            states = list
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a["labels"]["alertname"].as_str().unwrap().to_owned(),
                        a["status"]["state"].as_str().unwrap().to_owned(),
                        a["status"]["inhibitedBy"].as_array().unwrap().len(),
                    )
                })
                .collect();
            states.sort();
            if states.len() == 2 && states.iter().all(|(_, s, _)| s != "unprocessed") {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        states,
        [
            (
                "HTTPRouteErrorBudgetBurn".to_owned(),
                "active".to_owned(),
                0
            ),
            ("HTTPServiceDown".to_owned(), "active".to_owned(), 0),
        ]
    );
}
