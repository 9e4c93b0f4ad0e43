//! The names of the recording rules: one function per recorded series, so the rules that
//! record a series, the alerts that read it and the dashboard that plots it spell it the same.

/// The name of a recording rule.
pub(crate) fn requests_rate(window: &str) -> String {
    format!("routemeter:http_requests:rate{window}")
}

pub(crate) fn errors_ratio(window: &str) -> String {
    format!("routemeter:http_errors:ratio_rate{window}")
}

pub(crate) fn cancelled_ratio(window: &str) -> String {
    format!("routemeter:http_cancelled:ratio_rate{window}")
}

pub(crate) fn slow_ratio(window: &str) -> String {
    format!("routemeter:http_slow:ratio_rate{window}")
}

pub(crate) fn grpc_calls_rate(window: &str) -> String {
    format!("routemeter:grpc_calls:rate{window}")
}

pub(crate) fn grpc_errors_ratio(window: &str) -> String {
    format!("routemeter:grpc_errors:ratio_rate{window}")
}

pub(crate) fn quantile(q: &str) -> String {
    format!("routemeter:http_request_duration_seconds:p{q}_5m")
}
