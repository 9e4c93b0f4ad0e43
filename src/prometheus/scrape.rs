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
