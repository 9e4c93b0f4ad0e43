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
    /// between 1 and [`MAX_REQUEST_LABEL_VALUES`](crate::MAX_REQUEST_LABEL_VALUES), or takes
    /// the layer's request labels past 256 combinations of values (the budget given).
    RequestLabelBudget(usize),
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
            Self::RequestLabelBudget(n) => write!(
                f,
                "a request label's budget of {n} values: it must be 1 to {}, and all request labels' (each plus 2) multiply to at most 256, since each value multiplies the series",
                crate::MAX_REQUEST_LABEL_VALUES
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
