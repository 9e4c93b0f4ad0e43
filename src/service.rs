//! The middleware service.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower::Service;

use crate::body::{RequestBody, ResponseBody};
use crate::future::ResponseFuture;
use crate::series::Meter;

/// Middleware that records per-route request metrics for the service it wraps.
///
/// Built by [`RouteMeterLayer`](crate::RouteMeterLayer). Clones share their settings, route table
/// and metric handles. The inner service receives the request with its body wrapped in a
/// [`RequestBody`] (which counts the bytes read) and its response body is returned wrapped in a
/// [`ResponseBody`] (which finishes the record when it ends).
#[derive(Clone, Debug)]
pub struct RouteMeter<S> {
    inner: S,
    meter: Arc<Meter>,
}

impl<S> RouteMeter<S> {
    pub(crate) fn new(inner: S, meter: Arc<Meter>) -> Self {
        Self { inner, meter }
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
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body,
    ResBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let mut flight = self.meter.start(&req);
        let counter = match &mut flight {
            Some(flight) if !req.body().is_end_stream() => Some(flight.request_counter()),
            _ => None,
        };
        let req = req.map(|body| RequestBody::new(body, counter));
        ResponseFuture::new(self.inner.call(req), flight)
    }
}
