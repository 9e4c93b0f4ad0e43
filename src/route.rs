//! How a request gets its route label.
//!
//! In order: a route function given to the builder; else axum's `MatchedPath` (feature `axum`);
//! else the mount a path lies under ([`RouteMeterBuilder::mount`](crate::RouteMeterBuilder::mount),
//! for services nested with `Router::nest_service`); else [`UNMATCHED_ROUTE`]. The raw URI path
//! is never used as a label. Every distinct value a
//! layer sees is interned once; past [`DEFAULT_MAX_ROUTES`] (or the configured limit) new values are
//! recorded as [`OVERFLOW_ROUTE`], so no input can grow the number of series without bound.

use std::sync::Arc;

use http::{Extensions, HeaderMap, Method, Request, Uri};

/// The route label of requests that matched no route: axum's 404 fallback, or a route function
/// that returned `None`.
pub const UNMATCHED_ROUTE: &str = "__unmatched__";

/// The route label of requests whose route value arrived after the layer already tracked its
/// maximum number of distinct routes. Each such request also increments the
/// [`route_overflow`](crate::Naming::route_overflow) counter.
pub const OVERFLOW_ROUTE: &str = "__overflow__";

/// How many distinct route values one layer tracks unless told otherwise
/// ([`RouteMeterBuilder::max_routes`](crate::RouteMeterBuilder::max_routes)).
pub const DEFAULT_MAX_ROUTES: usize = 1000;

/// How many label sets each metric gets from one layer unless told otherwise
/// ([`RouteMeterBuilder::max_series`](crate::RouteMeterBuilder::max_series)): five outcomes
/// for each of [`DEFAULT_MAX_ROUTES`] routes. With the default names and body-size histograms,
/// a full budget renders about 230,000 exposition lines.
pub const DEFAULT_MAX_SERIES: usize = 5_000;

/// What a route function sees of a request: its method, URI, headers and extensions.
///
/// The body is left out on purpose: a route must be decided before the body is read.
#[derive(Debug, Clone, Copy)]
pub struct RouteRequest<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> RouteRequest<'a> {
    /// A view of `request`.
    #[must_use]
    pub fn new<B>(request: &'a Request<B>) -> Self {
        Self {
            method: request.method(),
            uri: request.uri(),
            headers: request.headers(),
            extensions: request.extensions(),
        }
    }

    /// The request method.
    #[must_use]
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The request URI.
    #[must_use]
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The URI path.
    #[must_use]
    pub fn path(&self) -> &'a str {
        self.uri.path()
    }

    /// The request headers.
    #[must_use]
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The request extensions (axum's `MatchedPath` lives here once routing has run).
    #[must_use]
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }

    /// The route template axum matched, if the request went through an axum router and matched a
    /// route; `None` for the fallback.
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    #[must_use]
    pub fn matched_path(&self) -> Option<&'a str> {
        self.matched_path_at().0
    }

    /// The matched template (as [`matched_path`](Self::matched_path)) and the request's key
    /// (see [`crate::layer::nesting::request_key`]; 0: it has no `MatchedPath`), from one look-up.
    #[cfg(feature = "axum")]
    #[inline]
    pub(crate) fn matched_path_at(&self) -> (Option<&'a str>, usize) {
        match self.extensions.get::<axum::extract::MatchedPath>() {
            Some(matched) => (application_route(matched.as_str()), matched_key(matched)),
            None => (None, 0),
        }
    }
}

/// `path`, a `MatchedPath` axum gave, unless it is one of axum's own catch-alls.
#[cfg(feature = "axum")]
#[inline]
fn application_route(path: &str) -> Option<&str> {
    // axum registers its fallbacks (and the tail of a nested service) as a catch-all last
    // segment with a private parameter name; those requests matched no route of the
    // application. The byte before the closing brace settles most templates at once.
    const PRIVATE: [&str; 2] = [
        "/{*__private__axum_fallback}",
        "/{*__private__axum_nest_tail_param}",
    ];
    let b = path.as_bytes();
    let private = b.len() >= 2
        && b[b.len() - 1] == b'}'
        && matches!(b[b.len() - 2], b'k' | b'm')
        && PRIVATE.iter().any(|p| path.ends_with(p));
    (!private).then_some(path)
}

/// A route function, type-erased: it hands the label it decided (or `None`) to `sink`.
pub(crate) type RouteFn =
    Arc<dyn for<'a> Fn(&RouteRequest<'a>, &mut dyn FnMut(Option<&str>)) + Send + Sync>;

/// Erases a user route function that returns any string-like value.
pub(crate) fn erase<F, T>(f: F) -> RouteFn
where
    F: Fn(&RouteRequest<'_>) -> Option<T> + Send + Sync + 'static,
    T: AsRef<str>,
{
    Arc::new(move |req, sink| match f(req) {
        Some(label) => sink(Some(label.as_ref())),
        None => sink(None),
    })
}

/// A service mounted under a path prefix, and the one label its requests get.
#[derive(Debug, Clone)]
pub(crate) struct Mount {
    prefix: Box<str>,
    label: Box<str>,
}

impl Mount {
    /// Checks `prefix` (`/static`; a trailing `/` is ignored) and builds its label
    /// (`/static/{*path}`).
    /// Refused with the reason why.
    pub(crate) fn new(prefix: &str) -> Result<Self, &'static str> {
        let error = |reason: &'static str| reason;
        let trimmed = prefix.trim_end_matches('/');
        if !prefix.starts_with('/') {
            return Err(error("it must start with `/`"));
        }
        if trimmed.is_empty() {
            return Err(error(
                "the root cannot be a mount (every path lies under it)",
            ));
        }
        if let Some(c) = trimmed.chars().find(|c| {
            matches!(c, '{' | '}' | '*' | '?' | '#') || c.is_whitespace() || c.is_control()
        }) {
            return Err(match c {
                '{' | '}' | '*' => error("it must be a literal path, without `{`, `}` or `*`"),
                '?' | '#' => error("it must be a path, without a query or fragment"),
                _ => error("it must not contain whitespace or control characters"),
            });
        }
        Ok(Self {
            prefix: trimmed.into(),
            label: format!("{trimmed}/{{*path}}").into(),
        })
    }

    /// Whether `path` is the mount itself or lies under it.
    fn holds(&self, path: &str) -> bool {
        path.strip_prefix(&*self.prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// Whether `label` is a template axum gives the mount point itself (`/static`, `/static/`).
    fn is_mount_point(&self, label: &str) -> bool {
        label
            .strip_prefix(&*self.prefix)
            .is_some_and(|rest| rest.is_empty() || rest == "/")
    }
}

/// Adds mounts to a route decision: a request under a mount that got no route label (axum gives
/// requests inside `nest_service` no public `MatchedPath`), or got the mount point's own
/// template, is labelled with the mount's label.
pub(crate) fn with_mounts(inner: Option<RouteFn>, mounts: Vec<Mount>) -> RouteFn {
    let mounts: Arc<[Mount]> = mounts.into();
    Arc::new(move |req, sink| {
        let path = req.path();
        let mount = mounts.iter().find(|m| m.holds(path));
        let mut forward = |label: Option<&str>| match (label, mount) {
            (None, Some(m)) => sink(Some(&m.label)),
            (Some(l), Some(m)) if m.is_mount_point(l) => sink(Some(&m.label)),
            (label, _) => sink(label),
        };
        match &inner {
            Some(f) => f(req, &mut forward),
            None => forward(matched(req)),
        }
    })
}

/// The label the layer uses when neither a route function nor a mount is given: the route
/// template axum matched, if any; and the request's key (see
/// [`crate::layer::nesting::request_key`]) when the look-up found `MatchedPath`, else 0.
#[inline]
pub(crate) fn default_route<'a>(req: &RouteRequest<'a>) -> (Option<&'a str>, usize) {
    #[cfg(feature = "axum")]
    {
        req.matched_path_at()
    }
    #[cfg(not(feature = "axum"))]
    {
        let _ = req;
        (None, 0)
    }
}

/// The route template axum matched, if any.
fn matched<'a>(req: &RouteRequest<'a>) -> Option<&'a str> {
    #[cfg(feature = "axum")]
    {
        req.matched_path()
    }
    #[cfg(not(feature = "axum"))]
    {
        let _ = req;
        None
    }
}

/// Says, once per process, what a request that matched no route yet was answered with
/// `status` (neither 404 nor 405, which are axum's answers to such requests) most likely was:
/// a request axum routed into a service nested with `Router::nest_service`, or into a fallback
/// service. axum leaves no public trace of such a mount (its `MatchedNestedPath` is private,
/// the nested path is set inside the layer, and the fallback leaves the same public
/// extensions), so only the answer tells these requests from ones that matched nothing, and
/// only a declared mount labels them. Apps whose unmatched requests all get 404 never see it.
#[cfg(feature = "axum")]
#[cold]
pub(crate) fn warn_unmounted(status: http::StatusCode) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.load(Ordering::Relaxed) && !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "routemeter: a request that matched no route of the axum router was answered with \
             status {status}, so a service nested with `Router::nest_service` (e.g. \
             tower-http's `ServeDir`) or a fallback service served it. axum does not show a \
             layer such mounts, so these requests are recorded under the route \
             `__unmatched__`: declare each mount with `RouteMeterBuilder::mount(\"/prefix\")` \
             to label them `/prefix/{{*path}}`. Logged once.",
            status = status.as_u16(),
        );
    }
}

/// The key of a request by its `MatchedPath` (one of the keys layers tell requests apart by,
/// see `crate::layer::nesting::request_key`): its address, mixed with the template's, so
/// that a new request at a freed one's address differs unless it matched the same route.
#[cfg(feature = "axum")]
#[inline]
pub(crate) fn matched_key(matched: &axum::extract::MatchedPath) -> usize {
    let at = std::ptr::from_ref(matched).addr();
    at.rotate_left(17) ^ matched.as_str().as_ptr().addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_exposes_request_parts() {
        let req = Request::post("/a/b?c=1")
            .header("x-tenant", "t1")
            .body(())
            .unwrap();
        let view = RouteRequest::new(&req);
        assert_eq!(view.method(), Method::POST);
        assert_eq!(view.path(), "/a/b");
        assert_eq!(view.uri().query(), Some("c=1"));
        assert_eq!(view.headers()["x-tenant"], "t1");
        assert_eq!(default_route(&view), (None, 0));
    }

    fn decide(f: &RouteFn, path: &str) -> Option<String> {
        let req = Request::get(path).body(()).unwrap();
        let mut got = None;
        f(&RouteRequest::new(&req), &mut |l| {
            got = l.map(str::to_owned);
        });
        got
    }

    #[test]
    fn mounts_label_the_paths_under_them() {
        let f = with_mounts(None, vec![Mount::new("/static/").unwrap()]);
        for path in [
            "/static",
            "/static/",
            "/static/index.html",
            "/static/css/a.css",
        ] {
            assert_eq!(
                decide(&f, path).as_deref(),
                Some("/static/{*path}"),
                "{path}"
            );
        }
        assert_eq!(decide(&f, "/staticx/a"), None);
        assert_eq!(decide(&f, "/"), None);
        // A route function's labels win; its `None` falls back to the mount.
        let inner =
            erase(|req: &RouteRequest<'_>| (req.path() == "/static/special").then_some("/s"));
        let f = with_mounts(Some(inner), vec![Mount::new("/static").unwrap()]);
        assert_eq!(decide(&f, "/static/special").as_deref(), Some("/s"));
        assert_eq!(
            decide(&f, "/static/other").as_deref(),
            Some("/static/{*path}")
        );
    }

    #[test]
    fn mount_prefixes_are_checked() {
        for bad in [
            "", "/", "//", "static", "/a/{id}", "/a/*", "/a b", "/a?x", "/a\n",
        ] {
            let reason = Mount::new(bad).unwrap_err();
            assert!(
                reason.starts_with("it must") || reason.starts_with("the root"),
                "{reason}"
            );
        }
        assert!(Mount::new("/files/v1").is_ok());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any prefix is either refused with a message or a literal path whose label is the
        /// prefix plus `/{*path}`; any path then gets that label or none, never itself.
        #[test]
        fn mounts_never_panic_and_stay_bounded(
            prefix in "(/[a-z{}*?# \t\n/.-]{0,6}){0,3}|[^/].{0,8}|\\PC{0,12}",
            path in "/[a-z*.-]{0,6}(/[a-z*.-]{0,6}){0,3}",
        ) {
            match Mount::new(&prefix) {
                Err(reason) => proptest::prop_assert!(!reason.is_empty()),
                Ok(mount) => {
                    let trimmed = prefix.trim_end_matches('/');
                    proptest::prop_assert_eq!(&*mount.label, format!("{trimmed}/{{*path}}"));
                    proptest::prop_assert!(mount.holds(trimmed));
                    let under = format!("{trimmed}/x");
                    proptest::prop_assert!(mount.holds(&under));
                    let label = mount.label.clone();
                    let f = with_mounts(None, vec![mount]);
                    let got = decide(&f, &path);
                    proptest::prop_assert!(got.is_none() || got.as_deref() == Some(&*label));
                }
            }
        }
    }

    #[test]
    fn erased_function_passes_label() {
        let f = erase(|req: &RouteRequest<'_>| req.path().starts_with("/u/").then_some("/u/{id}"));
        let req = Request::get("/u/7").body(()).unwrap();
        let mut got = None;
        f(&RouteRequest::new(&req), &mut |l| {
            got = l.map(str::to_owned);
        });
        assert_eq!(got.as_deref(), Some("/u/{id}"));
        let req = Request::get("/x").body(()).unwrap();
        let mut got = Some(String::new());
        f(&RouteRequest::new(&req), &mut |l| {
            got = l.map(str::to_owned);
        });
        assert_eq!(got, None);
    }
}
