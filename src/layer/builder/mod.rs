//! The layer's builder: every setting of a [`RouteMeterLayer`] (recorder, names, constant
//! labels, route decisions and limits, logging, gRPC), checked as it is given, and the
//! making of the layer from them ([`RouteMeterBuilder::build`]).

use std::sync::Arc;

mod build;
mod request_label;

pub(crate) use request_label::MAX_REQUEST_LABEL_COMBINATIONS;

/// The label of `routemeter_label_overflow_total` that names the request label.
pub(crate) const OVERFLOW_COUNTER_KEY: &str = "label";

use metrics::{Label, Recorder};

use super::LayerError;
use crate::classify::{KnownMethods, UrlScheme};
use crate::grpc::GrpcMethods;
use crate::log::RequestLog;
use crate::names::Naming;
use crate::registry::registrar::Source;
use crate::registry::request_label::ValueFn;
use crate::route::{self, DEFAULT_MAX_ROUTES, DEFAULT_MAX_SERIES, Mount, RouteRequest};

/// Settings of a [`RouteMeterLayer`](crate::RouteMeterLayer).
///
/// ```
/// use routemeter::{Naming, NamingScheme, RouteMeterLayer};
///
/// let layer = RouteMeterLayer::builder()
///     .naming(Naming::new(NamingScheme::AxumPrometheus).with_prefix("shop"))
///     .recorder(metrics::NoopRecorder) // any `metrics::Recorder`
///     .constant_label("service", "checkout")?
///     .exclude("/metrics")
///     .max_routes(200)
///     .build();
/// # Ok::<(), routemeter::LayerError>(())
/// ```
#[must_use]
pub struct RouteMeterBuilder {
    source: Source,
    /// What tells the recorder apart from others (see [`crate::layer::service`]), when it is known
    /// beyond the `Arc` the layer holds.
    recorder_identity: Option<usize>,
    naming: Naming,
    labels: Vec<Label>,
    /// Labels from the request: name, budget of values, value function.
    request_labels: Vec<(String, usize, ValueFn)>,
    route_fn: Option<route::RouteFn>,
    excluded: Vec<String>,
    max_routes: usize,
    max_series: usize,
    exemplars: bool,
    log: Option<RequestLog>,
    mounts: Vec<Mount>,
    time_to_head: bool,
    methods: KnownMethods,
    url_scheme: UrlScheme,
    body_sizes: bool,
    status_classes: bool,
    clock: crate::clock::Clock,
    grpc: bool,
    grpc_methods: GrpcMethods,
}

impl RouteMeterBuilder {
    /// The settings of [`RouteMeterLayer::new`].
    pub(crate) fn defaults() -> Self {
        Self {
            source: Source::Global,
            recorder_identity: None,
            naming: Naming::default(),
            labels: Vec::new(),
            request_labels: Vec::new(),
            route_fn: None,
            excluded: Vec::new(),
            max_routes: DEFAULT_MAX_ROUTES,
            max_series: DEFAULT_MAX_SERIES,
            exemplars: false,
            log: None,
            mounts: Vec::new(),
            time_to_head: false,
            methods: KnownMethods::default(),
            url_scheme: UrlScheme::Http,
            body_sizes: false,
            status_classes: false,
            clock: crate::clock::Clock::Std,
            grpc: false,
            grpc_methods: GrpcMethods::default(),
        }
    }
}

impl std::fmt::Debug for RouteMeterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMeterBuilder")
            .field("source", &self.source)
            .field("naming", &self.naming)
            .field("labels", &self.labels)
            .field(
                "request_labels",
                &self
                    .request_labels
                    .iter()
                    .map(|(name, max, _)| (name, max))
                    .collect::<Vec<_>>(),
            )
            .field("route_fn", &self.route_fn.is_some())
            .field("excluded", &self.excluded)
            .field("max_routes", &self.max_routes)
            .field("max_series", &self.max_series)
            .field("log", &self.log)
            .field("exemplars", &self.exemplars)
            .field("mounts", &self.mounts)
            .field("time_to_head", &self.time_to_head)
            .field("methods", &self.methods)
            .field("url_scheme", &self.url_scheme)
            .field("body_sizes", &self.body_sizes)
            .field("status_classes", &self.status_classes)
            .field("grpc", &self.grpc)
            .field("grpc_methods", &self.grpc_methods)
            .finish()
    }
}

impl RouteMeterBuilder {
    /// Metric names and label keys ([`Naming::default`] unless set).
    pub fn naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    /// Records into `recorder` instead of the `metrics` facade's global recorder.
    ///
    /// Nothing process-wide is touched, so tests running in parallel (on any runtime flavour)
    /// can each give their layer a recorder of their own.
    pub fn recorder<R>(self, recorder: R) -> Self
    where
        R: Recorder + Send + Sync + 'static,
    {
        let identity = crate::registry::registrar::recorder_identity(&recorder);
        let mut builder = self.shared_recorder(Arc::new(recorder));
        builder.recorder_identity = identity;
        builder
    }

    /// Like [`recorder`](Self::recorder), for a recorder that is shared with other code.
    pub fn shared_recorder(mut self, recorder: Arc<dyn Recorder + Send + Sync>) -> Self {
        self.source = Source::Explicit(recorder);
        self.recorder_identity = None;
        self
    }

    /// Whether to keep exemplars (off unless set; on in layers from
    /// [`PrometheusMetrics`](crate::prometheus::PrometheusMetrics)): the trace id of a
    /// request's W3C `traceparent` header is handed to the recorder while the request's
    /// duration is recorded. This crate's Prometheus recorder shows it per bucket to OpenMetrics
    /// scrapes; other recorders ignore it. Off, requests skip the header look-up.
    pub fn exemplars(mut self, on: bool) -> Self {
        self.exemplars = on;
        self
    }

    /// Records into the `metrics` facade's current recorder (the default).
    ///
    /// That is the global recorder, looked up again whenever it changes, so a layer built before
    /// the recorder is installed reports once it is. Handles are cached per label set, so this
    /// costs no registry look-up per request.
    pub fn global_recorder(mut self) -> Self {
        self.source = Source::Global;
        self.recorder_identity = None;
        self
    }

    /// Adds a label with a fixed value to every series (e.g. `service="checkout"`).
    ///
    /// ```
    /// let layer = routemeter::RouteMeterLayer::builder()
    ///     .constant_label("service", "checkout")?
    ///     .build();
    /// # Ok::<(), routemeter::LayerError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`LayerError::Label`] when `key` is not a label name (letters, digits, `_`,
    /// and `.` for OpenTelemetry attributes), is reserved (`__…`, `le`, `quantile`, or a label
    /// the layer sets itself in any naming scheme, such as the route or the status; with
    /// [request labels](Self::request_label), also `label`, which their overflow counter
    /// keeps), or was given already, as a constant or a request label.
    pub fn constant_label(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, LayerError> {
        let key = key.into();
        if !self.request_labels.is_empty() && key == OVERFLOW_COUNTER_KEY {
            return Err(LayerError::Label(crate::names::LabelError::Reserved(key)));
        }
        crate::names::check_label_name(&key, true, self.label_names())?;
        self.labels.push(Label::new(key, value.into()));
        Ok(self)
    }

    /// The names of the constant and the request labels given so far.
    fn label_names(&self) -> Vec<String> {
        let constant = self.labels.iter().map(|l| l.key().to_owned());
        constant
            .chain(self.request_labels.iter().map(|(n, ..)| n.clone()))
            .collect()
    }

    /// Decides the route label of each request with `f` instead of axum's `MatchedPath`.
    ///
    /// `f` returns the route template (anything string-like; a `&'static str` costs no
    /// allocation) or `None` for requests that match no route, which are recorded as
    /// [`UNMATCHED_ROUTE`](crate::UNMATCHED_ROUTE). Return templates, not raw paths: every
    /// distinct value becomes a series, up to [`max_routes`](Self::max_routes).
    ///
    /// ```
    /// let layer = routemeter::RouteMeterLayer::builder()
    ///     .route_fn(|req| match req.path() {
    ///         "/" => Some("/"),
    ///         p if p.starts_with("/users/") => Some("/users/{id}"),
    ///         _ => None,
    ///     })
    ///     .build();
    /// ```
    pub fn route_fn<F, T>(mut self, f: F) -> Self
    where
        F: Fn(&RouteRequest<'_>) -> Option<T> + Send + Sync + 'static,
        T: AsRef<str>,
    {
        self.route_fn = Some(route::erase(f));
        self
    }

    /// Records nothing for requests whose URI path or route label equals `path` (e.g. the
    /// scrape endpoint `/metrics`, or `/health`). May be called more than once.
    pub fn exclude(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        if !self.excluded.contains(&path) {
            self.excluded.push(path);
        }
        self
    }

    /// The most distinct route labels this layer tracks ([`DEFAULT_MAX_ROUTES`] unless set).
    ///
    /// Requests with a new route value beyond the limit are recorded under
    /// [`OVERFLOW_ROUTE`](crate::OVERFLOW_ROUTE), and the
    /// [`route_overflow`](Naming::route_overflow) counter rises by one for each of them.
    /// [`UNMATCHED_ROUTE`](crate::UNMATCHED_ROUTE) does not count against it.
    pub fn max_routes(mut self, max: usize) -> Self {
        self.max_routes = max;
        self
    }

    /// The most label sets each metric gets from this layer ([`DEFAULT_MAX_SERIES`] unless
    /// set): for the histograms, distinct (route, method, status, error) combinations; for the
    /// in-flight gauge, distinct (route, method) pairs.
    ///
    /// The route limit bounds routes, but methods and statuses multiply them; this bounds the
    /// product. A request whose combination would be one too many is recorded under
    /// [`OVERFLOW_ROUTE`](crate::OVERFLOW_ROUTE) with the method
    /// [`OTHER_METHOD`](crate::OTHER_METHOD), keeping its status and error, and the
    /// [`route_overflow`](Naming::route_overflow) counter rises by one. Combinations already
    /// recorded keep their series.
    pub fn max_series(mut self, max: usize) -> Self {
        self.max_series = max;
        self
    }

    /// Logs requests through `tracing` (off unless set): a span per request and one event
    /// when it finishes, for the requests `log` selects. See [`RequestLog`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let layer = routemeter::RouteMeterLayer::builder()
    ///     .request_log(routemeter::RequestLog::failures_and_slow(Duration::from_millis(300)))
    ///     .build();
    /// ```
    pub fn request_log(mut self, log: RequestLog) -> Self {
        self.log = Some(log);
        self
    }

    /// Records every request under the path `prefix` with the one label `{prefix}/{*path}`
    /// (e.g. `/static/{*path}`), for services mounted with axum's `Router::nest_service`.
    ///
    /// axum gives the requests it routes into a nested service no public `MatchedPath` (only the
    /// mount point itself, `/static`, gets one), and a layer added with `Router::layer` sees
    /// them before the prefix is stripped, with the same public extensions as a request that
    /// matched no route: the mount cannot be found from the request, and raw paths are never
    /// used as labels. So without this they are recorded as
    /// [`UNMATCHED_ROUTE`](crate::UNMATCHED_ROUTE), and the first unmatched request of the
    /// process answered with a status other than 404 or 405 (axum's answers to requests that
    /// match nothing) logs a `tracing` warning naming this method. With it, the mount point (`/static`,
    /// `/static/`) and every path under it (`/static/css/site.css`) share one bounded label.
    /// The prefix is compared with the path as the layer sees it. A route function's labels
    /// take precedence; requests it leaves without a label fall back to the mounts. Call it
    /// once per mount.
    ///
    /// ```
    /// use axum::Router;
    /// use tower_http::services::ServeDir;
    ///
    /// let layer = routemeter::RouteMeterLayer::builder().mount("/static")?.build();
    /// let app: Router = Router::new()
    ///     .nest_service("/static", ServeDir::new("assets"))
    ///     .layer(layer);
    /// # Ok::<(), routemeter::LayerError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `prefix` does not start with `/`, is the root, or is not a literal path (contains
    /// `{`, `}`, `*`, `?`, `#`, whitespace or control characters).
    pub fn mount(mut self, prefix: &str) -> Result<Self, LayerError> {
        let mount = Mount::new(prefix).map_err(|reason| LayerError::Mount {
            prefix: prefix.to_owned(),
            reason,
        })?;
        self.mounts.push(mount);
        Ok(self)
    }

    /// Also records the time until each response head (status and headers) is ready, in the
    /// [`time_to_head`](Naming::time_to_head) histogram (off unless set).
    ///
    /// The request duration runs until the response body has ended, so a few long streams
    /// (server-sent events, large downloads) dominate its upper quantiles; the time to the head
    /// shows how quickly those routes start answering. It is recorded as soon as the head is
    /// ready, even if the body then streams for hours, and not at all for requests that never
    /// got a head (an inner error, a panic, cancelled before the head). When off, nothing is
    /// measured or registered for it.
    /// This crate's Prometheus set-up gives it the duration's buckets.
    pub fn time_to_head(mut self, on: bool) -> Self {
        self.time_to_head = on;
        self
    }

    /// The methods that get a label value of their own, replacing
    /// [`DEFAULT_KNOWN_METHODS`](crate::DEFAULT_KNOWN_METHODS) (the nine standard methods and
    /// `QUERY`); every other method is recorded as [`OTHER_METHOD`](crate::OTHER_METHOD).
    ///
    /// ```
    /// use http::Method;
    /// let propfind = Method::from_bytes(b"PROPFIND").unwrap();
    /// let layer = routemeter::RouteMeterLayer::builder()
    ///     .known_methods([Method::GET, Method::POST, propfind])?
    ///     .build();
    /// # Ok::<(), routemeter::LayerError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`LayerError::TooManyMethods`] for more than
    /// [`MAX_KNOWN_METHODS`](crate::MAX_KNOWN_METHODS) distinct methods: each one multiplies
    /// the series.
    pub fn known_methods(
        mut self,
        methods: impl IntoIterator<Item = http::Method>,
    ) -> Result<Self, LayerError> {
        self.methods = KnownMethods::new(methods).map_err(LayerError::TooManyMethods)?;
        Ok(self)
    }

    /// The `url.scheme` label of requests whose URI names no scheme ([`UrlScheme::Http`] unless
    /// set). A URI that names `http` or `https` (HTTP/2 requests do) gives its own.
    pub fn url_scheme(mut self, scheme: UrlScheme) -> Self {
        self.url_scheme = scheme;
        self
    }

    /// Records the response status as its class, `1xx` to `5xx` (`6xx` to `9xx` for the
    /// non-standard codes up to 999), instead of the code (off unless set); a server error's
    /// `error_type` is then its class too (`5xx`).
    ///
    /// A departure from the OpenTelemetry HTTP conventions, which record the code: take it for
    /// very large route sets, where each distinct code multiplies every route's series (a
    /// route answering a dozen codes has twelve label sets per method, five with classes), or
    /// to match dashboards that group by class anyway (Micrometer's `outcome`). What is lost:
    /// a 404 told from a 401, or a 502 from a 503, in the metrics (the request log keeps the
    /// code). The generated rules and dashboard work unchanged (they select server errors as
    /// `5..`, which `5xx` matches), and the test kit (the `testing` feature) reads classes with
    /// `RouteStats::status_class`. A request without a response keeps the axum-prometheus
    /// naming's stand-in status (`499` for a hang-up); gRPC calls keep their codes.
    ///
    /// ```
    /// let layer = routemeter::RouteMeterLayer::builder().status_classes(true).build();
    /// ```
    pub fn status_classes(mut self, on: bool) -> Self {
        self.status_classes = on;
        self
    }

    /// Also records the request and response body sizes, in bytes (off unless set; the
    /// OpenTelemetry conventions make these histograms opt-in).
    ///
    /// Request bodies are counted as they stream through axum's `Body`; other request body
    /// types are not recorded, since their declared length is only a claim of the client.
    /// Response bodies are counted as they are sent.
    pub fn body_sizes(mut self, on: bool) -> Self {
        self.body_sizes = on;
        self
    }

    /// Takes request durations from `clock` (the system clock unless set): the test kit's
    /// [`TestMeter`](crate::testing::TestMeter) sets tokio's.
    #[cfg(feature = "testing")]
    pub(crate) fn clock(mut self, clock: crate::clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Records gRPC calls as calls (off unless set, or unless
    /// [`grpc_service`](Self::grpc_service) is called).
    ///
    /// A request whose `content-type` is `application/grpc` (`application/grpc+proto`, …) is
    /// then recorded in the RPC metric families of the OpenTelemetry conventions,
    /// [`rpc_duration`](crate::Naming::rpc_duration) and
    /// [`rpc_active`](crate::Naming::rpc_active), not in the HTTP ones: with
    /// `rpc_system_name="grpc"`, its method (`rpc_method="package.Service/Method"`), the gRPC
    /// status it ended with (`rpc_status_code="NOT_FOUND"`, read from `grpc-status` in the
    /// response head or its trailers) and, when the conventions count that status as a server
    /// error, `error_type` (see [`GrpcCode::is_server_error`](crate::GrpcCode::is_server_error)).
    /// Streaming calls are timed until their last frame. A call dropped before it got a status
    /// is `CANCELLED`, or `DEADLINE_EXCEEDED` when its `grpc-timeout` had passed.
    ///
    /// Without [`grpc_service`](Self::grpc_service), every well-formed method path is a label
    /// value; declare the services to have calls to any other method recorded as
    /// [`OTHER_RPC_METHOD`](crate::OTHER_RPC_METHOD), as the conventions ask. gRPC methods are
    /// kept in a table of their own, with the routes' [`max_routes`](Self::max_routes) and
    /// [`max_series`](Self::max_series) limits. Off, requests are not looked at for gRPC at
    /// all; on, each request costs one look at its `content-type`.
    pub fn grpc(mut self, on: bool) -> Self {
        self.grpc = on;
        self
    }

    /// Declares the methods of a gRPC service (and turns [`grpc`](Self::grpc) on): calls to
    /// them are recorded under their name, calls to any method not declared (an unknown
    /// service, a method the service does not have) under
    /// [`OTHER_RPC_METHOD`](crate::OTHER_RPC_METHOD). Call it once per service.
    ///
    /// ```
    /// let layer = routemeter::RouteMeterLayer::builder()
    ///     .grpc_service("grpc.health.v1.Health", ["Check", "Watch"])?
    ///     .build();
    /// # Ok::<(), routemeter::LayerError>(())
    /// ```
    ///
    /// With tonic, the service name is the server type's `NAME`
    /// (`tonic::server::NamedService`).
    ///
    /// # Errors
    ///
    /// When `service` is not a dotted name of letters, digits and `_`, a method is not a name
    /// of letters, digits and `_`, no method is given, or a method's full name is longer than
    /// [`MAX_RPC_METHOD_LEN`](crate::MAX_RPC_METHOD_LEN).
    pub fn grpc_service<'a>(
        mut self,
        service: &str,
        methods: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, LayerError> {
        self.grpc_methods
            .declare(service, methods)
            .map_err(|(name, reason)| LayerError::GrpcName { name, reason })?;
        self.grpc = true;
        Ok(self)
    }
}
