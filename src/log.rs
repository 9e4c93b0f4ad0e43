//! Request logs through `tracing`: a span per request and one event when it finishes.
//!
//! Off unless [`RouteMeterBuilder::request_log`](crate::RouteMeterBuilder::request_log) is set;
//! then every measured request gets an `http_request` span (method, route, request id) that is
//! entered while the inner service and the response body are polled, so the handler's own
//! events carry it. When the request finishes, one `request finished` event is emitted at a
//! level chosen by its outcome, with the status, `duration_ms` (the same measurement the
//! histogram records, in milliseconds to the microsecond), the error type, whether it was slow
//! and the body sizes; gRPC calls add their status name (`grpc_status`). Each field is logged
//! once: method, route and request id are in the span, and the event repeats them only when the
//! subscriber disabled the span.

use std::time::Duration;

use http::HeaderName;
use tracing::{Level, Span};

use crate::classify::ErrorType;

/// Which requests are logged, and at which level.
///
/// ```
/// use std::time::Duration;
/// use routemeter::RequestLog;
///
/// // Only failures and requests slower than 250 ms:
/// let log = RequestLog::failures_and_slow(Duration::from_millis(250));
/// // Every request; successes at DEBUG:
/// let all = RequestLog::all().success_level(tracing::Level::DEBUG);
/// ```
#[derive(Clone, Debug)]
pub struct RequestLog {
    all: bool,
    slow_after: Duration,
    success_level: Level,
    slow_level: Level,
    error_level: Level,
    cancelled_level: Level,
    request_id_header: HeaderName,
}

impl Default for RequestLog {
    fn default() -> Self {
        Self::failures_and_slow(Duration::from_secs(1))
    }
}

impl RequestLog {
    /// Logs every request: failures at `ERROR` (cancelled ones at `WARN`), requests slower than
    /// one second at `WARN`, the rest at `INFO`.
    #[must_use]
    pub fn all() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }

    /// Logs only failed requests and requests that took at least `slow_after`.
    #[must_use]
    pub fn failures_and_slow(slow_after: Duration) -> Self {
        Self {
            all: false,
            slow_after,
            success_level: Level::INFO,
            slow_level: Level::WARN,
            error_level: Level::ERROR,
            cancelled_level: Level::WARN,
            request_id_header: HeaderName::from_static("x-request-id"),
        }
    }

    /// Requests taking at least this long are slow.
    #[must_use]
    pub fn slow_after(mut self, threshold: Duration) -> Self {
        self.slow_after = threshold;
        self
    }

    /// The level of successful requests that are not slow (with [`all`](Self::all)).
    #[must_use]
    pub fn success_level(mut self, level: Level) -> Self {
        self.success_level = level;
        self
    }

    /// The level of slow requests.
    #[must_use]
    pub fn slow_level(mut self, level: Level) -> Self {
        self.slow_level = level;
        self
    }

    /// The level of failed requests: 5xx, inner errors, panics, body errors.
    #[must_use]
    pub fn error_level(mut self, level: Level) -> Self {
        self.error_level = level;
        self
    }

    /// The level of cancelled requests (the client went away or a timeout fired).
    #[must_use]
    pub fn cancelled_level(mut self, level: Level) -> Self {
        self.cancelled_level = level;
        self
    }

    /// The header that carries the request id (`x-request-id` unless set), as set by
    /// `tower_http::request_id::SetRequestIdLayer`.
    #[must_use]
    pub fn request_id_header(mut self, header: HeaderName) -> Self {
        self.request_id_header = header;
        self
    }

    /// The level to log a finished request at, or `None` to stay silent.
    fn level(&self, error: Option<ErrorType>, elapsed: Duration) -> Option<Level> {
        match error {
            Some(ErrorType::Cancelled) => Some(self.cancelled_level),
            Some(_) => Some(self.error_level),
            None if elapsed >= self.slow_after => Some(self.slow_level),
            None if self.all => Some(self.success_level),
            None => None,
        }
    }

    /// Opens the span of a request.
    pub(crate) fn start(&self, method: &str, route: &str, headers: &http::HeaderMap) -> LogState {
        // A header value clone shares its bytes: no copy of the id.
        let request_id = headers.get(&self.request_id_header).cloned();
        let id = request_id.as_ref().and_then(logged_id);
        let span = tracing::info_span!("http_request", method, route, request_id = id);
        LogState { span, request_id }
    }
}

/// The logging state of one request.
pub(crate) struct LogState {
    pub(crate) span: Span,
    request_id: Option<http::HeaderValue>,
}

/// What a finished request reports to its log.
pub(crate) struct Finished<'a> {
    pub(crate) method: &'a str,
    pub(crate) route: &'a str,
    /// The request labels' names and values (none without request labels).
    pub(crate) labels: &'a [(&'a str, &'a str)],
    pub(crate) status: Option<u16>,
    /// The status name of a gRPC call (`OK`, `NOT_FOUND`, …).
    pub(crate) grpc_status: Option<&'static str>,
    pub(crate) error: Option<ErrorType>,
    pub(crate) elapsed: Duration,
    pub(crate) request_bytes: Option<u64>,
    pub(crate) response_bytes: u64,
}

impl LogState {
    pub(crate) fn finish(&self, config: &RequestLog, done: &Finished<'_>) {
        let Some(level) = config.level(done.error, done.elapsed) else {
            return;
        };
        // Milliseconds to the microsecond: `62.523`, not `62.52262999999999`.
        let duration_ms = round_to_micros_ms(done.elapsed);
        let error_type = done.error.as_ref().map(ErrorType::as_str);
        let slow = done.elapsed >= config.slow_after;
        // The span carries method, route and request id, and every formatter shows it with the
        // event: the event repeats them only when the subscriber disabled the span (say, a
        // `WARN` filter and the span at `INFO`), so each field is logged exactly once.
        let in_span = !self.span.is_disabled();
        let (method, route, request_id) = if in_span {
            (None, None, None)
        } else {
            (
                Some(done.method),
                Some(done.route),
                self.request_id.as_ref().and_then(logged_id),
            )
        };
        // Request labels, as `[("tenant", "acme")]`: names and values quoted, so nothing in a
        // value can read as another label.
        let request_labels = (!done.labels.is_empty()).then_some(done.labels);
        // `tracing` needs the level of an event at compile time: one arm per level.
        macro_rules! finished {
            ($level:expr) => {
                tracing::event!(
                    parent: &self.span,
                    $level,
                    method,
                    route,
                    request_id,
                    status = done.status,
                    grpc_status = done.grpc_status,
                    duration_ms,
                    error_type,
                    slow,
                    request_bytes = done.request_bytes,
                    response_bytes = done.response_bytes,
                    labels = request_labels.as_ref().map(tracing::field::debug),
                    "request finished"
                )
            };
        }
        match level {
            Level::ERROR => finished!(Level::ERROR),
            Level::WARN => finished!(Level::WARN),
            Level::INFO => finished!(Level::INFO),
            Level::DEBUG => finished!(Level::DEBUG),
            _ => finished!(Level::TRACE),
        }
    }
}

/// `elapsed` in milliseconds, rounded to the microsecond.
fn round_to_micros_ms(elapsed: Duration) -> f64 {
    // Whole microseconds divided by 1000 print in their shortest form (`62.523`).
    let micros = (elapsed.as_nanos() + 500) / 1000;
    micros as f64 / 1000.0
}

/// The longest request id a log line carries: a client chooses the header, and a log line must
/// not grow with it.
const MAX_LOGGED_ID: usize = 128;

/// A request id as logged: visible ASCII (`HeaderValue::to_str`), at most [`MAX_LOGGED_ID`]
/// bytes.
fn logged_id(value: &http::HeaderValue) -> Option<&str> {
    let id = value.to_str().ok()?;
    Some(&id[..id.len().min(MAX_LOGGED_ID)])
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_logged_at_most_128_bytes_long() {
        let long = http::HeaderValue::from_str(&"x".repeat(20_000)).unwrap();
        assert_eq!(super::logged_id(&long).map(str::len), Some(128));
        let short = http::HeaderValue::from_static("req-1");
        assert_eq!(super::logged_id(&short), Some("req-1"));
        let binary = http::HeaderValue::from_bytes(b"\xff").unwrap();
        assert_eq!(super::logged_id(&binary), None);
    }

    use super::*;

    #[test]
    fn levels_follow_the_outcome() {
        let log = RequestLog::failures_and_slow(Duration::from_millis(100));
        let fast = Duration::from_millis(1);
        let slow = Duration::from_millis(150);
        assert_eq!(log.level(None, fast), None);
        assert_eq!(log.level(None, slow), Some(Level::WARN));
        let status = ErrorType::Status(http::StatusCode::BAD_GATEWAY);
        assert_eq!(log.level(Some(status), fast), Some(Level::ERROR));
        assert_eq!(log.level(Some(ErrorType::Panic), fast), Some(Level::ERROR));
        assert_eq!(
            log.level(Some(ErrorType::Cancelled), fast),
            Some(Level::WARN)
        );
        let all = RequestLog::all().success_level(Level::DEBUG);
        assert_eq!(all.level(None, fast), Some(Level::DEBUG));
    }

    #[test]
    fn durations_print_to_the_microsecond() {
        let ms = |nanos| round_to_micros_ms(Duration::from_nanos(nanos)).to_string();
        assert_eq!(ms(62_522_630), "62.523");
        assert_eq!(ms(62_522_499), "62.522");
        assert_eq!(ms(1_000_000), "1");
        assert_eq!(ms(400), "0");
        assert_eq!(ms(3_600_000_123_000), "3600000.123", "an hour and 123 µs");
    }
}
