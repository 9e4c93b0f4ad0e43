//! The middleware service: it starts a request's record and calls the inner service. Which of
//! several layers on one request records it is the rule in `nesting`.

use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower::Service;

use crate::layer::body::ResponseBody;
use crate::layer::future::ResponseFuture;
use crate::layer::nesting::{
    Active, Measured, Nesting, Note, measured_outside, request_key, route_key, unmatched_key,
};
use crate::layer::request_body::meter_request_body;
use crate::record::InFlight;
use crate::registry::meter_ref::MeterRef;

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
        if Active::any() && measured_outside(destination, &req) {
            // An outer layer records this request into the same recorder.
            return ResponseFuture::new(self.inner.call(req), None, Note::NONE);
        }
        let mut key = None;
        let Some(mut flight) = InFlight::start(&self.meter, self.hint, &req, &mut key) else {
            return ResponseFuture::new(self.inner.call(req), None, Note::NONE);
        };
        let mut request = Note {
            request: match key {
                Some(0) => unmatched_key(&req),
                Some(key) => key,
                None => request_key(&req),
            },
            route: 0,
        };
        if Nesting::marks(destination) {
            request.route = route_key(&req).0;
            req.extensions_mut().insert(Measured);
        }
        // A panic in the inner service's code (its `call`, or the request body's) unwinds
        // past the flight while it is marked: that is this request's panic.
        flight.poll_starts();
        if flight.counts_request_body() {
            return self.call_counting(req, flight, request);
        }
        let _active = Active::enter(destination, request);
        let inner = self.inner.call(req);
        flight.poll_ends();
        ResponseFuture::new(inner, Some(flight), request)
    }
}

impl<S> RouteMeter<S> {
    /// `call` for a request whose body's size is wanted.
    #[cold]
    fn call_counting<ReqBody, ResBody>(
        &mut self,
        req: Request<ReqBody>,
        mut flight: InFlight,
        request: Note,
    ) -> ResponseFuture<S::Future>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
        ReqBody: Body + 'static,
    {
        let req = req.map(|body| meter_request_body(body, &mut flight));
        let _active = Active::enter(self.meter.destination, request);
        let inner = self.inner.call(req);
        flight.poll_ends();
        ResponseFuture::new(inner, Some(flight), request)
    }
}
