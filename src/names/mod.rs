//! Metric names, label keys, units, descriptions and default buckets.
//!
//! Everything that names a series lives here, so the layer, the Prometheus set-up and anything
//! generated from the metric names (rules, dashboards) agree by construction. The naming
//! schemes and the names they give are in `naming`, their label keys in `keys`, the checks on
//! constant label names in `labels`, the default buckets in `buckets` and the `# HELP` texts in
//! `descriptions`.

mod buckets;
mod descriptions;
#[cfg(any(feature = "prometheus", feature = "monitoring"))]
mod float;
mod keys;
mod labels;
mod naming;
#[cfg(test)]
mod tests;

pub use buckets::{DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS};
pub(crate) use descriptions::{
    ACTIVE_HELP, DURATION_HELP, LABEL_OVERFLOW_HELP, REQUEST_SIZE_HELP, REQUESTS_TOTAL_HELP,
    RESPONSE_SIZE_HELP, ROUTE_OVERFLOW_HELP, RPC_ACTIVE_HELP, RPC_DURATION_HELP, TIME_TO_HEAD_HELP,
};
#[cfg(any(feature = "prometheus", feature = "monitoring"))]
pub(crate) use float::push_f64;
#[cfg(feature = "monitoring")]
pub(crate) use keys::layer_label_keys;
pub use labels::LabelError;
pub(crate) use labels::check_label_name;
pub use naming::{Naming, NamingScheme};
