//! Why a request counts as failed: [`ErrorType`], and how an inner service's error is told
//! apart (a timeout, or anything else).

use http::StatusCode;

/// Why a request counts as failed.
///
/// The default naming scheme puts [`ErrorType::as_str`] in the `error_type` label; requests that
/// did not fail have no `error_type` label at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorType {
    /// The response status was a server error, 500 to 599; the label value is the status code
    /// (`"503"`), or its class (`"5xx"`) with `status_classes`.
    Status(StatusCode),
    /// The inner service returned `Err` instead of a response, for no reason the layer can name:
    /// `"_OTHER"`, the fallback value of the OpenTelemetry conventions.
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
    /// A gRPC call ended with a status the OpenTelemetry gRPC conventions count as a server
    /// error (see [`GrpcCode::is_server_error`](crate::GrpcCode::is_server_error)); the label
    /// value is the status name (`"INTERNAL"`).
    Grpc(crate::grpc::GrpcCode),
}

impl ErrorType {
    /// The label value.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Status(status) => status.as_str(),
            Self::Service => "_OTHER",
            Self::Timeout => "timeout",
            Self::Body => "body_error",
            Self::Panic => "panic",
            Self::Cancelled => "cancelled",
            Self::Grpc(code) => code.as_str(),
        }
    }

    /// The status label used for this failure by the axum-prometheus scheme when no response
    /// status was seen.
    pub(crate) fn fallback_status(self) -> StatusCode {
        match self {
            Self::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            Self::Status(status) => status,
            Self::Service | Self::Timeout | Self::Body | Self::Panic | Self::Grpc(_) => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Outcome;

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
