//! The response future: sees the response head (or the inner error, or a panic) and hands the
//! record over to the response body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use crate::layer::body::ResponseBody;
use crate::record::InFlight;

pin_project! {
    /// The future returned by [`RouteMeter`](crate::RouteMeter).
    ///
    /// Dropping it before it completes records the request as `cancelled`; a panic of the inner
    /// service while this future polls it records it as `panic`; an inner error as `timeout`
    /// when it is a timeout (see [`ErrorType::Timeout`](crate::ErrorType::Timeout)), else as
    /// `_OTHER`. Either way the in-flight gauge goes back down.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        flight: Option<InFlight>,
        // The request, as the layers tell it apart (see `crate::layer::service`).
        request: crate::layer::nesting::Note,
    }
}

impl<F> ResponseFuture<F> {
    #[inline]
    pub(crate) fn new(
        inner: F,
        flight: Option<InFlight>,
        request: crate::layer::nesting::Note,
    ) -> Self {
        Self {
            inner,
            flight,
            request,
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("measured", &self.flight.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
    E: 'static,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(flight) = this.flight.as_mut() {
            flight.poll_starts();
        }
        let polled = {
            let _active = this
                .flight
                .as_ref()
                .map(|f| crate::layer::nesting::Active::enter(f.destination(), *this.request));
            let _entered = this
                .flight
                .as_ref()
                .and_then(InFlight::span)
                .map(|s| s.enter());
            this.inner.poll(cx)
        };
        let Poll::Ready(result) = polled else {
            if let Some(flight) = this.flight.as_mut() {
                flight.poll_ends();
            }
            return Poll::Pending;
        };
        // Still marked as polling while the service's code runs: the body's size hint and the
        // error's sources can panic too, and that is this request's panic.
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(flight) = this.flight.as_mut() {
                    flight.head(&response);
                    flight.poll_ends();
                }
                // Moved once, straight into the body.
                Ok(response.map(|body| ResponseBody::new(body, this.flight.take())))
            }
            Err(error) => {
                if let Some(mut flight) = this.flight.take() {
                    flight.finish(Some(crate::classify::service_error_type(&error)));
                }
                Err(error)
            }
        })
    }
}
