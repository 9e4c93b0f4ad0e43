//! How a builder's settings become a layer: the HTTP side's registrar and recording, the gRPC
//! side's when it has one, and the meter they share.

use super::RouteMeterBuilder;
use crate::classify::{KnownMethods, UrlScheme};
use crate::layer::RouteMeterLayer;
use crate::registry::meter::Meter;
use crate::registry::meter_ref::MeterRef;
use crate::registry::recording::Recording;
use crate::registry::registrar::{Family, HttpSeries, Registrar};
use crate::registry::request_label::RequestLabel;
use crate::registry::table::Limits;
use crate::route;

impl RouteMeterBuilder {
    /// Builds the layer.
    #[must_use]
    pub fn build(self) -> RouteMeterLayer {
        let route_fn = if self.mounts.is_empty() {
            self.route_fn
        } else {
            Some(route::with_mounts(self.route_fn, self.mounts))
        };
        let default_scheme = match self.url_scheme {
            UrlScheme::Http => "http",
            UrlScheme::Https => "https",
        };
        let recording = Recording {
            clock: self.clock,
            counts_request_body: self.body_sizes || self.log.is_some(),
            log: self.log,
            exemplars: self.exemplars,
            time_to_head: self.time_to_head,
            status_classes: self.status_classes,
            protocol_versions: self.naming.protocol_version_key().is_some(),
        };
        let request_labels: std::sync::Arc<[RequestLabel]> = self
            .request_labels
            .into_iter()
            .map(|(name, max_values, value)| RequestLabel::new(&name, max_values, value))
            .collect();
        let grpc = self.grpc.then(|| {
            let registrar = Registrar {
                source: self.source.clone(),
                naming: self.naming.clone(),
                static_labels: self.labels.clone(),
                methods: KnownMethods::post_only(),
                default_scheme,
                family: Family::Grpc,
                request_labels: std::sync::Arc::clone(&request_labels),
            };
            let recording = Recording {
                counts_request_body: recording.log.is_some(),
                time_to_head: false,
                status_classes: false,
                ..recording.clone()
            };
            (registrar, recording, self.grpc_methods)
        });
        let registrar = Registrar {
            source: self.source,
            naming: self.naming,
            static_labels: self.labels,
            methods: self.methods,
            default_scheme,
            family: Family::Http(HttpSeries {
                body_sizes: self.body_sizes,
                time_to_head: self.time_to_head,
                status_classes: self.status_classes,
            }),
            request_labels,
        };
        let limits = Limits {
            max_routes: self.max_routes,
            max_series: self.max_series,
        };
        let mut meter = Meter::new(
            (registrar, recording),
            grpc,
            route_fn,
            self.excluded,
            limits,
        );
        if let Some(identity) = self.recorder_identity {
            meter.destination = identity;
        }
        RouteMeterLayer {
            meter: MeterRef::new(meter),
        }
    }
}
