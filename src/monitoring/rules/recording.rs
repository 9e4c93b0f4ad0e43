//! The recording rules: per route, request rates, error, cancelled and slow ratios over every
//! alert window, latency quantiles, and per gRPC method call rates and error ratios, each
//! summed over the service's instances.

use super::file::{Rule, group, header};
use super::names::{
    cancelled_ratio, errors_ratio, grpc_calls_rate, grpc_errors_ratio, quantile, requests_rate,
    slow_ratio,
};
use super::text::kept;
use crate::monitoring::{Names, Slo, WINDOWS, le, le_matcher, route_matcher};

/// The latency classes of the recording rules: a selector and its threshold. The service's
/// threshold covers every route without a threshold of its own, then one class per other
/// threshold covers the routes that have it (one rule per threshold, so no two recording rules
/// share a name and labels).
fn latency_classes(slo: &Slo) -> Vec<(String, f64)> {
    let key = slo.naming.route_key();
    let default = slo.latency_threshold;
    let own: Vec<(&str, f64)> = slo
        .routes
        .iter()
        .filter_map(|r| {
            r.latency
                .map(|(threshold, _)| (r.route.as_str(), threshold))
        })
        .filter(|(_, threshold)| *threshold != default)
        .collect();
    let others: Vec<&str> = own.iter().map(|(r, _)| *r).collect();
    let mut classes = vec![(route_matcher(key, &others, true), default)];
    for (_, threshold) in &own {
        if classes.iter().all(|(_, t)| t != threshold) {
            let routes: Vec<&str> = own
                .iter()
                .filter(|(_, t)| t == threshold)
                .map(|(r, _)| *r)
                .collect();
            classes.push((route_matcher(key, &routes, false), *threshold));
        }
    }
    classes
}

/// The windows the cancelled ratio is recorded over: the dashboard's and the alert's.
const CANCELLED_WINDOWS: [&str; 2] = ["5m", "1h"];

/// The recording rules file of `slo`.
pub(crate) fn recording(slo: &Slo) -> String {
    let n = Names {
        naming: &slo.naming,
    };
    let job = &slo.job;
    let route = n.route();
    let by = format!("sum by ({})", kept(slo, route));
    let count = n.count();
    let bucket = n.bucket();
    let err = n.error_matcher(slo.cancelled_as_failures);
    let cancelled = n.cancelled_matcher();
    let mut rules = Vec::new();
    for w in WINDOWS {
        let range = slo.profile.range(w);
        let total = format!("{by} (rate({count}{{job=\"{job}\"}}[{range}]))");
        rules.push(Rule::record(requests_rate(w), total.clone()));
        // Routes without a single failure get 0, not an empty result.
        let ratio = |matcher: &str| {
            format!(
                "({by} (rate({count}{{job=\"{job}\",{matcher}}}[{range}])) or {total} * 0) / {total}"
            )
        };
        rules.push(Rule::record(errors_ratio(w), ratio(&err)));
        if CANCELLED_WINDOWS.contains(&w) {
            rules.push(Rule::record(cancelled_ratio(w), ratio(&cancelled)));
        }
        for (selector, threshold) in latency_classes(slo) {
            let total = format!("{by} (rate({count}{{job=\"{job}\"{selector}}}[{range}]))");
            let mut rule = Rule::record(
                slow_ratio(w),
                format!(
                    "1 - {by} (rate({bucket}{{job=\"{job}\",{}{selector}}}[{range}])) / {total}",
                    le_matcher(threshold)
                ),
            );
            rule.labels = vec![("latency_threshold_seconds", le(threshold))];
            rules.push(rule);
        }
    }
    for (q, name) in [("0.5", "50"), ("0.95", "95"), ("0.99", "99")] {
        rules.push(Rule::record(
            quantile(name),
            format!(
                "histogram_quantile({q}, sum by ({}, le) (rate({bucket}{{job=\"{job}\"}}[{}])))",
                kept(slo, route),
                slo.profile.range("5m")
            ),
        ));
    }
    if slo.grpc_availability.is_some() {
        let method = slo.naming.rpc_method_key();
        let by = format!("sum by ({})", kept(slo, method));
        let count = n.grpc_count();
        let err = n.grpc_error_matcher();
        for w in WINDOWS {
            let range = slo.profile.range(w);
            let total = format!("{by} (rate({count}{{job=\"{job}\"}}[{range}]))");
            rules.push(Rule::record(grpc_calls_rate(w), total.clone()));
            rules.push(Rule::record(
                grpc_errors_ratio(w),
                format!(
                    "({by} (rate({count}{{job=\"{job}\",{err}}}[{range}])) or {total} * 0) / {total}"
                ),
            ));
        }
    }
    let mut out = header("Recording rules", slo);
    group(&mut out, &format!("routemeter-recording-{job}"), &rules);
    out
}
