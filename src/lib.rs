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
// The README is the crate's front page with any set of features: its examples that need an
// optional feature are marked `ignore` there and run, with every feature on, as the doc tests of
// `feature_examples` (below), which a test keeps identical to them.
#![doc = include_str!("../README.md")]
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
#[cfg(any(feature = "prometheus", feature = "testing"))]
mod quantile;
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
/// (This module holds only documentation: `docs/production.md`, whose examples are tested;
/// those that need an optional feature run as the doc tests of `docs/feature-examples.md`.)
#[doc = include_str!("../docs/production.md")]
pub mod production_guide {}

// The README's and the guide's examples that need optional features, run as doc tests.
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

    /// Every example the README and the guide mark `ignore` is run elsewhere, word for word:
    /// those that need an optional feature in `docs/feature-examples.md`, those that need heavy
    /// crates in the integrations package's `doctests.md`.
    #[test]
    fn every_ignored_example_runs_elsewhere() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        let mut ignored = blocks(&read("README.md"), "```rust,ignore");
        ignored.extend(blocks(&read("docs/production.md"), "```rust,ignore"));
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
