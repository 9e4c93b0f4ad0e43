//! Measure an app in its own integration tests: request counts, error rates and latency
//! quantiles per route, without any global state.
//!
//! A [`TestMeter`] owns an in-memory [`TestRecorder`]; the layer it builds records into that
//! recorder only, so any number of tests can run in parallel in one binary, on any runtime
//! flavour, each seeing exactly its own requests.
//!
//! The data flows one way: the recorder or the exposition parser makes [`Series`]; a
//! [`Snapshot`] holds them; [`RouteStats`] sums them up per route and asserts on the sums.
//! [`send`] and [`Load`] play the client. Assertions are strict: on a route without requests
//! they fail (except `assert_count(0)`), naming the routes that have requests.
//! Durations are timed with tokio's clock, so they are exact under tokio's paused time.
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, routing::get, body::Body};
//! use routemeter::testing::{TestMeter, send};
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
//!     send(app.clone(), req).await.unwrap(); // sends it and reads the whole body
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

mod client;
mod distribution;
mod exposition;
mod load;
mod meter;
mod recorder;
mod series;
mod snapshot;
mod stats;

pub use client::{SendError, send};
pub use distribution::Distribution;
pub use exposition::ParseError;
pub use load::{
    DEFAULT_CONCURRENCY, DEFAULT_REQUESTS, DEFAULT_TIME_LIMIT, Load, LoadError, LoadReport,
};
pub use meter::TestMeter;
pub use recorder::TestRecorder;
pub use series::{Series, SeriesValue};
pub use snapshot::Snapshot;
pub use stats::RouteStats;
