//! The quickstart's application: a small shop of routes measured by routemeter, with a Prometheus
//! `/metrics` endpoint and the live stats page (`examples/quickstart.rs` serves it on a port).

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use routemeter::RequestLog;
use routemeter::prometheus::{PrometheusBuilder, PrometheusMetrics};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

/// `/slow`'s duration buckets: it answers in 100 to 300 ms, where the default bounds have
/// only 0.1 and 0.25, so it gets a bound every 25 ms there.
pub const SLOW_BUCKETS: [f64; 9] = [0.1, 0.125, 0.15, 0.175, 0.2, 0.225, 0.25, 0.275, 0.3];

/// The quickstart's Prometheus recorder: the defaults, and [`SLOW_BUCKETS`] for `/slow`.
pub fn prometheus() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .route_buckets("/slow", &SLOW_BUCKETS)
        .expect("SLOW_BUCKETS are finite and increasing, and /slow is a route template")
}

/// The application's own routes, without metrics (the OTLP and DogStatsD examples serve them
/// too).
pub fn routes() -> Router {
    Router::new()
        .route("/", get(|| async { "routemeter quickstart\n" }))
        .route("/users/{id}", get(user))
        .route("/users", post(create_user))
        .route("/slow", get(slow))
        .route(
            "/error",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "failed\n") }),
        )
        .route("/panic", get(panics))
        .route("/stream", get(stream))
}

/// The application: its routes, the `/metrics` endpoint, the routemeter layer and the live stats
/// page.
pub fn app(metrics: &PrometheusMetrics) -> Router {
    routes()
        .route("/metrics", metrics.endpoint())
        // The live stats page (`/stats`, `/stats.json`, `/stats.js`, `/stats.css`). Merged before
        // the layer: `merge` keeps the merged router's fallback, so after the layer it would
        // leave 404s unmeasured.
        .merge(metrics.live_page())
        // Every request above is measured per route template, and so is every request that
        // matches none (`__unmatched__`); failures and slow requests are logged; each request
        // is labelled with its tenant (the `x-tenant` header: the first 10 tenants, later ones
        // as `__overflow__`, a request without the header as `_OTHER`).
        // (`.layer(metrics.layer())` is the one-line version without logs or tenants.)
        .layer(
            metrics
                .layer_builder()
                .body_sizes(true)
                .request_log(RequestLog::failures_and_slow(Duration::from_millis(250)))
                .request_label("tenant", routemeter::DEFAULT_REQUEST_LABEL_VALUES, |req| {
                    req.headers().get("x-tenant")?.to_str().ok()
                })
                .expect("`tenant` is a label name and 10 a budget")
                .build(),
        )
        // Outside the layer, so a panicking handler is recorded as `error_type="panic"` and the
        // client still gets a 500.
        .layer(CatchPanicLayer::new())
        // Outermost: a request id for every request (kept if the client sent one), returned in
        // the response.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The log subscriber: JSON lines when `json`, human-readable lines otherwise, written to
/// `writer`, at INFO and above; in colour only when standard error is a terminal, so logs
/// redirected to a file carry no escape codes.
pub fn log_subscriber<W>(json: bool, writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    if json {
        Box::new(builder.json().flatten_event(true).finish())
    } else {
        Box::new(builder.compact().finish())
    }
}

async fn user(Path(id): Path<u64>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "id": id, "name": format!("user {id}") }))
}

async fn create_user(body: Bytes) -> (StatusCode, String) {
    (
        StatusCode::CREATED,
        format!("created from {} bytes\n", body.len()),
    )
}

/// Sleeps between 100 and 300 ms.
async fn slow() -> &'static str {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    tokio::time::sleep(Duration::from_millis(100 + u64::from(nanos % 201))).await;
    "slow\n"
}

async fn panics() -> &'static str {
    panic!("this handler always panics")
}

/// Streams ten chunks, 100 ms apart.
async fn stream() -> Body {
    let chunks = futures_util::stream::unfold(0u32, |i| async move {
        if i == 10 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((
            Ok::<_, Infallible>(Bytes::from(format!("chunk {i}\n"))),
            i + 1,
        ))
    });
    Body::from_stream(chunks)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
