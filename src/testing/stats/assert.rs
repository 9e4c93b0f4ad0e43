//! The assertions on a route's summary: counts, statuses, error ratios and quantile bounds,
//! each strict on a summary without requests and printing the whole summary when it fails.

use std::fmt;
use std::time::Duration;

use super::RouteStats;

impl RouteStats {
    #[track_caller]
    fn check(&self, ok: bool, what: fmt::Arguments<'_>) -> &Self {
        assert!(ok, "{what}\n{self}");
        self
    }

    /// Fails unless there is at least one request: a bound on nothing proves nothing.
    #[track_caller]
    fn require_requests(&self, what: &str) {
        self.check(
            self.count > 0,
            format_args!(
                "{}: no requests recorded, so `{what}` cannot hold",
                self.name
            ),
        );
    }

    /// Panics (printing this summary) unless exactly `n` requests finished.
    ///
    /// The only assertion that passes on a summary without requests, when `n` is 0.
    #[track_caller]
    pub fn assert_count(&self, n: u64) -> &Self {
        self.check(
            self.count == n,
            format_args!("{}: expected {n} requests, got {}", self.name, self.count),
        )
    }

    /// Panics (printing this summary) unless exactly `n` requests ended with response status
    /// `status`.
    #[track_caller]
    pub fn assert_status(&self, status: u16, n: u64) -> &Self {
        let got = self.status(status);
        self.check(
            got == n,
            format_args!(
                "{}: expected {n} requests with status {status}, got {got}",
                self.name
            ),
        )
    }

    /// Panics (printing this summary) unless exactly `n` gRPC calls ended with `code`.
    #[track_caller]
    pub fn assert_grpc_status(&self, code: crate::GrpcCode, n: u64) -> &Self {
        let got = self.grpc_status(code);
        self.check(
            got == n,
            format_args!(
                "{}: expected {n} calls with status {code}, got {got}",
                self.name
            ),
        )
    }

    /// Panics (printing this summary) if any request failed, or if there were no requests.
    #[track_caller]
    pub fn assert_no_errors(&self) -> &Self {
        self.require_requests("assert_no_errors");
        self.check(
            self.errors == 0,
            format_args!("{}: expected no errors, got {}", self.name, self.errors),
        )
    }

    /// Panics (printing this summary) unless there were requests and their error ratio is at
    /// most `max_ratio` (0.0 to 1.0).
    #[track_caller]
    pub fn assert_error_ratio_at_most(&self, max_ratio: f64) -> &Self {
        self.error_ratio_bound(max_ratio, true)
    }

    /// Panics (printing this summary) unless there were requests and their error ratio is
    /// below `ratio` (0.0 to 1.0).
    #[track_caller]
    pub fn assert_error_ratio_below(&self, ratio: f64) -> &Self {
        self.error_ratio_bound(ratio, false)
    }

    #[track_caller]
    fn error_ratio_bound(&self, bound: f64, inclusive: bool) -> &Self {
        assert!(
            (0.0..=1.0).contains(&bound),
            "an error ratio bound is between 0.0 and 1.0, not {bound}"
        );
        let (name, relation) = if inclusive {
            ("assert_error_ratio_at_most", "above")
        } else {
            ("assert_error_ratio_below", "not below")
        };
        self.require_requests(name);
        let ratio = self.error_ratio();
        let ok = if inclusive {
            ratio <= bound
        } else {
            ratio < bound
        };
        self.check(
            ok,
            format_args!(
                "{}: error ratio {ratio:.4} ({} of {}) is {relation} {bound}",
                self.name, self.errors, self.count
            ),
        )
    }

    /// Panics (printing this summary) unless there were requests and the duration at quantile
    /// `q` (0.0 to 1.0) is certainly below `bound`.
    ///
    /// "Certainly": with durations read from buckets, the whole range the quantile may lie in
    /// ([`quantile_range`](Self::quantile_range)) must be below `bound`.
    #[track_caller]
    pub fn assert_quantile_below(&self, q: f64, bound: Duration) -> &Self {
        self.quantile_bound(q, bound, false)
    }

    /// Panics (printing this summary) unless there were requests and the duration at quantile
    /// `q` (0.0 to 1.0) is certainly at most `bound` (see
    /// [`assert_quantile_below`](Self::assert_quantile_below)).
    #[track_caller]
    pub fn assert_quantile_at_most(&self, q: f64, bound: Duration) -> &Self {
        self.quantile_bound(q, bound, true)
    }

    /// Panics (printing this summary) unless there were requests and p99 is below `bound`.
    #[track_caller]
    pub fn assert_p99_below(&self, bound: Duration) -> &Self {
        self.quantile_bound(0.99, bound, false)
    }

    /// Panics (printing this summary) unless there were requests and p99 is at most `bound`.
    #[track_caller]
    pub fn assert_p99_at_most(&self, bound: Duration) -> &Self {
        self.quantile_bound(0.99, bound, true)
    }

    #[track_caller]
    fn quantile_bound(&self, q: f64, bound: Duration, inclusive: bool) -> &Self {
        assert!(
            (0.0..=1.0).contains(&q),
            "a quantile is between 0.0 and 1.0, not {q}"
        );
        let p = percentile(q);
        let relation = if inclusive { "at most" } else { "below" };
        self.require_requests(&format!("{p} {relation} {bound:?}"));
        let range = self.quantile_range(q);
        let high = *range.end();
        let ok = if inclusive {
            high <= bound
        } else {
            high < bound
        };
        if self.duration.is_bucketed() && range.start() != range.end() {
            self.check(
                ok,
                format_args!(
                    "{}: {p} lies between {:?} and {high:?} (from buckets), so it is not certainly {relation} {bound:?}",
                    self.name,
                    range.start()
                ),
            )
        } else {
            self.check(
                ok,
                format_args!("{}: {p} = {high:?} is not {relation} {bound:?}", self.name),
            )
        }
    }
}

/// `p99`, `p99.9`, `p50` for a quantile.
fn percentile(q: f64) -> String {
    let p = (q * 100.0 * 1e6).round() / 1e6;
    format!("p{p}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_names() {
        assert_eq!(percentile(0.99), "p99");
        assert_eq!(percentile(0.999), "p99.9");
        assert_eq!(percentile(0.5), "p50");
    }
}
