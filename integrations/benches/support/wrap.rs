//! The least any middleware that times a request to the end of its response body must do: wrap
//! the inner service's future and the response body, and nothing else. Measured beside the
//! no-op layer, it shows what axum's `Router::layer` charges for a wrapped response body (it
//! boxes any body that is not its own and polls it through a trait object).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// Wraps services in [`Wrap`].
#[derive(Clone, Copy, Debug, Default)]
pub struct WrapLayer;

impl<S> Layer<S> for WrapLayer {
    type Service = Wrap<S>;

    fn layer(&self, inner: S) -> Wrap<S> {
        Wrap(inner)
    }
}

/// A service whose future and response body pass everything through.
#[derive(Clone, Debug)]
pub struct Wrap<S>(S);

impl<S, Req, B> Service<Req> for Wrap<S>
where
    S: Service<Req, Response = http::Response<B>>,
{
    type Response = http::Response<WrapBody<B>>;
    type Error = S::Error;
    type Future = WrapFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        WrapFuture {
            inner: self.0.call(req),
        }
    }
}

pin_project! {
    /// The wrapped future.
    pub struct WrapFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, B, E> Future for WrapFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<WrapBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project()
            .inner
            .poll(cx)
            .map(|r| r.map(|resp| resp.map(|inner| WrapBody { inner })))
    }
}

pin_project! {
    /// The wrapped body.
    pub struct WrapBody<B> {
        #[pin]
        inner: B,
    }
}

impl<B: Body> Body for WrapBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
