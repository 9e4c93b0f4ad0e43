//! The naming schemes and the metric names they give: which families the layer records under
//! which names, with an optional prefix.

use metrics::SharedString;

/// Which family of metric names and label keys the layer emits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NamingScheme {
    /// OpenTelemetry HTTP semantic conventions in Prometheus form (the default):
    /// `http_server_request_duration_seconds` and `http_server_active_requests`, with the labels
    /// `http_request_method`, `http_route`, `http_response_status_code`, `error_type`,
    /// `url_scheme` and `network_protocol_version`. Opt-in:
    /// `http_server_request_body_size_bytes`, `http_server_response_body_size_bytes` and
    /// `http_server_time_to_response_head_seconds`.
    #[default]
    OpenTelemetry,
    /// OpenTelemetry HTTP semantic conventions with their own dotted names, for recorders that
    /// export OTLP: `http.server.request.duration` (unit `s`), `http.server.active_requests`,
    /// and opt-in `http.server.request.body.size` and `http.server.response.body.size` (unit
    /// `By`), with the attributes `http.request.method`, `http.route`,
    /// `http.response.status_code`, `error.type`, `url.scheme` and `network.protocol.version`.
    ///
    /// Units travel as metadata (`metrics::Unit`), not in the name. A Prometheus recorder
    /// would turn the dots into underscores and lose the unit suffix: use
    /// [`OpenTelemetry`](Self::OpenTelemetry) there.
    OpenTelemetryDotted,
    /// The names and labels of the axum-prometheus crate, so its dashboards keep working:
    /// `axum_http_requests_total`, `axum_http_requests_duration_seconds` and
    /// `axum_http_requests_pending`, with the labels `method`, `status` and `endpoint`.
    /// Opt-in: `axum_http_requests_time_to_head_seconds`.
    ///
    /// Body sizes and the `error_type` label are not emitted in this scheme (axum-prometheus has
    /// no such series). A request that ended without a response gets the status label `500` when
    /// the inner service failed or panicked and `499` when it was cancelled.
    AxumPrometheus,
}

/// The resolved names of every series routemeter emits.
///
/// Build one with [`Naming::new`] (or [`Naming::default`]) and hand the same value to the layer
/// builder and to the Prometheus set-up, so bucket settings match the histograms the layer records.
///
/// ```
/// use routemeter::{Naming, NamingScheme};
///
/// let otel = Naming::default().with_prefix("shop");
/// assert_eq!(otel.duration(), "shop_http_server_request_duration_seconds");
///
/// let compat = Naming::new(NamingScheme::AxumPrometheus).with_prefix("shop");
/// assert_eq!(compat.duration(), "shop_http_requests_duration_seconds");
/// assert_eq!(compat.route_key(), "endpoint");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Naming {
    scheme: NamingScheme,
    prefix: Option<String>,
    duration: SharedString,
    active: SharedString,
    request_size: SharedString,
    response_size: SharedString,
    requests_total: SharedString,
    route_overflow: SharedString,
    label_overflow: SharedString,
    time_to_head: SharedString,
    rpc_duration: SharedString,
    rpc_active: SharedString,
}

impl Default for Naming {
    fn default() -> Self {
        Self::new(NamingScheme::OpenTelemetry)
    }
}

impl Naming {
    /// The names of `scheme`, without a prefix.
    #[must_use]
    pub fn new(scheme: NamingScheme) -> Self {
        Self::build(scheme, None)
    }

    /// Puts `prefix` in front of every name.
    ///
    /// With [`NamingScheme::OpenTelemetry`] the names become `{prefix}_http_server_…`
    /// (`{prefix}.http.server.…` with [`NamingScheme::OpenTelemetryDotted`]); with
    /// [`NamingScheme::AxumPrometheus`] the prefix replaces `axum`, as axum-prometheus's own
    /// `with_prefix` does (`{prefix}_http_requests_total`). An empty prefix removes it. The prefix
    /// is used as given: it should match `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[must_use]
    pub fn with_prefix(self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        Self::build(self.scheme, (!prefix.is_empty()).then_some(prefix))
    }

    fn build(scheme: NamingScheme, prefix: Option<String>) -> Self {
        let p = |base: &str| -> SharedString {
            match &prefix {
                Some(p) => SharedString::from(format!("{p}_{base}")),
                None => SharedString::from(base.to_owned()),
            }
        };
        let compat = |base: &str| -> SharedString {
            let p = prefix.as_deref().unwrap_or("axum");
            SharedString::from(format!("{p}_{base}"))
        };
        match scheme {
            NamingScheme::OpenTelemetry => Self {
                scheme,
                duration: p("http_server_request_duration_seconds"),
                active: p("http_server_active_requests"),
                request_size: p("http_server_request_body_size_bytes"),
                response_size: p("http_server_response_body_size_bytes"),
                requests_total: SharedString::const_str(""),
                route_overflow: p("routemeter_route_overflow_total"),
                label_overflow: p("routemeter_label_overflow_total"),
                time_to_head: p("http_server_time_to_response_head_seconds"),
                rpc_duration: p("rpc_server_call_duration_seconds"),
                rpc_active: p("rpc_server_active_calls"),
                prefix,
            },
            NamingScheme::OpenTelemetryDotted => {
                let d = |base: &str| -> SharedString {
                    match &prefix {
                        Some(p) => SharedString::from(format!("{p}.{base}")),
                        None => SharedString::from(base.to_owned()),
                    }
                };
                Self {
                    scheme,
                    duration: d("http.server.request.duration"),
                    active: d("http.server.active_requests"),
                    request_size: d("http.server.request.body.size"),
                    response_size: d("http.server.response.body.size"),
                    requests_total: SharedString::const_str(""),
                    route_overflow: d("routemeter.route.overflow"),
                    label_overflow: d("routemeter.label.overflow"),
                    time_to_head: d("http.server.time_to_response_head"),
                    rpc_duration: d("rpc.server.call.duration"),
                    rpc_active: d("rpc.server.active_calls"),
                    prefix,
                }
            }
            NamingScheme::AxumPrometheus => Self {
                scheme,
                duration: compat("http_requests_duration_seconds"),
                active: compat("http_requests_pending"),
                request_size: SharedString::const_str(""),
                response_size: SharedString::const_str(""),
                requests_total: compat("http_requests_total"),
                route_overflow: p("routemeter_route_overflow_total"),
                label_overflow: p("routemeter_label_overflow_total"),
                time_to_head: compat("http_requests_time_to_head_seconds"),
                rpc_duration: p("rpc_server_call_duration_seconds"),
                rpc_active: p("rpc_server_active_calls"),
                prefix,
            },
        }
    }

    /// The naming scheme.
    #[must_use]
    pub fn scheme(&self) -> NamingScheme {
        self.scheme
    }

    /// The prefix, if one is set.
    #[must_use]
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// The request-duration histogram, in seconds.
    #[must_use]
    pub fn duration(&self) -> &str {
        &self.duration
    }

    /// The in-flight requests gauge.
    #[must_use]
    pub fn active(&self) -> &str {
        &self.active
    }

    /// The request body size histogram, in bytes (`None` in the axum-prometheus scheme).
    /// Recorded only by layers built with
    /// [`body_sizes(true)`](crate::RouteMeterBuilder::body_sizes).
    #[must_use]
    pub fn request_size(&self) -> Option<&str> {
        non_empty(&self.request_size)
    }

    /// The response body size histogram, in bytes (`None` in the axum-prometheus scheme).
    /// Recorded only by layers built with
    /// [`body_sizes(true)`](crate::RouteMeterBuilder::body_sizes).
    #[must_use]
    pub fn response_size(&self) -> Option<&str> {
        non_empty(&self.response_size)
    }

    /// The finished-requests counter (only the axum-prometheus scheme has one; with the default
    /// scheme the duration histogram's `_count` series counts requests).
    #[must_use]
    pub fn requests_total(&self) -> Option<&str> {
        non_empty(&self.requests_total)
    }

    /// The counter of requests recorded under [`OVERFLOW_ROUTE`](crate::OVERFLOW_ROUTE) because
    /// the layer already tracked its maximum number of distinct routes.
    #[must_use]
    pub fn route_overflow(&self) -> &str {
        &self.route_overflow
    }

    /// The counter of requests recorded with a
    /// [request label](crate::RouteMeterBuilder::request_label)'s value beyond its budget
    /// (as `__overflow__`), by `label`.
    #[must_use]
    pub fn label_overflow(&self) -> &str {
        &self.label_overflow
    }

    /// The time-to-response-head histogram, in seconds: from the request entering the layer
    /// until the response head (status and headers) was ready, before any body byte. Recorded
    /// only when the layer is built with
    /// [`time_to_head`](crate::RouteMeterBuilder::time_to_head); its labels are those of the
    /// duration histogram for a response with that status.
    ///
    /// `http_server_time_to_response_head_seconds` in the OpenTelemetry scheme (which has no
    /// such metric of its own), `axum_http_requests_time_to_head_seconds` in the axum-prometheus
    /// scheme.
    #[must_use]
    pub fn time_to_head(&self) -> &str {
        &self.time_to_head
    }

    /// The gRPC call-duration histogram, in seconds (`rpc.server.call.duration` of the
    /// OpenTelemetry RPC conventions): `rpc_server_call_duration_seconds`, or
    /// `rpc.server.call.duration` in the dotted scheme. Recorded for gRPC calls by layers built
    /// with [`grpc`](crate::RouteMeterBuilder::grpc); its labels are
    /// [`rpc_system_key`](Self::rpc_system_key) (`grpc`), [`rpc_method_key`](Self::rpc_method_key),
    /// [`rpc_status_key`](Self::rpc_status_key) and, for failed calls,
    /// [`rpc_error_key`](Self::rpc_error_key).
    ///
    /// The axum-prometheus scheme, which has no gRPC names of its own, uses the Prometheus form
    /// of the OpenTelemetry names for gRPC calls (with the prefix in front, if one is set).
    #[must_use]
    pub fn rpc_duration(&self) -> &str {
        &self.rpc_duration
    }

    /// The gRPC calls-in-flight gauge, labelled by system and method: `rpc_server_active_calls`
    /// (`rpc.server.active_calls` dotted). The RPC conventions define no such metric; it is the
    /// gRPC counterpart of [`active`](Self::active).
    #[must_use]
    pub fn rpc_active(&self) -> &str {
        &self.rpc_active
    }

    pub(crate) fn rpc_duration_shared(&self) -> &SharedString {
        &self.rpc_duration
    }

    pub(crate) fn rpc_active_shared(&self) -> &SharedString {
        &self.rpc_active
    }

    pub(crate) fn duration_shared(&self) -> &SharedString {
        &self.duration
    }

    pub(crate) fn active_shared(&self) -> &SharedString {
        &self.active
    }

    pub(crate) fn request_size_shared(&self) -> Option<&SharedString> {
        (!self.request_size.is_empty()).then_some(&self.request_size)
    }

    pub(crate) fn response_size_shared(&self) -> Option<&SharedString> {
        (!self.response_size.is_empty()).then_some(&self.response_size)
    }

    pub(crate) fn requests_total_shared(&self) -> Option<&SharedString> {
        (!self.requests_total.is_empty()).then_some(&self.requests_total)
    }

    pub(crate) fn route_overflow_shared(&self) -> &SharedString {
        &self.route_overflow
    }

    pub(crate) fn label_overflow_shared(&self) -> &SharedString {
        &self.label_overflow
    }

    pub(crate) fn time_to_head_shared(&self) -> &SharedString {
        &self.time_to_head
    }
}

fn non_empty(s: &SharedString) -> Option<&str> {
    (!s.is_empty()).then_some(&**s)
}
