//! How the test kit reads responses, as a client does: one request with its whole body
//! ([`send`]), and the load driver's reader that streams bodies, counts and discards their
//! bytes, and stops at a deadline.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Buf, Bytes};
use http::{Request, Response, response::Parts};
use http_body::Body;
use http_body_util::BodyExt;
use tower::{BoxError, Service, ServiceExt};

/// Why [`send`] got no complete response.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The service returned an error instead of a response.
    Service(BoxError),
    /// The response body failed while it was read.
    Body(BoxError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service(e) => write!(f, "the service failed: {e}"),
            Self::Body(e) => write!(f, "the response body failed: {e}"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Service(e) | Self::Body(e) => Some(e.as_ref()),
        }
    }
}

/// Sends `request` through `service` (pass a clone of a router) and reads the whole response
/// body: the response head and the body's bytes.
///
/// A test that reads only the status and drops the body looks, to the layer, like a client
/// that hung up before the body was sent, and is recorded as `cancelled`; this reads the body
/// as a real client does.
///
/// # Errors
///
/// [`SendError`] if the service returns an error or the body fails while it is read.
///
/// ```
/// use axum::{Router, routing::get, body::Body};
/// use routemeter::testing::{TestMeter, send};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let meter = TestMeter::new();
/// let app = Router::new().route("/users/{id}", get(|| async { "user" })).layer(meter.layer());
///
/// let req = http::Request::get("/users/7").body(Body::empty()).unwrap();
/// let (head, body) = send(app.clone(), req).await.unwrap();
/// assert_eq!((head.status, &body[..]), (http::StatusCode::OK, &b"user"[..]));
/// meter.snapshot().route("/users/{id}").assert_count(1).assert_no_errors();
/// # }
/// ```
pub async fn send<S, ReqBody, ResBody>(
    service: S,
    request: Request<ReqBody>,
) -> Result<(Parts, Bytes), SendError>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    ResBody: Body,
    ResBody::Error: Into<BoxError>,
{
    let response = service
        .oneshot(request)
        .await
        .map_err(|e| SendError::Service(e.into()))?;
    let (head, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| SendError::Body(e.into()))?
        .to_bytes();
    Ok((head, bytes))
}

/// Why the load driver's reader stopped before a body's end.
#[derive(Debug)]
pub(crate) enum Cut {
    /// The body (or the service, or the connection) failed.
    Failed(String),
    /// The deadline passed while the body was still being sent.
    Deadline,
}

/// Frames read in a row before the reader lets the other requests of its task run.
const FRAMES_BETWEEN_YIELDS: u32 = 32;

/// Reads `body` to its end, adding its data bytes to `bytes` and discarding them, and stops
/// at `deadline` even if the body is always ready (an endless or huge in-memory body never
/// makes the reader wait, so a timer alone would not interrupt it).
pub(crate) async fn drain<B>(
    body: B,
    deadline: Option<Instant>,
    bytes: &Cell<u64>,
) -> Result<(), Cut>
where
    B: Body,
    B::Error: fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let mut in_a_row = 0;
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Cut::Deadline);
        }
        match body.frame().await {
            None => return Ok(()),
            Some(Err(e)) => return Err(Cut::Failed(format!("response body: {e}"))),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    bytes.set(bytes.get().saturating_add(data.remaining() as u64));
                }
            }
        }
        in_a_row += 1;
        if in_a_row == FRAMES_BETWEEN_YIELDS {
            in_a_row = 0;
            YieldNow(false).await;
        }
    }
}

/// Returns `Pending` once (waking itself), so the other futures polled by the same task, and
/// the timers around it, get a turn.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Reads a response as the load driver does: its status, and its body added to `bytes`.
pub(crate) async fn read_response<B>(
    resp: Response<B>,
    deadline: Option<Instant>,
    bytes: &Cell<u64>,
) -> Result<u16, Cut>
where
    B: Body,
    B::Error: fmt::Display,
{
    let status = resp.status().as_u16();
    drain(resp.into_body(), deadline, bytes).await?;
    Ok(status)
}
