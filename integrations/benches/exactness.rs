//! Are all requests counted while scrapes run? Sends N requests (10,000,000 unless given) on 4
//! threads through a routemeter layer while a fifth thread renders `/metrics` in a loop, then
//! compares the exported `_count` with N, for routemeter's Prometheus recorder and for
//! metrics-exporter-prometheus 0.18 (which buffers histogram samples and drains them on render).
//!
//! Then it times one histogram observation through the recorder's handle, from one thread and
//! from two threads at once, on the same histogram and on two separate ones: what contention
//! on one hot route's histogram costs with both cores.
//!
//! Usage: `cargo bench -p routemeter-integrations --bench exactness [-- REQUESTS [ROUNDS]]`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use routemeter_integrations::drive;

const THREADS: u64 = 4;

/// Renders the exposition (and, for an exporter that needs it, drains it first).
type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// The `_count` of the duration histogram of route `/hot` in `text`.
fn count(text: &str) -> u64 {
    text.lines()
        .find(|l| {
            l.starts_with("http_server_request_duration_seconds_count{")
                && l.contains("http_route=\"/hot\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Runs `requests` through `layer` on [`THREADS`] threads while `render` loops; returns the
/// count the last render exported and the renders done meanwhile.
fn run(layer: &routemeter::RouteMeterLayer, requests: u64, render: &Render) -> (u64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (stop, render) = (Arc::clone(&stop), Arc::clone(render));
        std::thread::spawn(move || {
            let mut renders = 0;
            while !stop.load(Ordering::Relaxed) {
                std::hint::black_box(render());
                renders += 1;
            }
            renders
        })
    };
    drive::send(layer, requests, THREADS);
    stop.store(true, Ordering::Relaxed);
    let renders = scraper.join().unwrap();
    (count(&render()), renders)
}

/// Nanoseconds per observation with `threads` threads each recording `n` values, into one
/// shared histogram or one histogram per thread.
fn contention(threads: usize, shared: bool, n: u64) -> f64 {
    use metrics::Recorder;
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .process_metrics(false)
        .runtime_metrics(false)
        .build()
        .unwrap();
    static META: metrics::Metadata<'static> =
        metrics::Metadata::new("bench", metrics::Level::INFO, None);
    let handles: Vec<metrics::Histogram> = (0..threads)
        .map(|i| {
            let label = if shared { 0 } else { i };
            let key = metrics::Key::from_parts(
                "http_server_request_duration_seconds",
                vec![metrics::Label::new("t", label.to_string())],
            );
            metrics.recorder().register_histogram(&key, &META)
        })
        .collect();
    let barrier = Arc::new(std::sync::Barrier::new(threads));
    let started = Instant::now();
    let workers: Vec<_> = handles
        .into_iter()
        .map(|h| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..n {
                    h.record(0.001 * (i % 100) as f64);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    started.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse::<u64>().expect("numbers: REQUESTS [ROUNDS]"));
    let requests = args.next().unwrap_or(10_000_000) / THREADS * THREADS;
    let rounds = args.next().unwrap_or(1);
    println!("{requests} requests per round on {THREADS} threads, renders looping beside them");
    for round in 1..=rounds {
        let metrics = routemeter::prometheus::PrometheusBuilder::new()
            .process_metrics(false)
            .runtime_metrics(false)
            .build()
            .unwrap();
        let layer = metrics.layer_builder().route_fn(|_| Some("/hot")).build();
        let started = Instant::now();
        let render: Render = Arc::new(move || metrics.render());
        let (counted, renders) = run(&layer, requests, &render);
        println!(
            "round {round}: routemeter recorder             counted {counted:>10}, lost {:>8}, {renders:>5} renders, {:.1} s",
            requests - counted,
            started.elapsed().as_secs_f64()
        );

        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(routemeter::DEFAULT_DURATION_BUCKETS)
            .unwrap()
            .build_recorder();
        let handle = recorder.handle();
        let layer = routemeter::RouteMeterLayer::builder()
            .recorder(recorder)
            .route_fn(|_| Some("/hot"))
            .build();
        let started = Instant::now();
        let render: Render = Arc::new(move || {
            handle.run_upkeep();
            handle.render()
        });
        let (counted, renders) = run(&layer, requests, &render);
        println!(
            "round {round}: metrics-exporter-prometheus   counted {counted:>10}, lost {:>8}, {renders:>5} renders, {:.1} s",
            requests - counted,
            started.elapsed().as_secs_f64()
        );
    }
    let n = 20_000_000;
    println!("\none histogram observation (wall time per observation per thread, {n} each):");
    println!(
        "  1 thread                          {:>6.1} ns",
        contention(1, true, n)
    );
    println!(
        "  2 threads, one shared histogram   {:>6.1} ns",
        contention(2, true, n)
    );
    println!(
        "  2 threads, a histogram each       {:>6.1} ns",
        contention(2, false, n)
    );
}
