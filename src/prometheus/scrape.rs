//! Scrapes that arrive while a render is under way wait for it and share its text, so a client
//! hammering `/metrics` costs about one render at a time, not one per request.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::watch;

use super::text::Format;

/// The render in flight per format, if any.
#[derive(Debug, Default)]
pub(crate) struct SharedRenders {
    in_flight: Mutex<[Option<watch::Receiver<Option<Bytes>>>; 2]>,
}

fn slot(format: Format) -> usize {
    match format {
        Format::Prometheus => 0,
        Format::OpenMetrics => 1,
    }
}

/// Frees the slot when its render ends, normally or by a panic.
struct Finish {
    shared: Arc<SharedRenders>,
    slot: usize,
}

impl Drop for Finish {
    fn drop(&mut self) {
        self.shared
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)[self.slot] = None;
    }
}

impl SharedRenders {
    /// The text of a render in `format` that started no earlier than this call: the one in
    /// flight, or a new one run by `render` on a blocking thread (so the async workers keep
    /// serving requests meanwhile). `None` if the render panicked.
    ///
    /// The render runs to its end even if every scrape waiting for it goes away.
    pub(crate) async fn get(
        self: &Arc<Self>,
        format: Format,
        render: impl FnOnce() -> String + Send + 'static,
    ) -> (Option<Bytes>, bool) {
        let (mut receiver, started) = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let i = slot(format);
            match &in_flight[i] {
                Some(receiver) => (receiver.clone(), false),
                None => {
                    let (sender, receiver) = watch::channel(None);
                    in_flight[i] = Some(receiver.clone());
                    let finish = Finish {
                        shared: Arc::clone(self),
                        slot: i,
                    };
                    tokio::task::spawn_blocking(move || {
                        let text = Bytes::from(render());
                        // Free the slot first: a scrape from now on gets a newer render.
                        drop(finish);
                        let _ = sender.send(Some(text));
                    });
                    (receiver, true)
                }
            }
        };
        let text = match receiver.wait_for(Option::is_some).await {
            Ok(text) => text.clone(),
            Err(_) => None,
        };
        (text, started)
    }
}
