//! Every setting of an [`Slo`] checked before anything is generated, with errors that say
//! which setting is wrong and what it must be.

use std::fmt;
use std::time::Duration;

use super::Slo;
use super::escape::is_metric_name;

/// The longest forecast horizon: a year and a day. A trend measured over one hour says nothing
/// about what comes later.
pub(crate) const MAX_HORIZON: Duration = Duration::from_secs(366 * 24 * 3600);

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
    /// A latency threshold that covers a route with buckets of its own is not one of its
    /// bounds.
    RouteThreshold {
        /// The route.
        route: String,
        /// The threshold.
        value: f64,
        /// The route's bucket bounds.
        buckets: Vec<f64>,
    },
    /// The job name is empty or contains characters that need escaping in PromQL.
    Job(String),
    /// A number outside the range it must be in (NaN and infinities are outside every range).
    Number {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: f64,
        /// The range it must be in.
        expected: &'static str,
    },
    /// The bucket bounds are empty, not finite and positive, or not strictly increasing.
    Buckets(Vec<f64>),
    /// The metric-name prefix would not make valid metric names, or would make names starting
    /// with `__`, which Prometheus reserves.
    Prefix(String),
    /// A route (with its own objective, or excluded) is the empty string, which no request has.
    EmptyRoute,
    /// A fleet label is not a label name, or is one the rules already use or must not keep.
    FleetLabel {
        /// The label.
        label: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
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
            Self::RouteThreshold {
                route,
                value,
                buckets,
            } => write!(
                f,
                "latency threshold {value} s is not a bucket bound of route {route:?}, which has \
                 buckets of its own; choose one of {buckets:?}"
            ),
            Self::Job(job) => write!(
                f,
                "job {job:?} must be non-empty and use only letters, digits, `_`, `-`, `.` and `:`"
            ),
            Self::Number {
                what,
                value,
                expected,
            } => write!(f, "{what} is {value}; it must be {expected}"),
            Self::Buckets(b) => write!(
                f,
                "bucket bounds {b:?} must be finite numbers above 0, in strictly increasing order, at least one"
            ),
            Self::Prefix(p) => write!(
                f,
                "metric-name prefix {p:?} must match [a-zA-Z_][a-zA-Z0-9_]* (letters, digits and `_`, not starting with a digit), and the names it makes must not start with `__`, which Prometheus reserves"
            ),
            Self::EmptyRoute => f.write_str("a route must not be empty"),
            Self::FleetLabel { label, reason } => {
                write!(f, "fleet label {label:?} cannot be used: {reason}")
            }
        }
    }
}

impl std::error::Error for SloError {}

fn positive(what: &'static str, value: f64) -> Result<(), SloError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(SloError::Number {
            what,
            value,
            expected: "a finite number above 0",
        })
    }
}

fn target(what: String, value: f64) -> Result<(), SloError> {
    if value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(SloError::Target { what, value })
    }
}

/// The labels the generated rules write themselves: a fleet label by the same name would clash.
const RULE_LABELS: [&str; 7] = [
    "latency_threshold_seconds",
    "severity",
    "slo",
    "slo_scope",
    "burn_rate",
    "long_window",
    "short_window",
];

/// The words PromQL's lexer reads, whatever their case, as a number (`NaN`, `Inf`) or as a
/// keyword its grammar does not take back as a label name in `by (...)`, `without (...)`,
/// `on (...)` or `group_left (...)`. Its other keywords (`by`, `on`, `sum`, `offset`, …) are
/// taken as label names there, and so are accepted.
const NOT_GROUPING_LABELS: [&str; 3] = ["nan", "inf", "without"];

/// A fleet label must be a label name the rules can keep next to `job` and the route.
fn fleet_label(slo: &Slo, label: &str) -> Result<(), SloError> {
    let refuse = |reason| {
        Err(SloError::FleetLabel {
            label: label.to_owned(),
            reason,
        })
    };
    let mut chars = label.chars();
    let name_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !name_ok {
        return refuse("a label name matches [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if label.starts_with("__") {
        return refuse("names starting with `__` are reserved for Prometheus's own use");
    }
    if NOT_GROUPING_LABELS
        .iter()
        .any(|word| label.eq_ignore_ascii_case(word))
    {
        return refuse(
            "PromQL reads it (in any case) as a number or a keyword, not as a label name, in `by (...)` and `on (...)`",
        );
    }
    if label == "instance" {
        return refuse(
            "the rules sum over instances so that a replica that stops or restarts leaves them whole; the dashboard's `instance` variable shows one replica",
        );
    }
    if label == "job" || label == "le" || label == slo.naming.route_key() {
        return refuse("the rules already aggregate by it");
    }
    if label == "alertname" {
        return refuse("it names each alert, and Alertmanager groups alerts by it");
    }
    // Every scheme's labels: the Alertmanager configuration groups by both route labels, and a
    // fleet label must not change meaning when the scheme does.
    if crate::names::layer_label_keys().contains(&label) {
        return refuse(
            "it is a label of the request or call series (in one of the naming schemes), not of the fleet",
        );
    }
    if label == "route" || label == "datasource" {
        return refuse("the dashboard has a variable by that name");
    }
    if RULE_LABELS.contains(&label) {
        return refuse("the generated rules write a label by that name");
    }
    Ok(())
}

/// Checks every setting of `slo`.
pub(crate) fn check(slo: &Slo) -> Result<(), SloError> {
    let job_ok = !slo.job.is_empty()
        && slo
            .job
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c));
    if !job_ok {
        return Err(SloError::Job(slo.job.clone()));
    }
    if let Some(prefix) = slo.naming.prefix() {
        let ok = is_metric_name(prefix) && !prefix.contains(':') && !prefix.starts_with("__");
        if !ok {
            return Err(SloError::Prefix(prefix.to_owned()));
        }
    }
    // The prefix is the only user text in names; the rest is fixed. Checked all the same, and
    // for the `__` Prometheus reserves: `_` in front of `_http_server_…` makes it too.
    for name in [slo.naming.duration(), slo.naming.active()] {
        if !is_metric_name(name) || name.starts_with("__") {
            return Err(SloError::Prefix(
                slo.naming.prefix().unwrap_or(name).to_owned(),
            ));
        }
    }

    let buckets_ok = |b: &[f64]| {
        !b.is_empty()
            && b.iter().all(|x| x.is_finite() && *x > 0.0)
            && b.windows(2).all(|w| w[0] < w[1])
    };
    for b in std::iter::once(&slo.buckets).chain(slo.route_buckets.iter().map(|(_, b)| b)) {
        if !buckets_ok(b) {
            return Err(SloError::Buckets(b.clone()));
        }
    }
    if slo.route_buckets.iter().any(|(r, _)| r.is_empty()) {
        return Err(SloError::EmptyRoute);
    }

    target("availability".to_owned(), slo.availability)?;
    target("latency".to_owned(), slo.latency_target)?;
    let mut thresholds = vec![slo.latency_threshold];
    // Each route with buckets of its own: the threshold that covers it must be one of them
    // (its own objective's, else the service's unless it is excluded).
    for (route, buckets) in &slo.route_buckets {
        let own = slo
            .routes
            .iter()
            .rev()
            .find(|r| r.route == *route && r.latency.is_some());
        let value = match own.and_then(|r| r.latency) {
            Some((threshold, _)) => threshold,
            None if slo.excluded.contains(route) => continue,
            None => slo.latency_threshold,
        };
        if !buckets.contains(&value) {
            return Err(SloError::RouteThreshold {
                route: route.clone(),
                value,
                buckets: buckets.clone(),
            });
        }
    }
    for r in &slo.routes {
        if r.route.is_empty() {
            return Err(SloError::EmptyRoute);
        }
        if let Some(a) = r.availability {
            target(format!("{:?} availability", r.route), a)?;
        }
        if let Some((threshold, t)) = r.latency {
            target(format!("{:?} latency", r.route), t)?;
            // A route with buckets of its own was checked against them above.
            if !slo.route_buckets.iter().any(|(route, _)| *route == r.route) {
                thresholds.push(threshold);
            }
        }
    }
    if slo.excluded.iter().any(String::is_empty) {
        return Err(SloError::EmptyRoute);
    }
    for value in thresholds {
        if !slo.buckets.contains(&value) {
            return Err(SloError::Threshold {
                value,
                buckets: slo.buckets.clone(),
            });
        }
    }

    positive("p99 alert threshold (seconds)", slo.p99_alert)?;
    positive("memory limit (bytes)", slo.memory_limit_bytes)?;
    if let Some(rps) = slo.rps_capacity {
        positive("request-rate capacity (per second)", rps)?;
    }
    if let Some(ratio) = slo.cancelled_alert {
        target("cancelled-ratio alert".to_owned(), ratio)?;
    }
    if let Some(a) = slo.grpc_availability {
        target("gRPC availability".to_owned(), a)?;
        let rpc = slo.naming.rpc_duration();
        if !is_metric_name(rpc) || rpc.starts_with("__") {
            return Err(SloError::Prefix(
                slo.naming.prefix().unwrap_or(rpc).to_owned(),
            ));
        }
    }
    for label in &slo.fleet_labels {
        fleet_label(slo, label)?;
    }
    let horizon = slo.forecast_horizon;
    if horizon < Duration::from_secs(1) || horizon > MAX_HORIZON {
        return Err(SloError::Number {
            what: "forecast horizon (seconds)",
            value: horizon.as_secs_f64(),
            expected: "from 1 second to 366 days",
        });
    }
    Ok(())
}
