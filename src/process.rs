//! Process and Tokio runtime metrics, collected each time `/metrics` is rendered.
//!
//! Process metrics come from the `metrics-process` crate, with the conventional Prometheus names:
//! `process_cpu_seconds_total` (whole seconds: `metrics` counters are integers),
//! `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
//! `process_virtual_memory_max_bytes`, `process_open_fds`, `process_max_fds`, `process_threads`,
//! `process_start_time_seconds`.
//!
//! Runtime metrics come from Tokio's stable runtime metrics: `tokio_runtime_workers`,
//! `tokio_runtime_alive_tasks`, `tokio_runtime_global_queue_depth`, and on targets with 64-bit
//! atomics `tokio_runtime_worker_busy_seconds` (busy time summed over workers since start; a
//! cumulative gauge, so `rate()` of it is the number of busy workers) and
//! `tokio_runtime_worker_parks_total`.

use metrics::Unit;

/// The collectors a Prometheus set-up runs before each render.
pub(crate) struct Collectors {
    process: Option<metrics_process::Collector>,
    runtime: Option<tokio::runtime::Handle>,
}

impl std::fmt::Debug for Collectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collectors")
            .field("process", &self.process.is_some())
            .field("runtime", &self.runtime.is_some())
            .finish()
    }
}

impl Collectors {
    pub(crate) fn new(process: bool, runtime: Option<tokio::runtime::Handle>) -> Self {
        Self {
            process: process.then(metrics_process::Collector::default),
            runtime,
        }
    }

    /// Describes every series, into the facade's current recorder.
    pub(crate) fn describe(&self) {
        if let Some(process) = &self.process {
            process.describe();
        }
        if self.runtime.is_some() {
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
                metrics::describe_gauge!(
                    "tokio_runtime_worker_busy_seconds",
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
    }

    /// Records current values, into the facade's current recorder.
    pub(crate) fn collect(&self) {
        if let Some(process) = &self.process {
            process.collect();
        }
        if let Some(runtime) = &self.runtime {
            let m = runtime.metrics();
            metrics::gauge!("tokio_runtime_workers").set(m.num_workers() as f64);
            metrics::gauge!("tokio_runtime_alive_tasks").set(m.num_alive_tasks() as f64);
            metrics::gauge!("tokio_runtime_global_queue_depth").set(m.global_queue_depth() as f64);
            #[cfg(target_has_atomic = "64")]
            {
                let workers = 0..m.num_workers();
                let busy: f64 = workers
                    .clone()
                    .map(|w| m.worker_total_busy_duration(w).as_secs_f64())
                    .sum();
                let parks: u64 = workers.map(|w| m.worker_park_count(w)).sum();
                metrics::gauge!("tokio_runtime_worker_busy_seconds").set(busy);
                metrics::counter!("tokio_runtime_worker_parks_total").absolute(parks);
            }
        }
    }
}
