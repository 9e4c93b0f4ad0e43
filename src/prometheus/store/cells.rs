//! A series' storage: the counter, gauge and histogram cells that `metrics` handles record
//! into (through `CounterFn`, `GaugeFn` and `HistogramFn`), each a fixed set of atomics updated
//! in place, and how one is read back as a [`SeriesRead`].

use std::sync::Arc;

use crate::sync::{AtomicI64, AtomicU64, Ordering};

use metrics::{CounterFn, GaugeFn, HistogramFn};

use super::super::exposition::text::Kind;
use super::super::histogram::{AtomicHistogram, HistogramSnapshot, add_f64};

/// A counter: an integer, or (for collected values such as CPU seconds) a float.
#[derive(Debug, Default)]
pub(super) struct CounterCell(pub(super) AtomicU64);

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
pub(super) struct GaugeCell {
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
    #[inline]
    fn add(&self, value: f64) {
        // Steps of one (the in-flight gauge's, on every request) settle with one comparison.
        let step = if value == 1.0 {
            1
        } else if value == -1.0 {
            -1
        } else {
            return self.add_other(value);
        };
        self.steps.fetch_add(step, Ordering::Relaxed);
    }

    fn add_other(&self, value: f64) {
        // `as` truncates (a conversion instruction, where `fract` is a library call).
        let step = value as i64;
        if value.abs() <= EXACT_STEP && step as f64 == value {
            self.steps.fetch_add(step, Ordering::Relaxed);
        } else {
            add_f64(&self.rest, value);
        }
    }

    pub(super) fn value(&self) -> f64 {
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
pub(super) struct HistogramCell(pub(super) AtomicHistogram);

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
pub(super) enum Cell {
    Counter(Arc<CounterCell>),
    /// A counter whose value is a float (`f64` bits), set by collectors.
    FloatCounter(Arc<GaugeCell>),
    Gauge(Arc<GaugeCell>),
    Histogram(Arc<HistogramCell>),
}

impl Cell {
    pub(super) fn read(&self) -> SeriesRead<'_> {
        match self {
            Self::Counter(c) => SeriesRead::Int(c.0.load(Ordering::Relaxed)),
            Self::FloatCounter(c) | Self::Gauge(c) => SeriesRead::Float(c.value()),
            Self::Histogram(h) => SeriesRead::Histogram {
                bounds: h.0.bounds(),
                snapshot: h.0.snapshot(),
            },
        }
    }

    pub(super) fn kind(&self) -> Kind {
        match self {
            Self::Counter(_) | Self::FloatCounter(_) => Kind::Counter,
            Self::Gauge(_) => Kind::Gauge,
            Self::Histogram(_) => Kind::Histogram,
        }
    }
}

/// A series' value, as [`Store::visit_family`](super::Store::visit_family) reads it.
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
