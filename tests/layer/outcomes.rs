//! Outcomes: server errors, inner errors, panics, cancellation, streaming and body sizes. Each
//! request is recorded exactly once and the in-flight gauge always returns to zero.

use crate::common;

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::routing::{get, post};
use common::{get as get_status, send};
use http::Request;
use http_body_util::BodyExt;
use routemeter::testing::TestMeter;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;

/// A body of `chunks` chunks of `size` bytes, `gap` apart; `fail` makes the last one an error.
fn trickle(chunks: usize, size: usize, gap: Duration, fail: bool) -> Body {
    let stream = futures_util::stream::unfold(0, move |i| async move {
        if i == chunks {
            return None;
        }
        tokio::time::sleep(gap).await;
        let item = if fail && i + 1 == chunks {
            Err(std::io::Error::other("disk on fire"))
        } else {
            Ok(Bytes::from(vec![b'x'; size]))
        };
        Some((item, i + 1))
    });
    Body::from_stream(stream)
}

async fn panics() -> &'static str {
    panic!("handler panicked")
}

fn app() -> Router {
    Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route(
            "/error",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route("/panic", get(panics))
        .route("/hang", get(std::future::pending::<&'static str>))
        .route(
            "/stream",
            get(|| async { trickle(6, 100, Duration::from_millis(50), false) }),
        )
        .route(
            "/broken",
            get(|| async { trickle(2, 10, Duration::from_millis(1), true) }),
        )
        .route("/echo", post(|body: Bytes| async move { body }))
}

#[tokio::test]
async fn server_errors_are_errors_client_errors_are_not() {
    let meter = TestMeter::new();
    let app = app().layer(meter.layer_builder().body_sizes(true).build());
    assert_eq!(get_status(&app, "/error").await, 503);
    assert_eq!(get_status(&app, "/ok").await, 200);
    assert_eq!(get_status(&app, "/missing").await, 404);
    let snap = meter.snapshot();
    let error = snap.route("/error");
    error.assert_count(1);
    assert_eq!(error.error_type("503"), 1);
    assert_eq!(error.status(503), 1);
    snap.route("/ok").assert_no_errors();
    snap.route(routemeter::UNMATCHED_ROUTE).assert_no_errors();
    assert_eq!(snap.total().errors(), 1);
}

#[tokio::test]
async fn inner_service_errors_are_recorded() {
    let meter = TestMeter::new();
    let svc = ServiceBuilder::new()
        .layer(
            meter
                .layer_builder()
                .body_sizes(true)
                .route_fn(|_| Some("/db"))
                .build(),
        )
        .service_fn(|_req: Request<Body>| async {
            Err::<http::Response<Body>, _>(std::io::Error::other("connection refused"))
        });
    let err = svc.oneshot(Request::new(Body::empty())).await.unwrap_err();
    assert_eq!(err.to_string(), "connection refused");
    let snap = meter.snapshot();
    let db = snap.route("/db");
    db.assert_count(1);
    assert_eq!(db.error_type("_OTHER"), 1);
    assert_eq!(db.no_response(), 1);
    assert_eq!(db.active(), 0.0);
}

#[tokio::test]
async fn inner_timeouts_are_timeouts() {
    let meter = TestMeter::new();
    let svc = ServiceBuilder::new()
        .layer(
            meter
                .layer_builder()
                .body_sizes(true)
                .route_fn(|_| Some("/slow"))
                .build(),
        )
        .timeout(Duration::from_millis(20))
        .service_fn(|_req: Request<Body>| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, Infallible>(http::Response::new(Body::empty()))
        });
    let err = svc.oneshot(Request::new(Body::empty())).await.unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>());
    let slow = meter.snapshot().route("/slow");
    slow.assert_count(1);
    assert_eq!(slow.error_type("timeout"), 1, "{slow}");
    assert_eq!(slow.no_response(), 1);
    assert!(slow.min() >= Duration::from_millis(20), "{slow}");
    assert_eq!(slow.active(), 0.0);
}

#[tokio::test]
async fn panics_caught_outside_the_layer_are_panics() {
    let meter = TestMeter::new();
    let app = app()
        .layer(meter.layer_builder().body_sizes(true).build())
        .layer(CatchPanicLayer::new());
    assert_eq!(get_status(&app, "/panic").await, 500);
    assert_eq!(get_status(&app, "/ok").await, 200);
    let snap = meter.snapshot();
    let panic = snap.route("/panic");
    panic.assert_count(1);
    assert_eq!(panic.error_type("panic"), 1);
    assert_eq!(panic.active(), 0.0);
    snap.total().assert_count(2);
}

#[tokio::test]
async fn panics_caught_inside_the_layer_are_server_errors() {
    let meter = TestMeter::new();
    let app = app()
        .layer(CatchPanicLayer::new())
        .layer(meter.layer_builder().body_sizes(true).build());
    assert_eq!(get_status(&app, "/panic").await, 500);
    let panic = meter.snapshot().route("/panic");
    panic.assert_count(1);
    assert_eq!(panic.error_type("500"), 1);
    assert_eq!(panic.active(), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncaught_panics_are_recorded_when_the_task_dies() {
    let meter = TestMeter::new();
    let app = app().layer(meter.layer_builder().body_sizes(true).build());
    let task = tokio::spawn(async move { get_status(&app, "/panic").await });
    assert!(task.await.unwrap_err().is_panic());
    let panic = meter.snapshot().route("/panic");
    panic.assert_count(1);
    assert_eq!(panic.error_type("panic"), 1);
    assert_eq!(panic.active(), 0.0);
}

/// A panic in the response body's code outside `poll_frame` (its size hint as the head is
/// seen, whether it has ended after a frame) is that request's panic, not a hang-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_in_a_bodys_size_or_end_are_panics() {
    for in_size_hint in [false, true] {
        let meter = TestMeter::new();
        let app = Router::new()
            .route("/panicky", common::panicky_route(in_size_hint))
            .layer(meter.layer());
        let task = tokio::spawn(async move { get_status(&app, "/panicky").await });
        assert!(task.await.unwrap_err().is_panic());
        let panicky = meter.snapshot().route("/panicky");
        panicky.assert_count(1);
        assert_eq!(
            panicky.error_type("panic"),
            1,
            "size hint: {in_size_hint}: {panicky}"
        );
        assert_eq!(panicky.active(), 0.0);
    }
}

#[tokio::test]
async fn dropped_futures_are_cancelled_and_leave_flight() {
    let meter = TestMeter::new();
    let app = app().layer(meter.layer_builder().body_sizes(true).build());
    let req = Request::get("/hang").body(Body::empty()).unwrap();
    let app2 = app.clone();
    let task = tokio::spawn(async move { app2.oneshot(req).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let during = meter.snapshot().route("/hang");
    assert_eq!(during.active(), 1.0, "{during}");
    during.assert_count(0);

    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let after = meter.snapshot().route("/hang");
    after.assert_count(1);
    assert_eq!(after.error_type("cancelled"), 1);
    assert_eq!(after.no_response(), 1);
    assert_eq!(after.active(), 0.0);
}

#[tokio::test]
async fn timeouts_outside_the_layer_cancel_the_request() {
    let meter = TestMeter::new();
    let app = app()
        .layer(meter.layer_builder().body_sizes(true).build())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(30),
        ));
    assert_eq!(get_status(&app, "/hang").await, 408);
    let hang = meter.snapshot().route("/hang");
    hang.assert_count(1);
    assert_eq!(hang.error_type("cancelled"), 1);
    assert_eq!(hang.active(), 0.0);
}

#[tokio::test]
async fn bodies_dropped_mid_stream_are_cancelled() {
    let meter = TestMeter::new();
    let app = app().layer(meter.layer_builder().body_sizes(true).build());
    let resp = app
        .oneshot(Request::get("/stream").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first.len(), 100);
    // Head sent, body not finished: still in flight.
    let during = meter.snapshot().route("/stream");
    assert_eq!(during.active(), 1.0, "{during}");
    drop(body);

    let after = meter.snapshot().route("/stream");
    after.assert_count(1);
    assert_eq!(after.error_type("cancelled"), 1);
    assert_eq!(after.status(200), 1);
    assert_eq!(after.response_bytes().sum(), 100.0);
    assert_eq!(after.active(), 0.0);
}

#[tokio::test]
async fn streaming_duration_runs_until_the_body_ends() {
    let meter = TestMeter::new();
    let app = app().layer(meter.layer_builder().body_sizes(true).build());
    let (status, body) = send(&app, "GET", "/stream", Body::empty()).await;
    assert_eq!((status, body.len()), (200, 600));
    let stream = meter.snapshot().route("/stream");
    stream.assert_count(1).assert_no_errors();
    // Six chunks 50 ms apart: the response head came at once, the body took >= 300 ms.
    assert!(stream.min() >= Duration::from_millis(300), "{stream}");
    assert_eq!(stream.response_bytes().sum(), 600.0);
}

#[tokio::test]
async fn body_errors_are_recorded() {
    let meter = TestMeter::new();
    let app = app().layer(meter.layer_builder().body_sizes(true).build());
    let resp = app
        .oneshot(Request::get("/broken").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(resp.into_body().collect().await.is_err());
    let broken = meter.snapshot().route("/broken");
    broken.assert_count(1);
    assert_eq!(broken.error_type("body_error"), 1);
    assert_eq!(broken.active(), 0.0);
}

#[tokio::test]
async fn body_sizes_are_the_streamed_bytes() {
    let meter = TestMeter::new();
    let app = app().layer(meter.layer_builder().body_sizes(true).build());
    let payload = vec![7u8; 1500];
    let (status, echoed) = send(&app, "POST", "/echo", payload.clone()).await;
    assert_eq!((status, echoed.len()), (200, 1500));
    // A streamed request body without Content-Length is measured all the same.
    let chunks = futures_util::stream::iter(
        (0..3).map(|_| Ok::<_, Infallible>(Bytes::from_static(b"abcd"))),
    );
    let (_, echoed) = send(&app, "POST", "/echo", Body::from_stream(chunks)).await;
    assert_eq!(echoed.len(), 12);
    let echo = meter.snapshot().route("/echo");
    echo.assert_count(2);
    assert_eq!(echo.request_bytes().sum(), 1512.0);
    assert_eq!(echo.response_bytes().sum(), 1512.0);
    assert_eq!(echo.request_bytes().max(), 1500.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_outcomes_are_each_counted_once() {
    let meter = TestMeter::new();
    let app = app()
        .layer(meter.layer_builder().body_sizes(true).build())
        .layer(CatchPanicLayer::new());
    let mut tasks = Vec::new();
    for i in 0..200 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let path = ["/ok", "/error", "/panic", "/missing"][i % 4];
            get_status(&app, path).await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let snap = meter.snapshot();
    snap.total().assert_count(200);
    assert_eq!(snap.total().errors(), 100);
    assert_eq!(snap.total().active(), 0.0);
    for route in ["/ok", "/error", "/panic", routemeter::UNMATCHED_ROUTE] {
        snap.route(route).assert_count(50);
    }
}

#[tokio::test]
async fn other_body_types_keep_their_type_and_record_no_claimed_size() {
    use http_body_util::{Full, StreamBody};
    let meter = TestMeter::new();
    let svc = ServiceBuilder::new()
        .layer(
            meter
                .layer_builder()
                .body_sizes(true)
                .route_fn(|_| Some("/upload"))
                .build(),
        )
        .service_fn(|req: Request<Full<Bytes>>| async move {
            // The inner service sees its own body type, unchanged.
            let n = req.into_body().collect().await.unwrap().to_bytes().len();
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(n.to_string()))))
        });
    let resp = svc
        .oneshot(Request::new(Full::new(Bytes::from_static(b"0123456789"))))
        .await
        .unwrap();
    assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), "10");

    // A streamed body of unknown length cannot be counted without changing its type either:
    // its duration is recorded, its size is not.
    type Chunks =
        futures_util::stream::Iter<std::vec::IntoIter<Result<http_body::Frame<Bytes>, Infallible>>>;
    let svc = ServiceBuilder::new()
        .layer(
            meter
                .layer_builder()
                .body_sizes(true)
                .route_fn(|_| Some("/stream-in"))
                .build(),
        )
        .service_fn(|req: Request<StreamBody<Chunks>>| async move {
            let n = req.into_body().collect().await.unwrap().to_bytes().len();
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(n.to_string()))))
        });
    let frames: Vec<Result<http_body::Frame<Bytes>, Infallible>> = (0..2)
        .map(|_| Ok(http_body::Frame::data(Bytes::from_static(b"abc"))))
        .collect();
    let body = StreamBody::new(futures_util::stream::iter(frames));
    let resp = svc.oneshot(Request::new(body)).await.unwrap();
    assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), "6");

    let snap = meter.snapshot();
    let upload = snap.route("/upload");
    upload.assert_count(1);
    // Its exact size hint is only a claim (hyper's `Incoming` reports the client's
    // `Content-Length` whether or not the bytes arrive), and a body of another type cannot be
    // counted: no request size is recorded rather than a size nobody received.
    assert_eq!(upload.request_bytes().count(), 0);
    assert_eq!(upload.response_bytes().sum(), 2.0);
    let streamed = snap.route("/stream-in");
    streamed.assert_count(1);
    assert_eq!(streamed.request_bytes().count(), 0);
    assert_eq!(streamed.response_bytes().sum(), 1.0);
}

#[tokio::test]
async fn bodies_http_never_sends_are_not_cancellations() {
    // A plain service answering HEAD and 304 with a body, as handlers often do; servers drop
    // such bodies unread, as this test does.
    use http_body_util::Full;
    let meter = TestMeter::new();
    let svc = ServiceBuilder::new()
        .layer(
            meter
                .layer_builder()
                .body_sizes(true)
                .route_fn(|_| Some("/doc"))
                .build(),
        )
        .service_fn(|req: Request<Body>| async move {
            let status = if req.headers().contains_key("if-none-match") {
                StatusCode::NOT_MODIFIED
            } else {
                StatusCode::OK
            };
            let mut resp = http::Response::new(Full::new(Bytes::from_static(b"document")));
            *resp.status_mut() = status;
            Ok::<_, Infallible>(resp)
        });
    let head = Request::head("/doc").body(Body::empty()).unwrap();
    drop(svc.clone().oneshot(head).await.unwrap());
    let cached = Request::get("/doc")
        .header("if-none-match", "\"v1\"")
        .body(Body::empty())
        .unwrap();
    drop(svc.clone().oneshot(cached).await.unwrap());
    // A GET whose body is dropped unread is still a cancellation.
    let get = Request::get("/doc").body(Body::empty()).unwrap();
    drop(svc.oneshot(get).await.unwrap());

    let doc = meter.snapshot().route("/doc");
    doc.assert_count(3);
    assert_eq!(doc.errors(), 1, "{doc}");
    assert_eq!(doc.error_type("cancelled"), 1, "{doc}");
    assert_eq!(meter.snapshot().endpoint("HEAD", "/doc").errors(), 0);
    assert_eq!(doc.status(304), 1);
    assert_eq!(doc.active(), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_that_panics_while_registering_leaves_nothing_waiting() {
    // A recorder whose first gauge registration panics: the layer must not be left waiting
    // for the series that registration was making (the budget's last label set, taken and
    // never used).
    let metrics = crate::common::metrics();
    let (app, _) = trap_app(Snare::PanicOnGauge, 1, &metrics);
    // The first request takes the budget's only label set and panics registering its gauge.
    let first = tokio::spawn({
        let app = app.clone();
        async move { get_status(&app, "/trap").await }
    })
    .await;
    assert!(first.unwrap_err().is_panic());
    // Later requests, refused by the spent budget, do not wait for it: both routes answer.
    // (On a thread of their own, so that a request spinning for ever fails the test instead
    // of hanging it.)
    for path in ["/b", "/trap", "/b"] {
        let (tx, rx) = std::sync::mpsc::channel();
        let app = app.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let _ = tx.send(runtime.block_on(get_status(&app, path)));
        });
        let status = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{path} waited for a registration that panicked"));
        assert_eq!(status, 200, "{path}");
    }
}

/// What a [`Trap`] does to the series of the route `/trap`.
#[derive(Clone, Copy, PartialEq)]
enum Snare {
    /// Panics on its first gauge registration.
    PanicOnGauge,
    /// Panics on its first histogram registration.
    PanicOnHistogram,
    /// Blocks every gauge registration until its [`Gate`] opens.
    BlockGauges,
}

/// Where a [`Snare::BlockGauges`] registration waits until the test opens it.
#[derive(Default)]
struct Gate {
    /// Whether it is open, and how many registrations wait at it.
    state: std::sync::Mutex<(bool, usize)>,
    changed: std::sync::Condvar,
}

impl Gate {
    /// Waits until the gate opens, at most 20 s. The wait hands the worker's other tasks to
    /// another thread first, as a recorder that waits on a lock inside tokio must: a worker
    /// that blocks without it can leave the runtime's I/O unpolled, and every request waits for
    /// the runtime, not for the registration.
    fn pass(&self) {
        tokio::task::block_in_place(|| {
            let mut state = self.state.lock().unwrap();
            state.1 += 1;
            self.changed.notify_all();
            let (_state, _) = self
                .changed
                .wait_timeout_while(state, Duration::from_secs(20), |s| !s.0)
                .unwrap();
        });
    }

    /// Waits (at most 20 s) until a registration waits at the gate.
    fn await_waiter(&self) {
        let state = self.state.lock().unwrap();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, Duration::from_secs(20), |s| s.1 == 0)
            .unwrap();
        assert!(state.1 > 0, "no registration reached the gate");
    }

    /// Lets every waiting and later registration through.
    fn open(&self) {
        self.state.lock().unwrap().0 = true;
        self.changed.notify_all();
    }
}

/// A Prometheus recorder behind a wrapper that springs its [`Snare`] on the route `/trap`.
struct Trap {
    inner: routemeter::prometheus::PrometheusRecorder,
    panicked: std::sync::atomic::AtomicBool,
    snare: Snare,
    gate: std::sync::Arc<Gate>,
}

impl Trap {
    /// Whether `snare` springs for `key`: its own, on `/trap`, once for a panic.
    fn springs(&self, snare: Snare, key: &metrics::Key) -> bool {
        self.snare == snare
            && key.labels().any(|l| l.value() == "/trap")
            && (snare == Snare::BlockGauges
                || !self
                    .panicked
                    .swap(true, std::sync::atomic::Ordering::SeqCst))
    }
}

impl metrics::Recorder for Trap {
    crate::ignore_descriptions!();
    fn register_counter(&self, k: &metrics::Key, m: &metrics::Metadata<'_>) -> metrics::Counter {
        self.inner.register_counter(k, m)
    }
    fn register_gauge(&self, k: &metrics::Key, m: &metrics::Metadata<'_>) -> metrics::Gauge {
        if self.springs(Snare::BlockGauges, k) {
            self.gate.pass();
        }
        if self.springs(Snare::PanicOnGauge, k) {
            panic!("this recorder panics registering /trap's first gauge");
        }
        self.inner.register_gauge(k, m)
    }
    fn register_histogram(
        &self,
        k: &metrics::Key,
        m: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        if self.springs(Snare::PanicOnHistogram, k) {
            panic!("this recorder panics registering /trap's first histogram");
        }
        self.inner.register_histogram(k, m)
    }
}

/// `/trap`, `/b` and `/c` behind a layer into a [`Trap`] with `snare`, over `metrics`, with a
/// series budget of `max_series`; and the trap's [`Gate`].
fn trap_app(
    snare: Snare,
    max_series: usize,
    metrics: &routemeter::prometheus::PrometheusMetrics,
) -> (Router, std::sync::Arc<Gate>) {
    let gate = std::sync::Arc::new(Gate::default());
    let trap = Trap {
        inner: metrics.recorder().clone(),
        panicked: std::sync::atomic::AtomicBool::new(false),
        snare,
        gate: gate.clone(),
    };
    let app = Router::new()
        .route("/trap", get(|| async { "trap" }))
        .route("/b", get(|| async { "b" }))
        .route("/c", get(|| async { "c" }))
        .layer(
            routemeter::RouteMeterLayer::builder()
                .recorder(trap)
                .max_series(max_series)
                .build(),
        );
    (app, gate)
}

/// A recorder that panics registering a request's handles leaves no request in flight: the
/// gauge is taken down as the recording unwinds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_panicking_at_the_end_of_a_request_leaves_nothing_in_flight() {
    let metrics = crate::common::metrics();
    let (app, _) = trap_app(Snare::PanicOnHistogram, 2, &metrics);
    let first = tokio::spawn({
        let app = app.clone();
        async move { get_status(&app, "/trap").await }
    })
    .await;
    assert!(first.unwrap_err().is_panic());
    assert_eq!(get_status(&app, "/trap").await, 200);
    let text = metrics.render();
    let in_flight = text
        .lines()
        .find(|l| l.starts_with("http_server_active_requests{") && l.contains("/trap"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(in_flight.ends_with(" 0"), "{in_flight}");
}

/// A registration that blocks (a recorder waiting on a lock) does not hold up an unrelated
/// request refused by the spent budget for more than a moment: it folds into the overflow
/// route instead of waiting the registration out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_registration_holds_up_no_other_request() {
    // Behind a real server, with a real client: `/c` is answered while `/trap`'s registration
    // is still held at the gate, which opens only after.
    let metrics = crate::common::metrics();
    let (app, gate) = trap_app(Snare::BlockGauges, 2, &metrics);
    let (addr, server) = common::serve_on_loopback(app);
    let url = |path: &str| format!("http://{addr}{path}");
    let client = crate::common::Client::new();
    assert_eq!(client.get(&url("/b")).await.0, 200);
    let blocked = tokio::spawn({
        let trap = url("/trap");
        async move { crate::common::Client::new().get(&trap).await.0 }
    });
    tokio::task::spawn_blocking({
        let gate = gate.clone();
        move || gate.await_waiter()
    })
    .await
    .unwrap();
    let c = tokio::time::timeout(Duration::from_secs(10), client.get(&url("/c"))).await;
    gate.open();
    assert_eq!(c.expect("/c waited for /trap's registration").0, 200);
    assert_eq!(blocked.await.unwrap(), 200);
    let text = metrics.render();
    assert!(text.contains("http_route=\"__overflow__\""), "{text}");
    server.abort();
}
