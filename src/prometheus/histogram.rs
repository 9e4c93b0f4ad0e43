//! A histogram that never loses a sample: fixed buckets counted in place, read consistently.
//!
//! An observation is three atomic additions (the start count, the sum, the bucket): no buffer,
//! no lock, nothing to drain later. Reads use two halves, hot and cold. Observers always write
//! into the hot half; a reader (one at a time) swaps the halves, waits for the observations that
//! were already under way in the half that just went cold, reads it, then folds it into the new
//! hot half and clears it. The counts a reader sees are therefore a consistent cut: the buckets
//! add up to the count, and the sum belongs to exactly those observations. This is the scheme
//! of the Go client, with one addition fewer: an observation adds to its bucket last, and the
//! reader waits until the cold buckets add up to the observations started, so no separate
//! completion count is kept.
//!
//! With native histograms on, each half also counts the value in exponential buckets
//! ([`super::native`]), before the fixed bucket, so the same cut covers both.
//!
//! Exemplars (the trace id of a recent request per bucket) are kept beside the counts when the
//! request being recorded carries one; see [`crate::trace`].

use std::sync::PoisonError;

use crate::sync::{AtomicBool, AtomicU64, Mutex, OnceLock, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::native::{self, NativeHalf, NativeSnapshot};
use crate::trace::TraceId;

/// Bit 63 of [`AtomicHistogram::started`] says which half is hot.
const HOT_BIT: u64 = 1 << 63;

/// Where a histogram's count saturates: observations past 2^62 (4.6e18) are left out, so the
/// count never reaches [`HOT_BIT`] and the buckets stay cumulative.
pub(crate) const MAX_COUNT: u64 = 1 << 62;

/// The most repetitions an observation adds without checking the room left: past
/// [`MAX_COUNT`] these can overshoot by at most this much per thread, far below [`HOT_BIT`].
const UNCHECKED_TIMES: u64 = 1 << 32;

/// The counts of one half.
struct Half {
    /// The sum of the observed values, as `f64` bits.
    sum: AtomicU64,
    /// Per-bucket (not cumulative) counts; the last one is `+Inf`. Each observer adds to its
    /// bucket last, so the buckets add up to the observations completed into this half.
    buckets: Box<[AtomicU64]>,
    /// Exponential buckets, when native histograms are on (boxed: one pointer when off).
    native: Option<Box<NativeHalf>>,
}

impl Half {
    fn new(buckets: usize, native: Option<i8>) -> Self {
        Self {
            sum: AtomicU64::new(0f64.to_bits()),
            buckets: (0..buckets).map(|_| AtomicU64::new(0)).collect(),
            native: native.map(|schema| Box::new(NativeHalf::new(schema))),
        }
    }

    /// Moves the fixed buckets and the sum of this quiet half into `hot`.
    fn move_into(&self, hot: &Self) {
        for (h, c) in hot.buckets.iter().zip(self.buckets.iter()) {
            h.fetch_add(c.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        }
        add_f64(
            &hot.sum,
            f64::from_bits(self.sum.swap(0f64.to_bits(), Ordering::Relaxed)),
        );
    }

    /// Waits until the observations in this half add up to `started` (each one under way is a
    /// few instructions away from done).
    fn wait_for(&self, started: u64) {
        let mut spins = 0u32;
        while self.completed() != started {
            spins += 1;
            if spins < 64 {
                crate::sync::spin_loop();
            } else {
                crate::sync::yield_now();
            }
        }
    }

    /// The observations completed into this half.
    fn completed(&self) -> u64 {
        self.buckets
            .iter()
            .fold(0u64, |n, b| n.wrapping_add(b.load(Ordering::Acquire)))
    }
}

/// The trace id of a recent observation in a bucket, with its value and time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) trace_id: TraceId,
    pub(crate) value: f64,
    /// Seconds since the Unix epoch.
    pub(crate) timestamp: f64,
}

/// What a reader sees: cumulative bucket counts, the count and the sum, from one cut.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct HistogramSnapshot {
    /// Cumulative counts per finite bound, then `+Inf` (equal to `count`).
    pub(crate) cumulative: Vec<u64>,
    pub(crate) count: u64,
    pub(crate) sum: f64,
    /// Per bucket, the latest exemplar, when any was recorded.
    pub(crate) exemplars: Vec<Option<Exemplar>>,
    /// Whether a value below zero was ever observed: the sum is then no longer a running
    /// total, which OpenMetrics requires of a histogram's `_sum`.
    pub(crate) negative: bool,
    /// The exponential buckets, when native histograms are on: the same observations.
    pub(crate) native: Option<NativeSnapshot>,
}

/// A histogram with fixed bucket bounds, safe to observe from any number of threads.
pub(crate) struct AtomicHistogram {
    bounds: std::sync::Arc<[f64]>,
    /// Observations started (low 63 bits) and the hot half (bit 63).
    started: AtomicU64,
    halves: [Half; 2],
    /// One reader at a time.
    read: Mutex<()>,
    /// Per bucket, the latest exemplar; allocated on the first one.
    exemplars: OnceLock<Box<[Mutex<Option<Exemplar>>]>>,
    /// Whether a value below zero was ever observed.
    negative: AtomicBool,
}

impl std::fmt::Debug for AtomicHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicHistogram")
            .field("bounds", &self.bounds)
            .finish_non_exhaustive()
    }
}

impl AtomicHistogram {
    /// A histogram with these finite, strictly increasing upper bounds (`+Inf` is implied).
    #[cfg(test)]
    pub(crate) fn new(bounds: std::sync::Arc<[f64]>) -> Self {
        Self::with_native(bounds, None)
    }

    /// The same, also counting native (exponential) buckets at `schema` when one is given.
    pub(crate) fn with_native(bounds: std::sync::Arc<[f64]>, schema: Option<i8>) -> Self {
        let n = bounds.len() + 1;
        Self {
            bounds,
            started: AtomicU64::new(0),
            halves: [Half::new(n, schema), Half::new(n, schema)],
            read: Mutex::new(()),
            exemplars: OnceLock::new(),
            negative: AtomicBool::new(false),
        }
    }

    /// The finite upper bounds of the buckets (`+Inf` is implied).
    pub(crate) fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// The bucket `value` falls in: the first bound it does not exceed, else `+Inf`.
    fn bucket(&self, value: f64) -> usize {
        // Bounds are few (tens): a linear scan beats a binary search on them, and most
        // observations land in the first buckets.
        self.bounds
            .iter()
            .position(|&b| value <= b)
            .unwrap_or(self.bounds.len())
    }

    /// The native buckets' layout of the hot half, when native buckets are on.
    #[cfg(test)]
    pub(crate) fn native_layout(&self) -> Option<native::Layout> {
        let hot = usize::from(self.started.load(Ordering::Relaxed) & HOT_BIT != 0);
        self.halves[hot].native.as_ref().map(|n| n.layout())
    }

    /// Records `value` `times` times.
    ///
    /// `NaN` is counted as the Go client counts it: in `+Inf`, and it makes the sum `NaN`
    /// (native buckets leave it out). The count saturates at [`MAX_COUNT`]: what would go past
    /// it is left out, so a huge `times` never wraps the count or breaks the cut.
    #[inline(always)]
    pub(crate) fn observe(&self, value: f64, times: u64, exemplar: Option<TraceId>) {
        if times == 0 {
            return;
        }
        let bucket = self.bucket(value);
        if value < 0.0 {
            // Before the count: a reader that sees this observation sees the flag.
            self.negative.store(true, Ordering::Relaxed);
        }
        let (n, times) = if times <= UNCHECKED_TIMES
            && self.started.load(Ordering::Relaxed) & !HOT_BIT < MAX_COUNT
        {
            (self.started.fetch_add(times, Ordering::AcqRel), times)
        } else {
            match self.reserve(times) {
                Some(reserved) => reserved,
                None => return,
            }
        };
        let half = &self.halves[usize::from(n & HOT_BIT != 0)];
        add_f64(&half.sum, value * times as f64);
        if let Some(trace_id) = exemplar {
            self.keep_exemplar(bucket, trace_id, value);
        }
        let spilled = half
            .native
            .as_ref()
            .is_some_and(|native| native.record(value, times));
        // Last, releasing the sum (and the native count): a reader that sees this count sees
        // them with it.
        half.buckets[bucket].fetch_add(times, Ordering::Release);
        if spilled {
            // The value fell outside the native window: lay it out anew now, unless a reader
            // is at it (it, or the next one, will).
            if let Ok(_one_reader) = self.read.try_lock() {
                self.cut();
            }
        }
    }

    /// Adds up to `times` to the count, as far as [`MAX_COUNT`] allows: the count before and
    /// what was added, or `None` when the count is saturated.
    #[cold]
    fn reserve(&self, times: u64) -> Option<(u64, u64)> {
        let mut taken = 0;
        let before = self
            .started
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                taken = times.min(MAX_COUNT.saturating_sub(n & !HOT_BIT));
                (taken > 0).then_some(n + taken)
            })
            .ok()?;
        Some((before, taken))
    }

    fn keep_exemplar(&self, bucket: usize, trace_id: TraceId, value: f64) {
        let slots = self
            .exemplars
            .get_or_init(|| (0..=self.bounds.len()).map(|_| Mutex::new(None)).collect());
        // Best effort by design: an exemplar is "a recent request", so under contention the
        // slot keeps the one being written rather than making this request wait.
        if let Ok(mut slot) = slots[bucket].try_lock() {
            let timestamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            *slot = Some(Exemplar {
                trace_id,
                value,
                timestamp,
            });
        }
    }

    /// A consistent cut of the counts.
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let _one_reader = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        let mut snapshot = self.cut();
        if let Some(slots) = self.exemplars.get() {
            snapshot.exemplars = slots
                .iter()
                .map(|s| *s.lock().unwrap_or_else(PoisonError::into_inner))
                .collect();
        }
        snapshot
    }

    /// Takes a cut (without exemplars); the caller holds `read`.
    fn cut(&self) -> HistogramSnapshot {
        // Swap the halves: from here on, new observations go to the other half.
        let n = self.started.fetch_add(HOT_BIT, Ordering::AcqRel);
        let started = n & !HOT_BIT;
        let (cold, hot) = if n & HOT_BIT == 0 {
            (&self.halves[0], &self.halves[1])
        } else {
            (&self.halves[1], &self.halves[0])
        };
        // The cold half holds everything before the swap once the observations that were
        // under way in it complete.
        cold.wait_for(started);
        let mut cumulative = Vec::with_capacity(cold.buckets.len());
        let mut running = 0u64;
        for b in &cold.buckets {
            let v = b.load(Ordering::Relaxed);
            running = running.wrapping_add(v);
            cumulative.push(running);
        }
        let count = started;
        let sum = f64::from_bits(cold.sum.load(Ordering::Relaxed));
        let (native, relayout) = match (&cold.native, &hot.native) {
            (Some(c), Some(h)) => {
                let (snapshot, relayout) = native::read(c, h);
                (Some(snapshot), relayout.map(|layout| (c, h, layout)))
            }
            _ => (None, None),
        };
        match relayout {
            // Fold the cold half into the hot one and clear it, so the hot half holds the
            // totals when the next reader swaps them again.
            None => cold.move_into(hot),
            // The cold half, laid out anew with the totals, becomes hot again; the other
            // half, once its observations complete, is folded into it the same way.
            Some((c, h, layout)) => {
                let n = self.started.fetch_add(HOT_BIT, Ordering::AcqRel);
                let since = (n & !HOT_BIT).wrapping_sub(started);
                hot.wait_for(since);
                hot.move_into(cold);
                native::finish_relayout(h, c, layout);
            }
        }
        HistogramSnapshot {
            cumulative,
            count,
            sum,
            exemplars: Vec::new(),
            negative: self.negative.load(Ordering::Relaxed),
            native,
        }
    }
}

/// Adds `v` to an `f64` stored as bits.
pub(crate) fn add_f64(cell: &AtomicU64, v: f64) {
    let mut current = cell.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + v).to_bits();
        match cell.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    fn histogram() -> AtomicHistogram {
        AtomicHistogram::new(Arc::from(&[0.1, 1.0, 10.0][..]))
    }

    #[test]
    fn buckets_are_upper_inclusive() {
        let h = histogram();
        for v in [0.05, 0.1, 0.5, 1.0, 5.0, 50.0, f64::INFINITY] {
            h.observe(v, 1, None);
        }
        let s = h.snapshot();
        assert_eq!(s.cumulative, vec![2, 4, 5, 7]);
        assert_eq!(s.count, 7);
        assert!(s.sum.is_infinite());
    }

    #[test]
    fn nan_is_counted_in_inf_and_makes_the_sum_nan() {
        let h = histogram();
        h.observe(0.5, 1, None);
        h.observe(f64::NAN, 2, None);
        let s = h.snapshot();
        assert_eq!((s.cumulative, s.count), (vec![0, 1, 1, 3], 3));
        assert!(s.sum.is_nan());
    }

    /// Huge repetition counts saturate the count at `MAX_COUNT`: the cut still completes,
    /// the buckets stay cumulative and `+Inf` equals the count.
    #[test]
    fn huge_counts_saturate_and_the_cut_completes() {
        for times in [
            (1u64 << 63) - 1,
            1 << 63,
            u64::MAX,
            MAX_COUNT,
            MAX_COUNT + 1,
        ] {
            let h = histogram();
            h.observe(0.05, 3, None);
            h.observe(5.0, times, None);
            h.observe(0.5, 1, None);
            let s = h.snapshot();
            assert_eq!(s.count, MAX_COUNT, "{times}");
            assert_eq!(s.cumulative, vec![3, 3, MAX_COUNT, MAX_COUNT], "{times}");
            // Saturated: nothing more is added, and reading again changes nothing.
            h.observe(0.05, u64::MAX, None);
            assert_eq!(h.snapshot().cumulative, s.cumulative, "{times}");
        }
        let exact = histogram();
        exact.observe(0.05, MAX_COUNT - 1, None);
        exact.observe(0.5, 1, None);
        assert_eq!(
            exact.snapshot().cumulative,
            vec![MAX_COUNT - 1, MAX_COUNT, MAX_COUNT, MAX_COUNT]
        );
    }

    #[test]
    fn repeated_snapshots_keep_totals() {
        let h = histogram();
        h.observe(0.5, 3, None);
        assert_eq!(h.snapshot().count, 3);
        h.observe(20.0, 1, None);
        let s = h.snapshot();
        assert_eq!(s.cumulative, vec![0, 3, 3, 4]);
        assert!((s.sum - 21.5).abs() < 1e-12);
        assert_eq!(h.snapshot(), s);
    }

    #[test]
    fn concurrent_observers_and_readers_lose_nothing() {
        let h = Arc::new(histogram());
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (h, stop) = (Arc::clone(&h), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut last = 0;
                while !stop.load(Ordering::Relaxed) {
                    let s = h.snapshot();
                    assert_eq!(*s.cumulative.last().unwrap(), s.count);
                    assert!(s.cumulative.windows(2).all(|w| w[0] <= w[1]));
                    assert!(s.count >= last, "count went back");
                    // Every observation is 0.5 or 5.0: the sum follows from the buckets.
                    let expect = 0.5 * s.cumulative[1] as f64
                        + 5.0 * (s.cumulative[2] - s.cumulative[1]) as f64;
                    assert!((s.sum - expect).abs() < 1e-6 * expect.max(1.0));
                    last = s.count;
                }
            })
        };
        let writers: Vec<_> = (0..4)
            .map(|i| {
                let h = Arc::clone(&h);
                std::thread::spawn(move || {
                    for _ in 0..50_000 {
                        h.observe(if i % 2 == 0 { 0.5 } else { 5.0 }, 1, None);
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        reader.join().unwrap();
        let s = h.snapshot();
        assert_eq!(s.count, 200_000);
        assert_eq!(s.cumulative, vec![0, 100_000, 200_000, 200_000]);
    }

    #[test]
    fn exemplars_land_in_their_bucket() {
        let h = histogram();
        let id = TraceId::from_bytes([7; 16]);
        h.observe(0.5, 1, Some(id));
        let s = h.snapshot();
        assert_eq!(s.exemplars.len(), 4);
        assert!(s.exemplars[0].is_none());
        let e = s.exemplars[1].unwrap();
        assert_eq!((e.trace_id, e.value), (id, 0.5));
        assert!(e.timestamp > 1.6e9);
    }
}

/// The histogram under loom: observations racing a reader's swap of the halves.
#[cfg(all(test, loom))]
mod loom_tests;
