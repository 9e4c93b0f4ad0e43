//! Request labels at the edges, in process: a request folded by the series budget, an
//! excluded route, a thread's local recorder.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::{Router, routing::get};
use routemeter::testing::Snapshot;

/// `GET path` with `x-tenant: tenant` through `app`.
async fn send(app: &Router, path: &str, tenant: &str) -> u16 {
    let req = http::Request::get(path)
        .header("x-tenant", tenant)
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = routemeter::testing::send(app.clone(), req).await.unwrap();
    resp.0.status.as_u16()
}

fn routes() -> Router {
    Router::new()
        .route("/x", get(|| async { "x" }))
        .route("/y", get(|| async { "y" }))
        .route("/health/{kind}", get(|| async { "ok" }))
}

/// What the series budget folds keeps no request label's value (`_OTHER`, as the method):
/// `__overflow__` of a request label means its own budget, and the overflow counter counts
/// exactly those requests.
#[tokio::test]
async fn a_request_folded_by_the_series_budget_is_not_a_label_overflow() {
    let metrics = crate::common::metrics();
    let app = routes().layer(
        metrics
            .layer_builder()
            .max_series(1)
            .request_label("tenant", 10, crate::common::tenant)
            .unwrap()
            .build(),
    );
    assert_eq!(send(&app, "/x", "a").await, 200);
    assert_eq!(send(&app, "/x", "b").await, 200);
    let text = metrics.render();
    let snapshot = Snapshot::from_prometheus_text(&text, metrics.naming()).unwrap();
    assert_eq!(snapshot.select_by("/x", "tenant", "a").count(), 1, "{text}");
    assert_eq!(
        snapshot
            .select_by("__overflow__", "tenant", "_OTHER")
            .count(),
        1,
        "{text}"
    );
    assert!(!text.contains("tenant=\"__overflow__\""), "{text}");
    assert_eq!(
        snapshot.counter("routemeter_label_overflow_total", &[("label", "tenant")]),
        Some(0),
        "{text}"
    );
}

/// Values seen only on an excluded route (by path or by route label) spend none of the
/// budget.
#[tokio::test]
async fn an_excluded_route_spends_none_of_the_budget() {
    let metrics = crate::common::metrics();
    let app = routes().layer(
        metrics
            .layer_builder()
            .exclude("/health/{kind}")
            .exclude("/y")
            .request_label("tenant", 2, crate::common::tenant)
            .unwrap()
            .build(),
    );
    for t in ["lb1", "lb2", "lb3"] {
        assert_eq!(send(&app, "/health/live", t).await, 200);
        assert_eq!(send(&app, "/y", t).await, 200);
    }
    assert_eq!(send(&app, "/x", "acme").await, 200);
    let text = metrics.render();
    let snapshot = Snapshot::from_prometheus_text(&text, metrics.naming()).unwrap();
    assert_eq!(
        snapshot.select_by("/x", "tenant", "acme").count(),
        1,
        "{text}"
    );
    assert_eq!(snapshot.total().count(), 1, "{text}");
}

/// Under a thread's local recorder (each request in a table of its own), the value function
/// still runs once per request.
#[test]
fn the_value_function_runs_once_per_request_under_a_local_recorder() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let layer = routemeter::RouteMeterLayer::builder()
        .request_label("tenant", 3, move |req| {
            counted.fetch_add(1, Ordering::Relaxed);
            crate::common::tenant(req)
        })
        .unwrap()
        .build();
    let app = routes().layer(layer);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let meter = routemeter::testing::TestMeter::new();
    metrics::with_local_recorder(meter.recorder(), || {
        for t in ["a", "b", "a"] {
            assert_eq!(rt.block_on(send(&app, "/x", t)), 200);
        }
    });
    assert_eq!(calls.load(Ordering::Relaxed), 3);
    let snapshot = meter.snapshot();
    assert_eq!(snapshot.select_by("/x", "tenant", "a").count(), 2);
    assert_eq!(snapshot.select_by("/x", "tenant", "b").count(), 1);
}
