// The README's relative links, resolved for rustdoc: the first definition of a link label
// wins, so these take precedence over the README's own (which serve GitHub).
#![doc = "[guide]: crate::production_guide"]
#![doc = concat!(
    "[monitoring-files]: https://docs.rs/crate/routemeter/",
    env!("CARGO_PKG_VERSION"),
    "/source/monitoring/"
)]
#![doc = concat!(
    "[live-page-screenshot]: https://docs.rs/crate/routemeter/",
    env!("CARGO_PKG_VERSION"),
    "/source/docs/live-page.png"
)]
// The README's examples use every feature (the test kit, the generator), so it is the crate's
// documentation when every feature is on, as on docs.rs and in `cargo test --all-features --doc`;
// a build with fewer features gets a pointer to it instead of examples that cannot compile.
#![cfg_attr(
    all(feature = "axum", feature = "prometheus", feature = "testing", feature = "monitoring"),
    doc = include_str!("../README.md")
)]
#![cfg_attr(
    not(all(
        feature = "axum",
        feature = "prometheus",
        feature = "testing",
        feature = "monitoring"
    )),
    doc = "Per-route HTTP metrics for tower, hyper and axum services. The full documentation, \
           the README with its tested examples, is built with every feature \
           (`cargo doc --all-features`), as on docs.rs."
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod arena;
mod body;
mod classify;
mod clock;
mod future;
mod grpc;
mod layer;
mod log;
mod meter;
mod meter_ref;
mod names;
mod record;
mod registrar;
mod request_body;
mod route;
mod route_index;
mod series;
mod service;
mod table;
mod trace;

#[cfg(feature = "monitoring")]
#[cfg_attr(docsrs, doc(cfg(feature = "monitoring")))]
pub mod monitoring;
#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
pub mod prometheus;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

/// The production guide: seven practices for watching a web service in production, and what
/// routemeter provides for each.
///
/// (This module holds only documentation: `docs/production.md`, whose examples are tested.)
#[cfg_attr(
    all(feature = "axum", feature = "prometheus", feature = "testing", feature = "monitoring"),
    doc = include_str!("../docs/production.md")
)]
#[cfg_attr(
    not(all(
        feature = "axum",
        feature = "prometheus",
        feature = "testing",
        feature = "monitoring"
    )),
    doc = "(Its examples use every feature: build the docs with `--all-features` to read it.)"
)]
pub mod production_guide {}

pub use body::ResponseBody;
pub use classify::{
    DEFAULT_KNOWN_METHODS, ErrorType, KnownMethodsError, MAX_KNOWN_METHODS, OTHER_METHOD,
};
pub use future::ResponseFuture;
pub use grpc::{GrpcCode, GrpcNameError, MAX_RPC_METHOD_LEN, OTHER_RPC_METHOD};
pub use layer::{RouteMeterBuilder, RouteMeterLayer, UrlScheme};
pub use log::RequestLog;
pub use names::{DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS, LabelError, Naming, NamingScheme};
pub use route::{
    DEFAULT_MAX_ROUTES, DEFAULT_MAX_SERIES, MountError, OVERFLOW_ROUTE, RouteRequest,
    UNMATCHED_ROUTE,
};
pub use service::RouteMeter;

/// A layer with the default settings: `.layer(routemeter::layer())`.
///
/// Same as [`RouteMeterLayer::new`]: records into the global `metrics` recorder with the
/// OpenTelemetry names, routes from axum's `MatchedPath`.
#[must_use]
pub fn layer() -> RouteMeterLayer {
    RouteMeterLayer::new()
}
