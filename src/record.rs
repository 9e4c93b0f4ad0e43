//! One request from start to finish: when it ends, how, and what is recorded for it.
//!
//! [`InFlight`] is created as a request enters the layer and travels with the response future and
//! then the response body. Whichever of them sees the end (the last body frame, an error, a
//! response the server never sends a body for, a body dropped after all its declared bytes were
//! sent) calls [`InFlight::finish`]; if none does, dropping it records the request as
//! `cancelled`, or as a `panic` when its own poll unwound.

use std::sync::Arc;
#[cfg(feature = "axum")]
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::classify::{ErrorType, Outcome};
use crate::grpc::{GrpcCall, GrpcCode};
use crate::log::{Finished, LogState};
use crate::registry::MethodSeries;
use crate::trace::TraceId;

/// How the request body's size is known.
///
/// Only bytes that were really received count: a `Content-Length` or a size hint is a claim of
/// the client, which may send less (or nothing) and is never checked when the handler does not
/// read the body.
enum RequestBytes {
    /// Counted as it streams through the body wrapper.
    #[cfg(feature = "axum")]
    Counted(Arc<std::sync::atomic::AtomicU64>),
    /// The body was empty when the request arrived.
    Empty,
    /// Neither: the request-size histogram is not recorded for this request.
    Unknown,
}

/// One request being measured. Recorded exactly once: by [`InFlight::finish`], or, if the
/// request never finishes, when it is dropped (as cancelled, or as a panic while unwinding).
pub(crate) struct InFlight {
    series: Arc<MethodSeries>,
    start: Instant,
    request_bytes: RequestBytes,
    pub(crate) response_bytes: u64,
    /// The response body's declared length (its `Content-Length`, else its exact size hint),
    /// seen with the head; `u64::MAX` when unknown.
    pub(crate) declared_bytes: u64,
    pub(crate) status: Option<http::StatusCode>,
    /// Set while the inner future or body is being polled; still set in `drop` means that poll
    /// never returned, i.e. it panicked.
    pub(crate) polling: bool,
    done: bool,
    /// The request's span, when request logs are on (boxed: nothing to carry when off).
    log: Option<Box<LogState>>,
    /// The trace id of the request's `traceparent`, when exemplars are on.
    trace: Option<TraceId>,
    /// The request's `network.protocol.version`, when the naming has that label.
    version: Option<crate::classify::ProtocolVersion>,
    /// Set for gRPC calls (boxed: nothing to carry for HTTP requests).
    pub(crate) grpc: Option<Box<GrpcCall>>,
}

impl InFlight {
    pub(crate) fn new(
        series: Arc<MethodSeries>,
        start: Instant,
        headers: &http::HeaderMap,
        version: Option<crate::classify::ProtocolVersion>,
    ) -> Self {
        series.active.increment(1.0);
        let log = series
            .registrar
            .log
            .as_ref()
            .map(|config| Box::new(config.start(series.method, &series.route, headers)));
        let trace = if series.registrar.exemplars {
            TraceId::from_headers(headers)
        } else {
            None
        };
        Self {
            trace,
            version,
            log,
            series,
            start,
            request_bytes: RequestBytes::Unknown,
            response_bytes: 0,
            declared_bytes: u64::MAX,
            status: None,
            polling: false,
            done: false,
            grpc: None,
        }
    }

    /// Whether the request body's size is wanted: for the body-size histogram, or the log.
    pub(crate) fn counts_request_body(&self) -> bool {
        let r = &self.series.registrar;
        r.body_sizes || r.log.is_some()
    }

    /// A counter the request body wrapper adds streamed bytes to.
    #[cfg(feature = "axum")]
    pub(crate) fn request_counter(&mut self) -> Arc<std::sync::atomic::AtomicU64> {
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        self.request_bytes = RequestBytes::Counted(Arc::clone(&counter));
        counter
    }

    /// The request body was empty as it arrived: its size is 0 without counting.
    pub(crate) fn request_body_empty(&mut self) {
        self.request_bytes = RequestBytes::Empty;
    }

    /// Records the request with `end` as how its response (or lack of one) ended.
    pub(crate) fn finish(&mut self, end: Option<ErrorType>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let outcome = match (&self.grpc, self.status) {
            (Some(call), _) => grpc_outcome(call, end, self.start.elapsed()),
            (None, Some(status)) => Outcome::response(status, end),
            (None, None) => Outcome::failed(end.unwrap_or(ErrorType::Cancelled)),
        }
        .with_version(self.version);
        let request_bytes = match &self.request_bytes {
            #[cfg(feature = "axum")]
            RequestBytes::Counted(c) => Some(c.load(Ordering::Relaxed)),
            RequestBytes::Empty => Some(0),
            RequestBytes::Unknown => None,
        };
        // One measurement for the histogram and the log.
        let elapsed = self.series.registrar.clock.since(self.start);
        self.series.record(
            outcome,
            elapsed,
            request_bytes,
            self.response_bytes,
            self.trace,
        );
        if let (Some(log), Some(config)) = (&self.log, &self.series.registrar.log) {
            log.finish(
                config,
                &Finished {
                    method: self.series.method,
                    route: &self.series.route,
                    status: outcome.status.map(|s| s.as_u16()),
                    grpc_status: outcome.grpc.map(GrpcCode::as_str),
                    error: outcome.error,
                    elapsed,
                    request_bytes,
                    response_bytes: self.response_bytes,
                },
            );
        }
    }

    /// Whether HTTP sends no body for this response (RFC 9110: a response to `HEAD`, or a
    /// 1xx, 204 or 304 status), so a server drops it unread.
    pub(crate) fn sends_no_body(&self) -> bool {
        self.series.method == "HEAD"
            || self.status.is_some_and(|s| {
                s.is_informational()
                    || s == http::StatusCode::NO_CONTENT
                    || s == http::StatusCode::NOT_MODIFIED
            })
    }

    /// Records the response head of `response`: its status, its declared body length and, when
    /// the layer measures it, the time until the head was ready.
    pub(crate) fn head<B: http_body::Body>(&mut self, response: &http::Response<B>) {
        let status = response.status();
        self.status = Some(status);
        if let Some(call) = &mut self.grpc {
            call.head(status, response.headers());
        }
        self.declared_bytes = declared_length(response).unwrap_or(u64::MAX);
        if self.series.registrar.time_to_head {
            self.series.record_head(
                Outcome::response(status, None).with_version(self.version),
                self.series.registrar.clock.since(self.start),
            );
        }
    }

    /// Whether every byte the response declared (by `Content-Length` or an exact size hint)
    /// has been sent. A server stops polling such a body once it has written that many bytes
    /// and drops it without asking for its end: that is a normal end.
    pub(crate) fn sent_declared_length(&self) -> bool {
        self.declared_bytes != u64::MAX && self.response_bytes >= self.declared_bytes
    }

    /// The request's span, to enter while its future or body is polled.
    pub(crate) fn span(&self) -> Option<&tracing::Span> {
        self.log.as_ref().map(|l| &l.span)
    }
}

/// How a gRPC call ended: the status the server sent (in the head or the trailers), unless the
/// response failed otherwise.
///
/// A call dropped before any status (`end` is `Cancelled`) is `CANCELLED`, or
/// `DEADLINE_EXCEEDED` when its `grpc-timeout` had passed by then: a deadline, the server's or
/// the client's, gave up on it. A response stream that ended without a status is `UNKNOWN`:
/// the gRPC protocol requires one.
fn grpc_outcome(call: &GrpcCall, end: Option<ErrorType>, elapsed: std::time::Duration) -> Outcome {
    match (call.status, end) {
        (Some(code), None | Some(ErrorType::Cancelled)) => Outcome::call(Some(code), None),
        (None, Some(ErrorType::Cancelled)) => Outcome::call(Some(call.dropped(elapsed)), None),
        (None, None) => Outcome::call(Some(GrpcCode::Unknown), None),
        (code, Some(error)) => Outcome::call(code, Some(error)),
    }
}

/// The body length a response declares: its body's exact size hint (which hyper turns into a
/// `Content-Length`), else its `Content-Length` header (a stream whose length the handler
/// states).
///
/// The size hint comes first because it costs no header look-up, and most bodies (in-memory
/// ones) have one; a body whose exact length disagrees with its own header is a handler bug
/// that the server reports anyway.
fn declared_length<B: http_body::Body>(response: &http::Response<B>) -> Option<u64> {
    if let Some(exact) = response.body().size_hint().exact() {
        return Some(exact);
    }
    let value = response.headers().get(http::header::CONTENT_LENGTH)?;
    // Digits only (`u64::from_str` would also take a leading `+`), as HTTP writes it.
    if !value.as_bytes().iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value.as_bytes()).ok()?.parse().ok()
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.done {
            // Only this request's own poll unwinding makes it a panic: `thread::panicking` is
            // also true for every other request dropped while some panic unwinds the thread.
            let why = if self.polling {
                ErrorType::Panic
            } else {
                ErrorType::Cancelled
            };
            self.finish(Some(why));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::declared_length;

    /// A streamed body (no exact size hint) with `value` as its `Content-Length`.
    fn with_length(value: &[u8]) -> Option<Option<u64>> {
        let value = http::HeaderValue::from_bytes(value).ok()?;
        let response = http::Response::builder()
            .header(http::header::CONTENT_LENGTH, value)
            .body(http_body_util::StreamBody::new(
                futures_util::stream::empty::<Result<http_body::Frame<bytes::Bytes>, ()>>(),
            ))
            .ok()?;
        Some(declared_length(&response))
    }

    #[test]
    fn declared_length_is_the_exact_size_hint_else_the_header() {
        assert_eq!(with_length(b"18"), Some(Some(18)));
        assert_eq!(with_length(b"-1"), Some(None));
        assert_eq!(with_length(b"+18"), Some(None));
        assert_eq!(with_length(b""), Some(None));
        assert_eq!(with_length(b"18446744073709551616"), Some(None));
        let full = http::Response::new(http_body_util::Full::new(bytes::Bytes::from("abc")));
        assert_eq!(declared_length(&full), Some(3));
        let stream = http::Response::new(http_body_util::StreamBody::new(
            futures_util::stream::empty::<Result<http_body::Frame<bytes::Bytes>, ()>>(),
        ));
        assert_eq!(declared_length(&stream), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any header value: no panic, and a length only when it is exactly a `u64`.
        #[test]
        fn any_content_length_header_is_parsed_or_ignored(
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
            number in proptest::prelude::any::<u64>(),
        ) {
            if let Some(got) = with_length(&value) {
                let digits = value.iter().all(u8::is_ascii_digit);
                let expected = std::str::from_utf8(&value)
                    .ok()
                    .filter(|_| digits)
                    .and_then(|s| s.parse::<u64>().ok());
                proptest::prop_assert_eq!(got, expected);
            }
            proptest::prop_assert_eq!(with_length(number.to_string().as_bytes()), Some(Some(number)));
        }
    }
}
