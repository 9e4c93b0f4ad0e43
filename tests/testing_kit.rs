//! The test kit itself: quantile accuracy, readable failures, the load driver's bounds, and
//! snapshots parsed from a real `/metrics` exposition.

mod common;

mod quickstart_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use metrics::{Key, Label, Level, Metadata, Recorder};
use routemeter::testing::{Load, LoadError, Snapshot, TestMeter};
use routemeter::{Naming, NamingScheme};

fn get_req(path: String) -> http::Request<Body> {
    http::Request::get(path).body(Body::empty()).unwrap()
}

#[test]
fn quantiles_are_within_the_documented_bound() {
    let meter = TestMeter::new();
    // Describe and register the way the layer does, then record a known distribution:
    // 1 ms, 2 ms, ..., 10,000 ms.
    let recorder = meter.recorder();
    let naming = Naming::default();
    recorder.describe_histogram(
        naming.duration().to_owned().into(),
        Some(metrics::Unit::Seconds),
        "".into(),
    );
    let key = Key::from_parts(
        naming.duration().to_owned(),
        vec![
            Label::new("http_route", "/synthetic"),
            Label::new("http_request_method", "GET"),
            Label::new("http_response_status_code", "200"),
        ],
    );
    let meta = Metadata::new("test", Level::INFO, None);
    let histogram = recorder.register_histogram(&key, &meta);
    for ms in 1..=10_000u32 {
        histogram.record(f64::from(ms) / 1000.0);
    }
    let stats = meter.snapshot().route("/synthetic");
    stats.assert_count(10_000);
    for q in [0.5, 0.9, 0.95, 0.99, 0.999, 0.25, 0.001] {
        let exact = (q * 10_000.0f64).ceil() / 1000.0;
        let got = stats.quantile(q).as_secs_f64();
        assert!(
            got >= exact * (1.0 - 1e-9) && got <= exact * 1.001,
            "q{q}: got {got}, exact {exact}"
        );
    }
    assert!((stats.mean().as_secs_f64() - 5.0005).abs() < 1e-6);
    assert!(stats.max().as_secs_f64() <= 10.0 * 1.001);
}

#[tokio::test]
async fn sleeping_handlers_land_in_the_right_quantiles() {
    let meter = TestMeter::new();
    let app = Router::new()
        .route(
            "/sleep/{ms}",
            get(
                |axum::extract::Path(ms): axum::extract::Path<u64>| async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                },
            ),
        )
        .layer(meter.layer());
    // 90 % of requests sleep 5 ms, 10 % sleep 80 ms.
    let load = Load::new(|i| get_req(format!("/sleep/{}", if i % 10 == 9 { 80 } else { 5 })))
        .requests(100)
        .concurrency(20);
    let stats = meter.drive(&load, app).await.route("/sleep/{ms}");
    stats.assert_count(100).assert_no_errors();
    // Sleeps never end early; the upper bounds only guard against a wrong bucket.
    assert!(stats.p50() >= Duration::from_millis(5), "{stats}");
    assert!(stats.p50() < Duration::from_millis(80), "{stats}");
    assert!(stats.p95() >= Duration::from_millis(80), "{stats}");
    assert!(stats.min() >= Duration::from_millis(5), "{stats}");
}

#[tokio::test]
async fn failed_assertions_name_the_route_and_show_its_numbers() {
    let meter = TestMeter::new();
    let app = Router::new()
        .route(
            "/slow",
            get(|| async { tokio::time::sleep(Duration::from_millis(20)).await }),
        )
        .layer(meter.layer());
    let load = Load::new(|_| get_req("/slow".into())).requests(5);
    let stats = meter.drive(&load, app).await.route("/slow");
    let message = std::panic::catch_unwind(|| {
        stats.assert_p99_below(Duration::from_millis(10));
    })
    .unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    for needle in ["/slow", "p99", "5 requests", "statuses", "max", "p50"] {
        assert!(
            message.contains(needle),
            "missing {needle:?} in:\n{message}"
        );
    }
    let message = std::panic::catch_unwind(|| {
        stats.assert_count(6);
    })
    .unwrap_err();
    assert!(
        message
            .downcast_ref::<String>()
            .unwrap()
            .contains("expected 6 requests, got 5")
    );
}

fn counting_app(meter: &TestMeter, in_flight: Arc<AtomicUsize>, peak: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route(
            "/work",
            get(move || {
                let (in_flight, peak) = (in_flight.clone(), peak.clone());
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                }
            }),
        )
        .route("/hang", get(std::future::pending::<()>))
        .layer(meter.layer())
}

#[tokio::test]
async fn the_driver_respects_count_concurrency_duration_and_time_limit() {
    let meter = TestMeter::new();
    let (in_flight, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let app = counting_app(&meter, in_flight, peak.clone());

    let report = Load::new(|_| get_req("/work".into()))
        .requests(120)
        .concurrency(7)
        .run(app.clone())
        .await;
    assert_eq!(
        (report.sent, report.completed, report.failed),
        (120, 120, 0),
        "{report}"
    );
    assert_eq!(peak.load(Ordering::SeqCst), 7);
    assert_eq!(report.statuses.get(&200), Some(&120));

    let timed = Load::new(|_| get_req("/work".into()))
        .duration(Duration::from_millis(150))
        .concurrency(4)
        .run(app.clone())
        .await;
    assert!(timed.elapsed >= Duration::from_millis(150), "{timed}");
    assert!(timed.completed > 0 && !timed.timed_out, "{timed}");

    let report = Load::new(|_| get_req("/hang".into()))
        .requests(10)
        .concurrency(3)
        .time_limit(Duration::from_millis(100))
        .run(app.clone())
        .await;
    assert!(report.timed_out, "{report}");
    assert_eq!((report.sent, report.completed), (3, 0), "{report}");
    assert!(report.elapsed < Duration::from_secs(5), "{report}");
    assert!(report.to_string().contains("stopped by the time limit"));

    // Without bounds: the default count.
    let report = Load::new(|_| get_req("/work".into()))
        .concurrency(32)
        .run(app)
        .await;
    assert_eq!(report.completed, routemeter::testing::DEFAULT_REQUESTS);
    // The server side saw exactly what the client completed.
    meter
        .snapshot()
        .route("/work")
        .assert_count(120 + timed.completed + report.completed)
        .assert_no_errors();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parsed_metrics_of_the_running_quickstart_match_what_was_sent() {
    let metrics = routemeter::prometheus::PrometheusSetup::new()
        .build()
        .unwrap();
    let app = quickstart_server::RunningApp::start(&metrics).await;
    let base = app.base();

    let users = Load::new(|i| {
        http::Request::get(format!("/users/{i}"))
            .body(String::new())
            .unwrap()
    })
    .requests(60)
    .concurrency(6)
    .run_url(&base)
    .await
    .unwrap();
    assert_eq!(users.completed, 60, "{users}");
    let errors = Load::new(|_| http::Request::get("/error").body(String::new()).unwrap())
        .requests(4)
        .run_url(&base)
        .await
        .unwrap();
    assert_eq!(errors.statuses.get(&500), Some(&4), "{errors}");

    let client = common::Client::new();
    let (status, text) = client.get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    let snapshot = Snapshot::from_prometheus_text(&text, &Naming::default()).unwrap();
    let route = snapshot.route("/users/{id}");
    route.assert_count(60).assert_no_errors();
    assert_eq!(route.status("200"), 60);
    // The estimate lies inside the bucket range the samples fell into.
    assert!(route.p99() <= Duration::from_millis(10), "{route}");
    let error = snapshot.route("/error");
    error.assert_count(4);
    assert_eq!(error.error_type("500"), 4);
    assert!(route.response_bytes().count() == 60);
    // Parsed snapshots diff like in-memory ones.
    let again = Load::new(|i| {
        http::Request::get(format!("/users/{i}"))
            .body(String::new())
            .unwrap()
    })
    .requests(9)
    .run_url(&base)
    .await
    .unwrap();
    assert_eq!(again.completed, 9);
    let (_, text) = client.get(&format!("{base}/metrics")).await;
    let later = Snapshot::from_prometheus_text(&text, &Naming::default()).unwrap();
    (&later - &snapshot).route("/users/{id}").assert_count(9);

    app.stop().await;
}

#[tokio::test]
async fn urls_off_this_machine_are_refused_before_sending() {
    let load = Load::new(|_| http::Request::get("/").body(String::new()).unwrap()).requests(1);
    for (url, want) in [
        (
            "http://10.1.2.3:8080",
            LoadError::NotLoopback("10.1.2.3".into()),
        ),
        (
            "http://example.com",
            LoadError::NotLoopback("example.com".into()),
        ),
        (
            "https://127.0.0.1:1",
            LoadError::InvalidUrl("https://127.0.0.1:1".into()),
        ),
        ("not a url", LoadError::InvalidUrl("not a url".into())),
    ] {
        assert_eq!(load.run_url(url).await.unwrap_err(), want, "{url}");
    }
    // Loopback in every spelling is accepted (nothing listens on port 1: the request fails).
    for url in ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"] {
        let report = load.run_url(url).await.unwrap();
        assert_eq!((report.sent, report.failed), (1, 1), "{url}: {report}");
    }
}

#[test]
fn the_compat_scheme_parses_too() {
    let text = "# TYPE axum_http_requests_duration_seconds histogram\n\
        axum_http_requests_duration_seconds_bucket{method=\"GET\",endpoint=\"/a\",status=\"200\",le=\"0.1\"} 3\n\
        axum_http_requests_duration_seconds_bucket{method=\"GET\",endpoint=\"/a\",status=\"200\",le=\"+Inf\"} 3\n\
        axum_http_requests_duration_seconds_sum{method=\"GET\",endpoint=\"/a\",status=\"200\"} 0.03\n\
        axum_http_requests_duration_seconds_count{method=\"GET\",endpoint=\"/a\",status=\"200\"} 3\n\
        axum_http_requests_duration_seconds_bucket{method=\"GET\",endpoint=\"/a\",status=\"503\",le=\"0.1\"} 1\n\
        axum_http_requests_duration_seconds_bucket{method=\"GET\",endpoint=\"/a\",status=\"503\",le=\"+Inf\"} 1\n\
        axum_http_requests_duration_seconds_sum{method=\"GET\",endpoint=\"/a\",status=\"503\"} 0.01\n\
        axum_http_requests_duration_seconds_count{method=\"GET\",endpoint=\"/a\",status=\"503\"} 1\n";
    let snapshot =
        Snapshot::from_prometheus_text(text, &Naming::new(NamingScheme::AxumPrometheus)).unwrap();
    let a = snapshot.endpoint("GET", "/a");
    a.assert_count(4);
    assert_eq!(a.errors(), 1);
    assert_eq!(a.error_ratio(), 0.25);
}

#[tokio::test]
async fn stats_narrow_to_method_and_status() {
    let meter = TestMeter::new();
    let app = Router::new()
        .route(
            "/maybe/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    if n % 4 == 0 {
                        axum::http::StatusCode::NOT_FOUND
                    } else {
                        axum::http::StatusCode::OK
                    }
                },
            )
            .post(|| async { "posted" }),
        )
        .layer(meter.layer());
    let load = Load::new(|i| get_req(format!("/maybe/{i}"))).requests(40);
    let snap = meter.drive(&load, app.clone()).await;
    snap.select("/maybe/{n}", Some("GET"), Some("404"))
        .assert_count(10);
    snap.select("/maybe/{n}", None, Some("200"))
        .assert_count(30);
    snap.select("/maybe/{n}", Some("POST"), None)
        .assert_count(0);
    let post =
        Load::new(|_| http::Request::post("/maybe/1").body(Body::empty()).unwrap()).requests(3);
    let snap = meter.drive(&post, app).await;
    snap.select("/maybe/{n}", Some("POST"), Some("200"))
        .assert_count(3);
}
