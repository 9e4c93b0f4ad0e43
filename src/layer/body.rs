//! The response body the layer returns: counts the bytes that stream through, and finishes the
//! record when the body ends, fails or is dropped.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::classify::ErrorType;
use crate::record::InFlight;

/// The bytes of body data a frame carries (0 for trailers).
pub(crate) fn data_len<D: Buf>(frame: &Frame<D>) -> u64 {
    frame.data_ref().map_or(0, |d| d.remaining() as u64)
}

pin_project! {
    /// The response body the layer returns: the inner service's body, measured.
    ///
    /// The request is recorded when this body ends (its last frame, a trailers frame, or an
    /// error), or when it is dropped: dropped after the last byte (or after as many bytes as
    /// the response's `Content-Length` declared) counts as success, dropped earlier as
    /// `cancelled`. Until then the request counts as in flight.
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
            // A flight still marked as polling is unwinding from a panic in the inner body:
            // asking the body anything more could panic again, and its record says `panic`.
            if let Some(flight) = this.flight.as_mut().filter(|f| !f.is_done() && !f.is_polling()) {
                // hyper stops polling once `is_end_stream` says so, or once it has written the
                // `Content-Length` it announced, and then drops the body without polling for
                // the final `None`: a body that is complete, or has sent every declared byte,
                // was fully sent. Responses that carry no body on the wire (to `HEAD`, and 1xx,
                // 204 and 304) are dropped unread by servers: that is their normal end too.
                if this.inner.is_end_stream()
                    || flight.sent_declared_length()
                    || flight.sends_no_body()
                {
                    flight.finish(None);
                }
                // Otherwise the `InFlight` records the request as cancelled as it drops.
            }
        }
    }
}

/// A frame polled from the inner body of `ResponseBody`, and the request's end if it was the
/// last.
type Polled<B> = Poll<Option<Result<Frame<<B as Body>::Data>, <B as Body>::Error>>>;

/// Records what `polled`, just returned by `inner`, means for `flight`.
#[inline]
fn after_frame<B: Body>(flight: &mut InFlight, polled: &Polled<B>, inner: &B) {
    match polled {
        Poll::Ready(Some(Ok(frame))) => {
            flight.sent(data_len(frame));
            if let Some(trailers) = frame.trailers_ref() {
                flight.trailers(trailers);
            }
            if inner.is_end_stream() {
                flight.finish(None);
            }
        }
        Poll::Ready(Some(Err(_))) => flight.finish(Some(ErrorType::Body)),
        Poll::Ready(None) => flight.finish(None),
        Poll::Pending => {}
    }
}

/// `poll_frame` inside the request's span (when request logs are on).
#[cold]
fn poll_in_span<B: Body>(
    mut inner: Pin<&mut B>,
    flight: &mut InFlight,
    cx: &mut Context<'_>,
) -> Polled<B> {
    flight.poll_starts();
    let polled = {
        let _entered = flight.span().map(|s| s.enter());
        inner.as_mut().poll_frame(cx)
    };
    after_frame(flight, &polled, &*inner);
    flight.poll_ends();
    polled
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

    // Small, so that it inlines into axum's boxed body and the frame is returned in place;
    // what a frame means for the record is worked out in `after_frame`.
    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let Some(flight) = this.flight.as_mut() else {
            return this.inner.poll_frame(cx);
        };
        if flight.span().is_some() {
            return poll_in_span(this.inner, flight, cx);
        }
        flight.poll_starts();
        let polled = this.inner.as_mut().poll_frame(cx);
        // After `after_frame`, which asks the inner body whether it has ended: a panic there
        // is the body's too.
        after_frame(flight, &polled, &*this.inner);
        flight.poll_ends();
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
