//! Behind a real server: the layer inside `axum::serve` on a loopback socket, driven by real
//! clients (hyper's client over HTTP/1.1 and h2c with prior knowledge, curl, a WebSocket
//! client, raw sockets), one table row per kind of response.
//!
//! A real server does not read every body to its end the way an in-process client does: hyper
//! stops at `Content-Length`, drops bodies of `HEAD`/204/304 unread, and clients go away
//! mid-stream. Each row states what must be recorded: route label, status, `error_type`, count
//! and a lower bound on the duration. The same rows then run in process through the test kit,
//! where the labels must agree wherever the in-process client reads every body.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::error_handling::HandleErrorLayer;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::{TempDir, require_program};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use routemeter::testing::{SeriesValue, Snapshot, TestMeter};
use routemeter::{Naming, NamingScheme, UNMATCHED_ROUTE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::{ServiceBuilder, ServiceExt};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

/// How long any wait for a record may take before the test fails (never reached when it passes).
const PATIENCE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// The application under test.

/// `n` chunks of `size` bytes, the first at once and then one every `gap`.
fn chunks(n: usize, size: usize, gap: Duration) -> Body {
    Body::from_stream(futures_util::stream::unfold(0, move |i| async move {
        if i == n {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(gap).await;
        }
        Some((Ok::<_, Infallible>(Bytes::from(vec![b'x'; size])), i + 1))
    }))
}

/// One chunk, then nothing, ever.
fn stalls() -> Body {
    Body::from_stream(futures_util::stream::unfold(0, |i| async move {
        if i > 0 {
            std::future::pending::<()>().await;
        }
        Some((Ok::<_, Infallible>(Bytes::from_static(b"first")), i + 1))
    }))
}

/// 4 KiB of text, which compresses well.
fn big_text() -> String {
    "routemeter measures requests. ".repeat(4096 / 30 + 1)[..4096].to_owned()
}

async fn cached(headers: HeaderMap) -> Response {
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v == "\"v1\"")
    {
        // A handler that answers 304 with a body anyway: HTTP sends none.
        (StatusCode::NOT_MODIFIED, "stale body").into_response()
    } else {
        ([(header::ETAG, "\"v1\"")], "fresh body").into_response()
    }
}

async fn sse_finite() -> impl IntoResponse {
    let events = futures_util::stream::unfold(0, |i| async move {
        if i == 3 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
        Some((
            Ok::<_, Infallible>(Event::default().data(format!("tick {i}"))),
            i + 1,
        ))
    });
    Sse::new(events)
}

async fn sse_forever() -> impl IntoResponse {
    let events = futures_util::stream::unfold(0, |i| async move {
        if i > 0 {
            std::future::pending::<()>().await;
        }
        Some((Ok::<_, Infallible>(Event::default().data("hello")), i + 1))
    });
    Sse::new(events)
}

async fn ws_echo(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(message)) = socket.recv().await {
            if socket.send(message).await.is_err() {
                break;
            }
        }
    })
}

/// Reads one frame of the request body and answers without the rest.
async fn partial(body: Body) -> &'static str {
    let mut body = body;
    let _ = body.frame().await;
    "read one frame"
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(60)).await;
    "late"
}

/// Files the static rows serve: `static/` is mounted with `nest_service`, `public/` is the
/// fallback service.
fn fixture() -> TempDir {
    let dir = TempDir::new("real-server");
    let root = &dir.0;
    std::fs::create_dir_all(root.join("static/css")).unwrap();
    std::fs::create_dir_all(root.join("public")).unwrap();
    std::fs::write(root.join("static/index.html"), "<h1>index</h1>\n").unwrap();
    std::fs::write(root.join("static/css/site.css"), "body { margin: 0 }\n").unwrap();
    std::fs::write(root.join("public/robots.txt"), "User-agent: *\n").unwrap();
    std::fs::write(root.join("upload.bin"), vec![b'u'; 1000]).unwrap();
    dir
}

/// The app of every row: routemeter added with `Router::layer`, as the README shows, with
/// `nest_service("/static", …)` declared as a mount and the time-to-head histogram on.
fn app(meter: &TestMeter, dir: &Path) -> Router {
    let layer = meter
        .layer_builder()
        .mount("/static")
        .unwrap()
        .time_to_head(true)
        .body_sizes(true)
        .build();
    let api = Router::new()
        .route("/items", get(|| async { "items" }))
        .fallback(|| async { (StatusCode::IM_A_TEAPOT, "no such api") });
    let main = Router::new()
        .route("/text", get(|| async { "hello, world" }))
        .route("/empty", get(|| async {}))
        .route("/no-content", get(|| async { StatusCode::NO_CONTENT }))
        .route("/cached", get(cached))
        .route(
            "/chunked",
            get(|| async { chunks(3, 9, Duration::from_millis(20)) }),
        )
        .route(
            "/download",
            get(|| async {
                (
                    [(header::CONTENT_LENGTH, "18")],
                    chunks(2, 9, Duration::from_millis(20)),
                )
            }),
        )
        // Compression inside routemeter: the layer sees (and counts) the compressed body.
        .route(
            "/gzip-inside",
            get(|| async { big_text() }).layer(CompressionLayer::new()),
        )
        .route("/sse", get(sse_finite))
        .route("/sse-forever", get(sse_forever))
        .route("/ws", get(ws_echo))
        .route("/slow", get(slow))
        .route("/stall", get(|| async { stalls() }))
        .route(
            "/stall-download",
            get(|| async { ([(header::CONTENT_LENGTH, "1000")], stalls()) }),
        )
        .route("/partial", post(partial))
        .route("/echo", post(|body: Bytes| async move { body }))
        // tower-http's timeout inside routemeter: a 408 response, as any other 4xx.
        .route(
            "/timeout-408",
            get(slow).layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_millis(30),
            )),
        )
        .nest("/api", api)
        .nest_service("/static", ServeDir::new(dir.join("static")))
        .fallback_service(ServeDir::new(dir.join("public")))
        .layer(layer.clone());
    // Compression outside routemeter: the layer sees the uncompressed body.
    let gzip_outside = Router::new()
        .route("/gzip-outside", get(|| async { big_text() }))
        .layer(layer.clone())
        .layer(CompressionLayer::new());
    // tower's timeout inside routemeter: the layer sees the `Elapsed` error.
    let timeout_inside = Router::new().route("/timeout-inside", get(slow)).layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                StatusCode::SERVICE_UNAVAILABLE
            }))
            .layer(layer.clone())
            .layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(30))),
    );
    // A timeout outside routemeter drops the request it measures.
    let timeout_outside = Router::new()
        .route("/timeout-outside", get(slow))
        .layer(layer)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(30),
        ));
    main.merge(gzip_outside)
        .merge(timeout_inside)
        .merge(timeout_outside)
}

// ---------------------------------------------------------------------------------------------
// The matrix.

/// How a row's client behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// hyper's client: sends the request and reads the whole response.
    Hyper,
    /// The `curl` program: sends the request and reads the whole response.
    Curl,
    /// hyper's client, closing the connection once the request is in flight, before any head.
    AbortBeforeHead,
    /// hyper's client, closing the connection after the head and the first body frame.
    AbortMidBody,
    /// A WebSocket client (HTTP/1.1 only: the upgrade is an HTTP/1.1 mechanism).
    WebSocket,
}

/// One case: what the client does, and what must be recorded for it.
#[derive(Clone, Copy, Debug)]
struct Row {
    name: &'static str,
    via: Via,
    method: &'static str,
    path: &'static str,
    /// Request headers; the value `$ETAG` is replaced with the ETag ServeDir gives the file.
    headers: &'static [(&'static str, &'static str)],
    /// Request body bytes (0: none).
    body: usize,
    /// How many times the request is sent.
    times: u64,
    /// The status the client sees (0: not checked).
    seen: u16,
    // What is recorded:
    route: &'static str,
    /// The status label, `"none"` when there was no response head.
    status: &'static str,
    error: Option<&'static str>,
    /// Every recorded duration is at least this long.
    at_least: Duration,
    /// Response body bytes recorded per request, when fixed.
    bytes: Option<u64>,
}

const ROW: Row = Row {
    name: "",
    via: Via::Hyper,
    method: "GET",
    path: "/",
    headers: &[],
    body: 0,
    times: 1,
    seen: 0,
    route: "",
    status: "200",
    error: None,
    at_least: Duration::ZERO,
    bytes: None,
};

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const GZIP: &[(&str, &str)] = &[("accept-encoding", "gzip")];

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // Plain responses.
    Row { name: "full body", path: "/text", seen: 200, route: "/text", bytes: Some(12), ..ROW },
    Row { name: "full body (curl)", via: Via::Curl, path: "/text", times: 2, seen: 200, route: "/text", bytes: Some(12), ..ROW },
    Row { name: "empty body", path: "/empty", seen: 200, route: "/empty", bytes: Some(0), ..ROW },
    Row { name: "204", path: "/no-content", seen: 204, route: "/no-content", status: "204", bytes: Some(0), ..ROW },
    Row { name: "304 from a handler", path: "/cached", headers: &[("if-none-match", "\"v1\"")], seen: 304, route: "/cached", status: "304", ..ROW },
    Row { name: "HEAD", method: "HEAD", path: "/text", seen: 200, route: "/text", ..ROW },
    Row { name: "HEAD (curl)", via: Via::Curl, method: "HEAD", path: "/text", seen: 200, route: "/text", ..ROW },
    // Streams.
    Row { name: "chunked stream", path: "/chunked", seen: 200, route: "/chunked", at_least: ms(40), bytes: Some(27), ..ROW },
    Row { name: "stream with Content-Length", path: "/download", seen: 200, route: "/download", at_least: ms(20), bytes: Some(18), ..ROW },
    Row { name: "stream with Content-Length (curl)", via: Via::Curl, path: "/download", times: 3, seen: 200, route: "/download", at_least: ms(20), bytes: Some(18), ..ROW },
    // Static files mounted with `nest_service`.
    Row { name: "ServeDir file", path: "/static/index.html", seen: 200, route: "/static/{*path}", bytes: Some(15), ..ROW },
    Row { name: "ServeDir file (curl)", via: Via::Curl, path: "/static/css/site.css", times: 2, seen: 200, route: "/static/{*path}", bytes: Some(19), ..ROW },
    Row { name: "ServeDir mount point", path: "/static", seen: 200, route: "/static/{*path}", bytes: Some(15), ..ROW },
    Row { name: "ServeDir missing file", path: "/static/missing.txt", seen: 404, route: "/static/{*path}", status: "404", ..ROW },
    Row { name: "ServeDir Range", path: "/static/index.html", headers: &[("range", "bytes=0-4")], seen: 206, route: "/static/{*path}", status: "206", bytes: Some(5), ..ROW },
    Row { name: "ServeDir If-None-Match", path: "/static/index.html", headers: &[("if-none-match", "$ETAG")], seen: 304, route: "/static/{*path}", status: "304", ..ROW },
    // Compression on either side of routemeter.
    Row { name: "gzip inside routemeter", path: "/gzip-inside", headers: GZIP, seen: 200, route: "/gzip-inside", ..ROW },
    Row { name: "gzip outside routemeter", path: "/gzip-outside", headers: GZIP, seen: 200, route: "/gzip-outside", bytes: Some(4096), ..ROW },
    Row { name: "gzip outside routemeter (curl)", via: Via::Curl, path: "/gzip-outside", headers: GZIP, seen: 200, route: "/gzip-outside", bytes: Some(4096), ..ROW },
    // Server-sent events and WebSockets.
    Row { name: "SSE the server ends", path: "/sse", seen: 200, route: "/sse", at_least: ms(45), ..ROW },
    Row { name: "SSE the client abandons", via: Via::AbortMidBody, path: "/sse-forever", route: "/sse-forever", error: Some("cancelled"), ..ROW },
    Row { name: "WebSocket upgrade", via: Via::WebSocket, path: "/ws", seen: 101, route: "/ws", status: "101", bytes: Some(0), ..ROW },
    // Clients that go away.
    Row { name: "abort before the head", via: Via::AbortBeforeHead, path: "/slow", route: "/slow", status: "none", error: Some("cancelled"), ..ROW },
    Row { name: "abort mid-body", via: Via::AbortMidBody, path: "/stall", route: "/stall", error: Some("cancelled"), bytes: Some(5), ..ROW },
    Row { name: "abort mid-download (Content-Length)", via: Via::AbortMidBody, path: "/stall-download", route: "/stall-download", error: Some("cancelled"), bytes: Some(5), ..ROW },
    // Request bodies.
    Row { name: "request body read partly", method: "POST", path: "/partial", body: 4096, seen: 200, route: "/partial", ..ROW },
    Row { name: "Expect: 100-continue (curl)", via: Via::Curl, method: "POST", path: "/echo", headers: &[("expect", "100-continue")], body: 1000, seen: 200, route: "/echo", bytes: Some(1000), ..ROW },
    // Routing.
    Row { name: "fallback service (a file)", path: "/robots.txt", seen: 200, route: UNMATCHED_ROUTE, ..ROW },
    Row { name: "fallback service (404)", path: "/nope", seen: 404, route: UNMATCHED_ROUTE, status: "404", ..ROW },
    Row { name: "nested route", path: "/api/items", seen: 200, route: "/api/items", ..ROW },
    Row { name: "fallback of a nested router", path: "/api/nope", seen: 418, route: UNMATCHED_ROUTE, status: "418", ..ROW },
    Row { name: "405", method: "POST", path: "/text", seen: 405, route: "/text", status: "405", ..ROW },
    // Timeouts.
    Row { name: "tower timeout inside routemeter", path: "/timeout-inside", seen: 503, route: "/timeout-inside", status: "none", error: Some("timeout"), at_least: ms(30), ..ROW },
    Row { name: "timeout outside routemeter", path: "/timeout-outside", seen: 408, route: "/timeout-outside", status: "none", error: Some("cancelled"), at_least: ms(30), ..ROW },
    Row { name: "tower-http 408 inside routemeter", path: "/timeout-408", seen: 408, route: "/timeout-408", status: "408", at_least: ms(30), ..ROW },
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Http1,
    H2c,
}

/// A server on a loopback port, stopped on drop.
struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(app: Router) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server { addr, task }
}

/// One hyper client connection.
enum Conn {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

/// Opens a connection; the returned task drives it (abort it to close the socket).
async fn connect(addr: SocketAddr, proto: Proto) -> (Conn, tokio::task::JoinHandle<()>) {
    let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
    match proto {
        Proto::Http1 => {
            let (send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            let task = tokio::spawn(async move {
                let _ = conn.await;
            });
            (Conn::H1(send), task)
        }
        Proto::H2c => {
            let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
            let task = tokio::spawn(async move {
                let _ = conn.await;
            });
            (Conn::H2(send), task)
        }
    }
}

impl Conn {
    async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> hyper::Result<http::Response<hyper::body::Incoming>> {
        match self {
            Self::H1(send) => {
                send.ready().await?;
                send.send_request(req).await
            }
            Self::H2(send) => {
                send.ready().await?;
                send.send_request(req).await
            }
        }
    }
}

/// The request of `row` (headers resolved), for a real server at `addr` or in process.
fn request<B: From<Bytes>>(row: &Row, addr: Option<SocketAddr>, etag: &str) -> Request<B> {
    let uri = match addr {
        Some(addr) => format!("http://{addr}{}", row.path),
        None => row.path.to_owned(),
    };
    let mut builder = Request::builder().method(row.method).uri(uri);
    for (name, value) in row.headers {
        builder = builder.header(*name, if *value == "$ETAG" { etag } else { value });
    }
    builder
        .body(B::from(Bytes::from(vec![b'b'; row.body])))
        .unwrap()
}

/// Polls the meter until `count` requests to `route` are recorded and none is in flight.
async fn settle(meter: &TestMeter, route: &str, count: u64) -> Snapshot {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let snap = meter.snapshot();
        let done = snap.route(route).count() >= count && snap.total().active() == 0.0;
        if done || Instant::now() > deadline {
            return snap;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Polls until a request to `route` is in flight.
async fn in_flight(meter: &TestMeter, route: &str) {
    let deadline = Instant::now() + PATIENCE;
    while meter.snapshot().route(route).active() < 1.0 {
        assert!(Instant::now() < deadline, "no request to {route} in flight");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs the client of `row`; returns the statuses the client saw.
async fn drive(
    row: &Row,
    proto: Proto,
    addr: SocketAddr,
    meter: &TestMeter,
    etag: &str,
    dir: &Path,
) -> Vec<u16> {
    let mut seen = Vec::new();
    for _ in 0..row.times {
        match row.via {
            Via::Hyper => {
                let (mut conn, task) = connect(addr, proto).await;
                let resp = conn.send(request(row, Some(addr), etag)).await.unwrap();
                seen.push(resp.status().as_u16());
                resp.into_body().collect().await.unwrap();
                task.abort();
            }
            Via::Curl => seen.push(curl(row, proto, addr, etag, dir).await),
            Via::AbortBeforeHead => {
                let (mut conn, task) = connect(addr, proto).await;
                let req = request(row, Some(addr), etag);
                let pending = tokio::spawn(async move { conn.send(req).await.map(|_| ()) });
                in_flight(meter, row.route).await;
                task.abort();
                pending.abort();
                let _ = pending.await;
            }
            Via::AbortMidBody => {
                let (mut conn, task) = connect(addr, proto).await;
                let resp = conn.send(request(row, Some(addr), etag)).await.unwrap();
                seen.push(resp.status().as_u16());
                let mut body = resp.into_body();
                loop {
                    let frame = body.frame().await.unwrap().unwrap();
                    if frame.data_ref().is_some_and(|d| !d.is_empty()) {
                        break;
                    }
                }
                task.abort();
                drop(body);
            }
            Via::WebSocket => seen.push(websocket(addr, meter).await),
        }
    }
    seen
}

/// Fetches with the `curl` program; returns the status it saw.
async fn curl(row: &Row, proto: Proto, addr: SocketAddr, etag: &str, dir: &Path) -> u16 {
    let curl = require_program("curl").expect("curl is installed by scripts/test.sh");
    let mut cmd = tokio::process::Command::new(curl);
    cmd.args([
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "10",
    ]);
    cmd.arg(match proto {
        Proto::Http1 => "--http1.1",
        Proto::H2c => "--http2-prior-knowledge",
    });
    match row.method {
        "GET" => {}
        "HEAD" => {
            cmd.arg("--head");
        }
        method => {
            cmd.args(["-X", method]);
        }
    }
    for (name, value) in row.headers {
        let value = if *value == "$ETAG" { etag } else { value };
        cmd.arg("-H").arg(format!("{name}: {value}"));
    }
    if row.body > 0 {
        assert_eq!(row.body, 1000, "curl rows upload the 1000-byte fixture");
        cmd.arg("--data-binary")
            .arg(format!("@{}", dir.join("upload.bin").display()));
    }
    cmd.arg(format!("http://{addr}{}", row.path));
    let out = cmd.output().await.unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Upgrades to a WebSocket, checks that the request is recorded while the socket is still
/// open, and that the socket works on; returns the status of the upgrade.
async fn websocket(addr: SocketAddr, meter: &TestMeter) -> u16 {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let opened = Instant::now();
    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    ws.send(Message::text("ping")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("ping"));
    // The upgrade is recorded while the socket is open: the request ended with the upgrade.
    let snap = settle(meter, "/ws", 1).await;
    let upgrade = snap.route("/ws");
    upgrade.assert_count(1);
    ws.send(Message::text("still open")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::text("still open")
    );
    ws.close(None).await.unwrap();
    // It lasted no longer than the time to the first record, well short of the socket's life.
    assert!(upgrade.max() <= opened.elapsed(), "{upgrade}");
    resp.status().as_u16()
}

/// What was recorded for a row, compared with what the row expects. Returns the problems.
fn check(row: &Row, snap: &Snapshot, seen: &[u16], where_: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |what: String| problems.push(format!("{where_} `{}`: {what}", row.name));
    let stats = snap.select(row.route, Some(row.method), None);
    let total = snap.total();
    if total.count() != row.times || stats.count() != row.times {
        fail(format!(
            "expected {} records on {} {}, got {} there and {} in all: {snap:?}",
            row.times,
            row.method,
            row.route,
            stats.count(),
            total.count()
        ));
        return problems;
    }
    let with_status = match row.status {
        "none" => stats.no_response(),
        code => stats.status(code.parse().expect("a status code or `none`")),
    };
    if with_status != row.times {
        fail(format!(
            "status: expected {}, got {:?}",
            row.status,
            stats.statuses()
        ));
    }
    match row.error {
        Some(error) if stats.error_type(error) != row.times => {
            fail(format!(
                "error_type: expected {error}, got {:?}",
                stats.error_types()
            ));
        }
        None if stats.errors() != 0 => {
            fail(format!("expected no error, got {:?}", stats.error_types()));
        }
        _ => {}
    }
    if stats.min() < row.at_least {
        fail(format!(
            "duration {:?} is below {:?}",
            stats.min(),
            row.at_least
        ));
    }
    if total.active() != 0.0 {
        fail(format!("{} still in flight", total.active()));
    }
    if let Some(bytes) = row.bytes {
        let sum = stats.response_bytes().sum();
        if sum != (bytes * row.times) as f64 {
            fail(format!(
                "response bytes: expected {bytes} each, got {sum} in all"
            ));
        }
    }
    // The request size never exceeds what the client sent.
    let received = stats.request_bytes().sum();
    if received > (row.body as u64 * row.times) as f64 {
        fail(format!(
            "request bytes {received} exceed the {} sent",
            row.body
        ));
    }
    if row.seen != 0 && seen.iter().any(|s| *s != row.seen) {
        fail(format!("client saw {seen:?}, expected {}", row.seen));
    }
    problems
}

/// The ETag ServeDir gives `static/index.html` (asked of ServeDir itself, unmeasured).
async fn etag(dir: &Path) -> String {
    let resp = ServeDir::new(dir.join("static"))
        .oneshot(Request::get("/index.html").body(Body::empty()).unwrap())
        .await
        .unwrap();
    resp.headers()[header::ETAG].to_str().unwrap().to_owned()
}

async fn matrix(proto: Proto) {
    let dir = fixture();
    let etag = etag(&dir.0).await;
    let mut problems = Vec::new();
    for row in ROWS {
        if proto == Proto::H2c && row.via == Via::WebSocket {
            continue;
        }
        // Outside CI a missing curl skips its rows (`require_program` says so); in CI it fails.
        if row.via == Via::Curl && require_program("curl").is_none() {
            continue;
        }
        let meter = TestMeter::new();
        let server = serve(app(&meter, &dir.0)).await;
        let seen = drive(row, proto, server.addr, &meter, &etag, &dir.0).await;
        let snap = settle(&meter, row.route, row.times).await;
        problems.extend(check(row, &snap, &seen, &format!("{proto:?}")));
        // The time to the head never exceeds the request's duration, and only requests that
        // got a head have one.
        let (heads, slowest_head) = time_to_head(&snap, &Naming::default());
        let with_head = if row.status == "none" { 0 } else { row.times };
        if heads != with_head || slowest_head > snap.route(row.route).duration().max() {
            problems.push(format!(
                "{proto:?} `{}`: {heads} times to head (slowest {slowest_head} s) for {with_head} heads",
                row.name
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The time-to-head histogram, every label set together: its count and its largest sample
/// (seconds).
fn time_to_head(snap: &Snapshot, naming: &Naming) -> (u64, f64) {
    let mut count = 0;
    let mut max = 0.0_f64;
    for series in snap.series() {
        if let (true, SeriesValue::Histogram(d)) =
            (series.name() == naming.time_to_head(), series.value())
        {
            count += d.count();
            if d.count() > 0 {
                max = max.max(d.max());
            }
        }
    }
    (count, max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_over_http1() {
    matrix(Proto::Http1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_over_h2c() {
    matrix(Proto::H2c).await;
}

/// The same rows in process, through the test kit: wherever the in-process client reads every
/// body (the rows whose real client does too), the labels agree with the real server's.
#[tokio::test]
async fn in_process_labels_agree_with_the_real_server() {
    let dir = fixture();
    let etag = etag(&dir.0).await;
    let mut problems = Vec::new();
    for row in ROWS {
        if !matches!(row.via, Via::Hyper | Via::Curl) {
            continue;
        }
        let meter = TestMeter::new();
        let app = app(&meter, &dir.0);
        for _ in 0..row.times {
            let resp = app
                .clone()
                .oneshot(request::<Body>(row, None, &etag))
                .await
                .unwrap();
            let _ = resp.into_body().collect().await;
        }
        let snap = settle(&meter, row.route, row.times).await;
        // Labels only: in process, nothing strips the bodies HTTP never sends.
        let labels = Row {
            bytes: None,
            seen: 0,
            ..*row
        };
        problems.extend(check(&labels, &snap, &[], "in process"));
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Single cases, in more depth.

/// The download of the matrix, as a user first meets it: three fetches with curl, read from
/// the Prometheus exposition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_with_content_length_are_exported_as_successes() {
    if require_program("curl").is_none() {
        return;
    }
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/download",
            get(|| async {
                (
                    [(header::CONTENT_LENGTH, "18")],
                    chunks(2, 9, Duration::from_millis(5)),
                )
            }),
        )
        .layer(metrics.layer_builder().body_sizes(true).build());
    let server = serve(app).await;
    let dir = fixture();
    let row = Row {
        via: Via::Curl,
        path: "/download",
        times: 3,
        ..ROW
    };
    let seen = curl_times(&row, server.addr, &dir.0).await;
    assert_eq!(seen, [200, 200, 200]);
    let line = "http_server_request_duration_seconds_count{http_request_method=\"GET\",\
                http_route=\"/download\",http_response_status_code=\"200\",\
                url_scheme=\"http\",network_protocol_version=\"1.1\"} 3";
    let deadline = Instant::now() + PATIENCE;
    let text = loop {
        let text = metrics.render();
        if text.contains(line) || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(text.contains(line), "{text}");
    assert!(!text.contains("error_type"), "{text}");
    assert!(text.contains(
        "http_server_response_body_size_bytes_sum{http_request_method=\"GET\",\
         http_route=\"/download\",http_response_status_code=\"200\",url_scheme=\"http\",\
         network_protocol_version=\"1.1\"} 54"
    ));
}

async fn curl_times(row: &Row, addr: SocketAddr, dir: &Path) -> Vec<u16> {
    let mut seen = Vec::new();
    for _ in 0..row.times {
        seen.push(curl(row, Proto::Http1, addr, "", dir).await);
    }
    seen
}

/// Sends `POST path` declaring a body of 9e18 bytes, sends none, and returns the status line
/// of the response.
async fn claim_without_sending(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 9000000000000000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0; 1024];
    while !received.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before a response head");
        received.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&received);
    text.lines().next().unwrap_or_default().to_owned()
}

/// A client's `Content-Length` is a claim: handlers that never read the body (a 401, a path
/// with no handler) must not record the claimed size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimed_request_sizes_are_not_recorded_as_received() {
    // axum: the body is counted, and nothing arrived.
    let meter = TestMeter::new();
    let app = Router::new()
        .route("/secret", post(|| async { StatusCode::UNAUTHORIZED }))
        .layer(meter.layer_builder().body_sizes(true).build());
    let server = serve(app).await;
    for i in 0..10 {
        let path = if i % 2 == 0 { "/secret" } else { "/nowhere" };
        let status = claim_without_sending(server.addr, path).await;
        assert!(
            status.contains(if i % 2 == 0 { "401" } else { "404" }),
            "{status}"
        );
    }
    let snap = settle(&meter, "/secret", 5).await;
    snap.total().assert_count(10);
    assert_eq!(snap.total().request_bytes().count(), 10);
    assert_eq!(snap.total().request_bytes().sum(), 0.0, "{snap:?}");

    // Plain hyper: `Incoming` cannot be counted without changing its type, so its claimed
    // size is not recorded at all.
    let meter = TestMeter::new();
    let layer = meter
        .layer_builder()
        .body_sizes(true)
        .route_fn(|_| Some("/secret"))
        .build();
    let svc = ServiceBuilder::new().layer(layer).service_fn(
        |_req: Request<hyper::body::Incoming>| async {
            let mut resp = http::Response::new(Full::new(Bytes::from_static(b"no")));
            *resp.status_mut() = StatusCode::UNAUTHORIZED;
            Ok::<_, Infallible>(resp)
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let svc = hyper_util::service::TowerToHyperService::new(svc.clone());
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    for _ in 0..10 {
        assert!(claim_without_sending(addr, "/secret").await.contains("401"));
    }
    let snap = settle(&meter, "/secret", 10).await;
    accept.abort();
    let secret = snap.route("/secret");
    secret.assert_count(10);
    assert_eq!(secret.request_bytes().count(), 0, "{secret}");
    assert_eq!(secret.request_bytes().sum(), 0.0);
}

/// One request panics while another is in flight on the same thread; the panic unwinds out of
/// the server's `block_on` and drops the other request with it. Only the request whose own poll
/// panicked is a panic; the other one was cancelled.
#[test]
fn requests_dropped_while_another_panics_are_cancelled() {
    let meter = TestMeter::new();
    let app = Router::new()
        .route("/hang", get(std::future::pending::<&'static str>))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("handler panicked");
                }
                "unreachable"
            }),
        )
        .layer(meter.layer());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    // Two connections served in one task of a current-thread runtime, as in a hand-written
    // accept loop.
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            let (a, _) = listener.accept().await.unwrap();
            let (b, _) = listener.accept().await.unwrap();
            let serve = |stream| {
                hyper::server::conn::http1::Builder::new().serve_connection(
                    TokioIo::new(stream),
                    hyper_util::service::TowerToHyperService::new(app.clone()),
                )
            };
            let _ = tokio::join!(serve(a), serve(b));
        });
    });
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sockets = client.block_on(async {
        let mut a = TcpStream::connect(addr).await.unwrap();
        let mut b = TcpStream::connect(addr).await.unwrap();
        a.write_all(b"GET /hang HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        in_flight(&meter, "/hang").await;
        b.write_all(b"GET /panic HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        (a, b)
    });
    assert!(
        server.join().is_err(),
        "the panic unwound the server thread"
    );
    drop(sockets);
    let snap = meter.snapshot();
    let hang = snap.route("/hang");
    hang.assert_count(1);
    assert_eq!(hang.error_type("cancelled"), 1, "{hang}");
    let panic = snap.route("/panic");
    panic.assert_count(1);
    assert_eq!(panic.error_type("panic"), 1, "{panic}");
    assert_eq!(snap.total().active(), 0.0);
}

/// A response body that panics outside `poll_frame` (in its size hint as the head is made, or in
/// whether it has ended once its chunk is out), behind `axum::serve` over HTTP/1.1 and h2c: the
/// request is recorded as a panic, nothing stays in flight, and the server goes on serving. (The
/// layer used to ask the body again while unwinding, and that second panic aborted the process.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_panic_outside_their_poll_are_panics_and_the_server_lives_on() {
    for proto in [Proto::Http1, Proto::H2c] {
        for in_size_hint in [false, true] {
            let meter = TestMeter::new();
            let app = Router::new()
                .route("/panicky", common::panicky_route(in_size_hint))
                .route("/text", get(|| async { "hello" }))
                .layer(meter.layer());
            let server = serve(app).await;
            let url = |path: &str| format!("http://{}{path}", server.addr);
            let (mut conn, task) = connect(server.addr, proto).await;
            let req = Request::get(url("/panicky")).body(Full::default()).unwrap();
            // The task serving the response dies with the panic: the client sees an error, or
            // a head and a body cut short.
            if let Ok(resp) = conn.send(req).await {
                let _ = resp.into_body().collect().await;
            }
            task.abort();
            let snap = settle(&meter, "/panicky", 1).await;
            let panicky = snap.route("/panicky");
            panicky.assert_count(1);
            assert_eq!(
                panicky.error_type("panic"),
                1,
                "{proto:?}, panic in size_hint: {in_size_hint}: {panicky}"
            );
            assert_eq!(snap.total().active(), 0.0);
            let (mut conn, task) = connect(server.addr, proto).await;
            let req = Request::get(url("/text")).body(Full::default()).unwrap();
            assert_eq!(conn.send(req).await.unwrap().status(), 200, "{proto:?}");
            task.abort();
        }
    }
}

/// The time to the response head of a stream is recorded as soon as the head is ready, while
/// the body still streams, in both naming schemes; it is not registered when off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_to_head_is_recorded_before_a_stream_ends() {
    for (naming, on) in [
        (Naming::default(), true),
        (Naming::new(NamingScheme::AxumPrometheus), true),
        (Naming::default(), false),
    ] {
        let meter = TestMeter::with_naming(naming.clone());
        let app = Router::new()
            .route("/sse-forever", get(sse_forever))
            .layer(meter.layer_builder().time_to_head(on).build());
        let server = serve(app).await;
        let (mut conn, task) = connect(server.addr, Proto::Http1).await;
        let row = Row {
            path: "/sse-forever",
            ..ROW
        };
        let resp = conn
            .send(request(&row, Some(server.addr), ""))
            .await
            .unwrap();
        let mut body = resp.into_body();
        body.frame().await.unwrap().unwrap();
        // Streaming on: in flight, no duration yet, the head already measured.
        let during = meter.snapshot();
        assert_eq!(during.route("/sse-forever").active(), 1.0);
        during.route("/sse-forever").assert_count(0);
        let (heads, slowest) = time_to_head(&during, &naming);
        assert_eq!(heads, u64::from(on), "{naming:?} on={on}");
        let series = during
            .series()
            .iter()
            .filter(|s| s.name() == naming.time_to_head())
            .count();
        assert_eq!(series, usize::from(on), "{naming:?} on={on}");
        if on {
            assert!(slowest < PATIENCE.as_secs_f64());
            let labelled = during.series().iter().any(|s| {
                s.name() == naming.time_to_head()
                    && s.label(naming.route_key()) == Some("/sse-forever")
                    && s.label(naming.status_key()) == Some("200")
            });
            assert!(labelled, "{during:?}");
        }
        task.abort();
        drop(body);
        let after = settle(&meter, "/sse-forever", 1).await;
        assert_eq!(time_to_head(&after, &naming).0, u64::from(on));
    }
}

/// `network_protocol_version` and `url_scheme` come from each request: HTTP/1.1 and h2c clients
/// of one route get their own series, and the URL scheme the h2 client sends is used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_version_and_url_scheme_follow_the_request() {
    let metrics = common::metrics();
    let app = Router::new()
        .route("/v", get(|| async { "v" }))
        .layer(metrics.layer());
    let server = serve(app).await;
    for (proto, times) in [(Proto::Http1, 2), (Proto::H2c, 3)] {
        let (mut conn, task) = connect(server.addr, proto).await;
        for _ in 0..times {
            let uri = match proto {
                Proto::Http1 => "/v".to_owned(),
                Proto::H2c => format!("http://{}/v", server.addr),
            };
            let req = Request::get(uri).body(Full::new(Bytes::new())).unwrap();
            let response = conn.send(req).await.unwrap();
            assert_eq!(response.status(), 200);
            response.into_body().collect().await.unwrap();
        }
        task.abort();
    }
    let expect = |version: &str, n: u32| {
        format!(
            "http_server_request_duration_seconds_count{{http_request_method=\"GET\",http_route=\"/v\",\
             http_response_status_code=\"200\",url_scheme=\"http\",network_protocol_version=\"{version}\"}} {n}\n"
        )
    };
    let deadline = Instant::now() + PATIENCE;
    let text = loop {
        let text = metrics.render();
        if (text.contains(&expect("1.1", 2)) && text.contains(&expect("2", 3)))
            || Instant::now() > deadline
        {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(text.contains(&expect("1.1", 2)), "{text}");
    assert!(text.contains(&expect("2", 3)), "{text}");
    // The in-flight gauge has the scheme, not the version (as the conventions have it).
    assert!(
        text.contains(
            "http_server_active_requests{http_request_method=\"GET\",http_route=\"/v\",url_scheme=\"http\"} 0\n"
        ),
        "{text}"
    );
}

/// One meter's layer on an app and again on a router nested into it, on a router merged into
/// it, and twice on another: each request is counted once, by the outermost layer, over both
/// protocols. A layer into a recorder of its own still records, and a request a handler sends
/// in process through the same meter's layer is a request of its own and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_into_one_recorder_count_each_request_once() {
    for proto in [Proto::Http1, Proto::H2c] {
        let meter = TestMeter::new();
        let own = TestMeter::new();
        let inner = Router::new()
            .route("/inner", get(|| async { "inner" }))
            .layer(meter.layer());
        let proxy = get(move || {
            let inner = inner.clone();
            async move {
                let req = Request::get("/inner").body(Body::empty()).unwrap();
                let (head, body) = routemeter::testing::send(inner, req).await.unwrap();
                assert_eq!((head.status, &body[..]), (StatusCode::OK, &b"inner"[..]));
                "proxied"
            }
        });
        // hyper makes every `/` path the same static text: a request to `/` that a handler at
        // `/` sends in process is still a request of its own.
        let root = Router::new()
            .route("/", get(|| async { "root" }))
            .layer(meter.layer());
        let to_root = get(move || {
            let root = root.clone();
            async move {
                let req = Request::get("/").body(Body::empty()).unwrap();
                routemeter::testing::send(root, req).await.unwrap();
                "sent to root"
            }
        });
        let app = Router::new()
            .nest(
                "/api",
                Router::new()
                    .route("/users/{id}", get(|| async { "user" }))
                    .layer(meter.layer()),
            )
            .merge(
                Router::new()
                    .route("/health", get(|| async { "ok" }))
                    .layer(meter.layer()),
            )
            .merge(
                Router::new()
                    .route("/twice", get(|| async { "twice" }))
                    .layer(meter.layer())
                    .layer(meter.layer()),
            )
            .merge(
                Router::new()
                    .route("/own", get(|| async { "own" }))
                    .layer(own.layer()),
            )
            .route("/proxy", proxy)
            .route("/", to_root)
            .layer(meter.layer());
        let server = serve(app).await;
        let (mut conn, task) = connect(server.addr, proto).await;
        let paths = ["/api/users/7", "/health", "/twice", "/own", "/proxy", "/"];
        for path in paths {
            let uri = format!("http://{}{path}", server.addr);
            let resp = conn
                .send(Request::get(uri).body(Full::default()).unwrap())
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{proto:?} {path}");
            resp.into_body().collect().await.unwrap();
        }
        settle(&meter, "/proxy", 1).await;
        settle(&meter, "/inner", 1).await;
        let snap = settle(&meter, "/", 2).await;
        assert_eq!(snap.route("/").count(), 2, "{proto:?} /");
        for route in [
            "/api/users/{id}",
            "/health",
            "/twice",
            "/own",
            "/proxy",
            "/inner",
        ] {
            snap.route(route).assert_count(1);
        }
        snap.total().assert_count(8);
        settle(&own, "/own", 1).await.total().assert_count(1);
        task.abort();
    }
}
