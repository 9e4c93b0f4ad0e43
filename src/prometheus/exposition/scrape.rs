//! Scrapes that arrive together share one render, so a client hammering `/metrics` costs about
//! one render at a time, not one per request.
//!
//! A scrape never gets a render that started before it arrived: that render may have missed
//! requests the scraper had already seen answered. Scrapes arriving while a render runs wait
//! for the *next* one, which starts as soon as the running one ends and serves all of them. So
//! at most two renders per format are ever under way or waiting, however many scrapes come.

use std::sync::{Arc, PoisonError};

use crate::sync::Mutex;

use bytes::Bytes;
use tokio::sync::watch;

use super::text::Format;

/// What a scrape is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exposition {
    /// One of the text formats.
    Text(Format),
    /// Delimited protobuf `MetricFamily` messages.
    Protobuf,
}

/// Where a render's text is published.
type Published = watch::Receiver<Option<Bytes>>;

/// One format's renders.
#[derive(Debug, Default)]
struct Slot {
    /// A render is under way.
    running: bool,
    /// The render that starts when the running one ends, with the scrapes waiting for it.
    next: Option<(watch::Sender<Option<Bytes>>, Published)>,
}

/// The renders per format.
#[derive(Debug, Default)]
pub(crate) struct SharedRenders {
    slots: Mutex<[Slot; 3]>,
}

fn slot(exposition: Exposition) -> usize {
    match exposition {
        Exposition::Text(Format::Prometheus) => 0,
        Exposition::Text(Format::OpenMetrics) => 1,
        Exposition::Protobuf => 2,
    }
}

/// Ends a slot's renders unless the render thread handed the slot on: when a render panics, or
/// when its task is dropped without running (a runtime that shut down), waiting scrapes then see
/// their sender gone and the next scrape starts afresh.
struct Stop {
    shared: Arc<SharedRenders>,
    slot: usize,
    handed_on: bool,
}

impl Drop for Stop {
    fn drop(&mut self) {
        if self.handed_on {
            return;
        }
        let mut slots = self
            .shared
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = &mut slots[self.slot];
        slot.running = false;
        slot.next = None;
    }
}

/// What a scrape does, decided under the lock and done after it.
enum Plan {
    /// Wait for a render that starts after this scrape arrived.
    Wait(Published),
    /// Start a render.
    Start(watch::Sender<Option<Bytes>>, Published),
}

impl SharedRenders {
    /// Decides, under the lock, whether a scrape of slot `i` starts a render or waits for the
    /// one after the render under way.
    fn plan(&self, i: usize) -> Plan {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = &mut slots[i];
        if slot.running {
            let (_, receiver) = slot.next.get_or_insert_with(|| watch::channel(None));
            Plan::Wait(receiver.clone())
        } else {
            slot.running = true;
            let (sender, receiver) = watch::channel(None);
            Plan::Start(sender, receiver)
        }
    }

    /// The body of a render in `format` that started after this call: a new one run by
    /// `render` on a blocking thread (so the async workers keep serving requests meanwhile),
    /// or the one that follows the render under way, shared with the other scrapes waiting for
    /// it. `None` if the render panicked.
    pub(crate) async fn get(
        self: &Arc<Self>,
        format: Exposition,
        render: impl Fn() -> Bytes + Send + 'static,
    ) -> Option<Bytes> {
        // Outside a Tokio runtime there is no blocking pool to render on: render here, alone.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Some(render());
        };
        let i = slot(format);
        let mut receiver = match self.plan(i) {
            Plan::Wait(receiver) => receiver,
            Plan::Start(sender, receiver) => {
                let stop = Stop {
                    shared: Arc::clone(self),
                    slot: i,
                    handed_on: false,
                };
                // Spawned with the lock released: if this fails or the task never runs, `stop`
                // frees the slot as it drops.
                runtime.spawn_blocking(move || run(stop, sender, &render));
                receiver
            }
        };
        match receiver.wait_for(Option::is_some).await {
            Ok(text) => text.clone(),
            Err(_) => None,
        }
    }
}

/// Renders for `sender`'s scrapes, then for each batch of scrapes that arrived meanwhile, until
/// none is waiting.
fn run(mut stop: Stop, mut sender: watch::Sender<Option<Bytes>>, render: &dyn Fn() -> Bytes) {
    loop {
        let text = render();
        let _ = sender.send(Some(text));
        let mut slots = stop
            .shared
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = &mut slots[stop.slot];
        match slot.next.take() {
            Some((next, _)) => sender = next,
            None => {
                slot.running = false;
                stop.handed_on = true;
                return;
            }
        }
    }
}

/// Shared renders under loom: the decision under the lock and the render loop, as a scrape
/// and the blocking thread it spawns run them (the render runs on the scrape's own thread
/// here; the wait for the published text is the channel's, outside the model).
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::{AtomicUsize, Ordering, model};
    use loom::thread;

    /// Scrapes that have arrived, renders started, renders under way.
    #[derive(Default)]
    struct Counts {
        arrived: AtomicUsize,
        renders: AtomicUsize,
        running: AtomicUsize,
    }

    /// One scrape: arrives, then starts a render (and renders on this thread for every batch
    /// that arrives meanwhile) or waits for the next one. Returns its arrival number and where
    /// its text is published.
    fn scrape(shared: &Arc<SharedRenders>, counts: &Counts) -> (usize, bool, Published) {
        let me = counts.arrived.fetch_add(1, Ordering::SeqCst) + 1;
        match shared.plan(0) {
            Plan::Wait(receiver) => (me, true, receiver),
            Plan::Start(sender, receiver) => {
                let stop = Stop {
                    shared: Arc::clone(shared),
                    slot: 0,
                    handed_on: false,
                };
                let render = || {
                    assert_eq!(
                        counts.running.fetch_add(1, Ordering::SeqCst),
                        0,
                        "two renders at once"
                    );
                    counts.renders.fetch_add(1, Ordering::SeqCst);
                    // The text says how many scrapes had arrived when the render started.
                    let text = counts.arrived.load(Ordering::SeqCst).to_string();
                    counts.running.fetch_sub(1, Ordering::SeqCst);
                    Bytes::from(text)
                };
                run(stop, sender, &render);
                (me, false, receiver)
            }
        }
    }

    /// Proves: with a render under way, two scrapes arriving meanwhile share the one render
    /// that follows it (two renders in all), or, arriving after it, start their own; never two
    /// renders at once; every scrape gets a text, from a render that started after it arrived;
    /// and the slot is left idle with nobody waiting.
    #[test]
    fn loom_two_scrapes_share_one_render() {
        model(|| {
            let shared = Arc::new(SharedRenders::default());
            let counts = Arc::new(Counts::default());
            let scraper = || {
                let (shared, counts) = (Arc::clone(&shared), Arc::clone(&counts));
                thread::spawn(move || scrape(&shared, &counts))
            };
            let (b, c) = (scraper(), scraper());
            let a = scrape(&shared, &counts);
            let (b, c) = (b.join().unwrap(), c.join().unwrap());
            let renders = counts.renders.load(Ordering::SeqCst);
            assert!((1..=3).contains(&renders));
            let scrapes = [a, b, c];
            for (me, _, receiver) in &scrapes {
                let text = receiver.borrow().clone().expect("every scrape gets a text");
                let seen: usize = std::str::from_utf8(&text).unwrap().parse().unwrap();
                assert!(
                    seen >= *me,
                    "scrape {me} got a render that started before it arrived"
                );
            }
            // A render per scrape that started one, and one per batch of scrapes that waited
            // together (on one channel), which they share.
            let started = scrapes.iter().filter(|s| !s.1).count();
            let waiting: Vec<&Published> = scrapes.iter().filter(|s| s.1).map(|s| &s.2).collect();
            let batches = waiting
                .iter()
                .enumerate()
                .filter(|(i, r)| !waiting[..*i].iter().any(|o| o.same_channel(r)))
                .count();
            assert_eq!(renders, started + batches);
            let slots = shared.slots.lock().unwrap();
            assert!(!slots[0].running && slots[0].next.is_none());
        });
    }
}
