//! The request body's size: counted as it streams, without changing the body's type.
//!
//! The inner service expects the body type it was written for, so only axum's `Body` can be
//! wrapped (in another axum `Body` that counts what streams through). A bodiless request costs
//! nothing and records 0 bytes. Any other body type is left as it is and its size is not
//! recorded: its size hint (hyper's `Incoming` reports the client's `Content-Length`) is only a
//! claim, which nobody checks when the handler never reads the body.

use http_body::Body;

use crate::record::InFlight;

/// Arranges for the size of a request body to be known when the request is recorded.
pub(crate) fn meter_request_body<B: Body + 'static>(body: B, flight: &mut InFlight) -> B {
    if body.is_end_stream() {
        flight.request_body_empty();
        return body;
    }
    #[cfg(feature = "axum")]
    let body = {
        // A runtime type check in safe code: `Any` sees whether `B` is axum's `Body`.
        let mut slot = Some(body);
        if let Some(axum_body) =
            (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<axum::body::Body>>()
        {
            if let Some(inner) = axum_body.take() {
                let counter = flight.request_counter();
                *axum_body = Some(axum::body::Body::new(counting::RequestBody {
                    inner,
                    counter,
                }));
            }
        }
        match slot {
            Some(body) => body,
            // Refilled above whenever it was taken.
            None => unreachable!("the request body slot is refilled"),
        }
    };
    body
}

/// The counting wrapper for axum request bodies.
#[cfg(feature = "axum")]
mod counting {
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::task::{Context, Poll};

    use http_body::{Body, Frame, SizeHint};
    use pin_project_lite::pin_project;

    pin_project! {
        /// A request body that counts the bytes read from it.
        pub(super) struct RequestBody<B> {
            #[pin]
            pub(super) inner: B,
            pub(super) counter: Arc<AtomicU64>,
        }
    }

    /// A polled frame, as a body returns it.
    type Polled<B> = Poll<Option<Result<Frame<<B as Body>::Data>, <B as Body>::Error>>>;

    impl<B: Body> Body for RequestBody<B> {
        type Data = B::Data;
        type Error = B::Error;

        fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled<B> {
            let this = self.project();
            let counter = this.counter;
            this.inner.poll_frame(cx).map(|frame| {
                if let Some(Ok(data)) = &frame {
                    counter.fetch_add(crate::layer::body::data_len(data), Ordering::Relaxed);
                }
                frame
            })
        }

        fn is_end_stream(&self) -> bool {
            self.inner.is_end_stream()
        }

        fn size_hint(&self) -> SizeHint {
            self.inner.size_hint()
        }
    }
}
