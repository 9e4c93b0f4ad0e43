//! `Router::nest_service` with tower-http's `ServeDir`, behind a real `axum::serve` server and
//! a real HTTP client: with `mount`, every path under the mount gets the mount's label; without
//! it, they are recorded as `__unmatched__` (the layer cannot tell them from requests that
//! matched no route) and one warning, once per process, names `RouteMeterBuilder::mount`.
//! An app whose unmatched requests all get axum's 404 never sees that warning.
//!
//! One test in this binary: the warning is once per process, and the subscriber that catches
//! it is the process's global one.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use common::{Client, TempDir};
use routemeter::UNMATCHED_ROUTE;
use routemeter::testing::TestMeter;
use tower_http::services::ServeDir;

/// Serves `app` on a loopback port.
async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The app: a route, the static files nested at `/static`, axum's own 404 for the rest.
fn app(layer: routemeter::RouteMeterLayer, dir: &std::path::Path) -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .nest_service("/static", ServeDir::new(dir))
        .layer(layer)
}

/// Sends `paths` (path, expected status) and waits until the meter has recorded all of them.
async fn send_all(meter: &TestMeter, addr: SocketAddr, paths: &[(&str, u16)]) {
    let client = Client::new();
    for (path, status) in paths {
        let (got, _) = client.get(&format!("http://{addr}{path}")).await;
        assert_eq!(got, *status, "{path}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while meter.snapshot().total().count() < paths.len() as u64 {
        assert!(
            Instant::now() < deadline,
            "{:#?}",
            meter.snapshot().routes()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_services_are_labelled_by_their_declared_mount() {
    let logs = common::Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let dir = TempDir::new("nest-service");
    std::fs::create_dir_all(dir.0.join("css")).unwrap();
    std::fs::write(dir.0.join("index.html"), "<h1>index</h1>\n").unwrap();
    std::fs::write(dir.0.join("css/site.css"), "body { margin: 0 }\n").unwrap();
    let requests: &[(&str, u16)] = &[
        ("/users/7", 200),
        ("/static/index.html", 200),
        ("/static/css/site.css", 200),
        ("/static/missing.txt", 404),
        ("/static", 200),
        ("/nowhere", 404),
        ("/nowhere/else", 404),
    ];

    // No nested service: 404s and 405s are axum's own answers, and nothing is logged.
    let meter = TestMeter::new();
    let plain = Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .layer(meter.layer());
    let addr = serve(plain).await;
    send_all(
        &meter,
        addr,
        &[("/nowhere", 404), ("/users/1", 200), ("/a/b", 404)],
    )
    .await;
    let (status, _) = Client::new()
        .request("POST", &format!("http://{addr}/users/1"), "")
        .await;
    assert_eq!(status, 405);
    let deadline = Instant::now() + Duration::from_secs(10);
    while meter.snapshot().total().count() < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(meter.snapshot().route(UNMATCHED_ROUTE).count(), 2);
    assert_eq!(
        logs.text(),
        "",
        "an app without nested services is not warned"
    );

    // Without a declared mount: the files are unmatched, as axum's 404s are; the mount point
    // itself has a public `MatchedPath`. One warning names the call that fixes it.
    let meter = TestMeter::new();
    let addr = serve(app(meter.layer(), &dir.0)).await;
    send_all(&meter, addr, requests).await;
    let snap = meter.snapshot();
    assert_eq!(snap.route("/users/{id}").count(), 1, "{:?}", snap.routes());
    assert_eq!(
        snap.route(UNMATCHED_ROUTE).count(),
        5,
        "{:?}",
        snap.routes()
    );
    assert_eq!(snap.route("/static").count(), 1, "{:?}", snap.routes());
    assert_eq!(snap.route("/static/{*path}").count(), 0);
    let text = logs.text();
    let warning = "RouteMeterBuilder::mount(\"/prefix\")";
    assert_eq!(text.matches(warning).count(), 1, "{text}");
    assert!(
        text.contains("WARN") && text.contains("nest_service") && text.contains("status 200"),
        "{text}"
    );
    assert!(!text.contains("/nowhere"), "no raw path is logged: {text}");

    // With `mount("/static")`: the mount point and every path under it share one label, a
    // missing file's 404 included; the rest stays unmatched. No second warning.
    let meter = TestMeter::new();
    let layer = meter.layer_builder().mount("/static").unwrap().build();
    let addr = serve(app(layer, &dir.0)).await;
    send_all(&meter, addr, requests).await;
    let snap = meter.snapshot();
    assert_eq!(snap.route("/users/{id}").count(), 1, "{:?}", snap.routes());
    let files = snap.route("/static/{*path}");
    assert_eq!(files.count(), 4, "{:?}", snap.routes());
    assert_eq!(snap.select("/static/{*path}", None, Some(404)).count(), 1);
    assert_eq!(
        snap.route(UNMATCHED_ROUTE).count(),
        2,
        "{:?}",
        snap.routes()
    );
    assert_eq!(snap.route("/static").count(), 0);
    assert_eq!(logs.text().matches(warning).count(), 1, "{}", logs.text());
}
