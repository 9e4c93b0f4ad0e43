//! How one side of a layer (HTTP or gRPC) records its requests, apart from where their series
//! are: the switches the request path reads as a request starts and ends.

use crate::clock::Clock;
use crate::log::RequestLog;

/// The request path's switches of one side of a layer.
#[derive(Clone, Debug)]
pub(crate) struct Recording {
    /// Where request durations get their time (the system clock unless a test opts in).
    pub(crate) clock: Clock,
    /// Request logs, when on.
    pub(crate) log: Option<RequestLog>,
    /// Whether requests carry their trace id to the recorder, for exemplars.
    pub(crate) exemplars: bool,
    /// Whether each request's body size is counted: for the body-size histograms or the log.
    pub(crate) counts_request_body: bool,
    /// Whether the time to the response head is measured.
    pub(crate) time_to_head: bool,
    /// Whether outcomes are told apart by status class rather than status.
    pub(crate) status_classes: bool,
    /// Whether outcomes are told apart by protocol version (the naming has that label).
    pub(crate) protocol_versions: bool,
}

#[cfg(test)]
impl Default for Recording {
    fn default() -> Self {
        Self {
            clock: Clock::Std,
            log: None,
            exemplars: false,
            counts_request_body: false,
            time_to_head: false,
            status_classes: false,
            protocol_versions: false,
        }
    }
}
