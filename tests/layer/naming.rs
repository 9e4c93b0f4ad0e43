//! Both naming schemes, prefixes and labels, as the layer records them and as Prometheus renders
//! them.

#[path = "naming/awkward.rs"]
mod awkward;
use crate::common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::{get as get_status, send};
use routemeter::prometheus::PrometheusBuilder;
use routemeter::testing::TestMeter;
use routemeter::{Naming, NamingScheme};

fn app() -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .route(
            "/error",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        )
}

#[tokio::test]
async fn opentelemetry_names_and_labels() {
    let meter = TestMeter::new();
    let app = app().layer(meter.layer());
    get_status(&app, "/users/1").await;
    get_status(&app, "/error").await;
    let snap = meter.snapshot();
    let mut names: Vec<&str> = snap.series().iter().map(|s| s.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names,
        [
            "http_server_active_requests",
            "http_server_request_duration_seconds",
            "routemeter_route_overflow_total",
        ]
    );
    let ok = snap
        .series()
        .iter()
        .find(|s| {
            s.name() == "http_server_request_duration_seconds"
                && s.label("http_route") == Some("/users/{id}")
        })
        .unwrap();
    assert_eq!(
        ok.labels(),
        [
            ("http_request_method".to_owned(), "GET".to_owned()),
            ("http_response_status_code".to_owned(), "200".to_owned()),
            ("http_route".to_owned(), "/users/{id}".to_owned()),
            ("network_protocol_version".to_owned(), "1.1".to_owned()),
            ("url_scheme".to_owned(), "http".to_owned()),
        ]
    );
    let err = snap
        .series()
        .iter()
        .find(|s| {
            s.name() == "http_server_request_duration_seconds"
                && s.label("http_route") == Some("/error")
        })
        .unwrap();
    assert_eq!(err.label("error_type"), Some("500"));
    assert_eq!(
        snap.gauge(
            "http_server_active_requests",
            &[
                ("http_request_method", "GET"),
                ("http_route", "/error"),
                ("url_scheme", "http")
            ]
        ),
        Some(0.0)
    );
}

#[tokio::test]
async fn axum_prometheus_compatible_names_and_labels() {
    let meter = TestMeter::with_naming(Naming::new(NamingScheme::AxumPrometheus));
    let app = app().layer(meter.layer());
    for _ in 0..3 {
        get_status(&app, "/users/7").await;
    }
    get_status(&app, "/error").await;
    let snap = meter.snapshot();
    assert_eq!(
        snap.counter(
            "axum_http_requests_total",
            &[
                ("method", "GET"),
                ("status", "200"),
                ("endpoint", "/users/{id}")
            ]
        ),
        Some(3)
    );
    assert_eq!(
        snap.gauge(
            "axum_http_requests_pending",
            &[("method", "GET"), ("endpoint", "/users/{id}")]
        ),
        Some(0.0)
    );
    assert!(
        snap.series()
            .iter()
            .all(|s| s.label("error_type").is_none())
    );
    assert!(
        snap.series()
            .iter()
            .all(|s| !s.name().contains("body_size"))
    );
    snap.route("/users/{id}").assert_count(3).assert_no_errors();
    assert_eq!(snap.route("/error").errors(), 1);
}

#[tokio::test]
async fn prefixes_and_static_labels() {
    let meter =
        TestMeter::with_naming(Naming::new(NamingScheme::AxumPrometheus).with_prefix("shop"));
    let labelled = app().layer(
        meter
            .layer_builder()
            .constant_label("region", "eu")
            .unwrap()
            .build(),
    );
    get_status(&labelled, "/users/7").await;
    let snap = meter.snapshot();
    assert_eq!(
        snap.counter(
            "shop_http_requests_total",
            &[
                ("method", "GET"),
                ("status", "200"),
                ("endpoint", "/users/{id}"),
                ("region", "eu")
            ]
        ),
        Some(1)
    );
    let meter = TestMeter::with_naming(Naming::default().with_prefix("shop"));
    let prefixed = app().layer(meter.layer());
    get_status(&prefixed, "/users/7").await;
    assert!(
        meter
            .snapshot()
            .series()
            .iter()
            .any(|s| s.name() == "shop_http_server_request_duration_seconds")
    );
}

fn bucket_bounds(text: &str, metric: &str) -> Vec<String> {
    let prefix = format!("{metric}_bucket{{");
    let mut bounds: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(crate::common::le_of)
        .collect();
    bounds.dedup();
    bounds
}

#[tokio::test]
async fn prometheus_renders_described_histograms_with_buckets() {
    let metrics = PrometheusBuilder::new().build().unwrap();
    let app = app().layer(metrics.layer_builder().body_sizes(true).build());
    get_status(&app, "/users/1").await;
    get_status(&app, "/users/2").await;
    let text = metrics.render();
    assert!(
        text.contains("# TYPE http_server_request_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains(
            "# HELP http_server_request_duration_seconds Duration of HTTP server requests"
        )
    );
    assert!(text.contains("# TYPE http_server_active_requests gauge"));
    assert!(text.contains(
        "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/users/{id}\",http_response_status_code=\"200\",url_scheme=\"http\",network_protocol_version=\"1.1\"} 2"
    ), "{text}");
    assert_eq!(
        bucket_bounds(&text, "http_server_request_duration_seconds"),
        [
            "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5",
            "5", "7.5", "10", "+Inf"
        ]
    );
    assert_eq!(
        bucket_bounds(&text, "http_server_response_body_size_bytes").len(),
        routemeter::DEFAULT_SIZE_BUCKETS.len() + 1
    );
    // Never a summary.
    assert!(!text.contains("quantile="));
}

#[tokio::test]
async fn prometheus_custom_buckets_and_compat_scheme() {
    let metrics = PrometheusBuilder::new()
        .naming(Naming::new(NamingScheme::AxumPrometheus))
        .duration_buckets(&[0.1, 1.0])
        .unwrap()
        .build()
        .unwrap();
    let app = app().layer(metrics.layer());
    get_status(&app, "/users/1").await;
    let text = metrics.render();
    assert_eq!(
        bucket_bounds(&text, "axum_http_requests_duration_seconds"),
        ["0.1", "1", "+Inf"]
    );
    assert!(
        text.contains(
            "axum_http_requests_total{method=\"GET\",endpoint=\"/users/{id}\",status=\"200\"} 1"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn two_prometheus_recorders_side_by_side() {
    let a = PrometheusBuilder::new().build().unwrap();
    let b = PrometheusBuilder::new().build().unwrap();
    let app_a = app().layer(a.layer());
    let app_b = app().layer(b.layer());
    get_status(&app_a, "/users/1").await;
    get_status(&app_b, "/error").await;
    assert!(a.render().contains("/users/{id}"));
    assert!(!a.render().contains("/error"));
    assert!(b.render().contains("/error"));
    assert!(!b.render().contains("/users/{id}"));
}

#[tokio::test]
async fn known_methods_url_scheme_and_dotted_names() {
    use http::Method;
    // QUERY is known by default; PROPFIND is not, unless the layer is told.
    let meter = TestMeter::with_naming(routemeter::Naming::new(
        routemeter::NamingScheme::OpenTelemetryDotted,
    ));
    let svc = app().layer(
        meter
            .layer_builder()
            .url_scheme(routemeter::UrlScheme::Https)
            .build(),
    );
    for method in ["QUERY", "PROPFIND"] {
        send(&svc, method, "/users/1", "").await;
    }
    let req = http::Request::get("http://example.com/users/2")
        .version(http::Version::HTTP_2)
        .body(axum::body::Body::empty())
        .unwrap();
    tower::ServiceExt::oneshot(svc.clone(), req).await.unwrap();
    let snap = meter.snapshot();
    let methods: Vec<(String, String, String)> = snap
        .series()
        .iter()
        .filter(|s| s.name() == "http.server.request.duration")
        .map(|s| {
            (
                s.label("http.request.method").unwrap().to_owned(),
                s.label("url.scheme").unwrap().to_owned(),
                s.label("network.protocol.version").unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("QUERY", "https", "1.1"),
        ("_OTHER", "https", "1.1"),
        ("GET", "http", "2"),
    ] {
        assert!(
            methods
                .iter()
                .any(|(m, s, v)| (m.as_str(), s.as_str(), v.as_str()) == expected),
            "{expected:?} in {methods:?}"
        );
    }

    let meter = TestMeter::new();
    let propfind = Method::from_bytes(b"PROPFIND").unwrap();
    let svc = app().layer(
        meter
            .layer_builder()
            .known_methods([Method::GET, propfind])
            .unwrap()
            .build(),
    );
    for method in ["PROPFIND", "POST", "QUERY"] {
        send(&svc, method, "/users/1", "").await;
    }
    let snap = meter.snapshot();
    let mut seen: Vec<&str> = snap
        .series()
        .iter()
        .filter(|s| s.name() == "http_server_request_duration_seconds")
        .filter_map(|s| s.label("http_request_method"))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen, ["PROPFIND", "_OTHER"]);
    let many = (0..=routemeter::MAX_KNOWN_METHODS)
        .map(|i| Method::from_bytes(format!("M{i}").as_bytes()).unwrap());
    assert!(matches!(
        routemeter::RouteMeterLayer::builder().known_methods(many),
        Err(routemeter::LayerError::TooManyMethods(65))
    ));
}

#[test]
fn fixed_labels_that_would_break_the_exposition_are_refused() {
    use routemeter::{LabelError, LayerError};
    let builder = || routemeter::RouteMeterLayer::builder();
    for (key, reserved) in [
        ("le", true),
        ("http_route", true),
        ("__name__", true),
        ("a b", false),
    ] {
        let err = builder().constant_label(key, "x").unwrap_err();
        assert_eq!(
            matches!(err, LayerError::Label(LabelError::Reserved(_))),
            reserved,
            "{key}: {err}"
        );
    }
    assert!(matches!(
        builder()
            .constant_label("region", "eu")
            .unwrap()
            .constant_label("region", "us"),
        Err(LayerError::Label(LabelError::Duplicate(_)))
    ));
    let setup = PrometheusBuilder::new;
    for key in ["le", "__name__", "a b", "quantile"] {
        assert!(setup().constant_label(key, "x").is_err(), "{key}");
    }
    let twice = setup()
        .constant_label("region", "eu")
        .unwrap()
        .constant_label("region", "us");
    assert!(twice.is_err());
    // What is accepted renders an exposition promtool-style parsers read back.
    let metrics = setup()
        .constant_label("region", "eu")
        .unwrap()
        .build()
        .unwrap();
    let text = metrics.render();
    routemeter::testing::Snapshot::from_prometheus_text(&text, metrics.naming()).unwrap();
}
