//! The generated monitoring files: committed copies match the generator, promtool (with
//! `--lint-fatal`) and amtool accept them, and `promtool test rules` shows each alert firing
//! when its condition holds and staying silent when it does not: client hang-ups stay silent,
//! the server's own failures page. Hostile routes (quotes, backslashes, line breaks, regex and
//! template metacharacters, 10 KB, non-ASCII) still match exactly their series, and no
//! argument makes the command panic or write rules promtool refuses. gRPC methods page on
//! server-error statuses only, when asked to. Fleet labels keep regions apart and sum instances.
//! Behind real programs (`e2e`, `fleet_e2e`): Prometheus scrapes the quickstart and evaluates
//! the rules, Alertmanager delivers the alerts, and a fleet of replicas behind Prometheus and
//! VictoriaMetrics keeps its totals across a restart.

// The admin-listener example (in `fleet_e2e`) includes the quickstart as a module of its own,
// beside the one `quickstart_server` serves: two copies, each self-contained.
#![allow(clippy::duplicate_mod)]

#[path = "../common/mod.rs"]
mod common;
#[path = "../quickstart_server/mod.rs"]
mod quickstart_server;

mod alerts;
mod bounds;
mod command;
mod e2e;
mod files;
mod fleet;
mod fleet_e2e;
mod grpc;
mod hang_ups;
mod hostile;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use common::TempDir;
use routemeter::monitoring::Monitoring;

fn run(program: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The rules as `promtool test rules` loads them: annotations are dropped from this copy, so
/// expected alerts are matched on labels (the annotations' templates are checked by
/// `promtool check rules` and rendered in the end-to-end test).
fn without_annotations(rules: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in rules.lines() {
        if line.trim() == "annotations:" {
            skipping = true;
            continue;
        }
        if skipping && line.starts_with("          ") {
            continue;
        }
        skipping = false;
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn alert(name: &str, labels: &[(&str, &str)]) -> String {
    let mut s = String::from("          - exp_labels:\n");
    let _ = writeln!(s, "              alertname: {name}");
    for (k, v) in labels {
        let _ = writeln!(s, "              {k}: \"{v}\"");
    }
    s
}

fn burn(
    name: &str,
    route: &str,
    slo: &str,
    rate: &str,
    long: &str,
    short: &str,
    sev: &str,
) -> String {
    alert(
        name,
        &[
            ("job", "quickstart"),
            ("http_route", route),
            ("severity", sev),
            ("slo", slo),
            ("slo_scope", "service"),
            ("burn_rate", rate),
            ("long_window", long),
            ("short_window", short),
        ],
    )
}

fn case(series: &str, checks: &[(&str, &str, Vec<String>)]) -> String {
    let mut s = format!("  - interval: 1m\n    input_series:\n{series}    alert_rule_test:\n");
    for (at, alertname, alerts) in checks {
        let _ = writeln!(s, "      - eval_time: {at}\n        alertname: {alertname}");
        if alerts.is_empty() {
            s.push_str("        exp_alerts: []\n");
        } else {
            s.push_str("        exp_alerts:\n");
            for a in alerts {
                s.push_str(a);
            }
        }
    }
    s
}

const TESTS_HEADER: &str =
    "rule_files: [recording.yml, alerts.yml]\nevaluation_interval: 1m\ntests:\n";

/// Writes `monitoring`'s rules (annotations dropped) and `tests` into a fresh folder and runs
/// `promtool test rules` on them; panics with promtool's output and the tests if they fail.
fn promtool_test(promtool: &Path, tag: &str, monitoring: &Monitoring, tests: &str) {
    let dir = TempDir::new(tag);
    std::fs::write(dir.0.join("recording.yml"), monitoring.recording_rules()).unwrap();
    std::fs::write(
        dir.0.join("alerts.yml"),
        without_annotations(&monitoring.alerting_rules()),
    )
    .unwrap();
    let file = dir.0.join("tests.yml");
    std::fs::write(&file, tests).unwrap();
    let (ok, out) = run(promtool, &["test", "rules", file.to_str().unwrap()]);
    assert!(
        ok && out.contains("SUCCESS"),
        "promtool test rules failed:\n{out}\n--- tests.yml ---\n{tests}"
    );
}
