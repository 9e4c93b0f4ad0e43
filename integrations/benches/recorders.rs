//! Three Prometheus recorders side by side, in one run, on one workload: routemeter's,
//! prometheus-client (the official Rust client) and metrics-exporter-prometheus. The workload
//! is a 14-bound duration histogram (the OpenTelemetry bounds, routemeter's default) over
//! R routes × 5 statuses, with 20 observations in each series; process and runtime metrics
//! are off.
//!
//! A fourth row, `routemeter-native`, is routemeter's recorder with native histograms on
//! (schema 3), for what the exponential buckets kept beside the fixed ones cost; the native
//! windows start narrow and widen once values spread, so a last pair of lines gives the memory
//! per series of both routemeter recorders for values within a factor of 8 (10 to 80 ms).
//!
//! It prints, per recorder:
//! - memory per series after filling R = 1,000 (RSS growth over the empty recorder, median of
//!   three fresh processes of this binary);
//! - time per observation on a held handle (the three timed in turn, 21 rounds of 1,000,000
//!   each, the median round), and its ratio to routemeter's;
//! - render time per series at R = 100, 1,000 and 10,000 (median of 5 renders each, each
//!   recorder reusing its buffer where it can: see [`Recorder::render_into`]), and how much it
//!   grows from 100 to 10,000;
//! - exactness: two threads record 2,000,000 observations each while a third renders every
//!   10 ms; the last render's `_count` must equal what was recorded.
//!
//! Instructions per observation come from `scripts/bench-recorders.sh`, which runs this
//! binary's `observe` mode under callgrind.
//!
//! Usage: `cargo bench -p routemeter-integrations --bench recorders` (about a minute).
//! Internal modes: `fill KIND ROUTES`, `observe KIND N`, `render KIND ROUTES`.

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use metrics::{Key, Label, Recorder as _};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram as PcHistogram;
use prometheus_client::registry::Registry;

const NAME: &str = "http_server_request_duration_seconds";
const STATUSES: [&str; 5] = ["200", "201", "404", "500", "503"];
const PER_SERIES: usize = 20;
const KINDS: [&str; 4] = [
    "routemeter",
    "prometheus-client",
    "metrics-exporter-prometheus",
    "routemeter-native",
];

static META: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);

/// A value that lands in a different bucket for each observation.
fn value(i: usize) -> f64 {
    routemeter::DEFAULT_DURATION_BUCKETS[i % routemeter::DEFAULT_DURATION_BUCKETS.len()] * 0.9
}

/// A value within a factor of 8 of every other: 10 to 80 ms, as a steady route's latencies
/// might be.
fn narrow_value(i: usize) -> f64 {
    0.010 * (1.0 + 7.0 * (i % PER_SERIES) as f64 / PER_SERIES as f64)
}

type PcLabels = Vec<(String, String)>;

fn pc_histogram() -> PcHistogram {
    PcHistogram::new(routemeter::DEFAULT_DURATION_BUCKETS.iter().copied())
}

/// One recorder with its histogram family, a handle per series, and its render.
enum Recorder {
    Routemeter(routemeter::prometheus::PrometheusMetrics),
    PrometheusClient(Registry, Family<PcLabels, PcHistogram, fn() -> PcHistogram>),
    Exporter(metrics_exporter_prometheus::PrometheusRecorder),
}

/// A held handle to one series.
enum Handle {
    Metrics(metrics::Histogram),
    PrometheusClient(PcHistogram),
}

impl Handle {
    #[inline]
    fn observe(&self, v: f64) {
        match self {
            Self::Metrics(h) => h.record(v),
            Self::PrometheusClient(h) => h.observe(v),
        }
    }
}

impl Recorder {
    fn new(kind: &str) -> Self {
        match kind {
            "routemeter" | "routemeter-native" => Self::Routemeter(
                routemeter::prometheus::PrometheusBuilder::new()
                    .process_metrics(false)
                    .runtime_metrics(false)
                    .native_histograms(kind == "routemeter-native")
                    .build()
                    .unwrap(),
            ),
            "prometheus-client" => {
                let mut registry = Registry::default();
                let family =
                    Family::<PcLabels, PcHistogram, fn() -> PcHistogram>::new_with_constructor(
                        pc_histogram,
                    );
                registry.register(NAME, "Request durations.", family.clone());
                Self::PrometheusClient(registry, family)
            }
            "metrics-exporter-prometheus" => Self::Exporter(
                metrics_exporter_prometheus::PrometheusBuilder::new()
                    .set_buckets(routemeter::DEFAULT_DURATION_BUCKETS)
                    .unwrap()
                    .build_recorder(),
            ),
            other => panic!("no recorder {other}"),
        }
    }

    fn handle(&self, route: usize, status: &str) -> Handle {
        let labels = [
            ("http_request_method", "GET".to_owned()),
            ("http_route", format!("/route/{route}")),
            ("http_response_status_code", status.to_owned()),
        ];
        match self {
            Self::Routemeter(m) => {
                Handle::Metrics(m.recorder().register_histogram(&key(&labels), &META))
            }
            Self::Exporter(r) => Handle::Metrics(r.register_histogram(&key(&labels), &META)),
            Self::PrometheusClient(_, family) => {
                let labels: PcLabels = labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect();
                Handle::PrometheusClient(family.get_or_create(&labels).clone())
            }
        }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    /// Renders into `out`, through each recorder's own way of reusing a buffer where it has
    /// one: routemeter's `render_into` (what its `/metrics` endpoint does with buffers of its
    /// own) and prometheus-client's `encode` into a cleared `String`. metrics-exporter-prometheus
    /// only returns a new `String`.
    fn render_into(&self, out: &mut String) {
        match self {
            Self::Routemeter(m) => m.render_into(out),
            Self::Exporter(r) => *out = r.handle().render(),
            Self::PrometheusClient(registry, _) => {
                out.clear();
                prometheus_client::encoding::text::encode(out, registry).unwrap();
            }
        }
    }

    /// R routes × 5 statuses, 20 observations of `value` in each series; the handles are
    /// dropped.
    fn fill(&self, routes: usize, value: fn(usize) -> f64) {
        for route in 0..routes {
            for status in STATUSES {
                let h = self.handle(route, status);
                for i in 0..PER_SERIES {
                    h.observe(value(i));
                }
            }
        }
    }
}

fn key(labels: &[(&'static str, String)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, v.clone()))
        .collect();
    Key::from_parts(NAME, labels)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

/// Minor page faults of this process so far (`/proc/self/stat`, field 10).
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name, in parentheses, may hold spaces: count fields after it.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    rest.split_whitespace()
        .nth(7)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `_count` summed over every series of the family, from a text render.
fn total_count(text: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{NAME}_count")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// Memory per series: in a fresh process (this binary in `fill` mode), RSS growth from the
/// empty recorder to one holding `routes` × 5 series.
fn memory_per_series(kind: &str, routes: usize) -> f64 {
    let runs: Vec<f64> = (0..3)
        .map(|_| {
            let out = Command::new(std::env::current_exe().unwrap())
                .args(["fill", kind, &routes.to_string()])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            text.trim()
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("fill {kind}: {text}"))
        })
        .collect();
    median(runs)
}

/// Time per observation on a held handle, for each of [`KINDS`]: 21 rounds, each timing
/// 1,000,000 observations of every recorder in turn (the order rotating), so that a slow
/// moment of the machine falls on all of them alike; the median round per recorder.
fn observe_ns() -> Vec<f64> {
    const N: usize = 1_000_000;
    const ROUNDS: usize = 21;
    let recorders: Vec<Recorder> = KINDS.iter().map(|k| Recorder::new(k)).collect();
    let handles: Vec<Handle> = recorders.iter().map(|r| r.handle(0, "200")).collect();
    let mut runs = vec![Vec::new(); KINDS.len()];
    for round in 0..ROUNDS {
        for i in 0..KINDS.len() {
            let k = (i + round) % KINDS.len();
            let start = Instant::now();
            for j in 0..N {
                handles[k].observe(black_box(value(j)));
            }
            runs[k].push(start.elapsed().as_nanos() as f64 / N as f64);
        }
    }
    runs.into_iter().map(median).collect()
}

fn render_us_per_series(kind: &str, routes: usize) -> f64 {
    let recorder = Recorder::new(kind);
    recorder.fill(routes, value);
    let series = (routes * STATUSES.len()) as f64;
    let mut text = String::new();
    let runs: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            recorder.render_into(&mut text);
            let took = start.elapsed();
            black_box(text.len());
            took.as_secs_f64() * 1e6 / series
        })
        .collect();
    median(runs)
}

/// Records 2 × 2,000,000 observations on two threads while a third renders every 10 ms;
/// returns (recorded, counted by a render after the writers have finished).
fn exactness(kind: &str) -> (u64, u64) {
    const PER_THREAD: usize = 2_000_000;
    let recorder = Arc::new(Recorder::new(kind));
    let done = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (recorder, done) = (Arc::clone(&recorder), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut renders = 0_u64;
            while !done.load(Ordering::Relaxed) {
                black_box(recorder.render().len());
                renders += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            renders
        })
    };
    let writers: Vec<_> = (0..2)
        .map(|t| {
            let recorder = Arc::clone(&recorder);
            std::thread::spawn(move || {
                let h = recorder.handle(t, "200");
                for i in 0..PER_THREAD {
                    h.observe(value(i));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    scraper.join().unwrap();
    ((2 * PER_THREAD) as u64, total_count(&recorder.render()))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--list") => return,
        Some("fill") => {
            let (kind, value) = match args[1].strip_suffix("-narrow") {
                Some(kind) => (kind, narrow_value as fn(usize) -> f64),
                None => (args[1].as_str(), value as fn(usize) -> f64),
            };
            let recorder = Recorder::new(kind);
            let routes: usize = args[2].parse().unwrap();
            // The empty recorder with one series of each shape already made, so the figure is
            // the growth per series, not one-off set-up.
            recorder.fill(1, value);
            let before = rss_bytes();
            recorder.fill(routes + 1, value);
            let after = rss_bytes();
            black_box(&recorder);
            println!(
                "{}",
                (after - before) as f64 / (routes * STATUSES.len()) as f64
            );
            return;
        }
        Some("render") => {
            let recorder = Recorder::new(&args[1]);
            let routes: usize = args[2].parse().unwrap();
            recorder.fill(routes, value);
            let mut text = String::new();
            recorder.render_into(&mut text);
            let faults = minor_faults();
            let start = Instant::now();
            measured_render(&recorder, &mut text);
            let took = start.elapsed();
            let series = (routes * STATUSES.len()) as f64;
            println!(
                "render of {series} series: {:.2} µs and {:.2} minor page faults per series",
                took.as_secs_f64() * 1e6 / series,
                (minor_faults() - faults) as f64 / series
            );
            return;
        }
        Some("observe") => {
            let recorder = Recorder::new(&args[1]);
            let n: usize = args[2].parse().unwrap();
            let h = recorder.handle(0, "200");
            measured_loop(&h, n);
            return;
        }
        _ => {}
    }

    println!(
        "{:<30} {:>14} {:>14} {:>8} {:>12} {:>12} {:>12} {:>8} {:>20}",
        "recorder",
        "B/series",
        "ns/observe",
        "ratio",
        "µs/ser R=100",
        "R=1,000",
        "R=10,000",
        "growth",
        "exact (recorded/seen)"
    );
    let observes = observe_ns();
    let base_observe = observes[0];
    for (kind, observe) in KINDS.into_iter().zip(observes) {
        let memory = memory_per_series(kind, 1000);
        let renders: Vec<f64> = [100, 1000, 10_000]
            .into_iter()
            .map(|r| render_us_per_series(kind, r))
            .collect();
        let (recorded, seen) = exactness(kind);
        println!(
            "{:<30} {:>14.0} {:>14.2} {:>8.2} {:>12.2} {:>12.2} {:>12.2} {:>8.2} {:>20}",
            kind,
            memory,
            observe,
            observe / base_observe,
            renders[0],
            renders[1],
            renders[2],
            renders[2] / renders[0],
            format!(
                "{recorded}/{seen}{}",
                if recorded == seen { "" } else { " LOST" }
            ),
        );
    }
    // Native windows start narrow and widen once values spread: the workload above spreads
    // them (0.0045 to 9 s); values within a factor of 8 keep them narrow.
    for kind in ["routemeter-native-narrow", "routemeter-narrow"] {
        println!(
            "{kind}: {:.0} B/series with values from 10 to 80 ms",
            memory_per_series(kind, 1000)
        );
    }
}

/// The render `scripts/bench-recorders.sh` counts instructions over (after a first one).
#[inline(never)]
fn measured_render(recorder: &Recorder, text: &mut String) {
    recorder.render_into(text);
    black_box(text.len());
}

/// The loop `scripts/bench-recorders.sh` counts instructions over (and nothing else).
#[inline(never)]
fn measured_loop(h: &Handle, n: usize) {
    for i in 0..n {
        h.observe(black_box(value(i)));
    }
}
