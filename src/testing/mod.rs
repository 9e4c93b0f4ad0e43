//! Measure an app in its own integration tests: request counts, error rates and latency
//! quantiles per route, without any global state.
//!
//! A [`TestMeter`] owns an in-memory [`TestRecorder`]; the layer it builds records into that
//! recorder only, so any number of tests can run in parallel in one binary, on any runtime
//! flavour, each seeing exactly its own requests.
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, routing::get, body::Body};
//! use routemeter::testing::TestMeter;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let meter = TestMeter::new();
//! let app = Router::new()
//!     .route("/users/{id}", get(|| async { "user" }))
//!     .layer(meter.layer());
//!
//! for id in 0..20 {
//!     let req = http::Request::get(format!("/users/{id}")).body(Body::empty()).unwrap();
//!     let resp = app.clone().oneshot(req).await.unwrap();
//!     axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap(); // read it all
//! }
//!
//! meter
//!     .snapshot()
//!     .route("/users/{id}")
//!     .assert_count(20)
//!     .assert_no_errors()
//!     .assert_p99_below(Duration::from_millis(50));
//! # }
//! ```

mod distribution;
mod exposition;
mod load;
mod recorder;
mod snapshot;

use std::time::Instant;

pub use distribution::Distribution;
pub use exposition::ParseError;
pub use load::{
    DEFAULT_CONCURRENCY, DEFAULT_REQUESTS, DEFAULT_TIME_LIMIT, Load, LoadError, LoadReport,
};
pub use recorder::TestRecorder;
pub use snapshot::{RouteStats, Series, SeriesValue, Snapshot};

use crate::{Naming, RouteMeterBuilder, RouteMeterLayer};

/// A private recorder plus the layer settings that match it.
#[derive(Clone, Debug)]
pub struct TestMeter {
    recorder: TestRecorder,
    naming: Naming,
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
            created: Instant::now(),
        }
    }

    /// A layer builder that records into this meter (change anything but the recorder).
    pub fn layer_builder(&self) -> RouteMeterBuilder {
        RouteMeterLayer::builder()
            .naming(self.naming.clone())
            .recorder(self.recorder.clone())
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

    /// Everything recorded so far.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let series = self
            .recorder
            .values()
            .into_iter()
            .map(|(key, value)| Series::new(&key, value))
            .collect();
        Snapshot::new(self.naming.clone(), self.created, series)
    }
}
