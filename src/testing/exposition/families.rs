//! From samples to series by their families' types: counters, gauges and untyped samples one
//! series each, a histogram's samples joined per label set, OpenMetrics `_total` and
//! `_created` samples read by the family they belong to, and a series given twice refused.

use std::collections::BTreeMap;

use super::error::{ParseError, quote};
use super::histogram::Parts;
use super::sample::Sample;
use super::value::count;
use crate::testing::series::{Series, SeriesValue};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
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

pub(super) fn assemble(
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
