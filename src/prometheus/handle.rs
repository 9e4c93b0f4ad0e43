//! The handle a set-up returns: [`PrometheusMetrics`], which renders the recorder's exposition
//! in each format and builds layers that record into it with the matching names.

use std::fmt;
use std::sync::{Arc, OnceLock};

use super::exposition::protobuf;
use super::exposition::recycle::Buffers;
use super::exposition::scrape::SharedRenders;
use super::exposition::text::Format;
use super::live::Live;
use super::process::Collectors;
use super::store::PrometheusRecorder;
use crate::layer::{RouteMeterBuilder, RouteMeterLayer};
use crate::names::Naming;

/// A Prometheus recorder set up for routemeter: renders the exposition and builds layers that
/// record into it with matching names. Cheap to clone.
#[derive(Clone)]
pub struct PrometheusMetrics {
    pub(super) recorder: PrometheusRecorder,
    /// Whether `recorder` is the installed global recorder.
    global: bool,
    pub(super) naming: Naming,
    exemplars: bool,
    collectors: Arc<Collectors>,
    pub(super) renders: Arc<SharedRenders>,
    /// The buffers the endpoint's text renders are written into.
    pub(super) buffers: Arc<Buffers>,
    /// The live page's history, made by the first page or JSON asked for.
    pub(super) live: Arc<OnceLock<Arc<Live>>>,
    /// Labels the live page keeps its rows apart by, as the exposition writes them.
    pub(super) live_labels: Arc<[Box<str>]>,
}

impl fmt::Debug for PrometheusMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusMetrics")
            .field("naming", &self.naming)
            .field("global", &self.global)
            .field("exemplars", &self.exemplars)
            .finish_non_exhaustive()
    }
}

impl PrometheusMetrics {
    /// The handle of a recorder just set up, with no render shared yet and no live page.
    pub(super) fn new(
        recorder: PrometheusRecorder,
        global: bool,
        naming: Naming,
        exemplars: bool,
        collectors: Arc<Collectors>,
        live_labels: Arc<[Box<str>]>,
    ) -> Self {
        Self {
            recorder,
            global,
            naming,
            exemplars,
            collectors,
            renders: Arc::default(),
            buffers: Arc::default(),
            live: Arc::default(),
            live_labels,
        }
    }

    /// The current metrics in the Prometheus text exposition format (0.0.4), after collecting
    /// the process and runtime metrics.
    #[must_use]
    pub fn render(&self) -> String {
        self.collect();
        self.recorder.store.render(Format::Prometheus)
    }

    /// What [`render`](Self::render) gives, written into `out` (cleared first), so that a
    /// caller who renders again and again reuses one buffer: once `out` has grown to the
    /// text's size, a render asks the system for no new memory. The `/metrics` endpoint
    /// ([`scrape`](Self::scrape)) does the same with buffers of its own.
    pub fn render_into(&self, out: &mut String) {
        self.collect();
        self.recorder.store.render_into(Format::Prometheus, out);
    }

    /// The current metrics in the OpenMetrics text format, with exemplars, after collecting
    /// the process and runtime metrics.
    #[must_use]
    pub fn render_openmetrics(&self) -> String {
        self.collect();
        self.recorder.store.render(Format::OpenMetrics)
    }

    /// The current metrics in the Prometheus protobuf format
    /// ([`PROTOBUF_CONTENT_TYPE`](super::PROTOBUF_CONTENT_TYPE)): delimited `MetricFamily`
    /// messages, with native buckets when
    /// [`native_histograms`](super::PrometheusBuilder::native_histograms) is on, after collecting the
    /// process and runtime metrics.
    #[must_use]
    pub fn render_protobuf(&self) -> Vec<u8> {
        self.collect();
        protobuf::render(&self.recorder.store)
    }

    /// Records the current process and runtime metrics (what [`render`](Self::render) does
    /// first).
    pub fn collect(&self) {
        self.collectors.collect(&self.recorder);
    }

    /// The recorder itself, for code that records through it directly (for example with
    /// `metrics::with_local_recorder`).
    #[must_use]
    pub fn recorder(&self) -> &PrometheusRecorder {
        &self.recorder
    }

    /// The names this recorder's bucket settings were made for.
    #[must_use]
    pub fn naming(&self) -> &Naming {
        &self.naming
    }

    /// A layer builder that records into this recorder with the matching names.
    ///
    /// Its layers hold this recorder, so a request asks the facade for nothing, even when
    /// this is the installed global recorder; with layers built on the global recorder
    /// ([`RouteMeterLayer::new`]) they are still layers into one recorder, and a request
    /// that passes through both is recorded once.
    pub fn layer_builder(&self) -> RouteMeterBuilder {
        RouteMeterLayer::builder()
            .naming(self.naming.clone())
            .exemplars(self.exemplars)
            .recorder(self.recorder.clone())
    }

    /// A layer with default settings that records into this recorder with the matching names.
    #[must_use]
    pub fn layer(&self) -> RouteMeterLayer {
        self.layer_builder().build()
    }
}
