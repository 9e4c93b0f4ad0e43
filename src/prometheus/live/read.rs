//! One read of the recorder for the live page: per (route, method) pair, the request and error
//! counts, the cumulative duration buckets and the requests in flight, summed over the
//! pair's series the way a scrape would read them.

use std::collections::HashMap;

use super::super::store::{LabelPairs, SeriesRead, Store};
use crate::names::Naming;

/// What one read of the recorder found for one pair.
#[derive(Debug, Default)]
pub(super) struct Read {
    pub(super) count: u64,
    pub(super) errors: u64,
    pub(super) buckets: Vec<u64>,
    pub(super) bounds: Vec<f64>,
    pub(super) error_types: Vec<(Box<str>, u64)>,
    pub(super) in_flight: Option<f64>,
}

/// A row's key: route, method, and the (name, value) of each of the page's labels the series
/// has (none without such labels), kept apart so that no two sets of values read alike.
pub(super) type PairKey = (Box<str>, Box<str>, Box<[(Box<str>, Box<str>)]>);

/// Reads the recorder: the duration histograms and the in-flight gauge, per pair (and values
/// of `kept` labels).
pub(super) fn read(store: &Store, n: &Naming, kept: &[Box<str>]) -> HashMap<PairKey, Read> {
    // The store keeps label names as the exposition writes them (`http.route` is
    // `http_route` there).
    let written = |key: &str| crate::prometheus::exposition::text::label_name(key);
    let (route_key, method_key, status_key) = (
        written(n.route_key()),
        written(n.method_key()),
        written(n.status_key()),
    );
    let error_key = n.error_key().map(written);
    let (route_key, method_key, status_key, error_key) = (
        &*route_key,
        &*method_key,
        &*status_key,
        error_key.as_deref(),
    );
    let mut reads: HashMap<PairKey, Read> = HashMap::new();
    store.visit_family(n.duration(), |labels, value| {
        let SeriesRead::Histogram { bounds, snapshot } = value else {
            return;
        };
        let Some(key) = pair_key(labels, route_key, method_key, kept) else {
            return;
        };
        let read = reads.entry(key).or_default();
        if read.bounds.is_empty() {
            read.bounds = bounds.to_vec();
            read.buckets = vec![0; snapshot.cumulative.len()];
        }
        if read.buckets.len() == snapshot.cumulative.len() {
            for (b, c) in read.buckets.iter_mut().zip(&snapshot.cumulative) {
                *b = b.saturating_add(*c);
            }
        }
        // Saturating: each series' count can be up to 2^62 (see `MAX_COUNT`).
        read.count = read.count.saturating_add(snapshot.count);
        if let Some(error) = error_of(labels, status_key, error_key) {
            read.errors = read.errors.saturating_add(snapshot.count);
            match read.error_types.iter_mut().find(|(t, _)| **t == *error) {
                Some((_, n)) => *n = n.saturating_add(snapshot.count),
                None => read.error_types.push((error.into(), snapshot.count)),
            }
        }
    });
    store.visit_family(n.active(), |labels, value| {
        let v = match value {
            SeriesRead::Float(v) => v,
            SeriesRead::Int(v) => v as f64,
            SeriesRead::Histogram { .. } => return,
        };
        if let Some(key) = pair_key(labels, route_key, method_key, kept) {
            *reads.entry(key).or_default().in_flight.get_or_insert(0.0) += v;
        }
    });
    reads
}

/// The (route, method, kept labels) of a series, when it has a route and a method.
fn pair_key(
    labels: &LabelPairs<'_>,
    route_key: &str,
    method_key: &str,
    kept: &[Box<str>],
) -> Option<PairKey> {
    let route = label(labels, route_key)?;
    let method = label(labels, method_key)?;
    let values = kept
        .iter()
        .filter_map(|name| Some((name.clone(), label(labels, name)?.into())))
        .collect();
    Some((route.into(), method.into(), values))
}

fn label<'a>(labels: &'a LabelPairs<'_>, key: &str) -> Option<&'a str> {
    labels.iter().find(|(k, _)| *k == key).map(|(_, v)| &**v)
}

/// What went wrong in the requests of a series, if they failed: the `error_type` label when
/// the naming has one, else (axum-prometheus names) a status from 500 to 599, or 499 (a
/// request dropped before its response), named by the status.
fn error_of<'a>(
    labels: &'a LabelPairs<'_>,
    status_key: &str,
    error_key: Option<&str>,
) -> Option<&'a str> {
    match error_key {
        Some(key) => label(labels, key).filter(|v| !v.is_empty()),
        None => {
            let status = label(labels, status_key)?;
            // A code, or a class when the layer records classes (`5xx`).
            let code: u16 = match crate::classify::label_class(status) {
                Some(class) => class * 100,
                None => status.parse().ok()?,
            };
            // Server errors as the conventions count them (500 to 599), and hang-ups.
            ((500..600).contains(&code) || code == 499).then_some(status)
        }
    }
}
