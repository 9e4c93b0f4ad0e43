//! What a load run did, as its client saw it: requests sent, completed and failed, statuses,
//! bytes read and time taken.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// What a load run did, as its client saw it.
///
/// ```
/// use axum::{Router, routing::get, body::Body, http::StatusCode};
/// use routemeter::testing::Load;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app: Router = Router::new().route("/teapot", get(|| async { StatusCode::IM_A_TEAPOT }));
/// let report = Load::new(|_| http::Request::get("/teapot").body(Body::empty()).unwrap())
///     .requests(12)
///     .concurrency(4)
///     .run(app)
///     .await;
/// assert_eq!((report.sent, report.completed, report.failed), (12, 12, 0));
/// assert_eq!(report.statuses[&418], 12);
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Requests started.
    pub sent: u64,
    /// Requests that got a response whose body was read to the end.
    pub completed: u64,
    /// Response body bytes read (of completed requests and of those cut short).
    pub response_bytes: u64,
    /// Requests that failed before or during the response (service error, connection error,
    /// body error).
    pub failed: u64,
    /// Whether the time limit cut the run short.
    pub timed_out: bool,
    /// Completed requests per response status.
    pub statuses: BTreeMap<u16, u64>,
    /// The first failure's message, if any.
    pub first_error: Option<String>,
    /// How long the run took.
    pub elapsed: Duration,
}

impl LoadReport {
    /// Completed requests per second.
    #[must_use]
    pub fn rps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.completed as f64 / secs
        } else {
            0.0
        }
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sent, {} completed, {} failed in {:.3?} ({:.1}/s), {} response bytes; statuses {:?}",
            self.sent,
            self.completed,
            self.failed,
            self.elapsed,
            self.rps(),
            self.response_bytes,
            self.statuses
        )?;
        if self.timed_out {
            f.write_str("; stopped by the time limit")?;
        }
        if let Some(e) = &self.first_error {
            write!(f, "; first error: {e}")?;
        }
        Ok(())
    }
}
