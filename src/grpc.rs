//! gRPC: which requests are gRPC calls, which method they name, and the status they ended with.
//!
//! Every gRPC call is an HTTP/2 `POST` answered with HTTP 200; its outcome travels in the
//! `grpc-status` trailer (or in the head, for a trailers-only response). With gRPC support on
//! ([`RouteMeterBuilder::grpc`](crate::RouteMeterBuilder::grpc)), requests whose
//! `content-type` is `application/grpc` (or `application/grpc+proto`, `…;charset`) are
//! recorded as calls, in the metric families of the OpenTelemetry RPC conventions, with the
//! status read from the response. Nothing here depends on a gRPC framework: the layer only
//! reads headers and trailers.

use std::collections::HashSet;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};

/// The `rpc.method` value of calls to methods the layer does not recognise, as the
/// OpenTelemetry RPC conventions prescribe (the gRPC counterpart of
/// [`UNMATCHED_ROUTE`](crate::UNMATCHED_ROUTE)).
pub const OTHER_RPC_METHOD: &str = "_OTHER";

/// The longest method name (`package.Service/Method`) the layer records; longer ones are
/// [`OTHER_RPC_METHOD`].
pub const MAX_RPC_METHOD_LEN: usize = 256;

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

/// Whether a request is a gRPC call: its `content-type` is `application/grpc`, alone or followed
/// by `+` (a codec, `application/grpc+proto`) or `;` (parameters). gRPC-Web
/// (`application/grpc-web…`), which carries its trailers in the body, is not.
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return false;
    };
    let v = value.as_bytes();
    v.len() >= GRPC.len()
        && v[..GRPC.len()].eq_ignore_ascii_case(GRPC)
        && matches!(v.get(GRPC.len()), None | Some(b'+' | b';'))
}

/// The deadline of a call, from its `grpc-timeout` header: 1 to 8 digits and a unit (`H`, `M`,
/// `S`, `m`, `u`, `n`). `None` when absent or malformed (then the call has no deadline).
pub(crate) fn timeout(headers: &HeaderMap) -> Option<Duration> {
    parse_timeout(headers.get("grpc-timeout")?.as_bytes())
}

/// See [`timeout`].
fn parse_timeout(value: &[u8]) -> Option<Duration> {
    let (unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The method a request path names, `package.Service/Method` for `/package.Service/Method`, when
/// it is well formed: a service of letters, digits, `_` and `.`, a method of letters, digits and
/// `_`, at most [`MAX_RPC_METHOD_LEN`] bytes in all.
pub(crate) fn method_of_path(path: &str) -> Option<&str> {
    let name = path.strip_prefix('/')?;
    check_method(name).ok()?;
    Some(name)
}

fn check_service(service: &str) -> Result<(), &'static str> {
    if service.is_empty() {
        return Err("the service name is empty");
    }
    if service.starts_with('.') || service.ends_with('.') || service.contains("..") {
        return Err("the service name has an empty part between dots");
    }
    if !service
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return Err("the service name holds a character other than letters, digits, `_` and `.`");
    }
    Ok(())
}

fn check_method_name(method: &str) -> Result<(), &'static str> {
    if method.is_empty() {
        return Err("the method name is empty");
    }
    if !method
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err("the method name holds a character other than letters, digits and `_`");
    }
    Ok(())
}

fn check_method(name: &str) -> Result<(), &'static str> {
    if name.len() > MAX_RPC_METHOD_LEN {
        return Err("the method is longer than MAX_RPC_METHOD_LEN bytes");
    }
    let (service, method) = name
        .split_once('/')
        .ok_or("a method is `package.Service/Method`")?;
    check_service(service)?;
    check_method_name(method)
}

/// A service or method name given to
/// [`RouteMeterBuilder::grpc_service`](crate::RouteMeterBuilder::grpc_service) that cannot be
/// one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcNameError {
    name: String,
    reason: &'static str,
}

impl std::fmt::Display for GrpcNameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid gRPC name {:?}: {}", self.name, self.reason)
    }
}

impl std::error::Error for GrpcNameError {}

/// The gRPC settings of a layer: on or off, and the methods it recognises.
#[derive(Clone, Debug, Default)]
pub(crate) struct GrpcMethods {
    /// `package.Service/Method` of every declared method; empty means every well-formed
    /// method is recognised.
    declared: HashSet<Box<str>, foldhash::fast::RandomState>,
}

impl GrpcMethods {
    /// Declares the `methods` of `service`.
    pub(crate) fn declare<'a>(
        &mut self,
        service: &str,
        methods: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), GrpcNameError> {
        let error = |name: &str, reason| GrpcNameError {
            name: name.to_owned(),
            reason,
        };
        check_service(service).map_err(|r| error(service, r))?;
        let mut any = false;
        for method in methods {
            any = true;
            let full = format!("{service}/{method}");
            check_method_name(method).map_err(|r| error(method, r))?;
            check_method(&full).map_err(|r| error(&full, r))?;
            self.declared.insert(full.into());
        }
        if any {
            Ok(())
        } else {
            Err(error(service, "no method was given for the service"))
        }
    }

    /// The `rpc.method` value of a request path: the method when recognised, else `None`
    /// (recorded as [`OTHER_RPC_METHOD`]).
    pub(crate) fn recognise<'a>(&self, path: &'a str) -> Option<&'a str> {
        let name = method_of_path(path)?;
        (self.declared.is_empty() || self.declared.contains(name)).then_some(name)
    }
}

/// What the layer knows of a gRPC call while it runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GrpcCall {
    /// The status, once seen in the head or the trailers.
    pub(crate) status: Option<GrpcCode>,
    /// The call's deadline (`grpc-timeout`), if it has one.
    pub(crate) deadline: Option<Duration>,
}

impl GrpcCall {
    /// Reads the status of a response head: its `grpc-status` (a trailers-only response), or
    /// the mapping of a non-200 HTTP status.
    pub(crate) fn head(&mut self, status: StatusCode, headers: &HeaderMap) {
        if let Some(value) = headers.get("grpc-status") {
            self.status = Some(GrpcCode::from_header(value));
        } else if status != StatusCode::OK {
            self.status = Some(GrpcCode::from_http(status));
        }
    }

    /// Reads the status of a trailers frame.
    pub(crate) fn trailers(&mut self, trailers: &HeaderMap) {
        if let Some(value) = trailers.get("grpc-status") {
            self.status = Some(GrpcCode::from_header(value));
        }
    }

    /// The status of a call that ended after `elapsed` without one: `DEADLINE_EXCEEDED` when
    /// its deadline had passed (a deadline, enforced by the server or by the client, gave up on
    /// it), else `CANCELLED` (the client went away).
    ///
    /// The deadline counts as passed a little early, by 5 % of it (at least 1 ms, at most 1 s):
    /// `grpc-timeout` is the time the client had left when it sent the call, so a client that
    /// gives up at its deadline resets the stream before the server's own clock, started
    /// when the call arrived, reaches it; by as long as the call took to arrive.
    pub(crate) fn dropped(&self, elapsed: Duration) -> GrpcCode {
        match self.deadline {
            Some(deadline) if elapsed + deadline_slack(deadline) >= deadline => {
                GrpcCode::DeadlineExceeded
            }
            _ => GrpcCode::Cancelled,
        }
    }
}

/// How early a deadline counts as passed (see [`GrpcCall::dropped`]).
fn deadline_slack(deadline: Duration) -> Duration {
    (deadline / 20).clamp(Duration::from_millis(1), Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn content_types() {
        for yes in [
            "application/grpc",
            "application/grpc+proto",
            "application/GRPC+json",
            "application/grpc;charset=utf-8",
        ] {
            assert!(is_grpc(&headers(&[("content-type", yes)])), "{yes}");
        }
        for no in [
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/json",
            "application/grp",
            "",
        ] {
            assert!(!is_grpc(&headers(&[("content-type", no)])), "{no}");
        }
        assert!(!is_grpc(&HeaderMap::new()));
    }

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

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout(b"1S"), Some(Duration::from_secs(1)));
        assert_eq!(parse_timeout(b"250m"), Some(Duration::from_millis(250)));
        assert_eq!(
            parse_timeout(b"99999999H"),
            Some(Duration::from_secs(99_999_999 * 3600))
        );
        assert_eq!(parse_timeout(b"123456789S"), None);
        assert_eq!(parse_timeout(b"S"), None);
        assert_eq!(parse_timeout(b"10"), None);
        assert_eq!(parse_timeout(b"10s"), None);
        assert_eq!(parse_timeout(b""), None);
        let h = headers(&[("grpc-timeout", "5m")]);
        assert_eq!(timeout(&h), Some(Duration::from_millis(5)));
    }

    #[test]
    fn methods() {
        assert_eq!(
            method_of_path("/grpc.health.v1.Health/Check"),
            Some("grpc.health.v1.Health/Check")
        );
        for bad in [
            "/", "//", "/a/", "/a/b/c", "/a.b", "a/b", "/.a/b", "/a../b", "/a b/c", "/a/{id}",
        ] {
            assert_eq!(method_of_path(bad), None, "{bad}");
        }
        let mut m = GrpcMethods::default();
        assert_eq!(m.recognise("/x.Y/Z"), Some("x.Y/Z"));
        m.declare("grpc.health.v1.Health", ["Check", "Watch"])
            .unwrap();
        assert_eq!(
            m.recognise("/grpc.health.v1.Health/Check"),
            Some("grpc.health.v1.Health/Check")
        );
        assert_eq!(m.recognise("/grpc.health.v1.Health/List"), None);
        assert_eq!(m.recognise("/x.Y/Z"), None);
        assert!(m.declare("a b", ["C"]).is_err());
        assert!(m.declare("a", ["C/D"]).is_err());
        assert!(m.declare("a", []).is_err());
        let err = m.declare("a", [""]).unwrap_err();
        assert!(err.to_string().starts_with("invalid gRPC name"), "{err}");
    }

    #[test]
    fn dropped_calls() {
        let call = GrpcCall {
            status: None,
            deadline: Some(Duration::from_millis(100)),
        };
        assert_eq!(call.dropped(Duration::from_millis(94)), GrpcCode::Cancelled);
        assert_eq!(
            call.dropped(Duration::from_millis(95)),
            GrpcCode::DeadlineExceeded
        );
        assert_eq!(
            deadline_slack(Duration::from_millis(10)),
            Duration::from_millis(1)
        );
        assert_eq!(
            deadline_slack(Duration::from_secs(60)),
            Duration::from_secs(1)
        );
        let call = GrpcCall {
            status: None,
            deadline: None,
        };
        assert_eq!(call.dropped(Duration::from_secs(1000)), GrpcCode::Cancelled);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any `grpc-timeout`: no panic, and a deadline only for 1 to 8 digits and a unit.
        #[test]
        fn any_timeout_is_parsed_or_ignored(value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12)) {
            let got = parse_timeout(&value);
            let well_formed = value.len() >= 2
                && value.len() <= 9
                && value[..value.len() - 1].iter().all(u8::is_ascii_digit)
                && b"HMSmun".contains(&value[value.len() - 1]);
            proptest::prop_assert_eq!(got.is_some(), well_formed);
        }

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

        /// Any path: a method label only when it is the path without its `/`, well formed and
        /// bounded.
        #[test]
        fn any_path_is_a_method_or_none(path in "/?[a-zA-Z0-9_./ {}*-]{0,20}(/[a-zA-Z0-9_. -]{0,10}){0,2}|\\PC{0,300}") {
            if let Some(m) = method_of_path(&path) {
                proptest::prop_assert_eq!(format!("/{m}"), path.clone());
                proptest::prop_assert!(m.len() <= MAX_RPC_METHOD_LEN);
                proptest::prop_assert_eq!(m.matches('/').count(), 1);
                proptest::prop_assert!(m.bytes().all(|b| b.is_ascii_alphanumeric() || b"_./".contains(&b)));
            }
        }
    }
}
