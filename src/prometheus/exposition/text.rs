//! The text formats: Prometheus text 0.0.4 and OpenMetrics 1.0, written from a store snapshot.
//!
//! Names and label keys are sanitised once, when a series is registered; label values are
//! escaped then too, so a render only copies prepared bytes and formats numbers.

use std::fmt::Write as _;

use metrics::Unit;

use super::super::histogram::HistogramSnapshot;
use crate::names::push_f64;

/// Which text format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/plain; version=0.0.4`.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`, with exemplars.
    OpenMetrics,
}

/// A metric name made valid: `[a-zA-Z_:][a-zA-Z0-9_:]*`, other characters replaced by `_`.
pub(crate) fn metric_name(name: &str) -> String {
    sanitize(name, true)
}

/// A label name made valid: `[a-zA-Z_][a-zA-Z0-9_]*`, other characters replaced by `_`.
pub(crate) fn label_name(name: &str) -> String {
    sanitize(name, false)
}

/// Whether `name` is a label name as it stands, so that [`label_name`] leaves it unchanged.
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn sanitize(name: &str, colon: bool) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    for (i, c) in name.chars().enumerate() {
        let ok = c.is_ascii_alphabetic() || c == '_' || (colon && c == ':');
        if ok || (i > 0 && c.is_ascii_digit()) {
            out.push(c);
        } else if i == 0 && c.is_ascii_digit() {
            out.push('_');
            out.push(c);
        } else {
            out.push('_');
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// Appends `value` escaped as a label value (`\`, `"` and line feed).
pub(crate) fn push_label_value(out: &mut String, value: &str) {
    let mut last = 0;
    for (i, b) in value.bytes().enumerate() {
        let escaped = match b {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            _ => continue,
        };
        out.push_str(&value[last..i]);
        out.push_str(escaped);
        last = i + 1;
    }
    out.push_str(&value[last..]);
}

/// Reads a label text this module wrote (`name="value",…`, values escaped by
/// [`push_label_value`]) back into `(name, value)` pairs, replacing the contents of `out`.
/// Values without escapes are borrowed. `false` (with `out` cleared) when `text` is not of that
/// form.
pub(crate) fn split_label_text<'a>(
    text: &'a str,
    out: &mut Vec<(&'a str, std::borrow::Cow<'a, str>)>,
) -> bool {
    use std::borrow::Cow;
    out.clear();
    let mut rest = text;
    while !rest.is_empty() {
        let Some(eq) = rest.find("=\"") else {
            out.clear();
            return false;
        };
        let name = &rest[..eq];
        // Names are sanitised when written: ASCII letters, digits and underscores, not starting
        // with a digit.
        if name.is_empty()
            || name.starts_with(|c: char| c.is_ascii_digit())
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            out.clear();
            return false;
        }
        let value_start = eq + 2;
        let bytes = rest.as_bytes();
        let mut i = value_start;
        let mut owned: Option<String> = None;
        let mut copied = value_start;
        let end = loop {
            match bytes.get(i) {
                None => {
                    out.clear();
                    return false;
                }
                Some(b'"') => break i,
                Some(b'\\') => {
                    let unescaped = match bytes.get(i + 1) {
                        Some(b'\\') => '\\',
                        Some(b'"') => '"',
                        Some(b'n') => '\n',
                        _ => {
                            out.clear();
                            return false;
                        }
                    };
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&rest[copied..i]);
                    s.push(unescaped);
                    i += 2;
                    copied = i;
                }
                Some(_) => i += 1,
            }
        };
        let value = match owned {
            Some(mut s) => {
                s.push_str(&rest[copied..end]);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(&rest[value_start..end]),
        };
        out.push((name, value));
        rest = &rest[end + 1..];
        if let Some(next) = rest.strip_prefix(',') {
            if next.is_empty() {
                out.clear();
                return false;
            }
            rest = next;
        } else if !rest.is_empty() {
            out.clear();
            return false;
        }
    }
    true
}

/// Appends help text escaped for `# HELP` (the OpenMetrics rules also escape `"`).
fn push_help(out: &mut String, help: &str, format: Format) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if format == Format::OpenMetrics => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// Appends an integer.
pub(crate) fn push_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// The kind of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// The header of a family: `# HELP`, `# TYPE` and, in OpenMetrics, `# UNIT`.
pub(crate) fn push_header(
    out: &mut String,
    name: &str,
    kind: Kind,
    help: Option<&str>,
    unit: Option<Unit>,
    format: Format,
) {
    // OpenMetrics names a counter family without `_total`; a counter whose name lacks the
    // suffix would be renamed by the scraper, so it is typed `unknown` there instead.
    let (family, type_name) = match (format, kind) {
        (Format::OpenMetrics, Kind::Counter) => match name.strip_suffix("_total") {
            Some(base) if !base.is_empty() => (base, "counter"),
            _ => (name, "unknown"),
        },
        (_, Kind::Counter) => (name, "counter"),
        (_, Kind::Gauge) => (name, "gauge"),
        (_, Kind::Histogram) => (name, "histogram"),
    };
    if let Some(help) = help {
        out.push_str("# HELP ");
        out.push_str(family);
        out.push(' ');
        push_help(out, help, format);
        out.push('\n');
    }
    out.push_str("# TYPE ");
    out.push_str(family);
    out.push(' ');
    out.push_str(type_name);
    out.push('\n');
    if format == Format::OpenMetrics {
        if let Some(unit) = unit.and_then(unit_suffix) {
            if family.ends_with(unit) && family.len() > unit.len() + 1 {
                let _ = writeln!(out, "# UNIT {family} {unit}");
            }
        }
    }
}

/// The OpenMetrics unit of a `metrics` unit, for the units a name can end with.
fn unit_suffix(unit: Unit) -> Option<&'static str> {
    match unit {
        Unit::Seconds => Some("seconds"),
        Unit::Bytes => Some("bytes"),
        _ => None,
    }
}

/// Appends `name{labels} ` (or `name ` without labels).
fn push_series_start(out: &mut String, name: &str, suffix: &str, labels: &str) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() {
        out.push('{');
        out.push_str(labels);
        out.push('}');
    }
    out.push(' ');
}

/// One sample line of a counter or gauge.
pub(crate) fn push_sample(out: &mut String, name: &str, labels: &str, value: Value) {
    push_series_start(out, name, "", labels);
    match value {
        Value::Int(v) => push_u64(out, v),
        Value::Float(v) => push_f64(out, v),
    }
    out.push('\n');
}

/// A sample's value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value {
    Int(u64),
    Float(f64),
}

/// The lines of one histogram series. `les` are the bucket bounds already formatted.
pub(crate) fn push_histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    les: &[Box<str>],
    snapshot: &HistogramSnapshot,
    format: Format,
) {
    for (i, &count) in snapshot.cumulative.iter().enumerate() {
        out.push_str(name);
        out.push_str("_bucket{");
        out.push_str(labels);
        if !labels.is_empty() {
            out.push(',');
        }
        out.push_str("le=\"");
        out.push_str(les.get(i).map_or("+Inf", |s| s));
        out.push_str("\"} ");
        push_u64(out, count);
        if format == Format::OpenMetrics {
            if let Some(Some(e)) = snapshot.exemplars.get(i) {
                out.push_str(" # {trace_id=\"");
                out.push_str(std::str::from_utf8(&e.trace_id.hex()).unwrap_or_default());
                out.push_str("\"} ");
                push_f64(out, e.value);
                out.push(' ');
                // Milliseconds are enough for an exemplar's time.
                let _ = write!(out, "{:.3}", e.timestamp);
            }
        }
        out.push('\n');
    }
    if format == Format::OpenMetrics && !sum_is_a_total(les, snapshot) {
        // OpenMetrics: a histogram's sum is a counter, so it must not be NaN or negative, and
        // with negative bucket bounds there must be none. Its count goes with it (a parser
        // wants both or neither); the `+Inf` bucket still has the count.
        return;
    }
    push_series_start(out, name, "_sum", labels);
    push_f64(out, snapshot.sum);
    out.push('\n');
    push_series_start(out, name, "_count", labels);
    push_u64(out, snapshot.count);
    out.push('\n');
}

/// Whether a histogram's sum is a running total: no negative bucket bound, no negative value
/// ever observed (so the sum never went down, and is not `NaN`, which `+Inf` and `-Inf` give).
///
/// The Prometheus text format has no such rule (its clients write any sum), so this is asked
/// only for OpenMetrics.
fn sum_is_a_total(les: &[Box<str>], snapshot: &HistogramSnapshot) -> bool {
    !snapshot.negative
        && !snapshot.sum.is_nan()
        && snapshot.sum >= 0.0
        && les.first().is_none_or(|le| !le.starts_with('-'))
}

/// The bucket bounds as `le` label values.
pub(crate) fn les(bounds: &[f64]) -> Box<[Box<str>]> {
    bounds
        .iter()
        .map(|&b| {
            let mut s = String::new();
            push_f64(&mut s, b);
            s.into_boxed_str()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised() {
        assert_eq!(metric_name("http.server.duration"), "http_server_duration");
        assert_eq!(metric_name("a:b_c9"), "a:b_c9");
        assert_eq!(metric_name("9lives"), "_9lives");
        assert_eq!(metric_name(""), "_");
        assert_eq!(label_name("a:b"), "a_b");
        assert_eq!(label_name("é"), "_");
    }

    #[test]
    fn label_values_are_escaped() {
        let mut s = String::new();
        push_label_value(&mut s, "a\"b\\c\nd\u{2028}é");
        assert_eq!(s, "a\\\"b\\\\c\\nd\u{2028}é");
    }

    #[test]
    fn floats_read_back() {
        for v in [
            0.0,
            1.0,
            -3.0,
            0.005,
            2.5,
            1e-9,
            1e20,
            123_456.789,
            f64::MAX,
        ] {
            let mut s = String::new();
            push_f64(&mut s, v);
            assert_eq!(s.parse::<f64>().unwrap(), v, "{s}");
        }
        let mut s = String::new();
        push_f64(&mut s, 1.0);
        push_f64(&mut s, f64::NEG_INFINITY);
        assert_eq!(s, "1-Inf");
    }

    #[test]
    fn openmetrics_counter_families() {
        let mut s = String::new();
        push_header(
            &mut s,
            "a_total",
            Kind::Counter,
            Some("h\"i"),
            None,
            Format::OpenMetrics,
        );
        push_header(&mut s, "b", Kind::Counter, None, None, Format::OpenMetrics);
        push_header(
            &mut s,
            "d_seconds",
            Kind::Histogram,
            None,
            Some(Unit::Seconds),
            Format::OpenMetrics,
        );
        assert_eq!(
            s,
            "# HELP a h\\\"i\n# TYPE a counter\n# TYPE b unknown\n\
             # TYPE d_seconds histogram\n# UNIT d_seconds seconds\n"
        );
    }

    fn write_labels(labels: &[(String, String)]) -> String {
        let mut s = String::new();
        for (i, (name, value)) in labels.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&label_name(name));
            s.push_str("=\"");
            push_label_value(&mut s, value);
            s.push('"');
        }
        s
    }

    #[test]
    fn label_text_reads_back() {
        let mut out = Vec::new();
        assert!(split_label_text("", &mut out) && out.is_empty());
        let text = write_labels(&[
            ("http_route".into(), "/a\\b\"c\"\nd=\",e".into()),
            ("m".into(), "GET".into()),
            ("e".into(), String::new()),
        ]);
        assert!(split_label_text(&text, &mut out));
        assert_eq!(
            out.iter().map(|(k, v)| (*k, &**v)).collect::<Vec<_>>(),
            [
                ("http_route", "/a\\b\"c\"\nd=\",e"),
                ("m", "GET"),
                ("e", "")
            ]
        );
        assert!(matches!(out[1].1, std::borrow::Cow::Borrowed(_)));
        for bad in [
            "a",
            "a=\"x",
            "a=\"x\"b=\"y\"",
            "a=\"x\",",
            "=\"x\"",
            "a=\"\\q\"",
            "a=\"x\\\"",
            "==\"\"",
            "a b=\"x\"",
            "9a=\"x\"",
        ] {
            assert!(!split_label_text(bad, &mut out), "{bad}");
            assert!(out.is_empty());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn any_label_text_reads_back(
            labels in proptest::collection::vec(("[a-z_][a-z0-9_]{0,8}", ".{0,12}"), 0..5),
            garbage in "[a-zA-Z0-9_ =\",\\\\n]{0,24}",
        ) {
            let mut out = Vec::new();
            let text = write_labels(&labels);
            proptest::prop_assert!(split_label_text(&text, &mut out));
            let back: Vec<(String, String)> =
                out.iter().map(|(k, v)| ((*k).to_owned(), v.to_string())).collect();
            proptest::prop_assert_eq!(back, labels);
            // Anything else: an answer, never a panic; what reads back writes the same text.
            if split_label_text(&garbage, &mut out) {
                let again: Vec<(String, String)> =
                    out.iter().map(|(k, v)| ((*k).to_owned(), v.to_string())).collect();
                proptest::prop_assert_eq!(write_labels(&again), garbage);
            }
        }
    }
}
