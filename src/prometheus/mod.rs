//! The default exporter: a Prometheus recorder whose buckets fit the routemeter histograms, and
//! the `/metrics` endpoint.
//!
//! [`install`] is the usual start: it installs a global recorder and returns [`PrometheusMetrics`],
//! which renders the exposition and builds layers whose names match its bucket settings.
//! [`PrometheusSetup::build`] does the same without touching global state.
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
//! [`PrometheusSetup::native_histograms`] is on.
//!
//! Besides the route metrics, the endpoint exports process metrics (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_open_fds`, `process_threads`,
//! `process_start_time_seconds`, …, from the `metrics-process` crate) and Tokio runtime metrics
//! (`tokio_runtime_workers`, `tokio_runtime_alive_tasks`, `tokio_runtime_global_queue_depth`,
//! `tokio_runtime_worker_busy_seconds_total`, `tokio_runtime_worker_parks_total`), collected at each
//! render; [`PrometheusSetup::process_metrics`] and [`PrometheusSetup::runtime_metrics`] turn
//! them off.
//!
//! [`PrometheusMetrics::live_page`] serves a live stats page from the same recorder: a table of
//! routes with rates, errors, percentiles and requests in flight, updated in the browser.
//!
//! ```
//! use axum::{Router, routing::get};
//!
//! # fn main() -> Result<(), routemeter::prometheus::SetupError> {
//! let metrics = routemeter::prometheus::PrometheusSetup::new().build()?;
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "user" }))
//!     .route("/metrics", metrics.endpoint())
//!     .layer(metrics.layer());
//! # Ok(())
//! # }
//! ```

mod accept;
mod clash;
mod histogram;
mod live;
mod native;
mod process;
mod protobuf;
mod scrape;
mod store;
mod text;

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::layer::{RouteMeterBuilder, RouteMeterLayer};
use crate::names::{DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS, Naming};
use accept::negotiate;
#[cfg(feature = "axum")]
pub use live::LivePageError;
use process::Collectors;
use scrape::{Exposition, SharedRenders};
pub use store::PrometheusRecorder;
use store::{Buckets, Store};
use text::Format;

/// The `Content-Type` of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `Content-Type` of the Prometheus protobuf format (delimited `MetricFamily` messages),
/// the one that carries native histograms.
pub const PROTOBUF_CONTENT_TYPE: &str = protobuf::CONTENT_TYPE;

/// The schema of native histograms unless set with
/// [`PrometheusSetup::native_histogram_schema`]: 8 buckets per power of two, each at most
/// 9.05% wide, so a quantile is off by at most about ±4.4% of the value (half a bucket).
pub const DEFAULT_NATIVE_HISTOGRAM_SCHEMA: i8 = 3;

/// The `Content-Type` of the OpenMetrics text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Bucket bounds of histograms that are not routemeter's and were given none with
/// [`PrometheusSetup::histogram_buckets`]: the Prometheus clients' defaults, in seconds.
pub const DEFAULT_HISTOGRAM_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs a Prometheus recorder with the default settings as the global recorder.
///
/// Shortcut for `PrometheusSetup::new().install()`.
///
/// # Errors
///
/// [`SetupError::GlobalRecorderInstalled`] if a global recorder is already installed.
pub fn install() -> Result<PrometheusMetrics, SetupError> {
    PrometheusSetup::new().install()
}

/// Why a Prometheus set-up failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SetupError {
    /// A global `metrics` recorder is already installed (by an earlier `install` or by other
    /// code); the new recorder was dropped. Use [`PrometheusSetup::build`] for a recorder that is
    /// not global.
    GlobalRecorderInstalled,
    /// A global label was refused.
    Label(crate::LabelError),
    /// Bucket bounds were empty, not finite, or not strictly increasing.
    InvalidBuckets {
        /// Which histogram family they were for (`"duration"`, `"size"` or `"histogram"`), or
        /// `"native"` for a native histogram schema out of range.
        histogram: &'static str,
        /// What is wrong with them.
        reason: &'static str,
    },
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GlobalRecorderInstalled => f.write_str(
                "a global metrics recorder is already installed; build a non-global recorder with PrometheusSetup::build instead",
            ),
            Self::InvalidBuckets { histogram, reason } => {
                write!(f, "invalid {histogram} buckets: {reason}")
            }
            Self::Label(e) => write!(f, "global label: {e}"),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Label(e) => Some(e),
            _ => None,
        }
    }
}

/// Settings of the Prometheus recorder.
#[derive(Clone, Debug)]
#[must_use]
pub struct PrometheusSetup {
    naming: Naming,
    duration_buckets: Vec<f64>,
    size_buckets: Vec<f64>,
    global_labels: Vec<(String, String)>,
    other_buckets: Vec<(String, Vec<f64>)>,
    process_metrics: bool,
    runtime_metrics: bool,
    runtime: Option<tokio::runtime::Handle>,
    exemplars: bool,
    /// The schema of native histogram buckets, when on.
    native: Option<i8>,
    native_schema: i8,
}

impl Default for PrometheusSetup {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusSetup {
    /// Default names, [`DEFAULT_DURATION_BUCKETS`], [`DEFAULT_SIZE_BUCKETS`], process and
    /// runtime metrics, and exemplars.
    pub fn new() -> Self {
        Self {
            naming: Naming::default(),
            duration_buckets: DEFAULT_DURATION_BUCKETS.to_vec(),
            size_buckets: DEFAULT_SIZE_BUCKETS.to_vec(),
            global_labels: Vec::new(),
            other_buckets: Vec::new(),
            process_metrics: true,
            runtime_metrics: true,
            runtime: None,
            exemplars: true,
            native: None,
            native_schema: DEFAULT_NATIVE_HISTOGRAM_SCHEMA,
        }
    }

    /// Whether histograms also keep native (exponential) buckets beside their fixed ones (off
    /// by default), for scrapers that ask for the protobuf format, as Prometheus does with
    /// native histograms on. The text formats are the same either way.
    ///
    /// Each observation then also counts in a bucket of a power-of-two series (schema
    /// [`DEFAULT_NATIVE_HISTOGRAM_SCHEMA`] unless set), with a zero bucket for magnitudes up to
    /// 2^-128 and buckets of their own for negative values. Memory stays bounded: a series keeps
    /// a window of 160 buckets (about 2.6 KB more per histogram series, twice that once a
    /// negative value is seen); values spread wider lower the resolution by halves, as the Go
    /// client does at its bucket limit, and it is never raised again while the process lives.
    pub fn native_histograms(mut self, on: bool) -> Self {
        self.native = on.then_some(self.native_schema);
        self
    }

    /// The schema of native histograms (see [`native_histograms`](Self::native_histograms)):
    /// from −4 (a factor 65,536 per bucket) to 8 (256 buckets per power of two). Bucket `i`
    /// holds values up to `2^(i × 2^-schema)`.
    ///
    /// # Errors
    ///
    /// [`SetupError::InvalidBuckets`] when `schema` is outside −4..=8.
    pub fn native_histogram_schema(mut self, schema: i8) -> Result<Self, SetupError> {
        if !(native::MIN_SCHEMA..=native::MAX_SCHEMA).contains(&schema) {
            return Err(SetupError::InvalidBuckets {
                histogram: "native",
                reason: "the schema must be from -4 to 8",
            });
        }
        self.native_schema = schema;
        self.native = self.native.map(|_| schema);
        Ok(self)
    }

    /// Whether to export process metrics (CPU, memory, file descriptors, threads; on by
    /// default), collected at each render. See the names in the [module docs](self).
    pub fn process_metrics(mut self, on: bool) -> Self {
        self.process_metrics = on;
        self
    }

    /// Whether to export Tokio runtime metrics (on by default), collected at each render from
    /// the runtime this set-up is built in, or the one given to
    /// [`tokio_runtime`](Self::tokio_runtime). Built outside a runtime with none given, there
    /// are none to export.
    pub fn runtime_metrics(mut self, on: bool) -> Self {
        self.runtime_metrics = on;
        self
    }

    /// The Tokio runtime whose metrics are exported (the current one unless set).
    pub fn tokio_runtime(mut self, runtime: tokio::runtime::Handle) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Whether layers from this set-up keep exemplars (on by default): the trace id of the
    /// request's W3C `traceparent` header, shown per duration bucket to scrapes that ask for
    /// OpenMetrics. Off, requests skip the header look-up.
    pub fn exemplars(mut self, on: bool) -> Self {
        self.exemplars = on;
        self
    }

    fn collectors(&self) -> Arc<Collectors> {
        let runtime = self
            .runtime_metrics
            .then(|| {
                self.runtime
                    .clone()
                    .or_else(|| tokio::runtime::Handle::try_current().ok())
            })
            .flatten();
        Arc::new(Collectors::new(self.process_metrics, runtime))
    }

    /// The names the layers will use: bucket settings are attached to exactly these histograms.
    pub fn naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    /// Upper bounds of the duration histogram's buckets (and the time-to-head histogram's), in
    /// seconds.
    ///
    /// # Errors
    ///
    /// [`SetupError::InvalidBuckets`] unless the bounds are non-empty, finite and strictly
    /// increasing.
    pub fn duration_buckets(mut self, bounds: &[f64]) -> Result<Self, SetupError> {
        self.duration_buckets = check_buckets("duration", bounds)?;
        Ok(self)
    }

    /// Upper bounds of the body-size histograms' buckets, in bytes.
    ///
    /// # Errors
    ///
    /// [`SetupError::InvalidBuckets`] unless the bounds are non-empty, finite and strictly
    /// increasing.
    pub fn size_buckets(mut self, bounds: &[f64]) -> Result<Self, SetupError> {
        self.size_buckets = check_buckets("size", bounds)?;
        Ok(self)
    }

    /// Bucket bounds for another histogram of the application, recorded through the `metrics`
    /// macros under `name` (without them it gets [`DEFAULT_HISTOGRAM_BUCKETS`]).
    ///
    /// # Errors
    ///
    /// [`SetupError::InvalidBuckets`] unless the bounds are non-empty, finite and strictly
    /// increasing.
    pub fn histogram_buckets(
        mut self,
        name: impl Into<String>,
        bounds: &[f64],
    ) -> Result<Self, SetupError> {
        let bounds = check_buckets("histogram", bounds)?;
        self.other_buckets.push((name.into(), bounds));
        Ok(self)
    }

    /// Adds a label to every series the recorder exports, including ones not from routemeter
    /// (a series that sets the same label keeps its own value).
    ///
    /// # Errors
    ///
    /// [`SetupError::Label`] when `key` is not a Prometheus label name
    /// (`[a-zA-Z_][a-zA-Z0-9_]*`), is reserved (`__…`, `le`, `quantile`, or a label the layer
    /// sets itself), or was given already.
    pub fn global_label(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, SetupError> {
        let key = key.into();
        crate::names::check_label_name(&key, false, self.global_labels.iter().map(|(k, _)| k))
            .map_err(SetupError::Label)?;
        self.global_labels.push((key, value.into()));
        Ok(self)
    }

    fn recorder(&self) -> PrometheusRecorder {
        let n = &self.naming;
        let durations: Arc<[f64]> = Arc::from(self.duration_buckets.as_slice());
        let mut by_name: Vec<(String, Arc<[f64]>)> = vec![
            (n.duration().to_owned(), Arc::clone(&durations)),
            (n.rpc_duration().to_owned(), Arc::clone(&durations)),
            (n.time_to_head().to_owned(), durations),
        ];
        for name in [n.request_size(), n.response_size()].into_iter().flatten() {
            by_name.push((name.to_owned(), Arc::from(self.size_buckets.as_slice())));
        }
        // Later settings for the same name win: put them first.
        for (name, bounds) in self.other_buckets.iter().rev() {
            by_name.insert(0, (name.clone(), Arc::from(bounds.as_slice())));
        }
        let buckets = Buckets {
            by_name,
            default: Arc::from(DEFAULT_HISTOGRAM_BUCKETS),
        };
        PrometheusRecorder {
            store: Arc::new(Store::new(&self.global_labels, buckets).with_native(self.native)),
        }
    }

    /// Installs the recorder as the `metrics` facade's global recorder.
    ///
    /// Every `metrics` macro in the program then reports to it, and so do layers built with the
    /// default (global) source, before or after this call. No thread is started.
    ///
    /// # Errors
    ///
    /// [`SetupError::GlobalRecorderInstalled`] if a global recorder is already installed.
    pub fn install(self) -> Result<PrometheusMetrics, SetupError> {
        let recorder = self.recorder();
        metrics::set_global_recorder(recorder.clone())
            .map_err(|_| SetupError::GlobalRecorderInstalled)?;
        Ok(self.metrics(recorder, true))
    }

    /// Builds a recorder that is not installed anywhere.
    ///
    /// Layers from [`PrometheusMetrics::layer`] record into it. Nothing process-wide changes, so
    /// any number of these can exist side by side (one per test, one per tenant). No thread is
    /// started.
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for settings checked at build time.
    pub fn build(self) -> Result<PrometheusMetrics, SetupError> {
        let recorder = self.recorder();
        Ok(self.metrics(recorder, false))
    }

    fn metrics(self, recorder: PrometheusRecorder, global: bool) -> PrometheusMetrics {
        use metrics::Recorder as _;
        let collectors = self.collectors();
        collectors.describe(&recorder);
        recorder.describe_counter(
            SCRAPES.into(),
            None,
            "Scrapes answered by the metrics endpoint.".into(),
        );
        recorder.describe_counter(
            RENDERS.into(),
            None,
            "Renders of the exposition for those scrapes; concurrent scrapes share one.".into(),
        );
        PrometheusMetrics {
            recorder,
            global,
            naming: self.naming,
            exemplars: self.exemplars,
            collectors,
            renders: Arc::default(),
            live: Arc::default(),
        }
    }
}

fn check_buckets(histogram: &'static str, bounds: &[f64]) -> Result<Vec<f64>, SetupError> {
    let reason = if bounds.is_empty() {
        Some("no bounds given")
    } else if bounds.iter().any(|b| !b.is_finite()) {
        Some("bounds must be finite (the +Inf bucket is implied)")
    } else if bounds.windows(2).any(|w| w[0] >= w[1]) {
        Some("bounds must be strictly increasing")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(SetupError::InvalidBuckets { histogram, reason }),
        None => Ok(bounds.to_vec()),
    }
}

/// A Prometheus recorder set up for routemeter: renders the exposition and builds layers that
/// record into it with matching names. Cheap to clone.
#[derive(Clone)]
pub struct PrometheusMetrics {
    recorder: PrometheusRecorder,
    /// Whether `recorder` is the installed global recorder.
    global: bool,
    naming: Naming,
    exemplars: bool,
    collectors: Arc<Collectors>,
    renders: Arc<SharedRenders>,
    /// The live page's history, made by the first page or JSON asked for.
    live: Arc<OnceLock<Arc<live::Live>>>,
}

impl fmt::Debug for PrometheusMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusMetrics")
            .field("naming", &self.naming)
            .field("global", &self.global)
            .field("exemplars", &self.exemplars)
            .finish_non_exhaustive()
    }
}

impl PrometheusMetrics {
    /// The current metrics in the Prometheus text exposition format (0.0.4), after collecting
    /// the process and runtime metrics.
    #[must_use]
    pub fn render(&self) -> String {
        self.collect();
        self.recorder.store.render(Format::Prometheus)
    }

    /// The current metrics in the OpenMetrics text format, with exemplars, after collecting
    /// the process and runtime metrics.
    #[must_use]
    pub fn render_openmetrics(&self) -> String {
        self.collect();
        self.recorder.store.render(Format::OpenMetrics)
    }

    /// The current metrics in the Prometheus protobuf format ([`PROTOBUF_CONTENT_TYPE`]):
    /// delimited `MetricFamily` messages, with native buckets when
    /// [`native_histograms`](PrometheusSetup::native_histograms) is on, after collecting the
    /// process and runtime metrics.
    #[must_use]
    pub fn render_protobuf(&self) -> Vec<u8> {
        self.collect();
        protobuf::render(&self.recorder.store)
    }

    /// Records the current process and runtime metrics (what [`render`](Self::render) does
    /// first).
    pub fn collect(&self) {
        self.collectors.collect(&self.recorder);
    }

    /// The recorder itself, for code that records through it directly (for example with
    /// `metrics::with_local_recorder`).
    #[must_use]
    pub fn recorder(&self) -> &PrometheusRecorder {
        &self.recorder
    }

    /// The names this recorder's bucket settings were made for.
    #[must_use]
    pub fn naming(&self) -> &Naming {
        &self.naming
    }

    /// A layer builder that records into this recorder with the matching names.
    pub fn layer_builder(&self) -> RouteMeterBuilder {
        let builder = RouteMeterLayer::builder()
            .naming(self.naming.clone())
            .exemplars(self.exemplars);
        if self.global {
            builder.global_recorder()
        } else {
            builder.recorder(self.recorder.clone())
        }
    }

    /// A layer with default settings that records into this recorder with the matching names.
    #[must_use]
    pub fn layer(&self) -> RouteMeterLayer {
        self.layer_builder().build()
    }

    /// The scrape response in the Prometheus text format, for any HTTP framework: status 200,
    /// the format's content type, and the rendered metrics.
    #[must_use]
    pub fn response(&self) -> http::Response<String> {
        self.respond(Format::Prometheus)
    }

    /// The scrape response in the text format the request's `Accept` header prefers:
    /// OpenMetrics (with exemplars) when it lists `application/openmetrics-text` ahead of (or
    /// without) `text/plain`, as Prometheus does, else the Prometheus text format. Its body is
    /// text, so it never answers in protobuf: [`scrape`](Self::scrape) does.
    #[must_use]
    pub fn response_for(&self, headers: &http::HeaderMap) -> http::Response<String> {
        match negotiate(headers, false) {
            Exposition::Text(format) => self.respond(format),
            Exposition::Protobuf => self.respond(Format::Prometheus),
        }
    }

    fn respond(&self, format: Format) -> http::Response<String> {
        let (body, content_type) = match format {
            Format::Prometheus => (self.render(), CONTENT_TYPE),
            Format::OpenMetrics => (self.render_openmetrics(), OPENMETRICS_CONTENT_TYPE),
        };
        let mut response = http::Response::new(body);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
        response
    }

    /// The scrape response for a request with `headers`, in the format its `Accept` header
    /// prefers (as [`response_for`](Self::response_for), and the protobuf format when it comes
    /// first: `application/vnd.google.protobuf` with `proto=io.prometheus.client.MetricFamily`
    /// and `encoding=delimited`), for async servers of any framework.
    ///
    /// Scrapes that arrive together share one render, so any number of concurrent scrapes
    /// costs about one render at a time; yet a scrape never gets a render that started before
    /// it arrived (it waits for the next one), so it sees every request answered before it was
    /// sent. Renders run on Tokio's blocking threads, so request handling goes on meanwhile:
    /// call it within a Tokio runtime. Every scrape counts in `routemeter_scrapes_total`, every
    /// render in `routemeter_scrape_renders_total`.
    pub async fn scrape(&self, headers: &http::HeaderMap) -> http::Response<bytes::Bytes> {
        use metrics::Recorder as _;
        static META: metrics::Metadata<'static> =
            metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);
        let format = negotiate(headers, true);
        let metrics = self.clone();
        let renders = self
            .recorder
            .register_counter(&metrics::Key::from_static_name(RENDERS), &META);
        let text = self
            .renders
            .get(format, move || {
                renders.increment(1);
                metrics.render_as(format)
            })
            .await;
        self.recorder
            .register_counter(&metrics::Key::from_static_name(SCRAPES), &META)
            .increment(1);
        let mut response = http::Response::new(text.clone().unwrap_or_default());
        if text.is_none() {
            *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            return response;
        }
        let content_type = match format {
            Exposition::Text(Format::Prometheus) => CONTENT_TYPE,
            Exposition::Text(Format::OpenMetrics) => OPENMETRICS_CONTENT_TYPE,
            Exposition::Protobuf => PROTOBUF_CONTENT_TYPE,
        };
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
        response
    }

    fn render_as(&self, format: Exposition) -> bytes::Bytes {
        match format {
            Exposition::Text(Format::Prometheus) => self.render().into(),
            Exposition::Text(Format::OpenMetrics) => self.render_openmetrics().into(),
            Exposition::Protobuf => self.render_protobuf().into(),
        }
    }

    /// An axum handler for `GET` that serves [`scrape`](Self::scrape):
    /// `.route("/metrics", metrics.endpoint())`.
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn endpoint<S>(&self) -> axum::routing::MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let metrics = self.clone();
        axum::routing::get(move |headers: http::HeaderMap| {
            let metrics = metrics.clone();
            async move { metrics.scrape(&headers).await.map(axum::body::Body::from) }
        })
    }

    fn live(&self) -> &Arc<live::Live> {
        let live = self.live.get_or_init(|| {
            Arc::new(live::Live::new(
                Arc::clone(&self.recorder.store),
                self.naming.clone(),
                live::Limits::PAGE,
            ))
        });
        live.start();
        live
    }

    /// The live stats page, for axum: an HTML page at `/stats` with a per-route table, its JSON
    /// at `/stats.json`, and its script and style at `/stats.js` and `/stats.css`. Merge it
    /// into the application's router: `.merge(metrics.live_page())`.
    ///
    /// Per route and method, the page shows requests per second, the error percentage split
    /// by error type, p50, p95 and p99 durations, requests in flight and the total count, each
    /// with a sparkline of the last five minutes, and updates every two seconds without a
    /// reload. Its numbers come from this recorder, the one `/metrics` renders.
    ///
    /// A sampler reads the recorder every 2 s, off the request path (on a Tokio task, which
    /// ends when every clone of these metrics and every page router is dropped), and keeps
    /// 150 samples per route and method in fixed-size rings: rates, error percentages and
    /// percentiles over the 10 s before each sample. At most 2,000 route and method pairs get
    /// a history, about 5 KB each with the default buckets; pairs beyond that still show their totals. Call this
    /// within a Tokio runtime, or the sampler starts with the first request to the page.
    ///
    /// The page, script and style are embedded in the crate and load nothing from elsewhere;
    /// every response carries a strict `Content-Security-Policy` (`default-src 'none';
    /// script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; …`) and
    /// `X-Content-Type-Options: nosniff`. Merge it *before* the routemeter layer
    /// (`.merge(metrics.live_page()).layer(metrics.layer())`): axum's `Router::merge` keeps the
    /// fallback of the router merged in, so merging after the layer would replace the measured
    /// fallback with an unmeasured one, and 404s would go unrecorded.
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn live_page<S>(&self) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        live::router(self.live(), "/stats", "stats")
    }

    /// The live stats page of [`live_page`](Self::live_page) at another path: the page at
    /// `path`, its JSON, script and style at `{path}.json`, `{path}.js` and `{path}.css`.
    ///
    /// # Errors
    ///
    /// [`LivePageError`] unless `path` starts with `/`, does not end with `/`, and has only
    /// ASCII letters, digits, `-`, `_`, `.` and `/` (without empty, `.` or `..` segments).
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn live_page_at<S>(&self, path: &str) -> Result<axum::Router<S>, LivePageError>
    where
        S: Clone + Send + Sync + 'static,
    {
        let name = live::check_path(path)?;
        Ok(live::router(self.live(), path, name))
    }

    /// The live page's JSON (what `/stats.json` serves), for serving it from any framework.
    ///
    /// At the top: `interval_ms` and `window_ms` (how often samples are taken and the span
    /// each covers), `capacity` (samples kept), `seq` (the newest sample's number) and
    /// `time_ms` (when it was taken, Unix milliseconds), `instance` (changes when the server
    /// restarts, and with it the numbering), `untracked` (pairs beyond the history limit) and
    /// `routes`, sorted by route then method.
    ///
    /// Per route and method: `total`, `errors_total`, `error_totals` (`[error_type, count]`
    /// pairs) and `in_flight`, read now from the recorder, so they match what `/metrics`
    /// renders at the same moment; `rate`, `error_pct`, `errors` (`[error_type, percent]`),
    /// `p50`, `p95` and `p99` (seconds) over the newest sample's window; and `history`, the
    /// kept samples of each of those (and `in_flight`) numbered from `from` up to the
    /// top-level `seq`. With `since`, the history holds only the samples after that number
    /// (all kept ones when it is older than the oldest kept). Missing values are `null`.
    #[must_use]
    pub fn live_json(&self, since: Option<u64>) -> String {
        self.live().json(since)
    }
}

/// Scrapes answered by [`PrometheusMetrics::scrape`].
const SCRAPES: &str = "routemeter_scrapes_total";
/// Renders those scrapes took (concurrent scrapes share one).
const RENDERS: &str = "routemeter_scrape_renders_total";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_validation() {
        assert!(PrometheusSetup::new().duration_buckets(&[0.1, 0.2]).is_ok());
        assert!(
            PrometheusSetup::new()
                .histogram_buckets("x", &[1.0, 0.5])
                .is_err()
        );
        for bad in [
            &[][..],
            &[0.2, 0.1],
            &[0.1, 0.1],
            &[0.1, f64::INFINITY],
            &[f64::NAN],
        ] {
            let err = PrometheusSetup::new().duration_buckets(bad).unwrap_err();
            assert!(
                err.to_string().starts_with("invalid duration buckets"),
                "{err}"
            );
        }
    }
}
