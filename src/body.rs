//! Body wrappers: count the bytes that stream through, and finish the record when the response
//! body ends, fails or is dropped.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::classify::ErrorType;
use crate::series::InFlight;

pin_project! {
    /// The request body the inner service receives: the original body, counting the bytes that
    /// are read from it for the request-size histogram.
    ///
    /// Requests whose body is empty from the start are not counted (there is nothing to count),
    /// which keeps the common bodiless `GET` free of any per-request allocation.
    pub struct RequestBody<B> {
        #[pin]
        inner: B,
        counter: Option<Arc<AtomicU64>>,
    }
}

impl<B> RequestBody<B> {
    pub(crate) fn new(inner: B, counter: Option<Arc<AtomicU64>>) -> Self {
        Self { inner, counter }
    }

    /// The wrapped body.
    pub fn into_inner(self) -> B {
        self.inner
    }

    /// A reference to the wrapped body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for RequestBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for RequestBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let (Poll::Ready(Some(Ok(frame))), Some(counter)) = (&polled, this.counter) {
            if let Some(data) = frame.data_ref() {
                counter.fetch_add(data.remaining() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The response body the layer returns: the inner service's body, measured.
    ///
    /// The request is recorded when this body ends (its last frame, a trailers frame, or an
    /// error), or when it is dropped: dropped after the last byte counts as success, dropped
    /// earlier as `cancelled`. Until then the request counts as in flight.
    pub struct ResponseBody<B>
    where
        B: Body,
    {
        #[pin]
        inner: B,
        flight: Option<InFlight>,
    }

    impl<B> PinnedDrop for ResponseBody<B>
    where
        B: Body,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(flight) = this.flight {
                // hyper stops polling once `is_end_stream` says so, and may never poll for the
                // final `None`: a body that is complete when dropped was fully sent.
                if this.inner.is_end_stream() {
                    flight.finish(None);
                }
                // Otherwise the `InFlight` records the request as cancelled as it drops.
            }
        }
    }
}

impl<B: Body> ResponseBody<B> {
    pub(crate) fn new(inner: B, flight: Option<InFlight>) -> Self {
        Self { inner, flight }
    }
}

impl<B: Body + std::fmt::Debug> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("inner", &self.inner)
            .field("measured", &self.flight.is_some())
            .finish()
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let Some(flight) = this.flight.as_mut() else {
            return this.inner.poll_frame(cx);
        };
        flight.polling = true;
        let polled = this.inner.as_mut().poll_frame(cx);
        flight.polling = false;
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    flight.response_bytes += data.remaining() as u64;
                }
                if this.inner.is_end_stream() {
                    flight.finish(None);
                }
            }
            Poll::Ready(Some(Err(_))) => flight.finish(Some(ErrorType::Body)),
            Poll::Ready(None) => flight.finish(None),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
