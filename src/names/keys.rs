//! The label keys of each naming scheme: HTTP method, route, status, error type, URL scheme and
//! protocol version, the gRPC ones, and the list of every key the layer sets itself.

use super::naming::{Naming, NamingScheme};

impl Naming {
    /// The label key of the HTTP method.
    #[must_use]
    pub fn method_key(&self) -> &'static str {
        match self.scheme() {
            NamingScheme::OpenTelemetry => "http_request_method",
            NamingScheme::OpenTelemetryDotted => "http.request.method",
            NamingScheme::AxumPrometheus => "method",
        }
    }

    /// The label key of the route template.
    #[must_use]
    pub fn route_key(&self) -> &'static str {
        match self.scheme() {
            NamingScheme::OpenTelemetry => "http_route",
            NamingScheme::OpenTelemetryDotted => "http.route",
            NamingScheme::AxumPrometheus => "endpoint",
        }
    }

    /// The label key of the response status code.
    #[must_use]
    pub fn status_key(&self) -> &'static str {
        match self.scheme() {
            NamingScheme::OpenTelemetry => "http_response_status_code",
            NamingScheme::OpenTelemetryDotted => "http.response.status_code",
            NamingScheme::AxumPrometheus => "status",
        }
    }

    /// The label key that names what went wrong (`None` in the axum-prometheus scheme).
    #[must_use]
    pub fn error_key(&self) -> Option<&'static str> {
        match self.scheme() {
            NamingScheme::OpenTelemetry => Some("error_type"),
            NamingScheme::OpenTelemetryDotted => Some("error.type"),
            NamingScheme::AxumPrometheus => None,
        }
    }

    /// The label key of the URL scheme, `http` or `https` (`None` in the axum-prometheus
    /// scheme).
    #[must_use]
    pub fn scheme_key(&self) -> Option<&'static str> {
        match self.scheme() {
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
        match self.scheme() {
            NamingScheme::OpenTelemetry => Some("network_protocol_version"),
            NamingScheme::OpenTelemetryDotted => Some("network.protocol.version"),
            NamingScheme::AxumPrometheus => None,
        }
    }

    /// Whether the gRPC names are dotted.
    fn rpc_dotted(&self) -> bool {
        self.scheme() == NamingScheme::OpenTelemetryDotted
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
}

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
