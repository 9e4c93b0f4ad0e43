//! Explicit recorders keep layers apart: parallel tests on multi-thread runtimes each see
//! exactly their own requests, and several layers can share one app.

use crate::common;

use axum::Router;
use axum::routing::get;
use common::get as get_status;
use routemeter::testing::TestMeter;

fn app() -> Router {
    Router::new()
        .route("/a/{x}", get(|| async { "a" }))
        .route("/b/{x}", get(|| async { "b" }))
}

async fn hammer(requests: usize, path: &'static str) -> TestMeter {
    let meter = TestMeter::new();
    let app = app().layer(meter.layer());
    let mut tasks = Vec::new();
    for i in 0..requests {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            assert_eq!(get_status(&app, &format!("{path}{i}")).await, 200);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    meter
}

// Several tests run at once in this binary, each with its own meter and its own count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_test_one() {
    let meter = hammer(300, "/a/").await;
    let snap = meter.snapshot();
    snap.route("/a/{x}").assert_count(300);
    assert_eq!(snap.routes(), ["/a/{x}"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_test_two() {
    let meter = hammer(170, "/b/").await;
    let snap = meter.snapshot();
    snap.route("/b/{x}").assert_count(170);
    assert_eq!(snap.routes(), ["/b/{x}"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_test_three() {
    let (a, b) = tokio::join!(hammer(50, "/a/"), hammer(80, "/a/"));
    a.snapshot().route("/a/{x}").assert_count(50);
    b.snapshot().route("/a/{x}").assert_count(80);
}

#[tokio::test]
async fn two_layers_in_one_app_both_record() {
    let outer = TestMeter::new();
    let inner = TestMeter::new();
    let app = app().layer(inner.layer()).layer(outer.layer());
    get_status(&app, "/a/1").await;
    get_status(&app, "/b/1").await;
    for meter in [&outer, &inner] {
        let snap = meter.snapshot();
        snap.total().assert_count(2);
        assert_eq!(snap.routes(), ["/a/{x}", "/b/{x}"]);
    }
}

#[tokio::test]
async fn one_layer_shared_by_two_routers_adds_up() {
    let meter = TestMeter::new();
    let layer = meter.layer();
    let first = app().layer(layer.clone());
    let second = app().layer(layer);
    get_status(&first, "/a/1").await;
    get_status(&second, "/a/2").await;
    meter.snapshot().route("/a/{x}").assert_count(2);
}

#[test]
fn snapshots_diff_to_one_phase() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let meter = TestMeter::new();
        let app = app().layer(meter.layer());
        for i in 0..5 {
            get_status(&app, &format!("/a/{i}")).await;
        }
        let before = meter.snapshot();
        for i in 0..7 {
            get_status(&app, &format!("/a/{i}")).await;
        }
        let after = meter.snapshot();
        (&after - &before).route("/a/{x}").assert_count(7);
        after.route("/a/{x}").assert_count(12);
    });
}

/// A recorder of the `metrics` facade's own kind, as small as one can be: it counts the
/// observations of the request-duration histograms it hands out, and ignores the rest.
#[derive(Default)]
struct Tally {
    observed: std::sync::Arc<Observed>,
}

#[derive(Default)]
struct Observed(std::sync::atomic::AtomicU64);

impl metrics::HistogramFn for Observed {
    fn record(&self, _: f64) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl metrics::Recorder for Tally {
    crate::ignore_descriptions!();
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::noop()
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        if key.name() == routemeter::Naming::default().duration() {
            metrics::Histogram::from_arc(std::sync::Arc::clone(&self.observed))
        } else {
            metrics::Histogram::noop()
        }
    }
}

impl Tally {
    fn observed(&self) -> u64 {
        self.observed.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// This process's resident memory, in bytes (Linux).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Where each test's recorders live.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// On the stack, dropped after its request: the next one is at the same address.
    Stack,
    /// Boxed and dropped after its request: the allocator often hands out the same address.
    Boxed,
    /// Boxed and kept, so no two share an address.
    Scattered,
}

const RECORDERS: u64 = 20_000;

/// A layer on the facade's recorder follows `metrics::with_local_recorder`: 20,000 recorders
/// that come and go, one request each, every one sees exactly its own request, whether the
/// next one sits at the same address or not, and memory stays flat.
fn local_recorders_come_and_go(place: Place) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut kept: Vec<Box<Tally>> = Vec::new();
    let mut built = None;
    let mut send = |i: u64, recorder: &Tally| {
        metrics::with_local_recorder(recorder, || {
            // The layer is built under the first recorder, as a test would.
            let app = built.get_or_insert_with(|| app().layer(routemeter::RouteMeterLayer::new()));
            let req = http::Request::get(format!("/a/{i}"))
                .body(axum::body::Body::empty())
                .unwrap();
            rt.block_on(routemeter::testing::send(app.clone(), req))
                .unwrap();
        });
        assert_eq!(recorder.observed(), 1, "{place:?} recorder {i}");
    };
    let mut baseline = None;
    for i in 0..RECORDERS {
        if i == 500 {
            baseline = resident_bytes();
        }
        match place {
            Place::Stack => {
                let recorder = Tally::default();
                send(i, &recorder);
            }
            Place::Boxed => {
                let recorder = Box::new(Tally::default());
                send(i, &recorder);
            }
            Place::Scattered => {
                let recorder = Box::new(Tally::default());
                send(i, &recorder);
                kept.push(recorder);
            }
        }
    }
    // Kept recorders cost about 100 bytes each; a table kept per recorder cost 13 KB.
    if let (Some(before), Some(after)) = (baseline, resident_bytes()) {
        let grown = after.saturating_sub(before);
        assert!(
            grown < 16 << 20,
            "{place:?}: resident memory grew {grown} bytes"
        );
    }
}

/// Runs `test` (this file's test of that name) alone in a process of its own, where the
/// resident memory it measures is its own: in this process other tests run beside it, and one
/// printing a panic's backtrace reads the binary's debug information, tens of megabytes.
fn alone(test: &str, place: Place) {
    const CHILD: &str = "ROUTEMETER_TEST_ALONE";
    if std::env::var_os(CHILD).is_some() {
        local_recorders_come_and_go(place);
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &format!("isolation::{test}"),
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test} in a process of its own:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn local_recorders_on_the_stack_each_see_their_own_request() {
    alone(
        "local_recorders_on_the_stack_each_see_their_own_request",
        Place::Stack,
    );
}

#[test]
fn boxed_local_recorders_each_see_their_own_request() {
    alone(
        "boxed_local_recorders_each_see_their_own_request",
        Place::Boxed,
    );
}

#[test]
fn scattered_local_recorders_each_see_their_own_request() {
    alone(
        "scattered_local_recorders_each_see_their_own_request",
        Place::Scattered,
    );
}

/// Requests through two layers into one recorder with a middleware between them: each is
/// counted once however the middleware treats it, and a request a handler sends is its own.
mod nesting {
    use std::convert::Infallible;

    use axum::Router;
    use axum::body::Body;
    use axum::extract::Request;
    use axum::middleware::{self, Next};
    use http::Response;
    use routemeter::testing::{TestMeter, send};
    use tower::Layer as _;

    fn req(path: &str) -> Request {
        Request::get(path)
            .header("x-a", "1")
            .body(Body::empty())
            .unwrap()
    }

    /// A layer around the whole router sees no route yet; one on the router's routes does.
    #[tokio::test]
    async fn a_layer_around_the_router_and_one_inside() {
        let meter = TestMeter::new();
        let app = Router::new().route("/x", get_ok()).layer(meter.layer());
        let app = meter.layer().layer(app);
        for _ in 0..20 {
            send(app.clone(), req("/x")).await.unwrap();
        }
        meter.snapshot().total().assert_count(20);
    }

    /// A middleware between the layers that rebuilds the request from a copy of its parts,
    /// or sends it twice (a retry): one count per request from the second request on.
    #[tokio::test]
    async fn copies_and_retries_between_layers() {
        let meter = TestMeter::new();
        let app = Router::new()
            .route("/x", get_ok())
            .layer(meter.layer())
            .layer(middleware::from_fn(|req: Request, next: Next| async move {
                let (parts, body) = req.into_parts();
                let first = next
                    .clone()
                    .run(Request::from_parts(parts.clone(), Body::empty()))
                    .await;
                drop(first);
                next.run(Request::from_parts(parts, body)).await
            }))
            .layer(meter.layer());
        send(app.clone(), req("/x")).await.unwrap();
        let first = meter.snapshot().total().count();
        assert!((1..=3).contains(&first), "{first}");
        for _ in 0..10 {
            send(app.clone(), req("/x")).await.unwrap();
        }
        meter.snapshot().total().assert_count(first + 10);
    }

    /// A handler that drops its request, then sends a new one through the same layer: the
    /// new one is counted (its storage may sit where the dropped one's did).
    #[tokio::test]
    async fn a_request_sent_after_the_handler_dropped_its_own() {
        let meter = TestMeter::new();
        let layer = meter
            .layer_builder()
            .route_fn(|r| Some(r.path().to_owned()))
            .build();
        let inner = layer.layer(tower::service_fn(|_r: Request| async {
            Ok::<_, Infallible>(Response::new(Body::from("in")))
        }));
        let outer = layer.layer(tower::service_fn(move |r: Request| {
            drop(r);
            let inner = inner.clone();
            async move {
                let req = Request::get("/inner")
                    .header("x-a", "1")
                    .body(Body::empty())
                    .unwrap();
                send(inner, req).await.unwrap();
                Ok::<_, Infallible>(Response::new(Body::empty()))
            }
        }));
        for _ in 0..50 {
            send(outer.clone(), req("/outer")).await.unwrap();
        }
        let snap = meter.snapshot();
        snap.route("/inner").assert_count(50);
        snap.route("/outer").assert_count(50);
    }

    /// A handler that builds a sub-request from a copy of its own request's parts (copying its
    /// mark) and sends it through a router with the same meter's layer: the sub-request is
    /// routed anew and counted, before and after the recorder is found nested.
    #[tokio::test]
    async fn a_sub_request_built_from_a_copy_of_the_handlers_own() {
        use http_body_util::BodyExt as _;
        use tower::ServiceExt as _;
        let meter = TestMeter::new();
        let doubled = Router::new()
            .route("/l", get_ok())
            .layer(meter.layer())
            .layer(meter.layer());
        let b = Router::new().route("/b", get_ok()).layer(meter.layer());
        let app = Router::new()
            .route(
                "/a",
                axum::routing::get(move |req: Request| {
                    let b = b.clone();
                    async move {
                        let (parts, _) = req.into_parts();
                        let mut copy = parts.clone();
                        copy.uri = "/b".parse().unwrap();
                        let response = b.oneshot(Request::from_parts(copy, Body::empty())).await;
                        response.unwrap().into_body().collect().await.unwrap();
                        "a"
                    }
                }),
            )
            .layer(meter.layer());
        for i in 0..10 {
            if i == 5 {
                // From here on the recorder is known to nest.
                send(doubled.clone(), req("/l")).await.unwrap();
            }
            send(app.clone(), req("/a")).await.unwrap();
        }
        let snap = meter.snapshot();
        snap.route("/a").assert_count(10);
        assert_eq!(
            snap.total().count() - snap.route("/a").count(),
            11,
            "{:?}",
            snap.routes()
        );
    }

    /// Three layers into one recorder: the first request of the process, which finds the
    /// recorder nested, is counted once too.
    #[tokio::test]
    async fn three_layers_count_even_the_first_request_once() {
        let meter = TestMeter::new();
        let app = Router::new()
            .route("/x", get_ok())
            .layer(meter.layer())
            .layer(meter.layer())
            .layer(meter.layer());
        send(app.clone(), req("/x")).await.unwrap();
        meter.snapshot().total().assert_count(1);
        for _ in 0..5 {
            send(app.clone(), req("/x")).await.unwrap();
        }
        meter.snapshot().total().assert_count(6);
    }

    /// More recorders with nested layers than the list of them holds: every layer then marks,
    /// and nothing is lost.
    #[tokio::test]
    async fn more_nested_recorders_than_are_listed() {
        for i in 0..80 {
            let meter = TestMeter::new();
            let app = Router::new()
                .route("/x", get_ok())
                .layer(meter.layer())
                .layer(meter.layer());
            for _ in 0..3 {
                send(app.clone(), req("/x")).await.unwrap();
            }
            assert_eq!(meter.snapshot().total().count(), 3, "meter {i}");
        }
    }

    fn get_ok() -> axum::routing::MethodRouter {
        axum::routing::get(|| async { "ok" })
    }
}
