//! The deadline of a gRPC call, read from its `grpc-timeout` header.

use std::time::Duration;

use http::HeaderMap;

/// The deadline of a call, from its `grpc-timeout` header: 1 to 8 digits and a unit (`H`, `M`,
/// `S`, `m`, `u`, `n`). `None` when absent or malformed (then the call has no deadline).
pub(crate) fn timeout(headers: &HeaderMap) -> Option<Duration> {
    parse_timeout(headers.get("grpc-timeout")?.as_bytes())
}

/// See [`timeout`].
fn parse_timeout(value: &[u8]) -> Option<Duration> {
    let (unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout(b"1S"), Some(Duration::from_secs(1)));
        assert_eq!(parse_timeout(b"250m"), Some(Duration::from_millis(250)));
        assert_eq!(
            parse_timeout(b"99999999H"),
            Some(Duration::from_secs(99_999_999 * 3600))
        );
        assert_eq!(parse_timeout(b"123456789S"), None);
        assert_eq!(parse_timeout(b"S"), None);
        assert_eq!(parse_timeout(b"10"), None);
        assert_eq!(parse_timeout(b"10s"), None);
        assert_eq!(parse_timeout(b""), None);
        let mut h = HeaderMap::new();
        h.insert("grpc-timeout", http::HeaderValue::from_static("5m"));
        assert_eq!(timeout(&h), Some(Duration::from_millis(5)));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any `grpc-timeout`: no panic, and a deadline only for 1 to 8 digits and a unit.
        #[test]
        fn any_timeout_is_parsed_or_ignored(value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12)) {
            let got = parse_timeout(&value);
            let well_formed = value.len() >= 2
                && value.len() <= 9
                && value[..value.len() - 1].iter().all(u8::is_ascii_digit)
                && b"HMSmun".contains(&value[value.len() - 1]);
            proptest::prop_assert_eq!(got.is_some(), well_formed);
        }
    }
}
