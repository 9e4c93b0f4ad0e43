//! Snapshots of recorded series: look-ups, differences, and per-route summaries.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::series::{Series, SeriesValue};
use super::stats::RouteStats;
use crate::names::Naming;

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
/// let app = Router::new()
///     .route("/users/{id}", get(|| async { "user" }))
///     .route("/health", get(|| async { "ok" }))
///     .layer(meter.layer());
/// let users = Load::new(|i| http::Request::get(format!("/users/{i}")).body(Body::empty()).unwrap());
/// let health = Load::new(|_| http::Request::get("/health").body(Body::empty()).unwrap());
///
/// health.requests(5).run(app.clone()).await;           // before the phase under test
/// users.clone().requests(30).run(app.clone()).await;   // warm-up
/// let before = meter.snapshot();
/// users.requests(70).run(app).await;                   // the phase under test
/// let phase = &meter.snapshot() - &before;
/// phase.route("/users/{id}").assert_count(70);
/// // Only routes with requests in the phase are listed.
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
    pub(crate) fn new(naming: Naming, start: Instant, end: Instant, series: Vec<Series>) -> Self {
        Self {
            naming,
            start,
            end,
            series,
        }
    }

    /// Reads a Prometheus text exposition (the body of a `/metrics` endpoint), or an
    /// OpenMetrics one (exemplars are skipped), into a snapshot whose series carry the names of
    /// `naming`, so its per-route summaries work as for an in-memory recorder.
    ///
    /// Durations and sizes are then known within the bounds the buckets, the count and the sum
    /// allow; quantiles are estimated as `histogram_quantile` does (see [`Distribution`]).
    /// The window of a parsed snapshot is empty, so its rates are 0; the difference of two
    /// parsed snapshots covers the time between the two parses.
    ///
    /// It reads what Prometheus's own text parser reads (blanks before `{`, counters of `NaN`
    /// or `±Inf`, timestamps, unknown escapes kept as written, comments). Values the test kit
    /// cannot hold exactly are not rounded into shape but kept as they were exposed, as
    /// gauge-valued series: a counter sample that is no count (negative, `NaN`, infinite), and
    /// every `_bucket`, `_sum` and `_count` sample of a histogram series that is not one
    /// well-formed set of buckets (fractional or decreasing counts, a `_bucket` without a
    /// numeric `le`, …). A counter with a fraction stays a counter (see
    /// [`counter`](Self::counter)).
    ///
    /// Any input gives a snapshot or an error, never a panic, and so does everything done
    /// with the snapshot afterwards.
    ///
    /// [`Distribution`]: super::Distribution
    ///
    /// # Errors
    ///
    /// [`ParseError`](super::ParseError), naming the line, if the text is not in the exposition
    /// format, gives a series twice or a label twice in one series, or gives one name two
    /// types.
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

    /// Every recorded series (in a difference: every series of the later snapshot, with the
    /// earlier values subtracted).
    #[must_use]
    pub fn series(&self) -> &[Series] {
        &self.series
    }

    /// The number of distinct series (all names, all label sets).
    #[must_use]
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The distinct route labels with at least one finished request, sorted.
    #[must_use]
    pub fn routes(&self) -> Vec<String> {
        let mut routes: Vec<String> = self
            .series
            .iter()
            .filter(|s| s.name() == self.naming.duration() && s.has_data())
            .filter_map(|s| s.label(self.naming.route_key()).map(str::to_owned))
            .collect();
        routes.sort();
        routes.dedup();
        routes
    }

    /// The value of the counter `name` with exactly `labels` (in any order), if recorded
    /// (a parsed counter with a fraction is rounded; [`value`](Self::value) has it exactly).
    #[must_use]
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        self.find(name, labels).and_then(|s| match s.value() {
            SeriesValue::Counter(v) => Some(*v),
            _ => None,
        })
    }

    /// The value of the counter or gauge `name` with exactly `labels` (in any order), as a
    /// number: exact for a parsed counter with a fraction, such as
    /// `process_cpu_seconds_total`.
    #[must_use]
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.find(name, labels).and_then(Series::scalar)
    }

    /// The value of the gauge `name` with exactly `labels` (in any order), if recorded.
    #[must_use]
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.find(name, labels).and_then(|s| match s.value() {
            SeriesValue::Gauge(v) => Some(*v),
            _ => None,
        })
    }

    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Series> {
        let mut want: Vec<(&str, &str)> = labels.to_vec();
        want.sort_unstable();
        self.series.iter().find(|s| {
            s.name() == name
                && s.labels().len() == want.len()
                && s.labels()
                    .iter()
                    .zip(&want)
                    .all(|((k, v), (wk, wv))| k == wk && v == wv)
        })
    }

    /// All requests to `route` (a template such as `/users/{id}`), every method and outcome.
    #[must_use]
    pub fn route(&self, route: &str) -> RouteStats {
        let key = self.naming.route_key();
        self.stats(route.to_owned(), Some(route), |s| {
            s.label(key) == Some(route)
        })
    }

    /// Requests to `route` whose label `label` is `value`: a
    /// [request label](crate::RouteMeterBuilder::request_label) such as a tenant, or a
    /// constant label.
    ///
    /// ```
    /// let text = "\
    /// ## TYPE http_server_request_duration_seconds histogram
    /// http_server_request_duration_seconds_bucket{http_route=\"/a\",tenant=\"acme\",le=\"+Inf\"} 2
    /// http_server_request_duration_seconds_sum{http_route=\"/a\",tenant=\"acme\"} 0.5
    /// http_server_request_duration_seconds_count{http_route=\"/a\",tenant=\"acme\"} 2
    /// ";
    /// let snapshot = routemeter::testing::Snapshot::from_prometheus_text(
    ///     text,
    ///     &routemeter::Naming::default(),
    /// )?;
    /// assert_eq!(snapshot.select_by("/a", "tenant", "acme").count(), 2);
    /// assert_eq!(snapshot.select_by("/a", "tenant", "other").count(), 0);
    /// # Ok::<(), routemeter::testing::ParseError>(())
    /// ```
    ///
    /// A dotted name (`tenant.id`) also matches the name a Prometheus exposition writes
    /// (`tenant_id`).
    #[must_use]
    pub fn select_by(&self, route: &str, label: &str, value: &str) -> RouteStats {
        let key = self.naming.route_key();
        let written = label.replace('.', "_");
        let value_of = |s: &Series| {
            s.label(label)
                .or_else(|| s.label(&written))
                .map(str::to_owned)
        };
        let mut stats = self.stats(format!("{route} {label}={value}"), Some(route), |s| {
            s.label(key) == Some(route) && value_of(s).as_deref() == Some(value)
        });
        if stats.count() == 0 {
            let mut values: Vec<String> = self
                .series
                .iter()
                .filter(|s| s.label(key) == Some(route))
                .filter_map(value_of)
                .collect();
            values.sort_unstable();
            values.dedup();
            stats.note_missing_value(route, label, &values);
        }
        stats
    }

    /// Requests with `method` to `route`.
    #[must_use]
    pub fn endpoint(&self, method: &str, route: &str) -> RouteStats {
        self.select(route, Some(method), None)
    }

    /// Requests to `route`, narrowed to one method and/or one response status when given.
    /// (Requests that got no response have no status; see [`RouteStats::no_response`].)
    #[must_use]
    pub fn select(&self, route: &str, method: Option<&str>, status: Option<u16>) -> RouteStats {
        let n = &self.naming;
        let status_text = status.map(|s| s.to_string());
        let name = [method, Some(route), status_text.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        self.stats(name, Some(route), |s| {
            s.label(n.route_key()) == Some(route)
                && method.is_none_or(|m| s.label(n.method_key()) == Some(m))
                && status.is_none_or(|st| {
                    s.label(n.status_key()).and_then(|v| v.parse::<u16>().ok()) == Some(st)
                })
        })
    }

    /// All gRPC calls to `method` (`package.Service/Method`, or
    /// [`OTHER_RPC_METHOD`](crate::OTHER_RPC_METHOD) for the methods the layer does not
    /// recognise), every status. Its statuses are gRPC codes
    /// ([`RouteStats::grpc_status`], [`RouteStats::assert_grpc_status`]); its errors are the
    /// calls whose status the conventions count as server errors.
    #[must_use]
    pub fn grpc_method(&self, method: &str) -> RouteStats {
        self.grpc_select(method, None)
    }

    /// gRPC calls to `method`, narrowed to one status when given.
    #[must_use]
    pub fn grpc_select(&self, method: &str, status: Option<crate::GrpcCode>) -> RouteStats {
        let n = &self.naming;
        let name = match status {
            Some(code) => format!("{method} {code}"),
            None => method.to_owned(),
        };
        self.rpc_stats(name, |s| {
            s.label(n.rpc_method_key()) == Some(method)
                && status.is_none_or(|code| s.label(n.rpc_status_key()) == Some(code.as_str()))
        })
    }

    /// The distinct gRPC methods that have recorded at least one call, sorted.
    #[must_use]
    pub fn grpc_methods(&self) -> Vec<String> {
        let n = &self.naming;
        let mut methods: Vec<String> = self
            .series
            .iter()
            .filter(|s| s.name() == n.rpc_duration())
            .filter(|s| matches!(s.value(), SeriesValue::Histogram(d) if d.count() > 0))
            .filter_map(|s| s.label(n.rpc_method_key()).map(str::to_owned))
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

    fn rpc_stats(&self, name: String, matches: impl Fn(&Series) -> bool) -> RouteStats {
        let mut stats = RouteStats::summarise_rpc(
            name,
            self.window(),
            &self.naming,
            self.series.iter().filter(|s| matches(s)),
        );
        if stats.count() == 0 {
            stats.note_missing(None, &self.grpc_methods());
        }
        stats
    }

    /// All requests, every route.
    #[must_use]
    pub fn total(&self) -> RouteStats {
        self.stats("all routes".to_owned(), None, |_| true)
    }

    fn stats(
        &self,
        name: String,
        route: Option<&str>,
        matches: impl Fn(&Series) -> bool,
    ) -> RouteStats {
        let mut stats = RouteStats::summarise(
            name,
            self.window(),
            &self.naming,
            self.series.iter().filter(|s| matches(s)),
        );
        if stats.count() == 0 {
            stats.note_missing(route, &self.routes());
        }
        stats
    }
}

/// A series' identity: its name and sorted labels.
type SeriesKey<'a> = (&'a str, &'a [(String, String)]);

impl std::ops::Sub for &Snapshot {
    type Output = Snapshot;

    /// What was recorded between `rhs` (earlier) and `self` (later): counters and histograms
    /// subtracted, gauges as they are in `self`.
    ///
    /// Series are matched through a hash index, so a difference takes time linear in the
    /// number of series.
    fn sub(self, rhs: &Snapshot) -> Snapshot {
        let before: HashMap<SeriesKey<'_>, &Series> = rhs
            .series
            .iter()
            .map(|s| ((s.name(), s.labels()), s))
            .collect();
        let series = self
            .series
            .iter()
            .map(|s| {
                let earlier = before.get(&(s.name(), s.labels()));
                if let Some(counted) = earlier.and_then(|b| s.counter_since(b)) {
                    return counted;
                }
                let value = match (s.value(), earlier.map(|b| b.value())) {
                    (SeriesValue::Histogram(a), Some(SeriesValue::Histogram(b))) => {
                        let mut d = a.clone();
                        d.subtract(b);
                        SeriesValue::Histogram(d)
                    }
                    (v, _) => v.clone(),
                };
                s.with_value(value)
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
