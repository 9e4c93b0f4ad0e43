//! Status classes behind a real server, over HTTP/1.1 and h2c: every code of a class is one
//! series labelled `2xx`…`5xx` (server errors typed `5xx`), counts are exact, and the test kit,
//! the live page and the axum-prometheus naming all read them.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use routemeter::prometheus::PrometheusBuilder;
use routemeter::testing::{Snapshot, TestMeter};
use routemeter::{Naming, NamingScheme};

use crate::common::Client;

/// The statuses `/answer/{code}` answers with, each asked for `PER` times per protocol.
const CODES: [u16; 7] = [200, 201, 204, 401, 404, 500, 503];
const PER: usize = 3;

fn app(layer: routemeter::RouteMeterLayer) -> Router {
    Router::new()
        .route(
            "/answer/{code}",
            get(
                |axum::extract::Path(code): axum::extract::Path<u16>| async move {
                    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
                },
            ),
        )
        .layer(layer)
}

async fn drive(app: Router) {
    let (addr, server) = crate::common::serve_on_loopback(app);
    for client in [Client::new(), Client::h2()] {
        for code in CODES {
            for _ in 0..PER {
                let (status, _) = client.get(&format!("http://{addr}/answer/{code}")).await;
                assert_eq!(status, code);
            }
        }
    }
    server.abort();
}

/// The value of the exposition line that starts with `head`.
fn value(text: &str, head: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(head))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_are_recorded_as_classes() {
    let metrics = PrometheusBuilder::new()
        .process_metrics(false)
        .runtime_metrics(false)
        .build()
        .unwrap();
    let meter = TestMeter::new();
    let layer = |b: routemeter::RouteMeterBuilder| b.status_classes(true).build();
    drive(app(layer(metrics.layer_builder())).layer(layer(meter.layer_builder()))).await;

    let text = metrics.render();
    let count = |class: &str, error: &str, version: &str| {
        value(
            &text,
            &format!(
                "http_server_request_duration_seconds_count{{http_request_method=\"GET\",\
                 http_route=\"/answer/{{code}}\",http_response_status_code=\"{class}\",\
                 {error}url_scheme=\"http\",network_protocol_version=\"{version}\"}}"
            ),
        )
    };
    for version in ["1.1", "2"] {
        assert_eq!(count("2xx", "", version), Some(3 * PER as u64), "{text}");
        assert_eq!(count("4xx", "", version), Some(2 * PER as u64), "{text}");
        assert_eq!(
            count("5xx", "error_type=\"5xx\",", version),
            Some(2 * PER as u64),
            "{text}"
        );
    }
    // No code is a label value.
    for code in CODES {
        assert!(!text.contains(&format!("=\"{code}\"")), "{code}: {text}");
    }
    // Three classes per protocol: six series of the duration histogram.
    let series = text
        .lines()
        .filter(|l| l.starts_with("http_server_request_duration_seconds_count{"))
        .count();
    assert_eq!(series, 6, "{text}");

    // The test kit, in memory and parsed from the exposition.
    let total = 2 * (CODES.len() * PER) as u64;
    for stats in [
        meter.snapshot().route("/answer/{code}"),
        Snapshot::from_prometheus_text(&text, metrics.naming())
            .unwrap()
            .route("/answer/{code}"),
    ] {
        assert_eq!(stats.count(), total, "{stats}");
        assert_eq!(stats.status_class(2), 6 * PER as u64, "{stats}");
        assert_eq!(stats.status_class(4), 4 * PER as u64, "{stats}");
        assert_eq!(stats.status_class(5), 4 * PER as u64, "{stats}");
        assert_eq!(stats.status(200), 0, "{stats}");
        assert_eq!(stats.errors(), 4 * PER as u64, "{stats}");
        assert_eq!(stats.error_type("5xx"), 4 * PER as u64, "{stats}");
        assert_eq!(stats.no_response(), 0, "{stats}");
        assert!(stats.to_string().contains("5xx × 12"), "{stats}");
    }

    // The live page counts the 5xx class as errors.
    let json: serde_json::Value = serde_json::from_str(&metrics.live_json(None)).unwrap();
    let route = json["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["route"] == "/answer/{code}")
        .unwrap()
        .clone();
    assert_eq!(route["total"].as_u64(), Some(total), "{route}");
    assert_eq!(
        route["errors_total"].as_u64(),
        Some(4 * PER as u64),
        "{route}"
    );
}

/// In the axum-prometheus naming (no `error_type` label), classes are the status label, and
/// server errors are read from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classes_in_the_axum_prometheus_naming() {
    let naming = Naming::new(NamingScheme::AxumPrometheus);
    let metrics = crate::common::metrics_named(naming.clone());
    drive(app(metrics.layer_builder().status_classes(true).build())).await;
    let text = metrics.render();
    assert!(
        text.contains(
            "axum_http_requests_total{method=\"GET\",endpoint=\"/answer/{code}\",status=\"5xx\"} 12"
        ),
        "{text}"
    );
    let stats = Snapshot::from_prometheus_text(&text, &naming)
        .unwrap()
        .route("/answer/{code}");
    assert_eq!(stats.errors(), 4 * PER as u64, "{stats}");
    assert_eq!(stats.status_class(5), 4 * PER as u64, "{stats}");
    let json: serde_json::Value = serde_json::from_str(&metrics.live_json(None)).unwrap();
    assert_eq!(
        json["routes"][0]["errors_total"].as_u64(),
        Some(4 * PER as u64),
        "{json}"
    );
}

/// A handler that answers with an informational status (other than 101) gives no final
/// response: the server sends its client a 500 instead, and a 500 server error is recorded,
/// over HTTP/1.1 and h2c alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_informational_final_status_is_recorded_as_what_the_client_got() {
    let metrics = PrometheusBuilder::new()
        .process_metrics(false)
        .runtime_metrics(false)
        .build()
        .unwrap();
    let app = app(metrics.layer());
    let (addr, server) = crate::common::serve_on_loopback(app);
    let mut seen = Vec::new();
    // A client of its own for each request: the server closes a connection after such an
    // answer, and a pooled one could send the next request down a closed connection, where it
    // never reaches the server.
    for client in [Client::new as fn() -> Client, Client::h2] {
        for code in [100, 103] {
            let url = format!("http://{addr}/answer/{code}");
            seen.push(client().try_get(&url).await);
        }
    }
    server.abort();
    let text = metrics.render();
    let served: Vec<_> = seen.iter().flatten().collect();
    // What the clients got: 500 wherever they got a response.
    assert!(served.iter().all(|s| **s == 500), "{seen:?}");
    let recorded: u64 = text
        .lines()
        .filter(|l| {
            l.starts_with("http_server_request_duration_seconds_count{")
                && l.contains("http_response_status_code=\"500\"")
                && l.contains("error_type=\"500\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(recorded, 4, "{seen:?}\n{text}");
    assert!(!text.contains("http_response_status_code=\"10"), "{text}");
}

/// With classes on, the request log still says which code each request got, and the metrics
/// of an app whose unmatched requests all get axum's 404 raise no warning about nested
/// services (a 404 keyed as `4xx` is still a 404).
#[test]
fn the_request_log_keeps_the_code() {
    let captured = crate::common::Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .json()
        .finish();
    let meter = TestMeter::new();
    let layer = meter
        .layer_builder()
        .status_classes(true)
        .request_log(routemeter::RequestLog::all())
        .build();
    let app = app(layer);
    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            for path in ["/answer/503", "/answer/404", "/answer/201", "/nowhere"] {
                crate::common::get(&app, path).await;
            }
        });
    });
    let text = captured.text();
    let statuses: Vec<u64> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| {
            l["fields"]["message"] == "request finished" || l["message"] == "request finished"
        })
        .filter_map(|l| {
            l["fields"]["status"]
                .as_u64()
                .or_else(|| l["status"].as_u64())
        })
        .collect();
    assert_eq!(statuses, [503, 404, 201, 404], "{text}");
    assert!(!text.contains("nest_service"), "{text}");
    let stats = meter.snapshot().route("/answer/{code}");
    assert_eq!(stats.status_class(5), 1, "{stats}");
    assert_eq!(stats.status_class(4), 1, "{stats}");
}
