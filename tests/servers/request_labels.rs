//! A label from the request (`tenant`, from the `x-tenant` header) behind a real server, driven
//! over HTTP/1.1 and HTTP/2 by a real client: 1,000 distinct values keep the series within the
//! budget, every request is counted exactly once, hostile values are refused or escaped.

use std::time::Duration;

use axum::{Router, routing::get};
use routemeter::testing::Snapshot;

use crate::common;

/// The label's budget of distinct values.
const BUDGET: usize = 10;

/// Sends `GET /users/7` with `x-tenant: tenant` (raw bytes) over `client`.
async fn send(client: &common::Client, base: &str, tenant: &[u8]) -> u16 {
    let req = http::Request::get(format!("{base}/users/7"))
        .header("x-tenant", http::HeaderValue::from_bytes(tenant).unwrap())
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    client.send(req).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tenants_stay_within_the_budget_and_every_request_counts() {
    let metrics = common::metrics();
    let layer = metrics
        .layer_builder()
        .request_label("tenant", BUDGET, common::tenant)
        .unwrap()
        .build();
    let app = Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // Hostile values first, one at a time: the kept ones take places in the budget.
    let h1 = common::Client::new();
    let quoted = br#"a"b\c"#;
    let long = vec![b'x'; 10 * 1024];
    let refused: [&[u8]; 4] = [b"", &long, b"\xff\xfe", b"tab\there"];
    assert_eq!(send(&h1, &base, quoted).await, 200);
    for value in refused {
        assert_eq!(send(&h1, &base, value).await, 200);
    }
    // Then 1,000 distinct tenants, half over HTTP/1.1 and half over HTTP/2, concurrently.
    let h2 = common::Client::h2();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let client = if i % 2 == 0 { h1.clone() } else { h2.clone() };
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            send(&client, &base, format!("t{i}").as_bytes()).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let total = 1000 + 1 + refused.len() as u64;

    let text = metrics.render();
    let snapshot = Snapshot::from_prometheus_text(&text, &routemeter::Naming::default()).unwrap();
    // Every request once, whatever its tenant.
    assert_eq!(snapshot.route("/users/{id}").count(), total, "{text}");
    // The quoted value is kept, escaped in the exposition and read back by the parser.
    assert!(text.contains(r#"tenant="a\"b\\c""#), "{text}");
    assert_eq!(
        snapshot
            .select_by("/users/{id}", "tenant", r#"a"b\c"#)
            .count(),
        1
    );
    // Refused values (empty, 10 KB, not text, a control character) are `_OTHER`.
    let other = snapshot
        .select_by("/users/{id}", "tenant", "_OTHER")
        .count();
    assert_eq!(other, refused.len() as u64);
    // The budget: 10 kept values (the quoted one and 9 tenants), then `__overflow__`,
    // counted as such.
    let values: std::collections::BTreeSet<String> = snapshot
        .series()
        .iter()
        .filter(|s| s.name().starts_with("http_server_request_duration_seconds"))
        .filter_map(|s| s.label("tenant").map(str::to_owned))
        .collect();
    assert_eq!(values.len(), BUDGET + 2, "{values:?}");
    let kept: u64 = values
        .iter()
        .filter(|v| !["_OTHER", "__overflow__"].contains(&v.as_str()))
        .map(|v| snapshot.select_by("/users/{id}", "tenant", v).count())
        .sum();
    let overflow = snapshot
        .select_by("/users/{id}", "tenant", "__overflow__")
        .count();
    assert_eq!(kept + overflow + other, total);
    assert_eq!(overflow, 1000 - (BUDGET as u64 - 1));
    assert_eq!(
        snapshot.counter("routemeter_label_overflow_total", &[("label", "tenant")]),
        Some(overflow),
        "{text}"
    );
    // Every in-flight gauge is back to 0, over at most budget + 2 label sets.
    let gauges: Vec<f64> = snapshot
        .series()
        .iter()
        .filter(|s| s.name() == "http_server_active_requests")
        .filter_map(routemeter::testing::Series::scalar)
        .collect();
    assert!(
        gauges.len() <= BUDGET + 2 && gauges.iter().all(|g| *g == 0.0),
        "{gauges:?}"
    );
    server.abort();
    let _ = tokio::time::timeout(Duration::from_secs(1), server).await;
}
