//! The metric names and label keys of each naming scheme, with and without a prefix.

use super::{Naming, NamingScheme};

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
