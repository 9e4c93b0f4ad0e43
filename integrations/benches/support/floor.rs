//! A floor, not a middleware: the least a layer can do that records what routemeter records
//! for an ordinary request. It reads the clock as the request enters and as its body ends,
//! reads axum's `MatchedPath`, moves an in-flight gauge up and down and records one duration
//! observation, all through the `metrics` facade into routemeter's recorder, like the
//! measured stacks.
//!
//! What it leaves out is what makes a middleware correct for any request: its handles are
//! registered once, for the benchmark's one route, method and status (any other request is
//! passed through unrecorded), so it finds no series, reads no status, classifies no failure,
//! follows no recorder change and tells no cancellation or panic from a normal end. Measured
//! beside routemeter, it shows how much of routemeter's cost any such layer pays in axum.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use axum::extract::MatchedPath;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// The one route the floor records.
const ROUTE: &str = "/users/{id}";

/// The handles of the one series the floor records, registered on first use.
struct Handles {
    active: metrics::Gauge,
    duration: metrics::Histogram,
}

fn handles() -> &'static Handles {
    static HANDLES: OnceLock<Handles> = OnceLock::new();
    HANDLES.get_or_init(|| Handles {
        active: metrics::gauge!("floor_http_server_active_requests", "http_route" => ROUTE, "http_request_method" => "GET"),
        duration: metrics::histogram!(
            "floor_http_server_request_duration_seconds",
            "http_route" => ROUTE,
            "http_request_method" => "GET",
            "http_response_status_code" => "200"
        ),
    })
}

/// The monotonic clock in nanoseconds, read as routemeter reads it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn now() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    (t.tv_sec() as u64) * 1_000_000_000 + t.tv_nsec() as u64
}

/// Nanoseconds since the first reading (routemeter reads `Instant` so on other platforms).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn now() -> u64 {
    static BASE: OnceLock<std::time::Instant> = OnceLock::new();
    BASE.get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}

/// Wraps services in [`Floor`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FloorLayer;

impl<S> Layer<S> for FloorLayer {
    type Service = Floor<S>;

    fn layer(&self, inner: S) -> Floor<S> {
        Floor(inner)
    }
}

/// The floor's service.
#[derive(Clone, Debug)]
pub struct Floor<S>(S);

/// What a measured request carries: its handles and when it started.
#[derive(Clone, Copy)]
struct Started {
    handles: &'static Handles,
    at: u64,
}

impl Started {
    fn end(self) {
        let seconds = (now() - self.at) as f64 / 1e9;
        self.handles.duration.record(seconds);
        self.handles.active.decrement(1.0);
    }
}

impl<S, B, ResBody> Service<http::Request<B>> for Floor<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<FloorBody<ResBody>>;
    type Error = S::Error;
    type Future = FloorFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let at = now();
        let started = req
            .extensions()
            .get::<MatchedPath>()
            .filter(|p| p.as_str() == ROUTE)
            .map(|_| {
                let handles = handles();
                handles.active.increment(1.0);
                Started { handles, at }
            });
        FloorFuture {
            inner: self.0.call(req),
            started,
        }
    }
}

pin_project! {
    /// The floor's future.
    pub struct FloorFuture<F> {
        #[pin]
        inner: F,
        started: Option<Started>,
    }
}

impl<F, B, E> Future for FloorFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<FloorBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let started = *this.started;
        this.inner
            .poll(cx)
            .map(|r| r.map(|resp| resp.map(|inner| FloorBody { inner, started })))
    }
}

pin_project! {
    /// The floor's body: records when its last frame has been polled.
    pub struct FloorBody<B> {
        #[pin]
        inner: B,
        started: Option<Started>,
    }
}

impl<B: Body> Body for FloorBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let Poll::Ready(None) = polled {
            if let Some(started) = this.started.take() {
                started.end();
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
