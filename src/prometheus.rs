//! The default exporter: a Prometheus recorder whose buckets fit the routemeter histograms, its
//! upkeep, and the `/metrics` endpoint.
//!
//! [`install`] is the usual start: it installs a global recorder and returns [`PrometheusMetrics`],
//! which renders the exposition and builds layers whose names match its bucket settings.
//! [`PrometheusSetup::build`] does the same without touching global state.
//!
//! Besides the route metrics, the endpoint exports process metrics (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_open_fds`, `process_threads`,
//! `process_start_time_seconds`, …, from the `metrics-process` crate) and Tokio runtime metrics
//! (`tokio_runtime_workers`, `tokio_runtime_alive_tasks`, `tokio_runtime_global_queue_depth`,
//! `tokio_runtime_worker_busy_seconds`, `tokio_runtime_worker_parks_total`), collected at each
//! render; [`PrometheusSetup::process_metrics`] and [`PrometheusSetup::runtime_metrics`] turn
//! them off.
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

use std::fmt;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::layer::{RouteMeterBuilder, RouteMeterLayer};
use crate::names::{DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS, Naming};
use crate::process::Collectors;

/// The `Content-Type` of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How often histogram samples are folded into their buckets when nobody scrapes.
pub const DEFAULT_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

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
    /// Bucket bounds were empty, not finite, or not strictly increasing.
    InvalidBuckets {
        /// Which histogram family they were for (`"duration"` or `"size"`).
        histogram: &'static str,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// The exporter refused its configuration.
    Exporter(metrics_exporter_prometheus::BuildError),
    /// The upkeep thread could not be started.
    Upkeep(std::io::Error),
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
            Self::Exporter(e) => write!(f, "Prometheus exporter: {e}"),
            Self::Upkeep(e) => write!(f, "could not start the upkeep thread: {e}"),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Exporter(e) => Some(e),
            Self::Upkeep(e) => Some(e),
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
    upkeep_interval: Duration,
    global_labels: Vec<(String, String)>,
    other_buckets: Vec<(String, Vec<f64>)>,
    process_metrics: bool,
    runtime_metrics: bool,
    runtime: Option<tokio::runtime::Handle>,
}

impl Default for PrometheusSetup {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusSetup {
    /// Default names, [`DEFAULT_DURATION_BUCKETS`], [`DEFAULT_SIZE_BUCKETS`] and an upkeep every
    /// [`DEFAULT_UPKEEP_INTERVAL`].
    pub fn new() -> Self {
        Self {
            naming: Naming::default(),
            duration_buckets: DEFAULT_DURATION_BUCKETS.to_vec(),
            size_buckets: DEFAULT_SIZE_BUCKETS.to_vec(),
            upkeep_interval: DEFAULT_UPKEEP_INTERVAL,
            global_labels: Vec::new(),
            other_buckets: Vec::new(),
            process_metrics: true,
            runtime_metrics: true,
            runtime: None,
        }
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

    /// Upper bounds of the duration histogram's buckets, in seconds.
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

    /// How often histogram samples are folded into buckets between scrapes, so they never pile
    /// up in memory when nobody scrapes.
    pub fn upkeep_interval(mut self, interval: Duration) -> Self {
        self.upkeep_interval = interval;
        self
    }

    /// Bucket bounds for another histogram of the application, recorded through the `metrics`
    /// macros under `name` (without them the exporter renders it as a summary).
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

    /// Adds a label to every series the recorder exports, including ones not from routemeter.
    pub fn global_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.global_labels.push((key.into(), value.into()));
        self
    }

    fn recorder(&self) -> Result<PrometheusRecorder, SetupError> {
        let n = &self.naming;
        let mut b = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(n.duration().to_owned()),
                &self.duration_buckets,
            )
            .map_err(SetupError::Exporter)?;
        for name in [n.request_size(), n.response_size()].into_iter().flatten() {
            b = b
                .set_buckets_for_metric(Matcher::Full(name.to_owned()), &self.size_buckets)
                .map_err(SetupError::Exporter)?;
        }
        for (name, bounds) in &self.other_buckets {
            b = b
                .set_buckets_for_metric(Matcher::Full(name.clone()), bounds)
                .map_err(SetupError::Exporter)?;
        }
        for (k, v) in &self.global_labels {
            b = b.add_global_label(k, v);
        }
        Ok(b.build_recorder())
    }

    /// Installs the recorder as the `metrics` facade's global recorder and starts its upkeep
    /// thread, which runs for the rest of the process.
    ///
    /// Every `metrics` macro in the program then reports to it, and so do layers built with the
    /// default (global) source, before or after this call.
    ///
    /// # Errors
    ///
    /// [`SetupError::GlobalRecorderInstalled`] if a global recorder is already installed;
    /// [`SetupError::Upkeep`] if the thread could not be spawned.
    pub fn install(self) -> Result<PrometheusMetrics, SetupError> {
        let recorder = self.recorder()?;
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).map_err(|_| SetupError::GlobalRecorderInstalled)?;
        let collectors = self.collectors();
        collectors.describe();
        let upkeep = Upkeep::start(handle.clone(), self.upkeep_interval)?;
        // The global recorder lives as long as the process; so does its upkeep.
        let upkeep = GLOBAL_UPKEEP.get_or_init(|| Arc::new(upkeep)).clone();
        Ok(PrometheusMetrics {
            handle,
            naming: self.naming,
            recorder: None,
            upkeep,
            collectors,
        })
    }

    /// Builds a recorder that is not installed anywhere, with an upkeep thread that stops when
    /// the last clone of the returned [`PrometheusMetrics`] and the last layer recording into
    /// it are dropped.
    ///
    /// Layers from [`PrometheusMetrics::layer`] record into it. Nothing process-wide changes, so
    /// any number of these can exist side by side (one per test, one per tenant).
    ///
    /// # Errors
    ///
    /// [`SetupError::Upkeep`] if the thread could not be spawned.
    pub fn build(self) -> Result<PrometheusMetrics, SetupError> {
        let recorder = self.recorder()?;
        let handle = recorder.handle();
        let collectors = self.collectors();
        metrics::with_local_recorder(&recorder, || collectors.describe());
        Ok(PrometheusMetrics {
            upkeep: Arc::new(Upkeep::start(handle.clone(), self.upkeep_interval)?),
            handle,
            naming: self.naming,
            recorder: Some(Arc::new(recorder)),
            collectors,
        })
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
    handle: PrometheusHandle,
    naming: Naming,
    /// `Some` for a recorder from [`PrometheusSetup::build`]; `None` for the global one.
    recorder: Option<Arc<PrometheusRecorder>>,
    upkeep: Arc<Upkeep>,
    collectors: Arc<Collectors>,
}

impl fmt::Debug for PrometheusMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusMetrics")
            .field("naming", &self.naming)
            .field("global", &self.recorder.is_none())
            .finish_non_exhaustive()
    }
}

impl PrometheusMetrics {
    /// The current metrics in the Prometheus text exposition format, after collecting the
    /// process and runtime metrics.
    #[must_use]
    pub fn render(&self) -> String {
        self.collect();
        self.handle.render()
    }

    /// Records the current process and runtime metrics (what [`render`](Self::render) does
    /// first; call it yourself if you render through [`handle`](Self::handle)).
    pub fn collect(&self) {
        match &self.recorder {
            Some(recorder) => {
                metrics::with_local_recorder(recorder.as_ref(), || self.collectors.collect());
            }
            None => self.collectors.collect(),
        }
    }

    /// The exporter's handle (for `render`, `run_upkeep` and the other exporter features).
    #[must_use]
    pub fn handle(&self) -> &PrometheusHandle {
        &self.handle
    }

    /// The names this recorder's bucket settings were made for.
    #[must_use]
    pub fn naming(&self) -> &Naming {
        &self.naming
    }

    /// A layer builder that records into this recorder with the matching names.
    pub fn layer_builder(&self) -> RouteMeterBuilder {
        let builder = RouteMeterLayer::builder().naming(self.naming.clone());
        match &self.recorder {
            Some(recorder) => {
                // The layer keeps the upkeep alive: while it records, someone drains.
                let upkeep = Arc::clone(&self.upkeep);
                builder
                    .shared_recorder(recorder.clone())
                    .upkeep(Arc::new(move || upkeep.nudge()))
            }
            None => builder.global_recorder(),
        }
    }

    /// A layer with default settings that records into this recorder with the matching names.
    #[must_use]
    pub fn layer(&self) -> RouteMeterLayer {
        self.layer_builder().build()
    }

    /// The scrape response, for any HTTP framework: status 200, the exposition format's
    /// content type, and the rendered metrics.
    #[must_use]
    pub fn response(&self) -> http::Response<String> {
        let mut response = http::Response::new(self.render());
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(CONTENT_TYPE),
        );
        response
    }

    /// An axum handler for `GET` that serves [`response`](Self::response):
    /// `.route("/metrics", metrics.endpoint())`.
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn endpoint<S>(&self) -> axum::routing::MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let metrics = self.clone();
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move { metrics.response() }
        })
    }
}

/// The upkeep of the global recorder installed by [`PrometheusSetup::install`].
static GLOBAL_UPKEEP: OnceLock<Arc<Upkeep>> = OnceLock::new();

/// Asks the global recorder's upkeep to run now, if this crate installed it.
pub(crate) fn nudge_global_upkeep() {
    if let Some(upkeep) = GLOBAL_UPKEEP.get() {
        upkeep.nudge();
    }
}

/// A thread that folds histogram samples into buckets every interval, and whenever layers
/// nudge it after many requests, until dropped.
struct Upkeep {
    wake: mpsc::Sender<()>,
}

impl Upkeep {
    fn start(handle: PrometheusHandle, interval: Duration) -> Result<Self, SetupError> {
        let (wake, woken) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("routemeter-upkeep".into())
            .spawn(move || {
                // Runs on every nudge and every interval; stops once every sender is gone
                // (the recorder's owners dropped it).
                while let Ok(()) | Err(RecvTimeoutError::Timeout) = woken.recv_timeout(interval) {
                    handle.run_upkeep();
                    // Coalesce nudges that arrived while draining.
                    while woken.try_recv().is_ok() {}
                }
            })
            .map_err(SetupError::Upkeep)?;
        Ok(Self { wake })
    }

    fn nudge(&self) {
        let _ = self.wake.send(());
    }
}

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
