//! One request from start to finish: when it ends, how, and what is recorded for it.
//!
//! [`InFlight`] is created as a request enters the layer and travels with the response future and
//! then the response body. Whichever of them sees the end (the last body frame, an error, a
//! response the server never sends a body for, a body dropped after all its declared bytes were
//! sent) calls [`InFlight::finish`]; if none does, dropping it records the request as
//! `cancelled`, or as a `panic` when its own poll unwound.
//!
//! It names its series by index ([`Located`]) and keeps the layer alive through a
//! [`MeterRef`], so carrying it costs no shared counter; what only some requests need (the
//! request log's span, a gRPC call's status) sits behind one box that other requests do not
//! allocate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::StatusCode;

mod extra;
mod response;

use extra::{Extra, Flags};
use response::{declared_length, grpc_outcome};

use crate::classify::{ErrorType, Outcome, protocol_version};
use crate::clock::Stamp;
use crate::log::Finished;
use crate::registry::located::Located;
use crate::registry::meter::Recorders;
use crate::registry::meter_ref::MeterRef;
use crate::registry::recording::Recording;
use crate::registry::registrar::OutcomeHandles;
use crate::registry::series::MethodSeries;
use crate::registry::table::Table;
use crate::trace::{MaybeTraceId, TraceId};

// Every request moves its record several times; keep it within a few machine words (loom's
// `Arc`, in the loom models' builds, is larger).
#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<InFlight>() <= 80);

/// One request being measured. Recorded exactly once: by [`InFlight::finish`], or, if the
/// request never finishes, when it is dropped (as cancelled, or as a panic while unwinding).
///
/// It moves with the response future and then into the response body, which axum boxes, so
/// it is kept to 80 bytes: what only logged requests and gRPC calls need lives in [`Extra`]
/// (an allocation the others do not make).
pub(crate) struct InFlight {
    meter: MeterRef,
    start: Stamp,
    response_bytes: u64,
    /// The response body's declared length (its `Content-Length`, else its exact size hint),
    /// seen with the head; `u64::MAX` when unknown.
    declared_bytes: u64,
    /// The bytes counted as the request body streams through its wrapper (only bytes that
    /// really arrived: a `Content-Length` is a claim of the client, never checked when the
    /// handler does not read the body).
    request_counter: Option<Arc<AtomicU64>>,
    extra: Option<Box<Extra>>,
    /// The trace id of the request's `traceparent`, when exemplars are on.
    trace: MaybeTraceId,
    at: Located,
    status: Option<StatusCode>,
    version: http::Version,
    flags: Flags,
    /// Set while the request's own code runs (see [`poll_starts`](Self::poll_starts)).
    polling: bool,
    done: bool,
}

impl InFlight {
    /// Starts recording `req`, or returns `None` when it is not recorded (an excluded path or
    /// route).
    #[inline]
    pub(crate) fn start<B>(
        meter: &MeterRef,
        hint: u32,
        req: &http::Request<B>,
        key: &mut Option<usize>,
    ) -> Option<Self> {
        if meter.excludes(req) {
            return None;
        }
        // The clock starts as the request enters, before any look-up.
        let start = meter.http.recording.clock.stamp();
        let mut labels = None;
        match meter.locate(hint, req, key, &mut labels) {
            Some((at, series)) => Some(Self::started(meter, start, at, series, req)),
            None => Self::start_scoped(meter, start, req, &mut labels),
        }
    }

    /// Starts recording `req` into a thread's local recorder, in a series table of its own,
    /// when that is why it has no series; `None` otherwise.
    #[cold]
    fn start_scoped<B>(
        meter: &MeterRef,
        start: Stamp,
        req: &http::Request<B>,
        labels: &mut Option<usize>,
    ) -> Option<Self> {
        let (at, table) = meter.locate_scoped(req, labels)?;
        let mut flight = Self::started(meter, start, at, table.series(at.series)?, req);
        flight.extra.get_or_insert_with(Box::default).scoped = Some(table);
        Some(flight)
    }

    #[inline]
    fn started<B>(
        meter: &MeterRef,
        start: Stamp,
        at: Located,
        series: &MethodSeries,
        req: &http::Request<B>,
    ) -> Self {
        series.active.increment(1.0);
        let recording = &meter.recorders(at.grpc()).recording;
        let extra = Extra::start(recording, series, at.grpc(), req.headers());
        let trace = MaybeTraceId::new(if recording.exemplars {
            TraceId::from_headers(req.headers())
        } else {
            None
        });
        let mut flags = 0;
        if req.method() == http::Method::HEAD {
            flags |= Flags::HEAD_REQUEST;
        }
        if recording.counts_request_body {
            flags |= Flags::COUNTS_REQUEST_BODY;
        }
        if recording.time_to_head {
            flags |= Flags::TIME_TO_HEAD;
        }
        Self {
            meter: meter.clone(),
            start,
            response_bytes: 0,
            declared_bytes: u64::MAX,
            request_counter: None,
            extra,
            trace,
            at,
            status: None,
            version: req.version(),
            flags: Flags(flags),
            polling: false,
            done: false,
        }
    }

    /// Where the request's series is: its table in `recorders` (or its own, for a thread's
    /// local recorder) and the series in it. Recording and the time to the head both start
    /// here; the table then gives the handles of an outcome.
    #[inline]
    fn series<'a>(&'a self, recorders: &'a Recorders) -> Option<(&'a Table, &'a MethodSeries)> {
        let table = match recorders.table(self.at.table()) {
            Some(table) => table,
            None => self.scoped_table()?,
        };
        Some((table, table.series(self.at.series)?))
    }

    #[cold]
    fn scoped_table(&self) -> Option<&Table> {
        self.extra.as_ref()?.scoped.as_deref()
    }

    /// Which recorder the request is recorded into (see [`crate::layer::service`]).
    #[inline]
    pub(crate) fn destination(&self) -> usize {
        self.meter.destination
    }

    /// The request's panic rule, in one place: a request is recorded as a `panic` when it is
    /// dropped (unrecorded) while its own code runs, i.e. while that code unwinds; any other
    /// drop of an unrecorded request is `cancelled`. Its own code is the inner service's
    /// `call`, and each poll of the inner future and of the response body, with what the layer
    /// asks of their results (a body's size hint, an error's sources): the layer calls
    /// `poll_starts` before and [`poll_ends`](Self::poll_ends) after each.
    /// (`thread::panicking` cannot tell this apart: it is also true for every other request
    /// dropped while some panic unwinds the thread.)
    #[inline]
    pub(crate) fn poll_starts(&mut self) {
        self.polling = true;
    }

    /// The request's own code has returned (see [`poll_starts`](Self::poll_starts)).
    #[inline]
    pub(crate) fn poll_ends(&mut self) {
        self.polling = false;
    }

    /// Whether the request's own code is running (see [`poll_starts`](Self::poll_starts)).
    #[inline]
    pub(crate) fn is_polling(&self) -> bool {
        self.polling
    }

    /// Whether the request body's size is wanted: for the body-size histogram, or the log.
    #[inline]
    pub(crate) fn counts_request_body(&self) -> bool {
        self.flags.has(Flags::COUNTS_REQUEST_BODY)
    }

    /// A counter the request body wrapper adds streamed bytes to.
    #[cfg(feature = "axum")]
    pub(crate) fn request_counter(&mut self) -> Arc<AtomicU64> {
        let counter = Arc::new(AtomicU64::new(0));
        self.request_counter = Some(Arc::clone(&counter));
        counter
    }

    /// The request body was empty as it arrived: its size is 0 without counting.
    pub(crate) fn request_body_empty(&mut self) {
        self.flags.0 |= Flags::REQUEST_EMPTY;
    }

    /// Records that `bytes` more of the response body were sent.
    #[inline]
    pub(crate) fn sent(&mut self, bytes: u64) {
        self.response_bytes += bytes;
    }

    /// Reads the gRPC status of a trailers frame.
    pub(crate) fn trailers(&mut self, trailers: &http::HeaderMap) {
        if let Some(call) = self.extra.as_mut().and_then(|e| e.grpc.as_mut()) {
            call.trailers(trailers);
        }
    }

    /// The outcome of a request that ended with `end`, `elapsed` nanoseconds after it started.
    #[inline]
    fn outcome(&self, recording: &Recording, end: Option<ErrorType>, elapsed: u64) -> Outcome {
        let outcome = match (&self.extra, self.status) {
            (Some(extra), _) if extra.grpc.is_some() => self.grpc_outcome(end, elapsed),
            (_, Some(status)) => Outcome::response_in(status, end, recording.status_classes),
            (_, None) => Outcome::failed(end.unwrap_or(ErrorType::Cancelled)),
        };
        if recording.protocol_versions {
            outcome.with_version(Some(protocol_version(self.version)))
        } else {
            outcome
        }
    }

    /// Whether the request is recorded already.
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Records the request with `end` as how its response (or lack of one) ended.
    #[inline]
    pub(crate) fn finish(&mut self, end: Option<ErrorType>) {
        if !std::mem::replace(&mut self.done, true) {
            self.record(end);
        }
    }

    #[inline]
    fn record(&self, end: Option<ErrorType>) {
        let recorders = self.meter.recorders(self.at.grpc());
        let (registrar, recording) = (&recorders.registrar, &recorders.recording);
        // One measurement for the histogram, the log and a gRPC call's deadline.
        let elapsed = recording.clock.nanos_since(self.start);
        let outcome = self.outcome(recording, end, elapsed);
        let Some((table, series)) = self.series(recorders) else {
            return;
        };
        // Taken down however recording ends: also when the recorder panics while registering
        // the handles, so the in-flight gauge never keeps a request that is gone.
        let active = ActiveDown(&series.active);
        if let Some(h) = table.handles(registrar, series, outcome) {
            let seconds = crate::clock::seconds(elapsed);
            match self.trace.get() {
                None => h.duration.record(seconds),
                Some(id) => crate::trace::with_current(id, || h.duration.record(seconds)),
            }
            if h.more {
                self.record_more(h);
            }
        }
        drop(active);
        if series.unmatched {
            self.unmatched_answered(outcome);
        }
        if let Some(extra) = &self.extra {
            if let Some(config) = &recording.log {
                self.log_finished(extra, config, registrar, series, outcome, elapsed);
            }
        }
    }

    /// Writes the request log's event for the request, which ended with `outcome` after
    /// `elapsed` nanoseconds.
    #[cold]
    fn log_finished(
        &self,
        extra: &Extra,
        config: &crate::log::RequestLog,
        registrar: &crate::registry::registrar::Registrar,
        series: &MethodSeries,
        outcome: Outcome,
        elapsed: u64,
    ) {
        let labels = registrar.request_label_values(series.slot);
        let done = Finished {
            method: series.method,
            route: &series.route,
            labels: &labels,
            status: outcome.status.map(|s| s.as_u16()),
            grpc_status: outcome.grpc.map(crate::grpc::GrpcCode::as_str),
            error: outcome.error,
            elapsed: crate::clock::duration(elapsed),
            request_bytes: self.request_bytes(),
            response_bytes: self.response_bytes,
        };
        extra.log_finished(config, &done);
    }

    /// A request that matched no route was answered: warns when the answer says a nested
    /// or fallback service took it (see [`crate::route::warn_unmounted`]).
    #[cold]
    fn unmatched_answered(&self, outcome: Outcome) {
        #[cfg(feature = "axum")]
        if let Some(status) = outcome.status {
            let axum_answer =
                status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED;
            if !axum_answer && self.meter.default_routes() {
                crate::route::warn_unmounted(status);
            }
        }
        #[cfg(not(feature = "axum"))]
        let _ = outcome;
    }

    /// The request body's size, when it is known.
    fn request_bytes(&self) -> Option<u64> {
        match &self.request_counter {
            Some(c) => Some(c.load(Ordering::Relaxed)),
            None => self.flags.has(Flags::REQUEST_EMPTY).then_some(0),
        }
    }

    /// Records the body sizes and the request counter, for the layers that have them.
    #[cold]
    fn record_more(&self, h: &OutcomeHandles) {
        if let (Some(s), Some(bytes)) = (&h.request_size, self.request_bytes()) {
            s.record(bytes as f64);
        }
        if let Some(s) = &h.response_size {
            s.record(self.response_bytes as f64);
        }
        if let Some(t) = &h.total {
            t.increment(1);
        }
    }

    #[cold]
    fn grpc_outcome(&self, end: Option<ErrorType>, elapsed: u64) -> Outcome {
        match self.extra.as_ref().and_then(|e| e.grpc.as_ref()) {
            Some(call) => grpc_outcome(call, end, crate::clock::duration(elapsed)),
            None => Outcome::failed(end.unwrap_or(ErrorType::Cancelled)),
        }
    }

    /// Whether HTTP sends no body for this response (RFC 9110: a response to `HEAD`, or a
    /// 1xx, 204 or 304 status), so a server drops it unread.
    pub(crate) fn sends_no_body(&self) -> bool {
        self.flags.has(Flags::HEAD_REQUEST | Flags::NOT_FINAL)
            || self.status.is_some_and(|s| {
                s.is_informational() || s == StatusCode::NO_CONTENT || s == StatusCode::NOT_MODIFIED
            })
    }

    /// Records the response head of `response`: its status, its declared body length and, when
    /// the layer measures it, the time until the head was ready.
    pub(crate) fn head<B: http_body::Body>(&mut self, response: &http::Response<B>) {
        let mut status = response.status();
        if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
            // Not a final response: the server sends its client a 500 instead, and that is
            // what is recorded.
            self.flags.0 |= Flags::NOT_FINAL;
            status = StatusCode::INTERNAL_SERVER_ERROR;
        }
        self.status = Some(status);
        if let Some(call) = self.extra.as_mut().and_then(|e| e.grpc.as_mut()) {
            call.head(status, response.headers());
        }
        self.declared_bytes = declared_length(response).unwrap_or(u64::MAX);
        if self.flags.has(Flags::TIME_TO_HEAD) {
            self.record_time_to_head(status);
        }
    }

    #[cold]
    fn record_time_to_head(&self, status: StatusCode) {
        let recorders = self.meter.recorders(self.at.grpc());
        let (registrar, recording) = (&recorders.registrar, &recorders.recording);
        let version = recording
            .protocol_versions
            .then(|| protocol_version(self.version));
        let outcome =
            Outcome::response_in(status, None, recording.status_classes).with_version(version);
        let elapsed = recording.clock.nanos_since(self.start);
        if let Some(t) = self
            .series(recorders)
            .and_then(|(table, series)| table.handles(registrar, series, outcome))
            .and_then(|h| h.time_to_head.as_ref())
        {
            t.record(crate::clock::seconds(elapsed));
        }
    }

    /// Whether every byte the response declared (by `Content-Length` or an exact size hint)
    /// has been sent. A server stops polling such a body once it has written that many bytes
    /// and drops it without asking for its end: that is a normal end.
    pub(crate) fn sent_declared_length(&self) -> bool {
        self.declared_bytes != u64::MAX && self.response_bytes >= self.declared_bytes
    }

    /// The request's span, to enter while its future or body is polled.
    #[inline]
    pub(crate) fn span(&self) -> Option<&tracing::Span> {
        self.extra.as_ref()?.log.as_ref().map(|l| &l.span)
    }
}

/// Takes the in-flight gauge down when dropped.
struct ActiveDown<'a>(&'a metrics::Gauge);

impl Drop for ActiveDown<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.done {
            // The panic rule (see `poll_starts`).
            let why = if self.polling {
                ErrorType::Panic
            } else {
                ErrorType::Cancelled
            };
            self.finish(Some(why));
        }
    }
}
