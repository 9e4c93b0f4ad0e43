//! The description (`# HELP` text) of every metric family the layer records.

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
pub(crate) const LABEL_OVERFLOW_HELP: &str = "Requests recorded with a request label's value beyond its budget of distinct values, by label.";
pub(crate) const ROUTE_OVERFLOW_HELP: &str = "Requests recorded under the overflow route because the distinct-route limit or the series budget was reached.";
