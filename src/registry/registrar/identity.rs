//! Telling recorders apart: which recorder a layer's handles come from, and whether they may
//! be kept.

use std::sync::Arc;

use metrics::Recorder;

/// The identity of the facade's recorder, whichever it is at the moment: what layers on the
/// global recorder record into.
pub(crate) const FACADE: usize = 1;

/// The address of the store behind the Prometheus recorder installed as the facade's global
/// recorder (0 until one is): set once, as the global recorder is.
#[cfg(feature = "prometheus")]
pub(crate) static INSTALLED: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// What tells `recorder` apart from other recorders when its clones are one recorder: the
/// address of the store behind this crate's recorders, or of the recorder an `Arc` shares.
/// `None` for any other type, whose clones cannot be told to be one.
///
/// The Prometheus recorder installed as the facade's global one is the facade's
/// ([`FACADE`]): a layer given it and a layer on the global recorder are layers into one
/// recorder.
pub(crate) fn recorder_identity<R: Recorder + 'static>(recorder: &R) -> Option<usize> {
    let any: &dyn std::any::Any = recorder;
    #[cfg(feature = "prometheus")]
    if let Some(r) = any.downcast_ref::<crate::prometheus::PrometheusRecorder>() {
        let store = Arc::as_ptr(&r.store).addr();
        if store == INSTALLED.load(std::sync::atomic::Ordering::Acquire) {
            return Some(FACADE);
        }
        return Some(store);
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
