//! The names of the recording rules: one function per recorded series, so the rules that
//! record a series, the alerts that read it and the dashboard that plots it spell it the same.

/// The request rate per route over `window`.
pub(crate) fn requests_rate(window: &str) -> String {
    format!("routemeter:http_requests:rate{window}")
}

/// The share of requests that failed over `window`.
pub(crate) fn errors_ratio(window: &str) -> String {
    format!("routemeter:http_errors:ratio_rate{window}")
}

/// The share of requests the client cancelled over `window`.
pub(crate) fn cancelled_ratio(window: &str) -> String {
    format!("routemeter:http_cancelled:ratio_rate{window}")
}

/// The share of requests slower than their latency threshold over `window`.
pub(crate) fn slow_ratio(window: &str) -> String {
    format!("routemeter:http_slow:ratio_rate{window}")
}

/// The call rate per gRPC method over `window`.
pub(crate) fn grpc_calls_rate(window: &str) -> String {
    format!("routemeter:grpc_calls:rate{window}")
}

/// The share of gRPC calls that ended with a server-error status over `window`.
pub(crate) fn grpc_errors_ratio(window: &str) -> String {
    format!("routemeter:grpc_errors:ratio_rate{window}")
}

/// The latency percentile `q` (`50`, `95`, `99`) per route over 5 minutes.
pub(crate) fn quantile(q: &str) -> String {
    format!("routemeter:http_request_duration_seconds:p{q}_5m")
}
