//! One gRPC call as the layer sees it: recognised by its `content-type`, its status read from
//! the response head or trailers, and the status of a call that ended without one.

use std::time::Duration;

use http::{HeaderMap, StatusCode};

use super::code::GrpcCode;

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
    use http::HeaderValue;

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
}
