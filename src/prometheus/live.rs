//! The live stats page: a per-route table with sparklines, served by the application itself.
//!
//! A sampler reads the recorder every [`INTERVAL`] (the same series `/metrics` exports, read
//! the way a scrape reads them) and keeps, per route and method, the last [`CAPACITY`] samples
//! of request rate, error percentage, p50/p95/p99 and requests in flight in fixed-size rings.
//! Rates, error percentages and quantiles of a sample cover the [`WINDOW`] before it, like
//! `rate(…[10s])` and `histogram_quantile` over it. Nothing is added to the request path: the
//! sampler only reads what the recorder keeps anyway.
//!
//! The sampler runs on a Tokio task that holds a weak reference to this state, so it ends when
//! the [`PrometheusMetrics`](super::PrometheusMetrics) and every page router are dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::store::{LabelPairs, SeriesRead, Store};
use crate::names::Naming;

/// How often the sampler reads the recorder.
pub(crate) const INTERVAL: Duration = Duration::from_secs(2);
/// Samples kept per route and method: 150 samples of [`INTERVAL`], five minutes.
pub(crate) const CAPACITY: usize = 150;
/// The span each sample's rate, error percentage and quantiles cover.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);
/// The most (route, method) pairs given a history; pairs beyond it still show their totals.
pub(crate) const MAX_PAIRS: usize = 2_000;
/// The most error types told apart per pair; the rest are counted under `other`.
const MAX_ERROR_TYPES: usize = 8;
/// The error type under which the ones beyond [`MAX_ERROR_TYPES`] are counted.
const OTHER_ERRORS: &str = "other";

#[cfg(feature = "axum")]
/// The page, its script and its style, embedded in the crate.
const PAGE_HTML: &str = include_str!("live/page.html");
#[cfg(feature = "axum")]
const PAGE_JS: &str = include_str!("live/live.js");
#[cfg(feature = "axum")]
const PAGE_CSS: &str = include_str!("live/live.css");

#[cfg(feature = "axum")]
/// The `Content-Security-Policy` sent with every response of the page: the page loads only
/// its own script, style and JSON, and cannot be framed.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Sizes of the sampler's storage (fixed for the page; smaller in tests).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) interval: Duration,
    pub(crate) capacity: usize,
    /// Samples a window spans (a sample's values compare the newest cut with the one this
    /// many samples older).
    pub(crate) window: usize,
    pub(crate) max_pairs: usize,
}

impl Limits {
    pub(crate) const PAGE: Self = Self {
        interval: INTERVAL,
        capacity: CAPACITY,
        window: (WINDOW.as_millis() / INTERVAL.as_millis()) as usize,
        max_pairs: MAX_PAIRS,
    };
}

/// A ring of fixed capacity, allocated once: pushing past the capacity overwrites the oldest
/// slot in place, so its allocations (if any) are reused.
#[derive(Debug)]
pub(crate) struct Ring<T> {
    slots: Box<[T]>,
    /// Index of the oldest element.
    start: usize,
    len: usize,
}

impl<T: Default> Ring<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            slots: (0..capacity.max(1)).map(|_| T::default()).collect(),
            start: 0,
            len: 0,
        }
    }

    /// The slot for a new newest element: a fresh one, or the oldest when full (its previous
    /// content is handed to `fill` to overwrite).
    pub(crate) fn push_with(&mut self, fill: impl FnOnce(&mut T)) {
        let cap = self.slots.len();
        let index = (self.start + self.len) % cap;
        if self.len == cap {
            self.start = (self.start + 1) % cap;
        } else {
            self.len += 1;
        }
        fill(&mut self.slots[index]);
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The element `back` places before the newest (`0` is the newest).
    pub(crate) fn nth_newest(&self, back: usize) -> Option<&T> {
        (back < self.len).then(|| {
            let cap = self.slots.len();
            &self.slots[(self.start + self.len - 1 - back) % cap]
        })
    }

    /// Elements from the oldest to the newest.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        let cap = self.slots.len();
        (0..self.len).map(move |i| &self.slots[(self.start + i) % cap])
    }
}

/// The value at quantile `q` (0 to 1) of a histogram given as cumulative counts per bound (the
/// last entry is `+Inf`), interpolated linearly inside its bucket as Prometheus'
/// `histogram_quantile` does: the first bucket starts at 0 (when its bound is positive), and a
/// quantile in the `+Inf` bucket is the highest finite bound. `None` without observations.
pub(crate) fn quantile(q: f64, bounds: &[f64], cumulative: &[u64]) -> Option<f64> {
    let total = *cumulative.last()?;
    if total == 0 || !(0.0..=1.0).contains(&q) || cumulative.len() != bounds.len() + 1 {
        return None;
    }
    let rank = q * total as f64;
    let i = cumulative
        .iter()
        .position(|&c| c as f64 >= rank)
        .unwrap_or(cumulative.len() - 1);
    if i == bounds.len() {
        return bounds.last().copied();
    }
    let upper = bounds[i];
    let (lower, below) = if i == 0 {
        (if upper > 0.0 { 0.0 } else { upper }, 0)
    } else {
        (bounds[i - 1], cumulative[i - 1])
    };
    let in_bucket = cumulative[i].saturating_sub(below);
    if in_bucket == 0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * ((rank - below as f64) / in_bucket as f64))
}

/// One sample of one pair. `NaN` stands for "no value" (no request in the window, no gauge).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sample {
    pub(crate) rate: f32,
    pub(crate) error_pct: f32,
    pub(crate) p50: f32,
    pub(crate) p95: f32,
    pub(crate) p99: f32,
    pub(crate) in_flight: f32,
}

impl Default for Sample {
    fn default() -> Self {
        Self {
            rate: f32::NAN,
            error_pct: f32::NAN,
            p50: f32::NAN,
            p95: f32::NAN,
            p99: f32::NAN,
            in_flight: f32::NAN,
        }
    }
}

/// The cumulative counts of one pair at one sampling time.
#[derive(Debug, Default)]
struct Cut {
    at: Option<Instant>,
    count: u64,
    errors: u64,
    /// Cumulative per bound, then `+Inf`.
    buckets: Vec<u64>,
    /// Errors per type, at most [`MAX_ERROR_TYPES`] entries.
    error_types: Vec<(Arc<str>, u64)>,
}

/// What one read of the recorder found for one pair.
#[derive(Debug, Default)]
struct Read {
    count: u64,
    errors: u64,
    buckets: Vec<u64>,
    bounds: Vec<f64>,
    error_types: Vec<(Box<str>, u64)>,
    in_flight: Option<f64>,
}

type PairKey = (Box<str>, Box<str>);

/// The history of one (route, method) pair.
#[derive(Debug)]
struct Track {
    /// The last `window + 1` cuts.
    cuts: Ring<Cut>,
    samples: Ring<Sample>,
    /// The bucket bounds of its histograms.
    bounds: Box<[f64]>,
}

impl Track {
    #[cfg(test)]
    /// Bytes this track holds on the heap (its rings and strings; capacities, not lengths).
    fn heap_bytes(&self) -> usize {
        let cuts: usize = self
            .cuts
            .iter()
            .map(|c| {
                c.buckets.capacity() * 8 + c.error_types.capacity() * size_of::<(Arc<str>, u64)>()
            })
            .sum();
        self.cuts.capacity() * size_of::<Cut>()
            + cuts
            + self.samples.capacity() * size_of::<Sample>()
            + self.bounds.len() * 8
    }

    /// The errors per type over the window: the newest cut's minus the oldest's.
    fn window_errors(&self) -> Vec<(Arc<str>, u64)> {
        let (Some(new), Some(old)) = (
            self.cuts.nth_newest(0),
            self.cuts.nth_newest(self.cuts.len().saturating_sub(1)),
        ) else {
            return Vec::new();
        };
        new.error_types
            .iter()
            .filter_map(|(t, n)| {
                let before = old
                    .error_types
                    .iter()
                    .find(|(o, _)| o == t)
                    .map_or(0, |(_, b)| *b);
                let delta = n.saturating_sub(before);
                (delta > 0).then(|| (Arc::clone(t), delta))
            })
            .collect()
    }

    /// Requests over the window.
    fn window_count(&self) -> u64 {
        match (
            self.cuts.nth_newest(0),
            self.cuts.nth_newest(self.cuts.len().saturating_sub(1)),
        ) {
            (Some(new), Some(old)) => new.count.saturating_sub(old.count),
            _ => 0,
        }
    }
}

/// Every pair's history, and the sequence of samples taken.
#[derive(Debug, Default)]
struct History {
    /// Samples taken so far; the newest has this number.
    seq: u64,
    /// When the newest sample was taken.
    last_at: Option<Instant>,
    last_unix_ms: u64,
    index: HashMap<PairKey, usize>,
    tracks: Vec<Track>,
    /// Pairs seen beyond `max_pairs`, which have no history.
    untracked: usize,
}

/// The live page's state: what to read, and the history read so far.
#[derive(Debug)]
pub(crate) struct Live {
    store: Arc<Store>,
    naming: Naming,
    limits: Limits,
    history: Mutex<History>,
    /// Tells a page that the server restarted (its sequence numbers start again).
    instance: u64,
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
            limits,
            history: Mutex::new(History::default()),
            instance,
            started: AtomicBool::new(false),
        }
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
    fn read(&self) -> HashMap<PairKey, Read> {
        let n = &self.naming;
        let (route_key, method_key, status_key, error_key) =
            (n.route_key(), n.method_key(), n.status_key(), n.error_key());
        let mut reads: HashMap<PairKey, Read> = HashMap::new();
        self.store.visit_family(n.duration(), |labels, value| {
            let SeriesRead::Histogram { bounds, snapshot } = value else {
                return;
            };
            let Some(key) = pair_key(labels, route_key, method_key) else {
                return;
            };
            let read = reads.entry(key).or_default();
            if read.bounds.is_empty() {
                read.bounds = bounds.to_vec();
                read.buckets = vec![0; snapshot.cumulative.len()];
            }
            if read.buckets.len() == snapshot.cumulative.len() {
                for (b, c) in read.buckets.iter_mut().zip(&snapshot.cumulative) {
                    *b += c;
                }
            }
            read.count += snapshot.count;
            if let Some(error) = error_of(labels, status_key, error_key) {
                read.errors += snapshot.count;
                match read.error_types.iter_mut().find(|(t, _)| **t == *error) {
                    Some((_, n)) => *n += snapshot.count,
                    None => read.error_types.push((error.into(), snapshot.count)),
                }
            }
        });
        self.store.visit_family(n.active(), |labels, value| {
            let v = match value {
                SeriesRead::Float(v) => v,
                SeriesRead::Int(v) => v as f64,
                SeriesRead::Histogram { .. } => return,
            };
            if let Some(key) = pair_key(labels, route_key, method_key) {
                *reads.entry(key).or_default().in_flight.get_or_insert(0.0) += v;
            }
        });
        reads
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
                .map(|(r, m)| r.len() + m.len())
                .sum::<usize>()
    }

    /// The page's JSON: per pair, current totals (read now, as `/metrics` would show them),
    /// the newest sample and the samples after sequence number `since` (all kept ones when
    /// `None` or too old).
    pub(crate) fn json(&self, since: Option<u64>) -> String {
        let reads = self.read();
        let h = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::with_capacity(256 + h.tracks.len() * 320);
        out.push_str("{\"interval_ms\":");
        let interval_ms = self.limits.interval.as_millis() as u64;
        push_u64(&mut out, interval_ms);
        out.push_str(",\"window_ms\":");
        push_u64(&mut out, interval_ms * self.limits.window as u64);
        out.push_str(",\"capacity\":");
        push_u64(&mut out, self.limits.capacity as u64);
        out.push_str(",\"instance\":\"");
        push_u64(&mut out, self.instance);
        out.push_str("\",\"seq\":");
        push_u64(&mut out, h.seq);
        out.push_str(",\"time_ms\":");
        push_u64(&mut out, h.last_unix_ms);
        out.push_str(",\"untracked\":");
        push_u64(&mut out, h.untracked as u64);
        out.push_str(",\"routes\":[");
        let mut pairs: Vec<(&PairKey, &Read)> = reads.iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        for (i, (key, read)) in pairs.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"route\":");
            push_json_str(&mut out, &key.0);
            out.push_str(",\"method\":");
            push_json_str(&mut out, &key.1);
            out.push_str(",\"total\":");
            push_u64(&mut out, read.count);
            out.push_str(",\"errors_total\":");
            push_u64(&mut out, read.errors);
            out.push_str(",\"error_totals\":[");
            for (j, (t, n)) in read.error_types.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push('[');
                push_json_str(&mut out, t);
                out.push(',');
                push_u64(&mut out, *n);
                out.push(']');
            }
            out.push_str("],\"in_flight\":");
            push_num(&mut out, read.in_flight.unwrap_or(f64::NAN));
            let track = h.index.get(key).map(|&i| &h.tracks[i]);
            push_track(&mut out, track, h.seq, since);
            out.push('}');
        }
        out.push_str("]}");
        out
    }
}

/// The newest sample's values, the error breakdown over the window and the history of
/// `track` after `since`, as the rest of a route's JSON object.
fn push_track(out: &mut String, track: Option<&Track>, seq: u64, since: Option<u64>) {
    let newest = track
        .and_then(|t| t.samples.nth_newest(0).copied())
        .unwrap_or_default();
    for (name, v) in [
        ("rate", newest.rate),
        ("error_pct", newest.error_pct),
        ("p50", newest.p50),
        ("p95", newest.p95),
        ("p99", newest.p99),
    ] {
        out.push_str(",\"");
        out.push_str(name);
        out.push_str("\":");
        push_num(out, f64::from(v));
    }
    out.push_str(",\"errors\":[");
    if let Some(track) = track {
        let count = track.window_count();
        for (j, (t, n)) in track.window_errors().iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push('[');
            push_json_str(out, t);
            out.push(',');
            push_num(out, pct(*n, count));
            out.push(']');
        }
    }
    out.push(']');
    let Some(track) = track else {
        out.push_str(",\"from\":null,\"history\":null");
        return;
    };
    // The samples kept are numbered `seq - len + 1 ..= seq`.
    let kept = track.samples.len() as u64;
    let oldest = seq + 1 - kept.min(seq);
    let from = match since {
        Some(s) if s >= oldest && s <= seq => s + 1,
        _ => oldest,
    };
    let skip = (from - oldest) as usize;
    out.push_str(",\"from\":");
    push_u64(out, from);
    out.push_str(",\"history\":{");
    let fields: [(&str, Field); 6] = [
        ("rate", |s| s.rate),
        ("error_pct", |s| s.error_pct),
        ("p50", |s| s.p50),
        ("p95", |s| s.p95),
        ("p99", |s| s.p99),
        ("in_flight", |s| s.in_flight),
    ];
    for (i, (name, get)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\":[");
        for (j, s) in track.samples.iter().skip(skip).enumerate() {
            if j > 0 {
                out.push(',');
            }
            push_num(out, f64::from(get(s)));
        }
        out.push(']');
    }
    out.push('}');
}

/// Reads one value of a sample.
type Field = fn(&Sample) -> f32;

/// The (route, method) of a series, when it has both labels.
fn pair_key(labels: &LabelPairs<'_>, route_key: &str, method_key: &str) -> Option<PairKey> {
    let route = label(labels, route_key)?;
    let method = label(labels, method_key)?;
    Some((route.into(), method.into()))
}

fn label<'a>(labels: &'a LabelPairs<'_>, key: &str) -> Option<&'a str> {
    labels.iter().find(|(k, _)| *k == key).map(|(_, v)| &**v)
}

/// What went wrong in the requests of a series, if they failed: the `error_type` label when
/// the naming has one, else (axum-prometheus names) a status of 500 or above, or 499 (a
/// request dropped before its response), named by the status.
fn error_of<'a>(
    labels: &'a LabelPairs<'_>,
    status_key: &str,
    error_key: Option<&str>,
) -> Option<&'a str> {
    match error_key {
        Some(key) => label(labels, key).filter(|v| !v.is_empty()),
        None => {
            let status = label(labels, status_key)?;
            let code: u16 = status.parse().ok()?;
            (code >= 500 || code == 499).then_some(status)
        }
    }
}

/// Overwrites `cut` with `read`'s counts, keeping at most [`MAX_ERROR_TYPES`] error types
/// (the rest under [`OTHER_ERRORS`]).
fn fill_cut(cut: &mut Cut, now: Instant, read: &Read) {
    cut.at = Some(now);
    cut.count = read.count;
    cut.errors = read.errors;
    cut.buckets.clear();
    cut.buckets.extend_from_slice(&read.buckets);
    cut.error_types.clear();
    let mut types: Vec<&(Box<str>, u64)> = read.error_types.iter().collect();
    // The most frequent types keep their names.
    types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut other = 0;
    for (i, (t, n)) in types.into_iter().enumerate() {
        if i < MAX_ERROR_TYPES - 1 || read.error_types.len() <= MAX_ERROR_TYPES {
            cut.error_types.push((Arc::from(&**t), *n));
        } else {
            other += n;
        }
    }
    if other > 0 {
        cut.error_types.push((Arc::from(OTHER_ERRORS), other));
    }
}

/// The sample of `track` after its newest cut: values over the window.
fn compute(track: &Track, in_flight: Option<f64>) -> Sample {
    let mut sample = Sample {
        in_flight: in_flight.map_or(f32::NAN, |v| v as f32),
        ..Sample::default()
    };
    let (Some(new), Some(old)) = (
        track.cuts.nth_newest(0),
        track.cuts.nth_newest(track.cuts.len().saturating_sub(1)),
    ) else {
        return sample;
    };
    let (Some(t1), Some(t0)) = (new.at, old.at) else {
        return sample;
    };
    let seconds = t1.saturating_duration_since(t0).as_secs_f64();
    if seconds <= 0.0 {
        return sample;
    }
    let count = new.count.saturating_sub(old.count);
    sample.rate = (count as f64 / seconds) as f32;
    if count == 0 {
        return sample;
    }
    sample.error_pct = pct(new.errors.saturating_sub(old.errors), count) as f32;
    // An older cut without buckets was taken before the pair's first finished request.
    if new.buckets.len() == old.buckets.len() || old.buckets.is_empty() {
        let delta: Vec<u64> = new
            .buckets
            .iter()
            .enumerate()
            .map(|(i, n)| n.saturating_sub(old.buckets.get(i).copied().unwrap_or(0)))
            .collect();
        let q = |q| quantile(q, &track.bounds, &delta).map_or(f32::NAN, |v| v as f32);
        sample.p50 = q(0.5);
        sample.p95 = q(0.95);
        sample.p99 = q(0.99);
    }
    sample
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        f64::NAN
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn push_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// A JSON number, or `null` for a value that is not finite.
fn push_num(out: &mut String, v: f64) {
    if v.is_finite() {
        // Four significant digits are more than the page shows, and keep the JSON small.
        let rounded: f64 = format!("{v:.3e}").parse().unwrap_or(v);
        out.push_str(ryu::Buffer::new().format_finite(rounded));
    } else {
        out.push_str("null");
    }
}

/// A JSON string literal of `s`. Besides what JSON requires (quote, backslash, control
/// characters), it escapes `<`, `>`, `&`, U+2028 and U+2029, so the text is also safe inside
/// HTML and older JavaScript parsers.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20
                || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{7f}') =>
            {
                let _ = std::fmt::Write::write_fmt(out, format_args!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(feature = "axum")]
/// The value of `since` in a query string, when it is there and a number.
pub(crate) fn since_param(query: Option<&str>) -> Option<u64> {
    query?
        .split('&')
        .filter_map(|pair| pair.strip_prefix("since="))
        .find_map(|v| v.parse::<u64>().ok())
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
/// Why a live page cannot be served at a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LivePageError {
    path: String,
}

#[cfg(feature = "axum")]
impl std::fmt::Display for LivePageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid live page path {:?}: it must start with `/`, not end with `/`, and use only ASCII letters, digits, `-`, `_`, `.` and `/` (no empty, `.` or `..` segment)",
            self.path
        )
    }
}

#[cfg(feature = "axum")]
impl std::error::Error for LivePageError {}

#[cfg(feature = "axum")]
/// Checks a page path and returns its last segment.
pub(crate) fn check_path(path: &str) -> Result<&str, LivePageError> {
    let err = || LivePageError {
        path: path.to_owned(),
    };
    let rest = path.strip_prefix('/').ok_or_else(err)?;
    let ok_chars = rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if !ok_chars
        || rest
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(err());
    }
    rest.rsplit('/').next().ok_or_else(err)
}

#[cfg(feature = "axum")]
/// The page's HTML for a page whose last path segment is `name` (checked by [`check_path`]).
pub(crate) fn page_html(name: &str) -> String {
    PAGE_HTML.replace("{{NAME}}", name)
}

#[cfg(feature = "axum")]
/// A response with the page's security headers.
fn respond(
    content_type: &'static str,
    cache: &'static str,
    body: String,
) -> http::Response<String> {
    use http::header::{self, HeaderValue};
    let mut response = http::Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The router of a page at `path` (checked): the page, `{path}.json`, `{path}.js` and
/// `{path}.css`.
#[cfg(feature = "axum")]
pub(crate) fn router<S>(live: &Arc<Live>, path: &str, name: &str) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    use axum::routing::get;
    let html = page_html(name);
    let json_live = Arc::clone(live);
    let page_live = Arc::clone(live);
    axum::Router::new()
        .route(
            path,
            get(move || {
                page_live.start();
                let html = html.clone();
                async move { respond("text/html; charset=utf-8", "no-cache", html) }
            }),
        )
        .route(
            &format!("{path}.json"),
            get(move |uri: http::Uri| {
                let live = Arc::clone(&json_live);
                async move {
                    live.start();
                    let since = since_param(uri.query());
                    let json = tokio::task::spawn_blocking(move || live.json(since))
                        .await
                        .unwrap_or_else(|_| String::from("{}"));
                    respond("application/json", "no-store", json)
                }
            }),
        )
        .route(
            &format!("{path}.js"),
            get(|| async {
                respond(
                    "text/javascript; charset=utf-8",
                    "no-cache",
                    PAGE_JS.to_owned(),
                )
            }),
        )
        .route(
            &format!("{path}.css"),
            get(|| async { respond("text/css; charset=utf-8", "no-cache", PAGE_CSS.to_owned()) }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prometheus::store::{Buckets, PrometheusRecorder};
    use metrics::{Key, Label, Recorder};
    use proptest::prelude::*;

    static META: metrics::Metadata<'static> =
        metrics::Metadata::new("t", metrics::Level::INFO, None);

    #[test]
    fn ring_keeps_the_newest_and_reuses_slots() {
        let mut r: Ring<u32> = Ring::new(3);
        assert_eq!(r.nth_newest(0), None);
        for i in 1..=5 {
            r.push_with(|s| *s = i);
        }
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(r.nth_newest(0), Some(&5));
        assert_eq!(r.nth_newest(2), Some(&3));
        assert_eq!(r.nth_newest(3), None);
        assert_eq!((r.len(), r.capacity()), (3, 3));
        // The slot handed over when full is the oldest one.
        r.push_with(|s| assert_eq!(*s, 3));
    }

    #[test]
    fn quantiles_interpolate_like_histogram_quantile() {
        let bounds = [0.1, 0.5, 1.0];
        // 10 in (0, 0.1], 10 in (0.1, 0.5], none above.
        let cum = [10, 20, 20, 20];
        assert_eq!(quantile(0.5, &bounds, &cum), Some(0.1));
        assert!((quantile(0.25, &bounds, &cum).unwrap() - 0.05).abs() < 1e-12);
        assert!((quantile(0.75, &bounds, &cum).unwrap() - 0.3).abs() < 1e-12);
        assert_eq!(quantile(1.0, &bounds, &cum), Some(0.5));
        // In the +Inf bucket: the highest finite bound.
        assert_eq!(quantile(0.99, &bounds, &[0, 0, 1, 100]), Some(1.0));
        assert_eq!(quantile(0.5, &bounds, &[0, 0, 0, 0]), None);
        assert_eq!(quantile(1.5, &bounds, &cum), None);
        assert_eq!(quantile(0.5, &bounds, &[1, 2]), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn quantiles_stay_in_range_and_grow_with_q(
            counts in proptest::collection::vec(0u64..50, 4),
            q1 in 0.0f64..=1.0,
            q2 in 0.0f64..=1.0,
        ) {
            let bounds = [0.01, 0.1, 1.0];
            let cum: Vec<u64> = counts.iter().scan(0, |s, c| { *s += c; Some(*s) }).collect();
            let (lo, hi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
            match (quantile(lo, &bounds, &cum), quantile(hi, &bounds, &cum)) {
                (Some(a), Some(b)) => {
                    prop_assert!(a <= b + 1e-12);
                    prop_assert!((0.0..=1.0).contains(&a) && (0.0..=1.0).contains(&b));
                }
                (None, None) => prop_assert_eq!(cum[3], 0),
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn json_strings_parse_back(s in any::<String>()) {
            let mut out = String::new();
            push_json_str(&mut out, &s);
            prop_assert!(!out.contains('<') && !out.contains('\u{2028}'), "{}", out);
            let back: String = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(back, s);
        }
    }

    #[cfg(feature = "axum")]
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn since_parses_any_query(q in ".{0,40}", n in any::<u64>()) {
            // Anything parses without a panic; a well-formed value is found among others.
            let _ = since_param(Some(&q));
            let query = format!("a=1&since={n}&b={}", q.replace('&', ""));
            prop_assert_eq!(since_param(Some(&query)), Some(n));
        }

        #[test]
        fn paths_are_checked(p in "[ -~]{0,20}") {
            if let Ok(name) = check_path(&p) {
                prop_assert!(p.starts_with('/') && p.ends_with(name));
                prop_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
                prop_assert!(!name.is_empty() && name != "." && name != "..");
            }
        }
    }

    #[cfg(feature = "axum")]
    #[test]
    fn since_and_paths() {
        assert_eq!(since_param(None), None);
        assert_eq!(since_param(Some("since=12")), Some(12));
        assert_eq!(since_param(Some("since=-1&since=3")), Some(3));
        assert_eq!(since_param(Some("since=")), None);
        assert_eq!(check_path("/stats"), Ok("stats"));
        assert_eq!(check_path("/admin/live-stats"), Ok("live-stats"));
        for bad in [
            "", "/", "stats", "/stats/", "/a//b", "/a/../b", "/a b", "/{x}", "/\"x",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        let html = page_html("stats");
        assert!(html.contains("src=\"stats.js\""), "{html}");
        assert!(!html.contains("{{"), "{html}");
    }

    #[cfg(feature = "axum")]
    #[test]
    fn assets_suit_a_strict_csp_and_insert_text_only() {
        // No inline script, style or event handler, so `script-src 'self'; style-src 'self'`
        // holds; nothing loaded from another origin.
        let html = page_html("stats");
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains("<script src=\"stats.js\" defer></script>"));
        for banned in ["<style", "style=", " on", "http:", "https:", "//"] {
            assert!(!html.contains(banned), "{banned}");
        }
        // The script never parses text as markup or code.
        for banned in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "http:",
            "https:",
        ] {
            assert!(!PAGE_JS.contains(banned), "{banned}");
        }
        assert!(!PAGE_CSS.contains("url(") && !PAGE_CSS.contains("@import"));
        // Small enough to embed.
        assert!(PAGE_HTML.len() + PAGE_JS.len() + PAGE_CSS.len() < 24 * 1024);
    }

    fn recorder() -> PrometheusRecorder {
        PrometheusRecorder {
            store: Arc::new(Store::new(
                &[],
                Buckets {
                    by_name: Vec::new(),
                    default: Arc::from(&[0.1, 0.5, 1.0][..]),
                },
            )),
        }
    }

    fn key(naming: &Naming, route: &str, method: &str, status: &str, error: Option<&str>) -> Key {
        let mut labels = vec![
            Label::new(naming.method_key(), method.to_owned()),
            Label::new(naming.route_key(), route.to_owned()),
            Label::new(naming.status_key(), status.to_owned()),
        ];
        if let (Some(k), Some(e)) = (naming.error_key(), error) {
            labels.push(Label::new(k, e.to_owned()));
        }
        Key::from_parts(naming.duration().to_owned(), labels)
    }

    fn json(live: &Live, since: Option<u64>) -> serde_json::Value {
        serde_json::from_str(&live.json(since)).unwrap()
    }

    #[test]
    fn samples_rates_errors_and_quantiles_over_the_window() {
        let naming = Naming::default();
        let r = recorder();
        let limits = Limits {
            interval: INTERVAL,
            capacity: 4,
            window: 2,
            max_pairs: 10,
        };
        let live = Live::new(Arc::clone(&r.store), naming.clone(), limits);
        let ok = r.register_histogram(&key(&naming, "/a", "GET", "200", None), &META);
        let failed = r.register_histogram(&key(&naming, "/a", "GET", "503", Some("503")), &META);
        let timeout =
            r.register_histogram(&key(&naming, "/a", "GET", "500", Some("timeout")), &META);
        let active = r.register_gauge(
            &Key::from_parts(
                naming.active().to_owned(),
                vec![
                    Label::new(naming.method_key(), "GET"),
                    Label::new(naming.route_key(), "/a"),
                ],
            ),
            &META,
        );
        ok.record(0.05);
        let t0 = Instant::now();
        live.sample(t0);
        let v = json(&live, None);
        // The first sample has no earlier cut: totals, but no rate yet.
        assert_eq!(v["seq"], 1);
        assert_eq!(v["routes"][0]["total"], 1);
        assert!(v["routes"][0]["rate"].is_null());

        for _ in 0..8 {
            ok.record(0.05);
        }
        failed.record(0.3);
        timeout.record(2.0);
        active.set(3.0);
        live.sample(t0 + Duration::from_secs(2));
        let v = json(&live, None);
        let a = &v["routes"][0];
        assert_eq!(
            (a["route"].as_str(), a["method"].as_str()),
            (Some("/a"), Some("GET"))
        );
        assert_eq!(a["total"], 11);
        assert_eq!(a["errors_total"], 2);
        assert_eq!(a["in_flight"], 3.0);
        // 10 requests in 2 s; 2 of them failed, one per type.
        assert_eq!(a["rate"], 5.0);
        assert_eq!(a["error_pct"], 20.0);
        let errors: Vec<(String, f64)> = serde_json::from_value(a["errors"].clone()).unwrap();
        assert_eq!(errors, [("503".into(), 10.0), ("timeout".into(), 10.0)]);
        // 8 of 10 in (0, 0.1]: p50 is 0.1 × 5/8.
        assert!((a["p50"].as_f64().unwrap() - 0.0625).abs() < 1e-6, "{a}");
        assert_eq!(a["p99"], 1.0);
        assert_eq!(a["history"]["rate"], serde_json::json!([null, 5.0]));
        assert_eq!(a["history"]["in_flight"], serde_json::json!([0.0, 3.0]));
        assert_eq!(a["from"], 1);

        // Past the window, old requests no longer count; past the capacity, old samples go.
        for i in 3..=6 {
            live.sample(t0 + Duration::from_secs(2 * i));
        }
        let v = json(&live, None);
        let a = &v["routes"][0];
        assert_eq!(a["rate"], 0.0);
        assert!(a["error_pct"].is_null());
        assert_eq!(a["history"]["rate"].as_array().unwrap().len(), 4);
        assert_eq!(a["from"], 3);
        // A page that has sample 5 gets only the newest.
        let v = json(&live, Some(5));
        assert_eq!(v["routes"][0]["from"], 6);
        assert_eq!(
            v["routes"][0]["history"]["p50"].as_array().unwrap().len(),
            1
        );
        // A page that is too far behind (or from another instance) gets everything kept.
        let v = json(&live, Some(1));
        assert_eq!(v["routes"][0]["from"], 3);
        let v = json(&live, Some(99));
        assert_eq!(v["routes"][0]["from"], 3);
    }

    #[test]
    fn a_pair_that_appears_later_counts_from_zero() {
        let naming = Naming::default();
        let r = recorder();
        let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
        let t0 = Instant::now();
        live.sample(t0);
        r.register_histogram(&key(&naming, "/new", "POST", "201", None), &META)
            .record_many(0.2, 4);
        live.sample(t0 + Duration::from_secs(2));
        let v = json(&live, None);
        assert_eq!(v["routes"][0]["rate"], 2.0);
        assert_eq!(v["routes"][0]["from"], 2);
    }

    #[test]
    fn a_pair_first_seen_in_flight_gets_percentiles_once_requests_finish() {
        let naming = Naming::default();
        let r = recorder();
        let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
        let active = r.register_gauge(
            &Key::from_parts(
                naming.active().to_owned(),
                vec![
                    Label::new(naming.method_key(), "GET"),
                    Label::new(naming.route_key(), "/stream"),
                ],
            ),
            &META,
        );
        active.increment(1.0);
        let t0 = Instant::now();
        live.sample(t0);
        live.sample(t0 + INTERVAL);
        active.decrement(1.0);
        r.register_histogram(&key(&naming, "/stream", "GET", "200", None), &META)
            .record(0.3);
        live.sample(t0 + INTERVAL * 2);
        let v = json(&live, None);
        let a = &v["routes"][0];
        assert_eq!(
            a["history"]["in_flight"],
            serde_json::json!([1.0, 1.0, 0.0])
        );
        assert_eq!(a["total"], 1);
        assert!((a["p50"].as_f64().unwrap() - 0.3).abs() < 1e-9, "{a}");
    }

    #[test]
    fn axum_prometheus_names_count_5xx_and_499_as_errors() {
        let naming = Naming::new(crate::NamingScheme::AxumPrometheus);
        let r = recorder();
        let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
        for (status, n) in [("200", 5), ("404", 1), ("499", 1), ("502", 3)] {
            r.register_histogram(&key(&naming, "/x", "GET", status, None), &META)
                .record_many(0.01, n);
        }
        let v = json(&live, None);
        let a = &v["routes"][0];
        assert_eq!(
            (a["total"].as_u64(), a["errors_total"].as_u64()),
            (Some(10), Some(4))
        );
        assert_eq!(
            a["error_totals"],
            serde_json::json!([["499", 1], ["502", 3]])
        );
    }

    #[test]
    fn many_error_types_fold_into_other() {
        let naming = Naming::default();
        let r = recorder();
        let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
        let t0 = Instant::now();
        live.sample(t0);
        for i in 0..12u64 {
            let e = format!("e{i:02}");
            r.register_histogram(&key(&naming, "/x", "GET", "500", Some(&e)), &META)
                .record_many(0.01, (i + 1) as usize);
        }
        live.sample(t0 + Duration::from_secs(2));
        let v = json(&live, None);
        let errors = v["routes"][0]["errors"].as_array().unwrap();
        assert_eq!(errors.len(), MAX_ERROR_TYPES);
        let other = errors.iter().find(|e| e[0] == OTHER_ERRORS).unwrap();
        // e00..e04 (1 + 2 + 3 + 4 + 5 = 15 of 78) are the least frequent.
        assert!((other[1].as_f64().unwrap() - 15.0 * 100.0 / 78.0).abs() < 1e-3);
    }

    #[test]
    fn hostile_labels_come_out_as_valid_json() {
        let naming = Naming::default();
        let r = recorder();
        let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
        let route = "/\"q\"</script><script>alert(1)</script>\u{2028}\n\\x\u{0}";
        r.register_histogram(&key(&naming, route, "GET", "500", Some("a\"b<i>")), &META)
            .record(0.1);
        live.sample(Instant::now());
        let text = live.json(None);
        assert!(
            !text.contains("</script>") && !text.contains('\u{2028}'),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["routes"][0]["route"], route);
        assert_eq!(v["routes"][0]["error_totals"][0][0], "a\"b<i>");
    }

    #[test]
    fn memory_is_bounded_and_flat_with_a_thousand_routes() {
        let naming = Naming::default();
        let r = recorder();
        let live = Live::new(Arc::clone(&r.store), naming.clone(), Limits::PAGE);
        let handles: Vec<_> = (0..1000)
            .map(|i| {
                let route = format!("/route/{i}/{{id}}");
                let ok = r.register_histogram(&key(&naming, &route, "GET", "200", None), &META);
                let err =
                    r.register_histogram(&key(&naming, &route, "GET", "503", Some("503")), &META);
                (ok, err)
            })
            .collect();
        let t0 = Instant::now();
        let mut after_fill = 0;
        for tick in 0..(CAPACITY as u64 * 2 + 7) {
            for (ok, err) in &handles {
                ok.record(0.02);
                if tick % 3 == 0 {
                    err.record(0.4);
                }
            }
            let started = Instant::now();
            live.sample(t0 + INTERVAL * tick as u32);
            if tick == CAPACITY as u64 {
                eprintln!("one sample of 1,000 pairs took {:?}", started.elapsed());
                after_fill = live.heap_bytes();
            }
        }
        let end = live.heap_bytes();
        assert_eq!(after_fill, end, "memory grew after the rings filled");
        // Rings are allocated in full up front, so the bound holds from the first sample.
        let per_pair = end / 1000;
        eprintln!("1,000 pairs hold {end} bytes of history, {per_pair} per pair");
        assert!(per_pair < 6 * 1024, "{per_pair} bytes per pair");
        let text = live.json(None);
        let newest = live.json(Some(CAPACITY as u64 * 2 + 6));
        eprintln!(
            "JSON of 1,000 pairs: {} bytes with the whole history, {} with one sample",
            text.len(),
            newest.len()
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["routes"].as_array().unwrap().len(), 1000);
        assert_eq!(v["untracked"], 0);
        assert!(newest.len() * 10 < text.len());
    }

    #[test]
    fn pairs_beyond_the_cap_have_totals_but_no_history() {
        let naming = Naming::default();
        let r = recorder();
        let limits = Limits {
            max_pairs: 3,
            ..Limits::PAGE
        };
        let live = Live::new(Arc::clone(&r.store), naming.clone(), limits);
        for i in 0..5 {
            r.register_histogram(&key(&naming, &format!("/{i}"), "GET", "200", None), &META)
                .record(0.1);
        }
        live.sample(Instant::now());
        let v = json(&live, None);
        let routes = v["routes"].as_array().unwrap();
        assert_eq!(routes.len(), 5);
        assert_eq!(routes.iter().filter(|r| r["history"].is_null()).count(), 2);
        assert!(routes.iter().all(|r| r["total"] == 1));
        assert_eq!(v["untracked"], 2);
        assert_eq!(live.history.lock().unwrap().tracks.len(), 3);
    }

    #[test]
    fn the_sampler_stops_when_the_state_is_dropped() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let r = recorder();
            let limits = Limits {
                interval: Duration::from_millis(10),
                ..Limits::PAGE
            };
            let live = Arc::new(Live::new(Arc::clone(&r.store), Naming::default(), limits));
            live.start();
            live.start();
            let weak = Arc::downgrade(&live);
            let tasks = || {
                tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks()
            };
            assert_eq!(tasks(), 1, "one sampler, however often it is started");
            let mut waited = 0;
            while live.history.lock().unwrap().seq < 3 && waited < 500 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                waited += 1;
            }
            assert!(live.history.lock().unwrap().seq >= 3);
            drop(live);
            let mut waited = 0;
            while tasks() > 0 && waited < 500 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                waited += 1;
            }
            assert_eq!(tasks(), 0, "the sampler did not stop");
            assert!(weak.upgrade().is_none());
        });
    }
}
