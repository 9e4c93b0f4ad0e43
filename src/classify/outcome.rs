//! How a request ended, as the layer saw it: the key of its per-outcome series.

use http::StatusCode;

use super::{ErrorType, ProtocolVersion};

/// The class a status label names when the layer records classes (`5xx` gives 5), else
/// `None` (a code, or anything else).
#[cfg(any(feature = "prometheus", feature = "testing"))]
pub(crate) fn label_class(value: &str) -> Option<u16> {
    match value.as_bytes() {
        [digit @ b'1'..=b'9', b'x', b'x'] => Some(u16::from(digit - b'0')),
        _ => None,
    }
}

/// How a request ended, as the layer saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Outcome {
    pub(crate) status: Option<StatusCode>,
    pub(crate) error: Option<ErrorType>,
    /// The request's `network.protocol.version`, when the naming has that label.
    pub(crate) version: Option<ProtocolVersion>,
    /// The status of a gRPC call (none for HTTP requests, and for calls that ended without
    /// one).
    pub(crate) grpc: Option<crate::grpc::GrpcCode>,
    /// Whether the status is keyed by its class (`status_classes`): one series per class. The
    /// status itself stays the one the response had, for the request log and the checks on it.
    pub(crate) class: bool,
}

impl Outcome {
    /// A response with `status`, keyed by its class when `classes` is set, so that a class is
    /// one series (whose labels the registrar writes as the class, `5xx`).
    #[inline]
    pub(crate) fn response_in(status: StatusCode, end: Option<ErrorType>, classes: bool) -> Self {
        Self {
            class: classes,
            ..Self::response(status, end)
        }
    }

    /// A response head with `status` whose body then ended with `end`.
    #[inline]
    pub(crate) fn response(status: StatusCode, end: Option<ErrorType>) -> Self {
        let error = end.or_else(|| {
            status
                .is_server_error()
                .then_some(ErrorType::Status(status))
        });
        Self {
            status: Some(status),
            error,
            version: None,
            grpc: None,
            class: false,
        }
    }

    /// A gRPC call that ended with `code` (if it got one) and then `end`: an error when the
    /// code is a server error, or when `end` says so.
    pub(crate) fn call(code: Option<crate::grpc::GrpcCode>, end: Option<ErrorType>) -> Self {
        let error = end.or_else(|| code.filter(|c| c.is_server_error()).map(ErrorType::Grpc));
        Self {
            status: None,
            error,
            version: None,
            grpc: code,
            class: false,
        }
    }

    /// No response at all.
    pub(crate) fn failed(error: ErrorType) -> Self {
        Self {
            status: None,
            error: Some(error),
            version: None,
            grpc: None,
            class: false,
        }
    }

    /// The same outcome for a request of protocol `version`.
    #[inline]
    pub(crate) fn with_version(self, version: Option<ProtocolVersion>) -> Self {
        Self { version, ..self }
    }

    /// A compact key: 16 bits of status (0 when none; the class's first code, 200 for `2xx`,
    /// when keyed by class; 1000 and up for gRPC codes), 8 bits of protocol version and 8 bits
    /// of error kind.
    #[inline]
    pub(crate) fn key(&self) -> u32 {
        let status = match self.grpc {
            None if self.class => self.status.map_or(0, |s| u32::from(s.as_u16() / 100 * 100)),
            None => self.status.map_or(0, |s| u32::from(s.as_u16())),
            Some(code) => 1000 + u32::from(code.number()),
        };
        let error = match self.error {
            None => 0,
            Some(ErrorType::Status(_)) => 1,
            Some(ErrorType::Service) => 2,
            Some(ErrorType::Body) => 3,
            Some(ErrorType::Panic) => 4,
            Some(ErrorType::Cancelled) => 5,
            Some(ErrorType::Timeout) => 6,
            Some(ErrorType::Grpc(_)) => 7,
        };
        let version = self.version.map_or(0, |v| u32::from(v.code));
        status << 16 | version << 8 | error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_are_errors() {
        let ok = Outcome::response(StatusCode::NOT_FOUND, None);
        assert_eq!(ok.error, None);
        let bad = Outcome::response(StatusCode::BAD_GATEWAY, None);
        assert_eq!(bad.error.unwrap().as_str(), "502");
        let cut = Outcome::response(StatusCode::OK, Some(ErrorType::Cancelled));
        assert_eq!(cut.error.unwrap().as_str(), "cancelled");
        assert_ne!(ok.key(), bad.key());
        assert_ne!(
            Outcome::failed(ErrorType::Panic).key(),
            Outcome::failed(ErrorType::Service).key()
        );
    }

    /// Keyed by class, a status shares its class's series, and keeps its own code for the
    /// request log and for telling axum's 404 from a nested service's answer.
    #[test]
    fn a_class_is_one_key_and_the_status_stays_itself() {
        let by_class = |code| Outcome::response_in(StatusCode::from_u16(code).unwrap(), None, true);
        assert_eq!(by_class(404).key(), by_class(401).key());
        assert_eq!(by_class(503).key(), by_class(500).key());
        assert_ne!(by_class(404).key(), by_class(200).key());
        assert_eq!(by_class(404).status, Some(StatusCode::NOT_FOUND));
        assert_eq!(
            by_class(503).error,
            Some(ErrorType::Status(StatusCode::SERVICE_UNAVAILABLE))
        );
        let by_code = Outcome::response_in(StatusCode::NOT_FOUND, None, false);
        assert_ne!(
            by_code.key(),
            Outcome::response(StatusCode::UNAUTHORIZED, None).key()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any label value: a class only for exactly a digit from 1 to 9 and `xx`, and every
        /// status code's class reads back as its first digit.
        #[cfg(any(feature = "prometheus", feature = "testing"))]
        #[test]
        fn only_class_labels_are_classes(value in "\\PC{0,5}|[0-9]xx|[1-9]x{1,3}", code in 100u16..1000) {
            let b = value.as_bytes();
            let is_class = b.len() == 3 && (b'1'..=b'9').contains(&b[0]) && &b[1..] == b"xx";
            proptest::prop_assert_eq!(label_class(&value).is_some(), is_class);
            proptest::prop_assert_eq!(label_class(&format!("{}xx", code / 100)), Some(code / 100));
            proptest::prop_assert_eq!(label_class(&code.to_string()), None);
        }
    }
}
