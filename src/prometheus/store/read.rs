//! Reading one family of the store as data rather than text ([`Store::visit_family`], for the
//! live page).

use std::sync::PoisonError;

use super::super::exposition::text;
use super::Store;
use super::cells::SeriesRead;
use super::labels::LabelPairs;

impl Store {
    /// Calls `visit` with the labels and current value of every series of the metric recorded
    /// as `name` (nothing when there is none). Histograms are read as a scrape reads them.
    ///
    /// Holds the store's read lock throughout: `visit` must not record new series.
    pub(crate) fn visit_family(
        &self,
        name: &str,
        mut visit: impl FnMut(&LabelPairs<'_>, SeriesRead<'_>),
    ) {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let Some(&at) = inner.by_name.get(&text::metric_name(name)) else {
            return;
        };
        let family = &inner.families[at as usize];
        let mut pairs = Vec::new();
        for series in &family.series {
            // The text is this store's own writing, so it always reads back.
            if !text::split_label_text(&series.labels, &mut pairs) {
                continue;
            }
            visit(&pairs, series.cell.read());
        }
    }
}
