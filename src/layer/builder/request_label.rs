//! Labels whose values each request gives, within a budget of distinct values.

use std::sync::Arc;

use super::{OVERFLOW_COUNTER_KEY, RouteMeterBuilder};
use crate::layer::LayerError;
use crate::registry::request_label::MAX_REQUEST_LABEL_VALUES;
use crate::route::RouteRequest;

/// How many combinations of values (each label's budget plus its two stand-ins, multiplied)
/// a layer's request labels may have: each is a slot of every route and method.
pub(crate) const MAX_REQUEST_LABEL_COMBINATIONS: usize = 256;

impl RouteMeterBuilder {
    /// Adds a label whose value `value` reads from each request: a tenant from a header, a plan
    /// that authentication middleware put in the extensions, an API version from the path. It
    /// is on every series of the layer (HTTP requests and gRPC calls), beside the route,
    /// method and status.
    ///
    /// At most `max_values` distinct values are kept, the first seen
    /// ([`DEFAULT_REQUEST_LABEL_VALUES`](crate::DEFAULT_REQUEST_LABEL_VALUES), 10, suits most):
    /// a request with a later value is recorded as
    /// [`OVERFLOW_ROUTE`](crate::OVERFLOW_ROUTE) (`__overflow__`) and counted in
    /// `routemeter_label_overflow_total{label="…"}`. A request for which `value` gives `None`,
    /// or a value that is refused (empty, longer than
    /// [`MAX_REQUEST_LABEL_VALUE_LEN`](crate::MAX_REQUEST_LABEL_VALUE_LEN) bytes, with a
    /// control character, or `__overflow__` or `_OTHER` itself) is recorded as
    /// [`OTHER_METHOD`](crate::OTHER_METHOD) (`_OTHER`). Kept values are escaped in every
    /// format like any label value. Each label multiplies the series of each route and method
    /// by up to `max_values + 2`, all within [`max_series`](Self::max_series).
    ///
    /// ```
    /// let layer = routemeter::RouteMeterLayer::builder()
    ///     .request_label("tenant", routemeter::DEFAULT_REQUEST_LABEL_VALUES, |req| {
    ///         req.headers().get("x-tenant")?.to_str().ok()
    ///     })?
    ///     .build();
    /// # Ok::<(), routemeter::LayerError>(())
    /// ```
    ///
    /// The value borrows from the request (a header, an extension, the path) or is
    /// `'static`; a value computed per request (say, lower-cased) belongs in an extension that
    /// a middleware outside this layer puts there. Extensions are seen as they are when the
    /// request reaches this layer: a middleware that sets one must wrap it (be added after it
    /// with `Router::layer`), not sit inside it (`route_layer`, or added before). As a named
    /// function the signature is `fn tenant<'a>(req: &RouteRequest<'a>) -> Option<&'a str>`.
    ///
    /// The function runs on every request: keep it to a look-up. If it panics, the request is
    /// recorded with `_OTHER` and served as usual, and a `tracing` warning names the label
    /// (once).
    ///
    /// # Errors
    ///
    /// [`LayerError::RequestLabel`] when `name` is not a label name (letters, digits, `_`,
    /// and `.` for the OpenTelemetry naming; not starting with a digit), is reserved (`__…`,
    /// `le`, `quantile`, or a label the layer sets itself in any naming scheme: `http_route`,
    /// `status`, `method`, `endpoint`, the `rpc` ones…), or is taken by a constant or another
    /// request label; [`LayerError::Label`] when a constant label is named `label`, the key of
    /// the overflow counter; [`LayerError::RequestLabelBudget`] unless `max_values` is 1 to
    /// [`MAX_REQUEST_LABEL_VALUES`](crate::registry::request_label::MAX_REQUEST_LABEL_VALUES);
    /// [`LayerError::RequestLabelCombinations`] when the layer's request labels together would
    /// have more than 256 combinations of values (each label's budget plus 2, multiplied: two
    /// labels of 10 values make 144).
    pub fn request_label<F>(
        mut self,
        name: &str,
        max_values: usize,
        value: F,
    ) -> Result<Self, LayerError>
    where
        F: for<'a> Fn(&RouteRequest<'a>) -> Option<&'a str> + Send + Sync + 'static,
    {
        let taken = self.label_names();
        crate::names::check_label_name(name, true, &taken).map_err(LayerError::RequestLabel)?;
        if taken.iter().any(|t| t == OVERFLOW_COUNTER_KEY) && self.request_labels.is_empty() {
            // A constant `label` would take the place of the overflow counter's own.
            let key = OVERFLOW_COUNTER_KEY.to_owned();
            return Err(LayerError::Label(crate::names::LabelError::Reserved(key)));
        }
        if !(1..=MAX_REQUEST_LABEL_VALUES).contains(&max_values) {
            return Err(LayerError::RequestLabelBudget {
                label: name.to_owned(),
                max_values,
            });
        }
        // Each label multiplies every route's slots by its values and two stand-ins: all of
        // them together by at most `MAX_REQUEST_LABEL_COMBINATIONS`.
        let combinations: usize = self
            .request_labels
            .iter()
            .map(|(_, max, _)| max + 2)
            .product::<usize>()
            .saturating_mul(max_values + 2);
        if combinations > MAX_REQUEST_LABEL_COMBINATIONS {
            return Err(LayerError::RequestLabelCombinations {
                label: name.to_owned(),
                combinations,
            });
        }
        self.request_labels
            .push((name.to_owned(), max_values, Arc::new(value)));
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use crate::layer::{LayerError, RouteMeterLayer};
    use crate::names::LabelError;
    use crate::route::RouteRequest;

    fn none<'a>(_: &RouteRequest<'a>) -> Option<&'a str> {
        None
    }

    #[test]
    fn names_and_budgets_are_checked() {
        let b = || RouteMeterLayer::builder();
        for name in ["", "1a", "a-b", "__a", "le", "http_route", "http.route"] {
            let err = b().request_label(name, 3, none).unwrap_err();
            assert!(
                matches!(err, LayerError::RequestLabel(_)),
                "{name:?}: {err}"
            );
            assert!(err.to_string().starts_with("request label: "), "{err}");
        }
        // Taken by a constant label, or by another request label.
        let err = b()
            .constant_label("region", "eu")
            .unwrap()
            .request_label("region", 3, none)
            .unwrap_err();
        assert!(
            matches!(err, LayerError::RequestLabel(LabelError::Duplicate(_))),
            "{err}"
        );
        let err = b()
            .request_label("tenant", 3, none)
            .unwrap()
            .request_label("tenant", 3, none)
            .unwrap_err();
        assert!(matches!(err, LayerError::RequestLabel(_)), "{err}");
        for budget in [
            0,
            crate::registry::request_label::MAX_REQUEST_LABEL_VALUES + 1,
            usize::MAX,
        ] {
            let err = b().request_label("tenant", budget, none).unwrap_err();
            let expected = LayerError::RequestLabelBudget {
                label: "tenant".into(),
                max_values: budget,
            };
            assert_eq!(err, expected);
            assert!(err.to_string().contains("\"tenant\""), "{err}");
        }
        assert!(
            b().request_label(
                "tenant",
                crate::registry::request_label::MAX_REQUEST_LABEL_VALUES,
                none
            )
            .is_ok()
        );
        assert!(b().request_label("tenant.id", 1, none).is_ok());
        // Two labels of 10 values make 144 combinations; a third of 1 would make 432.
        let two = b()
            .request_label("tenant", 10, none)
            .unwrap()
            .request_label("plan", 10, none)
            .unwrap();
        let err = two.request_label("region", 1, none).unwrap_err();
        let expected = LayerError::RequestLabelCombinations {
            label: "region".into(),
            combinations: 432,
        };
        assert_eq!(err, expected);
        assert!(err.to_string().contains("432"), "{err}");
        // A constant label after a request label of its name, in either order, is refused;
        // so is a constant `label` beside request labels (the overflow counter's key).
        let err = b()
            .request_label("tenant", 3, none)
            .unwrap()
            .constant_label("tenant", "fixed")
            .unwrap_err();
        assert!(
            matches!(err, LayerError::Label(LabelError::Duplicate(_))),
            "{err}"
        );
        let err = b()
            .request_label("tenant", 3, none)
            .unwrap()
            .constant_label("label", "x")
            .unwrap_err();
        assert!(
            matches!(err, LayerError::Label(LabelError::Reserved(_))),
            "{err}"
        );
        let err = b()
            .constant_label("label", "x")
            .unwrap()
            .request_label("tenant", 3, none)
            .unwrap_err();
        assert!(
            matches!(err, LayerError::Label(LabelError::Reserved(_))),
            "{err}"
        );
        assert!(b().constant_label("label", "x").is_ok());
    }
}
