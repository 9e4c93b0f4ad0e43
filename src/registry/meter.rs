//! A layer's shared state: its settings, how a request is matched to its series, and the
//! series tables of every recorder the layer has recorded into.
//!
//! A request is located once, as it enters: excluded paths first, then gRPC calls (when the
//! layer recognises them), then the route label ([`crate::route`]) and the method and scheme
//! slot. What it gets is a [`Located`]: small indices that stay valid as long as the meter, so a
//! request in flight names its series without holding a reference to it.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::grpc::GrpcMethods;
use crate::registry::arena::Arena;
use crate::registry::located::Located;
use crate::registry::recording::Recording;
use crate::registry::registrar::{FACADE, Registrar, Source};
use crate::registry::series::MethodSeries;
use crate::registry::table::{Limits, Table};
use crate::route::{RouteFn, RouteRequest};

/// The tables of one registrar (the HTTP side or the gRPC side), one per lasting recorder.
///
/// A layer on the global recorder follows the `metrics` facade: the no-op recorder before one
/// is installed, then the global one, each get a table of their own the first time a request
/// is recorded into them, kept for the layer's life; the one used last is tried first. A
/// thread's local recorder gets none: it can be dropped and another put at its address, so
/// each request recorded into one registers its series afresh, in a table of its own
/// ([`Recorders::scoped`]), which goes with the request (see [`crate::registry::registrar::lasting`]).
pub(crate) struct Recorders {
    pub(crate) registrar: Registrar,
    /// How this side's requests are recorded.
    pub(crate) recording: Recording,
    /// The table of the recorder of the moment the layer was built (index 0).
    first: Table,
    /// Tables of recorders seen later (index 1 and up).
    later: Arena<Table>,
    /// The index of the table used last.
    hint: AtomicU32,
    /// Serialises adding a table, so each recorder gets one.
    adding: Mutex<()>,
    excluded: Box<[Box<str>]>,
    limits: Limits,
}

impl Recorders {
    fn new(
        (registrar, recording): (Registrar, Recording),
        excluded: Box<[Box<str>]>,
        limits: Limits,
    ) -> Self {
        // The recorder of the moment gets its table (descriptions, the overflow counter) now,
        // kept only when that recorder lasts.
        registrar.describe();
        let tag = registrar.recorder_tag();
        let tag = if registrar.lasting(tag) {
            tag
        } else {
            NO_RECORDER
        };
        let first = Table::new(tag, &registrar, &excluded, limits);
        Self {
            registrar,
            recording,
            first,
            later: Arena::default(),
            hint: AtomicU32::new(0),
            adding: Mutex::new(()),
            excluded,
            limits,
        }
    }

    /// The table of the recorder handles come from now, and its index.
    #[inline]
    pub(crate) fn current(&self) -> Option<(u32, &Table)> {
        if let Source::Explicit(_) = self.registrar.source {
            return Some((0, &self.first));
        }
        let tag = self.registrar.recorder_tag();
        if self.first.tag == tag {
            return Some((0, &self.first));
        }
        let hint = self.hint.load(Ordering::Relaxed);
        match self.table(hint) {
            Some(table) if table.tag == tag => Some((hint, table)),
            _ => self.find_or_add(tag),
        }
    }

    #[cold]
    fn find_or_add(&self, tag: usize) -> Option<(u32, &Table)> {
        if !self.registrar.lasting(tag) {
            return None;
        }
        let find = || {
            (1u32..)
                .map_while(|i| self.table(i).map(|t| (i, t)))
                .find(|(_, t)| t.tag == tag)
        };
        let found = match find() {
            Some(found) => Some(found),
            None => {
                let _one = self.adding.lock().unwrap_or_else(PoisonError::into_inner);
                match find() {
                    Some(found) => Some(found),
                    None => {
                        self.registrar.describe();
                        let table = Table::new(tag, &self.registrar, &self.excluded, self.limits);
                        let index = self.later.push(table).ok()? + 1;
                        self.table(index).map(|t| (index, t))
                    }
                }
            }
        };
        if let Some((index, _)) = found {
            self.hint.store(index, Ordering::Relaxed);
        }
        found
    }

    /// A table of its own for one request, when the recorder of the moment is a thread's
    /// local one (which gets no lasting table); `None` for any other recorder.
    #[cold]
    pub(crate) fn scoped(&self) -> Option<Box<Table>> {
        let tag = self.registrar.recorder_tag();
        if self.registrar.lasting(tag) {
            return None;
        }
        self.registrar.describe();
        Some(Box::new(Table::new(
            NO_RECORDER,
            &self.registrar,
            &self.excluded,
            self.limits,
        )))
    }

    /// The table at `index`.
    #[inline]
    pub(crate) fn table(&self, index: u32) -> Option<&Table> {
        match index {
            0 => Some(&self.first),
            i => self.later.get(i - 1),
        }
    }
}

/// The tag of a table no recorder matches: the first table when the layer was built under a
/// local recorder, and the tables of single requests. No recorder is at the last address.
const NO_RECORDER: usize = usize::MAX;

/// The gRPC side of a layer: the methods it recognises and their tables.
pub(crate) struct Grpc {
    pub(crate) methods: GrpcMethods,
    pub(crate) recorders: Recorders,
}

/// Hints kept per layer: services beyond this many share them.
const HINTS: usize = 256;

/// The series the last request through one service was recorded in, as
/// `VALID | table << 32 | series` (HTTP side only).
///
/// Under axum's `Router::layer` each route's method gets a service of its own, so nearly every
/// request is recorded where the one before it was. A hint is only a guess: it is used when
/// that series has the request's route label and method slot, and otherwise the request takes
/// the full look-up (and leaves its own series as the hint).
struct Hint(AtomicU64);

const VALID: u64 = 1 << 63;

/// Everything a layer's services share.
pub(crate) struct Meter {
    pub(crate) http: Recorders,
    pub(crate) grpc: Option<Box<Grpc>>,
    route_fn: Option<RouteFn>,
    /// Paths (and route labels) that are not recorded.
    excluded: Box<[Box<str>]>,
    hints: Box<[Hint]>,
    next_hint: AtomicU32,
    /// Which recorder this layer records into, as [`crate::layer::service`] tells layers apart: the
    /// address of an explicit recorder (which this meter keeps alive), or 1 for the facade's.
    pub(crate) destination: usize,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter")
            .field("registrar", &self.http.registrar)
            .field("route_fn", &self.route_fn.is_some())
            .field("excluded", &self.excluded)
            .field("limits", &self.http.limits)
            .field("grpc", &self.grpc.is_some())
            .finish_non_exhaustive()
    }
}

impl Meter {
    pub(crate) fn new(
        http: (Registrar, Recording),
        grpc: Option<(Registrar, Recording, GrpcMethods)>,
        route_fn: Option<RouteFn>,
        excluded: Vec<String>,
        limits: Limits,
    ) -> Self {
        let excluded: Box<[Box<str>]> = excluded.into_iter().map(Into::into).collect();
        let grpc = grpc.map(|(registrar, recording, methods)| {
            Box::new(Grpc {
                methods,
                recorders: Recorders::new((registrar, recording), Box::default(), limits),
            })
        });
        let destination = match &http.0.source {
            Source::Explicit(recorder) => Arc::as_ptr(recorder).cast::<()>().addr(),
            Source::Global => FACADE,
        };
        Self {
            destination,
            http: Recorders::new(http, excluded.clone(), limits),
            grpc,
            route_fn,
            excluded,
            hints: (0..HINTS).map(|_| Hint(AtomicU64::new(0))).collect(),
            next_hint: AtomicU32::new(0),
        }
    }

    /// Whether requests get the default route label (no route function, no mounts).
    #[cfg(feature = "axum")]
    pub(crate) fn default_routes(&self) -> bool {
        self.route_fn.is_none()
    }

    /// The hint of a newly wrapped service.
    pub(crate) fn new_hint(&self) -> u32 {
        self.next_hint.fetch_add(1, Ordering::Relaxed) % HINTS as u32
    }

    /// The HTTP or gRPC side.
    #[inline]
    pub(crate) fn recorders(&self, grpc: bool) -> &Recorders {
        // Most requests are HTTP's: the flag settles them before the gRPC side is looked at.
        match &self.grpc {
            Some(g) if grpc => &g.recorders,
            _ => &self.http,
        }
    }

    /// Whether `req`'s path is excluded from recording.
    #[inline]
    pub(crate) fn excludes<B>(&self, req: &http::Request<B>) -> bool {
        !self.excluded.is_empty() && {
            let path = req.uri().path();
            self.excluded.iter().any(|e| **e == *path)
        }
    }

    /// Finds (registering on first sight) the series of `req`, sent through the service with
    /// `hint`; `None` when its route is excluded or no series can be had for it. Sets `key`
    /// when the look-up found what [`crate::layer::nesting::request_key`] would (see
    /// [`crate::route::default_route`]), and `labels` to what the request labels add to the
    /// slot once their functions have run (see [`Meter::locate_scoped`]).
    #[inline]
    pub(crate) fn locate<B>(
        &self,
        hint: u32,
        req: &http::Request<B>,
        key: &mut Option<usize>,
        labels: &mut Option<usize>,
    ) -> Option<(Located, &MethodSeries)> {
        self.target(req, key, labels, |grpc, label, slot| {
            if grpc {
                Self::locate_in(self.recorders(true), true, label, slot)
            } else {
                self.locate_http(hint, label, slot)
            }
        })
    }

    /// For a request whose recorder is a thread's local one: a table of its own (see
    /// [`Recorders::scoped`]) and where the request's series is in it. `labels` is what
    /// [`locate`](Self::locate) found the request labels add, so their functions run once.
    #[cold]
    pub(crate) fn locate_scoped<B>(
        &self,
        req: &http::Request<B>,
        labels: &mut Option<usize>,
    ) -> Option<(Located, Box<Table>)> {
        let grpc = self.grpc.is_some() && crate::grpc::is_grpc(req.headers());
        let recorders = self.recorders(grpc);
        let table = recorders.scoped()?;
        let series = self.target(req, &mut None, labels, |_, label, slot| {
            table.locate(&recorders.registrar, label, slot)
        })?;
        Some((Located::new(grpc, Located::SCOPED, series), table))
    }

    /// Calls `f` with what locates `req`'s series: whether it is a gRPC call, its route label
    /// (`None`: no route matched) and its slot (method, scheme, request labels).
    #[inline]
    fn target<B, T>(
        &self,
        req: &http::Request<B>,
        key: &mut Option<usize>,
        labels: &mut Option<usize>,
        mut f: impl FnMut(bool, Option<&str>, usize) -> Option<T>,
    ) -> Option<T> {
        let view = RouteRequest::new(req);
        if let Some(grpc) = &self.grpc {
            if crate::grpc::is_grpc(req.headers()) {
                let method = grpc.methods.recognise(req.uri().path());
                let registrar = &grpc.recorders.registrar;
                let slot = self.slot(registrar, 0, method, &view, labels)?;
                return f(true, method, slot);
            }
        }
        let base = self.http.registrar.slot(req);
        match &self.route_fn {
            None => {
                let (label, at) = crate::route::default_route(&view);
                *key = Some(at);
                let slot = self.slot(&self.http.registrar, base, label, &view, labels)?;
                f(false, label, slot)
            }
            Some(route_fn) => {
                let mut found = None;
                route_fn(&view, &mut |label| {
                    if let Some(slot) = self.slot(&self.http.registrar, base, label, &view, labels)
                    {
                        found = f(false, label, slot);
                    }
                });
                found
            }
        }
    }

    /// The slot of a request on `registrar`'s side with method and scheme slot `base` and
    /// route label `label`: with request labels, their values too, read only for a route
    /// that is recorded (an excluded route spends none of their budget) and once per request
    /// (`labels` keeps what they add); `None` for an excluded route.
    #[inline]
    fn slot(
        &self,
        registrar: &Registrar,
        base: usize,
        label: Option<&str>,
        view: &RouteRequest<'_>,
        labels: &mut Option<usize>,
    ) -> Option<usize> {
        if registrar.request_labels.is_empty() {
            return Some(base);
        }
        if label.is_some_and(|label| self.excluded.iter().any(|e| **e == *label)) {
            return None;
        }
        let part = *labels.get_or_insert_with(|| registrar.label_part(view));
        Some(base + part)
    }

    /// The HTTP series of `label` and `slot`: the hint's when it is that series, else found
    /// in the table (and made the hint).
    #[inline]
    fn locate_http(
        &self,
        hint: u32,
        label: Option<&str>,
        slot: usize,
    ) -> Option<(Located, &MethodSeries)> {
        let hint = self.hints.get(hint as usize)?;
        let (table_index, table) = self.http.current()?;
        let h = hint.0.load(Ordering::Relaxed);
        if h & VALID != 0 && (h >> 32) as u32 & !(1 << 31) == table_index {
            let series_index = h as u32;
            if let Some(series) = table.series(series_index) {
                // Not an overflow series: each request there is counted as folded.
                let label = label.unwrap_or(self.http.registrar.unmatched_label());
                if series.hinted && series.slot == slot && same_label(&series.route, label) {
                    return Some((Located::new(false, table_index, series_index), series));
                }
            }
        }
        let found = Self::locate_in(&self.http, false, label, slot);
        if let Some((at, _)) = &found {
            let h = VALID | u64::from(at.table()) << 32 | u64::from(at.series);
            hint.0.store(h, Ordering::Relaxed);
        }
        found
    }

    #[inline]
    fn locate_in<'a>(
        recorders: &'a Recorders,
        grpc: bool,
        label: Option<&str>,
        slot: usize,
    ) -> Option<(Located, &'a MethodSeries)> {
        let (table_index, table) = recorders.current()?;
        let series_index = table.locate(&recorders.registrar, label, slot)?;
        let series = table.series(series_index)?;
        Some((Located::new(grpc, table_index, series_index), series))
    }

    /// A meter with the default settings and its own recorder, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        let registrar = Registrar::for_tests(Source::Explicit(Arc::new(metrics::NoopRecorder)));
        Self::new(
            (registrar, Recording::default()),
            None,
            None,
            Vec::new(),
            Limits {
                max_routes: 10,
                max_series: 50,
            },
        )
    }
}

/// Whether two labels are equal, comparing short ones (most routes) without a library call.
#[inline]
fn same_label(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        // Two overlapping 8-byte words cover the whole label.
        8..=16 => word(a, 0) == word(b, 0) && word(a, a.len() - 8) == word(b, b.len() - 8),
        _ => a == b,
    }
}

#[inline]
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_ne_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::same_label;

    #[test]
    fn labels_compare_by_content() {
        let labels = [
            "",
            "/",
            "/users",
            "/users/{",
            "/users/{id}",
            "/users/{id}/posts/{pid}",
            "/users/{ix}",
        ];
        for a in labels {
            for b in labels {
                assert_eq!(same_label(a, b), a == b, "{a:?} {b:?}");
            }
        }
        assert!(!same_label("/users/{id}", "/users/{ie}"));
        assert!(!same_label("/aaaaaaaaaaaaaaa", "/aaaaaaaaaaaaaab"));
    }
}
