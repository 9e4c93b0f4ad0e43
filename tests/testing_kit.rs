//! The test kit itself: quantile accuracy, readable and strict failures, the load driver's
//! bounds, deterministic time, and snapshots parsed from a real `/metrics` exposition (with a
//! property test over mutated expositions).

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
use tower::ServiceExt as _;

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

/// `/a` behind a layer from `builder` that labels requests with `tenant.id` (the `x-tenant`
/// header).
fn tenant_app(builder: routemeter::RouteMeterBuilder) -> Router {
    let layer = builder
        .request_label("tenant.id", 5, common::tenant)
        .unwrap()
        .build();
    Router::new()
        .route("/a", get(|| async { "a" }))
        .layer(layer)
}

/// Selecting by a request label: its dotted name matches either way it is written, and a
/// miss names the values the label has on that route.
#[tokio::test]
async fn selecting_by_a_request_label_names_its_values_on_a_miss() {
    let meter = TestMeter::new();
    let app = tenant_app(meter.layer_builder());
    let load = Load::new(|i| {
        http::Request::get("/a")
            .header("x-tenant", if i % 2 == 0 { "acme" } else { "bolt" })
            .body(Body::empty())
            .unwrap()
    })
    .requests(4);
    let snapshot = meter.drive(&load, app).await;
    assert_eq!(snapshot.select_by("/a", "tenant.id", "acme").count(), 2);
    assert_eq!(snapshot.select_by("/a", "tenant.id", "bolt").count(), 2);
    // A Prometheus exposition writes the dotted name with an underscore: found all the same.
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .build()
        .unwrap();
    let app = tenant_app(metrics.layer_builder());
    for tenant in ["acme", "acme", "bolt"] {
        let req = http::Request::get("/a")
            .header("x-tenant", tenant)
            .body(Body::empty());
        let resp = tower::ServiceExt::oneshot(app.clone(), req.unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let text = metrics.render();
    assert!(text.contains("tenant_id=\"acme\""), "{text}");
    let parsed = Snapshot::from_prometheus_text(&text, metrics.naming()).unwrap();
    assert_eq!(parsed.select_by("/a", "tenant.id", "acme").count(), 2);
    let miss = snapshot.select_by("/a", "tenant.id", "acmee").to_string();
    assert!(miss.contains("its values there: `acme`, `bolt`"), "{miss}");
    let miss = snapshot.select_by("/a", "tenants", "acme").to_string();
    assert!(miss.contains("none with a label `tenants`"), "{miss}");
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
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
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
    assert_eq!(route.status(200), 60);
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
    snap.select("/maybe/{n}", Some("GET"), Some(404))
        .assert_count(10);
    snap.select("/maybe/{n}", None, Some(200)).assert_count(30);
    snap.select("/maybe/{n}", Some("POST"), None)
        .assert_count(0);
    let post =
        Load::new(|_| http::Request::post("/maybe/1").body(Body::empty()).unwrap()).requests(3);
    let snap = meter.drive(&post, app).await;
    snap.select("/maybe/{n}", Some("POST"), Some(200))
        .assert_count(3);
}

/// The message of a panic in `f`.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .expect_err("the assertion should have failed");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

fn users_app(meter: &TestMeter) -> Router {
    Router::new()
        .route("/api/v1/users/{id}", get(|| async { "user" }))
        .route("/api/v1/orders", get(|| async { "orders" }))
        .route("/health", get(|| async { "ok" }))
        .layer(meter.layer())
}

#[tokio::test]
async fn assertions_on_a_route_without_requests_fail_and_point_at_the_nearest_route() {
    let meter = TestMeter::new();
    let app = users_app(&meter);
    let load = Load::new(|i| get_req(format!("/api/v1/users/{i}"))).requests(5);
    let snapshot = meter.drive(&load, app.clone()).await;
    Load::new(|_| get_req("/health".into()))
        .requests(1)
        .run(app)
        .await;

    // The typo: `user` for `users`.
    let typo = snapshot.route("/api/v1/user/{id}");
    typo.assert_count(0);
    type Check = Box<dyn Fn(&routemeter::testing::RouteStats)>;
    let checks: [(&str, Check); 6] = [
        (
            "no errors",
            Box::new(|s| {
                s.assert_no_errors();
            }),
        ),
        (
            "p99",
            Box::new(|s| {
                s.assert_p99_below(Duration::from_millis(1));
            }),
        ),
        (
            "p99 at most",
            Box::new(|s| {
                s.assert_p99_at_most(Duration::from_secs(60));
            }),
        ),
        (
            "ratio",
            Box::new(|s| {
                s.assert_error_ratio_at_most(0.0);
            }),
        ),
        (
            "ratio below",
            Box::new(|s| {
                s.assert_error_ratio_below(1.0);
            }),
        ),
        (
            "count",
            Box::new(|s| {
                s.assert_count(3);
            }),
        ),
    ];
    for (what, check) in checks {
        let message = panic_message(|| check(&typo));
        for needle in [
            "/api/v1/user/{id}",
            "routes with requests: `/api/v1/users/{id}`",
            "nearest by name: `/api/v1/users/{id}`",
        ] {
            assert!(
                message.contains(needle),
                "{what}: no {needle:?} in:\n{message}"
            );
        }
    }
    let message = panic_message(|| {
        typo.assert_no_errors();
    });
    assert!(message.contains("no requests recorded"), "{message}");
    // The route exists but nothing matches the method: said so.
    let message = panic_message(|| {
        {
            snapshot
                .endpoint("POST", "/api/v1/users/{id}")
                .assert_no_errors();
        };
    });
    assert!(
        message.contains("route `/api/v1/users/{id}` has requests, but none that match"),
        "{message}"
    );
    // A meter with nothing at all says that too.
    let message = panic_message(|| {
        TestMeter::new().snapshot().total().assert_no_errors();
    });
    assert!(
        message.contains("no route has recorded requests"),
        "{message}"
    );
}

#[tokio::test]
async fn a_difference_lists_only_what_happened_in_it() {
    let meter = TestMeter::new();
    let app = users_app(&meter);
    Load::new(|_| get_req("/health".into()))
        .requests(3)
        .run(app.clone())
        .await;
    Load::new(|_| get_req("/nowhere".into()))
        .requests(2)
        .run(app.clone())
        .await;
    let load = Load::new(|i| get_req(format!("/api/v1/users/{i}"))).requests(4);
    let phase = meter.drive(&load, app).await;
    assert_eq!(phase.routes(), ["/api/v1/users/{id}"]);
    let total = phase.total();
    total.assert_count(4).assert_no_errors();
    assert_eq!(total.statuses().len(), 1, "{total}");
    assert_eq!(total.status(200), 4);
    assert!(!total.to_string().contains("× 0"), "{total}");
    assert!(!total.statuses().values().any(|n| *n == 0), "{total}");
}

#[tokio::test]
async fn dropped_bodies_are_named_as_the_cause() {
    let meter = TestMeter::new();
    let app = users_app(&meter);
    for i in 0..3 {
        // The usual mistake: read the status, drop the body.
        let resp = app
            .clone()
            .oneshot(get_req(format!("/api/v1/users/{i}")))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let stats = meter.snapshot().route("/api/v1/users/{id}");
    assert_eq!(stats.error_type("cancelled"), 3, "{stats}");
    let message = panic_message(|| {
        stats.assert_no_errors();
    });
    assert!(
        message.contains("responses dropped unread: read the body"),
        "{message}"
    );

    // Reading the body with the helper records them as complete.
    let meter = TestMeter::new();
    let app = users_app(&meter);
    let (head, body) = routemeter::testing::send(app, get_req("/api/v1/users/1".into()))
        .await
        .unwrap();
    assert_eq!((head.status.as_u16(), &body[..]), (200, &b"user"[..]));
    meter
        .snapshot()
        .route("/api/v1/users/{id}")
        .assert_count(1)
        .assert_no_errors();
}

#[tokio::test(start_paused = true)]
async fn the_tokio_clock_times_the_response_head_too() {
    let meter = TestMeter::new();
    let app = Router::new()
        .route(
            "/stream",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(30)).await;
                // The head is ready after 30 ms, the body ends 40 ms later.
                Body::from_stream(futures_util::stream::once(async {
                    tokio::time::sleep(Duration::from_millis(40)).await;
                    Ok::<_, std::convert::Infallible>(bytes::Bytes::from_static(b"done"))
                }))
            }),
        )
        .layer(meter.layer_builder().time_to_head(true).build());
    routemeter::testing::send(app, get_req("/stream".into()))
        .await
        .unwrap();
    let snapshot = meter.snapshot();
    let head = snapshot
        .series()
        .iter()
        .find(|s| s.name() == Naming::default().time_to_head())
        .expect("a time-to-head series");
    let routemeter::testing::SeriesValue::Histogram(head) = head.value() else {
        panic!("time to head is a histogram");
    };
    assert_eq!((head.count(), head.max()), (1, 0.03));
    assert_eq!(snapshot.route("/stream").max(), Duration::from_millis(70));
}

#[tokio::test(start_paused = true)]
async fn the_tokio_clock_makes_latency_exact() {
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
    let load = Load::new(|i| get_req(format!("/sleep/{}", if i % 10 == 9 { 120 } else { 50 })))
        .requests(100)
        .concurrency(10);
    let phase = meter.drive(&load, app).await;
    let stats = phase.route("/sleep/{ms}");
    stats.assert_count(100).assert_no_errors();
    // The window, and so the rate, is in the same virtual time: the same on every run.
    assert_eq!(phase.window(), Duration::from_millis(660), "{stats}");
    assert_eq!(stats.min(), Duration::from_millis(50), "{stats}");
    assert_eq!(stats.p50(), Duration::from_millis(50), "{stats}");
    assert_eq!(stats.p99(), Duration::from_millis(120), "{stats}");
    assert_eq!(stats.max(), Duration::from_millis(120), "{stats}");
    assert_eq!(stats.mean(), Duration::from_millis(57), "{stats}");
    stats.assert_p99_at_most(Duration::from_millis(120));
    stats.assert_quantile_at_most(0.5, Duration::from_millis(50));
    let message = panic_message(|| {
        stats.assert_p99_below(Duration::from_millis(120));
    });
    assert!(
        message.contains("p99 = 120ms is not below 120ms"),
        "{message}"
    );
}

#[test]
fn parsed_summaries_agree_with_count_and_sum() {
    // Ten requests of 0 bytes, counted in the first bucket (up to 64 bytes); one request of
    // 34 µs counted in the 5 ms bucket.
    let text = "# TYPE http_server_request_duration_seconds histogram\n\
        http_server_request_duration_seconds_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",le=\"0.005\"} 1\n\
        http_server_request_duration_seconds_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",le=\"+Inf\"} 1\n\
        http_server_request_duration_seconds_sum{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\"} 0.000034\n\
        http_server_request_duration_seconds_count{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\"} 1\n\
        # TYPE http_server_request_body_size_bytes histogram\n\
        http_server_request_body_size_bytes_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",le=\"64\"} 10\n\
        http_server_request_body_size_bytes_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",le=\"256\"} 10\n\
        http_server_request_body_size_bytes_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",le=\"+Inf\"} 10\n\
        http_server_request_body_size_bytes_sum{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\"} 0\n\
        http_server_request_body_size_bytes_count{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\"} 10\n";
    let naming = Naming::default();
    assert_eq!(
        naming.request_size(),
        Some("http_server_request_body_size_bytes")
    );
    let snapshot = Snapshot::from_prometheus_text(text, &naming).unwrap();
    let a = snapshot.route("/a");
    assert_eq!(a.max(), a.mean(), "{a}");
    assert_eq!(a.max(), Duration::from_micros(34), "{a}");
    let bytes = a.request_bytes();
    assert_eq!(
        (bytes.min(), bytes.quantile(0.5), bytes.max()),
        (0.0, 0.0, 0.0)
    );
    let text = a.to_string();
    assert!(
        text.contains("request bytes (from buckets: ranges that hold): min 0 p50 0 p90 0 p95 0 p99 0 p99.9 0 max 0 mean 0 total 0 over 10"),
        "{text}"
    );
    assert!(text.contains("duration (from buckets"), "{text}");

    // A quantile known only within its bucket passes a bound only when the whole bucket is
    // below it.
    let text = "# TYPE http_server_request_duration_seconds histogram\n\
        http_server_request_duration_seconds_bucket{http_route=\"/b\",le=\"0.005\"} 0\n\
        http_server_request_duration_seconds_bucket{http_route=\"/b\",le=\"0.01\"} 100\n\
        http_server_request_duration_seconds_bucket{http_route=\"/b\",le=\"+Inf\"} 100\n\
        http_server_request_duration_seconds_sum{http_route=\"/b\"} 0.501\n";
    let b = Snapshot::from_prometheus_text(text, &naming)
        .unwrap()
        .route("/b");
    assert_eq!(
        b.quantile_range(0.99),
        Duration::from_millis(5)..=Duration::from_millis(10)
    );
    b.assert_p99_at_most(Duration::from_millis(10));
    let message = panic_message(|| {
        b.assert_p99_below(Duration::from_millis(8));
    });
    assert!(
        message.contains(
            "p99 lies between 5ms and 10ms (from buckets), so it is not certainly below 8ms"
        ),
        "{message}"
    );
}

#[test]
fn hostile_expositions_are_errors_not_panics() {
    let type_line = "# TYPE http_server_request_duration_seconds histogram\n";
    let inf_bucket =
        "http_server_request_duration_seconds_bucket{http_route=\"/a\",le=\"+Inf\"} 1e19\n";
    // The same +Inf bucket twice is a duplicate series, as for Prometheus.
    let err = Snapshot::from_prometheus_text(
        &format!("{type_line}{inf_bucket}{inf_bucket}"),
        &Naming::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
    // Two series of 1e19 requests each on one route: the sums saturate.
    let two = format!(
        "{type_line}{inf_bucket}http_server_request_duration_seconds_bucket{{http_route=\"/a\",http_response_status_code=\"500\",le=\"+Inf\"}} 1e19\n"
    );
    let snapshot = Snapshot::from_prometheus_text(&two, &Naming::default()).unwrap();
    let a = snapshot.route("/a");
    assert_eq!(a.count(), u64::MAX);
    let _ = (
        a.to_string(),
        snapshot.total().to_string(),
        &snapshot - &snapshot,
    );

    let err =
        Snapshot::from_prometheus_text("x{a=\"1\",a=\"2\"} 1", &Naming::default()).unwrap_err();
    assert!(err.to_string().contains("label `a` appears twice"), "{err}");

    // A long bad line is quoted in part.
    let long = format!("x{{a=\"1\"}} {}", "9".repeat(1 << 20) + "x");
    let err = Snapshot::from_prometheus_text(&long, &Naming::default()).unwrap_err();
    assert!(
        err.to_string().len() < 400,
        "{} bytes",
        err.to_string().len()
    );
    assert!(err.to_string().contains("bytes)"), "{err}");
}

#[test]
fn a_difference_of_50_000_series_takes_linear_time() {
    // An exposition the size of a large real scrape, then the same with every count doubled.
    let exposition = |factor: u64| {
        let mut text = String::from("# TYPE http_server_request_duration_seconds histogram\n");
        for route in 0..10_000 {
            for status in ["200", "404", "500"] {
                let labels = format!(
                    "http_route=\"/r{route}\",http_request_method=\"GET\",http_response_status_code=\"{status}\""
                );
                for (le, n) in [("0.1", 1), ("+Inf", 2)] {
                    text.push_str(&format!(
                        "http_server_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}\n",
                        n * factor
                    ));
                }
                text.push_str(&format!(
                    "http_server_request_duration_seconds_sum{{{labels}}} {factor}\n"
                ));
            }
            for name in ["a_total", "b_total"] {
                text.push_str(&format!("{name}{{route=\"/r{route}\"}} {factor}\n"));
            }
        }
        Snapshot::from_prometheus_text(&text, &Naming::default()).unwrap()
    };
    let (before, after) = (exposition(1), exposition(2));
    assert_eq!(after.series_count(), 50_000);
    let started = std::time::Instant::now();
    let diff = &after - &before;
    let took = started.elapsed();
    assert_eq!(diff.total().count(), 60_000);
    assert_eq!(diff.routes().len(), 10_000);
    // A linear difference takes tens of milliseconds here even unoptimised; a scan per series
    // takes minutes. The bound leaves room for a slow, shared machine.
    assert!(took < Duration::from_secs(3), "50,000 series took {took:?}");
    println!("difference of 50,000 series: {took:?}");
}

fn endless_app() -> Router {
    static CHUNK: [u8; 64 * 1024] = [7; 64 * 1024];
    Router::new()
        .route(
            "/endless",
            get(|| async {
                Body::from_stream(futures_util::stream::repeat_with(|| {
                    Ok::<_, std::convert::Infallible>(bytes::Bytes::from_static(&CHUNK))
                }))
            }),
        )
        .route(
            "/huge",
            get(|| async {
                // 1 TiB, always ready.
                Body::from_stream(futures_util::stream::iter((0..1u64 << 24).map(|_| {
                    Ok::<_, std::convert::Infallible>(bytes::Bytes::from_static(&CHUNK))
                })))
            }),
        )
        .route(
            "/big",
            get(|| async {
                // 1.5 GiB, always ready.
                Body::from_stream(futures_util::stream::iter((0..24_576).map(|_| {
                    Ok::<_, std::convert::Infallible>(bytes::Bytes::from_static(&CHUNK))
                })))
            }),
        )
}

/// Resident memory of this process, in bytes (Linux).
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[tokio::test]
async fn the_time_limit_holds_for_bodies_that_never_wait() {
    let app = endless_app();
    for path in ["/huge", "/endless"] {
        let report = Load::new(|_| get_req(path.into()))
            .requests(1)
            .time_limit(Duration::from_millis(100))
            .run(app.clone())
            .await;
        assert!(report.timed_out, "{path}: {report}");
        assert_eq!(report.completed, 0, "{path}: {report}");
        assert!(report.elapsed < Duration::from_secs(2), "{path}: {report}");
        assert!(report.response_bytes > 0, "{path}: {report}");
    }
    // A body that ends is read to its end and counted.
    let report = Load::new(|_| get_req("/big".into()))
        .requests(1)
        .run(app)
        .await;
    assert_eq!(report.completed, 1, "{report}");
    assert_eq!(report.response_bytes, 24_576 * 64 * 1024, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_bodies_are_streamed_not_kept() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, endless_app()).await });
    let before = rss();
    let report = Load::new(|_| http::Request::get("/endless").body(String::new()).unwrap())
        .requests(2)
        .concurrency(2)
        .time_limit(Duration::from_millis(800))
        .run_url(&format!("http://{addr}"))
        .await
        .unwrap();
    assert!(report.timed_out, "{report}");
    assert!(report.elapsed < Duration::from_secs(5), "{report}");
    assert!(report.response_bytes > 0, "{report}");
    if let (Some(before), Some(after)) = (before, rss()) {
        // Whatever was sent is far more than what stayed.
        let grew = after.saturating_sub(before);
        if report.response_bytes > 512 << 20 {
            assert!(grew < 256 << 20, "grew by {grew} bytes; {report}");
        }
    }
    server.abort();
}

#[tokio::test]
async fn run_url_takes_any_loopback_spelling_and_keeps_the_base_path() {
    let meter = TestMeter::new();
    let app = Router::new()
        .route("/api/users/{id}", get(|| async { "user" }))
        .layer(meter.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let load = Load::new(|i| {
        http::Request::get(format!("/users/{i}?x=1"))
            .body(String::new())
            .unwrap()
    })
    .requests(3);
    for base in [
        format!("http://LOCALHOST:{port}/api"),
        format!("http://127.0.0.1:{port}/api/"),
        format!("http://LocalHost:{port}/api"),
    ] {
        let report = load.run_url(&base).await.unwrap();
        assert_eq!(report.statuses.get(&200), Some(&3), "{base}: {report}");
    }
    meter
        .snapshot()
        .route("/api/users/{id}")
        .assert_count(9)
        .assert_no_errors();
    assert!(matches!(
        load.run_url(&format!("http://127.0.0.1:{port}/api?x=1"))
            .await,
        Err(LoadError::InvalidUrl(_))
    ));
    server.abort();
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_concurrency_beyond_the_descriptor_limit_is_refused_up_front() {
    let load = Load::new(|_| http::Request::get("/").body(String::new()).unwrap())
        .requests(50_000_000)
        .concurrency(50_000_000);
    let err = load.run_url("http://127.0.0.1:1").await.unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::TooManyConnections {
                concurrency: 50_000_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("ulimit -n"), "{err}");
    // Few requests need few connections, whatever the concurrency.
    let report = load
        .clone()
        .requests(1)
        .run_url("http://127.0.0.1:1")
        .await
        .unwrap();
    assert_eq!((report.sent, report.failed), (1, 1), "{report}");
}

mod property {
    use super::*;
    use proptest::prelude::*;

    /// A real exposition: the shape of routemeter's own `/metrics`.
    const BASE: &str = "# HELP http_server_request_duration_seconds Duration.\n\
# TYPE http_server_request_duration_seconds histogram\n\
http_server_request_duration_seconds_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",le=\"0.005\"} 3\n\
http_server_request_duration_seconds_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",le=\"0.01\"} 5\n\
http_server_request_duration_seconds_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",le=\"+Inf\"} 6\n\
http_server_request_duration_seconds_sum{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\"} 0.04\n\
http_server_request_duration_seconds_count{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\"} 6\n\
http_server_request_duration_seconds_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",error_type=\"cancelled\",le=\"0.005\"} 1\n\
http_server_request_duration_seconds_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",error_type=\"cancelled\",le=\"+Inf\"} 1\n\
http_server_request_duration_seconds_sum{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",error_type=\"cancelled\"} 0.001\n\
http_server_request_duration_seconds_bucket{http_route=\"/b\",http_request_method=\"POST\",error_type=\"panic\",le=\"0.005\"} 0\n\
http_server_request_duration_seconds_bucket{http_route=\"/b\",http_request_method=\"POST\",error_type=\"panic\",le=\"+Inf\"} 2\n\
http_server_request_duration_seconds_sum{http_route=\"/b\",http_request_method=\"POST\",error_type=\"panic\"} 7.5\n\
# TYPE http_server_response_body_size_bytes histogram\n\
http_server_response_body_size_bytes_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",le=\"64\"} 4\n\
http_server_response_body_size_bytes_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",le=\"1024\"} 6\n\
http_server_response_body_size_bytes_bucket{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\",le=\"+Inf\"} 6\n\
http_server_response_body_size_bytes_sum{http_route=\"/a\",http_request_method=\"GET\",http_response_status_code=\"200\"} 900\n\
# TYPE http_server_active_requests gauge\n\
http_server_active_requests{http_route=\"/a\",http_request_method=\"GET\"} 1\n\
# TYPE process_cpu_seconds_total counter\n\
process_cpu_seconds_total 12.5\n";

    const TOKENS: &[&str] = &[
        "1e19",
        "18446744073709551615",
        "1e308",
        "-1",
        "-0",
        "NaN",
        "+Inf",
        "-Inf",
        "0.000001",
        "9",
        "0",
        "\"",
        "{",
        "}",
        ",",
        "=",
        "\n",
        " ",
        "le=\"+Inf\"",
        "le=\"NaN\"",
        "_bucket",
        "_sum",
        "_count",
        "#",
        "# TYPE x histogram\n",
        "\\",
        "\\n",
        "http_route=\"/a\"",
        "http_response_status_code=\"99999\"",
        "error_type=\"cancelled\"",
        "é",
        "",
    ];

    /// Replaces, inserts or repeats pieces of `BASE`.
    fn mutate(mutations: &[(usize, usize, usize, u8)]) -> String {
        let mut text = BASE.to_owned();
        for &(at, len, token, kind) in mutations {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + len % 12).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let token = TOKENS[token % TOKENS.len()];
            match kind % 4 {
                0 => text.replace_range(at..end, token),
                1 => text.insert_str(at, token),
                2 => {
                    // Repeat the line at `at`.
                    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                    let stop = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
                    let line = text[start..stop].to_owned();
                    text.insert_str(stop, &line);
                }
                _ => text.replace_range(at..end, ""),
            }
        }
        text
    }

    fn check_summary(stats: &routemeter::testing::RouteStats) {
        let _ = stats.to_string();
        let by_status = stats
            .statuses()
            .values()
            .fold(stats.no_response(), |a, n| a.saturating_add(*n));
        assert_eq!(by_status, stats.count(), "{stats}");
        assert!(stats.statuses().values().all(|n| *n > 0), "{stats}");
        for d in [
            stats.duration(),
            stats.request_bytes(),
            stats.response_bytes(),
        ] {
            if d.count() == 0 {
                continue;
            }
            let (min, max, mean, sum) = (d.min(), d.max(), d.mean(), d.sum());
            let mut last_start = f64::NEG_INFINITY;
            for q in [0.0, 0.25, 0.5, 0.9, 0.99, 1.0] {
                let r = d.quantile_range(q);
                assert!(r.start() <= r.end(), "q{q}: {r:?} in {stats}");
                assert!(r.contains(&d.quantile(q)), "q{q}: {r:?} in {stats}");
                assert!(
                    *r.start() >= min && *r.end() <= max,
                    "q{q}: {r:?} in {stats}"
                );
                assert!(
                    *r.start() >= last_start - 1e-9 * last_start.abs(),
                    "{stats}"
                );
                last_start = *r.start();
            }
            if sum.is_finite() && sum >= 0.0 && min >= 0.0 {
                let slack = 1e-9 * sum.max(1.0);
                assert!(max <= sum + slack, "max {max} > sum {sum} in {stats}");
                assert!(min <= mean + slack && mean <= max + slack, "{stats}");
            }
        }
        let _ = (stats.p99(), stats.min(), stats.max(), stats.mean());
    }

    proptest! {
        // 400 cases take about a second; PROPTEST_CASES=100000 runs a longer campaign.
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(400),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn any_mutation_parses_or_errs_and_summaries_hold(
            mutations in prop::collection::vec(
                (any::<usize>(), any::<usize>(), any::<usize>(), any::<u8>()),
                1..6,
            ),
            others in prop::collection::vec(
                (any::<usize>(), any::<usize>(), any::<usize>(), any::<u8>()),
                1..4,
            ),
        ) {
            let naming = Naming::default();
            let text = mutate(&mutations);
            let Ok(snapshot) = Snapshot::from_prometheus_text(&text, &naming) else {
                return Ok(());
            };
            let mut views = vec![snapshot.total(), snapshot.route("/a"), snapshot.route("/b")];
            views.extend(snapshot.routes().iter().map(|r| snapshot.route(r)));
            if let Ok(later) = Snapshot::from_prometheus_text(&mutate(&others), &naming) {
                let diff = &later - &snapshot;
                views.push(diff.total());
                views.extend(diff.routes().iter().map(|r| diff.route(r)));
            }
            for stats in &views {
                check_summary(stats);
            }
        }
    }

    #[test]
    fn the_base_exposition_parses() {
        let snapshot = Snapshot::from_prometheus_text(BASE, &Naming::default()).unwrap();
        let a = snapshot.route("/a");
        assert_eq!(a.count(), 7);
        assert_eq!(snapshot.route("/b").no_response(), 2);
        check_summary(&a);
    }
}

#[tokio::test]
async fn openmetrics_expositions_parse_like_prometheus_ones() {
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .build()
        .unwrap();
    let app = Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .layer(metrics.layer());
    for i in 0..7 {
        // A sampled trace: its id becomes an exemplar in OpenMetrics.
        let req = http::Request::get(format!("/users/{i}"))
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .body(Body::empty())
            .unwrap();
        routemeter::testing::send(app.clone(), req).await.unwrap();
    }
    let open = metrics.render_openmetrics();
    assert!(open.contains(" # {trace_id="), "{open}");
    assert!(open.contains("# EOF"), "{open}");
    let naming = Naming::default();
    let from_open = Snapshot::from_prometheus_text(&open, &naming).unwrap();
    let from_text = Snapshot::from_prometheus_text(&metrics.render(), &naming).unwrap();
    for snapshot in [&from_open, &from_text] {
        let users = snapshot.route("/users/{id}");
        users.assert_count(7).assert_no_errors();
        assert_eq!(users.status(200), 7);
    }
    // Counters keep their type: OpenMetrics names the family without `_total`.
    let counters = |s: &Snapshot| {
        s.series()
            .iter()
            .filter(|s| matches!(s.value(), routemeter::testing::SeriesValue::Counter(_)))
            .map(|s| s.name().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(counters(&from_open), counters(&from_text));
}

#[test]
fn parsed_counters_keep_their_fraction() {
    let parse = |v: f64| {
        Snapshot::from_prometheus_text(
            &format!("# TYPE cpu_seconds_total counter\ncpu_seconds_total{{a=\"b\"}} {v}\n"),
            &Naming::default(),
        )
        .unwrap()
    };
    let (before, after) = (parse(0.25), parse(1.75));
    assert_eq!(before.value("cpu_seconds_total", &[("a", "b")]), Some(0.25));
    assert_eq!(before.counter("cpu_seconds_total", &[("a", "b")]), Some(0));
    let since = &after - &before;
    assert_eq!(since.value("cpu_seconds_total", &[("a", "b")]), Some(1.5));
    assert_eq!(since.counter("cpu_seconds_total", &[("a", "b")]), Some(2));
    // In-memory counters are whole numbers either way.
    let meter = TestMeter::new();
    metrics::with_local_recorder(meter.recorder(), || {
        metrics::counter!("jobs_total").increment(3);
    });
    assert_eq!(meter.snapshot().value("jobs_total", &[]), Some(3.0));
}

/// A latency test written the plain way, with time paused and a meter with no settings, times
/// a handler that sleeps 1 s as exactly 1 s: an assertion below that fails.
#[tokio::test(start_paused = true)]
async fn a_plain_paused_clock_test_records_the_sleep() {
    let meter = TestMeter::new();
    let app = Router::new()
        .route("/slow", get(|| tokio::time::sleep(Duration::from_secs(1))))
        .layer(meter.layer());
    routemeter::testing::send(app, get_req("/slow".into()))
        .await
        .unwrap();
    let slow = meter.snapshot().route("/slow");
    assert_eq!(slow.max(), Duration::from_secs(1), "{slow}");
    slow.assert_p99_at_most(Duration::from_secs(1));
    let message = panic_message(|| {
        slow.assert_p99_at_most(Duration::from_millis(500));
    });
    assert!(message.contains("p99"), "{message}");
}

/// Two named meanings of "error": every failure (`errors`, as the live page counts), and the
/// server's (`server_errors`, as the generated availability objective counts by default);
/// the difference is the client's hang-ups, in both namings. The axum-prometheus naming has
/// no error label: a hang-up before the head is its status 499, one after a 200 head stays
/// a 200 there.
#[tokio::test]
async fn errors_split_into_the_servers_and_the_clients() {
    for (naming, expected) in [
        (Naming::default(), (3, 1, 2)),
        (Naming::new(NamingScheme::AxumPrometheus), (2, 1, 1)),
    ] {
        let meter = TestMeter::with_naming(naming.clone());
        let app = Router::new()
            .route("/ok", get(|| async { "a body worth reading" }))
            .route(
                "/fail",
                get(|| async { (http::StatusCode::INTERNAL_SERVER_ERROR, "no") }),
            )
            .route("/slow", get(|| tokio::time::sleep(Duration::from_secs(5))))
            .layer(meter.layer());
        routemeter::testing::send(app.clone(), get_req("/fail".into()))
            .await
            .unwrap();
        routemeter::testing::send(app.clone(), get_req("/ok".into()))
            .await
            .unwrap();
        // A response dropped unread, and a request given up before its head: hang-ups.
        drop(app.clone().oneshot(get_req("/ok".into())).await.unwrap());
        let slow = app.clone().oneshot(get_req("/slow".into()));
        assert!(
            tokio::time::timeout(Duration::from_millis(20), slow)
                .await
                .is_err()
        );
        let total = meter.snapshot().total();
        assert_eq!(
            (total.errors(), total.server_errors(), total.hang_ups()),
            expected,
            "{naming:?}\n{total}"
        );
    }
}

/// A test that takes its snapshot while it still holds a response unread is told why the
/// request is missing.
#[tokio::test]
async fn an_unread_response_is_named_in_the_failure() {
    let meter = TestMeter::new();
    let app = Router::new()
        .route("/ok", get(|| async { "a body worth reading" }))
        .layer(meter.layer());
    let held = app.oneshot(get_req("/ok".into())).await.unwrap();
    let route = meter.snapshot().route("/ok");
    let message = panic_message(|| {
        route.assert_count(1);
    });
    assert!(message.contains("1 still in flight"), "{message}");
    assert!(message.contains("read the body to its end"), "{message}");
    drop(held);
}
