//! End to end: the quickstart app under traffic, a real Prometheus loaded with the generated
//! rules (test profile: windows of seconds), a real Alertmanager with the generated routing,
//! and a Slack-format webhook receiver on loopback. Traffic to `/error` must page, with the
//! route in the message; clients hanging up on `/slow` must not. On the way, every PromQL expression of the dashboard and of the
//! production rules is evaluated by that Prometheus. Latency thresholds select their bucket
//! whether Prometheus stored its `le` from a text scrape (`1`, `1e-6`) or a protobuf one (`1.0`,
//! `1e-06`).
//!
//! Needs Debian's `prometheus` and `prometheus-alertmanager` packages: fails under `CI=true`
//! without them, skips with a message elsewhere.

use crate::common;

use crate::quickstart_server;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use common::prom;
use common::{Client, TempDir, require_program};
use routemeter::monitoring::{Monitoring, Profile, Slo};

/// Every `"expr"` string in a JSON document.
fn exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                    _ => exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

/// Every `expr:` of a generated rules file (each is one JSON-quoted string).
fn rule_exprs(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter_map(|l| l.trim().strip_prefix("expr: "))
        .map(|q| serde_json::from_str::<String>(q).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_traffic_pages_through_prometheus_and_alertmanager() {
    if require_program("prometheus-alertmanager").is_none()
        || require_program("prometheus").is_none()
    {
        return;
    }

    // A Slack-format webhook receiver.
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let receiver = Router::new().route(
        "/slack",
        post({
            let received = received.clone();
            move |body: String| async move {
                received.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/slack", hook.local_addr().unwrap());
    let hook_server = tokio::spawn(async move { axum::serve(hook, receiver).await });

    // The app.
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .build()
        .unwrap();
    let app = quickstart_server::RunningApp::start(&metrics).await;
    let app_addr = app.addr;

    // The generated files, test profile.
    let dir = TempDir::new("e2e");
    let monitoring = Monitoring::new(Slo::new("quickstart").profile(Profile::Test)).unwrap();
    let recording = dir.0.join("recording.rules.yml");
    let alerts = dir.0.join("alerts.rules.yml");
    let am_config = dir.0.join("alertmanager.yml");
    std::fs::write(&recording, monitoring.recording_rules()).unwrap();
    std::fs::write(&alerts, monitoring.alerting_rules()).unwrap();
    std::fs::write(&am_config, monitoring.alertmanager_for_webhook(&hook_url)).unwrap();

    // Alertmanager, clustering off, on loopback.
    let Some((_alertmanager, am_addr)) = prom::start_alertmanager(&am_config, &dir.0) else {
        return;
    };

    // Prometheus with the rules, alerting to that Alertmanager.
    let extra = format!(
        "rule_files:\n  - {}\n  - {}\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{am_addr}']\n",
        recording.display(),
        alerts.display()
    );
    let prometheus = prom::start(&[("quickstart", app_addr.to_string())], &extra).unwrap();

    // Traffic: successes and failures until the test ends (bounded by its deadline).
    let running = Arc::new(AtomicBool::new(true));
    let traffic = tokio::spawn({
        let running = running.clone();
        async move {
            let client = Client::new();
            let base = format!("http://{app_addr}");
            let mut i = 0u64;
            while running.load(Ordering::Relaxed) && i < 5_000 {
                client.get(&format!("{base}/users/{i}")).await;
                client.get(&format!("{base}/error")).await;
                if i % 20 == 0 {
                    client.get(&format!("{base}/slow")).await;
                }
                // A client that gives up on /slow (100-300 ms) after 20 ms: a hang-up.
                if i % 4 == 0 {
                    let _ = tokio::time::timeout(
                        Duration::from_millis(20),
                        client.get(&format!("{base}/slow")),
                    )
                    .await;
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        }
    });

    let client = Client::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    // Wait until the recording rules have data.
    let rate = prometheus
        .wait_for(
            &client,
            "sum(routemeter:http_requests:rate1h{job=\"quickstart\"})",
            Duration::from_secs(60),
            |v| v > 0.0,
        )
        .await;
    assert!(
        rate.is_some_and(|v| v > 0.0),
        "no recorded rate; log:\n{}",
        prometheus.log()
    );

    // Every dashboard expression evaluates, and shows data.
    let dashboard: serde_json::Value = serde_json::from_str(&monitoring.dashboard()).unwrap();
    let mut panel_exprs = Vec::new();
    exprs(&dashboard["panels"], &mut panel_exprs);
    assert!(panel_exprs.len() >= 15, "{panel_exprs:?}");
    for e in &panel_exprs {
        let promql = e
            .replace("$job", "quickstart")
            .replace("$route", ".*")
            .replace("$instance", ".*")
            .replace("$__rate_interval", "10s");
        let result = prometheus.query(&client, &promql).await;
        assert!(
            result.as_array().is_some_and(|a| !a.is_empty()),
            "dashboard query returned no data: {promql}"
        );
    }
    // Every rule expression, production and test profile, evaluates without error; the
    // per-route request rates have data.
    let production = Monitoring::new(Slo::new("quickstart")).unwrap();
    for rules in [
        production.recording_rules(),
        production.alerting_rules(),
        monitoring.recording_rules(),
        monitoring.alerting_rules(),
    ] {
        for e in rule_exprs(&rules) {
            let result = prometheus.query(&client, &e).await;
            if e.starts_with("sum by (job, http_route) (rate(") && !e.contains('/') {
                assert!(
                    result.as_array().is_some_and(|a| !a.is_empty()),
                    "no data: {e}"
                );
            }
        }
    }

    // The production guide's PromQL evaluates too.
    let guide = prom::promql_blocks(include_str!("../../docs/production.md"));
    assert!(guide.len() >= 4, "{guide:?}");
    for e in &guide {
        prometheus.query(&client, e).await;
    }

    // The page reaches the Slack receiver's page channel, naming the route (tickets for the
    // slower burn rates go to the ticket channel).
    let page = loop {
        let found = received
            .lock()
            .unwrap()
            .iter()
            .find(|b| {
                b.contains("\"#alerts-page\"")
                    && b.contains("HTTPRouteErrorBudgetBurn")
                    && b.contains("/error")
            })
            .cloned();
        if let Some(body) = found {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "no page arrived; received {:?}\nprometheus log:\n{}\nalertmanager log:\n{}",
            received.lock().unwrap(),
            prometheus.log(),
            std::fs::read_to_string(dir.0.join("alertmanager.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let payload: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(payload["channel"], "#alerts-page", "{payload}");
    let attachment = &payload["attachments"][0];
    let title = attachment["title"].as_str().unwrap();
    let text = attachment["text"].as_str().unwrap();
    assert!(
        title.contains("FIRING") && title.contains("HTTPRouteErrorBudgetBurn"),
        "{title}"
    );
    assert!(
        text.contains("/error on quickstart is burning its availability error budget"),
        "{text}"
    );
    assert!(text.contains("*page*"), "{text}");
    // Hang-ups on /slow were recorded, and do not page: the availability objective counts
    // the server's own failures only.
    let hang_ups = prometheus
        .wait_for(
            &client,
            "max(routemeter:http_cancelled:ratio_rate1h{job=\"quickstart\",http_route=\"/slow\"})",
            Duration::from_secs(20),
            |v| v > 0.0,
        )
        .await;
    assert!(
        hang_ups.is_some_and(|v| v > 0.0),
        "no hang-ups recorded for /slow"
    );
    let slow_alerts = prometheus
        .query(
            &client,
            "ALERTS{alertname=\"HTTPRouteErrorBudgetBurn\",http_route=\"/slow\"}",
        )
        .await;
    assert_eq!(
        slow_alerts.as_array().map(Vec::len),
        Some(0),
        "{slow_alerts}"
    );

    // Successful routes do not page.
    assert!(
        received
            .lock()
            .unwrap()
            .iter()
            .all(|b| !b.contains("/users/{id} on")),
        "{:?}",
        received.lock().unwrap()
    );

    running.store(false, Ordering::Relaxed);
    traffic.await.unwrap();
    app.stop().await;
    hook_server.abort();
}

/// A whole-second threshold and a 1 µs one select their buckets in a real Prometheus (2.42)
/// through both a text scrape (the `le` label stored as routemeter writes it: `1`, `1e-6`) and a
/// protobuf scrape (stored in Go's OpenMetrics form: `1.0`, `1e-06`). The app serves the same
/// metrics at two addresses: one answers in the format Prometheus asks for (protobuf, with
/// native histograms on), the other always in text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_ratios_are_recorded_from_text_and_protobuf_scrapes() {
    use axum::routing::get;
    const BUCKETS: [f64; 4] = [1e-6, 0.25, 1.0, 2.5];
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .duration_buckets(&BUCKETS)
        .unwrap()
        .build()
        .unwrap();
    let serve = |text_only: bool| {
        let exposition = if text_only {
            let metrics = metrics.clone();
            get(move || {
                let metrics = metrics.clone();
                async move { metrics.response() }
            })
        } else {
            metrics.endpoint()
        };
        let app = Router::new()
            .route("/a", get(|| async { "a" }))
            .route("/tiny", get(|| async { "tiny" }))
            .route("/metrics", exposition)
            .layer(metrics.layer());
        common::serve_on_loopback(app)
    };
    let (proto_addr, proto_server) = serve(false);
    let (text_addr, text_server) = serve(true);

    let dir = TempDir::new("le-forms");
    let mut rule_files = String::from("rule_files:\n");
    for job in ["text", "proto"] {
        let slo = Slo::new(job)
            .profile(Profile::Test)
            .buckets(&BUCKETS)
            .latency(1.0, 0.99)
            .route(routemeter::monitoring::RouteSlo::new("/tiny").latency(1e-6, 0.9));
        let path = dir.0.join(format!("{job}.rules.yml"));
        std::fs::write(&path, Monitoring::new(slo).unwrap().recording_rules()).unwrap();
        rule_files.push_str(&format!("  - {}\n", path.display()));
    }
    let Some(prometheus) = prom::start_with_flags(
        &[
            ("text", text_addr.to_string()),
            ("proto", proto_addr.to_string()),
        ],
        &rule_files,
        &["--enable-feature=native-histograms"],
    ) else {
        proto_server.abort();
        text_server.abort();
        return;
    };

    // Traffic on both routes until the test ends (bounded).
    let running = Arc::new(AtomicBool::new(true));
    let traffic = tokio::spawn({
        let running = running.clone();
        async move {
            let client = Client::new();
            for _ in 0..1_000 {
                if !running.load(Ordering::Relaxed) {
                    break;
                }
                for route in ["/a", "/tiny"] {
                    client.get(&format!("http://{proto_addr}{route}")).await;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });

    let client = Client::new();
    let deadline = Instant::now() + Duration::from_secs(45);
    let remaining = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(2))
    };
    // What each scrape stored: the text as written, the protobuf bounds in Go's form.
    for (job, le) in [
        ("text", "1"),
        ("text", "1e-6"),
        ("proto", "1.0"),
        ("proto", "1e-06"),
    ] {
        let stored = format!(
            "count(http_server_request_duration_seconds_bucket{{job=\"{job}\",le=\"{le}\"}})"
        );
        let count = prometheus
            .wait_for(&client, &stored, remaining(), |v| v > 0.0)
            .await;
        assert!(
            count.is_some_and(|v| v > 0.0),
            "{stored}: {count:?}; log:\n{}",
            prometheus.log()
        );
    }
    // Both slow ratios have samples (no sample at all is what a selector missing its bucket gives).
    for job in ["text", "proto"] {
        for (route, threshold) in [("/a", "1"), ("/tiny", "1e-6")] {
            let ratio = format!(
                "routemeter:http_slow:ratio_rate5m{{job=\"{job}\",http_route=\"{route}\",latency_threshold_seconds=\"{threshold}\"}}"
            );
            let value = prometheus
                .wait_for(&client, &ratio, remaining(), f64::is_finite)
                .await;
            assert!(
                value.is_some_and(|v| (0.0..=1.0).contains(&v)),
                "no sample of {ratio}: {value:?}; stored buckets: {}",
                prometheus
                    .query(
                        &client,
                        &format!(
                            "http_server_request_duration_seconds_bucket{{job=\"{job}\",http_route=\"{route}\"}}"
                        )
                    )
                    .await
            );
        }
    }

    running.store(false, Ordering::Relaxed);
    traffic.await.unwrap();
    proto_server.abort();
    text_server.abort();
}
