//! The live stats page's entry points on [`PrometheusMetrics`]: its axum router, at the default
//! path or another, and its JSON for other frameworks; the page itself is in `live`.

use std::sync::Arc;

#[cfg(feature = "axum")]
use super::super::LivePageError;
use super::super::handle::PrometheusMetrics;

impl PrometheusMetrics {
    fn live(&self) -> &Arc<super::Live> {
        let live = self.live.get_or_init(|| {
            Arc::new(
                super::Live::new(
                    Arc::clone(&self.recorder.store),
                    self.naming.clone(),
                    super::Limits::PAGE,
                )
                .with_labels(Arc::clone(&self.live_labels)),
            )
        });
        live.start();
        live
    }

    /// The live stats page, for axum: an HTML page at `/stats` with a per-route table, its JSON
    /// at `/stats.json`, and its script and style at `/stats.js` and `/stats.css`. Merge it
    /// into the application's router: `.merge(metrics.live_page())`.
    ///
    /// Per route and method, the page shows requests per second, the error percentage split
    /// by error type, p50, p95 and p99 durations, requests in flight and the total count, each
    /// with a sparkline of the last five minutes, and updates every two seconds without a
    /// reload. Its numbers come from this recorder, the one `/metrics` renders.
    ///
    /// A sampler reads the recorder every 2 s, off the request path (on a Tokio task, which
    /// ends when every clone of these metrics and every page router is dropped), and keeps
    /// 150 samples per route and method in fixed-size rings: rates, error percentages and
    /// percentiles over the 10 s before each sample. At most 2,000 route and method pairs get
    /// a history, about 5 KB each with the default buckets; pairs beyond that still show their totals. Call this
    /// within a Tokio runtime, or the sampler starts with the first request to the page.
    ///
    /// The page, script and style are embedded in the crate and load nothing from elsewhere;
    /// every response carries a strict `Content-Security-Policy` (`default-src 'none';
    /// script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; …`) and
    /// `X-Content-Type-Options: nosniff`. Merge it *before* the routemeter layer
    /// (`.merge(metrics.live_page()).layer(metrics.layer())`): axum's `Router::merge` keeps the
    /// fallback of the router merged in, so merging after the layer would replace the measured
    /// fallback with an unmeasured one, and 404s would go unrecorded.
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn live_page<S>(&self) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        super::router(self.live(), "/stats", "stats")
    }

    /// The live stats page of [`live_page`](Self::live_page) at another path: the page at
    /// `path`, its JSON, script and style at `{path}.json`, `{path}.js` and `{path}.css`.
    ///
    /// # Errors
    ///
    /// [`LivePageError`] unless `path` starts with `/`, does not end with `/`, and has only
    /// ASCII letters, digits, `-`, `_`, `.` and `/` (without empty, `.` or `..` segments).
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn live_page_at<S>(&self, path: &str) -> Result<axum::Router<S>, LivePageError>
    where
        S: Clone + Send + Sync + 'static,
    {
        let name = super::check_path(path)?;
        Ok(super::router(self.live(), path, name))
    }

    /// The live page's JSON (what `/stats.json` serves), for serving it from any framework.
    ///
    /// At the top: `interval_ms` and `window_ms` (how often samples are taken and the span
    /// each covers), `capacity` (samples kept), `seq` (the newest sample's number) and
    /// `time_ms` (when it was taken, Unix milliseconds), `instance` (changes when the server
    /// restarts, and with it the numbering), `untracked` (pairs beyond the history limit) and
    /// `routes`, sorted by route then method (then `labels`).
    ///
    /// Per route and method (and, with
    /// [`live_label`](crate::prometheus::PrometheusBuilder::live_label), per value of those
    /// labels the series has, given as `labels`: `[["tenant", "acme"]]`): `total`, `errors_total`, `error_totals` (`[error_type, count]`
    /// pairs) and `in_flight`, read now from the recorder, so they match what `/metrics`
    /// renders at the same moment; `rate`, `error_pct`, `errors` (`[error_type, percent]`),
    /// `p50`, `p95` and `p99` (seconds) over the newest sample's window; and `history`, the
    /// kept samples of each of those (and `in_flight`) numbered from `from` up to the
    /// top-level `seq`. With `since`, the history holds only the samples after that number
    /// (all kept ones when it is older than the oldest kept). Missing values are `null`.
    #[must_use]
    pub fn live_json(&self, since: Option<u64>) -> String {
        self.live().json(since)
    }
}
