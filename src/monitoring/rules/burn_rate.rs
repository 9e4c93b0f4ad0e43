//! The multi-window, multi-burn-rate SLO alerts: for availability and latency, one set per SLO
//! class (the service-wide objective, then each route with its own), and for gRPC availability
//! one set per recognised method, each firing when both its long and its short window burn the
//! error budget faster than its factor.

use super::file::Rule;
use super::names::{errors_ratio, grpc_errors_ratio, slow_ratio};
use super::text::{job_text, num};
use crate::monitoring::{Names, RouteSlo, Slo, route_matcher};

/// The burn-rate alerts: (factor, long window, short window, severity, `for:`).
const BURN_RATES: [(f64, &str, &str, &str, &str); 4] = [
    (14.4, "1h", "5m", "page", "2m"),
    (6.0, "6h", "30m", "page", "15m"),
    (3.0, "1d", "2h", "ticket", "1h"),
    (1.0, "3d", "6h", "ticket", "3h"),
];

/// The burn-rate alerts of availability and latency, per SLO class.
pub(super) fn http_alerts(slo: &Slo, rules: &mut Vec<Rule>) {
    let n = Names {
        naming: &slo.naming,
    };
    let job = &slo.job;
    let route = n.route();
    let p = slo.profile;
    let on_job = job_text(slo);
    for (kind, alert, ratio, classes) in [
        (
            "availability",
            "HTTPRouteErrorBudgetBurn",
            errors_ratio as fn(&str) -> String,
            classes(slo, slo.availability, |r| r.availability),
        ),
        (
            "latency",
            "HTTPRouteLatencyBudgetBurn",
            slow_ratio as fn(&str) -> String,
            classes(slo, slo.latency_target, |r| {
                r.latency.map(|(_, target)| target)
            }),
        ),
    ] {
        for class in &classes {
            for (factor, long, short, severity, hold) in BURN_RATES {
                let threshold = num(factor * class.budget);
                let sel = format!("{{job=\"{job}\"{}}}", class.selector);
                let mut labels = vec![
                    ("severity", severity.to_owned()),
                    ("slo", kind.to_owned()),
                    (
                        "slo_scope",
                        if class.route.is_some() {
                            "route"
                        } else {
                            "service"
                        }
                        .to_owned(),
                    ),
                    ("burn_rate", num(factor)),
                    ("long_window", long.to_owned()),
                    ("short_window", short.to_owned()),
                ];
                // The route's own label on its own rules: the alerts carry it anyway (from the
                // series), and it keeps the rules of two routes apart.
                if let Some(r) = class.route {
                    labels.push((route, r.to_owned()));
                }
                let what = if kind == "availability" {
                    "failing"
                } else {
                    "slower than the objective"
                };
                rules.push(Rule {
                    name: alert.to_owned(),
                    expr: format!(
                        "{}{sel} > {threshold} and {}{sel} > {threshold}",
                        ratio(long),
                        ratio(short)
                    ),
                    hold: Some(p.hold(hold)),
                    labels,
                    annotations: vec![
                        (
                            "summary",
                            format!(
                                "{{{{ $labels.{route} }}}} on {on_job} is burning its {kind} error budget {}x too fast",
                                num(factor)
                            ),
                        ),
                        (
                            "description",
                            format!(
                                "{{{{ $value | humanizePercentage }}}} of requests to {{{{ $labels.{route} }}}} were {what} over the last {long} (and {short}); the objective is {}% of requests good.",
                                num(class.target * 100.0)
                            ),
                        ),
                    ],
                });
            }
        }
    }
}

/// The burn-rate alerts of gRPC availability, per recognised method.
pub(super) fn grpc_alerts(slo: &Slo, target: f64, rules: &mut Vec<Rule>) {
    let n = Names {
        naming: &slo.naming,
    };
    let job = &slo.job;
    let method = slo.naming.rpc_method_key();
    let budget = 1.0 - target;
    let sel = format!("{{job=\"{job}\",{}}}", n.grpc_known_methods());
    for (factor, long, short, severity, hold) in BURN_RATES {
        let threshold = num(factor * budget);
        rules.push(Rule {
            name: "GRPCMethodErrorBudgetBurn".to_owned(),
            expr: format!(
                "{}{sel} > {threshold} and {}{sel} > {threshold}",
                grpc_errors_ratio(long),
                grpc_errors_ratio(short)
            ),
            hold: Some(slo.profile.hold(hold)),
            labels: vec![
                ("severity", severity.to_owned()),
                ("slo", "grpc_availability".to_owned()),
                ("slo_scope", "service".to_owned()),
                ("burn_rate", num(factor)),
                ("long_window", long.to_owned()),
                ("short_window", short.to_owned()),
            ],
            annotations: vec![
                (
                    "summary",
                    format!(
                        "gRPC method {{{{ $labels.{method} }}}} on {} is burning its availability error budget {}x too fast",
                        job_text(slo),
                        num(factor)
                    ),
                ),
                (
                    "description",
                    format!(
                        "{{{{ $value | humanizePercentage }}}} of calls to {{{{ $labels.{method} }}}} ended with a server-error status over the last {long} (and {short}); the objective is {}% of calls good.",
                        num(target * 100.0)
                    ),
                ),
            ],
        });
    }
}

/// One SLO class: the routes it covers (a selector), its budget, and its route (`None` for
/// the service-wide objective).
struct Class<'a> {
    selector: String,
    budget: f64,
    target: f64,
    route: Option<&'a str>,
}

/// The service-wide class (every route without its own objective, minus exclusions), then one
/// class per route with its own `target` (as `own` reads it off the route's objectives).
fn classes<'a>(
    slo: &'a Slo,
    service_target: f64,
    own: impl Fn(&RouteSlo) -> Option<f64>,
) -> Vec<Class<'a>> {
    let key = slo.naming.route_key();
    let own: Vec<(&str, f64)> = slo
        .routes
        .iter()
        .filter(|r| !slo.excluded.contains(&r.route))
        .filter_map(|r| own(r).map(|target| (r.route.as_str(), target)))
        .collect();
    let mut skip: Vec<&str> = slo.excluded.iter().map(String::as_str).collect();
    skip.extend(own.iter().map(|(r, _)| *r));
    let mut classes = vec![Class {
        selector: route_matcher(key, &skip, true),
        budget: 1.0 - service_target,
        target: service_target,
        route: None,
    }];
    for (r, target) in own {
        classes.push(Class {
            selector: route_matcher(key, &[r], false),
            budget: 1.0 - target,
            target,
            route: Some(r),
        });
    }
    classes
}
