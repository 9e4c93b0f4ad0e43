//! Native histograms: exponential buckets as Prometheus defines them, kept beside the fixed
//! buckets of a [`super::histogram::AtomicHistogram`], in each of its two halves.
//!
//! At schema `s` (−4 to 8), bucket `i` holds the values `v` with `base^(i-1) < |v| <= base^i`,
//! where `base = 2^(2^-s)`; values with `|v|` at most [`ZERO_THRESHOLD`] go to the zero
//! bucket. Positive and negative values have their own buckets.
//!
//! Memory is bounded: a half counts positive values in a window of consecutive buckets
//! (negative values in another, made on the first negative value). A window starts narrow,
//! [`NARROW`] buckets (a factor of 16 at schema 3), and widens once, to [`MAX_BUCKETS`], when
//! the values spread further: a series whose values stay close together never holds the wide
//! window's memory. A value outside the window is still counted exactly, in a short spill list,
//! and the next read (one is started right away when no scrape is running) lays the histogram
//! out anew: the window moves, widens if it must, and when the values span more than
//! [`MAX_BUCKETS`] buckets the schema drops by one, merging pairs of buckets, until they fit.
//! At schema −4 every `f64` fits in 133 buckets, so the window always suffices in the end.
//! Resolution is never raised again, nor a window narrowed.
//!
//! The layout of a half changes only while no observation is under way in it (the reader
//! waits for them, as for the fixed buckets), so an observation reads it once, without a lock.

use std::collections::BTreeMap;
use std::sync::PoisonError;

use crate::sync::{AtomicU64, Mutex, OnceLock, Ordering};

mod key;
#[cfg(test)]
use key::octave;
pub(crate) use key::{key, reduce};

/// Buckets per sign in a half's window: the bucket limit of a native histogram.
pub(crate) const MAX_BUCKETS: usize = 160;

/// Buckets per sign in a half's window until values spread wider (the window's first slots;
/// the rest are allocated when it widens).
pub(crate) const NARROW: usize = 32;

/// Values of at most this magnitude are counted in the zero bucket (2^-128, as the Go client).
pub(crate) const ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// The lowest and highest schema Prometheus accepts.
pub(crate) const MIN_SCHEMA: i8 = -4;
/// See [`MIN_SCHEMA`].
pub(crate) const MAX_SCHEMA: i8 = 8;

/// Distinct spilled buckets kept per sign; beyond them, that sign's spills are lowered a
/// schema at a time until they fit, so the list stays bounded whatever is observed.
const MAX_SPILLS: usize = MAX_BUCKETS;

/// Where a half's windows sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) schema: i8,
    /// The bucket of the positive window's first slot.
    positive: i32,
    /// The same for negative values (by magnitude).
    negative: i32,
    /// Whether the windows are [`MAX_BUCKETS`] wide rather than [`NARROW`].
    wide: bool,
}

/// Offsets fit in 27 bits: keys are within ±(1075 × 2^8 + 160).
const OFFSET_BITS: u32 = 27;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;
/// The bit after the schema and the two offsets.
const WIDE_BIT: u64 = 1 << (8 + 2 * OFFSET_BITS);

impl Layout {
    fn new(schema: i8) -> Self {
        // Centred on 1: at schema 3, 0.25 to 4 to begin with (the first read moves it to where
        // the values are).
        let half = i32::try_from(NARROW / 2).unwrap_or(0);
        Self {
            schema,
            positive: -half,
            negative: -half,
            wide: false,
        }
    }

    fn pack(self) -> u64 {
        let offset = |o: i32| u64::from(o as u32) & OFFSET_MASK;
        let wide = if self.wide { WIDE_BIT } else { 0 };
        u64::from(self.schema as u8)
            | offset(self.positive) << 8
            | offset(self.negative) << (8 + OFFSET_BITS)
            | wide
    }

    fn unpack(bits: u64) -> Self {
        let offset = |b: u64| {
            let raw = (b & OFFSET_MASK) as u32;
            // Sign-extend the offset's bits.
            ((raw << (32 - OFFSET_BITS)) as i32) >> (32 - OFFSET_BITS)
        };
        Self {
            schema: (bits & 0xff) as u8 as i8,
            positive: offset(bits >> 8),
            negative: offset(bits >> (8 + OFFSET_BITS)),
            wide: bits & WIDE_BIT != 0,
        }
    }

    /// Buckets per window.
    fn len(self) -> usize {
        if self.wide { MAX_BUCKETS } else { NARROW }
    }

    /// The slot of `key` in this layout's window at `offset`, if inside.
    fn slot(self, offset: i32, key: i32) -> Option<usize> {
        usize::try_from(key.checked_sub(offset)?)
            .ok()
            .filter(|&i| i < self.len())
    }
}

/// Counts of one bucket, at the schema they were taken at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    negative: bool,
    schema: i8,
    key: i32,
    count: u64,
}

/// A half's counts, as a reader takes them from a quiet half.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    zero: u64,
    entries: Vec<Entry>,
    spilled: bool,
}

/// What a reader sees of the native buckets: non-empty buckets in order of their index.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NativeSnapshot {
    pub(crate) schema: i8,
    pub(crate) zero_threshold: f64,
    pub(crate) zero_count: u64,
    /// `(bucket index, count)`, ascending, counts not zero.
    pub(crate) positive: Vec<(i32, u64)>,
    /// The same for negative values (by magnitude).
    pub(crate) negative: Vec<(i32, u64)>,
}

impl NativeSnapshot {
    fn new(counts: &Counts, schema: i8) -> Self {
        let mut positive = BTreeMap::new();
        let mut negative = BTreeMap::new();
        for e in &counts.entries {
            let side = if e.negative {
                &mut negative
            } else {
                &mut positive
            };
            let n: &mut u64 = side.entry(reduce(e.key, e.schema, schema)).or_default();
            *n = n.wrapping_add(e.count);
        }
        Self {
            schema,
            zero_threshold: ZERO_THRESHOLD,
            zero_count: counts.zero,
            positive: positive.into_iter().collect(),
            negative: negative.into_iter().collect(),
        }
    }

    /// All observations counted: the zero bucket and every other.
    #[cfg(test)]
    pub(crate) fn count(&self) -> u64 {
        self.positive
            .iter()
            .chain(&self.negative)
            .fold(self.zero_count, |n, (_, c)| n.wrapping_add(*c))
    }
}

fn slots(n: usize) -> Box<[AtomicU64]> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

/// One sign's window of a half: its first [`NARROW`] slots, and the rest, made when the
/// window widens (before a layout that uses them is published).
struct Window {
    near: Box<[AtomicU64]>,
    far: OnceLock<Box<[AtomicU64]>>,
}

impl Window {
    fn new() -> Self {
        Self {
            near: slots(NARROW),
            far: OnceLock::new(),
        }
    }

    /// Slot `i` of the window (`None` past the narrow slots while the far ones are not made).
    #[inline]
    fn slot(&self, i: usize) -> Option<&AtomicU64> {
        match self.near.get(i) {
            Some(slot) => Some(slot),
            None => self.far.get()?.get(i - NARROW),
        }
    }

    /// Makes the far slots if a window of `len` reaches them.
    fn make(&self, len: usize) {
        if len > NARROW {
            self.far.get_or_init(|| slots(MAX_BUCKETS - NARROW));
        }
    }

    /// The first `len` slots, made if need be.
    fn slots(&self, len: usize) -> impl Iterator<Item = &AtomicU64> {
        self.make(len);
        self.made().take(len)
    }

    /// Every slot made so far.
    fn made(&self) -> impl Iterator<Item = &AtomicU64> {
        self.near.iter().chain(self.far.get().into_iter().flatten())
    }
}

/// Adds `entry` to `spills`, into the entry of its bucket if there is one.
fn merge(spills: &mut Vec<Entry>, entry: Entry) {
    let same =
        |s: &Entry| (s.negative, s.schema, s.key) == (entry.negative, entry.schema, entry.key);
    match spills.iter_mut().find(|s| same(s)) {
        Some(s) => s.count = s.count.wrapping_add(entry.count),
        None => spills.push(entry),
    }
}

/// The native buckets of one half.
pub(crate) struct NativeHalf {
    /// A packed [`Layout`].
    layout: AtomicU64,
    zero: AtomicU64,
    positive: Window,
    negative: OnceLock<Window>,
    spills: Mutex<Vec<Entry>>,
}

impl std::fmt::Debug for NativeHalf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeHalf")
            .field("layout", &self.layout())
            .finish_non_exhaustive()
    }
}

impl NativeHalf {
    /// Empty buckets at `schema` (clamped to −4..=8).
    pub(crate) fn new(schema: i8) -> Self {
        Self {
            layout: AtomicU64::new(Layout::new(schema.clamp(MIN_SCHEMA, MAX_SCHEMA)).pack()),
            zero: AtomicU64::new(0),
            positive: Window::new(),
            negative: OnceLock::new(),
            spills: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn layout(&self) -> Layout {
        Layout::unpack(self.layout.load(Ordering::Relaxed))
    }

    /// Counts `value` `times` times (a `NaN` in no bucket); `true` when it fell outside the window, so the
    /// histogram should be laid out anew.
    pub(crate) fn record(&self, value: f64, times: u64) -> bool {
        if value.is_nan() {
            // As the Go client does: counted in the histogram, in no native bucket.
            return false;
        }
        let magnitude = value.abs();
        if magnitude <= ZERO_THRESHOLD {
            self.zero.fetch_add(times, Ordering::Relaxed);
            return false;
        }
        let layout = self.layout();
        let key = key(magnitude, layout.schema);
        let negative = value < 0.0;
        let (window, offset) = if negative {
            (self.negative.get_or_init(Window::new), layout.negative)
        } else {
            (&self.positive, layout.positive)
        };
        // A window's far slots are made before a layout that uses them is published; a
        // negative window made after that has none yet, and its values spill until the next
        // read makes them.
        if let Some(slot) = layout.slot(offset, key).and_then(|i| window.slot(i)) {
            slot.fetch_add(times, Ordering::Relaxed);
            return false;
        }
        self.spill(Entry {
            negative,
            schema: layout.schema,
            key,
            count: times,
        });
        true
    }

    fn spill(&self, entry: Entry) {
        let mut spills = self.spills.lock().unwrap_or_else(PoisonError::into_inner);
        merge(&mut spills, entry);
        // Bounded per sign: more distinct buckets than a window holds span more than a window
        // at their schema, so the next read lowers the schema anyway. Bring that sign's spills
        // to the lowest schema among them, then lower them one schema at a time (pairs of
        // buckets merge) until they fit; at the lowest schema every `f64` fits in 133 buckets.
        let sign = entry.negative;
        while spills.iter().filter(|s| s.negative == sign).count() > MAX_SPILLS {
            let schemas = spills
                .iter()
                .filter(|s| s.negative == sign)
                .map(|s| s.schema);
            let (lowest, highest) = schemas.fold((MAX_SCHEMA, MIN_SCHEMA), |(lo, hi), s| {
                (lo.min(s), hi.max(s))
            });
            let target = if lowest == highest {
                lowest - 1
            } else {
                lowest
            };
            if target < MIN_SCHEMA {
                break;
            }
            let (lowered, kept): (Vec<Entry>, Vec<Entry>) =
                spills.drain(..).partition(|s| s.negative == sign);
            *spills = kept;
            for e in lowered {
                let key = reduce(e.key, e.schema, target);
                merge(
                    &mut spills,
                    Entry {
                        schema: target,
                        key,
                        ..e
                    },
                );
            }
        }
    }

    /// The counts of a half in which no observation is under way.
    pub(crate) fn counts(&self) -> Counts {
        let layout = self.layout();
        let mut entries = Vec::new();
        let mut take = |window: &Window, offset: i32, negative: bool| {
            for (key, slot) in (offset..).zip(window.made().take(layout.len())) {
                let count = slot.load(Ordering::Relaxed);
                if count != 0 {
                    entries.push(Entry {
                        negative,
                        schema: layout.schema,
                        key,
                        count,
                    });
                }
            }
        };
        take(&self.positive, layout.positive, false);
        if let Some(negative) = self.negative.get() {
            take(negative, layout.negative, true);
        }
        let spills = self.spills.lock().unwrap_or_else(PoisonError::into_inner);
        entries.extend(spills.iter().copied());
        Counts {
            zero: self.zero.load(Ordering::Relaxed),
            entries,
            spilled: !spills.is_empty(),
        }
    }

    /// Adds `counts` into this half: into the window, or spilled when outside it or taken at a
    /// lower schema than this half's (which the next read then lowers this half's to).
    fn add(&self, counts: &Counts) {
        let layout = self.layout();
        self.zero.fetch_add(counts.zero, Ordering::Relaxed);
        for e in &counts.entries {
            if e.schema < layout.schema {
                self.spill(*e);
                continue;
            }
            let key = reduce(e.key, e.schema, layout.schema);
            let (window, offset) = if e.negative {
                (self.negative.get_or_init(Window::new), layout.negative)
            } else {
                (&self.positive, layout.positive)
            };
            window.make(layout.len());
            match layout.slot(offset, key).and_then(|i| window.slot(i)) {
                Some(slot) => {
                    slot.fetch_add(e.count, Ordering::Relaxed);
                }
                None => self.spill(Entry {
                    schema: layout.schema,
                    key,
                    ..*e
                }),
            }
        }
    }

    /// Empties a quiet half and gives it `layout`, with the slots that layout uses made.
    fn clear(&self, layout: Layout) {
        self.zero.store(0, Ordering::Relaxed);
        for slot in self
            .positive
            .made()
            .chain(self.negative.get().into_iter().flat_map(Window::made))
        {
            slot.store(0, Ordering::Relaxed);
        }
        // Made before the layout is published: an observation that reads it finds them.
        self.positive.make(layout.len());
        if let Some(negative) = self.negative.get() {
            negative.make(layout.len());
        }
        // Freed, not kept: most halves spill once, as they first widen or move.
        *self.spills.lock().unwrap_or_else(PoisonError::into_inner) = Vec::new();
        self.layout.store(layout.pack(), Ordering::Relaxed);
    }

    /// Moves the counts of this quiet half into `hot`, which has the same layout and nothing
    /// spilled from this one.
    fn move_into(&self, hot: &Self) {
        let len = self.layout().len();
        hot.zero
            .fetch_add(self.zero.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        for (h, c) in hot.positive.slots(len).zip(self.positive.made()) {
            h.fetch_add(c.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        }
        if let Some(cold) = self.negative.get() {
            let hot = hot.negative.get_or_init(Window::new);
            for (h, c) in hot.slots(len).zip(cold.made()) {
                h.fetch_add(c.swap(0, Ordering::Relaxed), Ordering::Relaxed);
            }
        }
    }
}

/// The layout at which `counts` fit the windows: the schema of `current` or lower, each
/// window centred on the buckets in use.
pub(crate) fn plan(counts: &Counts, current: Layout) -> Layout {
    let mut schema = counts
        .entries
        .iter()
        .map(|e| e.schema)
        .fold(current.schema, i8::min);
    loop {
        let range = |negative: bool| {
            counts
                .entries
                .iter()
                .filter(|e| e.negative == negative)
                .map(|e| reduce(e.key, e.schema, schema))
                .fold(None, |r: Option<(i32, i32)>, k| {
                    Some(r.map_or((k, k), |(lo, hi)| (lo.min(k), hi.max(k))))
                })
        };
        let (positive, negative) = (range(false), range(true));
        let fit = |n: usize| {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            let fits =
                |r: Option<(i32, i32)>| r.is_none_or(|(lo, hi)| i64::from(hi) - i64::from(lo) < n);
            fits(positive) && fits(negative)
        };
        if schema > MIN_SCHEMA && !fit(MAX_BUCKETS) {
            schema -= 1;
            continue;
        }
        // Wide once the values spread past the narrow window; never narrow again.
        let wide = current.wide || !fit(NARROW);
        let room = if wide { MAX_BUCKETS } else { NARROW };
        let room = i32::try_from(room).unwrap_or(0);
        let centre = i32::try_from(current.len() / 2).unwrap_or(0);
        let place = |r: Option<(i32, i32)>, offset: i32| match r {
            // Room left on both sides alike: `lo` and `hi` stay inside.
            Some((lo, hi)) => lo - (room - (hi - lo + 1)) / 2,
            None => reduce(offset + centre, current.schema, schema) - room / 2,
        };
        return Layout {
            schema,
            positive: place(positive, current.positive),
            negative: place(negative, current.negative),
            wide,
        };
    }
}

/// Reads the native buckets of `cold`, a half in which no observation is under way, for a
/// snapshot. When nothing spilled, moves its counts into `hot` (as the fixed buckets are) and
/// returns `None` for the fixed buckets to be moved as usual. Otherwise lays `cold` out anew
/// with its counts and returns the new layout: the caller then swaps the halves again, waits
/// for the other half, and calls [`finish_relayout`].
pub(crate) fn read(cold: &NativeHalf, hot: &NativeHalf) -> (NativeSnapshot, Option<Layout>) {
    let counts = cold.counts();
    let layout = cold.layout();
    if !counts.spilled {
        cold.move_into(hot);
        return (NativeSnapshot::new(&counts, layout.schema), None);
    }
    let target = plan(&counts, layout);
    cold.clear(target);
    cold.add(&counts);
    (NativeSnapshot::new(&counts, target.schema), Some(target))
}

/// Moves the counts of `quiet` (the half that was hot during a relayout) into `hot`, now laid
/// out as `target`, and gives `quiet` that layout too.
pub(crate) fn finish_relayout(quiet: &NativeHalf, hot: &NativeHalf, target: Layout) {
    let counts = quiet.counts();
    quiet.clear(target);
    hot.add(&counts);
}

#[cfg(test)]
mod tests;
