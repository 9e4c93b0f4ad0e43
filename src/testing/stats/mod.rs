//! Summaries of series into per-route statistics: what a [`RouteStats`] holds and how series
//! are summed up into it. Its assertions (`assert`), its text form (`display`) and the hint
//! about routes that do have requests (`missing`) each have a file of their own.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::distribution::Distribution;
use super::series::{Series, SeriesValue};
use crate::names::{Naming, NamingScheme};

mod assert;
mod display;
mod missing;

/// A summary of the requests to one route (or endpoint, or all routes) in a
/// [`Snapshot`](super::Snapshot).
///
/// Its `Display` form is the whole summary on a few lines; every assertion prints it when it
/// fails, so a red test shows the numbers behind it.
///
/// Assertions are strict: on a summary with no requests, every assertion fails except
/// [`assert_count(0)`](Self::assert_count), and the message lists the routes that do have
/// requests, with the nearest by name first (a typo in a route is the usual cause). Bounds
/// come in two forms, `_below` (strictly less) and `_at_most` (less or equal).
///
/// ```should_panic
/// use std::time::Duration;
/// use axum::{Router, routing::get, body::Body};
/// use routemeter::testing::{Load, TestMeter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let meter = TestMeter::new();
/// let app = Router::new()
///     .route("/slow", get(|| async { tokio::time::sleep(Duration::from_millis(20)).await }))
///     .layer(meter.layer());
/// let load = Load::new(|_| http::Request::get("/slow").body(Body::empty()).unwrap()).requests(5);
/// let stats = meter.drive(&load, app).await.route("/slow");
/// assert_eq!(stats.count(), 5);
/// assert!(stats.min() >= Duration::from_millis(20));
/// // Panics with: "/slow: p99 = 20.1ms is not below 10ms" and the route's summary.
/// stats.assert_p99_below(Duration::from_millis(10));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RouteStats {
    name: String,
    window: Duration,
    count: u64,
    errors: u64,
    /// Errors that are the client's: it hung up (`cancelled`; status 499 in the
    /// axum-prometheus naming).
    hang_ups: u64,
    statuses: BTreeMap<u16, u64>,
    /// Requests recorded with a status class (`2xx`, by its digit) rather than a code, by a
    /// layer with `status_classes` on.
    classes: BTreeMap<u16, u64>,
    no_response: u64,
    error_types: BTreeMap<String, u64>,
    /// Errors typed `cancelled` that had a 2xx or 3xx status: almost always a response whose
    /// body the test dropped unread.
    dropped_unread: u64,
    duration: Distribution,
    request_bytes: Distribution,
    response_bytes: Distribution,
    active: f64,
    /// Why there are no requests, when there are none: what does exist.
    missing: Option<String>,
}

/// The error type of a request the client hung up on (a response dropped before its body was
/// read, among others).
const CANCELLED: &str = "cancelled";

/// The status the axum-prometheus naming records for a request the client hung up on.
const HANG_UP_STATUS: u16 = 499;

impl RouteStats {
    /// Sums up the series of `series` (already narrowed to what `name` describes).
    pub(crate) fn summarise<'a>(
        name: String,
        window: Duration,
        naming: &Naming,
        series: impl Iterator<Item = &'a Series>,
    ) -> Self {
        let n = naming;
        let mut stats = Self {
            name,
            window,
            count: 0,
            errors: 0,
            hang_ups: 0,
            statuses: BTreeMap::new(),
            classes: BTreeMap::new(),
            no_response: 0,
            error_types: BTreeMap::new(),
            dropped_unread: 0,
            duration: Distribution::empty(),
            request_bytes: Distribution::empty(),
            response_bytes: Distribution::empty(),
            active: 0.0,
            missing: None,
        };
        for s in series {
            match s.value() {
                SeriesValue::Histogram(d) if d.count() == 0 => {}
                SeriesValue::Histogram(d) if s.name() == n.duration() => {
                    let label = s.label(n.status_key());
                    let class = label.and_then(crate::classify::label_class);
                    let status = label.and_then(|v| v.parse::<u16>().ok());
                    let error = match n.scheme() {
                        // As the live page reads this naming: 5xx, and 499 for a hang-up.
                        // (5xx as the conventions count server errors: 500 to 599.)
                        NamingScheme::AxumPrometheus => status
                            .filter(|s| (500..600).contains(s) || *s == HANG_UP_STATUS)
                            .map(|s| s.to_string())
                            .or_else(|| class.filter(|c| *c == 5).map(|c| format!("{c}xx"))),
                        _ => n.error_key().and_then(|k| s.label(k)).map(str::to_owned),
                    };
                    match class {
                        Some(class) => stats.add_finished_class(d, class, error),
                        None => stats.add_finished(d, status, error),
                    }
                }
                SeriesValue::Histogram(d) if Some(s.name()) == n.request_size() => {
                    stats.request_bytes.merge(d);
                }
                SeriesValue::Histogram(d) if Some(s.name()) == n.response_size() => {
                    stats.response_bytes.merge(d);
                }
                SeriesValue::Gauge(v) if s.name() == n.active() => stats.active += v,
                _ => {}
            }
        }
        stats
    }

    /// Sums up gRPC call series: statuses are the gRPC codes (by number), errors the calls whose
    /// status the conventions count as server errors.
    pub(crate) fn summarise_rpc<'a>(
        name: String,
        window: Duration,
        naming: &Naming,
        series: impl Iterator<Item = &'a Series>,
    ) -> Self {
        let n = naming;
        let mut stats = Self::summarise(name, window, naming, std::iter::empty());
        for s in series {
            match s.value() {
                SeriesValue::Histogram(d) if d.count() == 0 => {}
                SeriesValue::Histogram(d) if s.name() == n.rpc_duration() => {
                    let code = s
                        .label(n.rpc_status_key())
                        .and_then(crate::GrpcCode::from_name);
                    let error = s.label(n.rpc_error_key()).map(str::to_owned);
                    stats.add_finished(d, code.map(u16::from), error);
                }
                SeriesValue::Gauge(v) if s.name() == n.rpc_active() => stats.active += v,
                _ => {}
            }
        }
        stats
    }

    /// Adds the finished requests of one duration histogram recorded with a status class
    /// (`class` 2 for `2xx`), and their error type, if they failed.
    fn add_finished_class(&mut self, d: &Distribution, class: u16, error: Option<String>) {
        let count = d.count();
        self.count = self.count.saturating_add(count);
        self.duration.merge(d);
        add(self.classes.entry(class).or_default(), count);
        if let Some(error) = error {
            add(&mut self.errors, count);
            if error == CANCELLED {
                add(&mut self.hang_ups, count);
                if class == 2 || class == 3 {
                    add(&mut self.dropped_unread, count);
                }
            }
            add(self.error_types.entry(error).or_default(), count);
        }
    }

    /// Adds the finished requests of one duration histogram: their status (an HTTP status, or
    /// a gRPC code by number; `None` without a response) and their error type, if they failed.
    /// A gRPC code is never in `200..400`, so only HTTP requests count as dropped unread.
    fn add_finished(&mut self, d: &Distribution, status: Option<u16>, error: Option<String>) {
        let count = d.count();
        self.count = self.count.saturating_add(count);
        self.duration.merge(d);
        match status {
            Some(code) => add(self.statuses.entry(code).or_default(), count),
            None => add(&mut self.no_response, count),
        }
        if let Some(error) = error {
            add(&mut self.errors, count);
            if error == CANCELLED || status == Some(HANG_UP_STATUS) {
                add(&mut self.hang_ups, count);
            }
            if error == CANCELLED && status.is_some_and(|s| (200..400).contains(&s)) {
                add(&mut self.dropped_unread, count);
            }
            add(self.error_types.entry(error).or_default(), count);
        }
    }

    /// Finished requests.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Finished requests that failed: every request with an `error_type` (a 5xx status, an
    /// inner error, a panic, a body error, a timeout) and the client's hang-ups (`cancelled`)
    /// among them. The live page's error percentage counts the same; the generated
    /// availability objective leaves the hang-ups out unless told otherwise, and counts
    /// [`server_errors`](Self::server_errors).
    #[must_use]
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// The [`errors`](Self::errors) that are the client's: requests it hung up on
    /// (`error_type="cancelled"`; status 499 in the axum-prometheus naming). A test that drops
    /// a response unread makes one.
    #[must_use]
    pub fn hang_ups(&self) -> u64 {
        self.hang_ups
    }

    /// The [`errors`](Self::errors) that are the server's: all but the
    /// [`hang_ups`](Self::hang_ups). These are the failures the generated availability
    /// objective counts by default.
    #[must_use]
    pub fn server_errors(&self) -> u64 {
        self.errors.saturating_sub(self.hang_ups)
    }

    /// `errors / count` (hang-ups included), or 0 when there were no requests.
    #[must_use]
    pub fn error_ratio(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.errors as f64 / self.count as f64
        }
    }

    /// Requests that ended with response status `status` (e.g. `200`), as recorded by a layer
    /// that records codes (for a layer with
    /// [`status_classes`](crate::RouteMeterBuilder::status_classes) on, see
    /// [`status_class`](Self::status_class)).
    #[must_use]
    pub fn status(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    /// Requests whose response status is in class `class` (`2` for `2xx`, `5` for `5xx`):
    /// those recorded with a code in that class and those recorded as the class itself, by a
    /// layer with [`status_classes`](crate::RouteMeterBuilder::status_classes) on. In the
    /// axum-prometheus naming this includes its stand-ins for requests without a response:
    /// 499 (a hang-up) in class 4, 500 in class 5.
    #[must_use]
    pub fn status_class(&self, class: u16) -> u64 {
        let codes = class.saturating_mul(100)..class.saturating_add(1).saturating_mul(100);
        let by_code: u64 = self
            .statuses
            .range(codes)
            .fold(0, |sum, (_, n)| sum.saturating_add(*n));
        by_code.saturating_add(self.classes.get(&class).copied().unwrap_or(0))
    }

    /// gRPC calls that ended with `code` (in a summary from
    /// [`Snapshot::grpc_method`](super::Snapshot::grpc_method)).
    #[must_use]
    pub fn grpc_status(&self, code: crate::GrpcCode) -> u64 {
        self.status(code.into())
    }

    /// Requests per response status; statuses with no requests are not listed.
    #[must_use]
    pub fn statuses(&self) -> &BTreeMap<u16, u64> {
        &self.statuses
    }

    /// Requests that ended without a response status (the service failed, panicked or was
    /// cancelled before its response was ready).
    #[must_use]
    pub fn no_response(&self) -> u64 {
        self.no_response
    }

    /// Failed requests with error type `error_type` (e.g. `"panic"`, `"cancelled"`, `"503"`).
    #[must_use]
    pub fn error_type(&self, error_type: &str) -> u64 {
        self.error_types.get(error_type).copied().unwrap_or(0)
    }

    /// Failed requests per error type; types with no requests are not listed.
    #[must_use]
    pub fn error_types(&self) -> &BTreeMap<String, u64> {
        &self.error_types
    }

    /// Requests in flight when the snapshot was taken.
    #[must_use]
    pub fn active(&self) -> f64 {
        self.active
    }

    /// Finished requests per second over the snapshot's window.
    #[must_use]
    pub fn rps(&self) -> f64 {
        let window = self.window.as_secs_f64();
        if window > 0.0 {
            self.count as f64 / window
        } else {
            0.0
        }
    }

    /// The request durations, in seconds.
    #[must_use]
    pub fn duration(&self) -> &Distribution {
        &self.duration
    }

    /// Request body sizes, in bytes (empty unless the layer records them, with
    /// [`body_sizes(true)`](crate::RouteMeterBuilder::body_sizes)).
    #[must_use]
    pub fn request_bytes(&self) -> &Distribution {
        &self.request_bytes
    }

    /// Response body sizes, in bytes (empty unless the layer records them, with
    /// [`body_sizes(true)`](crate::RouteMeterBuilder::body_sizes)).
    #[must_use]
    pub fn response_bytes(&self) -> &Distribution {
        &self.response_bytes
    }

    /// The duration at quantile `q` (see [`Distribution::quantile`]).
    #[must_use]
    pub fn quantile(&self, q: f64) -> Duration {
        secs(self.duration.quantile(q))
    }

    /// Where the duration at quantile `q` certainly lies (see
    /// [`Distribution::quantile_range`]).
    #[must_use]
    pub fn quantile_range(&self, q: f64) -> RangeInclusive<Duration> {
        let r = self.duration.quantile_range(q);
        secs(*r.start())..=secs(*r.end())
    }

    /// The median duration.
    #[must_use]
    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    /// The 90th percentile duration.
    #[must_use]
    pub fn p90(&self) -> Duration {
        self.quantile(0.9)
    }

    /// The 95th percentile duration.
    #[must_use]
    pub fn p95(&self) -> Duration {
        self.quantile(0.95)
    }

    /// The 99th percentile duration.
    #[must_use]
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    /// The 99.9th percentile duration.
    #[must_use]
    pub fn p999(&self) -> Duration {
        self.quantile(0.999)
    }

    /// The shortest duration (see [`Distribution::min`]).
    #[must_use]
    pub fn min(&self) -> Duration {
        secs(self.duration.min())
    }

    /// The longest duration (see [`Distribution::max`]).
    #[must_use]
    pub fn max(&self) -> Duration {
        secs(self.duration.max())
    }

    /// The mean duration.
    #[must_use]
    pub fn mean(&self) -> Duration {
        secs(self.duration.mean())
    }
}

fn add(total: &mut u64, n: u64) {
    *total = total.saturating_add(n);
}

fn secs(d: f64) -> Duration {
    if d <= 0.0 || d.is_nan() {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(d).unwrap_or(Duration::MAX)
    }
}
