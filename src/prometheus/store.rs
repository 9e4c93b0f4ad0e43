//! The Prometheus recorder: where series live between scrapes, and how a scrape reads them.
//!
//! Every series is a fixed set of atomics updated in place when the value is recorded:
//! counters and gauges are one atomic each, histograms are [`AtomicHistogram`]s. Nothing is
//! buffered, so there is no upkeep and nothing to lose. A series' label text (keys sanitised,
//! values escaped, global labels added) is prepared once when it is registered.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

use super::clash::{self, Names};
use super::histogram::{AtomicHistogram, HistogramSnapshot, add_f64};
use super::text::{self, Format, Kind, Value};

/// Where a histogram's bucket bounds come from.
#[derive(Clone, Debug)]
pub(crate) struct Buckets {
    /// Bounds for histograms named exactly so (names as recorded, before sanitising).
    pub(crate) by_name: Vec<(String, Arc<[f64]>)>,
    /// Bounds for every other histogram.
    pub(crate) default: Arc<[f64]>,
}

impl Buckets {
    fn for_name(&self, name: &str) -> Arc<[f64]> {
        self.by_name
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| Arc::clone(&self.default), |(_, b)| Arc::clone(b))
    }
}

/// A counter: an integer, or (for collected values such as CPU seconds) a float.
#[derive(Debug, Default)]
struct CounterCell(AtomicU64);

impl CounterFn for CounterCell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }

    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

/// A gauge: the sum of its whole-number steps, as an integer (one atomic addition each, as the
/// in-flight gauge takes), plus a float part for everything else.
///
/// `set` stores the float part and clears the integer part: a step made at the same moment
/// lands before or after the set, never lost in between. Steps of more than 2^53, where floats
/// stop being whole numbers, go to the float part.
#[derive(Debug)]
struct GaugeCell {
    steps: AtomicI64,
    /// `f64` bits.
    rest: AtomicU64,
}

impl Default for GaugeCell {
    fn default() -> Self {
        Self {
            steps: AtomicI64::new(0),
            rest: AtomicU64::new(0f64.to_bits()),
        }
    }
}

/// Whole numbers up to this size are exact as both `f64` and `i64`.
const EXACT_STEP: f64 = 9_007_199_254_740_992.0; // 2^53

impl GaugeCell {
    fn add(&self, value: f64) {
        // `as` truncates (a conversion instruction, where `fract` is a library call).
        let step = value as i64;
        if value.abs() <= EXACT_STEP && step as f64 == value {
            self.steps.fetch_add(step, Ordering::Relaxed);
        } else {
            add_f64(&self.rest, value);
        }
    }

    fn value(&self) -> f64 {
        f64::from_bits(self.rest.load(Ordering::Relaxed))
            + self.steps.load(Ordering::Relaxed) as f64
    }
}

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.add(value);
    }

    fn decrement(&self, value: f64) {
        self.add(-value);
    }

    fn set(&self, value: f64) {
        self.steps.swap(0, Ordering::Relaxed);
        self.rest.store(value.to_bits(), Ordering::Relaxed);
    }
}

/// A histogram handle: records with the thread's current trace id as exemplar, if any.
#[derive(Debug)]
struct HistogramCell(AtomicHistogram);

impl HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        self.0.observe(value, 1, crate::trace::current());
    }

    fn record_many(&self, value: f64, count: usize) {
        self.0.observe(value, count as u64, crate::trace::current());
    }
}

/// One series' storage.
#[derive(Clone, Debug)]
enum Cell {
    Counter(Arc<CounterCell>),
    /// A counter whose value is a float (`f64` bits), set by collectors.
    FloatCounter(Arc<GaugeCell>),
    Gauge(Arc<GaugeCell>),
    Histogram(Arc<HistogramCell>),
}

impl Cell {
    fn read(&self) -> SeriesRead<'_> {
        match self {
            Self::Counter(c) => SeriesRead::Int(c.0.load(Ordering::Relaxed)),
            Self::FloatCounter(c) | Self::Gauge(c) => SeriesRead::Float(c.value()),
            Self::Histogram(h) => SeriesRead::Histogram {
                bounds: h.0.bounds(),
                snapshot: h.0.snapshot(),
            },
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Self::Counter(_) | Self::FloatCounter(_) => Kind::Counter,
            Self::Gauge(_) => Kind::Gauge,
            Self::Histogram(_) => Kind::Histogram,
        }
    }
}

/// One series: its label text and its storage.
#[derive(Debug)]
struct Series {
    /// `k="v",…` without braces, in the order the labels were given.
    labels: Box<str>,
    cell: Cell,
}

/// A series' labels as `(name, value)` pairs: names sanitised, values as recorded (read back
/// from the label text, so series keep no second copy of their labels).
pub(crate) type LabelPairs<'a> = [(&'a str, Cow<'a, str>)];

/// A series' value, as [`Store::visit_family`] reads it.
#[derive(Debug)]
pub(crate) enum SeriesRead<'a> {
    /// An integer counter.
    Int(u64),
    /// A float counter or a gauge.
    Float(f64),
    /// A histogram: its finite bucket bounds and a consistent snapshot of its counts.
    Histogram {
        bounds: &'a [f64],
        snapshot: HistogramSnapshot,
    },
}

/// The series of one metric name.
#[derive(Debug, Default)]
struct Family {
    kind: Option<Kind>,
    help: Option<String>,
    unit: Option<Unit>,
    /// Keyed by the label text with its labels sorted, so the same labels given in another
    /// order are one series.
    series: BTreeMap<Box<str>, Series>,
    /// The `le` values of this family's histograms.
    les: Option<Box<[Box<str>]>>,
    /// The family that kept a name this one would write too, when this one is left out of the
    /// exposition (decided when its first series is registered; see [`clash`]).
    dropped_by: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Facade keys to their series (several keys may share one).
    index: HashMap<Key, Cell>,
    /// Families by sanitised name, in the order they are written.
    families: BTreeMap<String, Family>,
    /// The names the written families take.
    names: Names,
}

/// The state behind a [`PrometheusRecorder`](super::PrometheusRecorder).
#[derive(Debug)]
pub(crate) struct Store {
    inner: RwLock<Inner>,
    global_labels: Vec<(String, String)>,
    buckets: Buckets,
    /// The length of the last render, to size the next one's buffer.
    last_len: AtomicUsize,
    /// The schema of native (exponential) buckets kept beside the fixed ones, if any.
    native: Option<i8>,
}

impl Store {
    pub(crate) fn new(global_labels: &[(String, String)], buckets: Buckets) -> Self {
        let global_labels = global_labels
            .iter()
            .map(|(k, v)| (text::label_name(k), v.clone()))
            .collect();
        Self {
            inner: RwLock::new(Inner::default()),
            global_labels,
            buckets,
            last_len: AtomicUsize::new(4096),
            native: None,
        }
    }

    /// Histograms registered from now on also keep native buckets at `schema`, if given.
    pub(crate) fn with_native(mut self, schema: Option<i8>) -> Self {
        self.native = schema;
        self
    }

    /// Calls `visit` with the name, kind and help of each family in render order, and the
    /// labels and value of each of its series (families without series are skipped).
    ///
    /// Holds the store's read lock throughout: `visit` must not record new series.
    pub(crate) fn visit_all(
        &self,
        mut visit: impl FnMut(&str, Kind, Option<&str>, &LabelPairs<'_>, SeriesRead<'_>),
    ) {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut pairs = Vec::new();
        for (name, family) in &inner.families {
            let Some(kind) = family.kind else { continue };
            // Left out of every format alike (see `clash`): counted below instead.
            if family.dropped_by.is_some() {
                continue;
            }
            for series in family.series.values() {
                if !text::split_label_text(&series.labels, &mut pairs) {
                    continue;
                }
                visit(
                    name,
                    kind,
                    family.help.as_deref(),
                    &pairs,
                    series.cell.read(),
                );
            }
        }
        for (name, family) in &inner.families {
            if family.dropped_by.is_none() || family.series.is_empty() {
                continue;
            }
            let (labels, _) = self.label_text(&dropped_key(name));
            let mut dropped_pairs = Vec::new();
            if text::split_label_text(&labels, &mut dropped_pairs) {
                let count = SeriesRead::Int(family.series.len() as u64);
                visit(
                    clash::DROPPED,
                    Kind::Counter,
                    Some(DROPPED_HELP),
                    &dropped_pairs,
                    count,
                );
            }
        }
    }

    fn describe(&self, name: &KeyName, kind: Kind, unit: Option<Unit>, help: &SharedString) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let family = inner
            .families
            .entry(text::metric_name(name.as_str()))
            .or_default();
        if family.kind.is_none() || family.kind == Some(kind) {
            family.kind = Some(kind);
            family.help = Some(help.to_string());
            family.unit = unit.or(family.unit);
        }
    }

    /// The label text of `key`: its own labels (the first of each name), then the global
    /// labels it does not set itself; and the same with the labels sorted.
    fn label_text(&self, key: &Key) -> (Box<str>, Box<str>) {
        let mut labels: Vec<(String, &str)> = Vec::new();
        for label in key.labels() {
            let mut name = text::label_name(label.key());
            // Names the format keeps for itself (`__…`, and `le` and `quantile`, which bucket
            // and summary lines carry) are exported under another name, as Prometheus does for
            // a target label that clashes (`exported_…`).
            if name.starts_with("__") || name == "le" || name == "quantile" {
                name.insert_str(0, "exported_");
            }
            if !labels.iter().any(|(n, _)| *n == name) {
                labels.push((name, label.value()));
            }
        }
        for (name, value) in &self.global_labels {
            if !labels.iter().any(|(n, _)| n == name) {
                labels.push((name.clone(), value));
            }
        }
        let write = |labels: &[(String, &str)]| {
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
            s.into_boxed_str()
        };
        let given = write(&labels);
        labels.sort_by(|a, b| a.0.cmp(&b.0));
        (given, write(&labels))
    }

    /// Calls `visit` with the labels and current value of every series of the metric recorded
    /// as `name` (nothing when there is none). Histograms are read as a scrape reads them.
    ///
    /// Holds the store's read lock throughout: `visit` must not record new series.
    pub(crate) fn visit_family(
        &self,
        name: &str,
        mut visit: impl FnMut(&LabelPairs<'_>, SeriesRead<'_>),
    ) {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let Some(family) = inner.families.get(&text::metric_name(name)) else {
            return;
        };
        let mut pairs = Vec::new();
        for series in family.series.values() {
            // The text is this store's own writing, so it always reads back.
            if !text::split_label_text(&series.labels, &mut pairs) {
                continue;
            }
            let read = match &series.cell {
                Cell::Counter(c) => SeriesRead::Int(c.0.load(Ordering::Relaxed)),
                Cell::FloatCounter(c) | Cell::Gauge(c) => SeriesRead::Float(c.value()),
                Cell::Histogram(h) => SeriesRead::Histogram {
                    bounds: h.0.bounds(),
                    snapshot: h.0.snapshot(),
                },
            };
            visit(&pairs, read);
        }
    }

    /// The storage of `key` as a `kind`, created on first use; `None` when the name is
    /// already taken by another kind.
    fn register(&self, key: &Key, kind: Kind, float: bool) -> Option<Cell> {
        if let Some(cell) = self
            .inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .index
            .get(key)
        {
            return (cell.kind() == kind).then(|| cell.clone());
        }
        let (given, sorted) = self.label_text(key);
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(cell) = inner.index.get(key) {
            return (cell.kind() == kind).then(|| cell.clone());
        }
        let Inner {
            index,
            families,
            names,
        } = &mut *inner;
        let name = text::metric_name(key.name());
        let family = families.entry(name.clone()).or_default();
        if family.kind.is_some_and(|k| k != kind) {
            conflict(key.name());
            return None;
        }
        family.kind = Some(kind);
        if family.series.is_empty() {
            // The family's first series: it takes its names, or is left out if a family
            // registered earlier has one of them.
            if let Err(owner) = names.claim(&name, kind) {
                clash::warn(&name, &owner);
                family.dropped_by = Some(owner);
            }
        }
        let cell = match family.series.get(&sorted) {
            Some(series) => series.cell.clone(),
            None => {
                let cell = match kind {
                    Kind::Counter if float => Cell::FloatCounter(Arc::default()),
                    Kind::Counter => Cell::Counter(Arc::default()),
                    Kind::Gauge => Cell::Gauge(Arc::default()),
                    Kind::Histogram => {
                        let bounds = self.buckets.for_name(key.name());
                        if family.les.is_none() {
                            family.les = Some(text::les(&bounds));
                        }
                        Cell::Histogram(Arc::new(HistogramCell(AtomicHistogram::with_native(
                            bounds,
                            self.native,
                        ))))
                    }
                };
                family.series.insert(
                    sorted,
                    Series {
                        labels: given,
                        cell: cell.clone(),
                    },
                );
                cell
            }
        };
        index.insert(key.clone(), cell.clone());
        Some(cell)
    }

    /// Sets a float counter (for collected totals such as CPU seconds).
    pub(crate) fn set_float_counter(&self, name: &'static str, value: f64) {
        if let Some(Cell::FloatCounter(c)) =
            self.register(&Key::from_static_name(name), Kind::Counter, true)
        {
            c.set(value);
        }
    }

    /// The number of series (histograms count once).
    #[cfg(test)]
    pub(crate) fn series_count(&self) -> usize {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner.families.values().map(|f| f.series.len()).sum()
    }

    /// Writes every series in `format`.
    pub(crate) fn render(&self, format: Format) -> String {
        let mut out = String::with_capacity(self.last_len.load(Ordering::Relaxed) + 1024);
        {
            let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            for (name, family) in &inner.families {
                let Some(kind) = family.kind.filter(|_| !family.series.is_empty()) else {
                    continue;
                };
                if family.dropped_by.is_some() {
                    continue;
                }
                text::push_header(
                    &mut out,
                    name,
                    kind,
                    family.help.as_deref(),
                    family.unit,
                    format,
                );
                for series in family.series.values() {
                    let labels = &series.labels;
                    match &series.cell {
                        Cell::Counter(c) => text::push_sample(
                            &mut out,
                            name,
                            labels,
                            Value::Int(c.0.load(Ordering::Relaxed)),
                        ),
                        Cell::FloatCounter(c) | Cell::Gauge(c) => {
                            text::push_sample(&mut out, name, labels, Value::Float(c.value()));
                        }
                        Cell::Histogram(h) => {
                            let snapshot = h.0.snapshot();
                            let les = family.les.as_deref().unwrap_or_default();
                            text::push_histogram(&mut out, name, labels, les, &snapshot, format);
                        }
                    }
                }
            }
            self.render_dropped(&inner, &mut out, format);
        }
        if format == Format::OpenMetrics {
            out.push_str("# EOF\n");
        }
        self.last_len.store(out.len(), Ordering::Relaxed);
        out
    }
}

/// The description of the count of series left out of the exposition.
const DROPPED_HELP: &str = "Series left out of the exposition because an earlier family writes one of their names, by family.";

/// The key of the count of series left out for the family `name`.
fn dropped_key(name: &str) -> Key {
    Key::from_parts(
        clash::DROPPED,
        vec![metrics::Label::new("metric", name.to_owned())],
    )
}

impl Store {
    /// Writes how many series each family left out of the exposition has (nothing when none
    /// is): the series are kept, and written again by no render, so the count only grows.
    fn render_dropped(&self, inner: &Inner, out: &mut String, format: Format) {
        let mut header = false;
        for (name, family) in &inner.families {
            if family.dropped_by.is_none() || family.series.is_empty() {
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
            let (labels, _) = self.label_text(&dropped_key(name));
            text::push_sample(
                out,
                clash::DROPPED,
                &labels,
                Value::Int(family.series.len() as u64),
            );
        }
    }
}

/// Says once per name that a metric was registered as two kinds.
fn conflict(name: &str) {
    tracing::warn!(
        metric = name,
        "metric registered again as another kind (counter, gauge or histogram); the new handle records nothing"
    );
}

/// The `metrics` recorder of routemeter's Prometheus set-up.
///
/// Records every value in place, into fixed buckets for histograms, so a value is never lost
/// and a scrape never waits for (or races with) an upkeep: there is none. Cheap to clone;
/// clones record into the same series.
///
/// Get one from [`PrometheusMetrics::recorder`](super::PrometheusMetrics::recorder), e.g. to
/// record from code that uses `metrics::with_local_recorder`.
#[derive(Clone)]
pub struct PrometheusRecorder {
    pub(crate) store: Arc<Store>,
}

impl std::fmt::Debug for PrometheusRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusRecorder").finish_non_exhaustive()
    }
}

impl Recorder for PrometheusRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.store.describe(&key, Kind::Counter, unit, &description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.store.describe(&key, Kind::Gauge, unit, &description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.store
            .describe(&key, Kind::Histogram, unit, &description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        match self.store.register(key, Kind::Counter, false) {
            Some(Cell::Counter(c)) => Counter::from_arc(c),
            _ => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        match self.store.register(key, Kind::Gauge, false) {
            Some(Cell::Gauge(g)) => Gauge::from_arc(g),
            _ => Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        match self.store.register(key, Kind::Histogram, false) {
            Some(Cell::Histogram(h)) => Histogram::from_arc(h),
            _ => Histogram::noop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::Label;

    fn store() -> PrometheusRecorder {
        PrometheusRecorder {
            store: Arc::new(Store::new(
                &[("region".into(), "eu \"west\"".into())],
                Buckets {
                    by_name: vec![("d".into(), Arc::from(&[0.1, 1.0][..]))],
                    default: Arc::from(&[5.0][..]),
                },
            )),
        }
    }

    static META: Metadata<'static> = Metadata::new("t", metrics::Level::INFO, None);

    #[test]
    fn renders_each_kind() {
        let r = store();
        r.describe_histogram("d".into(), Some(Unit::Seconds), "Durations.".into());
        let key = Key::from_parts("d", vec![Label::new("route", "/a\\b")]);
        r.register_histogram(&key, &META).record(0.5);
        r.register_counter(&Key::from_name("c_total"), &META)
            .increment(3);
        r.register_gauge(&Key::from_name("g"), &META).set(-1.5);
        r.store.set_float_counter("cpu_seconds_total", 0.25);
        assert_eq!(
            r.store.render(Format::Prometheus),
            "# TYPE c_total counter\nc_total{region=\"eu \\\"west\\\"\"} 3\n\
             # TYPE cpu_seconds_total counter\ncpu_seconds_total{region=\"eu \\\"west\\\"\"} 0.25\n\
             # HELP d Durations.\n# TYPE d histogram\n\
             d_bucket{route=\"/a\\\\b\",region=\"eu \\\"west\\\"\",le=\"0.1\"} 0\n\
             d_bucket{route=\"/a\\\\b\",region=\"eu \\\"west\\\"\",le=\"1\"} 1\n\
             d_bucket{route=\"/a\\\\b\",region=\"eu \\\"west\\\"\",le=\"+Inf\"} 1\n\
             d_sum{route=\"/a\\\\b\",region=\"eu \\\"west\\\"\"} 0.5\n\
             d_count{route=\"/a\\\\b\",region=\"eu \\\"west\\\"\"} 1\n\
             # TYPE g gauge\ng{region=\"eu \\\"west\\\"\"} -1.5\n"
        );
    }

    #[test]
    fn same_labels_in_another_order_are_one_series() {
        let r = store();
        let a = Key::from_parts("c_total", vec![Label::new("x", "1"), Label::new("y", "2")]);
        let b = Key::from_parts("c_total", vec![Label::new("y", "2"), Label::new("x", "1")]);
        let dup = Key::from_parts(
            "c_total",
            vec![
                Label::new("x", "1"),
                Label::new("x", "9"),
                Label::new("y", "2"),
            ],
        );
        r.register_counter(&a, &META).increment(1);
        r.register_counter(&b, &META).increment(1);
        r.register_counter(&dup, &META).increment(1);
        let out = r.store.render(Format::Prometheus);
        assert!(
            out.contains("c_total{x=\"1\",y=\"2\",region=\"eu \\\"west\\\"\"} 3\n"),
            "{out}"
        );
        assert_eq!(r.store.series_count(), 1);
    }

    #[test]
    fn reserved_label_names_are_exported_under_another_name() {
        let r = store();
        let key = Key::from_parts(
            "d",
            vec![
                Label::new("le", "x"),
                Label::new("__name__", "y"),
                Label::new("quantile", "z"),
            ],
        );
        r.register_histogram(&key, &META).record(0.5);
        let out = r.store.render(Format::Prometheus);
        assert!(
            out.contains(
                "d_count{exported_le=\"x\",exported___name__=\"y\",exported_quantile=\"z\","
            ),
            "{out}"
        );
        // One `le` per bucket line, the format's own.
        let buckets = out.lines().filter(|l| l.starts_with("d_bucket")).count();
        assert_eq!(
            out.matches(",le=\"").count() + out.matches("{le=\"").count(),
            buckets
        );
    }

    #[test]
    fn a_name_keeps_its_first_kind() {
        let r = store();
        r.register_counter(&Key::from_name("m"), &META).increment(1);
        r.register_gauge(&Key::from_name("m"), &META).set(5.0);
        r.register_histogram(&Key::from_name("m"), &META)
            .record(1.0);
        let out = r.store.render(Format::Prometheus);
        assert!(
            out.contains("# TYPE m counter\nm{region=\"eu \\\"west\\\"\"} 1\n"),
            "{out}"
        );
        assert!(!out.contains("gauge"), "{out}");
    }

    #[test]
    fn openmetrics_ends_with_eof() {
        let r = store();
        r.register_counter(&Key::from_name("c_total"), &META)
            .increment(1);
        let out = r.store.render(Format::OpenMetrics);
        assert!(out.starts_with("# TYPE c counter\nc_total{"), "{out}");
        assert!(out.ends_with("# EOF\n"));
    }

    #[test]
    fn visit_family_gives_raw_labels_and_values() {
        let r = store();
        let key = Key::from_parts(
            "d",
            vec![
                Label::new("route", "/a\"<b>\n"),
                Label::new("route", "/ignored"),
                Label::new("my-key", "v"),
            ],
        );
        r.register_histogram(&key, &META).record_many(0.5, 3);
        r.register_gauge(&Key::from_name("g"), &META).set(2.5);
        let mut seen = Vec::new();
        r.store.visit_family("d", |labels, value| {
            let SeriesRead::Histogram { bounds, snapshot } = value else {
                panic!("{value:?}");
            };
            assert_eq!(bounds, [0.1, 1.0]);
            assert_eq!((snapshot.count, snapshot.cumulative), (3, vec![0, 3, 3]));
            seen.push(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_string()))
                    .collect::<Vec<_>>(),
            );
        });
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            seen,
            [pairs(&[
                ("route", "/a\"<b>\n"),
                ("my_key", "v"),
                ("region", "eu \"west\""),
            ])]
        );
        let mut gauges = Vec::new();
        r.store
            .visit_family("g", |_, value| gauges.push(format!("{value:?}")));
        assert_eq!(gauges, ["Float(2.5)"]);
        r.store
            .visit_family("missing", |_, _| panic!("no such family"));
    }
}
