//! The Grafana dashboard.

use serde_json::{Value, json};

use super::{Names, Slo, rules};
use crate::NamingScheme;

struct Panel {
    title: &'static str,
    kind: &'static str,
    unit: &'static str,
    targets: Vec<(String, String)>,
}

fn panel(p: Panel, id: usize, x: u32, y: u32, w: u32) -> Value {
    let targets: Vec<Value> = p
        .targets
        .into_iter()
        .enumerate()
        .map(|(i, (expr, legend))| {
            let mut t = json!({
                "datasource": { "type": "prometheus", "uid": "${datasource}" },
                "expr": expr,
                "legendFormat": legend,
                "refId": char::from(b'A' + i as u8).to_string(),
            });
            if p.kind == "heatmap" {
                t["format"] = json!("heatmap");
            }
            t
        })
        .collect();
    let mut v = json!({
        "id": id,
        "type": p.kind,
        "title": p.title,
        "datasource": { "type": "prometheus", "uid": "${datasource}" },
        "gridPos": { "x": x, "y": y, "w": w, "h": 8 },
        "fieldConfig": { "defaults": { "unit": p.unit }, "overrides": [] },
        "targets": targets,
    });
    if p.kind == "heatmap" {
        v["options"] = json!({
            "calculate": false,
            "yAxis": { "unit": "s" },
            "cellGap": 1,
            "color": { "mode": "scheme", "scheme": "Oranges" }
        });
    }
    v
}

/// The gRPC panels: calls by method and status, availability and latency per method, narrowed
/// as the HTTP panels are by `job_sel` (job, fleet labels and instance).
fn grpc_panels(n: &Names<'_>, job_sel: &str) -> Vec<Panel> {
    let method = n.naming.rpc_method_key();
    let status = n.naming.rpc_status_key();
    let count = n.grpc_count();
    let bucket = n.grpc_bucket();
    let sel = format!("{job_sel},{method}=~\"$rpc_method\"");
    let rate = |extra: &str| format!("rate({count}{{{sel}{extra}}}[$__rate_interval])");
    let by_method = format!("sum by ({method})");
    vec![
        Panel {
            title: "gRPC calls per second by status",
            kind: "timeseries",
            unit: "reqps",
            targets: vec![(
                format!("sum by ({method}, {status}) ({})", rate("")),
                format!("{{{{{method}}}}} {{{{{status}}}}}"),
            )],
        },
        Panel {
            title: "gRPC availability (calls without a server-error status)",
            kind: "timeseries",
            unit: "percentunit",
            targets: vec![(
                format!(
                    "1 - ({by_method} ({}) or {by_method} ({}) * 0) / {by_method} ({})",
                    rate(&format!(",{}", n.grpc_error_matcher())),
                    rate(""),
                    rate("")
                ),
                format!("{{{{{method}}}}}"),
            )],
        },
        Panel {
            title: "gRPC latency p50 / p99",
            kind: "timeseries",
            unit: "s",
            targets: [("0.5", "p50"), ("0.99", "p99")]
                .into_iter()
                .map(|(q, name)| {
                    (
                        format!(
                            "histogram_quantile({q}, sum by ({method}, le) (rate({bucket}{{{sel}}}[$__rate_interval])))"
                        ),
                        format!("{{{{{method}}}}} {name}"),
                    )
                })
                .collect(),
        },
        Panel {
            title: "gRPC calls in flight",
            kind: "timeseries",
            unit: "short",
            targets: vec![(
                format!(
                    "{by_method} ({}{{{sel}}})",
                    n.naming.rpc_active()
                ),
                format!("{{{{{method}}}}}"),
            )],
        },
    ]
}

/// A query variable `name` over the values of `label` on `series`: several or all of them.
fn all_of(name: &str, label: &str, series: &str) -> Value {
    let query = format!("label_values({series}, {label})");
    json!({
        "name": name,
        "type": "query",
        "label": name[..1].to_uppercase() + &name[1..],
        "datasource": { "type": "prometheus", "uid": "${datasource}" },
        "query": { "query": query, "refId": name },
        "definition": query,
        "multi": true,
        "includeAll": true,
        "allValue": ".*",
        "current": { "text": "All", "value": "$__all" },
        "refresh": 2,
    })
}

pub(crate) fn render(slo: &Slo) -> String {
    let n = Names {
        naming: &slo.naming,
    };
    let route = n.route();
    let count = n.count();
    let bucket = n.bucket();
    let active = slo.naming.active();
    let err = n.error_matcher(slo.cancelled_as_failures);
    let cancelled = n.cancelled_matcher();
    // Every label a panel can be narrowed by: the fleet labels' variables, then `instance`
    // (which the recording rules do not keep).
    let fleet: String = slo
        .fleet_labels
        .iter()
        .map(|l| format!(",{l}=~\"${l}\""))
        .collect();
    let job_sel = format!("job=~\"$job\"{fleet},instance=~\"$instance\"");
    let sel = format!("{job_sel},{route}=~\"$route\"");
    let rules_sel = format!("job=~\"$job\"{fleet},{route}=~\"$route\"");
    let rate = |extra: &str| format!("rate({count}{{{sel}{extra}}}[$__rate_interval])");
    let by_route = format!("sum by ({route})");
    let legend = format!("{{{{{route}}}}}");

    let mut panels = vec![
        Panel {
            title: "Requests per second",
            kind: "timeseries",
            unit: "reqps",
            targets: vec![(format!("{by_route} ({})", rate("")), legend.clone())],
        },
        Panel {
            title: if slo.cancelled_as_failures {
                "Error ratio (server failures and hang-ups)"
            } else {
                "Error ratio (server failures)"
            },
            kind: "timeseries",
            unit: "percentunit",
            targets: vec![(
                format!(
                    "({by_route} ({}) or {by_route} ({}) * 0) / {by_route} ({})",
                    rate(&format!(",{err}")),
                    rate(""),
                    rate("")
                ),
                legend.clone(),
            )],
        },
        Panel {
            title: "Cancelled ratio (client hang-ups)",
            kind: "timeseries",
            unit: "percentunit",
            targets: vec![(
                format!(
                    "({by_route} ({}) or {by_route} ({}) * 0) / {by_route} ({})",
                    rate(&format!(",{cancelled}")),
                    rate(""),
                    rate("")
                ),
                legend.clone(),
            )],
        },
        Panel {
            title: "Latency p50 / p95 / p99",
            kind: "timeseries",
            unit: "s",
            targets: [("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")]
                .into_iter()
                .map(|(q, name)| {
                    (
                        format!(
                            "histogram_quantile({q}, sum by ({route}, le) (rate({bucket}{{{sel}}}[$__rate_interval])))"
                        ),
                        format!("{{{{{route}}}}} {name}"),
                    )
                })
                .collect(),
        },
        Panel {
            title: "Latency distribution",
            kind: "heatmap",
            unit: "s",
            targets: vec![(
                format!("sum by (le) (increase({bucket}{{{sel}}}[$__rate_interval]))"),
                "{{le}}".to_owned(),
            )],
        },
        Panel {
            title: "Requests in flight",
            kind: "timeseries",
            unit: "short",
            targets: vec![(format!("{by_route} ({active}{{{sel}}})"), legend.clone())],
        },
    ];
    if slo.naming.scheme() == NamingScheme::OpenTelemetry {
        panels.push(Panel {
            title: "Failures by error type",
            kind: "timeseries",
            unit: "reqps",
            targets: vec![(
                format!(
                    "sum by ({route}, error_type) ({})",
                    rate(",error_type!=\"\"")
                ),
                format!("{{{{{route}}}}} {{{{error_type}}}}"),
            )],
        });
    }
    if slo.grpc_availability.is_some() {
        panels.extend(grpc_panels(&n, &job_sel));
    }
    panels.extend([
        Panel {
            title: "SLO: share failing and share slow (1h)",
            kind: "timeseries",
            unit: "percentunit",
            targets: vec![
                (
                    format!("{}{{{rules_sel}}}", rules::errors_ratio("1h")),
                    format!("{{{{{route}}}}} failing"),
                ),
                (
                    format!("{}{{{rules_sel}}}", rules::slow_ratio("1h")),
                    format!("{{{{{route}}}}} slow"),
                ),
            ],
        },
        Panel {
            title: "Process memory",
            kind: "timeseries",
            unit: "bytes",
            targets: vec![
                (
                    format!("process_resident_memory_bytes{{{job_sel}}}"),
                    "{{instance}} resident".to_owned(),
                ),
                (
                    format!("process_virtual_memory_bytes{{{job_sel}}}"),
                    "{{instance}} virtual".to_owned(),
                ),
            ],
        },
        Panel {
            title: "Process CPU",
            kind: "timeseries",
            unit: "percentunit",
            targets: vec![(
                format!("rate(process_cpu_seconds_total{{{job_sel}}}[$__rate_interval])"),
                "{{instance}}".to_owned(),
            )],
        },
        Panel {
            title: "Open file descriptors and threads",
            kind: "timeseries",
            unit: "short",
            targets: vec![
                (
                    format!("process_open_fds{{{job_sel}}}"),
                    "{{instance}} fds".to_owned(),
                ),
                (
                    format!("process_threads{{{job_sel}}}"),
                    "{{instance}} threads".to_owned(),
                ),
            ],
        },
        Panel {
            title: "Tokio workers busy",
            kind: "timeseries",
            unit: "short",
            targets: vec![
                (
                    format!(
                        "rate(tokio_runtime_worker_busy_seconds_total{{{job_sel}}}[$__rate_interval])"
                    ),
                    "{{instance}} busy workers".to_owned(),
                ),
                (
                    format!("tokio_runtime_workers{{{job_sel}}}"),
                    "{{instance}} workers".to_owned(),
                ),
            ],
        },
        Panel {
            title: "Tokio tasks and queue",
            kind: "timeseries",
            unit: "short",
            targets: vec![
                (
                    format!("tokio_runtime_alive_tasks{{{job_sel}}}"),
                    "{{instance}} alive tasks".to_owned(),
                ),
                (
                    format!("tokio_runtime_global_queue_depth{{{job_sel}}}"),
                    "{{instance}} global queue".to_owned(),
                ),
            ],
        },
    ]);
    let panels: Vec<Value> = panels
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = (if i % 2 == 0 { 0 } else { 12 }, (i / 2) as u32 * 8);
            panel(p, i + 1, x, y, 12)
        })
        .collect();

    let mut variables = vec![
        json!({
            "name": "datasource",
            "type": "datasource",
            "query": "prometheus",
            "label": "Data source",
        }),
        json!({
            "name": "job",
            "type": "query",
            "label": "Job",
            "datasource": { "type": "prometheus", "uid": "${datasource}" },
            "query": { "query": format!("label_values({count}, job)"), "refId": "job" },
            "definition": format!("label_values({count}, job)"),
            "current": { "text": slo.job, "value": slo.job },
            "refresh": 2,
        }),
    ];
    let mut narrowed = String::new();
    for label in &slo.fleet_labels {
        variables.push(all_of(
            label,
            label,
            &format!("{count}{{job=~\"$job\"{narrowed}}}"),
        ));
        narrowed.push_str(&format!(",{label}=~\"${label}\""));
    }
    variables.push(all_of(
        "instance",
        "instance",
        &format!("{count}{{job=~\"$job\"{narrowed}}}"),
    ));
    variables.push(all_of(
        "route",
        route,
        &format!("{count}{{job=~\"$job\"{narrowed}}}"),
    ));
    if slo.grpc_availability.is_some() {
        let calls = n.grpc_count();
        let method = slo.naming.rpc_method_key();
        variables.push(json!({
            "name": "rpc_method",
            "type": "query",
            "label": "gRPC method",
            "datasource": { "type": "prometheus", "uid": "${datasource}" },
            "query": {
                "query": format!("label_values({calls}{{job=~\"$job\"{narrowed}}}, {method})"),
                "refId": "rpc_method",
            },
            "definition": format!("label_values({calls}{{job=~\"$job\"{narrowed}}}, {method})"),
            "multi": true,
            "includeAll": true,
            "allValue": ".*",
            "current": { "text": "All", "value": "$__all" },
            "refresh": 2,
        }));
    }
    let dashboard = json!({
        "title": format!("{} — HTTP routes (routemeter)", slo.job),
        "uid": format!("routemeter-{}", slo.job).chars().take(40).collect::<String>(),
        "tags": ["routemeter", "http"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": { "from": "now-6h", "to": "now" },
        "templating": { "list": variables },
        "panels": panels,
    });
    let mut text = serde_json::to_string_pretty(&dashboard).unwrap_or_default();
    text.push('\n');
    text
}
