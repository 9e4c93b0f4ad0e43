//! The `/metrics` endpoint: the scrape response in the format a scrape asks for (see
//! `accept`), with its content type, for any framework or as an axum handler, and the counts
//! of scrapes and of the renders they shared.

use super::super::handle::PrometheusMetrics;
use super::super::store::PrometheusRecorder;
use super::accept::negotiate;
use super::protobuf;
use super::scrape::Exposition;
use super::text::Format;

/// The `Content-Type` of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `Content-Type` of the Prometheus protobuf format (delimited `MetricFamily` messages),
/// the one that carries native histograms.
pub const PROTOBUF_CONTENT_TYPE: &str = protobuf::CONTENT_TYPE;

/// The `Content-Type` of the OpenMetrics text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Scrapes answered by [`PrometheusMetrics::scrape`].
const SCRAPES: &str = "routemeter_scrapes_total";
/// Renders those scrapes took (concurrent scrapes share one).
const RENDERS: &str = "routemeter_scrape_renders_total";

/// Describes the counts of scrapes and renders in `recorder`.
pub(crate) fn describe(recorder: &PrometheusRecorder) {
    use metrics::Recorder as _;
    recorder.describe_counter(
        SCRAPES.into(),
        None,
        "Scrapes answered by the metrics endpoint.".into(),
    );
    recorder.describe_counter(
        RENDERS.into(),
        None,
        "Renders of the exposition for those scrapes; concurrent scrapes share one.".into(),
    );
}

impl PrometheusMetrics {
    /// The scrape response in the Prometheus text format, for any HTTP framework: status 200,
    /// the format's content type, and the rendered metrics.
    #[must_use]
    pub fn response(&self) -> http::Response<String> {
        self.respond(Format::Prometheus)
    }

    /// The scrape response in the text format the request's `Accept` header prefers:
    /// OpenMetrics (with exemplars) when it lists `application/openmetrics-text` ahead of (or
    /// without) `text/plain`, as Prometheus does, else the Prometheus text format. Its body is
    /// text, so it never answers in protobuf: [`scrape`](Self::scrape) does.
    #[must_use]
    pub fn response_for(&self, headers: &http::HeaderMap) -> http::Response<String> {
        match negotiate(headers, false) {
            Exposition::Text(format) => self.respond(format),
            Exposition::Protobuf => self.respond(Format::Prometheus),
        }
    }

    fn respond(&self, format: Format) -> http::Response<String> {
        let (body, content_type) = match format {
            Format::Prometheus => (self.render(), CONTENT_TYPE),
            Format::OpenMetrics => (self.render_openmetrics(), OPENMETRICS_CONTENT_TYPE),
        };
        let mut response = http::Response::new(body);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
        response
    }

    /// The scrape response for a request with `headers`, in the format its `Accept` header
    /// prefers (as [`response_for`](Self::response_for), and the protobuf format when it comes
    /// first: `application/vnd.google.protobuf` with `proto=io.prometheus.client.MetricFamily`
    /// and `encoding=delimited`), for async servers of any framework.
    ///
    /// Scrapes that arrive together share one render, so any number of concurrent scrapes
    /// costs about one render at a time; yet a scrape never gets a render that started before
    /// it arrived (it waits for the next one), so it sees every request answered before it was
    /// sent. Renders run on Tokio's blocking threads, so request handling goes on meanwhile:
    /// call it within a Tokio runtime. Every scrape counts in `routemeter_scrapes_total`, every
    /// render in `routemeter_scrape_renders_total`.
    pub async fn scrape(&self, headers: &http::HeaderMap) -> http::Response<bytes::Bytes> {
        use metrics::Recorder as _;
        static META: metrics::Metadata<'static> =
            metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);
        let format = negotiate(headers, true);
        let metrics = self.clone();
        // Counted before the render, which then shows this scrape among the scrapes it serves
        // (so renders never run ahead of scrapes).
        self.recorder
            .register_counter(&metrics::Key::from_static_name(SCRAPES), &META)
            .increment(1);
        let renders = self
            .recorder
            .register_counter(&metrics::Key::from_static_name(RENDERS), &META);
        let text = self
            .renders
            .get(format, move || {
                renders.increment(1);
                metrics.render_as(format)
            })
            .await;
        let mut response = http::Response::new(text.clone().unwrap_or_default());
        if text.is_none() {
            *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            return response;
        }
        let content_type = match format {
            Exposition::Text(Format::Prometheus) => CONTENT_TYPE,
            Exposition::Text(Format::OpenMetrics) => OPENMETRICS_CONTENT_TYPE,
            Exposition::Protobuf => PROTOBUF_CONTENT_TYPE,
        };
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
        response
    }

    fn render_as(&self, format: Exposition) -> bytes::Bytes {
        match format {
            Exposition::Text(format) => {
                self.collect();
                let store = &self.recorder.store;
                self.buffers.text(|out| store.render_into(format, out))
            }
            Exposition::Protobuf => self.render_protobuf().into(),
        }
    }

    /// An axum handler for `GET` that serves [`scrape`](Self::scrape):
    /// `.route("/metrics", metrics.endpoint())`.
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn endpoint<S>(&self) -> axum::routing::MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let metrics = self.clone();
        axum::routing::get(move |headers: http::HeaderMap| {
            let metrics = metrics.clone();
            async move { metrics.scrape(&headers).await.map(axum::body::Body::from) }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::prometheus::{PrometheusBuilder, PrometheusMetrics};

    /// Waits (at most 10 s) until `metrics` keeps `n` buffers.
    async fn kept(metrics: &PrometheusMetrics, n: usize) {
        let wait = async {
            while metrics.buffers.kept() != n {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("{} buffers kept, not {n}", metrics.buffers.kept()));
    }

    /// A scrape's text is written into the buffer the last sent body gave back, and reads the
    /// same as a render of its own.
    #[tokio::test]
    async fn scrapes_write_into_the_buffer_the_last_body_gave_back() {
        let metrics = PrometheusBuilder::new()
            .process_metrics(false)
            .runtime_metrics(false)
            .build()
            .unwrap();
        let headers = http::HeaderMap::new();
        let first = metrics.scrape(&headers).await.into_body();
        assert!(first.starts_with(b"# HELP"), "{first:?}");
        assert_eq!(metrics.buffers.kept(), 0);
        let capacity = first.len();
        drop(first);
        // The render's thread hands the body over before it lets go of its own reference.
        kept(&metrics, 1).await;
        let second = metrics.scrape(&headers).await.into_body();
        assert_eq!(metrics.buffers.kept(), 0, "the next scrape took it");
        assert!(second.len() >= capacity);
        let text = std::str::from_utf8(&second).unwrap();
        assert!(text.contains("routemeter_scrapes_total 2\n"), "{text}");
        // While it is held, the next scrape writes into a buffer of its own.
        let third = metrics.scrape(&headers).await.into_body();
        assert_ne!(third.as_ptr(), second.as_ptr());
        assert!(
            std::str::from_utf8(&third)
                .unwrap()
                .contains("routemeter_scrapes_total 3\n")
        );
        drop((second, third));
        kept(&metrics, 2).await;
    }
}
