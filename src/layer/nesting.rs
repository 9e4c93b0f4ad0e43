//! The rule that records a request once per recorder.
//!
//! A request can pass through more than one routemeter layer: a router with its own layer
//! nested in (or merged into) an app that has one too, or a layer stacked twice. Layers that
//! record into the same recorder would count it twice, so the outermost one records it and the
//! others pass it through untouched.
//!
//! While a layer calls and polls its inner service, it notes on the thread ([`Active`]) its
//! recorder and the request's key ([`request_key`], which comes from the route label's
//! look-up). A layer that finds a note of its own recorder there is nested in another, or
//! serves a request the handler of another sends in process. The first time that happens for
//! a recorder, the layers into it start marking the requests they record ([`Measured`], an
//! entry in the request's extensions, which moves and is cloned with the request and which a
//! new request lacks), and from then on an inner layer passes a request through when it carries
//! the mark and is on the route the outer layer noted ([`route_key`]): a copy made on the way
//! (a retry) is the same request, one a handler builds from a copy of its own is routed anew.
//! A request without the mark, and every request before the recorder is found nested, is
//! decided by its key: equal keys pass through (so in the first such request of the process,
//! a copy made by a middleware between the layers counts twice, once). Layers into recorders that never nest pay for the note alone: no
//! mark, no allocation. Layers into different recorders (two test meters, say) each record.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use http::Request;

/// What names a request while it moves from layer to layer: where axum's `MatchedPath` sits
/// in its extensions (routing puts it there once; moving the request or rewriting its URI, as
/// `nest` does, leaves it in place) with the template it holds, else [`unmatched_key`].
#[inline]
pub(crate) fn request_key<B>(req: &Request<B>) -> usize {
    #[cfg(feature = "axum")]
    if let Some(matched) = req.extensions().get::<axum::extract::MatchedPath>() {
        return crate::route::matched_key(matched);
    }
    unmatched_key(req)
}

/// The key of a request without `MatchedPath`: where its first header sits (the header map's
/// storage, which stays in place as the request moves), else its path's bytes, mixed with a
/// hash of its path ([`path_hash`]), so that a new request at a freed one's address differs
/// unless it has the same path.
#[inline]
pub(crate) fn unmatched_key<B>(req: &Request<B>) -> usize {
    let at = match req.headers().iter().next() {
        Some((_, value)) => std::ptr::from_ref(value).addr(),
        None => req.uri().path().as_ptr().addr(),
    };
    at.rotate_left(17) ^ path_hash(req)
}

/// A hash of a request's path (FNV-1a).
fn path_hash<B>(req: &Request<B>) -> usize {
    let hash = req
        .uri()
        .path()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    hash as usize
}

/// The route of a request, in both the forms a layer may have noted: the template axum matched
/// (where its text sits, shared by every request of the route and by copies of this one), else
/// 0; and a hash of its path. An outer layer notes the first it has, an inner one compares
/// both, since an outer layer outside axum's routing has no template.
pub(crate) fn route_key<B>(req: &Request<B>) -> (usize, usize) {
    let path = path_hash(req);
    #[cfg(feature = "axum")]
    if let Some(matched) = req.extensions().get::<axum::extract::MatchedPath>() {
        return (matched.as_str().as_ptr().addr(), path);
    }
    (path, path)
}

/// Whether an outer layer into `destination` records `req` (see the module docs).
#[cold]
pub(crate) fn measured_outside<B>(destination: usize, req: &Request<B>) -> bool {
    if !Active::has_destination(destination) {
        return false;
    }
    if Nesting::marks(destination) && req.extensions().get::<Measured>().is_some() {
        // A marked request on the route an outer layer noted: that request, or a copy of it
        // made on its way (a retry). A request the handler builds from a copy of its own is
        // routed anew, so its route differs, and it is counted.
        let (template, path) = route_key(req);
        if Active::has_route(destination, template) || Active::has_route(destination, path) {
            return true;
        }
    }
    Nesting::found(destination);
    // An outer layer outside axum's routing saw no `MatchedPath`: its key is the other one.
    Active::has(destination, request_key(req)) || Active::has(destination, unmatched_key(req))
}

/// The mark of a request that a layer records, once its recorder has nested layers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Measured;

/// The recorders whose layers have been found nested, so that their requests are marked.
pub(crate) struct Nesting;

/// How many recorders with nested layers are told apart; more are taken as nested too.
const NESTING: usize = 64;

static NESTED: [AtomicUsize; NESTING] = [const { AtomicUsize::new(0) }; NESTING];

/// Set once more than [`NESTING`] recorders were found nested: every layer marks.
static ALL_NESTED: AtomicBool = AtomicBool::new(false);

impl Nesting {
    /// Whether layers into `destination` mark the requests they record.
    #[inline]
    pub(crate) fn marks(destination: usize) -> bool {
        // The first slot is empty until some recorder has nested layers: most apps stop here.
        let first = NESTED[0].load(Ordering::Relaxed);
        first != 0 && Self::listed(destination, first)
    }

    #[cold]
    fn listed(destination: usize, first: usize) -> bool {
        first == destination
            || ALL_NESTED.load(Ordering::Relaxed)
            || NESTED[1..]
                .iter()
                .map(|n| n.load(Ordering::Relaxed))
                .take_while(|&n| n != 0)
                .any(|n| n == destination)
    }

    /// Notes that layers into `destination` nest.
    #[cold]
    fn found(destination: usize) {
        for slot in &NESTED {
            match slot.compare_exchange(0, destination, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(taken) if taken == destination => return,
                Err(_) => {}
            }
        }
        ALL_NESTED.store(true, Ordering::Relaxed);
    }
}

/// How many layers deep [`Active`] keeps notes; a layer deeper than that is not noted, so a
/// layer under it into the same recorder records too (counting twice, never losing a request).
const DEPTH: usize = 4;

/// What a layer notes of the request it records: its key ([`request_key`]) and, once the
/// layer marks its requests, its route ([`route_key`]; 0 otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Note {
    pub(crate) request: usize,
    pub(crate) route: usize,
}

impl Note {
    /// The note of a request a layer does not record.
    pub(crate) const NONE: Self = Self {
        request: 0,
        route: 0,
    };
}

/// The notes of one thread: (recorder, request) of each layer calling or polling its inner
/// service now, outermost first.
struct Notes {
    at: [Cell<(usize, Note)>; DEPTH],
    len: Cell<usize>,
}

thread_local! {
    static ACTIVE: Notes = const {
        Notes { at: [const { Cell::new((0, Note::NONE)) }; DEPTH], len: Cell::new(0) }
    };
}

/// Notes a layer's recorder and request on this thread while its inner service is called or
/// polled; the note goes when this is dropped (also when that call or poll panics).
pub(crate) struct Active(bool);

impl Active {
    /// Notes `destination` (see [`Meter::destination`](crate::registry::meter::Meter)) and `request`
    /// (see [`request_key`]).
    #[inline]
    pub(crate) fn enter(destination: usize, request: Note) -> Self {
        ACTIVE.with(|notes| {
            let len = notes.len.get();
            match notes.at.get(len) {
                Some(note) => {
                    note.set((destination, request));
                    notes.len.set(len + 1);
                    Self(true)
                }
                None => Self(false),
            }
        })
    }

    /// Whether any layer is calling or polling its inner service on this thread now.
    #[inline]
    pub(crate) fn any() -> bool {
        ACTIVE.with(|notes| notes.len.get() != 0)
    }

    /// Whether a layer into `destination` is calling or polling its inner service on this
    /// thread now.
    #[cold]
    fn has_destination(destination: usize) -> bool {
        ACTIVE.with(|notes| {
            let len = notes.len.get().min(DEPTH);
            notes.at[..len]
                .iter()
                .any(|note| note.get().0 == destination)
        })
    }

    /// Whether a layer into `destination` is calling or polling its inner service with
    /// `request` on this thread now.
    #[cold]
    fn has(destination: usize, request: usize) -> bool {
        ACTIVE.with(|notes| {
            let len = notes.len.get().min(DEPTH);
            notes.at[..len].iter().any(|note| {
                let (d, n) = note.get();
                d == destination && n.request == request
            })
        })
    }

    /// Whether a layer into `destination` that marks its requests is calling or polling its
    /// inner service with a request on `route` on this thread now.
    #[cold]
    fn has_route(destination: usize, route: usize) -> bool {
        route != 0
            && ACTIVE.with(|notes| {
                let len = notes.len.get().min(DEPTH);
                notes.at[..len].iter().any(|note| {
                    let (d, n) = note.get();
                    d == destination && n.route == route
                })
            })
    }
}

impl Drop for Active {
    #[inline]
    fn drop(&mut self) {
        if self.0 {
            ACTIVE.with(|notes| notes.len.set(notes.len.get().saturating_sub(1)));
        }
    }
}
