//! The text render of the whole store, on every scrape's path: each written family's header
//! and samples in the Prometheus or OpenMetrics text format, then the count of series left
//! out, into a buffer sized by the last render.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use super::super::exposition::text::{self, Format, Value};
use super::Store;
use super::cells::Cell;

impl Store {
    /// Writes every series in `format`.
    pub(crate) fn render(&self, format: Format) -> String {
        let mut out = String::with_capacity(self.last_len.load(Ordering::Relaxed) + 1024);
        {
            let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            for (name, family) in &inner.families {
                let Some(kind) = family.kind.filter(|_| !family.series.is_empty()) else {
                    continue;
                };
                if family.dropped_by.is_some() {
                    continue;
                }
                text::push_header(
                    &mut out,
                    name,
                    kind,
                    family.help.as_deref(),
                    family.unit,
                    format,
                );
                for series in family.series.values() {
                    let labels = &series.labels;
                    match &series.cell {
                        Cell::Counter(c) => text::push_sample(
                            &mut out,
                            name,
                            labels,
                            Value::Int(c.0.load(Ordering::Relaxed)),
                        ),
                        Cell::FloatCounter(c) | Cell::Gauge(c) => {
                            text::push_sample(&mut out, name, labels, Value::Float(c.value()));
                        }
                        Cell::Histogram(h) => {
                            let snapshot = h.0.snapshot();
                            let les = series
                                .les
                                .as_deref()
                                .or(family.les.as_ref().map(|(_, les)| &**les))
                                .unwrap_or_default();
                            text::push_histogram(&mut out, name, labels, les, &snapshot, format);
                        }
                    }
                }
            }
            self.render_dropped(&inner, &mut out, format);
        }
        if format == Format::OpenMetrics {
            out.push_str("# EOF\n");
        }
        self.last_len.store(out.len(), Ordering::Relaxed);
        out
    }
}
