//! Explicit recorders keep layers apart: parallel tests on multi-thread runtimes each see
//! exactly their own requests, and several layers can share one app.

mod common;

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
