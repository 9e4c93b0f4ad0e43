//! The request's transport: its `url.scheme` and its `network.protocol.version`.

use super::OTHER_METHOD;

/// The `url.scheme` a layer records for requests whose URI names none (the usual case: HTTP/1.1
/// requests carry only a path). Set it to [`Https`](Self::Https) when TLS is terminated in
/// front of the service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlScheme {
    /// `http` (the default).
    #[default]
    Http,
    /// `https`.
    Https,
}

/// A request's `network.protocol.version`: its label value and a small code for series keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ProtocolVersion {
    pub(crate) label: &'static str,
    pub(super) code: u8,
}

/// The `network.protocol.version` of an HTTP version.
pub(crate) fn protocol_version(version: http::Version) -> ProtocolVersion {
    let (label, code) = match version {
        http::Version::HTTP_11 => ("1.1", 1),
        http::Version::HTTP_2 => ("2", 2),
        http::Version::HTTP_10 => ("1.0", 3),
        http::Version::HTTP_3 => ("3", 4),
        http::Version::HTTP_09 => ("0.9", 5),
        _ => (OTHER_METHOD, 6),
    };
    ProtocolVersion { label, code }
}

/// The value of `url.scheme`: `http` or `https` from the request URI when it names one, else
/// the layer's setting (a client cannot create other values).
pub(crate) fn url_scheme(uri: &http::Uri, default: &'static str) -> &'static str {
    match uri.scheme_str() {
        Some("https") => "https",
        Some("http") => "http",
        _ => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_and_version_values_are_bounded() {
        let uri: http::Uri = "https://example.com/a".parse().unwrap();
        assert_eq!(url_scheme(&uri, "http"), "https");
        let uri: http::Uri = "foo://example.com/a".parse().unwrap();
        assert_eq!(url_scheme(&uri, "http"), "http");
        assert_eq!(url_scheme(&"/a".parse().unwrap(), "https"), "https");
        assert_eq!(protocol_version(http::Version::HTTP_2).label, "2");
        assert_eq!(protocol_version(http::Version::HTTP_10).label, "1.0");
        assert_ne!(
            protocol_version(http::Version::HTTP_2),
            protocol_version(http::Version::HTTP_11)
        );
    }
}
