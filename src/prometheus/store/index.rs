//! Finding a series again without a second copy of its labels.
//!
//! A series keeps its labels once, as the text it is written with. Two maps lead to it, each by
//! a 64-bit hash and each checked against that text, so a hash that two series share costs a
//! comparison, never a wrong series:
//!
//! - the facade's keys ([`Inner::find`]): by the hash `metrics` keeps in every [`Key`] (which
//!   does not depend on the labels' order either), checked by reading the key against the
//!   series' text, without allocating for a key whose labels are written as recorded and in
//!   the order first given ([`writes_as`]), so a `counter!(…)` that registers on every call
//!   stays a look-up (in another order, the labels are compared as a set);
//! - a family's label sets ([`LabelSets`]): by a hash of the written `(name, value)` pairs that
//!   does not depend on their order, so the same labels given in another order are one series.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::{BuildHasher, Hasher};

use metrics::Key;

use super::super::exposition::text;
use super::labels::written_pairs;
use super::{Cell, Inner, Series};

/// Places a hash that is already a hash in a table: one multiplication, after mixing in a
/// key of this table's own, so that hashes that agree in their low bits (the bits a table
/// places by) without being equal do not pile up in one place. Hashing the hash again with
/// `std`'s SipHash cost more than comparing what it finds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mix(u64);

impl Default for Mix {
    fn default() -> Self {
        // Odd, so the multiplication loses nothing.
        Self(RandomState::new().hash_one(0_u8) | 1)
    }
}

impl BuildHasher for Mix {
    type Hasher = Mixed;

    fn build_hasher(&self) -> Mixed {
        Mixed {
            key: self.0,
            hash: 0,
        }
    }
}

/// The hasher [`Mix`] builds.
#[derive(Debug)]
pub(super) struct Mixed {
    key: u64,
    hash: u64,
}

impl Hasher for Mixed {
    fn finish(&self) -> u64 {
        self.hash
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        let x = (self.hash ^ n ^ self.key).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.hash = x ^ (x >> 29);
    }
}

/// Values found by a 64-bit hash that more than one of them may share.
#[derive(Debug)]
pub(super) struct ByHash<T> {
    first: HashMap<u64, T, Mix>,
    /// The values after the first with a hash already taken, by that hash and a second one of
    /// what tells them apart, so that many values behind one hash are not searched one by one.
    more: HashMap<(u64, u64), Vec<T>, Mix>,
}

impl<T> Default for ByHash<T> {
    fn default() -> Self {
        let mix = Mix::default();
        Self {
            first: HashMap::with_hasher(mix),
            more: HashMap::with_hasher(mix),
        }
    }
}

impl<T: Copy> ByHash<T> {
    /// The value of `hash` for which `is` holds; `second` gives the second hash of what is
    /// looked for (see [`ByHash::insert`]), asked only when the first value is not it.
    pub(super) fn find(
        &self,
        hash: u64,
        mut is: impl FnMut(T) -> bool,
        second: impl FnOnce() -> u64,
    ) -> Option<T> {
        let first = *self.first.get(&hash)?;
        if is(first) {
            return Some(first);
        }
        if self.more.is_empty() {
            return None;
        }
        self.more
            .get(&(hash, second()))?
            .iter()
            .copied()
            .find(|&v| is(v))
    }

    /// How many values are kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.first.len() + self.more.values().map(Vec::len).sum::<usize>()
    }

    /// The most values a look-up searches one by one.
    #[cfg(test)]
    pub(super) fn longest(&self) -> usize {
        self.more.values().map(Vec::len).max().unwrap_or(0)
    }

    /// Keeps `value` under `hash`; `second` gives a second hash of what `value` stands for,
    /// asked only when `hash` is taken already.
    pub(super) fn insert(&mut self, hash: u64, value: T, second: impl FnOnce() -> u64) {
        match self.first.entry(hash) {
            Entry::Vacant(e) => {
                e.insert(value);
            }
            Entry::Occupied(_) => self.more.entry((hash, second())).or_default().push(value),
        }
    }
}

/// Where a series sits: its family's index, and its place among the family's written series
/// or (with [`SeriesRef::LEFT_OUT`] set) among those no format writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SeriesRef {
    pub(super) family: u32,
    pub(super) at: u32,
}

impl SeriesRef {
    /// Marks a place among a family's left-out series.
    pub(super) const LEFT_OUT: u32 = 1 << 31;
}

/// A family's series by their label set: the same written labels in any order.
#[derive(Debug, Default)]
pub(super) struct LabelSets(ByHash<u32>);

impl LabelSets {
    /// The written series of `series` with the labels `pairs` (written names, values as
    /// recorded), whose set hash is `hash`.
    pub(super) fn find(
        &self,
        hash: u64,
        series: &[Series],
        pairs: &[(String, &str)],
    ) -> Option<u32> {
        // The set hash is keyed by the store: values sharing one are rare, and searched.
        self.0.find(
            hash,
            |at| same_pairs(&series[at as usize].labels, pairs),
            || 0,
        )
    }

    pub(super) fn insert(&mut self, hash: u64, at: u32) {
        self.0.insert(hash, at, || 0);
    }
}

/// A hash of a label set that does not depend on the labels' order: the sum of each pair's
/// hash (the names in a label text are distinct, so no pair cancels another).
pub(super) fn set_hash(hasher: &RandomState, pairs: &[(String, &str)]) -> u64 {
    pairs.iter().fold(0, |sum: u64, (name, value)| {
        sum.wrapping_add(hasher.hash_one((name.as_str(), *value)))
    })
}

/// A hash of a series' identity beside its name: its written labels as a set (`set`, their
/// [`set_hash`]) and its recorded labels when writing changed them. Keys that `metrics` hashes
/// alike (the same labels in another order, which can write another text when two names are
/// written alike) are told apart by it.
pub(super) fn identity(hasher: &RandomState, set: u64, origin: Option<&[u8]>) -> u64 {
    hasher.hash_one((set, origin))
}

/// Whether the label text `written` holds exactly the pairs `pairs`, in any order.
pub(super) fn same_pairs(written: &str, pairs: &[(String, &str)]) -> bool {
    let mut read = Vec::new();
    text::split_label_text(written, &mut read)
        && read.len() == pairs.len()
        && pairs
            .iter()
            .all(|(n, v)| read.iter().any(|(rn, rv)| rn == n && rv == v))
}

/// Whether `key`'s labels are written as recorded: each name valid and not one the format
/// keeps for itself, and none given twice. Only such a key's series has no
/// [`origin`](label_origin).
pub(super) fn plain(key: &Key) -> bool {
    let labels = key.labels();
    labels.clone().enumerate().all(|(i, label)| {
        let name = label.key();
        text::is_label_name(name)
            && !name.starts_with("__")
            && name != "le"
            && name != "quantile"
            && !labels.clone().take(i).any(|l| l.key() == name)
    })
}

/// The labels of `key` as recorded, sorted, when writing them changes them (see [`plain`]);
/// `None` for a plain key. Two keys whose written labels are alike are one series only when
/// this is alike too.
pub(super) fn label_origin(key: &Key) -> Option<Box<[u8]>> {
    if plain(key) {
        return None;
    }
    let mut labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
    labels.sort_unstable();
    // Lengths first: no name or value can pass for another.
    let mut origin = Vec::new();
    for (name, value) in labels {
        for part in [name, value] {
            origin.extend_from_slice(&(part.len() as u64).to_le_bytes());
            origin.extend_from_slice(part.as_bytes());
        }
    }
    Some(origin.into_boxed_slice())
}

/// Whether the plain key `key` (with the store's `constant` labels) writes exactly `written`:
/// its labels in order, then each constant label it does not set itself. Reads the text as it
/// goes, without allocating.
fn writes_as(key: &Key, constant: &[(String, String)], written: &str) -> bool {
    let mut rest = written;
    let mut first = true;
    let mut pair = |name: &str, value: &str| -> bool {
        let after_comma = if first {
            Some(rest)
        } else {
            rest.strip_prefix(',')
        };
        first = false;
        let Some(after) = after_comma
            .and_then(|r| r.strip_prefix(name))
            .and_then(|r| r.strip_prefix("=\""))
            .and_then(|r| strip_label_value(r, value))
            .and_then(|r| r.strip_prefix('"'))
        else {
            return false;
        };
        rest = after;
        true
    };
    for label in key.labels() {
        if !pair(label.key(), label.value()) {
            return false;
        }
    }
    for (name, value) in constant {
        if !key.labels().any(|l| l.key() == name) && !pair(name, value) {
            return false;
        }
    }
    rest.is_empty()
}

/// `text` after `value` as [`text::push_label_value`] escapes it, if it starts so.
#[inline]
fn strip_label_value<'a>(text: &'a str, value: &str) -> Option<&'a str> {
    // Most values need no escape: compared whole.
    if !value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        return text.strip_prefix(value);
    }
    strip_escaped(text, value)
}

/// [`strip_label_value`] for a value with something to escape.
fn strip_escaped<'a>(text: &'a str, value: &str) -> Option<&'a str> {
    let mut rest = text.as_bytes();
    for b in value.bytes() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'"' => b"\\\"",
            b'\n' => b"\\n",
            _ => std::slice::from_ref(&b),
        };
        rest = rest.strip_prefix(escaped)?;
    }
    // Whole characters were matched, so the rest starts at a character boundary.
    text.get(text.len() - rest.len()..)
}

impl Inner {
    /// The storage registered for `key`, if any.
    pub(super) fn find(
        &self,
        key: &Key,
        constant: &[(String, String)],
        hasher: &RandomState,
    ) -> Option<&Cell> {
        let second = || {
            let origin = label_origin(key);
            let set = set_hash(hasher, &written_pairs(key, constant));
            identity(hasher, set, origin.as_deref())
        };
        let found = self.index.find(
            key.get_hash(),
            |r| {
                let family = &self.families[r.family as usize];
                if family.recorded.as_deref() != Some(key.name()) {
                    return false;
                }
                let series = family.at(r.at);
                match series.origin() {
                    // In the order the text was first written, read without allocating (only a
                    // plain key reads as a plain key's text: its names are there as given, once
                    // each, none reserved); in another order, compared as a set.
                    None => {
                        writes_as(key, constant, &series.labels)
                            || (plain(key)
                                && same_pairs(&series.labels, &written_pairs(key, constant)))
                    }
                    // The same labels recorded can write another text in another order (the
                    // first of two names written alike is kept): both must agree.
                    Some(origin) => {
                        label_origin(key).as_deref() == Some(origin)
                            && same_pairs(&series.labels, &written_pairs(key, constant))
                    }
                }
            },
            second,
        )?;
        Some(&self.families[found.family as usize].at(found.at).cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(labels: &[(&'static str, &'static str)]) -> Key {
        super::super::tests::key("m", labels)
    }

    #[test]
    fn a_plain_key_reads_its_own_text_and_no_other() {
        let constant = [("region".to_owned(), "eu".to_owned())];
        let k = key(&[("a", "x\"y\\z\nw"), ("b", "")]);
        let text = "a=\"x\\\"y\\\\z\\nw\",b=\"\",region=\"eu\"";
        assert!(writes_as(&k, &constant, text));
        for other in [
            "a=\"x\\\"y\\\\z\\nw\",b=\"\"",
            "b=\"\",a=\"x\\\"y\\\\z\\nw\",region=\"eu\"",
            "a=\"x\\\"y\\\\z\\nw\",b=\"\",region=\"eu\",c=\"1\"",
            "a=\"x\"y\\\\z\\nw\",b=\"\",region=\"eu\"",
            "a=\"x\\\"y\\\\z\\nw\",b=\"\",region=\"e\"",
        ] {
            assert!(!writes_as(&k, &constant, other), "{other}");
        }
        // A constant label the key sets itself is not written again.
        let own = key(&[("region", "us")]);
        assert!(writes_as(&own, &constant, "region=\"us\""));
        assert!(writes_as(&key(&[]), &constant, "region=\"eu\""));
    }

    #[test]
    fn only_plain_keys_have_no_origin() {
        assert!(plain(&key(&[("a", "1"), ("b_2", "2")])));
        for labels in [
            &[("a.b", "1")][..],
            &[("le", "1")],
            &[("quantile", "1")],
            &[("__x", "1")],
            &[("2a", "1")],
            &[("", "1")],
            &[("a", "1"), ("a", "2")],
        ] {
            let k = key(labels);
            assert!(!plain(&k), "{labels:?}");
            assert!(label_origin(&k).is_some(), "{labels:?}");
        }
        // The origin does not depend on the order, and tells lengths apart.
        assert_eq!(
            label_origin(&key(&[("a.b", "1"), ("c", "2")])),
            label_origin(&key(&[("c", "2"), ("a.b", "1")]))
        );
        assert_ne!(
            label_origin(&key(&[("a.b", "12"), ("c", "")])),
            label_origin(&key(&[("a.b", "1"), ("c", "2")]))
        );
    }

    #[test]
    fn set_hashes_ignore_order_and_pairs_are_compared_whole() {
        let hasher = RandomState::new();
        let ab = [("a".to_owned(), "1"), ("b".to_owned(), "2")];
        let ba = [("b".to_owned(), "2"), ("a".to_owned(), "1")];
        assert_eq!(set_hash(&hasher, &ab), set_hash(&hasher, &ba));
        assert!(same_pairs("b=\"2\",a=\"1\"", &ab));
        assert!(!same_pairs("a=\"1\"", &ab));
        assert!(!same_pairs("a=\"1\",b=\"2\",c=\"3\"", &ab));
        assert!(!same_pairs("a=\"2\",b=\"1\"", &ab));
    }

    #[test]
    fn values_sharing_a_hash_are_each_found() {
        let mut by_hash = ByHash::default();
        by_hash.insert(7, 1_u32, || unreachable!("the first of its hash"));
        by_hash.insert(7, 2, || 20);
        by_hash.insert(7, 4, || 40);
        by_hash.insert(8, 3, || unreachable!("the first of its hash"));
        assert_eq!(by_hash.find(7, |v| v == 2, || 20), Some(2));
        assert_eq!(by_hash.find(7, |v| v == 4, || 40), Some(4));
        assert_eq!(by_hash.find(7, |v| v == 1, || unreachable!()), Some(1));
        // Only the values under the second hash asked for are searched.
        assert_eq!(by_hash.find(7, |v| v == 4, || 20), None);
        assert_eq!(by_hash.find(7, |v| v == 3, || 20), None);
        assert_eq!(by_hash.find(9, |_| true, || 0), None);
    }
}
