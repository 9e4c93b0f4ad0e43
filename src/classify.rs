//! What a request's outcome was: its method bucket, its status, and whether (and how) it failed.

use http::{Method, StatusCode};

/// The label value of every method outside the known ones.
///
/// WebDAV verbs, `PURGE` and any other method the layer does not know are all recorded under this
/// one value, so a client that invents methods cannot create new series.
pub const OTHER_METHOD: &str = "_OTHER";

/// The methods that get a label value of their own unless the layer is told otherwise: the nine
/// of RFC 9110 and RFC 5789, and `QUERY`, as the OpenTelemetry HTTP conventions list them.
pub const DEFAULT_KNOWN_METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY",
];

/// The most methods a layer can be told to know.
pub const MAX_KNOWN_METHODS: usize = 64;

/// The position of a standard method in [`DEFAULT_KNOWN_METHODS`], found without comparing
/// strings.
fn standard_index(method: &Method) -> Option<usize> {
    Some(match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::CONNECT => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::PATCH => 8,
        _ => return None,
    })
}

/// A label value that lives as long as the process: method names are set when layers are built,
/// so each distinct name is kept once, however many layers use it.
fn intern(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock, PoisonError};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The methods a layer gives a label value of their own, each in a slot; the last slot is
/// [`OTHER_METHOD`].
#[derive(Clone, Debug)]
pub(crate) struct KnownMethods {
    labels: Box<[&'static str]>,
    /// The slot of each standard method (by [`standard_index`]).
    standard: [u8; 9],
    /// The other known methods and their slots.
    extensions: Box<[(Method, u8)]>,
}

impl Default for KnownMethods {
    fn default() -> Self {
        // Every default name is a valid method token.
        let methods = DEFAULT_KNOWN_METHODS.map(|m| Method::from_bytes(m.as_bytes()));
        let known: Vec<Method> = methods.into_iter().flatten().collect();
        Self::build(&known)
    }
}

impl KnownMethods {
    /// Exactly `methods` (duplicates once), then [`OTHER_METHOD`].
    pub(crate) fn new(methods: impl IntoIterator<Item = Method>) -> Result<Self, usize> {
        let mut known: Vec<Method> = Vec::new();
        for m in methods {
            if !known.contains(&m) {
                known.push(m);
            }
        }
        if known.len() > MAX_KNOWN_METHODS {
            return Err(known.len());
        }
        Ok(Self::build(&known))
    }

    /// `POST` alone, in slot 0: the method of every gRPC call.
    pub(crate) fn post_only() -> Self {
        Self::build(&[Method::POST])
    }

    /// `known` must be distinct and at most [`MAX_KNOWN_METHODS`].
    fn build(known: &[Method]) -> Self {
        let other = known.len() as u8;
        let mut standard = [other; 9];
        let mut extensions = Vec::new();
        for (slot, m) in known.iter().enumerate() {
            match standard_index(m) {
                Some(i) => standard[i] = slot as u8,
                None => extensions.push((m.clone(), slot as u8)),
            }
        }
        let labels = known
            .iter()
            .map(|m| intern(m.as_str()))
            .chain([OTHER_METHOD])
            .collect();
        Self {
            labels,
            standard,
            extensions: extensions.into(),
        }
    }

    /// The slot of `method`.
    #[inline]
    pub(crate) fn slot(&self, method: &Method) -> usize {
        // Most requests are `GET`: one comparison settles them.
        if *method == Method::GET {
            return usize::from(self.standard[0]);
        }
        match standard_index(method) {
            Some(i) => usize::from(self.standard[i]),
            None => self
                .extensions
                .iter()
                .find(|(m, _)| m == method)
                .map_or(self.other(), |(_, slot)| usize::from(*slot)),
        }
    }

    /// The label value of `slot`.
    pub(crate) fn label(&self, slot: usize) -> &'static str {
        self.labels.get(slot).copied().unwrap_or(OTHER_METHOD)
    }

    /// The slot of [`OTHER_METHOD`].
    pub(crate) fn other(&self) -> usize {
        self.labels.len() - 1
    }

    /// How many slots there are, [`OTHER_METHOD`]'s included.
    pub(crate) fn slots(&self) -> usize {
        self.labels.len()
    }
}

/// A request's `network.protocol.version`: its label value and a small code for series keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ProtocolVersion {
    pub(crate) label: &'static str,
    code: u8,
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

/// Why a request counts as failed.
///
/// The default naming scheme puts [`ErrorType::as_str`] in the `error_type` label; requests that
/// did not fail have no `error_type` label at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorType {
    /// The response status was 500 or above; the label value is the status code (`"503"`).
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
    Grpc(crate::GrpcCode),
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

/// How a request ended, as the layer saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Outcome {
    pub(crate) status: Option<StatusCode>,
    pub(crate) error: Option<ErrorType>,
    /// The request's `network.protocol.version`, when the naming has that label.
    pub(crate) version: Option<ProtocolVersion>,
    /// The status of a gRPC call (none for HTTP requests, and for calls that ended without
    /// one).
    pub(crate) grpc: Option<crate::GrpcCode>,
}

impl Outcome {
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
        }
    }

    /// A gRPC call that ended with `code` (if it got one) and then `end`: an error when the
    /// code is a server error, or when `end` says so.
    pub(crate) fn call(code: Option<crate::GrpcCode>, end: Option<ErrorType>) -> Self {
        let error = end.or_else(|| code.filter(|c| c.is_server_error()).map(ErrorType::Grpc));
        Self {
            status: None,
            error,
            version: None,
            grpc: code,
        }
    }

    /// No response at all.
    pub(crate) fn failed(error: ErrorType) -> Self {
        Self {
            status: None,
            error: Some(error),
            version: None,
            grpc: None,
        }
    }

    /// The same outcome for a request of protocol `version`.
    #[inline]
    pub(crate) fn with_version(self, version: Option<ProtocolVersion>) -> Self {
        Self { version, ..self }
    }

    /// A compact key: 16 bits of status (0 when none; 1000 and up for gRPC codes), 8 bits of
    /// protocol version and 8 bits of error kind.
    #[inline]
    pub(crate) fn key(&self) -> u32 {
        let status = match self.grpc {
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
    fn methods_map_to_slots() {
        let known = KnownMethods::default();
        assert_eq!(known.label(known.slot(&Method::GET)), "GET");
        assert_eq!(known.label(known.slot(&Method::PATCH)), "PATCH");
        let query = Method::from_bytes(b"QUERY").unwrap();
        assert_eq!(known.label(known.slot(&query)), "QUERY");
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(known.label(known.slot(&propfind)), OTHER_METHOD);
        assert_eq!(known.slots(), 11);
    }

    #[test]
    fn known_methods_can_be_replaced() {
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        let known = KnownMethods::new([Method::GET, propfind.clone(), Method::GET]).unwrap();
        assert_eq!(known.slots(), 3);
        assert_eq!(known.label(known.slot(&propfind)), "PROPFIND");
        assert_eq!(known.label(known.slot(&Method::POST)), OTHER_METHOD);
        let many = (0..65).map(|i| Method::from_bytes(format!("M{i}").as_bytes()).unwrap());
        assert_eq!(KnownMethods::new(many).unwrap_err(), 65);
    }

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
