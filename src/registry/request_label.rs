//! Labels whose values come from the request (a tenant from a header, a plan put in the
//! extensions by authentication middleware), each within a budget of distinct values.
//!
//! A [`RequestLabel`] interns the values it sees in an insert-only arena, so the request path
//! finds a known value by comparing it with the few already seen, without a lock. A value
//! beyond the budget is recorded as [`OVERFLOW_ROUTE`] (`__overflow__`) and counted; a value
//! the function does not give, or one that is refused (empty, longer than
//! [`MAX_REQUEST_LABEL_VALUE_LEN`] bytes, with a control character, or one of those two
//! stand-ins), as [`OTHER_METHOD`] (`_OTHER`). So a label takes at most its budget plus two
//! values, and its index in a request's slot (see [`Registrar::slot`]) is one of them.
//!
//! [`Registrar::slot`]: crate::registry::registrar::Registrar::slot

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, PoisonError};

use crate::sync::{AtomicBool, AtomicUsize, Mutex, Ordering};

use crate::classify::OTHER_METHOD;
use crate::registry::arena::Arena;
use crate::route::{OVERFLOW_ROUTE, RouteRequest};

/// The longest value a request label keeps, in bytes.
pub const MAX_REQUEST_LABEL_VALUE_LEN: usize = 128;

/// A budget of distinct values for a request label that suits most: a handful of tenants,
/// plans or API versions, and what is beyond them counted as overflow.
pub const DEFAULT_REQUEST_LABEL_VALUES: usize = 10;

/// The largest budget of distinct values a request label takes. Each value multiplies the
/// series of every route and method, and each route keeps a slot for every combination.
pub const MAX_REQUEST_LABEL_VALUES: usize = 64;

/// A request label's value function, as the layer keeps it.
pub(crate) type ValueFn = Arc<dyn for<'a> Fn(&RouteRequest<'a>) -> Option<&'a str> + Send + Sync>;

/// One label whose value each request gives, with its budget and the values seen so far.
pub(crate) struct RequestLabel {
    name: Arc<str>,
    max_values: usize,
    value: ValueFn,
    /// The values seen, in the order they were first seen.
    values: Arena<Box<str>>,
    /// How many of `values` are published (each is in the arena before it counts).
    seen: AtomicUsize,
    /// Serialises adding a value, so each gets one index.
    adding: Mutex<()>,
    /// Whether the value function has panicked (and that was logged).
    panicked: AtomicBool,
}

impl std::fmt::Debug for RequestLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLabel")
            .field("name", &self.name)
            .field("max_values", &self.max_values)
            .field("seen", &self.seen.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RequestLabel {
    /// A label `name` with at most `max_values` values from `value`.
    pub(crate) fn new(name: &str, max_values: usize, value: ValueFn) -> Self {
        Self {
            name: name.into(),
            max_values,
            value,
            values: Arena::default(),
            seen: AtomicUsize::new(0),
            adding: Mutex::new(()),
            panicked: AtomicBool::new(false),
        }
    }

    /// The label's name.
    pub(crate) fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// How many indices the label's values take: its budget, the overflow and `_OTHER`.
    pub(crate) fn indices(&self) -> usize {
        self.max_values + 2
    }

    /// The index of values beyond the budget.
    pub(crate) fn overflow(&self) -> usize {
        self.max_values
    }

    /// The index of no value, or a refused one (`_OTHER`).
    pub(crate) fn other(&self) -> usize {
        self.max_values + 1
    }

    /// The index of `req`'s value, interning it while the budget lasts. A value function
    /// that panics gives no value (`_OTHER`) rather than lose the request, and a warning
    /// names the label, once per label.
    #[inline]
    pub(crate) fn index(&self, req: &RouteRequest<'_>) -> usize {
        let value = match std::panic::catch_unwind(AssertUnwindSafe(|| (self.value)(req))) {
            Ok(value) => value,
            Err(_) => {
                self.warn_panicked();
                None
            }
        };
        match value.filter(|v| acceptable(v)) {
            Some(value) => self.find(value).unwrap_or_else(|| self.add(value)),
            None => self.other(),
        }
    }

    #[cold]
    fn warn_panicked(&self) {
        if !self.panicked.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                label = &*self.name,
                "the value function of a request label panicked: its requests are recorded as _OTHER"
            );
        }
    }

    /// The index of a value seen before.
    #[inline]
    fn find(&self, value: &str) -> Option<usize> {
        let seen = self.seen.load(Ordering::Acquire);
        (0..seen).find(|&i| {
            u32::try_from(i)
                .ok()
                .and_then(|i| self.values.get(i))
                .is_some_and(|v| **v == *value)
        })
    }

    /// Interns a value not seen before, or gives the overflow index when the budget is spent.
    #[cold]
    fn add(&self, value: &str) -> usize {
        // Once the budget is spent no value is added: a label with many values then takes
        // no lock.
        if self.seen.load(Ordering::Acquire) >= self.max_values {
            return self.overflow();
        }
        let _one = self.adding.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = self.find(value) {
            return i;
        }
        let seen = self.seen.load(Ordering::Acquire);
        if seen >= self.max_values || self.values.push(value.into()).is_err() {
            return self.overflow();
        }
        self.seen.store(seen + 1, Ordering::Release);
        seen
    }

    /// The label value of index `i`.
    pub(crate) fn value(&self, i: usize) -> &str {
        if i == self.overflow() {
            return OVERFLOW_ROUTE;
        }
        u32::try_from(i)
            .ok()
            .filter(|_| i < self.seen.load(Ordering::Acquire))
            .and_then(|i| self.values.get(i))
            .map_or(OTHER_METHOD, |v| v)
    }
}

/// Whether a request label keeps `value`: not empty, at most
/// [`MAX_REQUEST_LABEL_VALUE_LEN`] bytes, without control characters, and not one of the
/// stand-ins for what it does not keep.
fn acceptable(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_LABEL_VALUE_LEN
        && !value.chars().any(char::is_control)
        && value != OVERFLOW_ROUTE
        && value != OTHER_METHOD
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn tenant() -> RequestLabel {
        RequestLabel::new(
            "tenant",
            3,
            Arc::new(|req: &RouteRequest<'_>| {
                req.headers().get("x-tenant").and_then(|v| v.to_str().ok())
            }),
        )
    }

    fn with(value: &[u8]) -> http::Request<()> {
        http::Request::builder()
            .header("x-tenant", http::HeaderValue::from_bytes(value).unwrap())
            .body(())
            .unwrap()
    }

    #[test]
    fn values_within_the_budget_then_overflow_and_refusals() {
        let label = tenant();
        let index = |v: &[u8]| label.index(&RouteRequest::new(&with(v)));
        assert_eq!(
            [index(b"a"), index(b"b"), index(b"a"), index(b"c")],
            [0, 1, 0, 2]
        );
        assert_eq!(index(b"d"), label.overflow());
        assert_eq!(index(b"a"), 0);
        let other = label.max_values + 1;
        let long = vec![b'x'; MAX_REQUEST_LABEL_VALUE_LEN + 1];
        for refused in [
            &b""[..],
            b"a\tb",
            b"__overflow__",
            b"_OTHER",
            &long,
            b"\xff\xfe",
        ] {
            assert_eq!(index(refused), other, "{refused:?}");
        }
        let no_header = http::Request::new(());
        assert_eq!(label.index(&RouteRequest::new(&no_header)), other);
        let values: Vec<_> = (0..label.indices()).map(|i| label.value(i)).collect();
        assert_eq!(values, ["a", "b", "c", "__overflow__", "_OTHER"]);
        assert_eq!(
            index(&[b'y'; MAX_REQUEST_LABEL_VALUE_LEN]),
            label.overflow()
        );
    }

    #[test]
    fn a_panicking_value_function_gives_no_value() {
        let label = RequestLabel::new(
            "tenant",
            3,
            Arc::new(|req: &RouteRequest<'_>| {
                let value = req.headers().get("x-tenant")?.to_str().ok()?;
                assert!(value != "boom", "the value function panics on boom");
                Some(value)
            }),
        );
        let index = |v: &[u8]| label.index(&RouteRequest::new(&with(v)));
        assert_eq!(index(b"a"), 0);
        assert_eq!(index(b"boom"), label.max_values + 1);
        assert!(label.panicked.load(Ordering::Relaxed));
        assert_eq!(index(b"b"), 1);
    }

    #[test]
    fn racing_first_sights_of_one_value_get_one_index() {
        let label = Arc::new(tenant());
        let indices: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let label = &label;
                    s.spawn(move || {
                        let v = if i % 2 == 0 { &b"even"[..] } else { b"odd" };
                        label.index(&RouteRequest::new(&with(v)))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let seen = label.seen.load(Ordering::Acquire);
        assert_eq!(seen, 2);
        for (i, index) in indices.iter().enumerate() {
            assert_eq!(label.value(*index), if i % 2 == 0 { "even" } else { "odd" });
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::model;
    use loom::thread;

    fn label(max_values: usize) -> crate::sync::Arc<RequestLabel> {
        crate::sync::Arc::new(RequestLabel::new(
            "tenant",
            max_values,
            Arc::new(|req: &RouteRequest<'_>| {
                req.headers().get("x-tenant").and_then(|v| v.to_str().ok())
            }),
        ))
    }

    fn index(label: &RequestLabel, value: &'static str) -> usize {
        let req = http::Request::builder()
            .header("x-tenant", value)
            .body(())
            .unwrap();
        label.index(&RouteRequest::new(&req))
    }

    /// Proves: two values racing for a label's last place, one gets it and the other is
    /// overflow; every later request of the kept value finds its index, and the index names it.
    #[test]
    fn loom_two_values_race_for_the_last_place() {
        model(|| {
            let label = label(1);
            let other = {
                let label = crate::sync::Arc::clone(&label);
                thread::spawn(move || index(&label, "a"))
            };
            let b = index(&label, "b");
            let a = other.join().unwrap();
            assert!((a == 0) != (b == 0), "one place, two values: {a} {b}");
            assert!(a == label.overflow() || b == label.overflow());
            let kept = if a == 0 { "a" } else { "b" };
            assert_eq!(label.value(0), kept);
            assert_eq!(index(&label, kept), 0);
        });
    }

    /// Proves: one value seen first by two requests at once gets one index, not two places.
    #[test]
    fn loom_one_value_seen_twice_takes_one_place() {
        model(|| {
            let label = label(2);
            let other = {
                let label = crate::sync::Arc::clone(&label);
                thread::spawn(move || index(&label, "a"))
            };
            let mine = index(&label, "a");
            assert_eq!(other.join().unwrap(), mine);
            assert_eq!(label.seen.load(Ordering::Acquire), 1);
            assert_eq!(index(&label, "b"), 1);
        });
    }
}
