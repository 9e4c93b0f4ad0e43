//! The objectives: what the user asks for, before any of it is checked.

use std::time::Duration;

use crate::names::{DEFAULT_DURATION_BUCKETS, Naming};

/// The routes [`Slo::new`] excludes from the objectives: the Prometheus scrape endpoint and
/// the live stats page's routes at their default paths (the page, its JSON, script and style).
/// [`Slo::include`] brings one back.
pub const DEFAULT_EXCLUDED: [&str; 5] = [
    "/metrics",
    "/stats",
    "/stats.json",
    "/stats.js",
    "/stats.css",
];

/// The service-level objectives alerts are generated for.
///
/// Setters take any value; [`Monitoring::new`](super::Monitoring::new) checks them all and
/// says what is wrong.
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
    /// Routes with bucket bounds of their own (`PrometheusBuilder::route_buckets`).
    pub(crate) route_buckets: Vec<(String, Vec<f64>)>,
    pub(crate) memory_limit_bytes: f64,
    pub(crate) rps_capacity: Option<f64>,
    pub(crate) forecast_horizon: Duration,
    pub(crate) cancelled_as_failures: bool,
    pub(crate) cancelled_alert: Option<f64>,
    pub(crate) grpc_availability: Option<f64>,
    pub(crate) profile: Profile,
    pub(crate) fleet_labels: Vec<String>,
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
    /// The route template, exactly as it appears in the route label (`/users/{id}`). Any text
    /// is accepted: it is escaped wherever it is written.
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
    /// hours, the default names and buckets, [`DEFAULT_EXCLUDED`] excluded (`/metrics` and the
    /// live page's `/stats`, `/stats.json`, `/stats.js` and `/stats.css`), client hang-ups not
    /// counted as failures.
    pub fn new(job: impl Into<String>) -> Self {
        Self {
            job: job.into(),
            naming: Naming::default(),
            availability: 0.999,
            latency_threshold: 0.25,
            latency_target: 0.99,
            p99_alert: 1.0,
            routes: Vec::new(),
            excluded: DEFAULT_EXCLUDED.iter().map(|r| (*r).to_owned()).collect(),
            buckets: DEFAULT_DURATION_BUCKETS.to_vec(),
            route_buckets: Vec::new(),
            memory_limit_bytes: 1024.0 * 1024.0 * 1024.0,
            rps_capacity: None,
            forecast_horizon: Duration::from_secs(4 * 3600),
            cancelled_as_failures: false,
            cancelled_alert: None,
            grpc_availability: None,
            profile: Profile::Production,
            fleet_labels: Vec::new(),
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

    /// The duration histogram's bucket bounds of one route that has its own (given to the
    /// recorder with `PrometheusBuilder::route_buckets`): the latency threshold that covers the
    /// route, the service's or its own [`RouteSlo::latency`], must be one of them. A later
    /// setting for the same route replaces an earlier one. Bounds must be above 0, as for
    /// [`buckets`](Self::buckets): leave out a bound of 0 the recorder was given (no request
    /// takes no time, and no objective has a threshold of 0).
    pub fn route_buckets(mut self, route: impl Into<String>, bounds: &[f64]) -> Self {
        let route = route.into();
        self.route_buckets.retain(|(r, _)| *r != route);
        self.route_buckets.push((route, bounds.to_vec()));
        self
    }

    /// The share of requests that must succeed (e.g. `0.999`).
    ///
    /// A request fails when the server failed it: a 5xx status, or `error_type` `_OTHER` (an
    /// inner error), `panic`, `body_error` or `timeout`. Requests the client gave up on
    /// (`cancelled`) are not failures unless [`cancelled_as_failures`](Self::cancelled_as_failures) says so.
    pub fn availability(mut self, target: f64) -> Self {
        self.availability = target;
        self
    }

    /// Whether requests cancelled by the client (`error_type="cancelled"`; `status="499"` in
    /// the axum-prometheus scheme) count against availability. Off by default: a client that
    /// hangs up is not a failure of the server, and a few impatient clients must not page
    /// anyone. Turn it on when hang-ups are a symptom your objective should include.
    pub fn cancelled_as_failures(mut self, yes: bool) -> Self {
        self.cancelled_as_failures = yes;
        self
    }

    /// A ticket alert (`HTTPRouteCancelledRatioHigh`) when more than `ratio` (e.g. `0.05`) of a
    /// route's requests were cancelled by the client, over both the last hour and 5 minutes.
    /// No such alert unless set; the dashboard shows the ratio either way.
    pub fn cancelled_alert(mut self, ratio: f64) -> Self {
        self.cancelled_alert = Some(ratio);
        self
    }

    /// Also watch gRPC calls (from a layer built with
    /// [`grpc`](crate::RouteMeterBuilder::grpc)): `target` of the calls to each method (e.g.
    /// `0.999`) must not end with a status the OpenTelemetry gRPC conventions count as a server
    /// error (`UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE`,
    /// `DATA_LOSS`) or fail without a status (`panic`, `body_error`, `timeout`, `_OTHER`).
    ///
    /// Adds per-method recording rules (`routemeter:grpc_calls:rate…`,
    /// `routemeter:grpc_errors:ratio_rate…`), `GRPCMethodErrorBudgetBurn` alerts at the same
    /// burn rates as the routes', and dashboard panels of calls by status, availability and
    /// latency per method. Calls to methods the layer does not recognise
    /// (`rpc_method="_OTHER"`) are shown but page nobody: anyone can call a method that does
    /// not exist. Off unless set.
    pub fn grpc_availability(mut self, target: f64) -> Self {
        self.grpc_availability = Some(target);
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

    /// A route with its own objectives. Naming a route again adds to its objectives: a target
    /// set again replaces the earlier one.
    pub fn route(mut self, route: RouteSlo) -> Self {
        match self.routes.iter_mut().find(|r| r.route == route.route) {
            Some(known) => {
                known.availability = route.availability.or(known.availability);
                known.latency = route.latency.or(known.latency);
            }
            None => self.routes.push(route),
        }
        self
    }

    /// A route that gets no SLO alerts. The routes of [`DEFAULT_EXCLUDED`] (`/metrics` and the
    /// live page's routes) are excluded unless [`include`](Self::include)d.
    pub fn exclude(mut self, route: impl Into<String>) -> Self {
        let route = route.into();
        if !self.excluded.contains(&route) {
            self.excluded.push(route);
        }
        self
    }

    /// Takes a route out of the exclusions, a default one included: `include("/stats.json")`
    /// gives the live page's JSON the service's objectives again.
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
    /// alert fires when the rate is projected to cross it within the horizon. With
    /// [fleet labels](Self::fleet_label), the rate of each of their values (each region's
    /// replicas) is held against it.
    pub fn rps_capacity(mut self, rps: f64) -> Self {
        self.rps_capacity = Some(rps);
        self
    }

    /// How far ahead forecasts look (4 hours unless set; from 1 second to 366 days).
    pub fn forecast_horizon(mut self, horizon: Duration) -> Self {
        self.forecast_horizon = horizon;
        self
    }

    /// A label the recording rules keep when they sum the replicas of the service, next to
    /// `job` and the route: `region`, `cluster`, `namespace`, or a
    /// [request label](crate::RouteMeterBuilder::request_label) such as `tenant`, for
    /// objectives per value. Repeatable; naming a label again changes nothing.
    ///
    /// Without it, every recording rule sums the whole fleet into one series per job and route.
    /// With `fleet_label("region")`, there is one per job, region and route: each region has
    /// its own error ratio, burn-rate alerts (naming the region), no-traffic alert and traffic
    /// forecast (against [`rps_capacity`](Self::rps_capacity) per region), the dashboard has a
    /// variable for it, and Alertmanager groups by it. `instance` is refused: the rules are
    /// fleet-wide so that a replica that dies or restarts leaves them whole, and the dashboard
    /// has an `instance` variable for a look at one replica. So are `NaN`, `Inf` and `without`
    /// in any case, which PromQL does not read as label names in `by (...)`, `alertname`, the
    /// labels the rules write (`severity`, `slo`, …) and the labels of the request and call
    /// series in either naming scheme (`http_route`, `endpoint`, `rpc_method`, …).
    ///
    /// The label must be on the scraped series, where the rules see it: on the targets
    /// (relabelling, service discovery) or on the process with
    #[cfg_attr(
        feature = "prometheus",
        doc = "[`PrometheusBuilder::constant_label`](crate::prometheus::PrometheusBuilder::constant_label)."
    )]
    #[cfg_attr(
        not(feature = "prometheus"),
        doc = "`PrometheusBuilder::constant_label`."
    )]
    /// A label that Prometheus adds as an `external_labels` entry needs no fleet label: rules
    /// do not see it, and Prometheus adds it to their results on the way out (remote write,
    /// alerts, federation).
    pub fn fleet_label(mut self, label: impl Into<String>) -> Self {
        let label = label.into();
        if !self.fleet_labels.contains(&label) {
            self.fleet_labels.push(label);
        }
        self
    }

    /// The window profile ([`Profile::Production`] unless set).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }
}
