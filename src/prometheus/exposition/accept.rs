//! Content negotiation of the scrape response: which exposition an `Accept` header prefers.

use super::scrape::Exposition;
use super::text::Format;

/// The format an `Accept` header prefers: the media type with the highest `q` (first wins a
/// tie) among OpenMetrics, plain text and (when `protobuf`) delimited `MetricFamily` protobuf.
pub(crate) fn negotiate(headers: &http::HeaderMap, protobuf: bool) -> Exposition {
    let mut best: Option<(f32, Exposition)> = None;
    for value in headers.get_all(http::header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let format = match media.as_str() {
                "application/openmetrics-text" => Exposition::Text(Format::OpenMetrics),
                "text/plain" | "text/*" | "*/*" => Exposition::Text(Format::Prometheus),
                "application/vnd.google.protobuf" if protobuf && is_metric_family(item) => {
                    Exposition::Protobuf
                }
                _ => continue,
            };
            // Parameter names are case-insensitive (RFC 9110): `Q=0` refuses as `q=0` does.
            let q = parts
                .filter_map(|p| p.split_once('='))
                .filter(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                .find_map(|(_, q)| q.trim().parse::<f32>().ok())
                .filter(|q| q.is_finite() && (0.0..=1.0).contains(q))
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, format));
            }
        }
    }
    best.map_or(Exposition::Text(Format::Prometheus), |(_, f)| f)
}

/// Whether a protobuf media range asks for delimited `io.prometheus.client.MetricFamily`.
fn is_metric_family(item: &str) -> bool {
    let params: Vec<String> = item
        .split(';')
        .skip(1)
        .map(|p| p.trim().to_ascii_lowercase().replace(' ', ""))
        .collect();
    params
        .iter()
        .any(|p| p == "proto=io.prometheus.client.metricfamily")
        && params.iter().any(|p| p == "encoding=delimited")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> Format {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_str(v).unwrap(),
        );
        match negotiate(&h, false) {
            Exposition::Text(f) => f,
            Exposition::Protobuf => panic!("protobuf was not allowed"),
        }
    }

    #[test]
    fn protobuf_is_served_when_asked_first() {
        let scrape = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(
                http::header::ACCEPT,
                http::HeaderValue::from_str(v).unwrap(),
            );
            negotiate(&h, true)
        };
        // What Prometheus sends with native histograms on.
        let prometheus = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(scrape(prometheus), Exposition::Protobuf);
        assert_eq!(accept(prometheus), Format::OpenMetrics);
        // Another message, or the text encoding of protobuf, is not this format.
        assert_eq!(
            scrape("application/vnd.google.protobuf;proto=other.Message;encoding=delimited"),
            Exposition::Text(Format::Prometheus)
        );
        assert_eq!(
            scrape(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"
            ),
            Exposition::Text(Format::Prometheus)
        );
        assert_eq!(
            scrape(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.4,text/plain;q=0.5"
            ),
            Exposition::Text(Format::Prometheus)
        );
    }

    #[test]
    fn accept_header_picks_the_format() {
        assert_eq!(
            negotiate(&http::HeaderMap::new(), true),
            Exposition::Text(Format::Prometheus)
        );
        // What Prometheus sends.
        assert_eq!(
            accept(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            ),
            Format::OpenMetrics
        );
        assert_eq!(accept("text/plain"), Format::Prometheus);
        assert_eq!(
            accept("text/plain;q=0.5, application/openmetrics-text;q=0.9"),
            Format::OpenMetrics
        );
        assert_eq!(
            accept("application/openmetrics-text;q=0, text/plain"),
            Format::Prometheus
        );
        assert_eq!(
            accept("application/openmetrics-text;Q=0, text/plain;q=0.5"),
            Format::Prometheus
        );
        assert_eq!(
            accept("application/openmetrics-text; q = 0.2, text/plain;q=0.5"),
            Format::Prometheus
        );
        assert_eq!(accept("application/json"), Format::Prometheus);
        assert_eq!(
            accept("application/openmetrics-text;q=NaN"),
            Format::OpenMetrics
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn any_header_gives_a_format(value in "[ -~]{0,120}", protobuf in proptest::bool::ANY) {
            let Ok(value) = http::HeaderValue::from_str(&value) else { return Ok(()) };
            let mut h = http::HeaderMap::new();
            h.insert(http::header::ACCEPT, value);
            let got = negotiate(&h, protobuf);
            proptest::prop_assert!(protobuf || got != Exposition::Protobuf);
        }
    }
}
