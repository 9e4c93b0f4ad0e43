//! A parser for the Prometheus text exposition format (version 0.0.4) and the OpenMetrics
//! text format, so tests can read a running server's `/metrics` into
//! [`Series`](super::Series). It depends on nothing but the series model; snapshots are built
//! from what it returns. This module reads the text line by line, noting each `# TYPE` and
//! handing sample lines on; its children read one sample line, its labels and its numbers, and
//! assemble the samples into series by family.
//!
//! It reads what Prometheus's own text parser reads: blanks before `{`, a trailing comma in a
//! label set, any float as any sample's value (`NaN`, `+Inf`, `-Inf`, counters included),
//! timestamps, comments, and escapes other than `\\`, `\"` and `\n` kept as written.
//! OpenMetrics additions are read as what they mean for a test: a counter family `foo` whose
//! samples are `foo_total`, exemplars and `_created` samples skipped, float timestamps, the
//! `unknown`, `gaugehistogram`, `stateset` and `info` types read as untyped, `# EOF`.
//!
//! Nothing is rounded into a shape it does not have. What a test kit value cannot hold exactly
//! is kept as plain gauge-valued series, sample by sample, the way Prometheus stores every
//! sample:
//! - a counter sample that is no count (negative, `NaN`, infinite, 2^64 or more) is a
//!   [`SeriesValue::Gauge`](super::SeriesValue::Gauge) with that value (a fractional count
//!   stays a counter, rounded, with its exact value in [`Series::scalar`]);
//! - a histogram series that is not one well-formed set of buckets (a `_bucket` without a
//!   numeric `le`, a bucket or `_count` that is not a whole count, a bound given twice, counts
//!   that go down, a `_count` other than the `+Inf` bucket) keeps each of its `_bucket` (with
//!   its `le`), `_sum` and `_count` samples as its own gauge-valued series.
//!
//! Refused, with the line: text that is not the format, a label twice in one series, one
//! series given twice, and two `# TYPE` lines giving one name two types.

mod error;
mod families;
mod histogram;
mod labels;
mod sample;
mod value;

use std::collections::BTreeMap;

pub use error::ParseError;
use error::quote;
use families::{Kind, assemble};
use sample::{Sample, check_metric_name, parse_sample};

use super::series::Series;
#[cfg(test)]
use super::series::SeriesValue;
#[cfg(test)]
use error::QUOTE_LIMIT;
#[cfg(test)]
use value::parse_value;

/// Parses `text` into series: counters, gauges (also untyped and summary samples) and
/// histograms (their `_bucket`, `_sum` and `_count` samples joined into one
/// [`Distribution`](super::Distribution)).
pub(crate) fn parse(text: &str) -> Result<Vec<Series>, ParseError> {
    let mut kinds: BTreeMap<String, Kind> = BTreeMap::new();
    let mut samples: Vec<(usize, Sample)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        let err = |message: String| ParseError {
            line: line_no,
            message,
        };
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE") {
                let name = words
                    .next()
                    .ok_or_else(|| err("`# TYPE` without a metric name".into()))?;
                check_metric_name(name).map_err(err)?;
                let kind = match words.next() {
                    Some("counter") => Kind::Counter,
                    Some("gauge") => Kind::Gauge,
                    Some("histogram") => Kind::Histogram,
                    Some("summary") => Kind::Summary,
                    Some("untyped" | "unknown" | "gaugehistogram" | "stateset" | "info") => {
                        Kind::Untyped
                    }
                    Some(other) => {
                        return Err(err(format!("unknown metric type `{}`", quote(other))));
                    }
                    None => return Err(err(format!("`# TYPE {}` without a type", quote(name)))),
                };
                if kinds
                    .insert(name.to_owned(), kind)
                    .is_some_and(|k| k != kind)
                {
                    return Err(err(format!(
                        "a second `# TYPE` line gives `{}` another type",
                        quote(name)
                    )));
                }
            }
            continue;
        }
        samples.push((line_no, parse_sample(line).map_err(err)?));
    }
    assemble(&kinds, samples)
}

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
