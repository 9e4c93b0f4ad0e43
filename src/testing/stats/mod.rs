//! Summaries of series into per-route statistics, with assertions that print the whole
//! summary when they fail.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::distribution::Distribution;
use super::series::{Series, SeriesValue};
use crate::names::{Naming, NamingScheme};

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
    statuses: BTreeMap<u16, u64>,
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

/// The error type of a response that was dropped before its body was read.
const CANCELLED: &str = "cancelled";

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
            statuses: BTreeMap::new(),
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
                    let count = d.count();
                    stats.count = stats.count.saturating_add(count);
                    stats.duration.merge(d);
                    let status = s.label(n.status_key()).and_then(|v| v.parse::<u16>().ok());
                    let error = match n.scheme() {
                        NamingScheme::AxumPrometheus => {
                            status.filter(|s| *s >= 500).map(|s| s.to_string())
                        }
                        _ => n.error_key().and_then(|k| s.label(k)).map(str::to_owned),
                    };
                    match status {
                        Some(code) => add(stats.statuses.entry(code).or_default(), count),
                        None => add(&mut stats.no_response, count),
                    }
                    if let Some(error) = error {
                        add(&mut stats.errors, count);
                        if error == CANCELLED && status.is_some_and(|s| (200..400).contains(&s)) {
                            add(&mut stats.dropped_unread, count);
                        }
                        add(stats.error_types.entry(error).or_default(), count);
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
                    let count = d.count();
                    stats.count = stats.count.saturating_add(count);
                    stats.duration.merge(d);
                    let code = s
                        .label(n.rpc_status_key())
                        .and_then(crate::GrpcCode::from_name);
                    match code {
                        Some(code) => add(stats.statuses.entry(code.into()).or_default(), count),
                        None => add(&mut stats.no_response, count),
                    }
                    if let Some(error) = s.label(n.rpc_error_key()) {
                        add(&mut stats.errors, count);
                        add(
                            stats.error_types.entry(error.to_owned()).or_default(),
                            count,
                        );
                    }
                }
                SeriesValue::Gauge(v) if s.name() == n.rpc_active() => stats.active += v,
                _ => {}
            }
        }
        stats
    }

    /// Notes, for a summary without requests, what was asked for and which routes have
    /// requests, so a failing assertion can point at the likely typo.
    pub(crate) fn note_missing(&mut self, route: Option<&str>, routes: &[String]) {
        if self.count > 0 {
            return;
        }
        let message = if routes.is_empty() {
            "no route has recorded requests".to_owned()
        } else if let Some(route) = route.filter(|r| routes.iter().any(|known| known == r)) {
            format!(
                "route `{route}` has requests, but none that match; routes with requests: {}",
                list(routes)
            )
        } else {
            let mut by_distance: Vec<(usize, &String)> = routes
                .iter()
                .map(|known| (route.map_or(0, |r| edit_distance(r, known)), known))
                .collect();
            by_distance.sort();
            let mut message = format!("routes with requests: {}", list(routes));
            if let (Some(_), Some((_, nearest))) = (route, by_distance.first()) {
                message.push_str(&format!("; nearest by name: `{nearest}`"));
            }
            message
        };
        self.missing = Some(message);
    }

    /// Finished requests.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Finished requests that failed (5xx, inner error, panic, body error or cancelled).
    #[must_use]
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// `errors / count`, or 0 when there were no requests.
    #[must_use]
    pub fn error_ratio(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.errors as f64 / self.count as f64
        }
    }

    /// Requests that ended with response status `status` (e.g. `200`).
    #[must_use]
    pub fn status(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
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

    #[track_caller]
    fn check(&self, ok: bool, what: fmt::Arguments<'_>) -> &Self {
        assert!(ok, "{what}\n{self}");
        self
    }

    /// Fails unless there is at least one request: a bound on nothing proves nothing.
    #[track_caller]
    fn require_requests(&self, what: &str) {
        self.check(
            self.count > 0,
            format_args!(
                "{}: no requests recorded, so `{what}` cannot hold",
                self.name
            ),
        );
    }

    /// Panics (printing this summary) unless exactly `n` requests finished.
    ///
    /// The only assertion that passes on a summary without requests, when `n` is 0.
    #[track_caller]
    pub fn assert_count(&self, n: u64) -> &Self {
        self.check(
            self.count == n,
            format_args!("{}: expected {n} requests, got {}", self.name, self.count),
        )
    }

    /// Panics (printing this summary) unless exactly `n` requests ended with response status
    /// `status`.
    #[track_caller]
    pub fn assert_status(&self, status: u16, n: u64) -> &Self {
        let got = self.status(status);
        self.check(
            got == n,
            format_args!(
                "{}: expected {n} requests with status {status}, got {got}",
                self.name
            ),
        )
    }

    /// Panics (printing this summary) unless exactly `n` gRPC calls ended with `code`.
    #[track_caller]
    pub fn assert_grpc_status(&self, code: crate::GrpcCode, n: u64) -> &Self {
        let got = self.grpc_status(code);
        self.check(
            got == n,
            format_args!(
                "{}: expected {n} calls with status {code}, got {got}",
                self.name
            ),
        )
    }

    /// Panics (printing this summary) if any request failed, or if there were no requests.
    #[track_caller]
    pub fn assert_no_errors(&self) -> &Self {
        self.require_requests("assert_no_errors");
        self.check(
            self.errors == 0,
            format_args!("{}: expected no errors, got {}", self.name, self.errors),
        )
    }

    /// Panics (printing this summary) unless there were requests and their error ratio is at
    /// most `max_ratio` (0.0 to 1.0).
    #[track_caller]
    pub fn assert_error_ratio_at_most(&self, max_ratio: f64) -> &Self {
        self.error_ratio_bound(max_ratio, true)
    }

    /// Panics (printing this summary) unless there were requests and their error ratio is
    /// below `ratio` (0.0 to 1.0).
    #[track_caller]
    pub fn assert_error_ratio_below(&self, ratio: f64) -> &Self {
        self.error_ratio_bound(ratio, false)
    }

    #[track_caller]
    fn error_ratio_bound(&self, bound: f64, inclusive: bool) -> &Self {
        assert!(
            (0.0..=1.0).contains(&bound),
            "an error ratio bound is between 0.0 and 1.0, not {bound}"
        );
        let (name, relation) = if inclusive {
            ("assert_error_ratio_at_most", "above")
        } else {
            ("assert_error_ratio_below", "not below")
        };
        self.require_requests(name);
        let ratio = self.error_ratio();
        let ok = if inclusive {
            ratio <= bound
        } else {
            ratio < bound
        };
        self.check(
            ok,
            format_args!(
                "{}: error ratio {ratio:.4} ({} of {}) is {relation} {bound}",
                self.name, self.errors, self.count
            ),
        )
    }

    /// Panics (printing this summary) unless there were requests and the duration at quantile
    /// `q` (0.0 to 1.0) is certainly below `bound`.
    ///
    /// "Certainly": with durations read from buckets, the whole range the quantile may lie in
    /// ([`quantile_range`](Self::quantile_range)) must be below `bound`.
    #[track_caller]
    pub fn assert_quantile_below(&self, q: f64, bound: Duration) -> &Self {
        self.quantile_bound(q, bound, false)
    }

    /// Panics (printing this summary) unless there were requests and the duration at quantile
    /// `q` (0.0 to 1.0) is certainly at most `bound` (see
    /// [`assert_quantile_below`](Self::assert_quantile_below)).
    #[track_caller]
    pub fn assert_quantile_at_most(&self, q: f64, bound: Duration) -> &Self {
        self.quantile_bound(q, bound, true)
    }

    /// Panics (printing this summary) unless there were requests and p99 is below `bound`.
    #[track_caller]
    pub fn assert_p99_below(&self, bound: Duration) -> &Self {
        self.quantile_bound(0.99, bound, false)
    }

    /// Panics (printing this summary) unless there were requests and p99 is at most `bound`.
    #[track_caller]
    pub fn assert_p99_at_most(&self, bound: Duration) -> &Self {
        self.quantile_bound(0.99, bound, true)
    }

    #[track_caller]
    fn quantile_bound(&self, q: f64, bound: Duration, inclusive: bool) -> &Self {
        assert!(
            (0.0..=1.0).contains(&q),
            "a quantile is between 0.0 and 1.0, not {q}"
        );
        let p = percentile(q);
        let relation = if inclusive { "at most" } else { "below" };
        self.require_requests(&format!("{p} {relation} {bound:?}"));
        let range = self.quantile_range(q);
        let high = *range.end();
        let ok = if inclusive {
            high <= bound
        } else {
            high < bound
        };
        if self.duration.is_bucketed() && range.start() != range.end() {
            self.check(
                ok,
                format_args!(
                    "{}: {p} lies between {:?} and {high:?} (from buckets), so it is not certainly {relation} {bound:?}",
                    self.name,
                    range.start()
                ),
            )
        } else {
            self.check(
                ok,
                format_args!("{}: {p} = {high:?} is not {relation} {bound:?}", self.name),
            )
        }
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

/// `p99`, `p99.9`, `p50` for a quantile.
fn percentile(q: f64) -> String {
    let p = (q * 100.0 * 1e6).round() / 1e6;
    format!("p{p}")
}

/// Routes as a short list: all if few, else the first ones and how many more.
fn list(routes: &[String]) -> String {
    const SHOWN: usize = 20;
    let shown: Vec<String> = routes
        .iter()
        .take(SHOWN)
        .map(|r| format!("`{r}`"))
        .collect();
    let mut out = shown.join(", ");
    if routes.len() > SHOWN {
        out.push_str(&format!(" and {} more", routes.len() - SHOWN));
    }
    out
}

/// The Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// A value, or the range it certainly lies in.
fn range_text(range: &RangeInclusive<f64>, show: impl Fn(f64) -> String) -> String {
    if range.start() == range.end() {
        show(*range.start())
    } else {
        format!("{}..{}", show(*range.start()), show(*range.end()))
    }
}

fn bytes_text(v: f64) -> String {
    if v.is_infinite() {
        "∞".to_owned()
    } else if v.fract() == 0.0 {
        format!("{v}")
    } else {
        format!("{v:.1}")
    }
}

fn duration_text(v: f64) -> String {
    format!("{:?}", secs(v))
}

/// One distribution on one line: exact values, or for buckets the range each value lies in.
fn distribution_line(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    d: &Distribution,
    show: &dyn Fn(f64) -> String,
) -> fmt::Result {
    let n = d.count();
    let point = |q: f64| -> String {
        if d.is_bucketed() {
            range_text(&d.quantile_range(q), show)
        } else {
            show(d.quantile(q))
        }
    };
    let (min, max) = if d.is_bucketed() {
        (
            range_text(&d.quantile_range(0.0), show),
            range_text(&d.quantile_range(1.0), show),
        )
    } else {
        (show(d.min()), show(d.max()))
    };
    write!(f, "  {what}")?;
    if d.is_bucketed() {
        write!(f, " (from buckets: ranges that hold)")?;
    }
    writeln!(
        f,
        ": min {min} p50 {} p90 {} p95 {} p99 {} p99.9 {} max {max} mean {} total {} over {n}",
        point(0.5),
        point(0.9),
        point(0.95),
        point(0.99),
        point(0.999),
        show(d.mean()),
        show(d.sum()),
    )
}

impl fmt::Display for RouteStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} requests ({:.1}/s over {:.3?}), {} errors ({:.2}%), {} in flight",
            self.name,
            self.count,
            self.rps(),
            self.window,
            self.errors,
            self.error_ratio() * 100.0,
            self.active
        )?;
        if let Some(missing) = &self.missing {
            writeln!(f, "  {missing}")?;
        }
        let mut statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, n)| format!("{status} × {n}"))
            .collect();
        if self.no_response > 0 {
            statuses.push(format!("no response × {}", self.no_response));
        }
        if !statuses.is_empty() {
            writeln!(f, "  statuses: {}", statuses.join(", "))?;
        }
        if !self.error_types.is_empty() {
            let errors: Vec<String> = self
                .error_types
                .iter()
                .map(|(e, n)| format!("{e} × {n}"))
                .collect();
            writeln!(f, "  errors: {}", errors.join(", "))?;
        }
        if self.dropped_unread > 0 {
            let which = match (self.dropped_unread, self.errors) {
                (1, 1) => "the only error is".to_owned(),
                (d, e) if d == e => format!("all {e} errors are"),
                (1, e) => format!("1 of the {e} errors is"),
                (d, e) => format!("{d} of the {e} errors are"),
            };
            writeln!(
                f,
                "  {which} `cancelled` after a 2xx or 3xx status: responses dropped unread: read \
                 the body (`routemeter::testing::send` sends a request and reads its body)"
            )?;
        }
        if self.count > 0 {
            distribution_line(f, "duration", &self.duration, &duration_text)?;
        }
        for (what, d) in [
            ("request bytes", &self.request_bytes),
            ("response bytes", &self.response_bytes),
        ] {
            if d.count() > 0 {
                distribution_line(f, what, d, &bytes_text)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("/api/v1/user/{id}", "/api/v1/users/{id}"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("é", "e"), 1);
    }

    #[test]
    fn percentile_names() {
        assert_eq!(percentile(0.99), "p99");
        assert_eq!(percentile(0.999), "p99.9");
        assert_eq!(percentile(0.5), "p50");
    }
}
