//! The count of series left out of the exposition: families that lost a name to an earlier
//! family (see [`clash`]) keep their series, written by no format, and each such family is
//! counted in one series of `routemeter_exposition_dropped_series_total` instead.

use metrics::Key;

use super::super::clash;
use super::{Inner, Store};

/// The description of the count of series left out of the exposition.
pub(super) const DROPPED_HELP: &str = "Series left out of the exposition because an earlier family writes one of their names, by family.";

/// The key of the count of series left out for the family `name`.
fn dropped_key(name: &str) -> Key {
    Key::from_parts(
        clash::DROPPED,
        vec![metrics::Label::new("metric", name.to_owned())],
    )
}

impl Store {
    /// The label text and count of each family with series no format writes, in render
    /// order: what every format writes as `routemeter_exposition_dropped_series_total` (see
    /// [`Store::walk`]). The series are kept, and written again by no format, so the count
    /// only grows.
    pub(super) fn left_out_counts<'a>(
        &'a self,
        inner: &'a Inner,
    ) -> impl Iterator<Item = (Box<str>, u64)> + 'a {
        inner
            .by_name
            .iter()
            .map(|(name, &at)| (name, &inner.families[at as usize]))
            .filter(|(_, family)| family.left_out() > 0)
            .map(|(name, family)| {
                let (labels, _) = self.label_text(&dropped_key(family.display_name(name)));
                (labels, family.left_out())
            })
    }
}
