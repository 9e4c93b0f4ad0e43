//! What a request carries besides its series: the few facts read as bits, and what only some
//! requests need (the request log's span, a gRPC call's status, a local recorder's table),
//! behind one box that other requests do not allocate.

use crate::grpc::GrpcCall;
use crate::log::{Finished, LogState};
use crate::registry::recording::Recording;
use crate::registry::series::MethodSeries;
use crate::registry::table::Table;

/// What only some requests carry.
#[derive(Default)]
pub(super) struct Extra {
    /// The request's span, when request logs are on.
    pub(super) log: Option<LogState>,
    /// Set for gRPC calls.
    pub(super) grpc: Option<GrpcCall>,
    /// The request's own series table, when it is recorded into a thread's local recorder
    /// (see [`Located::SCOPED`](crate::registry::located::Located::SCOPED)).
    pub(super) scoped: Option<Box<Table>>,
}

impl Extra {
    /// What `recording` wants kept for this request, when it wants anything.
    #[inline]
    pub(super) fn start(
        recording: &Recording,
        series: &MethodSeries,
        grpc: bool,
        headers: &http::HeaderMap,
    ) -> Option<Box<Self>> {
        if recording.log.is_none() && !grpc {
            return None;
        }
        Some(Self::start_cold(recording, series, grpc, headers))
    }

    #[cold]
    fn start_cold(
        recording: &Recording,
        series: &MethodSeries,
        grpc: bool,
        headers: &http::HeaderMap,
    ) -> Box<Self> {
        let log = recording
            .log
            .as_ref()
            .map(|config| config.start(series.method, &series.route, headers));
        let grpc = grpc.then(|| GrpcCall {
            status: None,
            deadline: crate::grpc::timeout(headers),
        });
        Box::new(Self {
            log,
            grpc,
            scoped: None,
        })
    }

    /// Writes the request log's `request finished` event for `done`, when the request has a
    /// log span.
    #[cold]
    pub(super) fn log_finished(&self, config: &crate::log::RequestLog, done: &Finished<'_>) {
        if let Some(log) = &self.log {
            log.finish(config, done);
        }
    }
}

/// Settings and facts of one request that are read as bits.
#[derive(Clone, Copy)]
pub(super) struct Flags(pub(super) u8);

impl Flags {
    /// A `HEAD` request: its response has no body.
    pub(super) const HEAD_REQUEST: u8 = 1;
    /// The request body was empty as it arrived: its size is 0 without counting.
    pub(super) const REQUEST_EMPTY: u8 = 2;
    /// The request body's size is wanted (for the body-size histogram or the log).
    pub(super) const COUNTS_REQUEST_BODY: u8 = 4;
    /// The time to the response head is recorded.
    pub(super) const TIME_TO_HEAD: u8 = 8;
    /// The response head had an informational status other than 101, which a server does not
    /// send as a final response (hyper answers 500 instead, without a body).
    pub(super) const NOT_FINAL: u8 = 16;

    #[inline]
    pub(super) fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
}
