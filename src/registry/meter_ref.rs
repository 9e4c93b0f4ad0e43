//! A reference to a layer's shared state that, in steady state, changes hands on its thread
//! instead of counting.
//!
//! Every request holds a reference to its layer's [`Meter`] from the moment it enters until its
//! response body ends, and axum and hyper clone the service itself for every request too. With
//! a plain `Arc`, each of those is an atomic increment and decrement on one cache line that
//! every core serving the layer shares. A [`MeterRef`] keeps a few spare references per thread
//! instead: a clone takes a spare of the same meter when there is one, and a drop leaves its
//! reference as a spare. A request that starts and ends on the same thread, the usual case,
//! then touches no shared counter at all; otherwise it counts as an `Arc` would.
//!
//! Spares keep their meter alive: a layer that is dropped lives on in at most [`SPARES`]
//! references per thread, until the thread ends or other layers' requests take their places.

use std::cell::Cell;

use crate::sync::{Arc, thread_local};

use crate::registry::meter::Meter;

/// Spare references kept per thread, over all layers.
const SPARES: usize = 8;

/// A stack of spare references. Only its top is looked at: a layer's requests use their
/// spares in turn, so the top is nearly always one of theirs.
struct Spares {
    refs: [Cell<Option<Arc<Meter>>>; SPARES],
    len: Cell<usize>,
}

#[cfg(not(loom))]
thread_local! {
    static SPARE: Spares = const { Spares::empty() };
}

// loom's `thread_local!` takes no `const` initialiser.
#[cfg(loom)]
thread_local! {
    static SPARE: Spares = Spares::empty();
}

impl Spares {
    const fn empty() -> Self {
        Self {
            refs: [const { Cell::new(None) }; SPARES],
            len: Cell::new(0),
        }
    }

    /// The top spare, if it is a reference to `meter`.
    #[inline]
    fn take(&self, meter: &Arc<Meter>) -> Option<Arc<Meter>> {
        let len = self.len.get();
        let top = self.refs.get(len.checked_sub(1)?)?;
        let spare = top.take()?;
        if Arc::ptr_eq(&spare, meter) {
            self.len.set(len - 1);
            Some(spare)
        } else {
            top.set(Some(spare));
            None
        }
    }

    /// Keeps `meter` as a spare; returns what is to be dropped for real: the top spare when
    /// the stack is full (ours takes its place, so references of layers no longer in use
    /// give way), or ours when the top is ours already.
    #[inline]
    fn put(&self, meter: Arc<Meter>) -> Option<Arc<Meter>> {
        let len = self.len.get();
        if let Some(free) = self.refs.get(len) {
            free.set(Some(meter));
            self.len.set(len + 1);
            return None;
        }
        let top = &self.refs[SPARES - 1];
        match top.take() {
            Some(old) if Arc::ptr_eq(&old, &meter) => {
                top.set(Some(old));
                Some(meter)
            }
            old => {
                top.set(Some(meter));
                old
            }
        }
    }
}

/// A counted reference to a [`Meter`] whose clones and drops go through this thread's spares.
pub(crate) struct MeterRef(Option<Arc<Meter>>);

impl MeterRef {
    pub(crate) fn new(meter: Meter) -> Self {
        Self(Some(Arc::new(meter)))
    }

    #[inline]
    fn arc(&self) -> &Arc<Meter> {
        match &self.0 {
            Some(meter) => meter,
            // Emptied only in `drop`, after which nothing reads it.
            None => unreachable!("a MeterRef is empty only while it drops"),
        }
    }
}

impl std::ops::Deref for MeterRef {
    type Target = Meter;

    #[inline]
    fn deref(&self) -> &Meter {
        self.arc()
    }
}

impl Clone for MeterRef {
    #[inline]
    fn clone(&self) -> Self {
        let meter = self.arc();
        // During thread exit the spares may be gone already: then it is a plain clone.
        let spare = SPARE.try_with(|s| s.take(meter)).ok().flatten();
        Self(Some(spare.unwrap_or_else(|| Arc::clone(meter))))
    }
}

impl Drop for MeterRef {
    #[inline]
    fn drop(&mut self) {
        if let Some(meter) = self.0.take() {
            // Dropped outside the thread-local access: a meter's drop runs no code of ours,
            // but a recorder's might.
            // When the spares are gone (thread exit), the closure and `meter` with it are dropped.
            let left = SPARE.try_with(move |s| s.put(meter)).ok().flatten();
            drop(left);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn strong(r: &MeterRef) -> usize {
        Arc::strong_count(r.arc())
    }

    #[test]
    fn clones_and_drops_reuse_spares() {
        let a = MeterRef::new(Meter::for_tests());
        assert_eq!(strong(&a), 1);
        // A clone with no spare counts; its drop keeps the reference as a spare.
        drop(a.clone());
        assert_eq!(strong(&a), 2);
        // The next clone takes that spare: the count does not move.
        for _ in 0..100 {
            let b = a.clone();
            assert_eq!(strong(&b), 2);
            drop(b);
        }
        assert_eq!(strong(&a), 2);
    }

    #[test]
    fn spares_are_bounded_and_evicted_by_other_meters() {
        let a = MeterRef::new(Meter::for_tests());
        let held: Vec<MeterRef> = (0..20).map(|_| a.clone()).collect();
        drop(held);
        // At most SPARES of the 20 references stay on this thread.
        assert_eq!(strong(&a), 1 + SPARES);
        let b = MeterRef::new(Meter::for_tests());
        let held: Vec<MeterRef> = (0..SPARES).map(|_| b.clone()).collect();
        drop(held);
        // b's references took the top place from a's, and then kept it.
        assert_eq!(strong(&a), SPARES);
        assert_eq!(strong(&b), 2);
        // b's requests go on through that top place.
        for _ in 0..10 {
            let held = b.clone();
            assert_eq!(strong(&b), 2);
            drop(held);
        }
        assert_eq!(strong(&b), 2);
    }

    #[test]
    fn references_moved_between_threads_stay_counted() {
        let a = MeterRef::new(Meter::for_tests());
        let moved: Vec<MeterRef> = (0..4).map(|_| a.clone()).collect();
        std::thread::spawn(move || drop(moved)).join().unwrap();
        // The other thread's spares ended with it.
        assert_eq!(strong(&a), 1);
    }
}

/// Spare references under loom: loom's `Arc` counts every reference, its thread-locals are
/// dropped as their thread ends, and a model fails if an `Arc` is left over at its end.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::model;
    use loom::thread;

    fn strong(r: &MeterRef) -> usize {
        Arc::strong_count(r.arc())
    }

    /// Proves: a reference cloned on one thread and handed to another, then cloned and dropped
    /// there, becomes that thread's spare and is released when the thread ends (not lost, not
    /// released twice), while the first thread clones and drops through its own spares at the
    /// same time; at the model's end every reference is gone (loom checks no `Arc` leaks).
    #[test]
    fn loom_spares_handed_to_another_thread_are_released_at_its_exit() {
        model(|| {
            let a = MeterRef::new(Meter::for_tests());
            let b = a.clone();
            let other = thread::spawn(move || {
                let c = b.clone();
                drop(b);
                drop(c);
                // Both are this thread's spares now, released when it ends.
                assert_eq!(SPARE.with(|s| s.len.get()), 2);
            });
            let e = a.clone();
            drop(e);
            let f = a.clone();
            other.join().unwrap();
            // loom's `join` returns before the thread's locals are dropped (std's waits for
            // them): wait for that. loom fails the model if this wait can fail to end.
            while strong(&a) > 2 {
                thread::yield_now();
            }
            // The other thread's spares went with it: `a` and `f` are left, and the spare `f`
            // took on this thread.
            assert_eq!(strong(&a), 2);
            assert_eq!(SPARE.with(|s| s.len.get()), 0);
            drop(f);
            drop(a);
        });
    }
}
