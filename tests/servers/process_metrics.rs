//! Process and Tokio runtime metrics: exported by default next to the route metrics, moving
//! with the process, and switchable off.

use std::time::{Duration, Instant};

use routemeter::Naming;
use routemeter::prometheus::PrometheusBuilder;
use routemeter::testing::Snapshot;

fn parse(text: &str) -> Snapshot {
    Snapshot::from_prometheus_text(text, &Naming::default()).unwrap()
}

fn gauge(s: &Snapshot, name: &str) -> f64 {
    s.gauge(name, &[])
        .unwrap_or_else(|| panic!("{name} is missing"))
}

fn burn(d: Duration) {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < d {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_and_runtime_metrics_move() {
    let metrics = PrometheusBuilder::new().build().unwrap();
    let before = parse(&metrics.render());
    assert!(gauge(&before, "process_resident_memory_bytes") > 1_000_000.0);
    assert!(gauge(&before, "process_virtual_memory_bytes") > 0.0);
    assert!(gauge(&before, "process_threads") >= 3.0);
    assert!(gauge(&before, "process_open_fds") >= 3.0);
    assert!(gauge(&before, "process_start_time_seconds") > 1.7e9);
    // A limit of "none" is not reported as 0 (the Go client's value for it is 2^64).
    assert!(gauge(&before, "process_virtual_memory_max_bytes") > 0.0);
    assert!(gauge(&before, "process_max_fds") > 0.0);
    assert_eq!(gauge(&before, "tokio_runtime_workers"), 2.0);
    let cpu_before = before
        .value("process_cpu_seconds_total", &[])
        .expect("process_cpu_seconds_total");
    let busy_before = before
        .value("tokio_runtime_worker_busy_seconds_total", &[])
        .expect("busy seconds");

    // Keep both workers busy for a while.
    let tasks: Vec<_> = (0..2)
        .map(|_| tokio::spawn(async { burn(Duration::from_millis(1100)) }))
        .collect();
    let alive = parse(&metrics.render());
    assert!(gauge(&alive, "tokio_runtime_alive_tasks") >= 1.0);
    for t in tasks {
        t.await.unwrap();
    }

    let after = parse(&metrics.render());
    let cpu_after = after.value("process_cpu_seconds_total", &[]).unwrap();
    assert!(
        cpu_after > cpu_before,
        "CPU seconds {cpu_before} -> {cpu_after}"
    );
    let busy_after = after
        .value("tokio_runtime_worker_busy_seconds_total", &[])
        .expect("busy seconds");
    assert!(
        busy_after >= busy_before + 1.0,
        "busy {busy_before} -> {busy_after}"
    );
    assert!(
        after
            .counter("tokio_runtime_worker_parks_total", &[])
            .is_some()
    );

    let text = metrics.render();
    assert!(
        text.contains("# HELP process_resident_memory_bytes"),
        "{text}"
    );
    assert!(text.contains("# HELP tokio_runtime_workers"), "{text}");
}

/// This process's user and system CPU seconds, from `/proc/self/stat` (clock ticks of 10 ms).
#[cfg(target_os = "linux")]
fn proc_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// CPU seconds have sub-second resolution: a quarter second of work (by the kernel's own
/// count, however loaded the machine is) shows as a quarter second, not as 0 or a whole one.
#[cfg(target_os = "linux")]
#[test]
fn cpu_seconds_are_fractional() {
    let metrics = PrometheusBuilder::new()
        .runtime_metrics(false)
        .build()
        .unwrap();
    let cpu = |m: &routemeter::prometheus::PrometheusMetrics| {
        parse(&m.render())
            .value("process_cpu_seconds_total", &[])
            .expect("process_cpu_seconds_total")
    };
    let before = cpu(&metrics);
    let kernel_before = proc_cpu_seconds();
    let deadline = Instant::now() + Duration::from_secs(20);
    while proc_cpu_seconds() < kernel_before + 0.25 && Instant::now() < deadline {
        burn(Duration::from_millis(10));
    }
    let kernel_used = proc_cpu_seconds() - kernel_before;
    let after = cpu(&metrics);
    let used = after - before;
    assert!(kernel_used >= 0.25, "the machine gave this test no CPU");
    assert!(
        (used - kernel_used).abs() <= 0.05,
        "{kernel_used} CPU seconds used, {used} reported ({before} -> {after})"
    );
    assert!(used < 1.0, "whole seconds: {used}");
}

#[tokio::test]
async fn both_can_be_switched_off() {
    let metrics = crate::common::metrics();
    let text = metrics.render();
    assert!(!text.contains("process_"), "{text}");
    assert!(!text.contains("tokio_"), "{text}");
}

#[test]
fn runtime_metrics_need_a_runtime_or_a_handle() {
    // Built outside any runtime: process metrics only.
    let metrics = PrometheusBuilder::new().build().unwrap();
    let text = metrics.render();
    assert!(text.contains("process_resident_memory_bytes"));
    assert!(!text.contains("tokio_runtime_workers"));
    // Given a handle explicitly: its metrics.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(3)
        .build()
        .unwrap();
    let metrics = PrometheusBuilder::new()
        .tokio_runtime(rt.handle().clone())
        .build()
        .unwrap();
    assert_eq!(
        gauge(&parse(&metrics.render()), "tokio_runtime_workers"),
        3.0
    );
}
