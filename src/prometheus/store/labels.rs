//! A series' label text: the `k="v",…` written once when the series is registered (names
//! sanitised, reserved names exported under another, values escaped, constant labels added),
//! and the `(name, value)` pairs it is read back as.

use std::borrow::Cow;

use metrics::Key;

use super::super::exposition::text;
use super::Store;

/// A series' labels as `(name, value)` pairs: names sanitised, values as recorded (read back
/// from the label text, so series keep no second copy of their labels).
pub(crate) type LabelPairs<'a> = [(&'a str, Cow<'a, str>)];

impl Store {
    /// The label text of `key`: its own labels (the first of each name), then the global
    /// labels it does not set itself; and the labels it writes ([`written_pairs`]).
    pub(super) fn label_text<'k>(&'k self, key: &'k Key) -> (Box<str>, Vec<(String, &'k str)>) {
        let labels = written_pairs(key, &self.constant_labels);
        let mut s = String::new();
        for (i, (name, value)) in labels.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(name);
            s.push_str("=\"");
            text::push_label_value(&mut s, value);
            s.push('"');
        }
        (s.into_boxed_str(), labels)
    }
}

/// The labels `key` writes, in order, as (written name, value as recorded): its own (the first
/// of each written name), then each of the `constant` labels it does not set itself.
pub(super) fn written_pairs<'k>(
    key: &'k Key,
    constant: &'k [(String, String)],
) -> Vec<(String, &'k str)> {
    let mut labels: Vec<(String, &str)> = Vec::new();
    for label in key.labels() {
        let mut name = text::label_name(label.key());
        // Names the format keeps for itself (`__…`, and `le` and `quantile`, which bucket and
        // summary lines carry) are exported under another name, as Prometheus does for a
        // target label that clashes (`exported_…`).
        if name.starts_with("__") || name == "le" || name == "quantile" {
            name.insert_str(0, "exported_");
        }
        if !labels.iter().any(|(n, _)| *n == name) {
            labels.push((name, label.value()));
        }
    }
    for (name, value) in constant {
        if !labels.iter().any(|(n, _)| n == name) {
            labels.push((name.clone(), value));
        }
    }
    labels
}
