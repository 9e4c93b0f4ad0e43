//! The live page's axum routes: the checked page path, the page, its JSON (with the `since`
//! query a polling page sends), script and style.

use std::sync::Arc;

use super::assets::{PAGE_CSS, PAGE_JS, page_html, respond};
use super::sampler::Live;

/// The value of `since` in a query string, when it is there and a number.
pub(crate) fn since_param(query: Option<&str>) -> Option<u64> {
    query?
        .split('&')
        .filter_map(|pair| pair.strip_prefix("since="))
        .find_map(|v| v.parse::<u64>().ok())
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
/// Why a live page cannot be served at a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LivePageError {
    path: String,
}

impl std::fmt::Display for LivePageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid live page path {:?}: it must start with `/`, not end with `/`, and use only ASCII letters, digits, `-`, `_`, `.` and `/` (no empty, `.` or `..` segment)",
            self.path
        )
    }
}

impl std::error::Error for LivePageError {}

/// Checks a page path and returns its last segment.
pub(crate) fn check_path(path: &str) -> Result<&str, LivePageError> {
    let err = || LivePageError {
        path: path.to_owned(),
    };
    let rest = path.strip_prefix('/').ok_or_else(err)?;
    let ok_chars = rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if !ok_chars
        || rest
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(err());
    }
    rest.rsplit('/').next().ok_or_else(err)
}

/// The router of a page at `path` (checked): the page, `{path}.json`, `{path}.js` and
/// `{path}.css`.
pub(crate) fn router<S>(live: &Arc<Live>, path: &str, name: &str) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    use axum::routing::get;
    let html = page_html(name);
    let json_live = Arc::clone(live);
    let page_live = Arc::clone(live);
    axum::Router::new()
        .route(
            path,
            get(move || {
                page_live.start();
                let html = html.clone();
                async move { respond("text/html; charset=utf-8", "no-cache", html) }
            }),
        )
        .route(
            &format!("{path}.json"),
            get(move |uri: http::Uri| {
                let live = Arc::clone(&json_live);
                async move {
                    live.start();
                    let since = since_param(uri.query());
                    let json = tokio::task::spawn_blocking(move || live.json(since))
                        .await
                        .unwrap_or_else(|_| String::from("{}"));
                    respond("application/json", "no-store", json)
                }
            }),
        )
        .route(
            &format!("{path}.js"),
            get(|| async {
                respond(
                    "text/javascript; charset=utf-8",
                    "no-cache",
                    PAGE_JS.to_owned(),
                )
            }),
        )
        .route(
            &format!("{path}.css"),
            get(|| async { respond("text/css; charset=utf-8", "no-cache", PAGE_CSS.to_owned()) }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn since_parses_any_query(q in ".{0,40}", n in any::<u64>()) {
            // Anything parses without a panic; a well-formed value is found among others.
            let _ = since_param(Some(&q));
            let query = format!("a=1&since={n}&b={}", q.replace('&', ""));
            prop_assert_eq!(since_param(Some(&query)), Some(n));
        }

        #[test]
        fn paths_are_checked(p in "[ -~]{0,20}") {
            if let Ok(name) = check_path(&p) {
                prop_assert!(p.starts_with('/') && p.ends_with(name));
                prop_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
                prop_assert!(!name.is_empty() && name != "." && name != "..");
            }
        }
    }

    #[test]
    fn since_and_paths() {
        assert_eq!(since_param(None), None);
        assert_eq!(since_param(Some("since=12")), Some(12));
        assert_eq!(since_param(Some("since=-1&since=3")), Some(3));
        assert_eq!(since_param(Some("since=")), None);
        assert_eq!(check_path("/stats"), Ok("stats"));
        assert_eq!(check_path("/admin/live-stats"), Ok("live-stats"));
        for bad in [
            "", "/", "stats", "/stats/", "/a//b", "/a/../b", "/a b", "/{x}", "/\"x",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        let html = page_html("stats");
        assert!(html.contains("src=\"stats.js\""), "{html}");
        assert!(!html.contains("{{"), "{html}");
    }
}
