//! Buckets of a route's own, behind a real server driven over HTTP/1.1 and h2c: the route's
//! series are written with its bounds in every format, the other routes' with the default
//! ones, the counts are exact, and the test kit's parser and the live page estimate its
//! quantiles from its own bounds. `promtool check metrics` accepts the mixed exposition.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use routemeter::prometheus::PrometheusBuilder;
use routemeter::testing::Snapshot;

use crate::common::{Client, require_program};

/// `/slow`'s bounds: finer than the defaults where its requests fall.
const SLOW: [f64; 6] = [0.01, 0.015, 0.02, 0.03, 0.05, 0.1];
const PER_CLIENT: usize = 25;

/// The `le` values of the duration histogram's series of `route` with the protocol `version`.
fn les(text: &str, route: &str, version: &str) -> Vec<String> {
    let head = "http_server_request_duration_seconds_bucket{";
    text.lines()
        .filter(|l| {
            l.starts_with(head)
                && l.contains(&format!("http_route=\"{route}\""))
                && l.contains(&format!("network_protocol_version=\"{version}\""))
        })
        .filter_map(crate::common::le_of)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_with_buckets_of_its_own_behind_a_real_server() {
    let metrics = PrometheusBuilder::new()
        .process_metrics(false)
        .runtime_metrics(false)
        .route_buckets("/slow", &SLOW)
        .unwrap()
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(12)).await;
                "slow"
            }),
        )
        .route("/fast", get(|| async { "fast" }))
        .route("/metrics", metrics.endpoint())
        .merge(metrics.live_page())
        .layer(metrics.layer_builder().exclude("/metrics").build());
    let (addr, server) = crate::common::serve_on_loopback(app);
    let base = format!("http://{addr}");

    for client in [Client::new(), Client::h2()] {
        for _ in 0..PER_CLIENT {
            assert_eq!(client.get(&format!("{base}/slow")).await.0, 200);
            assert_eq!(client.get(&format!("{base}/fast")).await.0, 200);
        }
    }

    let client = Client::new();
    let (status, text) = client.get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    let slow: Vec<String> = SLOW
        .iter()
        .map(ToString::to_string)
        .chain(["+Inf".to_owned()])
        .collect();
    let default: Vec<String> = routemeter::DEFAULT_DURATION_BUCKETS
        .iter()
        .map(ToString::to_string)
        .chain(["+Inf".to_owned()])
        .collect();
    for version in ["1.1", "2"] {
        assert_eq!(les(&text, "/slow", version), slow, "{text}");
        assert_eq!(les(&text, "/fast", version), default, "{text}");
        let count = format!(
            "http_server_request_duration_seconds_count{{http_request_method=\"GET\",\
             http_route=\"/slow\",http_response_status_code=\"200\",url_scheme=\"http\",\
             network_protocol_version=\"{version}\"}} {PER_CLIENT}"
        );
        assert!(text.contains(&count), "{count}\n{text}");
    }

    // The test kit's parser estimates from each series' own buckets: every /slow request
    // took at least 12 ms, and its bounds put the median between 10 and 30 ms.
    let snapshot = Snapshot::from_prometheus_text(&text, metrics.naming()).unwrap();
    let route = snapshot.route("/slow");
    route.assert_count(2 * PER_CLIENT as u64).assert_no_errors();
    assert!(route.p50() >= Duration::from_millis(10), "{route}");
    assert!(route.p50() <= Duration::from_millis(30), "{route}");
    snapshot.route("/fast").assert_count(2 * PER_CLIENT as u64);

    // OpenMetrics writes the same bounds per series.
    let req = http::Request::get(format!("{base}/metrics"))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let (status, _) = client.send(req).await;
    assert_eq!(status, 200);
    let open = metrics.render_openmetrics();
    assert!(open.ends_with("# EOF\n"));
    assert_eq!(les(&open, "/slow", "2"), slow, "{open}");

    // The live page's quantiles come from the route's own bounds too: with traffic going on,
    // wait (at most 15 s) for a sample with /slow's median, which its bounds put between 10
    // and 30 ms.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let p50 = loop {
        for _ in 0..5 {
            client.get(&format!("{base}/slow")).await;
        }
        let json: serde_json::Value = serde_json::from_str(&metrics.live_json(None)).unwrap();
        let p50 = json["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["route"] == "/slow")
            .and_then(|r| r["p50"].as_f64())
            .filter(|p| p.is_finite() && *p > 0.0);
        if let Some(p50) = p50 {
            break p50;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no /slow median: {json}"
        );
    };
    assert!(
        (0.01..=0.03).contains(&p50),
        "live page median of /slow: {p50}"
    );

    if let Some(promtool) = require_program("promtool") {
        let out = std::process::Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(text.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    server.abort();
}
