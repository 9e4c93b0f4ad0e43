//! The stacks every benchmark compares, built the same way in each: one axum router with the
//! route `/users/{id}`, bare or behind a metrics middleware.
#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use routemeter::prometheus::{PrometheusBuilder, PrometheusMetrics};
use tower::ServiceExt;

mod floor;
mod wrap;

/// The stacks, in the order tables list them.
pub const STACKS: [&str; 15] = [
    "bare",
    "no-op layer (axum's own cost of any layer)",
    "routemeter (README set-up: install() + metrics.layer())",
    "routemeter (explicit recorder)",
    "routemeter + request logs (every request)",
    "tower-http TraceLayer (span + response event)",
    "axum-prometheus 0.10",
    "naive from_fn + metrics macros",
    "routemeter + time to head",
    "routemeter + body sizes",
    "wrapping layer (future and body passed through)",
    "floor (clock, MatchedPath, gauge, one histogram)",
    "routemeter + a request label (one value)",
    "routemeter (explicit recorder) + status classes",
    "routemeter (explicit recorder) + buckets of the route's own",
];

/// Installs (once) a JSON log subscriber at INFO that writes to a sink, for every stack alike:
/// the logging stacks pay for formatting their events, the others for nothing.
fn log_subscriber() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::sink)
            .json()
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

fn routes() -> Router {
    Router::new().route("/users/{id}", get(|| async { "user" }))
}

/// Installs (once) routemeter's global Prometheus set-up, with buckets for the peers' duration
/// histograms too, as their own set-ups would add.
pub fn global_metrics() -> &'static PrometheusMetrics {
    static METRICS: OnceLock<PrometheusMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let buckets = routemeter::DEFAULT_DURATION_BUCKETS;
        PrometheusBuilder::new()
            .histogram_buckets("axum_http_requests_duration_seconds", buckets)
            .unwrap()
            .histogram_buckets("naive_http_request_duration_seconds", buckets)
            .unwrap()
            .histogram_buckets("floor_http_server_request_duration_seconds", buckets)
            .unwrap()
            .install()
            .unwrap()
    })
}

/// A non-global Prometheus recorder made by routemeter's own set-up.
pub fn explicit_metrics() -> &'static PrometheusMetrics {
    static METRICS: OnceLock<PrometheusMetrics> = OnceLock::new();
    METRICS.get_or_init(|| PrometheusBuilder::new().build().unwrap())
}

/// What a middleware written in ten minutes with `from_fn` and the `metrics` macros looks like.
async fn naive_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let labels = [("method", method), ("route", route)];
    metrics::gauge!("naive_http_requests_active", &labels).increment(1);
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let [(_, method), (_, route)] = labels.clone();
    metrics::histogram!(
        "naive_http_request_duration_seconds",
        "method" => method, "route" => route, "status" => status
    )
    .record(start.elapsed().as_secs_f64());
    metrics::gauge!("naive_http_requests_active", &labels).decrement(1);
    response
}

/// The router of stack `name` (one of [`STACKS`]), with its state applied as `axum::serve`
/// does, so handlers are not re-boxed per request.
pub fn app(name: &str) -> Router {
    global_metrics();
    log_subscriber();
    let app = match name {
        "bare" => routes(),
        "no-op layer (axum's own cost of any layer)" => {
            routes().layer(tower::layer::util::Identity::new())
        }
        "routemeter (README set-up: install() + metrics.layer())" => {
            routes().layer(global_metrics().layer())
        }
        "routemeter (explicit recorder)" => routes().layer(explicit_metrics().layer()),
        "routemeter + request logs (every request)" => routes().layer(
            explicit_metrics()
                .layer_builder()
                .request_log(routemeter::RequestLog::all())
                .build(),
        ),
        "tower-http TraceLayer (span + response event)" => {
            use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
            routes().layer(
                TraceLayer::new_for_http()
                    .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
        }
        "axum-prometheus 0.10" => routes().layer(axum_prometheus::PrometheusMetricLayer::new()),
        "naive from_fn + metrics macros" => routes().layer(middleware::from_fn(naive_metrics)),
        "routemeter + time to head" => {
            routes().layer(global_metrics().layer_builder().time_to_head(true).build())
        }
        "routemeter + body sizes" => {
            routes().layer(global_metrics().layer_builder().body_sizes(true).build())
        }
        "wrapping layer (future and body passed through)" => routes().layer(wrap::WrapLayer),
        "floor (clock, MatchedPath, gauge, one histogram)" => routes().layer(floor::FloorLayer),
        "routemeter (explicit recorder) + status classes" => routes().layer(
            explicit_metrics()
                .layer_builder()
                .status_classes(true)
                .build(),
        ),
        "routemeter (explicit recorder) + buckets of the route's own" => {
            static METRICS: OnceLock<PrometheusMetrics> = OnceLock::new();
            let metrics = METRICS.get_or_init(|| {
                PrometheusBuilder::new()
                    .route_buckets("/users/{id}", &[0.001, 0.002, 0.003, 0.004, 0.005])
                    .unwrap()
                    .build()
                    .unwrap()
            });
            routes().layer(metrics.layer())
        }
        // What the label's machinery costs: the function itself is a constant here.
        "routemeter + a request label (one value)" => routes().layer(
            global_metrics()
                .layer_builder()
                .request_label("tenant", 10, |_| Some("acme"))
                .unwrap()
                .build(),
        ),
        other => panic!("unknown stack {other}"),
    };
    app.with_state(())
}

/// One in-process request to `/users/{id}`, body read to the end.
pub async fn request(app: &Router, id: u64) {
    let req = http::Request::get(format!("/users/{id}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    std::hint::black_box(body);
}

/// Resident set size of this process, in bytes (Linux).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// A current-thread runtime for in-process benchmarks.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
