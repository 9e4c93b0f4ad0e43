//! The count of series left out of the exposition: families that lost a name to an earlier
//! family (see [`clash`]) keep their series, written by no format, and each such family is
//! counted in one series of `routemeter_exposition_dropped_series_total` instead.

use metrics::Key;

use super::super::clash;
use super::super::text::{self, Format, Kind, Value};
use super::{Inner, Store};

/// The description of the count of series left out of the exposition.
pub(super) const DROPPED_HELP: &str = "Series left out of the exposition because an earlier family writes one of their names, by family.";

/// The key of the count of series left out for the family `name`.
pub(super) fn dropped_key(name: &str) -> Key {
    Key::from_parts(
        clash::DROPPED,
        vec![metrics::Label::new("metric", name.to_owned())],
    )
}

impl Store {
    /// Writes how many series each family left out of the exposition has (nothing when none
    /// is): the series are kept, and written again by no render, so the count only grows.
    pub(super) fn render_dropped(&self, inner: &Inner, out: &mut String, format: Format) {
        let mut header = false;
        for (name, family) in &inner.families {
            if family.left_out() == 0 {
                continue;
            }
            if !header {
                text::push_header(
                    out,
                    clash::DROPPED,
                    Kind::Counter,
                    Some(DROPPED_HELP),
                    None,
                    format,
                );
                header = true;
            }
            let (labels, _) = self.label_text(&dropped_key(family.display_name(name)));
            text::push_sample(out, clash::DROPPED, &labels, Value::Int(family.left_out()));
        }
    }
}
