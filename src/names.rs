//! Metric names, label keys, units, descriptions and default buckets.
//!
//! Everything that names a series lives here, so the layer, the Prometheus set-up and anything
//! generated from the metric names (rules, dashboards) agree by construction.

use metrics::SharedString;

/// Default bucket bounds of the duration histogram, in seconds.
///
/// These are the boundaries the OpenTelemetry HTTP semantic conventions advise for
/// `http.server.request.duration`, which axum-prometheus uses as well.
pub const DEFAULT_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Default bucket bounds of the body-size histograms, in bytes: powers of four from 64 B to 64 MiB.
pub const DEFAULT_SIZE_BUCKETS: &[f64] = &[
    64.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

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

    /// The label key of the HTTP method.
    #[must_use]
    pub fn method_key(&self) -> &'static str {
        match self.scheme {
            NamingScheme::OpenTelemetry => "http_request_method",
            NamingScheme::OpenTelemetryDotted => "http.request.method",
            NamingScheme::AxumPrometheus => "method",
        }
    }

    /// The label key of the route template.
    #[must_use]
    pub fn route_key(&self) -> &'static str {
        match self.scheme {
            NamingScheme::OpenTelemetry => "http_route",
            NamingScheme::OpenTelemetryDotted => "http.route",
            NamingScheme::AxumPrometheus => "endpoint",
        }
    }

    /// The label key of the response status code.
    #[must_use]
    pub fn status_key(&self) -> &'static str {
        match self.scheme {
            NamingScheme::OpenTelemetry => "http_response_status_code",
            NamingScheme::OpenTelemetryDotted => "http.response.status_code",
            NamingScheme::AxumPrometheus => "status",
        }
    }

    /// The label key that names what went wrong (`None` in the axum-prometheus scheme).
    #[must_use]
    pub fn error_key(&self) -> Option<&'static str> {
        match self.scheme {
            NamingScheme::OpenTelemetry => Some("error_type"),
            NamingScheme::OpenTelemetryDotted => Some("error.type"),
            NamingScheme::AxumPrometheus => None,
        }
    }

    /// The label key of the URL scheme, `http` or `https` (`None` in the axum-prometheus
    /// scheme).
    #[must_use]
    pub fn scheme_key(&self) -> Option<&'static str> {
        match self.scheme {
            NamingScheme::OpenTelemetry => Some("url_scheme"),
            NamingScheme::OpenTelemetryDotted => Some("url.scheme"),
            NamingScheme::AxumPrometheus => None,
        }
    }

    /// The label key of the HTTP version, `1.0`, `1.1`, `2` or `3` (`None` in the
    /// axum-prometheus scheme). It is on the histograms, not on the in-flight gauge, as the
    /// OpenTelemetry conventions have it.
    #[must_use]
    pub fn protocol_version_key(&self) -> Option<&'static str> {
        match self.scheme {
            NamingScheme::OpenTelemetry => Some("network_protocol_version"),
            NamingScheme::OpenTelemetryDotted => Some("network.protocol.version"),
            NamingScheme::AxumPrometheus => None,
        }
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

    /// Whether the gRPC names are dotted.
    fn rpc_dotted(&self) -> bool {
        self.scheme == NamingScheme::OpenTelemetryDotted
    }

    /// The label key of the RPC system (its value is `grpc`): `rpc_system_name`, or
    /// `rpc.system.name` dotted.
    #[must_use]
    pub fn rpc_system_key(&self) -> &'static str {
        if self.rpc_dotted() {
            "rpc.system.name"
        } else {
            "rpc_system_name"
        }
    }

    /// The label key of the method, `package.Service/Method`: `rpc_method`, or `rpc.method`
    /// dotted.
    #[must_use]
    pub fn rpc_method_key(&self) -> &'static str {
        if self.rpc_dotted() {
            "rpc.method"
        } else {
            "rpc_method"
        }
    }

    /// The label key of the gRPC status name (`OK`, `NOT_FOUND`, …): `rpc_status_code`, or
    /// `rpc.status_code` dotted.
    #[must_use]
    pub fn rpc_status_key(&self) -> &'static str {
        if self.rpc_dotted() {
            "rpc.status_code"
        } else {
            "rpc_status_code"
        }
    }

    /// The label key that names why a gRPC call failed: `error_type`, or `error.type` dotted
    /// (in every scheme: the conventions require it on failed calls).
    #[must_use]
    pub fn rpc_error_key(&self) -> &'static str {
        if self.rpc_dotted() {
            "error.type"
        } else {
            "error_type"
        }
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

    pub(crate) fn time_to_head_shared(&self) -> &SharedString {
        &self.time_to_head
    }
}

fn non_empty(s: &SharedString) -> Option<&str> {
    (!s.is_empty()).then_some(&**s)
}

/// Why a fixed label ([`RouteMeterBuilder::label`](crate::RouteMeterBuilder::label),
/// [`PrometheusSetup::global_label`](crate::prometheus::PrometheusSetup::global_label)) was
/// refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelError {
    /// Not a label name: it must match `[a-zA-Z_][a-zA-Z0-9_]*` (dots are allowed too where the
    /// names are OpenTelemetry attributes, for the layer's labels).
    Invalid(String),
    /// Reserved: names starting with `__` belong to Prometheus, `le` and `quantile` to
    /// histograms and summaries, and the layer sets its own labels (route, method, status,
    /// error, URL scheme, protocol version, the RPC ones) itself.
    Reserved(String),
    /// Given twice.
    Duplicate(String),
}

impl std::fmt::Display for LabelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(name) => write!(f, "{name:?} is not a label name"),
            Self::Reserved(name) => write!(f, "the label name {name:?} is reserved"),
            Self::Duplicate(name) => write!(f, "the label {name:?} is given twice"),
        }
    }
}

impl std::error::Error for LabelError {}

/// Every label key the layer sets itself, in every naming scheme: the request and call labels.
pub(crate) fn layer_label_keys() -> Vec<&'static str> {
    [
        NamingScheme::OpenTelemetry,
        NamingScheme::OpenTelemetryDotted,
        NamingScheme::AxumPrometheus,
    ]
    .into_iter()
    .flat_map(|scheme| {
        let n = Naming::new(scheme);
        [
            Some(n.method_key()),
            Some(n.route_key()),
            Some(n.status_key()),
            n.error_key(),
            n.scheme_key(),
            n.protocol_version_key(),
            Some(n.rpc_system_key()),
            Some(n.rpc_method_key()),
            Some(n.rpc_status_key()),
            Some(n.rpc_error_key()),
        ]
    })
    .flatten()
    .collect()
}

/// Checks a fixed label's name: a valid name (with `dots` allowed or not), not reserved, and not
/// already among `taken`.
pub(crate) fn check_label_name(
    name: &str,
    dots: bool,
    taken: impl IntoIterator<Item = impl AsRef<str>>,
) -> Result<(), LabelError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (dots && c == '.'));
    if !first_ok || !rest_ok {
        return Err(LabelError::Invalid(name.to_owned()));
    }
    let layer_keys = layer_label_keys();
    // A Prometheus recorder writes dots as underscores: a name is checked as given and as
    // written there, so `http_request.method` cannot stand in for the layer's own label.
    let written = name.replace('.', "_");
    let reserved_as = |n: &str| {
        n.starts_with("__")
            || n == "le"
            || n == "quantile"
            || ["rpc.system.name", "rpc.method", "rpc.status_code"].contains(&n)
            || layer_keys
                .iter()
                .any(|k| *k == n || k.replace('.', "_") == n)
    };
    if reserved_as(name) || reserved_as(&written) {
        return Err(LabelError::Reserved(name.to_owned()));
    }
    if taken
        .into_iter()
        .any(|t| t.as_ref() == name || t.as_ref().replace('.', "_") == written)
    {
        return Err(LabelError::Duplicate(name.to_owned()));
    }
    Ok(())
}

pub(crate) const DURATION_HELP: &str =
    "Duration of HTTP server requests, from entering the middleware until the response body ended.";
pub(crate) const ACTIVE_HELP: &str = "Number of HTTP server requests in flight.";
pub(crate) const REQUEST_SIZE_HELP: &str =
    "Bytes of request body that streamed through the middleware.";
pub(crate) const RESPONSE_SIZE_HELP: &str =
    "Bytes of response body that streamed through the middleware.";
pub(crate) const TIME_TO_HEAD_HELP: &str =
    "Time from the request entering the middleware until the response head was ready.";
pub(crate) const RPC_DURATION_HELP: &str =
    "Duration of gRPC server calls, from entering the middleware until the response stream ended.";
pub(crate) const RPC_ACTIVE_HELP: &str = "Number of gRPC server calls in flight.";
pub(crate) const REQUESTS_TOTAL_HELP: &str = "Number of finished HTTP server requests.";
pub(crate) const ROUTE_OVERFLOW_HELP: &str = "Requests recorded under the overflow route because the distinct-route limit or the series budget was reached.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otel_names_and_prefix() {
        let n = Naming::default();
        assert_eq!(n.duration(), "http_server_request_duration_seconds");
        assert_eq!(n.active(), "http_server_active_requests");
        assert_eq!(
            n.request_size(),
            Some("http_server_request_body_size_bytes")
        );
        assert_eq!(n.requests_total(), None);
        let n = n.with_prefix("api");
        assert_eq!(n.active(), "api_http_server_active_requests");
        assert_eq!(n.route_overflow(), "api_routemeter_route_overflow_total");
        assert_eq!(
            n.time_to_head(),
            "api_http_server_time_to_response_head_seconds"
        );
        assert_eq!(
            n.with_prefix("").duration(),
            "http_server_request_duration_seconds"
        );
    }

    #[test]
    fn dotted_names() {
        let n = Naming::new(NamingScheme::OpenTelemetryDotted);
        assert_eq!(n.duration(), "http.server.request.duration");
        assert_eq!(n.request_size(), Some("http.server.request.body.size"));
        assert_eq!(n.method_key(), "http.request.method");
        assert_eq!(n.error_key(), Some("error.type"));
        assert_eq!(n.scheme_key(), Some("url.scheme"));
        assert_eq!(n.protocol_version_key(), Some("network.protocol.version"));
        assert_eq!(
            n.with_prefix("shop").active(),
            "shop.http.server.active_requests"
        );
    }

    #[test]
    fn rpc_names() {
        let n = Naming::default();
        assert_eq!(n.rpc_duration(), "rpc_server_call_duration_seconds");
        assert_eq!(n.rpc_method_key(), "rpc_method");
        assert_eq!(n.rpc_status_key(), "rpc_status_code");
        assert_eq!(n.rpc_system_key(), "rpc_system_name");
        let d = Naming::new(NamingScheme::OpenTelemetryDotted).with_prefix("shop");
        assert_eq!(d.rpc_duration(), "shop.rpc.server.call.duration");
        assert_eq!(d.rpc_active(), "shop.rpc.server.active_calls");
        assert_eq!(d.rpc_error_key(), "error.type");
        let c = Naming::new(NamingScheme::AxumPrometheus).with_prefix("shop");
        assert_eq!(c.rpc_duration(), "shop_rpc_server_call_duration_seconds");
        assert_eq!(c.rpc_error_key(), "error_type");
    }

    #[test]
    fn compat_names() {
        let n = Naming::new(NamingScheme::AxumPrometheus);
        assert_eq!(n.requests_total(), Some("axum_http_requests_total"));
        assert_eq!(n.active(), "axum_http_requests_pending");
        assert_eq!(n.response_size(), None);
        assert_eq!(n.error_key(), None);
        assert_eq!(n.time_to_head(), "axum_http_requests_time_to_head_seconds");
        assert_eq!(n.method_key(), "method");
        assert_eq!(n.status_key(), "status");
    }

    #[test]
    fn fixed_label_names_are_checked() {
        let none: [&str; 0] = [];
        assert_eq!(check_label_name("region", false, none), Ok(()));
        assert_eq!(check_label_name("service.name", true, none), Ok(()));
        for bad in ["", "9a", "a b", "a-b", "é", "service.name"] {
            assert!(
                matches!(
                    check_label_name(bad, false, none),
                    Err(LabelError::Invalid(_))
                ),
                "{bad}"
            );
        }
        for reserved in [
            "__name__",
            "le",
            "quantile",
            "http_route",
            "endpoint",
            "status",
            "error_type",
            "url_scheme",
            "network_protocol_version",
            "rpc_method",
            "http.route",
        ] {
            assert!(
                matches!(
                    check_label_name(reserved, true, none),
                    Err(LabelError::Reserved(_))
                ),
                "{reserved}"
            );
        }
        assert_eq!(
            check_label_name("region", false, ["region"]),
            Err(LabelError::Duplicate("region".into()))
        );
        // Dotted spellings of reserved names, as a Prometheus recorder would write them.
        for dotted in [
            "http_request.method",
            "http_response.status_code",
            "_.name__",
            "rpc_system.name",
        ] {
            assert!(
                matches!(
                    check_label_name(dotted, true, none),
                    Err(LabelError::Reserved(_))
                ),
                "{dotted}"
            );
        }
        assert_eq!(
            check_label_name("a_b", true, ["a.b"]),
            Err(LabelError::Duplicate("a_b".into()))
        );
    }

    #[test]
    fn buckets_are_sorted() {
        assert!(DEFAULT_DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
        assert!(DEFAULT_SIZE_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
