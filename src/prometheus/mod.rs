//! The default exporter: a Prometheus recorder whose buckets fit the routemeter histograms, and
//! the `/metrics` endpoint.
//!
//! [`install`] is the usual start: it installs a global recorder and returns [`PrometheusMetrics`],
//! which renders the exposition and builds layers whose names match its bucket settings.
//! [`PrometheusBuilder::build`] does the same without touching global state.
//!
//! The recorder ([`PrometheusRecorder`]) counts every value in place: histograms have fixed
//! buckets of atomic counters, read through a hot/cold swap so that a scrape sees a consistent
//! cut (every bucket at most `_count`, `+Inf` equal to it). There is no sample buffer, so
//! there is no upkeep thread and no sample is lost however scrapes and requests interleave.
//! Scrapes that ask for OpenMetrics (`Accept: application/openmetrics-text`) get it, with
//! the trace id of a recent request per duration bucket as an exemplar, taken from the
//! request's W3C `traceparent` header.
//! Scrapes that ask for the protobuf format first (as Prometheus does with its native
//! histograms on) get it, with native (exponential) buckets beside the fixed ones when
//! [`PrometheusBuilder::native_histograms`] is on.
//!
//! Besides the route metrics, the endpoint exports process metrics (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_open_fds`, `process_threads`,
//! `process_start_time_seconds`, …, from the `metrics-process` crate) and Tokio runtime metrics
//! (`tokio_runtime_workers`, `tokio_runtime_alive_tasks`, `tokio_runtime_global_queue_depth`,
//! `tokio_runtime_worker_busy_seconds_total`, `tokio_runtime_worker_parks_total`), collected at each
//! render; [`PrometheusBuilder::process_metrics`] and [`PrometheusBuilder::runtime_metrics`] turn
//! them off.
//!
//! [`PrometheusMetrics::live_page`] serves a live stats page from the same recorder: a table of
//! routes with rates, errors, percentiles and requests in flight, updated in the browser.
//!
//! ```
//! use axum::{Router, routing::get};
//!
//! # fn main() -> Result<(), routemeter::prometheus::PrometheusError> {
//! let metrics = routemeter::prometheus::PrometheusBuilder::new().build()?;
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "user" }))
//!     .route("/metrics", metrics.endpoint())
//!     .layer(metrics.layer());
//! # Ok(())
//! # }
//! ```

mod builder;
mod clash;
mod exposition;
mod handle;
mod histogram;
mod live;
mod native;
mod process;
mod store;

pub use builder::{
    DEFAULT_NATIVE_HISTOGRAM_SCHEMA, DEFAULT_OTHER_HISTOGRAM_BUCKETS, PrometheusBuilder,
    PrometheusError, install,
};
pub use exposition::{CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE};
pub use handle::PrometheusMetrics;
#[cfg(feature = "axum")]
pub use live::LivePageError;
pub use store::PrometheusRecorder;
