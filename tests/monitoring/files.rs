//! The committed files, every variant through promtool and amtool, and the docs' links.

use std::path::Path;

use routemeter::monitoring::{Monitoring, RouteSlo, Slo};
use routemeter::{Naming, NamingScheme};

use crate::common::{TempDir, require_program};
use crate::run;

#[test]
fn committed_files_match_the_generator() {
    let monitoring = Monitoring::new(Slo::new("quickstart")).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring");
    for (name, text) in monitoring.files() {
        let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            committed == text,
            "monitoring/{name} is out of date: run `cargo run --features monitoring --bin routemeter -- monitoring --job quickstart --out monitoring --force`"
        );
    }
    // The command's own check agrees.
    let bin = env!("CARGO_BIN_EXE_routemeter");
    let (ok, out) = run(
        Path::new(bin),
        &[
            "monitoring",
            "--job",
            "quickstart",
            "--out",
            dir.to_str().unwrap(),
            "--check",
        ],
    );
    assert!(ok, "{out}");
}

#[test]
fn naming_a_route_twice_merges_its_objectives() {
    let slo = Slo::new("shop")
        .route(RouteSlo::new("/a").availability(0.99))
        .route(RouteSlo::new("/a").latency(0.5, 0.9))
        .route(RouteSlo::new("/a").availability(0.995));
    let alerts = Monitoring::new(slo).unwrap().alerting_rules();
    // One class per objective of /a, with the last availability target: 4 burn rates each.
    let own = alerts.matches("          http_route: \"/a\"").count();
    assert_eq!(own, 8, "{alerts}");
    assert!(alerts.contains("> 0.072 and"), "14.4 x 0.005: {alerts}");
    assert!(
        !alerts.contains("> 0.144 and routemeter:http_errors"),
        "{alerts}"
    );
}

/// A variety of settings: both schemes, a prefix, per-route objectives (with a template that
/// needs regex escaping), exclusions and a capacity forecast.
fn variants() -> Vec<(&'static str, Monitoring)> {
    let full = |slo: Slo| {
        slo.route(
            RouteSlo::new("/pay")
                .availability(0.9995)
                .latency(0.5, 0.95),
        )
        .route(RouteSlo::new("/users/{id}").latency(0.1, 0.9))
        .exclude("/health")
        .rps_capacity(500.0)
        .grpc_availability(0.999)
    };
    // Several routes with the same latency threshold, one of them the service's own: one
    // recording rule per threshold, no duplicates.
    let same_thresholds = Slo::new("shop")
        .route(RouteSlo::new("/a").latency(0.5, 0.95))
        .route(RouteSlo::new("/b").latency(0.5, 0.9))
        .route(RouteSlo::new("/c").latency(0.5, 0.99).availability(0.99))
        .route(RouteSlo::new("/d").latency(0.25, 0.95))
        .route(RouteSlo::new("/e").latency(1.0, 0.95))
        .cancelled_as_failures(true)
        .cancelled_alert(0.05);
    vec![
        ("default", Monitoring::new(Slo::new("quickstart")).unwrap()),
        (
            "fleet",
            Monitoring::new(
                full(Slo::new("shop"))
                    .fleet_label("region")
                    .fleet_label("cluster"),
            )
            .unwrap(),
        ),
        ("same-thresholds", Monitoring::new(same_thresholds).unwrap()),
        (
            "otel-full",
            Monitoring::new(full(Slo::new("shop"))).unwrap(),
        ),
        (
            "compat-prefixed",
            Monitoring::new(full(
                Slo::new("shop")
                    .naming(Naming::new(NamingScheme::AxumPrometheus).with_prefix("shop")),
            ))
            .unwrap(),
        ),
    ]
}

#[test]
fn promtool_and_amtool_accept_every_variant() {
    let (Some(promtool), Some(amtool)) = (require_program("promtool"), require_program("amtool"))
    else {
        return;
    };
    let dir = TempDir::new("rules-check");
    for (name, monitoring) in variants() {
        let sub = dir.0.join(name);
        monitoring.write(&sub).unwrap();
        for file in ["recording.rules.yml", "alerts.rules.yml"] {
            let path = sub.join(file);
            let (ok, out) = run(
                &promtool,
                &["check", "rules", "--lint-fatal", path.to_str().unwrap()],
            );
            assert!(
                ok && out.contains("SUCCESS") && !out.contains("duplicate"),
                "{name}/{file}:\n{out}"
            );
        }
        let path = sub.join("alertmanager.yml");
        let (ok, out) = run(&amtool, &["check-config", path.to_str().unwrap()]);
        assert!(ok, "{name}/alertmanager.yml:\n{out}");
        let dashboard: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(sub.join("dashboard.json")).unwrap())
                .unwrap();
        let panels = dashboard["panels"].as_array().unwrap();
        assert!(panels.len() >= 10);
        let cancelled = panels
            .iter()
            .find(|p| p["title"] == "Cancelled ratio (client hang-ups)")
            .unwrap_or_else(|| panic!("{name}: no cancelled-ratio panel"));
        let expr = cancelled["targets"][0]["expr"].as_str().unwrap();
        assert!(
            expr.contains("error_type=\"cancelled\"") || expr.contains("status=\"499\""),
            "{name}: {expr}"
        );
    }
}

/// Markdown link targets: inline `[text](target)` and reference definitions `[label]: target`.
fn links(markdown: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut inline = Vec::new();
    let mut definitions = Vec::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            inline.push(after[..end].to_owned());
            rest = &after[end..];
        }
        if let Some(def) = line.strip_prefix('[') {
            if let Some((label, target)) = def.split_once("]: ") {
                definitions.push((label.to_owned(), target.trim().to_owned()));
            }
        }
    }
    (inline, definitions)
}

#[test]
fn docs_links_work_on_github_and_on_docs_rs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let readme_included = lib.find("include_str!(\"../README.md\")").unwrap();
    let absolute = |t: &str| t.contains("://") || t.starts_with('#');

    let (inline, definitions) = links(&readme);
    for target in &inline {
        assert!(
            absolute(target),
            "README link ({target}) is relative: rustdoc cannot resolve it; use a reference link that src/lib.rs defines"
        );
    }
    let mut relative = 0;
    for (label, target) in &definitions {
        if absolute(target) {
            continue;
        }
        relative += 1;
        // GitHub resolves it against the repository...
        // (An anchor names a heading, which src/lib.rs's test of relative links checks.)
        let file = target.split('#').next().unwrap();
        assert!(
            root.join(file).exists(),
            "[{label}]: {target} does not exist"
        );
        // ...and rustdoc takes lib.rs's definition, which comes first.
        let ours = format!("\"[{label}]: ");
        let at = lib
            .find(&ours)
            .unwrap_or_else(|| panic!("src/lib.rs does not define [{label}] for rustdoc"));
        assert!(
            at < readme_included,
            "[{label}] must be defined before the README"
        );
        let lib_target = lib[at + ours.len()..].split('"').next().unwrap();
        assert!(
            lib_target.starts_with("crate::") || lib_target.starts_with("https://"),
            "[{label}]: {lib_target}"
        );
    }
    assert!(
        relative >= 2,
        "the guide and monitoring/ links: {definitions:?}"
    );

    // The guide is rendered at docs/production.md and as the `production_guide` module: no
    // relative links at all.
    let guide = std::fs::read_to_string(root.join("docs/production.md")).unwrap();
    let (inline, definitions) = links(&guide);
    let relative: Vec<&String> = inline
        .iter()
        .chain(definitions.iter().map(|(_, t)| t))
        .filter(|t| !absolute(t))
        .collect();
    assert!(relative.is_empty(), "docs/production.md: {relative:?}");

    // Every reference page is rendered at docs/X.md and as a module of `routemeter::docs`: its
    // relative links are reference links whose labels its module defines first, for rustdoc.
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !name.ends_with(".md")
            || ["production.md", "feature-examples.md"].contains(&name.as_str())
        {
            continue;
        }
        let page = std::fs::read_to_string(root.join("docs").join(&name)).unwrap();
        let included = lib
            .find(&format!("include_str!(\"../docs/{name}\")"))
            .unwrap_or_else(|| panic!("src/lib.rs does not render docs/{name}"));
        // The module's own attributes: from the end of the item before it.
        let module = &lib[lib[..included].rfind("pub mod ").unwrap()..included];
        let (inline, definitions) = links(&page);
        for target in &inline {
            assert!(
                absolute(target),
                "docs/{name}: link ({target}) is relative: rustdoc cannot resolve it; use a reference link its module defines"
            );
        }
        for (label, target) in &definitions {
            if !absolute(target) {
                assert!(
                    module.contains(&format!("\"[{label}]: ")),
                    "docs/{name}: [{label}]: {target} has no definition for rustdoc before the page in src/lib.rs"
                );
            }
        }
    }
}
