//! The checks of the set-up's settings: bucket bounds, native schemas, and the routes given
//! settings of their own.

use super::super::native;
use super::PrometheusError;

/// Why `route` cannot be given settings of its own, if it cannot.
pub(super) fn route_problem(route: &str) -> Option<&'static str> {
    if route.is_empty() {
        Some("it is empty")
    } else if route.len() > 1024 {
        Some("it is longer than 1,024 bytes")
    } else if route.chars().any(char::is_control) {
        Some("it holds a control character")
    } else if !route.starts_with('/') && !crate::grpc::is_method_name(route) {
        Some(
            "it is neither a route template (starting with `/`) nor a gRPC method (`package.Service/Method`)",
        )
    } else {
        None
    }
}

pub(super) fn check_buckets(
    histogram: &'static str,
    bounds: &[f64],
) -> Result<Vec<f64>, PrometheusError> {
    let reason = if bounds.is_empty() {
        Some("no bounds given")
    } else if bounds.iter().any(|b| !b.is_finite()) {
        Some("bounds must be finite (the +Inf bucket is implied)")
    } else if bounds.windows(2).any(|w| w[0] >= w[1]) {
        Some("bounds must be strictly increasing")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(PrometheusError::InvalidBuckets { histogram, reason }),
        None => Ok(bounds.to_vec()),
    }
}

/// Refuses a native schema outside −4..=8.
pub(super) fn check_native_schema(schema: i8) -> Result<(), PrometheusError> {
    if (native::MIN_SCHEMA..=native::MAX_SCHEMA).contains(&schema) {
        Ok(())
    } else {
        Err(PrometheusError::InvalidNativeSchema(schema))
    }
}
