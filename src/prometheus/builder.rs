//! Setting the exporter up: the [`PrometheusBuilder`] builder (bucket bounds, constant labels,
//! native histograms, process and runtime metrics, exemplars), the recorder it builds, and
//! [`PrometheusError`] for settings it refuses.

use std::fmt;
use std::sync::Arc;

use super::exposition::endpoint;
use super::handle::PrometheusMetrics;
mod checks;

use super::process::Collectors;
use super::store::{Buckets, PrometheusRecorder, Store};
use crate::names::{DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS, Naming};
use checks::{check_buckets, check_native_schema, route_problem};

/// The schema of native histograms unless set with
/// [`PrometheusBuilder::native_histogram_schema`]: 8 buckets per power of two, each at most
/// 9.05% wide, so a quantile is off by at most about ±4.4% of the value (half a bucket).
pub const DEFAULT_NATIVE_HISTOGRAM_SCHEMA: i8 = 3;

/// Bucket bounds of histograms that are not routemeter's and were given none with
/// [`PrometheusBuilder::histogram_buckets`]: the Prometheus clients' defaults, in seconds.
pub const DEFAULT_OTHER_HISTOGRAM_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs a Prometheus recorder with the default settings as the global recorder.
///
/// Shortcut for `PrometheusBuilder::new().install()`.
///
/// # Errors
///
/// [`PrometheusError::GlobalRecorderInstalled`] if a global recorder is already installed.
pub fn install() -> Result<PrometheusMetrics, PrometheusError> {
    PrometheusBuilder::new().install()
}

/// Why a Prometheus set-up failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PrometheusError {
    /// A global `metrics` recorder is already installed (by an earlier `install` or by other
    /// code); the new recorder was dropped. Use [`PrometheusBuilder::build`] for a recorder that is
    /// not global.
    GlobalRecorderInstalled,
    /// A constant label was refused.
    Label(crate::LabelError),
    /// Bucket bounds were empty, not finite, or not strictly increasing.
    InvalidBuckets {
        /// Which histogram family they were for (`"duration"`, `"size"`, `"histogram"`, or
        /// `"route"` for a route's own).
        histogram: &'static str,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// A native histogram schema outside −4..=8 (the one given).
    InvalidNativeSchema(i8),
    /// A route given its own buckets or native schema that is neither a route template nor a
    /// gRPC method.
    InvalidRoute {
        /// The route as given.
        route: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for PrometheusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GlobalRecorderInstalled => f.write_str(
                "a global metrics recorder is already installed; build a non-global recorder with PrometheusBuilder::build instead",
            ),
            Self::InvalidBuckets { histogram, reason } => {
                write!(f, "invalid {histogram} buckets: {reason}")
            }
            Self::Label(e) => write!(f, "constant label: {e}"),
            Self::InvalidRoute { route, reason } => {
                write!(f, "invalid route {route:?} for settings of its own: {reason}")
            }
            Self::InvalidNativeSchema(schema) => write!(
                f,
                "native histogram schema {schema} is outside -4..=8 (8 is the finest: 256 buckets per power of two)"
            ),
        }
    }
}

impl std::error::Error for PrometheusError {
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
pub struct PrometheusBuilder {
    naming: Naming,
    duration_buckets: Vec<f64>,
    size_buckets: Vec<f64>,
    constant_labels: Vec<(String, String)>,
    other_buckets: Vec<(String, Vec<f64>)>,
    route_buckets: Vec<(String, Vec<f64>)>,
    /// Native schemas of one route each.
    route_native_schemas: Vec<(String, i8)>,
    /// Labels the live page keeps its rows apart by.
    live_labels: Vec<String>,
    process_metrics: bool,
    runtime_metrics: bool,
    runtime: Option<tokio::runtime::Handle>,
    exemplars: bool,
    /// The schema of native histogram buckets, when on.
    native: Option<i8>,
    native_schema: i8,
}

impl Default for PrometheusBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusBuilder {
    /// Default names, [`DEFAULT_DURATION_BUCKETS`], [`DEFAULT_SIZE_BUCKETS`], process and
    /// runtime metrics, and exemplars.
    pub fn new() -> Self {
        Self {
            naming: Naming::default(),
            duration_buckets: DEFAULT_DURATION_BUCKETS.to_vec(),
            size_buckets: DEFAULT_SIZE_BUCKETS.to_vec(),
            constant_labels: Vec::new(),
            other_buckets: Vec::new(),
            route_buckets: Vec::new(),
            route_native_schemas: Vec::new(),
            live_labels: Vec::new(),
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
    /// a window of 160 consecutive buckets (about 2.6 KB more per histogram series, twice that
    /// once a negative value is seen). The bound is on the span of the values, not on how many
    /// buckets are populated (the Go client bounds the latter): values spread wider than the
    /// window (20 powers of two at schema 3, about six decades) lower the resolution by halves
    /// until they fit, and it is never raised again while the process lives. So one outlier far
    /// from the rest (an infinite value, or 1e300 beside milliseconds) coarsens that series for
    /// good; request durations from 100 µs to 10 s fit at schema 3.
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
    /// [`PrometheusError::InvalidNativeSchema`] when `schema` is outside −4..=8.
    pub fn native_histogram_schema(mut self, schema: i8) -> Result<Self, PrometheusError> {
        check_native_schema(schema)?;
        self.native_schema = schema;
        self.native = self.native.map(|_| schema);
        Ok(self)
    }

    /// The native histogram schema of one route's duration histograms (the request or call
    /// duration, and the time to the response head) instead of
    /// [`native_histogram_schema`](Self::native_histogram_schema), where native histograms are
    /// on (it turns nothing on by itself): the native counterpart of
    /// [`route_buckets`](Self::route_buckets), for a route whose latencies need a finer or a
    /// coarser resolution than the others. `route` is a route template or a gRPC method, as
    /// there. A later setting for the same route replaces an earlier one.
    ///
    /// ```
    /// let metrics = routemeter::prometheus::PrometheusBuilder::new()
    ///     .native_histograms(true)
    ///     .route_native_schema("/health", 0)? // a factor 2 per bucket is plenty there
    ///     .build()?;
    /// # Ok::<(), routemeter::prometheus::PrometheusError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PrometheusError::InvalidNativeSchema`] when `schema` is outside −4..=8;
    /// [`PrometheusError::InvalidRoute`] for a route [`route_buckets`](Self::route_buckets)
    /// refuses.
    pub fn route_native_schema(
        mut self,
        route: impl Into<String>,
        schema: i8,
    ) -> Result<Self, PrometheusError> {
        let route = route.into();
        if let Some(reason) = route_problem(&route) {
            return Err(PrometheusError::InvalidRoute { route, reason });
        }
        check_native_schema(schema)?;
        self.route_native_schemas.retain(|(r, _)| *r != route);
        self.route_native_schemas.push((route, schema));
        Ok(self)
    }

    /// Whether to export process metrics (CPU, memory, file descriptors, threads; on by
    /// default), collected at each render. See the names in the [module docs](super).
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
    /// [`PrometheusError::InvalidBuckets`] unless the bounds are non-empty, finite and strictly
    /// increasing.
    pub fn duration_buckets(mut self, bounds: &[f64]) -> Result<Self, PrometheusError> {
        self.duration_buckets = check_buckets("duration", bounds)?;
        Ok(self)
    }

    /// Upper bounds of the body-size histograms' buckets, in bytes.
    ///
    /// # Errors
    ///
    /// [`PrometheusError::InvalidBuckets`] unless the bounds are non-empty, finite and strictly
    /// increasing.
    pub fn size_buckets(mut self, bounds: &[f64]) -> Result<Self, PrometheusError> {
        self.size_buckets = check_buckets("size", bounds)?;
        Ok(self)
    }

    /// Bucket bounds of the duration histograms (the request or call duration, and the time to
    /// the response head) of one route, in seconds, instead of
    /// [`duration_buckets`](Self::duration_buckets): for a route on another scale than the
    /// others, such as a search endpoint beside a health check. `route` is the route label's
    /// value: a route template (`/search/{query}`) or a gRPC method
    /// (`package.Service/Method`). A later setting for the same route replaces an earlier one.
    ///
    /// ```
    /// let metrics = routemeter::prometheus::PrometheusBuilder::new()
    ///     .route_buckets("/slow", &[0.1, 0.125, 0.15, 0.175, 0.2, 0.225, 0.25, 0.275, 0.3])?
    ///     .build()?;
    /// # Ok::<(), routemeter::prometheus::PrometheusError>(())
    /// ```
    ///
    /// Each series is written with its own bounds, which the text, OpenMetrics and protobuf
    /// formats all allow; `histogram_quantile` over one route uses its bounds, and an
    /// aggregation across routes with different bounds (`sum by (le)`) only makes sense at
    /// the bounds they share. Generated latency objectives must then use thresholds that are
    /// bounds of each route they cover (`Slo::route_buckets`, in the `monitoring` feature).
    ///
    /// # Errors
    ///
    /// [`PrometheusError::InvalidBuckets`] unless the bounds are non-empty, finite and strictly
    /// increasing; [`PrometheusError::InvalidRoute`] when `route` is empty, longer than 1,024
    /// bytes, holds a control character, or is neither a template (starting with `/`) nor a
    /// gRPC method (`package.Service/Method`).
    pub fn route_buckets(
        mut self,
        route: impl Into<String>,
        bounds: &[f64],
    ) -> Result<Self, PrometheusError> {
        let route = route.into();
        if let Some(reason) = route_problem(&route) {
            return Err(PrometheusError::InvalidRoute { route, reason });
        }
        let bounds = check_buckets("route", bounds)?;
        self.route_buckets.retain(|(r, _)| *r != route);
        self.route_buckets.push((route, bounds));
        Ok(self)
    }

    /// A label the [live page](PrometheusMetrics::live_page) keeps its rows apart by, beside
    /// the route and method: a [request label](crate::RouteMeterBuilder::request_label) such as
    /// `tenant`, so that each tenant's traffic has rows of its own, shown with the route, and
    /// the page's filter finds them by value (`acme`). Without it, a route's row sums all
    /// values. Repeatable.
    ///
    /// ```
    /// let metrics = routemeter::prometheus::PrometheusBuilder::new()
    ///     .live_label("tenant")?
    ///     .build()?;
    /// # Ok::<(), routemeter::prometheus::PrometheusError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PrometheusError::Label`] when `name` is not a label name, is one the layer writes
    /// itself (the route, the method, the status…), or was given already.
    pub fn live_label(mut self, name: &str) -> Result<Self, PrometheusError> {
        crate::names::check_label_name(name, true, &self.live_labels)
            .map_err(PrometheusError::Label)?;
        self.live_labels.push(name.to_owned());
        Ok(self)
    }

    /// Bucket bounds for another histogram of the application, recorded through the `metrics`
    /// macros under `name` (without them it gets [`DEFAULT_OTHER_HISTOGRAM_BUCKETS`]).
    ///
    /// # Errors
    ///
    /// [`PrometheusError::InvalidBuckets`] unless the bounds are non-empty, finite and strictly
    /// increasing.
    pub fn histogram_buckets(
        mut self,
        name: impl Into<String>,
        bounds: &[f64],
    ) -> Result<Self, PrometheusError> {
        let bounds = check_buckets("histogram", bounds)?;
        self.other_buckets.push((name.into(), bounds));
        Ok(self)
    }

    /// Adds a label to every series the recorder exports, including ones not from routemeter
    /// (a series that sets the same label keeps its own value).
    ///
    /// # Errors
    ///
    /// [`PrometheusError::Label`] when `key` is not a Prometheus label name
    /// (`[a-zA-Z_][a-zA-Z0-9_]*`), is reserved (`__…`, `le`, `quantile`, or a label the layer
    /// sets itself), or was given already.
    pub fn constant_label(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, PrometheusError> {
        let key = key.into();
        crate::names::check_label_name(&key, false, self.constant_labels.iter().map(|(k, _)| k))
            .map_err(PrometheusError::Label)?;
        self.constant_labels.push((key, value.into()));
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
        // A route's histograms: its request or call duration and its time to the head.
        let route_histograms = [
            (n.duration(), n.route_key()),
            (n.time_to_head(), n.route_key()),
            (n.rpc_duration(), n.rpc_method_key()),
        ];
        let mut by_route = Vec::new();
        for (route, bounds) in &self.route_buckets {
            let bounds: Arc<[f64]> = Arc::from(bounds.as_slice());
            for (name, label) in route_histograms {
                by_route.push((name.to_owned(), label, route.clone(), Arc::clone(&bounds)));
            }
        }
        let mut native_by_route = Vec::new();
        for (route, schema) in &self.route_native_schemas {
            for (name, label) in route_histograms {
                native_by_route.push((name.to_owned(), label, route.clone(), *schema));
            }
        }
        let buckets = Buckets {
            by_route,
            by_name,
            native_by_route,
            default: Arc::from(DEFAULT_OTHER_HISTOGRAM_BUCKETS),
        };
        PrometheusRecorder::new(Store::new(&self.constant_labels, buckets).with_native(self.native))
    }

    /// Installs the recorder as the `metrics` facade's global recorder.
    ///
    /// Every `metrics` macro in the program then reports to it, and so do layers built with the
    /// default (global) source, before or after this call. No thread is started.
    ///
    /// # Errors
    ///
    /// [`PrometheusError::GlobalRecorderInstalled`] if a global recorder is already installed.
    pub fn install(self) -> Result<PrometheusMetrics, PrometheusError> {
        let recorder = self.recorder();
        metrics::set_global_recorder(recorder.clone())
            .map_err(|_| PrometheusError::GlobalRecorderInstalled)?;
        super::store::INSTALLED.store(
            Arc::as_ptr(&recorder.store).addr(),
            std::sync::atomic::Ordering::Release,
        );
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
    pub fn build(self) -> Result<PrometheusMetrics, PrometheusError> {
        let recorder = self.recorder();
        Ok(self.metrics(recorder, false))
    }

    fn metrics(self, recorder: PrometheusRecorder, global: bool) -> PrometheusMetrics {
        let collectors = self.collectors();
        collectors.describe(&recorder);
        endpoint::describe(&recorder);
        // The live page reads labels as the exposition writes them.
        let live_labels = self
            .live_labels
            .iter()
            .map(|l| super::exposition::text::label_name(l).into())
            .collect();
        PrometheusMetrics::new(
            recorder,
            global,
            self.naming,
            self.exemplars,
            collectors,
            live_labels,
        )
    }
}

#[cfg(test)]
mod tests;
