//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod prom;

use axum::body::Body;
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use tower::Service;

/// Sends one `method` request for `path` with `body` through `svc`, with the test kit's
/// [`routemeter::testing::send`], and returns the status and the whole response body.
pub async fn send<S, B, RB>(svc: &S, method: &str, path: &str, body: B) -> (u16, Vec<u8>)
where
    S: Service<Request<Body>, Response = Response<RB>> + Clone,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Into<Body>,
    RB: http_body::Body,
    RB::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .body(body.into())
        .unwrap();
    let (head, bytes) = routemeter::testing::send(svc.clone(), req).await.unwrap();
    (head.status.as_u16(), bytes.to_vec())
}

/// An empty `GET`; returns the status.
pub async fn get<S, RB>(svc: &S, path: &str) -> u16
where
    S: Service<Request<Body>, Response = Response<RB>> + Clone,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    RB: http_body::Body,
    RB::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    send(svc, "GET", path, Body::empty()).await.0
}

/// A plain HTTP client over loopback sockets: HTTP/1.1, or h2c with prior knowledge. Clones
/// share its connections.
#[derive(Clone)]
pub struct Client {
    inner: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<bytes::Bytes>,
    >,
}

impl Client {
    pub fn new() -> Self {
        let inner =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        Self { inner }
    }

    /// A client that speaks HTTP/2 without TLS (h2c, with prior knowledge).
    pub fn h2() -> Self {
        let inner =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .http2_only(true)
                .build_http();
        Self { inner }
    }

    /// Sends a request and returns the status and the body as text.
    pub async fn request(&self, method: &str, url: &str, body: &str) -> (u16, String) {
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(url)
            .body(http_body_util::Full::new(bytes::Bytes::from(
                body.to_owned(),
            )))
            .unwrap();
        let resp = self.inner.request(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    pub async fn get(&self, url: &str) -> (u16, String) {
        self.request("GET", url, "").await
    }

    /// Sends `req`; returns the status and the `x-request-id` response header.
    pub async fn send(
        &self,
        req: http::Request<http_body_util::Full<bytes::Bytes>>,
    ) -> (u16, Option<String>) {
        let resp = self.inner.request(req).await.unwrap();
        let id = resp
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let status = resp.status().as_u16();
        resp.into_body().collect().await.unwrap();
        (status, id)
    }

    /// A `GET` whose connection may fail (a server that is still starting).
    pub async fn try_get(&self, url: &str) -> Option<u16> {
        let req = Request::get(url)
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let resp = self.inner.request(req).await.ok()?;
        Some(resp.status().as_u16())
    }
}

/// The path of an external program, or `None` when it is not installed. Under `CI=true` a
/// missing program is a failure; elsewhere the caller skips, and the skip is written to
/// `routemeter-skipped.txt` in cargo's temporary folder for tests, which `scripts/test.sh`
/// counts in a closing line.
pub fn require_program(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([std::path::PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("`{name}` is not installed; CI must install it (see scripts/test.sh)");
        }
        eprintln!("SKIPPED: `{name}` is not installed; run scripts/test.sh to install it");
        let test = std::thread::current().name().unwrap_or("a test").to_owned();
        let record =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("routemeter-skipped.txt");
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(record)
        {
            use std::io::Write as _;
            let _ = writeln!(file, "{test} {name}");
        }
    }
    found
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("routemeter-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (and waited for) on drop.
pub struct Process(pub std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Percent-encodes a query-string value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A body that sends one chunk and then panics when asked whether it has ended, or, with
/// `in_size_hint`, panics as soon as its size is asked for.
pub struct Panicky {
    sent: bool,
    in_size_hint: bool,
}

/// A `GET` route answering with a [`Panicky`] body.
pub fn panicky_route(in_size_hint: bool) -> axum::routing::MethodRouter {
    axum::routing::get(move || async move { Body::new(Panicky::new(in_size_hint)) })
}

impl Panicky {
    /// A body that panics in `size_hint` when `in_size_hint`, else in `is_end_stream` once its
    /// chunk is sent.
    pub fn new(in_size_hint: bool) -> Self {
        Self {
            sent: false,
            in_size_hint,
        }
    }
}

impl http_body::Body for Panicky {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::convert::Infallible>>>
    {
        if self.sent {
            return std::task::Poll::Ready(None);
        }
        self.sent = true;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from_static(
            b"x",
        )))))
    }

    fn is_end_stream(&self) -> bool {
        assert!(!self.sent, "is_end_stream panicked");
        false
    }

    fn size_hint(&self) -> http_body::SizeHint {
        assert!(!self.in_size_hint, "size_hint panicked");
        http_body::SizeHint::default()
    }
}

/// A Prometheus recorder of the test's own, without process and runtime metrics (their series
/// would only add noise to what a test counts).
pub fn metrics() -> routemeter::prometheus::PrometheusMetrics {
    metrics_named(routemeter::Naming::default())
}

/// [`metrics`] with the names of `naming`.
pub fn metrics_named(naming: routemeter::Naming) -> routemeter::prometheus::PrometheusMetrics {
    routemeter::prometheus::PrometheusBuilder::new()
        .naming(naming)
        .process_metrics(false)
        .runtime_metrics(false)
        .build()
        .unwrap()
}

/// The `le` label's value of an exposition line, if it has one.
pub fn le_of(line: &str) -> Option<String> {
    line.split("le=\"")
        .nth(1)?
        .split('"')
        .next()
        .map(str::to_owned)
}

/// A log writer whose output the test reads back: give it to a `tracing_subscriber` as its
/// writer, then read [`text`](Self::text).
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;

    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

/// The three `describe_*` methods of a `metrics::Recorder` that ignores descriptions, for the
/// test recorders written in the tests.
#[macro_export]
macro_rules! ignore_descriptions {
    () => {
        fn describe_counter(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
    };
}

/// A request's tenant: its `x-tenant` header, when it is text (the request label the tests
/// give their layers).
pub fn tenant<'a>(req: &routemeter::RouteRequest<'a>) -> Option<&'a str> {
    req.headers().get("x-tenant")?.to_str().ok()
}

/// Serves `app` with `axum::serve` on a free loopback port, from now on: its address and the
/// server's task.
pub fn serve_on_loopback(
    app: axum::Router,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    (
        addr,
        tokio::spawn(async move { axum::serve(listener, app).await }),
    )
}
