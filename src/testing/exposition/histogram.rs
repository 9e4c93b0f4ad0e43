//! One histogram series as its samples were given (`_bucket`s, `_sum`, `_count`), turned into
//! a [`Distribution`] when they are exactly one, else kept sample by sample as gauge-valued
//! series.

use super::value::{parse_value, whole_count};
use crate::testing::distribution::Distribution;
use crate::testing::series::{Series, SeriesValue};

/// The samples of one histogram series, as given.
#[derive(Default)]
pub(super) struct Parts {
    /// The first line of the series.
    pub(super) line: usize,
    /// `(le as given, count, line)`; `None` for a `_bucket` without `le`.
    pub(super) buckets: Vec<(Option<String>, f64, usize)>,
    pub(super) sum: Option<(f64, usize)>,
    pub(super) count: Option<(f64, usize)>,
    /// A `_sum` or `_count` given twice: the second one's line.
    pub(super) twice: Option<usize>,
}

impl Parts {
    /// The series as one [`Distribution`], when its samples are exactly one: numeric `le`s
    /// (`-Inf` excluded), each once, whole counts never going down, a `_count` equal to the
    /// `+Inf` bucket.
    pub(super) fn distribution(&self) -> Option<Distribution> {
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
    pub(super) fn into_plain(
        self,
        family: &str,
        labels: &[(String, String)],
    ) -> Vec<(usize, Series)> {
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
