//! The series of gRPC calls: `rpc.server.duration` by method, status code and error, and the
//! in-flight gauge by method.

use metrics::{Key, KeyName, Recorder, Unit};

use super::{OutcomeHandles, Registrar};
use crate::classify::Outcome;
use crate::names::{self, Naming};

/// Sends the `# HELP` texts and units of the gRPC series.
pub(super) fn describe(n: &Naming, r: &dyn Recorder) {
    let name = |s: &metrics::SharedString| KeyName::from(s.clone());
    r.describe_histogram(
        name(n.rpc_duration_shared()),
        Some(Unit::Seconds),
        names::RPC_DURATION_HELP.into(),
    );
    r.describe_gauge(
        name(n.rpc_active_shared()),
        None,
        names::RPC_ACTIVE_HELP.into(),
    );
}

/// The in-flight gauge's key of the method `route` (and the request labels of `slot`).
pub(super) fn active_key(registrar: &Registrar, route: &str, slot: usize) -> Key {
    let n = &registrar.naming;
    let labels = [(n.rpc_system_key(), "grpc"), (n.rpc_method_key(), route)];
    registrar.key_at(n.rpc_active_shared(), &labels, slot)
}

/// The handles of `outcome` of the method `route` (and the request labels of `slot`): its
/// duration, with its status code and its error type when it has them.
pub(super) fn outcome_handles(
    registrar: &Registrar,
    route: &str,
    slot: usize,
    outcome: Outcome,
) -> OutcomeHandles {
    let n = &registrar.naming;
    let mut labels: Vec<(&'static str, &str)> =
        vec![(n.rpc_system_key(), "grpc"), (n.rpc_method_key(), route)];
    if let Some(code) = outcome.grpc {
        labels.push((n.rpc_status_key(), code.as_str()));
    }
    if let Some(e) = &outcome.error {
        labels.push((n.rpc_error_key(), e.as_str()));
    }
    OutcomeHandles::duration(registrar.histogram(&registrar.key_at(
        n.rpc_duration_shared(),
        &labels,
        slot,
    )))
}
