//! Checks on constant label names: valid, not reserved (by Prometheus or by the layer's own
//! labels, in any naming scheme and as a Prometheus recorder writes them), and not given twice.

use super::keys::layer_label_keys;

/// Why a constant label ([`RouteMeterBuilder::constant_label`](crate::RouteMeterBuilder::constant_label),
/// [`PrometheusBuilder::constant_label`](crate::prometheus::PrometheusBuilder::constant_label)) was
/// refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelError {
    /// Not a label name: it must match `[a-zA-Z_][a-zA-Z0-9_]*` (dots are allowed too where the
    /// names are OpenTelemetry attributes, for the layer's labels).
    Invalid(String),
    /// Reserved: names starting with `__` belong to Prometheus, `le` and `quantile` to
    /// histograms and summaries, and the layer sets its own labels (route, method, status,
    /// error, URL scheme, protocol version, the RPC ones) itself.
    Reserved(String),
    /// Given twice.
    Duplicate(String),
}

impl std::fmt::Display for LabelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(name) => write!(f, "{name:?} is not a label name"),
            Self::Reserved(name) => write!(f, "the label name {name:?} is reserved"),
            Self::Duplicate(name) => write!(f, "the label {name:?} is given twice"),
        }
    }
}

impl std::error::Error for LabelError {}

/// Checks a constant label's name: a valid name (with `dots` allowed or not), not reserved, and not
/// already among `taken`.
pub(crate) fn check_label_name(
    name: &str,
    dots: bool,
    taken: impl IntoIterator<Item = impl AsRef<str>>,
) -> Result<(), LabelError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (dots && c == '.'));
    if !first_ok || !rest_ok {
        return Err(LabelError::Invalid(name.to_owned()));
    }
    let layer_keys = layer_label_keys();
    // A Prometheus recorder writes dots as underscores: a name is checked as given and as
    // written there, so `http_request.method` cannot stand in for the layer's own label.
    let written = name.replace('.', "_");
    let reserved_as = |n: &str| {
        n.starts_with("__")
            || n == "le"
            || n == "quantile"
            || ["rpc.system.name", "rpc.method", "rpc.status_code"].contains(&n)
            || layer_keys
                .iter()
                .any(|k| *k == n || k.replace('.', "_") == n)
    };
    if reserved_as(name) || reserved_as(&written) {
        return Err(LabelError::Reserved(name.to_owned()));
    }
    if taken
        .into_iter()
        .any(|t| t.as_ref() == name || t.as_ref().replace('.', "_") == written)
    {
        return Err(LabelError::Duplicate(name.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_label_names_are_checked() {
        let none: [&str; 0] = [];
        assert_eq!(check_label_name("region", false, none), Ok(()));
        assert_eq!(check_label_name("service.name", true, none), Ok(()));
        for bad in ["", "9a", "a b", "a-b", "é", "service.name"] {
            assert!(
                matches!(
                    check_label_name(bad, false, none),
                    Err(LabelError::Invalid(_))
                ),
                "{bad}"
            );
        }
        for reserved in [
            "__name__",
            "le",
            "quantile",
            "http_route",
            "endpoint",
            "status",
            "error_type",
            "url_scheme",
            "network_protocol_version",
            "rpc_method",
            "http.route",
        ] {
            assert!(
                matches!(
                    check_label_name(reserved, true, none),
                    Err(LabelError::Reserved(_))
                ),
                "{reserved}"
            );
        }
        assert_eq!(
            check_label_name("region", false, ["region"]),
            Err(LabelError::Duplicate("region".into()))
        );
        // Dotted spellings of reserved names, as a Prometheus recorder would write them.
        for dotted in [
            "http_request.method",
            "http_response.status_code",
            "_.name__",
            "rpc_system.name",
        ] {
            assert!(
                matches!(
                    check_label_name(dotted, true, none),
                    Err(LabelError::Reserved(_))
                ),
                "{dotted}"
            );
        }
        assert_eq!(
            check_label_name("a_b", true, ["a.b"]),
            Err(LabelError::Duplicate("a_b".into()))
        );
    }
}
