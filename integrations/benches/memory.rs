//! Resident memory under hostile and unscraped traffic. Two scenarios, each in a fresh router
//! with a routemeter Prometheus recorder of its own:
//!
//! 1. 1,000,000 requests to 1,000,000 distinct unmatched paths;
//! 2. 1,000,000 requests to one route while nobody scrapes `/metrics`.
//!
//! Each prints RSS after a 10,000-request warm-up and after the run, and the number of series.
//! Run: `cargo bench -p routemeter-integrations --bench memory` (about a minute). `MEMORY_REQUESTS` changes the count.

mod support;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use tower::ServiceExt;

fn series(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count()
}

async fn send(app: &Router, path: &str) {
    let req = http::Request::get(path).body(Body::empty()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
}

async fn scenario(name: &str, requests: u64, path: impl Fn(u64) -> String) {
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .build()
        .unwrap();
    let app = Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .layer(metrics.layer())
        .with_state(());
    for i in 0..10_000 {
        send(&app, &path(i)).await;
    }
    let warm = support::rss_bytes();
    let series_warm = series(&metrics.render());
    for i in 10_000..requests {
        send(&app, &path(i)).await;
    }
    let after = support::rss_bytes();
    let series_after = series(&metrics.render());
    println!(
        "{name}: RSS after warm-up {:.1} MiB, after {requests} requests {:.1} MiB ({:+.1}%); exposition lines {series_warm} -> {series_after}",
        warm as f64 / 1048576.0,
        after as f64 / 1048576.0,
        (after as f64 / warm as f64 - 1.0) * 100.0
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let requests: u64 = std::env::var("MEMORY_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let rt = support::runtime();
    rt.block_on(async {
        scenario("distinct unmatched paths", requests, |i| {
            format!("/nothing/{i}/{}", i * 7919)
        })
        .await;
        scenario("one route, never scraped", requests, |_| {
            "/users/42".to_owned()
        })
        .await;
    });
}
