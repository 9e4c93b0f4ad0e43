//! A small load driver for tests: N requests, or requests for a while, at a fixed concurrency,
//! in process through a `tower::Service` or over loopback to a URL. Always bounded in count
//! and in time; no external tool.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
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

/// Why a run against a URL could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// The URL could not be parsed, or is not `http://host[:port][/path]` (no query, no
    /// fragment).
    InvalidUrl(String),
    /// The host is not a loopback address: this driver is for tests of servers on this machine.
    NotLoopback(String),
    /// The concurrency needs more file descriptors than the process may open: a connection
    /// each, and a second one each for a server in this process.
    TooManyConnections {
        /// The connections the run would open at once.
        concurrency: usize,
        /// The process's limit on open file descriptors (`ulimit -n`).
        limit: u64,
        /// Descriptors already open.
        open: u64,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(u) => write!(
                f,
                "`{u}` is not an http:// URL with a host (and no query or fragment)"
            ),
            Self::TooManyConnections {
                concurrency,
                limit,
                open,
            } => write!(
                f,
                "a concurrency of {concurrency} needs up to {} file descriptors (a connection \
                 each, and one more each for a server in this process), but the limit on open \
                 files is {limit} (`ulimit -n`) and {open} are open: lower the concurrency or \
                 raise the limit",
                concurrency.saturating_mul(2)
            ),
            Self::NotLoopback(h) => write!(
                f,
                "`{h}` is not a loopback address; the test load driver only sends to this machine"
            ),
        }
    }
}

impl std::error::Error for LoadError {}

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

/// The authority and path prefix of a loopback base URL.
fn loopback_base(base_url: &str) -> Result<(http::uri::Authority, String), LoadError> {
    let invalid = || LoadError::InvalidUrl(base_url.to_owned());
    let base: Uri = base_url.parse().map_err(|_| invalid())?;
    let (Some("http"), Some(authority)) = (base.scheme_str(), base.authority().cloned()) else {
        return Err(invalid());
    };
    if base.query().is_some() || base_url.contains('#') || authority.as_str().contains('@') {
        return Err(invalid());
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(LoadError::NotLoopback(host.to_owned()));
    }
    let prefix = base.path().trim_end_matches('/').to_owned();
    Ok((authority, prefix))
}

/// Refuses, on Linux, a run that would open more connections than the process has file
/// descriptors for: it would fail most of its requests with a vague connection error.
fn check_descriptors(connections: usize) -> Result<(), LoadError> {
    let Some((limit, open)) = descriptors() else {
        return Ok(());
    };
    // A connection each, a second each for a server in this process, and some room for
    // everything else the process opens meanwhile.
    const SPARE: u64 = 64;
    let needed = (connections as u64)
        .saturating_mul(2)
        .saturating_add(open + SPARE);
    if needed > limit {
        return Err(LoadError::TooManyConnections {
            concurrency: connections,
            limit,
            open,
        });
    }
    Ok(())
}

/// The soft limit on open file descriptors and how many are open, where `/proc` tells.
fn descriptors() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    let limit = match soft {
        "unlimited" => return None,
        n => n.parse().ok()?,
    };
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some((limit, open))
}

/// An error with its sources (hyper's client errors say little at the top).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base_urls() {
        let ok = |url: &str| loopback_base(url).map(|(a, p)| (a.to_string(), p));
        assert_eq!(
            ok("http://LOCALHOST:3000/api/"),
            Ok(("LOCALHOST:3000".into(), "/api".into()))
        );
        assert_eq!(
            ok("http://[::1]:80"),
            Ok(("[::1]:80".into(), String::new()))
        );
        assert_eq!(
            ok("http://127.0.0.2/"),
            Ok(("127.0.0.2".into(), String::new()))
        );
        for bad in [
            "http://127.0.0.1/?q=1",
            "http://127.0.0.1/#top",
            "http://user@127.0.0.1/",
            "ftp://127.0.0.1/",
            "127.0.0.1:80",
        ] {
            assert!(
                matches!(loopback_base(bad), Err(LoadError::InvalidUrl(_))),
                "{bad}"
            );
        }
        assert_eq!(
            loopback_base("http://localhost.example.com"),
            Err(LoadError::NotLoopback("localhost.example.com".into()))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any text is an error or a loopback authority with a clean prefix, never a panic.
        #[test]
        fn any_base_url_is_checked(
            url in prop_oneof![
                "\\PC{0,40}",
                "http://(localhost|LOCALHOST|127\\.0\\.0\\.1|\\[::1\\]|10\\.0\\.0\\.1|[a-z.]{0,12})(:[0-9]{0,6})?(/[a-z/?#@%]{0,12})?",
            ]
        ) {
            if let Ok((authority, prefix)) = loopback_base(&url) {
                let host = authority.host().trim_start_matches('[').trim_end_matches(']');
                prop_assert!(
                    host.eq_ignore_ascii_case("localhost")
                        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
                    "{url}"
                );
                prop_assert!(prefix.is_empty() || (prefix.starts_with('/') && !prefix.ends_with('/')));
                prop_assert!(!prefix.contains('?') && !prefix.contains('#'));
            }
        }
    }

    #[test]
    fn descriptor_limits_are_read_where_proc_has_them() {
        if cfg!(target_os = "linux") {
            let (limit, open) = descriptors().expect("/proc/self/limits on Linux");
            assert!(limit > 0 && open > 0 && open < limit);
            assert!(check_descriptors(1).is_ok());
            assert!(matches!(
                check_descriptors(usize::MAX),
                Err(LoadError::TooManyConnections { .. })
            ));
        }
    }
}
