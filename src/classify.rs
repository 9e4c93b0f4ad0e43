//! What a request's outcome was: its method bucket, its status, and whether (and how) it failed.

use http::{Method, StatusCode};

/// The label value of every method outside the nine standard ones.
///
/// WebDAV verbs, `PURGE` and any other extension method are all recorded under this one value, so a
/// client that invents methods cannot create new series.
pub const OTHER_METHOD: &str = "_OTHER";

/// The nine methods of RFC 9110 and RFC 5789, each with its own label value; index
/// [`METHOD_SLOTS`]` - 1` is [`OTHER_METHOD`].
const METHODS: [&str; METHOD_SLOTS] = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    OTHER_METHOD,
];

pub(crate) const METHOD_SLOTS: usize = 10;

/// Maps a method to its slot in [`METHODS`]: standard methods by identity, all others to `_OTHER`.
pub(crate) fn method_slot(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::CONNECT => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::PATCH => 8,
        _ => 9,
    }
}

pub(crate) fn method_label(slot: usize) -> &'static str {
    METHODS[slot]
}

/// Why a request counts as failed.
///
/// The default naming scheme puts [`ErrorType::as_str`] in the `error_type` label; requests that
/// did not fail have no `error_type` label at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorType {
    /// The response status was 500 or above; the label value is the status code (`"503"`).
    Status(StatusCode),
    /// The inner service returned `Err` instead of a response: `"service_error"`.
    Service,
    /// The inner service returned a timeout error instead of a response: `"timeout"` (the value
    /// OpenTelemetry lists for server-side timeouts).
    ///
    /// An error is a timeout when it, or an error in its `source()` chain, is tower's
    /// `tower::timeout::error::Elapsed` or an `std::io::Error` of kind `TimedOut`. The error
    /// type the layer sees must be one of those, or a `tower::BoxError` (`Box<dyn Error + Send +
    /// Sync>`, which `tower::timeout::Timeout` returns) holding one. A timeout layer *outside*
    /// routemeter drops the request instead, which is recorded as [`Cancelled`](Self::Cancelled).
    Timeout,
    /// The response body yielded an error while streaming: `"body_error"`.
    Body,
    /// The inner service panicked while the layer polled it: `"panic"`.
    Panic,
    /// The response future or the response body was dropped before the response was complete
    /// (client went away, a timeout fired, the server shut down): `"cancelled"`.
    Cancelled,
}

impl ErrorType {
    /// The label value.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Status(status) => status.as_str(),
            Self::Service => "service_error",
            Self::Timeout => "timeout",
            Self::Body => "body_error",
            Self::Panic => "panic",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status label used for this failure by the axum-prometheus scheme when no response
    /// status was seen.
    pub(crate) fn fallback_status(self) -> StatusCode {
        match self {
            Self::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            Self::Status(status) => status,
            Self::Service | Self::Timeout | Self::Body | Self::Panic => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// What an inner service's error says about the request: [`ErrorType::Timeout`] for a timeout,
/// else [`ErrorType::Service`].
///
/// The error's type is only known to be `'static`, so this looks for the error types that carry
/// a timeout (see [`ErrorType::Timeout`]) with `Any`; anything else is a service error.
pub(crate) fn service_error_type<E: 'static>(error: &E) -> ErrorType {
    let any = error as &dyn std::any::Any;
    let timeout = if let Some(boxed) = any.downcast_ref::<tower::BoxError>() {
        is_timeout(boxed.as_ref())
    } else if let Some(io) = any.downcast_ref::<std::io::Error>() {
        is_timeout(io)
    } else {
        any.is::<tower::timeout::error::Elapsed>()
    };
    if timeout {
        ErrorType::Timeout
    } else {
        ErrorType::Service
    }
}

/// Whether `error` or an error in its `source()` chain is a timeout.
fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    // Bounded: a cyclic chain cannot keep this looping.
    let mut next = Some(error);
    for _ in 0..32 {
        let Some(error) = next else { break };
        if error.is::<tower::timeout::error::Elapsed>() {
            return true;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
            // An `io::Error` wrapping another error reports that error's source, not the
            // error itself.
            if let Some(inner) = io.get_ref() {
                next = Some(inner);
                continue;
            }
        }
        next = error.source();
    }
    false
}

/// How a request ended, as the layer saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Outcome {
    pub(crate) status: Option<StatusCode>,
    pub(crate) error: Option<ErrorType>,
}

impl Outcome {
    /// A response head with `status` whose body then ended with `end`.
    pub(crate) fn response(status: StatusCode, end: Option<ErrorType>) -> Self {
        let error = end.or_else(|| {
            status
                .is_server_error()
                .then_some(ErrorType::Status(status))
        });
        Self {
            status: Some(status),
            error,
        }
    }

    /// No response at all.
    pub(crate) fn failed(error: ErrorType) -> Self {
        Self {
            status: None,
            error: Some(error),
        }
    }

    /// A compact key: 16 bits of status (0 when none) and 8 bits of error kind.
    pub(crate) fn key(&self) -> u32 {
        let status = self.status.map_or(0, |s| u32::from(s.as_u16()));
        let error = match self.error {
            None => 0,
            Some(ErrorType::Status(_)) => 1,
            Some(ErrorType::Service) => 2,
            Some(ErrorType::Body) => 3,
            Some(ErrorType::Panic) => 4,
            Some(ErrorType::Cancelled) => 5,
            Some(ErrorType::Timeout) => 6,
        };
        status << 8 | error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_map_to_slots() {
        assert_eq!(method_label(method_slot(&Method::GET)), "GET");
        assert_eq!(method_label(method_slot(&Method::PATCH)), "PATCH");
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(method_slot(&propfind)), OTHER_METHOD);
    }

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

    #[test]
    fn timeouts_are_told_apart_from_other_service_errors() {
        use tower::timeout::error::Elapsed;
        let elapsed: tower::BoxError = Box::new(Elapsed::new());
        assert_eq!(service_error_type(&elapsed), ErrorType::Timeout);
        assert_eq!(service_error_type(&Elapsed::new()), ErrorType::Timeout);
        let io = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(service_error_type(&io), ErrorType::Timeout);
        // Wrapped: found through `source()`.
        let wrapped = std::io::Error::other(Elapsed::new());
        assert_eq!(service_error_type(&wrapped), ErrorType::Timeout);
        let refused: tower::BoxError = "connection refused".into();
        assert_eq!(service_error_type(&refused), ErrorType::Service);
        assert_eq!(
            service_error_type(&std::io::Error::other("disk")),
            ErrorType::Service
        );
        assert_eq!(service_error_type(&"a string"), ErrorType::Service);
        assert_eq!(ErrorType::Timeout.as_str(), "timeout");
        assert_ne!(
            Outcome::failed(ErrorType::Timeout).key(),
            Outcome::failed(ErrorType::Service).key()
        );
    }

    #[test]
    fn fallback_status_for_compat_scheme() {
        assert_eq!(ErrorType::Cancelled.fallback_status().as_u16(), 499);
        assert_eq!(ErrorType::Panic.fallback_status().as_u16(), 500);
    }
}
