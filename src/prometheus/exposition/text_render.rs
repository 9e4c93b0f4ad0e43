//! The text render of the whole store, on every scrape's path: each written family's header
//! and samples in the Prometheus or OpenMetrics text format, into a buffer sized by the last
//! render.

use std::sync::atomic::Ordering;

use super::super::store::{Exposition, FamilyHead, SeriesItem, SeriesRead, Store};
use super::text::{self, Format, Value};

/// Writes the store's walk as text.
struct TextWriter {
    out: String,
    format: Format,
}

impl Exposition for TextWriter {
    fn family(&mut self, head: &FamilyHead<'_>) {
        text::push_header(
            &mut self.out,
            head.name,
            head.kind,
            head.help,
            head.unit,
            self.format,
        );
    }

    fn series(&mut self, family: &FamilyHead<'_>, series: &SeriesItem<'_>) {
        let (out, name, labels) = (&mut self.out, family.name, series.labels);
        match &series.read {
            SeriesRead::Int(v) => text::push_sample(out, name, labels, Value::Int(*v)),
            SeriesRead::Float(v) => text::push_sample(out, name, labels, Value::Float(*v)),
            SeriesRead::Histogram { snapshot, .. } => {
                text::push_histogram(out, name, labels, series.les, snapshot, self.format);
            }
        }
    }
}

impl Store {
    /// Writes every series in `format`.
    pub(crate) fn render(&self, format: Format) -> String {
        let mut out = String::new();
        self.render_into(format, &mut out);
        out
    }

    /// Writes every series in `format` into `out`, cleared first; `out` keeps its capacity,
    /// and grows to the last render's length before the walk, so it grows at most once.
    pub(crate) fn render_into(&self, format: Format, out: &mut String) {
        out.clear();
        out.reserve(self.last_len.load(Ordering::Relaxed) + 1024);
        let mut writer = TextWriter {
            out: std::mem::take(out),
            format,
        };
        self.walk(&mut writer);
        *out = writer.out;
        if format == Format::OpenMetrics {
            out.push_str("# EOF\n");
        }
        self.last_len.store(out.len(), Ordering::Relaxed);
    }
}
