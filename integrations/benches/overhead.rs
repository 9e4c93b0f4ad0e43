//! Time per in-process request for each stack, and the ratio to the bare router measured in
//! the same run; the same on a multi-thread runtime with many concurrent tasks; and the time to
//! render `/metrics` with 1,000 routes × 5 statuses.
//!
//! Run: `cargo bench -p routemeter-integrations --bench overhead`

mod support;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use axum::routing::get;
use criterion::Criterion;
use std::hint::black_box;
use tower::ServiceExt;

/// Total time and iterations per (group, stack), as measured by the runs below.
type Totals = BTreeMap<(&'static str, &'static str), (Duration, u64)>;

static MEANS: Mutex<Totals> = Mutex::new(BTreeMap::new());

fn note(group: &'static str, stack: &'static str, elapsed: Duration, iters: u64) {
    let mut means = MEANS.lock().unwrap();
    let entry = means.entry((group, stack)).or_default();
    entry.0 += elapsed;
    entry.1 += iters;
}

fn per_request(c: &mut Criterion) {
    let rt = support::runtime();
    let mut group = c.benchmark_group("per_request");
    for stack in support::STACKS {
        let app = support::app(stack);
        group.bench_function(stack, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        support::request(&app, 42).await;
                    }
                    let elapsed = start.elapsed();
                    note("per_request", stack, elapsed, iters);
                    elapsed
                })
            });
        });
    }
    group.finish();
}

const TASKS: u64 = 64;

fn concurrent(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("concurrent");
    for stack in support::STACKS {
        let app = support::app(stack);
        group.bench_function(stack, |b| {
            b.iter_custom(|iters| {
                let per_task = iters.div_ceil(TASKS);
                let elapsed = rt.block_on(async {
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|_| {
                            let app = app.clone();
                            tokio::spawn(async move {
                                for _ in 0..per_task {
                                    support::request(&app, 42).await;
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                    start.elapsed()
                });
                // Report time per request, as the single-task group does.
                let done = per_task * TASKS;
                note("concurrent", stack, elapsed, done);
                elapsed.mul_f64(iters as f64 / done as f64)
            });
        });
    }
    group.finish();
}

/// The render variants: default histograms only, and with the body-size histograms too.
const RENDERS: [(&str, bool); 2] = [
    ("1,000 routes x 5 statuses", false),
    ("1,000 routes x 5 statuses, body sizes on", true),
];

fn render(c: &mut Criterion, (name, body_sizes): (&'static str, bool)) {
    let rt = support::runtime();
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .build()
        .unwrap();
    // 1,000 route labels (the first path segment), each answering 5 statuses: 5,000 label
    // sets, the default series budget.
    let layer = metrics
        .layer_builder()
        .body_sizes(body_sizes)
        .route_fn(|req| {
            let path = req.path();
            let end = path[1..].find('/').map_or(path.len(), |i| i + 1);
            Some(path[..end].to_owned())
        })
        .build();
    let app: Router = Router::new()
        .route(
            "/{route}/{status}",
            get(
                |axum::extract::Path((_, status)): axum::extract::Path<(u32, u16)>| async move {
                    StatusCode::from_u16(status).unwrap()
                },
            ),
        )
        .layer(layer);
    rt.block_on(async {
        for route in 0..1000 {
            for status in [200, 201, 404, 500, 503] {
                let req = http::Request::get(format!("/{route}/{status}"))
                    .body(Body::empty())
                    .unwrap();
                app.clone().oneshot(req).await.unwrap();
            }
        }
    });
    let text = metrics.render();
    let lines = text.lines().count();
    let series = text
        .lines()
        .filter(|l| l.starts_with("http_server_request_duration_seconds_count{"))
        .count();
    assert_eq!(
        series, 5_000,
        "the bench must render 1,000 routes x 5 statuses"
    );
    println!(
        "render: {name} = {series} duration series, {lines} exposition lines, {:.1} MB",
        text.len() as f64 / 1e6
    );
    c.bench_function(&format!("render {name}"), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(metrics.render());
            }
            let elapsed = start.elapsed();
            note("render", name, elapsed, iters);
            elapsed
        });
    });
}

fn report() {
    let means = MEANS.lock().unwrap();
    for group in ["per_request", "concurrent"] {
        let bare = means
            .get(&(group, "bare"))
            .map(|(d, n)| d.as_secs_f64() / *n as f64);
        println!("\n{group}: mean time per request, ratio to bare (same run)");
        for stack in support::STACKS {
            if let (Some((d, n)), Some(bare)) = (means.get(&(group, stack)), bare) {
                let mean = d.as_secs_f64() / *n as f64;
                println!(
                    "  {stack:<44} {:>9.3} µs  {:>5.2}x  (+{:.3} µs)",
                    mean * 1e6,
                    mean / bare,
                    (mean - bare) * 1e6
                );
            }
        }
    }
    for (name, _) in RENDERS {
        if let Some((d, n)) = means.get(&("render", name)) {
            println!(
                "\nrender /metrics, {name}: {:.2} ms",
                d.as_secs_f64() / *n as f64 * 1e3
            );
        }
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    per_request(&mut c);
    concurrent(&mut c);
    for variant in RENDERS {
        render(&mut c, variant);
    }
    c.final_summary();
    report();
}
