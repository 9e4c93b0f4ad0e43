//! Records N histogram observations through the Prometheus recorder, with or without native
//! buckets, for instruction counting under callgrind:
//!
//! ```text
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_loop*' \
//!     target/release/deps/native_observe-HASH MODE N
//! ```
//!
//! `MODE` is `classic` or `native`. Run it with two values of N and divide the difference in
//! instructions by the difference in N: set-up and the loop's entry cancel out. Values cycle
//! through 1,000 latencies spread evenly in log scale from 1 ms to 1 s, so the native window
//! holds them at the default schema and no relayout happens in the loop.

use metrics::{Key, Metadata, Recorder as _};

static META: Metadata<'static> = Metadata::new("bench", metrics::Level::INFO, None);

/// The only code callgrind collects.
#[inline(never)]
fn measured_loop(histogram: &metrics::Histogram, values: &[f64], n: usize) {
    for i in 0..n {
        histogram.record(values[i % values.len()]);
    }
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let Some(native) = args.next().map(|m| m == "native") else {
        println!("usage: native_observe classic|native N");
        return;
    };
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let metrics = routemeter::prometheus::PrometheusBuilder::new()
        .process_metrics(false)
        .runtime_metrics(false)
        .native_histograms(native)
        .build()
        .expect("default settings");
    let key = Key::from_parts(
        "http_server_request_duration_seconds",
        vec![metrics::Label::new("http_route", "/users/{id}")],
    );
    let histogram = metrics.recorder().register_histogram(&key, &META);
    let values: Vec<f64> = (0..1000)
        .map(|i| 1e-3 * 1e3f64.powf(f64::from(i) / 1000.0))
        .collect();
    // Warm-up, not collected: the first observation of each value, and one scrape.
    measured_loop(&histogram, &values, values.len());
    let _ = metrics.render_protobuf();
    measured_loop(&histogram, &values, n);
    let out = metrics.render_protobuf();
    println!(
        "observations: {}, protobuf bytes: {}",
        n + values.len(),
        out.len()
    );
}
