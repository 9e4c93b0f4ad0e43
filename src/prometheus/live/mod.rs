//! The live stats page: a per-route table with sparklines, served by the application itself.
//!
//! A sampler reads the recorder every [`INTERVAL`](sampler::INTERVAL) (the same series
//! `/metrics` exports, read the way a scrape reads them) and keeps, per route and method, the
//! last [`CAPACITY`](sampler::CAPACITY) samples of request rate, error percentage, p50/p95/p99
//! and requests in flight in fixed-size rings. Rates, error percentages and quantiles of a
//! sample cover the [`WINDOW`](sampler::WINDOW) before it, like `rate(…[10s])` and
//! `histogram_quantile` over it. Nothing is added to the request path: the sampler only reads
//! what the recorder keeps anyway.
//!
//! The data flows one way: `read` takes the recorder's counts per (route, method), `track`
//! keeps one pair's history in `ring`s and turns it into samples (with `crate::quantile`), `sampler`
//! runs it every interval, `json` writes what the page polls, and `routes` serves it with the
//! page's `assets`.
//!
//! The sampler runs on a Tokio task that holds a weak reference to this state, so it ends when
//! the [`PrometheusMetrics`](super::PrometheusMetrics) and every page router are dropped.

#[cfg(feature = "axum")]
mod assets;

mod json;
mod page;
mod read;
mod ring;
#[cfg(feature = "axum")]
mod routes;
mod sampler;
mod track;

#[cfg(feature = "axum")]
pub use routes::LivePageError;
#[cfg(feature = "axum")]
pub(crate) use routes::{check_path, router};
pub(crate) use sampler::{Limits, Live};

#[cfg(test)]
mod tests;
