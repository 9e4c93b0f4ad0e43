//! Text the recording and alerting rules share: the labels they keep when they sum over
//! instances, the job as an alert's summary names it, and computed numbers written without
//! float noise.

use crate::monitoring::Slo;

/// The labels the rules keep when they sum over instances: `job`, the fleet labels and, unless
/// empty, `route`.
pub(super) fn kept(slo: &Slo, route: &str) -> String {
    let mut keys = vec!["job"];
    keys.extend(slo.fleet_labels.iter().map(String::as_str));
    if !route.is_empty() {
        keys.push(route);
    }
    keys.join(", ")
}

/// The job as an alert's summary names it: with the fleet labels' values when there are any
/// (`checkout (eu-west)`). Fleet labels are checked label names, safe in a template.
pub(super) fn job_text(slo: &Slo) -> String {
    let mut text = "{{ $labels.job }}".to_owned();
    if !slo.fleet_labels.is_empty() {
        let values: Vec<String> = slo
            .fleet_labels
            .iter()
            .map(|l| format!("{{{{ $labels.{l} }}}}"))
            .collect();
        text.push_str(&format!(" ({})", values.join(", ")));
    }
    text
}

/// A computed number as PromQL and YAML show it, without float noise (`0.001`, not
/// `0.0010000000000000009`): rounded to 12 significant digits. Numbers the user gave are
/// written as given (`{}`), never rounded.
pub(super) fn num(x: f64) -> String {
    let rounded: f64 = format!("{x:.11e}").parse().unwrap_or(x);
    format!("{rounded}")
}
