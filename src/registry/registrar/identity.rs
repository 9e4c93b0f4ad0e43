//! Telling recorders apart: which recorder a layer's handles come from, and whether they may
//! be kept.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use metrics::Recorder;

/// The identity of the facade's recorder, whichever it is at the moment: what layers on the
/// global recorder record into.
pub(crate) const FACADE: usize = 1;

/// Tells the identity of one recorder type that this module does not know itself (the
/// Prometheus and test recorders, whose modules stand above this one), or `None` for another.
pub(crate) type Identify = fn(&dyn Any) -> Option<usize>;

/// The slots of the recorder types that tell their identity: each registers its function as
/// its first recorder is made, which is before any layer can be given one.
static IDENTIFY: [OnceLock<Identify>; 2] = [OnceLock::new(), OnceLock::new()];

/// The slot of the Prometheus recorder.
#[cfg(feature = "prometheus")]
pub(crate) const PROMETHEUS: usize = 0;
/// The slot of the test recorder.
#[cfg(feature = "testing")]
pub(crate) const TESTING: usize = 1;

/// Registers `identify` for the recorder type of `slot` (once; later calls change nothing).
#[cfg(any(feature = "prometheus", feature = "testing"))]
pub(crate) fn identify_with(slot: usize, identify: Identify) {
    let _ = IDENTIFY[slot].set(identify);
}

/// What tells `recorder` apart from other recorders when its clones are one recorder: what
/// its type's registered function says (the address of the store behind this crate's
/// recorders; the facade's identity, [`FACADE`], for the installed Prometheus recorder), or the
/// address of the recorder an `Arc` shares. `None` for any other type, whose clones cannot be
/// told to be one.
pub(crate) fn recorder_identity<R: Recorder + 'static>(recorder: &R) -> Option<usize> {
    let any: &dyn Any = recorder;
    if let Some(identity) = IDENTIFY
        .iter()
        .filter_map(OnceLock::get)
        .find_map(|identify| identify(any))
    {
        return Some(identity);
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
