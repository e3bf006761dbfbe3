//! A 2×2, stride-2 pooling fused into a convolution's output stage.
//!
//! The kernels that take a [`Pool2x2`] compute the four convolution outputs of one pooling
//! window in the same register block and write only the pooled value, so the convolution's
//! output map never exists in memory (LeNet-5's conv + pool pairs). The meaning is exactly that
//! of the convolution followed by [`pool::reference`](crate::pool::reference) with a 2×2 window,
//! stride 2 and no padding; a last odd row or column of the convolution output is dropped (floor
//! output size).
//!
//! - f32: `max` takes the maximum of the four accumulators and applies bias and activation once
//!   (every activation is non-decreasing, so this equals pooling the activated values; a NaN
//!   accumulator may or may not win, as in [`pool::simd`](crate::pool::simd)); `avg` activates
//!   the four values and returns `(((a + b) + c) + d) / 4`, the reference's order.
//! - int8: `max` takes the maximum of the accumulators and requantizes once (requantization is
//!   non-decreasing, so the result is bit-exact) unless a lookup table follows the convolution;
//!   `avg` requantizes (and looks up) each value and divides the sum with TFLite's rounding.

use wide::{f32x8, i32x8};

use crate::error::Error;
use crate::geometry::{Conv2dDims, Conv2dGeometry};

/// Which 2×2, stride-2 pooling follows the convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pool2x2 {
    /// Maximum of the window.
    Max,
    /// Mean of the window (no padding, so the divisor is always 4).
    Avg,
}

/// The convolution's dimensions and the pooled output's height and width, after checking the
/// lengths of a fused call (`output` is the pooled `[out_h / 2][out_w / 2][out_c]` map).
///
/// # Errors
/// As [`Conv2dGeometry::check`], [`Error::InvalidGeometry`] when the convolution output is
/// smaller than 2×2, and [`Error::LengthMismatch`] for a wrong pooled output length.
pub(crate) fn check_pooled(
    g: &Conv2dGeometry,
    input: usize,
    weights: usize,
    bias: Option<usize>,
    output: usize,
) -> Result<(Conv2dDims, usize, usize), Error> {
    let d = g.dims()?;
    let (ph, pw) = (d.out_h / 2, d.out_w / 2);
    if ph == 0 || pw == 0 {
        return Err(Error::InvalidGeometry(
            "2x2 pooling of a convolution output smaller than 2x2",
        ));
    }
    let pooled = ph * pw * g.out_c;
    g.check(input, weights, bias, d.output_len)?;
    crate::error::check_len("output", pooled, output)?;
    Ok((d, ph, pw))
}

/// `((a + b) + c) + d` times ¼, lane-wise (the reference's summation order; ¼ is exact).
#[inline(always)]
pub(crate) fn avg4_f32(v: [f32x8; 4]) -> f32x8 {
    (((v[0] + v[1]) + v[2]) + v[3]) * f32x8::splat(0.25)
}

/// TFLite's rounded mean of four int8 values: `(s ± 2) / 4` truncated, `s` the sum, the sign of
/// the correction that of `s` (see [`rounded_div`](crate::pool::reference)).
#[inline(always)]
pub(crate) fn avg4_i8(v: [[i8; 16]; 4]) -> [i8; 16] {
    let sum = |p: usize| i32x8::from(core::array::from_fn::<i32, 8, _>(|l| i32::from(v[p][l])));
    let sum_hi = |p: usize| {
        i32x8::from(core::array::from_fn::<i32, 8, _>(|l| {
            i32::from(v[p][8 + l])
        }))
    };
    let lo = rounded_quarter(sum(0) + sum(1) + sum(2) + sum(3));
    let hi = rounded_quarter(sum_hi(0) + sum_hi(1) + sum_hi(2) + sum_hi(3));
    let (lo, hi) = (lo.to_array(), hi.to_array());
    // |sum| ≤ 512, so the mean is an int8 value.
    core::array::from_fn(|l| if l < 8 { lo[l] } else { hi[l - 8] } as i8)
}

/// `(s + 2) / 4` for `s > 0`, `(s − 2) / 4` otherwise, truncating towards zero: the magnitude is
/// `(|s| + 2) >> 2` and the sign that of `s`.
#[inline(always)]
fn rounded_quarter(s: i32x8) -> i32x8 {
    let m = (s.abs() + i32x8::splat(2)).unbounded_shr_scalar(2);
    s.is_negative().select(-m, m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::reference::rounded_div;

    #[test]
    fn rounded_quarter_matches_tflite_rounding() {
        for s in -512..=512 {
            let got = rounded_quarter(i32x8::splat(s)).to_array()[3];
            assert_eq!(got, rounded_div(s, 4), "sum {s}");
        }
    }
}
