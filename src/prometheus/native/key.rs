//! Which exponential bucket a value falls in at a schema, and which bucket of a lower schema
//! holds a bucket of a higher one.

use super::MAX_SCHEMA;

/// The bits of an `f64`'s fraction.
const MANTISSA: u64 = (1 << 52) - 1;

/// For one schema from 1 to 8, where its `2^s` bounds within a power of two fall, as the
/// fraction bits of `2^(i/2^s)` (all of `[1, 2)` share one exponent, so these compare as the
/// numbers do), and a guide to them: the fraction range cut in `2^(s+1)` cells by its top bits,
/// each cell narrower than the gap between two bounds, so it holds at most one bound, and
/// `first[cell]` is the first bound at or above the cell's start.
pub(super) struct Octave {
    /// Fraction bits of the bounds, then `2^52` (above every fraction) as a sentinel.
    pub(super) bounds: Box<[u64]>,
    first: Box<[u16]>,
}

/// The [`Octave`] of a schema from 1 to 8.
pub(super) fn octave(schema: i8) -> &'static Octave {
    // A table computed once from constants, shared by every histogram: `std`'s cell in every
    // build (a loom cell is not const-constructible, and the table is no concurrency to model).
    static OCTAVES: std::sync::OnceLock<Vec<Octave>> = std::sync::OnceLock::new();
    let all = OCTAVES.get_or_init(|| {
        (1..=MAX_SCHEMA)
            .map(|s| {
                let n = 1u32 << s;
                let mut bounds: Vec<u64> = (0..n)
                    .map(|i| (f64::from(i) / f64::from(n)).exp2().to_bits() & MANTISSA)
                    .collect();
                bounds.push(1 << 52);
                let shift = 52 - (u32::from(s.unsigned_abs()) + 1);
                let first = (0..2u64 << s)
                    .map(|cell| {
                        let start = cell << shift;
                        bounds.partition_point(|&b| b < start) as u16
                    })
                    .collect();
                Octave {
                    bounds: bounds.into(),
                    first,
                }
            })
            .collect()
    });
    &all[usize::from(schema.clamp(1, MAX_SCHEMA).unsigned_abs() - 1)]
}

/// The bucket of a magnitude `v` above [`ZERO_THRESHOLD`] at `schema`: the `i` with
/// `base^(i-1) < v <= base^i`. Infinity goes to the bucket after `f64::MAX`'s.
#[inline]
pub(crate) fn key(v: f64, schema: i8) -> i32 {
    if v.is_infinite() {
        return key(f64::MAX, schema) + 1;
    }
    // `v = 1.m × 2^exp`, subnormals scaled up first.
    let (v, shift) = if v < f64::MIN_POSITIVE {
        (v * 2f64.powi(64), -64)
    } else {
        (v, 0)
    };
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1023 + shift;
    let m = bits & MANTISSA;
    if schema > 0 {
        let octave = octave(schema);
        let cell = (m >> (52 - (i32::from(schema) + 1))) as usize;
        let j = usize::from(octave.first[cell]);
        // Bounds below `m`: the ones before the cell's, and the cell's own if `m` is above it.
        let within = j + usize::from(m > octave.bounds[j]);
        within as i32 + exp * (1 << schema)
    } else {
        // `ceil(log2 v)`: `exp` for a power of two, else one more.
        let k = exp + i32::from(m != 0);
        let shift = -i32::from(schema);
        (k + (1 << shift) - 1) >> shift
    }
}

/// The bucket at schema `to` that holds bucket `key` of schema `from` (`to <= from`).
#[inline]
pub(crate) fn reduce(key: i32, from: i8, to: i8) -> i32 {
    let shift = i32::from(from - to).clamp(0, 12);
    (key + (1 << shift) - 1) >> shift
}
