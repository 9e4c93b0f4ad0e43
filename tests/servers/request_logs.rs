//! Request logs: the quickstart's JSON log lines, captured and parsed, carry the route, the
//! request id and the same duration the histogram recorded, each field once; successes stay
//! quiet. One test sets the process-wide subscriber; the other uses a subscriber scoped to
//! its own thread.

use crate::{common, quickstart_server};

use routemeter::Naming;
use routemeter::testing::Snapshot;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_logs_failed_and_slow_requests_as_json() {
    let captured = common::Captured::default();
    tracing::subscriber::set_global_default(quickstart_server::quickstart::log_subscriber(
        true,
        captured.clone(),
    ))
    .unwrap();

    let metrics = routemeter::prometheus::PrometheusBuilder::new()
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

    let output = captured.text();
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
            .find(|l| l["span"]["request_id"] == id)
            .copied()
            .unwrap_or_else(|| panic!("no log line for {id}:\n{output}"))
    };

    // Successful fast requests are not logged.
    assert!(
        finished.iter().all(|l| l["span"]["request_id"] != "req-ok"),
        "{output}"
    );

    // Each field once: method, route and request id in the span only, everything else in the
    // event only; durations to the microsecond. The subscriber is the process's, so it also
    // gets the logs of other tests' servers: only this test's requests are looked at.
    let generated_id = generated.1.clone().expect("a generated request id");
    let ours = [
        "req-ok",
        "req-error",
        "req-panic",
        "req-stream",
        &generated_id,
    ]
    .map(|id| format!("\"request_id\":\"{id}\""));
    for line in output
        .lines()
        .filter(|l| l.contains("\"request finished\"") && ours.iter().any(|id| l.contains(id)))
    {
        let parsed: Value = serde_json::from_str(line).unwrap();
        for key in ["method", "route", "request_id"] {
            assert_eq!(
                line.matches(&format!("\"{key}\":")).count(),
                1,
                "{key}: {line}"
            );
            assert!(
                parsed.get(key).is_none(),
                "{key} repeated in the event: {line}"
            );
            assert!(
                parsed["span"].get(key).is_some(),
                "{key} not in the span: {line}"
            );
        }
        for key in [
            "duration_ms",
            "slow",
            "response_bytes",
            "error_type",
            "status",
        ] {
            assert!(
                line.matches(&format!("\"{key}\":")).count() <= 1,
                "{key}: {line}"
            );
        }
        let ms = &parsed["duration_ms"];
        let text = ms.to_string();
        let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(ms.is_f64() || ms.is_u64(), "{line}");
        assert!(decimals <= 3, "duration_ms={text}: more than microseconds");
    }

    let error = by_id("req-error");
    assert_eq!(error["level"], "ERROR");
    // The quickstart's request label (no `x-tenant` here), names and values quoted.
    assert_eq!(error["labels"], r#"[("tenant", "_OTHER")]"#);
    assert_eq!(error["span"]["method"], "GET");
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

    // The histogram recorded the very same duration; the log rounds it to the microsecond.
    let snapshot = Snapshot::from_prometheus_text(&exposition, &Naming::default()).unwrap();
    let recorded_ms = snapshot.route("/stream").duration().sum() * 1000.0;
    assert!(
        (recorded_ms - logged_ms).abs() <= 0.0005 + 1e-9,
        "histogram {recorded_ms} ms, log {logged_ms} ms"
    );

    assert_eq!(generated_id.len(), 36, "a UUID: {generated_id}");
    assert_eq!(by_id(&generated_id)["span"]["route"], "/error");
}

/// A subscriber that filters out the `INFO` span (here: `WARN` and above) still gets the
/// method, route and request id, once, in the event itself.
#[test]
fn without_the_span_the_event_carries_method_route_and_request_id() {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    let captured = common::Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(captured.clone())
        .json()
        .flatten_event(true)
        .finish();
    // A recorder of its own: another test of this binary installs the global one.
    let layer = routemeter::RouteMeterLayer::builder()
        .recorder(metrics::NoopRecorder)
        .request_log(routemeter::RequestLog::failures_and_slow(
            std::time::Duration::from_secs(5),
        ))
        .build();
    let app = Router::new()
        .route(
            "/boom/{id}",
            get(|| async { http::StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .layer(layer);
    // A scoped subscriber, on this thread only: the other test's global one never sees it.
    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let req = http::Request::get("/boom/7")
                .header("x-request-id", "req-warn")
                .body(Body::empty())
                .unwrap();
            let resp = app.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), 500);
            axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
        });
    });

    let output = captured.text();
    let line = output
        .lines()
        .find(|l| l.contains("\"request finished\""))
        .unwrap_or_else(|| panic!("no request log:\n{output}"));
    let parsed: Value = serde_json::from_str(line).unwrap();
    assert_eq!(parsed["level"], "ERROR", "{line}");
    assert_eq!(parsed["method"], "GET", "{line}");
    assert_eq!(parsed["route"], "/boom/{id}", "{line}");
    assert_eq!(parsed["request_id"], "req-warn", "{line}");
    assert_eq!(parsed["status"], 500, "{line}");
    assert!(
        parsed.get("span").is_none(),
        "the span is filtered out: {line}"
    );
    for key in ["method", "route", "request_id"] {
        assert_eq!(
            line.matches(&format!("\"{key}\":")).count(),
            1,
            "{key}: {line}"
        );
    }
}
