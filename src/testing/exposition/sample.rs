//! One sample line, `name{labels} value [timestamp] [# exemplar]`: the metric name checked,
//! the labels, the value read, a timestamp and an OpenMetrics exemplar checked and dropped.

use super::error::quote;
use super::labels::parse_labels;
use super::value::parse_value;

/// One sample line.
#[derive(Debug, PartialEq)]
pub(super) struct Sample {
    pub(super) name: String,
    pub(super) labels: Vec<(String, String)>,
    pub(super) value: f64,
}

pub(super) fn check_metric_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if ok {
        Ok(())
    } else {
        Err(format!("`{}` is not a valid metric name", quote(name)))
    }
}

pub(super) fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or_else(|| format!("`{}` has no value", quote(line)))?;
    let name = &line[..name_end];
    check_metric_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    // Blanks may come between the name and its labels.
    if let Some(after) = rest.trim_start().strip_prefix('{') {
        let (parsed, remaining) = parse_labels(after)?;
        labels = parsed;
        rest = remaining;
    }
    // An OpenMetrics exemplar follows ` # ` (neither a value nor a timestamp has a `#`).
    let (rest, exemplar) = match rest.split_once('#') {
        Some((before, after)) => (before, Some(after)),
        None => (rest, None),
    };
    let value = value_and_timestamp(rest, name)?;
    if let Some(exemplar) = exemplar {
        let after = exemplar
            .trim_start()
            .strip_prefix('{')
            .ok_or_else(|| format!("`{}` after `#` is not an exemplar", quote(exemplar)))?;
        let (_, rest) = parse_labels(after)?;
        value_and_timestamp(rest, "the exemplar")?;
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// ` value [timestamp]`: the value. A timestamp is an integer (Prometheus, milliseconds) or a
/// number (OpenMetrics, seconds).
fn value_and_timestamp(rest: &str, what: &str) -> Result<f64, String> {
    let mut fields = rest.split_whitespace();
    let value = fields
        .next()
        .ok_or_else(|| format!("`{}` has no value", quote(what)))?;
    let value = parse_value(value).ok_or_else(|| format!("`{}` is not a number", quote(value)))?;
    if let Some(ts) = fields.next() {
        if !ts.parse::<f64>().is_ok_and(f64::is_finite) {
            return Err(format!("`{}` is not a timestamp", quote(ts)));
        }
    }
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected `{}` after the value", quote(extra)));
    }
    Ok(value)
}
