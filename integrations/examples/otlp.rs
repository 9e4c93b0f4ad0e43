//! The quickstart's routes, measured by routemeter and exported as OTLP/HTTP protobuf: the way to
//! New Relic, Honeycomb, Grafana Cloud, Datadog's OTLP intake or an OpenTelemetry Collector.
//!
//! Run it with a collector (or any OTLP/HTTP receiver) listening on port 4318:
//!
//! ```sh
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=shop \
//!     OTEL_METRIC_EXPORT_INTERVAL=10000 cargo run -p routemeter-integrations --example otlp
//! curl localhost:3000/users/42; curl localhost:3000/slow; curl localhost:3000/error
//! ```
//!
//! The standard OpenTelemetry variables are honoured: `OTEL_EXPORTER_OTLP_ENDPOINT` (the base
//! URL; metrics go to its `/v1/metrics`, default `http://localhost:4318`; or
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` for the full URL), `OTEL_EXPORTER_OTLP_HEADERS`
//! (e.g. an API key), `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds between exports, default
//! 60000), `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.
//!
//! It listens on `127.0.0.1:3000`; set `ROUTEMETER_ADDR` to listen elsewhere (`127.0.0.1:0` picks
//! a free port). The first line of standard output is `listening on http://ADDR`. Ctrl-C or
//! SIGTERM stops it after in-flight requests finish and a last export.
//!
//! The layer uses the OpenTelemetry conventions' own names
//! (`NamingScheme::OpenTelemetryDotted`): `http.server.request.duration` (unit `s`, explicit
//! bucket bounds `DEFAULT_DURATION_BUCKETS`), `http.server.active_requests`, and
//! `http.server.request.body.size` / `http.server.response.body.size` (unit `By`), with the
//! attributes `http.request.method`, `http.route`, `http.response.status_code`, `error.type`,
//! `url.scheme` and `network.protocol.version`.
//!
//! The `metrics` facade reaches OpenTelemetry through `metrics-exporter-otel`, which records
//! each observation straight into the OpenTelemetry SDK's instruments (no sample buffer of its
//! own); the SDK aggregates and `opentelemetry-otlp` sends. The README's dependency table says
//! why this bridge.

use std::net::SocketAddr;

use metrics::KeyName;
use metrics_exporter_otel::OpenTelemetryRecorder;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use routemeter::{
    DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS, Naming, NamingScheme, RouteMeterLayer,
};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

use routemeter_demo::quickstart;

/// The OpenTelemetry meter provider that exports OTLP/HTTP protobuf, and a `metrics` recorder
/// that records into it, with routemeter's bucket bounds for the histograms of `naming`.
///
/// The exporter reads `OTEL_EXPORTER_OTLP_ENDPOINT` (and the other `OTEL_EXPORTER_OTLP_*`
/// variables), the periodic reader `OTEL_METRIC_EXPORT_INTERVAL`, and the resource
/// `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.
pub(crate) fn otlp_recorder(
    naming: &Naming,
) -> Result<(SdkMeterProvider, OpenTelemetryRecorder), Box<dyn std::error::Error>> {
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()?;
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter).build())
        .with_resource(Resource::builder().build())
        .build();
    let recorder = OpenTelemetryRecorder::new(provider.meter("routemeter"));
    // Bounds are set per metric name before the first observation: without them the SDK would
    // use its default bounds, which are meant for milliseconds.
    recorder.set_histogram_bounds(
        &KeyName::from(naming.duration().to_owned()),
        DEFAULT_DURATION_BUCKETS.to_vec(),
    );
    for size in [naming.request_size(), naming.response_size()]
        .into_iter()
        .flatten()
    {
        recorder.set_histogram_bounds(
            &KeyName::from(size.to_owned()),
            DEFAULT_SIZE_BUCKETS.to_vec(),
        );
    }
    Ok((provider, recorder))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::var("ROUTEMETER_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()
        .map_err(|e| format!("ROUTEMETER_ADDR is not a socket address: {e}"))?;
    tracing::subscriber::set_global_default(quickstart::log_subscriber(false, std::io::stderr))?;

    let naming = Naming::new(NamingScheme::OpenTelemetryDotted);
    let (provider, recorder) = otlp_recorder(&naming)?;
    metrics::set_global_recorder(recorder)?;
    let layer = RouteMeterLayer::builder()
        .naming(naming)
        .body_sizes(true)
        .build();
    let app = quickstart::routes()
        .layer(layer)
        // Outside the layer, so a panicking handler is recorded as `error.type=panic`.
        .layer(CatchPanicLayer::new());

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        quickstart::serve(listener, app, quickstart::shutdown_signal()).await
    })?;
    drop(runtime);
    // Exports what was recorded since the last periodic export, then stops the reader.
    provider.shutdown()?;
    println!("shut down");
    Ok(())
}
