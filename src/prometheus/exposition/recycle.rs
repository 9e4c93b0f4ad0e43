//! Text buffers kept from one scrape to the next.
//!
//! A large exposition is tens of megabytes. Written into a new allocation on every scrape, it
//! costs a page fault for every 4 KiB the kernel hands out afresh (about as much time as
//! writing the text itself), and that share grows with the text. So the `/metrics` endpoint
//! writes into a buffer kept from an earlier scrape, and the body it answers with gives the
//! buffer back once the response is sent and dropped. At most [`KEEP`] buffers are kept: one
//! being written while another is still being sent.

use std::sync::{Arc, PoisonError, Weak};

use bytes::Bytes;

use crate::sync::Mutex;

/// The most buffers kept.
const KEEP: usize = 2;

/// Buffers returned by sent bodies, for the next renders.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    kept: Mutex<Vec<String>>,
}

impl Buffers {
    /// A body of the text `write` writes into a kept buffer (cleared) or a new one; the buffer
    /// comes back here when the body, and every clone of it, is dropped.
    pub(crate) fn text(self: &Arc<Self>, write: impl FnOnce(&mut String)) -> Bytes {
        let mut text = self
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default();
        write(&mut text);
        Bytes::from_owner(Lent {
            text,
            home: Arc::downgrade(self),
        })
    }

    /// How many buffers are kept now.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn give_back(&self, mut text: String) {
        text.clear();
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < KEEP {
            kept.push(text);
        }
    }
}

/// A buffer lent to a body.
struct Lent {
    text: String,
    home: Weak<Buffers>,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        self.text.as_bytes()
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(home) = self.home.upgrade() {
            home.give_back(std::mem::take(&mut self.text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_body_gives_its_buffer_to_the_next_render() {
        let buffers = Arc::new(Buffers::default());
        let first = buffers.text(|t| t.push_str(&"x".repeat(100_000)));
        let at = first.as_ptr();
        assert_eq!(first.len(), 100_000);
        // Still being sent: the next render gets a buffer of its own.
        let second = buffers.text(|t| {
            assert!(t.is_empty());
            t.push('y');
        });
        assert_ne!(second.as_ptr(), at);
        let clone = first.clone();
        drop(second);
        drop(first);
        assert_eq!(
            buffers.kept.lock().unwrap().len(),
            1,
            "a clone still holds the first"
        );
        drop(clone);
        assert_eq!(buffers.kept.lock().unwrap().len(), 2);
        // The buffer given back last is written next: cleared, in the memory it had.
        let third = buffers.text(|t| {
            assert!(t.is_empty());
            assert!(t.capacity() >= 100_000);
            t.push('z');
        });
        assert_eq!(third.as_ptr(), at);
        assert_eq!(&third[..], b"z");
        // No more than KEEP are kept; a body outliving its buffers is simply freed.
        let bodies: Vec<Bytes> = (0..5).map(|_| buffers.text(|t| t.push('w'))).collect();
        drop(third);
        drop(bodies);
        assert_eq!(buffers.kept.lock().unwrap().len(), KEEP);
        let orphan = buffers.text(|t| t.push('o'));
        drop(buffers);
        drop(orphan);
    }
}
