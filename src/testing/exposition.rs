//! A parser for the Prometheus text exposition format (version 0.0.4) and the OpenMetrics
//! text format, so tests can read a running server's `/metrics` into
//! [`Series`](super::Series) (which a [`Snapshot`](super::Snapshot) then holds).
//!
//! OpenMetrics additions are read as what they mean for a test: a counter family `foo` whose
//! samples are `foo_total`, exemplars and `_created` samples skipped, float timestamps, the
//! `unknown`, `gaugehistogram`, `stateset` and `info` types read as untyped, `# EOF`.

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
                if kinds.insert(name.to_owned(), kind).is_some() {
                    return Err(err(format!("second `# TYPE` line for `{}`", quote(name))));
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
    if let Some(after) = rest.strip_prefix('{') {
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

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
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
                    Some((_, c)) => {
                        return Err(format!("unknown escape `\\{c}` in label `{}`", quote(key)));
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

#[derive(Default)]
struct Parts {
    /// The first line of the series.
    line: usize,
    buckets: Vec<(f64, u64)>,
    /// The bounds seen, as bits, to refuse a bucket given twice.
    seen: HashSet<u64>,
    sum: Option<f64>,
    count: Option<u64>,
}

fn assemble(
    kinds: &BTreeMap<String, Kind>,
    samples: Vec<(usize, Sample)>,
) -> Result<Vec<Series>, ParseError> {
    let mut histograms: BTreeMap<(String, Vec<(String, String)>), Parts> = BTreeMap::new();
    let mut series: Vec<(usize, Series)> = Vec::new();
    for (line, mut sample) in samples {
        let err = |message: String| ParseError { line, message };
        sample.labels.sort();
        if let Some((family, suffix)) = histogram_family(kinds, &sample.name) {
            let le = sample
                .labels
                .iter()
                .position(|(k, _)| k == "le")
                .map(|i| sample.labels.remove(i).1);
            let parts = histograms
                .entry((family.to_owned(), sample.labels))
                .or_insert_with(|| Parts {
                    line,
                    ..Parts::default()
                });
            let twice = || {
                err(format!(
                    "`{}` appears twice with these labels",
                    quote(&sample.name)
                ))
            };
            match suffix {
                "_bucket" => {
                    let le = le.ok_or_else(|| {
                        err(format!("`{}` has no `le` label", quote(&sample.name)))
                    })?;
                    let bound = parse_value(&le)
                        .filter(|b| !b.is_nan())
                        .ok_or_else(|| err(format!("`le=\"{}\"` is not a number", quote(&le))))?;
                    // `0` and `-0` are one bound.
                    if !parts.seen.insert((bound + 0.0).to_bits()) {
                        return Err(twice());
                    }
                    parts.buckets.push((bound, count(sample.value, line)?));
                }
                "_sum" => {
                    if parts.sum.replace(sample.value).is_some() {
                        return Err(twice());
                    }
                }
                _ => {
                    if parts.count.replace(count(sample.value, line)?).is_some() {
                        return Err(twice());
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
        let parsed = if counter {
            count(sample.value, line)?;
            Series::counter(sample.name, sample.labels, sample.value)
        } else {
            Series::new(sample.name, sample.labels, SeriesValue::Gauge(sample.value))
        };
        series.push((line, parsed));
    }
    for ((name, labels), parts) in histograms {
        let distribution =
            Distribution::buckets(parts.buckets, parts.sum.unwrap_or(0.0), parts.count);
        let value = SeriesValue::Histogram(distribution);
        series.push((parts.line, Series::new(name, labels, value)));
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

fn count(value: f64, line: usize) -> Result<u64, ParseError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value.round() as u64)
    } else {
        Err(ParseError {
            line,
            message: format!("`{value}` is not a count"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP req Requests.
# TYPE req counter
req{route="/a",method="GET"} 3
# TYPE active gauge
active{route="/a"} -1.5 1700000000000
# TYPE d histogram
d_bucket{route="/a",le="0.1"} 2
d_bucket{route="/a",le="1"} 3
d_bucket{route="/a",le="+Inf"} 4
d_sum{route="/a"} 7.25
d_count{route="/a"} 4
odd{v="quote \" backslash \\ newline \n, brace }"} NaN
"#;

    #[test]
    fn parses_every_kind() {
        let series = parse(TEXT).unwrap();
        let find = |name: &str| series.iter().find(|s| s.name() == name).unwrap();
        assert!(matches!(find("req").value(), SeriesValue::Counter(3)));
        assert_eq!(find("req").label("method"), Some("GET"));
        assert!(matches!(find("active").value(), SeriesValue::Gauge(v) if *v == -1.5));
        let SeriesValue::Histogram(d) = find("d").value() else {
            panic!("d is a histogram");
        };
        assert_eq!(d.count(), 4);
        assert_eq!(d.sum(), 7.25);
        assert!(find("d").label("le").is_none());
        assert_eq!(
            find("odd").label("v"),
            Some("quote \" backslash \\ newline \n, brace }")
        );
    }

    #[test]
    fn malformed_input_is_a_clear_error() {
        let cases = [
            ("x{a=\"1\" 2", 1, "expected `,` or `}`"),
            ("x{a=1} 2", 1, "not quoted"),
            ("x{a=\"1} 2", 1, "not closed"),
            ("x{1a=\"1\"} 2", 1, "not a valid label name"),
            ("x one", 1, "not a number"),
            ("x", 1, "has no value"),
            ("9x 1", 1, "not a valid metric name"),
            ("x 1 2 3", 1, "unexpected `3`"),
            ("x 1 soon", 1, "not a timestamp"),
            ("x 1 # 3", 1, "is not an exemplar"),
            ("x 1 # {a=\"1\"}", 1, "has no value"),
            ("ok 1\n# TYPE y wobbly", 2, "unknown metric type"),
            ("# TYPE h histogram\nh_bucket 1", 2, "no `le` label"),
            (
                "# TYPE h histogram\nh_bucket{le=\"x\"} 1",
                2,
                "is not a number",
            ),
            ("# TYPE c counter\nc -1", 2, "is not a count"),
            ("x{a=\"\\q\"} 1", 1, "unknown escape"),
            ("x{a=\"1\",b=\"2\",a=\"3\"} 1", 1, "label `a` appears twice"),
            // The ninth label, the first one looked up in the set.
            (
                "x{a=\"1\",b=\"1\",c=\"1\",d=\"1\",e=\"1\",f=\"1\",g=\"1\",h=\"1\",a=\"1\"} 1",
                1,
                "label `a` appears twice",
            ),
            (
                "x{a=\"1\",b=\"1\",c=\"1\",d=\"1\",e=\"1\",f=\"1\",g=\"1\",h=\"1\",i=\"1\",i=\"1\"} 1",
                1,
                "label `i` appears twice",
            ),
            ("x{a=\"1\"} 1\nx{a=\"1\"} 2", 2, "appears twice"),
            (
                "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 1",
                3,
                "appears twice",
            ),
            ("# TYPE h histogram\nh_sum 1\nh_sum 2", 3, "appears twice"),
            (
                "# TYPE h histogram\nh_bucket{le=\"NaN\"} 1",
                2,
                "is not a number",
            ),
        ];
        for (text, line, needle) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err}");
            assert!(err.message.contains(needle), "{text:?}: {err}");
        }
    }

    /// A series with 100,000 labels: parsed in linear-logarithmic time (checking each label
    /// against all the ones before it took minutes), and a duplicate among them still found.
    #[test]
    fn many_labels_on_one_series_parse_quickly() {
        const LABELS: usize = 100_000;
        let labels: Vec<String> = (0..LABELS).map(|i| format!("l{i}=\"v\"")).collect();
        let text = format!("x{{{}}} 1", labels.join(","));
        let start = std::time::Instant::now();
        let series = parse(&text).unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].label("l99999"), Some("v"));
        // A duplicate at the end of the list is found the same way.
        let text = format!("x{{{},l3=\"w\"}} 1", labels.join(","));
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("label `l3` appears twice"), "{err}");
        // Far above the time two parses take even unoptimised on a slow machine, far below
        // the five billion label comparisons of checking each label against all before it.
        let elapsed = start.elapsed();
        assert!(elapsed < std::time::Duration::from_secs(5), "{elapsed:?}");
    }

    #[test]
    fn quotes_are_cut_at_a_character_boundary() {
        let long = "é".repeat(300);
        let quoted = quote(&long);
        assert!(quoted.len() < QUOTE_LIMIT + 30, "{quoted}");
        assert!(quoted.ends_with("… (600 bytes)"), "{quoted}");
        assert_eq!(quote("short"), "short");
    }

    #[test]
    fn never_panics_on_truncated_input() {
        for end in 0..=TEXT.len() {
            if TEXT.is_char_boundary(end) {
                let _ = parse(&TEXT[..end]);
            }
        }
    }
}
