//! Reading the store as data rather than text: every family's series with their label pairs
//! and values ([`Store::visit_all`], for the protobuf format), or one family's
//! ([`Store::visit_family`], for the live page).

use std::sync::PoisonError;

use super::super::clash;
use super::super::exposition::text::{self, Kind};
use super::Store;
use super::cells::SeriesRead;
use super::dropped::DROPPED_HELP;
use super::labels::LabelPairs;

impl Store {
    /// Calls `visit` with the name, kind and help of each family in render order, and the
    /// labels and value of each of its series (families without series are skipped).
    ///
    /// Holds the store's read lock throughout: `visit` must not record new series.
    pub(crate) fn visit_all(
        &self,
        mut visit: impl FnMut(&str, Kind, Option<&str>, &LabelPairs<'_>, SeriesRead<'_>),
    ) {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut pairs = Vec::new();
        for (name, family) in &inner.families {
            let Some(kind) = family.kind else { continue };
            // Left out of every format alike (see `clash`): counted below instead.
            if family.dropped_by.is_some() {
                continue;
            }
            for series in family.series.values() {
                if !text::split_label_text(&series.labels, &mut pairs) {
                    continue;
                }
                visit(
                    name,
                    kind,
                    family.help.as_deref(),
                    &pairs,
                    series.cell.read(),
                );
            }
        }
        for (labels, count) in self.left_out_counts(&inner) {
            let mut dropped_pairs = Vec::new();
            if text::split_label_text(&labels, &mut dropped_pairs) {
                visit(
                    clash::DROPPED,
                    Kind::Counter,
                    Some(DROPPED_HELP),
                    &dropped_pairs,
                    SeriesRead::Int(count),
                );
            }
        }
    }

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
        let Some(family) = inner.families.get(&text::metric_name(name)) else {
            return;
        };
        let mut pairs = Vec::new();
        for series in family.series.values() {
            // The text is this store's own writing, so it always reads back.
            if !text::split_label_text(&series.labels, &mut pairs) {
                continue;
            }
            visit(&pairs, series.cell.read());
        }
    }
}
