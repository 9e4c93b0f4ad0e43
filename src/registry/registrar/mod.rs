//! How series are registered with a recorder: which recorder, under which names, with which
//! labels, and the descriptions sent with them.
//!
//! A [`Registrar`] holds a side's naming settings and its recorder source. It is asked only
//! when a label set is seen for the first time; the handles it returns are kept by the route
//! table and reused by every later request. What it registers depends on its [`Family`]: the
//! series of HTTP requests ([`http`]) or of gRPC calls ([`grpc`]), each in a file of its own.

use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder};

use crate::classify::{KnownMethods, Outcome};
use crate::names::Naming;
use crate::registry::request_label::RequestLabel;
use crate::route::RouteRequest;

mod grpc;
mod http;
mod identity;
#[cfg(all(test, not(loom)))]
mod tests;

pub(crate) use http::HttpSeries;
#[cfg(feature = "prometheus")]
pub(crate) use identity::PROMETHEUS;
#[cfg(feature = "testing")]
pub(crate) use identity::TESTING;
#[cfg(any(feature = "prometheus", feature = "testing"))]
pub(crate) use identity::identify_with;
pub(crate) use identity::{FACADE, lasting, recorder_identity};

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

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Global => f.write_str("Global"),
            Self::Explicit(_) => f.write_str("Explicit(..)"),
        }
    }
}

/// Which series a registrar registers.
#[derive(Clone, Debug)]
pub(crate) enum Family {
    /// HTTP requests': `http.server.*`, with the optional series its settings ask for.
    Http(HttpSeries),
    /// gRPC calls': `rpc.server.*`.
    Grpc,
}

/// Registers series: knows the recorder, the names, the constant labels and the family.
#[derive(Debug)]
pub(crate) struct Registrar {
    pub(crate) source: Source,
    pub(crate) naming: Naming,
    pub(crate) static_labels: Vec<Label>,
    /// The methods with a label value of their own.
    pub(crate) methods: KnownMethods,
    /// `url.scheme` of requests whose URI names none.
    pub(crate) default_scheme: &'static str,
    pub(crate) family: Family,
    /// Labels whose values come from each request (shared by the HTTP and gRPC sides).
    pub(crate) request_labels: Arc<[RequestLabel]>,
}

/// The `url.scheme` values, by the index a slot carries.
const SCHEMES: [&str; 2] = ["http", "https"];

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

impl OutcomeHandles {
    /// Handles with a duration histogram only.
    fn duration(duration: Histogram) -> Self {
        Self {
            duration,
            request_size: None,
            response_size: None,
            total: None,
            time_to_head: None,
            more: false,
        }
    }
}

impl Registrar {
    /// The series slot of a request within its route: its method, and its URL scheme when the
    /// naming has that label.
    #[inline]
    pub(crate) fn slot<B>(&self, req: &::http::Request<B>) -> usize {
        let method = self.methods.slot(req.method());
        if self.naming.scheme_key().is_some() && self.is_https(req.uri()) {
            method + self.methods.slots()
        } else {
            method
        }
    }

    /// Whether a request to `uri` gets `url.scheme="https"`.
    #[inline]
    fn is_https(&self, uri: &::http::Uri) -> bool {
        // Most requests carry no scheme (HTTP/1.1 sends a path only): one test settles them.
        match uri.scheme() {
            None => self.default_scheme == "https",
            Some(_) => crate::classify::url_scheme(uri, self.default_scheme) == "https",
        }
    }

    /// What the request labels add to a request's slot: each label's value index, in the
    /// place its radix gives it above the method and scheme.
    pub(crate) fn label_part(&self, req: &RouteRequest<'_>) -> usize {
        self.with_labels(0, self.request_labels.iter().map(|label| label.index(req)))
    }

    /// `base` with each request label's value index of `indices` (in label order) in its
    /// place: the one encoding of a slot, which [`label_indices`](Self::label_indices) reads.
    fn with_labels(&self, base: usize, indices: impl Iterator<Item = usize>) -> usize {
        let mut radix = self.base_slots();
        let mut slot = base;
        for (label, i) in self.request_labels.iter().zip(indices) {
            slot += radix * i;
            radix *= label.indices();
        }
        slot
    }

    /// The slots of the method and scheme alone.
    fn base_slots(&self) -> usize {
        self.methods.slots() * SCHEMES.len()
    }

    /// How many slots a route has: one per method, scheme and value of each request label.
    pub(crate) fn slots(&self) -> usize {
        let labels: usize = self
            .request_labels
            .iter()
            .map(RequestLabel::indices)
            .product();
        self.base_slots() * labels
    }

    /// The slot that holds what is beyond the series budget: `_OTHER`, default scheme, and
    /// `_OTHER` for each request label (their values are not told apart there, as the method
    /// is not; `__overflow__` of a request label means its own budget).
    pub(crate) fn fold_slot(&self) -> usize {
        let scheme = usize::from(self.default_scheme == "https");
        let base = scheme * self.methods.slots() + self.methods.other();
        self.with_labels(base, self.request_labels.iter().map(RequestLabel::other))
    }

    /// The method and scheme label values of `slot`.
    pub(crate) fn slot_labels(&self, slot: usize) -> (&'static str, &'static str) {
        let n = self.methods.slots();
        let base = slot % self.base_slots();
        (self.methods.label(base % n), SCHEMES[(base / n).min(1)])
    }

    /// Each request label's value index in `slot`.
    fn label_indices(&self, slot: usize) -> impl Iterator<Item = (&RequestLabel, usize)> {
        let mut rest = slot / self.base_slots();
        self.request_labels.iter().map(move |label| {
            let i = rest % label.indices();
            rest /= label.indices();
            (label, i)
        })
    }

    /// The request labels' names and values in `slot` (none without request labels).
    pub(crate) fn request_label_values(&self, slot: usize) -> Vec<(&str, &str)> {
        self.label_indices(slot)
            .map(|(label, i)| (&**label.name(), label.value(i)))
            .collect()
    }

    /// Which request labels `slot` holds past their budget, as bits in label order.
    pub(crate) fn overflow_mask(&self, slot: usize) -> u64 {
        self.label_indices(slot)
            .enumerate()
            .filter(|(_, (label, i))| *i == label.overflow())
            .fold(0, |mask, (bit, _)| mask | 1 << bit.min(63))
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&dyn Recorder) -> T) -> T {
        match &self.source {
            Source::Global => metrics::with_recorder(f),
            Source::Explicit(r) => f(r.as_ref()),
        }
    }

    /// The key of `name` with the constant labels and then `extra`.
    pub(crate) fn key(&self, name: &metrics::SharedString, extra: &[(&'static str, &str)]) -> Key {
        let mut labels = Vec::with_capacity(self.static_labels.len() + extra.len());
        labels.extend(self.static_labels.iter().cloned());
        labels.extend(extra.iter().map(|(k, v)| Label::new(*k, (*v).to_owned())));
        Key::from_parts(name.clone(), labels)
    }

    /// The key of `name` with the constant labels, then `extra`, then the request labels'
    /// values in `slot`.
    pub(crate) fn key_at(
        &self,
        name: &metrics::SharedString,
        extra: &[(&'static str, &str)],
        slot: usize,
    ) -> Key {
        if self.request_labels.is_empty() {
            return self.key(name, extra);
        }
        let mut labels =
            Vec::with_capacity(self.static_labels.len() + extra.len() + self.request_labels.len());
        labels.extend(self.static_labels.iter().cloned());
        labels.extend(extra.iter().map(|(k, v)| Label::new(*k, (*v).to_owned())));
        labels.extend(self.label_indices(slot).map(|(label, i)| {
            Label::new(
                metrics::SharedString::from(Arc::clone(label.name())),
                label.value(i).to_owned(),
            )
        }));
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

    /// Whether this registrar's series are HTTP requests'.
    pub(crate) fn is_http(&self) -> bool {
        matches!(self.family, Family::Http(_))
    }

    /// The label of requests that match no route (no recognised method, for gRPC).
    pub(crate) fn unmatched_label(&self) -> &'static str {
        match self.family {
            Family::Http(_) => crate::route::UNMATCHED_ROUTE,
            Family::Grpc => crate::grpc::OTHER_RPC_METHOD,
        }
    }

    /// Sends `# HELP` texts and units of every series this layer emits.
    pub(crate) fn describe(&self) {
        self.with(|r| match &self.family {
            Family::Http(series) => series.describe(&self.naming, r),
            Family::Grpc => grpc::describe(&self.naming, r),
        });
    }

    /// The in-flight gauge of (`route`, the method and scheme of `slot`).
    pub(crate) fn active_gauge(&self, route: &str, slot: usize) -> Gauge {
        let key = match &self.family {
            Family::Http(_) => http::active_key(self, route, slot),
            Family::Grpc => grpc::active_key(self, route, slot),
        };
        self.gauge(&key)
    }

    /// The handles of `outcome` for (`route`, the method and scheme of `slot`).
    pub(crate) fn outcome_handles(
        &self,
        route: &str,
        slot: usize,
        outcome: Outcome,
    ) -> OutcomeHandles {
        match &self.family {
            Family::Http(series) => series.outcome_handles(self, route, slot, outcome),
            Family::Grpc => grpc::outcome_handles(self, route, slot, outcome),
        }
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

#[cfg(test)]
impl Registrar {
    /// A registrar of HTTP series with the default settings.
    pub(crate) fn for_tests(source: Source) -> Self {
        Self {
            source,
            naming: Naming::default(),
            static_labels: Vec::new(),
            methods: KnownMethods::default(),
            default_scheme: "http",
            family: Family::Http(HttpSeries::default()),
            request_labels: Arc::new([]),
        }
    }
}
