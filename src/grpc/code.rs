//! The gRPC status codes: their numbers and names, which ones count as server errors, and how
//! a client reads one from a `grpc-status` value or from an HTTP status without one.

use http::{HeaderValue, StatusCode};

/// A gRPC status code, as carried by `grpc-status`.
///
/// The label value is the code's name (`OK`, `DEADLINE_EXCEEDED`, …), as the OpenTelemetry
/// RPC conventions write `rpc.status_code`. A `grpc-status` that is not one of the 17 codes
/// is [`Unknown`](Self::Unknown), as gRPC clients read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum GrpcCode {
    /// 0: not an error.
    Ok = 0,
    /// 1: the call was cancelled, typically by the client.
    Cancelled = 1,
    /// 2: unknown error (a server error).
    Unknown = 2,
    /// 3: the client sent an invalid argument.
    InvalidArgument = 3,
    /// 4: the deadline expired before the call completed (a server error).
    DeadlineExceeded = 4,
    /// 5: a requested entity was not found.
    NotFound = 5,
    /// 6: the entity a client tried to create already exists.
    AlreadyExists = 6,
    /// 7: the caller may not do this.
    PermissionDenied = 7,
    /// 8: a resource (a quota, the file system) is exhausted.
    ResourceExhausted = 8,
    /// 9: the system is not in a state the operation needs.
    FailedPrecondition = 9,
    /// 10: the operation was aborted (a concurrency conflict).
    Aborted = 10,
    /// 11: the operation went past the valid range.
    OutOfRange = 11,
    /// 12: the method is not implemented or not supported (a server error).
    Unimplemented = 12,
    /// 13: an internal error (a server error).
    Internal = 13,
    /// 14: the service is unavailable (a server error).
    Unavailable = 14,
    /// 15: unrecoverable data loss or corruption (a server error).
    DataLoss = 15,
    /// 16: the request has no valid credentials.
    Unauthenticated = 16,
}

const CODES: [GrpcCode; 17] = [
    GrpcCode::Ok,
    GrpcCode::Cancelled,
    GrpcCode::Unknown,
    GrpcCode::InvalidArgument,
    GrpcCode::DeadlineExceeded,
    GrpcCode::NotFound,
    GrpcCode::AlreadyExists,
    GrpcCode::PermissionDenied,
    GrpcCode::ResourceExhausted,
    GrpcCode::FailedPrecondition,
    GrpcCode::Aborted,
    GrpcCode::OutOfRange,
    GrpcCode::Unimplemented,
    GrpcCode::Internal,
    GrpcCode::Unavailable,
    GrpcCode::DataLoss,
    GrpcCode::Unauthenticated,
];

impl GrpcCode {
    /// The code of a number; numbers outside 0 to 16 are [`Unknown`](Self::Unknown).
    #[must_use]
    pub fn from_number(n: i64) -> Self {
        usize::try_from(n)
            .ok()
            .and_then(|i| CODES.get(i).copied())
            .unwrap_or(Self::Unknown)
    }

    /// The number `grpc-status` carries.
    #[must_use]
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The name, as in `rpc.status_code`: `OK`, `CANCELLED`, `DEADLINE_EXCEEDED`, ….
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Cancelled => "CANCELLED",
            Self::Unknown => "UNKNOWN",
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Self::NotFound => "NOT_FOUND",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Self::FailedPrecondition => "FAILED_PRECONDITION",
            Self::Aborted => "ABORTED",
            Self::OutOfRange => "OUT_OF_RANGE",
            Self::Unimplemented => "UNIMPLEMENTED",
            Self::Internal => "INTERNAL",
            Self::Unavailable => "UNAVAILABLE",
            Self::DataLoss => "DATA_LOSS",
            Self::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The code named `name` (`"NOT_FOUND"`), if it is one.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        CODES.iter().copied().find(|c| c.as_str() == name)
    }

    /// Whether a server that ends a call with this code failed, as the OpenTelemetry gRPC
    /// conventions count it: `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`,
    /// `UNAVAILABLE` and `DATA_LOSS`. The other codes describe the request (a missing
    /// entity, a bad argument, a client that cancelled), not a fault of the server.
    #[must_use]
    pub fn is_server_error(self) -> bool {
        matches!(
            self,
            Self::Unknown
                | Self::DeadlineExceeded
                | Self::Unimplemented
                | Self::Internal
                | Self::Unavailable
                | Self::DataLoss
        )
    }

    /// Every code, `OK` first.
    #[must_use]
    pub fn all() -> &'static [GrpcCode] {
        &CODES
    }

    /// The code a gRPC client reads from a `grpc-status` value: its decimal number, or
    /// [`Unknown`](Self::Unknown) when it is not a number from 0 to 16.
    pub(crate) fn from_header(value: &HeaderValue) -> Self {
        let bytes = value.as_bytes();
        if bytes.is_empty() || bytes.len() > 3 || !bytes.iter().all(u8::is_ascii_digit) {
            return Self::Unknown;
        }
        let n = bytes.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        Self::from_number(n)
    }

    /// The code a gRPC client reads from a response without `grpc-status` whose HTTP status is
    /// not 200, as the gRPC HTTP-to-status mapping has it.
    pub(crate) fn from_http(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::Internal,
            401 => Self::Unauthenticated,
            403 => Self::PermissionDenied,
            404 => Self::Unimplemented,
            429 | 502..=504 => Self::Unavailable,
            _ => Self::Unknown,
        }
    }
}

impl From<GrpcCode> for u16 {
    fn from(code: GrpcCode) -> Self {
        code as u16
    }
}

impl std::fmt::Display for GrpcCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let code = |v: &'static str| GrpcCode::from_header(&HeaderValue::from_static(v));
        assert_eq!(code("0"), GrpcCode::Ok);
        assert_eq!(code("4"), GrpcCode::DeadlineExceeded);
        assert_eq!(code("16"), GrpcCode::Unauthenticated);
        assert_eq!(code("17"), GrpcCode::Unknown);
        assert_eq!(code("-1"), GrpcCode::Unknown);
        assert_eq!(code("OK"), GrpcCode::Unknown);
        for (i, c) in GrpcCode::all().iter().enumerate() {
            assert_eq!(usize::from(c.number()), i);
            assert_eq!(GrpcCode::from_name(c.as_str()), Some(*c));
        }
        let errors: Vec<_> = GrpcCode::all()
            .iter()
            .filter(|c| c.is_server_error())
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            errors,
            [
                "UNKNOWN",
                "DEADLINE_EXCEEDED",
                "UNIMPLEMENTED",
                "INTERNAL",
                "UNAVAILABLE",
                "DATA_LOSS"
            ]
        );
        assert_eq!(
            GrpcCode::from_http(StatusCode::SERVICE_UNAVAILABLE),
            GrpcCode::Unavailable
        );
        assert_eq!(
            GrpcCode::from_http(StatusCode::NOT_FOUND),
            GrpcCode::Unimplemented
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any `grpc-status` value: one of the 17 codes, the number itself when it is one.
        #[test]
        fn any_status_is_a_code(value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..6), n in 0u8..=16) {
            if let Ok(v) = HeaderValue::from_bytes(&value) {
                let code = GrpcCode::from_header(&v);
                proptest::prop_assert!(GrpcCode::all().contains(&code));
            }
            let v = HeaderValue::from_str(&n.to_string()).unwrap();
            proptest::prop_assert_eq!(GrpcCode::from_header(&v).number(), n);
        }
    }
}
