//! The page's embedded assets (HTML, script, style) and the security headers every response
//! of the page carries: a strict `Content-Security-Policy`, no sniffing, no framing.

/// The page, its script and its style, embedded in the crate.
const PAGE_HTML: &str = include_str!("page.html");
pub(super) const PAGE_JS: &str = include_str!("live.js");
pub(super) const PAGE_CSS: &str = include_str!("live.css");

/// The `Content-Security-Policy` sent with every response of the page: the page loads only
/// its own script, style and JSON, and cannot be framed.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page's HTML for a page whose last path segment is `name` (from a path the routes
/// have checked).
pub(crate) fn page_html(name: &str) -> String {
    PAGE_HTML.replace("{{NAME}}", name)
}

/// A response with the page's security headers.
pub(super) fn respond(
    content_type: &'static str,
    cache: &'static str,
    body: String,
) -> http::Response<String> {
    use http::header::{self, HeaderValue};
    let mut response = http::Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_suit_a_strict_csp_and_insert_text_only() {
        // No inline script, style or event handler, so `script-src 'self'; style-src 'self'`
        // holds; nothing loaded from another origin.
        let html = page_html("stats");
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains("<script src=\"stats.js\" defer></script>"));
        for banned in ["<style", "style=", " on", "http:", "https:", "//"] {
            assert!(!html.contains(banned), "{banned}");
        }
        // The script never parses text as markup or code.
        for banned in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "http:",
            "https:",
        ] {
            assert!(!PAGE_JS.contains(banned), "{banned}");
        }
        assert!(!PAGE_CSS.contains("url(") && !PAGE_CSS.contains("@import"));
        // Small enough to embed.
        assert!(PAGE_HTML.len() + PAGE_JS.len() + PAGE_CSS.len() < 24 * 1024);
    }
}
