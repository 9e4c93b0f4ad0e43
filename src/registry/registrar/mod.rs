//! How series are registered with a recorder: which recorder, under which names, with which
//! labels, and the descriptions sent with them.
//!
//! A [`Registrar`] holds a layer's naming settings and its recorder source. It is asked only
//! when a label set is seen for the first time; the handles it returns are kept by the route
//! table and reused by every later request.

use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};

use crate::classify::KnownMethods;
use crate::log::RequestLog;
use crate::names::{self, Naming};
use crate::route::UNMATCHED_ROUTE;

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

/// Registers series: knows the recorder, the names and the constant labels.
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
    /// Whether response statuses are recorded as their class (`2xx`).
    pub(crate) status_classes: bool,
    /// Where request durations get their time (the system clock unless a test opts in).
    pub(crate) clock: crate::clock::Clock,
    /// Whether this registrar registers gRPC call series (the RPC names and labels) rather
    /// than HTTP request series.
    pub(crate) rpc: bool,
}

/// The label value of `status`'s class: `1xx` to `9xx` (a status code is 100 to 999).
fn status_class(status: http::StatusCode) -> &'static str {
    const CLASSES: [&str; 9] = [
        "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "7xx", "8xx", "9xx",
    ];
    CLASSES[usize::from(status.as_u16() / 100).clamp(1, 9) - 1]
}

/// The `url.scheme` values, by the index a slot carries.
const SCHEMES: [&str; 2] = ["http", "https"];

impl Registrar {
    /// The series slot of a request within its route: its method, and its URL scheme when the
    /// naming has that label.
    #[inline]
    pub(crate) fn slot<B>(&self, req: &http::Request<B>) -> usize {
        let method = self.methods.slot(req.method());
        if self.naming.scheme_key().is_some() && self.is_https(req.uri()) {
            method + self.methods.slots()
        } else {
            method
        }
    }

    /// Whether a request to `uri` gets `url.scheme="https"`.
    #[inline]
    fn is_https(&self, uri: &http::Uri) -> bool {
        // Most requests carry no scheme (HTTP/1.1 sends a path only): one test settles them.
        match uri.scheme() {
            None => self.default_scheme == "https",
            Some(_) => crate::classify::url_scheme(uri, self.default_scheme) == "https",
        }
    }

    /// How many slots a route has.
    pub(crate) fn slots(&self) -> usize {
        self.methods.slots() * SCHEMES.len()
    }

    /// The slot that holds what is beyond the series budget: `_OTHER`, default scheme.
    pub(crate) fn fold_slot(&self) -> usize {
        let scheme = usize::from(self.default_scheme == "https");
        scheme * self.methods.slots() + self.methods.other()
    }

    /// The method and scheme label values of `slot`.
    pub(crate) fn slot_labels(&self, slot: usize) -> (&'static str, &'static str) {
        let n = self.methods.slots();
        (self.methods.label(slot % n), SCHEMES[(slot / n).min(1)])
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&dyn Recorder) -> T) -> T {
        match &self.source {
            Source::Global => metrics::with_recorder(f),
            Source::Explicit(r) => f(r.as_ref()),
        }
    }

    pub(crate) fn key(&self, name: &metrics::SharedString, extra: &[(&'static str, &str)]) -> Key {
        let mut labels = Vec::with_capacity(self.static_labels.len() + extra.len());
        labels.extend(self.static_labels.iter().cloned());
        labels.extend(extra.iter().map(|(k, v)| Label::new(*k, (*v).to_owned())));
        Key::from_parts(name.clone(), labels)
    }

    pub(crate) fn gauge(&self, key: &Key) -> Gauge {
        self.with(|r| r.register_gauge(key, &METADATA))
    }

    pub(crate) fn histogram(&self, key: &Key) -> Histogram {
        self.with(|r| r.register_histogram(key, &METADATA))
    }

    pub(crate) fn counter(&self, key: &Key) -> Counter {
        self.with(|r| r.register_counter(key, &METADATA))
    }

    /// The label of requests that match no route (no recognised method, for gRPC).
    pub(crate) fn unmatched_label(&self) -> &'static str {
        if self.rpc {
            crate::grpc::OTHER_RPC_METHOD
        } else {
            UNMATCHED_ROUTE
        }
    }

    /// Sends `# HELP` texts and units of every series this layer emits.
    pub(crate) fn describe(&self) {
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
    /// after the layer was built, and on a thread with a local recorder is that recorder's.
    #[inline]
    pub(crate) fn recorder_tag(&self) -> usize {
        match self.source {
            Source::Global => metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>().addr()),
            Source::Explicit(_) => 0,
        }
    }

    /// Whether handles from the recorder of `tag` (see [`recorder_tag`](Self::recorder_tag))
    /// may be kept for later requests: see [`lasting`].
    pub(crate) fn lasting(&self, tag: usize) -> bool {
        match self.source {
            Source::Explicit(_) => true,
            Source::Global => lasting(tag),
        }
    }
}

/// What tells `recorder` apart from other recorders when its clones are one recorder: the
/// address of the store behind this crate's recorders, or of the recorder an `Arc` shares.
/// `None` for any other type, whose clones cannot be told to be one.
pub(crate) fn recorder_identity<R: Recorder + 'static>(recorder: &R) -> Option<usize> {
    let any: &dyn std::any::Any = recorder;
    #[cfg(feature = "prometheus")]
    if let Some(r) = any.downcast_ref::<crate::prometheus::PrometheusRecorder>() {
        return Some(Arc::as_ptr(&r.store).addr());
    }
    #[cfg(feature = "testing")]
    if let Some(r) = any.downcast_ref::<crate::testing::TestRecorder>() {
        return Some(r.identity());
    }
    if let Some(r) = any.downcast_ref::<Arc<dyn Recorder + Send + Sync>>() {
        return Some(Arc::as_ptr(r).cast::<()>().addr());
    }
    None
}

/// Whether the facade's recorder at address `tag`, current on this thread, lives as long as
/// the process: the global recorder (installed once, never dropped) or the facade's no-op
/// recorder (a static), rather than a thread's local recorder.
///
/// A local recorder (`metrics::with_local_recorder`) lives only for its scope, and a later one
/// can sit at the same address, so nothing registered with it may be kept: a table kept by
/// address would hand the next recorder's requests to the dead one's cells. The facade offers
/// no way to tell the two apart on this thread, so the answer comes from a new thread, where no
/// local recorder is set: the recorder it sees is the global (or the no-op) one. Those are at
/// most two addresses per process and are remembered; a local one is remembered per thread
/// (a wrong "local" only costs a fresh registration, never a wrong recorder). A thread that
/// cannot be started answers "local".
pub(crate) fn lasting(tag: usize) -> bool {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The facade's no-op recorder and the global one, as they are seen (0: not yet).
    static LASTING: [AtomicUsize; 2] = [const { AtomicUsize::new(0) }; 2];
    thread_local! {
        /// The last address this thread found to be a local recorder.
        static LOCAL: Cell<usize> = const { Cell::new(0) };
    }
    let known = |t: usize| LASTING.iter().any(|l| l.load(Ordering::Acquire) == t);
    if tag == 0 || known(tag) {
        return tag != 0;
    }
    if LOCAL.with(Cell::get) == tag {
        return false;
    }
    let facade = std::thread::Builder::new()
        .name("routemeter-recorder".into())
        .spawn(|| metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>().addr()))
        .ok()
        .and_then(|t| t.join().ok());
    if let Some(facade) = facade.filter(|&f| f != 0) {
        if !known(facade) {
            for l in &LASTING {
                let taken = l.compare_exchange(0, facade, Ordering::AcqRel, Ordering::Acquire);
                if taken.is_ok() || l.load(Ordering::Acquire) == facade {
                    break;
                }
            }
        }
        if facade == tag {
            return true;
        }
    }
    LOCAL.with(|l| l.set(tag));
    false
}

/// The handles of one outcome of a (route, method): what a finished request records into.
pub(crate) struct OutcomeHandles {
    pub(crate) duration: Histogram,
    pub(crate) request_size: Option<Histogram>,
    pub(crate) response_size: Option<Histogram>,
    pub(crate) total: Option<Counter>,
    /// Registered only when on, and only for outcomes a response head can have.
    pub(crate) time_to_head: Option<Histogram>,
    /// Whether any of the body sizes or the counter is there (one test on the request path).
    pub(crate) more: bool,
}

impl Registrar {
    /// The in-flight gauge of (`route`, the method and scheme of `slot`).
    pub(crate) fn active_gauge(&self, route: &str, slot: usize) -> Gauge {
        let naming = &self.naming;
        let (method, scheme) = self.slot_labels(slot);
        let key = if self.rpc {
            let labels = [
                (naming.rpc_system_key(), "grpc"),
                (naming.rpc_method_key(), route),
            ];
            self.key(naming.rpc_active_shared(), &labels)
        } else {
            let mut labels = vec![(naming.method_key(), method), (naming.route_key(), route)];
            if let Some(key) = naming.scheme_key() {
                labels.push((key, scheme));
            }
            self.key(naming.active_shared(), &labels)
        };
        self.gauge(&key)
    }

    /// The handles of `outcome` for (`route`, the method and scheme of `slot`).
    pub(crate) fn outcome_handles(
        &self,
        route: &str,
        slot: usize,
        outcome: crate::classify::Outcome,
    ) -> OutcomeHandles {
        let n = &self.naming;
        if self.rpc {
            let mut labels: Vec<(&'static str, &str)> =
                vec![(n.rpc_system_key(), "grpc"), (n.rpc_method_key(), route)];
            if let Some(code) = outcome.grpc {
                labels.push((n.rpc_status_key(), code.as_str()));
            }
            if let Some(e) = &outcome.error {
                labels.push((n.rpc_error_key(), e.as_str()));
            }
            return OutcomeHandles {
                duration: self.histogram(&self.key(n.rpc_duration_shared(), &labels)),
                request_size: None,
                response_size: None,
                total: None,
                time_to_head: None,
                more: false,
            };
        }
        let (method, scheme) = self.slot_labels(slot);
        let status = match (n.scheme(), outcome.status, outcome.error) {
            (_, Some(status), _) => Some((status, self.status_classes)),
            // A stand-in, not a status the server sent: never a class.
            (names::NamingScheme::AxumPrometheus, None, Some(e)) => {
                Some((e.fallback_status(), false))
            }
            _ => None,
        };
        let mut labels: Vec<(&'static str, &str)> =
            vec![(n.method_key(), method), (n.route_key(), route)];
        if let Some((status, class)) = &status {
            let value = if *class {
                status_class(*status)
            } else {
                status.as_str()
            };
            labels.push((n.status_key(), value));
        }
        let error = outcome.error;
        if let (Some(key), Some(e)) = (n.error_key(), &error) {
            let value = match e {
                crate::classify::ErrorType::Status(status) if self.status_classes => {
                    status_class(*status)
                }
                _ => e.as_str(),
            };
            labels.push((key, value));
        }
        if let Some(key) = n.scheme_key() {
            labels.push((key, scheme));
        }
        if let (Some(key), Some(version)) = (n.protocol_version_key(), outcome.version) {
            labels.push((key, version.label));
        }
        let sizes = |name: Option<&metrics::SharedString>| {
            name.filter(|_| self.body_sizes)
                .map(|name| self.histogram(&self.key(name, &labels)))
        };
        let request_size = sizes(n.request_size_shared());
        let response_size = sizes(n.response_size_shared());
        let total = n
            .requests_total_shared()
            .map(|name| self.counter(&self.key(name, &labels)));
        OutcomeHandles {
            duration: self.histogram(&self.key(n.duration_shared(), &labels)),
            more: request_size.is_some() || response_size.is_some() || total.is_some(),
            request_size,
            response_size,
            total,
            time_to_head: (self.time_to_head
                && matches!(error, None | Some(crate::classify::ErrorType::Status(_))))
            .then(|| self.histogram(&self.key(n.time_to_head_shared(), &labels))),
        }
    }
}

#[cfg(test)]
impl Registrar {
    /// A registrar with the default settings.
    pub(crate) fn for_tests(source: Source) -> Self {
        Self {
            source,
            naming: Naming::default(),
            time_to_head: false,
            static_labels: Vec::new(),
            exemplars: false,
            log: None,
            methods: KnownMethods::default(),
            default_scheme: "http",
            body_sizes: false,
            status_classes: false,
            clock: crate::clock::Clock::Std,
            rpc: false,
        }
    }
}
