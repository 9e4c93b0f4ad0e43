//! Snapshots of recorded series and per-route summaries with assertions.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use metrics::Key;

use super::distribution::Distribution;
use crate::names::{Naming, NamingScheme};

/// A recorded series' value.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SeriesValue {
    /// A counter.
    Counter(u64),
    /// A gauge.
    Gauge(f64),
    /// A histogram.
    Histogram(Distribution),
}

/// One recorded series: its name, labels (sorted by key) and value.
#[derive(Clone, Debug)]
pub struct Series {
    name: String,
    labels: Vec<(String, String)>,
    value: SeriesValue,
}

impl Series {
    pub(crate) fn new(key: &Key, value: SeriesValue) -> Self {
        let mut labels: Vec<(String, String)> = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        labels.sort();
        Self {
            name: key.name().to_owned(),
            labels,
            value,
        }
    }

    pub(crate) fn from_parts(
        name: String,
        labels: Vec<(String, String)>,
        value: SeriesValue,
    ) -> Self {
        Self {
            name,
            labels,
            value,
        }
    }

    /// The metric name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The labels, sorted by key.
    #[must_use]
    pub fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    /// The value of label `key`, if the series has it.
    #[must_use]
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value.
    #[must_use]
    pub fn value(&self) -> &SeriesValue {
        &self.value
    }
}

/// Everything a [`TestMeter`](super::TestMeter) recorded, at one moment.
///
/// Subtract two snapshots (`&after - &before`) to look at what happened in between.
///
/// ```
/// use axum::{Router, routing::get, body::Body};
/// use routemeter::testing::{Load, TestMeter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let meter = TestMeter::new();
/// let app = Router::new().route("/users/{id}", get(|| async { "user" })).layer(meter.layer());
/// let load = Load::new(|i| http::Request::get(format!("/users/{i}")).body(Body::empty()).unwrap());
///
/// load.clone().requests(30).run(app.clone()).await;     // warm-up
/// let before = meter.snapshot();
/// load.requests(70).run(app).await;                     // the phase under test
/// let phase = &meter.snapshot() - &before;
/// phase.route("/users/{id}").assert_count(70);
/// assert_eq!(phase.routes(), ["/users/{id}"]);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Snapshot {
    naming: Naming,
    start: Instant,
    end: Instant,
    series: Vec<Series>,
}

impl Snapshot {
    pub(crate) fn new(naming: Naming, start: Instant, series: Vec<Series>) -> Self {
        Self {
            naming,
            start,
            end: Instant::now(),
            series,
        }
    }

    /// Reads a Prometheus text exposition (the body of a `/metrics` endpoint) into a snapshot
    /// whose series carry the names of `naming`, so its per-route summaries work as for an
    /// in-memory recorder.
    ///
    /// Duration quantiles are then estimated from the buckets, as `histogram_quantile` does
    /// (see [`Distribution`]). The window of a parsed snapshot is empty, so its rates are 0;
    /// the difference of two parsed snapshots covers the time between the two parses.
    ///
    /// # Errors
    ///
    /// [`ParseError`](super::ParseError), naming the line, if the text is not in the exposition
    /// format.
    ///
    /// ```
    /// use routemeter::{Naming, testing::Snapshot};
    ///
    /// let text = "# TYPE http_server_request_duration_seconds histogram\n\
    ///     http_server_request_duration_seconds_bucket{http_route=\"/a\",le=\"0.1\"} 9\n\
    ///     http_server_request_duration_seconds_bucket{http_route=\"/a\",le=\"+Inf\"} 10\n\
    ///     http_server_request_duration_seconds_sum{http_route=\"/a\"} 0.7\n\
    ///     http_server_request_duration_seconds_count{http_route=\"/a\"} 10\n";
    /// let snapshot = Snapshot::from_prometheus_text(text, &Naming::default()).unwrap();
    /// assert_eq!(snapshot.route("/a").count(), 10);
    /// assert!(Snapshot::from_prometheus_text("broken{", &Naming::default()).is_err());
    /// ```
    pub fn from_prometheus_text(text: &str, naming: &Naming) -> Result<Self, super::ParseError> {
        let series = super::exposition::parse(text)?;
        let now = Instant::now();
        Ok(Self {
            naming: naming.clone(),
            start: now,
            end: now,
            series,
        })
    }

    /// How long the snapshot covers: from the meter's creation (or the earlier snapshot of a
    /// difference) until it was taken.
    #[must_use]
    pub fn window(&self) -> Duration {
        self.end.saturating_duration_since(self.start)
    }

    /// Every recorded series.
    #[must_use]
    pub fn series(&self) -> &[Series] {
        &self.series
    }

    /// The number of distinct series (all names, all label sets).
    #[must_use]
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The distinct route labels that have recorded at least one request, sorted.
    #[must_use]
    pub fn routes(&self) -> Vec<String> {
        let mut routes: Vec<String> = self
            .series
            .iter()
            .filter(|s| s.name == self.naming.duration())
            .filter_map(|s| s.label(self.naming.route_key()).map(str::to_owned))
            .collect();
        routes.sort();
        routes.dedup();
        routes
    }

    /// The value of the counter `name` with exactly `labels` (in any order), if recorded.
    #[must_use]
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        self.find(name, labels).and_then(|s| match s.value {
            SeriesValue::Counter(v) => Some(v),
            _ => None,
        })
    }

    /// The value of the gauge `name` with exactly `labels` (in any order), if recorded.
    #[must_use]
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.find(name, labels).and_then(|s| match s.value {
            SeriesValue::Gauge(v) => Some(v),
            _ => None,
        })
    }

    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Series> {
        let mut want: Vec<(&str, &str)> = labels.to_vec();
        want.sort_unstable();
        self.series.iter().find(|s| {
            s.name == name
                && s.labels.len() == want.len()
                && s.labels
                    .iter()
                    .zip(&want)
                    .all(|((k, v), (wk, wv))| k == wk && v == wv)
        })
    }

    /// All requests to `route` (a template such as `/users/{id}`), every method and outcome.
    #[must_use]
    pub fn route(&self, route: &str) -> RouteStats {
        self.stats(route.to_owned(), |s| {
            s.label(self.naming.route_key()) == Some(route)
        })
    }

    /// Requests with `method` to `route`.
    #[must_use]
    pub fn endpoint(&self, method: &str, route: &str) -> RouteStats {
        self.stats(format!("{method} {route}"), |s| {
            s.label(self.naming.route_key()) == Some(route)
                && s.label(self.naming.method_key()) == Some(method)
        })
    }

    /// Requests to `route`, narrowed to one method and/or one status label value (`"200"`,
    /// or `"none"` for requests that got no response) when given.
    #[must_use]
    pub fn select(&self, route: &str, method: Option<&str>, status: Option<&str>) -> RouteStats {
        let n = &self.naming;
        let name = [method, Some(route), status]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        self.stats(name, |s| {
            s.label(n.route_key()) == Some(route)
                && method.is_none_or(|m| s.label(n.method_key()) == Some(m))
                && status.is_none_or(|st| s.label(n.status_key()).unwrap_or("none") == st)
        })
    }

    /// All gRPC calls to `method` (`package.Service/Method`, or
    /// [`OTHER_RPC_METHOD`](crate::OTHER_RPC_METHOD) for the methods the layer does not
    /// recognise), every status. Its statuses are gRPC status names (`"OK"`, `"NOT_FOUND"`),
    /// its errors the calls the conventions count as server errors.
    #[must_use]
    pub fn grpc_method(&self, method: &str) -> RouteStats {
        self.grpc_select(method, None)
    }

    /// gRPC calls to `method`, narrowed to one status name (`"DEADLINE_EXCEEDED"`, or `"none"`
    /// for calls that ended without a status) when given.
    #[must_use]
    pub fn grpc_select(&self, method: &str, status: Option<&str>) -> RouteStats {
        let n = &self.naming;
        let name = [Some(method), status]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        self.rpc_stats(name, |s| {
            s.label(n.rpc_method_key()) == Some(method)
                && status.is_none_or(|st| s.label(n.rpc_status_key()).unwrap_or("none") == st)
        })
    }

    /// The distinct gRPC methods that have recorded at least one call, sorted.
    #[must_use]
    pub fn grpc_methods(&self) -> Vec<String> {
        let mut methods: Vec<String> = self
            .series
            .iter()
            .filter(|s| s.name == self.naming.rpc_duration())
            .filter_map(|s| s.label(self.naming.rpc_method_key()).map(str::to_owned))
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }

    /// All gRPC calls, every method.
    #[must_use]
    pub fn grpc_total(&self) -> RouteStats {
        self.rpc_stats("all gRPC methods".to_owned(), |_| true)
    }

    /// Like `stats`, over the gRPC call series.
    fn rpc_stats(&self, name: String, matches: impl Fn(&Series) -> bool) -> RouteStats {
        let n = &self.naming;
        let mut stats = RouteStats::empty(name, self.window());
        for s in self.series.iter().filter(|s| matches(s)) {
            match &s.value {
                SeriesValue::Histogram(d) if s.name == n.rpc_duration() => {
                    let count = d.count();
                    stats.count += count;
                    stats.duration.merge(d);
                    let status = s.label(n.rpc_status_key()).unwrap_or("none").to_owned();
                    *stats.statuses.entry(status).or_default() += count;
                    if let Some(error) = s.label(n.rpc_error_key()) {
                        stats.errors += count;
                        *stats.error_types.entry(error.to_owned()).or_default() += count;
                    }
                }
                SeriesValue::Gauge(v) if s.name == n.rpc_active() => stats.active += v,
                _ => {}
            }
        }
        stats
    }

    /// All requests, every route.
    #[must_use]
    pub fn total(&self) -> RouteStats {
        self.stats("all routes".to_owned(), |_| true)
    }

    fn stats(&self, name: String, matches: impl Fn(&Series) -> bool) -> RouteStats {
        let n = &self.naming;
        let mut stats = RouteStats {
            name,
            window: self.window(),
            count: 0,
            errors: 0,
            statuses: BTreeMap::new(),
            error_types: BTreeMap::new(),
            duration: Distribution::empty(),
            request_bytes: Distribution::empty(),
            response_bytes: Distribution::empty(),
            active: 0.0,
        };
        for s in self.series.iter().filter(|s| matches(s)) {
            match &s.value {
                SeriesValue::Histogram(d) if s.name == n.duration() => {
                    let count = d.count();
                    stats.count += count;
                    stats.duration.merge(d);
                    let status = s.label(n.status_key()).unwrap_or("none").to_owned();
                    let error = match n.scheme() {
                        NamingScheme::AxumPrometheus => {
                            status.starts_with('5').then(|| status.clone())
                        }
                        _ => n.error_key().and_then(|k| s.label(k)).map(str::to_owned),
                    };
                    *stats.statuses.entry(status).or_default() += count;
                    if let Some(error) = error {
                        stats.errors += count;
                        *stats.error_types.entry(error).or_default() += count;
                    }
                }
                SeriesValue::Histogram(d) if Some(s.name.as_str()) == n.request_size() => {
                    stats.request_bytes.merge(d);
                }
                SeriesValue::Histogram(d) if Some(s.name.as_str()) == n.response_size() => {
                    stats.response_bytes.merge(d);
                }
                SeriesValue::Gauge(v) if s.name == n.active() => stats.active += v,
                _ => {}
            }
        }
        stats
    }
}

impl std::ops::Sub for &Snapshot {
    type Output = Snapshot;

    /// What was recorded between `rhs` (earlier) and `self` (later): counters and histograms
    /// subtracted, gauges as they are in `self`.
    fn sub(self, rhs: &Snapshot) -> Snapshot {
        let series = self
            .series
            .iter()
            .map(|s| {
                let before = rhs
                    .series
                    .iter()
                    .find(|b| b.name == s.name && b.labels == s.labels);
                let value = match (&s.value, before.map(|b| &b.value)) {
                    (SeriesValue::Counter(a), Some(SeriesValue::Counter(b))) => {
                        SeriesValue::Counter(a.saturating_sub(*b))
                    }
                    (SeriesValue::Histogram(a), Some(SeriesValue::Histogram(b))) => {
                        let mut d = a.clone();
                        d.subtract(b);
                        SeriesValue::Histogram(d)
                    }
                    (v, _) => v.clone(),
                };
                Series {
                    name: s.name.clone(),
                    labels: s.labels.clone(),
                    value,
                }
            })
            .collect();
        Snapshot {
            naming: self.naming.clone(),
            start: rhs.end,
            end: self.end,
            series,
        }
    }
}

/// A summary of the requests to one route (or endpoint, or all routes) in a [`Snapshot`].
///
/// Its `Display` form is the whole summary on a few lines; every assertion prints it when it
/// fails, so a red test shows the numbers behind it.
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
    statuses: BTreeMap<String, u64>,
    error_types: BTreeMap<String, u64>,
    duration: Distribution,
    request_bytes: Distribution,
    response_bytes: Distribution,
    active: f64,
}

impl RouteStats {
    fn empty(name: String, window: Duration) -> Self {
        Self {
            name,
            window,
            count: 0,
            errors: 0,
            statuses: BTreeMap::new(),
            error_types: BTreeMap::new(),
            duration: Distribution::empty(),
            request_bytes: Distribution::empty(),
            response_bytes: Distribution::empty(),
            active: 0.0,
        }
    }
}

fn secs(d: f64) -> Duration {
    Duration::try_from_secs_f64(d).unwrap_or(Duration::MAX)
}

impl RouteStats {
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

    /// Requests that ended with `status` (as its label text, e.g. `"200"`; `"none"` for
    /// requests that got no response).
    #[must_use]
    pub fn status(&self, status: &str) -> u64 {
        self.statuses.get(status).copied().unwrap_or(0)
    }

    /// Requests per status label value.
    #[must_use]
    pub fn statuses(&self) -> &BTreeMap<String, u64> {
        &self.statuses
    }

    /// Failed requests with error type `error_type` (e.g. `"panic"`, `"cancelled"`, `"503"`).
    #[must_use]
    pub fn error_type(&self, error_type: &str) -> u64 {
        self.error_types.get(error_type).copied().unwrap_or(0)
    }

    /// Failed requests per error type.
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

    /// Request body sizes, in bytes (empty with the axum-prometheus naming scheme).
    #[must_use]
    pub fn request_bytes(&self) -> &Distribution {
        &self.request_bytes
    }

    /// Response body sizes, in bytes (empty with the axum-prometheus naming scheme).
    #[must_use]
    pub fn response_bytes(&self) -> &Distribution {
        &self.response_bytes
    }

    /// The duration at quantile `q` (see [`Distribution::quantile`]).
    #[must_use]
    pub fn quantile(&self, q: f64) -> Duration {
        secs(self.duration.quantile(q))
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

    /// The shortest duration.
    #[must_use]
    pub fn min(&self) -> Duration {
        secs(self.duration.min())
    }

    /// The longest duration.
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

    /// Panics (printing this summary) unless exactly `n` requests finished.
    #[track_caller]
    pub fn assert_count(&self, n: u64) -> &Self {
        self.check(
            self.count == n,
            format_args!("{}: expected {n} requests, got {}", self.name, self.count),
        )
    }

    /// Panics (printing this summary) unless exactly `n` requests ended with `status` (its
    /// label text: `"404"`, or a gRPC status name such as `"NOT_FOUND"` for
    /// [`Snapshot::grpc_method`]).
    #[track_caller]
    pub fn assert_status(&self, status: &str, n: u64) -> &Self {
        let got = self.status(status);
        self.check(
            got == n,
            format_args!(
                "{}: expected {n} requests with status {status}, got {got}",
                self.name
            ),
        )
    }

    /// Panics (printing this summary) if any request failed.
    #[track_caller]
    pub fn assert_no_errors(&self) -> &Self {
        self.check(
            self.errors == 0,
            format_args!("{}: expected no errors, got {}", self.name, self.errors),
        )
    }

    /// Panics (printing this summary) unless the error ratio is at most `max_ratio`.
    #[track_caller]
    pub fn assert_error_ratio_at_most(&self, max_ratio: f64) -> &Self {
        self.check(
            self.error_ratio() <= max_ratio,
            format_args!(
                "{}: error ratio {:.4} is above {max_ratio}",
                self.name,
                self.error_ratio()
            ),
        )
    }

    /// Panics (printing this summary) unless the duration at quantile `q` is below `bound`.
    #[track_caller]
    pub fn assert_quantile_below(&self, q: f64, bound: Duration) -> &Self {
        let got = self.quantile(q);
        self.check(
            got < bound,
            format_args!(
                "{}: p{} = {got:?} is not below {bound:?}",
                self.name,
                q * 100.0
            ),
        )
    }

    /// Panics (printing this summary) unless p99 is below `bound`.
    #[track_caller]
    pub fn assert_p99_below(&self, bound: Duration) -> &Self {
        self.assert_quantile_below(0.99, bound)
    }
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
        writeln!(f, "  statuses: {:?}", self.statuses)?;
        if !self.error_types.is_empty() {
            writeln!(f, "  errors: {:?}", self.error_types)?;
        }
        writeln!(
            f,
            "  duration: min {:?} p50 {:?} p90 {:?} p95 {:?} p99 {:?} p99.9 {:?} max {:?} mean {:?}",
            self.min(),
            self.p50(),
            self.p90(),
            self.p95(),
            self.p99(),
            self.p999(),
            self.max(),
            self.mean()
        )?;
        for (what, d) in [
            ("request", &self.request_bytes),
            ("response", &self.response_bytes),
        ] {
            if d.count() > 0 {
                writeln!(
                    f,
                    "  {what} bytes: min {} p50 {} p99 {} max {} total {}",
                    d.min(),
                    d.quantile(0.5),
                    d.quantile(0.99),
                    d.max(),
                    d.sum()
                )?;
            }
        }
        Ok(())
    }
}
