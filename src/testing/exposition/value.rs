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

/// `[+-]0x<hex digits>[.<hex digits>]p[+-]<decimal exponent>`, rounded once to the nearest
/// `f64` (ties to even) as Go's `ParseFloat` rounds it, however long the mantissa; only a
/// result below the smallest normal `f64` (2^-1022) can be rounded twice.
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
    // Up to 60 significant bits are kept exactly; every digit after them only moves the
    // exponent (in the integer part) and leaves a sticky bit when it is not zero, which is all
    // the one rounding to 53 bits needs to know.
    let (mut bits, mut shift, mut sticky) = (0u64, 0i32, false);
    for (c, fraction) in int
        .chars()
        .map(|c| (c, false))
        .chain(frac.chars().map(|c| (c, true)))
    {
        let digit = u64::from(c.to_digit(16)?);
        if bits < 1 << 56 {
            bits = bits * 16 + digit;
            if fraction {
                shift = shift.checked_sub(4)?;
            }
        } else {
            sticky |= digit != 0;
            if !fraction {
                shift = shift.checked_add(4)?;
            }
        }
    }
    let value = (bits | u64::from(sticky)) as f64;
    let exponent = exponent.checked_add(shift)?;
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

#[cfg(test)]
mod tests {
    use super::parse_value;

    #[test]
    fn hexadecimal_floats_are_rounded_once() {
        assert_eq!(parse_value("0x1.8p3"), Some(12.0));
        assert_eq!(parse_value("-0x10p-4"), Some(-1.0));
        // Just above the halfway point between 1 and the next f64: up, not down to 1.
        assert_eq!(
            parse_value("0x1.000000000000081p0"),
            Some(1.0000000000000002)
        );
        // Exactly halfway: to even (1.0); halfway to an odd neighbour: up.
        assert_eq!(parse_value("0x1.00000000000008p0"), Some(1.0));
        assert_eq!(
            parse_value("0x1.00000000000018p0"),
            Some(1.0000000000000004)
        );
        // Long integer parts move the exponent.
        assert_eq!(parse_value("0x10000000000000000000p0"), Some(2f64.powi(76)));
        assert_eq!(parse_value("0x1.fffffffffffffp1023"), Some(f64::MAX));
        assert_eq!(parse_value("0x"), None);
        assert_eq!(parse_value("0xp1"), None);
    }
}
