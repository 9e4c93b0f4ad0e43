//! The data model every other part of the test kit shares: one recorded series, its name,
//! labels and value. Filled from the in-memory recorder or from a parsed exposition, read by
//! snapshots and summaries.

use metrics::Key;

use super::distribution::Distribution;

/// A recorded series' value.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SeriesValue {
    /// A counter.
    Counter(u64),
    /// A gauge.
    Gauge(f64),
    /// A histogram.
    Histogram(Distribution),
}

/// One recorded series: its name, labels (sorted by key) and value.
#[derive(Clone, Debug)]
pub struct Series {
    name: String,
    labels: Vec<(String, String)>,
    value: SeriesValue,
    /// A parsed counter's value as exposed: Prometheus counters may have a fraction
    /// (`process_cpu_seconds_total 0.25`), which [`SeriesValue::Counter`] rounds.
    exact: Option<f64>,
}

impl Series {
    /// A series of the in-memory recorder.
    pub(crate) fn from_key(key: &Key, value: SeriesValue) -> Self {
        let labels = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        Self::new(key.name().to_owned(), labels, value)
    }

    /// A series with `labels` in any order (they are sorted here).
    pub(crate) fn new(name: String, mut labels: Vec<(String, String)>, value: SeriesValue) -> Self {
        labels.sort();
        Self {
            name,
            labels,
            value,
            exact: None,
        }
    }

    /// A parsed counter: `value` as exposed (finite, not negative), and rounded.
    pub(crate) fn counter(name: String, labels: Vec<(String, String)>, value: f64) -> Self {
        let mut series = Self::new(name, labels, SeriesValue::Counter(value.round() as u64));
        series.exact = Some(value);
        series
    }

    /// The same name and labels with another value.
    pub(crate) fn with_value(&self, value: SeriesValue) -> Self {
        Self {
            name: self.name.clone(),
            labels: self.labels.clone(),
            value,
            exact: None,
        }
    }

    /// What was counted between `earlier` (the same counter, before) and this one.
    pub(crate) fn counter_since(&self, earlier: &Self) -> Option<Self> {
        let (SeriesValue::Counter(a), SeriesValue::Counter(b)) = (&self.value, &earlier.value)
        else {
            return None;
        };
        let mut series = self.with_value(SeriesValue::Counter(a.saturating_sub(*b)));
        if let (Some(a), Some(b)) = (self.exact, earlier.exact) {
            let since = (a - b).max(0.0);
            series.value = SeriesValue::Counter(since.round() as u64);
            series.exact = Some(since);
        }
        Some(series)
    }

    /// The metric name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The labels, sorted by key.
    #[must_use]
    pub fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    /// The value of label `key`, if the series has it.
    #[must_use]
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value.
    #[must_use]
    pub fn value(&self) -> &SeriesValue {
        &self.value
    }

    /// A counter's or a gauge's value as a number, exactly as recorded or exposed (a parsed
    /// counter keeps its fraction here); `None` for a histogram.
    #[must_use]
    pub fn scalar(&self) -> Option<f64> {
        match &self.value {
            SeriesValue::Counter(v) => Some(self.exact.unwrap_or(*v as f64)),
            SeriesValue::Gauge(v) => Some(*v),
            SeriesValue::Histogram(_) => None,
        }
    }

    /// Whether the series has recorded anything: a counter above 0, a histogram with values
    /// (gauges always count).
    pub(crate) fn has_data(&self) -> bool {
        match &self.value {
            SeriesValue::Counter(v) => *v > 0,
            SeriesValue::Gauge(_) => true,
            SeriesValue::Histogram(d) => d.count() > 0,
        }
    }
}
