//! A histogram bucket bound as the `le` label value that Prometheus stores, which depends on
//! who wrote the bound and how Prometheus read it:
//!
//! - routemeter's own text exposition writes integers without a fraction (`1`) and every other
//!   bound in the shortest form that reads back exactly (`0.25`, `1e-6`): [`exposition`]. A
//!   text scrape by Prometheus 2 stores it as written.
//! - Prometheus 3 stores every classic `le` in Go's OpenMetrics form, and Prometheus 2 does the
//!   same for protobuf scrapes (routemeter serves protobuf when asked, as Prometheus does with
//!   native histograms on): `1.0`, `1e+06`, `1e-06` ([`openmetrics_go`]).
//! - Other exporters the naming schemes cover may write Rust's `Display` form (`0.000001`):
//!   [`display`].
//!
//! [`le_matcher`] selects a bucket whichever of these forms was stored.

use std::fmt::Write as _;

use super::escape::{promql_regex_of, promql_str};

/// `bound` as routemeter's exposition writes it (see [`crate::names::push_f64`]).
pub(crate) fn exposition(bound: f64) -> String {
    let mut out = String::new();
    crate::names::push_f64(&mut out, bound);
    out
}

/// `bound` as Prometheus's `FormatOpenMetricsFloat` writes it: `strconv.FormatFloat(f, 'g',
/// -1, 64)`, with `.0` appended when the result has neither `.` nor `e`.
///
/// Go's shortest `'g'` takes the shortest digits that read back exactly (the digits Rust's
/// `{:e}` gives) and uses the exponent form when the decimal exponent is below -4 or at least
/// 6 (with shortest precision, Go decides with precision 6); the exponent has a sign and at
/// least two digits (`1e+06`, `2.5e-07`). Otherwise it writes the digits as a plain decimal
/// (`100000`, `0.0001`).
pub(crate) fn openmetrics_go(bound: f64) -> String {
    if bound.is_nan() {
        return "NaN".to_owned();
    }
    if bound.is_infinite() {
        return if bound > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if bound == 0.0 {
        return "0.0".to_owned();
    }
    let scientific = format!("{:e}", bound.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` writes an exponent");
    let exp: i32 = exponent.parse().expect("`{:e}` writes an integer exponent");
    let digits: Vec<char> = mantissa.chars().filter(|c| *c != '.').collect();
    let nd = i32::try_from(digits.len()).expect("at most 17 digits");
    let mut out = String::new();
    if bound < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push('.');
            out.extend(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.unsigned_abs());
    } else {
        // The decimal point sits after `dp` digits (before the first when `dp` <= 0).
        let dp = exp + 1;
        let digit = |i: i32| {
            usize::try_from(i)
                .ok()
                .and_then(|i| digits.get(i))
                .copied()
                .unwrap_or('0')
        };
        if dp > 0 {
            (0..dp).for_each(|i| out.push(digit(i)));
        } else {
            out.push('0');
        }
        if nd > dp {
            out.push('.');
            (dp..nd).for_each(|i| out.push(digit(i)));
        }
    }
    if !out.contains(['.', 'e']) {
        out.push_str(".0");
    }
    out
}

/// `bound` in Rust's `Display` form (`1`, `0.000001`): what exporters that format with `{}`
/// write.
pub(crate) fn display(bound: f64) -> String {
    format!("{bound}")
}

/// Every form of `bound` an `le` label may hold: routemeter's exposition form first, then Go's
/// OpenMetrics form and Rust's `Display` form, each once.
pub(crate) fn forms(bound: f64) -> Vec<String> {
    let mut forms: Vec<String> = Vec::with_capacity(3);
    for form in [exposition(bound), openmetrics_go(bound), display(bound)] {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// The matcher of the bucket whose bound is `bound`, whichever form Prometheus stored:
/// `le="0.25"` when every form is the same, else `le=~"1|1\\.0"` (each form regex-escaped,
/// then escaped for the PromQL string).
pub(crate) fn le_matcher(bound: f64) -> String {
    match forms(bound).as_slice() {
        [one] => format!("le=\"{}\"", promql_str(one)),
        many => {
            let many: Vec<&str> = many.iter().map(String::as_str).collect();
            format!("le=~\"{}\"", promql_regex_of(&many))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outputs of Go's `strconv.FormatFloat(f, 'g', -1, 64)` by its documented rule
    /// (`src/strconv/ftoa.go`: shortest digits; `%e` when the exponent is < -4 or >= 6 in
    /// shortest mode; exponents signed, at least two digits), then `.0` when there is neither
    /// `.` nor `e` (Prometheus's `FormatOpenMetricsFloat`).
    const GO: [(f64, &str); 18] = [
        (0.005, "0.005"),
        (0.1, "0.1"),
        (0.25, "0.25"),
        (1.0, "1.0"),
        (2.5, "2.5"),
        (10.0, "10.0"),
        (100_000.0, "100000.0"),
        (1e6, "1e+06"),
        (1e-5, "1e-05"),
        (1e-6, "1e-06"),
        (2.5e-7, "2.5e-07"),
        (0.0001, "0.0001"),
        (1e21, "1e+21"),
        (123_456_789.0, "1.23456789e+08"),
        (0.0, "0.0"),
        (-1.0, "-1.0"),
        (5e-324, "5e-324"),
        (1.5e300, "1.5e+300"),
    ];

    #[test]
    fn go_openmetrics_form_matches_known_go_outputs() {
        for (bound, go) in GO {
            assert_eq!(openmetrics_go(bound), go, "{bound:e}");
        }
    }

    #[test]
    fn exposition_form_is_routemeters() {
        for (bound, text) in [
            (1.0, "1"),
            (10.0, "10"),
            (0.25, "0.25"),
            (0.005, "0.005"),
            (1e-6, "1e-6"),
            (2.5e-7, "2.5e-7"),
            (123_456_789.0, "123456789"),
        ] {
            assert_eq!(exposition(bound), text, "{bound:e}");
        }
    }

    #[test]
    fn matchers_take_every_stored_form() {
        assert_eq!(le_matcher(0.25), "le=\"0.25\"");
        assert_eq!(le_matcher(1.0), "le=~\"1|1\\\\.0\"");
        assert_eq!(
            le_matcher(1e-6),
            "le=~\"1e-6|1e-06|0\\\\.000001\"",
            "routemeter, Go, Rust"
        );
        assert_eq!(
            le_matcher(1e6),
            "le=~\"1000000|1e\\\\+06\"",
            "`+` is a regex metacharacter"
        );
    }
}
