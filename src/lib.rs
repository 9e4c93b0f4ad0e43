// The README's relative links, resolved for rustdoc: the first definition of a link label
// wins, so these take precedence over the README's own (which serve GitHub).
#![doc = "[guide]: crate::production_guide"]
#![doc = "[live-page]: crate::docs::live_page"]
#![doc = "[testing]: crate::docs::testing"]
#![doc = "[deterministic-time]: crate::docs::testing#deterministic-time"]
#![doc = "[recorded]: crate::docs::recorded"]
#![doc = "[label-values]: crate::docs::recorded#label-values"]
#![doc = "[panics]: crate::docs::recorded#panics"]
#![doc = "[timing]: crate::docs::recorded#timing"]
#![doc = "[timeouts]: crate::docs::recorded#timeouts"]
#![doc = "[without-axum]: crate::docs::recorded#without-axum"]
#![doc = "[prometheus]: crate::docs::prometheus"]
#![doc = "[recorders]: crate::docs::prometheus#recorders"]
#![doc = "[one-layer]: crate::docs::prometheus#one-layer-records-a-request"]
#![doc = "[exact-recorder]: crate::docs::prometheus#the-prometheus-recorder-counts-in-place-and-loses-nothing"]
#![doc = "[native-histograms]: crate::docs::prometheus#native-histograms"]
#![doc = "[route-buckets]: crate::docs::prometheus#buckets-per-route"]
#![doc = "[monitoring]: crate::docs::monitoring"]
#![doc = "[performance]: crate::docs::performance"]
#![doc = "[dependencies]: crate::docs::dependencies"]
#![doc = "[development]: crate::docs::development"]
#![doc = "[architecture]: crate::architecture"]
#![doc = concat!(
    "[changelog]: https://docs.rs/crate/routemeter/",
    env!("CARGO_PKG_VERSION"),
    "/source/CHANGELOG.md"
)]
// The README is the crate's front page with any set of features: its examples that need an
// optional feature are marked `ignore` there and run, with every feature on, as the doc tests of
// `feature_examples` (below), which a test keeps identical to them.
#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod classify;
mod clock;
mod grpc;
mod layer;
mod log;
mod names;
#[cfg(any(feature = "prometheus", feature = "testing"))]
mod quantile;
mod record;
mod registry;
mod route;
mod sync;
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
/// (This module holds only documentation: `docs/production.md`, whose examples are tested;
/// those that need an optional feature run as the doc tests of `docs/feature-examples.md`.)
#[doc = include_str!("../docs/production.md")]
pub mod production_guide {}

/// The reference pages the front page links to, one module each (`docs/*.md`).
///
/// (These modules hold only documentation, rendered with any set of features; their examples
/// that need an optional feature run as the doc tests of `docs/feature-examples.md`.) Each page's
/// relative links are reference links whose labels its module defines first, for rustdoc.
pub mod docs {
    /// The live stats page: what it shows, where its numbers come from, what it costs.
    ///
    #[doc = concat!(
        "[live-page-screenshot]: https://docs.rs/crate/routemeter/",
        env!("CARGO_PKG_VERSION"),
        "/source/docs/live-page.png"
    )]
    #[doc = include_str!("../docs/live-page.md")]
    pub mod live_page {}

    /// The test kit: assertions, paused time, the load driver and reading `/metrics`.
    ///
    #[doc = "[readme-test]: crate#assert-latency-in-a-test"]
    #[doc = include_str!("../docs/testing.md")]
    pub mod testing {}

    /// What is recorded: the metrics, their labels, timing and failures; without axum; gRPC.
    #[doc = include_str!("../docs/recorded.md")]
    pub mod recorded {}

    /// The Prometheus recorder: recorders, exactness, formats, native histograms, PromQL.
    #[doc = include_str!("../docs/prometheus.md")]
    pub mod prometheus {}

    /// Production monitoring in short: what the production guide covers.
    ///
    #[doc = "[guide]: crate::production_guide"]
    #[doc = concat!(
        "[monitoring-files]: https://docs.rs/crate/routemeter/",
        env!("CARGO_PKG_VERSION"),
        "/source/monitoring/"
    )]
    #[doc = include_str!("../docs/monitoring.md")]
    pub mod monitoring {}

    /// Performance: instructions, allocations, throughput and memory per request.
    ///
    #[doc = "[recorders]: crate::docs::prometheus#recorders"]
    #[doc = include_str!("../docs/performance.md")]
    pub mod performance {}

    /// Dependencies: what each one is for, and the candidates left out.
    ///
    #[doc = "[recorders]: crate::docs::prometheus#recorders"]
    #[doc = include_str!("../docs/dependencies.md")]
    pub mod dependencies {}

    /// Development: CI, the workspace, the tests and the published package.
    #[doc = include_str!("../docs/development.md")]
    pub mod development {}
}

// The examples of the README and the pages that need optional features, run as doc tests.
#[cfg(all(
    feature = "axum",
    feature = "prometheus",
    feature = "testing",
    feature = "monitoring"
))]
#[doc = include_str!("../docs/feature-examples.md")]
mod feature_examples {}

/// The crate's map: where each idea lives, and the path one request takes through the files.
///
/// (This module holds only documentation: `docs/architecture.md`, which a test keeps true.)
#[doc = include_str!("../docs/architecture.md")]
pub mod architecture {}

pub use classify::{DEFAULT_KNOWN_METHODS, ErrorType, MAX_KNOWN_METHODS, OTHER_METHOD, UrlScheme};
pub use grpc::{GrpcCode, MAX_RPC_METHOD_LEN, OTHER_RPC_METHOD};
pub use layer::body::ResponseBody;
pub use layer::future::ResponseFuture;
pub use layer::service::RouteMeter;
pub use layer::{LayerError, RouteMeterBuilder, RouteMeterLayer};
pub use log::RequestLog;
pub use names::{DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS, LabelError, Naming, NamingScheme};
pub use registry::request_label::{
    DEFAULT_REQUEST_LABEL_VALUES, MAX_REQUEST_LABEL_VALUE_LEN, MAX_REQUEST_LABEL_VALUES,
};
pub use route::{
    DEFAULT_MAX_ROUTES, DEFAULT_MAX_SERIES, OVERFLOW_ROUTE, RouteRequest, UNMATCHED_ROUTE,
};

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The bodies of the code blocks of `text` whose fence (indented or not) is `fence`.
    fn blocks(text: &str, fence: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.trim() == fence {
                let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
                out.push(body.join("\n"));
            }
        }
        out
    }

    /// README.md and every page under `docs/`, as paths relative to the crate's root.
    fn pages() -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = vec!["README.md".to_owned()];
        for entry in std::fs::read_dir(root.join("docs")).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".md") {
                out.push(format!("docs/{name}"));
            }
        }
        out.sort();
        out
    }

    /// Every example the README and the pages under `docs/` mark `ignore` is run elsewhere, word
    /// for word: those that need an optional feature in `docs/feature-examples.md`, those that
    /// need heavy crates in the integrations package's `doctests.md`.
    #[test]
    fn every_ignored_example_runs_elsewhere() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        let mut ignored = Vec::new();
        for page in pages() {
            if page != "docs/feature-examples.md" && page != "docs/architecture.md" {
                ignored.extend(blocks(&read(&page), "```rust,ignore"));
            }
        }
        let examples = read("docs/feature-examples.md");
        let mut run = blocks(&examples, "```rust");
        run.extend(blocks(&examples, "```rust,no_run"));
        // The integrations package is in the repository, not in the published crate.
        if let Ok(heavy) = std::fs::read_to_string(root.join("integrations/doctests.md")) {
            run.extend(blocks(&heavy, "```rust,no_run"));
        } else {
            ignored.retain(|b| !b.contains("tonic") && !b.contains("opentelemetry"));
        }
        ignored.sort();
        run.sort();
        assert_eq!(
            ignored, run,
            "an ignored example and its running copy differ"
        );
    }

    /// The relative link targets of `text`: inline ones (`](target)`) and reference definitions
    /// (`[label]: target`), leaving out absolute URLs and links to an anchor of the same page.
    fn relative_links(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut fenced = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            }
            if fenced {
                continue;
            }
            let mut rest = line;
            while let Some(at) = rest.find("](") {
                let after = &rest[at + 2..];
                let end = after.find(')').unwrap_or(after.len());
                out.push(after[..end].to_owned());
                rest = &after[end..];
            }
            if let Some(def) = line.strip_prefix('[') {
                if let Some((_, target)) = def.split_once("]: ") {
                    out.push(target.trim().to_owned());
                }
            }
        }
        out.retain(|t| !t.contains("://") && !t.starts_with('#'));
        out
    }

    /// A heading's anchor as GitHub makes it: lowercase, punctuation other than `-` dropped,
    /// spaces made `-`.
    fn slug(heading: &str) -> String {
        heading
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect()
    }

    /// The anchors of the headings of a markdown text, outside code blocks.
    fn anchors(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut fenced = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            }
            if !fenced && line.starts_with('#') {
                out.push(slug(line.trim_start_matches('#')));
            }
        }
        out
    }

    /// Every relative link of the README and the pages names a file or folder that exists,
    /// relative to the page's own folder (as GitHub resolves it), and every anchor into another
    /// markdown file names one of its headings.
    #[test]
    fn every_relative_link_resolves() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for page in pages() {
            let text = std::fs::read_to_string(root.join(&page)).unwrap();
            let dir = root.join(&page).parent().unwrap().to_owned();
            for link in relative_links(&text) {
                let (file, anchor) = match link.split_once('#') {
                    Some((file, anchor)) => (file, Some(anchor)),
                    None => (link.as_str(), None),
                };
                let target = dir.join(file);
                assert!(target.exists(), "{page}: {link} does not exist");
                if let Some(anchor) = anchor.filter(|_| file.ends_with(".md")) {
                    let there = std::fs::read_to_string(&target).unwrap();
                    assert!(
                        anchors(&there).iter().any(|a| a == anchor),
                        "{page}: {link}: {file} has no heading #{anchor}"
                    );
                }
            }
        }
    }

    /// Every `.rs` file under `dir`.
    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The paths a line of the map names: `src/...` ones as written, and bare `name.rs` ones
    /// inside the folder the line names first.
    fn named(line: &str) -> Vec<String> {
        let mut folder: Option<String> = None;
        let mut names = Vec::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                continue;
            }
            if part.starts_with("src/") {
                if part.ends_with('/') && folder.is_none() {
                    folder = Some(part.to_owned());
                }
                names.push(part.to_owned());
            } else if part.ends_with(".rs") && !part.contains(' ') {
                let folder = folder.as_deref().unwrap_or_else(|| {
                    panic!("`{part}` names a file, but its line names no folder: {line}")
                });
                names.push(format!("{folder}{part}"));
            }
        }
        names
    }

    #[test]
    fn the_architecture_map_names_every_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let map = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
        let listed: Vec<String> = map.lines().flat_map(named).collect();
        for name in &listed {
            assert!(
                root.join(name).exists(),
                "docs/architecture.md names {name}, which does not exist"
            );
        }
        let mut files = Vec::new();
        sources(&root.join("src"), &mut files);
        for file in files {
            let rel = file
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            // Named itself, inside a named folder, or a child module of a named file
            // (`src/x.rs` covers `src/x/...`).
            let covered = listed.iter().any(|name| {
                rel == *name
                    || (name.ends_with('/') && rel.starts_with(name.as_str()))
                    || name
                        .strip_suffix(".rs")
                        .is_some_and(|stem| rel.starts_with(&format!("{stem}/")))
            });
            assert!(covered, "{rel} is not on the map in docs/architecture.md");
        }
    }
}
