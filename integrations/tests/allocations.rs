//! Heap allocations per request are deterministic, so routemeter's share of them is tested:
//! at most 1 per request on top of a no-op layer in axum (axum boxes any response body that is
//! not its own), and none on top of a bare tower service. One test function, because the
//! allocation counter is process-wide.

use routemeter_integrations::counting_alloc;

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http_body_util::BodyExt;
use tower::{Service, ServiceBuilder, ServiceExt};

#[global_allocator]
static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;

/// In axum, over the no-op layer: the boxed response body.
const MAX_ADDED_AXUM: f64 = 1.0;
/// In a plain tower service, over the bare service.
const MAX_ADDED_TOWER: f64 = 0.0;
const REQUESTS: u64 = 5_000;

/// A sampled trace's `traceparent`: with exemplars on (the default), its trace id is kept.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Allocations per request of `svc`, after a warm-up that registers every series; each
/// request carries `traceparent` when given.
async fn per_request<S, B>(svc: S, traceparent: Option<&'static str>) -> f64
where
    S: Service<http::Request<Body>, Response = http::Response<B>, Error = Infallible> + Clone,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let run = |n: u64| {
        let svc = svc.clone();
        async move {
            for _ in 0..n {
                let mut req = http::Request::get("/users/7");
                if let Some(value) = traceparent {
                    req = req.header("traceparent", value);
                }
                let req = req.body(Body::empty()).unwrap();
                let resp = svc.clone().oneshot(req).await.unwrap();
                assert_eq!(resp.status(), 200);
                resp.into_body().collect().await.unwrap();
            }
        }
    };
    run(500).await;
    let before = counting_alloc::allocations();
    run(REQUESTS).await;
    (counting_alloc::allocations() - before) as f64 / REQUESTS as f64
}

fn routes() -> Router {
    Router::new().route("/users/{id}", get(|| async { "user" }))
}

#[tokio::test]
async fn routemeter_adds_at_most_one_allocation_per_request() {
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .build()
        .unwrap();

    // axum: compared with a no-op layer, which isolates the two allocations axum's
    // `Router::layer` costs for any layer. Requests with and without a sampled trace (whose
    // id the default set-up keeps as an exemplar).
    for traceparent in [None, Some(TRACEPARENT)] {
        let noop = per_request(
            routes()
                .layer(tower::layer::util::Identity::new())
                .with_state(()),
            traceparent,
        )
        .await;
        let metered =
            per_request(routes().layer(metrics.layer()).with_state(()), traceparent).await;
        let added = metered - noop;
        eprintln!(
            "axum (traceparent: {}): no-op layer {noop:.2}, routemeter {metered:.2}, added {added:.2}",
            traceparent.is_some()
        );
        assert!(
            added <= MAX_ADDED_AXUM,
            "routemeter adds {added:.2} allocations per request in axum (traceparent: {})",
            traceparent.is_some()
        );
    }
    // The traced requests were measured with their exemplar kept, not skipped.
    let trace_id = TRACEPARENT.split('-').nth(1).unwrap();
    assert!(
        metrics.render_openmetrics().contains(trace_id),
        "no exemplar with the trace id"
    );

    // A plain tower service: compared with the bare service.
    let handler = |_req: http::Request<Body>| async {
        Ok::<_, Infallible>(http::Response::new(Body::from("user")))
    };
    let bare = per_request(ServiceBuilder::new().service_fn(handler), None).await;
    let layer = metrics
        .layer_builder()
        .route_fn(|_| Some("/users/{id}"))
        .build();
    let wrapped = ServiceBuilder::new().layer(layer).service_fn(handler);
    let metered = per_request(wrapped, None).await;
    let added = metered - bare;
    eprintln!("tower: bare {bare:.2}, routemeter {metered:.2}, added {added:.2}");
    assert!(
        added <= MAX_ADDED_TOWER,
        "routemeter adds {added:.2} allocations per request in tower"
    );
}
