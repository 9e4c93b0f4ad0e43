//! The synchronisation primitives the crate's lock-free structures are written against.
//!
//! In every normal build these are `std`'s own, re-exported: no wrapper, no cost. Under
//! `--cfg loom` (`scripts/loom.sh`) they are loom's, so the models next to each structure
//! (`mod loom_tests` in its file) run the real code under every interleaving loom explores.
//!
//! loom has no `OnceLock`: under loom, [`OnceLock`] is a small stand-in whose publication
//! (an acquire load of a ready flag, set with a release store under a loom mutex) is what loom
//! sees, with the value kept in a `std` cell that nothing else touches. It has `std`'s
//! semantics: one initialiser runs, others wait for it, and a reader that sees the value sees
//! everything written before it was set.

// Which primitives a build uses depends on its features.
#![allow(unused_imports)]

#[cfg(not(loom))]
pub(crate) use std::{
    hint::spin_loop,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering},
    },
    thread::yield_now,
    thread_local,
};

#[cfg(loom)]
pub(crate) use loom::{
    hint::spin_loop,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering},
    },
    thread::yield_now,
    thread_local,
};

#[cfg(loom)]
pub(crate) use once::OnceLock;

#[cfg(loom)]
mod once {
    use std::sync::PoisonError;

    use super::{AtomicBool, Mutex, Ordering};

    /// `std::sync::OnceLock` as loom sees it: the flag and the lock are loom's.
    pub(crate) struct OnceLock<T> {
        ready: AtomicBool,
        init: Mutex<()>,
        value: std::sync::OnceLock<T>,
    }

    impl<T> Default for OnceLock<T> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<T: std::fmt::Debug> std::fmt::Debug for OnceLock<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_tuple("OnceLock").field(&self.get()).finish()
        }
    }

    impl<T> OnceLock<T> {
        pub(crate) fn new() -> Self {
            Self {
                ready: AtomicBool::new(false),
                init: Mutex::new(()),
                value: std::sync::OnceLock::new(),
            }
        }

        pub(crate) fn get(&self) -> Option<&T> {
            if self.ready.load(Ordering::Acquire) {
                self.value.get()
            } else {
                None
            }
        }

        pub(crate) fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
            if let Some(value) = self.get() {
                return value;
            }
            let _one = self.init.lock().unwrap_or_else(PoisonError::into_inner);
            if !self.ready.load(Ordering::Acquire) {
                let _ = self.value.set(f());
                self.ready.store(true, Ordering::Release);
            }
            self.value.get().expect("set under the lock")
        }

        pub(crate) fn set(&self, value: T) -> Result<(), T> {
            let _one = self.init.lock().unwrap_or_else(PoisonError::into_inner);
            if self.ready.load(Ordering::Acquire) {
                return Err(value);
            }
            let _ = self.value.set(value);
            self.ready.store(true, Ordering::Release);
            Ok(())
        }
    }
}

/// Runs a loom model with a bound on preemptions, so every model ends within seconds; the
/// bound is raised with `LOOM_MAX_PREEMPTIONS`.
#[cfg(all(test, loom))]
pub(crate) fn model(f: impl Fn() + Sync + Send + 'static) {
    model_with_branches(1_000, f);
}

/// [`model`] for a model whose threads take more than loom's default 1,000 scheduling points
/// each (the native buckets: a read walks windows of 160 atomics).
#[cfg(all(test, loom))]
pub(crate) fn model_with_branches(branches: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.max_branches = builder.max_branches.max(branches);
    builder.check(f);
}

/// Waits for `done`, which another thread makes true a few steps after it began (an insert
/// settling a reservation it took): spins briefly, then yields, and gives up after about a
/// millisecond, returning whether `done` came true. The bound is for the case where those few
/// steps call into a recorder that blocks (a lock held by a long scrape, or the application's
/// own code): the waiter then goes on without what it waited for, which callers make safe (a
/// request folded into the overflow route, never a request lost). Under loom it waits until
/// `done`, so that the models show the wait ends.
pub(crate) fn wait_briefly(done: impl Fn() -> bool) -> bool {
    #[cfg(not(loom))]
    let start = std::time::Instant::now();
    #[cfg(not(loom))]
    let give_up = || start.elapsed() > std::time::Duration::from_millis(1);
    #[cfg(loom)]
    let give_up = || false;
    wait(done, give_up)
}

/// Waits for `done`, which another thread makes true a few steps after it began, steps that
/// call no code outside this crate and wait for nothing (an insert into the route index
/// settling its reservation): spins briefly, then yields to it. The loom models show it ends.
pub(crate) fn wait_until(done: impl Fn() -> bool) {
    wait(done, || false);
}

/// Spins 64 times, then yields, until `done`; every 16 yields asks `give_up`. Returns whether
/// `done` came true.
fn wait(done: impl Fn() -> bool, give_up: impl Fn() -> bool) -> bool {
    let mut turns = 0_u32;
    while !done() {
        turns = turns.saturating_add(1);
        if turns <= 64 {
            spin_loop();
            continue;
        }
        if turns % 16 == 0 && give_up() {
            return false;
        }
        yield_now();
    }
    true
}
