//! Method slots: the methods that get a label value of their own, and the one value of all
//! the others.

use http::Method;

/// The label value of every method outside the known ones.
///
/// WebDAV verbs, `PURGE` and any other method the layer does not know are all recorded under this
/// one value, so a client that invents methods cannot create new series.
pub const OTHER_METHOD: &str = "_OTHER";

/// The methods that get a label value of their own unless the layer is told otherwise: the nine
/// of RFC 9110 and RFC 5789, and `QUERY`, as the OpenTelemetry HTTP conventions list them.
pub const DEFAULT_KNOWN_METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY",
];

/// The most methods a layer can be told to know.
pub const MAX_KNOWN_METHODS: usize = 64;

/// The position of a standard method in [`DEFAULT_KNOWN_METHODS`], found without comparing
/// strings.
fn standard_index(method: &Method) -> Option<usize> {
    Some(match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::CONNECT => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::PATCH => 8,
        _ => return None,
    })
}

/// A label value that lives as long as the process: method names are set when layers are built,
/// so each distinct name is kept once, however many layers use it.
fn intern(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock, PoisonError};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The methods a layer gives a label value of their own, each in a slot; the last slot is
/// [`OTHER_METHOD`].
#[derive(Clone, Debug)]
pub(crate) struct KnownMethods {
    labels: Box<[&'static str]>,
    /// The slot of each standard method (by [`standard_index`]).
    standard: [u8; 9],
    /// The other known methods and their slots.
    extensions: Box<[(Method, u8)]>,
}

impl Default for KnownMethods {
    fn default() -> Self {
        // Every default name is a valid method token.
        let methods = DEFAULT_KNOWN_METHODS.map(|m| Method::from_bytes(m.as_bytes()));
        let known: Vec<Method> = methods.into_iter().flatten().collect();
        Self::build(&known)
    }
}

impl KnownMethods {
    /// Exactly `methods` (duplicates once), then [`OTHER_METHOD`].
    pub(crate) fn new(methods: impl IntoIterator<Item = Method>) -> Result<Self, usize> {
        let mut known: Vec<Method> = Vec::new();
        for m in methods {
            if !known.contains(&m) {
                known.push(m);
            }
        }
        if known.len() > MAX_KNOWN_METHODS {
            return Err(known.len());
        }
        Ok(Self::build(&known))
    }

    /// `POST` alone, in slot 0: the method of every gRPC call.
    pub(crate) fn post_only() -> Self {
        Self::build(&[Method::POST])
    }

    /// `known` must be distinct and at most [`MAX_KNOWN_METHODS`].
    fn build(known: &[Method]) -> Self {
        let other = known.len() as u8;
        let mut standard = [other; 9];
        let mut extensions = Vec::new();
        for (slot, m) in known.iter().enumerate() {
            match standard_index(m) {
                Some(i) => standard[i] = slot as u8,
                None => extensions.push((m.clone(), slot as u8)),
            }
        }
        let labels = known
            .iter()
            .map(|m| intern(m.as_str()))
            .chain([OTHER_METHOD])
            .collect();
        Self {
            labels,
            standard,
            extensions: extensions.into(),
        }
    }

    /// The slot of `method`.
    #[inline]
    pub(crate) fn slot(&self, method: &Method) -> usize {
        // Most requests are `GET`: one comparison settles them.
        if *method == Method::GET {
            return usize::from(self.standard[0]);
        }
        match standard_index(method) {
            Some(i) => usize::from(self.standard[i]),
            None => self
                .extensions
                .iter()
                .find(|(m, _)| m == method)
                .map_or(self.other(), |(_, slot)| usize::from(*slot)),
        }
    }

    /// The label value of `slot`.
    pub(crate) fn label(&self, slot: usize) -> &'static str {
        self.labels.get(slot).copied().unwrap_or(OTHER_METHOD)
    }

    /// The slot of [`OTHER_METHOD`].
    pub(crate) fn other(&self) -> usize {
        self.labels.len() - 1
    }

    /// How many slots there are, [`OTHER_METHOD`]'s included.
    pub(crate) fn slots(&self) -> usize {
        self.labels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_map_to_slots() {
        let known = KnownMethods::default();
        assert_eq!(known.label(known.slot(&Method::GET)), "GET");
        assert_eq!(known.label(known.slot(&Method::PATCH)), "PATCH");
        let query = Method::from_bytes(b"QUERY").unwrap();
        assert_eq!(known.label(known.slot(&query)), "QUERY");
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(known.label(known.slot(&propfind)), OTHER_METHOD);
        assert_eq!(known.slots(), 11);
    }

    #[test]
    fn known_methods_can_be_replaced() {
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        let known = KnownMethods::new([Method::GET, propfind.clone(), Method::GET]).unwrap();
        assert_eq!(known.slots(), 3);
        assert_eq!(known.label(known.slot(&propfind)), "PROPFIND");
        assert_eq!(known.label(known.slot(&Method::POST)), OTHER_METHOD);
        let many = (0..65).map(|i| Method::from_bytes(format!("M{i}").as_bytes()).unwrap());
        assert_eq!(KnownMethods::new(many).unwrap_err(), 65);
    }
}
