//! The sampler: every [`INTERVAL`] it reads the recorder and appends one sample to each
//! (route, method) pair's history, on a Tokio task that ends when the page's state is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::super::store::Store;
use super::read::{PairKey, Read, read};
use super::ring::Ring;
use super::track::{Track, compute, fill_cut};
use crate::names::Naming;

/// How often the sampler reads the recorder.
pub(crate) const INTERVAL: Duration = Duration::from_secs(2);
/// Samples kept per route and method: 150 samples of [`INTERVAL`], five minutes.
pub(crate) const CAPACITY: usize = 150;
/// The span each sample's rate, error percentage and quantiles cover.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);
/// The most (route, method) pairs given a history; pairs beyond it still show their totals.
pub(crate) const MAX_PAIRS: usize = 2_000;
/// The most history values (six per sample) one JSON response carries, so a call costs a
/// bounded amount however many pairs have a history: with every pair's history full, a call
/// without `since` is about 1 MB of JSON. Each pair then gets its newest samples, as many as
/// its share allows (10 each for 2,000 pairs); the page fills the rest as it polls.
pub(crate) const HISTORY_VALUES: usize = 120_000;

/// Sizes of the sampler's storage (fixed for the page; smaller in tests).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) interval: Duration,
    pub(crate) capacity: usize,
    /// Samples a window spans (a sample's values compare the newest cut with the one this
    /// many samples older).
    pub(crate) window: usize,
    pub(crate) max_pairs: usize,
    /// The most history values one JSON response carries.
    pub(crate) history_values: usize,
}

impl Limits {
    pub(crate) const PAGE: Self = Self {
        interval: INTERVAL,
        capacity: CAPACITY,
        window: (WINDOW.as_millis() / INTERVAL.as_millis()) as usize,
        max_pairs: MAX_PAIRS,
        history_values: HISTORY_VALUES,
    };
}

/// Every pair's history, and the sequence of samples taken.
#[derive(Debug, Default)]
pub(super) struct History {
    /// Samples taken so far; the newest has this number.
    pub(super) seq: u64,
    /// When the newest sample was taken.
    pub(super) last_at: Option<Instant>,
    pub(super) last_unix_ms: u64,
    pub(super) index: HashMap<PairKey, usize>,
    pub(super) tracks: Vec<Track>,
    /// Pairs seen beyond `max_pairs`, which have no history.
    pub(super) untracked: usize,
}

/// The live page's state: what to read, and the history read so far.
#[derive(Debug)]
pub(crate) struct Live {
    store: Arc<Store>,
    naming: Naming,
    /// Labels that keep rows apart beside the route and method, as the exposition writes them.
    labels: Arc<[Box<str>]>,
    pub(super) limits: Limits,
    pub(super) history: Mutex<History>,
    /// Tells a page that the server restarted (its sequence numbers start again).
    pub(super) instance: u64,
    started: AtomicBool,
}

impl Live {
    pub(crate) fn new(store: Arc<Store>, naming: Naming, limits: Limits) -> Self {
        let instance = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self {
            store,
            naming,
            labels: Arc::new([]),
            limits,
            history: Mutex::new(History::default()),
            instance,
            started: AtomicBool::new(false),
        }
    }

    /// The same page, with rows kept apart by `labels` too (see
    /// [`PrometheusBuilder::live_label`](crate::prometheus::PrometheusBuilder::live_label)).
    pub(crate) fn with_labels(mut self, labels: Arc<[Box<str>]>) -> Self {
        self.labels = labels;
        self
    }

    /// Starts the sampler on the current Tokio runtime, once; without a runtime, nothing
    /// happens (the page's handlers call this again, from within one).
    pub(crate) fn start(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak: Weak<Self> = Arc::downgrade(self);
        let interval = self.limits.interval;
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(live) = weak.upgrade() else { break };
                // A read of every duration series: keep it off the async workers.
                let done = tokio::task::spawn_blocking(move || live.sample(Instant::now())).await;
                if done.is_err() {
                    break;
                }
            }
        });
    }
    /// Reads the recorder: the duration histograms and the in-flight gauge, per pair.
    pub(super) fn read(&self) -> HashMap<PairKey, Read> {
        read(&self.store, &self.naming, &self.labels)
    }

    /// Takes one sample of every pair, at `now`.
    pub(crate) fn sample(&self, now: Instant) {
        let reads = self.read();
        let mut h = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = h.last_at;
        h.seq += 1;
        h.last_at = Some(now);
        h.last_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let limits = self.limits;
        let mut untracked = 0;
        let mut seen = vec![false; h.tracks.len()];
        for (key, read) in reads {
            let index = match h.index.get(&key) {
                Some(&i) => i,
                None if h.tracks.len() < limits.max_pairs => {
                    let mut track = Track {
                        cuts: Ring::new(limits.window + 1),
                        samples: Ring::new(limits.capacity),
                        bounds: read.bounds.clone().into_boxed_slice(),
                    };
                    // A series appears with its first request: at the previous sample the
                    // pair had none.
                    if let Some(at) = previous {
                        track.cuts.push_with(|c| {
                            c.at = Some(at);
                            c.buckets.clear();
                            c.buckets.resize(read.buckets.len(), 0);
                        });
                    }
                    h.tracks.push(track);
                    seen.push(false);
                    let i = h.tracks.len() - 1;
                    h.index.insert(key, i);
                    i
                }
                None => {
                    untracked += 1;
                    continue;
                }
            };
            seen[index] = true;
            let track = &mut h.tracks[index];
            // A pair first seen through its in-flight gauge gets its bounds with its first
            // finished request.
            if track.bounds.is_empty() && !read.bounds.is_empty() {
                track.bounds = read.bounds.clone().into_boxed_slice();
            }
            track.cuts.push_with(|c| fill_cut(c, now, &read));
            let sample = compute(track, read.in_flight);
            track.samples.push_with(|s| *s = sample);
        }
        // Series are never removed, so every pair is read each time; should one be missing,
        // its history still advances (with the counts it had).
        for (i, seen) in seen.into_iter().enumerate() {
            if !seen {
                let track = &mut h.tracks[i];
                let last = track.cuts.nth_newest(0).map(|c| (c.count, c.errors));
                let (count, errors) = last.unwrap_or_default();
                let buckets: Vec<u64> = track
                    .cuts
                    .nth_newest(0)
                    .map(|c| c.buckets.clone())
                    .unwrap_or_default();
                track.cuts.push_with(|c| {
                    c.at = Some(now);
                    c.count = count;
                    c.errors = errors;
                    c.buckets.clone_from(&buckets);
                });
                let sample = compute(track, None);
                track.samples.push_with(|s| *s = sample);
            }
        }
        h.untracked = untracked;
    }

    #[cfg(test)]
    /// Bytes the history holds on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        let h = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        h.tracks.iter().map(Track::heap_bytes).sum::<usize>()
            + h.tracks.capacity() * size_of::<Track>()
            + h.index.capacity() * (size_of::<PairKey>() + size_of::<usize>())
            + h.index
                .keys()
                .map(|(r, m, l)| {
                    r.len() + m.len() + l.iter().map(|(n, v)| n.len() + v.len() + 32).sum::<usize>()
                })
                .sum::<usize>()
    }
}
