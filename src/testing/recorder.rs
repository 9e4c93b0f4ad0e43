//! An in-memory `metrics` recorder that keeps every histogram as an HDR histogram.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

use super::distribution::Distribution;
use super::series::SeriesValue;

/// A `metrics` [`Recorder`] that keeps everything in memory, for tests.
///
/// Counters and gauges are exact. Histograms keep an exact count, sum, and an HDR histogram for
/// min, max and quantiles, with a relative error of at most 0.1 %. Histograms described with
/// [`Unit::Seconds`] are stored in nanoseconds, all others as whole numbers (bytes).
///
/// Clones share their data. Nothing is global: give it to a layer with
/// [`RouteMeterBuilder::recorder`](crate::RouteMeterBuilder::recorder), or use
/// [`TestMeter`](super::TestMeter), which does that for you.
///
/// ```
/// use routemeter::testing::{TestMeter, TestRecorder};
///
/// let meter = TestMeter::new();
/// // The meter's recorder takes any series, not only routemeter's:
/// let recorder: &TestRecorder = meter.recorder();
/// metrics::with_local_recorder(recorder, || metrics::counter!("jobs_total").increment(3));
/// assert_eq!(meter.snapshot().counter("jobs_total", &[]), Some(3));
/// ```
#[derive(Clone)]
pub struct TestRecorder {
    store: Arc<Store>,
}

impl Default for TestRecorder {
    fn default() -> Self {
        // The first one made tells layers how to know its clones.
        crate::registry::registrar::identify_with(crate::registry::registrar::TESTING, |any| {
            any.downcast_ref::<Self>().map(Self::identity)
        });
        Self {
            store: Arc::default(),
        }
    }
}

impl std::fmt::Debug for TestRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = &self.store;
        f.debug_struct("TestRecorder")
            .field("counters", &read(&store.counters).len())
            .field("gauges", &read(&store.gauges).len())
            .field("histograms", &read(&store.histograms).len())
            .finish()
    }
}

#[derive(Default)]
struct Store {
    counters: RwLock<HashMap<Key, Arc<AtomicU64>>>,
    gauges: RwLock<HashMap<Key, Arc<AtomicU64>>>,
    histograms: RwLock<HashMap<Key, Arc<HistogramCell>>>,
    units: RwLock<HashMap<String, Unit>>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn get_or_insert<V: Clone>(map: &RwLock<HashMap<Key, V>>, key: &Key, new: impl FnOnce() -> V) -> V {
    if let Some(v) = read(map).get(key) {
        return v.clone();
    }
    map.write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(key.clone())
        .or_insert_with(new)
        .clone()
}

/// One histogram: the exact sum beside the HDR histogram of scaled values.
pub(crate) struct HistogramCell {
    data: Mutex<Distribution>,
}

impl HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        self.data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(value);
    }

    fn record_many(&self, value: f64, count: usize) {
        self.data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record_n(value, count as u64);
    }
}

impl TestRecorder {
    /// An empty recorder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The address of the store its clones share: one recorder, however many clones.
    pub(crate) fn identity(&self) -> usize {
        Arc::as_ptr(&self.store).addr()
    }

    /// Every series' current value, copied.
    pub(crate) fn values(&self) -> Vec<(Key, SeriesValue)> {
        let s = &self.store;
        let mut out: Vec<(Key, SeriesValue)> = Vec::new();
        out.extend(
            read(&s.counters)
                .iter()
                .map(|(k, v)| (k.clone(), SeriesValue::Counter(v.load(Ordering::Acquire)))),
        );
        out.extend(read(&s.gauges).iter().map(|(k, v)| {
            let value = f64::from_bits(v.load(Ordering::Acquire));
            (k.clone(), SeriesValue::Gauge(value))
        }));
        out.extend(read(&s.histograms).iter().map(|(k, v)| {
            let data = v
                .data
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            (k.clone(), SeriesValue::Histogram(data))
        }));
        out
    }

    fn describe(&self, key: &KeyName, unit: Option<Unit>) {
        if let Some(unit) = unit {
            self.store
                .units
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key.as_str().to_owned(), unit);
        }
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe(&key, unit);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe(&key, unit);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe(&key, unit);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(get_or_insert(&self.store.counters, key, Default::default))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(get_or_insert(&self.store.gauges, key, Default::default))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let seconds = read(&self.store.units).get(key.name()) == Some(&Unit::Seconds);
        let cell = get_or_insert(&self.store.histograms, key, || {
            let scale = if seconds { 1e9 } else { 1.0 };
            Arc::new(HistogramCell {
                data: Mutex::new(Distribution::hdr(scale)),
            })
        });
        Histogram::from_arc(cell)
    }
}
