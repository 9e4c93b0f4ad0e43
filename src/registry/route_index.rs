//! A string-keyed, insert-only hash index that is read without a lock.
//!
//! Route labels are interned here once; every later request finds its route with a hash of the
//! label and a comparison, touching no shared counter. The index is a chain of open-addressing
//! levels, each twice the size of the one before and filled to at most half: a level whose room
//! is taken sends new keys to the next one, created when first needed. A key never moves, so a
//! reader that sees it once sees it at the same place for ever.
//!
//! A key is in one level only. An insert that finds a level full moves on to the next one only
//! once every reservation taken in the full level is settled (written, or handed back) and the
//! key is still not there: otherwise two threads inserting the same new key as a level fills up
//! could each put it in a different level. That wait is for another insert's few steps between
//! taking a slot and filling it (its `admit` and `make`, which call no recorder), never for a
//! lock; the loom model `loom_same_label_racing_for_the_last_room_makes_one` shows it ends.

use crate::sync::{AtomicUsize, OnceLock, Ordering};
use std::hash::BuildHasher;

/// Slots in the first level.
#[cfg(not(loom))]
const FIRST: usize = 64;
/// Under loom, a first level with room for two keys, so that a model fills it and grows the
/// next one with a few inserts.
#[cfg(loom)]
const FIRST: usize = 4;

/// Seeds the label hashes: random per index, but fixed under loom, whose models must run the
/// same way each time they replay an interleaving.
#[cfg(not(loom))]
type Seed = foldhash::fast::RandomState;
#[cfg(loom)]
type Seed = foldhash::fast::FixedState;

/// One slot: empty until a key and its value are put in it, once.
type Slot<T> = OnceLock<Box<(Box<str>, T)>>;

/// One pending reservation in [`Level::rooms`]; the reserved slots are counted below it.
const PENDING: usize = 1 << (usize::BITS / 2);

struct Level<T> {
    slots: Box<[Slot<T>]>,
    /// Two counts in one word, so that one read sees both at once: the slots reserved by
    /// inserts, at most half of them (the low half), and the reservations not yet settled,
    /// their slot written or the reservation handed back ([`PENDING`] each).
    rooms: AtomicUsize,
    next: OnceLock<Box<Level<T>>>,
}

impl<T> Level<T> {
    fn new(len: usize) -> Self {
        Self {
            slots: (0..len).map(|_| OnceLock::new()).collect(),
            rooms: AtomicUsize::new(0),
            next: OnceLock::new(),
        }
    }

    /// The value of `key` in this level, if it was inserted here.
    #[inline]
    fn find(&self, key: &str, hash: u64) -> Option<&T> {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let entry = self.slots[i].get()?;
            if *entry.0 == *key {
                return Some(&entry.1);
            }
            // At most half the slots are filled, so an empty one ends the probe.
            i = (i + 1) & mask;
        }
    }

    /// Reserves room for one more key, if this level has any; [`settle`](Self::settle) ends
    /// the reservation.
    fn reserve(&self) -> bool {
        // Below `PENDING` whatever the word's size (a level that large is only ever partly
        // used on a 32-bit target; the next takes the rest).
        let half = (self.slots.len() / 2).min(PENDING - 1);
        self.rooms
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n % PENDING < half).then_some(n + PENDING + 1)
            })
            .is_ok()
    }

    /// Ends a reservation: its slot is written, or (`unused`) it is handed back.
    fn settle(&self, unused: bool) {
        self.rooms
            .fetch_sub(PENDING + usize::from(unused), Ordering::Release);
    }

    /// Waits until no reservation of this level is pending, so that every key it will ever
    /// hold is in it. A reservation is settled a few steps after it is taken (the route
    /// limit's admission and the entry's making, which call no recorder), so the wait is for
    /// those steps alone (see [`crate::sync::wait_until`]).
    fn wait_settled(&self) {
        crate::sync::wait_until(|| self.rooms.load(Ordering::Acquire) < PENDING);
    }
}

/// A reservation in a level, settled by [`Reserved::settle`] or, if an insert unwinds before
/// that, handed back when dropped.
struct Reserved<'a, T>(Option<&'a Level<T>>);

impl<T> Reserved<'_, T> {
    fn settle(mut self, unused: bool) {
        if let Some(level) = self.0.take() {
            level.settle(unused);
        }
    }
}

impl<T> Drop for Reserved<'_, T> {
    fn drop(&mut self) {
        if let Some(level) = self.0.take() {
            level.settle(true);
        }
    }
}

/// Keys to values; values are created once and live as long as the index.
pub(crate) struct RouteIndex<T> {
    hasher: Seed,
    first: Level<T>,
}

impl<T> Default for RouteIndex<T> {
    fn default() -> Self {
        Self {
            hasher: Seed::default(),
            first: Level::new(FIRST),
        }
    }
}

impl<T> RouteIndex<T> {
    /// The value of `key`, if it was inserted.
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<&T> {
        let hash = self.hasher.hash_one(key);
        let mut level = &self.first;
        loop {
            if let Some(v) = level.find(key, hash) {
                return Some(v);
            }
            level = level.next.get()?;
        }
    }

    /// The value of `key`, inserting `make()` first when it is new and `admit()` allows it
    /// (`None` when it does not). `admit` is asked at most once, only for a key not found;
    /// when it said yes but another thread inserted the key meanwhile, `release()` undoes it.
    /// `make` runs at most once.
    pub(crate) fn get_or_insert(
        &self,
        key: &str,
        admit: impl FnOnce() -> bool,
        release: impl FnOnce(),
        make: impl FnOnce() -> T,
    ) -> Option<&T> {
        let hash = self.hasher.hash_one(key);
        let mut make = Some(make);
        let mut admit = Some(admit);
        let mut level = &self.first;
        loop {
            if let Some(v) = level.find(key, hash) {
                return Some(v);
            }
            if !level.reserve() {
                // Full: the key may still be on its way into this level from an insert that
                // took the last room. Only once none is pending does it belong to the next.
                level.wait_settled();
                if level.reserve() {
                    // A reservation was handed back meanwhile: try this level again.
                    level.settle(true);
                    continue;
                }
                if let Some(v) = level.find(key, hash) {
                    return Some(v);
                }
                level = level
                    .next
                    .get_or_init(|| Box::new(Level::new(level.slots.len() * 2)));
                continue;
            }
            // Handed back if `admit` or `make` unwinds, so that no insert waits for it.
            let reserved = Reserved(Some(level));
            let mask = level.slots.len() - 1;
            let mut i = hash as usize & mask;
            loop {
                let slot = &level.slots[i];
                let entry = match slot.get() {
                    Some(entry) => entry,
                    None => {
                        if let Some(admit) = admit.take() {
                            if !admit() {
                                reserved.settle(true);
                                // Refused; but an insert of this same key may hold a
                                // reservation here and be putting it in: wait for it.
                                level.wait_settled();
                                return self.get(key);
                            }
                        }
                        slot.get_or_init(|| {
                            let make = make.take().expect("a slot is created once per call");
                            Box::new((key.into(), make()))
                        })
                    }
                };
                if *entry.0 == *key {
                    if make.is_some() {
                        // Found (another thread inserted it): the reservation is unused, and
                        // so is the admission if one was given.
                        reserved.settle(true);
                        if admit.is_none() {
                            release();
                        }
                    } else {
                        reserved.settle(false);
                    }
                    return Some(&entry.1);
                }
                i = (i + 1) & mask;
            }
        }
    }

    /// Every value, in no particular order.
    #[cfg(test)]
    pub(crate) fn values(&self) -> impl Iterator<Item = (&str, &T)> {
        let mut level = Some(&self.first);
        std::iter::from_fn(move || {
            let l = level?;
            level = l.next.get().map(|b| &**b);
            Some(l)
        })
        .flat_map(|l| l.slots.iter().filter_map(|s| s.get()))
        .map(|e| (&*e.0, &e.1))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn keys_are_found_across_levels() {
        let index = RouteIndex::default();
        for i in 0..5_000u32 {
            let key = format!("/r/{i}");
            assert_eq!(index.get_or_insert(&key, || true, || (), || i), Some(&i));
        }
        for i in 0..5_000u32 {
            assert_eq!(index.get(&format!("/r/{i}")), Some(&i));
            // A second insert finds the first value and does not make another.
            let found = index.get_or_insert(&format!("/r/{i}"), || true, || (), || unreachable!());
            assert_eq!(found, Some(&i));
        }
        assert_eq!(index.get("/r/5000"), None);
        assert_eq!(index.values().count(), 5_000);
    }

    #[test]
    fn refused_keys_are_not_inserted() {
        let index = RouteIndex::default();
        assert_eq!(index.get_or_insert("/a", || false, || (), || 1), None);
        assert_eq!(index.get("/a"), None);
        assert_eq!(index.get_or_insert("/a", || true, || (), || 2), Some(&2));
        // A known key needs no admission.
        assert_eq!(index.get_or_insert("/a", || false, || (), || 3), Some(&2));
    }

    #[test]
    fn concurrent_inserts_of_one_key_make_one_value_per_level() {
        for _ in 0..20 {
            let index = Arc::new(RouteIndex::default());
            let made = Arc::new(AtomicU32::new(0));
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let (index, made) = (Arc::clone(&index), Arc::clone(&made));
                    std::thread::spawn(move || {
                        for i in 0..20u32 {
                            let key = format!("/k/{i}");
                            let v = *index
                                .get_or_insert(
                                    &key,
                                    || true,
                                    || (),
                                    || {
                                        made.fetch_add(1, Ordering::Relaxed);
                                        i
                                    },
                                )
                                .unwrap();
                            assert_eq!(v, i);
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            // 20 keys and 4 threads' reservations stay under the first level's 32: no level
            // filled up, so each key was made once.
            assert_eq!(made.load(Ordering::Relaxed), 20);
        }
    }
}

/// The index under loom, with a first level of room 2.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::{Arc, AtomicU32, model};
    use loom::thread;

    /// Inserts `key`, counting the values made in `made`; returns the value's address and the
    /// value.
    fn insert(index: &RouteIndex<u32>, made: &AtomicU32, key: &str, value: u32) -> (usize, u32) {
        let v = index
            .get_or_insert(
                key,
                || true,
                || (),
                || {
                    made.fetch_add(1, Ordering::Relaxed);
                    value
                },
            )
            .expect("admitted");
        (std::ptr::from_ref(v).addr(), *v)
    }

    /// Proves: two threads inserting the same new label into a level with room make its value
    /// once and both get that one value (one index per label, never two), while a look-up
    /// racing them sees nothing or that same value, never a half-made entry.
    #[test]
    fn loom_same_label_inserted_twice_makes_one_value() {
        model(|| {
            let index = Arc::new(RouteIndex::<u32>::default());
            let made = Arc::new(AtomicU32::new(0));
            let racer = |value| {
                let (index, made) = (Arc::clone(&index), Arc::clone(&made));
                thread::spawn(move || insert(&index, &made, "/a", value))
            };
            let (one, two) = (racer(1), racer(2));
            let seen = index.get("/a").map(|v| (std::ptr::from_ref(v).addr(), *v));
            let (one, two) = (one.join().unwrap(), two.join().unwrap());
            assert_eq!(one, two, "one label, two values");
            assert_eq!(made.load(Ordering::Relaxed), 1);
            assert!(seen.is_none() || seen == Some(one));
            assert_eq!(index.get("/a").map(|v| *v), Some(one.1));
        });
    }

    /// Proves: inserts of different labels racing for the last room of a full level (one takes
    /// it, the other grows the next level) both land, each made once and found by every later
    /// look-up; a look-up racing them finds a label's own value or nothing.
    #[test]
    fn loom_inserts_racing_for_the_last_room_grow_the_index() {
        model(|| {
            let index = Arc::new(RouteIndex::<u32>::default());
            let made = Arc::new(AtomicU32::new(0));
            insert(&index, &made, "/x", 0);
            let racer = |key: &'static str, value| {
                let (index, made) = (Arc::clone(&index), Arc::clone(&made));
                thread::spawn(move || insert(&index, &made, key, value))
            };
            let (a, b) = (racer("/a", 1), racer("/b", 2));
            let seen = index.get("/b").copied();
            assert_eq!(a.join().unwrap().1, 1);
            assert_eq!(b.join().unwrap().1, 2);
            assert!(matches!(seen, None | Some(2)));
            assert_eq!(made.load(Ordering::Relaxed), 3);
            for (key, value) in [("/x", 0), ("/a", 1), ("/b", 2)] {
                assert_eq!(index.get(key), Some(&value));
            }
            assert_eq!(index.values().count(), 3);
        });
    }

    /// The race at a level's edge: two inserts of one new label racing for a full level's last
    /// room (one takes it; the other finds the level full) make the label's value once, both
    /// get it, and every later look-up finds it. Without the wait for the full level's pending
    /// reservations, the second would put the label in the next level too.
    #[test]
    fn loom_same_label_racing_for_the_last_room_makes_one() {
        model(|| {
            let index = Arc::new(RouteIndex::<u32>::default());
            let made = Arc::new(AtomicU32::new(0));
            insert(&index, &made, "/x", 0);
            let racer = |value| {
                let (index, made) = (Arc::clone(&index), Arc::clone(&made));
                thread::spawn(move || insert(&index, &made, "/a", value))
            };
            let (one, two) = (racer(1), racer(2));
            let (one, two) = (one.join().unwrap(), two.join().unwrap());
            assert_eq!(
                made.load(Ordering::Relaxed),
                2,
                "\"/x\" and \"/a\", once each"
            );
            assert_eq!(one, two);
            let found = index.get("/a").map(|v| (std::ptr::from_ref(v).addr(), *v));
            assert_eq!(found, Some(one));
        });
    }
}
