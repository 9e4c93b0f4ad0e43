//! Process and Tokio runtime metrics, collected each time `/metrics` is rendered.
//!
//! Process metrics are read by the `metrics-process` crate and written with the conventional
//! Prometheus names: `process_cpu_seconds_total` (a float counter, microsecond resolution),
//! `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
//! `process_virtual_memory_max_bytes` and `process_max_fds` (both `1.8446744073709552e19`, the
//! "unlimited" value of the Go client, when there is no limit), `process_open_fds`,
//! `process_threads`, `process_start_time_seconds`.
//!
//! Runtime metrics come from Tokio's stable runtime metrics: `tokio_runtime_workers`,
//! `tokio_runtime_alive_tasks`, `tokio_runtime_global_queue_depth`, and on targets with 64-bit
//! atomics `tokio_runtime_worker_busy_seconds_total` (busy time summed over workers since start;
//! a float counter, so `rate()` of it is the number of busy workers) and
//! `tokio_runtime_worker_parks_total`.

use metrics::{Key, Level, Metadata, Recorder, Unit};

use super::store::PrometheusRecorder;

static META: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

/// What a resource limit of "none" is reported as (`RLIM_INFINITY`, as the Go client does).
const UNLIMITED: f64 = u64::MAX as f64;

/// The process gauges: name, unit, help.
const PROCESS_GAUGES: [(&str, Unit, &str); 7] = [
    (
        "process_open_fds",
        Unit::Count,
        "Number of open file descriptors.",
    ),
    (
        "process_max_fds",
        Unit::Count,
        "Maximum number of open file descriptors.",
    ),
    (
        "process_virtual_memory_bytes",
        Unit::Bytes,
        "Virtual memory size in bytes.",
    ),
    (
        "process_virtual_memory_max_bytes",
        Unit::Bytes,
        "Maximum amount of virtual memory available in bytes.",
    ),
    (
        "process_resident_memory_bytes",
        Unit::Bytes,
        "Resident memory size in bytes.",
    ),
    (
        "process_start_time_seconds",
        Unit::Seconds,
        "Start time of the process since unix epoch in seconds.",
    ),
    (
        "process_threads",
        Unit::Count,
        "Number of OS threads in the process.",
    ),
];

/// The collectors a Prometheus set-up runs before each render.
pub(crate) struct Collectors {
    process: bool,
    runtime: Option<tokio::runtime::Handle>,
}

impl std::fmt::Debug for Collectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collectors")
            .field("process", &self.process)
            .field("runtime", &self.runtime.is_some())
            .finish()
    }
}

fn gauge(r: &PrometheusRecorder, name: &'static str, value: f64) {
    r.register_gauge(&Key::from_static_name(name), &META)
        .set(value);
}

impl Collectors {
    pub(crate) fn new(process: bool, runtime: Option<tokio::runtime::Handle>) -> Self {
        Self { process, runtime }
    }

    /// Describes every series.
    pub(crate) fn describe(&self, r: &PrometheusRecorder) {
        if self.process {
            r.describe_counter(
                "process_cpu_seconds_total".into(),
                Some(Unit::Seconds),
                "Total user and system CPU time spent in seconds.".into(),
            );
            for (name, unit, help) in PROCESS_GAUGES {
                r.describe_gauge(name.into(), Some(unit), help.into());
            }
        }
        if self.runtime.is_some() {
            metrics::with_local_recorder(r, describe_runtime);
        }
    }

    /// Records current values.
    pub(crate) fn collect(&self, r: &PrometheusRecorder) {
        if self.process {
            let m = metrics_process::collector::collect();
            if let Some(cpu) = m.cpu_seconds_total {
                r.store.set_float_counter("process_cpu_seconds_total", cpu);
            }
            // `metrics-process` reports "no limit" as 0; no running process has a limit of 0.
            let limit = |v: u64| if v == 0 { UNLIMITED } else { v as f64 };
            let values = [
                m.open_fds.map(|v| v as f64),
                m.max_fds.map(limit),
                m.virtual_memory_bytes.map(|v| v as f64),
                m.virtual_memory_max_bytes.map(limit),
                m.resident_memory_bytes.map(|v| v as f64),
                m.start_time_seconds.map(|v| v as f64),
                m.threads.map(|v| v as f64),
            ];
            for ((name, _, _), value) in PROCESS_GAUGES.iter().zip(values) {
                if let Some(v) = value {
                    gauge(r, name, v);
                }
            }
        }
        if let Some(runtime) = &self.runtime {
            metrics::with_local_recorder(r, || collect_runtime(runtime));
            #[cfg(target_has_atomic = "64")]
            {
                let m = runtime.metrics();
                let busy: f64 = (0..m.num_workers())
                    .map(|w| m.worker_total_busy_duration(w).as_secs_f64())
                    .sum();
                r.store
                    .set_float_counter("tokio_runtime_worker_busy_seconds_total", busy);
            }
        }
    }
}

fn describe_runtime() {
    metrics::describe_gauge!(
        "tokio_runtime_workers",
        Unit::Count,
        "Worker threads of the Tokio runtime."
    );
    metrics::describe_gauge!(
        "tokio_runtime_alive_tasks",
        Unit::Count,
        "Tasks alive in the Tokio runtime."
    );
    metrics::describe_gauge!(
        "tokio_runtime_global_queue_depth",
        Unit::Count,
        "Tasks waiting in the Tokio runtime's global queue."
    );
    #[cfg(target_has_atomic = "64")]
    {
        metrics::describe_counter!(
            "tokio_runtime_worker_busy_seconds_total",
            Unit::Seconds,
            "Time Tokio workers spent busy, summed over workers, since the runtime started."
        );
        metrics::describe_counter!(
            "tokio_runtime_worker_parks_total",
            Unit::Count,
            "Times Tokio workers parked, summed over workers."
        );
    }
}

fn collect_runtime(runtime: &tokio::runtime::Handle) {
    let m = runtime.metrics();
    metrics::gauge!("tokio_runtime_workers").set(m.num_workers() as f64);
    metrics::gauge!("tokio_runtime_alive_tasks").set(m.num_alive_tasks() as f64);
    metrics::gauge!("tokio_runtime_global_queue_depth").set(m.global_queue_depth() as f64);
    #[cfg(target_has_atomic = "64")]
    {
        let parks: u64 = (0..m.num_workers()).map(|w| m.worker_park_count(w)).sum();
        metrics::counter!("tokio_runtime_worker_parks_total").absolute(parks);
    }
}
