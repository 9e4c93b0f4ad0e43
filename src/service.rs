//! The middleware service, and the rule that records a request once per recorder.
//!
//! A request can pass through more than one routemeter layer: a router with its own layer
//! nested in (or merged into) an app that has one too, or a layer stacked twice. Layers that
//! record into the same recorder would count it twice, so the outermost one records it and the
//! others pass it through untouched. The outer layer marks the request ([`Measured`]) and,
//! while it calls and polls the inner service, notes its recorder on the thread ([`Active`]);
//! an inner layer passes a request through when both say so. The mark alone would also stop a
//! new request that the handler builds from a clone of this one's extensions, and the note
//! alone a new request the handler sends in-process: together they name this request. Layers
//! into different recorders (two test meters, say) each record it.

use std::cell::Cell;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower::Service;

use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use crate::meter_ref::MeterRef;
use crate::record::InFlight;
use crate::request_body::meter_request_body;

/// Middleware that records per-route request metrics for the service it wraps.
///
/// Built by [`RouteMeterLayer`](crate::RouteMeterLayer). Clones share their settings, route table
/// and metric handles. The inner service receives the request unchanged (its body type too);
/// the response body is returned wrapped in a [`ResponseBody`], which finishes the record when
/// it ends.
///
/// Request body sizes are the bytes that streamed through for axum's `Body` (the body is
/// wrapped in a counting body of the same type; bodiless requests are left alone and record 0).
/// Other body types must keep their type, so their bytes cannot be counted; their size is not
/// recorded, since a size hint is only a claim (hyper's `Incoming` reports the client's
/// `Content-Length`, whether or not those bytes ever arrive). Convert such a body to axum's
/// `Body` in front of the layer (`req.map(axum::body::Body::new)`) to have it counted.
///
/// The inner service's error type must be `'static` (as `tower::BoxError`, `Infallible` and
/// `std::io::Error` are): the layer looks into it to tell timeouts from other errors.
#[derive(Clone)]
pub struct RouteMeter<S> {
    inner: S,
    meter: MeterRef,
    /// Where the series of this service's last request is noted (see `Meter::locate`).
    hint: u32,
}

impl<S: std::fmt::Debug> std::fmt::Debug for RouteMeter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMeter")
            .field("inner", &self.inner)
            .field("meter", &*self.meter)
            .finish()
    }
}

impl<S> RouteMeter<S> {
    pub(crate) fn new(inner: S, meter: MeterRef) -> Self {
        let hint = meter.new_hint();
        Self { inner, meter, hint }
    }

    /// A reference to the inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// A mutable reference to the inner service.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RouteMeter<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: 'static,
    ReqBody: Body + 'static,
    ResBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let destination = self.meter.destination;
        if Active::has(destination) && req.extensions().get::<Measured>().is_some() {
            // An outer layer records this request into the same recorder.
            return ResponseFuture::new(self.inner.call(req), None);
        }
        let Some(mut flight) = InFlight::start(&self.meter, self.hint, &req) else {
            return ResponseFuture::new(self.inner.call(req), None);
        };
        req.extensions_mut().insert(Measured);
        // A panic in the inner service's code (its `call`, or the request body's) unwinds
        // past the flight while it is marked: that is this request's panic.
        flight.polling = true;
        if flight.counts_request_body() {
            return self.call_counting(req, flight);
        }
        let _active = Active::enter(destination);
        ResponseFuture::new(self.inner.call(req), Some(flight.called()))
    }
}

impl<S> RouteMeter<S> {
    /// `call` for a request whose body's size is wanted.
    #[cold]
    fn call_counting<ReqBody, ResBody>(
        &mut self,
        req: Request<ReqBody>,
        mut flight: InFlight,
    ) -> ResponseFuture<S::Future>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
        ReqBody: Body + 'static,
    {
        let req = req.map(|body| meter_request_body(body, &mut flight));
        let _active = Active::enter(self.meter.destination);
        ResponseFuture::new(self.inner.call(req), Some(flight.called()))
    }
}

/// The mark of a request that a routemeter layer records (see the module docs).
#[derive(Clone, Copy, Debug)]
struct Measured;

/// How many recorders deep [`Active`] tells layers apart; a layer deeper than that into yet
/// another recorder is not noted, so a layer under it into the same recorder records too
/// (counting twice, never losing a request).
const DEPTH: usize = 4;

thread_local! {
    /// The recorders of the layers whose inner service this thread is calling or polling
    /// now (0: a free place).
    static ACTIVE: Cell<[usize; DEPTH]> = const { Cell::new([0; DEPTH]) };
}

/// Notes a layer's recorder on this thread while its inner service is called or polled; the
/// note goes when this is dropped (also when that call or poll panics).
pub(crate) struct Active(Option<[usize; DEPTH]>);

impl Active {
    /// Notes `destination` (see [`Meter::destination`](crate::meter::Meter)).
    #[inline]
    pub(crate) fn enter(destination: usize) -> Self {
        ACTIVE.with(|active| {
            let before = active.get();
            if before.contains(&destination) {
                return Self(None);
            }
            let Some(free) = before.iter().position(|&d| d == 0) else {
                return Self(None);
            };
            let mut now = before;
            now[free] = destination;
            active.set(now);
            Self(Some(before))
        })
    }

    /// Whether a layer into `destination` is calling or polling its inner service on this
    /// thread now.
    #[inline]
    fn has(destination: usize) -> bool {
        ACTIVE.with(|active| active.get().contains(&destination))
    }
}

impl Drop for Active {
    #[inline]
    fn drop(&mut self) {
        if let Some(before) = self.0 {
            ACTIVE.with(|active| active.set(before));
        }
    }
}
