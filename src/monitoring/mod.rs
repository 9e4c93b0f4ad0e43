//! Alerts, recording rules, a Grafana dashboard and an Alertmanager config, generated from the
//! same metric names the layer emits (either naming scheme, any prefix).
//!
//! ```
//! use routemeter::monitoring::{Monitoring, RouteSlo, Slo};
//!
//! let slo = Slo::new("checkout")                  // the Prometheus `job` of the service
//!     .availability(0.999)                          // 99.9 % of requests succeed
//!     .latency(0.25, 0.99)                          // 99 % finish within 250 ms (a bucket bound)
//!     .route(RouteSlo::new("/pay").availability(0.9995))
//!     .exclude("/metrics");
//! let files = Monitoring::new(slo).unwrap().files();
//! assert!(files.iter().any(|(name, _)| *name == "alerts.rules.yml"));
//! ```
//!
//! The files, and what they hold:
//!
//! - `recording.rules.yml`: per route (`job`, route label): request rate, error ratio and
//!   slow-request ratio over every window the alerts use; p50, p95 and p99 over 5 minutes.
//! - `alerts.rules.yml`: multi-window, multi-burn-rate SLO alerts for availability and latency
//!   (14.4× over 1 h and 5 m and 6× over 6 h and 30 m page; 3× over 1 d and 2 h and 1× over 3 d
//!   and 6 h open a ticket), a high-p99 alert, a "no traffic where there was traffic" alert, a
//!   target-down alert, and forecasts with `predict_linear`: resident memory crossing its limit
//!   and (when a capacity is set) request rate crossing it within the forecast horizon.
//! - `dashboard.json`: a Grafana dashboard (rate, errors, p50/p95/p99 and a latency heatmap per
//!   route, in-flight requests, process and Tokio runtime panels) with `job` and `route`
//!   variables.
//! - `alertmanager.yml`: routes `severity="page"` to a Slack and a Telegram receiver and
//!   `severity="ticket"` to Slack, grouped by alert, job and route.
//!
//! `cargo run --bin routemeter -- monitoring --out monitoring/` writes them (see `--help`);
//! [`Monitoring::write`] does the same from code.

mod alertmanager;
mod dashboard;
mod rules;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::names::{DEFAULT_DURATION_BUCKETS, Naming, NamingScheme};

/// The service-level objectives alerts are generated for.
#[derive(Clone, Debug)]
#[must_use]
pub struct Slo {
    pub(crate) job: String,
    pub(crate) naming: Naming,
    pub(crate) availability: f64,
    pub(crate) latency_threshold: f64,
    pub(crate) latency_target: f64,
    pub(crate) p99_alert: f64,
    pub(crate) routes: Vec<RouteSlo>,
    pub(crate) excluded: Vec<String>,
    pub(crate) buckets: Vec<f64>,
    pub(crate) memory_limit_bytes: f64,
    pub(crate) rps_capacity: Option<f64>,
    pub(crate) forecast_horizon: Duration,
    pub(crate) profile: Profile,
}

/// An SLO for one route that differs from the service's.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct RouteSlo {
    pub(crate) route: String,
    pub(crate) availability: Option<f64>,
    pub(crate) latency: Option<(f64, f64)>,
}

impl RouteSlo {
    /// The route template, as it appears in the route label (`/users/{id}`).
    pub fn new(route: impl Into<String>) -> Self {
        Self {
            route: route.into(),
            availability: None,
            latency: None,
        }
    }

    /// This route's availability target.
    pub fn availability(mut self, target: f64) -> Self {
        self.availability = Some(target);
        self
    }

    /// This route's latency objective: `target` of requests within `threshold_seconds`.
    pub fn latency(mut self, threshold_seconds: f64, target: f64) -> Self {
        self.latency = Some((threshold_seconds, target));
        self
    }
}

/// How long the alert windows are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// The real windows: 5 m, 30 m, 1 h, 2 h, 6 h, 1 d, 3 d; `for:` durations of minutes.
    Production,
    /// Every window shrunk to seconds (5 m → 4 s … 3 d → 60 s) and `for:` durations of 0 s,
    /// so an end-to-end test sees alerts fire within a minute. Not for production.
    Test,
}

/// The windows every rule uses, by their nominal name.
pub(crate) const WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

impl Profile {
    /// The range a nominal window stands for.
    pub(crate) fn range(self, window: &str) -> &'static str {
        match self {
            Self::Production => match window {
                "5m" => "5m",
                "30m" => "30m",
                "1h" => "1h",
                "2h" => "2h",
                "6h" => "6h",
                "1d" => "1d",
                _ => "3d",
            },
            Self::Test => match window {
                "5m" => "4s",
                "30m" => "8s",
                "1h" => "12s",
                "2h" => "16s",
                "6h" => "24s",
                "1d" => "40s",
                _ => "60s",
            },
        }
    }

    /// A `for:` duration, shrunk to nothing in the test profile.
    pub(crate) fn hold(self, production: &'static str) -> &'static str {
        match self {
            Self::Production => production,
            Self::Test => "0s",
        }
    }
}

impl Slo {
    /// Defaults for the service whose Prometheus `job` is `job`: 99.9 % availability, 99 % of
    /// requests within 250 ms, a high-p99 alert above 1 s, a 1 GiB memory limit forecast over 4
    /// hours, the default names and buckets, `/metrics` excluded.
    pub fn new(job: impl Into<String>) -> Self {
        Self {
            job: job.into(),
            naming: Naming::default(),
            availability: 0.999,
            latency_threshold: 0.25,
            latency_target: 0.99,
            p99_alert: 1.0,
            routes: Vec::new(),
            excluded: vec!["/metrics".to_owned()],
            buckets: DEFAULT_DURATION_BUCKETS.to_vec(),
            memory_limit_bytes: 1024.0 * 1024.0 * 1024.0,
            rps_capacity: None,
            forecast_horizon: Duration::from_secs(4 * 3600),
            profile: Profile::Production,
        }
    }

    /// The Prometheus job of the service.
    pub fn job(mut self, job: impl Into<String>) -> Self {
        self.job = job.into();
        self
    }

    /// The metric names the service exports (as given to its layer).
    pub fn naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    /// The duration histogram's bucket bounds, when not the defaults: latency thresholds must
    /// be one of them.
    pub fn buckets(mut self, bounds: &[f64]) -> Self {
        self.buckets = bounds.to_vec();
        self
    }

    /// The share of requests that must succeed (e.g. `0.999`).
    pub fn availability(mut self, target: f64) -> Self {
        self.availability = target;
        self
    }

    /// `target` of requests (e.g. `0.99`) must finish within `threshold_seconds`, which must
    /// be a bucket bound.
    pub fn latency(mut self, threshold_seconds: f64, target: f64) -> Self {
        self.latency_threshold = threshold_seconds;
        self.latency_target = target;
        self
    }

    /// The p99 above which the high-latency alert fires (1 s unless set).
    pub fn p99_alert(mut self, seconds: f64) -> Self {
        self.p99_alert = seconds;
        self
    }

    /// A route with its own objectives.
    pub fn route(mut self, route: RouteSlo) -> Self {
        self.routes.push(route);
        self
    }

    /// A route that gets no SLO alerts (`/metrics` is excluded unless [`include`](Self::include)d).
    pub fn exclude(mut self, route: impl Into<String>) -> Self {
        let route = route.into();
        if !self.excluded.contains(&route) {
            self.excluded.push(route);
        }
        self
    }

    /// Takes a route out of the exclusions.
    pub fn include(mut self, route: &str) -> Self {
        self.excluded.retain(|r| r != route);
        self
    }

    /// The resident memory the process must stay under; the forecast alert fires when
    /// `predict_linear` says it will cross it within the horizon.
    pub fn memory_limit_bytes(mut self, bytes: f64) -> Self {
        self.memory_limit_bytes = bytes;
        self
    }

    /// The request rate (per second, whole service) the service can take; with it, a forecast
    /// alert fires when the rate is projected to cross it within the horizon.
    pub fn rps_capacity(mut self, rps: f64) -> Self {
        self.rps_capacity = Some(rps);
        self
    }

    /// How far ahead forecasts look (4 hours unless set).
    pub fn forecast_horizon(mut self, horizon: Duration) -> Self {
        self.forecast_horizon = horizon;
        self
    }

    /// The window profile ([`Profile::Production`] unless set).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }
}

/// Why objectives could not be turned into rules.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SloError {
    /// A target is not strictly between 0 and 1.
    Target {
        /// Which target.
        what: String,
        /// Its value.
        value: f64,
    },
    /// A latency threshold is not a bucket bound, so no series counts the requests under it.
    Threshold {
        /// The threshold.
        value: f64,
        /// The bucket bounds.
        buckets: Vec<f64>,
    },
    /// The job name is empty or contains characters that need escaping in PromQL.
    Job(String),
}

impl fmt::Display for SloError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Target { what, value } => {
                write!(f, "{what} target {value} is not strictly between 0 and 1")
            }
            Self::Threshold { value, buckets } => write!(
                f,
                "latency threshold {value} s is not a bucket bound; choose one of {buckets:?}"
            ),
            Self::Job(job) => write!(
                f,
                "job `{job}` must be non-empty and use only letters, digits, `_`, `-`, `.` and `:`"
            ),
        }
    }
}

impl std::error::Error for SloError {}

/// The generator: checked objectives, ready to render files.
#[derive(Clone, Debug)]
pub struct Monitoring {
    slo: Slo,
}

impl Monitoring {
    /// Checks `slo`.
    ///
    /// # Errors
    ///
    /// [`SloError`] for a target outside (0, 1), a latency threshold that is not a bucket bound,
    /// or an unusable job name.
    pub fn new(slo: Slo) -> Result<Self, SloError> {
        let job_ok = !slo.job.is_empty()
            && slo
                .job
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c));
        if !job_ok {
            return Err(SloError::Job(slo.job));
        }
        let mut targets = vec![
            ("availability".to_owned(), slo.availability),
            ("latency".to_owned(), slo.latency_target),
        ];
        let mut thresholds = vec![slo.latency_threshold];
        for r in &slo.routes {
            if let Some(a) = r.availability {
                targets.push((format!("{} availability", r.route), a));
            }
            if let Some((threshold, target)) = r.latency {
                targets.push((format!("{} latency", r.route), target));
                thresholds.push(threshold);
            }
        }
        for (what, value) in targets {
            if !(value > 0.0 && value < 1.0) {
                return Err(SloError::Target { what, value });
            }
        }
        for value in thresholds {
            if !slo.buckets.contains(&value) {
                return Err(SloError::Threshold {
                    value,
                    buckets: slo.buckets.clone(),
                });
            }
        }
        Ok(Self { slo })
    }

    /// Prometheus recording rules (YAML).
    #[must_use]
    pub fn recording_rules(&self) -> String {
        rules::recording(&self.slo)
    }

    /// Prometheus alerting rules (YAML).
    #[must_use]
    pub fn alerting_rules(&self) -> String {
        rules::alerting(&self.slo)
    }

    /// A Grafana dashboard (JSON).
    #[must_use]
    pub fn dashboard(&self) -> String {
        dashboard::render(&self.slo)
    }

    /// An Alertmanager configuration (YAML) with Slack and Telegram receivers; the Slack
    /// webhook URL is read from `/etc/alertmanager/slack-webhook-url`, the Telegram token and
    /// chat id are placeholders to fill in.
    #[must_use]
    pub fn alertmanager(&self) -> String {
        alertmanager::render(&alertmanager::Receivers::production())
    }

    /// An Alertmanager configuration that sends every alert to the Slack-format webhook `url`,
    /// immediately (no grouping delay): for tests.
    #[must_use]
    pub fn alertmanager_for_webhook(&self, url: &str) -> String {
        alertmanager::render(&alertmanager::Receivers::test(url))
    }

    /// Every file, by name: the recording rules, the alerting rules, the dashboard and the
    /// Alertmanager configuration.
    #[must_use]
    pub fn files(&self) -> Vec<(&'static str, String)> {
        vec![
            ("recording.rules.yml", self.recording_rules()),
            ("alerts.rules.yml", self.alerting_rules()),
            ("dashboard.json", self.dashboard()),
            ("alertmanager.yml", self.alertmanager()),
        ]
    }

    /// Writes [`files`](Self::files) into `dir`, creating it if needed.
    ///
    /// # Errors
    ///
    /// Any I/O error creating the folder or writing a file.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, text) in self.files() {
            std::fs::write(dir.join(name), text)?;
        }
        Ok(())
    }
}

/// Label keys and selectors of the naming scheme in use.
pub(crate) struct Names<'a> {
    pub(crate) naming: &'a Naming,
}

impl Names<'_> {
    pub(crate) fn count(&self) -> String {
        format!("{}_count", self.naming.duration())
    }

    pub(crate) fn bucket(&self) -> String {
        format!("{}_bucket", self.naming.duration())
    }

    pub(crate) fn route(&self) -> &'static str {
        self.naming.route_key()
    }

    /// The matcher that selects failed requests.
    pub(crate) fn error_matcher(&self) -> String {
        match self.naming.scheme() {
            NamingScheme::AxumPrometheus => format!("{}=~\"5..\"", self.naming.status_key()),
            _ => format!("{}!=\"\"", self.naming.error_key().unwrap_or("error_type")),
        }
    }
}

/// A bucket bound as Prometheus renders it in the `le` label (`0.25`, `1`, `2.5`).
pub(crate) fn le(bound: f64) -> String {
    format!("{bound}")
}

/// An RE2 pattern matching exactly one of `routes`, escaped for a PromQL string.
pub(crate) fn routes_regex(routes: &[String]) -> String {
    let alternatives: Vec<String> = routes
        .iter()
        .map(|r| {
            let mut out = String::new();
            for c in r.chars() {
                if "\\.+*?()|[]{}^$".contains(c) {
                    // One backslash for RE2, doubled for the PromQL string literal.
                    out.push_str("\\\\");
                }
                out.push(c);
            }
            out
        })
        .collect();
    alternatives.join("|")
}

/// A string quoted for YAML (a JSON string is a valid YAML double-quoted scalar).
pub(crate) fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}
