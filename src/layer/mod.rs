//! The layer: [`RouteMeterLayer`] wraps each service it is applied to in a [`RouteMeter`],
//! sharing one route table and one set of metric handles among its clones. How a layer is
//! configured is in `builder` ([`RouteMeterBuilder`]), and why a setting is refused in
//! `error` ([`LayerError`]); the middleware it makes is the service (`service`), its response
//! future (`future`), the response body (`body`) and the counted request body
//! (`request_body`).

use tower::Layer;

use crate::registry::meter_ref::MeterRef;
use service::RouteMeter;

pub(crate) mod body;
mod builder;
mod error;
pub(crate) mod future;
pub(crate) mod nesting;
pub(crate) mod request_body;
pub(crate) mod service;

pub use builder::RouteMeterBuilder;
pub use error::LayerError;

/// A [`Layer`] that wraps a service in [`RouteMeter`].
///
/// Clones share one route table and one set of metric handles, so adding the same layer to
/// several routers counts their routes together; two layers built separately keep separate
/// tables (and, with the same recorder and names, still add to the same series).
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "user" }))
///     .layer(routemeter::RouteMeterLayer::new());
/// ```
#[derive(Clone)]
pub struct RouteMeterLayer {
    meter: MeterRef,
}

impl RouteMeterLayer {
    /// A layer with the default settings: records into the `metrics` facade's global recorder
    /// (picking it up even if it is installed after the layer is built), with the
    /// OpenTelemetry names, routes from axum's `MatchedPath` and at most
    /// [`DEFAULT_MAX_ROUTES`](crate::DEFAULT_MAX_ROUTES) distinct routes.
    #[must_use]
    pub fn new() -> Self {
        RouteMeterBuilder::defaults().build()
    }

    /// The builder of a layer with other settings, starting from the defaults of
    /// [`new`](Self::new). (A recorder handle's `layer_builder`, such as
    /// [`PrometheusMetrics::layer_builder`](crate::prometheus::PrometheusMetrics::layer_builder),
    /// gives the same builder with its recorder and names already set.)
    pub fn builder() -> RouteMeterBuilder {
        RouteMeterBuilder::defaults()
    }
}

impl Default for RouteMeterLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for RouteMeterLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMeterLayer")
            .field("meter", &*self.meter)
            .finish()
    }
}

impl<S> Layer<S> for RouteMeterLayer {
    type Service = RouteMeter<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RouteMeter::new(inner, self.meter.clone())
    }
}
