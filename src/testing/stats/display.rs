//! A route's summary as text: counts, statuses, error types, the hint about responses dropped
//! unread, and one line per distribution (exact values, or for buckets the ranges that hold).

use std::fmt;
use std::ops::RangeInclusive;

use super::super::distribution::Distribution;
use super::{RouteStats, secs};

/// A value, or the range it certainly lies in.
fn range_text(range: &RangeInclusive<f64>, show: impl Fn(f64) -> String) -> String {
    if range.start() == range.end() {
        show(*range.start())
    } else {
        format!("{}..{}", show(*range.start()), show(*range.end()))
    }
}

fn bytes_text(v: f64) -> String {
    if v.is_infinite() {
        "∞".to_owned()
    } else if v.fract() == 0.0 {
        format!("{v}")
    } else {
        format!("{v:.1}")
    }
}

fn duration_text(v: f64) -> String {
    format!("{:?}", secs(v))
}

/// One distribution on one line: exact values, or for buckets the range each value lies in.
fn distribution_line(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    d: &Distribution,
    show: &dyn Fn(f64) -> String,
) -> fmt::Result {
    let n = d.count();
    let point = |q: f64| -> String {
        if d.is_bucketed() {
            range_text(&d.quantile_range(q), show)
        } else {
            show(d.quantile(q))
        }
    };
    let (min, max) = if d.is_bucketed() {
        (
            range_text(&d.quantile_range(0.0), show),
            range_text(&d.quantile_range(1.0), show),
        )
    } else {
        (show(d.min()), show(d.max()))
    };
    write!(f, "  {what}")?;
    if d.is_bucketed() {
        write!(f, " (from buckets: ranges that hold)")?;
    }
    writeln!(
        f,
        ": min {min} p50 {} p90 {} p95 {} p99 {} p99.9 {} max {max} mean {} total {} over {n}",
        point(0.5),
        point(0.9),
        point(0.95),
        point(0.99),
        point(0.999),
        show(d.mean()),
        show(d.sum()),
    )
}

impl fmt::Display for RouteStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} requests ({:.1}/s over {:.3?}), {} errors ({:.2}%), {} in flight",
            self.name,
            self.count,
            self.rps(),
            self.window,
            self.errors,
            self.error_ratio() * 100.0,
            self.active
        )?;
        if let Some(missing) = &self.missing {
            writeln!(f, "  {missing}")?;
        }
        let mut statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, n)| format!("{status} × {n}"))
            .chain(
                self.classes
                    .iter()
                    .map(|(class, n)| format!("{class}xx × {n}")),
            )
            .collect();
        if self.no_response > 0 {
            statuses.push(format!("no response × {}", self.no_response));
        }
        if !statuses.is_empty() {
            writeln!(f, "  statuses: {}", statuses.join(", "))?;
        }
        if !self.error_types.is_empty() {
            let errors: Vec<String> = self
                .error_types
                .iter()
                .map(|(e, n)| format!("{e} × {n}"))
                .collect();
            writeln!(f, "  errors: {}", errors.join(", "))?;
        }
        if self.dropped_unread > 0 {
            let which = match (self.dropped_unread, self.errors) {
                (1, 1) => "the only error is".to_owned(),
                (d, e) if d == e => format!("all {e} errors are"),
                (1, e) => format!("1 of the {e} errors is"),
                (d, e) => format!("{d} of the {e} errors are"),
            };
            writeln!(
                f,
                "  {which} `cancelled` after a 2xx or 3xx status: responses dropped unread: read \
                 the body (`routemeter::testing::send` sends a request and reads its body)"
            )?;
        }
        if self.active > 0.0 {
            writeln!(
                f,
                "  {} still in flight: a request is recorded when its response body ends, so \
                 read the body to its end (`routemeter::testing::send` sends a request and reads \
                 its body) or drop the response before taking the snapshot",
                self.active
            )?;
        }
        if self.count > 0 {
            distribution_line(f, "duration", &self.duration, &duration_text)?;
        }
        for (what, d) in [
            ("request bytes", &self.request_bytes),
            ("response bytes", &self.response_bytes),
        ] {
            if d.count() > 0 {
                distribution_line(f, what, d, &bytes_text)?;
            }
        }
        Ok(())
    }
}
