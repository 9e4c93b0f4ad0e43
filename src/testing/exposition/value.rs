//! Numbers in an exposition: a sample value as Prometheus reads it (decimals, `NaN`, signed
//! infinities, hexadecimal floats), and when a value fits a count (a counter's, a bucket's).

/// A value as Prometheus (Go's `ParseFloat`) reads it: decimals, `NaN`, `Inf` in any case
/// with a sign, and hexadecimal floats such as `0x1.8p3`.
pub(super) fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok().or_else(|| parse_hex(s)),
    }
}

/// `[+-]0x<hex digits>[.<hex digits>]p[+-]<decimal exponent>` (exact up to 13 significant hex
/// digits; longer mantissas are rounded digit by digit).
fn parse_hex(s: &str) -> Option<f64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'-' => (-1.0, &s[1..]),
        b'+' => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    let rest = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let (mantissa, exponent) = rest.split_once(['p', 'P'])?;
    let exponent: i32 = exponent.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut value = 0.0f64;
    for c in int.chars().chain(frac.chars()) {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let shift = i32::try_from(frac.len()).ok()?.checked_mul(4)?;
    let exponent = exponent.checked_sub(shift)?;
    // In two steps, so that a large mantissa with a very negative exponent does not
    // underflow on the way.
    let half = exponent / 2;
    Some(sign * value * 2f64.powi(half) * 2f64.powi(exponent - half))
}

/// A counter's value, when a count can hold it: finite, not negative, below 2^64 (a fraction
/// is allowed; the counter keeps the exact value beside the rounded one).
pub(super) fn count(value: f64) -> Option<f64> {
    (0.0..18_446_744_073_709_551_616.0)
        .contains(&value)
        .then_some(value)
}

/// A bucket's or `_count`'s value, when it is a whole count.
pub(super) fn whole_count(value: f64) -> Option<u64> {
    count(value).filter(|v| v.fract() == 0.0).map(|v| v as u64)
}
