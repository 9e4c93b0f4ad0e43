//! A parser for the Prometheus text exposition format (version 0.0.4) and the OpenMetrics
//! text format, so tests can read a running server's `/metrics` into
//! [`Series`](super::Series). It depends on nothing but the series model; snapshots are built
//! from what it returns.
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
//!   [`SeriesValue::Gauge`] with that value (a fractional count stays a counter, rounded, with
//!   its exact value in [`Series::scalar`]);
//! - a histogram series that is not one well-formed set of buckets (a `_bucket` without a
//!   numeric `le`, a bucket or `_count` that is not a whole count, a bound given twice, counts
//!   that go down, a `_count` other than the `+Inf` bucket) keeps each of its `_bucket` (with
//!   its `le`), `_sum` and `_count` samples as its own gauge-valued series.
//!
//! Refused, with the line: text that is not the format, a label twice in one series, one
//! series given twice, and two `# TYPE` lines giving one name two types.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use super::distribution::Distribution;
use super::series::{Series, SeriesValue};

/// The most bytes of input an error message quotes.
pub(crate) const QUOTE_LIMIT: usize = 200;

/// `text` for an error message: whole if short, else its first [`QUOTE_LIMIT`] bytes (cut at a
/// character boundary) and how long it was.
fn quote(text: &str) -> String {
    if text.len() <= QUOTE_LIMIT {
        return text.to_owned();
    }
    let mut end = QUOTE_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// Why an exposition could not be parsed: the 1-based line and what was wrong there.
///
/// The message quotes at most about 200 bytes of the input, however long the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The line, counting from 1.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// One sample line.
#[derive(Debug, PartialEq)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// Parses `text` into series: counters, gauges (also untyped and summary samples) and
/// histograms (their `_bucket`, `_sum` and `_count` samples joined into one [`Distribution`]).
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

fn check_metric_name(name: &str) -> Result<(), String> {
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

fn parse_sample(line: &str) -> Result<Sample, String> {
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

/// A value as Prometheus (Go's `ParseFloat`) reads it: decimals, `NaN`, `Inf` in any case
/// with a sign, and hexadecimal floats such as `0x1.8p3`.
fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok().or_else(|| parse_hex(s)),
    }
}

/// `[+-]0x<hex digits>[.<hex digits>]p[+-]<decimal exponent>` (exact up to 13 significant hex
/// digits; longer mantissas are rounded digit by digit).
fn parse_hex(s: &str) -> Option<f64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'-' => (-1.0, &s[1..]),
        b'+' => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    let rest = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let (mantissa, exponent) = rest.split_once(['p', 'P'])?;
    let exponent: i32 = exponent.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut value = 0.0f64;
    for c in int.chars().chain(frac.chars()) {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let shift = i32::try_from(frac.len()).ok()?.checked_mul(4)?;
    let exponent = exponent.checked_sub(shift)?;
    // In two steps, so that a large mantissa with a very negative exponent does not
    // underflow on the way.
    let half = exponent / 2;
    Some(sign * value * 2f64.powi(half) * 2f64.powi(exponent - half))
}

type Labels = Vec<(String, String)>;

/// Up to this many labels, a new label name is checked against the ones before it one by one;
/// past it, in a set (one series may carry any number of labels).
const FEW_LABELS: usize = 8;

/// Parses `name="value",…}` and returns the labels and what follows the closing brace.
fn parse_labels(mut s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    // The first few label names, then all of them in a set: each new one is looked up in
    // constant time, not compared with every one before it.
    let mut few: Vec<&str> = Vec::with_capacity(FEW_LABELS);
    let mut seen: HashSet<&str> = HashSet::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let eq = s
            .find('=')
            .ok_or_else(|| "a label without `=`, or a missing `}`".to_owned())?;
        let key = s[..eq].trim();
        let valid = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("`{}` is not a valid label name", quote(key)));
        }
        let twice = if few.len() < FEW_LABELS {
            let twice = few.contains(&key);
            few.push(key);
            twice
        } else {
            if seen.is_empty() {
                seen.extend(few.iter().copied());
            }
            !seen.insert(key)
        };
        if twice {
            return Err(format!("label `{}` appears twice", quote(key)));
        }
        s = s[eq + 1..].trim_start();
        s = s
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of label `{}` is not quoted", quote(key)))?;
        let mut value = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    // Any other escape is kept as written, as Prometheus keeps it.
                    Some((_, c)) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => {
                        return Err(format!("the value of label `{}` is not closed", quote(key)));
                    }
                },
                Some((_, c)) => value.push(c),
                None => return Err(format!("the value of label `{}` is not closed", quote(key))),
            }
        };
        labels.push((key.to_owned(), value));
        s = s[end + 1..].trim_start();
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err(format!("expected `,` or `}}` after label `{}`", quote(key)));
        }
    }
}

/// The histogram family a sample belongs to, if its name is `family_bucket|_sum|_count` of a
/// family typed `histogram`.
fn histogram_family<'a>(
    kinds: &BTreeMap<String, Kind>,
    name: &'a str,
) -> Option<(&'a str, &'static str)> {
    ["_bucket", "_sum", "_count"]
        .into_iter()
        .find_map(|suffix| {
            let family = name.strip_suffix(suffix)?;
            (kinds.get(family) == Some(&Kind::Histogram)).then_some((family, suffix))
        })
}

/// For an OpenMetrics sample of a counter (`foo_total`, `foo_created`) or a histogram
/// (`foo_created`), which part it is.
fn openmetrics_part(kinds: &BTreeMap<String, Kind>, name: &str) -> Option<&'static str> {
    ["_total", "_created"].into_iter().find(|suffix| {
        name.strip_suffix(suffix)
            .and_then(|family| kinds.get(family))
            .is_some_and(|kind| match *suffix {
                "_total" => *kind == Kind::Counter,
                _ => matches!(kind, Kind::Counter | Kind::Histogram),
            })
    })
}

/// The samples of one histogram series, as given.
#[derive(Default)]
struct Parts {
    /// The first line of the series.
    line: usize,
    /// `(le as given, count, line)`; `None` for a `_bucket` without `le`.
    buckets: Vec<(Option<String>, f64, usize)>,
    sum: Option<(f64, usize)>,
    count: Option<(f64, usize)>,
    /// A `_sum` or `_count` given twice: the second one's line.
    twice: Option<usize>,
}

impl Parts {
    /// The series as one [`Distribution`], when its samples are exactly one: numeric `le`s
    /// (`-Inf` excluded), each once, whole counts never going down, a `_count` equal to the
    /// `+Inf` bucket.
    fn distribution(&self) -> Option<Distribution> {
        let mut pairs: Vec<(f64, u64)> = Vec::with_capacity(self.buckets.len());
        for (le, value, _) in &self.buckets {
            let bound =
                parse_value(le.as_deref()?).filter(|b| !b.is_nan() && *b > f64::NEG_INFINITY)?;
            pairs.push((bound + 0.0, whole_count(*value)?));
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        if pairs
            .windows(2)
            .any(|w| w[0].0 == w[1].0 || w[0].1 > w[1].1)
        {
            return None;
        }
        let count = match self.count {
            Some((v, _)) => Some(whole_count(v)?),
            None => None,
        };
        if pairs.is_empty() && count.is_none() {
            // A sum alone says nothing about how many values it adds up.
            return None;
        }
        match (pairs.last(), count) {
            (Some(&(le, total)), Some(count)) if le == f64::INFINITY && total != count => {
                return None;
            }
            (Some(&(le, last)), count) if le != f64::INFINITY && count.is_none_or(|c| c < last) => {
                return None;
            }
            _ => {}
        }
        let sum = self.sum.map_or(0.0, |(v, _)| v);
        Some(Distribution::buckets(pairs, sum, count))
    }

    /// Each sample as its own gauge-valued series.
    fn into_plain(self, family: &str, labels: &[(String, String)]) -> Vec<(usize, Series)> {
        let plain = |suffix: &str, labels: Vec<(String, String)>, value: f64, line: usize| {
            let name = format!("{family}{suffix}");
            (line, Series::new(name, labels, SeriesValue::Gauge(value)))
        };
        let mut out = Vec::with_capacity(self.buckets.len() + 2);
        for (le, value, line) in self.buckets {
            let mut labels = labels.to_vec();
            labels.extend(le.map(|le| ("le".to_owned(), le)));
            out.push(plain("_bucket", labels, value, line));
        }
        if let Some((value, line)) = self.sum {
            out.push(plain("_sum", labels.to_vec(), value, line));
        }
        if let Some((value, line)) = self.count {
            out.push(plain("_count", labels.to_vec(), value, line));
        }
        out
    }
}

fn assemble(
    kinds: &BTreeMap<String, Kind>,
    samples: Vec<(usize, Sample)>,
) -> Result<Vec<Series>, ParseError> {
    let mut histograms: BTreeMap<(String, Vec<(String, String)>), Parts> = BTreeMap::new();
    let mut series: Vec<(usize, Series)> = Vec::new();
    for (line, mut sample) in samples {
        sample.labels.sort();
        if let Some((family, suffix)) = histogram_family(kinds, &sample.name) {
            let le = sample
                .labels
                .iter()
                .position(|(k, _)| k == "le")
                .filter(|_| suffix == "_bucket")
                .map(|i| sample.labels.remove(i).1);
            let parts = histograms
                .entry((family.to_owned(), sample.labels))
                .or_insert_with(|| Parts {
                    line,
                    ..Parts::default()
                });
            let value = (sample.value, line);
            match suffix {
                "_bucket" => parts.buckets.push((le, sample.value, line)),
                "_sum" => {
                    if parts.sum.replace(value).is_some() {
                        parts.twice.get_or_insert(line);
                    }
                }
                _ => {
                    if parts.count.replace(value).is_some() {
                        parts.twice.get_or_insert(line);
                    }
                }
            }
            continue;
        }
        let counter = match kinds.get(&sample.name) {
            Some(kind) => *kind == Kind::Counter,
            None => match openmetrics_part(kinds, &sample.name) {
                Some("_total") => true,
                // When a counter or histogram was created: a time, not a measurement.
                Some(_) => continue,
                None => false,
            },
        };
        let parsed = if counter && count(sample.value).is_some() {
            Series::counter(sample.name, sample.labels, sample.value)
        } else {
            Series::new(sample.name, sample.labels, SeriesValue::Gauge(sample.value))
        };
        series.push((line, parsed));
    }
    for ((name, labels), parts) in histograms {
        if let Some(line) = parts.twice {
            let part = if parts.sum.is_some_and(|(_, l)| l == line) {
                "_sum"
            } else {
                "_count"
            };
            return Err(ParseError {
                line,
                message: format!(
                    "`{}` appears twice with these labels",
                    quote(&format!("{name}{part}"))
                ),
            });
        }
        match parts.distribution() {
            Some(distribution) => {
                let value = SeriesValue::Histogram(distribution);
                series.push((parts.line, Series::new(name, labels, value)));
            }
            None => series.extend(parts.into_plain(&name, &labels)),
        }
    }
    // A series given twice is an error, as for Prometheus (found by sorting: no copies).
    series.sort_by(|(la, a), (lb, b)| (a.name(), a.labels(), la).cmp(&(b.name(), b.labels(), lb)));
    if let Some(pair) = series
        .windows(2)
        .find(|w| w[0].1.name() == w[1].1.name() && w[0].1.labels() == w[1].1.labels())
    {
        return Err(ParseError {
            line: pair[1].0,
            message: format!(
                "`{}` appears twice with these labels (first on line {})",
                quote(pair[1].1.name()),
                pair[0].0
            ),
        });
    }
    Ok(series.into_iter().map(|(_, s)| s).collect())
}

/// A counter's value, when a count can hold it: finite, not negative, below 2^64 (a fraction
/// is allowed; the counter keeps the exact value beside the rounded one).
fn count(value: f64) -> Option<f64> {
    (0.0..18_446_744_073_709_551_616.0)
        .contains(&value)
        .then_some(value)
}

/// A bucket's or `_count`'s value, when it is a whole count.
fn whole_count(value: f64) -> Option<u64> {
    count(value).filter(|v| v.fract() == 0.0).map(|v| v as u64)
}

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
