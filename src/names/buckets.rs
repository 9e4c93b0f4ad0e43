//! The default bucket bounds of the histograms: durations in seconds, body sizes in bytes.

/// Default bucket bounds of the duration histogram, in seconds.
///
/// These are the boundaries the OpenTelemetry HTTP semantic conventions advise for
/// `http.server.request.duration`, which axum-prometheus uses as well.
pub const DEFAULT_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Default bucket bounds of the body-size histograms, in bytes: powers of four from 64 B to 64 MiB.
pub const DEFAULT_SIZE_BUCKETS: &[f64] = &[
    64.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_sorted() {
        assert!(DEFAULT_DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
        assert!(DEFAULT_SIZE_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
