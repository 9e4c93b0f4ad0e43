//! Where a load over HTTP may go: a loopback `http://` URL only, and no more connections than
//! the process has file descriptors for; plus the full text of a client error.

use std::fmt;

use http::Uri;

/// Why a run against a URL could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// The URL could not be parsed, or is not `http://host[:port][/path]` (no query, no
    /// fragment).
    InvalidUrl(String),
    /// The host is not a loopback address: this driver is for tests of servers on this machine.
    NotLoopback(String),
    /// The concurrency needs more file descriptors than the process may open: a connection
    /// each, and a second one each for a server in this process.
    TooManyConnections {
        /// The connections the run would open at once.
        concurrency: usize,
        /// The process's limit on open file descriptors (`ulimit -n`).
        limit: u64,
        /// Descriptors already open.
        open: u64,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(u) => write!(
                f,
                "`{u}` is not an http:// URL with a host (and no query or fragment)"
            ),
            Self::TooManyConnections {
                concurrency,
                limit,
                open,
            } => write!(
                f,
                "a concurrency of {concurrency} needs up to {} file descriptors (a connection \
                 each, and one more each for a server in this process), but the limit on open \
                 files is {limit} (`ulimit -n`) and {open} are open: lower the concurrency or \
                 raise the limit",
                concurrency.saturating_mul(2)
            ),
            Self::NotLoopback(h) => write!(
                f,
                "`{h}` is not a loopback address; the test load driver only sends to this machine"
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// The authority and path prefix of a loopback base URL.
pub(super) fn loopback_base(base_url: &str) -> Result<(http::uri::Authority, String), LoadError> {
    let invalid = || LoadError::InvalidUrl(base_url.to_owned());
    let base: Uri = base_url.parse().map_err(|_| invalid())?;
    let (Some("http"), Some(authority)) = (base.scheme_str(), base.authority().cloned()) else {
        return Err(invalid());
    };
    if base.query().is_some() || base_url.contains('#') || authority.as_str().contains('@') {
        return Err(invalid());
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(LoadError::NotLoopback(host.to_owned()));
    }
    let prefix = base.path().trim_end_matches('/').to_owned();
    Ok((authority, prefix))
}

/// Refuses, on Linux, a run that would open more connections than the process has file
/// descriptors for: it would fail most of its requests with a vague connection error.
pub(super) fn check_descriptors(connections: usize) -> Result<(), LoadError> {
    let Some((limit, open)) = descriptors() else {
        return Ok(());
    };
    // A connection each, a second each for a server in this process, and some room for
    // everything else the process opens meanwhile.
    const SPARE: u64 = 64;
    let needed = (connections as u64)
        .saturating_mul(2)
        .saturating_add(open + SPARE);
    if needed > limit {
        return Err(LoadError::TooManyConnections {
            concurrency: connections,
            limit,
            open,
        });
    }
    Ok(())
}

/// The soft limit on open file descriptors and how many are open, where `/proc` tells.
fn descriptors() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    let limit = match soft {
        "unlimited" => return None,
        n => n.parse().ok()?,
    };
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some((limit, open))
}

/// An error with its sources (hyper's client errors say little at the top).
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base_urls() {
        let ok = |url: &str| loopback_base(url).map(|(a, p)| (a.to_string(), p));
        assert_eq!(
            ok("http://LOCALHOST:3000/api/"),
            Ok(("LOCALHOST:3000".into(), "/api".into()))
        );
        assert_eq!(
            ok("http://[::1]:80"),
            Ok(("[::1]:80".into(), String::new()))
        );
        assert_eq!(
            ok("http://127.0.0.2/"),
            Ok(("127.0.0.2".into(), String::new()))
        );
        for bad in [
            "http://127.0.0.1/?q=1",
            "http://127.0.0.1/#top",
            "http://user@127.0.0.1/",
            "ftp://127.0.0.1/",
            "127.0.0.1:80",
        ] {
            assert!(
                matches!(loopback_base(bad), Err(LoadError::InvalidUrl(_))),
                "{bad}"
            );
        }
        assert_eq!(
            loopback_base("http://localhost.example.com"),
            Err(LoadError::NotLoopback("localhost.example.com".into()))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any text is an error or a loopback authority with a clean prefix, never a panic.
        #[test]
        fn any_base_url_is_checked(
            url in prop_oneof![
                "\\PC{0,40}",
                "http://(localhost|LOCALHOST|127\\.0\\.0\\.1|\\[::1\\]|10\\.0\\.0\\.1|[a-z.]{0,12})(:[0-9]{0,6})?(/[a-z/?#@%]{0,12})?",
            ]
        ) {
            if let Ok((authority, prefix)) = loopback_base(&url) {
                let host = authority.host().trim_start_matches('[').trim_end_matches(']');
                prop_assert!(
                    host.eq_ignore_ascii_case("localhost")
                        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
                    "{url}"
                );
                prop_assert!(prefix.is_empty() || (prefix.starts_with('/') && !prefix.ends_with('/')));
                prop_assert!(!prefix.contains('?') && !prefix.contains('#'));
            }
        }
    }

    #[test]
    fn descriptor_limits_are_read_where_proc_has_them() {
        if cfg!(target_os = "linux") {
            let (limit, open) = descriptors().expect("/proc/self/limits on Linux");
            assert!(limit > 0 && open > 0 && open < limit);
            assert!(check_descriptors(1).is_ok());
            assert!(matches!(
                check_descriptors(usize::MAX),
                Err(LoadError::TooManyConnections { .. })
            ));
        }
    }
}
