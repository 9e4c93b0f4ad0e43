//! An OpenTelemetry exporter that counts what reaches it: the duration histogram's count of
//! every export, summed (for delta temporality) and the last one (for cumulative). Shared by the
//! exporter-exactness bench and the OTLP bridge's load test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;

/// What a [`CountingExporter`] saw: (exports, sum of the counts, last count).
pub type Seen = Arc<Mutex<(u64, u64, u64)>>;

/// Counts the duration histogram of every export it is handed.
#[derive(Clone)]
pub struct CountingExporter {
    pub temporality: Temporality,
    pub seen: Seen,
}

impl CountingExporter {
    /// An exporter with `temporality`, and where to read what it saw.
    pub fn new(temporality: Temporality) -> (Self, Seen) {
        let seen = Arc::new(Mutex::new((0, 0, 0)));
        let exporter = Self {
            temporality,
            seen: Arc::clone(&seen),
        };
        (exporter, seen)
    }
}

impl PushMetricExporter for CountingExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let count = duration_count(metrics);
        let mut seen = self.seen.lock().unwrap();
        seen.0 += 1;
        seen.1 += count;
        seen.2 = count;
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

/// The count of the duration histogram (`http.server.request.duration`) in one collection (0
/// when absent).
pub fn duration_count(rm: &ResourceMetrics) -> u64 {
    rm.scope_metrics()
        .flat_map(|s| s.metrics())
        .filter(|m| m.name() == "http.server.request.duration")
        .map(|m| match m.data() {
            AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                h.data_points().map(|p| p.count()).sum::<u64>()
            }
            other => panic!("the duration is not an f64 histogram: {other:?}"),
        })
        .sum()
}
