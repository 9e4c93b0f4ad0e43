//! A small load driver for tests: N requests, or requests for a while, at a fixed concurrency,
//! in process through a `tower::Service` or over loopback to a URL. Always bounded in count
//! and in time; no external tool.
//!
//! What a run did is a [`LoadReport`] (`report`); where a run over HTTP may go is checked in
//! `loopback`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::Body;
use tower::{Service, ServiceExt};

use super::client::{Cut, read_response};
use loopback::{check_descriptors, error_chain, loopback_base};

mod loopback;
mod report;

pub use loopback::LoadError;
pub use report::LoadReport;

/// Requests sent when neither [`Load::requests`] nor [`Load::duration`] is set.
pub const DEFAULT_REQUESTS: u64 = 1000;

/// Concurrency when [`Load::concurrency`] is not set.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// The hard time limit when [`Load::time_limit`] is not set.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(60);

/// A load to send: a request factory and its bounds.
///
/// The factory gets the request's index (0, 1, 2, …) and returns the request. A run stops at
/// the first of: the request count, the duration, the time limit (default 60 s; a request still
/// running then is abandoned and counted as timed out). Response bodies are streamed, their
/// bytes counted and discarded, so an endless or huge body costs no memory, and the time limit
/// holds even for a body that is always ready.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get, body::Body};
/// use routemeter::testing::{Load, TestMeter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let meter = TestMeter::new();
/// let app = Router::new().route("/users/{id}", get(|| async { "user" })).layer(meter.layer());
///
/// let load = Load::new(|i| http::Request::get(format!("/users/{i}")).body(Body::empty()).unwrap())
///     .requests(200)
///     .concurrency(16);
/// let snapshot = meter.drive(&load, app).await;
/// snapshot.route("/users/{id}").assert_count(200).assert_p99_below(Duration::from_millis(50));
/// # }
/// ```
#[derive(Clone)]
pub struct Load<F> {
    make: F,
    requests: Option<u64>,
    duration: Option<Duration>,
    concurrency: usize,
    time_limit: Duration,
}

impl<F> fmt::Debug for Load<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Load")
            .field("requests", &self.requests)
            .field("duration", &self.duration)
            .field("concurrency", &self.concurrency)
            .field("time_limit", &self.time_limit)
            .finish_non_exhaustive()
    }
}

impl<F, B> Load<F>
where
    F: Fn(u64) -> Request<B>,
{
    /// A load of [`DEFAULT_REQUESTS`] requests made by `make`, [`DEFAULT_CONCURRENCY`] at a time.
    pub fn new(make: F) -> Self {
        Self {
            make,
            requests: None,
            duration: None,
            concurrency: DEFAULT_CONCURRENCY,
            time_limit: DEFAULT_TIME_LIMIT,
        }
    }

    /// Send `n` requests (and stop).
    #[must_use]
    pub fn requests(mut self, n: u64) -> Self {
        self.requests = Some(n);
        self
    }

    /// Keep sending for `duration` (and also stop after [`requests`](Self::requests), if set).
    #[must_use]
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }

    /// Keep `n` requests in flight (at least 1).
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Stop after `limit` whatever else is set; requests still running are abandoned.
    #[must_use]
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// Sends the load through `service`, in this task (so the future is not `Send`), reading
    /// every response body to its end (streamed: bytes are counted, not kept).
    pub async fn run<S, RB>(&self, service: S) -> LoadReport
    where
        S: Service<Request<B>, Response = Response<RB>> + Clone,
        S::Error: fmt::Display,
        RB: Body,
        RB::Error: fmt::Display,
    {
        self.drive(|req, deadline, bytes| {
            let service = service.clone();
            async move {
                let resp = service
                    .oneshot(req)
                    .await
                    .map_err(|e| Cut::Failed(e.to_string()))?;
                read_response(resp, deadline, &bytes).await
            }
        })
        .await
    }

    /// Sends the load over HTTP/1 to `base_url` (e.g. `http://127.0.0.1:3000`, or
    /// `http://localhost:3000/api` to put each request's path under `/api`), which must be a
    /// loopback address; each request's path and query are joined to it.
    ///
    /// # Errors
    ///
    /// [`LoadError`] if the URL is not `http://` on a loopback host, or if the concurrency
    /// needs more file descriptors than the process may open (checked on Linux). Failed
    /// requests do not make an error: they are counted in the report.
    pub async fn run_url(&self, base_url: &str) -> Result<LoadReport, LoadError>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (authority, prefix) = loopback_base(base_url)?;
        let connections = match self.requests {
            Some(n) => self
                .concurrency
                .min(usize::try_from(n).unwrap_or(usize::MAX)),
            None => self.concurrency,
        };
        check_descriptors(connections)?;
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(self.concurrency)
                .build_http::<B>();
        Ok(self
            .drive(|mut req, deadline, bytes| {
                let client = client.clone();
                let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
                let uri = Uri::builder()
                    .scheme("http")
                    .authority(authority.clone())
                    .path_and_query(format!("{prefix}{path}"))
                    .build();
                async move {
                    *req.uri_mut() = uri.map_err(|e| Cut::Failed(e.to_string()))?;
                    let resp = client
                        .request(req)
                        .await
                        .map_err(|e| Cut::Failed(error_chain(&e)))?;
                    read_response(resp, deadline, &bytes).await
                }
            })
            .await)
    }

    /// Runs `concurrency` workers in this task until a bound is reached.
    async fn drive<C, Fut>(&self, call: C) -> LoadReport
    where
        C: Fn(Request<B>, Option<Instant>, Rc<Cell<u64>>) -> Fut,
        Fut: Future<Output = Result<u16, Cut>>,
    {
        let start = Instant::now();
        // `None` for a time limit too large for an `Instant`: it never passes.
        let deadline = start.checked_add(self.time_limit);
        let requests = match (self.requests, self.duration) {
            (None, None) => Some(DEFAULT_REQUESTS),
            (n, _) => n,
        };
        let workers = match requests {
            Some(n) => self
                .concurrency
                .min(usize::try_from(n).unwrap_or(usize::MAX)),
            None => self.concurrency,
        };
        let next = Cell::new(0u64);
        // Response body bytes, counted as they are read (also of bodies cut short).
        let bytes = Rc::new(Cell::new(0u64));
        let report = RefCell::new(LoadReport::default());
        let worker = || async {
            loop {
                let i = next.get();
                if requests.is_some_and(|n| i >= n)
                    || self.duration.is_some_and(|d| start.elapsed() >= d)
                {
                    break;
                }
                let Some(left) = self.time_limit.checked_sub(start.elapsed()) else {
                    report.borrow_mut().timed_out = true;
                    break;
                };
                next.set(i + 1);
                report.borrow_mut().sent += 1;
                let request = call((self.make)(i), deadline, Rc::clone(&bytes));
                let outcome = tokio::time::timeout(left, request).await;
                let mut r = report.borrow_mut();
                match outcome {
                    Ok(Ok(status)) => {
                        r.completed += 1;
                        *r.statuses.entry(status).or_default() += 1;
                    }
                    Ok(Err(Cut::Failed(e))) => {
                        r.failed += 1;
                        r.first_error.get_or_insert(e);
                    }
                    Ok(Err(Cut::Deadline)) | Err(_) => {
                        r.timed_out = true;
                        break;
                    }
                }
            }
        };
        join_all((0..workers).map(|_| Box::pin(worker()))).await;
        let mut report = report.into_inner();
        report.elapsed = start.elapsed();
        report.response_bytes = bytes.get();
        report
    }
}

/// Polls every future until all are done, in the calling task.
async fn join_all<Fut: Future<Output = ()>>(futures: impl Iterator<Item = Pin<Box<Fut>>>) {
    let mut pending: Vec<Pin<Box<Fut>>> = futures.collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if pending.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}
