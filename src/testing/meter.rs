//! The test meter: a private recorder, the layer settings that match it, and a load run
//! measured on its own.

use std::fmt;
use std::time::Instant;

use http::{Request, Response};
use http_body::Body;
use tower::Service;

use super::load::Load;
use super::recorder::TestRecorder;
use super::series::Series;
use super::snapshot::Snapshot;
use crate::clock::Clock;
use crate::{Naming, RouteMeterBuilder, RouteMeterLayer};

/// A private recorder plus the layer settings that match it.
///
/// Its layers time requests with tokio's clock, which is the system's clock except where a
/// test pauses time (`#[tokio::test(start_paused = true)]`, tokio's `test-util` feature).
/// There time stands still until every task waits, then jumps to the next timer, so a handler
/// that sleeps 50 ms is recorded as exactly 50 ms however loaded the machine is, and latency
/// assertions are exact rather than passing on a clock that did not see the sleep.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get, body::Body};
/// use routemeter::testing::{TestMeter, send};
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)] // or #[tokio::test(start_paused = true)]
/// async fn main() {
///     let meter = TestMeter::new();
///     let app = Router::new()
///         .route("/slow", get(|| tokio::time::sleep(Duration::from_secs(1))))
///         .layer(meter.layer());
///     for _ in 0..10 {
///         send(app.clone(), http::Request::get("/slow").body(Body::empty()).unwrap())
///             .await
///             .unwrap();
///     }
///     let slow = meter.snapshot().route("/slow");
///     assert_eq!(slow.max(), Duration::from_secs(1)); // exactly
///     slow.assert_p99_at_most(Duration::from_secs(1));
/// }
/// ```
///
/// Layers built for production (`RouteMeterLayer::new()`, `PrometheusMetrics::layer()`)
/// always use the system clock, on which paused time does not pass.
#[derive(Clone, Debug)]
pub struct TestMeter {
    recorder: TestRecorder,
    naming: Naming,
    clock: Clock,
    created: Instant,
}

impl Default for TestMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl TestMeter {
    /// A meter with the default names.
    #[must_use]
    pub fn new() -> Self {
        Self::with_naming(Naming::default())
    }

    /// A meter whose layers use `naming`.
    #[must_use]
    pub fn with_naming(naming: Naming) -> Self {
        Self {
            recorder: TestRecorder::new(),
            naming,
            clock: Clock::Tokio,
            created: Clock::Tokio.now(),
        }
    }

    /// A layer builder that records into this meter (change anything but the recorder).
    pub fn layer_builder(&self) -> RouteMeterBuilder {
        RouteMeterLayer::builder()
            .naming(self.naming.clone())
            .recorder(self.recorder.clone())
            .clock(self.clock)
    }

    /// A layer with default settings that records into this meter.
    #[must_use]
    pub fn layer(&self) -> RouteMeterLayer {
        self.layer_builder().build()
    }

    /// The recorder (to hand to other code, or to record series of your own).
    #[must_use]
    pub fn recorder(&self) -> &TestRecorder {
        &self.recorder
    }

    /// Everything recorded so far. Its window (and so its rates) is measured with the meter's
    /// clock, so it is deterministic too under paused time.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let series = self
            .recorder
            .values()
            .into_iter()
            .map(|(key, value)| Series::from_key(&key, value))
            .collect();
        Snapshot::new(self.naming.clone(), self.created, self.clock.now(), series)
    }

    /// Runs `load` through `service` and returns a snapshot of just that run (the difference
    /// between snapshots taken before and after it).
    ///
    /// # Panics
    ///
    /// If any request failed or the time limit cut the run short: a load test whose requests
    /// did not all complete measures something else than intended. Use [`Load::run`] with
    /// [`TestMeter::snapshot`] to look at failing runs.
    pub async fn drive<F, B, S, RB>(&self, load: &Load<F>, service: S) -> Snapshot
    where
        F: Fn(u64) -> Request<B>,
        S: Service<Request<B>, Response = Response<RB>> + Clone,
        S::Error: fmt::Display,
        RB: Body,
        RB::Error: fmt::Display,
    {
        let before = self.snapshot();
        let report = load.run(service).await;
        assert!(
            report.failed == 0 && !report.timed_out,
            "the load run did not complete: {report}"
        );
        &self.snapshot() - &before
    }
}
