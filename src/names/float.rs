//! Floats as the expositions write them: every value, and the bucket bounds that become `le`
//! label values, which the generated rules select (see `crate::monitoring`).

/// Appends a float the way both text formats read it: integers without a fraction, `NaN`,
/// `+Inf`, `-Inf`, and otherwise the shortest representation that reads back exactly.
pub(crate) fn push_f64(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        // Exact: |v| < 2^53.
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        out.push_str(ryu::Buffer::new().format_finite(v));
    }
}
