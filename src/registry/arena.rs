//! An insert-only arena: values pushed once, never moved or removed, found by index without a
//! lock.
//!
//! The layer keeps its routes' series here, so a request in flight can name its series by a
//! small index instead of holding a counted reference to it. Chunks double in size and are
//! allocated as they are first needed: an arena that holds a handful of values costs one small
//! chunk.

use crate::sync::{AtomicU32, OnceLock, Ordering};

/// Values in the first chunk; chunk `k` holds `FIRST << k`.
#[cfg(not(loom))]
const FIRST: usize = 16;
/// Under loom, a first chunk of two, so that a model grows the arena with a few pushes.
#[cfg(loom)]
const FIRST: usize = 2;
/// Chunks at most: `FIRST * (2^CHUNKS - 1)` values, far beyond any series budget.
const CHUNKS: usize = 24;

/// An insert-only, index-stable collection of `T`, safe to read and push from any thread.
pub(crate) struct Arena<T> {
    chunks: [OnceLock<Box<[OnceLock<T>]>>; CHUNKS],
    len: AtomicU32,
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Self {
            // Not a const array: loom's cells are not const-constructible.
            chunks: std::array::from_fn(|_| OnceLock::new()),
            len: AtomicU32::new(0),
        }
    }
}

/// The chunk and the offset in it of `index`.
#[inline]
fn place(index: u32) -> (usize, usize) {
    // Counting from FIRST, chunk k starts at FIRST << k: the chunk is the bit length.
    let i = index as usize + FIRST;
    let chunk = (usize::BITS - 1 - i.leading_zeros()) as usize - FIRST.trailing_zeros() as usize;
    (chunk, i - (FIRST << chunk))
}

impl<T> Arena<T> {
    /// Adds `value` and returns its index, or gives the value back when the arena is full.
    pub(crate) fn push(&self, value: T) -> Result<u32, T> {
        let index = self.len.fetch_add(1, Ordering::Relaxed);
        let (chunk, offset) = place(index);
        let Some(cell) = self.chunks.get(chunk) else {
            // Past the last chunk: undo, so the count stays bounded.
            self.len.fetch_sub(1, Ordering::Relaxed);
            return Err(value);
        };
        let slots = cell.get_or_init(|| (0..FIRST << chunk).map(|_| OnceLock::new()).collect());
        // Each index is handed out once, so its slot is empty.
        match slots[offset].set(value) {
            Ok(()) => Ok(index),
            Err(value) => Err(value),
        }
    }

    /// The value at `index`, once its push has completed.
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<&T> {
        let (chunk, offset) = place(index);
        self.chunks.get(chunk)?.get()?.get(offset)?.get()
    }

    /// The values pushed so far, in index order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        (0..self.len.load(Ordering::Acquire)).filter_map(|i| self.get(i))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn places_cover_every_index_once() {
        let mut expected = (0, 0);
        for index in 0..100_000u32 {
            assert_eq!(place(index), expected, "{index}");
            expected.1 += 1;
            if expected.1 == FIRST << expected.0 {
                expected = (expected.0 + 1, 0);
            }
        }
    }

    #[test]
    fn pushed_values_are_found_by_their_index() {
        let arena = Arena::default();
        let indices: Vec<u32> = (0..1_000).map(|v| arena.push(v).unwrap()).collect();
        for (v, i) in indices.iter().enumerate() {
            assert_eq!(arena.get(*i), Some(&v));
        }
        assert_eq!(arena.get(1_000), None);
        assert_eq!(arena.iter().count(), 1_000);
    }

    #[test]
    fn concurrent_pushes_get_distinct_indices() {
        let arena = Arc::new(Arena::default());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let arena = Arc::clone(&arena);
                std::thread::spawn(move || {
                    (0..5_000)
                        .map(|v| (arena.push(t * 10_000 + v).unwrap(), t * 10_000 + v))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        for t in threads {
            for (index, value) in t.join().unwrap() {
                assert!(seen.insert(index));
                assert_eq!(arena.get(index), Some(&value));
            }
        }
        assert_eq!(seen.len(), 20_000);
    }
}

/// The arena under loom, with a first chunk of two.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::{Arc, model};
    use loom::thread;

    /// Proves: two pushes racing while the arena grows (index 0 is taken, so one of them lands
    /// in the second chunk, which one of them allocates) get distinct indices and their own
    /// values; a reader racing them finds at each index nothing or the value pushed there,
    /// never another one.
    #[test]
    fn loom_arena_grows_while_readers_read() {
        model(|| {
            let arena = Arc::new(Arena::<u32>::default());
            assert_eq!(arena.push(0), Ok(0));
            let pusher = |value| {
                let arena = Arc::clone(&arena);
                thread::spawn(move || arena.push(value).expect("room"))
            };
            let (a, b) = (pusher(1), pusher(2));
            let seen: Vec<Option<u32>> = (0..3).map(|i| arena.get(i).copied()).collect();
            let (a, b) = (a.join().unwrap(), b.join().unwrap());
            assert_ne!(a, b);
            assert_eq!(arena.get(a), Some(&1));
            assert_eq!(arena.get(b), Some(&2));
            assert_eq!(seen[0], Some(0));
            for (i, seen) in seen.into_iter().enumerate().skip(1) {
                assert!(seen.is_none() || seen == arena.get(i as u32).copied());
            }
            assert_eq!(arena.iter().copied().collect::<Vec<_>>().len(), 3);
        });
    }
}
