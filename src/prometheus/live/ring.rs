//! A ring of fixed capacity: the storage of every history the live page keeps, allocated once
//! and overwritten in place, so memory stays flat however long the sampler runs.

/// A ring of fixed capacity, allocated once: pushing past the capacity overwrites the oldest
/// slot in place, so its allocations (if any) are reused.
#[derive(Debug)]
pub(crate) struct Ring<T> {
    slots: Box<[T]>,
    /// Index of the oldest element.
    start: usize,
    len: usize,
}

impl<T: Default> Ring<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            slots: (0..capacity.max(1)).map(|_| T::default()).collect(),
            start: 0,
            len: 0,
        }
    }

    /// The slot for a new newest element: a fresh one, or the oldest when full (its previous
    /// content is handed to `fill` to overwrite).
    pub(crate) fn push_with(&mut self, fill: impl FnOnce(&mut T)) {
        let cap = self.slots.len();
        let index = (self.start + self.len) % cap;
        if self.len == cap {
            self.start = (self.start + 1) % cap;
        } else {
            self.len += 1;
        }
        fill(&mut self.slots[index]);
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The element `back` places before the newest (`0` is the newest).
    pub(crate) fn nth_newest(&self, back: usize) -> Option<&T> {
        (back < self.len).then(|| {
            let cap = self.slots.len();
            &self.slots[(self.start + self.len - 1 - back) % cap]
        })
    }

    /// Elements from the oldest to the newest.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        let cap = self.slots.len();
        (0..self.len).map(move |i| &self.slots[(self.start + i) % cap])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_and_reuses_slots() {
        let mut r: Ring<u32> = Ring::new(3);
        assert_eq!(r.nth_newest(0), None);
        for i in 1..=5 {
            r.push_with(|s| *s = i);
        }
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(r.nth_newest(0), Some(&5));
        assert_eq!(r.nth_newest(2), Some(&3));
        assert_eq!(r.nth_newest(3), None);
        assert_eq!((r.len(), r.capacity()), (3, 3));
        // The slot handed over when full is the oldest one.
        r.push_with(|s| assert_eq!(*s, 3));
    }
}
