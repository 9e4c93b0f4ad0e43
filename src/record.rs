//! One request from start to finish: when it ends, how, and what is recorded for it.
//!
//! [`InFlight`] is created as a request enters the layer and travels with the response future and
//! then the response body. Whichever of them sees the end (the last body frame, an error, a
//! response the server never sends a body for) calls [`InFlight::finish`]; if none does, dropping
//! it records the request as `cancelled`, or as a `panic` when its own poll unwound.

use std::sync::Arc;
#[cfg(feature = "axum")]
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::classify::{ErrorType, Outcome};
use crate::log::{Finished, LogState};
use crate::registry::MethodSeries;
use crate::trace::TraceId;

/// How the request body's size is known.
enum RequestBytes {
    /// Counted as it streams through the body wrapper.
    #[cfg(feature = "axum")]
    Counted(Arc<std::sync::atomic::AtomicU64>),
    /// Known up front (empty, or an exact size hint).
    Known(u64),
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
    pub(crate) status: Option<http::StatusCode>,
    /// Set while the inner future or body is being polled; still set in `drop` means that poll
    /// never returned, i.e. it panicked.
    pub(crate) polling: bool,
    done: bool,
    /// The request's span, when request logs are on (boxed: nothing to carry when off).
    log: Option<Box<LogState>>,
    /// The trace id of the request's `traceparent`, when exemplars are on.
    trace: Option<TraceId>,
}

impl InFlight {
    pub(crate) fn new(
        series: Arc<MethodSeries>,
        start: Instant,
        headers: &http::HeaderMap,
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
            log,
            series,
            start,
            request_bytes: RequestBytes::Unknown,
            response_bytes: 0,
            status: None,
            polling: false,
            done: false,
        }
    }

    /// A counter the request body wrapper adds streamed bytes to.
    #[cfg(feature = "axum")]
    pub(crate) fn request_counter(&mut self) -> Arc<std::sync::atomic::AtomicU64> {
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        self.request_bytes = RequestBytes::Counted(Arc::clone(&counter));
        counter
    }

    /// The request body's size is known without counting (an empty body, or one whose exact
    /// length is known up front).
    pub(crate) fn request_size_known(&mut self, bytes: u64) {
        self.request_bytes = RequestBytes::Known(bytes);
    }

    /// Records the request with `end` as how its response (or lack of one) ended.
    pub(crate) fn finish(&mut self, end: Option<ErrorType>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let outcome = match self.status {
            Some(status) => Outcome::response(status, end),
            None => Outcome::failed(end.unwrap_or(ErrorType::Cancelled)),
        };
        let request_bytes = match &self.request_bytes {
            #[cfg(feature = "axum")]
            RequestBytes::Counted(c) => Some(c.load(Ordering::Relaxed)),
            RequestBytes::Known(n) => Some(*n),
            RequestBytes::Unknown => None,
        };
        // One measurement for the histogram and the log.
        let elapsed = self.start.elapsed();
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

    /// The request's span, to enter while its future or body is polled.
    pub(crate) fn span(&self) -> Option<&tracing::Span> {
        self.log.as_ref().map(|l| &l.span)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.done {
            let why = if self.polling || std::thread::panicking() {
                ErrorType::Panic
            } else {
                ErrorType::Cancelled
            };
            self.finish(Some(why));
        }
    }
}
