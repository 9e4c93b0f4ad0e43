//! The series of one (route, method): its in-flight gauge and the handles of each outcome it
//! has ended with, found without a lock.
//!
//! Outcomes (status, error type, protocol version) are few per route and method, and the first
//! one seen, usually the success status, is nearly every request's. They sit in slots that are
//! filled once and scanned in order: a request finds its handles in the first slot it looks at.

use std::sync::Arc;

use crate::sync::OnceLock;

use metrics::Gauge;

use crate::registry::registrar::OutcomeHandles;

/// Outcome slots kept inline; further ones live in blocks of doubling size.
const INLINE: usize = 4;

type Slot = OnceLock<(u32, OutcomeHandles)>;

struct Block {
    slots: Box<[Slot]>,
    next: OnceLock<Box<Block>>,
}

/// One (route, method) pair's series.
pub(crate) struct MethodSeries {
    /// The route label (the gRPC method, for calls).
    pub(crate) route: Arc<str>,
    /// The method, scheme and request label slot (see
    /// [`Registrar::slot`](crate::registry::registrar::Registrar::slot) and
    /// [`Registrar::label_part`](crate::registry::registrar::Registrar::label_part)).
    pub(crate) slot: usize,
    /// The method's label value.
    pub(crate) method: &'static str,
    pub(crate) active: Gauge,
    /// Whether new outcomes take from the layer's series budget (not for the series that
    /// holds what is beyond it).
    pub(crate) budgeted: bool,
    /// Whether a service may note this series for its next request (see
    /// [`crate::registry::meter`]): not an overflow series, whose every request is counted
    /// as it is located.
    pub(crate) hinted: bool,
    /// The HTTP series of requests that matched no route, in a layer without a route function
    /// or mounts: an answer other than 404 or 405 there is worth a warning (see
    /// [`crate::route::warn_unmounted`]).
    pub(crate) unmatched: bool,
    inline: [Slot; INLINE],
    more: OnceLock<Box<Block>>,
}

impl MethodSeries {
    pub(crate) fn new(
        route: Arc<str>,
        slot: usize,
        method: &'static str,
        active: Gauge,
        budgeted: bool,
    ) -> Self {
        Self {
            route,
            slot,
            method,
            active,
            budgeted,
            hinted: budgeted,
            unmatched: false,
            inline: std::array::from_fn(|_| OnceLock::new()),
            more: OnceLock::new(),
        }
    }

    /// The slots in scanning order.
    fn slots(&self) -> impl Iterator<Item = &Slot> {
        let mut block: Option<&Block> = None;
        let mut started = false;
        self.inline.iter().chain(
            std::iter::from_fn(move || {
                let next = if started {
                    block?.next.get()
                } else {
                    started = true;
                    self.more.get()
                };
                block = next.map(|b| &**b);
                block
            })
            .flat_map(|b| b.slots.iter()),
        )
    }

    /// The handles of the outcome `key`, if it was seen before.
    #[inline]
    pub(crate) fn find(&self, key: u32) -> Option<&OutcomeHandles> {
        // The first slot is nearly always the one: look at it before building the scan.
        match self.inline[0].get() {
            Some((k, h)) if *k == key => Some(h),
            None => None,
            Some(_) => self.find_after_first(key),
        }
    }

    #[cold]
    fn find_after_first(&self, key: u32) -> Option<&OutcomeHandles> {
        for slot in self.slots().skip(1) {
            match slot.get() {
                Some((k, h)) if *k == key => return Some(h),
                Some(_) => {}
                None => return None,
            }
        }
        None
    }

    /// The handles of the outcome `key`, registering them with `make` when it is new; and
    /// whether this call made them.
    ///
    /// Slots fill in order and every caller scans in that order, so two threads adding the
    /// same outcome meet at the same empty slot and one of them makes it.
    pub(crate) fn insert(
        &self,
        key: u32,
        make: impl FnOnce() -> OutcomeHandles,
    ) -> (&OutcomeHandles, bool) {
        let mut make = Some(make);
        let mut slot_index = 0;
        loop {
            let slot = match self.slots().nth(slot_index) {
                Some(slot) => slot,
                None => {
                    self.grow();
                    continue;
                }
            };
            let (k, h) = slot.get_or_init(|| {
                let make = make.take().expect("the closure runs once");
                (key, make())
            });
            if *k == key {
                return (h, make.is_none());
            }
            slot_index += 1;
        }
    }

    /// Adds a block after the last one.
    fn grow(&self) {
        let mut cell = &self.more;
        let mut len = INLINE;
        while let Some(block) = cell.get() {
            len = block.slots.len();
            cell = &block.next;
        }
        cell.get_or_init(|| {
            Box::new(Block {
                slots: (0..len * 2).map(|_| OnceLock::new()).collect(),
                next: OnceLock::new(),
            })
        });
    }

    /// Every outcome registered so far, with its key.
    #[cfg(test)]
    pub(crate) fn outcome_keys(&self) -> Vec<u32> {
        self.slots()
            .map_while(|s| s.get())
            .map(|(k, _)| *k)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handles() -> OutcomeHandles {
        OutcomeHandles {
            duration: metrics::Histogram::noop(),
            request_size: None,
            response_size: None,
            total: None,
            time_to_head: None,
            more: false,
        }
    }

    fn series() -> MethodSeries {
        MethodSeries::new("/r".into(), 0, "GET", Gauge::noop(), true)
    }

    #[test]
    fn outcomes_are_found_in_any_number() {
        let s = series();
        assert!(s.find(200).is_none());
        for key in 0..200 {
            let (_, made) = s.insert(key, handles);
            assert!(made);
            let (_, made) = s.insert(key, || unreachable!());
            assert!(!made);
        }
        for key in 0..200 {
            assert!(s.find(key).is_some(), "{key}");
        }
        assert!(s.find(200).is_none());
        assert_eq!(s.outcome_keys(), (0..200).collect::<Vec<_>>());
    }

    #[test]
    fn concurrent_inserts_make_each_outcome_once() {
        let s = Arc::new(series());
        let made = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (s, made) = (Arc::clone(&s), Arc::clone(&made));
                std::thread::spawn(move || {
                    for key in 0..50 {
                        if s.insert(key, handles).1 {
                            made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(made.load(std::sync::atomic::Ordering::Relaxed), 50);
        assert_eq!(s.outcome_keys().len(), 50);
    }
}
