//! The series of HTTP requests: the duration histogram by route, method, status, error type
//! (and scheme and protocol version when the naming has them), the in-flight gauge by route
//! and method, and the optional series: body sizes, the request counter, the time to the
//! response head.

use metrics::{Key, KeyName, Recorder, Unit};

use super::{OutcomeHandles, Registrar};
use crate::classify::{ErrorType, Outcome};
use crate::names::{self, Naming, NamingScheme};

/// Which optional HTTP series are registered, and how statuses are labelled.
#[derive(Clone, Debug, Default)]
pub(crate) struct HttpSeries {
    /// The body-size histograms.
    pub(crate) body_sizes: bool,
    /// The time-to-response-head histogram.
    pub(crate) time_to_head: bool,
    /// Statuses labelled by their class (`2xx`).
    pub(crate) status_classes: bool,
}

/// The label value of `status`'s class: `1xx` to `9xx` (a status code is 100 to 999).
fn status_class(status: http::StatusCode) -> &'static str {
    const CLASSES: [&str; 9] = [
        "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "7xx", "8xx", "9xx",
    ];
    CLASSES[usize::from(status.as_u16() / 100).clamp(1, 9) - 1]
}

/// The in-flight gauge's key of (`route`, the method and scheme of `slot`).
pub(super) fn active_key(registrar: &Registrar, route: &str, slot: usize) -> Key {
    let n = &registrar.naming;
    let (method, scheme) = registrar.slot_labels(slot);
    let mut labels = vec![(n.method_key(), method), (n.route_key(), route)];
    if let Some(key) = n.scheme_key() {
        labels.push((key, scheme));
    }
    registrar.key_at(n.active_shared(), &labels, slot)
}

impl HttpSeries {
    /// Sends the `# HELP` texts and units of the HTTP series these settings register.
    pub(super) fn describe(&self, n: &Naming, r: &dyn Recorder) {
        let name = |s: &metrics::SharedString| KeyName::from(s.clone());
        r.describe_histogram(
            name(n.duration_shared()),
            Some(Unit::Seconds),
            names::DURATION_HELP.into(),
        );
        r.describe_gauge(name(n.active_shared()), None, names::ACTIVE_HELP.into());
        if let Some(s) = n.request_size_shared().filter(|_| self.body_sizes) {
            r.describe_histogram(name(s), Some(Unit::Bytes), names::REQUEST_SIZE_HELP.into());
        }
        if let Some(s) = n.response_size_shared().filter(|_| self.body_sizes) {
            r.describe_histogram(name(s), Some(Unit::Bytes), names::RESPONSE_SIZE_HELP.into());
        }
        if self.time_to_head {
            r.describe_histogram(
                name(n.time_to_head_shared()),
                Some(Unit::Seconds),
                names::TIME_TO_HEAD_HELP.into(),
            );
        }
        if let Some(s) = n.requests_total_shared() {
            r.describe_counter(name(s), None, names::REQUESTS_TOTAL_HELP.into());
        }
        r.describe_counter(
            name(n.route_overflow_shared()),
            None,
            names::ROUTE_OVERFLOW_HELP.into(),
        );
        r.describe_counter(
            name(n.label_overflow_shared()),
            None,
            names::LABEL_OVERFLOW_HELP.into(),
        );
    }

    /// The handles of `outcome` for (`route`, the method and scheme of `slot`).
    pub(super) fn outcome_handles(
        &self,
        registrar: &Registrar,
        route: &str,
        slot: usize,
        outcome: Outcome,
    ) -> OutcomeHandles {
        let n = &registrar.naming;
        let (method, scheme) = registrar.slot_labels(slot);
        let status = match (n.scheme(), outcome.status, outcome.error) {
            (_, Some(status), _) => Some((status, self.status_classes)),
            // A stand-in, not a status the server sent: never a class.
            (NamingScheme::AxumPrometheus, None, Some(e)) => Some((e.fallback_status(), false)),
            _ => None,
        };
        let mut labels: Vec<(&'static str, &str)> =
            vec![(n.method_key(), method), (n.route_key(), route)];
        if let Some((status, class)) = &status {
            let value = if *class {
                status_class(*status)
            } else {
                status.as_str()
            };
            labels.push((n.status_key(), value));
        }
        let error = outcome.error;
        if let (Some(key), Some(e)) = (n.error_key(), &error) {
            let value = match e {
                ErrorType::Status(status) if self.status_classes => status_class(*status),
                _ => e.as_str(),
            };
            labels.push((key, value));
        }
        if let Some(key) = n.scheme_key() {
            labels.push((key, scheme));
        }
        if let (Some(key), Some(version)) = (n.protocol_version_key(), outcome.version) {
            labels.push((key, version.label));
        }
        let sizes = |name: Option<&metrics::SharedString>| {
            name.filter(|_| self.body_sizes)
                .map(|name| registrar.histogram(&registrar.key_at(name, &labels, slot)))
        };
        let request_size = sizes(n.request_size_shared());
        let response_size = sizes(n.response_size_shared());
        let total = n
            .requests_total_shared()
            .map(|name| registrar.counter(&registrar.key_at(name, &labels, slot)));
        OutcomeHandles {
            duration: registrar.histogram(&registrar.key_at(n.duration_shared(), &labels, slot)),
            more: request_size.is_some() || response_size.is_some() || total.is_some(),
            request_size,
            response_size,
            total,
            time_to_head: (self.time_to_head && matches!(error, None | Some(ErrorType::Status(_))))
                .then(|| {
                    registrar.histogram(&registrar.key_at(n.time_to_head_shared(), &labels, slot))
                }),
        }
    }
}
