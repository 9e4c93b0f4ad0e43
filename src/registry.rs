//! The handle cache: metric handles resolved once per label set and reused by every request.
//!
//! Registering a series with a recorder hashes its name and labels and looks it up in the
//! recorder's registry; doing that per request is most of what a naive middleware costs. Here a
//! layer interns each route once ([`RouteTable`]), resolves the in-flight gauge once per
//! (route, method) ([`MethodSeries`]) and the histograms once per (route, method, status, error)
//! ([`OutcomeHandles`]). A request then costs a read lock, a hash of its route string, one `Arc`
//! clone and the atomic updates of the handles themselves: no allocation, no label strings.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};

use crate::classify::{KnownMethods, Outcome};
use crate::log::RequestLog;
use crate::names::{self, Naming, NamingScheme};
use crate::record::InFlight;
use crate::route::{OVERFLOW_ROUTE, RouteFn, UNMATCHED_ROUTE};
use crate::trace::TraceId;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Where handles come from.
#[derive(Clone)]
pub(crate) enum Source {
    /// The `metrics` facade's current recorder (the global one, or a thread's local one).
    Global,
    /// A recorder owned by this layer.
    Explicit(Arc<dyn Recorder + Send + Sync>),
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar")
            .field("source", &self.source)
            .field("naming", &self.naming)
            .field("static_labels", &self.static_labels)
            .field("exemplars", &self.exemplars)
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Global => f.write_str("Global"),
            Self::Explicit(_) => f.write_str("Explicit(..)"),
        }
    }
}

/// Registers series: knows the recorder, the names and the static labels. Holds no cache, so
/// cached series can point back to it without a reference cycle.
pub(crate) struct Registrar {
    pub(crate) source: Source,
    pub(crate) naming: Naming,
    /// Whether the time-to-response-head histogram is recorded.
    pub(crate) time_to_head: bool,
    pub(crate) static_labels: Vec<Label>,
    /// Whether requests carry their trace id to the recorder, for exemplars.
    pub(crate) exemplars: bool,
    /// Request logs, when on.
    pub(crate) log: Option<RequestLog>,
    /// The methods with a label value of their own.
    pub(crate) methods: KnownMethods,
    /// `url.scheme` of requests whose URI names none.
    pub(crate) default_scheme: &'static str,
    /// Whether the body-size histograms are recorded.
    pub(crate) body_sizes: bool,
    /// Where request durations get their time (the system clock unless a test opts in).
    pub(crate) clock: crate::clock::Clock,
    /// Whether this registrar registers gRPC call series (the RPC names and labels) rather
    /// than HTTP request series.
    pub(crate) rpc: bool,
}

/// The `url.scheme` values, by the index a slot carries.
const SCHEMES: [&str; 2] = ["http", "https"];

impl Registrar {
    /// The series slot of a request within its route: its method, and its URL scheme when the
    /// naming has that label.
    fn slot<B>(&self, req: &http::Request<B>) -> usize {
        let method = self.methods.slot(req.method());
        let scheme = match self.naming.scheme_key() {
            Some(_) => {
                usize::from(crate::classify::url_scheme(req.uri(), self.default_scheme) == "https")
            }
            None => 0,
        };
        scheme * self.methods.slots() + method
    }

    /// How many slots a route has.
    fn slots(&self) -> usize {
        self.methods.slots() * SCHEMES.len()
    }

    /// The slot that holds what is beyond the series budget: `_OTHER`, default scheme.
    fn fold_slot(&self) -> usize {
        let scheme = usize::from(self.default_scheme == "https");
        scheme * self.methods.slots() + self.methods.other()
    }

    /// The method and scheme label values of `slot`.
    fn slot_labels(&self, slot: usize) -> (&'static str, &'static str) {
        let n = self.methods.slots();
        (self.methods.label(slot % n), SCHEMES[(slot / n).min(1)])
    }

    fn with<T>(&self, f: impl FnOnce(&dyn Recorder) -> T) -> T {
        match &self.source {
            Source::Global => metrics::with_recorder(f),
            Source::Explicit(r) => f(r.as_ref()),
        }
    }

    fn key(&self, name: &metrics::SharedString, extra: &[(&'static str, &str)]) -> Key {
        let mut labels = Vec::with_capacity(self.static_labels.len() + extra.len());
        labels.extend(self.static_labels.iter().cloned());
        labels.extend(extra.iter().map(|(k, v)| Label::new(*k, (*v).to_owned())));
        Key::from_parts(name.clone(), labels)
    }

    fn gauge(&self, key: &Key) -> Gauge {
        self.with(|r| r.register_gauge(key, &METADATA))
    }

    fn histogram(&self, key: &Key) -> Histogram {
        self.with(|r| r.register_histogram(key, &METADATA))
    }

    fn counter(&self, key: &Key) -> Counter {
        self.with(|r| r.register_counter(key, &METADATA))
    }

    /// The label of requests that match no route (no recognised method, for gRPC).
    fn unmatched_label(&self) -> &'static str {
        if self.rpc {
            crate::grpc::OTHER_RPC_METHOD
        } else {
            UNMATCHED_ROUTE
        }
    }

    /// Sends `# HELP` texts and units of every series this layer emits.
    fn describe(&self) {
        let n = &self.naming;
        self.with(|r| {
            let name = |s: &metrics::SharedString| KeyName::from(s.clone());
            if self.rpc {
                r.describe_histogram(
                    name(n.rpc_duration_shared()),
                    Some(Unit::Seconds),
                    names::RPC_DURATION_HELP.into(),
                );
                r.describe_gauge(
                    name(n.rpc_active_shared()),
                    None,
                    names::RPC_ACTIVE_HELP.into(),
                );
                return;
            }
            r.describe_histogram(
                name(n.duration_shared()),
                Some(Unit::Seconds),
                names::DURATION_HELP.into(),
            );
            r.describe_gauge(name(n.active_shared()), None, names::ACTIVE_HELP.into());
            if let Some(s) = n.request_size_shared().filter(|_| self.body_sizes) {
                r.describe_histogram(name(s), Some(Unit::Bytes), names::REQUEST_SIZE_HELP.into());
            }
            if let Some(s) = n.response_size_shared().filter(|_| self.body_sizes) {
                r.describe_histogram(name(s), Some(Unit::Bytes), names::RESPONSE_SIZE_HELP.into());
            }
            if self.time_to_head {
                r.describe_histogram(
                    name(n.time_to_head_shared()),
                    Some(Unit::Seconds),
                    names::TIME_TO_HEAD_HELP.into(),
                );
            }
            if let Some(s) = n.requests_total_shared() {
                r.describe_counter(name(s), None, names::REQUESTS_TOTAL_HELP.into());
            }
            r.describe_counter(
                name(n.route_overflow_shared()),
                None,
                names::ROUTE_OVERFLOW_HELP.into(),
            );
        });
    }

    /// Identifies the recorder handles would come from now: for [`Source::Global`] the address
    /// of the facade's current recorder, which changes once when a global recorder is installed
    /// after the layer was built.
    fn recorder_tag(&self) -> usize {
        match self.source {
            Source::Global => metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>().addr()),
            Source::Explicit(_) => 0,
        }
    }
}

/// The layer's shared state: settings, the route table and the recorder it was filled from.
pub(crate) struct Meter {
    pub(crate) registrar: Arc<Registrar>,
    /// gRPC calls, when the layer recognises them: their own registrar and route table.
    grpc: Option<Box<GrpcMeter>>,
    route_fn: Option<RouteFn>,
    excluded: Box<[Box<str>]>,
    max_routes: usize,
    max_series: usize,
    table: RwLock<RouteTable>,
    /// The recorder tag the table was filled from (see [`Registrar::recorder_tag`]).
    tag: AtomicUsize,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter")
            .field("source", &self.registrar.source)
            .field("naming", &self.registrar.naming.scheme())
            .field("static_labels", &self.registrar.static_labels)
            .field("route_fn", &self.route_fn.is_some())
            .field("excluded", &self.excluded)
            .field("max_routes", &self.max_routes)
            .field("max_series", &self.max_series)
            .finish_non_exhaustive()
    }
}

/// The gRPC side of a layer: the methods it recognises and the table of their series.
pub(crate) struct GrpcMeter {
    registrar: Arc<Registrar>,
    methods: crate::grpc::GrpcMethods,
    table: RwLock<RouteTable>,
}

impl Meter {
    pub(crate) fn new(
        registrar: Registrar,
        grpc: Option<(Registrar, crate::grpc::GrpcMethods)>,
        route_fn: Option<RouteFn>,
        excluded: Vec<String>,
        max_routes: usize,
        max_series: usize,
    ) -> Self {
        let registrar = Arc::new(registrar);
        let excluded: Box<[Box<str>]> = excluded.into_iter().map(Into::into).collect();
        let tag = registrar.recorder_tag();
        registrar.describe();
        let table = RouteTable::new(&registrar, &excluded, max_series);
        let grpc = grpc.map(|(registrar, methods)| {
            let registrar = Arc::new(registrar);
            registrar.describe();
            let table = RwLock::new(RouteTable::new(&registrar, &[], max_series));
            Box::new(GrpcMeter {
                registrar,
                methods,
                table,
            })
        });
        Self {
            registrar,
            grpc,
            route_fn,
            excluded,
            max_routes,
            max_series,
            table: RwLock::new(table),
            tag: AtomicUsize::new(tag),
        }
    }

    /// Starts recording `req`, or returns `None` when its path or route is excluded.
    pub(crate) fn start<B>(&self, req: &http::Request<B>) -> Option<InFlight> {
        let path = req.uri().path();
        if self.excluded.iter().any(|e| **e == *path) {
            return None;
        }
        // The clock starts as the request enters, before any look-up.
        let start: Instant = self.registrar.clock.now();
        self.follow_recorder();
        if let Some(grpc) = &self.grpc {
            if crate::grpc::is_grpc(req.headers()) {
                return self.start_grpc(grpc, req, start);
            }
        }
        let slot = self.registrar.slot(req);
        let view = crate::route::RouteRequest::new(req);
        let mut series = None;
        {
            let mut sink = |label: Option<&str>| series = self.series(label, slot);
            match &self.route_fn {
                Some(f) => f(&view, &mut sink),
                None => sink(crate::route::default_route(&view)),
            }
        }
        let version = self
            .registrar
            .naming
            .protocol_version_key()
            .map(|_| crate::classify::protocol_version(req.version()));
        series.map(|series| InFlight::new(series, start, req.headers(), version))
    }

    /// Starts recording the gRPC call `req`: its method is its path when recognised, else
    /// [`OTHER_RPC_METHOD`](crate::OTHER_RPC_METHOD); route functions and mounts do not apply.
    fn start_grpc<B>(
        &self,
        grpc: &GrpcMeter,
        req: &http::Request<B>,
        start: Instant,
    ) -> Option<InFlight> {
        let method = grpc.methods.recognise(req.uri().path());
        let series = series_in(&grpc.table, &grpc.registrar, 0, self.max_routes, method, 0)?;
        let mut flight = InFlight::new(series, start, req.headers(), None);
        flight.grpc = Some(Box::new(crate::grpc::GrpcCall {
            status: None,
            deadline: crate::grpc::timeout(req.headers()),
        }));
        Some(flight)
    }

    /// Rebuilds the table when the facade's recorder changed since it was filled: a layer built
    /// before the global recorder was installed starts reporting as soon as it is.
    fn follow_recorder(&self) {
        if matches!(self.registrar.source, Source::Explicit(_)) {
            return;
        }
        let tag = self.registrar.recorder_tag();
        if tag == self.tag.load(Ordering::Acquire) {
            return;
        }
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        if tag != self.tag.load(Ordering::Acquire) {
            self.registrar.describe();
            *table = RouteTable::new(&self.registrar, &self.excluded, self.max_series);
            if let Some(grpc) = &self.grpc {
                grpc.registrar.describe();
                *grpc.table.write().unwrap_or_else(PoisonError::into_inner) =
                    RouteTable::new(&grpc.registrar, &[], self.max_series);
            }
            self.tag.store(tag, Ordering::Release);
        }
    }

    fn series(&self, label: Option<&str>, slot: usize) -> Option<Arc<MethodSeries>> {
        series_in(
            &self.table,
            &self.registrar,
            self.excluded.len(),
            self.max_routes,
            label,
            slot,
        )
    }
}

/// The series of `label` (`None`: no route) and `slot` in `table`, interning the label when it
/// is new and the table holds fewer than `max_routes` routes (besides its `excluded` entries).
#[inline]
fn series_in(
    table: &RwLock<RouteTable>,
    registrar: &Arc<Registrar>,
    excluded: usize,
    max_routes: usize,
    label: Option<&str>,
    slot: usize,
) -> Option<Arc<MethodSeries>> {
    // Whether the table holds as many routes as the limit allows (excluded entries, interned
    // up front, do not count).
    let full = |table: &RouteTable| table.routes.len().saturating_sub(excluded) >= max_routes;
    {
        let table = table.read().unwrap_or_else(PoisonError::into_inner);
        let entry = match label {
            None => Some(&table.unmatched),
            Some(label) => table.routes.get(label),
        };
        if let Some(entry) = entry {
            return entry.method(slot, registrar, &table.budget);
        }
        if full(&table) {
            table.budget.folded.increment(1);
            return table.overflow.method(slot, registrar, &table.budget);
        }
    }
    let label = label.unwrap_or(registrar.unmatched_label());
    let mut table = table.write().unwrap_or_else(PoisonError::into_inner);
    if full(&table) && !table.routes.contains_key(label) {
        table.budget.folded.increment(1);
        return table.overflow.method(slot, registrar, &table.budget);
    }
    let table = &mut *table;
    let entry = table
        .routes
        .entry(label.into())
        .or_insert_with(|| RouteEntry::new(label.to_owned(), false, registrar.slots()));
    entry.method(slot, registrar, &table.budget)
}

/// Every route a layer has seen, interned.
struct RouteTable {
    routes: FastMap<Box<str>, RouteEntry>,
    unmatched: RouteEntry,
    overflow: RouteEntry,
    budget: Arc<Budget>,
}

/// The series budget of a layer: how many label sets each metric may get from it. Label sets
/// beyond it are folded into the (overflow route, `_OTHER` method) series, keeping their
/// status and error, and counted in the route-overflow counter.
struct Budget {
    max: usize,
    /// Label sets of the per-outcome series (route, method, status, error) taken so far.
    outcomes: AtomicUsize,
    /// Label sets of the in-flight gauge (route, method) taken so far.
    gauges: AtomicUsize,
    /// Where label sets beyond the budget go; created on first use, exempt from the budget.
    fold: OnceLock<Arc<MethodSeries>>,
    /// Requests recorded under the overflow route (route limit or series budget).
    folded: Counter,
}

impl Budget {
    /// Takes one label set from `used`, unless the budget is spent.
    fn take(&self, used: &AtomicUsize) -> bool {
        used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < self.max).then_some(n + 1)
        })
        .is_ok()
    }

    fn give_back(used: &AtomicUsize) {
        used.fetch_sub(1, Ordering::AcqRel);
    }

    /// The series that label sets beyond the budget are recorded in.
    fn fold(&self, registrar: &Arc<Registrar>) -> &Arc<MethodSeries> {
        self.folded.increment(1);
        self.fold.get_or_init(|| {
            Arc::new(MethodSeries::new(
                registrar,
                OVERFLOW_ROUTE,
                registrar.fold_slot(),
                None,
            ))
        })
    }
}

impl RouteTable {
    fn new(registrar: &Registrar, excluded: &[Box<str>], max_series: usize) -> Self {
        let routes = excluded
            .iter()
            .map(|e| (e.clone(), RouteEntry::new(e.to_string(), true, 0)))
            .collect();
        let folded =
            registrar.counter(&registrar.key(registrar.naming.route_overflow_shared(), &[]));
        Self {
            routes,
            unmatched: RouteEntry::new(
                registrar.unmatched_label().to_owned(),
                false,
                registrar.slots(),
            ),
            overflow: RouteEntry::new(OVERFLOW_ROUTE.to_owned(), false, registrar.slots()),
            budget: Arc::new(Budget {
                max: max_series,
                outcomes: AtomicUsize::new(0),
                gauges: AtomicUsize::new(0),
                fold: OnceLock::new(),
                folded,
            }),
        }
    }
}

/// One route: its label and its series per method, created on first use.
struct RouteEntry {
    label: String,
    excluded: bool,
    /// The overflow route: its series are already what is beyond the limits, so they take
    /// nothing from the series budget.
    overflow: bool,
    /// Per slot (method and URL scheme, see [`Registrar::slot`]).
    methods: Box<[OnceLock<Arc<MethodSeries>>]>,
}

impl RouteEntry {
    fn new(label: String, excluded: bool, slots: usize) -> Self {
        Self {
            overflow: label == OVERFLOW_ROUTE,
            label,
            excluded,
            methods: (0..slots).map(|_| OnceLock::new()).collect(),
        }
    }

    fn method(
        &self,
        slot: usize,
        registrar: &Arc<Registrar>,
        budget: &Arc<Budget>,
    ) -> Option<Arc<MethodSeries>> {
        if self.excluded {
            return None;
        }
        if let Some(series) = self.methods[slot].get() {
            return Some(Arc::clone(series));
        }
        // A new (route, method): a new label set of the in-flight gauge.
        let budget = (!self.overflow).then_some(budget);
        if let Some(budget) = budget {
            if !budget.take(&budget.gauges) {
                return Some(Arc::clone(budget.fold(registrar)));
            }
        }
        let mut created = false;
        let series = self.methods[slot].get_or_init(|| {
            created = true;
            Arc::new(MethodSeries::new(
                registrar,
                &self.label,
                slot,
                budget.cloned(),
            ))
        });
        if let (false, Some(budget)) = (created, budget) {
            Budget::give_back(&budget.gauges);
        }
        Some(Arc::clone(series))
    }
}

/// The series of one (route, method): the in-flight gauge and the handles of each outcome.
pub(crate) struct MethodSeries {
    pub(crate) registrar: Arc<Registrar>,
    pub(crate) route: String,
    pub(crate) method: &'static str,
    /// The `url.scheme` label value.
    scheme: &'static str,
    pub(crate) active: Gauge,
    first: OnceLock<(u32, Arc<OutcomeHandles>)>,
    outcomes: RwLock<FastMap<u32, Arc<OutcomeHandles>>>,
    /// The layer's series budget (`None` for the series that takes what is beyond it).
    budget: Option<Arc<Budget>>,
}

struct OutcomeHandles {
    duration: Histogram,
    request_size: Option<Histogram>,
    response_size: Option<Histogram>,
    total: Option<Counter>,
    /// Registered only when on, and only for outcomes a response head can have.
    time_to_head: Option<Histogram>,
}

impl MethodSeries {
    fn new(
        registrar: &Arc<Registrar>,
        route: &str,
        slot: usize,
        budget: Option<Arc<Budget>>,
    ) -> Self {
        let naming = &registrar.naming;
        let (method, scheme) = registrar.slot_labels(slot);
        let key = if registrar.rpc {
            let labels = [
                (naming.rpc_system_key(), "grpc"),
                (naming.rpc_method_key(), route),
            ];
            registrar.key(naming.rpc_active_shared(), &labels)
        } else {
            let mut labels = vec![(naming.method_key(), method), (naming.route_key(), route)];
            if let Some(key) = naming.scheme_key() {
                labels.push((key, scheme));
            }
            registrar.key(naming.active_shared(), &labels)
        };
        Self {
            active: registrar.gauge(&key),
            registrar: Arc::clone(registrar),
            route: route.to_owned(),
            method,
            scheme,
            first: OnceLock::new(),
            outcomes: RwLock::new(FastMap::default()),
            budget,
        }
    }

    /// Runs `f` with the handles of `outcome`, registering them on first use.
    ///
    /// The first outcome a (route, method) sees, normally its success status, sits in a
    /// lock-free slot; the others live in a map behind a read-mostly lock. An outcome not seen
    /// before is a new label set: past the layer's series budget it is recorded in the
    /// overflow series instead.
    fn with_handles(&self, outcome: Outcome, f: impl FnOnce(&OutcomeHandles)) {
        let key = outcome.key();
        if let Some((first, handles)) = self.first.get() {
            if *first == key {
                return f(handles);
            }
            if let Some(h) = self
                .outcomes
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&key)
            {
                return f(h);
            }
        }
        if let Some(budget) = &self.budget {
            if !budget.take(&budget.outcomes) {
                return budget.fold(&self.registrar).with_handles(outcome, f);
            }
        }
        if self.first.get().is_none() {
            let mut created = false;
            let (first, handles) = self.first.get_or_init(|| {
                created = true;
                (key, Arc::new(self.register(outcome)))
            });
            if *first == key {
                if !created {
                    self.give_back();
                }
                return f(handles);
            }
        }
        let handles = {
            let mut map = self
                .outcomes
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(h) = map.get(&key) {
                self.give_back();
                Arc::clone(h)
            } else {
                let handles = Arc::new(self.register(outcome));
                map.insert(key, Arc::clone(&handles));
                handles
            }
        };
        f(&handles);
    }

    /// Returns a label set taken from the budget for an outcome another thread registered.
    fn give_back(&self) {
        if let Some(budget) = &self.budget {
            Budget::give_back(&budget.outcomes);
        }
    }

    fn register(&self, outcome: Outcome) -> OutcomeHandles {
        let r = &self.registrar;
        let n = &r.naming;
        if r.rpc {
            let mut labels: Vec<(&'static str, &str)> = vec![
                (n.rpc_system_key(), "grpc"),
                (n.rpc_method_key(), &self.route),
            ];
            if let Some(code) = outcome.grpc {
                labels.push((n.rpc_status_key(), code.as_str()));
            }
            if let Some(e) = &outcome.error {
                labels.push((n.rpc_error_key(), e.as_str()));
            }
            return OutcomeHandles {
                duration: r.histogram(&r.key(n.rpc_duration_shared(), &labels)),
                request_size: None,
                response_size: None,
                total: None,
                time_to_head: None,
            };
        }
        let status = match (n.scheme(), outcome.status, outcome.error) {
            (_, Some(status), _) => Some(status),
            (NamingScheme::AxumPrometheus, None, Some(e)) => Some(e.fallback_status()),
            _ => None,
        };
        let mut labels: Vec<(&'static str, &str)> =
            vec![(n.method_key(), self.method), (n.route_key(), &self.route)];
        if let Some(status) = &status {
            labels.push((n.status_key(), status.as_str()));
        }
        let error = outcome.error;
        if let (Some(key), Some(e)) = (n.error_key(), &error) {
            labels.push((key, e.as_str()));
        }
        if let Some(key) = n.scheme_key() {
            labels.push((key, self.scheme));
        }
        if let (Some(key), Some(version)) = (n.protocol_version_key(), outcome.version) {
            labels.push((key, version.label));
        }
        let sizes = |name: Option<&metrics::SharedString>| {
            name.filter(|_| r.body_sizes)
                .map(|name| r.histogram(&r.key(name, &labels)))
        };
        OutcomeHandles {
            duration: r.histogram(&r.key(n.duration_shared(), &labels)),
            request_size: sizes(n.request_size_shared()),
            response_size: sizes(n.response_size_shared()),
            total: n
                .requests_total_shared()
                .map(|name| r.counter(&r.key(name, &labels))),
            time_to_head: (r.time_to_head
                && matches!(error, None | Some(crate::ErrorType::Status(_))))
            .then(|| r.histogram(&r.key(n.time_to_head_shared(), &labels))),
        }
    }

    /// Records how long the response head of `outcome` took (only called when that histogram
    /// is on).
    pub(crate) fn record_head(&self, outcome: Outcome, elapsed: Duration) {
        self.with_handles(outcome, |h| {
            if let Some(t) = &h.time_to_head {
                t.record(elapsed.as_secs_f64());
            }
        });
    }

    pub(crate) fn record(
        &self,
        outcome: Outcome,
        elapsed: Duration,
        request_bytes: Option<u64>,
        response_bytes: u64,
        trace: Option<TraceId>,
    ) {
        self.with_handles(outcome, |h| {
            let seconds = elapsed.as_secs_f64();
            match trace {
                Some(id) => crate::trace::with_current(id, || h.duration.record(seconds)),
                None => h.duration.record(seconds),
            }
            if let (Some(s), Some(bytes)) = (&h.request_size, request_bytes) {
                s.record(bytes as f64);
            }
            if let Some(s) = &h.response_size {
                s.record(response_bytes as f64);
            }
            if let Some(t) = &h.total {
                t.increment(1);
            }
        });
        self.active.decrement(1.0);
    }
}
