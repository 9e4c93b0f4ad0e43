//! The series a layer has registered with one recorder: its routes, each route's series per
//! method, and the budget that bounds how many there are.
//!
//! Everything here is filled once and then only read: a request finds its route, its series
//! and, when it ends, its outcome's handles with plain loads. New labels take the slow path
//! (registering with the recorder) once. Label sets beyond the layer's limits are recorded in
//! the overflow route's `_OTHER` series and counted in the route-overflow counter.

use std::sync::Arc;

use crate::sync::{AtomicUsize, OnceLock, Ordering};

use metrics::Counter;

use crate::classify::Outcome;
use crate::registry::arena::Arena;
use crate::registry::registrar::{OutcomeHandles, Registrar};
use crate::registry::route_index::RouteIndex;
use crate::registry::series::MethodSeries;
use crate::route::OVERFLOW_ROUTE;

/// One route: its label and, per method and scheme slot, the index of its series.
struct RouteEntry {
    label: Arc<str>,
    /// Requests with this label are not recorded.
    excluded: bool,
    /// The overflow route: its series are what is beyond the limits, so they take nothing
    /// from the budget.
    overflow: bool,
    series: Box<[OnceLock<Option<u32>>]>,
}

impl RouteEntry {
    fn new(label: &str, excluded: bool, slots: usize) -> Self {
        Self {
            overflow: label == OVERFLOW_ROUTE,
            label: label.into(),
            excluded,
            series: (0..slots).map(|_| OnceLock::new()).collect(),
        }
    }
}

/// How many label sets each metric may get from a layer.
///
/// Each count is two in one word: the label sets taken (the low half) and the takes still
/// pending ([`PENDING`] each), whose series is being made. A request refused by a spent budget
/// waits for the pending takes before it folds, since one of them may be making the very
/// series it needs (two first requests of one label set racing for the last one).
struct Budget {
    max: usize,
    /// Label sets of the per-outcome series (route, method, status, error).
    outcomes: AtomicUsize,
    /// Label sets of the in-flight gauge (route, method).
    gauges: AtomicUsize,
}

/// A pending take, settled by [`Pending::settle`] or, if that is never reached, when dropped.
struct Pending<'a>(Option<&'a AtomicUsize>);

impl Pending<'_> {
    fn settle(mut self, kept: bool) {
        if let Some(used) = self.0.take() {
            Budget::settle(used, kept);
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(used) = self.0.take() {
            Budget::settle(used, false);
        }
    }
}

/// One pending take in a [`Budget`] count; the label sets taken are counted below it.
const PENDING: usize = 1 << (usize::BITS / 2);

impl Budget {
    /// Takes one label set from `used`, unless the budget is spent; [`settle`](Self::settle)
    /// ends the take.
    fn take(&self, used: &AtomicUsize) -> bool {
        let max = self.max.min(PENDING - 1);
        used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n % PENDING < max).then_some(n + PENDING + 1)
        })
        .is_ok()
    }

    /// Ends a take: its label set is kept (its series was made by this request) or handed
    /// back (another request had made it).
    fn settle(used: &AtomicUsize, kept: bool) {
        used.fetch_sub(PENDING + usize::from(!kept), Ordering::Release);
    }

    /// Waits until `made` (the series or handles a refused request needs exist) or no take on
    /// `used` is pending, giving up after about a millisecond (see
    /// [`crate::sync::wait_briefly`]): a take is settled a few steps after it is taken, but
    /// those steps register a series with the recorder, which may block.
    fn wait_settled(used: &AtomicUsize, made: impl Fn() -> bool) {
        crate::sync::wait_briefly(|| made() || used.load(Ordering::Acquire) < PENDING);
    }

    /// A take that is settled (handed back) if the code between take and settle unwinds (a
    /// recorder that panics while registering), so that no refused request waits for it.
    fn pending(used: &AtomicUsize) -> Pending<'_> {
        Pending(Some(used))
    }

    /// The label sets taken from `used`.
    #[cfg(all(test, loom))]
    fn taken(used: &AtomicUsize) -> usize {
        used.load(Ordering::Acquire) % PENDING
    }
}

/// The limits a table keeps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_routes: usize,
    pub(crate) max_series: usize,
}

/// A layer's series in one recorder.
pub(crate) struct Table {
    /// Which recorder (see [`Registrar::recorder_tag`]).
    pub(crate) tag: usize,
    routes: RouteIndex<RouteEntry>,
    /// Routes interned so far, excluded ones aside.
    route_count: AtomicUsize,
    unmatched: RouteEntry,
    overflow: RouteEntry,
    series: Arena<MethodSeries>,
    budget: Budget,
    limits: Limits,
    /// The series of what is beyond the budget: (overflow route, `_OTHER`).
    fold: OnceLock<Option<u32>>,
    /// Requests recorded under the overflow route (route limit or series budget).
    folded: Counter,
    /// Requests recorded with a request label's value beyond its budget, by label.
    label_overflow: Box<[Counter]>,
}

impl Table {
    pub(crate) fn new(
        tag: usize,
        registrar: &Registrar,
        excluded: &[Box<str>],
        limits: Limits,
    ) -> Self {
        let routes = RouteIndex::default();
        for label in excluded {
            routes.get_or_insert(label, || true, || (), || RouteEntry::new(label, true, 0));
        }
        let folded =
            registrar.counter(&registrar.key(registrar.naming.route_overflow_shared(), &[]));
        let label_overflow = registrar
            .request_labels
            .iter()
            .map(|label| {
                let name = registrar.naming.label_overflow_shared();
                registrar.counter(&registrar.key(name, &[("label", &**label.name())]))
            })
            .collect();
        let slots = registrar.slots();
        Self {
            tag,
            routes,
            route_count: AtomicUsize::new(0),
            unmatched: RouteEntry::new(registrar.unmatched_label(), false, slots),
            overflow: RouteEntry::new(OVERFLOW_ROUTE, false, slots),
            series: Arena::default(),
            budget: Budget {
                max: limits.max_series,
                outcomes: AtomicUsize::new(0),
                gauges: AtomicUsize::new(0),
            },
            limits,
            fold: OnceLock::new(),
            folded,
            label_overflow,
        }
    }

    /// The series index of the route `label` (`None`: the request matched no route) and
    /// `slot`, creating what is new within the limits; `None` when the label is excluded.
    #[inline]
    pub(crate) fn locate(
        &self,
        registrar: &Registrar,
        label: Option<&str>,
        slot: usize,
    ) -> Option<u32> {
        let entry = match label {
            None => &self.unmatched,
            Some(label) => match self.routes.get(label) {
                Some(entry) => entry,
                None => self.intern(registrar, label),
            },
        };
        if entry.excluded {
            return None;
        }
        if entry.overflow {
            self.folded.increment(1);
        }
        if !self.label_overflow.is_empty() {
            self.count_label_overflow(registrar, slot);
        }
        match entry.series.get(slot)?.get() {
            Some(index) => *index,
            None => self.new_series(registrar, entry, slot),
        }
    }

    /// Counts a request whose request labels in `slot` hold values beyond their budget.
    fn count_label_overflow(&self, registrar: &Registrar, slot: usize) {
        let mask = registrar.overflow_mask(slot);
        for (i, counter) in self.label_overflow.iter().enumerate() {
            if mask & 1 << i.min(63) != 0 {
                counter.increment(1);
            }
        }
    }

    /// The entry of a label not seen before: a new route while the limit allows, else the
    /// overflow route.
    #[cold]
    fn intern(&self, registrar: &Registrar, label: &str) -> &RouteEntry {
        let max = self.limits.max_routes;
        let admit = || {
            self.route_count
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < max).then_some(n + 1)
                })
                .is_ok()
        };
        let release = || {
            self.route_count.fetch_sub(1, Ordering::AcqRel);
        };
        let make = || RouteEntry::new(label, false, registrar.slots());
        self.routes
            .get_or_insert(label, admit, release, make)
            .unwrap_or(&self.overflow)
    }

    /// Registers the series of (`entry`, `slot`), within the budget.
    #[cold]
    fn new_series(&self, registrar: &Registrar, entry: &RouteEntry, slot: usize) -> Option<u32> {
        let cell = &entry.series[slot];
        let budgeted = !entry.overflow;
        // A new (route, method) is a new label set of the in-flight gauge.
        if budgeted && !self.budget.take(&self.budget.gauges) {
            // Spent; but a request of this same label set may have taken the last one and be
            // making its series.
            Budget::wait_settled(&self.budget.gauges, || cell.get().is_some());
            if let Some(index) = cell.get() {
                return *index;
            }
            self.folded.increment(1);
            return self.fold_series(registrar);
        }
        let pending = budgeted.then(|| Budget::pending(&self.budget.gauges));
        let mut made = false;
        let index = *cell.get_or_init(|| {
            made = true;
            let unmatched = std::ptr::eq(entry, &self.unmatched) && registrar.is_http();
            self.push(registrar, &entry.label, slot, budgeted, unmatched)
        });
        if let Some(pending) = pending {
            pending.settle(made);
        }
        index
    }

    fn push(
        &self,
        registrar: &Registrar,
        label: &Arc<str>,
        slot: usize,
        budgeted: bool,
        unmatched: bool,
    ) -> Option<u32> {
        let (method, _) = registrar.slot_labels(slot);
        let mut series = MethodSeries::new(
            Arc::clone(label),
            slot,
            method,
            registrar.active_gauge(label, slot),
            budgeted,
        );
        series.unmatched = unmatched;
        // A series holding a request label's overflow counts each request as it is located.
        series.hinted = budgeted && registrar.overflow_mask(slot) == 0;
        self.series.push(series).ok()
    }

    /// The series that takes label sets beyond the budget, created on first use.
    fn fold_series(&self, registrar: &Registrar) -> Option<u32> {
        *self.fold.get_or_init(|| {
            self.push(
                registrar,
                &self.overflow.label,
                registrar.fold_slot(),
                false,
                false,
            )
        })
    }

    /// The series at `index`.
    #[inline]
    pub(crate) fn series(&self, index: u32) -> Option<&MethodSeries> {
        self.series.get(index)
    }

    /// The handles of `outcome` in `series` (one of this table's), registering them when new
    /// (or, past the budget, those of the fold series).
    #[inline]
    pub(crate) fn handles<'a>(
        &'a self,
        registrar: &Registrar,
        series: &'a MethodSeries,
        outcome: Outcome,
    ) -> Option<&'a OutcomeHandles> {
        match series.find(outcome.key()) {
            Some(handles) => Some(handles),
            None => self.new_handles(registrar, series, outcome),
        }
    }

    #[cold]
    fn new_handles<'a>(
        &'a self,
        registrar: &Registrar,
        series: &'a MethodSeries,
        outcome: Outcome,
    ) -> Option<&'a OutcomeHandles> {
        let key = outcome.key();
        if series.budgeted {
            if let Some(handles) = series.find(key) {
                return Some(handles);
            }
            if !self.budget.take(&self.budget.outcomes) {
                // Spent; but a request of this same label set may have taken the last one and
                // be making its handles.
                Budget::wait_settled(&self.budget.outcomes, || series.find(key).is_some());
                if let Some(handles) = series.find(key) {
                    return Some(handles);
                }
                self.folded.increment(1);
                let fold = self.series(self.fold_series(registrar)?)?;
                return self.handles(registrar, fold, outcome);
            }
        }
        let pending = series
            .budgeted
            .then(|| Budget::pending(&self.budget.outcomes));
        let (handles, made) = series.insert(key, || {
            registrar.outcome_handles(&series.route, series.slot, outcome)
        });
        if let Some(pending) = pending {
            pending.settle(made);
        }
        Some(handles)
    }
}

/// The series budget under loom: its overflow decision racing itself.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::registry::registrar::Source;
    use crate::sync::{Arc as SyncArc, model};
    use loom::thread;

    fn table(max_series: usize) -> (SyncArc<Table>, SyncArc<Registrar>) {
        table_with_routes(10, max_series)
    }

    fn table_with_routes(
        max_routes: usize,
        max_series: usize,
    ) -> (SyncArc<Table>, SyncArc<Registrar>) {
        let registrar = Registrar::for_tests(Source::Explicit(Arc::new(metrics::NoopRecorder)));
        let limits = Limits {
            max_routes,
            max_series,
        };
        let table = Table::new(0, &registrar, &[], limits);
        (SyncArc::new(table), SyncArc::new(registrar))
    }

    /// Locates `label` on another thread: the route of the series it got.
    fn request(
        table: &SyncArc<Table>,
        registrar: &SyncArc<Registrar>,
        label: &'static str,
    ) -> thread::JoinHandle<Arc<str>> {
        let (table, registrar) = (SyncArc::clone(table), SyncArc::clone(registrar));
        thread::spawn(move || {
            let index = table.locate(&registrar, Some(label), 0).expect("a series");
            Arc::clone(&table.series(index).expect("a pushed series").route)
        })
    }

    /// Proves: two requests of new routes racing for the last label set of the budget are
    /// both recorded (each gets a series: its own, or the overflow route's), one of them in
    /// its own series and the other folded, and the budget is never exceeded.
    #[test]
    fn loom_the_budget_admits_one_of_two_racing_series() {
        model(|| {
            let (table, registrar) = table(1);
            let (a, b) = (
                request(&table, &registrar, "/a"),
                request(&table, &registrar, "/b"),
            );
            let mut routes = [a.join().unwrap(), b.join().unwrap()];
            routes.sort();
            assert_eq!(Budget::taken(&table.budget.gauges), 1);
            let own: Vec<_> = routes.iter().filter(|r| &***r != OVERFLOW_ROUTE).collect();
            assert_eq!(own.len(), 1, "{routes:?}");
            assert!(routes.iter().any(|r| &**r == OVERFLOW_ROUTE), "{routes:?}");
        });
    }

    /// Proves: two first requests of one new (route, method) racing within the budget are
    /// both recorded into the one series made for it, and the budget counts it once (the
    /// loser's take is handed back).
    #[test]
    fn loom_one_series_racing_itself_takes_the_budget_once() {
        model(|| one_route_twice(10, 2));
    }

    /// Two first requests of `/a` on two threads, into a table with these limits: both must
    /// be recorded under `/a`, its one series taking one label set of the budget.
    fn one_route_twice(max_routes: usize, max_series: usize) {
        let (table, registrar) = table_with_routes(max_routes, max_series);
        let (a, b) = (
            request(&table, &registrar, "/a"),
            request(&table, &registrar, "/a"),
        );
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert_eq!((&*a, &*b), ("/a", "/a"));
        assert_eq!(Budget::taken(&table.budget.gauges), 1);
    }

    /// Proves: two first requests of one new (route, method) racing for the budget's last
    /// label set are both recorded into the series made for it; the one whose take found the
    /// budget spent waits for the other's pending take instead of folding.
    #[test]
    fn loom_one_series_racing_for_the_last_label_set_is_made_for_both() {
        model(|| one_route_twice(10, 1));
    }

    /// Proves: two first requests of one new route racing for the route limit's last place
    /// are both recorded under that route: the one the limit refuses waits for the other's
    /// pending insert and finds the route, instead of folding into the overflow route.
    #[test]
    fn loom_one_route_racing_for_the_last_place_is_made_for_both() {
        model(|| one_route_twice(1, 10));
    }
}
