//! The one walk of the store that every exposition format takes: each written family in
//! render order with its series (label text, value, `le` values), then the count of series
//! left out of the exposition as a family of its own. The text formats
//! ([`crate::prometheus::exposition::text_render`]) and protobuf
//! ([`crate::prometheus::exposition::protobuf`]) differ only in how they write what it gives.

use std::sync::PoisonError;

use metrics::Unit;

use super::super::clash;
use super::super::exposition::text::Kind;
use super::Store;
use super::cells::SeriesRead;
use super::dropped::DROPPED_HELP;

/// A family about to be written: it has at least one series.
pub(crate) struct FamilyHead<'a> {
    pub(crate) name: &'a str,
    pub(crate) kind: Kind,
    pub(crate) help: Option<&'a str>,
    pub(crate) unit: Option<Unit>,
}

/// One series of a family.
pub(crate) struct SeriesItem<'a> {
    /// `k="v",…` without braces: the constant labels first, then the series' own.
    pub(crate) labels: &'a str,
    pub(crate) read: SeriesRead<'a>,
    /// A histogram's `le` values, one per finite bound (empty for other kinds).
    pub(crate) les: &'a [Box<str>],
}

/// What an exposition format writes as the store is walked.
pub(crate) trait Exposition {
    /// Starts a family.
    fn family(&mut self, head: &FamilyHead<'_>);
    /// Writes one series of `family`, the family last started.
    fn series(&mut self, family: &FamilyHead<'_>, series: &SeriesItem<'_>);
}

impl Store {
    /// Walks every written family and series into `out` (see the module docs).
    ///
    /// Holds the store's read lock throughout: `out` must not record new series.
    pub(crate) fn walk(&self, out: &mut impl Exposition) {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        for (name, &at) in &inner.by_name {
            let family = &inner.families[at as usize];
            let Some(kind) = family.kind.filter(|_| !family.series.is_empty()) else {
                continue;
            };
            // Left out of every format alike (see `clash`): counted below instead.
            if family.dropped_by.is_some() {
                continue;
            }
            let head = FamilyHead {
                name,
                kind,
                help: family.help.as_deref(),
                unit: family.unit,
            };
            out.family(&head);
            let family_les = family.les.as_ref().map(|(_, les)| &**les);
            for series in &family.series {
                out.series(
                    &head,
                    &SeriesItem {
                        labels: &series.labels,
                        read: series.cell.read(),
                        les: series
                            .les()
                            .map(|l| &**l)
                            .or(family_les)
                            .unwrap_or_default(),
                    },
                );
            }
        }
        let dropped = FamilyHead {
            name: clash::DROPPED,
            kind: Kind::Counter,
            help: Some(DROPPED_HELP),
            unit: None,
        };
        for (i, (labels, count)) in self.left_out_counts(&inner).enumerate() {
            if i == 0 {
                out.family(&dropped);
            }
            let item = SeriesItem {
                labels: &labels,
                read: SeriesRead::Int(count),
                les: &[],
            };
            out.series(&dropped, &item);
        }
    }
}
