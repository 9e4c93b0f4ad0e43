//! Request logs: the quickstart's JSON log lines, captured and parsed, carry the route, the
//! request id and the same duration the histogram recorded; successes stay quiet.
//! One test function, because the log subscriber is process-wide.

mod common;

mod quickstart_server;

use std::io::Write;
use std::sync::{Arc, Mutex};

use routemeter::Naming;
use routemeter::testing::Snapshot;
use serde_json::Value;

/// A writer whose output the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;

    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_logs_failed_and_slow_requests_as_json() {
    let captured = Captured::default();
    tracing::subscriber::set_global_default(quickstart_server::quickstart::log_subscriber(
        true,
        captured.clone(),
    ))
    .unwrap();

    let metrics = routemeter::prometheus::PrometheusSetup::new()
        .build()
        .unwrap();
    let app = quickstart_server::RunningApp::start(&metrics).await;
    let base = app.base();

    let client = common::Client::new();
    let with_id = |path: &str, id: &str| {
        let mut req = http::Request::get(format!("{base}{path}"));
        if !id.is_empty() {
            req = req.header("x-request-id", id);
        }
        req.body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap()
    };
    let ok = client.send(with_id("/users/1", "req-ok")).await;
    assert_eq!(ok.0, 200);
    assert_eq!(
        ok.1.as_deref(),
        Some("req-ok"),
        "the request id is propagated"
    );
    assert_eq!(client.send(with_id("/error", "req-error")).await.0, 500);
    assert_eq!(client.send(with_id("/panic", "req-panic")).await.0, 500);
    assert_eq!(client.send(with_id("/stream", "req-stream")).await.0, 200);
    // Without an id from the client, one is generated and logged.
    let generated = client.send(with_id("/error", "")).await;
    assert_eq!(generated.0, 500);

    let exposition = metrics.render();
    app.stop().await;

    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = output
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let finished: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "request finished")
        .collect();
    let by_id = |id: &str| {
        finished
            .iter()
            .find(|l| l["request_id"] == id)
            .copied()
            .unwrap_or_else(|| panic!("no log line for {id}:\n{output}"))
    };

    // Successful fast requests are not logged.
    assert!(
        finished.iter().all(|l| l["request_id"] != "req-ok"),
        "{output}"
    );

    let error = by_id("req-error");
    assert_eq!(error["level"], "ERROR");
    assert_eq!(error["route"], "/error");
    assert_eq!(error["method"], "GET");
    assert_eq!(error["status"], 500);
    assert_eq!(error["error_type"], "500");
    assert_eq!(error["span"]["route"], "/error");
    assert_eq!(error["span"]["request_id"], "req-error");

    let panic = by_id("req-panic");
    assert_eq!(panic["level"], "ERROR");
    assert_eq!(panic["error_type"], "panic");
    assert!(
        panic.get("status").is_none(),
        "no response was seen: {panic}"
    );

    let stream = by_id("req-stream");
    assert_eq!(stream["level"], "WARN");
    assert_eq!(stream["slow"], true);
    assert_eq!(stream["response_bytes"], 80);
    let logged_ms = stream["duration_ms"].as_f64().unwrap();
    assert!(logged_ms >= 1000.0, "{stream}");

    // The histogram recorded the very same duration.
    let snapshot = Snapshot::from_prometheus_text(&exposition, &Naming::default()).unwrap();
    let recorded_ms = snapshot.route("/stream").duration().sum() * 1000.0;
    assert!(
        (recorded_ms - logged_ms).abs() < 1e-6,
        "histogram {recorded_ms} ms, log {logged_ms} ms"
    );

    let generated_id = generated.1.expect("a generated request id");
    assert_eq!(generated_id.len(), 36, "a UUID: {generated_id}");
    assert_eq!(by_id(&generated_id)["route"], "/error");
}
