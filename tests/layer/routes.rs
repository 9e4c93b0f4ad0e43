//! The route label: templates, nesting, unmatched requests, exotic methods, the route limit.

use crate::common;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use common::{get as get_status, send};
use routemeter::testing::TestMeter;
use routemeter::{OTHER_METHOD, OVERFLOW_ROUTE, UNMATCHED_ROUTE};

fn users() -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .route("/users", post(|| async { "created" }))
}

#[tokio::test]
async fn labels_are_route_templates_not_paths() {
    let meter = TestMeter::new();
    let app = users().layer(meter.layer());
    for id in ["1", "2", "3", "alice"] {
        assert_eq!(get_status(&app, &format!("/users/{id}")).await, 200);
    }
    let snap = meter.snapshot();
    assert_eq!(snap.routes(), ["/users/{id}"]);
    snap.endpoint("GET", "/users/{id}")
        .assert_count(4)
        .assert_no_errors();
    assert_eq!(snap.route("/users/{id}").status(200), 4);
    assert_eq!(snap.route("/users/1").count(), 0);
}

#[tokio::test]
async fn nested_routers_report_the_joined_template() {
    let outer_meter = TestMeter::new();
    let inner_meter = TestMeter::new();
    let items = Router::new()
        .route("/items/{item}", get(|| async { "item" }))
        .layer(inner_meter.layer());
    let app = Router::new()
        .nest("/api/v1", items)
        .merge(users())
        .layer(outer_meter.layer());

    assert_eq!(get_status(&app, "/api/v1/items/7").await, 200);
    assert_eq!(get_status(&app, "/users/9").await, 200);
    assert_eq!(get_status(&app, "/api/v1/nothing-here").await, 404);

    let outer = outer_meter.snapshot();
    assert_eq!(
        outer.routes(),
        ["/api/v1/items/{item}", "/users/{id}", UNMATCHED_ROUTE]
    );
    outer.route("/api/v1/items/{item}").assert_count(1);
    outer.route(UNMATCHED_ROUTE).assert_count(1);
    // A layer on the nested router sees the same joined template.
    let inner = inner_meter.snapshot();
    assert_eq!(inner.routes(), ["/api/v1/items/{item}"]);
}

#[tokio::test]
async fn route_layer_skips_unmatched_requests() {
    let meter = TestMeter::new();
    let app = users().route_layer(meter.layer());
    assert_eq!(get_status(&app, "/users/1").await, 200);
    assert_eq!(get_status(&app, "/nope").await, 404);
    let snap = meter.snapshot();
    assert_eq!(snap.routes(), ["/users/{id}"]);
    snap.total().assert_count(1);
}

#[tokio::test]
async fn ten_thousand_random_404_paths_make_one_series() {
    let meter = TestMeter::new();
    let app = users().layer(meter.layer());
    // A cheap deterministic generator is enough to make every path distinct.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..10 {
        assert_eq!(
            get_status(&app, &format!("/{:x}/{:x}", next(), next())).await,
            404
        );
    }
    let series_after_warmup = meter.snapshot().series_count();
    for _ in 0..9_990 {
        assert_eq!(
            get_status(&app, &format!("/{:x}/{:x}", next(), next())).await,
            404
        );
    }
    let snap = meter.snapshot();
    assert_eq!(snap.series_count(), series_after_warmup);
    assert_eq!(snap.routes(), [UNMATCHED_ROUTE]);
    snap.route(UNMATCHED_ROUTE).assert_count(10_000);
    assert_eq!(snap.route(UNMATCHED_ROUTE).status(404), 10_000);
}

#[tokio::test]
async fn exotic_methods_are_other() {
    let meter = TestMeter::new();
    let app = users().layer(meter.layer());
    for method in ["PROPFIND", "PURGE", "X-MADE-UP"] {
        let (status, _) = send(&app, method, "/users/1", Body::empty()).await;
        assert_eq!(status, 405);
    }
    let (status, _) = send(&app, "DELETE", "/users/1", Body::empty()).await;
    assert_eq!(status, 405);
    let snap = meter.snapshot();
    snap.endpoint(OTHER_METHOD, "/users/{id}").assert_count(3);
    snap.endpoint("DELETE", "/users/{id}").assert_count(1);
    assert_eq!(snap.endpoint("PROPFIND", "/users/{id}").count(), 0);
    // 405 is a client error: recorded, not counted as failed.
    snap.route("/users/{id}").assert_no_errors();
    assert_eq!(snap.route("/users/{id}").status(405), 4);
}

#[tokio::test]
async fn route_function_and_route_limit_bound_the_series() {
    let meter = TestMeter::new();
    // A careless route function that returns raw paths: the limit keeps it bounded.
    let layer = meter
        .layer_builder()
        .route_fn(|req| Some(req.path().to_owned()))
        .max_routes(5)
        .build();
    let svc =
        tower::ServiceBuilder::new()
            .layer(layer)
            .service_fn(|_req: http::Request<Body>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(Body::from("ok")))
            });
    for i in 0..50 {
        get_status(&svc, &format!("/p/{i}")).await;
    }
    // A known route keeps its own series after the limit is reached.
    get_status(&svc, "/p/0").await;
    let snap = meter.snapshot();
    assert_eq!(snap.routes().len(), 6, "{:?}", snap.routes());
    snap.route("/p/0").assert_count(2);
    snap.route(OVERFLOW_ROUTE).assert_count(45);
    assert_eq!(
        snap.counter("routemeter_route_overflow_total", &[]),
        Some(45)
    );
}

#[tokio::test]
async fn route_function_none_is_unmatched() {
    let meter = TestMeter::new();
    let layer = meter
        .layer_builder()
        .route_fn(|req| req.path().starts_with("/known").then_some("/known"))
        .build();
    let svc =
        tower::ServiceBuilder::new()
            .layer(layer)
            .service_fn(|_req: http::Request<Body>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(Body::empty()))
            });
    get_status(&svc, "/known/1").await;
    get_status(&svc, "/other").await;
    let snap = meter.snapshot();
    assert_eq!(snap.routes(), ["/known", UNMATCHED_ROUTE]);
}

#[tokio::test]
async fn excluded_paths_are_not_recorded() {
    let meter = TestMeter::new();
    let app = users()
        .route("/metrics", get(|| async { "" }))
        .route("/health", get(|| async { "ok" }))
        .layer(
            meter
                .layer_builder()
                .exclude("/metrics")
                .exclude("/health")
                .build(),
        );
    get_status(&app, "/metrics").await;
    get_status(&app, "/health").await;
    get_status(&app, "/users/1").await;
    let snap = meter.snapshot();
    assert_eq!(snap.routes(), ["/users/{id}"]);
    assert_eq!(snap.route("/metrics").active(), 0.0);
}

#[tokio::test]
async fn static_labels_are_on_every_series() {
    let meter = TestMeter::new();
    let app = users().layer(
        meter
            .layer_builder()
            .constant_label("service", "users")
            .unwrap()
            .build(),
    );
    get_status(&app, "/users/1").await;
    let snap = meter.snapshot();
    assert!(!snap.series().is_empty());
    for s in snap.series() {
        assert_eq!(s.label("service"), Some("users"), "{s:?}");
    }
}
