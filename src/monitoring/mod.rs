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
//!   slow-request ratio over every window the alerts use, the ratio of requests cancelled by the
//!   client over 5 minutes and 1 hour; p50, p95 and p99 over 5 minutes.
//! - `alerts.rules.yml`: multi-window, multi-burn-rate SLO alerts for availability and latency
//!   (14.4× over 1 h and 5 m and 6× over 6 h and 30 m page; 3× over 1 d and 2 h and 1× over 3 d
//!   and 6 h open a ticket), a high-p99 alert, a "no traffic where there was traffic" alert, a
//!   target-down alert, forecasts with `predict_linear` (resident memory crossing its limit
//!   and, when a capacity is set, request rate crossing it within the forecast horizon) and,
//!   when asked for, a ticket for a high share of client hang-ups.
//! - `dashboard.json`: a Grafana dashboard (rate, errors, client hang-ups, p50/p95/p99 and a
//!   latency heatmap per route, in-flight requests, process and Tokio runtime panels) with
//!   `job`, `instance` and `route` variables (and one per fleet label).
//! - `alertmanager.yml`: routes `severity="page"` to a Slack and a Telegram receiver and
//!   `severity="ticket"` to Slack, grouped by alert, job (and fleet labels), route and, with gRPC, method.
//!
//! **Fleets.** The recording rules sum over instances, `by (job, route)`: replicas add up to
//! one series per route, which survives a replica that stops or restarts.
//! [`Slo::fleet_label`] keeps a label such as `region` or `cluster` too.
//!
//! **What fails.** The availability objective counts the server's own failures: a 5xx status,
//! and `error_type` `_OTHER` (an inner error), `panic`, `body_error` and `timeout`. A client
//! that hangs up (`cancelled`) is not a failure of the server and pages nobody; its ratio has a dashboard
//! panel and an optional ticket alert ([`Slo::cancelled_alert`]), and
//! [`Slo::cancelled_as_failures`] counts hang-ups as failures for teams that want them in the
//! objective.
//!
//! **Any input.** Routes may hold any text: quotes, backslashes, newlines, regex
//! metacharacters, template braces and non-ASCII text are escaped for PromQL, RE2, Go templates
//! and YAML wherever they are written. Every other setting is checked by [`Monitoring::new`].
//!
//! **From any project.** Install the command with
//! `cargo install routemeter --features monitoring` (or
//! `cargo install --path path/to/routemeter --features monitoring`) and run
//! `routemeter monitoring --job checkout --out monitoring/`; it refuses to replace existing
//! files unless given `--force`. From code, [`Monitoring::write_new`] and [`Monitoring::write`]
//! write the files, and [`Monitoring::outdated`] keeps committed copies in step in a test:
//!
//! ```no_run
//! use std::path::Path;
//! use routemeter::monitoring::{Monitoring, Slo};
//!
//! // In your tests: #[test]
//! fn monitoring_files_are_up_to_date() {
//!     let monitoring = Monitoring::new(Slo::new("checkout").availability(0.999)).unwrap();
//!     let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring");
//!     if std::env::var_os("UPDATE_MONITORING").is_some() {
//!         monitoring.write(&dir).unwrap();
//!     }
//!     let outdated = monitoring.outdated(&dir).unwrap();
//!     assert!(outdated.is_empty(), "run with UPDATE_MONITORING=1 to regenerate {outdated:?}");
//! }
//! # fn main() { monitoring_files_are_up_to_date() }
//! ```

mod alertmanager;
mod bounds;
mod check;
mod dashboard;
mod escape;
mod rules;
mod slo;

use std::io;
use std::path::{Path, PathBuf};

pub use check::SloError;
pub use slo::{DEFAULT_EXCLUDED, Profile, RouteSlo, Slo};

use crate::names::{Naming, NamingScheme};
pub(crate) use bounds::le_matcher;
pub(crate) use escape::{promql_regex_of, promql_str, template_literal, yaml_str};
pub(crate) use slo::WINDOWS;

/// The generator: checked objectives, ready to render files.
#[derive(Clone, Debug)]
pub struct Monitoring {
    slo: Slo,
}

/// The names of the files, in the order [`Monitoring::files`] gives them.
pub const FILE_NAMES: [&str; 4] = [
    "recording.rules.yml",
    "alerts.rules.yml",
    "dashboard.json",
    "alertmanager.yml",
];

impl Monitoring {
    /// Checks every setting of `slo`.
    ///
    /// Routes may hold any text (quotes, backslashes, newlines, regex metacharacters, `{{`):
    /// they are escaped wherever they are written. Everything else is checked.
    ///
    /// # Errors
    ///
    /// [`SloError`] for a target outside (0, 1), a latency threshold that is not a bucket
    /// bound, bucket bounds that are not finite, positive and increasing, a number that is not
    /// finite or out of its range (p99 alert, memory limit, capacity, forecast horizon), an
    /// unusable job name or metric-name prefix, or an empty route.
    pub fn new(slo: Slo) -> Result<Self, SloError> {
        check::check(&slo)?;
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
        alertmanager::render(&alertmanager::Receivers::production(), &self.slo)
    }

    /// An Alertmanager configuration that sends every alert to the Slack-format webhook `url`,
    /// immediately (no grouping delay): for tests.
    #[must_use]
    pub fn alertmanager_for_webhook(&self, url: &str) -> String {
        alertmanager::render(&alertmanager::Receivers::test(url), &self.slo)
    }

    /// Every file, by name (see [`FILE_NAMES`]): the recording rules, the alerting rules, the
    /// dashboard and the Alertmanager configuration.
    #[must_use]
    pub fn files(&self) -> Vec<(&'static str, String)> {
        let texts = [
            self.recording_rules(),
            self.alerting_rules(),
            self.dashboard(),
            self.alertmanager(),
        ];
        FILE_NAMES.into_iter().zip(texts).collect()
    }

    /// Writes [`files`](Self::files) into `dir`, creating it if needed and replacing files
    /// that are there.
    ///
    /// # Errors
    ///
    /// Any I/O error creating the folder or writing a file.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, text) in self.files() {
            std::fs::write(dir.join(name), text)?;
        }
        Ok(())
    }

    /// Writes [`files`](Self::files) into `dir`, creating it if needed, and refuses to replace
    /// any file: when one of them exists, nothing is written.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::AlreadyExists`], naming the files that exist, or any I/O error creating
    /// the folder or writing a file.
    pub fn write_new(&self, dir: &Path) -> io::Result<()> {
        let existing: Vec<String> = FILE_NAMES
            .iter()
            .map(|name| dir.join(name))
            .filter(|path| path.exists())
            .map(|path| path.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("would replace {}", existing.join(", ")),
            ));
        }
        std::fs::create_dir_all(dir)?;
        for (name, text) in self.files() {
            // `create_new` also refuses a file that appeared since the check above.
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(dir.join(name))?;
            io::Write::write_all(&mut file, text.as_bytes())?;
        }
        Ok(())
    }

    /// The files in `dir` that differ from [`files`](Self::files) or are missing: empty when
    /// `dir` is up to date. For a test that keeps committed files in step with the objectives.
    ///
    /// # Errors
    ///
    /// An I/O error reading a file that exists.
    pub fn outdated(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut stale = Vec::new();
        for (name, text) in self.files() {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) if bytes == text.as_bytes() => {}
                Ok(_) => stale.push(path),
                Err(e) if e.kind() == io::ErrorKind::NotFound => stale.push(path),
                Err(e) => return Err(e),
            }
        }
        Ok(stale)
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

    /// The gRPC call counter (the call-duration histogram's `_count`).
    pub(crate) fn grpc_count(&self) -> String {
        format!("{}_count", self.naming.rpc_duration())
    }

    /// The gRPC call-duration histogram's buckets.
    pub(crate) fn grpc_bucket(&self) -> String {
        format!("{}_bucket", self.naming.rpc_duration())
    }

    /// The matcher of failed gRPC calls: every call with an error type (a server-error status,
    /// or no status because the server failed); client cancellations have none.
    pub(crate) fn grpc_error_matcher(&self) -> String {
        format!("{}!=\"\"", self.naming.rpc_error_key())
    }

    /// The matcher that leaves out calls to methods the layer does not recognise.
    pub(crate) fn grpc_known_methods(&self) -> String {
        format!(
            "{}!=\"{}\"",
            self.naming.rpc_method_key(),
            crate::OTHER_RPC_METHOD
        )
    }

    /// The matcher that selects failed requests: the server's own failures, and client
    /// hang-ups too when `cancelled` is set.
    pub(crate) fn error_matcher(&self, cancelled: bool) -> String {
        match self.naming.scheme() {
            NamingScheme::AxumPrometheus => {
                let also = if cancelled { "|499" } else { "" };
                format!("{}=~\"5..{also}\"", self.naming.status_key())
            }
            _ => {
                let also = if cancelled { "|cancelled" } else { "" };
                format!(
                    "{}=~\"5..|_OTHER|panic|body_error|timeout{also}\"",
                    self.error_key()
                )
            }
        }
    }

    /// The matcher that selects requests the client cancelled.
    pub(crate) fn cancelled_matcher(&self) -> String {
        match self.naming.scheme() {
            NamingScheme::AxumPrometheus => format!("{}=\"499\"", self.naming.status_key()),
            _ => format!("{}=\"cancelled\"", self.error_key()),
        }
    }

    fn error_key(&self) -> &'static str {
        self.naming.error_key().unwrap_or("error_type")
    }
}

/// A bucket bound as routemeter's exposition writes it in the `le` label (`0.25`, `1`,
/// `1e-6`): the value of the rules' `latency_threshold_seconds` label.
pub(crate) fn le(bound: f64) -> String {
    bounds::exposition(bound)
}

/// A matcher for the route label: `,{key}="{route}"` for one route, `,{key}=~"{a|b}"` for
/// several (`!=`/`!~` with `negate`), nothing for none.
pub(crate) fn route_matcher(key: &str, routes: &[&str], negate: bool) -> String {
    let (equal, matches) = if negate { ("!=", "!~") } else { ("=", "=~") };
    match routes {
        [] => String::new(),
        [one] if !escape::needs_regex(one) => format!(",{key}{equal}\"{}\"", promql_str(one)),
        many => format!(",{key}{matches}\"{}\"", promql_regex_of(many)),
    }
}
