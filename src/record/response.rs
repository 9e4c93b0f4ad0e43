//! What a response's head and end say about how a request went: the body length the response
//! declares, and how a gRPC call ended.

use super::{ErrorType, Outcome};
use crate::grpc::{GrpcCall, GrpcCode};

/// How a gRPC call ended: the status the server sent (in the head or the trailers), unless the
/// response failed otherwise.
///
/// A call dropped before any status (`end` is `Cancelled`) is `CANCELLED`, or
/// `DEADLINE_EXCEEDED` when its `grpc-timeout` had passed by then: a deadline, the server's or
/// the client's, gave up on it. A response stream that ended without a status is `UNKNOWN`:
/// the gRPC protocol requires one.
pub(super) fn grpc_outcome(
    call: &GrpcCall,
    end: Option<ErrorType>,
    elapsed: std::time::Duration,
) -> Outcome {
    match (call.status, end) {
        (Some(code), None | Some(ErrorType::Cancelled)) => Outcome::call(Some(code), None),
        (None, Some(ErrorType::Cancelled)) => Outcome::call(Some(call.dropped(elapsed)), None),
        (None, None) => Outcome::call(Some(GrpcCode::Unknown), None),
        (code, Some(error)) => Outcome::call(code, Some(error)),
    }
}

/// The body length a response declares: its body's exact size hint (which hyper turns into a
/// `Content-Length`), else its `Content-Length` header (a stream whose length the handler
/// states).
///
/// The size hint comes first because it costs no header look-up, and most bodies (in-memory
/// ones) have one; a body whose exact length disagrees with its own header is a handler bug
/// that the server reports anyway.
pub(super) fn declared_length<B: http_body::Body>(response: &http::Response<B>) -> Option<u64> {
    if let Some(exact) = response.body().size_hint().exact() {
        return Some(exact);
    }
    let value = response.headers().get(http::header::CONTENT_LENGTH)?;
    // Digits only (`u64::from_str` would also take a leading `+`), as HTTP writes it.
    if !value.as_bytes().iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value.as_bytes()).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::declared_length;

    /// A streamed body (no exact size hint) with `value` as its `Content-Length`.
    fn with_length(value: &[u8]) -> Option<Option<u64>> {
        let value = http::HeaderValue::from_bytes(value).ok()?;
        let response = http::Response::builder()
            .header(http::header::CONTENT_LENGTH, value)
            .body(http_body_util::StreamBody::new(
                futures_util::stream::empty::<Result<http_body::Frame<bytes::Bytes>, ()>>(),
            ))
            .ok()?;
        Some(declared_length(&response))
    }

    #[test]
    fn declared_length_is_the_exact_size_hint_else_the_header() {
        assert_eq!(with_length(b"18"), Some(Some(18)));
        assert_eq!(with_length(b"-1"), Some(None));
        assert_eq!(with_length(b"+18"), Some(None));
        assert_eq!(with_length(b""), Some(None));
        assert_eq!(with_length(b"18446744073709551616"), Some(None));
        let full = http::Response::new(http_body_util::Full::new(bytes::Bytes::from("abc")));
        assert_eq!(declared_length(&full), Some(3));
        let stream = http::Response::new(http_body_util::StreamBody::new(
            futures_util::stream::empty::<Result<http_body::Frame<bytes::Bytes>, ()>>(),
        ));
        assert_eq!(declared_length(&stream), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any header value: no panic, and a length only when it is exactly a `u64`.
        #[test]
        fn any_content_length_header_is_parsed_or_ignored(
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
            number in proptest::prelude::any::<u64>(),
        ) {
            if let Some(got) = with_length(&value) {
                let digits = value.iter().all(u8::is_ascii_digit);
                let expected = std::str::from_utf8(&value)
                    .ok()
                    .filter(|_| digits)
                    .and_then(|s| s.parse::<u64>().ok());
                proptest::prop_assert_eq!(got, expected);
            }
            proptest::prop_assert_eq!(with_length(number.to_string().as_bytes()), Some(Some(number)));
        }
    }
}
