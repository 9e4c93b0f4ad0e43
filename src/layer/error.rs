//! The one error of the layer's builder: a setting that was refused, and why.

use crate::names::LabelError;

/// A setting of a [`RouteMeterBuilder`](crate::RouteMeterBuilder) that was refused; every
/// builder method that checks its input returns it.
///
/// ```
/// let refused = routemeter::RouteMeterLayer::builder().mount("/static/{*path}").unwrap_err();
/// assert!(matches!(refused, routemeter::LayerError::Mount { .. }));
/// assert_eq!(
///     refused.to_string(),
///     "invalid mount prefix \"/static/{*path}\": it must be a literal path, without `{`, `}` or `*`"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayerError {
    /// A [constant label](crate::RouteMeterBuilder::constant_label) was refused.
    Label(LabelError),
    /// A [mount prefix](crate::RouteMeterBuilder::mount) cannot be one.
    Mount {
        /// The prefix as given.
        prefix: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A [gRPC service or method name](crate::RouteMeterBuilder::grpc_service) cannot be one.
    GrpcName {
        /// The name as given (a service, a method, or the method's full name).
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More than [`MAX_KNOWN_METHODS`](crate::MAX_KNOWN_METHODS) distinct
    /// [known methods](crate::RouteMeterBuilder::known_methods) (how many were given).
    TooManyMethods(usize),
    /// A [request label](crate::RouteMeterBuilder::request_label)'s name was refused.
    RequestLabel(LabelError),
    /// A [request label](crate::RouteMeterBuilder::request_label)'s budget of values is not
    /// between 1 and [`MAX_REQUEST_LABEL_VALUES`](crate::registry::request_label::MAX_REQUEST_LABEL_VALUES).
    RequestLabelBudget {
        /// The label's name.
        label: String,
        /// The budget given.
        max_values: usize,
    },
    /// A [request label](crate::RouteMeterBuilder::request_label) would take the layer's
    /// request labels past 256 combinations of values (each budget plus 2, multiplied).
    RequestLabelCombinations {
        /// The label's name.
        label: String,
        /// How many combinations there would be.
        combinations: usize,
    },
}

impl std::fmt::Display for LayerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Label(e) => write!(f, "constant label: {e}"),
            Self::Mount { prefix, reason } => {
                write!(f, "invalid mount prefix {prefix:?}: {reason}")
            }
            Self::GrpcName { name, reason } => write!(f, "invalid gRPC name {name:?}: {reason}"),
            Self::TooManyMethods(n) => write!(
                f,
                "{n} known methods: at most {}, each one multiplies the series",
                crate::classify::MAX_KNOWN_METHODS
            ),
            Self::RequestLabel(e) => write!(f, "request label: {e}"),
            Self::RequestLabelBudget { label, max_values } => write!(
                f,
                "request label {label:?}: a budget of {max_values} values, where it must be 1 to {}",
                crate::registry::request_label::MAX_REQUEST_LABEL_VALUES
            ),
            Self::RequestLabelCombinations {
                label,
                combinations,
            } => write!(
                f,
                "request label {label:?}: with it the request labels would have {combinations} combinations of values (each budget plus 2, multiplied), where at most {} are allowed; each multiplies the series of every route",
                super::builder::MAX_REQUEST_LABEL_COMBINATIONS
            ),
        }
    }
}

impl std::error::Error for LayerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Label(e) | Self::RequestLabel(e) => Some(e),
            _ => None,
        }
    }
}

impl From<LabelError> for LayerError {
    fn from(e: LabelError) -> Self {
        Self::Label(e)
    }
}
