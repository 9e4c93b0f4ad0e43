//! The Prometheus recorder: where series live between scrapes, and how a series is registered.
//!
//! Every series is a fixed set of atomics updated in place when the value is recorded:
//! counters and gauges are one atomic each, histograms are [`AtomicHistogram`]s ([`cells`]).
//! Nothing is buffered, so there is no upkeep and nothing to lose. A series' label text (keys
//! sanitised, values escaped, constant labels added) is prepared once when it is registered
//! ([`labels`]). A scrape writes the store as text ([`render`]) or reads it as data ([`read`]).

mod cells;
mod dropped;
mod index;
mod labels;
mod read;
mod walk;

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, PoisonError, RwLock};

use metrics::{
    Counter, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

use super::clash::{self, Names};
use super::exposition::text::{self, Kind};
use super::histogram::AtomicHistogram;
pub(crate) use cells::SeriesRead;
use cells::{Cell, HistogramCell};
use index::{ByHash, LabelSets, SeriesRef};
pub(crate) use labels::LabelPairs;
pub(crate) use walk::{Exposition, FamilyHead, SeriesItem};

/// Where a histogram's bucket bounds come from.
#[derive(Clone, Debug)]
pub(crate) struct Buckets {
    /// Bounds for the series of one route: (histogram name, route label key, route, bounds),
    /// names and keys as recorded. They take precedence over the name's.
    pub(crate) by_route: Vec<(String, &'static str, String, Arc<[f64]>)>,
    /// Bounds for histograms named exactly so (names as recorded, before sanitising).
    pub(crate) by_name: Vec<(String, Arc<[f64]>)>,
    /// Native bucket schemas for the series of one route: (histogram name, route label key,
    /// route, schema). They take the place of the store's schema where native buckets are on.
    pub(crate) native_by_route: Vec<(String, &'static str, String, i8)>,
    /// Bounds for every other histogram.
    pub(crate) default: Arc<[f64]>,
}

impl Buckets {
    /// The bounds of the histogram series `key`: its route's, else its name's, else the
    /// default.
    fn for_key(&self, key: &Key) -> Arc<[f64]> {
        let name = key.name();
        let by_route = self
            .by_route
            .iter()
            .find(|(n, label, route, _)| on_route(key, n, label, route));
        if let Some((.., bounds)) = by_route {
            return Arc::clone(bounds);
        }
        self.by_name
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| Arc::clone(&self.default), |(_, b)| Arc::clone(b))
    }

    /// The native schema of the histogram series `key` when native buckets are on with
    /// `schema`: its route's, else `schema`.
    fn native_for_key(&self, key: &Key, schema: Option<i8>) -> Option<i8> {
        let schema = schema?;
        let by_route = self
            .native_by_route
            .iter()
            .find(|(n, label, route, _)| on_route(key, n, label, route));
        Some(by_route.map_or(schema, |(.., s)| *s))
    }
}

/// Whether `key` is a series of histogram `name` whose `label` is `route`.
fn on_route(key: &Key, name: &str, label: &str, route: &str) -> bool {
    key.name() == name && key.labels().any(|l| l.key() == label && l.value() == route)
}

/// A histogram's bucket bounds as `le` label values.
type Les = Box<[Box<str>]>;

/// One series: its label text and its storage.
#[derive(Debug)]
struct Series {
    /// `k="v",…` without braces, in the order the labels were given: the one copy of the
    /// series' labels.
    labels: Box<str>,
    cell: Cell,
    /// What few series have.
    rare: Option<Box<Rare>>,
}

/// What a series has only now and then.
#[derive(Debug, Default)]
struct Rare {
    /// The `le` values of a histogram whose bounds are not its family's (a route's own).
    les: Option<Les>,
    /// The labels as recorded, when writing them changed a name (see [`index::label_origin`]):
    /// another key that writes the same text is then a different series, left out.
    origin: Option<Box<[u8]>>,
}

impl Series {
    fn les(&self) -> Option<&Les> {
        self.rare.as_ref()?.les.as_ref()
    }

    fn origin(&self) -> Option<&[u8]> {
        self.rare.as_ref()?.origin.as_deref()
    }
}

/// The series of one metric name.
#[derive(Debug, Default)]
struct Family {
    kind: Option<Kind>,
    help: Option<String>,
    unit: Option<Unit>,
    /// The written series, in the order they were registered.
    series: Vec<Series>,
    /// The written series by label set, so the same labels given in another order are one
    /// series.
    sets: LabelSets,
    /// Series whose labels, once written, are another series' labels (`a-b` beside `a_b`):
    /// they record into storage no format writes.
    left_out: Vec<Series>,
    /// The bounds of this family's first histogram, and their `le` values (a series with other
    /// bounds, a route's own, keeps its own `le` values).
    les: Option<(Box<[f64]>, Les)>,
    /// The family that kept a name this one would write too, when this one is left out of the
    /// exposition (decided when its first series is registered; see [`clash`]).
    dropped_by: Option<String>,
    /// The name as the application recorded it, before sanitising (set by the first series).
    recorded: Option<Box<str>>,
}

impl Family {
    /// How many series of this family no format writes: all of them when the family is left
    /// out, else those whose labels clashed.
    fn left_out(&self) -> u64 {
        let family = match self.dropped_by {
            Some(_) => self.series.len() as u64,
            None => 0,
        };
        family + self.left_out.len() as u64
    }

    /// The series at `at` (see [`SeriesRef`]).
    fn at(&self, at: u32) -> &Series {
        if at & SeriesRef::LEFT_OUT == 0 {
            &self.series[at as usize]
        } else {
            &self.left_out[(at & !SeriesRef::LEFT_OUT) as usize]
        }
    }

    /// The name the count of this family's left-out series carries: the name as recorded.
    fn display_name<'a>(&'a self, key: &'a str) -> &'a str {
        self.recorded.as_deref().unwrap_or(key)
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Facade keys to their series, by the keys' hashes (several keys may share one series).
    index: ByHash<SeriesRef>,
    families: Vec<Family>,
    /// Families by sanitised name, in the order they are written. A name that sanitises to
    /// the name of a family recorded under another name (`a-b` beside `a_b`) gets an entry of
    /// its own, keyed `sanitised\0recorded` and left out: one written name, one family.
    by_name: BTreeMap<String, u32>,
    /// The names the written families take.
    names: Names,
}

/// The state behind a [`PrometheusRecorder`](super::PrometheusRecorder).
#[derive(Debug)]
pub(crate) struct Store {
    inner: RwLock<Inner>,
    constant_labels: Vec<(String, String)>,
    buckets: Buckets,
    /// The length of the last render, to size the next one's buffer.
    pub(crate) last_len: AtomicUsize,
    /// The schema of native (exponential) buckets kept beside the fixed ones, if any.
    native: Option<i8>,
    /// Hashes label sets ([`index::set_hash`]), with keys of this store's own.
    hasher: RandomState,
}

impl Store {
    pub(crate) fn new(constant_labels: &[(String, String)], buckets: Buckets) -> Self {
        let constant_labels = constant_labels
            .iter()
            .map(|(k, v)| (text::label_name(k), v.clone()))
            .collect();
        Self {
            inner: RwLock::new(Inner::default()),
            constant_labels,
            buckets,
            last_len: AtomicUsize::new(4096),
            native: None,
            hasher: RandomState::new(),
        }
    }

    /// Histograms registered from now on also keep native buckets at `schema`, if given.
    pub(crate) fn with_native(mut self, schema: Option<i8>) -> Self {
        self.native = schema;
        self
    }

    /// New storage for the series `key` of `kind`.
    fn new_cell(&self, kind: Kind, float: bool, key: &Key) -> Cell {
        match kind {
            Kind::Counter if float => Cell::FloatCounter(Arc::default()),
            Kind::Counter => Cell::Counter(Arc::default()),
            Kind::Gauge => Cell::Gauge(Arc::default()),
            Kind::Histogram => {
                Cell::Histogram(Arc::new(HistogramCell(AtomicHistogram::with_native(
                    self.buckets.for_key(key),
                    self.buckets.native_for_key(key, self.native),
                ))))
            }
        }
    }

    fn describe(&self, name: &KeyName, kind: Kind, unit: Option<Unit>, help: &SharedString) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let at = inner.family(text::metric_name(name.as_str()));
        let family = &mut inner.families[at];
        if family.kind.is_none() || family.kind == Some(kind) {
            family.kind = Some(kind);
            family.help = Some(help.to_string());
            family.unit = unit.or(family.unit);
        }
    }

    /// The storage of `key` as a `kind`, created on first use; `None` when the name is
    /// already taken by another kind.
    fn register(&self, key: &Key, kind: Kind, float: bool) -> Option<Cell> {
        let constant = &self.constant_labels;
        {
            let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(cell) = inner.find(key, constant, &self.hasher) {
                return (cell.kind() == kind).then(|| cell.clone());
            }
        }
        let (given, pairs) = self.label_text(key);
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(cell) = inner.find(key, constant, &self.hasher) {
            return (cell.kind() == kind).then(|| cell.clone());
        }
        let name = text::metric_name(key.name());
        // Another recorded name that sanitises to this one: left out under an entry of its own.
        let renamed_from = inner
            .by_name
            .get(&name)
            .and_then(|&at| inner.families[at as usize].recorded.as_deref())
            .filter(|recorded| **recorded != *key.name())
            .map(str::to_owned);
        let entry = match &renamed_from {
            Some(_) => format!("{name}\0{}", key.name()),
            None => name.clone(),
        };
        let at = inner.family(entry);
        let Inner {
            index,
            families,
            names,
            ..
        } = &mut *inner;
        let family = &mut families[at];
        if family.kind.is_some_and(|k| k != kind) {
            conflict(key.name());
            return None;
        }
        family.kind = Some(kind);
        if family.series.is_empty() && family.dropped_by.is_none() {
            // The family's first series: it takes its names, or is left out if a family
            // registered earlier has one of them (or has its sanitised name).
            family.recorded = Some(key.name().into());
            let claimed = match renamed_from {
                Some(owner) => Err(owner),
                None => names.claim(&name, kind),
            };
            if let Err(owner) = claimed {
                clash::warn(key.name(), &owner);
                family.dropped_by = Some(owner);
            }
        }
        let origin = index::label_origin(key);
        let set = index::set_hash(&self.hasher, &pairs);
        // Told apart from other keys of the same hash by this (see `index::identity`).
        let identity = index::identity(&self.hasher, set, origin.as_deref());
        let written = family.sets.find(set, &family.series, &pairs);
        // The same left-out labels given in another order: that series.
        let left_out = written.and_then(|_| {
            family.left_out.iter().position(|s| {
                s.origin() == origin.as_deref() && index::same_pairs(&s.labels, &pairs)
            })
        });
        let place = match (written, left_out) {
            (Some(i), _) if family.series[i as usize].origin() == origin.as_deref() => i,
            (Some(_), Some(i)) => (i as u32) | SeriesRef::LEFT_OUT,
            (Some(_), None) => {
                // Written alike, recorded apart: left out and counted, never merged.
                if family.left_out.is_empty() {
                    clash::warn_labels(key.name());
                }
                family.left_out.push(Series {
                    labels: given,
                    cell: self.new_cell(kind, float, key),
                    rare: origin.map(|origin| {
                        Box::new(Rare {
                            les: None,
                            origin: Some(origin),
                        })
                    }),
                });
                (family.left_out.len() - 1) as u32 | SeriesRef::LEFT_OUT
            }
            (None, _) => {
                let cell = self.new_cell(kind, float, key);
                let mut les = None;
                if let Cell::Histogram(h) = &cell {
                    // Formatted once per family, and again only for a series whose bounds
                    // differ from the family's.
                    let bounds = h.0.bounds();
                    match &family.les {
                        None => family.les = Some((bounds.into(), text::les(bounds))),
                        Some((first, _)) if **first != *bounds => les = Some(text::les(bounds)),
                        Some(_) => {}
                    }
                }
                let rare =
                    (les.is_some() || origin.is_some()).then(|| Box::new(Rare { les, origin }));
                family.series.push(Series {
                    labels: given,
                    cell,
                    rare,
                });
                let i = (family.series.len() - 1) as u32;
                family.sets.insert(set, i);
                i
            }
        };
        let place = SeriesRef {
            family: at as u32,
            at: place,
        };
        index.insert(key.get_hash(), place, || identity);
        Some(families[at].at(place.at).cell.clone())
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
        inner.families.iter().map(|f| f.series.len()).sum()
    }
}

impl Inner {
    /// The index of the family keyed `name` (see [`Inner::by_name`]), made if there is none.
    fn family(&mut self, name: String) -> usize {
        if let Some(&at) = self.by_name.get(&name) {
            return at as usize;
        }
        self.families.push(Family::default());
        let at = self.families.len() - 1;
        self.by_name.insert(name, at as u32);
        at
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

/// The address of the store behind the Prometheus recorder installed as the facade's global
/// recorder (0 until one is): set once, as the global recorder is.
pub(crate) static INSTALLED: AtomicUsize = AtomicUsize::new(0);

impl PrometheusRecorder {
    /// The recorder of `store`; the first one made tells layers how to know its clones.
    pub(crate) fn new(store: Store) -> Self {
        crate::registry::registrar::identify_with(
            crate::registry::registrar::PROMETHEUS,
            Self::identify,
        );
        Self {
            store: Arc::new(store),
        }
    }

    /// What tells a Prometheus recorder apart (see
    /// [`recorder_identity`](crate::registry::registrar::recorder_identity)): the address of
    /// the store its clones share, or the facade's identity for the installed one, so that a
    /// layer given it and a layer on the global recorder are layers into one recorder.
    fn identify(any: &dyn std::any::Any) -> Option<usize> {
        let store = Arc::as_ptr(&any.downcast_ref::<Self>()?.store).addr();
        if store == INSTALLED.load(std::sync::atomic::Ordering::Acquire) {
            return Some(crate::registry::registrar::FACADE);
        }
        Some(store)
    }
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
mod tests;
